/* libFuzzer harness: the PNG scaled decoder (libpng, row by row). */
#include "fuzz_imgdec.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_imgdec(IMG_PNG, data, size);
}
