/*
 * cfg: configuration from the environment (DESIGN §10).
 *
 * Every setting the programs and filestorctl read is one line of the
 * table in cfg.c (name, type, bounds, default, help), and cfg is the only
 * module that reads the environment: the others take their values from
 * struct cfg. tests/unit/test_cfg.c checks the table against the
 * FcgidInitialEnv lines of apache/filestor.conf and against README.md's
 * configuration table.
 *
 * cfg_load() never falls back to an insecure default: a missing or short
 * AUTH_SECRET, or a malformed number, is an error with a message that
 * names the variable. Every program checks every setting, so a typo in
 * one only the transform program uses still stops the others.
 */
#ifndef FS_CFG_H
#define FS_CFG_H

#include <stddef.h>

#define CFG_SECRET_MIN	32	/* bytes of AUTH_SECRET, at least */

/*
 * S3-compatible storage (DESIGN §8, docs/s3.md). bucket NULL: local disk.
 * When bucket is set, both keys are required.
 */
struct s3_cfg {
	char		*bucket;	/* S3_BUCKET */
	char		*endpoint;	/* S3_ENDPOINT, https://s3.<region>.amazonaws.com */
	char		*region;	/* S3_REGION, us-east-1 */
	char		*access_key;	/* S3_ACCESS_KEY_ID */
	char		*secret_key;	/* S3_SECRET_ACCESS_KEY, wiped by cfg_free */
	int		 path_style;	/* S3_FORCE_PATH_STYLE, default 0 */
	int		 redirect;	/* S3_REDIRECT: GET originals answer 302 */
	long long	 part_size;	/* S3_PART_BYTES, multipart above it */
	long long	 redirect_ttl;	/* S3_REDIRECT_TTL seconds, default 300 */
};

#define S3_PART_MIN	(5LL << 20)	/* S3's smallest non-final part */

/* The transform program's settings (docs/transforms.md). */
struct cfg_transform {
	long long	 max_pixels;	/* TRANSFORM_MAX_PIXELS, 50 MP */
	long long	 timeout_ms;	/* TRANSFORM_TIMEOUT_MS, 10000 */
	long long	 threads;	/* TRANSFORM_THREADS, 1 */
	long long	 memory;	/* TRANSFORM_MEMORY_BYTES, 256 MiB */
	long long	 max_bytes;	/* TRANSFORM_MAX_BYTES, 100 MiB */
	long long	 scaled;	/* TRANSFORM_SCALED_DECODE, 1 */
	long long	 concurrency;	/* TRANSFORM_CONCURRENCY; 0: CPU count */
	long long	 nice;		/* TRANSFORM_NICE, 19 */
	long long	 cache_bytes;	/* RENDITION_CACHE_BYTES, 1 GiB */
	char		*magick_config;	/* MAGICK_CONFIGURE_PATH or NULL */
	char		*magick_tmp;	/* MAGICK_TEMPORARY_PATH or NULL */
};

/* The WS relay (docs/relay.md). */
struct cfg_relay {
	char		*socket;	/* RELAY_SOCKET, ./.data/relay.sock */
	char		*agent_socket;	/* RELAY_AGENT_SOCKET */
	char		*peer_addr;	/* RELAY_PEER_ADDR host:port or NULL */
	long long	 stall_secs;	/* RELAY_STALL_SECONDS, 30 */
};

struct cfg {
	unsigned char	*auth_secret;	/* AUTH_SECRET bytes, wiped by cfg_free */
	size_t		 auth_secret_len;
	char		*db_path;	/* FILESTOR_DB, ./.data/filestor.db */
	int		 pg_prepare;	/* FILESTOR_PG_PREPARE, 1 */
	char		*data_dir;	/* FILESTOR_DATA_DIR, ./.data/files */
	char		*cache_dir;	/* FILESTOR_CACHE_DIR, ./.data/cache */
	long long	 max_upload;	/* MAX_UPLOAD_BYTES, default 5 GiB */
	long long	 upload_expiry;	/* UPLOAD_EXPIRY_SECONDS, default 1 day */
	int		 sendfile;	/* FILESTOR_SENDFILE: 0 off, 1 on (default) */
	int		 cookie_secure;	/* COOKIE_SECURE, default 1 */
	char		*public_base;	/* PUBLIC_BASE or NULL */
	char		*s3api_domain;	/* S3API_DOMAIN; NULL or "": off */
	long long	 session_ttl;	/* FILESTOR_SESSION_TTL seconds, 7 days */
	/* Failed logins allowed per window before 429 (auth_login_allowed). */
	long long	 login_max_user; /* LOGIN_MAX_FAILURES, per email+tenant, 10 */
	long long	 login_max_addr; /* LOGIN_MAX_FAILURES_PER_ADDR, 100 */
	long long	 login_window;	/* LOGIN_WINDOW_SECONDS, 900 */
	char		*access_log;	/* ACCESS_LOG or NULL (no log) */
	int		 metrics;	/* METRICS, default 1 */
	char		*metrics_file;	/* METRICS_FILE, NULL: the default */
	int		 metrics_loopback; /* METRICS_LOOPBACK, default 1 */
	struct s3_cfg	 s3;
	struct cfg_transform transform;
	struct cfg_relay relay;
};

enum cfg_type {
	CFG_SECRET,	/* AUTH_SECRET: bytes, at least CFG_SECRET_MIN */
	CFG_STR,	/* a string; def is its default (NULL: unset) */
	CFG_PRINT,	/* a string of printable ASCII without spaces */
	CFG_INT,	/* an integer from min to max; idef its default */
	CFG_BOOL,	/* 1/0, true/false, on/off, yes/no; idef */
};

/* One setting: a line of the table in cfg.c. */
struct cfg_setting {
	const char	*name;		/* the environment variable */
	enum cfg_type	 type;
	size_t		 off;		/* of the field in struct cfg */
	long long	 min, max;	/* CFG_INT */
	long long	 idef;		/* CFG_INT, CFG_BOOL */
	const char	*def;		/* CFG_STR, CFG_PRINT */
	int		 s3;		/* read only when S3_BUCKET is set */
	const char	*help;
};

/* The table, for tests and documentation checks; *n gets its length. */
const struct cfg_setting *cfg_settings(size_t *n);

/*
 * Fill c from the environment. need_secret: whether AUTH_SECRET is
 * required (every FastCGI program: yes; filestorctl migrate: no).
 * Returns 0, or -1 with a message in err. On failure c is freed.
 */
int	 cfg_load(struct cfg *c, int need_secret, char *err, size_t errlen);
/* Release c; wipes the secret. c may be zeroed or half-filled. */
void	 cfg_free(struct cfg *c);
/*
 * The file of this host's shared counters: METRICS_FILE, else
 * FILESTOR_DB + "-metrics" beside a SQLite file, else (PostgreSQL) in
 * the data directory, "<FILESTOR_DATA_DIR>/.metrics".
 */
void	 cfg_metrics_path(const struct cfg *c, char *out, size_t len);
/* db_open's flags for c (DB_OPEN_NO_PREPARE). */
int	 cfg_db_flags(const struct cfg *c);


#endif
