/*
 * lim: how many connections and downloads the agent's server takes,
 * in total and per client, so that slow clients cannot make it
 * unreachable (serve.c; docs/agents.md, "Limits").
 *
 *   - The descriptor budget: every download holds two descriptors (the
 *     socket and the file), every other connection one. lim_budget()
 *     splits RLIMIT_NOFILE into downloads and connections so that the
 *     process never runs out, and LIM_HEALTH_RESERVE connections stay
 *     free for /healthz whatever the downloads do.
 *   - Per client: a client is the peer address, except for a peer that
 *     is the tunnel (127.0.0.1 or ::1, where cloudflared connects from):
 *     there it is the CF-Connecting-IP header, when it holds an address.
 *     A table counts what each client holds.
 *
 * All of it is pure but the table's lock.
 */
#ifndef AGENT_LIM_H
#define AGENT_LIM_H

#include <sys/socket.h>

#include <stddef.h>

#define LIM_FD_RESERVE		64	/* descriptors for everything else */
#define LIM_HEALTH_RESERVE	64	/* connections beyond the downloads */
#define LIM_DOWNLOADS_MAX	8192	/* downloads at once, at most */
#define LIM_PER_CLIENT		32	/* downloads at once per client */
#define LIM_PER_ADDR		64	/* connections per peer (not the tunnel) */
#define LIM_KEY_MAX		48	/* an address as text, NUL included */

/*
 * Split nofile descriptors: *downloads running at once and *connections
 * (downloads + LIM_HEALTH_RESERVE). Never less than one download.
 */
void		 lim_budget(unsigned long long nofile, unsigned *downloads,
		    unsigned *connections);

/* 1 when sa is 127.0.0.1, ::1 or ::ffff:127.0.0.1: the tunnel's side. */
int		 lim_is_proxy(const struct sockaddr *sa);
/*
 * The client key of a request from peer sa: the canonical text of
 * cf_ip (CF-Connecting-IP, may be NULL) when sa is the proxy and cf_ip
 * is an IPv4 or IPv6 address, else the text of sa's address. 0, or -1
 * when sa is not an IP address.
 */
int		 lim_client_key(const struct sockaddr *sa, const char *cf_ip,
		    char key[LIM_KEY_MAX]);

/* A count per key, safe between threads. */
struct lim_table;

struct lim_table *lim_table_new(void);
/* Stop and free; NULL is fine. Nothing may hold a count any more. */
void		 lim_table_free(struct lim_table *t);
/*
 * Take one for key unless it holds limit already: 1 taken, 0 over the
 * limit, -1 out of memory (nothing taken).
 */
int		 lim_take(struct lim_table *t, const char *key, unsigned limit);
/* Give back one taken for key. */
void		 lim_give(struct lim_table *t, const char *key);
/* What key holds now. */
unsigned	 lim_held(struct lim_table *t, const char *key);

#endif
