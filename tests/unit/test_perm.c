/*
 * Unit tests for common/perm.c: the condition DSL compiler and the
 * permission lookup (DESIGN §4).
 *
 * The compiler is tested three ways: exact SQL and params for good input,
 * refusal of hostile and invalid input, and the meaning of the SQL on a
 * real SQLite database, so a fragment that looks right but selects the
 * wrong rows still fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "perm.h"

#define TENANT	"11111111-2222-3333-4444-555555555555"
#define PFX	"tenants/" TENANT "/"

static const struct perm_vars vars = { "u1", "t1" };

/* Params as one string: "T:text|I:1|R:1.5|N", to compare with a table. */
static void
params_str(const struct perm_sql *s, char *buf, size_t len)
{
	size_t	 i, o = 0;
	int	 n;

	buf[0] = '\0';
	for (i = 0; i < s->nparams; i++) {
		const struct perm_value *v = &s->params[i];

		switch (v->type) {
		case PERM_V_TEXT:
			n = snprintf(buf + o, len - o, "%sT:%s",
			    i ? "|" : "", v->text);
			break;
		case PERM_V_INT:
			n = snprintf(buf + o, len - o, "%sI:%lld",
			    i ? "|" : "", v->i);
			break;
		case PERM_V_REAL:
			n = snprintf(buf + o, len - o, "%sR:%g",
			    i ? "|" : "", v->d);
			break;
		default:
			n = snprintf(buf + o, len - o, "%sN", i ? "|" : "");
			break;
		}
		assert_true(n >= 0 && (size_t)n < len - o);
		o += (size_t)n;
	}
}

/*
 * Every fragment may contain only what the compiler itself writes:
 * allowlisted column names, keywords, "?", "0", "1", "46" and
 * punctuation. A quote, a semicolon, a dash or any other word means input
 * leaked into the SQL.
 */
static void
assert_clean_sql(const char *where)
{
	static const char *const words[] = {
		"AND", "OR", "IS", "NOT", "NULL", "IN", "substr", "length",
		"key", "owner_id", "folder_id", "acl", "content_type",
		"size", "tenant_id", "created_at", "updated_at", "id",
		"name", "agent_id", "path", "0", "1", "46",
	};
	const char	*p = where;
	size_t		 n, i;
	int		 ok;

	assert_non_null(where);
	assert_true(where[0] != '\0');
	while (*p != '\0') {
		if (strchr("() ,=?", *p) != NULL) {
			p++;
			continue;
		}
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (n == 0)
			fail_msg("stray byte 0x%02x in \"%s\"",
			    (unsigned char)*p, where);
		ok = 0;
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i]) == n &&
			    memcmp(words[i], p, n) == 0)
				ok = 1;
		if (!ok)
			fail_msg("unexpected word \"%.*s\" in \"%s\"",
			    (int)n, p, where);
		p += n;
	}
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(perm_coll_name(PERM_FILES), "system_files");
	assert_string_equal(perm_coll_name(PERM_FOLDERS), "system_folders");
	assert_string_equal(perm_coll_name(PERM_AGENT_FILES), "agent_files");
	assert_null(perm_coll_name(PERM_COLL__COUNT));
	assert_int_equal(perm_coll_parse("system_files"), PERM_FILES);
	assert_int_equal(perm_coll_parse("agent_files"), PERM_AGENT_FILES);
	assert_int_equal(perm_coll_parse("System_files"), -1);
	assert_int_equal(perm_coll_parse("files"), -1);
	assert_int_equal(perm_coll_parse(""), -1);
	assert_int_equal(perm_coll_parse(NULL), -1);
	assert_string_equal(perm_action_name(PERM_DELETE), "delete");
	assert_null(perm_action_name(PERM_ACTION__COUNT));
	assert_int_equal(perm_action_parse("create"), PERM_CREATE);
	assert_int_equal(perm_action_parse("read"), PERM_READ);
	assert_int_equal(perm_action_parse("update"), PERM_UPDATE);
	assert_int_equal(perm_action_parse("delete"), PERM_DELETE);
	assert_int_equal(perm_action_parse("READ"), -1);
	assert_int_equal(perm_action_parse(NULL), -1);
}

static const struct good {
	enum perm_coll	 coll;
	const char	*cond;
	const char	*where;
	const char	*params;
} goods[] = {
	/* No condition. */
	{ PERM_FILES, NULL, "1", "" },
	{ PERM_FILES, "", "1", "" },
	{ PERM_FILES, "null", "1", "" },
	{ PERM_FILES, "{}", "1", "" },
	{ PERM_FILES, " {\n} ", "1", "" },
	/* Each operator. */
	{ PERM_FILES, "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}",
	    "(owner_id = ?)", "T:u1" },
	{ PERM_FILES, "{\"tenant_id\":{\"_eq\":\"$CURRENT_TENANT\"}}",
	    "(tenant_id = ?)", "T:t1" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"public\"}}",
	    "(acl = ?)", "T:public" },
	{ PERM_FILES, "{\"acl\":{\"_neq\":\"public\"}}",
	    "(acl IS NOT ?)", "T:public" },
	{ PERM_FILES, "{\"key\":{\"_eq\":\"a.jpg\"}}",
	    "(substr(key, 46) = ?)", "T:a.jpg" },
	{ PERM_FILES, "{\"acl\":{\"_in\":[\"public\",\"private\"]}}",
	    "(acl IN (?,?))", "T:public|T:private" },
	{ PERM_FILES, "{\"owner_id\":{\"_nin\":[\"a\",\"$CURRENT_USER\"]}}",
	    "(owner_id IS NULL OR owner_id NOT IN (?,?))", "T:a|T:u1" },
	{ PERM_FILES, "{\"key\":{\"_starts_with\":\"photos/\"}}",
	    "(substr(substr(key, 46), 1, length(?)) = ?)",
	    "T:photos/|T:photos/" },
	{ PERM_FILES, "{\"folder_id\":{\"_starts_with\":\"$CURRENT_USER\"}}",
	    "(substr(folder_id, 1, length(?)) = ?)", "T:u1|T:u1" },
	{ PERM_FILES, "{\"folder_id\":{\"_null\":true}}",
	    "(folder_id IS NULL)", "" },
	{ PERM_FILES, "{\"folder_id\":{\"_nnull\":true}}",
	    "(folder_id IS NOT NULL)", "" },
	/* Numbers and booleans. */
	{ PERM_FILES, "{\"size\":{\"_eq\":10}}", "(size = ?)", "I:10" },
	{ PERM_FILES, "{\"size\":{\"_eq\":-3}}", "(size = ?)", "I:-3" },
	{ PERM_FILES, "{\"size\":{\"_eq\":1e3}}", "(size = ?)", "I:1000" },
	{ PERM_FILES, "{\"size\":{\"_eq\":20.0}}", "(size = ?)", "I:20" },
	{ PERM_FILES, "{\"size\":{\"_eq\":1.5}}", "(size = ?)", "R:1.5" },
	{ PERM_FILES, "{\"size\":{\"_eq\":1e300}}", "(size = ?)",
	    "R:1e+300" },
	{ PERM_FILES, "{\"size\":{\"_eq\":true}}", "(size = ?)", "I:1" },
	{ PERM_FILES, "{\"size\":{\"_neq\":false}}", "(size IS NOT ?)",
	    "I:0" },
	{ PERM_FILES, "{\"size\":{\"_in\":[1,\"a\",true,2.5]}}",
	    "(size IN (?,?,?,?))", "I:1|T:a|I:1|R:2.5" },
	/* Strings that only look special are literals. */
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"$5 off\"}}", "(acl = ?)",
	    "T:$5 off" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"$\"}}", "(acl = ?)", "T:$" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"x') OR 1=1--\"}}", "(acl = ?)",
	    "T:x') OR 1=1--" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"\"}}", "(acl = ?)", "T:" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"caf\\u00e9\"}}", "(acl = ?)",
	    "T:caf\xc3\xa9" },
	/* Several keys in one object are ANDed, duplicates included. */
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"public\"},"
	    "\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}",
	    "((acl = ?) AND (owner_id = ?))", "T:public|T:u1" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"a\"},\"acl\":{\"_eq\":\"b\"}}",
	    "((acl = ?) AND (acl = ?))", "T:a|T:b" },
	/* Groups and nesting. */
	{ PERM_FILES, "{\"_and\":[{\"acl\":{\"_eq\":\"a\"}}]}",
	    "((acl = ?))", "T:a" },
	{ PERM_FILES, "{\"_and\":[{\"acl\":{\"_eq\":\"a\"}},"
	    "{\"size\":{\"_eq\":1}}]}",
	    "((acl = ?) AND (size = ?))", "T:a|I:1" },
	{ PERM_FILES, "{\"_or\":[{\"acl\":{\"_eq\":\"a\"}},"
	    "{\"size\":{\"_eq\":1}},{\"owner_id\":{\"_null\":true}}]}",
	    "((acl = ?) OR (size = ?) OR (owner_id IS NULL))", "T:a|I:1" },
	{ PERM_FILES, "{\"_or\":[{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}},"
	    "{\"_and\":[{\"acl\":{\"_eq\":\"public\"}},"
	    "{\"size\":{\"_nnull\":true}}]}]}",
	    "((owner_id = ?) OR ((acl = ?) AND (size IS NOT NULL)))",
	    "T:u1|T:public" },
	{ PERM_FILES, "{\"_or\":[{\"acl\":{\"_eq\":\"a\"}}],"
	    "\"size\":{\"_eq\":2}}",
	    "(((acl = ?)) AND (size = ?))", "T:a|I:2" },
	/* Other collections. */
	{ PERM_FOLDERS, "{\"name\":{\"_starts_with\":\"x\"}}",
	    "(substr(name, 1, length(?)) = ?)", "T:x|T:x" },
	{ PERM_FOLDERS, "{\"id\":{\"_eq\":\"f\"},"
	    "\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}",
	    "((id = ?) AND (owner_id = ?))", "T:f|T:u1" },
	{ PERM_AGENT_FILES, "{\"agent_id\":{\"_eq\":\"a\"},"
	    "\"path\":{\"_starts_with\":\"/srv\"}}",
	    "((agent_id = ?) AND (substr(path, 1, length(?)) = ?))",
	    "T:a|T:/srv|T:/srv" },
};

static void
test_good(void **state)
{
	struct perm_sql	 s;
	char		 err[256], ps[1024];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
		const struct good *g = &goods[i];

		if (perm_compile(g->coll, g->cond, &vars, &s, err,
		    sizeof(err)) != 0)
			fail_msg("case %zu (%s): %s", i, g->cond, err);
		if (strcmp(s.where, g->where) != 0)
			fail_msg("case %zu (%s): where \"%s\", want \"%s\"",
			    i, g->cond, s.where, g->where);
		params_str(&s, ps, sizeof(ps));
		if (strcmp(ps, g->params) != 0)
			fail_msg("case %zu (%s): params \"%s\", want \"%s\"",
			    i, g->cond, ps, g->params);
		assert_clean_sql(s.where);
		assert_int_equal(perm_validate(g->coll, g->cond, err,
		    sizeof(err)), 0);
		perm_sql_free(&s);
		assert_null(s.where);
		assert_null(s.params);
		assert_int_equal(s.nparams, 0);
	}
}

static const struct bad {
	enum perm_coll	 coll;
	const char	*cond;
	const char	*err;	/* substring of the message */
} bads[] = {
	/* Fields outside the allowlist, injection-shaped names included. */
	{ PERM_FILES, "{\"sha256\":{\"_eq\":\"x\"}}",
	    "unknown field \"sha256\" for system_files" },
	{ PERM_FILES, "{\"owner_id) OR (1=1\":{\"_eq\":\"x\"}}",
	    "unknown field \"owner_id) OR (1=1\" for system_files" },
	{ PERM_FILES, "{\"owner_id; DROP\":{\"_eq\":\"x\"}}",
	    "unknown field \"owner_id; DROP\"" },
	{ PERM_FILES, "{\"key--\":{\"_eq\":\"x\"}}", "unknown field" },
	{ PERM_FILES, "{\"\\\"key\\\"\":{\"_eq\":\"x\"}}",
	    "unknown field \"\\\"key\\\"\"" },
	{ PERM_FILES, "{\"Owner_id\":{\"_eq\":\"x\"}}", "unknown field" },
	{ PERM_FILES, "{\"owner_id \":{\"_eq\":\"x\"}}", "unknown field" },
	{ PERM_FILES, "{\"\":{\"_eq\":\"x\"}}", "unknown field" },
	{ PERM_FILES, "{\"agent_id\":{\"_eq\":\"x\"}}",
	    "unknown field \"agent_id\" for system_files" },
	{ PERM_FILES, "{\"id\":{\"_eq\":\"x\"}}", "unknown field" },
	{ PERM_FOLDERS, "{\"key\":{\"_eq\":\"x\"}}",
	    "for system_folders" },
	{ PERM_AGENT_FILES, "{\"owner_id\":{\"_eq\":\"x\"}}",
	    "for agent_files" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"a\"},\"bogus\":{\"_eq\":\"b\"}}",
	    "unknown field \"bogus\"" },
	{ PERM_FILES, "{\"_not\":[{\"acl\":{\"_eq\":\"a\"}}]}",
	    "unknown operator \"_not\"" },
	{ PERM_FILES, "{\"_AND\":[{\"acl\":{\"_eq\":\"a\"}}]}",
	    "unknown operator \"_AND\"" },
	/* Operators. */
	{ PERM_FILES, "{\"acl\":{\"_like\":\"x\"}}",
	    "unknown operator \"_like\"" },
	{ PERM_FILES, "{\"acl\":{\"_eq); DROP TABLE files;--\":\"x\"}}",
	    "unknown operator \"_eq); DROP TABLE files;--\"" },
	{ PERM_FILES, "{\"acl\":{\"_EQ\":\"x\"}}", "unknown operator \"_EQ\"" },
	{ PERM_FILES, "{\"acl\":{\"eq\":\"x\"}}", "unknown operator" },
	{ PERM_FILES, "{\"acl\":{\"_and\":[]}}", "unknown operator" },
	{ PERM_FILES, "{\"acl\":{}}", "has no operator" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"a\",\"_neq\":\"b\"}}",
	    "more than one operator" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"a\",\"_eq\":\"b\"}}",
	    "more than one operator" },
	{ PERM_FILES, "{\"acl\":\"public\"}", "needs an object" },
	{ PERM_FILES, "{\"acl\":[\"public\"]}", "needs an object" },
	{ PERM_FILES, "{\"acl\":null}", "needs an object" },
	/* Operator value types. */
	{ PERM_FILES, "{\"acl\":{\"_eq\":{\"x\":1}}}",
	    "_eq needs a string, number or boolean" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":[\"a\"]}}", "_eq needs" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":null}}", "_eq needs" },
	{ PERM_FILES, "{\"acl\":{\"_neq\":{}}}", "_neq needs" },
	{ PERM_FILES, "{\"acl\":{\"_in\":[]}}", "_in needs a non-empty array" },
	{ PERM_FILES, "{\"acl\":{\"_in\":\"a\"}}", "_in needs a non-empty" },
	{ PERM_FILES, "{\"acl\":{\"_in\":{\"a\":1}}}", "_in needs a non-empty" },
	{ PERM_FILES, "{\"acl\":{\"_in\":null}}", "_in needs a non-empty" },
	{ PERM_FILES, "{\"acl\":{\"_in\":[{\"a\":1}]}}",
	    "_in values must be strings, numbers or booleans" },
	{ PERM_FILES, "{\"acl\":{\"_in\":[\"a\",[\"b\"]]}}", "_in values" },
	{ PERM_FILES, "{\"acl\":{\"_in\":[null]}}", "_in values" },
	{ PERM_FILES, "{\"acl\":{\"_nin\":[]}}", "_nin needs a non-empty" },
	{ PERM_FILES, "{\"acl\":{\"_nin\":[{}]}}", "_nin values" },
	{ PERM_FILES, "{\"acl\":{\"_null\":false}}", "_null takes only true" },
	{ PERM_FILES, "{\"acl\":{\"_null\":\"x\"}}", "_null takes only true" },
	{ PERM_FILES, "{\"acl\":{\"_null\":1}}", "_null takes only true" },
	{ PERM_FILES, "{\"acl\":{\"_null\":null}}", "_null takes only true" },
	{ PERM_FILES, "{\"acl\":{\"_nnull\":false}}", "_nnull takes only" },
	{ PERM_FILES, "{\"key\":{\"_starts_with\":1}}",
	    "_starts_with needs a string" },
	{ PERM_FILES, "{\"key\":{\"_starts_with\":true}}",
	    "_starts_with needs a string" },
	{ PERM_FILES, "{\"key\":{\"_starts_with\":[\"a\"]}}",
	    "_starts_with needs a string" },
	{ PERM_FILES, "{\"size\":{\"_eq\":1e400}}", "out of range" },
	{ PERM_FILES, "{\"size\":{\"_in\":[1,-1e999]}}", "out of range" },
	/* Top level and groups. */
	{ PERM_FILES, "[]", "must be a JSON object" },
	{ PERM_FILES, "\"x\"", "must be a JSON object" },
	{ PERM_FILES, "1", "must be a JSON object" },
	{ PERM_FILES, "true", "must be a JSON object" },
	{ PERM_FILES, "{\"_and\":{}}", "_and needs a non-empty array" },
	{ PERM_FILES, "{\"_and\":[]}", "_and needs a non-empty array" },
	{ PERM_FILES, "{\"_and\":null}", "_and needs a non-empty array" },
	{ PERM_FILES, "{\"_or\":\"x\"}", "_or needs a non-empty array" },
	{ PERM_FILES, "{\"_or\":[]}", "_or needs a non-empty array" },
	{ PERM_FILES, "{\"_and\":[{}]}", "empty filter" },
	{ PERM_FILES, "{\"_or\":[{\"acl\":{\"_eq\":\"a\"}},{}]}",
	    "empty filter" },
	{ PERM_FILES, "{\"_and\":[1]}", "must be a JSON object" },
	{ PERM_FILES, "{\"_and\":[[{\"acl\":{\"_eq\":\"a\"}}]]}",
	    "must be a JSON object" },
	/* Variables. */
	{ PERM_FILES, "{\"owner_id\":{\"_eq\":\"$CURRENT_ROLE\"}}",
	    "unknown variable \"$CURRENT_ROLE\"" },
	{ PERM_FILES, "{\"owner_id\":{\"_eq\":\"$CURRENT_USERX\"}}",
	    "unknown variable" },
	{ PERM_FILES, "{\"owner_id\":{\"_eq\":\"$CURRENT_\"}}",
	    "unknown variable" },
	{ PERM_FILES, "{\"created_at\":{\"_eq\":\"$NOW\"}}",
	    "unknown variable \"$NOW\"" },
	{ PERM_FILES, "{\"owner_id\":{\"_in\":[\"a\",\"$CURRENT_ROLES\"]}}",
	    "unknown variable" },
	{ PERM_FILES, "{\"key\":{\"_starts_with\":\"$CURRENT_POLICIES\"}}",
	    "unknown variable" },
	/* Not JSON, or JSON with something after it. */
	{ PERM_FILES, "{", "not valid JSON" },
	{ PERM_FILES, "{\"a\":}", "not valid JSON" },
	{ PERM_FILES, "{} x", "not valid JSON" },
	{ PERM_FILES, "{}{}", "not valid JSON" },
	{ PERM_FILES, "{'acl':{'_eq':'a'}}", "not valid JSON" },
	{ PERM_FILES, " ", "not valid JSON" },
	{ PERM_FILES, "NULL", "not valid JSON" },
	/* "\u0000" would cut the C string short and change the meaning. */
	{ PERM_FILES, "{\"owner_id\\u0000x\":{\"_eq\":\"a\"}}", "NUL" },
	{ PERM_FILES, "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\\u0000x\"}}",
	    "NUL" },
	/* Collections out of range. */
	{ PERM_COLL__COUNT, "{}", "unknown collection" },
	{ (enum perm_coll)-1, "{}", "unknown collection" },
};

static void
check_bad(enum perm_coll coll, const char *cond, const char *want,
    size_t i)
{
	struct perm_sql	 s;
	char		 err[256];

	memset(&s, 0xa5, sizeof(s));
	err[0] = '\0';
	if (perm_compile(coll, cond, &vars, &s, err, sizeof(err)) != -1) {
		fail_msg("case %zu (%.80s) compiled to \"%s\"", i, cond,
		    s.where);
	}
	/* A failed compile leaves nothing to free and nothing to use. */
	assert_null(s.where);
	assert_null(s.params);
	assert_int_equal(s.nparams, 0);
	if (strstr(err, want) == NULL)
		fail_msg("case %zu (%.80s): error \"%s\", want \"%s\"", i,
		    cond, err, want);
	err[0] = '\0';
	assert_int_equal(perm_validate(coll, cond, err, sizeof(err)), -1);
	assert_non_null(strstr(err, want));
}

static void
test_bad(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		check_bad(bads[i].coll, bads[i].cond, bads[i].err, i);
}

/* A growable string for generated conditions (the test's own). */
struct gen {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
gen_add(struct gen *g, const char *s)
{
	size_t	 n = strlen(s);

	if (g->len + n + 1 > g->cap) {
		g->cap = (g->len + n + 1) * 2;
		g->p = realloc(g->p, g->cap);
		assert_non_null(g->p);
	}
	memcpy(g->p + g->len, s, n + 1);
	g->len += n;
}

/* n levels of _and around one comparison. */
static char *
gen_nest(int n)
{
	struct gen	 g = { NULL, 0, 0 };
	int		 i;

	gen_add(&g, "");
	for (i = 0; i < n; i++)
		gen_add(&g, "{\"_and\":[");
	gen_add(&g, "{\"acl\":{\"_eq\":\"a\"}}");
	for (i = 0; i < n; i++)
		gen_add(&g, "]}");
	return g.p;
}

/* An _or of n comparisons. */
static char *
gen_wide(int n)
{
	struct gen	 g = { NULL, 0, 0 };
	int		 i;

	gen_add(&g, "{\"_or\":[");
	for (i = 0; i < n; i++)
		gen_add(&g, i ? ",{\"size\":{\"_eq\":1}}" :
		    "{\"size\":{\"_eq\":1}}");
	gen_add(&g, "]}");
	return g.p;
}

/* An _in of n values. */
static char *
gen_in(const char *op, int n)
{
	struct gen	 g = { NULL, 0, 0 };
	char		 num[32];
	int		 i;

	gen_add(&g, "{\"size\":{\"");
	gen_add(&g, op);
	gen_add(&g, "\":[");
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%s%d", i ? "," : "", i);
		gen_add(&g, num);
	}
	gen_add(&g, "]}}");
	return g.p;
}

/* {"acl":{"_eq":"aaa..."}} with an n-byte string, padded with spaces
 * after the JSON to total bytes when total is larger. */
static char *
gen_str(size_t n, size_t total)
{
	struct gen	 g = { NULL, 0, 0 };
	char		*s;

	s = malloc(n + 1);
	assert_non_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	gen_add(&g, "{\"acl\":{\"_eq\":\"");
	gen_add(&g, s);
	gen_add(&g, "\"}}");
	free(s);
	while (g.len < total)
		gen_add(&g, " ");
	return g.p;
}

static void
expect_ok(enum perm_coll c, const char *cond, size_t nparams)
{
	struct perm_sql	 s;
	char		 err[256];

	if (perm_compile(c, cond, &vars, &s, err, sizeof(err)) != 0)
		fail_msg("%.80s...: %s", cond, err);
	assert_int_equal(s.nparams, nparams);
	assert_clean_sql(s.where);
	perm_sql_free(&s);
}

static void
test_limits(void **state)
{
	char	*c;

	(void)state;

	c = gen_nest(PERM_MAX_DEPTH);
	expect_ok(PERM_FILES, c, 1);
	free(c);
	c = gen_nest(PERM_MAX_DEPTH + 1);
	check_bad(PERM_FILES, c, "condition nests deeper than 8 levels", 0);
	free(c);
	/* Far past cJSON's own limit: still refused, never a crash. */
	c = gen_nest(2000);
	check_bad(PERM_FILES, c, "", 0);
	free(c);

	c = gen_wide(PERM_MAX_NODES);
	expect_ok(PERM_FILES, c, PERM_MAX_NODES);
	free(c);
	c = gen_wide(PERM_MAX_NODES + 1);
	check_bad(PERM_FILES, c, "more than 128 comparisons", 0);
	free(c);

	c = gen_in("_in", PERM_MAX_IN);
	expect_ok(PERM_FILES, c, PERM_MAX_IN);
	free(c);
	c = gen_in("_in", PERM_MAX_IN + 1);
	check_bad(PERM_FILES, c, "_in has more than 100 values", 0);
	free(c);
	c = gen_in("_nin", PERM_MAX_IN + 1);
	check_bad(PERM_FILES, c, "_nin has more than 100 values", 0);
	free(c);

	c = gen_str(4096, 0);
	expect_ok(PERM_FILES, c, 1);
	free(c);
	c = gen_str(4097, 0);
	check_bad(PERM_FILES, c, "longer than 4096 bytes", 0);
	free(c);

	/* The text limit counts bytes, white space included. */
	c = gen_str(10, PERM_MAX_TEXT);
	assert_int_equal(strlen(c), PERM_MAX_TEXT);
	expect_ok(PERM_FILES, c, 1);
	free(c);
	c = gen_str(10, PERM_MAX_TEXT + 1);
	check_bad(PERM_FILES, c, "longer than 16384 bytes", 0);
	free(c);
	c = gen_str(1000000, 0);
	check_bad(PERM_FILES, c, "longer than 16384 bytes", 0);
	free(c);
}

/* Error messages echo at most a bounded, escaped part of the input. */
static void
test_err_safe(void **state)
{
	struct gen	 g = { NULL, 0, 0 };
	struct perm_sql	 s;
	char		 err[1024];
	size_t		 i;
	int		 k;

	(void)state;
	gen_add(&g, "{\"a\\u0001\\n\\u001b[31m");
	for (k = 0; k < 500; k++)
		gen_add(&g, "B");
	gen_add(&g, "\":{\"_eq\":\"x\"}}");
	assert_int_equal(perm_compile(PERM_FILES, g.p, &vars, &s, err,
	    sizeof(err)), -1);
	free(g.p);
	assert_non_null(strstr(err, "unknown field \"a\\x01\\x0a\\x1b[31mB"));
	assert_non_null(strstr(err, "...\" for system_files"));
	assert_true(strlen(err) < 200);
	for (i = 0; err[i] != '\0'; i++)
		assert_true((unsigned char)err[i] >= 0x20 &&
		    (unsigned char)err[i] < 0x7f);

	/* A short buffer truncates; NULL is allowed. */
	assert_int_equal(perm_compile(PERM_FILES, "{\"x\":{}}", &vars, &s,
	    err, 8), -1);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(perm_compile(PERM_FILES, "{\"x\":{}}", &vars, &s,
	    NULL, 0), -1);
	assert_int_equal(perm_validate(PERM_FILES, "{\"x\":{}}", NULL, 0),
	    -1);
}

/*
 * Hostile values travel only as params: the WHERE holds none of their
 * bytes (checked by assert_clean_sql), and each comes back intact.
 */
static void
test_values_are_params(void **state)
{
	static const char *const evil[] = {
		"ZQX' OR '1'='1",
		"ZQX\"); DROP TABLE files; --",
		"ZQX%_*?\\",
		"ZQX) OR (1=1",
		"ZQX\xe2\x80\xae\xc3\xa9",
		"ZQX$current_user",
	};
	/* Each value goes between a prefix and a suffix. */
	static const char *const fmts[][2] = {
		{ "{\"owner_id\":{\"_eq\":", "}}" },
		{ "{\"owner_id\":{\"_neq\":", "}}" },
		{ "{\"key\":{\"_starts_with\":", "}}" },
		{ "{\"acl\":{\"_in\":[", "]}}" },
		{ "{\"acl\":{\"_nin\":[\"ok\",", "]}}" },
		{ "{\"_or\":[{\"acl\":{\"_eq\":",
		    "}},{\"size\":{\"_eq\":3}}]}" },
	};
	struct perm_sql	 s;
	char		 cond[512], quoted[128], err[256];
	size_t		 i, j, k, o;
	int		 found;

	(void)state;
	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		/* JSON-quote the value by hand: only " and \ need it. */
		o = 0;
		quoted[o++] = '"';
		for (k = 0; evil[i][k] != '\0'; k++) {
			if (evil[i][k] == '"' || evil[i][k] == '\\')
				quoted[o++] = '\\';
			quoted[o++] = evil[i][k];
		}
		quoted[o++] = '"';
		quoted[o] = '\0';
		for (j = 0; j < sizeof(fmts) / sizeof(fmts[0]); j++) {
			snprintf(cond, sizeof(cond), "%s%s%s", fmts[j][0],
			    quoted, fmts[j][1]);
			if (perm_compile(PERM_FILES, cond, &vars, &s, err,
			    sizeof(err)) != 0)
				fail_msg("%s: %s", cond, err);
			assert_clean_sql(s.where);
			assert_null(strstr(s.where, "ZQX"));
			found = 0;
			for (k = 0; k < s.nparams; k++)
				if (s.params[k].type == PERM_V_TEXT &&
				    strcmp(s.params[k].text, evil[i]) == 0)
					found = 1;
			assert_true(found);
			perm_sql_free(&s);
		}
	}
}

/* A variable with no value makes its comparison false: (0). */
static void
test_unset_vars(void **state)
{
	static const struct strpair cases[] = {	/* condition, WHERE */
		{ "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}", "(0)" },
		{ "{\"owner_id\":{\"_neq\":\"$CURRENT_USER\"}}", "(0)" },
		{ "{\"owner_id\":{\"_in\":[\"a\",\"$CURRENT_USER\"]}}", "(0)" },
		{ "{\"owner_id\":{\"_nin\":[\"$CURRENT_USER\"]}}", "(0)" },
		{ "{\"key\":{\"_starts_with\":\"$CURRENT_TENANT\"}}", "(0)" },
		{ "{\"_or\":[{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}},"
		    "{\"acl\":{\"_eq\":\"public\"}}]}", "((0) OR (acl = ?))" },
	};
	const struct perm_vars	 none = { NULL, NULL };
	struct perm_sql		 s;
	char			 err[256];
	size_t			 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		assert_int_equal(perm_compile(PERM_FILES, cases[i].a,
		    &none, &s, err, sizeof(err)), 0);
		assert_string_equal(s.where, cases[i].b);
		perm_sql_free(&s);
		/* NULL vars behaves the same. */
		assert_int_equal(perm_compile(PERM_FILES, cases[i].a,
		    NULL, &s, err, sizeof(err)), 0);
		assert_string_equal(s.where, cases[i].b);
		perm_sql_free(&s);
	}
	/* An unknown variable is still an error when nothing is set. */
	assert_int_equal(perm_compile(PERM_FILES,
	    "{\"owner_id\":{\"_eq\":\"$CURRENT_ROLE\"}}", NULL, &s, err,
	    sizeof(err)), -1);
}

/* The files table of sql/0002-files.sql, without the foreign keys. */
static const char files_ddl[] =
	"CREATE TABLE files ("
	"	key		TEXT PRIMARY KEY,"
	"	tenant_id	TEXT NOT NULL,"
	"	size		INTEGER NOT NULL CHECK (size >= 0),"
	"	content_type	TEXT NOT NULL,"
	"	sha256		TEXT NOT NULL,"
	"	acl		TEXT NOT NULL DEFAULT 'private'"
	"			    CHECK (acl IN ('private', 'public')),"
	"	owner_id	TEXT,"
	"	folder_id	TEXT,"
	"	created_at	INTEGER NOT NULL,"
	"	updated_at	INTEGER NOT NULL"
	") WITHOUT ROWID;"
	/* The permissions table of sql/0001-identity.sql, likewise. */
	"CREATE TABLE permissions ("
	"	id		INTEGER PRIMARY KEY,"
	"	role_id		TEXT NOT NULL,"
	"	collection	TEXT NOT NULL CHECK (collection IN"
	"			    ('system_files', 'system_folders',"
	"			    'agent_files')),"
	"	action		TEXT NOT NULL CHECK (action IN"
	"			    ('create', 'read', 'update', 'delete')),"
	"	condition	TEXT"
	");";

/* Logical key, owner, acl, size, folder. */
static const struct {
	const char	*key;
	const char	*owner;
	const char	*acl;
	int		 size;
	const char	*folder;
} rows[] = {
	{ "photos/a.jpg",	"u1",	"private",	10,	"f1" },
	{ "photos/b.jpg",	"u2",	"public",	20,	"f1" },
	{ "photos%/c.jpg",	"u1",	"public",	30,	NULL },
	{ "photosX/d.jpg",	"u1",	"private",	40,	NULL },
	{ "photo_/e.jpg",	"u2",	"private",	50,	NULL },
	{ "docs/f.txt",		NULL,	"public",	60,	NULL },
	{ "Photos/g.jpg",	"u2",	"private",	70,	NULL },
};

static sqlite3 *
db_setup(void)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	char		 key[256];
	size_t		 i;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, files_ddl, NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO files (key, "
	    "tenant_id, size, content_type, sha256, acl, owner_id, "
	    "folder_id, created_at, updated_at) VALUES "
	    "(?, '" TENANT "', ?, 'image/jpeg', 'x', ?, ?, ?, 1, 1)", -1,
	    &st, NULL), SQLITE_OK);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(key, sizeof(key), PFX "%s", rows[i].key);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, rows[i].size);
		sqlite3_bind_text(st, 3, rows[i].acl, -1, SQLITE_STATIC);
		/* A NULL owner or folder binds SQL NULL. */
		sqlite3_bind_text(st, 4, rows[i].owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, rows[i].folder, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	sqlite3_finalize(st);
	return db;
}

/* The logical keys s selects, in key order, joined with ",". */
static void
run_filter(sqlite3 *db, const struct perm_sql *s, char *out, size_t len)
{
	struct gen	 q = { NULL, 0, 0 };
	sqlite3_stmt	*st = NULL;
	size_t		 o = 0;
	int		 n, rc;

	gen_add(&q, "SELECT substr(key, 46) FROM files WHERE ");
	gen_add(&q, s->where);
	gen_add(&q, " ORDER BY key");
	if (sqlite3_prepare_v2(db, q.p, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q.p, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_bind_parameter_count(st), (int)s->nparams);
	assert_int_equal(perm_bind(st, 1, s), SQLITE_OK);
	out[0] = '\0';
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = snprintf(out + o, len - o, "%s%s", o ? "," : "",
		    (const char *)sqlite3_column_text(st, 0));
		assert_true(n >= 0 && (size_t)n < len - o);
		o += (size_t)n;
	}
	assert_int_equal(rc, SQLITE_DONE);
	sqlite3_finalize(st);
	free(q.p);
}

static void
test_semantics(void **state)
{
	static const struct {
		const char	*cond;
		const char	*user;
		const char	*want;
	} cases[] = {
		{ "{}", "u1", "Photos/g.jpg,docs/f.txt,photo_/e.jpg,"
		    "photos%/c.jpg,photos/a.jpg,photos/b.jpg,photosX/d.jpg" },
		{ "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}", "u1",
		    "photos%/c.jpg,photos/a.jpg,photosX/d.jpg" },
		{ "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}", "u2",
		    "Photos/g.jpg,photo_/e.jpg,photos/b.jpg" },
		{ "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}", NULL, "" },
		/* _neq and _nin keep the row with no owner. */
		{ "{\"owner_id\":{\"_neq\":\"u1\"}}", "u1",
		    "Photos/g.jpg,docs/f.txt,photo_/e.jpg,photos/b.jpg" },
		{ "{\"owner_id\":{\"_nin\":[\"u1\"]}}", "u1",
		    "Photos/g.jpg,docs/f.txt,photo_/e.jpg,photos/b.jpg" },
		{ "{\"owner_id\":{\"_nin\":[\"u1\",\"u2\"]}}", "u1",
		    "docs/f.txt" },
		{ "{\"owner_id\":{\"_neq\":\"$CURRENT_USER\"}}", NULL, "" },
		{ "{\"owner_id\":{\"_nin\":[\"$CURRENT_USER\"]}}", NULL, "" },
		{ "{\"owner_id\":{\"_in\":[\"u1\",\"u2\"]}}", "u1",
		    "Photos/g.jpg,photo_/e.jpg,photos%/c.jpg,photos/a.jpg,"
		    "photos/b.jpg,photosX/d.jpg" },
		{ "{\"owner_id\":{\"_null\":true}}", "u1", "docs/f.txt" },
		{ "{\"folder_id\":{\"_nnull\":true}}", "u1",
		    "photos/a.jpg,photos/b.jpg" },
		/* '%' and '_' are literal; the match is case-sensitive. */
		{ "{\"key\":{\"_starts_with\":\"photos%\"}}", "u1",
		    "photos%/c.jpg" },
		{ "{\"key\":{\"_starts_with\":\"photo_/\"}}", "u1",
		    "photo_/e.jpg" },
		{ "{\"key\":{\"_starts_with\":\"photos/\"}}", "u1",
		    "photos/a.jpg,photos/b.jpg" },
		{ "{\"key\":{\"_starts_with\":\"p\"}}", "u1",
		    "photo_/e.jpg,photos%/c.jpg,photos/a.jpg,photos/b.jpg,"
		    "photosX/d.jpg" },
		{ "{\"key\":{\"_starts_with\":\"\"}}", "u1",
		    "Photos/g.jpg,docs/f.txt,photo_/e.jpg,photos%/c.jpg,"
		    "photos/a.jpg,photos/b.jpg,photosX/d.jpg" },
		/* key is the logical key, not the physical one. */
		{ "{\"key\":{\"_starts_with\":\"tenants/\"}}", "u1", "" },
		{ "{\"key\":{\"_eq\":\"docs/f.txt\"}}", "u1", "docs/f.txt" },
		{ "{\"key\":{\"_eq\":\"" PFX "docs/f.txt\"}}", "u1", "" },
		{ "{\"key\":{\"_in\":[\"docs/f.txt\",\"photos/a.jpg\"]}}",
		    "u1", "docs/f.txt,photos/a.jpg" },
		/* Numbers. */
		{ "{\"size\":{\"_in\":[10,20.0,35]}}", "u1",
		    "photos/a.jpg,photos/b.jpg" },
		{ "{\"size\":{\"_eq\":10.5}}", "u1", "" },
		/* Groups. */
		{ "{\"_or\":[{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}},"
		    "{\"acl\":{\"_eq\":\"public\"}}]}", "u1",
		    "docs/f.txt,photos%/c.jpg,photos/a.jpg,photos/b.jpg,"
		    "photosX/d.jpg" },
		{ "{\"_or\":[{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}},"
		    "{\"acl\":{\"_eq\":\"public\"}}]}", NULL,
		    "docs/f.txt,photos%/c.jpg,photos/b.jpg" },
		{ "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"},"
		    "\"acl\":{\"_eq\":\"public\"}}", "u1", "photos%/c.jpg" },
		{ "{\"_and\":[{\"key\":{\"_starts_with\":\"photo\"}},"
		    "{\"_or\":[{\"size\":{\"_eq\":50}},"
		    "{\"folder_id\":{\"_eq\":\"f1\"}}]}]}", "u1",
		    "photo_/e.jpg,photos/a.jpg,photos/b.jpg" },
		{ "{\"tenant_id\":{\"_eq\":\"$CURRENT_TENANT\"}}", "u1", "" },
	};
	sqlite3		*db;
	struct perm_sql	 s;
	struct perm_vars v;
	char		 err[256], got[1024];
	size_t		 i;

	(void)state;
	db = db_setup();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v.user_id = cases[i].user;
		v.tenant_id = "t1";
		if (perm_compile(PERM_FILES, cases[i].cond, &v, &s, err,
		    sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		run_filter(db, &s, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu (%s): got \"%s\", want \"%s\"", i,
			    cases[i].cond, got, cases[i].want);
		perm_sql_free(&s);
	}
	sqlite3_close(db);
}

/* The single-row check binds the fragment after its own parameter. */
static void
test_bind_offset(void **state)
{
	sqlite3		*db;
	sqlite3_stmt	*st = NULL;
	struct perm_sql	 s;
	char		 err[256];

	(void)state;
	db = db_setup();
	assert_int_equal(perm_compile(PERM_FILES, "{\"_and\":["
	    "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}},"
	    "{\"size\":{\"_in\":[10, 1.5]}},"
	    "{\"key\":{\"_starts_with\":\"photos/\"}}]}", &vars, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.nparams, 5);
	assert_int_equal(s.params[2].type, PERM_V_REAL);
	{
		struct gen q = { NULL, 0, 0 };

		gen_add(&q, "SELECT 1 FROM files WHERE key = ? AND ");
		gen_add(&q, s.where);
		assert_int_equal(sqlite3_prepare_v2(db, q.p, -1, &st, NULL),
		    SQLITE_OK);
		free(q.p);
	}
	sqlite3_bind_text(st, 1, PFX "photos/a.jpg", -1, SQLITE_STATIC);
	assert_int_equal(perm_bind(st, 2, &s), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, PFX "photos/b.jpg", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	/* Past the statement's last parameter: an error, not silence. */
	sqlite3_reset(st);
	assert_int_equal(perm_bind(st, 3, &s), SQLITE_RANGE);
	assert_int_equal(perm_bind(st, 0, &s), SQLITE_MISUSE);
	assert_int_equal(perm_bind(NULL, 1, &s), SQLITE_MISUSE);
	assert_int_equal(perm_bind(st, 1, NULL), SQLITE_MISUSE);
	sqlite3_finalize(st);
	perm_sql_free(&s);
	perm_sql_free(NULL);
	sqlite3_close(db);
}

static void
perm_add(sqlite3 *db, const char *role, const char *coll,
    const char *action, const char *cond)
{
	sqlite3_stmt	*st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO permissions "
	    "(role_id, collection, action, condition) VALUES (?, ?, ?, ?)",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, coll, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, cond, -1, SQLITE_STATIC);	/* NULL: NULL */
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* A database with one role a case: see the tests below. */
static sqlite3 *
lookup_db(void)
{
	static const char own[] = "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}";
	static const char pub[] = "{\"acl\":{\"_eq\":\"public\"}}";
	sqlite3		*db;

	db = db_setup();
	perm_add(db, "r-all", "system_files", "read", NULL);
	perm_add(db, "r-empty", "system_files", "read", "");
	perm_add(db, "r-one", "system_files", "read", own);
	perm_add(db, "r-two", "system_files", "read", own);
	perm_add(db, "r-two", "system_files", "read", pub);
	perm_add(db, "r-two", "system_folders", "read", NULL);
	perm_add(db, "r-two", "system_files", "update", NULL);
	perm_add(db, "r-mixed", "system_files", "read", own);
	perm_add(db, "r-mixed", "system_files", "read", NULL);
	perm_add(db, "r-brace", "system_files", "read", own);
	perm_add(db, "r-brace", "system_files", "read", "{}");
	perm_add(db, "r-bad", "system_files", "read", own);
	perm_add(db, "r-bad", "system_files", "read", "{\"owner_id\":");
	perm_add(db, "r-bad-all", "system_files", "read", NULL);
	perm_add(db, "r-bad-all", "system_files", "read",
	    "{\"sha256\":{\"_eq\":\"x\"}}");
	perm_add(db, "r-agentfield", "system_files", "delete",
	    "{\"agent_id\":{\"_eq\":\"a\"}}");
	assert_int_equal(sqlite3_exec(db, "INSERT INTO permissions "
	    "(role_id, collection, action, condition) VALUES "
	    "('r-blob', 'system_files', 'read', x'7b7d'),"
	    "('r-nul', 'system_files', 'read', "
	    "CAST(x'7b7d00787878' AS TEXT))", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

/* ROLE may read everything in COLL: the filter is "1", with no params. */
static void
assert_reads_all(sqlite3 *db, const char *role, enum perm_coll coll)
{
	struct perm_sql	 s;

	assert_int_equal(perm_lookup(db, role, coll, PERM_READ, &vars, &s),
	    1);
	assert_string_equal(s.where, "1");
	assert_int_equal(s.nparams, 0);
	perm_sql_free(&s);
}

static void
test_lookup_all_or_none(void **state)
{
	sqlite3		*db;
	struct perm_sql	 s;

	(void)state;
	db = lookup_db();
	/* No rows: denied, out untouched. */
	s.where = (char *)"sentinel";
	s.params = NULL;
	s.nparams = 7;
	assert_int_equal(perm_lookup(db, "r-none", PERM_FILES, PERM_READ,
	    &vars, &s), 0);
	assert_string_equal(s.where, "sentinel");
	assert_int_equal(s.nparams, 7);
	assert_int_equal(perm_lookup(db, "r-two", PERM_FILES, PERM_DELETE,
	    &vars, &s), 0);
	assert_int_equal(perm_lookup(db, "r-two", PERM_AGENT_FILES,
	    PERM_READ, &vars, &s), 0);

	/* A NULL or empty condition: everything. */
	assert_reads_all(db, "r-all", PERM_FILES);
	assert_reads_all(db, "r-empty", PERM_FILES);
	assert_reads_all(db, "r-two", PERM_FOLDERS);
	assert_reads_all(db, "r-mixed", PERM_FILES);
	assert_reads_all(db, "r-brace", PERM_FILES);
	sqlite3_close(db);
}

static void
test_lookup_filters(void **state)
{
	sqlite3		*db;
	struct perm_sql	 s;
	char		 got[1024], ps[256];

	(void)state;
	db = lookup_db();
	/* One row, then two ORed with their params in order. */
	assert_int_equal(perm_lookup(db, "r-one", PERM_FILES, PERM_READ,
	    &vars, &s), 1);
	assert_string_equal(s.where, "(((owner_id = ?)))");
	params_str(&s, ps, sizeof(ps));
	assert_string_equal(ps, "T:u1");
	run_filter(db, &s, got, sizeof(got));
	assert_string_equal(got, "photos%/c.jpg,photos/a.jpg,photosX/d.jpg");
	perm_sql_free(&s);

	assert_int_equal(perm_lookup(db, "r-two", PERM_FILES, PERM_READ,
	    &vars, &s), 1);
	assert_string_equal(s.where, "(((owner_id = ?)) OR ((acl = ?)))");
	params_str(&s, ps, sizeof(ps));
	assert_string_equal(ps, "T:u1|T:public");
	assert_clean_sql(s.where);
	run_filter(db, &s, got, sizeof(got));
	assert_string_equal(got, "docs/f.txt,photos%/c.jpg,photos/a.jpg,"
	    "photos/b.jpg,photosX/d.jpg");
	perm_sql_free(&s);

	/* Anonymous: the owner branch is false, public still shows. */
	assert_int_equal(perm_lookup(db, "r-two", PERM_FILES, PERM_READ,
	    NULL, &s), 1);
	assert_string_equal(s.where, "(((0)) OR ((acl = ?)))");
	run_filter(db, &s, got, sizeof(got));
	assert_string_equal(got, "docs/f.txt,photos%/c.jpg,photos/b.jpg");
	perm_sql_free(&s);
	sqlite3_close(db);
}

static void
test_lookup_fails_closed(void **state)
{
	sqlite3		*db;
	struct perm_sql	 s;

	(void)state;
	db = lookup_db();
	/* A stored condition that does not compile fails closed, even
	 * beside a row that grants everything. */
	s.where = (char *)"sentinel";
	assert_int_equal(perm_lookup(db, "r-bad", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	assert_int_equal(perm_lookup(db, "r-bad-all", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	assert_int_equal(perm_lookup(db, "r-agentfield", PERM_FILES,
	    PERM_DELETE, &vars, &s), -1);
	assert_int_equal(perm_lookup(db, "r-blob", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	assert_int_equal(perm_lookup(db, "r-nul", PERM_FILES, PERM_READ,
	    &vars, &s), -1);

	/* Bad arguments and a broken database. */
	assert_int_equal(perm_lookup(db, NULL, PERM_FILES, PERM_READ, &vars,
	    &s), -1);
	assert_int_equal(perm_lookup(db, "r-all", PERM_COLL__COUNT,
	    PERM_READ, &vars, &s), -1);
	assert_int_equal(perm_lookup(db, "r-all", PERM_FILES,
	    PERM_ACTION__COUNT, &vars, &s), -1);
	assert_int_equal(perm_lookup(NULL, "r-all", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE permissions", NULL,
	    NULL, NULL), SQLITE_OK);
	assert_int_equal(perm_lookup(db, "r-all", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	assert_string_equal(s.where, "sentinel");
	sqlite3_close(db);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_good),
    cmocka_unit_test(test_bad),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_err_safe),
    cmocka_unit_test(test_values_are_params),
    cmocka_unit_test(test_unset_vars),
    cmocka_unit_test(test_semantics),
    cmocka_unit_test(test_bind_offset),
    cmocka_unit_test(test_lookup_all_or_none),
    cmocka_unit_test(test_lookup_filters),
    cmocka_unit_test(test_lookup_fails_closed))
