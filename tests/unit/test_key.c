/*
 * Unit tests for key.c: the accept and reject tables of DESIGN §2, NFC,
 * and the logical <-> physical mapping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "key.h"

#define TID	"0b9e6f1c-3a52-4c7e-9d4b-2f1a8c6e5d30"
#define TID2	"0b9e6f1c-3a52-4c7e-9d4b-2f1a8c6e5d31"

struct accept {
	const char	*in;
	const char	*want;	/* NULL: the input itself */
};

static const struct accept accepts[] = {
	{ "a", NULL },
	{ "file.txt", NULL },
	{ "a/b/c.txt", NULL },
	{ "uploads/photo.jpg", NULL },
	{ "photos/\xc3\xa9t\xc3\xa9.jpg", NULL },		/* été, NFC */
	{ "nb\xc2\xa0sp", NULL },			/* U+00A0, just past C1 */
	{ "\xe6\x96\x87\xe4\xbb\xb6/\xe6\x8a\xa5\xe5\x91\x8a.pdf", NULL }, /* CJK */
	{ "\xf0\x9f\x98\x80/\xf0\x9f\x8e\x89.png", NULL },	/* emoji */
	{ ".hidden", NULL },
	{ "a/.hidden/b", NULL },
	{ "a..b", NULL },
	{ "...", NULL },
	{ ".tmp.abc", NULL },
	{ "a b/c d", NULL },
	{ "tenantsx/a", NULL },		/* only the exact segment is reserved */
	{ "x/tenants/a", NULL },
	{ "Tenants/a", NULL },
	{ "a~!@#$%^&*()_+=-`[]{};',:\"<>?|", NULL },
	/* decomposed é (e + U+0301) becomes precomposed U+00E9 */
	{ "e\xcc\x81", "\xc3\xa9" },
	{ "cafe\xcc\x81/menu.pdf", "caf\xc3\xa9/menu.pdf" },
	/* U+212B ANGSTROM SIGN is a singleton: NFC maps it to U+00C5 */
	{ "\xe2\x84\xab", "\xc3\x85" },
	/* U+037E GREEK QUESTION MARK canonically maps to ';' */
	{ "a\xcd\xbe", "a;" },
};

struct reject {
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	const char	*msg;	/* a substring of the expected message */
};

static const struct reject rejects[] = {
	{ "", 0, "empty" },
	{ "/a", 0, "start with '/'" },
	{ "/", 0, "start with '/'" },
	{ "a/", 0, "end with '/'" },
	{ "a//b", 0, "empty segment" },
	{ ".", 0, "'.' or '..'" },
	{ "./a", 0, "'.' or '..'" },
	{ "a/./b", 0, "'.' or '..'" },
	{ "a/.", 0, "'.' or '..'" },
	{ "a/../b", 0, "'.' or '..'" },
	{ "..", 0, "'.' or '..'" },
	{ "../etc/passwd", 0, "'.' or '..'" },
	{ "a/..", 0, "'.' or '..'" },
	{ "tenants/x", 0, "tenants" },
	{ "tenants", 0, "tenants" },
	{ "tenants/" TID "/a", 0, "tenants" },
	{ "a\\b", 0, "backslash" },
	{ "..\\a", 0, "backslash" },
	{ "a\x01" "b", 0, "control characters" },
	{ "a\x1f", 0, "control characters" },
	{ "a\nb", 0, "control characters" },
	{ "a\rb", 0, "control characters" },
	{ "a\tb", 0, "control characters" },
	{ "a\x7f", 0, "control characters" },
	{ "a\xc2\x80" "b", 0, "control characters" },	/* U+0080, first C1 */
	{ "a\xc2\x9b" "b", 0, "control characters" },	/* U+009B, CSI */
	{ "a\xc2\x9f", 0, "control characters" },	/* U+009F, last C1 */
	{ "a\0b", 3, "NUL" },
	{ "ab\0", 3, "NUL" },
	{ "\xff", 0, "UTF-8" },
	{ "a\xc3", 0, "UTF-8" },			/* truncated sequence */
	{ "\xc0\xaf", 0, "UTF-8" },			/* overlong '/' */
	{ "\xe0\x80\xae", 0, "UTF-8" },			/* overlong '.' */
	{ "\xed\xa0\x80", 0, "UTF-8" },			/* lone surrogate */
	{ "\xf4\x90\x80\x80", 0, "UTF-8" },		/* above U+10FFFF */
	{ "\x80", 0, "UTF-8" },				/* stray continuation */
};

static void
test_accept(void **state)
{
	size_t		 i;
	char		*out;
	const char	*msg;
	const char	*want;

	(void)state;
	for (i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		out = NULL;
		msg = "unset";
		want = accepts[i].want != NULL ? accepts[i].want : accepts[i].in;
		if (key_validate(accepts[i].in, strlen(accepts[i].in), &out,
		    &msg) != 0)
			fail_msg("accept[%zu] \"%s\" refused: %s", i,
			    accepts[i].in, msg);
		assert_null(msg);
		assert_non_null(out);
		assert_string_equal(out, want);
		free(out);
	}
}

static void
test_reject(void **state)
{
	size_t		 i, len;
	char		*out;
	const char	*msg;

	(void)state;
	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		out = (char *)"sentinel";
		msg = NULL;
		len = rejects[i].len != 0 ? rejects[i].len :
		    strlen(rejects[i].in);
		if (key_validate(rejects[i].in, len, &out, &msg) != -1)
			fail_msg("reject[%zu] accepted", i);
		assert_null(out);
		assert_non_null(msg);
		if (strstr(msg, rejects[i].msg) == NULL)
			fail_msg("reject[%zu]: message \"%s\" lacks \"%s\"", i,
			    msg, rejects[i].msg);
	}
}

static void
test_null_input(void **state)
{
	char		*out = NULL;
	const char	*msg = NULL;

	(void)state;
	assert_int_equal(key_validate(NULL, 0, &out, &msg), -1);
	assert_null(out);
	assert_non_null(msg);
	/* msg is optional */
	assert_int_equal(key_validate("a//b", 4, &out, NULL), -1);
	assert_null(out);
}

/* Fill buf with n copies of unit, then NUL terminate; returns buf. */
static char *
repeat(char *buf, const char *unit, size_t n)
{
	size_t	 ulen = strlen(unit), i;

	for (i = 0; i < n; i++)
		memcpy(buf + i * ulen, unit, ulen);
	buf[n * ulen] = '\0';
	return buf;
}

/* The len bytes of in are a key whose NFC form is outlen bytes long. */
static void
length_ok(const char *in, size_t len, size_t outlen)
{
	char		*out = NULL;
	const char	*msg = NULL;

	assert_int_equal(key_validate(in, len, &out, &msg), 0);
	assert_int_equal(strlen(out), outlen);
	free(out);
}

/* The len bytes of in are refused as longer than the limit. */
static void
length_refused(const char *in, size_t len)
{
	char		*out = NULL;
	const char	*msg = NULL;

	assert_int_equal(key_validate(in, len, &out, &msg), -1);
	assert_null(out);
	assert_non_null(strstr(msg, "1024"));
}

static void
test_length(void **state)
{
	static char	 buf[8 * KEY_MAX];

	(void)state;
	/* Exactly KEY_MAX bytes: accepted. */
	repeat(buf, "a", KEY_MAX);
	length_ok(buf, KEY_MAX, KEY_MAX);

	/* KEY_MAX bytes of 2-byte characters with a segment break. */
	repeat(buf, "\xc3\xa9", KEY_MAX / 2);
	buf[100] = '/';
	buf[101] = 'x';
	length_ok(buf, KEY_MAX, KEY_MAX);

	/* One more byte: refused. */
	repeat(buf, "a", KEY_MAX + 1);
	length_refused(buf, KEY_MAX + 1);

	/* Far too long: refused before any decoding. */
	repeat(buf, "a", 4 * KEY_MAX + 1);
	length_refused(buf, 4 * KEY_MAX + 1);
}

/* The limit applies to the NFC form, not to what the client sent. */
static void
test_length_after_nfc(void **state)
{
	static char	 buf[8 * KEY_MAX];

	(void)state;
	/* 400 x (e + U+0301) = 1200 bytes in, 400 x U+00E9 = 800 bytes out. */
	repeat(buf, "e\xcc\x81", 400);
	assert_int_equal(strlen(buf), 1200);
	length_ok(buf, 1200, 800);

	/*
	 * U+0958 is a composition exclusion: NFC decomposes it into U+0915
	 * U+093C, 3 bytes into 6. 256 of them are 768 bytes in, 1536 out.
	 */
	repeat(buf, "\xe0\xa5\x98", 256);
	length_refused(buf, 768);
}

static void
test_nfc_bytes(void **state)
{
	char		*out = NULL, *a = NULL, *b = NULL;
	const char	*msg = NULL;
	const char	*pre = "docs/r\xc3\xa9sum\xc3\xa9.pdf";
	const char	*dec = "docs/re\xcc\x81sume\xcc\x81.pdf";

	(void)state;
	/* decomposed: 65 cc 81 -> c3 a9 */
	assert_int_equal(key_validate("e\xcc\x81", 3, &out, &msg), 0);
	assert_int_equal(strlen(out), 2);
	assert_int_equal((unsigned char)out[0], 0xc3);
	assert_int_equal((unsigned char)out[1], 0xa9);
	free(out);
	out = NULL;
	/* Both spellings of one name give one key. */
	assert_int_equal(key_validate(pre, strlen(pre), &a, &msg), 0);
	assert_int_equal(key_validate(dec, strlen(dec), &b, &msg), 0);
	assert_string_equal(a, b);
	assert_string_equal(a, pre);
	free(a);
	free(b);
	/* len, not strlen, bounds the input: the tail is not looked at. */
	assert_int_equal(key_validate("abc/", 3, &out, &msg), 0);
	assert_string_equal(out, "abc");
	free(out);
}

static void
test_physical_logical(void **state)
{
	char		*p;
	const char	*l;

	(void)state;
	p = key_physical(TID, "a/b.txt");
	assert_non_null(p);
	assert_string_equal(p, "tenants/" TID "/a/b.txt");
	assert_int_equal(strlen("tenants/" TID "/"), KEY_TENANT_PREFIX_LEN);

	l = key_logical(TID, p);
	assert_ptr_equal(l, p + KEY_TENANT_PREFIX_LEN);
	assert_string_equal(l, "a/b.txt");

	/* Another tenant's key is not ours. */
	assert_null(key_logical(TID2, p));
	free(p);

	/* The prefix must end exactly at the tenant id. */
	assert_null(key_logical(TID, "tenants/" TID "x/a"));
	assert_null(key_logical(TID, "tenants/" TID));
	assert_null(key_logical(TID, "tenants/" TID "/"));
	assert_null(key_logical(TID, "tenants/" "0b9e6f1c/a"));
	assert_null(key_logical(TID, "TENANTS/" TID "/a"));
	assert_null(key_logical(TID, "/tenants/" TID "/a"));
	assert_null(key_logical(TID, "a"));
	assert_null(key_logical(TID, ""));
	assert_null(key_logical(TID, NULL));
	assert_null(key_logical(NULL, "tenants/" TID "/a"));
}

static void
test_physical_bad_tenant(void **state)
{
	static const char *const bad[] = {
		"",
		"0b9e6f1c",
		"0B9E6F1C-3A52-4C7E-9D4B-2F1A8C6E5D30",	/* upper case */
		"0b9e6f1c-3a52-4c7e-9d4b-2f1a8c6e5d3",		/* 35 */
		"0b9e6f1c-3a52-4c7e-9d4b-2f1a8c6e5d300",	/* 37 */
		"0b9e6f1c_3a52-4c7e-9d4b-2f1a8c6e5d30",
		"0b9e6f1c-3a52-4c7e-9d4b-2f1a8c6e5d3g",
		"../../../../../../../../../../etc/xx",	/* 36 chars */
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (key_physical(bad[i], "a") != NULL)
			fail_msg("tenant id [%zu] accepted", i);
		assert_null(key_logical(bad[i], "tenants/x/a"));
	}
	assert_null(key_physical(NULL, "a"));
	assert_null(key_physical(TID, NULL));
	assert_null(key_physical(TID, ""));
	assert_null(key_physical(TID, "/a"));
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_accept),
    cmocka_unit_test(test_reject),
    cmocka_unit_test(test_null_input),
    cmocka_unit_test(test_length),
    cmocka_unit_test(test_length_after_nfc),
    cmocka_unit_test(test_nfc_bytes),
    cmocka_unit_test(test_physical_logical),
    cmocka_unit_test(test_physical_bad_tenant))
