/*
 * db: SQLite setup and migrations.
 *
 * Every connection runs in WAL mode with a busy timeout and foreign keys
 * on, so that many FastCGI processes share one database file. The
 * migrations in sql/NNNN-*.sql are compiled into the library at build
 * time and applied in order; each applied one is recorded in
 * schema_migrations.
 */
#ifndef FS_DB_H
#define FS_DB_H

#include <stddef.h>
#include <sqlite3.h>

#define DB_BUSY_MS	5000

/* Open path (read-write, creating it when create) and set the pragmas.
 * Returns the handle or NULL with a message in err. */
sqlite3	*db_open(const char *path, int create, char *err, size_t errlen);
void	 db_close(sqlite3 *db);

/* Apply pending migrations. Returns the number applied, or -1 with err. */
int	 db_migrate(sqlite3 *db, char *err, size_t errlen);
/* 1 when every migration compiled in has been applied, else 0. */
int	 db_is_current(sqlite3 *db);

/* Current time as epoch seconds and as "2026-01-01T00:00:00.000Z". */
long long db_now(void);
void	 db_iso8601(long long t, char out[32]);

/* One-shot helpers. exec runs SQL with no parameters. */
int	 db_exec(sqlite3 *db, const char *sql);
/* Transactions: BEGIN IMMEDIATE, COMMIT, ROLLBACK. SQLITE_OK or error. */
int	 db_begin(sqlite3 *db);
int	 db_commit(sqlite3 *db);
void	 db_rollback(sqlite3 *db);

/*
 * A per-process cache of prepared statements, keyed by SQL text, for the
 * statements every request runs (auth, permissions, row loads): parsing
 * them again per request costs more than running them. db_stmt returns
 * a reset statement with no bindings, or NULL; give it back with
 * db_stmt_done (never sqlite3_finalize). db_stmt_done(NULL) is harmless.
 * The cache belongs to one connection; db_close() empties it.
 */
sqlite3_stmt *db_stmt(sqlite3 *db, const char *sql);
void	 db_stmt_done(sqlite3_stmt *st);
/*
 * The query plan of st (EXPLAIN QUERY PLAN, its bindings moved over):
 * fn(arg, detail) for each line. 0 or -1 on error.
 */
int	 db_plan(sqlite3 *db, sqlite3_stmt *st,
	    void (*fn)(void *, const char *), void *arg);
/* Step st once: 1 when it gives a row, 0 when done, -1 on error. */
int	 db_exists(sqlite3_stmt *st);
/*
 * Run a write statement prepared with sqlite3_prepare_v2 to completion
 * and finalize it (st may be NULL). SQLITE_OK when it is done, else
 * SQLite's result (SQLITE_CONSTRAINT_..., SQLITE_BUSY...).
 */
int	 db_run(sqlite3_stmt *st);

/*
 * One read snapshot for several statements: a deferred transaction that
 * takes the WAL read lock once. db_read_end is harmless without a
 * matching begin. End it before streaming a body, so a slow client never
 * holds back checkpoints.
 */
void	 db_read_begin(sqlite3 *db);
void	 db_read_end(sqlite3 *db);

/*
 * Backups (filestorctl backup, common/backup.c). db_backup_to copies the
 * whole database into a new file at path with SQLite's online backup
 * API, in one step, so the copy is one consistent snapshot even while
 * the programs write; the copy is left in rollback-journal mode, one
 * self-contained file (db_open turns WAL on again when it is opened
 * after a restore). A file at path is refused. 0, or -1 with err.
 * db_schema_version: the highest migration applied, or -1.
 * db_table_counts: fn(arg, table, rows) for every table but SQLite's own,
 * in name order, until fn returns -1. 0, or -1.
 */
int	 db_backup_to(sqlite3 *db, const char *path, char *err, size_t errlen);
int	 db_schema_version(sqlite3 *db);
int	 db_table_counts(sqlite3 *db,
	    int (*fn)(void *, const char *, long long), void *arg);

/* Migration table compiled in by the build (build/migrations.c). */
struct db_migration {
	int		 version;
	const char	*name;
	const char	*sql;
};
extern const struct db_migration db_migrations[];
extern const size_t db_nmigrations;

#endif
