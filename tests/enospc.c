/*
 * enospc.so: a test-only LD_PRELOAD shim that makes the disk under
 * $FILESTOR_TEST_ENOSPC_DIR fail, without mounting a small or broken
 * filesystem (which needs root). Used by tests/t04-robust.sh. Never
 * installed.
 *
 * - Writes to regular files there fail with ENOSPC once more than
 *   $FILESTOR_TEST_ENOSPC_AFTER bytes went to such files, as on a full
 *   disk.
 * - fsync and fdatasync fail as the control file $FILESTOR_TEST_FSYNC_CTL
 *   says, read at each call so that a test can switch it: "file EIO" or
 *   "file ENOSPC" fails them on regular files there, "dir EIO" or
 *   "dir ENOSPC" on directories there; empty or missing, nothing fails.
 *   A third word "once" fails only the next such call, and empties the
 *   file (which the server must be able to write): Linux reports a
 *   writeback error to one fsync only, so a later one succeeds.
 *   EIO is what a failing disk reports; ENOSPC what a thin volume or NFS
 *   reports when the space runs out only at writeback.
 * - A worker dies (_exit) when it prepares an SQL statement that holds
 *   $FILESTOR_TEST_DIE_AT_SQL, as a crash at that point would: used by
 *   tests/t17-uploads.sh to die after CompleteMultipartUpload, before
 *   the file row. SQLite's sqlite3_prepare_v3, or on PostgreSQL libpq's
 *   PQprepare and PQexecParams (the ways common/db_pg.c sends a
 *   statement the first time).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t	write(int, const void *, size_t);
int	fsync(int);
int	fdatasync(int);
int	sqlite3_prepare_v3(void *, const char *, int, unsigned int, void **,
	    const char **);
void	*PQprepare(void *, const char *, const char *, int,
	    const unsigned int *);
void	*PQexecParams(void *, const char *, int, const unsigned int *,
	    const char *const *, const int *, const int *, int);

static long long written;

/* 1 when fd is a regular file (dir: a directory) below the watched dir. */
static int
watched(int fd, int dir)
{
	const char *top = getenv("FILESTOR_TEST_ENOSPC_DIR");
	char link[64], path[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (top == NULL || fstat(fd, &st) == -1)
		return 0;
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	/* Below it, not just sharing its prefix: ".../files" must not catch
	   ".../filestor.db" and its WAL (SQLite syncs those). */
	n = (ssize_t)strlen(top);
	return strncmp(path, top, (size_t)n) == 0 &&
	    (path[n] == '/' || path[n] == '\0');
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	const char *after = getenv("FILESTOR_TEST_ENOSPC_AFTER");

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
		    "write");
	if (after != NULL && watched(fd, 0)) {
		if (written + (long long)len > atoll(after)) {
			errno = ENOSPC;
			return -1;
		}
		written += (long long)len;
	}
	return real(fd, buf, len);
}

/* The errno the control file asks for fd's sync, or 0. */
static int
sync_error(int fd)
{
	const char *ctl = getenv("FILESTOR_TEST_FSYNC_CTL");
	char what[16] = "", err[16] = "", when[16] = "";
	FILE *f;
	int n, e = 0;

	if (ctl == NULL)
		return 0;
	f = fopen(ctl, "re");
	if (f == NULL)
		return 0;
	n = fscanf(f, "%15s %15s %15s", what, err, when);
	fclose(f);
	if (n < 2)
		return 0;
	if (!watched(fd, strcmp(what, "dir") == 0))
		return 0;
	if (strcmp(what, "file") != 0 && strcmp(what, "dir") != 0)
		return 0;
	if (strcmp(err, "EIO") == 0)
		e = EIO;
	else if (strcmp(err, "ENOSPC") == 0)
		e = ENOSPC;
	/* Should it fail, the error comes again: the test sees that. */
	if (e != 0 && strcmp(when, "once") == 0 && truncate(ctl, 0) == -1)
		return e;
	return e;
}

/* The shared body of fsync and fdatasync: the injected error, or the
   real call found under name. */
static int
sync_call(int fd, const char *name, int (**real)(int))
{
	int e = sync_error(fd);

	if (e != 0) {
		errno = e;
		return -1;
	}
	if (*real == NULL)
		*real = (int (*)(int))dlsym(RTLD_NEXT, name);
	return (*real)(fd);
}

int
fsync(int fd)
{
	static int (*real)(int);

	return sync_call(fd, "fsync", &real);
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	return sync_call(fd, "fdatasync", &real);
}

/* Exit when sql holds $FILESTOR_TEST_DIE_AT_SQL. */
static void
die_at(const char *sql)
{
	const char *die = getenv("FILESTOR_TEST_DIE_AT_SQL");

	if (die != NULL && *die != '\0' && sql != NULL &&
	    strstr(sql, die) != NULL)
		_exit(70);
}

int
sqlite3_prepare_v3(void *db, const char *sql, int len, unsigned int flags,
    void **st, const char **tail)
{
	static int (*real)(void *, const char *, int, unsigned int, void **,
	    const char **);

	die_at(sql);
	if (real == NULL)
		real = (int (*)(void *, const char *, int, unsigned int,
		    void **, const char **))dlsym(RTLD_NEXT,
		    "sqlite3_prepare_v3");
	return real(db, sql, len, flags, st, tail);
}

void *
PQprepare(void *conn, const char *name, const char *sql, int n,
    const unsigned int *types)
{
	static void *(*real)(void *, const char *, const char *, int,
	    const unsigned int *);

	die_at(sql);
	if (real == NULL)
		real = (void *(*)(void *, const char *, const char *, int,
		    const unsigned int *))dlsym(RTLD_NEXT, "PQprepare");
	return real(conn, name, sql, n, types);
}

void *
PQexecParams(void *conn, const char *sql, int n, const unsigned int *types,
    const char *const *vals, const int *lens, const int *fmts, int rfmt)
{
	static void *(*real)(void *, const char *, int, const unsigned int *,
	    const char *const *, const int *, const int *, int);

	die_at(sql);
	if (real == NULL)
		real = (void *(*)(void *, const char *, int,
		    const unsigned int *, const char *const *, const int *,
		    const int *, int))dlsym(RTLD_NEXT, "PQexecParams");
	return real(conn, sql, n, types, vals, lens, fmts, rfmt);
}
