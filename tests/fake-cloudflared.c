/*
 * fake-cloudflared: a stand-in for cloudflared in the tests (t07), after
 * shared/reference/cloudflared.md §7, the subset the supervisor's tests
 * need. No network beyond loopback.
 *
 * Knobs (environment first, then KEY=VALUE lines of FAKECF_CONF or
 * <argv0>.conf): FAKECF_TRACE (JSON lines: start, signal as it arrives,
 * ready, exit), FAKECF_QUICK_API (ok, 429, dns), FAKECF_QUICK_HOST,
 * FAKECF_CONNECT (ok, dialfail, unauthorized), FAKECF_T_API, FAKECF_T_REGISTER,
 * FAKECF_T_HA_SPACING (ms), FAKECF_CRASH_AFTER_MS, FAKECF_CRASH_CODE,
 * FAKECF_IGNORE_TERM, FAKECF_INFLIGHT_MS, FAKECF_TIME_SCALE, FAKECF_CTL
 * (control file, one command a line: crash N, drop all, connect X,
 * ignore-term on|off), FAKECF_ACCESS_ID and FAKECF_ACCESS_SECRET (the
 * service token /access/healthz on the metrics port wants, as Access).
 *
 * Argument parsing follows Go's flag package per level: tunnel-level
 * flags before "run", run-level ones after; a flag at the wrong level
 * prints "Incorrect Usage" on stdout and exits 0, as the real one does.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#define MAXF	64
#define MAXCONN	16

extern char **environ;

struct flag {
	char	 name[64];
	char	*val;
	int	 level;		/* 0 tunnel, 1 run */
};

static struct flag	 flags[MAXF];
static int		 nflags;
static char		 self[4096];
static char		*conf_text;
static volatile sig_atomic_t got_term;
static int		 trace_fd = -1;	/* for on_term; see there */
static int		 ready_count;
static int		 quick;
static char		 host[256];
static char		 connector[40];
static double		 tscale = 1.0;
static char		 cur_connect[32] = "ok";
static int		 ignore_term;

static const char *const t_vals[] = { "config", "origincert",
	"autoupdate-freq", "metrics", "pidfile", "url", "loglevel",
	"transport-loglevel", "proto-loglevel", "logfile", "log-directory",
	"trace-output", "output", "credentials-file", "cred-file", "edge",
	"region", "edge-ip-version", "edge-bind-address", "hostname",
	"metrics-update-freq", "tag", "retries", "ha-connections",
	"grace-period", "label", "protocol", "p", "quick-service", "name", "n",
	NULL };
static const char *const t_bools[] = { "no-autoupdate", "no-prechecks",
	"hello-world", "post-quantum", "pq", "management-diagnostics",
	"version", "v", "V", "help", "h", NULL };
static const char *const r_vals[] = { "credentials-file", "cred-file",
	"credentials-contents", "protocol", "p", "features", "F", "token",
	"token-file", "icmpv4-src", "icmpv6-src", "max-active-flows",
	"dns-resolver-addrs", "url", "http-host-header", "origin-server-name",
	"unix-socket", NULL };
static const char *const r_bools[] = { "post-quantum", "pq", "hello-world",
	"no-tls-verify", NULL };

static long long
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !got_term)
		;
}

static const char *
knob(const char *name)
{
	static char val[512];
	const char *v = getenv(name), *p;
	size_t n = strlen(name), l;

	if (v != NULL)
		return v;
	for (p = conf_text; p != NULL && *p != '\0'; ) {
		l = strcspn(p, "\n");
		if (l > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			snprintf(val, sizeof(val), "%.*s", (int)(l - n - 1),
			    p + n + 1);
			return val;
		}
		p += l;
		if (*p == '\n')
			p++;
	}
	return NULL;
}

static long
knob_ms(const char *name, long def)
{
	const char *v = knob(name);

	return v != NULL ? strtol(v, NULL, 10) : def;
}

/* The trace file: FAKECF_TRACE, or <argv0>.trace (def, when that). */
static const char *
trace_path(char *def, size_t len)
{
	const char *path = knob("FAKECF_TRACE");

	if (path != NULL)
		return path;
	snprintf(def, len, "%s.trace", self);
	return def;
}

static void
trace(cJSON *ev)
{
	const char *path;
	char def[4200], *text;
	FILE *f;

	path = trace_path(def, sizeof(def));
	cJSON_AddNumberToObject(ev, "t", (double)now_ms());
	cJSON_AddNumberToObject(ev, "pid", (double)getpid());
	text = cJSON_PrintUnformatted(ev);
	f = fopen(path, "a");
	if (f != NULL && text != NULL) {
		fprintf(f, "%s\n", text);
		fclose(f);
	} else if (f != NULL)
		fclose(f);
	free(text);
	cJSON_Delete(ev);
}

static void
trace_ev(const char *ev, const char *k, const char *v, int code)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "ev", ev);
	if (k != NULL)
		cJSON_AddStringToObject(j, k, v);
	if (code >= 0)
		cJSON_AddNumberToObject(j, "code", code);
	trace(j);
}

static void
quit(int code)
{
	trace_ev("exit", NULL, NULL, code);
	exit(code);
}

/* A zerolog console line on stderr, one write. */
static void
lg(const char *lvl, const char *fmt, ...)
{
	char buf[8192], ts[32];
	time_t t = time(NULL);
	struct tm tm;
	va_list ap;
	int n;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(buf, sizeof(buf), "%s %s ", ts, lvl);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) < 0)
		_exit(1);
}

static void
raw(const char *line)
{
	if (write(2, line, strlen(line)) < 0 || write(2, "\n", 1) < 0)
		_exit(1);
}

static const char *
flag_val(const char *name)
{
	int i, best = -1;

	for (i = 0; i < nflags; i++)
		if (strcmp(flags[i].name, name) == 0 && (best == -1 ||
		    flags[i].level >= flags[best].level))
			best = i;
	return best == -1 ? NULL : flags[best].val;
}

static int
in(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static void
usage_error(int level, const char *err)
{
	printf("Incorrect Usage%s %s\n\n", level == 1 ? ":" : ".", err);
	printf("NAME:\n   cloudflared tunnel%s - %s\n", level == 1 ? " run" : "",
	    level == 1 ? "Proxy a local web server by running the given tunnel"
	    : "Use Cloudflare Tunnel to expose private services");
	fflush(stdout);
	quit(0);
}

/* Go duration to ms: "30s", "1m30s", "0", "1.5s". -1 when invalid. */
static long
duration_ms(const char *s)
{
	double total = 0, v;
	char *end;

	if (strcmp(s, "0") == 0)
		return 0;
	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		if (strncmp(s, "ms", 2) == 0) {
			total += v;
			s += 2;
		} else if (*s == 's') {
			total += v * 1000;
			s++;
		} else if (*s == 'm') {
			total += v * 60000;
			s++;
		} else if (*s == 'h') {
			total += v * 3600000;
			s++;
		} else
			return -1;
	}
	return (long)total;
}

/* Parse flags of one level from argv[i]; returns the first non-flag. */
static int
parse_level(int argc, char **argv, int i, int level)
{
	const char *const *vals = level == 0 ? t_vals : r_vals;
	const char *const *bools = level == 0 ? t_bools : r_bools;
	char name[64], err[200], *eq, *a, *end;

	for (; i < argc; i++) {
		a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			return i;
		if (strcmp(a, "--") == 0)
			return i + 1;
		a += a[1] == '-' ? 2 : 1;
		snprintf(name, sizeof(name), "%s", a);
		eq = strchr(name, '=');
		if (eq != NULL)
			*eq = '\0';
		if (nflags == MAXF)
			usage_error(level, "too many flags");
		snprintf(flags[nflags].name, sizeof(flags[nflags].name), "%s",
		    name);
		flags[nflags].level = level;
		if (in(bools, name)) {
			flags[nflags++].val = eq != NULL ? strchr(a, '=') + 1 :
			    "true";
			continue;
		}
		if (!in(vals, name)) {
			snprintf(err, sizeof(err), "flag provided but not "
			    "defined: -%s", name);
			usage_error(level, err);
		}
		if (eq != NULL)
			flags[nflags].val = strchr(a, '=') + 1;
		else if (i + 1 < argc)
			flags[nflags].val = argv[++i];
		else {
			snprintf(err, sizeof(err), "flag needs an argument: "
			    "-%s", name);
			usage_error(level, err);
		}
		if ((strcmp(name, "retries") == 0 ||
		    strcmp(name, "ha-connections") == 0) &&
		    (strtol(flags[nflags].val, &end, 10), *end != '\0' ||
		    end == flags[nflags].val)) {
			snprintf(err, sizeof(err), "invalid value \"%s\" for "
			    "flag -%s: parse error", flags[nflags].val, name);
			usage_error(level, err);
		}
		if (strcmp(name, "grace-period") == 0 &&
		    duration_ms(flags[nflags].val) < 0) {
			snprintf(err, sizeof(err), "invalid value \"%s\" for "
			    "flag -%s: parse error", flags[nflags].val, name);
			usage_error(level, err);
		}
		nflags++;
	}
	return i;
}

/* --- metrics */

static enum MHD_Result
on_req(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *sz,
    void **ctx)
{
	struct MHD_Response *r;
	char body[512];
	unsigned status = 200;
	enum MHD_Result ret;

	if (strcmp(url, "/ready") == 0) {
		status = ready_count > 0 ? 200 : 503;
		snprintf(body, sizeof(body), "{\"status\":%u,\"readyConnections"
		    "\":%d,\"connectorId\":\"%s\"}", status, ready_count,
		    connector);
	} else if (strcmp(url, "/access/healthz") == 0) {
		/*
		 * A public URL behind Cloudflare Access: 200 only with the
		 * service token of FAKECF_ACCESS_ID/_SECRET, else Access's
		 * 302 to its login page. Read with getenv: knob's buffer is
		 * the main thread's.
		 */
		const char *id = getenv("FAKECF_ACCESS_ID");
		const char *sec = getenv("FAKECF_ACCESS_SECRET");
		const char *hid = MHD_lookup_connection_value(c,
		    MHD_HEADER_KIND, "CF-Access-Client-Id");
		const char *hsec = MHD_lookup_connection_value(c,
		    MHD_HEADER_KIND, "CF-Access-Client-Secret");

		if (id != NULL && sec != NULL && hid != NULL && hsec != NULL &&
		    strcmp(id, hid) == 0 && strcmp(sec, hsec) == 0)
			snprintf(body, sizeof(body), "ok\n");
		else {
			status = 302;
			snprintf(body, sizeof(body), "access login\n");
		}
		trace_ev(status == 200 ? "access-ok" : "access-denied", NULL,
		    NULL, -1);
	} else if (strcmp(url, "/healthcheck") == 0)
		snprintf(body, sizeof(body), "OK\n");
	else if (strcmp(url, "/quicktunnel") == 0)
		snprintf(body, sizeof(body), "{\"hostname\":\"%s\"}",
		    quick ? host : "");
	else if (strcmp(url, "/metrics") == 0)
		snprintf(body, sizeof(body), "# TYPE build_info gauge\n"
		    "build_info{version=\"2026.8.2\"} 1\n");
	else {
		status = 404;
		snprintf(body, sizeof(body), "404 page not found\n");
	}
	r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Decimal digits of v (>= 0), written to end backwards; the first. */
static char *
fmt_ll(char *end, long long v)
{
	*--end = '\0';
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return end;
}

/* Append s at line + *n. */
static void
put_str(char *line, size_t *n, const char *s)
{
	size_t l = strlen(s);

	memcpy(line + *n, s, l);
	*n += l;
}

/*
 * Trace the signal here, as it arrives, not later in the main loop: a
 * second signal kills at once (below), and it may come before the main
 * loop wakes. An agent killed with SIGKILL sends up to one SIGTERM per
 * thread it had: PR_SET_PDEATHSIG fires each time the child passes to
 * the next thread of the dying agent (t07, "orphan"). Async-signal-safe
 * calls only: one write(2), to a descriptor opened before.
 */
static void
on_term(int sig)
{
	char line[128], num[24];
	struct timespec ts;
	size_t n = 0;
	ssize_t w;
	int save = errno;

	got_term = sig;
	/*
	 * The line goes out before the default comes back: from then on,
	 * a second signal may kill the process in another thread at once.
	 */
	if (trace_fd != -1) {
		clock_gettime(CLOCK_REALTIME, &ts);
		put_str(line, &n, "{\"ev\":\"signal\",\"sig\":\"");
		put_str(line, &n, sig == SIGINT ? "INT" : "TERM");
		put_str(line, &n, "\",\"t\":");
		put_str(line, &n, fmt_ll(num + sizeof(num),
		    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
		put_str(line, &n, ",\"pid\":");
		put_str(line, &n, fmt_ll(num + sizeof(num),
		    (long long)getpid()));
		put_str(line, &n, "}\n");
		w = write(trace_fd, line, n);
		(void)w;	/* nothing to be done about it here */
	}
	/* The real one restores the default after the first signal. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	errno = save;
}

static void
uuid4(char out[40])
{
	unsigned r[4];
	int i;

	for (i = 0; i < 4; i++)
		r[i] = (unsigned)random();
	snprintf(out, 40, "%08x-%04x-4%03x-a%03x-%04x%08x", r[0], r[1] & 0xffff,
	    r[1] >> 20, r[2] & 0xfff, r[2] >> 16, r[3]);
}

/* std-base64 JSON with "t": the tunnel id into tid. */
static int
token_valid(const char *tok, char tid[64])
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4096], *p, *e;
	size_t n = 0, i;
	unsigned acc = 0;
	int bits = 0;
	const char *q;

	for (i = 0; tok[i] != '\0' && tok[i] != '='; i++) {
		q = strchr(b64, tok[i]);
		if (q == NULL || n >= sizeof(out) - 1)
			return 0;
		acc = (acc << 6) | (unsigned)(q - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	p = strstr(out, "\"t\":\"");
	if (p == NULL)
		return 0;
	p += 5;
	e = strchr(p, '"');
	if (e == NULL || e - p != 36)
		return 0;
	snprintf(tid, 64, "%.*s", (int)(e - p), p);
	return 1;
}

static int registered;

static void
poll_ctl(long *off)
{
	const char *path = knob("FAKECF_CTL");
	char def[4200], line[256];
	FILE *f;

	if (path == NULL) {
		snprintf(def, sizeof(def), "%s.ctl", self);
		path = def;
	}
	f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fseek(f, *off, SEEK_SET) == 0) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strchr(line, '\n') == NULL)
				break;
			*off += (long)strlen(line);
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "crash ", 6) == 0)
				quit((int)strtol(line + 6, NULL, 10));
			else if (strcmp(line, "drop all") == 0 &&
			    ready_count > 0) {
				lg("ERR", "Failed to serve quic connection "
				    "error=\"timeout: no recent network "
				    "activity\" connIndex=0 event=0 "
				    "ip=198.41.192.7");
				lg("INF", "Retrying connection in up to 1s "
				    "connIndex=0 event=0 ip=198.41.192.7");
				ready_count = 0;
				registered = 0;
				trace_ev("drop", NULL, NULL, -1);
			} else if (strncmp(line, "connect ", 8) == 0)
				snprintf(cur_connect, sizeof(cur_connect), "%s",
				    line + 8);
			else if (strcmp(line, "ignore-term on") == 0) {
				ignore_term = 1;
				signal(SIGTERM, SIG_IGN);
			}
		}
	}
	fclose(f);
}

/* Read FAKECF_CONF or <argv0>.conf, if any, into conf_text for knob(). */
static void
load_conf(void)
{
	struct stat st;
	char path[4200];
	const char *v;
	FILE *f;

	v = getenv("FAKECF_CONF");
	snprintf(path, sizeof(path), "%s.conf", self);
	f = fopen(v != NULL ? v : path, "r");
	if (f != NULL && fstat(fileno(f), &st) == 0 && st.st_size < 65536) {
		conf_text = calloc(1, (size_t)st.st_size + 1);
		if (conf_text != NULL &&
		    fread(conf_text, 1, (size_t)st.st_size, f) == 0)
			conf_text[0] = '\0';
	}
	if (f != NULL)
		fclose(f);
	v = knob("FAKECF_TIME_SCALE");
	if (v != NULL)
		tscale = strtod(v, NULL);
	v = knob("FAKECF_CONNECT");
	if (v != NULL)
		snprintf(cur_connect, sizeof(cur_connect), "%s", v);
}

/* The "start" trace event: argv, which token variables are set, stdin. */
static void
trace_start(int argc, char *argv[])
{
	struct stat st;
	cJSON *j, *a, *e;
	int i;

	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "ev", "start");
	a = cJSON_AddArrayToObject(j, "argv");
	for (i = 0; i < argc; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(argv[i]));
	e = cJSON_AddObjectToObject(j, "env");
	cJSON_AddStringToObject(e, "TUNNEL_TOKEN", getenv("TUNNEL_TOKEN") ?
	    "set" : "unset");
	cJSON_AddStringToObject(e, "CLOUDFLARE_TUNNEL_TOKEN",
	    getenv("CLOUDFLARE_TUNNEL_TOKEN") ? "set" : "unset");
	cJSON_AddBoolToObject(j, "stdinDevNull", fstat(0, &st) == 0 &&
	    S_ISCHR(st.st_mode));
	trace(j);
}

/*
 * The command line up to the flags: returns 1 for "tunnel run", 0 for a
 * quick tunnel; anything else answers as the real one does and exits.
 */
static int
parse_args(int argc, char *argv[])
{
	int i, run = 0;

	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0)) {
		printf("cloudflared version 2026.8.2 (built 2026-08-14-11:17 "
		    "UTC)\n");
		quit(0);
	}
	if (argc < 2 || strcmp(argv[1], "tunnel") != 0) {
		printf("NAME:\n   cloudflared - Cloudflare's command-line tool\n");
		quit(0);
	}
	i = parse_level(argc, argv, 2, 0);
	if (i < argc && strcmp(argv[i], "run") == 0) {
		run = 1;
		i = parse_level(argc, argv, i + 1, 1);
		if (argc - i > 1) {
			raw("\"cloudflared tunnel run\" accepts only one "
			    "argument, the ID or name of the tunnel to run.");
			raw("See 'cloudflared tunnel run --help'.");
			quit(255);
		}
	} else if (i < argc) {
		printf("NAME:\n   cloudflared tunnel\n");
		quit(0);
	}
	return run;
}

/* "tunnel run": the token from the flag or TUNNEL_TOKEN must be valid. */
static void
start_named(void)
{
	char tid[64] = "";
	const char *tok;

	tok = flag_val("token");
	if (tok == NULL)
		tok = getenv("TUNNEL_TOKEN");
	if (tok == NULL) {
		raw("\"cloudflared tunnel run\" requires the ID or name "
		    "of the tunnel to run as the last command line "
		    "argument or in the configuration file.");
		raw("See 'cloudflared tunnel run --help'.");
		quit(255);
	}
	if (!token_valid(tok, tid)) {
		raw("Provided Tunnel token is not valid.");
		raw("See 'cloudflared tunnel run --help'.");
		quit(255);
	}
	lg("INF", "Starting tunnel tunnelID=%s", tid);
}

/* The quick tunnel's banner, with its trycloudflare.com host name. */
static void
quick_banner(void)
{
	char u[300];
	const char *v;

	v = knob("FAKECF_QUICK_HOST");
	if (v != NULL)
		snprintf(host, sizeof(host), "%s", v);
	else {
		static const char *const w[] = { "accurately",
		    "cardiac", "comments", "motorola", "villas",
		    "activists", "hey", "barbie" };
		snprintf(host, sizeof(host), "%s-%s-%s-%ld"
		    ".trycloudflare.com", w[random() % 8],
		    w[random() % 8], w[random() % 8],
		    (long)getpid());
	}
	lg("INF", "+%s+", "------------------------------------------"
	    "----------------------------------------------------");
	lg("INF", "|  %-88s  |", "Your quick Tunnel has been created! "
	    "Visit it at (it may take some time to be reachable):");
	snprintf(u, sizeof(u), "https://%s", host);
	lg("INF", "|  %-88s  |", u);
	lg("INF", "+%s+", "------------------------------------------"
	    "----------------------------------------------------");
}

/* A quick tunnel: ask the (fake) API for one, as FAKECF_QUICK_API says. */
static void
start_quick(const char *url)
{
	const char *v;

	if (url == NULL && flag_val("hello-world") == NULL) {
		raw("You did not specify any valid additional argument "
		    "to the cloudflared tunnel command.");
		quit(1);
	}
	quick = 1;
	lg("INF", "Thank you for trying Cloudflare Tunnel. Doing so, "
	    "without a Cloudflare account, is a quick way to experiment "
	    "and try it out. However, be aware that these account-less "
	    "Tunnels have no uptime guarantee, are subject to the "
	    "Cloudflare Online Services Terms of Use "
	    "(https://www.cloudflare.com/website-terms/), and "
	    "Cloudflare reserves the right to investigate your use of "
	    "Tunnels for violations of such terms. If you intend to use "
	    "Tunnels in production you should use a pre-created named "
	    "tunnel by following: https://developers.cloudflare.com/"
	    "cloudflare-one/connections/connect-apps");
	lg("INF", "Requesting new quick Tunnel on trycloudflare.com...");
	msleep(knob_ms("FAKECF_T_API", 800));
	v = knob("FAKECF_QUICK_API");
	if (v != NULL && strcmp(v, "429") == 0) {
		lg("ERR", "Error unmarshaling QuickTunnel response: "
		    "error code: 1015 error=\"invalid character 'e' "
		    "looking for beginning of value\" "
		    "status_code=\"429 Too Many Requests\"");
		raw("failed to unmarshal quick Tunnel: invalid "
		    "character 'e' looking for beginning of value");
		quit(1);
	}
	if (v != NULL && strcmp(v, "dns") == 0) {
		raw("failed to request quick Tunnel: Post "
		    "\"https://api.trycloudflare.com/tunnel\": dial "
		    "tcp: lookup api.trycloudflare.com: no such host");
		quit(1);
	}
	quick_banner();
	lg("INF", "Cannot determine default configuration path. No file "
	    "[config.yml config.yaml] in [~/.cloudflared "
	    "~/.cloudflare-warp ~/cloudflare-warp /etc/cloudflared "
	    "/usr/local/etc/cloudflared]");
}

/* The version, settings and environment lines, and the connector ID. */
static void
log_settings(void)
{
	char **ev, envmap[4096] = "", settings[2048] = "";
	int i;

	lg("INF", "Version 2026.8.2 (Checksum 0123456789abcdef)");
	lg("INF", "GOOS: linux, GOVersion: go1.26.4, GoArch: amd64");
	for (i = 0; i < nflags; i++) {
		snprintf(settings + strlen(settings), sizeof(settings) -
		    strlen(settings), "%s%s:%s", i == 0 ? "" : " ",
		    flags[i].name, strcmp(flags[i].name, "token") == 0 ?
		    "*****" : flags[i].val);
	}
	lg("INF", "Settings: map[%s]", settings);
	/* Faithfully leaks what the supervisor failed to scrub (§1.5). */
	for (ev = environ; *ev != NULL; ev++) {
		const char *eq = strchr(*ev, '=');

		if (strstr(*ev, "TUNNEL_") == NULL || eq == NULL ||
		    strchr(eq + 1, '=') != NULL)
			continue;
		snprintf(envmap + strlen(envmap), sizeof(envmap) -
		    strlen(envmap), "%s%.*s:%s", envmap[0] ? " " : "",
		    (int)(eq - *ev), *ev, strncmp(*ev, "TUNNEL_TOKEN=", 13) ==
		    0 || strncmp(*ev, "TUNNEL_CRED_CONTENTS=", 21) == 0 ?
		    "*****" : eq + 1);
	}
	if (envmap[0] != '\0')
		lg("INF", "Environmental variables map[%s]", envmap);
	if (flag_val("no-autoupdate") == NULL)
		lg("INF", "Autoupdate frequency is set autoupdateFreq=86400000");
	uuid4(connector);
	lg("INF", "Generated Connector ID: %s", connector);
}

/* Check protocol, grace-period, edge-ip-version; returns the grace (ms). */
static long
check_run_flags(void)
{
	const char *v, *proto;
	long grace;

	proto = flag_val("protocol");
	if (proto == NULL)
		proto = quick ? "quic" : "auto";
	lg("INF", "Initial protocol %s", strcmp(proto, "http2") == 0 ?
	    "http2" : "quic");
	if (strcmp(proto, "auto") != 0 && strcmp(proto, "quic") != 0 &&
	    strcmp(proto, "http2") != 0) {
		lg("ERR", "Couldn't start tunnel error=\"unknown protocol %s\"",
		    proto);
		raw("unknown protocol");
		quit(1);
	}
	v = flag_val("grace-period");
	grace = v != NULL ? duration_ms(v) : 30000;
	if (grace > 180000) {
		lg("ERR", "Couldn't start tunnel error=\"grace-period must be "
		    "equal or less than 3m0s\"");
		raw("grace-period must be equal or less than 3m0s");
		quit(1);
	}
	v = flag_val("edge-ip-version");
	if (v != NULL && strcmp(v, "auto") != 0 && strcmp(v, "4") != 0 &&
	    strcmp(v, "6") != 0) {
		lg("ERR", "Couldn't start tunnel error=\"invalid value for "
		    "edge-ip-version: %s\"", v);
		raw("invalid value for edge-ip-version");
		quit(1);
	}
	return grace;
}

/* The metrics server on --metrics, if given; NULL if not. */
static struct MHD_Daemon *
start_metrics(void)
{
	struct MHD_Daemon *d;
	struct sockaddr_in sa;
	const char *metrics, *colon;
	int mport;

	metrics = flag_val("metrics");
	if (metrics == NULL)
		return NULL;
	colon = strrchr(metrics, ':');
	mport = colon != NULL ? (int)strtol(colon + 1, NULL, 10) : 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)mport);
	sa.sin_addr.s_addr = htonl(0x7f000001);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
	    NULL, on_req, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_END);
	if (d == NULL) {
		lg("ERR", "Error opening metrics server listener "
		    "error=\"failed to bind to address (%s): listen "
		    "tcp %s: bind: address already in use\"", metrics,
		    metrics);
		quit(1);
	}
	lg("INF", "Starting metrics server on %.127s/metrics", metrics);
	return d;
}

/* A graceful shutdown on SIGTERM or SIGINT (on_term traced it). */
static void
shutdown_now(struct MHD_Daemon *d, long grace, long inflight)
{
	long wait = inflight > 200 ? inflight : 200;
	int i;

	lg("INF", "Initiating graceful shutdown due to signal %s "
	    "...", got_term == SIGINT ? "interrupt" : "terminated");
	for (i = 0; i < ready_count; i++)
		lg("INF", "Unregistered tunnel connection "
		    "connIndex=%d event=0 ip=198.41.192.%d", i, 7 + i);
	ready_count = 0;
	got_term = 0;
	msleep(grace < wait ? grace : wait);
	lg("ERR", "no more connections active and exiting");
	lg("INF", "Tunnel server stopped");
	lg("INF", "Metrics server stopped");
	if (d != NULL)
		MHD_stop_daemon(d);
	quit(0);
}

/* Exit as FAKECF_CRASH_CODE says; 2 is a Go panic. */
static void
crash(void)
{
	const char *v;
	int code;

	v = knob("FAKECF_CRASH_CODE");
	code = v != NULL ? (int)strtol(v, NULL, 10) : 1;
	if (code == 2) {
		raw("panic: runtime error: invalid memory "
		    "address or nil pointer dereference");
		raw("goroutine 1 [running]:");
	}
	quit(code);
}

/* Register the next connection; returns 1 if it did. */
static int
register_conn(void)
{
	char cid[40];

	if (strcmp(cur_connect, "ok") != 0)
		return 0;
	uuid4(cid);
	lg("INF", "Tunnel connection curve preferences: "
	    "[X25519MLKEM768 CurveP256] connIndex=%d "
	    "event=0 ip=198.41.192.%d", registered, 7 + registered);
	lg("INF", "Registered tunnel connection "
	    "connIndex=%d connection=%s event=0 "
	    "ip=198.41.192.%d location=ams01 "
	    "protocol=quic", registered, cid, 7 + registered);
	registered++;
	ready_count++;
	if (ready_count == 1)
		trace_ev("ready", NULL, NULL, -1);
	return 1;
}

/* A failed connection attempt, as FAKECF_CONNECT or "connect X" says. */
static void
log_connect_failure(int attempt)
{
	if (strcmp(cur_connect, "unauthorized") == 0)
		lg("ERR", "Register tunnel error from "
		    "server side error=\"Unauthorized: "
		    "Invalid tunnel secret\" "
		    "connIndex=%d event=0 "
		    "ip=198.41.192.7", registered);
	else
		lg("ERR", "Failed to dial a quic "
		    "connection error=\"failed to dial "
		    "to edge with quic: timeout: no "
		    "recent network activity\" "
		    "connIndex=%d event=0 "
		    "ip=198.41.192.7", registered);
	lg("INF", "Retrying connection in up to %ds "
	    "connIndex=%d event=0 ip=198.41.192.7",
	    2 << (attempt < 5 ? attempt : 5), registered);
}

int
main(int argc, char *argv[])
{
	struct MHD_Daemon *d;
	char path[4200];
	const char *v, *url;
	long long t0, next_reg, crash_at = -1, next_retry = 0;
	long grace, ctl_off = 0, spacing, inflight;
	int run, ha, attempt = 0;

	snprintf(self, sizeof(self), "%s", argv[0]);
	srandom((unsigned)(getpid() ^ time(NULL)));
	load_conf();
	trace_start(argc, argv);
	run = parse_args(argc, argv);
	url = flag_val("url");
	if (url == NULL)
		url = getenv("TUNNEL_URL");
	/* Before the quick tunnel's API wait: FAKECF_T_REGISTER counts it. */
	t0 = now_ms();
	if (run)
		start_named();
	else
		start_quick(url);
	log_settings();
	grace = check_run_flags();
	d = start_metrics();
	trace_fd = open(trace_path(path, sizeof(path)),
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	v = knob("FAKECF_IGNORE_TERM");
	if (v != NULL && strcmp(v, "1") == 0) {
		ignore_term = 1;
		signal(SIGTERM, SIG_IGN);
	}
	v = flag_val("ha-connections");
	ha = quick ? 1 : v != NULL ? (int)strtol(v, NULL, 10) : 4;
	if (ha < 1 || ha > MAXCONN)
		ha = 1;
	spacing = knob_ms("FAKECF_T_HA_SPACING", 1000);
	next_reg = t0 + knob_ms("FAKECF_T_REGISTER", 600);
	v = knob("FAKECF_CRASH_AFTER_MS");
	if (v != NULL)
		crash_at = t0 + strtol(v, NULL, 10);
	inflight = knob_ms("FAKECF_INFLIGHT_MS", 0);

	for (;;) {
		msleep(20);
		if (got_term)
			shutdown_now(d, grace, inflight);
		if (crash_at >= 0 && now_ms() >= crash_at)
			crash();
		poll_ctl(&ctl_off);
		if (registered >= ha || now_ms() < next_reg)
			continue;
		if (register_conn())
			next_reg = now_ms() + spacing;
		else if (now_ms() >= next_retry) {
			log_connect_failure(++attempt);
			next_retry = now_ms() + (long long)(1000 * tscale);
		}
	}
	(void)ignore_term;
	return 0;
}
