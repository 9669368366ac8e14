/* libFuzzer harness: the GIF scaled decoder (giflib, first frame). */
#include "fuzz_imgdec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_imgdec(IMG_GIF, data, size);
}
