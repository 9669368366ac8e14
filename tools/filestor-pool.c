/*
 * filestor-pool: run N copies of one FastCGI program on one unix socket,
 * and keep N running. spawn-fcgi binds the socket and forks the workers
 * once; a worker that dies (a crash, an OOM kill, kill -9) then stays
 * dead and the web server answers 503 until someone restarts everything.
 * This does what spawn-fcgi does (bind, chmod/chown the socket, drop
 * privileges, give each worker the socket as fd 0) and then supervises:
 * a worker that exits is replaced at once (after a second when it dies
 * again that fast, so a program that cannot start does not spin), its
 * death logged with the signal or status. SIGTERM or SIGINT stop the
 * workers (SIGTERM, then SIGKILL after 5 s) and then the pool. SIGHUP is
 * passed on to every worker (they reopen ACCESS_LOG), so that a log
 * rotation signals the pool alone: `systemctl reload`, or the pid file.
 *
 * usage: filestor-pool -s SOCKET [-n WORKERS] [-M MODE] [-u USER]
 *	[-U SOCKET_OWNER] [-l LOGFILE] [-p PIDFILE] [-f] -- PROGRAM [ARG...]
 *
 * It daemonizes (unless -f) and returns once the workers have started:
 * 0, or 1 with the reason on stderr when the socket cannot be made or a
 * worker exits at once (a program refusing to start: see its log). The
 * pid file holds the pool's pid; PIDFILE.workers the workers' pids, one
 * a line, rewritten on every replacement; both are opened before the
 * pool gives up root. The workers' stderr, and the
 * pool's own lines, go to LOGFILE (opened as USER), else /dev/null;
 * with -f and no -l, to the pool's own stderr (under systemd, the
 * journal: the units of systemd/ run it so).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS_MAX	256
#define STOP_GRACE_MS	5000
#define START_CHECK_MS	300	/* a worker alive this long has started */
#define FAST_DEATH_MS	1000	/* died sooner than this: wait to respawn */

struct slot {
	pid_t		 pid;		/* 0: not running */
	long long	 started;	/* ms */
	long long	 respawn_at;	/* ms, when pid == 0 */
};

static volatile sig_atomic_t	 got_stop;
static volatile sig_atomic_t	 got_child;
static volatile sig_atomic_t	 got_hup;
static const char		*prog;
static int			 logfd = -1;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line to the log (the workers' stderr file), if any. */
static void
logf_(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	size_t len;
	int n;

	if (logfd == -1)
		return;
	n = snprintf(buf, sizeof(buf) - 1, "filestor-pool[%ld]: %s: ",
	    (long)getpid(), prog);
	if (n < 0 || (size_t)n >= sizeof(buf) - 1)
		return;
	len = (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(buf + len, sizeof(buf) - 1 - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len += (size_t)n;
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;		/* cut, never overrun */
	buf[len++] = '\n';
	(void)!write(logfd, buf, len);
}

static void
on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	got_hup = 1;
}

static void
on_child(int sig)
{
	(void)sig;
	got_child = 1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: filestor-pool -s SOCKET [-n WORKERS] [-M MODE] "
	    "[-u USER] [-U SOCKET_OWNER] [-l LOGFILE] [-p PIDFILE] [-f] -- "
	    "PROGRAM [ARG...]\n");
	return 2;
}

/* A bounded decimal (or, with base 8, octal) number; -1 when malformed. */
static long
number(const char *s, int base, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, base);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

/*
 * Bind path: an existing socket there (a previous pool's) is replaced,
 * anything else is left alone and refused.
 */
static int
make_socket(const char *path, mode_t mode, uid_t owner, gid_t group)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "filestor-pool: socket path %s is %zu bytes; a "
		    "unix socket allows %zu\n", path, strlen(path),
		    sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "filestor-pool: %s exists and is not a "
			    "socket\n", path);
			return -1;
		}
		(void)unlink(path);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    chmod(path, mode) == -1 ||
	    (owner != (uid_t)-1 && chown(path, owner, group) == -1) ||
	    listen(fd, 1024) == -1) {
		fprintf(stderr, "filestor-pool: socket %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static int
drop_to(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
		fprintf(stderr, "filestor-pool: cannot become %s: %s\n",
		    pw->pw_name, strerror(errno));
		return -1;
	}
	/*
	 * Changing uid made us undumpable, which hides /proc/self/environ
	 * from the user we now are: spawn-fcgi/stop, run as that user, knows
	 * its pools by their environment. Nothing here is secret from that
	 * user (it can read the same settings anywhere the workers can).
	 */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 0;
}

/* Fork one worker: the socket on fd 0, the log on fd 2. */
static pid_t
spawn(int sock, char **argv)
{
	sigset_t none;
	pid_t pid;
	int devnull;

	pid = fork();
	if (pid != 0)
		return pid;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	devnull = open("/dev/null", O_RDWR);
	if (sock != 0 && dup2(sock, 0) == -1)
		_exit(127);
	if (devnull != -1)
		dup2(devnull, 1);
	dup2(logfd != -1 ? logfd : devnull, 2);
	closefrom(3);
	execv(argv[0], argv);
	_exit(127);
}

/*
 * The workers' pids, one a line, into PIDFILE.workers (opened before the
 * pool gave up root, so that the directory may be one it cannot write).
 * Rewritten in place: a reader may see it half way, and reads again.
 */
static int	 workers_fd = -1;

static void
write_workers(const struct slot *s, int n)
{
	char buf[WORKERS_MAX * 12];
	size_t len = 0;
	int i, m;

	if (workers_fd == -1)
		return;
	for (i = 0; i < n; i++) {
		if (s[i].pid <= 0)
			continue;
		m = snprintf(buf + len, sizeof(buf) - len, "%ld\n",
		    (long)s[i].pid);
		if (m < 0 || (size_t)m >= sizeof(buf) - len)
			break;
		len += (size_t)m;
	}
	if (ftruncate(workers_fd, 0) == 0)
		(void)!pwrite(workers_fd, buf, len, 0);
}

static void
describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
}

/* Stop every worker: SIGTERM, then SIGKILL after the grace. */
static void
stop_all(struct slot *s, int n)
{
	long long deadline = now_ms() + STOP_GRACE_MS;
	int i, left, status;
	pid_t pid;

	for (i = 0; i < n; i++)
		if (s[i].pid > 0)
			kill(s[i].pid, SIGTERM);
	for (;;) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < n; i++)
				if (s[i].pid == pid)
					s[i].pid = 0;
		for (left = 0, i = 0; i < n; i++)
			left += s[i].pid > 0;
		if (left == 0 || pid == -1)
			break;
		if (now_ms() >= deadline) {
			for (i = 0; i < n; i++)
				if (s[i].pid > 0)
					kill(s[i].pid, SIGKILL);
			deadline = LLONG_MAX;
		}
		usleep(20 * 1000);
	}
}

/*
 * The pool: start the workers, tell the parent (ready: a byte 0, or 1
 * when one died at start), then replace the dead until told to stop.
 */
static int
run(int sock, int n, char **argv, int ready)
{
	struct slot s[WORKERS_MAX];
	char why[128];
	long long t;
	int i, status, started_ok = 1;
	unsigned char byte;
	pid_t pid;

	memset(s, 0, sizeof(s));
	for (i = 0; i < n; i++) {
		s[i].pid = spawn(sock, argv);
		s[i].started = now_ms();
		if (s[i].pid == -1) {
			s[i].pid = 0;
			started_ok = 0;
		}
	}
	/* A program that refuses to start (bad settings) exits at once. */
	t = now_ms() + START_CHECK_MS;
	while (now_ms() < t)
		usleep(20 * 1000);	/* a SIGCHLD cuts one short */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < n; i++)
			if (s[i].pid == pid)
				s[i].pid = 0;
		describe(status, why, sizeof(why));
		logf_("worker %ld %s at start", (long)pid, why);
		started_ok = 0;
	}
	if (!started_ok) {
		stop_all(s, n);
		byte = 1;
		if (ready != -1)
			(void)!write(ready, &byte, 1);
		return 1;
	}
	write_workers(s, n);
	logf_("%d workers started", n);
	byte = 0;
	if (ready != -1) {
		(void)!write(ready, &byte, 1);
		close(ready);
	}

	while (!got_stop) {
		got_child = 0;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < n; i++) {
				if (s[i].pid != pid)
					continue;
				t = now_ms();
				describe(status, why, sizeof(why));
				logf_("worker %ld %s; starting another",
				    (long)pid, why);
				s[i].pid = 0;
				s[i].respawn_at = t - s[i].started <
				    FAST_DEATH_MS ? t + FAST_DEATH_MS : t;
			}
		}
		t = now_ms();
		for (i = 0; i < n; i++) {
			if (s[i].pid != 0 || s[i].respawn_at > t || got_stop)
				continue;
			s[i].pid = spawn(sock, argv);
			s[i].started = t;
			if (s[i].pid == -1) {
				s[i].pid = 0;
				s[i].respawn_at = t + FAST_DEATH_MS;
				logf_("cannot fork: %s", strerror(errno));
			} else
				write_workers(s, n);
		}
		if (got_hup) {
			got_hup = 0;
			for (i = 0; i < n; i++)
				if (s[i].pid > 0)
					kill(s[i].pid, SIGHUP);
		}
		/* SIGCHLD or SIGTERM end the wait; the timeout respawns. */
		if (!got_child && !got_stop && !got_hup)
			usleep(50 * 1000);
	}
	logf_("stopping");
	stop_all(s, n);
	return 0;
}

/*
 * USER's entry, copied into *copy and name[] (getpwnam's answer lives in
 * a buffer the next call reuses); *pw is NULL without -u. -1 on error.
 */
static int
run_user(const char *user, struct passwd **pw, struct passwd *copy,
    char *name, size_t len)
{
	*pw = NULL;
	if (user == NULL)
		return 0;
	if ((*pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "filestor-pool: no user %s\n", user);
		return -1;
	}
	if (snprintf(name, len, "%s", (*pw)->pw_name) >= (int)len) {
		fprintf(stderr, "filestor-pool: user name too long\n");
		return -1;
	}
	*copy = **pw;
	copy->pw_name = name;
	*pw = copy;
	return 0;
}

/*
 * Open PIDFILE and PIDFILE.workers (sets workers_fd); *pidfd stays -1
 * without -p. -1 on error, said on stderr.
 */
static int
open_pidfiles(const char *pidfile, int *pidfd)
{
	char w[PATH_MAX];

	if (pidfile == NULL)
		return 0;
	*pidfd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);
	if (snprintf(w, sizeof(w), "%s.workers", pidfile) < (int)sizeof(w))
		workers_fd = open(w, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0644);
	if (*pidfd == -1 || workers_fd == -1) {
		fprintf(stderr, "filestor-pool: cannot write %s: %s\n",
		    pidfile, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Open LOGFILE as the user we now are (sets logfd); in the foreground
 * without one, stderr is the log. -1 on error.
 */
static int
open_log(const char *logpath, const struct passwd *pw, int fg)
{
	if (logpath == NULL) {
		if (fg)
			logfd = STDERR_FILENO;
		return 0;
	}
	logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (logfd == -1) {
		fprintf(stderr, "filestor-pool: cannot open the log %s "
		    "as %s: %s\n", logpath, pw != NULL ? pw->pw_name :
		    "this user", strerror(errno));
		return -1;
	}
	return 0;
}

static void
set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The parent waits for the pool to say how the start went: exit status. */
static int
wait_started(int fd, const char *logpath)
{
	unsigned char byte = 1;
	int rc;

	while ((rc = (int)read(fd, &byte, 1)) == -1 && errno == EINTR)
		;
	if (rc != 1 || byte != 0) {
		fprintf(stderr, "filestor-pool: %s did not start (a "
		    "worker exited at once; its reason is in %s)\n",
		    prog, logpath != NULL ? logpath : "its stderr, "
		    "which went to /dev/null: pass -l");
		return 1;
	}
	return 0;
}

/* The daemon's side of the fork: a session, its pid, no stdout/stderr. */
static void
detach(int pidfd)
{
	int fd;

	if (setsid() == -1)
		_exit(1);
	if (pidfd != -1) {
		char buf[32];
		int m = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

		if (m > 0)
			(void)!write(pidfd, buf, (size_t)m);
		close(pidfd);
	}
	fd = open("/dev/null", O_RDWR);
	if (fd != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* Where we may (spawn-fcgi/stop removes them as root anyway). */
static void
remove_files(const char *pidfile, const char *sockpath)
{
	if (pidfile != NULL) {
		char w[PATH_MAX];

		(void)unlink(pidfile);
		if (snprintf(w, sizeof(w), "%s.workers", pidfile) < (int)sizeof(w))
			(void)unlink(w);
	}
	(void)unlink(sockpath);
}

int
main(int argc, char *argv[])
{
	const char *sockpath = NULL, *user = NULL, *owner = NULL;
	const char *logpath = NULL, *pidfile = NULL;
	struct passwd *pw = NULL, *opw = NULL, run_as;
	char run_name[256];
	long n = 1, mode = 0660;
	int c, sock, fg = 0, pipefd[2], rc, pidfd = -1;
	pid_t pid;

	while ((c = getopt(argc, argv, "s:n:M:u:U:l:p:f")) != -1) {
		switch (c) {
		case 's': sockpath = optarg; break;
		case 'n': n = number(optarg, 10, 1, WORKERS_MAX); break;
		case 'M': mode = number(optarg, 8, 0, 0777); break;
		case 'u': user = optarg; break;
		case 'U': owner = optarg; break;
		case 'l': logpath = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'f': fg = 1; break;
		default: return usage();
		}
	}
	argv += optind;
	if (sockpath == NULL || argv[0] == NULL || n == -1 || mode == -1)
		return usage();
	prog = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	if (argv[0][0] != '/') {
		fprintf(stderr, "filestor-pool: PROGRAM must be an absolute "
		    "path\n");
		return 2;
	}
	if (run_user(user, &pw, &run_as, run_name, sizeof(run_name)) == -1)
		return 1;
	if (owner != NULL && (opw = getpwnam(owner)) == NULL) {
		fprintf(stderr, "filestor-pool: no user %s\n", owner);
		return 1;
	}
	if ((user != NULL || owner != NULL) && geteuid() != 0) {
		fprintf(stderr, "filestor-pool: -u and -U need root\n");
		return 1;
	}
	sock = make_socket(sockpath, (mode_t)mode,
	    opw != NULL ? opw->pw_uid : (uid_t)-1,
	    opw != NULL ? opw->pw_gid : (gid_t)-1);
	if (sock == -1)
		return 1;
	/* Before giving up root: the directory may be one only root writes. */
	if (open_pidfiles(pidfile, &pidfd) == -1)
		return 1;
	if (pw != NULL && drop_to(pw) == -1)
		return 1;
	if (open_log(logpath, pw, fg) == -1)
		return 1;
	set_signals();

	if (fg) {
		if (pidfd != -1) {
			dprintf(pidfd, "%ld\n", (long)getpid());
			close(pidfd);
		}
		rc = run(sock, (int)n, argv, -1);
		close(sock);
		remove_files(NULL, sockpath);
		return rc;
	}

	if (pipe(pipefd) == -1)
		return 1;
	pid = fork();
	if (pid == -1)
		return 1;
	if (pid > 0) {
		close(pipefd[1]);
		return wait_started(pipefd[0], logpath);
	}
	close(pipefd[0]);
	detach(pidfd);
	rc = run(sock, (int)n, argv, pipefd[1]);
	close(sock);
	remove_files(pidfile, sockpath);
	_exit(rc);
}
