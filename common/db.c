/*
 * db: SQLite setup and the migration runner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"

sqlite3 *
db_open(const char *path, int create, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc;

	if (create)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(db, DB_BUSY_MS);
	sqlite3_extended_result_codes(db, 1);
	/*
	 * WAL lets readers run beside the one writer; synchronous=NORMAL is
	 * durable across process crashes in WAL mode and only risks the last
	 * transactions on power loss, which the file bytes (fsync'd before
	 * the row is written) already bound.
	 */
	if (db_exec(db, "PRAGMA journal_mode=WAL") != SQLITE_OK ||
	    db_exec(db, "PRAGMA synchronous=NORMAL") != SQLITE_OK ||
	    db_exec(db, "PRAGMA foreign_keys=ON") != SQLITE_OK) {
		snprintf(err, errlen, "cannot set up database %s: %s", path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	return db;
fail:
	sqlite3_close(db);
	return NULL;
}

#define DB_STMT_CACHE	48

static struct {
	sqlite3		*db;
	char		*sql;
	sqlite3_stmt	*st;
} stmt_cache[DB_STMT_CACHE];

sqlite3_stmt *
db_stmt(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	size_t i, free_slot = DB_STMT_CACHE;

	for (i = 0; i < DB_STMT_CACHE; i++) {
		if (stmt_cache[i].st == NULL) {
			if (free_slot == DB_STMT_CACHE)
				free_slot = i;
			continue;
		}
		if (stmt_cache[i].db == db && strcmp(stmt_cache[i].sql, sql) == 0) {
			sqlite3_reset(stmt_cache[i].st);
			sqlite3_clear_bindings(stmt_cache[i].st);
			return stmt_cache[i].st;
		}
	}
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL) != SQLITE_OK)
		return NULL;
	/* A full cache still works: the statement is then one-shot. */
	if (free_slot < DB_STMT_CACHE) {
		stmt_cache[free_slot].sql = strdup(sql);
		if (stmt_cache[free_slot].sql != NULL) {
			stmt_cache[free_slot].db = db;
			stmt_cache[free_slot].st = st;
			return st;
		}
	}
	return st;	/* uncached: db_stmt_done finalizes it */
}

void
db_stmt_done(sqlite3_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < DB_STMT_CACHE; i++)
		if (stmt_cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);
}

/* Run a cached parameterless statement once (BEGIN and COMMIT). */
static void
run_cached(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = db_stmt(db, sql);

	if (st != NULL)
		(void)sqlite3_step(st);
	db_stmt_done(st);
}

void
db_read_begin(sqlite3 *db)
{
	if (sqlite3_get_autocommit(db))
		run_cached(db, "BEGIN DEFERRED");
}

void
db_read_end(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		run_cached(db, "COMMIT");
}

void
db_close(sqlite3 *db)
{
	size_t i;

	for (i = 0; i < DB_STMT_CACHE; i++) {
		if (stmt_cache[i].db != db || stmt_cache[i].st == NULL)
			continue;
		sqlite3_finalize(stmt_cache[i].st);
		free(stmt_cache[i].sql);
		memset(&stmt_cache[i], 0, sizeof(stmt_cache[i]));
	}
	sqlite3_close(db);
}

int
db_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

int
db_begin(sqlite3 *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int
db_commit(sqlite3 *db)
{
	return db_exec(db, "COMMIT");
}

void
db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		(void)db_exec(db, "ROLLBACK");
}

long long
db_now(void)
{
	return (long long)time(NULL);
}

void
db_iso8601(long long t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, 32, "1970-01-01T00:00:00.000Z");
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static int
ensure_table(sqlite3 *db)
{
	return db_exec(db,
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version INTEGER PRIMARY KEY,"
	    " name TEXT NOT NULL,"
	    " applied_at INTEGER NOT NULL)");
}

int
db_exists(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
db_run(sqlite3_stmt *st)
{
	int rc;

	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* 1 when version is recorded, 0 when not, -1 on error. */
static int
is_applied(sqlite3 *db, int version)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	rc = sqlite3_prepare_v2(db,
	    "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_int(st, 1, version);
	ret = db_exists(st);
out:
	sqlite3_finalize(st);
	return ret;
}

int
db_migrate(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int applied = 0, done;

	if (ensure_table(db) != SQLITE_OK)
		goto dberr;
	for (i = 0; i < db_nmigrations; i++) {
		const struct db_migration *m = &db_migrations[i];

		/*
		 * Each migration runs in its own IMMEDIATE transaction and is
		 * re-checked inside it, so two processes migrating at once
		 * apply it exactly once.
		 */
		if (db_begin(db) != SQLITE_OK)
			goto dberr;
		done = is_applied(db, m->version);
		if (done == -1)
			goto dberr;
		if (done) {
			db_rollback(db);
			continue;
		}
		if (db_exec(db, m->sql) != SQLITE_OK) {
			snprintf(err, errlen, "migration %s failed: %s",
			    m->name, sqlite3_errmsg(db));
			goto fail;
		}
		if (sqlite3_prepare_v2(db, "INSERT INTO schema_migrations "
		    "(version, name, applied_at) VALUES (?, ?, ?)", -1, &st,
		    NULL) != SQLITE_OK)
			goto dberr;
		sqlite3_bind_int(st, 1, m->version);
		sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, db_now());
		if (sqlite3_step(st) != SQLITE_DONE)
			goto dberr;
		sqlite3_finalize(st);
		st = NULL;
		if (db_commit(db) != SQLITE_OK)
			goto dberr;
		applied++;
	}
	return applied;
dberr:
	snprintf(err, errlen, "migration: %s", sqlite3_errmsg(db));
fail:
	sqlite3_finalize(st);
	db_rollback(db);
	return -1;
}

int
db_is_current(sqlite3 *db)
{
	size_t i;

	for (i = 0; i < db_nmigrations; i++)
		if (is_applied(db, db_migrations[i].version) != 1)
			return 0;
	return 1;
}

int
db_plan(sqlite3 *db, sqlite3_stmt *st, void (*fn)(void *, const char *),
    void *arg)
{
	sqlite3_stmt *ex = NULL;
	char *sql;
	size_t n;
	int rc = -1;

	n = strlen(sqlite3_sql(st)) + 32;
	sql = malloc(n);
	if (sql == NULL)
		return -1;
	snprintf(sql, n, "EXPLAIN QUERY PLAN %s", sqlite3_sql(st));
	if (sqlite3_prepare_v2(db, sql, -1, &ex, NULL) == SQLITE_OK &&
	    sqlite3_transfer_bindings(st, ex) == SQLITE_OK) {
		while (sqlite3_step(ex) == SQLITE_ROW)
			fn(arg, (const char *)sqlite3_column_text(ex, 3));
		rc = 0;
	}
	sqlite3_finalize(ex);
	free(sql);
	return rc;
}

/* Copy db into the open connection to, in one step (one snapshot). */
static int
backup_copy(sqlite3 *db, sqlite3 *to)
{
	sqlite3_backup *b;
	int rc, tries = 0;

	b = sqlite3_backup_init(to, "main", db, "main");
	if (b == NULL)
		return sqlite3_errcode(to);
	/* The source's lock is waited for, as a writer would be. */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
	    rc == SQLITE_LOCKED) {
		if (++tries * 50 > DB_BUSY_MS)
			break;
		sqlite3_sleep(50);
	}
	(void)sqlite3_backup_finish(b);
	return rc == SQLITE_DONE ? sqlite3_errcode(to) : rc;
}

int
db_backup_to(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3 *to = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &to, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = backup_copy(db, to);
	/* The copy says WAL, as its source: make it one plain file. */
	if (rc == SQLITE_OK)
		rc = db_exec(to, "PRAGMA journal_mode=DELETE");
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "cannot copy the database to %s: %s",
		    path, to != NULL ? sqlite3_errmsg(to) : sqlite3_errstr(rc));
	if (sqlite3_close(to) != SQLITE_OK && rc == SQLITE_OK) {
		snprintf(err, errlen, "cannot close %s", path);
		rc = SQLITE_ERROR;
	}
	return rc == SQLITE_OK ? 0 : -1;
}

int
db_schema_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db, "SELECT IFNULL(MAX(version), 0) FROM"
	    " schema_migrations", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The rows of one table (its name quoted), or -1. */
static long long
table_rows(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;
	char *sql;

	sql = sqlite3_mprintf("SELECT COUNT(*) FROM \"%w\"", name);
	if (sql != NULL && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return n;
}

int
db_table_counts(sqlite3 *db, int (*fn)(void *, const char *, long long),
    void *arg)
{
	sqlite3_stmt *st = NULL;
	long long n;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE"
	    " type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
	    " ORDER BY name", -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		n = table_rows(db, name);
		if (n < 0 || fn(arg, name, n) == -1) {
			rc = SQLITE_ERROR;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
