/*
 * dbcopy: filestorctl db copy, the move of a single-host install's
 * metadata from SQLite into PostgreSQL (issue 18; docs/operations.md §5,
 * "From SQLite to PostgreSQL").
 *
 * dbcopy_run(from, to, fn, arg) copies every row of the tables in
 * dbcopy_tables[] from the database from into the database to, in that
 * order (parents before children, so that every foreign key holds at
 * each insert). Both must be at the same schema version
 * (db_schema_version), and every table of either must be listed in
 * dbcopy_tables[] or dbcopy_skipped[] (schema_migrations aside), so that
 * a migration that adds a table fails the copy (and the unit test)
 * until this list knows it. Each table's columns are the target's, read
 * by name from the source; the two must have the same column names.
 * Values are bound as the source holds them (integer, real, text, blob,
 * NULL); text into a bytea column goes as its bytes.
 *
 * The target must be empty: a copied table with rows is refused, named.
 * The source is read in one read transaction (one snapshot), the target
 * written in one write transaction (db_begin): nothing is left half
 * copied. On PostgreSQL, each identity column's sequence (permissions.id)
 * is then set past the largest id copied. fn(arg, table, rows) is called
 * after each table (nothing is committed until the last); -1 from it
 * stops the copy. The engines are the caller's to choose: the tool copies
 * a SQLite file into PostgreSQL; the unit test copies SQLite into SQLite.
 * 0, or -1 with err.
 *
 * dbcopy_check_tables(db) is the list check alone: 0 when every table of
 * db is listed, -1 with err naming the first that is not, or a listed
 * one db lacks.
 */
#ifndef FS_DBCOPY_H
#define FS_DBCOPY_H

#include <stddef.h>
#include "db.h"

/* The tables copied, in foreign-key order. */
extern const char *const dbcopy_tables[];
extern const size_t dbcopy_ntables;

/* The tables deliberately not copied, and why. */
struct dbcopy_skip {
	const char	*table;
	const char	*why;
};
extern const struct dbcopy_skip dbcopy_skipped[];
extern const size_t dbcopy_nskipped;

typedef int	(*dbcopy_fn)(void *arg, const char *table, long long rows);

int	 dbcopy_check_tables(struct db *db, char *err, size_t errlen);
int	 dbcopy_run(struct db *from, struct db *to, dbcopy_fn fn, void *arg,
	    char *err, size_t errlen);

#endif
