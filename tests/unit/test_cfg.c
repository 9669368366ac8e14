/*
 * cfg: configuration from the environment refuses what is unsafe or
 * malformed, and names the variable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

static int
clear_env(void **state)
{
	const struct cfg_setting *t;
	size_t i, n;

	(void)state;
	t = cfg_settings(&n);
	for (i = 0; i < n; i++)
		unsetenv(t[i].name);
	return 0;
}

#define SECRET32 "0123456789abcdef0123456789abcdef"

/* The settings as the environment has them load into c. */
static void
load_ok(struct cfg *c)
{
	char err[256] = "";

	if (cfg_load(c, 1, err, sizeof(err)) != 0)
		fail_msg("cfg_load: %s", err);
}

/* The settings as the environment has them are refused, for want. */
static void
load_refused(const char *want)
{
	struct cfg c;
	char err[256] = "";

	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, want));
}

static void
test_secret_required(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	load_refused("AUTH_SECRET is not set");
	/* filestorctl migrate does not need it. */
	assert_int_equal(cfg_load(&c, 0, err, sizeof(err)), 0);
	assert_null(c.auth_secret);
	cfg_free(&c);
}

static void
test_secret_length(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	setenv("AUTH_SECRET", "0123456789abcdef0123456789abcde", 1); /* 31 */
	load_refused("at least 32");
	/* A short secret is refused even where none is required. */
	assert_int_equal(cfg_load(&c, 0, err, sizeof(err)), -1);
	setenv("AUTH_SECRET", SECRET32, 1);
	load_ok(&c);
	assert_int_equal(c.auth_secret_len, 32);
	assert_memory_equal(c.auth_secret, SECRET32, 32);
	cfg_free(&c);
	assert_null(c.auth_secret);
}

static void
test_defaults(void **state)
{
	struct cfg c;

	(void)state;
	setenv("AUTH_SECRET", SECRET32, 1);
	load_ok(&c);
	assert_string_equal(c.db_path, "./.data/filestor.db");
	assert_string_equal(c.data_dir, "./.data/files");
	assert_string_equal(c.cache_dir, "./.data/cache");
	assert_int_equal(c.max_upload, 5LL << 30);
	assert_int_equal(c.sendfile, 1);
	assert_int_equal(c.cookie_secure, 1);
	assert_null(c.public_base);
	cfg_free(&c);
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *var, *val, *want;
	} bad[] = {
		{ "MAX_UPLOAD_BYTES", "10MB", "MAX_UPLOAD_BYTES" },
		{ "MAX_UPLOAD_BYTES", "-1", "MAX_UPLOAD_BYTES" },
		{ "MAX_UPLOAD_BYTES", "99999999999999999999", "MAX_UPLOAD_BYTES" },
		{ "FILESTOR_SENDFILE", "maybe", "FILESTOR_SENDFILE" },
		{ "COOKIE_SECURE", "2", "COOKIE_SECURE" },
		{ "FILESTOR_SESSION_TTL", "59", "FILESTOR_SESSION_TTL" },
		{ "PUBLIC_BASE", "https://x\r\nSet-Cookie: a=b", "PUBLIC_BASE" },
		{ "S3API_DOMAIN", "s3.example.com:8080", "S3API_DOMAIN" },
		{ "S3API_DOMAIN", "S3.Example.com", "S3API_DOMAIN" },
		{ "S3API_DOMAIN", "s3..example.com", "S3API_DOMAIN" },
		{ "S3API_DOMAIN", ".example.com", "S3API_DOMAIN" },
		{ "S3API_DOMAIN", "example.com.", "S3API_DOMAIN" },
		{ "S3API_DOMAIN", "http://s3", "S3API_DOMAIN" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_env(NULL);
		setenv("AUTH_SECRET", SECRET32, 1);
		setenv(bad[i].var, bad[i].val, 1);
		load_refused(bad[i].want);
	}
}

static void
test_values(void **state)
{
	struct cfg c;

	(void)state;
	setenv("AUTH_SECRET", SECRET32, 1);
	setenv("MAX_UPLOAD_BYTES", "1000", 1);
	setenv("FILESTOR_SENDFILE", "off", 1);
	setenv("COOKIE_SECURE", "0", 1);
	setenv("PUBLIC_BASE", "https://cdn.example.com", 1);
	setenv("S3API_DOMAIN", "s3.files-1.example", 1);
	load_ok(&c);
	assert_string_equal(c.s3api_domain, "s3.files-1.example");
	assert_int_equal(c.max_upload, 1000);
	assert_int_equal(c.sendfile, 0);
	assert_int_equal(c.cookie_secure, 0);
	assert_string_equal(c.public_base, "https://cdn.example.com");
	cfg_free(&c);
}

/* S3_*: off without a bucket; with one, both keys, named when missing. */
static void
test_s3(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	setenv("AUTH_SECRET", SECRET32, 1);
	load_ok(&c);
	assert_null(c.s3.bucket);
	cfg_free(&c);

	setenv("S3_BUCKET", "files", 1);
	setenv("S3_ACCESS_KEY_ID", "AKID", 1);
	load_refused("S3_SECRET_ACCESS_KEY is not");
	unsetenv("S3_ACCESS_KEY_ID");
	setenv("S3_SECRET_ACCESS_KEY", "secret", 1);
	load_refused("S3_ACCESS_KEY_ID is not");

	setenv("S3_ACCESS_KEY_ID", "AKID", 1);
	setenv("S3_REGION", "eu-west-1", 1);
	load_ok(&c);
	assert_string_equal(c.s3.bucket, "files");
	assert_string_equal(c.s3.endpoint, "https://s3.eu-west-1.amazonaws.com");
	assert_int_equal(c.s3.path_style, 0);
	assert_int_equal(c.s3.redirect, 0);
	assert_int_equal(c.s3.part_size, 8LL << 20);
	assert_int_equal(c.s3.redirect_ttl, 300);
	cfg_free(&c);

	setenv("S3_PART_BYTES", "1048576", 1);	/* under S3's 5 MiB */
	load_refused("S3_PART_BYTES");
	unsetenv("S3_PART_BYTES");
	setenv("S3_ENDPOINT", "ftp://x", 1);
	load_refused("S3_ENDPOINT");
	setenv("S3_ENDPOINT", "http://127.0.0.1:9000", 1);
	setenv("S3_SECRET_ACCESS_KEY", "a b", 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "S3_SECRET_ACCESS_KEY"));
	assert_null(strstr(err, "a b"));	/* never echo a secret */
	setenv("S3_SECRET_ACCESS_KEY", "secret", 1);
	setenv("S3_FORCE_PATH_STYLE", "1", 1);
	setenv("S3_REDIRECT", "yes", 1);
	load_ok(&c);
	assert_string_equal(c.s3.endpoint, "http://127.0.0.1:9000");
	assert_int_equal(c.s3.path_style, 1);
	assert_int_equal(c.s3.redirect, 1);
	cfg_free(&c);
}

/* The S3_* settings count only with a bucket and both keys. */
static void
s3_on(void)
{
	setenv("S3_BUCKET", "files", 1);
	setenv("S3_ACCESS_KEY_ID", "AKID", 1);
	setenv("S3_SECRET_ACCESS_KEY", "secret", 1);
}

static long long
field_ll(const struct cfg *c, const struct cfg_setting *s)
{
	return *(const long long *)(const void *)((const char *)c + s->off);
}

static int
field_int(const struct cfg *c, const struct cfg_setting *s)
{
	return *(const int *)(const void *)((const char *)c + s->off);
}

static const char *
field_str(const struct cfg *c, const struct cfg_setting *s)
{
	return *(char *const *)(const void *)((const char *)c + s->off);
}

/* Every setting unset: every field holds the table's default. */
static void
test_table_defaults(void **state)
{
	const struct cfg_setting *t;
	struct cfg c;
	size_t i, n;

	(void)state;
	t = cfg_settings(&n);
	setenv("AUTH_SECRET", SECRET32, 1);
	s3_on();
	load_ok(&c);
	for (i = 0; i < n; i++) {
		assert_non_null(t[i].help);
		switch (t[i].type) {
		case CFG_INT:
			if (t[i].idef == 0 && t[i].min > 0)	/* computed */
				assert_in_range(field_ll(&c, &t[i]), t[i].min,
				    t[i].max);
			else
				assert_int_equal(field_ll(&c, &t[i]), t[i].idef);
			break;
		case CFG_BOOL:
			assert_int_equal(field_int(&c, &t[i]), t[i].idef);
			break;
		case CFG_STR:
		case CFG_PRINT:
			if (t[i].def != NULL)
				assert_string_equal(field_str(&c, &t[i]),
				    t[i].def);
			break;
		case CFG_SECRET:
			break;
		}
	}
	assert_int_equal(c.transform.timeout_ms, 10000);
	assert_int_equal(c.transform.cache_bytes, 1LL << 30);
	assert_int_equal(c.transform.nice, 19);
	cfg_free(&c);
}

/* Load with name=val; returns cfg_load's result, c freed. */
static int
load_with(const char *name, const char *val, char *err, size_t errlen,
    long long *got)
{
	const struct cfg_setting *t;
	struct cfg c;
	size_t i, n;
	int rc;

	clear_env(NULL);
	setenv("AUTH_SECRET", SECRET32, 1);
	s3_on();
	setenv(name, val, 1);
	err[0] = '\0';
	rc = cfg_load(&c, 1, err, errlen);
	t = cfg_settings(&n);
	for (i = 0; rc == 0 && got != NULL && i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			*got = t[i].type == CFG_BOOL ? field_int(&c, &t[i]) :
			    field_ll(&c, &t[i]);
	if (rc == 0)
		cfg_free(&c);
	return rc;
}

/*
 * Every number: its bounds are accepted, one past them and junk are
 * refused with a message that names the variable and the range.
 */
static void
test_table_bounds(void **state)
{
	const struct cfg_setting *t;
	char err[256], v[32], want[128];
	long long got;
	size_t i, n;

	(void)state;
	t = cfg_settings(&n);
	for (i = 0; i < n; i++) {
		if (t[i].type == CFG_BOOL) {
			assert_int_equal(load_with(t[i].name, "on", err,
			    sizeof(err), &got), 0);
			assert_int_equal(got, 1);
			assert_int_equal(load_with(t[i].name, "maybe", err,
			    sizeof(err), NULL), -1);
			snprintf(want, sizeof(want), "%s must be 0 or 1",
			    t[i].name);
			assert_non_null(strstr(err, want));
			continue;
		}
		if (t[i].type != CFG_INT)
			continue;
		snprintf(want, sizeof(want), "%s must be an integer from "
		    "%lld to %lld", t[i].name, t[i].min, t[i].max);
		snprintf(v, sizeof(v), "%lld", t[i].min);
		assert_int_equal(load_with(t[i].name, v, err, sizeof(err),
		    &got), 0);
		assert_int_equal(got, t[i].min);
		snprintf(v, sizeof(v), "%lld", t[i].max);
		assert_int_equal(load_with(t[i].name, v, err, sizeof(err),
		    &got), 0);
		assert_int_equal(got, t[i].max);
		snprintf(v, sizeof(v), "%lld", t[i].min - 1);
		assert_int_equal(load_with(t[i].name, v, err, sizeof(err),
		    NULL), -1);
		assert_string_equal(err, want);
		if (t[i].max < LLONG_MAX) {
			snprintf(v, sizeof(v), "%lld", t[i].max + 1);
			assert_int_equal(load_with(t[i].name, v, err,
			    sizeof(err), NULL), -1);
			assert_string_equal(err, want);
		}
		assert_int_equal(load_with(t[i].name, "12x", err, sizeof(err),
		    NULL), -1);
		assert_string_equal(err, want);
	}
}

/* Whether name is a setting of the table. */
static int
in_table(const char *name)
{
	const struct cfg_setting *t;
	size_t i, n;

	t = cfg_settings(&n);
	for (i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * Collect the names a file lists: with conf, the variable of every
 * FcgidInitialEnv line (commented or not); else the upper-case `NAMES`
 * in the first cell of the rows of README.md's configuration table.
 */
static size_t
listed(const char *path, int conf, char names[][64], size_t max)
{
	char line[1024], *p, *q;
	size_t n = 0, len;
	int in = conf;
	FILE *f;

	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		if (!conf && strncmp(line, "## ", 3) == 0)
			in = strcmp(line, "## Configuration\n") == 0;
		if (!in)
			continue;
		if (conf) {
			p = line + (line[0] == '#');
			if (strncmp(p, "FcgidInitialEnv", 15) != 0)
				continue;
			p += strspn(p + 15, " \t") + 15;
			len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
			assert_in_range(len, 1, 63);
			memcpy(names[n], p, len);
			names[n++][len] = '\0';
			continue;
		}
		if (strncmp(line, "| `", 3) != 0)
			continue;
		q = strchr(line + 1, '|');	/* end of the first cell */
		for (p = line + 1; q != NULL && p < q && n < max; p++) {
			if (*p != '`')
				continue;
			len = strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
			if (len > 0 && p[1 + len] == '`') {
				assert_in_range(len, 1, 63);
				memcpy(names[n], p + 1, len);
				names[n++][len] = '\0';
			}
			p += len + 1;
		}
	}
	fclose(f);
	return n;
}

static int
in_list(char names[][64], size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/*
 * mod_fcgid hands the programs only the variables it is told to: every
 * setting has its line in apache/filestor.conf, and no line names
 * anything else. README.md's configuration table lists every setting,
 * beside the ones of the scripts that start the servers.
 */
static void
test_table_documented(void **state)
{
	static const char *const servers[] = { "PORT", "FILESTOR_BIND",
	    "FILESTOR_WORKERS", "FILESTOR_USER", "FILESTOR_SOCK_DIR",
	    "FILESTOR_LIGHTTPD_USER", "FILESTOR_LIGHTTPD_LOCAL",
	    "FILESTOR_LOG", "FILESTOR_WWW_DIR" };
	static char conf[128][64], readme[128][64];
	const struct cfg_setting *t;
	size_t i, j, n, nc, nr;
	int known;

	(void)state;
	t = cfg_settings(&n);
	nc = listed("apache/filestor.conf", 1, conf, 128);
	nr = listed("README.md", 0, readme, 128);
	for (i = 0; i < n; i++) {
		if (!in_list(conf, nc, t[i].name))
			fail_msg("%s has no FcgidInitialEnv line in "
			    "apache/filestor.conf", t[i].name);
		if (!in_list(readme, nr, t[i].name))
			fail_msg("%s is not in README.md's configuration "
			    "table", t[i].name);
	}
	for (i = 0; i < nc; i++)
		if (!in_table(conf[i]))
			fail_msg("apache/filestor.conf passes %s, which is no "
			    "setting (common/cfg.c)", conf[i]);
	for (i = 0; i < nr; i++) {
		known = in_table(readme[i]);
		for (j = 0; j < sizeof(servers) / sizeof(servers[0]); j++)
			known |= strcmp(readme[i], servers[j]) == 0;
		if (!known)
			fail_msg("README.md documents %s, which is no setting "
			    "(common/cfg.c)", readme[i]);
	}
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test_setup(test_secret_required, clear_env),
    cmocka_unit_test_setup(test_secret_length, clear_env),
    cmocka_unit_test_setup(test_defaults, clear_env),
    cmocka_unit_test_setup(test_malformed, clear_env),
    cmocka_unit_test_setup(test_values, clear_env),
    cmocka_unit_test_setup(test_s3, clear_env),
    cmocka_unit_test_setup(test_table_defaults, clear_env),
    cmocka_unit_test_setup(test_table_bounds, clear_env),
    cmocka_unit_test_setup(test_table_documented, clear_env))
