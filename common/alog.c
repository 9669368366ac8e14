/*
 * alog: the access and audit log (alog.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alog.h"
#include "http.h"

/* The process's log: one per worker, like its database handle. */
static int	 log_fd = -1;
static char	*log_path;
static volatile sig_atomic_t reopen_asked;

static void
on_hup(int sig)
{
	(void)sig;
	reopen_asked = 1;
}

static int
open_path(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY | O_NOFOLLOW, 0640);
}

int
alog_open(const char *path, char *err, size_t errlen)
{
	struct sigaction sa;
	int fd;

	alog_close();
	fd = open_path(path);
	if (fd == -1) {
		snprintf(err, errlen, "ACCESS_LOG: cannot open %.200s: %s",
		    path, strerror(errno));
		return -1;
	}
	log_path = strdup(path);
	if (log_path == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	log_fd = fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	return 0;
}

int
alog_on(void)
{
	return log_fd != -1;
}

void
alog_close(void)
{
	if (log_fd != -1)
		close(log_fd);
	log_fd = -1;
	free(log_path);
	log_path = NULL;
}

/* SIGHUP: the file may have been renamed; open the path again. */
static void
reopen(void)
{
	int fd;

	reopen_asked = 0;
	fd = open_path(log_path);
	if (fd == -1) {
		fprintf(stderr, "access log: cannot reopen %s: %s; still "
		    "writing to the old file\n", log_path, strerror(errno));
		return;
	}
	close(log_fd);
	log_fd = fd;
}

static void
add_str(cJSON *o, const char *name, const char *v)
{
	if (v != NULL && v[0] != '\0')
		cJSON_AddStringToObject(o, name, v);
}

/* RFC 3339 UTC with milliseconds. */
static void
now_rfc3339(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

/* The path, cut to max (<= ALOG_PATH_MAX) bytes and made valid UTF-8. */
static void
add_path(cJSON *o, const char *path, size_t max)
{
	char buf[ALOG_PATH_MAX + 1];

	if (path == NULL)
		return;
	snprintf(buf, max + 1 < sizeof(buf) ? max + 1 : sizeof(buf), "%s",
	    path);
	http_utf8_scrub(buf);
	cJSON_AddStringToObject(o, "path", buf);
}

static char *
line_of(const struct alog_rec *rec, size_t path_max)
{
	cJSON *o, *who, *ch;
	char when[32], *s = NULL;

	o = cJSON_CreateObject();
	if (o == NULL)
		return NULL;
	now_rfc3339(when);
	cJSON_AddStringToObject(o, "time", when);
	add_str(o, "requestId", rec->request_id);
	add_str(o, "program", rec->program);
	add_str(o, "method", rec->method);
	add_str(o, "route", rec->route);
	add_path(o, rec->path, path_max);
	cJSON_AddNumberToObject(o, "status", rec->status);
	cJSON_AddNumberToObject(o, "bytesIn", (double)rec->bytes_in);
	cJSON_AddNumberToObject(o, "bytesOut", (double)rec->bytes_out);
	cJSON_AddNumberToObject(o, "durationMs",
	    (double)(rec->usec / 10) / 100.0);
	add_str(o, "tenant", rec->tenant);
	if (rec->kind != NULL && rec->kind[0] != '\0') {
		who = cJSON_AddObjectToObject(o, "principal");
		add_str(who, "kind", rec->kind);
		add_str(who, "user", rec->user);
		add_str(who, "key", rec->key);
		add_str(who, "agent", rec->agent);
	}
	if (rec->changes != NULL && cJSON_GetArraySize(rec->changes) > 0) {
		ch = cJSON_Duplicate(rec->changes, 1);
		if (ch != NULL)
			cJSON_AddItemToObject(o, "changes", ch);
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

char *
alog_line(const struct alog_rec *rec)
{
	return line_of(rec, ALOG_PATH_MAX);
}

int
alog_write(const struct alog_rec *rec)
{
	char *s;
	size_t n;
	ssize_t w;
	int rc = -1;

	if (log_fd == -1)
		return 0;
	if (reopen_asked)
		reopen();
	s = alog_line(rec);
	if (s == NULL)
		goto out;
	n = strlen(s);
	/* A path of control bytes grows six times when escaped: cut it
	   shorter rather than lose the line. */
	if (n + 1 > ALOG_LINE_MAX) {
		cJSON_free(s);
		s = line_of(rec, ALOG_PATH_SHORT);
		if (s == NULL)
			goto out;
		n = strlen(s);
	}
	/* One write of a whole line, or none: a cut line would interleave. */
	if (n + 1 > ALOG_LINE_MAX)
		goto out;
	s[n] = '\n';
	w = write(log_fd, s, n + 1);
	rc = w == (ssize_t)(n + 1) ? 0 : -1;
out:
	cJSON_free(s);
	return rc;
}
