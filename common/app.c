/*
 * app: setup, the accept loop and the dispatch table shared by every
 * FastCGI program.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "alog.h"
#include "app.h"
#include "cry.h"
#include "db.h"
#include "files.h"
#include "metrics.h"
#include "perm.h"
#include "rproto.h"
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

void
app_db_error(struct app *a, struct request *r, const char *what)
{
	app_log(a, "%s: %s", what, db_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
}

#define ALLOW_MAX	128	/* "GET, HEAD, PUT, PATCH, DELETE, POST" */
/* The agents' routes, and GET /api/metrics when not from loopback. */
#define ADMIN_ONLY	"this route needs an admin role"

/*
 * Whether the bytes s..end (a decoded path, which may hold a NUL) match
 * pat (routes.h): "*" is a run of bytes other than '/', "**" any run.
 * In the table a wildcard is followed only by literal bytes, so a match
 * costs at most the path's length times the pattern's.
 */
static int
glob_match(const char *pat, const char *s, const char *end)
{
	int any;

	for (; *pat != '\0'; pat++, s++) {
		if (*pat == '*') {
			any = pat[1] == '*';
			pat += any ? 2 : 1;
			for (;; s++) {
				if (glob_match(pat, s, end))
					return 1;
				if (s == end || (!any && *s == '/'))
					return 0;
			}
		}
		if (s == end || *s != *pat)
			return 0;
	}
	return s == end;
}

static int
is_literal(const struct app_route *rt)
{
	return strchr(rt->pattern, '*') == NULL;
}

/* literal: only patterns without wildcards count (one equals the path). */
static int
route_matches_path(const struct app_route *rt, const struct request *r,
    int literal)
{
	if (literal && !is_literal(rt))
		return 0;
	return glob_match(rt->pattern, r->path, r->path + r->path_len);
}

static int
route_matches_method(const struct app_route *rt, const char *method)
{
	if (strcmp(rt->method, method) == 0)
		return 1;
	/* RFC 9110 §9.3.2: HEAD is GET without the body. */
	return strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0;
}

/* Add method (and HEAD after GET) to the Allow list, once. */
static void
allow_add(char allow[ALLOW_MAX], const char *method)
{
	size_t n = strlen(allow), m = strlen(method);
	const char *p;

	for (p = allow; (p = strstr(p, method)) != NULL; p += m)
		if ((p == allow || p[-1] == ' ') &&
		    (p[m] == ',' || p[m] == '\0'))
			return;
	snprintf(allow + n, ALLOW_MAX - n, "%s%s%s", n > 0 ? ", " : "",
	    method, strcmp(method, "GET") == 0 ? ", HEAD" : "");
}

/* An API key or a session; 1, or 0 after answering (401/403/500). */
static int
require_user(struct app *a, struct request *r, struct principal *p)
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
		app_log(a, "auth: %s", db_errmsg(a->db));
	/* RFC 9110 §11.6.1: a 401 names the scheme it wants. */
	if (e == FS_UNAUTHORIZED)
		http_add_header(r, "WWW-Authenticate", "Bearer realm=\"filestor\"");
	http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
	return 0;
}

/* A signed ?token= (DESIGN §6): MAC and expiry; the handler checks that
   it names the key of the path. 1, or 0 after answering (401/500). */
static int
require_token(struct app *a, struct request *r, const struct http_param *tp,
    struct app_caller *c)
{
	enum tok_result tr;

	if (strlen(tp->value) != tp->value_len) {
		http_error(r, FS_UNAUTHORIZED, "invalid token");
		return 0;
	}
	tr = tok_storage_verify(a->tok_key, tp->value, (time_t)db_now(),
	    &c->tok_key, &c->tok_tenant);
	if (tr == TOK_OK)
		return 1;
	if (tr == TOK_EXPIRED)
		http_error(r, FS_UNAUTHORIZED, "token expired");
	else
		http_error(r, tr == TOK_ERROR ? FS_INTERNAL : FS_UNAUTHORIZED,
		    "invalid token");
	return 0;
}

/* The agent's own credential (DESIGN §9); 1, or 0 after answering. */
static int
require_agent(struct app *a, struct request *r, struct app_caller *c)
{
	const char *msg = NULL;
	enum fs_err e;

	e = agent_authenticate(a->db, http_header(r, "Authorization"),
	    c->agent_id, &msg);
	if (e == FS_OK)
		return 1;
	if (e == FS_INTERNAL)
		app_log(a, "agent auth: %s", db_errmsg(a->db));
	http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
	return 0;
}

/* Check the auth column: 1 with c filled, or 0 after answering. */
static int
caller_resolve(struct app *a, struct request *r, enum app_auth auth,
    struct app_caller *c)
{
	const struct http_param *tp;

	switch (auth) {
	case APP_PUBLIC:
		return 1;
	case APP_TOKEN:
		tp = http_param(r, "token");
		if (tp != NULL)
			return require_token(a, r, tp, c);
		return require_user(a, r, &c->p);
	case APP_USER:
		return require_user(a, r, &c->p);
	case APP_LOCAL:
		if (a->cfg.metrics_loopback && app_is_local(r))
			return 1;
		/* FALLTHROUGH */
	case APP_ADMIN:
		if (!require_user(a, r, &c->p))
			return 0;
		if (!c->p.admin) {
			http_error(r, FS_FORBIDDEN, ADMIN_ONLY);
			return 0;
		}
		return 1;
	case APP_AGENT:
		return require_agent(a, r, c);
	}
	http_error(r, FS_INTERNAL, NULL);
	return 0;
}

/* Copy who c is into q, for the access log: ids only, never a secret. */
static void
note_caller(struct app_req *q, const struct app_caller *c)
{
	const char *tenant = c->p.tenant_id;

	if (c->agent_id[0] != '\0') {
		q->kind = "agent";
		snprintf(q->agent, sizeof(q->agent), "%s", c->agent_id);
	} else if (c->tok_tenant != NULL) {
		q->kind = "token";
		tenant = c->tok_tenant;
	} else if (c->p.via == AUTH_APIKEY) {
		q->kind = "apikey";
		snprintf(q->key, sizeof(q->key), "%s", c->p.key_id);
	} else if (c->p.via == AUTH_SESSION)
		q->kind = "session";
	if (c->p.via != AUTH_NONE)
		snprintf(q->user, sizeof(q->user), "%s", c->p.user_id);
	snprintf(q->tenant, sizeof(q->tenant), "%s", tenant);
}

void
app_dispatch(struct app *a, struct request *r, const struct app_route *routes,
    size_t nroutes, const app_handler *serve)
{
	struct app_caller c;
	char allow[ALLOW_MAX] = "";
	size_t i, hit = nroutes;
	int literal = 0, path_seen = 0;

	/* A literal pattern equal to the path shadows the wildcards. */
	for (i = 0; i < nroutes && !literal; i++)
		literal = route_matches_path(&routes[i], r, 1);
	for (i = 0; i < nroutes; i++) {
		if (!route_matches_path(&routes[i], r, literal))
			continue;
		path_seen = 1;
		allow_add(allow, routes[i].method);
		if (hit == nroutes && route_matches_method(&routes[i],
		    r->method))
			hit = i;
	}
	if (!path_seen) {
		http_error(r, FS_NOT_FOUND, "no such route");
		return;
	}
	if (hit == nroutes) {
		http_method_not_allowed(r, allow);
		return;
	}
	/*
	 * Another program's route. The web server routes on its own view of
	 * the path (lighttpd and Apache remove dot segments, which we keep),
	 * so this is not always a misconfiguration: answer as a program that
	 * does not know the route. tests/t14-routes.sh checks the configs.
	 */
	if (serve[hit] == NULL) {
		http_error(r, FS_NOT_FOUND, "no such route");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.route = (enum route)hit;
	a->req.route = (int)hit;
	/* PostgreSQL: reconnect after a drop, or say so (503). */
	if (db_ping(a->db) != DB_OK) {
		http_error(r, FS_INTERNAL, NULL);
		return;
	}
	/* A read-only request sees one snapshot, locked once. */
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
		db_read_begin(a->db);
	/* Permission rows the API key's query read: this request's only. */
	perm_prefetch_clear();
	if (caller_resolve(a, r, routes[hit].auth, &c)) {
		note_caller(&a->req, &c);
		serve[hit](a, r, &c);
	}
	perm_prefetch_clear();
	db_read_end(a->db);
	free(c.tok_key);
	free(c.tok_tenant);
}

void
app_audit(struct request *r, const char *action, const char *target,
    const char *detail)
{
	char buf[ALOG_PATH_MAX + 1];
	cJSON *e;

	if (!alog_on() || action == NULL)
		return;
	if (r->audit == NULL)
		r->audit = cJSON_CreateArray();
	if (r->audit == NULL || cJSON_GetArraySize(r->audit) >= APP_AUDIT_MAX)
		return;
	e = cJSON_CreateObject();
	if (e == NULL || !cJSON_AddItemToArray(r->audit, e)) {
		cJSON_Delete(e);
		return;
	}
	cJSON_AddStringToObject(e, "action", action);
	if (target != NULL) {
		snprintf(buf, sizeof(buf), "%s", target);
		http_utf8_scrub(buf);
		cJSON_AddStringToObject(e, "target", buf);
	}
	if (detail != NULL)
		cJSON_AddStringToObject(e, "detail", detail);
}

int
app_is_local(const struct request *r)
{
	static const char *const proxied[] = { "Forwarded",
	    "X-Forwarded-For", "X-Real-IP", "CF-Connecting-IP",
	    "True-Client-IP" };
	const char *ip = http_env(r, "REMOTE_ADDR");
	size_t i;

	if (ip == NULL)
		return 0;
	for (i = 0; i < nitems(proxied); i++)
		if (http_header(r, proxied[i]) != NULL)
			return 0;
	/* 127.0.0.0/8, ::1, and 127/8 mapped into IPv6 (RFC 4291 §2.5.5.2). */
	if (strncmp(ip, "::ffff:", 7) == 0)
		ip += 7;
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

/* The access log line and the metrics of the request just answered. */
static void
request_done(struct app *a, struct request *r)
{
	struct alog_rec rec;
	long long usec = metrics_now_us() - a->req.t0;
	const struct app_route *rt = a->req.route >= 0 ?
	    &app_routes[a->req.route] : NULL;

	metrics_request(r->method, r->status, usec, r->body_read,
	    r->bytes_out);
	if (!alog_on())
		return;
	memset(&rec, 0, sizeof(rec));
	rec.request_id = r->request_id;
	rec.program = a->name;
	rec.method = r->method;
	rec.route = rt != NULL ? rt->pattern : NULL;
	rec.path = r->path;
	rec.status = r->status;
	rec.bytes_in = r->body_read;
	rec.bytes_out = r->bytes_out;
	rec.usec = usec;
	rec.tenant = a->req.tenant;
	rec.kind = a->req.kind;
	rec.user = a->req.user;
	rec.key = a->req.key;
	rec.agent = a->req.agent;
	rec.changes = r->audit;
	if (alog_write(&rec) == -1)
		metrics_inc(METRIC_ACCESS_LOG_ERRORS);
}

/* ACCESS_LOG and the metrics; -1 (refuse to start) when the log will
   not open. Metrics that will not map are logged and left off. */
static int
observe_open(struct app *a)
{
	char err[512], path[4096];

	if (a->cfg.access_log != NULL && a->cfg.access_log[0] != '\0' &&
	    alog_open(a->cfg.access_log, err, sizeof(err)) == -1) {
		app_log(a, "refusing to start: %s", err);
		return -1;
	}
	if (!a->cfg.metrics)
		return 0;
	cfg_metrics_path(&a->cfg, path, sizeof(path));
	if (metrics_open(path, a->name, err, sizeof(err)) == -1)
		app_log(a, "%s; running without metrics", err);
	return 0;
}

/*
 * Whether the web server has sent all of this request, so the worker may
 * close the connection at once. Otherwise libfcgi shuts down its side and
 * waits for the server to close first, so that unread input cannot turn
 * into a reset; that wait costs a round trip of the server's event loop on
 * every request. FCGX_Detach is how libfcgi is told to skip it.
 */
/* http_error_unavailable's question: did the database go away? */
static int
db_lost(void *db)
{
	return db_unavailable(db);
}

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
    const app_handler *serve, int flags)
{
	return app_main_prepare(name, argc, argv, serve, flags, NULL);
}

int
app_main_prepare(const char *name, int argc, char *argv[],
    const app_handler *serve, int flags, app_prepare prepare)
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
	a.db = db_open(a.cfg.db_path, cfg_db_flags(&a.cfg), err, sizeof(err));
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
	if (observe_open(&a) == -1)
		goto out;
	tok_storage_key(a.cfg.auth_secret, a.cfg.auth_secret_len, a.tok_key);
	agent_kek(a.cfg.auth_secret, a.cfg.auth_secret_len, a.agent_kek);
	rp_peer_key(a.cfg.auth_secret, a.cfg.auth_secret_len, a.relay_key);
	/* A client that hangs up must not kill the worker. */
	signal(SIGPIPE, SIG_IGN);
	http_error_unavailable(db_lost, a.db);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgx, 0, 0) != 0) {
		app_log(&a, "cannot initialise FastCGI");
		goto out;
	}
	while (FCGX_Accept_r(&fcgx) >= 0) {
		struct request r;
		const char *msg = NULL;
		enum fs_err e;

		memset(&a.req, 0, sizeof(a.req));
		a.req.t0 = metrics_now_us();
		a.req.route = -1;
		e = http_request_init(&r, &fcgx, NULL, &msg);
		if (e != FS_OK)
			http_error(&r, e, "%s", msg != NULL ? msg :
			    err_strerror(e));
		else {
			if (prepare != NULL)
				prepare(&a, &r);
			if (!r.head_sent)
				app_dispatch(&a, &r, app_routes, ROUTE__MAX,
				    serve);
		}
		if (!r.head_sent)
			http_error(&r, FS_INTERNAL, NULL);
		if (input_drained(&r))
			FCGX_Detach(&fcgx);
		/*
		 * Written before the connection is finished, so that a
		 * client that sees the answer also finds its line; an
		 * O_APPEND write of one line costs microseconds.
		 */
		request_done(&a, &r);
		http_request_free(&r);
		FCGX_Finish_r(&fcgx);
	}
	ret = 0;
out:
	alog_close();
	metrics_close();
	store_close(a.store);
	cry_wipe(a.tok_key, sizeof(a.tok_key));
	cry_wipe(a.agent_kek, sizeof(a.agent_kek));
	cry_wipe(a.relay_key, sizeof(a.relay_key));
	db_close(a.db);
	cfg_free(&a.cfg);
	return ret;
}
