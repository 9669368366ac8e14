/*
 * metrics: the shared counter file (common/metrics.c) and the access
 * log's line (common/alog.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alog.h"
#include "metrics.h"
#include "unit.h"

static char dir[256], path[300];

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/fs-metrics.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/m", dir);
	return 0;
}

static int
teardown(void **state)
{
	char f[320];

	(void)state;
	metrics_close();
	unlink(path);
	snprintf(f, sizeof(f), "%s/l", dir);
	unlink(f);
	snprintf(f, sizeof(f), "%s/link", dir);
	unlink(f);
	rmdir(dir);
	return 0;
}

/* The rendered text, malloc'd. */
static char *
render(void)
{
	struct dynbuf d;
	char *s;

	dynbuf_init(&d, 1 << 20);
	assert_int_equal(metrics_render(&d), FS_OK);
	s = dynbuf_take(&d, NULL);
	assert_non_null(s);
	return s;
}

static void
has(const char *text, const char *line)
{
	if (strstr(text, line) == NULL)
		fail_msg("no \"%s\" in:\n%s", line, text);
}

/* Off until opened: every call is harmless. */
static void
test_off(void **state)
{
	char *s;

	(void)state;
	metrics_close();
	assert_false(metrics_on());
	metrics_inc(METRIC_LOGIN_FAILURES);
	metrics_request("GET", 200, 10, 0, 0);
	s = render();
	assert_string_equal(s, "");
	free(s);
}

/*
 * Two processes add to one file; the second opens it while the first
 * has it mapped (the mapping must not keep the creation lock: a child
 * that hangs is killed by the alarm and fails the test).
 */
static void
test_shared(void **state)
{
	char err[256], *s;
	pid_t pid;
	int st;

	(void)state;
	unlink(path);
	assert_int_equal(metrics_open(path, "get", err, sizeof(err)), 0);
	metrics_request("GET", 200, 1500, 0, 4096);
	metrics_request("GET", 404, 20000000, 0, 10);
	metrics_inc(METRIC_RCACHE_HITS);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(5);
		metrics_close();
		if (metrics_open(path, "put", err, sizeof(err)) == -1)
			_exit(2);
		metrics_request("PUT", 201, 800, 4096, 100);
		metrics_request("BREW", 999, 800, 0, 0);
		metrics_inc(METRIC_RCACHE_MISSES);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	s = render();
	has(s, "filestor_http_requests_total{program=\"get\",method=\"GET\","
	    "code=\"200\"} 1\n");
	has(s, "filestor_http_requests_total{program=\"get\",method=\"GET\","
	    "code=\"404\"} 1\n");
	has(s, "filestor_http_requests_total{program=\"put\",method=\"PUT\","
	    "code=\"201\"} 1\n");
	has(s, "filestor_http_requests_total{program=\"put\",method=\"other\","
	    "code=\"other\"} 1\n");
	has(s, "filestor_http_request_bytes_total{program=\"put\"} 4096\n");
	has(s, "filestor_http_response_bytes_total{program=\"get\"} 4106\n");
	/* 1.5 ms is in the 2.5 ms bucket; 20 s only in +Inf. */
	has(s, "filestor_http_request_duration_seconds_bucket{program=\"get\","
	    "le=\"0.001\"} 0\n");
	has(s, "filestor_http_request_duration_seconds_bucket{program=\"get\","
	    "le=\"0.0025\"} 1\n");
	has(s, "filestor_http_request_duration_seconds_bucket{program=\"get\","
	    "le=\"10\"} 1\n");
	has(s, "filestor_http_request_duration_seconds_bucket{program=\"get\","
	    "le=\"+Inf\"} 2\n");
	has(s, "filestor_http_request_duration_seconds_sum{program=\"get\"} "
	    "20.001500\n");
	has(s, "filestor_http_request_duration_seconds_count{program=\"get\"} 2\n");
	has(s, "filestor_rendition_cache_lookups_total{result=\"hit\"} 1\n");
	has(s, "filestor_rendition_cache_hit_ratio 0.5\n");
	has(s, "# TYPE filestor_uploads_total counter\n"
	    "filestor_uploads_total{event=\"created\"} 0\n");
	free(s);
	/* Reopened, the counts are still there. */
	assert_int_equal(metrics_open(path, "get", err, sizeof(err)), 0);
	s = render();
	has(s, "code=\"404\"} 1\n");
	free(s);
}

/* A file of another layout is replaced, a symlink refused. */
static void
test_stale_and_unsafe(void **state)
{
	char err[512], link[320], *s;
	int fd;

	(void)state;
	metrics_close();
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "FSMETRIC\x07\0\0\0junk", 16), 16);
	close(fd);
	assert_int_equal(metrics_open(path, "get", err, sizeof(err)), 0);
	s = render();
	assert_null(strstr(s, "program=\"get\",method"));
	free(s);
	metrics_close();
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(metrics_open(link, "get", err, sizeof(err)), -1);
	has(err, "cannot open");
	assert_false(metrics_on());
	assert_int_equal(metrics_open(path, "Bad Name", err, sizeof(err)), -1);
}

/* The log line: ids only, valid JSON whatever the path holds. */
static void
test_alog_line(void **state)
{
	struct alog_rec rec;
	cJSON *j, *ch;
	char *s;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.request_id = "r-1";
	rec.program = "put";
	rec.method = "PUT";
	rec.route = "/api/storage/**";
	rec.path = "/api/storage/a\"\x01\xff.txt";
	rec.status = 201;
	rec.bytes_in = 3;
	rec.usec = 1234;
	rec.tenant = "t";
	rec.kind = "apikey";
	rec.user = "u";
	rec.key = "k";
	ch = cJSON_CreateArray();
	cJSON_AddItemToArray(ch, cJSON_CreateString("x"));
	rec.changes = ch;
	s = alog_line(&rec);
	assert_non_null(s);
	assert_null(strchr(s, '\n'));
	j = cJSON_Parse(s);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "path")->valuestring,
	    "/api/storage/a\"\x01?.txt");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
	    "principal"), "key")->valuestring, "k");
	assert_int_equal(cJSON_GetObjectItem(j, "durationMs")->valuedouble *
	    100, 123);
	assert_non_null(cJSON_GetObjectItem(j, "changes"));
	assert_null(cJSON_GetObjectItem(j, "agent"));
	cJSON_Delete(j);
	cJSON_free(s);
	cJSON_Delete(ch);
}

UNIT_MAIN(setup, teardown,
    cmocka_unit_test(test_off),
    cmocka_unit_test(test_shared),
    cmocka_unit_test(test_stale_and_unsafe),
    cmocka_unit_test(test_alog_line))
