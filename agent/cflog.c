/*
 * cflog: a pure parser for one line of cloudflared's output (see
 * cflog.h).
 */
#include <stdio.h>
#include <string.h>

#include "cflog.h"

/* 1 for a DNS label: 1..63 of [a-z0-9-], no hyphen at either end. */
static int
label_ok(const char *h, size_t n)
{
	size_t i;

	if (n < 1 || n > 63 || h[0] == '-' || h[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '-'))
			return 0;
	return 1;
}

int
cflog_quick_host(const char *line, char *out, size_t outlen)
{
	static const char suffix[] = ".trycloudflare.com";
	const char *p = line, *h, *e, *after;

	while ((p = strstr(p, "https://")) != NULL) {
		h = p + 8;
		for (e = h; (*e >= 'a' && *e <= 'z') || (*e >= '0' &&
		    *e <= '9') || *e == '-'; e++)
			;
		after = e + sizeof(suffix) - 1;
		/*
		 * One valid label, then the suffix, then the end of the name:
		 * the backend takes nothing else (422), so neither do we.
		 */
		if (strncmp(e, suffix, sizeof(suffix) - 1) == 0 &&
		    label_ok(h, (size_t)(e - h)) &&
		    strncmp(h, "api.", 4) != 0 &&
		    !((*after >= 'a' && *after <= 'z') || (*after >= 'A' &&
		    *after <= 'Z') || (*after >= '0' && *after <= '9') ||
		    *after == '-' || *after == '.' || *after == '_') &&
		    (size_t)(e - h) + sizeof(suffix) <= outlen) {
			snprintf(out, outlen, "%.*s%s", (int)(e - h), h,
			    suffix);
			return 1;
		}
		p = h;
	}
	return 0;
}

/* host:port as cloudflared prints it: "127.0.0.1:20241", "[::1]:20241". */
static int
metrics_addr_ok(const char *a, size_t n)
{
	size_t i;

	if (n == 0 || n >= 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' &&
		    a[i] <= 'Z') || (a[i] >= '0' && a[i] <= '9') ||
		    a[i] == '.' || a[i] == ':' || a[i] == '[' || a[i] == ']' ||
		    a[i] == '-'))
			return 0;
	return 1;
}

void
cflog_parse(const char *line, struct cflog_event *ev)
{
	static const char ms[] = "Starting metrics server on ";
	const char *p;
	size_t n;

	memset(ev, 0, sizeof(*ev));
	ev->incorrect_usage = strstr(line, "Incorrect Usage") != NULL;
	ev->rate_limited = strstr(line, "429 Too Many Requests") != NULL ||
	    strstr(line, "error code: 1015") != NULL;
	ev->unauthorized = strstr(line, "Unauthorized") != NULL &&
	    strstr(line, "Register tunnel error") != NULL;
	/* Since 2023.4.1; older builds: "Connection <uuid> registered". */
	p = strstr(line, "Connection ");
	if (strstr(line, "Registered tunnel connection") != NULL ||
	    (p != NULL && strstr(p, " registered") != NULL))
		ev->registered = 1;
	else if (strstr(line, "Unregistered tunnel connection") != NULL ||
	    strstr(line, "Connection terminated") != NULL)
		ev->registered = -1;
	p = strstr(line, ms);
	if (p != NULL) {
		p += sizeof(ms) - 1;
		n = strcspn(p, " /");
		if (metrics_addr_ok(p, n))
			snprintf(ev->metrics_addr, sizeof(ev->metrics_addr),
			    "%.*s", (int)n, p);
	}
	/* Only the box row: the disclaimer and errors hold other URLs. */
	if (strchr(line, '|') != NULL)
		cflog_quick_host(line, ev->quick_host, sizeof(ev->quick_host));
	ev->reason = ev->incorrect_usage || strstr(line, " ERR ") != NULL ||
	    strstr(line, "failed") != NULL ||
	    strncmp(line, "Provided Tunnel token", 21) == 0;
}
