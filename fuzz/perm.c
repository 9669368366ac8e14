/*
 * libFuzzer harness: the permission DSL compiler (perm_compile,
 * perm_validate, perm_bind, perm_row_allowed). The first byte picks the
 * collection and whether the variables are set, the rest is the
 * condition JSON.
 *
 * Properties: validation and compilation agree; a compiled fragment is
 * made only of allowlisted names, operators, parentheses, "?", CAST and
 * the literals TRUE and FALSE (no byte of the input reaches the SQL),
 * holds one "?" per parameter, and runs in SQLite with its parameters
 * bound, over stored rows and over a would-be row (perm_row_allowed).
 * With FILESTOR_TEST_PG set (a libpq URI), the same fragment also runs on
 * PostgreSQL, which refuses what it cannot type, and gives the same
 * answers: one SQL text for both engines, with the same meaning.
 */
#include "db.h"

#include "fuzz.h"
#include "perm.h"

static struct db *db;
static struct db *pg;

/* One table holding every allowlisted column of every collection, typed
 * as stored, and a row with some of them set. */
static const char schema[] = "CREATE TEMP TABLE t (key TEXT, "
    "owner_id TEXT, folder_id TEXT, acl TEXT, content_type TEXT, "
    "size BIGINT, tenant_id TEXT, created_at BIGINT, "
    "updated_at BIGINT, id TEXT, name TEXT, agent_id TEXT, "
    "path TEXT); INSERT INTO t (key, name, size, content_type, created_at) "
    "VALUES ('k', 'n', 5, '5', 1700000000), "
    "('tenants/00000000-0000-0000-0000-000000000000/a', '1', 10, 'a', 0);";

static void
mem_open(void)
{
	const char *uri;
	char err[256];

	if (db != NULL)
		return;
	db = db_open(":memory:", DB_OPEN_CREATE, err, sizeof(err));
	FUZZ_CHECK(db != NULL);
	FUZZ_CHECK(db_exec(db, schema) == DB_OK);
	uri = getenv("FILESTOR_TEST_PG");
	if (uri == NULL || uri[0] == '\0')
		return;
	pg = db_open(uri, 0, err, sizeof(err));
	if (pg == NULL)
		fprintf(stderr, "FILESTOR_TEST_PG: %s\n", err);
	FUZZ_CHECK(pg != NULL);
	FUZZ_CHECK(db_exec(pg, schema) == DB_OK);
}

/* The rows of t cond selects, as a bit mask (by key); -1 on error. */
static int
rows_of(struct db *d, const struct perm_sql *s)
{
	struct db_stmt *st = NULL;
	char *q = NULL;
	int rc, mask = 0;

	FUZZ_CHECK(asprintf(&q, "SELECT key FROM t WHERE (%s) ORDER BY key",
	    s->where) > 0);
	rc = db_prepare(d, q, &st);
	if (rc != DB_OK)
		fprintf(stderr, "%s: %s\n", q, db_errmsg(d));
	FUZZ_CHECK(rc == DB_OK);
	FUZZ_CHECK(perm_bind(st, 1, s) == DB_OK);
	while ((rc = db_step(st)) == DB_ROW)
		mask |= strcmp((const char *)db_col_text(st, 0), "k") == 0 ?
		    1 : 2;
	if (rc != DB_DONE)
		fprintf(stderr, "%s: %s\n", q, db_errmsg(d));
	FUZZ_CHECK(rc == DB_DONE);
	db_finalize(st);
	free(q);
	return mask;
}

static void
check_sql(enum perm_coll c, const struct perm_sql *s)
{
	/* files has both, folders the first, agent_files neither. */
	static const struct perm_cell cells[] = {
		{ "created_at", NULL, 1700000000, 1 },
		{ "size", NULL, 5, 1 },
	};
	size_t i, marks = 0, ncells;
	int mask, yes;

	FUZZ_CHECK(s->where != NULL && s->where[0] != '\0');
	for (i = 0; s->where[i] != '\0'; i++) {
		FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789 (),?=",
		    s->where[i]) != NULL);
		marks += s->where[i] == '?';
	}
	FUZZ_CHECK(marks == s->nparams);
	mask = rows_of(db, s);
	ncells = c == PERM_FILES ? 2 : c == PERM_FOLDERS ? 1 : 0;
	yes = perm_row_allowed(db, c, cells, ncells, s);
	FUZZ_CHECK(yes == 0 || yes == 1);
	if (pg != NULL) {
		FUZZ_CHECK(rows_of(pg, s) == mask);
		FUZZ_CHECK(perm_row_allowed(pg, c, cells, ncells, s) == yes);
	}
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
	mem_open();
	c = (enum perm_coll)(data[0] % PERM_COLL__COUNT);
	cond = fuzz_str(data + 1, size - 1);
	memset(&out, 0, sizeof(out));
	err[0] = verr[0] = '\0';
	rc = perm_compile(c, cond, data[0] & 0x80 ? &novars : &vars, &out,
	    err, sizeof(err));
	vrc = perm_validate(c, cond, verr, sizeof(verr));
	FUZZ_CHECK(rc == vrc);
	if (rc == 0) {
		check_sql(c, &out);
		perm_sql_free(&out);
	} else
		FUZZ_CHECK(err[0] != '\0' && verr[0] != '\0');
	free(cond);
	return 0;
}
