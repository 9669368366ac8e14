/*
 * agent_http: the permission checks of a read of agent files (DESIGN
 * §9), shared by file-content (downloads) and agents (listings through
 * the WS relay): see agent_http.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_http.h"
#include "app.h"
#include "perm.h"

int
agent_read_allowed(struct app *a, struct request *r, const struct principal *p,
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
			app_log(a, "agent load: %s", db_errmsg(a->db));
		http_error(r, e, e == FS_NOT_FOUND ? "no such agent" : NULL);
		goto out;
	}
	rc = perm_row_allowed(a->db, PERM_AGENT_FILES, cells, nitems(cells),
	    &cond);
	if (rc == -1) {
		app_log(a, "condition: %s", db_errmsg(a->db));
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
	/* "" (the roots themselves, a listing) is in no root. */
	if (path[0] != '\0' && agent_roots_find(roots, nroots, path) == -1) {
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

