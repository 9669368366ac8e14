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
#include "publish.h"
#include "target.h"
#include "relay.h"

#define PREFIX		"/api/storage/"
#define PUT_BUF		(256 * 1024)	/* one piece of an upload */
#define PUT_NBUF	4		/* pieces in flight: 1 MiB */

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
	const char *ctype, *msg = NULL;

	ctype = pub_content_type(http_header(r, "Content-Type"), &msg);
	if (ctype == NULL)
		http_error(r, FS_VALIDATION, "Content-Type %s", msg);
	return ctype;
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
	e = pub_may_write(a, p, pkey, ctype, r->content_length, &exists,
	    &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", e == FS_FORBIDDEN ? msg : "database error");
		goto out;
	}

	e = store_writer_open(a->store, pkey, &w);
	if (e != FS_OK) {
		http_error(r, e, "%s", pub_write_msg(e));
		goto out;
	}
	if (r->content_length >= 0)
		store_writer_size_hint(w, r->content_length);
	e = copy_body(a, r, w, &total);
	if (e != FS_OK) {
		body_error(a, r, e);
		goto out;
	}
	/* The fsync in pub_record() runs outside the write lock. */
	msg = NULL;
	e = pub_record(a, p, pkey, ctype, NULL, w, &exists, &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", msg != NULL ? msg : pub_write_msg(e));
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
