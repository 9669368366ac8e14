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
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "backend.h"
#include "cflog.h"
#include "cry.h"
#include "health.h"
#include "lines.h"
#include "logsafe.h"
#include "status.h"
#include "supervise.h"

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
	struct conf_tunnel sc;
	struct backend	 be;		/* be.server NULL: not enrolled */
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
	struct lines	*reader;	/* drains the child's output */
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
	char buf[LINES_ESC + 256];
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

/* --- cloudflared's output, from the lines thread */

/*
 * One line of the child's (escaped already), on the lines thread: what
 * it says goes into the state under mu. s->pid is set before the thread
 * starts and cleared after it is joined: safe to read here.
 */
static void
on_line(void *cls, const char *stream, const char *line)
{
	struct sup *s = cls;
	struct cflog_event pl;
	unsigned dropped = 0, repeats = 0;
	int show;

	cflog_parse(line, &pl);
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
		    "repeated, %u over %d per %d s)", (long)s->pid,
		    dropped + repeats, repeats, dropped, CHILD_LOG_MAX,
		    CHILD_LOG_WINDOW / 1000);
	if (s->sc.token != NULL && strstr(line, s->sc.token) != NULL)
		slog("debug", "cloudflared[%ld] %s: (a line holding the tunnel "
		    "token, withheld)", (long)s->pid, stream);
	else
		slog("debug", "cloudflared[%ld] %s: %s", (long)s->pid, stream,
		    line);
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

/* In the child, from fork to execve: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_exec(char *argv[], char **env, int devnull, int out, int err,
    pid_t parent)
{
	sigset_t all;

	dup2(devnull, 0);
	dup2(out, 1);
	dup2(err, 2);
	/*
	 * Its own process group: every signal goes to the whole tree (a
	 * wrapper script and what it runs), and a ^C at a terminal does not
	 * add a second signal to ours, which would kill cloudflared at once
	 * (reference §4).
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

/* Forget what the last child's output said, before the next one. */
static void
reset_output(struct sup *s)
{
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
}

/* The child runs as pid, its output in out and err (taken): watch it. */
static void
child_started(struct sup *s, pid_t pid, int out, int err)
{
	s->pid = pid;
	s->reaped = 0;
	s->status = 0;
	s->started = now_ms();
	s->stopping = s->kill_at = 0;
	s->killed = s->stop_for_health = 0;
	s->failures = 0;
	s->ready_since = s->healthy_since = 0;
	s->ready_conns = 0;
	s->next_check = s->started + scaled(s, s->sc.interval);
	s->restart_at = 0;
	s->dirty = 1;
	s->reader = lines_start(out, err, on_line, s);
	if (s->reader == NULL) {
		/* Without a reader the pipe fills and blocks it: stop it. */
		slog("error", "cannot start the log reader; stopping "
		    "cloudflared");
		kill(-pid, SIGKILL);
		s->stopping = s->kill_at = now_ms();
		s->killed = 1;
		return;
	}
	slog("info", "started cloudflared (pid %ld, %s mode)", (long)pid,
	    s->sc.quick ? "quick" : "named");
}

static void
close_pipe(int p[2])
{
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
}

static void
start_child(struct sup *s)
{
	char *argv[NARGS], grace[16], retries[16], metrics[64], url[160];
	char **env = NULL, *tokvar = NULL;
	int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, devnull = -1, ok = 0;
	pid_t pid, parent = getpid();

	build_argv(s, argv, grace, retries, metrics, url);
	env = build_env(s, &tokvar);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (env == NULL || devnull == -1 ||
	    pipe2(out, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1) {
		slog("error", "cannot start cloudflared: %s", strerror(errno));
		goto out;
	}
	reset_output(s);
	pid = fork();
	if (pid == -1) {
		slog("error", "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(argv, env, devnull, out[1], errp[1], parent);
	/* Here too: a signal to the group must not race the child's call. */
	(void)setpgid(pid, pid);
	close(out[1]);
	close(errp[1]);
	out[1] = errp[1] = -1;
	child_started(s, pid, out[0], errp[0]);
	out[0] = errp[0] = -1;
	ok = 1;
out:
	if (tokvar != NULL) {
		cry_wipe(tokvar, strlen(tokvar));
		free(tokvar);
	}
	free(env);
	close_pipe(out);
	close_pipe(errp);
	if (devnull != -1)
		close(devnull);
	if (!ok) {
		set_reason(s, 0, "cannot start cloudflared");
		schedule_restart(s, 0);
	}
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
	lines_finish(s->reader);
	s->reader = NULL;
	child_gone(s, s->status);
}
/* --- health and heartbeat */

static void
heartbeat(struct sup *s, const char *host)
{
	struct backend_health h;
	char err[1024];
	long code;

	s->last_hb = now_ms();
	s->next_hb = s->last_hb + HEARTBEAT_SECS * 1000LL;
	if (s->be.server == NULL) {
		/* Not enrolled with a server: nobody to tell. */
		if (host != NULL)
			snprintf(s->reported, sizeof(s->reported), "%s", host);
		return;
	}
	h.ok = s->have_health && s->last_ok;
	h.reason = s->last_reason;
	h.ready_conns = s->ready_conns;
	h.restarts = s->restarts;
	code = backend_heartbeat(&s->be, host, &h, err, sizeof(err));
	if (code == -2) {
		if (err[0] != '\0')
			slog("error", "%s", err);
	} else if (code >= 200 && code < 300) {
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
			slog("warn", "heartbeat to %s failed: %s", s->be.server,
			    err);
		else
			slog("warn", "heartbeat refused (HTTP %ld): %s", code,
			    err);
	}
}

/* One health check of a running child; 1 healthy, 0 not (reason set). */
static int
check_health(struct sup *s)
{
	struct health h;
	long long now = now_ms();
	int unauth, ok;

	memset(&h, 0, sizeof(h));
	h.sc = &s->sc;
	h.timeout_ms = s->sc.interval * 1000L;
	if (h.timeout_ms > 5000)
		h.timeout_ms = 5000;
	snprintf(h.host, sizeof(h.host), "%s", s->url_host);
	pthread_mutex_lock(&s->mu);
	unauth = s->unauthorized;
	h.registered = s->registered;
	if (s->sc.metrics_port != 0)
		snprintf(h.maddr, sizeof(h.maddr), "127.0.0.1:%d",
		    s->sc.metrics_port);
	else
		snprintf(h.maddr, sizeof(h.maddr), "%s",
		    s->metrics_addr);
	pthread_mutex_unlock(&s->mu);

	if (unauth >= UNAUTH_LIMIT) {
		set_reason(s, 0, "configuration error: the edge answers "
		    "Unauthorized (wrong token, or the tunnel was deleted)");
		return 0;
	}
	/* Allow for DNS lag of a new name before the public probe counts. */
	h.public = s->ready_since != 0 &&
	    now - s->ready_since >= scaled(s, WARMUP_SECS);
	ok = health_check(&h);
	s->ready_conns = h.ready_conns;
	if (h.ready && s->ready_since == 0)
		s->ready_since = now;
	if (h.found_host) {
		/* sup_tick takes it, as one from the log. */
		pthread_mutex_lock(&s->mu);
		if (strcmp(s->url_seen, h.host) != 0) {
			snprintf(s->url_seen, sizeof(s->url_seen), "%s",
			    h.host);
			s->url_flips++;
		}
		pthread_mutex_unlock(&s->mu);
		slog("debug", "quick tunnel host from /quicktunnel: %s",
		    h.host);
	}
	set_reason(s, ok, "%s", h.reason);
	return ok;
}

/* --- state for `filestor-agent status` */

static void
write_state(struct sup *s)
{
	struct status st;
	long long now = now_ms();

	s->dirty = 0;
	memset(&st, 0, sizeof(st));
	st.quick = s->sc.quick;
	st.host = s->sc.quick ? s->url_host : s->sc.hostname;
	st.pid = s->pid;
	st.state = s->pid > 0 ? (s->stopping ? "stopping" : "running") :
	    "waiting";
	st.ready_conns = s->ready_conns;
	st.have_health = s->have_health;
	st.ok = s->last_ok;
	st.reason = s->last_reason;
	st.at = s->last_at;
	st.restarts = s->restarts;
	st.next_backoff = backoff_secs(s->backoff_idx);
	st.restart_in_ms = s->restart_at == 0 ? -1 : s->restart_at > now ?
	    s->restart_at - now : 0;
	status_write(s->state, &st);
}

/* --- the supervisor */

struct sup *
sup_start(struct conf_tunnel *sc, const struct conf *c, const char *state,
    char *err, size_t errlen)
{
	const char *ts = getenv("FILESTOR_AGENT_TIME_SCALE");
	struct sup *s;
	char *end;

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
	if (backend_open(&s->be, c) == -1) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
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
	snprintf(s->state, sizeof(s->state), "%s", state);
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
	backend_close(&s->be);
	conf_tunnel_free(&s->sc);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
