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
    "FILESTOR_SESSION_TTL" };

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_secret_required, clear_env),
		cmocka_unit_test_setup(test_secret_length, clear_env),
		cmocka_unit_test_setup(test_defaults, clear_env),
		cmocka_unit_test_setup(test_malformed, clear_env),
		cmocka_unit_test_setup(test_values, clear_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
