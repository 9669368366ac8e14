/*
 * imgdec: scaled decoders for the transform pipeline (img.c, issue 21).
 *
 * ImageMagick 6 decodes every format but JPEG at full size into a 16-bit
 * pixel cache, then resizes: a 12 MP WebP costs a full decode and a
 * 12 MP Lanczos pass, and about 100 MB. These decoders instead hand back
 * 8-bit (16-bit for 16-bit PNG) interleaved pixels already shrunk by an
 * integer factor, to between 2 and 4 times the output size (WebP: twice), so that the
 * Lanczos resize that follows in img.c has little left to do, and memory
 * follows the output, not the source:
 *
 *   WebP       libwebp's own scaled decode (use_scaling), fed in chunks
 *              so that the time limit is checked while it decodes
 *   PNG        libpng, row by row, each row box-averaged into one output
 *              row as it arrives: one source row in memory, never the
 *              whole image
 *   GIF        giflib, first frame, row by row, box-averaged likewise
 *   AVIF/HEIC  libheif: an embedded thumbnail when one is at least the
 *              output size, else the primary image (AV1/HEVC cannot
 *              decode at a reduced size), then box-averaged
 *
 * JPEG is not here: ImageMagick's jpeg:size already shrinks it in libjpeg.
 *
 * The data is untrusted. imgdec_open() parses the header only, so that
 * the caller checks the pixel cap before any pixel is decoded;
 * imgdec_read() checks it again, and each library gets its own size
 * limits. Files these decoders do not handle (interlaced PNG and GIF,
 * animated WebP, images with more than 4 channels...) answer
 * IMGDEC_UNSUPPORTED and the caller uses ImageMagick as before. Every
 * decoder has a libFuzzer harness in fuzz/.
 */
#ifndef FS_IMGDEC_H
#define FS_IMGDEC_H

#include <stddef.h>

#include "img.h"

enum imgdec_rc {
	IMGDEC_OK = 0,
	IMGDEC_UNSUPPORTED,	/* valid, maybe, but not ours: use ImageMagick */
	IMGDEC_BAD,		/* does not decode (corrupt, truncated) */
	IMGDEC_LIMIT,		/* over the pixel cap or a side limit */
	IMGDEC_TIMEOUT,		/* the deadline passed while decoding */
	IMGDEC_NOMEM,
};

#define IMGDEC_SIDE_MAX	16384	/* per side, as ImageMagick's width and
				   height resources in img_init() */

/* Decoded pixels: h rows of w * channels samples, no padding. */
struct imgdec_image {
	unsigned char	*px;		/* owned; imgdec_image_free() */
	long		 w, h;
	int		 channels;	/* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
	int		 depth;		/* 8, or 16 (host-order uint16_t) */
};

struct imgdec;

/*
 * 1 when f has a decoder here (PNG, WebP, GIF, AVIF/HEIC), else 0.
 */
int		 imgdec_handles(enum img_format f);

/*
 * Parse the header of src[0..len), which must stay valid until
 * imgdec_close(). Returns a handle (close it with imgdec_close), or NULL
 * with *rc set (never IMGDEC_OK) and a detail for the log in why
 * (IMG_MSG_MAX). Decodes no pixels.
 */
struct imgdec	*imgdec_open(enum img_format f, const void *src, size_t len,
		    enum imgdec_rc *rc, char *why);
/* The source size from the header, as it will be shown (HEIF's
   rotations applied). */
void		 imgdec_size(const struct imgdec *d, long *w, long *h);

/*
 * The integer box factor that shrinks sw x sh to no less than twice
 * tw x th (1 when it cannot shrink). Pure; img.c uses it to decide.
 */
int		 imgdec_factor(long sw, long sh, long tw, long th);

/*
 * Decode, shrunk for an output of tw x th (>= 1): *img is at least
 * tw x th, shrunk by imgdec_factor() (WebP: by libwebp's scaler, to
 * twice tw x th on the tighter side). Refuses sources over max_pixels (IMGDEC_LIMIT) and
 * stops when the CLOCK_MONOTONIC millisecond deadline passes
 * (IMGDEC_TIMEOUT; libheif cannot be interrupted, so for AVIF and HEIC
 * it is checked after the decode). On failure *img is empty and why
 * (IMG_MSG_MAX) says why, for the log. Call it once per handle.
 */
enum imgdec_rc	 imgdec_read(struct imgdec *d, long tw, long th,
		    long long max_pixels, long long deadline,
		    struct imgdec_image *img, char *why);

/* NULL is harmless. */
void		 imgdec_close(struct imgdec *d);
/* Frees img->px and empties *img; an empty image is harmless. */
void		 imgdec_image_free(struct imgdec_image *img);

/* Milliseconds on CLOCK_MONOTONIC, the clock of the deadlines. */
long long	 imgdec_now_ms(void);

#endif
