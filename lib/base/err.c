/*
 * err.c — per-thread error detail messages (see err.h).
 *
 * Thread-local storage because ingest and training run library code on
 * several OpenMP/pthreads workers, each of which may fail independently.
 */
#include "base/err.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

#define ERR_MAX 1024
static _Thread_local char err_buf[ERR_MAX];
static _Thread_local char hint_buf[ERR_MAX];
static _Thread_local int  has_hint;

int err_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof err_buf, fmt, ap);
	va_end(ap);
	has_hint = 0;
	return code;
}

int err_wrap(int code, const char *fmt, ...)
{
	char prefix[ERR_MAX], old[ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err_buf, sizeof old);
	/* prefix + ": " + old, truncated to the buffer (no -Wformat-truncation) */
	size_t np = strnlen(prefix, ERR_MAX - 3);
	memcpy(err_buf, prefix, np);
	memcpy(err_buf + np, ": ", 2);
	size_t room = ERR_MAX - np - 3, no = strnlen(old, room);
	memcpy(err_buf + np + 2, old, no);
	err_buf[np + 2 + no] = 0;
	return code;
}

void err_hint(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(hint_buf, sizeof hint_buf, fmt, ap);
	va_end(ap);
	has_hint = 1;
}

const char *err_msg(void) { return err_buf; }
const char *err_hint_msg(void) { return has_hint ? hint_buf : NULL; }

void err_clear(void)
{
	err_buf[0] = 0;
	has_hint = 0;
}

const char *err_name(int code)
{
	switch (code) {
	case ACC_OK: return "OK";
	case ACC_EINVAL: return "EINVAL";
	case ACC_EIO: return "EIO";
	case ACC_ENOMEM: return "ENOMEM";
	case ACC_EFORMAT: return "EFORMAT";
	case ACC_EDB: return "EDB";
	case ACC_ENOTFOUND: return "ENOTFOUND";
	case ACC_EUNSUPPORTED: return "EUNSUPPORTED";
	case ACC_EINTERNAL: return "EINTERNAL";
	case ACC_EINTR: return "EINTR";
	}
	return "E?";
}

void err_print(void)
{
	fprintf(stderr, "error: %s\n", err_buf[0] ? err_buf : "unknown failure");
	if (has_hint)
		fprintf(stderr, "hint: %s\n", hint_buf);
}

int err_exit_code(int code)
{
	switch (code) {
	case ACC_OK: return 0;
	case ACC_EINVAL: return 2;
	case ACC_EFORMAT: case ACC_ENOTFOUND: case ACC_EUNSUPPORTED: return 3;
	case ACC_EIO: case ACC_EDB: return 4;
	case ACC_EINTR: return 130;
	}
	return 1;
}

int err_array_grow(void **pp, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return err_set(ACC_ENOMEM, "out of memory (array of %zu elements)", need);
		n *= 2;
	}
	if (elem && n > SIZE_MAX / elem)
		return err_set(ACC_ENOMEM, "out of memory (array of %zu elements)", need);
	void *q = realloc(*pp, n * elem);
	if (!q)
		return err_set(ACC_ENOMEM, "out of memory (array of %zu elements of %zu bytes)", need, elem);
	*pp = q;
	*cap = n;
	return 0;
}
