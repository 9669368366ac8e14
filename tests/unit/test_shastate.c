/*
 * Unit tests for common/shastate.c: a SHA-256 saved as text and resumed
 * gives the digest of one pass (FIPS 180-2 vectors, and every split of a
 * buffer across blocks), and only text it wrote is taken back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "unit.h"
#include "shastate.h"

/* The digest of buf hashed in pieces split at each cut, saved between. */
static void
hash_split(const unsigned char *buf, size_t len, const size_t *cuts,
    size_t ncuts, unsigned char out[CRY_SHA256_LEN])
{
	char text[SHASTATE_LEN + 1];
	struct shastate *h;
	size_t i, at = 0, to;

	h = shastate_new(NULL);
	assert_non_null(h);
	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : len;
		shastate_update(h, buf + at, to - at);
		at = to;
		shastate_save(h, text);
		assert_int_equal(strlen(text), SHASTATE_LEN);
		shastate_free(h);
		h = shastate_new(text);
		assert_non_null(h);
	}
	shastate_digest(h, out);
	shastate_free(h);
}

static void
test_vectors(void **state)
{
	static const unsigned char abc[CRY_SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
		0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3,
		0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
		0x15, 0xad,
	};
	static const unsigned char empty[CRY_SHA256_LEN] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb,
		0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4,
		0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
		0xb8, 0x55,
	};
	static const size_t cut1[] = { 1 }, cut2[] = { 1, 2 };
	unsigned char got[CRY_SHA256_LEN];

	(void)state;
	hash_split((const unsigned char *)"abc", 3, NULL, 0, got);
	assert_memory_equal(got, abc, sizeof(abc));
	hash_split((const unsigned char *)"abc", 3, cut1, 1, got);
	assert_memory_equal(got, abc, sizeof(abc));
	hash_split((const unsigned char *)"abc", 3, cut2, 2, got);
	assert_memory_equal(got, abc, sizeof(abc));
	hash_split((const unsigned char *)"", 0, NULL, 0, got);
	assert_memory_equal(got, empty, sizeof(empty));
}

static void
test_splits(void **state)
{
	unsigned char buf[1000], want[CRY_SHA256_LEN], got[CRY_SHA256_LEN];
	size_t cuts[2], i;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	SHA256(buf, sizeof(buf), want);
	/* Around the 64-byte blocks and the 56-byte padding boundary. */
	for (i = 0; i < 200; i++) {
		cuts[0] = i;
		cuts[1] = i + 55 + i % 13;
		hash_split(buf, sizeof(buf), cuts, 2, got);
		assert_memory_equal(got, want, sizeof(want));
	}
}

static void
test_bad_text(void **state)
{
	char text[SHASTATE_LEN + 1], bad[SHASTATE_LEN + 2];
	struct shastate *h;

	(void)state;
	h = shastate_new(NULL);
	assert_non_null(h);
	shastate_update(h, "abc", 3);
	shastate_save(h, text);
	shastate_free(h);
	assert_null(shastate_new(""));
	assert_null(shastate_new("s1:"));
	memcpy(bad, text, sizeof(text));
	bad[0] = 'x';
	assert_null(shastate_new(bad));
	memcpy(bad, text, sizeof(text));
	bad[10] = 'G';
	assert_null(shastate_new(bad));
	memcpy(bad, text, sizeof(text));
	bad[SHASTATE_LEN] = '0';
	bad[SHASTATE_LEN + 1] = '\0';
	assert_null(shastate_new(bad));
	/* num (the bytes buffered) at most a block. */
	memcpy(bad, text, sizeof(text));
	memcpy(bad + 3 + 8 * 26, "00000040", 8);
	assert_null(shastate_new(bad));
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_vectors),
    cmocka_unit_test(test_splits),
    cmocka_unit_test(test_bad_text))
