/*
 * relay: a ring of buffers between the caller's thread and one helper
 * thread (see relay.h). One mutex guards the ring; the helper thread
 * never holds it while it calls fn, nor the caller while it reads or
 * writes a buffer it owns.
 *
 * Slots: `head` is the oldest full slot, `count` the number of full ones
 * (including, for a source, the one the caller is reading). The producer
 * fills slot (head + count) % nbuf, which is never a full one.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

enum relay_kind { RELAY_SINK, RELAY_SOURCE };

struct relay_slot {
	unsigned char	*buf;
	size_t		 len;
};

struct relay {
	enum relay_kind		 kind;
	relay_sink_fn		 sink;
	relay_source_fn		 source;
	void			*arg;
	size_t			 bufsz;
	int			 nbuf;
	struct relay_slot	*slot;

	pthread_mutex_t		 mu;
	pthread_cond_t		 data;	/* a slot was filled, or the end */
	pthread_cond_t		 space;	/* a slot was emptied, or a stop */
	pthread_t		 thread;
	int			 started;	/* thread exists, not joined */
	int			 head, count;
	int			 eof;		/* sink: nothing more to push */
	int			 stop;		/* relay_free: give up now */
	int			 err;		/* sink: fn's first error */
	int			 ended;		/* source: fn returned <= 0 */
	ssize_t			 end;		/* source: what it returned */
	int			 holding;	/* source: caller has head */
};

static void *
sink_main(void *p)
{
	struct relay *r = p;
	struct relay_slot *s;
	int rc;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->count == 0 && !r->eof && !r->stop)
			pthread_cond_wait(&r->data, &r->mu);
		if (r->stop || r->count == 0)
			break;
		s = &r->slot[r->head];
		rc = 0;
		if (r->err == 0) {
			pthread_mutex_unlock(&r->mu);
			rc = r->sink(r->arg, s->buf, s->len);
			pthread_mutex_lock(&r->mu);
		}
		if (rc != 0 && r->err == 0)
			r->err = rc;
		r->head = (r->head + 1) % r->nbuf;
		r->count--;
		pthread_cond_signal(&r->space);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void *
source_main(void *p)
{
	struct relay *r = p;
	struct relay_slot *s;
	ssize_t n;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->count == r->nbuf && !r->stop)
			pthread_cond_wait(&r->space, &r->mu);
		if (r->stop)
			break;
		s = &r->slot[(r->head + r->count) % r->nbuf];
		pthread_mutex_unlock(&r->mu);
		n = r->source(r->arg, s->buf, r->bufsz);
		pthread_mutex_lock(&r->mu);
		if (n <= 0 || (size_t)n > r->bufsz) {
			r->ended = 1;
			r->end = n == 0 ? 0 : -1;
			pthread_cond_signal(&r->data);
			break;
		}
		s->len = (size_t)n;
		r->count++;
		pthread_cond_signal(&r->data);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static struct relay *
relay_new(enum relay_kind kind, relay_sink_fn sink, relay_source_fn source,
    void *arg, int nbuf, size_t bufsz)
{
	struct relay *r = NULL;
	int i;

	if (nbuf < 2 || nbuf > RELAY_MAX_NBUF || bufsz == 0 ||
	    bufsz > RELAY_MAX_BUF)
		goto fail;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto fail;
	r->kind = kind;
	r->sink = sink;
	r->source = source;
	r->arg = arg;
	r->nbuf = nbuf;
	r->bufsz = bufsz;
	r->slot = calloc((size_t)nbuf, sizeof(*r->slot));
	if (r->slot == NULL)
		goto fail;
	for (i = 0; i < nbuf; i++) {
		r->slot[i].buf = malloc(bufsz);
		if (r->slot[i].buf == NULL)
			goto fail;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->data, NULL);
	pthread_cond_init(&r->space, NULL);
	if (pthread_create(&r->thread, NULL, kind == RELAY_SINK ? sink_main :
	    source_main, r) != 0) {
		pthread_cond_destroy(&r->space);
		pthread_cond_destroy(&r->data);
		pthread_mutex_destroy(&r->mu);
		goto fail;
	}
	r->started = 1;
	return r;
fail:
	if (r != NULL && r->slot != NULL)
		for (i = 0; i < r->nbuf; i++)
			free(r->slot[i].buf);
	if (r != NULL)
		free(r->slot);
	free(r);
	return NULL;
}

struct relay *
relay_sink(relay_sink_fn fn, void *arg, int nbuf, size_t bufsz)
{
	if (fn == NULL)
		return NULL;
	return relay_new(RELAY_SINK, fn, NULL, arg, nbuf, bufsz);
}

struct relay *
relay_source(relay_source_fn fn, void *arg, int nbuf, size_t bufsz)
{
	if (fn == NULL)
		return NULL;
	return relay_new(RELAY_SOURCE, NULL, fn, arg, nbuf, bufsz);
}

void *
relay_buf(struct relay *r, size_t *cap)
{
	void *b = NULL;

	if (r == NULL || r->kind != RELAY_SINK || !r->started)
		return NULL;
	pthread_mutex_lock(&r->mu);
	while (r->count == r->nbuf && r->err == 0)
		pthread_cond_wait(&r->space, &r->mu);
	if (r->err == 0) {
		b = r->slot[(r->head + r->count) % r->nbuf].buf;
		*cap = r->bufsz;
	}
	pthread_mutex_unlock(&r->mu);
	return b;
}

void
relay_push(struct relay *r, size_t len)
{
	if (r == NULL || r->kind != RELAY_SINK || !r->started || len == 0)
		return;
	if (len > r->bufsz)
		len = r->bufsz;
	pthread_mutex_lock(&r->mu);
	/* relay_buf returned this slot; it is still the free one. */
	if (r->count < r->nbuf) {
		r->slot[(r->head + r->count) % r->nbuf].len = len;
		r->count++;
		pthread_cond_signal(&r->data);
	}
	pthread_mutex_unlock(&r->mu);
}

int
relay_finish(struct relay *r)
{
	if (r == NULL || r->kind != RELAY_SINK)
		return -1;
	if (r->started) {
		pthread_mutex_lock(&r->mu);
		r->eof = 1;
		pthread_cond_signal(&r->data);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
		r->started = 0;
	}
	return r->err;
}

ssize_t
relay_pull(struct relay *r, const void **buf)
{
	ssize_t n = -1;

	*buf = NULL;
	if (r == NULL || r->kind != RELAY_SOURCE)
		return -1;
	pthread_mutex_lock(&r->mu);
	if (r->holding) {
		r->head = (r->head + 1) % r->nbuf;
		r->count--;
		r->holding = 0;
		pthread_cond_signal(&r->space);
	}
	while (r->count == 0 && !r->ended)
		pthread_cond_wait(&r->data, &r->mu);
	if (r->count > 0) {
		*buf = r->slot[r->head].buf;
		n = (ssize_t)r->slot[r->head].len;
		r->holding = 1;
	} else
		n = r->end;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void
relay_free(struct relay *r)
{
	int i;

	if (r == NULL)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_broadcast(&r->data);
		pthread_cond_broadcast(&r->space);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->thread, NULL);
	}
	pthread_cond_destroy(&r->space);
	pthread_cond_destroy(&r->data);
	pthread_mutex_destroy(&r->mu);
	for (i = 0; i < r->nbuf; i++)
		free(r->slot[i].buf);
	free(r->slot);
	free(r);
}
