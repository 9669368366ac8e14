/*
 * tslot: flock'd slot files bounding concurrent transforms (tslot.h).
 * flock, not fcntl locks: an fcntl lock belongs to the process, so a
 * second descriptor for the same file in the same worker would share it;
 * and flock locks are dropped by the kernel when the holder dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tslot.h"

static int nslots = 1;

void
tslot_init(long long n)
{
	nslots = n < 1 ? 1 : n > TSLOT_MAX ? TSLOT_MAX : (int)n;
}

int
tslot_count(void)
{
	return nslots;
}

int
tslot_acquire(const char *cache_dir)
{
	char path[4096];
	int fd, i, start, k, saved;

	if (snprintf(path, sizeof(path), "%s/%s", cache_dir, TSLOT_DIR) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdir(cache_dir, 0755) == -1 && errno != EEXIST)
		return -1;
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		return -1;
	/* Start at a slot of our own so that workers rarely collide. */
	start = (int)(getpid() % nslots);
	for (k = 0; k < nslots; k++) {
		i = (start + k) % nslots;
		snprintf(path, sizeof(path), "%s/%s/%d", cache_dir, TSLOT_DIR, i);
		fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd == -1)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		saved = errno;
		close(fd);
		if (saved != EWOULDBLOCK && saved != EINTR) {
			errno = saved;
			return -1;
		}
	}
	errno = EBUSY;
	return -1;
}

void
tslot_release(int fd)
{
	if (fd != -1)
		close(fd);	/* drops the flock */
}
