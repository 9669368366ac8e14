/*
 * api: what the JSON handlers share above http.h: a JSON body whose
 * members are all known, and the pieces of a paged list.
 */
#ifndef FS_API_H
#define FS_API_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "http.h"

/*
 * Read a JSON object body of at most max bytes whose members are all
 * named in allowed (NULL-terminated). empty_ok: a request without a
 * body (no or zero Content-Length) stands for {}. An unknown member is
 * 422 "unknown field "<name>"" followed by hint ("" for none). Returns
 * the object (caller deletes) or NULL after answering.
 */
cJSON	*api_body(struct request *r, size_t max, int empty_ok,
	    const char *const *allowed, const char *hint);

/*
 * The paging parameters of a list: refuses any query parameter other
 * than limit, cursor and those in also (NULL-terminated, may be NULL),
 * and reads limit (1 to max; dflt when absent) into *limit. Returns 1, or
 * 0 after answering 422.
 */
int	 api_page_params(struct request *r, const char *const *also,
	    long long max, long long dflt, long long *limit);
/*
 * The cursor parameter, base64url-decoded (malloc'd, NUL-terminated,
 * length in *len; caller frees) into *out, NULL when there is none.
 * Returns 1, or 0 after answering 422 to one that does not decode.
 */
int	 api_page_cursor(struct request *r, unsigned char **out, size_t *len);
/* Answer 422 "cursor is not one this API returned". */
void	 api_page_bad_cursor(struct request *r);
/*
 * Answer 200 with j (holding "items"), adding "nextCursor": the
 * base64url of last, or null when last is NULL (the last page).
 */
void	 api_page_reply(struct request *r, cJSON *j, const char *last);

/*
 * Answer status with j when it holds a credential or a per-caller answer
 * (a secret, a signed URL, the agent's own state): with Cache-Control:
 * no-store, so that no cache keeps it. Returns http_json()'s result.
 */
int	 api_nostore_json(struct request *r, int status, const cJSON *j);

/*
 * The answer that hands out a signed URL (sign, file-content):
 * {"url":url,"expiresAt":<exp, ISO 8601>}. The caller deletes it; NULL
 * when out of memory.
 */
cJSON	*api_url_json(const char *url, long long exp);

#endif
