/*
 * filestor-relay: setup, the listeners and the event loop (relayd.h).
 *
 *   filestor-relay        settings from the environment (README,
 *                         "Configuration"): AUTH_SECRET, FILESTOR_DB,
 *                         RELAY_SOCKET, RELAY_AGENT_SOCKET,
 *                         RELAY_PEER_ADDR
 *
 * Runs in the foreground until SIGTERM or SIGINT, logging to stderr.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cry.h"
#include "db.h"
#include "http_parse.h"
#include "metrics.h"
#include "relayd.h"

#define TICK_US		(1000 * 1000)
#define QBUF_SLACK	(64 * 1024)	/* compact when this much is spent */

struct relay relay;

void
rlog(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%lld.%03ld filestor-relay: ", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
qbuf_add(struct qbuf *q, const void *p, size_t n)
{
	size_t want;
	char *np;

	if (q->off > 0 && (q->off >= QBUF_SLACK || q->off == q->len)) {
		memmove(q->p, q->p + q->off, q->len - q->off);
		q->len -= q->off;
		q->off = 0;
	}
	if (q->len + n > q->alloc) {
		/*
		 * To the next QBUF_SLACK, not doubling: what waits is bounded
		 * by the stream's window, and a doubled buffer would be
		 * twice that for every slow requester.
		 */
		want = (q->len + n + QBUF_SLACK - 1) / QBUF_SLACK * QBUF_SLACK;
		np = realloc(q->p, want);
		if (np == NULL)
			return -1;
		q->p = np;
		q->alloc = want;
	}
	memcpy(q->p + q->len, p, n);
	q->len += n;
	return 0;
}

size_t
qbuf_pending(const struct qbuf *q)
{
	return q->len - q->off;
}

void
qbuf_free(struct qbuf *q)
{
	free(q->p);
	memset(q, 0, sizeof(*q));
}

static void
on_tick(lws_sorted_usec_list_t *sul)
{
	agents_tick(time(NULL));
	lws_sul_schedule(relay.ctx, 0, &relay.tick, on_tick, TICK_US);
}

static void
on_signal(int sig)
{
	relay.stop = 1;
	if (relay.ctx != NULL)
		lws_cancel_service(relay.ctx);
}

/* A listener on a unix socket (host NULL) or on host:port. */
static struct lws_vhost *
listener(const char *name, const struct lws_protocols *proto,
    const char *path, const char *host, int port)
{
	static const struct lws_protocols *lists[3][2];
	static int n;
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	lists[n][0] = proto;
	lists[n][1] = NULL;
	info.pprotocols = lists[n++];
	info.vhost_name = name;
	info.port = port;
	info.iface = host != NULL ? host : path;
	if (host == NULL) {
		info.options |= LWS_SERVER_OPTION_UNIX_SOCK;
		/* A socket left by a run that died would refuse the bind. */
		unlink(path);
	}
	if (proto == &relay_client_protocol) {
		info.options |= LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
		info.listen_accept_role = "raw-skt";
		info.listen_accept_protocol = proto->name;
	}
	return lws_create_vhost(relay.ctx, &info);
}

/* RELAY_PEER_ADDR as host and port: 0, or -1. */
static int
peer_addr(const char *addr, char *host, size_t hlen, int *port)
{
	const char *colon = strrchr(addr, ':');
	long long p;

	if (colon == NULL || (size_t)(colon - addr) >= hlen ||
	    http_parse_ll(colon + 1, 1, 65535, &p) == -1)
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port = (int)p;
	return 0;
}

static int
start(char *err, size_t errlen)
{
	struct lws_context_creation_info info;
	char host[256];
	int port = 0;

	if (cfg_load(&relay.cfg, 1, err, errlen) == -1)
		return -1;
	rp_peer_key(relay.cfg.auth_secret, relay.cfg.auth_secret_len,
	    relay.peer_key);
	relay.self = relay.cfg.relay.peer_addr != NULL ?
	    relay.cfg.relay.peer_addr : "";
	if (relay.self[0] != '\0' && peer_addr(relay.self, host, sizeof(host),
	    &port) == -1) {
		snprintf(err, errlen, "RELAY_PEER_ADDR must be host:port");
		return -1;
	}
	relay.db = db_open(relay.cfg.db_path, cfg_db_flags(&relay.cfg), err,
	    errlen);
	if (relay.db == NULL)
		return -1;
	if (!db_is_current(relay.db)) {
		snprintf(err, errlen, "the database is not migrated (run "
		    "filestorctl migrate)");
		return -1;
	}
	/* The counters the programs share (GET /api/metrics), as they do. */
	if (relay.cfg.metrics) {
		char mpath[4096], merr[512];

		cfg_metrics_path(&relay.cfg, mpath, sizeof(mpath));
		if (metrics_open(mpath, "relay", merr, sizeof(merr)) == -1)
			rlog("%s; running without metrics", merr);
	}
	/* Rows our last run left: none of those agents is connected. */
	if (agent_relay_detach(relay.db, NULL, relay.self) == -1) {
		snprintf(err, errlen, "database: %s", db_errmsg(relay.db));
		return -1;
	}
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	/*
	 * What one read of a socket takes (lws: 4 KiB by default). Data
	 * comes from the agents in 64 KiB frames, several to a write: 4 KiB
	 * reads cost a wakeup and three system calls every 4 KiB.
	 */
	info.pt_serv_buf_size = RELAY_READ_BUF;
	info.gid = -1;
	info.uid = -1;
	relay.ctx = lws_create_context(&info);
	if (relay.ctx == NULL ||
	    listener("agents", &relay_agent_protocol,
	    relay.cfg.relay.agent_socket, NULL, 0) == NULL ||
	    listener("local", &relay_client_protocol, relay.cfg.relay.socket,
	    NULL, 0) == NULL ||
	    (relay.self[0] != '\0' && listener("peers", &relay_client_protocol,
	    NULL, host, port) == NULL)) {
		snprintf(err, errlen, "cannot listen on %s, %s%s%s (see the "
		    "messages above)", relay.cfg.relay.agent_socket,
		    relay.cfg.relay.socket, relay.self[0] != '\0' ? " or " : "",
		    relay.self);
		return -1;
	}
	lws_sul_schedule(relay.ctx, 0, &relay.tick, on_tick, TICK_US);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	char err[512];
	int ret = 1;

	if (argc > 1) {
		fprintf(stderr, "usage: filestor-relay (settings come from "
		    "the environment; see docs/relay.md)\n");
		return 2;
	}
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (start(err, sizeof(err)) == -1) {
		rlog("refusing to start: %s", err);
		goto out;
	}
	rlog("relaying agents on %s, requests on %s%s%s",
	    relay.cfg.relay.agent_socket, relay.cfg.relay.socket,
	    relay.self[0] != '\0' ? " and " : "", relay.self);
	while (!relay.stop)
		if (lws_service(relay.ctx, 0) < 0)
			break;
	ret = 0;
out:
	if (relay.ctx != NULL)
		lws_context_destroy(relay.ctx);
	if (relay.db != NULL) {
		agent_relay_detach(relay.db, NULL, relay.self);
		db_close(relay.db);
	}
	cry_wipe(relay.peer_key, sizeof(relay.peer_key));
	cfg_free(&relay.cfg);
	return ret;
}
