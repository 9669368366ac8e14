/*
 * shastate: a SHA-256 whose state is saved as text (shastate.h). The
 * EVP interface does not expose its state, so this uses the low-level
 * SHA256_* functions, deprecated in OpenSSL 3 but kept: we ask for the
 * 1.1.1 API to use them without warnings.
 */
#define OPENSSL_API_COMPAT	0x10101000L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "shastate.h"

struct shastate {
	SHA256_CTX	 c;
};

/* The words of c, in the order of the text. */
static void
words(SHA256_CTX *c, SHA_LONG *w[SHASTATE_WORDS])
{
	int i, n = 0;

	for (i = 0; i < 8; i++)
		w[n++] = &c->h[i];
	w[n++] = &c->Nl;
	w[n++] = &c->Nh;
	for (i = 0; i < SHA_LBLOCK; i++)
		w[n++] = &c->data[i];
	w[n++] = (SHA_LONG *)&c->num;
	w[n++] = (SHA_LONG *)&c->md_len;
}

/* Parse 8 hex digits. */
static int
word_parse(const char *t, SHA_LONG *v)
{
	unsigned long x = 0;
	int i, d;

	for (i = 0; i < 8; i++) {
		if (t[i] >= '0' && t[i] <= '9')
			d = t[i] - '0';
		else if (t[i] >= 'a' && t[i] <= 'f')
			d = t[i] - 'a' + 10;
		else
			return -1;
		x = x << 4 | (unsigned long)d;
	}
	*v = (SHA_LONG)x;
	return 0;
}

struct shastate *
shastate_new(const char *text)
{
	struct shastate *h;
	SHA_LONG *w[SHASTATE_WORDS];
	int i;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	SHA256_Init(&h->c);
	if (text == NULL)
		return h;
	words(&h->c, w);
	if (strlen(text) != SHASTATE_LEN || strncmp(text, "s1:", 3) != 0)
		goto bad;
	for (i = 0; i < SHASTATE_WORDS; i++)
		if (word_parse(text + 3 + 8 * i, w[i]) == -1)
			goto bad;
	if (h->c.num >= SHA256_CBLOCK || h->c.md_len != SHA256_DIGEST_LENGTH)
		goto bad;
	return h;
bad:
	free(h);
	return NULL;
}

void
shastate_update(struct shastate *h, const void *buf, size_t len)
{
	SHA256_Update(&h->c, buf, len);
}

void
shastate_save(const struct shastate *h, char text[SHASTATE_LEN + 1])
{
	SHA256_CTX c = h->c;
	SHA_LONG *w[SHASTATE_WORDS];
	int i;

	words(&c, w);
	memcpy(text, "s1:", 3);
	for (i = 0; i < SHASTATE_WORDS; i++)
		snprintf(text + 3 + 8 * i, 9, "%08lx", (unsigned long)*w[i]);
}

void
shastate_digest(const struct shastate *h, unsigned char out[CRY_SHA256_LEN])
{
	SHA256_CTX c = h->c;

	SHA256_Final(out, &c);
}

void
shastate_free(struct shastate *h)
{
	free(h);
}
