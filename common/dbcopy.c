/*
 * dbcopy: every row of one database into another, empty one of the same
 * schema (dbcopy.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "dbcopy.h"

#define DBCOPY_MAX_TABLES	64
#define DBCOPY_MAX_COLS		64
#define DBCOPY_NAME		64

/*
 * Parents before children: every foreign key of a table points at a
 * table above it (sql/, sql/pg/). A migration that adds a table adds it
 * here, or to dbcopy_skipped[] with the reason.
 */
const char *const dbcopy_tables[] = {
	"tenants",
	"users",
	"roles",
	"memberships",
	"permissions",
	"api_keys",
	"sessions",
	"folders",
	"files",
	"agents",
	"agent_enroll_tokens",
	"login_failures",
	"uploads",
	"upload_parts",
	"s3_keys",
	"s3_uploads",
	"s3_parts",
};
const size_t dbcopy_ntables = sizeof(dbcopy_tables) / sizeof(dbcopy_tables[0]);

const struct dbcopy_skip dbcopy_skipped[] = {
	{ "schema_migrations", "each database records its own migrations" },
	{ "agent_relays", "which relay holds each agent's WebSocket now: "
	    "runtime state, written again as the agents reconnect" },
};
const size_t dbcopy_nskipped = sizeof(dbcopy_skipped) /
    sizeof(dbcopy_skipped[0]);

struct table {
	char		 name[DBCOPY_NAME];
	long long	 rows;
};

struct tables {
	struct table	 t[DBCOPY_MAX_TABLES];
	size_t		 n;
};

struct column {
	char		 name[DBCOPY_NAME];
	int		 blob;		/* the target's is BYTEA (BLOB) */
	int		 serial;	/* an identity column (PostgreSQL) */
};

struct columns {
	struct column	 c[DBCOPY_MAX_COLS];
	size_t		 n;
};

/* A name we put between double quotes as it is: [a-z0-9_], short. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < DBCOPY_NAME &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int
listed(const char *name)
{
	size_t i;

	for (i = 0; i < dbcopy_ntables; i++)
		if (strcmp(dbcopy_tables[i], name) == 0)
			return 1;
	return 0;
}

static int
skipped(const char *name)
{
	size_t i;

	for (i = 0; i < dbcopy_nskipped; i++)
		if (strcmp(dbcopy_skipped[i].table, name) == 0)
			return 1;
	return 0;
}

static int
add_table(void *arg, const char *name, long long rows)
{
	struct tables *ts = arg;

	if (ts->n == DBCOPY_MAX_TABLES || strlen(name) >= DBCOPY_NAME)
		return -1;
	snprintf(ts->t[ts->n].name, DBCOPY_NAME, "%s", name);
	ts->t[ts->n].rows = rows;
	ts->n++;
	return 0;
}

static const struct table *
find_table(const struct tables *ts, const char *name)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (strcmp(ts->t[i].name, name) == 0)
			return &ts->t[i];
	return NULL;
}

/* The tables of db with their rows; then the list check: every one is
 * listed or skipped, every listed one is there. 0, or -1 with err. */
static int
read_tables(struct db *db, const char *which, struct tables *ts, char *err,
    size_t errlen)
{
	size_t i;

	ts->n = 0;
	if (db_table_counts(db, add_table, ts) == -1) {
		snprintf(err, errlen, "cannot list the tables of the %s: %s",
		    which, db_errmsg(db));
		return -1;
	}
	for (i = 0; i < ts->n; i++) {
		if (!listed(ts->t[i].name) && !skipped(ts->t[i].name)) {
			snprintf(err, errlen, "the %s has a table db copy does "
			    "not know, %s: add it to dbcopy_tables "
			    "(common/dbcopy.c)", which, ts->t[i].name);
			return -1;
		}
	}
	for (i = 0; i < dbcopy_ntables; i++) {
		if (find_table(ts, dbcopy_tables[i]) == NULL) {
			snprintf(err, errlen, "the %s has no table %s", which,
			    dbcopy_tables[i]);
			return -1;
		}
	}
	return 0;
}

int
dbcopy_check_tables(struct db *db, char *err, size_t errlen)
{
	struct tables *ts;
	int rc;

	ts = calloc(1, sizeof(*ts));
	if (ts == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = read_tables(db, "database", ts, err, errlen);
	free(ts);
	return rc;
}

/* The columns of table in db, in their order. 0, or -1 with err. */
static int
read_columns(struct db *db, const char *table, struct columns *cs,
    char *err, size_t errlen)
{
	struct db_stmt *st = NULL;
	const char *name, *type;
	int rc;

	cs->n = 0;
	rc = db_prepare(db, db_engine(db) == DB_PG ?
	    "SELECT column_name, data_type, is_identity = 'YES' OR"
	    " COALESCE(column_default, '') LIKE 'nextval(%'"
	    " FROM information_schema.columns"
	    " WHERE table_schema = current_schema() AND table_name = ?"
	    " ORDER BY ordinal_position" :
	    "SELECT name, type, 0 FROM pragma_table_info(?) ORDER BY cid",
	    &st);
	if (rc == DB_OK)
		rc = db_bind_text(st, 1, table, -1);
	while (rc == DB_OK && (rc = db_step(st)) == DB_ROW) {
		name = (const char *)db_col_text(st, 0);
		type = (const char *)db_col_text(st, 1);
		if (name == NULL || !name_ok(name) ||
		    cs->n == DBCOPY_MAX_COLS) {
			snprintf(err, errlen, "table %s: a column db copy "
			    "cannot name (\"%.64s\")", table,
			    name != NULL ? name : "");
			db_finalize(st);
			return -1;
		}
		snprintf(cs->c[cs->n].name, DBCOPY_NAME, "%s", name);
		cs->c[cs->n].blob = type != NULL &&
		    (strcasecmp(type, "bytea") == 0 ||
		    strcasecmp(type, "blob") == 0);
		cs->c[cs->n].serial = db_col_int(st, 2) != 0;
		cs->n++;
		rc = DB_OK;
	}
	db_finalize(st);
	if (rc != DB_DONE) {
		snprintf(err, errlen, "table %s: cannot read its columns: %s",
		    table, db_errmsg(db));
		return -1;
	}
	return 0;
}

static int
has_column(const struct columns *cs, const char *name)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (strcmp(cs->c[i].name, name) == 0)
			return 1;
	return 0;
}

/* The same column names on both sides. 0, or -1 with err. */
static int
same_columns(const char *table, const struct columns *src,
    const struct columns *dst, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < dst->n; i++) {
		if (!has_column(src, dst->c[i].name)) {
			snprintf(err, errlen, "table %s: the source has no "
			    "column %s", table, dst->c[i].name);
			return -1;
		}
	}
	for (i = 0; i < src->n; i++) {
		if (!has_column(dst, src->c[i].name)) {
			snprintf(err, errlen, "table %s: the target has no "
			    "column %s", table, src->c[i].name);
			return -1;
		}
	}
	return 0;
}

/* "SELECT "a", "b" FROM "t"" and "INSERT INTO "t" ("a", "b") VALUES
 * (?1, ?2)". 0, or -1 (out of memory). */
static int
make_sql(const char *table, const struct columns *cs, char **sel, char **ins)
{
	size_t i, n = 64 + 2 * strlen(table);
	char *s, *t;
	int off = 0, off2 = 0;

	for (i = 0; i < cs->n; i++)
		n += strlen(cs->c[i].name) + 16;
	s = malloc(n);
	t = malloc(n);
	if (s == NULL || t == NULL) {
		free(s);
		free(t);
		return -1;
	}
	off = snprintf(s, n, "SELECT ");
	off2 = snprintf(t, n, "INSERT INTO \"%s\" (", table);
	for (i = 0; i < cs->n; i++)
		off += snprintf(s + off, n - (size_t)off, "%s\"%s\"",
		    i > 0 ? ", " : "", cs->c[i].name);
	snprintf(s + off, n - (size_t)off, " FROM \"%s\"", table);
	for (i = 0; i < cs->n; i++)
		off2 += snprintf(t + off2, n - (size_t)off2, "%s\"%s\"",
		    i > 0 ? ", " : "", cs->c[i].name);
	off2 += snprintf(t + off2, n - (size_t)off2, ") VALUES (");
	for (i = 0; i < cs->n; i++)
		off2 += snprintf(t + off2, n - (size_t)off2, "%s?%zu",
		    i > 0 ? ", " : "", i + 1);
	snprintf(t + off2, n - (size_t)off2, ")");
	*sel = s;
	*ins = t;
	return 0;
}

/* Bind column i of the source's row to parameter i + 1, as the source
 * holds it. DB_OK, or an error code with err. */
static int
bind_value(struct db_stmt *sel, struct db_stmt *ins, size_t i,
    const struct column *col, const char *table, char *err, size_t errlen)
{
	const void *p;
	int k = (int)i, n;

	switch (db_col_type(sel, k)) {
	case DB_INTEGER:
		return db_bind_int64(ins, k + 1, db_col_int64(sel, k));
	case DB_FLOAT:
		return db_bind_double(ins, k + 1, strtod((const char *)
		    db_col_text(sel, k), NULL));
	case DB_TEXT:
	case DB_BLOB:
		p = db_col_type(sel, k) == DB_TEXT ?
		    (const void *)db_col_text(sel, k) : db_col_blob(sel, k);
		n = db_col_bytes(sel, k);
		if (p == NULL)
			p = "";
		if (col->blob)
			return db_bind_blob(ins, k + 1, p, n);
		/* Text parameters end at a NUL: refuse rather than cut. */
		if (memchr(p, '\0', (size_t)n) != NULL) {
			snprintf(err, errlen, "table %s, column %s: a value "
			    "with a NUL byte in a text column", table,
			    col->name);
			return DB_MISUSE;
		}
		return db_bind_text(ins, k + 1, p, n);
	default:
		return db_bind_null(ins, k + 1);
	}
}

/*
 * PostgreSQL: the sequence of each identity column of table past the
 * largest value copied, so that the next insert that takes the default
 * gets a new one. DB_OK or the error.
 */
static int
reset_serials(struct db *to, const char *table, const struct columns *cs)
{
	struct db_stmt *st = NULL;
	char sql[512];
	size_t i;
	int rc;

	for (i = 0; i < cs->n; i++) {
		if (!cs->c[i].serial)
			continue;
		snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence("
		    "'%s', '%s'), COALESCE(MAX(\"%s\"), 0) + 1, false) FROM "
		    "\"%s\"", table, cs->c[i].name, cs->c[i].name, table);
		rc = db_prepare(to, sql, &st);
		if (rc != DB_OK)
			return rc;
		rc = db_step(st);
		db_finalize(st);
		if (rc != DB_ROW)
			return rc;
	}
	return DB_OK;
}

/* Copy one table's rows; *rows is how many. 0, or -1 with err. */
static int
copy_table(struct db *from, struct db *to, const char *table,
    long long *rows, char *err, size_t errlen)
{
	struct columns *src = NULL, *dst = NULL;
	struct db_stmt *sel = NULL, *ins = NULL;
	char *ssql = NULL, *isql = NULL;
	size_t i;
	int rc, ret = -1;

	*rows = 0;
	src = calloc(1, sizeof(*src));
	dst = calloc(1, sizeof(*dst));
	if (src == NULL || dst == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (read_columns(to, table, dst, err, errlen) == -1 ||
	    read_columns(from, table, src, err, errlen) == -1 ||
	    same_columns(table, src, dst, err, errlen) == -1)
		goto out;
	if (make_sql(table, dst, &ssql, &isql) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (db_prepare(from, ssql, &sel) != DB_OK) {
		snprintf(err, errlen, "table %s: cannot read the source: %s",
		    table, db_errmsg(from));
		goto out;
	}
	ins = db_stmt(to, isql);
	if (ins == NULL) {
		snprintf(err, errlen, "table %s: cannot write the target: %s",
		    table, db_errmsg(to));
		goto out;
	}
	while ((rc = db_step(sel)) == DB_ROW) {
		for (i = 0; i < dst->n; i++) {
			err[0] = '\0';
			rc = bind_value(sel, ins, i, &dst->c[i], table, err,
			    errlen);
			if (rc != DB_OK) {
				if (err[0] == '\0')
					snprintf(err, errlen, "table %s: cannot "
					    "bind column %s: %s", table,
					    dst->c[i].name, db_errmsg(to));
				goto out;
			}
		}
		rc = db_step(ins);
		if (rc != DB_DONE) {
			snprintf(err, errlen, "table %s, row %lld of the "
			    "source: %s", table, *rows + 1, db_errmsg(to));
			goto out;
		}
		db_reset(ins);
		(*rows)++;
	}
	if (rc != DB_DONE) {
		snprintf(err, errlen, "table %s: cannot read the source: %s",
		    table, db_errmsg(from));
		goto out;
	}
	if (db_engine(to) == DB_PG && reset_serials(to, table, dst) != DB_OK) {
		snprintf(err, errlen, "table %s: cannot set its sequence: %s",
		    table, db_errmsg(to));
		goto out;
	}
	ret = 0;
out:
	db_finalize(sel);
	db_stmt_done(ins);
	free(ssql);
	free(isql);
	free(src);
	free(dst);
	return ret;
}

/* The schema versions are the same. 0, or -1 with err. */
static int
same_version(struct db *from, struct db *to, char *err, size_t errlen)
{
	int vf = db_schema_version(from), vt = db_schema_version(to);

	if (vf < 0 || vt < 0) {
		snprintf(err, errlen, "cannot read the schema version of the "
		    "%s: %s", vf < 0 ? "source" : "target",
		    db_errmsg(vf < 0 ? from : to));
		return -1;
	}
	if (vf < vt) {
		snprintf(err, errlen, "the source is at schema version %d, the "
		    "target at %d: migrate the source first (filestorctl "
		    "migrate with FILESTOR_DB set to it)", vf, vt);
		return -1;
	}
	if (vf > vt) {
		snprintf(err, errlen, "the source is at schema version %d, the "
		    "target at %d: use the filestorctl that migrated the "
		    "source, for both", vf, vt);
		return -1;
	}
	return 0;
}

int
dbcopy_run(struct db *from, struct db *to, dbcopy_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct tables *src = NULL, *dst = NULL;
	const struct table *t;
	long long rows;
	size_t i;
	int ret = -1, began = 0;

	src = calloc(1, sizeof(*src));
	dst = calloc(1, sizeof(*dst));
	if (src == NULL || dst == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* One snapshot of the source; the target locked for writing. */
	db_read_begin(from);
	if (db_begin(to) != DB_OK) {
		snprintf(err, errlen, "cannot begin a transaction on the "
		    "target: %s", db_errmsg(to));
		goto out;
	}
	began = 1;
	if (same_version(from, to, err, errlen) == -1 ||
	    read_tables(from, "source", src, err, errlen) == -1 ||
	    read_tables(to, "target", dst, err, errlen) == -1)
		goto out;
	for (i = 0; i < dbcopy_ntables; i++) {
		t = find_table(dst, dbcopy_tables[i]);
		if (t != NULL && t->rows > 0) {
			snprintf(err, errlen, "the target is not empty: table "
			    "%s has %lld row(s); db copy fills a new, migrated "
			    "database", t->name, t->rows);
			goto out;
		}
	}
	for (i = 0; i < dbcopy_ntables; i++) {
		if (copy_table(from, to, dbcopy_tables[i], &rows, err,
		    errlen) == -1)
			goto out;
		t = find_table(src, dbcopy_tables[i]);
		if (t != NULL && t->rows != rows) {
			snprintf(err, errlen, "table %s: %lld rows copied, the "
			    "source counted %lld", dbcopy_tables[i], rows,
			    t->rows);
			goto out;
		}
		if (fn != NULL && fn(arg, dbcopy_tables[i], rows) == -1) {
			snprintf(err, errlen, "stopped after table %s",
			    dbcopy_tables[i]);
			goto out;
		}
	}
	if (db_commit(to) != DB_OK) {
		snprintf(err, errlen, "cannot commit the copy: %s",
		    db_errmsg(to));
		goto out;
	}
	began = 0;
	ret = 0;
out:
	if (began)
		db_rollback(to);
	db_read_end(from);
	free(src);
	free(dst);
	return ret;
}
