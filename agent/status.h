/*
 * status: the tunnel supervisor's state file, tunnel-state.json next to
 * config.json. `filestor-agent run` writes it (supervise.c) whenever the
 * state changes; `filestor-agent status` prints it. Both sides of the
 * format are here.
 *
 *   {"mode":"quick","url":"https://x.trycloudflare.com","agentPid":1,
 *    "pid":2,"state":"running","readyConnections":4,
 *    "lastHealth":{"ok":true,"reason":"4 ready connections","at":T},
 *    "restarts":0,"nextBackoffSecs":5,"restartInMs":900}
 */
#ifndef AGENT_STATUS_H
#define AGENT_STATUS_H

#include <stddef.h>
#include <sys/types.h>

/* What is published; the strings are read during status_write only. */
struct status {
	int		 quick;		/* mode */
	const char	*host;		/* the public name, "" if none yet */
	pid_t		 pid;		/* cloudflared's, 0: none */
	const char	*state;		/* running, stopping, waiting */
	int		 ready_conns;
	int		 have_health;	/* then ok, reason and at */
	int		 ok;
	const char	*reason;
	long long	 at;		/* wall clock, seconds */
	int		 restarts;
	int		 next_backoff;	/* seconds */
	long long	 restart_in_ms;	/* -1: no restart pending */
};

/* The state file for config path cfg (next to it). 0, or -1: too long. */
int		 status_path(const char *cfg, char *buf, size_t len);
/* Replace path with st (a temporary file, then a rename); quiet. */
void		 status_write(const char *path, const struct status *st);
/* Print path for `filestor-agent status`; 0, or -1 when there is none. */
int		 status_print(const char *path);

#endif
