/*
 * tus: header parsers (tus.h).
 */
#include <stdlib.h>
#include <string.h>

#include "tus.h"

#define META_KEY_MAX	64

unsigned char *
tus_b64_decode(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out = NULL;
	char *u;
	size_t i, n = len;

	if (len % 4 != 0)
		return NULL;
	while (n > 0 && len - n < 2 && in[n - 1] == '=')
		n--;
	u = malloc(n + 1);
	if (u == NULL)
		return NULL;
	/* Into the base64url alphabet, which cry decodes strictly. */
	for (i = 0; i < n; i++) {
		if (in[i] == '-' || in[i] == '_' || in[i] == '=')
			goto out;
		u[i] = in[i] == '+' ? '-' : in[i] == '/' ? '_' : in[i];
	}
	u[n] = '\0';
	out = cry_b64u_decode(u, n, outlen);
out:
	free(u);
	return out;
}

void
tus_meta_free(struct tus_meta *m)
{
	free(m->key);
	free(m->ctype);
	free(m->folder);
	m->key = m->ctype = m->folder = NULL;
}

/* Where the value of key k goes, or NULL for a key we ignore. */
static char **
meta_slot(struct tus_meta *m, const char *k)
{
	if (strcmp(k, "key") == 0)
		return &m->key;
	if (strcmp(k, "contentType") == 0 || strcmp(k, "filetype") == 0)
		return &m->ctype;
	if (strcmp(k, "folderId") == 0)
		return &m->folder;
	return NULL;
}

/*
 * One pair of len bytes at p: "k" or "k v". 0, or -1 with *msg. seen
 * holds the keys met so far, "\n"-separated, to refuse one twice.
 */
static int
meta_pair(const char *p, size_t len, struct tus_meta *m, char *seen,
    size_t seencap, const char **msg)
{
	char k[META_KEY_MAX + 3], **slot;
	const char *sp;
	size_t klen, i, n, vlen = 0;
	unsigned char *v = NULL;

	sp = memchr(p, ' ', len);
	klen = sp != NULL ? (size_t)(sp - p) : len;
	*msg = "Upload-Metadata: each pair must be a key, a space and a "
	    "base64 value";
	if (klen == 0 || klen > META_KEY_MAX)
		return -1;
	for (i = 0; i < klen; i++)
		if (p[i] <= ' ' || p[i] > '~')
			return -1;
	/* seen is "\nk1\nk2\n...": look for "\nk\n". */
	k[0] = '\n';
	memcpy(k + 1, p, klen);
	k[klen + 1] = '\n';
	k[klen + 2] = '\0';
	if (strstr(seen, k) != NULL) {
		*msg = "Upload-Metadata: a key appears twice";
		return -1;
	}
	n = strlen(seen);
	if (n + klen + 2 > seencap)
		return -1;
	memcpy(seen + n, k + 1, klen + 2);	/* "k\n" and its NUL */
	k[klen + 1] = '\0';
	if (sp != NULL) {
		v = tus_b64_decode(sp + 1, len - klen - 1, &vlen);
		if (v == NULL || memchr(v, '\0', vlen) != NULL) {
			*msg = "Upload-Metadata: a value is not base64 of text";
			free(v);
			return -1;
		}
	}
	slot = meta_slot(m, k + 1);
	if (slot == NULL || *slot != NULL) {
		free(v);
		/* contentType and its alias filetype fill one slot. */
		*msg = "Upload-Metadata: contentType and filetype both given";
		return slot == NULL ? 0 : -1;
	}
	*slot = v != NULL ? (char *)v : strdup("");
	return *slot == NULL ? -1 : 0;
}

int
tus_meta_parse(const char *hdr, struct tus_meta *m, const char **msg)
{
	char seen[TUS_META_MAX + 3] = "\n";
	const char *p = hdr, *c;
	size_t len;

	memset(m, 0, sizeof(*m));
	if (strlen(hdr) > TUS_META_MAX) {
		*msg = "Upload-Metadata is longer than 4000 bytes";
		return -1;
	}
	if (*p == '\0')
		return 0;
	for (;;) {	/* an empty pair (",," or a trailing ",") is refused */
		while (*p == ' ')
			p++;	/* tus-js-client sends ",": tolerate ", " */
		c = strchr(p, ',');
		len = c != NULL ? (size_t)(c - p) : strlen(p);
		if (meta_pair(p, len, m, seen, sizeof(seen), msg) == -1)
			return -1;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return 0;
}

int
tus_checksum_parse(const char *hdr, unsigned char sha[CRY_SHA256_LEN],
    const char **msg)
{
	unsigned char *d;
	size_t n = 0;

	if (strncmp(hdr, "sha256 ", 7) != 0) {
		*msg = "Upload-Checksum: the algorithm must be sha256";
		return -1;
	}
	d = tus_b64_decode(hdr + 7, strlen(hdr + 7), &n);
	if (d == NULL || n != CRY_SHA256_LEN) {
		free(d);
		*msg = "Upload-Checksum: the value must be the base64 of a "
		    "SHA-256 digest";
		return -1;
	}
	memcpy(sha, d, CRY_SHA256_LEN);
	free(d);
	return 0;
}
