/*
 * st_mini.h — a minimal safetensors reader for the align/CTC tests (F32 and
 * I32 tensors of the trusted fixtures in tests/data; the library's hostile-
 * input reader is the model core's).  Header-only, test use only.
 */
#pragma once
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_mini {
	unsigned char *buf;
	size_t len, data_off;
	json_t *hdr;
} st_mini;

static __attribute__((unused)) int st_mini_open(st_mini *st, const char *path)
{
	memset(st, 0, sizeof *st);
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	st->len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	st->buf = malloc(st->len ? st->len : 1);
	if (!st->buf || fread(st->buf, 1, st->len, f) != st->len || st->len < 8) {
		fclose(f);
		return -1;
	}
	fclose(f);
	uint64_t n = 0;
	memcpy(&n, st->buf, 8);
	if (n > st->len - 8)
		return -1;
	st->hdr = json_loadb((const char *)st->buf + 8, n, 0, NULL);
	st->data_off = 8 + n;
	return st->hdr ? 0 : -1;
}

/* Pointer to a tensor's data, its element count in *numel and dims in shape. */
static __attribute__((unused)) const void *st_mini_get(st_mini *st, const char *name, const char *dtype,
						       int64_t *numel, int64_t shape[4], int *ndim)
{
	json_t *t = json_object_get(st->hdr, name);
	if (!t || strcmp(json_string_value(json_object_get(t, "dtype")), dtype))
		return NULL;
	json_t *sh = json_object_get(t, "shape"), *off = json_object_get(t, "data_offsets");
	int64_t n = 1;
	*ndim = (int)json_array_size(sh);
	for (int i = 0; i < *ndim && i < 4; i++) {
		shape[i] = json_integer_value(json_array_get(sh, i));
		n *= shape[i];
	}
	*numel = n;
	size_t a = (size_t)json_integer_value(json_array_get(off, 0));
	size_t b = (size_t)json_integer_value(json_array_get(off, 1));
	if (b < a || st->data_off + b > st->len || b - a != (size_t)n * 4)
		return NULL;
	return st->buf + st->data_off + a;
}

static __attribute__((unused)) void st_mini_close(st_mini *st)
{
	json_decref(st->hdr);
	free(st->buf);
	memset(st, 0, sizeof *st);
}
