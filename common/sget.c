/*
 * sget: GET and HEAD /api/storage/<key> (sget.h), shared by the get and
 * transform programs. A session, an API key or a signed ?token=
 * (DESIGN §5, §6), and image transforms on the same URL (DESIGN §7): the
 * transform path runs after the very same authorization as a raw
 * download, whichever credential was used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "app.h"
#include "cry.h"
#include "db.h"
#include "files.h"
#include "target.h"
#include "img.h"
#include "key.h"
#include "metrics.h"
#include "range.h"
#include "rcache.h"
#include "sget.h"
#include "relay.h"
#include "tslot.h"

#define PREFIX		"/api/storage/"
#define STREAM_BUF	(256 * 1024)
#define STREAM_NBUF	4	/* pieces fetched ahead of the client: 1 MiB */
#define ETAG_HEX	32	/* hex chars of a rendition ETag (128 bits) */
#define RENDITION_TTL	"max-age=31536000, immutable"
/* Seconds a client should wait when every transform slot is busy: about
   one bomb-sized transform on the reference machine. */
#define SLOT_RETRY_AFTER	"2"

static enum sget_mode mode;	/* set in sget_main() */

/*
 * The relay's source: its thread fetches the next pieces of an object
 * (from S3, or from disk when X-Sendfile is off) while this one writes
 * the last to the client.
 */
static ssize_t
source_read(void *arg, void *buf, size_t cap)
{
	return store_read(arg, buf, cap);
}

/*
 * S3_REDIRECT: the caller is authorized; send it to the bucket with a
 * short-lived presigned URL, so the bytes skip us (docs/s3.md). Not while
 * the row's object is pending (docs/decisions.md, "Publish and delete"):
 * its publish may move it before the client comes.
 */
static void
redirect_to_bucket(struct app *a, struct request *r, const struct file_row *f)
{
	char *url;

	url = store_presign_get(a->store, f->key, a->cfg.s3.redirect_ttl,
	    time(NULL));
	if (url == NULL || !http_header_value_ok(url)) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	http_status(r, 302);
	http_add_header(r, "Location", url);
	http_add_header(r, "Cache-Control", "private, no-store");
	http_begin(r);
out:
	free(url);
}

/*
 * Hand the object to the web server by X-Sendfile, which applies Range,
 * If-Range and our ETag to it itself. 0 when done, -1 when the store has
 * no usable local file (the caller streams it). Not for a pending row:
 * its object moves when published.
 */
static int
send_by_server(struct app *a, struct request *r, const struct file_row *f)
{
	char *path;
	int rc = -1;

	path = store_local_path(a->store, f->key);
	if (path != NULL && http_header_value_ok(path)) {
		http_add_header(r, "X-Sendfile", path);
		http_status(r, 200);
		http_begin(r);
		rc = 0;
	}
	free(path);
	return rc;
}

/* Stream [start, start + len) of the object; the headers are set. */
static void
stream_object(struct app *a, struct request *r, const struct file_row *f,
    long long start, long long len)
{
	struct store_reader *rd = NULL;
	struct relay *rl = NULL;
	const void *piece;
	char *buf = NULL;
	enum fs_err e;
	ssize_t n;

	e = store_reader_open_row(a->store, f->key, f->pending, start, len,
	    &rd);
	if (e != FS_OK) {
		/* A row without its object: report, never hang. */
		app_log(a, "object missing for a row (%s)", err_code(e));
		if (e == FS_UNAVAILABLE)
			http_error(r, e, "storage backend unavailable");
		else
			http_error(r, e == FS_NOT_FOUND ? FS_NOT_FOUND :
			    FS_INTERNAL, e == FS_NOT_FOUND ? "no such file" :
			    NULL);
		goto out;
	}
	if (len > STREAM_BUF)
		rl = relay_source(source_read, rd, STREAM_NBUF, STREAM_BUF);
	if (rl == NULL) {
		buf = malloc(STREAM_BUF);
		if (buf == NULL) {
			http_error(r, FS_INTERNAL, NULL);
			goto out;
		}
	}
	http_begin(r);
	for (;;) {
		if (rl != NULL)
			n = relay_pull(rl, &piece);
		else {
			n = store_read(rd, buf, STREAM_BUF);
			piece = buf;
		}
		if (n <= 0)
			break;
		if (http_write(r, piece, (size_t)n) == -1)
			break;	/* the client went away */
	}
	if (n < 0)
		app_log(a, "read error mid-stream");
out:
	relay_free(rl);	/* before rd: its thread reads from rd */
	free(buf);
	store_reader_free(rd);
}

/*
 * The headers of an original that is sent (200 or 206). An active type
 * (HTML, SVG...) must be an attachment: 0, or -1 when that header could
 * not be made (answered with 500: never serve it without).
 */
static int
original_headers(struct request *r, const struct file_row *f,
    const char *logical, const char *etag, const char *lastmod,
    enum http_cond_result cr, const struct sget_opts *o)
{
	char *disp;
	int rc;

	http_add_header(r, "Content-Type", o->ctype != NULL ? o->ctype :
	    f->content_type);
	http_add_header(r, "ETag", etag);
	http_add_header(r, "Last-Modified", lastmod);
	/*
	 * lighttpd applies a Range to any whole 200 it passes on, ours
	 * included, unless the answer says "Accept-Ranges: none": say so
	 * when we ignore the client's Range, or lighttpd would answer an
	 * invalid one with its own 416.
	 */
	http_add_header(r, "Accept-Ranges", cr == HTTP_COND_IGNORED ?
	    "none" : "bytes");
	http_add_header(r, "Cache-Control", o->cache_control != NULL ?
	    o->cache_control : "private, no-cache");
	http_add_header(r, "X-Content-Type-Options", "nosniff");
	/* Served from the API origin: never let stored content script it. */
	http_add_header(r, "Content-Security-Policy", "sandbox");
	/* Asked for by a signed S3 request (response-content-disposition). */
	if (o->disposition != NULL)
		return http_add_header(r, "Content-Disposition",
		    o->disposition) == -1 ? -1 : 0;
	if (!file_type_is_active(f->content_type) &&
	    (o->ctype == NULL || !file_type_is_active(o->ctype)))
		return 0;
	disp = http_disposition(logical, 1);
	rc = disp != NULL ? http_add_header(r, "Content-Disposition", disp) :
	    -1;
	free(disp);
	if (rc == -1)
		http_error(r, FS_INTERNAL, NULL);
	return rc;
}

/* http_header for http_cond_request. */
static const char *
header_of(void *r, const char *name)
{
	return http_header(r, name);
}

static void
serve_original(struct app *a, struct request *r, const struct file_row *f,
    const char *logical)
{
	static const struct sget_opts rest;

	sget_original(a, r, f, logical, &rest);
}

void
sget_original(struct app *a, struct request *r, const struct file_row *f,
    const char *logical, const struct sget_opts *o)
{
	struct http_cond c;
	char etag[70], lastmod[30];
	long long start, len;
	enum http_cond_result cr;

	/* Every read is done: a long download must not pin the snapshot. */
	db_read_end(a->db);
	if (a->cfg.s3.bucket != NULL && a->cfg.s3.redirect && !r->is_head &&
	    f->pending[0] == '\0' && !o->no_redirect) {
		redirect_to_bucket(a, r, f);
		return;
	}
	if (o->etag != NULL)
		snprintf(etag, sizeof(etag), "%s", o->etag);
	else
		snprintf(etag, sizeof(etag), "\"%s\"", f->sha256);
	http_date(f->updated_at, lastmod);
	http_cond_request(&c, header_of, r);
	c.etag = etag;
	c.mtime = f->updated_at;
	c.size = f->size;
	cr = http_conditional(&c, &start, &len);
	if (cr == HTTP_COND_NOT_MODIFIED) {
		http_status(r, 304);
		http_add_header(r, "ETag", etag);
		http_add_header(r, "Last-Modified", lastmod);
		http_add_header(r, "Cache-Control", "private, no-cache");
		http_begin(r);
		return;
	}
	if (cr == HTTP_COND_UNSATISFIABLE) {
		http_add_headerf(r, "Content-Range", "bytes */%lld", f->size);
		if (o->range_error != NULL)
			o->range_error(r, f->size);
		else
			http_error(r, FS_RANGE, "range not satisfiable for "
			    "%lld bytes", f->size);
		return;
	}
	if (original_headers(r, f, logical, etag, lastmod, cr, o) == -1)
		return;
	/*
	 * The web server applies a Range to what it sends by X-Sendfile,
	 * and lighttpd answers an invalid one (bytes=5-1, bytes=abc) with
	 * its own 416. RFC 9110 §14.2 says to ignore it: so when we ignore
	 * a Range (invalid, several ranges, an If-Range that does not hold),
	 * we send the whole body ourselves.
	 */
	if (a->cfg.sendfile && !r->is_head && cr != HTTP_COND_IGNORED &&
	    f->pending[0] == '\0' && send_by_server(a, r, f) == 0) {
		http_note_sent(r, len);
		return;
	}
	if (cr == HTTP_COND_PARTIAL) {
		http_status(r, 206);
		http_add_headerf(r, "Content-Range", "bytes %lld-%lld/%lld",
		    start, start + len - 1, f->size);
	} else
		http_status(r, 200);
	http_add_headerf(r, "Content-Length", "%lld", len);
	if (r->is_head)
		http_begin(r);
	else
		stream_object(a, r, f, start, len);
}

/* Stream a local file (a rendition) to the client, whole. */
static void
stream_path(struct app *a, struct request *r, const char *path)
{
	FILE *fp;
	char *buf = NULL;
	size_t n;

	fp = fopen(path, "rb");
	if (fp == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		return;
	}
	buf = malloc(STREAM_BUF);
	if (buf == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	http_begin(r);
	while ((n = fread(buf, 1, STREAM_BUF, fp)) > 0)
		if (http_write(r, buf, n) == -1)
			break;
out:
	free(buf);
	fclose(fp);
}

/*
 * Read the whole source object into memory for the decoder, refusing
 * sources over the transform byte cap before reading any of them.
 * FS_OK with *buf (caller frees) or an error answered by the caller.
 */
static enum fs_err
load_source(struct app *a, const struct file_row *f, unsigned char **buf,
    size_t *len, char *msg, size_t msglen)
{
	struct store_reader *rd = NULL;
	unsigned char *b = NULL;
	size_t off = 0;
	ssize_t n = 0;
	enum fs_err e;

	*buf = NULL;
	*len = 0;
	if (f->size > img_max_source_bytes()) {
		snprintf(msg, msglen, "the source is larger than the %lld "
		    "bytes a transform accepts", img_max_source_bytes());
		return FS_VALIDATION;
	}
	e = store_reader_open_row(a->store, f->key, f->pending, 0, f->size,
	    &rd);
	if (e != FS_OK) {
		if (e == FS_UNAVAILABLE)
			snprintf(msg, msglen, "storage backend unavailable");
		return e == FS_NOT_FOUND || e == FS_UNAVAILABLE ? e :
		    FS_INTERNAL;
	}
	b = malloc(f->size > 0 ? (size_t)f->size : 1);
	if (b == NULL) {
		e = FS_INTERNAL;
		goto out;
	}
	while (off < (size_t)f->size) {
		n = store_read(rd, b + off, (size_t)f->size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (n < 0) {
		/* A remote store can fail mid-body; never decode a torso. */
		e = FS_UNAVAILABLE;
		snprintf(msg, msglen, "storage backend unavailable");
		goto out;
	}
	*buf = b;
	*len = off;
	b = NULL;
	e = FS_OK;
out:
	free(b);
	store_reader_free(rd);
	return e;
}

/*
 * Public rows may be resized by the public origin's CDN instead: a 302
 * there. Private rows never leave through it.
 */
static void
redirect_to_cdn(struct app *a, struct request *r, const struct file_row *f,
    const struct img_params *ip, enum img_format out)
{
	char opts[IMG_CANON_MAX], *enc;
	size_t baselen;

	enc = target_url_path(f->key);
	if (enc == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		return;
	}
	img_cloudflare_options(ip, out, opts);
	baselen = strlen(a->cfg.public_base);
	while (baselen > 0 && a->cfg.public_base[baselen - 1] == '/')
		baselen--;
	http_status(r, 302);
	if (http_add_headerf(r, "Location", "%.*s/cdn-cgi/image/%s/%s",
	    (int)baselen, a->cfg.public_base, opts, enc) == -1) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	http_add_header(r, "Cache-Control", "private, no-cache");
	http_begin(r);
out:
	free(enc);
}

/*
 * The rendition's id (ETAG_HEX hex digits into id): source sha256,
 * physical key and canonical query. 0, or -1 when out of memory.
 */
static int
rendition_id(const struct file_row *f, const char *canon,
    char id[ETAG_HEX + 1])
{
	unsigned char digest[CRY_SHA256_LEN];
	char hex[CRY_SHA256_LEN * 2 + 1], *hashed;

	if (asprintf(&hashed, "%s\n%s\n%s", f->sha256, f->key, canon) == -1)
		return -1;
	cry_sha256(hashed, strlen(hashed), digest);
	free(hashed);
	cry_hex(digest, sizeof(digest), hex);
	memcpy(id, hex, ETAG_HEX);
	id[ETAG_HEX] = '\0';
	return 0;
}

/*
 * A cache miss: run the transform under a transform slot, and cache the
 * result (best effort). 0 with *dst (img_free) and *stored, or -1 when
 * the error is answered.
 */
static int
render(struct app *a, struct request *r, const struct file_row *f,
    const struct img_params *ip, enum img_format out, const char *id,
    unsigned char **dst, size_t *dstlen, int *stored)
{
	char msg[IMG_MSG_MAX], why[IMG_MSG_MAX], lmsg[160];
	unsigned char *src = NULL;
	size_t srclen = 0;
	long long t0;
	int slot, rc = -1;
	enum fs_err e;

	/*
	 * A slot bounds the transforms on this host (tslot.h): held from
	 * reading the source (up to TRANSFORM_MAX_BYTES in memory) until
	 * ImageMagick is done. A hit needs none.
	 */
	slot = tslot_acquire(a->cfg.cache_dir);
	if (slot == -1) {
		if (errno != EBUSY) {
			app_log(a, "cannot take a transform slot: %s",
			    strerror(errno));
			http_error(r, FS_INTERNAL, NULL);
			return -1;
		}
		metrics_inc(METRIC_TRANSFORMS_BUSY);
		http_add_header(r, "Retry-After", SLOT_RETRY_AFTER);
		http_error(r, FS_UNAVAILABLE, "all %d transform slots are "
		    "busy; retry later", tslot_count());
		return -1;
	}
	e = load_source(a, f, &src, &srclen, lmsg, sizeof(lmsg));
	if (e != FS_OK) {
		if (e != FS_VALIDATION)
			app_log(a, "transform source (%s)", err_code(e));
		http_error(r, e, e == FS_VALIDATION || e == FS_UNAVAILABLE ?
		    "%s" : NULL, lmsg);
		goto out;
	}
	t0 = metrics_now_us();
	e = img_transform(src, srclen, ip, out, dst, dstlen, msg, why);
	metrics_time(METRIC_TIME_TRANSFORM, metrics_now_us() - t0);
	metrics_inc(e == FS_OK ? METRIC_TRANSFORMS_OK :
	    METRIC_TRANSFORMS_FAILED);
	tslot_release(slot);
	slot = -1;
	if (e != FS_OK) {
		if (why[0] != '\0')
			app_log(a, "transform: %s", why);
		http_error(r, e, "%s", msg);
		goto out;
	}
	/*
	 * Best effort: a full disk still answers. A miss is sent from
	 * memory, so eviction (after the response) can never remove the
	 * file under a pending X-Sendfile.
	 */
	if (rcache_store(a->cfg.cache_dir, id, img_format_name(out), *dst,
	    *dstlen, NULL) == -1)
		app_log(a, "cannot cache a rendition: %s", strerror(errno));
	else
		*stored = 1;
	rc = 0;
out:
	tslot_release(slot);
	free(src);
	return rc;
}

/*
 * A transform GET (DESIGN §7). The row has been authorized exactly as a
 * raw download would be.
 */
static void
serve_transform(struct app *a, struct request *r, const struct file_row *f,
    const struct img_params *ip)
{
	struct http_cond c;
	enum img_format out;
	char canon[IMG_CANON_MAX], id[ETAG_HEX + 1], etag[ETAG_HEX + 3];
	char cc[64], *path = NULL;
	unsigned char *dst = NULL;
	size_t dstlen = 0;
	long long size = 0, start, len;
	int pub = strcmp(f->acl, "public") == 0, hit, stored = 0;

	out = img_output_format(ip, f->content_type);
	img_canonical(ip, out, canon);
	if (pub && a->cfg.public_base != NULL && a->cfg.public_base[0] != '\0') {
		redirect_to_cdn(a, r, f, ip, out);
		return;
	}
	if (rendition_id(f, canon, id) == -1) {
		http_error(r, FS_INTERNAL, NULL);
		return;
	}
	snprintf(etag, sizeof(etag), "\"%s\"", id);
	snprintf(cc, sizeof(cc), "%s, %s", pub ? "public" : "private",
	    RENDITION_TTL);

	/* A rendition has no date of its own, and Range is not served. */
	http_cond_request(&c, header_of, r);
	c.range = NULL;
	c.etag = etag;
	c.mtime = -1;
	if (http_conditional(&c, &start, &len) == HTTP_COND_NOT_MODIFIED) {
		http_status(r, 304);
		http_add_headerf(r, "ETag", "W/%s", etag);
		http_add_header(r, "Cache-Control", cc);
		http_begin(r);
		return;
	}

	hit = rcache_lookup(a->cfg.cache_dir, id, img_format_name(out), &path,
	    &size);
	metrics_inc(hit == 1 ? METRIC_RCACHE_HITS : METRIC_RCACHE_MISSES);
	if (hit != 1 && render(a, r, f, ip, out, id, &dst, &dstlen,
	    &stored) == -1)
		goto out;

	http_add_header(r, "Content-Type", img_format_mime(out));
	http_add_headerf(r, "ETag", "W/%s", etag);
	http_add_header(r, "Cache-Control", cc);
	http_add_header(r, "X-Content-Type-Options", "nosniff");
	http_add_header(r, "Content-Security-Policy", "sandbox");
	/* Says whether ImageMagick ran for this response. */
	http_add_header(r, "X-Rendition", hit == 1 ? "hit" : "miss");
	if (path != NULL && a->cfg.sendfile && !r->is_head &&
	    http_header_value_ok(path)) {
		/* Served like an original: the web server sends the file. */
		http_add_header(r, "X-Sendfile", path);
		http_note_sent(r, size);
		http_status(r, 200);
		http_begin(r);
		goto out;
	}
	http_status(r, 200);
	http_add_headerf(r, "Content-Length", "%lld",
	    dst != NULL ? (long long)dstlen : size);
	if (r->is_head)
		http_begin(r);
	else if (dst != NULL) {
		http_begin(r);
		http_write(r, dst, dstlen);
	} else
		stream_path(a, r, path);
out:
	if (stored)
		rcache_note_write(a->cfg.cache_dir,
		    a->cfg.transform.cache_bytes, dstlen);
	img_free(dst);
	free(path);
}

static void
serve(struct app *a, struct request *r, const struct file_row *f,
    const char *logical, const struct img_params *ip)
{
	if (ip->given == 0)
		serve_original(a, r, f, logical);
	else if (mode == SGET_TRANSFORM)
		serve_transform(a, r, f, ip);
	else {
		/* Misrouted: see sget.h. Loud, so the config gets fixed. */
		app_log(a, "a transform reached get: route storage GETs with "
		    "transform parameters to the transform program "
		    "(docs/hosting.md)");
		http_error(r, FS_INTERNAL, NULL);
	}
}

/*
 * Every query parameter must be one we know (DESIGN §7): token, or a
 * transform parameter with a valid value, each at most once.
 */
static int
params_ok(struct request *r, struct img_params *ip)
{
	char msg[IMG_MSG_MAX];
	size_t i;

	img_params_init(ip);
	for (i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].name, "token") == 0)
			continue;
		if (!img_param_known(r->params[i].name)) {
			http_error(r, FS_VALIDATION,
			    "unknown parameter \"%.64s\"", r->params[i].name);
			return 0;
		}
		if (img_params_set(ip, r->params[i].name, r->params[i].value,
		    r->params[i].value_len, msg) == -1) {
			http_error(r, FS_VALIDATION, "%s", msg);
			return 0;
		}
	}
	return 1;
}

/* A ?token= whose MAC and expiry app_dispatch() has checked. */
static void
get_with_token(struct app *a, struct request *r, const struct app_caller *c,
    const struct img_params *ip)
{
	struct file_row f;
	char *logical = NULL, *pkey = NULL;
	enum fs_err e;

	memset(&f, 0, sizeof(f));
	if (!target_key_from_path(r, PREFIX, 0, NULL, &logical, NULL))
		goto out;
	/* The token names one tenant and one key; this URL must be it. */
	pkey = key_physical(c->tok_tenant, logical);
	if (pkey == NULL || strcmp(pkey, c->tok_key) != 0) {
		http_error(r, FS_FORBIDDEN, "token is not valid for this key");
		goto out;
	}
	e = file_load(a->db, pkey, &f);
	if (e != FS_OK) {
		http_error(r, e, e == FS_NOT_FOUND ? "no such file" : NULL);
		goto out;
	}
	serve(a, r, &f, logical, ip);
out:
	file_row_free(&f);
	free(logical);
	free(pkey);
}

static void
h_get(struct app *a, struct request *r, const struct app_caller *c)
{
	struct img_params ip;
	struct target *t;

	if (!params_ok(r, &ip))
		return;
	if (c->tok_key != NULL) {
		get_with_token(a, r, c, &ip);
		return;
	}
	t = target_open(a, r, &c->p, 0);
	if (t == NULL)
		return;
	serve(a, r, &t->f, t->logical, &ip);
	target_free(t);
}

static const app_handler serve_get[ROUTE__MAX] = {
	[ROUTE_GET] = h_get,
};

int
sget_main(const char *name, enum sget_mode m, int argc, char *argv[])
{
	mode = m;
	return app_main(name, argc, argv, serve_get, APP_STORE);
}
