/*
 * Unit tests for the tus header parsers (common/tus.c): base64 with
 * padding, Upload-Metadata and Upload-Checksum, as case tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit.h"
#include "tus.h"

static void
test_b64(void **state)
{
	static const struct strpair good[] = {
		{ "", "" }, { "YQ==", "a" }, { "YWI=", "ab" }, { "YWJj", "abc" },
		{ "Pz8/", "???" }, { "Pj4+", ">>>" },
	};
	static const char *const bad[] = {
		"Y", "YQ", "YQ=", "Y===", "YQ=a", "YR==", "-_-_", "YW J", "====",
		"YQ==YQ==",
	};
	unsigned char *d;
	size_t i, n;

	(void)state;
	for (i = 0; i < NITEMS(good); i++) {
		d = tus_b64_decode(good[i].a, strlen(good[i].a), &n);
		assert_non_null(d);
		assert_int_equal(n, strlen(good[i].b));
		assert_memory_equal(d, good[i].b, n);
		free(d);
	}
	for (i = 0; i < NITEMS(bad); i++) {
		d = tus_b64_decode(bad[i], strlen(bad[i]), &n);
		if (d != NULL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

static void
test_meta(void **state)
{
	static const char *const bad[] = {
		"key YQ", "key YQ==,key YQ==",
		"key YQ==,,x", "k\x01 YQ==", "key AA==", "key YQ==,",
		",key YQ==",
	};
	struct tus_meta m;
	const char *msg;
	size_t i;

	(void)state;
	assert_int_equal(tus_meta_parse("key YS9i,filetype dGV4dC9wbGFpbg==,"
	    "name eC50eHQ=,flag,folderId MTIz", &m, &msg), 0);
	assert_string_equal(m.key, "a/b");
	assert_string_equal(m.ctype, "text/plain");
	assert_string_equal(m.folder, "123");
	tus_meta_free(&m);
	/* contentType and its alias are one key: both are refused. */
	assert_int_equal(tus_meta_parse("contentType YQ==,filetype YQ==", &m,
	    &msg), -1);
	tus_meta_free(&m);
	/* A key without a value (tus 1.0 allows it) is "". */
	assert_int_equal(tus_meta_parse("key", &m, &msg), 0);
	assert_string_equal(m.key, "");
	tus_meta_free(&m);
	assert_int_equal(tus_meta_parse("", &m, &msg), 0);
	assert_null(m.key);
	tus_meta_free(&m);
	for (i = 0; i < NITEMS(bad); i++) {
		if (tus_meta_parse(bad[i], &m, &msg) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(msg);
		tus_meta_free(&m);
	}
}

static void
test_checksum(void **state)
{
	/* sha256("hello") */
	static const unsigned char want[CRY_SHA256_LEN] = {
		0x2c, 0xf2, 0x4d, 0xba, 0x5f, 0xb0, 0xa3, 0x0e, 0x26, 0xe8, 0x3b,
		0x2a, 0xc5, 0xb9, 0xe2, 0x9e, 0x1b, 0x16, 0x1e, 0x5c, 0x1f, 0xa7,
		0x42, 0x5e, 0x73, 0x04, 0x33, 0x62, 0x93, 0x8b, 0x98, 0x24,
	};
	unsigned char got[CRY_SHA256_LEN];
	const char *msg;

	(void)state;
	assert_int_equal(tus_checksum_parse("sha256 LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
	    got, &msg), 0);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(tus_checksum_parse("sha1 qvTGHdzF6KLavt4PO0gs2a6pQ00=",
	    got, &msg), -1);
	assert_int_equal(tus_checksum_parse("sha256 YQ==", got, &msg), -1);
	assert_int_equal(tus_checksum_parse("sha256", got, &msg), -1);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_b64),
    cmocka_unit_test(test_meta),
    cmocka_unit_test(test_checksum))
