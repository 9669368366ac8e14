/*
 * Unit tests for the agent's path check below its roots:
 * serve_open_beneath() in agent/serve.c (DESIGN §9, anchors §4.1).
 *
 * The HTTP side refuses a signed path that is not normalized before it
 * gets here (tests/t06-agents.sh); these cases check what stands behind
 * that: ".." that climbs out of the root, a relative path, "." and "//".
 * They run with openat2 (RESOLVE_BENEATH), with the walk that refuses
 * every symlink (--no-symlinks), and then again with openat2 denied
 * (ENOSYS), as on kernels before 5.6, where the walk is all there is.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deny_openat2.h"
#include "rmtree.h"
#include "serve.h"

/*
 * The layout: <tmp>/root holds x and sub/y; <tmp>/etc/passwd and
 * <tmp>/rootx/s are outside, where an escape from the root would land.
 */
struct fx {
	char	 tmp[64];	/* mkdtemp */
	char	 root[96];	/* tmp/root */
	int	 rootfd;	/* O_PATH of root */
};

static int	 have_openat2 = 1;	/* 0 once it is denied */

static void
write_file(const char *path, const char *content)
{
	FILE	*fp;

	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(content, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static int
setup(void **state)
{
	struct fx	*f;
	char		 p[160];

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/fs_serve_XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->root, sizeof(f->root), "%s/root", f->tmp);
	assert_int_equal(mkdir(f->root, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub", f->root);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/etc", f->tmp);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/rootx", f->tmp);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/x", f->root);
	write_file(p, "inside");
	snprintf(p, sizeof(p), "%s/sub/y", f->root);
	write_file(p, "deep");
	snprintf(p, sizeof(p), "%s/etc/passwd", f->tmp);
	write_file(p, "outside");
	snprintf(p, sizeof(p), "%s/rootx/s", f->tmp);
	write_file(p, "sibling");
	f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd != -1);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	close(f->rootfd);
	rmtree(f->tmp);
	free(f);
	return 0;
}

/*
 * One path (a leading %s stands for the root) and what each way of opening does
 * with it: 0 opens the file holding want, else the errno of the refusal.
 */
struct open_case {
	const char	*path;
	const char	*want;		/* the file's content when it opens */
	int		 walk;		/* the walk (no openat2, --no-symlinks) */
	int		 beneath;	/* openat2 RESOLVE_BENEATH */
};

static const struct open_case cases[] = {
	/* What may be served, so that a refusal below means something. */
	{ "%s/x", "inside", 0, 0 },
	{ "%s/sub/y", "deep", 0, 0 },
	/* ".." out of the root, straight or after a step down. */
	{ "%s/../etc/passwd", NULL, EXDEV, EXDEV },
	{ "%s/sub/../../etc/passwd", NULL, EXDEV, EXDEV },
	{ "%s/../rootx/s", NULL, EXDEV, EXDEV },
	/* Relative paths, and a sibling that shares the root's prefix. */
	{ "etc/passwd", NULL, EXDEV, EXDEV },
	{ "x", NULL, EXDEV, EXDEV },
	{ "%sx/s", NULL, EXDEV, EXDEV },
	/* "//" right after the root would make the rest absolute. */
	{ "%s//x", NULL, EXDEV, EXDEV },
	{ "%s//etc/passwd", NULL, EXDEV, EXDEV },
	/*
	 * "." and "//" further in, and ".." that stays inside: the walk
	 * refuses them all; openat2 resolves them below the root.
	 */
	{ "%s/./x", "inside", EXDEV, 0 },
	{ "%s/sub//y", "deep", EXDEV, 0 },
	{ "%s/sub/../x", "inside", EXDEV, 0 },
	{ "%s/sub/./y", "deep", EXDEV, 0 },
	/* The root itself is not a file. */
	{ "%s", NULL, EISDIR, EISDIR },
	{ "%s/", NULL, EISDIR, EISDIR },
};

/* Run the table one way: no_symlinks 1 is the walk. */
static void
run_cases(struct fx *f, int no_symlinks)
{
	const struct open_case	*c;
	struct stat		 st;
	char			 path[256], buf[64];
	ssize_t			 n;
	size_t			 i;
	int			 fd, want, use_fd, walk;

	walk = no_symlinks || !have_openat2;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		if (strncmp(c->path, "%s", 2) == 0)
			snprintf(path, sizeof(path), "%s%s", f->root,
			    c->path + 2);
		else
			snprintf(path, sizeof(path), "%s", c->path);
		want = walk ? c->walk : c->beneath;
		/* With the root's descriptor, and without (opened here). */
		for (use_fd = 0; use_fd < 2; use_fd++) {
			errno = 0;
			fd = serve_open_beneath(f->root, use_fd ? f->rootfd : -1,
			    path, no_symlinks, &st);
			if (want != 0 && fd != -1) {
				n = read(fd, buf, sizeof(buf) - 1);
				buf[n > 0 ? n : 0] = '\0';
				close(fd);
				fail_msg("%s (%s): opened, holding \"%s\"; want "
				    "%s", path, walk ? "walk" : "openat2", buf,
				    strerror(want));
			}
			if (want != 0 && errno != want)
				fail_msg("%s (%s): %s; want %s", path,
				    walk ? "walk" : "openat2", strerror(errno),
				    strerror(want));
			if (want != 0)
				continue;
			if (fd == -1)
				fail_msg("%s (%s): %s; want it opened", path,
				    walk ? "walk" : "openat2", strerror(errno));
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			assert_true(n >= 0);
			buf[n] = '\0';
			assert_string_equal(buf, c->want);
			assert_true(S_ISREG(st.st_mode));
		}
	}
}

static void
test_beneath(void **state)
{
	run_cases(*state, 0);
}

static void
test_walk(void **state)
{
	run_cases(*state, 1);
}

/* Escapes through links: the walk refuses every link, openat2 outward. */
static void
test_links(void **state)
{
	struct fx	*f = *state;
	char		 link[160], path[160];
	int		 fd, no_symlinks;

	snprintf(link, sizeof(link), "%s/up", f->root);
	assert_int_equal(symlink("../etc", link), 0);
	snprintf(link, sizeof(link), "%s/in", f->root);
	assert_int_equal(symlink("sub/y", link), 0);
	for (no_symlinks = 0; no_symlinks < 2; no_symlinks++) {
		snprintf(path, sizeof(path), "%s/up/passwd", f->root);
		fd = serve_open_beneath(f->root, f->rootfd, path, no_symlinks,
		    NULL);
		assert_int_equal(fd, -1);
		assert_true(errno == EXDEV || errno == ELOOP);
		snprintf(path, sizeof(path), "%s/in", f->root);
		fd = serve_open_beneath(f->root, f->rootfd, path, no_symlinks,
		    NULL);
		if (no_symlinks || !have_openat2) {
			assert_int_equal(fd, -1);
			assert_int_equal(errno, ELOOP);
		} else {
			assert_true(fd != -1);
			close(fd);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_beneath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links, setup, teardown),
	};
	int	 failed;

	failed = cmocka_run_group_tests_name("serve (openat2)", tests, NULL,
	    NULL);
	if (deny_openat2(ENOSYS) == -1) {
		fprintf(stderr, "serve: cannot install a seccomp filter; the "
		    "walk for kernels without openat2 is NOT tested\n");
		return failed;
	}
	have_openat2 = 0;
	failed += cmocka_run_group_tests_name("serve (no openat2: ENOSYS)",
	    tests, NULL, NULL);
	return failed;
}
