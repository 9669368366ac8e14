/*
 * Unit tests for common/img.c: the parameter validators at and just past
 * their bounds, canonical queries, magic-byte sniffing, output geometry,
 * and the ImageMagick policy (loaded, and refusing disallowed coders).
 * Run from the top of the tree (tests/all does): the policy is read from
 * etc/imagemagick.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wand/MagickWand.h>

#include "img.h"

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

static void
t_sniff(void **state)
{
	assert_int_equal(img_sniff("\xff\xd8\xff\xe0", 4), IMG_JPEG);
	assert_int_equal(img_sniff("\xff\xd8", 2), IMG_NONE);
	assert_int_equal(img_sniff("\x89PNG\r\n\x1a\n", 8), IMG_PNG);
	assert_int_equal(img_sniff("\x89PNG\r\n\x1a", 7), IMG_NONE);
	assert_int_equal(img_sniff("GIF89a", 6), IMG_GIF);
	assert_int_equal(img_sniff("GIF87a", 6), IMG_GIF);
	assert_int_equal(img_sniff("GIF88a", 6), IMG_NONE);
	assert_int_equal(img_sniff("RIFF\0\0\0\0WEBPVP8 ", 16), IMG_WEBP);
	assert_int_equal(img_sniff("RIFF\0\0\0\0WAVEfmt ", 16), IMG_NONE);
	assert_int_equal(img_sniff("\0\0\0\x1c" "ftypavif", 12), IMG_AVIF);
	assert_int_equal(img_sniff("\0\0\0\x1c" "ftypheic", 12), IMG_AVIF);
	assert_int_equal(img_sniff("\0\0\0\x1c" "ftypisom", 12), IMG_NONE);
	assert_int_equal(img_sniff("<svg xmlns=", 11), IMG_NONE);
	assert_int_equal(img_sniff("<?xml version", 13), IMG_NONE);
	assert_int_equal(img_sniff("push graphic-context", 20), IMG_NONE);
	assert_int_equal(img_sniff("%!PS-Adobe", 10), IMG_NONE);
	assert_int_equal(img_sniff("%PDF-1.7", 8), IMG_NONE);
	assert_int_equal(img_sniff("", 0), IMG_NONE);
}

static void
geo(const char *q, enum img_format out, long sw, long sh, long want[6])
{
	struct img_params p;
	char buf[64], *tok, *next, *eq, msg[IMG_MSG_MAX];
	long g[6];

	img_params_init(&p);
	snprintf(buf, sizeof(buf), "%s", q);
	for (tok = buf; tok != NULL; tok = next) {
		next = strchr(tok, '&');
		if (next != NULL)
			*next++ = '\0';
		eq = strchr(tok, '=');
		assert_non_null(eq);
		*eq++ = '\0';
		assert_int_equal(img_params_set(&p, tok, eq, strlen(eq), msg), 0);
	}
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
		_exit(img_init(err, sizeof(err)) == 0 ? 0 : 3);
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
	assert_int_equal(img_init(err, sizeof(err)), 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
