/*
 * imgdec: scaled decoders (PNG, WebP, GIF, AVIF/HEIC). See imgdec.h.
 *
 * One shape for the row-wise decoders (PNG, GIF, HEIF's decoded plane):
 * each source row goes into a box accumulator (struct box) that sums
 * k x k blocks into one output row and writes the averages when the
 * block's last row arrives. Only one row of column sums is held, so the
 * memory is the output plus a few source rows.
 */
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gif_lib.h>
#include <libheif/heif.h>
#include <png.h>
#include <webp/decode.h>

#include "imgdec.h"

/*
 * Largest box factor. The uint64_t sums would allow more; past 256 the
 * box still leaves more than 4x the output (of 64 px or more, from
 * 16384) and the Lanczos resize does the rest.
 */
#define BOX_K_MAX	256
#define CHECK_ROWS	16		/* rows between deadline checks */
#define WEBP_CHUNK	(256 << 10)	/* bytes fed to libwebp per step */
#define PNG_CHUNK_MAX	(8L << 20)	/* largest ancillary chunk kept */
#define HEIF_THUMBS_MAX	8		/* thumbnails looked at */

long long
imgdec_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
imgdec_factor(long sw, long sh, long tw, long th)
{
	long kx, ky, k;

	if (sw < 1 || sh < 1 || tw < 1 || th < 1)
		return 1;
	/* The box leaves at least 2x the output for the Lanczos pass:
	   close to a Lanczos of the whole source (tests/unit/test_img.c). */
	kx = sw / (2 * tw);
	ky = sh / (2 * th);
	k = kx < ky ? kx : ky;
	if (k > BOX_K_MAX)
		k = BOX_K_MAX;
	return k < 1 ? 1 : (int)k;
}

/* --- box accumulator */

struct box {
	long		 sw, sh;	/* source */
	long		 ow, oh;	/* output: ceil(source / k) */
	int		 k, ch, bytes;	/* factor, channels, bytes per sample */
	int		 alpha;		/* the last channel is alpha */
	long		 y;		/* source rows added */
	uint64_t	*acc;		/* sw * ch column sums of the block row */
	struct imgdec_image img;	/* the output, filled row by row */
};

static void
box_free(struct box *b)
{
	free(b->acc);
	b->acc = NULL;
	imgdec_image_free(&b->img);
}

/* Zero b, then allocate for sw x sh by k, ch channels of depth bits. */
static enum imgdec_rc
box_init(struct box *b, long sw, long sh, int k, int ch, int depth)
{
	size_t rowlen;

	memset(b, 0, sizeof(*b));
	b->sw = sw;
	b->sh = sh;
	b->k = k;
	b->ch = ch;
	b->alpha = ch == 2 || ch == 4;
	b->bytes = depth / 8;
	b->ow = (sw + k - 1) / k;
	b->oh = (sh + k - 1) / k;
	/* Sides are at most IMGDEC_SIDE_MAX, so none of this overflows. */
	rowlen = (size_t)b->ow * (size_t)ch;
	b->acc = calloc((size_t)sw * (size_t)ch, sizeof(*b->acc));
	b->img.px = malloc(rowlen * (size_t)b->oh * (size_t)b->bytes);
	if (b->acc == NULL || b->img.px == NULL) {
		box_free(b);
		return IMGDEC_NOMEM;
	}
	b->img.w = b->ow;
	b->img.h = b->oh;
	b->img.channels = ch;
	b->img.depth = depth;
	return IMGDEC_OK;
}

/* Sample i of a row of 8- or 16-bit samples. */
static inline uint64_t
sample(const void *row, int bytes, long i)
{
	return bytes == 1 ? ((const unsigned char *)row)[i] :
	    ((const uint16_t *)row)[i];
}

/*
 * Add source row b->y (sw * ch samples of b->bytes each). Rows are summed
 * column by column first, a loop the compiler vectorizes; the k columns
 * of each block are summed once per block row, when it is complete.
 * With alpha, colours are weighted by it (as ImageMagick's resize
 * weighs them), so that the colour under a transparent pixel does not
 * bleed into its opaque neighbours.
 */
static void
box_row(struct box *b, const void *row)
{
	const unsigned char *r8 = row;
	const uint16_t *r16 = row;
	uint64_t *a = b->acc, sum, sa, cnt, av;
	long i, n = b->sw * b->ch, ox, x, x0, x1, rows, base;
	int c, ch = b->ch, cc = b->alpha ? ch - 1 : ch;

	if (b->alpha)
		for (x = 0; x < b->sw; x++) {
			av = sample(row, b->bytes, x * ch + cc);
			for (c = 0; c < cc; c++)
				a[x * ch + c] += av *
				    sample(row, b->bytes, x * ch + c);
			a[x * ch + cc] += av;
		}
	else if (b->bytes == 1)
		for (i = 0; i < n; i++)
			a[i] += r8[i];
	else
		for (i = 0; i < n; i++)
			a[i] += r16[i];
	b->y++;
	if (b->y % b->k != 0 && b->y != b->sh)
		return;
	/* The block row is complete: write the rounded averages. */
	rows = (b->y - 1) % b->k + 1;
	base = (b->y - 1) / b->k * b->ow * ch;
	for (ox = 0; ox < b->ow; ox++) {
		x0 = ox * b->k;
		x1 = x0 + b->k < b->sw ? x0 + b->k : b->sw;
		cnt = (uint64_t)((x1 - x0) * rows);
		sa = cnt;	/* without alpha, every pixel weighs 1 */
		if (b->alpha)
			for (sa = 0, x = x0; x < x1; x++)
				sa += a[x * ch + cc];
		for (c = 0; c < ch; c++) {
			for (sum = 0, x = x0; x < x1; x++)
				sum += a[x * ch + c];
			if (c == cc && b->alpha)
				sum = (sum + cnt / 2) / cnt;
			else	/* fully transparent: no colour, 0 */
				sum = sa == 0 ? 0 : (sum + sa / 2) / sa;
			if (b->bytes == 1)
				b->img.px[base + ox * ch + c] =
				    (unsigned char)sum;
			else
				((uint16_t *)(void *)b->img.px)[base +
				    ox * ch + c] = (uint16_t)sum;
		}
	}
	memset(a, 0, (size_t)n * sizeof(*a));
}

/* Move the finished output to *img. */
static void
box_take(struct box *b, struct imgdec_image *img)
{
	*img = b->img;
	memset(&b->img, 0, sizeof(b->img));
	box_free(b);
}

/* --- the handle */

struct png_src {
	const unsigned char	*p;
	size_t			 len, off;
};

struct imgdec {
	enum img_format	 f;
	const unsigned char *src;
	size_t		 len;
	long		 w, h;		/* as shown */
	int		 used;		/* imgdec_read was called */
	char		*why;		/* the caller's, during a call */
	/* PNG */
	png_structp	 png;
	png_infop	 pinfo;
	struct png_src	 pin;
	/* WebP */
	int		 webp_alpha;
	/* GIF */
	GifFileType	*gif;
	size_t		 gif_off;
	int		 gif_transparent;	/* index, or -1 */
	/* HEIF */
	struct heif_context *heif;
	struct heif_image_handle *hh;
};

int
imgdec_handles(enum img_format f)
{
	return f == IMG_PNG || f == IMG_WEBP || f == IMG_GIF ||
	    f == IMG_AVIF;
}

void
imgdec_size(const struct imgdec *d, long *w, long *h)
{
	*w = d->w;
	*h = d->h;
}

void
imgdec_image_free(struct imgdec_image *img)
{
	free(img->px);
	memset(img, 0, sizeof(*img));
}

/*
 * Feed b the rows of d, each made into row by next(d, y, row, arg)
 * (IMGDEC_OK, or the error that stops), with a deadline check every
 * CHECK_ROWS rows; then move the output to *img. b is freed either way,
 * unless next longjmps out (libpng: png_decode frees it then).
 */
typedef enum imgdec_rc (*row_fn)(struct imgdec *, long, unsigned char *,
    void *);

static enum imgdec_rc
box_fill(struct box *b, struct imgdec *d, unsigned char *row, row_fn next,
    void *arg, long long deadline, struct imgdec_image *img)
{
	enum imgdec_rc rc = IMGDEC_OK;
	long y;

	for (y = 0; y < b->sh && rc == IMGDEC_OK; y++) {
		if (y % CHECK_ROWS == 0 && imgdec_now_ms() > deadline)
			rc = IMGDEC_TIMEOUT;
		else
			rc = next(d, y, row, arg);
		if (rc == IMGDEC_OK)
			box_row(b, row);
	}
	if (rc == IMGDEC_OK)
		box_take(b, img);
	else
		box_free(b);
	return rc;
}

static enum imgdec_rc
side_check(long w, long h, char *why)
{
	if (w < 1 || h < 1) {
		snprintf(why, IMG_MSG_MAX, "empty image (%ldx%ld)", w, h);
		return IMGDEC_BAD;
	}
	if (w > IMGDEC_SIDE_MAX || h > IMGDEC_SIDE_MAX) {
		snprintf(why, IMG_MSG_MAX, "side over %d (%ldx%ld)",
		    IMGDEC_SIDE_MAX, w, h);
		return IMGDEC_LIMIT;
	}
	return IMGDEC_OK;
}

/* --- PNG (libpng, row by row) */

/* libpng's errors longjmp back to the setjmp of the running call. */
static void
png_err(png_structp png, png_const_charp text)
{
	struct imgdec *d = png_get_error_ptr(png);

	snprintf(d->why, IMG_MSG_MAX, "png: %s", text);
	png_longjmp(png, 1);
}

static void
png_warn(png_structp png, png_const_charp text)
{
	/* Warnings (bad ancillary chunk CRC...) do not stop the decode. */
}

static void
png_read_mem(png_structp png, png_bytep out, size_t n)
{
	struct png_src *s = png_get_io_ptr(png);

	if (n > s->len - s->off)
		png_error(png, "truncated");
	memcpy(out, s->p + s->off, n);
	s->off += n;
}

static enum imgdec_rc
png_open(struct imgdec *d)
{
	png_uint_32 w, h;
	int depth, type, interlace;

	d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, png_err,
	    png_warn);
	if (d->png == NULL)
		return IMGDEC_NOMEM;
	d->pinfo = png_create_info_struct(d->png);
	if (d->pinfo == NULL)
		return IMGDEC_NOMEM;
	if (setjmp(png_jmpbuf(d->png)))
		return IMGDEC_BAD;
	/* libpng's own ceilings, before it allocates for the header. */
	png_set_user_limits(d->png, IMGDEC_SIDE_MAX, IMGDEC_SIDE_MAX);
	png_set_chunk_malloc_max(d->png, PNG_CHUNK_MAX);
	png_set_chunk_cache_max(d->png, 128);
	/* The zlib checksum guards against nothing an attacker cannot
	   recompute; skipping it saves a pass over the inflated data (the
	   chunk CRCs are still checked). */
#ifdef PNG_IGNORE_ADLER32
	png_set_option(d->png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
	d->pin.p = d->src;
	d->pin.len = d->len;
	png_set_read_fn(d->png, &d->pin, png_read_mem);
	png_read_info(d->png, d->pinfo);
	if (png_get_IHDR(d->png, d->pinfo, &w, &h, &depth, &type, &interlace,
	    NULL, NULL) == 0)
		return IMGDEC_BAD;
	d->w = (long)w;
	d->h = (long)h;
	/* Adam7 delivers rows out of order: ImageMagick reads those. */
	if (interlace != PNG_INTERLACE_NONE) {
		snprintf(d->why, IMG_MSG_MAX, "png: interlaced");
		return IMGDEC_UNSUPPORTED;
	}
	return side_check(d->w, d->h, d->why);
}

/* box_fill's next for PNG: libpng longjmps on an error. */
static enum imgdec_rc
png_row(struct imgdec *d, long y, unsigned char *row, void *arg)
{
	png_read_row(d->png, row, NULL);
	return IMGDEC_OK;
}

static enum imgdec_rc
png_decode(struct imgdec *d, int k, long long deadline,
    struct imgdec_image *img)
{
	struct box b;
	unsigned char *volatile row = NULL;
	volatile enum imgdec_rc rc = IMGDEC_BAD;
	volatile int have_box = 0;
	int type, depth, ch;

	if (setjmp(png_jmpbuf(d->png))) {
		rc = IMGDEC_BAD;
		goto out;
	}
	type = png_get_color_type(d->png, d->pinfo);
	depth = png_get_bit_depth(d->png, d->pinfo);
	/*
	 * Everything to 8 or 16 bits per sample, gray or RGB with alpha
	 * when there is transparency: what ImageMagick makes of it.
	 */
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(d->png);
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(d->png);
	if (png_get_valid(d->png, d->pinfo, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(d->png);
	if (depth == 16)
		png_set_swap(d->png);	/* to host order (little-endian) */
	png_read_update_info(d->png, d->pinfo);
	ch = png_get_channels(d->png, d->pinfo);
	depth = png_get_bit_depth(d->png, d->pinfo);
	if (ch < 1 || ch > 4 || (depth != 8 && depth != 16) ||
	    png_get_rowbytes(d->png, d->pinfo) !=
	    (size_t)d->w * (size_t)ch * (size_t)(depth / 8)) {
		snprintf(d->why, IMG_MSG_MAX, "png: %d channels of %d bits",
		    ch, depth);
		rc = IMGDEC_UNSUPPORTED;
		goto out;
	}
	row = malloc(png_get_rowbytes(d->png, d->pinfo));
	if (row == NULL) {
		rc = IMGDEC_NOMEM;
		goto out;
	}
	rc = box_init(&b, d->w, d->h, k, ch, depth);
	if (rc != IMGDEC_OK)
		goto out;
	have_box = 1;
	/* The trailing chunks are not read: nothing after IDAT is used. */
	rc = box_fill(&b, d, row, png_row, NULL, deadline, img);
	have_box = 0;
out:
	if (have_box)
		box_free(&b);	/* libpng longjmp'd out of box_fill */
	free(row);
	return rc;
}

/* --- WebP (libwebp, scaled by libwebp) */

static enum imgdec_rc
webp_open(struct imgdec *d)
{
	WebPBitstreamFeatures ft;
	VP8StatusCode st;

	st = WebPGetFeatures(d->src, d->len, &ft);
	if (st != VP8_STATUS_OK) {
		snprintf(d->why, IMG_MSG_MAX, "webp: header status %d",
		    (int)st);
		return IMGDEC_BAD;
	}
	d->w = ft.width;
	d->h = ft.height;
	d->webp_alpha = ft.has_alpha != 0;
	/* ImageMagick reads the first frame of an animation. */
	if (ft.has_animation) {
		snprintf(d->why, IMG_MSG_MAX, "webp: animated");
		return IMGDEC_UNSUPPORTED;
	}
	return side_check(d->w, d->h, d->why);
}

static enum imgdec_rc
webp_decode(struct imgdec *d, long tw, long th, long long deadline,
    struct imgdec_image *img)
{
	WebPDecoderConfig cfg;
	WebPIDecoder *idec = NULL;
	VP8StatusCode st = VP8_STATUS_SUSPENDED;
	double s;
	struct imgdec_image out;
	size_t off = 0, size;
	enum imgdec_rc rc = IMGDEC_BAD;

	memset(&out, 0, sizeof(out));
	if (WebPInitDecoderConfig(&cfg) == 0)
		return IMGDEC_BAD;
	/*
	 * libwebp's rescaler takes any ratio, so the decode is exactly twice
	 * the output on the tighter side (the other boxes stop at an
	 * integer factor, 2 to 4 times): less to convert and to resize.
	 */
	s = (double)d->w / (double)(2 * tw);
	if ((double)d->h / (double)(2 * th) < s)
		s = (double)d->h / (double)(2 * th);
	if (s < 1)
		s = 1;
	out.w = lround((double)d->w / s);
	out.h = lround((double)d->h / s);
	if (out.w < 1)
		out.w = 1;
	if (out.h < 1)
		out.h = 1;
	out.channels = d->webp_alpha ? 4 : 3;
	out.depth = 8;
	size = (size_t)out.w * (size_t)out.h * (size_t)out.channels;
	out.px = malloc(size);
	if (out.px == NULL)
		return IMGDEC_NOMEM;
	/* libwebp's rescaler averages areas, as the box of the others. */
	if (out.w != d->w || out.h != d->h) {
		cfg.options.use_scaling = 1;
		cfg.options.scaled_width = (int)out.w;
		cfg.options.scaled_height = (int)out.h;
	}
	/*
	 * libwebp's one helper thread filters and converts while the main
	 * one parses, as libvips has it. It blocks on a condition variable
	 * rather than spinning (unlike OpenMP, see TRANSFORM_THREADS), so
	 * under load it costs a context switch, and alone it cuts the
	 * decode by about a sixth.
	 */
	cfg.options.use_threads = 1;
	cfg.output.colorspace = d->webp_alpha ? MODE_RGBA : MODE_RGB;
	cfg.output.is_external_memory = 1;
	cfg.output.u.RGBA.rgba = out.px;
	cfg.output.u.RGBA.stride = (int)(out.w * out.channels);
	cfg.output.u.RGBA.size = size;
	idec = WebPIDecode(NULL, 0, &cfg);
	if (idec == NULL) {
		rc = IMGDEC_NOMEM;
		goto out;
	}
	/*
	 * Incremental: the data grows by a chunk per step and the deadline
	 * is checked between steps (one WebPDecode call could not be
	 * stopped).
	 */
	while (st == VP8_STATUS_SUSPENDED && off < d->len) {
		if (imgdec_now_ms() > deadline) {
			rc = IMGDEC_TIMEOUT;
			goto out;
		}
		off += d->len - off < WEBP_CHUNK ? d->len - off : WEBP_CHUNK;
		st = WebPIUpdate(idec, d->src, off);
	}
	if (st != VP8_STATUS_OK) {
		snprintf(d->why, IMG_MSG_MAX, "webp: decode status %d",
		    (int)st);
		goto out;
	}
	*img = out;
	memset(&out, 0, sizeof(out));
	rc = IMGDEC_OK;
out:
	if (idec != NULL)
		WebPIDelete(idec);
	imgdec_image_free(&out);
	return rc;
}

/* --- GIF (giflib, first frame, row by row) */

static int
gif_read_mem(GifFileType *gif, GifByteType *out, int n)
{
	struct imgdec *d = gif->UserData;
	size_t want = n > 0 ? (size_t)n : 0;

	if (want > d->len - d->gif_off)
		want = d->len - d->gif_off;
	memcpy(out, d->src + d->gif_off, want);
	d->gif_off += want;
	return (int)want;
}

static enum imgdec_rc
gif_open(struct imgdec *d)
{
	GraphicsControlBlock gcb;
	GifRecordType type;
	GifByteType *ext;
	int err = 0, code;

	d->gif_transparent = -1;
	d->gif = DGifOpen(d, gif_read_mem, &err);
	if (d->gif == NULL) {
		snprintf(d->why, IMG_MSG_MAX, "gif: open error %d", err);
		return err == D_GIF_ERR_NOT_ENOUGH_MEM ? IMGDEC_NOMEM :
		    IMGDEC_BAD;
	}
	/* Up to the first image: its graphic control block, if any, says
	   which index is transparent. */
	for (;;) {
		if (DGifGetRecordType(d->gif, &type) == GIF_ERROR)
			goto bad;
		if (type == IMAGE_DESC_RECORD_TYPE)
			break;
		if (type != EXTENSION_RECORD_TYPE)
			goto bad;	/* the trailer, or junk: no image */
		if (DGifGetExtension(d->gif, &code, &ext) == GIF_ERROR)
			goto bad;
		if (code == GRAPHICS_EXT_FUNC_CODE && ext != NULL &&
		    DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK)
			d->gif_transparent = gcb.TransparentColor;
		while (ext != NULL)
			if (DGifGetExtensionNext(d->gif, &ext) == GIF_ERROR)
				goto bad;
	}
	if (DGifGetImageDesc(d->gif) == GIF_ERROR)
		goto bad;
	/* ImageMagick's first frame is the frame's own rectangle. */
	d->w = d->gif->Image.Width;
	d->h = d->gif->Image.Height;
	if (d->gif->Image.ColorMap == NULL && d->gif->SColorMap == NULL) {
		snprintf(d->why, IMG_MSG_MAX, "gif: no colour map");
		return IMGDEC_BAD;
	}
	/* Interlaced rows come in four passes: ImageMagick reads those. */
	if (d->gif->Image.Interlace) {
		snprintf(d->why, IMG_MSG_MAX, "gif: interlaced");
		return IMGDEC_UNSUPPORTED;
	}
	return side_check(d->w, d->h, d->why);
bad:
	snprintf(d->why, IMG_MSG_MAX, "gif: header error %d",
	    d->gif->Error);
	return IMGDEC_BAD;
}

/* box_fill's next for GIF: a line of indexes (arg), into RGB(A). */
static enum imgdec_rc
gif_row(struct imgdec *d, long y, unsigned char *row, void *arg)
{
	const ColorMapObject *cm = d->gif->Image.ColorMap != NULL ?
	    d->gif->Image.ColorMap : d->gif->SColorMap;
	GifPixelType *line = arg;
	int ch = d->gif_transparent >= 0 ? 4 : 3, ix;
	unsigned char *p;
	long x;

	if (DGifGetLine(d->gif, line, (int)d->w) == GIF_ERROR) {
		snprintf(d->why, IMG_MSG_MAX, "gif: row %ld: error %d", y,
		    d->gif->Error);
		return IMGDEC_BAD;
	}
	for (x = 0, p = row; x < d->w; x++, p += ch) {
		ix = line[x];
		/* ImageMagick maps an index past the map to 0. */
		if (ix >= cm->ColorCount)
			ix = 0;
		p[0] = cm->Colors[ix].Red;
		p[1] = cm->Colors[ix].Green;
		p[2] = cm->Colors[ix].Blue;
		if (ch == 4)
			p[3] = line[x] == d->gif_transparent ? 0 : 255;
	}
	return IMGDEC_OK;
}

static enum imgdec_rc
gif_decode(struct imgdec *d, int k, long long deadline,
    struct imgdec_image *img)
{
	GifPixelType *line = NULL;
	unsigned char *row = NULL;
	struct box b;
	int ch = d->gif_transparent >= 0 ? 4 : 3;
	enum imgdec_rc rc;

	line = malloc((size_t)d->w);
	row = malloc((size_t)d->w * (size_t)ch);
	if (line == NULL || row == NULL) {
		rc = IMGDEC_NOMEM;
		goto out;
	}
	rc = box_init(&b, d->w, d->h, k, ch, 8);
	if (rc == IMGDEC_OK)
		rc = box_fill(&b, d, row, gif_row, line, deadline, img);
out:
	free(line);
	free(row);
	return rc;
}

/* --- AVIF/HEIC (libheif) */

static enum imgdec_rc
heif_open(struct imgdec *d)
{
	struct heif_error e;

	d->heif = heif_context_alloc();
	if (d->heif == NULL)
		return IMGDEC_NOMEM;
	heif_context_set_maximum_image_size_limit(d->heif, IMGDEC_SIDE_MAX);
	/* One thread, as ImageMagick's (TRANSFORM_THREADS, img_init). */
	heif_context_set_max_decoding_threads(d->heif, 1);
	e = heif_context_read_from_memory_without_copy(d->heif, d->src,
	    d->len, NULL);
	if (e.code == heif_error_Ok)
		e = heif_context_get_primary_image_handle(d->heif, &d->hh);
	if (e.code != heif_error_Ok) {
		snprintf(d->why, IMG_MSG_MAX, "heif: %s", e.message);
		return e.code == heif_error_Memory_allocation_error ?
		    IMGDEC_NOMEM : IMGDEC_BAD;
	}
	/* The size after the file's rotations, as the decode returns it. */
	d->w = heif_image_handle_get_width(d->hh);
	d->h = heif_image_handle_get_height(d->hh);
	return side_check(d->w, d->h, d->why);
}

/*
 * The smallest embedded thumbnail that is at least tw x th and has the
 * primary image's aspect (within 1%), or NULL. The caller releases it.
 */
static struct heif_image_handle *
heif_thumb(struct imgdec *d, long tw, long th)
{
	heif_item_id ids[HEIF_THUMBS_MAX];
	struct heif_image_handle *t, *best = NULL;
	long w, h, bw = 0;
	int n, i;

	n = heif_image_handle_get_list_of_thumbnail_IDs(d->hh, ids,
	    HEIF_THUMBS_MAX);
	for (i = 0; i < n; i++) {
		if (heif_image_handle_get_thumbnail(d->hh, ids[i], &t).code !=
		    heif_error_Ok)
			continue;
		w = heif_image_handle_get_width(t);
		h = heif_image_handle_get_height(t);
		if (w >= tw && h >= th && w <= d->w && h <= d->h &&
		    labs(w * d->h - h * d->w) * 100 <= w * d->h &&
		    (best == NULL || w < bw)) {
			if (best != NULL)
				heif_image_handle_release(best);
			best = t;
			bw = w;
		} else
			heif_image_handle_release(t);
	}
	return best;
}

static enum imgdec_rc
heif_decode(struct imgdec *d, long tw, long th, long long max_pixels,
    long long deadline, struct imgdec_image *img)
{
	struct heif_decoding_options *opt = NULL;
	struct heif_image_handle *thumb, *use;
	struct heif_image *im = NULL;
	struct heif_error e;
	const uint8_t *plane;
	struct box b;
	int alpha, stride = 0, have_box = 0, k;
	long w, h, y;
	enum imgdec_rc rc = IMGDEC_BAD;

	thumb = heif_thumb(d, tw, th);
	use = thumb != NULL ? thumb : d->hh;
	alpha = heif_image_handle_has_alpha_channel(use) != 0;
	opt = heif_decoding_options_alloc();
	if (opt == NULL) {
		rc = IMGDEC_NOMEM;
		goto out;
	}
	/* 10- and 12-bit AV1 to 8 bits, as every output format here is. */
	opt->convert_hdr_to_8bit = 1;
	e = heif_decode_image(use, &im, heif_colorspace_RGB,
	    alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB,
	    opt);
	if (e.code != heif_error_Ok) {
		snprintf(d->why, IMG_MSG_MAX, "heif: %s", e.message);
		rc = e.code == heif_error_Memory_allocation_error ?
		    IMGDEC_NOMEM : IMGDEC_BAD;
		goto out;
	}
	/* No progress callback can stop libheif: check once it is done. */
	if (imgdec_now_ms() > deadline) {
		rc = IMGDEC_TIMEOUT;
		goto out;
	}
	w = heif_image_get_primary_width(im);
	h = heif_image_get_primary_height(im);
	plane = heif_image_get_plane_readonly(im, heif_channel_interleaved,
	    &stride);
	/* The geometry was computed from the header's size: the decode
	   (or the thumbnail) must have its shape. */
	if (plane == NULL || side_check(w, h, d->why) != IMGDEC_OK ||
	    w * h > max_pixels || stride < w * (alpha ? 4 : 3) ||
	    labs(w * d->h - h * d->w) * 100 > w * d->h ||
	    heif_image_get_bits_per_pixel_range(im,
	    heif_channel_interleaved) != 8) {
		snprintf(d->why, IMG_MSG_MAX, "heif: unexpected %ldx%ld image",
		    w, h);
		goto out;
	}
	k = imgdec_factor(w, h, tw, th);
	rc = box_init(&b, w, h, k, alpha ? 4 : 3, 8);
	if (rc != IMGDEC_OK)
		goto out;
	for (y = 0; y < h; y++)
		box_row(&b, plane + (size_t)y * (size_t)stride);
	box_take(&b, img);
	have_box = 0;
	rc = IMGDEC_OK;
out:
	if (have_box)
		box_free(&b);
	if (im != NULL)
		heif_image_release(im);
	if (opt != NULL)
		heif_decoding_options_free(opt);
	if (thumb != NULL)
		heif_image_handle_release(thumb);
	return rc;
}

/* --- dispatch */

struct imgdec *
imgdec_open(enum img_format f, const void *src, size_t len,
    enum imgdec_rc *rc, char *why)
{
	struct imgdec *d;

	why[0] = '\0';
	if (!imgdec_handles(f)) {
		*rc = IMGDEC_UNSUPPORTED;
		snprintf(why, IMG_MSG_MAX, "no scaled decoder for format %d",
		    (int)f);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		*rc = IMGDEC_NOMEM;
		return NULL;
	}
	d->f = f;
	d->src = src;
	d->len = len;
	d->why = why;
	switch (f) {
	case IMG_PNG:
		*rc = png_open(d);
		break;
	case IMG_WEBP:
		*rc = webp_open(d);
		break;
	case IMG_GIF:
		*rc = gif_open(d);
		break;
	default:
		*rc = heif_open(d);
		break;
	}
	d->why = NULL;
	if (*rc != IMGDEC_OK) {
		imgdec_close(d);
		return NULL;
	}
	return d;
}

enum imgdec_rc
imgdec_read(struct imgdec *d, long tw, long th, long long max_pixels,
    long long deadline, struct imgdec_image *img, char *why)
{
	enum imgdec_rc rc;
	int k;

	memset(img, 0, sizeof(*img));
	why[0] = '\0';
	if (d->used || tw < 1 || th < 1) {
		snprintf(why, IMG_MSG_MAX, "imgdec_read: bad call");
		return IMGDEC_BAD;
	}
	d->used = 1;
	if ((long long)d->w * d->h > max_pixels) {
		snprintf(why, IMG_MSG_MAX, "%ldx%ld is over %lld pixels",
		    d->w, d->h, max_pixels);
		return IMGDEC_LIMIT;
	}
	d->why = why;
	k = imgdec_factor(d->w, d->h, tw, th);
	switch (d->f) {
	case IMG_PNG:
		rc = png_decode(d, k, deadline, img);
		break;
	case IMG_WEBP:
		rc = webp_decode(d, tw, th, deadline, img);
		break;
	case IMG_GIF:
		rc = gif_decode(d, k, deadline, img);
		break;
	default:
		rc = heif_decode(d, tw, th, max_pixels, deadline, img);
		break;
	}
	d->why = NULL;
	if (rc == IMGDEC_TIMEOUT && why[0] == '\0')
		snprintf(why, IMG_MSG_MAX, "deadline passed while decoding");
	return rc;
}

void
imgdec_close(struct imgdec *d)
{
	int err;

	if (d == NULL)
		return;
	if (d->png != NULL)
		png_destroy_read_struct(&d->png, d->pinfo != NULL ? &d->pinfo :
		    NULL, NULL);
	if (d->gif != NULL)
		DGifCloseFile(d->gif, &err);
	if (d->hh != NULL)
		heif_image_handle_release(d->hh);
	if (d->heif != NULL)
		heif_context_free(d->heif);
	free(d);
}
