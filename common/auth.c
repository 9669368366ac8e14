/*
 * auth: the identity tables (api_keys, sessions, users, tenants,
 * memberships, roles, login_failures): principals from a key or a
 * session, login, and the administration used by filestorctl. The
 * request side (Authorization, cookie, CSRF) is auth_http.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cry.h"
#include "db.h"
#include "perm.h"

#define KEY_RANDOM_BYTES	32
#define KEY_MAX_LEN		128	/* bytes of a presented API key */
#define SESSION_RANDOM_BYTES	32
#define SESSION_MAX_LEN		128

/* The conditions seeded for the owner-scoped "authenticated" role. */
#define OWNER_ONLY	"{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}"

static void
hash_secret(const char *s, unsigned char out[CRY_SHA256_LEN])
{
	cry_sha256(s, strlen(s), out);
}

static void
copy_text(char *dst, size_t dstlen, const unsigned char *src)
{
	snprintf(dst, dstlen, "%s", src != NULL ? (const char *)src : "");
}

/*
 * Bind an email to match lower(email): users.email compares as SQLite's
 * NOCASE, ASCII letters only. Lowered here, not by lower(?) in the SQL,
 * whose folding on PostgreSQL follows the database's locale.
 */
static void
bind_email(struct db_stmt *st, int i, const char *email)
{
	char *low, *c;

	if ((low = strdup(email)) == NULL) {
		db_bind_null(st, i);
		return;
	}
	for (c = low; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
	db_bind_text(st, i, low, -1);
	free(low);
}

static struct db_stmt *
prepare(struct db *db, const char *sql)
{
	struct db_stmt *st = NULL;

	if (db_prepare(db, sql, &st) != DB_OK)
		return NULL;
	return st;
}

/*
 * Fill p for (user, tenant) from a row of st whose columns col.. are the
 * member's email, role id, role name and admin flag.
 */
static void
fill_principal(struct principal *p, enum auth_via via, const char *user_id,
    const char *tenant_id, struct db_stmt *st, int col)
{
	memset(p, 0, sizeof(*p));
	p->via = via;
	snprintf(p->user_id, sizeof(p->user_id), "%s", user_id);
	snprintf(p->tenant_id, sizeof(p->tenant_id), "%s", tenant_id);
	copy_text(p->email, sizeof(p->email), db_col_text(st, col));
	copy_text(p->role_id, sizeof(p->role_id),
	    db_col_text(st, col + 1));
	copy_text(p->role_name, sizeof(p->role_name),
	    db_col_text(st, col + 2));
	p->admin = db_col_int(st, col + 3) != 0;
}

/*
 * Fill p for (user, tenant) from the membership. Returns FS_OK,
 * FS_UNAUTHORIZED when the user is no longer a member, FS_INTERNAL.
 */
static enum fs_err
load_principal(struct db *db, const char *user_id, const char *tenant_id,
    enum auth_via via, struct principal *p)
{
	struct db_stmt *st = NULL;
	enum fs_err e = FS_INTERNAL;
	int rc;

	st = db_stmt(db,
	    "SELECT u.email, r.id, r.name, r.admin_access"
	    " FROM memberships m"
	    " JOIN users u ON u.id = m.user_id"
	    " JOIN roles r ON r.id = m.role_id"
	    " WHERE m.user_id = ? AND m.tenant_id = ?");
	if (st == NULL)
		goto out;
	db_bind_text(st, 1, user_id, -1);
	db_bind_text(st, 2, tenant_id, -1);
	rc = db_step(st);
	if (rc == DB_DONE) {
		e = FS_UNAUTHORIZED;
		goto out;
	}
	if (rc != DB_ROW)
		goto out;
	fill_principal(p, via, user_id, tenant_id, st, 0);
	e = FS_OK;
out:
	db_stmt_done(st);
	return e;
}

enum fs_err
auth_member_principal(struct db *db, const char *user_id, const char *tenant_id,
    struct principal *p)
{
	return load_principal(db, user_id, tenant_id, AUTH_APIKEY, p);
}

int
auth_tenant_named(struct db *db, const char *name)
{
	struct db_stmt *st;
	int rc;

	st = db_stmt(db, "SELECT 1 FROM tenants WHERE name = ?");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, name, -1);
	rc = db_step(st);
	db_stmt_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

/*
 * Run st (from db_stmt; NULL is an error) with the hash of secret bound
 * to ?1, and the time to ?2 when it has one: FS_OK on a row,
 * FS_UNAUTHORIZED on none, FS_INTERNAL.
 */
static enum fs_err
step_by_hash(struct db_stmt *st, const char *secret)
{
	unsigned char h[CRY_SHA256_LEN];
	int rc;

	if (st == NULL)
		return FS_INTERNAL;
	hash_secret(secret, h);
	db_bind_blob(st, 1, h, sizeof(h));
	if (db_bind_count(st) > 1)
		db_bind_int64(st, 2, db_now());
	rc = db_step(st);
	if (rc == DB_ROW)
		return FS_OK;
	return rc == DB_DONE ? FS_UNAUTHORIZED : FS_INTERNAL;
}

/* A permission row at columns col.. (collection, action, condition). */
static void
prefetch_row(struct db_stmt *st, int col)
{
	int type = db_col_type(st, col + 2);
	const char *cond = (const char *)db_col_text(st, col + 2);

	perm_prefetch_add((const char *)db_col_text(st, col),
	    (const char *)db_col_text(st, col + 1), type, cond,
	    cond != NULL ? (size_t)db_col_bytes(st, col + 2) : 0);
}

enum fs_err
auth_key_principal(struct db *db, const char *key, struct principal *p,
    const char **msg)
{
	struct db_stmt *st = NULL;
	char user[37], tenant[37];
	enum fs_err e;
	int rc;

	*msg = "invalid API key";
	if (strncmp(key, AUTH_KEY_PREFIX, strlen(AUTH_KEY_PREFIX)) != 0 ||
	    strlen(key) > KEY_MAX_LEN)
		return FS_UNAUTHORIZED;
	/*
	 * One statement for the key, its principal and its role's
	 * permission rows (a row each, in id order; perm_prefetch_add):
	 * this runs on every request, so it is one index lookup per table
	 * and no second trip, for this or for perm_lookup.
	 */
	st = db_stmt(db,
	    "SELECT k.revoked_at, k.user_id, k.tenant_id, u.email, r.id,"
	    " r.name, r.admin_access, m.user_id IS NOT NULL, k.id,"
	    " p.id IS NOT NULL, p.collection, p.action, p.condition"
	    " FROM api_keys k"
	    " LEFT JOIN memberships m ON m.user_id = k.user_id"
	    "  AND m.tenant_id = k.tenant_id"
	    " LEFT JOIN users u ON u.id = m.user_id"
	    " LEFT JOIN roles r ON r.id = m.role_id"
	    " LEFT JOIN permissions p ON p.role_id = r.id"
	    " WHERE k.key_hash = ? ORDER BY p.id");
	e = step_by_hash(st, key);
	if (e != FS_OK)
		goto out;
	if (db_col_type(st, 0) != DB_NULL) {
		*msg = "API key has been revoked";
		e = FS_UNAUTHORIZED;
		goto out;
	}
	if (db_col_int(st, 7) == 0) {
		*msg = "API key's user is no longer a member of its tenant";
		e = FS_UNAUTHORIZED;
		goto out;
	}
	copy_text(user, sizeof(user), db_col_text(st, 1));
	copy_text(tenant, sizeof(tenant), db_col_text(st, 2));
	fill_principal(p, AUTH_APIKEY, user, tenant, st, 3);
	copy_text(p->key_id, sizeof(p->key_id), db_col_text(st, 8));
	perm_prefetch_begin(p->role_id);
	do {
		if (db_col_int(st, 9) != 0)
			prefetch_row(st, 10);
	} while ((rc = db_step(st)) == DB_ROW);
	if (rc == DB_DONE)
		perm_prefetch_end();
	else
		perm_prefetch_clear();
	e = FS_OK;
out:
	db_stmt_done(st);
	return e;
}

enum fs_err
auth_session_principal(struct db *db, const char *token, struct principal *p,
    const char **msg)
{
	struct db_stmt *st = NULL;
	char user[37], tenant[37];
	enum fs_err e;

	*msg = "invalid or expired session";
	if (strlen(token) > SESSION_MAX_LEN)
		return FS_UNAUTHORIZED;
	st = db_stmt(db,
	    "SELECT user_id, tenant_id FROM sessions"
	    " WHERE token_hash = ? AND expires_at > ?");
	e = step_by_hash(st, token);
	if (e != FS_OK)
		goto out;
	copy_text(user, sizeof(user), db_col_text(st, 0));
	copy_text(tenant, sizeof(tenant), db_col_text(st, 1));
	e = load_principal(db, user, tenant, AUTH_SESSION, p);
out:
	db_stmt_done(st);
	return e;
}

void
auth_tenant_name(struct db *db, const char *tenant_id, char *buf, size_t len)
{
	struct db_stmt *st;

	buf[0] = '\0';
	st = db_stmt(db, "SELECT name FROM tenants WHERE id = ?");
	if (st == NULL)
		return;
	db_bind_text(st, 1, tenant_id, -1);
	if (db_step(st) == DB_ROW)
		copy_text(buf, len, db_col_text(st, 0));
	db_stmt_done(st);
}

int
auth_apikey_create(struct db *db, const char *tenant_id, const char *user_id,
    const char *name, char **key_out, char key_id[37])
{
	unsigned char h[CRY_SHA256_LEN];
	struct db_stmt *st = NULL;
	char *key = NULL;
	int ret = -1;

	*key_out = NULL;
	if (cry_uuid(key_id) == -1)
		goto out;
	key = cry_token(AUTH_KEY_PREFIX, KEY_RANDOM_BYTES);
	if (key == NULL)
		goto out;
	hash_secret(key, h);
	if (db_prepare(db, "INSERT INTO api_keys (id, tenant_id,"
	    " user_id, name, key_hash, created_at)"
	    " SELECT ?, m.tenant_id, m.user_id, ?, ?, ? FROM memberships m"
	    " WHERE m.tenant_id = ? AND m.user_id = ?", &st)
	    != DB_OK)
		goto out;
	db_bind_text(st, 1, key_id, -1);
	db_bind_text(st, 2, name != NULL ? name : "", -1);
	db_bind_blob(st, 3, h, sizeof(h));
	db_bind_int64(st, 4, db_now());
	db_bind_text(st, 5, tenant_id, -1);
	db_bind_text(st, 6, user_id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	if (db_changes(db) != 1) {
		ret = 1;	/* no such membership */
		goto out;
	}
	*key_out = key;
	key = NULL;
	ret = 0;
out:
	cry_wipe_str(key);
	db_finalize(st);
	return ret;
}

int
auth_apikey_revoke(struct db *db, const char *key_id)
{
	struct db_stmt *st = NULL;
	int ret = -1;

	if (db_prepare(db, "UPDATE api_keys SET revoked_at = ?"
	    " WHERE id = ? AND revoked_at IS NULL", &st) != DB_OK)
		goto out;
	db_bind_int64(st, 1, db_now());
	db_bind_text(st, 2, key_id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	ret = db_changes(db) == 1 ? 0 : 1;
out:
	db_finalize(st);
	return ret;
}

int
auth_apikey_owner(struct db *db, const char *key_id, char tenant_id[37],
    char user_id[37])
{
	struct db_stmt *st;
	int rc, ret = -1;

	st = prepare(db, "SELECT tenant_id, user_id FROM api_keys"
	    " WHERE id = ? AND revoked_at IS NULL");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, key_id, -1);
	rc = db_step(st);
	if (rc == DB_ROW) {
		copy_text(tenant_id, 37, db_col_text(st, 0));
		copy_text(user_id, 37, db_col_text(st, 1));
		ret = 0;
	} else if (rc == DB_DONE)
		ret = 1;
	db_finalize(st);
	return ret;
}

/*
 * A hash of a password nobody has, verified when the email is unknown so
 * that an unknown email costs the same scrypt work as a wrong password.
 */
static const char *
dummy_hash(void)
{
	static char *h;

	if (h == NULL)
		h = cry_password_hash("filestor-timing-equalizer");
	return h != NULL ? h : "";
}

enum fs_err
auth_login(struct db *db, const char *email, const char *pw,
    const char *tenant_id, long long ttl, char **token, struct principal *p,
    const char **msg)
{
	unsigned char h[CRY_SHA256_LEN];
	struct db_stmt *st = NULL;
	char user[37] = "", tenant[37] = "", *stored = NULL, *tok = NULL;
	enum fs_err e = FS_INTERNAL;
	int rc, ok, n;

	*token = NULL;
	*msg = "invalid email or password";
	rc = db_prepare(db, "SELECT id, password_hash FROM users"
	    " WHERE lower(email) = ?", &st);
	if (rc != DB_OK)
		goto out;
	bind_email(st, 1, email);
	rc = db_step(st);
	if (rc == DB_ROW) {
		copy_text(user, sizeof(user), db_col_text(st, 0));
		if (db_col_type(st, 1) != DB_NULL)
			stored = strdup((const char *)db_col_text(st, 1));
	} else if (rc != DB_DONE)
		goto out;
	db_finalize(st);
	st = NULL;

	ok = cry_password_verify(pw, stored != NULL ? stored : dummy_hash());
	if (stored == NULL || ok != 1) {
		e = FS_UNAUTHORIZED;
		goto out;
	}

	if (tenant_id != NULL) {
		snprintf(tenant, sizeof(tenant), "%s", tenant_id);
	} else {
		rc = db_prepare(db, "SELECT tenant_id FROM memberships"
		    " WHERE user_id = ? LIMIT 2", &st);
		if (rc != DB_OK)
			goto out;
		db_bind_text(st, 1, user, -1);
		for (n = 0; (rc = db_step(st)) == DB_ROW; n++)
			copy_text(tenant, sizeof(tenant),
			    db_col_text(st, 0));
		if (rc != DB_DONE)
			goto out;
		db_finalize(st);
		st = NULL;
		if (n == 0) {
			e = FS_UNAUTHORIZED;
			goto out;
		}
		if (n > 1) {
			*msg = "tenantId is required: this account belongs to "
			    "several tenants";
			e = FS_VALIDATION;
			goto out;
		}
	}
	e = load_principal(db, user, tenant, AUTH_SESSION, p);
	if (e != FS_OK)
		goto out;

	e = FS_INTERNAL;
	tok = cry_token("", SESSION_RANDOM_BYTES);
	if (tok == NULL)
		goto out;
	hash_secret(tok, h);
	/* Drop this user's expired sessions while we are here. */
	rc = db_prepare(db, "DELETE FROM sessions WHERE user_id = ?"
	    " AND expires_at <= ?", &st);
	if (rc != DB_OK)
		goto out;
	db_bind_text(st, 1, user, -1);
	db_bind_int64(st, 2, db_now());
	(void)db_step(st);
	db_finalize(st);
	rc = db_prepare(db, "INSERT INTO sessions (token_hash, user_id,"
	    " tenant_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)", &st);
	if (rc != DB_OK)
		goto out;
	db_bind_blob(st, 1, h, sizeof(h));
	db_bind_text(st, 2, user, -1);
	db_bind_text(st, 3, tenant, -1);
	db_bind_int64(st, 4, db_now());
	db_bind_int64(st, 5, db_now() + ttl);
	if (db_step(st) != DB_DONE)
		goto out;
	*token = tok;
	tok = NULL;
	*msg = NULL;
	e = FS_OK;
out:
	if (e != FS_OK && e != FS_VALIDATION && e != FS_UNAUTHORIZED)
		*msg = NULL;
	cry_wipe_str(tok);
	free(stored);
	db_finalize(st);
	return e;
}

void
auth_logout(struct db *db, const char *token)
{
	unsigned char h[CRY_SHA256_LEN];
	struct db_stmt *st = NULL;

	if (token == NULL || strlen(token) > SESSION_MAX_LEN)
		return;
	hash_secret(token, h);
	if (db_prepare(db, "DELETE FROM sessions WHERE token_hash = ?",
	    &st) == DB_OK) {
		db_bind_blob(st, 1, h, sizeof(h));
		(void)db_step(st);
	}
	db_finalize(st);
}

/* Text from outside that goes into names: bounded, no control bytes. */
static int
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (!name_ok(s, 254) || at == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s))
			return 0;
	return 1;
}

static int
exec_bind(struct db *db, const char *sql, const char *a, const char *b,
    const char *c, long long n)
{
	struct db_stmt *st = NULL;
	int rc;

	rc = db_prepare(db, sql, &st);
	if (rc != DB_OK)
		return rc;	/* st is NULL */
	if (a != NULL)
		db_bind_text(st, 1, a, -1);
	if (b != NULL)
		db_bind_text(st, 2, b, -1);
	if (c != NULL)
		db_bind_text(st, 3, c, -1);
	if (n >= 0)
		db_bind_int64(st, 4, n);
	return db_run(st);
}

/* Insert a role: the SQLite result (DB_OK, a constraint...). */
static int
insert_role(struct db *db, const char *tenant_id, const char *name, int admin,
    char id[37])
{
	char sql[160];

	if (cry_uuid(id) == -1)
		return DB_ERROR;
	snprintf(sql, sizeof(sql), "INSERT INTO roles (id, tenant_id, name,"
	    " admin_access, created_at) VALUES (?, ?, ?, %d, ?4)", admin != 0);
	return exec_bind(db, sql, id, tenant_id, name, db_now());
}

static int
seed_role(struct db *db, const char *tenant_id, const char *name, int admin,
    char id[37])
{
	return insert_role(db, tenant_id, name, admin, id) == DB_OK ? 0 :
	    -1;
}

enum fs_err
auth_role_create(struct db *db, const char *tenant_id, const char *name,
    int admin, char id[37])
{
	int rc = insert_role(db, tenant_id, name, admin, id);

	if (rc == DB_CONSTRAINT_UNIQUE)
		return FS_CONFLICT;
	if (rc == DB_CONSTRAINT_FOREIGNKEY)
		return FS_NOT_FOUND;
	return rc == DB_OK ? FS_OK : FS_INTERNAL;
}

int
auth_tenant_create(struct db *db, const char *name, char id[37], char *err,
    size_t errlen)
{
	char admin[37], authd[37];
	int c, act;

	if (!name_ok(name, 200)) {
		snprintf(err, errlen, "tenant name must be 1 to 200 bytes "
		    "without control characters");
		return -1;
	}
	if (cry_uuid(id) == -1 || db_begin(db) != DB_OK)
		goto dberr;
	if (exec_bind(db, "INSERT INTO tenants (id, name, created_at)"
	    " VALUES (?1, ?2, ?4)", id, name, NULL, db_now()) != DB_OK)
		goto dberr;
	if (seed_role(db, id, "admin", 1, admin) == -1 ||
	    seed_role(db, id, "authenticated", 0, authd) == -1)
		goto dberr;
	/*
	 * admin: everything, without condition. authenticated: create
	 * anything in files and folders; read, update and delete only what
	 * it owns; nothing on agents until granted.
	 */
	for (c = 0; c < PERM_COLL__COUNT; c++)
		for (act = 0; act < PERM_ACTION__COUNT; act++)
			if (perm_grant(db, admin, c, act, NULL) == -1)
				goto dberr;
	for (c = PERM_FILES; c <= PERM_FOLDERS; c++)
		for (act = 0; act < PERM_ACTION__COUNT; act++)
			if (perm_grant(db, authd, c, act, act == PERM_CREATE ?
			    NULL : OWNER_ONLY) == -1)
				goto dberr;
	if (db_commit(db) != DB_OK)
		goto dberr;
	return 0;
dberr:
	snprintf(err, errlen, "database: %s", db_errmsg(db));
	db_rollback(db);
	return -1;
}

/* Role id of name in tenant into id; 0 found, 1 missing, -1 error. */
static int
find_role(struct db *db, const char *tenant_id, const char *name, char id[37])
{
	struct db_stmt *st = NULL;
	int rc, ret = -1;

	if (db_prepare(db, "SELECT id FROM roles WHERE tenant_id = ?"
	    " AND name = ?", &st) != DB_OK)
		goto out;
	db_bind_text(st, 1, tenant_id, -1);
	db_bind_text(st, 2, name, -1);
	rc = db_step(st);
	if (rc == DB_ROW) {
		copy_text(id, 37, db_col_text(st, 0));
		ret = 0;
	} else if (rc == DB_DONE)
		ret = 1;
out:
	db_finalize(st);
	return ret;
}

int
auth_user_create(struct db *db, const char *email, const char *tenant_id,
    const char *role, const char *pw, char id[37], char *err, size_t errlen)
{
	struct db_stmt *st = NULL;
	char role_id[37], *hash = NULL;
	int rc, ret = -1, exists = 0;

	if (!email_ok(email)) {
		snprintf(err, errlen, "not a valid email address");
		return -1;
	}
	if (db_begin(db) != DB_OK)
		goto dberr;
	rc = find_role(db, tenant_id, role, role_id);
	if (rc == 1) {
		snprintf(err, errlen, "no role \"%.64s\" in tenant %.40s "
		    "(or no such tenant)", role, tenant_id);
		goto fail;
	}
	if (rc == -1)
		goto dberr;
	if (db_prepare(db, "SELECT id FROM users WHERE"
	    " lower(email) = ?", &st) != DB_OK)
		goto dberr;
	bind_email(st, 1, email);
	rc = db_step(st);
	if (rc == DB_ROW) {
		copy_text(id, 37, db_col_text(st, 0));
		exists = 1;
	} else if (rc != DB_DONE)
		goto dberr;
	db_finalize(st);
	st = NULL;

	if (!exists) {
		if (pw != NULL) {
			hash = cry_password_hash(pw);
			if (hash == NULL) {
				snprintf(err, errlen, "cannot hash password");
				goto fail;
			}
		}
		if (cry_uuid(id) == -1)
			goto dberr;
		if (db_prepare(db, "INSERT INTO users (id, email,"
		    " password_hash, created_at) VALUES (?, ?, ?, ?)", &st) != DB_OK)
			goto dberr;
		db_bind_text(st, 1, id, -1);
		db_bind_text(st, 2, email, -1);
		/* No password: a NULL hash binds SQL NULL. */
		db_bind_text(st, 3, hash, -1);
		db_bind_int64(st, 4, db_now());
		if (db_step(st) != DB_DONE)
			goto dberr;
		db_finalize(st);
		st = NULL;
	} else if (pw != NULL) {
		snprintf(err, errlen, "user %.254s exists; its password is not "
		    "changed here", email);
		goto fail;
	}
	rc = exec_bind(db, "INSERT INTO memberships (user_id, tenant_id,"
	    " role_id, created_at) VALUES (?1, ?2, ?3, ?4)", id, tenant_id,
	    role_id, db_now());
	if (rc == DB_CONSTRAINT_PRIMARYKEY) {
		snprintf(err, errlen, "user %.254s is already a member of "
		    "tenant %.40s", email, tenant_id);
		goto fail;
	}
	if (rc != DB_OK)
		goto dberr;
	if (db_commit(db) != DB_OK)
		goto dberr;
	ret = 0;
	goto out;
dberr:
	snprintf(err, errlen, "database: %s", db_errmsg(db));
fail:
	db_rollback(db);
out:
	cry_wipe_str(hash);
	db_finalize(st);
	return ret;
}

int
auth_user_set_role(struct db *db, const char *user_id, const char *tenant_id,
    const char *role, char *err, size_t errlen)
{
	char role_id[37];
	int rc;

	rc = find_role(db, tenant_id, role, role_id);
	if (rc == 1) {
		snprintf(err, errlen, "no role \"%.64s\" in tenant %.40s",
		    role, tenant_id);
		return -1;
	}
	if (rc == -1)
		goto dberr;
	if (exec_bind(db, "UPDATE memberships SET role_id = ?3 WHERE"
	    " user_id = ?1 AND tenant_id = ?2", user_id, tenant_id, role_id,
	    -1) != DB_OK)
		goto dberr;
	if (db_changes(db) != 1) {
		snprintf(err, errlen, "user %.40s is not a member of tenant "
		    "%.40s", user_id, tenant_id);
		return -1;
	}
	return 0;
dberr:
	snprintf(err, errlen, "database: %s", db_errmsg(db));
	return -1;
}

/*
 * The scope strings of sql/0004, malloc'd (NULL when out of memory).
 * Emails compare like users.email (COLLATE NOCASE: ASCII case only).
 */
static char *
scope_user(const char *email, const char *tenant_id)
{
	char *s, *c;

	if (asprintf(&s, "u\n%s\n%s", email,
	    tenant_id != NULL ? tenant_id : "*") == -1)
		return NULL;
	for (c = s; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return s;
}

static char *
scope_addr(const char *addr)
{
	char *s;

	if (addr == NULL || *addr == '\0')
		return NULL;
	if (asprintf(&s, "a\n%s", addr) == -1)
		return NULL;
	return s;
}

/* 1 and *retry when scope is locked, 0 when not, -1 on error. */
static int
scope_locked(struct db *db, const char *scope, long long max, long long window,
    long long now, long long *retry)
{
	struct db_stmt *st;
	long long start, n;
	int rc, locked = 0;

	st = db_stmt(db, "SELECT window_start, failures FROM login_failures"
	    " WHERE scope = ?");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, scope, -1);
	rc = db_step(st);
	if (rc == DB_ROW) {
		start = db_col_int64(st, 0);
		n = db_col_int64(st, 1);
		if (n >= max && start + window > now) {
			locked = 1;
			if (start + window - now > *retry)
				*retry = start + window - now;
		}
	} else if (rc != DB_DONE)
		locked = -1;
	db_stmt_done(st);
	return locked;
}

enum fs_err
auth_login_allowed(struct db *db, const struct auth_limits *l,
    const char *email, const char *tenant_id, const char *addr,
    long long *retry)
{
	char *su = NULL, *sa = NULL;
	long long now = db_now();
	enum fs_err e = FS_INTERNAL;
	int lu, la = 0;

	*retry = 0;
	su = scope_user(email, tenant_id);
	sa = scope_addr(addr);
	if (su == NULL || (addr != NULL && *addr != '\0' && sa == NULL))
		goto out;
	lu = scope_locked(db, su, l->max_user, l->window, now, retry);
	if (sa != NULL)
		la = scope_locked(db, sa, l->max_addr, l->window, now, retry);
	if (lu == -1 || la == -1)
		goto out;
	e = lu || la ? FS_TOO_MANY : FS_OK;
out:
	free(su);
	free(sa);
	return e;
}

/* One more failure in scope: a new window when the last one has ended. */
static int
scope_fail(struct db *db, const char *scope, long long window, long long now)
{
	struct db_stmt *st;
	int rc;

	/* The row's own columns named with the table: PostgreSQL would
	 * not know them from excluded's. */
	st = db_stmt(db, "INSERT INTO login_failures (scope, window_start,"
	    " failures) VALUES (?1, ?2, 1) ON CONFLICT (scope) DO UPDATE SET"
	    " failures = CASE WHEN login_failures.window_start <= ?2 - ?3"
	    " THEN 1 ELSE login_failures.failures + 1 END,"
	    " window_start = CASE WHEN login_failures.window_start <= ?2 - ?3"
	    " THEN ?2 ELSE login_failures.window_start END");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, scope, -1);
	db_bind_int64(st, 2, now);
	db_bind_int64(st, 3, window);
	rc = db_step(st);
	db_stmt_done(st);
	return rc == DB_DONE ? 0 : -1;
}

int
auth_login_note(struct db *db, const struct auth_limits *l, const char *email,
    const char *tenant_id, const char *addr, int ok)
{
	struct db_stmt *st = NULL;
	char *su = NULL, *sa = NULL;
	long long now = db_now();
	int ret = -1;

	su = scope_user(email, tenant_id);
	sa = scope_addr(addr);
	if (su == NULL || (addr != NULL && *addr != '\0' && sa == NULL))
		goto out;
	if (ok) {
		st = db_stmt(db, "DELETE FROM login_failures WHERE scope = ?");
		if (st == NULL)
			goto out;
		db_bind_text(st, 1, su, -1);
		if (db_step(st) != DB_DONE)
			goto out;
		ret = 0;
		goto out;
	}
	if (scope_fail(db, su, l->window, now) == -1)
		goto out;
	if (sa != NULL && scope_fail(db, sa, l->window, now) == -1)
		goto out;
	ret = 0;
out:
	db_stmt_done(st);
	free(su);
	free(sa);
	return ret;
}

long long
auth_login_gc(struct db *db)
{
	struct db_stmt *st;
	long long n = -1;

	/* No window is longer than a day (LOGIN_WINDOW_SECONDS). */
	st = db_stmt(db, "DELETE FROM login_failures WHERE window_start < ?");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, db_now() - 86400);
	if (db_step(st) == DB_DONE)
		n = db_changes(db);
	db_stmt_done(st);
	return n;
}

/* The one text column of the row of st (bound by the caller) into out:
 * 0 found, 1 no row (or a failed step), -1 when st is NULL. */
static int
one_id(struct db_stmt *st, char out[37])
{
	int rc;

	if (st == NULL)
		return -1;
	rc = db_step(st);
	if (rc == DB_ROW)
		copy_text(out, 37, db_col_text(st, 0));
	db_finalize(st);
	return rc == DB_ROW ? 0 : 1;
}

int
auth_role_find(struct db *db, const char *tenant_id, const char *ref,
    char id[37])
{
	struct db_stmt *st;

	if (tenant_id == NULL) {
		st = prepare(db, "SELECT id FROM roles WHERE id=?");
		if (st != NULL)
			db_bind_text(st, 1, ref, -1);
		return one_id(st, id);
	}
	return find_role(db, tenant_id, ref, id);
}

int
auth_member_role(struct db *db, const char *tenant_id, const char *user_id,
    char role_id[37])
{
	struct db_stmt *st;

	st = prepare(db, "SELECT role_id FROM memberships WHERE tenant_id = ?"
	    " AND user_id = ?");
	if (st != NULL) {
		db_bind_text(st, 1, tenant_id, -1);
		db_bind_text(st, 2, user_id, -1);
	}
	return one_id(st, role_id);
}

int
auth_tenant_each(struct db *db, void (*fn)(void *, const char *, const char *),
    void *arg)
{
	struct db_stmt *st;

	st = prepare(db, "SELECT id, name FROM tenants ORDER BY created_at, id");
	if (st == NULL)
		return -1;
	while (db_step(st) == DB_ROW)
		fn(arg, (const char *)db_col_text(st, 0),
		    (const char *)db_col_text(st, 1));
	db_finalize(st);
	return 0;
}

int
auth_email_tenants(struct db *db, const char *email,
    void (*fn)(void *, const char *, const char *), void *arg)
{
	struct db_stmt *st;
	int rc;

	st = prepare(db, "SELECT t.id, t.name FROM users u JOIN memberships m"
	    " ON m.user_id = u.id JOIN tenants t ON t.id = m.tenant_id"
	    " WHERE lower(u.email) = ? ORDER BY t.name, t.id");
	if (st == NULL)
		return -1;
	bind_email(st, 1, email);
	while ((rc = db_step(st)) == DB_ROW)
		fn(arg, (const char *)db_col_text(st, 0),
		    (const char *)db_col_text(st, 1));
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

int
auth_apikey_each(struct db *db, const char *tenant_id,
    void (*fn)(void *, const struct auth_apikey_row *), void *arg)
{
	struct auth_apikey_row k;
	struct db_stmt *st;

	st = prepare(db, "SELECT k.id, k.user_id, u.email, k.name,"
	    " k.created_at, k.revoked_at FROM api_keys k JOIN users u"
	    " ON u.id = k.user_id WHERE k.tenant_id = ? ORDER BY k.created_at, k.id");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, tenant_id, -1);
	while (db_step(st) == DB_ROW) {
		k.id = (const char *)db_col_text(st, 0);
		k.user_id = (const char *)db_col_text(st, 1);
		k.email = (const char *)db_col_text(st, 2);
		k.name = (const char *)db_col_text(st, 3);
		k.created_at = db_col_int64(st, 4);
		k.revoked = db_col_type(st, 5) != DB_NULL;
		fn(arg, &k);
	}
	db_finalize(st);
	return 0;
}
