/*
 * filestor-agent: the daemon on a file host (DESIGN §9, docs/agents.md).
 *
 *   filestor-agent [--config PATH] enroll --server URL --token T --name N
 *       --allowed-roots DIR[,DIR] [--force]
 *   filestor-agent [--config PATH] configure-tunnel --hostname H --key K|-
 *   filestor-agent [--config PATH] run [--listen IP:PORT]
 *       [--cors-origin ORIGIN] [--threads N]
 *       [--no-symlinks | --follow-symlinks]
 *   filestor-agent [--config PATH] status [--listen IP:PORT]
 *
 * run is a setup, then the HTTP server's own threads, then this thread's
 * loop over signals. The loop wakes once a second (ten times a second
 * when it supervises cloudflared, supervise.c, whose timers need finer
 * steps under the test time scale).
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent.h"
#include "cli.h"
#include "conf.h"
#include "cry.h"
#include "http.h"
#include "logsafe.h"
#include "serve.h"
#include "supervise.h"

#define RESP_MAX	(64 * 1024)	/* bytes of a server answer we read */
#define NOFILE_WANT	65536		/* descriptors, as LimitNOFILE= */
#define KEY_LINE_MAX	256

/* --- enroll */

struct membuf {
	char	*buf;
	size_t	 len;
	int	 over;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *cls)
{
	struct membuf *m = cls;
	size_t n = size * nmemb;
	char *nb;

	if (m->len + n > RESP_MAX) {
		m->over = 1;
		return 0;
	}
	nb = realloc(m->buf, m->len + n + 1);
	if (nb == NULL)
		return 0;
	m->buf = nb;
	memcpy(m->buf + m->len, data, n);
	m->len += n;
	m->buf[m->len] = '\0';
	return n;
}

/* POST json to url; the status in *status and the body in *m. 0 or -1. */
static int
post_json(const char *url, const char *json, long *status, struct membuf *m)
{
	struct curl_slist *h = NULL;
	CURL *cu;
	CURLcode cc = CURLE_FAILED_INIT;

	cu = curl_easy_init();
	if (cu == NULL)
		return -1;
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, m);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	cc = curl_easy_perform(cu);
	if (cc == CURLE_OK)
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, status);
	else
		cli_fail("POST %s: %s", url, curl_easy_strerror(cc));
	curl_slist_free_all(h);
	curl_easy_cleanup(cu);
	return cc == CURLE_OK ? 0 : -1;
}

/* Split "a,b" into a JSON array of validated, existing directories. */
static cJSON *
roots_from_arg(const char *arg)
{
	cJSON *arr = cJSON_CreateArray();
	char *copy = strdup(arg), *p, *comma;
	struct stat st;

	if (arr == NULL || copy == NULL)
		goto fail;
	for (p = copy; p != NULL; p = comma) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma++ = '\0';
		if (!agent_path_ok(p, strlen(p))) {
			cli_fail("allowed root \"%s\" must be an absolute, "
			    "normalized path (no \"..\", \".\", \"//\" or "
			    "trailing \"/\")", p);
			goto fail;
		}
		if (stat(p, &st) == -1 || !S_ISDIR(st.st_mode)) {
			cli_fail("allowed root %s is not a directory", p);
			goto fail;
		}
		cJSON_AddItemToArray(arr, cJSON_CreateString(p));
	}
	free(copy);
	return arr;
fail:
	free(copy);
	cJSON_Delete(arr);
	return NULL;
}

static int
cmd_enroll(const char *cfg, int argc, char *argv[])
{
	static const char *const vals[] = { "--server", "--token", "--name",
	    "--allowed-roots", NULL };
	static const char *const flags[] = { "--force", NULL };
	struct cli_args o;
	struct membuf m = { NULL, 0, 0 };
	struct stat st;
	const char *server, *token, *name, *roots_arg;
	const cJSON *je;
	cJSON *req = NULL, *roots = NULL, *resp = NULL, *doc = NULL;
	char *json = NULL, *url = NULL, *secret = NULL, err[512], id[37];
	char msg[1024];
	size_t slen, n;
	long status = 0;
	int ret = 1;

	if (cli_parse(argc, argv, vals, flags, 0, &o) == -1)
		return 2;
	server = cli_opt(&o, "--server");
	token = cli_opt(&o, "--token");
	name = cli_opt(&o, "--name");
	roots_arg = cli_opt(&o, "--allowed-roots");
	if (server == NULL || token == NULL || name == NULL ||
	    roots_arg == NULL)
		return cli_fail("usage: filestor-agent enroll --server URL --token T "
		    "--name N --allowed-roots DIR[,DIR] [--force]");
	if (strncmp(server, "https://", 8) != 0 &&
	    strncmp(server, "http://", 7) != 0)
		return cli_fail("--server must be an http(s):// URL");
	if (strncmp(server, "http://", 7) == 0)
		fprintf(stderr, "filestor-agent: warning: --server is plain "
		    "http; the agent secret crosses the network in clear\n");
	if (!agent_name_ok(name))
		return cli_fail("--name must be 1 to %d bytes without control "
		    "characters", AGENT_NAME_MAX);
	if (stat(cfg, &st) == 0 && cli_opt(&o, "--force") == NULL)
		return cli_fail("%s exists: this host is enrolled already (use "
		    "--force to enroll again)", cfg);
	roots = roots_from_arg(roots_arg);
	if (roots == NULL)
		goto out;

	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "token", token);
	cJSON_AddStringToObject(req, "name", name);
	cJSON_AddItemReferenceToObject(req, "allowedRoots", roots);
	json = cJSON_PrintUnformatted(req);
	slen = strlen(server);
	while (slen > 0 && server[slen - 1] == '/')
		slen--;
	n = slen + sizeof("/api/agents/enroll");
	url = malloc(n);
	if (json == NULL || url == NULL) {
		cli_fail("out of memory");
		goto out;
	}
	snprintf(url, n, "%.*s/api/agents/enroll", (int)slen, server);
	if (post_json(url, json, &status, &m) == -1)
		goto out;
	resp = m.buf != NULL ? cJSON_Parse(m.buf) : NULL;
	if (status != 201) {
		je = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(resp,
		    "error"), "message");
		/* The server's words, to a terminal: escaped, and bounded. */
		if (cJSON_IsString(je))
			logsafe_escape(je->valuestring, strnlen(je->valuestring,
			    sizeof(msg) / 4 - 1), msg, sizeof(msg));
		cli_fail("enrollment refused (HTTP %ld): %s", status,
		    cJSON_IsString(je) ? msg : "no message");
		goto out;
	}
	if (conf_enroll_answer(m.buf, m.len, id, &secret, err,
	    sizeof(err)) == -1) {
		cli_fail("%s: not saved", err);
		goto out;
	}
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "server", server);
	cJSON_AddStringToObject(doc, "agentId", id);
	cJSON_AddStringToObject(doc, "agentSecret", secret);
	cJSON_AddStringToObject(doc, "name", name);
	cJSON_AddItemReferenceToObject(doc, "allowedRoots", roots);
	cJSON_AddStringToObject(doc, "listen", CONF_LISTEN_DEFAULT);
	if (conf_save(cfg, doc, err, sizeof(err)) == -1) {
		cli_fail("enrolled as %s but cannot save the config: %s",
		    id, err);
		goto out;
	}
	printf("%s\n", id);
	fprintf(stderr, "filestor-agent: enrolled as %s; config in %s\n",
	    id, cfg);
	ret = 0;
out:
	if (m.buf != NULL) {
		cry_wipe(m.buf, m.len);
		free(m.buf);
	}
	if (secret != NULL) {
		cry_wipe(secret, strlen(secret));
		free(secret);
	}
	if (doc != NULL && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc,
	    "agentSecret")))
		cry_wipe(cJSON_GetObjectItemCaseSensitive(doc,
		    "agentSecret")->valuestring, strlen(
		    cJSON_GetObjectItemCaseSensitive(doc,
		    "agentSecret")->valuestring));
	cJSON_Delete(doc);
	cJSON_Delete(resp);
	cJSON_Delete(req);
	cJSON_Delete(roots);
	cJSON_free(json);
	free(url);
	return ret;
}

/* --- configure-tunnel */

/* obj.name = a copy of val, in place when the member exists (the order
 * of the members in the file stays as the operator wrote it). */
static int
set_str(cJSON *obj, const char *name, const char *val)
{
	cJSON *v;

	if (cJSON_GetObjectItemCaseSensitive(obj, name) == NULL)
		return cJSON_AddStringToObject(obj, name, val) == NULL ? -1 : 0;
	v = cJSON_CreateString(val);
	if (v == NULL)
		return -1;
	if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v)) {
		cJSON_Delete(v);
		return -1;
	}
	return 0;
}

static int
cmd_configure_tunnel(const char *cfg, int argc, char *argv[])
{
	static const char *const vals[] = { "--hostname", "--key", NULL };
	static const char *const flags[] = { NULL };
	struct cli_args o;
	struct conf c;
	unsigned char key[AGENT_KEY_LEN];
	const char *host, *karg;
	char norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX], err[512];
	char line[KEY_LINE_MAX];
	cJSON *t;
	size_t n;
	int ret = 1;

	memset(&c, 0, sizeof(c));
	if (cli_parse(argc, argv, vals, flags, 0, &o) == -1)
		return 2;
	host = cli_opt(&o, "--hostname");
	karg = cli_opt(&o, "--key");
	if (host == NULL || karg == NULL)
		return cli_fail("usage: filestor-agent configure-tunnel --hostname H "
		    "--key K (or --key - to read it from stdin)");
	if (agent_hostname_parse(host, norm, origin, err, sizeof(err)) == -1)
		return cli_fail("--hostname: %s", err);
	/* "-": keep the key out of the process list and shell history. */
	if (strcmp(karg, "-") == 0) {
		if (fgets(line, sizeof(line), stdin) == NULL)
			return cli_fail("no key on stdin");
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		karg = line;
	}
	if (agent_key_decode(karg, key) == -1) {
		cli_fail("--key must be the signing key shown when the tunnel was "
		    "enabled (43 base64url characters)");
		goto out;
	}
	if (conf_load(cfg, &c, err, sizeof(err)) == -1) {
		cli_fail("%s", err);
		goto out;
	}
	/*
	 * Only hostname and key change: the supervisor settings beside them
	 * (backend, cloudflare, ...) stay, so a key rotation never stops
	 * the agent from running cloudflared. conf_load has checked that
	 * tunnel is an object when present.
	 */
	t = cJSON_GetObjectItemCaseSensitive(c.doc, "tunnel");
	if (t == NULL || cJSON_IsNull(t)) {
		cJSON_DeleteItemFromObjectCaseSensitive(c.doc, "tunnel");
		t = cJSON_AddObjectToObject(c.doc, "tunnel");
	}
	if (t == NULL || set_str(t, "hostname", norm) == -1 ||
	    set_str(t, "key", karg) == -1) {
		cli_fail("out of memory");
		goto out;
	}
	if (conf_save(cfg, c.doc, err, sizeof(err)) == -1) {
		cli_fail("%s", err);
		goto out;
	}
	fprintf(stderr, "filestor-agent: tunnel %s configured in %s; restart "
	    "the agent (systemctl --user restart filestor-agent)\n", origin,
	    cfg);
	ret = 0;
out:
	cry_wipe(key, sizeof(key));
	cry_wipe(line, sizeof(line));
	conf_free(&c);
	return ret;
}

/* --- run */

/*
 * Raise the soft limit on descriptors to the hard one, up to NOFILE_WANT
 * (the unit's LimitNOFILE): serve_start sizes connections and downloads
 * from it, with a reserve for /healthz (lim.h). Nothing here uses
 * select(), so a high limit costs nothing.
 */
static void
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = NOFILE_WANT;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		want = rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fprintf(stderr, "filestor-agent: warning: cannot raise the "
		    "descriptor limit to %llu: %s\n", (unsigned long long)want,
		    strerror(errno));
}

static unsigned
default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static int
cmd_run(const char *cfg, int argc, char *argv[])
{
	static const char *const vals[] = { "--listen", "--cors-origin",
	    "--threads", NULL };
	static const char *const flags[] = { "--no-symlinks",
	    "--follow-symlinks", NULL };
	struct cli_args o;
	struct conf c;
	struct server *srv = NULL;
	struct sup *sup = NULL;
	struct sup_conf sc;
	struct timespec tick = { 1, 0 }, last, now;
	sigset_t set;
	siginfo_t si;
	const char *listen, *cors, *th;
	char err[512], norm[AGENT_ORIGIN_MAX], corsbuf[AGENT_ORIGIN_MAX];
	char state[PATH_MAX];
	long long threads = default_threads();
	int sig, nolinks, ret = 1;

	memset(&c, 0, sizeof(c));
	memset(&sc, 0, sizeof(sc));
	if (cli_parse(argc, argv, vals, flags, 0, &o) == -1)
		return 2;
	th = cli_opt(&o, "--threads");
	if (th != NULL && http_parse_ll(th, 1, 64, &threads) == -1)
		return cli_fail("--threads must be 1 to 64");
	if (cli_opt(&o, "--no-symlinks") != NULL &&
	    cli_opt(&o, "--follow-symlinks") != NULL)
		return cli_fail("--no-symlinks and --follow-symlinks exclude "
		    "each other");
	if (conf_load(cfg, &c, err, sizeof(err)) == -1)
		return cli_fail("refusing to start: %s", err);
	/*
	 * Refuse every symlink unless asked (issue 14): the path that an
	 * agent_files condition authorized must be the file served, and a
	 * link inside a root would let pub/x reach priv/. The flags win
	 * over the config's followSymlinks.
	 */
	nolinks = !c.follow_symlinks;
	if (cli_opt(&o, "--follow-symlinks") != NULL)
		nolinks = 0;
	if (cli_opt(&o, "--no-symlinks") != NULL)
		nolinks = 1;
	listen = cli_opt(&o, "--listen");
	if (listen == NULL)
		listen = c.listen != NULL ? c.listen : CONF_LISTEN_DEFAULT;
	/* Every tunnel setting is checked before anything starts. */
	if (sup_conf_parse(cJSON_GetObjectItemCaseSensitive(c.doc, "tunnel"),
	    &sc, err, sizeof(err)) == -1) {
		cli_fail("refusing to start: %s: %s", cfg, err);
		goto out;
	}
	if (sc.enabled && sc.local_addr[0] == '\0')
		snprintf(sc.local_addr, sizeof(sc.local_addr), "%s", listen);
	if (sc.enabled && sup_state_path(cfg, state, sizeof(state)) == -1) {
		cli_fail("refusing to start: config path too long");
		goto out;
	}
	cors = cli_opt(&o, "--cors-origin");
	if (cors == NULL)
		cors = c.cors_origin;
	if (cors != NULL) {
		/* One exact origin; it goes into a header as given. */
		snprintf(err, sizeof(err), "not http:// or https://");
		if (strncmp(cors, "http", 4) != 0 ||
		    agent_hostname_parse(cors, norm, corsbuf, err,
		    sizeof(err)) == -1) {
			cli_fail("refusing to start: --cors-origin must be an "
			    "origin http(s)://host[:port]: %s", err);
			goto out;
		}
		cors = corsbuf;
	}

	/*
	 * Block the signals before any thread exists, so that they all
	 * reach this thread's sigtimedwait and none a server thread.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	raise_nofile();
	srv = serve_start(&c, listen, cors, nolinks, (unsigned)threads, err,
	    sizeof(err));
	if (srv == NULL) {
		cli_fail("refusing to start: %s", err);
		goto out;
	}
	fprintf(stderr, "filestor-agent: agent %s serving %zu root(s) on "
	    "http://%s (tunnel %s)\n", c.agent_id, c.nroots, listen,
	    c.has_key ? c.origin : "not configured");
	if (sc.enabled) {
		sup = sup_start(&sc, &c, state, err, sizeof(err));
		if (sup == NULL) {
			cli_fail("refusing to start: %s", err);
			goto out;
		}
		tick.tv_sec = 0;
		tick.tv_nsec = 100 * 1000 * 1000;
	}
	clock_gettime(CLOCK_MONOTONIC, &last);
	for (;;) {
		sig = sigtimedwait(&set, &si, &tick);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGHUP)
			fprintf(stderr, "filestor-agent: SIGHUP: restart the "
			    "agent to reload its config\n");
		sup_tick(sup);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec != last.tv_sec) {
			serve_tick(srv);
			last = now;
		}
	}
	fprintf(stderr, "filestor-agent: stopping\n");
	ret = 0;
out:
	/* The tunnel first: it proxies to the server. */
	sup_stop(sup);
	sup_conf_free(&sc);
	serve_stop(srv);
	conf_free(&c);
	return ret;
}

/* --- status */

static int
cmd_status(const char *cfg, int argc, char *argv[])
{
	static const char *const vals[] = { "--listen", NULL };
	static const char *const flags[] = { NULL };
	struct cli_args o;
	struct conf c;
	struct membuf m = { NULL, 0, 0 };
	char err[512], url[128], state[PATH_MAX];
	const char *listen;
	CURL *cu;
	CURLcode cc;
	long code = 0;
	size_t i;

	if (cli_parse(argc, argv, vals, flags, 0, &o) == -1)
		return cli_fail("usage: filestor-agent status [--listen IP:PORT]");
	if (conf_load(cfg, &c, err, sizeof(err)) == -1)
		return cli_fail("%s", err);
	listen = cli_opt(&o, "--listen");
	if (listen == NULL)
		listen = c.listen != NULL ? c.listen : CONF_LISTEN_DEFAULT;
	printf("config:   %s\n", cfg);
	printf("agent:    %s (%s)\n", c.agent_id, c.name != NULL ? c.name : "");
	printf("server:   %s\n", c.server != NULL ? c.server : "(unset)");
	for (i = 0; i < c.nroots; i++)
		printf("root:     %s\n", c.roots[i]);
	printf("listen:   %s\n", listen);
	printf("tunnel:   %s\n", c.tunnel_hostname != NULL ? c.origin :
	    "not configured");
	printf("key:      %s\n", c.has_key ? "configured" : "missing");
	if (sup_state_path(cfg, state, sizeof(state)) == 0 &&
	    sup_print_status(state) == -1 &&
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    c.doc, "tunnel"), "backend") != NULL)
		printf("tunnel supervisor: no state yet (is the agent "
		    "running?)\n");
	snprintf(url, sizeof(url), "http://%s/healthz", listen);
	cu = curl_easy_init();
	if (cu != NULL) {
		curl_easy_setopt(cu, CURLOPT_URL, url);
		curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(cu, CURLOPT_WRITEDATA, &m);
		curl_easy_setopt(cu, CURLOPT_TIMEOUT, 3L);
		curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
		cc = curl_easy_perform(cu);
		if (cc == CURLE_OK)
			curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(cu);
		printf("listener: %s\n", code == 200 ? "up" : "down");
	}
	free(m.buf);
	conf_free(&c);
	return code == 200 ? 0 : 3;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: filestor-agent [--config PATH] COMMAND ...\n"
	    "  enroll --server URL --token T --name N --allowed-roots DIR[,DIR]"
	    " [--force]\n"
	    "  configure-tunnel --hostname H --key K|-\n"
	    "  run [--listen 127.0.0.1:8443] [--cors-origin ORIGIN] "
	    "[--threads N] [--no-symlinks | --follow-symlinks]\n"
	    "  status [--listen IP:PORT]\n"
	    "config: $XDG_CONFIG_HOME/filestor-agent/config.json "
	    "(~/.config/filestor-agent/config.json)\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	const char *explicit = NULL;
	char cfg[PATH_MAX], err[256], *args[64];
	int i, n = 0, ret;

	cli_setprog("filestor-agent");
	/* --config PATH may come before or after the command. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				return cli_fail("--config needs a value");
			explicit = argv[++i];
			continue;
		}
		if (n == (int)(sizeof(args) / sizeof(args[0])) - 1)
			return cli_fail("too many arguments");
		args[n++] = argv[i];
	}
	args[n] = NULL;
	if (n == 0)
		return usage();
	if (conf_path(explicit, cfg, sizeof(cfg), err, sizeof(err)) == -1)
		return cli_fail("%s", err);
	/* Secrets are written by this process only: no group/other bits. */
	umask(077);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(args[0], "enroll") == 0)
		ret = cmd_enroll(cfg, n - 1, args + 1);
	else if (strcmp(args[0], "configure-tunnel") == 0)
		ret = cmd_configure_tunnel(cfg, n - 1, args + 1);
	else if (strcmp(args[0], "run") == 0)
		ret = cmd_run(cfg, n - 1, args + 1);
	else if (strcmp(args[0], "status") == 0)
		ret = cmd_status(cfg, n - 1, args + 1);
	else
		ret = usage();
	curl_global_cleanup();
	return ret;
}
