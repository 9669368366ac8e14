/*
 * libFuzzer harness: the S3 endpoint's request parsers (s3auth.h,
 * s3xml.h): an Authorization header with its X-Amz-Date, a presigned
 * query, the canonical query of any query string, and the XML scanner
 * of DeleteObjects and CompleteMultipartUpload bodies. The input is
 *
 *   header \n date \n query \n xml...
 *
 * Properties: a header or query that parses has an access key id, a region, lower-case SignedHeaders naming host and
 * a 64-hex signature, and verifying it never crashes; a presign's
 * expiry is 1..7 days; the canonical query holds only unreserved bytes,
 * %XX, '=' and '&'; every element the scanner finds lies inside the
 * body, and what decodes holds no '<' or NUL.
 */
#include "fuzz.h"
#include "s3auth.h"
#include "s3xml.h"

static const char *
no_header(void *arg, const char *name)
{
	(void)name;
	return arg;
}

static void
check_parsed(const struct s3auth *au)
{
	size_t i;

	FUZZ_CHECK(au->akid[0] != '\0' && au->region[0] != '\0');
	FUZZ_CHECK(strlen(au->signature) == 64);
	FUZZ_CHECK(strstr(au->signed_headers, "host") != NULL);
	for (i = 0; au->signed_headers[i] != '\0'; i++)
		FUZZ_CHECK(au->signed_headers[i] < 'A' ||
		    au->signed_headers[i] > 'Z');
	/* Verifying runs the whole canonical request: it must not crash. */
	(void)s3auth_verify(au, "secret", "GET", "/b/k", "", no_header, "v",
	    "UNSIGNED-PAYLOAD");
}

static void
fuzz_query(const char *q)
{
	struct http_param p[64];
	struct s3auth au;
	const char *msg;
	char *cq;
	int n;
	size_t i;

	n = http_parse_query(q, p, 64);
	if (n < 0)
		return;
	if (s3auth_parse_query(p, (size_t)n, &au, &msg) == S3AUTH_OK) {
		check_parsed(&au);
		FUZZ_CHECK(au.expires >= 1 && au.expires <= S3AUTH_PRESIGN_MAX);
	}
	cq = s3auth_canonical_query(p, (size_t)n);
	FUZZ_CHECK(cq != NULL);
	for (i = 0; cq[i] != '\0'; i++)
		FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		    "qrstuvwxyz0123456789-._~%=&", cq[i]) != NULL);
	free(cq);
	http_params_free(p, (size_t)n);
}

static void
fuzz_xml(const char *x, size_t len)
{
	const char *in, *kin;
	size_t pos = 0, kpos, inlen, klen;
	char *d;
	int n = 0;

	while (n++ < 100 && s3xml_elem(x, len, "Object", &pos, &in,
	    &inlen) == 1) {
		FUZZ_CHECK(in >= x && in + inlen <= x + len && pos <= len);
		kpos = 0;
		if (s3xml_elem(in, inlen, "Key", &kpos, &kin, &klen) != 1)
			continue;
		FUZZ_CHECK(kin >= in && kin + klen <= in + inlen);
		d = s3xml_decode(kin, klen);
		if (d != NULL) {
			FUZZ_CHECK(strchr(d, '<') == NULL);
			FUZZ_CHECK(strlen(d) <= klen);
		}
		free(d);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3auth au;
	const char *msg;
	char *s, *f[3], *rest;
	int i;

	s = fuzz_str(data, size);
	rest = s;
	for (i = 0; i < 3; i++) {
		f[i] = rest;
		rest = strchr(rest, '\n');
		if (rest == NULL) {
			rest = f[i] + strlen(f[i]);
			for (i++; i < 3; i++)
				f[i] = rest;
			break;
		}
		*rest++ = '\0';
	}
	if (s3auth_parse_header(f[0], f[1], &au, &msg) == S3AUTH_OK)
		check_parsed(&au);
	else
		FUZZ_CHECK(msg != NULL);
	fuzz_query(f[2]);
	fuzz_xml(rest, strlen(rest));
	free(s);
	return 0;
}
