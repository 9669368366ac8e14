/*
 * libFuzzer harness: the Range header (range_parse). The first 8 bytes
 * give the object size (any value, negative ones included), the rest is
 * the header.
 *
 * Properties: RANGE_OK names a non-empty span inside the object; an
 * unsatisfiable answer or none leaves start and len alone.
 */
#include "fuzz.h"
#include "range.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long long objsize = 0, start = -7, len = -7;
	enum range_result res;
	char *h;

	if (size < sizeof(objsize))
		return 0;
	memcpy(&objsize, data, sizeof(objsize));
	/* Half the inputs get a small size, where the edges are. */
	if (objsize & 1)
		objsize = (objsize >> 1) % 4096;
	h = fuzz_str(data + sizeof(objsize), size - sizeof(objsize));
	res = range_parse(h, objsize, &start, &len);
	if (res == RANGE_OK) {
		FUZZ_CHECK(objsize > 0);
		FUZZ_CHECK(start >= 0 && start < objsize);
		FUZZ_CHECK(len >= 1 && len <= objsize - start);
	} else {
		FUZZ_CHECK(res == RANGE_NONE || res == RANGE_UNSATISFIABLE);
		FUZZ_CHECK(start == -7 && len == -7);
		if (objsize < 0)
			FUZZ_CHECK(res == RANGE_NONE);
	}
	free(h);
	return 0;
}
