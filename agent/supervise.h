/*
 * supervise: run cloudflared as a child of `filestor-agent run`, watch
 * its health and restart it with backoff (docs/agents.md, "Tunnel";
 * shared/reference/cloudflared.md is the behaviour we rely on).
 *
 * Configured by the "tunnel" object of config.json when it has
 * "backend": "cloudflare". Everything is validated by sup_conf_parse
 * before anything starts. The main thread calls sup_tick often (it never
 * blocks for long except for a bounded HTTP probe); one reader thread per
 * child drains its stdout and stderr.
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

#define SUP_GRACE_MAX		180	/* cloudflared refuses more than 3m */
#define SUP_BACKOFF_FIRST	5	/* seconds */
#define SUP_BACKOFF_MAX		300
#define SUP_KILL_MARGIN		5	/* seconds after the grace period */
#define SUP_ACCESS_MAX		256	/* access_client_id/_secret bytes */

struct sup_conf {
	int	 enabled;		/* tunnel.backend is set */
	char	 local_addr[128];	/* host:port of our listener */
	int	 interval;		/* health_check_interval_secs */
	int	 max_failures;
	int	 quick;			/* mode: quick (1) or named (0) */
	char	*token;			/* malloc'd, named mode; wiped */
	char	 hostname[AGENT_ORIGIN_MAX]; /* named mode: public name */
	char	 path[PATH_MAX];	/* cloudflared, resolved on PATH */
	char	 protocol[8];		/* auto quic http2 */
	char	 edge_ip[8];		/* auto 4 6 */
	int	 retries;
	int	 grace;			/* grace_period_secs, <= 180 */
	int	 metrics_port;		/* 0: none */
	char	 log_level[8];		/* debug info warn error */
	char	 health_url[512];	/* test hook: health_url_override */
	/*
	 * Cloudflare Access service token for the public probe, or both
	 * empty: sent as CF-Access-Client-Id/-Secret, never logged, never
	 * in status. Wiped by sup_conf_free.
	 */
	char	 access_id[SUP_ACCESS_MAX + 1];
	char	 access_secret[SUP_ACCESS_MAX + 1];
};

struct sup;

/*
 * Validate tunnel (the config's "tunnel" object, or NULL) into sc. 0, or
 * -1 with a message that names the key in err. sc->enabled is 0 when
 * there is no backend to supervise.
 */
int		 sup_conf_parse(const cJSON *tunnel, struct sup_conf *sc,
		    char *err, size_t errlen);
void		 sup_conf_free(struct sup_conf *sc);
/*
 * Start supervising (the first cloudflared starts at once). c gives the
 * server, agent id and secret for heartbeats; state is the file where
 * status is published for `filestor-agent status`. Takes sc->token.
 * NULL with err on failure.
 */
struct sup	*sup_start(struct sup_conf *sc, const struct conf *c,
		    const char *state, char *err, size_t errlen);
/* Do what is due: reap, restart, probe, report. */
void		 sup_tick(struct sup *s);
/*
 * One SIGTERM to cloudflared's process group, wait the grace period plus
 * a margin, then SIGKILL the group and what it left behind; free. Never
 * waits longer than that plus 2 s. NULL is fine.
 */
void		 sup_stop(struct sup *s);
/* The state file for config path cfg (next to it). */
int		 sup_state_path(const char *cfg, char *buf, size_t len);
/* Print the state file for `filestor-agent status`; 0 or -1 if none. */
int		 sup_print_status(const char *state);
/* 1 when debug lines go to the log (FILESTOR_AGENT_LOG=debug). */
int		 sup_debug(void);

/*
 * What one line of cloudflared's output tells the supervisor. The
 * parser is pure and total: any text in, a filled struct out.
 */
struct sup_line {
	int	 incorrect_usage;	/* "Incorrect Usage": a refused argv */
	int	 rate_limited;		/* the quick API's 429 / error 1015 */
	int	 unauthorized;		/* a registration refused */
	int	 registered;		/* +1, -1 (unregistered) or 0 */
	int	 reason;		/* worth keeping as the last reason */
	char	 metrics_addr[128];	/* "" or the metrics host:port */
	char	 quick_host[256];	/* "" or the quick tunnel's host */
};

/* Parse line (NUL-terminated, escaped: see logsafe.h) into *pl. */
void		 sup_line_parse(const char *line, struct sup_line *pl);
/*
 * The first "https://<label>.trycloudflare.com" in line, label a valid
 * DNS label (1 to 63 of a-z, 0-9 and '-', no '-' at either end), not
 * "api", the name ending there. 1 with the host (no scheme) in out, or
 * 0.
 */
int		 sup_quick_host(const char *line, char *out, size_t outlen);

#endif
