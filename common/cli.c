/*
 * cli: error messages and argument splitting for the command-line tools.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *prog = "filestor";

void
cli_setprog(const char *name)
{
	if (name != NULL)
		prog = name;
}

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int
listed(const char *const *list, const char *a)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(a, *list) == 0)
			return 1;
	return 0;
}

int
cli_parse(int argc, char *argv[], const char *const *vals,
    const char *const *flags, int maxpos, struct cli_args *ar)
{
	const char *a;
	int i;

	if (maxpos > CLI_MAX_POS)
		maxpos = CLI_MAX_POS;
	memset(ar, 0, sizeof(*ar));
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (strncmp(a, "--", 2) != 0) {
			if (maxpos == 0) {
				cli_fail("unknown argument \"%s\"", a);
				return -1;
			}
			if (ar->npos == maxpos) {
				cli_fail("too many arguments at \"%s\"", a);
				return -1;
			}
			ar->pos[ar->npos++] = a;
			continue;
		}
		if (ar->nopt == CLI_MAX_OPTS) {
			cli_fail("too many options at \"%s\"", a);
			return -1;
		}
		if (listed(flags, a)) {
			ar->optname[ar->nopt] = a;
			ar->optval[ar->nopt++] = "";
		} else if (listed(vals, a)) {
			if (i + 1 >= argc) {
				cli_fail("%s needs a value", a);
				return -1;
			}
			ar->optname[ar->nopt] = a;
			ar->optval[ar->nopt++] = argv[++i];
		} else {
			cli_fail("unknown option %s", a);
			return -1;
		}
	}
	return 0;
}

const char *
cli_opt(const struct cli_args *ar, const char *name)
{
	int i;

	for (i = 0; i < ar->nopt; i++)
		if (strcmp(ar->optname[i], name) == 0)
			return ar->optval[i];
	return NULL;
}
