/*
 * Unit tests for common/dbcopy.c (filestorctl db copy): its table list
 * against the migrations, and the copy itself between two in-memory
 * SQLite databases (the tool copies into PostgreSQL: tests/t23-dbcopy.sh).
 * SQLite's foreign keys are on, so a table copied before one it refers
 * to fails the copy: the order is tested too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "auth.h"
#include "dbcopy.h"
#include "udb.h"

struct pair {
	struct db	*from;
	struct db	*to;
	char		 tid[37];
};

static struct db *
empty_db(void)
{
	char err[256];
	struct db *db;

	db = db_open(":memory:", DB_OPEN_CREATE, err, sizeof(err));
	if (db != NULL && db_migrate(db, err, sizeof(err)) < 0) {
		db_close(db);
		db = NULL;
	}
	return db;
}

/* The source: a tenant (its seeded roles and permissions), a user with
 * an API key, a session, a folder, two files, a custom permission. */
static int
setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	char uid[37], kid[37], err[256], *key = NULL;

	assert_non_null(p);
	p->from = unit_db(p->tid);
	p->to = empty_db();
	assert_non_null(p->from);
	assert_non_null(p->to);
	assert_int_equal(auth_user_create(p->from, "a@example.com", p->tid,
	    "admin", NULL, uid, err, sizeof(err)), 0);
	assert_int_equal(auth_apikey_create(p->from, p->tid, uid, "ci", &key,
	    kid), 0);
	free(key);
	assert_int_equal(db_exec(p->from,
	    "INSERT INTO sessions (token_hash, user_id, tenant_id, created_at,"
	    " expires_at) SELECT x'00ff10', user_id, tenant_id, 1, 2 FROM"
	    " memberships;"
	    "INSERT INTO folders (id, tenant_id, name, owner_id, created_at,"
	    " updated_at) SELECT 'f1', tenant_id, 'docs', user_id, 3, 4 FROM"
	    " memberships;"
	    "INSERT INTO files (key, tenant_id, size, content_type, sha256,"
	    " owner_id, folder_id, created_at, updated_at, md5, meta) SELECT"
	    " 'tenants/x/a.txt', tenant_id, 5, 'text/plain', 'abc', user_id,"
	    " 'f1', 5, 6, 'm5', '{\"a\":\"b\"}' FROM memberships;"
	    "INSERT INTO files (key, tenant_id, size, content_type, sha256,"
	    " created_at, updated_at) SELECT 'tenants/x/b.bin', tenant_id, 0,"
	    " 'application/octet-stream', 'def', 7, 8 FROM memberships;"
	    "INSERT INTO permissions (id, role_id, collection, action,"
	    " condition) SELECT 900, id, 'system_files', 'read',"
	    " '{\"key\":{\"_starts_with\":\"shared/\"}}' FROM roles"
	    " WHERE name = 'authenticated'"), DB_OK);
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct pair *p = *state;

	db_close(p->from);
	db_close(p->to);
	free(p);
	return 0;
}

/* One value as text ("NULL" for NULL, blobs in hex), for comparisons. */
static char *
one(struct db *db, const char *sql)
{
	struct db_stmt *st = NULL;
	const unsigned char *b;
	char *out = NULL;
	int i, n;

	assert_int_equal(db_prepare(db, sql, &st), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	if (db_col_type(st, 0) == DB_NULL)
		out = strdup("NULL");
	else if (db_col_type(st, 0) == DB_BLOB) {
		b = db_col_blob(st, 0);
		n = db_col_bytes(st, 0);
		out = calloc(1, (size_t)n * 2 + 1);
		for (i = 0; out != NULL && i < n; i++)
			sprintf(out + 2 * i, "%02x", b[i]);
	} else
		out = strdup((const char *)db_col_text(st, 0));
	db_finalize(st);
	assert_non_null(out);
	return out;
}

static void
same(struct pair *p, const char *sql)
{
	char *a = one(p->from, sql), *b = one(p->to, sql);

	if (strcmp(a, b) != 0)
		fail_msg("%s: source %s, copy %s", sql, a, b);
	free(a);
	free(b);
}

/* The one value of sql in db is want. */
static void
is(struct db *db, const char *sql, const char *want)
{
	char *got = one(db, sql);

	if (strcmp(got, want) != 0)
		fail_msg("%s: %s, not %s", sql, got, want);
	free(got);
}

struct counts {
	char		 text[2048];
};

static int
add_count(void *arg, const char *table, long long rows)
{
	struct counts *c = arg;
	size_t n = strlen(c->text);

	snprintf(c->text + n, sizeof(c->text) - n, "%s=%lld ", table, rows);
	return 0;
}

static int
skip_count(void *arg, const char *table, long long rows)
{
	if (strcmp(table, "schema_migrations") == 0 ||
	    strcmp(table, "agent_relays") == 0)
		return 0;
	return add_count(arg, table, rows);
}

/* Every table the migrations make is copied or deliberately skipped,
 * once; a table the list does not know is refused, named. */
static void
test_tables_listed(void **state)
{
	struct pair *p = *state;
	char err[512];
	size_t i, j;

	assert_int_equal(dbcopy_check_tables(p->from, err, sizeof(err)), 0);
	for (i = 0; i < dbcopy_ntables; i++) {
		for (j = 0; j < dbcopy_nskipped; j++)
			assert_string_not_equal(dbcopy_tables[i],
			    dbcopy_skipped[j].table);
		for (j = i + 1; j < dbcopy_ntables; j++)
			assert_string_not_equal(dbcopy_tables[i],
			    dbcopy_tables[j]);
	}
	assert_int_equal(db_exec(p->to, "CREATE TABLE extra (x)"), DB_OK);
	assert_int_equal(dbcopy_check_tables(p->to, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "a table db copy does not know, extra"));
	assert_int_equal(dbcopy_run(p->from, p->to, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "the target has a table db copy does not "
	    "know, extra"));
}

static void
test_copy(void **state)
{
	struct pair *p = *state;
	static const char order[] = "tenants=1 users=1 roles=2 "
	    "memberships=1 permissions=21 api_keys=1 sessions=1 folders=1 "
	    "files=2 agents=0 ";
	struct counts a, b, seen;
	char err[512];

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(dbcopy_run(p->from, p->to, add_count, &seen, err,
	    sizeof(err)), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(db_table_counts(p->from, skip_count, &a), 0);
	assert_int_equal(db_table_counts(p->to, skip_count, &b), 0);
	assert_string_equal(a.text, b.text);
	assert_non_null(strstr(b.text, "files=2 "));
	if (strstr(b.text, "permissions=21 ") == NULL)
		fail_msg("%s", b.text);
	/* fn saw every table, in the list's order. */
	if (strncmp(seen.text, order, strlen(order)) != 0)
		fail_msg("the tables, in order: %s", seen.text);
	same(p, "SELECT key_hash FROM api_keys");
	same(p, "SELECT token_hash FROM sessions");
	same(p, "SELECT condition FROM permissions WHERE id = 900");
	same(p, "SELECT group_concat(id) FROM permissions");
	same(p, "SELECT sha256 || md5 || meta || folder_id FROM files"
	    " WHERE key = 'tenants/x/a.txt'");
	same(p, "SELECT md5 FROM files WHERE key = 'tenants/x/b.bin'");
	same(p, "SELECT password_hash FROM users");
	/* The copy is not a second copy: the target is no longer empty. */
	assert_int_equal(dbcopy_run(p->from, p->to, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "the target is not empty: table tenants has "
	    "1 row(s); db copy fills a new, migrated database");
}

/* A target with rows in any copied table is refused, named, untouched. */
static void
test_target_not_empty(void **state)
{
	struct pair *p = *state;
	char err[512];

	assert_int_equal(db_exec(p->to, "INSERT INTO login_failures"
	    " (scope, window_start, failures) VALUES ('ip:1', 1, 1)"), DB_OK);
	assert_int_equal(dbcopy_run(p->from, p->to, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "table login_failures has 1 row(s)"));
	is(p->to, "SELECT count(*) FROM tenants", "0");
}

static void
test_schema_versions(void **state)
{
	struct pair *p = *state;
	char err[512];

	assert_int_equal(db_exec(p->to, "DELETE FROM schema_migrations WHERE"
	    " version = (SELECT max(version) FROM schema_migrations)"), DB_OK);
	assert_int_equal(dbcopy_run(p->from, p->to, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "use the filestorctl that migrated the "
	    "source"));
	assert_int_equal(db_exec(p->from, "DELETE FROM schema_migrations WHERE"
	    " version = (SELECT max(version) FROM schema_migrations)"), DB_OK);
	assert_int_equal(db_exec(p->from, "DELETE FROM schema_migrations WHERE"
	    " version = (SELECT max(version) FROM schema_migrations)"), DB_OK);
	assert_int_equal(dbcopy_run(p->from, p->to, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "migrate the source first"));
}

/* Columns go by name: a column only one side has is refused, and
 * nothing is left in the target. */
static void
test_columns(void **state)
{
	struct pair *p = *state;
	char err[512];

	assert_int_equal(db_exec(p->from, "ALTER TABLE folders ADD COLUMN"
	    " colour TEXT"), DB_OK);
	assert_int_equal(dbcopy_run(p->from, p->to, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "table folders: the target has no column "
	    "colour");
	is(p->to, "SELECT count(*) FROM users", "0");
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test_setup_teardown(test_tables_listed, setup, teardown),
    cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
    cmocka_unit_test_setup_teardown(test_target_not_empty, setup, teardown),
    cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
    cmocka_unit_test_setup_teardown(test_columns, setup, teardown))
