/*
 * upload_db: the uploads table (upload_db.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "upload_db.h"

#define UPLOAD_COLS	"id, tenant_id, creator_id, key, IFNULL(length, -1)," \
			" upload_offset, expires_at, metadata, content_type," \
			" IFNULL(folder_id, ''), store_state, created_at," \
			" sha_state, (SELECT count(*) FROM upload_parts" \
			" WHERE upload_id = uploads.id), (SELECT" \
			" IFNULL(SUM(size), 0) FROM upload_parts" \
			" WHERE upload_id = uploads.id)"

static enum fs_err
db_err(sqlite3 *db)
{
	return (sqlite3_errcode(db) & 0xff) == SQLITE_FULL ? FS_NO_SPACE :
	    FS_INTERNAL;
}

static void
col_text(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(dst, len, "%s", t != NULL ? (const char *)t : "");
}

/* A malloc'd copy of column i, NULL for NULL; -1 when out of memory. */
static int
col_dup(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	*out = NULL;
	if (t == NULL)
		return 0;
	*out = strdup((const char *)t);
	return *out == NULL ? -1 : 0;
}

int
upload_id_ok(const char *s)
{
	return s != NULL && strlen(s) == UPLOAD_ID_LEN &&
	    strspn(s, "0123456789abcdef") == UPLOAD_ID_LEN;
}

static int
row_from_stmt(sqlite3_stmt *st, struct upload_row *u)
{
	col_text(st, 0, u->id, sizeof(u->id));
	col_text(st, 1, u->tenant_id, sizeof(u->tenant_id));
	col_text(st, 2, u->creator_id, sizeof(u->creator_id));
	u->length = sqlite3_column_int64(st, 4);
	u->offset = sqlite3_column_int64(st, 5);
	u->expires_at = sqlite3_column_int64(st, 6);
	col_text(st, 8, u->content_type, sizeof(u->content_type));
	col_text(st, 9, u->folder_id, sizeof(u->folder_id));
	u->created_at = sqlite3_column_int64(st, 11);
	u->nparts = sqlite3_column_int(st, 13);
	u->parts_bytes = sqlite3_column_int64(st, 14);
	if (col_dup(st, 3, &u->key) == -1 || u->key == NULL ||
	    col_dup(st, 7, &u->metadata) == -1 || u->metadata == NULL ||
	    col_dup(st, 10, &u->store_state) == -1 ||
	    col_dup(st, 12, &u->sha_state) == -1)
		return -1;
	return 0;
}

enum fs_err
upload_insert(sqlite3 *db, const struct upload_row *u)
{
	sqlite3_stmt *st;
	enum fs_err e;

	st = db_stmt(db, "INSERT INTO uploads (id, tenant_id, creator_id,"
	    " key, length, upload_offset, expires_at, metadata, content_type,"
	    " folder_id, store_state, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
	if (st == NULL)
		return db_err(db);
	sqlite3_bind_text(st, 1, u->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, u->tenant_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, u->creator_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, u->key, -1, SQLITE_TRANSIENT);
	if (u->length >= 0)
		sqlite3_bind_int64(st, 5, u->length);
	sqlite3_bind_int64(st, 6, u->offset);
	sqlite3_bind_int64(st, 7, u->expires_at);
	sqlite3_bind_text(st, 8, u->metadata, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, u->content_type, -1, SQLITE_TRANSIENT);
	if (u->folder_id[0] != '\0')
		sqlite3_bind_text(st, 10, u->folder_id, -1, SQLITE_TRANSIENT);
	if (u->store_state != NULL)
		sqlite3_bind_text(st, 11, u->store_state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 12, u->created_at);
	e = sqlite3_step(st) == SQLITE_DONE ? FS_OK : db_err(db);
	db_stmt_done(st);
	return e;
}

enum fs_err
upload_load(sqlite3 *db, const char *id, const struct principal *p,
    struct upload_row *u)
{
	sqlite3_stmt *st;
	enum fs_err e = FS_INTERNAL;
	int rc;

	memset(u, 0, sizeof(*u));
	st = db_stmt(db, "SELECT " UPLOAD_COLS " FROM uploads WHERE id = ?1"
	    " AND (?2 IS NULL OR (tenant_id = ?2 AND creator_id = ?3))");
	if (st == NULL)
		return FS_INTERNAL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (p != NULL) {
		sqlite3_bind_text(st, 2, p->tenant_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, p->user_id, -1, SQLITE_TRANSIENT);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		e = row_from_stmt(st, u) == 0 ? FS_OK : FS_INTERNAL;
	else if (rc == SQLITE_DONE)
		e = FS_NOT_FOUND;
	db_stmt_done(st);
	return e;
}

void
upload_row_free(struct upload_row *u)
{
	if (u == NULL)
		return;
	free(u->key);
	free(u->metadata);
	free(u->store_state);
	free(u->sha_state);
	u->key = u->metadata = u->store_state = u->sha_state = NULL;
}

/* Run st (bound, from db_stmt) as a change of one row of uploads. */
static enum fs_err
change(sqlite3 *db, sqlite3_stmt *st)
{
	enum fs_err e;

	e = sqlite3_step(st) == SQLITE_DONE ? FS_OK : db_err(db);
	if (e == FS_OK && sqlite3_changes(db) == 0)
		e = FS_NOT_FOUND;
	db_stmt_done(st);
	return e;
}

enum fs_err
upload_advance(sqlite3 *db, const char *id, long long offset,
    const char *sha_state, long long expires_at)
{
	sqlite3_stmt *st;

	st = db_stmt(db, "UPDATE uploads SET upload_offset = ?1,"
	    " sha_state = ?2, expires_at = ?3 WHERE id = ?4");
	if (st == NULL)
		return db_err(db);
	sqlite3_bind_int64(st, 1, offset);
	if (sha_state != NULL)
		sqlite3_bind_text(st, 2, sha_state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, expires_at);
	sqlite3_bind_text(st, 4, id, -1, SQLITE_TRANSIENT);
	return change(db, st);
}

enum fs_err
upload_set_store_state(sqlite3 *db, const char *id, const char *state)
{
	sqlite3_stmt *st;

	st = db_stmt(db, "UPDATE uploads SET store_state = ?1 WHERE id = ?2");
	if (st == NULL)
		return db_err(db);
	if (state != NULL)
		sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	return change(db, st);
}

enum fs_err
upload_part_add(sqlite3 *db, const char *id, const struct store_part *p)
{
	sqlite3_stmt *st;
	enum fs_err e;

	st = db_stmt(db, "INSERT OR REPLACE INTO upload_parts (upload_id,"
	    " part_number, size, etag) SELECT ?1, ?2, ?3, ?4"
	    " WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ?1)");
	if (st == NULL)
		return db_err(db);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, p->number);
	sqlite3_bind_int64(st, 3, p->size);
	sqlite3_bind_text(st, 4, p->etag, -1, SQLITE_TRANSIENT);
	e = change(db, st);
	return e;
}

enum fs_err
upload_parts(sqlite3 *db, const char *id, struct store_part **parts,
    int *n)
{
	sqlite3_stmt *st;
	struct store_part *v = NULL, *nv;
	int cap = 0, rc;
	enum fs_err e = FS_OK;

	*parts = NULL;
	*n = 0;
	st = db_stmt(db, "SELECT part_number, size, etag FROM upload_parts"
	    " WHERE upload_id = ?1 ORDER BY part_number");
	if (st == NULL)
		return db_err(db);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 64 : 2 * cap;
			nv = reallocarray(v, (size_t)cap, sizeof(*v));
			if (nv == NULL) {
				e = FS_INTERNAL;
				break;
			}
			v = nv;
		}
		v[*n].number = sqlite3_column_int(st, 0);
		v[*n].size = sqlite3_column_int64(st, 1);
		col_text(st, 2, v[*n].etag, sizeof(v[*n].etag));
		(*n)++;
	}
	if (e == FS_OK && rc != SQLITE_DONE)
		e = db_err(db);
	db_stmt_done(st);
	if (e != FS_OK) {
		free(v);
		v = NULL;
		*n = 0;
	}
	*parts = v;
	return e;
}

enum fs_err
upload_set_length(sqlite3 *db, const char *id, long long length)
{
	sqlite3_stmt *st;

	st = db_stmt(db, "UPDATE uploads SET length = ?1 WHERE id = ?2"
	    " AND length IS NULL");
	if (st == NULL)
		return db_err(db);
	sqlite3_bind_int64(st, 1, length);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	return change(db, st);
}

enum fs_err
upload_delete(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st;
	enum fs_err e;

	/* Its upload_parts go with it (ON DELETE CASCADE). */
	st = db_stmt(db, "DELETE FROM uploads WHERE id = ?1");
	if (st == NULL)
		return db_err(db);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	e = change(db, st);
	return e == FS_NOT_FOUND ? FS_OK : e;
}

int
upload_expired(sqlite3 *db, long long now, char ids[][UPLOAD_ID_LEN + 1],
    int max)
{
	sqlite3_stmt *st;
	int n = 0, rc;

	st = db_stmt(db, "SELECT id FROM uploads WHERE expires_at <= ?1"
	    " ORDER BY expires_at LIMIT ?2");
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max)
		col_text(st, 0, ids[n++], UPLOAD_ID_LEN + 1);
	db_stmt_done(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? n : -1;
}

int
upload_exists(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st;
	int rc;

	st = db_stmt(db, "SELECT 1 FROM uploads WHERE id = ?1");
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = db_exists(st);
	db_stmt_done(st);
	return rc;
}
