/*
 * http: the request and response layer over one FCGX_Request.
 *
 * Nothing here assumes a particular web server. The path comes from
 * REQUEST_URI (raw, as the client sent it; both lighttpd and Apache set
 * it), falling back to SCRIPT_NAME + PATH_INFO. Every string in struct
 * request is owned by the request and freed by http_request_free(); none
 * points into the FastCGI environment.
 *
 * Parsers are pure functions so that unit tests and fuzzers reach them
 * without a web server.
 */
#ifndef FS_HTTP_H
#define FS_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <fcgiapp.h>

#include "err.h"

#define HTTP_MAX_PATH		8192	/* bytes of the raw path */
#define HTTP_MAX_QUERY_PARAMS	64
#define HTTP_MAX_HEADERS_OUT	32
#define HTTP_MAX_HEADER_OUT	4096	/* bytes of one response header line */
#define HTTP_JSON_MAX		(64 * 1024)	/* default cap of a JSON body */
#define HTTP_ERROR_MSG_MAX	512	/* bytes of an http_error() message */
#define HTTP_TEST_OUT_MAX	(16 * 1024 * 1024) /* cap of test_out */

struct http_param {
	char	*name;		/* decoded, NUL terminated */
	char	*value;		/* decoded, NUL terminated; a decoded %00
				   stays in it: use value_len, not strlen */
	size_t	 value_len;
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
	/* Copies of the environment, made once. */
	char		**env;		/* NULL terminated copy of fcgx->envp */
	/*
	 * Unit tests only (fcgx == NULL). Set test_body/test_body_len after
	 * http_request_init() (which zeroes them): http_read() takes the
	 * body from there (borrowed). Every response byte is appended to
	 * test_out (malloc'd, NUL terminated, at most HTTP_TEST_OUT_MAX;
	 * test_out_len excludes the NUL), which http_request_free() frees.
	 */
	const char	*test_body;
	size_t		 test_body_len;
	size_t		 test_body_off;	/* bytes of test_body consumed */
	char		*test_out;
	size_t		 test_out_len;
};

/*
 * Build r from the FastCGI request (or, when fcgx is NULL, from envp, for
 * tests). Returns FS_OK, or FS_BAD_REQUEST/FS_VALIDATION with a message in
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
/* Send a JSON document with status. Does not take ownership of j. */
int		 http_json(struct request *r, int status, const cJSON *j);
/*
 * The one error writer: {"error":{"code":..,"message":..}}, with
 * Cache-Control: no-store. fmt may be NULL for err_strerror(e); the
 * message is cut to HTTP_ERROR_MSG_MAX bytes and bytes that are not UTF-8
 * become '?'. Headers the handler added are dropped (an ETag or a cookie
 * must not ride on an error), except the ones the status needs: Allow on
 * 405, WWW-Authenticate on 401, Content-Range on 416. Returns -1 without
 * writing when the headers are already sent: the status cannot change.
 */
int		 http_error(struct request *r, enum fs_err e, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* 405 with Allow (replacing any earlier Allow). */
int		 http_method_not_allowed(struct request *r, const char *allow);

/* Pure parsers. */

/*
 * Percent-decode in[0..len) into a malloc'd buffer (NUL terminated; the
 * decoded length in *outlen). plus_is_space for query strings. Returns
 * NULL on a malformed escape ("%zz", "%4").
 */
char		*http_pct_decode(const char *in, size_t len, int plus_is_space,
		    size_t *outlen);
/*
 * Parse a query string into params (at most max). Returns the count, or -1
 * on a malformed escape or too many parameters. Caller frees each name
 * and value.
 */
int		 http_parse_query(const char *qs, struct http_param *params,
		    size_t max);
/* Find cookie name in a Cookie header value; malloc'd value or NULL. */
char		*http_cookie_find(const char *header, const char *name);
/*
 * 1 when value may go into a header, else 0: no CR, LF or NUL, nor any
 * other control byte but HTAB (RFC 9110 §5.5).
 */
int		 http_header_value_ok(const char *value);
/*
 * 1 when the JSON text s[0..len) holds the escape "\u0000", which cJSON
 * decodes into a NUL that cuts a string short ("/a\u0000/../x" reads
 * as "/a"): refuse such text rather than act on a shortened string.
 */
int		 http_json_has_nul(const char *s, size_t len);
/*
 * Bounded integer parse, strtonum style: whole string, decimal, within
 * [min, max]. 0 and *out set, or -1.
 */
int		 http_parse_ll(const char *s, long long min, long long max,
		    long long *out);

/* RFC 7231 IMF-fixdate of t into out[30]. */
void		 http_date(long long t, char out[30]);
/* Parse an IMF-fixdate; -1 when malformed. */
long long	 http_parse_date(const char *s);
/*
 * Conditional requests (RFC 9110 §13.1). http_etag_match: does an
 * If-None-Match list hold etag (a quoted strong tag), by the weak
 * comparison (W/ prefixes ignored), "*" matching anything?
 * http_if_range_holds: may a Range be honoured under this If-Range: the
 * same strong tag, or exactly the representation's date (epoch seconds)?
 * A weak tag never validates a range.
 */
int		 http_etag_match(const char *list, const char *etag);
int		 http_if_range_holds(const char *ifr, const char *etag,
		    long long mtime);

#endif
