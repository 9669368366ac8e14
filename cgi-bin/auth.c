/*
 * auth: POST /api/auth/login, POST /api/auth/logout, GET /api/auth/me.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "cry.h"
#include "db.h"
#include "metrics.h"

#define LOGIN_BODY_MAX	(16 * 1024)

/* {"user":{..},"tenant":{..},"role":{..}}; caller deletes. */
static cJSON *
principal_json(struct app *a, const struct principal *p)
{
	cJSON *j, *o;
	char name[256];

	j = cJSON_CreateObject();
	o = cJSON_AddObjectToObject(j, "user");
	cJSON_AddStringToObject(o, "id", p->user_id);
	cJSON_AddStringToObject(o, "email", p->email);
	auth_tenant_name(a->db, p->tenant_id, name, sizeof(name));
	o = cJSON_AddObjectToObject(j, "tenant");
	cJSON_AddStringToObject(o, "id", p->tenant_id);
	cJSON_AddStringToObject(o, "name", name);
	o = cJSON_AddObjectToObject(j, "role");
	cJSON_AddStringToObject(o, "id", p->role_id);
	cJSON_AddStringToObject(o, "name", p->role_name);
	cJSON_AddBoolToObject(o, "admin", p->admin);
	cJSON_AddStringToObject(j, "via",
	    p->via == AUTH_APIKEY ? "apikey" : "session");
	return j;
}

/* A required string member; NULL after answering 422. */
static const char *
body_string(struct request *r, const cJSON *body, const char *name,
    int required, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);

	if (v == NULL || cJSON_IsNull(v)) {
		if (required)
			http_error(r, FS_VALIDATION, "%s is required", name);
		return NULL;
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL ||
	    strlen(v->valuestring) == 0 || strlen(v->valuestring) > max) {
		http_error(r, FS_VALIDATION, "%s must be a string of 1 to %zu "
		    "bytes", name, max);
		return NULL;
	}
	return v->valuestring;
}

static void
h_login(struct app *a, struct request *r, const struct app_caller *c)
{
	struct principal p;
	struct auth_limits lim = { a->cfg.login_max_user,
	    a->cfg.login_max_addr, a->cfg.login_window };
	cJSON *body = NULL, *j = NULL;
	const char *msg = NULL, *email, *pw, *tid = NULL, *addr;
	char *token = NULL;
	long long retry = 0;
	enum fs_err e;

	e = http_read_json(r, LOGIN_BODY_MAX, &body, &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
		goto out;
	}
	email = body_string(r, body, "email", 1, 254);
	if (email == NULL)
		goto out;
	pw = body_string(r, body, "password", 1, 1024);
	if (pw == NULL)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(body, "tenantId") != NULL &&
	    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(body, "tenantId"))) {
		tid = body_string(r, body, "tenantId", 0, 36);
		if (tid == NULL)
			goto out;
		if (!cry_is_uuid(tid)) {
			http_error(r, FS_VALIDATION, "tenantId must be a UUID");
			goto out;
		}
	}
	/*
	 * Throttle before the password hash is computed, so that a locked
	 * scope costs no scrypt. The same answer whether or not the email
	 * exists.
	 */
	addr = http_env(r, "REMOTE_ADDR");
	e = auth_login_allowed(a->db, &lim, email, tid, addr, &retry);
	if (e == FS_TOO_MANY) {
		metrics_inc(METRIC_RATE_LIMITED_LOGIN);
		http_add_headerf(r, "Retry-After", "%lld", retry);
		http_error(r, e, "too many failed logins; try again in %lld "
		    "seconds", retry);
		goto out;
	}
	if (e != FS_OK) {
		app_log(a, "login: %s", sqlite3_errmsg(a->db));
		http_error(r, e, NULL);
		goto out;
	}
	e = auth_login(a->db, email, pw, tid, a->cfg.session_ttl, &token, &p,
	    &msg);
	if ((e == FS_OK || e == FS_UNAUTHORIZED) &&
	    auth_login_note(a->db, &lim, email, tid, addr, e == FS_OK) == -1)
		app_log(a, "login: cannot count the attempt: %s",
		    sqlite3_errmsg(a->db));
	if (e == FS_UNAUTHORIZED)
		metrics_inc(METRIC_LOGIN_FAILURES);
	if (e != FS_OK) {
		if (e == FS_INTERNAL)
			app_log(a, "login: %s", sqlite3_errmsg(a->db));
		http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
		goto out;
	}
	http_add_headerf(r, "Set-Cookie", "%s=%s; HttpOnly; SameSite=Lax; "
	    "Path=/; Max-Age=%lld%s", AUTH_COOKIE, token, a->cfg.session_ttl,
	    a->cfg.cookie_secure ? "; Secure" : "");
	http_add_header(r, "Cache-Control", "no-store");
	app_audit(r, "login", p.user_id, "session");
	j = principal_json(a, &p);
	http_json(r, 200, j);
out:
	cry_wipe_str(token);
	cJSON_Delete(j);
	cJSON_Delete(body);
}

static void
h_logout(struct app *a, struct request *r, const struct app_caller *c)
{
	struct principal p;
	const char *msg = NULL;
	char *cookie;
	enum fs_err e;

	/*
	 * A cookie logout is state-changing: it passes the CSRF check. The
	 * route is public (a bad or expired session still logs out), so
	 * that check is made here.
	 */
	e = auth_resolve(a->db, r, &p, &msg);
	if (e == FS_FORBIDDEN || e == FS_INTERNAL) {
		http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
		return;
	}
	cookie = http_cookie(r, AUTH_COOKIE);
	if (cookie != NULL) {
		auth_logout(a->db, cookie);
		free(cookie);
		app_audit(r, "logout", p.via != AUTH_NONE ? p.user_id : NULL,
		    NULL);
	}
	http_add_headerf(r, "Set-Cookie", "%s=; HttpOnly; SameSite=Lax; "
	    "Path=/; Max-Age=0%s", AUTH_COOKIE,
	    a->cfg.cookie_secure ? "; Secure" : "");
	http_add_header(r, "Cache-Control", "no-store");
	http_status(r, 204);
	http_begin(r);
}

static void
h_me(struct app *a, struct request *r, const struct app_caller *c)
{
	cJSON *j;

	j = principal_json(a, &c->p);
	api_nostore_json(r, 200, j);
	cJSON_Delete(j);
}

APP_MAIN("auth", 0,
    [ROUTE_LOGIN] = h_login,
    [ROUTE_LOGOUT] = h_logout,
    [ROUTE_ME] = h_me)
