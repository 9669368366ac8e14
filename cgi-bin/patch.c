/*
 * patch: PATCH /api/storage/<key> {"acl"?: "public"|"private",
 * "folderId"?: string|null} (DESIGN §5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "cry.h"
#include "db.h"
#include "folder_db.h"
#include "target.h"

#define PATCH_BODY_MAX	(16 * 1024)

static void
h_patch(struct app *a, struct request *r, const struct app_caller *c)
{
	static const char *const allowed[] = { "acl", "folderId", NULL };
	struct target *t;
	cJSON *body = NULL, *j = NULL, *it;
	const cJSON *acl = NULL, *folder = NULL;
	enum fs_err e;
	int rc;

	t = target_open(a, r, &c->p, 0);
	if (t == NULL)
		return;
	body = api_body(r, PATCH_BODY_MAX, 0, allowed,
	    "; only acl and folderId can change");
	if (body == NULL)
		goto out;
	/* The last of a repeated member counts, as it always did. */
	cJSON_ArrayForEach(it, body) {
		if (strcmp(it->string, "acl") == 0)
			acl = it;
		else
			folder = it;
	}
	if (acl == NULL && folder == NULL) {
		http_error(r, FS_VALIDATION, "nothing to change: send acl or "
		    "folderId");
		goto out;
	}
	if (acl != NULL && (!cJSON_IsString(acl) ||
	    (strcmp(acl->valuestring, "public") != 0 &&
	    strcmp(acl->valuestring, "private") != 0))) {
		http_error(r, FS_VALIDATION, "acl must be \"public\" or "
		    "\"private\"");
		goto out;
	}
	if (folder != NULL && !cJSON_IsNull(folder)) {
		if (!cJSON_IsString(folder) || !cry_is_uuid(folder->valuestring)) {
			http_error(r, FS_VALIDATION, "folderId must be a folder "
			    "id or null");
			goto out;
		}
		rc = folder_allowed(a->db, &t->p, PERM_READ, folder->valuestring);
		if (rc == -1)
			goto internal;
		if (rc == 0) {
			http_error(r, FS_VALIDATION, "folderId does not name a "
			    "folder of this tenant");
			goto out;
		}
	}
	rc = file_allowed(a->db, &t->p, PERM_UPDATE, t->pkey);
	if (rc == -1)
		goto internal;
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "not allowed to change this file");
		goto out;
	}
	e = file_patch(a->db, t->pkey, acl != NULL ? acl->valuestring : NULL,
	    folder != NULL, folder != NULL && cJSON_IsString(folder) ?
	    folder->valuestring : NULL);
	if (e == FS_VALIDATION) {
		/* The folder was deleted since folder_allowed saw it. */
		http_error(r, e, "folderId does not name a folder of this "
		    "tenant");
		goto out;
	}
	if (e != FS_OK) {
		app_log(a, "patch: %s", db_errmsg(a->db));
		http_error(r, e, NULL);
		goto out;
	}
	if (acl != NULL)
		app_audit(r, "acl", t->logical, acl->valuestring);
	if (folder != NULL)
		app_audit(r, "folder", t->logical, cJSON_IsString(folder) ?
		    folder->valuestring : "none");
	file_row_free(&t->f);
	if (file_load(a->db, t->pkey, &t->f) != FS_OK)
		goto internal;
	j = file_json(&t->f);
	http_json(r, 200, j);
	goto out;
internal:
	app_db_error(a, r, "patch");
out:
	cJSON_Delete(body);
	cJSON_Delete(j);
	target_free(t);
}

APP_MAIN("patch", 0,
    [ROUTE_PATCH] = h_patch)
