/*
 * fetch: one libcurl call (see fetch.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "fetch.h"

struct sink {
	struct fetch_body	*b;
	size_t			 max;
	int			 cut;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *cls)
{
	struct sink *k = cls;
	size_t n = size * nmemb, room = k->max - k->b->len;

	if (n > room) {
		if (!k->cut)
			return 0;	/* libcurl fails the call */
		n = room;
	}
	memcpy(k->b->buf + k->b->len, data, n);
	k->b->len += n;
	k->b->buf[k->b->len] = '\0';
	return size * nmemb;
}

long
fetch_do(const struct fetch *f, struct fetch_body *b, char *err,
    size_t errlen)
{
	struct sink k = { b, f->max, f->cut };
	CURL *cu = NULL;
	CURLcode cc;
	long code = -1;

	b->len = 0;
	/* The whole cap at once: no realloc leaves copies of a secret. */
	b->buf = malloc(f->max + 1);
	if (b->buf != NULL)
		b->buf[0] = '\0';
	cu = curl_easy_init();
	if (cu == NULL || b->buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	curl_easy_setopt(cu, CURLOPT_URL, f->url);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, f->timeout_ms);
	if (f->connect_ms > 0)
		curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, f->connect_ms);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	if (f->hdrs != NULL)
		curl_easy_setopt(cu, CURLOPT_HTTPHEADER, f->hdrs);
	if (f->post != NULL)
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, f->post);
	cc = curl_easy_perform(cu);
	if (cc == CURLE_OK)
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
	else
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
out:
	curl_easy_cleanup(cu);
	return code;
}

void
fetch_free(struct fetch_body *b)
{
	if (b == NULL || b->buf == NULL)
		return;
	cry_wipe(b->buf, b->len);
	free(b->buf);
	b->buf = NULL;
	b->len = 0;
}
