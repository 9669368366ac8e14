/*
 * http: the request and response layer over one FCGX_Request.
 *
 * A response is written in the CGI form (RFC 3875 §6): a "Status:" line,
 * the header lines, an empty line, then the body. The web server turns
 * that into the real status line.
 */
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "dynbuf.h"
#include "http.h"

#define HTTP_MAX_HEADER_NAME	128	/* bytes of a header name we look up */
#define HTTP_MAX_METHOD		32
#define HTTP_JSON_CHUNK		4096	/* bytes of body read at a time */

/* RFC 9110 §5.6.2: tchar. */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
is_token(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* ASCII-only, so that the locale never changes what a name matches. */
static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
ci_eqn(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ascii_lower((unsigned char)a[i]) !=
		    ascii_lower((unsigned char)b[i]))
			return 0;
		if (a[i] == '\0')
			break;
	}
	return 1;
}

static int
ci_eq(const char *a, const char *b)
{
	size_t la = strlen(a);

	return la == strlen(b) && ci_eqn(a, b, la);
}

/* The FastCGI streams, the default struct http_io. */
static ssize_t
fcgx_read(void *arg, void *buf, size_t len)
{
	FCGX_Request *f = arg;
	int got;

	if (len > INT_MAX)
		len = INT_MAX;
	/* FCGX_GetStr returns short only at the end of the stream. */
	got = FCGX_GetStr(buf, (int)len, f->in);
	if (got < 0 || FCGX_GetError(f->in) != 0)
		return -1;
	return got;
}

/*
 * A large body goes straight to the web server's socket in FastCGI
 * records of up to FCGI_RECORD_MAX bytes, several to a writev: libfcgi's
 * FCGX_PutStr would copy it into its 8 KiB buffer and write one 8 KiB
 * record at a time, a system call (and a wakeup of the web server) for
 * every 8 KiB. Smaller writes keep going through the buffer.
 */
#define FCGI_RECORD_MAX		(32 * 1024)	/* see below; at most 65535 */
#define FCGI_DIRECT_MIN		(16 * 1024)
#define FCGI_DIRECT_RECORDS	8	/* records per writev */
#define FCGI_STDOUT		6
#define FCGI_VERSION_1		1

/*
 * len bytes of p as FCGI_STDOUT records of f (http_fcgx_write). ipcFd is
 * below libfcgi's "don't use" line, but it has been the
 * connection's descriptor in every version, and the records are the
 * protocol's (FastCGI 1.0 §3.3, §5.3): the web server cannot tell them
 * from libfcgi's. 0, or -1 on a write error.
 */
static int
fcgx_write_direct(FCGX_Request *f, const char *p, size_t len)
{
	unsigned char hdr[FCGI_DIRECT_RECORDS][8];
	struct iovec iov[FCGI_DIRECT_RECORDS * 2];
	size_t n, done;
	ssize_t w;
	int i, k;

	if (FCGX_FFlush(f->out) == -1 || FCGX_GetError(f->out) != 0)
		return -1;
	while (len > 0) {
		for (k = 0; k < FCGI_DIRECT_RECORDS && len > 0; k++) {
			n = len > FCGI_RECORD_MAX ? FCGI_RECORD_MAX : len;
			hdr[k][0] = FCGI_VERSION_1;
			hdr[k][1] = FCGI_STDOUT;
			hdr[k][2] = (unsigned char)(f->requestId >> 8);
			hdr[k][3] = (unsigned char)f->requestId;
			hdr[k][4] = (unsigned char)(n >> 8);
			hdr[k][5] = (unsigned char)n;
			hdr[k][6] = 0;	/* no padding */
			hdr[k][7] = 0;
			iov[2 * k].iov_base = hdr[k];
			iov[2 * k].iov_len = 8;
			iov[2 * k + 1].iov_base = (void *)(uintptr_t)p;
			iov[2 * k + 1].iov_len = n;
			p += n;
			len -= n;
		}
		/* A short writev: go on where it stopped. */
		for (i = 0; i < 2 * k; ) {
			w = writev(f->ipcFd, iov + i, 2 * k - i);
			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			for (done = (size_t)w; i < 2 * k &&
			    done >= iov[i].iov_len; i++)
				done -= iov[i].iov_len;
			if (i < 2 * k) {
				iov[i].iov_base = (char *)iov[i].iov_base +
				    done;
				iov[i].iov_len -= done;
			}
		}
	}
	return 0;
}

int
http_fcgx_write(FCGX_Request *f, const void *buf, size_t len)
{
	const char *p = buf;
	size_t chunk;

	if (len >= FCGI_DIRECT_MIN && f->ipcFd >= 0)
		return fcgx_write_direct(f, p, len);
	while (len > 0) {
		chunk = len > INT_MAX ? INT_MAX : len;
		if (FCGX_PutStr(p, (int)chunk, f->out) != (int)chunk)
			return -1;
		p += chunk;
		len -= chunk;
	}
	return 0;
}

static int
fcgx_write(void *arg, const void *buf, size_t len)
{
	return http_fcgx_write(arg, buf, len);
}

static const struct http_io fcgx_io = { fcgx_read, fcgx_write };

/* Request. */

static int
env_copy(struct request *r, char **envp)
{
	size_t n = 0, i;
	int rc = -1;

	while (envp != NULL && envp[n] != NULL)
		n++;
	r->env = calloc(n + 1, sizeof(*r->env));
	if (r->env == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		r->env[i] = strdup(envp[i]);
		if (r->env[i] == NULL)
			goto out;
	}
	rc = 0;
out:
	return rc;
}

/* RFC 9110 §9.1: a method is a token. We only take upper case, as every
   method we serve is, so "get" cannot slip past a "GET" route check. */
static int
method_ok(const char *m)
{
	size_t n;

	if (m == NULL || *m == '\0')
		return 0;
	for (n = 0; m[n] != '\0'; n++)
		if (!is_tchar((unsigned char)m[n]) ||
		    (m[n] >= 'a' && m[n] <= 'z') || n >= HTTP_MAX_METHOD)
			return 0;
	return 1;
}

/*
 * RFC 9112 §3.2.2: a request line may carry the absolute form
 * ("GET http://host/path HTTP/1.1"). lighttpd hands the programs only the
 * path; Apache puts the target in REQUEST_URI as sent. Skip the scheme
 * and authority, so both give the same path.
 */
static const char *
uri_path(const char *uri)
{
	const char *p, *s;

	if (uri[0] == '/')
		return uri;
	p = strstr(uri, "://");
	if (p == NULL || p == uri)
		return uri;
	/* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	for (s = uri; s < p; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (s > uri && ((*s >= '0' && *s <= '9') || *s == '+' ||
		    *s == '-' || *s == '.'))))
			return uri;
	p += 3;
	return p + strcspn(p, "/?#");
}

/*
 * Apache answers some requests itself before any program runs: a body
 * over LimitRequestBody (413), %00 or a bad escape in the path (404,
 * 400), a failed program (500). apache/filestor.conf sends those through
 * an ErrorDocument served by a program, which sees the status Apache chose
 * in REDIRECT_STATUS and the client's request in REQUEST_URI; we answer
 * with the JSON error. lighttpd does the same through server.error-handler
 * (lighttpd.conf) for what it refuses itself: a bad escape (400), a body
 * without a length (411), an unknown method (501).
 */
static enum fs_err
server_refused(const struct request *r, const char **msg)
{
	const char *rs, *uri, *m;
	long long st;
	size_t n;

	rs = http_env(r, "REDIRECT_STATUS");
	if (rs == NULL || http_parse_ll(rs, 400, 599, &st) == -1)
		return FS_OK;
	uri = http_env(r, "REQUEST_URI");
	n = uri != NULL ? strcspn(uri, "?") : 0;
	switch (st) {
	case 404:
		/* Apache refuses a NUL in the path with 404; for us it is
		   invalid input, as it is behind lighttpd (DESIGN §2). */
		if (uri != NULL && memmem(uri, n, "%00", 3) != NULL) {
			*msg = "path contains a NUL byte";
			return FS_VALIDATION;
		}
		*msg = "no such route";
		return FS_NOT_FOUND;
	case 403:
		*msg = "forbidden";
		return FS_FORBIDDEN;
	case 405:
		/* TRACE, which Apache answers itself (TraceEnable off). */
		*msg = "method not allowed";
		return FS_METHOD;
	case 413:
		*msg = "request body is larger than MAX_UPLOAD_BYTES";
		return FS_TOO_LARGE;
	case 411:
		*msg = "a request body needs Content-Length (send "
		    "\"Content-Length: 0\" for an empty one)";
		return FS_BAD_REQUEST;
	case 501:
		*msg = "unknown request method";
		return FS_BAD_REQUEST;
	case 503:
		return FS_UNAVAILABLE;
	case 500:
		/* mod_fcgid refuses a body over FcgidMaxRequestLen (which is
		   MAX_UPLOAD_BYTES) with 500. With a Content-Length that
		   cannot happen (a declared length over the limit gets 413
		   before), so a body without one that ended in 500 was
		   almost surely too long. */
		m = http_env(r, "REDIRECT_REQUEST_METHOD");
		if (m != NULL && http_env(r, "REDIRECT_CONTENT_LENGTH") == NULL &&
		    (strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0 ||
		    strcmp(m, "PATCH") == 0)) {
			*msg = "request body is larger than MAX_UPLOAD_BYTES";
			return FS_TOO_LARGE;
		}
		return FS_INTERNAL;
	default:
		if (st >= 500)
			return FS_INTERNAL;
		*msg = "the web server refused the request";
		return FS_BAD_REQUEST;
	}
}

/*
 * r->raw_path and r->path from REQUEST_URI, or from SCRIPT_NAME +
 * PATH_INFO, which come decoded already (RFC 3875 §4.1.5, §4.1.13). The
 * query of REQUEST_URI goes to *uriq (NULL without one). FS_OK,
 * FS_BAD_REQUEST with *msg, or FS_INTERNAL.
 */
static enum fs_err
request_path(struct request *r, const char **uriq, const char **msg)
{
	const char *uri, *q, *sn = NULL, *pi = NULL;
	size_t rawlen, snlen, pilen;

	*uriq = NULL;
	uri = http_env(r, "REQUEST_URI");
	if (uri != NULL) {
		uri = uri_path(uri);
		q = strchr(uri, '?');
		rawlen = q != NULL ? (size_t)(q - uri) : strlen(uri);
		if (q != NULL)
			*uriq = q + 1;
	} else {
		sn = http_env(r, "SCRIPT_NAME");
		pi = http_env(r, "PATH_INFO");
		snlen = sn != NULL ? strlen(sn) : 0;
		pilen = pi != NULL ? strlen(pi) : 0;
		rawlen = snlen + pilen;
	}
	if (rawlen > HTTP_MAX_PATH) {
		*msg = "request path is too long";
		return FS_BAD_REQUEST;
	}
	if (uri != NULL)
		r->raw_path = strndup(uri, rawlen);
	else if (asprintf(&r->raw_path, "%s%s", sn != NULL ? sn : "",
	    pi != NULL ? pi : "") == -1)
		r->raw_path = NULL;
	if (r->raw_path == NULL)
		return FS_INTERNAL;
	if (r->raw_path[0] != '/') {
		*msg = "request path must start with '/'";
		return FS_BAD_REQUEST;
	}
	if (uri == NULL) {
		r->path = strdup(r->raw_path);
		r->path_len = rawlen;
		return r->path != NULL ? FS_OK : FS_INTERNAL;
	}
	r->path = http_pct_decode(r->raw_path, rawlen, 0, &r->path_len);
	if (r->path == NULL) {
		*msg = "malformed percent-encoding in path";
		return FS_BAD_REQUEST;
	}
	return FS_OK;
}

/* r->query and r->params (QUERY_STRING, else uriq), r->content_length. */
static enum fs_err
request_query(struct request *r, const char *uriq, const char **msg)
{
	const char *q, *cl;
	int n;

	q = http_env(r, "QUERY_STRING");
	if (q == NULL)
		q = uriq;
	r->query = strdup(q != NULL ? q : "");
	if (r->query == NULL)
		return FS_INTERNAL;
	n = http_parse_query_why(r->query, r->params, HTTP_MAX_QUERY_PARAMS,
	    msg);
	if (n < 0)
		return FS_BAD_REQUEST;
	r->nparams = (size_t)n;

	cl = http_env(r, "CONTENT_LENGTH");
	if (cl != NULL && *cl != '\0' &&
	    http_parse_ll(cl, 0, LLONG_MAX, &r->content_length) == -1) {
		r->content_length = -1;
		*msg = "malformed Content-Length";
		return FS_BAD_REQUEST;
	}
	return FS_OK;
}

int
http_request_id_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= HTTP_REQUEST_ID_MAX ||
		    !((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') ||
		    strchr("-_.:+/=@", s[n]) != NULL))
			return 0;
	return n > 0;
}

/* The client's X-Request-Id when sane, else a new one. Never fails: an
   id of zeros if OpenSSL has no randomness, which a request survives. */
static void
request_id_set(struct request *r)
{
	unsigned char raw[16];
	const char *h = http_header(r, "X-Request-Id");

	if (http_request_id_ok(h)) {
		memcpy(r->request_id, h, strlen(h) + 1);
		return;
	}
	if (cry_random(raw, sizeof(raw)) == -1)
		memset(raw, 0, sizeof(raw));
	cry_hex(raw, sizeof(raw), r->request_id);
}

void
http_note_sent(struct request *r, long long n)
{
	if (n > 0)
		r->bytes_out += n;
}

enum fs_err
http_request_init(struct request *r, FCGX_Request *fcgx, char **envp,
    const char **msg)
{
	const char *m, *uriq;
	enum fs_err e = FS_INTERNAL;

	/* Make r good enough for http_error() before anything can fail. */
	memset(r, 0, sizeof(*r));
	r->fcgx = fcgx;
	r->status = 200;
	r->content_length = -1;
	*msg = NULL;
	if (fcgx != NULL) {
		envp = fcgx->envp;
		r->io = &fcgx_io;
		r->io_arg = fcgx;
	}
	if (env_copy(r, envp) == -1) {
		request_id_set(r);
		goto out;
	}
	request_id_set(r);
	e = server_refused(r, msg);
	if (e != FS_OK)
		goto out;

	m = http_env(r, "REQUEST_METHOD");
	if (!method_ok(m)) {
		*msg = "missing or malformed request method";
		e = FS_BAD_REQUEST;
		goto out;
	}
	r->method = strdup(m);
	if (r->method == NULL) {
		e = FS_INTERNAL;
		goto out;
	}
	r->is_head = strcmp(r->method, "HEAD") == 0;
	e = request_path(r, &uriq, msg);
	if (e == FS_OK)
		e = request_query(r, uriq, msg);
out:
	if (e == FS_INTERNAL)
		*msg = NULL;
	return e;
}

void
http_request_free(struct request *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->method);
	free(r->raw_path);
	free(r->path);
	free(r->query);
	http_params_free(r->params, r->nparams);
	for (i = 0; i < r->nhdr; i++)
		free(r->hdr[i]);
	for (i = 0; r->env != NULL && r->env[i] != NULL; i++)
		free(r->env[i]);
	free(r->env);
	cJSON_Delete(r->audit);
	/* fcgx is borrowed: the accept loop finishes it. */
	memset(r, 0, sizeof(*r));
}

const char *
http_env(const struct request *r, const char *var)
{
	size_t i, n;

	if (r->env == NULL || var == NULL)
		return NULL;
	n = strlen(var);
	for (i = 0; r->env[i] != NULL; i++)
		if (strncmp(r->env[i], var, n) == 0 && r->env[i][n] == '=')
			return r->env[i] + n + 1;
	return NULL;
}

/* RFC 3875 §4.1.18: a header becomes HTTP_<NAME>, upper case, '-' to
   '_'; Content-Type and Content-Length have their own variables. */
const char *
http_header(const struct request *r, const char *name)
{
	char var[5 + HTTP_MAX_HEADER_NAME + 1];
	const char *v = NULL;
	size_t i, n;

	if (!is_token(name))
		goto out;
	n = strlen(name);
	if (n > HTTP_MAX_HEADER_NAME)
		goto out;
	if (ci_eq(name, "Content-Type")) {
		v = http_env(r, "CONTENT_TYPE");
		goto out;
	}
	if (ci_eq(name, "Content-Length")) {
		v = http_env(r, "CONTENT_LENGTH");
		goto out;
	}
	memcpy(var, "HTTP_", 5);
	for (i = 0; i < n; i++) {
		if (name[i] == '-')
			var[5 + i] = '_';
		else if (name[i] >= 'a' && name[i] <= 'z')
			var[5 + i] = (char)(name[i] - 'a' + 'A');
		else
			var[5 + i] = name[i];
	}
	var[5 + n] = '\0';
	v = http_env(r, var);
	/* Apache hands Authorization to CGI only when told to, and after
	   mod_rewrite (the usual way of telling it) it has this prefix. */
	if (v == NULL && ci_eq(name, "Authorization"))
		v = http_env(r, "REDIRECT_HTTP_AUTHORIZATION");
out:
	return v;
}

const struct http_param *
http_param(const struct request *r, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return &r->params[i];
	return NULL;
}

char *
http_cookie(const struct request *r, const char *name)
{
	return http_cookie_find(http_header(r, "Cookie"), name);
}

/* Body. */

static ssize_t
read_raw(struct request *r, char *buf, size_t len)
{
	if (r->io == NULL)
		return 0;
	return r->io->read(r->io_arg, buf, len);
}

ssize_t
http_read(struct request *r, void *buf, size_t len)
{
	ssize_t n = 0;
	long long left;

	if (r->content_length >= 0) {
		/* Never read past Content-Length: the rest of the stream is
		   not ours. */
		left = r->content_length - r->body_read;
		if (left <= 0)
			goto out;
		if ((unsigned long long)left < len)
			len = (size_t)left;
	}
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (len == 0)
		goto out;
	n = read_raw(r, buf, len);
	if (n == -1)
		goto out;
	/* The stream ended before Content-Length bytes: a cut upload. */
	if (n == 0 && r->content_length >= 0) {
		n = -1;
		goto out;
	}
	r->body_read += n;
out:
	return n;
}

/* Read the whole body into d (capped). FS_OK, or an error with *msg. */
static enum fs_err
read_body(struct request *r, struct dynbuf *d, const char **msg)
{
	char chunk[HTTP_JSON_CHUNK];
	ssize_t n;
	enum fs_err e;

	for (;;) {
		n = http_read(r, chunk, sizeof(chunk));
		if (n == -1) {
			*msg = "request body is incomplete";
			return FS_BAD_REQUEST;
		}
		if (n == 0)
			return FS_OK;
		e = dynbuf_add(d, chunk, (size_t)n);
		if (e != FS_OK) {
			*msg = e == FS_TOO_LARGE ? "request body is too large" :
			    NULL;
			return e;
		}
	}
}

enum fs_err
http_read_json(struct request *r, size_t cap, cJSON **out, const char **msg)
{
	struct dynbuf body;
	const char *buf;
	size_t used;
	cJSON *j = NULL;
	enum fs_err e = FS_BAD_REQUEST;

	*out = NULL;
	*msg = NULL;
	dynbuf_init(&body, cap);
	if (r->content_length >= 0 &&
	    (unsigned long long)r->content_length > cap) {
		e = FS_TOO_LARGE;
		*msg = "request body is too large";
		goto out;
	}
	e = read_body(r, &body, msg);
	if (e != FS_OK)
		goto out;
	e = FS_BAD_REQUEST;
	buf = dynbuf_ptr(&body);
	used = dynbuf_len(&body);
	if (used == 0) {
		*msg = "request body is empty";
		goto out;
	}
	/* RFC 8259 §7: a NUL is only ever escaped. cJSON would take a raw
	   one (inside a string, or as trailing "whitespace"), and a C
	   string made from that value would be cut short. */
	if (memchr(buf, '\0', used) != NULL) {
		*msg = "malformed JSON";
		goto out;
	}
	/* An escaped NUL is valid JSON, but cJSON decodes it into the C
	   string it returns, which would silently cut the value short. */
	if (http_json_has_nul(buf, used)) {
		*msg = "JSON strings must not contain \\u0000";
		goto out;
	}
	/* The length counts the NUL, as cJSON_ParseWithOpts does: with
	   require_null_terminated, trailing bytes are refused. */
	j = cJSON_ParseWithLengthOpts(buf, used + 1, NULL, 1);
	if (j == NULL) {
		*msg = "malformed JSON";
		goto out;
	}
	if (!cJSON_IsObject(j)) {
		*msg = "request body must be a JSON object";
		goto out;
	}
	*out = j;
	j = NULL;
	e = FS_OK;
out:
	cJSON_Delete(j);
	dynbuf_free(&body);
	return e;
}

/* Response. */

static const char *
reason(int status)
{
	static const struct {
		int		 status;
		const char	*text;
	} reasons[] = {
		{ 200, "OK" }, { 201, "Created" }, { 204, "No Content" },
		{ 206, "Partial Content" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 304, "Not Modified" },
		{ 307, "Temporary Redirect" }, { 400, "Bad Request" },
		{ 401, "Unauthorized" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 409, "Conflict" }, { 410, "Gone" },
		{ 412, "Precondition Failed" },
		{ 413, "Content Too Large" },
		{ 415, "Unsupported Media Type" },
		{ 416, "Range Not Satisfiable" },
		{ 422, "Unprocessable Content" },
		{ 460, "Checksum Mismatch" },	/* tus 1.0, checksum */
		{ 500, "Internal Server Error" },
		{ 503, "Service Unavailable" },
		{ 507, "Insufficient Storage" },
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].text;
	/* RFC 3875 §6.3.3 wants some reason-phrase; servers ignore it. */
	return "Unknown";
}

static int
emit(struct request *r, const void *buf, size_t len)
{
	if (r->io == NULL || len == 0)
		return 0;
	return r->io->write(r->io_arg, buf, len);
}

int
http_status(struct request *r, int status)
{
	if (r->head_sent || status < 100 || status > 599)
		return -1;
	r->status = status;
	return 0;
}

int
http_add_header(struct request *r, const char *name, const char *value)
{
	char *line = NULL;
	size_t nlen, vlen;
	int rc = -1;

	if (r->head_sent || r->nhdr >= HTTP_MAX_HEADERS_OUT ||
	    !is_token(name) || !http_header_value_ok(value))
		goto out;
	nlen = strlen(name);
	vlen = strlen(value);
	if (nlen > HTTP_MAX_HEADER_OUT || vlen > HTTP_MAX_HEADER_OUT ||
	    nlen + 2 + vlen > HTTP_MAX_HEADER_OUT)
		goto out;
	line = malloc(nlen + 2 + vlen + 1);
	if (line == NULL)
		goto out;
	/* The last copy brings the terminator (NOLINT: clang-tidy misses it). */
	memcpy(line, name, nlen);	/* NOLINT(bugprone-*) */
	memcpy(line + nlen, ": ", 2);	/* NOLINT(bugprone-*) */
	memcpy(line + nlen + 2, value, vlen + 1);
	r->hdr[r->nhdr++] = line;
	line = NULL;
	rc = 0;
out:
	free(line);
	return rc;
}

int
http_add_headerf(struct request *r, const char *name, const char *fmt, ...)
{
	char value[HTTP_MAX_HEADER_OUT + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	/* A cut value would be a wrong value: refuse it. */
	if (n < 0 || (size_t)n >= sizeof(value))
		return -1;
	return http_add_header(r, name, value);
}

/* 1 when header line h ("Name: value") is named name. */
static int
hdr_is(const char *h, const char *name)
{
	size_t n = strlen(name);

	return ci_eqn(h, name, n) && h[n] == ':';
}

/* Remove the headers named name or, when others is set, all the others
   but the sticky ones. A NULL name matches no header. */
static void
hdr_remove(struct request *r, const char *name, int others)
{
	size_t i, j = 0;
	int match;

	for (i = 0; i < r->nhdr; i++) {
		match = (name != NULL && hdr_is(r->hdr[i], name)) ||
		    (others && r->sticky != NULL && ci_eqn(r->hdr[i],
		    r->sticky, strlen(r->sticky)));
		if (match != others)
			free(r->hdr[i]);
		else
			r->hdr[j++] = r->hdr[i];
	}
	for (i = j; i < r->nhdr; i++)
		r->hdr[i] = NULL;
	r->nhdr = j;
}

/* A header that must appear once: replace any earlier one. */
static int
hdr_set(struct request *r, const char *name, const char *value)
{
	if (r->head_sent)
		return -1;
	hdr_remove(r, name, 0);
	return http_add_header(r, name, value);
}

int
http_begin(struct request *r)
{
	char line[64];
	size_t i;
	int rc = -1;

	if (r->head_sent)
		return 0;
	/* Whatever happens now, the head cannot be written twice. */
	r->head_sent = 1;
	snprintf(line, sizeof(line), "Status: %d %s\r\n", r->status,
	    reason(r->status));
	if (emit(r, line, strlen(line)) == -1)
		goto out;
	for (i = 0; i < r->nhdr; i++)
		if (emit(r, r->hdr[i], strlen(r->hdr[i])) == -1 ||
		    emit(r, "\r\n", 2) == -1)
			goto out;
	/* Not in hdr[], so that no error path can drop it. */
	if (r->request_id[0] != '\0' &&
	    (emit(r, "X-Request-Id: ", 14) == -1 ||
	    emit(r, r->request_id, strlen(r->request_id)) == -1 ||
	    emit(r, "\r\n", 2) == -1))
		goto out;
	if (emit(r, "\r\n", 2) == -1)
		goto out;
	rc = 0;
out:
	return rc;
}

int
http_write(struct request *r, const void *buf, size_t len)
{
	if (!r->head_sent && http_begin(r) == -1)
		return -1;
	/* RFC 9110 §9.3.2: HEAD gets the GET headers and no content. */
	if (r->is_head)
		return 0;
	if (emit(r, buf, len) == -1)
		return -1;
	r->bytes_out += (long long)len;
	return 0;
}

int
http_json(struct request *r, int status, const cJSON *j)
{
	char *s = NULL;
	size_t len;
	int rc = -1;

	if (r->head_sent || j == NULL)
		goto out;
	s = cJSON_PrintUnformatted(j);
	if (s == NULL)
		goto out;
	len = strlen(s);
	if (http_status(r, status) == -1 ||
	    hdr_set(r, "Content-Type", "application/json") == -1)
		goto out;
	hdr_remove(r, "Content-Length", 0);
	if (http_add_headerf(r, "Content-Length", "%zu", len + 1) == -1)
		goto out;
	if (http_write(r, s, len) == -1 || http_write(r, "\n", 1) == -1)
		goto out;
	rc = 0;
out:
	cJSON_free(s);
	return rc;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629 §4), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* cJSON copies bytes as they are; a message that quotes client input
   must still make a valid JSON text (RFC 8259 §8.1). */
void
http_utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		n = utf8_len(p);
		if (n == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

static int	(*unavailable_fn)(void *);
static void	*unavailable_arg;

void
http_error_unavailable(int (*fn)(void *), void *arg)
{
	unavailable_fn = fn;
	unavailable_arg = arg;
}

int
http_error(struct request *r, enum fs_err e, const char *fmt, ...)
{
	char msg[HTTP_ERROR_MSG_MAX];
	const char *keep = NULL;
	cJSON *root = NULL, *err;
	va_list ap;
	int status, n = -1, rc = -1;

	if (r->head_sent)
		goto out;
	if (e == FS_INTERNAL && unavailable_fn != NULL &&
	    unavailable_fn(unavailable_arg)) {
		e = FS_UNAVAILABLE;
		n = snprintf(msg, sizeof(msg), "the database is unavailable");
		if (hdr_set(r, "Retry-After", "1") == -1)
			goto out;
	} else if (fmt != NULL) {
		va_start(ap, fmt);
		n = vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	if (n < 0)
		snprintf(msg, sizeof(msg), "%s", err_strerror(e));
	http_utf8_scrub(msg);

	/* The handler's headers described the answer it meant to give
	   (an ETag, a cookie); keep only what this status needs:
	   RFC 9110 §15.5.6 (Allow), §11.6.1 (WWW-Authenticate),
	   §14.4 (Content-Range on 416), RFC 6585 §4 (Retry-After on
	   429), RFC 9110 §15.6.4 (Retry-After on 503). */
	status = err_status(e);
	if (status == 405)
		keep = "Allow";
	else if (status == 401)
		keep = "WWW-Authenticate";
	else if (status == 416)
		keep = "Content-Range";
	else if (status == 429 || status == 503)
		keep = "Retry-After";
	hdr_remove(r, keep, 1);
	/* RFC 9110 §15.5.2: every 401 carries a challenge, also those that
	   are not the credential check (a bad ?token=, a failed login).
	   For a 401 only WWW-Authenticate lines are left by now. */
	if (status == 401 && r->nhdr == 0 &&
	    hdr_set(r, "WWW-Authenticate", "Bearer realm=\"filestor\"") == -1)
		goto out;
	if (hdr_set(r, "Cache-Control", "no-store") == -1)
		goto out;

	root = cJSON_CreateObject();
	err = cJSON_AddObjectToObject(root, "error");
	if (err == NULL ||
	    cJSON_AddStringToObject(err, "code", err_code(e)) == NULL ||
	    cJSON_AddStringToObject(err, "message", msg) == NULL ||
	    (r->request_id[0] != '\0' && cJSON_AddStringToObject(err,
	    "requestId", r->request_id) == NULL)) {
		/* Out of memory: a bare status is all we can still say. */
		http_status(r, 500);
		http_begin(r);
		goto out;
	}
	rc = http_json(r, status, root);
out:
	cJSON_Delete(root);
	return rc;
}

int
http_method_not_allowed(struct request *r, const char *allow)
{
	/* RFC 9110 §15.5.6: a 405 must list what is allowed. */
	if (hdr_set(r, "Allow", allow != NULL ? allow : "") == -1)
		return http_error(r, FS_INTERNAL, NULL);
	return http_error(r, FS_METHOD, NULL);
}
