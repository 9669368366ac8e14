/*
 * publish: PUT's publish path (publish.h), moved out of put so that the
 * tus uploads program publishes exactly as PUT does.
 */
#include <string.h>

#include "db.h"
#include "files.h"
#include "publish.h"

#define DEFAULT_CTYPE	"application/octet-stream"

enum fs_err
pub_may_write(struct app *a, const struct principal *p, const char *pkey,
    const char *ctype, long long size, int *exists, const char **msg)
{
	struct file_row f;
	enum fs_err e;
	int rc;

	e = file_load(a->db, pkey, &f);
	file_row_free(&f);
	if (e != FS_OK && e != FS_NOT_FOUND)
		return FS_INTERNAL;
	*exists = e == FS_OK;
	if (*exists) {
		/*
		 * An overwrite is an update of that row (DESIGN §4). The
		 * message is the same either way: a 403 must not tell
		 * whether someone else's file exists at this key.
		 */
		rc = file_allowed(a->db, p, PERM_UPDATE, pkey);
		*msg = "not allowed to write this file";
	} else {
		rc = file_create_allowed(a->db, p, pkey, ctype, size);
		*msg = "not allowed to write this file";
	}
	if (rc == -1)
		return FS_INTERNAL;
	return rc == 1 ? FS_OK : FS_FORBIDDEN;
}

const char *
pub_write_msg(enum fs_err e)
{
	switch (e) {
	case FS_NO_SPACE:
		return "no space left for this upload";
	case FS_CONFLICT:
		/* Local disk: a name is either a file or a directory. */
		return "key conflicts with an existing key: on local disk a key "
		    "cannot also be the folder part of another key (\"a\" and "
		    "\"a/b\")";
	case FS_VALIDATION:
		return "a segment of the key is longer than the filesystem "
		    "allows (255 bytes)";
	default:
		return err_strerror(e);
	}
}

enum fs_err
pub_record(struct app *a, const struct principal *p, const char *pkey,
    const char *ctype, const char *folder_id, struct store_writer *w,
    int *exists, const char **msg)
{
	unsigned char sha[CRY_SHA256_LEN];
	char shahex[65], old[FILES_PENDING_MAX + 1];
	const char *pending;
	long long size = 0;
	enum fs_err e;

	e = store_finish(w, sha, &size);
	pending = store_writer_pending(w);
	if (e != FS_OK || pending == NULL)
		return e != FS_OK ? e : FS_INTERNAL;
	cry_hex(sha, sizeof(sha), shahex);
	if (db_begin(a->db) != SQLITE_OK) {
		app_log(a, "publish: %s", sqlite3_errmsg(a->db));
		return FS_INTERNAL;
	}
	e = pub_may_write(a, p, pkey, ctype, size, exists, msg);
	if (e != FS_FORBIDDEN)
		*msg = e == FS_INTERNAL ? "database error" : NULL;
	if (e == FS_OK)
		e = store_writer_check(w);
	if (e == FS_OK) {
		e = file_upsert(a->db, p, pkey, ctype, size, shahex, pending,
		    old);
		if (e == FS_OK && folder_id != NULL)
			e = file_patch(a->db, pkey, NULL, 1, folder_id);
		if (e != FS_OK)
			app_log(a, "publish: %s", sqlite3_errmsg(a->db));
	}
	if (e != FS_OK) {
		db_rollback(a->db);
		return e;
	}
	e = file_commit(a->db);
	if (e != FS_OK) {
		app_log(a, "publish: commit: %s", err_code(e));
		return e;
	}
	store_writer_keep(w);
	/* A publish of the row before ours that had not run yet. */
	if (old[0] != '\0')
		(void)store_drop_tmp(a->store, old);
	/* Past the point of no return: recovery finishes what fails here. */
	e = file_publish(a->db, a->store, pkey, pending);
	if (e != FS_OK)
		app_log(a, "publish: deferred to recovery (%s)",
		    err_code(e));
	return FS_OK;
}


const char *
pub_content_type(const char *ct, const char **msg)
{
	if (ct == NULL || *ct == '\0')
		return DEFAULT_CTYPE;
	if (!file_content_type_ok(ct)) {
		*msg = "must be type/subtype of at most 255 printable bytes";
		return NULL;
	}
	/*
	 * "*\/\*" says the client does not know: store the default, never
	 * serve the wildcard back. "image/\*" is a range, not a type.
	 */
	switch (file_content_type_wildcard(ct)) {
	case 2:
		return DEFAULT_CTYPE;
	case 1:
		*msg = "must be a media type, not a range with \"*\"";
		return NULL;
	default:
		return ct;
	}
}
