/*
 * libFuzzer harness: JSON request bodies (http_read_json, with
 * http_json_has_nul under it) read from a request as the server builds
 * it. The first byte picks the cap and what Content-Length says (absent,
 * right, one short, one too many), the rest is the body.
 *
 * Properties: only an object is accepted, never from a body over the
 * cap, holding a raw NUL or an escaped one, or shorter than its
 * Content-Length; every refusal names its reason (except running out of
 * memory); what is accepted prints as JSON that parses again.
 */
#include "fuzz.h"
#include "http.h"
#include "../tests/unit/tio.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[4] = { 16, 1000, 5000, HTTP_JSON_MAX };
	char cl[48];
	char *envp[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x", cl, NULL };
	struct request r;
	const char *msg = NULL;
	cJSON *j = NULL, *back;
	char *text;
	size_t cap, len, blen;
	enum fs_err e;
	int mode;

	if (size < 1)
		return 0;
	cap = caps[data[0] & 3];
	mode = (data[0] >> 2) & 3;
	len = size - 1;
	/* What the server reads: no more than Content-Length. */
	blen = mode == 2 && len > 0 ? len - 1 : len;
	if (mode == 0)
		envp[2] = NULL;
	else
		snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu",
		    mode == 3 ? len + 1 : blen);
	FUZZ_CHECK(req_init(&r, envp, &msg) == FS_OK);
	tio.body = (const char *)data + 1;
	tio.len = len;
	e = http_read_json(&r, cap, &j, &msg);
	if (e == FS_OK) {
		FUZZ_CHECK(j != NULL && cJSON_IsObject(j) && msg == NULL);
		FUZZ_CHECK(blen <= cap && mode != 3);
		FUZZ_CHECK(memchr(data + 1, '\0', blen) == NULL);
		FUZZ_CHECK(!http_json_has_nul((const char *)data + 1, blen));
		text = cJSON_PrintUnformatted(j);
		FUZZ_CHECK(text != NULL);
		back = cJSON_Parse(text);
		/* Not compared: cJSON prints an overflowed 1e999 as null. */
		FUZZ_CHECK(back != NULL && cJSON_IsObject(back));
		cJSON_Delete(back);
		cJSON_free(text);
		cJSON_Delete(j);
	} else {
		FUZZ_CHECK(j == NULL);
		FUZZ_CHECK(e == FS_BAD_REQUEST || e == FS_TOO_LARGE ||
		    e == FS_INTERNAL);
		FUZZ_CHECK(msg != NULL || e == FS_INTERNAL);
	}
	http_request_free(&r);
	return 0;
}
