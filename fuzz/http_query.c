/*
 * libFuzzer harness: percent-decoding (http_pct_decode) and query
 * strings (http_parse_query). The first byte picks the mode and the
 * parameter cap, the rest is the text.
 *
 * Properties: the decoder agrees with a plain reference decoder written
 * here from RFC 3986 §2.1 (exactly two hex digits after '%', '+' a space
 * in a query); a query parses into at most max parameters whose names
 * hold no NUL, and each pair decodes to what the reference decoder makes
 * of it.
 */
#include "fuzz.h"
#include "http.h"

/* A hex digit's value, or -1; another way than the decoder's. */
static int
hexv(unsigned char c)
{
	static const char digits[] = "0123456789abcdef0123456789ABCDEF";
	const char *p;

	p = c != '\0' ? strchr(digits, c) : NULL;
	return p != NULL ? (int)(p - digits) % 16 : -1;
}

/* The reference: out (len bytes) and its length *n, or -1 when
   malformed. */
static int
ref_decode(const char *in, size_t len, int plus, char *out, size_t *n)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '%') {
			if (len - i < 3)
				return -1;
			if (hexv((unsigned char)in[i + 1]) < 0 ||
			    hexv((unsigned char)in[i + 2]) < 0)
				return -1;
			out[o++] = (char)(hexv((unsigned char)in[i + 1]) << 4 |
			    hexv((unsigned char)in[i + 2]));
			i += 2;
		} else
			out[o++] = plus && in[i] == '+' ? ' ' : in[i];
	}
	*n = o;
	return 0;
}

/* got (glen bytes, NULL for a refusal) is in[0..len) decoded. */
static void
check_same(const char *in, size_t len, int plus, const char *got,
    size_t glen)
{
	char *want;
	size_t wlen = 0;
	int wrc;

	want = malloc(len + 1);
	FUZZ_CHECK(want != NULL);
	wrc = ref_decode(in, len, plus, want, &wlen);
	FUZZ_CHECK((got == NULL) == (wrc == -1));
	if (got != NULL) {
		FUZZ_CHECK(glen == wlen && glen <= len);
		FUZZ_CHECK(memcmp(got, want, glen) == 0 && got[glen] == '\0');
	}
	free(want);
}

static void
check_decode(const char *in, size_t len, int plus)
{
	char *got;
	size_t glen = 0;

	got = http_pct_decode(in, len, plus, &glen);
	check_same(in, len, plus, got, glen);
	free(got);
}

static void
check_query(const char *qs, size_t max)
{
	struct http_param params[HTTP_MAX_QUERY_PARAMS];
	const char *p, *amp, *eq;
	size_t i, seg;
	int n;

	n = http_parse_query(qs, params, max);
	if (n == -1)
		return;
	FUZZ_CHECK(n >= 0 && (size_t)n <= max);
	/* Walk the pairs again: each decodes as the parser says. */
	for (i = 0, p = qs; *p != '\0'; p += seg) {
		if (*p == '&') {
			seg = 1;
			continue;
		}
		amp = strchr(p, '&');
		seg = amp != NULL ? (size_t)(amp - p) : strlen(p);
		FUZZ_CHECK(i < (size_t)n);
		eq = memchr(p, '=', seg);
		FUZZ_CHECK(params[i].name != NULL && params[i].value != NULL);
		check_same(p, eq != NULL ? (size_t)(eq - p) : seg, 1,
		    params[i].name, strlen(params[i].name));
		FUZZ_CHECK(params[i].name[0] != '\0');
		if (eq == NULL)
			FUZZ_CHECK(params[i].value_len == 0 &&
			    params[i].value[0] == '\0');
		else
			check_same(eq + 1, seg - (size_t)(eq + 1 - p), 1,
			    params[i].value, params[i].value_len);
		free(params[i].name);
		free(params[i].value);
		i++;
	}
	FUZZ_CHECK(i == (size_t)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	s = fuzz_str(data + 1, size - 1);
	if (data[0] & 0x80)
		check_query(s, 1 + data[0] % HTTP_MAX_QUERY_PARAMS);
	else
		check_decode((const char *)data + 1, size - 1, data[0] & 1);
	free(s);
	return 0;
}
