/*
 * libFuzzer harness: the transform parameters (img_params_set and the
 * validators under it, img_output_format, img_canonical,
 * img_cloudflare_options, img_geometry, img_sniff). The input is
 * "<sw>x<sh>\n<content type>\n<query string>": the source size, the
 * source's Content-Type and the request's query, parsed as the server
 * parses it.
 *
 * Properties: an accepted parameter lies in its documented range; the
 * canonical query fits its buffer and names the output format; the
 * geometry never enlarges and the crop box lies inside the resized
 * image, within IMG_AVIF_MAX for AVIF.
 */
#include "fuzz.h"
#include "http.h"
#include "img.h"

static void
check_params(const struct img_params *p)
{
	FUZZ_CHECK(p->width >= 0 && p->width <= IMG_DIM_MAX);
	FUZZ_CHECK(p->height >= 0 && p->height <= IMG_DIM_MAX);
	FUZZ_CHECK(p->quality >= 0 && p->quality <= 100);
	FUZZ_CHECK(p->focal_x >= 0 && p->focal_x <= 100);
	FUZZ_CHECK(p->focal_y >= 0 && p->focal_y <= 100);
	FUZZ_CHECK(p->fit == IMG_CONTAIN || p->fit == IMG_COVER);
	FUZZ_CHECK(p->format >= IMG_NONE && p->format <= IMG_AVIF);
}

static void
check_geometry(const struct img_params *p, enum img_format out, long sw,
    long sh)
{
	long rw, rh, cw, ch, cx, cy;

	img_geometry(p, out, sw, sh, &rw, &rh, &cw, &ch, &cx, &cy);
	FUZZ_CHECK(rw >= 1 && rw <= sw && rh >= 1 && rh <= sh);
	FUZZ_CHECK(cw >= 1 && cw <= rw && ch >= 1 && ch <= rh);
	FUZZ_CHECK(cx >= 0 && cx <= rw - cw && cy >= 0 && cy <= rh - ch);
	if (p->width > 0 && p->fit == IMG_CONTAIN)
		FUZZ_CHECK(cw <= p->width);
	if (p->height > 0 && p->fit == IMG_CONTAIN)
		FUZZ_CHECK(ch <= p->height);
	if (out == IMG_AVIF)
		FUZZ_CHECK(cw <= IMG_AVIF_MAX && ch <= IMG_AVIF_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_param qp[HTTP_MAX_QUERY_PARAMS];
	struct img_params p;
	char *s, *ct, *qs, msg[IMG_MSG_MAX], buf[IMG_CANON_MAX];
	enum img_format out;
	long long sw, sh;
	int i, n, ok = 1;

	(void)img_sniff(data, size);
	s = fuzz_str(data, size);
	ct = strchr(s, '\n');
	qs = ct != NULL ? strchr(ct + 1, '\n') : NULL;
	if (qs == NULL)
		goto out;
	*ct++ = '\0';
	*qs++ = '\0';
	/* The server refuses sources over 50 MP before any geometry. */
	if (sscanf(s, "%lldx%lld", &sw, &sh) != 2 || sw < 1 || sh < 1 ||
	    sw > 50000000 || sh > 50000000 || sw * sh > 50000000)
		goto out;
	n = http_parse_query(qs, qp, HTTP_MAX_QUERY_PARAMS);
	img_params_init(&p);
	for (i = 0; i < n; i++) {
		if (ok && img_param_known(qp[i].name) &&
		    img_params_set(&p, qp[i].name, qp[i].value,
		    qp[i].value_len, msg) == -1) {
			FUZZ_CHECK(msg[0] != '\0' && strlen(msg) < IMG_MSG_MAX);
			ok = 0;
		}
		free(qp[i].name);
		free(qp[i].value);
	}
	check_params(&p);
	if (!ok)
		goto out;
	out = img_output_format(&p, ct);
	FUZZ_CHECK(out >= IMG_JPEG && out <= IMG_AVIF);
	img_canonical(&p, out, buf);
	FUZZ_CHECK(strlen(buf) < IMG_CANON_MAX);
	FUZZ_CHECK(strstr(buf, img_format_name(out)) != NULL);
	img_cloudflare_options(&p, out, buf);
	FUZZ_CHECK(strlen(buf) < IMG_CANON_MAX);
	check_geometry(&p, out, (long)sw, (long)sh);
out:
	free(s);
	return 0;
}
