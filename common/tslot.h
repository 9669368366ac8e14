/*
 * tslot: a per-host cap on concurrent image transforms, held across
 * worker processes and programs (docs/transforms.md, "Concurrency").
 *
 * The slots are TRANSFORM_CONCURRENCY lock files <cache dir>/.slots/<i>.
 * A transform holds one with flock() while it reads its source and runs
 * ImageMagick. The kernel drops the lock when the holder closes it or
 * dies (kill -9, OOM), so a slot never leaks. The rendition cache's
 * eviction skips dot-directories, so it never removes them.
 */
#ifndef TSLOT_H
#define TSLOT_H

#include <stddef.h>

#define TSLOT_MAX	64	/* most slots TRANSFORM_CONCURRENCY may ask for */
#define TSLOT_DIR	".slots"

/*
 * Process setup: n slots, TRANSFORM_CONCURRENCY (cfg.h: 1..TSLOT_MAX,
 * by default the number of online CPUs).
 */
void	 tslot_init(long long n);
/* The number of slots tslot_init settled on. */
int	 tslot_count(void);
/*
 * Take a free slot below cache_dir (creating the lock files as needed).
 * Returns a descriptor that holds it (release with tslot_release), -1
 * with errno EBUSY when every slot is held, or -1 with another errno
 * when the lock files cannot be made.
 */
int	 tslot_acquire(const char *cache_dir);
/* Give a slot back; -1 is harmless. */
void	 tslot_release(int fd);

#endif
