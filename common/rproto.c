/*
 * rproto: the WS relay's wire formats (see rproto.h, docs/relay.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cry.h"
#include "rproto.h"

void
rp_peer_key(const unsigned char *secret, size_t len, unsigned char key[32])
{
	static const char label[] = "filestor relay-peer v1";

	cry_hmac_sha256(secret, len, label, sizeof(label) - 1, key);
}

void
rp_mac(const unsigned char key[32], const char *nonce, const char *req,
    size_t len, char out[RP_MAC_HEX + 1])
{
	unsigned char inner[32], mac[32];
	char buf[RP_NONCE_HEX + 1 + 64 + 1];
	size_t nl = strlen(nonce);

	/*
	 * HMAC(key, nonce "\n" req) in two steps, to avoid a copy of req:
	 * HMAC(key, nonce "\n" hex(SHA-256(req))) binds the same bytes.
	 */
	cry_sha256(req, len, inner);
	if (nl > RP_NONCE_HEX)
		nl = RP_NONCE_HEX;
	memcpy(buf, nonce, nl);
	buf[nl] = '\n';
	cry_hex(inner, sizeof(inner), buf + nl + 1);
	cry_hmac_sha256(key, 32, buf, nl + 1 + 64, mac);
	cry_hex(mac, sizeof(mac), out);
	cry_wipe(mac, sizeof(mac));
}

int
rp_mac_ok(const unsigned char key[32], const char *nonce, const char *req,
    size_t len, const char *mac)
{
	char want[RP_MAC_HEX + 1];
	int ok;

	if (strlen(mac) != RP_MAC_HEX)
		return 0;
	rp_mac(key, nonce, req, len, want);
	ok = cry_eq(want, mac, RP_MAC_HEX);
	cry_wipe(want, sizeof(want));
	return ok;
}

void
rp_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
rp_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
rp_num(const cJSON *msg, const char *name, long long lo, long long hi,
    long long *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(msg, name);
	double d;

	if (!cJSON_IsNumber(n))
		return -1;
	d = n->valuedouble;
	/* Doubles hold integers exactly up to 2^53: enough for sizes. */
	if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi ||
	    d > 9007199254740992.0)
		return -1;
	*v = (long long)d;
	return 0;
}

uint32_t
rp_stream_id(const cJSON *msg)
{
	long long v;

	if (rp_num(msg, "id", 1, INT32_MAX, &v) == -1)
		return 0;
	return (uint32_t)v;
}

const char *
rp_str(const cJSON *msg, const char *name)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(msg, name);

	return cJSON_IsString(s) ? s->valuestring : NULL;
}

cJSON *
rp_error(enum fs_err e, const char *message)
{
	cJSON *j, *err;

	j = cJSON_CreateObject();
	if (j == NULL)
		return NULL;
	cJSON_AddNumberToObject(j, "status", err_status(e));
	err = cJSON_AddObjectToObject(j, "error");
	if (err == NULL ||
	    cJSON_AddStringToObject(err, "code", err_code(e)) == NULL ||
	    cJSON_AddStringToObject(err, "message", message != NULL ? message :
	    err_strerror(e)) == NULL) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

enum fs_err
rp_err_of(long long status)
{
	int e;

	for (e = FS_VALIDATION; e < FS_ERR__COUNT; e++)
		if (e != FS_METHOD && err_status((enum fs_err)e) == status)
			return (enum fs_err)e;
	return FS_INTERNAL;
}

void
rp_queue_init(struct rp_queue *q)
{
	q->head = NULL;
	q->tail = &q->head;
}

int
rp_queue_json(struct rp_queue *q, const cJSON *j, size_t pre)
{
	struct rp_msg *m;
	char *s;
	size_t n;

	s = cJSON_PrintUnformatted(j);
	if (s == NULL)
		return -1;
	n = strlen(s);
	m = malloc(sizeof(*m) + pre + n);
	if (m == NULL) {
		free(s);
		return -1;
	}
	m->next = NULL;
	m->len = n;
	memcpy(m->buf + pre, s, n);
	free(s);
	*q->tail = m;
	q->tail = &m->next;
	return 0;
}

void
rp_queue_pop(struct rp_queue *q)
{
	struct rp_msg *m = q->head;

	if (m == NULL)
		return;
	q->head = m->next;
	if (q->head == NULL)
		q->tail = &q->head;
	free(m);
}

void
rp_queue_clear(struct rp_queue *q)
{
	while (q->head != NULL)
		rp_queue_pop(q);
}
