/*
 * upload_db: the uploads table (sql/0007-uploads.sql): the state of the
 * tus uploads in progress (upload.h drives them). It knows nothing of
 * HTTP or of where the bytes are.
 */
#ifndef FS_UPLOAD_DB_H
#define FS_UPLOAD_DB_H

#include "db.h"

#include "err.h"
#include "files.h"
#include "principal.h"
#include "store.h"

#define UPLOAD_ID_LEN	32	/* lower-case hex of 16 random bytes */

struct upload_row {
	char		 id[UPLOAD_ID_LEN + 1];
	char		 tenant_id[37];
	char		 creator_id[37];
	char		*key;		/* physical key, malloc'd */
	long long	 length;	/* -1: deferred (not said yet) */
	long long	 offset;	/* bytes durable */
	long long	 expires_at;	/* epoch seconds */
	char		*metadata;	/* Upload-Metadata as sent, malloc'd */
	char		 content_type[FILES_CTYPE_MAX + 1];
	char		 folder_id[37];	/* "" for none */
	char		*store_state;	/* malloc'd, or NULL for none */
	long long	 created_at;
	char		*sha_state;	/* shastate.h text, malloc'd, or NULL */
	int		 nparts;	/* parts sent (upload_parts) */
	long long	 parts_bytes;	/* their bytes: the stage's start */
	char		*stage_host;	/* the stage's host, malloc'd; NULL:
					   the one with the stage file */
	char		*part_sha;	/* sha_state at parts_bytes (the last
					   part's), malloc'd, or NULL */
};

/* 1 when s looks like an upload id (UPLOAD_ID_LEN lower-case hex). */
int		 upload_id_ok(const char *s);
/* Insert u (all of it). FS_OK, FS_NO_SPACE or FS_INTERNAL. */
enum fs_err	 upload_insert(struct db *db, const struct upload_row *u);
/*
 * Load upload id into u when p (its tenant and creator) owns it; with p
 * NULL whoever owns it (gc). FS_OK, FS_NOT_FOUND (missing or someone
 * else's: the same answer, DESIGN §3) or FS_INTERNAL. Free u with
 * upload_row_free (also after an error).
 */
enum fs_err	 upload_load(struct db *db, const char *id,
		    const struct principal *p, struct upload_row *u);
void		 upload_row_free(struct upload_row *u);
/*
 * Changes by host, which holds the stage (sql/0013): each is FS_CONFLICT
 * when the row is gone or another host took the upload over meanwhile.
 *
 * upload_advance records progress from offset from: the new offset, the
 * running hash of the bytes up to it (sha_state, NULL: none) and
 * expires_at; FS_CONFLICT also when the offset is no longer from.
 */
enum fs_err	 upload_advance(struct db *db, const char *id,
		    const char *host, long long from, long long offset,
		    const char *sha_state, long long expires_at);
/* Name the store's multipart upload (store_mp_begin's state), once. */
enum fs_err	 upload_set_store_state(struct db *db, const char *id,
		    const char *host, const char *state);
/*
 * Record a part sent (replacing one of that number), with the running
 * hash at its end (sha_state, NULL: none).
 */
enum fs_err	 upload_part_add(struct db *db, const char *id,
		    const char *host, const struct store_part *p,
		    const char *sha_state);
/*
 * Make host the upload's stage host, back at the end of its parts with
 * the hash there, when its offset is still from: the bytes after the
 * parts were on the stage of the host before. FS_OK, FS_CONFLICT (gone,
 * or moved meanwhile), FS_NO_SPACE or FS_INTERNAL.
 */
enum fs_err	 upload_take_over(struct db *db, const char *id,
		    const char *host, long long from);
/* The parts of id by number, malloc'd into *parts (caller frees). */
enum fs_err	 upload_parts(struct db *db, const char *id,
		    struct store_part **parts, int *n);
/* Set the length of a deferred upload. */
enum fs_err	 upload_set_length(struct db *db, const char *id,
		    long long length);
/* Delete the row; a missing one is FS_OK. */
enum fs_err	 upload_delete(struct db *db, const char *id);
/*
 * Copy into ids (up to max ids) those of uploads expired at now. The
 * count, or -1.
 */
int		 upload_expired(struct db *db, long long now,
		    char ids[][UPLOAD_ID_LEN + 1], int max);
/* 1 when a row for id exists, 0 when not, -1 on error. */
int		 upload_exists(struct db *db, const char *id);

#endif
