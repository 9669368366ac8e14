/*
 * delete: DELETE /api/storage/<key>: the row and the object; 204.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "target.h"

static void
h_delete(struct app *a, struct request *r, const struct app_caller *c)
{
	struct target *t;
	sqlite3_stmt *st = NULL;
	enum fs_err e;
	int rc, in_tx = 0;

	t = target_open(a, r, &c->p, 0);
	if (t == NULL)
		return;
	rc = file_allowed(a->db, &t->p, PERM_DELETE, t->pkey);
	if (rc == -1)
		goto internal;
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "not allowed to delete this file");
		goto out;
	}
	/*
	 * Row and object go together under the write lock, so a concurrent
	 * PUT of the same key either lands before (and is deleted) or after
	 * (and stays, with its row).
	 */
	if (db_begin(a->db) != SQLITE_OK)
		goto internal;
	in_tx = 1;
	if (sqlite3_prepare_v2(a->db, "DELETE FROM files WHERE key = ?", -1,
	    &st, NULL) != SQLITE_OK)
		goto internal;
	sqlite3_bind_text(st, 1, t->pkey, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto internal;
	e = store_delete(a->store, t->pkey);
	if (e != FS_OK) {
		app_log(a, "delete: cannot remove object (%s)", err_code(e));
		http_error(r, e == FS_UNAVAILABLE ? FS_UNAVAILABLE : FS_INTERNAL,
		    e == FS_UNAVAILABLE ? "storage backend unavailable" : NULL);
		goto out;
	}
	if (db_commit(a->db) != SQLITE_OK)
		goto internal;
	in_tx = 0;
	http_status(r, 204);
	http_begin(r);
	goto out;
internal:
	app_log(a, "delete: %s", sqlite3_errmsg(a->db));
	http_error(r, FS_INTERNAL, NULL);
out:
	if (in_tx)
		db_rollback(a->db);
	sqlite3_finalize(st);
	target_free(t);
}

static const app_handler serve[ROUTE__MAX] = {
	[ROUTE_DELETE] = h_delete,
};

int
main(int argc, char *argv[])
{
	return app_main("delete", argc, argv, serve, APP_STORE);
}
