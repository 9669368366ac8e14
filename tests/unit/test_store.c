/*
 * Unit tests for store_local.c, on a fresh mkdtemp data dir per test.
 *
 * The suite runs up to three times: with openat2 as the kernel provides
 * it, then under a seccomp filter that makes openat2 fail with ENOSYS
 * (kernels before 5.6), then with EPERM (container profiles that refuse
 * unknown syscalls). The second and third passes exercise the O_NOFOLLOW
 * walk, which would otherwise never run on a modern kernel.
 *
 * Durability goes through an I/O seam (see io_sync below): this program's
 * fsync and rename calls are logged and can be made to fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>


#include <openssl/evp.h>

#include "deny_openat2.h"
#include "fio.h"
#include "rmtree.h"
#include "store.h"

#define TID	"0b9e6f1c-3a52-4c7e-9d4b-2f1a8c6e5d30"
#define T	"tenants/" TID "/"

struct fx {
	char		 root[64];	/* mkdtemp */
	char		 data[128];	/* root/data/files: not made in advance */
	struct store	*s;
	int		 nfds;		/* open fds after setup */
};

/*
 * The I/O seam. This program's own fsync, fdatasync, renameat and
 * renameat2 come before libc's for every caller in it, store_local.c
 * included (it is linked in statically from libcommon.a). They log what
 * was synced or renamed, in order, and can fail a sync as a failing disk
 * does; otherwise they hand over to libc's.
 */
enum io_kind { IO_SYNC, IO_RENAME };

struct io_ev {
	enum io_kind	 kind;
	int		 dir;		/* IO_SYNC of a directory */
	dev_t		 dev;		/* IO_SYNC: what was synced */
	ino_t		 ino;
};

#define IO_LOG_MAX	32
static struct io_ev	 io_log[IO_LOG_MAX];
static size_t		 io_nlog;
static int		 io_fail_file;	/* errno for syncing a file, or 0 */
static int		 io_fail_dir;	/* errno for syncing a directory, or 0 */

static void
io_note(enum io_kind kind, const struct stat *st)
{
	struct io_ev	*ev;

	if (io_nlog >= IO_LOG_MAX)
		return;
	ev = &io_log[io_nlog++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	if (st != NULL) {
		ev->dir = S_ISDIR(st->st_mode);
		ev->dev = st->st_dev;
		ev->ino = st->st_ino;
	}
}

static int
io_sync(int fd, const char *name)
{
	int		(*real)(int);
	struct stat	 st;
	int		 e;

	if (fstat(fd, &st) == -1)
		return -1;
	io_note(IO_SYNC, &st);
	e = S_ISDIR(st.st_mode) ? io_fail_dir : io_fail_file;
	if (e != 0) {
		errno = e;
		return -1;
	}
	*(void **)&real = dlsym(RTLD_NEXT, name);
	return real(fd);
}

int
fsync(int fd)
{
	return io_sync(fd, "fsync");
}

int
fdatasync(int fd)
{
	return io_sync(fd, "fdatasync");
}

int
renameat(int ofd, const char *from, int nfd, const char *to)
{
	int	(*real)(int, const char *, int, const char *);

	io_note(IO_RENAME, NULL);
	*(void **)&real = dlsym(RTLD_NEXT, "renameat");
	return real(ofd, from, nfd, to);
}

int
renameat2(int ofd, const char *from, int nfd, const char *to,
    unsigned int flags)
{
	int	(*real)(int, const char *, int, const char *, unsigned int);

	io_note(IO_RENAME, NULL);
	*(void **)&real = dlsym(RTLD_NEXT, "renameat2");
	return real(ofd, from, nfd, to, flags);
}

/* Open file descriptors of this process, to catch leaks on error paths. */
static int
fd_count(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	for (;;) {
		de = readdir(d);
		if (de == NULL)
			break;
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static int
setup(void **state)
{
	struct fx	*f;
	char		 err[256] = "";

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/fs_store_XXXXXX");
	assert_non_null(mkdtemp(f->root));
	/* Two missing levels: store_open_local must mkdir -p. */
	snprintf(f->data, sizeof(f->data), "%s/data/files", f->root);
	f->s = store_open_local(f->data, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("store_open_local: %s", err);
	f->nfds = fd_count();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	int		 rc = 0, n;

	alarm(0);	/* test_fifo's, if an assertion cut it short */
	io_fail_file = io_fail_dir = 0;	/* likewise for the seam's */
	n = fd_count();
	if (n != f->nfds) {
		fprintf(stderr, "fd leak: %d open after setup, %d now\n",
		    f->nfds, n);
		rc = -1;
	}
	store_close(f->s);
	rmtree(f->root);
	free(f);
	return rc;
}

/* root/data/files/<rel> into out. */
static const char *
dpath(const struct fx *f, const char *rel, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", f->data, rel);
	return out;
}

static void
sha256(const void *buf, size_t len, unsigned char out[CRY_SHA256_LEN])
{
	unsigned int	 n = 0;

	assert_int_equal(EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, CRY_SHA256_LEN);
}

/*
 * What a reader of the whole of pkey finds: FS_OK with its size in *size
 * (when not NULL), or the error opening it gave.
 */
static enum fs_err
obj_size(struct store *s, const char *pkey, long long *size)
{
	struct store_reader	*rd = NULL;
	char			 buf[64 * 1024];
	long long		 total = 0;
	ssize_t			 n;
	enum fs_err		 e;

	e = store_reader_open(s, pkey, 0, -1, &rd);
	if (e != FS_OK)
		return e;
	while ((n = store_read(rd, buf, sizeof(buf))) > 0)
		total += n;
	store_reader_free(rd);
	if (n < 0)
		return FS_INTERNAL;
	if (size != NULL)
		*size = total;
	return FS_OK;
}

static void
put(struct store *s, const char *pkey, const char *content)
{
	struct store_writer	*w = NULL;
	unsigned char		 md[CRY_SHA256_LEN];
	long long		 size = -1;

	assert_int_equal(store_writer_open(s, pkey, &w), FS_OK);
	assert_int_equal(store_write(w, content, strlen(content)), FS_OK);
	assert_int_equal(store_commit(w, md, &size), FS_OK);
	assert_int_equal(size, (long long)strlen(content));
	store_writer_free(w);
}

/* Read [off, off+len) into buf (NUL terminated) in chunks of chunk. */
static size_t
get(struct store *s, const char *pkey, long long off, long long len,
    char *buf, size_t cap, size_t chunk)
{
	struct store_reader	*rd = NULL;
	size_t			 got = 0;
	ssize_t			 n;

	char			 extra;
	size_t			 room;

	assert_int_equal(store_reader_open(s, pkey, off, len, &rd), FS_OK);
	for (;;) {
		room = cap - 1 - got;
		if (room == 0) {
			/* buf is full: the object must end here. */
			assert_int_equal(store_read(rd, &extra, 1), 0);
			break;
		}
		n = store_read(rd, buf + got, chunk < room ? chunk : room);
		assert_true(n >= 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	store_reader_free(rd);
	return got;
}

static int
tmp_count(const struct fx *f)
{
	char		 p[256];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	d = opendir(dpath(f, ".tmp", p, sizeof(p)));
	assert_non_null(d);
	for (;;) {
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static int
exists(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0;
}

static void
write_file(const char *path, const char *content)
{
	FILE	*fp;

	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(content, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
test_write_read_sha(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	unsigned char		 md[CRY_SHA256_LEN], want[CRY_SHA256_LEN];
	long long		 size = -1;
	char			 buf[64];

	assert_int_equal(store_writer_open(f->s, T "a/b/hello.txt", &w), FS_OK);
	assert_int_equal(tmp_count(f), 1);
	assert_int_equal(store_write(w, "hello", 5), FS_OK);
	assert_int_equal(store_write(w, "", 0), FS_OK);
	assert_int_equal(store_write(w, " world", 6), FS_OK);
	/* Nothing is visible before commit. */
	assert_int_equal(obj_size(f->s, T "a/b/hello.txt", NULL),
	    FS_NOT_FOUND);
	assert_int_equal(store_commit(w, md, &size), FS_OK);
	/* A second commit is refused, not a double publish. */
	assert_int_equal(store_commit(w, md, &size), FS_INTERNAL);
	assert_int_equal(store_write(w, "x", 1), FS_INTERNAL);
	store_writer_free(w);

	sha256("hello world", 11, want);
	assert_memory_equal(md, want, CRY_SHA256_LEN);
	assert_int_equal(size, 11);
	assert_int_equal(get(f->s, T "a/b/hello.txt", 0, -1, buf, sizeof(buf),
	    sizeof(buf) - 1), 11);
	assert_string_equal(buf, "hello world");
	assert_int_equal(tmp_count(f), 0);

	/* Empty object: the SHA-256 of nothing. */
	assert_int_equal(store_writer_open(f->s, T "empty", &w), FS_OK);
	assert_int_equal(store_commit(w, md, &size), FS_OK);
	store_writer_free(w);
	sha256("", 0, want);
	assert_memory_equal(md, want, CRY_SHA256_LEN);
	assert_int_equal(size, 0);
	assert_int_equal(get(f->s, T "empty", 0, -1, buf, sizeof(buf), 8), 0);
}

static void
test_overwrite(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	struct store_reader	*old = NULL;
	char			 buf[64];
	ssize_t			 n;

	put(f->s, T "k", "old content");
	assert_int_equal(store_reader_open(f->s, T "k", 0, -1, &old), FS_OK);

	assert_int_equal(store_writer_open(f->s, T "k", &w), FS_OK);
	assert_int_equal(store_write(w, "new", 3), FS_OK);
	/* Until commit, readers see the old object, whole. */
	assert_int_equal(get(f->s, T "k", 0, -1, buf, sizeof(buf), 4), 11);
	assert_string_equal(buf, "old content");
	assert_int_equal(store_commit(w, NULL, NULL), FS_OK);
	store_writer_free(w);

	assert_int_equal(get(f->s, T "k", 0, -1, buf, sizeof(buf), 4), 3);
	assert_string_equal(buf, "new");
	/* A reader opened before keeps its version. */
	n = store_read(old, buf, sizeof(buf) - 1);
	assert_int_equal(n, 11);
	buf[n] = '\0';
	assert_string_equal(buf, "old content");
	store_reader_free(old);
	assert_int_equal(tmp_count(f), 0);
}

static void
test_abort(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	char			 p[256];

	assert_int_equal(store_writer_open(f->s, T "dir/sub/x.bin", &w), FS_OK);
	assert_int_equal(store_write(w, "partial", 7), FS_OK);
	assert_int_equal(tmp_count(f), 1);
	store_writer_free(w);

	assert_int_equal(tmp_count(f), 0);
	assert_int_equal(obj_size(f->s, T "dir/sub/x.bin", NULL),
	    FS_NOT_FOUND);
	/* The directories made for it are gone; the tenant's stays. */
	assert_false(exists(dpath(f, T "dir", p, sizeof(p))));
	assert_true(exists(dpath(f, "tenants/" TID, p, sizeof(p))));

	/* Abort of an overwrite leaves the old object. */
	put(f->s, T "keep", "v1");
	assert_int_equal(store_writer_open(f->s, T "keep", &w), FS_OK);
	assert_int_equal(store_write(w, "v2 v2 v2", 8), FS_OK);
	store_writer_free(w);
	assert_int_equal(get(f->s, T "keep", 0, -1, p, sizeof(p), 16), 2);
	assert_string_equal(p, "v1");
	assert_int_equal(tmp_count(f), 0);

	store_writer_free(NULL);
}

/* A failed write is sticky: no commit of a file that lost bytes. */
static void
test_write_error(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	struct rlimit		 old, lim;
	static char		 big[8192];
	void			 (*prev)(int);

	assert_int_equal(store_writer_open(f->s, T "fsize", &w), FS_OK);
	/* RLIMIT_FSIZE makes write fail (EFBIG) without filling a disk. */
	prev = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(store_write(w, big, sizeof(big)), FS_INTERNAL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);

	assert_int_equal(store_write(w, "x", 1), FS_INTERNAL);
	assert_int_equal(store_commit(w, NULL, NULL), FS_INTERNAL);
	store_writer_free(w);
	assert_int_equal(obj_size(f->s, T "fsize", NULL), FS_NOT_FOUND);
	assert_int_equal(tmp_count(f), 0);
}

/* Index of the first logged event matching, from start on, or -1. */
static long
io_find(size_t start, enum io_kind kind, const struct stat *st)
{
	size_t	 i;

	for (i = start; i < io_nlog; i++) {
		if (io_log[i].kind != kind)
			continue;
		if (st == NULL || (io_log[i].dev == st->st_dev &&
		    io_log[i].ino == st->st_ino))
			return (long)i;
	}
	return -1;
}

/*
 * The order that makes a commit durable: the object's bytes are synced
 * before the rename publishes its name, and the directory that holds the
 * name is synced after it. Once for a new key and an overwrite through
 * commit alone, once with store_finish first (put does that).
 */
static void
test_sync_order(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	struct stat		 obj, dir;
	const char		*keys[] = { T "d/new", T "d/new", T "d/fin" };
	char			 p[256];
	long			 sync, ren, dsync;
	size_t			 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(store_writer_open(f->s, keys[i], &w), FS_OK);
		assert_int_equal(store_write(w, "bytes", 5), FS_OK);
		io_nlog = 0;
		if (i == 2)
			assert_int_equal(store_finish(w, NULL, NULL), FS_OK);
		assert_int_equal(store_commit(w, NULL, NULL), FS_OK);
		store_writer_free(w);
		assert_int_equal(stat(dpath(f, keys[i], p, sizeof(p)), &obj), 0);
		assert_int_equal(stat(dpath(f, T "d", p, sizeof(p)), &dir), 0);
		sync = io_find(0, IO_SYNC, &obj);
		ren = io_find(0, IO_RENAME, NULL);
		if (sync == -1 || ren == -1 || sync > ren)
			fail_msg("%s: the object's data sync (event %ld) must "
			    "come before its rename (event %ld)", keys[i], sync,
			    ren);
		dsync = io_find((size_t)ren, IO_SYNC, &dir);
		if (dsync == -1)
			fail_msg("%s: no sync of its directory after the rename",
			    keys[i]);
		assert_true(io_log[dsync].dir);
	}
	/* A directory made for a key: its name is synced into its parent. */
	io_nlog = 0;
	assert_int_equal(store_writer_open(f->s, T "mk/dir/x", &w), FS_OK);
	assert_int_equal(stat(dpath(f, "tenants/" TID, p, sizeof(p)), &dir),
	    0);
	assert_true(io_find(0, IO_SYNC, &dir) != -1);
	assert_int_equal(stat(dpath(f, T "mk", p, sizeof(p)), &dir), 0);
	assert_true(io_find(0, IO_SYNC, &dir) != -1);
	store_writer_free(w);
}

/*
 * A long body is made durable as it is written: the file is synced after
 * each FIO_SYNC_STEP bytes, so that the sync at the end has little left.
 * A sync that fails there fails the write at once, and the writer for
 * good: Linux reports a writeback error to one fsync only, so the one at
 * the end would succeed.
 */
static void
test_sync_as_written(void **state)
{
	static char		 piece[256 * 1024];
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	long long		 n;
	size_t			 i, syncs = 0;

	assert_int_equal(store_writer_open(f->s, T "s/long", &w), FS_OK);
	io_nlog = 0;
	for (n = 0; n < 5 * FIO_SYNC_STEP / 2; n += (long long)sizeof(piece))
		assert_int_equal(store_write(w, piece, sizeof(piece)), FS_OK);
	for (i = 0; i < io_nlog; i++)
		syncs += io_log[i].kind == IO_SYNC && !io_log[i].dir;
	assert_int_equal(syncs, 2);
	assert_int_equal(store_commit(w, NULL, NULL), FS_OK);
	store_writer_free(w);

	put(f->s, T "s/v", "version one");
	assert_int_equal(store_writer_open(f->s, T "s/v", &w), FS_OK);
	for (n = 0; n + (long long)sizeof(piece) < FIO_SYNC_STEP;
	    n += (long long)sizeof(piece))
		assert_int_equal(store_write(w, piece, sizeof(piece)), FS_OK);
	io_fail_file = ENOSPC;
	assert_int_equal(store_write(w, piece, sizeof(piece)), FS_NO_SPACE);
	io_fail_file = 0;
	assert_int_equal(store_write(w, piece, sizeof(piece)), FS_INTERNAL);
	assert_int_equal(store_commit(w, NULL, NULL), FS_INTERNAL);
	store_writer_free(w);
	assert_int_equal(obj_size(f->s, T "s/v", &n), FS_OK);
	assert_int_equal(n, 11);
	assert_int_equal(tmp_count(f), 0);
}

/*
 * A sync that fails (EIO, or ENOSPC on a full disk or thin volume) fails
 * the commit, and the old object stays, whole, with nothing left in
 * .tmp. The object's own sync and the directory's after the rename.
 */
static void
test_sync_error(void **state)
{
	static const struct {
		int		 dir;	/* fail the directory's sync */
		int		 err;
		enum fs_err	 want;
	} cases[] = {
		{ 0, EIO, FS_INTERNAL },
		{ 0, ENOSPC, FS_NO_SPACE },
		{ 1, EIO, FS_INTERNAL },
		{ 1, ENOSPC, FS_NO_SPACE },
		{ 1, EDQUOT, FS_NO_SPACE },
	};
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	char			 p[256];
	size_t			 i;
	int			 finish;

	put(f->s, T "v", "version one");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (finish = 0; finish < 2; finish++) {
			/* An overwrite: the old version stays. */
			assert_int_equal(store_writer_open(f->s, T "v", &w),
			    FS_OK);
			assert_int_equal(store_write(w, "two", 3), FS_OK);
			*(cases[i].dir ? &io_fail_dir : &io_fail_file) =
			    cases[i].err;
			/*
			 * put calls store_finish first: the object's sync, or
			 * that of .tmp (its name), fails there, and the
			 * commit after it only refuses.
			 */
			if (finish)
				assert_int_equal(store_finish(w, NULL, NULL),
				    cases[i].want);
			assert_int_equal(store_commit(w, NULL, NULL),
			    finish ? FS_INTERNAL : cases[i].want);
			io_fail_file = io_fail_dir = 0;
			/* Refused for good, not retried into success. */
			assert_int_equal(store_commit(w, NULL, NULL),
			    FS_INTERNAL);
			store_writer_free(w);
			assert_int_equal(get(f->s, T "v", 0, -1, p, sizeof(p),
			    64), 11);
			assert_string_equal(p, "version one");
			assert_int_equal(tmp_count(f), 0);

			/* A new key: no object, and no directory made for it. */
			assert_int_equal(store_writer_open(f->s, T "n/e/w",
			    &w), FS_OK);
			assert_int_equal(store_write(w, "new", 3), FS_OK);
			*(cases[i].dir ? &io_fail_dir : &io_fail_file) =
			    cases[i].err;
			assert_int_equal(store_commit(w, NULL, NULL),
			    cases[i].want);
			io_fail_file = io_fail_dir = 0;
			store_writer_free(w);
			assert_int_equal(obj_size(f->s, T "n/e/w", NULL),
			    FS_NOT_FOUND);
			assert_false(exists(dpath(f, T "n", p, sizeof(p))));
			assert_int_equal(tmp_count(f), 0);
		}
	}
}

static void
test_range(void **state)
{
	struct fx		*f = *state;
	struct store_reader	*rd = NULL;
	char			 buf[256];

	put(f->s, T "digits",
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

	/* Middle, read in small chunks so the length cap is exercised. */
	assert_int_equal(get(f->s, T "digits", 10, 20, buf, sizeof(buf), 3), 20);
	assert_string_equal(buf, "abcdefghijklmnopqrst");
	/* To the end. */
	assert_int_equal(get(f->s, T "digits", 52, -1, buf, sizeof(buf), 5), 10);
	assert_string_equal(buf, "QRSTUVWXYZ");
	/* A length past the end stops at the end. */
	assert_int_equal(get(f->s, T "digits", 58, 100, buf, sizeof(buf), 64), 4);
	assert_string_equal(buf, "WXYZ");
	/* Starting past the end reads nothing. */
	assert_int_equal(get(f->s, T "digits", 62, -1, buf, sizeof(buf), 64), 0);
	assert_int_equal(get(f->s, T "digits", 1000, 5, buf, sizeof(buf), 64), 0);
	assert_int_equal(get(f->s, T "digits", LLONG_MAX - 1, -1, buf,
	    sizeof(buf), 64), 0);
	assert_int_equal(get(f->s, T "digits", LLONG_MAX, 10, buf,
	    sizeof(buf), 64), 0);
	/* Zero length; one byte. */
	assert_int_equal(get(f->s, T "digits", 5, 0, buf, sizeof(buf), 64), 0);
	assert_int_equal(get(f->s, T "digits", 61, 1, buf, sizeof(buf), 64), 1);
	assert_string_equal(buf, "Z");

	assert_int_equal(store_reader_open(f->s, T "digits", -1, 5, &rd),
	    FS_RANGE);
	assert_null(rd);
	assert_int_equal(store_reader_open(f->s, T "digits", 0, -2, &rd),
	    FS_RANGE);
	assert_null(rd);
	store_reader_free(NULL);
}

static void
test_reader_sees(void **state)
{
	struct fx		*f = *state;
	long long		 st = -1;

	put(f->s, T "s/t.txt", "twelve bytes");
	assert_int_equal(obj_size(f->s, T "s/t.txt", &st), FS_OK);
	assert_int_equal(st, 12);

	assert_int_equal(obj_size(f->s, T "s/missing", &st), FS_NOT_FOUND);
	assert_int_equal(obj_size(f->s, T "nodir/missing", &st),
	    FS_NOT_FOUND);
	/* A directory is not an object. */
	assert_int_equal(obj_size(f->s, T "s", &st), FS_NOT_FOUND);
}

static void
test_missing(void **state)
{
	struct fx		*f = *state;
	struct store_reader	*rd = NULL;

	assert_int_equal(store_reader_open(f->s, T "nope", 0, -1, &rd),
	    FS_NOT_FOUND);
	assert_null(rd);
	assert_int_equal(store_reader_open(f->s, T "no/such/dir/x", 0, -1,
	    &rd), FS_NOT_FOUND);
	/* Under an object, as if it were a directory: ENOTDIR. */
	put(f->s, T "file", "x");
	assert_int_equal(store_reader_open(f->s, T "file/x", 0, -1, &rd),
	    FS_NOT_FOUND);
	/* A directory. */
	put(f->s, T "d/e", "x");
	assert_int_equal(store_reader_open(f->s, T "d", 0, -1, &rd),
	    FS_NOT_FOUND);
	assert_null(rd);
	assert_null(store_local_path(f->s, T "nope"));
	assert_null(store_local_path(f->s, T "d"));
}

static void
test_delete(void **state)
{
	struct fx	*f = *state;
	char		 p[256];

	put(f->s, T "x", "x");
	assert_int_equal(store_delete(f->s, T "x"), FS_OK);
	assert_int_equal(obj_size(f->s, T "x", NULL), FS_NOT_FOUND);
	assert_int_equal(store_delete(f->s, T "x"), FS_OK);
	assert_int_equal(store_delete(f->s, T "never/was/here"), FS_OK);

	/* Empty parents are pruned, deepest first, up to the tenant. */
	put(f->s, T "a/b/c.txt", "c");
	put(f->s, T "a/d.txt", "d");
	assert_int_equal(store_delete(f->s, T "a/b/c.txt"), FS_OK);
	assert_false(exists(dpath(f, T "a/b", p, sizeof(p))));
	assert_true(exists(dpath(f, T "a", p, sizeof(p))));
	assert_int_equal(get(f->s, T "a/d.txt", 0, -1, p, sizeof(p), 8), 1);
	assert_int_equal(store_delete(f->s, T "a/d.txt"), FS_OK);
	assert_false(exists(dpath(f, T "a", p, sizeof(p))));
	assert_true(exists(dpath(f, "tenants/" TID, p, sizeof(p))));

	/* Deleting a "directory" key deletes nothing. */
	put(f->s, T "m/n", "n");
	assert_int_equal(store_delete(f->s, T "m"), FS_OK);
	assert_int_equal(obj_size(f->s, T "m/n", NULL), FS_OK);
}

/* A symlink planted at an object's name must not be followed. */
static void
test_symlink_file(void **state)
{
	struct fx		*f = *state;
	struct store_reader	*rd = NULL;
	struct store_writer	*w = NULL;
	char			 link[256], outside[256], buf[64];
	struct stat		 st;
	FILE			*fp;

	put(f->s, T "real", "real");
	dpath(f, T "evil", link, sizeof(link));
	assert_int_equal(symlink("/etc/passwd", link), 0);
	assert_int_equal(store_reader_open(f->s, T "evil", 0, -1, &rd),
	    FS_NOT_FOUND);
	assert_null(rd);
	assert_int_equal(obj_size(f->s, T "evil", NULL), FS_NOT_FOUND);
	assert_null(store_local_path(f->s, T "evil"));

	/* Also a link to a file inside the data dir: no symlinks at all. */
	dpath(f, T "inside", link, sizeof(link));
	assert_int_equal(symlink("real", link), 0);
	assert_int_equal(store_reader_open(f->s, T "inside", 0, -1, &rd),
	    FS_NOT_FOUND);

	/* Writing over a link replaces the link, never its target. */
	snprintf(outside, sizeof(outside), "%s/outside.txt", f->root);
	write_file(outside, "secret");
	dpath(f, T "evil2", link, sizeof(link));
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(store_writer_open(f->s, T "evil2", &w), FS_OK);
	assert_int_equal(store_write(w, "pwned", 5), FS_OK);
	assert_int_equal(store_commit(w, NULL, NULL), FS_OK);
	store_writer_free(w);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	fp = fopen(outside, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "secret");

	/* Deleting a link removes the link. */
	dpath(f, T "evil3", link, sizeof(link));
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(store_delete(f->s, T "evil3"), FS_OK);
	assert_false(exists(link));
	assert_true(exists(outside));
}

/* A symlinked directory anywhere on the path must not be followed. */
static void
test_symlink_dir(void **state)
{
	struct fx		*f = *state;
	struct store_reader	*rd = NULL;
	struct store_writer	*w = NULL;
	char			 out[128], p[256], link[256];

	snprintf(out, sizeof(out), "%s/outside", f->root);
	assert_int_equal(mkdir(out, 0700), 0);
	snprintf(p, sizeof(p), "%s/secret.txt", out);
	write_file(p, "secret");

	put(f->s, T "anchor", "x");	/* makes tenants/<tid>/ */
	dpath(f, T "linkdir", link, sizeof(link));
	assert_int_equal(symlink(out, link), 0);

	assert_int_equal(store_reader_open(f->s, T "linkdir/secret.txt", 0, -1,
	    &rd), FS_NOT_FOUND);
	assert_null(rd);
	assert_int_equal(obj_size(f->s, T "linkdir/secret.txt", NULL),
	    FS_NOT_FOUND);
	assert_null(store_local_path(f->s, T "linkdir/secret.txt"));
	/* No file is created through the link. */
	assert_int_equal(store_writer_open(f->s, T "linkdir/new.txt", &w),
	    FS_CONFLICT);
	assert_null(w);
	snprintf(p, sizeof(p), "%s/new.txt", out);
	assert_false(exists(p));
	assert_int_equal(store_writer_open(f->s, T "linkdir/sub/new.txt", &w),
	    FS_CONFLICT);
	assert_int_equal(tmp_count(f), 0);
	/* Nor deleted through it. */
	assert_int_equal(store_delete(f->s, T "linkdir/secret.txt"), FS_OK);
	snprintf(p, sizeof(p), "%s/secret.txt", out);
	assert_true(exists(p));

	/* A whole tenant directory that is a link. */
	dpath(f, "tenants/0b9e6f1c-3a52-4c7e-9d4b-2f1a8c6e5d31", link,
	    sizeof(link));
	assert_int_equal(symlink(out, link), 0);
	assert_int_equal(store_reader_open(f->s,
	    "tenants/0b9e6f1c-3a52-4c7e-9d4b-2f1a8c6e5d31/secret.txt", 0, -1,
	    &rd), FS_NOT_FOUND);

	/* A link to a directory inside the data dir is refused as well. */
	put(f->s, T "realdir/f", "f");
	dpath(f, T "alias", link, sizeof(link));
	assert_int_equal(symlink("realdir", link), 0);
	assert_int_equal(store_reader_open(f->s, T "alias/f", 0, -1, &rd),
	    FS_NOT_FOUND);
}

/* A FIFO must be refused without blocking the worker in open(). */
static void
test_fifo(void **state)
{
	struct fx		*f = *state;
	struct store_reader	*rd = NULL;
	char			 p[256];

	put(f->s, T "anchor", "x");
	assert_int_equal(mkfifo(dpath(f, T "fifo", p, sizeof(p)), 0600), 0);
	/* A blocking open would hang here; SIGALRM turns that into a failure. */
	alarm(10);
	assert_int_equal(store_reader_open(f->s, T "fifo", 0, -1, &rd),
	    FS_NOT_FOUND);
	assert_null(rd);
	assert_int_equal(obj_size(f->s, T "fifo", NULL), FS_NOT_FOUND);
	alarm(0);
}

static void
test_bad_keys(void **state)
{
	static const char *const bad[] = {
		"",
		"/etc/passwd",
		"/tenants/" TID "/a",
		"tenants/" TID "/../../../etc/passwd",
		"tenants/../x/y",
		"tenants/" TID "/a/../b",
		"tenants/" TID "/./a",
		"tenants/" TID "/..",
		"tenants//a",
		"tenants/" TID "//a",
		"tenants/" TID "/a/",
		"tenants/" TID,			/* the tenant dir itself */
		"tenants/" TID "/",
		".tmp/0123456789abcdef0123456789abcdef",
		"other/" TID "/a",
		"tenantsx/" TID "/a",
		"tenants/" TID "/a\\b",
		"tenants/" TID "/a\x01",
		"tenants/" TID "/a\x7f",
		"tenants/" TID "/a\nb",
	};
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	struct store_reader	*rd = NULL;
	char			 longseg[400];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (store_writer_open(f->s, bad[i], &w) != FS_VALIDATION)
			fail_msg("writer accepted bad[%zu]", i);
		assert_null(w);
		if (store_reader_open(f->s, bad[i], 0, -1, &rd) != FS_VALIDATION)
			fail_msg("reader accepted bad[%zu]", i);
		assert_null(rd);
		assert_int_equal(obj_size(f->s, bad[i], NULL), FS_VALIDATION);
		assert_int_equal(store_delete(f->s, bad[i]), FS_VALIDATION);
		assert_null(store_local_path(f->s, bad[i]));
	}
	assert_int_equal(store_writer_open(f->s, NULL, &w), FS_VALIDATION);
	assert_int_equal(obj_size(f->s, NULL, NULL), FS_VALIDATION);

	/* A segment longer than the filesystem allows (NAME_MAX). */
	snprintf(longseg, sizeof(longseg), T "%0300d", 7);
	assert_int_equal(store_writer_open(f->s, longseg, &w), FS_VALIDATION);
	assert_int_equal(tmp_count(f), 0);
}

/* The disk cannot hold both "a" and "a/b"; say so before streaming. */
static void
test_conflict(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	char			 buf[16];

	put(f->s, T "a", "a");
	assert_int_equal(store_writer_open(f->s, T "a/b", &w), FS_CONFLICT);
	assert_null(w);
	assert_int_equal(tmp_count(f), 0);

	put(f->s, T "d/e", "e");
	assert_int_equal(store_writer_open(f->s, T "d", &w), FS_OK);
	assert_int_equal(store_write(w, "d", 1), FS_OK);
	assert_int_equal(store_commit(w, NULL, NULL), FS_CONFLICT);
	store_writer_free(w);
	assert_int_equal(tmp_count(f), 0);
	assert_int_equal(get(f->s, T "d/e", 0, -1, buf, sizeof(buf), 8), 1);
	assert_string_equal(buf, "e");
}

/*
 * A concurrent delete may prune the (empty) parent directory between
 * store_writer_open and store_commit; commit must recreate it.
 */
static void
test_parent_pruned(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	char			 p[256], buf[16];

	assert_int_equal(store_writer_open(f->s, T "p/q/x", &w), FS_OK);
	assert_int_equal(store_write(w, "xyz", 3), FS_OK);
	assert_int_equal(rmdir(dpath(f, T "p/q", p, sizeof(p))), 0);
	assert_int_equal(rmdir(dpath(f, T "p", p, sizeof(p))), 0);
	assert_int_equal(store_commit(w, NULL, NULL), FS_OK);
	store_writer_free(w);
	assert_int_equal(get(f->s, T "p/q/x", 0, -1, buf, sizeof(buf), 8), 3);
	assert_string_equal(buf, "xyz");
}

static void
test_local_path(void **state)
{
	struct fx	*f = *state;
	char		*path, *real, want[512], buf[16];
	FILE		*fp;

	put(f->s, T "lp/file.txt", "content");
	path = store_local_path(f->s, T "lp/file.txt");
	assert_non_null(path);
	real = realpath(f->data, NULL);
	assert_non_null(real);
	snprintf(want, sizeof(want), "%s/%s", real, T "lp/file.txt");
	assert_string_equal(path, want);
	assert_true(path[0] == '/');
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "content");
	free(real);
	free(path);
}

static void
test_gc_tmp(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	struct timespec		 ts[2];
	char			 oldf[256], fresh[256], other[256];
	long long		 now = (long long)time(NULL);

	dpath(f, ".tmp/00112233445566778899aabbccddeeff", oldf, sizeof(oldf));
	dpath(f, ".tmp/ffeeddccbbaa99887766554433221100", fresh, sizeof(fresh));
	dpath(f, ".tmp/keepme", other, sizeof(other));
	write_file(oldf, "crashed upload");
	write_file(fresh, "live upload");
	write_file(other, "not ours");
	ts[0].tv_sec = (time_t)(now - 7200);
	ts[0].tv_nsec = 0;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, oldf, ts, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, other, ts, 0), 0);

	assert_int_equal(store_writer_open(f->s, T "live", &w), FS_OK);
	assert_int_equal(store_write(w, "live", 4), FS_OK);

	assert_int_equal(store_gc_tmp(f->s, 3600, NULL, NULL), 1);
	assert_false(exists(oldf));
	assert_true(exists(fresh));
	assert_true(exists(other));
	/* The live upload was not touched. */
	assert_int_equal(store_commit(w, NULL, NULL), FS_OK);
	store_writer_free(w);
	assert_int_equal(obj_size(f->s, T "live", NULL), FS_OK);

	/* With no age limit, an upload in progress loses its file. */
	assert_int_equal(store_writer_open(f->s, T "doomed", &w), FS_OK);
	assert_int_equal(store_gc_tmp(f->s, 0, NULL, NULL), 2);
	assert_false(exists(fresh));
	assert_true(exists(other));
	assert_int_equal(store_commit(w, NULL, NULL), FS_INTERNAL);
	store_writer_free(w);
	assert_int_equal(obj_size(f->s, T "doomed", NULL), FS_NOT_FOUND);
	assert_int_equal(store_gc_tmp(NULL, 0, NULL, NULL), -1);
}

/* 20 MiB in 64 KiB chunks: streamed, hashed, read back the same. */
static void
test_large_stream(void **state)
{
	enum { CHUNK = 64 * 1024, TOTAL = 20 * 1024 * 1024 };
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	struct store_reader	*rd = NULL;
	long long		 st = -1;
	EVP_MD_CTX		*ctx;
	unsigned char		*buf;
	unsigned char		 md[CRY_SHA256_LEN], want[CRY_SHA256_LEN];
	unsigned char		 back[CRY_SHA256_LEN];
	unsigned int		 n;
	uint32_t		 x = 2463534242u;
	long long		 size = -1, total = 0;
	ssize_t			 r;
	size_t			 i, j;

	buf = malloc(CHUNK);
	assert_non_null(buf);
	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(store_writer_open(f->s, T "big/blob.bin", &w), FS_OK);
	for (i = 0; i < TOTAL / CHUNK; i++) {
		for (j = 0; j < CHUNK; j++) {
			/* xorshift32: cheap bytes that are not all alike */
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[j] = (unsigned char)x;
		}
		assert_int_equal(EVP_DigestUpdate(ctx, buf, CHUNK), 1);
		assert_int_equal(store_write(w, buf, CHUNK), FS_OK);
	}
	assert_int_equal(EVP_DigestFinal_ex(ctx, want, &n), 1);
	assert_int_equal(store_commit(w, md, &size), FS_OK);
	store_writer_free(w);
	assert_memory_equal(md, want, CRY_SHA256_LEN);
	assert_int_equal(size, TOTAL);
	assert_int_equal(obj_size(f->s, T "big/blob.bin", &st), FS_OK);
	assert_int_equal(st, TOTAL);

	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(store_reader_open(f->s, T "big/blob.bin", 0, -1, &rd),
	    FS_OK);
	for (;;) {
		r = store_read(rd, buf, CHUNK);
		assert_true(r >= 0);
		if (r == 0)
			break;
		total += r;
		assert_int_equal(EVP_DigestUpdate(ctx, buf, (size_t)r), 1);
	}
	store_reader_free(rd);
	assert_int_equal(EVP_DigestFinal_ex(ctx, back, &n), 1);
	assert_int_equal(total, TOTAL);
	assert_memory_equal(back, want, CRY_SHA256_LEN);
	EVP_MD_CTX_free(ctx);
	free(buf);
}

static void
test_open_errors(void **state)
{
	struct fx	*f = *state;
	char		 err[256] = "", p[256];

	assert_null(store_open_local(NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
	/* A data dir below a regular file cannot be made. */
	snprintf(p, sizeof(p), "%s/plain", f->root);
	write_file(p, "x");
	snprintf(p, sizeof(p), "%s/plain/files", f->root);
	err[0] = '\0';
	assert_null(store_open_local(p, err, sizeof(err)));
	assert_non_null(strstr(err, "data dir"));
	/* err is optional. */
	assert_null(store_open_local(p, NULL, 0));
	store_close(NULL);
}

/* Read a row's object (store_reader_open_row) whole into buf. */
static void
get_row(struct store *s, const char *pkey, const char *pending, char *buf,
    size_t cap)
{
	struct store_reader	*rd = NULL;
	ssize_t			 n;

	assert_int_equal(store_reader_open_row(s, pkey, pending, 0, -1, &rd),
	    FS_OK);
	n = store_read(rd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	store_reader_free(rd);
}

/* A store_keep_fn keeping the one name in arg. */
static int
keep_one(void *arg, const char *name)
{
	return strcmp(arg, name) == 0;
}

/*
 * Publish through a row: finish names a durable temp file, which keep
 * hands over (free leaves it), readers of the row find it, publish puts
 * it in place (again: FS_OK), and the sweeps leave a named one alone.
 */
static void
test_publish_pending(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	char			 name[64], p[256], buf[64];

	put(f->s, T "p/v", "version one");
	assert_int_equal(store_writer_open(f->s, T "p/v", &w), FS_OK);
	assert_null(store_writer_pending(w));
	assert_int_equal(store_write(w, "version two", 11), FS_OK);
	assert_int_equal(store_finish(w, NULL, NULL), FS_OK);
	assert_non_null(store_writer_pending(w));
	snprintf(name, sizeof(name), "%s", store_writer_pending(w));
	assert_int_equal(strlen(name), 32);
	assert_int_equal(store_writer_check(w), FS_OK);
	/* Held by a live writer: the orphan sweep leaves it. */
	assert_int_equal(store_gc_orphans(f->s, NULL, NULL), 0);
	store_writer_keep(w);
	store_writer_free(w);
	assert_int_equal(tmp_count(f), 1);

	/* The row's readers see the new bytes, the key still the old. */
	get_row(f->s, T "p/v", name, buf, sizeof(buf));
	assert_string_equal(buf, "version two");
	get_row(f->s, T "p/v", "", buf, sizeof(buf));
	assert_string_equal(buf, "version one");
	/* Named by a row: no sweep removes it, even with no age limit. */
	assert_int_equal(store_gc_tmp(f->s, 0, keep_one, name), 0);
	assert_int_equal(tmp_count(f), 1);

	assert_int_equal(store_publish(f->s, name, T "p/v"), FS_OK);
	assert_int_equal(tmp_count(f), 0);
	get_row(f->s, T "p/v", NULL, buf, sizeof(buf));
	assert_string_equal(buf, "version two");
	/* A row still naming it falls back to the key; publish again is OK. */
	get_row(f->s, T "p/v", name, buf, sizeof(buf));
	assert_string_equal(buf, "version two");
	assert_int_equal(store_publish(f->s, name, T "p/v"), FS_OK);
	assert_int_equal(store_drop_tmp(f->s, name), FS_OK);
	assert_int_equal(store_drop_tmp(f->s, "../p"), FS_VALIDATION);
	assert_int_equal(store_publish(f->s, "nope", T "p/v"), FS_VALIDATION);

	/* Not kept: free removes it. A directory in the way is refused. */
	put(f->s, T "p/d/x", "x");
	assert_int_equal(store_writer_open(f->s, T "p/d", &w), FS_OK);
	assert_int_equal(store_finish(w, NULL, NULL), FS_OK);
	assert_int_equal(store_writer_check(w), FS_CONFLICT);
	store_writer_free(w);
	assert_int_equal(tmp_count(f), 0);
	assert_true(exists(dpath(f, T "p/d/x", p, sizeof(p))));
}

/* walk: every plain file under tenants/, and fn may delete it. */
static int
walk_count(void *arg, const char *pkey)
{
	int	*n = arg;

	if (strncmp(pkey, "tenants/", 8) != 0)
		return -1;
	(*n)++;
	return 0;
}

static void
test_walk(void **state)
{
	struct fx	*f = *state;
	int		 n = 0;
	char		 p[256];

	assert_int_equal(store_walk(f->s, walk_count, &n), 0);
	assert_int_equal(n, 0);
	put(f->s, T "w/a", "a");
	put(f->s, T "w/b/c", "c");
	put(f->s, T "top", "t");
	assert_int_equal(symlink("/etc/passwd",
	    dpath(f, T "w/link", p, sizeof(p))), 0);
	assert_int_equal(store_walk(f->s, walk_count, &n), 0);
	assert_int_equal(n, 3);
}

/*
 * store_writer_adopt: a finished file (a tus stage) becomes the pending
 * object without a copy: the same inode under .tmp, held by the caller's
 * lock, cut to the size vouched for, published as any other.
 */
static void
test_adopt(void **state)
{
	struct fx		*f = *state;
	struct store_writer	*w = NULL;
	unsigned char		 sha[CRY_SHA256_LEN], got[CRY_SHA256_LEN];
	char			 name[64], p[256], tp[300], buf[64];
	struct stat		 a, b;
	long long		 size = 0;
	int			 dfd, fd;

	memset(sha, 0x5a, sizeof(sha));
	dfd = open(f->root, O_RDONLY | O_DIRECTORY);
	assert_true(dfd != -1);
	fd = openat(dfd, "stage", O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "adopted bytes and more", 22), 22);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	/* Shorter than vouched for: refused. */
	assert_int_equal(store_writer_adopt(f->s, T "a/v", dfd, "stage", fd,
	    sha, 100, &w), FS_INTERNAL);
	assert_null(w);
	assert_int_equal(store_writer_adopt(f->s, "../x", dfd, "stage", fd,
	    sha, 13, &w), FS_VALIDATION);
	assert_int_equal(store_writer_adopt(f->s, T "a/v", dfd, "stage", fd,
	    sha, 13, &w), FS_OK);
	snprintf(name, sizeof(name), "%s", store_writer_pending(w));
	assert_int_equal(strlen(name), 32);
	snprintf(tp, sizeof(tp), "%s/%s", dpath(f, ".tmp", p, sizeof(p)), name);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(tp, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_size == 13);
	assert_int_equal(store_finish(w, got, &size), FS_OK);
	assert_memory_equal(got, sha, sizeof(sha));
	assert_int_equal(size, 13);
	/* The caller's lock holds it: the orphan sweep leaves it. */
	assert_int_equal(store_gc_orphans(f->s, NULL, NULL), 0);
	store_writer_keep(w);
	store_writer_free(w);
	assert_int_equal(store_publish(f->s, name, T "a/v"), FS_OK);
	get_row(f->s, T "a/v", NULL, buf, sizeof(buf));
	assert_string_equal(buf, "adopted bytes");
	assert_true(exists(tp) == 0);
	/* Not kept: free drops the second name, the caller's stays. */
	assert_int_equal(store_writer_adopt(f->s, T "a/w", dfd, "stage", fd,
	    sha, 13, &w), FS_OK);
	store_writer_free(w);
	assert_int_equal(tmp_count(f), 0);
	assert_int_equal(fstatat(dfd, "stage", &b, 0), 0);
	close(fd);
	close(dfd);
}

#define STORE_TEST(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_TEST(test_write_read_sha),
		STORE_TEST(test_overwrite),
		STORE_TEST(test_abort),
		STORE_TEST(test_write_error),
		STORE_TEST(test_sync_order),
		STORE_TEST(test_sync_as_written),
		STORE_TEST(test_sync_error),
		STORE_TEST(test_range),
		STORE_TEST(test_reader_sees),
		STORE_TEST(test_missing),
		STORE_TEST(test_delete),
		STORE_TEST(test_symlink_file),
		STORE_TEST(test_symlink_dir),
		STORE_TEST(test_fifo),
		STORE_TEST(test_bad_keys),
		STORE_TEST(test_conflict),
		STORE_TEST(test_parent_pruned),
		STORE_TEST(test_local_path),
		STORE_TEST(test_gc_tmp),
		STORE_TEST(test_large_stream),
		STORE_TEST(test_open_errors),
		STORE_TEST(test_publish_pending),
		STORE_TEST(test_walk),
		STORE_TEST(test_adopt),
	};
	int	 failed;

	failed = cmocka_run_group_tests_name("store (openat2)", tests,
	    NULL, NULL);
	if (deny_openat2(ENOSYS) == -1) {
		fprintf(stderr, "store: cannot install a seccomp filter; "
		    "the O_NOFOLLOW fallback is NOT tested\n");
		return failed;
	}
	failed += cmocka_run_group_tests_name("store (no openat2: ENOSYS)",
	    tests, NULL, NULL);
	/* The newest filter's errno wins over the one before. */
	if (deny_openat2(EPERM) == -1) {
		fprintf(stderr, "store: cannot stack a second seccomp filter; "
		    "the EPERM fallback is NOT tested\n");
		return failed;
	}
	failed += cmocka_run_group_tests_name("store (no openat2: EPERM)",
	    tests, NULL, NULL);
	return failed;
}
