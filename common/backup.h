/*
 * backup: filestorctl backup and verify (docs/operations.md §5).
 *
 * backup_make(db, c, dir) copies the database the programs use into
 * dir/filestor.db with SQLite's online backup API (db_backup_to: one
 * consistent snapshot, safe while the programs write), then writes
 * dir/manifest.json, last, so that a directory with a manifest holds a
 * whole backup:
 *
 *   {"format": "filestor-backup/1", "createdAt": ISO 8601,
 *    "schemaVersion": N, "database": {"file": "filestor.db",
 *    "bytes": N, "sha256": hex}, "rows": {TABLE: N, ...},
 *    "store": {"kind": "local", "dataDir": PATH} or
 *             {"kind": "s3", "bucket": B, "endpoint": URL, "region": R}}
 *
 * The schema version and the row counts are read from the copy itself,
 * so they describe exactly the bytes the sha256 covers. The objects are
 * not copied (rsync or the bucket's own means: docs/operations.md §5).
 * dir is made (0700) when missing; one that already holds filestor.db
 * or manifest.json is refused. 0, or -1 with err (and nothing at the
 * final names).
 *
 * backup_verify(db, s, fn, arg, r) checks the rows against the store:
 * every row's object (its pending one first, as readers do) is read
 * whole and must have the row's size and sha256; then every stored
 * object that no row names is an orphan (the walk filestorctl gc removes
 * them with, file_orphans). Each problem is fn(arg, what, pkey, detail),
 * what one of "missing", "size", "sha256", "unreadable", "orphan". The
 * counts go to *r. 0 when the checks ran (problems or not), -1 when they
 * could not (database or store failure; r holds what was done).
 */
#ifndef FS_BACKUP_H
#define FS_BACKUP_H

#include <stddef.h>
#include "db.h"

struct cfg;
struct store;

#define BACKUP_DB_FILE		"filestor.db"
#define BACKUP_MANIFEST		"manifest.json"
#define BACKUP_FORMAT		"filestor-backup/1"

struct backup_summary {
	long long	 bytes;		/* of the copy */
	char		 sha256[65];
	int		 schema;
	long long	 files;		/* rows of files */
};

int	 backup_make(struct db *db, const struct cfg *c, const char *dir,
	    struct backup_summary *sum, char *err, size_t errlen);

struct backup_report {
	long long	 rows;		/* rows checked */
	long long	 ok;
	long long	 missing;
	long long	 bad_size;
	long long	 bad_sha256;
	long long	 unreadable;
	long long	 orphans;
};

typedef void	(*backup_problem_fn)(void *arg, const char *what,
		    const char *pkey, const char *detail);

int	 backup_verify(struct db *db, struct store *s, backup_problem_fn fn,
	    void *arg, struct backup_report *r);
/* The problems in r (all but rows and ok). */
long long backup_problems(const struct backup_report *r);

#endif
