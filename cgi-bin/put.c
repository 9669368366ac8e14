/*
 * put: PUT /api/storage/<key>. Streams the body to the adapter with a
 * fixed buffer, hashing SHA-256 on the way, then commits its row naming
 * the temporary object, and publishes the object (DESIGN §5,
 * docs/decisions.md "Publish and delete"), through upload.h, which the
 * S3 endpoint shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "files.h"
#include "target.h"
#include "publish.h"

#define PREFIX		"/api/storage/"
#define DEFAULT_CTYPE	"application/octet-stream"

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

/* The row as this PUT wrote it, read in its own transaction: after the
 * COMMIT a concurrent PUT of the key (on this host or another) may have
 * replaced it, and the answer would describe that one's bytes. */
static enum fs_err
load_in_txn(void *arg, struct db *db, const char *pkey)
{
	return file_load(db, pkey, arg);
}

static void
h_put(struct app *a, struct request *r, const struct app_caller *c)
{
	struct pub u;
	struct store_writer *w = NULL;
	struct file_row f;
	cJSON *j = NULL;
	char *logical = NULL, *pkey = NULL;
	const char *ctype;
	long long total = 0;
	enum fs_err e;

	memset(&f, 0, sizeof(f));
	memset(&u, 0, sizeof(u));
	if (!target_key_from_path(r, PREFIX, 0, c->p.tenant_id, &logical,
	    &pkey))
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
	u.a = a;
	u.p = &c->p;
	u.pkey = pkey;
	u.ctype = ctype;
	u.in_txn = load_in_txn;
	u.hook_arg = &f;
	/* Refuse before reading a byte when the caller may not write. */
	e = pub_may_write(&u, r->content_length);
	if (e != FS_OK) {
		http_error(r, e, "%s", e == FS_FORBIDDEN ? u.msg :
		    "database error");
		goto out;
	}

	e = store_writer_open(a->store, pkey, &w);
	if (e != FS_OK) {
		http_error(r, e, "%s", pub_write_msg(e));
		goto out;
	}
	if (r->content_length >= 0)
		store_writer_size_hint(w, r->content_length);
	e = pub_body(&u, r, w, &total);
	if (e != FS_OK) {
		body_error(a, r, e);
		goto out;
	}
	/* The fsync in pub_record() runs outside the write lock. */
	e = pub_record(&u, w);
	if (e != FS_OK) {
		http_error(r, e, "%s", u.msg != NULL ? u.msg :
		    pub_write_msg(e));
		goto out;
	}
	app_audit(r, "put", logical, u.exists ? "overwrite" : "create");
	j = file_json(&f);
	http_json(r, u.exists ? 200 : 201, j);
out:
	store_writer_free(w);	/* aborts unless a row took it */
	cJSON_Delete(j);
	file_row_free(&f);
	free(logical);
	free(pkey);
}

APP_MAIN("put", APP_STORE,
    [ROUTE_PUT] = h_put)
