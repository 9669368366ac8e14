/*
 * key: validation and NFC normalization of logical keys, and the mapping
 * between logical and physical keys (DESIGN §2).
 *
 * Keys are rejected, never repaired: a key that needs fixing is answered
 * with 422 and a message naming the problem, so that two spellings can
 * never end up naming one object behind the client's back. The one
 * exception is NFC, which the contract asks for: "é" typed on a Mac
 * (e + U+0301) and on Linux (U+00E9) must name the same object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uninorm.h>
#include <unistr.h>

#include "cry.h"
#include "key.h"

#define TENANT_ID_LEN	36
#define PREFIX		"tenants/"
#define PREFIX_LEN	(sizeof(PREFIX) - 1)

/*
 * Bound the work done before normalization. NFC may shrink a key (a base
 * letter and a combining mark of 3 bytes compose into 2), so the limit
 * is applied to the output; but nothing of more than 4 x KEY_MAX bytes can
 * come down to KEY_MAX, so such input is refused before it is decoded.
 */
#define KEY_IN_MAX	(4 * KEY_MAX)

static const char	msg_long[] = "key must be at most 1024 bytes";

static int
has_nonchar(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;
	ucs4_t uc;
	int n;

	/*
	 * U+FDD0..U+FDEF and the last two of every plane: Unicode keeps
	 * them out of interchange, and KEY_PAST (U+10FFFF) is one, so no
	 * key reaches it.
	 */
	while (p < end) {
		n = u8_mbtouc(&uc, p, (size_t)(end - p));
		if ((uc >= 0xfdd0 && uc <= 0xfdef) || (uc & 0xfffe) == 0xfffe)
			return 1;
		p += n > 0 ? n : 1;
	}
	return 0;
}

/*
 * The byte-level rules: NUL, control bytes, backslash, UTF-8. Returns NULL
 * or the message naming the first problem.
 */
static const char *
check_bytes(const char *s, size_t len)
{
	size_t	 i;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		/* NUL first: it also truncates the key for any C consumer. */
		if (c == '\0')
			return "key must not contain NUL bytes";
		if (c < 0x20 || c == 0x7f)
			return "key must not contain control characters";
		/* Windows and some tools treat it as a separator. */
		if (c == '\\')
			return "key must not contain a backslash";
	}
	/* u8_check also refuses overlong forms, surrogates and > U+10FFFF. */
	if (u8_check((const uint8_t *)s, len) != NULL)
		return "key must be valid UTF-8";
	if (key_has_c1(s, len))
		return "key must not contain control characters";
	if (has_nonchar(s, len))
		return "key must not contain Unicode noncharacters";
	return NULL;
}

int
key_has_c1(const char *s, size_t len)
{
	size_t	 i;

	/*
	 * The C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8 (valid
	 * UTF-8 by now, so a C2 is always a lead byte). Terminals act on
	 * them (U+009B is CSI) as on the ASCII ones.
	 */
	for (i = 0; i + 1 < len; i++)
		if ((unsigned char)s[i] == 0xc2 &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return 1;
	return 0;
}

int
key_nfc(const char *in, size_t len, char **out)
{
	uint8_t	*nfc;
	size_t	 nlen = 0;

	*out = NULL;
	nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)in, len, NULL, &nlen);
	if (nfc == NULL)
		return -1;
	*out = malloc(nlen + 1);
	if (*out != NULL) {
		memcpy(*out, nfc, nlen);
		(*out)[nlen] = '\0';
	}
	free(nfc);
	return *out == NULL ? -1 : 0;
}

/* The segment rules. s holds len bytes, len > 0. */
static const char *
check_segments(const char *s, size_t len)
{
	size_t	 start, end;

	if (s[0] == '/')
		return "key must not start with '/'";
	if (s[len - 1] == '/')
		return "key must not end with '/'";

	for (start = 0; start <= len; start = end + 1) {
		end = start;
		while (end < len && s[end] != '/')
			end++;
		if (end == start)
			return "key must not contain an empty segment ('//')";
		if ((end - start == 1 && s[start] == '.') ||
		    (end - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return "key must not contain '.' or '..' segments";
		/*
		 * Reserved so that a logical key can never look like a
		 * physical one, in logs or if a prefix is ever added twice.
		 */
		if (start == 0 && end - start == PREFIX_LEN - 1 &&
		    memcmp(s, PREFIX, PREFIX_LEN - 1) == 0)
			return "key must not start with \"tenants\" (reserved)";
	}
	return NULL;
}

/* All rules but the length limit. */
static const char *
check_all(const char *s, size_t len)
{
	const char	*m;

	if (len == 0)
		return "key must not be empty";
	m = check_bytes(s, len);
	if (m == NULL)
		m = check_segments(s, len);
	return m;
}

int
key_validate(const char *in, size_t len, char **out, const char **msg)
{
	uint8_t		*nfc = NULL;
	char		*res = NULL;
	size_t		 nlen = 0;
	const char	*m = NULL;
	int		 rc = -1;

	*out = NULL;
	if (in == NULL) {
		m = "key must not be empty";
		goto out;
	}
	if (len > KEY_IN_MAX) {
		m = msg_long;
		goto out;
	}
	m = check_all(in, len);
	if (m != NULL)
		goto out;

	nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)in, len, NULL, &nlen);
	if (nfc == NULL) {
		/* Input is valid UTF-8 by now, so this is ENOMEM. */
		m = "out of memory normalizing key";
		goto out;
	}
	if (nlen > KEY_MAX) {
		m = msg_long;
		goto out;
	}
	/*
	 * Check the result again. Canonical decompositions can map to ASCII
	 * (U+037E to ';', U+212A to 'K'); none maps to '/', '.', '\' or a
	 * control byte today, but the rules must hold for what is stored,
	 * whatever a future Unicode version does.
	 */
	m = check_all((const char *)nfc, nlen);
	if (m != NULL)
		goto out;

	res = malloc(nlen + 1);
	if (res == NULL) {
		m = "out of memory normalizing key";
		goto out;
	}
	memcpy(res, nfc, nlen);
	res[nlen] = '\0';
	*out = res;
	res = NULL;
	m = NULL;
	rc = 0;
out:
	free(nfc);
	free(res);
	if (msg != NULL)
		*msg = m;
	return rc;
}

/*
 * A lower-case canonical UUID (8-4-4-4-12 hex). Lower case only, so that a
 * tenant has exactly one physical prefix.
 */
static int
tenant_ok(const char *t)
{
	return cry_is_uuid(t);
}

char *
key_physical(const char *tenant_id, const char *logical)
{
	char	*p;
	size_t	 llen;

	if (!tenant_ok(tenant_id) || logical == NULL)
		return NULL;
	/* logical comes from key_validate; only cheap sanity checks here. */
	llen = strlen(logical);
	if (llen == 0 || llen > KEY_MAX || logical[0] == '/')
		return NULL;
	p = malloc(KEY_TENANT_PREFIX_LEN + llen + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, PREFIX, PREFIX_LEN);
	memcpy(p + PREFIX_LEN, tenant_id, TENANT_ID_LEN);
	p[PREFIX_LEN + TENANT_ID_LEN] = '/';
	memcpy(p + KEY_TENANT_PREFIX_LEN, logical, llen + 1);
	return p;
}

const char *
key_logical(const char *tenant_id, const char *pkey)
{
	if (!tenant_ok(tenant_id) || pkey == NULL)
		return NULL;
	/*
	 * Compare the whole prefix including the trailing '/', so that a
	 * tenant id that is a prefix of another's can never match.
	 */
	if (strncmp(pkey, PREFIX, PREFIX_LEN) != 0 ||
	    strncmp(pkey + PREFIX_LEN, tenant_id, TENANT_ID_LEN) != 0 ||
	    pkey[PREFIX_LEN + TENANT_ID_LEN] != '/')
		return NULL;
	/* An empty logical key is not a key. */
	if (pkey[KEY_TENANT_PREFIX_LEN] == '\0')
		return NULL;
	return pkey + KEY_TENANT_PREFIX_LEN;
}
