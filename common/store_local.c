/*
 * store_local: the local-disk storage adapter (DESIGN §8).
 *
 * Layout under the data dir:
 *   tenants/<tid>/<logical key>	published objects, one file each
 *   .tmp/<32 hex>			uploads in progress
 *
 * Temporary files live in their own top-level directory, not beside their
 * target: any name we could give them ("x.tmp", ".tmp.abc") is also a valid
 * logical key segment, so a temp file next to its target could collide
 * with, or be listed as, a real object. ".tmp" cannot be reached by any
 * physical key (they all start with "tenants/"), and it is on the same
 * filesystem, so renameat() from it is atomic.
 *
 * Every key is resolved relative to an fd of the data dir with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a symlink planted
 * under the data dir cannot lead outside it (anchors §4.1). Kernels before
 * 5.6 get the same guarantee from a walk that opens one component at a
 * time with O_NOFOLLOW.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fio.h"
#include "store.h"
#include "store_impl.h"

#define TMP_DIR		".tmp"
#define TMP_RAND_LEN	16			/* random bytes in a temp name */
#define TMP_NAME_LEN	(2 * TMP_RAND_LEN)	/* hex characters */
#define DIR_MODE	0750
#define FILE_MODE	0640
/*
 * How often to retry an operation that lost a race: a temp name that
 * already exists, or a parent directory removed by a concurrent delete
 * between our mkdir and our rename.
 */
#define RETRIES		3

struct lstore;
struct lwriter;
static void	local_close(struct store *);
static void	local_writer_free(struct store_writer *);

/* A store, and its writers and readers, are used by one thread at a time. */
struct lstore {
	struct store	 base;		/* first: the interface */
	char	*dir;		/* realpath of the data dir; owned */
	int	 dfd;		/* the data dir */
	int	 tmpfd;		/* <data dir>/.tmp */
	int	 no_openat2;	/* set once the kernel answers ENOSYS */
};

struct lwriter {
	struct store_writer base;	/* first: the interface */
	struct lstore	*s;		/* borrowed; must outlive the writer */
	char		*pkey;		/* owned copy */
	int		 fd;		/* the temp file, until commit */
	int		 dirfd;		/* the target's parent directory */
	char		 tmpname[TMP_NAME_LEN + 1];	/* "" until created */
	EVP_MD_CTX	*md;
	long long	 size;
	int		 failed;	/* a write failed: refuse to commit */
	int		 finished;	/* store_finish done: data durable */
	long long	 synced;	/* bytes made durable so far */
	unsigned char	 digest[CRY_SHA256_LEN];
	int		 published;	/* renamed into place: nothing to undo */
	int		 kept;		/* a row names the temp file */
	int		 lockfd;	/* after finish: the upload lock */
	int		 at;		/* writes into fd from at_off on */
	long long	 at_off;
	long long	 at_len;	/* the most it may write */
};

struct lreader {
	struct store_reader base;	/* first: the interface */
	int		 fd;
	long long	 pos;
	long long	 left;		/* bytes still allowed; -1: to the end */
};

/*
 * The second line of defence (store_pkey_ok), and what a disk can hold:
 * every segment a file name of at most NAME_MAX bytes.
 */
static int
pkey_ok(const char *p)
{
	size_t seg;

	if (!store_pkey_ok(p))
		return 0;
	for (; *p != '\0'; p += seg + (p[seg] == '/')) {
		seg = strcspn(p, "/");
		if (seg > NAME_MAX)
			return 0;
	}
	return 1;
}

/*
 * An errno from resolving a key for reading. Anything that means "there is
 * no plain file there that we may serve" (a symlink, an escape, a file
 * where a directory should be) is NOT_FOUND, never a hint of what is there.
 */
static enum fs_err
read_err(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ELOOP:
	case EXDEV:
	case EISDIR:
	case ENAMETOOLONG:
		return FS_NOT_FOUND;
	default:
		return FS_INTERNAL;
	}
}

/*
 * Open the directory that holds the last component of path below dfd, one
 * component at a time, never following a symlink. With create, make the
 * missing ones (mode DIR_MODE) on the way: mkdirat never follows a
 * symlink, and each component is opened with O_NOFOLLOW before the next is
 * created inside it. A directory made must outlive a crash once a row
 * names an object in it, so its name is synced into its parent at once.
 * Returns dfd itself for a path of one component, else an fd (O_PATH
 * unless create), or -1 with errno.
 */
static int
walk_dirs(int dfd, const char *path, int create)
{
	char	 buf[PATH_MAX];
	char	*comp, *slash;
	size_t	 len;
	int	 cur = dfd, next, saved;

	len = strlen(path);
	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	/* The last component is not walked: the caller opens it. */
	for (comp = buf; (slash = strchr(comp, '/')) != NULL;
	    comp = slash + 1) {
		*slash = '\0';
		if (create && mkdirat(cur, comp, DIR_MODE) == 0) {
			if (fsync(cur) == -1)
				goto fail;
		} else if (create && errno != EEXIST)
			goto fail;
		next = openat(cur, comp, (create ? O_RDONLY : O_PATH) |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next == -1)
			goto fail;
		if (cur != dfd)
			close(cur);
		cur = next;
	}
	return cur;
fail:
	saved = errno;
	if (cur != dfd)
		close(cur);
	errno = saved;
	return -1;
}

/*
 * The fallback for kernels without openat2: open path below dfd one
 * component at a time, never following a symlink. Returns an fd or -1
 * with errno.
 */
static int
walk_open(int dfd, const char *path, int flags)
{
	const char	*last;
	struct stat	 st;
	int		 cur, fd = -1, saved = 0;

	cur = walk_dirs(dfd, path, 0);
	if (cur == -1)
		return -1;
	last = strrchr(path, '/');
	last = last != NULL ? last + 1 : path;
	fd = openat(cur, last, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		saved = errno;
		goto out;
	}
	/* With O_PATH, O_NOFOLLOW opens the link itself instead of failing. */
	if (flags & O_PATH) {
		if (fstat(fd, &st) == -1) {
			saved = errno;
		} else if (S_ISLNK(st.st_mode)) {
			saved = ELOOP;
		}
		if (saved != 0) {
			close(fd);
			fd = -1;
		}
	}
out:
	if (cur != dfd)
		close(cur);
	errno = saved;
	return fd;
}

/*
 * Open path (relative, already checked) beneath the data dir without
 * following any symlink. Returns an fd or -1 with errno.
 */
static int
open_beneath(struct lstore *s, const char *path, int flags)
{
#ifdef SYS_openat2
	struct open_how	 how;
	int		 fd = -1, i;

	if (!s->no_openat2) {
		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(flags | O_CLOEXEC);
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		    RESOLVE_NO_MAGICLINKS;
		/* EAGAIN: a concurrent rename raced the resolution. */
		for (i = 0; i < RETRIES; i++) {
			fd = (int)syscall(SYS_openat2, s->dfd, path, &how,
			    sizeof(how));
			if (fd != -1 || (errno != EAGAIN && errno != EINTR))
				break;
		}
		if (fd != -1)
			return fd;
		/*
		 * ENOSYS: a kernel before 5.6; remember it. EPERM: some
		 * container seccomp profiles refuse syscalls they do not
		 * know. The walk is as strict, only slower, so fall back to
		 * it; a genuine EPERM comes back from the walk as well.
		 */
		if (errno == ENOSYS)
			s->no_openat2 = 1;
		else if (errno != EPERM)
			return -1;
	}
#endif
	return walk_open(s->dfd, path, flags);
}

/*
 * Open the directory that will hold pkey, creating the missing components
 * (walk_dirs), so this is as safe as openat2 without needing it. Returns
 * an fd or -1 with errno.
 */
static int
make_parent(struct lstore *s, const char *pkey)
{
	int	 cur;

	cur = walk_dirs(s->dfd, pkey, 1);
	/* Never hand out the data dir fd itself: the caller closes it. */
	if (cur == s->dfd) {
		errno = EINVAL;
		return -1;
	}
	return cur;
}

/*
 * make_parent, retried when a concurrent delete pruned a directory between
 * our mkdirat and openat (ENOENT).
 */
static enum fs_err
open_parent(struct lstore *s, const char *pkey, int *dirfd)
{
	int	 fd = -1, i;

	for (i = 0; i < RETRIES; i++) {
		fd = make_parent(s, pkey);
		if (fd != -1 || errno != ENOENT)
			break;
	}
	if (fd != -1) {
		*dirfd = fd;
		return FS_OK;
	}
	/*
	 * ENOTDIR: an object sits where a directory is needed ("a" exists,
	 * "a/b" is wanted). ELOOP: a symlink; refuse like anything else
	 * we did not create.
	 */
	if (errno == ENOTDIR || errno == ELOOP)
		return FS_CONFLICT;
	if (errno == ENAMETOOLONG)
		return FS_VALIDATION;
	return err_io(errno);
}

/*
 * Remove the directories of pkey that are now empty, deepest first,
 * stopping at the first that is not (or at tenants/<tid>, which stays).
 * Best effort: a failure only leaves an empty directory behind.
 */
static void
prune_parents(struct lstore *s, const char *pkey)
{
	char	 buf[PATH_MAX];
	char	*slash;
	size_t	 len, i, depth = 1;
	int	 pfd, r;

	len = strlen(pkey);
	if (len >= sizeof(buf))
		return;
	memcpy(buf, pkey, len + 1);
	for (i = 0; i < len; i++)
		if (buf[i] == '/')
			depth++;
	while (depth > PKEY_MIN_SEGS) {
		/* Drop the last segment: buf is now a directory. */
		slash = strrchr(buf, '/');
		*slash = '\0';
		depth--;
		/* Split it into its parent and its name. */
		slash = strrchr(buf, '/');
		*slash = '\0';
		pfd = open_beneath(s, buf, O_PATH | O_DIRECTORY);
		*slash = '/';
		if (pfd == -1)
			return;
		/* ENOTEMPTY/EEXIST: still in use; stop there. */
		r = unlinkat(pfd, slash + 1, AT_REMOVEDIR);
		close(pfd);
		if (r == -1)
			return;
	}
}

/* 1 when name is one of ours: exactly TMP_NAME_LEN lower-case hex digits. */
static int
tmp_name_ok(const char *name)
{
	size_t	 i;

	for (i = 0; i < TMP_NAME_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return name[TMP_NAME_LEN] == '\0';
}

/* Create a fresh temp file in .tmp; its name goes to name. */
static enum fs_err
tmp_create(struct lstore *s, char name[TMP_NAME_LEN + 1], int *fdp)
{
	unsigned char	 rnd[TMP_RAND_LEN];
	int		 fd = -1, i;

	for (i = 0; i < RETRIES; i++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			/* Do not leave the name of someone else's file. */
			name[0] = '\0';
			return FS_INTERNAL;
		}
		cry_hex(rnd, sizeof(rnd), name);
		/* O_EXCL: never reuse or follow whatever is already there. */
		fd = openat(s->tmpfd, name,
		    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
		    FILE_MODE);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1) {
		name[0] = '\0';
		return err_io(errno);
	}
	/*
	 * Held until the upload's descriptor is closed: a temp file nobody
	 * holds a lock on belongs to a process that died (local_gc_tmp).
	 */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		(void)unlinkat(s->tmpfd, name, 0);
		close(fd);
		name[0] = '\0';
		return FS_INTERNAL;
	}
	*fdp = fd;
	return FS_OK;
}

/* mkdir -p, for the data dir only (it comes from the operator). */
static int
mkdir_p(const char *path)
{
	char	 buf[PATH_MAX];
	char	*p;
	size_t	 len;

	len = strlen(path);
	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		/*
		 * Errors on the way are ignored: an existing ancestor may
		 * answer EACCES or EROFS instead of EEXIST. The last mkdir
		 * and the open that follows tell the truth.
		 */
		(void)mkdir(buf, DIR_MODE);
		*p = '/';
	}
	if (mkdir(buf, DIR_MODE) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static void
set_err(char *err, size_t errlen, const char *what, const char *path, int e)
{
	if (err == NULL || errlen == 0)
		return;
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
}

static struct lstore *
local_open(const char *data_dir, char *err, size_t errlen)
{
	struct lstore	*s = NULL, *ret = NULL;

	if (data_dir == NULL || data_dir[0] == '\0') {
		set_err(err, errlen, "data dir", "(unset)", EINVAL);
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		set_err(err, errlen, "cannot open data dir", data_dir, errno);
		goto out;
	}
	s->dfd = -1;
	s->tmpfd = -1;
	if (mkdir_p(data_dir) == -1) {
		set_err(err, errlen, "cannot create data dir", data_dir, errno);
		goto out;
	}
	s->dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd == -1) {
		set_err(err, errlen, "cannot open data dir", data_dir, errno);
		goto out;
	}
	s->dir = realpath(data_dir, NULL);
	if (s->dir == NULL) {
		set_err(err, errlen, "cannot resolve data dir", data_dir, errno);
		goto out;
	}
	if (mkdirat(s->dfd, TMP_DIR, DIR_MODE) == -1 && errno != EEXIST) {
		set_err(err, errlen, "cannot create .tmp in", data_dir, errno);
		goto out;
	}
	s->tmpfd = openat(s->dfd, TMP_DIR,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->tmpfd == -1) {
		set_err(err, errlen, "cannot open .tmp in", data_dir, errno);
		goto out;
	}
	ret = s;
	s = NULL;
out:
	local_close(&s->base);
	return ret;
}

static void
local_close(struct store *bs)
{
	struct lstore	*s = (struct lstore *)bs;
	if (s == NULL)
		return;
	if (s->tmpfd != -1)
		close(s->tmpfd);
	if (s->dfd != -1)
		close(s->dfd);
	free(s->dir);
	free(s);
}

/*
 * A writer for pkey with its parent directory open (made now rather than
 * at commit, so that a key that cannot exist on disk fails before a body
 * is streamed), and no temp file yet. Freed with local_writer_free.
 */
static enum fs_err
writer_new(struct lstore *s, const char *pkey, struct lwriter **wp)
{
	struct lwriter	*w = NULL;
	enum fs_err	 rc = FS_INTERNAL;

	*wp = NULL;
	if (!pkey_ok(pkey))
		return FS_VALIDATION;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return FS_INTERNAL;
	w->s = s;
	w->fd = -1;
	w->dirfd = -1;
	w->lockfd = -1;
	w->pkey = strdup(pkey);
	if (w->pkey == NULL)
		goto out;
	rc = open_parent(s, pkey, &w->dirfd);
	if (rc != FS_OK)
		goto out;
	*wp = w;
	w = NULL;
out:
	local_writer_free(&w->base);
	return rc;
}

static enum fs_err
local_writer_open(struct lstore *s, const char *pkey, struct lwriter **wp)
{
	struct lwriter	*w = NULL;
	enum fs_err		 rc;

	*wp = NULL;
	rc = writer_new(s, pkey, &w);
	if (rc != FS_OK)
		return rc;
	rc = FS_INTERNAL;
	w->md = EVP_MD_CTX_new();
	if (w->md == NULL || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1)
		goto out;
	rc = tmp_create(s, w->tmpname, &w->fd);
	if (rc != FS_OK)
		goto out;
	*wp = w;
	w = NULL;
out:
	local_writer_free(&w->base);
	return rc;
}

/* rc, and the writer refuses all further work unless rc is FS_OK. */
static enum fs_err
failed_if(struct lwriter *w, enum fs_err rc)
{
	if (rc != FS_OK)
		w->failed = 1;
	return rc;
}

static enum fs_err
local_write(struct store_writer *bw, const void *buf, size_t len)
{
	struct lwriter	*w = (struct lwriter *)bw;
	const unsigned char	*p = buf;
	size_t			 off = 0;
	ssize_t			 n;
	enum fs_err		 rc = FS_INTERNAL;

	if (w == NULL || w->failed || w->published || w->fd == -1)
		return FS_INTERNAL;
	if (len == 0)
		return FS_OK;
	if (len > (unsigned long long)(LLONG_MAX - w->size) ||
	    (w->at && (long long)len > w->at_len - w->size))
		goto out;
	while (off < len) {
		n = w->at ? pwrite(w->fd, p + off, len - off,
		    w->at_off + w->size + (long long)off) :
		    write(w->fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = err_io(errno);
			goto out;
		}
		/* A regular file never accepts 0 bytes of a non-empty write. */
		if (n == 0)
			goto out;
		off += (size_t)n;
	}
	if (EVP_DigestUpdate(w->md, buf, len) != 1)
		goto out;
	w->size += (long long)len;
	/* Durable as it comes: the fsync in local_finish has little left. */
	if (fio_sync_step(w->fd, w->size, &w->synced) == -1) {
		rc = err_io(errno);
		goto out;
	}
	rc = FS_OK;
out:
	/* The file and the hash no longer agree: this upload is over. */
	return failed_if(w, rc);
}

static enum fs_err
local_finish(struct store_writer *bw, unsigned char sha256[CRY_SHA256_LEN],
    long long *size)
{
	struct lwriter	*w = (struct lwriter *)bw;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	struct stat	 st;
	int		 fd;
	enum fs_err	 rc = FS_INTERNAL;

	if (w == NULL || w->failed || w->published)
		return FS_INTERNAL;
	if (w->finished)
		goto done;
	if (w->fd == -1)
		return FS_INTERNAL;
	/* The data must be on disk before the name points at it. */
	if (fsync(w->fd) == -1) {
		rc = err_io(errno);
		goto out;
	}
	/* A writer into someone's file: its range is durable, that is all. */
	if (w->at)
		goto digest;
	/* Removed by store_gc_tmp (a stalled upload): no row may name it. */
	if (fstat(w->fd, &st) == -1 || st.st_nlink == 0)
		goto out;
	/*
	 * Some filesystems (NFS) report write errors only at close. Keep
	 * the upload lock until the writer is freed, so that the orphan
	 * sweep leaves the file alone while its row is committed and its
	 * publish runs: a duplicate shares the locked open file, and close
	 * still reports what the filesystem says.
	 */
	w->lockfd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0);
	if (w->lockfd == -1)
		goto out;
	fd = w->fd;
	w->fd = -1;
	if (close(fd) == -1) {
		rc = err_io(errno);
		goto out;
	}
	/* A row may name the file once finished: its name must be durable. */
	if (fsync(w->s->tmpfd) == -1) {
		rc = err_io(errno);
		goto out;
	}
digest:
	if (EVP_DigestFinal_ex(w->md, md, &mdlen) != 1 ||
	    mdlen != CRY_SHA256_LEN)
		goto out;
	memcpy(w->digest, md, CRY_SHA256_LEN);
	w->finished = 1;
done:
	if (sha256 != NULL)
		memcpy(sha256, w->digest, CRY_SHA256_LEN);
	if (size != NULL)
		*size = w->size;
	rc = FS_OK;
out:
	return failed_if(w, rc);
}

/*
 * Publish the temp file name of .tmp as pkey: rename it into place (making
 * the directories on the way) and fsync the directory. A temp file that
 * is gone was published by an earlier call whose directory fsync may not
 * have held, so the directory is synced again. The caller (a row's
 * publish, under the database write lock) clears the row's pending name
 * only on FS_OK.
 */
static enum fs_err
local_publish(struct store *bs, const char *name, const char *pkey)
{
	struct lstore	*s = (struct lstore *)bs;
	struct stat	 st;
	const char	*base;
	int		 i, e, dirfd = -1;
	enum fs_err	 rc;

	if (!pkey_ok(pkey) || !tmp_name_ok(name))
		return FS_VALIDATION;
	base = strrchr(pkey, '/') + 1;
	for (i = 0; ; i++) {
		rc = open_parent(s, pkey, &dirfd);
		if (rc != FS_OK)
			return rc;
		if (renameat(s->tmpfd, name, dirfd, base) == 0)
			break;
		e = errno;
		/* A directory sits at the target: "a/b" exists, "a" wanted. */
		if (e == EISDIR || e == ENOTEMPTY) {
			rc = FS_CONFLICT;
			goto out;
		}
		if (e == ENOENT && fstatat(s->tmpfd, name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT)
			break;	/* published already */
		/*
		 * ENOENT: a concurrent delete pruned our (empty) parent
		 * directory between open_parent and the rename; again.
		 */
		if (e != ENOENT || i + 1 >= RETRIES) {
			rc = err_io(e);
			goto out;
		}
		close(dirfd);
		dirfd = -1;
	}
	rc = fsync(dirfd) == -1 ? err_io(errno) : FS_OK;
out:
	close(dirfd);
	return rc;
}

/* store_commit, once finished: publish, for callers with no row. */
static enum fs_err
local_commit(struct store_writer *bw)
{
	struct lwriter	*w = (struct lwriter *)bw;
	enum fs_err	 rc;

	rc = failed_if(w, local_publish(&w->s->base, w->tmpname, w->pkey));
	if (rc == FS_OK) {
		w->published = 1;
		w->tmpname[0] = '\0';
	}
	return rc;
}

/* Refuse before the row commits what its publish would refuse. */
static enum fs_err
local_check(struct store_writer *bw)
{
	struct lwriter	*w = (struct lwriter *)bw;
	struct stat	 st;

	if (fstatat(w->dirfd, strrchr(w->pkey, '/') + 1, &st,
	    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		return FS_CONFLICT;
	return FS_OK;
}

/* Remove the temp file name (a publish superseded, or its row deleted). */
static enum fs_err
local_drop_tmp(struct store *bs, const char *name)
{
	struct lstore	*s = (struct lstore *)bs;
	if (!tmp_name_ok(name))
		return FS_VALIDATION;
	if (unlinkat(s->tmpfd, name, 0) == -1 && errno != ENOENT)
		return FS_INTERNAL;
	return FS_OK;
}

static void
local_writer_free(struct store_writer *bw)
{
	struct lwriter	*w = (struct lwriter *)bw;
	if (w == NULL)
		return;
	if (w->fd != -1)
		close(w->fd);
	if (w->lockfd != -1)
		close(w->lockfd);
	if (!w->published && !w->kept) {
		if (w->tmpname[0] != '\0')
			(void)unlinkat(w->s->tmpfd, w->tmpname, 0);
		/* Directories made for an upload that never landed. */
		if (w->dirfd != -1 && w->pkey != NULL)
			prune_parents(w->s, w->pkey);
	}
	if (w->dirfd != -1)
		close(w->dirfd);
	EVP_MD_CTX_free(w->md);
	free(w->pkey);
	free(w);
}

/* FS_OK when fd is open on a plain file, FS_NOT_FOUND when not. */
static enum fs_err
plain_file(int fd)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1)
		return FS_INTERNAL;
	return S_ISREG(st.st_mode) ? FS_OK : FS_NOT_FOUND;
}

/* A reader of [off, off+len) of the file open at fd, which it takes. */
static enum fs_err
reader_of(int fd, long long off, long long len, struct lreader **rdp)
{
	struct lreader	*rd = NULL;
	int		 fl;
	enum fs_err	 rc;

	rc = plain_file(fd);
	if (rc != FS_OK)
		goto out;
	rc = FS_INTERNAL;
	fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		goto out;
	rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		goto out;
	rd->fd = fd;
	fd = -1;
	rd->pos = off;
	rd->left = len;
	*rdp = rd;
	rc = FS_OK;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * The reader of pkey, or, when name is not NULL, of the temp file name of
 * .tmp (a row's pending object).
 */
static enum fs_err
local_reader_open(struct lstore *s, const char *pkey, const char *name,
    long long off, long long len, struct lreader **rdp)
{
	int	 fd;

	*rdp = NULL;
	if (name != NULL ? !tmp_name_ok(name) : !pkey_ok(pkey))
		return FS_VALIDATION;
	if (off < 0 || len < -1)
		return FS_RANGE;
	/*
	 * O_NONBLOCK: a FIFO planted under the data dir must not hang the
	 * worker in open(); it is refused by the S_ISREG check.
	 */
	if (name != NULL)
		fd = openat(s->tmpfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
		    O_CLOEXEC);
	else
		fd = open_beneath(s, pkey, O_RDONLY | O_NONBLOCK);
	if (fd == -1)
		return read_err(errno);
	return reader_of(fd, off, len, rdp);
}

static ssize_t
local_read(struct store_reader *brd, void *buf, size_t len)
{
	struct lreader	*rd = (struct lreader *)brd;
	ssize_t	 n;
	size_t	 want = len;

	if (rd == NULL || (buf == NULL && len != 0))
		return -1;
	if (rd->left == 0 || len == 0)
		return 0;
	if (want > SSIZE_MAX)
		want = SSIZE_MAX;
	if (rd->left != -1 && (unsigned long long)rd->left < want)
		want = (size_t)rd->left;
	/* pread refuses (EINVAL) a span that would pass the largest off_t. */
	if ((unsigned long long)(LLONG_MAX - rd->pos) < want)
		want = (size_t)(LLONG_MAX - rd->pos);
	if (want == 0)
		return 0;
	/*
	 * pread keeps no shared offset, and an overwrite is a rename, so this
	 * fd keeps reading the version that was opened.
	 */
	do {
		n = pread(rd->fd, buf, want, (off_t)rd->pos);
	} while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n;
	rd->pos += n;
	if (rd->left != -1)
		rd->left -= n;
	return n;
}

static void
local_reader_free(struct store_reader *brd)
{
	struct lreader	*rd = (struct lreader *)brd;
	if (rd == NULL)
		return;
	close(rd->fd);
	free(rd);
}

/* FS_OK when pkey is a plain file reachable without a symlink. */
static enum fs_err
local_is_file(struct lstore *s, const char *pkey)
{
	int		 fd;
	enum fs_err	 rc;

	if (!pkey_ok(pkey))
		return FS_VALIDATION;
	/* O_PATH: stat without opening (FIFOs, devices) for real. */
	fd = open_beneath(s, pkey, O_PATH);
	if (fd == -1)
		return read_err(errno);
	rc = plain_file(fd);
	close(fd);
	return rc;
}

static enum fs_err
local_delete(struct store *bs, const char *pkey)
{
	struct lstore	*s = (struct lstore *)bs;
	char		 buf[PATH_MAX];
	char		*slash;
	size_t		 len;
	int		 pfd = -1;
	enum fs_err	 rc = FS_INTERNAL;

	if (!pkey_ok(pkey)) {
		rc = FS_VALIDATION;
		goto out;
	}
	len = strlen(pkey);
	if (len >= sizeof(buf))
		goto out;
	memcpy(buf, pkey, len + 1);
	slash = strrchr(buf, '/');
	*slash = '\0';
	pfd = open_beneath(s, buf, O_PATH | O_DIRECTORY);
	if (pfd == -1) {
		/* No such directory, so no such object. */
		rc = read_err(errno) == FS_NOT_FOUND ? FS_OK : FS_INTERNAL;
		goto out;
	}
	/*
	 * unlinkat never follows: a planted symlink is removed, not its
	 * target. EISDIR: a directory of other objects is not this object.
	 */
	if (unlinkat(pfd, slash + 1, 0) == -1 &&
	    errno != ENOENT && errno != EISDIR)
		goto out;
	prune_parents(s, pkey);
	rc = FS_OK;
out:
	if (pfd != -1)
		close(pfd);
	return rc;
}

static char *
local_local_path(struct store *bs, const char *pkey)
{
	struct lstore	*s = (struct lstore *)bs;
	char	*p;
	size_t	 dlen, klen;

	/* Hand the web server only a plain file we would serve ourselves. */
	if (s == NULL || local_is_file(s, pkey) != FS_OK)
		return NULL;
	dlen = strlen(s->dir);
	klen = strlen(pkey);
	p = malloc(dlen + 1 + klen + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s->dir, dlen);
	p[dlen] = '/';
	memcpy(p + dlen + 1, pkey, klen + 1);
	return p;
}

/*
 * A temp file unlocked for this long is an orphan: the grace covers the
 * moment between its creation and the flock in tmp_create.
 */
#define ORPHAN_GRACE_SECS	5

/* 1 when no live process holds the upload lock on fd's file. */
static int
tmp_orphan(int dfd, const char *name)
{
	int fd, orphan = 0;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		orphan = 1;
	close(fd);	/* drops the lock, if taken */
	return orphan;
}

/*
 * Remove the temp files older than older_than_secs, and those of uploads
 * whose process died (a worker killed mid-upload): no lock on them and
 * unchanged for ORPHAN_GRACE_SECS. Never one that keep says a row still
 * names.
 */
static long long
local_gc_tmp(struct store *bs, long long older_than_secs, store_keep_fn keep,
    void *arg)
{
	struct lstore	*s = (struct lstore *)bs;
	DIR		*d = NULL;
	struct dirent	*de;
	struct stat	 st;
	long long	 n = 0, now;
	int		 fd;

	if (s == NULL)
		return -1;
	if (older_than_secs < 0)
		older_than_secs = 0;
	/* A new open, not dup(): readdir must not share tmpfd's offset. */
	fd = openat(s->tmpfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	now = (long long)time(NULL);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		/* Leave alone anything we did not name. */
		if (!tmp_name_ok(de->d_name))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (!S_ISREG(st.st_mode))
			continue;
		if (now - (long long)st.st_mtim.tv_sec < older_than_secs &&
		    !(now - (long long)st.st_mtim.tv_sec >= ORPHAN_GRACE_SECS &&
		    tmp_orphan(fd, de->d_name)))
			continue;
		/* A row's pending object: its publish is not done yet. */
		if (keep != NULL && keep(arg, de->d_name))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			n++;
	}
	if (errno != 0)
		n = -1;
	closedir(d);
	return n;
}

/*
 * Call fn for each plain file below the directory open at dfd (which this
 * takes), whose path is path[0..len). 0, or -1.
 */
static int
walk_dir(int dfd, char path[PATH_MAX], size_t len, store_walk_fn fn,
    void *arg)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	size_t		 nl;
	int		 fd, rc = 0;

	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || len + 1 + nl >= PATH_MAX ||
		    fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, nl + 1);
		if (S_ISREG(st.st_mode))
			rc = fn(arg, path);
		else if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd(d), de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = fd == -1 ? -1 : walk_dir(fd, path, len + 1 + nl,
			    fn, arg);
		}
		path[len] = '\0';
	}
	closedir(d);
	return rc;
}

static int
local_walk(struct store *bs, store_walk_fn fn, void *arg)
{
	struct lstore	*s = (struct lstore *)bs;
	char	 path[PATH_MAX] = "tenants";
	int	 fd;

	fd = openat(s->dfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	return walk_dir(fd, path, strlen(path), fn, arg);
}

/*
 * The interface (store_impl.h). The local_* functions above take the
 * interface's pointers and turn them back into ours: the base is the
 * first member, so the casts are exact. What is left here opens writers
 * and readers (and gives them the ops) or picks arguments.
 */
static const struct store_ops local_ops;

/*
 * store_writer_adopt: a second name in .tmp for the caller's finished file
 * (linkat: no byte is copied, and the file keeps its first name until its
 * owner drops it, so a crash anywhere leaves the upload whole), durable
 * before a row may name it. The duplicate of fd holds the caller's lock,
 * so the orphan sweep leaves the new name alone.
 */
static enum fs_err
local_adopt(struct store *bs, const char *pkey, int srcdir, const char *name,
    int fd, const unsigned char *sha256, long long size,
    struct store_writer **wp)
{
	struct lstore	*s = (struct lstore *)bs;
	struct lwriter	*w = NULL;
	unsigned char	 rnd[TMP_RAND_LEN];
	struct stat	 st;
	enum fs_err	 rc = FS_INTERNAL;
	int		 i;

	*wp = NULL;
	if (!pkey_ok(pkey))
		return FS_VALIDATION;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size < size)
		return FS_INTERNAL;
	if (st.st_size > size && ftruncate(fd, size) == -1)
		return err_io(errno);
	rc = writer_new(s, pkey, &w);
	if (rc != FS_OK)
		return rc;
	w->base.ops = &local_ops;
	rc = FS_INTERNAL;
	for (i = 0; i < RETRIES; i++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			goto out;
		cry_hex(rnd, sizeof(rnd), w->tmpname);
		if (linkat(srcdir, name, s->tmpfd, w->tmpname, 0) == 0)
			break;
		w->tmpname[0] = '\0';
		if (errno != EEXIST) {
			rc = err_io(errno);
			goto out;
		}
	}
	if (w->tmpname[0] == '\0')
		goto out;
	w->lockfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (w->lockfd == -1)
		goto out;
	if (fsync(s->tmpfd) == -1) {
		rc = err_io(errno);
		goto out;
	}
	memcpy(w->digest, sha256, CRY_SHA256_LEN);
	w->size = size;
	w->finished = 1;
	*wp = &w->base;
	w = NULL;
	rc = FS_OK;
out:
	local_writer_free(&w->base);
	return rc;
}

/* store_asm_create: a temp file, locked until the caller closes fd. */
static enum fs_err
local_asm_create(struct store *bs, char *name, int *fdp)
{
	return tmp_create((struct lstore *)bs, name, fdp);
}

static enum fs_err
local_asm_open(struct store *bs, const char *name, int *fdp)
{
	struct lstore	*s = (struct lstore *)bs;
	int		 fd;

	*fdp = -1;
	if (!tmp_name_ok(name))
		return FS_VALIDATION;
	fd = openat(s->tmpfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? FS_NOT_FOUND : FS_INTERNAL;
	if (plain_file(fd) != FS_OK) {
		close(fd);
		return FS_INTERNAL;
	}
	*fdp = fd;
	return FS_OK;
}

/* store_writer_open_at: pwrite into a duplicate of fd from off on. */
static enum fs_err
local_writer_at(struct store *bs, int fd, long long off, long long len,
    struct store_writer **wp)
{
	struct lwriter	*w;

	*wp = NULL;
	if (off < 0 || len < 0)
		return FS_INTERNAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return FS_INTERNAL;
	w->base.ops = &local_ops;
	w->s = (struct lstore *)bs;
	w->dirfd = w->lockfd = -1;
	w->at = 1;
	w->at_off = off;
	w->at_len = len;
	w->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	w->md = EVP_MD_CTX_new();
	if (w->fd == -1 || w->md == NULL ||
	    EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		local_writer_free(&w->base);
		return FS_INTERNAL;
	}
	*wp = &w->base;
	return FS_OK;
}

/* store_asm_adopt: the adoption of a file of the temporary area. */
static enum fs_err
local_asm_adopt(struct store *bs, const char *pkey, const char *name,
    int fd, const unsigned char *sha256, long long size,
    struct store_writer **wp)
{
	*wp = NULL;
	if (!tmp_name_ok(name))
		return FS_VALIDATION;
	return local_adopt(bs, pkey, ((struct lstore *)bs)->tmpfd, name, fd,
	    sha256, size, wp);
}

static enum fs_err
op_writer_open(struct store *s, const char *pkey, struct store_writer **wp)
{
	struct lwriter *w = NULL;
	enum fs_err e;

	e = local_writer_open((struct lstore *)s, pkey, &w);
	if (w != NULL)
		w->base.ops = &local_ops;
	*wp = (struct store_writer *)w;
	return e;
}

static enum fs_err
reader_op(struct store *s, const char *pkey, const char *name, long long off,
    long long len, struct store_reader **rdp)
{
	struct lreader *rd = NULL;
	enum fs_err e;

	e = local_reader_open((struct lstore *)s, pkey, name, off, len, &rd);
	if (rd != NULL)
		rd->base.ops = &local_ops;
	*rdp = (struct store_reader *)rd;
	return e;
}

static enum fs_err
op_reader_open(struct store *s, const char *pkey, long long off,
    long long len, struct store_reader **rdp)
{
	return reader_op(s, pkey, NULL, off, len, rdp);
}

static enum fs_err
op_tmp_reader_open(struct store *s, const char *name, long long off,
    long long len, struct store_reader **rdp)
{
	return reader_op(s, NULL, name, off, len, rdp);
}

static long long
op_gc_orphans(struct store *s, store_keep_fn keep, void *arg)
{
	return local_gc_tmp(s, LLONG_MAX, keep, arg);
}

static const char *
local_pending(struct store_writer *w)
{
	struct lwriter *lw = (struct lwriter *)w;

	return lw->finished && !lw->published && !lw->at ? lw->tmpname :
	    NULL;
}

static void
local_keep(struct store_writer *w)
{
	((struct lwriter *)w)->kept = 1;
}

static const struct store_ops local_ops = {
	.close = local_close,
	.writer_open = op_writer_open,
	.write = local_write,
	.finish = local_finish,
	.commit = local_commit,
	.writer_free = local_writer_free,
	.reader_open = op_reader_open,
	.read = local_read,
	.reader_free = local_reader_free,
	.del = local_delete,
	.local_path = local_local_path,
	.gc_tmp = local_gc_tmp,
	.gc_orphans = op_gc_orphans,
	.pending = local_pending,
	.keep = local_keep,
	.check = local_check,
	.publish = local_publish,
	.drop_tmp = local_drop_tmp,
	.tmp_reader_open = op_tmp_reader_open,
	.walk = local_walk,
	.adopt = local_adopt,
	.asm_create = local_asm_create,
	.asm_open = local_asm_open,
	.writer_at = local_writer_at,
	.asm_adopt = local_asm_adopt,
};

struct store *
store_open_local(const char *data_dir, char *err, size_t errlen)
{
	struct lstore *s;

	s = local_open(data_dir, err, errlen);
	if (s == NULL)
		return NULL;
	s->base.ops = &local_ops;
	return &s->base;
}
