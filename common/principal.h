/*
 * principal: who a request acts for, as auth_resolve() finds it (auth.h).
 * Apart from auth.h so that the table modules, which know nothing of
 * HTTP, can take one.
 */
#ifndef FS_PRINCIPAL_H
#define FS_PRINCIPAL_H

enum auth_via { AUTH_NONE = 0, AUTH_APIKEY, AUTH_SESSION };

struct principal {
	enum auth_via	 via;
	char		 user_id[37];
	char		 tenant_id[37];
	char		 role_id[37];
	char		 role_name[64];
	int		 admin;		/* the role has admin_access */
	char		 email[256];
	char		 key_id[37];	/* AUTH_APIKEY: the key's id, else "" */
};

#endif
