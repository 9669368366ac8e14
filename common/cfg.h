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
};

/*
 * Fill c from the environment. need_secret: whether AUTH_SECRET is
 * required (every FastCGI program: yes; filestorctl migrate: no).
 * Returns 0, or -1 with a message in err. On failure c is freed.
 */
int	 cfg_load(struct cfg *c, int need_secret, char *err, size_t errlen);
/* Release c; wipes the secret. c may be zeroed or half-filled. */
void	 cfg_free(struct cfg *c);

#endif
