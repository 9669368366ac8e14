/*
 * file-content: GET /api/file/content?agent=<id>&path=<absolute path>
 * (DESIGN §9). The bytes skip the backend: after the checks this answers
 * 302 to a five-minute signed URL at the agent's tunnel origin, and the
 * agent verifies the URL and serves the file itself.
 *
 * Order of the checks, and why:
 *   401  no or bad credentials;
 *   422  agent is not a UUID, path is not absolute and normalized;
 *   403  the role has no agent_files.read at all (before any lookup, so
 *        a caller without it cannot probe agent ids);
 *   404  no such agent in the caller's tenant;
 *   403  the read condition (fields agent_id, path) refuses this pair,
 *        or the path is outside the agent's allowed roots;
 *   409  the tunnel is disabled (the proxied fallback is a later issue);
 *   302  Location built only from the stored origin and our token, never
 *        from request input other than the validated path inside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "api.h"
#include "app.h"
#include "cry.h"
#include "db.h"
#include "perm.h"

/* The agent and path parameters; 0 after answering 422. */
static int
content_params(struct request *r, const struct http_param **pa,
    const struct http_param **pp)
{
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, "agent") != 0 &&
		    strcmp(r->params[i].name, "path") != 0) {
			http_error(r, FS_VALIDATION, "unknown parameter "
			    "\"%.64s\"", r->params[i].name);
			return 0;
		}
	*pa = http_param(r, "agent");
	*pp = http_param(r, "path");
	if (*pa == NULL || strlen((*pa)->value) != (*pa)->value_len ||
	    !cry_is_uuid((*pa)->value)) {
		http_error(r, FS_VALIDATION, "agent must be an agent id (a "
		    "lower-case UUID)");
		return 0;
	}
	if (*pp == NULL || !agent_path_ok((*pp)->value, (*pp)->value_len)) {
		http_error(r, FS_VALIDATION, "path must be absolute and "
		    "normalized: no \"..\", \".\", \"//\", trailing \"/\", "
		    "control bytes or backslash, at most %d bytes of UTF-8",
		    AGENT_PATH_MAX);
		return 0;
	}
	return 1;
}

/*
 * The 403/404 checks, in the order above: the row of agent id (row,
 * caller frees) when p may read path on it; else 0 after answering.
 */
static int
content_allowed(struct app *a, struct request *r, const struct principal *p,
    const char *id, const char *path, struct agent_row *row)
{
	struct perm_sql cond;
	struct perm_vars v = { p->user_id, p->tenant_id };
	const struct perm_cell cells[] = {
		{ "agent_id", id, 0, 0 },
		{ "path", path, 0, 0 },
	};
	char **roots = NULL, err[256];
	cJSON *jroots = NULL;
	size_t nroots = 0;
	enum fs_err e;
	int rc, ok = 0;

	rc = perm_lookup(a->db, p->role_id, PERM_AGENT_FILES, PERM_READ, &v,
	    &cond);
	if (rc == -1) {
		app_db_error(a, r, "perm lookup");
		return 0;
	}
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "your role may not read agent "
		    "files (agent_files.read)");
		return 0;
	}
	e = agent_load(a->db, p->tenant_id, id, row);
	if (e != FS_OK) {
		if (e == FS_INTERNAL)
			app_log(a, "agent load: %s", sqlite3_errmsg(a->db));
		http_error(r, e, e == FS_NOT_FOUND ? "no such agent" : NULL);
		goto out;
	}
	rc = perm_row_allowed(a->db, PERM_AGENT_FILES, cells, nitems(cells),
	    &cond);
	if (rc == -1) {
		app_log(a, "condition: %s", sqlite3_errmsg(a->db));
		goto internal;
	}
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "your role may not read this path "
		    "on this agent");
		goto out;
	}
	jroots = cJSON_Parse(row->roots_json);
	if (agent_roots_parse(jroots, &roots, &nroots, err,
	    sizeof(err)) == -1) {
		app_log(a, "agent %s: stored roots: %s", row->id, err);
		goto internal;
	}
	if (agent_roots_find(roots, nroots, path) == -1) {
		http_error(r, FS_FORBIDDEN, "path not allowed: it is outside "
		    "the agent's allowed roots");
		goto out;
	}
	ok = 1;
	goto out;
internal:
	http_error(r, FS_INTERNAL, NULL);
out:
	perm_sql_free(&cond);
	agent_roots_free(roots, nroots);
	cJSON_Delete(jroots);
	return ok;
}

/*
 * The signed URL at the tunnel origin of row for path (malloc'd), valid
 * until *exp; NULL after answering 409 or 500.
 */
static char *
content_url(struct app *a, struct request *r, const struct agent_row *row,
    const char *path, long long *exp)
{
	unsigned char key[AGENT_KEY_LEN];
	char norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX], err[256];
	char *tok = NULL, *url = NULL;
	size_t n;

	if (!row->enabled || !row->has_key || row->hostname == NULL) {
		http_error(r, FS_CONFLICT, "tunnel is disabled for this agent");
		return NULL;
	}
	if (agent_hostname_parse(row->hostname, norm, origin, err,
	    sizeof(err)) == -1) {
		app_log(a, "agent %s: stored hostname: %s", row->id, err);
		http_error(r, FS_INTERNAL, NULL);
		return NULL;
	}
	if (agent_key_open(a->agent_kek, row->id, row->sealed, sizeof(row->sealed),
	    key) == -1) {
		/* Most likely AUTH_SECRET changed since the key was made. */
		app_log(a, "agent %s: tunnel key does not decrypt", row->id);
		http_error(r, FS_CONFLICT, "the tunnel key of this agent cannot "
		    "be read (was AUTH_SECRET changed?): rotate the key");
		goto out;
	}
	*exp = db_now() + AGENT_TOKEN_TTL;
	tok = agent_tok_sign(key, path, row->id, *exp);
	n = tok != NULL ? strlen(origin) + strlen("/content?token=") +
	    strlen(tok) + 1 : 0;
	url = tok != NULL ? malloc(n) : NULL;
	if (url == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	/* The token is base64url and '.', so it needs no escaping. */
	snprintf(url, n, "%s/content?token=%s", origin, tok);
out:
	cry_wipe(key, sizeof(key));
	free(tok);
	return url;
}

static void
h_content(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	struct agent_row row;
	const struct http_param *pa, *pp;
	char *url = NULL;
	cJSON *j = NULL;
	long long exp;

	memset(&row, 0, sizeof(row));
	if (!content_params(r, &pa, &pp) ||
	    !content_allowed(a, r, p, pa->value, pp->value, &row))
		goto out;
	url = content_url(a, r, &row, pp->value, &exp);
	if (url == NULL)
		goto out;
	/*
	 * A small JSON body too, for fetch() callers that follow redirects
	 * manually and cannot read Location from an opaque response.
	 */
	j = api_url_json(url, exp);
	if (j == NULL || http_add_header(r, "Location", url) == -1)
		goto internal;
	/* The URL is a credential for five minutes: no cache keeps it. */
	http_add_header(r, "Cache-Control", "no-store");
	http_add_header(r, "Referrer-Policy", "no-referrer");
	http_json(r, 302, j);
	goto out;
internal:
	http_error(r, FS_INTERNAL, NULL);
out:
	cJSON_Delete(j);
	agent_row_free(&row);
	free(url);
}

APP_MAIN("file-content", 0,
    [ROUTE_FILE_CONTENT] = h_content)
