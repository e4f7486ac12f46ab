/*
 * fuzz_util.h — shared by the libFuzzer harnesses of the file readers: one
 * scratch directory per fuzzing process (removed at exit), and writing an
 * input to a file in it, since the readers under test read files.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[256];

static void fuzz_cleanup(void)
{
	char cmd[400];
	if (fuzz_dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", fuzz_dir);
	}
}

/* The process' scratch directory (created on first use). */
static const char *fuzz_tmp(void)
{
	if (!fuzz_dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(fuzz_dir, sizeof fuzz_dir, "%s/accent-fuzz-XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(fuzz_dir))
			abort();
		atexit(fuzz_cleanup);
	}
	return fuzz_dir;
}

/* Write len bytes to <scratch>/<name>; returns the path (static buffer). */
static const char *fuzz_put(const char *name, const uint8_t *data, size_t len)
{
	static char path[8][512];
	static int k;
	char *p = path[k++ % 8];
	snprintf(p, 512, "%s/%s", fuzz_tmp(), name);
	FILE *f = fopen(p, "wb");
	if (!f)
		abort();
	if (len && fwrite(data, 1, len, f) != len)
		abort();
	fclose(f);
	return p;
}

/* Split data at the separator line "\n@@\n" into at most max parts. */
static int fuzz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *plen, int max)
{
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i + 4 <= size && n < max - 1; i++)
		if (!memcmp(data + i, "\n@@\n", 4)) {
			part[n] = data + start;
			plen[n++] = i + 1 - start;
			start = i + 4;
			i += 3;
		}
	part[n] = data + start;
	plen[n++] = size - start;
	return n;
}
