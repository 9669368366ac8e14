/*
 * cry: hashing, MACs, randomness, base64url and password hashing, all on
 * OpenSSL libcrypto.
 */
#ifndef FS_CRY_H
#define FS_CRY_H

#include <stddef.h>

#define CRY_SHA256_LEN	32
#define CRY_SHA256_BLOCK 64	/* its block: HMAC's pad length */

/* Fill buf with n bytes from the CSPRNG. 0 or -1. */
int	 cry_random(void *buf, size_t n);
void	 cry_sha256(const void *msg, size_t len, unsigned char out[CRY_SHA256_LEN]);
void	 cry_hmac_sha256(const void *key, size_t klen, const void *msg,
	    size_t mlen, unsigned char out[CRY_SHA256_LEN]);
/* Constant time: 1 when the n bytes are equal, else 0 (CRYPTO_memcmp). */
int	 cry_eq(const void *a, const void *b, size_t n);
/* Lower-case hex of n bytes into out, which holds 2n+1. */
void	 cry_hex(const unsigned char *in, size_t n, char *out);

/*
 * base64url without padding (RFC 4648 §5). encode returns a malloc'd NUL
 * terminated string (caller frees) or NULL. decode is strict: it rejects
 * padding, characters outside the alphabet, a length of 1 mod 4, and
 * non-zero trailing bits; it returns a malloc'd buffer (caller frees, it
 * is also NUL terminated for convenience) and its length in *outlen, or
 * NULL.
 */
char		*cry_b64u_encode(const void *in, size_t len);
unsigned char	*cry_b64u_decode(const char *in, size_t len, size_t *outlen);

/*
 * Password hashing with scrypt (EVP_PBE_scrypt). The stored form is
 * "scrypt$N$r$p$<b64u salt>$<b64u hash>". hash returns a malloc'd string
 * or NULL. verify returns 1 on match, 0 on mismatch or a malformed stored
 * form, and takes the same time for both.
 */
char	*cry_password_hash(const char *pw);
int	 cry_password_verify(const char *pw, const char *stored);

/* A random v4 UUID, lower-case, into out[37]. 0 or -1. */
int	 cry_uuid(char out[37]);
/* 1 when s is a lower-case canonical UUID (36 chars), else 0. */
int	 cry_is_uuid(const char *s);

/* Wipe n bytes so the compiler cannot elide it. */
void	 cry_wipe(void *p, size_t n);
/*
 * A secret for a person to copy: prefix followed by the base64url of
 * nbytes (1 to CRY_TOKEN_MAX) random bytes. malloc'd (wipe it with
 * cry_wipe_str), or NULL.
 */
#define CRY_TOKEN_MAX	64
char	*cry_token(const char *prefix, size_t nbytes);
/* Wipe and free a malloc'd secret string; NULL is harmless. */
void	 cry_wipe_str(char *s);

#endif
