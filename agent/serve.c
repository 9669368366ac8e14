/*
 * serve: the agent's HTTP server on libmicrohttpd (see serve.h).
 *
 * Every request is answered from the token alone: the path, the agent id
 * and the expiry are covered by the MAC; nothing else in the URL counts.
 *
 * Nobody may make it unreachable (docs/agents.md, "Limits"): connections
 * and downloads are capped from the descriptor limit with a reserve for
 * /healthz (lim.h); a client holds at most LIM_PER_CLIENT downloads and a
 * peer other than the tunnel at most LIM_PER_ADDR connections; request
 * headers must arrive within HEADER_TIMEOUT of silence, while a body being
 * sent may stall for BODY_TIMEOUT. libmicrohttpd's messages, which quote
 * clients, are escaped and rate-limited on their way to the log.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agent.h"
#include "cry.h"
#include "err.h"
#include "http_parse.h"
#include "lim.h"
#include "logsafe.h"
#include "range.h"
#include "serve.h"

#define BIG_BLOCK	(128 * 1024) /* bytes per read of a larger body */
/*
 * libmicrohttpd 0.9.75 has one inactivity timeout per connection
 * (MHD_OPTION_CONNECTION_TIMEOUT), no header deadline: the daemon's is
 * HEADER_TIMEOUT, a connection sending a body gets BODY_TIMEOUT until
 * its request completes (on_completed).
 */
#define HEADER_TIMEOUT	10	/* seconds of silence while headers come */
#define BODY_TIMEOUT	120	/* seconds a body being sent may stall */
#define CONN_MEMORY	(64 * 1024) /* libmicrohttpd's per-connection pool */
#define URI_MAX		8192	/* bytes of a request target (414 above) */
#define HEADERS_MAX	16384	/* bytes of request header fields (431) */
#define RETRY_AFTER	"5"	/* seconds, on 429 and 503 busy */
#define LOG_MAX		20	/* libmicrohttpd messages logged ... */
#define LOG_WINDOW	10000	/* ... per this many ms */
#define OPEN_RETRIES	4	/* openat2 EAGAIN: a rename raced us */
#define ROOT_SWAPS_MAX	64	/* see struct root */
#define SMALL_FILE	(16 * 1024) /* bodies up to this are read whole
				       (see content()) */

/*
 * An allowed root, opened once (O_PATH) so that a request does not pay
 * for opening and closing it. serve_tick() notices when the path comes to
 * name another directory (a disk mounted after start, a root moved and
 * recreated) and publishes a new descriptor. The old one is never closed:
 * a worker may be inside openat2 on it, and closing it could let the
 * number be reused for some other directory under that worker. Each swap
 * leaks one descriptor, so after ROOT_SWAPS_MAX of them the root falls
 * back to being opened by each request.
 */
struct root {
	_Atomic int	 fd;	/* -1: open per request */
	dev_t		 dev;	/* what fd names (main thread only) */
	ino_t		 ino;
	unsigned	 swaps;
};

struct server {
	struct MHD_Daemon	*mhd;
	struct root		 roots[AGENT_ROOTS_MAX];
	const struct conf	*conf;
	const char		*cors;	/* allowed origin, or NULL */
	int			 no_symlinks;	/* refuse every symlink */
	unsigned		 downloads_max;	/* lim_budget() */
	unsigned		 conns_max;
	_Atomic unsigned	 downloads;	/* running now */
	struct lim_table	*clients;	/* downloads per client */
	struct lim_table	*peers;		/* connections per peer */
	pthread_mutex_t		 log_mu;
	struct logsafe_limit	 loglim;	/* under log_mu */
	const char		*(*relay_state)(void *);
	void			*relay_arg;
};

int
serve_no_symlinks(const struct server *s)
{
	return s->no_symlinks;
}

void
serve_relay_state(struct server *s, const char *(*fn)(void *), void *arg)
{
	s->relay_arg = arg;
	s->relay_state = fn;
}

/*
 * What a request's *req_cls holds: one of these markers, or a struct
 * slot while the request holds a download (freed when it completes).
 */
static char	 req_long;	/* the URI log callback saw a long target */
static char	 req_seen;	/* the headers were seen (second call on) */
static char	 req_seen_long;

struct slot {
	char	 key[LIM_KEY_MAX];	/* the client, in s->clients */
};

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One line to the agent's log, escaped, and at most LOG_MAX in
 * LOG_WINDOW ms (repeats held back): every worker thread may call it
 * for every connection.
 */
static void	vlogf(struct server *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

static void
vlogf(struct server *s, const char *fmt, va_list ap)
{
	char raw[1024], esc[4 * sizeof(raw) + 1];
	unsigned dropped, repeats;
	size_t n;
	int ok;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	n = strlen(raw);
	while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r'))
		n--;
	logsafe_escape(raw, n, esc, sizeof(esc));
	pthread_mutex_lock(&s->log_mu);
	ok = logsafe_check(&s->loglim, esc, mono_ms(), &dropped, &repeats);
	pthread_mutex_unlock(&s->log_mu);
	if (!ok)
		return;
	if (dropped > 0 || repeats > 0)
		fprintf(stderr, "filestor-agent: http: %u message(s) not "
		    "logged (%u repeated, %u over %d per %d s)\n",
		    dropped + repeats, repeats, dropped, LOG_MAX,
		    LOG_WINDOW / 1000);
	fprintf(stderr, "filestor-agent: http: %s\n", esc);
}

static void	slogf(struct server *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
slogf(struct server *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogf(s, fmt, ap);
	va_end(ap);
}

/* libmicrohttpd's MHD_OPTION_EXTERNAL_LOGGER. */
static void	mhd_log(void *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	vlogf(cls, fmt, ap);
}

/* --- opening beneath a root */

/*
 * An O_PATH descriptor of rel beneath dirfd, one component at a time
 * with O_NOFOLLOW, so no symlink is followed at all: for kernels without
 * openat2 (before 5.6, some sandboxes) and --no-symlinks. Stricter than
 * RESOLVE_BENEATH, which allows links that stay inside. The caller
 * checked the path with agent_path_ok, but the walk does not count on
 * it: ".." taken one component at a time climbs out of the root, so an
 * empty, "." or ".." component is refused as an escape (EXDEV,
 * RESOLVE_BENEATH's answer). The last component may be a symlink
 * (O_PATH | O_NOFOLLOW opens the link itself); the caller's type check
 * refuses it.
 */
static int
open_walk(int dirfd, const char *rel)
{
	char comp[256];
	const char *p = rel, *slash;
	size_t n;
	int fd = dirfd, next;

	for (;;) {
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (p[0] == '.' && (n == 1 ||
		    (n == 2 && p[1] == '.')))) {
			errno = EXDEV;
			next = -1;
			goto done;
		}
		if (n >= sizeof(comp)) {
			errno = ENAMETOOLONG;
			next = -1;
			goto done;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (slash == NULL) {
			next = openat(fd, comp, O_PATH | O_NOFOLLOW |
			    O_CLOEXEC);
			goto done;
		}
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (next == -1) {
			struct stat lst;

			/* A link to a directory fails as ENOTDIR: call it
			   what it is, a link we refuse. */
			if (errno == ENOTDIR && fstatat(fd, comp, &lst,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode))
				errno = ELOOP;
			goto done;
		}
		if (fd != dirfd)
			close(fd);
		fd = next;
		p = slash + 1;
	}
done:
	if (fd != dirfd) {
		int save = errno;

		close(fd);
		errno = save;
	}
	return next;
}

/*
 * Open for reading the regular file that the O_PATH descriptor pfd
 * names, st its stat. Through /proc/self/fd, the same inode is opened
 * whatever happens to the name meanwhile. Without /proc, the path is
 * resolved again and must lead to the same inode. -1 with errno.
 */
static int
reopen_regular(int pfd, const struct stat *st, int dirfd, const char *rel,
    const struct open_how *how)
{
	struct open_how h2 = *how;
	struct stat st2;
	char proc[64];
	int fd, dir = S_ISDIR(st->st_mode) ? O_DIRECTORY : 0;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC | dir);
	if (fd == -1 && (errno == ENOENT || errno == EACCES)) {
		/* No /proc (some chroots): O_NONBLOCK in case of a race. */
		h2.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | dir;
		fd = (int)syscall(SYS_openat2, dirfd, rel, &h2, sizeof(h2));
	}
	if (fd == -1)
		return -1;
	if (fstat(fd, &st2) == -1 || st2.st_dev != st->st_dev ||
	    st2.st_ino != st->st_ino ||
	    (st2.st_mode & S_IFMT) != (st->st_mode & S_IFMT)) {
		close(fd);
		errno = EAGAIN;	/* renamed under us: a 500, try again */
		return -1;
	}
	return fd;
}

/* serve_open_beneath, for a regular file or (want_dir) a directory. */
static int
open_beneath(const char *root, int rootfd, const char *path,
    int no_symlinks, struct stat *stp, int want_dir)
{
	struct open_how how;
	struct stat st;
	const char *rel;
	int dirfd = rootfd, pfd = -1, fd = -1, i, save;

	/*
	 * rel is path without root and one '/'. For a path outside root it
	 * would point anywhere, even past the end of path: refuse that
	 * first. A second '/' stays, and makes rel absolute, which both
	 * RESOLVE_BENEATH and the walk refuse.
	 */
	if (!agent_path_under(path, root)) {
		errno = EXDEV;
		return -1;
	}
	rel = path + (strcmp(root, "/") == 0 ? 0 : strlen(root));
	if (*rel == '/')
		rel++;
	if (*rel == '\0' && !want_dir) {
		errno = EISDIR;	/* the root itself */
		return -1;
	}
	if (*rel == '\0') {
		fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd != -1 && stp != NULL && fstat(fd, stp) == -1) {
			close(fd);
			fd = -1;
		}
		return fd;
	}
	if (dirfd == -1) {
		dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd == -1)
			return -1;
	}
	/*
	 * O_PATH first: the type is checked before anything is opened for
	 * reading, so a FIFO is never opened (which would release a writer
	 * blocked in open) and neither is a device.
	 */
	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	if (no_symlinks) {
		pfd = open_walk(dirfd, rel);
	} else {
		for (i = 0; i < OPEN_RETRIES; i++) {
			pfd = (int)syscall(SYS_openat2, dirfd, rel, &how,
			    sizeof(how));
			if (pfd != -1 || errno != EAGAIN)
				break;
		}
		if (pfd == -1 && errno == ENOSYS) {
			no_symlinks = 1;
			pfd = open_walk(dirfd, rel);
		}
	}
	if (pfd == -1)
		goto out;
	if (fstat(pfd, &st) == -1)
		goto out;
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : S_ISLNK(st.st_mode) ?
		    ELOOP : want_dir ? ENOTDIR : ENODEV;
		goto out;
	}
	if (no_symlinks) {
		/* The walk's fallback has no openat2 to resolve again. */
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
	}
	fd = reopen_regular(pfd, &st, dirfd, rel, &how);
	if (fd != -1 && stp != NULL)
		*stp = st;
out:
	save = errno;
	if (pfd != -1)
		close(pfd);
	if (dirfd != rootfd)
		close(dirfd);
	errno = save;
	return fd;
}

int
serve_open_beneath(const char *root, int rootfd, const char *path,
    int no_symlinks, struct stat *st)
{
	return open_beneath(root, rootfd, path, no_symlinks, st, 0);
}

/* --- responses */

static void
add_cors(const struct server *s, struct MHD_Connection *conn,
    struct MHD_Response *resp)
{
	const char *origin;

	if (s->cors == NULL)
		return;
	/* The answer depends on Origin: shared caches must key on it. */
	MHD_add_response_header(resp, "Vary", "Origin");
	origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	if (origin == NULL || strcmp(origin, s->cors) != 0)
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", s->cors);
	MHD_add_response_header(resp, "Access-Control-Expose-Headers",
	    "Content-Disposition, Content-Range, Content-Length, ETag, "
	    "Last-Modified, Accept-Ranges");
}

static enum MHD_Result
queue(const struct server *s, struct MHD_Connection *conn, unsigned status,
    struct MHD_Response *resp)
{
	enum MHD_Result r;

	if (resp == NULL)
		return MHD_NO;	/* out of memory: MHD drops the connection */
	add_cors(s, conn, resp);
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static struct MHD_Response *
json_response(const cJSON *j)
{
	struct MHD_Response *resp;
	char *text = cJSON_PrintUnformatted(j);

	if (text == NULL)
		return NULL;
	resp = MHD_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_COPY);
	cJSON_free(text);
	if (resp != NULL) {
		MHD_add_response_header(resp, "Content-Type",
		    "application/json");
		MHD_add_response_header(resp, "Cache-Control", "no-store");
		MHD_add_response_header(resp, "X-Content-Type-Options",
		    "nosniff");
	}
	return resp;
}

/*
 * The JSON error of DESIGN §3; a Content-Range for 416 when size >= 0;
 * size -2: a 503 for load (see busy()).
 */
static enum MHD_Result
json_error(const struct server *s, struct MHD_Connection *conn,
    enum fs_err e, const char *msg, long long size)
{
	struct MHD_Response *resp;
	cJSON *j, *o;
	char cr[48];

	j = cJSON_CreateObject();
	o = cJSON_AddObjectToObject(j, "error");
	if (o == NULL) {
		cJSON_Delete(j);
		return MHD_NO;
	}
	cJSON_AddStringToObject(o, "code", err_code(e));
	cJSON_AddStringToObject(o, "message", msg);
	resp = json_response(j);
	cJSON_Delete(j);
	if (resp != NULL && e == FS_RANGE && size >= 0) {
		snprintf(cr, sizeof(cr), "bytes */%lld", size);
		MHD_add_response_header(resp, "Content-Range", cr);
	}
	if (resp != NULL && e == FS_METHOD)
		MHD_add_response_header(resp, "Allow", s->cors != NULL ?
		    "GET, HEAD, OPTIONS" : "GET, HEAD");
	if (resp != NULL && (e == FS_TOO_MANY || e == FS_URI_TOO_LONG ||
	    e == FS_HEADERS_TOO_LARGE || size == -2)) {
		/*
		 * Refused for load or size: free the connection at once, so
		 * that it cannot sit on the reserve kept for /healthz.
		 */
		MHD_add_response_header(resp, "Connection", "close");
		if (e == FS_TOO_MANY || size == -2)
			MHD_add_response_header(resp, "Retry-After",
			    RETRY_AFTER);
	}
	return queue(s, conn, (unsigned)err_status(e), resp);
}

/* 503 for a full server: Retry-After, and the connection closes. */
static enum MHD_Result
busy(const struct server *s, struct MHD_Connection *conn, const char *msg)
{
	return json_error(s, conn, FS_UNAVAILABLE, msg, -2);
}

static enum MHD_Result
healthz(const struct server *s, struct MHD_Connection *conn)
{
	cJSON *j = cJSON_CreateObject();
	enum MHD_Result r;

	cJSON_AddStringToObject(j, "status", "ok");
	cJSON_AddBoolToObject(j, "tunnelConfigured", s->conf->has_key);
	if (s->relay_state != NULL)
		cJSON_AddStringToObject(j, "relay", s->relay_state(s->relay_arg));
	r = queue(s, conn, MHD_HTTP_OK, json_response(j));
	cJSON_Delete(j);
	return r;
}

static enum MHD_Result
preflight(const struct server *s, struct MHD_Connection *conn)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Access-Control-Allow-Methods",
	    "GET, HEAD");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers",
	    "Range, If-Range, If-None-Match, If-Modified-Since");
	MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return queue(s, conn, MHD_HTTP_NO_CONTENT, resp);
}

/* Which 4xx/5xx an open error is, and the message the client sees. */
static enum fs_err
open_error(int err, const char **msg)
{
	switch (err) {
	case EXDEV:	/* RESOLVE_BENEATH: a symlink or ".." left the root */
	case ELOOP:	/* a magic link, or a symlink in the fallback walk */
		*msg = "path not allowed";
		return FS_FORBIDDEN;
	case EACCES:
	case EPERM:
		*msg = "the agent may not read this file";
		return FS_FORBIDDEN;
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		*msg = "no such file";
		return FS_NOT_FOUND;
	case EISDIR:
	case ENODEV:
	case ENXIO:
		*msg = "not a regular file";
		return FS_NOT_FOUND;
	case EMFILE:
	case ENFILE:
		*msg = "too many open files";
		return FS_UNAVAILABLE;
	default:
		*msg = "cannot open the file";
		return FS_INTERNAL;
	}
}

/*
 * A response holding len bytes of fd from start, or NULL with errno (0
 * when the file gave fewer bytes than len).
 */
static struct MHD_Response *
small_body(int fd, long long start, long long len)
{
	char *buf;
	ssize_t n;
	size_t got = 0;

	buf = malloc((size_t)len);
	if (buf == NULL)
		return NULL;
	while (got < (size_t)len) {
		n = pread(fd, buf + got, (size_t)len - got,
		    (off_t)(start + (long long)got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			/*
			 * Shorter than fstat said (a /sys file, or truncated
			 * under us): fail rather than send less.
			 */
			free(buf);
			if (n == 0)
				errno = 0;
			return NULL;
		}
		got += (size_t)n;
	}
	return MHD_create_response_from_buffer((size_t)len, buf,
	    MHD_RESPMEM_MUST_FREE);
}

/* A larger body: read BIG_BLOCK at a time as MHD sends it. */
struct big_body {
	int		 fd;	/* owned; closed by big_free */
	long long	 start;
};

static ssize_t
big_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct big_body *b = cls;
	ssize_t n;

	do
		n = pread(b->fd, buf, max, (off_t)(b->start + (long long)pos));
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

static void
big_free(void *cls)
{
	struct big_body *b = cls;

	close(b->fd);
	free(b);
}

/* A 304 sends no body: its reader is never called. */
static ssize_t
no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/*
 * Hold one of the server's downloads and one of the client's for this
 * request, in *req_cls until it completes (on_completed gives them
 * back). FS_OK, FS_TOO_MANY (the client holds LIM_PER_CLIENT),
 * FS_UNAVAILABLE (the server holds downloads_max) or FS_INTERNAL.
 */
static enum fs_err
take_slot(struct server *s, struct MHD_Connection *conn, void **req_cls)
{
	const union MHD_ConnectionInfo *ci;
	struct slot *sl;
	unsigned n;
	int r;

	sl = calloc(1, sizeof(*sl));
	if (sl == NULL)
		return FS_INTERNAL;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || lim_client_key(ci->client_addr,
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "CF-Connecting-IP"), sl->key) == -1)
		snprintf(sl->key, sizeof(sl->key), "?");
	n = atomic_fetch_add(&s->downloads, 1);
	if (n >= s->downloads_max) {
		atomic_fetch_sub(&s->downloads, 1);
		free(sl);
		return FS_UNAVAILABLE;
	}
	r = lim_take(s->clients, sl->key, LIM_PER_CLIENT);
	if (r != 1) {
		atomic_fetch_sub(&s->downloads, 1);
		free(sl);
		return r == 0 ? FS_TOO_MANY : FS_INTERNAL;
	}
	*req_cls = sl;
	return FS_OK;
}

static void
give_slot(struct server *s, struct slot *sl)
{
	lim_give(s->clients, sl->key);
	atomic_fetch_sub(&s->downloads, 1);
	free(sl);
}

/*
 * Check the request's token: 0 with *path (malloc'd, the caller frees),
 * or -1 with the error queued in *r.
 */
static int
content_token(struct server *s, struct MHD_Connection *conn, char **path,
    enum MHD_Result *r)
{
	const struct conf *c = s->conf;
	const char *tok;

	*path = NULL;
	if (!c->has_key) {
		*r = json_error(s, conn, FS_UNAVAILABLE, "tunnel not configured",
		    -1);
		return -1;
	}
	tok = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
	if (tok == NULL || tok[0] == '\0') {
		*r = json_error(s, conn, FS_UNAUTHORIZED, "missing token", -1);
		return -1;
	}
	switch (agent_tok_verify(c->key, tok, c->agent_id, time(NULL), path)) {
	case AGENT_TOK_OK:
		return 0;
	case AGENT_TOK_EXPIRED:
		*r = json_error(s, conn, FS_UNAUTHORIZED, "token expired", -1);
		break;
	case AGENT_TOK_TOO_LONG:
		*r = json_error(s, conn, FS_UNAUTHORIZED,
		    "token lifetime too long", -1);
		break;
	case AGENT_TOK_ERROR:
		*r = json_error(s, conn, FS_INTERNAL, "out of memory", -1);
		break;
	default:
		/* A MAC mismatch, a malformed token or another agent's. */
		*r = json_error(s, conn, FS_UNAUTHORIZED, "bad signature", -1);
		break;
	}
	free(*path);
	*path = NULL;
	return -1;
}

/*
 * Hold a download (take_slot) and open path beneath the allowed roots:
 * the fd and *st, or -1 with the error queued in *r.
 */
static int
content_open(struct server *s, struct MHD_Connection *conn, const char *path,
    void **req_cls, struct stat *st, enum MHD_Result *r)
{
	const char *msg;
	enum fs_err e;
	int fd;

	/* A token we signed holds a checked path; check again anyway. */
	if (!agent_path_ok(path, strlen(path))) {
		*r = json_error(s, conn, FS_FORBIDDEN, "path not allowed", -1);
		return -1;
	}
	/* Before a file is opened: a download holds two descriptors. */
	switch (take_slot(s, conn, req_cls)) {
	case FS_OK:
		break;
	case FS_TOO_MANY:
		*r = json_error(s, conn, FS_TOO_MANY, "too many downloads at "
		    "once from this client", -1);
		return -1;
	case FS_UNAVAILABLE:
		*r = busy(s, conn, "too many downloads at once");
		return -1;
	default:
		*r = json_error(s, conn, FS_INTERNAL, "out of memory", -1);
		return -1;
	}
	fd = serve_open(s, path, 0, st, &e, &msg);
	if (fd == -1)
		*r = json_error(s, conn, e, msg, -1);
	return fd;
}

int
serve_open(struct server *s, const char *path, int want_dir, struct stat *st,
    enum fs_err *e, const char **msg)
{
	const struct conf *c = s->conf;
	size_t i;
	int fd, err = 0;

	/*
	 * Every root that holds the path is tried: with nested roots a
	 * symlink may leave the inner one and stay in the outer one.
	 */
	for (i = 0; i < c->nroots; i++) {
		if (!agent_path_under(path, c->roots[i]))
			continue;
		fd = open_beneath(c->roots[i],
		    atomic_load_explicit(&s->roots[i].fd, memory_order_acquire),
		    path, s->no_symlinks, st, want_dir);
		if (fd != -1)
			return fd;
		/* Report the most telling failure: an escape over "missing". */
		if (err == 0 || err == ENOENT || err == ENOTDIR)
			err = errno;
	}
	if (err == 0) {
		*e = FS_FORBIDDEN;
		*msg = "path not allowed";
		return -1;
	}
	*e = open_error(err, msg);
	if (want_dir && err == ENOTDIR)
		*msg = "not a directory";
	if (*e == FS_INTERNAL || *e == FS_UNAVAILABLE)
		slogf(s, "open: %s", strerror(err));
	return -1;
}

/*
 * The response holding [start, start + len) of *fd (taken, set to -1,
 * when the response reads it later), or NULL with the error queued in *r
 * (MHD_NO when out of memory).
 */
static struct MHD_Response *
content_body(struct server *s, struct MHD_Connection *conn, int *fd,
    long long start, long long len, int head, enum MHD_Result *r)
{
	struct MHD_Response *resp = NULL;
	struct big_body *bb;
	char probe;

	*r = MHD_NO;
	if (len == 0)
		return MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
	errno = 0;
	if (len <= SMALL_FILE && !head) {
		/*
		 * Small bodies: one pread, then MHD sends headers and body in
		 * one writev (a callback response sends them in two syscalls
		 * and two segments, which halves the request rate of 4 KiB
		 * files).
		 */
		resp = small_body(*fd, start, len);
		if (resp == NULL)
			goto unreadable;
		return resp;
	}
	/*
	 * The last byte must be there (not truncated since fstat): fail
	 * while an error can still be sent. Later truncation cuts the
	 * connection, the only way left to say the body is short.
	 */
	if (!head && pread(*fd, &probe, 1, (off_t)(start + len - 1)) != 1)
		goto unreadable;
	/*
	 * Not MHD_create_response_from_fd: libmicrohttpd 0.9.75 sets
	 * TCP_CORK on the socket for every sendfile(2) chunk but the last,
	 * which halves throughput over loopback (where cloudflared
	 * connects). A callback response goes out with plain send(2) and no
	 * cork; the extra copy costs less.
	 */
	bb = malloc(sizeof(*bb));
	if (bb == NULL)
		return NULL;
	bb->fd = *fd;
	bb->start = start;
	resp = MHD_create_response_from_callback((uint64_t)len, BIG_BLOCK,
	    big_read, bb, big_free);
	if (resp != NULL)
		*fd = -1;
	else
		free(bb);
	return resp;
unreadable:
	/* Nothing is sent yet: say so, not a cut connection. */
	slogf(s, "read: %s", errno != 0 ? strerror(errno) :
	    "file shorter than its size");
	*r = json_error(s, conn, FS_INTERNAL, "cannot read the file", -1);
	return NULL;
}

void
serve_validators(const struct stat *st, char etag[SERVE_ETAG_MAX],
    char lastmod[30])
{
	/*
	 * Strong ETag from what changes with the content: inode, size and
	 * the modification time to the nanosecond (what nginx and lighttpd
	 * do for static files).
	 */
	snprintf(etag, SERVE_ETAG_MAX, "\"%llx-%llx-%llx\"",
	    (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
	    (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
	    (unsigned long long)st->st_mtim.tv_nsec);
	http_date((long long)st->st_mtim.tv_sec, lastmod);
}

/* A request header of conn, or NULL (for http_cond_request). */
static const char *
req_header(void *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result
content(struct server *s, struct MHD_Connection *conn, int head,
    void **req_cls)
{
	struct MHD_Response *resp = NULL;
	struct http_cond hc;
	struct stat st;
	const char *ctype, *base;
	char *path = NULL, *disp = NULL, etag[SERVE_ETAG_MAX], lastmod[30];
	char buf[64];
	long long start = 0, len = 0;
	enum http_cond_result cr;
	enum MHD_Result r = MHD_NO;
	int fd = -1, inline_ok;
	unsigned status;

	if (content_token(s, conn, &path, &r) == -1)
		return r;
	fd = content_open(s, conn, path, req_cls, &st, &r);
	if (fd == -1)
		goto out;

	serve_validators(&st, etag, lastmod);
	http_cond_request(&hc, req_header, conn);
	hc.etag = etag;
	hc.mtime = (long long)st.st_mtim.tv_sec;
	hc.size = (long long)st.st_size;
	cr = http_conditional(&hc, &start, &len);
	if (cr == HTTP_COND_NOT_MODIFIED) {
		/*
		 * libmicrohttpd 0.9.75 always sends a Content-Length with a
		 * 304; RFC 9110 §8.6 allows only the 200's length, so that is
		 * the size it gets (and no body, whatever the size says).
		 */
		resp = MHD_create_response_from_callback((uint64_t)st.st_size,
		    4096, no_body, NULL, NULL);
		status = MHD_HTTP_NOT_MODIFIED;
		goto headers;
	}
	if (cr == HTTP_COND_UNSATISFIABLE) {
		r = json_error(s, conn, FS_RANGE, "range not satisfiable",
		    (long long)st.st_size);
		goto out;
	}
	resp = content_body(s, conn, &fd, start, len, head, &r);
	if (resp == NULL)
		goto out;
	status = cr == HTTP_COND_PARTIAL ? MHD_HTTP_PARTIAL_CONTENT :
	    MHD_HTTP_OK;
	if (cr == HTTP_COND_PARTIAL) {
		snprintf(buf, sizeof(buf), "bytes %lld-%lld/%lld", start,
		    start + len - 1, (long long)st.st_size);
		MHD_add_response_header(resp, "Content-Range", buf);
	}
	base = strrchr(path, '/') + 1;
	ctype = agent_content_type(base, &inline_ok);
	disp = http_disposition(base, !inline_ok);
	MHD_add_response_header(resp, "Content-Type", ctype);
	if (disp != NULL)
		MHD_add_response_header(resp, "Content-Disposition", disp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
headers:
	if (resp == NULL) {
		r = MHD_NO;
		goto out;
	}
	MHD_add_response_header(resp, "ETag", etag);
	MHD_add_response_header(resp, "Last-Modified", lastmod);
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	/*
	 * The URL carries a credential in its query: no shared cache may
	 * keep the body (a cache rule that ignores the query would hand it
	 * to anyone, anchors §4.5), and no page may leak it in a Referer.
	 */
	MHD_add_response_header(resp, "Cache-Control", "private, no-store");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	r = queue(s, conn, status, resp);
	/* A body may stall longer than headers may (HEADER_TIMEOUT). */
	if (r == MHD_YES && !head && len > 0 && status != MHD_HTTP_NOT_MODIFIED)
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
		    (unsigned)BODY_TIMEOUT);
out:
	if (fd != -1)
		close(fd);
	free(disp);
	free(path);
	return r;
}

/* Adds up the bytes of the request's header fields. */
static enum MHD_Result
count_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	size_t *n = cls;

	*n += strlen(key) + (value != NULL ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct server *s = cls;
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	size_t hdrs = 0;

	/*
	 * The first call only sees the headers. Answering then would make
	 * MHD close the connection (it cannot know the body was read), so
	 * wait for the second call, as MHD's examples do: keep-alive stays.
	 * *req_cls is NULL or &req_long (on_uri) until then.
	 */
	if (*req_cls == NULL || *req_cls == &req_long) {
		*req_cls = *req_cls == NULL ? &req_seen : &req_seen_long;
		return MHD_YES;
	}
	/* A body is never wanted: drop whatever arrives. */
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	/*
	 * Our own limits, in JSON; libmicrohttpd answers in HTML only what
	 * does not fit its CONN_MEMORY pool at all.
	 */
	if (*req_cls == &req_seen_long)
		return json_error(s, conn, FS_URI_TOO_LONG, "request target "
		    "too long", -1);
	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &hdrs);
	if (hdrs > HEADERS_MAX)
		return json_error(s, conn, FS_HEADERS_TOO_LARGE, "request "
		    "header fields too large", -1);
	if (strcmp(url, "/content") == 0 || strcmp(url, "/healthz") == 0) {
		if (s->cors != NULL && strcmp(method, "OPTIONS") == 0)
			return preflight(s, conn);
		if (!get)
			return json_error(s, conn, FS_METHOD,
			    "method not allowed", -1);
		return url[1] == 'c' ? content(s, conn,
		    strcmp(method, "HEAD") == 0, req_cls) : healthz(s, conn);
	}
	return json_error(s, conn, FS_NOT_FOUND, "no such route", -1);
}

/*
 * MHD_OPTION_URI_LOG_CALLBACK: the raw request target, once the request
 * line is in; what it returns is the request's first *req_cls.
 */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	return strlen(uri) > URI_MAX ? &req_long : NULL;
}

/* MHD_OPTION_NOTIFY_COMPLETED: a request is done (or its connection). */
static void
on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;

	if (*req_cls != NULL && *req_cls != &req_long &&
	    *req_cls != &req_seen && *req_cls != &req_seen_long)
		give_slot(s, *req_cls);
	*req_cls = NULL;
	/* Waiting for the next request's headers: their timeout again. */
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
	    (unsigned)HEADER_TIMEOUT);
}

/*
 * The peer's key in s->peers, or 0 for the tunnel's side (never limited
 * per address: every client of the tunnel comes from there).
 */
static int
peer_key(const struct sockaddr *sa, char key[LIM_KEY_MAX])
{
	if (sa == NULL || lim_is_proxy(sa))
		return 0;
	return lim_client_key(sa, NULL, key) == 0;
}

/*
 * The accept policy: LIM_PER_ADDR connections per peer at most. Not
 * libmicrohttpd's MHD_OPTION_PER_IP_CONNECTION_LIMIT: it would count
 * 127.0.0.1 too, where every client of the tunnel comes from (those are
 * told apart by CF-Connecting-IP, per download, in take_slot).
 */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct server *s = cls;
	char key[LIM_KEY_MAX];

	if (!peer_key(addr, key))
		return MHD_YES;
	/* Counted in on_connection: a few racing accepts may pass. */
	return lim_held(s->peers, key) >= LIM_PER_ADDR ? MHD_NO : MHD_YES;
}

/* MHD_OPTION_NOTIFY_CONNECTION: count the peer's connections. */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_cls,
    enum MHD_ConnectionNotificationCode toe)
{
	struct server *s = cls;
	const union MHD_ConnectionInfo *ci;
	char key[LIM_KEY_MAX], *held;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		held = *socket_cls;
		if (held != NULL) {
			lim_give(s->peers, held);
			free(held);
			*socket_cls = NULL;
		}
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || !peer_key(ci->client_addr, key))
		return;
	held = strdup(key);
	if (held != NULL && lim_take(s->peers, key, UINT_MAX) == 1)
		*socket_cls = held;
	else
		free(held);
}

/* "a.b.c.d:port" or "[v6]:port" into ss. 0 or -1. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss, int *v6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	const char *colon;
	char host[64];
	long long port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(listen, ':');
	if (colon == NULL || http_parse_ll(colon + 1, 1, 65535, &port) == -1)
		return -1;
	n = (size_t)(colon - listen);
	if (listen[0] == '[') {
		if (n < 3 || listen[n - 1] != ']' || n - 2 >= sizeof(host))
			return -1;
		memcpy(host, listen + 1, n - 2);
		host[n - 2] = '\0';
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*v6 = 1;
		return 0;
	}
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, listen, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
		return -1;
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t)port);
	*v6 = 0;
	return 0;
}

struct server *
serve_start(const struct conf *c, const char *listen, const char *cors_origin,
    int no_symlinks, unsigned threads, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct server *s = NULL;
	struct rlimit rl;
	unsigned flags;
	size_t i;
	int v6 = 0;

	if (parse_listen(listen, &ss, &v6) == -1) {
		snprintf(err, errlen, "listen address \"%s\" must be a numeric "
		    "ip:port (127.0.0.1:8443, [::1]:8443)", listen);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->conf = c;
	s->cors = cors_origin;
	s->no_symlinks = no_symlinks;
	pthread_mutex_init(&s->log_mu, NULL);
	s->loglim.max = LOG_MAX;
	s->loglim.window_ms = LOG_WINDOW;
	atomic_init(&s->downloads, 0);
	for (i = 0; i < AGENT_ROOTS_MAX; i++)
		atomic_init(&s->roots[i].fd, -1);
	s->clients = lim_table_new();
	s->peers = lim_table_new();
	if (s->clients == NULL || s->peers == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* From the limit main() raised: the descriptors decide (lim.h). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		rl.rlim_cur = 1024;
	lim_budget(rl.rlim_cur == RLIM_INFINITY ? ~0ULL :
	    (unsigned long long)rl.rlim_cur, &s->downloads_max, &s->conns_max);
	serve_tick(s);
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (threads < 1)
		threads = 1;
	/*
	 * A connection limit per worker is conns_max / threads: keep the
	 * /healthz reserve whole in each.
	 */
	if (threads > 1 && s->conns_max / threads < LIM_HEALTH_RESERVE + 1)
		threads = s->conns_max / (LIM_HEALTH_RESERVE + 1) > 0 ?
		    s->conns_max / (LIM_HEALTH_RESERVE + 1) : 1;
	s->mhd = MHD_start_daemon(flags, 0, on_accept, s, on_request, s,
	    /* First, so that every message of the library goes through it. */
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, s->conns_max,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HEADER_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
	    MHD_OPTION_END);
	if (s->mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(errno));
		goto fail;
	}
	fprintf(stderr, "filestor-agent: up to %u downloads at once (%u per "
	    "client), %u connections (%u per address), from %llu file "
	    "descriptors\n", s->downloads_max, LIM_PER_CLIENT, s->conns_max,
	    LIM_PER_ADDR, (unsigned long long)rl.rlim_cur);
	return s;
fail:
	for (i = 0; i < AGENT_ROOTS_MAX; i++)
		if (atomic_load(&s->roots[i].fd) != -1)
			close(atomic_load(&s->roots[i].fd));
	lim_table_free(s->clients);
	lim_table_free(s->peers);
	pthread_mutex_destroy(&s->log_mu);
	free(s);
	return NULL;
}

void
serve_tick(struct server *s)
{
	struct root *rt;
	struct stat st;
	size_t i;
	int fd, old;

	for (i = 0; i < s->conf->nroots && i < AGENT_ROOTS_MAX; i++) {
		rt = &s->roots[i];
		if (rt->swaps > ROOT_SWAPS_MAX)
			continue;
		/* Unchanged (or gone: the old descriptor still answers). */
		if (stat(s->conf->roots[i], &st) == -1 || !S_ISDIR(st.st_mode))
			continue;
		old = atomic_load_explicit(&rt->fd, memory_order_relaxed);
		if (old != -1 && st.st_dev == rt->dev && st.st_ino == rt->ino)
			continue;
		if (rt->swaps == ROOT_SWAPS_MAX) {
			slogf(s, "root %s changed %d times: opening it per "
			    "request from now on", s->conf->roots[i],
			    ROOT_SWAPS_MAX);
			atomic_store_explicit(&rt->fd, -1, memory_order_release);
			rt->swaps++;
			continue;
		}
		fd = open(s->conf->roots[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd == -1 || fstat(fd, &st) == -1) {
			if (fd != -1)
				close(fd);
			continue;
		}
		rt->dev = st.st_dev;
		rt->ino = st.st_ino;
		atomic_store_explicit(&rt->fd, fd, memory_order_release);
		if (old != -1) {
			rt->swaps++;
			slogf(s, "root %s now names another directory "
			    "(mounted or moved); following it",
			    s->conf->roots[i]);
		}
	}
}

void
serve_stop(struct server *s)
{
	size_t i;
	int fd;

	if (s == NULL)
		return;
	MHD_stop_daemon(s->mhd);
	/* No worker is left: the current descriptors can go. */
	for (i = 0; i < AGENT_ROOTS_MAX; i++) {
		fd = atomic_load(&s->roots[i].fd);
		if (fd != -1)
			close(fd);
	}
	lim_table_free(s->clients);
	lim_table_free(s->peers);
	pthread_mutex_destroy(&s->log_mu);
	free(s);
}
