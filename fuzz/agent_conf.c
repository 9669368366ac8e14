/*
 * libFuzzer harness: the agent's config.json (agent/conf.c). Each input
 * is a whole file: conf_parse, then its "tunnel" object through
 * conf_tunnel_parse, as `filestor-agent run` reads them; and the input
 * as a "tunnel" object on its own, so that the supervisor's settings are
 * reached without a valid identity. The ${...} forms find a value in
 * the environment; "/bin/sh" stands in for cloudflared in the seeds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../agent/conf.c"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
tunnel(const cJSON *t)
{
	struct conf_tunnel tc;
	char err[512];

	if (conf_tunnel_parse(t, &tc, err, sizeof(err)) == 0)
		conf_tunnel_free(&tc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	cJSON *t;
	char err[512], *text;

	if (size > CONF_MAX)
		return 0;
	setenv("CLOUDFLARE_TUNNEL_TOKEN", "ZnV6eg==", 0);
	setenv("CF_ACCESS_CLIENT_ID", "fuzz-id", 0);
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (conf_parse(text, size, "fuzz", &c, err, sizeof(err)) == 0) {
		tunnel(cJSON_GetObjectItemCaseSensitive(c.doc, "tunnel"));
		conf_free(&c);
	}
	t = cJSON_ParseWithLength(text, size);
	tunnel(t);
	cJSON_Delete(t);
	free(text);
	return 0;
}
