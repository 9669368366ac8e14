/*
 * unit.h: what the cmocka suites share. Include it after <cmocka.h>.
 *
 * UNIT_MAIN(setup, teardown, tests...) is main(): it runs the tests, each
 * a cmocka_unit_test(...) line, as one group with that setup and teardown
 * (NULL for none), and exits with the number that failed.
 *
 * ASSERT_SORTS(pred, good, bad): pred says yes to every string of the
 * array good and no to every one of bad; a wrong answer fails the test,
 * naming the string.
 *
 * NITEMS(a) is the number of elements of the array a. struct strpair is
 * a row of a case table of two strings: an input and what it gives, or
 * the two halves of one input.
 */
#ifndef FS_TEST_UNIT_H
#define FS_TEST_UNIT_H

#include <stddef.h>

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

struct strpair {
	const char	*a;
	const char	*b;
};

#define UNIT_MAIN(setup, teardown, ...)					\
int									\
main(void)								\
{									\
	const struct CMUnitTest tests[] = { __VA_ARGS__ };		\
									\
	return cmocka_run_group_tests(tests, setup, teardown);		\
}

static inline void
assert_sorts(int (*pred)(const char *), const char *const *good,
    size_t ngood, const char *const *bad, size_t nbad)
{
	size_t i;

	for (i = 0; i < ngood; i++)
		if (!pred(good[i]))
			fail_msg("refused \"%s\"", good[i]);
	for (i = 0; i < nbad; i++)
		if (pred(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
}

#define ASSERT_SORTS(pred, good, bad)					\
	assert_sorts((pred), (good), NITEMS(good), (bad), NITEMS(bad))

#endif
