/*
 * agent_db: rows of agents and agent_enroll_tokens (sql/0003-agents.sql).
 * Secrets are stored as SHA-256 hashes; the plaintext is shown once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cry.h"
#include "db.h"

#define ENROLL_PREFIX	"fse_"
#define SECRET_PREFIX	"fsa_"
#define SECRET_BYTES	32
#define TOKEN_MAX	128	/* bytes of an enrollment token we look at */

#define AGENT_COLS	"id, tenant_id, name, allowed_roots, tunnel_hostname," \
			" tunnel_key, tunnel_enabled, created_at, last_seen_at," \
			" (SELECT relay FROM agent_relays r" \
			" WHERE r.agent_id = agents.id)"

int
agent_enroll_token_create(struct db *db, const char *tenant_id, long long ttl,
    char **token, long long *expires_at, char *err, size_t errlen)
{
	unsigned char h[CRY_SHA256_LEN];
	struct db_stmt *st = NULL;
	char *tok = NULL;
	long long now = db_now();
	int rc = -1;

	*token = NULL;
	if (ttl < 60 || ttl > AGENT_ENROLL_TTL_MAX) {
		snprintf(err, errlen, "ttl must be 60 to %d seconds",
		    AGENT_ENROLL_TTL_MAX);
		goto out;
	}
	tok = cry_token(ENROLL_PREFIX, SECRET_BYTES);
	if (tok == NULL) {
		snprintf(err, errlen, "out of memory or randomness");
		goto out;
	}
	cry_sha256(tok, strlen(tok), h);
	if (db_prepare(db, "INSERT INTO agent_enroll_tokens"
	    " (token_hash, tenant_id, created_at, expires_at)"
	    " SELECT ?1, id, ?3, ?4 FROM tenants WHERE id = ?2", &st) != DB_OK)
		goto dberr;
	db_bind_blob(st, 1, h, sizeof(h));
	db_bind_text(st, 2, tenant_id, -1);
	db_bind_int64(st, 3, now);
	db_bind_int64(st, 4, now + ttl);
	if (db_step(st) != DB_DONE)
		goto dberr;
	if (db_changes(db) != 1) {
		snprintf(err, errlen, "no such tenant");
		goto out;
	}
	*token = tok;
	tok = NULL;
	if (expires_at != NULL)
		*expires_at = now + ttl;
	rc = 0;
	goto out;
dberr:
	snprintf(err, errlen, "database: %s", db_errmsg(db));
out:
	db_finalize(st);
	free(tok);
	return rc;
}

enum fs_err
agent_enroll(struct db *db, const char *token, const char *name,
    const char *roots_json, char id[37], char **secret)
{
	unsigned char th[CRY_SHA256_LEN], sh[CRY_SHA256_LEN];
	struct db_stmt *st = NULL;
	char tenant[37], *sec = NULL;
	long long now = db_now();
	enum fs_err e = FS_INTERNAL;
	int began = 0;

	*secret = NULL;
	if (token == NULL || strnlen(token, TOKEN_MAX + 1) > TOKEN_MAX ||
	    strncmp(token, ENROLL_PREFIX, strlen(ENROLL_PREFIX)) != 0) {
		e = FS_UNAUTHORIZED;
		goto out;
	}
	cry_sha256(token, strlen(token), th);
	if (cry_uuid(id) == -1)
		goto out;
	sec = cry_token(SECRET_PREFIX, SECRET_BYTES);
	if (sec == NULL)
		goto out;
	cry_sha256(sec, strlen(sec), sh);
	if (db_begin(db) != DB_OK)
		goto out;
	began = 1;
	/*
	 * Spend the token inside the write transaction: two enrollments
	 * racing on one token serialize here, and only one sees used_at
	 * still NULL.
	 */
	if (db_prepare(db, "UPDATE agent_enroll_tokens SET used_at = ?2"
	    " WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2"
	    " RETURNING tenant_id", &st) != DB_OK)
		goto out;
	db_bind_blob(st, 1, th, sizeof(th));
	db_bind_int64(st, 2, now);
	switch (db_step(st)) {
	case DB_ROW:
		snprintf(tenant, sizeof(tenant), "%s",
		    (const char *)db_col_text(st, 0));
		break;
	case DB_DONE:
		e = FS_UNAUTHORIZED;
		goto out;
	default:
		goto out;
	}
	db_finalize(st);
	st = NULL;
	if (db_prepare(db, "INSERT INTO agents (id, tenant_id, name,"
	    " secret_hash, allowed_roots, created_at, last_seen_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", &st) != DB_OK)
		goto out;
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, tenant, -1);
	db_bind_text(st, 3, name, -1);
	db_bind_blob(st, 4, sh, sizeof(sh));
	db_bind_text(st, 5, roots_json, -1);
	db_bind_int64(st, 6, now);
	if (db_step(st) != DB_DONE)
		goto out;
	db_finalize(st);
	st = NULL;
	if (db_prepare(db, "UPDATE agent_enroll_tokens SET agent_id = ?2"
	    " WHERE token_hash = ?1", &st) != DB_OK)
		goto out;
	db_bind_blob(st, 1, th, sizeof(th));
	db_bind_text(st, 2, id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	db_finalize(st);
	st = NULL;
	if (db_commit(db) != DB_OK)
		goto out;
	began = 0;
	*secret = sec;
	sec = NULL;
	e = FS_OK;
out:
	db_finalize(st);
	if (began)
		db_rollback(db);
	cry_wipe_str(sec);
	return e;
}

void
agent_row_free(struct agent_row *a)
{
	if (a == NULL)
		return;
	free(a->name);
	free(a->roots_json);
	free(a->hostname);
	free(a->relay);
	cry_wipe(a->sealed, sizeof(a->sealed));
	memset(a, 0, sizeof(*a));
}

static char *
col_dup(struct db_stmt *st, int i)
{
	const unsigned char *t = db_col_text(st, i);

	return t != NULL ? strdup((const char *)t) : NULL;
}

static int
agent_row_from_stmt(struct db_stmt *st, struct agent_row *a)
{
	const void *blob;

	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s",
	    (const char *)db_col_text(st, 0));
	snprintf(a->tenant_id, sizeof(a->tenant_id), "%s",
	    (const char *)db_col_text(st, 1));
	a->name = col_dup(st, 2);
	a->roots_json = col_dup(st, 3);
	if (a->name == NULL || a->roots_json == NULL)
		goto fail;
	if (db_col_type(st, 4) != DB_NULL) {
		a->hostname = col_dup(st, 4);
		if (a->hostname == NULL)
			goto fail;
	}
	blob = db_col_blob(st, 5);
	if (blob != NULL && db_col_bytes(st, 5) == AGENT_SEALED_LEN) {
		memcpy(a->sealed, blob, AGENT_SEALED_LEN);
		a->has_key = 1;
	}
	a->enabled = db_col_int(st, 6) != 0;
	a->created_at = db_col_int64(st, 7);
	a->last_seen_at = db_col_type(st, 8) == DB_NULL ? -1 :
	    db_col_int64(st, 8);
	if (db_col_type(st, 9) != DB_NULL) {
		a->relay = col_dup(st, 9);
		if (a->relay == NULL)
			goto fail;
	}
	return 0;
fail:
	agent_row_free(a);
	return -1;
}

enum fs_err
agent_load(struct db *db, const char *tenant_id, const char *id,
    struct agent_row *a)
{
	struct db_stmt *st = NULL;
	enum fs_err e = FS_INTERNAL;

	memset(a, 0, sizeof(*a));
	/* Every file-content request runs this: a cached statement. */
	st = db_stmt(db, "SELECT " AGENT_COLS " FROM agents"
	    " WHERE id = ? AND tenant_id = ?");
	if (st == NULL)
		goto out;
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, tenant_id, -1);
	switch (db_step(st)) {
	case DB_ROW:
		if (agent_row_from_stmt(st, a) == 0)
			e = FS_OK;
		break;
	case DB_DONE:
		/* Another tenant's agent is as missing as no agent. */
		e = FS_NOT_FOUND;
		break;
	default:
		break;
	}
out:
	db_stmt_done(st);
	return e;
}

int
agent_each(struct db *db, const char *tenant_id,
    int (*fn)(void *, const struct agent_row *), void *arg)
{
	struct agent_row a;
	struct db_stmt *st = NULL;
	int rc, ret = -1;

	if (db_prepare(db, "SELECT " AGENT_COLS " FROM agents"
	    " WHERE tenant_id = ? ORDER BY created_at, id", &st) != DB_OK)
		return -1;
	db_bind_text(st, 1, tenant_id, -1);
	while ((rc = db_step(st)) == DB_ROW) {
		if (agent_row_from_stmt(st, &a) == -1)
			goto out;
		rc = fn(arg, &a);
		agent_row_free(&a);
		if (rc == -1)
			goto out;
	}
	if (rc == DB_DONE)
		ret = 0;
out:
	db_finalize(st);
	return ret;
}

cJSON *
agent_json(const struct agent_row *a)
{
	char norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX], err[160];
	char when[32];
	cJSON *j, *t, *roots;

	j = cJSON_CreateObject();
	if (j == NULL)
		return NULL;
	cJSON_AddStringToObject(j, "id", a->id);
	cJSON_AddStringToObject(j, "name", a->name);
	roots = cJSON_Parse(a->roots_json);
	if (roots == NULL)
		roots = cJSON_CreateArray();
	cJSON_AddItemToObject(j, "allowedRoots", roots);
	t = cJSON_AddObjectToObject(j, "tunnel");
	if (t != NULL) {
		cJSON_AddBoolToObject(t, "enabled", a->enabled);
		if (a->hostname != NULL) {
			cJSON_AddStringToObject(t, "hostname", a->hostname);
			if (agent_hostname_parse(a->hostname, norm, origin, err,
			    sizeof(err)) == 0)
				cJSON_AddStringToObject(t, "origin", origin);
		} else {
			cJSON_AddNullToObject(t, "hostname");
		}
	}
	if (a->last_seen_at >= 0) {
		db_iso8601(a->last_seen_at, when);
		cJSON_AddStringToObject(j, "lastSeenAt", when);
	} else {
		cJSON_AddNullToObject(j, "lastSeenAt");
	}
	db_iso8601(a->created_at, when);
	cJSON_AddStringToObject(j, "createdAt", when);
	cJSON_AddBoolToObject(j, "online", a->relay != NULL);
	return j;
}

/* Step st (from db_stmt) once and give it back: 1 when it changed one
 * row, 0 when none, -1 on error. */
static int
change_one(struct db *db, struct db_stmt *st)
{
	int rc = -1;

	if (db_step(st) == DB_DONE)
		rc = db_changes(db) == 1;
	db_stmt_done(st);
	return rc;
}

/* A statement on agent id of tenant_id: ?1 is id, ?2 tenant_id. */
static struct db_stmt *
on_agent(struct db *db, const char *sql, const char *tenant_id, const char *id)
{
	struct db_stmt *st = db_stmt(db, sql);

	if (st == NULL)
		return NULL;
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, tenant_id, -1);
	return st;
}

int
agent_key_store(struct db *db, const char *tenant_id, const char *id,
    const char *hostname, const unsigned char sealed[AGENT_SEALED_LEN])
{
	struct db_stmt *st;

	/* Rotate: only a tunnel that is on has a key to replace. */
	st = on_agent(db, hostname != NULL ? "UPDATE agents SET"
	    " tunnel_hostname = ?3, tunnel_key = ?4, tunnel_enabled = 1"
	    " WHERE id = ?1 AND tenant_id = ?2" :
	    "UPDATE agents SET tunnel_key = ?4 WHERE id = ?1"
	    " AND tenant_id = ?2 AND tunnel_enabled = 1", tenant_id, id);
	if (st == NULL)
		return -1;
	if (hostname != NULL)
		db_bind_text(st, 3, hostname, -1);
	db_bind_blob(st, 4, sealed, AGENT_SEALED_LEN);
	return change_one(db, st);
}

int
agent_delete(struct db *db, const char *tenant_id, const char *id)
{
	struct db_stmt *st;

	st = on_agent(db, "DELETE FROM agents WHERE id = ?1 AND tenant_id = ?2",
	    tenant_id, id);
	return st != NULL ? change_one(db, st) : -1;
}

int
agent_tunnel_disable(struct db *db, const char *tenant_id, const char *id)
{
	struct db_stmt *st;

	/* The key goes too: a later enable makes a new one. */
	st = on_agent(db, "UPDATE agents SET tunnel_enabled = 0,"
	    " tunnel_key = NULL WHERE id = ?1 AND tenant_id = ?2", tenant_id, id);
	return st != NULL ? change_one(db, st) : -1;
}

int
agent_tunnel_hostname(struct db *db, const char *id, char **hostname)
{
	struct db_stmt *st;
	int found = 0;

	*hostname = NULL;
	st = db_stmt(db, "SELECT tunnel_hostname FROM agents WHERE id = ?1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, id, -1);
	if (db_step(st) == DB_ROW) {
		found = 1;
		if (db_col_type(st, 0) != DB_NULL) {
			*hostname = col_dup(st, 0);
			if (*hostname == NULL)
				found = -1;
		}
	}
	db_stmt_done(st);
	return found;
}

int
agent_seen(struct db *db, const char *id, long long now, const char *hostname)
{
	struct db_stmt *st;
	int rc;

	st = db_stmt(db, hostname != NULL ?
	    "UPDATE agents SET last_seen_at = ?2, tunnel_hostname = ?3"
	    " WHERE id = ?1" :
	    "UPDATE agents SET last_seen_at = ?2 WHERE id = ?1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, id, -1);
	db_bind_int64(st, 2, now);
	if (hostname != NULL)
		db_bind_text(st, 3, hostname, -1);
	rc = db_step(st) == DB_DONE ? 0 : -1;
	db_stmt_done(st);
	return rc;
}

enum fs_err
agent_authenticate(struct db *db, const char *authorization, char id[37],
    const char **msg)
{
	unsigned char sh[CRY_SHA256_LEN];
	struct db_stmt *st = NULL;
	const char *cred, *secret;
	const void *hash;
	enum fs_err e = FS_UNAUTHORIZED;

	*msg = "bad agent credentials";
	id[0] = '\0';
	if (authorization == NULL ||
	    strncmp(authorization, "Bearer ", 7) != 0) {
		*msg = "agent credentials required (Authorization: Bearer "
		    "<agentId>.<agentSecret>)";
		return FS_UNAUTHORIZED;
	}
	cred = authorization + 7;
	if (strlen(cred) < 38 || cred[36] != '.')
		return FS_UNAUTHORIZED;
	memcpy(id, cred, 36);
	id[36] = '\0';
	secret = cred + 37;
	if (!cry_is_uuid(id))
		goto out;
	cry_sha256(secret, strlen(secret), sh);
	if (db_prepare(db, "SELECT secret_hash FROM agents WHERE"
	    " id = ?1", &st) != DB_OK) {
		e = FS_INTERNAL;
		goto out;
	}
	db_bind_text(st, 1, id, -1);
	if (db_step(st) == DB_ROW) {
		hash = db_col_blob(st, 0);
		if (hash != NULL && db_col_bytes(st, 0) ==
		    (int)sizeof(sh) && cry_eq(hash, sh, sizeof(sh)))
			e = FS_OK;
	}
out:
	db_finalize(st);
	if (e != FS_OK) {
		id[0] = '\0';
		if (e == FS_INTERNAL)
			*msg = NULL;
	}
	return e;
}

int
agent_count(struct db *db, long long *total, long long *online)
{
	struct db_stmt *st;
	int rc = -1;

	*total = *online = 0;
	/* Online: its WebSocket is held by a relay (agent_relays). */
	st = db_stmt(db, "SELECT count(*), count(r.agent_id) FROM agents a"
	    " LEFT JOIN agent_relays r ON r.agent_id = a.id");
	if (st == NULL)
		return -1;
	if (db_step(st) == DB_ROW) {
		*total = db_col_int64(st, 0);
		*online = db_col_int64(st, 1);
		rc = 0;
	}
	db_stmt_done(st);
	return rc;
}

int
agent_relay_attach(struct db *db, const char *id, const char *relay,
    const char *conn, long long now)
{
	struct db_stmt *st;
	int rc;

	st = db_stmt(db, "INSERT INTO agent_relays (agent_id, relay, conn,"
	    " connected_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (agent_id)"
	    " DO UPDATE SET relay = ?2, conn = ?3, connected_at = ?4");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, relay, -1);
	db_bind_text(st, 3, conn, -1);
	db_bind_int64(st, 4, now);
	rc = db_step(st) == DB_DONE ? 0 : -1;
	db_stmt_done(st);
	return rc;
}

int
agent_relay_detach(struct db *db, const char *id, const char *conn)
{
	struct db_stmt *st;
	int rc;

	st = db_stmt(db, id != NULL ?
	    "DELETE FROM agent_relays WHERE agent_id = ?1 AND conn = ?2" :
	    "DELETE FROM agent_relays WHERE relay = ?2");
	if (st == NULL)
		return -1;
	if (id != NULL)
		db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, conn, -1);
	rc = db_step(st) == DB_DONE ? 0 : -1;
	db_stmt_done(st);
	return rc;
}

int
agent_tenant(struct db *db, const char *id, char tenant_id[37])
{
	struct db_stmt *st;
	int rc = -1;

	st = db_stmt(db, "SELECT tenant_id FROM agents WHERE id = ?1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, id, -1);
	switch (db_step(st)) {
	case DB_ROW:
		snprintf(tenant_id, 37, "%s",
		    (const char *)db_col_text(st, 0));
		rc = 1;
		break;
	case DB_DONE:
		rc = 0;
		break;
	}
	db_stmt_done(st);
	return rc;
}
