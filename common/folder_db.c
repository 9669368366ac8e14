/*
 * folder_db: the folders table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "folder_db.h"

#define FOLDER_COLS	"id, name, COALESCE(owner_id, ''), created_at, updated_at"

static void
col_text(struct db_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *t = db_col_text(st, i);

	snprintf(dst, len, "%s", t != NULL ? (const char *)t : "");
}

void
folder_row_from_stmt(struct db_stmt *st, struct folder_row *f)
{
	memset(f, 0, sizeof(*f));
	col_text(st, 0, f->id, sizeof(f->id));
	col_text(st, 1, f->name, sizeof(f->name));
	col_text(st, 2, f->owner_id, sizeof(f->owner_id));
	f->created_at = db_col_int64(st, 3);
	f->updated_at = db_col_int64(st, 4);
}

enum fs_err
folder_load(struct db *db, const char *id, struct folder_row *f)
{
	struct db_stmt *st;
	enum fs_err e = FS_INTERNAL;
	int rc;

	st = db_stmt(db, "SELECT " FOLDER_COLS " FROM folders WHERE id = ?");
	if (st == NULL)
		return FS_INTERNAL;
	db_bind_text(st, 1, id, -1);
	rc = db_step(st);
	if (rc == DB_ROW) {
		folder_row_from_stmt(st, f);
		e = FS_OK;
	} else if (rc == DB_DONE)
		e = FS_NOT_FOUND;
	db_stmt_done(st);
	return e;
}

cJSON *
folder_json(const struct folder_row *f)
{
	cJSON *j = cJSON_CreateObject();
	char t[32];

	if (j == NULL)
		return NULL;
	cJSON_AddStringToObject(j, "id", f->id);
	cJSON_AddStringToObject(j, "name", f->name);
	if (f->owner_id[0] != '\0')
		cJSON_AddStringToObject(j, "ownerId", f->owner_id);
	else
		cJSON_AddNullToObject(j, "ownerId");
	db_iso8601(f->created_at, t);
	cJSON_AddStringToObject(j, "createdAt", t);
	db_iso8601(f->updated_at, t);
	cJSON_AddStringToObject(j, "updatedAt", t);
	return j;
}

int
folder_allowed(struct db *db, const struct principal *p,
    enum perm_action action,
    const char *id)
{
	return perm_allowed(db, p, PERM_FOLDERS, action, "id", id);
}

int
folder_create_allowed(struct db *db, const struct principal *p, const char *id,
    const char *name)
{
	long long now = db_now();
	const struct perm_cell row[] = {
		{ "id", id, 0, 0 },
		{ "name", name, 0, 0 },
		{ "owner_id", p->user_id, 0, 0 },
		{ "tenant_id", p->tenant_id, 0, 0 },
		{ "created_at", NULL, now, 1 },
		{ "updated_at", NULL, now, 1 },
	};

	return perm_create_allowed(db, p, PERM_FOLDERS, row,
	    sizeof(row) / sizeof(row[0]));
}

struct db_stmt *
folder_list_stmt(struct db *db, const char *tenant_id, const char *after_name,
    const char *after_id, const struct perm_sql *cond, long long limit)
{
	const char *args[3] = { tenant_id, after_name, after_id };
	struct db_stmt *st;

	/* The cursor is the last (name, id) of the previous page. */
	st = perm_prepare(db, "SELECT " FOLDER_COLS " FROM folders"
	    " WHERE tenant_id = ? AND (name, id) > (?, ?) AND ", cond,
	    " ORDER BY name, id LIMIT CAST(? AS INTEGER)", args, 3);
	/* LIMIT's "?" follows the condition's parameters. */
	if (st != NULL)
		db_bind_int64(st, db_bind_count(st),
		    limit + 1);
	return st;
}

int
folder_page(struct db *db, const struct principal *p, const char *after_name,
    const char *after_id, long long limit, cJSON *items,
    struct folder_row *last)
{
	struct perm_sql cond;
	struct perm_vars v = { p->user_id, p->tenant_id };
	struct folder_row f;
	struct db_stmt *st;
	long long n = 0;
	int rc, more = 0;

	rc = perm_lookup(db, p->role_id, PERM_FOLDERS, PERM_READ, &v, &cond);
	if (rc != 1)
		return rc;	/* no read permission at all: no rows */
	st = folder_list_stmt(db, p->tenant_id, after_name, after_id, &cond,
	    limit);
	perm_sql_free(&cond);
	if (st == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW) {
		if (n == limit) {
			/* One row more than asked: a next page. */
			more = 1;
			break;
		}
		folder_row_from_stmt(st, &f);
		cJSON_AddItemToArray(items, folder_json(&f));
		*last = f;
		n++;
	}
	db_finalize(st);
	return rc == DB_ROW || rc == DB_DONE ? more : -1;
}

/*
 * Run one write: sql with the ntexts texts bound from ?1 and, when
 * stamp, the time after them. A write that takes a name conflicts on the
 * unique index; a delete on the files that still point at the folder.
 */
static enum fs_err
folder_write(struct db *db, const char *sql, const char *const *texts,
    int ntexts, int stamp, int deleting)
{
	struct db_stmt *st;
	int i, rc;

	st = db_stmt(db, sql);
	if (st == NULL)
		return FS_INTERNAL;
	for (i = 0; i < ntexts; i++)
		db_bind_text(st, i + 1, texts[i], -1);
	if (stamp)
		db_bind_int64(st, ntexts + 1, db_now());
	rc = db_step(st);
	db_stmt_done(st);
	if (!deleting && rc == DB_CONSTRAINT_UNIQUE)
		return FS_CONFLICT;
	if (deleting && (rc == DB_CONSTRAINT_FOREIGNKEY ||
	    rc == DB_CONSTRAINT_TRIGGER))
		return FS_CONFLICT;
	return rc == DB_DONE ? FS_OK : FS_INTERNAL;
}

enum fs_err
folder_create(struct db *db, const char *id, const char *tenant_id,
    const char *name, const char *owner_id)
{
	const char *t[4] = { id, tenant_id, name, owner_id };

	return folder_write(db, "INSERT INTO folders (id, tenant_id, name,"
	    " owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?5, ?5)",
	    t, 4, 1, 0);
}

enum fs_err
folder_rename(struct db *db, const char *id, const char *name)
{
	const char *t[2] = { name, id };

	return folder_write(db, "UPDATE folders SET name = ?1, updated_at = ?3"
	    " WHERE id = ?2", t, 2, 1, 0);
}

enum fs_err
folder_delete(struct db *db, const char *id)
{
	/* The foreign key refuses while files point here: the conflict. */
	return folder_write(db, "DELETE FROM folders WHERE id = ?", &id, 1, 0,
	    1);
}
