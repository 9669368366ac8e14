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
#include "img.h"
#include "key.h"
#include "range.h"
#include "rcache.h"
#include "sget.h"
#include "relay.h"
#include "tok.h"
#include "tslot.h"

#define PREFIX		"/api/storage/"
#define STREAM_BUF	(256 * 1024)
#define STREAM_NBUF	4	/* pieces fetched ahead of the client: 1 MiB */
#define ETAG_HEX	32	/* hex chars of a rendition ETag (128 bits) */
#define RENDITION_TTL	"max-age=31536000, immutable"
/* Seconds a client should wait when every transform slot is busy: about
   one bomb-sized transform on the reference machine. */
#define SLOT_RETRY_AFTER	"2"

static long long cache_max;	/* RENDITION_CACHE_BYTES, set in sget_main() */
static enum sget_mode mode;	/* set in sget_main() */

/* Content-Disposition for a logical key: RFC 6266 with RFC 8187. */
static void
add_disposition(struct request *r, const char *logical, int attachment)
{
	const char *base = strrchr(logical, '/');
	char ascii[256], *enc;
	size_t i, j;

	base = base != NULL ? base + 1 : logical;
	for (i = j = 0; base[i] != '\0' && j + 1 < sizeof(ascii); i++) {
		unsigned char c = (unsigned char)base[i];
		/* The quoted fallback keeps printable ASCII minus quote/backslash. */
		ascii[j++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ?
		    (char)c : '_';
	}
	ascii[j] = '\0';
	enc = file_url_path(base);
	if (enc == NULL)
		return;
	http_add_headerf(r, "Content-Disposition",
	    "%s; filename=\"%s\"; filename*=UTF-8''%s",
	    attachment ? "attachment" : "inline", ascii, enc);
	free(enc);
}

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
 * its publish may move it before the client comes. 1 when answered.
 */
static int
redirect_s3(struct app *a, struct request *r, const struct file_row *f)
{
	char *path;

	if (a->cfg.s3.bucket == NULL || !a->cfg.s3.redirect || r->is_head ||
	    f->pending[0] != '\0')
		return 0;
	path = store_presign_get(a->store, f->key, a->cfg.s3.redirect_ttl,
	    time(NULL));
	if (path == NULL || !http_header_value_ok(path)) {
		http_error(r, FS_INTERNAL, NULL);
		free(path);
		return 1;
	}
	http_status(r, 302);
	http_add_header(r, "Location", path);
	http_add_header(r, "Cache-Control", "private, no-store");
	http_begin(r);
	free(path);
	return 1;
}

/*
 * Hand the file to the web server by X-Sendfile, when it is a local file
 * that stays where it is (not pending); it applies Range, If-Range and
 * our ETag itself. 1 when answered.
 */
static int
send_file(struct app *a, struct request *r, const struct file_row *f)
{
	char *path;

	if (f->pending[0] != '\0')
		return 0;
	path = store_local_path(a->store, f->key);
	if (path == NULL || !http_header_value_ok(path)) {
		free(path);
		return 0;
	}
	http_add_header(r, "X-Sendfile", path);
	http_status(r, 200);
	http_begin(r);
	free(path);
	return 1;
}

/* Stream [start, start+len) of the row's object; the status is set. */
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
		return;
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

static void
serve_original(struct app *a, struct request *r, const struct file_row *f,
    const char *logical)
{
	char etag[70], lastmod[30];
	const char *inm, *ims, *rh, *ifr;
	long long start = 0, len = f->size;
	enum range_result rr = RANGE_NONE;

	/* Every read is done: a long download must not pin the snapshot. */
	db_read_end(a->db);
	if (redirect_s3(a, r, f))
		return;
	snprintf(etag, sizeof(etag), "\"%s\"", f->sha256);
	http_date(f->updated_at, lastmod);

	inm = http_header(r, "If-None-Match");
	ims = http_header(r, "If-Modified-Since");
	if ((inm != NULL && http_etag_match(inm, etag)) ||
	    (inm == NULL && ims != NULL && http_parse_date(ims) >= f->updated_at)) {
		http_status(r, 304);
		http_add_header(r, "ETag", etag);
		http_add_header(r, "Last-Modified", lastmod);
		http_add_header(r, "Cache-Control", "private, no-cache");
		http_begin(r);
		return;
	}

	rh = http_header(r, "Range");
	ifr = http_header(r, "If-Range");
	if (rh != NULL && (ifr == NULL || http_if_range_holds(ifr, etag, f->updated_at)))
		rr = range_parse(rh, f->size, &start, &len);
	if (rr == RANGE_UNSATISFIABLE) {
		http_add_headerf(r, "Content-Range", "bytes */%lld", f->size);
		http_error(r, FS_RANGE, "range not satisfiable for %lld bytes",
		    f->size);
		return;
	}

	http_add_header(r, "Content-Type", f->content_type);
	http_add_header(r, "ETag", etag);
	http_add_header(r, "Last-Modified", lastmod);
	/*
	 * lighttpd applies a Range to any whole 200 it passes on, ours
	 * included, unless the answer says "Accept-Ranges: none": say so
	 * when we ignore the client's Range, or lighttpd would answer an
	 * invalid one with its own 416.
	 */
	http_add_header(r, "Accept-Ranges", rh != NULL && rr != RANGE_OK ?
	    "none" : "bytes");
	http_add_header(r, "Cache-Control", "private, no-cache");
	http_add_header(r, "X-Content-Type-Options", "nosniff");
	/* Served from the API origin: never let stored content script it. */
	http_add_header(r, "Content-Security-Policy", "sandbox");
	if (file_type_is_active(f->content_type))
		add_disposition(r, logical, 1);

	/*
	 * The web server applies a Range to what it sends by X-Sendfile,
	 * and lighttpd answers an invalid one (bytes=5-1, bytes=abc) with
	 * its own 416. RFC 9110 §14.2 says to ignore it: so when we ignore
	 * a Range (invalid, several ranges, an If-Range that does not hold),
	 * we send the whole body ourselves.
	 */
	if (a->cfg.sendfile && !r->is_head && (rh == NULL || rr == RANGE_OK) &&
	    send_file(a, r, f))
		return;

	if (rr == RANGE_OK) {
		http_status(r, 206);
		http_add_headerf(r, "Content-Range", "bytes %lld-%lld/%lld",
		    start, start + len - 1, f->size);
	} else {
		http_status(r, 200);
		start = 0;
		len = f->size;
	}
	http_add_headerf(r, "Content-Length", "%lld", len);
	if (r->is_head) {
		http_begin(r);
		return;
	}
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
 * A transform GET (DESIGN §7). The row has been authorized exactly as a
 * raw download would be.
 */
static void
serve_transform(struct app *a, struct request *r, const struct file_row *f,
    const struct img_params *ip)
{
	enum img_format out;
	char canon[IMG_CANON_MAX], opts[IMG_CANON_MAX], id[ETAG_HEX + 1];
	char etag[ETAG_HEX + 3], cc[64], msg[IMG_MSG_MAX], why[IMG_MSG_MAX];
	char lmsg[160], *hashed = NULL, *path = NULL, *enc = NULL;
	unsigned char digest[CRY_SHA256_LEN], *src = NULL, *dst = NULL;
	char hex[CRY_SHA256_LEN * 2 + 1];
	const char *inm;
	size_t srclen = 0, dstlen = 0, baselen;
	long long size = 0;
	int pub = strcmp(f->acl, "public") == 0, hit, stored = 0, slot = -1;
	enum fs_err e;

	out = img_output_format(ip, f->content_type);
	img_canonical(ip, out, canon);

	/* Public rows may be resized by the public origin's CDN instead;
	   private rows never leave through it. */
	if (pub && a->cfg.public_base != NULL && a->cfg.public_base[0] != '\0') {
		enc = file_url_path(f->key);
		if (enc == NULL) {
			http_error(r, FS_INTERNAL, NULL);
			goto out;
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
		goto out;
	}

	/* ETag: source sha256, physical key and canonical query. */
	if (asprintf(&hashed, "%s\n%s\n%s", f->sha256, f->key, canon) == -1) {
		hashed = NULL;
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	cry_sha256(hashed, strlen(hashed), digest);
	cry_hex(digest, sizeof(digest), hex);
	memcpy(id, hex, ETAG_HEX);
	id[ETAG_HEX] = '\0';
	snprintf(etag, sizeof(etag), "\"%s\"", id);
	snprintf(cc, sizeof(cc), "%s, %s", pub ? "public" : "private",
	    RENDITION_TTL);

	inm = http_header(r, "If-None-Match");
	if (inm != NULL && http_etag_match(inm, etag)) {
		http_status(r, 304);
		http_add_headerf(r, "ETag", "W/%s", etag);
		http_add_header(r, "Cache-Control", cc);
		http_begin(r);
		goto out;
	}

	hit = rcache_lookup(a->cfg.cache_dir, id, img_format_name(out), &path,
	    &size);
	if (hit != 1) {
		/*
		 * A slot bounds the transforms on this host (tslot.h): held
		 * from reading the source (up to TRANSFORM_MAX_BYTES in
		 * memory) until ImageMagick is done. A hit needs none.
		 */
		slot = tslot_acquire(a->cfg.cache_dir);
		if (slot == -1) {
			if (errno != EBUSY) {
				app_log(a, "cannot take a transform slot: %s",
				    strerror(errno));
				http_error(r, FS_INTERNAL, NULL);
				goto out;
			}
			http_add_header(r, "Retry-After", SLOT_RETRY_AFTER);
			http_error(r, FS_UNAVAILABLE, "all %d transform slots "
			    "are busy; retry later", tslot_count());
			goto out;
		}
		e = load_source(a, f, &src, &srclen, lmsg, sizeof(lmsg));
		if (e != FS_OK) {
			if (e != FS_VALIDATION)
				app_log(a, "transform source (%s)",
				    err_code(e));
			http_error(r, e, e == FS_VALIDATION ||
			    e == FS_UNAVAILABLE ? "%s" : NULL, lmsg);
			goto out;
		}
		e = img_transform(src, srclen, ip, out, &dst, &dstlen, msg, why);
		tslot_release(slot);
		slot = -1;
		if (e != FS_OK) {
			if (why[0] != '\0')
				app_log(a, "transform: %s", why);
			http_error(r, e, "%s", msg);
			goto out;
		}
		/*
		 * Best effort: a full disk still answers. A miss is sent
		 * from memory, so eviction (after the response) can never
		 * remove the file under a pending X-Sendfile.
		 */
		if (rcache_store(a->cfg.cache_dir, id, img_format_name(out),
		    dst, dstlen, NULL) == -1)
			app_log(a, "cannot cache a rendition: %s",
			    strerror(errno));
		else
			stored = 1;
	}

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
		http_status(r, 200);
		http_begin(r);
		goto out;
	}
	http_status(r, 200);
	http_add_headerf(r, "Content-Length", "%lld",
	    dst != NULL ? (long long)dstlen : size);
	if (r->is_head) {
		http_begin(r);
		goto out;
	}
	if (dst != NULL) {
		http_begin(r);
		http_write(r, dst, dstlen);
	} else
		stream_path(a, r, path);
out:
	tslot_release(slot);
	if (stored)
		rcache_note_write(a->cfg.cache_dir, cache_max, dstlen);
	img_free(dst);
	free(src);
	free(hashed);
	free(path);
	free(enc);
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

static void
get_with_token(struct app *a, struct request *r, const struct http_param *tp,
    const struct img_params *ip)
{
	struct file_row f;
	char *logical = NULL, *tk = NULL, *tt = NULL, *pkey = NULL;
	enum tok_result tr;
	enum fs_err e;

	memset(&f, 0, sizeof(f));
	if (!file_key_from_path(r, PREFIX, 0, NULL, &logical, NULL))
		goto out;
	if (strlen(tp->value) != tp->value_len) {
		http_error(r, FS_UNAUTHORIZED, "invalid token");
		goto out;
	}
	tr = tok_storage_verify(a->tok_key, tp->value, (time_t)db_now(), &tk,
	    &tt);
	if (tr == TOK_EXPIRED) {
		http_error(r, FS_UNAUTHORIZED, "token expired");
		goto out;
	}
	if (tr != TOK_OK) {
		http_error(r, tr == TOK_ERROR ? FS_INTERNAL : FS_UNAUTHORIZED,
		    "invalid token");
		goto out;
	}
	/* The token names one tenant and one key; this URL must be it. */
	pkey = key_physical(tt, logical);
	if (pkey == NULL || strcmp(pkey, tk) != 0) {
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
	free(tk);
	free(tt);
}

static void
h_get(struct app *a, struct request *r)
{
	const struct http_param *tp;
	struct img_params ip;
	struct principal p;
	struct file_row f;
	char *logical = NULL, *pkey = NULL;

	if (!params_ok(r, &ip))
		return;
	tp = http_param(r, "token");
	if (tp != NULL) {
		get_with_token(a, r, tp, &ip);
		return;
	}
	if (!file_open_readable(a, r, 0, &p, &logical, &pkey, &f))
		return;
	serve(a, r, &f, logical, &ip);
	file_row_free(&f);
	free(logical);
	free(pkey);
}

/* Routes the other storage programs serve count for 405's Allow. */
static const struct app_route routes[] = {
	{ "GET", PREFIX, APP_PREFIX, h_get },
	{ "PUT", PREFIX, APP_PREFIX, NULL },
	{ "PATCH", PREFIX, APP_PREFIX, NULL },
	{ "DELETE", PREFIX, APP_PREFIX, NULL },
};

int
sget_main(const char *name, enum sget_mode m, int argc, char *argv[])
{
	char err[512];

	mode = m;
	if (argc <= 1 && mode == SGET_TRANSFORM &&
	    rcache_max_bytes(&cache_max, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: refusing to start: %s\n", name, err);
		return 1;
	}
	return app_main(name, argc, argv, routes, nitems(routes), APP_STORE);
}
