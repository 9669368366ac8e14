/*
 * store_impl: what an adapter implements behind store.h. Not for callers.
 *
 * Each adapter's store, writer and reader structs begin with the matching
 * base below, whose ops the adapter fills; store.c dispatches through it
 * and answers for NULL handles itself, so adapters never see one.
 */
#ifndef FS_STORE_IMPL_H
#define FS_STORE_IMPL_H

#include <time.h>

#include "store.h"

struct store_ops {
	void		(*close)(struct store *);
	enum fs_err	(*writer_open)(struct store *, const char *,
			    struct store_writer **);
	enum fs_err	(*write)(struct store_writer *, const void *, size_t);
	enum fs_err	(*finish)(struct store_writer *,
			    unsigned char [CRY_SHA256_LEN], long long *);
	/* Publish what finish completed (store.c finishes first). */
	enum fs_err	(*commit)(struct store_writer *);
	void		(*writer_free)(struct store_writer *);
	enum fs_err	(*reader_open)(struct store *, const char *, long long,
			    long long, struct store_reader **);
	ssize_t		(*read)(struct store_reader *, void *, size_t);
	void		(*reader_free)(struct store_reader *);
	enum fs_err	(*del)(struct store *, const char *);
	char		*(*local_path)(struct store *, const char *);
	long long	(*gc_tmp)(struct store *, long long, store_keep_fn,
			    void *);
	/* NULL when the adapter has no use for it. */
	long long	(*gc_orphans)(struct store *, store_keep_fn, void *);
	/* NULL when the adapter has no use for it. */
	void		(*size_hint)(struct store_writer *, long long);
	/* NULL when the adapter cannot presign. */
	char		*(*presign_get)(struct store *, const char *, long long,
			    time_t);
	/* Publish through a row (store.h, "Publish in two steps"). */
	const char	*(*pending)(struct store_writer *);
	void		(*keep)(struct store_writer *);
	/* NULL when the adapter has nothing to check. */
	enum fs_err	(*check)(struct store_writer *);
	enum fs_err	(*publish)(struct store *, const char *,
			    const char *);
	enum fs_err	(*drop_tmp)(struct store *, const char *);
	enum fs_err	(*tmp_reader_open)(struct store *, const char *,
			    long long, long long, struct store_reader **);
	int		(*walk)(struct store *, store_walk_fn, void *);
	/* NULL when the adapter cannot (store.h, adopt and multipart). */
	enum fs_err	(*adopt)(struct store *, const char *, int,
			    const char *, int, const unsigned char *,
			    long long, struct store_writer **);
	enum fs_err	(*asm_create)(struct store *, char *, int *);
	enum fs_err	(*asm_open)(struct store *, const char *, int *);
	enum fs_err	(*writer_at)(struct store *, int, long long,
			    long long, struct store_writer **);
	enum fs_err	(*asm_adopt)(struct store *, const char *,
			    const char *, int, const unsigned char *,
			    long long, struct store_writer **);
	enum fs_err	(*mp_begin)(struct store *, char **);
	enum fs_err	(*mp_part)(struct store *, const char *, int, int,
			    long long, long long, char *);
	enum fs_err	(*mp_complete)(struct store *, const char *,
			    const struct store_part *, int, const char *,
			    const unsigned char *, long long,
			    struct store_writer **);
	enum fs_err	(*mp_abort)(struct store *, const char *,
			    const struct store_part *, int);
};

/*
 * The adapters' second line of defence (key.h validated the logical part
 * before): 1 when pkey is a physical key we could have produced:
 * "tenants/<tid>/<logical>", at most KEY_TENANT_PREFIX_LEN + KEY_MAX
 * bytes, no empty, "." or ".." segment (so no leading, trailing or double
 * '/'), no control byte, DEL or backslash. Else 0, and the adapter
 * answers FS_VALIDATION without touching its backend.
 */
int	store_pkey_ok(const char *pkey);
#define PKEY_MIN_SEGS	3	/* "tenants", tenant id, at least one more */

struct store		{ const struct store_ops *ops; };
struct store_writer	{ const struct store_ops *ops; };
struct store_reader	{ const struct store_ops *ops; };

#endif
