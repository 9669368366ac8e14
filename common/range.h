/*
 * range: the HTTP Range header (RFC 9110 §14), single ranges only.
 */
#ifndef FS_RANGE_H
#define FS_RANGE_H

enum range_result {
	RANGE_NONE,		/* no header, or one we ignore (multi-range,
				   other unit, malformed): send the whole body */
	RANGE_OK,		/* *start and *len set */
	RANGE_UNSATISFIABLE	/* 416 with Content-Range: bytes * /size */
};

/*
 * Parse header against an object of size bytes: "bytes=0-99",
 * "bytes=100-", "bytes=-500". A multi-range request is answered with
 * the whole body (RANGE_NONE), as RFC 9110 allows.
 */
enum range_result range_parse(const char *header, long long size,
	    long long *start, long long *len);

#endif
