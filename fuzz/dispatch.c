/*
 * libFuzzer harness: route matching (app_dispatch on the table of
 * common/routes.h). The input is "METHOD target": the method, and a
 * request target as REQUEST_URI carries it (path, maybe a query). No
 * program serves any route here, so every request must end in a JSON
 * 404 or 405 (or the 400 of a target http_request_init refuses) before
 * any authentication: the matcher is all that runs on the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "../tests/unit/tio.h"

#define INPUT_MAX	(16 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const app_handler serve[ROUTE__MAX];
	static struct app a = { .name = "fuzz" };
	struct request r;
	char buf[INPUT_MAX + 1], m[64], *sp, *envp[3];
	char *u = NULL;
	const char *msg = NULL;
	int status = 0;

	if (size > INPUT_MAX)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';	/* the environment holds strings */
	sp = strchr(buf, ' ');
	if (sp == NULL || (size_t)(sp - buf) >= sizeof(m) - 16)
		return 0;
	*sp = '\0';
	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", buf);
	if (asprintf(&u, "REQUEST_URI=%s", sp + 1) == -1)
		return 0;
	envp[0] = m;
	envp[1] = u;
	envp[2] = NULL;
	if (req_init(&r, envp, &msg) == FS_OK) {
		app_dispatch(&a, &r, app_routes, ROUTE__MAX, serve);
		if (sscanf(OUT, "Status: %d", &status) != 1 ||
		    (status != 404 && status != 405))
			abort();
	}
	http_request_free(&r);
	free(u);
	return 0;
}
