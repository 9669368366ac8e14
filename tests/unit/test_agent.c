/*
 * Unit tests for common/agent.c: path and hostname validation, the root
 * check, the sealed tunnel key, the download token and the
 * Content-Type (DESIGN §9); Content-Disposition is in test_http_parse.c.
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

#include "agent.h"
#include "cry.h"

#define AID	"11111111-2222-4333-8444-555555555555"
#define AID2	"11111111-2222-4333-8444-555555555556"

static int
path_ok(const char *p)
{
	return agent_path_ok(p, strlen(p));
}

static void
test_path_ok(void **state)
{
	static const char *good[] = { "/", "/srv", "/srv/share/a.txt",
	    "/a b/c", "/été/日本", "/.hidden", "/a/..b", "/a/b..", "/a/..." };
	static const char *bad[] = { "", "srv", "./x", "//", "/srv/",
	    "/srv//a", "/srv/./a", "/srv/../etc", "/..", "/.", "/a/.",
	    "/a/..", "/a\\b", "/a\x01", "/a\x7f", "/a\r\nb", "/\xff",
	    "/\xc0\xaf" };
	char big[AGENT_PATH_MAX + 2];

	(void)state;
	ASSERT_SORTS(path_ok, good, bad);
	/* A NUL inside the length is refused. */
	assert_false(agent_path_ok("/a\0b", 4));
	assert_false(agent_path_ok(NULL, 0));
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	assert_true(agent_path_ok(big, AGENT_PATH_MAX));
	assert_false(agent_path_ok(big, AGENT_PATH_MAX + 1));
}

static void
test_path_under(void **state)
{
	(void)state;
	assert_true(agent_path_under("/srv/a", "/srv/a"));
	assert_true(agent_path_under("/srv/a/x", "/srv/a"));
	assert_true(agent_path_under("/srv/a/x/y", "/srv"));
	assert_true(agent_path_under("/anything", "/"));
	/* Siblings that share a prefix (anchors §4.1). */
	assert_false(agent_path_under("/srv/ab", "/srv/a"));
	assert_false(agent_path_under("/srv/a2/x", "/srv/a"));
	assert_false(agent_path_under("/srv", "/srv/a"));
	assert_false(agent_path_under("/etc/passwd", "/srv"));
}

static void
test_roots(void **state)
{
	cJSON *j;
	char **roots = NULL, err[256];
	size_t n = 0;

	(void)state;
	j = cJSON_Parse("[\"/srv/a\",\"/data\"]");
	assert_int_equal(agent_roots_parse(j, &roots, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(agent_roots_find(roots, n, "/data/x"), 1);
	assert_int_equal(agent_roots_find(roots, n, "/srv/a/x"), 0);
	assert_int_equal(agent_roots_find(roots, n, "/srv/ab"), -1);
	agent_roots_free(roots, n);
	cJSON_Delete(j);

	static const char *bad[] = { "[]", "{}", "\"/srv\"", "[1]",
	    "[\"/srv/\"]", "[\"srv\"]", "[\"/a\",\"/a\"]", "[\"/a/../b\"]",
	    "[\"/1\",\"/2\",\"/3\",\"/4\",\"/5\",\"/6\",\"/7\",\"/8\",\"/9\","
	    "\"/10\",\"/11\",\"/12\",\"/13\",\"/14\",\"/15\",\"/16\",\"/17\"]",
	    NULL };
	for (size_t i = 0; bad[i] != NULL; i++) {
		j = cJSON_Parse(bad[i]);
		assert_int_equal(agent_roots_parse(j, &roots, &n, err,
		    sizeof(err)), -1);
		assert_null(roots);
		cJSON_Delete(j);
	}
	assert_int_equal(agent_roots_parse(NULL, &roots, &n, err,
	    sizeof(err)), -1);
}

struct host_case {
	const char	*in;
	const char	*norm;	/* NULL: refused */
	const char	*origin;
};

static const struct host_case hosts[] = {
	{ "agent-1.example.com", "agent-1.example.com",
	    "https://agent-1.example.com" },
	{ "Agent-1.Example.COM", "agent-1.example.com",
	    "https://agent-1.example.com" },
	{ "nas", "nas", "https://nas" },
	{ "http://127.0.0.1:8443", "http://127.0.0.1:8443",
	    "http://127.0.0.1:8443" },
	{ "https://files.example.com", "https://files.example.com",
	    "https://files.example.com" },
	{ "HTTPS://X.example.com:443", "https://x.example.com:443",
	    "https://x.example.com:443" },
	{ "http://[::1]:8443", "http://[::1]:8443", "http://[::1]:8443" },
	{ "http://[::1]", "http://[::1]", "http://[::1]" },
	/* Refused. */
	{ "", NULL, NULL },
	{ "https://x.example.com/", NULL, NULL },
	{ "https://x.example.com/path", NULL, NULL },
	{ "https://user@x.example.com", NULL, NULL },
	{ "https://user:pw@x.example.com", NULL, NULL },
	{ "https://x.example.com?q=1", NULL, NULL },
	{ "https://x.example.com#f", NULL, NULL },
	{ "x.example.com\r\nSet-Cookie: a", NULL, NULL },
	{ "x.example.com\n", NULL, NULL },
	{ "x .example.com", NULL, NULL },
	{ "x.example.com:8443", NULL, NULL },
	{ "ftp://x.example.com", NULL, NULL },
	{ "javascript://x.example.com", NULL, NULL },
	{ "https://", NULL, NULL },
	{ "https://:8443", NULL, NULL },
	{ "http://x:0", NULL, NULL },
	{ "http://x:65536", NULL, NULL },
	{ "http://x:123456", NULL, NULL },
	{ "http://x:", NULL, NULL },
	{ "http://x:8a", NULL, NULL },
	{ "a..b", NULL, NULL },
	{ ".a", NULL, NULL },
	{ "a.", NULL, NULL },
	{ "-a.b", NULL, NULL },
	{ "a-.b", NULL, NULL },
	{ "a_b.c", NULL, NULL },
	{ "h\xc3\xa9.example.com", NULL, NULL },
	{ "[::1]", NULL, NULL },
	{ "http://[::1", NULL, NULL },
	{ "http://[zz]:1", NULL, NULL },
	{ "https://x.example.com\\@evil.com", NULL, NULL },
	{ "https://x%2eexample.com", NULL, NULL },
};

static void
test_hostname(void **state)
{
	char norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX], err[256];
	char label[80], longname[300];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		rc = agent_hostname_parse(hosts[i].in, norm, origin, err,
		    sizeof(err));
		if (hosts[i].norm == NULL) {
			if (rc != -1)
				fail_msg("accepted \"%s\"", hosts[i].in);
			continue;
		}
		if (rc != 0)
			fail_msg("refused \"%s\": %s", hosts[i].in, err);
		assert_string_equal(norm, hosts[i].norm);
		assert_string_equal(origin, hosts[i].origin);
	}
	/* Labels of 63 bytes pass, 64 do not; names of 254 bytes do not. */
	memset(label, 'a', 63);
	snprintf(label + 63, sizeof(label) - 63, ".com");
	assert_int_equal(agent_hostname_parse(label, norm, origin, err,
	    sizeof(err)), 0);
	memset(label, 'a', 64);
	snprintf(label + 64, sizeof(label) - 64, ".com");
	assert_int_equal(agent_hostname_parse(label, norm, origin, err,
	    sizeof(err)), -1);
	for (i = 0; i < 254; i++)
		longname[i] = (i % 2 == 0) ? 'a' : '.';
	longname[253] = 'a';
	longname[254] = '\0';
	assert_int_equal(agent_hostname_parse(longname, norm, origin, err,
	    sizeof(err)), -1);
	assert_int_equal(agent_hostname_parse(NULL, norm, origin, err,
	    sizeof(err)), -1);
}

static void
test_key_seal(void **state)
{
	unsigned char kek[AGENT_KEY_LEN], kek2[AGENT_KEY_LEN];
	unsigned char key[AGENT_KEY_LEN], out[AGENT_KEY_LEN];
	unsigned char sealed[AGENT_SEALED_LEN], sealed2[AGENT_SEALED_LEN];
	static const char secret[] = "0123456789abcdef0123456789abcdef!";
	unsigned char want[32];
	unsigned int wl = 0;

	(void)state;
	/* KEK = HMAC-SHA256(AUTH_SECRET, "filestor agent-key v1"). */
	agent_kek((const unsigned char *)secret, strlen(secret), kek);
	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)"filestor agent-key v1", 21, want, &wl);
	assert_int_equal(wl, 32);
	assert_memory_equal(kek, want, 32);

	assert_int_equal(cry_random(key, sizeof(key)), 0);
	assert_int_equal(agent_key_seal(kek, AID, key, sealed), 0);
	/* Not the key in clear anywhere in the sealed form. */
	assert_null(memmem(sealed, sizeof(sealed), key, 8));
	assert_int_equal(agent_key_open(kek, AID, sealed, sizeof(sealed), out),
	    0);
	assert_memory_equal(out, key, sizeof(key));
	/* A fresh nonce each time. */
	assert_int_equal(agent_key_seal(kek, AID, key, sealed2), 0);
	assert_memory_not_equal(sealed, sealed2, sizeof(sealed));
	/* Another row, another KEK, a flipped bit, a short blob: refused. */
	assert_int_equal(agent_key_open(kek, AID2, sealed, sizeof(sealed), out),
	    -1);
	memcpy(kek2, kek, sizeof(kek));
	kek2[0] ^= 1;
	assert_int_equal(agent_key_open(kek2, AID, sealed, sizeof(sealed), out),
	    -1);
	sealed[20] ^= 0x40;
	assert_int_equal(agent_key_open(kek, AID, sealed, sizeof(sealed), out),
	    -1);
	sealed[20] ^= 0x40;
	assert_int_equal(agent_key_open(kek, AID, sealed, sizeof(sealed) - 1,
	    out), -1);
}

static void
test_key_codec(void **state)
{
	unsigned char key[AGENT_KEY_LEN], back[AGENT_KEY_LEN];
	char *s;

	(void)state;
	memset(key, 0xfb, sizeof(key));
	s = agent_key_encode(key);
	assert_non_null(s);
	assert_int_equal(strlen(s), AGENT_KEY_B64_LEN);
	assert_null(strchr(s, '='));
	assert_null(strchr(s, '+'));
	assert_null(strchr(s, '/'));
	assert_int_equal(agent_key_decode(s, back), 0);
	assert_memory_equal(key, back, sizeof(key));
	s[AGENT_KEY_B64_LEN - 1] = '\0';
	assert_int_equal(agent_key_decode(s, back), -1);
	free(s);
	assert_int_equal(agent_key_decode("", back), -1);
	assert_int_equal(agent_key_decode(NULL, back), -1);
	/* 44 chars with padding: not our form. */
	assert_int_equal(agent_key_decode(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", back), -1);
}

/* An independent token: OpenSSL HMAC over a hand-written payload. */
static char *
mint(const unsigned char key[AGENT_KEY_LEN], const char *json)
{
	unsigned char mac[32];
	unsigned int ml = 0;
	char *p, *m, *t;
	size_t n;

	p = cry_b64u_encode(json, strlen(json));
	HMAC(EVP_sha256(), key, AGENT_KEY_LEN, (unsigned char *)p, strlen(p),
	    mac, &ml);
	m = cry_b64u_encode(mac, ml);
	n = strlen(p) + strlen(m) + 2;
	t = malloc(n);
	snprintf(t, n, "%s.%s", p, m);
	free(p);
	free(m);
	return t;
}

static void
test_token(void **state)
{
	static const char *const wrong[] = {
	    "{\"p\":1,\"a\":\"" AID "\",\"exp\":1800000100}",
	    "{\"p\":\"/x\",\"a\":\"" AID "\",\"exp\":\"1800000100\"}",
	    "{\"p\":\"/x\",\"a\":\"" AID "\",\"exp\":1800000100.5}",
	    "{\"p\":\"/x\",\"a\":\"" AID "\"}",
	    "[1]",
	};
	unsigned char key[AGENT_KEY_LEN], other[AGENT_KEY_LEN];
	char *t, *t2, *path = NULL, json[256];
	time_t now = 1800000000;
	size_t i;

	(void)state;
	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	t = agent_tok_sign(key, "/srv/a b/é.txt", AID, now + 300);
	assert_non_null(t);
	/* The exact DESIGN §9 form: claims p, a, exp in that order. */
	snprintf(json, sizeof(json),
	    "{\"p\":\"/srv/a b/é.txt\",\"a\":\"%s\",\"exp\":%lld}", AID,
	    (long long)now + 300);
	t2 = mint(key, json);
	assert_string_equal(t, t2);
	free(t2);

	assert_int_equal(agent_tok_verify(key, t, AID, now, &path),
	    AGENT_TOK_OK);
	assert_string_equal(path, "/srv/a b/é.txt");
	free(path);
	assert_int_equal(agent_tok_verify(other, t, AID, now, &path),
	    AGENT_TOK_BAD_SIGNATURE);
	assert_null(path);
	assert_int_equal(agent_tok_verify(key, t, AID2, now, &path),
	    AGENT_TOK_WRONG_AGENT);
	assert_int_equal(agent_tok_verify(key, t, AID, now + 300, &path),
	    AGENT_TOK_EXPIRED);
	assert_int_equal(agent_tok_verify(key, t, AID, now + 299, &path),
	    AGENT_TOK_OK);
	free(path);
	/* Signed by us, but far ahead of now: not a URL we made. */
	assert_int_equal(agent_tok_verify(key, t, AID, now - 100, &path),
	    AGENT_TOK_TOO_LONG);
	/*
	 * Both sides of that bound: a token may live exactly TTL + skew
	 * seconds (a backend clock that far ahead), not one more.
	 */
	assert_int_equal(agent_tok_verify(key, t, AID,
	    now + 300 - (AGENT_TOKEN_TTL + AGENT_TOKEN_SKEW), &path),
	    AGENT_TOK_OK);
	assert_string_equal(path, "/srv/a b/é.txt");
	free(path);
	assert_int_equal(agent_tok_verify(key, t, AID,
	    now + 300 - (AGENT_TOKEN_TTL + AGENT_TOKEN_SKEW) - 1, &path),
	    AGENT_TOK_TOO_LONG);
	assert_null(path);
	/* Tampering with the payload breaks the MAC. */
	t[3] = t[3] == 'A' ? 'B' : 'A';
	assert_int_equal(agent_tok_verify(key, t, AID, now, &path),
	    AGENT_TOK_BAD_SIGNATURE);
	free(t);

	/* Claims of the wrong type, signed correctly, are malformed. */
	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		t = mint(key, wrong[i]);
		assert_int_equal(agent_tok_verify(key, t, AID, now, &path),
		    AGENT_TOK_MALFORMED);
		assert_null(path);
		free(t);
	}
	assert_int_equal(agent_tok_verify(key, "", AID, now, &path),
	    AGENT_TOK_MALFORMED);
	assert_int_equal(agent_tok_verify(key, "a.b.c", AID, now, &path),
	    AGENT_TOK_MALFORMED);
	assert_null(agent_tok_sign(key, "/x", AID, -1));
}

static void
test_content_type(void **state)
{
	int inl;

	(void)state;
	assert_string_equal(agent_content_type("a.PDF", &inl),
	    "application/pdf");
	assert_int_equal(inl, 1);
	assert_string_equal(agent_content_type("x.html", &inl),
	    "text/html; charset=utf-8");
	assert_int_equal(inl, 0);
	assert_string_equal(agent_content_type("x.svg", &inl), "image/svg+xml");
	assert_int_equal(inl, 0);
	assert_string_equal(agent_content_type("noext", &inl),
	    "application/octet-stream");
	assert_int_equal(inl, 0);
	assert_string_equal(agent_content_type("dir.d/noext", &inl),
	    "application/octet-stream");
	assert_string_equal(agent_content_type("trailing.", &inl),
	    "application/octet-stream");
}

static void
test_names(void **state)
{
	char big[AGENT_NAME_MAX + 2];

	(void)state;
	assert_true(agent_name_ok("nas-1"));
	assert_true(agent_name_ok("héllo"));
	assert_false(agent_name_ok(""));
	assert_false(agent_name_ok(NULL));
	assert_false(agent_name_ok("a\nb"));
	assert_false(agent_name_ok("\xff"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(agent_name_ok(big));
	big[AGENT_NAME_MAX] = '\0';
	assert_true(agent_name_ok(big));
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_path_ok),
    cmocka_unit_test(test_path_under),
    cmocka_unit_test(test_roots),
    cmocka_unit_test(test_hostname),
    cmocka_unit_test(test_key_seal),
    cmocka_unit_test(test_key_codec),
    cmocka_unit_test(test_token),
    cmocka_unit_test(test_content_type),
    cmocka_unit_test(test_names))
