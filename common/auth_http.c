/*
 * auth_http: the request side of auth: who sent this request (Bearer API
 * key or session cookie) and the CSRF check for cookies. The tables are
 * auth.c's.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "http.h"

static int
is_safe_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
	    strcmp(m, "OPTIONS") == 0;
}

int
auth_csrf_ok(const struct request *r)
{
	const char *origin, *host, *h;

	if (is_safe_method(r->method))
		return 1;
	/*
	 * A cross-site form cannot set X-Requested-With, and a cross-site
	 * script can only set it after a CORS preflight we never approve.
	 */
	if (http_header(r, "X-Requested-With") != NULL)
		return 1;
	origin = http_header(r, "Origin");
	host = http_header(r, "Host");
	if (origin == NULL || host == NULL)
		return 0;
	if (strncasecmp(origin, "https://", 8) == 0)
		h = origin + 8;
	else if (strncasecmp(origin, "http://", 7) == 0)
		h = origin + 7;
	else
		return 0;
	return strcasecmp(h, host) == 0;
}

enum fs_err
auth_resolve(struct db *db, struct request *r, struct principal *p,
    const char **msg)
{
	const char *authz;
	char *cookie = NULL;
	enum fs_err e;

	memset(p, 0, sizeof(*p));
	p->via = AUTH_NONE;
	*msg = NULL;
	authz = http_header(r, "Authorization");
	if (authz != NULL && *authz != '\0') {
		if (strncasecmp(authz, "Bearer ", 7) != 0) {
			*msg = "Authorization must be \"Bearer fs_...\"";
			return FS_UNAUTHORIZED;
		}
		authz += 7;
		while (*authz == ' ')
			authz++;
		return auth_key_principal(db, authz, p, msg);
	}
	cookie = http_cookie(r, AUTH_COOKIE);
	if (cookie == NULL)
		return FS_OK;
	e = auth_session_principal(db, cookie, p, msg);
	free(cookie);
	if (e != FS_OK)
		return e;
	if (!auth_csrf_ok(r)) {
		*msg = "cross-site request refused: send an Origin matching "
		    "the host, or an X-Requested-With header";
		memset(p, 0, sizeof(*p));
		return FS_FORBIDDEN;
	}
	return FS_OK;
}
