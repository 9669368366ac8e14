/*
 * Unit tests for common/store_s3.c against a fake endpoint: a thread
 * that speaks just enough HTTP/1.1 on 127.0.0.1 to answer the adapter
 * with canned responses and to count what reaches it. The real S3 runs
 * are tests/t09-s3.sh (STORE=s3, s3rver).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg.h"
#include "store.h"
#include "store_impl.h"

#define HEAD_MAX	65536
#define PAD		70000	/* spaces before the answer: past RESP_MAX */

static struct {
	int		 lfd;
	int		 port;
	atomic_int	 requests;
	atomic_int	 stop;
	pthread_t	 th;
} fake;

/* Read one request's head into buf; its length, or -1 at EOF. */
static ssize_t
read_head(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < cap) {
		r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		n++;
		buf[n] = '\0';
		if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
			return (ssize_t)n;
	}
	return -1;
}

static void
discard(int fd, long long len)
{
	char buf[65536];
	ssize_t r;

	while (len > 0) {
		r = read(fd, buf, len > (long long)sizeof(buf) ?
		    sizeof(buf) : (size_t)len);
		if (r <= 0)
			return;
		len -= r;
	}
}

static void
send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/*
 * The canned answers: InitiateMultipartUpload gives an id, a part PUT
 * an ETag, CompleteMultipartUpload a 200 whose <Error> comes after PAD
 * bytes of whitespace (as S3 may send while it works), anything else an
 * empty 200.
 */
static void
answer(int fd, const char *head)
{
	char hdr[256], *body = NULL;
	size_t blen = 0;
	const char *etag = "";

	if (strncmp(head, "POST ", 5) == 0 && strstr(head, "?uploads") != NULL) {
		body = strdup("<InitiateMultipartUploadResult><UploadId>u1"
		    "</UploadId></InitiateMultipartUploadResult>");
		blen = strlen(body);
	} else if (strncmp(head, "POST ", 5) == 0) {
		blen = PAD + 40;
		body = malloc(blen + 1);
		memset(body, ' ', PAD);
		memcpy(body + PAD, "<Error><Code>InternalError</Code></Error>",
		    40);
	} else if (strncmp(head, "PUT ", 4) == 0)
		etag = "ETag: \"e1\"\r\n";
	snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\n%sContent-Length: "
	    "%zu\r\n\r\n", etag, blen);
	send_all(fd, hdr, strlen(hdr));
	if (body != NULL && strncmp(head, "HEAD ", 5) != 0)
		send_all(fd, body, blen);
	free(body);
}

/* One connection, in its own thread: a test that fails may leave one
   open, and the next must still be served. */
static void *
serve_conn(void *arg)
{
	static char head[HEAD_MAX];	/* one request at a time (the adapter
					   has one connection in use) */
	int fd = (int)(intptr_t)arg;
	const char *cl;
	long long len;

	while (read_head(fd, head, sizeof(head)) > 0) {
		atomic_fetch_add(&fake.requests, 1);
		len = 0;
		cl = strcasestr(head, "\r\nContent-Length:");
		if (cl != NULL)
			len = atoll(cl + 17);
		discard(fd, len);
		answer(fd, head);
	}
	close(fd);
	return NULL;
}

static void *
fake_main(void *arg)
{
	struct pollfd pfd;
	pthread_t th;
	int fd;

	pfd.fd = fake.lfd;
	pfd.events = POLLIN;
	while (!atomic_load(&fake.stop)) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		fd = accept(fake.lfd, NULL, NULL);
		if (fd == -1)
			continue;
		if (pthread_create(&th, NULL, serve_conn,
		    (void *)(intptr_t)fd) == 0)
			pthread_detach(th);
		else
			close(fd);
	}
	return NULL;
}

static int
fake_start(void **state)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fake.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fake.lfd == -1 ||
	    bind(fake.lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fake.lfd, 4) == -1 ||
	    getsockname(fake.lfd, (struct sockaddr *)&sa, &sl) == -1)
		return -1;
	fake.port = ntohs(sa.sin_port);
	atomic_init(&fake.stop, 0);
	atomic_init(&fake.requests, 0);
	return pthread_create(&fake.th, NULL, fake_main, NULL) == 0 ? 0 : -1;
}

static int
fake_stop(void **state)
{
	atomic_store(&fake.stop, 1);
	pthread_join(fake.th, NULL);
	close(fake.lfd);
	return 0;
}

static struct store *
open_s3(void)
{
	struct s3_cfg c;
	struct store *s;
	char endpoint[64], err[256];

	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", fake.port);
	memset(&c, 0, sizeof(c));
	c.bucket = "b";
	c.endpoint = endpoint;
	c.region = "us-east-1";
	c.access_key = "AKIDEXAMPLE";
	c.secret_key = "secret";
	c.path_style = 1;
	c.part_size = S3_PART_MIN;
	s = store_open_s3(&c, err, sizeof(err));
	if (s == NULL)
		fail_msg("store_open_s3: %s", err);
	return s;
}

#define TID	"01234567-89ab-cdef-0123-456789abcdef"

/*
 * The physical-key guard is the one store_local has: keys it refuses
 * never reach the bucket.
 */
static void
test_guard(void **state)
{
	static const char *const bad[] = {
		"tenants/" TID "/a\\b",		/* a backslash */
		"tenants/" TID,			/* no logical part */
		"tenants/" TID "/a/../b",
		"tenants/" TID "//a",
		"tenants/" TID "/a\x7f",
		"/tenants/" TID "/a",
		"x/" TID "/a",
	};
	struct store_reader *rd;
	struct store_writer *w;
	struct store *s = open_s3();
	char *longkey;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (store_reader_open(s, bad[i], 0, -1, &rd) != FS_VALIDATION)
			fail_msg("reader for \"%s\" not refused", bad[i]);
		assert_int_equal(store_delete(s, bad[i]), FS_VALIDATION);
		assert_int_equal(store_writer_open(s, bad[i], &w),
		    FS_VALIDATION);
	}
	/* Longer than any key we make (a 1024-byte logical key). */
	longkey = malloc(46 + 1100 + 1);
	assert_non_null(longkey);
	memcpy(longkey, "tenants/" TID "/", 46);
	memset(longkey + 46, 'a', 1100);
	longkey[46 + 1100] = '\0';
	assert_int_equal(store_delete(s, longkey), FS_VALIDATION);
	free(longkey);
	assert_int_equal(atomic_load(&fake.requests), 0);
	/* And a good key does reach it. */
	assert_int_equal(store_delete(s, "tenants/" TID "/a"), FS_OK);
	assert_int_equal(atomic_load(&fake.requests), 1);
	assert_true(store_pkey_ok("tenants/" TID "/a/b.txt"));
	assert_false(store_pkey_ok(NULL));
	store_close(s);
}

/*
 * An answer longer than the adapter keeps is an error, never parsed cut
 * short: here the <Error> of a CompleteMultipartUpload comes after the
 * first RESP_MAX bytes, and the commit must not report success.
 */
static void
test_long_answer(void **state)
{
	struct store_writer *w = NULL;
	struct store *s = open_s3();
	unsigned char *buf;
	size_t n = (size_t)S3_PART_MIN + 10;

	buf = calloc(1, n);
	assert_non_null(buf);
	assert_int_equal(store_writer_open(s, "tenants/" TID "/big", &w),
	    FS_OK);
	assert_int_equal(store_write(w, buf, n), FS_OK);
	assert_int_not_equal(store_commit(w, NULL, NULL), FS_OK);
	store_writer_free(w);
	free(buf);
	store_close(s);
}

UNIT_MAIN(fake_start, fake_stop,
    cmocka_unit_test(test_guard),
    cmocka_unit_test(test_long_answer))
