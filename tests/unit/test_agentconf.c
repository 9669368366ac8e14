/*
 * Unit tests for the agent's config parser (agent/conf.c): config.json
 * as text (conf_parse, what conf_load does once the file is read) and
 * the tunnel supervisor's settings (conf_tunnel_parse). The .c file is
 * included, as test_agentd.c does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include "../../agent/conf.c"

#define AID	"11111111-2222-4333-8444-555555555555"
#define KEY	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define BASE	"\"agentId\":\"" AID "\",\"allowedRoots\":[\"/srv/a\"]"
#define SH	"\"cloudflared_path\":\"/bin/sh\""

static int
parse(const char *text, struct conf *c, char *err)
{
	return conf_parse(text, strlen(text), "cfg", c, err, 512);
}

static void
test_conf_good(void **state)
{
	struct conf c;
	char err[512];

	(void)state;
	assert_int_equal(parse("{\"server\":\"https://f.example.com\","
	    "\"agentSecret\":\"fsa_0123456789abcdefgh\",\"name\":\"nas\","
	    "\"listen\":\"127.0.0.1:9\",\"followSymlinks\":true,"
	    "\"tunnel\":{\"hostname\":\"agent.example.com\",\"key\":\"" KEY
	    "\",\"backend\":\"whatever\"},\"unknown\":1," BASE "}", &c, err),
	    0);
	assert_string_equal(c.server, "https://f.example.com");
	assert_string_equal(c.agent_id, AID);
	assert_string_equal(c.agent_secret, "fsa_0123456789abcdefgh");
	assert_string_equal(c.name, "nas");
	assert_string_equal(c.listen, "127.0.0.1:9");
	assert_null(c.cors_origin);
	assert_true(c.follow_symlinks);
	assert_int_equal(c.nroots, 1);
	assert_string_equal(c.roots[0], "/srv/a");
	assert_true(c.has_key);
	assert_int_equal(c.key[1], 1);
	assert_string_equal(c.origin, "https://agent.example.com");
	conf_free(&c);
	/* The least: an id and a root; nulls are absent members. */
	assert_int_equal(parse("{\"server\":null,\"tunnel\":null,"
	    "\"followSymlinks\":null," BASE "}", &c, err), 0);
	assert_null(c.server);
	assert_null(c.agent_secret);
	assert_false(c.has_key);
	assert_false(c.follow_symlinks);
	conf_free(&c);
	conf_free(NULL);
}

static void
test_conf_bad(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;	/* a part of the message */
	} cases[] = {
		{ "", "cfg: not a JSON object" },
		{ "[1]", "cfg: not a JSON object" },
		{ "{" BASE "} x", "cfg: not a JSON object" },
		{ "{\"name\":\"a\\u0000b\"," BASE "}", "cfg: holds \\u0000" },
		{ "{\"agentSecret\":\"tiny\"," BASE "}",
		    "cfg: agentSecret is not an agent secret" },
		{ "{\"agentSecret\":7," BASE "}", "agentSecret is not" },
		{ "{\"server\":1," BASE "}", "cfg: server, agentId, name, "
		    "listen and corsOrigin must be strings" },
		{ "{\"corsOrigin\":[]," BASE "}", "must be strings" },
		{ "{\"followSymlinks\":\"yes\"," BASE "}",
		    "cfg: followSymlinks must be true or false" },
		{ "{\"allowedRoots\":[\"/a\"]}", "cfg: agentId is missing" },
		{ "{\"agentId\":\"x\",\"allowedRoots\":[\"/a\"]}",
		    "agentId is missing or not a UUID" },
		{ "{\"agentId\":\"" AID "\"}", "cfg: allowedRoots must be" },
		{ "{\"agentId\":\"" AID "\",\"allowedRoots\":[\"/a/../b\"]}",
		    "cfg: allowedRoots[0] must be an absolute" },
		{ "{\"tunnel\":1," BASE "}", "cfg: tunnel must be an object "
		    "with string hostname and key" },
		{ "{\"tunnel\":{\"key\":1}," BASE "}", "tunnel must be" },
		{ "{\"tunnel\":{\"hostname\":\"a b\"}," BASE "}",
		    "cfg: tunnel.hostname: " },
		{ "{\"tunnel\":{\"key\":\"abc\"}," BASE "}",
		    "cfg: tunnel.key is not a signing key" },
	};
	struct conf c;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (parse(cases[i].text, &c, err) != -1 ||
		    strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: \"%s\" gave \"%s\"", i,
			    cases[i].text, err);
		/* Freed: nothing to release, nothing left to read. */
		assert_null(c.doc);
		assert_null(c.roots);
		/* A credential is never echoed. */
		if (strstr(err, "tiny") != NULL)
			fail_msg("case %zu echoes: %s", i, err);
	}
}

static int
tparse(const char *text, struct conf_tunnel *tc, char *err)
{
	cJSON *t = cJSON_Parse(text);
	int rc;

	assert_non_null(t);
	rc = conf_tunnel_parse(t, tc, err, 512);
	cJSON_Delete(t);
	return rc;
}

static void
tunnel_setup(void)
{
	unsetenv("CLOUDFLARE_TUNNEL_TOKEN");
	unsetenv("CF_ACCESS_CLIENT_ID");
	unsetenv("CF_ACCESS_CLIENT_SECRET");
}

/* What conf_tunnel_parse should have read. */
struct want {
	int		 quick, interval, max_failures, retries, grace;
	int		 metrics_port;
	const char	*protocol, *edge_ip, *log_level, *local_addr;
	const char	*token, *hostname;	/* NULL, "": none */
};

static void
expect(const struct conf_tunnel *tc, const struct want *w)
{
	assert_int_equal(tc->quick, w->quick);
	assert_int_equal(tc->interval, w->interval);
	assert_int_equal(tc->max_failures, w->max_failures);
	assert_int_equal(tc->retries, w->retries);
	assert_int_equal(tc->grace, w->grace);
	assert_int_equal(tc->metrics_port, w->metrics_port);
	assert_string_equal(tc->protocol, w->protocol);
	assert_string_equal(tc->edge_ip, w->edge_ip);
	assert_string_equal(tc->log_level, w->log_level);
	assert_string_equal(tc->local_addr, w->local_addr);
	assert_string_equal(tc->hostname, w->hostname);
	assert_string_equal(tc->path, "/bin/sh");
	if (w->token == NULL)
		assert_null(tc->token);
	else
		assert_string_equal(tc->token, w->token);
}

static void
test_tunnel_good(void **state)
{
	static const struct want defaults = { 1, 30, 3, 5, 30, 0, "auto",
	    "auto", "info", "", NULL, "" };
	static const struct want named = { 0, 2, 4, 0, 180, 20241, "http2",
	    "6", "warn", "127.0.0.1:8443", "eyJh+/=_-", "agent.example.com" };
	struct conf_tunnel tc;
	char err[512];

	(void)state;
	tunnel_setup();
	assert_int_equal(conf_tunnel_parse(NULL, &tc, err, sizeof(err)), 0);
	assert_false(tc.enabled);
	/* No backend: a tunnel run by someone else. */
	assert_int_equal(tparse("{\"hostname\":\"a.example.com\"}", &tc, err),
	    0);
	assert_false(tc.enabled);
	/* The defaults. */
	assert_int_equal(tparse("{\"backend\":\"cloudflare\",\"cloudflare\":{"
	    SH "}}", &tc, err), 0);
	assert_true(tc.enabled);
	expect(&tc, &defaults);
	conf_tunnel_free(&tc);
	/* Named, every setting. */
	assert_int_equal(tparse("{\"backend\":\"cloudflare\",\"local_addr\":"
	    "\"127.0.0.1:8443\",\"health_check_interval_secs\":2,"
	    "\"max_failures\":4,\"hostname\":\"x\",\"key\":\"y\","
	    "\"cloudflare\":{" SH ",\"mode\":\"named\",\"token\":\"eyJh+/=_-\","
	    "\"hostname\":\"Agent.Example.com\",\"protocol\":\"http2\","
	    "\"edge_ip_version\":6,\"retries\":0,\"grace_period_secs\":180,"
	    "\"metrics_port\":20241,\"log_level\":\"warn\","
	    "\"health_url_override\":\"http://127.0.0.1:1/healthz\","
	    "\"access_client_id\":\"id.access\","
	    "\"access_client_secret\":\"s3cret\"}}", &tc, err), 0);
	expect(&tc, &named);
	assert_string_equal(tc.health_url, "http://127.0.0.1:1/healthz");
	assert_string_equal(tc.access_id, "id.access");
	assert_string_equal(tc.access_secret, "s3cret");
	conf_tunnel_free(&tc);
	assert_null(tc.token);
	assert_string_equal(tc.access_secret, "");
	/* The environment: named by "${...}", or alone. */
	setenv("CLOUDFLARE_TUNNEL_TOKEN", "ZW52", 1);
	setenv("CF_ACCESS_CLIENT_ID", "envid", 1);
	setenv("CF_ACCESS_CLIENT_SECRET", "envsecret", 1);
	assert_int_equal(tparse("{\"backend\":\"cloudflare\",\"cloudflare\":{"
	    SH ",\"mode\":\"named\",\"hostname\":\"a.example.com\","
	    "\"access_client_id\":\"${CF_ACCESS_CLIENT_ID}\"}}", &tc, err), 0);
	assert_string_equal(tc.token, "ZW52");
	assert_string_equal(tc.access_id, "envid");
	assert_string_equal(tc.access_secret, "envsecret");
	conf_tunnel_free(&tc);
	/* Quick mode takes no token, even from the environment. */
	assert_int_equal(tparse("{\"backend\":\"cloudflare\",\"cloudflare\":{"
	    SH ",\"token\":\"${CLOUDFLARE_TUNNEL_TOKEN}\"}}", &tc, err), 0);
	assert_null(tc.token);
	conf_tunnel_free(&tc);
	tunnel_setup();
}

static void
test_tunnel_bad(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;	/* the message, or its head */
	} cases[] = {
		{ "1", "tunnel must be an object" },
		{ "{\"cloudflare\":{}}", "tunnel.backend is required with "
		    "tunnel.cloudflare (\"cloudflare\")" },
		{ "{\"backend\":\"cloudflare\",\"nope\":1}",
		    "tunnel.nope: unknown key" },
		{ "{\"backend\":\"aws\"}", "tunnel.backend must be one of "
		    "\"cloudflare\" (got \"aws\")" },
		{ "{\"backend\":\"cloudflare\",\"local_addr\":\"nohost\"}",
		    "tunnel.local_addr must be host:port" },
		{ "{\"backend\":\"cloudflare\",\"local_addr\":\"a:70000\"}",
		    "tunnel.local_addr must be host:port" },
		{ "{\"backend\":\"cloudflare\","
		    "\"health_check_interval_secs\":0}",
		    "tunnel.health_check_interval_secs must be an integer "
		    "from 1 to 3600 (got 0)" },
		{ "{\"backend\":\"cloudflare\",\"max_failures\":1.5}",
		    "tunnel.max_failures must be an integer from 1 to 1000" },
		{ "{\"backend\":\"cloudflare\",\"max_failures\":1e300}",
		    "tunnel.max_failures must be an integer" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":[]}",
		    "tunnel.cloudflare must be an object" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{\"grace_period\":"
		    "10}}", "tunnel.cloudflare.grace_period: unknown key" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{\"mode\":"
		    "\"fast\"}}", "tunnel.cloudflare.mode must be one of "
		    "\"quick\", \"named\" (got \"fast\")" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{"
		    "\"grace_period_secs\":181}}", "tunnel.cloudflare."
		    "grace_period_secs must be an integer from 0 to 180 (got "
		    "181)" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{"
		    "\"edge_ip_version\":5}}", "tunnel.cloudflare."
		    "edge_ip_version must be one of" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{"
		    "\"cloudflared_path\":\"\"}}", "tunnel.cloudflare."
		    "cloudflared_path must be a non-empty string" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{"
		    "\"cloudflared_path\":\"/nonexistent/cf\"}}",
		    "tunnel.cloudflare.cloudflared_path: \"/nonexistent/cf\" "
		    "is not an executable file" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"hostname\":\"https://a.example.com\"}}",
		    "tunnel.cloudflare.hostname must be a DNS name" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"token\":5}}", "tunnel.cloudflare.token must be a "
		    "string" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"token\":\"${TOKEN}\"}}", "tunnel.cloudflare.token: only "
		    "${CLOUDFLARE_TUNNEL_TOKEN} is expanded" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"token\":\"${CLOUDFLARE_TUNNEL_TOKEN}\"}}",
		    "tunnel.cloudflare.token is \"${CLOUDFLARE_TUNNEL_TOKEN}\" "
		    "but that variable is not set" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"mode\":\"named\",\"hostname\":\"a.example.com\"}}",
		    "tunnel.cloudflare.token is required in named mode" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"mode\":\"named\",\"token\":\"abc\"}}",
		    "tunnel.cloudflare.hostname is required in named mode" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"mode\":\"named\",\"hostname\":\"a.example.com\","
		    "\"token\":\"se cret\"}}", "tunnel.cloudflare.token is not "
		    "a tunnel token" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"log_level\":\"error\"}}", "tunnel.cloudflare.log_level "
		    "\"error\" hides the quick tunnel URL" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"access_client_id\":\"id\"}}", "tunnel.cloudflare."
		    "access_client_id and access_client_secret go together" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"access_client_id\":\"id\",\"access_client_secret\":"
		    "\"se cret\"}}", "tunnel.cloudflare.access_client_secret "
		    "must be 1 to 256 printable ASCII characters" },
		{ "{\"backend\":\"cloudflare\",\"cloudflare\":{" SH
		    ",\"health_url_override\":\"ftp://a/\"}}",
		    "tunnel.cloudflare.health_url_override must be an http(s) "
		    "URL" },
	};
	struct conf_tunnel tc;
	char err[512];
	size_t i;

	(void)state;
	tunnel_setup();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (tparse(cases[i].text, &tc, err) != -1 ||
		    strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
			fail_msg("case %zu: %s gave \"%s\"", i, cases[i].text,
			    err);
		assert_null(tc.token);
		/* A credential is never echoed. */
		assert_null(strstr(err, "se cret"));
	}
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(test_conf_good),
    cmocka_unit_test(test_conf_bad),
    cmocka_unit_test(test_tunnel_good),
    cmocka_unit_test(test_tunnel_bad))
