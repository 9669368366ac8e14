/*
 * sget: the storage GET and HEAD handler (DESIGN §5, §6, §7), shared by
 * two programs so that no raw download ever waits behind an image
 * transform (docs/transforms.md, "Isolation"):
 *
 *   get        raw downloads only; the web server routes every storage
 *              GET whose query is empty or a lone ?token= here. A
 *              transform that reaches it anyway (a server config that
 *              predates the transform program) is refused with 500 and
 *              a log line, after authorization, rather than run in the
 *              pool that must stay free for downloads.
 *   transform  everything else: transforms, bounded per host by tslot
 *              (503 with Retry-After when every slot is busy), and any
 *              raw GET whose query the routing could not tell apart.
 */
#ifndef SGET_H
#define SGET_H

enum sget_mode {
	SGET_RAW = 0,		/* get */
	SGET_TRANSFORM,		/* transform: ImageMagick set up by the caller */
};

/*
 * Run the FastCGI accept loop as program name. For SGET_TRANSFORM the
 * caller has already called img_init() and tslot_init(), and calls
 * img_done() after. Returns the exit status.
 */
int	 sget_main(const char *name, enum sget_mode m, int argc, char *argv[]);

#endif
