/*
 * wsconn: the agent's one outbound WebSocket to its server's relay
 * (issue 15, docs/relay.md). A thread of its own runs a libwebsockets
 * client: it connects to <server>/api/agents/connect with the agent's
 * credential, reconnects with jittered backoff (1 s doubling to 60 s),
 * pings every 20 s and drops a connection that stops answering. On it,
 * the relay asks for reads and listings; they are answered through
 * serve.c's checks (serve_open: the allowed roots, openat2 with
 * RESOLVE_BENEATH, the symlink policy), never around them.
 */
#ifndef AGENT_WSCONN_H
#define AGENT_WSCONN_H

#include <stddef.h>

#include "conf.h"
#include "serve.h"

struct wsconn;

/*
 * Start connecting c's agent to c's server, serving through srv (both
 * must outlive it). NULL with err when it cannot start; NULL with err ""
 * when the config names no server or secret (not enrolled).
 */
struct wsconn	*wsconn_start(const struct conf *c, struct server *srv,
		    char *err, size_t errlen);
/* Stop and free; NULL is fine. */
void		 wsconn_stop(struct wsconn *w);
/*
 * The wait in ms before the next try after tries failed ones in a row:
 * 1 s doubling to 60 s, up to a quarter less as r (0..65535, random)
 * says, times scale (FILESTOR_AGENT_TIME_SCALE, tests); at least 1.
 */
long long	 wsconn_backoff_ms(int tries, unsigned r, double scale);
/* "connected", "connecting" or "waiting" (backoff); any thread. */
const char	*wsconn_state(void *w);

#endif
