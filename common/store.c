/*
 * store: choose an adapter from the configuration, and dispatch the
 * store.h calls to it (DESIGN §8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "key.h"
#include "store.h"
#include "store_impl.h"

#define PKEY_MAX	(KEY_TENANT_PREFIX_LEN + KEY_MAX)

int
store_pkey_ok(const char *p)
{
	size_t len, i, start, seg, nsegs = 0;
	unsigned char c;

	if (p == NULL)
		return 0;
	len = strnlen(p, PKEY_MAX + 1);
	if (len == 0 || len > PKEY_MAX || strncmp(p, "tenants/", 8) != 0)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
	}
	for (start = 0; start <= len; start = i + 1) {
		i = start;
		while (i < len && p[i] != '/')
			i++;
		seg = i - start;
		if (seg == 0 || (p[start] == '.' && (seg == 1 ||
		    (seg == 2 && p[start + 1] == '.'))))
			return 0;
		nsegs++;
	}
	return nsegs >= PKEY_MIN_SEGS;
}

struct store *
store_open(const struct cfg *c, char *err, size_t errlen)
{
	if (c->s3.bucket != NULL)
		return store_open_s3(&c->s3, err, errlen);
	return store_open_local(c->data_dir, err, errlen);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

enum fs_err
store_writer_open(struct store *s, const char *pkey, struct store_writer **w)
{
	*w = NULL;
	if (s == NULL)
		return FS_INTERNAL;
	return s->ops->writer_open(s, pkey, w);
}

void
store_writer_size_hint(struct store_writer *w, long long size)
{
	if (w != NULL && size >= 0 && w->ops->size_hint != NULL)
		w->ops->size_hint(w, size);
}

enum fs_err
store_write(struct store_writer *w, const void *buf, size_t len)
{
	if (w == NULL)
		return FS_INTERNAL;
	return w->ops->write(w, buf, len);
}

enum fs_err
store_finish(struct store_writer *w, unsigned char sha256[CRY_SHA256_LEN],
    long long *size)
{
	if (w == NULL)
		return FS_INTERNAL;
	return w->ops->finish(w, sha256, size);
}

enum fs_err
store_commit(struct store_writer *w, unsigned char sha256[CRY_SHA256_LEN],
    long long *size)
{
	enum fs_err e;

	e = store_finish(w, sha256, size);
	if (e != FS_OK)
		return e;
	return w->ops->commit(w);
}

void
store_writer_free(struct store_writer *w)
{
	if (w != NULL)
		w->ops->writer_free(w);
}

enum fs_err
store_reader_open(struct store *s, const char *pkey, long long off,
    long long len, struct store_reader **rd)
{
	*rd = NULL;
	if (s == NULL)
		return FS_INTERNAL;
	return s->ops->reader_open(s, pkey, off, len, rd);
}

ssize_t
store_read(struct store_reader *rd, void *buf, size_t len)
{
	if (rd == NULL)
		return -1;
	return rd->ops->read(rd, buf, len);
}

void
store_reader_free(struct store_reader *rd)
{
	if (rd != NULL)
		rd->ops->reader_free(rd);
}

enum fs_err
store_delete(struct store *s, const char *pkey)
{
	if (s == NULL)
		return FS_INTERNAL;
	return s->ops->del(s, pkey);
}

char *
store_local_path(struct store *s, const char *pkey)
{
	if (s == NULL)
		return NULL;
	return s->ops->local_path(s, pkey);
}

long long
store_gc_tmp(struct store *s, long long older_than_secs, store_keep_fn keep,
    void *arg)
{
	if (s == NULL)
		return -1;
	return s->ops->gc_tmp(s, older_than_secs, keep, arg);
}

long long
store_gc_orphans(struct store *s, store_keep_fn keep, void *arg)
{
	if (s == NULL)
		return -1;
	if (s->ops->gc_orphans == NULL)
		return 0;
	return s->ops->gc_orphans(s, keep, arg);
}

char *
store_presign_get(struct store *s, const char *pkey, long long expires,
    time_t now)
{
	if (s == NULL || s->ops->presign_get == NULL)
		return NULL;
	return s->ops->presign_get(s, pkey, expires, now);
}

const char *
store_writer_pending(struct store_writer *w)
{
	if (w == NULL)
		return NULL;
	return w->ops->pending(w);
}

enum fs_err
store_writer_check(struct store_writer *w)
{
	if (w == NULL)
		return FS_INTERNAL;
	if (w->ops->check == NULL)
		return FS_OK;
	return w->ops->check(w);
}

void
store_writer_keep(struct store_writer *w)
{
	if (w != NULL)
		w->ops->keep(w);
}

enum fs_err
store_publish(struct store *s, const char *pending, const char *pkey)
{
	if (s == NULL || pending == NULL)
		return FS_INTERNAL;
	return s->ops->publish(s, pending, pkey);
}

enum fs_err
store_drop_tmp(struct store *s, const char *pending)
{
	if (s == NULL || pending == NULL)
		return FS_INTERNAL;
	return s->ops->drop_tmp(s, pending);
}

enum fs_err
store_reader_open_row(struct store *s, const char *pkey, const char *pending,
    long long off, long long len, struct store_reader **rd)
{
	enum fs_err e;

	*rd = NULL;
	if (s == NULL)
		return FS_INTERNAL;
	if (pending != NULL && pending[0] != '\0') {
		e = s->ops->tmp_reader_open(s, pending, off, len, rd);
		if (e != FS_NOT_FOUND)
			return e;
	}
	return s->ops->reader_open(s, pkey, off, len, rd);
}

int
store_walk(struct store *s, store_walk_fn fn, void *arg)
{
	if (s == NULL)
		return -1;
	return s->ops->walk(s, fn, arg);
}

enum fs_err
store_writer_adopt(struct store *s, const char *pkey, int dirfd,
    const char *name, int fd, const unsigned char sha256[CRY_SHA256_LEN],
    long long size, struct store_writer **w)
{
	*w = NULL;
	if (s == NULL || s->ops->adopt == NULL)
		return FS_INTERNAL;
	return s->ops->adopt(s, pkey, dirfd, name, fd, sha256, size, w);
}

int
store_has_asm(struct store *s)
{
	return s != NULL && s->ops->asm_create != NULL;
}

enum fs_err
store_asm_create(struct store *s, char name[33], int *fd)
{
	*fd = -1;
	name[0] = '\0';
	if (!store_has_asm(s))
		return FS_INTERNAL;
	return s->ops->asm_create(s, name, fd);
}

enum fs_err
store_asm_open(struct store *s, const char *name, int *fd)
{
	*fd = -1;
	if (!store_has_asm(s))
		return FS_INTERNAL;
	return s->ops->asm_open(s, name, fd);
}

enum fs_err
store_writer_open_at(struct store *s, int fd, long long off,
    long long len, struct store_writer **w)
{
	*w = NULL;
	if (!store_has_asm(s))
		return FS_INTERNAL;
	return s->ops->writer_at(s, fd, off, len, w);
}

enum fs_err
store_asm_adopt(struct store *s, const char *pkey, const char *name,
    int fd, const unsigned char sha256[CRY_SHA256_LEN], long long size,
    struct store_writer **w)
{
	*w = NULL;
	if (!store_has_asm(s))
		return FS_INTERNAL;
	return s->ops->asm_adopt(s, pkey, name, fd, sha256, size, w);
}

int
store_has_mp(struct store *s)
{
	return s != NULL && s->ops->mp_begin != NULL;
}

enum fs_err
store_mp_begin(struct store *s, char **state)
{
	*state = NULL;
	if (!store_has_mp(s))
		return FS_INTERNAL;
	return s->ops->mp_begin(s, state);
}

enum fs_err
store_mp_part(struct store *s, const char *state, int number, int fd,
    long long off, long long len, char etag[STORE_ETAG_MAX + 1])
{
	if (!store_has_mp(s) || state == NULL || number < 1 ||
	    number > STORE_MP_PARTS || off < 0 || len < 0)
		return FS_INTERNAL;
	return s->ops->mp_part(s, state, number, fd, off, len, etag);
}

enum fs_err
store_mp_complete(struct store *s, const char *state,
    const struct store_part *parts, int n, const char *pkey,
    const unsigned char sha256[CRY_SHA256_LEN], long long size,
    struct store_writer **w)
{
	*w = NULL;
	if (!store_has_mp(s) || state == NULL || n < 1 ||
	    n > STORE_MP_PARTS)
		return FS_INTERNAL;
	return s->ops->mp_complete(s, state, parts, n, pkey, sha256, size, w);
}

enum fs_err
store_mp_abort(struct store *s, const char *state,
    const struct store_part *parts, int n)
{
	if (!store_has_mp(s) || state == NULL || n < 0 || n > STORE_MP_PARTS)
		return FS_INTERNAL;
	return s->ops->mp_abort(s, state, parts, n);
}
