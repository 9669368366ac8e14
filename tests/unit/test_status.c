/*
 * Unit tests for the tunnel state file (agent/status.c): what `run`
 * writes is what `status` reads, and status never hangs on or trusts
 * something that is not a regular file. The .c files are included, as
 * test_agentd.c does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include "../../agent/logsafe.c"
#include "../../agent/status.c"

static cJSON *
load(const char *path)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return cJSON_Parse(buf);
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsNumber(it));
	return it->valuedouble;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static void
test_path(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(status_path("/a/b/config.json", buf, sizeof(buf)),
	    0);
	assert_string_equal(buf, "/a/b/tunnel-state.json");
	assert_int_equal(status_path("config.json", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "tunnel-state.json");
	assert_int_equal(status_path("/a/b/config.json", buf, 10), -1);
}

static void
test_roundtrip(void **state)
{
	struct status st = { 1, "", 42, "waiting", 0, 0, 0, NULL, 0, 3, 40,
	    -1 };
	const char *tmp = getenv("TMPDIR");
	char dir[512], path[600], fifo[600];
	cJSON *j;
	int out;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_status.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tunnel-state.json", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	/* Nothing yet: status says so. */
	assert_int_equal(status_print(path), -1);
	/* A quick tunnel without its URL yet, no health, no restart due. */
	status_write(path, &st);
	j = load(path);
	assert_string_equal(str(j, "mode"), "quick");
	assert_null(str(j, "url"));
	assert_int_equal(num(j, "pid"), 42);
	assert_int_equal(num(j, "agentPid"), getpid());
	assert_string_equal(str(j, "state"), "waiting");
	assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(j,
	    "lastHealth"), "ok"));
	assert_int_equal(num(j, "restarts"), 3);
	assert_int_equal(num(j, "nextBackoffSecs"), 40);
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "restartInMs"));
	cJSON_Delete(j);
	/* Named, healthy, a restart due. */
	st.quick = 0;
	st.host = "agent.example.com";
	st.state = "running";
	st.have_health = st.ok = 1;
	st.reason = "2 ready connections\x1b[2J";
	st.at = 1800000000;
	st.restart_in_ms = 0;
	status_write(path, &st);
	j = load(path);
	assert_string_equal(str(j, "url"), "https://agent.example.com");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItem(j, "lastHealth"), "ok")));
	assert_int_equal(num(cJSON_GetObjectItem(j, "lastHealth"), "at"),
	    1800000000);
	assert_int_equal(num(j, "restartInMs"), 0);
	cJSON_Delete(j);
	/* Printed (to /dev/null here) from the file just written. */
	out = dup(1);
	assert_non_null(freopen("/dev/null", "w", stdout));
	assert_int_equal(status_print(path), 0);
	fflush(stdout);
	dup2(out, 1);
	close(out);
	/* Never a FIFO: status must not hang on one. */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(status_print(fifo), -1);
	unlink(fifo);
	unlink(path);
	rmdir(dir);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_path),
    cmocka_unit_test(test_roundtrip))
