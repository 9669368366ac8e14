/*
 * libFuzzer harness: SigV4 canonicalization (sigv4_uri_encode,
 * sigv4_parse_amz_date, sigv4_authorization, sigv4_presign_query), fed
 * as the S3 store feeds it. The input is newline-separated fields:
 *
 *   key \n upload id \n range \n access key \n secret \n region \n date
 *
 * A date of the wrong length must be refused; one of the right length is
 * used when it parses.
 *
 * Properties: the encoder makes only unreserved bytes and %XX escapes
 * (and '/' when asked) that decode back to the input, so no byte of a
 * key can break a line of the canonical request; a date parses back to
 * the time it prints; a signature is one Authorization line ending in 64
 * hex digits; a presigned query parses into its six parameters.
 */
#include "fuzz.h"
#include "http.h"
#include "sigv4.h"

#define NFIELDS	7

static char *
encode(const char *s, int keep_slash)
{
	char *e, *d;
	size_t i, dlen = 0;

	e = sigv4_uri_encode(s, keep_slash);
	FUZZ_CHECK(e != NULL);
	for (i = 0; e[i] != '\0'; i++) {
		if (e[i] == '%') {
			FUZZ_CHECK(strchr("0123456789ABCDEF", e[i + 1]) &&
			    e[i + 1] != '\0' && e[i + 2] != '\0' &&
			    strchr("0123456789ABCDEF", e[i + 2]));
			i += 2;
		} else
			FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789-._~",
			    e[i]) != NULL || (keep_slash && e[i] == '/'));
	}
	d = http_pct_decode(e, strlen(e), 0, &dlen);
	FUZZ_CHECK(d != NULL && dlen == strlen(s) && strcmp(d, s) == 0);
	free(d);
	return e;
}

static void
check_date(const char *s)
{
	char again[SIGV4_DATE_LEN + 1];
	time_t t, t2;

	if (sigv4_parse_amz_date(s, &t) == -1)
		return;
	/* "20240231T..." is taken as March 2nd: print what it means. */
	sigv4_amz_date(t, again);
	if (strlen(again) == SIGV4_DATE_LEN) {
		FUZZ_CHECK(sigv4_parse_amz_date(again, &t2) == 0 && t2 == t);
	}
}

static void
check_signed(const struct sigv4_creds *c, const char *auth)
{
	size_t n;

	FUZZ_CHECK(auth != NULL);
	n = strlen(auth);
	FUZZ_CHECK(n > 64 && strspn(auth + n - 64, "0123456789abcdef") == 64);
	FUZZ_CHECK(strncmp(auth, "AWS4-HMAC-SHA256 Credential=", 28) == 0);
	if (strpbrk(c->access_key, "\r\n") == NULL &&
	    strpbrk(c->region, "\r\n") == NULL)
		FUZZ_CHECK(strpbrk(auth, "\r\n") == NULL);
}

static void
check_presign(const struct sigv4_creds *c, const char *uri, const char *date)
{
	struct http_param p[HTTP_MAX_QUERY_PARAMS];
	char *q;
	int i, n;

	q = sigv4_presign_query(c, "GET", "s3.example.test", uri, 300, date);
	if (strlen(date) != SIGV4_DATE_LEN) {
		FUZZ_CHECK(q == NULL);
		return;
	}
	FUZZ_CHECK(q != NULL);
	n = http_parse_query(q, p, HTTP_MAX_QUERY_PARAMS);
	FUZZ_CHECK(n == 6);
	FUZZ_CHECK(strcmp(p[5].name, "X-Amz-Signature") == 0 &&
	    strlen(p[5].value) == 64);
	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_header h[4];
	struct sigv4_creds c = { 0 };
	char *s, *f[NFIELDS], *ekey, *eup, *uri = NULL, *query = NULL, *auth;
	char *p;
	time_t t;
	int i;

	s = fuzz_str(data, size);
	for (i = 0, p = s; i < NFIELDS; i++) {
		f[i] = p;
		p = strchr(p, '\n');
		if (p == NULL) {
			for (i++; i < NFIELDS; i++)
				f[i] = "";
			break;
		}
		*p++ = '\0';
	}
	check_date(f[6]);
	/* The store signs with dates it printed: keep a date of the right
	   length that does not parse ("9999&2.pragma60Z") out of the
	   query, where it is not encoded. */
	if (strlen(f[6]) == SIGV4_DATE_LEN &&
	    sigv4_parse_amz_date(f[6], &t) == -1)
		f[6] = "20130524T000000Z";
	ekey = encode(f[0], 1);
	eup = encode(f[1], 0);
	FUZZ_CHECK(asprintf(&uri, "/bucket/%s", ekey) > 0);
	FUZZ_CHECK(asprintf(&query, "partNumber=1&uploadId=%s", eup) > 0);
	c.access_key = f[3];
	c.secret_key = f[4];
	c.region = f[5];
	c.service = "s3";
	h[0].name = "host";
	h[0].value = "s3.example.test";
	h[1].name = "range";
	h[1].value = f[2];
	h[2].name = "x-amz-content-sha256";
	h[2].value = "UNSIGNED-PAYLOAD";
	h[3].name = "x-amz-date";
	h[3].value = f[6];
	auth = sigv4_authorization(&c, "PUT", uri, query, h, 4,
	    "UNSIGNED-PAYLOAD", f[6]);
	if (strlen(f[6]) == SIGV4_DATE_LEN)
		check_signed(&c, auth);
	else
		FUZZ_CHECK(auth == NULL);
	check_presign(&c, uri, f[6]);
	free(auth);
	free(query);
	free(uri);
	free(eup);
	free(ekey);
	free(s);
	return 0;
}
