/*
 * Unit tests for common/http.c: the request built from a fake
 * environment, the exact bytes of responses through the I/O hook, and
 * one round trip through real libfcgi streams over a unix socket. The
 * pure parsers are in test_http_parse.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dynbuf.h"
#include "http.h"

#include "tio.h"

/*
 * Build r from envp and insist that it worked. The request id is random
 * and would spoil every exact comparison of output: it is cleared here,
 * which leaves it out of headers and error bodies; test_request_id
 * checks it.
 */
static void
init_ok(struct request *r, char **envp)
{
	const char *msg = "unset";

	assert_int_equal(req_init(r, envp, &msg), FS_OK);
	assert_null(msg);
	r->request_id[0] = '\0';
}

/* ---- http_request_init ---- */

static void
test_request_init_uri(void **state)
{
	char e0[] = "REQUEST_METHOD=GET";
	char e1[] = "REQUEST_URI=/api/storage/a%20b%2Fc%00d?prefix=x%2Fy"
	    "&limit=10&flag";
	char e2[] = "CONTENT_LENGTH=";
	char e3[] = "CONTENT_TYPE=application/json";
	char e4[] = "HTTP_X_REQUESTED_WITH=fetch";
	char e5[] = "HTTP_COOKIE=a=1; filestor_session=\"tok\"";
	char *envp[] = { e0, e1, e2, e3, e4, e5, NULL };
	const struct http_param *p;
	struct request r;
	char *c;

	(void)state;
	init_ok(&r, envp);
	/* Deep copy: scribbling on the source changes nothing. */
	memset(e0, 'X', sizeof(e0) - 1);
	memset(e1, 'X', sizeof(e1) - 1);
	memset(e4, 'X', sizeof(e4) - 1);
	assert_ptr_not_equal(r.env[0], e0);
	assert_null(r.env[6]);

	assert_string_equal(r.method, "GET");
	assert_false(r.is_head);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.raw_path, "/api/storage/a%20b%2Fc%00d");
	assert_int_equal(r.path_len, 20);
	assert_memory_equal(r.path, "/api/storage/a b/c\0d", 21);
	assert_string_equal(r.query, "prefix=x%2Fy&limit=10&flag");
	assert_int_equal(r.nparams, 3);
	p = http_param(&r, "prefix");
	assert_non_null(p);
	assert_string_equal(p->value, "x/y");
	p = http_param(&r, "flag");
	assert_non_null(p);
	assert_int_equal(p->value_len, 0);
	assert_null(http_param(&r, "nope"));
	assert_true(r.content_length == -1);
	assert_string_equal(http_env(&r, "REQUEST_METHOD"), "GET");
	assert_null(http_env(&r, "REQUEST"));
	assert_string_equal(http_header(&r, "Content-Type"),
	    "application/json");
	assert_string_equal(http_header(&r, "content-type"),
	    "application/json");
	assert_string_equal(http_header(&r, "X-Requested-With"), "fetch");
	assert_string_equal(http_header(&r, "x-requested-WITH"), "fetch");
	assert_string_equal(http_header(&r, "Content-Length"), "");
	assert_null(http_header(&r, "Origin"));
	assert_null(http_header(&r, "X Requested"));
	assert_null(http_header(&r, ""));
	c = http_cookie(&r, "filestor_session");
	assert_string_equal(c, "tok");
	free(c);
	assert_null(http_cookie(&r, "other"));
	http_request_free(&r);
}

static void
test_request_init_forms(void **state)
{
	char *head[] = { "REQUEST_METHOD=HEAD", "REQUEST_URI=/x",
	    "CONTENT_LENGTH=42", NULL };
	/* No QUERY_STRING: the query comes from REQUEST_URI. */
	char *uriq[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x?a=1", NULL };
	/* QUERY_STRING wins when both are there. */
	char *qs[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x?a=1",
	    "QUERY_STRING=b=2", NULL };
	/* Apache without REQUEST_URI: SCRIPT_NAME + PATH_INFO, already
	   decoded by the server, so "%41" stays as it is. */
	char *apache[] = { "REQUEST_METHOD=PUT",
	    "SCRIPT_NAME=/api/storage", "PATH_INFO=/dir/a%41 b.txt",
	    "QUERY_STRING=", NULL };
	char *script[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/api/auth/me",
	    NULL };
	struct request r;

	(void)state;
	init_ok(&r, head);
	assert_true(r.is_head);
	assert_true(r.content_length == 42);
	assert_string_equal(r.query, "");
	assert_int_equal(r.nparams, 0);
	http_request_free(&r);

	init_ok(&r, uriq);
	assert_string_equal(r.path, "/x");
	assert_string_equal(r.query, "a=1");
	assert_non_null(http_param(&r, "a"));
	http_request_free(&r);

	init_ok(&r, qs);
	assert_string_equal(r.query, "b=2");
	assert_null(http_param(&r, "a"));
	assert_non_null(http_param(&r, "b"));
	http_request_free(&r);

	init_ok(&r, apache);
	assert_string_equal(r.method, "PUT");
	assert_string_equal(r.raw_path, "/api/storage/dir/a%41 b.txt");
	assert_string_equal(r.path, "/api/storage/dir/a%41 b.txt");
	assert_int_equal(r.path_len, strlen(r.path));
	http_request_free(&r);

	init_ok(&r, script);
	assert_string_equal(r.path, "/api/auth/me");
	http_request_free(&r);
}

static void
test_request_init_path_max(void **state)
{
	char *uri;
	char *envp[] = { "REQUEST_METHOD=GET", NULL, NULL };
	struct request r;
	const char *msg;
	size_t pre = strlen("REQUEST_URI=");

	(void)state;
	uri = malloc(pre + HTTP_MAX_PATH + 2);
	assert_non_null(uri);
	memcpy(uri, "REQUEST_URI=", pre);
	memset(uri + pre, 'a', HTTP_MAX_PATH + 1);
	uri[pre] = '/';
	uri[pre + HTTP_MAX_PATH] = '\0';	/* exactly the maximum */
	envp[1] = uri;
	init_ok(&r, envp);
	assert_int_equal(r.path_len, HTTP_MAX_PATH);
	http_request_free(&r);

	uri[pre + HTTP_MAX_PATH] = 'a';		/* one byte more */
	uri[pre + HTTP_MAX_PATH + 1] = '\0';
	assert_int_equal(req_init(&r, envp, &msg),
	    FS_BAD_REQUEST);
	assert_string_equal(msg, "request path is too long");
	http_request_free(&r);
	free(uri);
}

struct init_bad_case {
	char		*env[4];
	const char	*msg;
};

static const struct init_bad_case init_bad[] = {
	{ { NULL }, "missing or malformed request method" },
	{ { "REQUEST_URI=/x", NULL }, "missing or malformed request method" },
	{ { "REQUEST_METHOD=", "REQUEST_URI=/x", NULL },
	    "missing or malformed request method" },
	{ { "REQUEST_METHOD=get", "REQUEST_URI=/x", NULL },
	    "missing or malformed request method" },
	{ { "REQUEST_METHOD=GE T", "REQUEST_URI=/x", NULL },
	    "missing or malformed request method" },
	{ { "REQUEST_METHOD=GET\r\n", "REQUEST_URI=/x", NULL },
	    "missing or malformed request method" },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=api/x", NULL },
	    "request path must start with '/'" },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=", NULL },
	    "request path must start with '/'" },
	{ { "REQUEST_METHOD=OPTIONS", "REQUEST_URI=*", NULL },
	    "request path must start with '/'" },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=?a=1", NULL },
	    "request path must start with '/'" },
	{ { "REQUEST_METHOD=GET", NULL }, "request path must start with '/'" },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=x", NULL },
	    "request path must start with '/'" },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/a%zz", NULL },
	    "malformed percent-encoding in path" },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/a%2", NULL },
	    "malformed percent-encoding in path" },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/a?b=%zz", NULL },
	    "malformed percent-encoding in query string" },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/a", "QUERY_STRING=a%00=1",
	    NULL }, "query parameter name contains a NUL byte" },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/a", "QUERY_STRING==1",
	    NULL }, "query parameter with an empty name" },
	{ { "REQUEST_METHOD=POST", "REQUEST_URI=/a", "CONTENT_LENGTH=abc",
	    NULL }, "malformed Content-Length" },
	{ { "REQUEST_METHOD=POST", "REQUEST_URI=/a", "CONTENT_LENGTH=-1",
	    NULL }, "malformed Content-Length" },
	{ { "REQUEST_METHOD=POST", "REQUEST_URI=/a", "CONTENT_LENGTH=+5",
	    NULL }, "malformed Content-Length" },
	{ { "REQUEST_METHOD=POST", "REQUEST_URI=/a", "CONTENT_LENGTH= 5",
	    NULL }, "malformed Content-Length" },
	{ { "REQUEST_METHOD=POST", "REQUEST_URI=/a",
	    "CONTENT_LENGTH=99999999999999999999", NULL },
	    "malformed Content-Length" },
};

static void
test_request_init_bad(void **state)
{
	struct request r;
	const char *msg;
	size_t i;
	enum fs_err e;

	(void)state;
	for (i = 0; i < NITEMS(init_bad); i++) {
		msg = NULL;
		e = req_init(&r, (char **)init_bad[i].env,
		    &msg);
		if (e != FS_BAD_REQUEST || msg == NULL ||
		    strcmp(msg, init_bad[i].msg) != 0)
			print_error("case %zu: %d \"%s\"\n", i, (int)e,
			    msg != NULL ? msg : "(null)");
		assert_int_equal(e, FS_BAD_REQUEST);
		assert_non_null(msg);
		assert_string_equal(msg, init_bad[i].msg);
		/* r is still good enough to answer with. */
		assert_int_equal(http_error(&r, e, "%s", msg), 0);
		assert_non_null(strstr(OUT, "Status: 400 "));
		assert_non_null(strstr(OUT, msg));
		http_request_free(&r);
	}
}

static void
test_request_too_many_params(void **state)
{
	char qs[32 + HTTP_MAX_QUERY_PARAMS * 4];
	char *envp[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", qs, NULL };
	struct request r;
	const char *msg;
	size_t i, off;

	(void)state;
	off = (size_t)snprintf(qs, sizeof(qs), "QUERY_STRING=");
	for (i = 0; i < HTTP_MAX_QUERY_PARAMS; i++)
		off += (size_t)snprintf(qs + off, sizeof(qs) - off, "a&");
	init_ok(&r, envp);
	assert_int_equal(r.nparams, HTTP_MAX_QUERY_PARAMS);
	http_request_free(&r);

	snprintf(qs + off, sizeof(qs) - off, "b");
	assert_int_equal(req_init(&r, envp, &msg),
	    FS_BAD_REQUEST);
	assert_string_equal(msg, "too many query parameters");
	assert_int_equal(r.nparams, 0);
	http_request_free(&r);
}

/* Apache passes an absolute-form target (RFC 9112 §3.2.2) on as sent;
   lighttpd only the path. Both must give the same path. */
static void
test_request_absolute_form(void **state)
{
	static const char *const cases[][2] = {
		{ "REQUEST_URI=http://h.example:8080/api/x%2Fy?a=1", "/api/x%2Fy" },
		{ "REQUEST_URI=https://h/api", "/api" },
		{ "REQUEST_URI=HTTP://h/a/b", "/a/b" },
		{ "REQUEST_URI=/p://q", "/p://q" },	/* origin form as is */
	};
	char *envp[] = { "REQUEST_METHOD=GET", NULL, NULL };
	struct request r;
	const char *msg;
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		envp[1] = (char *)cases[i][0];
		init_ok(&r, envp);
		assert_string_equal(r.raw_path, cases[i][1]);
		http_request_free(&r);
	}
	/* No path after the authority, or no valid scheme: refused. */
	envp[1] = "REQUEST_URI=http://h";
	assert_int_equal(req_init(&r, envp, &msg),
	    FS_BAD_REQUEST);
	http_request_free(&r);
	envp[1] = "REQUEST_URI=1http://h/a";
	assert_int_equal(req_init(&r, envp, &msg),
	    FS_BAD_REQUEST);
	http_request_free(&r);
}

/* apache/filestor.conf sends the errors Apache answers itself to a
   program as an ErrorDocument: REDIRECT_STATUS says which. */
static void
test_request_server_refused(void **state)
{
	static const struct {
		const char	*status;
		const char	*uri;
		const char	*method;	/* REDIRECT_REQUEST_METHOD */
		const char	*length;	/* REDIRECT_CONTENT_LENGTH */
		enum fs_err	 want;
	} cases[] = {
		{ "REDIRECT_STATUS=413", "REQUEST_URI=/api/storage/a", "PUT",
		    "2000", FS_TOO_LARGE },
		{ "REDIRECT_STATUS=404", "REQUEST_URI=/api/storage/a%00b",
		    "PUT", "1", FS_VALIDATION },
		{ "REDIRECT_STATUS=404", "REQUEST_URI=/api/nosuch", "GET",
		    NULL, FS_NOT_FOUND },
		{ "REDIRECT_STATUS=400", "REQUEST_URI=/api/a%zz", "GET", NULL,
		    FS_BAD_REQUEST },
		{ "REDIRECT_STATUS=405", "REQUEST_URI=/api/a", "TRACE", NULL,
		    FS_METHOD },
		{ "REDIRECT_STATUS=500", "REQUEST_URI=/api/storage/a", "PUT",
		    NULL, FS_TOO_LARGE },		/* chunked, too long */
		{ "REDIRECT_STATUS=500", "REQUEST_URI=/api/storage/a", "PUT",
		    "10", FS_INTERNAL },
		{ "REDIRECT_STATUS=500", "REQUEST_URI=/api/storage/a", "GET",
		    NULL, FS_INTERNAL },
		{ "REDIRECT_STATUS=503", "REQUEST_URI=/api/a", "GET", NULL,
		    FS_UNAVAILABLE },
	};
	char m[64], l[64];
	char *envp[6];
	struct request r;
	const char *msg;
	enum fs_err e;
	size_t i, n;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		n = 0;
		envp[n++] = "REQUEST_METHOD=GET";
		envp[n++] = (char *)cases[i].uri;
		envp[n++] = (char *)cases[i].status;
		snprintf(m, sizeof(m), "REDIRECT_REQUEST_METHOD=%s",
		    cases[i].method);
		envp[n++] = m;
		if (cases[i].length != NULL) {
			snprintf(l, sizeof(l), "REDIRECT_CONTENT_LENGTH=%s",
			    cases[i].length);
			envp[n++] = l;
		}
		envp[n] = NULL;
		msg = NULL;
		e = req_init(&r, envp, &msg);
		if (e != cases[i].want)
			print_error("case %zu: %d\n", i, (int)e);
		assert_int_equal(e, cases[i].want);
		/* Answered as JSON with the status Apache chose. */
		assert_int_equal(http_error(&r, e, "%s", msg != NULL ? msg :
		    err_strerror(e)), 0);
		assert_non_null(strstr(OUT, "\"error\""));
		http_request_free(&r);
	}
	/* An internal redirect that is not an error is an ordinary request. */
	envp[0] = "REQUEST_METHOD=GET";
	envp[1] = "REQUEST_URI=/api/x";
	envp[2] = "REDIRECT_STATUS=200";
	envp[3] = NULL;
	init_ok(&r, envp);
	http_request_free(&r);
}

static void
test_header_authorization(void **state)
{
	char *both[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/",
	    "HTTP_AUTHORIZATION=Bearer fs_a",
	    "REDIRECT_HTTP_AUTHORIZATION=Bearer fs_b", NULL };
	char *redirect[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/",
	    "REDIRECT_HTTP_AUTHORIZATION=Bearer fs_b", NULL };
	char *none[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/",
	    "REDIRECT_HTTP_COOKIE=x=1", NULL };
	struct request r;

	(void)state;
	init_ok(&r, both);
	assert_string_equal(http_header(&r, "Authorization"), "Bearer fs_a");
	http_request_free(&r);
	init_ok(&r, redirect);
	assert_string_equal(http_header(&r, "authorization"), "Bearer fs_b");
	http_request_free(&r);
	/* Only Authorization gets the fallback. */
	init_ok(&r, none);
	assert_null(http_header(&r, "Authorization"));
	assert_null(http_header(&r, "Cookie"));
	http_request_free(&r);
}

/* ---- response ---- */

static char *get_env[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", NULL };
static char *head_env[] = { "REQUEST_METHOD=HEAD", "REQUEST_URI=/x", NULL };

static void
test_add_header(void **state)
{
	static const struct strpair bad[] = {	/* name, value */
		{ "X-A", "a\r\nSet-Cookie: evil=1" },
		{ "X-A", "a\rb" },
		{ "X-A", "a\nb" },
		{ "X-A", NULL },
		{ "X-A\r\nX-B", "1" },
		{ "X A", "1" },
		{ "X:A", "1" },
		{ "", "1" },
		{ NULL, "1" },
		{ "X-\xc3\xa9", "1" },
	};
	struct request r;
	char big[HTTP_MAX_HEADER_OUT + 1];
	size_t i;

	(void)state;
	init_ok(&r, get_env);
	for (i = 0; i < NITEMS(bad); i++) {
		assert_int_equal(http_add_header(&r, bad[i].a, bad[i].b), -1);
		assert_int_equal(r.nhdr, 0);
	}
	assert_int_equal(http_add_headerf(&r, "X-A", "a%cb", '\n'), -1);
	/* One line is at most HTTP_MAX_HEADER_OUT bytes. */
	memset(big, 'v', sizeof(big));
	big[HTTP_MAX_HEADER_OUT - 3] = '\0';		/* "X: " + value */
	assert_int_equal(http_add_header(&r, "X", big), 0);
	big[HTTP_MAX_HEADER_OUT - 3] = 'v';
	big[HTTP_MAX_HEADER_OUT - 2] = '\0';
	assert_int_equal(http_add_header(&r, "X", big), -1);
	assert_int_equal(r.nhdr, 1);
	http_request_free(&r);

	init_ok(&r, get_env);
	assert_int_equal(http_add_header(&r, "X-Ok", "yes"), 0);
	assert_int_equal(http_add_header(&r, "X-Bad", "no\r\nX-Evil: 1"), -1);
	assert_int_equal(http_add_headerf(&r, "X-Num", "%d", 7), 0);
	assert_int_equal(http_status(&r, 204), 0);
	assert_int_equal(http_status(&r, 99), -1);
	assert_int_equal(http_status(&r, 600), -1);
	assert_int_equal(http_begin(&r), 0);
	assert_string_equal(OUT,
	    "Status: 204 No Content\r\nX-Ok: yes\r\nX-Num: 7\r\n\r\n");
	/* Once the head is out, nothing more can be added or changed. */
	assert_int_equal(http_begin(&r), 0);
	assert_int_equal(http_add_header(&r, "X-Late", "1"), -1);
	assert_int_equal(http_status(&r, 500), -1);
	assert_int_equal(OUTLEN, strlen(OUT));
	assert_string_equal(OUT,
	    "Status: 204 No Content\r\nX-Ok: yes\r\nX-Num: 7\r\n\r\n");
	http_request_free(&r);

	init_ok(&r, get_env);
	for (i = 0; i < HTTP_MAX_HEADERS_OUT; i++)
		assert_int_equal(http_add_headerf(&r, "X-N", "%zu", i), 0);
	assert_int_equal(http_add_header(&r, "X-N", "one too many"), -1);
	assert_int_equal(r.nhdr, HTTP_MAX_HEADERS_OUT);
	http_request_free(&r);
}

static void
test_write_and_json(void **state)
{
	struct request r;
	cJSON *j;

	(void)state;
	j = cJSON_CreateObject();
	assert_non_null(cJSON_AddStringToObject(j, "k", "a/b"));
	assert_non_null(cJSON_AddNumberToObject(j, "n", 3));

	init_ok(&r, get_env);
	assert_int_equal(http_add_header(&r, "content-type", "text/plain"), 0);
	assert_int_equal(http_json(&r, 201, j), 0);
	assert_string_equal(OUT,
	    "Status: 201 Created\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 18\r\n"
	    "\r\n"
	    "{\"k\":\"a/b\",\"n\":3}\n");
	/* A second answer is refused. */
	assert_int_equal(http_json(&r, 200, j), -1);
	assert_int_equal(http_error(&r, FS_INTERNAL, NULL), -1);
	assert_int_equal(OUTLEN, strlen(OUT));
	http_request_free(&r);

	/* HEAD: the same headers, no body. */
	init_ok(&r, head_env);
	assert_int_equal(http_json(&r, 200, j), 0);
	assert_string_equal(OUT,
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 18\r\n"
	    "\r\n");
	assert_int_equal(http_write(&r, "more", 4), 0);
	assert_int_equal(OUTLEN, strlen(OUT));
	http_request_free(&r);

	/* http_write begins by itself. */
	init_ok(&r, get_env);
	assert_int_equal(http_write(&r, "ab", 2), 0);
	assert_int_equal(http_write(&r, "c\0d", 3), 0);
	assert_int_equal(OUTLEN, 23);
	assert_memory_equal(OUT, "Status: 200 OK\r\n\r\nabc\0d", 23);
	http_request_free(&r);
	cJSON_Delete(j);
}

static void
test_http_error_exact(void **state)
{
	struct request r;

	(void)state;
	init_ok(&r, get_env);
	/* The handler meant to send a file, then failed. */
	assert_int_equal(http_add_header(&r, "ETag", "\"abc\""), 0);
	assert_int_equal(http_add_header(&r, "Set-Cookie", "s=1"), 0);
	assert_int_equal(http_add_header(&r, "Cache-Control",
	    "public, max-age=31536000"), 0);
	assert_int_equal(http_add_header(&r, "Allow", "GET"), 0);
	assert_int_equal(http_status(&r, 200), 0);
	assert_int_equal(http_error(&r, FS_NOT_FOUND, "no such key %s",
	    "a\"b"), 0);
	assert_string_equal(OUT,
	    "Status: 404 Not Found\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 60\r\n"
	    "\r\n"
	    "{\"error\":{\"code\":\"NOT_FOUND\","
	    "\"message\":\"no such key a\\\"b\"}}\n");
	assert_int_equal(r.status, 404);
	assert_true(r.head_sent);
	/* Headers are out: the status cannot change any more. */
	assert_int_equal(http_error(&r, FS_INTERNAL, NULL), -1);
	assert_null(strstr(OUT, "INTERNAL"));
	http_request_free(&r);

	/* fmt NULL: the generic message. */
	init_ok(&r, get_env);
	assert_int_equal(http_error(&r, FS_TOO_LARGE, NULL), 0);
	assert_non_null(strstr(OUT, "Status: 413 "));
	assert_non_null(strstr(OUT,
	    "{\"error\":{\"code\":\"PAYLOAD_TOO_LARGE\","
	    "\"message\":\"payload too large\"}}\n"));
	http_request_free(&r);

	/* HEAD: the error's headers without its body. */
	init_ok(&r, head_env);
	assert_int_equal(http_error(&r, FS_VALIDATION, "width must be %s",
	    "an integer"), 0);
	assert_string_equal(OUT,
	    "Status: 422 Unprocessable Content\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 69\r\n"
	    "\r\n");
	http_request_free(&r);
}

static void
test_http_error_keeps(void **state)
{
	struct request r;

	(void)state;
	/* 405: Allow survives, an ETag does not, an old Allow is replaced. */
	init_ok(&r, get_env);
	assert_int_equal(http_add_header(&r, "ETag", "\"abc\""), 0);
	assert_int_equal(http_add_header(&r, "Allow", "PUT"), 0);
	assert_int_equal(http_method_not_allowed(&r, "GET, HEAD"), 0);
	assert_string_equal(OUT,
	    "Status: 405 Method Not Allowed\r\n"
	    "Allow: GET, HEAD\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 64\r\n"
	    "\r\n"
	    "{\"error\":{\"code\":\"BAD_REQUEST\","
	    "\"message\":\"method not allowed\"}}\n");
	http_request_free(&r);

	/* Allow means nothing on a 404. */
	init_ok(&r, get_env);
	assert_int_equal(http_add_header(&r, "Allow", "GET"), 0);
	assert_int_equal(http_error(&r, FS_NOT_FOUND, NULL), 0);
	assert_null(strstr(OUT, "Allow"));
	http_request_free(&r);

	/* 416 keeps Content-Range: bytes * /size (RFC 9110 §14.4). */
	init_ok(&r, get_env);
	assert_int_equal(http_add_header(&r, "Content-Range", "bytes */10"),
	    0);
	assert_int_equal(http_add_header(&r, "Accept-Ranges", "bytes"), 0);
	assert_int_equal(http_error(&r, FS_RANGE, NULL), 0);
	assert_non_null(strstr(OUT,
	    "Status: 416 Range Not Satisfiable\r\n"
	    "Content-Range: bytes */10\r\n"
	    "Cache-Control: no-store\r\n"));
	assert_null(strstr(OUT, "Accept-Ranges"));
	http_request_free(&r);

	/* 401 keeps WWW-Authenticate, drops a cookie. */
	init_ok(&r, get_env);
	assert_int_equal(http_add_header(&r, "WWW-Authenticate", "Bearer"),
	    0);
	assert_int_equal(http_add_header(&r, "Set-Cookie", "s=1"), 0);
	assert_int_equal(http_error(&r, FS_UNAUTHORIZED, "bad token"), 0);
	assert_non_null(strstr(OUT, "WWW-Authenticate: Bearer\r\n"));
	assert_null(strstr(OUT, "Set-Cookie"));
	assert_null(strstr(OUT, "realm"));	/* the handler's, alone */
	http_request_free(&r);

	/* A 401 without a challenge gets the default one (RFC 9110 §15.5.2);
	   a 429 keeps its Retry-After. */
	init_ok(&r, get_env);
	assert_int_equal(http_error(&r, FS_UNAUTHORIZED, "bad token"), 0);
	assert_non_null(strstr(OUT,
	    "WWW-Authenticate: Bearer realm=\"filestor\"\r\n"));
	http_request_free(&r);
	init_ok(&r, get_env);
	assert_int_equal(http_add_header(&r, "Retry-After", "7"), 0);
	assert_int_equal(http_add_header(&r, "ETag", "\"x\""), 0);
	assert_int_equal(http_error(&r, FS_TOO_MANY, "slow down"), 0);
	assert_non_null(strstr(OUT, "Status: 429"));
	assert_non_null(strstr(OUT, "Retry-After: 7\r\n"));
	assert_null(strstr(OUT, "ETag"));
	http_request_free(&r);
}

static void
test_http_error_message(void **state)
{
	char longmsg[HTTP_ERROR_MSG_MAX * 2];
	struct request r;
	cJSON *j, *m;
	const char *body;

	(void)state;
	/* Bytes that are not UTF-8 never reach the JSON text. */
	init_ok(&r, get_env);
	assert_int_equal(http_error(&r, FS_VALIDATION, "key %s is bad",
	    "a\xff\xc3(\xed\xa0\x80\xf0\x9f\x98\x80\x01"), 0);
	body = strstr(OUT, "\r\n\r\n");
	assert_non_null(body);
	j = cJSON_Parse(body + 4);
	assert_non_null(j);
	m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message");
	assert_string_equal(cJSON_GetStringValue(m),
	    "key a?" "?(?" "?" "?\xf0\x9f\x98\x80\x01 is bad");
	cJSON_Delete(j);
	http_request_free(&r);

	/* A long message is cut, not overflowed. */
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	init_ok(&r, get_env);
	assert_int_equal(http_error(&r, FS_VALIDATION, "%s", longmsg), 0);
	body = strstr(OUT, "\r\n\r\n");
	j = cJSON_Parse(body + 4);
	assert_non_null(j);
	m = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "message");
	assert_int_equal(strlen(cJSON_GetStringValue(m)),
	    HTTP_ERROR_MSG_MAX - 1);
	cJSON_Delete(j);
	http_request_free(&r);
}

/* ---- body ---- */

static void
init_body(struct request *r, const char *cl, const char *body,
    size_t bodylen)
{
	char clvar[64];
	char *envp[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", clvar,
	    NULL };

	if (cl != NULL)
		snprintf(clvar, sizeof(clvar), "CONTENT_LENGTH=%s", cl);
	else
		envp[2] = NULL;
	init_ok(r, envp);
	tio.body = body;
	tio.len = bodylen;
}

static void
test_http_read(void **state)
{
	struct request r;
	char buf[16];

	(void)state;
	/* In pieces, then 0 at the end. */
	init_body(&r, "5", "hello", 5);
	assert_int_equal(http_read(&r, buf, 2), 2);
	assert_int_equal(http_read(&r, buf + 2, 2), 2);
	assert_int_equal(http_read(&r, buf + 4, sizeof(buf) - 4), 1);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 0);
	assert_true(r.body_read == 5);
	http_request_free(&r);

	/* Never past Content-Length. */
	init_body(&r, "5", "helloEXTRA", 10);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 5);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 0);
	assert_int_equal(tio.off, 5);
	http_request_free(&r);

	/* Short body: the stream ends before Content-Length. */
	init_body(&r, "10", "hello", 5);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 5);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), -1);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), -1);
	assert_true(r.body_read == 5);
	http_request_free(&r);

	init_body(&r, "3", NULL, 0);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), -1);
	http_request_free(&r);

	/* No Content-Length (chunked through the server): until EOF. */
	init_body(&r, NULL, "0123456789abcdefXYZ", 19);
	assert_true(r.content_length == -1);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 16);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 3);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 0);
	assert_true(r.body_read == 19);
	http_request_free(&r);

	init_body(&r, "0", "x", 1);
	assert_int_equal(http_read(&r, buf, sizeof(buf)), 0);
	http_request_free(&r);
}

struct json_case {
	const char	*cl;		/* CONTENT_LENGTH, NULL: absent */
	const char	*body;
	size_t		 bodylen;	/* 0: strlen(body) */
	size_t		 cap;
	enum fs_err	 want;
	const char	*msg;
};

static const struct json_case json_cases[] = {
	{ "7", "{\"a\":1}", 0, 64, FS_OK, NULL },
	{ NULL, "{\"a\":1}", 0, 64, FS_OK, NULL },
	{ "9", " {\"a\":1}\n", 0, 64, FS_OK, NULL },
	{ "7", "{\"a\":1}", 0, 7, FS_OK, NULL },		/* exactly cap */
	{ NULL, "{\"a\":1}", 0, 7, FS_OK, NULL },
	{ "8", "{\"a\":1} ", 0, 7, FS_TOO_LARGE, "request body is too large" },
	{ NULL, "{\"a\":1} ", 0, 7, FS_TOO_LARGE,
	    "request body is too large" },
	{ NULL, "{}", 0, 0, FS_TOO_LARGE, "request body is too large" },
	{ "0", "", 0, 64, FS_BAD_REQUEST, "request body is empty" },
	{ NULL, "", 0, 64, FS_BAD_REQUEST, "request body is empty" },
	{ "0", "", 0, 0, FS_BAD_REQUEST, "request body is empty" },
	{ "1", "{", 0, 64, FS_BAD_REQUEST, "malformed JSON" },
	{ NULL, "{\"a\":}", 0, 64, FS_BAD_REQUEST, "malformed JSON" },
	{ NULL, "{} x", 0, 64, FS_BAD_REQUEST, "malformed JSON" },
	{ NULL, "{}{}", 0, 64, FS_BAD_REQUEST, "malformed JSON" },
	{ NULL, "{}\0x", 4, 64, FS_BAD_REQUEST, "malformed JSON" },
	{ NULL, "{}\0 ", 4, 64, FS_BAD_REQUEST, "malformed JSON" },
	{ NULL, "{\"a\":\"x\0y\"}", 11, 64, FS_BAD_REQUEST,
	    "malformed JSON" },
	{ NULL, "   ", 0, 64, FS_BAD_REQUEST, "malformed JSON" },
	{ NULL, "[1]", 0, 64, FS_BAD_REQUEST,
	    "request body must be a JSON object" },
	{ NULL, "\"x\"", 0, 64, FS_BAD_REQUEST,
	    "request body must be a JSON object" },
	{ NULL, "null", 0, 64, FS_BAD_REQUEST,
	    "request body must be a JSON object" },
	{ "10", "{}", 0, 64, FS_BAD_REQUEST, "request body is incomplete" },
};

static void
test_read_json(void **state)
{
	const struct json_case *c;
	struct request r;
	const char *msg;
	cJSON *j;
	size_t i, len;
	enum fs_err e;

	(void)state;
	for (i = 0; i < NITEMS(json_cases); i++) {
		c = &json_cases[i];
		len = c->bodylen != 0 ? c->bodylen : strlen(c->body);
		init_body(&r, c->cl, c->body, len);
		j = (cJSON *)&r;	/* must be reset */
		msg = "unset";
		e = http_read_json(&r, c->cap, &j, &msg);
		if (e != c->want)
			print_error("case %zu: %d \"%s\"\n", i, (int)e,
			    msg != NULL ? msg : "(null)");
		assert_int_equal(e, c->want);
		if (c->want == FS_OK) {
			assert_non_null(j);
			assert_true(cJSON_IsObject(j));
			assert_null(msg);
			cJSON_Delete(j);
		} else {
			assert_null(j);
			assert_string_equal(msg, c->msg);
		}
		http_request_free(&r);
	}

	/* A Content-Length over the cap is refused before reading. */
	init_body(&r, "100", "{}", 2);
	assert_int_equal(http_read_json(&r, 64, &j, &msg), FS_TOO_LARGE);
	assert_true(r.body_read == 0);
	assert_int_equal(tio.off, 0);
	http_request_free(&r);
}

/* A body larger than the first buffer, without Content-Length. */
static void
test_read_json_grow(void **state)
{
	struct request r;
	const char *msg;
	cJSON *j;
	char *body;
	size_t n = 20000, i;

	(void)state;
	body = malloc(n);
	assert_non_null(body);
	memcpy(body, "{\"a\":\"", 6);
	for (i = 6; i < n - 2; i++)
		body[i] = 'x';
	memcpy(body + n - 2, "\"}", 2);
	init_body(&r, NULL, body, n);
	assert_int_equal(http_read_json(&r, n, &j, &msg), FS_OK);
	assert_int_equal(strlen(cJSON_GetStringValue(
	    cJSON_GetObjectItem(j, "a"))), n - 8);
	cJSON_Delete(j);
	http_request_free(&r);

	init_body(&r, NULL, body, n);
	assert_int_equal(http_read_json(&r, n - 1, &j, &msg), FS_TOO_LARGE);
	assert_null(j);
	http_request_free(&r);
	free(body);
}

/* ---- the same through libfcgi ---- */

/* Append one FastCGI record (FastCGI spec §3.3) to buf. */
static size_t
fcgi_record(unsigned char *buf, size_t off, int type, const void *data,
    size_t len)
{
	buf[off++] = 1;				/* FCGI_VERSION_1 */
	buf[off++] = (unsigned char)type;
	buf[off++] = 0;				/* request id 1 */
	buf[off++] = 1;
	buf[off++] = (unsigned char)(len >> 8);
	buf[off++] = (unsigned char)len;
	buf[off++] = 0;				/* padding */
	buf[off++] = 0;
	if (len > 0)
		memcpy(buf + off, data, len);
	return off + len;
}

/* Encode NAME=VALUE pairs (short names and values, < 128 bytes). */
static size_t
fcgi_params(unsigned char *buf, char **env)
{
	size_t off = 0, nl, vl;
	const char *eq;

	for (; *env != NULL; env++) {
		eq = strchr(*env, '=');
		nl = (size_t)(eq - *env);
		vl = strlen(eq + 1);
		buf[off++] = (unsigned char)nl;
		buf[off++] = (unsigned char)vl;
		memcpy(buf + off, *env, nl);
		off += nl;
		memcpy(buf + off, eq + 1, vl);
		off += vl;
	}
	return off;
}

typedef void	(*fcgi_handler)(struct request *);

/* Read exactly len bytes unless the peer closes first; -1 on error. */
static ssize_t
read_full(int fd, void *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(fd, (char *)buf + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

/*
 * Run one request through libfcgi as a web server would send it, call
 * fn on the struct request, and return the response's stdout bytes
 * (malloc'd, NUL terminated).
 */
static char *
fcgi_roundtrip(char **env, const char *body, fcgi_handler fn)
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	unsigned char in[4096], params[2048], hdr[8], rec[65536 + 256];
	char dir[] = "/tmp/test_http.XXXXXX", sock[64], *out = NULL;
	struct sockaddr_un sa;
	FCGX_Request fcgx;
	struct request r;
	const char *msg;
	size_t off = 0, outlen = 0, clen, plen;
	struct timeval tmo = { 5, 0 };
	ssize_t n;
	int lfd, cfd;

	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/s", dir);
	assert_int_equal(FCGX_Init(), 0);
	lfd = FCGX_OpenSocket(sock, 1);
	assert_true(lfd >= 0);
	assert_int_equal(FCGX_InitRequest(&fcgx, lfd, 0), 0);

	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(cfd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)),
	    0);
	/* A broken exchange fails the test instead of hanging it. */
	assert_int_equal(setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tmo,
	    sizeof(tmo)), 0);
	/* Connected: the name is no longer needed, so a failed assertion
	   below leaves nothing behind in /tmp. */
	unlink(sock);
	rmdir(dir);
	/* The whole request fits in the socket buffer: write it first. */
	off = fcgi_record(in, off, 1, begin, sizeof(begin));
	off = fcgi_record(in, off, 4, params, fcgi_params(params, env));
	off = fcgi_record(in, off, 4, NULL, 0);
	if (body != NULL && *body != '\0')
		off = fcgi_record(in, off, 5, body, strlen(body));
	off = fcgi_record(in, off, 5, NULL, 0);
	assert_int_equal(write(cfd, in, off), (ssize_t)off);

	assert_true(FCGX_Accept_r(&fcgx) >= 0);
	assert_int_equal(http_request_init(&r, &fcgx, NULL, &msg), FS_OK);
	fn(&r);
	FCGX_Finish_r(&fcgx);
	/* r copied the environment: it outlives the FastCGI request. */
	assert_non_null(r.method);
	assert_non_null(http_env(&r, "REQUEST_URI"));
	http_request_free(&r);

	/* Collect FCGI_STDOUT (6) until FCGI_END_REQUEST (3). */
	out = malloc(1);
	assert_non_null(out);
	for (;;) {
		n = read_full(cfd, hdr, sizeof(hdr));
		if (n == 0)
			break;
		assert_int_equal(n, sizeof(hdr));
		clen = (size_t)hdr[4] << 8 | hdr[5];
		plen = hdr[6];
		assert_int_equal(read_full(cfd, rec, clen + plen),
		    (ssize_t)(clen + plen));
		if (hdr[1] == 3)
			break;
		if (hdr[1] == 6 && clen > 0) {
			out = realloc(out, outlen + clen + 1);
			assert_non_null(out);
			memcpy(out + outlen, rec, clen);
			outlen += clen;
		}
	}
	out[outlen] = '\0';
	close(cfd);
	close(lfd);
	return out;
}

static void
h_echo_json(struct request *r)
{
	const char *msg;
	cJSON *j = NULL;

	assert_string_equal(r->method, "POST");
	assert_string_equal(r->path, "/api/x y");
	assert_string_equal(http_param(r, "q")->value, "1");
	assert_int_equal(http_read_json(r, HTTP_JSON_MAX, &j, &msg), FS_OK);
	assert_int_equal(http_add_header(r, "X-Seen", "yes"), 0);
	assert_int_equal(http_json(r, 200, j), 0);
	cJSON_Delete(j);
}

static void
h_short_body(struct request *r)
{
	char buf[64];

	assert_true(r->content_length == 10);
	assert_int_equal(http_read(r, buf, sizeof(buf)), 3);
	assert_int_equal(http_read(r, buf, sizeof(buf)), -1);
	http_error(r, FS_BAD_REQUEST, "short body");
}

static void
test_fcgi_roundtrip(void **state)
{
	char *json_env[] = { "REQUEST_METHOD=POST",
	    "REQUEST_URI=/api/x%20y?q=1", "QUERY_STRING=q=1",
	    "CONTENT_LENGTH=7", "CONTENT_TYPE=application/json",
	    "HTTP_X_REQUEST_ID=rt-1", NULL };
	char *short_env[] = { "REQUEST_METHOD=PUT", "REQUEST_URI=/api/x",
	    "CONTENT_LENGTH=10", NULL };
	char *out;

	(void)state;
	out = fcgi_roundtrip(json_env, "{\"a\":1}", h_echo_json);
	assert_string_equal(out,
	    "Status: 200 OK\r\n"
	    "X-Seen: yes\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 8\r\n"
	    "X-Request-Id: rt-1\r\n"
	    "\r\n"
	    "{\"a\":1}\n");
	free(out);

	out = fcgi_roundtrip(short_env, "abc", h_short_body);
	assert_non_null(strstr(out, "Status: 400 Bad Request\r\n"));
	assert_non_null(strstr(out, "\"message\":\"short body\""));
	/* No id sent: one is made, and named in the error body too. */
	assert_non_null(strstr(out, "\r\nX-Request-Id: "));
	assert_non_null(strstr(out, "\"requestId\":\""));
	free(out);
}

/* X-Request-Id: a sane one is echoed, anything else replaced. */
static void
test_request_id(void **state)
{
	static const char *const sane[] = { "a", "0f9e-AB_c.d:e+f/g=h@i",
	    "123e4567-e89b-12d3-a456-426614174000",
	    /* 64 bytes, the most */
	    "0123456789012345678901234567890123456789012345678901234567890123" };
	static const char *const insane[] = { "", " x", "a b", "a\"b",
	    "a;b", "a\\b", "<x>", "\xc3\xa9",
	    /* 65 bytes */
	    "01234567890123456789012345678901234567890123456789012345678901234" };
	char env[256], *envp[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x",
	    env, NULL };
	const char *msg;
	struct request r;
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(sane); i++) {
		assert_true(http_request_id_ok(sane[i]));
		snprintf(env, sizeof(env), "HTTP_X_REQUEST_ID=%s", sane[i]);
		assert_int_equal(req_init(&r, envp, &msg), FS_OK);
		assert_string_equal(r.request_id, sane[i]);
		http_request_free(&r);
	}
	for (i = 0; i < NITEMS(insane); i++) {
		assert_false(http_request_id_ok(insane[i]));
		snprintf(env, sizeof(env), "HTTP_X_REQUEST_ID=%s", insane[i]);
		assert_int_equal(req_init(&r, envp, &msg), FS_OK);
		assert_int_equal(strlen(r.request_id), 32);
		assert_int_equal(strspn(r.request_id, "0123456789abcdef"), 32);
		http_request_free(&r);
	}
	assert_false(http_request_id_ok(NULL));
	/* In the head of every answer, and in an error body. */
	snprintf(env, sizeof(env), "HTTP_X_REQUEST_ID=abc-1");
	assert_int_equal(req_init(&r, envp, &msg), FS_OK);
	assert_int_equal(http_add_header(&r, "X-A", "1"), 0);
	assert_int_equal(http_error(&r, FS_NOT_FOUND, "gone"), 0);
	assert_non_null(strstr(OUT, "\r\nX-Request-Id: abc-1\r\n\r\n"));
	assert_non_null(strstr(OUT, "{\"error\":{\"code\":\"NOT_FOUND\","
	    "\"message\":\"gone\",\"requestId\":\"abc-1\"}}\n"));
	assert_null(strstr(OUT, "X-A"));
	/* Body bytes are counted, the head's are not. */
	assert_int_equal(r.bytes_out, (long long)strlen(strstr(OUT,
	    "\r\n\r\n") + 4));
	http_request_free(&r);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_request_init_uri),
    cmocka_unit_test(test_request_init_forms),
    cmocka_unit_test(test_request_init_path_max),
    cmocka_unit_test(test_request_init_bad),
    cmocka_unit_test(test_request_too_many_params),
    cmocka_unit_test(test_header_authorization),
    cmocka_unit_test(test_add_header),
    cmocka_unit_test(test_write_and_json),
    cmocka_unit_test(test_http_error_exact),
    cmocka_unit_test(test_http_error_keeps),
    cmocka_unit_test(test_http_error_message),
    cmocka_unit_test(test_http_read),
    cmocka_unit_test(test_read_json),
    cmocka_unit_test(test_read_json_grow),
    cmocka_unit_test(test_fcgi_roundtrip),
    cmocka_unit_test(test_request_id),
    cmocka_unit_test(test_request_absolute_form),
    cmocka_unit_test(test_request_server_refused))
