/*
 * cfg: configuration from the environment (DESIGN §10).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cry.h"
#include "http.h"

static char *
dup_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		v = def;
	return v == NULL ? NULL : strdup(v);
}

/* Parse a boolean: 1/0, true/false, on/off, yes/no. -1 when malformed. */
static int
parse_bool(const char *v)
{
	static const char *yes[] = { "1", "true", "on", "yes" };
	static const char *no[] = { "0", "false", "off", "no" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

static int
env_bool(const char *name, int def, int *out, char *err, size_t errlen)
{
	const char *v = getenv(name);
	int b;

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	b = parse_bool(v);
	if (b < 0) {
		snprintf(err, errlen, "%s must be 0 or 1 (got \"%.32s\")", name, v);
		return -1;
	}
	*out = b;
	return 0;
}

static int
env_ll(const char *name, long long def, long long min, long long max,
    long long *out, char *err, size_t errlen)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (http_parse_ll(v, min, max, out) == -1) {
		snprintf(err, errlen, "%s must be an integer from %lld to %lld",
		    name, min, max);
		return -1;
	}
	return 0;
}

int
cfg_load(struct cfg *c, int need_secret, char *err, size_t errlen)
{
	const char *secret;

	memset(c, 0, sizeof(*c));
	secret = getenv("AUTH_SECRET");
	if (secret != NULL && *secret != '\0') {
		if (strlen(secret) < CFG_SECRET_MIN) {
			snprintf(err, errlen, "AUTH_SECRET is %zu bytes; it must "
			    "be at least %d (make run generates one in "
			    ".data/auth_secret)", strlen(secret), CFG_SECRET_MIN);
			goto fail;
		}
		c->auth_secret_len = strlen(secret);
		c->auth_secret = malloc(c->auth_secret_len);
		if (c->auth_secret == NULL)
			goto oom;
		memcpy(c->auth_secret, secret, c->auth_secret_len);
	} else if (need_secret) {
		snprintf(err, errlen, "AUTH_SECRET is not set; it must be at "
		    "least %d bytes (make run generates one in "
		    ".data/auth_secret)", CFG_SECRET_MIN);
		goto fail;
	}

	c->db_path = dup_env("FILESTOR_DB", "./.data/filestor.db");
	c->data_dir = dup_env("FILESTOR_DATA_DIR", "./.data/files");
	c->cache_dir = dup_env("FILESTOR_CACHE_DIR", "./.data/cache");
	c->public_base = dup_env("PUBLIC_BASE", NULL);
	if (c->db_path == NULL || c->data_dir == NULL || c->cache_dir == NULL)
		goto oom;
	if (c->public_base != NULL && !http_header_value_ok(c->public_base)) {
		snprintf(err, errlen, "PUBLIC_BASE must not contain control "
		    "characters");
		goto fail;
	}
	if (env_ll("MAX_UPLOAD_BYTES", 5LL << 30, 0, LLONG_MAX,
	    &c->max_upload, err, errlen) == -1)
		goto fail;
	if (env_ll("FILESTOR_SESSION_TTL", 7 * 86400, 60, 365LL * 86400,
	    &c->session_ttl, err, errlen) == -1)
		goto fail;
	if (env_ll("LOGIN_MAX_FAILURES", 10, 1, 1000000,
	    &c->login_max_user, err, errlen) == -1 ||
	    env_ll("LOGIN_MAX_FAILURES_PER_ADDR", 100, 1, 1000000,
	    &c->login_max_addr, err, errlen) == -1 ||
	    env_ll("LOGIN_WINDOW_SECONDS", 900, 1, 86400,
	    &c->login_window, err, errlen) == -1)
		goto fail;
	if (env_bool("FILESTOR_SENDFILE", 1, &c->sendfile, err, errlen) == -1)
		goto fail;
	if (env_bool("COOKIE_SECURE", 1, &c->cookie_secure, err, errlen) == -1)
		goto fail;
	if (cfg_load_s3(&c->s3, err, errlen) == -1)
		goto fail;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	cfg_free(c);
	return -1;
}

void
cfg_free(struct cfg *c)
{
	if (c->auth_secret != NULL) {
		cry_wipe(c->auth_secret, c->auth_secret_len);
		free(c->auth_secret);
	}
	free(c->db_path);
	free(c->data_dir);
	free(c->cache_dir);
	free(c->public_base);
	cfg_free_s3(&c->s3);
	memset(c, 0, sizeof(*c));
}

/* A value that goes into a URL or a header: printable, no spaces. */
static int
s3_value_ok(const char *v)
{
	for (; *v != '\0'; v++)
		if (*v <= 0x20 || *v >= 0x7f)
			return 0;
	return 1;
}

int
cfg_load_s3(struct s3_cfg *s, char *err, size_t errlen)
{
	static const char *names[] = { "S3_BUCKET", "S3_REGION",
	    "S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY" };
	const char *ep;
	char *vals[5];
	size_t i;

	memset(s, 0, sizeof(*s));
	s->bucket = dup_env("S3_BUCKET", NULL);
	if (s->bucket == NULL)
		return 0;	/* local disk */
	s->region = dup_env("S3_REGION", "us-east-1");
	if (s->region == NULL)
		goto oom;
	ep = getenv("S3_ENDPOINT");
	if (ep != NULL && *ep != '\0')
		s->endpoint = dup_env("S3_ENDPOINT", NULL);
	else if (asprintf(&s->endpoint, "https://s3.%s.amazonaws.com",
	    s->region) == -1)
		s->endpoint = NULL;
	s->access_key = dup_env("S3_ACCESS_KEY_ID", NULL);
	s->secret_key = dup_env("S3_SECRET_ACCESS_KEY", NULL);
	if (s->endpoint == NULL)
		goto oom;
	if (s->access_key == NULL || s->secret_key == NULL) {
		snprintf(err, errlen, "S3_BUCKET is set but %s is not; set "
		    "both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
		    s->access_key == NULL ? "S3_ACCESS_KEY_ID" :
		    "S3_SECRET_ACCESS_KEY");
		goto fail;
	}
	vals[0] = s->bucket;
	vals[1] = s->region;
	vals[2] = s->endpoint;
	vals[3] = s->access_key;
	vals[4] = s->secret_key;
	for (i = 0; i < 5; i++)
		if (!s3_value_ok(vals[i])) {
			snprintf(err, errlen, "%s must be printable ASCII "
			    "without spaces", names[i]);
			goto fail;
		}
	if (strncmp(s->endpoint, "http://", 7) != 0 &&
	    strncmp(s->endpoint, "https://", 8) != 0) {
		snprintf(err, errlen, "S3_ENDPOINT must start with http:// or "
		    "https://");
		goto fail;
	}
	if (strchr(s->bucket, '/') != NULL || strchr(s->bucket, '?') != NULL) {
		snprintf(err, errlen, "S3_BUCKET must be a bucket name");
		goto fail;
	}
	if (env_bool("S3_FORCE_PATH_STYLE", 0, &s->path_style, err,
	    errlen) == -1 ||
	    env_bool("S3_REDIRECT", 0, &s->redirect, err, errlen) == -1 ||
	    env_ll("S3_PART_BYTES", 8LL << 20, S3_PART_MIN, 1LL << 30,
	    &s->part_size, err, errlen) == -1 ||
	    env_ll("S3_REDIRECT_TTL", 300, 1, 7 * 86400, &s->redirect_ttl,
	    err, errlen) == -1)
		goto fail;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	cfg_free_s3(s);
	return -1;
}

void
cfg_free_s3(struct s3_cfg *s)
{
	free(s->bucket);
	s->bucket = NULL;
	free(s->endpoint);
	s->endpoint = NULL;
	free(s->region);
	s->region = NULL;
	free(s->access_key);
	s->access_key = NULL;
	if (s->secret_key != NULL) {
		cry_wipe(s->secret_key, strlen(s->secret_key));
		free(s->secret_key);
		s->secret_key = NULL;
	}
	memset(s, 0, sizeof(*s));
}
