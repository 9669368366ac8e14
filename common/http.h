/*
 * http: the request and response layer over one FCGX_Request.
 *
 * Nothing here assumes a particular web server. The path comes from
 * REQUEST_URI (raw, as the client sent it; both lighttpd and Apache set
 * it), falling back to SCRIPT_NAME + PATH_INFO. Every string in struct
 * request is owned by the request and freed by http_request_free(); none
 * points into the FastCGI environment.
 *
 * The pure parsers are in http_parse.h, which this header includes.
 */
#ifndef FS_HTTP_H
#define FS_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <fcgiapp.h>

#include "err.h"
#include "http_parse.h"

#define HTTP_MAX_PATH		8192	/* bytes of the raw path */
#define HTTP_MAX_QUERY_PARAMS	64
#define HTTP_MAX_HEADERS_OUT	32
#define HTTP_MAX_HEADER_OUT	4096	/* bytes of one response header line */
#define HTTP_JSON_MAX		(64 * 1024)	/* default cap of a JSON body */
#define HTTP_ERROR_MSG_MAX	512	/* bytes of an http_error() message */
#define HTTP_REQUEST_ID_MAX	64	/* bytes of an X-Request-Id we echo */

/*
 * Where a request's bytes come from and go to: the FastCGI streams,
 * unless the caller (a unit test) sets another one after
 * http_request_init(). read: up to len bytes, 0 at the end, -1 on error.
 * write: all len bytes, 0 or -1.
 */
struct http_io {
	ssize_t	(*read)(void *arg, void *buf, size_t len);
	int	(*write)(void *arg, const void *buf, size_t len);
};

struct request {
	FCGX_Request	*fcgx;		/* borrowed; NULL in unit tests */
	char		*method;	/* "GET"... */
	char		*raw_path;	/* as sent, without the query */
	char		*path;		/* percent-decoded once */
	size_t		 path_len;	/* may hold a decoded %00: check it */
	char		*query;		/* raw query string, "" if none */
	struct http_param params[HTTP_MAX_QUERY_PARAMS];
	size_t		 nparams;
	long long	 content_length;/* -1 when absent */
	long long	 body_read;	/* bytes read so far */
	/* Response state. */
	int		 status;
	char		*hdr[HTTP_MAX_HEADERS_OUT];	/* "Name: value" */
	size_t		 nhdr;
	int		 head_sent;	/* status and headers are written */
	int		 is_head;	/* HEAD: headers only */
	const char	*sticky;	/* static, or NULL: headers named with
					   this prefix stay on an error too
					   (a protocol's own: "Tus-") */
	/* Copies of the environment, made once. */
	char		**env;		/* NULL terminated copy of fcgx->envp */
	/*
	 * The request's id: the client's X-Request-Id when it is sane
	 * (http_request_id_ok), else 32 random hex digits. Sent back as
	 * X-Request-Id on every response and in every error body.
	 */
	char		 request_id[HTTP_REQUEST_ID_MAX + 1];
	/* Body bytes written, plus what the handler handed to the web
	   server (http_note_sent: X-Sendfile), for the access log. */
	long long	 bytes_out;
	/* What the request changed (app_audit), a JSON array, or NULL. */
	cJSON		*audit;
	/* The byte streams: FastCGI's (io_arg is fcgx), or, without fcgx,
	   none (an empty body, output dropped) until the caller sets one. */
	const struct http_io *io;
	void		*io_arg;	/* borrowed */
};

/*
 * Build r from the FastCGI request (or, when fcgx is NULL, from envp, for
 * tests: then set r->io to give it a body and see its output). Returns
 * FS_OK, or FS_BAD_REQUEST/FS_VALIDATION with a message in
 * *msg (static string) when the request line is unusable: the caller
 * answers with http_error() and moves on. FS_INTERNAL with *msg NULL when
 * out of memory. On failure r is still good enough for http_error() and
 * must still be given to http_request_free().
 *
 * The path comes percent-decoded from REQUEST_URI. In the SCRIPT_NAME +
 * PATH_INFO fallback it is taken as is, because the server has already
 * decoded both (RFC 3875 §4.1.5, §4.1.13); raw_path is then that same
 * decoded string.
 */
enum fs_err	 http_request_init(struct request *r, FCGX_Request *fcgx,
		    char **envp, const char **msg);
void		 http_request_free(struct request *r);

/*
 * A CGI variable ("REQUEST_METHOD") or a request header by its HTTP name
 * ("Content-Type", "X-Requested-With"; any case). NULL when absent. The
 * pointer lives as long as r. "Authorization" also looks at
 * REDIRECT_HTTP_AUTHORIZATION, where Apache puts it after a rewrite.
 */
const char	*http_env(const struct request *r, const char *var);
const char	*http_header(const struct request *r, const char *name);
/* First query parameter named name, or NULL. */
const struct http_param *http_param(const struct request *r, const char *name);
/* Value of cookie name from the Cookie header, malloc'd, or NULL. */
char		*http_cookie(const struct request *r, const char *name);

/*
 * Whether s is an X-Request-Id we echo: 1 to HTTP_REQUEST_ID_MAX bytes of
 * letters, digits and "-_.:+/=@" (a UUID, hex, base64, a trace id). The
 * id goes into headers and log lines, so nothing else is taken; an
 * insane one is replaced, never refused.
 */
int		 http_request_id_ok(const char *s);
/* Replace each byte of s that is not part of valid UTF-8 with '?'. */
void		 http_utf8_scrub(char *s);
/* Count n body bytes the web server sends for us (X-Sendfile). */
void		 http_note_sent(struct request *r, long long n);

/* Body: read up to len bytes. Returns bytes read, 0 at the end, -1 when the
 * client went away or sent fewer bytes than Content-Length promised. */
ssize_t		 http_read(struct request *r, void *buf, size_t len);
/*
 * Read the whole body (at most cap bytes) and parse it as a JSON object.
 * FS_OK with *out (caller cJSON_Delete's), FS_TOO_LARGE, or FS_BAD_REQUEST
 * with *msg naming the problem. An empty body is FS_BAD_REQUEST. A
 * Content-Length above cap is FS_TOO_LARGE before anything is read.
 */
enum fs_err	 http_read_json(struct request *r, size_t cap, cJSON **out,
		    const char **msg);

/* Response. Header values with CR, LF or NUL are refused: -1. */
int		 http_status(struct request *r, int status);
int		 http_add_header(struct request *r, const char *name,
		    const char *value);
int		 http_add_headerf(struct request *r, const char *name,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Write the status line and headers (once). */
int		 http_begin(struct request *r);
/* Write body bytes (begins first if needed; ignored for HEAD). */
int		 http_write(struct request *r, const void *buf, size_t len);
/*
 * len bytes of buf to f's stdout, as http_write sends a body: from 16 KiB
 * on, straight to the web server's socket in FastCGI records of 32 KiB,
 * several to a writev (libfcgi's buffer flushed first, so the order
 * holds); smaller through libfcgi's buffer. 0, or -1 on a write error.
 * For bench/noop, whose streamed baseline must write as the programs do.
 */
int		 http_fcgx_write(FCGX_Request *f, const void *buf, size_t len);
/* Send a JSON document with status. Does not take ownership of j. */
int		 http_json(struct request *r, int status, const cJSON *j);
/*
 * The one error writer: {"error":{"code":..,"message":..,"requestId":..}},
 * with Cache-Control: no-store. fmt may be NULL for err_strerror(e); the
 * message is cut to HTTP_ERROR_MSG_MAX bytes and bytes that are not UTF-8
 * become '?'. Headers the handler added are dropped (an ETag or a cookie
 * must not ride on an error), except the ones the status needs: Allow on
 * 405, WWW-Authenticate on 401, Content-Range on 416, and those named
 * with the prefix r->sticky. Returns -1 without
 * writing when the headers are already sent: the status cannot change.
 */
int		 http_error(struct request *r, enum fs_err e, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/*
 * A 500 that fn(arg) says was the database going away is a 503, with
 * Retry-After, instead (common/app.c): the client may try again.
 */
void		 http_error_unavailable(int (*fn)(void *), void *arg);
/* 405 with Allow (replacing any earlier Allow). */
int		 http_method_not_allowed(struct request *r, const char *allow);

#endif
