/*
 * upload: stream, check, commit and publish one object (upload.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "files.h"
#include "relay.h"
#include "publish.h"

#define PUT_BUF		(256 * 1024)	/* one piece of an upload */
#define PUT_NBUF	4		/* pieces in flight: 1 MiB */
#define DEFAULT_CTYPE	"application/octet-stream"

enum fs_err
pub_may_write(struct pub *u, long long size)
{
	struct file_row f;
	enum fs_err e;
	int rc;

	e = file_load(u->a->db, u->pkey, &f);
	file_row_free(&f);
	if (e != FS_OK && e != FS_NOT_FOUND)
		return FS_INTERNAL;
	u->exists = e == FS_OK;
	/*
	 * An overwrite is an update of that row (DESIGN §4). The message is
	 * the same either way: a 403 must not tell whether someone else's
	 * file exists at this key.
	 */
	if (u->exists)
		rc = file_allowed(u->a->db, u->p, PERM_UPDATE, u->pkey);
	else
		rc = file_create_allowed(u->a->db, u->p, u->pkey, u->ctype,
		    size);
	u->msg = "not allowed to write this file";
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

struct sink {
	struct pub		*u;
	struct store_writer	*w;
};

/* The relay's sink: its thread hands each piece to the tap and store. */
static int
sink_write(void *arg, const void *buf, size_t len)
{
	struct sink *s = arg;

	if (s->u->tap != NULL)
		s->u->tap(s->u->tap_arg, buf, len);
	return (int)store_write(s->w, buf, len);
}

static ssize_t
body_read(struct pub *u, struct request *r, void *buf, size_t len)
{
	if (u->read != NULL)
		return u->read(u->read_arg, buf, len);
	return http_read(r, buf, len);
}

/*
 * A body over one piece goes through a relay, so that reading the next
 * piece from the web server overlaps hashing and writing the last one.
 */
enum fs_err
pub_body(struct pub *u, struct request *r, struct store_writer *w,
    long long *total)
{
	static char one[PUT_BUF];
	struct sink s = { u, w };
	struct relay *rl = NULL;
	enum fs_err e = FS_OK;
	size_t cap;
	ssize_t n;
	char *buf;
	int rc;

	*total = 0;
	if (r->content_length < 0 || r->content_length > PUT_BUF)
		rl = relay_sink(sink_write, &s, PUT_NBUF, PUT_BUF);
	for (;;) {
		buf = one;
		cap = sizeof(one);
		if (rl != NULL) {
			buf = relay_buf(rl, &cap);
			if (buf == NULL)
				break;	/* the store failed: relay_finish says */
		}
		n = body_read(u, r, buf, cap);
		if (n == 0)
			break;
		if (n < 0) {
			e = FS_BAD_REQUEST;
			break;
		}
		*total += n;
		if (*total > u->a->cfg.max_upload) {
			e = FS_TOO_LARGE;
			break;
		}
		if (rl != NULL) {
			relay_push(rl, (size_t)n);
			continue;
		}
		e = (enum fs_err)sink_write(&s, buf, (size_t)n);
		if (e != FS_OK)
			break;
	}
	if (rl != NULL && e == FS_OK) {
		rc = relay_finish(rl);
		if (rc != 0)
			e = (enum fs_err)rc;
	}
	relay_free(rl);	/* after an error: stops the writes at once */
	return e;
}

/* The row, its checks and the caller's additions, in one transaction. */
static enum fs_err
write_row(struct pub *u, struct store_writer *w, const char *shahex,
    long long size, const char *pending, char *old)
{
	struct app *a = u->a;
	enum fs_err e;

	if (db_begin(a->db) != DB_OK) {
		app_log(a, "publish: %s", db_errmsg(a->db));
		return FS_INTERNAL;
	}
	e = pub_may_write(u, size);
	if (e != FS_FORBIDDEN)
		u->msg = e == FS_INTERNAL ? "database error" : NULL;
	if (e == FS_OK)
		e = store_writer_check(w);
	if (e == FS_OK) {
		e = file_upsert(a->db, u->p, u->pkey, u->ctype, size, shahex,
		    pending, old);
		if (e == FS_OK && u->folder_id != NULL) {
			e = file_patch(a->db, u->pkey, NULL, 1, u->folder_id);
			if (e == FS_VALIDATION)
				u->msg = "folderId does not name a folder of "
				    "this tenant";
		}
		if (e != FS_OK)
			app_log(a, "publish: %s", db_errmsg(a->db));
	}
	if (e == FS_OK && u->in_txn != NULL)
		e = u->in_txn(u->hook_arg, a->db, u->pkey);
	if (e != FS_OK) {
		db_rollback(a->db);
		return e;
	}
	e = file_commit(a->db);
	if (e != FS_OK)
		app_log(a, "publish: commit: %s", err_code(e));
	return e;
}

/*
 * Commit the row of the finished upload w, naming its temporary object
 * as pending, in one transaction under the database write lock, with the
 * checks again (DESIGN §5, docs/decisions.md "Publish and delete"): the
 * COMMIT is the point of no return. Then publish it.
 */
enum fs_err
pub_record(struct pub *u, struct store_writer *w)
{
	unsigned char sha[CRY_SHA256_LEN];
	char shahex[65], old[FILES_PENDING_MAX + 1];
	const char *pending;
	long long size = 0;
	enum fs_err e;

	u->msg = NULL;
	e = store_finish(w, sha, &size);
	pending = store_writer_pending(w);
	if (e != FS_OK || pending == NULL)
		return e != FS_OK ? e : FS_INTERNAL;
	if (u->check != NULL) {
		e = u->check(u->hook_arg, sha, size);
		if (e != FS_OK)
			return e;
	}
	cry_hex(sha, sizeof(sha), shahex);
	e = write_row(u, w, shahex, size, pending, old);
	if (e != FS_OK)
		return e;
	store_writer_keep(w);
	/* A publish of the row before ours that had not run yet. */
	if (old[0] != '\0')
		(void)store_drop_tmp(u->a->store, old);
	/* Past the point of no return: recovery finishes what fails here. */
	e = file_publish(u->a->db, u->a->store, u->pkey, pending);
	if (e != FS_OK)
		app_log(u->a, "publish: publish deferred to recovery (%s)",
		    err_code(e));
	return FS_OK;
}

enum fs_err
pub_remove(struct app *a, const char *pkey)
{
	char pending[FILES_PENDING_MAX + 1];
	enum fs_err e;

	/*
	 * The row goes first, in its own transaction: the point of no
	 * return (docs/decisions.md, "Publish and delete"). Then the object,
	 * under the write lock, unless a PUT made a row for the key again
	 * meanwhile. A crash between the two leaves bytes without a row,
	 * which filestorctl gc removes.
	 */
	e = file_delete_row(a->db, pkey, pending);
	if (e != FS_OK) {
		app_log(a, "delete: %s", db_errmsg(a->db));
		return e;
	}
	e = file_remove_object(a->db, a->store, pkey, pending);
	if (e != FS_OK)
		app_log(a, "delete: object left for filestorctl gc (%s)",
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
