/*
 * Unit tests for the lines thread (agent/lines.c): what a child writes
 * on its two pipes reaches the callback one escaped line at a time, a
 * giant line is cut, and lines_finish takes what is in the pipes even
 * while someone still holds their write ends. The .c files are
 * included, as test_agentd.c does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include "../../agent/logsafe.c"
#include "../../agent/lines.c"

#define NSEEN	16

struct seen {
	pthread_mutex_t	 mu;
	int		 n;
	char		 stream[NSEEN][8];
	char		*line[NSEEN];
};

static void
on_line(void *cls, const char *stream, const char *line)
{
	struct seen *s = cls;

	pthread_mutex_lock(&s->mu);
	if (s->n < NSEEN) {
		snprintf(s->stream[s->n], sizeof(s->stream[0]), "%s", stream);
		s->line[s->n] = strdup(line);
		s->n++;
	}
	pthread_mutex_unlock(&s->mu);
}

static void
seen_free(struct seen *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		free(s->line[i]);
	pthread_mutex_destroy(&s->mu);
}

static void
put(int fd, const char *text, size_t n)
{
	assert_int_equal(write(fd, text, n), (ssize_t)n);
}

static void
test_lines(void **state)
{
	struct seen s;
	struct lines *l;
	int out[2], err[2], i, nout = 0, nerr = 0;
	char *big, *got[2][NSEEN];

	(void)state;
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.mu, NULL);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	l = lines_start(out[0], err[0], on_line, &s);
	assert_non_null(l);
	put(out[1], "one\r\ntwo\n", 9);
	put(err[1], "\x1b[2Jclear\n", 10);
	/* A giant line: its head, then nothing of the rest. */
	big = malloc(LINES_MAX + 100);
	assert_non_null(big);
	memset(big, 'x', LINES_MAX + 100);
	big[LINES_MAX + 99] = '\n';
	put(out[1], big, LINES_MAX + 100);
	free(big);
	put(out[1], "after\n", 6);
	/* No newline at the end: the tail counts when the pipe ends. */
	put(err[1], "tail", 4);
	close(err[1]);
	/* out[1] stays open, as a grandchild's copy would. */
	usleep(200000);
	lines_finish(l);
	close(out[1]);
	assert_int_equal(s.n, 6);
	/* In order within each pipe; the two pipes interleave freely. */
	for (i = 0; i < s.n; i++) {
		if (strcmp(s.stream[i], "stdout") == 0)
			got[0][nout++] = s.line[i];
		else
			got[1][nerr++] = s.line[i];
	}
	assert_int_equal(nout, 4);
	assert_int_equal(nerr, 2);
	assert_string_equal(got[0][0], "one");
	assert_string_equal(got[0][1], "two");
	assert_int_equal(strlen(got[0][2]), LINES_MAX);
	assert_int_equal(strspn(got[0][2], "x"), LINES_MAX);
	assert_string_equal(got[0][3], "after");
	/* Escaped on the way (logsafe.h). */
	assert_string_equal(got[1][0], "\\x1b[2Jclear");
	assert_string_equal(got[1][1], "tail");
	seen_free(&s);
	lines_finish(NULL);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_lines))
