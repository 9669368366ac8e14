/*
 * Unit tests for common/perm.c: the condition DSL compiler and the
 * permission lookup (DESIGN §4).
 *
 * The compiler is tested three ways: exact SQL and params for good input,
 * refusal of hostile and invalid input, and the meaning of the SQL on a
 * real database, so a fragment that looks right but selects the wrong
 * rows still fails. The SQL is one text for both engines, so each test
 * that runs it runs twice: on SQLite (:memory:), and on PostgreSQL when
 * FILESTOR_TEST_PG names one (a libpq URI; see "The engines" below),
 * checking the same rows on both.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "db.h"
#include "perm.h"
#include "principal.h"

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
 * allowlisted column names, keywords, "?", "1", "46" and punctuation. A quote, a semicolon, a dash or any other word means input
 * leaked into the SQL.
 */
static void
assert_clean_sql(const char *where)
{
	static const char *const words[] = {
		"AND", "OR", "IS", "NOT", "NULL", "IN", "DISTINCT", "FROM",
		"TRUE", "FALSE", "CAST", "AS", "TEXT", "substr", "length",
		"key", "owner_id", "folder_id", "acl", "content_type",
		"size", "tenant_id", "created_at", "updated_at", "id",
		"name", "agent_id", "path", "1", "46",
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
	{ PERM_FILES, NULL, "TRUE", "" },
	{ PERM_FILES, "", "TRUE", "" },
	{ PERM_FILES, "null", "TRUE", "" },
	{ PERM_FILES, "{}", "TRUE", "" },
	{ PERM_FILES, " {\n} ", "TRUE", "" },
	/* Each operator. */
	{ PERM_FILES, "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}",
	    "(owner_id = ?)", "T:u1" },
	{ PERM_FILES, "{\"tenant_id\":{\"_eq\":\"$CURRENT_TENANT\"}}",
	    "(tenant_id = ?)", "T:t1" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"public\"}}",
	    "(acl = ?)", "T:public" },
	{ PERM_FILES, "{\"acl\":{\"_neq\":\"public\"}}",
	    "(acl IS DISTINCT FROM ?)", "T:public" },
	{ PERM_FILES, "{\"key\":{\"_eq\":\"a.jpg\"}}",
	    "(substr(key, 46) = ?)", "T:a.jpg" },
	{ PERM_FILES, "{\"acl\":{\"_in\":[\"public\",\"private\"]}}",
	    "(acl IN (?,?))", "T:public|T:private" },
	{ PERM_FILES, "{\"owner_id\":{\"_nin\":[\"a\",\"$CURRENT_USER\"]}}",
	    "(owner_id IS NULL OR owner_id NOT IN (?,?))", "T:a|T:u1" },
	{ PERM_FILES, "{\"key\":{\"_starts_with\":\"photos/\"}}",
	    "(substr(substr(key, 46), 1, length(CAST(? AS TEXT))) = ?)",
	    "T:photos/|T:photos/" },
	{ PERM_FILES, "{\"folder_id\":{\"_starts_with\":\"$CURRENT_USER\"}}",
	    "(substr(folder_id, 1, length(CAST(? AS TEXT))) = ?)",
	    "T:u1|T:u1" },
	{ PERM_FILES, "{\"folder_id\":{\"_null\":true}}",
	    "(folder_id IS NULL)", "" },
	{ PERM_FILES, "{\"folder_id\":{\"_nnull\":true}}",
	    "(folder_id IS NOT NULL)", "" },
	/*
	 * Numbers and booleans. A value takes its column's type, as SQLite
	 * compares it: an INTEGER column (size, created_at, updated_at)
	 * integers, numeric strings read as numbers; a TEXT one text. A
	 * value the column can never equal drops out.
	 */
	{ PERM_FILES, "{\"size\":{\"_eq\":10}}", "(size = ?)", "I:10" },
	{ PERM_FILES, "{\"size\":{\"_eq\":-3}}", "(size = ?)", "I:-3" },
	{ PERM_FILES, "{\"size\":{\"_eq\":1e3}}", "(size = ?)", "I:1000" },
	{ PERM_FILES, "{\"size\":{\"_eq\":20.0}}", "(size = ?)", "I:20" },
	{ PERM_FILES, "{\"size\":{\"_eq\":1.5}}", "(FALSE)", "" },
	{ PERM_FILES, "{\"size\":{\"_eq\":1e300}}", "(FALSE)", "" },
	{ PERM_FILES, "{\"size\":{\"_eq\":1152921504606846976}}",
	    "(size = ?)", "I:1152921504606846976" },
	{ PERM_FILES, "{\"size\":{\"_eq\":true}}", "(size = ?)", "I:1" },
	{ PERM_FILES, "{\"size\":{\"_neq\":false}}",
	    "(size IS DISTINCT FROM ?)", "I:0" },
	{ PERM_FILES, "{\"size\":{\"_eq\":\" 5\"}}", "(size = ?)", "I:5" },
	{ PERM_FILES, "{\"size\":{\"_eq\":\"5e1\"}}", "(size = ?)",
	    "I:50" },
	{ PERM_FILES, "{\"size\":{\"_eq\":\"abc\"}}", "(FALSE)", "" },
	{ PERM_FILES, "{\"size\":{\"_neq\":\"abc\"}}", "(TRUE)", "" },
	{ PERM_FILES, "{\"size\":{\"_in\":[1,\"a\",true,2.5]}}",
	    "(size IN (?,?))", "I:1|I:1" },
	{ PERM_FILES, "{\"size\":{\"_in\":[\"a\",2.5]}}", "(FALSE)", "" },
	{ PERM_FILES, "{\"size\":{\"_nin\":[\"a\",\"7\"]}}",
	    "(size IS NULL OR size NOT IN (?))", "I:7" },
	{ PERM_FILES, "{\"size\":{\"_nin\":[\"a\"]}}", "(TRUE)", "" },
	{ PERM_FILES, "{\"size\":{\"_starts_with\":\"1\"}}",
	    "(substr(CAST(size AS TEXT), 1, length(CAST(? AS TEXT))) = ?)",
	    "T:1|T:1" },
	{ PERM_FILES, "{\"created_at\":{\"_eq\":\"$CURRENT_USER\"}}",
	    "(FALSE)", "" },
	{ PERM_FILES, "{\"content_type\":{\"_eq\":5}}",
	    "(content_type = ?)", "T:5" },
	{ PERM_FILES, "{\"content_type\":{\"_eq\":-1.5}}",
	    "(content_type = ?)", "T:-1.5" },
	{ PERM_FILES, "{\"content_type\":{\"_eq\":1e300}}",
	    "(content_type = ?)", "T:1.0e+300" },
	{ PERM_FILES, "{\"content_type\":{\"_eq\":1e16}}",
	    "(content_type = ?)", "T:1.0e+16" },
	{ PERM_FILES, "{\"acl\":{\"_in\":[true,false,\"x\"]}}",
	    "(acl IN (?,?,?))", "T:1|T:0|T:x" },
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
	    "(substr(name, 1, length(CAST(? AS TEXT))) = ?)", "T:x|T:x" },
	{ PERM_FOLDERS, "{\"id\":{\"_eq\":\"f\"},"
	    "\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}",
	    "((id = ?) AND (owner_id = ?))", "T:f|T:u1" },
	{ PERM_AGENT_FILES, "{\"agent_id\":{\"_eq\":\"a\"},"
	    "\"path\":{\"_starts_with\":\"/srv\"}}",
	    "((agent_id = ?) AND "
	    "(substr(path, 1, length(CAST(? AS TEXT))) = ?))",
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
	/* Not UTF-8: PostgreSQL would refuse the value, SQLite not. */
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"\xdb$CURRENT_USER\"}}",
	    "not valid UTF-8" },
	{ PERM_FILES, "{\"acl\":{\"_in\":[\"a\",\"\xc0\xaf\"]}}",
	    "not valid UTF-8" },
	{ PERM_FILES, "{\"acl\":{\"_eq\":\"\xed\xa0\x80\"}}",
	    "not valid UTF-8" },
	{ PERM_FILES, "{\"acl\xff\":{\"_eq\":\"a\"}}", "not valid UTF-8" },
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

/* A variable with no value makes its comparison false: (FALSE). */
static void
test_unset_vars(void **state)
{
	static const struct strpair cases[] = {	/* condition, WHERE */
		{ "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}", "(FALSE)" },
		{ "{\"owner_id\":{\"_neq\":\"$CURRENT_USER\"}}", "(FALSE)" },
		{ "{\"owner_id\":{\"_in\":[\"a\",\"$CURRENT_USER\"]}}",
		    "(FALSE)" },
		{ "{\"owner_id\":{\"_nin\":[\"$CURRENT_USER\"]}}",
		    "(FALSE)" },
		{ "{\"key\":{\"_starts_with\":\"$CURRENT_TENANT\"}}",
		    "(FALSE)" },
		{ "{\"_or\":[{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}},"
		    "{\"acl\":{\"_eq\":\"public\"}}]}", "((FALSE) OR (acl = ?))" },
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

/*
 * The engines. A test that runs the compiler's SQL is listed with BOTH():
 * it runs once on SQLite (:memory:) and once on PostgreSQL, at the libpq
 * URI in FILESTOR_TEST_PG, in a schema of its own ("perm_test_<pid>",
 * made afresh, dropped by the teardown), and gets its database from
 * eng_db(). With FILESTOR_TEST_PG unset the PostgreSQL run is skipped,
 * and cmocka reports it skipped; with it set, a connection or a schema
 * that fails fails the test.
 */
struct eng {
	enum db_engine	 engine;
	struct db	*db;
	char		 schema[64];	/* PostgreSQL: the one made */
};

static enum db_engine on_sqlite = DB_SQLITE;
static enum db_engine on_pg = DB_PG;

#define BOTH(f)								\
	{ #f " sqlite", f, eng_setup, eng_teardown, &on_sqlite },	\
	{ #f " pg", f, eng_setup, eng_teardown, &on_pg }

static int
eng_setup(void **state)
{
	struct eng	*e;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -1;
	e->engine = *(enum db_engine *)*state;
	*state = e;
	return 0;
}

static int
eng_teardown(void **state)
{
	struct eng	*e = *state;
	char		 sql[128];

	if (e->db != NULL && e->schema[0] != '\0') {
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE",
		    e->schema);
		if (db_exec(e->db, sql) != DB_OK)
			print_error("%s: %s\n", sql, db_errmsg(e->db));
	}
	db_close(e->db);
	free(e);
	return 0;
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

/* The same two of sql/pg/0002-files.sql and sql/pg/0001-identity.sql. */
static const char files_ddl_pg[] =
	"CREATE TABLE files ("
	"	key		TEXT COLLATE \"C\" PRIMARY KEY,"
	"	tenant_id	TEXT COLLATE \"C\" NOT NULL,"
	"	size		BIGINT NOT NULL CHECK (size >= 0),"
	"	content_type	TEXT COLLATE \"C\" NOT NULL,"
	"	sha256		TEXT COLLATE \"C\" NOT NULL,"
	"	acl		TEXT COLLATE \"C\" NOT NULL DEFAULT 'private'"
	"			    CHECK (acl IN ('private', 'public')),"
	"	owner_id	TEXT COLLATE \"C\","
	"	folder_id	TEXT COLLATE \"C\","
	"	created_at	BIGINT NOT NULL,"
	"	updated_at	BIGINT NOT NULL"
	");"
	"CREATE TABLE permissions ("
	"	id		BIGINT GENERATED BY DEFAULT AS IDENTITY"
	"			    PRIMARY KEY,"
	"	role_id		TEXT COLLATE \"C\" NOT NULL,"
	"	collection	TEXT COLLATE \"C\" NOT NULL CHECK (collection IN"
	"			    ('system_files', 'system_folders',"
	"			    'agent_files')),"
	"	action		TEXT COLLATE \"C\" NOT NULL CHECK (action IN"
	"			    ('create', 'read', 'update', 'delete')),"
	"	condition	TEXT COLLATE \"C\""
	");";

/* The test's database, with the files and permissions tables, empty. */
static struct db *
eng_db(void **state)
{
	struct eng	*e = *state;
	const char	*uri;
	char		 err[256], sql[512];

	if (e->engine == DB_SQLITE) {
		e->db = db_open(":memory:", DB_OPEN_CREATE, err, sizeof(err));
		if (e->db == NULL)
			fail_msg("SQLite: %s", err);
		assert_int_equal(db_exec(e->db, files_ddl), DB_OK);
		return e->db;
	}
	uri = getenv("FILESTOR_TEST_PG");
	if (uri == NULL || uri[0] == '\0') {
		print_message("FILESTOR_TEST_PG is not set: not run on "
		    "PostgreSQL\n");
		skip();
	}
	if (!db_is_pg_uri(uri))
		fail_msg("FILESTOR_TEST_PG is not a PostgreSQL URI");
	e->db = db_open(uri, 0, err, sizeof(err));
	if (e->db == NULL)
		fail_msg("FILESTOR_TEST_PG: %s", err);
	assert_int_equal(db_engine(e->db), DB_PG);
	snprintf(e->schema, sizeof(e->schema), "perm_test_%ld",
	    (long)getpid());
	snprintf(sql, sizeof(sql), "SET client_min_messages TO warning;"
	    " DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
	    " SET search_path TO %s", e->schema, e->schema, e->schema);
	if (db_exec(e->db, sql) != DB_OK)
		fail_msg("%s: %s", sql, db_errmsg(e->db));
	if (db_exec(e->db, files_ddl_pg) != DB_OK)
		fail_msg("files_ddl_pg: %s", db_errmsg(e->db));
	return e->db;
}

#define I64_MAX	9223372036854775807LL
#define I64_MIN	(-I64_MAX - 1)

/*
 * Logical key, owner, acl, size, folder, content_type, created_at. The
 * content types and times give the comparisons across types something
 * to find: numeric texts, SQLite's text of some REALs, and integers at
 * the ends of int64 and past 2^53 (where a double comparison would
 * round).
 */
static const struct {
	const char	*key;
	const char	*owner;
	const char	*acl;
	int		 size;
	const char	*folder;
	const char	*ctype;
	long long	 created;
} rows[] = {
	{ "photos/a.jpg",  "u1", "private", 10, "f1", "10", 5 },
	{ "photos/b.jpg",  "u2", "public",  20, "f1", "1.5", 100 },
	{ "photos%/c.jpg", "u1", "public",  30, NULL, "1.0e+300", 1 },
	{ "photosX/d.jpg", "u1", "private", 40, NULL, "1", 0 },
	{ "photo_/e.jpg",  "u2", "private", 50, NULL, "0", I64_MIN },
	{ "docs/f.txt",    NULL, "public",  60, NULL, "text/plain", I64_MAX },
	{ "Photos/g.jpg",  "u2", "private", 70, NULL, "0.1",
	    1152921504606846977LL },
};

/* Every key of rows, in key order (bytes). */
#define ALL_KEYS "Photos/g.jpg,docs/f.txt,photo_/e.jpg,photos%/c.jpg," \
	"photos/a.jpg,photos/b.jpg,photosX/d.jpg"

static struct db *
db_setup(void **state)
{
	struct db	*db;
	struct db_stmt	*st = NULL;
	char		 key[256];
	size_t		 i;

	db = eng_db(state);
	if (db_prepare(db, "INSERT INTO files (key, tenant_id, size, "
	    "content_type, sha256, acl, owner_id, folder_id, created_at, "
	    "updated_at) VALUES (?, '" TENANT "', ?, ?, 'x', ?, ?, ?, ?, 1)",
	    &st) != DB_OK)
		fail_msg("insert: %s", db_errmsg(db));
	for (i = 0; i < NITEMS(rows); i++) {
		snprintf(key, sizeof(key), PFX "%s", rows[i].key);
		db_bind_text(st, 1, key, -1);
		db_bind_int(st, 2, rows[i].size);
		db_bind_text(st, 3, rows[i].ctype, -1);
		db_bind_text(st, 4, rows[i].acl, -1);
		/* A NULL owner or folder binds SQL NULL. */
		db_bind_text(st, 5, rows[i].owner, -1);
		db_bind_text(st, 6, rows[i].folder, -1);
		db_bind_int64(st, 7, rows[i].created);
		if (db_step(st) != DB_DONE)
			fail_msg("insert %s: %s", key, db_errmsg(db));
		db_reset(st);
	}
	db_finalize(st);
	return db;
}

/* The first column of st's rows, joined with ",". */
static void
collect(struct db *db, struct db_stmt *st, char *out, size_t len)
{
	size_t	 o = 0;
	int	 n, rc;

	out[0] = '\0';
	while ((rc = db_step(st)) == DB_ROW) {
		n = snprintf(out + o, len - o, "%s%s", o ? "," : "",
		    (const char *)db_col_text(st, 0));
		assert_true(n >= 0 && (size_t)n < len - o);
		o += (size_t)n;
	}
	if (rc != DB_DONE)
		fail_msg("%s: %s", db_sql(st), db_errmsg(db));
}

/* The logical keys s selects, in key order, joined with ",". */
static void
run_filter(struct db *db, const struct perm_sql *s, char *out, size_t len)
{
	struct gen	 q = { NULL, 0, 0 };
	struct db_stmt	*st = NULL;

	gen_add(&q, "SELECT substr(key, 46) FROM files WHERE ");
	gen_add(&q, s->where);
	gen_add(&q, " ORDER BY key");
	if (db_prepare(db, q.p, &st) != DB_OK)
		fail_msg("%s: %s", q.p, db_errmsg(db));
	assert_int_equal(db_bind_count(st), (int)s->nparams);
	assert_int_equal(perm_bind(st, 1, s), DB_OK);
	collect(db, st, out, len);
	db_finalize(st);
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
		{ "{}", "u1", ALL_KEYS },
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
		{ "{\"key\":{\"_starts_with\":\"\"}}", "u1", ALL_KEYS },
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
		/* Strings with an INTEGER column, numbers with a TEXT one. */
		{ "{\"size\":{\"_in\":[\"10\",\"x\",\" 2e1 \"]}}", "u1",
		    "photos/a.jpg,photos/b.jpg" },
		{ "{\"size\":{\"_nin\":[\"10\",\"x\",20]}}", "u1",
		    "Photos/g.jpg,docs/f.txt,photo_/e.jpg,photos%/c.jpg,"
		    "photosX/d.jpg" },
		{ "{\"size\":{\"_nin\":[\"x\"]}}", "u1", ALL_KEYS },
		{ "{\"size\":{\"_in\":[\"x\",1.5]}}", "u1", "" },
		{ "{\"created_at\":{\"_eq\":\"$CURRENT_USER\"}}", "5",
		    "photos/a.jpg" },
		{ "{\"created_at\":{\"_eq\":\"$CURRENT_USER\"}}", "u1", "" },
		{ "{\"created_at\":{\"_neq\":\"$CURRENT_USER\"}}", "u1",
		    ALL_KEYS },
		{ "{\"content_type\":{\"_in\":[10,1.5,1e300,true]}}", "u1",
		    "photos%/c.jpg,photos/a.jpg,photos/b.jpg,photosX/d.jpg" },
		/* _starts_with reads an INTEGER column as its text. */
		{ "{\"size\":{\"_starts_with\":\"1\"}}", "u1", "photos/a.jpg" },
		{ "{\"created_at\":{\"_starts_with\":\"-\"}}", "u1",
		    "photo_/e.jpg" },
		{ "{\"created_at\":{\"_starts_with\":\"1\"}}", "u1",
		    "Photos/g.jpg,photos%/c.jpg,photos/b.jpg" },
		{ "{\"content_type\":{\"_starts_with\":\"1.\"}}", "u1",
		    "photos%/c.jpg,photos/b.jpg" },
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
		{ "{\"_or\":[{\"size\":{\"_eq\":\"x\"}},"
		    "{\"size\":{\"_neq\":\"x\"}}]}", "u1", ALL_KEYS },
		{ "{\"tenant_id\":{\"_eq\":\"$CURRENT_TENANT\"}}", "u1", "" },
	};
	struct db	*db;
	struct perm_sql	 s;
	struct perm_vars v;
	char		 err[256], got[1024];
	size_t		 i;

	db = db_setup(state);
	for (i = 0; i < NITEMS(cases); i++) {
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
}

/* The keys of ALL_KEYS that are not in keys (a list of the same form). */
static void
keys_without(const char *keys, char *out, size_t len)
{
	char		 all[] = ALL_KEYS, pat[128], in[1024];
	const char	*k;
	char		*save = NULL;
	size_t		 o = 0;
	int		 n;

	snprintf(in, sizeof(in), ",%s,", keys);
	out[0] = '\0';
	for (k = strtok_r(all, ",", &save); k != NULL;
	    k = strtok_r(NULL, ",", &save)) {
		snprintf(pat, sizeof(pat), ",%s,", k);
		if (strstr(in, pat) != NULL)
			continue;
		n = snprintf(out + o, len - o, "%s%s", o ? "," : "", k);
		assert_true(n >= 0 && (size_t)n < len - o);
		o += (size_t)n;
	}
}

/*
 * The rows "<expr> = ?" selects with the JSON value bound as it is, typed
 * as perm.c's value_from types it (a string text, a boolean 1 or 0, a
 * whole number up to 2^53 an integer, any other number a REAL): what
 * SQLite itself answers, with no conversion by the compiler.
 */
static void
run_native(struct db *db, const char *expr, const char *json, char *out,
    size_t len)
{
	struct gen	 q = { NULL, 0, 0 };
	struct db_stmt	*st = NULL;
	cJSON		*j;
	double		 d;

	j = cJSON_Parse(json);
	assert_non_null(j);
	gen_add(&q, "SELECT substr(key, 46) FROM files WHERE ");
	gen_add(&q, expr);
	gen_add(&q, " = ? ORDER BY key");
	assert_int_equal(db_prepare(db, q.p, &st), DB_OK);
	if (cJSON_IsString(j))
		db_bind_text(st, 1, j->valuestring, -1);
	else if (cJSON_IsBool(j))
		db_bind_int(st, 1, cJSON_IsTrue(j) ? 1 : 0);
	else {
		assert_true(cJSON_IsNumber(j));
		d = j->valuedouble;
		if (fabs(d) <= 9007199254740992.0 && d == trunc(d))
			db_bind_int64(st, 1, (long long)d);
		else
			db_bind_double(st, 1, d);
	}
	collect(db, st, out, len);
	db_finalize(st);
	cJSON_Delete(j);
	free(q.p);
}

/*
 * A value compared with a column of the other type selects, on both
 * engines, the rows SQLite selects for it: each case's _eq gives want
 * (and on SQLite, so does the bare comparison with no conversion, which
 * proves want is SQLite's answer), _in with it and a value that matches
 * nothing gives want, and _neq and _nin give every other row.
 */
static void
test_cross_types(void **state)
{
	static const struct {
		const char	*field;	/* a DSL field of system_files */
		const char	*value;	/* JSON */
		const char	*want;	/* the rows _eq selects */
	} cases[] = {
		/* An INTEGER column and strings: numeric text is a number. */
		{ "size", "\"10\"", "photos/a.jpg" },
		{ "size", "\" 10 \"", "photos/a.jpg" },
		{ "size", "\"\\t\\n+10\\r\\f\"", "photos/a.jpg" },
		{ "size", "\"0010\"", "photos/a.jpg" },
		{ "size", "\"10.0\"", "photos/a.jpg" },
		{ "size", "\"10.\"", "photos/a.jpg" },
		{ "size", "\"1e1\"", "photos/a.jpg" },
		{ "size", "\"1E+1\"", "photos/a.jpg" },
		{ "size", "\".1e2\"", "photos/a.jpg" },
		{ "size", "\"100e-1\"", "photos/a.jpg" },
		{ "size", "\"10.5\"", "" },
		{ "size", "\"0x0a\"", "" },
		{ "size", "\"10abc\"", "" },
		{ "size", "\"abc\"", "" },
		{ "size", "\"\"", "" },
		{ "size", "\" \"", "" },
		{ "size", "\".\"", "" },
		{ "size", "\"1e\"", "" },
		{ "size", "\"- 10\"", "" },
		{ "size", "\"\\u00a010\"", "" },
		{ "size", "\"1e999\"", "" },
		{ "created_at", "\"-0\"", "photosX/d.jpg" },
		{ "created_at", "\"9223372036854775807\"", "docs/f.txt" },
		{ "created_at", "\"-9223372036854775808\"", "photo_/e.jpg" },
		{ "created_at", "\"9223372036854775808\"", "" },
		{ "created_at", "\"1152921504606846977\"", "Photos/g.jpg" },
		{ "created_at", "\"1152921504606846976\"", "" },
		{ "created_at", "\"$5\"", "" },
		{ "created_at", "\"-0.0\"", "photosX/d.jpg" },
		{ "created_at", "\"1e-400\"", "photosX/d.jpg" },
		{ "created_at", "\"0.0000000000000000000001e22\"",
		    "photos%/c.jpg" },
		{ "created_at", "\"100000000000000000000e-18\"",
		    "photos/b.jpg" },
		/* An INTEGER column and numbers: exact, never rounded. */
		{ "size", "10", "photos/a.jpg" },
		{ "size", "10.0", "photos/a.jpg" },
		{ "size", "10.5", "" },
		{ "size", "1e300", "" },
		{ "created_at", "true", "photos%/c.jpg" },
		{ "created_at", "false", "photosX/d.jpg" },
		{ "created_at", "-9223372036854775808", "photo_/e.jpg" },
		{ "created_at", "9223372036854775807", "" },	/* 2^63 */
		{ "created_at", "1152921504606846976", "" },	/* 2^60 */
		/* A TEXT column and numbers: SQLite's text of the number. */
		{ "content_type", "10", "photos/a.jpg" },
		{ "content_type", "10.0", "photos/a.jpg" },
		{ "content_type", "1.5", "photos/b.jpg" },
		{ "content_type", "15e-1", "photos/b.jpg" },
		{ "content_type", "1e300", "photos%/c.jpg" },
		{ "content_type", "true", "photosX/d.jpg" },
		{ "content_type", "1", "photosX/d.jpg" },
		{ "content_type", "false", "photo_/e.jpg" },
		{ "content_type", "0.1", "Photos/g.jpg" },
		{ "content_type", "\"1.5\"", "photos/b.jpg" },
		{ "content_type", "\"1.50\"", "" },
		{ "owner_id", "1", "" },
		{ "key", "1", "" },
	};
	struct db	*db;
	struct perm_sql	 s;
	struct eng	*e;
	char		 cond[256], err[256], got[1024], other[1024];
	const char	*expr;
	size_t		 i;
	int		 k;

	db = db_setup(state);
	e = *state;
	for (i = 0; i < NITEMS(cases); i++) {
		keys_without(cases[i].want, other, sizeof(other));
		for (k = 0; k < 4; k++) {
			snprintf(cond, sizeof(cond), k == 0 ?
			    "{\"%s\":{\"_eq\":%s}}" : k == 1 ?
			    "{\"%s\":{\"_neq\":%s}}" : k == 2 ?
			    "{\"%s\":{\"_in\":[%s,\"zz\"]}}" :
			    "{\"%s\":{\"_nin\":[%s]}}",
			    cases[i].field, cases[i].value);
			if (perm_compile(PERM_FILES, cond, &vars, &s, err,
			    sizeof(err)) != 0)
				fail_msg("case %zu (%s): %s", i, cond, err);
			assert_clean_sql(s.where);
			run_filter(db, &s, got, sizeof(got));
			if (strcmp(got, k == 0 || k == 2 ? cases[i].want :
			    other) != 0)
				fail_msg("case %zu (%s): got \"%s\", want "
				    "\"%s\"", i, cond, got, k == 0 || k == 2 ?
				    cases[i].want : other);
			perm_sql_free(&s);
		}
		if (e->engine != DB_SQLITE)
			continue;
		expr = strcmp(cases[i].field, "key") == 0 ?
		    "substr(key, 46)" : cases[i].field;
		run_native(db, expr, cases[i].value, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: SQLite's own %s = %s is \"%s\", "
			    "not \"%s\"", i, expr, cases[i].value, got,
			    cases[i].want);
	}
}

/*
 * A number compared with a TEXT column becomes the text SQLite makes of
 * it (CAST(? AS TEXT)), for whole numbers and REALs of every size.
 */
static void
test_number_text(void **state)
{
	static const double fixed[] = {
		0.1, 1.5, -1.5, 1.0 / 3, 2.0 / 3, 1e300, -1e-300, 1e15, 1e16,
		123456789012345.6, 999999999999999.9, 0.000123456789012345678,
		9007199254740993.0, 18014398509481988.0, 1e-5, 1e-4, 5e-324,
		1.7976931348623157e308, 4503599627370495.5, 0.5, 100.25,
	};
	struct db	*db;
	struct db_stmt	*st = NULL;
	struct perm_sql	 s;
	unsigned long long r = 88172645463325252ULL;
	char		 cond[128], err[256];
	const char	*want;
	double		 d;
	int		 i, n = (int)NITEMS(fixed) + 3000, isint;

	(void)state;
	db = db_open(":memory:", DB_OPEN_CREATE, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_prepare(db, "SELECT CAST(? AS TEXT)", &st),
	    DB_OK);
	for (i = 0; i < n; i++) {
		if (i < (int)NITEMS(fixed))
			d = fixed[i];
		else {
			/* xorshift64: mantissas and exponents all over. */
			r ^= r << 13;
			r ^= r >> 7;
			r ^= r << 17;
			d = (double)(r >> 11) / 9007199254740992.0 *
			    pow(10, (double)((int)(r % 628) - 320));
			if (r & 1)
				d = -d;
			if (i % 7 == 0 && fabs(d) < 1e300)
				d = trunc(d * 1e6);
		}
		snprintf(cond, sizeof(cond),
		    "{\"content_type\":{\"_eq\":%.17g}}", d);
		if (perm_compile(PERM_FILES, cond, &vars, &s, err,
		    sizeof(err)) != 0)
			fail_msg("%s: %s", cond, err);
		assert_int_equal(s.nparams, 1);
		assert_int_equal(s.params[0].type, PERM_V_TEXT);
		isint = fabs(d) <= 9007199254740992.0 && d == trunc(d);
		db_reset(st);
		if (isint)
			db_bind_int64(st, 1, (long long)d);
		else
			db_bind_double(st, 1, d);
		assert_int_equal(db_step(st), DB_ROW);
		want = (const char *)db_col_text(st, 0);
		if (strcmp(s.params[0].text, want) != 0)
			fail_msg("%.17g: \"%s\", SQLite says \"%s\"", d,
			    s.params[0].text, want);
		perm_sql_free(&s);
	}
	db_finalize(st);
	db_close(db);
}

/* The single-row check binds the fragment after its own parameter. */
static void
test_bind_offset(void **state)
{
	struct db	*db;
	struct db_stmt	*st = NULL;
	struct perm_sql	 s;
	struct gen	 q = { NULL, 0, 0 };
	char		 err[256];

	db = db_setup(state);
	assert_int_equal(perm_compile(PERM_FILES, "{\"_and\":["
	    "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}},"
	    "{\"size\":{\"_in\":[10, \"20\", 1.5]}},"
	    "{\"key\":{\"_starts_with\":\"photos/\"}}]}", &vars, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.nparams, 5);
	assert_int_equal(s.params[2].type, PERM_V_INT);
	assert_int_equal(s.params[2].i, 20);
	gen_add(&q, "SELECT 1 FROM files WHERE key = ? AND ");
	gen_add(&q, s.where);
	if (db_prepare(db, q.p, &st) != DB_OK)
		fail_msg("%s: %s", q.p, db_errmsg(db));
	free(q.p);
	db_bind_text(st, 1, PFX "photos/a.jpg", -1);
	assert_int_equal(perm_bind(st, 2, &s), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	db_reset(st);
	db_bind_text(st, 1, PFX "photos/b.jpg", -1);
	assert_int_equal(perm_bind(st, 2, &s), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	db_reset(st);
	db_bind_text(st, 1, PFX "photosX/d.jpg", -1);
	assert_int_equal(perm_bind(st, 2, &s), DB_OK);
	assert_int_equal(db_step(st), DB_DONE);
	/* Past the statement's last parameter: an error, not silence. */
	db_reset(st);
	assert_int_equal(perm_bind(st, 3, &s), DB_RANGE);
	assert_int_equal(perm_bind(st, 0, &s), DB_MISUSE);
	assert_int_equal(perm_bind(NULL, 1, &s), DB_MISUSE);
	assert_int_equal(perm_bind(st, 1, NULL), DB_MISUSE);
	db_finalize(st);
	perm_sql_free(&s);
	perm_sql_free(NULL);
}

/*
 * A row about to be created is judged by the fragment that filters the
 * stored ones, typed as they are stored: the same answers on both engines.
 */
static void
test_row_allowed(void **state)
{
	static const struct perm_cell file[] = {
		{ "key", PFX "photos/new.jpg", 0, 0 },
		{ "tenant_id", TENANT, 0, 0 },
		{ "owner_id", "u1", 0, 0 },
		{ "acl", "private", 0, 0 },
		{ "content_type", "5", 0, 0 },
		{ "size", NULL, 10, 1 },
		{ "created_at", NULL, 1700000000, 1 },
		{ "updated_at", NULL, 1700000000, 1 },
	};
	static const struct perm_cell agent[] = {
		{ "agent_id", "a1", 0, 0 },
		{ "path", "/srv/x", 0, 0 },
	};
	static const struct {
		enum perm_coll	 coll;
		const char	*cond;
		int		 want;
	} cases[] = {
		{ PERM_FILES, "{}", 1 },
		{ PERM_FILES, "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}", 1 },
		{ PERM_FILES, "{\"owner_id\":{\"_neq\":\"$CURRENT_USER\"}}", 0 },
		{ PERM_FILES, "{\"key\":{\"_starts_with\":\"photos/\"}}", 1 },
		{ PERM_FILES, "{\"key\":{\"_eq\":\"photos/new.jpg\"}}", 1 },
		{ PERM_FILES, "{\"size\":{\"_eq\":10}}", 1 },
		{ PERM_FILES, "{\"size\":{\"_eq\":\"10\"}}", 1 },
		{ PERM_FILES, "{\"size\":{\"_eq\":\" 1e1\"}}", 1 },
		{ PERM_FILES, "{\"size\":{\"_eq\":\"11\"}}", 0 },
		{ PERM_FILES, "{\"size\":{\"_eq\":\"ten\"}}", 0 },
		{ PERM_FILES, "{\"size\":{\"_neq\":\"ten\"}}", 1 },
		{ PERM_FILES, "{\"size\":{\"_in\":[\"x\",10.0]}}", 1 },
		{ PERM_FILES, "{\"size\":{\"_nin\":[\"10\"]}}", 0 },
		{ PERM_FILES, "{\"size\":{\"_starts_with\":\"1\"}}", 1 },
		{ PERM_FILES, "{\"created_at\":{\"_starts_with\":\"17\"}}", 1 },
		{ PERM_FILES, "{\"content_type\":{\"_eq\":5}}", 1 },
		{ PERM_FILES, "{\"content_type\":{\"_eq\":5.0}}", 1 },
		{ PERM_FILES, "{\"content_type\":{\"_eq\":\"5\"}}", 1 },
		{ PERM_FILES, "{\"content_type\":{\"_eq\":6}}", 0 },
		/* Columns no cell names are NULL. */
		{ PERM_FILES, "{\"folder_id\":{\"_null\":true}}", 1 },
		{ PERM_FILES, "{\"folder_id\":{\"_neq\":\"f1\"}}", 1 },
		{ PERM_FILES, "{\"folder_id\":{\"_nin\":[\"f1\"]}}", 1 },
		{ PERM_FILES, "{\"folder_id\":{\"_eq\":\"f1\"}}", 0 },
		{ PERM_FILES, "{\"folder_id\":{\"_starts_with\":\"\"}}", 0 },
		{ PERM_AGENT_FILES, "{\"path\":{\"_starts_with\":\"/srv/\"}}",
		    1 },
		{ PERM_AGENT_FILES, "{\"agent_id\":{\"_eq\":\"a1\"},"
		    "\"path\":{\"_starts_with\":\"/etc\"}}", 0 },
		{ PERM_AGENT_FILES, "{\"agent_id\":{\"_in\":[1,\"a1\"]}}", 1 },
	};
	const struct perm_cell textsize[] = { { "size", "10", 0, 0 } };
	const struct perm_cell intctype[] = {
		{ "content_type", NULL, 5, 1 },
	};
	const struct perm_cell unknown[] = { { "sha256", "x", 0, 0 } };
	struct perm_sql	 s;
	struct db	*db;
	char		 err[256];
	size_t		 i;
	int		 rc;

	db = eng_db(state);
	for (i = 0; i < NITEMS(cases); i++) {
		if (perm_compile(cases[i].coll, cases[i].cond, &vars, &s, err,
		    sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		rc = cases[i].coll == PERM_FILES ?
		    perm_row_allowed(db, cases[i].coll, file, NITEMS(file),
		    &s) :
		    perm_row_allowed(db, cases[i].coll, agent, NITEMS(agent),
		    &s);
		if (rc != cases[i].want)
			fail_msg("case %zu (%s): %d, want %d (%s)", i,
			    cases[i].cond, rc, cases[i].want, db_errmsg(db));
		perm_sql_free(&s);
	}
	/* Every form of test_good's table runs on this engine (over a row
	 * of NULLs, for the collections with no table here). */
	for (i = 0; i < NITEMS(goods); i++) {
		assert_int_equal(perm_compile(goods[i].coll, goods[i].cond,
		    &vars, &s, err, sizeof(err)), 0);
		rc = perm_row_allowed(db, goods[i].coll, NULL, 0, &s);
		if (rc != 0 && rc != 1)
			fail_msg("good %zu (%s): %s", i, s.where,
			    db_errmsg(db));
		perm_sql_free(&s);
	}
	assert_int_equal(perm_compile(PERM_FILES, "{\"content_type\":"
	    "{\"_eq\":\"5\"}}", &vars, &s, err, sizeof(err)), 0);
	/* An integer cell of a TEXT column is its text... */
	assert_int_equal(perm_row_allowed(db, PERM_FILES, intctype, 1, &s), 1);
	/* ...but a text cell of an INTEGER column, or a column with no
	 * field, is an error. */
	assert_int_equal(perm_row_allowed(db, PERM_FILES, textsize, 1, &s),
	    -1);
	assert_int_equal(perm_row_allowed(db, PERM_FILES, unknown, 1, &s),
	    -1);
	assert_int_equal(perm_row_allowed(db, PERM_COLL__COUNT, file, 1, &s),
	    -1);
	perm_sql_free(&s);
}

static void
perm_add(struct db *db, const char *role, const char *coll,
    const char *action, const char *cond)
{
	struct db_stmt	*st = NULL;

	assert_int_equal(db_prepare(db, "INSERT INTO permissions "
	    "(role_id, collection, action, condition) VALUES (?, ?, ?, ?)",
	    &st), DB_OK);
	db_bind_text(st, 1, role, -1);
	db_bind_text(st, 2, coll, -1);
	db_bind_text(st, 3, action, -1);
	db_bind_text(st, 4, cond, -1);	/* NULL: NULL */
	if (db_step(st) != DB_DONE)
		fail_msg("permission for %s: %s", role, db_errmsg(db));
	db_finalize(st);
}

/* A database with one role a case: see the tests below. */
static struct db *
lookup_db(void **state)
{
	static const char own[] = "{\"owner_id\":{\"_eq\":\"$CURRENT_USER\"}}";
	static const char pub[] = "{\"acl\":{\"_eq\":\"public\"}}";
	struct eng	*e;
	struct db	*db;

	db = db_setup(state);
	e = *state;
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
	perm_add(db, "r-size", "system_files", "read",
	    "{\"size\":{\"_in\":[\"10\",\"x\"]}}");
	perm_add(db, "r-size", "system_files", "read",
	    "{\"content_type\":{\"_eq\":1.5}}");
	/* A condition that is a blob, or TEXT with a NUL inside: SQLite
	 * stores them, PostgreSQL's TEXT holds neither. */
	if (e->engine == DB_SQLITE)
		assert_int_equal(db_exec(db, "INSERT INTO permissions "
		    "(role_id, collection, action, condition) VALUES "
		    "('r-blob', 'system_files', 'read', x'7b7d'),"
		    "('r-nul', 'system_files', 'read', "
		    "CAST(x'7b7d00787878' AS TEXT))"), DB_OK);
	return db;
}

/* ROLE may read everything in COLL: the filter is TRUE, with no params. */
static void
assert_reads_all(struct db *db, const char *role, enum perm_coll coll)
{
	struct perm_sql	 s;

	assert_int_equal(perm_lookup(db, role, coll, PERM_READ, &vars, &s),
	    1);
	assert_string_equal(s.where, PERM_WHERE_ALL);
	assert_int_equal(s.nparams, 0);
	perm_sql_free(&s);
}

static void
test_lookup_all_or_none(void **state)
{
	struct db	*db;
	struct perm_sql	 s;

	db = lookup_db(state);
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
}

static void
test_lookup_filters(void **state)
{
	struct db	*db;
	struct perm_sql	 s;
	char		 got[1024], ps[256];

	db = lookup_db(state);
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
	assert_string_equal(s.where, "(((FALSE)) OR ((acl = ?)))");
	run_filter(db, &s, got, sizeof(got));
	assert_string_equal(got, "docs/f.txt,photos%/c.jpg,photos/b.jpg");
	perm_sql_free(&s);

	/* Values across types, converted in each row's fragment. */
	assert_int_equal(perm_lookup(db, "r-size", PERM_FILES, PERM_READ,
	    &vars, &s), 1);
	assert_string_equal(s.where,
	    "(((size IN (?))) OR ((content_type = ?)))");
	params_str(&s, ps, sizeof(ps));
	assert_string_equal(ps, "I:10|T:1.5");
	run_filter(db, &s, got, sizeof(got));
	assert_string_equal(got, "photos/a.jpg,photos/b.jpg");
	perm_sql_free(&s);
}

static void
test_lookup_fails_closed(void **state)
{
	struct db	*db;
	struct perm_sql	 s;
	struct eng	*e;

	db = lookup_db(state);
	e = *state;
	/* A stored condition that does not compile fails closed, even
	 * beside a row that grants everything. */
	s.where = (char *)"sentinel";
	assert_int_equal(perm_lookup(db, "r-bad", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	assert_int_equal(perm_lookup(db, "r-bad-all", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	assert_int_equal(perm_lookup(db, "r-agentfield", PERM_FILES,
	    PERM_DELETE, &vars, &s), -1);
	if (e->engine == DB_SQLITE) {
		assert_int_equal(perm_lookup(db, "r-blob", PERM_FILES,
		    PERM_READ, &vars, &s), -1);
		assert_int_equal(perm_lookup(db, "r-nul", PERM_FILES,
		    PERM_READ, &vars, &s), -1);
	}

	/* Bad arguments and a broken database. */
	assert_int_equal(perm_lookup(db, NULL, PERM_FILES, PERM_READ, &vars,
	    &s), -1);
	assert_int_equal(perm_lookup(db, "r-all", PERM_COLL__COUNT,
	    PERM_READ, &vars, &s), -1);
	assert_int_equal(perm_lookup(db, "r-all", PERM_FILES,
	    PERM_ACTION__COUNT, &vars, &s), -1);
	assert_int_equal(perm_lookup(NULL, "r-all", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	assert_int_equal(db_exec(db, "DROP TABLE permissions"), DB_OK);
	assert_int_equal(perm_lookup(db, "r-all", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	assert_string_equal(s.where, "sentinel");
}

/* Prefetch role's rows as auth.c does: its own query, in id order. */
static void
prefetch(struct db *db, const char *role)
{
	struct db_stmt	*st;
	const char	*cond;
	int		 type;

	assert_int_equal(db_prepare(db, "SELECT collection, action, condition"
	    " FROM permissions WHERE role_id = ? ORDER BY id", &st), DB_OK);
	db_bind_text(st, 1, role, -1);
	perm_prefetch_begin(role);
	while (db_step(st) == DB_ROW) {
		type = db_col_type(st, 2);	/* before the text */
		cond = (const char *)db_col_text(st, 2);
		perm_prefetch_add((const char *)db_col_text(st, 0),
		    (const char *)db_col_text(st, 1), type, cond,
		    cond != NULL ? (size_t)db_col_bytes(st, 2) : 0);
	}
	perm_prefetch_end();
	db_finalize(st);
}

/* "rc|where|params" of perm_lookup, for comparing two lookups. */
static void
lookup_str(struct db *db, const char *role, enum perm_coll c,
    enum perm_action a, char *buf, size_t len)
{
	struct perm_sql	 s;
	char		 ps[256];
	int		 rc;

	memset(&s, 0, sizeof(s));
	rc = perm_lookup(db, role, c, a, &vars, &s);
	params_str(&s, ps, sizeof(ps));
	snprintf(buf, len, "%d|%s|%s", rc, rc == 1 ? s.where : "", ps);
	if (rc == 1)
		perm_sql_free(&s);
}

/*
 * The rows an API key's query read (perm_prefetch_*) give every lookup
 * of their role what the query would, broken rows included, and are not
 * used for another role or once cleared.
 */
static void
test_lookup_prefetched(void **state)
{
	static const char *const roles[] = {
		"r-none", "r-all", "r-empty", "r-one", "r-two", "r-mixed",
		"r-brace", "r-size", "r-bad", "r-bad-all", "r-agentfield",
		"r-blob", "r-nul",
	};
	struct db	*db;
	struct perm_sql	 s;
	char		 want[1024], got[1024];
	size_t		 i;
	int		 c, a;

	db = lookup_db(state);
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		for (c = 0; c < PERM_COLL__COUNT; c++)
			for (a = 0; a < PERM_ACTION__COUNT; a++) {
				perm_prefetch_clear();
				lookup_str(db, roles[i], c, a, want,
				    sizeof(want));
				prefetch(db, roles[i]);
				lookup_str(db, roles[i], c, a, got,
				    sizeof(got));
				assert_string_equal(got, want);
			}
	/* A row of another type fails closed, as from the query. */
	perm_prefetch_begin("r-x");
	perm_prefetch_add("system_files", "read", DB_BLOB, "{}", 2);
	perm_prefetch_end();
	assert_int_equal(perm_lookup(db, "r-x", PERM_FILES, PERM_READ, &vars,
	    &s), -1);

	/* Without the table only the prefetched role still answers. */
	prefetch(db, "r-one");
	assert_int_equal(db_exec(db, "DROP TABLE permissions"), DB_OK);
	assert_int_equal(perm_lookup(db, "r-one", PERM_FILES, PERM_READ,
	    &vars, &s), 1);
	assert_string_equal(s.where, "(((owner_id = ?)))");
	perm_sql_free(&s);
	assert_int_equal(perm_lookup(db, "r-two", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
	perm_prefetch_clear();
	assert_int_equal(perm_lookup(db, "r-one", PERM_FILES, PERM_READ,
	    &vars, &s), -1);
}

/*
 * perm_allowed (one stored row) and perm_prepare (a list) over the
 * permissions and files tables: the same rows on both engines.
 */
static void
test_allowed(void **state)
{
	static const char *const yes_one[] = {
		"photos%/c.jpg", "photos/a.jpg", "photosX/d.jpg",
	};
	static const char *const no_one[] = {
		"photos/b.jpg", "docs/f.txt", "nosuch",
	};
	struct principal p;
	struct perm_sql	 s;
	struct db_stmt	*st;
	struct db	*db;
	const char	*args[1] = { PFX "photos" };
	char		 key[256], got[1024];
	size_t		 i;

	db = lookup_db(state);
	memset(&p, 0, sizeof(p));
	snprintf(p.user_id, sizeof(p.user_id), "u1");
	snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", TENANT);
	snprintf(p.role_id, sizeof(p.role_id), "r-one");
	for (i = 0; i < NITEMS(yes_one); i++) {
		snprintf(key, sizeof(key), PFX "%s", yes_one[i]);
		assert_int_equal(perm_allowed(db, &p, PERM_FILES, PERM_READ,
		    "key", key), 1);
	}
	for (i = 0; i < NITEMS(no_one); i++) {
		snprintf(key, sizeof(key), PFX "%s", no_one[i]);
		assert_int_equal(perm_allowed(db, &p, PERM_FILES, PERM_READ,
		    "key", key), 0);
	}
	/* Another tenant's row is not this one's. */
	snprintf(p.tenant_id, sizeof(p.tenant_id), "t1");
	assert_int_equal(perm_allowed(db, &p, PERM_FILES, PERM_READ, "key",
	    PFX "photos/a.jpg"), 0);
	snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", TENANT);
	snprintf(p.role_id, sizeof(p.role_id), "r-size");
	assert_int_equal(perm_allowed(db, &p, PERM_FILES, PERM_READ, "key",
	    PFX "photos/a.jpg"), 1);
	assert_int_equal(perm_allowed(db, &p, PERM_FILES, PERM_READ, "key",
	    PFX "photos/b.jpg"), 1);
	assert_int_equal(perm_allowed(db, &p, PERM_FILES, PERM_READ, "key",
	    PFX "docs/f.txt"), 0);
	snprintf(p.role_id, sizeof(p.role_id), "r-none");
	assert_int_equal(perm_allowed(db, &p, PERM_FILES, PERM_READ, "key",
	    PFX "photos/a.jpg"), 0);
	snprintf(p.role_id, sizeof(p.role_id), "r-all");
	assert_int_equal(perm_allowed(db, &p, PERM_FILES, PERM_READ, "key",
	    PFX "docs/f.txt"), 1);

	/* A list: the head's own parameter first, then the condition's. */
	assert_int_equal(perm_lookup(db, "r-two", PERM_FILES, PERM_READ,
	    &vars, &s), 1);
	st = perm_prepare(db, "SELECT substr(key, 46) FROM files"
	    " WHERE key >= ?1 AND ", &s, " ORDER BY key", args, 1);
	if (st == NULL)
		fail_msg("perm_prepare: %s", db_errmsg(db));
	collect(db, st, got, sizeof(got));
	assert_string_equal(got, "photos%/c.jpg,photos/a.jpg,photos/b.jpg,"
	    "photosX/d.jpg");
	db_finalize(st);
	perm_sql_free(&s);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_good),
    cmocka_unit_test(test_bad),
    cmocka_unit_test(test_limits),
    cmocka_unit_test(test_err_safe),
    cmocka_unit_test(test_values_are_params),
    cmocka_unit_test(test_unset_vars),
    cmocka_unit_test(test_number_text),
    BOTH(test_semantics),
    BOTH(test_cross_types),
    BOTH(test_bind_offset),
    BOTH(test_row_allowed),
    BOTH(test_allowed),
    BOTH(test_lookup_all_or_none),
    BOTH(test_lookup_filters),
    BOTH(test_lookup_fails_closed),
    BOTH(test_lookup_prefetched))
