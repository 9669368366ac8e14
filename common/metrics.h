/*
 * metrics: counters every worker process adds to, and GET /api/metrics
 * reads, without a daemon (docs/operations.md, "Metrics").
 *
 * The counters live in one file, METRICS_FILE (by default FILESTOR_DB
 * with "-metrics" added, beside the database's -wal and -shm), that
 * every worker maps shared. Each
 * counter is a 64-bit integer added to with a relaxed atomic add: no
 * lock on the request path, and a worker that dies loses nothing it
 * already counted. The file starts with a header (magic, layout version,
 * size) that metrics_open() checks; a file of another layout (an
 * upgrade) is replaced by a fresh one, by rename, so that no process
 * ever reads one layout as another. Program names are claimed in the
 * file under flock, so a new program needs no change here.
 *
 * Counters restart from zero when the file is removed (a reboot, when
 * METRICS_FILE is under /run): Prometheus' rate() handles the reset.
 *
 * Every function is a no-op before metrics_open() succeeds (METRICS=0,
 * or a test), so callers never check.
 */
#ifndef FS_METRICS_H
#define FS_METRICS_H

#include <stddef.h>

#include "dynbuf.h"

/*
 * The plain counters, one line of the table in metrics.c each (family,
 * label, help). A program that is not an app_main program (a daemon)
 * calls metrics_open() itself. Lines of one family are adjacent.
 * Appending a line changes nothing else; see metrics.c for renaming.
 */
enum metric {
	METRIC_LOGIN_FAILURES,		/* a wrong email or password */
	METRIC_RATE_LIMITED_LOGIN,	/* a login refused with 429 */
	METRIC_TRANSFORMS_OK,		/* ImageMagick ran and succeeded */
	METRIC_TRANSFORMS_FAILED,	/* ... and failed (422, timeout) */
	METRIC_TRANSFORMS_BUSY,		/* 503: every slot was held */
	METRIC_RCACHE_HITS,		/* a rendition came from the cache */
	METRIC_RCACHE_MISSES,		/* ... had to be made */
	/* Resumable uploads (tus, cgi-bin/uploads.c). */
	METRIC_UPLOADS_CREATED,		/* POST made an upload */
	METRIC_UPLOADS_COMPLETED,	/* its last byte arrived (published) */
	METRIC_UPLOADS_TERMINATED,	/* DELETE by the client */
	METRIC_UPLOADS_EXPIRED,		/* removed unfinished */
	METRIC_UPLOAD_BYTES,		/* PATCH body bytes taken */
	/* The agent relay. */
	METRIC_RELAY_CONNECTS,		/* an agent connected */
	METRIC_RELAY_DISCONNECTS,	/* ... went away */
	METRIC_RELAY_REQUESTS_OK,	/* a download relayed in full */
	METRIC_RELAY_REQUESTS_FAILED,	/* ... failed or was cut */
	METRIC_RELAY_BYTES,		/* body bytes relayed */
	METRIC_ACCESS_LOG_ERRORS,	/* a line the access log refused */
	METRIC__COUNT
};

/* Durations kept as histograms (seconds, the buckets of metrics.c). */
enum metric_timer {
	METRIC_TIME_TRANSFORM,		/* one ImageMagick run */
	METRIC_TIME_RELAY,		/* one relayed download, whole */
	METRIC_TIME__COUNT
};

/*
 * Map path, creating it (mode 0600, no symlinks followed) when missing,
 * and claim program's slot (1..31 bytes of [a-z0-9_-]). 0, or -1 with a
 * message in err: the caller logs it and goes on without metrics.
 */
int	 metrics_open(const char *path, const char *program, char *err,
	    size_t errlen);
void	 metrics_close(void);
/* Whether metrics_open() succeeded in this process. */
int	 metrics_on(void);

void	 metrics_add(enum metric m, unsigned long long n);
#define metrics_inc(m)	metrics_add((m), 1)
/* One duration, in microseconds. */
void	 metrics_time(enum metric_timer t, long long usec);
/*
 * One HTTP request of this program: its method, the status sent, its
 * duration and the body bytes read and written (app_main calls it).
 */
void	 metrics_request(const char *method, int status, long long usec,
	    long long bytes_in, long long bytes_out);

/*
 * The counters in the Prometheus text format 0.0.4, appended to out;
 * FS_OK or dynbuf's error. The caller adds the gauges it reads from
 * elsewhere (metrics_gauge).
 */
enum fs_err	 metrics_render(struct dynbuf *out) DYNBUF_WUR;
/* A gauge family of one series without labels, with its help. */
enum fs_err	 metrics_gauge(struct dynbuf *out, const char *name,
		    const char *help, double v) DYNBUF_WUR;

/* Monotonic microseconds, for durations. */
long long	 metrics_now_us(void);

#endif
