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

#include "cry.h"
#include "db.h"
#include "publish.h"
#include "shastate.h"
#include "upload.h"

#define DIR_MODE	0750
#define FILE_MODE	0640
#define COPY_BUF	(1024 * 1024)	/* one read of a stage when publishing */
#define ORPHAN_SECS	3600		/* a stage without a row this old goes */
#define GC_BATCH	100
#define HOST_FILE	".host"		/* upload_host */

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
	dfd = stage_dir(data_dir, create != STAGE_OPEN);
	if (dfd == -1) {
		*e = create != STAGE_OPEN ? err_io(errno) : FS_NOT_FOUND;
		return -1;
	}
	if (create != STAGE_OPEN)
		flags |= O_CREAT;
	if (create == STAGE_CREATE)
		flags |= O_EXCL;
	fd = openat(dfd, id, flags, FILE_MODE);
	if (fd == -1) {
		*e = errno == ENOENT ? FS_NOT_FOUND : errno == EEXIST ?
		    FS_CONFLICT : err_io(errno);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		*e = errno == EWOULDBLOCK ? FS_CONFLICT : FS_INTERNAL;
		close(fd);
		fd = -1;
		goto out;
	}
	/* Its name must outlive a crash before the row says it exists. */
	if (create != STAGE_OPEN && fsync(dfd) == -1) {
		*e = err_io(errno);
		if (create == STAGE_CREATE)
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

/*
 * This host's id, UPLOAD_HOST_LEN hex in <data dir>/.uploads/.host, made
 * once (the first to link its file there wins): the stage_host of the
 * uploads whose stages are here. Read once per process. NULL on error.
 */
const char *
upload_host(const char *data_dir)
{
	static char id[UPLOAD_HOST_LEN + 1];
	unsigned char rnd[UPLOAD_HOST_LEN / 2];
	char tmp[32], mine[UPLOAD_HOST_LEN + 1];
	ssize_t n;
	int dfd, fd, tries;

	if (id[0] != '\0')
		return id;
	dfd = stage_dir(data_dir, 1);
	if (dfd == -1)
		return NULL;
	for (tries = 0; tries < 2 && id[0] == '\0'; tries++) {
		fd = openat(dfd, HOST_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd != -1) {
			n = read(fd, mine, UPLOAD_HOST_LEN);
			close(fd);
			mine[n > 0 ? n : 0] = '\0';
			if (n == UPLOAD_HOST_LEN &&
			    strspn(mine, "0123456789abcdef") == UPLOAD_HOST_LEN)
				memcpy(id, mine, sizeof(id));
			break;	/* an id, or a file that is not one */
		}
		if (errno != ENOENT || cry_random(rnd, sizeof(rnd)) == -1)
			break;
		cry_hex(rnd, sizeof(rnd), mine);
		snprintf(tmp, sizeof(tmp), "%s.%ld", HOST_FILE, (long)getpid());
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC, FILE_MODE);
		if (fd == -1)
			break;
		n = write(fd, mine, UPLOAD_HOST_LEN);
		if (n != UPLOAD_HOST_LEN || fsync(fd) == -1) {
			close(fd);
			(void)unlinkat(dfd, tmp, 0);
			break;
		}
		close(fd);
		/* No clobber: a second process's id loses, and reads ours. */
		if (linkat(dfd, tmp, dfd, HOST_FILE, 0) == -1 && errno != EEXIST)
			tries = 2;
		(void)unlinkat(dfd, tmp, 0);
		(void)fsync(dfd);
	}
	close(dfd);
	return id[0] != '\0' ? id : NULL;
}

int
upload_here(const char *data_dir, const char *host,
    const struct upload_row *u)
{
	char path[PATH_MAX];

	if (u->stage_host != NULL)
		return strcmp(u->stage_host, host) == 0;
	/* Older than stage_host (sql/0013): where its stage file is. */
	if (snprintf(path, sizeof(path), "%s/%s/%s", data_dir, UPLOAD_DIR,
	    u->id) >= (int)sizeof(path))
		return 0;
	return access(path, F_OK) == 0;
}

int
upload_movable(struct app *a, const struct upload_row *u)
{
	/*
	 * On S3, with parts to resume after, each with its hash, or none
	 * yet; not a row older than stage_host (sql/0013), which stays.
	 */
	return store_has_mp(a->store) && u->stage_host != NULL &&
	    (u->nparts == 0 || u->part_sha != NULL);
}

/*
 * The running hash at the end of the len bytes of the stage at fd after
 * u's parts, from the hash at their end (part_sha): a takeover resumes
 * there (upload_take_over). Into text; -1 on error.
 */
static int
part_hash(const struct upload_row *u, int fd, long long len,
    char text[SHASTATE_LEN + 1])
{
	struct shastate *h;
	unsigned char *buf;
	long long off = 0;
	ssize_t n;
	int rc = 0;

	if (u->nparts > 0 && u->part_sha == NULL)
		return -1;	/* parts older than their hashes */
	h = shastate_new(u->part_sha);
	buf = malloc(COPY_BUF);
	if (h == NULL || buf == NULL)
		rc = -1;
	while (rc == 0 && off < len) {
		n = pread(fd, buf, len - off < COPY_BUF ? (size_t)(len - off) :
		    COPY_BUF, u->parts_bytes + off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = -1;
		else {
			shastate_update(h, buf, (size_t)n);
			off += n;
		}
	}
	if (rc == 0)
		shastate_save(h, text);
	free(buf);
	shastate_free(h);
	return rc;
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

/*
 * Send the len bytes of the stage at fd after u's parts as the next part
 * of its multipart upload (begun here for the first), record it, and
 * free those bytes of the stage: the stage keeps its size, with a hole
 * where the parts were (a crash before the punch only leaves the bytes).
 */
static enum fs_err
part_send(struct app *a, struct upload_row *u, int fd, long long len)
{
	struct store_part pt;
	char *state = NULL, *dup, sha[SHASTATE_LEN + 1];
	const char *host, *shap;
	enum fs_err e;

	if (u->nparts >= STORE_MP_PARTS)
		return FS_TOO_LARGE;
	host = upload_host(a->cfg.data_dir);
	if (host == NULL)
		return FS_INTERNAL;
	/* Without it the upload stays on this host: no takeover (upload.h). */
	shap = part_hash(u, fd, len, sha) == 0 ? sha : NULL;
	if (u->store_state == NULL) {
		e = store_mp_begin(a->store, &state);
		if (e != FS_OK)
			return e;
		e = upload_set_store_state(a->db, u->id, host, state);
		if (e != FS_OK) {
			(void)store_mp_abort(a->store, state, NULL, 0);
			free(state);
			return e;
		}
		u->store_state = state;
	}
	memset(&pt, 0, sizeof(pt));
	pt.number = u->nparts + 1;
	pt.size = len;
	e = store_mp_part(a->store, u->store_state, pt.number, fd,
	    u->parts_bytes, len, pt.etag);
	if (e == FS_OK)
		e = upload_part_add(a->db, u->id, host, &pt, shap);
	if (e != FS_OK)
		return e;
	dup = shap != NULL ? strdup(shap) : NULL;
	free(u->part_sha);
	u->part_sha = dup;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    u->parts_bytes, len) == -1)
		app_log(a, "uploads: cannot free the stage's sent part (%s)",
		    strerror(errno));
	u->nparts++;
	u->parts_bytes += len;
	return FS_OK;
}

enum fs_err
upload_flush(struct app *a, struct upload_row *u, int fd)
{
	long long part = a->cfg.s3.part_size;
	enum fs_err e = FS_OK;

	/* Parts need the running hash: without it the stage is read whole. */
	if (!store_has_mp(a->store) || u->sha_state == NULL)
		return FS_OK;
	while (e == FS_OK && u->offset - u->parts_bytes >= part)
		e = part_send(a, u, fd, part);
	return e;
}

/*
 * The writer of u on S3 once parts went: the rest of the stage as the
 * last part, then CompleteMultipartUpload.
 */
static enum fs_err
mp_writer(struct app *a, struct upload_row *u, int fd,
    const unsigned char *sha, struct store_writer **w)
{
	struct store_part *parts = NULL;
	long long sum = 0;
	enum fs_err e = FS_OK;
	int n = 0, i;

	if (u->length > u->parts_bytes)
		e = part_send(a, u, fd, u->length - u->parts_bytes);
	if (e == FS_OK)
		e = upload_parts(a->db, u->id, &parts, &n);
	for (i = 0; e == FS_OK && i < n; i++) {
		if (parts[i].number != i + 1)
			e = FS_INTERNAL;
		sum += parts[i].size;
	}
	if (e == FS_OK && sum != u->length)
		e = FS_INTERNAL;
	if (e == FS_OK)
		e = store_mp_complete(a->store, u->store_state, parts, n,
		    u->key, sha, u->length, w);
	free(parts);
	return e;
}

/* The stage at fd, taken as it is by the disk adapter (no copy). */
static enum fs_err
adopt_writer(struct app *a, const struct upload_row *u, int fd,
    const unsigned char *sha, struct store_writer **w)
{
	enum fs_err e;
	int dfd;

	dfd = stage_dir(a->cfg.data_dir, 0);
	if (dfd == -1)
		return FS_INTERNAL;
	e = store_writer_adopt(a->store, u->key, dfd, u->id, fd, sha,
	    u->length, w);
	close(dfd);
	return e;
}

/* The stage at fd copied through a new writer: rows without a hash. */
static enum fs_err
copy_writer(struct app *a, const struct upload_row *u, int fd,
    struct store_writer **w)
{
	enum fs_err e;

	e = store_writer_open(a->store, u->key, w);
	if (e == FS_OK) {
		store_writer_size_hint(*w, u->length);
		e = copy_stage(fd, u->length, *w);
	}
	return e;
}

enum fs_err
upload_publish(struct app *a, const struct principal *p,
    struct upload_row *u, int fd, int *exists, const char **msg)
{
	struct store_writer *w = NULL;
	struct shastate *h = NULL;
	unsigned char sha[CRY_SHA256_LEN];
	struct pub pu;
	enum fs_err e;

	memset(&pu, 0, sizeof(pu));
	pu.a = a;
	pu.p = p;
	pu.pkey = u->key;
	pu.ctype = u->content_type;
	pu.folder_id = u->folder_id[0] != '\0' ? u->folder_id : NULL;
	/* The running hash: none for rows older than it (sql/0009). */
	if (u->sha_state != NULL || u->offset == 0)
		h = shastate_new(u->sha_state);
	if (h != NULL)
		shastate_digest(h, sha);
	if (h != NULL && store_has_mp(a->store) && u->store_state != NULL &&
	    u->length > 0)
		e = mp_writer(a, u, fd, sha, &w);
	else if (h != NULL && !store_has_mp(a->store))
		e = adopt_writer(a, u, fd, sha, &w);
	else
		e = copy_writer(a, u, fd, &w);
	if (e == FS_OK)
		e = pub_record(&pu, w);
	store_writer_free(w);	/* aborts unless the row took it */
	shastate_free(h);
	*exists = pu.exists;
	*msg = pu.msg;
	return e;
}

enum fs_err
upload_abort(struct db *db, struct store *s, const char *data_dir,
    const char *id)
{
	struct store_part *parts = NULL;
	struct upload_row u;
	enum fs_err e;
	int fd, n = 0;

	fd = upload_stage_open(data_dir, id, STAGE_OPEN, &e);
	if (fd == -1 && e != FS_NOT_FOUND)
		return e;
	/*
	 * The multipart upload first: its row keeps naming it until it is
	 * aborted, so a failure here is retried by the next gc.
	 */
	e = upload_load(db, id, NULL, &u);
	if (e == FS_OK && u.store_state != NULL)
		e = upload_parts(db, id, &parts, &n);
	if (e == FS_OK && u.store_state != NULL)
		e = store_mp_abort(s, u.store_state, parts, n);
	free(parts);
	upload_row_free(&u);
	if (e == FS_NOT_FOUND)
		e = FS_OK;
	/* The row, then the stage: a stage without a row is gc's. */
	if (e == FS_OK)
		e = upload_delete(db, id);
	if (e == FS_OK && fd != -1)
		upload_stage_remove(data_dir, id);
	if (fd != -1)
		close(fd);
	return e;
}

/* Remove the stages of data_dir that no row names, ORPHAN_SECS old. */
static long long
gc_orphans(struct db *db, const char *data_dir, long long now)
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
upload_gc(struct db *db, struct store *s, const char *data_dir, long long now)
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
			if (upload_abort(db, s, data_dir, ids[i]) == FS_OK)
				done++;
		}
		n += done;
	} while (got == GC_BATCH && done > 0);
	orphans = gc_orphans(db, data_dir, now);
	return orphans == -1 ? -1 : n + orphans;
}
