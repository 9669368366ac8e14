/*
 * backend: the agent's calls to its Filestor server (DESIGN §9,
 * docs/agents.md): enrollment, and the heartbeat that refreshes
 * lastSeenAt and reports the tunnel's hostname and health. Every call
 * goes through fetch.c. The relay connection belongs here too.
 */
#ifndef AGENT_BACKEND_H
#define AGENT_BACKEND_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "conf.h"

#define BACKEND_VERSION	"filestor-agent 1.0"

/* Who the agent is to its server. */
struct backend {
	char	*server;	/* malloc'd, no trailing '/'; NULL: none */
	char	 agent_id[37];
	char	*secret;	/* malloc'd, wiped by backend_close */
};

/* What a heartbeat says about the tunnel. */
struct backend_health {
	int		 ok;
	const char	*reason;
	int		 ready_conns;
	int		 restarts;
};

/*
 * POST {"token","name","allowedRoots"} to server's /api/agents/enroll.
 * 0 with the new id and *secret (malloc'd: the caller wipes and frees
 * it), or -1 with a message in err (never the secret).
 */
int		 backend_enroll(const char *server, const char *token,
		    const char *name, const cJSON *roots, char id[37],
		    char **secret, char *err, size_t errlen);
/*
 * b from c's server, agentId and agentSecret; b->server stays NULL when
 * c names no server or secret (not enrolled: nobody to tell). 0, or -1
 * when out of memory.
 */
int		 backend_open(struct backend *b, const struct conf *c);
void		 backend_close(struct backend *b);
/*
 * One heartbeat with host as tunnelHostname (NULL or "": none). The
 * HTTP status (2xx: taken), or -1 with the network error in err, or -2
 * when nothing was sent (err says why, "" when out of memory). On any
 * other status err holds the head of the server's answer, escaped
 * (801 bytes are enough).
 */
long		 backend_heartbeat(const struct backend *b, const char *host,
		    const struct backend_health *h, char *err, size_t errlen);

#endif
