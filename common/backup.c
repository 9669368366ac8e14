/*
 * backup: a consistent copy of the database with a manifest, and the
 * check of rows against objects (backup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "backup.h"
#include "cfg.h"
#include "cry.h"
#include "db.h"
#include "files.h"
#include "fio.h"
#include "store.h"

#define BACKUP_BUF	(64 * 1024)

typedef ssize_t	(*read_fn)(void *, void *, size_t);

/* The SHA-256 (hex) of everything rd gives, and its length. 0, or -1. */
static int
digest(read_fn rd, void *arg, char hex[65], long long *bytes)
{
	unsigned char buf[BACKUP_BUF], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int ret = -1;

	*bytes = 0;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = rd(arg, buf, sizeof(buf))) > 0) {
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
		*bytes += n;
	}
	if (n == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 &&
	    mdlen == CRY_SHA256_LEN) {
		cry_hex(md, CRY_SHA256_LEN, hex);
		ret = 0;
	}
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

static ssize_t
read_store(void *arg, void *buf, size_t len)
{
	return store_read(arg, buf, len);
}

static ssize_t
read_fd(void *arg, void *buf, size_t len)
{
	ssize_t n;

	while ((n = read(*(int *)arg, buf, len)) == -1 && errno == EINTR)
		;
	return n;
}

static int
digest_path(const char *path, char hex[65], long long *bytes)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -1;
	ret = digest(read_fd, &fd, hex, bytes);
	close(fd);
	return ret;
}

static int
add_count(void *arg, const char *table, long long n)
{
	return cJSON_AddNumberToObject(arg, table, (double)n) != NULL ? 0 : -1;
}

/* The "store" member: which adapter holds the objects, and where. */
static cJSON *
store_json(const struct cfg *c)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return NULL;
	if (c->s3.bucket == NULL) {
		cJSON_AddStringToObject(o, "kind", "local");
		cJSON_AddStringToObject(o, "dataDir", c->data_dir);
	} else {
		cJSON_AddStringToObject(o, "kind", "s3");
		cJSON_AddStringToObject(o, "bucket", c->s3.bucket);
		if (c->s3.endpoint != NULL)
			cJSON_AddStringToObject(o, "endpoint", c->s3.endpoint);
		if (c->s3.region != NULL)
			cJSON_AddStringToObject(o, "region", c->s3.region);
	}
	return o;
}

/*
 * The manifest of the copy at path (its schema version and row counts
 * read from it), into *out (cJSON_Delete it). 0, or -1 with err.
 */
static int
manifest(const struct cfg *c, const char *path, struct backup_summary *sum,
    cJSON **out, char *err, size_t errlen)
{
	cJSON *m = NULL, *rows, *dbj, *f;
	struct db *copy = NULL;
	char when[32];
	int ret = -1;

	*out = NULL;
	if (digest_path(path, sum->sha256, &sum->bytes) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	copy = db_open(path, DB_OPEN_READONLY, err, errlen);
	if (copy == NULL)
		return -1;
	if ((sum->schema = db_schema_version(copy)) < 0)
		goto dberr;
	db_iso8601(db_now(), when);
	m = cJSON_CreateObject();
	if (m == NULL ||
	    cJSON_AddStringToObject(m, "format", BACKUP_FORMAT) == NULL ||
	    cJSON_AddStringToObject(m, "createdAt", when) == NULL ||
	    cJSON_AddNumberToObject(m, "schemaVersion", sum->schema) == NULL ||
	    (dbj = cJSON_AddObjectToObject(m, "database")) == NULL ||
	    cJSON_AddStringToObject(dbj, "file", BACKUP_DB_FILE) == NULL ||
	    cJSON_AddNumberToObject(dbj, "bytes", (double)sum->bytes) == NULL ||
	    cJSON_AddStringToObject(dbj, "sha256", sum->sha256) == NULL ||
	    (rows = cJSON_AddObjectToObject(m, "rows")) == NULL)
		goto nomem;
	if (db_table_counts(copy, add_count, rows) == -1)
		goto dberr;
	f = cJSON_GetObjectItemCaseSensitive(rows, "files");
	sum->files = cJSON_IsNumber(f) ? (long long)f->valuedouble : 0;
	if (!cJSON_AddItemToObject(m, "store", store_json(c)))
		goto nomem;
	*out = m;
	m = NULL;
	ret = 0;
	goto out;
dberr:
	snprintf(err, errlen, "cannot read the copy %s: %s", path,
	    copy != NULL ? db_errmsg(copy) : "out of memory");
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	cJSON_Delete(m);
	db_close(copy);
	return ret;
}

/* Write the manifest whole under dir/manifest.json. 0, or -1 with err. */
static int
write_manifest(const char *dir, cJSON *m, char *err, size_t errlen)
{
	char tmp[PATH_MAX], path[PATH_MAX], *text;
	int fd = -1, ret = -1;

	text = cJSON_Print(m);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, BACKUP_MANIFEST);
	snprintf(path, sizeof(path), "%s/%s", dir, BACKUP_MANIFEST);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || fio_write_all(fd, text, strlen(text)) == -1 ||
	    fio_write_all(fd, "\n", 1) == -1 || fsync(fd) == -1)
		goto fail;
	if (fio_publish(fd, tmp, path) == -1) {
		fd = -1;
		goto fail;
	}
	ret = 0;
	goto out;
fail:
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
out:
	free(text);
	return ret;
}

/* dir exists (made 0700 if not) and holds no backup yet. 0, or -1. */
static int
backup_dir(const char *dir, char *err, size_t errlen)
{
	const char *names[] = { BACKUP_DB_FILE, BACKUP_MANIFEST };
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    (int)sizeof(path) - 8) {
			snprintf(err, errlen, "%s: path too long", dir);
			return -1;
		}
		if (lstat(path, &st) == 0) {
			snprintf(err, errlen, "%s already holds a backup (%s):"
			    " give a new directory", dir, names[i]);
			return -1;
		}
	}
	return 0;
}

int
backup_make(struct db *db, const struct cfg *c, const char *dir,
    struct backup_summary *sum, char *err, size_t errlen)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	cJSON *m = NULL;
	int fd, ret = -1;

	memset(sum, 0, sizeof(*sum));
	if (backup_dir(dir, err, errlen) == -1)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, BACKUP_DB_FILE);
	snprintf(path, sizeof(path), "%s/%s", dir, BACKUP_DB_FILE);
	(void)unlink(tmp);	/* an interrupted backup's */
	/* Made 0600 before SQLite fills it: it holds every key hash. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "cannot create %s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	close(fd);
	if (db_backup_to(db, tmp, err, errlen) == -1 ||
	    manifest(c, tmp, sum, &m, err, errlen) == -1)
		goto out;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot rename %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	/* The manifest last: it marks the backup whole. */
	if (write_manifest(dir, m, err, errlen) == -1) {
		(void)unlink(path);
		goto out;
	}
	ret = 0;
out:
	if (ret == -1)
		(void)unlink(tmp);
	cJSON_Delete(m);
	return ret;
}

/* Check one row's object: its bytes, their size and SHA-256. */
static void
verify_row(struct store *s, const struct file_row *f, backup_problem_fn fn,
    void *arg, struct backup_report *r)
{
	struct store_reader *rd = NULL;
	char hex[65], detail[200];
	long long bytes;
	enum fs_err e;

	r->rows++;
	e = store_reader_open_row(s, f->key, f->pending, 0, -1, &rd);
	if (e == FS_NOT_FOUND) {
		r->missing++;
		snprintf(detail, sizeof(detail), "the row says %lld bytes;"
		    " no object", f->size);
		fn(arg, "missing", f->key, detail);
		return;
	}
	if (e != FS_OK || digest(read_store, rd, hex, &bytes) == -1) {
		r->unreadable++;
		fn(arg, "unreadable", f->key, "the object cannot be read");
	} else if (bytes != f->size) {
		r->bad_size++;
		snprintf(detail, sizeof(detail), "the row says %lld bytes,"
		    " the object has %lld", f->size, bytes);
		fn(arg, "size", f->key, detail);
	} else if (strcmp(hex, f->sha256) != 0) {
		r->bad_sha256++;
		snprintf(detail, sizeof(detail), "the row says %s, the object"
		    " is %s", f->sha256, hex);
		fn(arg, "sha256", f->key, detail);
	} else
		r->ok++;
	store_reader_free(rd);
}

struct orphan_arg {
	backup_problem_fn	 fn;
	void			*arg;
	struct backup_report	*r;
};

static int
verify_orphan(void *arg, const char *pkey)
{
	struct orphan_arg *o = arg;

	o->r->orphans++;
	o->fn(o->arg, "orphan", pkey, "no row names this object");
	return 0;
}

int
backup_verify(struct db *db, struct store *s, backup_problem_fn fn, void *arg,
    struct backup_report *r)
{
	struct orphan_arg o;
	struct file_row f;
	char *after;
	enum fs_err e = FS_INTERNAL;

	memset(r, 0, sizeof(*r));
	after = strdup("");
	while (after != NULL &&
	    (e = file_next_row(db, after, &f)) == FS_OK) {
		verify_row(s, &f, fn, arg, r);
		free(after);
		after = f.key;	/* taken from f */
	}
	if (after == NULL || e != FS_NOT_FOUND) {
		free(after);
		return -1;
	}
	free(after);
	o.fn = fn;
	o.arg = arg;
	o.r = r;
	return file_orphans(db, s, verify_orphan, &o);
}

long long
backup_problems(const struct backup_report *r)
{
	return r->missing + r->bad_size + r->bad_sha256 + r->unreadable +
	    r->orphans;
}
