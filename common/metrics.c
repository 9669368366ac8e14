/*
 * metrics: shared counters in one mapped file (metrics.h).
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"

/*
 * The file's layout. MET_VERSION changes whenever a size or a table
 * below changes meaning (the methods, the statuses, the buckets); the
 * counters enum may grow up to MET_COUNTERS without a new version, but
 * its lines must never be reordered or reused.
 */
#define MET_MAGIC	"FSMETRIC"
#define MET_VERSION	1
#define MET_PROGS	32
#define MET_NAME	32
#define MET_COUNTERS	64
#define MET_TIMERS	8
#define MET_METHODS	8
#define MET_STATUSES	32
#define MET_BUCKETS	16
#define MET_RETRIES	4	/* replacements of a stale file raced */

struct met_hist {
	uint64_t	 n[MET_BUCKETS];	/* per bucket, not cumulative */
	uint64_t	 sum_us;
};

struct met_prog {
	char		 name[MET_NAME];	/* "" while free */
	uint64_t	 req[MET_METHODS][MET_STATUSES];
	uint64_t	 bytes_in, bytes_out;
	struct met_hist	 latency;
};

struct met_head {
	char		 magic[8];
	uint32_t	 version;
	uint32_t	 size;		/* sizeof(struct met_file) */
};

struct met_file {
	struct met_head	 h;
	uint64_t	 counters[MET_COUNTERS];
	struct met_hist	 timers[MET_TIMERS];
	struct met_prog	 prog[MET_PROGS];
};

_Static_assert(METRIC__COUNT <= MET_COUNTERS, "grow MET_COUNTERS");
_Static_assert(METRIC_TIME__COUNT <= MET_TIMERS, "grow MET_TIMERS");

/* The last method is "other". */
static const char *const methods[MET_METHODS] = { "GET", "HEAD", "PUT",
    "POST", "PATCH", "DELETE", "OPTIONS", "other" };

/* Every status we answer, then 0 for "other". */
static const int statuses[] = { 200, 201, 204, 206, 301, 302, 304, 307,
    400, 401, 403, 404, 405, 409, 411, 412, 413, 414, 416, 422, 429, 431,
    500, 501, 502, 503, 504, 507, 0 };
_Static_assert(sizeof(statuses) / sizeof(statuses[0]) <= MET_STATUSES,
    "grow MET_STATUSES");
#define NSTATUS	(sizeof(statuses) / sizeof(statuses[0]))

/* Upper bounds of the histogram buckets in microseconds; +Inf after. */
static const long long bounds[] = { 1000, 2500, 5000, 10000, 25000, 50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000 };
#define NBOUND	(sizeof(bounds) / sizeof(bounds[0]))
_Static_assert(NBOUND + 1 <= MET_BUCKETS, "grow MET_BUCKETS");

/*
 * The plain counters. Lines of one family are adjacent and share its
 * help; label is the one label pair of the line, or NULL. A renamed
 * family breaks dashboards: add a line instead.
 */
static const struct {
	const char	*family, *label, *help;
} counters[METRIC__COUNT] = {
	[METRIC_LOGIN_FAILURES] = { "filestor_login_failures_total", NULL,
	    "Logins refused for a wrong email, password or tenant." },
	[METRIC_RATE_LIMITED_LOGIN] = { "filestor_rate_limited_total",
	    "what=\"login\"", "Requests refused with 429 by a rate limit." },
	[METRIC_TRANSFORMS_OK] = { "filestor_transforms_total",
	    "result=\"ok\"", "Image transforms, by result (busy: 503, every "
	    "slot held)." },
	[METRIC_TRANSFORMS_FAILED] = { "filestor_transforms_total",
	    "result=\"error\"", NULL },
	[METRIC_TRANSFORMS_BUSY] = { "filestor_transforms_total",
	    "result=\"busy\"", NULL },
	[METRIC_RCACHE_HITS] = { "filestor_rendition_cache_lookups_total",
	    "result=\"hit\"", "Rendition cache lookups, by result." },
	[METRIC_RCACHE_MISSES] = { "filestor_rendition_cache_lookups_total",
	    "result=\"miss\"", NULL },
	[METRIC_UPLOADS_CREATED] = { "filestor_uploads_total",
	    "event=\"created\"", "Resumable uploads, by event." },
	[METRIC_UPLOADS_COMPLETED] = { "filestor_uploads_total",
	    "event=\"completed\"", NULL },
	[METRIC_UPLOADS_TERMINATED] = { "filestor_uploads_total",
	    "event=\"terminated\"", NULL },
	[METRIC_UPLOADS_EXPIRED] = { "filestor_uploads_total",
	    "event=\"expired\"", NULL },
	[METRIC_UPLOAD_BYTES] = { "filestor_upload_bytes_total", NULL,
	    "Bytes taken by resumable uploads." },
	[METRIC_RELAY_CONNECTS] = { "filestor_relay_connections_total",
	    "event=\"connected\"", "Agent relay connections, by event." },
	[METRIC_RELAY_DISCONNECTS] = { "filestor_relay_connections_total",
	    "event=\"disconnected\"", NULL },
	[METRIC_RELAY_REQUESTS_OK] = { "filestor_relay_requests_total",
	    "result=\"ok\"", "Downloads relayed from agents, by result." },
	[METRIC_RELAY_REQUESTS_FAILED] = { "filestor_relay_requests_total",
	    "result=\"error\"", NULL },
	[METRIC_RELAY_BYTES] = { "filestor_relay_bytes_total", NULL,
	    "Body bytes relayed from agents." },
	[METRIC_ACCESS_LOG_ERRORS] = { "filestor_access_log_errors_total",
	    NULL, "Access log lines that could not be written." },
};

static const struct {
	const char	*family, *help;
} timers[METRIC_TIME__COUNT] = {
	[METRIC_TIME_TRANSFORM] = { "filestor_transform_duration_seconds",
	    "Time ImageMagick took per transform." },
	[METRIC_TIME_RELAY] = { "filestor_relay_request_duration_seconds",
	    "Time per download relayed from an agent." },
};

/* This process's mapping and program slot; NULL before metrics_open. */
static struct met_file *mf;
static struct met_prog *me;

static void
bump(uint64_t *p, unsigned long long n)
{
	__atomic_fetch_add(p, (uint64_t)n, __ATOMIC_RELAXED);
}

static uint64_t
peek(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

long long
metrics_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
name_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= MET_NAME - 1 || !((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-'))
			return 0;
	return n > 0;
}

static int
header_ok(const struct met_head *h)
{
	return memcmp(h->magic, MET_MAGIC, sizeof(h->magic)) == 0 &&
	    h->version == MET_VERSION && h->size == sizeof(struct met_file);
}

/*
 * A fresh file of this layout renamed over path, so that a stale one
 * (another layout, a crash before its header) is never reused. Called
 * with the stale file locked: the next process waits, then sees that
 * path names another file and opens again. 0 or -1.
 */
static int
replace(const char *path)
{
	struct met_file *f = MAP_FAILED;
	char tmp[4096];
	int fd = -1, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		goto out;
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || ftruncate(fd, sizeof(*f)) == -1)
		goto out;
	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED)
		goto out;
	memcpy(f->h.magic, MET_MAGIC, sizeof(f->h.magic));
	f->h.version = MET_VERSION;
	f->h.size = sizeof(*f);
	if (rename(tmp, path) == -1)
		goto out;
	rc = 0;
out:
	if (f != MAP_FAILED)
		munmap(f, sizeof(*f));
	if (fd != -1)
		close(fd);
	if (rc == -1 && fd != -1)
		unlink(tmp);
	return rc;
}

/*
 * Open path locked, as a file of this layout. The descriptor, or -1 with
 * errno.
 */
static int
open_locked(const char *path)
{
	struct stat st, now;
	struct met_head h;
	int fd, i;

	for (i = 0; i < MET_RETRIES; i++) {
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd == -1)
			return -1;
		if (flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1)
			goto fail;
		/* Someone replaced it while we waited: open the new one. */
		if (stat(path, &now) == -1 || now.st_ino != st.st_ino ||
		    now.st_dev != st.st_dev) {
			close(fd);
			continue;
		}
		/* Our own regular file only: the directory may be shared. */
		if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
			errno = EPERM;
			goto fail;
		}
		if (st.st_size == (off_t)sizeof(struct met_file) &&
		    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
		    header_ok(&h))
			return fd;
		/* New (empty), of another layout, or cut by a crash. */
		if (replace(path) == -1)
			goto fail;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
fail:
	i = errno;
	close(fd);
	errno = i;
	return -1;
}

/* This program's slot in f: its own, or the first free one. */
static struct met_prog *
claim(struct met_file *f, const char *program)
{
	size_t i;

	for (i = 0; i < MET_PROGS; i++)
		if (strncmp(f->prog[i].name, program, MET_NAME) == 0)
			return &f->prog[i];
	for (i = 0; i < MET_PROGS; i++)
		if (f->prog[i].name[0] == '\0') {
			memcpy(f->prog[i].name, program, strlen(program) + 1);
			return &f->prog[i];
		}
	return NULL;
}

int
metrics_open(const char *path, const char *program, char *err,
    size_t errlen)
{
	struct met_file *f = MAP_FAILED;
	int fd = -1, rc = -1;

	metrics_close();
	if (!name_ok(program)) {
		snprintf(err, errlen, "metrics: bad program name");
		goto out;
	}
	fd = open_locked(path);
	if (fd == -1) {
		snprintf(err, errlen, "metrics: cannot open %.200s: %s", path,
		    strerror(errno));
		goto out;
	}
	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED || !header_ok(&f->h)) {
		snprintf(err, errlen, "metrics: cannot map %.200s: %s", path,
		    f == MAP_FAILED ? strerror(errno) : "bad header");
		goto out;
	}
	me = claim(f, program);
	if (me == NULL) {
		snprintf(err, errlen, "metrics: %.200s has no free program "
		    "slot (%d)", path, MET_PROGS);
		goto out;
	}
	mf = f;
	f = MAP_FAILED;
	rc = 0;
out:
	if (f != MAP_FAILED)
		munmap(f, sizeof(*f));
	/* Unlock first: the mapping keeps the open file, and its lock, alive
	   after close. */
	if (fd != -1) {
		flock(fd, LOCK_UN);
		close(fd);
	}
	return rc;
}

void
metrics_close(void)
{
	if (mf != NULL)
		munmap(mf, sizeof(*mf));
	mf = NULL;
	me = NULL;
}

int
metrics_on(void)
{
	return mf != NULL;
}

void
metrics_add(enum metric m, unsigned long long n)
{
	if (mf != NULL && (unsigned)m < METRIC__COUNT)
		bump(&mf->counters[m], n);
}

static void
observe(struct met_hist *h, long long usec)
{
	size_t b;

	if (usec < 0)
		usec = 0;
	for (b = 0; b < NBOUND && usec > bounds[b]; b++)
		;
	bump(&h->n[b], 1);
	bump(&h->sum_us, (unsigned long long)usec);
}

void
metrics_time(enum metric_timer t, long long usec)
{
	if (mf != NULL && (unsigned)t < METRIC_TIME__COUNT)
		observe(&mf->timers[t], usec);
}

void
metrics_request(const char *method, int status, long long usec,
    long long bytes_in, long long bytes_out)
{
	size_t m, s;

	if (me == NULL)
		return;
	for (m = 0; m < MET_METHODS - 1; m++)
		if (method != NULL && strcmp(method, methods[m]) == 0)
			break;
	for (s = 0; s < NSTATUS - 1 && statuses[s] != status; s++)
		;
	bump(&me->req[m][s], 1);
	if (bytes_in > 0)
		bump(&me->bytes_in, (unsigned long long)bytes_in);
	if (bytes_out > 0)
		bump(&me->bytes_out, (unsigned long long)bytes_out);
	observe(&me->latency, usec);
}

/* Rendering. Every add goes through ADD, which stops at the first error. */
#define ADD(call)	do { if ((e = (call)) != FS_OK) goto out; } while (0)

static enum fs_err
family(struct dynbuf *out, const char *name, const char *type,
    const char *help)
{
	return dynbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/*
 * The series of histogram h: name_bucket{labels,le=...} (cumulative),
 * name_sum and name_count. labels is "" or `k="v",`.
 */
static enum fs_err
histogram(struct dynbuf *out, const char *name, const char *labels,
    const struct met_hist *h)
{
	unsigned long long cum = 0;
	size_t b;
	size_t n = strlen(labels);
	enum fs_err e = FS_OK;

	for (b = 0; b <= NBOUND; b++) {
		cum += peek(&h->n[b]);
		if (b < NBOUND)
			ADD(dynbuf_addf(out, "%s_bucket{%sle=\"%g\"} %llu\n",
			    name, labels, (double)bounds[b] / 1e6, cum));
		else
			ADD(dynbuf_addf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n",
			    name, labels, cum));
	}
	/* The labels without their trailing comma, for _sum and _count. */
	ADD(dynbuf_addf(out, "%s_sum%s%.*s%s %.6f\n", name, n ? "{" : "",
	    n ? (int)n - 1 : 0, labels, n ? "}" : "",
	    (double)peek(&h->sum_us) / 1e6));
	ADD(dynbuf_addf(out, "%s_count%s%.*s%s %llu\n", name, n ? "{" : "",
	    n ? (int)n - 1 : 0, labels, n ? "}" : "", cum));
out:
	return e;
}

static enum fs_err
render_counters(struct dynbuf *out)
{
	const char *prev = "";
	unsigned long long hit, miss;
	size_t i;
	enum fs_err e = FS_OK;

	for (i = 0; i < METRIC__COUNT; i++) {
		if (strcmp(prev, counters[i].family) != 0)
			ADD(family(out, counters[i].family, "counter",
			    counters[i].help));
		prev = counters[i].family;
		ADD(dynbuf_addf(out, "%s%s%s%s %llu\n", counters[i].family,
		    counters[i].label != NULL ? "{" : "",
		    counters[i].label != NULL ? counters[i].label : "",
		    counters[i].label != NULL ? "}" : "",
		    (unsigned long long)peek(&mf->counters[i])));
	}
	hit = peek(&mf->counters[METRIC_RCACHE_HITS]);
	miss = peek(&mf->counters[METRIC_RCACHE_MISSES]);
	ADD(metrics_gauge(out, "filestor_rendition_cache_hit_ratio",
	    "Rendition cache hits over lookups since the counters started "
	    "(NaN before the first).", hit + miss > 0 ?
	    (double)hit / (double)(hit + miss) : (double)NAN));
	for (i = 0; i < METRIC_TIME__COUNT; i++) {
		ADD(family(out, timers[i].family, "histogram", timers[i].help));
		ADD(histogram(out, timers[i].family, "", &mf->timers[i]));
	}
out:
	return e;
}

static enum fs_err
render_requests(struct dynbuf *out, const struct met_prog *p)
{
	unsigned long long v;
	size_t m, s;
	enum fs_err e = FS_OK;

	for (m = 0; m < MET_METHODS; m++)
		for (s = 0; s < NSTATUS; s++) {
			v = peek(&p->req[m][s]);
			if (v == 0)
				continue;
			if (statuses[s] != 0)
				ADD(dynbuf_addf(out, "filestor_http_requests_total"
				    "{program=\"%s\",method=\"%s\",code=\"%d\"} "
				    "%llu\n", p->name, methods[m], statuses[s], v));
			else
				ADD(dynbuf_addf(out, "filestor_http_requests_total"
				    "{program=\"%s\",method=\"%s\",code=\"other\"} "
				    "%llu\n", p->name, methods[m], v));
		}
out:
	return e;
}

/* The programs that claimed a slot, as a valid label value each. */
static int
prog_shown(const struct met_prog *p)
{
	char name[MET_NAME];

	memcpy(name, p->name, sizeof(name));
	name[MET_NAME - 1] = '\0';
	return name_ok(name) && memchr(p->name, '\0', MET_NAME) != NULL;
}

/* A counter family of one series per program: body bytes in or sent. */
static enum fs_err
render_bytes(struct dynbuf *out, const char *name, const char *help,
    int sent)
{
	const struct met_prog *p;
	size_t i;
	enum fs_err e = FS_OK;

	ADD(family(out, name, "counter", help));
	for (i = 0; i < MET_PROGS; i++) {
		p = &mf->prog[i];
		if (prog_shown(p))
			ADD(dynbuf_addf(out, "%s{program=\"%s\"} %llu\n", name,
			    p->name, (unsigned long long)peek(sent ?
			    &p->bytes_out : &p->bytes_in)));
	}
out:
	return e;
}

static enum fs_err
render_programs(struct dynbuf *out)
{
	char labels[MET_NAME + 16];
	size_t i;
	enum fs_err e = FS_OK;

	ADD(family(out, "filestor_http_requests_total", "counter",
	    "HTTP requests answered, by program, method and status."));
	for (i = 0; i < MET_PROGS; i++)
		if (prog_shown(&mf->prog[i]))
			ADD(render_requests(out, &mf->prog[i]));
	ADD(render_bytes(out, "filestor_http_request_bytes_total",
	    "Request body bytes read, by program.", 0));
	ADD(render_bytes(out, "filestor_http_response_bytes_total",
	    "Response body bytes sent (X-Sendfile's included), by program.", 1));
	ADD(family(out, "filestor_http_request_duration_seconds", "histogram",
	    "Time from a request's start to its last byte, by program."));
	for (i = 0; i < MET_PROGS; i++) {
		if (!prog_shown(&mf->prog[i]))
			continue;
		snprintf(labels, sizeof(labels), "program=\"%s\",",
		    mf->prog[i].name);
		ADD(histogram(out, "filestor_http_request_duration_seconds",
		    labels, &mf->prog[i].latency));
	}
out:
	return e;
}

enum fs_err
metrics_render(struct dynbuf *out)
{
	enum fs_err e = FS_OK;

	if (mf == NULL)
		return FS_OK;
	ADD(render_programs(out));
	ADD(render_counters(out));
out:
	return e;
}

enum fs_err
metrics_gauge(struct dynbuf *out, const char *name, const char *help,
    double v)
{
	enum fs_err e = FS_OK;

	ADD(family(out, name, "gauge", help));
	if (v != v)
		ADD(dynbuf_addf(out, "%s NaN\n", name));
	else
		ADD(dynbuf_addf(out, "%s %.17g\n", name, v));
out:
	return e;
}
