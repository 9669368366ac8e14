/*
 * Unit tests for common/img.c: the parameter validators at and just past
 * their bounds, canonical queries, magic-byte sniffing, output geometry,
 * the ImageMagick policy (loaded, and refusing disallowed coders), and
 * the scaled decoders (imgdec.h): their output against ImageMagick's own
 * decode (PSNR), their limits and their fallbacks.
 * Run from the top of the tree (tests/all does): the policy is read from
 * etc/imagemagick.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit.h"
#include <sys/wait.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wand/MagickWand.h>

#include "img.h"
#include "imgdec.h"

/* img_init with the settings of the environment, as transform does. */
static int
init_env(char *err, size_t errlen)
{
	struct cfg c;
	int rc;

	if (cfg_load(&c, 0, err, errlen) == -1)
		return -1;
	rc = img_init(&c.transform, err, errlen);
	cfg_free(&c);
	return rc;
}

static void
t_dim(void **state)
{
	int v = -7;

	assert_int_equal(img_parse_dim("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(img_parse_dim("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(img_parse_dim("0", &v), -1);
	assert_int_equal(img_parse_dim("4097", &v), -1);
	assert_int_equal(img_parse_dim("-1", &v), -1);
	assert_int_equal(img_parse_dim("", &v), -1);
	assert_int_equal(img_parse_dim(" 10", &v), -1);
	assert_int_equal(img_parse_dim("10 ", &v), -1);
	assert_int_equal(img_parse_dim("1e3", &v), -1);
	assert_int_equal(img_parse_dim("0x10", &v), -1);
	assert_int_equal(img_parse_dim("99999999999999999999", &v), -1);
}

static void
t_quality(void **state)
{
	int v;

	assert_int_equal(img_parse_quality("1", &v), 0);
	assert_int_equal(img_parse_quality("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(img_parse_quality("0", &v), -1);
	assert_int_equal(img_parse_quality("101", &v), -1);
	assert_int_equal(img_parse_quality("high", &v), -1);
}

static void
t_format_fit(void **state)
{
	enum img_format f;
	enum img_fit fit;

	assert_int_equal(img_parse_format("webp", &f), 0);
	assert_int_equal(f, IMG_WEBP);
	assert_int_equal(img_parse_format("jpeg", &f), 0);
	assert_int_equal(img_parse_format("png", &f), 0);
	assert_int_equal(img_parse_format("avif", &f), 0);
	assert_int_equal(f, IMG_AVIF);
	assert_int_equal(img_parse_format("gif", &f), -1);
	assert_int_equal(img_parse_format("JPEG", &f), -1);
	assert_int_equal(img_parse_format("svg", &f), -1);
	assert_int_equal(img_parse_format("", &f), -1);
	assert_int_equal(img_parse_fit("cover", &fit), 0);
	assert_int_equal(fit, IMG_COVER);
	assert_int_equal(img_parse_fit("contain", &fit), 0);
	assert_int_equal(fit, IMG_CONTAIN);
	assert_int_equal(img_parse_fit("fill", &fit), -1);
	assert_int_equal(img_parse_fit("Cover", &fit), -1);
}

static void
t_focal(void **state)
{
	int x = -1, y = -1;

	assert_int_equal(img_parse_focal("0,0", &x, &y), 0);
	assert_int_equal(img_parse_focal("100,100", &x, &y), 0);
	assert_int_equal(x, 100);
	assert_int_equal(img_parse_focal("25,75", &x, &y), 0);
	assert_int_equal(x, 25);
	assert_int_equal(y, 75);
	assert_int_equal(img_parse_focal("101,0", &x, &y), -1);
	assert_int_equal(img_parse_focal("0,101", &x, &y), -1);
	assert_int_equal(img_parse_focal("-1,5", &x, &y), -1);
	assert_int_equal(img_parse_focal("50", &x, &y), -1);
	assert_int_equal(img_parse_focal("50,", &x, &y), -1);
	assert_int_equal(img_parse_focal(",50", &x, &y), -1);
	assert_int_equal(img_parse_focal("50,50,50", &x, &y), -1);
	assert_int_equal(img_parse_focal("0050,1", &x, &y), -1);
	assert_int_equal(img_parse_focal("", &x, &y), -1);
}

static void
t_params_set(void **state)
{
	struct img_params p;
	char msg[IMG_MSG_MAX];

	img_params_init(&p);
	assert_int_equal(img_param_known("width"), 1);
	assert_int_equal(img_param_known("token"), 0);
	assert_int_equal(img_param_known("Width"), 0);
	assert_int_equal(img_params_set(&p, "width", "400", 3, msg), 0);
	assert_int_equal(p.width, 400);
	assert_true(p.given & IMG_P_WIDTH);
	assert_int_equal(img_params_set(&p, "width", "300", 3, msg), -1);
	assert_non_null(strstr(msg, "width"));
	assert_int_equal(img_params_set(&p, "height", "0", 1, msg), -1);
	assert_non_null(strstr(msg, "height"));
	/* A decoded %00 inside a value. */
	assert_int_equal(img_params_set(&p, "quality", "5\0" "0", 3, msg), -1);
	assert_non_null(strstr(msg, "quality"));
	assert_int_equal(img_params_set(&p, "focal", "x", 1, msg), -1);
	assert_non_null(strstr(msg, "focal"));
	assert_int_equal(img_params_set(&p, "fit", "x", 1, msg), -1);
	assert_non_null(strstr(msg, "fit"));
	assert_int_equal(img_params_set(&p, "format", "x", 1, msg), -1);
	assert_non_null(strstr(msg, "format"));
}

static void
t_canonical(void **state)
{
	struct img_params p, q;
	char a[IMG_CANON_MAX], b[IMG_CANON_MAX], msg[IMG_MSG_MAX];

	img_params_init(&p);
	p.width = 400;
	p.given = IMG_P_WIDTH;
	img_canonical(&p, img_output_format(&p, "image/jpeg"), a);
	assert_string_equal(a, "width=400&height=auto&fit=contain"
	    "&focal=50,50&format=jpeg&quality=80");
	/* Defaults spelled out give the same string. */
	img_params_init(&q);
	assert_int_equal(img_params_set(&q, "quality", "80", 2, msg), 0);
	assert_int_equal(img_params_set(&q, "fit", "contain", 7, msg), 0);
	assert_int_equal(img_params_set(&q, "focal", "10,90", 5, msg), 0);
	assert_int_equal(img_params_set(&q, "format", "jpeg", 4, msg), 0);
	assert_int_equal(img_params_set(&q, "width", "400", 3, msg), 0);
	img_canonical(&q, img_output_format(&q, "image/png"), b);
	assert_string_equal(a, b);
	/* Cover keeps focal; lossless output drops quality. */
	q.fit = IMG_COVER;
	q.format = IMG_PNG;
	img_canonical(&q, img_output_format(&q, "image/jpeg"), b);
	assert_string_equal(b, "width=400&height=auto&fit=cover"
	    "&focal=10,90&format=png&quality=lossless");
	/* Default format from the source type. */
	img_params_init(&p);
	assert_int_equal(img_output_format(&p, "image/webp"), IMG_WEBP);
	assert_int_equal(img_output_format(&p, "image/gif"), IMG_PNG);
	assert_int_equal(img_output_format(&p, "IMAGE/PNG; x=1"), IMG_PNG);
	assert_int_equal(img_output_format(&p, "image/pngx"), IMG_JPEG);
	assert_int_equal(img_output_format(&p, "text/plain"), IMG_JPEG);
	img_cloudflare_options(&q, IMG_PNG, b);
	assert_string_equal(b, "width=400,fit=crop,format=png,gravity=0.10x0.90");
	p.width = 64;
	p.height = 32;
	img_cloudflare_options(&p, IMG_WEBP, b);
	assert_string_equal(b, "width=64,height=32,fit=scale-down,format=webp,"
	    "quality=80");
}

/* A magic string literal, NULs included, and what it sniffs as. */
#define SNIFF(magic, fmt)	{ (magic), sizeof(magic) - 1, (fmt) }

static void
t_sniff(void **state)
{
	static const struct {
		const char	*magic;
		size_t		 len;
		enum img_format	 want;
	} cases[] = {
		SNIFF("\xff\xd8\xff\xe0", IMG_JPEG),
		SNIFF("\x89PNG\r\n\x1a\n", IMG_PNG),
		SNIFF("GIF89a", IMG_GIF),
		SNIFF("GIF87a", IMG_GIF),
		SNIFF("RIFF\0\0\0\0WEBPVP8 ", IMG_WEBP),
		SNIFF("\0\0\0\x1c" "ftypavif", IMG_AVIF),
		SNIFF("\0\0\0\x1c" "ftypheic", IMG_AVIF),
		/* Cut short, or near misses. */
		SNIFF("\xff\xd8", IMG_NONE),
		SNIFF("\x89PNG\r\n\x1a", IMG_NONE),
		SNIFF("GIF88a", IMG_NONE),
		SNIFF("RIFF\0\0\0\0WAVEfmt ", IMG_NONE),
		SNIFF("\0\0\0\x1c" "ftypisom", IMG_NONE),
		/* What ImageMagick would read but a rendition never takes. */
		SNIFF("<svg xmlns=", IMG_NONE),
		SNIFF("<?xml version", IMG_NONE),
		SNIFF("push graphic-context", IMG_NONE),
		SNIFF("%!PS-Adobe", IMG_NONE),
		SNIFF("%PDF-1.7", IMG_NONE),
		SNIFF("", IMG_NONE),
	};
	enum img_format got;
	size_t i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		got = img_sniff(cases[i].magic, cases[i].len);
		if (got != cases[i].want)
			fail_msg("case %zu sniffs as %d, not %d", i, (int)got,
			    (int)cases[i].want);
	}
}

/* Set p from a query string such as "width=300&fit=cover"; all valid. */
static void
params_from(struct img_params *p, const char *q)
{
	char buf[64], *tok, *next, *eq, msg[IMG_MSG_MAX];

	img_params_init(p);
	snprintf(buf, sizeof(buf), "%s", q);
	for (tok = buf; tok != NULL; tok = next) {
		next = strchr(tok, '&');
		if (next != NULL)
			*next++ = '\0';
		eq = strchr(tok, '=');
		assert_non_null(eq);
		*eq++ = '\0';
		assert_int_equal(img_params_set(p, tok, eq, strlen(eq), msg), 0);
	}
}

static void
geo(const char *q, enum img_format out, long sw, long sh, long want[6])
{
	struct img_params p;
	long g[6];

	params_from(&p, q);
	img_geometry(&p, out, sw, sh, &g[0], &g[1], &g[2], &g[3], &g[4], &g[5]);
	assert_memory_equal(g, want, sizeof(g));
}

static void
t_geometry(void **state)
{
	/* resize w,h; crop w,h at x,y */
	long a[6] = { 400, 300, 400, 300, 0, 0 };
	long b[6] = { 200, 150, 200, 150, 0, 0 };
	long c[6] = { 267, 200, 200, 200, 34, 0 };	/* 33.5 rounds up */
	long d[6] = { 267, 200, 200, 200, 0, 0 };
	long e[6] = { 267, 200, 200, 200, 67, 0 };
	long f[6] = { 800, 600, 800, 600, 0, 0 };
	long g[6] = { 800, 600, 800, 300, 0, 150 };
	long h[6] = { 1200, 900, 1200, 900, 0, 0 };
	long i[6] = { 1, 1, 1, 1, 0, 0 };

	geo("width=400", IMG_JPEG, 800, 600, a);
	geo("width=200&height=200", IMG_JPEG, 800, 600, b);
	geo("width=200&height=200&fit=cover", IMG_JPEG, 800, 600, c);
	geo("width=200&height=200&fit=cover&focal=0,0", IMG_JPEG, 800, 600, d);
	geo("width=200&height=200&fit=cover&focal=100,0", IMG_JPEG, 800, 600, e);
	geo("width=4096", IMG_JPEG, 800, 600, f);	/* never enlarges */
	geo("width=1600&height=300&fit=cover", IMG_JPEG, 800, 600, g);
	geo("width=4096", IMG_AVIF, 4000, 3000, h);	/* AVIF cap */
	geo("width=1", IMG_JPEG, 4000, 1, i);		/* never 0 px */
}

/* In a child: a process loads its policy once. */
static int
child_init(const char *confpath)
{
	char err[256];
	pid_t pid;
	int st;

	pid = fork();
	if (pid == 0) {
		setenv("MAGICK_CONFIGURE_PATH", confpath, 1);
		_exit(init_env(err, sizeof(err)) == 0 ? 0 : 3);
	}
	if (pid == -1 || waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
t_policy_required(void **state)
{
	/* The system policy alone allows SVG: get must refuse to start. */
	assert_int_equal(child_init("/nonexistent-filestor-policy"), 3);
	assert_int_equal(child_init("etc/imagemagick"), 0);
}

static void
t_policy_refuses_coders(void **state)
{
	static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"8\" height=\"8\"><rect width=\"8\" height=\"8\"/></svg>";
	static const char mvg[] = "viewbox 0 0 8 8 fill red rectangle 0,0 4,4";
	static const char *const bad[][2] = { { "SVG", svg }, { "MVG", mvg },
	    { "TXT", "hello" }, { "PS", "%!PS\nshowpage\n" } };
	struct img_params p;
	unsigned char *out = NULL;
	size_t n = 0, i;
	char err[256], msg[IMG_MSG_MAX], why[IMG_MSG_MAX];
	MagickWand *w;

	setenv("MAGICK_CONFIGURE_PATH", "etc/imagemagick", 1);
	assert_int_equal(init_env(err, sizeof(err)), 0);
	/* ImageMagick itself, asked for these coders by name, refuses. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w = NewMagickWand();
		assert_non_null(w);
		assert_true(MagickSetFormat(w, bad[i][0]) != MagickFalse);
		assert_true(MagickReadImageBlob(w, bad[i][1],
		    strlen(bad[i][1])) == MagickFalse);
		DestroyMagickWand(w);
	}
	/* And the transform refuses them before ImageMagick sees them. */
	img_params_init(&p);
	p.width = 4;
	p.given = IMG_P_WIDTH;
	assert_int_equal(img_transform(svg, strlen(svg), &p, IMG_PNG, &out, &n,
	    msg, why), FS_VALIDATION);
	assert_null(out);
	/* A PNG that decodes fine is transformed. */
	w = NewMagickWand();
	assert_non_null(w);
	{
		PixelWand *c = NewPixelWand();
		unsigned char *png;
		size_t pl;

		PixelSetColor(c, "red");
		assert_true(MagickNewImage(w, 16, 8, c) != MagickFalse);
		assert_true(MagickSetImageFormat(w, "PNG") != MagickFalse);
		png = MagickGetImageBlob(w, &pl);
		assert_non_null(png);
		assert_int_equal(img_transform(png, pl, &p, IMG_WEBP, &out, &n,
		    msg, why), FS_OK);
		assert_true(n > 12);
		assert_memory_equal(out + 8, "WEBP", 4);
		img_free(out);
		MagickRelinquishMemory(png);
		DestroyPixelWand(c);
	}
	DestroyMagickWand(w);
	img_done();
}

/* --- scaled decoders (issue 21) */

/* Fixture kinds: the format and what the pixels carry. */
struct fix {
	const char	*name;
	const char	*coder;		/* ImageMagick writer */
	int		 alpha;		/* with an alpha channel */
	int		 depth16;	/* 16 bits per sample */
	int		 gray;
	int		 palette;	/* PNG: 8-bit indexed */
};

/*
 * A synthetic photo: smooth gradients, rings, a deterministic noise,
 * hard-edged blocks (what a box filter handles worst) and, with alpha,
 * a soft-edged transparent disc. Encoded by ImageMagick with coder.
 * Returns the blob (MagickRelinquishMemory) and its length.
 */
static unsigned char *
make_fixture(const struct fix *f, size_t w, size_t h, size_t *len)
{
	MagickWand *mw = NewMagickWand();
	uint16_t *px;
	unsigned char *blob;
	uint32_t seed = 12345;
	size_t x, y, i;
	double v[4], d;
	int c, ch = f->alpha ? 4 : 3;

	assert_non_null(mw);
	px = calloc(w * h * (size_t)ch, sizeof(*px));
	assert_non_null(px);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			d = hypot((double)x - w * 0.6, (double)y - h * 0.4);
			v[0] = 0.5 + 0.35 * sin(x / 37.0) * cos(y / 53.0);
			v[1] = (double)x / (double)w;
			v[2] = 0.5 * (double)y / (double)h + 0.3 +
			    0.2 * sin(d / 9.0);
			if ((x / 97 + y / 131) % 5 == 0) {	/* blocks */
				v[0] = 0.9;
				v[1] = 0.1;
				v[2] = 0.2;
			}
			for (c = 0; c < 3; c++) {
				seed = seed * 1103515245u + 12345u;
				v[c] += ((double)(seed >> 16 & 0xff) - 127.5) /
				    2000.0;
			}
			if (f->gray)
				v[0] = v[1] = v[2] = (v[0] + v[1] + v[2]) / 3;
			v[3] = d < h * 0.2 ? d / (h * 0.2) : 1.0;
			i = (y * w + x) * (size_t)ch;
			for (c = 0; c < ch; c++)
				px[i + (size_t)c] = (uint16_t)lround(65535.0 *
				    (v[c] < 0 ? 0 : v[c] > 1 ? 1 : v[c]));
		}
	assert_true(MagickConstituteImage(mw, w, h, f->alpha ? "RGBA" : "RGB",
	    ShortPixel, px) != MagickFalse);
	free(px);
	if (f->gray)
		assert_true(MagickSetImageType(mw, f->alpha ?
		    GrayscaleMatteType : GrayscaleType) != MagickFalse);
	assert_true(MagickSetImageDepth(mw, f->depth16 ? 16 : 8) !=
	    MagickFalse);
	assert_true(MagickSetImageFormat(mw, f->coder) != MagickFalse);
	if (f->palette)
		assert_true(MagickSetOption(mw, "png:format", "png8") !=
		    MagickFalse);
	MagickSetImageCompressionQuality(mw, 90);
	blob = MagickGetImageBlob(mw, len);
	assert_non_null(blob);
	DestroyMagickWand(mw);
	return blob;
}

/* Decode an output blob to 8-bit RGBA: *w x *h pixels (free()). */
static unsigned char *
decode_rgba(const unsigned char *blob, size_t len, size_t *w, size_t *h)
{
	MagickWand *mw = NewMagickWand();
	unsigned char *px;

	assert_non_null(mw);
	assert_true(MagickReadImageBlob(mw, blob, len) != MagickFalse);
	*w = MagickGetImageWidth(mw);
	*h = MagickGetImageHeight(mw);
	px = malloc(*w * *h * 4);
	assert_non_null(px);
	assert_true(MagickExportImagePixels(mw, 0, 0, *w, *h, "RGBA",
	    CharPixel, px) != MagickFalse);
	DestroyMagickWand(mw);
	return px;
}

/*
 * PSNR in dB of two RGBA buffers of n pixels (99 when identical), over
 * what is seen: colours weighted by their alpha (premultiplied), and
 * alpha. The colour of a nearly transparent pixel is its weighted sum
 * divided by a tiny alpha, noise that no viewer sees; for opaque
 * pixels this is the plain PSNR.
 */
static double
psnr(const unsigned char *a, const unsigned char *b, size_t n)
{
	double se = 0, dv;
	size_t i;
	int c;

	for (i = 0; i < n * 4; i += 4)
		for (c = 0; c < 4; c++) {
			dv = c == 3 ? (double)a[i + 3] - (double)b[i + 3] :
			    ((double)a[i + c] * a[i + 3] -
			    (double)b[i + c] * b[i + 3]) / 255.0;
			se += dv * dv;
		}
	if (se == 0)
		return 99;
	return 10 * log10(255.0 * 255.0 / (se / (double)(n * 4)));
}

/* Transform src with the scaled decoders on, then off; the PSNR of the
   two outputs (PNG, lossless: only the decode differs). */
static double
psnr_paths(const unsigned char *src, size_t len, const char *query)
{
	struct img_params p;
	char msg[IMG_MSG_MAX], why[IMG_MSG_MAX];
	unsigned char *o[2], *px[2];
	size_t n[2], w[2], h[2];
	unsigned long before;
	double db;
	int i;

	params_from(&p, query);
	for (i = 0; i < 2; i++) {
		img_set_scaled_decode(i == 0);
		before = img_scaled_runs();
		assert_int_equal(img_transform(src, len, &p, IMG_PNG, &o[i], &n[i],
		    msg, why), FS_OK);
		/* The new path really ran, and the old one did not. */
		assert_int_equal(img_scaled_runs() - before, i == 0 ? 1 : 0);
		px[i] = decode_rgba(o[i], n[i], &w[i], &h[i]);
		img_free(o[i]);
	}
	img_set_scaled_decode(1);
	assert_int_equal(w[0], w[1]);
	assert_int_equal(h[0], h[1]);
	db = psnr(px[0], px[1], w[0] * h[0]);
	free(px[0]);
	free(px[1]);
	return db;
}

static void
t_scaled_psnr(void **state)
{
	static const struct fix fx[] = {
		{ "png", "PNG", 0, 0, 0, 0 },
		{ "png rgba", "PNG", 1, 0, 0, 0 },
		{ "png 16-bit", "PNG", 0, 1, 0, 0 },
		{ "png gray", "PNG", 0, 0, 1, 0 },
		{ "webp", "WEBP", 0, 0, 0, 0 },
		{ "webp alpha", "WEBP", 1, 0, 0, 0 },
		{ "png palette", "PNG", 0, 0, 0, 1 },
		{ "gif", "GIF", 0, 0, 0, 0 },
		{ "gif alpha", "GIF", 1, 0, 0, 0 },
		{ "avif", "AVIF", 0, 0, 0, 0 },
	};
	static const char *const queries[] = { "width=300",
	    "width=200&height=200&fit=cover&focal=30,70",
	    "height=150" };
	char err[256];
	unsigned char *src;
	size_t len, i, q;
	double db;

	setenv("MAGICK_CONFIGURE_PATH", "etc/imagemagick", 1);
	assert_int_equal(init_env(err, sizeof(err)), 0);
	for (i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		src = make_fixture(&fx[i], 1600, 1200, &len);
		for (q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
			db = psnr_paths(src, len, queries[q]);
			print_message("%-11s %-44s PSNR %.1f dB\n", fx[i].name,
			    queries[q], db);
			assert_true(db >= 40.0);
		}
		MagickRelinquishMemory(src);
	}
	img_done();
}

/* A CRC-32 (PNG's) for crafting headers. */
static uint32_t
crc32_png(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffu;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Open src as id and read it to tw x th within max_pixels and ms. */
static enum imgdec_rc
open_read(enum img_format id, const unsigned char *src, size_t len, long tw,
    long th, long long max_pixels, long long ms, struct imgdec_image *im)
{
	char why[IMG_MSG_MAX];
	struct imgdec *d;
	enum imgdec_rc rc;

	d = imgdec_open(id, src, len, &rc, why);
	assert_non_null(d);
	rc = imgdec_read(d, tw, th, max_pixels, imgdec_now_ms() + ms, im, why);
	imgdec_close(d);
	return rc;
}

/* One format's scaled decoder on a 320x240 fixture: each of its limits. */
static void
decoder_limits(const struct fix *fx, enum img_format id)
{
	struct imgdec *d;
	struct imgdec_image im;
	enum imgdec_rc rc;
	unsigned char *src;
	char why[IMG_MSG_MAX];
	size_t len;
	long w, h;

	src = make_fixture(fx, 320, 240, &len);
	/* Header only: the size, no pixels. */
	d = imgdec_open(id, src, len, &rc, why);
	assert_non_null(d);
	imgdec_size(d, &w, &h);
	assert_int_equal(w, 320);
	assert_int_equal(h, 240);
	imgdec_close(d);
	/* Over the pixel cap: refused before decoding. */
	assert_int_equal(open_read(id, src, len, 40, 30, 320 * 240 - 1, 10000,
	    &im), IMGDEC_LIMIT);
	assert_null(im.px);
	/* A deadline already past stops the decode. */
	assert_int_equal(open_read(id, src, len, 40, 30, 1000000, -1, &im),
	    IMGDEC_TIMEOUT);
	assert_null(im.px);
	/* Within both: shrunk by 8 to 40x30, twice the output. */
	assert_int_equal(open_read(id, src, len, 20, 15, 1000000, 10000, &im),
	    IMGDEC_OK);
	assert_int_equal(im.w, 40);
	assert_int_equal(im.h, 30);
	imgdec_image_free(&im);
	/* Truncated: fails cleanly at open or read, never OK. */
	d = imgdec_open(id, src, len / 2, &rc, why);
	if (d != NULL) {
		assert_int_not_equal(imgdec_read(d, 20, 15, 1000000,
		    imgdec_now_ms() + 10000, &im, why), IMGDEC_OK);
		assert_null(im.px);
		imgdec_close(d);
	} else
		assert_int_equal(rc, IMGDEC_BAD);
	MagickRelinquishMemory(src);
}

static void
t_scaled_limits(void **state)
{
	static const struct fix fmts[] = { { "png", "PNG", 0, 0, 0, 0 },
	    { "webp", "WEBP", 0, 0, 0, 0 }, { "gif", "GIF", 0, 0, 0, 0 },
	    { "avif", "AVIF", 0, 0, 0, 0 } };
	static const enum img_format ids[] = { IMG_PNG, IMG_WEBP, IMG_GIF,
	    IMG_AVIF };
	enum imgdec_rc rc;
	char err[256], why[IMG_MSG_MAX];
	size_t i;

	/* The box factor leaves 2..4x the output, never enlarges. */
	assert_int_equal(imgdec_factor(4000, 3000, 400, 300), 5);
	assert_int_equal(imgdec_factor(4000, 3000, 1000, 750), 2);
	assert_int_equal(imgdec_factor(4000, 3000, 1001, 751), 1);
	assert_int_equal(imgdec_factor(16384, 16384, 1, 1), 256);
	assert_int_equal(imgdec_factor(10, 10, 0, 5), 1);
	setenv("MAGICK_CONFIGURE_PATH", "etc/imagemagick", 1);
	assert_int_equal(init_env(err, sizeof(err)), 0);
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		decoder_limits(&fmts[i], ids[i]);
	imgdec_close(NULL);
	/* Not ours: garbage, and a format without a decoder here. */
	assert_null(imgdec_open(IMG_PNG, "\x89PNG\r\n\x1a\nxx", 10, &rc,
	    why));
	assert_int_equal(rc, IMGDEC_BAD);
	assert_null(imgdec_open(IMG_JPEG, "\xff\xd8\xff", 3, &rc, why));
	assert_int_equal(rc, IMGDEC_UNSUPPORTED);
	img_done();
}

static void
t_scaled_flood_interlaced(void **state)
{
	static const struct fix png = { "png", "PNG", 0, 0, 0, 0 };
	struct img_params p;
	enum imgdec_rc rc;
	unsigned char *src, *flood, *o = NULL;
	size_t len, n;
	long long t0;
	unsigned long runs;
	char err[256], why[IMG_MSG_MAX], msg[IMG_MSG_MAX];
	MagickWand *mw;

	setenv("MAGICK_CONFIGURE_PATH", "etc/imagemagick", 1);
	assert_int_equal(init_env(err, sizeof(err)), 0);
	/*
	 * Pixel flood through img_transform: a valid PNG header (CRC and
	 * all) that declares 8000x8000 (64 MP) over 50 bytes of nothing.
	 * The cap is checked from the header, so the answer is immediate.
	 */
	src = make_fixture(&png, 16, 16, &len);
	flood = malloc(len);
	assert_non_null(flood);
	memcpy(flood, src, len);
	assert_memory_equal(flood + 12, "IHDR", 4);
	put32(flood + 16, 8000);
	put32(flood + 20, 8000);
	put32(flood + 29, crc32_png(flood + 12, 17));
	img_params_init(&p);
	p.width = 100;
	t0 = imgdec_now_ms();
	assert_int_equal(img_transform(flood, len, &p, IMG_WEBP, &o, &n, msg,
	    why), FS_VALIDATION);
	assert_null(o);
	assert_non_null(strstr(msg, "more than"));
	assert_true(imgdec_now_ms() - t0 < 1000);
	free(flood);
	MagickRelinquishMemory(src);

	/* Interlaced PNG is left to ImageMagick, and still transformed. */
	mw = NewMagickWand();
	assert_non_null(mw);
	src = make_fixture(&png, 400, 300, &len);
	assert_true(MagickReadImageBlob(mw, src, len) != MagickFalse);
	MagickRelinquishMemory(src);
	assert_true(MagickSetInterlaceScheme(mw, PlaneInterlace) !=
	    MagickFalse);
	assert_true(MagickSetImageInterlaceScheme(mw, PlaneInterlace) !=
	    MagickFalse);
	src = MagickGetImageBlob(mw, &len);
	assert_non_null(src);
	assert_null(imgdec_open(IMG_PNG, src, len, &rc, why));
	assert_int_equal(rc, IMGDEC_UNSUPPORTED);
	runs = img_scaled_runs();
	assert_int_equal(img_transform(src, len, &p, IMG_PNG, &o, &n, msg,
	    why), FS_OK);
	assert_int_equal(img_scaled_runs(), runs);
	img_free(o);
	MagickRelinquishMemory(src);
	DestroyMagickWand(mw);
	img_done();
}

UNIT_MAIN(NULL, NULL,
    cmocka_unit_test(t_dim),
    cmocka_unit_test(t_quality),
    cmocka_unit_test(t_format_fit),
    cmocka_unit_test(t_focal),
    cmocka_unit_test(t_params_set),
    cmocka_unit_test(t_canonical),
    cmocka_unit_test(t_sniff),
    cmocka_unit_test(t_geometry),
    cmocka_unit_test(t_policy_required),
    cmocka_unit_test(t_policy_refuses_coders),
    cmocka_unit_test(t_scaled_psnr),
    cmocka_unit_test(t_scaled_limits),
    cmocka_unit_test(t_scaled_flood_interlaced))
