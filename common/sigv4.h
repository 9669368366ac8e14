/*
 * sigv4: AWS Signature Version 4, as S3 checks it: header signing for
 * our own requests, and query-string presigning for GET URLs handed to
 * clients. Pure functions: the time is an input, so the unit tests match
 * AWS's published examples byte for byte.
 *
 * The signing key and every result are credentials: never log them.
 */
#ifndef FS_SIGV4_H
#define FS_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "cry.h"

#define SIGV4_DATE_LEN	16	/* "20130524T000000Z" */

struct sigv4_creds {
	const char	*access_key;
	const char	*secret_key;
	const char	*region;	/* "us-east-1" */
	const char	*service;	/* "s3" */
	/* The day's signing key (sigv4_signing_key) when the caller has
	   it for the amz_date it signs with, else NULL: derived. */
	const unsigned char *signing_key;
};

/* One header to sign: name lower-case, value trimmed. */
struct sigv4_header {
	const char	*name;
	const char	*value;
};

/*
 * RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
 * (A-Z a-z 0-9 - . _ ~) stay, everything else becomes %XX (upper-case);
 * '/' stays when keep_slash. malloc'd, NULL on allocation failure.
 */
char	*sigv4_uri_encode(const char *s, int keep_slash);

/* "YYYYMMDDTHHMMSSZ" for t (UTC); "" outside years 1000..9999. */
void	 sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN + 1]);
/* Parse that form; -1 when malformed. */
int	 sigv4_parse_amz_date(const char *s, time_t *t);

/*
 * The key of the day amz_date (its first 8 bytes) for c: HMAC-SHA256
 * down "AWS4" secret, date, region, service, "aws4_request". A secret;
 * the caller wipes it.
 */
void	 sigv4_signing_key(const struct sigv4_creds *c, const char *amz_date,
	    unsigned char key[CRY_SHA256_LEN]);

/*
 * The signature (hex; "" on failure) of one request: its canonical
 * request (method, uri and query already canonical, h sorted, with
 * their names joined by ';' in signed_headers), then the string to sign
 * for amz_date. Signing a request and checking one (s3auth.h) both come
 * here, so the two cannot drift.
 */
void	 sigv4_signature(const struct sigv4_creds *c, const char *method,
	    const char *uri, const char *query, const struct sigv4_header *h,
	    size_t nh, const char *signed_headers, const char *payload_hash,
	    const char *amz_date, char hex[2 * CRY_SHA256_LEN + 1]);

/*
 * The Authorization header value for a request. uri: the canonical,
 * already encoded path ("/test.txt"); query: the canonical query string
 * (sorted, encoded, "" for none); h: the signed headers, sorted by name,
 * which must include host and x-amz-date (= amz_date); payload_hash: hex
 * SHA-256 of the body or "UNSIGNED-PAYLOAD". malloc'd or NULL.
 */
char	*sigv4_authorization(const struct sigv4_creds *c, const char *method,
	    const char *uri, const char *query, const struct sigv4_header *h,
	    size_t nh, const char *payload_hash, const char *amz_date);

/*
 * The query string of a presigned request (X-Amz-Algorithm ... ending
 * with &X-Amz-Signature=<hex>), signing only the host header, with an
 * UNSIGNED-PAYLOAD body. Append it to "<scheme>://<host><uri>?".
 * malloc'd or NULL.
 */
char	*sigv4_presign_query(const struct sigv4_creds *c, const char *method,
	    const char *host, const char *uri, long long expires,
	    const char *amz_date);

#endif
