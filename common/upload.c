/*
 * upload: stages, publish, abort and gc of tus uploads (upload.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "publish.h"
#include "upload.h"

#define DIR_MODE	0750
#define FILE_MODE	0640
#define COPY_BUF	(1024 * 1024)	/* one read of a stage when publishing */
#define ORPHAN_SECS	3600		/* a stage without a row this old goes */
#define GC_BATCH	100

static enum fs_err
io_err(int e)
{
	return e == ENOSPC || e == EDQUOT ? FS_NO_SPACE : FS_INTERNAL;
}

/* The stage directory, made when missing: an fd, or -1. */
static int
stage_dir(const char *data_dir, int create)
{
	char path[PATH_MAX];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", data_dir, UPLOAD_DIR);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if (create) {
		/* S3 needs the data dir only for this: make it too. */
		if (mkdir(data_dir, DIR_MODE) == -1 && errno != EEXIST)
			return -1;
		if (mkdir(path, DIR_MODE) == -1 && errno != EEXIST)
			return -1;
	}
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int
upload_stage_open(const char *data_dir, const char *id, int create,
    enum fs_err *e)
{
	int dfd, fd = -1, flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC;

	*e = FS_INTERNAL;
	if (!upload_id_ok(id))
		return -1;
	dfd = stage_dir(data_dir, create);
	if (dfd == -1) {
		*e = create ? io_err(errno) : FS_NOT_FOUND;
		return -1;
	}
	if (create)
		flags |= O_CREAT | O_EXCL;
	fd = openat(dfd, id, flags, FILE_MODE);
	if (fd == -1) {
		*e = errno == ENOENT ? FS_NOT_FOUND : errno == EEXIST ?
		    FS_CONFLICT : io_err(errno);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		*e = errno == EWOULDBLOCK ? FS_CONFLICT : FS_INTERNAL;
		close(fd);
		fd = -1;
		goto out;
	}
	/* Its name must outlive a crash before the row says it exists. */
	if (create && fsync(dfd) == -1) {
		*e = io_err(errno);
		(void)unlinkat(dfd, id, 0);
		close(fd);
		fd = -1;
		goto out;
	}
	*e = FS_OK;
out:
	close(dfd);
	return fd;
}

void
upload_stage_remove(const char *data_dir, const char *id)
{
	int dfd;

	if (!upload_id_ok(id))
		return;
	dfd = stage_dir(data_dir, 0);
	if (dfd == -1)
		return;
	(void)unlinkat(dfd, id, 0);
	close(dfd);
}

/* Copy the first len bytes of the stage at fd into w. */
static enum fs_err
copy_stage(int fd, long long len, struct store_writer *w)
{
	unsigned char *buf;
	long long off = 0;
	ssize_t n;
	enum fs_err e = FS_OK;

	buf = malloc(COPY_BUF);
	if (buf == NULL)
		return FS_INTERNAL;
	while (off < len && e == FS_OK) {
		n = pread(fd, buf, len - off < COPY_BUF ? (size_t)(len - off) :
		    COPY_BUF, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = FS_INTERNAL;	/* the stage is shorter: lost */
			break;
		}
		e = store_write(w, buf, (size_t)n);
		off += n;
	}
	free(buf);
	return e;
}

enum fs_err
upload_publish(struct app *a, const struct principal *p,
    const struct upload_row *u, int fd, int *exists, const char **msg)
{
	struct store_writer *w = NULL;
	struct pub pu;
	enum fs_err e;

	memset(&pu, 0, sizeof(pu));
	pu.a = a;
	pu.p = p;
	pu.pkey = u->key;
	pu.ctype = u->content_type;
	pu.folder_id = u->folder_id[0] != '\0' ? u->folder_id : NULL;
	e = store_writer_open(a->store, u->key, &w);
	if (e == FS_OK) {
		store_writer_size_hint(w, u->length);
		e = copy_stage(fd, u->length, w);
	}
	if (e == FS_OK)
		e = pub_record(&pu, w);
	store_writer_free(w);	/* aborts unless the row took it */
	*exists = pu.exists;
	*msg = pu.msg;
	return e;
}

enum fs_err
upload_abort(sqlite3 *db, const char *data_dir, const char *id)
{
	enum fs_err e;
	int fd;

	fd = upload_stage_open(data_dir, id, 0, &e);
	if (fd == -1 && e != FS_NOT_FOUND)
		return e;
	/* The row first: a stage without a row is gc's to remove. */
	e = upload_delete(db, id);
	if (e == FS_OK && fd != -1)
		upload_stage_remove(data_dir, id);
	if (fd != -1)
		close(fd);
	return e;
}

/* Remove the stages of data_dir that no row names, ORPHAN_SECS old. */
static long long
gc_orphans(sqlite3 *db, const char *data_dir, long long now)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	long long n = 0;
	int dfd, rc;

	dfd = stage_dir(data_dir, 0);
	if (dfd == -1)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!upload_id_ok(de->d_name) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    now - (long long)st.st_mtim.tv_sec < ORPHAN_SECS)
			continue;
		rc = upload_exists(db, de->d_name);
		if (rc == -1) {
			n = -1;
			break;
		}
		if (rc == 0 && unlinkat(dfd, de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

long long
upload_gc(sqlite3 *db, const char *data_dir, long long now)
{
	char ids[GC_BATCH][UPLOAD_ID_LEN + 1];
	long long n = 0, orphans;
	int i, got, done;

	do {
		got = upload_expired(db, now, ids, GC_BATCH);
		if (got == -1)
			return -1;
		done = 0;
		for (i = 0; i < got; i++) {
			/* A request holds it: the next gc takes it. */
			if (upload_abort(db, data_dir, ids[i]) == FS_OK)
				done++;
		}
		n += done;
	} while (got == GC_BATCH && done > 0);
	orphans = gc_orphans(db, data_dir, now);
	return orphans == -1 ? -1 : n + orphans;
}
