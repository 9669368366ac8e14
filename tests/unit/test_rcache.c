/*
 * Unit tests for common/rcache.c: the rendition cache on disk. Names that
 * could reach a path are refused; a store is atomic and a lookup finds
 * it; eviction removes the least recently used until 90% of the bound;
 * stale temporary files go, fresh ones stay.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <sys/stat.h>
#include <sys/time.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rcache.h"

#define ID_A	"aa11"
#define ID_B	"bb22"
#define ID_C	"cc33"

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");
	char tmpl[4096];
	char *dir;

	snprintf(tmpl, sizeof(tmpl), "%s/rcache-test.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	dir = mkdtemp(tmpl);
	if (dir == NULL)
		return -1;
	*state = strdup(dir);
	return *state == NULL ? -1 : 0;
}

/* Remove dir and everything under it (two levels: <dir>/<sub>/<file>). */
static void
rm_tree(const char *dir)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char p[4096];

	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static int
teardown(void **state)
{
	rm_tree(*state);
	free(*state);
	return 0;
}

/* Set the mtime of path to age seconds ago. */
static void
age_file(const char *path, long age)
{
	struct timeval tv[2];

	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= age;
	tv[1] = tv[0];
	assert_int_equal(utimes(path, tv), 0);
}

/* Create the empty file path, which must not exist yet. */
static void
create_empty(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
}

/* Store n bytes of c as id.webp, then set its mtime to age seconds ago. */
static void
store_aged(const char *dir, const char *id, size_t n, char c, long age)
{
	char *buf, *path = NULL;

	buf = malloc(n);
	assert_non_null(buf);
	memset(buf, c, n);
	assert_int_equal(rcache_store(dir, id, "webp", buf, n, &path), 0);
	assert_non_null(path);
	free(buf);
	age_file(path, age);
	free(path);
}

static int
present(const char *dir, const char *id)
{
	char *path = NULL;
	long long size = -1;
	int rc;

	rc = rcache_lookup(dir, id, "webp", &path, &size);
	assert_int_not_equal(rc, -1);
	free(path);
	return rc;
}

static void
test_bad_names(void **state)
{
	static const struct strpair bad[] = {	/* id, extension */
		{ "", "webp" },
		{ "a", "webp" },		/* shorter than the subdirectory */
		{ "../etc", "webp" },
		{ "AB12", "webp" },		/* upper case */
		{ "ab/12", "webp" },
		{ "ab12", "" },
		{ "ab12", "we.bp" },
		{ "ab12", "../x" },
		{ "ab12", "WEBP" },
		{ "0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0", "webp" },	/* 65 hex */
	};
	const char *dir = *state;
	char *path = NULL;
	long long size;
	size_t i;

	for (i = 0; i < NITEMS(bad); i++) {
		assert_int_equal(rcache_lookup(dir, bad[i].a, bad[i].b,
		    &path, &size), -1);
		assert_int_equal(rcache_store(dir, bad[i].a, bad[i].b, "x",
		    1, &path), -1);
		assert_null(path);
	}
}

static void
test_store_lookup(void **state)
{
	const char *dir = *state;
	char *path = NULL, *want = NULL, buf[16];
	long long size = -1;
	int fd;
	ssize_t n;

	assert_int_equal(rcache_lookup(dir, ID_A, "webp", &path, &size), 0);
	assert_null(path);
	assert_int_equal(rcache_store(dir, ID_A, "webp", "rendition", 9,
	    NULL), 0);
	assert_int_equal(rcache_lookup(dir, ID_A, "webp", &path, &size), 1);
	assert_int_equal(size, 9);
	assert_int_equal(asprintf(&want, "%s/aa/" ID_A ".webp", dir) > 0, 1);
	assert_string_equal(path, want);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, 9);
	assert_memory_equal(buf, "rendition", 9);
	/* Another extension is another rendition. */
	free(path);
	path = NULL;
	assert_int_equal(rcache_lookup(dir, ID_A, "png", &path, &size), 0);
	free(want);
}

static void
test_gc_evicts_oldest(void **state)
{
	const char *dir = *state;
	struct rcache_stats st;

	store_aged(dir, ID_A, 4000, 'a', 300);	/* oldest */
	store_aged(dir, ID_B, 4000, 'b', 200);
	store_aged(dir, ID_C, 4000, 'c', 100);	/* newest */

	/* Under the bound: nothing goes. */
	assert_int_equal(rcache_gc(dir, 12000, &st), 0);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.bytes, 12000);
	assert_int_equal(st.evicted, 0);

	/* Over it: evict down to 90% of 10000, oldest first. */
	assert_int_equal(rcache_gc(dir, 10000, &st), 0);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.evicted_bytes, 4000);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.bytes, 8000);
	assert_int_equal(present(dir, ID_A), 0);
	assert_int_equal(present(dir, ID_B), 1);
	assert_int_equal(present(dir, ID_C), 1);
}

static void
test_gc_hit_refreshes(void **state)
{
	const char *dir = *state;
	struct rcache_stats st;

	/* A hit on an entry older than an hour makes it the newest. */
	store_aged(dir, ID_A, 4000, 'a', 7200);
	store_aged(dir, ID_B, 4000, 'b', 3600 + 10);
	store_aged(dir, ID_C, 4000, 'c', 100);
	assert_int_equal(present(dir, ID_A), 1);
	assert_int_equal(rcache_gc(dir, 10000, &st), 0);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(present(dir, ID_A), 1);
	assert_int_equal(present(dir, ID_B), 0);
}

static void
test_gc_tmp(void **state)
{
	const char *dir = *state;
	struct rcache_stats st;
	char p[4096];

	/* rcache_store made <dir>/.tmp; put an old and a new file there. */
	assert_int_equal(rcache_store(dir, ID_A, "webp", "x", 1, NULL), 0);
	snprintf(p, sizeof(p), "%s/.tmp/old", dir);
	create_empty(p);
	age_file(p, 2 * 3600);
	snprintf(p, sizeof(p), "%s/.tmp/new", dir);
	create_empty(p);

	assert_int_equal(rcache_gc(dir, 1 << 20, &st), 0);
	assert_int_equal(st.tmp_removed, 1);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/.tmp/old", dir);
	assert_int_equal(access(p, F_OK), -1);
	/* The rendition itself is not a temporary file. */
	assert_int_equal(present(dir, ID_A), 1);
}

static void
test_note_write_runs_gc(void **state)
{
	const char *dir = *state;

	store_aged(dir, ID_A, 4000, 'a', 300);
	store_aged(dir, ID_B, 4000, 'b', 200);
	/* The first note of a process always runs the collector. */
	rcache_note_write(dir, 5000, 1);
	assert_int_equal(present(dir, ID_A), 0);
	assert_int_equal(present(dir, ID_B), 1);
	/* Then only after 1/16 of the bound is written again. */
	store_aged(dir, ID_C, 4000, 'c', 100);
	rcache_note_write(dir, 5000, 100);
	assert_int_equal(present(dir, ID_B), 1);
	rcache_note_write(dir, 5000, 300);
	assert_int_equal(present(dir, ID_B), 0);
	assert_int_equal(present(dir, ID_C), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_lookup, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gc_evicts_oldest, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gc_hit_refreshes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gc_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_write_runs_gc, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
