/*
 * s3mp: the multipart uploads of the S3 endpoint (sql/0008: s3_uploads,
 * s3_parts). A part is a temporary object of the store (store.h), kept
 * by its row (file_pending_kept counts parts) until Complete
 * concatenates the parts into one published object, or Abort drops
 * them. An upload belongs to one tenant and the user who created it.
 */
#ifndef FS_S3MP_H
#define FS_S3MP_H

#include <sqlite3.h>

#include "err.h"
#include "files.h"

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
};

struct s3mp_part {
	int		 number;
	long long	 size;
	char		 md5[33];	/* hex */
	char		 pending[FILES_PENDING_MAX + 1];
	long long	 created_at;
};

/* A new upload: FS_OK with id, or FS_INTERNAL / FS_NO_SPACE. */
enum fs_err	 s3mp_create(sqlite3 *db, const char *tenant_id,
		    const char *user_id, const char *pkey, const char *ctype,
		    const char *meta, char id[S3MP_ID_LEN + 1]);
/* The upload id of tenant_id: FS_OK, FS_NOT_FOUND, FS_INTERNAL. */
enum fs_err	 s3mp_load(sqlite3 *db, const char *tenant_id, const char *id,
		    struct s3mp_upload *u);
void		 s3mp_upload_free(struct s3mp_upload *u);
/*
 * Record part p of upload id, in its own transaction, replacing the part
 * of that number (whose pending name goes to old, "" for none; the caller
 * drops it). FS_NOT_FOUND when the upload is gone.
 */
enum fs_err	 s3mp_part_put(sqlite3 *db, const char *id,
		    const struct s3mp_part *p, char old[FILES_PENDING_MAX + 1]);
/* The parts of id by number, malloc'd into *parts (caller frees). */
enum fs_err	 s3mp_parts(sqlite3 *db, const char *id,
		    struct s3mp_part **parts, size_t *n);
/* Delete the upload and its parts' rows (in the caller's transaction
   when one is open). */
enum fs_err	 s3mp_delete(sqlite3 *db, const char *id);
/*
 * Call fn for each upload of tenant_id (of user_id only, unless NULL)
 * whose key starts with pkey_prefix, by key then creation. 0, or -1.
 */
int		 s3mp_each(sqlite3 *db, const char *tenant_id,
		    const char *user_id, const char *pkey_prefix,
		    void (*fn)(void *, const struct s3mp_upload *), void *arg);

#endif
