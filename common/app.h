/*
 * app: the shape every FastCGI program shares. Setup once (configuration,
 * database), then an accept loop, then a dispatch table:
 *
 *	static const struct app_route routes[] = {
 *		{ "GET", "/api/auth/me", APP_EXACT, h_me },
 *	};
 *	int main(int argc, char *argv[])
 *	{ return app_main("auth", argc, argv, routes, nitems(routes), 0); }
 *
 * A request whose path matches a route but not its method gets 405 with
 * an Allow header listing the methods that do match. A bad request fails
 * that request only; the worker keeps serving.
 */
#ifndef FS_APP_H
#define FS_APP_H

#include <stddef.h>
#include <sqlite3.h>

#include "agent.h"
#include "auth.h"
#include "cfg.h"
#include "http.h"
#include "store.h"

#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

struct app {
	const char	*name;		/* program name, for logs */
	struct cfg	 cfg;
	sqlite3		*db;
	struct store	*store;		/* with APP_STORE, else NULL */
	/* Keys derived from AUTH_SECRET once, in app_main, and wiped when
	   it returns: never in a handler's static. */
	unsigned char	 tok_key[32];	/* storage URL key (DESIGN §6) */
	unsigned char	 agent_kek[AGENT_KEY_LEN]; /* seals tunnel keys */
};

enum app_match {
	APP_EXACT,	/* path equals pattern */
	APP_PREFIX,	/* path starts with pattern (which ends in '/'); the
			   handler validates the rest, even when empty */
};

typedef void	(*app_handler)(struct app *, struct request *);

struct app_route {
	const char	*method;	/* "GET"; GET routes also answer HEAD */
	const char	*pattern;
	enum app_match	 match;
	app_handler	 fn;	/* NULL: served by another program; the
				   route only counts for 405's Allow */
};

/* flags for app_main */
#define APP_READONLY	0x1	/* open the database read-only */
#define APP_STORE	0x2	/* open the storage adapter */

/* Run the program; returns the exit status. */
int	 app_main(const char *name, int argc, char *argv[],
	    const struct app_route *routes, size_t nroutes, int flags);

/* Dispatch one request (used by app_main, and by tests). */
void	 app_dispatch(struct app *a, struct request *r,
	    const struct app_route *routes, size_t nroutes);

/*
 * Resolve the caller and require one. Returns 1 with p filled, or 0 after
 * answering the request (401/403/500): the handler just returns.
 */
int	 app_require_auth(struct app *a, struct request *r,
	    struct principal *p);

/* Log a line to stderr (the web server's error log) with the program name. */
void	 app_log(const struct app *a, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
