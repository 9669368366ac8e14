/*
 * app: the shape every FastCGI program shares. Setup once (configuration,
 * database), then an accept loop, then dispatch on the one route table
 * (routes.h). A program binds handlers to the routes it serves:
 *
 *	APP_MAIN("auth", 0,
 *	    [ROUTE_LOGIN] = h_login,
 *	    [ROUTE_ME] = h_me)
 *
 * which is main() over the table static const app_handler serve[].
 *
 * app_dispatch() answers 404 for a path no route matches, and 405 with an
 * Allow header of every method the table has for the path, whichever
 * program gets the request. It checks the route's auth column, then
 * calls the handler with the caller. A bad request fails that request
 * only; the worker keeps serving.
 */
#ifndef FS_APP_H
#define FS_APP_H

#include <stddef.h>
#include "db.h"

#include "agent.h"
#include "auth.h"
#include "cfg.h"
#include "http.h"
#include "routes.h"
#include "store.h"

#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

/*
 * Who and what the request being served is, for the access log and the
 * metrics (app_main writes them after the response). Reset per request.
 */
struct app_req {
	long long	 t0;		/* metrics_now_us() at accept */
	int		 route;		/* enum route, -1 until dispatched */
	const char	*kind;		/* apikey, session, token, agent; NULL */
	char		 tenant[37];
	char		 user[37];
	char		 key[37];	/* the API key's id */
	char		 agent[37];
};

struct app {
	const char	*name;		/* program name, for logs */
	struct cfg	 cfg;
	struct db		*db;
	struct store	*store;		/* with APP_STORE, else NULL */
	/* Keys derived from AUTH_SECRET once, in app_main, and wiped when
	   it returns: never in a handler's static. */
	unsigned char	 tok_key[32];	/* storage URL key (DESIGN §6) */
	unsigned char	 agent_kek[AGENT_KEY_LEN]; /* seals tunnel keys */
	struct app_req	 req;		/* the request being served */
	unsigned char	 relay_key[32];	/* asks the WS relay (rproto.h) */
};

/* Who may call a route; app_dispatch() checks it before the handler. */
enum app_auth {
	APP_PUBLIC,	/* anyone: the handler checks what it needs (the
			   login's password, the enrollment token, the
			   logout's CSRF) */
	APP_TOKEN,	/* a signed ?token= (DESIGN §6): its MAC and expiry
			   are checked, the handler matches it to the key;
			   without one, as APP_USER */
	APP_USER,	/* an API key or a session (DESIGN §4); 401 with
			   WWW-Authenticate, or the CSRF 403 */
	APP_ADMIN,	/* APP_USER whose role has admin_access, else 403 */
	APP_AGENT,	/* an agent: Bearer <agentId>.<agentSecret> (DESIGN §9) */
	APP_LOCAL,	/* from loopback (REMOTE_ADDR, with no proxy's
			   forwarding header; METRICS_LOOPBACK), else as
			   APP_ADMIN */
};

struct app_route {
	const char	*method;	/* "GET"; GET routes also answer HEAD */
	const char	*pattern;	/* routes.h says how it matches */
	enum app_auth	 auth;
	const char	*prog;		/* the program that serves it */
};

/* The table of routes.h, indexed by enum route. */
extern const struct app_route app_routes[ROUTE__MAX];

/* The resolved caller of one request, as the route's auth column says. */
struct app_caller {
	enum route	 route;		/* the route being served */
	struct principal p;	/* APP_USER, APP_ADMIN, APP_TOKEN without
				   a token; zeroed (AUTH_NONE) otherwise */
	char		*tok_key;	/* APP_TOKEN with a token: the physical
					   key and the tenant it signs (the
					   handler checks the key); else NULL.
					   Freed by app_dispatch() */
	char		*tok_tenant;
	char		 agent_id[37];	/* APP_AGENT: the agent; else "" */
};

typedef void	(*app_handler)(struct app *, struct request *,
		    const struct app_caller *);

/*
 * A program's look at each request before it is routed (APP_MAIN_PREPARE):
 * it may replace r->path and r->raw_path (malloc'd; it frees the old ones),
 * which the route is then chosen from, or answer the request itself, and
 * then nothing is dispatched. The s3 program maps its own host name
 * (S3API_DOMAIN) onto its /s3 routes this way.
 */
typedef void	(*app_prepare)(struct app *, struct request *);

/* flags for app_main */
#define APP_READONLY	0x1	/* open the database read-only */
#define APP_STORE	0x2	/* open the storage adapter */

/*
 * Run the program; returns the exit status. serve[i] handles route i
 * (enum route); NULL for the routes of other programs.
 */
int	 app_main(const char *name, int argc, char *argv[],
	    const app_handler *serve, int flags);
/* app_main with a prepare hook (NULL: none). */
int	 app_main_prepare(const char *name, int argc, char *argv[],
	    const app_handler *serve, int flags, app_prepare prepare);

/*
 * Dispatch one request on routes[0..nroutes) with handlers serve[] (used
 * by app_main with app_routes, and by tests). A route this program does
 * not serve gets 404, as if no route matched.
 */
void	 app_dispatch(struct app *a, struct request *r,
	    const struct app_route *routes, size_t nroutes,
	    const app_handler *serve);

/* Log a line to stderr (the web server's error log) with the program name. */
void	 app_log(const struct app *a, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Record what this request changed, for the access log (alog.h): one
 * entry {"action","target","detail"} of the line's "changes". action is
 * a short verb ("put", "delete", "acl", "tunnel-enable", ...); target
 * the logical key or the id of what changed; detail a word about how
 * ("overwrite", "public") or NULL. Never a secret: no token, no key, no
 * password. Call it once the change is made (committed), before or
 * after answering. A no-op when ACCESS_LOG is unset. At most
 * APP_AUDIT_MAX entries per request; target is cut to 1024 bytes.
 */
#define APP_AUDIT_MAX	4
void	 app_audit(struct request *r, const char *action, const char *target,
	    const char *detail);

/*
 * Whether the request came from loopback with no forwarding header of a
 * proxy (Forwarded, X-Forwarded-For, X-Real-IP, CF-Connecting-IP,
 * True-Client-IP). REMOTE_ADDR is the peer of the web server, which a
 * client cannot choose; a forwarding header can only take the loopback
 * status away, never grant it.
 */
int	 app_is_local(const struct request *r);

/* Log "what: <SQLite's last error on a->db>" and answer 500. */
void	 app_db_error(struct app *a, struct request *r, const char *what);

/*
 * The program's main(): its handlers, given as the designated
 * initializers of serve[] ([ROUTE_X] = h_x, ...), under app_main() with
 * name and flags.
 */
#define APP_MAIN(name, flags, ...)					\
static const app_handler serve[ROUTE__MAX] = { __VA_ARGS__ };		\
									\
int									\
main(int argc, char *argv[])						\
{									\
	return app_main(name, argc, argv, serve, flags);		\
}

/* APP_MAIN with an app_prepare hook run before each request is routed. */
#define APP_MAIN_PREPARE(name, flags, prepare, ...)			\
static const app_handler serve[ROUTE__MAX] = { __VA_ARGS__ };		\
									\
int									\
main(int argc, char *argv[])						\
{									\
	return app_main_prepare(name, argc, argv, serve, flags,		\
	    prepare);							\
}

#endif
