/*
 * upload_db: the uploads table (upload_db.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "upload_db.h"

#define UPLOAD_COLS	"id, tenant_id, creator_id, key, COALESCE(length, -1)," \
			" upload_offset, expires_at, metadata, content_type," \
			" COALESCE(folder_id, ''), store_state, created_at," \
			" sha_state, (SELECT count(*) FROM upload_parts" \
			" WHERE upload_id = uploads.id), (SELECT" \
			" COALESCE(SUM(size), 0) FROM upload_parts" \
			" WHERE upload_id = uploads.id), stage_host," \
			" (SELECT sha_state FROM upload_parts WHERE" \
			" upload_id = uploads.id ORDER BY part_number DESC" \
			" LIMIT 1)"

static enum fs_err
db_err(struct db *db)
{
	return (db_errcode(db) & 0xff) == DB_FULL ? FS_NO_SPACE :
	    FS_INTERNAL;
}

static void
col_text(struct db_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *t = db_col_text(st, i);

	snprintf(dst, len, "%s", t != NULL ? (const char *)t : "");
}

/* A malloc'd copy of column i, NULL for NULL; -1 when out of memory. */
static int
col_dup(struct db_stmt *st, int i, char **out)
{
	const unsigned char *t = db_col_text(st, i);

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
row_from_stmt(struct db_stmt *st, struct upload_row *u)
{
	col_text(st, 0, u->id, sizeof(u->id));
	col_text(st, 1, u->tenant_id, sizeof(u->tenant_id));
	col_text(st, 2, u->creator_id, sizeof(u->creator_id));
	u->length = db_col_int64(st, 4);
	u->offset = db_col_int64(st, 5);
	u->expires_at = db_col_int64(st, 6);
	col_text(st, 8, u->content_type, sizeof(u->content_type));
	col_text(st, 9, u->folder_id, sizeof(u->folder_id));
	u->created_at = db_col_int64(st, 11);
	u->nparts = db_col_int(st, 13);
	u->parts_bytes = db_col_int64(st, 14);
	if (col_dup(st, 3, &u->key) == -1 || u->key == NULL ||
	    col_dup(st, 7, &u->metadata) == -1 || u->metadata == NULL ||
	    col_dup(st, 10, &u->store_state) == -1 ||
	    col_dup(st, 12, &u->sha_state) == -1 ||
	    col_dup(st, 15, &u->stage_host) == -1 ||
	    col_dup(st, 16, &u->part_sha) == -1)
		return -1;
	return 0;
}

enum fs_err
upload_insert(struct db *db, const struct upload_row *u)
{
	struct db_stmt *st;
	enum fs_err e;

	st = db_stmt(db, "INSERT INTO uploads (id, tenant_id, creator_id,"
	    " key, length, upload_offset, expires_at, metadata, content_type,"
	    " folder_id, store_state, created_at, stage_host)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	    " ?13)");
	if (st == NULL)
		return db_err(db);
	db_bind_text(st, 1, u->id, -1);
	db_bind_text(st, 2, u->tenant_id, -1);
	db_bind_text(st, 3, u->creator_id, -1);
	db_bind_text(st, 4, u->key, -1);
	if (u->length >= 0)
		db_bind_int64(st, 5, u->length);
	db_bind_int64(st, 6, u->offset);
	db_bind_int64(st, 7, u->expires_at);
	db_bind_text(st, 8, u->metadata, -1);
	db_bind_text(st, 9, u->content_type, -1);
	if (u->folder_id[0] != '\0')
		db_bind_text(st, 10, u->folder_id, -1);
	if (u->store_state != NULL)
		db_bind_text(st, 11, u->store_state, -1);
	db_bind_int64(st, 12, u->created_at);
	if (u->stage_host != NULL)
		db_bind_text(st, 13, u->stage_host, -1);
	e = db_step(st) == DB_DONE ? FS_OK : db_err(db);
	db_stmt_done(st);
	return e;
}

enum fs_err
upload_load(struct db *db, const char *id, const struct principal *p,
    struct upload_row *u)
{
	struct db_stmt *st;
	enum fs_err e = FS_INTERNAL;
	int rc;

	memset(u, 0, sizeof(*u));
	st = db_stmt(db, "SELECT " UPLOAD_COLS " FROM uploads WHERE id = ?1"
	    " AND (CAST(?2 AS TEXT) IS NULL OR"
	    " (tenant_id = ?2 AND creator_id = ?3))");
	if (st == NULL)
		return FS_INTERNAL;
	db_bind_text(st, 1, id, -1);
	if (p != NULL) {
		db_bind_text(st, 2, p->tenant_id, -1);
		db_bind_text(st, 3, p->user_id, -1);
	}
	rc = db_step(st);
	if (rc == DB_ROW)
		e = row_from_stmt(st, u) == 0 ? FS_OK : FS_INTERNAL;
	else if (rc == DB_DONE)
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
	free(u->stage_host);
	free(u->part_sha);
	u->key = u->metadata = u->store_state = u->sha_state = NULL;
	u->stage_host = u->part_sha = NULL;
}

/* Run st (bound, from db_stmt) as a change of one row of uploads. */
static enum fs_err
change(struct db *db, struct db_stmt *st)
{
	enum fs_err e;

	e = db_step(st) == DB_DONE ? FS_OK : db_err(db);
	if (e == FS_OK && db_changes(db) == 0)
		e = FS_NOT_FOUND;
	db_stmt_done(st);
	return e;
}

/*
 * The condition of a change by host, the holder of the stage: a row
 * older than stage_host (NULL) is whoever has the stage file's.
 */
#define HELD_BY(n)	" AND (stage_host IS NULL OR stage_host = ?" #n ")"

/* A change of the held row: none changed is FS_CONFLICT (moved). */
static enum fs_err
held_change(struct db *db, struct db_stmt *st)
{
	enum fs_err e = change(db, st);

	return e == FS_NOT_FOUND ? FS_CONFLICT : e;
}

/*
 * st (from db_stmt in a transaction of db_begin's; NULL: it failed) as a
 * held change, then the transaction's end: COMMIT, or ROLLBACK.
 */
static enum fs_err
held_commit(struct db *db, struct db_stmt *st)
{
	enum fs_err e;

	e = st != NULL ? held_change(db, st) : db_err(db);
	if (e != FS_OK) {
		db_rollback(db);
		return e;
	}
	return db_commit(db) == DB_OK ? FS_OK : db_err(db);
}

enum fs_err
upload_advance(struct db *db, const char *id, const char *host,
    long long from, long long offset, const char *sha_state,
    long long expires_at)
{
	struct db_stmt *st;

	st = db_stmt(db, "UPDATE uploads SET upload_offset = ?1,"
	    " sha_state = ?2, expires_at = ?3 WHERE id = ?4"
	    " AND upload_offset = ?6" HELD_BY(5));
	if (st == NULL)
		return db_err(db);
	db_bind_int64(st, 1, offset);
	if (sha_state != NULL)
		db_bind_text(st, 2, sha_state, -1);
	db_bind_int64(st, 3, expires_at);
	db_bind_text(st, 4, id, -1);
	db_bind_text(st, 5, host, -1);
	db_bind_int64(st, 6, from);
	return held_change(db, st);
}

enum fs_err
upload_set_store_state(struct db *db, const char *id, const char *host,
    const char *state)
{
	struct db_stmt *st;

	st = db_stmt(db, "UPDATE uploads SET store_state = ?1 WHERE id = ?2"
	    " AND store_state IS NULL" HELD_BY(3));
	if (st == NULL)
		return db_err(db);
	db_bind_text(st, 1, state, -1);
	db_bind_text(st, 2, id, -1);
	db_bind_text(st, 3, host, -1);
	return held_change(db, st);
}

/*
 * Under the write lock (db_begin), as upload_take_over: a part recorded
 * is one the takeover's sum of the parts counts.
 */
enum fs_err
upload_part_add(struct db *db, const char *id, const char *host,
    const struct store_part *p, const char *sha_state)
{
	struct db_stmt *st;

	if (db_begin(db) != DB_OK)
		return db_err(db);
	st = db_stmt(db, "INSERT INTO upload_parts (upload_id,"
	    " part_number, size, etag, sha_state) SELECT ?1, ?2, ?3, ?4, ?6"
	    " WHERE EXISTS (SELECT 1 FROM uploads WHERE id = ?1" HELD_BY(5)
	    ") ON CONFLICT (upload_id, part_number) DO UPDATE SET"
	    " size = excluded.size, etag = excluded.etag,"
	    " sha_state = excluded.sha_state");
	if (st != NULL) {
		db_bind_text(st, 1, id, -1);
		db_bind_int(st, 2, p->number);
		db_bind_int64(st, 3, p->size);
		db_bind_text(st, 4, p->etag, -1);
		db_bind_text(st, 5, host, -1);
		if (sha_state != NULL)
			db_bind_text(st, 6, sha_state, -1);
	}
	return held_commit(db, st);
}

enum fs_err
upload_take_over(struct db *db, const char *id, const char *host,
    long long from)
{
	struct db_stmt *st;

	if (db_begin(db) != DB_OK)
		return db_err(db);
	st = db_stmt(db, "UPDATE uploads SET stage_host = ?1,"
	    " upload_offset = (SELECT COALESCE(SUM(size), 0)"
	    " FROM upload_parts WHERE upload_id = ?2),"
	    " sha_state = (SELECT sha_state FROM upload_parts"
	    " WHERE upload_id = ?2 ORDER BY part_number DESC LIMIT 1)"
	    " WHERE id = ?2 AND upload_offset = ?3");
	if (st != NULL) {
		db_bind_text(st, 1, host, -1);
		db_bind_text(st, 2, id, -1);
		db_bind_int64(st, 3, from);
	}
	return held_commit(db, st);
}

enum fs_err
upload_parts(struct db *db, const char *id, struct store_part **parts,
    int *n)
{
	struct db_stmt *st;
	struct store_part *v = NULL, *nv;
	int cap = 0, rc;
	enum fs_err e = FS_OK;

	*parts = NULL;
	*n = 0;
	st = db_stmt(db, "SELECT part_number, size, etag FROM upload_parts"
	    " WHERE upload_id = ?1 ORDER BY part_number");
	if (st == NULL)
		return db_err(db);
	db_bind_text(st, 1, id, -1);
	while ((rc = db_step(st)) == DB_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 64 : 2 * cap;
			nv = reallocarray(v, (size_t)cap, sizeof(*v));
			if (nv == NULL) {
				e = FS_INTERNAL;
				break;
			}
			v = nv;
		}
		v[*n].number = db_col_int(st, 0);
		v[*n].size = db_col_int64(st, 1);
		col_text(st, 2, v[*n].etag, sizeof(v[*n].etag));
		(*n)++;
	}
	if (e == FS_OK && rc != DB_DONE)
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
upload_set_length(struct db *db, const char *id, long long length)
{
	struct db_stmt *st;

	st = db_stmt(db, "UPDATE uploads SET length = ?1 WHERE id = ?2"
	    " AND length IS NULL");
	if (st == NULL)
		return db_err(db);
	db_bind_int64(st, 1, length);
	db_bind_text(st, 2, id, -1);
	return change(db, st);
}

enum fs_err
upload_delete(struct db *db, const char *id)
{
	struct db_stmt *st;
	enum fs_err e;

	/* Its upload_parts go with it (ON DELETE CASCADE). */
	st = db_stmt(db, "DELETE FROM uploads WHERE id = ?1");
	if (st == NULL)
		return db_err(db);
	db_bind_text(st, 1, id, -1);
	e = change(db, st);
	return e == FS_NOT_FOUND ? FS_OK : e;
}

int
upload_expired(struct db *db, long long now, char ids[][UPLOAD_ID_LEN + 1],
    int max)
{
	struct db_stmt *st;
	int n = 0, rc;

	st = db_stmt(db, "SELECT id FROM uploads WHERE expires_at <= ?1"
	    " ORDER BY expires_at LIMIT ?2");
	if (st == NULL)
		return -1;
	db_bind_int64(st, 1, now);
	db_bind_int(st, 2, max);
	while ((rc = db_step(st)) == DB_ROW && n < max)
		col_text(st, 0, ids[n++], UPLOAD_ID_LEN + 1);
	db_stmt_done(st);
	return rc == DB_DONE || rc == DB_ROW ? n : -1;
}

int
upload_exists(struct db *db, const char *id)
{
	struct db_stmt *st;
	int rc;

	st = db_stmt(db, "SELECT 1 FROM uploads WHERE id = ?1");
	if (st == NULL)
		return -1;
	db_bind_text(st, 1, id, -1);
	rc = db_exists(st);
	db_stmt_done(st);
	return rc;
}
