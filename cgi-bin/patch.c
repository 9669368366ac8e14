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
#include "folder_db.h"
#include "target.h"

#define PATCH_BODY_MAX	(16 * 1024)

static void
h_patch(struct app *a, struct request *r, const struct app_caller *c)
{
	struct target *t;
	sqlite3_stmt *st = NULL;
	cJSON *body = NULL, *j = NULL, *it;
	const cJSON *acl = NULL, *folder = NULL;
	const char *msg = NULL;
	enum fs_err e;
	int rc;

	t = target_open(a, r, &c->p, 0);
	if (t == NULL)
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
	if (sqlite3_prepare_v2(a->db, "UPDATE files SET"
	    " acl = COALESCE(?1, acl),"
	    " folder_id = CASE WHEN ?2 THEN ?3 ELSE folder_id END,"
	    " updated_at = ?4 WHERE key = ?5", -1, &st, NULL) != SQLITE_OK)
		goto internal;
	if (acl != NULL)
		sqlite3_bind_text(st, 1, acl->valuestring, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, folder != NULL);
	if (folder != NULL && cJSON_IsString(folder))
		sqlite3_bind_text(st, 3, folder->valuestring, -1,
		    SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, db_now());
	sqlite3_bind_text(st, 5, t->pkey, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto internal;
	file_row_free(&t->f);
	if (file_load(a->db, t->pkey, &t->f) != FS_OK)
		goto internal;
	j = file_json(&t->f);
	http_json(r, 200, j);
	goto out;
internal:
	app_log(a, "patch: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	sqlite3_finalize(st);
	cJSON_Delete(body);
	cJSON_Delete(j);
	target_free(t);
}

static const app_handler serve[ROUTE__MAX] = {
	[ROUTE_PATCH] = h_patch,
};

int
main(int argc, char *argv[])
{
	return app_main("patch", argc, argv, serve, 0);
}
