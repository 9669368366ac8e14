/*
 * range: the HTTP Range header (RFC 9110 §14.1.2, §14.2), single ranges.
 *
 * RFC 9110 §14.2 lets a server ignore a Range it does not want to serve,
 * so everything odd (another unit, several ranges, bad syntax) falls back
 * to the whole body rather than an error.
 */
#include <limits.h>
#include <string.h>

#include "range.h"

/* Nineteen digits always fit in a long long (max 9223372036854775807). */
#define RANGE_MAX_DIGITS	19

/* s[0..n) as a non-negative decimal: 1..19 digits, no sign, no spaces. */
static int
parse_pos(const char *s, size_t n, long long *out)
{
	long long v = 0;
	size_t i;
	int d, rc = -1;

	if (n == 0 || n > RANGE_MAX_DIGITS)
		goto out;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto out;
		d = s[i] - '0';
		/* Nineteen nines would overflow: check every step. */
		if (v > (LLONG_MAX - d) / 10)
			goto out;
		v = v * 10 + d;
	}
	*out = v;
	rc = 0;
out:
	return rc;
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* 1 when s starts with "bytes=" in any case; ASCII only, whatever the
   locale. */
static int
is_bytes_unit(const char *s)
{
	static const char unit[] = "bytes=";
	size_t i;
	char c;

	for (i = 0; i < sizeof(unit) - 1; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != unit[i])
			return 0;
	}
	return 1;
}

enum range_result
range_parse(const char *header, long long size, long long *start,
    long long *len)
{
	const char *p, *end, *dash;
	long long a, b, n;
	enum range_result res = RANGE_NONE;

	if (header == NULL || start == NULL || len == NULL || size < 0)
		goto out;
	p = header;
	end = p + strlen(p);
	while (p < end && is_ows(*p))
		p++;
	while (end > p && is_ows(end[-1]))
		end--;
	/* §14.1: range units are case-insensitive; no OWS around '='. */
	if (end - p < 6 || !is_bytes_unit(p))
		goto out;
	p += 6;
	/* Several ranges: answering with the whole body is allowed
	   (§14.2) and spares us multipart/byteranges. */
	if (memchr(p, ',', (size_t)(end - p)) != NULL)
		goto out;
	dash = memchr(p, '-', (size_t)(end - p));
	if (dash == NULL)
		goto out;

	if (dash == p) {
		/* suffix-range "-n": the last n bytes (§14.1.1). */
		if (parse_pos(dash + 1, (size_t)(end - dash - 1), &n) == -1)
			goto out;
		/*
		 * -0 asks for nothing. An empty object has no last byte to
		 * send, so a suffix is unsatisfiable there too, although
		 * §14.1.1 would call it satisfiable: a 206 of zero bytes
		 * has no valid Content-Range.
		 */
		if (n == 0 || size == 0) {
			res = RANGE_UNSATISFIABLE;
			goto out;
		}
		if (n > size)
			n = size;
		*start = size - n;
		*len = n;
		res = RANGE_OK;
		goto out;
	}

	/* int-range "a-b" or "a-". */
	if (parse_pos(p, (size_t)(dash - p), &a) == -1)
		goto out;
	b = -1;
	if (dash + 1 < end) {
		if (parse_pos(dash + 1, (size_t)(end - dash - 1), &b) == -1)
			goto out;
		/* §14.1.1: last-pos below first-pos makes it invalid,
		   which is ignored, not refused. */
		if (b < a)
			goto out;
	}
	if (a >= size) {
		res = RANGE_UNSATISFIABLE;
		goto out;
	}
	/* §14.1.1: a last-pos past the end means "to the end". */
	if (b == -1 || b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	res = RANGE_OK;
out:
	return res;
}
