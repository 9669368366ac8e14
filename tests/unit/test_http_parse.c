/*
 * Unit tests for common/http_parse.c: the pure parsers (numbers, dates,
 * query strings, percent-decoding, cookies, ETags), the conditional-GET
 * decision and Content-Disposition.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

#define QMAX		64	/* as HTTP_MAX_QUERY_PARAMS */

/* ---- http_pct_decode ---- */

struct pct_case {
	const char	*in;
	size_t		 inlen;		/* 0: strlen(in) */
	int		 plus;
	const char	*want;		/* NULL: must fail */
	size_t		 wantlen;
};

static const struct pct_case pct_cases[] = {
	{ "", 0, 0, "", 0 },
	{ "abc", 0, 0, "abc", 3 },
	{ "%2F", 0, 0, "/", 1 },
	{ "%2f", 0, 0, "/", 1 },
	{ "a%2Fb%2fc", 0, 0, "a/b/c", 5 },
	{ "%25", 0, 0, "%", 1 },
	{ "%2525", 0, 0, "%25", 3 },		/* decoded once only */
	{ "%C3%A9", 0, 0, "\xc3\xa9", 2 },
	{ "%zz", 0, 0, NULL, 0 },
	{ "%4", 0, 0, NULL, 0 },
	{ "%4g", 0, 0, NULL, 0 },
	{ "%g4", 0, 0, NULL, 0 },
	{ "%", 0, 0, NULL, 0 },
	{ "abc%", 0, 0, NULL, 0 },
	{ "abc%2", 0, 0, NULL, 0 },
	{ "% 20", 0, 0, NULL, 0 },
	{ "%2F", 2, 0, NULL, 0 },		/* escape cut by len */
	{ "ab%2F", 2, 0, "ab", 2 },
	{ "a+b", 0, 0, "a+b", 3 },
	{ "a+b", 0, 1, "a b", 3 },
	{ "%2B", 0, 1, "+", 1 },
	{ "++", 0, 1, "  ", 2 },
	{ "%00", 0, 0, "\0", 1 },
	{ "a%00b", 0, 0, "a\0b", 3 },
};

static void
test_pct_decode(void **state)
{
	const struct pct_case *c;
	size_t i, inlen, outlen;
	char *out, *nonul;

	(void)state;
	for (i = 0; i < NITEMS(pct_cases); i++) {
		c = &pct_cases[i];
		inlen = c->inlen != 0 ? c->inlen : strlen(c->in);
		outlen = 12345;
		out = http_pct_decode(c->in, inlen, c->plus, &outlen);
		if (c->want == NULL) {
			if (out != NULL)
				print_error("case %zu \"%s\" decoded\n", i,
				    c->in);
			assert_null(out);
			continue;
		}
		if (out == NULL)
			print_error("case %zu \"%s\" failed\n", i, c->in);
		assert_non_null(out);
		assert_int_equal(outlen, c->wantlen);
		assert_memory_equal(out, c->want, c->wantlen);
		assert_int_equal(out[outlen], '\0');
		free(out);
	}
	/* in need not be NUL terminated: a trailing '%' must not make it
	   read past len (ASan watches the heap copy). */
	nonul = malloc(3);
	assert_non_null(nonul);
	memcpy(nonul, "ab%", 3);
	assert_null(http_pct_decode(nonul, 3, 0, NULL));
	memcpy(nonul, "a%4", 3);
	assert_null(http_pct_decode(nonul, 3, 0, NULL));
	free(nonul);
	/* outlen is optional. */
	out = http_pct_decode("x", 1, 0, NULL);
	assert_string_equal(out, "x");
	free(out);
}

/* ---- http_parse_query ---- */

struct query_case {
	const char	*qs;
	size_t		 max;
	int		 want;		/* count or -1 */
	const char	*names[4];
	const char	*values[4];
	size_t		 value_lens[4];
};

static const struct query_case query_cases[] = {
	{ NULL, 8, 0, { NULL }, { NULL }, { 0 } },
	{ "", 8, 0, { NULL }, { NULL }, { 0 } },
	{ "&", 8, 0, { NULL }, { NULL }, { 0 } },
	{ "a", 8, 1, { "a" }, { "" }, { 0 } },
	{ "a=", 8, 1, { "a" }, { "" }, { 0 } },
	{ "a=1&b=2", 8, 2, { "a", "b" }, { "1", "2" }, { 1, 1 } },
	{ "&&a=1", 8, 1, { "a" }, { "1" }, { 1 } },
	{ "a=1&&", 8, 1, { "a" }, { "1" }, { 1 } },
	{ "a=1&a=2", 8, 2, { "a", "a" }, { "1", "2" }, { 1, 1 } },
	{ "%61%62=c+d%2B", 8, 1, { "ab" }, { "c d+" }, { 4 } },
	{ "a+b=1", 8, 1, { "a b" }, { "1" }, { 1 } },
	{ "a=1=2", 8, 1, { "a" }, { "1=2" }, { 3 } },
	{ "prefix=x%2Fy&limit=10", 8, 2, { "prefix", "limit" },
	    { "x/y", "10" }, { 3, 2 } },
	{ "v=a%00b", 8, 1, { "v" }, { "a\0b" }, { 3 } },
	{ "a=1&b=2&c=3", 3, 3, { "a", "b", "c" }, { "1", "2", "3" },
	    { 1, 1, 1 } },
	{ "a=1&b=2&c=3&d=4", 3, -1, { NULL }, { NULL }, { 0 } },
	{ "a=1&b=2", 0, -1, { NULL }, { NULL }, { 0 } },
	{ "a=%zz", 8, -1, { NULL }, { NULL }, { 0 } },
	{ "a=1&b=%4", 8, -1, { NULL }, { NULL }, { 0 } },
	{ "%zz=1", 8, -1, { NULL }, { NULL }, { 0 } },
	{ "a=1&=2", 8, -1, { NULL }, { NULL }, { 0 } },
	{ "a%00b=1", 8, -1, { NULL }, { NULL }, { 0 } },
	{ "a=%", 8, -1, { NULL }, { NULL }, { 0 } },
};

static void
test_parse_query(void **state)
{
	const struct query_case *c;
	struct http_param p[8];
	size_t i, j;
	int n;

	(void)state;
	for (i = 0; i < NITEMS(query_cases); i++) {
		c = &query_cases[i];
		memset(p, 0, sizeof(p));
		n = http_parse_query(c->qs, p, c->max);
		if (n != c->want)
			print_error("case %zu \"%s\": %d, want %d\n", i,
			    c->qs != NULL ? c->qs : "(null)", n, c->want);
		assert_int_equal(n, c->want);
		for (j = 0; j < (size_t)(n > 0 ? n : 0); j++) {
			assert_string_equal(p[j].name, c->names[j]);
			assert_int_equal(p[j].value_len, c->value_lens[j]);
			assert_memory_equal(p[j].value, c->values[j],
			    c->value_lens[j] + 1);
			free(p[j].name);
			free(p[j].value);
		}
		/* A failure leaves nothing allocated (ASan would say). */
		if (n == -1)
			for (j = 0; j < NITEMS(p); j++)
				assert_null(p[j].name);
	}
}

static void
test_parse_query_limit(void **state)
{
	struct http_param p[QMAX];
	char qs[QMAX * 8 + 16];
	size_t i, off = 0;
	int n;

	(void)state;
	for (i = 0; i < QMAX; i++)
		off += (size_t)snprintf(qs + off, sizeof(qs) - off, "p%zu=%zu&",
		    i, i);
	n = http_parse_query(qs, p, QMAX);
	assert_int_equal(n, QMAX);
	assert_string_equal(p[63].name, "p63");
	for (i = 0; i < (size_t)n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	snprintf(qs + off, sizeof(qs) - off, "one=more");
	assert_int_equal(http_parse_query(qs, p, QMAX), -1);
}

/* ---- http_cookie_find ---- */

struct cookie_case {
	const char	*header;
	const char	*name;
	const char	*want;		/* NULL: not found */
};

static const struct cookie_case cookie_cases[] = {
	{ "filestor_session=abc", "filestor_session", "abc" },
	{ "a=1; filestor_session=abc; b=2", "filestor_session", "abc" },
	{ "a=1;filestor_session=abc", "filestor_session", "abc" },
	{ "  filestor_session = abc  ;", "filestor_session", "abc" },
	{ "a=1;\tfilestor_session=abc\t", "filestor_session", "abc" },
	{ "filestor_session=\"abc\"", "filestor_session", "abc" },
	{ "filestor_session=\"\"", "filestor_session", "" },
	{ "filestor_session=\"", "filestor_session", "\"" },
	{ "filestor_session=", "filestor_session", "" },
	{ "filestor_session=x=y", "filestor_session", "x=y" },
	{ "xfilestor_session=1; filestor_session=2", "filestor_session",
	    "2" },
	{ "filestor_session_x=1; filestor_session=2", "filestor_session",
	    "2" },
	{ "filestor_session=1; filestor_session=2", "filestor_session",
	    "1" },
	{ "filestor_sessio=1", "filestor_session", NULL },
	{ "filestor_session_x=1", "filestor_session", NULL },
	{ "Filestor_session=1", "filestor_session", NULL },
	{ "filestor_session", "filestor_session", NULL },
	{ "a=1; b=2", "filestor_session", NULL },
	{ ";;; ;", "filestor_session", NULL },
	{ "", "filestor_session", NULL },
	{ NULL, "filestor_session", NULL },
	{ "=1", "", NULL },
	{ "a=1", NULL, NULL },
};

static void
test_cookie_find(void **state)
{
	const struct cookie_case *c;
	char *v;
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(cookie_cases); i++) {
		c = &cookie_cases[i];
		v = http_cookie_find(c->header, c->name);
		if (c->want == NULL) {
			if (v != NULL)
				print_error("case %zu: got \"%s\"\n", i, v);
			assert_null(v);
			continue;
		}
		if (v == NULL)
			print_error("case %zu: not found\n", i);
		assert_non_null(v);
		assert_string_equal(v, c->want);
		free(v);
	}
}

/* ---- http_header_value_ok ---- */

static void
test_header_value_ok(void **state)
{
	static const struct {
		const char	*v;
		int		 want;
	} cases[] = {
		{ "", 1 },
		{ "text/plain", 1 },
		{ "a\tb", 1 },
		{ "W/\"abc\"", 1 },
		{ "caf\xc3\xa9", 1 },
		{ "a\rb", 0 },
		{ "a\nb", 0 },
		{ "a\r\nSet-Cookie: x=1", 0 },
		{ "\n", 0 },
		{ "a\x01", 0 },
		{ "a\x7f", 0 },
		{ NULL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++)
		assert_int_equal(http_header_value_ok(cases[i].v),
		    cases[i].want);
}

/* ---- http_parse_ll ---- */

struct ll_case {
	const char	*s;
	long long	 min, max;
	int		 rc;
	long long	 want;
};

static const struct ll_case ll_cases[] = {
	{ "0", 0, 10, 0, 0 },
	{ "10", 0, 10, 0, 10 },
	{ "11", 0, 10, -1, 0 },
	{ "1", 2, 10, -1, 0 },
	{ "007", 0, 10, 0, 7 },
	{ "", 0, 10, -1, 0 },
	{ "-", -10, 10, -1, 0 },
	{ "-", 0, 10, -1, 0 },
	{ "-1", 0, 10, -1, 0 },
	{ "-1", -10, 10, 0, -1 },
	{ "-0", -10, 10, 0, 0 },
	{ "-11", -10, 10, -1, 0 },
	{ "+1", 0, 10, -1, 0 },
	{ "+1", -10, 10, -1, 0 },
	{ " 1", 0, 10, -1, 0 },
	{ "1 ", 0, 10, -1, 0 },
	{ "1x", 0, 10, -1, 0 },
	{ "0x1", 0, 10, -1, 0 },
	{ "1e3", 0, 10000, -1, 0 },
	{ "1.0", 0, 10, -1, 0 },
	{ "--1", -10, 10, -1, 0 },
	{ "9223372036854775807", 0, LLONG_MAX, 0, LLONG_MAX },
	{ "9223372036854775808", 0, LLONG_MAX, -1, 0 },
	{ "99999999999999999999", 0, LLONG_MAX, -1, 0 },
	{ "-9223372036854775808", LLONG_MIN, 0, 0, LLONG_MIN },
	{ "-9223372036854775809", LLONG_MIN, 0, -1, 0 },
	{ "00000000000000000000001", 0, 10, 0, 1 },
	{ "5", 10, 0, -1, 0 },		/* min > max */
	{ NULL, 0, 10, -1, 0 },
};

static void
test_parse_ll(void **state)
{
	const struct ll_case *c;
	long long v;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NITEMS(ll_cases); i++) {
		c = &ll_cases[i];
		v = 424242;
		rc = http_parse_ll(c->s, c->min, c->max, &v);
		if (rc != c->rc)
			print_error("case %zu \"%s\": rc %d\n", i,
			    c->s != NULL ? c->s : "(null)", rc);
		assert_int_equal(rc, c->rc);
		if (rc == 0)
			assert_true(v == c->want);
		else
			assert_true(v == 424242);
	}
}

/* ---- http_etag_match, http_if_range_holds (RFC 9110 §13.1) ---- */

static void
test_conditionals(void **state)
{
	const char *t = "\"abc\"";

	(void)state;
	assert_true(http_etag_match("\"abc\"", t));
	assert_true(http_etag_match("W/\"abc\"", t));	/* weak comparison */
	assert_true(http_etag_match("\"x\", \"abc\"", t));
	assert_true(http_etag_match(" \"x\",\t\"abc\" ", t));
	assert_true(http_etag_match("*", t));
	assert_false(http_etag_match("\"abcd\"", t));	/* no prefix match */
	assert_false(http_etag_match("\"ab\"", t));
	assert_false(http_etag_match("", t));
	assert_false(http_etag_match("\"x\", W/\"y\"", t));

	assert_true(http_if_range_holds("\"abc\"", t, 0));
	assert_false(http_if_range_holds("W/\"abc\"", t, 0));	/* never weak */
	assert_false(http_if_range_holds("\"abd\"", t, 0));
	assert_true(http_if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", t,
	    784111777));
	assert_false(http_if_range_holds("Sun, 06 Nov 1994 08:49:38 GMT", t,
	    784111777));
	assert_false(http_if_range_holds("garbage", t, 784111777));
}

/* ---- http_date, http_parse_date ---- */

static void
test_http_date(void **state)
{
	static const struct {
		long long	 t;
		const char	*s;
	} known[] = {
		{ 784111777, "Sun, 06 Nov 1994 08:49:37 GMT" },
		{ 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
		{ 1483228799, "Sat, 31 Dec 2016 23:59:59 GMT" },
		{ 2147483648LL, "Tue, 19 Jan 2038 03:14:08 GMT" },
		{ 253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT" },
	};
	char buf[30];
	long long t;
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(known); i++) {
		memset(buf, 'x', sizeof(buf));
		http_date(known[i].t, buf);
		assert_string_equal(buf, known[i].s);
		assert_true(http_parse_date(known[i].s) == known[i].t);
	}
	/* Round trip across the years, in odd steps. */
	for (t = 0; t < 4102444800LL; t += 86400LL * 37 + 3671) {
		http_date(t, buf);
		assert_true(http_parse_date(buf) == t);
	}
	/* Out of range clamps rather than writing a 5-digit year. */
	http_date(-5, buf);
	assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_date(LLONG_MAX, buf);
	assert_string_equal(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
}

static void
test_parse_date_bad(void **state)
{
	static const char *bad[] = {
		NULL,
		"",
		"Mon, 06 Nov 1994 08:49:37 GMT",	/* wrong day name */
		"sun, 06 Nov 1994 08:49:37 GMT",	/* case */
		"Sun, 06 nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37 GMT ",
		" Sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun,  6 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT",	/* rfc850 */
		"Sun Nov  6 08:49:37 1994",		/* asctime */
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT",
		"Sun, 06 Nov 1994 08:49:61 GMT",
		"Thu, 31 Nov 1994 08:49:37 GMT",	/* no 31 Nov */
		"Thu, 29 Feb 2001 00:00:00 GMT",	/* not a leap year */
		"Tue, 00 Nov 1994 08:49:37 GMT",
		"Wed, 31 Dec 1969 23:59:59 GMT",	/* before the epoch */
		"Sun, 06 Nov 1994 08:49:3x GMT",
		"Sun, 06 Nov 1994 08-49-37 GMT",
		"Sun, 0+ Nov 1994 08:49:37 GMT",
	};
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(bad); i++) {
		if (http_parse_date(bad[i]) != -1)
			print_error("case %zu \"%s\" parsed\n", i,
			    bad[i] != NULL ? bad[i] : "(null)");
		assert_true(http_parse_date(bad[i]) == -1);
	}
	/* A leap second is a valid time of day (RFC 7231 §7.1.1.1). */
	assert_true(http_parse_date("Sat, 31 Dec 2016 23:59:60 GMT") ==
	    1483228800LL);
}

/* ---- http_conditional (RFC 9110 §13.2.2) ---- */

struct cond_case {
	const char		*inm, *ims, *range, *ifr;
	long long		 mtime;
	enum http_cond_result	 want;
	long long		 start, len;
};

/* The representation: "\"abc\"", 10 bytes, Sun, 06 Nov 1994 08:49:37. */
#define T0	784111777LL
#define D0	"Sun, 06 Nov 1994 08:49:37 GMT"
#define D1	"Sun, 06 Nov 1994 08:49:38 GMT"
#define DM	"Sun, 06 Nov 1994 08:49:36 GMT"

static const struct cond_case cond_cases[] = {
	{ NULL, NULL, NULL, NULL, T0, HTTP_COND_WHOLE, 0, 10 },
	/* If-None-Match: the weak comparison, "*", lists. */
	{ "\"abc\"", NULL, NULL, NULL, T0, HTTP_COND_NOT_MODIFIED, 0, 10 },
	{ "W/\"abc\"", NULL, NULL, NULL, T0, HTTP_COND_NOT_MODIFIED, 0, 10 },
	{ "*", NULL, NULL, NULL, T0, HTTP_COND_NOT_MODIFIED, 0, 10 },
	{ "\"x\", \"abc\"", NULL, NULL, NULL, T0, HTTP_COND_NOT_MODIFIED,
	    0, 10 },
	{ "\"x\"", NULL, NULL, NULL, T0, HTTP_COND_WHOLE, 0, 10 },
	/* If-Modified-Since: not after the date is 304. */
	{ NULL, D0, NULL, NULL, T0, HTTP_COND_NOT_MODIFIED, 0, 10 },
	{ NULL, D1, NULL, NULL, T0, HTTP_COND_NOT_MODIFIED, 0, 10 },
	{ NULL, DM, NULL, NULL, T0, HTTP_COND_WHOLE, 0, 10 },
	{ NULL, "garbage", NULL, NULL, T0, HTTP_COND_WHOLE, 0, 10 },
	/* ... but only without If-None-Match (§13.1.3). */
	{ "\"x\"", D1, NULL, NULL, T0, HTTP_COND_WHOLE, 0, 10 },
	/* ... and only with a date of our own. */
	{ NULL, D1, NULL, NULL, -1, HTTP_COND_WHOLE, 0, 10 },
	/* A 304 wins over a Range. */
	{ "\"abc\"", NULL, "bytes=0-1", NULL, T0, HTTP_COND_NOT_MODIFIED,
	    0, 10 },
	/* Range. */
	{ NULL, NULL, "bytes=2-4", NULL, T0, HTTP_COND_PARTIAL, 2, 3 },
	{ NULL, NULL, "bytes=-3", NULL, T0, HTTP_COND_PARTIAL, 7, 3 },
	{ NULL, NULL, "bytes=20-", NULL, T0, HTTP_COND_UNSATISFIABLE, 0, 10 },
	{ NULL, NULL, "bytes=5-1", NULL, T0, HTTP_COND_IGNORED, 0, 10 },
	{ NULL, NULL, "bytes=0-1,3-4", NULL, T0, HTTP_COND_IGNORED, 0, 10 },
	/* If-Range: the strong tag or the exact date, else the whole. */
	{ NULL, NULL, "bytes=2-4", "\"abc\"", T0, HTTP_COND_PARTIAL, 2, 3 },
	{ NULL, NULL, "bytes=2-4", D0, T0, HTTP_COND_PARTIAL, 2, 3 },
	{ NULL, NULL, "bytes=2-4", "\"x\"", T0, HTTP_COND_IGNORED, 0, 10 },
	{ NULL, NULL, "bytes=2-4", "W/\"abc\"", T0, HTTP_COND_IGNORED, 0, 10 },
	{ NULL, NULL, "bytes=2-4", D1, T0, HTTP_COND_IGNORED, 0, 10 },
	{ NULL, NULL, "bytes=20-", "\"x\"", T0, HTTP_COND_IGNORED, 0, 10 },
};

static void
test_conditional(void **state)
{
	const struct cond_case *k;
	struct http_cond c;
	long long start, len;
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(cond_cases); i++) {
		k = &cond_cases[i];
		memset(&c, 0, sizeof(c));
		c.if_none_match = k->inm;
		c.if_modified_since = k->ims;
		c.range = k->range;
		c.if_range = k->ifr;
		c.etag = "\"abc\"";
		c.mtime = k->mtime;
		c.size = 10;
		start = len = -7;
		if (http_conditional(&c, &start, &len) != k->want)
			fail_msg("case %zu: want %d", i, (int)k->want);
		assert_true(start == k->start);
		assert_true(len == k->len);
	}
}

/* ---- http_disposition (RFC 6266, RFC 8187) ---- */

static const struct {
	const char	*name;
	int		 attachment;
	const char	*want;
} disp_cases[] = {
	{ "/srv/report.pdf", 0, "inline; filename=\"report.pdf\"; "
	    "filename*=UTF-8''report.pdf" },
	{ "a \"b\"\\c;\xc3\xa9%.txt", 1, "attachment; filename=\"a _b__c;"
	    "__%.txt\"; filename*=UTF-8''a%20%22b%22%5Cc%3B%C3%A9%25.txt" },
	/* attr-char stays as it is (RFC 8187 §3.2.1); the rest is encoded. */
	{ "dir/a&b+c$d!e#f^g`h|i~j.html", 1, "attachment; filename=\"a&b+c$d!"
	    "e#f^g`h|i~j.html\"; filename*=UTF-8''a&b+c$d!e#f^g`h|i~j.html" },
	{ "x/(a)'b,c=d@e.svg", 1, "attachment; filename=\"(a)'b,c=d@e.svg\"; "
	    "filename*=UTF-8''%28a%29%27b%2Cc%3Dd%40e.svg" },
	/* CR, LF and other controls never reach the header. */
	{ "x\r\n\ty\x7f", 1, "attachment; filename=\"x___y_\"; "
	    "filename*=UTF-8''x%0D%0A%09y%7F" },
	{ "", 0, "inline; filename=\"\"; filename*=UTF-8''" },
};

static void
test_disposition(void **state)
{
	char name[1100], *d, want[4200];
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(disp_cases); i++) {
		d = http_disposition(disp_cases[i].name,
		    disp_cases[i].attachment);
		assert_non_null(d);
		assert_string_equal(d, disp_cases[i].want);
		free(d);
	}
	/*
	 * A long name (a 1024-byte key of three-byte characters): the
	 * fallback is cut at HTTP_DISPOSITION_ASCII_MAX bytes, filename*
	 * keeps it all, and the whole stays under the 4096 bytes of one
	 * response header.
	 */
	for (i = 0; i + 3 <= 1023; i += 3)
		memcpy(name + i, "\xe2\x82\xac", 3);	/* U+20AC */
	name[i] = '\0';
	d = http_disposition(name, 1);
	assert_non_null(d);
	snprintf(want, sizeof(want), "attachment; filename=\"%.*s\"; ",
	    HTTP_DISPOSITION_ASCII_MAX, "________________________________"
	    "________________________________________________________________"
	    "________________________________________________________________"
	    "________________________________________________________________"
	    "________________________________________________________________");
	assert_memory_equal(d, want, strlen(want));
	assert_true(strlen("Content-Disposition: ") + strlen(d) <= 4096);
	assert_non_null(strstr(d, "filename*=UTF-8''%E2%82%AC"));
	assert_int_equal(strlen(strstr(d, "UTF-8''") + 7), 9 * (i / 3));
	free(d);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_pct_decode),
    cmocka_unit_test(test_parse_query),
    cmocka_unit_test(test_parse_query_limit),
    cmocka_unit_test(test_cookie_find),
    cmocka_unit_test(test_header_value_ok),
    cmocka_unit_test(test_parse_ll),
    cmocka_unit_test(test_http_date),
    cmocka_unit_test(test_parse_date_bad),
    cmocka_unit_test(test_conditionals),
    cmocka_unit_test(test_conditional),
    cmocka_unit_test(test_disposition))
