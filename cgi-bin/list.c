/*
 * list: GET /api/storage?prefix=&limit=&cursor= (DESIGN §5). Only rows
 * the caller may read, filtered in SQL by the compiled read condition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>
#include <uninorm.h>

#include "api.h"
#include "app.h"
#include "files.h"
#include "key.h"

/*
 * A prefix is a leading part of a logical key, so it may end in "/" or
 * in the middle of a segment; it gets the byte rules of a key (UTF-8,
 * NFC, no control bytes or backslash, not under "tenants/") but not the
 * segment rules. Returns the NFC form (malloc'd) or NULL with *msg.
 */
static char *
prefix_check(const struct http_param *p, const char **msg)
{
	const uint8_t *s = (const uint8_t *)p->value;
	uint8_t *nfc, *grown;
	size_t i, n = 0;

	*msg = "prefix must be valid UTF-8 without control characters or "
	    "backslashes, at most 1024 bytes";
	if (p->value_len > KEY_MAX || u8_check(s, p->value_len) != NULL)
		return NULL;
	for (i = 0; i < p->value_len; i++)
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\')
			return NULL;
	nfc = u8_normalize(UNINORM_NFC, s, p->value_len, NULL, &n);
	if (nfc == NULL || n > KEY_MAX) {
		free(nfc);
		return NULL;
	}
	grown = realloc(nfc, n + 1);	/* room for the NUL */
	if (grown == NULL) {
		free(nfc);
		return NULL;
	}
	nfc = grown;
	nfc[n] = '\0';
	if (strncmp((char *)nfc, "tenants/", 8) == 0) {
		*msg = "prefix must not start with tenants/";
		free(nfc);
		return NULL;
	}
	return (char *)nfc;
}

/*
 * The cursor: the last key of the previous page, which must be a valid
 * logical key as it stands. NULL (and *ok = 1) when there is none;
 * *ok = 0 after answering 422.
 */
static unsigned char *
page_after(struct request *r, int *ok)
{
	unsigned char *after = NULL;
	char *valid = NULL;
	const char *kmsg;
	size_t alen;

	*ok = api_page_cursor(r, &after, &alen);
	if (after == NULL)
		return NULL;
	if (key_validate((char *)after, alen, &valid, &kmsg) == -1 ||
	    strcmp(valid, (char *)after) != 0) {
		api_page_bad_cursor(r);
		free(after);
		after = NULL;
		*ok = 0;
	}
	free(valid);
	return after;
}

static void
h_list(struct app *a, struct request *r, const struct app_caller *c)
{
	static const char *const also[] = { "prefix", NULL };
	const struct principal *p = &c->p;
	cJSON *j = NULL, *items;
	const struct http_param *pp;
	unsigned char *after = NULL;
	char *prefix = NULL;
	const char *msg, *last = NULL;
	long long limit;
	int ok, more;

	if (!api_page_params(r, also, FILES_LIST_MAX, FILES_LIST_DEFAULT,
	    &limit))
		return;
	pp = http_param(r, "prefix");
	if (pp != NULL && pp->value_len > 0) {
		prefix = prefix_check(pp, &msg);
		if (prefix == NULL) {
			http_error(r, FS_VALIDATION, "%s", msg);
			return;
		}
	}
	after = page_after(r, &ok);
	if (!ok)
		goto out;
	j = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(j, "items");
	more = file_page(a->db, p, prefix != NULL ? prefix : "",
	    after != NULL ? (char *)after : "", (int)limit, items, &last);
	if (more == -1) {
		app_db_error(a, r, "list");
		goto out;
	}
	api_page_reply(r, j, more ? last : NULL);
out:
	cJSON_Delete(j);
	free(prefix);
	free(after);
}

APP_MAIN("list", 0,
    [ROUTE_LIST] = h_list)
