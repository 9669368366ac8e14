/*
 * target: the file a storage request names (/api/storage/<key>[suffix]),
 * resolved for its caller. This is the HTTP side of the files table: it
 * answers the request itself when the target cannot be had; files.h holds
 * the rows and knows nothing of requests.
 */
#ifndef FS_TARGET_H
#define FS_TARGET_H

#include <stddef.h>

#include "app.h"
#include "files.h"

#define TARGET_PREFIX	"/api/storage/"

struct target {
	struct principal p;		/* the caller (a copy) */
	char		*logical;	/* logical key, NFC, malloc'd */
	char		*pkey;		/* physical key, malloc'd */
	struct file_row	 f;		/* its row */
};

/*
 * Load the row of the key in the path (before its last suffix_len bytes)
 * that the caller p (resolved by app_dispatch) may read. Returns the
 * target, which the caller frees with target_free(), or NULL after
 * answering 404 (unreadable and missing look the same, DESIGN §3), 422
 * or 500.
 */
struct target	*target_open(struct app *a, struct request *r,
		    const struct principal *p, size_t suffix_len);
/* Free t and everything in it; NULL is harmless. */
void		 target_free(struct target *t);

/*
 * The logical key from the request path after prefix, validated and in
 * NFC (malloc'd into *logical), and its physical form for tenant_id
 * (malloc'd into *pkey; skipped when pkey is NULL). On failure answers
 * the request (422, 500) and returns 0.
 */
int		 target_key_from_path(struct request *r, const char *prefix,
		    size_t suffix_len, const char *tenant_id, char **logical,
		    char **pkey);

/* Percent-encode a logical key for a URL path (keeps '/'). malloc'd. */
char		*target_url_path(const char *logical);

#endif
