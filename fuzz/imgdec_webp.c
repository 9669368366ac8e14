/* libFuzzer harness: the WebP scaled decoder (libwebp, incremental). */
#include "fuzz_imgdec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_imgdec(IMG_WEBP, data, size);
}
