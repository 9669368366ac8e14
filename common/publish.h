/*
 * publish: PUT's way of making a finished upload the object under its
 * key (DESIGN §5, docs/decisions.md "Publish and delete"), shared by put
 * and uploads (tus), so that both give the same row fields, sha256,
 * ETag, overwrite and permission rules.
 */
#ifndef FS_PUBLISH_H
#define FS_PUBLISH_H

#include "app.h"

/*
 * May p write pkey (create, or update when a row exists: DESIGN §4)?
 * FS_OK with *exists set, FS_FORBIDDEN with *msg, or FS_INTERNAL.
 */
enum fs_err	 pub_may_write(struct app *a, const struct principal *p,
		    const char *pkey, const char *ctype, long long size,
		    int *exists, const char **msg);

/*
 * Commit the row of the finished upload w, naming its temporary object
 * as pending, in one transaction under the database write lock, with the
 * checks of pub_may_write again: the COMMIT is the point of no return.
 * folder_id, when not NULL, goes in the same transaction (the caller
 * checked it is a folder of p's tenant). On an error the old row and
 * object stay, and *msg may say why. Then the object is published.
 */
enum fs_err	 pub_record(struct app *a, const struct principal *p,
		    const char *pkey, const char *ctype, const char *folder_id,
		    struct store_writer *w, int *exists, const char **msg);

/*
 * The content type to store for ct, the client's (NULL or "": the
 * default, application/octet-stream; "*\/\*" too), or NULL with *msg
 * ("must be ...", to follow the field's name in a 422).
 */
const char	*pub_content_type(const char *ct, const char **msg);

/* What to tell the client about a failed write or publish. */
const char	*pub_write_msg(enum fs_err e);

#endif
