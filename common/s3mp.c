/*
 * s3mp: multipart uploads (s3mp.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "db.h"
#include "s3mp.h"

static enum fs_err
db_fail(struct db *db)
{
	return (db_errcode(db) & 0xff) == DB_FULL ? FS_NO_SPACE :
	    FS_INTERNAL;
}

static void
text(struct db_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *t = db_col_text(st, i);

	snprintf(dst, len, "%s", t != NULL ? (const char *)t : "");
}

static char *
text_dup(struct db_stmt *st, int i)
{
	const unsigned char *t = db_col_text(st, i);

	return t != NULL ? strdup((const char *)t) : NULL;
}

enum fs_err
s3mp_create(struct db *db, const char *tenant_id, const char *user_id,
    const char *pkey, const char *ctype, const char *meta,
    const char *assembly, char id[S3MP_ID_LEN + 1])
{
	unsigned char raw[S3MP_ID_LEN / 2];
	struct db_stmt *st;
	enum fs_err e;

	if (cry_random(raw, sizeof(raw)) == -1)
		return FS_INTERNAL;
	cry_hex(raw, sizeof(raw), id);
	st = db_stmt(db, "INSERT INTO s3_uploads (id, tenant_id, user_id,"
	    " key, content_type, meta, created_at, assembly)"
	    " VALUES (?,?,?,?,?,?,?,?)");
	if (st == NULL)
		return db_fail(db);
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, tenant_id, -1);
	db_bind_text(st, 3, user_id, -1);
	db_bind_text(st, 4, pkey, -1);
	db_bind_text(st, 5, ctype, -1);
	db_bind_text(st, 6, meta, -1);
	db_bind_int64(st, 7, db_now());
	db_bind_text(st, 8, assembly, -1);
	e = db_step(st) == DB_DONE ? FS_OK : db_fail(db);
	db_stmt_done(st);
	return e;
}

#define UPLOAD_COLS "id, tenant_id, user_id, key, content_type, meta," \
	" created_at, assembly, part_size, hash_off, hash_state"

static int
upload_from(struct db_stmt *st, struct s3mp_upload *u)
{
	memset(u, 0, sizeof(*u));
	text(st, 0, u->id, sizeof(u->id));
	text(st, 1, u->tenant_id, sizeof(u->tenant_id));
	text(st, 2, u->user_id, sizeof(u->user_id));
	u->key = text_dup(st, 3);
	text(st, 4, u->ctype, sizeof(u->ctype));
	u->meta = text_dup(st, 5);
	u->created_at = db_col_int64(st, 6);
	text(st, 7, u->assembly, sizeof(u->assembly));
	u->part_size = db_col_int64(st, 8);
	u->hash_off = db_col_int64(st, 9);
	text(st, 10, u->hash_state, sizeof(u->hash_state));
	return u->key == NULL ? -1 : 0;
}

enum fs_err
s3mp_load(struct db *db, const char *tenant_id, const char *id,
    struct s3mp_upload *u)
{
	struct db_stmt *st;
	enum fs_err e = FS_INTERNAL;
	int rc;

	memset(u, 0, sizeof(*u));
	st = db_stmt(db, "SELECT " UPLOAD_COLS " FROM s3_uploads"
	    " WHERE id = ? AND tenant_id = ?");
	if (st == NULL)
		return FS_INTERNAL;
	db_bind_text(st, 1, id, -1);
	db_bind_text(st, 2, tenant_id, -1);
	rc = db_step(st);
	if (rc == DB_DONE)
		e = FS_NOT_FOUND;
	else if (rc == DB_ROW && upload_from(st, u) == 0)
		e = FS_OK;
	db_stmt_done(st);
	return e;
}

enum fs_err
s3mp_hash_set(struct db *db, const char *id, long long from_off, long long off,
    const char *state)
{
	struct db_stmt *st;
	enum fs_err e;

	st = db_stmt(db, "UPDATE s3_uploads SET hash_off = ?, hash_state = ?"
	    " WHERE id = ? AND hash_off = ?");
	if (st == NULL)
		return FS_INTERNAL;
	db_bind_int64(st, 1, off);
	db_bind_text(st, 2, state, -1);
	db_bind_text(st, 3, id, -1);
	db_bind_int64(st, 4, from_off);
	e = db_step(st) == DB_DONE ? FS_OK : db_fail(db);
	db_stmt_done(st);
	return e;
}

void
s3mp_upload_free(struct s3mp_upload *u)
{
	if (u == NULL)
		return;
	free(u->key);
	free(u->meta);
	u->key = u->meta = NULL;
}

/* The pending name of part n of id into old ("" for none). */
static enum fs_err
part_pending(struct db *db, const char *id, int n, char *old, size_t len)
{
	struct db_stmt *st;
	int rc;

	old[0] = '\0';
	st = db_stmt(db, "SELECT pending FROM s3_parts"
	    " WHERE upload_id = ? AND part_number = ?");
	if (st == NULL)
		return FS_INTERNAL;
	db_bind_text(st, 1, id, -1);
	db_bind_int(st, 2, n);
	rc = db_step(st);
	if (rc == DB_ROW)
		text(st, 0, old, len);
	db_stmt_done(st);
	return rc == DB_ROW || rc == DB_DONE ? FS_OK : FS_INTERNAL;
}

enum fs_err
s3mp_part_put(struct db *db, const char *id, const struct s3mp_part *p,
    char old[FILES_PENDING_MAX + 1])
{
	struct db_stmt *st = NULL;
	enum fs_err e;

	old[0] = '\0';
	if (db_begin(db) != DB_OK)
		return db_fail(db);
	e = part_pending(db, id, p->number, old, FILES_PENDING_MAX + 1);
	if (e != FS_OK)
		goto out;
	st = db_stmt(db, "INSERT INTO s3_parts (upload_id,"
	    " part_number, size, md5, pending, created_at, part_offset)"
	    " SELECT id, ?2, ?3, ?4, ?5, ?6, ?7 FROM s3_uploads WHERE id = ?1"
	    " ON CONFLICT (upload_id, part_number) DO UPDATE SET"
	    " size = excluded.size, md5 = excluded.md5,"
	    " pending = excluded.pending, created_at = excluded.created_at,"
	    " part_offset = excluded.part_offset");
	if (st == NULL) {
		e = db_fail(db);
		goto out;
	}
	db_bind_text(st, 1, id, -1);
	db_bind_int(st, 2, p->number);
	db_bind_int64(st, 3, p->size);
	db_bind_text(st, 4, p->md5, -1);
	db_bind_text(st, 5, p->pending, -1);
	db_bind_int64(st, 6, db_now());
	db_bind_int64(st, 7, p->offset);
	if (db_step(st) != DB_DONE)
		e = db_fail(db);
	else if (db_changes(db) == 0)
		e = FS_NOT_FOUND;	/* aborted or completed meanwhile */
out:
	db_stmt_done(st);
	if (e == FS_OK && db_commit(db) != DB_OK)
		e = db_fail(db);
	if (e != FS_OK) {
		db_rollback(db);
		old[0] = '\0';
	}
	return e;
}

/* The step of st, then st done: FS_OK when it ran to the end. */
static enum fs_err
run(struct db *db, struct db_stmt *st)
{
	enum fs_err e;

	if (st == NULL)
		return db_fail(db);
	e = db_step(st) == DB_DONE ? FS_OK : db_fail(db);
	db_stmt_done(st);
	return e;
}

/* The assembly and part size of upload id (after fixing it to size). */
static enum fs_err
claim_size(struct db *db, const char *id, long long size,
    char pending[FILES_PENDING_MAX + 1], long long *ps)
{
	struct db_stmt *st;
	enum fs_err e;
	int rc;

	st = db_stmt(db, "UPDATE s3_uploads SET part_size = ?2"
	    " WHERE id = ?1 AND part_size IS NULL AND assembly IS NOT NULL");
	if (st != NULL) {
		db_bind_text(st, 1, id, -1);
		db_bind_int64(st, 2, size);
	}
	e = run(db, st);
	if (e != FS_OK)
		return e;
	st = db_stmt(db, "SELECT assembly, part_size FROM s3_uploads"
	    " WHERE id = ?");
	if (st == NULL)
		return db_fail(db);
	db_bind_text(st, 1, id, -1);
	rc = db_step(st);
	e = rc == DB_ROW ? FS_OK : rc == DB_DONE ? FS_NOT_FOUND :
	    db_fail(db);
	if (rc == DB_ROW) {
		text(st, 0, pending, FILES_PENDING_MAX + 1);
		*ps = db_col_int64(st, 1);
	}
	db_stmt_done(st);
	return e;
}

enum fs_err
s3mp_claim(struct db *db, const char *id, int number, long long size,
    long long *off)
{
	char pending[FILES_PENDING_MAX + 1];
	struct db_stmt *st;
	long long ps = 0, at = 0;
	enum fs_err e;

	*off = -1;
	if (size <= 0)
		return FS_CONFLICT;
	if (db_begin(db) != DB_OK)
		return db_fail(db);
	e = claim_size(db, id, size, pending, &ps);
	if (e == FS_OK && (pending[0] == '\0' || ps <= 0 || size > ps ||
	    (long long)(number - 1) > (LLONG_MAX - ps) / ps))
		e = FS_CONFLICT;
	if (e != FS_OK)
		goto out;
	at = (long long)(number - 1) * ps;
	st = db_stmt(db, "INSERT INTO s3_parts (upload_id,"
	    " part_number, size, md5, pending, created_at, part_offset)"
	    " VALUES (?1, ?2, ?3, '', ?4, ?5, ?6) ON CONFLICT DO NOTHING");
	if (st != NULL) {
		db_bind_text(st, 1, id, -1);
		db_bind_int(st, 2, number);
		db_bind_int64(st, 3, size);
		db_bind_text(st, 4, pending, -1);
		db_bind_int64(st, 5, db_now());
		db_bind_int64(st, 6, at);
	}
	e = run(db, st);
	if (e == FS_OK && db_changes(db) == 0)
		e = FS_CONFLICT;	/* part number has a row already */
out:
	if (e == FS_OK && db_commit(db) != DB_OK)
		e = db_fail(db);
	if (e != FS_OK)
		db_rollback(db);
	else
		*off = at;
	return e;
}

void
s3mp_unclaim(struct db *db, const char *id, int number)
{
	struct db_stmt *st;

	st = db_stmt(db, "DELETE FROM s3_parts WHERE upload_id = ?"
	    " AND part_number = ? AND md5 = ''");
	if (st != NULL) {
		db_bind_text(st, 1, id, -1);
		db_bind_int(st, 2, number);
	}
	(void)run(db, st);
}

int
s3mp_in_place(const struct s3mp_upload *u, struct s3mp_part *const *chosen,
    size_t n, const struct s3mp_part *have, size_t nhave, long long *total)
{
	const struct s3mp_part *p;
	long long ps = u->part_size;
	size_t i;

	*total = 0;
	if (u->assembly[0] == '\0' || ps <= 0 || n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		p = chosen[i];
		/* One in its own object (a re-upload) is copied there. */
		if ((size_t)p->number != i + 1 || p->size > ps ||
		    (i + 1 < n && p->size != ps) ||
		    (strcmp(p->pending, u->assembly) == 0 &&
		    p->offset != (long long)i * ps))
			return 0;
		*total += p->size;
	}
	for (i = 0; i < nhave; i++)
		if (have[i].number > (int)n &&
		    strcmp(have[i].pending, u->assembly) == 0)
			return 0;	/* cut off with the file's tail */
	return 1;
}

enum fs_err
s3mp_parts(struct db *db, const char *id, struct s3mp_part **parts, size_t *n)
{
	struct s3mp_part *v = NULL, *nv;
	struct db_stmt *st;
	size_t cap = 0;
	int rc;

	*parts = NULL;
	*n = 0;
	st = db_stmt(db, "SELECT part_number, size, md5, pending, created_at,"
	    " part_offset FROM s3_parts WHERE upload_id = ? AND md5 != ''"
	    " ORDER BY part_number");
	if (st == NULL)
		return FS_INTERNAL;
	db_bind_text(st, 1, id, -1);
	while ((rc = db_step(st)) == DB_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			nv = reallocarray(v, cap, sizeof(*v));
			if (nv == NULL) {
				rc = DB_NOMEM;
				break;
			}
			v = nv;
		}
		memset(&v[*n], 0, sizeof(v[*n]));
		v[*n].number = db_col_int(st, 0);
		v[*n].size = db_col_int64(st, 1);
		text(st, 2, v[*n].md5, sizeof(v[*n].md5));
		text(st, 3, v[*n].pending, sizeof(v[*n].pending));
		v[*n].created_at = db_col_int64(st, 4);
		v[*n].offset = db_col_int64(st, 5);
		(*n)++;
	}
	db_stmt_done(st);
	if (rc != DB_DONE) {
		free(v);
		*n = 0;
		return FS_INTERNAL;
	}
	*parts = v;
	return FS_OK;
}

enum fs_err
s3mp_delete(struct db *db, const char *id)
{
	struct db_stmt *st;
	enum fs_err e;

	st = db_stmt(db, "DELETE FROM s3_uploads WHERE id = ?");
	if (st == NULL)
		return db_fail(db);
	db_bind_text(st, 1, id, -1);
	e = db_step(st) == DB_DONE ? FS_OK : db_fail(db);
	db_stmt_done(st);
	return e;
}

int
s3mp_each(struct db *db, const char *tenant_id, const char *user_id,
    const char *pkey_prefix, void (*fn)(void *, const struct s3mp_upload *),
    void *arg)
{
	struct s3mp_upload u;
	struct db_stmt *st;
	int rc;

	st = db_stmt(db, "SELECT " UPLOAD_COLS " FROM s3_uploads"
	    " WHERE tenant_id = ?1 AND"
	    " (CAST(?2 AS TEXT) IS NULL OR user_id = ?2)"
	    " AND substr(key, 1, length(?3)) = ?3"
	    " ORDER BY key, created_at LIMIT 1000");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, tenant_id, -1);
	db_bind_text(st, 2, user_id, -1);
	db_bind_text(st, 3, pkey_prefix, -1);
	while ((rc = db_step(st)) == DB_ROW) {
		if (upload_from(st, &u) == -1) {
			s3mp_upload_free(&u);
			rc = DB_NOMEM;
			break;
		}
		fn(arg, &u);
		s3mp_upload_free(&u);
	}
	db_stmt_done(st);
	return rc == DB_DONE ? 0 : -1;
}
