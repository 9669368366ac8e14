/*
 * transform: GET and HEAD /api/storage/<key> with image transform
 * parameters (DESIGN §7), in a pool of its own (docs/transforms.md,
 * "Isolation"). The handler, authorization included, is common/sget.c,
 * the same code get runs; this program adds ImageMagick's setup, the
 * policy's resource ceilings, a lower CPU priority and the per-host
 * concurrency slots.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <wand/MagickWand.h>

#include "cfg.h"
#include "img.h"
#include "sget.h"
#include "tslot.h"

#define MAGICK_TMP	".magick"	/* below FILESTOR_CACHE_DIR */

/*
 * The resource ceilings the policy must set (etc/imagemagick/
 * policy.xml). img_init() sets the same limits from the environment, but
 * the policy is the ceiling nothing in the process can raise: without
 * one, a wrong TRANSFORM_MEMORY_BYTES would let one transform take the
 * host's memory, and its pixel cache the host's disk.
 */
static const char *const ceilings[] = { "memory", "map", "disk", "area",
    "width", "height" };

static int
policy_check(char *err, size_t errlen)
{
	char *v;
	size_t i;

	for (i = 0; i < sizeof(ceilings) / sizeof(ceilings[0]); i++) {
		v = GetPolicyValue(ceilings[i]);
		if (v == NULL || v[0] == '\0') {
			snprintf(err, errlen, "the ImageMagick policy sets no %s "
			    "limit: use Filestor's etc/imagemagick/policy.xml "
			    "(MAGICK_CONFIGURE_PATH)", ceilings[i]);
			free(v);
			return -1;
		}
		(void)DestroyString(v);
	}
	return 0;
}

/*
 * TRANSFORM_NICE (cfg.h: 0..19, default 19): transforms yield the CPU to every
 * other program on the host, raw downloads first. Set here rather than
 * by the pool, so that it holds under mod_fcgid too.
 */
static int
lower_priority(const struct cfg *c, char *err, size_t errlen)
{
	int n = (int)c->transform.nice;

	/* Only ever lowers the priority: an unprivileged worker cannot
	   raise it back, which is what we want. */
	if (n > 0 && getpriority(PRIO_PROCESS, 0) < n &&
	    setpriority(PRIO_PROCESS, 0, n) == -1) {
		snprintf(err, errlen, "cannot lower the CPU priority: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A pixel cache over the memory limit goes to files (the map and disk
 * resources). ImageMagick puts them in $TMPDIR by default, which the
 * workers' user may not be able to write, and which is often a small
 * tmpfs. Unless MAGICK_TEMPORARY_PATH says otherwise, they go below the
 * rendition cache, which the workers own, and the policy's disk limit
 * bounds them.
 */
static int
temporary_path(const struct cfg *c, char *err, size_t errlen)
{
	const char *cache = c->cache_dir;
	char path[4096];

	if (c->transform.magick_tmp != NULL)
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", cache, MAGICK_TMP) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "FILESTOR_CACHE_DIR is too long");
		return -1;
	}
	if ((mkdir(cache, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(path, 0700) == -1 && errno != EEXIST) ||
	    setenv("MAGICK_TEMPORARY_PATH", path, 1) == -1) {
		snprintf(err, errlen, "cannot make %.200s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct cfg c;
	char err[512];
	int rc;

	/*
	 * ImageMagick is set up once, before the accept loop: limits, and
	 * a check that the restrictive policy is in force, coders and
	 * ceilings. Without it the program refuses to start rather than
	 * transform under an open policy. The settings are read here for
	 * that, before app_main reads them again for itself.
	 */
	if (argc <= 1) {
		if (cfg_load(&c, 0, err, sizeof(err)) == -1) {
			fprintf(stderr, "transform: refusing to start: %s\n",
			    err);
			return 1;
		}
		tslot_init(c.transform.concurrency);
		if (lower_priority(&c, err, sizeof(err)) == -1 ||
		    temporary_path(&c, err, sizeof(err)) == -1 ||
		    img_init(&c.transform, err, sizeof(err)) == -1 ||
		    policy_check(err, sizeof(err)) == -1) {
			fprintf(stderr, "transform: refusing to start: %s\n",
			    err);
			cfg_free(&c);
			img_done();
			return 1;
		}
		cfg_free(&c);
	}
	rc = sget_main("transform", SGET_TRANSFORM, argc, argv);
	img_done();
	return rc;
}
