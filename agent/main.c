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
 * Each command is a handler in the table at the bottom. The modules:
 * conf.c (all of config.json), backend.c (the calls to the server, over
 * fetch.c, the one HTTP client call), serve.c (the HTTP server),
 * supervise.c (cloudflared's state machine, with lines.c draining its
 * output, cflog.c parsing each line, health.c probing it, status.c its
 * state file).
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
#include "backend.h"
#include "cli.h"
#include "conf.h"
#include "cry.h"
#include "fetch.h"
#include "http.h"
#include "serve.h"
#include "status.h"
#include "supervise.h"
#include "wsconn.h"

#define STATUS_MAX	(64 * 1024)	/* bytes of /healthz read by status */
#define STATUS_MS	3000
#define NOFILE_WANT	65536		/* descriptors, as LimitNOFILE= */
#define KEY_LINE_MAX	256

/* --- enroll */

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

/* The config of a new enrollment; NULL when out of memory. */
static cJSON *
enrolled_doc(const char *server, const char *id, const char *secret,
    const char *name, cJSON *roots)
{
	cJSON *doc = cJSON_CreateObject();

	if (doc == NULL)
		return NULL;
	cJSON_AddStringToObject(doc, "server", server);
	cJSON_AddStringToObject(doc, "agentId", id);
	cJSON_AddStringToObject(doc, "agentSecret", secret);
	cJSON_AddStringToObject(doc, "name", name);
	cJSON_AddItemReferenceToObject(doc, "allowedRoots", roots);
	cJSON_AddStringToObject(doc, "listen", CONF_LISTEN_DEFAULT);
	return doc;
}

static int
cmd_enroll(const char *cfg, int argc, char *argv[])
{
	static const char *const vals[] = { "--server", "--token", "--name",
	    "--allowed-roots", NULL };
	static const char *const flags[] = { "--force", NULL };
	struct cli_args o;
	struct stat st;
	const char *server, *token, *name, *roots_arg;
	const cJSON *js;
	cJSON *roots = NULL, *doc = NULL;
	char *secret = NULL, err[1400], id[37];
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
	if (backend_enroll(server, token, name, roots, id, &secret, err,
	    sizeof(err)) == -1) {
		cli_fail("%s", err);
		goto out;
	}
	doc = enrolled_doc(server, id, secret, name, roots);
	if (doc == NULL)
		snprintf(err, sizeof(err), "out of memory");
	if (doc == NULL || conf_save(cfg, doc, err, sizeof(err)) == -1) {
		cli_fail("enrolled as %s but cannot save the config: %s",
		    id, err);
		goto out;
	}
	printf("%s\n", id);
	fprintf(stderr, "filestor-agent: enrolled as %s; config in %s\n",
	    id, cfg);
	ret = 0;
out:
	if (secret != NULL) {
		cry_wipe(secret, strlen(secret));
		free(secret);
	}
	js = cJSON_GetObjectItemCaseSensitive(doc, "agentSecret");
	if (cJSON_IsString(js))
		cry_wipe(js->valuestring, strlen(js->valuestring));
	cJSON_Delete(doc);
	cJSON_Delete(roots);
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

/* What `run` starts from: its options and the config, checked. */
struct run {
	struct conf		 c;
	struct conf_tunnel	 sc;
	const char		*listen;
	const char		*cors;	/* NULL or corsbuf */
	char			 corsbuf[AGENT_ORIGIN_MAX];
	char			 state[PATH_MAX];
	long long		 threads;
	int			 nolinks;
};

/*
 * Check run's options and the config, everything before anything
 * starts. 0, or an exit code after cli_fail; the caller frees r->c and
 * r->sc either way.
 */
static int
run_prepare(const char *cfg, int argc, char *argv[], struct run *r)
{
	static const char *const vals[] = { "--listen", "--cors-origin",
	    "--threads", NULL };
	static const char *const flags[] = { "--no-symlinks",
	    "--follow-symlinks", NULL };
	struct cli_args o;
	const char *th, *cors;
	char err[512], norm[AGENT_ORIGIN_MAX];

	r->threads = default_threads();
	if (cli_parse(argc, argv, vals, flags, 0, &o) == -1)
		return 2;
	th = cli_opt(&o, "--threads");
	if (th != NULL && http_parse_ll(th, 1, 64, &r->threads) == -1)
		return cli_fail("--threads must be 1 to 64");
	if (cli_opt(&o, "--no-symlinks") != NULL &&
	    cli_opt(&o, "--follow-symlinks") != NULL)
		return cli_fail("--no-symlinks and --follow-symlinks exclude "
		    "each other");
	if (conf_load(cfg, &r->c, err, sizeof(err)) == -1)
		return cli_fail("refusing to start: %s", err);
	/*
	 * Refuse every symlink unless asked (issue 14): the path that an
	 * agent_files condition authorized must be the file served, and a
	 * link inside a root would let pub/x reach priv/. The flags win
	 * over the config's followSymlinks.
	 */
	r->nolinks = !r->c.follow_symlinks;
	if (cli_opt(&o, "--follow-symlinks") != NULL)
		r->nolinks = 0;
	if (cli_opt(&o, "--no-symlinks") != NULL)
		r->nolinks = 1;
	r->listen = cli_opt(&o, "--listen");
	if (r->listen == NULL)
		r->listen = r->c.listen != NULL ? r->c.listen :
		    CONF_LISTEN_DEFAULT;
	/* Every tunnel setting is checked before anything starts. */
	if (conf_tunnel_parse(cJSON_GetObjectItemCaseSensitive(r->c.doc,
	    "tunnel"), &r->sc, err, sizeof(err)) == -1)
		return cli_fail("refusing to start: %s: %s", cfg, err);
	if (r->sc.enabled && r->sc.local_addr[0] == '\0')
		snprintf(r->sc.local_addr, sizeof(r->sc.local_addr), "%s",
		    r->listen);
	if (r->sc.enabled && status_path(cfg, r->state,
	    sizeof(r->state)) == -1)
		return cli_fail("refusing to start: config path too long");
	cors = cli_opt(&o, "--cors-origin");
	if (cors == NULL)
		cors = r->c.cors_origin;
	if (cors != NULL) {
		/* One exact origin; it goes into a header as given. */
		snprintf(err, sizeof(err), "not http:// or https://");
		if (strncmp(cors, "http", 4) != 0 ||
		    agent_hostname_parse(cors, norm, r->corsbuf, err,
		    sizeof(err)) == -1)
			return cli_fail("refusing to start: --cors-origin must "
			    "be an origin http(s)://host[:port]: %s", err);
		r->cors = r->corsbuf;
	}
	return 0;
}

/*
 * This thread's loop until SIGINT or SIGTERM (set, blocked): once a
 * second serve_tick, and sup_tick every tick.
 */
static void
run_loop(struct server *srv, struct sup *sup, const sigset_t *set)
{
	struct timespec tick = { 1, 0 }, last, now;
	siginfo_t si;
	int sig;

	if (sup != NULL) {
		tick.tv_sec = 0;
		tick.tv_nsec = 100 * 1000 * 1000;
	}
	clock_gettime(CLOCK_MONOTONIC, &last);
	for (;;) {
		sig = sigtimedwait(set, &si, &tick);
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
}

static int
cmd_run(const char *cfg, int argc, char *argv[])
{
	struct run r;
	struct server *srv = NULL;
	struct sup *sup = NULL;
	struct wsconn *ws = NULL;
	sigset_t set;
	char err[512];
	int ret;

	memset(&r, 0, sizeof(r));
	ret = run_prepare(cfg, argc, argv, &r);
	if (ret != 0)
		goto out;
	ret = 1;
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
	srv = serve_start(&r.c, r.listen, r.cors, r.nolinks,
	    (unsigned)r.threads, err, sizeof(err));
	if (srv == NULL) {
		cli_fail("refusing to start: %s", err);
		goto out;
	}
	fprintf(stderr, "filestor-agent: agent %s serving %zu root(s) on "
	    "http://%s (tunnel %s)\n", r.c.agent_id, r.c.nroots, r.listen,
	    r.c.has_key ? r.c.origin : "not configured");
	/* The relay connection, tunnel or not (docs/relay.md). */
	ws = wsconn_start(&r.c, srv, err, sizeof(err));
	if (ws == NULL && err[0] != '\0') {
		cli_fail("refusing to start: %s", err);
		goto out;
	}
	if (r.sc.enabled) {
		sup = sup_start(&r.sc, &r.c, r.state, err, sizeof(err));
		if (sup == NULL) {
			cli_fail("refusing to start: %s", err);
			goto out;
		}
	}
	run_loop(srv, sup, &set);
	fprintf(stderr, "filestor-agent: stopping\n");
	ret = 0;
out:
	/* The tunnel first: it proxies to the server. */
	sup_stop(sup);
	conf_tunnel_free(&r.sc);
	/* Before the server: it reads files through it. */
	wsconn_stop(ws);
	serve_stop(srv);
	conf_free(&r.c);
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
	struct fetch f = { NULL, NULL, NULL, STATUS_MS, 0, STATUS_MAX, 0 };
	struct fetch_body b = { NULL, 0 };
	char err[512], url[128], state[PATH_MAX];
	const char *listen;
	long code;
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
	if (status_path(cfg, state, sizeof(state)) == 0 &&
	    status_print(state) == -1 &&
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
	    c.doc, "tunnel"), "backend") != NULL)
		printf("tunnel supervisor: no state yet (is the agent "
		    "running?)\n");
	snprintf(url, sizeof(url), "http://%s/healthz", listen);
	f.url = url;
	code = fetch_do(&f, &b, err, sizeof(err));
	printf("listener: %s\n", code == 200 ? "up" : "down");
	if (code == 200) {
		cJSON *h = cJSON_ParseWithLength(b.buf, b.len);
		const cJSON *rs = cJSON_GetObjectItemCaseSensitive(h, "relay");

		printf("relay:    %s\n", cJSON_IsString(rs) ? rs->valuestring :
		    "not enrolled");
		cJSON_Delete(h);
	}
	fetch_free(&b);
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

/* The commands: each takes the config path and its own arguments. */
static const struct cmd {
	const char	*name;
	int		(*fn)(const char *cfg, int argc, char *argv[]);
} cmds[] = {
	{ "enroll",		cmd_enroll },
	{ "configure-tunnel",	cmd_configure_tunnel },
	{ "run",		cmd_run },
	{ "status",		cmd_status },
	{ NULL,			NULL },
};

int
main(int argc, char *argv[])
{
	const struct cmd *c;
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
	for (c = cmds; c->name != NULL; c++)
		if (strcmp(args[0], c->name) == 0)
			break;
	ret = c->name != NULL ? c->fn(cfg, n - 1, args + 1) : usage();
	curl_global_cleanup();
	return ret;
}
