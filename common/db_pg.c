/*
 * db_pg: PostgreSQL's side of common/db.h, on libpq.
 *
 * One connection per process. The SQL the modules write uses "?" and
 * "?N" placeholders, SQLite's; a statement is translated to "$N" once,
 * when it is made. Cached statements (db_stmt) become named prepared
 * statements on their first run, and again after a reconnect; one-shot
 * ones run unnamed. Parameters go as text, but for blobs (binary bytea)
 * and integers (declared int8, so that an expression like "? - col" has
 * a type); a text or NULL parameter takes the type its context gives it.
 * Results come as text: integers are parsed, bytea is decoded.
 *
 * Write transactions take one advisory lock (see db_begin in db.h);
 * SQLSTATEs map onto SQLite's result codes (pg_code).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"

/* The advisory lock every write transaction takes: "FSDB". */
#define PG_WRITE_LOCK	"1179861058"
#define PG_BYTEA	17
#define PG_INT8		20
#define PG_INT2		21
#define PG_INT4		23
#define PG_BOOL		16
#define PG_FLOAT4	700
#define PG_FLOAT8	701
#define PG_NUMERIC	1700
#define PG_TEXT		25
/* libpq's limit on a statement's parameters. */
#define PG_MAX_PARAMS	65535

static int
conn_lost(struct db *db)
{
	if (PQstatus(db->pg) == CONNECTION_OK)
		return 0;
	db->lost = 1;
	return 1;
}

/* Record res's error (res may be NULL: the connection's) and return
 * its code. */
static int
pg_code(struct db *db, const PGresult *res)
{
	const char *state = NULL, *msg, *cons;
	int code = DB_ERROR;

	if (res != NULL)
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	msg = res != NULL ? PQresultErrorMessage(res) : "";
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(db->pg);
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg);
	db->errmsg[strcspn(db->errmsg, "\n")] = '\0';
	if (conn_lost(db))
		code = DB_UNAVAILABLE;
	else if (state == NULL)
		code = DB_ERROR;
	else if (strcmp(state, "23505") == 0) {
		cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
		code = cons != NULL && strlen(cons) > 5 &&
		    strcmp(cons + strlen(cons) - 5, "_pkey") == 0 ?
		    DB_CONSTRAINT_PRIMARYKEY : DB_CONSTRAINT_UNIQUE;
	} else if (strcmp(state, "23503") == 0)
		code = DB_CONSTRAINT_FOREIGNKEY;
	else if (strcmp(state, "23514") == 0)
		code = DB_CONSTRAINT_CHECK;
	else if (strcmp(state, "23502") == 0)
		code = DB_CONSTRAINT_NOTNULL;
	else if (strncmp(state, "23", 2) == 0)
		code = DB_CONSTRAINT;
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
		code = DB_BUSY;
	else if (strcmp(state, "53100") == 0)
		code = DB_FULL;
	else if (strcmp(state, "53200") == 0)
		code = DB_NOMEM;
	else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
		code = DB_UNAVAILABLE;
		db->lost = 1;
	}
	db->errcode = code;
	return code;
}

struct db *
pg_open(const char *uri, int flags, char *err, size_t errlen)
{
	struct db *db;

	db = calloc(1, sizeof(*db));
	if (db == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->engine = DB_PG;
	db->no_prepare = (flags & DB_OPEN_NO_PREPARE) != 0;
	db->pg = PQconnectdb(uri);
	if (db->pg == NULL || PQstatus(db->pg) != CONNECTION_OK) {
		/* libpq's message names the server, never the password. */
		snprintf(err, errlen, "cannot connect to PostgreSQL: %s",
		    db->pg != NULL ? PQerrorMessage(db->pg) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(db->pg);
		free(db);
		return NULL;
	}
	db->gen = 1;
	return db;
}

void
pg_close(struct db *db)
{
	PQfinish(db->pg);
}

/*
 * Has the server hung up on this idle connection? PQstatus only learns
 * of it on the next read, so without this the first request after a
 * restart or a failover would fail (a 503) in every worker. A backend
 * that the server ends sends its FATAL and closes: the socket reads as
 * ready, PQconsumeInput takes the FATAL, and the next one the end.
 * Nothing else comes unasked on an idle connection but a notice now and
 * then. Polls with no wait: no round trip.
 */
static int
hung_up(struct db *db)
{
	struct pollfd p;
	int i;

	p.fd = PQsocket(db->pg);
	if (p.fd < 0)
		return 1;
	for (i = 0; i < 4; i++) {
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 0) <= 0)
			return 0;
		if (!PQconsumeInput(db->pg) ||
		    PQstatus(db->pg) != CONNECTION_OK)
			return 1;
	}
	/* Still more: not a conversation this connection should have. */
	return 1;
}

int
pg_ping(struct db *db)
{
	if (PQstatus(db->pg) == CONNECTION_OK && !hung_up(db)) {
		db->lost = 0;
		return DB_OK;
	}
	PQreset(db->pg);
	if (PQstatus(db->pg) != CONNECTION_OK) {
		db->lost = 1;
		snprintf(db->errmsg, sizeof(db->errmsg), "%s",
		    PQerrorMessage(db->pg));
		db->errmsg[strcspn(db->errmsg, "\n")] = '\0';
		return db->errcode = DB_UNAVAILABLE;
	}
	/* The new session has none of the old one's prepared statements. */
	db->gen++;
	db->lost = 0;
	return DB_OK;
}

/* Run a simple query (several statements allowed): DB_OK or the error.
 * When want is not NULL, the last command's tag must be it. */
static int
simple(struct db *db, const char *sql, const char *want)
{
	PGresult *res;
	ExecStatusType s;
	int rc = DB_OK;

	res = PQexec(db->pg, sql);
	s = PQresultStatus(res);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		rc = pg_code(db, res);
	else if (want != NULL && strcmp(PQcmdStatus(res), want) != 0) {
		/* COMMIT of a failed transaction says ROLLBACK. */
		snprintf(db->errmsg, sizeof(db->errmsg), "the transaction "
		    "failed and was rolled back");
		rc = db->errcode = DB_ERROR;
	} else
		db->changes = atoll(PQcmdTuples(res));
	PQclear(res);
	return rc;
}

int
pg_exec(struct db *db, const char *sql)
{
	return simple(db, sql, NULL);
}

int
pg_begin(struct db *db)
{
	/* lock_timeout is SQLite's busy timeout: DB_BUSY after it. */
	return simple(db, "BEGIN; SET LOCAL lock_timeout = 5000;"
	    " SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")", NULL);
}

int
pg_commit(struct db *db)
{
	return simple(db, "COMMIT", "COMMIT");
}

void
pg_rollback(struct db *db)
{
	if (PQtransactionStatus(db->pg) != PQTRANS_IDLE &&
	    PQtransactionStatus(db->pg) != PQTRANS_UNKNOWN)
		(void)simple(db, "ROLLBACK", NULL);
}

/*
 * SQLite's placeholders to PostgreSQL's: "?N" is $N and a bare "?" is
 * one more than the largest number so far, as SQLite numbers them.
 * Quoted strings and identifiers are copied as they are.
 */
static char *
translate(const char *sql, int *nparams, unsigned char *used, int nused)
{
	char *out, *o;
	const char *s;
	int max = 0, n;
	char q;

	/* "?" becomes at most "$32767": 6 bytes more. */
	out = malloc(strlen(sql) * 6 + 1);
	if (out == NULL)
		return NULL;
	for (s = sql, o = out; *s != '\0'; ) {
		if (*s == '\'' || *s == '"') {
			q = *s;
			*o++ = *s++;
			while (*s != '\0' && *s != q)
				*o++ = *s++;
			if (*s != '\0')
				*o++ = *s++;
			continue;
		}
		if (*s != '?') {
			*o++ = *s++;
			continue;
		}
		s++;
		if (*s >= '0' && *s <= '9') {
			n = (int)strtol(s, (char **)&s, 10);
		} else
			n = max + 1;
		if (n > max)
			max = n;
		if (n >= 1 && n <= nused)
			used[n - 1] = 1;
		o += sprintf(o, "$%d", n);
	}
	*o = '\0';
	*nparams = max;
	return out;
}

int
pg_stmt_init(struct db *db, struct db_stmt *st, const char *sql, int cached)
{
	unsigned char used[PG_MAX_PARAMS];
	int i, n;

	memset(used, 0, sizeof(used));
	st->sql = translate(sql, &st->nparams, used, PG_MAX_PARAMS);
	if (st->sql == NULL)
		return db->errcode = DB_NOMEM;
	if (st->nparams > PG_MAX_PARAMS) {
		snprintf(db->errmsg, sizeof(db->errmsg), "more than %d "
		    "parameters", PG_MAX_PARAMS);
		return db->errcode = DB_RANGE;
	}
	n = st->nparams > 0 ? st->nparams : 1;
	st->vals = calloc((size_t)n, sizeof(*st->vals));
	st->lens = calloc((size_t)n, sizeof(*st->lens));
	st->fmts = calloc((size_t)n, sizeof(*st->fmts));
	st->types = calloc((size_t)n, sizeof(*st->types));
	if (st->vals == NULL || st->lens == NULL || st->fmts == NULL ||
	    st->types == NULL)
		return db->errcode = DB_NOMEM;
	/* A number the SQL never names has no context to give it a type
	 * ("... WHERE relay = ?2" binding ?1 too): say text. */
	for (i = 0; i < st->nparams; i++)
		if (!used[i])
			st->types[i] = PG_TEXT;
	if (cached && !db->no_prepare)
		snprintf(st->name, sizeof(st->name), "fs%u", ++db->seq);
	st->row = -1;
	return DB_OK;
}

static void
blobs_free(struct db_stmt *st)
{
	int i;

	for (i = 0; i < st->nblobs; i++)
		if (st->blobs[i] != NULL)
			PQfreemem(st->blobs[i]);
	free(st->blobs);
	free(st->bloblens);
	st->blobs = NULL;
	st->bloblens = NULL;
	st->nblobs = 0;
}

void
pg_stmt_reset(struct db_stmt *st)
{
	int i;

	blobs_free(st);
	PQclear(st->res);
	st->res = NULL;
	st->row = -1;
	st->nrows = 0;
	for (i = 0; i < st->nparams; i++) {
		free(st->vals[i]);
		st->vals[i] = NULL;
		st->lens[i] = 0;
		st->fmts[i] = 0;
	}
}

void
pg_stmt_free(struct db_stmt *st)
{
	if (st->vals != NULL)
		pg_stmt_reset(st);
	free(st->sql);
	free(st->vals);
	free(st->lens);
	free(st->fmts);
	free(st->types);
}

int
pg_bind(struct db_stmt *st, int i, const char *p, int n, int binary,
    unsigned type)
{
	char *v = NULL;

	if (i < 1 || i > st->nparams)
		return DB_RANGE;
	if (p != NULL) {
		v = malloc((size_t)n + 1);
		if (v == NULL)
			return DB_NOMEM;
		memcpy(v, p, (size_t)n);
		v[n] = '\0';
	}
	free(st->vals[i - 1]);
	st->vals[i - 1] = v;
	st->lens[i - 1] = n;
	st->fmts[i - 1] = binary;
	/* A parameter's type is the one its first non-NULL value said. */
	if (p != NULL && st->types[i - 1] == 0 && st->gen != st->db->gen)
		st->types[i - 1] = type;
	return DB_OK;
}

static PGresult *
run(struct db_stmt *st)
{
	struct db *db = st->db;
	PGresult *res;
	const char *state;

	if (st->name[0] == '\0')
		return PQexecParams(db->pg, st->sql, st->nparams,
		    (const Oid *)st->types, (const char *const *)st->vals,
		    st->lens, st->fmts, 0);
	if (st->gen != db->gen) {
		res = PQprepare(db->pg, st->name, st->sql, st->nparams,
		    (const Oid *)st->types);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
		st->gen = db->gen;
	}
	res = PQexecPrepared(db->pg, st->name, st->nparams,
	    (const char *const *)st->vals, st->lens, st->fmts, 0);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* Gone from under us (a pooler's new server connection): once more,
	 * prepared again. */
	if (state != NULL && strcmp(state, "26000") == 0 &&
	    PQtransactionStatus(db->pg) == PQTRANS_IDLE) {
		PQclear(res);
		res = PQprepare(db->pg, st->name, st->sql, st->nparams,
		    (const Oid *)st->types);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
		res = PQexecPrepared(db->pg, st->name, st->nparams,
		    (const char *const *)st->vals, st->lens, st->fmts, 0);
	}
	return res;
}

int
pg_step(struct db_stmt *st)
{
	struct db *db = st->db;
	ExecStatusType s;
	int rc;

	if (st->res == NULL) {
		if (PQstatus(db->pg) != CONNECTION_OK) {
			db->lost = 1;
			return db->errcode = DB_UNAVAILABLE;
		}
		st->res = run(st);
		s = PQresultStatus(st->res);
		if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
			rc = pg_code(db, st->res);
			PQclear(st->res);
			st->res = NULL;
			return rc;
		}
		st->nrows = s == PGRES_TUPLES_OK ? PQntuples(st->res) : 0;
		st->row = -1;
		if (PQcmdTuples(st->res)[0] != '\0')
			db->changes = atoll(PQcmdTuples(st->res));
	}
	blobs_free(st);
	if (st->row + 1 >= st->nrows) {
		st->row = st->nrows;
		return DB_DONE;
	}
	st->row++;
	return DB_ROW;
}

static int
has_cell(struct db_stmt *st, int i)
{
	return st->res != NULL && st->row >= 0 && st->row < st->nrows &&
	    i >= 0 && i < PQnfields(st->res) &&
	    !PQgetisnull(st->res, st->row, i);
}

int
pg_col_type(struct db_stmt *st, int i)
{
	if (!has_cell(st, i))
		return DB_NULL;
	switch (PQftype(st->res, i)) {
	case PG_INT8:
	case PG_INT4:
	case PG_INT2:
	case PG_BOOL:
		return DB_INTEGER;
	case PG_FLOAT4:
	case PG_FLOAT8:
	case PG_NUMERIC:
		return DB_FLOAT;
	case PG_BYTEA:
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

const unsigned char *
pg_col_text(struct db_stmt *st, int i)
{
	if (!has_cell(st, i))
		return NULL;
	return (const unsigned char *)PQgetvalue(st->res, st->row, i);
}

const void *
pg_col_blob(struct db_stmt *st, int i, int *n)
{
	size_t len = 0;

	if (n != NULL)
		*n = 0;
	if (!has_cell(st, i))
		return NULL;
	if (PQftype(st->res, i) != PG_BYTEA) {
		if (n != NULL)
			*n = PQgetlength(st->res, st->row, i);
		return PQgetvalue(st->res, st->row, i);
	}
	if (st->blobs == NULL) {
		st->nblobs = PQnfields(st->res);
		st->blobs = calloc((size_t)st->nblobs, sizeof(*st->blobs));
		st->bloblens = calloc((size_t)st->nblobs,
		    sizeof(*st->bloblens));
		if (st->blobs == NULL || st->bloblens == NULL) {
			blobs_free(st);
			return NULL;
		}
	}
	if (st->blobs[i] == NULL) {
		st->blobs[i] = PQunescapeBytea((const unsigned char *)
		    PQgetvalue(st->res, st->row, i), &len);
		st->bloblens[i] = len;
	}
	if (n != NULL)
		*n = (int)st->bloblens[i];
	return st->blobs[i];
}

int
pg_plan(struct db *db, struct db_stmt *st, void (*fn)(void *, const char *),
    void *arg)
{
	PGresult *res;
	char *sql;
	int i, rc = -1;

	if (asprintf(&sql, "EXPLAIN %s", st->sql) == -1)
		return -1;
	res = PQexecParams(db->pg, sql, st->nparams, (const Oid *)st->types,
	    (const char *const *)st->vals, st->lens, st->fmts, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		for (i = 0; i < PQntuples(res); i++)
			fn(arg, PQgetvalue(res, i, 0));
		rc = 0;
	} else
		(void)pg_code(db, res);
	PQclear(res);
	free(sql);
	return rc;
}
