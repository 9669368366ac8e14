/*
 * get: GET and HEAD /api/storage/<key> for raw downloads (DESIGN §5,
 * §6). The handler is common/sget.c, shared with the transform program;
 * the web server sends image transforms there, so that no download here
 * ever waits behind one (docs/transforms.md, "Isolation").
 */
#include "sget.h"

int
main(int argc, char *argv[])
{
	return sget_main("get", SGET_RAW, argc, argv);
}
