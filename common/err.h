/*
 * err: the one error vocabulary of Filestor (DESIGN §3).
 *
 * Every failure that reaches a client is one of these. err_status() and
 * err_code() are the single table that maps them to HTTP; http_error()
 * is the single function that writes them.
 */
#ifndef FS_ERR_H
#define FS_ERR_H

enum fs_err {
	FS_OK = 0,
	FS_VALIDATION,		/* 422 */
	FS_BAD_REQUEST,		/* 400 (malformed JSON, bad header) */
	FS_METHOD,		/* 405, code BAD_REQUEST */
	FS_UNAUTHORIZED,	/* 401 */
	FS_FORBIDDEN,		/* 403 */
	FS_NOT_FOUND,		/* 404 */
	FS_CONFLICT,		/* 409 */
	FS_TOO_LARGE,		/* 413 */
	FS_RANGE,		/* 416 */
	FS_TOO_MANY,		/* 429 (failed logins, an agent's per-client
				   limit; send Retry-After) */
	FS_NO_SPACE,		/* 507 */
	FS_UNAVAILABLE,		/* 503 (a backend we depend on is down) */
	FS_INTERNAL,		/* 500 */
	FS_URI_TOO_LONG,	/* 414 */
	FS_HEADERS_TOO_LARGE,	/* 431 */
	/* For the tus protocol (uploads, docs/uploads.md): */
	FS_GONE,		/* 410 (an expired upload) */
	FS_PRECONDITION,	/* 412 (missing or unsupported Tus-Resumable) */
	FS_MEDIA_TYPE,		/* 415 (a PATCH that is not offset+octet-stream) */
	FS_CHECKSUM,		/* 460 (Upload-Checksum mismatch) */
	FS_ERR__COUNT
};

/* HTTP status for e; 500 for anything out of range. */
int		 err_status(enum fs_err e);
/* Stable code string for the JSON body ("VALIDATION"...). Never NULL. */
const char	*err_code(enum fs_err e);
/* Generic human message, used when the caller has nothing better. */
const char	*err_strerror(enum fs_err e);
/* The error a failed write or sync with errno e is: FS_NO_SPACE for
   ENOSPC and EDQUOT, else FS_INTERNAL. */
enum fs_err	 err_io(int e);

#endif
