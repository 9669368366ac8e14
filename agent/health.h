/*
 * health: one health check of a running cloudflared (docs/agents.md,
 * "Tunnel"): its metrics server's /ready (or, without one, the
 * registrations its log showed), /quicktunnel when a quick tunnel's URL
 * is not known yet, then the public URL through Cloudflare once the
 * warm-up is over. Only HTTP, through fetch.c: no state, no log, no
 * locks; supervise.c decides what the answer means.
 */
#ifndef AGENT_HEALTH_H
#define AGENT_HEALTH_H

#include "conf.h"

struct health {
	/* In. */
	const struct conf_tunnel *sc;
	char		 maddr[128];	/* metrics host:port, "" if none */
	int		 registered;	/* the log's count, without maddr */
	int		 public;	/* past the warm-up: probe the URL */
	long		 timeout_ms;	/* per request */
	/* In and out: the quick host, "" until known. */
	char		 host[256];
	/* Out. */
	int		 ready_conns;
	int		 ready;		/* the connection step passed */
	int		 found_host;	/* host came from /quicktunnel */
	char		 reason[512];	/* why (not) healthy */
};

/* Check; 1 healthy, 0 not. h->reason says why either way. */
int		 health_check(struct health *h);

#endif
