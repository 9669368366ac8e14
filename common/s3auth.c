/*
 * s3auth: SigV4 checking and aws-chunked decoding (s3auth.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "s3auth.h"

#define ALGO		"AWS4-HMAC-SHA256"
#define S3AUTH_MAX_PARAMS	64	/* as HTTP_MAX_QUERY_PARAMS */
#define EMPTY_SHA	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Copy s[0..n) into dst[cap]: 0, or -1 when it does not fit. */
static int
copy_n(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/*
 * The credential "AKID/YYYYMMDD/region/s3/aws4_request" into au; its date
 * must be that of amz_date. 0 or -1.
 */
static int
parse_credential(const char *s, size_t n, struct s3auth *au)
{
	const char *f[5], *end = s + n, *p = s;
	size_t flen[5];
	int i;

	for (i = 0; i < 5; i++) {
		const char *q = memchr(p, '/', (size_t)(end - p));

		if (q == NULL)
			q = end;
		f[i] = p;
		flen[i] = (size_t)(q - p);
		if (q == end && i < 4)
			return -1;
		p = q + 1;
	}
	if (p <= end)	/* more than five fields */
		return -1;
	if (flen[0] == 0 || copy_n(au->akid, sizeof(au->akid), f[0],
	    flen[0]) == -1 || flen[1] != 8 || flen[2] == 0 ||
	    copy_n(au->region, sizeof(au->region), f[2], flen[2]) == -1 ||
	    flen[3] != 2 || memcmp(f[3], "s3", 2) != 0 || flen[4] != 12 ||
	    memcmp(f[4], "aws4_request", 12) != 0)
		return -1;
	if (strlen(au->amz_date) != SIGV4_DATE_LEN ||
	    memcmp(au->amz_date, f[1], 8) != 0)
		return -1;
	return 0;
}

/* SignedHeaders: lower-case names joined by ';', with host among them. */
static int
signed_headers_ok(const char *sh)
{
	const char *p;
	int host = 0;
	size_t n;

	if (*sh == '\0')
		return 0;
	for (p = sh; *p != '\0'; p += n + (p[n] == ';')) {
		n = strcspn(p, ";");
		if (n == 0)
			return 0;
		if (n == 4 && memcmp(p, "host", 4) == 0)
			host = 1;
	}
	for (p = sh; *p != '\0'; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p == ';' && p[1] == '\0'))
			return 0;
	return host;
}

static int
set_date(struct s3auth *au, const char *amz_date)
{
	if (amz_date == NULL || copy_n(au->amz_date, sizeof(au->amz_date),
	    amz_date, strlen(amz_date)) == -1 ||
	    sigv4_parse_amz_date(au->amz_date, &au->t) == -1)
		return -1;
	return 0;
}

enum s3auth_err
s3auth_parse_header(const char *v, const char *amz_date, struct s3auth *au,
    const char **msg)
{
	const char *p, *cred = NULL, *sh = NULL, *sig = NULL;
	size_t credlen = 0, shlen = 0, siglen = 0, n;

	memset(au, 0, sizeof(*au));
	au->expires = -1;
	*msg = "the Authorization header is malformed";
	if (strncmp(v, ALGO " ", strlen(ALGO) + 1) != 0) {
		*msg = "only AWS4-HMAC-SHA256 is supported";
		return S3AUTH_MALFORMED;
	}
	for (p = v + strlen(ALGO); *p != '\0'; p += n) {
		p += strspn(p, " ,");
		n = strcspn(p, ",");
		if (n > 11 && strncmp(p, "Credential=", 11) == 0 && cred == NULL)
			cred = p + 11, credlen = n - 11;
		else if (n > 14 && strncmp(p, "SignedHeaders=", 14) == 0 &&
		    sh == NULL)
			sh = p + 14, shlen = n - 14;
		else if (n > 10 && strncmp(p, "Signature=", 10) == 0 &&
		    sig == NULL)
			sig = p + 10, siglen = n - 10;
		else if (n > 0)
			return S3AUTH_MALFORMED;
	}
	while (credlen > 0 && cred[credlen - 1] == ' ')
		credlen--;
	while (shlen > 0 && sh[shlen - 1] == ' ')
		shlen--;
	while (siglen > 0 && sig[siglen - 1] == ' ')
		siglen--;
	if (cred == NULL || sh == NULL || sig == NULL)
		return S3AUTH_MALFORMED;
	if (set_date(au, amz_date) == -1) {
		*msg = "X-Amz-Date is missing or malformed";
		return S3AUTH_MALFORMED;
	}
	if (parse_credential(cred, credlen, au) == -1 ||
	    copy_n(au->signed_headers, sizeof(au->signed_headers), sh,
	    shlen) == -1 || !signed_headers_ok(au->signed_headers) ||
	    copy_n(au->signature, sizeof(au->signature), sig, siglen) == -1 ||
	    !is_hex64(au->signature))
		return S3AUTH_MALFORMED;
	*msg = NULL;
	return S3AUTH_OK;
}

static const char *
param(const struct http_param *params, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(params[i].name, name) == 0 &&
		    strlen(params[i].value) == params[i].value_len)
			return params[i].value;
	return NULL;
}

enum s3auth_err
s3auth_parse_query(const struct http_param *params, size_t n,
    struct s3auth *au, const char **msg)
{
	const char *algo, *cred, *sh, *sig, *exp;

	memset(au, 0, sizeof(*au));
	au->expires = -1;
	*msg = "the presigned query is malformed";
	sig = param(params, n, "X-Amz-Signature");
	if (sig == NULL)
		return S3AUTH_MISSING;
	algo = param(params, n, "X-Amz-Algorithm");
	cred = param(params, n, "X-Amz-Credential");
	sh = param(params, n, "X-Amz-SignedHeaders");
	exp = param(params, n, "X-Amz-Expires");
	if (algo == NULL || strcmp(algo, ALGO) != 0 || cred == NULL ||
	    sh == NULL || exp == NULL)
		return S3AUTH_MALFORMED;
	if (http_parse_ll(exp, 1, S3AUTH_PRESIGN_MAX, &au->expires) == -1) {
		*msg = "X-Amz-Expires must be from 1 to 604800 seconds";
		return S3AUTH_MALFORMED;
	}
	if (set_date(au, param(params, n, "X-Amz-Date")) == -1 ||
	    parse_credential(cred, strlen(cred), au) == -1 ||
	    copy_n(au->signed_headers, sizeof(au->signed_headers), sh,
	    strlen(sh)) == -1 || !signed_headers_ok(au->signed_headers) ||
	    copy_n(au->signature, sizeof(au->signature), sig,
	    strlen(sig)) == -1 || !is_hex64(au->signature))
		return S3AUTH_MALFORMED;
	*msg = NULL;
	return S3AUTH_OK;
}

enum s3auth_err
s3auth_check_time(const struct s3auth *au, time_t now)
{
	if (au->expires >= 0) {
		/* A presigned URL is good from its date (less the skew)
		   until its expiry. */
		if (now + S3AUTH_SKEW < au->t || now > au->t + au->expires)
			return S3AUTH_EXPIRED;
		return S3AUTH_OK;
	}
	if (now - au->t > S3AUTH_SKEW || au->t - now > S3AUTH_SKEW)
		return S3AUTH_SKEWED;
	return S3AUTH_OK;
}

struct qpair {
	char	*k;
	char	*v;
};

static int
qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c != 0 ? c : strcmp(x->v, y->v);
}

char *
s3auth_canonical_query(const struct http_param *params, size_t n)
{
	struct qpair q[S3AUTH_MAX_PARAMS];
	char *out = NULL;
	size_t i, m = 0, len = 0;
	FILE *f;

	if (n > S3AUTH_MAX_PARAMS)
		return NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(params[i].name, "X-Amz-Signature") == 0)
			continue;
		q[m].k = sigv4_uri_encode(params[i].name, 0);
		q[m].v = sigv4_uri_encode(params[i].value, 0);
		m++;
		if (q[m - 1].k == NULL || q[m - 1].v == NULL)
			goto out;
	}
	qsort(q, m, sizeof(q[0]), qpair_cmp);
	f = open_memstream(&out, &len);
	if (f == NULL)
		goto out;
	for (i = 0; i < m; i++)
		fprintf(f, "%s%s=%s", i > 0 ? "&" : "", q[i].k, q[i].v);
	if (fclose(f) != 0) {
		free(out);
		out = NULL;
	}
out:
	for (i = 0; i < m; i++) {
		free(q[i].k);
		free(q[i].v);
	}
	return out;
}

/*
 * A header value as SigV4 canonicalizes it: leading and trailing spaces
 * removed, inner runs of spaces made one. malloc'd or NULL.
 */
static char *
trim_value(const char *v)
{
	char *out;
	size_t i, j = 0;
	int sp = 0;

	out = malloc(strlen(v) + 1);
	if (out == NULL)
		return NULL;
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] == ' ' || v[i] == '\t') {
			sp = j > 0;
			continue;
		}
		if (sp)
			out[j++] = ' ';
		sp = 0;
		out[j++] = v[i];
	}
	out[j] = '\0';
	return out;
}

/*
 * The day's signing keys of the last few access keys: deriving one is
 * four HMACs, as much as the rest of a GetObject's check, and a client
 * signs every request of a day with the same one. An entry is found by
 * the access key id, the day, the region and the SHA-256 of the secret,
 * so a secret other than the one it was made from never finds it. The
 * keys are as secret as the secrets: they live in the worker's memory
 * only, like the secret each request opens. Not thread-safe: the s3
 * program serves one request at a time.
 */
#define KEY_CACHE	8

static struct key_entry {
	char		 akid[S3AUTH_AKID_MAX + 1];
	char		 day[9];
	char		 region[64];
	unsigned char	 secret_sha[CRY_SHA256_LEN];
	unsigned char	 key[CRY_SHA256_LEN];
	unsigned long	 used;		/* 0: empty */
} key_cache[KEY_CACHE];
static unsigned long key_tick;

static void
signing_key(const struct s3auth *au, const char *secret,
    unsigned char key[CRY_SHA256_LEN])
{
	struct sigv4_creds c = { au->akid, secret, au->region, "s3", NULL };
	struct key_entry *e, *victim = &key_cache[0];
	unsigned char sha[CRY_SHA256_LEN];
	size_t i;

	cry_sha256(secret, strlen(secret), sha);
	for (i = 0; i < KEY_CACHE; i++) {
		e = &key_cache[i];
		if (e->used != 0 && strcmp(e->akid, au->akid) == 0 &&
		    strncmp(e->day, au->amz_date, 8) == 0 &&
		    strcmp(e->region, au->region) == 0 &&
		    cry_eq(e->secret_sha, sha, sizeof(sha))) {
			e->used = ++key_tick;
			memcpy(key, e->key, CRY_SHA256_LEN);
			goto out;
		}
		if (e->used < victim->used)
			victim = e;
	}
	sigv4_signing_key(&c, au->amz_date, key);
	cry_wipe(victim, sizeof(*victim));
	snprintf(victim->akid, sizeof(victim->akid), "%s", au->akid);
	memcpy(victim->day, au->amz_date, 8);
	snprintf(victim->region, sizeof(victim->region), "%s", au->region);
	memcpy(victim->secret_sha, sha, sizeof(sha));
	memcpy(victim->key, key, CRY_SHA256_LEN);
	victim->used = ++key_tick;
out:
	cry_wipe(sha, sizeof(sha));
}

enum s3auth_err
s3auth_verify(const struct s3auth *au, const char *secret,
    const char *method, const char *uri, const char *cquery,
    s3auth_header_fn get, void *arg, const char *payload_hash)
{
	unsigned char key[CRY_SHA256_LEN];
	struct sigv4_creds c = { au->akid, secret, au->region, "s3", key };
	struct sigv4_header h[S3AUTH_NSH];
	char names[S3AUTH_SH_MAX + 1], hex[2 * CRY_SHA256_LEN + 1];
	enum s3auth_err e = S3AUTH_MALFORMED;
	const char *v;
	size_t nh = 0, i, n;
	char *p, *next;

	/* Names were checked by signed_headers_ok: none is empty. */
	memcpy(names, au->signed_headers, sizeof(names));
	for (p = names; p != NULL; p = next) {
		if (nh == S3AUTH_NSH)
			goto out;
		n = strcspn(p, ";");
		next = p[n] == ';' ? p + n + 1 : NULL;
		p[n] = '\0';
		v = get(arg, p);
		h[nh].name = p;
		h[nh].value = trim_value(v != NULL ? v : "");
		nh++;
		if (h[nh - 1].value == NULL)
			goto out;
	}
	signing_key(au, secret, key);
	sigv4_signature(&c, method, uri, cquery, h, nh, au->signed_headers,
	    payload_hash, au->amz_date, hex);
	e = strlen(hex) == 64 && cry_eq(hex, au->signature, 64) ?
	    S3AUTH_OK : S3AUTH_MISMATCH;
out:
	for (i = 0; i < nh; i++)
		free((char *)h[i].value);
	cry_wipe(hex, sizeof(hex));
	cry_wipe(key, sizeof(key));
	return e;
}

/* --- checksums */

/*
 * CRC32 is zlib's (several GB/s: it folds words, not bytes). CRC32C,
 * which zlib lacks, is slicing-by-8 over tables built once: eight bytes
 * a step, about 1.4 GB/s here against 0.3 for a byte at a time, which
 * was a third of an UploadPart's CPU (docs/s3api.md, "Performance").
 */
static uint32_t crc32c_tab[8][256];

static void
crc_tables(void)
{
	uint32_t c;
	int t, i, k;

	if (crc32c_tab[0][1] != 0)
		return;
	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc32c_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (t = 1; t < 8; t++)
			crc32c_tab[t][i] = (crc32c_tab[t - 1][i] >> 8) ^
			    crc32c_tab[0][crc32c_tab[t - 1][i] & 0xff];
}

/* c: the running (inverted) CRC32C register; the same register after p. */
static uint32_t
crc32c_update(uint32_t c, const unsigned char *p, size_t len)
{
	const uint32_t (*t)[256] = crc32c_tab;
	uint32_t lo, hi;

	for (; len >= 8; p += 8, len -= 8) {
		lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^
		    t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
		    t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
		    t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
	}
	for (; len > 0; p++, len--)
		c = t[0][(c ^ *p) & 0xff] ^ (c >> 8);
	return c;
}

enum s3sum_algo
s3sum_algo_of(const char *name)
{
	if (strcasecmp(name, "x-amz-checksum-crc32") == 0)
		return S3SUM_CRC32;
	if (strcasecmp(name, "x-amz-checksum-crc32c") == 0)
		return S3SUM_CRC32C;
	if (strcasecmp(name, "x-amz-checksum-sha256") == 0)
		return S3SUM_SHA256;
	return S3SUM_NONE;
}

int
s3sum_init(struct s3sum *s, enum s3sum_algo algo)
{
	memset(s, 0, sizeof(*s));
	s->algo = algo;
	s->crc = 0xFFFFFFFFu;
	/* Here, in the request's thread: updates may run in the relay's. */
	crc_tables();
	if (algo != S3SUM_SHA256)
		return 0;
	s->sha = EVP_MD_CTX_new();
	if (s->sha == NULL || EVP_DigestInit_ex(s->sha, EVP_sha256(),
	    NULL) != 1)
		return -1;
	return 0;
}

void
s3sum_update(struct s3sum *s, const void *buf, size_t len)
{
	switch (s->algo) {
	case S3SUM_SHA256:
		EVP_DigestUpdate(s->sha, buf, len);
		break;
	case S3SUM_CRC32:
		/* zlib's CRC is the final value: s->crc is the register. */
		s->crc = (uint32_t)crc32_z(s->crc ^ 0xFFFFFFFFu, buf, len) ^
		    0xFFFFFFFFu;
		break;
	case S3SUM_CRC32C:
		s->crc = crc32c_update(s->crc, buf, len);
		break;
	case S3SUM_NONE:
		break;
	}
}

int
s3sum_final_ok(struct s3sum *s)
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[64];
	unsigned int mdlen = 0;
	uint32_t c;
	int ok = 0;

	if (s->algo == S3SUM_NONE)
		return 1;
	if (s->algo == S3SUM_SHA256) {
		if (EVP_DigestFinal_ex(s->sha, md, &mdlen) != 1)
			goto out;
	} else {
		c = s->crc ^ 0xFFFFFFFFu;
		md[0] = (unsigned char)(c >> 24);
		md[1] = (unsigned char)(c >> 16);
		md[2] = (unsigned char)(c >> 8);
		md[3] = (unsigned char)c;
		mdlen = 4;
	}
	EVP_EncodeBlock(b64, md, (int)mdlen);
	ok = strlen(s->want) == strlen((char *)b64) &&
	    cry_eq(s->want, b64, strlen(s->want));
out:
	s3sum_free(s);
	return ok;
}

void
s3sum_free(struct s3sum *s)
{
	EVP_MD_CTX_free(s->sha);
	s->sha = NULL;
}

/* --- aws-chunked */

enum {
	CH_HEAD,	/* reading "<hex>[;chunk-signature=<sig>]" CRLF */
	CH_DATA,	/* left bytes of data */
	CH_DATA_CRLF,	/* the CRLF after data */
	CH_TRAILER,	/* trailer lines until an empty one */
	CH_DONE,
	CH_FAILED,
};

int
s3chunk_init(struct s3chunk *c, enum s3chunk_mode mode,
    const struct s3auth *au, const char *secret, enum s3sum_algo trailer_algo)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->state = CH_HEAD;
	if (mode == S3CHUNK_UNSIGNED_TRAILER)
		return s3sum_init(&c->sum, trailer_algo);
	signing_key(au, secret, c->key);
	snprintf(c->scope_sts, sizeof(c->scope_sts),
	    "%s\n%.8s/%s/s3/aws4_request\n", au->amz_date, au->amz_date,
	    au->region);
	memcpy(c->prev, au->signature, sizeof(c->prev));
	c->sha = EVP_MD_CTX_new();
	if (c->sha == NULL || EVP_DigestInit_ex(c->sha, EVP_sha256(),
	    NULL) != 1)
		return -1;
	return 0;
}

static long long
fail(struct s3chunk *c, const char *why)
{
	c->state = CH_FAILED;
	c->err = why;
	return -1;
}

/* The signature of the chunk just read; it becomes the previous one. */
static int
chunk_sig_ok(struct s3chunk *c)
{
	unsigned char md[CRY_SHA256_LEN], mac[CRY_SHA256_LEN];
	char hex[2 * CRY_SHA256_LEN + 1], sts[512];
	unsigned int mdlen = 0;
	int ok;

	if (EVP_DigestFinal_ex(c->sha, md, &mdlen) != 1 ||
	    EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1)
		return 0;
	cry_hex(md, sizeof(md), hex);
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256-PAYLOAD\n%s%s\n"
	    EMPTY_SHA "\n%s", c->scope_sts, c->prev, hex);
	cry_hmac_sha256(c->key, sizeof(c->key), sts, strlen(sts), mac);
	cry_hex(mac, sizeof(mac), hex);
	ok = cry_eq(hex, c->want, 64);
	memcpy(c->prev, c->want, sizeof(c->prev));
	return ok;
}

/* A chunk header line (without CRLF). 0, or -1 after fail(). */
static int
chunk_head(struct s3chunk *c)
{
	char *ext, *end;
	long long n;

	ext = strchr(c->line, ';');
	if (ext != NULL)
		*ext++ = '\0';
	if (c->line[0] == '\0' || strlen(c->line) > 15 ||
	    strspn(c->line, "0123456789abcdefABCDEF") != strlen(c->line))
		return (int)fail(c, "malformed chunk size");
	n = strtoll(c->line, &end, 16);
	if (c->mode == S3CHUNK_SIGNED) {
		if (ext == NULL || strncmp(ext, "chunk-signature=", 16) != 0 ||
		    copy_n(c->want, sizeof(c->want), ext + 16,
		    strlen(ext + 16)) == -1 || !is_hex64(c->want))
			return (int)fail(c, "malformed chunk signature");
	} else if (ext != NULL)
		return (int)fail(c, "unexpected chunk extension");
	c->left = n;
	if (n > 0) {
		c->state = CH_DATA;
		return 0;
	}
	/* The last chunk: signed, its (empty) data is signed too. */
	if (c->mode == S3CHUNK_SIGNED && !chunk_sig_ok(c))
		return (int)fail(c, "chunk signature does not match");
	c->last = 1;
	c->state = c->mode == S3CHUNK_SIGNED ? CH_DATA_CRLF : CH_TRAILER;
	return 0;
}

/* A trailer line: "x-amz-checksum-<algo>:<base64>", or "" at the end. */
static int
chunk_trailer(struct s3chunk *c)
{
	char *colon;

	if (c->line[0] == '\0') {
		if (c->sum.algo != S3SUM_NONE && c->sum.want[0] == '\0')
			return (int)fail(c, "the trailer checksum is missing");
		if (!s3sum_final_ok(&c->sum))
			return (int)fail(c, "the trailer checksum does not "
			    "match the body");
		c->state = CH_DONE;
		return 0;
	}
	colon = strchr(c->line, ':');
	if (colon == NULL)
		return (int)fail(c, "malformed trailer");
	*colon++ = '\0';
	colon += strspn(colon, " ");
	if (s3sum_algo_of(c->line) != c->sum.algo || c->sum.algo ==
	    S3SUM_NONE || copy_n(c->sum.want, sizeof(c->sum.want), colon,
	    strlen(colon)) == -1)
		return (int)fail(c, "unexpected trailer");
	return 0;
}

/* Collect a CRLF-terminated line; 1 when one is whole (without CRLF). */
static int
take_line(struct s3chunk *c, const unsigned char *in, size_t inlen,
    size_t *i)
{
	while (*i < inlen) {
		unsigned char ch = in[(*i)++];

		if (ch == '\n') {
			if (c->linelen == 0 || c->line[c->linelen - 1] != '\r')
				return -1;
			c->line[--c->linelen] = '\0';
			c->linelen = 0;
			return 1;
		}
		if (c->linelen == S3CHUNK_LINE_MAX || ch == '\0')
			return -1;
		c->line[c->linelen++] = (char)ch;
	}
	return 0;
}

static size_t
chunk_data(struct s3chunk *c, const unsigned char *in, size_t n,
    unsigned char *out)
{
	memcpy(out, in, n);
	if (c->mode == S3CHUNK_SIGNED)
		EVP_DigestUpdate(c->sha, in, n);
	else
		s3sum_update(&c->sum, in, n);
	c->left -= (long long)n;
	c->decoded += (long long)n;
	if (c->left == 0)
		c->state = CH_DATA_CRLF;
	return n;
}

long long
s3chunk_decode(struct s3chunk *c, const unsigned char *in, size_t inlen,
    size_t *used, unsigned char *out, size_t cap)
{
	size_t i = 0, o = 0, n;
	int rc;

	*used = 0;
	while (i < inlen && c->state != CH_DONE) {
		if (c->state == CH_FAILED)
			return -1;
		if (c->state == CH_DATA) {
			n = inlen - i < cap - o ? inlen - i : cap - o;
			if ((long long)n > c->left)
				n = (size_t)c->left;
			if (n == 0)
				break;	/* out is full */
			o += chunk_data(c, in + i, n, out + o);
			i += n;
			continue;
		}
		rc = take_line(c, in, inlen, &i);
		if (rc == -1)
			return fail(c, "malformed chunk framing");
		if (rc == 0)
			break;
		if (c->state == CH_HEAD)
			rc = chunk_head(c);
		else if (c->state == CH_TRAILER)
			rc = chunk_trailer(c);
		else if (c->line[0] != '\0')	/* CH_DATA_CRLF */
			rc = (int)fail(c, "chunk data longer than its size");
		else if (c->last)
			c->state = CH_DONE;
		else if (c->mode == S3CHUNK_SIGNED && !chunk_sig_ok(c))
			rc = (int)fail(c, "chunk signature does not match");
		else
			c->state = CH_HEAD;
		if (rc == -1)
			return -1;
	}
	*used = i;
	return c->state == CH_FAILED ? -1 : (long long)o;
}

int
s3chunk_done(const struct s3chunk *c)
{
	return c->state == CH_DONE;
}

int
s3chunk_bad_signature(const struct s3chunk *c)
{
	return c->err != NULL && strstr(c->err, "signature does not") != NULL;
}

void
s3chunk_free(struct s3chunk *c)
{
	EVP_MD_CTX_free(c->sha);
	c->sha = NULL;
	s3sum_free(&c->sum);
	cry_wipe(c->key, sizeof(c->key));
}
