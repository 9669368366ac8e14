/*
 * Unit tests for cry: known vectors from RFC 4231 (HMAC-SHA256), FIPS
 * 180-2 (SHA-256), RFC 4648 (base64url) and RFC 7914 (scrypt), and the
 * strictness of every parser.
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

#include "cry.h"

static const char b64u_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decode hex into out (which holds strlen(hex)/2); returns the length. */
static size_t
unhex(const char *hex, unsigned char *out)
{
	size_t i, n = strlen(hex) / 2;
	unsigned v;

	for (i = 0; i < n; i++) {
		v = 0;
		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				fail_msg("bad hex in test vector: %s", hex);
		}
		out[i] = (unsigned char)v;
	}
	return n;
}

static void
assert_hex_equal(const unsigned char *got, size_t n, const char *want)
{
	char hex[2 * 64 + 1];

	assert_true(n <= 64);
	cry_hex(got, n, hex);
	assert_string_equal(hex, want);
}

/* FIPS 180-2 appendix B.1 and the empty message. */
static void
test_sha256_vectors(void **state)
{
	unsigned char md[CRY_SHA256_LEN];

	(void)state;
	cry_sha256("abc", 3, md);
	assert_hex_equal(md, sizeof(md),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	cry_sha256("", 0, md);
	assert_hex_equal(md, sizeof(md),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	cry_sha256(NULL, 0, md);
	assert_hex_equal(md, sizeof(md),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* FIPS 180-2 appendix B.2: a two-block message. */
	cry_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    56, md);
	assert_hex_equal(md, sizeof(md),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* RFC 4231 §4.2 to §4.8. */
static void
test_hmac_rfc4231(void **state)
{
	static const char big_key_msg[] =
	    "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char big_data_msg[] =
	    "This is a test using a larger than block-size key and a larger "
	    "than block-size data. The key needs to be hashed before being "
	    "used by the HMAC algorithm.";
	struct {
		unsigned char	 key[131];
		size_t		 klen;
		unsigned char	 data[160];
		size_t		 dlen;
		const char	*mac;
		size_t		 maclen;
	} tc[7];
	unsigned char out[CRY_SHA256_LEN];
	size_t i;

	(void)state;
	memset(tc, 0, sizeof(tc));

	/* 1 */
	memset(tc[0].key, 0x0b, 20);
	tc[0].klen = 20;
	memcpy(tc[0].data, "Hi There", 8);
	tc[0].dlen = 8;
	tc[0].mac = "b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7";
	/* 2: a key shorter than the output */
	memcpy(tc[1].key, "Jefe", 4);
	tc[1].klen = 4;
	memcpy(tc[1].data, "what do ya want for nothing?", 28);
	tc[1].dlen = 28;
	tc[1].mac = "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843";
	/* 3 */
	memset(tc[2].key, 0xaa, 20);
	tc[2].klen = 20;
	memset(tc[2].data, 0xdd, 50);
	tc[2].dlen = 50;
	tc[2].mac = "773ea91e36800e46854db8ebd09181a7"
	    "2959098b3ef8c122d9635514ced565fe";
	/* 4 */
	tc[3].klen = unhex("0102030405060708090a0b0c0d0e0f10111213141516171819",
	    tc[3].key);
	memset(tc[3].data, 0xcd, 50);
	tc[3].dlen = 50;
	tc[3].mac = "82558a389a443c0ea4cc819899f2083a"
	    "85f0faa3e578f8077a2e3ff46729665b";
	/* 5: truncated to 128 bits */
	memset(tc[4].key, 0x0c, 20);
	tc[4].klen = 20;
	memcpy(tc[4].data, "Test With Truncation", 20);
	tc[4].dlen = 20;
	tc[4].mac = "a3b6167473100ee06e0c796c2955552b";
	/* 6: a key larger than the block */
	memset(tc[5].key, 0xaa, 131);
	tc[5].klen = 131;
	memcpy(tc[5].data, big_key_msg, sizeof(big_key_msg) - 1);
	tc[5].dlen = sizeof(big_key_msg) - 1;
	tc[5].mac = "60e431591ee0b67f0d8a26aacbf5b77f"
	    "8e0bc6213728c5140546040f0ee37f54";
	/* 7: key and data larger than the block */
	memset(tc[6].key, 0xaa, 131);
	tc[6].klen = 131;
	assert_true(sizeof(big_data_msg) - 1 <= sizeof(tc[6].data));
	memcpy(tc[6].data, big_data_msg, sizeof(big_data_msg) - 1);
	tc[6].dlen = sizeof(big_data_msg) - 1;
	tc[6].mac = "9b09ffa71b942fcb27635fbcd5b0e944"
	    "bfdc63644f0713938a7f51535c3a35e2";

	for (i = 0; i < 7; i++) {
		memset(out, 0, sizeof(out));
		cry_hmac_sha256(tc[i].key, tc[i].klen, tc[i].data, tc[i].dlen,
		    out);
		assert_hex_equal(out, strlen(tc[i].mac) / 2, tc[i].mac);
	}
}

static void
test_hmac_empty(void **state)
{
	unsigned char a[CRY_SHA256_LEN], b[CRY_SHA256_LEN];

	(void)state;
	/* A NULL key of length 0 is the empty key, not "the last key". */
	cry_hmac_sha256("", 0, "", 0, a);
	cry_hmac_sha256(NULL, 0, NULL, 0, b);
	assert_memory_equal(a, b, sizeof(a));
	assert_hex_equal(a, sizeof(a),
	    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void
test_hex(void **state)
{
	static const unsigned char in[] = {
		0x00, 0x01, 0x7f, 0x80, 0xab, 0xff
	};
	char out[2 * sizeof(in) + 1];

	(void)state;
	memset(out, 'x', sizeof(out));
	cry_hex(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abff");
	cry_hex(in, 0, out);
	assert_string_equal(out, "");
}

static void
test_eq(void **state)
{
	unsigned char a[32], b[32];

	(void)state;
	memset(a, 0x5a, sizeof(a));
	memset(b, 0x5a, sizeof(b));
	assert_int_equal(cry_eq(a, b, sizeof(a)), 1);
	b[31] ^= 0x01;
	assert_int_equal(cry_eq(a, b, sizeof(a)), 0);
	b[31] ^= 0x01;
	b[0] ^= 0x80;
	assert_int_equal(cry_eq(a, b, sizeof(a)), 0);
	assert_int_equal(cry_eq(a, b, 0), 1);
}

static void
test_random(void **state)
{
	unsigned char a[32], b[32], zero[32];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(zero, 0, sizeof(zero));
	assert_int_equal(cry_random(a, sizeof(a)), 0);
	assert_int_equal(cry_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(cry_random(NULL, 0), 0);
	assert_int_equal(cry_random(NULL, 1), -1);
}

static void
test_wipe(void **state)
{
	unsigned char buf[16], zero[16];

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	memset(zero, 0, sizeof(zero));
	cry_wipe(buf, sizeof(buf));
	assert_memory_equal(buf, zero, sizeof(buf));
	cry_wipe(NULL, 10);
}

static void
check_encode(const void *in, size_t len, const char *want)
{
	char *got;

	got = cry_b64u_encode(in, len);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
check_decode(const char *in, size_t len, const void *want, size_t wantlen)
{
	unsigned char *got;
	size_t glen = 12345;

	got = cry_b64u_decode(in, len, &glen);
	assert_non_null(got);
	assert_int_equal(glen, wantlen);
	assert_memory_equal(got, want, wantlen);
	assert_int_equal(got[glen], '\0');
	free(got);
}

static void
check_reject(const char *in, size_t len)
{
	unsigned char *got;
	size_t glen = 12345;

	got = cry_b64u_decode(in, len, &glen);
	if (got != NULL) {
		free(got);
		fail_msg("decoded %zu bytes of invalid input", len);
	}
	assert_int_equal(glen, 0);
}

/* RFC 4648 §10, without the padding. */
static void
test_b64u_rfc4648(void **state)
{
	static const struct strpair v[] = {	/* plain, encoded */
		{ "", "" },
		{ "f", "Zg" },
		{ "fo", "Zm8" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg" },
		{ "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(v); i++) {
		check_encode(v[i].a, strlen(v[i].a), v[i].b);
		check_decode(v[i].b, strlen(v[i].b), v[i].a, strlen(v[i].a));
	}
	check_encode(NULL, 0, "");
}

/* The URL alphabet: 62 is '-' and 63 is '_' (RFC 4648 §5). */
static void
test_b64u_url_alphabet(void **state)
{
	static const unsigned char fbff[] = { 0xfb, 0xff };
	static const unsigned char dashes[] = { 0xfb, 0xef, 0xbe };
	static const unsigned char unders[] = { 0xff, 0xff, 0xff };
	unsigned char all[48];
	char *enc;
	size_t i;

	(void)state;
	check_encode(fbff, sizeof(fbff), "-_8");
	check_decode("-_8", 3, fbff, sizeof(fbff));
	check_encode(dashes, sizeof(dashes), "----");
	check_encode(unders, sizeof(unders), "____");

	/* 48 bytes that spell out every value 0..63 in order. */
	for (i = 0; i < 16; i++) {
		unsigned v = (unsigned)(4 * i);

		all[3 * i] = (unsigned char)(v << 2 | (v + 1) >> 4);
		all[3 * i + 1] = (unsigned char)(((v + 1) & 0xf) << 4 |
		    (v + 2) >> 2);
		all[3 * i + 2] = (unsigned char)(((v + 2) & 0x3) << 6 |
		    (v + 3));
	}
	enc = cry_b64u_encode(all, sizeof(all));
	assert_non_null(enc);
	assert_string_equal(enc, b64u_alphabet);
	free(enc);
	check_decode(b64u_alphabet, 64, all, sizeof(all));
}

static void
test_b64u_roundtrip(void **state)
{
	unsigned char buf[64], *dec;
	char *enc;
	size_t len, dlen, round;

	(void)state;
	for (round = 0; round < 4; round++) {
		for (len = 0; len <= sizeof(buf); len++) {
			assert_int_equal(cry_random(buf, len), 0);
			enc = cry_b64u_encode(buf, len);
			assert_non_null(enc);
			assert_int_equal(strlen(enc),
			    len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0));
			assert_null(strpbrk(enc, "+/="));
			dec = cry_b64u_decode(enc, strlen(enc), &dlen);
			assert_non_null(dec);
			assert_int_equal(dlen, len);
			assert_memory_equal(dec, buf, len);
			free(dec);
			free(enc);
		}
	}
}

static void
test_b64u_reject(void **state)
{
	(void)state;
	check_reject("Zg==", 4);		/* padding */
	check_reject("Zm8=", 4);
	check_reject("Zg=", 3);
	check_reject("=", 1);
	check_reject("Zh", 2);			/* non-zero trailing bits */
	check_reject("Zm9", 3);
	check_reject("a", 1);			/* 1 mod 4 */
	check_reject("Zm9vY", 5);
	check_reject("ab+c", 4);		/* standard alphabet */
	check_reject("ab/c", 4);
	check_reject("ab c", 4);
	check_reject("ab\0c", 4);		/* embedded NUL */
	check_reject("abc\0", 4);
	check_reject("ab\nc", 4);
	check_reject("ab.c", 4);
	check_reject("ab\x80" "c", 4);
	check_reject("ab\xff" "c", 4);
	check_reject(NULL, 4);
	/* The length given is what counts, not the NUL. */
	check_decode("Zm9vYmFy", 4, "foo", 3);
}

/*
 * Every two- and three-character tail: exactly one text per byte string,
 * and it is the one the encoder makes.
 */
static void
test_b64u_canonical_tails(void **state)
{
	char in[4], *enc;
	unsigned char *dec;
	size_t i, j, dlen, accepted;

	(void)state;
	accepted = 0;
	for (i = 0; i < 64; i++) {
		for (j = 0; j < 64; j++) {
			in[0] = b64u_alphabet[i];
			in[1] = b64u_alphabet[j];
			dec = cry_b64u_decode(in, 2, &dlen);
			if ((j & 0x0f) != 0) {
				assert_null(dec);
				continue;
			}
			assert_non_null(dec);
			assert_int_equal(dlen, 1);
			enc = cry_b64u_encode(dec, dlen);
			assert_non_null(enc);
			assert_memory_equal(enc, in, 2);
			accepted++;
			free(enc);
			free(dec);
		}
	}
	assert_int_equal(accepted, 256);

	accepted = 0;
	in[0] = 'Q';
	in[1] = 'k';
	for (i = 0; i < 64; i++) {
		in[2] = b64u_alphabet[i];
		dec = cry_b64u_decode(in, 3, &dlen);
		if ((i & 0x03) != 0) {
			assert_null(dec);
			continue;
		}
		assert_non_null(dec);
		assert_int_equal(dlen, 2);
		accepted++;
		free(dec);
	}
	assert_int_equal(accepted, 16);
}

static void
test_password_roundtrip(void **state)
{
	char *h1, *h2;

	(void)state;
	h1 = cry_password_hash("correct horse battery staple");
	assert_non_null(h1);
	assert_int_equal(strncmp(h1, "scrypt$16384$8$1$", 17), 0);
	/* 16-byte salt is 22 characters, 32-byte hash is 43. */
	assert_int_equal(strlen(h1), 17 + 22 + 1 + 43);
	assert_int_equal(h1[17 + 22], '$');
	assert_null(strpbrk(h1, "=+/"));

	assert_int_equal(cry_password_verify("correct horse battery staple",
	    h1), 1);
	assert_int_equal(cry_password_verify("correct horse battery stapl",
	    h1), 0);
	assert_int_equal(cry_password_verify("Correct horse battery staple",
	    h1), 0);
	assert_int_equal(cry_password_verify("", h1), 0);
	assert_int_equal(cry_password_verify(NULL, h1), 0);

	/* A fresh salt each time. */
	h2 = cry_password_hash("correct horse battery staple");
	assert_non_null(h2);
	assert_string_not_equal(h1, h2);
	assert_int_equal(cry_password_verify("correct horse battery staple",
	    h2), 1);
	free(h2);
	free(h1);

	h1 = cry_password_hash("");
	assert_non_null(h1);
	assert_int_equal(cry_password_verify("", h1), 1);
	assert_int_equal(cry_password_verify("x", h1), 0);
	free(h1);
	assert_null(cry_password_hash(NULL));
}

/* Swap the character at i for another one of the alphabet. */
static void
tamper(char *s, size_t i)
{
	s[i] = s[i] == 'A' ? 'B' : 'A';
}

static void
test_password_tampered(void **state)
{
	char *h, *t, *dollar;
	size_t hashpos, saltpos, len;

	(void)state;
	h = cry_password_hash("hunter2");
	assert_non_null(h);
	dollar = strrchr(h, '$');
	assert_non_null(dollar);
	hashpos = (size_t)(dollar - h) + 1;
	len = strlen(h);
	saltpos = 17;

	t = strdup(h);
	assert_non_null(t);
	tamper(t, hashpos);
	assert_int_equal(cry_password_verify("hunter2", t), 0);
	memcpy(t, h, len + 1);
	tamper(t, hashpos + 20);
	assert_int_equal(cry_password_verify("hunter2", t), 0);
	memcpy(t, h, len + 1);
	tamper(t, saltpos);
	assert_int_equal(cry_password_verify("hunter2", t), 0);
	memcpy(t, h, len + 1);
	/* Other parameters, still well formed: a different key. */
	memcpy(t + 7, "16384$4$1", 9);
	assert_int_equal(cry_password_verify("hunter2", t), 0);
	memcpy(t, h, len + 1);
	memcpy(t + 7, "16384$8$2", 9);
	assert_int_equal(cry_password_verify("hunter2", t), 0);
	memcpy(t, h, len + 1);
	assert_int_equal(cry_password_verify("hunter2", t), 1);
	free(t);
	free(h);
}

/* RFC 7914 §12, the third vector, through the stored form. */
static void
test_password_rfc7914(void **state)
{
	static const char stored[] = "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU$"
	    "cCO9yzr9c0hGHAbNgf046_2o-7qQT44-qbVD9lRdofLVQylVYT8Pz2LUlwUkK"
	    "pr55h6F3A1lHkDfzwF7RVdYhw";

	(void)state;
	assert_int_equal(cry_password_verify("pleaseletmein", stored), 1);
	assert_int_equal(cry_password_verify("pleaseletmeout", stored), 0);
}

/*
 * Stored hashes made with Python's hashlib.scrypt (password "pw", salt
 * bytes 0..15). They verify when read right, so each variant below fails
 * only because of the one thing changed in it.
 */
static const char pw_small[] = "scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw$"
    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4";
static const char pw_bounds[] = "scrypt$4$32$16$AAECAwQFBgcICQoLDA0ODw$"
    "JGpqrSHV1bGP0FP6MLEjd-5MlALjK7MvsC8vODfY7BA";

static void
test_password_strict_forms(void **state)
{
	static const char *bad[] = {
		/* r and p one past their caps, and otherwise correct */
		"scrypt$2$33$1$AAECAwQFBgcICQoLDA0ODw$"
		    "7wu0CmHlKmiYYPfubBev2TgN7QdPFGGKg-Picbmt32A",
		"scrypt$2$1$17$AAECAwQFBgcICQoLDA0ODw$"
		    "od8igd5VVKdieg_n_cnT9b-_8iL8B-M7uib96SaM5Zs",
		/* the same numbers spelt another way */
		"scrypt$02$1$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4",
		"scrypt$2$01$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4",
		"scrypt$2$1$+1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4",
		/* trailing fields and bytes */
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4$",
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4$x",
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4\n",
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4=",
		/* the salt padded */
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw==$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4",
		"scrypt$$2$1$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4",
		"SCRYPT$2$1$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB4",
	};
	char buf[128];
	size_t i, len;

	(void)state;
	assert_int_equal(cry_password_verify("pw", pw_small), 1);
	assert_int_equal(cry_password_verify("pw", pw_bounds), 1);
	assert_int_equal(cry_password_verify("pW", pw_bounds), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cry_password_verify("pw", bad[i]) != 0)
			fail_msg("accepted %s", bad[i]);
	}

	/* Any change to the last bytes of the hash counts, too. */
	len = strlen(pw_small);
	assert_true(len < sizeof(buf));
	for (i = len - 8; i < len - 1; i++) {
		memcpy(buf, pw_small, len + 1);
		tamper(buf, i);
		assert_int_equal(cry_password_verify("pw", buf), 0);
	}
}

/*
 * Salt and hash lengths at and just past their bounds (salt 8..64 bytes,
 * hash 16..64), again from hashlib.scrypt with N=2, r=1, p=1.
 */
static void
test_password_lengths(void **state)
{
	static const char *good[] = {
		"scrypt$2$1$1$AAECAwQFBgc$"
		    "sVYA_bt80J7YXGsEPPze9hY1dbaPtgoa3zwc04_7-0g",
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw$_ziWrLh4bk9aiSwaS05Heg",
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB6dWnenSX24"
		    "_McFSZ21zy8qvJRJeq3B-VmfWwV1Pb2U3g",
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"
		    "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-Pw$"
		    "dmMltgtbOwn8Nu0Nc2eyluD4JQJwQaHVIU1A2bXYT04",
	};
	static const char *bad[] = {
		"scrypt$2$1$1$AAECAwQFBg$"
		    "iwmdssFfLnxzS7wTpf9IAG9JO0dxEUZLrsGOFAIbWSI",
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw$_ziWrLh4bk9aiSwaS05H",
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODw$"
		    "_ziWrLh4bk9aiSwaS05HekzQwjMq9EuP7liQWkWOOB6dWnenSX24"
		    "_McFSZ21zy8qvJRJeq3B-VmfWwV1Pb2U3nY",
		"scrypt$2$1$1$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"
		    "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0A$"
		    "O_S31MIqfsCsK6qB6tuET8IHyRrZoZIdbxmkthTm3kg",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (cry_password_verify("pw", good[i]) != 1)
			fail_msg("refused %s", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cry_password_verify("pw", bad[i]) != 0)
			fail_msg("accepted %s", bad[i]);
	}
}

static void
test_password_malformed(void **state)
{
	/* A well-formed salt and hash to hang bad parameters on. */
	static const char salt[] = "AAAAAAAAAAAAAAAAAAAAAA";
	static const char hash[] =
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	static const char *params[] = {
		"3$8$1",		/* N not a power of two */
		"16383$8$1",
		"1$8$1",		/* N must exceed 1 */
		"0$8$1",
		"2097152$8$1",		/* 2^21: above the cap */
		"4294967296$8$1",
		"99999999999999999999999999$8$1",
		"016384$8$1",		/* leading zero */
		"+16384$8$1",
		"-16384$8$1",
		" 16384$8$1",
		"16384 $8$1",
		"0x4000$8$1",
		"16384$0$1",		/* r and p in range */
		"16384$33$1",
		"16384$8$0",
		"16384$8$17",
		"16384$$1",
		"16384$8",
		"16384$8$1$1",
	};
	static const char *whole[] = {
		"",
		"scrypt",
		"scrypt$",
		"scrypt$$$$$",
		"scrypt$3$8$1$..$..",
		"scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA",
		"scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$",
		"scrypt$16384$8$1$$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* salt with padding, short salt, short hash */
		"scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"scrypt$16384$8$1$AAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
		/* non-canonical last character of the salt */
		"scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAB$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"Scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"pbkdf2$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	char buf[512], *big;
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		n = snprintf(buf, sizeof(buf), "scrypt$%s$%s$%s", params[i],
		    salt, hash);
		assert_true(n > 0 && (size_t)n < sizeof(buf));
		if (cry_password_verify("", buf) != 0)
			fail_msg("accepted %s", buf);
	}
	for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
		if (cry_password_verify("", whole[i]) != 0)
			fail_msg("accepted %s", whole[i]);
	}
	assert_int_equal(cry_password_verify("", NULL), 0);

	/*
	 * Inside the parse bounds but past the memory cap: refused quickly
	 * instead of asking for 4 GiB.
	 */
	n = snprintf(buf, sizeof(buf), "scrypt$1048576$32$16$%s$%s", salt,
	    hash);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal(cry_password_verify("", buf), 0);

	/* Over-long stored strings are refused before parsing. */
	big = malloc(4096);
	assert_non_null(big);
	memset(big, 'A', 4095);
	big[4095] = '\0';
	memcpy(big, "scrypt$16384$8$1$", 17);
	big[17 + 22] = '$';
	assert_int_equal(cry_password_verify("", big), 0);
	free(big);
}

static void
test_uuid(void **state)
{
	char u[8][37];
	size_t i, j;

	(void)state;
	for (i = 0; i < 8; i++) {
		memset(u[i], 'x', sizeof(u[i]));
		assert_int_equal(cry_uuid(u[i]), 0);
		assert_int_equal(strlen(u[i]), 36);
		assert_int_equal(cry_is_uuid(u[i]), 1);
		assert_int_equal(u[i][8], '-');
		assert_int_equal(u[i][13], '-');
		assert_int_equal(u[i][18], '-');
		assert_int_equal(u[i][23], '-');
		/* Version 4 and the RFC 4122 variant. */
		assert_int_equal(u[i][14], '4');
		assert_non_null(strchr("89ab", u[i][19]));
		assert_int_equal(strspn(u[i], "0123456789abcdef-"), 36);
		for (j = 0; j < i; j++)
			assert_string_not_equal(u[i], u[j]);
	}
}

static void
test_is_uuid(void **state)
{
	static const char *good[] = {
		"00000000-0000-0000-0000-000000000000",
		"123e4567-e89b-12d3-a456-426614174000",
		"f47ac10b-58cc-4372-a567-0e02b2c3d479",
	};
	static const char *bad[] = {
		"",
		"F47AC10B-58CC-4372-A567-0E02B2C3D479",	/* upper case */
		"f47ac10b-58cc-4372-a567-0e02b2c3d47A",
		"f47ac10b-58cc-4372-a567-0e02b2c3d47",	/* too short */
		"f47ac10b-58cc-4372-a567-0e02b2c3d4790",	/* too long */
		"f47ac10b58cc-4372-a567-0e02b2c3d4790",	/* dash moved */
		"f47ac10b-58cc4-372-a567-0e02b2c3d479",
		"f47ac10b-58cc-4372-a5670e02-b2c3d479",
		"f47ac10b-58cc-4372-a567-0e02b2c3d479\n",
		"f47ac10b-58cc-4372-a567_0e02b2c3d479",
		"f47ac10bx58cc-4372-a567-0e02b2c3d479",
		"f47ac10b-58cc-4372-a567-0e02b2c3d4g9",
		"{f47ac10b-58cc-4372-a567-0e02b2c3d479}",
		"f47ac10b58cc4372a5670e02b2c3d479",
		" f47ac10b-58cc-4372-a567-0e02b2c3d479",
		"------------------------------------",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(cry_is_uuid(good[i]), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cry_is_uuid(bad[i]) != 0)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(cry_is_uuid(NULL), 0);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_sha256_vectors),
    cmocka_unit_test(test_hmac_rfc4231),
    cmocka_unit_test(test_hmac_empty),
    cmocka_unit_test(test_hex),
    cmocka_unit_test(test_eq),
    cmocka_unit_test(test_random),
    cmocka_unit_test(test_wipe),
    cmocka_unit_test(test_b64u_rfc4648),
    cmocka_unit_test(test_b64u_url_alphabet),
    cmocka_unit_test(test_b64u_roundtrip),
    cmocka_unit_test(test_b64u_reject),
    cmocka_unit_test(test_b64u_canonical_tails),
    cmocka_unit_test(test_password_roundtrip),
    cmocka_unit_test(test_password_tampered),
    cmocka_unit_test(test_password_rfc7914),
    cmocka_unit_test(test_password_strict_forms),
    cmocka_unit_test(test_password_lengths),
    cmocka_unit_test(test_password_malformed),
    cmocka_unit_test(test_uuid),
    cmocka_unit_test(test_is_uuid))
