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
#include "app.h"
#include "cry.h"
#include "db.h"
#include "perm.h"

/*
 * The 302 to the agent's tunnel, once the caller may read path there: a
 * five-minute token signed with the agent's key, at the stored origin.
 */
static void
redirect(struct app *a, struct request *r, const struct agent_row *row,
    const char *path)
{
	static unsigned char kek[AGENT_KEY_LEN];
	static int have_kek;
	unsigned char key[AGENT_KEY_LEN];
	char norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX], err[256];
	char *tok = NULL, *url = NULL, when[32];
	cJSON *j = NULL;
	long long exp;
	size_t n;

	if (!row->enabled || !row->has_key || row->hostname == NULL) {
		http_error(r, FS_CONFLICT, "tunnel is disabled for this agent");
		goto out;
	}
	if (agent_hostname_parse(row->hostname, norm, origin, err,
	    sizeof(err)) == -1) {
		app_log(a, "agent %s: stored hostname: %s", row->id, err);
		goto internal;
	}
	/* AUTH_SECRET is fixed for the life of the worker: derive once. */
	if (!have_kek) {
		agent_kek(a->cfg.auth_secret, a->cfg.auth_secret_len, kek);
		have_kek = 1;
	}
	if (agent_key_open(kek, row->id, row->sealed, sizeof(row->sealed),
	    key) == -1) {
		/* Most likely AUTH_SECRET changed since the key was made. */
		app_log(a, "agent %s: tunnel key does not decrypt", row->id);
		http_error(r, FS_CONFLICT, "the tunnel key of this agent cannot "
		    "be read (was AUTH_SECRET changed?): rotate the key");
		goto out;
	}
	exp = db_now() + AGENT_TOKEN_TTL;
	tok = agent_tok_sign(key, path, row->id, exp);
	if (tok == NULL)
		goto internal;
	n = strlen(origin) + strlen("/content?token=") + strlen(tok) + 1;
	url = malloc(n);
	if (url == NULL)
		goto internal;
	/* The token is base64url and '.', so it needs no escaping. */
	snprintf(url, n, "%s/content?token=%s", origin, tok);

	/*
	 * A small JSON body too, for fetch() callers that follow redirects
	 * manually and cannot read Location from an opaque response.
	 */
	db_iso8601(exp, when);
	j = cJSON_CreateObject();
	if (j == NULL)
		goto internal;
	cJSON_AddStringToObject(j, "url", url);
	cJSON_AddStringToObject(j, "expiresAt", when);
	if (http_add_header(r, "Location", url) == -1)
		goto internal;
	/* The URL is a credential for five minutes: no cache keeps it. */
	http_add_header(r, "Cache-Control", "no-store");
	http_add_header(r, "Referrer-Policy", "no-referrer");
	http_json(r, 302, j);
	goto out;
internal:
	http_error(r, FS_INTERNAL, NULL);
out:
	cry_wipe(key, sizeof(key));
	cJSON_Delete(j);
	free(tok);
	free(url);
}

static void
h_content(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	struct perm_sql cond;
	struct perm_vars v;
	struct agent_row row;
	const struct http_param *pa, *pp;
	const char *args[2];
	char **roots = NULL, err[256];
	cJSON *jroots = NULL;
	size_t nroots = 0, i;
	int rc, have_cond = 0;
	enum fs_err e;

	memset(&row, 0, sizeof(row));
	memset(&cond, 0, sizeof(cond));
	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, "agent") != 0 &&
		    strcmp(r->params[i].name, "path") != 0) {
			http_error(r, FS_VALIDATION, "unknown parameter "
			    "\"%.64s\"", r->params[i].name);
			goto out;
		}
	pa = http_param(r, "agent");
	pp = http_param(r, "path");
	if (pa == NULL || strlen(pa->value) != pa->value_len ||
	    !cry_is_uuid(pa->value)) {
		http_error(r, FS_VALIDATION, "agent must be an agent id (a "
		    "lower-case UUID)");
		goto out;
	}
	if (pp == NULL || !agent_path_ok(pp->value, pp->value_len)) {
		http_error(r, FS_VALIDATION, "path must be absolute and "
		    "normalized: no \"..\", \".\", \"//\", trailing \"/\", "
		    "control bytes or backslash, at most %d bytes of UTF-8",
		    AGENT_PATH_MAX);
		goto out;
	}

	v.user_id = p->user_id;
	v.tenant_id = p->tenant_id;
	rc = perm_lookup(a->db, p->role_id, PERM_AGENT_FILES, PERM_READ, &v,
	    &cond);
	if (rc == -1) {
		app_log(a, "perm lookup: %s", sqlite3_errmsg(a->db));
		goto internal;
	}
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "your role may not read agent "
		    "files (agent_files.read)");
		goto out;
	}
	have_cond = 1;

	e = agent_load(a->db, p->tenant_id, pa->value, &row);
	if (e != FS_OK) {
		if (e == FS_INTERNAL)
			app_log(a, "agent load: %s", sqlite3_errmsg(a->db));
		http_error(r, e, e == FS_NOT_FOUND ? "no such agent" : NULL);
		goto out;
	}
	/* "1" (admin, or a grant without a condition) needs no query. */
	args[0] = row.id;
	args[1] = pp->value;
	/* The fragment over a one-row table of the two fields it may name. */
	rc = strcmp(cond.where, "1") == 0 ? 1 : perm_exists(a->db,
	    "(SELECT ?1 AS agent_id, ?2 AS path)", "1", args, 2, &cond);
	if (rc == -1) {
		app_log(a, "condition: %s", sqlite3_errmsg(a->db));
		goto internal;
	}
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "your role may not read this path "
		    "on this agent");
		goto out;
	}

	jroots = cJSON_Parse(row.roots_json);
	if (agent_roots_parse(jroots, &roots, &nroots, err,
	    sizeof(err)) == -1) {
		app_log(a, "agent %s: stored roots: %s", row.id, err);
		goto internal;
	}
	if (agent_roots_find(roots, nroots, pp->value) == -1) {
		http_error(r, FS_FORBIDDEN, "path not allowed: it is outside "
		    "the agent's allowed roots");
		goto out;
	}

	redirect(a, r, &row, pp->value);
	goto out;
internal:
	http_error(r, FS_INTERNAL, NULL);
out:
	if (have_cond)
		perm_sql_free(&cond);
	agent_roots_free(roots, nroots);
	cJSON_Delete(jroots);
	agent_row_free(&row);
}

static const app_handler serve[ROUTE__MAX] = {
	[ROUTE_FILE_CONTENT] = h_content,
};

int
main(int argc, char *argv[])
{
	return app_main("file-content", argc, argv, serve, 0);
}
