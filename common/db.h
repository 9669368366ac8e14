/*
 * db: the metadata database, on SQLite or PostgreSQL, and its migrations.
 *
 * FILESTOR_DB names it: a libpq connection URI ("postgresql://..." or
 * "postgres://...") opens PostgreSQL, anything else is a SQLite path.
 * The table modules see one API for both engines: statements with "?"
 * (or "?N") placeholders, bound, stepped and read a row at a time, with
 * SQLite's result codes. Each engine's differences live here and in
 * db_pg.c (placeholders, transactions, error codes); the SQL the modules
 * write is the part both engines accept (docs/scale-out.md, "Dialect").
 *
 * SQLite: every connection runs in WAL mode with a busy timeout and
 * foreign keys on, so that many FastCGI processes share one file.
 * PostgreSQL: one connection per process, prepared statements for the
 * cached ones, reconnected by db_ping() after it drops.
 *
 * The migrations in sql/NNNN-*.sql (SQLite) and sql/pg/NNNN-*.sql
 * (PostgreSQL), with the same numbers, are compiled into the library at
 * build time and applied in order; each applied one is recorded in
 * schema_migrations.
 */
#ifndef FS_DB_H
#define FS_DB_H

#include <stddef.h>

#define DB_BUSY_MS	5000

struct db;
struct db_stmt;

enum db_engine {
	DB_SQLITE,
	DB_PG
};

/* Result codes: SQLite's values (extended codes for constraints), which
 * the PostgreSQL side maps its SQLSTATEs onto. */
#define DB_OK			0
#define DB_ERROR		1
#define DB_BUSY			5
#define DB_LOCKED		6
#define DB_NOMEM		7
#define DB_FULL			13
#define DB_UNAVAILABLE		14	/* the server cannot be reached */
#define DB_CONSTRAINT		19
#define DB_MISUSE		21
#define DB_RANGE		25
#define DB_ROW			100
#define DB_DONE			101
#define DB_CONSTRAINT_CHECK	(DB_CONSTRAINT | (1 << 8))
#define DB_CONSTRAINT_FOREIGNKEY (DB_CONSTRAINT | (3 << 8))
#define DB_CONSTRAINT_NOTNULL	(DB_CONSTRAINT | (5 << 8))
#define DB_CONSTRAINT_PRIMARYKEY (DB_CONSTRAINT | (6 << 8))
#define DB_CONSTRAINT_TRIGGER	(DB_CONSTRAINT | (7 << 8))
#define DB_CONSTRAINT_UNIQUE	(DB_CONSTRAINT | (8 << 8))

/* Column types (db_col_type). */
#define DB_INTEGER	1
#define DB_FLOAT	2
#define DB_TEXT		3
#define DB_BLOB		4
#define DB_NULL		5

/* 1 when name is a PostgreSQL connection URI. */
int	 db_is_pg_uri(const char *name);

/*
 * Open name (a SQLite path or a PostgreSQL URI) and set it up. flags:
 * DB_OPEN_CREATE makes a missing SQLite file; DB_OPEN_READONLY opens a
 * SQLite file to read only, as it is (a backup's copy);
 * DB_OPEN_NO_PREPARE sends every PostgreSQL statement with its text, for
 * a pooler that cannot keep prepared ones (docs/scale-out.md). Returns the
 * handle or NULL with a message in err (never a URI's password).
 */
#define DB_OPEN_CREATE		1
#define DB_OPEN_READONLY	2
#define DB_OPEN_NO_PREPARE	4	/* PostgreSQL: no named statements */
struct db *db_open(const char *name, int flags, char *err, size_t errlen);
void	 db_close(struct db *db);
enum db_engine db_engine(const struct db *db);

/*
 * Before each request: DB_OK when the connection works, reconnecting a
 * PostgreSQL connection that dropped (its prepared statements go with
 * it); DB_UNAVAILABLE when the server still cannot be reached. SQLite:
 * always DB_OK.
 */
int	 db_ping(struct db *db);
/* 1 when the last failure was the server going away (answer 503). */
int	 db_unavailable(const struct db *db);

/* Apply pending migrations. Returns the number applied, or -1 with err. */
int	 db_migrate(struct db *db, char *err, size_t errlen);
/* 1 when every migration compiled in has been applied, else 0. */
int	 db_is_current(struct db *db);

/* Current time as epoch seconds and as "2026-01-01T00:00:00.000Z". */
long long db_now(void);
void	 db_iso8601(long long t, char out[32]);

/* Run SQL with no parameters (several statements allowed). DB_OK or
 * an error code. */
int	 db_exec(struct db *db, const char *sql);
/*
 * Write transactions. db_begin is SQLite's BEGIN IMMEDIATE: one writer
 * at a time. On PostgreSQL it takes a transaction-scoped advisory lock
 * that every db_begin takes, so that write transactions stay one at a
 * time across every host, as SQLite's single writer made them
 * (docs/scale-out.md, "Atomicity"). DB_OK or error.
 */
int	 db_begin(struct db *db);
int	 db_commit(struct db *db);
void	 db_rollback(struct db *db);

/*
 * Statements. db_stmt returns a cached statement (per process, keyed by
 * SQL text; a PostgreSQL prepared statement) for the ones every request
 * runs, reset and with no bindings, or NULL; give it back with
 * db_stmt_done. db_prepare makes a one-shot statement (DB_OK, or an
 * error code with *st NULL); db_finalize frees it. Either function
 * takes either kind; NULL is harmless.
 */
struct db_stmt *db_stmt(struct db *db, const char *sql);
void	 db_stmt_done(struct db_stmt *st);
int	 db_prepare(struct db *db, const char *sql, struct db_stmt **st);
void	 db_finalize(struct db_stmt *st);
/* Reset st to run again, its bindings cleared. */
void	 db_reset(struct db_stmt *st);
const char *db_sql(const struct db_stmt *st);

/* Bind parameter i (from 1). Text and blobs are copied. n < 0: strlen. */
int	 db_bind_text(struct db_stmt *st, int i, const char *s, int n);
int	 db_bind_int64(struct db_stmt *st, int i, long long v);
int	 db_bind_int(struct db_stmt *st, int i, int v);
int	 db_bind_double(struct db_stmt *st, int i, double v);
int	 db_bind_blob(struct db_stmt *st, int i, const void *p, int n);
int	 db_bind_null(struct db_stmt *st, int i);
/* The highest parameter number in st's SQL. */
int	 db_bind_count(const struct db_stmt *st);

/* DB_ROW with a row to read, DB_DONE, or an error code. */
int	 db_step(struct db_stmt *st);
/* The current row's column i (from 0). Text is NULL for NULL. */
int	 db_col_type(struct db_stmt *st, int i);
const unsigned char *db_col_text(struct db_stmt *st, int i);
long long db_col_int64(struct db_stmt *st, int i);
int	 db_col_int(struct db_stmt *st, int i);
const void *db_col_blob(struct db_stmt *st, int i);
int	 db_col_bytes(struct db_stmt *st, int i);

/* The last error of db: its message and its code. */
const char *db_errmsg(struct db *db);
int	 db_errcode(const struct db *db);
/* Rows the last INSERT, UPDATE or DELETE changed. */
long long db_changes(const struct db *db);

/*
 * The query plan of st (its bindings used): fn(arg, line) for each line
 * (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN). 0 or -1.
 */
int	 db_plan(struct db *db, struct db_stmt *st,
	    void (*fn)(void *, const char *), void *arg);
/* Step st once: 1 when it gives a row, 0 when done, -1 on error. */
int	 db_exists(struct db_stmt *st);
/*
 * Run a one-shot write statement (from db_prepare) to completion and
 * finalize it (st may be NULL). DB_OK when it is done, else the error.
 */
int	 db_run(struct db_stmt *st);

/*
 * One read snapshot for several statements: SQLite's deferred
 * transaction, which takes the WAL read lock once (PostgreSQL: nothing,
 * each statement reads committed data). db_read_end is harmless
 * without a matching begin. End it before streaming a body, so a slow
 * client never holds back checkpoints.
 */
void	 db_read_begin(struct db *db);
void	 db_read_end(struct db *db);

/*
 * Backups (filestorctl backup, common/backup.c). db_backup_to copies the
 * whole SQLite database into a new file at path with SQLite's online
 * backup API, in one step, so the copy is one consistent snapshot even
 * while the programs write; the copy is left in rollback-journal mode,
 * one self-contained file (db_open turns WAL on again when it is opened
 * after a restore). A file at path is refused. PostgreSQL is refused
 * (pg_dump backs it up). 0, or -1 with err.
 * db_schema_version: the highest migration applied, or -1.
 * db_table_counts: fn(arg, table, rows) for every table but the engine's
 * own, in name order, until fn returns -1. 0, or -1.
 */
int	 db_backup_to(struct db *db, const char *path, char *err,
	    size_t errlen);
int	 db_schema_version(struct db *db);
int	 db_table_counts(struct db *db,
	    int (*fn)(void *, const char *, long long), void *arg);

/* Migration tables compiled in by the build (build/migrations.c). */
struct db_migration {
	int		 version;
	const char	*name;
	const char	*sql;
};
extern const struct db_migration db_migrations[];
extern const size_t db_nmigrations;
extern const struct db_migration db_pg_migrations[];
extern const size_t db_pg_nmigrations;

#endif
