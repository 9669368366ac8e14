/*
 * cfg: configuration from the environment refuses what is unsafe or
 * malformed, and names the variable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cfg.h"

static const char *vars[] = { "AUTH_SECRET", "FILESTOR_DB",
    "FILESTOR_DATA_DIR", "FILESTOR_CACHE_DIR", "MAX_UPLOAD_BYTES",
    "FILESTOR_SENDFILE", "COOKIE_SECURE", "PUBLIC_BASE",
    "FILESTOR_SESSION_TTL",
    "S3_BUCKET", "S3_ENDPOINT", "S3_REGION", "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY", "S3_FORCE_PATH_STYLE", "S3_REDIRECT",
    "S3_PART_BYTES", "S3_REDIRECT_TTL" };

static int
clear_env(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	return 0;
}

#define SECRET32 "0123456789abcdef0123456789abcdef"

static void
test_secret_required(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "AUTH_SECRET is not set"));
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
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 32"));
	/* A short secret is refused even where none is required. */
	assert_int_equal(cfg_load(&c, 0, err, sizeof(err)), -1);
	setenv("AUTH_SECRET", SECRET32, 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), 0);
	assert_int_equal(c.auth_secret_len, 32);
	assert_memory_equal(c.auth_secret, SECRET32, 32);
	cfg_free(&c);
	assert_null(c.auth_secret);
}

static void
test_defaults(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	setenv("AUTH_SECRET", SECRET32, 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), 0);
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
	};
	struct cfg c;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_env(NULL);
		setenv("AUTH_SECRET", SECRET32, 1);
		setenv(bad[i].var, bad[i].val, 1);
		err[0] = '\0';
		assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
		assert_non_null(strstr(err, bad[i].want));
	}
}

static void
test_values(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	setenv("AUTH_SECRET", SECRET32, 1);
	setenv("MAX_UPLOAD_BYTES", "1000", 1);
	setenv("FILESTOR_SENDFILE", "off", 1);
	setenv("COOKIE_SECURE", "0", 1);
	setenv("PUBLIC_BASE", "https://cdn.example.com", 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), 0);
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
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), 0);
	assert_null(c.s3.bucket);
	cfg_free(&c);

	setenv("S3_BUCKET", "files", 1);
	setenv("S3_ACCESS_KEY_ID", "AKID", 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "S3_SECRET_ACCESS_KEY is not"));
	unsetenv("S3_ACCESS_KEY_ID");
	setenv("S3_SECRET_ACCESS_KEY", "secret", 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "S3_ACCESS_KEY_ID is not"));

	setenv("S3_ACCESS_KEY_ID", "AKID", 1);
	setenv("S3_REGION", "eu-west-1", 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), 0);
	assert_string_equal(c.s3.bucket, "files");
	assert_string_equal(c.s3.endpoint, "https://s3.eu-west-1.amazonaws.com");
	assert_int_equal(c.s3.path_style, 0);
	assert_int_equal(c.s3.redirect, 0);
	assert_int_equal(c.s3.part_size, 8LL << 20);
	assert_int_equal(c.s3.redirect_ttl, 300);
	cfg_free(&c);

	setenv("S3_PART_BYTES", "1048576", 1);	/* under S3's 5 MiB */
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "S3_PART_BYTES"));
	unsetenv("S3_PART_BYTES");
	setenv("S3_ENDPOINT", "ftp://x", 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "S3_ENDPOINT"));
	setenv("S3_ENDPOINT", "http://127.0.0.1:9000", 1);
	setenv("S3_SECRET_ACCESS_KEY", "a b", 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "S3_SECRET_ACCESS_KEY"));
	assert_null(strstr(err, "a b"));	/* never echo a secret */
	setenv("S3_SECRET_ACCESS_KEY", "secret", 1);
	setenv("S3_FORCE_PATH_STYLE", "1", 1);
	setenv("S3_REDIRECT", "yes", 1);
	assert_int_equal(cfg_load(&c, 1, err, sizeof(err)), 0);
	assert_string_equal(c.s3.endpoint, "http://127.0.0.1:9000");
	assert_int_equal(c.s3.path_style, 1);
	assert_int_equal(c.s3.redirect, 1);
	cfg_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_secret_required, clear_env),
		cmocka_unit_test_setup(test_secret_length, clear_env),
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_malformed, clear_env),
		cmocka_unit_test_setup(test_values, clear_env),
		cmocka_unit_test_setup(test_s3, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
