/*
 * lim: the descriptor budget and the per-client counts (see lim.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lim.h"

#define BUCKETS	256

void
lim_budget(unsigned long long nofile, unsigned *downloads,
    unsigned *connections)
{
	unsigned long long d = 1;

	if (nofile > LIM_FD_RESERVE + LIM_HEALTH_RESERVE + 2)
		d = (nofile - LIM_FD_RESERVE - LIM_HEALTH_RESERVE) / 2;
	if (d > LIM_DOWNLOADS_MAX)
		d = LIM_DOWNLOADS_MAX;
	*downloads = (unsigned)d;
	*connections = (unsigned)d + LIM_HEALTH_RESERVE;
}

int
lim_is_proxy(const struct sockaddr *sa)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };

	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		return in4->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	if (sa->sa_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
		return 1;
	return memcmp(in6->sin6_addr.s6_addr, mapped, 12) == 0 &&
	    in6->sin6_addr.s6_addr[12] == 127 &&
	    in6->sin6_addr.s6_addr[13] == 0 &&
	    in6->sin6_addr.s6_addr[14] == 0 &&
	    in6->sin6_addr.s6_addr[15] == 1;
}

int
lim_client_key(const struct sockaddr *sa, const char *cf_ip,
    char key[LIM_KEY_MAX])
{
	unsigned char buf[sizeof(struct in6_addr)];
	char tmp[LIM_KEY_MAX];

	key[0] = '\0';
	/* Canonical form, so "::ffff:1.2.3.4" and "0:0::1" count once. */
	if (cf_ip != NULL && lim_is_proxy(sa) && strlen(cf_ip) < sizeof(tmp)) {
		if (inet_pton(AF_INET, cf_ip, buf) == 1 &&
		    inet_ntop(AF_INET, buf, key, LIM_KEY_MAX) != NULL)
			return 0;
		if (inet_pton(AF_INET6, cf_ip, buf) == 1 &&
		    inet_ntop(AF_INET6, buf, key, LIM_KEY_MAX) != NULL)
			return 0;
	}
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET && inet_ntop(AF_INET,
	    &((const struct sockaddr_in *)sa)->sin_addr, key,
	    LIM_KEY_MAX) != NULL)
		return 0;
	if (sa->sa_family == AF_INET6 && inet_ntop(AF_INET6,
	    &((const struct sockaddr_in6 *)sa)->sin6_addr, key,
	    LIM_KEY_MAX) != NULL)
		return 0;
	key[0] = '\0';
	return -1;
}

/* --- the table: chained buckets, an entry lives while its count > 0 */

struct entry {
	struct entry	*next;
	unsigned	 n;
	char		 key[LIM_KEY_MAX];
};

struct lim_table {
	pthread_mutex_t	 mu;
	struct entry	*b[BUCKETS];
};

static unsigned
bucket(const char *key)
{
	unsigned h = 2166136261U;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619U;
	return h % BUCKETS;
}

struct lim_table *
lim_table_new(void)
{
	struct lim_table *t = calloc(1, sizeof(*t));

	if (t != NULL)
		pthread_mutex_init(&t->mu, NULL);
	return t;
}

void
lim_table_free(struct lim_table *t)
{
	struct entry *e, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < BUCKETS; i++)
		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* The entry for key in its bucket, and the link that points to it. */
static struct entry *
find(struct lim_table *t, const char *key, struct entry ***link)
{
	struct entry **pp = &t->b[bucket(key)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			break;
	*link = pp;
	return *pp;
}

int
lim_take(struct lim_table *t, const char *key, unsigned limit)
{
	struct entry *e, **link;
	int rc = 1;

	if (strlen(key) >= LIM_KEY_MAX)
		return -1;
	if (limit == 0)
		return 0;
	pthread_mutex_lock(&t->mu);
	e = find(t, key, &link);
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL) {
			rc = -1;
			goto out;
		}
		memcpy(e->key, key, strlen(key) + 1);
		*link = e;
	}
	if (e->n >= limit)
		rc = 0;
	else
		e->n++;
out:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

void
lim_give(struct lim_table *t, const char *key)
{
	struct entry *e, **link;

	pthread_mutex_lock(&t->mu);
	e = find(t, key, &link);
	if (e != NULL && e->n > 0)
		e->n--;
	if (e != NULL && e->n == 0) {
		*link = e->next;
		free(e);
	}
	pthread_mutex_unlock(&t->mu);
}

unsigned
lim_held(struct lim_table *t, const char *key)
{
	struct entry *e, **link;
	unsigned n;

	pthread_mutex_lock(&t->mu);
	e = find(t, key, &link);
	n = e != NULL ? e->n : 0;
	pthread_mutex_unlock(&t->mu);
	return n;
}
