/*
 * status: the tunnel supervisor's state file (see status.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fio.h"
#include "logsafe.h"
#include "status.h"

void
status_write(const char *path, const struct status *st)
{
	char *tmp = NULL, *text = NULL, u[300];
	cJSON *j = NULL, *h;
	size_t n;
	int fd;

	j = cJSON_CreateObject();
	if (j == NULL)
		return;
	cJSON_AddStringToObject(j, "mode", st->quick ? "quick" : "named");
	if (!st->quick || st->host[0] != '\0') {
		snprintf(u, sizeof(u), "https://%s", st->host);
		cJSON_AddStringToObject(j, "url", u);
	}
	cJSON_AddNumberToObject(j, "agentPid", (double)getpid());
	cJSON_AddNumberToObject(j, "pid", (double)st->pid);
	cJSON_AddStringToObject(j, "state", st->state);
	cJSON_AddNumberToObject(j, "readyConnections", st->ready_conns);
	h = cJSON_AddObjectToObject(j, "lastHealth");
	if (h != NULL && st->have_health) {
		cJSON_AddBoolToObject(h, "ok", st->ok);
		cJSON_AddStringToObject(h, "reason", st->reason);
		cJSON_AddNumberToObject(h, "at", (double)st->at);
	}
	cJSON_AddNumberToObject(j, "restarts", st->restarts);
	cJSON_AddNumberToObject(j, "nextBackoffSecs", st->next_backoff);
	if (st->restart_in_ms >= 0)
		cJSON_AddNumberToObject(j, "restartInMs",
		    (double)st->restart_in_ms);
	text = cJSON_Print(j);
	n = strlen(path) + sizeof(".tmp");
	tmp = malloc(n);
	if (text == NULL || tmp == NULL)
		goto out;
	snprintf(tmp, n, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		goto out;
	if (fio_write_all(fd, text, strlen(text)) == -1 ||
	    fio_write_all(fd, "\n", 1) == -1) {
		close(fd);
		(void)unlink(tmp);
		goto out;
	}
	if (fio_publish(fd, tmp, path) == -1)
		(void)unlink(tmp);
out:
	free(tmp);
	cJSON_free(text);
	cJSON_Delete(j);
}

int
status_path(const char *cfg, char *buf, size_t len)
{
	const char *slash = strrchr(cfg, '/');
	int n;

	if (slash == NULL)
		n = snprintf(buf, len, "tunnel-state.json");
	else
		n = snprintf(buf, len, "%.*s/tunnel-state.json",
		    (int)(slash - cfg), cfg);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A string member of o, escaped into buf (len bytes); "" if none. */
static const char *
esc_member(const cJSON *o, const char *k, char *buf, size_t len)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsString(it))
		return "";
	logsafe_escape(it->valuestring, strlen(it->valuestring), buf, len);
	return buf;
}

static double
num_member(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(it) ? it->valuedouble : 0;
}

int
status_print(const char *path)
{
	/* The file is ours, but its reasons quote cloudflared: escape. */
	char buf[16384], mode[64], url[1200], st8[64], reason[2100];
	const cJSON *h, *it;
	struct stat st;
	cJSON *j;
	FILE *f;
	size_t n;
	int fd;

	/* Not a FIFO or a device: status must never hang on it. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	if (j == NULL)
		return -1;
	esc_member(j, "mode", mode, sizeof(mode));
	esc_member(j, "url", url, sizeof(url));
	esc_member(j, "state", st8, sizeof(st8));
	it = cJSON_GetObjectItemCaseSensitive(j, "agentPid");
	printf("tunnel mode:       %s%s\n", mode, cJSON_IsNumber(it) &&
	    kill((pid_t)it->valuedouble, 0) == -1 && errno == ESRCH ?
	    " (agent not running; last known state)" : "");
	printf("tunnel url:        %s\n", url[0] != '\0' ? url : "(none yet)");
	printf("cloudflared pid:   %.0f (%s)\n", num_member(j, "pid"), st8);
	printf("ready connections: %.0f\n", num_member(j, "readyConnections"));
	h = cJSON_GetObjectItemCaseSensitive(j, "lastHealth");
	if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(h, "ok")))
		printf("last health:       %s: %s\n",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "ok")) ?
		    "ok" : "failed", esc_member(h, "reason", reason,
		    sizeof(reason)));
	else
		printf("last health:       (not checked yet)\n");
	printf("restarts:          %.0f\n", num_member(j, "restarts"));
	printf("next backoff:      %.0f s\n", num_member(j, "nextBackoffSecs"));
	cJSON_Delete(j);
	return 0;
}
