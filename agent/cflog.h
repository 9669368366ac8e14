/*
 * cflog: what one line of cloudflared's output tells the supervisor
 * (shared/reference/cloudflared.md is the output we rely on). Pure and
 * total: any text in, a filled event out; no I/O, no state, so the
 * unit tests and a fuzz harness drive it directly.
 */
#ifndef AGENT_CFLOG_H
#define AGENT_CFLOG_H

#include <stddef.h>

struct cflog_event {
	int	 incorrect_usage;	/* "Incorrect Usage": a refused argv */
	int	 rate_limited;		/* the quick API's 429 / error 1015 */
	int	 unauthorized;		/* a registration refused */
	int	 registered;		/* +1, -1 (unregistered) or 0 */
	int	 reason;		/* worth keeping as the last reason */
	char	 metrics_addr[128];	/* "" or the metrics host:port */
	char	 quick_host[256];	/* "" or the quick tunnel's host */
};

/* Parse line (NUL-terminated, escaped: see logsafe.h) into *ev. */
void		 cflog_parse(const char *line, struct cflog_event *ev);
/*
 * The first "https://<label>.trycloudflare.com" in line, label a valid
 * DNS label (1 to 63 of a-z, 0-9 and '-', no '-' at either end), not
 * "api", the name ending there. 1 with the host (no scheme) in out, or
 * 0.
 */
int		 cflog_quick_host(const char *line, char *out, size_t outlen);

#endif
