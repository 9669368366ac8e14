/*
 * health: one health check of a running cloudflared (see health.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cflog.h"
#include "cry.h"
#include "fetch.h"
#include "health.h"

#define PROBE_MAX	(16 * 1024)	/* bytes of a probe answer kept */

static int	fail(struct health *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* The reason, and 0: the check failed. */
static int
fail(struct health *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h->reason, sizeof(h->reason), fmt, ap);
	va_end(ap);
	return 0;
}

/* GET url: the status, or -1 with err; the answer's head in b (freed). */
static long
probe(const char *url, struct curl_slist *hdrs, long tmo,
    struct fetch_body *b, char *err, size_t errlen)
{
	struct fetch f = { url, NULL, hdrs, tmo, tmo, PROBE_MAX, 1 };

	return fetch_do(&f, b, err, errlen);
}

/*
 * The Access service token as request headers, or NULL when there is
 * none (or no memory: the probe then fails at Access, visibly). The
 * caller frees it with access_headers_free, which wipes the copies.
 */
static struct curl_slist *
access_headers(const struct conf_tunnel *sc)
{
	struct curl_slist *h = NULL, *n;
	char line[CONF_ACCESS_MAX + 32];

	if (sc->access_id[0] == '\0')
		return NULL;
	snprintf(line, sizeof(line), "CF-Access-Client-Id: %s", sc->access_id);
	n = curl_slist_append(h, line);
	if (n != NULL) {
		h = n;
		snprintf(line, sizeof(line), "CF-Access-Client-Secret: %s",
		    sc->access_secret);
		n = curl_slist_append(h, line);
		if (n != NULL)
			h = n;
	}
	cry_wipe(line, sizeof(line));
	return h;
}

static void
access_headers_free(struct curl_slist *h)
{
	struct curl_slist *n;

	for (n = h; n != NULL; n = n->next)
		cry_wipe(n->data, strlen(n->data));
	curl_slist_free_all(h);
}

/*
 * The first step: cloudflared's /ready on its metrics server, or
 * without one the registrations in its log. 1 when a connection is up.
 */
static int
probe_ready(struct health *h)
{
	struct fetch_body b;
	const cJSON *rc;
	cJSON *j;
	char url[600], err[256];
	long code;

	if (h->maddr[0] == '\0') {
		h->ready_conns = h->registered;
		if (h->registered < 1)
			return fail(h, "no registered tunnel connection");
		return 1;
	}
	snprintf(url, sizeof(url), "http://%s/ready", h->maddr);
	code = probe(url, NULL, h->timeout_ms, &b, err, sizeof(err));
	j = cJSON_Parse(b.buf);
	rc = cJSON_GetObjectItemCaseSensitive(j, "readyConnections");
	h->ready_conns = cJSON_IsNumber(rc) ? (int)rc->valuedouble : 0;
	cJSON_Delete(j);
	fetch_free(&b);
	if (code == -1)
		return fail(h, "metrics /ready: %s", err);
	if (code != 200 || h->ready_conns < 1)
		return fail(h, "metrics /ready: HTTP %ld, %d ready connections",
		    code, h->ready_conns);
	return 1;
}

/* --loglevel warn hides the URL line: ask /quicktunnel for the host. */
static void
probe_quicktunnel(struct health *h)
{
	struct fetch_body b;
	const cJSON *rc;
	cJSON *j;
	char url[600], err[256], u[256];

	snprintf(url, sizeof(url), "http://%s/quicktunnel", h->maddr);
	if (probe(url, NULL, h->timeout_ms, &b, err, sizeof(err)) != 200) {
		fetch_free(&b);
		return;
	}
	j = cJSON_Parse(b.buf);
	fetch_free(&b);
	rc = cJSON_GetObjectItemCaseSensitive(j, "hostname");
	/* The same check as a log line's URL. */
	if (cJSON_IsString(rc) && strlen(rc->valuestring) < 200) {
		snprintf(u, sizeof(u), "| https://%s", rc->valuestring);
		h->found_host = cflog_quick_host(u, h->host, sizeof(h->host));
	}
	cJSON_Delete(j);
}

/* The public URL through Cloudflare: 1 when it answers, or is none. */
static int
probe_public(struct health *h)
{
	const struct conf_tunnel *sc = h->sc;
	struct fetch_body b;
	struct curl_slist *ah;
	char url[600], err[256];
	long code;

	if (sc->health_url[0] != '\0')
		snprintf(url, sizeof(url), "%s", sc->health_url);
	else if (sc->quick && h->host[0] != '\0')
		snprintf(url, sizeof(url), "https://%s/healthz", h->host);
	else if (!sc->quick)
		snprintf(url, sizeof(url), "https://%s/healthz", sc->hostname);
	else
		return 1;
	/* Only here: cloudflared's metrics need no token. */
	ah = access_headers(sc);
	code = probe(url, ah, h->timeout_ms, &b, err, sizeof(err));
	access_headers_free(ah);
	fetch_free(&b);
	if (code == -1)
		return fail(h, "public URL: %s", err);
	if (code == 502)
		return fail(h, "public URL: HTTP 502 (the origin %s does not "
		    "answer cloudflared)", sc->local_addr);
	/* 429: the quick tunnel's request limit, not down. */
	if ((code < 200 || code > 299) && code != 429)
		return fail(h, "public URL: HTTP %ld%s", code, code == 530 ?
		    " (error 1033: tunnel not connected)" : "");
	return 1;
}

int
health_check(struct health *h)
{
	h->ready = h->found_host = 0;
	h->ready_conns = 0;
	h->reason[0] = '\0';
	if (!probe_ready(h))
		return 0;
	h->ready = 1;
	if (h->sc->quick && h->host[0] == '\0' && h->maddr[0] != '\0')
		probe_quicktunnel(h);
	if (h->public && !probe_public(h))
		return 0;
	snprintf(h->reason, sizeof(h->reason), "%d ready connection%s",
	    h->ready_conns, h->ready_conns == 1 ? "" : "s");
	return 1;
}
