/*
 * delete: DELETE /api/storage/<key>: the row, then the object; 204.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "files.h"

static void
h_delete(struct app *a, struct request *r)
{
	struct principal p;
	struct file_row f;
	char *logical = NULL, *pkey = NULL, pending[FILES_PENDING_MAX + 1];
	enum fs_err e;
	int rc;

	if (!file_open_readable(a, r, 0, &p, &logical, &pkey, &f))
		return;
	rc = file_allowed(a->db, &p, PERM_DELETE, pkey);
	if (rc == -1) {
		app_log(a, "delete: %s", sqlite3_errmsg(a->db));
		http_error(r, FS_INTERNAL, NULL);
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
	e = file_delete_row(a->db, pkey, pending);
	if (e != FS_OK) {
		app_log(a, "delete: %s", sqlite3_errmsg(a->db));
		http_error(r, e, NULL);
		goto out;
	}
	e = file_remove_object(a->db, a->store, pkey, pending);
	if (e != FS_OK)
		app_log(a, "delete: object left for filestorctl gc (%s)",
		    err_code(e));
	http_status(r, 204);
	http_begin(r);
out:
	file_row_free(&f);
	free(logical);
	free(pkey);
}

static const struct app_route routes[] = {
	{ "DELETE", "/api/storage/", APP_PREFIX, h_delete },
	{ "GET", "/api/storage/", APP_PREFIX, NULL },
	{ "PUT", "/api/storage/", APP_PREFIX, NULL },
	{ "PATCH", "/api/storage/", APP_PREFIX, NULL },
};

int
main(int argc, char *argv[])
{
	return app_main("delete", argc, argv, routes, nitems(routes),
	    APP_STORE);
}
