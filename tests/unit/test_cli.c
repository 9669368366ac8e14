/*
 * Unit tests for common/cli.c: the argument splitter of filestorctl and
 * filestor-agent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const vals[] = { "--tenant", "--role", NULL };
static const char *const flags[] = { "--force", NULL };

static void
test_cli_split(void **state)
{
	char *argv[] = { "a@b", "--tenant", "t1", "--force", "x", "--role",
	    "--force" };
	struct cli_args ar;

	(void)state;
	assert_int_equal(cli_parse(7, argv, vals, flags, 2, &ar), 0);
	assert_int_equal(ar.npos, 2);
	assert_string_equal(ar.pos[0], "a@b");
	assert_string_equal(ar.pos[1], "x");
	assert_string_equal(cli_opt(&ar, "--tenant"), "t1");
	assert_string_equal(cli_opt(&ar, "--force"), "");
	/* A value that looks like an option is still the value. */
	assert_string_equal(cli_opt(&ar, "--role"), "--force");
	assert_null(cli_opt(&ar, "--other"));
	assert_int_equal(cli_parse(0, argv, vals, flags, 0, &ar), 0);
	assert_int_equal(ar.npos + ar.nopt, 0);
}

static void
test_cli_refusals(void **state)
{
	char *unknown[] = { "--nope" };
	char *novalue[] = { "--tenant" };
	char *pos[] = { "x" };
	char *many[] = { "a", "b", "c" };
	char *opts[CLI_MAX_OPTS + 1];
	struct cli_args ar;
	int i;

	(void)state;
	assert_int_equal(cli_parse(1, unknown, vals, flags, 4, &ar), -1);
	assert_int_equal(cli_parse(1, novalue, vals, flags, 4, &ar), -1);
	assert_int_equal(cli_parse(1, pos, vals, flags, 0, &ar), -1);
	assert_int_equal(cli_parse(3, many, vals, flags, 2, &ar), -1);
	assert_int_equal(cli_parse(3, many, NULL, NULL, 3, &ar), 0);
	for (i = 0; i <= CLI_MAX_OPTS; i++)
		opts[i] = "--force";
	assert_int_equal(cli_parse(CLI_MAX_OPTS, opts, vals, flags, 0, &ar), 0);
	assert_int_equal(cli_parse(CLI_MAX_OPTS + 1, opts, vals, flags, 0,
	    &ar), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_split),
		cmocka_unit_test(test_cli_refusals),
	};

	cli_setprog("test_cli");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
