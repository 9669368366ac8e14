/*
 * fio: whole writes on a file descriptor, through EINTR and short counts,
 * a file made durable as it is written, and the publication of a file
 * written whole under a temporary name.
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
 * A body written to a file is made durable as it comes, FIO_SYNC_STEP
 * bytes at a time, so that the fsync that ends it (and answers the
 * client) has at most that much left to do. sync_file_range(2) is not
 * enough: it starts the writes but leaves them in the disk's cache, and
 * the final fsync still flushes every byte written since the last flush
 * (on a virtual disk, the host writes them then: 6 ms per 8 MiB here).
 * The writer calls this from its writing thread, so the flushing
 * overlaps the arrival of the next bytes.
 */
#define FIO_SYNC_STEP	(2LL * 1024 * 1024)

/*
 * fd has had written bytes written since the writer began, the first
 * *synced of them already durable: once FIO_SYNC_STEP more came,
 * fdatasync it (the new size with it) and move *synced. 0, or -1 with
 * errno: the write has failed (Linux reports a writeback error to one
 * fsync only, so a later fsync would not see it).
 */
int	 fio_sync_step(int fd, long long written, long long *synced);

/*
 * Close fd, then rename tmp to path: the file appears whole or not at
 * all. fd is closed in every case (the caller forgets it); on failure
 * tmp is left for the caller to unlink. Returns 0, or -1 with errno set.
 */
int	 fio_publish(int fd, const char *tmp, const char *path);

#endif
