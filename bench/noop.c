/*
 * noop: the floor of this architecture. A FastCGI responder that does no
 * work: it answers every request with a fixed body of BENCH_NOOP_BYTES
 * (default 4096) bytes. Benchmarks compare the programs against it on
 * the same lighttpd. It reads and drops any request body, so that a PUT
 * to it measures what the web server and FastCGI cost an upload before
 * any storage. Not installed.
 *
 * With the query "mib=N" (1..4096) it streams N MiB from memory instead,
 * 256 KiB at a time through http_fcgx_write: the FastCGI records and
 * writes the programs use for a large body (file-content's relay path
 * among them), so that bench/relay.sh can set a relayed download beside
 * what lighttpd and FastCGI alone cost the same bytes.
 *
 * Under /bench/s3/ it is a do-nothing S3 endpoint (path-style, any
 * bucket), just enough for "aws s3 cp" to upload: PutObject and the
 * multipart calls (Create, UploadPart, Complete, Abort) answer what S3
 * would, with fixed ids and ETags, after reading and dropping the body.
 * bench/s3api.sh measures awscli against it, so that the client's own
 * cost on the same machine is in the same run as Filestor's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "http.h"

#define STREAM_BUF	(256 * 1024)	/* as file-content's RELAY_BUF */
#define STREAM_MIB_MAX	4096
#define S3_PREFIX	"/bench/s3/"
#define S3_ETAG		"\"d41d8cd98f00b204e9800998ecf8427e\""

/* N of a query "mib=N" (1..STREAM_MIB_MAX), else 0. */
static long long
stream_mib(const char *q)
{
	long long n;

	if (q == NULL || strncmp(q, "mib=", 4) != 0 ||
	    http_parse_ll(q + 4, 1, STREAM_MIB_MAX, &n) == -1)
		return 0;
	return n;
}

static void
stream(FCGX_Request *req, const char *buf, long long mib)
{
	long long left = mib * 1048576;

	FCGX_FPrintF(req->out, "Status: 200\r\nContent-Type: "
	    "application/octet-stream\r\nContent-Length: %lld\r\n\r\n", left);
	while (left > 0) {
		size_t n = left < STREAM_BUF ? (size_t)left : STREAM_BUF;

		if (http_fcgx_write(req, buf, n) == -1)
			break;
		left -= (long long)n;
	}
}

static int
has_param(const char *query, const char *name)
{
	size_t n = strlen(name);
	const char *p = query;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && (p[n] == '\0' || p[n] == '=' ||
		    p[n] == '&'))
			return 1;
		p = strchr(p, '&');
		if (p != NULL)
			p++;
	}
	return 0;
}

/* The do-nothing S3 answer to the request (its body already dropped). */
static void
s3_answer(FCGX_Request *req)
{
	const char *method = FCGX_GetParam("REQUEST_METHOD", req->envp);
	const char *query = FCGX_GetParam("QUERY_STRING", req->envp);
	const char *xml = NULL;
	int status = 200;

	if (method == NULL)
		method = "";
	if (query == NULL)
		query = "";
	if (strcmp(method, "POST") == 0 && has_param(query, "uploads"))
		xml = "<InitiateMultipartUploadResult><Bucket>bench</Bucket>"
		    "<Key>k</Key><UploadId>noop</UploadId>"
		    "</InitiateMultipartUploadResult>";
	else if (strcmp(method, "POST") == 0 && has_param(query, "uploadId"))
		xml = "<CompleteMultipartUploadResult><Bucket>bench</Bucket>"
		    "<Key>k</Key><ETag>\"d41d8cd98f00b204e9800998ecf8427e-1\""
		    "</ETag></CompleteMultipartUploadResult>";
	else if (strcmp(method, "DELETE") == 0)
		status = 204;
	else if (strcmp(method, "PUT") != 0)
		status = 501;
	if (xml != NULL)
		FCGX_FPrintF(req->out, "Status: 200\r\nContent-Type: "
		    "application/xml\r\nContent-Length: %lu\r\n\r\n%s",
		    (unsigned long)strlen(xml), xml);
	else
		FCGX_FPrintF(req->out, "Status: %d\r\nETag: %s\r\n"
		    "Content-Length: 0\r\n\r\n", status, S3_ETAG);
}

int
main(void)
{
	static char drop[256 * 1024];
	FCGX_Request req;
	const char *env = getenv("BENCH_NOOP_BYTES");
	const char *uri;
	long n = env != NULL ? strtol(env, NULL, 10) : 4096;
	long long mib;
	char *body, *big;

	if (n < 0 || n > (1L << 24))
		n = 4096;
	body = malloc((size_t)n + 1);
	big = malloc(STREAM_BUF);
	if (body == NULL || big == NULL)
		return 1;
	memset(body, 'x', (size_t)n);
	memset(big, 'y', STREAM_BUF);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		while (FCGX_GetStr(drop, (int)sizeof(drop), req.in) > 0)
			;
		uri = FCGX_GetParam("REQUEST_URI", req.envp);
		mib = stream_mib(FCGX_GetParam("QUERY_STRING", req.envp));
		if (uri != NULL && strncmp(uri, S3_PREFIX,
		    strlen(S3_PREFIX)) == 0)
			s3_answer(&req);
		else if (mib > 0) {
			stream(&req, big, mib);
		} else {
			FCGX_FPrintF(req.out, "Status: 200\r\nContent-Type: "
			    "application/octet-stream\r\nContent-Length: "
			    "%ld\r\n\r\n", n);
			FCGX_PutStr(body, (int)n, req.out);
		}
		FCGX_Finish_r(&req);
	}
	free(big);
	free(body);
	return 0;
}
