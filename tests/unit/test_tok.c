/*
 * Unit tests for tok: the wire format of DESIGN §6 checked against a token
 * built here with OpenSSL directly, and every way a token can be damaged.
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

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cry.h"
#include "tok.h"

/* The fixed key of the known-answer tests: bytes 0x00..0x1f. */
static unsigned char fixed_k[CRY_SHA256_LEN];

static int
setup_key(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixed_k); i++)
		fixed_k[i] = (unsigned char)i;
	return 0;
}

/*
 * base64url without padding, made here from OpenSSL's standard base64 so
 * the known-answer tests do not lean on cry_b64u_encode.
 */
static char *
ref_b64u(const void *in, size_t len)
{
	unsigned char *out;
	size_t i, n;

	out = malloc(4 * ((len + 2) / 3) + 1);
	assert_non_null(out);
	n = (size_t)EVP_EncodeBlock(out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return (char *)out;
}

/* B64U(payload) "." B64U(HMAC-SHA256(key, B64U(payload))), by hand. */
static char *
ref_token(const unsigned char *key, size_t klen, const void *payload,
    size_t plen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *p64, *m64, *tok;
	size_t len;

	p64 = ref_b64u(payload, plen);
	assert_non_null(HMAC(EVP_sha256(), key, (int)klen,
	    (const unsigned char *)p64, strlen(p64), mac, &maclen));
	assert_int_equal(maclen, 32);
	m64 = ref_b64u(mac, maclen);
	len = strlen(p64) + 1 + strlen(m64) + 1;
	tok = malloc(len);
	assert_non_null(tok);
	assert_int_equal(snprintf(tok, len, "%s.%s", p64, m64), (int)len - 1);
	free(m64);
	free(p64);
	return tok;
}

static char *
payload_of(const char *tok)
{
	const char *dot = strchr(tok, '.');
	unsigned char *p;
	size_t len;

	assert_non_null(dot);
	p = cry_b64u_decode(tok, (size_t)(dot - tok), &len);
	assert_non_null(p);
	return (char *)p;
}

/* DESIGN §6: K = HMAC-SHA256(AUTH_SECRET, "filestor storage-url v1"). */
static void
test_storage_key(void **state)
{
	static const char secret[] = "0123456789abcdef0123456789abcdef";
	static const char label[] = "filestor storage-url v1";
	unsigned char k[CRY_SHA256_LEN], want[EVP_MAX_MD_SIZE];
	unsigned int wlen = 0;
	char hex[2 * CRY_SHA256_LEN + 1];

	(void)state;
	tok_storage_key((const unsigned char *)secret, 32, k);
	cry_hex(k, sizeof(k), hex);
	/* Computed with Python's hmac module. */
	assert_string_equal(hex,
	    "5a8efe0df1fad9b531fbae22f5c4042a8b6d0e9b5190d785276a3390ba19f663");
	assert_non_null(HMAC(EVP_sha256(), secret, 32,
	    (const unsigned char *)label, strlen(label), want, &wlen));
	assert_int_equal(wlen, 32);
	assert_memory_equal(k, want, 32);
}

/* The exact wire format of DESIGN §6. */
static void
test_storage_known_answer(void **state)
{
	static const char payload[] =
	    "{\"k\":\"tenants/t/a.txt\",\"t\":\"t\",\"exp\":2000000000}";
	/* Computed with Python's hmac and base64 modules. */
	static const char python[] =
	    "eyJrIjoidGVuYW50cy90L2EudHh0IiwidCI6InQiLCJleHAiOjIwMDAwMDAwMDB9."
	    "jvXJh_3bkpqaW2FThiaSavrbf0epw91PF4ojNfSrdCQ";
	char *got, *want, *p;

	(void)state;
	got = tok_storage_sign(fixed_k, "tenants/t/a.txt", "t", 2000000000LL);
	assert_non_null(got);
	want = ref_token(fixed_k, sizeof(fixed_k), payload, strlen(payload));
	assert_string_equal(got, want);
	assert_string_equal(got, python);
	p = payload_of(got);
	assert_string_equal(p, payload);
	free(p);

	/* The generic signer gives the same bytes for the same text. */
	free(want);
	want = tok_sign(fixed_k, sizeof(fixed_k), payload);
	assert_non_null(want);
	assert_string_equal(got, want);
	free(want);
	free(got);
}

static void
test_storage_roundtrip(void **state)
{
	char *tok, *k = NULL, *t = NULL;
	time_t now = 1700000000;

	(void)state;
	tok = tok_storage_sign(fixed_k, "tenants/3f2a/photos/cat \"1\".jpg",
	    "3f2a", (long long)now + 300);
	assert_non_null(tok);
	assert_int_equal(tok_storage_verify(fixed_k, tok, now, &k, &t), TOK_OK);
	assert_string_equal(k, "tenants/3f2a/photos/cat \"1\".jpg");
	assert_string_equal(t, "3f2a");
	free(k);
	free(t);

	/* Another key: a bad signature, and nothing handed out. */
	fixed_k[0] ^= 1;
	k = t = (char *)1;
	assert_int_equal(tok_storage_verify(fixed_k, tok, now, &k, &t),
	    TOK_BAD_SIGNATURE);
	assert_null(k);
	assert_null(t);
	fixed_k[0] ^= 1;
	free(tok);
}

static void
test_generic_roundtrip(void **state)
{
	static const unsigned char agent_key[] =
	    "a 256-bit agent signing key....";
	static const char payload[] =
	    "{\"p\":\"/srv/files/a b.txt\",\"a\":\"agent-1\",\"exp\":1}";
	char *tok, *p = NULL, *want;

	(void)state;
	tok = tok_sign(agent_key, sizeof(agent_key) - 1, payload);
	assert_non_null(tok);
	want = ref_token(agent_key, sizeof(agent_key) - 1, payload,
	    strlen(payload));
	assert_string_equal(tok, want);
	free(want);
	assert_int_equal(tok_verify(agent_key, sizeof(agent_key) - 1, tok, &p),
	    TOK_OK);
	assert_string_equal(p, payload);
	free(p);
	/* The payload out-parameter is optional. */
	assert_int_equal(tok_verify(agent_key, sizeof(agent_key) - 1, tok,
	    NULL), TOK_OK);
	p = (char *)1;
	assert_int_equal(tok_verify(agent_key, sizeof(agent_key) - 2, tok, &p),
	    TOK_BAD_SIGNATURE);
	assert_null(p);
	free(tok);
	assert_null(tok_sign(agent_key, sizeof(agent_key) - 1, NULL));
}

/* Every one-character change, at every position, is refused. */
static void
test_flip_every_char(void **state)
{
	static const char repl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	    ".=+/ \n\x01\x7f\x80\xff";
	char *tok, *mod, *k, *t, *p;
	size_t len, i, j, tried = 0;
	time_t now = 1700000000;
	enum tok_result rc;

	(void)state;
	tok = tok_storage_sign(fixed_k, "tenants/t/a.txt", "t",
	    (long long)now + 60);
	assert_non_null(tok);
	len = strlen(tok);
	mod = strdup(tok);
	assert_non_null(mod);
	for (i = 0; i < len; i++) {
		for (j = 0; j < sizeof(repl); j++) {
			/* sizeof(repl) counts the NUL, which cuts the token. */
			if (repl[j] == tok[i])
				continue;
			mod[i] = repl[j];
			k = t = p = NULL;
			rc = tok_storage_verify(fixed_k, mod, now, &k, &t);
			if (rc == TOK_OK)
				fail_msg("accepted %s (position %zu)", mod, i);
			assert_null(k);
			assert_null(t);
			rc = tok_verify(fixed_k, sizeof(fixed_k), mod, &p);
			assert_int_not_equal(rc, TOK_OK);
			assert_null(p);
			tried++;
		}
		mod[i] = tok[i];
	}
	assert_true(tried > len * 64);
	/* The unchanged copy still verifies. */
	assert_int_equal(tok_verify(fixed_k, sizeof(fixed_k), mod, NULL),
	    TOK_OK);

	/* Every truncation, and anything appended, fails too. */
	for (i = 0; i < len; i++) {
		mod[i] = '\0';
		assert_int_not_equal(tok_verify(fixed_k, sizeof(fixed_k), mod,
		    NULL), TOK_OK);
		mod[i] = tok[i];
	}
	free(mod);
	mod = malloc(len + 2);
	assert_non_null(mod);
	memcpy(mod, tok, len);
	mod[len + 1] = '\0';
	for (j = 0; j + 1 < sizeof(repl); j++) {
		mod[len] = repl[j];
		assert_int_not_equal(tok_verify(fixed_k, sizeof(fixed_k), mod,
		    NULL), TOK_OK);
	}
	free(mod);
	free(tok);
}

/* A payload changed under a kept MAC is a bad signature. */
static void
test_swapped_payload(void **state)
{
	char *a, *b, *mix;
	const char *dota, *dotb;
	size_t len;

	(void)state;
	a = tok_storage_sign(fixed_k, "tenants/t/a.txt", "t", 2000000000LL);
	b = tok_storage_sign(fixed_k, "tenants/t/b.txt", "t", 2000000000LL);
	assert_non_null(a);
	assert_non_null(b);
	dota = strchr(a, '.');
	dotb = strchr(b, '.');
	len = strlen(a) + strlen(b);
	mix = malloc(len);
	assert_non_null(mix);
	snprintf(mix, len, "%.*s%s", (int)(dota - a), a, dotb);
	assert_int_equal(tok_verify(fixed_k, sizeof(fixed_k), mix, NULL),
	    TOK_BAD_SIGNATURE);
	free(mix);
	free(b);
	free(a);
}

static void
test_malformed_shapes(void **state)
{
	char *tok, *buf, *p;
	size_t len;

	(void)state;
	tok = tok_sign(fixed_k, sizeof(fixed_k), "{\"k\":\"a\"}");
	assert_non_null(tok);
	len = strlen(tok);
	buf = malloc(2 * len + 3);
	assert_non_null(buf);

	/* A second '.' anywhere. */
	snprintf(buf, 2 * len + 3, "%s.", tok);
	assert_int_equal(tok_verify(fixed_k, 32, buf, NULL), TOK_MALFORMED);
	snprintf(buf, 2 * len + 3, ".%s", tok);
	assert_int_equal(tok_verify(fixed_k, 32, buf, NULL), TOK_MALFORMED);
	snprintf(buf, 2 * len + 3, "%s.%s", tok, tok);
	assert_int_equal(tok_verify(fixed_k, 32, buf, NULL), TOK_MALFORMED);
	snprintf(buf, 2 * len + 3, "%s", tok);
	buf[3] = '.';
	assert_int_equal(tok_verify(fixed_k, 32, buf, NULL), TOK_MALFORMED);
	/* No '.', and nothing at all. */
	snprintf(buf, 2 * len + 3, "%s", tok);
	*strchr(buf, '.') = 'A';
	assert_int_equal(tok_verify(fixed_k, 32, buf, NULL), TOK_MALFORMED);
	assert_int_equal(tok_verify(fixed_k, 32, "", NULL), TOK_MALFORMED);
	assert_int_equal(tok_verify(fixed_k, 32, ".", NULL), TOK_MALFORMED);
	assert_int_equal(tok_verify(fixed_k, 32, "..", NULL), TOK_MALFORMED);
	p = (char *)1;
	assert_int_equal(tok_verify(fixed_k, 32, NULL, &p), TOK_MALFORMED);
	assert_null(p);
	/* Padding on the MAC makes it another text: refused. */
	snprintf(buf, 2 * len + 3, "%s=", tok);
	assert_int_equal(tok_verify(fixed_k, 32, buf, NULL), TOK_MALFORMED);
	free(buf);
	free(tok);
}

/* A MAC part that decodes to 31 or 33 bytes is malformed. */
static void
test_mac_wrong_length(void **state)
{
	static const char payload[] = "{\"k\":\"a\",\"t\":\"t\",\"exp\":9}";
	unsigned char mac[33];
	char *p64, *m64, buf[256];
	size_t n;

	(void)state;
	p64 = ref_b64u(payload, strlen(payload));
	cry_hmac_sha256(fixed_k, 32, p64, strlen(p64), mac);
	mac[32] = 0;
	for (n = 30; n <= 33; n++) {
		if (n == 32)
			continue;
		m64 = ref_b64u(mac, n);
		snprintf(buf, sizeof(buf), "%s.%s", p64, m64);
		assert_int_equal(tok_verify(fixed_k, 32, buf, NULL),
		    TOK_MALFORMED);
		free(m64);
	}
	/* The same MAC at its right length is fine. */
	m64 = ref_b64u(mac, 32);
	snprintf(buf, sizeof(buf), "%s.%s", p64, m64);
	assert_int_equal(tok_verify(fixed_k, 32, buf, NULL), TOK_OK);
	free(m64);
	free(p64);
}

/*
 * The cap: a correctly signed token of 8192 characters verifies, and one
 * of 8194 is refused unread.
 */
static void
test_too_long(void **state)
{
	char *big, *tok;

	(void)state;
	/* 6111 bytes take 8148 characters; with "." and 43 that is 8192. */
	big = malloc(6113);
	assert_non_null(big);
	memset(big, 'x', 6112);
	big[6111] = '\0';
	tok = tok_sign(fixed_k, 32, big);
	assert_non_null(tok);
	assert_int_equal(strlen(tok), 8192);
	assert_int_equal(tok_verify(fixed_k, 32, tok, NULL), TOK_OK);
	free(tok);

	big[6111] = 'x';
	big[6112] = '\0';
	/* The signer refuses to make a token the verifier would refuse. */
	assert_null(tok_sign(fixed_k, 32, big));
	tok = ref_token(fixed_k, 32, big, 6112);
	assert_int_equal(strlen(tok), 8194);
	assert_int_equal(tok_verify(fixed_k, 32, tok, NULL), TOK_MALFORMED);
	free(tok);
	free(big);
}

/* Expired when now >= exp. */
static void
test_expiry(void **state)
{
	time_t now = 1700000000;
	char *tok, *k, *t;

	(void)state;
	tok = tok_storage_sign(fixed_k, "tenants/t/a", "t", (long long)now - 1);
	assert_non_null(tok);
	k = t = (char *)1;
	assert_int_equal(tok_storage_verify(fixed_k, tok, now, &k, &t),
	    TOK_EXPIRED);
	assert_null(k);
	assert_null(t);
	free(tok);

	tok = tok_storage_sign(fixed_k, "tenants/t/a", "t", (long long)now);
	assert_non_null(tok);
	assert_int_equal(tok_storage_verify(fixed_k, tok, now, &k, &t),
	    TOK_EXPIRED);
	assert_int_equal(tok_storage_verify(fixed_k, tok, now - 1, &k, &t),
	    TOK_OK);
	free(k);
	free(t);
	free(tok);

	tok = tok_storage_sign(fixed_k, "tenants/t/a", "t", (long long)now + 1);
	assert_non_null(tok);
	assert_int_equal(tok_storage_verify(fixed_k, tok, now, &k, &t),
	    TOK_OK);
	free(k);
	free(t);
	/* A bad signature is reported as such even when also expired. */
	fixed_k[5] ^= 0x40;
	assert_int_equal(tok_storage_verify(fixed_k, tok, now + 10, &k, &t),
	    TOK_BAD_SIGNATURE);
	fixed_k[5] ^= 0x40;
	free(tok);
}

/* exp past 2^31 stays a plain integer on the wire. */
static void
test_exp_range(void **state)
{
	char *tok, *p, *k, *t;

	(void)state;
	tok = tok_storage_sign(fixed_k, "tenants/t/a", "t", 4102444800LL);
	assert_non_null(tok);
	p = payload_of(tok);
	assert_string_equal(p,
	    "{\"k\":\"tenants/t/a\",\"t\":\"t\",\"exp\":4102444800}");
	free(p);
	assert_int_equal(tok_storage_verify(fixed_k, tok, 4102444799, &k, &t),
	    TOK_OK);
	free(k);
	free(t);
	assert_int_equal(tok_storage_verify(fixed_k, tok, 4102444800, &k, &t),
	    TOK_EXPIRED);
	free(tok);

	tok = tok_storage_sign(fixed_k, "tenants/t/a", "t", 253402300799LL);
	assert_non_null(tok);
	p = payload_of(tok);
	assert_non_null(strstr(p, "\"exp\":253402300799}"));
	free(p);
	free(tok);

	assert_null(tok_storage_sign(fixed_k, "tenants/t/a", "t",
	    253402300800LL));
	assert_null(tok_storage_sign(fixed_k, "tenants/t/a", "t", -1));
	assert_null(tok_storage_sign(fixed_k, NULL, "t", 1));
	assert_null(tok_storage_sign(fixed_k, "k", NULL, 1));
}

/* Signed payloads with bad claims: the MAC is fine, the claims are not. */
static void
test_claim_types(void **state)
{
	static const char *bad[] = {
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":\"2000000000\"}",
		"{\"k\":1,\"t\":\"t\",\"exp\":2000000000}",
		"{\"k\":\"a\",\"t\":2,\"exp\":2000000000}",
		"{\"k\":null,\"t\":\"t\",\"exp\":2000000000}",
		"{\"k\":[\"a\"],\"t\":\"t\",\"exp\":2000000000}",
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":true}",
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":null}",
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":2000000000.5}",
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":-5}",
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":1e300}",
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":1e999}",
		"{\"k\":\"a\",\"t\":\"t\"}",
		"{\"k\":\"a\",\"exp\":2000000000}",
		"{\"t\":\"t\",\"exp\":2000000000}",
		"{\"K\":\"a\",\"T\":\"t\",\"EXP\":2000000000}",
		"{\"K\":\"a\",\"t\":\"t\",\"exp\":2000000000}",
		"{\"k\":\"a\",\"T\":\"t\",\"exp\":2000000000}",
		"{\"k\":\"a\",\"t\":\"t\",\"Exp\":2000000000}",
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":2000000000}x",
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":2000000000",
		"[\"a\",\"t\",2000000000]",
		"\"a\"",
		"2000000000",
		"null",
		"not json",
		"",
	};
	static const char *good[] = {
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":2000000000,\"x\":{\"y\":1}}",
		"{\"exp\":2000000000,\"t\":\"t\",\"k\":\"a\"}",
		/* case-sensitive: the upper-case decoys are ignored */
		("{\"K\":\"b\",\"k\":\"a\",\"T\":\"u\",\"t\":\"t\","
		    "\"exp\":2000000000}"),
		"{\"k\":\"a\",\"t\":\"t\",\"exp\":2e9}",
		" {\"k\":\"a\",\"t\":\"t\",\"exp\":2000000000}\n",
	};
	time_t now = 1700000000;
	char *tok, *k, *t;
	size_t i;
	enum tok_result rc;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = tok_sign(fixed_k, 32, bad[i]);
		assert_non_null(tok);
		k = t = (char *)1;
		rc = tok_storage_verify(fixed_k, tok, now, &k, &t);
		if (rc != TOK_MALFORMED)
			fail_msg("%s: got %d", bad[i], (int)rc);
		assert_null(k);
		assert_null(t);
		free(tok);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		tok = tok_sign(fixed_k, 32, good[i]);
		assert_non_null(tok);
		rc = tok_storage_verify(fixed_k, tok, now, &k, &t);
		if (rc != TOK_OK)
			fail_msg("%s: got %d", good[i], (int)rc);
		assert_string_equal(k, "a");
		assert_string_equal(t, "t");
		free(k);
		free(t);
		free(tok);
	}
}

/* A signed payload with a NUL inside is not handed out as a C string. */
static void
test_payload_nul(void **state)
{
	static const char payload[] =
	    "{\"k\":\"a\",\"t\":\"t\",\"exp\":2000000000}\0x";
	char *tok, *p;

	(void)state;
	tok = ref_token(fixed_k, 32, payload, sizeof(payload) - 1);
	p = (char *)1;
	assert_int_equal(tok_verify(fixed_k, 32, tok, &p), TOK_MALFORMED);
	assert_null(p);
	free(tok);
}

UNIT_MAIN(setup_key, NULL,
    cmocka_unit_test(test_storage_key),
    cmocka_unit_test(test_storage_known_answer),
    cmocka_unit_test(test_storage_roundtrip),
    cmocka_unit_test(test_generic_roundtrip),
    cmocka_unit_test(test_flip_every_char),
    cmocka_unit_test(test_swapped_payload),
    cmocka_unit_test(test_malformed_shapes),
    cmocka_unit_test(test_mac_wrong_length),
    cmocka_unit_test(test_too_long),
    cmocka_unit_test(test_expiry),
    cmocka_unit_test(test_exp_range),
    cmocka_unit_test(test_claim_types),
    cmocka_unit_test(test_payload_nul))
