/*
 * s3xml: S3's XML, out and in (s3xml.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"

static void
add(struct s3xml *x, const char *s, size_t n)
{
	if (!x->failed && dynbuf_add(&x->d, s, n) != FS_OK)
		x->failed = 1;
}

static void
adds(struct s3xml *x, const char *s)
{
	add(x, s, strlen(s));
}

void
s3xml_begin(struct s3xml *x, const char *root)
{
	memset(x, 0, sizeof(*x));
	dynbuf_init(&x->d, S3XML_MAX);
	adds(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
	adds(x, root);
	adds(x, " xmlns=\"" S3XML_NS "\">");
}

void
s3xml_open(struct s3xml *x, const char *tag)
{
	adds(x, "<");
	adds(x, tag);
	adds(x, ">");
}

void
s3xml_close(struct s3xml *x, const char *tag)
{
	adds(x, "</");
	adds(x, tag);
	adds(x, ">");
}

static void
escape(struct s3xml *x, const char *s)
{
	size_t n;

	for (; *s != '\0'; s += n) {
		n = strcspn(s, "<>&\"'\r");
		add(x, s, n);
		switch (s[n]) {
		case '<':
			adds(x, "&lt;");
			break;
		case '>':
			adds(x, "&gt;");
			break;
		case '&':
			adds(x, "&amp;");
			break;
		case '"':
			adds(x, "&quot;");
			break;
		case '\'':
			adds(x, "&apos;");
			break;
		case '\r':
			/* A parser would turn a raw CR into LF. */
			adds(x, "&#13;");
			break;
		default:
			return;
		}
		n++;
	}
}

void
s3xml_text(struct s3xml *x, const char *tag, const char *s)
{
	s3xml_open(x, tag);
	escape(x, s);
	s3xml_close(x, tag);
}

void
s3xml_textf(struct s3xml *x, const char *tag, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		x->failed = 1;
		return;
	}
	s3xml_text(x, tag, s);
	free(s);
}

void
s3xml_free(struct s3xml *x)
{
	dynbuf_free(&x->d);
}

/* Find needle[0..nlen) in s[from..len): its offset, or len. */
static size_t
find(const char *s, size_t len, size_t from, const char *needle, size_t nlen)
{
	size_t i;

	for (i = from; i + nlen <= len; i++)
		if (memcmp(s + i, needle, nlen) == 0)
			return i;
	return len;
}

int
s3xml_elem(const char *s, size_t len, const char *tag, size_t *pos,
    const char **in, size_t *inlen)
{
	char open[80], close[80];
	size_t olen, clen, i, start, end;

	olen = (size_t)snprintf(open, sizeof(open), "<%s", tag);
	clen = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	if (olen >= sizeof(open) || clen >= sizeof(close))
		return -1;
	for (i = *pos; ; i++) {
		i = find(s, len, i, open, olen);
		if (i + olen >= len)
			return 0;
		/* <Key> or <Key attr="">, not <KeyMarker>. */
		if (s[i + olen] == '>' || s[i + olen] == ' ')
			break;
	}
	start = find(s, len, i + olen, ">", 1);
	if (start == len)
		return -1;
	if (s[start - 1] == '/') {	/* <Key/>: empty */
		*in = s + start;
		*inlen = 0;
		*pos = start + 1;
		return 1;
	}
	start++;
	end = find(s, len, start, close, clen);
	if (end == len)
		return -1;
	*in = s + start;
	*inlen = end - start;
	*pos = end + clen;
	return 1;
}

/* One "&...;" at in (len bytes): the code point, with *n its length. */
static long
entity(const char *in, size_t len, size_t *n)
{
	static const struct { const char *e; char c; } named[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	const char *semi;
	char *end;
	long v;
	size_t i;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (len >= strlen(named[i].e) &&
		    memcmp(in, named[i].e, strlen(named[i].e)) == 0) {
			*n = strlen(named[i].e);
			return named[i].c;
		}
	semi = memchr(in, ';', len < 12 ? len : 12);
	if (len < 4 || in[1] != '#' || semi == NULL)
		return -1;
	if (in[2] == 'x')
		v = strtol(in + 3, &end, 16);
	else
		v = strtol(in + 2, &end, 10);
	if (end != semi || end == in + 2 || v <= 0 || v > 0x10FFFF ||
	    (v >= 0xD800 && v <= 0xDFFF))
		return -1;
	*n = (size_t)(semi - in) + 1;
	return v;
}

/* Append code point v as UTF-8 at out. */
static size_t
utf8(long v, char *out)
{
	if (v < 0x80) {
		out[0] = (char)v;
		return 1;
	}
	if (v < 0x800) {
		out[0] = (char)(0xC0 | (v >> 6));
		out[1] = (char)(0x80 | (v & 0x3F));
		return 2;
	}
	if (v < 0x10000) {
		out[0] = (char)(0xE0 | (v >> 12));
		out[1] = (char)(0x80 | ((v >> 6) & 0x3F));
		out[2] = (char)(0x80 | (v & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (v >> 18));
	out[1] = (char)(0x80 | ((v >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((v >> 6) & 0x3F));
	out[3] = (char)(0x80 | (v & 0x3F));
	return 4;
}

char *
s3xml_decode(const char *in, size_t len)
{
	char *out;
	size_t i = 0, o = 0, n;
	long v;

	/* An entity never grows: "&#x10FFFF;" is 10 bytes for 4. */
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	while (i < len) {
		if (in[i] == '\0' || in[i] == '<')
			goto bad;
		if (in[i] != '&') {
			out[o++] = in[i++];
			continue;
		}
		v = entity(in + i, len - i, &n);
		if (v <= 0)
			goto bad;
		o += utf8(v, out + o);
		i += n;
	}
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}
