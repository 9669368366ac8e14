/*
 * Unit tests for the cloudflared line parser (agent/cflog.c): one line
 * of cloudflared's output in, one event out. The .c file is included,
 * as test_agentd.c does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include "../../agent/cflog.c"

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
			assert_false(cflog_quick_host(cases[i].line, host,
			    sizeof(host)));
			continue;
		}
		assert_true(cflog_quick_host(cases[i].line, host, sizeof(host)));
		assert_string_equal(host, cases[i].host);
	}
	/* 63 bytes is a label; 64 is not. */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(line, sizeof(line), "| https://%s.trycloudflare.com |", label);
	assert_true(cflog_quick_host(line, host, sizeof(host)));
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(line, sizeof(line), "| https://%s.trycloudflare.com |", label);
	assert_false(cflog_quick_host(line, host, sizeof(host)));
	/* An out buffer too small takes nothing. */
	assert_false(cflog_quick_host("https://abc.trycloudflare.com", host, 10));
}

static void
test_line_parse(void **state)
{
	struct cflog_event pl;

	(void)state;
	cflog_parse("2026-05-16T15:40:16Z INF Registered tunnel connection "
	    "connIndex=0 connection=6a37 event=0 ip=198.41.192.7 "
	    "location=ams01 protocol=quic", &pl);
	assert_int_equal(pl.registered, 1);
	assert_false(pl.reason);
	cflog_parse("INF Connection 6a37-aa registered connIndex=0", &pl);
	assert_int_equal(pl.registered, 1);
	cflog_parse("INF Unregistered tunnel connection connIndex=0", &pl);
	assert_int_equal(pl.registered, -1);
	cflog_parse("2026-05-16T15:40:16Z ERR Connection terminated "
	    "connIndex=0", &pl);
	assert_int_equal(pl.registered, -1);
	assert_true(pl.reason);
	cflog_parse("INF Starting metrics server on 127.0.0.1:20241/metrics",
	    &pl);
	assert_string_equal(pl.metrics_addr, "127.0.0.1:20241");
	cflog_parse("INF Starting metrics server on [::1]:20241/metrics",
	    &pl);
	assert_string_equal(pl.metrics_addr, "[::1]:20241");
	/* Escaped junk is no address. */
	cflog_parse("INF Starting metrics server on \\x1b[2J:1/metrics", &pl);
	assert_string_equal(pl.metrics_addr, "");
	cflog_parse("INF Starting metrics server on ", &pl);
	assert_string_equal(pl.metrics_addr, "");
	cflog_parse("Incorrect Usage: flag provided but not defined: "
	    "-metrics", &pl);
	assert_true(pl.incorrect_usage);
	assert_true(pl.reason);
	cflog_parse("ERR Error unmarshaling QuickTunnel response: error "
	    "code: 1015 status_code=\"429 Too Many Requests\"", &pl);
	assert_true(pl.rate_limited);
	cflog_parse("ERR Register tunnel error from server side error="
	    "\"Unauthorized: Invalid tunnel secret\" connIndex=0", &pl);
	assert_true(pl.unauthorized);
	cflog_parse("Provided Tunnel token is not valid.", &pl);
	assert_true(pl.reason);
	/* The URL only from a box row. */
	cflog_parse("INF |  https://a-b.trycloudflare.com  |", &pl);
	assert_string_equal(pl.quick_host, "a-b.trycloudflare.com");
	cflog_parse("ERR failed to request quick Tunnel: Post "
	    "\"https://x.trycloudflare.com/tunnel\"", &pl);
	assert_string_equal(pl.quick_host, "");
	assert_true(pl.reason);
	cflog_parse("", &pl);
	assert_false(pl.incorrect_usage || pl.rate_limited || pl.unauthorized ||
	    pl.registered || pl.reason);
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_quick_host),
    cmocka_unit_test(test_line_parse))
