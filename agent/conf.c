/*
 * conf: load and save the agent's config.json (see conf.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "cry.h"
#include "fio.h"
#include "http.h"

int
conf_path(const char *explicit, char *buf, size_t len, char *err,
    size_t errlen)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	if (explicit != NULL)
		n = snprintf(buf, len, "%s", explicit);
	else if (x != NULL && x[0] == '/')	/* XDG: relative is invalid */
		n = snprintf(buf, len, "%s/filestor-agent/config.json", x);
	else if (home != NULL && home[0] != '\0')
		n = snprintf(buf, len, "%s/.config/filestor-agent/config.json",
		    home);
	else {
		snprintf(err, errlen, "no --config, XDG_CONFIG_HOME or HOME "
		    "to find the config file");
		return -1;
	}
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "config path too long");
		return -1;
	}
	return 0;
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	agent_roots_free(c->roots, c->nroots);
	cry_wipe(c->key, sizeof(c->key));
	cJSON_Delete(c->doc);
	memset(c, 0, sizeof(*c));
}

/* The string member name of o, or NULL when absent; -1 when not a string. */
static int
str_member(const cJSON *o, const char *name, const char **out)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	if (it == NULL || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return -1;
	*out = it->valuestring;
	return 0;
}

/*
 * Open and read path into *text (malloc'd, NUL-terminated, *len bytes;
 * the caller wipes and frees it), after the checks of conf.h: a regular
 * file of ours, 0600 or less, at most CONF_MAX bytes. 0, or -1 with err.
 */
static int
conf_read(const char *path, char **text, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	*text = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
		    errno == ENOENT ? " (run filestor-agent enroll first)" : "");
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* The file holds the agent secret and the signing key. */
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: permissions 0%03o are too open: the "
		    "file holds secrets and must not be accessible by others; "
		    "run: chmod 600 %s", path, (unsigned)(st.st_mode & 0777),
		    path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by this user "
		    "(uid %u)", path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if (st.st_size > CONF_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    CONF_MAX);
		goto out;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (*text == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (*len < (size_t)st.st_size) {
		n = read(fd, *text + *len, (size_t)st.st_size - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: short read", path);
			goto out;
		}
		*len += (size_t)n;
	}
	(*text)[*len] = '\0';
	rc = 0;
out:
	close(fd);
	return rc;
}

/* The "tunnel" object's hostname and key, the ones serve.c needs. */
static int
conf_tunnel_keys(struct conf *c, const char *name, char *err, size_t errlen)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(c->doc, "tunnel");
	const char *key = NULL;
	char norm[AGENT_ORIGIN_MAX], e2[256];

	if (t == NULL || cJSON_IsNull(t))
		return 0;
	if (!cJSON_IsObject(t) ||
	    str_member(t, "hostname", &c->tunnel_hostname) == -1 ||
	    str_member(t, "key", &key) == -1) {
		snprintf(err, errlen, "%s: tunnel must be an object with "
		    "string hostname and key", name);
		return -1;
	}
	if (c->tunnel_hostname != NULL &&
	    agent_hostname_parse(c->tunnel_hostname, norm, c->origin,
	    e2, sizeof(e2)) == -1) {
		snprintf(err, errlen, "%s: tunnel.hostname: %s", name, e2);
		return -1;
	}
	if (key != NULL) {
		if (agent_key_decode(key, c->key) == -1) {
			snprintf(err, errlen, "%s: tunnel.key is not a signing "
			    "key (43 base64url characters)", name);
			return -1;
		}
		c->has_key = 1;
	}
	return 0;
}

int
conf_parse(const char *text, size_t len, const char *name, struct conf *c,
    char *err, size_t errlen)
{
	const cJSON *sec, *fl;
	char e2[256];
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->doc = cJSON_ParseWithOpts(text, NULL, 1);
	if (c->doc == NULL || !cJSON_IsObject(c->doc)) {
		snprintf(err, errlen, "%s: not a JSON object", name);
		goto out;
	}
	if (http_json_has_nul(text, len)) {
		snprintf(err, errlen, "%s: holds \\u0000 (a NUL would cut a "
		    "value short)", name);
		goto out;
	}
	sec = cJSON_GetObjectItemCaseSensitive(c->doc, "agentSecret");
	if (sec != NULL && !cJSON_IsNull(sec) && (!cJSON_IsString(sec) ||
	    !conf_secret_ok(sec->valuestring))) {
		/* Never echo it: it is a credential. */
		snprintf(err, errlen, "%s: agentSecret is not an agent secret "
		    "(%d to %d characters of A-Z a-z 0-9 - . _ ~ + /); "
		    "enroll again", name, CONF_SECRET_MIN, CONF_SECRET_MAX);
		goto out;
	}
	if (cJSON_IsString(sec))
		c->agent_secret = sec->valuestring;
	if (str_member(c->doc, "server", &c->server) == -1 ||
	    str_member(c->doc, "agentId", &c->agent_id) == -1 ||
	    str_member(c->doc, "name", &c->name) == -1 ||
	    str_member(c->doc, "listen", &c->listen) == -1 ||
	    str_member(c->doc, "corsOrigin", &c->cors_origin) == -1) {
		snprintf(err, errlen, "%s: server, agentId, name, listen and "
		    "corsOrigin must be strings", name);
		goto out;
	}
	fl = cJSON_GetObjectItemCaseSensitive(c->doc, "followSymlinks");
	if (fl != NULL && !cJSON_IsNull(fl) && !cJSON_IsBool(fl)) {
		snprintf(err, errlen, "%s: followSymlinks must be true or "
		    "false", name);
		goto out;
	}
	c->follow_symlinks = cJSON_IsTrue(fl);
	if (c->agent_id == NULL || !cry_is_uuid(c->agent_id)) {
		snprintf(err, errlen, "%s: agentId is missing or not a UUID "
		    "(run filestor-agent enroll)", name);
		goto out;
	}
	if (agent_roots_parse(cJSON_GetObjectItemCaseSensitive(c->doc,
	    "allowedRoots"), &c->roots, &c->nroots, e2, sizeof(e2)) == -1) {
		/* Fail closed: an agent without roots serves nothing. */
		snprintf(err, errlen, "%s: %s", name, e2);
		goto out;
	}
	if (conf_tunnel_keys(c, name, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		conf_free(c);
	return rc;
}

int
conf_load(const char *path, struct conf *c, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	if (conf_read(path, &text, &len, err, errlen) == -1)
		rc = -1;
	else
		rc = conf_parse(text, len, path, c, err, errlen);
	if (text != NULL) {
		cry_wipe(text, len);
		free(text);
	}
	return rc;
}

int
conf_secret_ok(const char *s)
{
	size_t n, i;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n < CONF_SECRET_MIN || n > CONF_SECRET_MAX)
		return 0;
	for (i = 0; i < n && s[i] != '='; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '.' || s[i] == '_' || s[i] == '~' ||
		    s[i] == '+' || s[i] == '/'))
			return 0;
	if (i == 0)
		return 0;
	for (; i < n; i++)
		if (s[i] != '=')
			return 0;
	return 1;
}

int
conf_enroll_answer(const char *text, size_t len, char id[37], char **secret,
    char *err, size_t errlen)
{
	const cJSON *jid, *jsec;
	cJSON *j = NULL;
	int rc = -1;

	id[0] = '\0';
	*secret = NULL;
	if (text == NULL || len == 0) {
		snprintf(err, errlen, "the server's answer is empty");
		goto out;
	}
	/* A NUL would cut the secret (or the id) short without a trace. */
	if (http_json_has_nul(text, len)) {
		snprintf(err, errlen, "the server's answer holds \\u0000");
		goto out;
	}
	j = cJSON_ParseWithLength(text, len);
	jid = cJSON_GetObjectItemCaseSensitive(j, "agentId");
	jsec = cJSON_GetObjectItemCaseSensitive(j, "agentSecret");
	if (!cJSON_IsString(jid) || !cry_is_uuid(jid->valuestring) ||
	    !cJSON_IsString(jsec)) {
		snprintf(err, errlen, "the server's answer has no agentId and "
		    "agentSecret");
		goto out;
	}
	/* It goes into a header of every heartbeat; never echo it. */
	if (!conf_secret_ok(jsec->valuestring)) {
		snprintf(err, errlen, "the server's answer has an invalid "
		    "agentSecret (%d to %d characters of A-Z a-z 0-9 - . _ ~ "
		    "+ /)", CONF_SECRET_MIN, CONF_SECRET_MAX);
		goto out;
	}
	*secret = strdup(jsec->valuestring);
	if (*secret == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(id, 37, "%s", jid->valuestring);
	rc = 0;
out:
	if (j != NULL && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j,
	    "agentSecret")))
		cry_wipe(cJSON_GetObjectItemCaseSensitive(j,
		    "agentSecret")->valuestring, strlen(
		    cJSON_GetObjectItemCaseSensitive(j,
		    "agentSecret")->valuestring));
	cJSON_Delete(j);
	return rc;
}

/* mkdir -p of dir with mode 0700 for what it creates. */
static int
mkdirs(const char *dir, char *err, size_t errlen)
{
	char buf[4096], *p;
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(buf)) {
		snprintf(err, errlen, "config directory path too long");
		return -1;
	}
	memcpy(buf, dir, n + 1);
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			char save = *p;

			*p = '\0';
			if (mkdir(buf, 0700) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "mkdir %s: %s", buf,
				    strerror(errno));
				return -1;
			}
			*p = save;
		}
		if (*p == '\0')
			break;
	}
	return 0;
}

int
conf_save(const char *path, const cJSON *doc, char *err, size_t errlen)
{
	char tmp[4200], dirbuf[4096], *dir, *text = NULL;
	size_t len;
	int fd = -1, rc = -1, n;

	if (strlen(path) >= sizeof(dirbuf) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "config path too long");
		goto out;
	}
	memcpy(dirbuf, path, strlen(path) + 1);
	dir = dirname(dirbuf);
	if (mkdirs(dir, err, errlen) == -1)
		goto out;
	text = cJSON_Print(doc);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	len = strlen(text);
	/* O_EXCL: never write secrets through someone else's file. */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	/* The umask may have taken bits away, never added: still set it. */
	if (fchmod(fd, 0600) == -1)
		goto ioerr;
	if (fio_write_all(fd, text, len) == -1 ||
	    write(fd, "\n", 1) != 1 || fsync(fd) == -1)
		goto ioerr;
	n = fio_publish(fd, tmp, path);
	fd = -1;
	if (n == -1)
		goto ioerr;
	rc = 0;
	goto out;
ioerr:
	snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
	(void)unlink(tmp);
out:
	if (fd != -1) {
		close(fd);
		(void)unlink(tmp);
	}
	if (text != NULL) {
		cry_wipe(text, strlen(text));
		cJSON_free(text);
	}
	return rc;
}

/* --- the tunnel supervisor's settings (conf_tunnel_parse) */

static const cJSON *
member(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	return it == NULL || cJSON_IsNull(it) ? NULL : it;
}

/* Refuse members not in allowed: a typo must not silently mean default. */
static int
known_keys(const cJSON *o, const char *where, const char *const *allowed,
    char *err, size_t errlen)
{
	const cJSON *it;
	const char *const *p;

	cJSON_ArrayForEach(it, o) {
		for (p = allowed; *p != NULL; p++)
			if (strcmp(it->string, *p) == 0)
				break;
		if (*p == NULL) {
			snprintf(err, errlen, "%s.%.64s: unknown key", where,
			    it->string);
			return -1;
		}
	}
	return 0;
}

static int
get_int(const cJSON *o, const char *where, const char *name, int lo, int hi,
    int def, int *out, char *err, size_t errlen)
{
	const cJSON *it = member(o, name);

	*out = def;
	if (it == NULL)
		return 0;
	/* The range first: casting a huge double is undefined. */
	if (!cJSON_IsNumber(it) || it->valuedouble < lo ||
	    it->valuedouble > hi || it->valuedouble != (double)(long)
	    it->valuedouble) {
		if (cJSON_IsNumber(it))
			snprintf(err, errlen, "%s.%s must be an integer from "
			    "%d to %d (got %g)", where, name, lo, hi,
			    it->valuedouble);
		else
			snprintf(err, errlen, "%s.%s must be an integer from "
			    "%d to %d", where, name, lo, hi);
		return -1;
	}
	*out = (int)it->valuedouble;
	return 0;
}

/* A string member that must be one of choices (NULL-terminated). */
static int
get_enum(const cJSON *o, const char *where, const char *name,
    const char *const *choices, const char *def, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const cJSON *it = member(o, name);
	const char *const *p;
	char list[128] = "";

	snprintf(out, outlen, "%s", def);
	if (it == NULL)
		return 0;
	for (p = choices; *p != NULL; p++) {
		if (cJSON_IsString(it) && strcmp(it->valuestring, *p) == 0) {
			snprintf(out, outlen, "%s", *p);
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s\"%s\"", p == choices ? "" : ", ", *p);
	}
	if (cJSON_IsString(it))
		snprintf(err, errlen, "%s.%s must be one of %s (got \"%.32s\")",
		    where, name, list, it->valuestring);
	else
		snprintf(err, errlen, "%s.%s must be one of %s", where, name,
		    list);
	return -1;
}

/* Find an executable: as given when it has a '/', else on PATH. */
static int
resolve_path(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH"), *p, *colon;
	struct stat st;
	size_t n;

	if (strchr(name, '/') != NULL) {
		if (stat(name, &st) == -1 || !S_ISREG(st.st_mode) ||
		    access(name, X_OK) == -1)
			return -1;
		snprintf(out, outlen, "%s", name);
		return 0;
	}
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = colon + 1) {
		colon = strchr(p, ':');
		n = colon != NULL ? (size_t)(colon - p) : strlen(p);
		if (n > 0 && snprintf(out, outlen, "%.*s/%s", (int)n, p,
		    name) < (int)outlen && stat(out, &st) == 0 &&
		    S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 0;
		if (colon == NULL)
			break;
	}
	return -1;
}

/* A tunnel token: base64 (std or url) text, the form cloudflared takes. */
static int
token_ok(const char *t)
{
	size_t n = strlen(t), i;

	if (n == 0 || n > 4096)
		return 0;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'A' && t[i] <= 'Z') ||
		    (t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '+' ||
		    t[i] == '/' || t[i] == '=' || t[i] == '-' || t[i] == '_'))
			return 0;
	return 1;
}

static int
local_addr_ok(const char *a)
{
	const char *colon = strrchr(a, ':');
	size_t i;
	long port;
	char *end;

	if (colon == NULL || colon == a || strlen(a) >= 128)
		return 0;
	for (i = 0; a[i] != '\0'; i++)
		if (a[i] <= ' ' || a[i] == 0x7f || a[i] == '/' || a[i] == '@')
			return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return errno == 0 && *end == '\0' && end != colon + 1 && port >= 1 &&
	    port <= 65535;
}

/*
 * A string member of cf that may name the environment: literal,
 * "${ENVNAME}", or, when absent, $ENVNAME. 0 with *v (NULL when unset;
 * valid while cf and the environment are), or -1 with err. The value
 * is never echoed: these are credentials.
 */
static int
expand_member(const cJSON *cf, const char *name, const char *envname,
    const char **v, char *err, size_t errlen)
{
	const cJSON *it = member(cf, name);
	const char *env = getenv(envname);
	char form[64];

	*v = NULL;
	snprintf(form, sizeof(form), "${%s}", envname);
	if (it != NULL && !cJSON_IsString(it)) {
		snprintf(err, errlen, "tunnel.cloudflare.%s must be a string",
		    name);
		return -1;
	}
	if (it != NULL && strcmp(it->valuestring, form) == 0) {
		if (env == NULL || env[0] == '\0') {
			snprintf(err, errlen, "tunnel.cloudflare.%s is \"%s\" "
			    "but that variable is not set", name, form);
			return -1;
		}
		*v = env;
	} else if (it != NULL) {
		if (strncmp(it->valuestring, "${", 2) == 0) {
			snprintf(err, errlen, "tunnel.cloudflare.%s: only %s "
			    "is expanded", name, form);
			return -1;
		}
		*v = it->valuestring;
	} else if (env != NULL && env[0] != '\0')
		*v = env;
	return 0;
}

/*
 * One half of an Access service token (expand_member). Printable ASCII
 * without space, so never a CR or LF in the header it goes into. 0 with
 * out filled (empty when unset), or -1 with err.
 */
static int
access_member(const cJSON *cf, const char *name, const char *envname,
    char *out, size_t outlen, char *err, size_t errlen)
{
	const char *v;
	size_t i, n;

	out[0] = '\0';
	if (expand_member(cf, name, envname, &v, err, errlen) == -1)
		return -1;
	if (v == NULL)
		return 0;
	n = strlen(v);
	for (i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] >= 0x7f)
			break;
	if (n == 0 || n >= outlen || i < n) {
		snprintf(err, errlen, "tunnel.cloudflare.%s must be 1 to %zu "
		    "printable ASCII characters without spaces", name,
		    outlen - 1);
		return -1;
	}
	memcpy(out, v, n + 1);
	return 0;
}

/* cloudflared's own settings, its path, and the public hostname. */
static int
tunnel_settings(const cJSON *cf, struct conf_tunnel *tc, char *err,
    size_t errlen)
{
	static const char *const ckeys[] = { "mode", "token", "hostname",
	    "cloudflared_path", "protocol", "edge_ip_version", "retries",
	    "grace_period_secs", "metrics_port", "log_level",
	    "health_url_override", "access_client_id",
	    "access_client_secret", NULL };
	static const char *const modes[] = { "quick", "named", NULL };
	static const char *const protos[] = { "auto", "quic", "http2", NULL };
	static const char *const ips[] = { "auto", "4", "6", NULL };
	static const char *const levels[] = { "debug", "info", "warn",
	    "error", NULL };
	const char *C = "tunnel.cloudflare";
	const cJSON *it;
	char mode[8], norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX];
	char e2[256];

	if (known_keys(cf, C, ckeys, err, errlen) == -1 ||
	    get_enum(cf, C, "mode", modes, "quick", mode, sizeof(mode), err,
	    errlen) == -1 ||
	    get_enum(cf, C, "protocol", protos, "auto", tc->protocol,
	    sizeof(tc->protocol), err, errlen) == -1 ||
	    get_enum(cf, C, "log_level", levels, "info", tc->log_level,
	    sizeof(tc->log_level), err, errlen) == -1 ||
	    get_int(cf, C, "retries", 0, 20, 5, &tc->retries, err,
	    errlen) == -1 ||
	    get_int(cf, C, "grace_period_secs", 0, CONF_GRACE_MAX, 30,
	    &tc->grace, err, errlen) == -1 ||
	    get_int(cf, C, "metrics_port", 1, 65535, 0, &tc->metrics_port, err,
	    errlen) == -1)
		return -1;
	tc->quick = strcmp(mode, "quick") == 0;
	/* edge_ip_version: "auto", "4", "6", or the numbers 4 and 6. */
	it = member(cf, "edge_ip_version");
	if (it != NULL && cJSON_IsNumber(it) && (it->valuedouble == 4 ||
	    it->valuedouble == 6))
		snprintf(tc->edge_ip, sizeof(tc->edge_ip), "%d",
		    (int)it->valuedouble);
	else if (get_enum(cf, C, "edge_ip_version", ips, "auto", tc->edge_ip,
	    sizeof(tc->edge_ip), err, errlen) == -1)
		return -1;

	it = member(cf, "cloudflared_path");
	if (it != NULL && (!cJSON_IsString(it) || it->valuestring[0] == '\0')) {
		snprintf(err, errlen, "tunnel.cloudflare.cloudflared_path must "
		    "be a non-empty string");
		return -1;
	}
	if (resolve_path(it != NULL ? it->valuestring : "cloudflared",
	    tc->path, sizeof(tc->path)) == -1) {
		snprintf(err, errlen, "tunnel.cloudflare.cloudflared_path: "
		    "\"%.200s\" is not an executable file%s",
		    it != NULL ? it->valuestring : "cloudflared",
		    it == NULL ? " on PATH (install cloudflared)" : "");
		return -1;
	}

	it = member(cf, "hostname");
	if (it != NULL) {
		if (!cJSON_IsString(it) || agent_hostname_parse(it->valuestring,
		    norm, origin, e2, sizeof(e2)) == -1 ||
		    strncmp(norm, "http", 4) == 0) {
			snprintf(err, errlen, "tunnel.cloudflare.hostname must "
			    "be a DNS name such as agent.example.com%s%s",
			    cJSON_IsString(it) ? ": " : "",
			    cJSON_IsString(it) ? e2 : "");
			return -1;
		}
		snprintf(tc->hostname, sizeof(tc->hostname), "%s", norm);
	}
	return 0;
}

/* The token: literal, "${CLOUDFLARE_TUNNEL_TOKEN}", or that alone. */
static int
tunnel_token(const cJSON *cf, struct conf_tunnel *tc, char *err,
    size_t errlen)
{
	const char *tok;

	if (expand_member(cf, "token", "CLOUDFLARE_TUNNEL_TOKEN", &tok, err,
	    errlen) == -1)
		return -1;
	if (tc->quick)
		return 0;
	if (tok == NULL) {
		snprintf(err, errlen, "tunnel.cloudflare.token is required in "
		    "named mode (or set CLOUDFLARE_TUNNEL_TOKEN)");
		return -1;
	}
	if (tc->hostname[0] == '\0') {
		snprintf(err, errlen, "tunnel.cloudflare.hostname is required "
		    "in named mode");
		return -1;
	}
	/* Never echo the value: it is a credential. */
	if (!token_ok(tok)) {
		snprintf(err, errlen, "tunnel.cloudflare.token is not a tunnel "
		    "token (base64 text from `cloudflared tunnel token NAME`)");
		return -1;
	}
	tc->token = strdup(tok);
	if (tc->token == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* What the health probe needs: the URL it reads, Access, a test hook. */
static int
tunnel_probe(const cJSON *cf, struct conf_tunnel *tc, char *err,
    size_t errlen)
{
	const cJSON *it;

	if (tc->quick && (strcmp(tc->log_level, "warn") == 0 ||
	    strcmp(tc->log_level, "error") == 0) && tc->metrics_port == 0) {
		/* The URL is an INF line: without it only /quicktunnel. */
		snprintf(err, errlen, "tunnel.cloudflare.log_level \"%s\" hides "
		    "the quick tunnel URL: use \"info\" or set "
		    "tunnel.cloudflare.metrics_port", tc->log_level);
		return -1;
	}
	/* A Cloudflare Access service token, for the public probe only. */
	if (access_member(cf, "access_client_id", "CF_ACCESS_CLIENT_ID",
	    tc->access_id, sizeof(tc->access_id), err, errlen) == -1 ||
	    access_member(cf, "access_client_secret",
	    "CF_ACCESS_CLIENT_SECRET", tc->access_secret,
	    sizeof(tc->access_secret), err, errlen) == -1)
		return -1;
	if ((tc->access_id[0] == '\0') != (tc->access_secret[0] == '\0')) {
		snprintf(err, errlen, "tunnel.cloudflare.access_client_id and "
		    "access_client_secret go together: set both or neither");
		return -1;
	}
	it = member(cf, "health_url_override");
	if (it != NULL) {
		if (!cJSON_IsString(it) || (strncmp(it->valuestring, "http://",
		    7) != 0 && strncmp(it->valuestring, "https://", 8) != 0) ||
		    strlen(it->valuestring) >= sizeof(tc->health_url) ||
		    strpbrk(it->valuestring, " \r\n\t") != NULL) {
			snprintf(err, errlen, "tunnel.cloudflare."
			    "health_url_override must be an http(s) URL");
			return -1;
		}
		snprintf(tc->health_url, sizeof(tc->health_url), "%s",
		    it->valuestring);
	}
	return 0;
}

int
conf_tunnel_parse(const cJSON *t, struct conf_tunnel *tc, char *err,
    size_t errlen)
{
	static const char *const tkeys[] = { "hostname", "key", "backend",
	    "local_addr", "health_check_interval_secs", "max_failures",
	    "cloudflare", NULL };
	static const char *const backends[] = { "cloudflare", NULL };
	const char *T = "tunnel";
	const cJSON *cf, *it;
	char be[16];
	cJSON *empty = NULL;
	int rc = -1;

	memset(tc, 0, sizeof(*tc));
	if (t == NULL || cJSON_IsNull(t))
		return 0;
	if (!cJSON_IsObject(t)) {
		snprintf(err, errlen, "tunnel must be an object");
		return -1;
	}
	if (known_keys(t, T, tkeys, err, errlen) == -1)
		return -1;
	if (member(t, "backend") == NULL) {
		if (member(t, "cloudflare") != NULL) {
			snprintf(err, errlen, "tunnel.backend is required with "
			    "tunnel.cloudflare (\"cloudflare\")");
			return -1;
		}
		return 0;	/* a tunnel run by someone else */
	}
	if (get_enum(t, T, "backend", backends, "cloudflare", be, sizeof(be),
	    err, errlen) == -1)
		return -1;
	tc->enabled = 1;
	it = member(t, "local_addr");
	if (it != NULL) {
		if (!cJSON_IsString(it) || !local_addr_ok(it->valuestring)) {
			snprintf(err, errlen, "tunnel.local_addr must be "
			    "host:port, for example \"127.0.0.1:8443\"");
			goto out;
		}
		snprintf(tc->local_addr, sizeof(tc->local_addr), "%s",
		    it->valuestring);
	}
	if (get_int(t, T, "health_check_interval_secs", 1, 3600, 30,
	    &tc->interval, err, errlen) == -1 ||
	    get_int(t, T, "max_failures", 1, 1000, 3, &tc->max_failures, err,
	    errlen) == -1)
		goto out;
	cf = member(t, "cloudflare");
	if (cf != NULL && !cJSON_IsObject(cf)) {
		snprintf(err, errlen, "tunnel.cloudflare must be an object");
		goto out;
	}
	if (cf == NULL)
		cf = empty = cJSON_CreateObject();
	if (cf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (tunnel_settings(cf, tc, err, errlen) == -1 ||
	    tunnel_token(cf, tc, err, errlen) == -1 ||
	    tunnel_probe(cf, tc, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	cJSON_Delete(empty);
	if (rc == -1)
		conf_tunnel_free(tc);
	return rc;
}

void
conf_tunnel_free(struct conf_tunnel *tc)
{
	if (tc->token != NULL) {
		cry_wipe(tc->token, strlen(tc->token));
		free(tc->token);
	}
	cry_wipe(tc->access_id, sizeof(tc->access_id));
	cry_wipe(tc->access_secret, sizeof(tc->access_secret));
	memset(tc, 0, sizeof(*tc));
}
