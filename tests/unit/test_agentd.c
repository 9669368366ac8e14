/*
 * Unit tests for the pure parts of the filestor-agent daemon (agent/):
 * the escaping and rate limit of untrusted log lines (logsafe.c), the
 * connection budget and per-client counts (lim.c), the agent secret
 * and enrollment answer checks (conf.c) and the cloudflared line parser
 * (supervise.c). The .c
 * files are included, as lighttpd's tests do, so no agent library is
 * needed; a fuzz harness can do the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../agent/logsafe.c"
#include "../../agent/lim.c"
#include "../../agent/conf.c"
#include "../../agent/supervise.c"
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
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
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
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(esc(cases[i].in, strlen(cases[i].in)),
		    cases[i].out);
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

static struct sockaddr *
v4(const char *ip, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sa->sin_addr), 1);
	return (struct sockaddr *)sa;
}

static struct sockaddr *
v6(const char *ip, struct sockaddr_in6 *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &sa->sin6_addr), 1);
	return (struct sockaddr *)sa;
}

static void
test_client_key(void **state)
{
	struct sockaddr_in a;
	struct sockaddr_in6 b;
	char key[LIM_KEY_MAX];

	(void)state;
	assert_true(lim_is_proxy(v4("127.0.0.1", &a)));
	assert_false(lim_is_proxy(v4("127.0.0.2", &a)));
	assert_false(lim_is_proxy(v4("10.0.0.1", &a)));
	assert_true(lim_is_proxy(v6("::1", &b)));
	assert_true(lim_is_proxy(v6("::ffff:127.0.0.1", &b)));
	assert_false(lim_is_proxy(v6("::ffff:10.0.0.1", &b)));
	assert_false(lim_is_proxy(NULL));

	/* Behind the tunnel: CF-Connecting-IP, canonical. */
	assert_int_equal(lim_client_key(v4("127.0.0.1", &a), "203.0.113.7",
	    key), 0);
	assert_string_equal(key, "203.0.113.7");
	assert_int_equal(lim_client_key(v6("::1", &b), "2001:DB8:0:0::1",
	    key), 0);
	assert_string_equal(key, "2001:db8::1");
	/* Not an address: the peer. */
	assert_int_equal(lim_client_key(v4("127.0.0.1", &a), "evil\r\nx",
	    key), 0);
	assert_string_equal(key, "127.0.0.1");
	assert_int_equal(lim_client_key(v4("127.0.0.1", &a), NULL, key), 0);
	assert_string_equal(key, "127.0.0.1");
	/* Anyone else cannot choose their key with a header. */
	assert_int_equal(lim_client_key(v4("10.1.2.3", &a), "203.0.113.7",
	    key), 0);
	assert_string_equal(key, "10.1.2.3");
	assert_int_equal(lim_client_key(v4("127.0.0.2", &a), "1.2.3.4",
	    key), 0);
	assert_string_equal(key, "127.0.0.2");
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
	    "abcdefghijklmnop", "a.b-c_d~e+f/g0123", "abcdefghijklmnop==",
	    NULL };
	static const char *bad[] = { "", "short", "abc\r\nX-Injected: 1",
	    "fsa_0123456789abcdef\r\nX-Injected: 1", "fsa_0123456789 abcdef",
	    "fsa_0123456789\tabcdef", "fsa_0123456789abcdef\x7f",
	    "fsa_0123456789abcdé", "================", "abcdefghijklmnop=x",
	    "fsa_0123456789abcdef\"", "fsa_0123456789,abcdef", NULL };
	char big[CONF_SECRET_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; good[i] != NULL; i++)
		assert_true(conf_secret_ok(good[i]));
	for (i = 0; bad[i] != NULL; i++)
		assert_false(conf_secret_ok(bad[i]));
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

/* --- the cloudflared line parser */

static void
test_quick_host(void **state)
{
	static const struct {
		const char	*line;
		const char	*host;	/* NULL: none */
	} cases[] = {
		{ "INF |  https://brave-tiny-words.trycloudflare.com   |",
		    "brave-tiny-words.trycloudflare.com" },
		{ "https://a.trycloudflare.com", "a.trycloudflare.com" },
		{ "https://api.trycloudflare.com/tunnel", NULL },
		{ "https://-bad.trycloudflare.com |", NULL },
		{ "https://bad-.trycloudflare.com |", NULL },
		{ "https://a.b.trycloudflare.com |", NULL },
		{ "https://x.trycloudflare.com.evil.example |", NULL },
		{ "https://x.trycloudflare.comevil |", NULL },
		{ "https://x.trycloudflare.com-x |", NULL },
		{ "https://x.trycloudflare.com/ |", "x.trycloudflare.com" },
		{ "https://UPPER.trycloudflare.com |", NULL },
		{ "https://trycloudflare.com |", NULL },
		{ "http://x.trycloudflare.com |", NULL },
		/* The first valid one counts. */
		{ "https://api.trycloudflare.com https://ok.trycloudflare.com",
		    "ok.trycloudflare.com" },
		{ "", NULL },
	};
	char host[256], label[80], line[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].host == NULL) {
			assert_false(sup_quick_host(cases[i].line, host,
			    sizeof(host)));
			continue;
		}
		assert_true(sup_quick_host(cases[i].line, host, sizeof(host)));
		assert_string_equal(host, cases[i].host);
	}
	/* 63 bytes is a label; 64 is not. */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(line, sizeof(line), "| https://%s.trycloudflare.com |", label);
	assert_true(sup_quick_host(line, host, sizeof(host)));
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(line, sizeof(line), "| https://%s.trycloudflare.com |", label);
	assert_false(sup_quick_host(line, host, sizeof(host)));
	/* An out buffer too small takes nothing. */
	assert_false(sup_quick_host("https://abc.trycloudflare.com", host, 10));
}

static void
test_line_parse(void **state)
{
	struct sup_line pl;

	(void)state;
	sup_line_parse("2026-05-16T15:40:16Z INF Registered tunnel connection "
	    "connIndex=0 connection=6a37 event=0 ip=198.41.192.7 "
	    "location=ams01 protocol=quic", &pl);
	assert_int_equal(pl.registered, 1);
	assert_false(pl.reason);
	sup_line_parse("INF Connection 6a37-aa registered connIndex=0", &pl);
	assert_int_equal(pl.registered, 1);
	sup_line_parse("INF Unregistered tunnel connection connIndex=0", &pl);
	assert_int_equal(pl.registered, -1);
	sup_line_parse("2026-05-16T15:40:16Z ERR Connection terminated "
	    "connIndex=0", &pl);
	assert_int_equal(pl.registered, -1);
	assert_true(pl.reason);
	sup_line_parse("INF Starting metrics server on 127.0.0.1:20241/metrics",
	    &pl);
	assert_string_equal(pl.metrics_addr, "127.0.0.1:20241");
	sup_line_parse("INF Starting metrics server on [::1]:20241/metrics",
	    &pl);
	assert_string_equal(pl.metrics_addr, "[::1]:20241");
	/* Escaped junk is no address. */
	sup_line_parse("INF Starting metrics server on \\x1b[2J:1/metrics", &pl);
	assert_string_equal(pl.metrics_addr, "");
	sup_line_parse("INF Starting metrics server on ", &pl);
	assert_string_equal(pl.metrics_addr, "");
	sup_line_parse("Incorrect Usage: flag provided but not defined: "
	    "-metrics", &pl);
	assert_true(pl.incorrect_usage);
	assert_true(pl.reason);
	sup_line_parse("ERR Error unmarshaling QuickTunnel response: error "
	    "code: 1015 status_code=\"429 Too Many Requests\"", &pl);
	assert_true(pl.rate_limited);
	sup_line_parse("ERR Register tunnel error from server side error="
	    "\"Unauthorized: Invalid tunnel secret\" connIndex=0", &pl);
	assert_true(pl.unauthorized);
	sup_line_parse("Provided Tunnel token is not valid.", &pl);
	assert_true(pl.reason);
	/* The URL only from a box row. */
	sup_line_parse("INF |  https://a-b.trycloudflare.com  |", &pl);
	assert_string_equal(pl.quick_host, "a-b.trycloudflare.com");
	sup_line_parse("ERR failed to request quick Tunnel: Post "
	    "\"https://x.trycloudflare.com/tunnel\"", &pl);
	assert_string_equal(pl.quick_host, "");
	assert_true(pl.reason);
	sup_line_parse("", &pl);
	assert_false(pl.incorrect_usage || pl.rate_limited || pl.unauthorized ||
	    pl.registered || pl.reason);
}

/* --- a NUL in a download token (common/agent.c) */

static void
test_token_nul(void **state)
{
	static const unsigned char key[AGENT_KEY_LEN] = { 1, 2, 3 };
	static const char *aid = "11111111-2222-4333-8444-555555555555";
	char payload[256], *t, *path = NULL;
	long long exp = (long long)time(NULL) + 60;

	(void)state;
	/* "\u0000" would cut "p" (or "a") short: the token is refused. */
	snprintf(payload, sizeof(payload), "{\"p\":\"/r/a.txt\\u0000/../x\","
	    "\"a\":\"%s\",\"exp\":%lld}", aid, exp);
	t = tok_sign(key, sizeof(key), payload);
	assert_non_null(t);
	assert_int_equal(agent_tok_verify(key, t, aid, time(NULL), &path),
	    AGENT_TOK_MALFORMED);
	assert_null(path);
	free(t);
	snprintf(payload, sizeof(payload), "{\"p\":\"/r/a.txt\","
	    "\"a\":\"%s\\u0000x\",\"exp\":%lld}", aid, exp);
	t = tok_sign(key, sizeof(key), payload);
	assert_int_equal(agent_tok_verify(key, t, aid, time(NULL), &path),
	    AGENT_TOK_MALFORMED);
	free(t);
	/* An escaped backslash before "u0000" is no NUL: read as text. */
	snprintf(payload, sizeof(payload), "{\"p\":\"/r/a\\\\u0000\","
	    "\"a\":\"%s\",\"exp\":%lld}", aid, exp);
	t = tok_sign(key, sizeof(key), payload);
	assert_int_equal(agent_tok_verify(key, t, aid, time(NULL), &path),
	    AGENT_TOK_OK);
	assert_string_equal(path, "/r/a\\u0000");
	assert_false(agent_path_ok(path, strlen(path)));	/* backslash */
	free(path);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_bounds),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_client_key),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_enroll_answer),
		cmocka_unit_test(test_quick_host),
		cmocka_unit_test(test_line_parse),
		cmocka_unit_test(test_token_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
