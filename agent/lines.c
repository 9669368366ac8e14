/*
 * lines: drain a child's two pipes line by line (see lines.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"
#include "logsafe.h"

#define DRAIN_MAX	(1024 * 1024)	/* bytes read after "finish" */

struct lines {
	pthread_t	 th;
	int		 fd[2];		/* stdout, stderr */
	int		 wake[2];	/* a byte in: finish */
	void		(*fn)(void *, const char *, const char *);
	void		*cls;
	char		*buf[2];	/* LINES_MAX + 1 each */
	size_t		 len[2];
	int		 skipping[2];	/* in the dropped rest of a long line */
	char		*esc;		/* LINES_ESC */
};

static void
emit(struct lines *l, int i, const char *p, size_t n)
{
	static const char *const names[2] = { "stdout", "stderr" };

	logsafe_escape(p, n, l->esc, LINES_ESC);
	l->fn(l->cls, names[i], l->esc);
}

/* Split stream i's buffer into lines for fn; keeps the tail. */
static void
take_lines(struct lines *l, int i, int eof)
{
	char *buf = l->buf[i], *nl, *start = buf;
	size_t n, *len = &l->len[i];

	while ((nl = memchr(start, '\n', *len - (size_t)(start - buf))) !=
	    NULL) {
		n = (size_t)(nl - start);
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (!l->skipping[i])
			emit(l, i, start, n);
		l->skipping[i] = 0;
		start = nl + 1;
	}
	*len -= (size_t)(start - buf);
	memmove(buf, start, *len);
	if (*len == LINES_MAX || (eof && *len > 0)) {
		/* A giant line: its head goes, the rest is dropped. */
		if (!l->skipping[i])
			emit(l, i, buf, *len);
		l->skipping[i] = !eof;
		*len = 0;
	}
}

/* Wait for input or the wake-up; 1 when told to finish, -1 on error. */
static int
wait_input(struct lines *l, struct pollfd pfd[3])
{
	char c;
	int i;

	for (i = 0; i < 2; i++) {
		pfd[i].fd = l->fd[i];
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	pfd[2].fd = l->wake[0];
	pfd[2].events = POLLIN;
	pfd[2].revents = 0;
	if (poll(pfd, 3, -1) == -1)
		return errno == EINTR ? 0 : -1;
	if (pfd[2].revents == 0)
		return 0;
	/*
	 * The child is gone: what it wrote is in the pipes. Read that much
	 * without blocking, then end, whoever still holds them.
	 */
	if (read(l->wake[0], &c, 1) < 0)
		c = 0;	/* ends us all the same */
	for (i = 0; i < 2; i++)
		if (l->fd[i] != -1)
			(void)fcntl(l->fd[i], F_SETFL, O_NONBLOCK);
	return 1;
}

static void *
lines_main(void *arg)
{
	struct lines *l = arg;
	struct pollfd pfd[3];
	size_t drained = 0;
	int open_fds = 2, finishing = 0, i, w;
	ssize_t n;

	while (open_fds > 0) {
		if (!finishing) {
			w = wait_input(l, pfd);
			if (w == -1)
				break;
			finishing = w;
		}
		for (i = 0; i < 2; i++) {
			if (l->fd[i] == -1 || (!finishing &&
			    pfd[i].revents == 0))
				continue;
			n = read(l->fd[i], l->buf[i] + l->len[i],
			    LINES_MAX - l->len[i]);
			if (n == -1 && errno == EINTR)
				continue;
			if (n > 0) {
				l->len[i] += (size_t)n;
				drained += finishing ? (size_t)n : 0;
				take_lines(l, i, 0);
				if (!finishing || drained < DRAIN_MAX)
					continue;
			}
			/* End of file, an error, nothing more now, or enough. */
			if (n == 0 || finishing || (n == -1 &&
			    errno != EAGAIN)) {
				if (!l->skipping[i])
					take_lines(l, i, 1);
				close(l->fd[i]);
				l->fd[i] = -1;
				open_fds--;
			}
		}
	}
	return NULL;
}

static void
lines_free(struct lines *l)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (l->fd[i] != -1)
			close(l->fd[i]);
		if (l->wake[i] != -1)
			close(l->wake[i]);
		free(l->buf[i]);
	}
	free(l->esc);
	free(l);
}

struct lines *
lines_start(int out, int err, void (*fn)(void *, const char *,
    const char *), void *cls)
{
	struct lines *l;

	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		close(out);
		close(err);
		return NULL;
	}
	l->fd[0] = out;
	l->fd[1] = err;
	l->wake[0] = l->wake[1] = -1;
	l->fn = fn;
	l->cls = cls;
	l->buf[0] = malloc(LINES_MAX + 1);
	l->buf[1] = malloc(LINES_MAX + 1);
	l->esc = malloc(LINES_ESC);
	if (l->buf[0] == NULL || l->buf[1] == NULL || l->esc == NULL ||
	    pipe2(l->wake, O_CLOEXEC) == -1 ||
	    pthread_create(&l->th, NULL, lines_main, l) != 0) {
		lines_free(l);
		return NULL;
	}
	return l;
}

void
lines_finish(struct lines *l)
{
	if (l == NULL)
		return;
	/*
	 * The thread reads at most DRAIN_MAX more: the join is bounded.
	 * EPIPE cannot happen: the read end is open until lines_free.
	 */
	if (write(l->wake[1], "x", 1) != 1)
		fprintf(stderr, "filestor-agent: warn: tunnel: cannot wake "
		    "the log reader: %s\n", strerror(errno));
	pthread_join(l->th, NULL);
	lines_free(l);
}
