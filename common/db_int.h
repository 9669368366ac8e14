/*
 * db_int.h: what db.c (the API and SQLite) and db_pg.c (PostgreSQL)
 * share. Nothing else includes it.
 */
#ifndef FS_DB_INT_H
#define FS_DB_INT_H

#include <sqlite3.h>
#include <libpq-fe.h>

#include "db.h"

struct db {
	enum db_engine	 engine;
	sqlite3		*lite;
	PGconn		*pg;
	int		 errcode;	/* PostgreSQL: the last error */
	char		 errmsg[256];
	long long	 changes;
	int		 in_tx;		/* PostgreSQL: BEGIN sent */
	int		 lost;		/* the last failure was the server */
	unsigned	 gen;		/* PostgreSQL: connection generation */
	unsigned	 seq;		/* PostgreSQL: prepared statement names */
	int		 no_prepare;	/* PostgreSQL: DB_OPEN_NO_PREPARE */
};

struct db_stmt {
	struct db	*db;
	int		 cached;
	sqlite3_stmt	*lite;
	/* PostgreSQL */
	char		*sql;		/* with $N placeholders */
	const char	*orig;		/* as the caller wrote it */
	char		 name[16];	/* prepared statement; "" one-shot */
	unsigned	 gen;		/* connection it was prepared on */
	int		 nparams;
	char		**vals;
	int		*lens;
	int		*fmts;
	unsigned	*types;
	PGresult	*res;
	int		 row;
	int		 nrows;
	unsigned char	**blobs;	/* bytea columns decoded, per column */
	size_t		*bloblens;
	int		 nblobs;
};

/* db_pg.c */
struct db	*pg_open(const char *uri, int flags, char *err, size_t errlen);
void		 pg_close(struct db *);
int		 pg_ping(struct db *);
int		 pg_exec(struct db *, const char *);
int		 pg_begin(struct db *);
int		 pg_commit(struct db *);
void		 pg_rollback(struct db *);
int		 pg_stmt_init(struct db *, struct db_stmt *, const char *,
		    int cached);
void		 pg_stmt_reset(struct db_stmt *);
void		 pg_stmt_free(struct db_stmt *);
int		 pg_bind(struct db_stmt *, int, const char *, int, int,
		    unsigned);
int		 pg_step(struct db_stmt *);
int		 pg_col_type(struct db_stmt *, int);
const unsigned char *pg_col_text(struct db_stmt *, int);
const void	*pg_col_blob(struct db_stmt *, int, int *);
int		 pg_plan(struct db *, struct db_stmt *,
		    void (*)(void *, const char *), void *);

#endif
