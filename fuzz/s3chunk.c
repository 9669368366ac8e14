/*
 * libFuzzer harness: the aws-chunked decoder (s3auth.h), in both modes,
 * fed in pieces whose sizes come from the input's first byte, into a
 * small output buffer.
 *
 * Properties: it never writes past the output it is given nor consumes
 * more than it is given; it makes progress or says the body is done or
 * bad; what it emits is never more than the input; a failure names its
 * reason; once done, it stays done.
 */
#include "fuzz.h"
#include "s3auth.h"

#define SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

static void
run(const uint8_t *in, size_t len, enum s3chunk_mode m, size_t step,
    size_t cap)
{
	struct s3auth au;
	struct s3chunk c;
	unsigned char out[64];
	size_t pos = 0, used, n;
	long long got, total = 0;

	memset(&au, 0, sizeof(au));
	snprintf(au.akid, sizeof(au.akid), "AKIAIOSFODNN7EXAMPLE");
	snprintf(au.region, sizeof(au.region), "us-east-1");
	snprintf(au.amz_date, sizeof(au.amz_date), "20130524T000000Z");
	snprintf(au.signature, sizeof(au.signature), SEED);
	FUZZ_CHECK(s3chunk_init(&c, m, &au, "secret", S3SUM_CRC32) == 0);
	while (pos < len) {
		n = len - pos < step ? len - pos : step;
		got = s3chunk_decode(&c, in + pos, n, &used, out, cap);
		if (got < 0) {
			FUZZ_CHECK(c.err != NULL);
			break;
		}
		FUZZ_CHECK((size_t)got <= cap && used <= n);
		total += got;
		pos += used;
		FUZZ_CHECK(total <= (long long)pos);
		if (used == 0 && got == 0) {
			FUZZ_CHECK(s3chunk_done(&c) || cap == 0);
			break;
		}
	}
	s3chunk_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step, cap;

	if (size < 1)
		return 0;
	step = 1 + data[0] % 17;
	cap = 1 + (data[0] >> 4) % 64;
	run(data + 1, size - 1, S3CHUNK_SIGNED, step, cap);
	run(data + 1, size - 1, S3CHUNK_UNSIGNED_TRAILER, step, cap);
	return 0;
}
