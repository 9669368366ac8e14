/*
 * perm: the condition DSL compiler and the permission lookup (DESIGN §4).
 *
 * The compiler walks the cJSON tree once and writes SQL into a growable
 * buffer. Everything it writes comes from this file: column expressions
 * from the allowlist tables below, operators, parentheses, "?", CAST and
 * the literals TRUE and FALSE. Field names and values from the condition
 * never reach the SQL text; values travel only as bound parameters. The
 * unit test checks that by tokenizing every fragment it generates.
 *
 * One SQL text for both engines (SQLite and PostgreSQL, common/db.h): the
 * fragment uses only what both accept and mean alike, and it compares a
 * column only with values of the column's own type, converted here the way
 * SQLite's comparison would convert them (value_as), so that PostgreSQL,
 * which has no such conversions and refuses to compare text with bigint,
 * selects the rows SQLite selects.
 *
 * The collections' fields are an allowlist rather than "any column" so that
 * a condition cannot filter on a column nobody may read (sha256, say):
 * a filter on a hidden field is an oracle for its value (anchors §4.7,
 * directus/directus#23894).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <unistr.h>

#include "db.h"
#include "dynbuf.h"
#include "perm.h"

/* Hard caps on what one compile may produce. 128 comparisons of 100
 * values each need about 12800 params and 40 KiB of SQL; lookup ORs
 * several rows and must still stay under SQLite's default limit of
 * 32766 host parameters. */
#define PERM_MAX_SQL	(64 * 1024)
#define PERM_MAX_PARAMS	16384
#define PERM_MAX_STR	4096	/* bytes of one string value */
#define PERM_ERR_SHOW	64	/* bytes of input echoed in a message */

struct perm_field {
	const char	*name;	/* DSL name, matched exactly */
	const char	*sql;	/* SQL expression written for it */
};

/*
 * files.key is the physical key "tenants/<36-char tenant uuid>/<logical>":
 * 8 + 36 + 1 = 45 bytes of prefix, so the logical key starts at byte 46.
 * A condition speaks of the logical key, the one clients see.
 */
static const struct perm_field files_fields[] = {
	{ "key",		"substr(key, 46)" },
	{ "owner_id",		"owner_id" },
	{ "folder_id",		"folder_id" },
	{ "acl",		"acl" },
	{ "content_type",	"content_type" },
	{ "size",		"size" },
	{ "tenant_id",		"tenant_id" },
	{ "created_at",		"created_at" },
	{ "updated_at",		"updated_at" },
};

static const struct perm_field folders_fields[] = {
	{ "id",			"id" },
	{ "name",		"name" },
	{ "owner_id",		"owner_id" },
	{ "tenant_id",		"tenant_id" },
	{ "created_at",		"created_at" },
	{ "updated_at",		"updated_at" },
};

static const struct perm_field agent_files_fields[] = {
	{ "agent_id",		"agent_id" },
	{ "path",		"path" },
};

/*
 * The INTEGER columns of the collections (BIGINT on PostgreSQL); the rest
 * are TEXT. A value compared with one of these becomes an integer, with
 * any other column text (value_as); a would-be row casts these to BIGINT
 * and the rest to TEXT, so that they compare as the stored columns would.
 */
static const char *const int_cols[] = { "size", "created_at", "updated_at" };

static int
is_int_col(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(int_cols) / sizeof(int_cols[0]); i++)
		if (strcmp(name, int_cols[i]) == 0)
			return 1;
	return 0;
}

static const struct {
	const char		*name;
	const char		*table;	/* its rows, NULL: none stored */
	const struct perm_field	*fields;
	size_t			 nfields;
} colls[PERM_COLL__COUNT] = {
	[PERM_FILES] = { "system_files", "files", files_fields,
	    sizeof(files_fields) / sizeof(files_fields[0]) },
	[PERM_FOLDERS] = { "system_folders", "folders", folders_fields,
	    sizeof(folders_fields) / sizeof(folders_fields[0]) },
	[PERM_AGENT_FILES] = { "agent_files", NULL, agent_files_fields,
	    sizeof(agent_files_fields) / sizeof(agent_files_fields[0]) },
};

static const char *const actions[PERM_ACTION__COUNT] = {
	[PERM_CREATE] = "create",
	[PERM_READ] = "read",
	[PERM_UPDATE] = "update",
	[PERM_DELETE] = "delete",
};

enum op {
	OP_EQ, OP_NEQ, OP_IN, OP_NIN, OP_STARTS, OP_NULL, OP_NNULL
};

static const struct {
	const char	*name;
	enum op		 op;
} ops[] = {
	{ "_eq", OP_EQ },
	{ "_neq", OP_NEQ },
	{ "_in", OP_IN },
	{ "_nin", OP_NIN },
	{ "_starts_with", OP_STARTS },
	{ "_null", OP_NULL },
	{ "_nnull", OP_NNULL },
};

/* One compile. sql and params are owned here until handed to the
 * caller's struct perm_sql; cc_free releases whatever is left. */
struct cc {
	enum perm_coll		 coll;
	const char		*user;		/* NULL: unset */
	const char		*tenant;	/* NULL: unset */
	struct dynbuf		 sql;		/* the WHERE fragment */
	struct perm_value	*params;
	size_t			 nparams;
	size_t			 capparams;
	int			 ncmp;
	char			*err;
	size_t			 errlen;
	int			 failed;
};

const char *
perm_coll_name(enum perm_coll c)
{
	if ((unsigned)c >= PERM_COLL__COUNT)
		return NULL;
	return colls[c].name;
}

int
perm_coll_parse(const char *s)
{
	int	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < PERM_COLL__COUNT; i++)
		if (strcmp(s, colls[i].name) == 0)
			return i;
	return -1;
}

const char *
perm_action_name(enum perm_action a)
{
	if ((unsigned)a >= PERM_ACTION__COUNT)
		return NULL;
	return actions[a];
}

int
perm_action_parse(const char *s)
{
	int	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < PERM_ACTION__COUNT; i++)
		if (strcmp(s, actions[i]) == 0)
			return i;
	return -1;
}

static void	 cc_err(struct cc *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Keep the first error only: later ones are consequences of it. */
static void
cc_err(struct cc *cc, const char *fmt, ...)
{
	va_list	 ap;

	if (cc->failed)
		return;
	cc->failed = 1;
	if (cc->err == NULL || cc->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(cc->err, cc->errlen, fmt, ap);
	va_end(ap);
}

/*
 * Render untrusted text for an error message: at most PERM_ERR_SHOW input
 * bytes, printable ASCII kept, quote and backslash escaped, anything else
 * as \xNN. The message may end up in a log or a JSON body; neither should
 * receive control bytes or an unbounded echo of the input.
 */
static const char *
safe_show(const char *s, char *buf, size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i, o = 0;
	unsigned char	 c;

	for (i = 0; i < PERM_ERR_SHOW && s[i] != '\0'; i++) {
		if (o + 5 >= buflen)
			break;
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		}
	}
	if (s[i] != '\0' && o + 4 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static int
sql_add(struct cc *cc, const char *s)
{
	switch (dynbuf_addstr(&cc->sql, s)) {
	case FS_OK:
		return 0;
	case FS_TOO_LARGE:
		cc_err(cc, "condition is too large to compile");
		return -1;
	default:
		cc_err(cc, "out of memory");
		return -1;
	}
}

static void
value_clear(struct perm_value *v)
{
	free(v->text);
	memset(v, 0, sizeof(*v));
	v->type = PERM_V_NULL;
}

/* Append *v to the params, taking its text. */
static int
param_take(struct cc *cc, struct perm_value *v)
{
	struct perm_value	*p;
	size_t			 ncap;

	if (cc->nparams >= PERM_MAX_PARAMS) {
		cc_err(cc, "condition is too large to compile");
		return -1;
	}
	if (cc->nparams == cc->capparams) {
		ncap = cc->capparams ? cc->capparams * 2 : 8;
		p = reallocarray(cc->params, ncap, sizeof(*p));
		if (p == NULL) {
			cc_err(cc, "out of memory");
			return -1;
		}
		cc->params = p;
		cc->capparams = ncap;
	}
	cc->params[cc->nparams++] = *v;
	v->text = NULL;
	return 0;
}

/* A copy of *v for a placeholder that is written twice. */
static int
param_copy(struct cc *cc, const struct perm_value *v)
{
	struct perm_value	 c = *v;

	if (v->type == PERM_V_TEXT) {
		c.text = strdup(v->text);
		if (c.text == NULL) {
			cc_err(cc, "out of memory");
			return -1;
		}
	}
	if (param_take(cc, &c) == -1) {
		value_clear(&c);
		return -1;
	}
	return 0;
}

static const struct perm_field *
field_find(enum perm_coll c, const char *name)
{
	size_t	 i;

	for (i = 0; i < colls[c].nfields; i++)
		if (strcmp(name, colls[c].fields[i].name) == 0)
			return &colls[c].fields[i];
	return NULL;
}

static int
op_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(name, ops[i].name) == 0)
			return (int)ops[i].op;
	return -1;
}

/*
 * Turn one JSON scalar into a value. texts_only: only strings (and
 * variables) are allowed. *unset is set when the value is a variable with
 * no value for this request. Returns 0 or -1 with the error set.
 */
static int
value_from(struct cc *cc, const char *opname, const cJSON *j,
    int texts_only, struct perm_value *v, int *unset)
{
	char		 show[PERM_ERR_SHOW * 4 + 8];
	const char	*s, *var;
	double		 d;
	int		 rc = -1;

	memset(v, 0, sizeof(*v));
	v->type = PERM_V_NULL;
	*unset = 0;

	if (cJSON_IsString(j) && j->valuestring != NULL) {
		s = j->valuestring;
		if (strnlen(s, PERM_MAX_STR + 1) > PERM_MAX_STR) {
			cc_err(cc, "%s value is longer than %d bytes",
			    opname, PERM_MAX_STR);
			goto out;
		}
		/*
		 * Variables are exact names. Anything else shaped like one
		 * ("$CURRENT_ROLE", "$NOW") is refused rather than compared
		 * as a literal string, which would silently never match and
		 * hide the author's mistake.
		 */
		if (s[0] == '$' && (strncmp(s, "$CURRENT_", 9) == 0 ||
		    (s[1] >= 'A' && s[1] <= 'Z'))) {
			if (strcmp(s, "$CURRENT_USER") == 0)
				var = cc->user;
			else if (strcmp(s, "$CURRENT_TENANT") == 0)
				var = cc->tenant;
			else {
				cc_err(cc, "unknown variable \"%s\"",
				    safe_show(s, show, sizeof(show)));
				goto out;
			}
			if (var == NULL) {
				*unset = 1;
				rc = 0;
				goto out;
			}
			s = var;
		}
		v->text = strdup(s);
		if (v->text == NULL) {
			cc_err(cc, "out of memory");
			goto out;
		}
		v->type = PERM_V_TEXT;
		rc = 0;
		goto out;
	}
	if (texts_only) {
		cc_err(cc, "%s needs a string", opname);
		goto out;
	}
	if (cJSON_IsBool(j)) {
		v->type = PERM_V_INT;
		v->i = cJSON_IsTrue(j) ? 1 : 0;
		rc = 0;
		goto out;
	}
	if (cJSON_IsNumber(j)) {
		d = j->valuedouble;
		if (!isfinite(d)) {
			cc_err(cc, "%s number is out of range", opname);
			goto out;
		}
		/* Whole numbers a double holds exactly become INTEGER, so
		 * they compare with INTEGER columns without surprises. */
		if (fabs(d) <= 9007199254740992.0 &&
		    (double)(long long)d == d) {
			v->type = PERM_V_INT;
			v->i = (long long)d;
		} else {
			v->type = PERM_V_REAL;
			v->d = d;
		}
		rc = 0;
		goto out;
	}
	if (strcmp(opname, "_in") == 0 || strcmp(opname, "_nin") == 0)
		cc_err(cc, "%s values must be strings, numbers or booleans",
		    opname);
	else
		cc_err(cc, "%s needs a string, number or boolean", opname);
out:
	return rc;
}

/* SQLite's white space around a number in text (sqlite3Isspace). */
static int
sqlite_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' ||
	    c == '\f' || c == '\r';
}

/*
 * Is s, compared with an INTEGER column, equal to some integer, and to
 * which? SQLite gives the text numeric affinity first: text that is a
 * whole decimal number ("5", " +5 ", "007", "5.0", "5.", "5e0", ".5e1";
 * white space around it allowed, no hex) becomes that number, any other
 * text stays text and equals no integer. A number out of the int64 range
 * or with a fraction equals no integer either. 1 and *out, or 0.
 */
static int
text_as_int(const char *s, long long *out)
{
	const char	*p, *num;
	char		*end;
	double		 d;
	long long	 i;
	int		 digits = 0, real = 0;

	for (p = s; sqlite_space(*p); p++)
		;
	num = p;
	if (*p == '+' || *p == '-')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.') {
		real = 1;
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	}
	if (digits == 0)
		return 0;
	if (*p == 'e' || *p == 'E') {
		real = 1;
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	while (sqlite_space(*p))
		p++;
	if (*p != '\0')
		return 0;
	errno = 0;
	if (!real) {
		/* A whole number past int64 is a REAL beyond them all. */
		i = strtoll(num, &end, 10);
		if (errno != 0)
			return 0;
		*out = i;
		return 1;
	}
	d = strtod(num, &end);
	if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
	    d != trunc(d))
		return 0;
	*out = (long long)d;
	return 1;
}

/*
 * The text SQLite makes of a REAL when it compares one with a TEXT column
 * (and for CAST(r AS TEXT)): its own printf's "%!.15g", "%.15g" with ".0"
 * added to a mantissa without a point ("1.0e+300", "2.0"). SQLite's
 * printf, not the C library's: its digits differ from a correctly rounded
 * %.15g in the last place for some large numbers (-7.02632653289699e+284,
 * where glibc says -7.026326532897e+284), and the text must be SQLite's.
 */
static void
real_text(double d, char *buf, size_t len)
{
	sqlite3_snprintf((int)len, buf, "%!.15g", d);
}

/*
 * Give *v the type of the column it is compared with (an INTEGER one when
 * isint, else TEXT), as SQLite's comparison converts it:
 *   INTEGER column: a number stays a whole number (a REAL that is one
 *     becomes INTEGER); a string becomes the integer text_as_int reads.
 *   TEXT column: a number becomes its text ("5", "1.5", "1.0e+300"; a
 *     boolean, 1 or 0, becomes "1" or "0").
 * Returns 1 with *v converted, 0 when no value of the column can equal
 * it (*v cleared), -1 out of memory. PostgreSQL compares only like with
 * like, and this is what makes the one SQL text select the same rows on
 * both engines.
 */
static int
value_as(struct cc *cc, int isint, struct perm_value *v)
{
	char		 buf[64];
	long long	 i;

	if (isint) {
		switch (v->type) {
		case PERM_V_INT:
			return 1;
		case PERM_V_REAL:
			if (!(v->d >= -9223372036854775808.0 &&
			    v->d < 9223372036854775808.0) ||
			    v->d != trunc(v->d))
				break;
			i = (long long)v->d;
			value_clear(v);
			v->type = PERM_V_INT;
			v->i = i;
			return 1;
		case PERM_V_TEXT:
			if (!text_as_int(v->text, &i))
				break;
			value_clear(v);
			v->type = PERM_V_INT;
			v->i = i;
			return 1;
		default:
			break;
		}
		value_clear(v);
		return 0;
	}
	switch (v->type) {
	case PERM_V_TEXT:
		return 1;
	case PERM_V_INT:
		snprintf(buf, sizeof(buf), "%lld", v->i);
		break;
	case PERM_V_REAL:
		real_text(v->d, buf, sizeof(buf));
		break;
	default:
		value_clear(v);
		return 0;
	}
	value_clear(v);
	v->text = strdup(buf);
	if (v->text == NULL) {
		cc_err(cc, "out of memory");
		return -1;
	}
	v->type = PERM_V_TEXT;
	return 1;
}

/* The one operator member of opobj, or NULL with the error set. */
static const cJSON *
cmp_operator(struct cc *cc, const struct perm_field *f, const cJSON *opobj,
    int *op)
{
	char		 show[PERM_ERR_SHOW * 4 + 8];
	const cJSON	*opj;
	const char	*opname;

	if (!cJSON_IsObject(opobj)) {
		cc_err(cc, "field \"%s\" needs an object with one operator",
		    f->name);
		return NULL;
	}
	opj = opobj->child;
	if (opj == NULL) {
		cc_err(cc, "field \"%s\" has no operator", f->name);
		return NULL;
	}
	if (opj->next != NULL) {
		cc_err(cc, "field \"%s\" has more than one operator",
		    f->name);
		return NULL;
	}
	opname = opj->string != NULL ? opj->string : "";
	*op = op_find(opname);
	if (*op == -1) {
		cc_err(cc, "unknown operator \"%s\"",
		    safe_show(opname, show, sizeof(show)));
		return NULL;
	}
	if (++cc->ncmp > PERM_MAX_NODES) {
		cc_err(cc, "condition has more than %d comparisons",
		    PERM_MAX_NODES);
		return NULL;
	}
	return opj;
}

/*
 * The values of operator opj into vals (*nvals of them; the caller clears
 * them). *anyunset when one is a variable with no value. 0 or -1.
 */
static int
cmp_values(struct cc *cc, int op, const cJSON *opj,
    struct perm_value vals[PERM_MAX_IN], size_t *nvals, int *anyunset)
{
	const cJSON	*e;
	const char	*opname = opj->string;
	int		 n, unset;

	*nvals = 0;
	*anyunset = 0;
	if (op != OP_IN && op != OP_NIN) {
		if (value_from(cc, opname, opj, op == OP_STARTS, &vals[0],
		    &unset) == -1)
			return -1;
		*nvals = 1;
		*anyunset = unset;
		return 0;
	}
	n = cJSON_IsArray(opj) ? cJSON_GetArraySize(opj) : 0;
	if (n <= 0) {
		cc_err(cc, "%s needs a non-empty array", opname);
		return -1;
	}
	if (n > PERM_MAX_IN) {
		cc_err(cc, "%s has more than %d values", opname, PERM_MAX_IN);
		return -1;
	}
	cJSON_ArrayForEach(e, opj) {
		if (value_from(cc, opname, e, 0, &vals[*nvals], &unset) == -1)
			return -1;
		(*nvals)++;
		*anyunset |= unset;
	}
	return 0;
}

/* The SQL of a comparison with values, taking them (forms: below). */
static int
cmp_write(struct cc *cc, const struct perm_field *f, int op,
    struct perm_value *vals, size_t nvals)
{
	size_t	 i, n;
	int	 isint = is_int_col(f->name), rc;

	if (op == OP_STARTS) {
		/* Its one value is a string (value_from, texts_only). */
		return sql_add(cc, isint ? "(substr(CAST(" : "(substr(") == -1 ||
		    sql_add(cc, f->sql) == -1 ||
		    (isint && sql_add(cc, " AS TEXT)") == -1) ||
		    sql_add(cc, ", 1, length(CAST(? AS TEXT))) = ?)") == -1 ||
		    param_copy(cc, &vals[0]) == -1 ||
		    param_take(cc, &vals[0]) == -1 ? -1 : 0;
	}
	/* The values the column can equal, in order; the others go. */
	for (i = n = 0; i < nvals; i++) {
		rc = value_as(cc, isint, &vals[i]);
		if (rc == -1)
			return -1;
		if (rc == 0)
			continue;
		if (n != i) {
			vals[n] = vals[i];
			vals[i].text = NULL;
			value_clear(&vals[i]);
		}
		n++;
	}
	if (n == 0)
		return sql_add(cc, op == OP_EQ || op == OP_IN ?
		    "(FALSE)" : "(TRUE)");
	switch (op) {
	case OP_EQ:
	case OP_NEQ:
		return sql_add(cc, "(") == -1 || sql_add(cc, f->sql) == -1 ||
		    sql_add(cc, op == OP_EQ ? " = ?)" :
		    " IS DISTINCT FROM ?)") == -1 ||
		    param_take(cc, &vals[0]) == -1 ? -1 : 0;
	default:	/* OP_IN, OP_NIN */
		if (sql_add(cc, "(") == -1)
			return -1;
		if (op == OP_NIN && (sql_add(cc, f->sql) == -1 ||
		    sql_add(cc, " IS NULL OR ") == -1))
			return -1;
		if (sql_add(cc, f->sql) == -1 ||
		    sql_add(cc, op == OP_IN ? " IN (" : " NOT IN (") == -1)
			return -1;
		for (i = 0; i < n; i++)
			if (sql_add(cc, i ? ",?" : "?") == -1 ||
			    param_take(cc, &vals[i]) == -1)
				return -1;
		return sql_add(cc, "))");
	}
}

/*
 * One comparison: field `f` with the operator object `opobj`.
 *
 * SQL forms, and why (one text for SQLite and PostgreSQL):
 *   _eq           (col = ?)
 *   _neq          (col IS DISTINCT FROM ?)  a NULL column counts as "not
 *                                 equal", which is what a reader of the
 *                                 condition expects; "col <> ?" would drop
 *                                 it. (SQLite's "IS NOT ?" means the same
 *                                 but PostgreSQL has no such form.)
 *   _in           (col IN (?,...))
 *   _nin          (col IS NULL OR col NOT IN (?,...))  same reason.
 *   _starts_with  (substr(col, 1, length(CAST(? AS TEXT))) = ?)  no LIKE,
 *                                 so '%' and '_' in the value are literal
 *                                 and the match is case-sensitive. The
 *                                 CAST gives PostgreSQL the parameter's
 *                                 type; an INTEGER column is compared as
 *                                 its text, CAST(col AS TEXT), which is
 *                                 what SQLite's substr reads.
 *   _null         (col IS NULL)
 *   _nnull        (col IS NOT NULL)
 * Values take the column's type first (value_as): "5" compared with size
 * is 5, 5 compared with content_type is "5". A value no row's column can
 * equal ("abc" or 1.5 for size) drops out of the comparison: _eq with it
 * is (FALSE), _neq (TRUE), and an _in or _nin left with no values is
 * (FALSE) or (TRUE), as SQLite would answer for every row.
 * A comparison that names a variable with no value for this request
 * (say $CURRENT_USER for an anonymous caller) compiles to (FALSE).
 * Binding NULL instead would make _neq and _nin true for every row.
 */
static int
compile_cmp(struct cc *cc, const struct perm_field *f, const cJSON *opobj)
{
	struct perm_value	 vals[PERM_MAX_IN];
	const cJSON		*opj;
	size_t			 nvals = 0, i;
	int			 op, anyunset, rc = -1;

	opj = cmp_operator(cc, f, opobj, &op);
	if (opj == NULL)
		goto out;
	if (op == OP_NULL || op == OP_NNULL) {
		/* Only true: "_null": false reads as a double negative and
		 * has no one obvious meaning; _nnull says it plainly. */
		if (!cJSON_IsTrue(opj)) {
			cc_err(cc, "%s takes only true", opj->string);
			goto out;
		}
		if (sql_add(cc, "(") == -1 || sql_add(cc, f->sql) == -1 ||
		    sql_add(cc, op == OP_NULL ? " IS NULL)" :
		    " IS NOT NULL)") == -1)
			goto out;
		rc = 0;
		goto out;
	}
	if (cmp_values(cc, op, opj, vals, &nvals, &anyunset) == -1)
		goto out;
	if (anyunset)
		rc = sql_add(cc, "(FALSE)");
	else
		rc = cmp_write(cc, f, op, vals, nvals);
out:
	/* Values not yet taken by param_take still own their text. */
	for (i = 0; i < nvals; i++)
		value_clear(&vals[i]);
	return rc;
}

static int	 compile_node(struct cc *, const cJSON *, int);

/* "_and"/"_or": a non-empty array of nodes, one level deeper. */
static int
compile_group(struct cc *cc, const char *name, const cJSON *arr, int depth)
{
	const cJSON	*e;
	int		 first = 1;

	if (!cJSON_IsArray(arr) || arr->child == NULL) {
		cc_err(cc, "%s needs a non-empty array", name);
		return -1;
	}
	if (depth + 1 > PERM_MAX_DEPTH) {
		cc_err(cc, "condition nests deeper than %d levels",
		    PERM_MAX_DEPTH);
		return -1;
	}
	if (sql_add(cc, "(") == -1)
		return -1;
	cJSON_ArrayForEach(e, arr) {
		if (!first && sql_add(cc, strcmp(name, "_and") == 0 ?
		    " AND " : " OR ") == -1)
			return -1;
		first = 0;
		if (compile_node(cc, e, depth + 1) == -1)
			return -1;
	}
	return sql_add(cc, ")");
}

/*
 * One node: an object whose keys are "_and", "_or" or fields. Several keys
 * are ANDed. depth counts the _and/_or arrays around the node; recursion
 * is bounded by PERM_MAX_DEPTH, never by the input.
 */
static int
compile_node(struct cc *cc, const cJSON *node, int depth)
{
	char			 show[PERM_ERR_SHOW * 4 + 8];
	const struct perm_field	*f;
	const cJSON		*k;
	const char		*name;
	int			 many;

	if (!cJSON_IsObject(node)) {
		cc_err(cc, "filter must be a JSON object");
		return -1;
	}
	if (node->child == NULL) {
		cc_err(cc, "empty filter");
		return -1;
	}
	many = node->child->next != NULL;
	if (many && sql_add(cc, "(") == -1)
		return -1;
	for (k = node->child; k != NULL; k = k->next) {
		if (k != node->child && sql_add(cc, " AND ") == -1)
			return -1;
		name = k->string != NULL ? k->string : "";
		if (strcmp(name, "_and") == 0 || strcmp(name, "_or") == 0) {
			if (compile_group(cc, name, k, depth) == -1)
				return -1;
			continue;
		}
		f = field_find(cc->coll, name);
		if (f == NULL && name[0] == '_') {
			cc_err(cc, "unknown operator \"%s\" (only _and and "
			    "_or join filters)",
			    safe_show(name, show, sizeof(show)));
			return -1;
		}
		if (f == NULL) {
			cc_err(cc, "unknown field \"%s\" for %s",
			    safe_show(name, show, sizeof(show)),
			    colls[cc->coll].name);
			return -1;
		}
		if (compile_cmp(cc, f, k) == -1)
			return -1;
	}
	if (many && sql_add(cc, ")") == -1)
		return -1;
	return 0;
}

/*
 * cJSON decodes "\u0000" into a NUL byte, which cuts the C string short:
 * "$CURRENT_USER\u0000x" would read as the variable and "owner_id\u0000x"
 * as the field. Refuse the escape so that what is stored is what runs.
 * Outside strings a backslash is invalid JSON anyway, and inside one a
 * backslash always starts an escape, so skipping two bytes per escape
 * stays in step.
 */
static int
has_nul_escape(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (s[i] != '\\')
			continue;
		if (i + 5 < len && s[i + 1] == 'u' && s[i + 2] == '0' &&
		    s[i + 3] == '0' && s[i + 4] == '0' && s[i + 5] == '0')
			return 1;
		i++;
	}
	return 0;
}

static void
cc_free(struct cc *cc)
{
	size_t	 i;

	for (i = 0; i < cc->nparams; i++)
		value_clear(&cc->params[i]);
	free(cc->params);
	dynbuf_free(&cc->sql);
	cc->params = NULL;
	cc->nparams = cc->capparams = 0;
}

/* Hand the SQL and params built in cc over to out; -1 out of memory. */
static int
cc_take(struct cc *cc, struct perm_sql *out)
{
	out->where = dynbuf_take(&cc->sql, NULL);
	if (out->where == NULL) {
		cc_err(cc, "out of memory");
		return -1;
	}
	out->params = cc->params;
	out->nparams = cc->nparams;
	cc->params = NULL;
	cc->nparams = 0;
	return 0;
}

int
perm_compile(enum perm_coll c, const char *condition,
    const struct perm_vars *vars, struct perm_sql *out,
    char *err, size_t errlen)
{
	struct cc	 cc;
	cJSON		*root = NULL;
	size_t		 len;
	int		 rc = -1;

	memset(&cc, 0, sizeof(cc));
	dynbuf_init(&cc.sql, PERM_MAX_SQL - 1);
	cc.coll = c;
	cc.err = err;
	cc.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (vars != NULL) {
		cc.user = vars->user_id;
		cc.tenant = vars->tenant_id;
	}
	if (out != NULL)
		memset(out, 0, sizeof(*out));

	if (out == NULL) {
		cc_err(&cc, "no output for the condition");
		goto out;
	}
	if ((unsigned)c >= PERM_COLL__COUNT) {
		cc_err(&cc, "unknown collection");
		goto out;
	}
	if (condition == NULL)
		condition = "";
	len = strnlen(condition, PERM_MAX_TEXT + 1);
	if (len > PERM_MAX_TEXT) {
		cc_err(&cc, "condition is longer than %d bytes",
		    PERM_MAX_TEXT);
		goto out;
	}
	if (len > 0 && has_nul_escape(condition, len)) {
		cc_err(&cc, "condition contains a NUL character");
		goto out;
	}
	/*
	 * JSON is UTF-8 (RFC 8259 §8.1), and PostgreSQL refuses a text
	 * parameter that is not, where SQLite would compare the bytes: refuse
	 * it here, so a condition means the same on both engines. cJSON
	 * copies raw bytes as they are and writes its \u escapes as valid
	 * UTF-8, so checking the text checks every string in it.
	 */
	if (u8_check((const uint8_t *)condition, len) != NULL) {
		cc_err(&cc, "condition is not valid UTF-8");
		goto out;
	}
	if (len > 0) {
		/* len + 1 takes in the NUL, so cJSON can check that nothing
		 * but white space follows the value. */
		root = cJSON_ParseWithLengthOpts(condition, len + 1, NULL, 1);
		if (root == NULL) {
			cc_err(&cc, "condition is not valid JSON");
			goto out;
		}
	}

	/* No condition: "", JSON null, and an empty top-level object. */
	if (root == NULL || cJSON_IsNull(root) ||
	    (cJSON_IsObject(root) && root->child == NULL)) {
		if (sql_add(&cc, PERM_WHERE_ALL) == -1)
			goto out;
	} else if (!cJSON_IsObject(root)) {
		cc_err(&cc, "condition must be a JSON object");
		goto out;
	} else if (compile_node(&cc, root, 0) == -1)
		goto out;

	if (cc_take(&cc, out) == -1)
		goto out;
	rc = 0;
out:
	cc_free(&cc);
	cJSON_Delete(root);
	return rc;
}

int
perm_validate(enum perm_coll c, const char *condition, char *err,
    size_t errlen)
{
	/* Dummy values: an unset variable is not an error, but set ones
	 * make the compiler take the same path it takes for real. */
	static const struct perm_vars dummy = {
		"00000000-0000-0000-0000-000000000000",
		"00000000-0000-0000-0000-000000000000",
	};
	struct perm_sql	 s;
	int		 rc;

	rc = perm_compile(c, condition, &dummy, &s, err, errlen);
	if (rc == 0)
		perm_sql_free(&s);
	return rc;
}

void
perm_sql_free(struct perm_sql *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nparams; i++)
		free(s->params[i].text);
	free(s->params);
	free(s->where);
	memset(s, 0, sizeof(*s));
}

/*
 * Append fragment f (its SQL and, taking them, its params) to the OR
 * being built in cc.
 */
static int
or_append(struct cc *cc, struct perm_sql *f, int first)
{
	size_t	 i;

	if (sql_add(cc, first ? "((" : " OR (") == -1 ||
	    sql_add(cc, f->where) == -1 || sql_add(cc, ")") == -1)
		return -1;
	for (i = 0; i < f->nparams; i++)
		if (param_take(cc, &f->params[i]) == -1)
			return -1;
	return 0;
}

/*
 * The permission rows of one role, read with the API key that named it
 * (perm_prefetch_*, auth.c): perm_lookup takes them from here instead of
 * a query of its own, one round trip fewer per request on PostgreSQL.
 * Only for the request that read them: app_serve clears it before and
 * after each.
 */
#define PREFETCH_MAX	128	/* rows; a role with more is queried */

static struct {
	int		 state;		/* 0: none, 1: filling, 2: ready */
	char		 role[64];
	size_t		 n;
	struct {
		signed char	 coll, action;	/* -1: not ours */
		int		 type;		/* DB_NULL or DB_TEXT, else bad */
		char		*cond;		/* malloc'd, or NULL */
		size_t		 bytes;
	} rows[PREFETCH_MAX];
} pf;

void
perm_prefetch_clear(void)
{
	size_t	 i;

	for (i = 0; i < pf.n; i++)
		free(pf.rows[i].cond);
	pf.n = 0;
	pf.state = 0;
	pf.role[0] = '\0';
}

void
perm_prefetch_begin(const char *role_id)
{
	perm_prefetch_clear();
	if (role_id == NULL || strlen(role_id) >= sizeof(pf.role))
		return;
	snprintf(pf.role, sizeof(pf.role), "%s", role_id);
	pf.state = 1;
}

void
perm_prefetch_add(const char *coll, const char *action, int type,
    const char *cond, size_t bytes)
{
	if (pf.state != 1)
		return;
	if (pf.n == PREFETCH_MAX) {
		perm_prefetch_clear();	/* too many: perm_lookup queries */
		return;
	}
	pf.rows[pf.n].coll = (signed char)perm_coll_parse(coll);
	pf.rows[pf.n].action = (signed char)perm_action_parse(action);
	pf.rows[pf.n].type = type;
	pf.rows[pf.n].bytes = bytes;
	pf.rows[pf.n].cond = NULL;
	if (cond != NULL && (pf.rows[pf.n].cond = malloc(bytes + 1)) == NULL) {
		perm_prefetch_clear();
		return;
	}
	if (cond != NULL) {
		memcpy(pf.rows[pf.n].cond, cond, bytes);
		pf.rows[pf.n].cond[bytes] = '\0';
	}
	pf.n++;
}

void
perm_prefetch_end(void)
{
	if (pf.state == 1)
		pf.state = 2;
}

/*
 * One permission row (its condition's type, text and length) into the
 * OR being built in cc, or *always. 0, or -1: a broken row (fail closed).
 */
static int
lookup_row(enum perm_coll c, const struct perm_vars *vars, int type,
    const char *cond, size_t bytes, struct cc *cc, struct perm_sql *f,
    int *always)
{
	if (type == DB_NULL) {
		*always = 1;
		return 0;
	}
	/* A NUL inside the TEXT would hide the rest of it. */
	if (type != DB_TEXT || cond == NULL || bytes != strlen(cond))
		return -1;
	if (perm_compile(c, cond, vars, f, NULL, 0) == -1)
		return -1;
	if (strcmp(f->where, PERM_WHERE_ALL) == 0)
		*always = 1;
	else if (!*always &&
	    or_append(cc, f, dynbuf_len(&cc->sql) == 0) == -1)
		return -1;
	perm_sql_free(f);
	return 0;
}

int
perm_lookup(struct db *db, const char *role_id, enum perm_coll c,
    enum perm_action a, const struct perm_vars *vars, struct perm_sql *out)
{
	static const char q[] = "SELECT condition FROM permissions "
	    "WHERE role_id = ? AND collection = ? AND action = ? ORDER BY id";
	struct db_stmt	*st = NULL;
	struct perm_sql	 f;
	struct cc	 cc;
	const char	*cond;
	size_t		 i;
	int		 rc = -1, src, nrows = 0, always = 0, type;

	memset(&cc, 0, sizeof(cc));
	dynbuf_init(&cc.sql, PERM_MAX_SQL - 1);
	memset(&f, 0, sizeof(f));
	if (db == NULL || role_id == NULL || out == NULL ||
	    (unsigned)c >= PERM_COLL__COUNT ||
	    (unsigned)a >= PERM_ACTION__COUNT)
		goto out;
	/*
	 * Compile every row even after one grants everything: a stored
	 * condition that no longer compiles is a broken policy, and a broken
	 * policy fails closed instead of hiding behind another row.
	 */
	if (pf.state == 2 && strcmp(pf.role, role_id) == 0) {
		for (i = 0; i < pf.n; i++) {
			if (pf.rows[i].coll != (int)c ||
			    pf.rows[i].action != (int)a)
				continue;
			nrows++;
			if (lookup_row(c, vars, pf.rows[i].type,
			    pf.rows[i].cond, pf.rows[i].bytes, &cc, &f,
			    &always) == -1)
				goto out;
		}
	} else {
		st = db_stmt(db, q);
		if (st == NULL)
			goto out;
		if (db_bind_text(st, 1, role_id, -1) != DB_OK ||
		    db_bind_text(st, 2, colls[c].name, -1) != DB_OK ||
		    db_bind_text(st, 3, actions[a], -1) != DB_OK)
			goto out;
		while ((src = db_step(st)) == DB_ROW) {
			nrows++;
			/* The type first: reading the text converts it. */
			type = db_col_type(st, 0);
			cond = (const char *)db_col_text(st, 0);
			if (lookup_row(c, vars, type, cond,
			    (size_t)db_col_bytes(st, 0), &cc, &f,
			    &always) == -1)
				goto out;
		}
		if (src != DB_DONE)
			goto out;
	}
	if (nrows == 0) {
		rc = 0;
		goto out;
	}
	if (always) {
		cc_free(&cc);
		if (sql_add(&cc, PERM_WHERE_ALL) == -1)
			goto out;
	} else if (sql_add(&cc, ")") == -1)
		goto out;

	memset(out, 0, sizeof(*out));
	if (cc_take(&cc, out) == -1)
		goto out;
	rc = 1;
out:
	perm_sql_free(&f);
	cc_free(&cc);
	db_stmt_done(st);
	return rc;
}

int
perm_bind(struct db_stmt *stmt, int first, const struct perm_sql *s)
{
	const struct perm_value	*v;
	size_t			 i;
	int			 rc = DB_OK, idx;

	if (stmt == NULL || s == NULL || first < 1 ||
	    s->nparams > (size_t)(INT_MAX - first))
		return DB_MISUSE;
	for (i = 0; i < s->nparams && rc == DB_OK; i++) {
		v = &s->params[i];
		idx = first + (int)i;
		switch (v->type) {
		case PERM_V_TEXT:
			rc = db_bind_text(stmt, idx, v->text, -1);
			break;
		case PERM_V_INT:
			rc = db_bind_int64(stmt, idx, v->i);
			break;
		case PERM_V_REAL:
			rc = db_bind_double(stmt, idx, v->d);
			break;
		default:
			rc = db_bind_null(stmt, idx);
			break;
		}
	}
	return rc;
}

/*
 * Bind cond's parameters to st (from db_stmt; NULL is an error) from
 * first, step it once and give it back: 1 row, 0 none, -1 error.
 */
static int
exists_with(struct db_stmt *st, int first, const struct perm_sql *cond)
{
	int ret = -1;

	if (st != NULL && perm_bind(st, first, cond) == DB_OK)
		ret = db_exists(st);
	db_stmt_done(st);
	return ret;
}

/*
 * Does cond hold? Runs "SELECT 1 FROM <from> WHERE <head> AND (<cond>)"
 * with the nargs texts of args bound first, then cond's parameters: 1, 0,
 * or -1 on error.
 */
static int
perm_exists(struct db *db, const char *from, const char *head,
    const char *const *args, int nargs, const struct perm_sql *cond)
{
	struct db_stmt *st = NULL;
	char *sql = NULL;
	size_t n;
	int i;

	n = strlen(from) + strlen(head) + strlen(cond->where) + 64;
	sql = malloc(n);
	if (sql == NULL)
		goto out;
	snprintf(sql, n, "SELECT 1 FROM %s WHERE %s AND (%s)", from, head,
	    cond->where);
	st = db_stmt(db, sql);
	if (st == NULL)
		goto out;
	for (i = 0; i < nargs; i++)
		db_bind_text(st, i + 1, args[i], -1);
out:
	free(sql);
	return exists_with(st, nargs + 1, cond);
}

struct db_stmt *
perm_prepare(struct db *db, const char *head, const struct perm_sql *cond,
    const char *tail, const char *const *args, int nargs)
{
	struct db_stmt *st = NULL;
	char *sql;
	size_t n;
	int i;

	n = strlen(head) + strlen(cond->where) + strlen(tail) + 8;
	sql = malloc(n);
	if (sql == NULL)
		return NULL;
	snprintf(sql, n, "%s(%s)%s", head, cond->where, tail);
	if (db_prepare(db, sql, &st) == DB_OK) {
		for (i = 0; i < nargs; i++)
			db_bind_text(st, i + 1, args[i], -1);
		if (perm_bind(st, nargs + 1, cond) != DB_OK) {
			db_finalize(st);
			st = NULL;
		}
	}
	free(sql);
	return st;
}

/*
 * The would-be row is "(SELECT CAST(? AS TEXT) AS <field>, ...) AS r" over
 * every field of c, in table order: a field's name is its column's (the
 * expression the fragment writes for it reads that column), INTEGER
 * columns are CAST(? AS BIGINT) (SQLite: INTEGER affinity), the others
 * TEXT, as stored, and a column no cell names is NULL. The CASTs also give
 * PostgreSQL the parameters' types, which a bare "? AS x" does not.
 */
int
perm_row_allowed(struct db *db, enum perm_coll c, const struct perm_cell *cells,
    size_t ncells, const struct perm_sql *cond)
{
	const struct perm_field *f;
	const struct perm_cell *v;
	struct db_stmt *st = NULL;
	char *sql = NULL;
	size_t i, k, n, len;

	if ((unsigned)c >= PERM_COLL__COUNT)
		return -1;
	/* No condition: nothing to ask the database. */
	if (strcmp(cond->where, PERM_WHERE_ALL) == 0)
		return 1;
	for (k = 0; k < ncells; k++) {
		for (i = 0; i < colls[c].nfields; i++)
			if (strcmp(cells[k].col, colls[c].fields[i].name) == 0)
				break;
		if (i == colls[c].nfields)
			return -1;
		/* Text cast to an integer is not the same on both engines
		 * (SQLite reads a prefix, PostgreSQL fails): refused. */
		if (is_int_col(cells[k].col) && !cells[k].integer &&
		    cells[k].text != NULL)
			return -1;
	}
	n = strlen(cond->where) + 64 + colls[c].nfields * 64;
	sql = malloc(n);
	if (sql == NULL)
		goto out;
	len = (size_t)snprintf(sql, n, "SELECT 1 FROM (SELECT");
	for (i = 0; i < colls[c].nfields; i++) {
		f = &colls[c].fields[i];
		len += (size_t)snprintf(sql + len, n - len,
		    "%s CAST(? AS %s) AS %s", i > 0 ? "," : "",
		    is_int_col(f->name) ? "BIGINT" : "TEXT", f->name);
	}
	snprintf(sql + len, n - len, ") AS r WHERE (%s)", cond->where);
	st = db_stmt(db, sql);
	if (st == NULL)
		goto out;
	for (i = 0; i < colls[c].nfields; i++) {
		f = &colls[c].fields[i];
		for (v = cells; v < cells + ncells; v++)
			if (strcmp(v->col, f->name) == 0)
				break;
		if (v == cells + ncells || (!v->integer && v->text == NULL))
			continue;	/* stays NULL */
		if (v->integer)
			db_bind_int64(st, (int)i + 1, v->i);
		else
			db_bind_text(st, (int)i + 1, v->text, -1);
	}
out:
	free(sql);
	return exists_with(st, (int)colls[c].nfields + 1, cond);
}

static void
vars_of(const struct principal *p, struct perm_vars *v)
{
	v->user_id = p->user_id;
	v->tenant_id = p->tenant_id;
}

int
perm_allowed(struct db *db, const struct principal *p, enum perm_coll c,
    enum perm_action a, const char *idcol, const char *id)
{
	struct perm_sql cond;
	struct perm_vars v;
	const char *args[2] = { id, p->tenant_id };
	char head[64];
	int rc;

	if ((unsigned)c >= PERM_COLL__COUNT || colls[c].table == NULL ||
	    strlen(idcol) > 32)
		return -1;
	vars_of(p, &v);
	rc = perm_lookup(db, p->role_id, c, a, &v, &cond);
	if (rc != 1)
		return rc;
	snprintf(head, sizeof(head), "%s = ? AND tenant_id = ?", idcol);
	rc = perm_exists(db, colls[c].table, head, args, 2, &cond);
	perm_sql_free(&cond);
	return rc;
}

int
perm_create_allowed(struct db *db, const struct principal *p, enum perm_coll c,
    const struct perm_cell *cells, size_t ncells)
{
	struct perm_sql cond;
	struct perm_vars v;
	int rc;

	vars_of(p, &v);
	rc = perm_lookup(db, p->role_id, c, PERM_CREATE, &v, &cond);
	if (rc != 1)
		return rc;
	rc = perm_row_allowed(db, c, cells, ncells, &cond);
	perm_sql_free(&cond);
	return rc;
}

long long
perm_grant(struct db *db, const char *role_id, enum perm_coll c,
    enum perm_action a, const char *condition)
{
	struct db_stmt *st = NULL;
	long long id = -1;

	if ((unsigned)c >= PERM_COLL__COUNT ||
	    (unsigned)a >= PERM_ACTION__COUNT ||
	    db_prepare(db, "INSERT INTO permissions (role_id,"
	    " collection, action, condition) VALUES (?, ?, ?, ?) RETURNING id",
	    &st) != DB_OK)
		return -1;
	db_bind_text(st, 1, role_id, -1);
	db_bind_text(st, 2, colls[c].name, -1);
	db_bind_text(st, 3, actions[a], -1);
	/* A NULL condition binds SQL NULL (db_bind_text's contract). */
	db_bind_text(st, 4, condition, -1);
	if (db_step(st) == DB_ROW)
		id = db_col_int64(st, 0);
	db_finalize(st);
	return id;
}

int
perm_grants(struct db *db, const char *role_id,
    void (*fn)(void *, long long, const char *, const char *, const char *),
    void *arg)
{
	struct db_stmt *st = NULL;

	if (db_prepare(db, "SELECT id, collection, action,"
	    " COALESCE(condition, '') FROM permissions WHERE role_id = ?"
	    " ORDER BY id", &st) != DB_OK)
		return -1;
	db_bind_text(st, 1, role_id, -1);
	while (db_step(st) == DB_ROW)
		fn(arg, (long long)db_col_int64(st, 0),
		    (const char *)db_col_text(st, 1),
		    (const char *)db_col_text(st, 2),
		    (const char *)db_col_text(st, 3));
	db_finalize(st);
	return 0;
}
