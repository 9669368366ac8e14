/*
 * tok: HMAC-SHA256 signed tokens (DESIGN §6 and §9).
 *
 *   token = B64U(payload) "." B64U(HMAC-SHA256(K, B64U(payload)))
 *
 * The payload is compact JSON made here from typed fields: request fields
 * never become claims.
 */
#ifndef FS_TOK_H
#define FS_TOK_H

#include <stddef.h>
#include <time.h>

#include "cry.h"

enum tok_result {
	TOK_OK = 0,
	TOK_MALFORMED,		/* not two base64url parts, bad JSON, bad claim types */
	TOK_BAD_SIGNATURE,
	TOK_EXPIRED,
	TOK_ERROR		/* out of memory */
};

/* Storage URL key: K = HMAC-SHA256(AUTH_SECRET, "filestor storage-url v1"). */
void	 tok_storage_key(const unsigned char *secret, size_t len,
	    unsigned char k[CRY_SHA256_LEN]);

/* Sign the JSON text payload with key. Returns malloc'd token or NULL. */
char	*tok_sign(const unsigned char *key, size_t klen, const char *payload);

/*
 * Verify the MAC of token in constant time and return the decoded payload
 * (malloc'd, caller frees) in *payload. Does not look at claims.
 */
enum tok_result tok_verify(const unsigned char *key, size_t klen,
	    const char *token, char **payload);

/*
 * The claims both token kinds carry: two strings and an expiry,
 * {"<n1>":v1,"<n2>":v2,"exp":exp} (storage: k, t; agent download: p, a).
 *
 * tok_sign_claims() builds them from typed arguments, in that order, and
 * signs them with key: a malloc'd token, or NULL (v1 or v2 NULL, exp not
 * in 0..max, out of memory).
 *
 * tok_parse_claims() reads them back from a verified payload, refusing
 * trailing bytes: both strings present (matched case-sensitively; other
 * members are ignored), exp a whole number in 0..max. Returns the parsed
 * object, which *v1 and *v2 point into (caller cJSON_Delete()s it), or
 * NULL when the claims are malformed.
 */
char	*tok_sign_claims(const unsigned char *key, size_t klen,
	    const char *n1, const char *v1, const char *n2, const char *v2,
	    long long exp, long long max);
struct cJSON	*tok_parse_claims(const char *payload, const char *n1,
	    const char **v1, const char *n2, const char **v2, long long max,
	    long long *exp);

/* Storage token: payload {"k":pkey,"t":tid,"exp":exp}. */
char	*tok_storage_sign(const unsigned char k[CRY_SHA256_LEN],
	    const char *pkey, const char *tid, long long exp);
/*
 * Verify a storage token: MAC, then claim types, then exp against now.
 * On TOK_OK, *pkey and *tid are malloc'd (caller frees).
 */
enum tok_result tok_storage_verify(const unsigned char k[CRY_SHA256_LEN],
	    const char *token, time_t now, char **pkey, char **tid);

#endif
