/*
 * logsafe: lines from untrusted sources on their way into the agent's
 * log and `filestor-agent status` (cloudflared's output, libmicrohttpd's
 * messages, which quote client input).
 *
 * Both parts are pure: no I/O, no clock, no locks (the caller brings the
 * time and, where threads share a limiter, the lock), so a fuzz harness
 * can drive them directly.
 */
#ifndef AGENT_LOGSAFE_H
#define AGENT_LOGSAFE_H

#include <stddef.h>

/*
 * Copy in[0..inlen) to out (outlen bytes, > 0) with every byte that a
 * terminal could act on written as "\xHH": C0 controls but TAB, DEL,
 * the C1 controls (U+0080..U+009F) and every byte that is not part of
 * valid UTF-8. Printable ASCII and valid UTF-8 pass unchanged. out is
 * always NUL-terminated; an escape is never cut in half. Returns the
 * length written. 4 * inlen + 1 bytes are always enough.
 */
size_t		 logsafe_escape(const char *in, size_t inlen, char *out,
		    size_t outlen);

/*
 * A limiter for repeated and runaway lines: at most max lines per
 * window_ms, and a line equal to the one before it is held back (its
 * repeats are counted). Zero-initialize, then set max and window_ms.
 */
struct logsafe_limit {
	unsigned	 max;		/* lines per window */
	long long	 window_ms;
	/* State. */
	long long	 start;		/* of the current window */
	unsigned	 n;		/* lines let through in it */
	unsigned	 dropped;	/* over the rate, not yet reported */
	unsigned	 repeats;	/* equal lines, not yet reported */
	unsigned long long last;	/* hash of the last line seen */
	int		 have_last;
};

/*
 * Whether line, seen at now_ms, may be logged: 1 yes, 0 no (counted).
 * On 1, *dropped and *repeats say how many lines were held back since
 * the last line let through, for the caller to report first; they are
 * then reset.
 */
int		 logsafe_check(struct logsafe_limit *l, const char *line,
		    long long now_ms, unsigned *dropped, unsigned *repeats);

#endif
