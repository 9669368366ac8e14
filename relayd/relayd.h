/*
 * filestor-relay: the WS relay daemon (issue 15, docs/relay.md). One per
 * host, one thread, one libwebsockets event loop with these listeners:
 *
 *   RELAY_AGENT_SOCKET  agents' WebSockets, passed on by the web server
 *                       (GET /api/agents/connect); agents.c
 *   RELAY_SOCKET        requests of this host's programs; clients.c
 *   RELAY_PEER_ADDR     (TCP, optional) the same requests from the other
 *                       hosts' programs; clients.c
 *
 * A request names an agent; the relay opens a stream on that agent's
 * connection, forwards the agent's header and data to the requester and
 * gives the agent credit as the requester takes the bytes, so no stream
 * ever holds more than RP_WINDOW here. Memory per stream is bounded;
 * every failure cuts one stream, or one agent's connection for frames
 * that break the protocol.
 */
#ifndef RELAYD_H
#define RELAYD_H

#include <stdint.h>
#include <time.h>

#include <libwebsockets.h>
#include <cjson/cJSON.h>
#include "db.h"

#include "cfg.h"
#include "dynbuf.h"
#include "rproto.h"

#define RELAY_STREAMS_MAX	512	/* streams at once per agent */
#define RELAY_HELLO_SECS	10	/* a requester must ask within this */
#define RELAY_READ_BUF		(128 * 1024)	/* bytes per socket read */

/* An output queue: bytes from off to len wait to be written. */
struct qbuf {
	char	*p;
	size_t	 off, len, alloc;
};

struct aconn;
struct client;

/* One request: a stream on an agent's connection. */
struct stream {
	uint32_t	 id;
	struct aconn	*ac;		/* NULL once the agent is gone */
	struct client	*cl;		/* NULL once the requester is gone */
	int		 is_read;
	int		 head_only;	/* HEAD: no data follows the header */
	int		 have_head;
	long long	 expect;	/* body bytes the header announced */
	long long	 got;		/* bytes the agent sent */
	long long	 granted;	/* credit given in all */
	long long	 sent;		/* bytes written to the requester */
	time_t		 progress;	/* last time the agent moved it */
	struct stream	*next;		/* in ac->streams */
};

/* An agent's connection: the protocol's per-session data. */
struct aconn {
	struct lws	*wsi;
	char		 id[37];
	char		 tenant[37];
	char		 conn[33];	/* agent_relays.conn */
	int		 live;		/* established and registered */
	int		 closing;	/* a protocol error: hang up */
	struct dynbuf	 rx;		/* one text message, reassembled */
	int		 rx_binary;
	unsigned char	 rx_id[4];	/* a data message's stream id... */
	size_t		 rx_idlen;	/* ...and how much of it came */
	long long	 rx_data;	/* its data bytes passed on so far */
	struct rp_queue	 txq;		/* text frames for the agent */
	struct stream	*streams;
	uint32_t	 last_id;	/* the highest stream id given */
	unsigned	 nstreams;
	struct aconn	*next;		/* in relay.agents */
};

/* A requester (this host's program or another host's): per-session. */
struct client {
	struct lws	*wsi;
	char		 nonce[RP_NONCE_HEX + 1];
	struct dynbuf	 rx;		/* the request and its MAC line */
	struct qbuf	 out;
	size_t		 line_left;	/* bytes of lines at the head of out */
	struct stream	*st;
	int		 asked;		/* the request was taken */
	int		 finish;	/* close once out is written */
	int		 kill;		/* close now (a cut transfer) */
	time_t		 since;
};

struct relay {
	struct lws_context	*ctx;
	struct db			*db;
	struct cfg		 cfg;
	const char		*self;	/* RELAY_PEER_ADDR or "" */
	unsigned char		 peer_key[32];
	struct aconn		*agents;
	lws_sorted_usec_list_t	 tick;
	volatile int		 stop;
};

extern struct relay relay;

void	 rlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* qbuf: append (bounded by the caller), what waits, consume, free. */
int	 qbuf_add(struct qbuf *q, const void *p, size_t n);
size_t	 qbuf_pending(const struct qbuf *q);
void	 qbuf_free(struct qbuf *q);

/* agents.c */
extern const struct lws_protocols relay_agent_protocol;
struct aconn	*agents_find(const char *id);
/* Open a stream on ac for cl with request req (op, path...): 0, or -1
 * with the error header already given to cl. */
int		 agents_open(struct aconn *ac, struct client *cl, cJSON *req);
/* The requester took n more bytes of st: maybe give the agent credit. */
void		 agents_sent(struct stream *st, size_t n);
/* The requester is gone: cancel st at the agent and free it. */
void		 agents_cancel(struct stream *st);
void		 agents_tick(time_t now);

/* clients.c */
extern const struct lws_protocols relay_client_protocol;
/* Give cl a JSON line (the header); consumes nothing. 0 or -1. */
int		 clients_line(struct client *cl, const cJSON *j);
/* Data for cl's stream. 0 or -1. */
int		 clients_data(struct client *cl, const void *p, size_t n);
/* Close cl after what it has; cut: at once, so the body is short. */
void		 clients_end(struct client *cl, int cut);

#endif
