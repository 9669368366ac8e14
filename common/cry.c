/*
 * cry: hashing, MACs, randomness, base64url and password hashing on
 * OpenSSL libcrypto. Only the base64url codec and HMAC's two-pass
 * construction (over OpenSSL's SHA-256, for speed: see sha256_begin)
 * are written here; every digest, KDF and random byte comes from OpenSSL.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cry.h"

/*
 * scrypt parameters for new hashes (RFC 7914 §2 suggests N=2^14, r=8,
 * p=1 for interactive logins: about 16 MiB and tens of milliseconds).
 */
#define SCRYPT_N		16384ULL
#define SCRYPT_R		8ULL
#define SCRYPT_P		1ULL
#define SCRYPT_SALT_LEN		16
#define SCRYPT_HASH_LEN		32

/*
 * Bounds for a stored hash. The parameters come from the database, so a
 * tampered or corrupt row must not make one login burn gigabytes or
 * minutes. N is a power of two no larger than 2^20, r at most 32 and p at
 * most 16, and on top of that scrypt itself refuses to need more than
 * SCRYPT_MAXMEM, so the worst accepted row costs a few times the default.
 */
#define SCRYPT_N_MAX		(1ULL << 20)
#define SCRYPT_R_MAX		32ULL
#define SCRYPT_P_MAX		16ULL
#define SCRYPT_MAXMEM		(64ULL * 1024 * 1024)
#define SCRYPT_SALT_MIN		8
#define SCRYPT_SALT_MAX		64
#define SCRYPT_HASH_MIN		16
#define SCRYPT_HASH_MAX		64
/* Longer than any well-formed stored hash; bounds the parse. */
#define SCRYPT_STORED_MAX	256

int
cry_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	if (n > 0 && buf == NULL)
		return -1;
	/* RAND_bytes takes an int. */
	while (n > 0) {
		size_t chunk = n > INT_MAX ? INT_MAX : n;

		if (RAND_bytes(p, (int)chunk) != 1)
			return -1;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

/*
 * The digest and MAC functions return void, so they cannot report a
 * failure, and an output left zeroed or stale would let a forged MAC
 * compare equal. OpenSSL only fails here when it cannot allocate, so
 * stopping the process is the one safe answer. The same goes for a NULL
 * pointer with a non-zero length, which is a bug in the caller.
 */
/*
 * SHA-256, fetched once, and one digest context per thread, reused.
 * OpenSSL 3 looks EVP_sha256() up again on every init, and HMAC() goes
 * through EVP_MAC, which fetches and allocates on every call: for the
 * short messages of SigV4 (five HMACs a request) and tokens that cost
 * more than the hashing itself. The context is freed when its thread
 * ends (the key's destructor); the main thread's lives as the process.
 */
static EVP_MD		*sha256_md;
static pthread_key_t	 sha256_key;
static pthread_once_t	 sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
sha256_setup(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256_md == NULL ||
	    pthread_key_create(&sha256_key, sha256_ctx_free) != 0)
		abort();
}

/* This thread's context, initialized for SHA-256. */
static EVP_MD_CTX *
sha256_begin(void)
{
	EVP_MD_CTX *ctx;

	if (pthread_once(&sha256_once, sha256_setup) != 0)
		abort();
	ctx = pthread_getspecific(sha256_key);
	if (ctx == NULL) {
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL || pthread_setspecific(sha256_key, ctx) != 0)
			abort();
	}
	if (EVP_DigestInit_ex(ctx, sha256_md, NULL) != 1)
		abort();
	return ctx;
}

/* SHA-256 over a then b (either may be empty). */
static void
sha256_two(const void *a, size_t alen, const void *b, size_t blen,
    unsigned char out[CRY_SHA256_LEN])
{
	EVP_MD_CTX *ctx = sha256_begin();
	unsigned int olen = 0;

	if (EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    EVP_DigestUpdate(ctx, b, blen) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &olen) != 1 || olen != CRY_SHA256_LEN)
		abort();
}

void
cry_sha256(const void *msg, size_t len, unsigned char out[CRY_SHA256_LEN])
{
	if (msg == NULL && len > 0)
		abort();
	if (msg == NULL)
		msg = "";
	sha256_two(msg, len, "", 0, out);
}

/*
 * HMAC-SHA256 as RFC 2104 defines it (the unit tests hold it to RFC
 * 4231's vectors): H((K ^ opad) || H((K ^ ipad) || msg)), with a key
 * longer than the block hashed first.
 */
void
cry_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
    unsigned char out[CRY_SHA256_LEN])
{
	unsigned char k[CRY_SHA256_BLOCK], pad[CRY_SHA256_BLOCK];
	unsigned char inner[CRY_SHA256_LEN];
	size_t i;

	if ((key == NULL && klen > 0) || (msg == NULL && mlen > 0))
		abort();
	if (msg == NULL)
		msg = "";
	memset(k, 0, sizeof(k));
	if (klen > sizeof(k))
		cry_sha256(key, klen, k);
	else if (klen > 0)
		memcpy(k, key, klen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	sha256_two(pad, sizeof(pad), msg, mlen, inner);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_two(pad, sizeof(pad), inner, sizeof(inner), out);
	cry_wipe(k, sizeof(k));
	cry_wipe(pad, sizeof(pad));
	cry_wipe(inner, sizeof(inner));
}

int
cry_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
cry_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

void
cry_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

char *
cry_token(const char *prefix, size_t nbytes)
{
	unsigned char raw[CRY_TOKEN_MAX];
	char *b = NULL, *out = NULL;
	size_t n;

	if (nbytes == 0 || nbytes > sizeof(raw) ||
	    cry_random(raw, nbytes) == -1)
		goto out;
	b = cry_b64u_encode(raw, nbytes);
	if (b == NULL)
		goto out;
	n = strlen(prefix) + strlen(b) + 1;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s%s", prefix, b);
out:
	cry_wipe(raw, sizeof(raw));
	cry_wipe_str(b);
	return out;
}

void
cry_wipe_str(char *s)
{
	if (s == NULL)
		return;
	cry_wipe(s, strlen(s));
	free(s);
}

/*
 * base64url. The codec avoids table lookups and branches on the data: it
 * also runs over stored password hashes and salts, and this way its timing
 * does not depend on them. The masks below take values in 0..255 and give
 * 0xff for true and 0 for false.
 */
static unsigned
lt_mask(unsigned a, unsigned b)
{
	return ((a - b) >> 8) & 0xff;
}

static unsigned
eq_mask(unsigned a, unsigned b)
{
	return (((a ^ b) - 1) >> 8) & 0xff;
}

static unsigned
in_mask(unsigned c, unsigned lo, unsigned hi)
{
	return (lt_mask(c, lo) | lt_mask(hi, c)) ^ 0xff;
}

/* The character for a 6-bit value (RFC 4648 §5, table 2). */
static char
b64u_char(unsigned v)
{
	unsigned c;

	c = (lt_mask(v, 26) & (v + 'A')) |
	    (in_mask(v, 26, 51) & (v + ('a' - 26))) |
	    (in_mask(v, 52, 61) & (v - (52 - '0'))) |
	    (eq_mask(v, 62) & '-') |
	    (eq_mask(v, 63) & '_');
	return (char)c;
}

/* The 6-bit value of a character, or a value with bit 8 set if invalid. */
static unsigned
b64u_val(unsigned char ch)
{
	unsigned c = ch, v, ok;

	ok = in_mask(c, 'A', 'Z') | in_mask(c, 'a', 'z') |
	    in_mask(c, '0', '9') | eq_mask(c, '-') | eq_mask(c, '_');
	v = (in_mask(c, 'A', 'Z') & (c - 'A')) |
	    (in_mask(c, 'a', 'z') & (c - ('a' - 26))) |
	    (in_mask(c, '0', '9') & (c + (52 - '0'))) |
	    (eq_mask(c, '-') & 62) |
	    (eq_mask(c, '_') & 63);
	return (v & 0x3f) | ((ok ^ 0xff) << 1);
}

char *
cry_b64u_encode(const void *in, size_t len)
{
	const unsigned char *p = in;
	char *out, *o;
	size_t olen, i;
	unsigned acc;

	if (in == NULL && len > 0)
		return NULL;
	if (len / 3 > (SIZE_MAX - 4) / 4)
		return NULL;
	/* No padding: a tail of 1 or 2 bytes takes 2 or 3 characters. */
	olen = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	out = malloc(olen + 1);
	if (out == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 3 <= len; i += 3) {
		acc = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = b64u_char(acc >> 18);
		*o++ = b64u_char((acc >> 12) & 0x3f);
		*o++ = b64u_char((acc >> 6) & 0x3f);
		*o++ = b64u_char(acc & 0x3f);
	}
	if (len - i == 1) {
		acc = p[i];
		*o++ = b64u_char(acc >> 2);
		*o++ = b64u_char((acc << 4) & 0x3f);
	} else if (len - i == 2) {
		acc = (unsigned)p[i] << 8 | p[i + 1];
		*o++ = b64u_char(acc >> 10);
		*o++ = b64u_char((acc >> 4) & 0x3f);
		*o++ = b64u_char((acc << 2) & 0x3f);
	}
	*o = '\0';
	return out;
}

unsigned char *
cry_b64u_decode(const char *in, size_t len, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned char *out = NULL, *o;
	size_t olen, i, rem;
	unsigned acc, bad = 0;

	if (outlen != NULL)
		*outlen = 0;
	if (in == NULL && len > 0)
		return NULL;
	/*
	 * One character carries only 6 bits, never a whole byte. Padding,
	 * NUL and every byte outside the alphabet fail in b64u_val.
	 */
	rem = len % 4;
	if (rem == 1)
		return NULL;
	olen = len / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	out = malloc(olen + 1);
	if (out == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 4 <= len; i += 4) {
		acc = b64u_val(p[i]) << 18 | b64u_val(p[i + 1]) << 12 |
		    b64u_val(p[i + 2]) << 6 | b64u_val(p[i + 3]);
		bad |= (b64u_val(p[i]) | b64u_val(p[i + 1]) |
		    b64u_val(p[i + 2]) | b64u_val(p[i + 3])) >> 8;
		*o++ = (unsigned char)(acc >> 16);
		*o++ = (unsigned char)(acc >> 8);
		*o++ = (unsigned char)acc;
	}
	/*
	 * The unused low bits of the last character must be zero, so each
	 * byte string has exactly one encoding (RFC 4648 §3.5). A token that
	 * decodes to the same bytes from two texts would be malleable.
	 */
	if (rem == 2) {
		acc = b64u_val(p[i]) << 6 | b64u_val(p[i + 1]);
		bad |= (b64u_val(p[i]) | b64u_val(p[i + 1])) >> 8;
		bad |= acc & 0x0f;
		*o++ = (unsigned char)(acc >> 4);
	} else if (rem == 3) {
		acc = b64u_val(p[i]) << 12 | b64u_val(p[i + 1]) << 6 |
		    b64u_val(p[i + 2]);
		bad |= (b64u_val(p[i]) | b64u_val(p[i + 1]) |
		    b64u_val(p[i + 2])) >> 8;
		bad |= acc & 0x03;
		*o++ = (unsigned char)(acc >> 10);
		*o++ = (unsigned char)(acc >> 2);
	}
	*o = '\0';
	if (bad != 0) {
		cry_wipe(out, olen);
		free(out);
		return NULL;
	}
	if (outlen != NULL)
		*outlen = olen;
	return out;
}

/*
 * A decimal in s[0..len) with no sign, no leading zero and a value in
 * 1..max. 0 or -1.
 */
static int
parse_param(const char *s, size_t len, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (len == 0 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(s[i] - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* Split s at '$' into exactly n fields. 0 or -1. */
static int
split_fields(const char *s, size_t len, const char **f, size_t *flen,
    size_t n)
{
	const char *end = s + len, *d;
	size_t i;

	for (i = 0; i < n; i++) {
		d = memchr(s, '$', (size_t)(end - s));
		if (d == NULL)
			d = end;
		else if (i == n - 1)
			return -1;
		f[i] = s;
		flen[i] = (size_t)(d - s);
		if (d == end) {
			if (i != n - 1)
				return -1;
			break;
		}
		s = d + 1;
	}
	return 0;
}

static int
scrypt_derive(const char *pw, const unsigned char *salt, size_t saltlen,
    unsigned long long n, unsigned long long r, unsigned long long p,
    unsigned char *out, size_t outlen)
{
	if (EVP_PBE_scrypt(pw, strlen(pw), salt, saltlen, n, r, p,
	    SCRYPT_MAXMEM, out, outlen) != 1)
		return -1;
	return 0;
}

char *
cry_password_hash(const char *pw)
{
	unsigned char salt[SCRYPT_SALT_LEN], hash[SCRYPT_HASH_LEN];
	char *s64 = NULL, *h64 = NULL, *out = NULL;
	size_t len;
	int n;

	if (pw == NULL)
		goto out;
	if (cry_random(salt, sizeof(salt)) == -1)
		goto out;
	if (scrypt_derive(pw, salt, sizeof(salt), SCRYPT_N, SCRYPT_R,
	    SCRYPT_P, hash, sizeof(hash)) == -1)
		goto out;
	s64 = cry_b64u_encode(salt, sizeof(salt));
	h64 = cry_b64u_encode(hash, sizeof(hash));
	if (s64 == NULL || h64 == NULL)
		goto out;
	len = SCRYPT_STORED_MAX;
	out = malloc(len);
	if (out == NULL)
		goto out;
	n = snprintf(out, len, "scrypt$%llu$%llu$%llu$%s$%s", SCRYPT_N,
	    SCRYPT_R, SCRYPT_P, s64, h64);
	if (n < 0 || (size_t)n >= len) {
		free(out);
		out = NULL;
	}
out:
	cry_wipe(hash, sizeof(hash));
	if (h64 != NULL)
		cry_wipe(h64, strlen(h64));
	free(h64);
	free(s64);
	return out;
}

/* The parts of a stored hash, after parse_stored checked them. */
struct scrypt_stored {
	unsigned long long	 n, r, p;
	unsigned char		*salt;	/* malloc'd */
	size_t			 saltlen;
	unsigned char		*hash;	/* malloc'd, wiped before free */
	size_t			 hashlen;
};

static void
stored_clear(struct scrypt_stored *st)
{
	cry_wipe(st->hash, st->hashlen);
	free(st->hash);
	free(st->salt);
	memset(st, 0, sizeof(*st));
}

/* Parse "scrypt$N$r$p$<b64u salt>$<b64u hash>" strictly. 0 or -1. */
static int
parse_stored(const char *stored, struct scrypt_stored *st)
{
	const char *f[6];
	size_t flen[6], len;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	len = strnlen(stored, SCRYPT_STORED_MAX + 1);
	if (len > SCRYPT_STORED_MAX)
		goto out;
	if (split_fields(stored, len, f, flen, 6) == -1)
		goto out;
	if (flen[0] != 6 || memcmp(f[0], "scrypt", 6) != 0)
		goto out;
	if (parse_param(f[1], flen[1], SCRYPT_N_MAX, &st->n) == -1 ||
	    parse_param(f[2], flen[2], SCRYPT_R_MAX, &st->r) == -1 ||
	    parse_param(f[3], flen[3], SCRYPT_P_MAX, &st->p) == -1)
		goto out;
	/* scrypt needs N a power of two greater than 1 (RFC 7914 §2). */
	if (st->n < 2 || (st->n & (st->n - 1)) != 0)
		goto out;
	st->salt = cry_b64u_decode(f[4], flen[4], &st->saltlen);
	if (st->salt == NULL || st->saltlen < SCRYPT_SALT_MIN ||
	    st->saltlen > SCRYPT_SALT_MAX)
		goto out;
	st->hash = cry_b64u_decode(f[5], flen[5], &st->hashlen);
	if (st->hash == NULL || st->hashlen < SCRYPT_HASH_MIN ||
	    st->hashlen > SCRYPT_HASH_MAX)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		stored_clear(st);
	return rc;
}

int
cry_password_verify(const char *pw, const char *stored)
{
	static const unsigned char dummy_salt[SCRYPT_SALT_LEN];
	struct scrypt_stored st;
	unsigned char got[SCRYPT_HASH_MAX];
	int ok = 0;

	if (pw != NULL && stored != NULL && parse_stored(stored, &st) == 0) {
		if (scrypt_derive(pw, st.salt, st.saltlen, st.n, st.r, st.p,
		    got, st.hashlen) == 0)
			ok = CRYPTO_memcmp(got, st.hash, st.hashlen) == 0;
		stored_clear(&st);
	} else {
		/*
		 * Do the work of a real check anyway, so a caller that passes
		 * no stored hash for an unknown user does not reveal that
		 * through timing.
		 */
		(void)scrypt_derive(pw == NULL ? "" : pw, dummy_salt,
		    sizeof(dummy_salt), SCRYPT_N, SCRYPT_R, SCRYPT_P, got,
		    SCRYPT_HASH_LEN);
	}
	cry_wipe(got, sizeof(got));
	return ok;
}

int
cry_uuid(char out[37])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char b[16];
	size_t i, j = 0;

	if (cry_random(b, sizeof(b)) == -1)
		return -1;
	/* RFC 4122 §4.4: version 4 in the high nibble, variant 10x. */
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	for (i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = digits[b[i] >> 4];
		out[j++] = digits[b[i] & 0x0f];
	}
	out[j] = '\0';
	return 0;
}

int
cry_is_uuid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	/* Any version is accepted: only the canonical text form is checked. */
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[36] == '\0';
}
