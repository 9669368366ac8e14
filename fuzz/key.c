/*
 * libFuzzer harness: logical keys (key_validate, key_nfc, key_physical,
 * key_logical). The input is the key as sent, any bytes.
 *
 * Properties: a refusal names its reason; an accepted key is NFC, at
 * most KEY_MAX bytes, and accepted again unchanged (validation is
 * idempotent, so a stored key always re-validates); the physical key maps
 * back to the same logical key.
 */
#include <unistr.h>

#include "fuzz.h"
#include "key.h"

#define TENANT	"0b9c7e1a-3f52-4d8e-9a61-2c4f8e7d1b30"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL, *again = NULL, *nfc = NULL, *phys = NULL;
	const char *msg = NULL, *logical;
	size_t len;

	if (key_validate((const char *)data, size, &out, &msg) == -1) {
		FUZZ_CHECK(out == NULL && msg != NULL && *msg != '\0');
	} else {
		FUZZ_CHECK(out != NULL && msg == NULL);
		len = strlen(out);
		FUZZ_CHECK(len > 0 && len <= KEY_MAX);
		FUZZ_CHECK(u8_check((const uint8_t *)out, len) == NULL);
		FUZZ_CHECK(!key_has_c1(out, len));
		FUZZ_CHECK(key_validate(out, len, &again, &msg) == 0);
		FUZZ_CHECK(strcmp(out, again) == 0);
		phys = key_physical(TENANT, out);
		FUZZ_CHECK(phys != NULL);
		FUZZ_CHECK(strlen(phys) == KEY_TENANT_PREFIX_LEN + len);
		logical = key_logical(TENANT, phys);
		FUZZ_CHECK(logical != NULL && strcmp(logical, out) == 0);
	}
	/* key_nfc takes valid UTF-8 only (folder names); NFC is stable. */
	if (u8_check(data, size) == NULL) {
		FUZZ_CHECK(key_nfc((const char *)data, size, &nfc) == 0);
		if (out != NULL)
			FUZZ_CHECK(strcmp(nfc, out) == 0);
		free(again);
		FUZZ_CHECK(key_nfc(nfc, strlen(nfc), &again) == 0);
		FUZZ_CHECK(strcmp(nfc, again) == 0);
	}
	free(phys);
	free(nfc);
	free(again);
	free(out);
	return 0;
}
