/*
 * err: the table that maps the error vocabulary to HTTP (DESIGN §3).
 */
#include <errno.h>

#include "err.h"

static const struct {
	int		 status;
	const char	*code;
	const char	*msg;
} errs[FS_ERR__COUNT] = {
	[FS_OK] =		{ 200, "OK", "ok" },
	[FS_VALIDATION] =	{ 422, "VALIDATION", "validation failed" },
	[FS_BAD_REQUEST] =	{ 400, "BAD_REQUEST", "bad request" },
	[FS_METHOD] =		{ 405, "BAD_REQUEST", "method not allowed" },
	[FS_UNAUTHORIZED] =	{ 401, "UNAUTHORIZED", "authentication required" },
	[FS_FORBIDDEN] =	{ 403, "FORBIDDEN", "forbidden" },
	[FS_NOT_FOUND] =	{ 404, "NOT_FOUND", "not found" },
	[FS_CONFLICT] =		{ 409, "CONFLICT", "conflict" },
	[FS_TOO_LARGE] =	{ 413, "PAYLOAD_TOO_LARGE", "payload too large" },
	[FS_RANGE] =		{ 416, "RANGE_NOT_SATISFIABLE", "range not satisfiable" },
	[FS_TOO_MANY] =		{ 429, "TOO_MANY_REQUESTS", "too many requests" },
	[FS_NO_SPACE] =		{ 507, "INSUFFICIENT_STORAGE", "insufficient storage" },
	[FS_UNAVAILABLE] =	{ 503, "UNAVAILABLE", "service unavailable" },
	[FS_INTERNAL] =		{ 500, "INTERNAL", "internal error" },
	[FS_URI_TOO_LONG] =	{ 414, "URI_TOO_LONG", "request target too long" },
	[FS_HEADERS_TOO_LARGE] = { 431, "HEADERS_TOO_LARGE",
				  "request header fields too large" },
	[FS_GONE] =		{ 410, "GONE", "gone" },
	[FS_PRECONDITION] =	{ 412, "PRECONDITION_FAILED",
				  "precondition failed" },
	[FS_MEDIA_TYPE] =	{ 415, "UNSUPPORTED_MEDIA_TYPE",
				  "unsupported media type" },
	[FS_CHECKSUM] =		{ 460, "CHECKSUM_MISMATCH", "checksum mismatch" },
};

int
err_status(enum fs_err e)
{
	if ((unsigned)e >= FS_ERR__COUNT)
		return 500;
	return errs[e].status;
}

const char *
err_code(enum fs_err e)
{
	if ((unsigned)e >= FS_ERR__COUNT)
		return "INTERNAL";
	return errs[e].code;
}

const char *
err_strerror(enum fs_err e)
{
	if ((unsigned)e >= FS_ERR__COUNT)
		return "internal error";
	return errs[e].msg;
}

enum fs_err
err_io(int e)
{
	return e == ENOSPC || e == EDQUOT ? FS_NO_SPACE : FS_INTERNAL;
}
