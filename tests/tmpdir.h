/*
 * tests/tmpdir.h — scratch folders for the tests that build a tree of files:
 * tmp_subdir("x") makes TEST_TMP/x (and its parents) and returns its path,
 * from a ring of 8 buffers so that a few can be held at once.  Include after
 * check.h.
 */
#ifndef ACCENT_TMPDIR_H
#define ACCENT_TMPDIR_H

#include "base/fsutil.h"
#include <stdio.h>

__attribute__((unused)) static char *tmp_subdir(const char *name)
{
	static char buf[8][1024];
	static int k;
	char *p = buf[k++ % 8];
	snprintf(p, 1024, "%s/%s", TEST_TMP, name);
	fs_mkdir_p(p);
	return p;
}

#endif
