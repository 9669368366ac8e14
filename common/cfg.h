/*
 * cfg: configuration from the environment (DESIGN §10).
 *
 * cfg_load() never falls back to an insecure default: a missing or short
 * AUTH_SECRET, or a malformed number, is an error with a message that
 * names the variable.
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

struct cfg {
	unsigned char	*auth_secret;	/* AUTH_SECRET bytes, wiped by cfg_free */
	size_t		 auth_secret_len;
	char		*db_path;	/* FILESTOR_DB, ./.data/filestor.db */
	char		*data_dir;	/* FILESTOR_DATA_DIR, ./.data/files */
	char		*cache_dir;	/* FILESTOR_CACHE_DIR, ./.data/cache */
	long long	 max_upload;	/* MAX_UPLOAD_BYTES, default 5 GiB */
	int		 sendfile;	/* FILESTOR_SENDFILE: 0 off, 1 on (default) */
	int		 cookie_secure;	/* COOKIE_SECURE, default 1 */
	char		*public_base;	/* PUBLIC_BASE or NULL */
	long long	 session_ttl;	/* FILESTOR_SESSION_TTL seconds, 7 days */
	/* Failed logins allowed per window before 429 (auth_login_allowed). */
	long long	 login_max_user; /* LOGIN_MAX_FAILURES, per email+tenant, 10 */
	long long	 login_max_addr; /* LOGIN_MAX_FAILURES_PER_ADDR, 100 */
	long long	 login_window;	/* LOGIN_WINDOW_SECONDS, 900 */
	struct s3_cfg	 s3;
};

/*
 * Fill c from the environment. need_secret: whether AUTH_SECRET is
 * required (every FastCGI program: yes; filestorctl migrate: no).
 * Returns 0, or -1 with a message in err. On failure c is freed.
 */
int	 cfg_load(struct cfg *c, int need_secret, char *err, size_t errlen);
/* Release c; wipes the secret. c may be zeroed or half-filled. */
void	 cfg_free(struct cfg *c);
/* The S3_* part alone (cfg_load calls it). 0, or -1 with err. */
int	 cfg_load_s3(struct s3_cfg *s, char *err, size_t errlen);
void	 cfg_free_s3(struct s3_cfg *s);

#endif
