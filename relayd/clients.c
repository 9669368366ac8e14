/*
 * The requesters' side of the relay (relayd.h, docs/relay.md): this
 * host's programs on RELAY_SOCKET, the other hosts' on RELAY_PEER_ADDR,
 * both as raw sockets. Each connection carries one request: the relay
 * sends a challenge, the requester its request and the request's MAC
 * under the key derived from AUTH_SECRET (rp_mac), the relay the agent's
 * header line and then the body; closing early cuts the body.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "relayd.h"

#define WRITE_MAX	(256 * 1024)	/* bytes per write */

static int
adopt(struct client *cl, struct lws *wsi)
{
	unsigned char rnd[RP_NONCE_HEX / 2];
	char hello[8 + RP_NONCE_HEX];
	ssize_t n;

	memset(cl, 0, sizeof(*cl));
	cl->wsi = wsi;
	dynbuf_init(&cl->rx, RP_REQ_MAX + RP_MAC_HEX + 2);
	if (cry_random(rnd, sizeof(rnd)) == -1)
		return -1;
	cry_hex(rnd, sizeof(rnd), cl->nonce);
	snprintf(hello, sizeof(hello), "FSR1 %s\n", cl->nonce);
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, RELAY_HELLO_SECS);
	/*
	 * Straight onto the new socket, whose buffer is empty: asking lws
	 * for a writable turn from here costs a wakeup of the loop and two
	 * more turns of it for every request.
	 */
	n = send(lws_get_socket_fd(wsi), hello, strlen(hello),
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == (ssize_t)strlen(hello))
		return 0;
	if (n > 0)
		return -1;	/* a part of it: cannot happen; hang up */
	if (qbuf_add(&cl->out, hello, strlen(hello)) == -1)
		return -1;
	cl->line_left = strlen(hello);
	lws_callback_on_writable(wsi);
	return 0;
}

int
clients_line(struct client *cl, const cJSON *j)
{
	char *s;
	size_t n;
	int rc;

	s = cJSON_PrintUnformatted(j);
	if (s == NULL)
		return -1;
	n = strlen(s);
	s[n] = '\n';	/* over the NUL: the length says where it ends */
	rc = qbuf_add(&cl->out, s, n + 1);
	free(s);
	if (rc == 0) {
		cl->line_left += n + 1;
		lws_callback_on_writable(cl->wsi);
	}
	return rc;
}

/*
 * Straight onto the socket when nothing waits before it: queueing costs
 * a copy of every byte and a turn of the loop (a poll) before the write.
 * What the socket does not take now is queued, in order.
 */
int
clients_data(struct client *cl, const void *p, size_t n)
{
	ssize_t w = 0;

	if (qbuf_pending(&cl->out) == 0 && !lws_partial_buffered(cl->wsi)) {
		w = send(lws_get_socket_fd(cl->wsi), p, n,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -1;
		if (w < 0)
			w = 0;
		if (w > 0 && cl->st != NULL)
			agents_sent(cl->st, (size_t)w);
		if ((size_t)w == n)
			return 0;
	}
	if (qbuf_add(&cl->out, (const char *)p + w, n - (size_t)w) == -1)
		return -1;
	lws_callback_on_writable(cl->wsi);
	return 0;
}

void
clients_end(struct client *cl, int cut)
{
	if (cut)
		cl->kill = 1;
	else
		cl->finish = 1;
	cl->st = NULL;
	lws_callback_on_writable(cl->wsi);
}

/* Answer cl with an error line, then close. */
static void
refuse(struct client *cl, enum fs_err e, const char *msg)
{
	cJSON *j = rp_error(e, msg);

	if (j != NULL)
		clients_line(cl, j);
	cJSON_Delete(j);
	clients_end(cl, j == NULL);
}

/* The request (a whole line and its MAC line): check it, pass it on. */
static void
take(struct client *cl, const char *req, size_t len, const char *mac)
{
	struct aconn *ac;
	const char *op, *agent, *tenant;
	cJSON *j = NULL;

	cl->asked = 1;
	lws_set_timeout(cl->wsi, NO_PENDING_TIMEOUT, 0);
	if (!rp_mac_ok(relay.peer_key, cl->nonce, req, len, mac)) {
		refuse(cl, FS_UNAUTHORIZED, "bad request MAC");
		return;
	}
	j = cJSON_ParseWithLength(req, len);
	op = rp_str(j, "op");
	agent = rp_str(j, "agent");
	tenant = rp_str(j, "tenant");
	if (op == NULL || (strcmp(op, "read") != 0 && strcmp(op, "list") !=
	    0) || agent == NULL || !cry_is_uuid(agent) || tenant == NULL ||
	    !cry_is_uuid(tenant)) {
		refuse(cl, FS_BAD_REQUEST, "malformed relay request");
		goto out;
	}
	ac = agents_find(agent);
	if (ac == NULL) {
		refuse(cl, FS_UNAVAILABLE, "the agent is offline");
		goto out;
	}
	/* An agent only ever serves its own tenant's requests. */
	if (strcmp(ac->tenant, tenant) != 0) {
		refuse(cl, FS_NOT_FOUND, "no such agent");
		goto out;
	}
	if (agents_open(ac, cl, j) == -1)
		refuse(cl, FS_INTERNAL, NULL);
out:
	cJSON_Delete(j);
}

static int
receive(struct client *cl, const void *in, size_t len)
{
	const char *p, *nl1, *nl2;
	char mac[RP_MAC_HEX + 1];
	size_t n;

	if (cl->asked)
		return 0;	/* one request per connection */
	if (dynbuf_add(&cl->rx, in, len) != FS_OK)
		return -1;
	p = dynbuf_ptr(&cl->rx);
	n = dynbuf_len(&cl->rx);
	nl1 = memchr(p, '\n', n);
	nl2 = nl1 != NULL ? memchr(nl1 + 1, '\n', n - (size_t)(nl1 + 1 - p)) :
	    NULL;
	if (nl2 == NULL)
		return 0;
	if ((size_t)(nl2 - nl1 - 1) != RP_MAC_HEX)
		return -1;
	memcpy(mac, nl1 + 1, RP_MAC_HEX);
	mac[RP_MAC_HEX] = '\0';
	take(cl, p, (size_t)(nl1 - p), mac);
	dynbuf_free(&cl->rx);
	return 0;
}

static int
writeable(struct client *cl)
{
	size_t n = qbuf_pending(&cl->out), line;

	if (cl->kill)
		return -1;
	if (n == 0)
		return cl->finish ? -1 : 0;
	if (n > WRITE_MAX)
		n = WRITE_MAX;
	if (lws_write(cl->wsi, (unsigned char *)cl->out.p + cl->out.off, n,
	    LWS_WRITE_RAW) < 0)
		return -1;
	cl->out.off += n;
	line = n < cl->line_left ? n : cl->line_left;
	cl->line_left -= line;
	if (cl->st != NULL && n > line)
		agents_sent(cl->st, n - line);
	/* All written (none left in lws's own buffer): close now rather
	   than on another turn. */
	if (cl->finish && qbuf_pending(&cl->out) == 0 &&
	    !lws_partial_buffered(cl->wsi))
		return -1;
	if (qbuf_pending(&cl->out) > 0 || cl->finish || cl->kill)
		lws_callback_on_writable(cl->wsi);
	return 0;
}

static int
cb_client(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct client *cl = user;

	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT:
		return adopt(cl, wsi);
	case LWS_CALLBACK_RAW_RX:
		return receive(cl, in, len);
	case LWS_CALLBACK_RAW_WRITEABLE:
		return writeable(cl);
	case LWS_CALLBACK_RAW_CLOSE:
		if (cl->st != NULL)
			agents_cancel(cl->st);
		dynbuf_free(&cl->rx);
		qbuf_free(&cl->out);
		return 0;
	default:
		return 0;
	}
}

const struct lws_protocols relay_client_protocol = {
	"filestor-relay-requests", cb_client, sizeof(struct client), 0, 0,
	NULL, 0
};
