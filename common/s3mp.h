/*
 * s3mp: the multipart uploads of the S3 endpoint (sql/0008: s3_uploads,
 * s3_parts). A part is a temporary object of the store (store.h), kept
 * by its row (file_pending_kept counts parts) until Complete
 * concatenates the parts into one published object, or Abort drops
 * them. An upload belongs to one tenant and the user who created it.
 */
#ifndef FS_S3MP_H
#define FS_S3MP_H

#include "db.h"

#include "err.h"
#include "files.h"
#include "shastate.h"

#define S3MP_ID_LEN	32	/* hex */
#define S3MP_PARTS_MAX	10000

struct s3mp_upload {
	char		 id[S3MP_ID_LEN + 1];
	char		 tenant_id[37];
	char		 user_id[37];
	char		*key;		/* physical key, malloc'd */
	char		 ctype[FILES_CTYPE_MAX + 1];
	char		*meta;		/* JSON object or NULL, malloc'd */
	long long	 created_at;
	char		 assembly[FILES_PENDING_MAX + 1];	/* "": none */
	long long	 part_size;	/* of the assembly; 0: not yet */
	/* The SHA-256 of the assembly's first hash_off bytes, in progress
	   (shastate.h); "": none yet. */
	long long	 hash_off;
	char		 hash_state[SHASTATE_LEN + 1];
};

struct s3mp_part {
	int		 number;
	long long	 size;
	char		 md5[33];	/* hex */
	char		 pending[FILES_PENDING_MAX + 1];
	long long	 offset;	/* of its bytes in pending */
	long long	 created_at;
};

/* A new upload (assembly: its assembly file, or NULL): FS_OK with id,
   or FS_INTERNAL / FS_NO_SPACE. */
enum fs_err	 s3mp_create(struct db *db, const char *tenant_id,
		    const char *user_id, const char *pkey, const char *ctype,
		    const char *meta, const char *assembly,
		    char id[S3MP_ID_LEN + 1]);
/* The upload id of tenant_id: FS_OK, FS_NOT_FOUND, FS_INTERNAL. */
enum fs_err	 s3mp_load(struct db *db, const char *tenant_id, const char *id,
		    struct s3mp_upload *u);
void		 s3mp_upload_free(struct s3mp_upload *u);
/*
 * Record part p of upload id, in its own transaction, replacing the part
 * of that number (whose pending name goes to old, "" for none; the caller
 * drops it). FS_NOT_FOUND when the upload is gone.
 */
enum fs_err	 s3mp_part_put(struct db *db, const char *id,
		    const struct s3mp_part *p, char old[FILES_PENDING_MAX + 1]);
/*
 * Claim the range of part number (size bytes) in the assembly file of
 * upload id, in one transaction: the first claim fixes the upload's part
 * size S, and part N goes at (N-1) * S when size <= S. FS_OK with *off
 * and a row (md5 '') that s3mp_part_put replaces or s3mp_unclaim drops;
 * FS_CONFLICT when the part must go to its own object instead (no
 * assembly, larger than S, or part N already has a row: a re-upload
 * never touches bytes a row vouches for); FS_NOT_FOUND when the upload
 * is gone.
 */
enum fs_err	 s3mp_claim(struct db *db, const char *id, int number,
		    long long size, long long *off);
/*
 * Move the hash of upload id's assembly from from_off to off, with
 * state: only if it is still at from_off (another writer may have moved
 * it). FS_OK (moved or not), or FS_INTERNAL.
 */
enum fs_err	 s3mp_hash_set(struct db *db, const char *id, long long from_off,
		    long long off, const char *state);
/* Drop the claim of part number (a write that failed). */
void		 s3mp_unclaim(struct db *db, const char *id, int number);
/*
 * Whether the n parts Complete chose make the assembly file of the
 * upload: parts 1..n, all of size S but the last (no larger), each at
 * (N-1) * S in it or in its own object (a re-upload, which Complete
 * then copies to (N-1) * S: no row names that range any more), and no
 * other part of have (all the upload's parts) in the file past them.
 * 1 with *total (the object's size), or 0.
 */
int		 s3mp_in_place(const struct s3mp_upload *u,
		    struct s3mp_part *const *chosen, size_t n,
		    const struct s3mp_part *have, size_t nhave,
		    long long *total);
/* The parts of id by number (written ones: not claims), malloc'd into
   *parts (caller frees). */
enum fs_err	 s3mp_parts(struct db *db, const char *id,
		    struct s3mp_part **parts, size_t *n);
/* Delete the upload and its parts' rows (in the caller's transaction
   when one is open). */
enum fs_err	 s3mp_delete(struct db *db, const char *id);
/*
 * Call fn for each upload of tenant_id (of user_id only, unless NULL)
 * whose key starts with pkey_prefix, by key then creation. 0, or -1.
 */
int		 s3mp_each(struct db *db, const char *tenant_id,
		    const char *user_id, const char *pkey_prefix,
		    void (*fn)(void *, const struct s3mp_upload *), void *arg);

#endif
