/*
 * http_parse: the pure HTTP parsers and formatters: numbers, dates,
 * query strings, percent-decoding, cookies, ETags, the conditional-GET
 * decision and Content-Disposition. No FastCGI and no cJSON, so that the
 * agent, the tools, the settings and the store adapters, unit tests and
 * fuzzers use them without the request layer (http.h, which includes
 * this header).
 *
 * Every function is total: any input, however malformed, gets an answer.
 */
#ifndef FS_HTTP_PARSE_H
#define FS_HTTP_PARSE_H

#include <stddef.h>

#include "range.h"

/* Bytes of the quoted filename="..." fallback of http_disposition. */
#define HTTP_DISPOSITION_ASCII_MAX	255

struct http_param {
	char	*name;		/* decoded, NUL terminated */
	char	*value;		/* decoded, NUL terminated; a decoded %00
				   stays in it: use value_len, not strlen */
	size_t	 value_len;
};

/*
 * Percent-decode in[0..len) into a malloc'd buffer (NUL terminated; the
 * decoded length in *outlen). plus_is_space for query strings. Returns
 * NULL on a malformed escape ("%zz", "%4").
 */
char		*http_pct_decode(const char *in, size_t len, int plus_is_space,
		    size_t *outlen);
/*
 * Parse a query string into params (at most max). Returns the count, or -1
 * on a malformed escape or too many parameters. Caller frees each name
 * and value (http_params_free). http_parse_query_why also names the
 * problem in *why (a static string, NULL on success).
 */
int		 http_parse_query(const char *qs, struct http_param *params,
		    size_t max);
int		 http_parse_query_why(const char *qs, struct http_param *params,
		    size_t max, const char **why);
/* Free the names and values of params[0..n) and clear them. */
void		 http_params_free(struct http_param *params, size_t n);
/* Find cookie name in a Cookie header value; malloc'd value or NULL. */
char		*http_cookie_find(const char *header, const char *name);
/*
 * 1 when value may go into a header, else 0: no CR, LF or NUL, nor any
 * other control byte but HTAB (RFC 9110 §5.5).
 */
int		 http_header_value_ok(const char *value);
/*
 * 1 when the JSON text s[0..len) holds the escape "\u0000", which cJSON
 * decodes into a NUL that cuts a string short ("/a\u0000/../x" reads
 * as "/a"): refuse such text rather than act on a shortened string.
 */
int		 http_json_has_nul(const char *s, size_t len);
/*
 * Bounded integer parse, strtonum style: whole string, decimal, within
 * [min, max]. 0 and *out set, or -1.
 */
int		 http_parse_ll(const char *s, long long min, long long max,
		    long long *out);

/* RFC 7231 IMF-fixdate of t into out[30]. */
void		 http_date(long long t, char out[30]);
/* Parse an IMF-fixdate; -1 when malformed. */
long long	 http_parse_date(const char *s);
/*
 * Conditional requests (RFC 9110 §13.1). http_etag_match: does an
 * If-None-Match list hold etag (a quoted strong tag), by the weak
 * comparison (W/ prefixes ignored), "*" matching anything?
 * http_if_range_holds: may a Range be honoured under this If-Range: the
 * same strong tag, or exactly the representation's date (epoch seconds)?
 * A weak tag never validates a range.
 */
int		 http_etag_match(const char *list, const char *etag);
int		 http_if_range_holds(const char *ifr, const char *etag,
		    long long mtime);

/*
 * The conditional-GET decision for a GET or HEAD of one representation,
 * shared by the storage programs and the agent: the request's validators
 * and Range (NULL when absent) against the representation's strong ETag,
 * date and size.
 */
struct http_cond {
	const char	*if_none_match;
	const char	*if_modified_since;
	const char	*range;
	const char	*if_range;
	const char	*etag;		/* strong, quoted: "\"abc\"" */
	long long	 mtime;		/* epoch seconds; -1: no Last-Modified
					   (If-Modified-Since is ignored) */
	long long	 size;		/* bytes of the whole representation */
};

enum http_cond_result {
	HTTP_COND_NOT_MODIFIED,	/* 304 */
	HTTP_COND_WHOLE,	/* 200, no Range was sent */
	HTTP_COND_IGNORED,	/* 200, a Range was sent and is ignored
				   (malformed, several ranges, an If-Range
				   that does not hold): RFC 9110 §14.2 */
	HTTP_COND_PARTIAL,	/* 206 */
	HTTP_COND_UNSATISFIABLE	/* 416, Content-Range: bytes * /size */
};

/*
 * Zero c and fill its four request headers through get(arg, name)
 * ("If-None-Match"...; NULL when absent). The caller sets the rest.
 */
void		 http_cond_request(struct http_cond *c,
		    const char *(*get)(void *arg, const char *name), void *arg);
/*
 * RFC 9110 §13.2.2 order: If-None-Match (weak comparison) decides when
 * present, else If-Modified-Since (not after mtime: 304); then Range under
 * If-Range. *start and *len are the bytes to send: the range for
 * HTTP_COND_PARTIAL, the whole representation otherwise.
 */
enum http_cond_result http_conditional(const struct http_cond *c,
		    long long *start, long long *len);

/*
 * A Content-Disposition value (RFC 6266) for the last '/' segment of
 * name: "attachment" or "inline", a quoted filename= fallback of printable
 * ASCII (anything else, '"' and '\' become '_'; cut to
 * HTTP_DISPOSITION_ASCII_MAX bytes) and the exact name in filename*=
 * (RFC 8187: UTF-8, every byte but attr-char percent-encoded). Never
 * holds CR, LF or another control. malloc'd (caller frees), or NULL when
 * out of memory.
 */
char		*http_disposition(const char *name, int attachment);

#endif
