/*
 * uploads: resumable uploads, tus 1.0 (https://tus.io/protocols/
 * resumable-upload) at /api/uploads and /api/uploads/<id>: core,
 * creation, creation-with-upload, creation-defer-length, termination,
 * expiration and checksum (sha256). docs/uploads.md says how; upload.h
 * keeps the bytes, upload_db.h the rows, publish.h publishes as PUT.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "app.h"
#include "db.h"
#include "fio.h"
#include "folder_db.h"
#include "key.h"
#include "metrics.h"
#include "publish.h"
#include "relay.h"
#include "shastate.h"
#include "tus.h"
#include "upload.h"

#define PREFIX		"/api/uploads/"
#define UP_BUF		(256 * 1024)	/* one read of a PATCH body */
#define UP_NBUF		4		/* reads in flight: 1 MiB */
#define OCTET		"application/offset+octet-stream"
#define EXTENSIONS	"creation,creation-with-upload,creation-defer-length," \
			"termination,expiration,checksum"

/* What a PATCH (or a creation with upload) brings. */
struct chunk {
	long long	 offset;	/* where it starts */
	int		 has_sum;	/* Upload-Checksum was sent */
	unsigned char	 sum[CRY_SHA256_LEN];
	long long	 got;		/* bytes kept */
	struct shastate	*run;	/* the upload's hash, or NULL (none kept) */
};

/*
 * Every answer carries Tus-Resumable, errors too (r->sticky). A request
 * without the version we speak gets 412 with Tus-Version (tus 1.0,
 * "Tus-Resumable"). 1 to go on, 0 after answering.
 */
static int
tus_begin(struct request *r)
{
	const char *v;

	r->sticky = "Tus-";
	if (http_add_header(r, "Tus-Resumable", TUS_VERSION) == -1)
		return http_error(r, FS_INTERNAL, NULL), 0;
	v = http_header(r, "Tus-Resumable");
	if (v != NULL && strcmp(v, TUS_VERSION) == 0)
		return 1;
	http_add_header(r, "Tus-Version", TUS_VERSION);
	http_error(r, FS_PRECONDITION, "Tus-Resumable must be %s",
	    TUS_VERSION);
	return 0;
}

/* A header that must be a byte count: its value, -1 when absent, -2 bad. */
static long long
count_header(struct request *r, const char *name)
{
	const char *v = http_header(r, name);
	long long n;

	if (v == NULL)
		return -1;
	return http_parse_ll(v, 0, LLONG_MAX, &n) == 0 ? n : -2;
}

static void
add_expires(struct request *r, long long t)
{
	char d[30];

	http_date(t, d);
	http_add_header(r, "Upload-Expires", d);
}

/* Answer status with the offset (and the expiry while not complete). */
static void
reply_offset(struct request *r, int status, long long offset,
    long long expires)
{
	http_add_headerf(r, "Upload-Offset", "%lld", offset);
	if (expires > 0)
		add_expires(r, expires);
	http_status(r, status);
	http_begin(r);
}

static void
h_options(struct app *a, struct request *r, const struct app_caller *c)
{
	/* Discovery (tus 1.0, OPTIONS): no Tus-Resumable needed to ask. */
	r->sticky = "Tus-";
	http_add_header(r, "Tus-Resumable", TUS_VERSION);
	http_add_header(r, "Tus-Version", TUS_VERSION);
	http_add_header(r, "Tus-Extension", EXTENSIONS);
	http_add_headerf(r, "Tus-Max-Size", "%lld", a->cfg.max_upload);
	http_add_header(r, "Tus-Checksum-Algorithm", "sha256");
	http_status(r, 204);
	http_begin(r);
}

/*
 * The upload the path names, of the caller (anyone else's is 404, as a
 * missing one), not expired (410). 1 with *u filled, or 0 after
 * answering.
 */
static int
load(struct app *a, struct request *r, const struct principal *p,
    struct upload_row *u)
{
	const char *id = r->path + strlen(PREFIX);
	enum fs_err e;

	memset(u, 0, sizeof(*u));
	if (r->path_len != strlen(r->path) || !upload_id_ok(id)) {
		http_error(r, FS_NOT_FOUND, "no such upload");
		return 0;
	}
	e = upload_load(a->db, id, p, u);
	if (e == FS_NOT_FOUND)
		http_error(r, e, "no such upload");
	else if (e != FS_OK)
		app_db_error(a, r, "uploads: load");
	else if (u->expires_at <= db_now())
		http_error(r, FS_GONE, "this upload expired");
	else
		return 1;
	return 0;
}

/*
 * Cut the stage at fd back to off (a chunk discarded, or bytes a dead
 * worker wrote past the row's offset), and stop there.
 */
static enum fs_err
stage_cut(int fd, long long off)
{
	if (ftruncate(fd, off) == -1 || lseek(fd, off, SEEK_SET) == -1)
		return FS_INTERNAL;
	return FS_OK;
}

/* Where the relay's thread puts a PATCH's bytes (stage_sink). */
struct sink {
	int		 fd;		/* the stage, standing at its end */
	long long	 written, synced;	/* bytes; see fio_sync_step */
	EVP_MD_CTX	*md;		/* the chunk's checksum, or NULL */
	struct shastate	*run;		/* the upload's hash, or NULL */
};

/*
 * Append one piece to the stage and hash it: 0, or an fs_err. Runs in
 * the relay's thread, which alone touches the sink until relay_finish.
 */
static int
stage_sink(void *arg, const void *buf, size_t len)
{
	struct sink *k = arg;

	if (fio_write_all(k->fd, buf, len) == -1)
		return err_io(errno);
	if (k->md != NULL && EVP_DigestUpdate(k->md, buf, len) != 1)
		return FS_INTERNAL;
	if (k->run != NULL)
		shastate_update(k->run, buf, len);
	k->written += (long long)len;
	/* Durable as it comes: the fdatasync in append has little left. */
	if (fio_sync_step(k->fd, k->written, &k->synced) == -1)
		return err_io(errno);
	return FS_OK;
}

/*
 * Read the body onto the stage at fd, from ch->offset (where fd stands),
 * at most cap bytes, counting them in ch->got and hashing them into md
 * (the chunk's checksum, may be NULL) and ch->run (may be NULL). Through
 * a relay, as PUT's body (publish.c): reading the next piece from the
 * web server overlaps writing and hashing the last. On FS_OK or
 * FS_BAD_REQUEST (a body cut short) every byte counted is on the stage.
 */
static enum fs_err
body_to_stage(struct request *r, int fd, long long cap, EVP_MD_CTX *md,
    struct chunk *ch)
{
	static unsigned char one[UP_BUF];
	struct sink k = { fd, 0, 0, md, ch->run };
	struct relay *rl;
	enum fs_err e = FS_OK;
	unsigned char *buf;
	size_t bcap;
	ssize_t n;
	int rc;

	rl = relay_sink(stage_sink, &k, UP_NBUF, UP_BUF);
	for (;;) {
		buf = one;
		bcap = sizeof(one);
		if (rl != NULL) {
			buf = relay_buf(rl, &bcap);
			if (buf == NULL)
				break;	/* the sink failed: relay_finish says */
		}
		n = http_read(r, buf, bcap);
		if (n == 0)
			break;
		if (n < 0) {
			e = FS_BAD_REQUEST;
			break;
		}
		if (n > cap - ch->got) {
			e = FS_TOO_LARGE;
			break;
		}
		ch->got += n;
		if (rl != NULL) {
			relay_push(rl, (size_t)n);
			continue;
		}
		rc = stage_sink(&k, buf, (size_t)n);
		if (rc != FS_OK) {
			e = (enum fs_err)rc;
			break;
		}
	}
	if (rl != NULL && (e == FS_OK || e == FS_BAD_REQUEST)) {
		rc = relay_finish(rl);
		if (rc != 0)
			e = (enum fs_err)rc;
	}
	relay_free(rl);	/* after an error: stops the writes at once */
	return e;
}

/*
 * Append the body to the stage at fd, at ch->offset, at most cap bytes,
 * and make what is kept durable: ch->got bytes. A body cut short keeps
 * what came (it is fsync'd: the client resumes from there), unless it
 * has a checksum, which then cannot hold. A checksum mismatch, a body
 * past cap or a write error keeps nothing.
 */
static enum fs_err
append(struct request *r, int fd, long long cap, struct chunk *ch)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = NULL;
	enum fs_err e;

	ch->got = 0;
	e = stage_cut(fd, ch->offset);
	if (e != FS_OK)
		return e;
	if (ch->has_sum) {
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL ||
		    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
			e = FS_INTERNAL;
			goto out;
		}
	}
	e = body_to_stage(r, fd, cap, ctx, ch);
	if (e == FS_OK && ctx != NULL && (EVP_DigestFinal_ex(ctx, md, NULL)
	    != 1 || !cry_eq(md, ch->sum, CRY_SHA256_LEN)))
		e = FS_CHECKSUM;
	/* fdatasync: the size is part of what it makes durable. */
	if ((e == FS_OK || (e == FS_BAD_REQUEST && ctx == NULL)) &&
	    fdatasync(fd) == -1)
		e = err_io(errno);
out:
	if (e != FS_OK && !(e == FS_BAD_REQUEST && ctx == NULL))
		ch->got = 0;
	if (ch->got == 0)
		(void)stage_cut(fd, ch->offset);
	EVP_MD_CTX_free(ctx);
	return e;
}

/* Answer a failed append. */
static void
append_error(struct app *a, struct request *r, enum fs_err e, long long cap)
{
	switch (e) {
	case FS_BAD_REQUEST:
		http_error(r, e, "request body ended before Content-Length "
		    "bytes; HEAD says what was kept");
		break;
	case FS_TOO_LARGE:
		http_error(r, e, "the body goes past Upload-Length or "
		    "MAX_UPLOAD_BYTES (%lld bytes were left)", cap);
		break;
	case FS_CHECKSUM:
		http_error(r, e, "the body does not match Upload-Checksum; it "
		    "was discarded");
		break;
	case FS_NO_SPACE:
		http_error(r, e, "no space left for this upload");
		break;
	default:
		app_log(a, "uploads: write failed");
		http_error(r, e, NULL);
	}
}

/*
 * Record what append kept: the new offset, the running hash and expiry,
 * then (S3) send the parts it completed. 0, or -1 after answering.
 */
static int
advance(struct app *a, struct request *r, struct upload_row *u,
    struct chunk *ch, int fd, long long expires)
{
	char text[SHASTATE_LEN + 1];
	const char *host;
	char *dup = NULL;
	enum fs_err e;

	host = upload_host(a->cfg.data_dir);
	if (host == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		return -1;
	}
	if (ch->run != NULL) {
		shastate_save(ch->run, text);
		dup = strdup(text);
		if (dup == NULL) {
			http_error(r, FS_INTERNAL, NULL);
			return -1;
		}
	}
	e = upload_advance(a->db, u->id, host, u->offset,
	    ch->offset + ch->got, dup, expires);
	if (e != FS_OK) {
		free(dup);
		if (e == FS_CONFLICT)
			http_error(r, e, "another host took this upload over "
			    "meanwhile; HEAD it, then resume from its offset");
		else
			app_db_error(a, r, "uploads: advance");
		return -1;
	}
	free(u->sha_state);
	u->sha_state = dup;
	u->offset = ch->offset + ch->got;
	metrics_add(METRIC_UPLOAD_BYTES, (unsigned long long)ch->got);
	/* The bytes are durable on the stage: a failed part waits there. */
	if (upload_flush(a, u, fd) != FS_OK)
		app_log(a, "uploads: a part did not go to the store; the next "
		    "PATCH tries again");
	return 0;
}

/*
 * Publish upload u, all of whose bytes came, from its stage locked at
 * fd, and end it. 0, or -1 after answering the error.
 */
static int
finish(struct app *a, struct request *r, const struct principal *p,
    struct upload_row *u, int fd)
{
	const char *msg = NULL;
	enum fs_err e;
	int exists = 0;

	e = upload_publish(a, p, u, fd, &exists, &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", msg != NULL ? msg : pub_write_msg(e));
		return -1;
	}
	metrics_inc(METRIC_UPLOADS_COMPLETED);
	app_audit(r, "put", u->key, exists ? "overwrite" : "create");
	/* Published: the upload is over (a failed delete is gc's). */
	if (upload_delete(a->db, u->id) == FS_OK)
		upload_stage_remove(a->cfg.data_dir, u->id);
	return 0;
}

/*
 * Take the body of r onto upload u, whose stage is locked at fd: append,
 * record the new offset, and publish when it is the last byte. Answers
 * the request: 204 (or 201 with Location for a creation, loc not NULL).
 */
static void
take_body(struct app *a, struct request *r, const struct principal *p,
    struct upload_row *u, int fd, struct chunk *ch, const char *loc)
{
	long long cap, expires;
	enum fs_err ea;

	cap = (u->length >= 0 ? u->length : a->cfg.max_upload) - ch->offset;
	if (r->content_length > cap) {
		append_error(a, r, FS_TOO_LARGE, cap);
		return;
	}
	/* The running hash, unless the row is older than it (sql/0009). */
	if (u->sha_state != NULL || u->offset == 0) {
		ch->run = shastate_new(u->sha_state);
		if (ch->run == NULL)
			app_log(a, "uploads: %s: the running hash is lost; the "
			    "stage will be read whole", u->id);
	}
	ea = r->content_length == 0 ? FS_OK : append(r, fd, cap, ch);
	expires = db_now() + a->cfg.upload_expiry;
	if (ch->got > 0 && advance(a, r, u, ch, fd, expires) == -1)
		return;
	if (ea != FS_OK) {
		append_error(a, r, ea, cap);
		return;
	}
	if (loc != NULL)
		http_add_header(r, "Location", loc);
	if (u->length < 0 || u->offset < u->length) {
		reply_offset(r, loc != NULL ? 201 : 204, u->offset, expires);
		return;
	}
	if (finish(a, r, p, u, fd) == 0)
		reply_offset(r, loc != NULL ? 201 : 204, u->offset, 0);
}

/*
 * Upload-Checksum into ch, when sent. 1, or 0 after answering 400 (tus:
 * an unsupported algorithm is 400 too).
 */
static int
chunk_checksum(struct request *r, struct chunk *ch)
{
	const char *v = http_header(r, "Upload-Checksum"), *msg = NULL;

	if (v == NULL)
		return 1;
	ch->has_sum = 1;
	if (tus_checksum_parse(v, ch->sum, &msg) == 0)
		return 1;
	http_error(r, FS_BAD_REQUEST, "%s", msg);
	return 0;
}

/* Content-Type of a body of bytes: 1, or 0 after answering 415. */
static int
octet_body(struct request *r)
{
	const char *ct = http_header(r, "Content-Type");

	if (ct != NULL && strcmp(ct, OCTET) == 0)
		return 1;
	http_error(r, FS_MEDIA_TYPE, "Content-Type must be " OCTET);
	return 0;
}

/*
 * Upload-Length sent on a PATCH: it fixes the length of a deferred
 * upload (creation-defer-length), and must agree with one already
 * known. 1, or 0 after answering.
 */
static int
patch_length(struct app *a, struct request *r, struct upload_row *u)
{
	long long len = count_header(r, "Upload-Length");

	if (len == -1)
		return 1;
	if (len == -2 || (u->length >= 0 && len != u->length)) {
		http_error(r, FS_BAD_REQUEST, "Upload-Length must be a byte "
		    "count, and once known it cannot change");
		return 0;
	}
	if (u->length >= 0)
		return 1;
	if (len > a->cfg.max_upload || len < u->offset) {
		http_error(r, FS_TOO_LARGE, "Upload-Length is over "
		    "MAX_UPLOAD_BYTES (%lld) or below the offset",
		    a->cfg.max_upload);
		return 0;
	}
	if (upload_set_length(a->db, u->id, len) != FS_OK) {
		app_db_error(a, r, "uploads: length");
		return 0;
	}
	u->length = len;
	return 1;
}

static void
h_patch(struct app *a, struct request *r, const struct app_caller *c)
{
	struct upload_row u;
	struct chunk ch;
	const char *host;
	enum fs_err e;
	int fd = -1, here, take;

	memset(&ch, 0, sizeof(ch));
	memset(&u, 0, sizeof(u));
	if (!tus_begin(r) || !octet_body(r) || !chunk_checksum(r, &ch))
		goto out;
	ch.offset = count_header(r, "Upload-Offset");
	if (ch.offset < 0) {
		http_error(r, FS_BAD_REQUEST, "Upload-Offset must be a byte "
		    "count");
		goto out;
	}
	if (!load(a, r, &c->p, &u))
		goto out;
	host = upload_host(a->cfg.data_dir);
	if (host == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	/*
	 * Another host's: take it over from the end of its parts, where
	 * HEAD here says it is (docs/uploads.md, "More than one host").
	 */
	here = upload_here(a->cfg.data_dir, host, &u);
	take = !here && upload_movable(a, &u) && ch.offset == u.parts_bytes;
	if (!here && !take) {
		if (upload_movable(a, &u))
			http_error(r, FS_CONFLICT, "Upload-Offset is %lld, but "
			    "the upload is at %lld", ch.offset, u.parts_bytes);
		else
			http_error(r, FS_GONE, "this upload's bytes are not "
			    "on this host");
		goto out;
	}
	fd = upload_stage_open(a->cfg.data_dir, u.id, take ? STAGE_TAKE :
	    STAGE_OPEN, &e);
	if (fd == -1) {
		if (e == FS_CONFLICT)
			http_error(r, e, "another request is writing to this "
			    "upload; HEAD it, then resume from its offset");
		else
			http_error(r, e == FS_NOT_FOUND ? FS_GONE : e,
			    "this upload's bytes are gone");
		goto out;
	}
	/* Again, under the lock: the request before ours may have moved. */
	upload_row_free(&u);
	if (!load(a, r, &c->p, &u))
		goto out;
	if (take && upload_here(a->cfg.data_dir, host, &u))
		take = 0;	/* taken here meanwhile, by the request before */
	if (take) {
		e = upload_take_over(a->db, u.id, host, u.offset);
		upload_row_free(&u);
		if (e == FS_CONFLICT) {
			http_error(r, e, "this upload moved meanwhile; HEAD "
			    "it, then resume from its offset");
			goto out;
		}
		if (e != FS_OK) {
			app_db_error(a, r, "uploads: take over");
			goto out;
		}
		if (!load(a, r, &c->p, &u))
			goto out;
	} else if (!upload_here(a->cfg.data_dir, host, &u)) {
		http_error(r, FS_CONFLICT, "another host took this upload over "
		    "meanwhile; HEAD it, then resume from its offset");
		goto out;
	}
	if (ch.offset != u.offset) {
		http_error(r, FS_CONFLICT, "Upload-Offset is %lld, but the "
		    "upload is at %lld", ch.offset, u.offset);
		goto out;
	}
	if (!patch_length(a, r, &u))
		goto out;
	take_body(a, r, &c->p, &u, fd, &ch, NULL);
out:
	if (fd != -1)
		close(fd);	/* drops the lock */
	shastate_free(ch.run);
	upload_row_free(&u);
}

static void
h_head(struct app *a, struct request *r, const struct app_caller *c)
{
	struct upload_row u;
	const char *host;
	long long offset;
	enum fs_err e;
	int fd = -1;

	memset(&u, 0, sizeof(u));
	if (!tus_begin(r) || !load(a, r, &c->p, &u))
		goto out;
	host = upload_host(a->cfg.data_dir);
	if (host == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	/*
	 * Another host's stage holds the bytes after its parts: here it
	 * goes on from the parts (a PATCH there takes it over).
	 */
	offset = u.offset;
	if (!upload_here(a->cfg.data_dir, host, &u) && upload_movable(a, &u)) {
		offset = u.parts_bytes;
	} else if (u.length >= 0 && u.offset == u.length) {
		/*
		 * All bytes came but the upload was not published (its
		 * worker died first, docs/uploads.md): a client that sees
		 * Upload-Offset equal Upload-Length stops here, so publish
		 * it now, under the lock.
		 */
		db_read_end(a->db);	/* HEAD's snapshot (app.c): it writes */
		fd = upload_stage_open(a->cfg.data_dir, u.id, STAGE_OPEN, &e);
		upload_row_free(&u);
		if (fd != -1 && (!load(a, r, &c->p, &u) ||
		    (u.offset == u.length && finish(a, r, &c->p, &u, fd) == -1)))
			goto out;
		if (fd == -1 && !load(a, r, &c->p, &u))
			goto out;
		offset = u.offset;
	}
	/* tus 1.0, HEAD: never cached, or a resume starts from a stale offset. */
	http_add_header(r, "Cache-Control", "no-store");
	http_add_headerf(r, "Upload-Offset", "%lld", offset);
	if (u.length >= 0)
		http_add_headerf(r, "Upload-Length", "%lld", u.length);
	else
		http_add_header(r, "Upload-Defer-Length", "1");
	if (u.metadata[0] != '\0')
		http_add_header(r, "Upload-Metadata", u.metadata);
	add_expires(r, u.expires_at);
	http_status(r, 200);
	http_begin(r);
out:
	if (fd != -1)
		close(fd);
	upload_row_free(&u);
}

static void
h_delete(struct app *a, struct request *r, const struct app_caller *c)
{
	struct upload_row u;
	enum fs_err e;

	memset(&u, 0, sizeof(u));
	if (!tus_begin(r) || !load(a, r, &c->p, &u))
		goto out;
	e = upload_abort(a->db, a->store, a->cfg.data_dir, u.id);
	if (e == FS_CONFLICT)
		http_error(r, e, "a request is writing to this upload");
	else if (e == FS_UNAVAILABLE)
		http_error(r, e, "the storage backend did not answer; try "
		    "again");
	else if (e != FS_OK)
		app_db_error(a, r, "uploads: delete");
	else {
		metrics_inc(METRIC_UPLOADS_TERMINATED);
		app_audit(r, "upload-terminate", u.id, NULL);
		http_status(r, 204);
		http_begin(r);
	}
out:
	upload_row_free(&u);
}

/*
 * Upload-Length, or Upload-Defer-Length: 1 (creation-defer-length): one
 * of them. 1 with *len (-1: deferred), or 0 after answering.
 */
static int
creation_length(struct app *a, struct request *r, long long *len)
{
	const char *d = http_header(r, "Upload-Defer-Length");
	long long n = count_header(r, "Upload-Length");

	if ((n == -1) == (d == NULL) || n == -2 ||
	    (d != NULL && strcmp(d, "1") != 0)) {
		http_error(r, FS_BAD_REQUEST, "send Upload-Length (a byte "
		    "count) or Upload-Defer-Length: 1");
		return 0;
	}
	if (n > a->cfg.max_upload) {
		http_error(r, FS_TOO_LARGE, "Upload-Length is over "
		    "MAX_UPLOAD_BYTES (%lld)", a->cfg.max_upload);
		return 0;
	}
	*len = n;
	return 1;
}

/* folderId of the metadata into u: 1, or 0 after answering. */
static int
creation_folder(struct app *a, struct request *r, const struct principal *p,
    const char *folder, struct upload_row *u)
{
	int rc;

	if (folder == NULL || *folder == '\0')
		return 1;
	rc = cry_is_uuid(folder) ? folder_allowed(a->db, p, PERM_READ,
	    folder) : 0;
	if (rc == -1) {
		app_db_error(a, r, "uploads: folder");
		return 0;
	}
	if (rc == 0) {
		http_error(r, FS_VALIDATION, "Upload-Metadata folderId does "
		    "not name a folder of this tenant");
		return 0;
	}
	snprintf(u->folder_id, sizeof(u->folder_id), "%s", folder);
	return 1;
}

/*
 * Upload-Metadata into u: key (validated as PUT's, DESIGN §2),
 * contentType and folderId. 1, or 0 after answering 422.
 */
static int
creation_meta(struct app *a, struct request *r, const struct principal *p,
    struct upload_row *u)
{
	const char *hdr = http_header(r, "Upload-Metadata"), *msg = NULL;
	const char *ctype;
	struct tus_meta m;
	char *logical = NULL;
	int ok = 0;

	if (hdr == NULL)
		hdr = "";
	if (tus_meta_parse(hdr, &m, &msg) == -1) {
		http_error(r, FS_VALIDATION, "%s", msg);
		goto out;
	}
	if (m.key == NULL) {
		http_error(r, FS_VALIDATION, "Upload-Metadata must have key, "
		    "the storage key");
		goto out;
	}
	if (key_validate(m.key, strlen(m.key), &logical, &msg) == -1) {
		http_error(r, FS_VALIDATION, "Upload-Metadata key: %s", msg);
		goto out;
	}
	ctype = pub_content_type(m.ctype, &msg);
	if (ctype == NULL) {
		http_error(r, FS_VALIDATION, "Upload-Metadata contentType %s",
		    msg);
		goto out;
	}
	snprintf(u->content_type, sizeof(u->content_type), "%s", ctype);
	if (!creation_folder(a, r, p, m.folder, u))
		goto out;
	u->key = key_physical(p->tenant_id, logical);
	u->metadata = strdup(hdr);
	if (u->key == NULL || u->metadata == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	ok = 1;
out:
	free(logical);
	tus_meta_free(&m);
	return ok;
}

/* A new row for p (id, times) and its stage: the fd, or -1 answered. */
static int
creation_start(struct app *a, struct request *r, const struct principal *p,
    struct upload_row *u)
{
	unsigned char rnd[UPLOAD_ID_LEN / 2];
	const char *host;
	enum fs_err e;
	int fd;

	if (cry_random(rnd, sizeof(rnd)) == -1) {
		http_error(r, FS_INTERNAL, NULL);
		return -1;
	}
	cry_hex(rnd, sizeof(rnd), u->id);
	snprintf(u->tenant_id, sizeof(u->tenant_id), "%s", p->tenant_id);
	snprintf(u->creator_id, sizeof(u->creator_id), "%s", p->user_id);
	u->created_at = db_now();
	u->expires_at = u->created_at + a->cfg.upload_expiry;
	host = upload_host(a->cfg.data_dir);
	u->stage_host = host != NULL ? strdup(host) : NULL;
	if (u->stage_host == NULL) {
		app_log(a, "uploads: no host id in %s/%s", a->cfg.data_dir,
		    UPLOAD_DIR);
		http_error(r, FS_INTERNAL, NULL);
		return -1;
	}
	fd = upload_stage_open(a->cfg.data_dir, u->id, STAGE_CREATE, &e);
	if (fd == -1) {
		app_log(a, "uploads: cannot make a stage in %s/%s",
		    a->cfg.data_dir, UPLOAD_DIR);
		http_error(r, e == FS_NO_SPACE ? e : FS_INTERNAL, NULL);
		return -1;
	}
	e = upload_insert(a->db, u);
	if (e != FS_OK) {
		upload_stage_remove(a->cfg.data_dir, u->id);
		close(fd);
		app_db_error(a, r, "uploads: insert");
		return -1;
	}
	return fd;
}

static void
h_create(struct app *a, struct request *r, const struct app_caller *c)
{
	char loc[sizeof(PREFIX) + UPLOAD_ID_LEN];
	struct upload_row u;
	struct chunk ch;
	struct pub pu;
	enum fs_err e;
	int fd = -1;

	memset(&u, 0, sizeof(u));
	memset(&pu, 0, sizeof(pu));
	memset(&ch, 0, sizeof(ch));
	if (!tus_begin(r) || !creation_length(a, r, &u.length) ||
	    !creation_meta(a, r, &c->p, &u))
		goto out;
	/* creation-with-upload: a body is the first chunk. */
	if (r->content_length != 0 && (!octet_body(r) ||
	    !chunk_checksum(r, &ch)))
		goto out;
	/* Refuse now what the publish would refuse (and again then). */
	pu.a = a;
	pu.p = &c->p;
	pu.pkey = u.key;
	pu.ctype = u.content_type;
	e = pub_may_write(&pu, u.length);
	if (e != FS_OK) {
		http_error(r, e, "%s", e == FS_FORBIDDEN ? pu.msg :
		    "database error");
		goto out;
	}
	fd = creation_start(a, r, &c->p, &u);
	if (fd == -1)
		goto out;
	metrics_inc(METRIC_UPLOADS_CREATED);
	app_audit(r, "upload-create", u.id, u.key);
	snprintf(loc, sizeof(loc), "%s%s", PREFIX, u.id);
	take_body(a, r, &c->p, &u, fd, &ch, loc);
out:
	if (fd != -1)
		close(fd);
	shastate_free(ch.run);
	upload_row_free(&u);
}

APP_MAIN("uploads", APP_STORE,
    [ROUTE_UPLOAD_OPTIONS] = h_options,
    [ROUTE_UPLOAD_NEW] = h_create,
    [ROUTE_UPLOAD_HEAD] = h_head,
    [ROUTE_UPLOAD_PATCH] = h_patch,
    [ROUTE_UPLOAD_DELETE] = h_delete)
