/*
 * tio.h: the request layer's I/O hook (struct http_io) in memory, for unit
 * tests. The body comes from tio.body, every response byte goes to
 * tio.out; req_init() builds a request from envp and attaches it, fresh.
 */
#ifndef FS_TEST_TIO_H
#define FS_TEST_TIO_H

#include <string.h>

#include "dynbuf.h"
#include "http.h"

#define TIO_OUT_MAX	(16 * 1024 * 1024)

/*
 * The request layer's I/O hook (struct http_io) in memory: the body comes
 * from tio.body, every response byte goes to tio.out. req_init() attaches
 * it to each request, fresh.
 */
static struct {
	const char	*body;		/* borrowed */
	size_t		 len;
	size_t		 off;		/* bytes of body consumed */
	struct dynbuf	 out;
} tio;

#define OUT	dynbuf_ptr(&tio.out)
#define OUTLEN	dynbuf_len(&tio.out)

static ssize_t
tio_read(void *arg, void *buf, size_t len)
{
	size_t left = tio.body != NULL ? tio.len - tio.off : 0;

	if (len > left)
		len = left;
	if (len > 0)
		memcpy(buf, tio.body + tio.off, len);
	tio.off += len;
	return (ssize_t)len;
}

static int
tio_write(void *arg, const void *buf, size_t len)
{
	return dynbuf_add(&tio.out, buf, len) == FS_OK ? 0 : -1;
}

static const struct http_io tio_io = { tio_read, tio_write };

static enum fs_err
req_init(struct request *r, char **envp, const char **msg)
{
	enum fs_err e;

	e = http_request_init(r, NULL, envp, msg);
	tio.body = NULL;
	tio.len = tio.off = 0;
	dynbuf_free(&tio.out);
	dynbuf_init(&tio.out, TIO_OUT_MAX);
	r->io = &tio_io;
	return e;
}

#endif
