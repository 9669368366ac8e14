/*
 * shastate: a SHA-256 in progress that outlives a request. A tus upload
 * hashes each chunk as it arrives and keeps the state in its row between
 * PATCHes (upload_db.h), so the object's sha256 is known at the last
 * byte without reading the upload again.
 *
 * The state is text (SHASTATE_LEN characters): the hash words, bit count
 * and buffered block of the running SHA-256, each a 32-bit word in hex,
 * so it does not depend on the layout of OpenSSL's struct.
 */
#ifndef FS_SHASTATE_H
#define FS_SHASTATE_H

#include <stddef.h>

#include "cry.h"

#define SHASTATE_WORDS	28	/* h[8], Nl, Nh, data[16], num, md_len */
#define SHASTATE_LEN	(3 + 8 * SHASTATE_WORDS)	/* "s1:" and words */

struct shastate;

/*
 * A hash resumed from text (NULL: a fresh one), malloc'd (shastate_free);
 * NULL when out of memory or text is not a state we wrote.
 */
struct shastate	*shastate_new(const char *text);
void		 shastate_update(struct shastate *h, const void *buf,
		    size_t len);
/* The state as text, NUL-terminated. */
void		 shastate_save(const struct shastate *h,
		    char text[SHASTATE_LEN + 1]);
/* The digest of what went in so far (h itself goes on unchanged). */
void		 shastate_digest(const struct shastate *h,
		    unsigned char out[CRY_SHA256_LEN]);
void		 shastate_free(struct shastate *h);

#endif
