/*
 * agent: agents and direct downloads through a tunnel (DESIGN §9).
 *
 * Shared by the agents and file-content programs, filestorctl and the
 * filestor-agent daemon. agent.c holds the pure parts (path and hostname
 * validation, the tunnel key at rest, the download token, the
 * Content-Type); agent_db.c holds the rows.
 *
 * Download token (DESIGN §9):
 *   t       = B64U(payload) "." B64U(HMAC-SHA256(agent key, B64U(payload)))
 *   payload = {"p":"<absolute path>","a":"<agent id>","exp":<now+300>}
 * The agent key is 32 random bytes; admins see it once as B64U (43 chars).
 */
#ifndef FS_AGENT_H
#define FS_AGENT_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>
#include "db.h"

#include "err.h"

#define AGENT_KEY_LEN		32	/* tunnel signing key, bytes */
#define AGENT_KEY_B64_LEN	43	/* its base64url form, chars */
#define AGENT_SEALED_LEN	(12 + AGENT_KEY_LEN + 16) /* nonce|ct|tag */
#define AGENT_TOKEN_TTL		300	/* seconds a download URL lives */
#define AGENT_TOKEN_SKEW	60	/* clock skew the agent tolerates */
#define AGENT_PATH_MAX		4096	/* bytes of an absolute path */
#define AGENT_ROOTS_MAX		16	/* allowed roots per agent */
#define AGENT_NAME_MAX		128	/* bytes of an agent name */
#define AGENT_HOST_MAX		253	/* bytes of a DNS name (RFC 1035) */
#define AGENT_ORIGIN_MAX	(8 + AGENT_HOST_MAX + 6 + 1) /* https://h:port */
#define AGENT_ENROLL_TTL	3600	/* default enrollment token lifetime */
#define AGENT_ENROLL_TTL_MAX	(7 * 86400)

/* --- paths */

/*
 * 1 when path[0..len) is absolute and normalized: starts with '/', has
 * no empty, "." or ".." segment, no trailing '/' (except "/" itself), no
 * NUL, control byte or backslash, is valid UTF-8 and at most
 * AGENT_PATH_MAX bytes. Else 0. Nothing is repaired.
 */
int		 agent_path_ok(const char *path, size_t len);
/*
 * 1 when path is root or lies below it: root is a prefix that ends at a
 * '/' boundary of path, so "/srv/a" is not under "/srv/ab" (a sibling).
 * Both must already pass agent_path_ok. The root "/" holds every path.
 */
int		 agent_path_under(const char *path, const char *root);
/*
 * Parse and validate allowed roots from a JSON array of strings: 1 to
 * AGENT_ROOTS_MAX entries, each passing agent_path_ok. On success *roots
 * is a malloc'd array of n malloc'd strings (free with agent_roots_free).
 * Returns 0, or -1 with a message in err.
 */
int		 agent_roots_parse(const cJSON *arr, char ***roots, size_t *n,
		    char *err, size_t errlen);
void		 agent_roots_free(char **roots, size_t n);
/* Index of the first root that holds path, or -1. */
int		 agent_roots_find(char *const *roots, size_t n, const char *path);

/* --- names */

/* 1 when name is 1..AGENT_NAME_MAX bytes of UTF-8 without control bytes. */
int		 agent_name_ok(const char *name);

/*
 * Validate a tunnel hostname (DESIGN §9) and write its normalized form
 * (lower case) to norm and the origin it stands for to origin (both
 * AGENT_ORIGIN_MAX bytes): a bare DNS name H gives "https://H"; an origin
 * "http://host[:port]" or "https://host[:port]" (host a DNS name, an
 * IPv4 address or a bracketed IPv6 address) stands for itself. Never a
 * path, query, fragment, userinfo, whitespace or control byte. Returns 0,
 * or -1 with a message in err.
 */
int		 agent_hostname_parse(const char *in, char *norm, char *origin,
		    char *err, size_t errlen);

/* --- the tunnel key */

/* KEK = HMAC-SHA256(AUTH_SECRET, "filestor agent-key v1"). */
void		 agent_kek(const unsigned char *secret, size_t len,
		    unsigned char kek[AGENT_KEY_LEN]);
/*
 * Encrypt key under kek with AES-256-GCM; the agent id is the associated
 * data, so a sealed key only opens on its own row. 0 or -1.
 */
int		 agent_key_seal(const unsigned char kek[AGENT_KEY_LEN],
		    const char *agent_id, const unsigned char key[AGENT_KEY_LEN],
		    unsigned char out[AGENT_SEALED_LEN]);
/* Decrypt and authenticate; 0, or -1 (wrong kek, other row, tampering). */
int		 agent_key_open(const unsigned char kek[AGENT_KEY_LEN],
		    const char *agent_id, const unsigned char *in, size_t inlen,
		    unsigned char key[AGENT_KEY_LEN]);
/* base64url of the key, malloc'd (caller wipes and frees), or NULL. */
char		*agent_key_encode(const unsigned char key[AGENT_KEY_LEN]);
/* Decode a base64url key of exactly AGENT_KEY_LEN bytes: 0 or -1. */
int		 agent_key_decode(const char *s, unsigned char key[AGENT_KEY_LEN]);

/* --- the download token */

enum agent_tok {
	AGENT_TOK_OK = 0,
	AGENT_TOK_MALFORMED,	/* not a token, bad claims */
	AGENT_TOK_BAD_SIGNATURE,/* MAC mismatch */
	AGENT_TOK_WRONG_AGENT,	/* signed, but for another agent id */
	AGENT_TOK_EXPIRED,	/* now >= exp */
	AGENT_TOK_TOO_LONG,	/* exp beyond now + TTL + skew */
	AGENT_TOK_ERROR		/* out of memory */
};

/* Sign {"p":path,"a":agent_id,"exp":exp}; malloc'd token or NULL. */
char		*agent_tok_sign(const unsigned char key[AGENT_KEY_LEN],
		    const char *path, const char *agent_id, long long exp);
/*
 * Verify in this order: MAC (constant time, before anything is decoded),
 * claim types, "a" equal to agent_id, exp against now (expired, or
 * further than AGENT_TOKEN_TTL + AGENT_TOKEN_SKEW ahead). On AGENT_TOK_OK
 * *path is the malloc'd "p" claim (caller frees); it is not yet checked
 * against agent_path_ok.
 */
enum agent_tok	 agent_tok_verify(const unsigned char key[AGENT_KEY_LEN],
		    const char *token, const char *agent_id, time_t now,
		    char **path);

/* --- serving */

/*
 * Content-Type for a file name by its extension (a short table of common
 * types; application/octet-stream otherwise). *inline_ok is 1 for types
 * a browser shows without running anything (images, audio, video, PDF,
 * plain text), 0 for the rest, which go out as attachments.
 */
const char	*agent_content_type(const char *name, int *inline_ok);

/* --- rows (agent_db.c) */

struct agent_row {
	char		 id[37];
	char		 tenant_id[37];
	char		*name;		/* malloc'd */
	char		*roots_json;	/* malloc'd JSON array text */
	char		*hostname;	/* malloc'd, or NULL */
	unsigned char	 sealed[AGENT_SEALED_LEN];
	int		 has_key;	/* sealed holds a key */
	int		 enabled;
	long long	 created_at;
	long long	 last_seen_at;	/* -1 when never */
	char		*relay;		/* malloc'd: the relay holding its
					   WebSocket ("" on this host's
					   single relay); NULL: offline */
};

/*
 * Make a one-time enrollment token for tenant_id living ttl seconds.
 * *token is the plaintext "fse_..." (malloc'd, show once); only its hash
 * is stored. 0 or -1 with err.
 */
int		 agent_enroll_token_create(struct db *db, const char *tenant_id,
		    long long ttl, char **token, long long *expires_at,
		    char *err, size_t errlen);
/*
 * Spend token and register an agent with name and roots (validated by
 * the caller). FS_OK with id and *secret (malloc'd "fsa_...", show once);
 * FS_UNAUTHORIZED when the token is unknown, spent or expired (one
 * answer for all three); FS_INTERNAL on a database error.
 */
enum fs_err	 agent_enroll(struct db *db, const char *token,
		    const char *name, const char *roots_json, char id[37],
		    char **secret);
/*
 * The agent's login (DESIGN §9): authorization is the Authorization
 * header (NULL when absent), "Bearer <agentId>.<agentSecret>". The secret
 * is compared by its SHA-256, in constant time, against the stored hash.
 * FS_OK with id filled; FS_UNAUTHORIZED with *msg (one answer for an
 * unknown id and a wrong secret); FS_INTERNAL on a database error.
 */
enum fs_err	 agent_authenticate(struct db *db, const char *authorization,
		    char id[37], const char **msg);
/* Load agent id of tenant_id: FS_OK, FS_NOT_FOUND or FS_INTERNAL. */
enum fs_err	 agent_load(struct db *db, const char *tenant_id,
		    const char *id, struct agent_row *a);
void		 agent_row_free(struct agent_row *a);
/*
 * The API form: {id, name, allowedRoots, tunnel{enabled, hostname},
 * lastSeenAt, createdAt}. Never the key. Caller deletes.
 */
cJSON		*agent_json(const struct agent_row *a);
/*
 * Call fn for each agent of tenant_id, by creation (the row lives for
 * the call). 0, or -1 on a database error or when fn returns -1.
 */
int		 agent_each(struct db *db, const char *tenant_id,
		    int (*fn)(void *, const struct agent_row *), void *arg);
/*
 * Store sealed, a new tunnel key, for agent id of tenant_id: with
 * hostname (enable) also that hostname and tunnel_enabled = 1; without
 * (rotate) only while the tunnel is on. 1 done, 0 no such agent (or,
 * rotating, the tunnel is off), -1 on error.
 */
int		 agent_key_store(struct db *db, const char *tenant_id,
		    const char *id, const char *hostname,
		    const unsigned char sealed[AGENT_SEALED_LEN]);
/* Delete agent id of tenant_id, or turn its tunnel off and drop its key:
 * 1 done, 0 no such agent, -1 on error. */
int		 agent_delete(struct db *db, const char *tenant_id,
		    const char *id);
int		 agent_tunnel_disable(struct db *db, const char *tenant_id,
		    const char *id);
/*
 * The stored tunnel hostname of agent id into *hostname (malloc'd, or
 * NULL when it has none): 1, 0 when there is no such agent (or the
 * lookup failed), -1 when no statement could be made.
 */
int		 agent_tunnel_hostname(struct db *db, const char *id,
		    char **hostname);
/* A heartbeat at now: last_seen_at, and the tunnel hostname unless NULL.
 * 0 or -1. */
int		 agent_seen(struct db *db, const char *id, long long now,
		    const char *hostname);

/*
 * The agents of every tenant (*total) and those online (*online: a relay
 * holds its WebSocket, as GET /api/agents says), for GET /api/metrics.
 * 0 or -1.
 */
int		 agent_count(struct db *db, long long *total, long long *online);

/*
 * The WS relay's rows (agent_relays, docs/relay.md). attach: agent id is
 * held by relay (RELAY_PEER_ADDR, "" for a single host) on connection
 * conn (a random id) since now. detach: drop the row of id while it is
 * still conn's; with id NULL, every row of relay conn (a relay starting
 * drops what its last run left). agent_tenant: the tenant of agent id:
 * 1, 0 when there is none, -1 on error. 0 or -1.
 */
int		 agent_relay_attach(struct db *db, const char *id,
		    const char *relay, const char *conn, long long now);
int		 agent_relay_detach(struct db *db, const char *id,
		    const char *conn);
int		 agent_tenant(struct db *db, const char *id, char tenant_id[37]);

#endif
