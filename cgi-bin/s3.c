/*
 * s3: the S3-compatible endpoint, path-style, under /s3 (docs/s3api.md).
 *
 *   /s3                   ListBuckets
 *   /s3/<bucket>          bucket operations (by method and subresource)
 *   /s3/<bucket>/<key>    object operations
 *
 * A bucket is a tenant's namespace, named by the tenant's name; its keys
 * are the tenant's logical keys, so the objects are the ones the REST API
 * serves. Every request is authenticated here, by SigV4 (s3auth.h) with
 * an S3 key (s3key.h) whose member's permissions apply as over REST
 * (files.h, perm.h). Writes go through upload.h and reads through
 * sget.h, as the REST programs do. Errors are S3's XML.
 */
#include <sys/file.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "app.h"
#include "db.h"
#include "files.h"
#include "key.h"
#include "s3auth.h"
#include "s3key.h"
#include "s3mp.h"
#include "s3xml.h"
#include "sget.h"
#include "publish.h"

#define PREFIX		"/s3"
#define DEFAULT_CTYPE	"application/octet-stream"
#define META_MAX	2048	/* bytes of x-amz-meta-* (S3's limit) */
#define XML_BODY_MAX	(2 * 1024 * 1024)	/* DeleteObjects, Complete */
#define RAW_BUF		(64 * 1024)	/* aws-chunked input buffer */
#define LIST_MAX	1000

/* How the payload is signed (x-amz-content-sha256). */
enum payload {
	PL_UNSIGNED,		/* UNSIGNED-PAYLOAD */
	PL_HASH,		/* hex SHA-256 of the body */
	PL_CHUNKED,		/* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
	PL_CHUNKED_TRAILER,	/* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};

/* One S3 request, authenticated. */
struct s3req {
	struct app	*a;
	struct request	*r;
	struct principal p;
	struct s3auth	 au;
	char		 secret[S3KEY_SECRET_MAX + 1];
	enum payload	 pl;
	char		 payload_sha[2 * CRY_SHA256_LEN + 1];
	char		 bucket[256];	/* "" for the service */
	char		*logical;	/* the key; NULL at bucket level */
	char		*pkey;
};

/* ------------------------------------------------------------------ */
/* Answers */

/* An S3 error document. fmt NULL: the code is the message. */
static void
s3_error(struct request *r, int status, const char *code, const char *fmt,
    ...)
{
	struct s3xml x;
	char msg[512];
	va_list ap;

	snprintf(msg, sizeof(msg), "%s", code);
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	memset(&x, 0, sizeof(x));
	dynbuf_init(&x.d, S3XML_MAX);
	if (dynbuf_addstr(&x.d, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "\n<Error>") != FS_OK)
		x.failed = 1;
	s3xml_text(&x, "Code", code);
	s3xml_text(&x, "Message", msg);
	s3xml_text(&x, "Resource", r->raw_path != NULL ? r->raw_path : "");
	s3xml_close(&x, "Error");
	if (r->head_sent)
		goto out;
	http_status(r, status);
	http_add_header(r, "Content-Type", "application/xml");
	http_add_header(r, "Cache-Control", "no-store");
	http_add_headerf(r, "Content-Length", "%zu", dynbuf_len(&x.d));
	http_write(r, dynbuf_ptr(&x.d), dynbuf_len(&x.d));
out:
	s3xml_free(&x);
}

/* The S3 form of one of our errors. */
static void
s3_fail(struct request *r, enum fs_err e, const char *msg)
{
	switch (e) {
	case FS_NOT_FOUND:
		s3_error(r, 404, "NoSuchKey", "%s", msg != NULL ? msg :
		    "The specified key does not exist.");
		break;
	case FS_FORBIDDEN:
		s3_error(r, 403, "AccessDenied", "%s", msg != NULL ? msg :
		    "Access Denied");
		break;
	case FS_TOO_LARGE:
		s3_error(r, 400, "EntityTooLarge", "%s", msg != NULL ? msg :
		    "Your proposed upload exceeds the maximum allowed size");
		break;
	case FS_BAD_REQUEST:
		s3_error(r, 400, "IncompleteBody", "%s", msg != NULL ? msg :
		    "The request body ended early");
		break;
	case FS_VALIDATION:
	case FS_CONFLICT:
		s3_error(r, 400, "InvalidArgument", "%s", msg != NULL ? msg :
		    "invalid argument");
		break;
	case FS_NO_SPACE:
		s3_error(r, 507, "InsufficientStorage", "%s", msg != NULL ?
		    msg : "no space left");
		break;
	case FS_UNAVAILABLE:
		s3_error(r, 503, "ServiceUnavailable", "storage backend "
		    "unavailable");
		break;
	default:
		s3_error(r, 500, "InternalError", "We encountered an internal "
		    "error. Please try again.");
		break;
	}
}

/* Send x (an S3 document) with status; 500 when building it failed. */
static void
s3_send(struct request *r, int status, struct s3xml *x)
{
	if (x->failed) {
		s3_fail(r, FS_INTERNAL, NULL);
		return;
	}
	http_status(r, status);
	http_add_header(r, "Content-Type", "application/xml");
	http_add_headerf(r, "Content-Length", "%zu", dynbuf_len(&x->d));
	http_write(r, dynbuf_ptr(&x->d), dynbuf_len(&x->d));
}

static void
s3_empty(struct request *r, int status)
{
	http_status(r, status);
	if (status != 204)
		http_add_header(r, "Content-Length", "0");
	http_begin(r);
}

/* ------------------------------------------------------------------ */
/* Authentication */

static int
has_param(const struct request *r, const char *name)
{
	return http_param(r, name) != NULL;
}

static const char *
header_of(void *arg, const char *name)
{
	return http_header(arg, name);
}

/* x-amz-content-sha256 into q->pl; 0, or -1 after answering. */
static int
payload_mode(struct s3req *q)
{
	const char *v;

	if (q->au.expires >= 0) {
		q->pl = PL_UNSIGNED;
		return 0;
	}
	v = http_header(q->r, "X-Amz-Content-Sha256");
	if (v == NULL) {
		s3_error(q->r, 400, "InvalidRequest", "Missing required header "
		    "for this request: x-amz-content-sha256");
		return -1;
	}
	if (strcmp(v, "UNSIGNED-PAYLOAD") == 0)
		q->pl = PL_UNSIGNED;
	else if (strcmp(v, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 0)
		q->pl = PL_CHUNKED;
	else if (strcmp(v, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0)
		q->pl = PL_CHUNKED_TRAILER;
	else if (strlen(v) == 64 && strspn(v, "0123456789abcdef") == 64) {
		q->pl = PL_HASH;
		memcpy(q->payload_sha, v, sizeof(q->payload_sha));
	} else {
		s3_error(q->r, 400, "InvalidArgument", "x-amz-content-sha256 "
		    "must be a hex SHA-256, UNSIGNED-PAYLOAD, "
		    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD or "
		    "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
		return -1;
	}
	return 0;
}

/* The parse and time checks; 0, or -1 after answering. */
static int
parse_credential(struct s3req *q)
{
	struct request *r = q->r;
	const char *h, *msg = NULL;
	enum s3auth_err e;

	h = http_header(r, "Authorization");
	if (h != NULL)
		e = s3auth_parse_header(h, http_header(r, "X-Amz-Date"),
		    &q->au, &msg);
	else
		e = s3auth_parse_query(r->params, r->nparams, &q->au, &msg);
	if (e == S3AUTH_MISSING) {
		s3_error(r, 403, "AccessDenied", "%s", has_param(r,
		    "AWSAccessKeyId") ? "Signature Version 2 is not supported: "
		    "presign with Signature Version 4 (s3v4)" : "anonymous "
		    "access is not supported: sign the request (AWS Signature "
		    "Version 4)");
		return -1;
	}
	if (e != S3AUTH_OK) {
		s3_error(r, 400, h != NULL ? "AuthorizationHeaderMalformed" :
		    "AuthorizationQueryParametersError", "%s", msg);
		return -1;
	}
	e = s3auth_check_time(&q->au, (time_t)db_now());
	if (e == S3AUTH_SKEWED) {
		s3_error(r, 403, "RequestTimeTooSkewed", "The difference "
		    "between the request time and the server's time is too "
		    "large.");
		return -1;
	}
	if (e == S3AUTH_EXPIRED) {
		s3_error(r, 403, "AccessDenied", "Request has expired");
		return -1;
	}
	return 0;
}

/*
 * Whether r came to the S3 host (S3API_DOMAIN, docs/s3api.md "Own
 * host"): -1 no; 0 the domain itself, path-style at the root of the
 * host; 1 <bucket>.<domain>, virtual-host style, with the bucket in
 * bucket[size]. The port is not compared; the web server routed the
 * host here.
 */
static int
s3_host(const struct app *a, const struct request *r, char *bucket,
    size_t size)
{
	const char *d = a->cfg.s3api_domain, *h, *colon;
	size_t hlen, dlen, blen, i;

	if (d == NULL || *d == '\0' || (h = http_header(r, "Host")) == NULL)
		return -1;
	colon = strchr(h, ':');
	hlen = colon != NULL ? (size_t)(colon - h) : strlen(h);
	dlen = strlen(d);
	if (hlen == dlen && strncasecmp(h, d, dlen) == 0)
		return 0;
	if (hlen < dlen + 2 || h[hlen - dlen - 1] != '.' ||
	    strncasecmp(h + hlen - dlen, d, dlen) != 0)
		return -1;
	blen = hlen - dlen - 1;
	if (blen >= size)
		return -1;
	for (i = 0; i < blen; i++) {
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' &&
		    h[i] != '-' && h[i] != '_')
			return -1;
		bucket[i] = (char)tolower((unsigned char)h[i]);
	}
	bucket[blen] = '\0';
	return 1;
}

/*
 * The path the client signed: as sent. On the S3 host, s3_prepare put
 * /s3 (and /<bucket>) in front of it for the routes; take them off.
 */
static const char *
signed_path(const struct s3req *q)
{
	char b[sizeof(q->bucket)];
	const char *p = q->r->raw_path;
	int vh = s3_host(q->a, q->r, b, sizeof(b));

	if (vh < 0)
		return p;
	p += strlen(PREFIX) + (vh == 1 ? 1 + strlen(b) : 0);
	return *p != '\0' ? p : "/";
}

/* Authenticate q->r: 1 with q->p, q->au, q->pl set; 0 after answering. */
static int
s3_authenticate(struct s3req *q)
{
	struct request *r = q->r;
	char *cq = NULL;
	const char *ph, *path;
	enum fs_err fe;
	enum s3auth_err e;
	int ok = 0;

	if (parse_credential(q) == -1 || payload_mode(q) == -1)
		return 0;
	fe = s3key_lookup(q->a->db, q->a->agent_kek, q->au.akid, q->secret,
	    &q->p);
	if (fe == FS_UNAUTHORIZED) {
		s3_error(r, 403, "InvalidAccessKeyId", "The AWS Access Key Id "
		    "you provided does not exist in our records.");
		return 0;
	}
	if (fe != FS_OK) {
		app_log(q->a, "s3 key lookup: %s", db_errmsg(q->a->db));
		s3_fail(r, FS_INTERNAL, NULL);
		return 0;
	}
	cq = s3auth_canonical_query(r->params, r->nparams);
	if (cq == NULL) {
		s3_fail(r, FS_INTERNAL, NULL);
		return 0;
	}
	ph = q->au.expires >= 0 ? "UNSIGNED-PAYLOAD" :
	    http_header(r, "X-Amz-Content-Sha256");
	path = signed_path(q);
	e = s3auth_verify(&q->au, q->secret, r->method, path, cq,
	    header_of, r, ph);
	/*
	 * s3cmd signs the path without the endpoint's own path (/s3): the
	 * same request for the same object, so a signature over the path
	 * without it holds too (docs/s3api.md, "Clients").
	 */
	if (e == S3AUTH_MISMATCH && path == r->raw_path &&
	    strncmp(r->raw_path, PREFIX "/", strlen(PREFIX) + 1) == 0)
		e = s3auth_verify(&q->au, q->secret, r->method,
		    r->raw_path + strlen(PREFIX), cq, header_of, r, ph);
	if (e == S3AUTH_OK)
		ok = 1;
	else if (e == S3AUTH_MALFORMED)
		s3_error(r, 400, "AuthorizationHeaderMalformed", "SignedHeaders "
		    "is malformed");
	else
		s3_error(r, 403, "SignatureDoesNotMatch", "The request "
		    "signature we calculated does not match the signature you "
		    "provided. Check your key and signing method.");
	free(cq);
	return ok;
}

/* ------------------------------------------------------------------ */
/* Buckets and keys */

/*
 * Split the path into bucket and key, and check the bucket is the
 * caller's tenant. 1, or 0 after answering.
 */
static int
resolve_path(struct s3req *q)
{
	struct request *r = q->r;
	const char *b, *slash, *msg = NULL;
	char name[256];
	size_t blen;
	int rc;

	if (strlen(r->path) != r->path_len) {
		s3_error(r, 400, "InvalidURI", "the path holds a NUL byte");
		return 0;
	}
	b = r->path + strlen(PREFIX);
	b += *b == '/';
	slash = strchr(b, '/');
	blen = slash != NULL ? (size_t)(slash - b) : strlen(b);
	if (blen >= sizeof(q->bucket)) {
		s3_error(r, 400, "InvalidBucketName", "bucket name too long");
		return 0;
	}
	memcpy(q->bucket, b, blen);
	q->bucket[blen] = '\0';
	if (blen == 0)
		return 1;	/* the service */
	auth_tenant_name(q->a->db, q->p.tenant_id, name, sizeof(name));
	if (strcmp(name, q->bucket) != 0) {
		rc = auth_tenant_named(q->a->db, q->bucket);
		if (rc == 0)
			s3_error(r, 404, "NoSuchBucket", "The specified bucket "
			    "does not exist");
		else
			s3_error(r, 403, "AccessDenied", "a key reaches only "
			    "the bucket of its tenant");
		return 0;
	}
	if (slash == NULL || slash[1] == '\0')
		return 1;	/* the bucket */
	if (key_validate(slash + 1, strlen(slash + 1), &q->logical,
	    &msg) == -1) {
		s3_error(r, 400, "InvalidArgument", "key: %s", msg);
		return 0;
	}
	q->pkey = key_physical(q->p.tenant_id, q->logical);
	if (q->pkey == NULL) {
		s3_fail(r, FS_INTERNAL, NULL);
		return 0;
	}
	return 1;
}

/* A query parameter's value (NUL-free), or NULL. */
static const char *
qparam(const struct request *r, const char *name)
{
	const struct http_param *p = http_param(r, name);

	if (p == NULL || strlen(p->value) != p->value_len)
		return NULL;
	return p->value;
}


/* The quoted S3 ETag of a row: its MD5, or its sha256 when none. */
static void
row_etag(const struct file_row *f, char out[72])
{
	snprintf(out, 72, "\"%s\"", f->md5[0] != '\0' ? f->md5 : f->sha256);
}

/*
 * The row of pkey the caller may read: FS_OK, FS_NOT_FOUND (also when
 * unreadable: DESIGN §3), FS_INTERNAL.
 */
static enum fs_err
load_readable(struct s3req *q, const char *pkey, struct file_row *f)
{
	enum fs_err e;
	int rc;

	e = file_load(q->a->db, pkey, f);
	if (e != FS_OK)
		return e;
	rc = file_allowed(q->a->db, &q->p, PERM_READ, pkey);
	if (rc == 1)
		return FS_OK;
	file_row_free(f);
	return rc == 0 ? FS_NOT_FOUND : FS_INTERNAL;
}

/* ------------------------------------------------------------------ */
/* Listing */

struct listing {
	const char	*prefix;
	const char	*delim;		/* NULL or "" for none */
	char		*after;		/* logical key to start after */
	int		 max;
	int		 urlenc;	/* encoding-type=url */
	int		 count;
	int		 truncated;
	char		*next;		/* where the next page starts after */
	char		*last;		/* the last key or prefix sent */
};

/* A text element, URL-encoded when the client asked for it. */
static void
list_text(struct s3xml *x, const struct listing *l, const char *tag,
    const char *s)
{
	char *e;

	if (!l->urlenc) {
		s3xml_text(x, tag, s);
		return;
	}
	e = sigv4_uri_encode(s, 1);
	if (e == NULL)
		x->failed = 1;
	else
		s3xml_text(x, tag, e);
	free(e);
}

static int
set_str(char **dst, const char *s, const char *suffix)
{
	char *n;

	if (asprintf(&n, "%s%s", s, suffix) == -1)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

static void
list_contents(struct s3xml *x, const struct listing *l, const char *logical,
    const struct file_row *f)
{
	char t[32], etag[72];

	s3xml_open(x, "Contents");
	list_text(x, l, "Key", logical);
	db_iso8601(f->updated_at, t);
	s3xml_text(x, "LastModified", t);
	row_etag(f, etag);
	s3xml_text(x, "ETag", etag);
	s3xml_textf(x, "Size", "%lld", f->size);
	s3xml_text(x, "StorageClass", "STANDARD");
	s3xml_close(x, "Contents");
}

/*
 * One row of the listing: a key, or the common prefix it rolls up into
 * (then *skip: the rows under it are passed over). 0 or -1.
 */
static int
list_row(struct s3xml *x, struct listing *l, const char *logical,
    const struct file_row *f, int *skip)
{
	const char *rest = logical + strlen(l->prefix), *d;
	char *cp = NULL;
	int rc = -1;

	*skip = 0;
	d = l->delim != NULL && *l->delim != '\0' ? strstr(rest, l->delim) :
	    NULL;
	if (d == NULL) {
		list_contents(x, l, logical, f);
		l->count++;
		rc = set_str(&l->after, logical, "");
		if (rc == 0)
			rc = set_str(&l->last, logical, "");
		return rc;
	}
	if (asprintf(&cp, "%.*s", (int)(d - logical + strlen(l->delim)),
	    logical) == -1)
		return -1;
	s3xml_open(x, "CommonPrefixes");
	list_text(x, l, "Prefix", cp);
	s3xml_close(x, "CommonPrefixes");
	l->count++;
	/* Past every key under cp. */
	if (set_str(&l->after, cp, KEY_PAST) == 0 && set_str(&l->last, cp,
	    "") == 0)
		rc = 0;
	*skip = 1;
	free(cp);
	return rc;
}

/* Rows after l->after until max entries; -1 on error. */
static int
list_walk(struct s3req *q, struct s3xml *x, struct listing *l,
    const struct perm_sql *cond)
{
	struct file_row f;
	struct db_stmt *st;
	const char *logical;
	int rc, skip = 1, got;

	while (skip && l->count <= l->max) {
		skip = 0;
		got = 0;
		st = file_list_stmt(q->a->db, q->p.tenant_id, l->prefix,
		    l->after, cond, l->max - l->count);
		if (st == NULL)
			return -1;
		while (!skip && (rc = db_step(st)) == DB_ROW) {
			if (file_row_from_stmt(st, &f) == -1) {
				rc = DB_NOMEM;
				break;
			}
			got++;
			logical = key_logical(q->p.tenant_id, f.key);
			if (l->count == l->max) {
				l->truncated = 1;
				rc = DB_DONE;
			} else if (logical == NULL ||
			    list_row(x, l, logical, &f, &skip) == -1)
				rc = DB_NOMEM;
			file_row_free(&f);
			if (l->truncated || rc == DB_NOMEM)
				break;
		}
		db_finalize(st);
		if (rc != DB_DONE && rc != DB_ROW)
			return -1;
		if (l->truncated || got == 0)
			break;
	}
	return 0;
}

/* List into x with the caller's read condition. 0 or -1. */
static int
list_objects(struct s3req *q, struct s3xml *x, struct listing *l)
{
	struct perm_vars v = { q->p.user_id, q->p.tenant_id };
	struct perm_sql cond;
	int rc;

	rc = perm_lookup(q->a->db, q->p.role_id, PERM_FILES, PERM_READ, &v,
	    &cond);
	if (rc == 0)
		return 0;	/* may read nothing: an empty bucket */
	if (rc == -1)
		return -1;
	rc = list_walk(q, x, l, &cond);
	perm_sql_free(&cond);
	if (rc == 0 && l->truncated && set_str(&l->next, l->after, "") == -1)
		rc = -1;
	return rc;
}

/* max-keys (0..1000, default 1000) into l; 0, or -1 after answering. */
static int
list_params(struct s3req *q, struct listing *l)
{
	const char *v;
	long long n = LIST_MAX;

	memset(l, 0, sizeof(*l));
	v = qparam(q->r, "max-keys");
	if (v != NULL && http_parse_ll(v, 0, 1 << 30, &n) == -1) {
		s3_error(q->r, 400, "InvalidArgument", "max-keys must be a "
		    "non-negative integer");
		return -1;
	}
	l->max = n > LIST_MAX ? LIST_MAX : (int)n;
	l->prefix = qparam(q->r, "prefix");
	if (l->prefix == NULL)
		l->prefix = "";
	l->delim = qparam(q->r, "delimiter");
	v = qparam(q->r, "encoding-type");
	l->urlenc = v != NULL && strcmp(v, "url") == 0;
	return 0;
}

static void
listing_free(struct listing *l)
{
	free(l->after);
	free(l->next);
	free(l->last);
}

/* The fields both versions share, after the rows. */
static void
list_summary(struct s3xml *x, const struct s3req *q, const struct listing *l)
{
	s3xml_text(x, "Name", q->bucket);
	list_text(x, l, "Prefix", l->prefix);
	if (l->delim != NULL)
		list_text(x, l, "Delimiter", l->delim);
	s3xml_textf(x, "MaxKeys", "%d", l->max);
	if (l->urlenc)
		s3xml_text(x, "EncodingType", "url");
	s3xml_text(x, "IsTruncated", l->truncated ? "true" : "false");
}

static void
list_v2(struct s3req *q)
{
	struct listing l;
	struct s3xml x;
	const char *tok, *sa;
	unsigned char *raw = NULL;
	char *enc = NULL;
	size_t rawlen = 0;

	if (list_params(q, &l) == -1)
		return;
	tok = qparam(q->r, "continuation-token");
	sa = qparam(q->r, "start-after");
	if (tok != NULL) {
		raw = cry_b64u_decode(tok, strlen(tok), &rawlen);
		if (raw == NULL || memchr(raw, '\0', rawlen) != NULL) {
			s3_error(q->r, 400, "InvalidArgument", "The continuation "
			    "token provided is incorrect");
			goto out;
		}
		l.after = strndup((char *)raw, rawlen);
	} else
		l.after = strdup(sa != NULL ? sa : "");
	s3xml_begin(&x, "ListBucketResult");
	if (l.after == NULL || list_objects(q, &x, &l) == -1)
		x.failed = 1;
	list_summary(&x, q, &l);
	s3xml_textf(&x, "KeyCount", "%d", l.count);
	if (tok != NULL)
		s3xml_text(&x, "ContinuationToken", tok);
	if (sa != NULL)
		list_text(&x, &l, "StartAfter", sa);
	if (l.truncated) {
		enc = cry_b64u_encode(l.next, strlen(l.next));
		if (enc == NULL)
			x.failed = 1;
		else
			s3xml_text(&x, "NextContinuationToken", enc);
	}
	s3xml_close(&x, "ListBucketResult");
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
out:
	free(raw);
	free(enc);
	listing_free(&l);
}

static void
list_v1(struct s3req *q)
{
	struct listing l;
	struct s3xml x;
	const char *marker;
	size_t n, dl;

	if (list_params(q, &l) == -1)
		return;
	marker = qparam(q->r, "marker");
	l.after = strdup(marker != NULL ? marker : "");
	/* A marker that is a common prefix (our NextMarker): past it. */
	n = marker != NULL ? strlen(marker) : 0;
	dl = l.delim != NULL ? strlen(l.delim) : 0;
	if (l.after != NULL && dl > 0 && n >= dl && strcmp(marker + n - dl,
	    l.delim) == 0 && set_str(&l.after, marker, "\xff") == -1) {
		free(l.after);
		l.after = NULL;
	}
	s3xml_begin(&x, "ListBucketResult");
	if (l.after == NULL || list_objects(q, &x, &l) == -1)
		x.failed = 1;
	list_summary(&x, q, &l);
	list_text(&x, &l, "Marker", marker != NULL ? marker : "");
	if (l.truncated && l.last != NULL)
		list_text(&x, &l, "NextMarker", l.last);
	s3xml_close(&x, "ListBucketResult");
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
	listing_free(&l);
}

/* ------------------------------------------------------------------ */
/* Bucket-level operations */

static void
list_buckets(struct s3req *q)
{
	struct s3xml x;
	char name[256];

	auth_tenant_name(q->a->db, q->p.tenant_id, name, sizeof(name));
	s3xml_begin(&x, "ListAllMyBucketsResult");
	s3xml_open(&x, "Owner");
	s3xml_text(&x, "ID", q->p.user_id);
	s3xml_text(&x, "DisplayName", q->p.email);
	s3xml_close(&x, "Owner");
	s3xml_open(&x, "Buckets");
	s3xml_open(&x, "Bucket");
	s3xml_text(&x, "Name", name);
	s3xml_text(&x, "CreationDate", "1970-01-01T00:00:00.000Z");
	s3xml_close(&x, "Bucket");
	s3xml_close(&x, "Buckets");
	s3xml_close(&x, "ListAllMyBucketsResult");
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
}

/*
 * GetBucketAcl, GetObjectAcl: ACLs are not kept (permissions are
 * Filestor's roles), so the answer is what they amount to for the
 * caller: the caller owns it with FULL_CONTROL, and a public row (a REST
 * PATCH acl=public) is readable by everyone, S3's AllUsers READ.
 */
static void
acl_policy(struct s3req *q, struct s3xml *x, int public)
{
	s3xml_begin(x, "AccessControlPolicy");
	s3xml_open(x, "Owner");
	s3xml_text(x, "ID", q->p.user_id);
	s3xml_close(x, "Owner");
	s3xml_open(x, "AccessControlList");
	s3xml_open(x, "Grant");
	s3xml_open(x, "Grantee xmlns:xsi=\"http://www.w3.org/2001/"
	    "XMLSchema-instance\" xsi:type=\"CanonicalUser\"");
	s3xml_text(x, "ID", q->p.user_id);
	s3xml_close(x, "Grantee");
	s3xml_text(x, "Permission", "FULL_CONTROL");
	s3xml_close(x, "Grant");
	if (public) {
		s3xml_open(x, "Grant");
		s3xml_open(x, "Grantee xmlns:xsi=\"http://www.w3.org/2001/"
		    "XMLSchema-instance\" xsi:type=\"Group\"");
		s3xml_text(x, "URI", "http://acs.amazonaws.com/groups/global/"
		    "AllUsers");
		s3xml_close(x, "Grantee");
		s3xml_text(x, "Permission", "READ");
		s3xml_close(x, "Grant");
	}
	s3xml_close(x, "AccessControlList");
	s3xml_close(x, "AccessControlPolicy");
}

/* A bucket subresource we answer as S3 does for an unconfigured one. */
static int
bucket_config(struct s3req *q)
{
	static const struct {
		const char	*param;
		const char	*code;
	} none[] = {
		{ "policy", "NoSuchBucketPolicy" },
		{ "cors", "NoSuchCORSConfiguration" },
		{ "lifecycle", "NoSuchLifecycleConfiguration" },
		{ "website", "NoSuchWebsiteConfiguration" },
		{ "tagging", "NoSuchTagSet" },
		{ "encryption",
		    "ServerSideEncryptionConfigurationNotFoundError" },
	};
	struct s3xml x;
	size_t i;

	for (i = 0; i < nitems(none); i++)
		if (has_param(q->r, none[i].param)) {
			s3_error(q->r, 404, none[i].code, "The bucket has no "
			    "%s configuration", none[i].param);
			return 1;
		}
	if (has_param(q->r, "location")) {
		s3xml_begin(&x, "LocationConstraint");
		s3xml_close(&x, "LocationConstraint");
	} else if (has_param(q->r, "versioning")) {
		s3xml_begin(&x, "VersioningConfiguration");
		s3xml_close(&x, "VersioningConfiguration");
	} else if (has_param(q->r, "acl"))
		acl_policy(q, &x, 0);
	else
		return 0;
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
	return 1;
}

static void list_uploads(struct s3req *);

static void
bucket_get(struct s3req *q)
{
	const char *lt;

	if (q->r->is_head) {
		s3_empty(q->r, 200);	/* HeadBucket */
		return;
	}
	if (bucket_config(q))
		return;
	if (has_param(q->r, "uploads")) {
		list_uploads(q);
		return;
	}
	lt = qparam(q->r, "list-type");
	if (lt != NULL && strcmp(lt, "2") == 0)
		list_v2(q);
	else
		list_v1(q);
}

/* ------------------------------------------------------------------ */
/* Request bodies: how they are read, hashed and checked */

/* One request body on its way to the store, as signed. */
struct body {
	struct s3req	*q;
	int		 from_request;	/* the request's body: its hashes */
	EVP_MD_CTX	*md5;
	char		 md5hex[33];
	unsigned char	 want_md5[16];	/* Content-MD5 */
	int		 has_md5;
	struct s3sum	 sum;		/* x-amz-checksum-* header */
	int		 chunked;
	struct s3chunk	 ch;
	long long	 decoded_len;	/* x-amz-decoded-content-length */
	unsigned char	*raw;		/* aws-chunked input */
	size_t		 rawlen, rawpos;
	int		 raw_eof;
	const char	*meta;		/* x-amz-meta-* JSON, for in_txn */
	char		 etag[FILES_MD5_MAX + 1]; /* to store; "": md5hex */
	const char	*upload_id;	/* Complete: the upload it ends */
	/* Why the body was refused (a static S3 code and message). */
	int		 status;
	const char	*code;
	const char	*msg;
};

static void
body_refuse(struct body *b, int status, const char *code, const char *msg)
{
	if (b->code != NULL)
		return;		/* the first reason stands */
	b->status = status;
	b->code = code;
	b->msg = msg;
}

/* The tap of upload.h: MD5 (the ETag) and the checksum. */
static void
body_tap(void *arg, const void *buf, size_t len)
{
	struct body *b = arg;

	EVP_DigestUpdate(b->md5, buf, len);
	s3sum_update(&b->sum, buf, len);
}

/* The reader of upload.h for aws-chunked bodies. */
static ssize_t
chunk_read(void *arg, void *buf, size_t len)
{
	struct body *b = arg;
	long long got;
	size_t used;
	ssize_t n;

	for (;;) {
		if (b->rawpos == b->rawlen && !b->raw_eof) {
			n = http_read(b->q->r, b->raw, RAW_BUF);
			if (n < 0)
				return -1;
			b->raw_eof = n == 0;
			b->rawlen = (size_t)n;
			b->rawpos = 0;
		}
		if (b->rawpos == b->rawlen && b->raw_eof) {
			if (s3chunk_done(&b->ch))
				return 0;
			body_refuse(b, 400, "IncompleteBody", "the aws-chunked "
			    "body ended before its last chunk");
			return -1;
		}
		got = s3chunk_decode(&b->ch, b->raw + b->rawpos,
		    b->rawlen - b->rawpos, &used, buf, len);
		b->rawpos += used;
		if (got < 0) {
			if (s3chunk_bad_signature(&b->ch))
				body_refuse(b, 403, "SignatureDoesNotMatch",
				    b->ch.err);
			else
				body_refuse(b, 400, strstr(b->ch.err,
				    "checksum") != NULL ? "BadDigest" :
				    "InvalidRequest", b->ch.err);
			return -1;
		}
		if (got > 0)
			return (ssize_t)got;
		if (s3chunk_done(&b->ch))
			return 0;
	}
}

/* The check of upload.h: the signed hash, Content-MD5, checksums. */
static enum fs_err
body_check(void *arg, const unsigned char *sha256, long long size)
{
	struct body *b = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * CRY_SHA256_LEN + 1];
	unsigned int mdlen = 0;

	if (EVP_DigestFinal_ex(b->md5, md, &mdlen) != 1 || mdlen != 16)
		return FS_INTERNAL;
	cry_hex(md, 16, b->md5hex);
	if (b->etag[0] == '\0')
		memcpy(b->etag, b->md5hex, sizeof(b->md5hex));
	cry_hex(sha256, CRY_SHA256_LEN, hex);
	if (b->from_request && b->q->pl == PL_HASH &&
	    !cry_eq(hex, b->q->payload_sha, 64))
		body_refuse(b, 400, "XAmzContentSHA256Mismatch", "The provided "
		    "'x-amz-content-sha256' header does not match what was "
		    "computed.");
	if (b->has_md5 && !cry_eq(md, b->want_md5, 16))
		body_refuse(b, 400, "BadDigest", "The Content-MD5 you "
		    "specified did not match what we received.");
	if (b->sum.algo != S3SUM_NONE && !s3sum_final_ok(&b->sum))
		body_refuse(b, 400, "BadDigest", "The x-amz-checksum you "
		    "specified did not match what we received.");
	if (b->chunked && b->decoded_len >= 0 && size != b->decoded_len)
		body_refuse(b, 400, "IncompleteBody", "the body is not "
		    "x-amz-decoded-content-length bytes");
	return b->code != NULL ? FS_VALIDATION : FS_OK;
}

/* The in_txn of upload.h: the row's S3 side. */
static enum fs_err
body_in_txn(void *arg, struct db *db, const char *pkey)
{
	struct body *b = arg;
	enum fs_err e;

	e = file_s3_set(db, pkey, b->etag, b->meta);
	/* Complete: the upload ends in the transaction that publishes. */
	if (e == FS_OK && b->upload_id != NULL)
		e = s3mp_delete(db, b->upload_id);
	return e;
}

/* Content-MD5 (base64 of 16 bytes); 0, or -1 after refusing. */
static int
content_md5(struct body *b)
{
	const char *v = http_header(b->q->r, "Content-MD5");
	unsigned char raw[32];
	int n;

	if (v == NULL)
		return 0;
	n = strlen(v) == 24 ? EVP_DecodeBlock(raw, (const unsigned char *)v,
	    24) : -1;
	/* 16 bytes are 24 characters with "==": EVP_DecodeBlock says 18. */
	if (n != 18 || v[22] != '=' || v[23] != '=') {
		body_refuse(b, 400, "InvalidDigest", "The Content-MD5 you "
		    "specified is not valid.");
		return -1;
	}
	memcpy(b->want_md5, raw, 16);
	b->has_md5 = 1;
	return 0;
}

/* The x-amz-checksum-* header, if any; 0, or -1 after refusing. */
static int
checksum_header(struct body *b)
{
	static const char *const names[] = { "x-amz-checksum-crc32",
	    "x-amz-checksum-crc32c", "x-amz-checksum-sha256" };
	const char *v;
	size_t i;

	for (i = 0; i < nitems(names); i++) {
		v = http_header(b->q->r, names[i]);
		if (v == NULL)
			continue;
		if (s3sum_init(&b->sum, s3sum_algo_of(names[i])) == -1 ||
		    strlen(v) >= sizeof(b->sum.want))
			return -1;
		memcpy(b->sum.want, v, strlen(v) + 1);
		return 0;
	}
	return 0;
}

/* Set up the chunked decoder from the request's headers; 0 or -1. */
static int
chunked_setup(struct body *b)
{
	struct s3req *q = b->q;
	const char *v;
	enum s3sum_algo ta = S3SUM_NONE;
	long long n;

	v = http_header(q->r, "X-Amz-Decoded-Content-Length");
	b->decoded_len = -1;
	if (v != NULL && http_parse_ll(v, 0, q->a->cfg.max_upload, &n) == 0)
		b->decoded_len = n;
	else if (v != NULL) {
		body_refuse(b, 400, "InvalidArgument", "bad "
		    "x-amz-decoded-content-length");
		return -1;
	}
	if (q->pl == PL_CHUNKED_TRAILER) {
		v = http_header(q->r, "X-Amz-Trailer");
		ta = v != NULL ? s3sum_algo_of(v) : S3SUM_NONE;
		if (v != NULL && ta == S3SUM_NONE) {
			body_refuse(b, 400, "InvalidRequest", "x-amz-trailer "
			    "must name x-amz-checksum-crc32, -crc32c or "
			    "-sha256");
			return -1;
		}
	}
	b->raw = malloc(RAW_BUF);
	if (b->raw == NULL || s3chunk_init(&b->ch, q->pl == PL_CHUNKED ?
	    S3CHUNK_SIGNED : S3CHUNK_UNSIGNED_TRAILER, &q->au, q->secret,
	    ta) == -1)
		return -1;
	b->chunked = 1;
	return 0;
}

/*
 * Start a body: MD5, Content-MD5, a checksum header, aws-chunked. 0, or
 * -1 (b->code set when the request is at fault, else out of memory).
 */
static int
body_init(struct body *b, struct s3req *q, int from_request)
{
	memset(b, 0, sizeof(*b));
	b->q = q;
	b->decoded_len = -1;
	b->md5 = EVP_MD_CTX_new();
	if (b->md5 == NULL || EVP_DigestInit_ex(b->md5, EVP_md5(), NULL) != 1)
		return -1;
	b->from_request = from_request;
	if (!from_request)
		return 0;
	if (content_md5(b) == -1 || checksum_header(b) == -1)
		return -1;
	if (q->pl == PL_CHUNKED || q->pl == PL_CHUNKED_TRAILER)
		return chunked_setup(b);
	return 0;
}

static void
body_free(struct body *b)
{
	EVP_MD_CTX_free(b->md5);
	s3sum_free(&b->sum);
	if (b->chunked)
		s3chunk_free(&b->ch);
	free(b->raw);
}

/* Answer a failed body or write. */
static void
body_fail(struct s3req *q, struct body *b, enum fs_err e, const char *msg)
{
	if (b != NULL && b->code != NULL)
		s3_error(q->r, b->status, b->code, "%s", b->msg);
	else if (e == FS_TOO_LARGE)
		s3_error(q->r, 400, "EntityTooLarge", "the body is larger than "
		    "MAX_UPLOAD_BYTES (%lld)", q->a->cfg.max_upload);
	else
		s3_fail(q->r, e, msg != NULL ? msg : e == FS_INTERNAL ? NULL :
		    pub_write_msg(e));
}

/*
 * The request's x-amz-meta-* headers as a JSON object (names lower-case,
 * as S3 keeps them), malloc'd into *out (NULL when none). 0, or -1 after
 * answering (over META_MAX bytes).
 */
static int
request_meta(struct s3req *q, char **out)
{
	cJSON *j = NULL;
	char name[128], **e;
	const char *eq;
	size_t n, i, total = 0;
	int rc = -1;

	*out = NULL;
	for (e = q->r->env; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, "HTTP_X_AMZ_META_", 16) != 0)
			continue;
		eq = strchr(*e, '=');
		n = eq != NULL ? (size_t)(eq - *e) - 16 : 0;
		if (n == 0 || n >= sizeof(name))
			continue;
		for (i = 0; i < n; i++)
			name[i] = (*e)[16 + i] == '_' ? '-' :
			    (char)tolower((unsigned char)(*e)[16 + i]);
		name[n] = '\0';
		total += n + strlen(eq + 1);
		if (j == NULL && (j = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddStringToObject(j, name, eq + 1);
	}
	if (total > META_MAX) {
		s3_error(q->r, 400, "MetadataTooLarge", "Your metadata headers "
		    "exceed the maximum allowed metadata size (%d bytes)",
		    META_MAX);
		goto out;
	}
	if (j != NULL && (*out = cJSON_PrintUnformatted(j)) == NULL)
		goto out;
	rc = 0;
out:
	if (rc == -1 && total <= META_MAX)
		s3_fail(q->r, FS_INTERNAL, NULL);
	cJSON_Delete(j);
	return rc;
}

/* Send a row's x-amz-meta-* back. */
static void
meta_headers(struct s3req *q, const char *pkey)
{
	cJSON *j, *it;
	char *meta = NULL, name[160];

	if (file_s3_meta(q->a->db, pkey, &meta) != FS_OK || meta == NULL)
		return;
	j = cJSON_Parse(meta);
	cJSON_ArrayForEach(it, j) {
		if (!cJSON_IsString(it) || strlen(it->string) > 128)
			continue;
		snprintf(name, sizeof(name), "x-amz-meta-%s", it->string);
		http_add_header(q->r, name, it->valuestring);
	}
	cJSON_Delete(j);
	free(meta);
}

/* The Content-Type of a write, or NULL after answering. */
static const char *
request_ctype(struct s3req *q)
{
	const char *ct = http_header(q->r, "Content-Type");

	if (ct == NULL || *ct == '\0')
		return DEFAULT_CTYPE;
	if (!file_content_type_ok(ct)) {
		s3_error(q->r, 400, "InvalidArgument", "Content-Type must be "
		    "type/subtype of at most %d printable bytes",
		    FILES_CTYPE_MAX);
		return NULL;
	}
	return file_content_type_wildcard(ct) != 0 ? DEFAULT_CTYPE : ct;
}

/* ------------------------------------------------------------------ */
/* Object writes */

/* Where a write's bytes come from: the request (read NULL) or a store. */
struct source {
	ssize_t		(*read)(void *arg, void *buf, size_t len);
	void		*arg;
	long long	 size;		/* -1 when unknown */
};

/*
 * Write pkey from src through b (hashes, checks, the row's S3 side):
 * stream, check, commit, publish. FS_OK with *exists, or an error that
 * body_fail answers (with *msg).
 */
/* The publish of an object of the S3 API: its checks and row hooks. */
static void
pub_of(struct s3req *q, struct body *b, const char *pkey, const char *ctype,
    struct pub *u)
{
	memset(u, 0, sizeof(*u));
	u->a = q->a;
	u->p = &q->p;
	u->pkey = pkey;
	u->ctype = ctype;
	u->tap = body_tap;
	u->tap_arg = b;
	u->check = body_check;
	u->in_txn = body_in_txn;
	u->hook_arg = b;
}

static enum fs_err
write_object(struct s3req *q, struct body *b, const char *pkey,
    const char *ctype, const struct source *src, int *exists,
    const char **msg)
{
	struct pub u;
	struct store_writer *w = NULL;
	long long total = 0;
	enum fs_err e;

	pub_of(q, b, pkey, ctype, &u);
	if (src->read != NULL) {
		u.read = src->read;
		u.read_arg = src->arg;
	} else if (b->chunked) {
		u.read = chunk_read;
		u.read_arg = b;
	}
	*msg = NULL;
	/* Refuse before reading a byte when the caller may not write. */
	e = pub_may_write(&u, src->size);
	if (e != FS_OK) {
		*msg = e == FS_FORBIDDEN ? "Access Denied" : NULL;
		goto out;
	}
	e = store_writer_open(q->a->store, pkey, &w);
	if (e != FS_OK)
		goto out;
	if (src->size >= 0)
		store_writer_size_hint(w, src->size);
	e = pub_body(&u, q->r, w, &total);
	if (e == FS_OK)
		e = pub_record(&u, w);
	if (e == FS_OK)
		app_audit(q->r, "s3-put", pkey, u.exists ? "overwrite" :
		    "create");
	*msg = u.msg;
	*exists = u.exists;
out:
	store_writer_free(w);	/* aborts unless a row took it */
	return e;
}

/* The size a body will have: decoded for aws-chunked. */
static long long
body_size(const struct s3req *q, const struct body *b)
{
	return b->chunked ? b->decoded_len : q->r->content_length;
}

static void
put_object(struct s3req *q)
{
	struct body b;
	struct source src = { NULL, NULL, -1 };
	const char *ctype, *msg = NULL;
	char *meta = NULL;
	enum fs_err e = FS_INTERNAL;
	int exists = 0;

	ctype = request_ctype(q);
	if (ctype == NULL || request_meta(q, &meta) == -1)
		goto out0;
	if (body_init(&b, q, 1) == -1)
		goto out;
	src.size = body_size(q, &b);
	if (src.size > q->a->cfg.max_upload) {
		e = FS_TOO_LARGE;
		goto out;
	}
	b.meta = meta;
	e = write_object(q, &b, q->pkey, ctype, &src, &exists, &msg);
	if (e != FS_OK)
		goto out;
	http_add_headerf(q->r, "ETag", "\"%s\"", b.etag);
	s3_empty(q->r, 200);
out:
	if (e != FS_OK)
		body_fail(q, &b, e, msg);
	body_free(&b);
out0:
	free(meta);
}

/* ------------------------------------------------------------------ */
/* Object reads */

static void
range_error(struct request *r, long long size)
{
	s3_error(r, 416, "InvalidRange", "The requested range is not "
	    "satisfiable (object of %lld bytes)", size);
}

/* If-Match and If-Unmodified-Since (S3 checks them; 412). 0 or -1. */
static int
preconditions(struct s3req *q, const struct file_row *f, const char *etag)
{
	const char *im, *ius;
	long long t;

	im = http_header(q->r, "If-Match");
	if (im != NULL && strcmp(im, "*") != 0 && !http_etag_match(im, etag))
		goto failed;
	ius = http_header(q->r, "If-Unmodified-Since");
	if (im == NULL && ius != NULL && (t = http_parse_date(ius)) != -1 &&
	    f->updated_at > t)
		goto failed;
	return 0;
failed:
	s3_error(q->r, 412, "PreconditionFailed", "At least one of the "
	    "pre-conditions you specified did not hold");
	return -1;
}

/* response-* overrides of a signed GET into o; 0, or -1 after answering. */
static int
overrides(struct s3req *q, struct sget_opts *o)
{
	static const char *const plain[][2] = {
		{ "response-content-encoding", "Content-Encoding" },
		{ "response-content-language", "Content-Language" },
		{ "response-expires", "Expires" },
	};
	const char *v;
	size_t i;

	o->ctype = qparam(q->r, "response-content-type");
	o->cache_control = qparam(q->r, "response-cache-control");
	o->disposition = qparam(q->r, "response-content-disposition");
	if ((o->ctype != NULL && !file_content_type_ok(o->ctype)) ||
	    (o->cache_control != NULL &&
	    !http_header_value_ok(o->cache_control)) ||
	    (o->disposition != NULL && !http_header_value_ok(o->disposition)))
		goto bad;
	for (i = 0; i < nitems(plain); i++) {
		v = qparam(q->r, plain[i][0]);
		if (v == NULL)
			continue;
		if (!http_header_value_ok(v))
			goto bad;
		http_add_header(q->r, plain[i][1], v);
	}
	return 0;
bad:
	s3_error(q->r, 400, "InvalidArgument", "a response-* parameter is not "
	    "a valid header value");
	return -1;
}

static void
get_object(struct s3req *q)
{
	struct sget_opts o;
	struct file_row f;
	struct s3xml x;
	char etag[72];
	enum fs_err e;

	memset(&o, 0, sizeof(o));
	e = load_readable(q, q->pkey, &f);
	if (e != FS_OK) {
		s3_fail(q->r, e, NULL);
		return;
	}
	if (has_param(q->r, "acl") && !q->r->is_head) {	/* GetObjectAcl */
		acl_policy(q, &x, strcmp(f.acl, "public") == 0);
		s3_send(q->r, 200, &x);
		s3xml_free(&x);
		goto out;
	}
	row_etag(&f, etag);
	if (preconditions(q, &f, etag) == -1 || overrides(q, &o) == -1)
		goto out;
	meta_headers(q, q->pkey);
	o.etag = etag;
	o.no_redirect = 1;
	o.range_error = range_error;
	sget_original(q->a, q->r, &f, q->logical, &o);
out:
	file_row_free(&f);
}

/* ------------------------------------------------------------------ */
/* Deletes */

/*
 * Delete pkey for the caller: FS_OK also when there is no readable row
 * (S3 answers a delete of a missing key with success, and an unreadable
 * row is a missing one), FS_FORBIDDEN, FS_INTERNAL.
 */
static enum fs_err
delete_key(struct s3req *q, const char *pkey)
{
	int rc;

	rc = file_allowed(q->a->db, &q->p, PERM_READ, pkey);
	if (rc == 0)
		return FS_OK;
	if (rc == 1)
		rc = file_allowed(q->a->db, &q->p, PERM_DELETE, pkey);
	if (rc == -1)
		return FS_INTERNAL;
	if (rc == 0)
		return FS_FORBIDDEN;
	app_audit(q->r, "s3-delete", pkey, NULL);
	return pub_remove(q->a, pkey);
}

static void
delete_object(struct s3req *q)
{
	enum fs_err e;

	e = delete_key(q, q->pkey);
	if (e != FS_OK)
		s3_fail(q->r, e, NULL);
	else
		s3_empty(q->r, 204);
}

/*
 * Read a small XML body whole, checking its signed hash and Content-MD5.
 * malloc'd into *out, or NULL after answering.
 */
static char *
read_xml_body(struct s3req *q, size_t *len)
{
	struct dynbuf d;
	struct body b;
	unsigned char sha[CRY_SHA256_LEN];
	char buf[8192], *out = NULL;
	ssize_t n;
	enum fs_err e = FS_OK;

	dynbuf_init(&d, XML_BODY_MAX);
	if (body_init(&b, q, 1) == -1)
		goto fail;
	for (;;) {
		n = b.chunked ? chunk_read(&b, buf, sizeof(buf)) :
		    http_read(q->r, buf, sizeof(buf));
		if (n <= 0)
			break;
		body_tap(&b, buf, (size_t)n);
		e = dynbuf_add(&d, buf, (size_t)n);
		if (e != FS_OK)
			break;
	}
	if (n < 0 && e == FS_OK)
		e = FS_BAD_REQUEST;
	if (e != FS_OK)
		goto fail;
	cry_sha256(dynbuf_ptr(&d), dynbuf_len(&d), sha);
	e = body_check(&b, sha, (long long)dynbuf_len(&d));
	if (e != FS_OK)
		goto fail;
	out = dynbuf_take(&d, len);
	if (out == NULL)
		e = FS_INTERNAL;
fail:
	if (out == NULL)
		body_fail(q, &b, e == FS_OK ? FS_INTERNAL : e, NULL);
	body_free(&b);
	dynbuf_free(&d);
	return out;
}

/* One <Object> of DeleteObjects: its result into x. */
static void
delete_one(struct s3req *q, struct s3xml *x, const char *key, int quiet)
{
	const char *msg = NULL, *code = "AccessDenied";
	char *logical = NULL, *pkey = NULL;
	enum fs_err e = FS_VALIDATION;

	if (key_validate(key, strlen(key), &logical, &msg) == 0) {
		pkey = key_physical(q->p.tenant_id, logical);
		e = pkey != NULL ? delete_key(q, pkey) : FS_INTERNAL;
		msg = e == FS_FORBIDDEN ? "Access Denied" : "internal error";
	}
	if (e == FS_VALIDATION)
		code = "InvalidArgument";
	else if (e != FS_OK && e != FS_FORBIDDEN)
		code = "InternalError";
	if (e == FS_OK && !quiet) {
		s3xml_open(x, "Deleted");
		s3xml_text(x, "Key", key);
		s3xml_close(x, "Deleted");
	} else if (e != FS_OK) {
		s3xml_open(x, "Error");
		s3xml_text(x, "Key", key);
		s3xml_text(x, "Code", code);
		s3xml_text(x, "Message", msg);
		s3xml_close(x, "Error");
	}
	free(logical);
	free(pkey);
}

/*
 * The keys of a DeleteObjects body (1 to 1000 <Object> with a <Key>),
 * all parsed before any is deleted: malloc'd into keys[], *n of them.
 * 0, or -1 when malformed.
 */
static int
delete_keys(const char *body, size_t len, char **keys, int *n)
{
	const char *in, *kin;
	size_t pos = 0, kpos, inlen, klen;
	int rc;

	*n = 0;
	while ((rc = s3xml_elem(body, len, "Object", &pos, &in, &inlen)) ==
	    1) {
		kpos = 0;
		if (*n == 1000 || s3xml_elem(in, inlen, "Key", &kpos, &kin,
		    &klen) != 1 || (keys[*n] = s3xml_decode(kin, klen)) == NULL)
			return -1;
		(*n)++;
	}
	return rc == 0 && *n > 0 ? 0 : -1;
}

static void
delete_objects(struct s3req *q)
{
	struct s3xml x;
	const char *in;
	char *body, *quiet, **keys = NULL;
	size_t len = 0, pos = 0, inlen;
	int n = 0, i, qt = 0;

	body = read_xml_body(q, &len);
	if (body == NULL)
		return;
	keys = calloc(1000, sizeof(*keys));
	if (keys == NULL) {
		s3_fail(q->r, FS_INTERNAL, NULL);
		goto out;
	}
	if (delete_keys(body, len, keys, &n) == -1) {
		s3_error(q->r, 400, "MalformedXML", "The XML you provided was "
		    "not well-formed or did not validate against our published "
		    "schema (1 to 1000 <Object> with a <Key>)");
		goto out;
	}
	if (s3xml_elem(body, len, "Quiet", &pos, &in, &inlen) == 1) {
		quiet = s3xml_decode(in, inlen);
		qt = quiet != NULL && strcmp(quiet, "true") == 0;
		free(quiet);
	}
	s3xml_begin(&x, "DeleteResult");
	for (i = 0; i < n; i++)
		delete_one(q, &x, keys[i], qt);
	s3xml_close(&x, "DeleteResult");
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
out:
	for (i = 0; keys != NULL && i < 1000 && keys[i] != NULL; i++)
		free(keys[i]);
	free(keys);
	free(body);
}

/* ------------------------------------------------------------------ */
/* Copies */

/*
 * The store copies read from while they write through a->store: a second
 * handle, because an S3 adapter handle runs one transfer at a time.
 * Opened once per worker, like a->store; NULL after a logged failure.
 */
static struct store *
source_store(struct app *a)
{
	static struct store *s;
	char err[256];

	if (s == NULL) {
		s = store_open(&a->cfg, err, sizeof(err));
		if (s == NULL)
			app_log(a, "s3: second store handle: %s", err);
	}
	return s;
}

static ssize_t
store_src(void *arg, void *buf, size_t len)
{
	return store_read(arg, buf, len);
}

/*
 * The object x-amz-copy-source names, in the caller's bucket and
 * readable: FS_OK with f (and its logical key in *logical), or 0 after
 * answering.
 */
static int
copy_source(struct s3req *q, struct file_row *f, char **logical)
{
	const char *v, *msg = NULL;
	char *dec = NULL, *k, *pkey = NULL;
	size_t n = 0, blen;
	enum fs_err e;
	int ok = 0;

	*logical = NULL;
	v = http_header(q->r, "X-Amz-Copy-Source");
	dec = v != NULL ? http_pct_decode(v, strcspn(v, "?"), 0, &n) : NULL;
	if (dec == NULL || strlen(dec) != n) {
		s3_error(q->r, 400, "InvalidArgument", "x-amz-copy-source must "
		    "be a percent-encoded /bucket/key");
		goto out;
	}
	k = dec + (*dec == '/');
	blen = strcspn(k, "/");
	if (blen != strlen(q->bucket) || memcmp(k, q->bucket, blen) != 0 ||
	    k[blen] != '/') {
		s3_error(q->r, 403, "AccessDenied", "a copy reads only from the "
		    "bucket of the key's tenant");
		goto out;
	}
	k += blen + 1;
	if (key_validate(k, strlen(k), logical, &msg) == -1) {
		s3_error(q->r, 400, "InvalidArgument", "copy source key: %s",
		    msg);
		goto out;
	}
	pkey = key_physical(q->p.tenant_id, *logical);
	e = pkey != NULL ? load_readable(q, pkey, f) : FS_INTERNAL;
	if (e != FS_OK) {
		s3_fail(q->r, e, NULL);
		goto out;
	}
	ok = 1;
out:
	if (!ok) {
		free(*logical);
		*logical = NULL;
	}
	free(dec);
	free(pkey);
	return ok;
}

/* The metadata of a copy: the source's, or the request's (REPLACE). */
static int
copy_meta(struct s3req *q, const struct file_row *f, const char **ctype,
    char **meta)
{
	const char *d = http_header(q->r, "X-Amz-Metadata-Directive");

	*meta = NULL;
	if (d != NULL && strcmp(d, "REPLACE") == 0) {
		*ctype = request_ctype(q);
		return *ctype != NULL ? request_meta(q, meta) : -1;
	}
	if (d != NULL && strcmp(d, "COPY") != 0) {
		s3_error(q->r, 400, "InvalidArgument", "x-amz-metadata-directive "
		    "must be COPY or REPLACE");
		return -1;
	}
	if (strcmp(f->key, q->pkey) == 0) {
		s3_error(q->r, 400, "InvalidRequest", "This copy request is "
		    "illegal because it is trying to copy an object to itself "
		    "without changing the object's metadata");
		return -1;
	}
	*ctype = f->content_type;
	if (file_s3_meta(q->a->db, f->key, meta) == FS_INTERNAL) {
		s3_fail(q->r, FS_INTERNAL, NULL);
		return -1;
	}
	return 0;
}

/* <tag><LastModified/><ETag/></tag>, the answer of both copies. */
static void
copy_result(struct s3req *q, const char *tag, const char *etag)
{
	struct s3xml x;
	char t[32];

	db_iso8601(db_now(), t);
	s3xml_begin(&x, tag);
	s3xml_text(&x, "LastModified", t);
	s3xml_textf(&x, "ETag", "\"%s\"", etag);
	s3xml_close(&x, tag);
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
}

static void
copy_object(struct s3req *q)
{
	struct store_reader *rd = NULL;
	struct file_row f;
	struct body b;
	struct source src;
	const char *ctype = NULL, *msg = NULL;
	char *logical = NULL, *meta = NULL;
	enum fs_err e;
	int exists = 0;

	memset(&f, 0, sizeof(f));
	memset(&b, 0, sizeof(b));	/* body_free is harmless on it */
	if (!copy_source(q, &f, &logical) ||
	    copy_meta(q, &f, &ctype, &meta) == -1)
		goto out;
	e = source_store(q->a) == NULL ? FS_INTERNAL : store_reader_open_row(
	    source_store(q->a), f.key, f.pending, 0, -1, &rd);
	if (e == FS_OK)
		e = body_init(&b, q, 0) == 0 ? FS_OK : FS_INTERNAL;
	if (e != FS_OK) {
		s3_fail(q->r, e == FS_NOT_FOUND ? FS_INTERNAL : e, NULL);
		goto out;
	}
	src.read = store_src;
	src.arg = rd;
	src.size = f.size;
	b.meta = meta;
	e = write_object(q, &b, q->pkey, ctype, &src, &exists, &msg);
	if (e != FS_OK)
		body_fail(q, &b, e, msg);
	else
		copy_result(q, "CopyObjectResult", b.etag);
out:
	body_free(&b);
	store_reader_free(rd);
	file_row_free(&f);
	free(logical);
	free(meta);
}

/* ------------------------------------------------------------------ */
/* Multipart uploads */

static void
no_such_upload(struct request *r)
{
	s3_error(r, 404, "NoSuchUpload", "The specified multipart upload does "
	    "not exist. The upload ID might be invalid, or the multipart "
	    "upload might have been aborted or completed.");
}

/* The caller's upload of ?uploadId= for this key: 1, or 0 answered. */
static int
load_upload(struct s3req *q, struct s3mp_upload *u)
{
	const char *id = qparam(q->r, "uploadId");
	enum fs_err e;

	memset(u, 0, sizeof(*u));
	if (id == NULL || strlen(id) != S3MP_ID_LEN) {
		no_such_upload(q->r);
		return 0;
	}
	e = s3mp_load(q->a->db, q->p.tenant_id, id, u);
	if (e == FS_OK && (strcmp(u->key, q->pkey) != 0 ||
	    strcmp(u->user_id, q->p.user_id) != 0))
		e = FS_NOT_FOUND;	/* another key's, or another user's */
	if (e == FS_OK)
		return 1;
	if (e == FS_NOT_FOUND)
		no_such_upload(q->r);
	else
		s3_fail(q->r, e, NULL);
	s3mp_upload_free(u);
	return 0;
}

static void
create_upload(struct s3req *q)
{
	struct pub u;
	struct s3xml x;
	const char *ctype;
	char *meta = NULL, id[S3MP_ID_LEN + 1], name[FILES_PENDING_MAX + 1];
	enum fs_err e;
	int fd = -1;

	name[0] = '\0';
	ctype = request_ctype(q);
	if (ctype == NULL || request_meta(q, &meta) == -1)
		return;
	memset(&u, 0, sizeof(u));
	u.a = q->a;
	u.p = &q->p;
	u.pkey = q->pkey;
	u.ctype = ctype;
	/* Checked now, and again when Complete publishes. */
	e = pub_may_write(&u, -1);
	/* On disk, the file the parts are written into (s3mp.h). */
	if (e == FS_OK && store_has_asm(q->a->store))
		e = store_asm_create(q->a->store, name, &fd);
	if (e == FS_OK)
		e = s3mp_create(q->a->db, q->p.tenant_id, q->p.user_id,
		    q->pkey, ctype, meta, name[0] != '\0' ? name : NULL, id);
	if (fd != -1)
		close(fd);	/* its row keeps it now, or it goes */
	if (e != FS_OK && name[0] != '\0')
		(void)store_drop_tmp(q->a->store, name);
	if (e != FS_OK) {
		s3_fail(q->r, e, NULL);
		goto out;
	}
	s3xml_begin(&x, "InitiateMultipartUploadResult");
	s3xml_text(&x, "Bucket", q->bucket);
	s3xml_text(&x, "Key", q->logical);
	s3xml_text(&x, "UploadId", id);
	s3xml_close(&x, "InitiateMultipartUploadResult");
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
out:
	free(meta);
}

/*
 * x-amz-copy-source-range "bytes=first-last" of a part copy from an
 * object of size bytes: 0 with *off, *len; -1 after answering.
 */
static int
copy_range(struct s3req *q, long long size, long long *off, long long *len)
{
	const char *v = http_header(q->r, "X-Amz-Copy-Source-Range");
	char a[24], b[24];
	long long first, last;
	size_t n;

	*off = 0;
	*len = size;
	if (v == NULL)
		return 0;
	if (strncmp(v, "bytes=", 6) != 0)
		goto bad;
	v += 6;
	n = strcspn(v, "-");
	if (n == 0 || n >= sizeof(a) || v[n] != '-' ||
	    strlen(v + n + 1) >= sizeof(b))
		goto bad;
	memcpy(a, v, n);
	a[n] = '\0';
	memcpy(b, v + n + 1, strlen(v + n + 1) + 1);
	if (http_parse_ll(a, 0, size - 1, &first) == -1 ||
	    http_parse_ll(b, first, size - 1, &last) == -1)
		goto bad;
	*off = first;
	*len = last - first + 1;
	return 0;
bad:
	s3_error(q->r, 400, "InvalidArgument", "x-amz-copy-source-range must "
	    "be bytes=first-last within the source object");
	return -1;
}

/*
 * Open the bytes of a part copy (UploadPartCopy): a reader into *rd, or
 * 0 after answering.
 */
static int
part_copy_reader(struct s3req *q, struct store_reader **rd, long long *size)
{
	struct file_row f;
	char *logical = NULL;
	long long off, len;
	enum fs_err e;
	int ok = 0;

	memset(&f, 0, sizeof(f));
	if (!copy_source(q, &f, &logical))
		return 0;
	if (copy_range(q, f.size, &off, &len) == -1)
		goto out;
	e = source_store(q->a) == NULL ? FS_INTERNAL : store_reader_open_row(
	    source_store(q->a), f.key, f.pending, off, len, rd);
	if (e != FS_OK) {
		s3_fail(q->r, e == FS_NOT_FOUND ? FS_INTERNAL : e, NULL);
		goto out;
	}
	*size = len;
	ok = 1;
out:
	file_row_free(&f);
	free(logical);
	return ok;
}

/*
 * The writer of part number of mu: into its range of the assembly file
 * when it fits (*off set, *asmfd open and share-locked against Complete
 * until the caller closes it), else into its own temporary object.
 */
static enum fs_err
part_writer(struct s3req *q, const struct s3mp_upload *mu, int number,
    long long size, int *asmfd, long long *off, struct store_writer **w)
{
	enum fs_err e = FS_CONFLICT;

	*off = -1;
	if (mu->assembly[0] != '\0' && size > 0 &&
	    store_asm_open(q->a->store, mu->assembly, asmfd) == FS_OK) {
		if (flock(*asmfd, LOCK_SH) == -1)
			return FS_INTERNAL;
		e = s3mp_claim(q->a->db, mu->id, number, size, off);
		/* Claimed: the caller drops the claim if the part fails. */
		if (e == FS_OK)
			return store_writer_open_at(q->a->store, *asmfd, *off,
			    size, w);
		*off = -1;
		if (e != FS_CONFLICT)
			return e;
	}
	return store_writer_open(q->a->store, mu->key, w);
}

static void asm_chain(struct s3req *, const char *, int);

/* Stream one part into the assembly file or a kept temporary object,
   and record it. */
static enum fs_err
store_part(struct s3req *q, struct body *b, const struct s3mp_upload *mu,
    int number, const struct source *src)
{
	struct pub u;
	struct store_writer *w = NULL;
	struct s3mp_part part;
	unsigned char sha[CRY_SHA256_LEN];
	char old[FILES_PENDING_MAX + 1];
	long long total = 0, off = -1;
	const char *pending;
	enum fs_err e;
	int asmfd = -1;

	memset(&u, 0, sizeof(u));
	memset(&part, 0, sizeof(part));
	u.a = q->a;
	u.p = &q->p;
	u.pkey = mu->key;
	u.ctype = mu->ctype;
	u.tap = body_tap;
	u.tap_arg = b;
	u.read = src->read != NULL ? src->read : b->chunked ? chunk_read :
	    NULL;
	u.read_arg = src->read != NULL ? src->arg : b;
	e = part_writer(q, mu, number, src->size, &asmfd, &off, &w);
	if (e != FS_OK)
		goto out;
	if (src->size >= 0)
		store_writer_size_hint(w, src->size);
	e = pub_body(&u, q->r, w, &total);
	if (e == FS_OK)
		e = store_finish(w, sha, &part.size);
	if (e == FS_OK)
		e = body_check(b, sha, part.size);
	pending = off >= 0 ? mu->assembly : store_writer_pending(w);
	if (e != FS_OK || pending == NULL)
		goto out;
	part.number = number;
	part.offset = off >= 0 ? off : 0;
	memcpy(part.md5, b->md5hex, sizeof(part.md5));
	snprintf(part.pending, sizeof(part.pending), "%s", pending);
	e = s3mp_part_put(q->a->db, mu->id, &part, old);
	if (e != FS_OK)
		goto out;
	if (off < 0)
		store_writer_keep(w);
	else
		asm_chain(q, mu->id, asmfd);
	/* The part it replaces: its own object, never the assembly. */
	if (old[0] != '\0' && strcmp(old, mu->assembly) != 0)
		(void)store_drop_tmp(q->a->store, old);
out:
	if (e != FS_OK && off >= 0)
		s3mp_unclaim(q->a->db, mu->id, number);
	store_writer_free(w);	/* aborts unless the part's row took it */
	if (asmfd != -1)
		close(asmfd);	/* and its lock */
	return e;
}

static void
upload_part(struct s3req *q, int copy)
{
	struct store_reader *rd = NULL;
	struct s3mp_upload mu;
	struct body b;
	struct source src = { NULL, NULL, -1 };
	long long n;
	enum fs_err e = FS_INTERNAL;
	const char *pn;

	memset(&b, 0, sizeof(b));
	if (!load_upload(q, &mu))
		return;
	pn = qparam(q->r, "partNumber");
	if (pn == NULL || http_parse_ll(pn, 1, S3MP_PARTS_MAX, &n) == -1) {
		s3_error(q->r, 400, "InvalidArgument", "Part number must be an "
		    "integer between 1 and 10000, inclusive");
		goto done;
	}
	if (copy && !part_copy_reader(q, &rd, &src.size))
		goto done;
	if (copy) {
		src.read = store_src;
		src.arg = rd;
	}
	if (body_init(&b, q, !copy) == -1)
		goto out;
	if (!copy)
		src.size = body_size(q, &b);
	e = src.size > q->a->cfg.max_upload ? FS_TOO_LARGE :
	    store_part(q, &b, &mu, (int)n, &src);
	if (e == FS_NOT_FOUND) {
		no_such_upload(q->r);
		goto done;
	}
	if (e != FS_OK)
		goto out;
	if (copy)
		copy_result(q, "CopyPartResult", b.md5hex);
	else {
		http_add_headerf(q->r, "ETag", "\"%s\"", b.md5hex);
		s3_empty(q->r, 200);
	}
out:
	if (e != FS_OK)
		body_fail(q, &b, e, NULL);
done:
	body_free(&b);
	store_reader_free(rd);
	s3mp_upload_free(&mu);
}

/* The parts Complete names, in order, as a reader of their bytes. */
struct concat {
	struct s3req		*q;
	const char		*pkey;
	struct s3mp_part	**parts;
	size_t			 n, i;
	struct store_reader	*rd;
	long long		 got;	/* bytes of parts[i] read */
};

static ssize_t
concat_read(void *arg, void *buf, size_t len)
{
	struct concat *c = arg;
	ssize_t n;

	for (;;) {
		if (c->i == c->n)
			return 0;
		if (c->rd == NULL) {
			if (source_store(c->q->a) == NULL ||
			    store_reader_open_row(source_store(c->q->a),
			    c->pkey, c->parts[c->i]->pending,
			    c->parts[c->i]->offset, c->parts[c->i]->size,
			    &c->rd) != FS_OK)
				return -1;
			c->got = 0;
		}
		n = store_read(c->rd, buf, len);
		if (n < 0)
			return -1;
		c->got += n;
		if (n > 0)
			return n;
		store_reader_free(c->rd);
		c->rd = NULL;
		/* A part whose object is not its own bytes: never publish. */
		if (c->got != c->parts[c->i]->size)
			return -1;
		c->i++;
	}
}

/* The part numbered number among have[0..nhave), or NULL. */
static struct s3mp_part *
find_part(struct s3mp_part *have, size_t nhave, long long number)
{
	size_t i;

	for (i = 0; i < nhave; i++)
		if (have[i].number == number)
			return &have[i];
	return NULL;
}

/*
 * The parts the Complete body lists, checked against those uploaded:
 * into c->parts, and the multipart ETag into etag. 0, or -1 answered.
 */
static int
complete_parts(struct s3req *q, const char *body, size_t len,
    struct s3mp_part *have, size_t nhave, struct concat *c,
    char etag[FILES_MD5_MAX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE], raw[16];
	const char *in, *v;
	char *num = NULL, *tag = NULL;
	size_t pos = 0, ppos, inlen, vlen, k;
	long long number, prev = 0;
	struct s3mp_part *p;
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int rc = -1;

	c->parts = calloc(nhave + 1, sizeof(*c->parts));
	ctx = EVP_MD_CTX_new();
	if (c->parts == NULL || ctx == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
		s3_fail(q->r, FS_INTERNAL, NULL);
		goto out;
	}
	while (s3xml_elem(body, len, "Part", &pos, &in, &inlen) == 1) {
		free(num);
		free(tag);
		num = tag = NULL;
		ppos = 0;
		if (s3xml_elem(in, inlen, "PartNumber", &ppos, &v, &vlen) == 1)
			num = s3xml_decode(v, vlen);
		ppos = 0;
		if (s3xml_elem(in, inlen, "ETag", &ppos, &v, &vlen) == 1)
			tag = s3xml_decode(v, vlen);
		if (num == NULL || tag == NULL ||
		    http_parse_ll(num, 1, S3MP_PARTS_MAX, &number) == -1) {
			s3_error(q->r, 400, "MalformedXML", "each <Part> needs a "
			    "<PartNumber> from 1 to 10000 and an <ETag>");
			goto out;
		}
		if (number <= prev) {
			s3_error(q->r, 400, "InvalidPartOrder", "The list of "
			    "parts was not in ascending order.");
			goto out;
		}
		prev = number;
		p = find_part(have, nhave, number);
		k = strlen(tag);
		if (k >= 2 && tag[0] == '"' && tag[k - 1] == '"') {
			memmove(tag, tag + 1, k - 2);
			tag[k - 2] = '\0';
		}
		if (p == NULL || strcmp(tag, p->md5) != 0 || c->n == nhave) {
			s3_error(q->r, 400, "InvalidPart", "One or more of the "
			    "specified parts could not be found or its entity "
			    "tag did not match (part %lld)", number);
			goto out;
		}
		if (c->n > 0 && c->parts[c->n - 1]->size < S3_PART_MIN) {
			s3_error(q->r, 400, "EntityTooSmall", "Your proposed "
			    "upload is smaller than the minimum allowed object "
			    "size (5 MiB for every part but the last)");
			goto out;
		}
		c->parts[c->n++] = p;
		for (k = 0; k < 16; k++) {
			unsigned int hi, lo;

			hi = (unsigned)(strchr("0123456789abcdef",
			    p->md5[2 * k]) - "0123456789abcdef");
			lo = (unsigned)(strchr("0123456789abcdef",
			    p->md5[2 * k + 1]) - "0123456789abcdef");
			raw[k] = (unsigned char)(hi << 4 | lo);
		}
		EVP_DigestUpdate(ctx, raw, 16);
	}
	if (c->n == 0) {
		s3_error(q->r, 400, "MalformedXML", "You must specify at least "
		    "one part");
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		s3_fail(q->r, FS_INTERNAL, NULL);
		goto out;
	}
	cry_hex(md, 16, etag);
	snprintf(etag + 32, FILES_MD5_MAX + 1 - 32, "-%zu", c->n);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	free(num);
	free(tag);
	return rc;
}

/* Drop the temporary objects of the parts and the assembly file of mu
   (after Complete or Abort). */
static void
drop_parts(struct s3req *q, const struct s3mp_upload *mu,
    const struct s3mp_part *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(p[i].pending, mu->assembly) != 0)
			(void)store_drop_tmp(q->a->store, p[i].pending);
	if (mu->assembly[0] != '\0')
		(void)store_drop_tmp(q->a->store, mu->assembly);
}

static void
complete_result(struct s3req *q, const char *etag)
{
	struct s3xml x;

	s3xml_begin(&x, "CompleteMultipartUploadResult");
	s3xml_textf(&x, "Location", "%s/%s", q->r->raw_path, "");
	s3xml_text(&x, "Bucket", q->bucket);
	s3xml_text(&x, "Key", q->logical);
	s3xml_textf(&x, "ETag", "\"%s\"", etag);
	s3xml_close(&x, "CompleteMultipartUploadResult");
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
}

/*
 * Lock the assembly file of mu against part writers (they hold it
 * shared while they write): its fd into *fd, and mu's part size as it
 * stands once they are done. -1 when it has none or is gone.
 */
static void
asm_lock(struct s3req *q, struct s3mp_upload *mu, int *fd)
{
	struct s3mp_upload now;

	*fd = -1;
	if (mu->assembly[0] == '\0' ||
	    store_asm_open(q->a->store, mu->assembly, fd) != FS_OK)
		return;
	if (flock(*fd, LOCK_EX) == -1 ||
	    s3mp_load(q->a->db, q->p.tenant_id, mu->id, &now) != FS_OK) {
		close(*fd);
		*fd = -1;
		return;
	}
	mu->part_size = now.part_size;
	mu->hash_off = now.hash_off;
	memcpy(mu->hash_state, now.hash_state, sizeof(mu->hash_state));
	s3mp_upload_free(&now);
}

/* Bytes [from, to) of fd into h, read in large pieces; 0, or -1. */
static int
fd_hash(int fd, struct shastate *h, long long from, long long to)
{
	enum { BUF = 1 << 20 };
	unsigned char *buf;
	ssize_t n;
	int rc = -1;

	buf = malloc(BUF);
	if (buf == NULL)
		return -1;
	while (from < to) {
		n = pread(fd, buf, to - from < BUF ? (size_t)(to - from) : BUF,
		    from);
		if (n <= 0)
			goto out;
		shastate_update(h, buf, (size_t)n);
		from += n;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/*
 * Extend the hash of upload id's assembly file fd (sql/0011) over the
 * full parts now in place after it, in order, read back from the page
 * cache: called by a part's writer once its part is recorded, so that
 * Complete hashes only what is left (the last part, and any a writer
 * skipped) instead of the whole object at the end, while the client
 * waits. Best effort: a failure leaves the hash where it was. One
 * writer extends it at a time (an OFD lock; the others go on, and the
 * holder or a later writer takes their parts); the writers' shared
 * flock keeps Complete out meanwhile.
 */
static void
asm_chain(struct s3req *q, const char *id, int fd)
{
	struct flock lk;
	struct s3mp_upload mu;
	struct s3mp_part *have = NULL, *p;
	struct shastate *h = NULL;
	char text[SHASTATE_LEN + 1];
	size_t nhave = 0;
	long long off;

	memset(&mu, 0, sizeof(mu));
	memset(&lk, 0, sizeof(lk));
	lk.l_type = F_WRLCK;
	lk.l_whence = SEEK_SET;
	lk.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &lk) == -1)
		return;
	if (s3mp_load(q->a->db, q->p.tenant_id, id, &mu) != FS_OK ||
	    mu.part_size <= 0 || mu.hash_off % mu.part_size != 0 ||
	    (mu.hash_state[0] == '\0') != (mu.hash_off == 0) ||
	    s3mp_parts(q->a->db, id, &have, &nhave) != FS_OK)
		goto out;
	h = shastate_new(mu.hash_off > 0 ? mu.hash_state : NULL);
	if (h == NULL)
		goto out;
	for (off = mu.hash_off;; off += mu.part_size) {
		p = find_part(have, nhave, off / mu.part_size + 1);
		if (p == NULL || strcmp(p->pending, mu.assembly) != 0 ||
		    p->offset != off || p->size != mu.part_size)
			break;
		if (fd_hash(fd, h, off, off + mu.part_size) == -1)
			goto out;
	}
	if (off > mu.hash_off) {
		shastate_save(h, text);
		(void)s3mp_hash_set(q->a->db, id, mu.hash_off, off, text);
	}
out:
	lk.l_type = F_UNLCK;
	(void)fcntl(fd, F_OFD_SETLK, &lk);
	shastate_free(h);
	free(have);
	s3mp_upload_free(&mu);
}

/*
 * The SHA-256 of the object, the first size bytes of the assembly file
 * fd (locked): from the hash the part writers left (asm_chain), when
 * the bytes it covers are still those of the chosen parts (asm_patch
 * rewrote none of them), else from the start. 0, or -1.
 */
static int
asm_digest(const struct s3mp_upload *mu, struct s3mp_part *const *parts,
    size_t n, int fd, long long size, unsigned char sha[CRY_SHA256_LEN])
{
	struct shastate *h;
	long long from = 0;
	size_t i;
	int rc = -1;

	if (mu->hash_state[0] != '\0' && mu->part_size > 0 &&
	    mu->hash_off <= size && mu->hash_off % mu->part_size == 0) {
		from = mu->hash_off;
		for (i = 0; i < n && (long long)i * mu->part_size < from; i++)
			if (strcmp(parts[i]->pending, mu->assembly) != 0)
				from = 0;
	}
	h = shastate_new(from > 0 ? mu->hash_state : NULL);
	if (h != NULL && fd_hash(fd, h, from, size) == 0) {
		shastate_digest(h, sha);
		rc = 0;
	}
	shastate_free(h);
	return rc;
}

/*
 * The chosen parts of mu that are in their own objects (re-uploads)
 * copied to their ranges of the assembly file fd: FS_OK, or an error.
 */
static enum fs_err
asm_patch(struct s3req *q, const struct s3mp_upload *mu,
    struct s3mp_part *const *parts, size_t n, int fd)
{
	enum { BUF = 1 << 20 };
	struct store_reader *rd = NULL;
	unsigned char *buf;
	long long at;
	enum fs_err e = FS_OK;
	ssize_t got;
	size_t i;

	buf = malloc(BUF);
	if (buf == NULL)
		return FS_INTERNAL;
	for (i = 0; i < n && e == FS_OK; i++) {
		if (strcmp(parts[i]->pending, mu->assembly) == 0)
			continue;
		e = store_reader_open_row(q->a->store, mu->key,
		    parts[i]->pending, 0, parts[i]->size, &rd);
		at = (long long)i * mu->part_size;
		while (e == FS_OK && (got = store_read(rd, buf, BUF)) > 0) {
			if (pwrite(fd, buf, (size_t)got, at) != got)
				e = FS_INTERNAL;
			at += got;
		}
		if (e == FS_OK && at != (long long)i * mu->part_size +
		    parts[i]->size)
			e = FS_INTERNAL;	/* not the part's bytes */
		store_reader_free(rd);
		rd = NULL;
	}
	free(buf);
	return e;
}

/*
 * Complete without a copy: the assembly file (fd, locked) with its
 * re-uploaded parts copied in, cut to size, is the object, hashed in
 * one read pass, made durable and published through the temporary area
 * as any other.
 */
static enum fs_err
complete_in_place(struct s3req *q, struct body *b,
    const struct s3mp_upload *mu, struct s3mp_part *const *parts, size_t n,
    int fd, long long size, int *exists, const char **msg)
{
	struct pub u;
	struct store_writer *w = NULL;
	unsigned char sha[CRY_SHA256_LEN];
	enum fs_err e;

	pub_of(q, b, mu->key, mu->ctype, &u);
	*msg = NULL;
	e = pub_may_write(&u, size);
	if (e != FS_OK) {
		*msg = e == FS_FORBIDDEN ? "Access Denied" : NULL;
		return e;
	}
	e = asm_patch(q, mu, parts, n, fd);
	if (e != FS_OK)
		return e;
	if (ftruncate(fd, size) == -1 || fsync(fd) == -1 ||
	    asm_digest(mu, parts, n, fd, size, sha) == -1)
		return FS_INTERNAL;
	e = store_asm_adopt(q->a->store, mu->key, mu->assembly, fd, sha,
	    size, &w);
	if (e == FS_OK)
		e = pub_record(&u, w);
	if (e == FS_OK)
		app_audit(q->r, "s3-put", mu->key, u.exists ? "overwrite" :
		    "create");
	*msg = u.msg;
	*exists = u.exists;
	store_writer_free(w);	/* aborts unless the row took it */
	return e;
}

static void
complete_upload(struct s3req *q)
{
	struct s3mp_upload mu;
	struct s3mp_part *have = NULL;
	struct concat c;
	struct body b;
	struct source src;
	const char *msg = NULL;
	char *xml = NULL;
	size_t len = 0, nhave = 0, i;
	long long total = 0;
	enum fs_err e;
	int exists = 0, asmfd = -1;

	memset(&c, 0, sizeof(c));
	memset(&b, 0, sizeof(b));
	if (!load_upload(q, &mu))
		return;
	xml = read_xml_body(q, &len);
	if (xml == NULL)
		goto out;
	asm_lock(q, &mu, &asmfd);
	if (s3mp_parts(q->a->db, mu.id, &have, &nhave) != FS_OK) {
		s3_fail(q->r, FS_INTERNAL, NULL);
		goto out;
	}
	if (body_init(&b, q, 0) == -1 ||
	    complete_parts(q, xml, len, have, nhave, &c, b.etag) == -1)
		goto out;
	c.q = q;
	c.pkey = mu.key;
	src.read = concat_read;
	src.arg = &c;
	src.size = 0;
	for (i = 0; i < c.n; i++)
		src.size += c.parts[i]->size;
	b.meta = mu.meta;
	b.upload_id = mu.id;
	if (asmfd != -1 && s3mp_in_place(&mu, c.parts, c.n, have, nhave,
	    &total))
		e = complete_in_place(q, &b, &mu, c.parts, c.n, asmfd, total,
		    &exists, &msg);
	else
		e = write_object(q, &b, mu.key, mu.ctype, &src, &exists,
		    &msg);
	if (e != FS_OK) {
		body_fail(q, &b, e, msg);
		goto out;
	}
	/* The upload's rows went with the publish: now its parts. */
	drop_parts(q, &mu, have, nhave);
	complete_result(q, b.etag);
out:
	store_reader_free(c.rd);
	free(c.parts);
	body_free(&b);
	free(have);
	free(xml);
	if (asmfd != -1)
		close(asmfd);	/* and its lock */
	s3mp_upload_free(&mu);
}

static void
abort_upload(struct s3req *q)
{
	struct s3mp_upload mu;
	struct s3mp_part *have = NULL;
	size_t nhave = 0;
	enum fs_err e;

	if (!load_upload(q, &mu))
		return;
	e = s3mp_parts(q->a->db, mu.id, &have, &nhave);
	if (e == FS_OK)
		e = s3mp_delete(q->a->db, mu.id);
	if (e != FS_OK)
		s3_fail(q->r, e, NULL);
	else {
		drop_parts(q, &mu, have, nhave);
		s3_empty(q->r, 204);
	}
	free(have);
	s3mp_upload_free(&mu);
}

static void
list_parts(struct s3req *q)
{
	struct s3mp_upload mu;
	struct s3mp_part *have = NULL;
	struct s3xml x;
	char t[32];
	size_t nhave = 0, i;

	if (!load_upload(q, &mu))
		return;
	if (s3mp_parts(q->a->db, mu.id, &have, &nhave) != FS_OK) {
		s3_fail(q->r, FS_INTERNAL, NULL);
		goto out;
	}
	s3xml_begin(&x, "ListPartsResult");
	s3xml_text(&x, "Bucket", q->bucket);
	s3xml_text(&x, "Key", q->logical);
	s3xml_text(&x, "UploadId", mu.id);
	s3xml_text(&x, "PartNumberMarker", "0");
	s3xml_text(&x, "MaxParts", "10000");
	s3xml_text(&x, "IsTruncated", "false");
	for (i = 0; i < nhave; i++) {
		s3xml_open(&x, "Part");
		s3xml_textf(&x, "PartNumber", "%d", have[i].number);
		db_iso8601(have[i].created_at, t);
		s3xml_text(&x, "LastModified", t);
		s3xml_textf(&x, "ETag", "\"%s\"", have[i].md5);
		s3xml_textf(&x, "Size", "%lld", have[i].size);
		s3xml_close(&x, "Part");
	}
	s3xml_close(&x, "ListPartsResult");
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
out:
	free(have);
	s3mp_upload_free(&mu);
}

struct uploads_arg {
	struct s3xml	*x;
	const char	*tenant_id;
};

static void
one_upload(void *arg, const struct s3mp_upload *u)
{
	struct uploads_arg *ua = arg;
	const char *logical = key_logical(ua->tenant_id, u->key);
	char t[32];

	if (logical == NULL)
		return;
	db_iso8601(u->created_at, t);
	s3xml_open(ua->x, "Upload");
	s3xml_text(ua->x, "Key", logical);
	s3xml_text(ua->x, "UploadId", u->id);
	s3xml_text(ua->x, "Initiated", t);
	s3xml_text(ua->x, "StorageClass", "STANDARD");
	s3xml_close(ua->x, "Upload");
}

/* The caller's own uploads (an admin's: all of the tenant's). */
static void
list_uploads(struct s3req *q)
{
	struct s3xml x;
	struct uploads_arg ua = { &x, q->p.tenant_id };
	const char *prefix = qparam(q->r, "prefix");
	char *pp;

	if (asprintf(&pp, "tenants/%s/%s", q->p.tenant_id, prefix != NULL ?
	    prefix : "") == -1)
		pp = NULL;
	s3xml_begin(&x, "ListMultipartUploadsResult");
	s3xml_text(&x, "Bucket", q->bucket);
	s3xml_text(&x, "KeyMarker", "");
	s3xml_text(&x, "UploadIdMarker", "");
	s3xml_text(&x, "MaxUploads", "1000");
	s3xml_text(&x, "IsTruncated", "false");
	if (pp == NULL || s3mp_each(q->a->db, q->p.tenant_id, q->p.admin ?
	    NULL : q->p.user_id, pp, one_upload, &ua) == -1)
		x.failed = 1;
	s3xml_close(&x, "ListMultipartUploadsResult");
	s3_send(q->r, 200, &x);
	s3xml_free(&x);
	free(pp);
}

/* ------------------------------------------------------------------ */
/* Dispatch */

static void
bucket_op(struct s3req *q)
{
	const char *m = q->r->method;

	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		bucket_get(q);
	else if (strcmp(m, "POST") == 0 && has_param(q->r, "delete"))
		delete_objects(q);
	else if (strcmp(m, "PUT") == 0)
		s3_error(q->r, 409, "BucketAlreadyOwnedByYou", "Your tenant is "
		    "your bucket: it exists and is yours");
	else if (strcmp(m, "DELETE") == 0)
		s3_error(q->r, 403, "AccessDenied", "a bucket is a tenant and "
		    "cannot be deleted over S3");
	else
		s3_error(q->r, 400, "InvalidRequest", "unsupported bucket "
		    "operation");
}

static void
object_op(struct s3req *q)
{
	const char *m = q->r->method;
	int up = has_param(q->r, "uploadId");

	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
		if (up && !q->r->is_head)
			list_parts(q);
		else
			get_object(q);
	} else if (strcmp(m, "PUT") == 0) {
		if (up || has_param(q->r, "partNumber"))
			upload_part(q, http_header(q->r, "X-Amz-Copy-Source") !=
			    NULL);
		else if (http_header(q->r, "X-Amz-Copy-Source") != NULL)
			copy_object(q);
		else
			put_object(q);
	} else if (strcmp(m, "DELETE") == 0) {
		if (up)
			abort_upload(q);
		else
			delete_object(q);
	} else if (strcmp(m, "POST") == 0 && has_param(q->r, "uploads"))
		create_upload(q);
	else if (strcmp(m, "POST") == 0 && up)
		complete_upload(q);
	else
		s3_error(q->r, 400, "InvalidRequest", "unsupported object "
		    "operation");
}

/* Every /s3 route: authenticate, then the operation the request names. */
static void
h_s3(struct app *a, struct request *r, const struct app_caller *c)
{
	struct s3req q;

	memset(&q, 0, sizeof(q));
	q.a = a;
	q.r = r;
	if (!s3_authenticate(&q) || !resolve_path(&q))
		goto out;
	if (q.bucket[0] == '\0') {
		if (strcmp(r->method, "GET") == 0 ||
		    strcmp(r->method, "HEAD") == 0)
			list_buckets(&q);
		else
			s3_error(r, 405, "MethodNotAllowed", "The specified "
			    "method is not allowed against this resource.");
	} else if (q.pkey == NULL)
		bucket_op(&q);
	else
		object_op(&q);
out:
	cry_wipe(q.secret, sizeof(q.secret));
	free(q.logical);
	free(q.pkey);
}

/*
 * Requests to the S3 host (S3API_DOMAIN) come with the bucket in the
 * host or at the root of the path: put them under /s3/<bucket> for the
 * routes and resolve_path. signed_path() takes the prefix off again.
 */
static void
s3_prepare(struct app *a, struct request *r)
{
	char b[256], *path = NULL, *raw = NULL;
	const char *rest, *rawrest;
	size_t pre, restlen;
	int vh = s3_host(a, r, b, sizeof(b)), ok = 0;

	if (vh < 0)
		return;
	rest = r->path;
	restlen = r->path_len;
	rawrest = r->raw_path;
	if (strcmp(r->raw_path, "/") == 0) {
		rest = rawrest = "";
		restlen = 0;
	}
	if (vh == 0)
		b[0] = '\0';
	pre = strlen(PREFIX) + (vh == 1 ? 1 + strlen(b) : 0);
	if (asprintf(&raw, "%s%s%s%s", PREFIX, vh == 1 ? "/" : "", b,
	    rawrest) == -1) {
		raw = NULL;
		goto out;
	}
	/* The decoded path may hold a NUL (resolve_path refuses it). */
	path = malloc(pre + restlen + 1);
	if (path == NULL)
		goto out;
	memcpy(path, raw, pre);
	memcpy(path + pre, rest, restlen);
	path[pre + restlen] = '\0';
	free(r->raw_path);
	free(r->path);
	r->raw_path = raw;
	r->path = path;
	r->path_len = pre + restlen;
	raw = path = NULL;
	ok = 1;
out:
	if (!ok)
		s3_fail(r, FS_INTERNAL, NULL);
	free(raw);
	free(path);
}

APP_MAIN_PREPARE("s3", APP_STORE, s3_prepare,
    [ROUTE_S3_SERVICE] = h_s3,
    [ROUTE_S3_BUCKET] = h_s3,
    [ROUTE_S3_BUCKET_PUT] = h_s3,
    [ROUTE_S3_BUCKET_POST] = h_s3,
    [ROUTE_S3_BUCKET_DELETE] = h_s3,
    [ROUTE_S3_OBJECT] = h_s3,
    [ROUTE_S3_OBJECT_PUT] = h_s3,
    [ROUTE_S3_OBJECT_POST] = h_s3,
    [ROUTE_S3_OBJECT_DELETE] = h_s3)
