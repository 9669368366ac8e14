/*
 * Unit tests for s3auth: AWS's published streaming example ("Signature
 * Calculations for the Authorization Header: Transferring Payload in
 * Multiple Chunks", S3 API reference: 66560 bytes of 'a' in chunks of
 * 64 KiB, 1 KiB and 0, credentials AKIAIOSFODNN7EXAMPLE,
 * 20130524T000000Z), byte for byte; trailers with CRC32 and CRC32C of
 * known strings; and the parsers' refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3auth.h"

#define SECRET	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SEED	"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define SIG1	"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define SIG2	"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define SIG3	"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
#define AUTH	"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/" \
	"us-east-1/s3/aws4_request,SignedHeaders=content-encoding;" \
	"content-length;host;x-amz-content-sha256;x-amz-date;" \
	"x-amz-decoded-content-length;x-amz-storage-class,Signature=" SEED
/* checksums(): the pattern's CRC32 and CRC32C, base64 as S3 sends them. */
#define CRC32_BIG	"eGWUrw=="
#define CRC32C_BIG	"Yx9CFw=="
#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static const struct strpair example_headers[] = {
	{ "content-encoding", "aws-chunked" },
	{ "content-length", "66824" },
	{ "host", "s3.amazonaws.com" },
	{ "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" },
	{ "x-amz-date", "20130524T000000Z" },
	{ "x-amz-decoded-content-length", "66560" },
	{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
};

static const char *
get(void *arg, const char *name)
{
	size_t i;

	(void)arg;
	for (i = 0; i < NITEMS(example_headers); i++)
		if (strcasecmp(example_headers[i].a, name) == 0)
			return example_headers[i].b;
	return NULL;
}

static void
parse_example(struct s3auth *au)
{
	const char *msg = NULL;

	assert_int_equal(s3auth_parse_header(AUTH, "20130524T000000Z", au,
	    &msg), S3AUTH_OK);
	assert_string_equal(au->akid, "AKIAIOSFODNN7EXAMPLE");
	assert_string_equal(au->region, "us-east-1");
}

static void
seed_signature(void **state)
{
	struct s3auth au;
	char other[16];
	size_t i;

	(void)state;
	parse_example(&au);
	assert_int_equal(s3auth_verify(&au, SECRET, "PUT",
	    "/examplebucket/chunkObject.txt", "", get, NULL,
	    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), S3AUTH_OK);
	assert_int_equal(s3auth_verify(&au, "wrong", "PUT",
	    "/examplebucket/chunkObject.txt", "", get, NULL,
	    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), S3AUTH_MISMATCH);
	assert_int_equal(s3auth_verify(&au, SECRET, "PUT",
	    "/examplebucket/other.txt", "", get, NULL,
	    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), S3AUTH_MISMATCH);
	/* The day's key is cached (s3auth.c, signing_key): a hit, an
	   eviction by other secrets, and a secret that never finds the
	   key made from another. */
	for (i = 0; i < 12; i++) {
		snprintf(other, sizeof(other), "wrong%zu", i % 10);
		assert_int_equal(s3auth_verify(&au, i % 3 == 0 ? SECRET : other,
		    "PUT", "/examplebucket/chunkObject.txt", "", get, NULL,
		    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), i % 3 == 0 ?
		    S3AUTH_OK : S3AUTH_MISMATCH);
	}
	assert_int_equal(s3auth_check_time(&au, au.t + 900), S3AUTH_OK);
	assert_int_equal(s3auth_check_time(&au, au.t + 901), S3AUTH_SKEWED);
	assert_int_equal(s3auth_check_time(&au, au.t - 901), S3AUTH_SKEWED);
}

/* The example's body: 64 KiB, 1 KiB and 0 of 'a', each signed. */
static unsigned char *
example_body(size_t *len)
{
	unsigned char *b = malloc(70000);
	size_t n = 0;

	assert_non_null(b);
	n += (size_t)sprintf((char *)b, "10000;chunk-signature=" SIG1 "\r\n");
	memset(b + n, 'a', 65536);
	n += 65536;
	n += (size_t)sprintf((char *)b + n, "\r\n400;chunk-signature=" SIG2
	    "\r\n");
	memset(b + n, 'a', 1024);
	n += 1024;
	n += (size_t)sprintf((char *)b + n, "\r\n0;chunk-signature=" SIG3
	    "\r\n\r\n");
	assert_int_equal(n, 66824);	/* the example's Content-Length */
	*len = n;
	return b;
}

/* Decode in pieces of step bytes into an output of cap; -1 on failure. */
static long long
decode_all(struct s3chunk *c, const unsigned char *in, size_t len,
    size_t step, size_t cap, int *all_a)
{
	unsigned char out[4096];
	size_t pos = 0, used, n, i;
	long long got, total = 0;

	*all_a = 1;
	while (pos < len) {
		n = len - pos < step ? len - pos : step;
		got = s3chunk_decode(c, in + pos, n, &used, out, cap);
		if (got < 0)
			return -1;
		for (i = 0; i < (size_t)got; i++)
			*all_a &= out[i] == 'a';
		total += got;
		pos += used;
		if (used == 0 && got == 0)
			return -1;	/* stuck */
	}
	return s3chunk_done(c) ? total : -1;
}

static void
chunked_example(void **state)
{
	static const size_t steps[] = { 1, 7, 100, 4096, 70000 };
	struct s3auth au;
	struct s3chunk c;
	unsigned char *body;
	size_t len, i;
	int all_a;

	(void)state;
	parse_example(&au);
	body = example_body(&len);
	for (i = 0; i < NITEMS(steps); i++) {
		assert_int_equal(s3chunk_init(&c, S3CHUNK_SIGNED, &au, SECRET,
		    S3SUM_NONE), 0);
		assert_int_equal(decode_all(&c, body, len, steps[i], 4096,
		    &all_a), 66560);
		assert_true(all_a);
		s3chunk_free(&c);
	}
	/* One byte of data changed: its chunk's signature fails. */
	body[70] = 'b';
	assert_int_equal(s3chunk_init(&c, S3CHUNK_SIGNED, &au, SECRET,
	    S3SUM_NONE), 0);
	assert_int_equal(decode_all(&c, body, len, 4096, 4096, &all_a), -1);
	assert_true(s3chunk_bad_signature(&c));
	s3chunk_free(&c);
	/* The body cut before its last chunk is not done. */
	body[70] = 'a';
	assert_int_equal(s3chunk_init(&c, S3CHUNK_SIGNED, &au, SECRET,
	    S3SUM_NONE), 0);
	assert_int_equal(decode_all(&c, body, len - 90, 4096, 4096, &all_a),
	    -1);
	s3chunk_free(&c);
	free(body);
}

static long long
trailer_case(const char *body, enum s3sum_algo algo)
{
	struct s3auth au;
	struct s3chunk c;
	long long n;
	int all_a;

	memset(&au, 0, sizeof(au));
	assert_int_equal(s3chunk_init(&c, S3CHUNK_UNSIGNED_TRAILER, &au, "",
	    algo), 0);
	n = decode_all(&c, (const unsigned char *)body, strlen(body), 3, 2,
	    &all_a);
	s3chunk_free(&c);
	return n;
}

static void
trailers(void **state)
{
	(void)state;
	assert_int_equal(trailer_case("5\r\nhello\r\n0\r\n"
	    "x-amz-checksum-crc32:NhCmhg==\r\n\r\n", S3SUM_CRC32), 5);
	assert_int_equal(trailer_case("3\r\nhel\r\n2\r\nlo\r\n0\r\n"
	    "x-amz-checksum-crc32c:mnG7TA==\r\n\r\n", S3SUM_CRC32C), 5);
	/* A wrong checksum, a missing one, another algorithm's. */
	assert_int_equal(trailer_case("5\r\nhellO\r\n0\r\n"
	    "x-amz-checksum-crc32:NhCmhg==\r\n\r\n", S3SUM_CRC32), -1);
	assert_int_equal(trailer_case("5\r\nhello\r\n0\r\n\r\n",
	    S3SUM_CRC32), -1);
	assert_int_equal(trailer_case("5\r\nhello\r\n0\r\n"
	    "x-amz-checksum-crc32c:mnG7TA==\r\n\r\n", S3SUM_CRC32), -1);
	/* Framing: a size that lies, a bare LF, a signature extension. */
	assert_int_equal(trailer_case("4\r\nhello\r\n0\r\n\r\n",
	    S3SUM_NONE), -1);
	assert_int_equal(trailer_case("5\nhello\r\n0\r\n\r\n", S3SUM_NONE),
	    -1);
	assert_int_equal(trailer_case("5;chunk-signature=x\r\nhello\r\n0\r\n"
	    "\r\n", S3SUM_NONE), -1);
	assert_int_equal(trailer_case("5\r\nhello\r\n0\r\n\r\n", S3SUM_NONE),
	    5);
}

/* One s3sum of body fed in pieces of step bytes: does it match want? */
static int
sum_ok(enum s3sum_algo algo, const unsigned char *body, size_t len,
    size_t step, const char *want)
{
	struct s3sum sum;
	size_t off, n;

	assert_int_equal(s3sum_init(&sum, algo), 0);
	snprintf(sum.want, sizeof(sum.want), "%s", want);
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		s3sum_update(&sum, body + off, n);
	}
	return s3sum_final_ok(&sum);
}

/*
 * The check values of the two CRCs ("123456789": CBF43926 and
 * E3069283), and 100,003 bytes of a pattern whose digests come from
 * Python's zlib.crc32 and a bitwise CRC32C, fed whole and in odd
 * pieces (the word-at-a-time paths and their byte tails).
 */
static void
checksums(void **state)
{
	static const size_t steps[] = { 1, 7, 8, 13, 4096, 100003 };
	const unsigned char *nine = (const unsigned char *)"123456789";
	unsigned char *big;
	size_t i;

	(void)state;
	assert_true(sum_ok(S3SUM_CRC32, nine, 9, 9, "y/Q5Jg=="));
	assert_true(sum_ok(S3SUM_CRC32C, nine, 9, 9, "4waSgw=="));
	assert_false(sum_ok(S3SUM_CRC32, nine, 8, 9, "y/Q5Jg=="));
	assert_false(sum_ok(S3SUM_CRC32C, nine, 9, 9, "y/Q5Jg=="));
	big = malloc(100003);
	assert_non_null(big);
	for (i = 0; i < 100003; i++)
		big[i] = (unsigned char)(i * 131 + i / 251);
	for (i = 0; i < nitems(steps); i++) {
		assert_true(sum_ok(S3SUM_CRC32, big, 100003, steps[i],
		    CRC32_BIG));
		assert_true(sum_ok(S3SUM_CRC32C, big, 100003, steps[i],
		    CRC32C_BIG));
	}
	free(big);
}

static void
header_refusals(void **state)
{
	static const char *const bad[] = {
		"AWS4-HMAC-SHA1 Credential=a/20130524/us-east-1/s3/"
		    "aws4_request,SignedHeaders=host,Signature=" SEED,
		"AWS4-HMAC-SHA256 Credential=a/20130525/us-east-1/s3/"
		    "aws4_request,SignedHeaders=host,Signature=" SEED,
		"AWS4-HMAC-SHA256 Credential=a/20130524/us-east-1/ec2/"
		    "aws4_request,SignedHeaders=host,Signature=" SEED,
		"AWS4-HMAC-SHA256 Credential=a/20130524/us-east-1/s3/"
		    "aws4_request,SignedHeaders=x-amz-date,Signature=" SEED,
		"AWS4-HMAC-SHA256 Credential=a/20130524/us-east-1/s3/"
		    "aws4_request,SignedHeaders=host;,Signature=" SEED,
		"AWS4-HMAC-SHA256 Credential=a/20130524/us-east-1/s3/"
		    "aws4_request,SignedHeaders=host,Signature=abc",
		"AWS4-HMAC-SHA256 Credential=a/20130524/us-east-1/s3/"
		    "aws4_request/x,SignedHeaders=host,Signature=" SEED,
		"AWS4-HMAC-SHA256 SignedHeaders=host,Signature=" SEED,
	};
	struct s3auth au;
	const char *msg;
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(bad); i++) {
		msg = NULL;
		assert_int_equal(s3auth_parse_header(bad[i], "20130524T000000Z",
		    &au, &msg), S3AUTH_MALFORMED);
		assert_non_null(msg);
	}
	assert_int_equal(s3auth_parse_header(AUTH, NULL, &au, &msg),
	    S3AUTH_MALFORMED);
}

static void
presign_limits(void **state)
{
	struct http_param p[6];
	struct s3auth au;
	const char *msg;
	int n;

	(void)state;
	n = http_parse_query("X-Amz-Algorithm=AWS4-HMAC-SHA256&"
	    "X-Amz-Credential=a%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&"
	    "X-Amz-Date=20130524T000000Z&X-Amz-Expires=604801&"
	    "X-Amz-SignedHeaders=host&X-Amz-Signature=" SEED, p, 6);
	assert_int_equal(n, 6);
	assert_int_equal(s3auth_parse_query(p, 6, &au, &msg),
	    S3AUTH_MALFORMED);	/* over 7 days */
	free(p[3].value);
	p[3].value = strdup("60");
	p[3].value_len = 2;
	assert_int_equal(s3auth_parse_query(p, 6, &au, &msg), S3AUTH_OK);
	assert_int_equal(s3auth_check_time(&au, au.t + 60), S3AUTH_OK);
	assert_int_equal(s3auth_check_time(&au, au.t + 61), S3AUTH_EXPIRED);
	http_params_free(p, 6);
	assert_int_equal(s3auth_parse_query(p, 0, &au, &msg), S3AUTH_MISSING);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(seed_signature),
    cmocka_unit_test(chunked_example),
    cmocka_unit_test(trailers),
    cmocka_unit_test(checksums),
    cmocka_unit_test(header_refusals),
    cmocka_unit_test(presign_limits))
