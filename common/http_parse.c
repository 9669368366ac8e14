/*
 * http_parse: the pure HTTP parsers and formatters (see http_parse.h).
 * Nothing here reads a request or writes a response.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_parse.h"

/* 9999-12-31T23:59:59Z: the last instant with a four-digit year. */
#define HTTP_DATE_MAX		253402300799LL

static const char days[7][4] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
http_pct_decode(const char *in, size_t len, int plus_is_space,
    size_t *outlen)
{
	char *out = NULL, *o;
	size_t i;
	int hi, lo;

	if ((in == NULL && len > 0) || len == SIZE_MAX)
		goto fail;
	out = malloc(len + 1);
	if (out == NULL)
		goto fail;
	o = out;
	for (i = 0; i < len; i++) {
		if (in[i] == '%') {
			/* RFC 3986 §2.1: exactly two hex digits follow. */
			hi = len - i >= 3 ? hexval(in[i + 1]) : -1;
			lo = len - i >= 3 ? hexval(in[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				goto fail;
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (in[i] == '+' && plus_is_space)
			*o++ = ' ';
		else
			*o++ = in[i];
	}
	*o = '\0';
	if (outlen != NULL)
		*outlen = (size_t)(o - out);
	return out;
fail:
	free(out);
	return NULL;
}

void
http_params_free(struct http_param *params, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(params[i].name);
		free(params[i].value);
		params[i].name = NULL;
		params[i].value = NULL;
		params[i].value_len = 0;
	}
}

/*
 * application/x-www-form-urlencoded as browsers send it: pairs split on
 * '&', empty pairs skipped, a pair without '=' has an empty value.
 */
int
http_parse_query_why(const char *qs, struct http_param *params, size_t max,
    const char **why)
{
	const char *p, *amp, *eq, *v;
	size_t n = 0, seglen, nlen, vlen, namelen;
	int rc = -1;

	*why = NULL;
	if (max > INT_MAX)
		max = INT_MAX;
	if (qs == NULL) {
		rc = 0;
		goto out;
	}
	for (p = qs; *p != '\0'; p += seglen) {
		if (*p == '&') {
			seglen = 1;
			continue;
		}
		amp = strchr(p, '&');
		seglen = amp != NULL ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', seglen);
		nlen = eq != NULL ? (size_t)(eq - p) : seglen;
		v = eq != NULL ? eq + 1 : p + seglen;
		vlen = eq != NULL ? seglen - nlen - 1 : 0;
		if (nlen == 0) {
			*why = "query parameter with an empty name";
			goto fail;
		}
		if (n == max) {
			*why = "too many query parameters";
			goto fail;
		}
		params[n].value = NULL;
		params[n].value_len = 0;
		params[n].name = http_pct_decode(p, nlen, 1, &namelen);
		if (params[n].name == NULL) {
			*why = "malformed percent-encoding in query string";
			goto fail;
		}
		n++;
		/* A value may hold a NUL (value_len says so); a name may not,
		   or two different names would compare equal. */
		if (strlen(params[n - 1].name) != namelen) {
			*why = "query parameter name contains a NUL byte";
			goto fail;
		}
		params[n - 1].value = http_pct_decode(v, vlen, 1,
		    &params[n - 1].value_len);
		if (params[n - 1].value == NULL) {
			*why = "malformed percent-encoding in query string";
			goto fail;
		}
	}
	rc = (int)n;
	goto out;
fail:
	http_params_free(params, n);
out:
	return rc;
}

int
http_parse_query(const char *qs, struct http_param *params, size_t max)
{
	const char *why;

	return http_parse_query_why(qs, params, max, &why);
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * RFC 6265 §5.4 serializes cookies as "a=1; b=2". Be lenient about the
 * spaces (§5.2 trims them) but exact about the name: "xfilestor_session"
 * must never match "filestor_session".
 */
char *
http_cookie_find(const char *header, const char *name)
{
	const char *p, *end, *ns, *ne, *eq, *vs, *ve;
	char *val = NULL;
	size_t nlen;

	if (header == NULL || name == NULL || *name == '\0')
		goto out;
	nlen = strlen(name);
	for (p = header; *p != '\0' && val == NULL; p = end) {
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		ns = p;
		while (ns < end && is_ows(*ns))
			ns++;
		ve = end;
		while (ve > ns && is_ows(ve[-1]))
			ve--;
		if (*end == ';')
			end++;
		eq = memchr(ns, '=', (size_t)(ve - ns));
		if (eq == NULL)
			continue;
		ne = eq;
		while (ne > ns && is_ows(ne[-1]))
			ne--;
		if ((size_t)(ne - ns) != nlen || memcmp(ns, name, nlen) != 0)
			continue;
		vs = eq + 1;
		while (vs < ve && is_ows(*vs))
			vs++;
		/* RFC 6265 §4.1.1: cookie-value may be a DQUOTE'd string. */
		if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
			vs++;
			ve--;
		}
		val = strndup(vs, (size_t)(ve - vs));
		if (val == NULL)
			break;
	}
out:
	return val;
}

int
http_header_value_ok(const char *value)
{
	const unsigned char *p;

	if (value == NULL)
		return 0;
	/* RFC 9110 §5.5: field-content is VCHAR, SP, HTAB and obs-text.
	   CR and LF would split the response; the other controls have no
	   business in a header either. */
	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

int
http_parse_ll(const char *s, long long min, long long max, long long *out)
{
	const char *p;
	long long v = 0;
	int neg = 0, d, rc = -1;

	if (s == NULL || out == NULL || min > max)
		goto out;
	p = s;
	/* strtonum(3), but stricter: no sign unless negatives are allowed,
	   never '+', no spaces. */
	if (*p == '-') {
		if (min >= 0)
			goto out;
		neg = 1;
		p++;
	}
	if (*p == '\0')
		goto out;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto out;
		d = *p - '0';
		/* Accumulate negatives as negatives, so LLONG_MIN fits. */
		if (neg) {
			if (v < (LLONG_MIN + d) / 10)
				goto out;
			v = v * 10 - d;
		} else {
			if (v > (LLONG_MAX - d) / 10)
				goto out;
			v = v * 10 + d;
		}
	}
	if (v < min || v > max)
		goto out;
	*out = v;
	rc = 0;
out:
	return rc;
}

/* v as exactly width decimal digits (v is in range: see http_date). */
static void
put_digits(char *p, int v, int width)
{
	while (width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* RFC 9110 §5.6.7: IMF-fixdate, always GMT, English names whatever the
   locale says. */
void
http_date(long long t, char out[30])
{
	struct tm tm;
	time_t tt;

	if (t < 0)
		t = 0;
	if (t > HTTP_DATE_MAX)
		t = HTTP_DATE_MAX;
	tt = (time_t)t;
	/* Fixed columns, filled in place: no format can overflow out. The
	   template is what a (never seen) gmtime_r failure leaves. */
	memcpy(out, "Thu, 01 Jan 1970 00:00:00 GMT", 30);
	if (gmtime_r(&tt, &tm) == NULL)
		return;
	memcpy(out, days[tm.tm_wday], 3);
	put_digits(out + 5, tm.tm_mday, 2);
	memcpy(out + 8, months[tm.tm_mon], 3);
	put_digits(out + 12, tm.tm_year + 1900, 4);
	put_digits(out + 17, tm.tm_hour, 2);
	put_digits(out + 20, tm.tm_min, 2);
	put_digits(out + 23, tm.tm_sec, 2);
}

static int
digits(const char *s, size_t n)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
name_index(const char *s, const char (*names)[4], int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (memcmp(s, names[i], 3) == 0)
			return i;
	return -1;
}

static int
days_in_month(int mon, int year)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 1 && leap ? 29 : mdays[mon];
}

/*
 * Only IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT". RFC 9110 §5.6.7 also
 * asks recipients to take rfc850 and asctime dates; nobody sends them
 * any more, and an unparsable If-Modified-Since is simply ignored
 * (§13.1.3), which is always safe.
 */
long long
http_parse_date(const char *s)
{
	struct tm tm;
	time_t t;
	long long rc = -1;
	int wday, mday, mon, year, hh, mm, ss;

	if (s == NULL || strlen(s) != 29)
		goto out;
	if (s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    memcmp(s + 25, " GMT", 4) != 0)
		goto out;
	wday = name_index(s, days, 7);
	mon = name_index(s + 8, months, 12);
	mday = digits(s + 5, 2);
	year = digits(s + 12, 4);
	hh = digits(s + 17, 2);
	mm = digits(s + 20, 2);
	ss = digits(s + 23, 2);
	/* Before 1970 would be negative, which callers cannot tell from
	   an error; no stored object is that old. 60 is a leap second. */
	if (wday < 0 || mon < 0 || year < 1970 || mday < 1 ||
	    mday > days_in_month(mon, year) || hh < 0 || hh > 23 ||
	    mm < 0 || mm > 59 || ss < 0 || ss > 60)
		goto out;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = mday;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1)
		goto out;
	/* The day name must agree with the date: 1970-01-01 was a
	   Thursday. (t - ss keeps a leap second on its own day.) */
	if (((long long)(t - ss) / 86400 + 4) % 7 != wday)
		goto out;
	rc = (long long)t;
out:
	return rc;
}

/*
 * A backslash run of odd length before "u0000" is the escape (an even
 * run is escaped backslashes).
 */
int
http_json_has_nul(const char *s, size_t len)
{
	size_t i, j, run;

	for (i = 0; i + 6 <= len; i++) {
		if (s[i] != '\\' || s[i + 1] != 'u' || s[i + 2] != '0' ||
		    s[i + 3] != '0' || s[i + 4] != '0' || s[i + 5] != '0')
			continue;
		for (run = 0, j = i + 1; j > 0 && s[j - 1] == '\\'; j--)
			run++;
		if (run % 2 == 1)
			return 1;
	}
	return 0;
}

int
http_etag_match(const char *list, const char *etag)
{
	const char *p = list;
	size_t n = strlen(etag);

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' ||
		    p[n] == ' ' || p[n] == '\t'))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

int
http_if_range_holds(const char *ifr, const char *etag, long long mtime)
{
	if (ifr[0] == '"')
		return strcmp(ifr, etag) == 0;
	if (strncmp(ifr, "W/", 2) == 0)
		return 0;	/* weak tags never validate a range */
	return http_parse_date(ifr) == mtime;
}

void
http_cond_request(struct http_cond *c,
    const char *(*get)(void *arg, const char *name), void *arg)
{
	memset(c, 0, sizeof(*c));
	c->if_none_match = get(arg, "If-None-Match");
	c->if_modified_since = get(arg, "If-Modified-Since");
	c->range = get(arg, "Range");
	c->if_range = get(arg, "If-Range");
}

enum http_cond_result
http_conditional(const struct http_cond *c, long long *start, long long *len)
{
	enum range_result rr = RANGE_NONE;
	long long ims;

	*start = 0;
	*len = c->size;
	/* §13.1.3: If-Modified-Since counts only without If-None-Match; an
	   unparsable date (-1) is ignored. */
	if (c->if_none_match != NULL) {
		if (http_etag_match(c->if_none_match, c->etag))
			return HTTP_COND_NOT_MODIFIED;
	} else if (c->if_modified_since != NULL && c->mtime >= 0) {
		ims = http_parse_date(c->if_modified_since);
		if (ims >= 0 && ims >= c->mtime)
			return HTTP_COND_NOT_MODIFIED;
	}
	if (c->range == NULL)
		return HTTP_COND_WHOLE;
	if (c->if_range == NULL ||
	    http_if_range_holds(c->if_range, c->etag, c->mtime))
		rr = range_parse(c->range, c->size, start, len);
	switch (rr) {
	case RANGE_OK:
		return HTTP_COND_PARTIAL;
	case RANGE_UNSATISFIABLE:
		*start = 0;
		*len = c->size;
		return HTTP_COND_UNSATISFIABLE;
	default:
		*start = 0;
		*len = c->size;
		return HTTP_COND_IGNORED;
	}
}

/* RFC 8187 §3.2.1 attr-char: ALPHA DIGIT and !#$&+-.^_`|~ */
static int
attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$&+-.^_`|~",
	    c) != NULL);
}

char *
http_disposition(const char *name, int attachment)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *base = strrchr(name, '/');
	const char *kind = attachment ? "attachment" : "inline";
	char *out, *o;
	size_t n, i, fb, cap;
	unsigned char c;

	base = base != NULL ? base + 1 : name;
	n = strlen(base);
	fb = n < HTTP_DISPOSITION_ASCII_MAX ? n : HTTP_DISPOSITION_ASCII_MAX;
	/* kind; filename="<fb>"; filename*=UTF-8''<3n> */
	if (n > (SIZE_MAX - 64) / 4)
		return NULL;
	cap = strlen(kind) + 12 + fb + 20 + 3 * n + 1;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	o = out;
	o += snprintf(o, cap, "%s; filename=\"", kind);
	for (i = 0; i < fb; i++) {
		c = (unsigned char)base[i];
		/*
		 * The quoted fallback (RFC 6266 §4.3, for clients that do not
		 * read filename*) keeps printable ASCII without quote and
		 * backslash, so no escaping is needed. It is cut so that the
		 * header stays within what a server passes on.
		 */
		*o++ = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ?
		    (char)c : '_';
	}
	memcpy(o, "\"; filename*=UTF-8''", 20);
	o += 20;
	for (i = 0; i < n; i++) {
		c = (unsigned char)base[i];
		if (attr_char(c)) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}
