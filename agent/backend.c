/*
 * backend: the agent's calls to its server (see backend.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cry.h"
#include "fetch.h"
#include "logsafe.h"

#define ENROLL_MAX	(64 * 1024)	/* bytes of an enrollment answer */
#define ENROLL_MS	30000
#define HEARTBEAT_MAX	(16 * 1024)	/* bytes of a heartbeat answer kept */
#define HEARTBEAT_MS	5000
#define REFUSAL_SHOWN	200		/* bytes of a refusal logged */

/* server without its trailing slashes, then path; malloc'd or NULL. */
static char *
api_url(const char *server, const char *path)
{
	size_t slen = strlen(server), n;
	char *url;

	while (slen > 0 && server[slen - 1] == '/')
		slen--;
	n = slen + strlen(path) + 1;
	url = malloc(n);
	if (url != NULL)
		snprintf(url, n, "%.*s%s", (int)slen, server, path);
	return url;
}

/* The server's refusal of an enrollment, for err. */
static void
enroll_refused(long status, const struct fetch_body *b, char *err,
    size_t errlen)
{
	cJSON *resp = cJSON_Parse(b->buf);
	const cJSON *je;
	char msg[1024];

	je = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(resp,
	    "error"), "message");
	/* The server's words, to a terminal: escaped, and bounded. */
	if (cJSON_IsString(je))
		logsafe_escape(je->valuestring, strnlen(je->valuestring,
		    sizeof(msg) / 4 - 1), msg, sizeof(msg));
	snprintf(err, errlen, "enrollment refused (HTTP %ld): %s", status,
	    cJSON_IsString(je) ? msg : "no message");
	cJSON_Delete(resp);
}

int
backend_enroll(const char *server, const char *token, const char *name,
    const cJSON *roots, char id[37], char **secret, char *err, size_t errlen)
{
	struct fetch f = { NULL, NULL, NULL, ENROLL_MS, 0, ENROLL_MAX, 0 };
	struct fetch_body b = { NULL, 0 };
	struct curl_slist *h = NULL;
	cJSON *req = NULL;
	char *json = NULL, *url = NULL, e2[512];
	long status;
	int rc = -1;

	id[0] = '\0';
	*secret = NULL;
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "token", token);
	cJSON_AddStringToObject(req, "name", name);
	cJSON_AddItemReferenceToObject(req, "allowedRoots", (cJSON *)roots);
	json = cJSON_PrintUnformatted(req);
	url = api_url(server, "/api/agents/enroll");
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (json == NULL || url == NULL || h == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	f.url = url;
	f.post = json;
	f.hdrs = h;
	status = fetch_do(&f, &b, e2, sizeof(e2));
	if (status == -1) {
		snprintf(err, errlen, "POST %s: %s", url, e2);
		goto out;
	}
	if (status != 201) {
		enroll_refused(status, &b, err, errlen);
		goto out;
	}
	if (conf_enroll_answer(b.buf, b.len, id, secret, e2,
	    sizeof(e2)) == -1) {
		snprintf(err, errlen, "%s: not saved", e2);
		goto out;
	}
	rc = 0;
out:
	fetch_free(&b);
	curl_slist_free_all(h);
	cJSON_Delete(req);
	cJSON_free(json);
	free(url);
	return rc;
}

int
backend_open(struct backend *b, const struct conf *c)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->agent_id, sizeof(b->agent_id), "%s", c->agent_id);
	if (c->server == NULL || c->agent_secret == NULL)
		return 0;
	b->server = api_url(c->server, "");
	b->secret = strdup(c->agent_secret);
	if (b->server == NULL || b->secret == NULL) {
		backend_close(b);
		return -1;
	}
	return 0;
}

void
backend_close(struct backend *b)
{
	if (b->secret != NULL) {
		cry_wipe(b->secret, strlen(b->secret));
		free(b->secret);
	}
	free(b->server);
	memset(b, 0, sizeof(*b));
}

/* The heartbeat's JSON body; cJSON_free it. NULL when out of memory. */
static char *
heartbeat_json(const char *host, const struct backend_health *h)
{
	cJSON *j = cJSON_CreateObject(), *he;
	char *json;

	if (j == NULL)
		return NULL;
	if (host != NULL && host[0] != '\0')
		cJSON_AddStringToObject(j, "tunnelHostname", host);
	cJSON_AddStringToObject(j, "version", BACKEND_VERSION);
	he = cJSON_AddObjectToObject(j, "health");
	if (he != NULL) {
		cJSON_AddBoolToObject(he, "ok", h->ok);
		cJSON_AddStringToObject(he, "reason", h->reason);
		cJSON_AddNumberToObject(he, "readyConnections",
		    h->ready_conns);
		cJSON_AddNumberToObject(he, "restarts", h->restarts);
	}
	json = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return json;
}

long
backend_heartbeat(const struct backend *b, const char *host,
    const struct backend_health *h, char *err, size_t errlen)
{
	struct fetch f = { NULL, NULL, NULL, HEARTBEAT_MS, HEARTBEAT_MS,
	    HEARTBEAT_MAX, 1 };
	struct fetch_body body = { NULL, 0 };
	struct curl_slist *hd = NULL;
	char *json = NULL, *auth = NULL, *url = NULL;
	size_t n;
	long code = -2;

	err[0] = '\0';
	url = api_url(b->server, "/api/agents/heartbeat");
	json = heartbeat_json(host, h);
	n = strlen("Authorization: Bearer .") + strlen(b->agent_id) +
	    strlen(b->secret) + 1;
	auth = malloc(n);
	if (url == NULL || json == NULL || auth == NULL)
		goto out;
	snprintf(auth, n, "Authorization: Bearer %s.%s", b->agent_id,
	    b->secret);
	/* conf_load checked the secret; a header never carries CR or LF. */
	if (strpbrk(auth, "\r\n") != NULL) {
		snprintf(err, errlen, "agentSecret holds CR or LF: no "
		    "heartbeat");
		goto out;
	}
	hd = curl_slist_append(hd, "Content-Type: application/json");
	hd = curl_slist_append(hd, auth);
	f.url = url;
	f.post = json;
	f.hdrs = hd;
	code = fetch_do(&f, &body, err, errlen);
	/* The server's words: escaped like cloudflared's. */
	if (code != -1 && (code < 200 || code >= 300))
		logsafe_escape(body.buf, body.len < REFUSAL_SHOWN ? body.len :
		    REFUSAL_SHOWN, err, errlen);
out:
	if (auth != NULL) {
		cry_wipe(auth, strlen(auth));
		free(auth);
	}
	fetch_free(&body);
	curl_slist_free_all(hd);
	cJSON_free(json);
	free(url);
	return code;
}
