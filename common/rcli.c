/*
 * rcli: a program's request to a WS relay (see rcli.h).
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "app.h"
#include "db.h"
#include "dynbuf.h"
#include "rcli.h"
#include "rproto.h"

/*
 * Room for the challenge and the header line's start; a longer header
 * (a listing: up to RP_TEXT_MAX) is read through it. The body is read
 * straight into the caller's buffer once this one is empty, so a
 * request allocates little and copies nothing twice.
 */
#define RBUF	(16 * 1024)

struct rcli {
	int	 fd;
	size_t	 off, len;	/* unread bytes in buf */
	char	 buf[RBUF];
};

static int
set_timeouts(int fd, long long stall_secs)
{
	struct timeval tv = { (time_t)(stall_secs + RCLI_SLACK_SECS), 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		return -1;
	return 0;
}

static int
dial_unix(const char *path, long long stall_secs)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (set_timeouts(fd, stall_secs) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* addr is host:port (a bracketed IPv6 literal too). */
static int
dial_tcp(const char *addr, long long stall_secs)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *colon = strrchr(addr, ':');
	size_t hl;
	int fd = -1;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - addr);
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		if (set_timeouts(fd, stall_secs) == 0 &&
		    connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Fill the buffer: > 0 bytes added, 0 at the end, -1 on error. */
static ssize_t
fill(struct rcli *c)
{
	ssize_t n;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	do
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

/* One line (without its '\n') into d, at most d's cap. 0 or -1. */
static int
read_line(struct rcli *c, struct dynbuf *d)
{
	char *nl;
	size_t n;

	for (;;) {
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		n = nl != NULL ? (size_t)(nl - (c->buf + c->off)) :
		    c->len - c->off;
		if (dynbuf_add(d, c->buf + c->off, n) != FS_OK)
			return -1;
		c->off += n;
		if (nl != NULL) {
			c->off++;
			return 0;
		}
		if (fill(c) <= 0)
			return -1;
	}
}

/* All of iov[0..n) (changed on the way). 0 or -1. */
static int
writev_all(int fd, struct iovec *iov, int n)
{
	struct msghdr mh;
	size_t done;
	ssize_t w;
	int i = 0;

	while (i < n) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov + i;
		mh.msg_iovlen = (size_t)(n - i);
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		for (done = (size_t)w; i < n && done >= iov[i].iov_len; i++)
			done -= iov[i].iov_len;
		if (i < n) {
			iov[i].iov_base = (char *)iov[i].iov_base + done;
			iov[i].iov_len -= done;
		}
	}
	return 0;
}

/* The challenge, then the request and its MAC. 0 or -1. */
static int
ask(struct rcli *c, const unsigned char key[32], const cJSON *req)
{
	char mac[RP_MAC_HEX + 2], *s = NULL;
	struct dynbuf d;
	struct iovec iov[3];
	const char *nonce;
	size_t n;
	int rc = -1;

	dynbuf_init(&d, 5 + RP_NONCE_HEX);
	if (read_line(c, &d) == -1 || dynbuf_len(&d) != 5 + RP_NONCE_HEX ||
	    strncmp(dynbuf_ptr(&d), "FSR1 ", 5) != 0)
		goto out;
	nonce = dynbuf_ptr(&d) + 5;
	s = cJSON_PrintUnformatted(req);
	if (s == NULL || strlen(s) > RP_REQ_MAX)
		goto out;
	n = strlen(s);
	rp_mac(key, nonce, s, n, mac);
	mac[RP_MAC_HEX] = '\n';
	/* One write: each would wake the relay. */
	iov[0].iov_base = s;
	iov[0].iov_len = n;
	iov[1].iov_base = (void *)(uintptr_t)"\n";
	iov[1].iov_len = 1;
	iov[2].iov_base = mac;
	iov[2].iov_len = RP_MAC_HEX + 1;
	if (writev_all(c->fd, iov, 3) == 0)
		rc = 0;
out:
	free(s);
	dynbuf_free(&d);
	return rc;
}

int
rcli_open(const char *sock, const char *addr, long long stall_secs,
    const unsigned char key[32], const cJSON *req, struct rcli **cp,
    cJSON **head, char *err, size_t errlen)
{
	struct rcli *c;
	struct dynbuf d;
	int local = addr == NULL || addr[0] == '\0';

	*cp = NULL;
	*head = NULL;
	dynbuf_init(&d, RP_TEXT_MAX);
	c = malloc(sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->off = c->len = 0;
	c->fd = local ? dial_unix(sock, stall_secs) :
	    dial_tcp(addr, stall_secs);
	if (c->fd == -1) {
		snprintf(err, errlen, "cannot reach the relay at %s: %s",
		    local ? sock : addr, strerror(errno));
		goto fail;
	}
	if (ask(c, key, req) == -1 || read_line(c, &d) == -1) {
		snprintf(err, errlen, "the relay at %s broke off",
		    local ? sock : addr);
		goto fail;
	}
	*head = cJSON_ParseWithLength(dynbuf_ptr(&d), dynbuf_len(&d));
	if (!cJSON_IsObject(*head)) {
		snprintf(err, errlen, "the relay sent a malformed header");
		goto fail;
	}
	dynbuf_free(&d);
	*cp = c;
	return 0;
fail:
	cJSON_Delete(*head);
	*head = NULL;
	dynbuf_free(&d);
	rcli_close(c);
	return -1;
}

ssize_t
rcli_read(struct rcli *c, void *buf, size_t n)
{
	ssize_t got;

	if (c->off == c->len) {
		/* Nothing buffered: straight into the caller's buffer. */
		do
			got = read(c->fd, buf, n);
		while (got == -1 && errno == EINTR);
		return got;
	}
	if (n > c->len - c->off)
		n = c->len - c->off;
	memcpy(buf, c->buf + c->off, n);
	c->off += n;
	return (ssize_t)n;
}

void
rcli_close(struct rcli *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

/* 503 with Retry-After: the agent cannot be reached now. */
static void
offline(struct request *r, const char *msg)
{
	http_add_headerf(r, "Retry-After", "%d", RP_RETRY_AFTER);
	http_error(r, FS_UNAVAILABLE, "%s", msg);
}

/* Answer r with the agent's error header h (status st). */
static void
agent_error(struct request *r, const cJSON *h, long long st)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(h, "error");
	const char *msg = rp_str(e, "message");
	long long size;

	if (st == 416 && rp_num(h, "size", 0, 1LL << 53, &size) == 0)
		http_add_headerf(r, "Content-Range", "bytes */%lld", size);
	if (st == 503)
		http_add_headerf(r, "Retry-After", "%d", RP_RETRY_AFTER);
	http_error(r, rp_err_of(st), "%s", msg != NULL ? msg :
	    err_strerror(rp_err_of(st)));
}

int
rcli_ask(struct app *a, struct request *r, const struct agent_row *row,
    cJSON *req, struct rcli **c, cJSON **head)
{
	const char *addr = row->relay;
	long long st;
	char err[256];
	int rc = -1;

	*c = NULL;
	*head = NULL;
	if (addr == NULL) {
		offline(r, "the agent is offline (not connected to its relay)");
		goto out;
	}
	/* This host's own relay: its unix socket. */
	if (a->cfg.relay.peer_addr != NULL &&
	    strcmp(addr, a->cfg.relay.peer_addr) == 0)
		addr = "";
	if (cJSON_AddStringToObject(req, "agent", row->id) == NULL ||
	    cJSON_AddStringToObject(req, "tenant", row->tenant_id) == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	/* The agent may take its time: hold no snapshot meanwhile. */
	db_read_end(a->db);
	if (rcli_open(a->cfg.relay.socket, addr, a->cfg.relay.stall_secs,
	    a->relay_key, req, c, head, err, sizeof(err)) == -1) {
		app_log(a, "agent %s: %s", row->id, err);
		offline(r, "the agent's relay cannot be reached");
		goto out;
	}
	if (rp_num(*head, "status", 200, 599, &st) == -1) {
		app_log(a, "agent %s: a header without a status", row->id);
		http_error(r, FS_INTERNAL, NULL);
	} else if (st >= 400) {
		agent_error(r, *head, st);
	} else if (st != 200 && st != 206 && st != 304) {
		http_error(r, FS_INTERNAL, NULL);
	} else {
		rc = 0;
	}
out:
	if (rc == -1) {
		rcli_close(*c);
		cJSON_Delete(*head);
		*c = NULL;
		*head = NULL;
	}
	cJSON_Delete(req);
	return rc;
}
