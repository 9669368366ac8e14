/*
 * api: JSON bodies with known members, and paged lists.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cry.h"
#include "db.h"

cJSON *
api_body(struct request *r, size_t max, int empty_ok,
    const char *const *allowed, const char *hint)
{
	cJSON *body = NULL;
	const cJSON *it;
	const char *const *p;
	const char *msg = NULL;
	enum fs_err e;

	if (empty_ok && r->content_length <= 0) {
		body = cJSON_CreateObject();
		if (body == NULL)
			http_error(r, FS_INTERNAL, NULL);
		return body;
	}
	e = http_read_json(r, max, &body, &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
		return NULL;
	}
	cJSON_ArrayForEach(it, body) {
		for (p = allowed; *p != NULL; p++)
			if (strcmp(it->string, *p) == 0)
				break;
		if (*p == NULL) {
			http_error(r, FS_VALIDATION, "unknown field \"%.64s\"%s",
			    it->string, hint);
			cJSON_Delete(body);
			return NULL;
		}
	}
	return body;
}

static int
named(const char *name, const char *const *names)
{
	for (; names != NULL && *names != NULL; names++)
		if (strcmp(name, *names) == 0)
			return 1;
	return 0;
}

int
api_page_params(struct request *r, const char *const *also, long long max,
    long long dflt, long long *limit)
{
	static const char *const paging[] = { "limit", "cursor", NULL };
	const struct http_param *lp;
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (!named(r->params[i].name, paging) &&
		    !named(r->params[i].name, also)) {
			http_error(r, FS_VALIDATION, "unknown parameter "
			    "\"%.64s\"", r->params[i].name);
			return 0;
		}
	*limit = dflt;
	lp = http_param(r, "limit");
	if (lp != NULL && http_parse_ll(lp->value, 1, max, limit) == -1) {
		http_error(r, FS_VALIDATION, "limit must be an integer from 1 "
		    "to %lld", max);
		return 0;
	}
	return 1;
}

int
api_page_cursor(struct request *r, unsigned char **out, size_t *len)
{
	const struct http_param *cp = http_param(r, "cursor");

	*out = NULL;
	*len = 0;
	if (cp == NULL || cp->value_len == 0)
		return 1;
	*out = cry_b64u_decode(cp->value, cp->value_len, len);
	if (*out == NULL) {
		api_page_bad_cursor(r);
		return 0;
	}
	return 1;
}

void
api_page_bad_cursor(struct request *r)
{
	http_error(r, FS_VALIDATION, "cursor is not one this API returned");
}

void
api_page_reply(struct request *r, cJSON *j, const char *last)
{
	char *next = NULL;

	if (last != NULL)
		next = cry_b64u_encode(last, strlen(last));
	if (next != NULL)
		cJSON_AddStringToObject(j, "nextCursor", next);
	else
		cJSON_AddNullToObject(j, "nextCursor");
	free(next);
	http_add_header(r, "Cache-Control", "private, no-store");
	http_json(r, 200, j);
}

int
api_nostore_json(struct request *r, int status, const cJSON *j)
{
	http_add_header(r, "Cache-Control", "no-store");
	return http_json(r, status, j);
}

cJSON *
api_url_json(const char *url, long long exp)
{
	char when[32];
	cJSON *j;

	db_iso8601(exp, when);
	j = cJSON_CreateObject();
	if (j == NULL ||
	    cJSON_AddStringToObject(j, "url", url) == NULL ||
	    cJSON_AddStringToObject(j, "expiresAt", when) == NULL) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}
