/*
 * s3key: the s3_keys table (s3key.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cry.h"
#include "db.h"
#include "s3key.h"

#define AAD_MAX	(3 + S3KEY_ID_LEN + 1)	/* "s3:" id */

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int
s3key_id_ok(const char *id)
{
	size_t i;

	if (strlen(id) != S3KEY_ID_LEN || strncmp(id, "FS", 2) != 0)
		return 0;
	for (i = 2; i < S3KEY_ID_LEN; i++)
		if (strchr(b32, id[i]) == NULL || id[i] == '\0')
			return 0;
	return 1;
}

/* The associated data of a sealed secret: its row's id. */
static void
aad_of(const char *id, char aad[AAD_MAX])
{
	snprintf(aad, AAD_MAX, "s3:%s", id);
}

static int
new_id(char id[S3KEY_ID_LEN + 1])
{
	unsigned char r[S3KEY_ID_LEN - 2];
	size_t i;

	if (cry_random(r, sizeof(r)) == -1)
		return -1;
	id[0] = 'F';
	id[1] = 'S';
	for (i = 0; i < sizeof(r); i++)
		id[2 + i] = b32[r[i] & 31];
	id[S3KEY_ID_LEN] = '\0';
	return 0;
}

int
s3key_create(struct db *db, const unsigned char *kek, const char *tenant_id,
    const char *user_id, const char *name, char id[S3KEY_ID_LEN + 1],
    char **secret)
{
	unsigned char raw[AGENT_KEY_LEN], sealed[AGENT_SEALED_LEN];
	char aad[AAD_MAX], *hex = NULL;
	struct db_stmt *st = NULL;
	int ret = -1;

	*secret = NULL;
	hex = malloc(2 * AGENT_KEY_LEN + 1);
	if (hex == NULL || new_id(id) == -1 ||
	    cry_random(raw, sizeof(raw)) == -1)
		goto out;
	aad_of(id, aad);
	if (agent_key_seal(kek, aad, raw, sealed) == -1)
		goto out;
	cry_hex(raw, sizeof(raw), hex);
	if (db_prepare(db, "INSERT INTO s3_keys (access_key_id,"
	    " tenant_id, user_id, name, secret_sealed, created_at)"
	    " SELECT ?, m.tenant_id, m.user_id, ?, ?, ? FROM memberships m"
	    " WHERE m.tenant_id = ? AND m.user_id = ?", &st)
	    != DB_OK)
		goto out;
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, name != NULL ? name : "", -1);
	db_bind_blob(st, 3, sealed, sizeof(sealed));
	db_bind_int64(st, 4, db_now());
	db_bind_text(st, 5, tenant_id, -1);
	db_bind_text(st, 6, user_id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	if (db_changes(db) != 1) {
		ret = 1;	/* no such membership */
		goto out;
	}
	*secret = hex;
	hex = NULL;
	ret = 0;
out:
	cry_wipe(raw, sizeof(raw));
	cry_wipe_str(hex);
	db_finalize(st);
	return ret;
}

int
s3key_revoke(struct db *db, const char *id)
{
	struct db_stmt *st = NULL;
	int ret = -1;

	if (db_prepare(db, "UPDATE s3_keys SET revoked_at = ?"
	    " WHERE access_key_id = ? AND revoked_at IS NULL", &st) != DB_OK)
		goto out;
	db_bind_int64(st, 1, db_now());
	db_bind_text(st, 2, id, -1);
	if (db_step(st) != DB_DONE)
		goto out;
	ret = db_changes(db) == 1 ? 0 : 1;
out:
	db_finalize(st);
	return ret;
}

enum fs_err
s3key_lookup(struct db *db, const unsigned char *kek, const char *id,
    char secret[S3KEY_SECRET_MAX + 1], struct principal *p)
{
	unsigned char raw[AGENT_KEY_LEN];
	char aad[AAD_MAX], user[37], tenant[37];
	struct db_stmt *st = NULL;
	enum fs_err e = FS_UNAUTHORIZED;
	int rc;

	secret[0] = '\0';
	if (!s3key_id_ok(id))
		return FS_UNAUTHORIZED;
	st = db_stmt(db, "SELECT user_id, tenant_id, secret_sealed"
	    " FROM s3_keys WHERE access_key_id = ? AND revoked_at IS NULL");
	if (st == NULL)
		return FS_INTERNAL;
	db_bind_text(st, 1, id, -1);
	rc = db_step(st);
	if (rc != DB_ROW) {
		e = rc == DB_DONE ? FS_UNAUTHORIZED : FS_INTERNAL;
		goto out;
	}
	snprintf(user, sizeof(user), "%s", db_col_text(st, 0));
	snprintf(tenant, sizeof(tenant), "%s", db_col_text(st, 1));
	aad_of(id, aad);
	/* A secret that does not open: AUTH_SECRET changed, or tampering. */
	e = FS_INTERNAL;
	if (agent_key_open(kek, aad, db_col_blob(st, 2),
	    (size_t)db_col_bytes(st, 2), raw) == -1)
		goto out;
	cry_hex(raw, sizeof(raw), secret);
	cry_wipe(raw, sizeof(raw));
	db_stmt_done(st);
	st = NULL;
	e = auth_member_principal(db, user, tenant, p);
out:
	db_stmt_done(st);
	if (e != FS_OK)
		cry_wipe(secret, S3KEY_SECRET_MAX + 1);
	return e;
}
