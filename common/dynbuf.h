/*
 * dynbuf: a growable byte buffer with a hard cap, in the spirit of curl's
 * lib/dynbuf.c. The one buffer for anything that grows from input.
 *
 * Invariants:
 *   - len <= cap, always; buf is NULL (nothing added yet) or holds len
 *     bytes and a NUL after them (so text can be used as a C string;
 *     binary may hold NULs).
 *   - An add that would pass cap, or that cannot get memory, frees the
 *     whole buffer and fails: a caller never goes on with a truncated
 *     value. The buffer is then empty and usable again.
 *   - The buffer owns buf until dynbuf_take() hands it over.
 *
 * A struct dynbuf needs no allocation until the first add, so it can live
 * on the stack; dynbuf_free() on one that was never added to is harmless.
 */
#ifndef FS_DYNBUF_H
#define FS_DYNBUF_H

#include <stddef.h>

#include "err.h"

#define DYNBUF_WUR	__attribute__((warn_unused_result))

struct dynbuf {
	char	*buf;		/* NULL until the first add; owned */
	size_t	 len;		/* bytes held, without the NUL */
	size_t	 alloc;		/* bytes allocated */
	size_t	 cap;		/* len never passes this */
};

/* An empty buffer that will refuse to hold more than cap bytes. */
void		 dynbuf_init(struct dynbuf *d, size_t cap);
/* Release the memory; d is empty (same cap) after. */
void		 dynbuf_free(struct dynbuf *d);
/* Forget the contents and keep the memory. */
void		 dynbuf_reset(struct dynbuf *d);

/*
 * Append n bytes of p. FS_OK; FS_TOO_LARGE when len + n would pass cap;
 * FS_INTERNAL when out of memory. On failure d is freed (see above).
 */
enum fs_err	 dynbuf_add(struct dynbuf *d, const void *p, size_t n)
		    DYNBUF_WUR;
/* Append a C string (without its NUL). As dynbuf_add. */
enum fs_err	 dynbuf_addstr(struct dynbuf *d, const char *s) DYNBUF_WUR;
/* Append printf output. As dynbuf_add (an encoding error: FS_INTERNAL). */
enum fs_err	 dynbuf_addf(struct dynbuf *d, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3))) DYNBUF_WUR;

/* The bytes, NUL terminated: "" when empty, never NULL. */
const char	*dynbuf_ptr(const struct dynbuf *d);
size_t		 dynbuf_len(const struct dynbuf *d);
/*
 * Hand the bytes to the caller, who frees them with free(): a malloc'd
 * NUL-terminated copy of "" when the buffer is empty, NULL when out of
 * memory. *len (may be NULL) gets the length. d is empty after.
 */
char		*dynbuf_take(struct dynbuf *d, size_t *len);

#endif
