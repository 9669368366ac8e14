/*
 * files: rows of the files table and the permission checks on them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "files.h"
#include "key.h"
#include "perm.h"
#include "store.h"

#define ROW_COLS "key, tenant_id, size, content_type, sha256, acl," \
	" COALESCE(owner_id, ''), COALESCE(folder_id, ''), created_at," \
	" updated_at, COALESCE(pending, ''), COALESCE(md5, '')"

static void
col_text(struct db_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *t = db_col_text(st, i);

	snprintf(dst, len, "%s", t != NULL ? (const char *)t : "");
}

static int
row_from_stmt(struct db_stmt *st, struct file_row *f)
{
	memset(f, 0, sizeof(*f));
	f->key = strdup((const char *)db_col_text(st, 0));
	if (f->key == NULL)
		return -1;
	col_text(st, 1, f->tenant_id, sizeof(f->tenant_id));
	f->size = db_col_int64(st, 2);
	col_text(st, 3, f->content_type, sizeof(f->content_type));
	col_text(st, 4, f->sha256, sizeof(f->sha256));
	col_text(st, 5, f->acl, sizeof(f->acl));
	col_text(st, 6, f->owner_id, sizeof(f->owner_id));
	col_text(st, 7, f->folder_id, sizeof(f->folder_id));
	f->created_at = db_col_int64(st, 8);
	f->updated_at = db_col_int64(st, 9);
	col_text(st, 10, f->pending, sizeof(f->pending));
	col_text(st, 11, f->md5, sizeof(f->md5));
	return 0;
}

/*
 * Step sql with pkey bound to its "?": FS_OK with *st on the row,
 * FS_NOT_FOUND when there is none, else FS_INTERNAL. The caller ends *st
 * with db_stmt_done in every case.
 */
static enum fs_err
key_lookup(struct db *db, const char *sql, const char *pkey,
    struct db_stmt **st)
{
	int rc;

	*st = db_stmt(db, sql);
	if (*st == NULL)
		return FS_INTERNAL;
	db_bind_text(*st, 1, pkey, -1);
	rc = db_step(*st);
	if (rc == DB_ROW)
		return FS_OK;
	return rc == DB_DONE ? FS_NOT_FOUND : FS_INTERNAL;
}

enum fs_err
file_load(struct db *db, const char *pkey, struct file_row *f)
{
	struct db_stmt *st;
	enum fs_err e;

	memset(f, 0, sizeof(*f));
	e = key_lookup(db, "SELECT " ROW_COLS " FROM files WHERE key = ?", pkey,
	    &st);
	if (e == FS_OK && row_from_stmt(st, f) != 0)
		e = FS_INTERNAL;
	db_stmt_done(st);
	return e;
}

enum fs_err
file_load_allowed(struct db *db, const struct principal *p,
    enum perm_action action, const char *pkey, struct file_row *f)
{
	struct perm_sql cond;
	struct perm_vars v = { p->user_id, p->tenant_id };
	struct db_stmt *st = NULL;
	enum fs_err e = FS_INTERNAL;
	char *sql;
	int rc;

	memset(f, 0, sizeof(*f));
	rc = perm_lookup(db, p->role_id, PERM_FILES, action, &v, &cond);
	if (rc != 1)
		return rc == 0 ? FS_NOT_FOUND : FS_INTERNAL;
	/* One statement, so one round trip on PostgreSQL: the row when it
	 * exists and the condition holds for it, else none. */
	if (asprintf(&sql, "SELECT " ROW_COLS " FROM files WHERE key = ?"
	    " AND tenant_id = ? AND (%s)", cond.where) != -1) {
		st = db_stmt(db, sql);
		free(sql);
	}
	if (st != NULL) {
		db_bind_text(st, 1, pkey, -1);
		db_bind_text(st, 2, p->tenant_id, -1);
		if (perm_bind(st, 3, &cond) == DB_OK) {
			rc = db_step(st);
			if (rc == DB_ROW)
				e = row_from_stmt(st, f) == 0 ? FS_OK :
				    FS_INTERNAL;
			else if (rc == DB_DONE)
				e = FS_NOT_FOUND;
		}
	}
	db_stmt_done(st);
	perm_sql_free(&cond);
	return e;
}

void
file_row_free(struct file_row *f)
{
	if (f == NULL)
		return;
	free(f->key);
	f->key = NULL;
}

int
file_allowed(struct db *db, const struct principal *p, enum perm_action action,
    const char *pkey)
{
	return perm_allowed(db, p, PERM_FILES, action, "key", pkey);
}

int
file_create_allowed(struct db *db, const struct principal *p, const char *pkey,
    const char *content_type, long long size)
{
	long long now = db_now();
	const struct perm_cell row[] = {
		{ "key", pkey, 0, 0 },
		{ "tenant_id", p->tenant_id, 0, 0 },
		{ "owner_id", p->user_id, 0, 0 },
		{ "acl", "private", 0, 0 },
		{ "content_type", content_type, 0, 0 },
		{ "size", NULL, size, 1 },
		{ "created_at", NULL, now, 1 },
		{ "updated_at", NULL, now, 1 },
	};

	return perm_create_allowed(db, p, PERM_FILES, row,
	    sizeof(row) / sizeof(row[0]));
}

cJSON *
file_json(const struct file_row *f)
{
	cJSON *j;
	const char *logical;
	char t[32], etag[70];

	j = cJSON_CreateObject();
	if (j == NULL)
		return NULL;
	logical = key_logical(f->tenant_id, f->key);
	cJSON_AddStringToObject(j, "key", logical != NULL ? logical : "");
	cJSON_AddNumberToObject(j, "size", (double)f->size);
	cJSON_AddStringToObject(j, "contentType", f->content_type);
	cJSON_AddStringToObject(j, "acl", f->acl);
	if (f->folder_id[0] != '\0')
		cJSON_AddStringToObject(j, "folderId", f->folder_id);
	else
		cJSON_AddNullToObject(j, "folderId");
	if (f->owner_id[0] != '\0')
		cJSON_AddStringToObject(j, "ownerId", f->owner_id);
	else
		cJSON_AddNullToObject(j, "ownerId");
	snprintf(etag, sizeof(etag), "\"%s\"", f->sha256);
	cJSON_AddStringToObject(j, "etag", etag);
	cJSON_AddStringToObject(j, "sha256", f->sha256);
	db_iso8601(f->created_at, t);
	cJSON_AddStringToObject(j, "createdAt", t);
	db_iso8601(f->updated_at, t);
	cJSON_AddStringToObject(j, "updatedAt", t);
	return j;
}

/* RFC 9110 token characters. */
static int
is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

int
file_content_type_ok(const char *ct)
{
	const char *s = ct;
	size_t n = 0;

	if (strlen(ct) == 0 || strlen(ct) > FILES_CTYPE_MAX)
		return 0;
	/* type "/" subtype, then anything printable (parameters). */
	while (is_tchar((unsigned char)*s)) {
		s++;
		n++;
	}
	if (n == 0 || *s != '/')
		return 0;
	s++;
	n = 0;
	while (is_tchar((unsigned char)*s)) {
		s++;
		n++;
	}
	if (n == 0)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int
file_content_type_wildcard(const char *ct)
{
	const char *slash = strchr(ct, '/'), *sub;
	size_t sublen;
	int wt, ws;

	if (slash == NULL)
		return 0;
	sub = slash + 1;
	sublen = strcspn(sub, "; \t");
	wt = slash - ct == 1 && ct[0] == '*';
	ws = sublen == 1 && sub[0] == '*';
	if (wt && ws)
		return 2;
	return wt || ws;
}

int
file_type_is_active(const char *ct)
{
	static const char *active[] = { "text/html", "application/xhtml",
	    "image/svg", "text/xml", "application/xml", "text/javascript",
	    "application/javascript", "application/ecmascript",
	    "text/ecmascript", "application/x-shockwave-flash",
	    "application/pdf", "text/xsl", "multipart/" };
	const char *semi = strchr(ct, ';');
	size_t i, n = semi != NULL ? (size_t)(semi - ct) : strlen(ct);

	for (i = 0; i < sizeof(active) / sizeof(active[0]); i++)
		if (strncasecmp(ct, active[i], strlen(active[i])) == 0)
			return 1;
	/* Any "+xml" suffix type (RFC 6839) is XML a browser may render. */
	return n >= 4 && strncasecmp(ct + n - 4, "+xml", 4) == 0;
}

struct db_stmt *
file_list_stmt(struct db *db, const char *tenant_id, const char *prefix,
    const char *after, const struct perm_sql *cond, int limit)
{
	struct db_stmt *st = NULL;
	char *lo = NULL, *hi = NULL, *cur = NULL;
	const char *args[3];
	size_t n;

	/*
	 * A prefix is the half-open key range [lo, hi): hi is lo followed
	 * by KEY_PAST, past every key that starts with lo. Both engines
	 * compare keys bytewise (BINARY, COLLATE "C"). This is a range scan
	 * of the primary key.
	 */
	n = strlen("tenants/") + strlen(tenant_id) + 1 + strlen(prefix) + 1;
	lo = malloc(n);
	hi = malloc(n + strlen(KEY_PAST));
	if (lo == NULL || hi == NULL)
		goto fail;
	snprintf(lo, n, "tenants/%s/%s", tenant_id, prefix);
	snprintf(hi, n + strlen(KEY_PAST), "%s%s", lo, KEY_PAST);
	/* With no cursor, "after" the bare tenant prefix is every key. */
	n = strlen("tenants/") + strlen(tenant_id) + 1 + strlen(after) + 1;
	cur = malloc(n);
	if (cur == NULL)
		goto fail;
	snprintf(cur, n, "tenants/%s/%s", tenant_id, after);
	args[0] = lo;
	args[1] = hi;
	args[2] = cur;
	/*
	 * The condition's "?" take 4..n in text order; LIMIT's "?" comes
	 * after them, so it is the last parameter.
	 */
	st = perm_prepare(db, "SELECT " ROW_COLS " FROM files WHERE key >= ?1"
	    " AND key < ?2 AND key > ?3 AND ", cond, " ORDER BY key LIMIT ?",
	    args, 3);
	if (st == NULL)
		goto fail;
	db_bind_int(st, db_bind_count(st), limit + 1);
	goto out;
fail:
	db_finalize(st);
	st = NULL;
out:
	free(lo);
	free(hi);
	free(cur);
	return st;
}

int
file_row_from_stmt(struct db_stmt *st, struct file_row *f)
{
	return row_from_stmt(st, f);
}

int
file_page(struct db *db, const struct principal *p, const char *prefix,
    const char *after, int limit, cJSON *items, const char **last)
{
	struct perm_sql cond;
	struct perm_vars v = { p->user_id, p->tenant_id };
	struct file_row f;
	struct db_stmt *st;
	cJSON *it;
	int rc, n = 0, more = 0;

	*last = NULL;
	rc = perm_lookup(db, p->role_id, PERM_FILES, PERM_READ, &v, &cond);
	if (rc != 1)
		return rc;	/* no read permission at all: no rows */
	st = file_list_stmt(db, p->tenant_id, prefix, after, &cond, limit);
	perm_sql_free(&cond);
	if (st == NULL)
		return -1;
	memset(&f, 0, sizeof(f));
	while ((rc = db_step(st)) == DB_ROW) {
		if (n == limit && *last != NULL) {
			/* One row more than asked: there is a next page. */
			more = 1;
			break;
		}
		file_row_free(&f);
		if (row_from_stmt(st, &f) == -1) {
			rc = DB_NOMEM;
			break;
		}
		it = file_json(&f);
		cJSON_AddItemToArray(items, it);
		*last = cJSON_GetObjectItem(it, "key")->valuestring;
		n++;
	}
	file_row_free(&f);
	db_finalize(st);
	return rc == DB_ROW || rc == DB_DONE ? more : -1;
}

/*
 * Publish and delete (docs/decisions.md, "Publish and delete"): the SQL of
 * put, patch and delete, and the recovery of what a crash interrupted.
 */

/* What a failed statement or COMMIT means for the client. */
static enum fs_err
db_err(struct db *db)
{
	return (db_errcode(db) & 0xff) == DB_FULL ? FS_NO_SPACE :
	    FS_INTERNAL;
}

/* COMMIT, or ROLLBACK with the error the failure means. */
static enum fs_err
commit_or_rollback(struct db *db, enum fs_err e)
{
	if (e == FS_OK && db_commit(db) != DB_OK)
		e = db_err(db);
	if (e != FS_OK)
		db_rollback(db);
	return e;
}

/* Run sql, whose one parameter is pkey, to its end. */
static enum fs_err
key_stmt(struct db *db, const char *sql, const char *pkey)
{
	struct db_stmt *st;
	enum fs_err e;

	st = db_stmt(db, sql);
	if (st == NULL)
		return db_err(db);
	db_bind_text(st, 1, pkey, -1);
	e = db_step(st) == DB_DONE ? FS_OK : db_err(db);
	db_stmt_done(st);
	return e;
}

/* The pending name of pkey's row into out ("" for none). */
static enum fs_err
pending_of(struct db *db, const char *pkey, char out[FILES_PENDING_MAX + 1])
{
	struct db_stmt *st;
	enum fs_err e;

	out[0] = '\0';
	e = key_lookup(db, "SELECT COALESCE(pending, '') FROM files WHERE key = ?",
	    pkey, &st);
	if (e == FS_OK)
		col_text(st, 0, out, FILES_PENDING_MAX + 1);
	db_stmt_done(st);
	return e;
}

/*
 * Begin a write transaction and read pkey's pending name (pending_of):
 * FS_OK or FS_NOT_FOUND with the transaction open, else an error and
 * none.
 */
static enum fs_err
begin_pending(struct db *db, const char *pkey, char cur[FILES_PENDING_MAX + 1])
{
	enum fs_err e;

	if (db_begin(db) != DB_OK)
		return db_err(db);
	e = pending_of(db, pkey, cur);
	if (e != FS_OK && e != FS_NOT_FOUND)
		db_rollback(db);
	return e;
}

enum fs_err
file_upsert(struct db *db, const struct principal *p, const char *pkey,
    const char *ctype, long long size, const char *sha256, const char *pending,
    char old_pending[FILES_PENDING_MAX + 1])
{
	struct db_stmt *st;
	enum fs_err e;
	int rc;

	e = pending_of(db, pkey, old_pending);
	if (e != FS_OK && e != FS_NOT_FOUND)
		return db_err(db);
	/* An overwrite keeps owner, acl, folder and created_at. */
	st = db_stmt(db, "INSERT INTO files (key, tenant_id, size,"
	    " content_type, sha256, owner_id, created_at, updated_at, pending)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)"
	    " ON CONFLICT(key) DO UPDATE SET size = excluded.size,"
	    " content_type = excluded.content_type, sha256 = excluded.sha256,"
	    " updated_at = excluded.updated_at, pending = excluded.pending");
	if (st == NULL)
		return db_err(db);
	db_bind_text(st, 1, pkey, -1);
	db_bind_text(st, 2, p->tenant_id, -1);
	db_bind_int64(st, 3, size);
	db_bind_text(st, 4, ctype, -1);
	db_bind_text(st, 5, sha256, -1);
	db_bind_text(st, 6, p->user_id, -1);
	db_bind_int64(st, 7, db_now());
	db_bind_text(st, 8, pending, -1);
	rc = db_step(st);
	e = rc == DB_DONE ? FS_OK : db_err(db);
	db_stmt_done(st);
	return e;
}

enum fs_err
file_commit(struct db *db)
{
	return commit_or_rollback(db, FS_OK);
}

/*
 * A store step on the object of pkey, in a transaction that holds its row:
 * cur is the row's pending name, NULL when there is no row.
 */
typedef enum fs_err (*pending_step)(struct db *, struct store *,
    const char *pkey, const char *cur, const char *pending);

static enum fs_err
with_pending(struct db *db, struct store *s, const char *pkey,
    const char *pending, pending_step step)
{
	char cur[FILES_PENDING_MAX + 1];
	enum fs_err e;

	e = begin_pending(db, pkey, cur);
	if (e != FS_OK && e != FS_NOT_FOUND)
		return e;
	e = step(db, s, pkey, e == FS_OK ? cur : NULL, pending);
	return commit_or_rollback(db, e);
}

static enum fs_err
publish_step(struct db *db, struct store *s, const char *pkey,
    const char *cur, const char *pending)
{
	enum fs_err e;

	if (cur == NULL || strcmp(cur, pending) != 0)
		/* Deleted, or superseded by a later PUT: nobody wants it. */
		return store_drop_tmp(s, pending);
	e = store_publish(s, pending, pkey);
	if (e != FS_OK)
		return e;
	/* A failed COMMIT leaves pending: readers fall back; recovery. */
	return key_stmt(db, "UPDATE files SET pending = NULL WHERE key = ?",
	    pkey);
}

enum fs_err
file_publish(struct db *db, struct store *s, const char *pkey,
    const char *pending)
{
	return with_pending(db, s, pkey, pending, publish_step);
}

long long
file_recover(struct db *db, struct store *s, long long *failed)
{
	char *key = NULL, pending[FILES_PENDING_MAX + 1] = "";
	struct db_stmt *st;
	long long n = 0;
	int rc;

	*failed = 0;
	/* In the order of the pending names: the partial index, no scan. */
	for (;;) {
		st = db_stmt(db, "SELECT key, pending FROM files WHERE"
		    " pending > ? ORDER BY pending LIMIT 1");
		if (st == NULL)
			return -1;
		db_bind_text(st, 1, pending, -1);
		rc = db_step(st);
		if (rc == DB_ROW) {
			key = strdup((const char *)db_col_text(st, 0));
			col_text(st, 1, pending, sizeof(pending));
		}
		db_stmt_done(st);
		if (rc != DB_ROW || key == NULL)
			break;
		if (file_publish(db, s, key, pending) == FS_OK)
			n++;
		else
			(*failed)++;
		free(key);
		key = NULL;
	}
	return rc == DB_DONE ? n : -1;
}

int
file_pending_kept(void *db, const char *pending)
{
	struct db_stmt *st;
	int rc;

	/* An S3 multipart part (sql/0008), or the assembly file of an
	   upload (sql/0010), is a kept temporary object too. */
	st = db_stmt(db, "SELECT 1 FROM files WHERE pending = ?1"
	    " UNION ALL SELECT 1 FROM s3_parts WHERE pending = ?1"
	    " UNION ALL SELECT 1 FROM s3_uploads WHERE assembly = ?1");
	if (st == NULL)
		return 1;	/* in doubt, keep it */
	db_bind_text(st, 1, pending, -1);
	rc = db_step(st);
	db_stmt_done(st);
	return rc != DB_DONE;
}

enum fs_err
file_delete_row(struct db *db, const char *pkey,
    char pending[FILES_PENDING_MAX + 1])
{
	enum fs_err e;

	e = begin_pending(db, pkey, pending);
	if (e != FS_OK && e != FS_NOT_FOUND)
		return e;
	e = key_stmt(db, "DELETE FROM files WHERE key = ?", pkey);
	return commit_or_rollback(db, e);
}

static enum fs_err
remove_step(struct db *db, struct store *s, const char *pkey,
    const char *cur, const char *pending)
{
	enum fs_err e = FS_OK;

	/* A row again means a later PUT owns the object now. */
	if (cur == NULL)
		e = store_delete(s, pkey);
	/* The deleted row's pending object: a new row names its own. */
	if (e == FS_OK && pending != NULL && pending[0] != '\0')
		e = store_drop_tmp(s, pending);
	return e;
}

enum fs_err
file_remove_object(struct db *db, struct store *s, const char *pkey,
    const char *pending)
{
	return with_pending(db, s, pkey, pending, remove_step);
}

enum fs_err
file_patch(struct db *db, const char *pkey, const char *acl, int set_folder,
    const char *folder_id)
{
	struct db_stmt *st;
	enum fs_err e;
	int rc;

	st = db_stmt(db, "UPDATE files SET acl = COALESCE(?1, acl),"
	    " folder_id = CASE WHEN ?2 <> 0 THEN ?3 ELSE folder_id END,"
	    " updated_at = ?4 WHERE key = ?5");
	if (st == NULL)
		return db_err(db);
	if (acl != NULL)
		db_bind_text(st, 1, acl, -1);
	db_bind_int(st, 2, set_folder);
	if (folder_id != NULL)
		db_bind_text(st, 3, folder_id, -1);
	db_bind_int64(st, 4, db_now());
	db_bind_text(st, 5, pkey, -1);
	rc = db_step(st);
	/* The folder went after the caller checked it (a delete, maybe on
	   another host): the foreign key refuses, as the check would have. */
	e = rc == DB_DONE ? FS_OK : rc == DB_CONSTRAINT_FOREIGNKEY ?
	    FS_VALIDATION : db_err(db);
	db_stmt_done(st);
	return e;
}

/*
 * The objects no row names, for gc and verify: fn(arg, db, s, pkey) for
 * each object store_walk finds that has no row (and no pending row).
 */
typedef int	(*orphan_fn)(void *, struct db *, struct store *, const char *);

struct orphans {
	struct db		*db;
	struct store	*s;
	orphan_fn	 fn;
	void		*arg;
};

static int
orphan_object(void *arg, const char *pkey)
{
	struct orphans *o = arg;
	char cur[FILES_PENDING_MAX + 1];
	enum fs_err e;

	e = pending_of(o->db, pkey, cur);
	if (e != FS_NOT_FOUND)
		return e == FS_OK ? 0 : -1;
	return o->fn(o->arg, o->db, o->s, pkey);
}

static int
walk_orphans(struct db *db, struct store *s, orphan_fn fn, void *arg)
{
	struct orphans o;

	o.db = db;
	o.s = s;
	o.fn = fn;
	o.arg = arg;
	return store_walk(s, orphan_object, &o);
}

/* Remove pkey's object if no row names it, checked under the write lock. */
static int
gc_object(void *arg, struct db *db, struct store *s, const char *pkey)
{
	long long *n = arg;
	char cur[FILES_PENDING_MAX + 1];
	enum fs_err e;

	e = begin_pending(db, pkey, cur);
	if (e != FS_OK && e != FS_NOT_FOUND)
		return -1;
	if (e == FS_NOT_FOUND) {
		e = store_delete(s, pkey);
		if (e == FS_OK)
			(*n)++;
	}
	return commit_or_rollback(db, e) == FS_OK ? 0 : -1;
}

long long
file_gc_objects(struct db *db, struct store *s)
{
	long long n = 0;

	if (walk_orphans(db, s, gc_object, &n) == -1)
		return -1;
	return n;
}

struct orphan_cb {
	int	(*fn)(void *, const char *);
	void	*arg;
};

static int
orphan_report(void *arg, struct db *db, struct store *s, const char *pkey)
{
	struct orphan_cb *cb = arg;

	(void)db;
	(void)s;
	return cb->fn(cb->arg, pkey);
}

int
file_orphans(struct db *db, struct store *s, int (*fn)(void *, const char *),
    void *arg)
{
	struct orphan_cb cb;

	cb.fn = fn;
	cb.arg = arg;
	return walk_orphans(db, s, orphan_report, &cb);
}

enum fs_err
file_next_row(struct db *db, const char *after, struct file_row *f)
{
	struct db_stmt *st;
	enum fs_err e;

	memset(f, 0, sizeof(*f));
	e = key_lookup(db, "SELECT " ROW_COLS " FROM files WHERE key > ?"
	    " ORDER BY key LIMIT 1", after, &st);
	if (e == FS_OK && row_from_stmt(st, f) != 0)
		e = FS_INTERNAL;
	db_stmt_done(st);
	return e;
}

enum fs_err
file_s3_set(struct db *db, const char *pkey, const char *md5, const char *meta)
{
	struct db_stmt *st;
	enum fs_err e = FS_INTERNAL;

	st = db_stmt(db, "UPDATE files SET md5 = ?2, meta = ?3 WHERE key = ?1");
	if (st == NULL)
		return db_err(db);
	db_bind_text(st, 1, pkey, -1);
	db_bind_text(st, 2, md5, -1);
	db_bind_text(st, 3, meta, -1);
	if (db_step(st) == DB_DONE)
		e = FS_OK;
	else
		e = db_err(db);
	db_stmt_done(st);
	return e;
}

enum fs_err
file_s3_meta(struct db *db, const char *pkey, char **meta)
{
	struct db_stmt *st;
	const unsigned char *t;
	enum fs_err e;

	*meta = NULL;
	e = key_lookup(db, "SELECT meta FROM files WHERE key = ?", pkey, &st);
	if (e == FS_OK) {
		t = db_col_text(st, 0);
		if (t != NULL && (*meta = strdup((const char *)t)) == NULL)
			e = FS_INTERNAL;
	}
	db_stmt_done(st);
	return e;
}
