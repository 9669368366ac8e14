/*
 * folders: GET/POST /api/folders, PATCH/DELETE /api/folders/<id>
 * (DESIGN §5). Folders are metadata: a "/" in a name nests them visually.
 * Permissions are those of the system_folders collection; the rows are
 * folder_db.h's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "api.h"
#include "app.h"
#include "cry.h"
#include "folder_db.h"
#include "key.h"

#define FOLDERS_PREFIX	"/api/folders/"
#define FOLDER_BODY_MAX	(16 * 1024)
#define FOLDER_LIST_MAX	1000
#define FOLDER_LIST_DEFAULT 100

/* A folder name: NULL when fine, else what is wrong. */
static const char *
name_problem(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > FOLDER_NAME_MAX)
		return "name must be 1 to 255 bytes";
	if (u8_check((const uint8_t *)s, n) != NULL)
		return "name must be valid UTF-8";
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\')
			return "name must not contain control characters or "
			    "backslashes";
	if (key_has_c1(s, n))
		return "name must not contain control characters or "
		    "backslashes";
	if (s[0] == '/' || s[n - 1] == '/' || strstr(s, "//") != NULL)
		return "name must not start or end with \"/\" or contain \"//\"";
	return NULL;
}

/* The name member of a JSON body; NULL after answering. */
static const char *
body_name(struct request *r, cJSON **body)
{
	static const char *const allowed[] = { "name", NULL };
	const cJSON *it;
	const char *bad;
	char *nfc = NULL;

	*body = api_body(r, FOLDER_BODY_MAX, 0, allowed,
	    "; only name is accepted");
	if (*body == NULL)
		return NULL;
	it = cJSON_GetObjectItemCaseSensitive(*body, "name");
	if (!cJSON_IsString(it)) {
		http_error(r, FS_VALIDATION, "name is required and must be a "
		    "string");
		return NULL;
	}
	bad = name_problem(it->valuestring);
	if (bad != NULL) {
		http_error(r, FS_VALIDATION, "%s", bad);
		return NULL;
	}
	/*
	 * Stored in NFC, like keys, so that "é" typed on a Mac and on
	 * Windows names one folder (and the unique index sees them equal).
	 * The rules hold again for the normalized form.
	 */
	if (key_nfc(it->valuestring, strlen(it->valuestring), &nfc) == -1 ||
	    cJSON_SetValuestring((cJSON *)it, nfc) == NULL) {
		free(nfc);
		http_error(r, FS_INTERNAL, NULL);
		return NULL;
	}
	free(nfc);
	bad = name_problem(it->valuestring);
	if (bad != NULL) {
		http_error(r, FS_VALIDATION, "%s", bad);
		return NULL;
	}
	return it->valuestring;
}

/* Answer with the folder row id. */
static void
send_folder(struct app *a, struct request *r, const char *id, int status)
{
	struct folder_row f;
	cJSON *j;

	if (folder_load(a->db, id, &f) != FS_OK ||
	    (j = folder_json(&f)) == NULL) {
		app_db_error(a, r, "folders");
		return;
	}
	http_json(r, status, j);
	cJSON_Delete(j);
}

/*
 * The cursor: the last (name, id) of the previous page, as a JSON array
 * (*cur, caller deletes), or "" and "" for the first page. 0 after
 * answering 422.
 */
static int
page_after(struct request *r, cJSON **cur, const char **name,
    const char **id)
{
	unsigned char *dec = NULL;
	size_t dlen;

	*cur = NULL;
	*name = *id = "";
	if (!api_page_cursor(r, &dec, &dlen))
		return 0;
	if (dec == NULL)
		return 1;
	*cur = cJSON_ParseWithLength((char *)dec, dlen);
	free(dec);
	if (!cJSON_IsArray(*cur) || cJSON_GetArraySize(*cur) != 2 ||
	    !cJSON_IsString(cJSON_GetArrayItem(*cur, 0)) ||
	    !cJSON_IsString(cJSON_GetArrayItem(*cur, 1))) {
		api_page_bad_cursor(r);
		return 0;
	}
	*name = cJSON_GetArrayItem(*cur, 0)->valuestring;
	*id = cJSON_GetArrayItem(*cur, 1)->valuestring;
	return 1;
}

/* The cursor after row f: the JSON text of [name, id] (malloc'd). */
static char *
page_last(const struct folder_row *f)
{
	cJSON *c = cJSON_CreateArray();
	char *txt;

	cJSON_AddItemToArray(c, cJSON_CreateString(f->name));
	cJSON_AddItemToArray(c, cJSON_CreateString(f->id));
	txt = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	return txt;
}

static void
h_list(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	struct folder_row last;
	cJSON *j = NULL, *items, *cur = NULL;
	const char *aname, *aid;
	char *next = NULL;
	long long limit;
	int more;

	if (!api_page_params(r, NULL, FOLDER_LIST_MAX, FOLDER_LIST_DEFAULT,
	    &limit) || !page_after(r, &cur, &aname, &aid))
		goto out;
	j = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(j, "items");
	more = folder_page(a->db, p, aname, aid, limit, items, &last);
	if (more == -1) {
		app_db_error(a, r, "folders");
		goto out;
	}
	if (more)
		next = page_last(&last);
	api_page_reply(r, j, next);
out:
	cJSON_Delete(j);
	cJSON_Delete(cur);
	free(next);
}

/* Answer a failed write: 409 with conflict, else 500. */
static void
write_failed(struct app *a, struct request *r, enum fs_err e,
    const char *conflict)
{
	if (e == FS_CONFLICT) {
		http_error(r, FS_CONFLICT, "%s", conflict);
		return;
	}
	app_db_error(a, r, "folders");
}

/* Answer a create or rename: the folder with status, or why it failed. */
static void
save_answer(struct app *a, struct request *r, enum fs_err e, const char *id,
    int status)
{
	if (e != FS_OK)
		write_failed(a, r, e, "a folder with this name exists");
	else
		send_folder(a, r, id, status);
}

static void
h_create(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	cJSON *body = NULL;
	const char *name;
	char id[37];
	enum fs_err e;
	int rc;

	name = body_name(r, &body);
	if (name == NULL)
		goto out;
	rc = cry_uuid(id) == -1 ? -1 :
	    folder_create_allowed(a->db, p, id, name);
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "not allowed to create folders");
		goto out;
	}
	e = rc == -1 ? FS_INTERNAL :
	    folder_create(a->db, id, p->tenant_id, name, p->user_id);
	if (e == FS_OK)
		app_audit(r, "folder-create", id, NULL);
	save_answer(a, r, e, id, 201);
out:
	cJSON_Delete(body);
}

/*
 * The folder id in the path, readable by p; NULL after answering 404/422.
 * Returns a pointer into r->path.
 */
static const char *
path_folder(struct app *a, struct request *r, const struct principal *p)
{
	const char *id = r->path + strlen(FOLDERS_PREFIX);
	int rc;

	if (!cry_is_uuid(id)) {
		http_error(r, FS_NOT_FOUND, "no such folder");
		return NULL;
	}
	rc = folder_allowed(a->db, p, PERM_READ, id);
	if (rc == 1)
		return id;
	if (rc == 0)
		http_error(r, FS_NOT_FOUND, "no such folder");
	else
		http_error(r, FS_INTERNAL, NULL);
	return NULL;
}

/* May p do action on folder id? 1, or 0 after answering (403: denied). */
static int
may(struct app *a, struct request *r, const struct principal *p,
    enum perm_action action, const char *id, const char *denied)
{
	int rc;

	rc = folder_allowed(a->db, p, action, id);
	if (rc == 0)
		http_error(r, FS_FORBIDDEN, "%s", denied);
	else if (rc == -1)
		write_failed(a, r, FS_INTERNAL, NULL);
	return rc == 1;
}

static void
h_rename(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	cJSON *body = NULL;
	const char *id, *name;
	enum fs_err e;

	id = path_folder(a, r, p);
	if (id == NULL)
		return;
	name = body_name(r, &body);
	if (name == NULL)
		goto out;
	/* The body is checked before the update permission. */
	if (!may(a, r, p, PERM_UPDATE, id, "not allowed to rename this "
	    "folder"))
		goto out;
	e = folder_rename(a->db, id, name);
	if (e == FS_OK)
		app_audit(r, "folder-rename", id, NULL);
	save_answer(a, r, e, id, 200);
out:
	cJSON_Delete(body);
}

static void
h_delete(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	const char *id;
	enum fs_err e;

	id = path_folder(a, r, p);
	if (id == NULL || !may(a, r, p, PERM_DELETE, id, "not allowed to "
	    "delete this folder"))
		return;
	e = folder_delete(a->db, id);
	if (e != FS_OK) {
		write_failed(a, r, e, "folder is not empty: move or delete its "
		    "files first");
		return;
	}
	app_audit(r, "folder-delete", id, NULL);
	http_status(r, 204);
	http_begin(r);
}

APP_MAIN("folders", 0,
    [ROUTE_FOLDERS] = h_list,
    [ROUTE_FOLDER_NEW] = h_create,
    [ROUTE_FOLDER_RENAME] = h_rename,
    [ROUTE_FOLDER_DELETE] = h_delete)
