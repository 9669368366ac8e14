/*
 * dynbuf: a growable buffer with a hard cap (see dynbuf.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"

#define DYNBUF_MIN	64	/* first allocation */

void
dynbuf_init(struct dynbuf *d, size_t cap)
{
	d->buf = NULL;
	d->len = 0;
	d->alloc = 0;
	/* One byte is always kept for the NUL. */
	d->cap = cap < SIZE_MAX ? cap : SIZE_MAX - 1;
}

void
dynbuf_free(struct dynbuf *d)
{
	free(d->buf);
	d->buf = NULL;
	d->len = 0;
	d->alloc = 0;
}

void
dynbuf_reset(struct dynbuf *d)
{
	d->len = 0;
	if (d->buf != NULL)
		d->buf[0] = '\0';
}

enum fs_err
dynbuf_add(struct dynbuf *d, const void *p, size_t n)
{
	size_t want, a;
	char *nb;

	if (n > d->cap - d->len) {
		dynbuf_free(d);
		return FS_TOO_LARGE;
	}
	want = d->len + n + 1;
	if (want > d->alloc) {
		/* Double, but never past what the cap can ever need. */
		a = d->alloc > 0 ? d->alloc : DYNBUF_MIN;
		while (a < want)
			a = a > SIZE_MAX / 2 ? SIZE_MAX : a * 2;
		if (a > d->cap + 1)
			a = d->cap + 1;
		nb = realloc(d->buf, a);
		if (nb == NULL) {
			dynbuf_free(d);
			return FS_INTERNAL;
		}
		d->buf = nb;
		d->alloc = a;
	}
	if (n > 0)
		memcpy(d->buf + d->len, p, n);
	d->len += n;
	d->buf[d->len] = '\0';
	return FS_OK;
}

enum fs_err
dynbuf_addstr(struct dynbuf *d, const char *s)
{
	return dynbuf_add(d, s, strlen(s));
}

enum fs_err
dynbuf_addf(struct dynbuf *d, const char *fmt, ...)
{
	va_list ap;
	char small[256], *big = NULL;
	enum fs_err e;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		dynbuf_free(d);
		return FS_INTERNAL;
	}
	if ((size_t)n < sizeof(small))
		return dynbuf_add(d, small, (size_t)n);
	/* Refuse before formatting what could never fit. */
	if ((size_t)n > d->cap - d->len) {
		dynbuf_free(d);
		return FS_TOO_LARGE;
	}
	big = malloc((size_t)n + 1);
	if (big == NULL) {
		dynbuf_free(d);
		return FS_INTERNAL;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	e = dynbuf_add(d, big, (size_t)n);
	free(big);
	return e;
}

const char *
dynbuf_ptr(const struct dynbuf *d)
{
	return d->buf != NULL ? d->buf : "";
}

size_t
dynbuf_len(const struct dynbuf *d)
{
	return d->len;
}

char *
dynbuf_take(struct dynbuf *d, size_t *len)
{
	char *p = d->buf;

	if (len != NULL)
		*len = d->len;
	if (p == NULL)
		p = strdup("");
	d->buf = NULL;
	d->len = 0;
	d->alloc = 0;
	return p;
}
