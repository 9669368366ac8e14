/*
 * libFuzzer harness: storage-token and agent-token verification
 * (tok_verify, tok_storage_verify, agent_tok_verify) and their signers.
 * The first byte picks the mode, the second a time offset, the rest is:
 *
 *   mode 0  a token as a client sends it (both verifiers);
 *   mode 1  a payload, signed here with the storage key, so that the
 *           claim checks behind the MAC are reached;
 *   mode 2  the same with the agent key;
 *   mode 3  "<a>\n<b>": claims for both signers, then a round trip.
 *
 * Properties: a token verifies only with its claims well typed and in
 * time; a signed token verifies back to exactly its claims, or is
 * refused for its time alone.
 */
#include "agent.h"
#include "fuzz.h"
#include "tok.h"

#define NOW	1700000000LL
#define AGENT	"7d3c1b2a-9e8f-4a6b-8c5d-0e1f2a3b4c5d"

static const unsigned char key[32] = "filestor fuzz key, 32 bytes!!!!";

static void
storage(const char *token, long long now)
{
	char *pkey = NULL, *tid = NULL;
	enum tok_result rc;

	rc = tok_storage_verify(key, token, (time_t)now, &pkey, &tid);
	FUZZ_CHECK((rc == TOK_OK) == (pkey != NULL && tid != NULL));
	FUZZ_CHECK(rc == TOK_OK || (pkey == NULL && tid == NULL));
	free(pkey);
	free(tid);
}

static void
agent(const char *token, long long now)
{
	char *path = NULL;
	enum agent_tok rc;

	rc = agent_tok_verify(key, token, AGENT, (time_t)now, &path);
	FUZZ_CHECK((rc == AGENT_TOK_OK) == (path != NULL));
	free(path);
}

static void
round_trip(const char *a, const char *b, long long exp)
{
	char *t, *pkey = NULL, *tid = NULL, *path = NULL;
	enum tok_result rc;
	enum agent_tok arc;

	/* Only claims that escape past TOK_MAX_LEN may fail to sign: 900
	   control bytes (6 each as JSON) still fit. */
	t = tok_storage_sign(key, a, b, exp);
	if (t == NULL) {
		FUZZ_CHECK(strlen(a) + strlen(b) > 900);
		return;
	}
	rc = tok_storage_verify(key, t, (time_t)NOW, &pkey, &tid);
	FUZZ_CHECK(rc == (NOW < exp ? TOK_OK : TOK_EXPIRED));
	if (rc == TOK_OK)
		FUZZ_CHECK(strcmp(pkey, a) == 0 && strcmp(tid, b) == 0);
	free(t);
	t = agent_tok_sign(key, a, AGENT, exp);
	FUZZ_CHECK(t != NULL || strlen(a) > 900);
	if (t == NULL)
		goto out;
	arc = agent_tok_verify(key, t, AGENT, (time_t)NOW, &path);
	FUZZ_CHECK(arc == (NOW >= exp ? AGENT_TOK_EXPIRED :
	    exp - NOW > AGENT_TOKEN_TTL + AGENT_TOKEN_SKEW ?
	    AGENT_TOK_TOO_LONG : AGENT_TOK_OK));
	if (arc == AGENT_TOK_OK)
		FUZZ_CHECK(strcmp(path, a) == 0);
	free(path);
	path = NULL;
	FUZZ_CHECK(agent_tok_verify(key, t, b, (time_t)NOW, &path) ==
	    (strcmp(b, AGENT) == 0 ? arc : AGENT_TOK_WRONG_AGENT));
	free(path);
	free(t);
out:
	free(pkey);
	free(tid);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *t, *nl;
	long long now;

	if (size < 2)
		return 0;
	now = NOW - 200 + data[1] * 2;
	s = fuzz_str(data + 2, size - 2);
	switch (data[0] % 4) {
	case 0:
		storage(s, now);
		agent(s, now);
		break;
	case 1:
	case 2:
		t = tok_sign(key, sizeof(key), s);
		if (t == NULL)		/* a payload over the token cap */
			break;
		if (data[0] % 4 == 1)
			storage(t, now);
		else
			agent(t, now);
		free(t);
		break;
	default:
		nl = strchr(s, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		round_trip(s, nl + 1, now + 200);
		break;
	}
	free(s);
	return 0;
}
