/*
 * file-content: GET /api/file/content?agent=<id>&path=<absolute path>
 * (DESIGN §9). With the agent's tunnel on, the bytes skip the backend:
 * after the checks this answers 302 to a five-minute signed URL at the
 * tunnel origin, and the agent verifies the URL and serves the file
 * itself. Without it, the bytes come through the WS relay over the
 * agent's own WebSocket (docs/relay.md), with the agent's answer as it
 * would give it: Range, If-Range, If-None-Match, HEAD.
 *
 * Order of the checks, and why:
 *   401  no or bad credentials;
 *   422  agent is not a UUID, path is not absolute and normalized;
 *   403  the role has no agent_files.read at all (before any lookup, so
 *        a caller without it cannot probe agent ids);
 *   404  no such agent in the caller's tenant;
 *   403  the read condition (fields agent_id, path) refuses this pair,
 *        or the path is outside the agent's allowed roots;
 *   302  Location built only from the stored origin and our token, never
 *        from request input other than the validated path inside it;
 *   503  (relay) the agent is offline, with Retry-After;
 *   200, 206, 304, 416 and the agent's 403/404 (relay).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_http.h"
#include "api.h"
#include "app.h"
#include "metrics.h"
#include "cry.h"
#include "db.h"
#include "rcli.h"

#define RELAY_BUF	(256 * 1024)	/* bytes per write to the client */

/* The agent and path parameters; 0 after answering 422. */
static int
content_params(struct request *r, const struct http_param **pa,
    const struct http_param **pp)
{
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, "agent") != 0 &&
		    strcmp(r->params[i].name, "path") != 0) {
			http_error(r, FS_VALIDATION, "unknown parameter "
			    "\"%.64s\"", r->params[i].name);
			return 0;
		}
	*pa = http_param(r, "agent");
	*pp = http_param(r, "path");
	if (*pa == NULL || strlen((*pa)->value) != (*pa)->value_len ||
	    !cry_is_uuid((*pa)->value)) {
		http_error(r, FS_VALIDATION, "agent must be an agent id (a "
		    "lower-case UUID)");
		return 0;
	}
	if (*pp == NULL || !agent_path_ok((*pp)->value, (*pp)->value_len)) {
		http_error(r, FS_VALIDATION, "path must be absolute and "
		    "normalized: no \"..\", \".\", \"//\", trailing \"/\", "
		    "control bytes or backslash, at most %d bytes of UTF-8",
		    AGENT_PATH_MAX);
		return 0;
	}
	return 1;
}

/*
 * The signed URL at the tunnel origin of row (its tunnel on) for path
 * (malloc'd), valid until *exp; NULL after answering 409 or 500.
 */
static char *
content_url(struct app *a, struct request *r, const struct agent_row *row,
    const char *path, long long *exp)
{
	unsigned char key[AGENT_KEY_LEN];
	char norm[AGENT_ORIGIN_MAX], origin[AGENT_ORIGIN_MAX], err[256];
	char *tok = NULL, *url = NULL;
	size_t n;

	if (agent_hostname_parse(row->hostname, norm, origin, err,
	    sizeof(err)) == -1) {
		app_log(a, "agent %s: stored hostname: %s", row->id, err);
		http_error(r, FS_INTERNAL, NULL);
		return NULL;
	}
	if (agent_key_open(a->agent_kek, row->id, row->sealed, sizeof(row->sealed),
	    key) == -1) {
		/* Most likely AUTH_SECRET changed since the key was made. */
		app_log(a, "agent %s: tunnel key does not decrypt", row->id);
		http_error(r, FS_CONFLICT, "the tunnel key of this agent cannot "
		    "be read (was AUTH_SECRET changed?): rotate the key");
		goto out;
	}
	*exp = db_now() + AGENT_TOKEN_TTL;
	tok = agent_tok_sign(key, path, row->id, *exp);
	n = tok != NULL ? strlen(origin) + strlen("/content?token=") +
	    strlen(tok) + 1 : 0;
	url = tok != NULL ? malloc(n) : NULL;
	if (url == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	/* The token is base64url and '.', so it needs no escaping. */
	snprintf(url, n, "%s/content?token=%s", origin, tok);
out:
	cry_wipe(key, sizeof(key));
	free(tok);
	return url;
}

/* The request headers the agent decides on, into the read request. */
static int
relay_conditions(struct request *r, cJSON *req)
{
	static const char *const map[][2] = {
		{ "Range", "range" },
		{ "If-Range", "ifRange" },
		{ "If-None-Match", "ifNoneMatch" },
		{ "If-Modified-Since", "ifModifiedSince" },
	};
	const char *v;
	size_t i;

	for (i = 0; i < nitems(map); i++) {
		v = http_header(r, map[i][0]);
		if (v != NULL && cJSON_AddStringToObject(req, map[i][1],
		    v) == NULL)
			return -1;
	}
	return 0;
}

/* The agent's header h as response headers (status st, not sent). */
static void
relay_headers(struct request *r, const cJSON *h, long long st)
{
	static const char *const map[][2] = {
		{ "etag", "ETag" },
		{ "lastModified", "Last-Modified" },
		{ "contentType", "Content-Type" },
		{ "disposition", "Content-Disposition" },
	};
	long long start, len, size;
	const char *v;
	size_t i;

	http_status(r, (int)st);
	for (i = 0; i < nitems(map); i++) {
		if (st == 304 && i >= 2)
			break;
		v = rp_str(h, map[i][0]);
		if (v != NULL)
			http_add_header(r, map[i][1], v);
	}
	http_add_header(r, "Accept-Ranges", "bytes");
	http_add_header(r, "Cache-Control", "private, no-store");
	http_add_header(r, "X-Content-Type-Options", "nosniff");
	http_add_header(r, "Referrer-Policy", "no-referrer");
	if (st == 304 || rp_num(h, "length", 0, 1LL << 53, &len) == -1)
		return;
	http_add_headerf(r, "Content-Length", "%lld", len);
	if (st == 206 && rp_num(h, "start", 0, 1LL << 53, &start) == 0 &&
	    rp_num(h, "size", 0, 1LL << 53, &size) == 0)
		http_add_headerf(r, "Content-Range", "bytes %lld-%lld/%lld",
		    start, start + len - 1, size);
}

/*
 * Stream path of agent row through the relay. A body the relay cuts
 * short stays short: the web server then cuts the connection, so the
 * client never takes it for the whole file.
 */
static void
content_relay(struct app *a, struct request *r, const struct agent_row *row,
    const char *path)
{
	struct rcli *c = NULL;
	cJSON *req, *head = NULL;
	/* One request at a time per process: no allocation per request. */
	static char buf[RELAY_BUF];
	long long st = 0, left = 0, sent = 0, t0 = metrics_now_us();
	ssize_t n;

	req = cJSON_CreateObject();
	if (req == NULL || cJSON_AddStringToObject(req, "op", "read") == NULL ||
	    cJSON_AddStringToObject(req, "path", path) == NULL ||
	    cJSON_AddBoolToObject(req, "head", r->is_head) == NULL ||
	    relay_conditions(r, req) == -1) {
		cJSON_Delete(req);
		http_error(r, FS_INTERNAL, NULL);
		return;
	}
	if (rcli_ask(a, r, row, req, &c, &head) == -1) {
		metrics_inc(METRIC_RELAY_REQUESTS_FAILED);
		return;
	}
	rp_num(head, "status", 200, 599, &st);
	relay_headers(r, head, st);
	if (st == 304 || r->is_head ||
	    rp_num(head, "length", 0, 1LL << 53, &left) == -1 || left == 0) {
		http_begin(r);
		goto out;
	}
	/*
	 * The first bytes before the headers: a stream cut before any data
	 * still gets a clean error (some servers, Apache's mod_fcgid, would
	 * otherwise pass an empty body on as if whole).
	 */
	n = rcli_read(c, buf, left < RELAY_BUF ? (size_t)left : RELAY_BUF);
	if (n <= 0) {
		app_log(a, "agent %s: the transfer broke off", row->id);
		http_add_headerf(r, "Retry-After", "%d", RP_RETRY_AFTER);
		http_error(r, FS_UNAVAILABLE, "the agent broke off the "
		    "transfer");
		goto out;
	}
	http_begin(r);
	while (left > 0 && n > 0) {
		if (http_write(r, buf, (size_t)n) == -1)
			break;
		left -= n;
		sent += n;
		if (left > 0)
			n = rcli_read(c, buf, left < RELAY_BUF ?
			    (size_t)left : RELAY_BUF);
	}
	if (left > 0)
		app_log(a, "agent %s: the body was cut %lld bytes short",
		    row->id, left);
out:
	metrics_add(METRIC_RELAY_BYTES, (unsigned long long)sent);
	metrics_inc(left == 0 ? METRIC_RELAY_REQUESTS_OK :
	    METRIC_RELAY_REQUESTS_FAILED);
	metrics_time(METRIC_TIME_RELAY, metrics_now_us() - t0);
	rcli_close(c);
	cJSON_Delete(head);
}

static void
h_content(struct app *a, struct request *r, const struct app_caller *c)
{
	const struct principal *p = &c->p;
	struct agent_row row;
	const struct http_param *pa, *pp;
	char *url = NULL;
	cJSON *j = NULL;
	long long exp;

	memset(&row, 0, sizeof(row));
	if (!content_params(r, &pa, &pp) ||
	    !agent_read_allowed(a, r, p, pa->value, pp->value, &row))
		goto out;
	if (!row.enabled || !row.has_key || row.hostname == NULL) {
		content_relay(a, r, &row, pp->value);
		goto out;
	}
	url = content_url(a, r, &row, pp->value, &exp);
	if (url == NULL)
		goto out;
	/*
	 * A small JSON body too, for fetch() callers that follow redirects
	 * manually and cannot read Location from an opaque response.
	 */
	j = api_url_json(url, exp);
	if (j == NULL || http_add_header(r, "Location", url) == -1)
		goto internal;
	/* The URL is a credential for five minutes: no cache keeps it. */
	http_add_header(r, "Cache-Control", "no-store");
	http_add_header(r, "Referrer-Policy", "no-referrer");
	http_json(r, 302, j);
	goto out;
internal:
	http_error(r, FS_INTERNAL, NULL);
out:
	cJSON_Delete(j);
	agent_row_free(&row);
	free(url);
}

APP_MAIN("file-content", 0,
    [ROUTE_FILE_CONTENT] = h_content)
