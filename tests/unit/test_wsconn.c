/*
 * Unit tests for the agent's reconnect backoff to its relay
 * (wsconn_backoff_ms in agent/wsconn.c, docs/relay.md): 1 s doubling to
 * 60 s, up to a quarter less at random, scaled for the tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include "wsconn.h"

/* Without jitter: 1, 2, 4 ... 32 s, then 60 s however many tries. */
static void
test_backoff_doubles_to_a_minute(void **state)
{
	static const long long want[] = {
		1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000
	};
	size_t i;

	for (i = 0; i < NITEMS(want); i++)
		assert_int_equal(wsconn_backoff_ms((int)i, 0, 1.0), want[i]);
	assert_int_equal(wsconn_backoff_ms(16, 0, 1.0), 60000);
	assert_int_equal(wsconn_backoff_ms(1000, 0, 1.0), 60000);
}

/* The jitter takes up to a quarter off, never more, never adds. */
static void
test_backoff_jitter(void **state)
{
	unsigned r;
	int tries;
	long long full, ms;

	for (tries = 0; tries < 10; tries++) {
		full = wsconn_backoff_ms(tries, 0, 1.0);
		for (r = 0; r <= 65535; r += 4369) {
			ms = wsconn_backoff_ms(tries, r, 1.0);
			assert_true(ms <= full);
			assert_true(ms >= full - full / 4);
		}
		assert_int_equal(wsconn_backoff_ms(tries, 65535, 1.0),
		    full - full / 4);
		/* Out of range: as the largest. */
		assert_int_equal(wsconn_backoff_ms(tries, 1u << 20, 1.0),
		    full - full / 4);
	}
}

/* FILESTOR_AGENT_TIME_SCALE shrinks every wait, to 1 ms at least. */
static void
test_backoff_scale(void **state)
{
	assert_int_equal(wsconn_backoff_ms(0, 0, 0.05), 50);
	assert_int_equal(wsconn_backoff_ms(20, 0, 0.05), 3000);
	assert_int_equal(wsconn_backoff_ms(0, 0, 1e-9), 1);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_backoff_doubles_to_a_minute),
    cmocka_unit_test(test_backoff_jitter),
    cmocka_unit_test(test_backoff_scale))
