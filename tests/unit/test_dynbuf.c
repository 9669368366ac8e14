/*
 * Unit tests for common/dynbuf.c: growth, the hard cap (an overflow frees
 * everything and never truncates), formatting and handing over.
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

#include "dynbuf.h"

static void
test_grow(void **state)
{
	struct dynbuf d;
	char block[1000];
	size_t i;

	(void)state;
	dynbuf_init(&d, 100000);
	assert_string_equal(dynbuf_ptr(&d), "");
	assert_int_equal(dynbuf_len(&d), 0);
	memset(block, 'x', sizeof(block));
	for (i = 0; i < 100; i++) {
		block[0] = (char)('0' + i % 10);
		assert_int_equal(dynbuf_add(&d, block, sizeof(block)), FS_OK);
		assert_int_equal(dynbuf_len(&d), (i + 1) * sizeof(block));
		/* Always NUL terminated. */
		assert_int_equal(dynbuf_ptr(&d)[dynbuf_len(&d)], '\0');
	}
	for (i = 0; i < 100; i++)
		assert_int_equal(dynbuf_ptr(&d)[i * sizeof(block)],
		    '0' + (int)(i % 10));
	/* Exactly at the cap is fine, one more byte is not. */
	assert_int_equal(dynbuf_len(&d), 100000);
	assert_int_equal(dynbuf_add(&d, "", 0), FS_OK);
	assert_int_equal(dynbuf_add(&d, "y", 1), FS_TOO_LARGE);
	/* Freed, not truncated: nothing of the old contents is left. */
	assert_string_equal(dynbuf_ptr(&d), "");
	assert_int_equal(dynbuf_len(&d), 0);
	/* And usable again, with the same cap. */
	assert_int_equal(dynbuf_addstr(&d, "again"), FS_OK);
	assert_string_equal(dynbuf_ptr(&d), "again");
	dynbuf_free(&d);
	dynbuf_free(&d);	/* twice is harmless */
}

static void
test_cap(void **state)
{
	struct dynbuf d;

	(void)state;
	dynbuf_init(&d, 8);
	assert_int_equal(dynbuf_addstr(&d, "12345"), FS_OK);
	/* An add that would pass the cap adds nothing, not the part that
	   fits. */
	assert_int_equal(dynbuf_addstr(&d, "6789"), FS_TOO_LARGE);
	assert_string_equal(dynbuf_ptr(&d), "");
	assert_int_equal(dynbuf_addstr(&d, "12345678"), FS_OK);
	assert_int_equal(dynbuf_add(&d, "9", 1), FS_TOO_LARGE);
	/* A cap of 0 holds only the empty string. */
	dynbuf_init(&d, 0);
	assert_int_equal(dynbuf_add(&d, "", 0), FS_OK);
	assert_string_equal(dynbuf_ptr(&d), "");
	assert_int_equal(dynbuf_add(&d, "a", 1), FS_TOO_LARGE);
	dynbuf_free(&d);
	/* A huge length never wraps around. */
	dynbuf_init(&d, SIZE_MAX);
	assert_int_equal(dynbuf_addstr(&d, "ab"), FS_OK);
	assert_int_equal(dynbuf_add(&d, "c", SIZE_MAX - 1), FS_TOO_LARGE);
	assert_string_equal(dynbuf_ptr(&d), "");
	dynbuf_free(&d);
}

static void
test_binary_and_reset(void **state)
{
	struct dynbuf d;

	(void)state;
	dynbuf_init(&d, 64);
	assert_int_equal(dynbuf_add(&d, "a\0b", 3), FS_OK);
	assert_int_equal(dynbuf_len(&d), 3);
	assert_memory_equal(dynbuf_ptr(&d), "a\0b\0", 4);
	dynbuf_reset(&d);
	assert_int_equal(dynbuf_len(&d), 0);
	assert_string_equal(dynbuf_ptr(&d), "");
	assert_int_equal(dynbuf_addstr(&d, "c"), FS_OK);
	assert_string_equal(dynbuf_ptr(&d), "c");
	dynbuf_free(&d);
}

static void
test_addf(void **state)
{
	struct dynbuf d;
	char big[600];

	(void)state;
	dynbuf_init(&d, 1000);
	assert_int_equal(dynbuf_addf(&d, "%s=%d;", "a", 42), FS_OK);
	assert_string_equal(dynbuf_ptr(&d), "a=42;");
	/* Longer than the stack buffer of dynbuf_addf. */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(dynbuf_addf(&d, "[%s]", big), FS_OK);
	assert_int_equal(dynbuf_len(&d), 5 + 2 + 599);
	assert_int_equal(dynbuf_ptr(&d)[dynbuf_len(&d) - 1], ']');
	/* Over the cap: refused whole, and the buffer is freed. */
	assert_int_equal(dynbuf_addf(&d, "%s", big), FS_TOO_LARGE);
	assert_string_equal(dynbuf_ptr(&d), "");
	dynbuf_free(&d);
}

static void
test_take(void **state)
{
	struct dynbuf d;
	size_t len = 99;
	char *p;

	(void)state;
	dynbuf_init(&d, 16);
	/* Empty: a fresh "" the caller frees. */
	p = dynbuf_take(&d, &len);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	assert_int_equal(dynbuf_addstr(&d, "hello"), FS_OK);
	p = dynbuf_take(&d, &len);
	assert_string_equal(p, "hello");
	assert_int_equal(len, 5);
	/* d no longer owns it. */
	assert_string_equal(dynbuf_ptr(&d), "");
	assert_int_equal(dynbuf_len(&d), 0);
	dynbuf_free(&d);
	free(p);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_grow),
    cmocka_unit_test(test_cap),
    cmocka_unit_test(test_binary_and_reset),
    cmocka_unit_test(test_addf),
    cmocka_unit_test(test_take))
