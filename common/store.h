/*
 * store: the storage adapter interface (DESIGN §8). Two adapters: local
 * disk under FILESTOR_DATA_DIR (store_local.c), and an S3-compatible
 * bucket when S3_BUCKET is set (store_s3.c, docs/s3.md). Callers use the
 * functions below whatever the adapter; store.c dispatches.
 *
 * Physical keys ("tenants/<tid>/<key>") are validated by key.h before any
 * adapter sees them. The local adapter still refuses any key it could not
 * have produced (absolute, "..", empty segments) as a second line.
 *
 * Writers stream to a temporary object, made whole and durable by
 * store_finish (disk: fsync the file and .tmp, and the directories the
 * writer made for the key were synced into their parents; S3: the object
 * .tmp/<name> of the bucket), and published under the key by
 * store_publish (disk: rename into place and fsync the directory; S3:
 * copy, then delete the temporary object). A put commits its row naming
 * the temporary object (store_writer_pending) between the two, so that
 * the row always describes the bytes a reader finds (docs/decisions.md,
 * "Publish and delete"). Abort, or a writer freed without commit or keep,
 * leaves nothing behind. The disk adapter keeps temporary files in
 * <data dir>/.tmp, beside tenants/ and unreachable by any physical key;
 * see store_gc_tmp().
 */
#ifndef FS_STORE_H
#define FS_STORE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "cry.h"
#include "err.h"

struct cfg;
struct s3_cfg;

struct store;		/* an adapter instance */
struct store_writer;	/* one upload in progress */
struct store_reader;	/* one download in progress */

/*
 * Open the adapter the configuration chooses: S3 when c->s3.bucket is
 * set, else local disk at c->data_dir. NULL with err on failure.
 */
struct store	*store_open(const struct cfg *c, char *err, size_t errlen);
struct store	*store_open_local(const char *data_dir, char *err, size_t errlen);
struct store	*store_open_s3(const struct s3_cfg *c, char *err, size_t errlen);
void		 store_close(struct store *s);

/*
 * Writer. store_writer_open returns FS_VALIDATION for a key the adapter
 * refuses (disk: also a segment over NAME_MAX bytes), and FS_CONFLICT when
 * the key cannot coexist with an object already stored (disk: "a/b" when
 * "a" is an object, or "a" when "a/..." objects exist); commit can return
 * FS_CONFLICT too, if such an object appeared meanwhile. store_write
 * returns FS_OK, FS_NO_SPACE (ENOSPC, EDQUOT) or FS_INTERNAL; after an
 * error the writer only accepts free. commit publishes and fills sha256
 * and size of what was written (either may be NULL). free without commit
 * aborts. commit is finish then publish, for callers without a row: an
 * error in finish leaves the old object (or none) in place; one in the
 * publish (the directory's fsync after the rename) may leave the new one.
 * finish and commit return FS_NO_SPACE for ENOSPC or EDQUOT from any of
 * their fsyncs, FS_INTERNAL for EIO and the rest.
 * Writers and readers must be freed before their store is closed.
 */
enum fs_err	 store_writer_open(struct store *s, const char *pkey,
		    struct store_writer **w);
/*
 * Optional, before the first write: the body will be exactly size bytes.
 * S3 streams a body above one part straight into its parts instead of
 * buffering them; writing more, or finishing with less, is then an error.
 */
void		 store_writer_size_hint(struct store_writer *w, long long size);
enum fs_err	 store_write(struct store_writer *w, const void *buf, size_t len);
/*
 * Make what was written durable (fsync) and compute its SHA-256 and size,
 * without publishing it. Optional: commit does it when it was not done.
 * Callers that publish under a lock call it first, outside the lock.
 */
enum fs_err	 store_finish(struct store_writer *w,
		    unsigned char sha256[CRY_SHA256_LEN], long long *size);
enum fs_err	 store_commit(struct store_writer *w,
		    unsigned char sha256[CRY_SHA256_LEN], long long *size);
void		 store_writer_free(struct store_writer *w);

/*
 * Publish in two steps, through a row. After store_finish,
 * store_writer_pending names the temporary object (NULL before; the name
 * is short, [0-9a-f]{32}); store_writer_check says, under the caller's
 * lock, whether the publish would be refused (FS_CONFLICT on disk: a
 * directory sits at the key); store_writer_keep, once the row naming it
 * is committed, hands the temporary object to the row (free no longer
 * removes it). store_publish(s, pending, pkey) then puts it under pkey;
 * it is idempotent, and FS_OK when the temporary object is already gone
 * (published before). store_drop_tmp removes a temporary object nobody
 * will publish (its row was superseded or deleted); a missing one is
 * FS_OK. Both run under the database write lock (files.h).
 */
typedef int	(*store_keep_fn)(void *arg, const char *pending);
const char	*store_writer_pending(struct store_writer *w);
enum fs_err	 store_writer_check(struct store_writer *w);
void		 store_writer_keep(struct store_writer *w);
enum fs_err	 store_publish(struct store *s, const char *pending,
		    const char *pkey);
enum fs_err	 store_drop_tmp(struct store *s, const char *pending);

/*
 * Adopt a finished file as a writer (disk only: FS_INTERNAL elsewhere),
 * for uploads staged across requests (upload.h). The file name, in the
 * directory open at dirfd, gets a second name in the temporary area
 * (linkat: the same inode, no copy) and that name is made durable; fd is
 * the caller's open (and flock'd) descriptor of it, which the writer
 * duplicates to hold the lock. The caller vouches for sha256 and size
 * (the file is cut to size when longer; FS_INTERNAL when shorter). Then
 * the writer is as after store_finish: pending, check, keep and publish
 * as any other; the caller still owns name and fd.
 */
enum fs_err	 store_writer_adopt(struct store *s, const char *pkey,
		    int dirfd, const char *name, int fd,
		    const unsigned char sha256[CRY_SHA256_LEN], long long size,
		    struct store_writer **w);

/*
 * Assembly files (disk only; store_has_asm says): one temporary file
 * that the parts of an S3 multipart upload are written into at their
 * final offsets, so that Complete publishes it without copying a byte.
 * store_asm_create makes one (its name, [0-9a-f]{32}, goes to name; fd
 * is its descriptor, holding the upload lock until the caller closes it,
 * after a row names it: the orphan sweep spares a locked file, and gc a
 * file keep keeps). store_asm_open opens it read-write (FS_NOT_FOUND when
 * gone). store_writer_open_at is a writer of up to len bytes into fd at off
 * (more is an error, the range untouched past len): write,
 * finish (fsync, SHA-256 and size of what it wrote) and free, nothing
 * else (no pending, no publish; free leaves the bytes). store_asm_adopt
 * is store_writer_adopt of the assembly file name of the temporary area.
 * The caller serializes writers and Complete with flock(2) on fd.
 */
int		 store_has_asm(struct store *s);
enum fs_err	 store_asm_create(struct store *s, char name[33], int *fd);
enum fs_err	 store_asm_open(struct store *s, const char *name, int *fd);
enum fs_err	 store_writer_open_at(struct store *s, int fd, long long off,
		    long long len, struct store_writer **w);
enum fs_err	 store_asm_adopt(struct store *s, const char *pkey,
		    const char *name, int fd,
		    const unsigned char sha256[CRY_SHA256_LEN], long long size,
		    struct store_writer **w);

/*
 * Multipart uploads that span requests (S3 only; store_has_mp says): tus
 * uploads send each part as soon as it is whole (upload.h).
 * store_mp_begin starts one on a new temporary object; *state (malloc'd,
 * caller frees; printable, under STORE_MP_STATE_MAX bytes) names it for
 * the calls below and is what the caller keeps between requests.
 * store_mp_part sends len bytes of fd from off as part number (1 to
 * STORE_MP_PARTS) and fills its etag; memory stays at the transfer's
 * buffers, whatever len is. store_mp_complete makes the temporary object
 * whole from parts (in number order) and returns a writer as after
 * store_finish, with the caller's sha256 and size, to publish through a
 * row (above). store_mp_abort drops the upload and its parts; an upload
 * already gone is FS_OK. It is given the parts sent: a backend without
 * AbortMultipartUpload (s3rver) gets the upload completed and its object
 * deleted instead.
 */
#define STORE_MP_STATE_MAX	1024
#define STORE_MP_PARTS		10000
#define STORE_ETAG_MAX		128

struct store_part {
	int		 number;
	long long	 size;
	char		 etag[STORE_ETAG_MAX + 1];
};

int		 store_has_mp(struct store *s);
enum fs_err	 store_mp_begin(struct store *s, char **state);
enum fs_err	 store_mp_part(struct store *s, const char *state, int number,
		    int fd, long long off, long long len,
		    char etag[STORE_ETAG_MAX + 1]);
enum fs_err	 store_mp_complete(struct store *s, const char *state,
		    const struct store_part *parts, int n, const char *pkey,
		    const unsigned char sha256[CRY_SHA256_LEN], long long size,
		    struct store_writer **w);
enum fs_err	 store_mp_abort(struct store *s, const char *state,
		    const struct store_part *parts, int n);

/*
 * Reader of [off, off+len) (len -1: to the end). FS_NOT_FOUND when the
 * object is missing, or is not a plain file reachable without a symlink;
 * FS_RANGE for off < 0 or len < -1. A range past the end reads 0 bytes
 * (the caller checks ranges against the row's size first). store_read returns
 * bytes, 0 at the end, -1 on error. A reader keeps reading the version it
 * opened, even if the key is overwritten meanwhile.
 */
enum fs_err	 store_reader_open(struct store *s, const char *pkey,
		    long long off, long long len, struct store_reader **rd);
/*
 * The reader of a row: of its pending object when it has one (pending
 * not NULL or ""), else, or when that object is gone (published since
 * the row was read), of pkey.
 */
enum fs_err	 store_reader_open_row(struct store *s, const char *pkey,
		    const char *pending, long long off, long long len,
		    struct store_reader **rd);
ssize_t		 store_read(struct store_reader *rd, void *buf, size_t len);
void		 store_reader_free(struct store_reader *rd);

/*
 * Delete; a missing object is FS_OK. The disk adapter also removes the
 * directories it leaves empty, up to (not including) tenants/<tid>.
 */
enum fs_err	 store_delete(struct store *s, const char *pkey);
/*
 * Absolute filesystem path of pkey for X-Sendfile, malloc'd (caller
 * frees), or NULL when the adapter has no local file (S3), or when pkey
 * is not a plain file reachable without a symlink (the web server follows
 * symlinks, so it is only handed paths a reader could open).
 */
char		*store_local_path(struct store *s, const char *pkey);

/*
 * Remove the temporary files of uploads that never finished (a worker
 * killed mid-upload leaves one in <data dir>/.tmp). Only files named like
 * ours and not modified for older_than_secs are removed. An upload in
 * progress keeps its file fresh, but a client that stalls longer than the
 * threshold loses its upload (its commit fails), so pick a threshold well
 * above the longest upload, e.g. 86400. Run it from `filestorctl gc` or at
 * worker start. Never removes a temporary object for which keep (may be
 * NULL) returns 1: one a row names as pending. Returns the number of
 * files removed, or -1.
 */
long long	 store_gc_tmp(struct store *s, long long older_than_secs,
		    store_keep_fn keep, void *arg);
/*
 * Remove what uploads of dead processes left (local disk: temp files no
 * live upload holds a lock on), except what keep keeps; every worker does
 * it at start. The count, or -1. Also part of store_gc_tmp.
 */
long long	 store_gc_orphans(struct store *s, store_keep_fn keep,
		    void *arg);

/*
 * Call fn with the physical key of every object stored under tenants/
 * (disk: plain files; never through a symlink), until it returns -1. fn
 * may delete the object it is given. 0, or -1 on failure or when fn
 * stopped. filestorctl gc removes the objects no row names with it.
 */
typedef int	(*store_walk_fn)(void *arg, const char *pkey);
int		 store_walk(struct store *s, store_walk_fn fn, void *arg);

/*
 * A URL that lets its holder GET pkey directly from the backend until
 * now + expires (query-string SigV4 for S3), malloc'd; NULL when the
 * adapter cannot presign (local disk) or on failure. It is a credential:
 * never log it.
 */
char		*store_presign_get(struct store *s, const char *pkey,
		    long long expires, time_t now);

#endif
