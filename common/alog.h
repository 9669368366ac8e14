/*
 * alog: the access and audit log (ACCESS_LOG; docs/operations.md,
 * "Access log"). One JSON line per request, written by app_main after
 * the response (app.h: app_audit adds what a request changed).
 *
 * Every worker of every program appends to the same file. The file is
 * opened with O_APPEND and each line goes out in one write(2) of at
 * most ALOG_LINE_MAX bytes, so lines of concurrent workers never
 * interleave (the kernel takes the file position and writes under one
 * lock for a regular file). SIGHUP asks for a reopen, which happens
 * between requests (alog_write checks the flag), never in the handler:
 * logrotate renames the file, signals the workers, and the next line
 * goes to a new file.
 *
 * Nothing secret is ever given to alog: no query string (a signed URL's
 * token is there), no header, no body; the principal is ids only.
 */
#ifndef FS_ALOG_H
#define FS_ALOG_H

#include <cjson/cJSON.h>

#define ALOG_LINE_MAX	8192	/* bytes of one line, newline included */
#define ALOG_PATH_MAX	1024	/* bytes of the path kept in a line */
#define ALOG_PATH_SHORT	128	/* ... when the line would be too long */

/* One request, as app_main saw it; strings may be NULL or "". */
struct alog_rec {
	const char	*request_id;
	const char	*program;
	const char	*method;
	const char	*route;		/* the route's pattern, or NULL */
	const char	*path;		/* decoded; cut and scrubbed here */
	int		 status;
	long long	 bytes_in, bytes_out;
	long long	 usec;		/* duration */
	const char	*tenant;
	const char	*kind;		/* apikey, session, token, agent */
	const char	*user;
	const char	*key;		/* the API key's id */
	const char	*agent;
	const cJSON	*changes;	/* app_audit's array, or NULL */
};

/*
 * Open path for appending (created 0640). Also installs the SIGHUP
 * handler (SA_RESTART, so that the accept loop is not disturbed). 0, or
 * -1 with a message in err.
 */
int	 alog_open(const char *path, char *err, size_t errlen);
/* Whether a log is open in this process. */
int	 alog_on(void);
/*
 * Write rec as one line; reopens first when SIGHUP asked. 0, or -1 (the
 * line is lost; the caller counts it). A failed reopen keeps the old
 * file and says so on stderr.
 */
int	 alog_write(const struct alog_rec *rec);
void	 alog_close(void);

/* The line of rec, without its newline (tests); caller frees. */
char	*alog_line(const struct alog_rec *rec);

#endif
