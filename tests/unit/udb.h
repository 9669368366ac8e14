/*
 * udb.h: the database the suites of the table modules start from. Include
 * it after db.h and auth.h.
 *
 * unit_db(tid) opens an in-memory database, migrates it and makes one
 * tenant, named "t", whose id it writes to tid. It returns NULL if any
 * step fails, having closed what it opened.
 */
#ifndef FS_TEST_UDB_H
#define FS_TEST_UDB_H

static inline struct db *
unit_db(char tid[37])
{
	char err[256];
	struct db *db;

	if ((db = db_open(":memory:", 1, err, sizeof(err))) == NULL)
		return NULL;
	if (db_migrate(db, err, sizeof(err)) < 0 ||
	    auth_tenant_create(db, "t", tid, err, sizeof(err)) == -1) {
		db_close(db);
		return NULL;
	}
	return db;
}

#endif
