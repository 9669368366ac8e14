/*
 * serve: the agent's HTTP server on libmicrohttpd (see serve.h).
 *
 * Every request is answered from the token alone: the path, the agent id
 * and the expiry are covered by the MAC; nothing else in the URL counts.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
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
#include "http.h"
#include "range.h"
#include "serve.h"

#define CONN_LIMIT	1024
#define BIG_BLOCK	(128 * 1024) /* bytes per read of a larger body */
#define CONN_TIMEOUT	120	/* seconds of inactivity */
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
};

/* --- opening beneath a root */

static int
open_walk(int dirfd, const char *rel)
{
	char comp[256];
	const char *p = rel, *slash;
	size_t n;
	int fd = dirfd, next;

	/*
	 * Without openat2 (kernels before 5.6, some sandboxes): one
	 * component at a time with O_NOFOLLOW, so no symlink is followed at
	 * all. Stricter than RESOLVE_BENEATH, which allows links that stay
	 * inside. The caller checked the path with agent_path_ok, but the
	 * walk does not count on it: ".." taken one component at a time
	 * climbs out of the root, so an empty, "." or ".." component is
	 * refused as an escape (EXDEV, RESOLVE_BENEATH's answer).
	 */
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
			next = openat(fd, comp, O_RDONLY | O_NOFOLLOW |
			    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
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

int
serve_open_beneath(const char *root, int rootfd, const char *path,
    int no_symlinks, struct stat *stp)
{
	struct open_how how;
	struct stat st;
	const char *rel;
	int dirfd = rootfd, fd = -1, i, save;

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
	if (*rel == '\0') {
		errno = EISDIR;	/* the root itself */
		return -1;
	}
	if (dirfd == -1) {
		dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd == -1)
			return -1;
	}
	memset(&how, 0, sizeof(how));
	/* O_NONBLOCK: opening a FIFO must not hang the worker. */
	how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	if (no_symlinks) {
		fd = open_walk(dirfd, rel);
	} else {
		for (i = 0; i < OPEN_RETRIES; i++) {
			fd = (int)syscall(SYS_openat2, dirfd, rel, &how,
			    sizeof(how));
			if (fd != -1 || errno != EAGAIN)
				break;
		}
		if (fd == -1 && errno == ENOSYS)
			fd = open_walk(dirfd, rel);
	}
	if (fd == -1)
		goto out;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : ENODEV;
		goto fail;
	}
	if (stp != NULL)
		*stp = st;
	goto out;
fail:
	save = errno;
	close(fd);
	fd = -1;
	errno = save;
out:
	save = errno;
	if (dirfd != rootfd)
		close(dirfd);
	errno = save;
	return fd;
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

/* The JSON error of DESIGN §3; a Content-Range for 416 when size >= 0. */
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
	return queue(s, conn, (unsigned)err_status(e), resp);
}

static enum MHD_Result
healthz(const struct server *s, struct MHD_Connection *conn)
{
	cJSON *j = cJSON_CreateObject();
	enum MHD_Result r;

	cJSON_AddStringToObject(j, "status", "ok");
	cJSON_AddBoolToObject(j, "tunnelConfigured", s->conf->has_key);
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
	default:
		*msg = "cannot open the file";
		return FS_INTERNAL;
	}
}

/* A response holding len bytes of fd from start, or NULL. */
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
			/* Truncated under us: fail rather than send less. */
			free(buf);
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

static enum MHD_Result
content(struct server *s, struct MHD_Connection *conn, int head)
{
	const struct conf *c = s->conf;
	struct MHD_Response *resp = NULL;
	struct big_body *bb;
	struct stat st;
	const char *tok, *msg = "bad signature", *inm, *ims, *rh, *ifr;
	const char *ctype, *base;
	char *path = NULL, *disp = NULL, etag[80], lastmod[30], buf[64];
	long long start = 0, len = 0, mtime;
	enum range_result rr = RANGE_NONE;
	enum MHD_Result r;
	enum fs_err e;
	size_t i;
	int fd = -1, inline_ok, err = 0;
	unsigned status;

	if (!c->has_key)
		return json_error(s, conn, FS_UNAVAILABLE,
		    "tunnel not configured", -1);
	tok = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
	if (tok == NULL || tok[0] == '\0')
		return json_error(s, conn, FS_UNAUTHORIZED, "missing token", -1);
	switch (agent_tok_verify(c->key, tok, c->agent_id, time(NULL),
	    &path)) {
	case AGENT_TOK_OK:
		break;
	case AGENT_TOK_EXPIRED:
		return json_error(s, conn, FS_UNAUTHORIZED, "token expired", -1);
	case AGENT_TOK_TOO_LONG:
		return json_error(s, conn, FS_UNAUTHORIZED,
		    "token lifetime too long", -1);
	case AGENT_TOK_ERROR:
		return json_error(s, conn, FS_INTERNAL, "out of memory", -1);
	default:
		/* A MAC mismatch, a malformed token or another agent's. */
		return json_error(s, conn, FS_UNAUTHORIZED, msg, -1);
	}

	/* A token we signed holds a checked path; check again anyway. */
	if (!agent_path_ok(path, strlen(path))) {
		r = json_error(s, conn, FS_FORBIDDEN, "path not allowed", -1);
		goto out;
	}
	/*
	 * Every root that holds the path is tried: with nested roots a
	 * symlink may leave the inner one and stay in the outer one.
	 */
	for (i = 0; i < c->nroots; i++) {
		if (!agent_path_under(path, c->roots[i]))
			continue;
		fd = serve_open_beneath(c->roots[i],
		    atomic_load_explicit(&s->roots[i].fd, memory_order_acquire),
		    path, s->no_symlinks, &st);
		if (fd != -1)
			break;
		/* Report the most telling failure: an escape over "missing". */
		if (err == 0 || err == ENOENT || err == ENOTDIR)
			err = errno;
	}
	if (fd == -1 && err == 0) {
		r = json_error(s, conn, FS_FORBIDDEN, "path not allowed", -1);
		goto out;
	}
	if (fd == -1) {
		e = open_error(err, &msg);
		if (e == FS_INTERNAL)
			fprintf(stderr, "filestor-agent: open: %s\n",
			    strerror(err));
		r = json_error(s, conn, e, msg, -1);
		goto out;
	}

	/*
	 * Strong ETag from what changes with the content: inode, size and
	 * the modification time to the nanosecond (what nginx and lighttpd
	 * do for static files).
	 */
	mtime = (long long)st.st_mtim.tv_sec;
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%llx\"",
	    (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
	    (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
	    (unsigned long long)st.st_mtim.tv_nsec);
	http_date(mtime, lastmod);

	inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "If-None-Match");
	ims = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    "If-Modified-Since");
	if ((inm != NULL && http_etag_match(inm, etag)) ||
	    (inm == NULL && ims != NULL && http_parse_date(ims) >= mtime)) {
		resp = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_MODIFIED;
		goto headers;
	}

	rh = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Range");
	ifr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-Range");
	if (rh != NULL && (ifr == NULL || http_if_range_holds(ifr, etag, mtime)))
		rr = range_parse(rh, (long long)st.st_size, &start, &len);
	if (rr == RANGE_UNSATISFIABLE) {
		r = json_error(s, conn, FS_RANGE, "range not satisfiable",
		    (long long)st.st_size);
		goto out;
	}
	if (rr != RANGE_OK) {
		start = 0;
		len = (long long)st.st_size;
	}
	if (len == 0) {
		resp = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
	} else if (len <= SMALL_FILE && !head) {
		/*
		 * Small bodies: one pread, then MHD sends headers and body in
		 * one writev (a callback response sends them in two syscalls
		 * and two segments, which halves the request rate of 4 KiB
		 * files).
		 */
		resp = small_body(fd, start, len);
	} else {
		/*
		 * Not MHD_create_response_from_fd: libmicrohttpd 0.9.75 sets
		 * TCP_CORK on the socket for every sendfile(2) chunk but the
		 * last, which halves throughput over loopback (where
		 * cloudflared connects). A callback response goes out with
		 * plain send(2) and no cork; the extra copy costs less.
		 */
		bb = malloc(sizeof(*bb));
		if (bb != NULL) {
			bb->fd = fd;
			bb->start = start;
			resp = MHD_create_response_from_callback((uint64_t)len,
			    BIG_BLOCK, big_read, bb, big_free);
			if (resp != NULL)
				fd = -1;
			else
				free(bb);
		}
	}
	status = rr == RANGE_OK ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK;
	if (resp != NULL && rr == RANGE_OK) {
		snprintf(buf, sizeof(buf), "bytes %lld-%lld/%lld", start,
		    start + len - 1, (long long)st.st_size);
		MHD_add_response_header(resp, "Content-Range", buf);
	}
	base = strrchr(path, '/') + 1;
	ctype = agent_content_type(base, &inline_ok);
	disp = agent_disposition(base, !inline_ok);
	if (resp != NULL) {
		MHD_add_response_header(resp, "Content-Type", ctype);
		if (disp != NULL)
			MHD_add_response_header(resp, "Content-Disposition",
			    disp);
		MHD_add_response_header(resp, "X-Content-Type-Options",
		    "nosniff");
	}
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
out:
	if (fd != -1)
		close(fd);
	free(disp);
	free(path);
	return r;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct server *s = cls;
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	static int seen;

	/*
	 * The first call only sees the headers. Answering then would make
	 * MHD close the connection (it cannot know the body was read), so
	 * wait for the second call, as MHD's examples do: keep-alive stays.
	 */
	if (*req_cls == NULL) {
		*req_cls = &seen;
		return MHD_YES;
	}
	/* A body is never wanted: drop whatever arrives. */
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/content") == 0 || strcmp(url, "/healthz") == 0) {
		if (s->cors != NULL && strcmp(method, "OPTIONS") == 0)
			return preflight(s, conn);
		if (!get)
			return json_error(s, conn, FS_METHOD,
			    "method not allowed", -1);
		return url[1] == 'c' ? content(s, conn,
		    strcmp(method, "HEAD") == 0) : healthz(s, conn);
	}
	return json_error(s, conn, FS_NOT_FOUND, "no such route", -1);
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
	for (i = 0; i < AGENT_ROOTS_MAX; i++)
		atomic_init(&s->roots[i].fd, -1);
	serve_tick(s);
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (threads < 1)
		threads = 1;
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT,
	    MHD_OPTION_END);
	if (s->mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(errno));
		free(s);
		return NULL;
	}
	return s;
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
			fprintf(stderr, "filestor-agent: root %s changed %d "
			    "times: opening it per request from now on\n",
			    s->conf->roots[i], ROOT_SWAPS_MAX);
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
			fprintf(stderr, "filestor-agent: root %s now names "
			    "another directory (mounted or moved); following "
			    "it\n", s->conf->roots[i]);
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
	free(s);
}
