/*
 * s3xml: the XML of the S3 API, both ways. Out: documents built in a
 * capped buffer, every text escaped at the one place it is written. In:
 * the few request bodies S3 has (DeleteObjects, CompleteMultipartUpload),
 * which are flat lists of elements; a total scanner that finds an
 * element's text, with no DTDs, entities beyond the five and numeric
 * references, or nesting of the same name. Pure, for fuzz/s3xml.c.
 */
#ifndef FS_S3XML_H
#define FS_S3XML_H

#include <stddef.h>

#include "dynbuf.h"

#define S3XML_MAX	(16 * 1024 * 1024)	/* bytes of an answer */
#define S3XML_NS	"http://s3.amazonaws.com/doc/2006-03-01/"

struct s3xml {
	struct dynbuf	 d;
	int		 failed;	/* an add failed: send 500 */
};

/* Start a document whose root is root (with S3's namespace). */
void	 s3xml_begin(struct s3xml *x, const char *root);
void	 s3xml_open(struct s3xml *x, const char *tag);
void	 s3xml_close(struct s3xml *x, const char *tag);
/* <tag>escaped text</tag>; s3xml_textn with a length (may hold NULs:
   they are refused, as XML 1.0 has no way to say them: failed). */
void	 s3xml_text(struct s3xml *x, const char *tag, const char *s);
void	 s3xml_textf(struct s3xml *x, const char *tag, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 s3xml_free(struct s3xml *x);

/*
 * The next element <tag> (or <tag attr...>) at or after *pos in
 * s[0..len): its raw content in *in, *inlen, and *pos past its end tag.
 * 1 found, 0 none, -1 malformed (no end tag).
 */
int	 s3xml_elem(const char *s, size_t len, const char *tag, size_t *pos,
	    const char **in, size_t *inlen);
/* Decode the text in[0..len): the five entities and &#N; / &#xN;.
   malloc'd, or NULL when malformed, holding a NUL or '<', or out of
   memory. */
char	*s3xml_decode(const char *in, size_t len);

#endif
