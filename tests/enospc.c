/*
 * enospc.so: a test-only LD_PRELOAD shim. Writes to regular files below
 * $FILESTOR_TEST_ENOSPC_DIR fail with ENOSPC once more than
 * $FILESTOR_TEST_ENOSPC_AFTER bytes went to such files, as on a full
 * disk. Used by tests/t04-robust.sh to check the 507 path without
 * mounting a small filesystem (which needs root). Never installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t	write(int, const void *, size_t);

static long long written;

static int
watched(int fd)
{
	const char *dir = getenv("FILESTOR_TEST_ENOSPC_DIR");
	char link[64], path[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (dir == NULL || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strncmp(path, dir, strlen(dir)) == 0;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	const char *after = getenv("FILESTOR_TEST_ENOSPC_AFTER");

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
		    "write");
	if (after != NULL && watched(fd)) {
		if (written + (long long)len > atoll(after)) {
			errno = ENOSPC;
			return -1;
		}
		written += (long long)len;
	}
	return real(fd, buf, len);
}
