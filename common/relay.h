/*
 * relay: move a body between the web server and a store through a second
 * thread, so that one side's I/O overlaps the other's. An upload reads
 * the next piece from lighttpd while the previous one is hashed and
 * written to disk (or sent to S3); a download from S3 fetches the next
 * piece while the previous one goes to the client. Without it each side
 * waits for the other, and a large body moves at the sum of their costs
 * rather than the slower of the two.
 *
 * A relay owns a small ring of buffers (nbuf of bufsz bytes, both capped)
 * and one thread, which only ever calls the function it was given; the
 * caller's thread does everything else (FastCGI, SQLite, logging). So the
 * function's state must not be touched by the caller until relay_finish
 * or relay_free returns.
 *
 * Sink (uploads): the caller fills buffers; the thread passes each, in
 * order, to fn(arg, buf, len), which returns 0 or an error code of the
 * caller's choosing (nonzero). After an error the thread calls fn no more
 * and relay_buf returns NULL, so the caller stops reading early.
 *
 *	while ((buf = relay_buf(r, &cap)) != NULL && (n = read(buf, cap)) > 0)
 *		relay_push(r, n);
 *	rc = relay_finish(r);	(waits for every write: 0 or fn's error)
 *	relay_free(r);
 *
 * Source (downloads): the thread fills buffers with fn(arg, buf, cap),
 * which returns bytes, 0 at the end, or -1; the caller takes them with
 * relay_pull. relay_free at any point stops the thread (after its call in
 * progress returns) and frees everything.
 */
#ifndef FS_RELAY_H
#define FS_RELAY_H

#include <stddef.h>
#include <sys/types.h>

#define RELAY_MAX_BUF	(4 * 1024 * 1024)	/* cap of bufsz */
#define RELAY_MAX_NBUF	16			/* cap of nbuf */

struct relay;

typedef int	(*relay_sink_fn)(void *arg, const void *buf, size_t len);
typedef ssize_t	(*relay_source_fn)(void *arg, void *buf, size_t cap);

/* NULL when out of memory or threads, or for sizes out of bounds. */
struct relay	*relay_sink(relay_sink_fn fn, void *arg, int nbuf, size_t bufsz);
struct relay	*relay_source(relay_source_fn fn, void *arg, int nbuf,
		    size_t bufsz);

/*
 * Sink. relay_buf: an empty buffer of *cap bytes, owned by the relay and
 * the caller's until relay_push; NULL once fn has failed. relay_push
 * hands over its first len bytes (len 0 hands back nothing). relay_finish
 * waits until the thread has written everything pushed and stops it;
 * returns 0 or the first error fn returned. Each at most once per buffer.
 */
void		*relay_buf(struct relay *r, size_t *cap);
void		 relay_push(struct relay *r, size_t len);
int		 relay_finish(struct relay *r);

/*
 * Source. The next piece: bytes (*buf points at them, valid until the
 * next relay_pull or relay_free), 0 at the end, -1 when fn failed.
 */
ssize_t		 relay_pull(struct relay *r, const void **buf);

/* Stop the thread if it still runs, and free. NULL is harmless. */
void		 relay_free(struct relay *r);

#endif
