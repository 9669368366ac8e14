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

int
conf_load(const char *path, struct conf *c, char *err, size_t errlen)
{
	struct stat st;
	const cJSON *t, *sec, *fl;
	const char *key = NULL;
	char *text = NULL, norm[AGENT_ORIGIN_MAX], e2[256];
	ssize_t n;
	size_t got = 0;
	int fd = -1, rc = -1;

	memset(c, 0, sizeof(*c));
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
		    errno == ENOENT ? " (run filestor-agent enroll first)" : "");
		goto out;
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
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, text + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: short read", path);
			goto out;
		}
		got += (size_t)n;
	}
	text[got] = '\0';
	c->doc = cJSON_ParseWithOpts(text, NULL, 1);
	if (c->doc == NULL || !cJSON_IsObject(c->doc)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		goto out;
	}
	if (http_json_has_nul(text, got)) {
		snprintf(err, errlen, "%s: holds \\u0000 (a NUL would cut a "
		    "value short)", path);
		goto out;
	}
	sec = cJSON_GetObjectItemCaseSensitive(c->doc, "agentSecret");
	if (sec != NULL && !cJSON_IsNull(sec) && (!cJSON_IsString(sec) ||
	    !conf_secret_ok(sec->valuestring))) {
		/* Never echo it: it is a credential. */
		snprintf(err, errlen, "%s: agentSecret is not an agent secret "
		    "(%d to %d characters of A-Z a-z 0-9 - . _ ~ + /); "
		    "enroll again", path, CONF_SECRET_MIN, CONF_SECRET_MAX);
		goto out;
	}
	if (str_member(c->doc, "server", &c->server) == -1 ||
	    str_member(c->doc, "agentId", &c->agent_id) == -1 ||
	    str_member(c->doc, "name", &c->name) == -1 ||
	    str_member(c->doc, "listen", &c->listen) == -1 ||
	    str_member(c->doc, "corsOrigin", &c->cors_origin) == -1) {
		snprintf(err, errlen, "%s: server, agentId, name, listen and "
		    "corsOrigin must be strings", path);
		goto out;
	}
	fl = cJSON_GetObjectItemCaseSensitive(c->doc, "followSymlinks");
	if (fl != NULL && !cJSON_IsNull(fl) && !cJSON_IsBool(fl)) {
		snprintf(err, errlen, "%s: followSymlinks must be true or "
		    "false", path);
		goto out;
	}
	c->follow_symlinks = cJSON_IsTrue(fl);
	if (c->agent_id == NULL || !cry_is_uuid(c->agent_id)) {
		snprintf(err, errlen, "%s: agentId is missing or not a UUID "
		    "(run filestor-agent enroll)", path);
		goto out;
	}
	if (agent_roots_parse(cJSON_GetObjectItemCaseSensitive(c->doc,
	    "allowedRoots"), &c->roots, &c->nroots, e2, sizeof(e2)) == -1) {
		/* Fail closed: an agent without roots serves nothing. */
		snprintf(err, errlen, "%s: %s", path, e2);
		goto out;
	}
	t = cJSON_GetObjectItemCaseSensitive(c->doc, "tunnel");
	if (t != NULL && !cJSON_IsNull(t)) {
		if (!cJSON_IsObject(t) ||
		    str_member(t, "hostname", &c->tunnel_hostname) == -1 ||
		    str_member(t, "key", &key) == -1) {
			snprintf(err, errlen, "%s: tunnel must be an object with "
			    "string hostname and key", path);
			goto out;
		}
		if (c->tunnel_hostname != NULL &&
		    agent_hostname_parse(c->tunnel_hostname, norm, c->origin,
		    e2, sizeof(e2)) == -1) {
			snprintf(err, errlen, "%s: tunnel.hostname: %s", path,
			    e2);
			goto out;
		}
		if (key != NULL) {
			if (agent_key_decode(key, c->key) == -1) {
				snprintf(err, errlen, "%s: tunnel.key is not a "
				    "signing key (43 base64url characters)",
				    path);
				goto out;
			}
			c->has_key = 1;
		}
	}
	rc = 0;
out:
	if (text != NULL) {
		cry_wipe(text, got);
		free(text);
	}
	if (fd != -1)
		close(fd);
	if (rc == -1)
		conf_free(c);
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
	size_t len, off = 0;
	ssize_t n;
	int fd = -1, rc = -1;

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
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto ioerr;
		off += (size_t)n;
	}
	if (write(fd, "\n", 1) != 1 || fsync(fd) == -1)
		goto ioerr;
	if (close(fd) == -1) {
		fd = -1;
		goto ioerr;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
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
