/*
 * Unit tests for common/relay.c: bytes arrive whole and in order through
 * both kinds of relay, errors reach the caller, and a relay can be freed
 * in the middle of a transfer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay.h"

#define TOTAL	(3 * 1000 * 1000 + 7)	/* not a multiple of any buffer */

/* The byte at offset i of the test stream. */
static unsigned char
byte_at(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

struct sink_state {
	size_t	 got;		/* bytes seen, in order */
	int	 bad;		/* a byte out of place */
	size_t	 fail_after;	/* fail the call that passes this (0: never) */
	int	 calls;
	int	 slow;		/* sleep a little in each call */
};

static int
sink_check(void *arg, const void *buf, size_t len)
{
	struct sink_state *s = arg;
	const unsigned char *p = buf;
	size_t i;

	s->calls++;
	if (s->slow)
		usleep(200);
	for (i = 0; i < len; i++)
		if (p[i] != byte_at(s->got + i))
			s->bad = 1;
	s->got += len;
	if (s->fail_after != 0 && s->got > s->fail_after)
		return 42;
	return 0;
}

/* Push TOTAL bytes through a sink in pieces of step bytes. */
static int
push_all(struct relay *r, size_t step, size_t *pushed)
{
	unsigned char *b;
	size_t cap, n, i;

	*pushed = 0;
	while (*pushed < TOTAL) {
		b = relay_buf(r, &cap);
		if (b == NULL)
			return -1;
		n = step < cap ? step : cap;
		if (n > TOTAL - *pushed)
			n = TOTAL - *pushed;
		for (i = 0; i < n; i++)
			b[i] = byte_at(*pushed + i);
		relay_push(r, n);
		*pushed += n;
	}
	return 0;
}

static void
test_sink_in_order(void **state)
{
	struct sink_state s;
	struct relay *r;
	size_t pushed;
	int slow;

	(void)state;
	for (slow = 0; slow <= 1; slow++) {
		memset(&s, 0, sizeof(s));
		s.slow = slow;
		r = relay_sink(sink_check, &s, 3, 64 * 1024);
		assert_non_null(r);
		assert_int_equal(push_all(r, 50000, &pushed), 0);
		assert_int_equal(relay_finish(r), 0);
		/* After relay_finish every byte has been written. */
		assert_int_equal(s.got, TOTAL);
		assert_int_equal(s.bad, 0);
		relay_free(r);
	}
}

static void
test_sink_error(void **state)
{
	struct sink_state s;
	struct relay *r;
	size_t pushed;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.fail_after = 100000;
	r = relay_sink(sink_check, &s, 2, 32 * 1024);
	assert_non_null(r);
	/* The caller learns of the failure and stops early. */
	assert_int_equal(push_all(r, 32 * 1024, &pushed), -1);
	assert_true(pushed < TOTAL);
	assert_int_equal(relay_finish(r), 42);
	/* fn is not called again after it failed (the 4th piece). */
	assert_int_equal(s.calls, 4);
	assert_int_equal(s.got, 4 * 32 * 1024);
	relay_free(r);
}

static void
test_sink_free_midway(void **state)
{
	struct sink_state s;
	struct relay *r;
	size_t cap;
	void *b;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.slow = 1;
	r = relay_sink(sink_check, &s, 4, 4096);
	assert_non_null(r);
	b = relay_buf(r, &cap);
	assert_non_null(b);
	assert_int_equal(cap, 4096);
	memset(b, 0, cap);
	relay_push(r, cap);
	relay_free(r);	/* no finish: must neither hang nor leak */
	relay_free(NULL);
}

struct source_state {
	size_t	 off;
	size_t	 fail_at;	/* return -1 once off reaches this (0: never) */
	size_t	 step;
};

static ssize_t
source_gen(void *arg, void *buf, size_t cap)
{
	struct source_state *s = arg;
	unsigned char *p = buf;
	size_t n, i;

	if (s->fail_at != 0 && s->off >= s->fail_at)
		return -1;
	n = s->step < cap ? s->step : cap;
	if (n > TOTAL - s->off)
		n = TOTAL - s->off;
	for (i = 0; i < n; i++)
		p[i] = byte_at(s->off + i);
	s->off += n;
	return (ssize_t)n;
}

static void
test_source_in_order(void **state)
{
	struct source_state s;
	struct relay *r;
	const void *b;
	const unsigned char *p;
	size_t got = 0, i;
	ssize_t n;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.step = 70000;
	r = relay_source(source_gen, &s, 4, 64 * 1024);
	assert_non_null(r);
	while ((n = relay_pull(r, &b)) > 0) {
		p = b;
		for (i = 0; i < (size_t)n; i++)
			if (p[i] != byte_at(got + i))
				fail_msg("byte %zu out of place", got + i);
		got += (size_t)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(got, TOTAL);
	/* The end stays the end. */
	assert_int_equal(relay_pull(r, &b), 0);
	assert_null(b);
	relay_free(r);
}

static void
test_source_error_and_free(void **state)
{
	struct source_state s;
	struct relay *r;
	const void *b;
	size_t got = 0;
	ssize_t n;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.step = 10000;
	s.fail_at = 55000;
	r = relay_source(source_gen, &s, 2, 16 * 1024);
	assert_non_null(r);
	while ((n = relay_pull(r, &b)) > 0)
		got += (size_t)n;
	/* Everything before the failure arrives, then the error. */
	assert_int_equal(n, -1);
	assert_int_equal(got, 60000);
	relay_free(r);

	/* Freed after one piece, with the thread still producing. */
	memset(&s, 0, sizeof(s));
	s.step = 4096;
	r = relay_source(source_gen, &s, 2, 4096);
	assert_non_null(r);
	assert_int_equal(relay_pull(r, &b), 4096);
	relay_free(r);
}

static void
test_bounds(void **state)
{
	struct sink_state s;

	(void)state;
	assert_null(relay_sink(sink_check, &s, 1, 4096));
	assert_null(relay_sink(sink_check, &s, RELAY_MAX_NBUF + 1, 4096));
	assert_null(relay_sink(sink_check, &s, 2, 0));
	assert_null(relay_sink(sink_check, &s, 2, RELAY_MAX_BUF + 1));
	assert_null(relay_sink(NULL, &s, 2, 4096));
	assert_null(relay_source(NULL, &s, 2, 4096));
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_sink_in_order),
    cmocka_unit_test(test_sink_error),
    cmocka_unit_test(test_sink_free_midway),
    cmocka_unit_test(test_source_in_order),
    cmocka_unit_test(test_source_error_and_free),
    cmocka_unit_test(test_bounds))
