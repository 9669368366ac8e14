/*
 * delete: DELETE /api/storage/<key>: the row, then the object; 204.
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
	char pending[FILES_PENDING_MAX + 1];
	enum fs_err e;
	int rc;

	t = target_open(a, r, &c->p, 0);
	if (t == NULL)
		return;
	rc = file_allowed(a->db, &t->p, PERM_DELETE, t->pkey);
	if (rc == -1) {
		app_db_error(a, r, "delete");
		goto out;
	}
	if (rc == 0) {
		http_error(r, FS_FORBIDDEN, "not allowed to delete this file");
		goto out;
	}
	/*
	 * The row goes first, in its own transaction: the point of no
	 * return (docs/decisions.md, "Publish and delete"). Then the object,
	 * under the write lock, unless a PUT made a row for the key again
	 * meanwhile. A crash between the two leaves bytes without a row,
	 * which filestorctl gc removes.
	 */
	e = file_delete_row(a->db, t->pkey, pending);
	if (e != FS_OK) {
		app_log(a, "delete: %s", sqlite3_errmsg(a->db));
		http_error(r, e, NULL);
		goto out;
	}
	app_audit(r, "delete", t->logical, NULL);
	e = file_remove_object(a->db, a->store, t->pkey, pending);
	if (e != FS_OK)
		app_log(a, "delete: object left for filestorctl gc (%s)",
		    err_code(e));
	http_status(r, 204);
	http_begin(r);
out:
	target_free(t);
}

APP_MAIN("delete", APP_STORE,
    [ROUTE_DELETE] = h_delete)
