/*
 * noop: the floor of this architecture. A FastCGI responder that does no
 * work: it answers every request with a fixed body of BENCH_NOOP_BYTES
 * (default 4096) bytes. Benchmarks compare the programs against it on
 * the same lighttpd. It reads and drops any request body, so that a PUT
 * to it measures what the web server and FastCGI cost an upload before
 * any storage. Not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

int
main(void)
{
	static char drop[256 * 1024];
	FCGX_Request req;
	const char *env = getenv("BENCH_NOOP_BYTES");
	long n = env != NULL ? strtol(env, NULL, 10) : 4096;
	char *body;

	if (n < 0 || n > (1L << 24))
		n = 4096;
	body = malloc((size_t)n + 1);
	if (body == NULL)
		return 1;
	memset(body, 'x', (size_t)n);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		while (FCGX_GetStr(drop, (int)sizeof(drop), req.in) > 0)
			;
		FCGX_FPrintF(req.out, "Status: 200\r\nContent-Type: "
		    "application/octet-stream\r\nContent-Length: %ld\r\n\r\n", n);
		FCGX_PutStr(body, (int)n, req.out);
		FCGX_Finish_r(&req);
	}
	free(body);
	return 0;
}
