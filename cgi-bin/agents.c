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
#include "agent_http.h"
#include "api.h"
#include "app.h"
#include "cry.h"
#include "db.h"
#include "rcli.h"

#define PREFIX		"/api/agents/"
#define BODY_MAX	(16 * 1024)

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

	body = api_body(r, BODY_MAX, 0, allowed, "");
	if (body == NULL)
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
		app_log(a, "enroll: %s", db_errmsg(a->db));
		goto internal;
	}
	app_log(a, "enrolled agent %s", id);
	app_audit(r, "agent-enroll", id, NULL);
	j = cJSON_CreateObject();
	if (j == NULL)
		goto internal;
	cJSON_AddStringToObject(j, "agentId", id);
	cJSON_AddStringToObject(j, "agentSecret", secret);
	api_nostore_json(r, 201, j);
	goto out;
internal:
	http_error(r, FS_INTERNAL, NULL);
out:
	cry_wipe_str(secret);
	cJSON_free(roots_json);
	cJSON_Delete(roots_arr);
	agent_roots_free(roots, nroots);
	cJSON_Delete(body);
	cJSON_Delete(j);
}

static void
h_enroll_token(struct app *a, struct request *r,
    const struct app_caller *c)
{
	static const char *const allowed[] = { "ttlSeconds", NULL };
	const struct principal *p = &c->p;
	cJSON *body = NULL, *j = NULL;
	const cJSON *jt;
	char *tok = NULL, err[256], when[32];
	long long ttl = AGENT_ENROLL_TTL, exp;

	body = api_body(r, BODY_MAX, 1, allowed, "");
	if (body == NULL)
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
	if (agent_enroll_token_create(a->db, p->tenant_id, ttl, &tok, &exp, err,
	    sizeof(err)) == -1) {
		app_log(a, "enroll token: %s", err);
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	app_audit(r, "enroll-token-create", NULL, NULL);
	db_iso8601(exp, when);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "token", tok);
	cJSON_AddStringToObject(j, "expiresAt", when);
	api_nostore_json(r, 201, j);
out:
	cry_wipe_str(tok);
	cJSON_Delete(body);
	cJSON_Delete(j);
}

/* Add agent a's API form to the items array arg. 0 or -1. */
static int
add_agent(void *arg, const struct agent_row *a)
{
	cJSON *it = agent_json(a);

	if (it == NULL || !cJSON_AddItemToArray(arg, it)) {
		cJSON_Delete(it);
		return -1;
	}
	return 0;
}

static void
h_list(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	cJSON *j, *items;

	if (r->nparams != 0) {
		http_error(r, FS_VALIDATION, "unknown parameter \"%.64s\"",
		    r->params[0].name);
		return;
	}
	j = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(j, "items");
	if (items == NULL ||
	    agent_each(a->db, p->tenant_id, add_agent, items) == -1) {
		app_db_error(a, r, "list agents");
	} else {
		api_nostore_json(r, 200, j);
	}
	cJSON_Delete(j);
}

/*
 * Make a key, seal it for agent id and store it with hostname (NULL:
 * rotate, keep the stored one). Returns the key's base64url (malloc'd;
 * caller wipes and frees), or NULL after answering: gone when the row
 * is gone (or, for rotate, disabled), 500 on error (logged as what).
 */
static char *
new_key(struct app *a, struct request *r, const struct principal *p,
    const char *id, const char *hostname, enum fs_err gone, const char *what)
{
	unsigned char key[AGENT_KEY_LEN];
	unsigned char sealed[AGENT_SEALED_LEN];
	char *shown = NULL;
	int rc = -1;

	if (cry_random(key, sizeof(key)) == 0 &&
	    agent_key_seal(a->agent_kek, id, key, sealed) == 0)
		rc = agent_key_store(a->db, p->tenant_id, id, hostname, sealed);
	if (rc == 1)
		shown = agent_key_encode(key);
	if (rc == 0)
		http_error(r, gone, gone == FS_NOT_FOUND ? "no such agent" :
		    "tunnel is disabled for this agent");
	else if (shown == NULL) {
		app_db_error(a, r, what);
	}
	cry_wipe(key, sizeof(key));
	cry_wipe(sealed, sizeof(sealed));
	return shown;
}

/* Answer 200 with j and the new signing key; frees both. */
static void
key_reply(struct request *r, cJSON *j, char *key)
{
	cJSON_AddStringToObject(j, "signingKey", key);
	api_nostore_json(r, 200, j);
	cJSON_Delete(j);
	cry_wipe_str(key);
}

static void
tunnel_enable(struct app *a, struct request *r, const struct principal *p,
    const char *id)
{
	static const char *const allowed[] = { "hostname", NULL };
	struct agent_row row;
	cJSON *body = NULL, *j;
	const cJSON *jh;
	char norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX], err[256];
	char *key;
	enum fs_err e;

	memset(&row, 0, sizeof(row));
	body = api_body(r, BODY_MAX, 0, allowed, "");
	if (body == NULL)
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
	key = new_key(a, r, p, id, norm, FS_NOT_FOUND, "tunnel enable");
	if (key == NULL)
		goto out;
	app_log(a, "tunnel enabled for agent %s", id);
	app_audit(r, "tunnel-enable", id, norm);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "hostname", norm);
	cJSON_AddStringToObject(j, "origin", origin);
	cJSON_AddBoolToObject(j, "enabled", 1);
	key_reply(r, j, key);
out:
	agent_row_free(&row);
	cJSON_Delete(body);
}

static void
tunnel_rotate(struct app *a, struct request *r, const struct principal *p,
    const char *id)
{
	struct agent_row row;
	char *key;
	enum fs_err e;

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
	/* 409 also when disabled or deleted between the two statements. */
	key = new_key(a, r, p, id, NULL, FS_CONFLICT, "tunnel rotate");
	if (key == NULL)
		goto out;
	app_log(a, "tunnel key rotated for agent %s", id);
	app_audit(r, "tunnel-rotate", id, NULL);
	key_reply(r, cJSON_CreateObject(), key);
out:
	agent_row_free(&row);
}

/* Answer a delete or disable of agent id: rc 1 is 204, 0 is 404. what
   says it in the log, action in the access log. */
static void
agent_changed(struct app *a, struct request *r, const char *id, int rc,
    const char *what, const char *action)
{
	if (rc == -1) {
		app_db_error(a, r, what);
		return;
	}
	if (rc == 0) {
		http_error(r, FS_NOT_FOUND, "no such agent");
		return;
	}
	app_log(a, "%s: agent %s", what, id);
	app_audit(r, action, id, NULL);
	http_status(r, 204);
	http_add_header(r, "Cache-Control", "no-store");
	http_begin(r);
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
	api_nostore_json(r, 200, j);
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

/*
 * The reported tunnel hostname jh against the stored one: 1 with the
 * new hostname in norm (a quick tunnel), 0 to keep the stored one, -1
 * after answering 422.
 */
static int
heartbeat_host(struct request *r, const cJSON *jh, const char *stored,
    char norm[AGENT_ORIGIN_MAX])
{
	char origin[AGENT_ORIGIN_MAX], snorm[AGENT_ORIGIN_MAX];
	char sorigin[AGENT_ORIGIN_MAX], err[256];

	if (jh == NULL || cJSON_IsNull(jh))
		return 0;
	if (!cJSON_IsString(jh) || agent_hostname_parse(jh->valuestring,
	    norm, origin, err, sizeof(err)) == -1) {
		http_error(r, FS_VALIDATION, "tunnelHostname: %s",
		    cJSON_IsString(jh) ? err : "must be a string");
		return -1;
	}
	if (quick_host_ok(norm))
		return 1;
	if (stored == NULL || agent_hostname_parse(stored, snorm, sorigin,
	    err, sizeof(err)) == -1 || strcmp(sorigin, origin) != 0) {
		http_error(r, FS_VALIDATION, "tunnelHostname must be a quick "
		    "tunnel under trycloudflare.com or the hostname configured "
		    "for this agent");
		return -1;
	}
	return 0;
}

static void
h_heartbeat(struct app *a, struct request *r, const struct app_caller *c)
{
	static const char *const allowed[] = { "tunnelHostname", "version",
	    "health", NULL };
	cJSON *body = NULL, *j = NULL;
	const cJSON *jv, *jhe;
	const char *id = c->agent_id;
	char norm[AGENT_ORIGIN_MAX], *stored = NULL;
	int update_host;

	update_host = agent_tunnel_hostname(a->db, id, &stored);
	if (update_host == -1)
		goto internal;
	if (update_host == 0) {
		/* Deleted since app_dispatch() checked the secret. */
		http_error(r, FS_UNAUTHORIZED, "bad agent credentials");
		goto out;
	}
	body = api_body(r, BODY_MAX, 0, allowed, "");
	if (body == NULL)
		goto out;
	jv = cJSON_GetObjectItemCaseSensitive(body, "version");
	jhe = cJSON_GetObjectItemCaseSensitive(body, "health");
	if (!cJSON_IsString(jv) || strlen(jv->valuestring) > 64 ||
	    (jhe != NULL && !cJSON_IsString(jhe) && !cJSON_IsObject(jhe))) {
		http_error(r, FS_VALIDATION, "version must be a string (at most "
		    "64 bytes) and health a string or an object");
		goto out;
	}
	update_host = heartbeat_host(r, cJSON_GetObjectItemCaseSensitive(body,
	    "tunnelHostname"), stored, norm);
	if (update_host == -1)
		goto out;
	if (agent_seen(a->db, id, (long long)time(NULL), update_host ? norm :
	    NULL) == -1)
		goto internal;
	if (update_host)
		app_log(a, "agent %s: quick tunnel now %s", id, norm);
	j = cJSON_CreateObject();
	if (j == NULL)
		goto internal;
	cJSON_AddBoolToObject(j, "ok", 1);
	if (update_host)
		cJSON_AddStringToObject(j, "tunnelHostname", norm);
	api_nostore_json(r, 200, j);
	goto out;
internal:
	app_db_error(a, r, "heartbeat");
out:
	free(stored);
	cJSON_Delete(body);
	cJSON_Delete(j);
}

/*
 * GET /api/agents/<id>/files?path=&cursor=&limit=: a directory of the
 * agent, listed by the agent over its WebSocket (docs/relay.md). The
 * permission is a download's (agent_read_allowed); path "" (or none)
 * lists the allowed roots. The cursor is the last name, base64url.
 */
static void
list_files(struct app *a, struct request *r, const struct principal *p,
    const char *id)
{
	static const char *const also[] = { "path", NULL };
	const struct http_param *pp;
	struct agent_row row;
	struct rcli *c = NULL;
	unsigned char *cur = NULL;
	const char *path = "";
	cJSON *req = NULL, *head = NULL, *j = NULL, *items;
	long long limit;
	size_t curlen = 0;

	memset(&row, 0, sizeof(row));
	if (!api_page_params(r, also, RP_LIST_MAX, RP_LIST_DEFAULT, &limit) ||
	    !api_page_cursor(r, &cur, &curlen))
		goto out;
	pp = http_param(r, "path");
	if (pp != NULL)
		path = pp->value;
	if (pp != NULL && path[0] != '\0' && (strlen(path) != pp->value_len ||
	    !agent_path_ok(path, pp->value_len))) {
		http_error(r, FS_VALIDATION, "path must be empty (the roots) "
		    "or absolute and normalized: no \"..\", \".\", \"//\", "
		    "trailing \"/\", control bytes or backslash");
		goto out;
	}
	if (cur != NULL && (curlen == 0 || curlen > 255 ||
	    strlen((char *)cur) != curlen)) {
		api_page_bad_cursor(r);
		goto out;
	}
	if (!agent_read_allowed(a, r, p, id, path, &row))
		goto out;
	req = cJSON_CreateObject();
	if (req == NULL || cJSON_AddStringToObject(req, "op", "list") == NULL ||
	    cJSON_AddStringToObject(req, "path", path) == NULL ||
	    cJSON_AddNumberToObject(req, "limit", (double)limit) == NULL ||
	    (cur != NULL && cJSON_AddStringToObject(req, "cursor",
	    (char *)cur) == NULL)) {
		cJSON_Delete(req);
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	if (rcli_ask(a, r, &row, req, &c, &head) == -1)
		goto out;
	items = cJSON_DetachItemFromObjectCaseSensitive(head, "items");
	j = cJSON_CreateObject();
	if (!cJSON_IsArray(items) || j == NULL) {
		cJSON_Delete(items);
		app_log(a, "agent %s: a listing without items", id);
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	cJSON_AddItemToObject(j, "items", items);
	http_add_header(r, "Cache-Control", "private, no-store");
	api_page_reply(r, j, rp_str(head, "nextCursor"));
out:
	cJSON_Delete(j);
	cJSON_Delete(head);
	rcli_close(c);
	agent_row_free(&row);
	free(cur);
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
		agent_changed(a, r, id, agent_delete(a->db, c->p.tenant_id,
		    id), "agent deleted", "agent-delete");
		break;
	case ROUTE_TUNNEL:
		tunnel_enable(a, r, &c->p, id);
		break;
	case ROUTE_AGENT_FILES:
		list_files(a, r, &c->p, id);
		break;
	case ROUTE_TUNNEL_OFF:
		agent_changed(a, r, id, agent_tunnel_disable(a->db,
		    c->p.tenant_id, id), "tunnel disabled", "tunnel-disable");
		break;
	default:
		tunnel_rotate(a, r, &c->p, id);
		break;
	}
}

APP_MAIN("agents", 0,
    [ROUTE_AGENTS] = h_list,
    [ROUTE_ENROLL] = h_enroll,
    [ROUTE_ENROLL_TOKEN] = h_enroll_token,
    [ROUTE_HEARTBEAT] = h_heartbeat,
    [ROUTE_AGENT] = h_agent,
    [ROUTE_AGENT_DELETE] = h_agent,
    [ROUTE_TUNNEL] = h_agent,
    [ROUTE_TUNNEL_OFF] = h_agent,
    [ROUTE_TUNNEL_ROTATE] = h_agent,
    [ROUTE_AGENT_FILES] = h_agent)
