/*
 * fuzz/fuzz.h: what the parser harnesses share. libFuzzer hands over
 * bytes that are not NUL terminated; most parsers take C strings, so
 * fuzz_str() makes the copy. FUZZ_CHECK states a property the parser
 * promises: when it does not hold, the harness aborts, which libFuzzer
 * reports as a crash with the input saved.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: property failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data[0..size) as a malloc'd C string (cut at a NUL inside); aborts
   when out of memory, which libFuzzer's RSS limit reports anyway. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s;

	s = malloc(size + 1);
	FUZZ_CHECK(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
