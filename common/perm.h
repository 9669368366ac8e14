/*
 * perm: permissions and the condition DSL (DESIGN §4).
 *
 * A condition is a Directus-style JSON filter:
 *   {"owner_id":{"_eq":"$CURRENT_USER"}}
 *   {"_and":[{...},{...}]}  {"_or":[...]}
 * operators _eq _neq _in _nin _starts_with _null _nnull, variables
 * $CURRENT_USER and $CURRENT_TENANT. perm_compile() turns one into a
 * parameterized SQL WHERE fragment over the columns of one collection.
 * Field names come from a per-collection allowlist and are never copied
 * from input into SQL: the fragment only holds names from that table,
 * operators, parentheses, "?" placeholders, CAST and the literals TRUE
 * and FALSE. A comparison that names a variable whose value is NULL (no
 * user, say) compiles to (FALSE), whatever the operator. The SQL form of
 * each operator, and why, is written above compile_cmp() in perm.c.
 *
 * The fragment is one SQL text for both engines (SQLite, PostgreSQL) and
 * selects the same rows on both: a value compared with a column of the
 * other type is converted when compiled, as SQLite would compare it
 * ("5" equals the integer 5, "abc" no integer; 5 equals the text "5").
 *
 * The same fragment checks one row ("SELECT 1 FROM files WHERE key=? AND
 * (<frag>)") and filters a list, so a list never shows a row that a
 * single-row check would refuse.
 */
#ifndef FS_PERM_H
#define FS_PERM_H

#include <stddef.h>
#include "db.h"

#include "principal.h"

#define PERM_MAX_DEPTH	8	/* nesting of _and/_or */
#define PERM_MAX_NODES	128	/* comparisons in one condition */
#define PERM_MAX_IN	100	/* values in one _in/_nin */
#define PERM_MAX_TEXT	(16 * 1024) /* bytes of condition JSON */

enum perm_coll {
	PERM_FILES = 0,		/* system_files */
	PERM_FOLDERS,		/* system_folders */
	PERM_AGENT_FILES,	/* agent_files */
	PERM_COLL__COUNT
};

enum perm_action {
	PERM_CREATE = 0,
	PERM_READ,
	PERM_UPDATE,
	PERM_DELETE,
	PERM_ACTION__COUNT
};

/* Name <-> enum. Names: "system_files"...; "create"... -1 when unknown. */
const char	*perm_coll_name(enum perm_coll c);
int		 perm_coll_parse(const char *s);
const char	*perm_action_name(enum perm_action a);
int		 perm_action_parse(const char *s);

enum perm_vtype { PERM_V_TEXT, PERM_V_INT, PERM_V_REAL, PERM_V_NULL };

struct perm_value {
	enum perm_vtype	 type;
	char		*text;		/* PERM_V_TEXT: malloc'd */
	long long	 i;
	double		 d;
};

/* A compiled fragment: where is PERM_WHERE_ALL for "no condition", never
 * empty. */
#define PERM_WHERE_ALL	"TRUE"

struct perm_sql {
	char		*where;		/* malloc'd SQL */
	struct perm_value *params;	/* malloc'd array */
	size_t		 nparams;
};

struct perm_vars {
	const char	*user_id;	/* $CURRENT_USER */
	const char	*tenant_id;	/* $CURRENT_TENANT */
};

/*
 * Compile condition (JSON text; NULL or "" or "null" or "{}" means no
 * condition) for collection c. Returns 0, or -1 with a message in err.
 * On success release out with perm_sql_free().
 */
int	 perm_compile(enum perm_coll c, const char *condition,
	    const struct perm_vars *vars, struct perm_sql *out,
	    char *err, size_t errlen);
/* Validate only (used when storing a condition). 0 or -1 with err. */
int	 perm_validate(enum perm_coll c, const char *condition,
	    char *err, size_t errlen);
void	 perm_sql_free(struct perm_sql *s);

/*
 * Combine every permission row of role_id for (c, a) into one fragment:
 * the OR of their conditions. Returns 1 when the role has at least one
 * row (out filled), 0 when it has none (the action is denied; out
 * untouched), -1 on a database error or a stored condition that no longer
 * compiles.
 */
int	 perm_lookup(struct db *db, const char *role_id, enum perm_coll c,
	    enum perm_action a, const struct perm_vars *vars,
	    struct perm_sql *out);

/*
 * The rows perm_lookup would read for role_id, read beforehand by the
 * query that found the role (auth.c, the API key's): begin, add each row
 * (its collection, action, and condition: its type, DB_NULL or DB_TEXT,
 * its text and length) in id order, end. perm_lookup then uses them for
 * that role instead of a query. perm_prefetch_clear forgets them (the
 * request's end; app.c). A role with too many rows, or an allocation that
 * fails, leaves none: perm_lookup queries as without.
 */
void	 perm_prefetch_begin(const char *role_id);
void	 perm_prefetch_add(const char *coll, const char *action, int type,
	    const char *cond, size_t bytes);
void	 perm_prefetch_end(void);
void	 perm_prefetch_clear(void);

/* Bind s->params to stmt starting at index first. DB_OK or an error. */
int	 perm_bind(struct db_stmt *stmt, int first, const struct perm_sql *s);

/*
 * A statement that filters by cond: "<head>(<cond>)<tail>", prepared
 * afresh (the caller finalizes it), with the nargs texts of args bound
 * from ?1 and cond's parameters after them. NULL on error.
 */
struct db_stmt *perm_prepare(struct db *db, const char *head,
	    const struct perm_sql *cond, const char *tail,
	    const char *const *args, int nargs);

/*
 * One column of a row about to be created, by its column name: text (NULL
 * is SQL NULL) or, when integer, i.
 */
struct perm_cell {
	const char	*col;
	const char	*text;
	long long	 i;
	int		 integer;
};

/*
 * Does cond hold for a row of collection c about to be created? perm
 * builds the would-be row from its own field table (every column a
 * condition may name, typed as stored), the columns from cells and NULL
 * where no cell names one, so the fragment that filters stored rows
 * judges it the same way. 1, 0, or -1 on error (also for a cell naming a
 * column c has no field for, and for a text cell of an INTEGER column).
 */
int	 perm_row_allowed(struct db *db, enum perm_coll c,
	    const struct perm_cell *cells, size_t ncells,
	    const struct perm_sql *cond);

/*
 * May p do action a on the stored row of c (files, folders) whose idcol
 * (a column name from the caller, never from input) is id, in p's
 * tenant? 1 yes, 0 no (no permission row, the condition excludes the
 * row, or no such row), -1 error.
 */
int	 perm_allowed(struct db *db, const struct principal *p,
	    enum perm_coll c, enum perm_action a, const char *idcol,
	    const char *id);
/* May p create the row of c that cells describe? perm_row_allowed()
 * under p's create permission: 1, 0 or -1. */
int	 perm_create_allowed(struct db *db, const struct principal *p,
	    enum perm_coll c, const struct perm_cell *cells, size_t ncells);

/*
 * The permissions table (filestorctl). perm_grant stores a row for role_id
 * (condition NULL: always; validate it first) and returns its id, or -1.
 * perm_grants calls fn(arg, id, collection, action, condition or "") for
 * the rows of role_id in order: 0 or -1.
 */
long long perm_grant(struct db *db, const char *role_id, enum perm_coll c,
	    enum perm_action a, const char *condition);
int	 perm_grants(struct db *db, const char *role_id,
	    void (*fn)(void *, long long, const char *, const char *,
	    const char *), void *arg);

#endif
