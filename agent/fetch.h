/*
 * fetch: the agent's one HTTP client call (libcurl). It carries the
 * calls to the agent's server (backend.c: enroll, heartbeat), the
 * supervisor's probes (cloudflared's metrics, the public URL) and
 * `filestor-agent status`'s look at the listener. http and https only;
 * no signals (the agent has threads).
 */
#ifndef AGENT_FETCH_H
#define AGENT_FETCH_H

#include <stddef.h>

#include <curl/curl.h>

struct fetch {
	const char		*url;
	const char		*post;	/* a body to POST, or NULL: GET */
	struct curl_slist	*hdrs;	/* or NULL */
	long			 timeout_ms;
	long			 connect_ms;	/* 0: libcurl's default */
	size_t			 max;	/* bytes of the answer kept */
	/*
	 * 1: an answer longer than max is cut there (a probe looks at the
	 * head only); 0: it fails the call (the whole answer counts).
	 */
	int			 cut;
};

/* An answer: buf holds len bytes and a NUL; malloc'd, see fetch_free. */
struct fetch_body {
	char	*buf;
	size_t	 len;
};

/*
 * Do f. The HTTP status, or -1 with libcurl's reason in err. b is
 * filled either way (what came before a failure) and must be released
 * with fetch_free.
 */
long		 fetch_do(const struct fetch *f, struct fetch_body *b,
		    char *err, size_t errlen);
/* Wipe (an answer may hold a secret) and free b's buffer. NULL is fine. */
void		 fetch_free(struct fetch_body *b);

#endif
