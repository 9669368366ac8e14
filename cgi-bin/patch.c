/*
 * patch: PATCH /api/storage/<key> {"acl"?: "public"|"private",
 * "folderId"?: string|null} (DESIGN §5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cry.h"
#include "db.h"
#include "files.h"

#define PATCH_BODY_MAX	(16 * 1024)

static void
h_patch(struct app *a, struct request *r)
{
	struct principal p;
	struct file_row f;
	cJSON *body = NULL, *j = NULL, *it;
	const cJSON *acl = NULL, *folder = NULL;
	char *logical = NULL, *pkey = NULL;
	const char *msg = NULL;
	enum fs_err e;
	int rc;

	if (!file_open_readable(a, r, 0, &p, &logical, &pkey, &f))
		return;
	e = http_read_json(r, PATCH_BODY_MAX, &body, &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
		goto out;
	}
	cJSON_ArrayForEach(it, body) {
		if (strcmp(it->string, "acl") == 0)
			acl = it;
		else if (strcmp(it->string, "folderId") == 0)
			folder = it;
		else {
			http_error(r, FS_VALIDATION, "unknown field \"%.64s\"; "
			    "only acl and folderId can change", it->string);
			goto out;
		}
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
		rc = folder_allowed(a->db, &p, PERM_READ, folder->valuestring);
		if (rc == -1)
			goto internal;
		if (rc == 0) {
			http_error(r, FS_VALIDATION, "folderId does not name a "
			    "folder of this tenant");
			goto out;
		}
	}
	rc = file_allowed(a->db, &p, PERM_UPDATE, pkey);
	if (rc == -1)
		goto internal;
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "not allowed to change this file");
		goto out;
	}
	e = file_patch(a->db, pkey, acl != NULL ? acl->valuestring : NULL,
	    folder != NULL, folder != NULL && cJSON_IsString(folder) ?
	    folder->valuestring : NULL);
	if (e != FS_OK) {
		app_log(a, "patch: %s", sqlite3_errmsg(a->db));
		http_error(r, e, NULL);
		goto out;
	}
	file_row_free(&f);
	if (file_load(a->db, pkey, &f) != FS_OK)
		goto internal;
	j = file_json(&f);
	http_json(r, 200, j);
	goto out;
internal:
	app_log(a, "patch: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	cJSON_Delete(body);
	cJSON_Delete(j);
	file_row_free(&f);
	free(logical);
	free(pkey);
}

static const struct app_route routes[] = {
	{ "PATCH", "/api/storage/", APP_PREFIX, h_patch },
	{ "GET", "/api/storage/", APP_PREFIX, NULL },
	{ "PUT", "/api/storage/", APP_PREFIX, NULL },
	{ "DELETE", "/api/storage/", APP_PREFIX, NULL },
};

int
main(int argc, char *argv[])
{
	return app_main("patch", argc, argv, routes, nitems(routes), 0);
}
