/*
 * fuzz/fuzz_imgdec.h: the body shared by the scaled-decoder harnesses
 * (imgdec_png.c, imgdec_webp.c, imgdec_gif.c, imgdec_heif.c), one per
 * parser. Each input is a whole file: open (header), then, unless the
 * header is refused, a decode for an output size taken from the last
 * byte, so that both small and large shrink factors are reached.
 *
 * The cap is lower than the server's 50 MP so that one input cannot
 * spend the time budget on a legitimately huge image; the code under
 * test is the same.
 */
#include <stddef.h>
#include <stdint.h>

#include "imgdec.h"

#define FUZZ_MAX_PIXELS	(4LL << 20)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_imgdec(enum img_format f, const uint8_t *data, size_t size)
{
	struct imgdec *d;
	struct imgdec_image im;
	enum imgdec_rc rc;
	char why[IMG_MSG_MAX];
	long w, h, t;

	d = imgdec_open(f, data, size, &rc, why);
	if (d == NULL)
		return 0;
	imgdec_size(d, &w, &h);
	t = size > 0 ? 1 + data[size - 1] % 64 : 1;
	if (imgdec_read(d, t, t, FUZZ_MAX_PIXELS, imgdec_now_ms() + 5000,
	    &im, why) == IMGDEC_OK) {
		/* Touch every byte: the sanitizers see a short buffer. */
		volatile unsigned char sink = 0;
		size_t i, n = (size_t)im.w * (size_t)im.h *
		    (size_t)im.channels * (size_t)(im.depth / 8);

		for (i = 0; i < n; i++)
			sink ^= im.px[i];
		(void)sink;
		imgdec_image_free(&im);
	}
	imgdec_close(d);
	return 0;
}
