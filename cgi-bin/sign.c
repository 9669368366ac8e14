/*
 * sign: POST /api/storage/<key>/sign {"ttlSeconds"?: 60..86400} ->
 * {"url","expiresAt"} (DESIGN §6). The claims come only from the row the
 * caller may read and the clock; no request field becomes a claim.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "db.h"
#include "target.h"
#include "tok.h"

#define SIGN_SUFFIX	"/sign"
#define SIGN_BODY_MAX	(4 * 1024)
#define TTL_MIN		60
#define TTL_MAX		86400
#define TTL_DEFAULT	3600

static void
h_sign(struct app *a, struct request *r, const struct app_caller *c)
{
	static const char *const allowed[] = { "ttlSeconds", NULL };
	struct target *t = NULL;
	cJSON *body = NULL, *j = NULL;
	const cJSON *it;
	char *tok = NULL, *path = NULL;
	char *url = NULL;
	long long ttl = TTL_DEFAULT, exp;
	size_t n;

	/* The route's pattern ends in SIGN_SUFFIX. */
	n = strlen(SIGN_SUFFIX);
	t = target_open(a, r, &c->p, n);
	if (t == NULL)
		return;
	/* An empty body means the default lifetime. */
	if (r->content_length != 0) {
		body = api_body(r, SIGN_BODY_MAX, 0, allowed,
		    "; only ttlSeconds is accepted");
		if (body == NULL)
			goto out;
		it = cJSON_GetObjectItemCaseSensitive(body, "ttlSeconds");
		if (it != NULL && (!cJSON_IsNumber(it) || it->valuedouble !=
		    floor(it->valuedouble) || it->valuedouble < TTL_MIN ||
		    it->valuedouble > TTL_MAX)) {
			http_error(r, FS_VALIDATION, "ttlSeconds must be an "
			    "integer from %d to %d", TTL_MIN, TTL_MAX);
			goto out;
		}
		if (it != NULL)
			ttl = (long long)it->valuedouble;
	}
	exp = db_now() + ttl;
	tok = tok_storage_sign(a->tok_key, t->pkey, t->p.tenant_id, exp);
	path = target_url_path(t->logical);
	if (tok == NULL || path == NULL)
		goto internal;
	n = strlen("/api/storage/") + strlen(path) + strlen("?token=") +
	    strlen(tok) + 1;
	url = malloc(n);
	if (url == NULL)
		goto internal;
	snprintf(url, n, "/api/storage/%s?token=%s", path, tok);
	j = api_url_json(url, exp);
	if (j == NULL)
		goto internal;
	api_nostore_json(r, 200, j);
	goto out;
internal:
	http_error(r, FS_INTERNAL, NULL);
out:
	cJSON_Delete(body);
	cJSON_Delete(j);
	target_free(t);
	free(tok);
	free(path);
	free(url);
}

APP_MAIN("sign", 0,
    [ROUTE_SIGN] = h_sign)
