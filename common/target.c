/*
 * target: the file a storage request names, resolved for its caller.
 */
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "target.h"

int
target_key_from_path(struct request *r, const char *prefix, size_t suffix_len,
    const char *tenant_id, char **logical, char **pkey)
{
	size_t plen = strlen(prefix), klen;
	const char *msg = NULL;

	*logical = NULL;
	if (pkey != NULL)
		*pkey = NULL;
	if (r->path_len < plen + suffix_len ||
	    strncmp(r->path, prefix, plen) != 0) {
		http_error(r, FS_VALIDATION, "key must not be empty");
		return 0;
	}
	klen = r->path_len - plen - suffix_len;
	if (key_validate(r->path + plen, klen, logical, &msg) == -1) {
		http_error(r, FS_VALIDATION, "%s", msg);
		return 0;
	}
	if (pkey == NULL)
		return 1;
	*pkey = key_physical(tenant_id, *logical);
	if (*pkey == NULL) {
		free(*logical);
		*logical = NULL;
		http_error(r, FS_INTERNAL, NULL);
		return 0;
	}
	return 1;
}

struct target *
target_open(struct app *a, struct request *r, const struct principal *p,
    size_t suffix_len)
{
	struct target *t;
	enum fs_err e;

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		return NULL;
	}
	t->p = *p;
	if (!target_key_from_path(r, TARGET_PREFIX, suffix_len,
	    t->p.tenant_id, &t->logical, &t->pkey))
		goto fail;
	e = file_load_allowed(a->db, &t->p, PERM_READ, t->pkey, &t->f);
	if (e == FS_NOT_FOUND) {
		/* Unreadable and missing look the same (DESIGN §3). */
		http_error(r, FS_NOT_FOUND, "no such file");
		goto fail;
	}
	if (e == FS_OK)
		return t;
	app_db_error(a, r, "file");
fail:
	target_free(t);
	return NULL;
}

void
target_free(struct target *t)
{
	if (t == NULL)
		return;
	file_row_free(&t->f);
	free(t->logical);
	free(t->pkey);
	free(t);
}

char *
target_url_path(const char *logical)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s;
	char *out, *o;

	out = malloc(strlen(logical) * 3 + 1);
	if (out == NULL)
		return NULL;
	o = out;
	for (s = (const unsigned char *)logical; *s != '\0'; s++) {
		/* RFC 3986 unreserved characters and the path separator. */
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		    *s == '_' || *s == '~' || *s == '/') {
			*o++ = (char)*s;
		} else {
			*o++ = '%';
			*o++ = hex[*s >> 4];
			*o++ = hex[*s & 15];
		}
	}
	*o = '\0';
	return out;
}
