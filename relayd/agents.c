/*
 * The agents' side of the relay: their WebSockets at /api/agents/connect
 * (relayd.h, docs/relay.md). A credential is checked before the upgrade
 * (401 otherwise), as the heartbeat checks it. A connection that breaks
 * the protocol (a frame too large, bad JSON, an unknown op, a stream id
 * never given) is closed with all its streams; a stream the agent answers
 * wrongly (more bytes than announced or than its credit) is cut alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cry.h"
#include "db.h"
#include "metrics.h"
#include "relayd.h"

/* Write a JSON error as the HTTP answer to wsi; 1 (lws: answered). */
static int
http_refuse(struct lws *wsi, unsigned status, enum fs_err e, const char *msg)
{
	unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof(buf) - 1;
	unsigned char body[LWS_PRE + 512];
	cJSON *j = rp_error(e, msg);
	int n;

	cJSON_DeleteItemFromObjectCaseSensitive(j, "status");
	if (j == NULL || !cJSON_PrintPreallocated(j, (char *)body + LWS_PRE,
	    (int)sizeof(body) - LWS_PRE, 0))
		goto fail;
	n = (int)strlen((char *)body + LWS_PRE);
	if (lws_add_http_common_headers(wsi, status, "application/json",
	    (lws_filepos_t)n, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	    (const unsigned char *)"no-store", 8, &p, end) ||
	    (status == 401 && lws_add_http_header_by_token(wsi,
	    WSI_TOKEN_HTTP_WWW_AUTHENTICATE, (const unsigned char *)"Bearer",
	    6, &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end) ||
	    lws_write(wsi, body + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_FINAL) != n)
		goto fail;
	cJSON_Delete(j);
	return 1;
fail:
	cJSON_Delete(j);
	return -1;
}

/* The agent's credential on wsi: FS_OK with id, or the error and *msg. */
static enum fs_err
authenticate(struct lws *wsi, char id[37], const char **msg)
{
	char auth[512];
	enum fs_err e;

	*msg = NULL;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) >=
	    (int)sizeof(auth) || lws_hdr_copy(wsi, auth, sizeof(auth),
	    WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
		auth[0] = '\0';
	/* PostgreSQL: reconnect after a drop before the first query. */
	(void)db_ping(relay.db);
	e = agent_authenticate(relay.db, auth[0] != '\0' ? auth : NULL, id,
	    msg);
	cry_wipe(auth, sizeof(auth));
	if (e == FS_INTERNAL)
		rlog("agent credentials: %s", db_errmsg(relay.db));
	return e;
}

/* Before the upgrade: the path and the credential, else a JSON error. */
static int
confirm_upgrade(struct lws *wsi)
{
	char uri[64], id[37];
	const char *msg;
	enum fs_err e;

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 ||
	    strcmp(uri, RP_PATH) != 0)
		return http_refuse(wsi, 404, FS_NOT_FOUND, "no such route");
	e = authenticate(wsi, id, &msg);
	if (e != FS_OK)
		return http_refuse(wsi, (unsigned)err_status(e), e, msg);
	return 0;
}

static int
queue_json(struct aconn *ac, const cJSON *j)
{
	if (rp_queue_json(&ac->txq, j, LWS_PRE) == -1)
		return -1;
	lws_callback_on_writable(ac->wsi);
	return 0;
}

/* {"op":op,"id":id[,"bytes":bytes]} to the agent. */
static void
send_op(struct aconn *ac, const char *op, uint32_t id, long long bytes)
{
	cJSON *j = cJSON_CreateObject();

	if (j != NULL && cJSON_AddStringToObject(j, "op", op) != NULL &&
	    cJSON_AddNumberToObject(j, "id", id) != NULL &&
	    (bytes < 0 || cJSON_AddNumberToObject(j, "bytes",
	    (double)bytes) != NULL))
		queue_json(ac, j);
	cJSON_Delete(j);
}

static void
fail(struct aconn *ac, const char *why)
{
	if (!ac->closing)
		rlog("agent %s: closing its connection: %s", ac->id, why);
	ac->closing = 1;
	lws_callback_on_writable(ac->wsi);
}

static void
stream_free(struct stream *st)
{
	struct stream **pp;

	if (st->ac != NULL) {
		for (pp = &st->ac->streams; *pp != NULL; pp = &(*pp)->next)
			if (*pp == st) {
				*pp = st->next;
				break;
			}
		st->ac->nstreams--;
	}
	if (st->cl != NULL)
		st->cl->st = NULL;
	free(st);
}

/* End st: its requester gets the rest (cut: a short body), the agent a
 * cancel unless it is done with it. */
static void
stream_end(struct stream *st, int cut, int cancel)
{
	if (cancel && st->ac != NULL)
		send_op(st->ac, "cancel", st->id, -1);
	if (st->cl != NULL)
		clients_end(st->cl, cut);
	stream_free(st);
}

struct aconn *
agents_find(const char *id)
{
	struct aconn *ac;

	for (ac = relay.agents; ac != NULL; ac = ac->next)
		if (ac->live && !ac->closing && strcmp(ac->id, id) == 0)
			return ac;
	return NULL;
}

int
agents_open(struct aconn *ac, struct client *cl, cJSON *req)
{
	struct stream *st;
	cJSON *err;
	int rc = -1;

	if (ac->nstreams >= RELAY_STREAMS_MAX) {
		err = rp_error(FS_UNAVAILABLE, "too many downloads from this "
		    "agent at once");
		goto refuse;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -1;
	st->id = ++ac->last_id;
	st->ac = ac;
	st->cl = cl;
	st->is_read = strcmp(rp_str(req, "op"), "read") == 0;
	st->head_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req,
	    "head"));
	st->granted = st->is_read ? RP_WINDOW : 0;
	st->progress = time(NULL);
	cJSON_DeleteItemFromObjectCaseSensitive(req, "agent");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "tenant");
	if (cJSON_AddNumberToObject(req, "id", st->id) == NULL ||
	    (st->is_read && cJSON_AddNumberToObject(req, "window",
	    RP_WINDOW) == NULL) || queue_json(ac, req) == -1) {
		free(st);
		return -1;
	}
	st->next = ac->streams;
	ac->streams = st;
	ac->nstreams++;
	cl->st = st;
	return 0;
refuse:
	if (err != NULL && clients_line(cl, err) == 0)
		rc = 0;
	cJSON_Delete(err);
	clients_end(cl, 0);
	return rc;
}

void
agents_sent(struct stream *st, size_t n)
{
	long long more;

	st->sent += (long long)n;
	if (st->ac == NULL || !st->have_head || st->granted >= st->expect ||
	    st->granted - st->sent > RP_WINDOW / 2)
		return;
	more = st->sent + RP_WINDOW - st->granted;
	st->granted += more;
	st->progress = time(NULL);
	send_op(st->ac, "credit", st->id, more);
}

void
agents_cancel(struct stream *st)
{
	st->cl = NULL;
	stream_end(st, 1, 1);
}

void
agents_tick(time_t now)
{
	struct aconn *ac;
	struct stream *st, *next;
	cJSON *err;

	for (ac = relay.agents; ac != NULL; ac = ac->next)
		for (st = ac->streams; st != NULL; st = next) {
			next = st->next;
			if (now - st->progress <= relay.cfg.relay.stall_secs)
				continue;
			/* Only the agent's silence counts, not a slow
			   requester's (the agent then has no credit). */
			if (st->have_head && st->got >= st->expect &&
			    st->ac == NULL)
				continue;
			if (st->have_head && st->got < st->expect &&
			    st->got >= st->granted)
				continue;
			if (!st->have_head && st->cl != NULL) {
				err = rp_error(FS_UNAVAILABLE, "the agent did "
				    "not answer in time");
				if (err != NULL)
					clients_line(st->cl, err);
				cJSON_Delete(err);
			}
			rlog("agent %s: stream %u stalled", ac->id, st->id);
			stream_end(st, st->have_head, 1);
		}
}

/*
 * The stream id of msg on ac: the stream, or NULL: *bad is set when the
 * id was never given (a protocol error), not when the stream is merely
 * over (ended or cancelled here; its frames may still be on the way).
 */
static struct stream *
stream_of(struct aconn *ac, uint32_t id, int *bad)
{
	struct stream *st;

	*bad = id == 0 || id > ac->last_id;
	for (st = ac->streams; st != NULL; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

/* The agent's header for st (a read): check it and pass it on. */
static void
on_head(struct aconn *ac, struct stream *st, cJSON *m)
{
	long long status, len = 0;

	if (st->have_head || rp_num(m, "status", 200, 599, &status) == -1) {
		stream_end(st, 1, 1);
		return;
	}
	st->have_head = 1;
	if (!st->head_only && (status == 200 || status == 206) &&
	    rp_num(m, "length", 0, 1LL << 53, &len) == -1) {
		stream_end(st, 1, 1);
		return;
	}
	st->expect = st->head_only ? 0 : len;
	cJSON_DeleteItemFromObjectCaseSensitive(m, "op");
	cJSON_DeleteItemFromObjectCaseSensitive(m, "id");
	if (clients_line(st->cl, m) == -1)
		stream_end(st, 1, 1);
}

static void
on_text(struct aconn *ac, const char *s, size_t n)
{
	struct stream *st;
	const char *op;
	cJSON *m;
	int bad;

	m = cJSON_ParseWithLength(s, n);
	op = rp_str(m, "op");
	if (op == NULL) {
		fail(ac, "a text frame that is not a JSON object with \"op\"");
		goto out;
	}
	if (strcmp(op, "hello") == 0)
		goto out;
	st = stream_of(ac, rp_stream_id(m), &bad);
	if (bad) {
		fail(ac, "a frame for a stream id never given");
		goto out;
	}
	if (st == NULL)
		goto out;	/* over here; the agent had not heard yet */
	st->progress = time(NULL);
	if (strcmp(op, "head") == 0 && st->is_read) {
		on_head(ac, st, m);
	} else if (strcmp(op, "list") == 0 && !st->is_read) {
		cJSON_DeleteItemFromObjectCaseSensitive(m, "op");
		cJSON_DeleteItemFromObjectCaseSensitive(m, "id");
		if (clients_line(st->cl, m) == -1)
			stream_end(st, 1, 1);
		else
			stream_end(st, 0, 0);
	} else if (strcmp(op, "end") == 0 && st->is_read) {
		stream_end(st, !st->have_head || st->got != st->expect, 0);
	} else if (strcmp(op, "abort") == 0) {
		stream_end(st, 1, 0);
	} else {
		fail(ac, "an unknown op");
	}
out:
	cJSON_Delete(m);
}

/*
 * A piece of a data message, passed on as it comes rather than gathered
 * first (one copy of every byte less; lws has unmasked it in place). The
 * stream id is its first four bytes; then what this piece and the rest
 * of its frame would bring (lws_remaining_packet_payload) is checked, so
 * that a frame over the size limit, the announced length or the credit is
 * refused before any of it goes on. The agent sends a message as one
 * frame; one in several frames is checked frame by frame as it comes.
 */
static void
on_data(struct aconn *ac, struct lws *wsi, const unsigned char *p, size_t n)
{
	struct stream *st;
	long long more;
	size_t k;
	int bad;

	k = sizeof(ac->rx_id) - ac->rx_idlen;
	if (k > n)
		k = n;
	memcpy(ac->rx_id + ac->rx_idlen, p, k);
	ac->rx_idlen += k;
	p += k;
	n -= k;
	if (ac->rx_idlen < sizeof(ac->rx_id))
		return;	/* on_receive fails a message that ends here */
	st = stream_of(ac, rp_get32(ac->rx_id), &bad);
	if (bad) {
		fail(ac, "data for a stream id never given");
		return;
	}
	more = (long long)n + (long long)lws_remaining_packet_payload(wsi);
	if (ac->rx_data + more > RP_CHUNK_MAX) {
		fail(ac, "a frame too large");
		return;
	}
	if (st == NULL)
		return;	/* over here; the agent had not heard yet */
	if (!st->have_head || st->got + more > st->expect ||
	    st->got + more > st->granted) {
		rlog("agent %s: stream %u: more data than %s", ac->id, st->id,
		    st->got + more > st->expect ? "announced" : "credited");
		stream_end(st, 1, 1);
		return;
	}
	ac->rx_data += (long long)n;
	st->got += (long long)n;
	st->progress = time(NULL);
	if (n > 0 && clients_data(st->cl, p, n) == -1)
		stream_end(st, 1, 1);
}

/* A fragment of a message from the agent: text is reassembled and
   dispatched whole, data passed on piece by piece. */
static void
on_receive(struct aconn *ac, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		ac->rx_binary = lws_frame_is_binary(wsi);
		dynbuf_reset(&ac->rx);
		ac->rx.cap = RP_TEXT_MAX;
		ac->rx_idlen = 0;
		ac->rx_data = 0;
	}
	if (ac->rx_binary)
		on_data(ac, wsi, in, len);
	else if (len > 0 && dynbuf_add(&ac->rx, in, len) != FS_OK)
		fail(ac, "a frame too large");
	if (ac->closing || !lws_is_final_fragment(wsi))
		return;
	if (!ac->rx_binary)
		on_text(ac, dynbuf_ptr(&ac->rx), dynbuf_len(&ac->rx));
	else if (ac->rx_idlen < sizeof(ac->rx_id))
		fail(ac, "a data frame without a stream id");
	dynbuf_reset(&ac->rx);
}

/* After the upgrade: who it is; a newer connection replaces an older. */
static int
established(struct aconn *ac, struct lws *wsi)
{
	unsigned char rnd[16];
	struct aconn *o;
	const char *msg;

	memset(ac, 0, sizeof(*ac));
	ac->wsi = wsi;
	rp_queue_init(&ac->txq);
	dynbuf_init(&ac->rx, RP_TEXT_MAX);
	if (authenticate(wsi, ac->id, &msg) != FS_OK ||
	    agent_tenant(relay.db, ac->id, ac->tenant) != 1 ||
	    cry_random(rnd, sizeof(rnd)) == -1)
		return -1;
	cry_hex(rnd, sizeof(rnd), ac->conn);
	for (o = relay.agents; o != NULL; o = o->next)
		if (strcmp(o->id, ac->id) == 0 && o->live)
			fail(o, "replaced by a newer connection");
	if (agent_relay_attach(relay.db, ac->id, relay.self, ac->conn,
	    db_now()) == -1) {
		rlog("agent %s: %s", ac->id, db_errmsg(relay.db));
		return -1;
	}
	ac->live = 1;
	ac->next = relay.agents;
	relay.agents = ac;
	metrics_inc(METRIC_RELAY_CONNECTS);
	rlog("agent %s connected", ac->id);
	return 0;
}

static void
closed(struct aconn *ac)
{
	struct aconn **pp;

	if (!ac->live)
		return;
	for (pp = &relay.agents; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ac) {
			*pp = ac->next;
			break;
		}
	while (ac->streams != NULL)
		stream_end(ac->streams, 1, 0);
	rp_queue_clear(&ac->txq);
	dynbuf_free(&ac->rx);
	(void)db_ping(relay.db);
	if (agent_relay_detach(relay.db, ac->id, ac->conn) == -1)
		rlog("agent %s: %s", ac->id, db_errmsg(relay.db));
	metrics_inc(METRIC_RELAY_DISCONNECTS);
	rlog("agent %s disconnected", ac->id);
	ac->live = 0;
}

/*
 * The queued messages go out together, framed here (RFC 6455 §5.2: FIN,
 * text, unmasked from a server) and written with LWS_WRITE_RAW, which
 * libwebsockets passes through as it is: one write, and one wakeup of
 * the web server and of the agent, for the requests of a whole turn
 * rather than one for each. A message larger than the batch goes alone
 * through lws_write.
 */
#define TX_BATCH	(64 * 1024)

/* The header of an unmasked text frame of n bytes at h: its size. */
static size_t
text_head(unsigned char *h, size_t n)
{
	size_t k = 2, i;

	h[0] = 0x80 | 0x1;
	if (n < 126) {
		h[1] = (unsigned char)n;
	} else if (n < 65536) {
		h[1] = 126;
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	} else {
		h[1] = 127;
		for (i = 0; i < 8; i++)
			h[k++] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	}
	return k;
}

static int
writeable(struct aconn *ac, struct lws *wsi)
{
	static const char why[] = "protocol error";
	static unsigned char batch[TX_BATCH];
	struct rp_msg *m = ac->txq.head;
	size_t off = 0;

	if (ac->closing) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
		    (unsigned char *)(uintptr_t)why, sizeof(why) - 1);
		return -1;
	}
	if (m == NULL)
		return 0;
	if (10 + m->len > sizeof(batch)) {
		if (lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) <
		    (int)m->len)
			return -1;
		rp_queue_pop(&ac->txq);
	} else {
		while ((m = ac->txq.head) != NULL &&
		    off + 10 + m->len <= sizeof(batch)) {
			off += text_head(batch + off, m->len);
			memcpy(batch + off, m->buf + LWS_PRE, m->len);
			off += m->len;
			rp_queue_pop(&ac->txq);
		}
		if (lws_write(wsi, batch, off, LWS_WRITE_RAW) < (int)off)
			return -1;
	}
	if (ac->txq.head != NULL)
		lws_callback_on_writable(wsi);
	return 0;
}

static int
cb_agent(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct aconn *ac = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(wsi);
	case LWS_CALLBACK_HTTP:
		/* Not an upgrade: nothing else is served here. */
		if (http_refuse(wsi, 400, FS_BAD_REQUEST, "this route is a "
		    "WebSocket upgrade (docs/relay.md)") != 1)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_ESTABLISHED:
		return established(ac, wsi);
	case LWS_CALLBACK_RECEIVE:
		if (ac->live && !ac->closing)
			on_receive(ac, wsi, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ac->live ? writeable(ac, wsi) : -1;
	case LWS_CALLBACK_CLOSED:
		closed(ac);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

const struct lws_protocols relay_agent_protocol = {
	RP_SUBPROTOCOL, cb_agent, sizeof(struct aconn), RELAY_READ_BUF,
	0, NULL, 0
};
