/*
 * rmtree.h: remove a unit test's scratch directory, and all below it.
 */
#ifndef FS_TEST_RMTREE_H
#define FS_TEST_RMTREE_H

#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>

static int
rmtree_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Depth first, links not followed; best effort, as a teardown wants. */
static void
rmtree(const char *dir)
{
	nftw(dir, rmtree_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
