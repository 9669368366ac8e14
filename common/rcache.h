/*
 * rcache: the rendition cache on disk (DESIGN §7), under FILESTOR_CACHE_DIR.
 *
 * A rendition is keyed by its id: the hex of its weak ETag, which hashes
 * the source sha256, the physical key and the canonical query. It lives
 * at <dir>/<first two hex>/<id>.<ext>, written to <dir>/.tmp and renamed
 * into place, so a reader never sees a partial file. Overwriting or
 * deleting the source changes (or ends) the ETag a request computes, so
 * old renditions are never reached again; they age out through eviction.
 *
 * Size bound: RENDITION_CACHE_BYTES (default 1 GiB). rcache_gc() removes
 * the least recently used renditions (mtime; a hit refreshes it at most
 * once an hour) until the total is at most 90% of the bound, and stale
 * temporary files. get runs it after it has written 1/16 of the bound
 * since its last run, and `filestorctl gc` runs it on demand; with N
 * workers the cache may overshoot by about N/16 of the bound in between.
 */
#ifndef FS_RCACHE_H
#define FS_RCACHE_H

#include <stddef.h>

#define RCACHE_ID_MAX		64	/* hex chars of an id */

/*
 * Look up id (hex, at most RCACHE_ID_MAX) with extension ext ("webp").
 * 1 with *path (malloc'd absolute-as-given path; caller frees) and *size
 * on a hit, 0 on a miss, -1 on a bad id or out of memory.
 */
int		 rcache_lookup(const char *dir, const char *id, const char *ext,
		    char **path, long long *size);

/*
 * Store buf[0..len) as id.ext atomically. 0 with *path (malloc'd; may be
 * NULL when the caller passes path == NULL), or -1 (errno says why;
 * the cache is best effort, so callers serve the bytes anyway).
 */
int		 rcache_store(const char *dir, const char *id, const char *ext,
		    const void *buf, size_t len, char **path);

struct rcache_stats {
	long long	 files;		/* renditions kept */
	long long	 bytes;		/* their total size */
	long long	 evicted;	/* renditions removed */
	long long	 evicted_bytes;
	long long	 tmp_removed;	/* stale temporary files removed */
};

/*
 * Evict least recently used renditions until the total is at most 90%
 * of max_bytes (nothing when already under max_bytes), and remove
 * temporary files older than an hour. 0 with st filled, or -1.
 */
int		 rcache_gc(const char *dir, long long max_bytes,
		    struct rcache_stats *st);

/*
 * Called by get after each store of len bytes: runs rcache_gc when this
 * process has written max_bytes/16 since its last run (or never ran).
 */
void		 rcache_note_write(const char *dir, long long max_bytes,
		    size_t len);

#endif
