/*
 * lines: a thread that drains a child's stdout and stderr and hands
 * each line, escaped (logsafe.h), to a callback. A line longer than
 * LINES_MAX is cut there and the rest of it dropped, so that a child
 * cannot make the agent hold more than that per stream.
 */
#ifndef AGENT_LINES_H
#define AGENT_LINES_H

#define LINES_MAX	8192			/* bytes of a line kept */
#define LINES_ESC	(4 * LINES_MAX + 1)	/* escaped (logsafe.h) */

struct lines;

/*
 * Start the thread on out and err (read ends; taken, closed even on
 * failure). fn(cls, "stdout" or "stderr", line) runs on that thread for
 * each line. NULL when the thread cannot start.
 */
struct lines	*lines_start(int out, int err,
		    void (*fn)(void *cls, const char *stream,
		    const char *line), void *cls);
/*
 * The child is gone: take what is in the pipes now (at most 1 MiB, and
 * never waiting for whoever still holds them), end the thread, join it
 * and free l. NULL is fine.
 */
void		 lines_finish(struct lines *l);

#endif
