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

struct app;
struct request;
struct file_row;

/*
 * How the S3 endpoint (cgi-bin/s3.c) changes an original's answer; all
 * zero (NULL) for the storage GET's own.
 */
struct sget_opts {
	const char	*etag;		/* quoted ETag to send and match;
					   NULL: the row's sha256 */
	const char	*ctype;		/* Content-Type instead of the row's */
	const char	*cache_control;	/* instead of "private, no-cache" */
	const char	*disposition;	/* Content-Disposition to send */
	int		 no_redirect;	/* never 302 to the bucket */
	/* Answers an unsatisfiable Range (Content-Range is set). */
	void		(*range_error)(struct request *r, long long size);
};

/*
 * Serve the bytes of row f (GET or HEAD), readable by the caller: the
 * conditional GET (If-None-Match, If-Modified-Since, Range, If-Range),
 * then X-Sendfile, a stream from the store, or a 302 to the bucket
 * (S3_REDIRECT). Headers the caller added before stay on a 200, 206 or
 * 304. Ends the read snapshot.
 */
void	 sget_original(struct app *a, struct request *r,
	    const struct file_row *f, const char *logical,
	    const struct sget_opts *o);

#endif
