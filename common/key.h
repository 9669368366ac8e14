/*
 * key: logical and physical object keys (DESIGN §2). The one place keys
 * are validated; every program and adapter goes through it.
 */
#ifndef FS_KEY_H
#define FS_KEY_H

#include <stddef.h>

#define KEY_MAX		1024	/* bytes of a logical key, after NFC */
#define KEY_TENANT_PREFIX_LEN 45 /* "tenants/" + uuid + "/" */
/*
 * U+10FFFF, a noncharacter no key holds: in byte order, P KEY_PAST is
 * past every key that starts with P, and is valid UTF-8 (PostgreSQL's
 * text refuses the 0xff SQLite would take).
 */
#define KEY_PAST	"\xf4\x8f\xbf\xbf"

/*
 * Validate a logical key of len bytes (it may contain a NUL, which is
 * refused) and return its NFC form, malloc'd, in *out. Returns 0, or -1
 * with a static message naming the problem in *msg. Refused: empty, over
 * KEY_MAX, a "tenants/" start, an empty, "." or ".." segment, a leading
 * or trailing "/", NUL, control characters (0x00-0x1f, 0x7f and the C1
 * controls U+0080-U+009F), a backslash, invalid UTF-8, Unicode
 * noncharacters (U+FDD0-U+FDEF, U+xFFFE and U+xFFFF).
 */
int	 key_validate(const char *in, size_t len, char **out, const char **msg);

/* 1 when len bytes of valid UTF-8 hold a C1 control (U+0080-U+009F). */
int	 key_has_c1(const char *s, size_t len);
/*
 * The NFC form of len bytes of valid UTF-8, malloc'd and NUL-terminated
 * in *out (the caller frees it). 0, or -1 when out of memory. For names
 * that are not keys (folders), normalized like keys.
 */
int	 key_nfc(const char *in, size_t len, char **out);

/* "tenants/<tid>/<logical>", malloc'd, or NULL. */
char	*key_physical(const char *tenant_id, const char *logical);
/* The logical part of a physical key of tenant_id, or NULL when pkey is
 * not under that tenant. Points into pkey. */
const char *key_logical(const char *tenant_id, const char *pkey);

#endif
