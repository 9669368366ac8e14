/* libFuzzer harness: the HEIF scaled decoder (libheif: AVIF and HEIC). */
#include "fuzz_imgdec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_imgdec(IMG_AVIF, data, size);
}
