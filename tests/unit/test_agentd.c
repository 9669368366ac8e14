/*
 * Unit tests for the pure parts of the filestor-agent daemon (agent/):
 * the escaping and rate limit of untrusted log lines (logsafe.c), the
 * connection budget and per-client counts (lim.c), the agent secret
 * and enrollment answer checks (conf.c). The .c files are included, as
 * lighttpd's tests do, so no agent library is needed; a fuzz harness can
 * do the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include "../../agent/logsafe.c"
#include "../../agent/lim.c"
#include "../../agent/conf.c"
#include "tok.h"

/* --- logsafe_escape */

static const char *
esc(const char *in, size_t n)
{
	static char out[1024];

	logsafe_escape(in, n, out, sizeof(out));
	return out;
}
#define ESC(s) esc((s), sizeof(s) - 1)

static void
test_escape(void **state)
{
	static const struct strpair cases[] = {	/* in, out */
		{ "plain text: a=b \"q\" \\", "plain text: a=b \"q\" \\" },
		{ "tab\tkept", "tab\tkept" },
		{ "\033[2J\033]0;PWNED\007", "\\x1b[2J\\x1b]0;PWNED\\x07" },
		{ "cr\rlf\nbs\b del\x7f", "cr\\x0dlf\\x0abs\\x08 del\\x7f" },
		{ "été 日本 😀", "été 日本 😀" },		/* valid UTF-8 */
		{ "c1 \xc2\x9b", "c1 \\xc2\\x9b" },		/* U+009B (CSI) */
		{ "bad \xff \xc0\xaf", "bad \\xff \\xc0\\xaf" }, /* overlong */
		{ "cut \xe6\x97", "cut \\xe6\\x97" },		/* truncated */
		{ "surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80" },
		{ "", "" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++)
		assert_string_equal(esc(cases[i].a, strlen(cases[i].a)),
		    cases[i].b);
	/* A NUL inside the length is escaped too, not a terminator. */
	assert_string_equal(ESC("a\0b"), "a\\x00b");
}

static void
test_escape_bounds(void **state)
{
	char in[256], out[4 * sizeof(in) + 1], small[8];
	size_t i, n;

	(void)state;
	/* Every byte value: 4 * n + 1 is always enough, nothing raw. */
	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)i;
	n = logsafe_escape(in, sizeof(in), out, sizeof(out));
	assert_int_equal(n, strlen(out));
	for (i = 0; i < n; i++)
		assert_true(out[i] == '\t' || ((unsigned char)out[i] >= 0x20 &&
		    (unsigned char)out[i] < 0x7f));
	/* A small buffer: NUL-terminated, an escape never cut in half. */
	n = logsafe_escape("ab\033cd", 5, small, sizeof(small));
	assert_string_equal(small, "ab\\x1bc");
	assert_int_equal(n, 7);
	n = logsafe_escape("abcd\033", 5, small, 7);
	assert_string_equal(small, "abcd");
	n = logsafe_escape("x", 1, small, 1);
	assert_int_equal(n, 0);
	assert_string_equal(small, "");
}

/* --- logsafe_check */

static void
test_limit(void **state)
{
	struct logsafe_limit l;
	unsigned d, r;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.max = 3;
	l.window_ms = 1000;
	assert_true(logsafe_check(&l, "a", 0, &d, &r));
	assert_true(logsafe_check(&l, "b", 1, &d, &r));
	/* Repeats are held back and counted, not charged to the rate. */
	assert_false(logsafe_check(&l, "b", 2, &d, &r));
	assert_false(logsafe_check(&l, "b", 3, &d, &r));
	assert_true(logsafe_check(&l, "c", 4, &d, &r));
	assert_int_equal(r, 2);
	assert_int_equal(d, 0);
	/* Over the rate: dropped until the window ends. */
	assert_false(logsafe_check(&l, "d", 5, &d, &r));
	assert_false(logsafe_check(&l, "e", 999, &d, &r));
	assert_true(logsafe_check(&l, "f", 1004, &d, &r));
	assert_int_equal(d, 2);
	assert_int_equal(r, 0);
	/* The counts were reported once. */
	assert_true(logsafe_check(&l, "g", 1005, &d, &r));
	assert_int_equal(d, 0);
	/* Two lines in turn are not repeats: the rate holds them. */
	for (d = 0; d < 10; d++)
		logsafe_check(&l, d % 2 ? "x" : "y", 1006, &r, &r);
	assert_false(logsafe_check(&l, "z", 1007, &d, &r));
}

/* --- lim */

static void
test_budget(void **state)
{
	unsigned d, c;

	(void)state;
	lim_budget(1024, &d, &c);
	assert_int_equal(d, (1024 - LIM_FD_RESERVE - LIM_HEALTH_RESERVE) / 2);
	assert_int_equal(c, d + LIM_HEALTH_RESERVE);
	/* Two descriptors a download, one a connection, the reserve kept. */
	assert_true(2 * d + LIM_HEALTH_RESERVE + LIM_FD_RESERVE <= 1024);
	lim_budget(200, &d, &c);
	assert_int_equal(d, 36);
	assert_int_equal(c, 100);
	lim_budget(65536, &d, &c);
	assert_int_equal(d, LIM_DOWNLOADS_MAX);
	lim_budget(~0ULL, &d, &c);
	assert_int_equal(d, LIM_DOWNLOADS_MAX);
	lim_budget(10, &d, &c);
	assert_int_equal(d, 1);
	lim_budget(0, &d, &c);
	assert_int_equal(d, 1);
}

/* ip as a socket address in ss: IPv6 when it holds a ':'. */
static struct sockaddr *
addr(const char *ip, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':') != NULL) {
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return (struct sockaddr *)ss;
}

static void
test_client_key(void **state)
{
	static const struct {
		const char	*peer;
		const char	*hdr;	/* CF-Connecting-IP */
		const char	*want;
	} cases[] = {
		/* Behind the tunnel: CF-Connecting-IP, canonical. */
		{ "127.0.0.1", "203.0.113.7", "203.0.113.7" },
		{ "::1", "2001:DB8:0:0::1", "2001:db8::1" },
		/* Not an address: the peer. */
		{ "127.0.0.1", "evil\r\nx", "127.0.0.1" },
		{ "127.0.0.1", NULL, "127.0.0.1" },
		/* Anyone else cannot choose their key with a header. */
		{ "10.1.2.3", "203.0.113.7", "10.1.2.3" },
		{ "127.0.0.2", "1.2.3.4", "127.0.0.2" },
	};
	struct sockaddr_storage ss;
	char key[LIM_KEY_MAX];
	size_t i;

	(void)state;
	assert_true(lim_is_proxy(addr("127.0.0.1", &ss)));
	assert_false(lim_is_proxy(addr("127.0.0.2", &ss)));
	assert_false(lim_is_proxy(addr("10.0.0.1", &ss)));
	assert_true(lim_is_proxy(addr("::1", &ss)));
	assert_true(lim_is_proxy(addr("::ffff:127.0.0.1", &ss)));
	assert_false(lim_is_proxy(addr("::ffff:10.0.0.1", &ss)));
	assert_false(lim_is_proxy(NULL));

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(lim_client_key(addr(cases[i].peer, &ss),
		    cases[i].hdr, key), 0);
		assert_string_equal(key, cases[i].want);
	}
	assert_int_equal(lim_client_key(NULL, NULL, key), -1);
}

static void
test_table(void **state)
{
	struct lim_table *t = lim_table_new();
	char key[LIM_KEY_MAX + 8];
	int i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 3; i++)
		assert_int_equal(lim_take(t, "1.2.3.4", 3), 1);
	assert_int_equal(lim_take(t, "1.2.3.4", 3), 0);
	assert_int_equal(lim_held(t, "1.2.3.4"), 3);
	assert_int_equal(lim_take(t, "5.6.7.8", 3), 1);
	lim_give(t, "1.2.3.4");
	assert_int_equal(lim_take(t, "1.2.3.4", 3), 1);
	for (i = 0; i < 3; i++)
		lim_give(t, "1.2.3.4");
	assert_int_equal(lim_held(t, "1.2.3.4"), 0);
	/* Giving back what was not taken changes nothing. */
	lim_give(t, "9.9.9.9");
	assert_int_equal(lim_held(t, "9.9.9.9"), 0);
	assert_int_equal(lim_take(t, "x", 0), 0);
	assert_int_equal(lim_held(t, "x"), 0);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(lim_take(t, key, 3), -1);
	/* Many keys share buckets. */
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(lim_take(t, key, 1), 1);
	}
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(lim_held(t, key), 1);
		lim_give(t, key);
	}
	lim_table_free(t);	/* "5.6.7.8" still held: freed too */
	lim_table_free(NULL);
}

/* --- conf_secret_ok */

static void
test_secret(void **state)
{
	static const char *good[] = {
	    "fsa_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
	    "abcdefghijklmnop", "a.b-c_d~e+f/g0123", "abcdefghijklmnop==" };
	static const char *bad[] = { "", "short", "abc\r\nX-Injected: 1",
	    "fsa_0123456789abcdef\r\nX-Injected: 1", "fsa_0123456789 abcdef",
	    "fsa_0123456789\tabcdef", "fsa_0123456789abcdef\x7f",
	    "fsa_0123456789abcdé", "================", "abcdefghijklmnop=x",
	    "fsa_0123456789abcdef\"", "fsa_0123456789,abcdef" };
	char big[CONF_SECRET_MAX + 2];

	(void)state;
	ASSERT_SORTS(conf_secret_ok, good, bad);
	assert_false(conf_secret_ok(NULL));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(conf_secret_ok(big));
	big[CONF_SECRET_MAX] = '\0';
	assert_true(conf_secret_ok(big));
}

/* --- conf_enroll_answer */

static int
answer(const char *text, char id[37], char **secret, char *err)
{
	return conf_enroll_answer(text, strlen(text), id, secret, err, 256);
}

static void
test_enroll_answer(void **state)
{
	static const char *bad[] = {
	    "", "null", "[]", "{}", "not json",
	    "{\"agentId\":\"x\",\"agentSecret\":\"fsa_0123456789abcdef\"}",
	    "{\"agentId\":\"11111111-2222-4333-8444-555555555555\"}",
	    "{\"agentId\":\"11111111-2222-4333-8444-555555555555\","
	    "\"agentSecret\":\"abc\\r\\nX-Injected: 1\"}",
	    "{\"agentId\":\"11111111-2222-4333-8444-555555555555\","
	    "\"agentSecret\":\"\"}",
	    "{\"agentId\":\"11111111-2222-4333-8444-555555555555\","
	    "\"agentSecret\":\"fsa_0123456789abcdefgh\\u0000tail\"}",
	    "{\"agentId\":\"11111111-2222-4333-8444-555555555555\\u0000x\","
	    "\"agentSecret\":\"fsa_0123456789abcdefgh\"}",
	    "{\"agentId\":\"11111111-2222-4333-8444-555555555555\","
	    "\"agentSecret\":12345678901234567890}",
	    NULL };
	char id[37], err[256], *secret, big[70000];
	size_t i;

	(void)state;
	assert_int_equal(answer("{\"agentId\":\"11111111-2222-4333-8444-"
	    "555555555555\",\"agentSecret\":\"fsa_0123456789abcdefgh\","
	    "\"extra\":1}", id, &secret, err), 0);
	assert_string_equal(id, "11111111-2222-4333-8444-555555555555");
	assert_string_equal(secret, "fsa_0123456789abcdefgh");
	free(secret);
	for (i = 0; bad[i] != NULL; i++) {
		assert_int_equal(answer(bad[i], id, &secret, err), -1);
		assert_null(secret);
		assert_string_equal(id, "");
		/* The message never quotes what the server sent. */
		assert_null(strstr(err, "Injected"));
		assert_null(strstr(err, "tail"));
	}
	snprintf(big, sizeof(big), "{\"agentId\":\"11111111-2222-4333-8444-"
	    "555555555555\",\"agentSecret\":\"");
	i = strlen(big);
	memset(big + i, 'a', 60000);
	snprintf(big + i + 60000, sizeof(big) - i - 60000, "\"}");
	assert_int_equal(answer(big, id, &secret, err), -1);
	assert_non_null(strstr(err, "invalid agentSecret"));
	/* Not NUL-terminated: only len bytes are read. */
	assert_int_equal(conf_enroll_answer("{}xxxx", 2, id, &secret, err,
	    sizeof(err)), -1);
	assert_int_equal(conf_enroll_answer(NULL, 0, id, &secret, err,
	    sizeof(err)), -1);
}

/* --- a NUL in a download token (common/agent.c) */

/* --- a NUL in a download token (common/agent.c) */

/* agent_tok_verify now of a token signed over payload. */
static int
verify(const unsigned char *key, const char *payload, const char *aid,
    char **path)
{
	char *t = tok_sign(key, AGENT_KEY_LEN, payload);
	int rc;

	assert_non_null(t);
	rc = (int)agent_tok_verify(key, t, aid, time(NULL), path);
	free(t);
	return rc;
}

static void
test_token_nul(void **state)
{
	static const unsigned char key[AGENT_KEY_LEN] = { 1, 2, 3 };
	static const char *aid = "11111111-2222-4333-8444-555555555555";
	char payload[256], *path = NULL;
	long long exp = (long long)time(NULL) + 60;

	(void)state;
	/* "\u0000" would cut "p" (or "a") short: the token is refused. */
	snprintf(payload, sizeof(payload), "{\"p\":\"/r/a.txt\\u0000/../x\","
	    "\"a\":\"%s\",\"exp\":%lld}", aid, exp);
	assert_int_equal(verify(key, payload, aid, &path),
	    AGENT_TOK_MALFORMED);
	assert_null(path);
	snprintf(payload, sizeof(payload), "{\"p\":\"/r/a.txt\","
	    "\"a\":\"%s\\u0000x\",\"exp\":%lld}", aid, exp);
	assert_int_equal(verify(key, payload, aid, &path),
	    AGENT_TOK_MALFORMED);
	/* An escaped backslash before "u0000" is no NUL: read as text. */
	snprintf(payload, sizeof(payload), "{\"p\":\"/r/a\\\\u0000\","
	    "\"a\":\"%s\",\"exp\":%lld}", aid, exp);
	assert_int_equal(verify(key, payload, aid, &path), AGENT_TOK_OK);
	assert_string_equal(path, "/r/a\\u0000");
	assert_false(agent_path_ok(path, strlen(path)));	/* backslash */
	free(path);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_escape),
    cmocka_unit_test(test_escape_bounds),
    cmocka_unit_test(test_limit),
    cmocka_unit_test(test_budget),
    cmocka_unit_test(test_client_key),
    cmocka_unit_test(test_table),
    cmocka_unit_test(test_secret),
    cmocka_unit_test(test_enroll_answer),
    cmocka_unit_test(test_token_nul))
