/*
 * delete: DELETE /api/storage/<key>: the row, then the object; 204.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "target.h"
#include "publish.h"

static void
h_delete(struct app *a, struct request *r, const struct app_caller *c)
{
	struct target *t;
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
	e = pub_remove(a, t->pkey);
	if (e != FS_OK) {
		http_error(r, e, NULL);
		goto out;
	}
	app_audit(r, "delete", t->logical, NULL);
	http_status(r, 204);
	http_begin(r);
out:
	target_free(t);
}

APP_MAIN("delete", APP_STORE,
    [ROUTE_DELETE] = h_delete)
