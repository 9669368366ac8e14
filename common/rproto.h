/*
 * rproto: the WS relay's two wire formats (docs/relay.md), shared by the
 * relay daemon (relayd/), the agent (agent/wsconn.c) and the programs
 * that ask the relay for an agent's files (rcli.c).
 *
 * On the agent's WebSocket (subprotocol RP_SUBPROTOCOL): text frames are
 * JSON objects with "op" and a stream "id"; binary frames are a 4-byte
 * big-endian stream id followed by at most RP_CHUNK_MAX bytes of data.
 *
 * On the relay's request socket (rcli.c): the relay sends
 * "FSR1 <nonce>\n", the client a JSON request line and the line of its
 * MAC, rp_mac(key, nonce, request); the relay answers one JSON line (the
 * agent's header) and then, for a read, exactly "length" body bytes
 * before it closes. Fewer bytes mean a cut transfer.
 */
#ifndef FS_RPROTO_H
#define FS_RPROTO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"

#define RP_VERSION	1
#define RP_SUBPROTOCOL	"filestor-relay.v1"
#define RP_PATH		"/api/agents/connect"
#define RP_CHUNK_MAX	(64 * 1024)	/* data bytes per binary frame */
#define RP_TEXT_MAX	(1024 * 1024)	/* bytes of a JSON frame or line */
#define RP_WINDOW	(1024 * 1024)	/* credit per stream, bytes */
#define RP_REQ_MAX	(16 * 1024)	/* bytes of a request line */
#define RP_NONCE_HEX	32		/* hex chars of the challenge */
#define RP_MAC_HEX	64
#define RP_LIST_DEFAULT	100
#define RP_LIST_MAX	1000
#define RP_STALL_SECS	30	/* RELAY_STALL_SECONDS' default: a stream
				   the agent leaves idle this long while it
				   holds credit is cut */
#define RP_RETRY_AFTER	5	/* seconds, in the 503 for an offline agent */

/* K = HMAC-SHA256(AUTH_SECRET, "filestor relay-peer v1"). */
void		 rp_peer_key(const unsigned char *secret, size_t len,
		    unsigned char key[32]);
/* hex HMAC-SHA256(key, nonce "\n" req[0..len)) into out (65 bytes). */
void		 rp_mac(const unsigned char key[32], const char *nonce,
		    const char *req, size_t len, char out[RP_MAC_HEX + 1]);
/* 1 when mac (hex) is rp_mac of the same, compared in constant time. */
int		 rp_mac_ok(const unsigned char key[32], const char *nonce,
		    const char *req, size_t len, const char *mac);

void		 rp_put32(unsigned char *p, uint32_t v);
uint32_t	 rp_get32(const unsigned char *p);

/* A message's stream id: 1 .. INT32_MAX, or 0 when absent or bad. */
uint32_t	 rp_stream_id(const cJSON *msg);
/* The string member name of msg, or NULL (absent, not a string). */
const char	*rp_str(const cJSON *msg, const char *name);
/*
 * Member name of msg as a whole number from lo to hi into *v: 0, or -1
 * when it is absent, not a number, fractional or out of range.
 */
int		 rp_num(const cJSON *msg, const char *name, long long lo,
		    long long hi, long long *v);
/*
 * An error header {"status":S,"error":{"code","message"}} for e (err.h);
 * caller deletes. NULL when out of memory.
 */
cJSON		*rp_error(enum fs_err e, const char *message);
/* The error of an HTTP status (the inverse of err_status); FS_INTERNAL
 * for one that is not in err.h. */
enum fs_err	 rp_err_of(long long status);

/*
 * A queue of text messages waiting for the socket, each with pre bytes
 * of room before the text (LWS_PRE for libwebsockets' framing).
 */
struct rp_msg {
	struct rp_msg	*next;
	size_t		 len;		/* of the text, at buf + pre */
	unsigned char	 buf[];
};
struct rp_queue {
	struct rp_msg	*head, **tail;
};

void		 rp_queue_init(struct rp_queue *q);
/* Append the JSON text of j: 0, or -1 when out of memory. */
int		 rp_queue_json(struct rp_queue *q, const cJSON *j, size_t pre);
/* Free the head message (after it was sent). */
void		 rp_queue_pop(struct rp_queue *q);
void		 rp_queue_clear(struct rp_queue *q);

#endif
