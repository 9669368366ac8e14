/*
 * cfg: configuration from the environment (DESIGN §10). See cfg.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "cry.h"
#include "db.h"
#include "http.h"
#include "rproto.h"
#include "tslot.h"

#define OFF(f)	offsetof(struct cfg, f)
#define STR(n, t, f, def, help)	{ n, t, OFF(f), 0, 0, 0, def, 0, help }
#define INT(n, f, lo, hi, def, help) { n, CFG_INT, OFF(f), lo, hi, def, NULL, \
				  0, help }
#define BOOL(n, f, def, help)	{ n, CFG_BOOL, OFF(f), 0, 1, def, NULL, 0, help }
#define S3(n, t, f, lo, hi, idef, def, help) { n, t, OFF(s3.f), lo, hi, idef, \
				  def, 1, help }

/*
 * Every setting, in the order they are read. A new one is a line here, a
 * field in struct cfg, and a line in apache/filestor.conf and README.md
 * (tests/unit/test_cfg.c checks both). Checks between settings, and
 * defaults made from other settings, are in cfg_load.
 */
static const struct cfg_setting settings[] = {
	{ "AUTH_SECRET", CFG_SECRET, OFF(auth_secret), CFG_SECRET_MIN, 0, 0,
	    NULL, 0, "signs storage URLs and sessions" },
	STR("FILESTOR_DB", CFG_STR, db_path, "./.data/filestor.db",
	    "SQLite database path, or a postgresql:// URI"),
	BOOL("FILESTOR_PG_PREPARE", pg_prepare, 1,
	    "PostgreSQL: prepared statements (0 for an old PgBouncer)"),
	STR("FILESTOR_DATA_DIR", CFG_STR, data_dir, "./.data/files",
	    "object storage root"),
	STR("FILESTOR_CACHE_DIR", CFG_STR, cache_dir, "./.data/cache",
	    "rendition cache"),
	STR("PUBLIC_BASE", CFG_STR, public_base, NULL,
	    "public origin for transform redirects of public rows"),
	INT("MAX_UPLOAD_BYTES", max_upload, 0, LLONG_MAX, 5LL << 30,
	    "larger uploads get 413"),
	INT("UPLOAD_EXPIRY_SECONDS", upload_expiry, 60, 365LL * 86400, 86400,
	    "a resumable (tus) upload left alone this long is removed"),
	INT("FILESTOR_SESSION_TTL", session_ttl, 60, 365LL * 86400, 7 * 86400,
	    "session lifetime in seconds"),
	INT("LOGIN_MAX_FAILURES", login_max_user, 1, 1000000, 10,
	    "failed logins per email and tenant in a window"),
	INT("LOGIN_MAX_FAILURES_PER_ADDR", login_max_addr, 1, 1000000, 100,
	    "failed logins per client address in a window"),
	INT("LOGIN_WINDOW_SECONDS", login_window, 1, 86400, 900,
	    "the failed-login window"),
	BOOL("FILESTOR_SENDFILE", sendfile, 1,
	    "hand downloads to the web server with X-Sendfile"),
	BOOL("COOKIE_SECURE", cookie_secure, 1,
	    "Secure on the session cookie"),
	INT("RENDITION_CACHE_BYTES", transform.cache_bytes, 0, 1LL << 50,
	    1LL << 30, "bound of the rendition cache"),
	INT("TRANSFORM_MAX_PIXELS", transform.max_pixels, 1, 1000000000LL,
	    50000000LL, "largest source a transform accepts, in pixels"),
	INT("TRANSFORM_TIMEOUT_MS", transform.timeout_ms, 100, 600000, 10000,
	    "per-transform time limit"),
	INT("TRANSFORM_THREADS", transform.threads, 1, 256, 1,
	    "ImageMagick threads per worker"),
	INT("TRANSFORM_MEMORY_BYTES", transform.memory, 16LL << 20,
	    64LL << 30, 256LL << 20, "ImageMagick memory per transform"),
	INT("TRANSFORM_MAX_BYTES", transform.max_bytes, 1, 1LL << 40,
	    100LL << 20, "largest source a transform accepts, in bytes"),
	INT("TRANSFORM_SCALED_DECODE", transform.scaled, 0, 1, 1,
	    "0: ImageMagick decodes every format at full size"),
	/* 0, the default: one per online CPU (cfg_load). */
	INT("TRANSFORM_CONCURRENCY", transform.concurrency, 1, TSLOT_MAX, 0,
	    "transforms at once on the host"),
	INT("TRANSFORM_NICE", transform.nice, 0, 19, 19,
	    "CPU niceness of the transform workers"),
	STR("MAGICK_CONFIGURE_PATH", CFG_STR, transform.magick_config, NULL,
	    "where ImageMagick finds policy.xml"),
	STR("MAGICK_TEMPORARY_PATH", CFG_STR, transform.magick_tmp, NULL,
	    "ImageMagick's pixel-cache files"),
	STR("ACCESS_LOG", CFG_STR, access_log, NULL,
	    "file the access and audit log is appended to"),
	BOOL("METRICS", metrics, 1, "count requests for GET /api/metrics"),
	STR("METRICS_FILE", CFG_STR, metrics_file, NULL,
	    "the shared counters; default FILESTOR_DB-metrics"
	    " (PostgreSQL: FILESTOR_DATA_DIR/.metrics)"),
	BOOL("METRICS_LOOPBACK", metrics_loopback, 1,
	    "GET /api/metrics without a key from loopback"),
	STR("RELAY_SOCKET", CFG_STR, relay.socket, "./.data/relay.sock",
	    "the relay's socket for this host's workers (docs/relay.md)"),
	STR("RELAY_AGENT_SOCKET", CFG_STR, relay.agent_socket,
	    "./.data/relay-agents.sock",
	    "where the web server passes agents' WebSockets to the relay"),
	STR("RELAY_PEER_ADDR", CFG_PRINT, relay.peer_addr, NULL,
	    "host:port the other hosts reach this relay at; unset: one host"),
	INT("RELAY_STALL_SECONDS", relay.stall_secs, 1, 3600, RP_STALL_SECS,
	    "a relayed stream the agent leaves idle this long is cut"),
	STR("S3API_DOMAIN", CFG_PRINT, s3api_domain, NULL,
	    "host name of the S3 endpoint at a host's root; unset: off"),
	S3("S3_BUCKET", CFG_PRINT, bucket, 0, 0, 0, NULL,
	    "S3-compatible storage instead of the local disk"),
	S3("S3_REGION", CFG_PRINT, region, 0, 0, 0, "us-east-1",
	    "the bucket's region"),
	S3("S3_ENDPOINT", CFG_PRINT, endpoint, 0, 0, 0, NULL,
	    "http:// or https:// origin; default AWS's for the region"),
	S3("S3_ACCESS_KEY_ID", CFG_PRINT, access_key, 0, 0, 0, NULL,
	    "access key id"),
	S3("S3_SECRET_ACCESS_KEY", CFG_PRINT, secret_key, 0, 0, 0, NULL,
	    "secret access key"),
	S3("S3_FORCE_PATH_STYLE", CFG_BOOL, path_style, 0, 1, 0, NULL,
	    "bucket in the path, not the host name"),
	S3("S3_PART_BYTES", CFG_INT, part_size, S3_PART_MIN, 1LL << 30,
	    8LL << 20, NULL, "multipart above this size"),
	S3("S3_REDIRECT", CFG_BOOL, redirect, 0, 1, 0, NULL,
	    "GET of an original answers 302 to a presigned URL"),
	S3("S3_REDIRECT_TTL", CFG_INT, redirect_ttl, 1, 7 * 86400, 300, NULL,
	    "lifetime of those URLs in seconds"),
};

const struct cfg_setting *
cfg_settings(size_t *n)
{
	*n = sizeof(settings) / sizeof(settings[0]);
	return settings;
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

/* A value that goes into a URL or a header: printable, no spaces. */
static int
printable(const char *v)
{
	for (; *v != '\0'; v++)
		if (*v <= 0x20 || *v >= 0x7f)
			return 0;
	return 1;
}

/* Set one setting from v (NULL: unset). 0, or -1 with err. */
static int
load_one(struct cfg *c, const struct cfg_setting *s, const char *v,
    char *err, size_t errlen)
{
	char *field = (char *)c + s->off;
	long long n;
	int b;

	switch (s->type) {
	case CFG_SECRET:
		if (v == NULL)
			return 0;
		if (strlen(v) < (size_t)s->min) {
			snprintf(err, errlen, "%s is %zu bytes; it must be at "
			    "least %lld (make run generates one in "
			    ".data/auth_secret)", s->name, strlen(v), s->min);
			return -1;
		}
		c->auth_secret_len = strlen(v);
		c->auth_secret = malloc(c->auth_secret_len);
		if (c->auth_secret == NULL)
			goto oom;
		memcpy(c->auth_secret, v, c->auth_secret_len);
		return 0;
	case CFG_STR:
	case CFG_PRINT:
		if (v == NULL)
			v = s->def;
		if (v == NULL)
			return 0;
		if (s->type == CFG_PRINT && !printable(v)) {
			snprintf(err, errlen, "%s must be printable ASCII "
			    "without spaces", s->name);
			return -1;
		}
		if (!http_header_value_ok(v)) {
			snprintf(err, errlen, "%s must not contain control "
			    "characters", s->name);
			return -1;
		}
		*(char **)(void *)field = strdup(v);
		if (*(char **)(void *)field == NULL)
			goto oom;
		return 0;
	case CFG_INT:
		n = s->idef;
		if (v != NULL && http_parse_ll(v, s->min, s->max, &n) == -1) {
			snprintf(err, errlen, "%s must be an integer from %lld "
			    "to %lld", s->name, s->min, s->max);
			return -1;
		}
		*(long long *)(void *)field = n;
		return 0;
	case CFG_BOOL:
		b = v == NULL ? (int)s->idef : parse_bool(v);
		if (b < 0) {
			snprintf(err, errlen, "%s must be 0 or 1 (got \"%.32s\")",
			    s->name, v);
			return -1;
		}
		*(int *)(void *)field = b;
		return 0;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* A lower-case DNS name: labels of [a-z0-9-], none empty. */
static int
domain_ok(const char *v)
{
	size_t label = 0;

	for (; *v != '\0'; v++) {
		if (*v == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((*v >= 'a' && *v <= 'z') || (*v >= '0' &&
		    *v <= '9') || *v == '-')
			label++;
		else
			return 0;
	}
	return label > 0;
}

/* What the table cannot say: relations between settings. */
static int
load_check(struct cfg *c, int need_secret, char *err, size_t errlen)
{
	struct s3_cfg *s = &c->s3;
	long n;

	if (need_secret && c->auth_secret == NULL) {
		snprintf(err, errlen, "AUTH_SECRET is not set; it must be at "
		    "least %d bytes (make run generates one in "
		    ".data/auth_secret)", CFG_SECRET_MIN);
		return -1;
	}
	if (c->transform.concurrency == 0) {
		/* One transform per core: more only queue for the CPU and
		   multiply the peak memory. */
		n = sysconf(_SC_NPROCESSORS_ONLN);
		c->transform.concurrency = n < 1 ? 1 : n > TSLOT_MAX ?
		    TSLOT_MAX : n;
	}
	if (c->s3api_domain != NULL && c->s3api_domain[0] != '\0' &&
	    !domain_ok(c->s3api_domain)) {
		snprintf(err, errlen, "S3API_DOMAIN must be a host name "
		    "(lower-case letters, digits, '-' and '.'), without a port");
		return -1;
	}
	if (s->bucket == NULL)
		return 0;	/* local disk */
	if (s->access_key == NULL || s->secret_key == NULL) {
		snprintf(err, errlen, "S3_BUCKET is set but %s is not; set "
		    "both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY",
		    s->access_key == NULL ? "S3_ACCESS_KEY_ID" :
		    "S3_SECRET_ACCESS_KEY");
		return -1;
	}
	if (s->endpoint == NULL && asprintf(&s->endpoint,
	    "https://s3.%s.amazonaws.com", s->region) == -1) {
		s->endpoint = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (strncmp(s->endpoint, "http://", 7) != 0 &&
	    strncmp(s->endpoint, "https://", 8) != 0) {
		snprintf(err, errlen, "S3_ENDPOINT must start with http:// or "
		    "https://");
		return -1;
	}
	if (strchr(s->bucket, '/') != NULL || strchr(s->bucket, '?') != NULL) {
		snprintf(err, errlen, "S3_BUCKET must be a bucket name");
		return -1;
	}
	return 0;
}

int
cfg_load(struct cfg *c, int need_secret, char *err, size_t errlen)
{
	const char *v;
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		/* The S3_* settings count only with a bucket. */
		if (settings[i].s3 && c->s3.bucket == NULL &&
		    strcmp(settings[i].name, "S3_BUCKET") != 0)
			continue;
		v = getenv(settings[i].name);
		if (v != NULL && *v == '\0')
			v = NULL;
		if (load_one(c, &settings[i], v, err, errlen) == -1)
			goto fail;
	}
	if (load_check(c, need_secret, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	cfg_free(c);
	return -1;
}

int
cfg_db_flags(const struct cfg *c)
{
	return c->pg_prepare ? 0 : DB_OPEN_NO_PREPARE;
}

void
cfg_metrics_path(const struct cfg *c, char *out, size_t len)
{
	if (c->metrics_file != NULL && c->metrics_file[0] != '\0')
		snprintf(out, len, "%s", c->metrics_file);
	else if (db_is_pg_uri(c->db_path))
		snprintf(out, len, "%s/.metrics", c->data_dir);
	else
		snprintf(out, len, "%s-metrics", c->db_path);
}

void
cfg_free(struct cfg *c)
{
	const struct cfg_setting *s;
	char **p;
	size_t i;

	if (c->auth_secret != NULL) {
		cry_wipe(c->auth_secret, c->auth_secret_len);
		free(c->auth_secret);
	}
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		s = &settings[i];
		if (s->type != CFG_STR && s->type != CFG_PRINT)
			continue;
		p = (char **)(void *)((char *)c + s->off);
		/* Wiped: it may be a credential (S3_SECRET_ACCESS_KEY). */
		if (*p != NULL)
			cry_wipe(*p, strlen(*p));
		free(*p);
	}
	memset(c, 0, sizeof(*c));
}
