/*
 * auth: principals, API keys, sessions and the CSRF check (DESIGN §4).
 * auth.c holds the tables and knows nothing of HTTP; auth_http.c holds
 * auth_resolve() and auth_csrf_ok(), the two that read a request.
 *
 * Every program resolves the caller through auth_resolve(): a Bearer API
 * key or the filestor_session cookie, in that order. Secrets are stored
 * as SHA-256 hashes; the plaintext is shown once.
 */
#ifndef FS_AUTH_H
#define FS_AUTH_H

#include "db.h"

#include "err.h"
#include "principal.h"

struct request;		/* http.h */

#define AUTH_KEY_PREFIX		"fs_"
#define AUTH_COOKIE		"filestor_session"


/*
 * Resolve the caller. FS_OK with p filled; FS_OK with p->via == AUTH_NONE
 * when no credentials were sent; FS_UNAUTHORIZED with *msg for a bad,
 * revoked or expired credential; FS_FORBIDDEN when a cookie-authenticated
 * state-changing request fails the CSRF check; FS_INTERNAL on a database
 * error.
 */
enum fs_err	 auth_resolve(struct db *db, struct request *r,
		    struct principal *p, const char **msg);

/*
 * The principal of an API key ("fs_...") or a session cookie token:
 * FS_OK with p filled; FS_UNAUTHORIZED with *msg for an unknown, revoked
 * or expired one, or one whose user left the tenant; FS_INTERNAL.
 */
enum fs_err	 auth_key_principal(struct db *db, const char *key,
		    struct principal *p, const char **msg);
enum fs_err	 auth_session_principal(struct db *db, const char *token,
		    struct principal *p, const char **msg);

/* CSRF: 1 when the request passes (safe method, Origin matching Host, or
 * an X-Requested-With header), else 0. */
int		 auth_csrf_ok(const struct request *r);

/*
 * Create an API key for (tenant, user). On success returns 0, *key_out is
 * the plaintext "fs_..." (malloc'd, show once) and key_id[37] its id.
 */
int		 auth_apikey_create(struct db *db, const char *tenant_id,
		    const char *user_id, const char *name, char **key_out,
		    char key_id[37]);
/* Revoke by id: 0, 1 when no such live key, -1 on error. */
int		 auth_apikey_revoke(struct db *db, const char *key_id);
/* The tenant and user of a live (unrevoked) key: 0, 1 when there is
 * none, -1 on error. */
int		 auth_apikey_owner(struct db *db, const char *key_id,
		    char tenant_id[37], char user_id[37]);

/*
 * Log in. FS_OK with a new session token (malloc'd plaintext for the
 * cookie) in *token and p filled; FS_UNAUTHORIZED for a wrong password,
 * unknown email or tenant (the same answer, the same work); FS_VALIDATION
 * when the user belongs to several tenants and tenant_id is NULL.
 */
/*
 * Login throttling (sql/0004). Failures count per email in a tenant
 * (tenant_id NULL: "any") and per client address (addr NULL or "": not
 * counted); a scope with max failures inside one window of window
 * seconds is refused until that window ends.
 */
struct auth_limits {
	long long	 max_user;	/* per email + tenant */
	long long	 max_addr;	/* per client address */
	long long	 window;	/* seconds */
};
/* FS_OK; FS_TOO_MANY with the seconds to wait in *retry; FS_INTERNAL. */
enum fs_err	 auth_login_allowed(struct db *db, const struct auth_limits *l,
		    const char *email, const char *tenant_id, const char *addr,
		    long long *retry);
/*
 * Record the outcome of an attempt: a failure counts in both scopes, a
 * success clears the email's (not the address's: one good account must
 * not buy more guesses at others). 0, or -1 on a database error.
 */
int		 auth_login_note(struct db *db, const struct auth_limits *l,
		    const char *email, const char *tenant_id, const char *addr,
		    int ok);

/* Delete counts whose window ended long ago: the count, or -1. */
long long	 auth_login_gc(struct db *db);

enum fs_err	 auth_login(struct db *db, const char *email, const char *pw,
		    const char *tenant_id, long long ttl, char **token,
		    struct principal *p, const char **msg);
/* Delete the session behind the cookie token, if any. */
void		 auth_logout(struct db *db, const char *token);

/* Call fn(arg, id, name) for every tenant the user with this email
 * belongs to, by name: 0, or -1 on error. */
int		 auth_email_tenants(struct db *db, const char *email,
		    void (*fn)(void *, const char *, const char *), void *arg);
/*
 * The principal of a member, for a credential kept elsewhere (an S3 key,
 * s3key.h), as for an API key: FS_OK, FS_UNAUTHORIZED when the user is
 * no member of the tenant, FS_INTERNAL.
 */
enum fs_err	 auth_member_principal(struct db *db, const char *user_id,
		    const char *tenant_id, struct principal *p);
/* 1 when some tenant is named name, 0 when none, -1 on error. */
int		 auth_tenant_named(struct db *db, const char *name);

/* The name of tenant_id into buf ("" when there is none). */
void		 auth_tenant_name(struct db *db, const char *tenant_id,
		    char *buf, size_t len);

/* Tenant and user admin (filestorctl). Return 0 or -1 with err. */
int		 auth_tenant_create(struct db *db, const char *name, char id[37],
		    char *err, size_t errlen);
int		 auth_user_create(struct db *db, const char *email,
		    const char *tenant_id, const char *role, const char *pw,
		    char id[37], char *err, size_t errlen);
int		 auth_user_set_role(struct db *db, const char *user_id,
		    const char *tenant_id, const char *role, char *err,
		    size_t errlen);

/*
 * Roles and members (filestorctl). auth_role_create: FS_OK with id,
 * FS_CONFLICT when the tenant has a role of that name, FS_NOT_FOUND when
 * there is no such tenant, FS_INTERNAL. auth_role_find: the role ref (an
 * id when tenant_id is NULL, else a name in tenant_id) into id;
 * auth_member_role: the role of user_id in tenant_id. Both 0 found, 1
 * not, -1 on error.
 */
enum fs_err	 auth_role_create(struct db *db, const char *tenant_id,
		    const char *name, int admin, char id[37]);
int		 auth_role_find(struct db *db, const char *tenant_id,
		    const char *ref, char id[37]);
int		 auth_member_role(struct db *db, const char *tenant_id,
		    const char *user_id, char role_id[37]);

/* One API key as a listing shows it; the strings live for the call. */
struct auth_apikey_row {
	const char	*id;
	const char	*user_id;
	const char	*email;
	const char	*name;
	long long	 created_at;
	int		 revoked;
};
/* Call fn for every tenant (id, name) by creation, or every API key of
 * tenant_id in the order made. 0 or -1 on error. */
int		 auth_tenant_each(struct db *db,
		    void (*fn)(void *, const char *, const char *), void *arg);
int		 auth_apikey_each(struct db *db, const char *tenant_id,
		    void (*fn)(void *, const struct auth_apikey_row *),
		    void *arg);

#endif
