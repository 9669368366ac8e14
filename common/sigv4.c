/*
 * sigv4: AWS Signature Version 4 (see sigv4.h).
 *
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cry.h"
#include "sigv4.h"

#define ALGO	"AWS4-HMAC-SHA256"

char *
sigv4_uri_encode(const char *s, int keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t i, j, n = strlen(s);
	char *out;

	out = malloc(3 * n + 1);
	if (out == NULL)
		return NULL;
	for (i = j = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (c == '/' && keep_slash))
			out[j++] = (char)c;
		else {
			out[j++] = '%';
			out[j++] = hexd[c >> 4];
			out[j++] = hexd[c & 15];
		}
	}
	out[j] = '\0';
	return out;
}

void
sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN + 1])
{
	struct tm tm;

	/* Outside years 1000..9999 the form does not hold (strftime's
	   buffer is then indeterminate): "", which no signer accepts. */
	if (gmtime_r(&t, &tm) == NULL || strftime(out, SIGV4_DATE_LEN + 1,
	    "%Y%m%dT%H%M%SZ", &tm) != SIGV4_DATE_LEN)
		out[0] = '\0';
}

int
sigv4_parse_amz_date(const char *s, time_t *t)
{
	struct tm tm;
	int v[6], i, k;
	static const int pos[6] = { 0, 4, 6, 9, 11, 13 };
	static const int len[6] = { 4, 2, 2, 2, 2, 2 };

	if (strlen(s) != SIGV4_DATE_LEN || s[8] != 'T' || s[15] != 'Z')
		return -1;
	for (i = 0; i < 6; i++) {
		v[i] = 0;
		for (k = 0; k < len[i]; k++) {
			char c = s[pos[i] + k];

			if (c < '0' || c > '9')
				return -1;
			v[i] = v[i] * 10 + (c - '0');
		}
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	*t = timegm(&tm);
	return 0;
}

void
sigv4_signing_key(const struct sigv4_creds *c, const char *amz_date,
    unsigned char key[CRY_SHA256_LEN])
{
	unsigned char k[CRY_SHA256_LEN];
	char *first = NULL;
	size_t flen;

	flen = strlen(c->secret_key) + 4;
	first = malloc(flen + 1);
	if (first == NULL) {
		/* A key nobody can sign with: every signature mismatches. */
		cry_random(key, CRY_SHA256_LEN);
		return;
	}
	memcpy(first, "AWS4", 4);
	memcpy(first + 4, c->secret_key, flen - 4 + 1);
	cry_hmac_sha256(first, flen, amz_date, 8, key);
	cry_hmac_sha256(key, CRY_SHA256_LEN, c->region, strlen(c->region), k);
	cry_hmac_sha256(k, sizeof(k), c->service, strlen(c->service), key);
	cry_hmac_sha256(key, CRY_SHA256_LEN, "aws4_request", 12, k);
	memcpy(key, k, sizeof(k));
	cry_wipe(first, flen);
	cry_wipe(k, sizeof(k));
	free(first);
}

/* Hex signature of string_to_sign with the key derived for the day. */
static void
sign(const struct sigv4_creds *c, const char *amz_date, const char *sts,
    char hex[2 * CRY_SHA256_LEN + 1])
{
	unsigned char k[CRY_SHA256_LEN], mac[CRY_SHA256_LEN];

	if (c->signing_key != NULL)
		memcpy(k, c->signing_key, sizeof(k));
	else
		sigv4_signing_key(c, amz_date, k);
	cry_hmac_sha256(k, sizeof(k), sts, strlen(sts), mac);
	cry_hex(mac, sizeof(mac), hex);
	cry_wipe(k, sizeof(k));
	cry_wipe(mac, sizeof(mac));
}

/*
 * The canonical request, then the string to sign, then the signature
 * (hex, "" on failure).
 */
void
sigv4_signature(const struct sigv4_creds *c, const char *method, const char *uri,
    const char *query, const struct sigv4_header *h, size_t nh,
    const char *signed_headers, const char *payload_hash,
    const char *amz_date, char hex[2 * CRY_SHA256_LEN + 1])
{
	unsigned char md[CRY_SHA256_LEN];
	char crhex[2 * CRY_SHA256_LEN + 1], *cr = NULL, *sts = NULL;
	size_t crlen = 0, stslen = 0, i;
	FILE *f;

	hex[0] = '\0';
	f = open_memstream(&cr, &crlen);
	if (f == NULL)
		return;
	fprintf(f, "%s\n%s\n%s\n", method, uri, query);
	for (i = 0; i < nh; i++)
		fprintf(f, "%s:%s\n", h[i].name, h[i].value);
	fprintf(f, "\n%s\n%s", signed_headers, payload_hash);
	if (fclose(f) != 0)
		goto out;
	cry_sha256(cr, crlen, md);
	cry_hex(md, sizeof(md), crhex);
	f = open_memstream(&sts, &stslen);
	if (f == NULL)
		goto out;
	fprintf(f, ALGO "\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date,
	    amz_date, c->region, c->service, crhex);
	if (fclose(f) != 0)
		goto out;
	sign(c, amz_date, sts, hex);
out:
	free(cr);
	free(sts);
}

char *
sigv4_authorization(const struct sigv4_creds *c, const char *method,
    const char *uri, const char *query, const struct sigv4_header *h,
    size_t nh, const char *payload_hash, const char *amz_date)
{
	char hex[2 * CRY_SHA256_LEN + 1], *sh = NULL, *out = NULL;
	size_t shlen = 0, i;
	FILE *f;

	if (strlen(amz_date) != SIGV4_DATE_LEN)
		return NULL;
	f = open_memstream(&sh, &shlen);
	if (f == NULL)
		return NULL;
	for (i = 0; i < nh; i++)
		fprintf(f, "%s%s", i > 0 ? ";" : "", h[i].name);
	if (fclose(f) != 0)
		goto out;
	sigv4_signature(c, method, uri, query, h, nh, sh, payload_hash,
	    amz_date, hex);
	if (hex[0] == '\0')
		goto out;
	if (asprintf(&out, ALGO " Credential=%s/%.8s/%s/%s/aws4_request,"
	    "SignedHeaders=%s,Signature=%s", c->access_key, amz_date,
	    c->region, c->service, sh, hex) == -1)
		out = NULL;
out:
	free(sh);
	return out;
}

char *
sigv4_presign_query(const struct sigv4_creds *c, const char *method,
    const char *host, const char *uri, long long expires,
    const char *amz_date)
{
	struct sigv4_header h = { "host", host };
	char hex[2 * CRY_SHA256_LEN + 1], *cred = NULL, *ecred = NULL;
	char *q = NULL, *out = NULL;

	if (strlen(amz_date) != SIGV4_DATE_LEN)
		return NULL;
	if (asprintf(&cred, "%s/%.8s/%s/%s/aws4_request", c->access_key,
	    amz_date, c->region, c->service) == -1) {
		cred = NULL;
		goto out;
	}
	ecred = sigv4_uri_encode(cred, 0);
	if (ecred == NULL)
		goto out;
	/* Already in canonical (sorted) order. */
	if (asprintf(&q, "X-Amz-Algorithm=" ALGO "&X-Amz-Credential=%s"
	    "&X-Amz-Date=%s&X-Amz-Expires=%lld&X-Amz-SignedHeaders=host",
	    ecred, amz_date, expires) == -1) {
		q = NULL;
		goto out;
	}
	sigv4_signature(c, method, uri, q, &h, 1, "host", "UNSIGNED-PAYLOAD",
	    amz_date, hex);
	if (hex[0] == '\0')
		goto out;
	if (asprintf(&out, "%s&X-Amz-Signature=%s", q, hex) == -1)
		out = NULL;
out:
	free(cred);
	free(ecred);
	free(q);
	return out;
}
