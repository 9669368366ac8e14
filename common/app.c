/*
 * app: setup, the accept loop and the dispatch table shared by every
 * FastCGI program.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "cry.h"
#include "db.h"
#include "files.h"
#include "tok.h"

void
app_log(const struct app *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s[%d]: ", a != NULL ? a->name : "filestor",
	    (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Append s to the NUL-terminated buf of size n, truncating. */
static void
append(char *buf, size_t n, const char *s)
{
	size_t len = strlen(buf);

	if (len + 1 < n)
		snprintf(buf + len, n - len, "%s", s);
}

static int
route_matches_path(const struct app_route *rt, const char *path)
{
	size_t n = strlen(rt->pattern);

	switch (rt->match) {
	case APP_EXACT:
		return strcmp(path, rt->pattern) == 0;
	case APP_PREFIX:
		return strncmp(path, rt->pattern, n) == 0;
	}
	return 0;
}

static int
route_matches_method(const struct app_route *rt, const char *method)
{
	if (strcmp(rt->method, method) == 0)
		return 1;
	/* RFC 9110 §9.3.2: HEAD is GET without the body. */
	return strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0;
}

void
app_dispatch(struct app *a, struct request *r, const struct app_route *routes,
    size_t nroutes)
{
	char allow[128] = "";
	size_t i;
	int path_seen = 0;

	for (i = 0; i < nroutes; i++) {
		if (!route_matches_path(&routes[i], r->path))
			continue;
		if (routes[i].fn != NULL &&
		    route_matches_method(&routes[i], r->method)) {
			/* A read-only request sees one snapshot, locked once. */
			if (strcmp(r->method, "GET") == 0 ||
			    strcmp(r->method, "HEAD") == 0)
				db_read_begin(a->db);
			routes[i].fn(a, r);
			db_read_end(a->db);
			return;
		}
		path_seen = 1;
		if (strstr(allow, routes[i].method) == NULL) {
			if (allow[0] != '\0')
				append(allow, sizeof(allow), ", ");
			append(allow, sizeof(allow), routes[i].method);
			if (strcmp(routes[i].method, "GET") == 0)
				append(allow, sizeof(allow), ", HEAD");
		}
	}
	if (path_seen)
		http_method_not_allowed(r, allow);
	else
		http_error(r, FS_NOT_FOUND, "no such route");
}

int
app_require_auth(struct app *a, struct request *r, struct principal *p)
{
	const char *msg = NULL;
	enum fs_err e;

	e = auth_resolve(a->db, r, p, &msg);
	if (e == FS_OK && p->via == AUTH_NONE) {
		e = FS_UNAUTHORIZED;
		msg = "authentication required: send \"Authorization: Bearer "
		    "fs_...\" or log in";
	}
	if (e == FS_OK)
		return 1;
	if (e == FS_INTERNAL)
		app_log(a, "auth: %s", sqlite3_errmsg(a->db));
	/* RFC 9110 §11.6.1: a 401 names the scheme it wants. */
	if (e == FS_UNAUTHORIZED)
		http_add_header(r, "WWW-Authenticate", "Bearer realm=\"filestor\"");
	http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
	return 0;
}

/*
 * Whether the web server has sent all of this request, so the worker may
 * close the connection at once. Otherwise libfcgi shuts down its side and
 * waits for the server to close first, so that unread input cannot turn
 * into a reset; that wait costs a round trip of the server's event loop on
 * every request. FCGX_Detach is how libfcgi is told to skip it.
 */
static int
input_drained(struct request *r)
{
	FCGX_Stream *in = r->fcgx != NULL ? r->fcgx->in : NULL;

	if (in == NULL || FCGX_GetError(in) != 0)
		return 0;
	if (in->isClosed)
		return 1;
	/* A body we did not read, or one of unknown length: keep the wait. */
	if (r->content_length != 0 && r->body_read != r->content_length)
		return 0;
	/* Only the end-of-stdin record can follow. */
	return FCGX_GetChar(in) == EOF && FCGX_GetError(in) == 0;
}

int
app_main(const char *name, int argc, char *argv[],
    const struct app_route *routes, size_t nroutes, int flags)
{
	struct app a;
	FCGX_Request fcgx;
	char err[512];
	long long n, failed;
	int ret = 1;

	memset(&a, 0, sizeof(a));
	a.name = name;
	if (argc > 1) {
		fprintf(stderr, "usage: %s (a FastCGI program: run it under "
		    "spawn-fcgi or mod_fcgid)\n", name);
		return 2;
	}
	if (cfg_load(&a.cfg, 1, err, sizeof(err)) == -1) {
		app_log(&a, "refusing to start: %s", err);
		return 1;
	}
	a.db = db_open(a.cfg.db_path, 0, err, sizeof(err));
	if (a.db == NULL) {
		app_log(&a, "refusing to start: %s", err);
		goto out;
	}
	if (!db_is_current(a.db)) {
		app_log(&a, "refusing to start: database %s is not migrated; "
		    "run: filestorctl migrate", a.cfg.db_path);
		goto out;
	}
	if (flags & APP_STORE) {
		a.store = store_open(&a.cfg, err, sizeof(err));
		if (a.store == NULL) {
			app_log(&a, "refusing to start: %s", err);
			goto out;
		}
		/*
		 * Finish the publishes a crash interrupted first: the sweep
		 * keeps any temporary object a row still names.
		 */
		n = file_recover(a.db, a.store, &failed);
		if (n > 0 || failed > 0)
			app_log(&a, "recovery: finished %lld interrupted "
			    "publishes, %lld failed (filestorctl gc retries)",
			    n, failed);
		n = store_gc_orphans(a.store, file_pending_kept, a.db);
		if (n > 0)
			app_log(&a, "removed %lld temporary files of uploads "
			    "whose process died", n);
	}
	tok_storage_key(a.cfg.auth_secret, a.cfg.auth_secret_len, a.tok_key);
	/* A client that hangs up must not kill the worker. */
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgx, 0, 0) != 0) {
		app_log(&a, "cannot initialise FastCGI");
		goto out;
	}
	while (FCGX_Accept_r(&fcgx) >= 0) {
		struct request r;
		const char *msg = NULL;
		enum fs_err e;

		e = http_request_init(&r, &fcgx, NULL, &msg);
		if (e != FS_OK)
			http_error(&r, e, "%s", msg != NULL ? msg :
			    err_strerror(e));
		else
			app_dispatch(&a, &r, routes, nroutes);
		if (!r.head_sent)
			http_error(&r, FS_INTERNAL, NULL);
		if (input_drained(&r))
			FCGX_Detach(&fcgx);
		http_request_free(&r);
		FCGX_Finish_r(&fcgx);
	}
	ret = 0;
out:
	store_close(a.store);
	cry_wipe(a.tok_key, sizeof(a.tok_key));
	db_close(a.db);
	cfg_free(&a.cfg);
	return ret;
}
