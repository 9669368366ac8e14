/*
 * wsconn: the agent's WebSocket to its relay (see wsconn.h and
 * docs/relay.md). Everything here runs on the connection's own thread;
 * only the state is read from others (/healthz).
 *
 * A read answers with a header, then data frames of at most
 * RP_CHUNK_MAX bytes, never more in all than the credit the relay gave
 * (RP_WINDOW, then "credit" as its requester takes the bytes), then an
 * end marker. So one slow requester holds at most a window here and
 * there, and never a thread: the file is read as the socket drains.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "agent.h"
#include "cry.h"
#include "db.h"
#include "dynbuf.h"
#include "http_parse.h"
#include "rproto.h"
#include "wsconn.h"

#define STREAMS_MAX	1024	/* reads at once on the connection */
#define BACKOFF_MIN_MS	1000
#define BACKOFF_MAX_MS	60000
#define PING_SECS	20
#define HANGUP_SECS	50	/* no pong (no traffic) for this long */
#define LIST_ENTRIES_MAX 100000	/* a directory we list, at most */

enum { ST_WAITING, ST_CONNECTING, ST_CONNECTED };

/* A read in progress: the file and what the relay still wants. */
struct wstream {
	uint32_t	 id;
	int		 fd;
	long long	 pos;		/* next byte of the file to send */
	long long	 remain;	/* bytes still to send */
	long long	 credit;	/* bytes the relay lets us send */
	struct wstream	*next;
};

struct wsconn {
	const struct conf	*c;
	struct server		*srv;
	pthread_t		 th;
	struct lws_context	*ctx;
	struct lws		*wsi;
	_Atomic int		 state;
	atomic_int		 stop;
	char			 auth[64 + CONF_SECRET_MAX];
	char			*url;		/* malloc'd; lws_parse_uri cuts it */
	const char		*addr, *upath;
	char			 path[1024];
	int			 port, ssl;
	double			 scale;		/* FILESTOR_AGENT_TIME_SCALE */
	lws_sorted_usec_list_t	 sul;
	int			 tries;
	struct dynbuf		 rx;
	int			 rx_bad;	/* the message is being dropped */
	struct rp_queue		 txq;		/* text frames for the relay */
	struct wstream		*streams;
	unsigned		 nstreams;
	unsigned char		*batch;		/* frames to write (writeable) */
};

static const lws_retry_bo_t idle_policy = {
	.secs_since_valid_ping = PING_SECS,
	.secs_since_valid_hangup = HANGUP_SECS,
};

static void	connect_now(lws_sorted_usec_list_t *);

static void
wlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
wlog(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "filestor-agent: relay: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *
wsconn_state(void *arg)
{
	struct wsconn *w = arg;

	switch (atomic_load(&w->state)) {
	case ST_CONNECTED:
		return "connected";
	case ST_CONNECTING:
		return "connecting";
	default:
		return "waiting";
	}
}

/* --- sending */

static int
queue_json(struct wsconn *w, const cJSON *j)
{
	if (rp_queue_json(&w->txq, j, LWS_PRE) == -1)
		return -1;
	lws_callback_on_writable(w->wsi);
	return 0;
}

/* j (taken) as stream id's op message. */
static void
send_msg(struct wsconn *w, const char *op, uint32_t id, cJSON *j)
{
	if (j == NULL)
		j = cJSON_CreateObject();
	if (j != NULL && cJSON_AddStringToObject(j, "op", op) != NULL &&
	    cJSON_AddNumberToObject(j, "id", id) != NULL)
		queue_json(w, j);
	cJSON_Delete(j);
}

static void
stream_free(struct wsconn *w, struct wstream *st)
{
	struct wstream **pp;

	for (pp = &w->streams; *pp != NULL; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	w->nstreams--;
	close(st->fd);
	free(st);
}

static struct wstream *
stream_find(struct wsconn *w, uint32_t id)
{
	struct wstream *st;

	for (st = w->streams; st != NULL; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

/*
 * What waits goes out in one write per turn: the queued text messages
 * (a read's header, an end marker), then data frames of the streams that
 * have bytes and credit, framed and masked here rather than by
 * lws_write. libwebsockets masks a client's frame a byte at a time and
 * reads each mask from /dev/urandom with a system call of its own, and
 * one write per message cost a 4 KiB download three wakeups of the web
 * server and of the relay. The frames are ordinary RFC 6455 frames
 * (§5.2, §5.3: FIN, masked with a fresh random key each), written with
 * LWS_WRITE_RAW, which libwebsockets passes through as they are (and
 * buffers, in order, when the socket takes less).
 */
#define FRAME_HDR_MAX	14	/* 2 + 8 (length) + 4 (mask) */
#define FRAME_MAX	(FRAME_HDR_MAX + 4 + RP_CHUNK_MAX)
#define BATCH_FRAMES	4
#define BATCH_MAX	(BATCH_FRAMES * FRAME_MAX)
#define BATCH_SLACK	(BATCH_FRAMES * 128)	/* the end markers' room */
#define OP_TEXT		0x1
#define OP_BINARY	0x2

/* The header of a masked frame (FIN, opcode op) of plen payload bytes
   at h: its size. */
static size_t
frame_head(unsigned char *h, int op, size_t plen, const unsigned char mask[4])
{
	size_t n = 2, i;

	h[0] = 0x80 | (unsigned char)op;
	if (plen < 126) {
		h[1] = 0x80 | (unsigned char)plen;
	} else if (plen < 65536) {
		h[1] = 0x80 | 126;
		h[n++] = (unsigned char)(plen >> 8);
		h[n++] = (unsigned char)plen;
	} else {
		h[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			h[n++] = (unsigned char)((uint64_t)plen >> (56 - 8 * i));
	}
	memcpy(h + n, mask, 4);
	return n + 4;
}

/* XOR p[0..n) with the 4-byte mask, 8 bytes at a time. */
static void
frame_mask(unsigned char *p, size_t n, const unsigned char mask[4])
{
	unsigned char m8[8];
	uint64_t m, v;
	size_t i = 0;

	memcpy(m8, mask, 4);
	memcpy(m8 + 4, mask, 4);
	memcpy(&m, m8, 8);
	for (; i + 8 <= n; i += 8) {
		memcpy(&v, p + i, 8);
		v ^= m;
		memcpy(p + i, &v, 8);
	}
	for (; i < n; i++)
		p[i] ^= mask[i & 3];
}

/*
 * The queued text messages that fit, as frames at w->batch + *off,
 * where room bytes remain. 0, or -1 when no mask could be drawn.
 */
static int
batch_text(struct wsconn *w, size_t *off, size_t room)
{
	unsigned char mask[4], *p;
	struct rp_msg *m;
	size_t hl;

	while ((m = w->txq.head) != NULL &&
	    *off + FRAME_HDR_MAX + m->len <= room) {
		if (cry_random(mask, sizeof(mask)) == -1)
			return -1;
		hl = frame_head(w->batch + *off, OP_TEXT, m->len, mask);
		p = w->batch + *off + hl;
		memcpy(p, m->buf + LWS_PRE, m->len);
		frame_mask(p, m->len, mask);
		*off += hl + m->len;
		rp_queue_pop(&w->txq);
	}
	return 0;
}

/* 1 when a stream has bytes to send and credit. */
static int
any_ready(const struct wsconn *w)
{
	const struct wstream *st;

	for (st = w->streams; st != NULL; st = st->next)
		if (st->remain > 0 && st->credit > 0)
			return 1;
	return 0;
}

/* The next stream with bytes to send and credit, moved to the back
   (round robin); NULL when none. */
static struct wstream *
next_ready(struct wsconn *w)
{
	struct wstream *st, **pp;

	for (pp = &w->streams; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->remain > 0 && (*pp)->credit > 0)
			break;
	st = *pp;
	if (st == NULL || st->next == NULL)
		return st;
	*pp = st->next;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = st;
	st->next = NULL;
	return st;
}

/*
 * Data frames of the streams that have bytes and credit, up to
 * BATCH_FRAMES, at w->batch + *off; a stream that ends queues its end
 * marker (or abort). 0, or -1 when no mask could be drawn.
 */
static int
batch_data(struct wsconn *w, size_t *off)
{
	unsigned char masks[BATCH_FRAMES][4], *p;
	struct wstream *st;
	long long n;
	ssize_t got;
	size_t hl;
	int k;

	if (cry_random(masks, sizeof(masks)) == -1)
		return -1;
	for (k = 0; k < BATCH_FRAMES && *off + FRAME_MAX <= BATCH_MAX; k++) {
		st = next_ready(w);
		if (st == NULL)
			break;
		n = st->remain < st->credit ? st->remain : st->credit;
		if (n > RP_CHUNK_MAX)
			n = RP_CHUNK_MAX;
		hl = frame_head(w->batch + *off, OP_BINARY, (size_t)n + 4,
		    masks[k]);
		p = w->batch + *off + hl;
		do
			got = pread(st->fd, p + 4, (size_t)n, (off_t)st->pos);
		while (got == -1 && errno == EINTR);
		if (got != n) {
			/* A regular file reads short only at its end: it
			   shrank under us, and the requester must see a cut. */
			wlog("stream %u: %s", st->id, got >= 0 ?
			    "file shrank" : strerror(errno));
			send_msg(w, "abort", st->id, NULL);
			stream_free(w, st);
			continue;
		}
		rp_put32(p, st->id);
		frame_mask(p, (size_t)n + 4, masks[k]);
		*off += hl + 4 + (size_t)n;
		st->pos += n;
		st->remain -= n;
		st->credit -= n;
		if (st->remain == 0) {
			send_msg(w, "end", st->id, NULL);
			stream_free(w, st);
		}
	}
	return 0;
}

static int
writeable(struct wsconn *w)
{
	struct rp_msg *m;
	size_t off = 0;

	if (batch_text(w, &off, BATCH_MAX) == -1)
		return -1;
	m = w->txq.head;
	if (off == 0 && m != NULL) {
		/* One message larger than a batch (a long listing). */
		if (lws_write(w->wsi, m->buf + LWS_PRE, m->len,
		    LWS_WRITE_TEXT) < (int)m->len)
			return -1;
		rp_queue_pop(&w->txq);
	} else if (m == NULL) {
		/* The headers went first: now the data, and the end
		   markers it brought. */
		if (batch_data(w, &off) == -1 ||
		    batch_text(w, &off, BATCH_MAX + BATCH_SLACK) == -1)
			return -1;
	}
	if (off > 0 && lws_write(w->wsi, w->batch, off, LWS_WRITE_RAW) <
	    (int)off)
		return -1;
	if (w->txq.head != NULL || any_ready(w))
		lws_callback_on_writable(w->wsi);
	return 0;
}

/* --- reads */

/* The requester's conditional headers, from the read message. */
static const char *
cond_get(void *arg, const char *name)
{
	const cJSON *m = arg;

	if (strcmp(name, "Range") == 0)
		return rp_str(m, "range");
	if (strcmp(name, "If-Range") == 0)
		return rp_str(m, "ifRange");
	if (strcmp(name, "If-None-Match") == 0)
		return rp_str(m, "ifNoneMatch");
	if (strcmp(name, "If-Modified-Since") == 0)
		return rp_str(m, "ifModifiedSince");
	return NULL;
}

/* The header of a read of path whose conditions gave cr. */
static cJSON *
read_head(const char *path, const struct stat *st, enum http_cond_result cr,
    long long start, long long len)
{
	char etag[SERVE_ETAG_MAX], lastmod[30], *disp;
	const char *base = strrchr(path, '/') + 1, *ctype;
	int inline_ok, status;
	cJSON *j;

	status = cr == HTTP_COND_NOT_MODIFIED ? 304 :
	    cr == HTTP_COND_PARTIAL ? 206 : 200;
	j = cr == HTTP_COND_UNSATISFIABLE ?
	    rp_error(FS_RANGE, "range not satisfiable") : cJSON_CreateObject();
	if (j == NULL)
		return NULL;
	serve_validators(st, etag, lastmod);
	ctype = agent_content_type(base, &inline_ok);
	disp = http_disposition(base, !inline_ok);
	if (cr != HTTP_COND_UNSATISFIABLE)
		cJSON_AddNumberToObject(j, "status", status);
	cJSON_AddNumberToObject(j, "size", (double)st->st_size);
	cJSON_AddNumberToObject(j, "start", (double)start);
	cJSON_AddNumberToObject(j, "length", (double)len);
	cJSON_AddStringToObject(j, "etag", etag);
	cJSON_AddStringToObject(j, "lastModified", lastmod);
	cJSON_AddStringToObject(j, "contentType", ctype);
	if (disp == NULL ||
	    cJSON_AddStringToObject(j, "disposition", disp) == NULL) {
		cJSON_Delete(j);
		j = NULL;
	}
	free(disp);
	return j;
}

static void
on_read(struct wsconn *w, uint32_t id, const cJSON *m)
{
	struct http_cond hc;
	struct wstream *st = NULL;
	struct stat sb;
	enum http_cond_result cr;
	const char *path = rp_str(m, "path"), *msg;
	long long start = 0, len = 0, window;
	enum fs_err e;
	cJSON *h;
	int fd = -1;

	if (rp_num(m, "window", 0, 1LL << 40, &window) == -1)
		window = 0;
	if (path == NULL || !agent_path_ok(path, strlen(path))) {
		send_msg(w, "head", id, rp_error(FS_FORBIDDEN,
		    "path not allowed"));
		goto end;
	}
	if (w->nstreams >= STREAMS_MAX) {
		send_msg(w, "head", id, rp_error(FS_UNAVAILABLE,
		    "too many downloads at once"));
		goto end;
	}
	fd = serve_open(w->srv, path, 0, &sb, &e, &msg);
	if (fd == -1) {
		send_msg(w, "head", id, rp_error(e, msg));
		goto end;
	}
	http_cond_request(&hc, cond_get, (void *)(uintptr_t)m);
	{
		char etag[SERVE_ETAG_MAX], lastmod[30];

		serve_validators(&sb, etag, lastmod);
		hc.etag = etag;
		hc.mtime = (long long)sb.st_mtim.tv_sec;
		hc.size = (long long)sb.st_size;
		cr = http_conditional(&hc, &start, &len);
	}
	h = read_head(path, &sb, cr, start, len);
	if (h == NULL) {
		send_msg(w, "head", id, rp_error(FS_INTERNAL, "out of memory"));
		goto end;
	}
	send_msg(w, "head", id, h);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "head")) ||
	    cr == HTTP_COND_NOT_MODIFIED || cr == HTTP_COND_UNSATISFIABLE ||
	    len == 0)
		goto end;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		send_msg(w, "abort", id, NULL);
		goto out;
	}
	st->id = id;
	st->fd = fd;
	st->pos = start;
	st->remain = len;
	st->credit = window;
	st->next = w->streams;
	w->streams = st;
	w->nstreams++;
	lws_callback_on_writable(w->wsi);
	return;
end:
	send_msg(w, "end", id, NULL);
out:
	if (fd != -1)
		close(fd);
}

/* --- listings */

struct entry {
	char		*name;
	int		 dir;
	long long	 size, mtime;
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name,
	    ((const struct entry *)b)->name);
}

/*
 * The type and stat of entry name of directory path (fd dfd): 0, or -1
 * when it is left out (a symlink we do not follow or that leaves the
 * roots, a device, a FIFO, a socket, a name that is not a clean path).
 */
static int
entry_stat(struct wsconn *w, int dfd, const char *path, const char *name,
    struct entry *e)
{
	char full[AGENT_PATH_MAX + 1];
	struct stat sb;
	enum fs_err err;
	const char *msg;
	int fd;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (S_ISLNK(sb.st_mode)) {
		if (serve_no_symlinks(w->srv))
			return -1;
		/* Followed only where it stays below a root. */
		if ((size_t)snprintf(full, sizeof(full), "%s/%s",
		    strcmp(path, "/") == 0 ? "" : path, name) >= sizeof(full))
			return -1;
		fd = serve_open(w->srv, full, 0, &sb, &err, &msg);
		if (fd == -1)
			fd = serve_open(w->srv, full, 1, &sb, &err, &msg);
		if (fd == -1)
			return -1;
		close(fd);
	}
	if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
		return -1;
	e->dir = S_ISDIR(sb.st_mode);
	e->size = e->dir ? 0 : (long long)sb.st_size;
	e->mtime = (long long)sb.st_mtim.tv_sec;
	return 0;
}

/* The entries of directory fd dfd (path), sorted; n of them. */
static struct entry *
list_dir(struct wsconn *w, int dfd, const char *path, size_t *n)
{
	struct entry *v = NULL, *nv;
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	*n = 0;
	d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return NULL;
	}
	while ((de = readdir(d)) != NULL && *n < LIST_ENTRIES_MAX) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			cap = cap != 0 ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
		}
		if (entry_stat(w, dirfd(d), path, de->d_name, &v[*n]) == -1)
			continue;
		v[*n].name = strdup(de->d_name);
		if (v[*n].name != NULL)
			(*n)++;
	}
	closedir(d);
	if (v != NULL)
		qsort(v, *n, sizeof(*v), entry_cmp);
	return v;
}

/* The roots themselves, as entries named by their paths. */
static struct entry *
list_roots(struct wsconn *w, size_t *n)
{
	struct entry *v;
	struct stat sb;
	enum fs_err e;
	const char *msg;
	size_t i;
	int fd;

	*n = 0;
	v = calloc(w->c->nroots + 1, sizeof(*v));
	for (i = 0; v != NULL && i < w->c->nroots; i++) {
		fd = serve_open(w->srv, w->c->roots[i], 1, &sb, &e, &msg);
		if (fd == -1)
			continue;
		close(fd);
		v[*n].name = strdup(w->c->roots[i]);
		v[*n].dir = 1;
		v[*n].mtime = (long long)sb.st_mtim.tv_sec;
		if (v[*n].name != NULL)
			(*n)++;
	}
	if (v != NULL)
		qsort(v, *n, sizeof(*v), entry_cmp);
	return v;
}

/* {"status":200,"items":[...],"nextCursor"} from v after cursor. */
static cJSON *
list_page(const struct entry *v, size_t n, const char *cursor,
    long long limit)
{
	cJSON *j, *items, *it;
	char when[32];
	size_t i = 0, taken = 0;

	j = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(j, "items");
	if (items == NULL) {
		cJSON_Delete(j);
		return NULL;
	}
	cJSON_AddNumberToObject(j, "status", 200);
	while (cursor != NULL && i < n && strcmp(v[i].name, cursor) <= 0)
		i++;
	for (; i < n && taken < (size_t)limit; i++, taken++) {
		it = cJSON_CreateObject();
		cJSON_AddItemToArray(items, it);
		cJSON_AddStringToObject(it, "name", v[i].name);
		cJSON_AddStringToObject(it, "type", v[i].dir ? "dir" : "file");
		cJSON_AddNumberToObject(it, "size", (double)v[i].size);
		db_iso8601(v[i].mtime, when);
		cJSON_AddStringToObject(it, "modifiedAt", when);
	}
	if (i < n && taken > 0)
		cJSON_AddStringToObject(j, "nextCursor", v[i - 1].name);
	else
		cJSON_AddNullToObject(j, "nextCursor");
	return j;
}

static void
on_list(struct wsconn *w, uint32_t id, const cJSON *m)
{
	const char *path = rp_str(m, "path"), *cursor = rp_str(m, "cursor");
	struct entry *v = NULL;
	struct stat sb;
	cJSON *page;
	long long limit;
	enum fs_err e;
	const char *msg;
	size_t n = 0, i;
	int fd;

	if (rp_num(m, "limit", 1, RP_LIST_MAX, &limit) == -1)
		limit = RP_LIST_DEFAULT;
	if (path == NULL || (path[0] != '\0' &&
	    !agent_path_ok(path, strlen(path)))) {
		send_msg(w, "list", id, rp_error(FS_FORBIDDEN,
		    "path not allowed"));
		return;
	}
	if (path[0] == '\0') {
		v = list_roots(w, &n);
	} else {
		fd = serve_open(w->srv, path, 1, &sb, &e, &msg);
		if (fd == -1) {
			send_msg(w, "list", id, rp_error(e, msg));
			return;
		}
		v = list_dir(w, fd, path, &n);
	}
	page = list_page(v, n, cursor, limit);
	send_msg(w, "list", id, page != NULL ? page :
	    rp_error(FS_INTERNAL, "out of memory"));
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* --- the relay's messages */

static void
on_text(struct wsconn *w, const char *p, size_t n)
{
	struct wstream *st;
	const char *op;
	long long v;
	uint32_t id;
	cJSON *m;

	m = cJSON_ParseWithLength(p, n);
	op = rp_str(m, "op");
	id = rp_stream_id(m);
	if (op == NULL || id == 0) {
		wlog("dropped a malformed message");
		goto out;
	}
	if (strcmp(op, "read") == 0) {
		on_read(w, id, m);
	} else if (strcmp(op, "list") == 0) {
		on_list(w, id, m);
	} else if (strcmp(op, "credit") == 0) {
		st = stream_find(w, id);
		if (st != NULL && rp_num(m, "bytes", 1, RP_WINDOW * 4LL,
		    &v) == 0 && st->credit + v <= RP_WINDOW * 4LL) {
			st->credit += v;
			lws_callback_on_writable(w->wsi);
		}
	} else if (strcmp(op, "cancel") == 0) {
		st = stream_find(w, id);
		if (st != NULL)
			stream_free(w, st);
	} else {
		/* A newer relay's op: say so on that stream, go on. */
		send_msg(w, "head", id, rp_error(FS_BAD_REQUEST,
		    "unknown op"));
		send_msg(w, "end", id, NULL);
	}
out:
	cJSON_Delete(m);
}

static void
on_receive(struct wsconn *w, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		dynbuf_reset(&w->rx);
		/* The relay sends text only: a binary frame is dropped. */
		w->rx_bad = lws_frame_is_binary(wsi);
	}
	if (!w->rx_bad && len > 0 && dynbuf_add(&w->rx, in, len) != FS_OK) {
		wlog("dropped a message over %d bytes", RP_REQ_MAX);
		w->rx_bad = 1;
	}
	if (!lws_is_final_fragment(wsi))
		return;
	if (!w->rx_bad)
		on_text(w, dynbuf_ptr(&w->rx), dynbuf_len(&w->rx));
	dynbuf_reset(&w->rx);
}

/* --- the connection */

static void
drop_all(struct wsconn *w)
{
	while (w->streams != NULL)
		stream_free(w, w->streams);
	rp_queue_clear(&w->txq);
	dynbuf_free(&w->rx);
}

long long
wsconn_backoff_ms(int tries, unsigned r, double scale)
{
	long long ms = BACKOFF_MIN_MS;
	int i;

	for (i = 0; i < tries && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	/* Up to a quarter less, so agents cut off together spread out. */
	if (r > 65535)
		r = 65535;
	ms -= ms / 4 * (long long)r / 65535;
	ms = (long long)llround((double)ms * scale);
	return ms < 1 ? 1 : ms;
}

/* The next try after a jittered backoff: 1 s doubling to 60 s. */
static void
retry_later(struct wsconn *w)
{
	unsigned short r = 0;
	long long ms;

	w->wsi = NULL;
	atomic_store(&w->state, ST_WAITING);
	drop_all(w);
	(void)cry_random(&r, sizeof(r));
	ms = wsconn_backoff_ms(w->tries, r, w->scale);
	if (w->tries < 16)
		w->tries++;
	lws_sul_schedule(w->ctx, 0, &w->sul, connect_now,
	    (lws_usec_t)ms * 1000);
}

static int
cb_relay(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct wsconn *w = user;
	unsigned char **p = in, *end;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		end = *p + len;
		if (lws_add_http_header_by_token(wsi,
		    WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)w->auth,
		    (int)strlen(w->auth), p, end))
			return -1;
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		atomic_store(&w->state, ST_CONNECTED);
		w->tries = 0;
		dynbuf_init(&w->rx, RP_REQ_MAX);
		wlog("connected");
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		on_receive(w, wsi, in, len);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return writeable(w);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		wlog("cannot connect: %s", in != NULL ? (const char *)in :
		    "(no reason)");
		retry_later(w);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		wlog("disconnected");
		retry_later(w);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	/* tx_packet_size: a batch of frames goes out in one send(). */
	{ RP_SUBPROTOCOL, cb_relay, 0, RP_REQ_MAX, 0, NULL,
	    BATCH_MAX + BATCH_SLACK },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
connect_now(lws_sorted_usec_list_t *sul)
{
	struct wsconn *w = lws_container_of(sul, struct wsconn, sul);
	struct lws_client_connect_info i;

	memset(&i, 0, sizeof(i));
	i.context = w->ctx;
	i.address = w->addr;
	i.port = w->port;
	i.path = w->path;
	i.host = w->addr;
	i.origin = w->addr;
	i.protocol = RP_SUBPROTOCOL;
	i.ssl_connection = w->ssl ? LCCSCF_USE_SSL : 0;
	i.retry_and_idle_policy = &idle_policy;
	i.userdata = w;
	i.pwsi = &w->wsi;
	atomic_store(&w->state, ST_CONNECTING);
	if (lws_client_connect_via_info(&i) == NULL)
		retry_later(w);
}

static void *
run(void *arg)
{
	struct wsconn *w = arg;

	lws_sul_schedule(w->ctx, 0, &w->sul, connect_now, 1);
	while (!atomic_load(&w->stop))
		if (lws_service(w->ctx, 0) < 0)
			break;
	return NULL;
}

/* Where to connect, from the config's server URL. 0, or -1 with err. */
static int
target(struct wsconn *w, char *err, size_t errlen)
{
	const char *prot;
	size_t n;

	w->url = strdup(w->c->server);
	if (w->url == NULL ||
	    lws_parse_uri(w->url, &prot, &w->addr, &w->port, &w->upath) ||
	    (strcmp(prot, "http") != 0 && strcmp(prot, "https") != 0)) {
		snprintf(err, errlen, "the server URL is not http(s)://...");
		return -1;
	}
	w->ssl = strcmp(prot, "https") == 0;
	/* lws_parse_uri drops the path's leading '/'. */
	n = strlen(w->upath);
	while (n > 0 && w->upath[n - 1] == '/')
		n--;
	if ((size_t)snprintf(w->path, sizeof(w->path), "%s%.*s%s",
	    n > 0 ? "/" : "", (int)n, w->upath, RP_PATH) >= sizeof(w->path)) {
		snprintf(err, errlen, "the server URL is too long");
		return -1;
	}
	return 0;
}

struct wsconn *
wsconn_start(const struct conf *c, struct server *srv, char *err,
    size_t errlen)
{
	struct lws_context_creation_info info;
	struct wsconn *w;
	const char *ts = getenv("FILESTOR_AGENT_TIME_SCALE");

	err[0] = '\0';
	if (c->server == NULL || c->agent_id == NULL ||
	    c->agent_secret == NULL)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->c = c;
	w->srv = srv;
	rp_queue_init(&w->txq);
	w->scale = ts != NULL ? strtod(ts, NULL) : 1.0;
	if (!(w->scale > 0.0 && w->scale <= 1.0))
		w->scale = 1.0;
	atomic_init(&w->state, ST_WAITING);
	atomic_init(&w->stop, 0);
	dynbuf_init(&w->rx, RP_REQ_MAX);
	snprintf(w->auth, sizeof(w->auth), "Bearer %s.%s", c->agent_id,
	    c->agent_secret);
	w->batch = malloc(BATCH_MAX + BATCH_SLACK);
	if (w->batch == NULL || target(w, err, errlen) == -1)
		goto fail;
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = -1;
	info.uid = -1;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	w->ctx = lws_create_context(&info);
	if (w->ctx == NULL) {
		snprintf(err, errlen, "cannot start the relay connection");
		goto fail;
	}
	if (pthread_create(&w->th, NULL, run, w) != 0) {
		snprintf(err, errlen, "cannot start the relay thread");
		goto fail;
	}
	serve_relay_state(srv, wsconn_state, w);
	return w;
fail:
	if (w->ctx != NULL)
		lws_context_destroy(w->ctx);
	cry_wipe(w->auth, sizeof(w->auth));
	free(w->batch);
	free(w->url);
	free(w);
	return NULL;
}

void
wsconn_stop(struct wsconn *w)
{
	if (w == NULL)
		return;
	serve_relay_state(w->srv, NULL, NULL);
	atomic_store(&w->stop, 1);
	lws_cancel_service(w->ctx);
	pthread_join(w->th, NULL);
	lws_context_destroy(w->ctx);
	drop_all(w);
	cry_wipe(w->auth, sizeof(w->auth));
	free(w->batch);
	free(w->url);
	free(w);
}
