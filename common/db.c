/*
 * db: the API both engines share, SQLite's side of it, and the
 * migration runner. PostgreSQL's side is in db_pg.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_int.h"

#define IS_PG(db)	((db)->engine == DB_PG)

int
db_is_pg_uri(const char *name)
{
	return name != NULL && (strncmp(name, "postgresql://", 13) == 0 ||
	    strncmp(name, "postgres://", 11) == 0);
}

static struct db *
lite_open(const char *path, int oflags, char *err, size_t errlen)
{
	struct db *db;
	sqlite3 *lite = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc;

	if (oflags & DB_OPEN_READONLY)
		flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
	else if (oflags & DB_OPEN_CREATE)
		flags |= SQLITE_OPEN_CREATE;
	db = calloc(1, sizeof(*db));
	if (db == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->engine = DB_SQLITE;
	rc = sqlite3_open_v2(path, &lite, flags, NULL);
	db->lite = lite;
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
		    lite != NULL ? sqlite3_errmsg(lite) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(lite, DB_BUSY_MS);
	sqlite3_extended_result_codes(lite, 1);
	if (oflags & DB_OPEN_READONLY)
		return db;
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
		    sqlite3_errmsg(lite));
		goto fail;
	}
	return db;
fail:
	sqlite3_close(lite);
	free(db);
	return NULL;
}

struct db *
db_open(const char *name, int flags, char *err, size_t errlen)
{
	if (db_is_pg_uri(name))
		return pg_open(name, flags, err, errlen);
	return lite_open(name, flags, err, errlen);
}

enum db_engine
db_engine(const struct db *db)
{
	return db->engine;
}

int
db_ping(struct db *db)
{
	return IS_PG(db) ? pg_ping(db) : DB_OK;
}

int
db_unavailable(const struct db *db)
{
	return db != NULL && db->lost;
}

#define DB_STMT_CACHE	48

static struct db_stmt *stmt_cache[DB_STMT_CACHE];

static void
stmt_free(struct db_stmt *st)
{
	if (st->lite != NULL)
		sqlite3_finalize(st->lite);
	if (IS_PG(st->db))
		pg_stmt_free(st);
	free((char *)st->orig);
	free(st);
}

static struct db_stmt *
stmt_new(struct db *db, const char *sql, int cached)
{
	struct db_stmt *st;

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->db = db;
	st->cached = cached;
	if ((st->orig = strdup(sql)) == NULL)
		goto fail;
	if (IS_PG(db)) {
		if (pg_stmt_init(db, st, sql, cached) != DB_OK)
			goto fail;
	} else if (sqlite3_prepare_v3(db->lite, sql, -1, cached ?
	    SQLITE_PREPARE_PERSISTENT : 0, &st->lite, NULL) != SQLITE_OK)
		goto fail;
	return st;
fail:
	stmt_free(st);
	return NULL;
}

struct db_stmt *
db_stmt(struct db *db, const char *sql)
{
	struct db_stmt *st;
	size_t i, free_slot = DB_STMT_CACHE;

	for (i = 0; i < DB_STMT_CACHE; i++) {
		if (stmt_cache[i] == NULL) {
			if (free_slot == DB_STMT_CACHE)
				free_slot = i;
			continue;
		}
		if (stmt_cache[i]->db == db &&
		    strcmp(stmt_cache[i]->orig, sql) == 0) {
			db_reset(stmt_cache[i]);
			return stmt_cache[i];
		}
	}
	/* A full cache still works: the statement is then one-shot. */
	st = stmt_new(db, sql, free_slot < DB_STMT_CACHE);
	if (st != NULL && st->cached)
		stmt_cache[free_slot] = st;
	return st;
}

void
db_stmt_done(struct db_stmt *st)
{
	if (st == NULL)
		return;
	if (st->cached)
		db_reset(st);
	else
		stmt_free(st);
}

int
db_prepare(struct db *db, const char *sql, struct db_stmt **stp)
{
	*stp = stmt_new(db, sql, 0);
	if (*stp != NULL)
		return DB_OK;
	return IS_PG(db) ? db->errcode : sqlite3_errcode(db->lite);
}

void
db_finalize(struct db_stmt *st)
{
	db_stmt_done(st);
}

void
db_reset(struct db_stmt *st)
{
	if (IS_PG(st->db))
		pg_stmt_reset(st);
	else {
		sqlite3_reset(st->lite);
		sqlite3_clear_bindings(st->lite);
	}
}

const char *
db_sql(const struct db_stmt *st)
{
	return st->orig;
}

int
db_bind_text(struct db_stmt *st, int i, const char *s, int n)
{
	if (s == NULL)
		return db_bind_null(st, i);
	if (IS_PG(st->db))
		return pg_bind(st, i, s, n < 0 ? (int)strlen(s) : n, 0, 0);
	return sqlite3_bind_text(st->lite, i, s, n, SQLITE_TRANSIENT);
}

int
db_bind_int64(struct db_stmt *st, int i, long long v)
{
	char buf[24];

	if (IS_PG(st->db)) {
		snprintf(buf, sizeof(buf), "%lld", v);
		return pg_bind(st, i, buf, (int)strlen(buf), 0, 20 /* int8 */);
	}
	return sqlite3_bind_int64(st->lite, i, v);
}

int
db_bind_int(struct db_stmt *st, int i, int v)
{
	return db_bind_int64(st, i, v);
}

int
db_bind_double(struct db_stmt *st, int i, double v)
{
	char buf[40];

	if (IS_PG(st->db)) {
		snprintf(buf, sizeof(buf), "%.17g", v);
		return pg_bind(st, i, buf, (int)strlen(buf), 0,
		    701 /* float8 */);
	}
	return sqlite3_bind_double(st->lite, i, v);
}

int
db_bind_blob(struct db_stmt *st, int i, const void *p, int n)
{
	if (IS_PG(st->db))
		return pg_bind(st, i, p != NULL ? p : "", n, 1,
		    17 /* bytea */);
	return sqlite3_bind_blob(st->lite, i, p, n, SQLITE_TRANSIENT);
}

int
db_bind_null(struct db_stmt *st, int i)
{
	if (IS_PG(st->db))
		return pg_bind(st, i, NULL, 0, 0, 0);
	return sqlite3_bind_null(st->lite, i);
}

int
db_bind_count(const struct db_stmt *st)
{
	if (IS_PG(st->db))
		return st->nparams;
	return sqlite3_bind_parameter_count(st->lite);
}

int
db_step(struct db_stmt *st)
{
	if (IS_PG(st->db))
		return pg_step(st);
	return sqlite3_step(st->lite);
}

int
db_col_type(struct db_stmt *st, int i)
{
	if (IS_PG(st->db))
		return pg_col_type(st, i);
	return sqlite3_column_type(st->lite, i);
}

const unsigned char *
db_col_text(struct db_stmt *st, int i)
{
	if (IS_PG(st->db))
		return pg_col_text(st, i);
	return sqlite3_column_text(st->lite, i);
}

long long
db_col_int64(struct db_stmt *st, int i)
{
	const char *s;

	if (!IS_PG(st->db))
		return sqlite3_column_int64(st->lite, i);
	s = (const char *)pg_col_text(st, i);
	if (s == NULL)
		return 0;
	if (strcmp(s, "t") == 0)
		return 1;
	return strtoll(s, NULL, 10);
}

int
db_col_int(struct db_stmt *st, int i)
{
	return (int)db_col_int64(st, i);
}

const void *
db_col_blob(struct db_stmt *st, int i)
{
	if (IS_PG(st->db))
		return pg_col_blob(st, i, NULL);
	return sqlite3_column_blob(st->lite, i);
}

int
db_col_bytes(struct db_stmt *st, int i)
{
	int n = 0;

	if (!IS_PG(st->db))
		return sqlite3_column_bytes(st->lite, i);
	if (pg_col_type(st, i) == DB_BLOB)
		(void)pg_col_blob(st, i, &n);
	else if (pg_col_text(st, i) != NULL)
		n = (int)strlen((const char *)pg_col_text(st, i));
	return n;
}

const char *
db_errmsg(struct db *db)
{
	return IS_PG(db) ? db->errmsg : sqlite3_errmsg(db->lite);
}

int
db_errcode(const struct db *db)
{
	return IS_PG(db) ? db->errcode : sqlite3_extended_errcode(db->lite);
}

long long
db_changes(const struct db *db)
{
	return IS_PG(db) ? db->changes : sqlite3_changes(db->lite);
}

/* Run a cached parameterless statement once (BEGIN and COMMIT). */
static void
run_cached(struct db *db, const char *sql)
{
	struct db_stmt *st = db_stmt(db, sql);

	if (st != NULL)
		(void)db_step(st);
	db_stmt_done(st);
}

void
db_read_begin(struct db *db)
{
	if (!IS_PG(db) && sqlite3_get_autocommit(db->lite))
		run_cached(db, "BEGIN DEFERRED");
}

void
db_read_end(struct db *db)
{
	if (!IS_PG(db) && !sqlite3_get_autocommit(db->lite))
		run_cached(db, "COMMIT");
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < DB_STMT_CACHE; i++) {
		if (stmt_cache[i] == NULL || stmt_cache[i]->db != db)
			continue;
		stmt_free(stmt_cache[i]);
		stmt_cache[i] = NULL;
	}
	if (IS_PG(db))
		pg_close(db);
	else
		sqlite3_close(db->lite);
	free(db);
}

int
db_exec(struct db *db, const char *sql)
{
	if (IS_PG(db))
		return pg_exec(db, sql);
	return sqlite3_exec(db->lite, sql, NULL, NULL, NULL);
}

int
db_begin(struct db *db)
{
	return IS_PG(db) ? pg_begin(db) : db_exec(db, "BEGIN IMMEDIATE");
}

int
db_commit(struct db *db)
{
	return IS_PG(db) ? pg_commit(db) : db_exec(db, "COMMIT");
}

void
db_rollback(struct db *db)
{
	if (IS_PG(db))
		pg_rollback(db);
	else if (!sqlite3_get_autocommit(db->lite))
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
ensure_table(struct db *db)
{
	return db_exec(db,
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version INTEGER PRIMARY KEY,"
	    " name TEXT NOT NULL,"
	    " applied_at BIGINT NOT NULL)");
}

int
db_exists(struct db_stmt *st)
{
	int rc = db_step(st);

	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

int
db_run(struct db_stmt *st)
{
	int rc;

	if (st == NULL)
		return DB_MISUSE;
	rc = db_step(st);
	db_finalize(st);
	return rc == DB_DONE ? DB_OK : rc;
}

static const struct db_migration *
migrations(const struct db *db, size_t *n)
{
	*n = IS_PG(db) ? db_pg_nmigrations : db_nmigrations;
	return IS_PG(db) ? db_pg_migrations : db_migrations;
}

/* 1 when version is recorded, 0 when not, -1 on error. */
static int
is_applied(struct db *db, int version)
{
	struct db_stmt *st;
	int ret = -1;

	st = db_stmt(db, "SELECT 1 FROM schema_migrations WHERE version = ?");
	if (st != NULL) {
		db_bind_int(st, 1, version);
		ret = db_exists(st);
	}
	db_stmt_done(st);
	return ret;
}

int
db_migrate(struct db *db, char *err, size_t errlen)
{
	const struct db_migration *all;
	struct db_stmt *st = NULL;
	size_t i, n;
	int applied = 0, done;

	all = migrations(db, &n);
	if (ensure_table(db) != DB_OK)
		goto dberr;
	for (i = 0; i < n; i++) {
		const struct db_migration *m = &all[i];

		/*
		 * Each migration runs in its own write transaction and is
		 * re-checked inside it, so two processes migrating at once
		 * apply it exactly once.
		 */
		if (db_begin(db) != DB_OK)
			goto dberr;
		done = is_applied(db, m->version);
		if (done == -1)
			goto dberr;
		if (done) {
			db_rollback(db);
			continue;
		}
		if (db_exec(db, m->sql) != DB_OK) {
			snprintf(err, errlen, "migration %s failed: %s",
			    m->name, db_errmsg(db));
			goto fail;
		}
		if (db_prepare(db, "INSERT INTO schema_migrations "
		    "(version, name, applied_at) VALUES (?, ?, ?)", &st) !=
		    DB_OK)
			goto dberr;
		db_bind_int(st, 1, m->version);
		db_bind_text(st, 2, m->name, -1);
		db_bind_int64(st, 3, db_now());
		if (db_run(st) != DB_OK)
			goto dberr;
		if (db_commit(db) != DB_OK)
			goto dberr;
		applied++;
	}
	return applied;
dberr:
	snprintf(err, errlen, "migration: %s", db_errmsg(db));
fail:
	db_rollback(db);
	return -1;
}

int
db_is_current(struct db *db)
{
	const struct db_migration *all;
	size_t i, n;

	all = migrations(db, &n);
	for (i = 0; i < n; i++)
		if (is_applied(db, all[i].version) != 1)
			return 0;
	return 1;
}

int
db_plan(struct db *db, struct db_stmt *st, void (*fn)(void *, const char *),
    void *arg)
{
	sqlite3_stmt *ex = NULL;
	char *sql;
	size_t n;
	int rc = -1;

	if (IS_PG(db))
		return pg_plan(db, st, fn, arg);
	n = strlen(sqlite3_sql(st->lite)) + 32;
	sql = malloc(n);
	if (sql == NULL)
		return -1;
	snprintf(sql, n, "EXPLAIN QUERY PLAN %s", sqlite3_sql(st->lite));
	if (sqlite3_prepare_v2(db->lite, sql, -1, &ex, NULL) == SQLITE_OK &&
	    sqlite3_transfer_bindings(st->lite, ex) == SQLITE_OK) {
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
db_backup_to(struct db *db, const char *path, char *err, size_t errlen)
{
	sqlite3 *to = NULL;
	int rc;

	if (IS_PG(db)) {
		snprintf(err, errlen, "the database is PostgreSQL: back it up "
		    "with pg_dump (docs/scale-out.md)");
		return -1;
	}
	rc = sqlite3_open_v2(path, &to, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = backup_copy(db->lite, to);
	/* The copy says WAL, as its source: make it one plain file. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL,
		    NULL);
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
db_schema_version(struct db *db)
{
	struct db_stmt *st = NULL;
	int v = -1;

	if (db_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM"
	    " schema_migrations", &st) == DB_OK && db_step(st) == DB_ROW)
		v = db_col_int(st, 0);
	db_finalize(st);
	return v;
}

/* The rows of one table (its name quoted), or -1. */
static long long
table_rows(struct db *db, const char *name)
{
	struct db_stmt *st = NULL;
	long long n = -1;
	char *sql;

	if (strchr(name, '"') != NULL ||
	    asprintf(&sql, "SELECT COUNT(*) FROM \"%s\"", name) == -1)
		return -1;
	if (db_prepare(db, sql, &st) == DB_OK && db_step(st) == DB_ROW)
		n = db_col_int64(st, 0);
	db_finalize(st);
	free(sql);
	return n;
}

int
db_table_counts(struct db *db, int (*fn)(void *, const char *, long long),
    void *arg)
{
	struct db_stmt *st = NULL;
	long long n;
	int rc;

	if (db_prepare(db, IS_PG(db) ?
	    "SELECT table_name FROM information_schema.tables WHERE"
	    " table_schema = current_schema() AND table_type = 'BASE TABLE'"
	    " ORDER BY table_name COLLATE \"C\"" :
	    "SELECT name FROM sqlite_schema WHERE"
	    " type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
	    " ORDER BY name", &st) != DB_OK)
		return -1;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = (const char *)db_col_text(st, 0);

		n = table_rows(db, name);
		if (n < 0 || fn(arg, name, n) == -1) {
			rc = DB_ERROR;
			break;
		}
	}
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}
