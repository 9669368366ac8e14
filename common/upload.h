/*
 * upload: the bytes of tus uploads in progress, and their end (publish,
 * abort, expiry); the uploads program speaks the protocol over it
 * (docs/uploads.md). Rows are upload_db.h's.
 *
 * The bytes of upload <id> wait in <data dir>/.uploads/<id> (the "stage"),
 * on every adapter: a PATCH appends to it and fsyncs it before the row's
 * offset moves, so the row never claims a byte that is not durable, and
 * bytes past the row's offset (a worker killed mid-PATCH) are cut off by
 * the next PATCH. A request works on an upload only while it holds the
 * stage's flock (LOCK_EX | LOCK_NB): a second request gets FS_CONFLICT
 * rather than interleaving its bytes, and a dead worker's lock goes with
 * its process. The row keeps the running SHA-256 of the bytes (shastate.h).
 *
 * On disk, the stage is the object: at the last byte the disk adapter
 * adopts it (store_writer_adopt, no copy) and it is published exactly as
 * PUT (publish.h). On S3, each S3_PART_BYTES of it goes up as a part of
 * a multipart upload as soon as it is whole (upload_flush) and is punched
 * out of the stage, which so holds less than a part between PATCHes; the
 * last byte sends the rest and completes the multipart upload, which is
 * then published as PUT.
 */
#ifndef FS_UPLOAD_H
#define FS_UPLOAD_H

#include "app.h"
#include "upload_db.h"

#define UPLOAD_DIR	".uploads"
#define UPLOAD_HOST_LEN	16	/* hex: upload_host */

/* upload_stage_open's modes. */
#define STAGE_OPEN	0	/* an existing stage */
#define STAGE_CREATE	1	/* a new one, exclusively */
#define STAGE_TAKE	2	/* this host's, made if missing (a takeover) */

/*
 * Open and lock the stage of id under data_dir, as create says (a STAGE_
 * mode; the directory too when it makes one). The fd, or -1 with *e:
 * FS_CONFLICT (another request holds it), FS_NOT_FOUND (no stage),
 * FS_CONFLICT also for STAGE_CREATE when it exists, FS_NO_SPACE,
 * FS_INTERNAL.
 */
int		 upload_stage_open(const char *data_dir, const char *id,
		    int create, enum fs_err *e);
/*
 * More than one host (docs/scale-out.md): the stage of an upload is on
 * one host, its row's stage_host (upload_host: this host's id, or NULL on
 * error). upload_here: 1 when u's stage is on this host. upload_movable:
 * 1 when another host may take u over (upload_take_over) at the end of
 * its parts: on S3, with the running hash at that point.
 */
const char	*upload_host(const char *data_dir);
int		 upload_here(const char *data_dir, const char *host,
		    const struct upload_row *u);
int		 upload_movable(struct app *a, const struct upload_row *u);
/* Remove the stage of id (its lock holder calls it); missing is fine. */
void		 upload_stage_remove(const char *data_dir, const char *id);

/*
 * On S3, send the whole parts of the stage at fd (locked) of u, whose
 * offset is recorded: each is recorded in u and its row. FS_OK on disk.
 * A failure leaves the bytes on the stage for the next PATCH.
 */
enum fs_err	 upload_flush(struct app *a, struct upload_row *u, int fd);

/*
 * Publish the complete upload u, whose stage is open (and locked) at fd,
 * as PUT would for p: through the store writer the adapter takes it with
 * (above; a row without a running hash is copied through a new writer),
 * then pub_record. FS_OK with *exists (an overwrite), else the error and
 * maybe *msg.
 */
enum fs_err	 upload_publish(struct app *a, const struct principal *p,
		    struct upload_row *u, int fd, int *exists,
		    const char **msg);

/*
 * End upload id for good (termination, expiry): its multipart upload on
 * s, its stage and its row. FS_CONFLICT when a request holds it, else
 * FS_OK, FS_UNAVAILABLE (S3) or FS_INTERNAL.
 */
enum fs_err	 upload_abort(struct db *db, struct store *s,
		    const char *data_dir, const char *id);

/*
 * filestorctl gc: abort the uploads expired at now, and remove stages
 * without a row (older than an hour: a creation in progress makes its
 * stage just before its row). The count removed, or -1.
 */
long long	 upload_gc(struct db *db, struct store *s, const char *data_dir,
		    long long now);

#endif
