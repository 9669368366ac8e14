/*
 * Unit tests for common/range.c: every Range form against small and
 * awkward object sizes (RFC 9110 §14.1.2, §14.2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <limits.h>
#include <stdio.h>

#include "range.h"

struct range_case {
	const char		*header;
	long long		 size;
	enum range_result	 want;
	long long		 start;	/* when RANGE_OK */
	long long		 len;
};

static const struct range_case cases[] = {
	/* No header, or one we ignore: the whole body. */
	{ NULL, 10, RANGE_NONE, 0, 0 },
	{ "", 10, RANGE_NONE, 0, 0 },
	{ "bytes=", 10, RANGE_NONE, 0, 0 },
	{ "bytes=-", 10, RANGE_NONE, 0, 0 },
	{ "bytes", 10, RANGE_NONE, 0, 0 },
	{ "bytes=5-2", 10, RANGE_NONE, 0, 0 },
	{ "bytes=0-1,3-4", 10, RANGE_NONE, 0, 0 },
	{ "bytes=0-1, 3-4", 10, RANGE_NONE, 0, 0 },
	{ "bytes=0-1,", 10, RANGE_NONE, 0, 0 },
	{ "items=0-1", 10, RANGE_NONE, 0, 0 },
	{ "byte=0-1", 10, RANGE_NONE, 0, 0 },
	{ "bytes 0-1", 10, RANGE_NONE, 0, 0 },
	{ "bytes = 0-1", 10, RANGE_NONE, 0, 0 },
	{ "bytes=a-b", 10, RANGE_NONE, 0, 0 },
	{ "bytes=1-x", 10, RANGE_NONE, 0, 0 },
	{ "bytes=+1-2", 10, RANGE_NONE, 0, 0 },
	{ "bytes=-+2", 10, RANGE_NONE, 0, 0 },
	{ "bytes=--2", 10, RANGE_NONE, 0, 0 },
	{ "bytes=1-2-3", 10, RANGE_NONE, 0, 0 },
	{ "bytes= 1-2", 10, RANGE_NONE, 0, 0 },
	{ "bytes=1 -2", 10, RANGE_NONE, 0, 0 },
	{ "bytes=0x1-2", 10, RANGE_NONE, 0, 0 },
	/* Huge numbers: more than 19 digits, or past LLONG_MAX. */
	{ "bytes=99999999999999999999-", 10, RANGE_NONE, 0, 0 },
	{ "bytes=0-99999999999999999999", 10, RANGE_NONE, 0, 0 },
	{ "bytes=-99999999999999999999", 10, RANGE_NONE, 0, 0 },
	{ "bytes=9999999999999999999-", 10, RANGE_NONE, 0, 0 },
	{ "bytes=00000000000000000001-", 10, RANGE_NONE, 0, 0 },
	/* 19 digits that fit: unsatisfiable, or clamped. */
	{ "bytes=9223372036854775807-", 10, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=0-9223372036854775807", 10, RANGE_OK, 0, 10 },
	{ "bytes=-9223372036854775807", 10, RANGE_OK, 0, 10 },
	{ "bytes=0-", LLONG_MAX, RANGE_OK, 0, LLONG_MAX },
	{ "bytes=-1", LLONG_MAX, RANGE_OK, LLONG_MAX - 1, 1 },
	/* Simple forms. */
	{ "bytes=0-0", 10, RANGE_OK, 0, 1 },
	{ "bytes=0-1", 10, RANGE_OK, 0, 2 },	/* Safari's probe */
	{ "bytes=2-5", 10, RANGE_OK, 2, 4 },
	{ "bytes=9-9", 10, RANGE_OK, 9, 1 },
	{ "bytes=3-", 10, RANGE_OK, 3, 7 },
	{ "bytes=9-", 10, RANGE_OK, 9, 1 },
	{ "bytes=0-", 10, RANGE_OK, 0, 10 },
	{ "bytes=0-9", 10, RANGE_OK, 0, 10 },
	{ "bytes=007-008", 10, RANGE_OK, 7, 2 },
	/* Last-pos past the end is clamped. */
	{ "bytes=5-100", 10, RANGE_OK, 5, 5 },
	{ "bytes=0-10", 10, RANGE_OK, 0, 10 },
	/* First-pos at or past the end. */
	{ "bytes=10-", 10, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=10-20", 10, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=11-", 10, RANGE_UNSATISFIABLE, 0, 0 },
	/* Suffixes. */
	{ "bytes=-1", 10, RANGE_OK, 9, 1 },
	{ "bytes=-4", 10, RANGE_OK, 6, 4 },
	{ "bytes=-10", 10, RANGE_OK, 0, 10 },
	{ "bytes=-11", 10, RANGE_OK, 0, 10 },
	{ "bytes=-0", 10, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=-000", 10, RANGE_UNSATISFIABLE, 0, 0 },
	/* Case of the unit and outer spaces are tolerated. */
	{ "Bytes=1-2", 10, RANGE_OK, 1, 2 },
	{ "BYTES=-2", 10, RANGE_OK, 8, 2 },
	{ "  bytes=1-2  ", 10, RANGE_OK, 1, 2 },
	{ "\tbytes=1-\t", 10, RANGE_OK, 1, 9 },
	/* Size 0: nothing is satisfiable, garbage is still ignored. */
	{ "bytes=0-", 0, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=0-0", 0, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=-1", 0, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=-0", 0, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=0-1,2-3", 0, RANGE_NONE, 0, 0 },
	{ "items=0-1", 0, RANGE_NONE, 0, 0 },
	{ "bytes=5-2", 0, RANGE_NONE, 0, 0 },
	/* Size 1. */
	{ "bytes=0-0", 1, RANGE_OK, 0, 1 },
	{ "bytes=0-", 1, RANGE_OK, 0, 1 },
	{ "bytes=0-5", 1, RANGE_OK, 0, 1 },
	{ "bytes=-1", 1, RANGE_OK, 0, 1 },
	{ "bytes=-5", 1, RANGE_OK, 0, 1 },
	{ "bytes=1-", 1, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=1-1", 1, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=-0", 1, RANGE_UNSATISFIABLE, 0, 0 },
	/* A negative size is a caller bug: serve nothing special. */
	{ "bytes=0-1", -1, RANGE_NONE, 0, 0 },
};

static void
test_range_table(void **state)
{
	const struct range_case *c;
	long long start, len;
	enum range_result got;
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		start = -42;
		len = -42;
		got = range_parse(c->header, c->size, &start, &len);
		if (got != c->want ||
		    (got == RANGE_OK && (start != c->start || len != c->len)) ||
		    (got != RANGE_OK && (start != -42 || len != -42))) {
			print_error("case %zu: \"%s\" size %lld: got %d "
			    "start %lld len %lld, want %d start %lld "
			    "len %lld\n", i,
			    c->header != NULL ? c->header : "(null)",
			    c->size, (int)got, start, len, (int)c->want,
			    c->start, c->len);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Every satisfiable answer lies inside the object. */
static void
test_range_in_bounds(void **state)
{
	static const char *hdrs[] = {
		"bytes=0-", "bytes=0-0", "bytes=-1", "bytes=-3", "bytes=2-",
		"bytes=1-3", "bytes=3-100", "bytes=-100", "bytes=4-4",
	};
	long long size, start, len;
	size_t i;

	(void)state;
	for (size = 0; size < 8; size++) {
		for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
			if (range_parse(hdrs[i], size, &start, &len) !=
			    RANGE_OK)
				continue;
			assert_true(start >= 0);
			assert_true(len >= 1);
			assert_true(start + len <= size);
		}
	}
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_range_table),
    cmocka_unit_test(test_range_in_bounds))
