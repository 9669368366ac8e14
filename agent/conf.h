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

#include <stddef.h>

#include <cjson/cJSON.h>

#include "agent.h"

#define CONF_MAX		(256 * 1024)	/* bytes of the file */
#define CONF_LISTEN_DEFAULT	"127.0.0.1:8443"
#define CONF_SECRET_MIN		16	/* the backend's: "fsa_" + 43 */
#define CONF_SECRET_MAX		256

struct conf {
	cJSON		*doc;		/* the whole file, owned */
	/* Views into doc, valid while doc lives; NULL when absent. */
	const char	*server;
	const char	*agent_id;
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
