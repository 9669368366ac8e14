/*
 * s3key: the s3_keys table (sql/0008): the SigV4 credentials of the S3
 * endpoint (docs/s3api.md). A key belongs to one member (tenant, user),
 * like an API key; its secret is sealed at rest under the agent key-
 * encryption key (agent.h), with "s3:<access key id>" as associated data.
 */
#ifndef FS_S3KEY_H
#define FS_S3KEY_H

#include "db.h"

#include "agent.h"
#include "err.h"
#include "principal.h"

#define S3KEY_ID_LEN	20	/* "FS" and 18 of A-Z2-7 */
#define S3KEY_SECRET_MAX 64	/* base64url of AGENT_KEY_LEN bytes: 43 */

/*
 * Create a key for (tenant_id, user_id): 0 with the access key id in
 * id and the secret (malloc'd; the caller shows it once, wipes and frees
 * it) in *secret; 1 when the user is no member of the tenant; -1.
 */
int		 s3key_create(struct db *db, const unsigned char *kek,
		    const char *tenant_id, const char *user_id,
		    const char *name, char id[S3KEY_ID_LEN + 1], char **secret);
/* Revoke by access key id: 0, 1 when no such live key, -1. */
int		 s3key_revoke(struct db *db, const char *id);
/*
 * The live key id: its secret (into secret, NUL terminated; the caller
 * wipes it) and the principal of its member. FS_OK, FS_UNAUTHORIZED
 * (no such key, revoked, or no longer a member: InvalidAccessKeyId),
 * FS_INTERNAL (also a secret that does not open).
 */
enum fs_err	 s3key_lookup(struct db *db, const unsigned char *kek,
		    const char *id, char secret[S3KEY_SECRET_MAX + 1],
		    struct principal *p);
/* 1 when id has the form of an access key id, else 0. */
int		 s3key_id_ok(const char *id);

#endif
