/*
 * fio: whole writes on a file descriptor, through EINTR and short counts,
 * and the publication of a file written whole under a temporary name.
 */
#ifndef FS_FIO_H
#define FS_FIO_H

#include <stddef.h>

/*
 * Write all len bytes of buf to fd. Returns 0, or -1 with errno as the
 * failing write(2) left it (a write of 0 bytes also fails).
 */
int	 fio_write_all(int fd, const void *buf, size_t len);

/*
 * Close fd, then rename tmp to path: the file appears whole or not at
 * all. fd is closed in every case (the caller forgets it); on failure
 * tmp is left for the caller to unlink. Returns 0, or -1 with errno set.
 */
int	 fio_publish(int fd, const char *tmp, const char *path);

#endif
