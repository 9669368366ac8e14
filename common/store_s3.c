/*
 * store_s3: the S3-compatible storage adapter (DESIGN §8, docs/s3.md):
 * AWS, R2, B2, MinIO, Spaces, Wasabi, s3rver.
 *
 * Requests go through libcurl's multi interface with one easy handle per
 * store (one per worker), so connections are reused between requests.
 * We sign them ourselves (sigv4.c) rather than with CURLOPT_AWS_SIGV4:
 * S3 wants x-amz-content-sha256 signed, which libcurl 7.88 cannot be told
 * for a streamed body, and our signer is tested against AWS's examples.
 * Bodies are sent as UNSIGNED-PAYLOAD.
 *
 * Writers buffer at most one part (S3_PART_BYTES, 8 MiB by default). An
 * object that fits is sent with one PUT at commit; a larger one becomes a
 * multipart upload, a part sent each time the buffer fills, completed at
 * commit and aborted when the writer is freed without a commit. Publish
 * (the PUT or CompleteMultipartUpload) happens in store_commit, which the
 * caller runs under its database write lock, as the disk adapter's rename.
 *
 * Readers stream: the write callback pauses the transfer whenever the
 * caller has not taken the previous chunk, so memory stays at one chunk.
 *
 * Nothing here logs; no URL, header or credential leaves through an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cfg.h"
#include "dynbuf.h"
#include "http_parse.h"
#include "sigv4.h"
#include "store.h"
#include "store_impl.h"

#define RESP_MAX	(64 * 1024)	/* error and XML bodies we keep */
#define CHUNK		(512 * 1024)	/* libcurl receive and send buffers */
#define CONNECT_SECS	5L
#define STALL_SECS	60L		/* no byte for this long: give up */
#define MAX_PARTS	10000
#define PEND_MAX	(2 * 1024 * 1024)	/* reader: bytes held for the caller */
#define TMP_PREFIX	".tmp/"		/* temporary objects, off tenants/ */
#define TMP_RAND_LEN	16		/* random bytes in a temporary name */
#define TMP_NAME_LEN	(2 * TMP_RAND_LEN)

struct s3store {
	struct store		 base;	/* first: the interface */
	struct sigv4_creds	 creds;
	char			*bucket, *region, *access_key, *secret_key;
	char			*scheme;	/* "https" */
	char			*host;		/* Host header value */
	char			*prefix;	/* "" or "/<bucket>" (path style) */
	long long		 part_size;
	CURLM			*multi;
	CURL			*easy;
	int			 busy;		/* a reader holds the handle */
};

/* One request and what came back. */
struct s3req {
	const char		*method;
	const char		*pkey;		/* object key */
	const char		*query;		/* canonical, "" for none */
	const char		*range;		/* "bytes=..." or NULL */
	const char		*copy_src;	/* x-amz-copy-source, or NULL */
	const void		*body;
	size_t			 body_len;
	/* a body pulled from a callback, of upload_len bytes */
	curl_read_callback	 rfn;
	void			*rarg;
	long long		 upload_len;
	struct curl_slist	*hdrs;
	/* response */
	long			 status;
	CURLcode		 cc;
	struct dynbuf		 resp;		/* body, at most RESP_MAX */
	int			 resp_over;	/* it was longer: an error */
	char			 etag[130];
	long long		 clen;	/* Content-Length, or -1 */
	/* streaming reader, or NULL */
	struct s3reader		*rd;
};

struct s3writer {
	struct store_writer	 base;	/* first: the interface */
	struct s3store		*s;
	char			*pkey;		/* the temporary object's key */
	char			*dest;		/* the physical key */
	const char		*tmpname;	/* in pkey, after TMP_PREFIX */
	int			 remote;	/* pkey exists, whole */
	int			 kept;		/* a row names it */
	unsigned char		*buf;
	size_t			 blen;
	EVP_MD_CTX		*md;
	long long		 size;
	char			*upload_id;	/* multipart, else NULL */
	char			*upload_id_enc;
	char			(*etags)[130];
	int			 nparts;
	int			 failed, finished, committed;
	unsigned char		 digest[CRY_SHA256_LEN];
	/*
	 * Streamed parts (the size is known and above one part): each part
	 * is a PUT whose body libcurl pulls from what store_write hands it,
	 * so nothing is buffered and sending overlaps receiving.
	 */
	long long		 hint;		/* expected size, -1 unknown */
	struct s3req		 pq;		/* the part in flight */
	char			*pquery;
	int			 pactive, pdone, ppaused;
	long long		 pleft;		/* bytes the part still takes */
	const unsigned char	*feed;
	size_t			 feed_len;
};

struct s3reader {
	struct store_reader	 base;	/* first: the interface */
	struct s3store		*s;
	struct s3req		 rq;
	char			 range[64];
	char			*key;		/* owned */
	unsigned char		*pend;
	size_t			 pend_len, pend_off, pend_cap;
	long long		 left;	/* bytes still allowed; -1: all */
	int			 paused, done, active, empty;
};

/*
 * The second line of defence (store_impl.h): only keys we produce. S3
 * holds any segment length, so no more than that (store_local adds the
 * disk's NAME_MAX under the same name).
 */
static int
pkey_ok(const char *p)
{
	return store_pkey_ok(p);
}

/* Our vocabulary for a finished request. */
static enum fs_err
req_err(const struct s3req *q)
{
	if (q->resp_over)
		return FS_INTERNAL;	/* an answer we could not keep whole */
	if (q->cc != CURLE_OK)
		return FS_UNAVAILABLE;	/* unreachable, reset, timed out */
	if (q->status >= 200 && q->status < 300)
		return FS_OK;
	if (q->status == 404)
		return FS_NOT_FOUND;
	if (q->status == 416)
		return FS_RANGE;
	if (q->status == 500 || q->status == 502 || q->status == 503 ||
	    q->status == 504)
		return FS_UNAVAILABLE;
	return FS_INTERNAL;
}

static size_t
on_header(char *b, size_t sz, size_t n, void *arg)
{
	struct s3req *q = arg;
	size_t len = sz * n, vlen;
	char v[130];
	const char *val;

	if (len > 5 && strncmp(b, "HTTP/", 5) == 0) {
		q->etag[0] = '\0';	/* a new response (after 100) */
		return len;
	}
	val = memchr(b, ':', len);
	if (val == NULL)
		return len;
	vlen = len - (size_t)(val + 1 - b);
	val++;
	while (vlen > 0 && (*val == ' ' || *val == '\t')) {
		val++;
		vlen--;
	}
	while (vlen > 0 && (val[vlen - 1] == '\r' || val[vlen - 1] == '\n' ||
	    val[vlen - 1] == ' '))
		vlen--;
	if (vlen >= sizeof(v))
		return len;
	memcpy(v, val, vlen);
	v[vlen] = '\0';
	if (strncasecmp(b, "etag:", 5) == 0)
		memcpy(q->etag, v, vlen + 1);
	if (strncasecmp(b, "content-length:", 15) == 0)
		q->clen = strtoll(v, NULL, 10);
	return len;
}

static size_t
on_body(char *b, size_t sz, size_t n, void *arg)
{
	struct s3req *q = arg;
	struct s3reader *rd = q->rd;
	size_t len = sz * n;
	long st = 0;

	curl_easy_getinfo(rd != NULL ? rd->s->easy : NULL,
	    CURLINFO_RESPONSE_CODE, &st);
	if (rd == NULL || st < 200 || st >= 300) {
		/* Never parse a cut answer: one over RESP_MAX fails whole. */
		if (dynbuf_add(&q->resp, b, len) != FS_OK) {
			q->resp_over = 1;
			return 0;	/* aborts the transfer */
		}
		return len;
	}
	if (rd->pend_off == rd->pend_len)
		rd->pend_off = rd->pend_len = 0;
	/* No room until the caller takes some: hold the data in libcurl. */
	if (rd->pend_len > 0 && rd->pend_len + len > PEND_MAX) {
		if (rd->pend_off > 0) {
			memmove(rd->pend, rd->pend + rd->pend_off,
			    rd->pend_len - rd->pend_off);
			rd->pend_len -= rd->pend_off;
			rd->pend_off = 0;
		}
		if (rd->pend_len + len > PEND_MAX) {
			rd->paused = 1;
			return CURL_WRITEFUNC_PAUSE;
		}
	}
	if (rd->pend_len + len > rd->pend_cap) {
		size_t cap = rd->pend_len + len > PEND_MAX ?
		    rd->pend_len + len : PEND_MAX;
		unsigned char *nb = realloc(rd->pend, cap);

		if (nb == NULL)
			return 0;	/* aborts the transfer */
		rd->pend = nb;
		rd->pend_cap = cap;
	}
	memcpy(rd->pend + rd->pend_len, b, len);
	rd->pend_len += len;
	return len;
}

/* Set up s->easy for q. Returns 0 or -1. */
/* The request path of pkey: the prefix, then the encoded key. */
static char *
obj_uri(struct s3store *s, const char *pkey)
{
	char *ekey, *uri;

	ekey = sigv4_uri_encode(pkey, 1);
	if (ekey == NULL)
		return NULL;
	if (asprintf(&uri, "%s/%s", s->prefix, ekey) == -1)
		uri = NULL;
	free(ekey);
	return uri;
}

static int
req_setup(struct s3store *s, struct s3req *q)
{
	struct sigv4_header h[5];
	char date[SIGV4_DATE_LEN + 1], *uri = NULL, *url = NULL;
	char *auth = NULL, *line = NULL;
	size_t nh = 0;
	int rc = -1;

	q->status = 0;
	q->cc = CURLE_OK;
	dynbuf_free(&q->resp);
	dynbuf_init(&q->resp, RESP_MAX);
	q->resp_over = 0;
	q->etag[0] = '\0';
	q->clen = -1;
	uri = obj_uri(s, q->pkey != NULL ? q->pkey : "");
	if (uri == NULL)
		goto out;
	if (asprintf(&url, "%s://%s%s%s%s", s->scheme, s->host, uri,
	    q->query[0] != '\0' ? "?" : "", q->query) == -1) {
		url = NULL;
		goto out;
	}
	sigv4_amz_date(time(NULL), date);
	h[nh].name = "host";
	h[nh++].value = s->host;
	if (q->range != NULL) {
		h[nh].name = "range";
		h[nh++].value = q->range;
	}
	h[nh].name = "x-amz-content-sha256";
	h[nh++].value = "UNSIGNED-PAYLOAD";
	if (q->copy_src != NULL) {
		h[nh].name = "x-amz-copy-source";
		h[nh++].value = q->copy_src;
	}
	h[nh].name = "x-amz-date";
	h[nh++].value = date;
	auth = sigv4_authorization(&s->creds, q->method, uri, q->query, h, nh,
	    "UNSIGNED-PAYLOAD", date);
	if (auth == NULL)
		goto out;

	curl_easy_reset(s->easy);
	q->hdrs = NULL;
#define ADDH(...) do {							\
	if (asprintf(&line, __VA_ARGS__) == -1) {			\
		line = NULL;						\
		goto out;						\
	}								\
	q->hdrs = curl_slist_append(q->hdrs, line);			\
	free(line);							\
	line = NULL;							\
} while (0)
	ADDH("Host: %s", s->host);
	if (q->range != NULL)
		ADDH("Range: %s", q->range);
	ADDH("x-amz-content-sha256: UNSIGNED-PAYLOAD");
	if (q->copy_src != NULL)
		ADDH("x-amz-copy-source: %s", q->copy_src);
	ADDH("x-amz-date: %s", date);
	ADDH("Authorization: %s", auth);
	ADDH("Expect:");
	ADDH("Content-Type:");
	ADDH("Accept:");
#undef ADDH
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, q->hdrs);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT, CONNECT_SECS);
	curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_TIME, STALL_SECS);
	curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE, (long)CHUNK);
	curl_easy_setopt(s->easy, CURLOPT_UPLOAD_BUFFERSIZE, (long)CHUNK);
	curl_easy_setopt(s->easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, q);
	if (strcmp(q->method, "HEAD") == 0)
		curl_easy_setopt(s->easy, CURLOPT_NOBODY, 1L);
	else if (strcmp(q->method, "GET") != 0)
		curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, q->method);
	if (q->rfn != NULL) {
		curl_easy_setopt(s->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, q->rfn);
		curl_easy_setopt(s->easy, CURLOPT_READDATA, q->rarg);
		curl_easy_setopt(s->easy, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)q->upload_len);
	} else if (strcmp(q->method, "PUT") == 0 ||
	    strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)q->body_len);
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS,
		    q->body != NULL ? q->body : "");
	}
	rc = 0;
out:
	if (auth != NULL)
		cry_wipe(auth, strlen(auth));
	free(auth);
	free(uri);
	free(url);
	return rc;
}

/*
 * Run the transfer in the multi handle until it is done or, for a
 * reader, until a chunk is pending. Returns 1 when done.
 */
static int
pump(struct s3store *s, struct s3req *q)
{
	struct s3reader *rd = q->rd;
	CURLMsg *m;
	int running, left;

	for (;;) {
		if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
			q->cc = CURLE_FAILED_INIT;
			return 1;
		}
		while ((m = curl_multi_info_read(s->multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE) {
				q->cc = m->data.result;
				curl_easy_getinfo(s->easy,
				    CURLINFO_RESPONSE_CODE, &q->status);
				return 1;
			}
		if (rd != NULL && rd->pend_len > rd->pend_off)
			return 0;
		if (curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			q->cc = CURLE_FAILED_INIT;
			return 1;
		}
	}
}

static void
req_end(struct s3store *s, struct s3req *q)
{
	curl_multi_remove_handle(s->multi, s->easy);
	curl_slist_free_all(q->hdrs);
	q->hdrs = NULL;
}

/* One whole request. FS_OK or the mapped error; q keeps the response. */
static enum fs_err
req_run(struct s3store *s, struct s3req *q)
{
	if (s->busy)
		return FS_INTERNAL;	/* one request at a time */
	if (req_setup(s, q) == -1) {
		curl_slist_free_all(q->hdrs);
		q->hdrs = NULL;
		return FS_INTERNAL;
	}
	if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK) {
		curl_slist_free_all(q->hdrs);
		q->hdrs = NULL;
		return FS_INTERNAL;
	}
	pump(s, q);
	req_end(s, q);
	return req_err(q);
}

static void
req_free(struct s3req *q)
{
	dynbuf_free(&q->resp);
}

/* Text of <tag>...</tag> in xml, malloc'd, or NULL. */
static char *
xml_text(const char *xml, const char *tag)
{
	char open[64], close[64];
	const char *a, *b;

	if (xml == NULL)
		return NULL;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = strstr(xml, open);
	if (a == NULL)
		return NULL;
	a += strlen(open);
	b = strstr(a, close);
	if (b == NULL)
		return NULL;
	return strndup(a, (size_t)(b - a));
}

/* Store */

static void
s3_close(struct store *bs)
{
	struct s3store *s = (struct s3store *)bs;

	if (s->easy != NULL)
		curl_easy_cleanup(s->easy);
	if (s->multi != NULL)
		curl_multi_cleanup(s->multi);
	free(s->bucket);
	free(s->region);
	free(s->access_key);
	if (s->secret_key != NULL) {
		cry_wipe(s->secret_key, strlen(s->secret_key));
		free(s->secret_key);
	}
	free(s->scheme);
	free(s->host);
	free(s->prefix);
	free(s);
}

/*
 * A request of method on one key, without a body; *clen (may be NULL)
 * gets the answer's Content-Length, or -1.
 */
static enum fs_err
key_req(struct s3store *s, const char *method, const char *key,
    long long *clen)
{
	struct s3req q;
	enum fs_err e;

	memset(&q, 0, sizeof(q));
	q.method = method;
	q.pkey = key;
	q.query = "";
	e = req_run(s, &q);
	if (clen != NULL)
		*clen = q.clen;
	req_free(&q);
	return e;
}

/* DELETE of one key, which needs no pkey_ok; a missing one is FS_OK. */
static enum fs_err
del_key(struct s3store *s, const char *key)
{
	enum fs_err e = key_req(s, "DELETE", key, NULL);

	return e == FS_NOT_FOUND ? FS_OK : e;
}

static enum fs_err
s3_delete(struct store *bs, const char *pkey)
{
	if (!pkey_ok(pkey))
		return FS_VALIDATION;
	return del_key((struct s3store *)bs, pkey);
}

static char *
s3_local_path(struct store *bs, const char *pkey)
{
	return NULL;	/* no local file: get streams */
}

/* A listing callback: an object's key and its LastModified (epoch). */
typedef int (*list_fn)(void *arg, const char *key, long long mtime);

/* Undo XML's escapes in place (keys may hold & < > " '). */
static void
xml_unescape(char *t)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	const size_t nents = sizeof(ents) / sizeof(ents[0]);
	char *w = t;
	size_t i;

	while (*t != '\0') {
		for (i = 0; *t == '&' && i < nents; i++)
			if (strncmp(t, ents[i].ent, strlen(ents[i].ent)) == 0)
				break;
		if (*t == '&' && i < nents) {
			*w++ = ents[i].c;
			t += strlen(ents[i].ent);
		} else
			*w++ = *t++;
	}
	*w = '\0';
}

/* "2026-01-01T00:00:00.000Z" as epoch seconds, or 0. */
static long long
iso_time(const char *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return (long long)timegm(&tm);
}

/*
 * Hand fn each <Contents> of a ListObjects page; the last key goes to
 * *last (malloc'd, replacing what it held). 0, or -1.
 */
static int
list_entries(const char *xml, list_fn fn, void *arg, char **last)
{
	const char *c, *end;
	char *key, *mod, *part;
	int rc = 0;

	for (c = strstr(xml, "<Contents>"); c != NULL && rc == 0;
	    c = strstr(end, "<Contents>")) {
		end = strstr(c, "</Contents>");
		if (end == NULL)
			return -1;	/* cut short */
		part = strndup(c, (size_t)(end - c));
		if (part == NULL)
			return -1;
		key = xml_text(part, "Key");
		mod = xml_text(part, "LastModified");
		free(part);
		if (key != NULL) {
			xml_unescape(key);
			free(*last);
			*last = strdup(key);
			rc = *last == NULL ? -1 : fn(arg, key, iso_time(mod));
		}
		free(key);
		free(mod);
	}
	return rc;
}

/*
 * Call fn for every object whose key starts with prefix, a page of
 * LIST_PAGE at a time, each page after the last key of the one before.
 * A page that does not fit the RESP_MAX we keep (long keys full of
 * escapes) is asked again one key at a time. ListObjects (V1): s3rver
 * cannot make V2's continuation tokens under OpenSSL 3, and a marker
 * stays valid when fn deletes what it is given. 0 or -1.
 */
#define LIST_PAGE	40
static int
s3_list(struct s3store *s, const char *prefix, list_fn fn, void *arg)
{
	struct s3req q;
	char *query = NULL, *ep, *em = NULL, *last = NULL, *more = NULL;
	int r = -1, page = LIST_PAGE;

	ep = sigv4_uri_encode(prefix, 0);
	while (ep != NULL) {
		/* The canonical query: names in order. */
		if (asprintf(&query, "%s%s%smax-keys=%d&prefix=%s",
		    em != NULL ? "marker=" : "", em != NULL ? em : "",
		    em != NULL ? "&" : "", page, ep) == -1)
			break;
		memset(&q, 0, sizeof(q));
		q.method = "GET";
		q.pkey = "";
		q.query = query;
		r = req_run(s, &q) == FS_OK ? 0 : -1;
		if (r != 0 && q.resp_over && page > 1) {
			page = 1;	/* again, smaller */
			r = 0;
			goto next;
		}
		page = LIST_PAGE;
		if (r == 0)
			r = list_entries(dynbuf_ptr(&q.resp), fn, arg, &last);
		more = r == 0 ? xml_text(dynbuf_ptr(&q.resp), "IsTruncated") :
		    NULL;
		free(em);
		em = NULL;
		if (more != NULL && strcmp(more, "true") == 0) {
			em = last != NULL ? sigv4_uri_encode(last, 0) : NULL;
			if (em == NULL)
				r = -1;
		}
		free(more);
next:
		req_free(&q);
		free(query);
		query = NULL;
		if (r != 0 || (em == NULL && page == LIST_PAGE))
			break;
	}
	free(em);
	free(last);
	free(ep);
	return r;
}

struct tmp_sweep {
	struct s3store	*s;
	long long	 before;	/* remove what is older */
	store_keep_fn	 keep;
	void		*arg;
	long long	 n;
};


static int
tmp_sweep_one(void *arg, const char *key, long long mtime)
{
	struct tmp_sweep *t = arg;
	const char *name = key + strlen(TMP_PREFIX);

	if (strncmp(key, TMP_PREFIX, strlen(TMP_PREFIX)) != 0 ||
	    strlen(name) != TMP_NAME_LEN || mtime == 0 || mtime >= t->before)
		return 0;
	if (t->keep != NULL && t->keep(t->arg, name))
		return 0;
	if (del_key(t->s, key) == FS_OK)
		t->n++;
	return 0;
}

/*
 * Temporary objects (.tmp/) of uploads whose row never committed: older
 * than older_than_secs and named by no row. Abandoned multipart uploads
 * are the bucket's business: a lifecycle rule
 * (AbortIncompleteMultipartUpload) removes them; see docs/s3.md.
 */
static long long
s3_gc_tmp(struct store *bs, long long older_than_secs, store_keep_fn keep,
    void *arg)
{
	struct tmp_sweep t;

	t.s = (struct s3store *)bs;
	t.before = (long long)time(NULL) - older_than_secs;
	t.keep = keep;
	t.arg = arg;
	t.n = 0;
	if (s3_list(t.s, TMP_PREFIX, tmp_sweep_one, &t) == -1)
		return -1;
	return t.n;
}

struct walk {
	store_walk_fn	 fn;
	void		*arg;
};

static int
walk_one(void *arg, const char *key, long long mtime)
{
	struct walk *w = arg;

	return pkey_ok(key) ? w->fn(w->arg, key) : 0;
}

static int
s3_walk(struct store *bs, store_walk_fn fn, void *arg)
{
	struct walk w;

	w.fn = fn;
	w.arg = arg;
	return s3_list((struct s3store *)bs, "tenants/", walk_one, &w);
}

static char *
s3_presign_get(struct store *bs, const char *pkey, long long expires,
    time_t now)
{
	struct s3store *s = (struct s3store *)bs;
	char date[SIGV4_DATE_LEN + 1], *uri = NULL, *q = NULL;
	char *url = NULL;

	if (pkey == NULL || pkey[0] == '\0' || expires < 1 ||
	    expires > 7 * 86400)
		return NULL;
	sigv4_amz_date(now, date);
	uri = obj_uri(s, pkey);
	if (uri == NULL)
		goto out;
	q = sigv4_presign_query(&s->creds, "GET", s->host, uri, expires, date);
	if (q == NULL)
		goto out;
	if (asprintf(&url, "%s://%s%s?%s", s->scheme, s->host, uri, q) == -1)
		url = NULL;
out:
	free(uri);
	free(q);
	return url;
}

static int tmp_name_ok(const char *);
static enum fs_err reader_open(struct store *, const char *, long long,
    long long, struct store_reader **);

static enum fs_err
s3_drop_tmp(struct store *bs, const char *name)
{
	char key[sizeof(TMP_PREFIX) + TMP_NAME_LEN];

	if (!tmp_name_ok(name))
		return FS_VALIDATION;
	snprintf(key, sizeof(key), "%s%s", TMP_PREFIX, name);
	return del_key((struct s3store *)bs, key);
}

/*
 * Publish .tmp/<name> as pkey: a server-side copy (the bytes never come
 * back through us), then the temporary object goes. A missing source was
 * published before (it is deleted only after its copy). CopyObject takes
 * up to 5 GiB (docs/s3.md).
 */
static enum fs_err
s3_publish(struct store *bs, const char *name, const char *pkey)
{
	struct s3store *s = (struct s3store *)bs;
	struct s3req q;
	char *src = NULL, *esrc = NULL;
	enum fs_err e = FS_INTERNAL;

	if (!pkey_ok(pkey) || !tmp_name_ok(name))
		return FS_VALIDATION;
	if (asprintf(&src, "%s/%s%s", s->bucket, TMP_PREFIX, name) == -1)
		return FS_INTERNAL;
	esrc = sigv4_uri_encode(src, 1);
	if (esrc == NULL)
		goto out;
	memset(&q, 0, sizeof(q));
	q.method = "PUT";
	q.pkey = pkey;
	q.query = "";
	q.copy_src = esrc;
	e = req_run(s, &q);
	/* S3 may answer 200 and report an error in the body. */
	if (e == FS_OK && strstr(dynbuf_ptr(&q.resp), "<Error>") != NULL)
		e = FS_UNAVAILABLE;
	/* The source is gone: published already. Not a missing bucket. */
	if (e == FS_NOT_FOUND)
		e = strstr(dynbuf_ptr(&q.resp), "NoSuchKey") != NULL ?
		    FS_OK : FS_INTERNAL;
	else if (e == FS_OK)
		e = s3_drop_tmp(bs, name);
	req_free(&q);
out:
	free(src);
	free(esrc);
	return e;
}

static enum fs_err
s3_tmp_reader_open(struct store *bs, const char *name, long long off,
    long long len, struct store_reader **rdp)
{
	char key[sizeof(TMP_PREFIX) + TMP_NAME_LEN];

	*rdp = NULL;
	if (!tmp_name_ok(name))
		return FS_VALIDATION;
	snprintf(key, sizeof(key), "%s%s", TMP_PREFIX, name);
	return reader_open(bs, key, off, len, rdp);
}

static const char *
s3_pending(struct store_writer *bw)
{
	struct s3writer *w = (struct s3writer *)bw;

	return w->finished && w->remote && !w->committed ? w->tmpname : NULL;
}

static void
s3_keep(struct store_writer *bw)
{
	((struct s3writer *)bw)->kept = 1;
}

/* Writer */

/* 1 when name is one of our temporary names: TMP_NAME_LEN hex digits. */
static int
tmp_name_ok(const char *name)
{
	return name != NULL && strlen(name) == TMP_NAME_LEN &&
	    strspn(name, "0123456789abcdef") == TMP_NAME_LEN;
}

static enum fs_err
s3_writer_open(struct store *bs, const char *pkey, struct store_writer **wp)
{
	struct s3store *s = (struct s3store *)bs;
	struct s3writer *w;
	unsigned char rnd[TMP_RAND_LEN];
	char name[TMP_NAME_LEN + 1];
	int i;

	*wp = NULL;
	if (!pkey_ok(pkey))
		return FS_VALIDATION;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return FS_INTERNAL;
	for (i = 0; i < TMP_RAND_LEN; i++)
		snprintf(name + 2 * i, 3, "%02x", rnd[i]);
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return FS_INTERNAL;
	w->base.ops = s->base.ops;
	w->hint = -1;
	w->s = s;
	w->dest = strdup(pkey);
	if (asprintf(&w->pkey, "%s%s", TMP_PREFIX, name) == -1)
		w->pkey = NULL;
	w->md = EVP_MD_CTX_new();
	if (w->pkey == NULL || w->dest == NULL || w->md == NULL ||
	    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(w->md);
		free(w->pkey);
		free(w->dest);
		free(w);
		return FS_INTERNAL;
	}
	w->tmpname = w->pkey + strlen(TMP_PREFIX);
	*wp = &w->base;
	return FS_OK;
}

/* CreateMultipartUpload of key: its upload id into *id (malloc'd). */
static enum fs_err
mp_create(struct s3store *s, const char *key, char **id)
{
	struct s3req q;
	enum fs_err e;

	*id = NULL;
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.pkey = key;
	q.query = "uploads=";
	e = req_run(s, &q);
	if (e == FS_OK) {
		*id = xml_text(dynbuf_ptr(&q.resp), "UploadId");
		if (*id == NULL)
			e = FS_INTERNAL;
	}
	req_free(&q);
	return e;
}

static enum fs_err
start_multipart(struct s3writer *w)
{
	enum fs_err e;

	e = mp_create(w->s, w->pkey, &w->upload_id);
	if (e == FS_OK) {
		w->upload_id_enc = sigv4_uri_encode(w->upload_id, 0);
		if (w->upload_id_enc == NULL)
			e = FS_INTERNAL;
	}
	return e;
}

/* Room for the etag of one more part: FS_TOO_LARGE past the last. */
static enum fs_err
part_slot(struct s3writer *w)
{
	if (w->nparts >= MAX_PARTS)
		return FS_TOO_LARGE;
	if (w->etags == NULL) {
		w->etags = calloc(MAX_PARTS, sizeof(*w->etags));
		if (w->etags == NULL)
			return FS_INTERNAL;
	}
	return FS_OK;
}

/* Send the buffer as the next part. */
static enum fs_err
send_part(struct s3writer *w)
{
	struct s3req q;
	char *query = NULL;
	enum fs_err e;

	e = part_slot(w);
	if (e != FS_OK)
		return e;
	if (asprintf(&query, "partNumber=%d&uploadId=%s", w->nparts + 1,
	    w->upload_id_enc) == -1)
		return FS_INTERNAL;
	memset(&q, 0, sizeof(q));
	q.method = "PUT";
	q.pkey = w->pkey;
	q.query = query;
	q.body = w->buf;
	q.body_len = w->blen;
	e = req_run(w->s, &q);
	if (e == FS_OK) {
		if (q.etag[0] == '\0' || strpbrk(q.etag, "<>&") != NULL)
			e = FS_INTERNAL;
		else
			memcpy(w->etags[w->nparts++], q.etag, sizeof(q.etag));
	}
	w->blen = 0;
	req_free(&q);
	free(query);
	return e;
}

static size_t
on_part_read(char *dst, size_t sz, size_t n, void *arg)
{
	struct s3writer *w = arg;
	size_t k = sz * n;

	if (w->feed_len == 0) {
		w->ppaused = 1;
		return CURL_READFUNC_PAUSE;
	}
	if (k > w->feed_len)
		k = w->feed_len;
	memcpy(dst, w->feed, k);
	w->feed += k;
	w->feed_len -= k;
	return k;
}

/*
 * Drive the part in flight until libcurl has taken all of feed (or,
 * with feed empty and the part complete, until the response is in).
 */
static void
part_drive(struct s3writer *w)
{
	struct s3store *s = w->s;
	CURLMsg *m;
	int running, left;

	while (!w->pdone) {
		if (w->ppaused && w->feed_len > 0) {
			w->ppaused = 0;
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
		}
		if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
			w->pq.cc = CURLE_FAILED_INIT;
			w->pdone = 1;
			break;
		}
		while ((m = curl_multi_info_read(s->multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE) {
				w->pq.cc = m->data.result;
				curl_easy_getinfo(s->easy,
				    CURLINFO_RESPONSE_CODE, &w->pq.status);
				w->pdone = 1;
			}
		if (w->pdone || (w->feed_len == 0 && w->pleft > 0))
			break;
		if (curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			w->pq.cc = CURLE_FAILED_INIT;
			w->pdone = 1;
		}
	}
}

/* Take the part in flight out of the multi handle. */
static void
part_end(struct s3writer *w)
{
	if (!w->pactive)
		return;
	req_end(w->s, &w->pq);
	req_free(&w->pq);
	free(w->pquery);
	w->pquery = NULL;
	w->pactive = 0;
	w->s->busy = 0;
}

static enum fs_err
part_start(struct s3writer *w, long long len)
{
	enum fs_err e;

	e = part_slot(w);
	if (e != FS_OK)
		return e;
	if (asprintf(&w->pquery, "partNumber=%d&uploadId=%s", w->nparts + 1,
	    w->upload_id_enc) == -1) {
		w->pquery = NULL;
		return FS_INTERNAL;
	}
	memset(&w->pq, 0, sizeof(w->pq));
	w->pq.method = "PUT";
	w->pq.pkey = w->pkey;
	w->pq.query = w->pquery;
	w->pq.rfn = on_part_read;
	w->pq.rarg = w;
	w->pq.upload_len = len;
	if (w->s->busy || req_setup(w->s, &w->pq) == -1 ||
	    curl_multi_add_handle(w->s->multi, w->s->easy) != CURLM_OK) {
		curl_slist_free_all(w->pq.hdrs);
		w->pq.hdrs = NULL;
		free(w->pquery);
		w->pquery = NULL;
		return FS_INTERNAL;
	}
	w->s->busy = 1;
	w->pactive = 1;
	w->pdone = 0;
	w->ppaused = 0;
	w->pleft = len;
	return FS_OK;
}

/* Stream buf into parts; a part ends after exactly its length. */
static enum fs_err
stream_write(struct s3writer *w, const unsigned char *p, size_t len)
{
	enum fs_err e;
	long long part;
	size_t n;

	if (w->upload_id == NULL) {
		e = start_multipart(w);
		if (e != FS_OK)
			return e;
	}
	while (len > 0) {
		if (!w->pactive) {
			part = w->hint - (w->size - (long long)len);
			if (part <= 0)
				return FS_INTERNAL;	/* over the hint */
			if (part > w->s->part_size)
				part = w->s->part_size;
			e = part_start(w, part);
			if (e != FS_OK)
				return e;
		}
		n = len;
		if ((long long)n > w->pleft)
			n = (size_t)w->pleft;
		w->feed = p;
		w->feed_len = n;
		part_drive(w);
		if (w->feed_len != 0 || (w->pdone && req_err(&w->pq) != FS_OK))
			return req_err(&w->pq) != FS_OK ? req_err(&w->pq) :
			    FS_INTERNAL;
		w->pleft -= (long long)n;
		p += n;
		len -= n;
		if (w->pleft == 0) {
			part_drive(w);	/* to the response */
			e = req_err(&w->pq);
			if (e == FS_OK && (w->pq.etag[0] == '\0' ||
			    strpbrk(w->pq.etag, "<>&") != NULL))
				e = FS_INTERNAL;
			if (e == FS_OK)
				memcpy(w->etags[w->nparts++], w->pq.etag,
				    sizeof(w->pq.etag));
			part_end(w);
			if (e != FS_OK)
				return e;
		}
	}
	return FS_OK;
}

static void
s3_size_hint(struct store_writer *bw, long long size)
{
	struct s3writer *w = (struct s3writer *)bw;

	if (w->size == 0 && !w->finished)
		w->hint = size;
}

static enum fs_err
s3_write(struct store_writer *bw, const void *buf, size_t len)
{
	struct s3writer *w = (struct s3writer *)bw;
	const unsigned char *p = buf;
	size_t room, n;
	enum fs_err e;

	if (w->failed || w->finished || w->committed)
		return FS_INTERNAL;
	if (len == 0)
		return FS_OK;
	if (w->hint > w->s->part_size) {
		if (EVP_DigestUpdate(w->md, buf, len) != 1)
			goto fail;
		w->size += (long long)len;
		e = stream_write(w, p, len);
		if (e != FS_OK)
			w->failed = 1;
		return e;
	}
	if (w->buf == NULL) {
		w->buf = malloc((size_t)w->s->part_size);
		if (w->buf == NULL)
			goto fail;
	}
	if (EVP_DigestUpdate(w->md, buf, len) != 1)
		goto fail;
	w->size += (long long)len;
	while (len > 0) {
		room = (size_t)w->s->part_size - w->blen;
		n = len < room ? len : room;
		memcpy(w->buf + w->blen, p, n);
		w->blen += n;
		p += n;
		len -= n;
		if (w->blen < (size_t)w->s->part_size)
			break;
		/* A full part, and more may come: go multipart. */
		if (w->upload_id == NULL) {
			e = start_multipart(w);
			if (e != FS_OK) {
				w->failed = 1;
				return e;
			}
		}
		e = send_part(w);
		if (e != FS_OK) {
			w->failed = 1;
			return e;
		}
	}
	return FS_OK;
fail:
	w->failed = 1;
	return FS_INTERNAL;
}

/*
 * CompleteMultipartUpload of upload id_enc (URI-encoded) of key, from n
 * parts: part i is numbers[i] (i + 1 when numbers is NULL) with the ETag
 * etag(arg, i).
 */
static enum fs_err
mp_complete_req(struct s3store *s, const char *key, const char *id_enc,
    int n, const char *(*etag)(const void *, int), const void *arg,
    const int *numbers)
{
	struct s3req q;
	char *xml = NULL, *query = NULL;
	size_t xlen = 0;
	FILE *f;
	enum fs_err e = FS_INTERNAL;
	int i;

	f = open_memstream(&xml, &xlen);
	if (f == NULL)
		return FS_INTERNAL;
	fputs("<CompleteMultipartUpload>", f);
	for (i = 0; i < n; i++)
		fprintf(f, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>"
		    "</Part>", numbers != NULL ? numbers[i] : i + 1,
		    etag(arg, i));
	fputs("</CompleteMultipartUpload>", f);
	if (fclose(f) != 0)
		goto out;
	if (asprintf(&query, "uploadId=%s", id_enc) == -1) {
		query = NULL;
		goto out;
	}
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.pkey = key;
	q.query = query;
	q.body = xml;
	q.body_len = xlen;
	e = req_run(s, &q);
	/* S3 may answer 200 and report an error in the body. */
	if (e == FS_OK && strstr(dynbuf_ptr(&q.resp), "<Error>") != NULL)
		e = FS_UNAVAILABLE;
	req_free(&q);
out:
	free(xml);
	free(query);
	return e;
}

/*
 * AbortMultipartUpload: the parts sent so far are dropped by the bucket.
 * *status (may be NULL) gets the HTTP status.
 */
static enum fs_err
mp_abort_req(struct s3store *s, const char *key, const char *id_enc,
    long *status)
{
	struct s3req q;
	char *query = NULL;
	enum fs_err e;

	if (asprintf(&query, "uploadId=%s", id_enc) == -1)
		return FS_INTERNAL;
	memset(&q, 0, sizeof(q));
	q.method = "DELETE";
	q.pkey = key;
	q.query = query;
	e = req_run(s, &q);
	if (status != NULL)
		*status = q.status;
	req_free(&q);
	free(query);
	return e;
}

static const char *
writer_etag(const void *arg, int i)
{
	return ((const struct s3writer *)arg)->etags[i];
}

static enum fs_err
complete_multipart(struct s3writer *w)
{
	return mp_complete_req(w->s, w->pkey, w->upload_id_enc, w->nparts,
	    writer_etag, w, NULL);
}

/* Make the temporary object whole: one PUT, or complete the multipart. */
static enum fs_err
upload_tmp(struct s3writer *w)
{
	struct s3req q;
	enum fs_err e;

	if (w->upload_id != NULL)
		e = complete_multipart(w);
	else {
		memset(&q, 0, sizeof(q));
		q.method = "PUT";
		q.pkey = w->pkey;
		q.query = "";
		q.body = w->buf;
		q.body_len = w->blen;
		e = req_run(w->s, &q);
		req_free(&q);
	}
	if (e != FS_OK)
		return e == FS_NOT_FOUND ? FS_INTERNAL : e;
	w->remote = 1;
	free(w->buf);
	w->buf = NULL;
	return FS_OK;
}

static enum fs_err
s3_finish(struct store_writer *bw, unsigned char sha256[CRY_SHA256_LEN],
    long long *size)
{
	struct s3writer *w = (struct s3writer *)bw;
	enum fs_err e;

	if (w->failed || w->committed)
		return FS_INTERNAL;
	if (!w->finished) {
		/* The last part goes now, outside the caller's lock. */
		if (w->pactive || (w->hint > w->s->part_size &&
		    w->size != w->hint)) {
			w->failed = 1;	/* the body did not match its size */
			return FS_INTERNAL;
		}
		e = FS_OK;
		if (w->upload_id != NULL && w->blen > 0)
			e = send_part(w);
		if (e == FS_OK &&
		    EVP_DigestFinal_ex(w->md, w->digest, NULL) != 1)
			e = FS_INTERNAL;
		/* Whole, under its temporary key: a row may name it now. */
		if (e == FS_OK)
			e = upload_tmp(w);
		if (e != FS_OK) {
			w->failed = 1;
			return e;
		}
		w->finished = 1;
	}
	if (sha256 != NULL)
		memcpy(sha256, w->digest, CRY_SHA256_LEN);
	if (size != NULL)
		*size = w->size;
	return FS_OK;
}

static enum fs_err
s3_commit(struct store_writer *bw)
{
	struct s3writer *w = (struct s3writer *)bw;
	enum fs_err e;

	e = s3_publish(&w->s->base, w->tmpname, w->dest);
	if (e != FS_OK)
		w->failed = 1;
	else
		w->committed = 1;
	return e;
}

static void
s3_writer_free(struct store_writer *bw)
{
	struct s3writer *w = (struct s3writer *)bw;

	part_end(w);
	if (w->remote && !w->kept && !w->committed)
		(void)s3_drop_tmp(&w->s->base, w->tmpname);
	if (w->upload_id != NULL && !w->remote && w->upload_id_enc != NULL)
		(void)mp_abort_req(w->s, w->pkey, w->upload_id_enc, NULL);
	EVP_MD_CTX_free(w->md);
	free(w->buf);
	free(w->etags);
	free(w->upload_id);
	free(w->upload_id_enc);
	free(w->pkey);
	free(w->dest);
	free(w);
}

/*
 * Multipart uploads across requests (store.h). The state is
 * "<temporary name> <upload id>": the object .tmp/<name> is what
 * Complete makes, and what a row then names as pending.
 */
struct mp_ref {
	char	 key[sizeof(TMP_PREFIX) + TMP_NAME_LEN];
	char	*id_enc;	/* malloc'd */
};

static enum fs_err
mp_ref(const char *state, struct mp_ref *m)
{
	char name[TMP_NAME_LEN + 1];
	const char *id;

	m->id_enc = NULL;
	if (state == NULL || strlen(state) < TMP_NAME_LEN + 2 ||
	    state[TMP_NAME_LEN] != ' ')
		return FS_INTERNAL;
	memcpy(name, state, TMP_NAME_LEN);
	name[TMP_NAME_LEN] = '\0';
	id = state + TMP_NAME_LEN + 1;
	if (!tmp_name_ok(name) || strpbrk(id, " \r\n") != NULL)
		return FS_INTERNAL;
	snprintf(m->key, sizeof(m->key), "%s%s", TMP_PREFIX, name);
	m->id_enc = sigv4_uri_encode(id, 0);
	return m->id_enc == NULL ? FS_INTERNAL : FS_OK;
}

static enum fs_err
s3_mp_begin(struct store *bs, char **state)
{
	struct s3store *s = (struct s3store *)bs;
	unsigned char rnd[TMP_RAND_LEN];
	char key[sizeof(TMP_PREFIX) + TMP_NAME_LEN], *id = NULL;
	enum fs_err e;
	int i;

	*state = NULL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return FS_INTERNAL;
	memcpy(key, TMP_PREFIX, strlen(TMP_PREFIX));
	for (i = 0; i < TMP_RAND_LEN; i++)
		snprintf(key + strlen(TMP_PREFIX) + 2 * i, 3, "%02x", rnd[i]);
	e = mp_create(s, key, &id);
	if (e != FS_OK)
		return e;
	if (strlen(id) + TMP_NAME_LEN + 2 > STORE_MP_STATE_MAX ||
	    strpbrk(id, " \r\n") != NULL ||
	    asprintf(state, "%s %s", key + strlen(TMP_PREFIX), id) == -1) {
		*state = NULL;
		e = FS_INTERNAL;
	}
	free(id);
	return e;
}

/* A part's body, pulled by libcurl from a file: one buffer, no more. */
struct fd_body {
	int		 fd;
	long long	 off, left;
};

static size_t
on_fd_read(char *dst, size_t sz, size_t n, void *arg)
{
	struct fd_body *b = arg;
	size_t k = sz * n;
	ssize_t r;

	if ((long long)k > b->left)
		k = (size_t)b->left;
	if (k == 0)
		return 0;
	do
		r = pread(b->fd, dst, k, b->off);
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return CURL_READFUNC_ABORT;	/* shorter than it should be */
	b->off += r;
	b->left -= r;
	return (size_t)r;
}

static enum fs_err
s3_mp_part(struct store *bs, const char *state, int number, int fd,
    long long off, long long len, char *etag)
{
	struct s3store *s = (struct s3store *)bs;
	struct fd_body b = { fd, off, len };
	struct mp_ref m;
	struct s3req q;
	char *query = NULL;
	enum fs_err e;

	e = mp_ref(state, &m);
	if (e != FS_OK)
		return e;
	if (asprintf(&query, "partNumber=%d&uploadId=%s", number,
	    m.id_enc) == -1) {
		free(m.id_enc);
		return FS_INTERNAL;
	}
	memset(&q, 0, sizeof(q));
	q.method = "PUT";
	q.pkey = m.key;
	q.query = query;
	q.rfn = on_fd_read;
	q.rarg = &b;
	q.upload_len = len;
	e = req_run(s, &q);
	if (e == FS_OK && (b.left != 0 || q.etag[0] == '\0' ||
	    strlen(q.etag) > STORE_ETAG_MAX || strpbrk(q.etag, "<>&") != NULL))
		e = FS_INTERNAL;
	if (e == FS_OK)
		snprintf(etag, STORE_ETAG_MAX + 1, "%s", q.etag);
	req_free(&q);
	free(query);
	free(m.id_enc);
	return e;
}

/* The size of the object key: HEAD's Content-Length. */
static enum fs_err
obj_size(struct s3store *s, const char *key, long long *size)
{
	enum fs_err e = key_req(s, "HEAD", key, size);

	return e == FS_OK && *size < 0 ? FS_INTERNAL : e;
}

static const char *
part_etag(const void *arg, int i)
{
	return ((const struct store_part *)arg)[i].etag;
}

static enum fs_err
s3_mp_complete(struct store *bs, const char *state,
    const struct store_part *parts, int n, const char *pkey,
    const unsigned char *sha256, long long size, struct store_writer **wp)
{
	struct s3store *s = (struct s3store *)bs;
	struct s3writer *w = NULL;
	struct mp_ref m;
	long long have = -1;
	int *numbers = NULL, i;
	enum fs_err e;

	*wp = NULL;
	if (!pkey_ok(pkey))
		return FS_VALIDATION;
	e = mp_ref(state, &m);
	if (e != FS_OK)
		return e;
	e = FS_INTERNAL;
	numbers = calloc((size_t)n, sizeof(*numbers));
	w = calloc(1, sizeof(*w));
	if (numbers == NULL || w == NULL)
		goto out;
	for (i = 0; i < n; i++)
		numbers[i] = parts[i].number;
	w->base.ops = s->base.ops;
	w->s = s;
	w->hint = -1;
	w->pkey = strdup(m.key);
	w->dest = strdup(pkey);
	if (w->pkey == NULL || w->dest == NULL)
		goto out;
	w->tmpname = w->pkey + strlen(TMP_PREFIX);
	e = mp_complete_req(s, m.key, m.id_enc, n, part_etag, parts, numbers);
	/*
	 * NoSuchUpload (s3rver: 500), or an answer lost: Complete may have
	 * been done already, by a worker that died before its row or by
	 * this request (docs/uploads.md). The temporary name is this
	 * upload's alone, and only Complete makes it: whole when it has
	 * the upload's size.
	 */
	if (e != FS_OK &&
	    obj_size(s, m.key, &have) == FS_OK && have == size)
		e = FS_OK;
	if (e != FS_OK) {
		if (e == FS_NOT_FOUND)
			e = FS_INTERNAL;
		goto out;
	}
	/* Whole, under its temporary key: a row may name it now. */
	w->remote = 1;
	w->finished = 1;
	w->size = size;
	memcpy(w->digest, sha256, CRY_SHA256_LEN);
	*wp = &w->base;
	w = NULL;
out:
	if (w != NULL)
		s3_writer_free(&w->base);
	free(numbers);
	free(m.id_enc);
	return e;
}

/*
 * A backend without AbortMultipartUpload (s3rver answers 405) still
 * loses the upload: completed into its temporary object (with an empty
 * part 1 when none went), which is then deleted.
 */
static enum fs_err
mp_drop(struct s3store *s, const char *state, const struct mp_ref *m,
    const struct store_part *parts, int n)
{
	struct store_part none;
	int *numbers = NULL, i;
	enum fs_err e = FS_OK;

	if (n == 0) {
		memset(&none, 0, sizeof(none));
		none.number = 1;
		e = s3_mp_part(&s->base, state, 1, -1, 0, 0, none.etag);
		parts = &none;
		n = 1;
	}
	numbers = calloc((size_t)n, sizeof(*numbers));
	if (e != FS_OK || numbers == NULL) {
		free(numbers);
		return e != FS_OK ? e : FS_INTERNAL;
	}
	for (i = 0; i < n; i++)
		numbers[i] = parts[i].number;
	e = mp_complete_req(s, m->key, m->id_enc, n, part_etag, parts,
	    numbers);
	free(numbers);
	if (e == FS_OK)
		e = del_key(s, m->key);
	return e;
}

static enum fs_err
s3_mp_abort(struct store *bs, const char *state,
    const struct store_part *parts, int n)
{
	struct s3store *s = (struct s3store *)bs;
	struct mp_ref m;
	enum fs_err e;
	long status = 0;

	e = mp_ref(state, &m);
	if (e != FS_OK)
		return e;
	e = mp_abort_req(s, m.key, m.id_enc, &status);
	if (e == FS_INTERNAL && (status == 405 || status == 501))
		e = mp_drop(s, state, &m, parts, n);
	free(m.id_enc);
	return e == FS_NOT_FOUND ? FS_OK : e;
}

/* Reader */

static void
s3_reader_free(struct store_reader *brd)
{
	struct s3reader *rd = (struct s3reader *)brd;

	if (rd->active) {
		req_end(rd->s, &rd->rq);
		rd->s->busy = 0;
	}
	req_free(&rd->rq);
	free(rd->pend);
	free(rd->key);
	free(rd);
}

static enum fs_err
s3_reader_open(struct store *bs, const char *pkey, long long off,
    long long len, struct store_reader **rdp)
{
	*rdp = NULL;
	if (!pkey_ok(pkey))
		return FS_VALIDATION;
	return reader_open(bs, pkey, off, len, rdp);
}

/* The reader of key, checked by the caller. */
static enum fs_err
reader_open(struct store *bs, const char *key, long long off, long long len,
    struct store_reader **rdp)
{
	struct s3store *s = (struct s3store *)bs;
	struct s3reader *rd;
	enum fs_err e;

	if (off < 0 || len < -1)
		return FS_RANGE;
	if (s->busy)
		return FS_INTERNAL;
	rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return FS_INTERNAL;
	rd->base.ops = s->base.ops;
	rd->s = s;
	rd->left = len;
	if (len == 0) {
		/* Nothing to fetch; S3 has no empty range. */
		rd->empty = 1;
		*rdp = &rd->base;
		return FS_OK;
	}
	rd->rq.method = "GET";
	rd->key = strdup(key);
	if (rd->key == NULL) {
		e = FS_INTERNAL;
		goto fail;
	}
	rd->rq.pkey = rd->key;
	rd->rq.query = "";
	rd->rq.rd = rd;
	if (len > 0)
		snprintf(rd->range, sizeof(rd->range), "bytes=%lld-%lld", off,
		    off + len - 1);
	else if (off > 0)
		snprintf(rd->range, sizeof(rd->range), "bytes=%lld-", off);
	if (rd->range[0] != '\0')
		rd->rq.range = rd->range;
	if (req_setup(s, &rd->rq) == -1 ||
	    curl_multi_add_handle(s->multi, s->easy) != CURLM_OK) {
		curl_slist_free_all(rd->rq.hdrs);
		rd->rq.hdrs = NULL;
		e = FS_INTERNAL;
		goto fail;
	}
	rd->active = 1;
	s->busy = 1;
	/* Up to the first chunk or the end: the status is known then. */
	rd->done = pump(s, &rd->rq);
	if (!rd->done)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE,
		    &rd->rq.status);
	e = req_err(&rd->rq);
	if (e == FS_RANGE) {
		rd->empty = 1;	/* past the end: reads 0 bytes */
		e = FS_OK;
	}
	if (e != FS_OK)
		goto fail;
	*rdp = &rd->base;
	return FS_OK;
fail:
	s3_reader_free(&rd->base);
	return e;
}

static ssize_t
s3_read(struct store_reader *brd, void *buf, size_t len)
{
	struct s3reader *rd = (struct s3reader *)brd;
	size_t n;

	if (rd->empty || rd->left == 0 || len == 0)
		return 0;
	while (rd->pend_len <= rd->pend_off && !rd->done) {
		if (rd->paused) {
			rd->paused = 0;
			curl_easy_pause(rd->s->easy, CURLPAUSE_CONT);
			if (rd->pend_len > rd->pend_off)
				break;
		}
		rd->done = pump(rd->s, &rd->rq);
	}
	if (rd->pend_len > rd->pend_off) {
		n = rd->pend_len - rd->pend_off;
		if (n > len)
			n = len;
		if (rd->left >= 0 && (long long)n > rd->left)
			n = (size_t)rd->left;
		memcpy(buf, rd->pend + rd->pend_off, n);
		rd->pend_off += n;
		if (rd->left > 0)
			rd->left -= (long long)n;
		return (ssize_t)n;
	}
	return req_err(&rd->rq) == FS_OK ? 0 : -1;
}

static const struct store_ops s3_ops = {
	.close = s3_close,
	.writer_open = s3_writer_open,
	.write = s3_write,
	.finish = s3_finish,
	.commit = s3_commit,
	.writer_free = s3_writer_free,
	.reader_open = s3_reader_open,
	.read = s3_read,
	.reader_free = s3_reader_free,
	.del = s3_delete,
	.local_path = s3_local_path,
	.gc_tmp = s3_gc_tmp,
	.presign_get = s3_presign_get,
	.size_hint = s3_size_hint,
	.pending = s3_pending,
	.keep = s3_keep,
	.publish = s3_publish,
	.drop_tmp = s3_drop_tmp,
	.tmp_reader_open = s3_tmp_reader_open,
	.walk = s3_walk,
	.mp_begin = s3_mp_begin,
	.mp_part = s3_mp_part,
	.mp_complete = s3_mp_complete,
	.mp_abort = s3_mp_abort,
};

struct store *
store_open_s3(const struct s3_cfg *c, char *err, size_t errlen)
{
	struct s3store *s;
	const char *hp;
	size_t hl;

	if (c == NULL || c->bucket == NULL || c->endpoint == NULL ||
	    c->access_key == NULL || c->secret_key == NULL) {
		snprintf(err, errlen, "S3 is not configured");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto oom;
	s->base.ops = &s3_ops;
	s->bucket = strdup(c->bucket);
	s->region = strdup(c->region != NULL ? c->region : "us-east-1");
	s->access_key = strdup(c->access_key);
	s->secret_key = strdup(c->secret_key);
	s->part_size = c->part_size >= S3_PART_MIN ? c->part_size : 8LL << 20;
	hp = strstr(c->endpoint, "://");
	if (hp == NULL) {
		snprintf(err, errlen, "S3_ENDPOINT must be a URL");
		goto fail;
	}
	s->scheme = strndup(c->endpoint, (size_t)(hp - c->endpoint));
	hp += 3;
	hl = strcspn(hp, "/");
	if (hl == 0) {
		snprintf(err, errlen, "S3_ENDPOINT has no host");
		goto fail;
	}
	if (c->path_style) {
		s->host = strndup(hp, hl);
		if (asprintf(&s->prefix, "/%s", c->bucket) == -1)
			s->prefix = NULL;
	} else {
		if (asprintf(&s->host, "%s.%.*s", c->bucket, (int)hl, hp) == -1)
			s->host = NULL;
		s->prefix = strdup("");
	}
	if (s->bucket == NULL || s->region == NULL || s->access_key == NULL ||
	    s->secret_key == NULL || s->scheme == NULL || s->host == NULL ||
	    s->prefix == NULL)
		goto oom;
	s->creds.access_key = s->access_key;
	s->creds.secret_key = s->secret_key;
	s->creds.region = s->region;
	s->creds.service = "s3";
	s->multi = curl_multi_init();
	s->easy = curl_easy_init();
	if (s->multi == NULL || s->easy == NULL) {
		snprintf(err, errlen, "cannot initialise libcurl");
		goto fail;
	}
	return &s->base;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	if (s != NULL)
		s3_close(&s->base);
	return NULL;
}
