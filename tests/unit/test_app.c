/*
 * Unit tests for app_dispatch (common/app.c) on the route table of
 * common/routes.h: which route a request reaches, 404 and 405 with the
 * Allow header the table gives, and the auth column, checked once before
 * any handler runs (public, signed token, user, admin, agent).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "app.h"
#include "db.h"
#include "key.h"
#include "tok.h"
#include "tio.h"
#include "udb.h"

#define AID	"0b8e1d5e-7c55-4f6e-9a53-1f0c2d3e4f50"	/* a well-formed id */

/* What the recording handler saw; reset by run(). */
static int			 called;
static struct app_caller	 seen;

static void
rec(struct app *a, struct request *r, const struct app_caller *c)
{
	(void)a;
	called++;
	seen = *c;
	seen.tok_key = c->tok_key != NULL ? strdup(c->tok_key) : NULL;
	seen.tok_tenant = c->tok_tenant != NULL ? strdup(c->tok_tenant) : NULL;
	http_status(r, 204);
	http_begin(r);
}

static struct app	 app;	/* db set by setup for the auth tests */

/* A request's answer: the status and two of its headers (or ""). */
struct answer {
	int	 status;
	char	 allow[128];
	char	 www[128];
	char	 body[512];
};

static void
header_of(const char *out, const char *name, char *buf, size_t len)
{
	const char *p = out, *eol;
	size_t n = strlen(name);

	buf[0] = '\0';
	for (; p != NULL && *p != '\0' && *p != '\r'; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (eol == NULL)
			return;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			snprintf(buf, len, "%.*s", (int)(eol - p - n - 2),
			    p + n + 2);
			return;
		}
	}
}

/*
 * Dispatch method path (with an optional extra "NAME=value" environment
 * line) on the real table, with rec bound to the routes in only (a
 * ROUTE__MAX-terminated list; NULL: every route).
 */
static void
run(const char *method, const char *uri, const char *extra,
    const enum route *only, struct answer *ans)
{
	app_handler serve[ROUTE__MAX];
	char m[64], u[512];
	char *envp[5];
	struct request r;
	const char *msg, *b;
	size_t i, n = 0;

	memset(serve, 0, sizeof(serve));
	for (i = 0; i < ROUTE__MAX; i++)
		serve[i] = only == NULL ? rec : NULL;
	for (; only != NULL && *only != ROUTE__MAX; only++)
		serve[*only] = rec;
	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	envp[n++] = m;
	envp[n++] = u;
	envp[n++] = "HTTP_HOST=files.example.com";
	if (extra != NULL)
		envp[n++] = (char *)extra;
	envp[n] = NULL;
	called = 0;
	free(seen.tok_key);
	free(seen.tok_tenant);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(req_init(&r, envp, &msg), FS_OK);
	app_dispatch(&app, &r, app_routes, ROUTE__MAX, serve);
	assert_non_null(OUT);
	memset(ans, 0, sizeof(*ans));
	assert_int_equal(sscanf(OUT, "Status: %d", &ans->status), 1);
	header_of(OUT, "Allow", ans->allow, sizeof(ans->allow));
	header_of(OUT, "WWW-Authenticate", ans->www, sizeof(ans->www));
	b = strstr(OUT, "\r\n\r\n");
	snprintf(ans->body, sizeof(ans->body), "%s", b != NULL ? b + 4 : "");
	http_request_free(&r);
}

/* ---- 404 and 405: no database is needed, the table answers ---- */

struct allow_case {
	const char	*method;
	const char	*uri;
	int		 status;	/* 404 or 405 */
	const char	*allow;
};

static const struct allow_case allow_cases[] = {
	{ "DELETE", "/api/auth/me", 405, "GET, HEAD" },
	{ "GET", "/api/auth/login", 405, "POST" },
	{ "GET", "/api/auth/logout", 405, "POST" },
	{ "PUT", "/api/storage", 405, "GET, HEAD" },
	/* The storage programs' methods, wherever the request lands. */
	{ "POST", "/api/storage/a.txt", 405, "GET, HEAD, PUT, PATCH, DELETE" },
	{ "OPTIONS", "/api/storage/d/e/f", 405,
	    "GET, HEAD, PUT, PATCH, DELETE" },
	/* A key ending in /sign also takes sign's POST. */
	{ "OPTIONS", "/api/storage/a/sign", 405,
	    "GET, HEAD, PUT, PATCH, DELETE, POST" },
	{ "PUT", "/api/folders", 405, "GET, HEAD, POST" },
	{ "GET", "/api/folders/x", 405, "PATCH, DELETE" },
	{ "POST", "/api/agents", 405, "GET, HEAD" },
	/* A literal pattern shadows "/api/agents/<id>". */
	{ "GET", "/api/agents/enroll", 405, "POST" },
	{ "DELETE", "/api/agents/heartbeat", 405, "POST" },
	{ "GET", "/api/agents/enroll-tokens", 405, "POST" },
	{ "POST", "/api/agents/" AID, 405, "GET, HEAD, DELETE" },
	{ "GET", "/api/agents/" AID "/tunnel", 405, "POST, DELETE" },
	{ "PUT", "/api/agents/" AID "/tunnel", 405, "POST, DELETE" },
	{ "DELETE", "/api/agents/" AID "/tunnel/rotate", 405, "POST" },
	{ "POST", "/api/file/content", 405, "GET, HEAD" },
	{ "GET", "/api/nope", 404, "" },
	{ "GET", "/api/storagex", 404, "" },
	{ "GET", "/api/auth/me/x", 404, "" },
	/* "*" is one segment. */
	{ "PATCH", "/api/folders/a/b", 404, "" },
	{ "GET", "/api/agents/a/b", 404, "" },
	{ "POST", "/api/agents/" AID "/tunnel/x", 404, "" },
	/* The decoded path: %2F is a segment separator there. */
	{ "PATCH", "/api/folders/a%2Fb", 404, "" },
};

static void
test_allow(void **state)
{
	const struct allow_case *c;
	struct answer ans;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(allow_cases); i++) {
		c = &allow_cases[i];
		run(c->method, c->uri, NULL, NULL, &ans);
		if (ans.status != c->status || strcmp(ans.allow, c->allow) != 0 ||
		    called != 0)
			fail_msg("%s %s: got %d Allow \"%s\" (handler %s), want "
			    "%d Allow \"%s\"", c->method, c->uri, ans.status,
			    ans.allow, called ? "ran" : "not run", c->status,
			    c->allow);
		if (c->status == 404 && strstr(ans.body, "no such route") == NULL)
			fail_msg("%s %s: body %s", c->method, c->uri, ans.body);
	}
}

/* ---- which route a request reaches ---- */

struct hit_case {
	const char	*method;
	const char	*uri;
	enum route	 want;
};

static const struct hit_case hit_cases[] = {
	{ "POST", "/api/auth/login", ROUTE_LOGIN },
	{ "HEAD", "/api/auth/me", ROUTE_ME },
	{ "GET", "/api/storage", ROUTE_LIST },
	{ "GET", "/api/storage/a/b.txt", ROUTE_GET },
	{ "HEAD", "/api/storage/a", ROUTE_GET },
	/* "**" may be empty: the handler refuses the empty key. */
	{ "PUT", "/api/storage/", ROUTE_PUT },
	{ "GET", "/api/storage/a/sign", ROUTE_GET },
	{ "POST", "/api/storage/a/b/sign", ROUTE_SIGN },
	{ "POST", "/api/storage/a%2Fsign", ROUTE_SIGN },
	{ "DELETE", "/api/storage/a/sign", ROUTE_DELETE },
	{ "PATCH", "/api/folders/" AID, ROUTE_FOLDER_RENAME },
	/* "*" may be empty, and takes a decoded %00: the handler checks. */
	{ "DELETE", "/api/folders/", ROUTE_FOLDER_DELETE },
	{ "PATCH", "/api/folders/a%00b", ROUTE_FOLDER_RENAME },
	{ "POST", "/api/agents/enroll", ROUTE_ENROLL },
	{ "POST", "/api/agents/heartbeat", ROUTE_HEARTBEAT },
	{ "GET", "/api/agents/" AID, ROUTE_AGENT },
	{ "GET", "/api/agents/not-an-id", ROUTE_AGENT },
	{ "POST", "/api/agents/heartbeat/tunnel", ROUTE_TUNNEL },
	{ "DELETE", "/api/agents/" AID "/tunnel", ROUTE_TUNNEL_OFF },
	{ "POST", "/api/agents/" AID "/tunnel/rotate", ROUTE_TUNNEL_ROTATE },
	{ "GET", "/api/file/content?agent=x", ROUTE_FILE_CONTENT },
};

/*
 * Each request reaches its route (auth set aside: all public), and only
 * in the program that serves it.
 */
static void
test_hit(void **state)
{
	struct app_route pub[ROUTE__MAX];
	app_handler serve[ROUTE__MAX];
	const struct hit_case *c;
	struct request r;
	char m[64], u[512], *envp[3];
	const char *msg;
	size_t i, k;

	(void)state;
	memcpy(pub, app_routes, sizeof(pub));
	for (k = 0; k < ROUTE__MAX; k++)
		pub[k].auth = APP_PUBLIC;
	for (i = 0; i < nitems(hit_cases); i++) {
		c = &hit_cases[i];
		memset(serve, 0, sizeof(serve));
		serve[c->want] = rec;
		snprintf(m, sizeof(m), "REQUEST_METHOD=%s", c->method);
		snprintf(u, sizeof(u), "REQUEST_URI=%s", c->uri);
		envp[0] = m;
		envp[1] = u;
		envp[2] = NULL;
		called = 0;
		assert_int_equal(http_request_init(&r, NULL, envp, &msg),
		    FS_OK);
		app_dispatch(&app, &r, pub, ROUTE__MAX, serve);
		if (called != 1)
			fail_msg("%s %s: route %d not reached: %s", c->method,
			    c->uri, (int)c->want, OUT);
		assert_int_equal(seen.route, c->want);
		http_request_free(&r);
		/* A program that does not serve it: 404, as if no route. */
		serve[c->want] = NULL;
		assert_int_equal(http_request_init(&r, NULL, envp, &msg),
		    FS_OK);
		app_dispatch(&app, &r, pub, ROUTE__MAX, serve);
		if (called != 1 || strncmp(OUT, "Status: 404", 11) != 0)
			fail_msg("%s %s: unserved: %s", c->method, c->uri,
			    OUT);
		http_request_free(&r);
	}
}

/* ---- the auth column ---- */

static char	 tid[37], admin_key[128], user_key[128], cookie[160];
static char	 agent_id[37], agent_cred[160];

static int
setup_db(void **state)
{
	char err[256], uid[37], kid[37], *key = NULL, *tok = NULL;
	char *secret = NULL, *session = NULL;
	struct principal p;
	const char *msg;
	long long exp;

	(void)state;
	memset(&app, 0, sizeof(app));
	app.name = "test";
	if ((app.db = unit_db(tid)) == NULL)
		return -1;
	memset(app.tok_key, 7, sizeof(app.tok_key));
	if (auth_user_create(app.db, "admin@x", tid, "admin", "password-1",
	    uid, err, sizeof(err)) == -1 ||
	    auth_apikey_create(app.db, tid, uid, "k", &key, kid) == -1)
		return -1;
	snprintf(admin_key, sizeof(admin_key), "HTTP_AUTHORIZATION=Bearer %s",
	    key);
	free(key);
	if (auth_user_create(app.db, "user@x", tid, "authenticated",
	    "password-2", uid, err, sizeof(err)) == -1 ||
	    auth_apikey_create(app.db, tid, uid, "k", &key, kid) == -1)
		return -1;
	snprintf(user_key, sizeof(user_key), "HTTP_AUTHORIZATION=Bearer %s",
	    key);
	free(key);
	if (auth_login(app.db, "user@x", "password-2", tid, 3600, &session,
	    &p, &msg) != FS_OK)
		return -1;
	snprintf(cookie, sizeof(cookie), "HTTP_COOKIE=%s=%s", AUTH_COOKIE,
	    session);
	free(session);
	if (agent_enroll_token_create(app.db, tid, 600, &tok, &exp, err,
	    sizeof(err)) == -1 ||
	    agent_enroll(app.db, tok, "a", "[\"/srv\"]", agent_id,
	    &secret) != FS_OK)
		return -1;
	snprintf(agent_cred, sizeof(agent_cred),
	    "HTTP_AUTHORIZATION=Bearer %s.%s", agent_id, secret);
	free(tok);
	free(secret);
	return 0;
}

static int
teardown_db(void **state)
{
	(void)state;
	db_close(app.db);
	free(seen.tok_key);
	free(seen.tok_tenant);
	return 0;
}

/* Answered by dispatch: status, WWW-Authenticate, handler not run. */
static void
refused(const char *method, const char *uri, const char *extra, int status,
    const char *msg)
{
	struct answer ans;

	run(method, uri, extra, NULL, &ans);
	if (ans.status != status || called != 0 ||
	    strstr(ans.body, msg) == NULL)
		fail_msg("%s %s (%s): got %d %s (handler %s), want %d \"%s\"",
		    method, uri, extra ? extra : "no credentials", ans.status,
		    ans.body, called ? "ran" : "not run", status, msg);
	/* RFC 9110 §11.6.1: every 401 names its scheme. */
	if (status == 401)
		assert_string_equal(ans.www, "Bearer realm=\"filestor\"");
}

/* Handed to the handler, which sees the caller. */
static void
served(const char *method, const char *uri, const char *extra)
{
	struct answer ans;

	run(method, uri, extra, NULL, &ans);
	if (ans.status != 204 || called != 1)
		fail_msg("%s %s (%s): got %d %s, want the handler", method, uri,
		    extra ? extra : "no credentials", ans.status, ans.body);
}

static void
test_auth_public(void **state)
{
	(void)state;
	served("POST", "/api/auth/login", NULL);
	assert_int_equal(seen.p.via, AUTH_NONE);
	/* A public route ignores credentials, even bad ones. */
	served("POST", "/api/agents/enroll", "HTTP_AUTHORIZATION=Bearer fs_x");
	assert_int_equal(seen.p.via, AUTH_NONE);
	assert_string_equal(seen.agent_id, "");
}

static void
test_auth_user(void **state)
{
	(void)state;
	refused("GET", "/api/storage", NULL, 401, "authentication required");
	refused("HEAD", "/api/auth/me", NULL, 401, "");
	refused("PUT", "/api/storage/a", "HTTP_AUTHORIZATION=Bearer fs_nope",
	    401, "UNAUTHORIZED");
	/* An agent's credential is not a user's. */
	refused("GET", "/api/storage", agent_cred, 401, "UNAUTHORIZED");
	served("GET", "/api/storage", user_key);
	assert_int_equal(seen.p.via, AUTH_APIKEY);
	assert_string_equal(seen.p.tenant_id, tid);
	assert_int_equal(seen.p.admin, 0);
	served("GET", "/api/auth/me", cookie);
	assert_int_equal(seen.p.via, AUTH_SESSION);
	/* A cookie on a state-changing request: the CSRF check (DESIGN §4). */
	refused("DELETE", "/api/storage/a", cookie, 403, "FORBIDDEN");
}

static void
test_auth_admin(void **state)
{
	(void)state;
	refused("GET", "/api/agents", NULL, 401, "authentication required");
	refused("GET", "/api/agents/" AID, user_key, 403,
	    "this route needs an admin role");
	refused("POST", "/api/agents/enroll-tokens", user_key, 403,
	    "admin role");
	served("GET", "/api/agents", admin_key);
	assert_int_equal(seen.p.admin, 1);
	served("DELETE", "/api/agents/" AID "/tunnel", admin_key);
}

static void
test_auth_token(void **state)
{
	char *tok, *pkey, q[600];

	(void)state;
	/* Without a token, a user. */
	refused("GET", "/api/storage/a.txt", NULL, 401,
	    "authentication required");
	served("GET", "/api/storage/a.txt", user_key);
	assert_null(seen.tok_key);
	/* A token's MAC and expiry are checked here; the key by the handler. */
	refused("GET", "/api/storage/a.txt?token=abc.def", NULL, 401,
	    "invalid token");
	refused("GET", "/api/storage/a.txt?token=abc%00.def", NULL, 401,
	    "invalid token");
	pkey = key_physical(tid, "a.txt");
	assert_non_null(pkey);
	tok = tok_storage_sign(app.tok_key, pkey, tid, db_now() - 10);
	snprintf(q, sizeof(q), "/api/storage/a.txt?token=%s", tok);
	free(tok);
	refused("GET", q, NULL, 401, "token expired");
	tok = tok_storage_sign(app.tok_key, pkey, tid, db_now() + 60);
	snprintf(q, sizeof(q), "/api/storage/other.txt?token=%s", tok);
	free(tok);
	served("HEAD", q, NULL);
	assert_string_equal(seen.tok_key, pkey);
	assert_string_equal(seen.tok_tenant, tid);
	assert_int_equal(seen.p.via, AUTH_NONE);
	free(pkey);
	/* Only GET takes a token: PUT wants a user. */
	refused("PUT", q, NULL, 401, "authentication required");
}

static void
test_auth_agent(void **state)
{
	char bad[200];

	(void)state;
	refused("POST", "/api/agents/heartbeat", NULL, 401,
	    "agent credentials required");
	refused("POST", "/api/agents/heartbeat", user_key, 401,
	    "bad agent credentials");
	snprintf(bad, sizeof(bad), "HTTP_AUTHORIZATION=Bearer %s.fsa_wrong",
	    agent_id);
	refused("POST", "/api/agents/heartbeat", bad, 401,
	    "bad agent credentials");
	refused("POST", "/api/agents/heartbeat",
	    "HTTP_AUTHORIZATION=Bearer " AID ".fsa_x", 401,
	    "bad agent credentials");
	served("POST", "/api/agents/heartbeat", agent_cred);
	assert_string_equal(seen.agent_id, agent_id);
	assert_int_equal(seen.p.via, AUTH_NONE);
}

/* APP_LOCAL (GET /api/metrics): loopback REMOTE_ADDR, else an admin. */
static void
test_auth_local(void **state)
{
	static const char *const local[] = { "127.0.0.1", "127.9.8.7",
	    "::1", "::ffff:127.0.0.1" };
	static const char *const remote[] = { "192.0.2.1", "10.0.0.1",
	    "::ffff:192.0.2.1", "fe80::1", "::2", "0.0.0.0", "" };
	static const char *const proxied[] = { "HTTP_FORWARDED=for=x",
	    "HTTP_X_FORWARDED_FOR=127.0.0.1", "HTTP_X_REAL_IP=127.0.0.1",
	    "HTTP_CF_CONNECTING_IP=127.0.0.1",
	    "HTTP_TRUE_CLIENT_IP=127.0.0.1" };
	char ra[64], *envp[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/api/metrics", "REMOTE_ADDR=127.0.0.1", NULL, NULL };
	struct request r;
	const char *msg;
	size_t i;

	(void)state;
	app.cfg.metrics_loopback = 1;
	for (i = 0; i < nitems(local); i++) {
		snprintf(ra, sizeof(ra), "REMOTE_ADDR=%s", local[i]);
		served("GET", "/api/metrics", ra);
	}
	for (i = 0; i < nitems(remote); i++) {
		snprintf(ra, sizeof(ra), "REMOTE_ADDR=%s", remote[i]);
		refused("GET", "/api/metrics", ra, 401,
		    "authentication required");
	}
	refused("GET", "/api/metrics", NULL, 401, "authentication required");
	refused("GET", "/api/metrics", user_key, 403, "admin role");
	served("GET", "/api/metrics", admin_key);
	/* A proxy's forwarding header takes the exemption away. */
	for (i = 0; i < nitems(proxied); i++) {
		envp[3] = (char *)proxied[i];
		assert_int_equal(req_init(&r, envp, &msg), FS_OK);
		assert_false(app_is_local(&r));
		http_request_free(&r);
	}
	envp[3] = NULL;
	assert_int_equal(req_init(&r, envp, &msg), FS_OK);
	assert_true(app_is_local(&r));
	http_request_free(&r);
	/* METRICS_LOOPBACK=0: an admin always. */
	app.cfg.metrics_loopback = 0;
	refused("GET", "/api/metrics", "REMOTE_ADDR=127.0.0.1", 401,
	    "authentication required");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_hit),
		cmocka_unit_test(test_auth_public),
		cmocka_unit_test(test_auth_user),
		cmocka_unit_test(test_auth_admin),
		cmocka_unit_test(test_auth_token),
		cmocka_unit_test(test_auth_agent),
		cmocka_unit_test(test_auth_local),
	};

	return cmocka_run_group_tests_name("app", tests, setup_db,
	    teardown_db);
}
