/*
 * img: transform parameters (pure) and the MagickWand pipeline. See img.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <wand/MagickWand.h>

#include "http_parse.h"
#include "img.h"
#include "imgdec.h"

#ifndef IMG_POLICY_DIR_INSTALLED
#define IMG_POLICY_DIR_INSTALLED "/usr/local/share/filestor/imagemagick"
#endif
#ifndef IMG_POLICY_DIR
#define IMG_POLICY_DIR		IMG_POLICY_DIR_INSTALLED
#endif

static struct {
	int		 ready;
	long long	 max_pixels;
	long long	 timeout_ms;
	long long	 max_bytes;
	int		 scaled;	/* use the scaled decoders (imgdec.h) */
	unsigned long	 scaled_runs;	/* transforms that used them */
} img_state;	/* set by img_init, from the settings (cfg.h) */

/* --- pure half */

int
img_parse_dim(const char *v, int *out)
{
	long long n;

	if (http_parse_ll(v, 1, IMG_DIM_MAX, &n) == -1)
		return -1;
	*out = (int)n;
	return 0;
}

int
img_parse_quality(const char *v, int *out)
{
	long long n;

	if (http_parse_ll(v, 1, 100, &n) == -1)
		return -1;
	*out = (int)n;
	return 0;
}

static const struct {
	const char	*name;
	const char	*mime;
	const char	*coder;		/* ImageMagick coder name */
} formats[] = {
	[IMG_NONE] = { "", "application/octet-stream", NULL },
	[IMG_JPEG] = { "jpeg", "image/jpeg", "JPEG" },
	[IMG_PNG] = { "png", "image/png", "PNG" },
	[IMG_WEBP] = { "webp", "image/webp", "WEBP" },
	[IMG_AVIF] = { "avif", "image/avif", "AVIF" },
	[IMG_GIF] = { "gif", "image/gif", "GIF" },
};

int
img_parse_format(const char *v, enum img_format *out)
{
	/* Output formats only: GIF is a source format. */
	static const enum img_format outs[] = { IMG_JPEG, IMG_PNG, IMG_WEBP,
	    IMG_AVIF };
	size_t i;

	for (i = 0; i < sizeof(outs) / sizeof(outs[0]); i++)
		if (strcmp(v, formats[outs[i]].name) == 0) {
			*out = outs[i];
			return 0;
		}
	return -1;
}

int
img_parse_fit(const char *v, enum img_fit *out)
{
	if (strcmp(v, "contain") == 0)
		*out = IMG_CONTAIN;
	else if (strcmp(v, "cover") == 0)
		*out = IMG_COVER;
	else
		return -1;
	return 0;
}

int
img_parse_focal(const char *v, int *x, int *y)
{
	const char *comma = strchr(v, ',');
	char a[4], b[4];
	long long nx, ny;
	size_t la, lb;

	if (comma == NULL)
		return -1;
	la = (size_t)(comma - v);
	lb = strlen(comma + 1);
	/* "100" is the longest part; the bound also keeps a[] safe. */
	if (la == 0 || la >= sizeof(a) || lb == 0 || lb >= sizeof(b))
		return -1;
	memcpy(a, v, la);
	a[la] = '\0';
	memcpy(b, comma + 1, lb + 1);
	if (http_parse_ll(a, 0, 100, &nx) == -1 ||
	    http_parse_ll(b, 0, 100, &ny) == -1)
		return -1;
	*x = (int)nx;
	*y = (int)ny;
	return 0;
}

/* One table: the accepted parameters, each with its bit and message. */
static const struct {
	const char	*name;
	unsigned	 bit;
	const char	*msg;
} params[] = {
	{ "width", IMG_P_WIDTH, "width must be an integer from 1 to 4096" },
	{ "height", IMG_P_HEIGHT, "height must be an integer from 1 to 4096" },
	{ "quality", IMG_P_QUALITY,
	    "quality must be an integer from 1 to 100" },
	{ "format", IMG_P_FORMAT,
	    "format must be one of webp, jpeg, png, avif" },
	{ "fit", IMG_P_FIT, "fit must be cover or contain" },
	{ "focal", IMG_P_FOCAL,
	    "focal must be \"x,y\" with x and y integers from 0 to 100" },
};

int
img_param_known(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (strcmp(name, params[i].name) == 0)
			return 1;
	return 0;
}

void
img_params_init(struct img_params *p)
{
	memset(p, 0, sizeof(*p));
	p->fit = IMG_CONTAIN;
	p->focal_x = 50;
	p->focal_y = 50;
}

int
img_params_set(struct img_params *p, const char *name, const char *value,
    size_t value_len, char *msg)
{
	size_t i;
	int rc = -1;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (strcmp(name, params[i].name) == 0)
			break;
	if (i == sizeof(params) / sizeof(params[0])) {
		snprintf(msg, IMG_MSG_MAX, "unknown parameter");
		return -1;
	}
	if (p->given & params[i].bit) {
		snprintf(msg, IMG_MSG_MAX, "%s is given more than once",
		    params[i].name);
		return -1;
	}
	/* A decoded %00 would cut the value short: refuse it. */
	if (strlen(value) == value_len) {
		switch (params[i].bit) {
		case IMG_P_WIDTH:
			rc = img_parse_dim(value, &p->width);
			break;
		case IMG_P_HEIGHT:
			rc = img_parse_dim(value, &p->height);
			break;
		case IMG_P_QUALITY:
			rc = img_parse_quality(value, &p->quality);
			break;
		case IMG_P_FORMAT:
			rc = img_parse_format(value, &p->format);
			break;
		case IMG_P_FIT:
			rc = img_parse_fit(value, &p->fit);
			break;
		case IMG_P_FOCAL:
			rc = img_parse_focal(value, &p->focal_x, &p->focal_y);
			break;
		}
	}
	if (rc == -1) {
		snprintf(msg, IMG_MSG_MAX, "%s", params[i].msg);
		return -1;
	}
	p->given |= params[i].bit;
	return 0;
}

enum img_format
img_output_format(const struct img_params *p, const char *content_type)
{
	static const struct {
		const char	*type;
		enum img_format	 f;
	} types[] = {
		{ "image/jpeg", IMG_JPEG }, { "image/jpg", IMG_JPEG },
		{ "image/pjpeg", IMG_JPEG }, { "image/png", IMG_PNG },
		{ "image/webp", IMG_WEBP }, { "image/avif", IMG_AVIF },
		{ "image/heic", IMG_JPEG }, { "image/heif", IMG_JPEG },
		{ "image/gif", IMG_PNG },
	};
	size_t i, n;

	if (p->format != IMG_NONE)
		return p->format;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = strlen(types[i].type);
		/* Parameters after ';' do not change the type. */
		if (strncasecmp(content_type, types[i].type, n) == 0 &&
		    (content_type[n] == '\0' || content_type[n] == ';' ||
		    content_type[n] == ' '))
			return types[i].f;
	}
	return IMG_JPEG;
}

static int
is_lossless(enum img_format f)
{
	return f == IMG_PNG;
}

static int
effective_quality(const struct img_params *p)
{
	return p->quality != 0 ? p->quality : IMG_QUALITY_DEFAULT;
}

void
img_canonical(const struct img_params *p, enum img_format out,
    char buf[IMG_CANON_MAX])
{
	char w[16] = "auto", h[16] = "auto", q[16] = "lossless";
	int fx = 50, fy = 50;

	if (p->width > 0)
		snprintf(w, sizeof(w), "%d", p->width);
	if (p->height > 0)
		snprintf(h, sizeof(h), "%d", p->height);
	if (!is_lossless(out))
		snprintf(q, sizeof(q), "%d", effective_quality(p));
	/* Focal only moves a cover crop; elsewhere it is ignored. */
	if (p->fit == IMG_COVER) {
		fx = p->focal_x;
		fy = p->focal_y;
	}
	snprintf(buf, IMG_CANON_MAX,
	    "width=%s&height=%s&fit=%s&focal=%d,%d&format=%s&quality=%s",
	    w, h, p->fit == IMG_COVER ? "cover" : "contain", fx, fy,
	    img_format_name(out), q);
}

void
img_cloudflare_options(const struct img_params *p, enum img_format out,
    char buf[IMG_CANON_MAX])
{
	char w[24] = "", h[24] = "", q[24] = "", g[48] = "";

	if (p->width > 0)
		snprintf(w, sizeof(w), "width=%d,", p->width);
	if (p->height > 0)
		snprintf(h, sizeof(h), "height=%d,", p->height);
	if (!is_lossless(out))
		snprintf(q, sizeof(q), ",quality=%d", effective_quality(p));
	if (p->fit == IMG_COVER)
		snprintf(g, sizeof(g), ",gravity=%d.%02dx%d.%02d",
		    p->focal_x / 100, p->focal_x % 100,
		    p->focal_y / 100, p->focal_y % 100);
	snprintf(buf, IMG_CANON_MAX, "%s%sfit=%s,format=%s%s%s", w, h,
	    p->fit == IMG_COVER ? "crop" : "scale-down", img_format_name(out),
	    q, g);
}

const char *
img_format_name(enum img_format f)
{
	if ((size_t)f >= sizeof(formats) / sizeof(formats[0]))
		return "";
	return formats[f].name;
}

const char *
img_format_mime(enum img_format f)
{
	if ((size_t)f >= sizeof(formats) / sizeof(formats[0]))
		f = IMG_NONE;
	return formats[f].mime;
}

enum img_format
img_sniff(const void *buf, size_t len)
{
	static const char *const brands[] = { "avif", "avis", "heic", "heix",
	    "heim", "heis", "hevc", "hevx", "mif1", "msf1" };
	const unsigned char *b = buf;
	size_t i;

	if (len >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return IMG_JPEG;
	if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return IMG_PNG;
	if (len >= 6 && (memcmp(b, "GIF87a", 6) == 0 ||
	    memcmp(b, "GIF89a", 6) == 0))
		return IMG_GIF;
	if (len >= 12 && memcmp(b, "RIFF", 4) == 0 &&
	    memcmp(b + 8, "WEBP", 4) == 0)
		return IMG_WEBP;
	/* ISO-BMFF: size(4) "ftyp" major-brand(4). */
	if (len >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
		for (i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
			if (memcmp(b + 8, brands[i], 4) == 0)
				return IMG_AVIF;
	return IMG_NONE;
}

static long
lround_min1(double v)
{
	long n = lround(v);

	return n < 1 ? 1 : n;
}

static long
clamp_l(long v, long lo, long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void
img_geometry(const struct img_params *p, enum img_format out, long sw,
    long sh, long *rw, long *rh, long *cw, long *ch, long *cx, long *cy)
{
	double s = 1.0, sx, sy, f;
	int cover = p->fit == IMG_COVER && p->width > 0 && p->height > 0;
	long m;

	sx = p->width > 0 ? (double)p->width / (double)sw : 0;
	sy = p->height > 0 ? (double)p->height / (double)sh : 0;
	if (cover)
		s = sx > sy ? sx : sy;
	else if (sx > 0 && sy > 0)
		s = sx < sy ? sx : sy;
	else if (sx > 0)
		s = sx;
	else if (sy > 0)
		s = sy;
	if (s > 1.0)
		s = 1.0;	/* never enlarge */
	*rw = lround_min1((double)sw * s);
	*rh = lround_min1((double)sh * s);
	*cw = *rw;
	*ch = *rh;
	*cx = *cy = 0;
	if (cover) {
		*cw = p->width < *rw ? p->width : *rw;
		*ch = p->height < *rh ? p->height : *rh;
	}
	m = *cw > *ch ? *cw : *ch;
	if (out == IMG_AVIF && m > IMG_AVIF_MAX) {
		f = (double)IMG_AVIF_MAX / (double)m;
		*rw = lround_min1((double)*rw * f);
		*rh = lround_min1((double)*rh * f);
		*cw = clamp_l(lround_min1((double)*cw * f), 1, *rw);
		*ch = clamp_l(lround_min1((double)*ch * f), 1, *rh);
	}
	if (cover) {
		*cx = clamp_l(lround((double)*rw * p->focal_x / 100.0 -
		    (double)*cw / 2.0), 0, *rw - *cw);
		*cy = clamp_l(lround((double)*rh * p->focal_y / 100.0 -
		    (double)*ch / 2.0), 0, *rh - *ch);
	}
}

/* --- MagickWand half */

int
img_init(const struct cfg_transform *t, char *err, size_t errlen)
{
	/* Coders that must be denied for the policy to count as loaded. */
	static const char *const denied[] = { "SVG", "MVG", "MSL", "URL",
	    "TEXT", "EPHEMERAL", "PS", "PDF" };
	const char *dir;
	long long threads = t->threads, memory = t->memory;
	size_t i;

	img_state.max_pixels = t->max_pixels;
	img_state.timeout_ms = t->timeout_ms;
	img_state.max_bytes = t->max_bytes;
	img_state.scaled = (int)t->scaled;
	/*
	 * Where the policy is: MAGICK_CONFIGURE_PATH, or else the directory
	 * the build named (the source tree's etc/imagemagick), so that a
	 * web server that passes no environment still gets it. The check
	 * below refuses to run if neither holds our policy.
	 */
	/* An installed binary outlives its source tree: then use the
	   policy "make install" put under PREFIX. */
	dir = IMG_POLICY_DIR;
	if (access(IMG_POLICY_DIR "/policy.xml", R_OK) == -1)
		dir = IMG_POLICY_DIR_INSTALLED;
	if (t->magick_config == NULL &&
	    setenv("MAGICK_CONFIGURE_PATH", dir, 1) == -1) {
		snprintf(err, errlen, "cannot set MAGICK_CONFIGURE_PATH");
		return -1;
	}
	MagickWandGenesis();
	img_state.ready = 1;
	/*
	 * Threads: spawn-fcgi runs FILESTOR_WORKERS processes of get (2 by
	 * default: one per core on a small VPS), so one OpenMP thread each
	 * keeps workers x threads at the core count. Raise
	 * TRANSFORM_THREADS only with fewer workers than cores.
	 */
	MagickSetResourceLimit(ThreadResource, (MagickSizeType)threads);
	MagickSetResourceLimit(MemoryResource, (MagickSizeType)memory);
	MagickSetResourceLimit(MapResource, (MagickSizeType)memory * 2);
	MagickSetResourceLimit(DiskResource, 1ULL << 30);
	/* Area is where the pixel cache moves to disk; the hard cap on
	   source pixels is ours, checked after the ping. */
	MagickSetResourceLimit(AreaResource,
	    (MagickSizeType)img_state.max_pixels * 2);
	MagickSetResourceLimit(WidthResource, 16384);
	MagickSetResourceLimit(HeightResource, 16384);
	/*
	 * No TimeResource: ImageMagick 6 measures it from the first pixel
	 * cache of the process and then aborts the whole process, which
	 * would kill a long-lived worker. The progress monitor below
	 * bounds each transform instead.
	 */
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		if (IsRightsAuthorized(CoderPolicyDomain, ReadPolicyRights,
		    denied[i]) != MagickFalse) {
			snprintf(err, errlen, "the ImageMagick policy allows the "
			    "%s coder: set MAGICK_CONFIGURE_PATH to the "
			    "directory of Filestor's policy.xml "
			    "(etc/imagemagick)", denied[i]);
			return -1;
		}
	if (IsRightsAuthorized(DelegatePolicyDomain, ExecutePolicyRights,
	    "ps:alpha") != MagickFalse) {
		snprintf(err, errlen, "the ImageMagick policy allows "
		    "delegates: set MAGICK_CONFIGURE_PATH to the directory of "
		    "Filestor's policy.xml (etc/imagemagick)");
		return -1;
	}
	return 0;
}

void
img_done(void)
{
	if (img_state.ready)
		MagickWandTerminus();
	img_state.ready = 0;
}

long long
img_max_source_bytes(void)
{
	return img_state.max_bytes;
}

void
img_set_scaled_decode(int on)
{
	img_state.scaled = on != 0;
}

unsigned long
img_scaled_runs(void)
{
	return img_state.scaled_runs;
}

/* Decoders, resize and encoders report progress; returning false aborts. */
static MagickBooleanType
deadline_monitor(const char *text, const MagickOffsetType off,
    const MagickSizeType span, void *arg)
{
	const long long *deadline = arg;

	return imgdec_now_ms() > *deadline ? MagickFalse : MagickTrue;
}

/* The wand's exception text for the log, then cleared. */
static void
wand_msg(MagickWand *w, const char *what, char *why)
{
	ExceptionType sev;
	char *d = MagickGetException(w, &sev);

	snprintf(why, IMG_MSG_MAX, "%s: %s", what,
	    d != NULL && *d != '\0' ? d : "failed");
	if (d != NULL)
		MagickRelinquishMemory(d);
	MagickClearException(w);
}

/* Output geometry, computed from the source size (img_geometry). */
struct geo {
	long	 rw, rh;	/* resize to */
	long	 cw, ch, cx, cy;	/* then crop to this box */
};

/* The source is over the pixel cap: the client's message. */
static enum fs_err
over_cap(char *msg)
{
	snprintf(msg, IMG_MSG_MAX, "the source image has more than %lld "
	    "pixels", img_state.max_pixels);
	return FS_VALIDATION;
}

static enum fs_err
undecodable(char *msg)
{
	snprintf(msg, IMG_MSG_MAX, "the source image could not be decoded");
	return FS_VALIDATION;
}

/*
 * Load through a scaled decoder (imgdec.h): header, pixel cap, geometry,
 * then a decode already shrunk to 2..4x the output, handed to the wand.
 * FS_OK with *used 1 when the image is in w, or with *used 0 when this
 * source is better left to ImageMagick (a format feature imgdec leaves
 * out, or no shrink to gain: then ImageMagick's decode costs no more
 * memory than ours, as before issue 21).
 */
static enum fs_err
load_scaled(MagickWand *w, enum img_format in, const void *src, size_t len,
    const struct img_params *p, enum img_format out, long long deadline,
    struct geo *g, int *used, char *msg, char *why)
{
	static const char *const maps[] = { NULL, "I", "IA", "RGB", "RGBA" };
	struct imgdec *d = NULL;
	struct imgdec_image im = { NULL, 0, 0, 0, 0 };
	enum imgdec_rc rc;
	long sw, sh;
	enum fs_err e = FS_INTERNAL;

	*used = 0;
	d = imgdec_open(in, src, len, &rc, why);
	if (d == NULL) {
		switch (rc) {
		case IMGDEC_UNSUPPORTED:
			return FS_OK;
		case IMGDEC_NOMEM:
			return FS_INTERNAL;
		case IMGDEC_LIMIT:
			snprintf(msg, IMG_MSG_MAX, "the source image is wider or "
			    "taller than %d pixels", IMGDEC_SIDE_MAX);
			return FS_VALIDATION;
		default:
			return undecodable(msg);
		}
	}
	/* The pixel cap, from the header, before any pixel is decoded. */
	imgdec_size(d, &sw, &sh);
	if ((long long)sw * sh > img_state.max_pixels) {
		e = over_cap(msg);
		goto out;
	}
	/* No EXIF orientation outside JPEG (ImageMagick 6 reads none
	   either); libheif applies HEIF's own rotations. */
	img_geometry(p, out, sw, sh, &g->rw, &g->rh, &g->cw, &g->ch, &g->cx,
	    &g->cy);
	if (imgdec_factor(sw, sh, g->rw, g->rh) < 2) {
		e = FS_OK;
		goto out;
	}
	rc = imgdec_read(d, g->rw, g->rh, img_state.max_pixels, deadline,
	    &im, why);
	switch (rc) {
	case IMGDEC_OK:
		break;
	case IMGDEC_UNSUPPORTED:
		e = FS_OK;
		goto out;
	case IMGDEC_NOMEM:
		goto out;
	case IMGDEC_LIMIT:
		e = over_cap(msg);
		goto out;
	case IMGDEC_TIMEOUT:
		snprintf(msg, IMG_MSG_MAX, "the transform took longer than "
		    "%lld ms", img_state.timeout_ms);
		e = FS_VALIDATION;
		goto out;
	default:
		e = undecodable(msg);
		goto out;
	}
	if (MagickConstituteImage(w, (size_t)im.w, (size_t)im.h,
	    maps[im.channels], im.depth == 16 ? ShortPixel : CharPixel,
	    im.px) == MagickFalse) {
		wand_msg(w, "constitute", why);
		goto out;
	}
	*used = 1;
	img_state.scaled_runs++;
	e = FS_OK;
out:
	imgdec_image_free(&im);
	imgdec_close(d);
	return e;
}

/*
 * Load through ImageMagick (JPEG, and what load_scaled leaves): ping
 * with the sniffed coder forced, pixel cap, geometry, read with JPEG
 * shrink-on-load.
 */
static enum fs_err
load_magick(MagickWand *w, enum img_format in, const void *src, size_t len,
    const struct img_params *p, enum img_format out, long long *deadline,
    struct geo *g, char *msg, char *why)
{
	OrientationType orient;
	long sw, sh, hw, hh;
	char hint[48];

	/*
	 * Force the sniffed coder ("JPEG:[0]"): ImageMagick never guesses
	 * the format from the data, and reads only the first frame.
	 */
	if (MagickSetFormat(w, formats[in].coder) == MagickFalse ||
	    MagickSetFilename(w, "[0]") == MagickFalse) {
		wand_msg(w, "setup", why);
		return FS_INTERNAL;
	}
	MagickSetProgressMonitor(w, deadline_monitor, deadline);
	if (MagickPingImageBlob(w, src, len) == MagickFalse) {
		wand_msg(w, "ping", why);
		return undecodable(msg);
	}
	sw = (long)MagickGetImageWidth(w);
	sh = (long)MagickGetImageHeight(w);
	orient = MagickGetImageOrientation(w);
	if (sw <= 0 || sh <= 0 ||
	    (long long)sw * sh > img_state.max_pixels)
		return over_cap(msg);
	/* Orientations 5..8 swap the sides; geometry is after orienting. */
	hw = sw;
	hh = sh;
	if (orient >= LeftTopOrientation && orient <= LeftBottomOrientation) {
		sw = hh;
		sh = hw;
	}
	img_geometry(p, out, sw, sh, &g->rw, &g->rh, &g->cw, &g->ch, &g->cx,
	    &g->cy);
	ClearMagickWand(w);
	if (MagickSetFormat(w, formats[in].coder) == MagickFalse ||
	    MagickSetFilename(w, "[0]") == MagickFalse) {
		wand_msg(w, "setup", why);
		return FS_INTERNAL;
	}
	MagickSetProgressMonitor(w, deadline_monitor, deadline);
	if (in == IMG_JPEG) {
		/*
		 * Shrink on load: libjpeg decodes at 1/2, 1/4 or 1/8 scale
		 * while staying at least this size (in stored orientation).
		 */
		if (hw != sw)
			snprintf(hint, sizeof(hint), "%ldx%ld", g->rh, g->rw);
		else
			snprintf(hint, sizeof(hint), "%ldx%ld", g->rw, g->rh);
		MagickSetOption(w, "jpeg:size", hint);
	}
	if (MagickReadImageBlob(w, src, len) == MagickFalse) {
		wand_msg(w, "read", why);
		return undecodable(msg);
	}
	/* "[0]" already limits the read; keep one frame whatever happens. */
	while (MagickGetNumberImages(w) > 1) {
		MagickSetIteratorIndex(w, 1);
		MagickRemoveImage(w);
	}
	MagickSetIteratorIndex(w, 0);
	return FS_OK;
}

/*
 * After the load: orient, resize and crop to g, strip metadata, flatten
 * alpha for JPEG. FS_OK, or FS_INTERNAL with why.
 */
static enum fs_err
shape(MagickWand *w, const struct geo *g, enum img_format out, char *why)
{
	PixelWand *bg = NULL;
	enum fs_err e = FS_INTERNAL;

	if (MagickAutoOrientImage(w) == MagickFalse ||
	    MagickSetImagePage(w, 0, 0, 0, 0) == MagickFalse) {
		wand_msg(w, "orient", why);
		goto out;
	}
	if ((long)MagickGetImageWidth(w) != g->rw ||
	    (long)MagickGetImageHeight(w) != g->rh) {
		if (MagickResizeImage(w, (size_t)g->rw, (size_t)g->rh,
		    LanczosFilter, 1.0) == MagickFalse) {
			wand_msg(w, "resize", why);
			goto out;
		}
	}
	if (g->cw != g->rw || g->ch != g->rh) {
		if (MagickCropImage(w, (size_t)g->cw, (size_t)g->ch, g->cx,
		    g->cy) == MagickFalse) {
			wand_msg(w, "crop", why);
			goto out;
		}
	}
	MagickSetImagePage(w, (size_t)g->cw, (size_t)g->ch, 0, 0);
	if (MagickStripImage(w) == MagickFalse) {
		wand_msg(w, "strip", why);
		goto out;
	}
	if (out == IMG_JPEG && MagickGetImageAlphaChannel(w) != MagickFalse) {
		/* JPEG has no alpha: flatten onto white, not black. */
		bg = NewPixelWand();
		if (bg == NULL || PixelSetColor(bg, "white") == MagickFalse ||
		    MagickSetImageBackgroundColor(w, bg) == MagickFalse ||
		    MagickSetImageAlphaChannel(w, RemoveAlphaChannel) ==
		    MagickFalse) {
			wand_msg(w, "alpha", why);
			goto out;
		}
	}
	e = FS_OK;
out:
	if (bg != NULL)
		DestroyPixelWand(bg);
	return e;
}

/*
 * Encode w as out: FS_OK with *dst and *dstlen, or FS_INTERNAL with why
 * (FS_VALIDATION when the deadline passed).
 */
static enum fs_err
encode(MagickWand *w, const struct img_params *p, enum img_format out,
    long long deadline, unsigned char **dst, size_t *dstlen, char *why)
{
	unsigned char *blob;
	size_t n;

	/*
	 * The read left "JPEG:[0]" as the filename, whose prefix would
	 * pick the encoder over the format set here.
	 */
	if (MagickSetFilename(w, "") == MagickFalse ||
	    MagickSetImageFilename(w, "") == MagickFalse ||
	    MagickSetFormat(w, formats[out].coder) == MagickFalse ||
	    MagickSetImageFormat(w, formats[out].coder) == MagickFalse) {
		wand_msg(w, "format", why);
		return FS_INTERNAL;
	}
	if (!is_lossless(out))
		MagickSetImageCompressionQuality(w,
		    (size_t)effective_quality(p));
	blob = MagickGetImageBlob(w, &n);
	if (blob == NULL || n == 0) {
		if (blob != NULL)
			MagickRelinquishMemory(blob);
		wand_msg(w, "encode", why);
		return imgdec_now_ms() > deadline ? FS_VALIDATION : FS_INTERNAL;
	}
	if (imgdec_now_ms() > deadline) {
		MagickRelinquishMemory(blob);
		return FS_VALIDATION;
	}
	*dst = blob;
	*dstlen = n;
	return FS_OK;
}

enum fs_err
img_transform(const void *src, size_t len, const struct img_params *p,
    enum img_format out, unsigned char **dst, size_t *dstlen, char *msg,
    char *why)
{
	MagickWand *w = NULL;
	enum img_format in;
	struct geo g;
	long long deadline;
	int used = 0;
	enum fs_err e = FS_INTERNAL;

	*dst = NULL;
	*dstlen = 0;
	msg[0] = why[0] = '\0';
	in = img_sniff(src, len);
	if (in == IMG_NONE) {
		snprintf(msg, IMG_MSG_MAX, "the source is not an image that can "
		    "be transformed (JPEG, PNG, WebP, GIF, AVIF or HEIC)");
		return FS_VALIDATION;
	}
	if (!img_state.ready) {
		snprintf(why, IMG_MSG_MAX, "img_init was not called");
		return FS_INTERNAL;
	}
	deadline = imgdec_now_ms() + img_state.timeout_ms;
	w = NewMagickWand();
	if (w == NULL) {
		snprintf(why, IMG_MSG_MAX, "out of memory");
		goto out;
	}
	if (img_state.scaled && imgdec_handles(in)) {
		e = load_scaled(w, in, src, len, p, out, deadline, &g, &used,
		    msg, why);
		if (e != FS_OK)
			goto out;
	}
	if (!used) {
		e = load_magick(w, in, src, len, p, out, &deadline, &g, msg,
		    why);
		if (e != FS_OK)
			goto out;
	}
	/* The rest reports progress too: resize and encode stop in time. */
	MagickSetProgressMonitor(w, deadline_monitor, &deadline);
	e = shape(w, &g, out, why);
	if (e == FS_OK)
		e = encode(w, p, out, deadline, dst, dstlen, why);
out:
	/* An abort by the monitor surfaces as any failure: name it. */
	if (e != FS_OK && imgdec_now_ms() > deadline) {
		snprintf(msg, IMG_MSG_MAX, "the transform took longer than "
		    "%lld ms", img_state.timeout_ms);
		e = FS_VALIDATION;
	}
	if (e == FS_INTERNAL && msg[0] == '\0')
		snprintf(msg, IMG_MSG_MAX, "the transform failed");
	if (w != NULL)
		DestroyMagickWand(w);
	return e;
}

void
img_free(unsigned char *dst)
{
	if (dst != NULL)
		MagickRelinquishMemory(dst);
}
