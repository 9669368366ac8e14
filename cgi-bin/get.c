/*
 * get: GET and HEAD /api/storage/<key>, with a session, an API key or a
 * signed ?token= (DESIGN §5, §6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "db.h"
#include "files.h"
#include "key.h"
#include "range.h"
#include "tok.h"

#define PREFIX		"/api/storage/"
#define STREAM_BUF	(256 * 1024)

/*
 * Does an If-None-Match list match etag? Weak comparison (RFC 9110
 * §13.1.2): W/ prefixes are ignored; "*" matches any current row.
 */
static int
etag_list_matches(const char *list, const char *etag)
{
	const char *p = list;
	size_t n = strlen(etag);

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

/* If-Range (RFC 9110 §13.1.5): a strong ETag, or the exact date. */
static int
if_range_holds(const char *ifr, const char *etag, long long mtime)
{
	if (ifr[0] == '"')
		return strcmp(ifr, etag) == 0;
	if (strncmp(ifr, "W/", 2) == 0)
		return 0;	/* weak tags never validate a range */
	return http_parse_date(ifr) == mtime;
}

/* Content-Disposition for a logical key: RFC 6266 with RFC 8187. */
static void
add_disposition(struct request *r, const char *logical, int attachment)
{
	const char *base = strrchr(logical, '/');
	char ascii[256], *enc;
	size_t i, j;

	base = base != NULL ? base + 1 : logical;
	for (i = j = 0; base[i] != '\0' && j + 1 < sizeof(ascii); i++) {
		unsigned char c = (unsigned char)base[i];
		/* The quoted fallback keeps printable ASCII minus quote/backslash. */
		ascii[j++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ?
		    (char)c : '_';
	}
	ascii[j] = '\0';
	enc = file_url_path(base);
	if (enc == NULL)
		return;
	http_add_headerf(r, "Content-Disposition",
	    "%s; filename=\"%s\"; filename*=UTF-8''%s",
	    attachment ? "attachment" : "inline", ascii, enc);
	free(enc);
}

static void
serve(struct app *a, struct request *r, const struct file_row *f,
    const char *logical)
{
	struct store_reader *rd = NULL;
	char etag[70], lastmod[30], *path = NULL, *buf = NULL;
	const char *inm, *ims, *rh, *ifr;
	long long start = 0, len = f->size;
	enum range_result rr = RANGE_NONE;
	enum fs_err e;
	ssize_t n;

	snprintf(etag, sizeof(etag), "\"%s\"", f->sha256);
	http_date(f->updated_at, lastmod);

	inm = http_header(r, "If-None-Match");
	ims = http_header(r, "If-Modified-Since");
	if ((inm != NULL && etag_list_matches(inm, etag)) ||
	    (inm == NULL && ims != NULL && http_parse_date(ims) >= f->updated_at)) {
		http_status(r, 304);
		http_add_header(r, "ETag", etag);
		http_add_header(r, "Last-Modified", lastmod);
		http_add_header(r, "Cache-Control", "private, no-cache");
		http_begin(r);
		return;
	}

	rh = http_header(r, "Range");
	ifr = http_header(r, "If-Range");
	if (rh != NULL && (ifr == NULL || if_range_holds(ifr, etag, f->updated_at)))
		rr = range_parse(rh, f->size, &start, &len);
	if (rr == RANGE_UNSATISFIABLE) {
		http_add_headerf(r, "Content-Range", "bytes */%lld", f->size);
		http_error(r, FS_RANGE, "range not satisfiable for %lld bytes",
		    f->size);
		return;
	}

	http_add_header(r, "Content-Type", f->content_type);
	http_add_header(r, "ETag", etag);
	http_add_header(r, "Last-Modified", lastmod);
	http_add_header(r, "Accept-Ranges", "bytes");
	http_add_header(r, "Cache-Control", "private, no-cache");
	http_add_header(r, "X-Content-Type-Options", "nosniff");
	/* Served from the API origin: never let stored content script it. */
	http_add_header(r, "Content-Security-Policy", "sandbox");
	if (file_type_is_active(f->content_type))
		add_disposition(r, logical, 1);

	if (a->cfg.sendfile && !r->is_head) {
		path = store_local_path(a->store, f->key);
		if (path != NULL && http_header_value_ok(path)) {
			/*
			 * The web server sends the file and applies Range,
			 * If-Range and our ETag to it itself.
			 */
			http_add_header(r, "X-Sendfile", path);
			http_status(r, 200);
			http_begin(r);
			goto out;
		}
	}

	if (rr == RANGE_OK) {
		http_status(r, 206);
		http_add_headerf(r, "Content-Range", "bytes %lld-%lld/%lld",
		    start, start + len - 1, f->size);
	} else {
		http_status(r, 200);
		start = 0;
		len = f->size;
	}
	http_add_headerf(r, "Content-Length", "%lld", len);
	if (r->is_head) {
		http_begin(r);
		goto out;
	}
	e = store_reader_open(a->store, f->key, start, len, &rd);
	if (e != FS_OK) {
		/* A row without its object: report, never hang. */
		app_log(a, "get: object missing for a row (%s)", err_code(e));
		http_error(r, e == FS_NOT_FOUND ? FS_NOT_FOUND : FS_INTERNAL,
		    e == FS_NOT_FOUND ? "no such file" : NULL);
		goto out;
	}
	buf = malloc(STREAM_BUF);
	if (buf == NULL) {
		http_error(r, FS_INTERNAL, NULL);
		goto out;
	}
	http_begin(r);
	while ((n = store_read(rd, buf, STREAM_BUF)) > 0)
		if (http_write(r, buf, (size_t)n) == -1)
			break;	/* the client went away */
	if (n < 0)
		app_log(a, "get: read error mid-stream");
out:
	free(buf);
	free(path);
	store_reader_free(rd);
}

/* Every query parameter must be one we know (DESIGN §7). */
static int
params_ok(struct request *r)
{
	size_t i;

	for (i = 0; i < r->nparams; i++) {
		if (strcmp(r->params[i].name, "token") == 0)
			continue;
		http_error(r, FS_VALIDATION, "unknown parameter \"%.64s\"",
		    r->params[i].name);
		return 0;
	}
	return 1;
}

static void
get_with_token(struct app *a, struct request *r, const struct http_param *tp)
{
	struct file_row f;
	char *logical = NULL, *tk = NULL, *tt = NULL, *pkey = NULL;
	enum tok_result tr;
	enum fs_err e;

	memset(&f, 0, sizeof(f));
	if (!file_key_from_path(r, PREFIX, 0, NULL, &logical, NULL))
		goto out;
	if (strlen(tp->value) != tp->value_len) {
		http_error(r, FS_UNAUTHORIZED, "invalid token");
		goto out;
	}
	tr = tok_storage_verify(a->tok_key, tp->value, (time_t)db_now(), &tk,
	    &tt);
	if (tr == TOK_EXPIRED) {
		http_error(r, FS_UNAUTHORIZED, "token expired");
		goto out;
	}
	if (tr != TOK_OK) {
		http_error(r, tr == TOK_ERROR ? FS_INTERNAL : FS_UNAUTHORIZED,
		    "invalid token");
		goto out;
	}
	/* The token names one tenant and one key; this URL must be it. */
	pkey = key_physical(tt, logical);
	if (pkey == NULL || strcmp(pkey, tk) != 0) {
		http_error(r, FS_FORBIDDEN, "token is not valid for this key");
		goto out;
	}
	e = file_load(a->db, pkey, &f);
	if (e != FS_OK) {
		http_error(r, e, e == FS_NOT_FOUND ? "no such file" : NULL);
		goto out;
	}
	serve(a, r, &f, logical);
out:
	file_row_free(&f);
	free(logical);
	free(pkey);
	free(tk);
	free(tt);
}

static void
h_get(struct app *a, struct request *r)
{
	const struct http_param *tp;
	struct principal p;
	struct file_row f;
	char *logical = NULL, *pkey = NULL;

	if (!params_ok(r))
		return;
	tp = http_param(r, "token");
	if (tp != NULL) {
		get_with_token(a, r, tp);
		return;
	}
	if (!file_open_readable(a, r, 0, &p, &logical, &pkey, &f))
		return;
	serve(a, r, &f, logical);
	file_row_free(&f);
	free(logical);
	free(pkey);
}

/* Routes the other storage programs serve count for 405's Allow. */
static const struct app_route routes[] = {
	{ "GET", PREFIX, APP_PREFIX, h_get },
	{ "PUT", PREFIX, APP_PREFIX, NULL },
	{ "PATCH", PREFIX, APP_PREFIX, NULL },
	{ "DELETE", PREFIX, APP_PREFIX, NULL },
};

int
main(int argc, char *argv[])
{
	return app_main("get", argc, argv, routes, nitems(routes), APP_STORE);
}
