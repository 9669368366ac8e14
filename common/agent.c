/*
 * agent: the pure parts of DESIGN §9 (see agent.h): paths, hostnames,
 * the tunnel key at rest, the download token and Content-Type (the
 * Content-Disposition is http_disposition, shared with the storage GET).
 * Nothing here touches the database, so the filestor-agent daemon links
 * it without SQLite doing anything.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <pthread.h>

#include <openssl/evp.h>
#include <unistr.h>

#include "agent.h"
#include "cry.h"
#include "http_parse.h"
#include "tok.h"

/* Same bound as tok.c: the last second an ISO 8601 date can show. */
#define AGENT_EXP_MAX	253402300799LL

static const char kek_label[] = "filestor agent-key v1";
static const char aad_label[] = "filestor agent-key v1:";

/* --- paths */

int
agent_path_ok(const char *path, size_t len)
{
	size_t i, seg;

	if (path == NULL || len == 0 || len > AGENT_PATH_MAX || path[0] != '/')
		return 0;
	if (len == 1)
		return 1;	/* "/" */
	if (path[len - 1] == '/')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
	}
	/* u8_check also refuses overlong forms and surrogates. */
	if (u8_check((const uint8_t *)path, len) != NULL)
		return 0;
	/* Each segment between slashes: not empty, not "." or "..". */
	for (i = 1; i <= len; i = seg + 1) {
		seg = i;
		while (seg < len && path[seg] != '/')
			seg++;
		if (seg == i)
			return 0;
		if (seg - i == 1 && path[i] == '.')
			return 0;
		if (seg - i == 2 && path[i] == '.' && path[i + 1] == '.')
			return 0;
	}
	return 1;
}

int
agent_path_under(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (n == 1 && root[0] == '/')
		return path[0] == '/';
	/*
	 * A bare prefix test would let "/srv/ab" pass for root "/srv/a"
	 * (thumbor's and lighttpd's sibling bug, anchors §4.1): the match
	 * must end where path ends or at a '/'.
	 */
	if (strncmp(path, root, n) != 0)
		return 0;
	return path[n] == '\0' || path[n] == '/';
}

void
agent_roots_free(char **roots, size_t n)
{
	size_t i;

	if (roots == NULL)
		return;
	for (i = 0; i < n; i++)
		free(roots[i]);
	free(roots);
}

int
agent_roots_parse(const cJSON *arr, char ***roots, size_t *n, char *err,
    size_t errlen)
{
	const cJSON *it;
	char **out = NULL;
	size_t cnt = 0, i;
	int size, rc = -1;

	*roots = NULL;
	*n = 0;
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "allowedRoots must be an array of "
		    "absolute paths");
		goto out;
	}
	size = cJSON_GetArraySize(arr);
	if (size < 1 || size > AGENT_ROOTS_MAX) {
		snprintf(err, errlen, "allowedRoots must hold 1 to %d paths",
		    AGENT_ROOTS_MAX);
		goto out;
	}
	out = calloc((size_t)size, sizeof(*out));
	if (out == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || it->valuestring == NULL ||
		    !agent_path_ok(it->valuestring, strlen(it->valuestring))) {
			snprintf(err, errlen, "allowedRoots[%zu] must be an "
			    "absolute, normalized path (no \"..\", \".\", "
			    "\"//\" or trailing \"/\")", cnt);
			goto out;
		}
		for (i = 0; i < cnt; i++)
			if (strcmp(out[i], it->valuestring) == 0) {
				snprintf(err, errlen, "allowedRoots[%zu] "
				    "repeats an earlier root", cnt);
				goto out;
			}
		out[cnt] = strdup(it->valuestring);
		if (out[cnt] == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		cnt++;
	}
	*roots = out;
	*n = cnt;
	out = NULL;
	rc = 0;
out:
	agent_roots_free(out, cnt);
	return rc;
}

int
agent_roots_find(char *const *roots, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (agent_path_under(path, roots[i]))
			return (int)i;
	return -1;
}

/* --- names */

int
agent_name_ok(const char *name)
{
	size_t i, len;

	if (name == NULL)
		return 0;
	len = strnlen(name, AGENT_NAME_MAX + 1);
	if (len == 0 || len > AGENT_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return u8_check((const uint8_t *)name, len) == NULL;
}

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A DNS name (RFC 1123 labels), already lower-cased: 1 or 0. */
static int
dns_name_ok(const char *h, size_t len)
{
	size_t i, lab = 0;

	if (len == 0 || len > AGENT_HOST_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = h[i];

		if (c == '.') {
			/* No empty label, none ending with '-'. */
			if (lab == 0 || h[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return 0;
		if (lab == 0 && c == '-')
			return 0;
		if (++lab > 63)
			return 0;
	}
	return lab > 0 && h[len - 1] != '-';
}

/* A bracketed IPv6 literal "[...]": hex digits, ':' and '.' only. */
static int
ipv6_literal_ok(const char *h, size_t len)
{
	size_t i;
	unsigned char buf[16];
	char tmp[64];

	if (len < 4 || len > sizeof(tmp) || h[0] != '[' || h[len - 1] != ']')
		return 0;
	for (i = 1; i < len - 1; i++)
		if (!(is_alnum(h[i]) || h[i] == ':' || h[i] == '.'))
			return 0;
	memcpy(tmp, h + 1, len - 2);
	tmp[len - 2] = '\0';
	return inet_pton(AF_INET6, tmp, buf) == 1;
}

int
agent_hostname_parse(const char *in, char *norm, char *origin, char *err,
    size_t errlen)
{
	char buf[AGENT_ORIGIN_MAX - 8] = "";	/* "https://" + buf fits */
	const char *host, *colon, *scheme = "https";
	size_t len, i, hlen;
	long port = -1;
	int rc = -1;

	if (in == NULL) {
		snprintf(err, errlen, "hostname is required");
		goto out;
	}
	len = strnlen(in, sizeof(buf));
	if (len == 0 || len >= sizeof(buf)) {
		snprintf(err, errlen, "hostname must be 1 to %zu bytes",
		    sizeof(buf) - 1);
		goto out;
	}
	/* Header and URL safety first: CR/LF would split the Location. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c >= 0x7f) {
			snprintf(err, errlen, "hostname must not contain "
			    "spaces, control bytes or non-ASCII bytes (use the "
			    "punycode form)");
			goto out;
		}
		buf[i] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
	}
	buf[len] = '\0';

	host = buf;
	if (strncmp(buf, "https://", 8) == 0) {
		host = buf + 8;
	} else if (strncmp(buf, "http://", 7) == 0) {
		scheme = "http";
		host = buf + 7;
	} else if (strstr(buf, "://") != NULL) {
		snprintf(err, errlen, "hostname scheme must be http or https");
		goto out;
	}
	if (strpbrk(host, "/?#@\\%") != NULL) {
		snprintf(err, errlen, "hostname must be a DNS name or an "
		    "origin http(s)://host[:port], without path, query, "
		    "fragment or userinfo");
		goto out;
	}
	hlen = strlen(host);
	/* The port, after the last ':' outside an IPv6 literal. */
	colon = strrchr(host, ':');
	if (colon != NULL && (host[0] != '[' || colon > strchr(host, ']'))) {
		const char *p = colon + 1;

		if (host == buf) {
			snprintf(err, errlen, "a hostname with a port must be "
			    "an origin: http(s)://host:port");
			goto out;
		}
		if (*p == '\0' || strlen(p) > 5) {
			snprintf(err, errlen, "hostname port must be 1 to "
			    "65535");
			goto out;
		}
		port = 0;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9') {
				snprintf(err, errlen, "hostname port must be "
				    "1 to 65535");
				goto out;
			}
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535) {
			snprintf(err, errlen, "hostname port must be 1 to "
			    "65535");
			goto out;
		}
		hlen = (size_t)(colon - host);
	}
	if (host[0] == '[') {
		if (host == buf || !ipv6_literal_ok(host, hlen)) {
			snprintf(err, errlen, "hostname has a malformed IPv6 "
			    "literal (and needs the http(s):// form)");
			goto out;
		}
	} else if (!dns_name_ok(host, hlen)) {
		snprintf(err, errlen, "hostname must be a DNS name (letters, "
		    "digits, '-' and '.') or an origin http(s)://host[:port]");
		goto out;
	}
	memcpy(norm, buf, len + 1);
	if (host == buf)
		snprintf(origin, AGENT_ORIGIN_MAX, "https://%s", buf);
	else
		snprintf(origin, AGENT_ORIGIN_MAX, "%s://%s", scheme, host);
	(void)port;
	rc = 0;
out:
	return rc;
}

/* --- the tunnel key */

void
agent_kek(const unsigned char *secret, size_t len,
    unsigned char kek[AGENT_KEY_LEN])
{
	/* Its own label, so this key is never the storage-URL key. */
	cry_hmac_sha256(secret, len, kek_label, sizeof(kek_label) - 1, kek);
}

/* AAD: the label and the agent id, so a key cannot move between rows. */
static int
aad_make(const char *agent_id, unsigned char *buf, size_t cap, size_t *len)
{
	size_t a = sizeof(aad_label) - 1, b = strlen(agent_id);

	if (a + b > cap)
		return -1;
	/* Bytes, not a string: no terminator (NOLINTs: clang-tidy thinks so). */
	memcpy(buf, aad_label, a);	/* NOLINT(bugprone-*) */
	memcpy(buf + a, agent_id, b);	/* NOLINT(bugprone-*) */
	*len = a + b;
	return 0;
}

/*
 * AES-256-GCM, fetched once: OpenSSL 3 looks EVP_aes_256_gcm() up again
 * on every init, which costs more than opening a 32-byte key (the s3
 * program opens one on every request). NULL when unavailable.
 */
static EVP_CIPHER	*gcm_cipher;
static pthread_once_t	 gcm_once = PTHREAD_ONCE_INIT;

static void
gcm_setup(void)
{
	gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *
aes_gcm(void)
{
	if (pthread_once(&gcm_once, gcm_setup) != 0)
		return NULL;
	return gcm_cipher;
}

int
agent_key_seal(const unsigned char kek[AGENT_KEY_LEN], const char *agent_id,
    const unsigned char key[AGENT_KEY_LEN], unsigned char out[AGENT_SEALED_LEN])
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char aad[128];
	size_t aadlen;
	int n, rc = -1;

	if (aad_make(agent_id, aad, sizeof(aad), &aadlen) == -1)
		goto out;
	/* A fresh random 96-bit nonce per seal; keys are sealed rarely. */
	if (cry_random(out, 12) == -1)
		goto out;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_EncryptInit_ex(ctx, aes_gcm(), NULL, kek, out) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_EncryptUpdate(ctx, out + 12, &n, key, AGENT_KEY_LEN) != 1 ||
	    n != AGENT_KEY_LEN ||
	    EVP_EncryptFinal_ex(ctx, out + 12 + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
	    out + 12 + AGENT_KEY_LEN) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
agent_key_open(const unsigned char kek[AGENT_KEY_LEN], const char *agent_id,
    const unsigned char *in, size_t inlen, unsigned char key[AGENT_KEY_LEN])
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char aad[128], tag[16];
	size_t aadlen;
	int n, rc = -1;

	if (inlen != AGENT_SEALED_LEN ||
	    aad_make(agent_id, aad, sizeof(aad), &aadlen) == -1)
		goto out;
	memcpy(tag, in + 12 + AGENT_KEY_LEN, sizeof(tag));
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
	    EVP_DecryptInit_ex(ctx, aes_gcm(), NULL, kek, in) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_DecryptUpdate(ctx, key, &n, in + 12, AGENT_KEY_LEN) != 1 ||
	    n != AGENT_KEY_LEN ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, key + n, &n) != 1) {
		/* Never hand out plaintext that failed the tag. */
		cry_wipe(key, AGENT_KEY_LEN);
		goto out;
	}
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

char *
agent_key_encode(const unsigned char key[AGENT_KEY_LEN])
{
	return cry_b64u_encode(key, AGENT_KEY_LEN);
}

int
agent_key_decode(const char *s, unsigned char key[AGENT_KEY_LEN])
{
	unsigned char *raw = NULL;
	size_t len = 0;
	int rc = -1;

	if (s == NULL || strnlen(s, AGENT_KEY_B64_LEN + 1) != AGENT_KEY_B64_LEN)
		goto out;
	raw = cry_b64u_decode(s, AGENT_KEY_B64_LEN, &len);
	if (raw == NULL || len != AGENT_KEY_LEN)
		goto out;
	memcpy(key, raw, AGENT_KEY_LEN);
	rc = 0;
out:
	if (raw != NULL) {
		cry_wipe(raw, len);
		free(raw);
	}
	return rc;
}

/* --- the download token */

char *
agent_tok_sign(const unsigned char key[AGENT_KEY_LEN], const char *path,
    const char *agent_id, long long exp)
{
	return tok_sign_claims(key, AGENT_KEY_LEN, "p", path, "a", agent_id,
	    exp, AGENT_EXP_MAX);
}

enum agent_tok
agent_tok_verify(const unsigned char key[AGENT_KEY_LEN], const char *token,
    const char *agent_id, time_t now, char **path)
{
	cJSON *o = NULL;
	const char *vp, *va;
	char *payload = NULL;
	long long exp;
	enum agent_tok rc = AGENT_TOK_MALFORMED;

	*path = NULL;
	switch (tok_verify(key, AGENT_KEY_LEN, token, &payload)) {
	case TOK_OK:
		break;
	case TOK_BAD_SIGNATURE:
		rc = AGENT_TOK_BAD_SIGNATURE;
		goto out;
	case TOK_ERROR:
		rc = AGENT_TOK_ERROR;
		goto out;
	default:
		goto out;
	}
	/* "p":"/r/a.txt\u0000/../x" would read as "/r/a.txt". */
	if (http_json_has_nul(payload, strlen(payload)))
		goto out;
	o = tok_parse_claims(payload, "p", &vp, "a", &va, AGENT_EXP_MAX, &exp);
	if (o == NULL)
		goto out;
	/*
	 * The key is per agent, but a key shared by mistake must still not
	 * let one agent's URL open files on another.
	 */
	if (strcmp(va, agent_id) != 0) {
		rc = AGENT_TOK_WRONG_AGENT;
		goto out;
	}
	if ((long long)now >= exp) {
		rc = AGENT_TOK_EXPIRED;
		goto out;
	}
	/* The backend signs for 5 minutes: anything longer was not ours. */
	if (exp - (long long)now > AGENT_TOKEN_TTL + AGENT_TOKEN_SKEW) {
		rc = AGENT_TOK_TOO_LONG;
		goto out;
	}
	*path = strdup(vp);
	rc = *path != NULL ? AGENT_TOK_OK : AGENT_TOK_ERROR;
out:
	cJSON_Delete(o);
	free(payload);
	return rc;
}

/* --- serving */

static const struct {
	const char	*ext;
	const char	*type;
	int		 inline_ok;
} types[] = {
	{ "txt", "text/plain; charset=utf-8", 1 },
	{ "log", "text/plain; charset=utf-8", 1 },
	{ "md", "text/plain; charset=utf-8", 1 },
	{ "csv", "text/csv; charset=utf-8", 1 },
	{ "json", "application/json", 1 },
	{ "pdf", "application/pdf", 1 },
	{ "png", "image/png", 1 },
	{ "jpg", "image/jpeg", 1 },
	{ "jpeg", "image/jpeg", 1 },
	{ "gif", "image/gif", 1 },
	{ "webp", "image/webp", 1 },
	{ "avif", "image/avif", 1 },
	{ "heic", "image/heic", 1 },
	{ "mp4", "video/mp4", 1 },
	{ "m4v", "video/mp4", 1 },
	{ "webm", "video/webm", 1 },
	{ "mov", "video/quicktime", 1 },
	{ "mkv", "video/x-matroska", 1 },
	{ "mp3", "audio/mpeg", 1 },
	{ "m4a", "audio/mp4", 1 },
	{ "ogg", "audio/ogg", 1 },
	{ "opus", "audio/ogg", 1 },
	{ "flac", "audio/flac", 1 },
	{ "wav", "audio/wav", 1 },
	/* Active or archive types: always attachments. */
	{ "html", "text/html; charset=utf-8", 0 },
	{ "htm", "text/html; charset=utf-8", 0 },
	{ "svg", "image/svg+xml", 0 },
	{ "xml", "application/xml", 0 },
	{ "zip", "application/zip", 0 },
	{ "gz", "application/gzip", 0 },
	{ "tar", "application/x-tar", 0 },
	{ "zst", "application/zstd", 0 },
};

const char *
agent_content_type(const char *name, int *inline_ok)
{
	const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
	size_t i;

	*inline_ok = 0;
	if (dot == NULL || (slash != NULL && dot < slash) || dot[1] == '\0')
		return "application/octet-stream";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0) {
			*inline_ok = types[i].inline_ok;
			return types[i].type;
		}
	return "application/octet-stream";
}
