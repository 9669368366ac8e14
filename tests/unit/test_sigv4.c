/*
 * Unit tests for sigv4: AWS's own published S3 examples, byte for byte
 * (s3rver, used by the integration tests, does not check signatures).
 * Examples: "Authenticating Requests: Using Query Parameters" and
 * "Authenticating Requests: Using the Authorization Header" in the S3 API
 * reference; credentials AKIAIOSFODNN7EXAMPLE, 20130524T000000Z.
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
#include <time.h>

#include "sigv4.h"

static const struct sigv4_creds ex = {
	"AKIAIOSFODNN7EXAMPLE",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"us-east-1",
	"s3",
	NULL,
};

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The presigned-URL example: GET test.txt, valid 86400 s. */
static void
presign_aws_example(void **state)
{
	char *q, *url = NULL;

	(void)state;
	q = sigv4_presign_query(&ex, "GET", "examplebucket.s3.amazonaws.com",
	    "/test.txt", 86400, "20130524T000000Z");
	assert_non_null(q);
	assert_true(asprintf(&url, "https://examplebucket.s3.amazonaws.com"
	    "/test.txt?%s", q) > 0);
	assert_string_equal(url,
	    "https://examplebucket.s3.amazonaws.com/test.txt"
	    "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
	    "&X-Amz-SignedHeaders=host"
	    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
	free(q);
	free(url);
}

/* Header-based "GET Object" example: the first 10 bytes of test.txt. */
static void
header_get_object(void **state)
{
	const struct sigv4_header h[] = {
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "range", "bytes=0-9" },
		{ "x-amz-content-sha256", EMPTY_SHA },
		{ "x-amz-date", "20130524T000000Z" },
	};
	char *a;

	(void)state;
	a = sigv4_authorization(&ex, "GET", "/test.txt", "", h, 4, EMPTY_SHA,
	    "20130524T000000Z");
	assert_non_null(a);
	assert_string_equal(a, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE"
	    "/20130524/us-east-1/s3/aws4_request,"
	    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
	    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	free(a);
}

/* A bucket GET with query (AWS's examples), signed over the three usual
   headers: its Authorization carries the signature sig. */
static void
bucket_get_signed(const char *query, const char *sig)
{
	static const struct sigv4_header h[] = {
		{ "host", "examplebucket.s3.amazonaws.com" },
		{ "x-amz-content-sha256", EMPTY_SHA },
		{ "x-amz-date", "20130524T000000Z" },
	};
	char *a;

	a = sigv4_authorization(&ex, "GET", "/", query, h, 3, EMPTY_SHA,
	    "20130524T000000Z");
	assert_non_null(a);
	assert_non_null(strstr(a, sig));
	free(a);
}

/* "GET Bucket Lifecycle": a query parameter with an empty value. */
static void
header_get_lifecycle(void **state)
{
	(void)state;
	bucket_get_signed("lifecycle=", "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

/* "Get Bucket (List Objects)": two query parameters. */
static void
header_list_objects(void **state)
{
	(void)state;
	bucket_get_signed("max-keys=2&prefix=J", "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

/* A different time or secret must change the signature. */
static void
signature_depends_on_inputs(void **state)
{
	struct sigv4_creds other = ex;
	char *a, *b, *c;

	(void)state;
	other.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ";
	a = sigv4_presign_query(&ex, "GET", "h", "/k", 60, "20130524T000000Z");
	b = sigv4_presign_query(&ex, "GET", "h", "/k", 60, "20130524T000001Z");
	c = sigv4_presign_query(&other, "GET", "h", "/k", 60,
	    "20130524T000000Z");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_string_not_equal(strstr(a, "Signature="),
	    strstr(b, "Signature="));
	assert_string_not_equal(strstr(a, "Signature="),
	    strstr(c, "Signature="));
	assert_null(sigv4_presign_query(&ex, "GET", "h", "/k", 60, "2013"));
	free(a);
	free(b);
	free(c);
}

static void
uri_encode(void **state)
{
	char *e;

	(void)state;
	e = sigv4_uri_encode("tenants/t 1/a+b~c_d.e-f/ü", 1);
	assert_string_equal(e, "tenants/t%201/a%2Bb~c_d.e-f/%C3%BC");
	free(e);
	e = sigv4_uri_encode("a/b=c", 0);
	assert_string_equal(e, "a%2Fb%3Dc");
	free(e);
}

static void
amz_dates(void **state)
{
	char d[SIGV4_DATE_LEN + 1];
	time_t t;

	(void)state;
	assert_int_equal(sigv4_parse_amz_date("20130524T000000Z", &t), 0);
	assert_int_equal((long long)t, 1369353600LL);
	sigv4_amz_date(t, d);
	assert_string_equal(d, "20130524T000000Z");
	assert_int_equal(sigv4_parse_amz_date("20130524 000000Z", &t), -1);
	assert_int_equal(sigv4_parse_amz_date("20131324T000000Z", &t), -1);
	assert_int_equal(sigv4_parse_amz_date("2013052T000000Z", &t), -1);
	assert_int_equal(sigv4_parse_amz_date("20130524T0000a0Z", &t), -1);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(presign_aws_example),
    cmocka_unit_test(header_get_object),
    cmocka_unit_test(header_get_lifecycle),
    cmocka_unit_test(header_list_objects),
    cmocka_unit_test(signature_depends_on_inputs),
    cmocka_unit_test(uri_encode),
    cmocka_unit_test(amz_dates))
