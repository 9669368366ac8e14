/*
 * rcache: rendition cache on disk. See rcache.h.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cry.h"
#include "fio.h"
#include "http_parse.h"
#include "rcache.h"

#define RCACHE_DIR_MODE		0750
#define RCACHE_FILE_MODE	0640
#define RCACHE_TMP		".tmp"
#define RCACHE_TMP_AGE		3600	/* seconds before a temp file is stale */
#define RCACHE_TOUCH_AGE	3600	/* refresh a hit's mtime at most hourly */
#define RCACHE_EXT_MAX		8

/* ids are lower-case hex and extensions lower-case letters: nothing else
   can reach a path. */
static int
name_ok(const char *id, const char *ext)
{
	size_t i, n = strlen(id), m = strlen(ext);

	if (n < 2 || n > RCACHE_ID_MAX || m == 0 || m > RCACHE_EXT_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	for (i = 0; i < m; i++)
		if (ext[i] < 'a' || ext[i] > 'z')
			return 0;
	return 1;
}

static char *
make_path(const char *dir, const char *id, const char *ext)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%.2s/%s.%s", dir, id, id, ext) == -1)
		return NULL;
	return p;
}

int
rcache_lookup(const char *dir, const char *id, const char *ext, char **path,
    long long *size)
{
	struct stat st;
	struct timespec ts[2];
	char *p;

	*path = NULL;
	if (!name_ok(id, ext))
		return -1;
	p = make_path(dir, id, ext);
	if (p == NULL)
		return -1;
	/* lstat: the web server follows symlinks; we only hand it files. */
	if (lstat(p, &st) == -1 || !S_ISREG(st.st_mode)) {
		free(p);
		return 0;
	}
	if (time(NULL) - st.st_mtime > RCACHE_TOUCH_AGE) {
		/* LRU by mtime; a failure only makes eviction less exact. */
		ts[0].tv_nsec = UTIME_OMIT;
		ts[0].tv_sec = 0;
		ts[1].tv_nsec = UTIME_NOW;
		ts[1].tv_sec = 0;
		(void)utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
	}
	*path = p;
	*size = (long long)st.st_size;
	return 1;
}

static int
mkdir_if(const char *path)
{
	if (mkdir(path, RCACHE_DIR_MODE) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
rcache_store(const char *dir, const char *id, const char *ext,
    const void *buf, size_t len, char **path)
{
	unsigned char rnd[8];
	char rhex[17], *final = NULL, *tmp = NULL, *sub = NULL;
	int fd = -1, rc = -1, saved, n;

	if (path != NULL)
		*path = NULL;
	if (!name_ok(id, ext)) {
		errno = EINVAL;
		return -1;
	}
	if (cry_random(rnd, sizeof(rnd)) == -1)
		goto out;
	cry_hex(rnd, sizeof(rnd), rhex);
	final = make_path(dir, id, ext);
	if (final == NULL ||
	    asprintf(&tmp, "%s/%s/%s.%s", dir, RCACHE_TMP, id, rhex) == -1 ||
	    asprintf(&sub, "%s/%.2s", dir, id) == -1) {
		tmp = sub = NULL;
		errno = ENOMEM;
		goto out;
	}
	if (mkdir_if(dir) == -1 || mkdir_if(sub) == -1)
		goto out;
	free(sub);
	sub = NULL;
	if (asprintf(&sub, "%s/%s", dir, RCACHE_TMP) == -1) {
		sub = NULL;
		errno = ENOMEM;
		goto out;
	}
	if (mkdir_if(sub) == -1)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    RCACHE_FILE_MODE);
	if (fd == -1)
		goto out;
	if (fio_write_all(fd, buf, len) == -1)
		goto out;
	/*
	 * No fsync: a rendition lost in a crash is recomputed. rename()
	 * still makes the publication atomic: a reader sees all or nothing.
	 */
	n = fio_publish(fd, tmp, final);
	fd = -1;
	if (n == -1)
		goto out;
	if (path != NULL) {
		*path = final;
		final = NULL;
	}
	rc = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (rc == -1 && tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	free(sub);
	free(final);
	errno = saved;
	return rc;
}

struct entry {
	char		*path;
	long long	 size;
	long long	 mtime;
};

static int
by_mtime(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Append the regular files of dir to *ents. 0 or -1 (out of memory). */
static int
scan_dir(const char *dir, struct entry **ents, size_t *n, size_t *cap,
    long long *total)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	struct entry *ne;
	char *p;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL)
		return 0;	/* vanished meanwhile: nothing to count */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) == -1) {
			rc = -1;
			break;
		}
		if (lstat(p, &st) == -1 || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		if (*n == *cap) {
			*cap = *cap == 0 ? 256 : *cap * 2;
			ne = realloc(*ents, *cap * sizeof(**ents));
			if (ne == NULL) {
				free(p);
				rc = -1;
				break;
			}
			*ents = ne;
		}
		(*ents)[*n].path = p;
		(*ents)[*n].size = (long long)st.st_size;
		(*ents)[*n].mtime = (long long)st.st_mtime;
		(*n)++;
		*total += (long long)st.st_size;
	}
	closedir(d);
	return rc;
}

static long long
gc_tmp(const char *dir)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char *tdir = NULL, *p;
	long long removed = 0;
	time_t now = time(NULL);

	if (asprintf(&tdir, "%s/%s", dir, RCACHE_TMP) == -1)
		return 0;
	d = opendir(tdir);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (asprintf(&p, "%s/%s", tdir, de->d_name) == -1)
				break;
			if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			    now - st.st_mtime > RCACHE_TMP_AGE &&
			    unlink(p) == 0)
				removed++;
			free(p);
		}
		closedir(d);
	}
	free(tdir);
	return removed;
}

int
rcache_gc(const char *dir, long long max_bytes, struct rcache_stats *st)
{
	struct entry *ents = NULL;
	size_t n = 0, cap = 0, i;
	long long total = 0, target;
	char sub[8], *p;
	int rc = -1, a, b;
	static const char hex[] = "0123456789abcdef";

	memset(st, 0, sizeof(*st));
	st->tmp_removed = gc_tmp(dir);
	for (a = 0; a < 16; a++)
		for (b = 0; b < 16; b++) {
			sub[0] = hex[a];
			sub[1] = hex[b];
			sub[2] = '\0';
			if (asprintf(&p, "%s/%s", dir, sub) == -1)
				goto out;
			if (scan_dir(p, &ents, &n, &cap, &total) == -1) {
				free(p);
				goto out;
			}
			free(p);
		}
	if (total > max_bytes) {
		/* Hysteresis: free 10% more than needed, so the next
		   stores do not each pay for a scan. */
		target = max_bytes - max_bytes / 10;
		qsort(ents, n, sizeof(*ents), by_mtime);
		for (i = 0; i < n && total > target; i++) {
			if (unlink(ents[i].path) == -1 && errno != ENOENT)
				continue;
			total -= ents[i].size;
			st->evicted++;
			st->evicted_bytes += ents[i].size;
		}
	}
	st->files = (long long)n - st->evicted;
	st->bytes = total;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(ents[i].path);
	free(ents);
	return rc;
}

void
rcache_note_write(const char *dir, long long max_bytes, size_t len)
{
	static long long since = -1;	/* -1: never ran in this process */
	struct rcache_stats st;

	if (since >= 0)
		since += (long long)len;
	if (since >= 0 && since < max_bytes / 16)
		return;
	since = 0;
	(void)rcache_gc(dir, max_bytes, &st);
}
