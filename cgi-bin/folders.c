/*
 * folders: GET/POST /api/folders, PATCH/DELETE /api/folders/<id>
 * (DESIGN §5). Folders are metadata: a "/" in a name nests them visually.
 * Permissions are those of the system_folders collection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "app.h"
#include "cry.h"
#include "db.h"
#include "files.h"
#include "key.h"
#include "perm.h"

#define FOLDERS_PREFIX	"/api/folders/"
#define FOLDER_NAME_MAX	255
#define FOLDER_BODY_MAX	(16 * 1024)
#define FOLDER_LIST_MAX	1000
#define FOLDER_COLS	"id, name, IFNULL(owner_id, ''), created_at, updated_at"

static cJSON *
folder_json(sqlite3_stmt *st)
{
	cJSON *j = cJSON_CreateObject();
	const char *owner = (const char *)sqlite3_column_text(st, 2);
	char t[32];

	cJSON_AddStringToObject(j, "id", (const char *)sqlite3_column_text(st, 0));
	cJSON_AddStringToObject(j, "name",
	    (const char *)sqlite3_column_text(st, 1));
	if (owner != NULL && *owner != '\0')
		cJSON_AddStringToObject(j, "ownerId", owner);
	else
		cJSON_AddNullToObject(j, "ownerId");
	db_iso8601(sqlite3_column_int64(st, 3), t);
	cJSON_AddStringToObject(j, "createdAt", t);
	db_iso8601(sqlite3_column_int64(st, 4), t);
	cJSON_AddStringToObject(j, "updatedAt", t);
	return j;
}

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
	const cJSON *it;
	const char *msg = NULL, *bad;
	char *nfc = NULL;
	enum fs_err e;

	e = http_read_json(r, FOLDER_BODY_MAX, body, &msg);
	if (e != FS_OK) {
		http_error(r, e, "%s", msg != NULL ? msg : err_strerror(e));
		return NULL;
	}
	cJSON_ArrayForEach(it, *body)
		if (strcmp(it->string, "name") != 0) {
			http_error(r, FS_VALIDATION, "unknown field \"%.64s\"; "
			    "only name is accepted", it->string);
			return NULL;
		}
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

/*
 * Prepare "SELECT <cols> FROM folders WHERE <head> AND (<cond of
 * action>)" with head's text args bound first. NULL and *denied=1 when
 * the role has no such permission at all.
 */
static sqlite3_stmt *
folder_query(struct app *a, const struct principal *p, enum perm_action act,
    const char *cols, const char *head, const char *tail,
    const char *const *args, int nargs, int *denied)
{
	struct perm_sql cond;
	struct perm_vars v = { p->user_id, p->tenant_id };
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	size_t n;
	int i, rc;

	*denied = 0;
	rc = perm_lookup(a->db, p->role_id, PERM_FOLDERS, act, &v, &cond);
	if (rc == 0)
		*denied = 1;
	if (rc != 1)
		return NULL;
	n = strlen(cols) + strlen(head) + strlen(tail) + strlen(cond.where) + 64;
	sql = malloc(n);
	if (sql == NULL)
		goto out;
	snprintf(sql, n, "SELECT %s FROM folders WHERE %s AND (%s) %s", cols,
	    head, cond.where, tail);
	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (i = 0; i < nargs; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
	if (perm_bind(st, nargs + 1, &cond) != SQLITE_OK) {
		sqlite3_finalize(st);
		st = NULL;
	}
out:
	free(sql);
	perm_sql_free(&cond);
	return st;
}

/* Answer with the folder row id. */
static void
send_folder(struct app *a, struct request *r, const char *id, int status)
{
	sqlite3_stmt *st = NULL;
	cJSON *j;

	if (sqlite3_prepare_v2(a->db, "SELECT " FOLDER_COLS " FROM folders"
	    " WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	j = folder_json(st);
	http_json(r, status, j);
	cJSON_Delete(j);
	sqlite3_finalize(st);
	return;
fail:
	sqlite3_finalize(st);
	app_log(a, "folders: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
}

static void
h_list(struct app *a, struct request *r, const struct app_caller *caller)
{
	const struct principal *p = &caller->p;
	sqlite3_stmt *st = NULL;
	cJSON *j = NULL, *items, *cur = NULL;
	const struct http_param *lp, *cp;
	const char *args[3];
	unsigned char *dec = NULL;
	char *next = NULL, limbuf[32];
	long long limit = 100;
	size_t i, dlen;
	int denied, n = 0, rc;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, "limit") != 0 &&
		    strcmp(r->params[i].name, "cursor") != 0) {
			http_error(r, FS_VALIDATION, "unknown parameter "
			    "\"%.64s\"", r->params[i].name);
			return;
		}
	lp = http_param(r, "limit");
	if (lp != NULL && http_parse_ll(lp->value, 1, FOLDER_LIST_MAX,
	    &limit) == -1) {
		http_error(r, FS_VALIDATION, "limit must be an integer from 1 "
		    "to %d", FOLDER_LIST_MAX);
		return;
	}
	/* The cursor is the last (name, id) of the previous page. */
	args[0] = p->tenant_id;
	args[1] = "";
	args[2] = "";
	cp = http_param(r, "cursor");
	if (cp != NULL && cp->value_len > 0) {
		dec = cry_b64u_decode(cp->value, cp->value_len, &dlen);
		cur = dec != NULL ? cJSON_ParseWithLength((char *)dec, dlen) : NULL;
		if (!cJSON_IsArray(cur) || cJSON_GetArraySize(cur) != 2 ||
		    !cJSON_IsString(cJSON_GetArrayItem(cur, 0)) ||
		    !cJSON_IsString(cJSON_GetArrayItem(cur, 1))) {
			http_error(r, FS_VALIDATION, "cursor is not one this "
			    "API returned");
			goto out;
		}
		args[1] = cJSON_GetArrayItem(cur, 0)->valuestring;
		args[2] = cJSON_GetArrayItem(cur, 1)->valuestring;
	}
	snprintf(limbuf, sizeof(limbuf), "%lld", limit + 1);
	j = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(j, "items");
	st = folder_query(a, p, PERM_READ, FOLDER_COLS,
	    "tenant_id = ? AND (name, id) > (?, ?)", "ORDER BY name, id LIMIT "
	    "CAST(? AS INTEGER)", args, 3, &denied);
	if (st == NULL && !denied)
		goto internal;
	if (st != NULL) {
		/* LIMIT's "?" follows the condition's parameters. */
		sqlite3_bind_text(st, sqlite3_bind_parameter_count(st), limbuf,
		    -1, SQLITE_TRANSIENT);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == limit) {
				cJSON *last = cJSON_GetArrayItem(items, n - 1);
				cJSON *c = cJSON_CreateArray();
				char *txt;

				cJSON_AddItemToArray(c, cJSON_CreateString(
				    cJSON_GetObjectItem(last, "name")->valuestring));
				cJSON_AddItemToArray(c, cJSON_CreateString(
				    cJSON_GetObjectItem(last, "id")->valuestring));
				txt = cJSON_PrintUnformatted(c);
				cJSON_Delete(c);
				if (txt != NULL)
					next = cry_b64u_encode(txt, strlen(txt));
				free(txt);
				break;
			}
			cJSON_AddItemToArray(items, folder_json(st));
			n++;
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto internal;
	}
	if (next != NULL)
		cJSON_AddStringToObject(j, "nextCursor", next);
	else
		cJSON_AddNullToObject(j, "nextCursor");
	http_add_header(r, "Cache-Control", "private, no-store");
	http_json(r, 200, j);
	goto out;
internal:
	app_log(a, "folders: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	sqlite3_finalize(st);
	cJSON_Delete(j);
	cJSON_Delete(cur);
	free(dec);
	free(next);
}

/* Would-be row check for create, like files: 1, 0, -1. */
static int
create_allowed(struct app *a, const struct principal *p, const char *id,
    const char *name)
{
	const char *args[4] = { id, name, p->user_id, p->tenant_id };
	struct perm_sql cond;
	struct perm_vars v = { p->user_id, p->tenant_id };
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	size_t n;
	int i, rc, ret = -1;

	rc = perm_lookup(a->db, p->role_id, PERM_FOLDERS, PERM_CREATE, &v, &cond);
	if (rc != 1)
		return rc;
	n = strlen(cond.where) + 256;
	sql = malloc(n);
	if (sql == NULL)
		goto out;
	snprintf(sql, n, "SELECT 1 FROM (SELECT ? AS id, ? AS name, ? AS"
	    " owner_id, ? AS tenant_id, unixepoch() AS created_at,"
	    " unixepoch() AS updated_at) WHERE (%s)", cond.where);
	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	for (i = 0; i < 4; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
	if (perm_bind(st, 5, &cond) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
out:
	sqlite3_finalize(st);
	perm_sql_free(&cond);
	free(sql);
	return ret;
}

static void
h_create(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	sqlite3_stmt *st = NULL;
	cJSON *body = NULL;
	const char *name;
	char id[37];
	int rc;

	name = body_name(r, &body);
	if (name == NULL)
		goto out;
	if (cry_uuid(id) == -1)
		goto internal;
	rc = create_allowed(a, p, id, name);
	if (rc == -1)
		goto internal;
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "not allowed to create folders");
		goto out;
	}
	if (sqlite3_prepare_v2(a->db, "INSERT INTO folders (id, tenant_id,"
	    " name, owner_id, created_at, updated_at)"
	    " VALUES (?, ?, ?, ?, ?5, ?5)", -1, &st, NULL) != SQLITE_OK)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, p->tenant_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, p->user_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, db_now());
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		http_error(r, FS_CONFLICT, "a folder with this name exists");
		goto out;
	}
	if (rc != SQLITE_DONE)
		goto internal;
	send_folder(a, r, id, 201);
	goto out;
internal:
	app_log(a, "folders: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	sqlite3_finalize(st);
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

static void
h_rename(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	sqlite3_stmt *st = NULL;
	cJSON *body = NULL;
	const char *id, *name;
	int rc;

	id = path_folder(a, r, p);
	if (id == NULL)
		return;
	name = body_name(r, &body);
	if (name == NULL)
		goto out;
	rc = folder_allowed(a->db, p, PERM_UPDATE, id);
	if (rc == -1)
		goto internal;
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "not allowed to rename this folder");
		goto out;
	}
	if (sqlite3_prepare_v2(a->db, "UPDATE folders SET name = ?, updated_at"
	    " = ? WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		goto internal;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, db_now());
	sqlite3_bind_text(st, 3, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		http_error(r, FS_CONFLICT, "a folder with this name exists");
		goto out;
	}
	if (rc != SQLITE_DONE)
		goto internal;
	send_folder(a, r, id, 200);
	goto out;
internal:
	app_log(a, "folders: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	sqlite3_finalize(st);
	cJSON_Delete(body);
}

static void
h_delete(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	sqlite3_stmt *st = NULL;
	const char *id;
	int rc;

	id = path_folder(a, r, p);
	if (id == NULL)
		return;
	rc = folder_allowed(a->db, p, PERM_DELETE, id);
	if (rc == -1)
		goto internal;
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "not allowed to delete this folder");
		goto out;
	}
	/* The foreign key refuses while files point here: that is the 409. */
	if (sqlite3_prepare_v2(a->db, "DELETE FROM folders WHERE id = ?", -1,
	    &st, NULL) != SQLITE_OK)
		goto internal;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY || rc == SQLITE_CONSTRAINT_TRIGGER) {
		http_error(r, FS_CONFLICT, "folder is not empty: move or delete "
		    "its files first");
		goto out;
	}
	if (rc != SQLITE_DONE)
		goto internal;
	http_status(r, 204);
	http_begin(r);
	goto out;
internal:
	app_log(a, "folders: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	sqlite3_finalize(st);
}

static const app_handler serve[ROUTE__MAX] = {
	[ROUTE_FOLDERS] = h_list,
	[ROUTE_FOLDER_NEW] = h_create,
	[ROUTE_FOLDER_RENAME] = h_rename,
	[ROUTE_FOLDER_DELETE] = h_delete,
};

int
main(int argc, char *argv[])
{
	return app_main("folders", argc, argv, serve, 0);
}
