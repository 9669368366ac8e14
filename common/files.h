/*
 * files: the files table (DESIGN §5): its rows, every statement on it and
 * the permission checks on them, shared by list, put, get, patch, delete
 * and sign. It knows nothing of HTTP: the request side is target.h.
 *
 * Every check goes through the one compiled condition (perm.h): a single
 * row is checked with "SELECT 1 FROM files WHERE key = ? AND (<cond>)",
 * a new row with the same condition over its would-be values, and a list
 * with the same fragment in its WHERE clause.
 */
#ifndef FS_FILES_H
#define FS_FILES_H

#include <cjson/cJSON.h>
#include "db.h"

#include "err.h"
#include "perm.h"
#include "principal.h"

struct store;

#define FILES_LIST_MAX		1000
#define FILES_LIST_DEFAULT	100
#define FILES_CTYPE_MAX		255
#define FILES_PENDING_MAX	63	/* a store's temporary name (32) */
#define FILES_MD5_MAX		40	/* "<32 hex>-<parts up to 10000>" */

struct file_row {
	char		*key;		/* physical key, malloc'd */
	char		 tenant_id[37];
	long long	 size;
	char		 content_type[FILES_CTYPE_MAX + 1];
	char		 sha256[65];
	char		 acl[8];	/* "private" | "public" */
	char		 owner_id[37];	/* "" when NULL */
	char		 folder_id[37];	/* "" when NULL */
	long long	 created_at;
	long long	 updated_at;
	char		 pending[FILES_PENDING_MAX + 1]; /* "": none */
	char		 md5[FILES_MD5_MAX + 1];	/* S3 ETag; "": none */
};

/* Load the row of pkey: FS_OK, FS_NOT_FOUND or FS_INTERNAL. */
enum fs_err	 file_load(struct db *db, const char *pkey, struct file_row *f);
void		 file_row_free(struct file_row *f);
/*
 * file_allowed and file_load in one statement: FS_OK with the row when p
 * may do action on it, FS_NOT_FOUND when it may not or there is none
 * (the same to the caller, DESIGN §3), FS_INTERNAL.
 */
enum fs_err	 file_load_allowed(struct db *db, const struct principal *p,
		    enum perm_action action, const char *pkey,
		    struct file_row *f);

/*
 * May p do action on the existing row pkey? 1 yes, 0 no (no permission
 * row, or the condition excludes this row, or no such row), -1 error.
 */
int		 file_allowed(struct db *db, const struct principal *p,
		    enum perm_action action, const char *pkey);
/*
 * May p create a row with these values? The create condition is checked
 * against the would-be row. 1, 0 or -1.
 */
int		 file_create_allowed(struct db *db, const struct principal *p,
		    const char *pkey, const char *content_type, long long size);

/* The API form of a row (logical key, ISO times, "etag"). Caller deletes. */
cJSON		*file_json(const struct file_row *f);

/* 1 when ct is an acceptable Content-Type value, else 0. */
int		 file_content_type_ok(const char *ct);
/*
 * For a ct that passed file_content_type_ok: 2 when it is "*\/\*" (any
 * type: a client that does not know, e.g. one generated from a spec that
 * once said so), 1 when only the type or the subtype is "*" (a range,
 * not a media type), else 0.
 */
int		 file_content_type_wildcard(const char *ct);
/* 1 when a browser would run content of this type (html, svg, xml...). */
int		 file_type_is_active(const char *ct);

/*
 * The list statement: rows of tenant_id with logical keys under prefix
 * and after cursor (both may be ""), filtered by the read condition,
 * ordered by key, at most limit + 1 rows. Used by the list program and by
 * "filestorctl debug list-plan", so the plan a test sees is the plan the
 * program runs. Returns a prepared statement or NULL.
 */
struct db_stmt	*file_list_stmt(struct db *db, const char *tenant_id,
		    const char *prefix, const char *after,
		    const struct perm_sql *cond, int limit);

/*
 * One page of the rows p may read under prefix after the logical key
 * after: at most limit of them added to items (their API form), *last
 * the key of the last one (pointing into items). 1 when a next page
 * follows, 0 when not (also when p may read none), -1 on error.
 */
int		 file_page(struct db *db, const struct principal *p,
		    const char *prefix, const char *after, int limit,
		    cJSON *items, const char **last);

/* Fill f from a row of file_list_stmt(). 0 or -1 (out of memory). */
int		 file_row_from_stmt(struct db_stmt *st, struct file_row *f);

/*
 * Publish and delete (docs/decisions.md, "Publish and delete"). A put
 * runs, in one write transaction it began (db_begin), its checks, then
 * file_upsert (the row with the writer's pending object; the pending name
 * the row had before goes to old_pending, "" for none), then file_commit:
 * the point of no return. Then file_publish(pkey, pending) puts the
 * object under its key in a write transaction of its own, unless a later
 * PUT or a DELETE superseded it (then it drops it), and clears pending.
 * file_recover does that for every row still pending (at worker start,
 * and in filestorctl gc): the count published, with *failed set, or -1.
 * file_pending_kept is the store_keep_fn of the temp sweeps: 1 when a row
 * names pending (or in doubt). A delete runs file_delete_row (its own
 * transaction; the row's pending name goes to pending), then
 * file_remove_object: under the write lock, the object goes only when no
 * row for pkey exists again. file_patch changes acl (when not NULL) and,
 * with set_folder, folder_id (NULL: none); FS_VALIDATION when that folder
 * no longer exists (deleted after the caller checked it). Errors:
 * FS_NO_SPACE when the database is full (DB_FULL), FS_INTERNAL, or the
 * store's.
 */
enum fs_err	 file_upsert(struct db *db, const struct principal *p,
		    const char *pkey, const char *ctype, long long size,
		    const char *sha256, const char *pending,
		    char old_pending[FILES_PENDING_MAX + 1]);
enum fs_err	 file_commit(struct db *db);
enum fs_err	 file_publish(struct db *db, struct store *s, const char *pkey,
		    const char *pending);
long long	 file_recover(struct db *db, struct store *s, long long *failed);
int		 file_pending_kept(void *db, const char *pending);
enum fs_err	 file_delete_row(struct db *db, const char *pkey,
		    char pending[FILES_PENDING_MAX + 1]);
enum fs_err	 file_remove_object(struct db *db, struct store *s,
		    const char *pkey, const char *pending);
enum fs_err	 file_patch(struct db *db, const char *pkey, const char *acl,
		    int set_folder, const char *folder_id);
/*
 * Remove every stored object no row names (a crash between a delete's
 * row and its object), each checked again under the write lock, so that
 * a publish cannot interleave. The count, or -1. filestorctl gc.
 */
long long	 file_gc_objects(struct db *db, struct store *s);
/*
 * The same walk for filestorctl verify, which only reports: fn(arg, pkey)
 * for every stored object no row names, until it returns -1. 0, or -1
 * on failure or when fn stopped.
 */
int		 file_orphans(struct db *db, struct store *s,
		    int (*fn)(void *, const char *), void *arg);
/*
 * Every row in key order, one at a time, without holding a read across
 * the caller's work: the first row whose key sorts after `after` ("" for
 * the first) into f (file_row_free it). FS_OK, FS_NOT_FOUND after the
 * last, or FS_INTERNAL.
 */
enum fs_err	 file_next_row(struct db *db, const char *after,
		    struct file_row *f);

/*
 * The S3 side of a row (sql/0008): file_s3_set sets its S3 ETag (md5,
 * unquoted) and x-amz-meta-* (meta: a JSON object, or NULL) inside the
 * caller's write transaction, after file_upsert; any later update of the
 * bytes clears both. file_s3_meta: *meta malloc'd (NULL: none); FS_OK,
 * FS_NOT_FOUND, FS_INTERNAL.
 */
enum fs_err	 file_s3_set(struct db *db, const char *pkey, const char *md5,
		    const char *meta);
enum fs_err	 file_s3_meta(struct db *db, const char *pkey, char **meta);

#endif
