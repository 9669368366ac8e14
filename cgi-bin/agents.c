/*
 * agents: enrollment and the tunnel of each agent (DESIGN §9).
 *
 *   POST   /api/agents/enroll           {token, name, allowedRoots} -> 201
 *					    {agentId, agentSecret}; no session:
 *					    the one-time token is the credential
 *   POST   /api/agents/enroll-tokens    (admin) {ttlSeconds?} -> 201
 *					    {token, expiresAt}
 *   GET    /api/agents                  (admin) {"items":[agent...]}
 *   GET    /api/agents/<id>             (admin) agent
 *   DELETE /api/agents/<id>             (admin) 204
 *   POST   /api/agents/<id>/tunnel      (admin) {hostname} -> {hostname,
 *					    enabled, signingKey}
 *   POST   /api/agents/<id>/tunnel/rotate (admin) -> {signingKey}
 *   DELETE /api/agents/<id>/tunnel      (admin) 204
 *   POST   /api/agents/heartbeat        (the agent: Bearer <id>.<secret>)
 *					    {tunnelHostname?, version, health}
 *
 * The signing key is made here, sealed under a key derived from
 * AUTH_SECRET, and shown exactly once: by enable and by rotate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "app.h"
#include "cry.h"
#include "db.h"

#define PREFIX		"/api/agents/"
#define BODY_MAX	(16 * 1024)

/* Read a JSON body (an empty body is {} when empty_ok). */
static int
read_body(struct request *r, int empty_ok, cJSON **body)
{
	const char *msg = NULL;
	enum fs_err e;

	*body = NULL;
	if (empty_ok && r->content_length <= 0) {
		*body = cJSON_CreateObject();
		if (*body == NULL) {
			http_error(r, FS_INTERNAL, NULL);
			return 0;
		}
		return 1;
	}
	e = http_read_json(r, BODY_MAX, body, &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
		return 0;
	}
	return 1;
}

/* Refuse members outside allowed (a NULL-terminated list). */
static int
fields_ok(struct request *r, const cJSON *body, const char *const *allowed)
{
	const cJSON *it;
	const char *const *p;

	cJSON_ArrayForEach(it, body) {
		for (p = allowed; *p != NULL; p++)
			if (strcmp(it->string, *p) == 0)
				break;
		if (*p == NULL) {
			http_error(r, FS_VALIDATION, "unknown field \"%.64s\"",
			    it->string);
			return 0;
		}
	}
	return 1;
}

static void
h_enroll(struct app *a, struct request *r, const struct app_caller *c)
{
	static const char *const allowed[] = { "token", "name",
	    "allowedRoots", NULL };
	cJSON *body = NULL, *j = NULL, *roots_arr = NULL;
	const cJSON *jt, *jn, *jr;
	char **roots = NULL, *roots_json = NULL, *secret = NULL, id[37];
	char err[256];
	size_t nroots = 0, i;
	enum fs_err e;

	if (!read_body(r, 0, &body) || !fields_ok(r, body, allowed))
		goto out;
	jt = cJSON_GetObjectItemCaseSensitive(body, "token");
	jn = cJSON_GetObjectItemCaseSensitive(body, "name");
	jr = cJSON_GetObjectItemCaseSensitive(body, "allowedRoots");
	if (!cJSON_IsString(jt) || jt->valuestring == NULL ||
	    jt->valuestring[0] == '\0') {
		http_error(r, FS_VALIDATION, "token must be a non-empty string");
		goto out;
	}
	if (!cJSON_IsString(jn) || !agent_name_ok(jn->valuestring)) {
		http_error(r, FS_VALIDATION, "name must be 1 to %d bytes of "
		    "UTF-8 without control characters", AGENT_NAME_MAX);
		goto out;
	}
	if (agent_roots_parse(jr, &roots, &nroots, err, sizeof(err)) == -1) {
		http_error(r, FS_VALIDATION, "%s", err);
		goto out;
	}
	/* Store the validated roots, re-serialized, never the input text. */
	roots_arr = cJSON_CreateArray();
	if (roots_arr == NULL)
		goto internal;
	for (i = 0; i < nroots; i++)
		if (!cJSON_AddItemToArray(roots_arr,
		    cJSON_CreateString(roots[i])))
			goto internal;
	roots_json = cJSON_PrintUnformatted(roots_arr);
	if (roots_json == NULL)
		goto internal;
	e = agent_enroll(a->db, jt->valuestring, jn->valuestring, roots_json,
	    id, &secret);
	if (e == FS_UNAUTHORIZED) {
		http_error(r, e, "enrollment token is invalid, expired or "
		    "already used");
		goto out;
	}
	if (e != FS_OK) {
		app_log(a, "enroll: %s", sqlite3_errmsg(a->db));
		goto internal;
	}
	app_log(a, "enrolled agent %s", id);
	j = cJSON_CreateObject();
	if (j == NULL)
		goto internal;
	cJSON_AddStringToObject(j, "agentId", id);
	cJSON_AddStringToObject(j, "agentSecret", secret);
	http_add_header(r, "Cache-Control", "no-store");
	http_json(r, 201, j);
	goto out;
internal:
	http_error(r, FS_INTERNAL, NULL);
out:
	if (secret != NULL) {
		cry_wipe(secret, strlen(secret));
		free(secret);
	}
	cJSON_free(roots_json);
	cJSON_Delete(roots_arr);
	agent_roots_free(roots, nroots);
	cJSON_Delete(body);
	cJSON_Delete(j);
}

static void
h_enroll_token(struct app *a, struct request *r, const struct app_caller *c)
{
	static const char *const allowed[] = { "ttlSeconds", NULL };
	cJSON *body = NULL, *j = NULL;
	const cJSON *jt;
	char *tok = NULL, err[256], when[32];
	long long ttl = AGENT_ENROLL_TTL, exp;

	if (!read_body(r, 1, &body) || !fields_ok(r, body, allowed))
		goto out;
	jt = cJSON_GetObjectItemCaseSensitive(body, "ttlSeconds");
	if (jt != NULL) {
		if (!cJSON_IsNumber(jt) || jt->valuedouble !=
		    floor(jt->valuedouble) || jt->valuedouble < 60 ||
		    jt->valuedouble > AGENT_ENROLL_TTL_MAX) {
			http_error(r, FS_VALIDATION, "ttlSeconds must be an "
			    "integer from 60 to %d", AGENT_ENROLL_TTL_MAX);
			goto out;
		}
		ttl = (long long)jt->valuedouble;
	}
	if (agent_enroll_token_create(a->db, c->p.tenant_id, ttl, &tok, &exp, err,
	    sizeof(err)) == -1) {
		app_log(a, "enroll token: %s", err);
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	db_iso8601(exp, when);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "token", tok);
	cJSON_AddStringToObject(j, "expiresAt", when);
	http_add_header(r, "Cache-Control", "no-store");
	http_json(r, 201, j);
out:
	if (tok != NULL) {
		cry_wipe(tok, strlen(tok));
		free(tok);
	}
	cJSON_Delete(body);
	cJSON_Delete(j);
}

static void
h_list(struct app *a, struct request *r, const struct app_caller *c)
{
	struct agent_row row;
	sqlite3_stmt *st = NULL;
	cJSON *j = NULL, *items, *it;
	int rc;

	if (r->nparams != 0) {
		http_error(r, FS_VALIDATION, "unknown parameter \"%.64s\"",
		    r->params[0].name);
		return;
	}
	st = agent_list_stmt(a->db, c->p.tenant_id);
	j = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(j, "items");
	if (st == NULL || items == NULL)
		goto internal;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (agent_row_from_stmt(st, &row) == -1)
			goto internal;
		it = agent_json(&row);
		agent_row_free(&row);
		if (it == NULL || !cJSON_AddItemToArray(items, it)) {
			cJSON_Delete(it);
			goto internal;
		}
	}
	if (rc != SQLITE_DONE)
		goto internal;
	http_add_header(r, "Cache-Control", "no-store");
	http_json(r, 200, j);
	goto out;
internal:
	app_log(a, "list agents: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	sqlite3_finalize(st);
	cJSON_Delete(j);
}

/*
 * Make a key, seal it for agent id and store it with hostname (NULL:
 * keep the stored one) and enabled = 1. On success *shown is the key's
 * base64url (malloc'd; caller wipes and frees). Returns 1 done, 0 when
 * the row is gone (or, for rotate, disabled), -1 on error.
 */
static int
store_new_key(struct app *a, const struct principal *p, const char *id,
    const char *hostname, char **shown)
{
	unsigned char kek[AGENT_KEY_LEN], key[AGENT_KEY_LEN];
	unsigned char sealed[AGENT_SEALED_LEN];
	sqlite3_stmt *st = NULL;
	int rc = -1;

	*shown = NULL;
	agent_kek(a->cfg.auth_secret, a->cfg.auth_secret_len, kek);
	if (cry_random(key, sizeof(key)) == -1 ||
	    agent_key_seal(kek, id, key, sealed) == -1)
		goto out;
	if (hostname != NULL) {
		if (sqlite3_prepare_v2(a->db, "UPDATE agents SET"
		    " tunnel_hostname = ?3, tunnel_key = ?4, tunnel_enabled = 1"
		    " WHERE id = ?1 AND tenant_id = ?2", -1, &st,
		    NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_text(st, 3, hostname, -1, SQLITE_TRANSIENT);
	} else {
		/* Rotate: only a tunnel that is on has a key to replace. */
		if (sqlite3_prepare_v2(a->db, "UPDATE agents SET"
		    " tunnel_key = ?4 WHERE id = ?1 AND tenant_id = ?2"
		    " AND tunnel_enabled = 1", -1, &st, NULL) != SQLITE_OK)
			goto out;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, p->tenant_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 4, sealed, sizeof(sealed), SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	if (sqlite3_changes(a->db) != 1) {
		rc = 0;
		goto out;
	}
	*shown = agent_key_encode(key);
	rc = *shown != NULL ? 1 : -1;
out:
	sqlite3_finalize(st);
	cry_wipe(kek, sizeof(kek));
	cry_wipe(key, sizeof(key));
	cry_wipe(sealed, sizeof(sealed));
	return rc;
}

static void
tunnel_enable(struct app *a, struct request *r, const struct principal *p,
    const char *id)
{
	static const char *const allowed[] = { "hostname", NULL };
	struct agent_row row;
	cJSON *body = NULL, *j = NULL;
	const cJSON *jh;
	char norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX], err[256];
	char *key = NULL;
	enum fs_err e;
	int rc;

	memset(&row, 0, sizeof(row));
	if (!read_body(r, 0, &body) || !fields_ok(r, body, allowed))
		goto out;
	jh = cJSON_GetObjectItemCaseSensitive(body, "hostname");
	if (!cJSON_IsString(jh)) {
		http_error(r, FS_VALIDATION, "hostname must be a string: a DNS "
		    "name or an origin http(s)://host[:port]");
		goto out;
	}
	if (agent_hostname_parse(jh->valuestring, norm, origin, err,
	    sizeof(err)) == -1) {
		http_error(r, FS_VALIDATION, "%s", err);
		goto out;
	}
	e = agent_load(a->db, p->tenant_id, id, &row);
	if (e != FS_OK) {
		http_error(r, e, e == FS_NOT_FOUND ? "no such agent" : NULL);
		goto out;
	}
	rc = store_new_key(a, p, id, norm, &key);
	if (rc == 0) {
		http_error(r, FS_NOT_FOUND, "no such agent");
		goto out;
	}
	if (rc == -1) {
		app_log(a, "tunnel enable: %s", sqlite3_errmsg(a->db));
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	app_log(a, "tunnel enabled for agent %s", id);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "hostname", norm);
	cJSON_AddStringToObject(j, "origin", origin);
	cJSON_AddBoolToObject(j, "enabled", 1);
	cJSON_AddStringToObject(j, "signingKey", key);
	http_add_header(r, "Cache-Control", "no-store");
	http_json(r, 200, j);
out:
	if (key != NULL) {
		cry_wipe(key, strlen(key));
		free(key);
	}
	agent_row_free(&row);
	cJSON_Delete(body);
	cJSON_Delete(j);
}

static void
tunnel_rotate(struct app *a, struct request *r, const struct principal *p,
    const char *id)
{
	struct agent_row row;
	cJSON *j = NULL;
	char *key = NULL;
	enum fs_err e;
	int rc;

	memset(&row, 0, sizeof(row));
	if (r->content_length > 0) {
		http_error(r, FS_VALIDATION, "rotate takes no body");
		goto out;
	}
	e = agent_load(a->db, p->tenant_id, id, &row);
	if (e != FS_OK) {
		http_error(r, e, e == FS_NOT_FOUND ? "no such agent" : NULL);
		goto out;
	}
	if (!row.enabled) {
		http_error(r, FS_CONFLICT, "tunnel is disabled for this agent");
		goto out;
	}
	rc = store_new_key(a, p, id, NULL, &key);
	if (rc == 0) {
		/* Disabled or deleted between the two statements. */
		http_error(r, FS_CONFLICT, "tunnel is disabled for this agent");
		goto out;
	}
	if (rc == -1) {
		app_log(a, "tunnel rotate: %s", sqlite3_errmsg(a->db));
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	app_log(a, "tunnel key rotated for agent %s", id);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "signingKey", key);
	http_add_header(r, "Cache-Control", "no-store");
	http_json(r, 200, j);
out:
	if (key != NULL) {
		cry_wipe(key, strlen(key));
		free(key);
	}
	agent_row_free(&row);
	cJSON_Delete(j);
}

/* Run one UPDATE/DELETE on agent id of p's tenant; 204 or 404. */
static void
exec_on_agent(struct app *a, struct request *r, const struct principal *p,
    const char *id, const char *sql, const char *what)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, p->tenant_id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto internal;
	if (sqlite3_changes(a->db) != 1) {
		http_error(r, FS_NOT_FOUND, "no such agent");
		goto out;
	}
	app_log(a, "%s: agent %s", what, id);
	http_status(r, 204);
	http_add_header(r, "Cache-Control", "no-store");
	http_begin(r);
	goto out;
internal:
	app_log(a, "%s: %s", what, sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	sqlite3_finalize(st);
}

static void
show_agent(struct app *a, struct request *r, const struct principal *p,
    const char *id)
{
	struct agent_row row;
	cJSON *j = NULL;
	enum fs_err e;

	e = agent_load(a->db, p->tenant_id, id, &row);
	if (e != FS_OK) {
		http_error(r, e, e == FS_NOT_FOUND ? "no such agent" : NULL);
		return;
	}
	j = agent_json(&row);
	agent_row_free(&row);
	if (j == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		return;
	}
	http_add_header(r, "Cache-Control", "no-store");
	http_json(r, 200, j);
	cJSON_Delete(j);
}

/*
 * The id of /api/agents/<id>[/tunnel[/rotate]]: 1, or 0 after answering
 * 404.
 */
static int
path_id(struct request *r, char id[37])
{
	const char *rest = r->path + strlen(PREFIX), *slash;
	size_t n;

	slash = strchr(rest, '/');
	n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	if (n != 36 || memchr(rest, '\0', n) != NULL ||
	    r->path_len != strlen(r->path)) {
		http_error(r, FS_NOT_FOUND, "no such agent");
		return 0;
	}
	memcpy(id, rest, 36);
	id[36] = '\0';
	if (!cry_is_uuid(id)) {
		http_error(r, FS_NOT_FOUND, "no such agent");
		return 0;
	}
	return 1;
}

/*
 * POST /api/agents/heartbeat: the agent itself, with
 * "Authorization: Bearer <agentId>.<agentSecret>". The secret is compared
 * by its SHA-256, in constant time, against the stored hash. Body
 * {tunnelHostname?, version, health}. A reported hostname is taken only
 * when it is one label under trycloudflare.com (a quick tunnel: it
 * replaces the stored hostname, so redirects follow the new URL) or when
 * it equals the stored one (a named tunnel); anything else is 422, so a
 * leaked agent secret cannot point downloads at an arbitrary host.
 * Every accepted heartbeat sets last_seen_at.
 */
static int
quick_host_ok(const char *h)
{
	static const char suffix[] = ".trycloudflare.com";
	size_t n = strlen(h), sl = sizeof(suffix) - 1, i;

	if (n <= sl || n > AGENT_HOST_MAX || strcmp(h + n - sl, suffix) != 0)
		return 0;
	/* One label: [a-z0-9-]+, and never the API host. */
	for (i = 0; i < n - sl; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '-'))
			return 0;
	return strncmp(h, "api.", 4) != 0 && h[0] != '-';
}

static void
h_heartbeat(struct app *a, struct request *r, const struct app_caller *c)
{
	static const char *const allowed[] = { "tunnelHostname", "version",
	    "health", NULL };
	sqlite3_stmt *st = NULL;
	cJSON *body = NULL, *j = NULL;
	const cJSON *jh, *jv, *jhe;
	const char *id = c->agent_id, *stored;
	char norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX];
	char snorm[AGENT_ORIGIN_MAX], sorigin[AGENT_ORIGIN_MAX], err[256];
	int update_host = 0;

	if (sqlite3_prepare_v2(a->db, "SELECT tunnel_hostname FROM agents"
	    " WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		/* Deleted since app_dispatch() checked the secret. */
		http_error(r, FS_UNAUTHORIZED, "bad agent credentials");
		goto out;
	}
	if (!read_body(r, 0, &body) || !fields_ok(r, body, allowed))
		goto out;
	jh = cJSON_GetObjectItemCaseSensitive(body, "tunnelHostname");
	jv = cJSON_GetObjectItemCaseSensitive(body, "version");
	jhe = cJSON_GetObjectItemCaseSensitive(body, "health");
	if (!cJSON_IsString(jv) || strlen(jv->valuestring) > 64 ||
	    (jhe != NULL && !cJSON_IsString(jhe) && !cJSON_IsObject(jhe))) {
		http_error(r, FS_VALIDATION, "version must be a string (at most "
		    "64 bytes) and health a string or an object");
		goto out;
	}
	if (jh != NULL && !cJSON_IsNull(jh)) {
		if (!cJSON_IsString(jh) || agent_hostname_parse(jh->valuestring,
		    norm, origin, err, sizeof(err)) == -1) {
			http_error(r, FS_VALIDATION, "tunnelHostname: %s",
			    cJSON_IsString(jh) ? err : "must be a string");
			goto out;
		}
		stored = (const char *)sqlite3_column_text(st, 0);
		if (quick_host_ok(norm))
			update_host = 1;
		else if (stored == NULL || agent_hostname_parse(stored, snorm,
		    sorigin, err, sizeof(err)) == -1 ||
		    strcmp(sorigin, origin) != 0) {
			http_error(r, FS_VALIDATION, "tunnelHostname must be a "
			    "quick tunnel under trycloudflare.com or the "
			    "hostname configured for this agent");
			goto out;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(a->db, update_host ?
	    "UPDATE agents SET last_seen_at = ?2, tunnel_hostname = ?3"
	    " WHERE id = ?1" :
	    "UPDATE agents SET last_seen_at = ?2 WHERE id = ?1", -1, &st,
	    NULL) != SQLITE_OK)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	if (update_host)
		sqlite3_bind_text(st, 3, norm, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto internal;
	if (update_host)
		app_log(a, "agent %s: quick tunnel now %s", id, norm);
	j = cJSON_CreateObject();
	if (j == NULL)
		goto internal;
	cJSON_AddBoolToObject(j, "ok", 1);
	if (update_host)
		cJSON_AddStringToObject(j, "tunnelHostname", norm);
	http_add_header(r, "Cache-Control", "no-store");
	http_json(r, 200, j);
	goto out;
internal:
	app_log(a, "heartbeat: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	sqlite3_finalize(st);
	cJSON_Delete(body);
	cJSON_Delete(j);
}

/*
 * The routes on one agent (routes.h). The pattern matched one segment;
 * it must still be an agent id.
 */
static void
h_agent(struct app *a, struct request *r, const struct app_caller *c)
{
	char id[37];

	if (!path_id(r, id))
		return;
	switch (c->route) {
	case ROUTE_AGENT:
		show_agent(a, r, &c->p, id);
		break;
	case ROUTE_AGENT_DELETE:
		exec_on_agent(a, r, &c->p, id, "DELETE FROM agents WHERE id = ?1"
		    " AND tenant_id = ?2", "agent deleted");
		break;
	case ROUTE_TUNNEL:
		tunnel_enable(a, r, &c->p, id);
		break;
	case ROUTE_TUNNEL_OFF:
		/* The key goes too: a later enable makes a new one. */
		exec_on_agent(a, r, &c->p, id, "UPDATE agents SET"
		    " tunnel_enabled = 0, tunnel_key = NULL WHERE id = ?1"
		    " AND tenant_id = ?2", "tunnel disabled");
		break;
	default:
		tunnel_rotate(a, r, &c->p, id);
		break;
	}
}

static const app_handler serve[ROUTE__MAX] = {
	[ROUTE_AGENTS] = h_list,
	[ROUTE_ENROLL] = h_enroll,
	[ROUTE_ENROLL_TOKEN] = h_enroll_token,
	[ROUTE_HEARTBEAT] = h_heartbeat,
	[ROUTE_AGENT] = h_agent,
	[ROUTE_AGENT_DELETE] = h_agent,
	[ROUTE_TUNNEL] = h_agent,
	[ROUTE_TUNNEL_OFF] = h_agent,
	[ROUTE_TUNNEL_ROTATE] = h_agent,
};

int
main(int argc, char *argv[])
{
	return app_main("agents", argc, argv, serve, 0);
}
