/*
 * supervise: run cloudflared as a child of `filestor-agent run`, watch
 * its health and restart it with backoff (docs/agents.md, "Tunnel";
 * shared/reference/cloudflared.md is the behaviour we rely on).
 *
 * Configured by the "tunnel" object of config.json when it has
 * "backend": "cloudflare". Everything is validated by conf_tunnel_parse
 * (conf.h) before anything starts. The main thread calls sup_tick often
 * (it never blocks for long except for a bounded HTTP probe); one
 * thread per child drains its stdout and stderr (lines.h), each line
 * read by cflog.h's parser. Health checks are health.h's, heartbeats
 * backend.h's, the state file status.h's.
 *
 * Test-only: FILESTOR_AGENT_TIME_SCALE (0 < s <= 1) multiplies the
 * health interval, the backoff, the warm-up and the reset delay, so that
 * a 5, 10, 20 s backoff runs in 0.5, 1, 2 s at 0.1.
 */
#ifndef AGENT_SUPERVISE_H
#define AGENT_SUPERVISE_H

#include <limits.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "conf.h"

#define SUP_BACKOFF_FIRST	5	/* seconds */
#define SUP_BACKOFF_MAX		300
#define SUP_KILL_MARGIN		5	/* seconds after the grace period */

struct sup;

/*
 * Start supervising (the first cloudflared starts at once). c gives the
 * server, agent id and secret for heartbeats; state is the file where
 * status is published for `filestor-agent status` (status.h). Takes
 * sc->token. NULL with err on failure.
 */
struct sup	*sup_start(struct conf_tunnel *sc, const struct conf *c,
		    const char *state, char *err, size_t errlen);
/* Do what is due: reap, restart, probe, report. */
void		 sup_tick(struct sup *s);
/*
 * One SIGTERM to cloudflared's process group, wait the grace period plus
 * a margin, then SIGKILL the group and what it left behind; free. Never
 * waits longer than that plus 2 s. NULL is fine.
 */
void		 sup_stop(struct sup *s);
/* 1 when debug lines go to the log (FILESTOR_AGENT_LOG=debug). */
int		 sup_debug(void);

#endif
