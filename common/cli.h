/*
 * cli: what the command-line tools (filestorctl, filestor-agent) share:
 * one way to report an error, and one argument splitter.
 */
#ifndef FS_CLI_H
#define FS_CLI_H

#define CLI_MAX_POS	4	/* positional arguments */
#define CLI_MAX_OPTS	8	/* options */

/* Pointers into argv: valid as long as argv. */
struct cli_args {
	const char	*pos[CLI_MAX_POS];
	int		 npos;
	const char	*optname[CLI_MAX_OPTS];
	const char	*optval[CLI_MAX_OPTS];	/* "" for flags */
	int		 nopt;
};

/* The name cli_fail puts before each message (a static string). */
void		 cli_setprog(const char *name);
/* "<name>: <message>" and a newline on stderr; returns 1 (an exit code). */
int		 cli_fail(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

/*
 * Split argv: "--x" options from vals take the next argument as their
 * value, those from flags take none (both lists NULL-terminated, or
 * NULL); anything else starting with "--" is an error, and so is a
 * positional argument when maxpos is 0 or the (maxpos+1)th. 0, or -1
 * after cli_fail has said why.
 */
int		 cli_parse(int argc, char *argv[], const char *const *vals,
		    const char *const *flags, int maxpos, struct cli_args *ar);
/* The value of option name ("" for a flag), or NULL when absent. */
const char	*cli_opt(const struct cli_args *ar, const char *name);

#endif
