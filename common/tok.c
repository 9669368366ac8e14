/*
 * tok: HMAC-SHA256 signed tokens (DESIGN §6 and §9).
 *
 *   token = B64U(payload) "." B64U(HMAC-SHA256(K, B64U(payload)))
 *
 * The MAC covers the base64url text of the payload, exactly as it arrives,
 * so a verifier checks it before decoding or parsing anything.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cry.h"
#include "tok.h"

/* A token travels in a query string; nothing we sign comes near this. */
#define TOK_MAX_LEN	8192

/*
 * exp bounds: 253402300799 is 9999-12-31T23:59:59Z, the last second an
 * ISO 8601 expiresAt can show. It is also far below 2^53 and 1e15, so
 * cJSON holds it exactly in a double and prints it as plain digits.
 */
#define TOK_EXP_MAX	253402300799LL

static const char storage_label[] = "filestor storage-url v1";

void
tok_storage_key(const unsigned char *secret, size_t len,
    unsigned char k[CRY_SHA256_LEN])
{
	/*
	 * Each use of AUTH_SECRET gets its own derived key, so a MAC made
	 * for one purpose is never valid for another.
	 */
	cry_hmac_sha256(secret, len, storage_label, sizeof(storage_label) - 1,
	    k);
}

char *
tok_sign(const unsigned char *key, size_t klen, const char *payload)
{
	unsigned char mac[CRY_SHA256_LEN];
	char *p64 = NULL, *m64 = NULL, *tok = NULL;
	size_t plen, mlen;

	if (payload == NULL)
		goto out;
	p64 = cry_b64u_encode(payload, strlen(payload));
	if (p64 == NULL)
		goto out;
	plen = strlen(p64);
	cry_hmac_sha256(key, klen, p64, plen, mac);
	m64 = cry_b64u_encode(mac, sizeof(mac));
	if (m64 == NULL)
		goto out;
	mlen = strlen(m64);
	/* Never make a token that tok_verify would refuse. */
	if (plen + 1 + mlen > TOK_MAX_LEN)
		goto out;
	tok = malloc(plen + 1 + mlen + 1);
	if (tok == NULL)
		goto out;
	memcpy(tok, p64, plen);
	tok[plen] = '.';
	memcpy(tok + plen + 1, m64, mlen + 1);
out:
	free(m64);
	free(p64);
	return tok;
}

enum tok_result
tok_verify(const unsigned char *key, size_t klen, const char *token,
    char **payload)
{
	unsigned char want[CRY_SHA256_LEN], *got = NULL, *body = NULL;
	const char *dot, *m64;
	size_t len, plen, mlen, glen = 0, blen = 0;
	enum tok_result rc = TOK_MALFORMED;

	if (payload != NULL)
		*payload = NULL;
	if (token == NULL)
		goto out;
	len = strnlen(token, TOK_MAX_LEN + 1);
	if (len > TOK_MAX_LEN)
		goto out;
	dot = memchr(token, '.', len);
	if (dot == NULL)
		goto out;
	plen = (size_t)(dot - token);
	m64 = dot + 1;
	mlen = len - plen - 1;
	if (memchr(m64, '.', mlen) != NULL)
		goto out;

	/*
	 * The decoder is strict, so each MAC has one text only. A NULL here
	 * may also be an allocation failure; with tokens this small that is
	 * not worth telling apart, and either way the token is refused.
	 */
	got = cry_b64u_decode(m64, mlen, &glen);
	if (got == NULL || glen != CRY_SHA256_LEN)
		goto out;
	cry_hmac_sha256(key, klen, token, plen, want);
	if (!cry_eq(want, got, CRY_SHA256_LEN)) {
		rc = TOK_BAD_SIGNATURE;
		goto out;
	}

	/* Only a payload we signed gets this far. */
	body = cry_b64u_decode(token, plen, &blen);
	if (body == NULL)
		goto out;
	/* The payload is handed out as a C string: no NUL may cut it short. */
	if (memchr(body, '\0', blen) != NULL)
		goto out;
	if (payload != NULL) {
		*payload = (char *)body;
		body = NULL;
	}
	rc = TOK_OK;
out:
	free(body);
	free(got);
	return rc;
}

char *
tok_sign_claims(const unsigned char *key, size_t klen, const char *n1,
    const char *v1, const char *n2, const char *v2, long long exp,
    long long max)
{
	cJSON *o = NULL;
	char *json = NULL, *tok = NULL;

	if (v1 == NULL || v2 == NULL || exp < 0 || exp > max)
		goto out;
	o = cJSON_CreateObject();
	if (o == NULL ||
	    cJSON_AddStringToObject(o, n1, v1) == NULL ||
	    cJSON_AddStringToObject(o, n2, v2) == NULL ||
	    cJSON_AddNumberToObject(o, "exp", (double)exp) == NULL)
		goto out;
	json = cJSON_PrintUnformatted(o);
	if (json == NULL)
		goto out;
	tok = tok_sign(key, klen, json);
out:
	cJSON_free(json);
	cJSON_Delete(o);
	return tok;
}

cJSON *
tok_parse_claims(const char *payload, const char *n1, const char **v1,
    const char *n2, const char **v2, long long max, long long *exp)
{
	cJSON *o;
	const cJSON *j1, *j2, *je;
	double d;

	/* Trailing bytes after the object are refused too. */
	o = cJSON_ParseWithOpts(payload, NULL, 1);
	if (o == NULL || !cJSON_IsObject(o))
		goto bad;
	/* Case-sensitive: "K" is not "k". Unknown members are ignored. */
	j1 = cJSON_GetObjectItemCaseSensitive(o, n1);
	j2 = cJSON_GetObjectItemCaseSensitive(o, n2);
	je = cJSON_GetObjectItemCaseSensitive(o, "exp");
	if (!cJSON_IsString(j1) || j1->valuestring == NULL ||
	    !cJSON_IsString(j2) || j2->valuestring == NULL ||
	    !cJSON_IsNumber(je))
		goto bad;
	/* A whole number in range; the negated test also refuses NaN. */
	d = je->valuedouble;
	if (!(d >= 0 && d <= (double)max))
		goto bad;
	*exp = (long long)d;
	if ((double)*exp != d)
		goto bad;
	*v1 = j1->valuestring;
	*v2 = j2->valuestring;
	return o;
bad:
	cJSON_Delete(o);
	return NULL;
}

char *
tok_storage_sign(const unsigned char k[CRY_SHA256_LEN], const char *pkey,
    const char *tid, long long exp)
{
	return tok_sign_claims(k, CRY_SHA256_LEN, "k", pkey, "t", tid, exp,
	    TOK_EXP_MAX);
}

enum tok_result
tok_storage_verify(const unsigned char k[CRY_SHA256_LEN], const char *token,
    time_t now, char **pkey, char **tid)
{
	cJSON *o = NULL;
	const char *vk, *vt;
	char *payload = NULL, *kdup = NULL, *tdup = NULL;
	long long exp;
	enum tok_result rc;

	if (pkey != NULL)
		*pkey = NULL;
	if (tid != NULL)
		*tid = NULL;
	rc = tok_verify(k, CRY_SHA256_LEN, token, &payload);
	if (rc != TOK_OK)
		goto out;

	rc = TOK_MALFORMED;
	o = tok_parse_claims(payload, "k", &vk, "t", &vt, TOK_EXP_MAX, &exp);
	if (o == NULL)
		goto out;
	/* exp is the first second at which the token is no longer valid. */
	if ((long long)now >= exp) {
		rc = TOK_EXPIRED;
		goto out;
	}

	rc = TOK_ERROR;
	kdup = strdup(vk);
	tdup = strdup(vt);
	if (kdup == NULL || tdup == NULL)
		goto out;
	if (pkey != NULL) {
		*pkey = kdup;
		kdup = NULL;
	}
	if (tid != NULL) {
		*tid = tdup;
		tdup = NULL;
	}
	rc = TOK_OK;
out:
	free(tdup);
	free(kdup);
	cJSON_Delete(o);
	free(payload);
	return rc;
}
