/*
 * libFuzzer harness: the permission DSL compiler (perm_compile,
 * perm_validate, perm_bind). The first byte picks the collection and
 * whether the variables are set, the rest is the condition JSON.
 *
 * Properties: validation and compilation agree; a compiled fragment is
 * made only of allowlisted names, operators, parentheses, "?" and the
 * literals 0 and 1 (no byte of the input reaches the SQL), holds one "?"
 * per parameter, and runs in SQLite with its parameters bound.
 */
#include <sqlite3.h>

#include "fuzz.h"
#include "perm.h"

static sqlite3 *db;

/* One table holding every allowlisted column of every collection. */
static void
db_open(void)
{
	static const char schema[] = "CREATE TABLE t (key TEXT, "
	    "owner_id TEXT, folder_id TEXT, acl TEXT, content_type TEXT, "
	    "size INTEGER, tenant_id TEXT, created_at INTEGER, "
	    "updated_at INTEGER, id TEXT, name TEXT, agent_id TEXT, "
	    "path TEXT); INSERT INTO t (key, name) VALUES ('k', 'n');";

	if (db != NULL)
		return;
	FUZZ_CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	FUZZ_CHECK(sqlite3_exec(db, schema, NULL, NULL, NULL) == SQLITE_OK);
}

static void
check_sql(const struct perm_sql *s)
{
	sqlite3_stmt *st = NULL;
	char *q = NULL;
	size_t i, marks = 0;
	int rc;

	FUZZ_CHECK(s->where != NULL && s->where[0] != '\0');
	for (i = 0; s->where[i] != '\0'; i++) {
		FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789 (),?=",
		    s->where[i]) != NULL);
		marks += s->where[i] == '?';
	}
	FUZZ_CHECK(marks == s->nparams);
	FUZZ_CHECK(asprintf(&q, "SELECT 1 FROM t WHERE (%s)", s->where) > 0);
	rc = sqlite3_prepare_v2(db, q, -1, &st, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", q, sqlite3_errmsg(db));
	FUZZ_CHECK(rc == SQLITE_OK);
	FUZZ_CHECK(perm_bind(st, 1, s) == SQLITE_OK);
	rc = sqlite3_step(st);
	FUZZ_CHECK(rc == SQLITE_ROW || rc == SQLITE_DONE);
	sqlite3_finalize(st);
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct perm_vars vars = {
		"5f0a6c1e-8d4b-4b7e-9c2a-1e3d5f7a9b0c",
		"0b9c7e1a-3f52-4d8e-9a61-2c4f8e7d1b30",
	};
	static const struct perm_vars novars = { NULL, NULL };
	struct perm_sql out;
	char err[256], verr[256];
	enum perm_coll c;
	char *cond;
	int rc, vrc;

	if (size < 1)
		return 0;
	db_open();
	c = (enum perm_coll)(data[0] % PERM_COLL__COUNT);
	cond = fuzz_str(data + 1, size - 1);
	memset(&out, 0, sizeof(out));
	err[0] = verr[0] = '\0';
	rc = perm_compile(c, cond, data[0] & 0x80 ? &novars : &vars, &out,
	    err, sizeof(err));
	vrc = perm_validate(c, cond, verr, sizeof(verr));
	FUZZ_CHECK(rc == vrc);
	if (rc == 0) {
		check_sql(&out);
		perm_sql_free(&out);
	} else
		FUZZ_CHECK(err[0] != '\0' && verr[0] != '\0');
	free(cond);
	return 0;
}
