/*
 * libFuzzer harness: the cloudflared line parser (agent/cflog.c). Each
 * input is one line as cloudflared might write it: escaped as the lines
 * thread does (logsafe.c), then parsed; and raw, since the parser must
 * be total on any text. What it reports must hold what cflog.h says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../agent/logsafe.c"
#include "../agent/cflog.c"
#include "../agent/lines.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse(const char *line)
{
	static const char suffix[] = ".trycloudflare.com";
	struct cflog_event ev;
	char host[32];
	size_t n;

	cflog_parse(line, &ev);
	n = strlen(ev.quick_host);
	if (n > 0 && (n <= sizeof(suffix) - 1 || strcmp(ev.quick_host +
	    n - (sizeof(suffix) - 1), suffix) != 0))
		abort();
	if (ev.registered < -1 || ev.registered > 1)
		abort();
	/* Too small an out buffer takes nothing, and writes no more. */
	if (cflog_quick_host(line, host, sizeof(host)) &&
	    strlen(host) >= sizeof(host))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw, *esc;

	if (size > LINES_MAX)
		size = LINES_MAX;
	raw = malloc(size + 1);
	esc = malloc(4 * size + 1);
	if (raw == NULL || esc == NULL)
		goto out;
	memcpy(raw, data, size);
	raw[size] = '\0';
	parse(raw);
	logsafe_escape(raw, size, esc, 4 * size + 1);
	parse(esc);
out:
	free(raw);
	free(esc);
	return 0;
}
