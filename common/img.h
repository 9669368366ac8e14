/*
 * img: image transforms on GET (DESIGN §7).
 *
 * Two halves. The parameter half is pure: one validator per parameter,
 * the canonical query, the magic-byte sniffer and the output geometry.
 * Unit tests and fuzzers reach it without ImageMagick state. The pipeline
 * half wraps MagickWand: img_init() once per process (limits, policy
 * self-check), img_transform() per request, img_done() at exit.
 *
 * Pipeline (img_transform): sniff the magic bytes against the allowlist
 * (JPEG, PNG, WebP, GIF, AVIF/HEIC) before ImageMagick sees a byte; read
 * the size from the header (imgdec.h for PNG, WebP, GIF and AVIF/HEIC;
 * an ImageMagick ping with the sniffed coder forced, no format guessing,
 * for JPEG); refuse sources over the pixel cap; decode the first frame
 * only, already shrunk where the format allows (JPEG: jpeg:size; the
 * others: the scaled decoders of imgdec.h, whose pixels go to the wand);
 * auto-orient; resize (Lanczos, never enlarging); crop around the focal
 * point for cover; strip metadata; encode. The time limit is checked
 * while decoding, resizing and encoding.
 */
#ifndef FS_IMG_H
#define FS_IMG_H

#include <stddef.h>

#include "cfg.h"
#include "err.h"

#define IMG_DIM_MAX		4096	/* width, height: 1..IMG_DIM_MAX */
#define IMG_QUALITY_DEFAULT	80
#define IMG_AVIF_MAX		1200	/* AVIF output is capped to this per
					   side, as Cloudflare does: AV1
					   encoding is slow and memory-heavy */
#define IMG_CANON_MAX		128	/* bytes of a canonical query */
#define IMG_MSG_MAX		128	/* bytes of a validation message */

enum img_format {
	IMG_NONE = 0,	/* not an image we accept */
	IMG_JPEG,
	IMG_PNG,
	IMG_WEBP,
	IMG_AVIF,	/* AVIF or HEIC (one ISO-BMFF coder) */
	IMG_GIF,	/* source only: never an output format */
};

enum img_fit {
	IMG_CONTAIN = 0,	/* fit inside the box, keep the aspect */
	IMG_COVER,		/* fill the box, crop around focal */
};

/* Bits of img_params.given. */
#define IMG_P_WIDTH	0x01
#define IMG_P_HEIGHT	0x02
#define IMG_P_QUALITY	0x04
#define IMG_P_FORMAT	0x08
#define IMG_P_FIT	0x10
#define IMG_P_FOCAL	0x20

struct img_params {
	unsigned	 given;		/* IMG_P_* bits of what the query named */
	int		 width;		/* 0: follows the other side / source */
	int		 height;
	int		 quality;	/* 1..100; 0: default */
	enum img_format	 format;	/* IMG_NONE: from the source type */
	enum img_fit	 fit;
	int		 focal_x;	/* percent; default 50,50 */
	int		 focal_y;
};

/* Pure validators: 0 with *out set, or -1 (the value is not allowed). */
int		 img_parse_dim(const char *v, int *out);
int		 img_parse_quality(const char *v, int *out);
int		 img_parse_format(const char *v, enum img_format *out);
int		 img_parse_fit(const char *v, enum img_fit *out);
int		 img_parse_focal(const char *v, int *x, int *y);

/* 1 when name is a transform parameter, else 0. */
int		 img_param_known(const char *name);
/* Zero p and fill the defaults. */
void		 img_params_init(struct img_params *p);
/*
 * Apply one query parameter (name must be img_param_known). Returns 0,
 * or -1 with a message naming the parameter in msg (IMG_MSG_MAX): a bad
 * value, a NUL inside the value, or a parameter given twice.
 */
int		 img_params_set(struct img_params *p, const char *name,
		    const char *value, size_t value_len, char *msg);

/*
 * Output format: p->format, or else the default for the source's
 * Content-Type (jpeg, png, webp, avif; gif becomes png; anything else
 * jpeg, which a non-image then fails at the sniff with 422).
 */
enum img_format	 img_output_format(const struct img_params *p,
		    const char *content_type);
/*
 * The canonical query: transform parameters only, fixed order, defaults
 * filled, ignored values normalized (focal without cover, quality of a
 * lossless output), e.g.
 * "width=400&height=auto&fit=contain&focal=50,50&format=webp&quality=80".
 */
void		 img_canonical(const struct img_params *p, enum img_format out,
		    char buf[IMG_CANON_MAX]);
/*
 * Cloudflare image-resizing options for the same transform
 * ("width=400,fit=scale-down,format=webp,quality=80"). Our modes never
 * enlarge, so contain maps to scale-down and cover to crop.
 */
void		 img_cloudflare_options(const struct img_params *p,
		    enum img_format out, char buf[IMG_CANON_MAX]);

/* "jpeg", "png", "webp", "avif", "gif"; "" for IMG_NONE. */
const char	*img_format_name(enum img_format f);
/* "image/jpeg"... */
const char	*img_format_mime(enum img_format f);

/*
 * The format whose magic bytes start buf (len bytes), or IMG_NONE. Only
 * the allowlist is recognized; SVG, MVG, PDF, PS and the rest are NONE.
 */
enum img_format	 img_sniff(const void *buf, size_t len);

/*
 * Output geometry for a source of sw x sh (already oriented): the resize
 * size (*rw x *rh) and, for cover, the crop box (*cw x *ch at *cx,*cy
 * inside the resized image; for contain the box is the whole image).
 * Never enlarges. AVIF is capped to IMG_AVIF_MAX per side.
 */
void		 img_geometry(const struct img_params *p, enum img_format out,
		    long sw, long sh, long *rw, long *rh, long *cw, long *ch,
		    long *cx, long *cy);

/*
 * Process setup from the transform settings (cfg.h: TRANSFORM_MAX_PIXELS,
 * TRANSFORM_TIMEOUT_MS, TRANSFORM_THREADS, TRANSFORM_MEMORY_BYTES, whose
 * double is the map limit, TRANSFORM_MAX_BYTES, TRANSFORM_SCALED_DECODE:
 * 1 uses the scaled decoders of imgdec.h, 0 lets ImageMagick decode every
 * format, as before issue 21; MAGICK_CONFIGURE_PATH). Sets the resource
 * limits and checks that the restrictive policy is in force (SVG, MVG,
 * URL, TEXT and MSL must be denied). Returns 0, or -1 with a message in
 * err.
 */
int		 img_init(const struct cfg_transform *t, char *err,
		    size_t errlen);
void		 img_done(void);

/* TRANSFORM_MAX_BYTES (default 100 MiB): larger sources are refused
   with 422 before they are read. */
long long	 img_max_source_bytes(void);

/* Tests and benchmarks: 0 makes ImageMagick decode every format (the
   path of TRANSFORM_SCALED_DECODE=0), 1 uses the scaled decoders. */
void		 img_set_scaled_decode(int on);

/* How many transforms this process decoded through a scaled decoder
   (imgdec.h); for tests and benchmarks. */
unsigned long	 img_scaled_runs(void);

/*
 * Transform src[0..len) to format out. FS_OK with *dst (free with
 * img_free) and *dstlen; FS_VALIDATION for a source that is not an
 * allowed image, is over the pixel cap, does not decode, or takes longer
 * than the time limit; FS_INTERNAL otherwise. On failure msg
 * (IMG_MSG_MAX) is for the client (it never holds paths or library
 * text) and why (IMG_MSG_MAX) is ImageMagick's detail, for the log only.
 */
enum fs_err	 img_transform(const void *src, size_t len,
		    const struct img_params *p, enum img_format out,
		    unsigned char **dst, size_t *dstlen, char *msg, char *why);
void		 img_free(unsigned char *dst);

#endif
