/*
 * s3auth: checking AWS Signature Version 4 as S3 does (the server side
 * of sigv4.h, whose canonical request and key derivation it calls), and
 * decoding aws-chunked bodies. Pure: no FastCGI and no database, so unit
 * tests and fuzzers (fuzz/s3auth.c, fuzz/s3chunk.c) reach all of it.
 *
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 *
 * Every signature is compared in constant time (cry_eq on 64 hex bytes).
 */
#ifndef FS_S3AUTH_H
#define FS_S3AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cry.h"
#include "http_parse.h"
#include "sigv4.h"

#define S3AUTH_SKEW		900	/* seconds of clock skew allowed */
#define S3AUTH_PRESIGN_MAX	604800	/* X-Amz-Expires: 7 days */
#define S3AUTH_AKID_MAX		64
#define S3AUTH_SH_MAX		1024	/* bytes of SignedHeaders */
#define S3AUTH_NSH		32	/* signed headers */

/* What a request's credential says, from its header or its query. */
struct s3auth {
	char		 akid[S3AUTH_AKID_MAX + 1];
	char		 region[64];
	char		 amz_date[SIGV4_DATE_LEN + 1];
	char		 signed_headers[S3AUTH_SH_MAX + 1];
	char		 signature[2 * CRY_SHA256_LEN + 1];
	long long	 expires;	/* presigned: X-Amz-Expires; else -1 */
	time_t		 t;		/* amz_date */
};

/* Which S3 error a failed check is. */
enum s3auth_err {
	S3AUTH_OK = 0,
	S3AUTH_MISSING,		/* AccessDenied: no credential at all */
	S3AUTH_MALFORMED,	/* AuthorizationHeaderMalformed /
				   AuthorizationQueryParametersError */
	S3AUTH_SKEWED,		/* RequestTimeTooSkewed */
	S3AUTH_EXPIRED,		/* AccessDenied: "Request has expired" */
	S3AUTH_MISMATCH,	/* SignatureDoesNotMatch */
};

/*
 * Parse an Authorization header value ("AWS4-HMAC-SHA256
 * Credential=AKID/YYYYMMDD/region/s3/aws4_request, SignedHeaders=a;b,
 * Signature=hex") with the request's X-Amz-Date (amz_date, may be NULL).
 * S3AUTH_OK or S3AUTH_MALFORMED with *msg (static).
 */
enum s3auth_err	 s3auth_parse_header(const char *v, const char *amz_date,
		    struct s3auth *au, const char **msg);
/*
 * The same from a presigned query (X-Amz-Algorithm, -Credential, -Date,
 * -Expires, -SignedHeaders, -Signature), params as http_parse_query
 * gives them. S3AUTH_MISSING when there is no X-Amz-Signature.
 */
enum s3auth_err	 s3auth_parse_query(const struct http_param *params,
		    size_t n, struct s3auth *au, const char **msg);
/* S3AUTH_OK, S3AUTH_SKEWED (header) or S3AUTH_EXPIRED (presigned). */
enum s3auth_err	 s3auth_check_time(const struct s3auth *au, time_t now);

/*
 * The canonical query of params: names and values encoded, sorted,
 * without X-Amz-Signature. malloc'd, or NULL.
 */
char		*s3auth_canonical_query(const struct http_param *params,
		    size_t n);

/* A request header by its lower-case name, or NULL. */
typedef const char *(*s3auth_header_fn)(void *arg, const char *name);

/*
 * Check the signature of a request against secret: uri is the path as
 * sent (S3 signs it without normalizing), cquery from
 * s3auth_canonical_query, payload_hash the x-amz-content-sha256 value
 * (or "UNSIGNED-PAYLOAD"). S3AUTH_OK or S3AUTH_MISMATCH (or
 * S3AUTH_MALFORMED when SignedHeaders lacks host or is too long).
 */
enum s3auth_err	 s3auth_verify(const struct s3auth *au, const char *secret,
		    const char *method, const char *uri, const char *cquery,
		    s3auth_header_fn get, void *arg, const char *payload_hash);

/* --- checksums of a body: x-amz-checksum-* (header or trailer) */

enum s3sum_algo { S3SUM_NONE = 0, S3SUM_CRC32, S3SUM_CRC32C, S3SUM_SHA256 };

struct s3sum {
	enum s3sum_algo	 algo;
	uint32_t	 crc;
	void		*sha;		/* EVP_MD_CTX for S3SUM_SHA256 */
	char		 want[64];	/* base64 the client sent ("": later) */
};

/* The algorithm of a header name ("x-amz-checksum-crc32"...), or NONE. */
enum s3sum_algo	 s3sum_algo_of(const char *name);
/* 0, or -1 (out of memory). */
int		 s3sum_init(struct s3sum *s, enum s3sum_algo algo);
void		 s3sum_update(struct s3sum *s, const void *buf, size_t len);
/* 1 when the base64 digest equals want, else 0; frees what init took. */
int		 s3sum_final_ok(struct s3sum *s);
void		 s3sum_free(struct s3sum *s);

/* --- aws-chunked bodies */

#define S3CHUNK_LINE_MAX	512	/* bytes of a chunk header or trailer */

enum s3chunk_mode {
	S3CHUNK_SIGNED,		/* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
	S3CHUNK_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
};

struct s3chunk {
	enum s3chunk_mode mode;
	int		 state;
	long long	 left;		/* bytes left in this chunk's data */
	char		 line[S3CHUNK_LINE_MAX + 1];
	size_t		 linelen;
	/* S3CHUNK_SIGNED */
	unsigned char	 key[CRY_SHA256_LEN];	/* signing key of the day */
	char		 scope_sts[160];	/* date "\n" scope "\n" */
	char		 prev[2 * CRY_SHA256_LEN + 1];
	char		 want[2 * CRY_SHA256_LEN + 1];
	void		*sha;		/* EVP_MD_CTX of this chunk */
	/* S3CHUNK_UNSIGNED_TRAILER: the checksum its trailer names */
	struct s3sum	 sum;
	long long	 decoded;	/* payload bytes so far */
	int		 last;		/* the zero-size chunk was read */
	const char	*err;		/* why it failed (static), or NULL */
};

/*
 * Start decoding. SIGNED needs the request's credential au, its secret
 * and its (checked) seed signature; the trailer mode needs trailer_algo
 * (from x-amz-trailer). 0, or -1 (out of memory).
 */
int		 s3chunk_init(struct s3chunk *c, enum s3chunk_mode mode,
		    const struct s3auth *au, const char *secret,
		    enum s3sum_algo trailer_algo);
/*
 * Decode in[0..inlen) into out[0..cap): the payload bytes written, with
 * *used set to the input bytes consumed; -1 on a malformed body or a bad
 * chunk signature or checksum (c->err says which). When 0 is returned
 * with *used == inlen and s3chunk_done(), the body is complete.
 */
long long	 s3chunk_decode(struct s3chunk *c, const unsigned char *in,
		    size_t inlen, size_t *used, unsigned char *out, size_t cap);
int		 s3chunk_done(const struct s3chunk *c);
/* 1 when a failure was a signature (SignatureDoesNotMatch), else 0. */
int		 s3chunk_bad_signature(const struct s3chunk *c);
void		 s3chunk_free(struct s3chunk *c);

#endif
