/*
 * supervise: the cloudflared supervisor (see supervise.h).
 *
 * States: running (a child), stopping (one SIGTERM sent to the child's
 * process group, SIGKILL at a deadline), waiting (no child, a restart
 * due at restart_at). Every start after the first waits a backoff of 5,
 * 10, 20 ... 300 s: cloudflared reconnects by itself, and a restart only
 * resets its own backoff and, for a quick tunnel, burns the URL and
 * risks the API's rate limit (reference §5), so restarts are a last
 * resort.
 *
 * The child is a tree, not a pid: cloudflared_path may be a wrapper
 * script that does not exec, and anything may leave a background
 * process behind holding the output pipes. So the child leads its own
 * process group and every signal goes to the group; the agent is a
 * child subreaper (PR_SET_CHILD_SUBREAPER), so whatever the tree
 * orphans becomes the agent's child, is reaped here, and is killed at
 * the end of a stop even if it left the group. The child is gone when
 * its group is empty and the agent has no child left, never "when the
 * pipes reach end-of-file"; the reader thread is told to finish instead
 * of waited for. Every wait is bounded: SIGKILL at grace + 5 s, and
 * after SIGKILL_WAIT_MS more the agent gives up on what will not die.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent.h"
#include "cry.h"
#include "logsafe.h"
#include "supervise.h"

#define AGENT_VERSION	"filestor-agent 1.0"
#define LINE_MAX_BYTES	8192		/* longer lines are cut */
#define LINE_ESC_BYTES	(4 * LINE_MAX_BYTES + 1) /* escaped (logsafe.h) */
#define DRAIN_MAX	(1024 * 1024)	/* bytes read after "finish" */
#define PROBE_MAX	(16 * 1024)	/* bytes of a probe answer kept */
#define WARMUP_SECS	20		/* public probe after ready + this */
#define RESET_SECS	120		/* healthy this long: backoff resets */
#define RATELIMIT_SECS	120		/* least backoff after 429/1015 */
#define HEARTBEAT_SECS	60		/* lastSeenAt refresh */
#define HEARTBEAT_GAP	5		/* seconds between heartbeats, least */
#define URL_HOLD_SECS	10		/* a quick URL changes at most this
					   often (one child has one URL) */
#define STARTUP_SECS	10		/* failures not counted yet */
#define UNAUTH_LIMIT	2		/* Unauthorized lines: config error */
#define SIGKILL_WAIT_MS	2000		/* after SIGKILL, then give up */
#define CHILD_LOG_MAX	200		/* cloudflared lines logged ... */
#define CHILD_LOG_WINDOW 10000		/* ... per this many ms */
#define NARGS		32

extern char **environ;

struct sup {
	struct sup_conf	 sc;
	char		*server;	/* malloc'd */
	char		 agent_id[37];
	char		*secret;	/* malloc'd, wiped */
	char		 state[PATH_MAX];
	double		 scale;

	/* Set by the reader thread, read by the main one, under mu. */
	pthread_mutex_t	 mu;
	char		 url_seen[256];	/* latest quick host in the output */
	unsigned	 url_flips;	/* times it changed */
	char		 metrics_addr[128];
	char		 last_line[256];/* last error-ish line, for reasons */
	int		 registered;	/* from the log */
	int		 incorrect_usage;
	int		 rate_limited;
	int		 unauthorized;
	struct logsafe_limit loglim;	/* cloudflared's lines in our log */

	/* Main thread only. */
	pid_t		 pid;		/* the child; also its process group */
	int		 reaped;	/* the child itself was waited for */
	int		 status;	/* ... and its wait status */
	pthread_t	 reader;
	int		 has_reader;
	int		 wake;		/* write end: tells the reader to finish */
	int		 exiting;	/* sup_stop: no restart after this */
	long long	 started;
	long long	 stopping;	/* when SIGTERM went, 0 if not */
	long long	 kill_at;
	int		 killed;
	int		 stop_for_health;
	long long	 restart_at;	/* 0: none pending */
	int		 backoff_idx;
	int		 restarts;
	long long	 next_check;
	int		 failures;
	int		 have_health;
	int		 last_ok;
	char		 last_reason[512];
	long long	 last_at;	/* wall clock, for status */
	long long	 healthy_since;
	long long	 ready_since;
	int		 ready_conns;
	char		 url_host[256];	/* the quick host in use */
	long long	 url_at;	/* when it was taken, 0: never */
	unsigned	 url_flips_seen;
	char		 reported[256];	/* host the backend has */
	long long	 next_hb;
	long long	 hb_retry;
	long long	 last_hb;	/* when the last heartbeat went */
	int		 dirty;
};

struct reader {
	struct sup	*s;
	int		 fd[2];		/* stdout, stderr */
	int		 wake;		/* read end */
	pid_t		 pid;
};

static int	slog(const char *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

int
sup_debug(void)
{
	const char *l = getenv("FILESTOR_AGENT_LOG");

	return l != NULL && strcmp(l, "debug") == 0;
}

/* One line to the agent's log (stderr); level "debug" only on demand. */
static int
slog(const char *level, const char *fmt, ...)
{
	char buf[LINE_ESC_BYTES + 256];
	va_list ap;

	if (strcmp(level, "debug") == 0 && !sup_debug())
		return 0;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One fprintf: lines from the reader thread never interleave. */
	fprintf(stderr, "filestor-agent: %s: tunnel: %s\n", level, buf);
	return 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Seconds of policy time as scaled milliseconds. */
static long long
scaled(const struct sup *s, double secs)
{
	long long ms = (long long)(secs * 1000.0 * s->scale);

	return ms < 1 ? 1 : ms;
}

/* --- configuration */

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
 * One half of an Access service token: the member name of cf, literal,
 * "${ENVNAME}", or, when absent, $ENVNAME (as the token). Printable
 * ASCII without space, so never a CR or LF in the header it goes into.
 * 0 with out filled (empty when unset), or -1 with err; the value is
 * never echoed.
 */
static int
access_member(const cJSON *cf, const char *name, const char *envname,
    char *out, size_t outlen, char *err, size_t errlen)
{
	const cJSON *it = member(cf, name);
	const char *v = NULL, *env = getenv(envname);
	char form[64];
	size_t i, n;

	out[0] = '\0';
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
		v = env;
	} else if (it != NULL) {
		if (strncmp(it->valuestring, "${", 2) == 0) {
			snprintf(err, errlen, "tunnel.cloudflare.%s: only %s "
			    "is expanded", name, form);
			return -1;
		}
		v = it->valuestring;
	} else if (env != NULL && env[0] != '\0')
		v = env;
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

int
sup_conf_parse(const cJSON *t, struct sup_conf *sc, char *err, size_t errlen)
{
	static const char *const tkeys[] = { "hostname", "key", "backend",
	    "local_addr", "health_check_interval_secs", "max_failures",
	    "cloudflare", NULL };
	static const char *const ckeys[] = { "mode", "token", "hostname",
	    "cloudflared_path", "protocol", "edge_ip_version", "retries",
	    "grace_period_secs", "metrics_port", "log_level",
	    "health_url_override", "access_client_id",
	    "access_client_secret", NULL };
	static const char *const backends[] = { "cloudflare", NULL };
	static const char *const modes[] = { "quick", "named", NULL };
	static const char *const protos[] = { "auto", "quic", "http2", NULL };
	static const char *const ips[] = { "auto", "4", "6", NULL };
	static const char *const levels[] = { "debug", "info", "warn",
	    "error", NULL };
	const char *T = "tunnel", *C = "tunnel.cloudflare", *tok, *env;
	const cJSON *cf, *it;
	char mode[8], be[16], norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX];
	char e2[256];
	cJSON *num = NULL;
	int rc = -1;

	memset(sc, 0, sizeof(*sc));
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
	sc->enabled = 1;
	it = member(t, "local_addr");
	if (it != NULL) {
		if (!cJSON_IsString(it) || !local_addr_ok(it->valuestring)) {
			snprintf(err, errlen, "tunnel.local_addr must be "
			    "host:port, for example \"127.0.0.1:8443\"");
			goto out;
		}
		snprintf(sc->local_addr, sizeof(sc->local_addr), "%s",
		    it->valuestring);
	}
	if (get_int(t, T, "health_check_interval_secs", 1, 3600, 30,
	    &sc->interval, err, errlen) == -1 ||
	    get_int(t, T, "max_failures", 1, 1000, 3, &sc->max_failures, err,
	    errlen) == -1)
		goto out;
	cf = member(t, "cloudflare");
	if (cf != NULL && !cJSON_IsObject(cf)) {
		snprintf(err, errlen, "tunnel.cloudflare must be an object");
		goto out;
	}
	if (cf == NULL)
		cf = num = cJSON_CreateObject();
	if (cf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (known_keys(cf, C, ckeys, err, errlen) == -1 ||
	    get_enum(cf, C, "mode", modes, "quick", mode, sizeof(mode), err,
	    errlen) == -1 ||
	    get_enum(cf, C, "protocol", protos, "auto", sc->protocol,
	    sizeof(sc->protocol), err, errlen) == -1 ||
	    get_enum(cf, C, "log_level", levels, "info", sc->log_level,
	    sizeof(sc->log_level), err, errlen) == -1 ||
	    get_int(cf, C, "retries", 0, 20, 5, &sc->retries, err,
	    errlen) == -1 ||
	    get_int(cf, C, "grace_period_secs", 0, SUP_GRACE_MAX, 30,
	    &sc->grace, err, errlen) == -1 ||
	    get_int(cf, C, "metrics_port", 1, 65535, 0, &sc->metrics_port, err,
	    errlen) == -1)
		goto out;
	sc->quick = strcmp(mode, "quick") == 0;
	/* edge_ip_version: "auto", "4", "6", or the numbers 4 and 6. */
	it = member(cf, "edge_ip_version");
	if (it != NULL && cJSON_IsNumber(it) && (it->valuedouble == 4 ||
	    it->valuedouble == 6))
		snprintf(sc->edge_ip, sizeof(sc->edge_ip), "%d",
		    (int)it->valuedouble);
	else if (get_enum(cf, C, "edge_ip_version", ips, "auto", sc->edge_ip,
	    sizeof(sc->edge_ip), err, errlen) == -1)
		goto out;

	it = member(cf, "cloudflared_path");
	if (it != NULL && (!cJSON_IsString(it) || it->valuestring[0] == '\0')) {
		snprintf(err, errlen, "tunnel.cloudflare.cloudflared_path must "
		    "be a non-empty string");
		goto out;
	}
	if (resolve_path(it != NULL ? it->valuestring : "cloudflared",
	    sc->path, sizeof(sc->path)) == -1) {
		snprintf(err, errlen, "tunnel.cloudflare.cloudflared_path: "
		    "\"%.200s\" is not an executable file%s",
		    it != NULL ? it->valuestring : "cloudflared",
		    it == NULL ? " on PATH (install cloudflared)" : "");
		goto out;
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
			goto out;
		}
		snprintf(sc->hostname, sizeof(sc->hostname), "%s", norm);
	}

	/* The token: literal, "${CLOUDFLARE_TUNNEL_TOKEN}", or that alone. */
	it = member(cf, "token");
	if (it != NULL && !cJSON_IsString(it)) {
		snprintf(err, errlen, "tunnel.cloudflare.token must be a "
		    "string");
		goto out;
	}
	env = getenv("CLOUDFLARE_TUNNEL_TOKEN");
	tok = NULL;
	if (it != NULL && strcmp(it->valuestring,
	    "${CLOUDFLARE_TUNNEL_TOKEN}") == 0) {
		if (env == NULL || env[0] == '\0') {
			snprintf(err, errlen, "tunnel.cloudflare.token is "
			    "\"${CLOUDFLARE_TUNNEL_TOKEN}\" but that variable "
			    "is not set");
			goto out;
		}
		tok = env;
	} else if (it != NULL) {
		if (strncmp(it->valuestring, "${", 2) == 0) {
			snprintf(err, errlen, "tunnel.cloudflare.token: only "
			    "${CLOUDFLARE_TUNNEL_TOKEN} is expanded");
			goto out;
		}
		tok = it->valuestring;
	} else if (env != NULL && env[0] != '\0')
		tok = env;
	if (!sc->quick) {
		if (tok == NULL) {
			snprintf(err, errlen, "tunnel.cloudflare.token is "
			    "required in named mode (or set "
			    "CLOUDFLARE_TUNNEL_TOKEN)");
			goto out;
		}
		if (sc->hostname[0] == '\0') {
			snprintf(err, errlen, "tunnel.cloudflare.hostname is "
			    "required in named mode");
			goto out;
		}
	}
	if (tok != NULL && !sc->quick) {
		/* Never echo the value: it is a credential. */
		if (!token_ok(tok)) {
			snprintf(err, errlen, "tunnel.cloudflare.token is not "
			    "a tunnel token (base64 text from `cloudflared "
			    "tunnel token NAME`)");
			goto out;
		}
		sc->token = strdup(tok);
		if (sc->token == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (sc->quick && (strcmp(sc->log_level, "warn") == 0 ||
	    strcmp(sc->log_level, "error") == 0) && sc->metrics_port == 0) {
		/* The URL is an INF line: without it only /quicktunnel. */
		snprintf(err, errlen, "tunnel.cloudflare.log_level \"%s\" hides "
		    "the quick tunnel URL: use \"info\" or set "
		    "tunnel.cloudflare.metrics_port", sc->log_level);
		goto out;
	}
	/* A Cloudflare Access service token, for the public probe only. */
	if (access_member(cf, "access_client_id", "CF_ACCESS_CLIENT_ID",
	    sc->access_id, sizeof(sc->access_id), err, errlen) == -1 ||
	    access_member(cf, "access_client_secret",
	    "CF_ACCESS_CLIENT_SECRET", sc->access_secret,
	    sizeof(sc->access_secret), err, errlen) == -1)
		goto out;
	if ((sc->access_id[0] == '\0') != (sc->access_secret[0] == '\0')) {
		snprintf(err, errlen, "tunnel.cloudflare.access_client_id and "
		    "access_client_secret go together: set both or neither");
		goto out;
	}
	it = member(cf, "health_url_override");
	if (it != NULL) {
		if (!cJSON_IsString(it) || (strncmp(it->valuestring, "http://",
		    7) != 0 && strncmp(it->valuestring, "https://", 8) != 0) ||
		    strlen(it->valuestring) >= sizeof(sc->health_url) ||
		    strpbrk(it->valuestring, " \r\n\t") != NULL) {
			snprintf(err, errlen, "tunnel.cloudflare."
			    "health_url_override must be an http(s) URL");
			goto out;
		}
		snprintf(sc->health_url, sizeof(sc->health_url), "%s",
		    it->valuestring);
	}
	rc = 0;
out:
	cJSON_Delete(num);
	if (rc == -1)
		sup_conf_free(sc);
	return rc;
}

void
sup_conf_free(struct sup_conf *sc)
{
	if (sc->token != NULL) {
		cry_wipe(sc->token, strlen(sc->token));
		free(sc->token);
	}
	cry_wipe(sc->access_id, sizeof(sc->access_id));
	cry_wipe(sc->access_secret, sizeof(sc->access_secret));
	memset(sc, 0, sizeof(*sc));
}


/* --- cloudflared's output: a pure parser for one line */

/* 1 for a DNS label: 1..63 of [a-z0-9-], no hyphen at either end. */
static int
label_ok(const char *h, size_t n)
{
	size_t i;

	if (n < 1 || n > 63 || h[0] == '-' || h[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '-'))
			return 0;
	return 1;
}

int
sup_quick_host(const char *line, char *out, size_t outlen)
{
	static const char suffix[] = ".trycloudflare.com";
	const char *p = line, *h, *e, *after;

	while ((p = strstr(p, "https://")) != NULL) {
		h = p + 8;
		for (e = h; (*e >= 'a' && *e <= 'z') || (*e >= '0' &&
		    *e <= '9') || *e == '-'; e++)
			;
		after = e + sizeof(suffix) - 1;
		/*
		 * One valid label, then the suffix, then the end of the name:
		 * the backend takes nothing else (422), so neither do we.
		 */
		if (strncmp(e, suffix, sizeof(suffix) - 1) == 0 &&
		    label_ok(h, (size_t)(e - h)) &&
		    strncmp(h, "api.", 4) != 0 &&
		    !((*after >= 'a' && *after <= 'z') || (*after >= 'A' &&
		    *after <= 'Z') || (*after >= '0' && *after <= '9') ||
		    *after == '-' || *after == '.' || *after == '_') &&
		    (size_t)(e - h) + sizeof(suffix) <= outlen) {
			snprintf(out, outlen, "%.*s%s", (int)(e - h), h,
			    suffix);
			return 1;
		}
		p = h;
	}
	return 0;
}

/* host:port as cloudflared prints it: "127.0.0.1:20241", "[::1]:20241". */
static int
metrics_addr_ok(const char *a, size_t n)
{
	size_t i;

	if (n == 0 || n >= 128)
		return 0;
	for (i = 0; i < n; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' &&
		    a[i] <= 'Z') || (a[i] >= '0' && a[i] <= '9') ||
		    a[i] == '.' || a[i] == ':' || a[i] == '[' || a[i] == ']' ||
		    a[i] == '-'))
			return 0;
	return 1;
}

void
sup_line_parse(const char *line, struct sup_line *pl)
{
	static const char ms[] = "Starting metrics server on ";
	const char *p;
	size_t n;

	memset(pl, 0, sizeof(*pl));
	pl->incorrect_usage = strstr(line, "Incorrect Usage") != NULL;
	pl->rate_limited = strstr(line, "429 Too Many Requests") != NULL ||
	    strstr(line, "error code: 1015") != NULL;
	pl->unauthorized = strstr(line, "Unauthorized") != NULL &&
	    strstr(line, "Register tunnel error") != NULL;
	/* Since 2023.4.1; older builds: "Connection <uuid> registered". */
	p = strstr(line, "Connection ");
	if (strstr(line, "Registered tunnel connection") != NULL ||
	    (p != NULL && strstr(p, " registered") != NULL))
		pl->registered = 1;
	else if (strstr(line, "Unregistered tunnel connection") != NULL ||
	    strstr(line, "Connection terminated") != NULL)
		pl->registered = -1;
	p = strstr(line, ms);
	if (p != NULL) {
		p += sizeof(ms) - 1;
		n = strcspn(p, " /");
		if (metrics_addr_ok(p, n))
			snprintf(pl->metrics_addr, sizeof(pl->metrics_addr),
			    "%.*s", (int)n, p);
	}
	/* Only the box row: the disclaimer and errors hold other URLs. */
	if (strchr(line, '|') != NULL)
		sup_quick_host(line, pl->quick_host, sizeof(pl->quick_host));
	pl->reason = pl->incorrect_usage || strstr(line, " ERR ") != NULL ||
	    strstr(line, "failed") != NULL ||
	    strncmp(line, "Provided Tunnel token", 21) == 0;
}

/* --- the reader thread: drain both pipes, log and parse each line */

/* line is escaped already (logsafe_escape). */
static void
handle_line(struct reader *rd, const char *stream, const char *line)
{
	struct sup *s = rd->s;
	struct sup_line pl;
	unsigned dropped = 0, repeats = 0;
	int show;

	sup_line_parse(line, &pl);
	pthread_mutex_lock(&s->mu);
	show = sup_debug() && logsafe_check(&s->loglim, line, now_ms(),
	    &dropped, &repeats);
	if (pl.incorrect_usage) {
		s->incorrect_usage = 1;
		snprintf(s->last_line, sizeof(s->last_line), "%s", line);
	}
	if (pl.rate_limited)
		s->rate_limited = 1;
	if (pl.unauthorized)
		s->unauthorized++;
	if (pl.registered > 0)
		s->registered++;
	else if (pl.registered < 0 && s->registered > 0)
		s->registered--;
	if (pl.metrics_addr[0] != '\0')
		snprintf(s->metrics_addr, sizeof(s->metrics_addr), "%s",
		    pl.metrics_addr);
	/* The main thread takes it, at most once per URL_HOLD_SECS. */
	if (pl.quick_host[0] != '\0' && strcmp(pl.quick_host,
	    s->url_seen) != 0) {
		snprintf(s->url_seen, sizeof(s->url_seen), "%s",
		    pl.quick_host);
		s->url_flips++;
	}
	if (pl.reason)
		snprintf(s->last_line, sizeof(s->last_line), "%s", line);
	pthread_mutex_unlock(&s->mu);
	if (!show)
		return;
	if (dropped > 0 || repeats > 0)
		slog("debug", "cloudflared[%ld]: %u line(s) not logged (%u "
		    "repeated, %u over %d per %d s)", (long)rd->pid,
		    dropped + repeats, repeats, dropped, CHILD_LOG_MAX,
		    CHILD_LOG_WINDOW / 1000);
	if (s->sc.token != NULL && strstr(line, s->sc.token) != NULL)
		slog("debug", "cloudflared[%ld] %s: (a line holding the tunnel "
		    "token, withheld)", (long)rd->pid, stream);
	else
		slog("debug", "cloudflared[%ld] %s: %s", (long)rd->pid, stream,
		    line);
}

/* Split buf[0..*len) into lines for handle_line; keeps the tail. */
static void
take_lines(struct reader *rd, int i, char *buf, size_t *len, int *skipping,
    char *esc, int eof)
{
	static const char *const names[2] = { "stdout", "stderr" };
	char *nl, *start = buf;
	size_t n;

	while ((nl = memchr(start, '\n', *len - (size_t)(start - buf))) !=
	    NULL) {
		n = (size_t)(nl - start);
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (!*skipping) {
			logsafe_escape(start, n, esc, LINE_ESC_BYTES);
			handle_line(rd, names[i], esc);
		}
		*skipping = 0;
		start = nl + 1;
	}
	*len -= (size_t)(start - buf);
	memmove(buf, start, *len);
	if (*len == LINE_MAX_BYTES || (eof && *len > 0)) {
		/* A giant line: log its head, drop the rest. */
		if (!*skipping) {
			logsafe_escape(buf, *len, esc, LINE_ESC_BYTES);
			handle_line(rd, names[i], esc);
		}
		*skipping = !eof;
		*len = 0;
	}
}

static void *
reader_main(void *arg)
{
	struct reader *rd = arg;
	struct pollfd pfd[3];
	char *buf[2] = { NULL, NULL }, *esc = NULL, c;
	size_t len[2] = { 0, 0 }, drained = 0;
	int skipping[2] = { 0, 0 }, open_fds = 2, finishing = 0, i;
	ssize_t n;

	buf[0] = malloc(LINE_MAX_BYTES + 1);
	buf[1] = malloc(LINE_MAX_BYTES + 1);
	esc = malloc(LINE_ESC_BYTES);
	if (buf[0] == NULL || buf[1] == NULL || esc == NULL)
		goto out;
	while (open_fds > 0) {
		if (!finishing) {
			for (i = 0; i < 2; i++) {
				pfd[i].fd = rd->fd[i];
				pfd[i].events = POLLIN;
				pfd[i].revents = 0;
			}
			pfd[2].fd = rd->wake;
			pfd[2].events = POLLIN;
			pfd[2].revents = 0;
			if (poll(pfd, 3, -1) == -1) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (pfd[2].revents != 0) {
				/*
				 * The child is gone: what it wrote is in the
				 * pipes. Read that much without blocking,
				 * then end, whoever still holds them.
				 */
				if (read(rd->wake, &c, 1) < 0)
					c = 0;	/* ends us all the same */
				finishing = 1;
				for (i = 0; i < 2; i++)
					if (rd->fd[i] != -1)
						(void)fcntl(rd->fd[i], F_SETFL,
						    O_NONBLOCK);
			}
		}
		for (i = 0; i < 2; i++) {
			if (rd->fd[i] == -1 || (!finishing &&
			    pfd[i].revents == 0))
				continue;
			n = read(rd->fd[i], buf[i] + len[i],
			    LINE_MAX_BYTES - len[i]);
			if (n == -1 && errno == EINTR)
				continue;
			if (n > 0) {
				len[i] += (size_t)n;
				drained += finishing ? (size_t)n : 0;
				take_lines(rd, i, buf[i], &len[i],
				    &skipping[i], esc, 0);
				if (!finishing || drained < DRAIN_MAX)
					continue;
			}
			/* End of file, an error, nothing more now, or enough. */
			if (n == 0 || finishing || (n == -1 &&
			    errno != EAGAIN)) {
				if (!skipping[i])
					take_lines(rd, i, buf[i], &len[i],
					    &skipping[i], esc, 1);
				close(rd->fd[i]);
				rd->fd[i] = -1;
				open_fds--;
			}
		}
	}
out:
	for (i = 0; i < 2; i++) {
		if (rd->fd[i] != -1)
			close(rd->fd[i]);
		free(buf[i]);
	}
	close(rd->wake);
	free(esc);
	free(rd);
	return NULL;
}
/* --- the child */

static int
backoff_secs(int idx)
{
	int d = SUP_BACKOFF_FIRST;

	while (idx-- > 0 && d < SUP_BACKOFF_MAX)
		d *= 2;
	return d > SUP_BACKOFF_MAX ? SUP_BACKOFF_MAX : d;
}

/* argv by level (reference §1.1, §6): tunnel flags before run. */
static void
build_argv(struct sup *s, char *argv[NARGS], char grace[16], char retries[16],
    char metrics[64], char url[160])
{
	int n = 0;

	snprintf(grace, 16, "%ds", s->sc.grace);
	snprintf(retries, 16, "%d", s->sc.retries);
	snprintf(metrics, 64, "127.0.0.1:%d", s->sc.metrics_port);
	snprintf(url, 160, "http://%s", s->sc.local_addr);
	argv[n++] = s->sc.path;
	argv[n++] = "tunnel";
	argv[n++] = "--no-autoupdate";
	argv[n++] = "--loglevel";
	argv[n++] = s->sc.log_level;
	if (s->sc.quick) {
		argv[n++] = "--protocol";
		argv[n++] = s->sc.protocol;
	}
	argv[n++] = "--edge-ip-version";
	argv[n++] = s->sc.edge_ip;
	argv[n++] = "--retries";
	argv[n++] = retries;
	argv[n++] = "--grace-period";
	argv[n++] = grace;
	if (s->sc.metrics_port != 0) {
		argv[n++] = "--metrics";
		argv[n++] = metrics;
	}
	if (!s->sc.quick) {
		argv[n++] = "run";
		argv[n++] = "--protocol";
		argv[n++] = s->sc.protocol;
	}
	argv[n++] = "--url";
	argv[n++] = url;
	argv[n] = NULL;
}

/*
 * The child's environment: ours without CLOUDFLARE_TUNNEL_TOKEN (which
 * cloudflared would log in clear, reference §1.5), CF_ACCESS_CLIENT_SECRET
 * (the probe's, not cloudflared's) and any inherited TUNNEL_TOKEN; named
 * mode adds TUNNEL_TOKEN, which it masks.
 */
static char **
build_env(struct sup *s, char **tokvar)
{
	char **env, **e;
	size_t n = 0, i = 0, tl;

	*tokvar = NULL;
	for (e = environ; *e != NULL; e++)
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (e = environ; *e != NULL; e++)
		if (strncmp(*e, "CLOUDFLARE_TUNNEL_TOKEN=", 24) != 0 &&
		    strncmp(*e, "TUNNEL_TOKEN=", 13) != 0 &&
		    strncmp(*e, "CF_ACCESS_CLIENT_SECRET=", 24) != 0)
			env[i++] = *e;
	if (s->sc.token != NULL && !s->sc.quick) {
		tl = strlen("TUNNEL_TOKEN=") + strlen(s->sc.token) + 1;
		*tokvar = malloc(tl);
		if (*tokvar == NULL) {
			free(env);
			return NULL;
		}
		snprintf(*tokvar, tl, "TUNNEL_TOKEN=%s", s->sc.token);
		env[i++] = *tokvar;
	}
	env[i] = NULL;
	return env;
}

static void
set_reason(struct sup *s, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_reason(struct sup *s, int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->last_reason, sizeof(s->last_reason), fmt, ap);
	va_end(ap);
	s->have_health = 1;
	s->last_ok = ok;
	s->last_at = (long long)time(NULL);
	s->dirty = 1;
}

static void
schedule_restart(struct sup *s, int rate_limited)
{
	int d = backoff_secs(s->backoff_idx);

	if (rate_limited && d < RATELIMIT_SECS)
		d = RATELIMIT_SECS;
	if (s->backoff_idx < 16)
		s->backoff_idx++;
	s->restart_at = now_ms() + scaled(s, d);
	slog("info", "restarting cloudflared in %d s%s", d,
	    s->scale != 1.0 ? " (scaled for tests)" : "");
	s->dirty = 1;
}

static void
start_child(struct sup *s)
{
	char *argv[NARGS], grace[16], retries[16], metrics[64], url[160];
	char **env = NULL, *tokvar = NULL;
	struct reader *rd = NULL;
	sigset_t all;
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, wake[2] = { -1, -1 };
	int devnull = -1;
	pid_t pid, parent = getpid();

	build_argv(s, argv, grace, retries, metrics, url);
	env = build_env(s, &tokvar);
	rd = calloc(1, sizeof(*rd));
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (env == NULL || rd == NULL || devnull == -1 ||
	    pipe2(out, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1 ||
	    pipe2(wake, O_CLOEXEC) == -1) {
		slog("error", "cannot start cloudflared: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_lock(&s->mu);
	s->url_seen[0] = '\0';
	s->url_flips = 0;
	s->metrics_addr[0] = '\0';
	s->last_line[0] = '\0';
	s->registered = s->incorrect_usage = s->rate_limited = 0;
	s->unauthorized = 0;
	pthread_mutex_unlock(&s->mu);
	s->url_host[0] = '\0';
	s->url_at = 0;
	s->url_flips_seen = 0;
	pid = fork();
	if (pid == -1) {
		slog("error", "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls until execve. */
		dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		/*
		 * Its own process group: every signal goes to the whole tree
		 * (a wrapper script and what it runs), and a ^C at a terminal
		 * does not add a second signal to ours, which would kill
		 * cloudflared at once (reference §4).
		 */
		setpgid(0, 0);
		/* An agent killed with SIGKILL leaves no orphan tunnel. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execve(argv[0], argv, env);
		_exit(127);
	}
	/* Here too: a signal to the group must not race the child's call. */
	(void)setpgid(pid, pid);
	close(out[1]);
	close(errp[1]);
	close(devnull);
	if (tokvar != NULL) {
		cry_wipe(tokvar, strlen(tokvar));
		free(tokvar);
	}
	free(env);
	rd->s = s;
	rd->fd[0] = out[0];
	rd->fd[1] = errp[0];
	rd->wake = wake[0];
	rd->pid = pid;
	s->pid = pid;
	s->reaped = 0;
	s->status = 0;
	s->wake = wake[1];
	s->started = now_ms();
	s->stopping = s->kill_at = 0;
	s->killed = s->stop_for_health = 0;
	s->failures = 0;
	s->ready_since = s->healthy_since = 0;
	s->ready_conns = 0;
	s->next_check = s->started + scaled(s, s->sc.interval);
	s->restart_at = 0;
	s->dirty = 1;
	if (pthread_create(&s->reader, NULL, reader_main, rd) != 0) {
		/* Without a reader the pipe fills and blocks it: stop it. */
		slog("error", "cannot start the log reader; stopping "
		    "cloudflared");
		close(out[0]);
		close(errp[0]);
		close(wake[0]);
		close(wake[1]);
		s->wake = -1;
		free(rd);
		s->has_reader = 0;
		kill(-pid, SIGKILL);
		s->stopping = s->kill_at = now_ms();
		s->killed = 1;
		return;
	}
	s->has_reader = 1;
	slog("info", "started cloudflared (pid %ld, %s mode)", (long)pid,
	    s->sc.quick ? "quick" : "named");
	return;
fail:
	if (tokvar != NULL) {
		cry_wipe(tokvar, strlen(tokvar));
		free(tokvar);
	}
	free(env);
	free(rd);
	if (out[0] != -1) {
		close(out[0]);
		close(out[1]);
	}
	if (errp[0] != -1) {
		close(errp[0]);
		close(errp[1]);
	}
	if (wake[0] != -1) {
		close(wake[0]);
		close(wake[1]);
	}
	if (devnull != -1)
		close(devnull);
	set_reason(s, 0, "cannot start cloudflared");
	schedule_restart(s, 0);
}

/* The child is gone with status (from waitpid): why, and what next. */
static void
child_gone(struct sup *s, int status)
{
	char why[512], last[256];
	int iu, rl, code = -1;

	pthread_mutex_lock(&s->mu);
	iu = s->incorrect_usage;
	rl = s->rate_limited;
	snprintf(last, sizeof(last), "%s", s->last_line);
	pthread_mutex_unlock(&s->mu);
	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	if (s->exiting) {
		if (WIFEXITED(status))
			slog("info", "cloudflared stopped (exit %d)", code);
		else
			slog("info", "cloudflared stopped (signal %d)",
			    WTERMSIG(status));
		goto out;
	}
	if (iu)
		snprintf(why, sizeof(why), "configuration error: cloudflared "
		    "refused its command line and exited %d: %s", code, last);
	else if (rl)
		snprintf(why, sizeof(why), "quick tunnel API rate-limited "
		    "(429, error 1015): backing off");
	else if (s->stop_for_health)
		snprintf(why, sizeof(why), "restarted after %d failed health "
		    "checks: %.400s", s->failures, s->last_reason);
	else if (code == 127)
		snprintf(why, sizeof(why), "cannot execute %.400s", s->sc.path);
	else if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "cloudflared killed by signal %d%s",
		    WTERMSIG(status), s->killed ? " (SIGKILL after the grace "
		    "period)" : "");
	else
		snprintf(why, sizeof(why), "cloudflared exited with status "
		    "%d%s%s", code, last[0] != '\0' ? ": " : "", last);
	slog(iu ? "error" : "warn", "%s", why);
	if (!s->stop_for_health || iu || rl)
		set_reason(s, 0, "%s", why);
out:
	s->pid = 0;
	s->reaped = 0;
	s->stopping = 0;
	s->ready_conns = 0;
	s->dirty = 1;
	if (s->exiting)
		return;
	s->restarts++;
	schedule_restart(s, rl);
}

/* --- the child's process tree */

/* Wait for every child that has ended; note the status of ours. */
static void
reap(struct sup *s)
{
	int st;
	pid_t r;

	for (;;) {
		r = waitpid(-1, &st, WNOHANG);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (s->pid > 0 && r == s->pid && !s->reaped) {
			s->reaped = 1;
			s->status = st;
		} else
			slog("debug", "reaped pid %ld, left behind by "
			    "cloudflared", (long)r);
	}
}

/*
 * Send sig to every child of the agent outside the group pgid (or all
 * of them when pgid is 0): what the tree orphaned and we adopted as its
 * subreaper. The agent starts no other processes. Reads /proc; without
 * it, nothing is found.
 */
static void
signal_adopted(pid_t pgid, int sig)
{
	char path[64], buf[512], *p, *end;
	struct dirent *de;
	pid_t self = getpid();
	long ppid, pgrp, pid;
	ssize_t n;
	DIR *d;
	int fd;

	d = opendir("/proc");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "pid (comm) S ppid pgrp ...": comm may hold ") ". */
		p = strrchr(buf, ')');
		if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
			continue;
		ppid = strtol(p + 4, &end, 10);
		if (*end != ' ')
			continue;
		pgrp = strtol(end + 1, &end, 10);
		if (ppid == (long)self && (pgid == 0 || pgrp != (long)pgid))
			(void)kill((pid_t)pid, sig);
	}
	closedir(d);
}

/* 1 while a process of the group remains; 0 once it is empty. */
static int
group_alive(const struct sup *s)
{
	return kill(-s->pid, 0) == 0 || errno == EPERM;
}

/* 1 while the agent has a child (ended or not) that is not reaped. */
static int
have_children(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

/* SIGTERM, once, to the child's whole group. */
static void
begin_stop(struct sup *s)
{
	if (s->pid <= 0 || s->stopping != 0)
		return;
	/* One SIGTERM only: a second one kills cloudflared at once (§4). */
	(void)kill(-s->pid, SIGTERM);
	s->stopping = now_ms();
	s->kill_at = s->stopping + (long long)(s->sc.grace +
	    SUP_KILL_MARGIN) * 1000;
	s->dirty = 1;
}

/* Tell the reader to take what is in the pipes and end; join it. */
static void
finish_reader(struct sup *s)
{
	if (!s->has_reader)
		return;
	/*
	 * The reader reads at most DRAIN_MAX more: the join is bounded.
	 * EPIPE: it saw both pipes end and is gone already (SIGPIPE is
	 * ignored in `run`).
	 */
	if (write(s->wake, "x", 1) != 1 && errno != EPIPE)
		slog("warn", "cannot wake the log reader: %s", strerror(errno));
	pthread_join(s->reader, NULL);
	s->has_reader = 0;
	close(s->wake);
	s->wake = -1;
}

/*
 * One step of the child's life, from the main thread: reap; once the
 * child itself has ended, stop the rest of its tree; once the tree is
 * gone (or will not die), finish. Never blocks.
 */
static void
tree_step(struct sup *s, long long now)
{
	int alive, group;

	reap(s);
	if (s->pid <= 0)
		return;
	if (s->reaped && s->stopping == 0) {
		/* It left on its own: what it leaves behind goes too. */
		begin_stop(s);
	}
	if (s->stopping == 0)
		return;
	group = group_alive(s);
	alive = !s->reaped || group || have_children();
	if (alive && s->reaped && !group) {
		/* Only what left the group is left: no grace for it. */
		signal_adopted(0, SIGKILL);
		reap(s);
		alive = have_children();
	}
	if (alive && now >= s->kill_at && !s->killed) {
		slog("warn", "cloudflared did not stop within %d s: SIGKILL",
		    s->sc.grace + SUP_KILL_MARGIN);
		(void)kill(-s->pid, SIGKILL);
		signal_adopted(0, SIGKILL);
		s->killed = 1;
	}
	if (alive && s->killed && now >= s->kill_at + SIGKILL_WAIT_MS) {
		slog("error", "cloudflared's processes (group %ld) survive "
		    "SIGKILL; leaving them", (long)s->pid);
		if (!s->reaped)
			s->status = SIGKILL;	/* as if killed */
		alive = 0;
	}
	if (alive)
		return;
	finish_reader(s);
	child_gone(s, s->status);
}
struct probe {
	char	 body[PROBE_MAX + 1];
	size_t	 len;
};

static size_t
probe_body(char *data, size_t size, size_t nmemb, void *cls)
{
	struct probe *p = cls;
	size_t n = size * nmemb, room = PROBE_MAX - p->len;

	if (n > room)
		n = room;
	memcpy(p->body + p->len, data, n);
	p->len += n;
	p->body[p->len] = '\0';
	return size * nmemb;
}

/* GET or POST url: the status, or -1 with the curl error in err. */
static long
http_do(const char *url, const char *post, struct curl_slist *hdrs,
    long timeout_ms, struct probe *p, char *err, size_t errlen)
{
	CURL *cu = curl_easy_init();
	CURLcode cc;
	long code = -1;

	p->len = 0;
	p->body[0] = '\0';
	if (cu == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, probe_body);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	if (hdrs != NULL)
		curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdrs);
	if (post != NULL)
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, post);
	cc = curl_easy_perform(cu);
	if (cc == CURLE_OK)
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
	else
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
	curl_easy_cleanup(cu);
	return code;
}

static void
heartbeat(struct sup *s, const char *host)
{
	struct curl_slist *h = NULL;
	struct probe *p = NULL;
	cJSON *j = NULL, *he;
	char *json = NULL, *auth = NULL, *url = NULL, err[256], body[801];
	size_t n;
	long code;

	s->last_hb = now_ms();
	s->next_hb = s->last_hb + HEARTBEAT_SECS * 1000LL;
	if (s->server == NULL || s->secret == NULL) {
		/* Not enrolled with a server: nobody to tell. */
		if (host != NULL)
			snprintf(s->reported, sizeof(s->reported), "%s", host);
		return;
	}
	j = cJSON_CreateObject();
	p = malloc(sizeof(*p));
	n = strlen(s->server) + sizeof("/api/agents/heartbeat");
	url = malloc(n);
	if (j == NULL || p == NULL || url == NULL)
		goto out;
	snprintf(url, n, "%s/api/agents/heartbeat", s->server);
	if (host != NULL && host[0] != '\0')
		cJSON_AddStringToObject(j, "tunnelHostname", host);
	cJSON_AddStringToObject(j, "version", AGENT_VERSION);
	he = cJSON_AddObjectToObject(j, "health");
	if (he != NULL) {
		cJSON_AddBoolToObject(he, "ok", s->have_health && s->last_ok);
		cJSON_AddStringToObject(he, "reason", s->last_reason);
		cJSON_AddNumberToObject(he, "readyConnections",
		    s->ready_conns);
		cJSON_AddNumberToObject(he, "restarts", s->restarts);
	}
	json = cJSON_PrintUnformatted(j);
	n = strlen("Authorization: Bearer .") + strlen(s->agent_id) +
	    strlen(s->secret) + 1;
	auth = malloc(n);
	if (json == NULL || auth == NULL)
		goto out;
	snprintf(auth, n, "Authorization: Bearer %s.%s", s->agent_id,
	    s->secret);
	/* conf_load checked the secret; a header never carries CR or LF. */
	if (strpbrk(auth, "\r\n") != NULL) {
		slog("error", "agentSecret holds CR or LF: no heartbeat");
		goto out;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, auth);
	code = http_do(url, json, h, 5000, p, err, sizeof(err));
	if (code >= 200 && code < 300) {
		if (host != NULL)
			snprintf(s->reported, sizeof(s->reported), "%s", host);
		s->hb_retry = 0;
		slog("debug", "heartbeat sent (%s)", host != NULL ? host :
		    "no hostname");
	} else {
		/* A refusal will not change soon; a network error may. */
		s->hb_retry = now_ms() + (code >= 400 && code < 500 &&
		    code != 429 ? HEARTBEAT_SECS * 1000LL :
		    scaled(s, SUP_BACKOFF_FIRST));
		if (code == -1)
			slog("warn", "heartbeat to %s failed: %s", s->server,
			    err);
		else {
			/* The server's words: escaped like cloudflared's. */
			logsafe_escape(p->body, p->len < 200 ? p->len : 200,
			    body, sizeof(body));
			slog("warn", "heartbeat refused (HTTP %ld): %s", code,
			    body);
		}
	}
out:
	if (auth != NULL) {
		cry_wipe(auth, strlen(auth));
		free(auth);
	}
	curl_slist_free_all(h);
	cJSON_free(json);
	cJSON_Delete(j);
	free(url);
	free(p);
}

/*
 * The Access service token as request headers, or NULL when there is
 * none (or no memory: the probe then fails at Access, visibly). The
 * caller frees it with access_headers_free, which wipes the copies.
 */
static struct curl_slist *
access_headers(const struct sup_conf *sc)
{
	struct curl_slist *h = NULL, *n;
	char line[SUP_ACCESS_MAX + 32];

	if (sc->access_id[0] == '\0')
		return NULL;
	snprintf(line, sizeof(line), "CF-Access-Client-Id: %s", sc->access_id);
	n = curl_slist_append(h, line);
	if (n != NULL) {
		h = n;
		snprintf(line, sizeof(line), "CF-Access-Client-Secret: %s",
		    sc->access_secret);
		n = curl_slist_append(h, line);
		if (n != NULL)
			h = n;
	}
	cry_wipe(line, sizeof(line));
	return h;
}

static void
access_headers_free(struct curl_slist *h)
{
	struct curl_slist *n;

	for (n = h; n != NULL; n = n->next)
		cry_wipe(n->data, strlen(n->data));
	curl_slist_free_all(h);
}

/* One health check of a running child; 1 healthy, 0 not (reason set). */
static int
check_health(struct sup *s)
{
	struct probe *p;
	const cJSON *rc;
	cJSON *j;
	char url[600], err[256], maddr[128], host[256];
	long code, tmo = s->sc.interval * 1000L;
	long long now = now_ms();
	int unauth, registered, ok = 0;

	if (tmo > 5000)
		tmo = 5000;
	p = malloc(sizeof(*p));
	if (p == NULL)
		return 0;
	snprintf(host, sizeof(host), "%s", s->url_host);
	pthread_mutex_lock(&s->mu);
	unauth = s->unauthorized;
	registered = s->registered;
	if (s->sc.metrics_port != 0)
		snprintf(maddr, sizeof(maddr), "127.0.0.1:%d",
		    s->sc.metrics_port);
	else
		snprintf(maddr, sizeof(maddr), "%s", s->metrics_addr);
	pthread_mutex_unlock(&s->mu);

	if (unauth >= UNAUTH_LIMIT) {
		set_reason(s, 0, "configuration error: the edge answers "
		    "Unauthorized (wrong token, or the tunnel was deleted)");
		goto out;
	}
	if (maddr[0] != '\0') {
		snprintf(url, sizeof(url), "http://%s/ready", maddr);
		code = http_do(url, NULL, NULL, tmo, p, err, sizeof(err));
		j = cJSON_Parse(p->body);
		rc = cJSON_GetObjectItemCaseSensitive(j, "readyConnections");
		s->ready_conns = cJSON_IsNumber(rc) ? (int)rc->valuedouble : 0;
		cJSON_Delete(j);
		if (code == -1) {
			set_reason(s, 0, "metrics /ready: %s", err);
			goto out;
		}
		if (code != 200 || s->ready_conns < 1) {
			set_reason(s, 0, "metrics /ready: HTTP %ld, %d ready "
			    "connections", code, s->ready_conns);
			goto out;
		}
	} else {
		s->ready_conns = registered;
		if (registered < 1) {
			set_reason(s, 0, "no registered tunnel connection");
			goto out;
		}
	}
	if (s->ready_since == 0)
		s->ready_since = now;
	/* --loglevel warn hides the URL line: ask /quicktunnel. */
	if (s->sc.quick && host[0] == '\0' && maddr[0] != '\0') {
		snprintf(url, sizeof(url), "http://%s/quicktunnel", maddr);
		if (http_do(url, NULL, NULL, tmo, p, err, sizeof(err)) == 200) {
			j = cJSON_Parse(p->body);
			rc = cJSON_GetObjectItemCaseSensitive(j, "hostname");
			if (cJSON_IsString(rc) && strlen(rc->valuestring) <
			    200) {
				char u[256];

				/* The same check as a log line's URL. */
				snprintf(u, sizeof(u), "| https://%s",
				    rc->valuestring);
				/* sup_tick takes it, as one from the log. */
				if (sup_quick_host(u, host, sizeof(host))) {
					pthread_mutex_lock(&s->mu);
					if (strcmp(s->url_seen, host) != 0) {
						snprintf(s->url_seen,
						    sizeof(s->url_seen), "%s",
						    host);
						s->url_flips++;
					}
					pthread_mutex_unlock(&s->mu);
					slog("debug", "quick tunnel host from "
					    "/quicktunnel: %s", host);
				}
			}
			cJSON_Delete(j);
		}
	}
	/* Allow for DNS lag of a new name before the public probe counts. */
	if (now - s->ready_since >= scaled(s, WARMUP_SECS)) {
		if (s->sc.health_url[0] != '\0')
			snprintf(url, sizeof(url), "%s", s->sc.health_url);
		else if (s->sc.quick && host[0] != '\0')
			snprintf(url, sizeof(url), "https://%s/healthz", host);
		else if (!s->sc.quick)
			snprintf(url, sizeof(url), "https://%s/healthz",
			    s->sc.hostname);
		else
			url[0] = '\0';
		if (url[0] != '\0') {
			struct curl_slist *ah = access_headers(&s->sc);

			/* Only here: cloudflared's metrics need no token. */
			code = http_do(url, NULL, ah, tmo, p, err,
			    sizeof(err));
			access_headers_free(ah);
			if (code == -1) {
				set_reason(s, 0, "public URL: %s", err);
				goto out;
			}
			if (code == 502) {
				set_reason(s, 0, "public URL: HTTP 502 (the "
				    "origin %s does not answer cloudflared)",
				    s->sc.local_addr);
				goto out;
			}
			/* 429: the quick tunnel's request limit, not down. */
			if ((code < 200 || code > 299) && code != 429) {
				set_reason(s, 0, "public URL: HTTP %ld%s", code,
				    code == 530 ? " (error 1033: tunnel not "
				    "connected)" : "");
				goto out;
			}
		}
	}
	set_reason(s, 1, "%d ready connection%s", s->ready_conns,
	    s->ready_conns == 1 ? "" : "s");
	ok = 1;
out:
	free(p);
	return ok;
}

/* --- state for `filestor-agent status` */

static void
write_state(struct sup *s)
{
	char tmp[PATH_MAX + 16], host[256], *text = NULL;
	long long now = now_ms();
	cJSON *j = NULL, *h;
	FILE *f = NULL;
	int fd;

	s->dirty = 0;
	snprintf(host, sizeof(host), "%s", s->url_host);
	j = cJSON_CreateObject();
	if (j == NULL)
		return;
	cJSON_AddStringToObject(j, "mode", s->sc.quick ? "quick" : "named");
	if (s->sc.quick && host[0] != '\0') {
		char u[300];

		snprintf(u, sizeof(u), "https://%s", host);
		cJSON_AddStringToObject(j, "url", u);
	} else if (!s->sc.quick) {
		char u[300];

		snprintf(u, sizeof(u), "https://%s", s->sc.hostname);
		cJSON_AddStringToObject(j, "url", u);
	}
	cJSON_AddNumberToObject(j, "agentPid", (double)getpid());
	cJSON_AddNumberToObject(j, "pid", (double)s->pid);
	cJSON_AddStringToObject(j, "state", s->pid > 0 ? (s->stopping ?
	    "stopping" : "running") : "waiting");
	cJSON_AddNumberToObject(j, "readyConnections", s->ready_conns);
	h = cJSON_AddObjectToObject(j, "lastHealth");
	if (h != NULL && s->have_health) {
		cJSON_AddBoolToObject(h, "ok", s->last_ok);
		cJSON_AddStringToObject(h, "reason", s->last_reason);
		cJSON_AddNumberToObject(h, "at", (double)s->last_at);
	}
	cJSON_AddNumberToObject(j, "restarts", s->restarts);
	cJSON_AddNumberToObject(j, "nextBackoffSecs",
	    backoff_secs(s->backoff_idx));
	if (s->restart_at != 0)
		cJSON_AddNumberToObject(j, "restartInMs", (double)(
		    s->restart_at > now ? s->restart_at - now : 0));
	text = cJSON_Print(j);
	if (text == NULL)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->state);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		goto out;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		goto out;
	}
	fprintf(f, "%s\n", text);
	if (fclose(f) == 0)
		(void)rename(tmp, s->state);
out:
	cJSON_free(text);
	cJSON_Delete(j);
}

int
sup_state_path(const char *cfg, char *buf, size_t len)
{
	const char *slash = strrchr(cfg, '/');
	int n;

	if (slash == NULL)
		n = snprintf(buf, len, "tunnel-state.json");
	else
		n = snprintf(buf, len, "%.*s/tunnel-state.json",
		    (int)(slash - cfg), cfg);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A string member of o, escaped into buf (len bytes); "" if none. */
static const char *
esc_member(const cJSON *o, const char *k, char *buf, size_t len)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsString(it))
		return "";
	logsafe_escape(it->valuestring, strlen(it->valuestring), buf, len);
	return buf;
}

static double
num_member(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(it) ? it->valuedouble : 0;
}

int
sup_print_status(const char *state)
{
	/* The file is ours, but its reasons quote cloudflared: escape. */
	char buf[16384], mode[64], url[1200], st8[64], reason[2100];
	const cJSON *h, *it;
	struct stat st;
	cJSON *j;
	FILE *f;
	size_t n;
	int fd;

	/* Not a FIFO or a device: status must never hang on it. */
	fd = open(state, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	if (j == NULL)
		return -1;
	esc_member(j, "mode", mode, sizeof(mode));
	esc_member(j, "url", url, sizeof(url));
	esc_member(j, "state", st8, sizeof(st8));
	it = cJSON_GetObjectItemCaseSensitive(j, "agentPid");
	printf("tunnel mode:       %s%s\n", mode, cJSON_IsNumber(it) &&
	    kill((pid_t)it->valuedouble, 0) == -1 && errno == ESRCH ?
	    " (agent not running; last known state)" : "");
	printf("tunnel url:        %s\n", url[0] != '\0' ? url : "(none yet)");
	printf("cloudflared pid:   %.0f (%s)\n", num_member(j, "pid"), st8);
	printf("ready connections: %.0f\n", num_member(j, "readyConnections"));
	h = cJSON_GetObjectItemCaseSensitive(j, "lastHealth");
	if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(h, "ok")))
		printf("last health:       %s: %s\n",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "ok")) ?
		    "ok" : "failed", esc_member(h, "reason", reason,
		    sizeof(reason)));
	else
		printf("last health:       (not checked yet)\n");
	printf("restarts:          %.0f\n", num_member(j, "restarts"));
	printf("next backoff:      %.0f s\n", num_member(j, "nextBackoffSecs"));
	cJSON_Delete(j);
	return 0;
}

/* --- the supervisor */

struct sup *
sup_start(struct sup_conf *sc, const struct conf *c, const char *state,
    char *err, size_t errlen)
{
	const char *ts = getenv("FILESTOR_AGENT_TIME_SCALE");
	const cJSON *sec;
	struct sup *s;
	char *end;
	size_t n;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->scale = 1.0;
	if (ts != NULL && ts[0] != '\0') {
		s->scale = strtod(ts, &end);
		if (*end != '\0' || !(s->scale > 0 && s->scale <= 1)) {
			snprintf(err, errlen, "FILESTOR_AGENT_TIME_SCALE must be "
			    "a number in (0, 1]");
			free(s);
			return NULL;
		}
	}
	/*
	 * Whatever cloudflared's tree orphans (a wrapper's children, a
	 * daemon) becomes our child instead of init's: reaped here, and
	 * found at the end of a stop (see the top of this file).
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		slog("warn", "PR_SET_CHILD_SUBREAPER: %s: processes that "
		    "leave cloudflared's process group may outlive it",
		    strerror(errno));
	s->sc = *sc;
	sc->token = NULL;	/* ours now */
	pthread_mutex_init(&s->mu, NULL);
	s->loglim.max = CHILD_LOG_MAX;
	s->loglim.window_ms = CHILD_LOG_WINDOW;
	s->wake = -1;
	snprintf(s->state, sizeof(s->state), "%s", state);
	snprintf(s->agent_id, sizeof(s->agent_id), "%s", c->agent_id);
	sec = cJSON_GetObjectItemCaseSensitive(c->doc, "agentSecret");
	if (c->server != NULL && cJSON_IsString(sec)) {
		n = strlen(c->server);
		while (n > 0 && c->server[n - 1] == '/')
			n--;
		s->server = strndup(c->server, n);
		s->secret = strdup(sec->valuestring);
	}
	slog("info", "supervising %s (%s mode, origin http://%s, health "
	    "every %d s, restart after %d failures)", s->sc.path,
	    s->sc.quick ? "quick" : "named", s->sc.local_addr, s->sc.interval,
	    s->sc.max_failures);
	start_child(s);
	/* Named: the hostname is fixed; say we are here right away. */
	if (!s->sc.quick)
		heartbeat(s, s->sc.hostname);
	write_state(s);
	return s;
}

/*
 * Take the quick host the output (or /quicktunnel) names, at most once
 * per URL_HOLD_SECS: one cloudflared has one URL, so a child that keeps
 * printing others must not flood the log and the backend.
 */
static void
take_url(struct sup *s, long long now)
{
	char host[256];
	unsigned flips;

	pthread_mutex_lock(&s->mu);
	snprintf(host, sizeof(host), "%s", s->url_seen);
	flips = s->url_flips;
	pthread_mutex_unlock(&s->mu);
	if (host[0] == '\0' || strcmp(host, s->url_host) == 0 ||
	    (s->url_at != 0 && now - s->url_at < scaled(s, URL_HOLD_SECS)))
		return;
	if (s->url_at != 0)
		slog("warn", "the quick tunnel URL changed %u time(s) in one "
		    "cloudflared; taking the latest at most every %d s",
		    flips - s->url_flips_seen, URL_HOLD_SECS);
	snprintf(s->url_host, sizeof(s->url_host), "%s", host);
	s->url_at = now;
	s->url_flips_seen = flips;
	s->dirty = 1;
	slog("info", "quick tunnel URL: https://%s", host);
}

void
sup_tick(struct sup *s)
{
	long long now;
	const char *host;

	if (s == NULL)
		return;
	now = now_ms();
	tree_step(s, now);
	if (s->pid <= 0)
		reap(s);	/* late leftovers of a tree given up on */
	if (s->pid == 0 && s->restart_at != 0 && now >= s->restart_at)
		start_child(s);
	if (s->pid > 0 && s->stopping == 0 && now >= s->next_check) {
		s->next_check = now + scaled(s, s->sc.interval);
		if (check_health(s)) {
			if (s->failures > 0)
				slog("info", "tunnel healthy again: %s",
				    s->last_reason);
			s->failures = 0;
			if (s->healthy_since == 0)
				s->healthy_since = now;
			if (s->backoff_idx > 0 && now - s->healthy_since >=
			    scaled(s, RESET_SECS)) {
				s->backoff_idx = 0;
				s->dirty = 1;
			}
		} else if (now - s->started < scaled(s, STARTUP_SECS)) {
			/*
			 * The metrics server and the first registration come
			 * a moment after the start: early probes say nothing.
			 */
			s->healthy_since = 0;
			slog("info", "tunnel not ready yet: %s",
			    s->last_reason);
		} else {
			s->failures++;
			s->healthy_since = 0;
			slog("warn", "health check failed (%d of %d): %s",
			    s->failures, s->sc.max_failures, s->last_reason);
			if (s->failures >= s->sc.max_failures) {
				slog("warn", "restarting cloudflared after %d "
				    "failed health checks", s->failures);
				s->stop_for_health = 1;
				begin_stop(s);
			}
		}
	}
	take_url(s, now);
	/*
	 * Report a new quick URL at once, a heartbeat every minute, and
	 * never two within HEARTBEAT_GAP.
	 */
	host = s->url_host;
	if (s->last_hb != 0 && now - s->last_hb < scaled(s, HEARTBEAT_GAP))
		;
	else if (s->sc.quick && host[0] != '\0' &&
	    strcmp(host, s->reported) != 0) {
		s->dirty = 1;
		if (s->hb_retry == 0 || now >= s->hb_retry)
			heartbeat(s, host);
	} else if (now >= s->next_hb)
		heartbeat(s, s->sc.quick ? (host[0] != '\0' ? host : NULL) :
		    s->sc.hostname);
	if (s->dirty)
		write_state(s);
}

void
sup_stop(struct sup *s)
{
	if (s == NULL)
		return;
	s->exiting = 1;
	if (s->pid > 0) {
		slog("info", "stopping cloudflared (pid %ld): SIGTERM to its "
		    "process group, up to %d s", (long)s->pid,
		    s->sc.grace + SUP_KILL_MARGIN);
		begin_stop(s);
		/* Bounded: tree_step gives up SIGKILL_WAIT_MS after SIGKILL. */
		for (;;) {
			tree_step(s, now_ms());
			if (s->pid <= 0)
				break;
			usleep(20000);
		}
	}
	reap(s);
	s->restart_at = 0;
	write_state(s);
	if (s->secret != NULL) {
		cry_wipe(s->secret, strlen(s->secret));
		free(s->secret);
	}
	free(s->server);
	sup_conf_free(&s->sc);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
