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
