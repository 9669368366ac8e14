/*
 * publish: the write path of a storage object, shared by the REST PUT
 * (cgi-bin/put.c), tus uploads (common/upload.c) and the S3 endpoint
 * (cgi-bin/s3.c), so that every door
 * publish the same way (DESIGN §5, docs/decisions.md "Publish and
 * delete"): stream the body to a store writer with bounded memory, then
 * commit the row naming the temporary object under the write lock with
 * the permission checks again, then publish. Nothing HTTP-specific is
 * answered here: the callers answer in their own error dialect.
 */
#ifndef FS_PUBLISH_H
#define FS_PUBLISH_H

#include <sys/types.h>

#include "app.h"

struct pub {
	/* Set by the caller before pub_body; only the first four are
	   required, the rest may stay zero. */
	struct app		*a;
	const struct principal	*p;
	const char		*pkey;	/* physical key */
	const char		*ctype;	/* Content-Type to store */
	/* The body: default http_read(r, ...). Up to len bytes, 0 at the
	   end, -1 on error (FS_BAD_REQUEST; the reader keeps why). */
	ssize_t		(*read)(void *arg, void *buf, size_t len);
	void		*read_arg;
	/* Sees every byte written, in order (in the relay's thread). */
	void		(*tap)(void *arg, const void *buf, size_t len);
	void		*tap_arg;
	/* After store_finish, before the transaction: may refuse the
	   body (e.g. a signed payload hash that does not match). */
	enum fs_err	(*check)(void *arg, const unsigned char *sha256,
			    long long size);
	const char	*folder_id;	/* put the file in it (tus), or NULL */
	/* Inside the transaction, after the row is written. */
	enum fs_err	(*in_txn)(void *arg, struct db *db, const char *pkey);
	void		*hook_arg;	/* for check and in_txn */
	/* Results. */
	int		 exists;	/* the key had a row */
	const char	*msg;		/* a reason for FS_FORBIDDEN, or FS_VALIDATION
				   (a folder gone); static */
};

/*
 * What may u->p do to u->pkey? FS_OK with u->exists set, FS_FORBIDDEN
 * with u->msg, FS_INTERNAL. size: the body's, -1 when unknown.
 */
enum fs_err	 pub_may_write(struct pub *u, long long size);
/*
 * Copy the body of r to w, counting it in *total: FS_OK, FS_BAD_REQUEST
 * (short body, or the reader failed), FS_TOO_LARGE (over
 * MAX_UPLOAD_BYTES), or the store's error.
 */
enum fs_err	 pub_body(struct pub *u, struct request *r,
		    struct store_writer *w, long long *total);
/*
 * Finish w, check, commit its row and publish (past the commit, a failed
 * publish is left to recovery and still FS_OK). On an error the old row
 * and object stay; u->msg may say why.
 */
enum fs_err	 pub_record(struct pub *u, struct store_writer *w);
/*
 * Delete the row of pkey, then its object (the caller has checked the
 * permission). FS_OK once the row is gone (an object left behind is
 * logged, for filestorctl gc), or the database's error.
 */
enum fs_err	 pub_remove(struct app *a, const char *pkey);
/* What to tell a client about a failed write or publish (static). */
const char	*pub_write_msg(enum fs_err e);

/*
 * The Content-Type to store for ct (a request's header, or NULL): the
 * default for none or "*\/\*", else ct when it is a valid type/subtype;
 * NULL with *msg when it is not (422).
 */
const char	*pub_content_type(const char *ct, const char **msg);

#endif
