/*
 * list: GET /api/storage?prefix=&limit=&cursor= (DESIGN §5). Only rows
 * the caller may read, filtered in SQL by the compiled read condition.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>
#include <uninorm.h>

#include "app.h"
#include "cry.h"
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

static void
h_list(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	struct perm_sql cond;
	struct perm_vars v;
	struct file_row f;
	sqlite3_stmt *st = NULL;
	cJSON *j = NULL, *items;
	const struct http_param *pp, *lp, *cp;
	unsigned char *after = NULL;
	char *prefix = NULL, *next = NULL;
	const char *msg, *last = NULL;
	long long limit = FILES_LIST_DEFAULT;
	size_t i, alen = 0;
	int rc, n = 0, have_cond = 0;

	memset(&f, 0, sizeof(f));
	for (i = 0; i < r->nparams; i++) {
		const char *nm = r->params[i].name;
		if (strcmp(nm, "prefix") != 0 && strcmp(nm, "limit") != 0 &&
		    strcmp(nm, "cursor") != 0) {
			http_error(r, FS_VALIDATION, "unknown parameter "
			    "\"%.64s\"", nm);
			return;
		}
	}
	lp = http_param(r, "limit");
	if (lp != NULL && http_parse_ll(lp->value, 1, FILES_LIST_MAX,
	    &limit) == -1) {
		http_error(r, FS_VALIDATION, "limit must be an integer from 1 "
		    "to %d", FILES_LIST_MAX);
		return;
	}
	pp = http_param(r, "prefix");
	if (pp != NULL && pp->value_len > 0) {
		prefix = prefix_check(pp, &msg);
		if (prefix == NULL) {
			http_error(r, FS_VALIDATION, "%s", msg);
			return;
		}
	}
	cp = http_param(r, "cursor");
	if (cp != NULL && cp->value_len > 0) {
		char *valid = NULL;
		const char *kmsg;

		/* The cursor is the last key of the previous page. */
		after = cry_b64u_decode(cp->value, cp->value_len, &alen);
		if (after == NULL || key_validate((char *)after, alen, &valid,
		    &kmsg) == -1 || strcmp(valid, (char *)after) != 0) {
			free(valid);
			http_error(r, FS_VALIDATION, "cursor is not one this "
			    "API returned");
			goto out;
		}
		free(valid);
	}

	v.user_id = p->user_id;
	v.tenant_id = p->tenant_id;
	rc = perm_lookup(a->db, p->role_id, PERM_FILES, PERM_READ, &v, &cond);
	if (rc == -1)
		goto internal;
	j = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(j, "items");
	if (rc == 0) {
		/* No read permission at all: an empty list, not an error. */
		cJSON_AddNullToObject(j, "nextCursor");
		http_add_header(r, "Cache-Control", "private, no-store");
		http_json(r, 200, j);
		goto out;
	}
	have_cond = 1;
	st = file_list_stmt(a->db, p->tenant_id, prefix != NULL ? prefix : "",
	    after != NULL ? (char *)after : "", &cond, (int)limit);
	if (st == NULL)
		goto internal;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *it;

		if (n == limit && last != NULL) {
			/* One row more than asked: there is a next page. */
			next = cry_b64u_encode(last, strlen(last));
			break;
		}
		file_row_free(&f);
		if (file_row_from_stmt(st, &f) == -1)
			goto internal;
		it = file_json(&f);
		cJSON_AddItemToArray(items, it);
		last = cJSON_GetObjectItem(it, "key")->valuestring;
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto internal;
	if (next != NULL)
		cJSON_AddStringToObject(j, "nextCursor", next);
	else
		cJSON_AddNullToObject(j, "nextCursor");
	http_add_header(r, "Cache-Control", "private, no-store");
	http_json(r, 200, j);
	goto out;
internal:
	app_log(a, "list: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	if (have_cond)
		perm_sql_free(&cond);
	sqlite3_finalize(st);
	file_row_free(&f);
	cJSON_Delete(j);
	free(prefix);
	free(after);
	free(next);
}

static const app_handler serve[ROUTE__MAX] = {
	[ROUTE_LIST] = h_list,
};

int
main(int argc, char *argv[])
{
	return app_main("list", argc, argv, serve, 0);
}
