/*
 * tus: the pure parsers of the tus 1.0 request headers
 * (https://tus.io/protocols/resumable-upload), for the uploads program.
 */
#ifndef FS_TUS_H
#define FS_TUS_H

#include <stddef.h>

#include "cry.h"

#define TUS_VERSION	"1.0.0"
#define TUS_META_MAX	4000	/* bytes of Upload-Metadata (echoed by HEAD) */

/*
 * Standard base64 with padding (RFC 4648 §4), strictly: a length that is
 * a multiple of 4, at most two '=' at the end, zero trailing bits. A
 * malloc'd buffer (NUL terminated too) and its length, or NULL.
 */
unsigned char	*tus_b64_decode(const char *in, size_t len, size_t *outlen);

/*
 * What Filestor takes from Upload-Metadata ("k1 b64,k2 b64,k3"): key,
 * contentType (or its alias filetype, as tus-js-client and Uppy send it)
 * and folderId, each decoded, malloc'd, NULL when absent. Other keys are
 * checked and ignored (clients send name, filename, relativePath...).
 */
struct tus_meta {
	char	*key;
	char	*ctype;
	char	*folder;
};

/*
 * Parse hdr into m. 0, or -1 with a static message in *msg: a pair that
 * is not "key" or "key base64", a key with a character outside the
 * visible ASCII, a key twice, a value that is not base64 or holds a NUL.
 * Free m with tus_meta_free (also after an error).
 */
int	 tus_meta_parse(const char *hdr, struct tus_meta *m, const char **msg);
void	 tus_meta_free(struct tus_meta *m);

/*
 * Upload-Checksum: "sha256 <base64 of the 32-byte digest>". 0 with the
 * digest, -1 with *msg (the algorithm is not sha256, or the value is
 * malformed: both 400 in tus).
 */
int	 tus_checksum_parse(const char *hdr, unsigned char sha[CRY_SHA256_LEN],
	    const char **msg);

#endif
