/*
 * rcli: a program's request to a WS relay (docs/relay.md, rproto.h):
 * this host's relay on its unix socket, or another host's over TCP. The
 * relay challenges every connection; the request goes with its MAC under
 * the key derived from AUTH_SECRET (rp_peer_key), never the secret.
 */
#ifndef FS_RCLI_H
#define FS_RCLI_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "rproto.h"

struct app;
struct request;
struct agent_row;

/* Per read or write, beyond the relay's own stall limit (whose 503 or
   cut then comes first). */
#define RCLI_SLACK_SECS	10

struct rcli;

/*
 * Connect to the relay at addr ("host:port"), or at the unix socket sock
 * when addr is NULL or "", send req (op, agent, tenant...) and read the
 * relay's header line into *head (caller deletes). 0 with *c open for the
 * body (rcli_close it), or -1 with err when the relay cannot be reached
 * or breaks the protocol. key: rp_peer_key's. A read or write that waits
 * stall_secs + RCLI_SLACK_SECS fails (RELAY_STALL_SECONDS).
 */
int		 rcli_open(const char *sock, const char *addr,
		    long long stall_secs, const unsigned char key[32],
		    const cJSON *req,
		    struct rcli **c, cJSON **head, char *err, size_t errlen);
/* Up to n body bytes: > 0, 0 at the relay's end, -1 on an error. */
ssize_t		 rcli_read(struct rcli *c, void *buf, size_t n);
/* Close; NULL is fine. */
void		 rcli_close(struct rcli *c);
/*
 * For a handler: req (taken: op and its fields) for agent row, with
 * "agent" and "tenant" added, to the relay that holds the agent. 0 with
 * *c and *head, a 2xx or 304 header (caller closes and deletes); or -1
 * after answering r: 503 with Retry-After when the agent is offline or
 * its relay cannot be reached, else the agent's own error (416 with
 * Content-Range).
 */
int		 rcli_ask(struct app *a, struct request *r,
		    const struct agent_row *row, cJSON *req, struct rcli **c,
		    cJSON **head);

#endif
