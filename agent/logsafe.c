/*
 * logsafe: escaping and rate limiting of untrusted log lines (see
 * logsafe.h).
 */
#include <string.h>

#include "logsafe.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF, and C1 controls. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

size_t
logsafe_escape(const char *in, size_t inlen, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, o = 0, n;

	if (outlen == 0)
		return 0;
	while (i < inlen) {
		if ((s[i] >= 0x20 && s[i] < 0x7f) || s[i] == '\t') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)s[i++];
			continue;
		}
		n = s[i] >= 0x80 ? utf8_seq(s + i, inlen - i) : 0;
		if (n > 0) {
			if (o + n >= outlen)
				break;
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		if (o + 4 >= outlen)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[s[i] >> 4];
		out[o++] = hex[s[i] & 0x0f];
		i++;
	}
	out[o] = '\0';
	return o;
}

/* FNV-1a: enough to tell a repeated line from another. */
static unsigned long long
hash_line(const char *s)
{
	unsigned long long h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
logsafe_check(struct logsafe_limit *l, const char *line, long long now_ms,
    unsigned *dropped, unsigned *repeats)
{
	unsigned long long h = hash_line(line);

	*dropped = 0;
	*repeats = 0;
	if (l->have_last && h == l->last) {
		if (l->repeats < ~0U)
			l->repeats++;
		return 0;
	}
	l->last = h;
	l->have_last = 1;
	if (now_ms - l->start >= l->window_ms || now_ms < l->start) {
		l->start = now_ms;
		l->n = 0;
	}
	if (l->n >= l->max) {
		if (l->dropped < ~0U)
			l->dropped++;
		return 0;
	}
	l->n++;
	*dropped = l->dropped;
	*repeats = l->repeats;
	l->dropped = 0;
	l->repeats = 0;
	return 1;
}
