/*
 * conf: the filestor-agent configuration file (docs/agents.md).
 *
 *   {"server":"https://files.example.com","agentId":"<uuid>",
 *    "agentSecret":"fsa_...","name":"nas-1","allowedRoots":["/srv/share"],
 *    "listen":"127.0.0.1:8443","corsOrigin":"https://files.example.com",
 *    "followSymlinks":false,
 *    "tunnel":{"hostname":"agent-1.example.com","key":"<43 chars>"}}
 *
 * It holds secrets, so it is written 0600 (atomically: a temporary file,
 * fsync, rename) in a 0700 directory, and conf_load() refuses a file
 * that its group or others may read or write, or that another user owns,
 * as ssh does with private keys, and anything but a regular file (a FIFO
 * would block the open). Members it does not know are kept when
 * the file is rewritten (the tunnel supervisor adds its own).
 */
#ifndef AGENT_CONF_H
#define AGENT_CONF_H

#include <limits.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "agent.h"

#define CONF_MAX		(256 * 1024)	/* bytes of the file */
#define CONF_LISTEN_DEFAULT	"127.0.0.1:8443"
#define CONF_SECRET_MIN		16	/* the backend's: "fsa_" + 43 */
#define CONF_SECRET_MAX		256
#define CONF_GRACE_MAX		180	/* cloudflared refuses more than 3m */
#define CONF_ACCESS_MAX		256	/* access_client_id/_secret bytes */

struct conf {
	cJSON		*doc;		/* the whole file, owned */
	/* Views into doc, valid while doc lives; NULL when absent. */
	const char	*server;
	const char	*agent_id;
	const char	*agent_secret;	/* checked by conf_secret_ok */
	const char	*name;
	const char	*listen;
	const char	*cors_origin;
	const char	*tunnel_hostname;
	/*
	 * "followSymlinks": true follows links that stay inside a root.
	 * Off by default: a link lets the path that was authorized (an
	 * agent_files path condition) differ from the file served.
	 */
	int		 follow_symlinks;
	char		**roots;	/* validated, malloc'd */
	size_t		 nroots;
	unsigned char	 key[AGENT_KEY_LEN];
	int		 has_key;
	char		 origin[AGENT_ORIGIN_MAX];	/* of tunnel_hostname */
};

/*
 * The tunnel supervisor's settings (supervise.h): the "tunnel" object's
 * backend, local_addr, health_check_interval_secs, max_failures and
 * "cloudflare" members (docs/agents.md, "Tunnel").
 */
struct conf_tunnel {
	int	 enabled;		/* tunnel.backend is set */
	char	 local_addr[128];	/* host:port of our listener */
	int	 interval;		/* health_check_interval_secs */
	int	 max_failures;
	int	 quick;			/* mode: quick (1) or named (0) */
	char	*token;			/* malloc'd, named mode; wiped */
	char	 hostname[AGENT_ORIGIN_MAX]; /* named mode: public name */
	char	 path[PATH_MAX];	/* cloudflared, resolved on PATH */
	char	 protocol[8];		/* auto quic http2 */
	char	 edge_ip[8];		/* auto 4 6 */
	int	 retries;
	int	 grace;			/* grace_period_secs, <= 180 */
	int	 metrics_port;		/* 0: none */
	char	 log_level[8];		/* debug info warn error */
	char	 health_url[512];	/* test hook: health_url_override */
	/*
	 * Cloudflare Access service token for the public probe, or both
	 * empty: sent as CF-Access-Client-Id/-Secret, never logged, never
	 * in status. Wiped by conf_tunnel_free.
	 */
	char	 access_id[CONF_ACCESS_MAX + 1];
	char	 access_secret[CONF_ACCESS_MAX + 1];
};

/*
 * The path to use: explicit when not NULL, else
 * $XDG_CONFIG_HOME/filestor-agent/config.json, else
 * $HOME/.config/filestor-agent/config.json. Writes into buf.
 * 0, or -1 with err.
 */
int	 conf_path(const char *explicit, char *buf, size_t len, char *err,
	    size_t errlen);
/*
 * Read and validate path (mode and owner checked first). 0, or -1 with
 * a message in err. A missing key is fine (has_key 0); missing identity
 * or roots are not.
 */
int	 conf_load(const char *path, struct conf *c, char *err, size_t errlen);
/*
 * What conf_load does once the file is read: text[0..len) (with a NUL
 * at text[len]) into c, name in front of every message. No I/O. 0, or
 * -1 with err and c freed.
 */
int	 conf_parse(const char *text, size_t len, const char *name,
	    struct conf *c, char *err, size_t errlen);
/*
 * Validate t (the config's "tunnel" object, or NULL) into tc; only `run`
 * asks, so that a supervisor setting never stops enroll, status or
 * configure-tunnel. Reads the environment (the ${...} forms) and looks
 * cloudflared up on PATH. 0, or -1 with a message that names the key in
 * err (never a secret). tc->enabled is 0 when there is no backend to
 * supervise.
 */
int	 conf_tunnel_parse(const cJSON *t, struct conf_tunnel *tc, char *err,
	    size_t errlen);
/* Wipe and free what tc holds. */
void	 conf_tunnel_free(struct conf_tunnel *tc);
/*
 * 1 when s may be an agent secret: CONF_SECRET_MIN to CONF_SECRET_MAX
 * characters of RFC 6750's b64token (A-Z a-z 0-9 - . _ ~ + /, then
 * '=' padding only), the form that goes into "Authorization: Bearer
 * <id>.<secret>". Never a CR, LF, NUL or space. Pure.
 */
int	 conf_secret_ok(const char *s);
/*
 * Check the server's answer to an enrollment, text[0..len) (no NUL
 * needed): a JSON object with "agentId" a UUID and "agentSecret" passing
 * conf_secret_ok, and no "\u0000" anywhere. 0 with id and *secret
 * (malloc'd; the caller wipes and frees it), or -1 with a message in err
 * that never quotes the secret. Pure.
 */
int	 conf_enroll_answer(const char *text, size_t len, char id[37],
	    char **secret, char *err, size_t errlen);
/* Write c->doc to path with mode 0600, atomically. 0, or -1 with err. */
int	 conf_save(const char *path, const cJSON *doc, char *err,
	    size_t errlen);
void	 conf_free(struct conf *c);

#endif
