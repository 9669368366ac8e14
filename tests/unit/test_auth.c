/*
 * Unit tests for common/auth.c: the CSRF check (DESIGN §4), a table of
 * Origin headers against one Host. The rest of auth.c needs a database
 * and is covered by tests/t01-auth.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "http.h"

#define HOST	"files.example.com:8080"

struct csrf_case {
	const char	*method;
	const char	*host;		/* NULL: no Host header */
	const char	*origin;	/* NULL: no Origin header */
	int		 xrw;		/* send X-Requested-With */
	int		 ok;		/* expected auth_csrf_ok */
};

static const struct csrf_case csrf_cases[] = {
	/* The same origin, with either scheme (the server cannot tell). */
	{ "POST", HOST, "http://" HOST, 0, 1 },
	{ "POST", HOST, "https://" HOST, 0, 1 },
	/* Host names and schemes are case-insensitive (RFC 3986 §6.2.2.1). */
	{ "POST", HOST, "HTTP://Files.EXAMPLE.com:8080", 0, 1 },
	{ "DELETE", HOST, "http://" HOST, 0, 1 },
	/* Another port is another origin: no port, or one digit more. */
	{ "POST", HOST, "http://files.example.com:8081", 0, 0 },
	{ "POST", HOST, "http://files.example.com:1", 0, 0 },
	{ "POST", HOST, "http://files.example.com", 0, 0 },
	{ "POST", HOST, "http://" HOST "0", 0, 0 },
	/* Host as a prefix of the origin's host: a name the attacker owns. */
	{ "POST", HOST, "http://files.example.com.evil.example:8080", 0, 0 },
	{ "POST", HOST, "http://" HOST ".evil.example", 0, 0 },
	{ "POST", "files.example.com", "http://files.example.com.evil.example",
	    0, 0 },
	{ "POST", "files.example.com", "http://files.example.com:1", 0, 0 },
	/* The origin's host as a prefix of Host. */
	{ "POST", HOST, "http://files.example.co:8080", 0, 0 },
	{ "POST", HOST, "http://files.example.com:808", 0, 0 },
	{ "POST", HOST, "http://files", 0, 0 },
	{ "POST", HOST, "http://", 0, 0 },
	/* No Host: nothing to compare with. */
	{ "POST", NULL, "http://" HOST, 0, 0 },
	/* An origin is never more than scheme, host and port. */
	{ "POST", HOST, "http://" HOST "/", 0, 0 },
	{ "POST", HOST, "http://user@" HOST, 0, 0 },
	{ "POST", HOST, "ftp://" HOST, 0, 0 },
	{ "POST", HOST, HOST, 0, 0 },
	/* Sandboxed frames and some redirects send "null". */
	{ "POST", HOST, "null", 0, 0 },
	{ "POST", HOST, "", 0, 0 },
	{ "POST", HOST, "http://evil.example", 0, 0 },
	/* No Origin at all, as old browsers send for a same-site form. */
	{ "POST", HOST, NULL, 0, 0 },
	/* X-Requested-With stands in for the Origin, whatever it says. */
	{ "POST", HOST, NULL, 1, 1 },
	{ "POST", HOST, "http://evil.example", 1, 1 },
	/* Safe methods change nothing: no check. */
	{ "GET", HOST, "http://evil.example", 0, 1 },
	{ "HEAD", HOST, NULL, 0, 1 },
	{ "OPTIONS", HOST, "null", 0, 1 },
};

static void
test_csrf(void **state)
{
	char method[32], host[128], origin[128], *envp[6];
	const struct csrf_case *c;
	struct request r;
	const char *msg;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(csrf_cases) / sizeof(csrf_cases[0]); i++) {
		c = &csrf_cases[i];
		n = 0;
		snprintf(method, sizeof(method), "REQUEST_METHOD=%s", c->method);
		envp[n++] = method;
		envp[n++] = "REQUEST_URI=/api/auth/logout";
		if (c->host != NULL) {
			snprintf(host, sizeof(host), "HTTP_HOST=%s", c->host);
			envp[n++] = host;
		}
		if (c->origin != NULL) {
			snprintf(origin, sizeof(origin), "HTTP_ORIGIN=%s",
			    c->origin);
			envp[n++] = origin;
		}
		if (c->xrw)
			envp[n++] = "HTTP_X_REQUESTED_WITH=XMLHttpRequest";
		envp[n] = NULL;
		assert_int_equal(http_request_init(&r, NULL, envp, &msg), FS_OK);
		if (auth_csrf_ok(&r) != c->ok)
			fail_msg("case %zu: %s, Host %s, Origin %s%s: want %s",
			    i, c->method, c->host ? c->host : "(none)",
			    c->origin ? c->origin : "(none)",
			    c->xrw ? ", X-Requested-With" : "",
			    c->ok ? "accepted" : "refused");
		http_request_free(&r);
	}
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_csrf))
