/*
 * fio: whole writes on a file descriptor (see fio.h).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "fio.h"

int
fio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

int
fio_sync_step(int fd, long long written, long long *synced)
{
	if (written - *synced < FIO_SYNC_STEP)
		return 0;
	if (fdatasync(fd) == -1)
		return -1;
	*synced = written;
	return 0;
}

int
fio_publish(int fd, const char *tmp, const char *path)
{
	if (close(fd) == -1)
		return -1;
	return rename(tmp, path);
}
