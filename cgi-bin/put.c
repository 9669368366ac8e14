/*
 * put: PUT /api/storage/<key>. Streams the body to the adapter with a
 * fixed buffer, hashing SHA-256 on the way, then commits its row naming
 * the temporary object, and publishes the object (DESIGN §5,
 * docs/decisions.md "Publish and delete").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "files.h"
#include "target.h"
#include "relay.h"

#define PREFIX		"/api/storage/"
#define PUT_BUF		(256 * 1024)	/* one piece of an upload */
#define PUT_NBUF	4		/* pieces in flight: 1 MiB */
#define DEFAULT_CTYPE	"application/octet-stream"

/*
 * What may p do to pkey? FS_OK with *exists set, FS_FORBIDDEN with msg,
 * FS_INTERNAL.
 */
static enum fs_err
may_write(struct app *a, const struct principal *p, const char *pkey,
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

/* What to tell the client about a failed write or publish. */
static const char *
write_msg(enum fs_err e)
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

/* The relay's sink: its thread hands each piece to the store. */
static int
sink_write(void *arg, const void *buf, size_t len)
{
	return (int)store_write(arg, buf, len);
}

/*
 * Copy the request body to w, counting it in *total. http_read stops at
 * Content-Length and fails on a short body (FS_BAD_REQUEST); more than
 * MAX_UPLOAD_BYTES is FS_TOO_LARGE; else FS_OK or the store's error.
 * A body over one piece goes through a relay, so that reading the next
 * piece from the web server overlaps hashing and writing the last one.
 */
static enum fs_err
copy_body(struct app *a, struct request *r, struct store_writer *w,
    long long *total)
{
	static char one[PUT_BUF];
	struct relay *rl = NULL;
	enum fs_err e = FS_OK;
	size_t cap;
	ssize_t n;
	char *buf;
	int rc;

	*total = 0;
	if (r->content_length < 0 || r->content_length > PUT_BUF)
		rl = relay_sink(sink_write, w, PUT_NBUF, PUT_BUF);
	for (;;) {
		buf = one;
		cap = sizeof(one);
		if (rl != NULL) {
			buf = relay_buf(rl, &cap);
			if (buf == NULL)
				break;	/* the store failed: relay_finish says */
		}
		n = http_read(r, buf, cap);
		if (n == 0)
			break;
		if (n < 0) {
			e = FS_BAD_REQUEST;
			break;
		}
		*total += n;
		if (*total > a->cfg.max_upload) {
			e = FS_TOO_LARGE;
			break;
		}
		if (rl != NULL) {
			relay_push(rl, (size_t)n);
			continue;
		}
		e = store_write(w, buf, (size_t)n);
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

/* The Content-Type to store, or NULL after answering 422. */
static const char *
request_ctype(struct request *r)
{
	const char *ctype;

	ctype = http_header(r, "Content-Type");
	if (ctype == NULL || *ctype == '\0')
		ctype = DEFAULT_CTYPE;
	if (!file_content_type_ok(ctype)) {
		http_error(r, FS_VALIDATION, "Content-Type must be type/subtype "
		    "of at most %d printable bytes", FILES_CTYPE_MAX);
		return NULL;
	}
	/*
	 * "*\/\*" says the client does not know: store the default, never
	 * serve the wildcard back. "image/\*" is a range, not a type.
	 */
	switch (file_content_type_wildcard(ctype)) {
	case 2:
		return DEFAULT_CTYPE;
	case 1:
		http_error(r, FS_VALIDATION, "Content-Type must be a media "
		    "type, not a range with \"*\"");
		return NULL;
	default:
		return ctype;
	}
}

/* Answer a failed copy_body (or a Content-Length over the limit). */
static void
body_error(struct app *a, struct request *r, enum fs_err e)
{
	if (e == FS_BAD_REQUEST)
		/* Short body or a cut connection: nothing is kept. */
		http_error(r, e, "request body ended before Content-Length "
		    "bytes");
	else if (e == FS_TOO_LARGE)
		http_error(r, e, "body is larger than MAX_UPLOAD_BYTES (%lld)",
		    a->cfg.max_upload);
	else if (e == FS_NO_SPACE)
		http_error(r, e, "no space left for this upload");
	else {
		app_log(a, "put: write failed");
		http_error(r, e, NULL);
	}
}

/*
 * Commit the row of the finished upload w, naming its temporary object
 * as pending, in one transaction under the database write lock, with the
 * checks again (DESIGN §5, docs/decisions.md "Publish and delete"): the
 * COMMIT is the point of no return. On an error the old row and object
 * stay, and *msg may say why. Then publish it.
 */
static enum fs_err
record(struct app *a, const struct principal *p, const char *pkey,
    const char *ctype, struct store_writer *w, int *exists, const char **msg)
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
		app_log(a, "put: %s", sqlite3_errmsg(a->db));
		return FS_INTERNAL;
	}
	e = may_write(a, p, pkey, ctype, size, exists, msg);
	if (e != FS_FORBIDDEN)
		*msg = e == FS_INTERNAL ? "database error" : NULL;
	if (e == FS_OK)
		e = store_writer_check(w);
	if (e == FS_OK) {
		e = file_upsert(a->db, p, pkey, ctype, size, shahex, pending,
		    old);
		if (e != FS_OK)
			app_log(a, "put: %s", sqlite3_errmsg(a->db));
	}
	if (e != FS_OK) {
		db_rollback(a->db);
		return e;
	}
	e = file_commit(a->db);
	if (e != FS_OK) {
		app_log(a, "put: commit: %s", err_code(e));
		return e;
	}
	store_writer_keep(w);
	/* A publish of the row before ours that had not run yet. */
	if (old[0] != '\0')
		(void)store_drop_tmp(a->store, old);
	/* Past the point of no return: recovery finishes what fails here. */
	e = file_publish(a->db, a->store, pkey, pending);
	if (e != FS_OK)
		app_log(a, "put: publish deferred to recovery (%s)",
		    err_code(e));
	return FS_OK;
}

static void
h_put(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	struct store_writer *w = NULL;
	struct file_row f;
	cJSON *j = NULL;
	char *logical = NULL, *pkey = NULL;
	const char *ctype, *msg = NULL;
	long long total = 0;
	enum fs_err e;
	int exists = 0;

	memset(&f, 0, sizeof(f));
	if (!target_key_from_path(r, PREFIX, 0, p->tenant_id, &logical, &pkey))
		return;
	if (r->nparams > 0) {
		http_error(r, FS_VALIDATION, "unknown parameter \"%.64s\"",
		    r->params[0].name);
		goto out;
	}
	ctype = request_ctype(r);
	if (ctype == NULL)
		goto out;
	if (r->content_length > a->cfg.max_upload) {
		body_error(a, r, FS_TOO_LARGE);
		goto out;
	}
	/* Refuse before reading a byte when the caller may not write. */
	e = may_write(a, p, pkey, ctype, r->content_length, &exists, &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", e == FS_FORBIDDEN ? msg : "database error");
		goto out;
	}

	e = store_writer_open(a->store, pkey, &w);
	if (e != FS_OK) {
		http_error(r, e, "%s", write_msg(e));
		goto out;
	}
	if (r->content_length >= 0)
		store_writer_size_hint(w, r->content_length);
	e = copy_body(a, r, w, &total);
	if (e != FS_OK) {
		body_error(a, r, e);
		goto out;
	}
	/* The fsync in record() runs outside the write lock. */
	msg = NULL;
	e = record(a, p, pkey, ctype, w, &exists, &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", msg != NULL ? msg : write_msg(e));
		goto out;
	}
	if (file_load(a->db, pkey, &f) != FS_OK) {
		app_db_error(a, r, "put");
		goto out;
	}
	app_audit(r, "put", logical, exists ? "overwrite" : "create");
	j = file_json(&f);
	http_json(r, exists ? 200 : 201, j);
out:
	store_writer_free(w);	/* aborts unless a row took it */
	cJSON_Delete(j);
	file_row_free(&f);
	free(logical);
	free(pkey);
}

APP_MAIN("put", APP_STORE,
    [ROUTE_PUT] = h_put)
