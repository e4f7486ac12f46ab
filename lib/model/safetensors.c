/*
 * safetensors.c — memory-mapped safetensors reader with complete header
 * validation, and the streaming writer (see safetensors.h for the rules).
 *
 * The reader treats every file as hostile: sizes are checked before they are
 * used, arithmetic is overflow-checked, and nothing in the mapping is touched
 * before the header that describes it has been validated.
 */
#include "model/safetensors.h"
#include "base/err.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/banned.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host (the format is little-endian)"
#endif

struct safetensors_file {
	char *path;
	void *map;            /* mmap'ed file (NULL for buffers) */
	size_t map_len;
	const unsigned char *bytes;
	size_t len;
	safetensors_tensor *t;  /* sorted by name */
	int n;
	char **meta_kv;       /* key, value, key, value ... */
	int n_meta;
};

static const struct { const char *name; size_t size; } dtypes[ST_NDTYPES] = {
	[ST_BOOL] = {"BOOL", 1}, [ST_U8] = {"U8", 1}, [ST_I8] = {"I8", 1},
	[ST_I16] = {"I16", 2}, [ST_U16] = {"U16", 2}, [ST_F16] = {"F16", 2},
	[ST_BF16] = {"BF16", 2}, [ST_I32] = {"I32", 4}, [ST_U32] = {"U32", 4},
	[ST_F32] = {"F32", 4}, [ST_F64] = {"F64", 8}, [ST_I64] = {"I64", 8},
	[ST_U64] = {"U64", 8}, [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *safetensors_dtype_name(safetensors_dtype d)
{
	return (unsigned)d < ST_NDTYPES ? dtypes[d].name : "?";
}

static int dtype_parse(const char *s, safetensors_dtype *d)
{
	for (int i = 0; i < ST_NDTYPES; i++)
		if (!strcmp(s, dtypes[i].name)) {
			*d = (safetensors_dtype)i;
			return 0;
		}
	return -1;
}

/* ---- half / bfloat16 ---- */

float safetensors_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
	if (exp == 0) {
		if (man == 0) {
			bits = sign;
		} else { /* subnormal: renormalize */
			int e = -1;
			do { e++; man <<= 1; } while (!(man & 0x400));
			bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
		}
	} else if (exp == 0x1f) {
		bits = sign | 0x7f800000u | (man << 13);
	} else {
		bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
	}
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

float safetensors_bf16_to_f32(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

uint16_t safetensors_f32_to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a (quiet) NaN */
		return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fffu + ((u >> 16) & 1); /* round to nearest even */
	return (uint16_t)(u >> 16);
}

uint16_t safetensors_f32_to_f16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	uint32_t sign = (u >> 16) & 0x8000, a = u & 0x7fffffffu;
	if (a > 0x7f800000u)
		return (uint16_t)(sign | 0x7e00);
	if (a >= 0x477ff000u) /* rounds to >= 65520: infinity */
		return (uint16_t)(sign | 0x7c00);
	if (a < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
		if (a < 0x33000000u)
			return (uint16_t)sign;
		/* value = m * 2^(e-150); a half subnormal counts units of 2^-24 */
		uint32_t e = a >> 23, m = (a & 0x7fffff) | 0x800000;
		int shift = 126 - (int)e; /* 14..24 */
		uint32_t keep = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
		if (rem > half || (rem == half && (keep & 1)))
			keep++;
		return (uint16_t)(sign | keep);
	}
	uint32_t r = a + 0xfffu + ((a >> 13) & 1); /* round mantissa to 10 bits */
	return (uint16_t)(sign | (((r >> 13) - ((127 - 15) << 10)) & 0x7fff));
}

/* ---- reader ---- */

static int cmp_tensor_name(const void *a, const void *b)
{
	return strcmp(((const safetensors_tensor *)a)->name, ((const safetensors_tensor *)b)->name);
}

typedef struct { size_t begin, end; int idx; } span;

static int cmp_span(const void *a, const void *b)
{
	const span *x = a, *y = b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

static int json_nonneg_size(const json_t *v, size_t *out)
{
	if (!json_is_integer(v))
		return -1;
	json_int_t x = json_integer_value(v);
	if (x < 0 || (unsigned long long)x > SIZE_MAX)
		return -1;
	*out = (size_t)x;
	return 0;
}

static int parse_entry(safetensors_file *f, const char *name, json_t *e, size_t data_len,
                       safetensors_tensor *t, size_t *pb, size_t *pe)
{
	const char *L = f->path;
	if (!json_is_object(e))
		return err_set(ACC_EFORMAT, "%s: tensor '%s': header entry is not an object", L, name);
	json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape"),
	       *jo = json_object_get(e, "data_offsets");
	if (!jd || !js || !jo)
		return err_set(ACC_EFORMAT, "%s: tensor '%s': missing '%s'", L, name,
		               !jd ? "dtype" : !js ? "shape" : "data_offsets");
	if (json_object_size(e) != 3) {
		const char *k;
		json_t *v;
		json_object_foreach(e, k, v)
			if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets"))
				return err_set(ACC_EFORMAT, "%s: tensor '%s': unknown field '%s'", L, name, k);
	}
	if (!json_is_string(jd) || dtype_parse(json_string_value(jd), &t->dtype))
		return err_set(ACC_EFORMAT, "%s: tensor '%s': unknown dtype %s%s%s", L, name,
		               json_is_string(jd) ? "'" : "", json_is_string(jd) ? json_string_value(jd) : "(not a string)",
		               json_is_string(jd) ? "'" : "");
	if (!json_is_array(js))
		return err_set(ACC_EFORMAT, "%s: tensor '%s': shape is not an array", L, name);
	size_t nd = json_array_size(js);
	if (nd > SAFETENSORS_MAX_DIMS)
		return err_set(ACC_EFORMAT, "%s: tensor '%s': %zu dimensions (at most %d supported)", L, name,
		               nd, SAFETENSORS_MAX_DIMS);
	t->ndim = (int)nd;
	size_t numel = 1;
	for (size_t i = 0; i < nd; i++) {
		size_t d;
		if (json_nonneg_size(json_array_get(js, i), &d) || d > INT64_MAX)
			return err_set(ACC_EFORMAT, "%s: tensor '%s': shape[%zu] is not a non-negative integer",
			               L, name, i);
		t->shape[i] = (int64_t)d;
		if (__builtin_mul_overflow(numel, d, &numel))
			return err_set(ACC_EFORMAT, "%s: tensor '%s': shape product overflows", L, name);
	}
	t->numel = numel;
	if (__builtin_mul_overflow(numel, dtypes[t->dtype].size, &t->nbytes))
		return err_set(ACC_EFORMAT, "%s: tensor '%s': byte size overflows", L, name);
	size_t b, en;
	if (!json_is_array(jo) || json_array_size(jo) != 2 ||
	    json_nonneg_size(json_array_get(jo, 0), &b) || json_nonneg_size(json_array_get(jo, 1), &en))
		return err_set(ACC_EFORMAT, "%s: tensor '%s': data_offsets must be [begin, end] of non-negative integers",
		               L, name);
	if (en < b)
		return err_set(ACC_EFORMAT, "%s: tensor '%s': data_offsets end %zu < begin %zu", L, name, en, b);
	if (en > data_len)
		return err_set(ACC_EFORMAT, "%s: tensor '%s': data_offsets [%zu, %zu] beyond the data area (%zu bytes; file truncated?)",
		               L, name, b, en, data_len);
	if (en - b != t->nbytes)
		return err_set(ACC_EFORMAT, "%s: tensor '%s': %s shape of %zu elements needs %zu bytes but data_offsets span %zu",
		               L, name, dtypes[t->dtype].name, numel, t->nbytes, en - b);
	*pb = b;
	*pe = en;
	return 0;
}

static int validate(safetensors_file *f)
{
	int rc = ACC_EFORMAT;
	const char *L = f->path;
	json_t *root = NULL;
	span *sp = NULL;
	if (f->len < 8)
		return err_set(ACC_EFORMAT, "%s: %zu bytes, too short for a safetensors file (8-byte header length missing)",
		               L, f->len);
	uint64_t n;
	memcpy(&n, f->bytes, 8);
	if (n > SAFETENSORS_MAX_HEADER)
		return err_set(ACC_EFORMAT, "%s: header length %llu exceeds the %u-byte limit (not a safetensors file?)",
		               L, (unsigned long long)n, SAFETENSORS_MAX_HEADER);
	if (n > f->len - 8)
		return err_set(ACC_EFORMAT, "%s: header length %llu beyond the end of the file (%zu bytes; truncated?)",
		               L, (unsigned long long)n, f->len);
	if (n < 2 || f->bytes[8] != '{')
		return err_set(ACC_EFORMAT, "%s: header does not start with a JSON object", L);
	json_error_t jerr;
	root = json_loadb((const char *)f->bytes + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		err_set(ACC_EFORMAT, "%s: header JSON invalid at byte %d: %s", L, jerr.position, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		err_set(ACC_EFORMAT, "%s: header is not a JSON object", L);
		goto out;
	}
	size_t data_off = 8 + (size_t)n, data_len = f->len - data_off;
	size_t cap = json_object_size(root);
	f->t = calloc(cap ? cap : 1, sizeof *f->t);
	sp = calloc(cap ? cap : 1, sizeof *sp);
	if (!f->t || !sp) {
		rc = err_set(ACC_ENOMEM, "%s: out of memory for %zu header entries", L, cap);
		goto out;
	}
	const char *key;
	json_t *val;
	json_object_foreach(root, key, val) {
		if (!strcmp(key, "__metadata__")) {
			if (!json_is_object(val)) {
				err_set(ACC_EFORMAT, "%s: __metadata__ is not an object", L);
				goto out;
			}
			size_t nm = json_object_size(val);
			f->meta_kv = calloc(2 * nm + 1, sizeof *f->meta_kv);
			if (!f->meta_kv) {
				rc = err_set(ACC_ENOMEM, "%s: out of memory", L);
				goto out;
			}
			const char *mk;
			json_t *mv;
			json_object_foreach(val, mk, mv) {
				if (!json_is_string(mv)) {
					err_set(ACC_EFORMAT, "%s: __metadata__ value of '%s' is not a string", L, mk);
					goto out;
				}
				f->meta_kv[2 * f->n_meta] = strdup(mk);
				f->meta_kv[2 * f->n_meta + 1] = strdup(json_string_value(mv));
				f->n_meta++;
				if (!f->meta_kv[2 * f->n_meta - 2] || !f->meta_kv[2 * f->n_meta - 1]) {
					rc = err_set(ACC_ENOMEM, "%s: out of memory", L);
					goto out;
				}
			}
			continue;
		}
		safetensors_tensor *t = &f->t[f->n];
		size_t b = 0, e = 0;
		if (parse_entry(f, key, val, data_len, t, &b, &e))
			goto out;
		t->name = strdup(key);
		if (!t->name) {
			rc = err_set(ACC_ENOMEM, "%s: out of memory", L);
			goto out;
		}
		t->data = f->bytes + data_off + b;
		sp[f->n] = (span){b, e, f->n};
		f->n++;
	}
	qsort(sp, f->n, sizeof *sp, cmp_span);
	for (int i = 1; i < f->n; i++)
		if (sp[i].begin < sp[i - 1].end) {
			err_set(ACC_EFORMAT, "%s: tensors '%s' [%zu, %zu] and '%s' [%zu, %zu] overlap", L,
			        f->t[sp[i - 1].idx].name, sp[i - 1].begin, sp[i - 1].end,
			        f->t[sp[i].idx].name, sp[i].begin, sp[i].end);
			goto out;
		}
	qsort(f->t, f->n, sizeof *f->t, cmp_tensor_name);
	rc = 0;
out:
	free(sp);
	json_decref(root);
	return rc;
}

static void file_free(safetensors_file *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->n; i++)
		free((char *)f->t[i].name);
	free(f->t);
	for (int i = 0; i < 2 * f->n_meta; i++)
		free(f->meta_kv[i]);
	free(f->meta_kv);
	if (f->map)
		munmap(f->map, f->map_len);
	free(f->path);
	free(f);
}

int safetensors_open_buffer(safetensors_file **out, const void *buf, size_t len, const char *label)
{
	*out = NULL;
	safetensors_file *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(label ? label : "(buffer)"))) {
		free(f);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	f->bytes = buf;
	f->len = len;
	int rc = validate(f);
	if (rc) {
		file_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int safetensors_open(safetensors_file **out, const char *path)
{
	*out = NULL;
	int rc, fd = -1;
	safetensors_file *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = err_set(errno == ENOENT ? ACC_ENOTFOUND : ACC_EIO, "cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		rc = err_set(ACC_EIO, "cannot stat '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(ACC_EIO, "'%s' is not a regular file", path);
		goto out;
	}
	f->len = (size_t)st.st_size;
	if (f->len > 0) {
		void *m = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			rc = err_set(ACC_EIO, "cannot map '%s': %s", path, strerror(errno));
			goto out;
		}
		f->map = m;
		f->map_len = f->len;
		f->bytes = m;
	}
	rc = validate(f);
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		file_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void safetensors_close(safetensors_file *f) { file_free(f); }

int safetensors_count(const safetensors_file *f) { return f->n; }

const safetensors_tensor *safetensors_at(const safetensors_file *f, int i)
{
	return i >= 0 && i < f->n ? &f->t[i] : NULL;
}

const safetensors_tensor *safetensors_find(const safetensors_file *f, const char *name)
{
	safetensors_tensor key = {.name = name};
	return bsearch(&key, f->t, f->n, sizeof *f->t, cmp_tensor_name);
}

const char *safetensors_meta(const safetensors_file *f, const char *key)
{
	for (int i = 0; i < f->n_meta; i++)
		if (!strcmp(f->meta_kv[2 * i], key))
			return f->meta_kv[2 * i + 1];
	return NULL;
}


int safetensors_to_f32(const safetensors_tensor *t, float *out)
{
	const unsigned char *p = t->data;
	size_t n = t->numel;
	switch (t->dtype) {
	case ST_F32:
		memcpy(out, p, n * 4);
		return 0;
	case ST_F16:
	case ST_BF16:
#pragma omp parallel for schedule(static) if (n > (1 << 18))
		for (size_t i = 0; i < n; i++) {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			out[i] = t->dtype == ST_F16 ? safetensors_f16_to_f32(h) : safetensors_bf16_to_f32(h);
		}
		return 0;
	case ST_F64:
		for (size_t i = 0; i < n; i++) {
			double d;
			memcpy(&d, p + 8 * i, 8);
			out[i] = (float)d;
		}
		return 0;
	default:
		return err_set(ACC_EUNSUPPORTED, "tensor '%s' has dtype %s; only F32, F16, BF16 and F64 convert to float",
		               t->name, dtypes[t->dtype].name);
	}
}

int safetensors_to_i64(const safetensors_tensor *t, int64_t *out)
{
	const unsigned char *p = t->data;
	for (size_t i = 0; i < t->numel; i++) {
		switch (t->dtype) {
		case ST_I64: memcpy(&out[i], p + 8 * i, 8); break;
		case ST_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); out[i] = v; break; }
		case ST_I16: { int16_t v; memcpy(&v, p + 2 * i, 2); out[i] = v; break; }
		case ST_I8: out[i] = (int8_t)p[i]; break;
		case ST_U8: out[i] = p[i]; break;
		case ST_BOOL: out[i] = p[i] != 0; break;
		default:
			return err_set(ACC_EUNSUPPORTED, "tensor '%s' has dtype %s; only I64, I32, I16, I8, U8 and BOOL convert to integers",
			               t->name, dtypes[t->dtype].name);
		}
	}
	return 0;
}

void safetensors_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
	size_t k = snprintf(buf, cap, "[");
	for (int i = 0; i < ndim && k < cap; i++)
		k += snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
	if (k < cap)
		snprintf(buf + k, cap - k, "]");
}

static int find_checked(const safetensors_file *f, const char *name, int ndim, const int64_t *shape,
                        const safetensors_tensor **out)
{
	const safetensors_tensor *t = safetensors_find(f, name);
	if (!t)
		return err_set(ACC_ENOTFOUND, "%s: no tensor '%s'", f->path, name);
	if (shape) {
		int same = t->ndim == ndim;
		for (int i = 0; same && i < ndim; i++)
			same = t->shape[i] == shape[i];
		if (!same) {
			char a[128], b[128];
			safetensors_shape_str(a, sizeof a, t->ndim, t->shape);
			safetensors_shape_str(b, sizeof b, ndim, shape);
			return err_set(ACC_EFORMAT, "%s: tensor '%s' has shape %s, expected %s", f->path, name, a, b);
		}
	}
	*out = t;
	return 0;
}

int safetensors_read_f32(const safetensors_file *f, const char *name, int ndim, const int64_t *shape,
                         float **out, size_t *numel)
{
	*out = NULL;
	const safetensors_tensor *t;
	int rc = find_checked(f, name, ndim, shape, &t);
	if (rc)
		return rc;
	float *buf = malloc(t->numel ? t->numel * sizeof *buf : 1);
	if (!buf)
		return err_set(ACC_ENOMEM, "out of memory for tensor '%s' (%zu elements)", name, t->numel);
	if ((rc = safetensors_to_f32(t, buf))) {
		free(buf);
		return rc;
	}
	*out = buf;
	if (numel)
		*numel = t->numel;
	return 0;
}

int safetensors_read_i64(const safetensors_file *f, const char *name, int64_t **out, size_t *numel)
{
	*out = NULL;
	const safetensors_tensor *t;
	int rc = find_checked(f, name, 0, NULL, &t);
	if (rc)
		return rc;
	int64_t *buf = malloc(t->numel ? t->numel * sizeof *buf : 1);
	if (!buf)
		return err_set(ACC_ENOMEM, "out of memory for tensor '%s' (%zu elements)", name, t->numel);
	if ((rc = safetensors_to_i64(t, buf))) {
		free(buf);
		return rc;
	}
	*out = buf;
	if (numel)
		*numel = t->numel;
	return 0;
}

/* ---- writer ---- */

typedef struct {
	char *name;
	safetensors_dtype dtype;      /* stored dtype */
	int from_f32;                 /* data is float32 to convert to dtype */
	int ndim;
	int64_t shape[SAFETENSORS_MAX_DIMS];
	size_t numel, nbytes;
	const void *data;
} wentry;

struct safetensors_writer {
	wentry *e;
	int n;
	size_t cap;
	json_t *meta;
};

int safetensors_writer_new(safetensors_writer **w)
{
	*w = calloc(1, sizeof **w);
	if (!*w || !((*w)->meta = json_object())) {
		free(*w);
		*w = NULL;
		return err_set(ACC_ENOMEM, "out of memory");
	}
	return 0;
}

void safetensors_writer_free(safetensors_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		free(w->e[i].name);
	free(w->e);
	json_decref(w->meta);
	free(w);
}

static int writer_add(safetensors_writer *w, const char *name, safetensors_dtype dtype, int from_f32,
                      int ndim, const int64_t *shape, const void *data)
{
	if ((unsigned)dtype >= ST_NDTYPES || ndim < 0 || ndim > SAFETENSORS_MAX_DIMS || !name || !*name ||
	    !strcmp(name, "__metadata__"))
		return err_set(ACC_EINVAL, "safetensors writer: invalid tensor '%s'", name ? name : "(null)");
	for (int i = 0; i < w->n; i++)
		if (!strcmp(w->e[i].name, name))
			return err_set(ACC_EINVAL, "safetensors writer: duplicate tensor '%s'", name);
	int rc = ARRAY_GROW(w->e, w->cap, (size_t)w->n + 1);
	if (rc)
		return rc;
	wentry *e = &w->e[w->n];
	memset(e, 0, sizeof *e);
	e->dtype = dtype;
	e->from_f32 = from_f32;
	e->ndim = ndim;
	e->numel = 1;
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0 || __builtin_mul_overflow(e->numel, (size_t)shape[i], &e->numel))
			return err_set(ACC_EINVAL, "safetensors writer: tensor '%s': bad shape", name);
		e->shape[i] = shape[i];
	}
	if (__builtin_mul_overflow(e->numel, dtypes[dtype].size, &e->nbytes))
		return err_set(ACC_EINVAL, "safetensors writer: tensor '%s': size overflows", name);
	e->data = data;
	if (!(e->name = strdup(name)))
		return err_set(ACC_ENOMEM, "out of memory");
	w->n++;
	return 0;
}

int safetensors_writer_add(safetensors_writer *w, const char *name, safetensors_dtype dtype,
                           int ndim, const int64_t *shape, const void *data)
{
	return writer_add(w, name, dtype, 0, ndim, shape, data);
}

int safetensors_writer_add_f32(safetensors_writer *w, const char *name, safetensors_dtype out_dtype,
                               int ndim, const int64_t *shape, const float *data)
{
	if (out_dtype != ST_F32 && out_dtype != ST_F16 && out_dtype != ST_BF16)
		return err_set(ACC_EINVAL, "safetensors writer: tensor '%s': float32 data can be stored as F32, F16 or BF16 only",
		               name);
	return writer_add(w, name, out_dtype, out_dtype != ST_F32, ndim, shape, data);
}

int safetensors_writer_meta(safetensors_writer *w, const char *key, const char *value)
{
	if (json_object_set_new(w->meta, key, json_string(value)))
		return err_set(ACC_EINVAL, "safetensors writer: bad metadata '%s' (not UTF-8?)", key);
	return 0;
}

/* The reference orders tensors by dtype alignment, largest first, then name. */
static int cmp_wentry(const void *a, const void *b)
{
	const wentry *x = a, *y = b;
	size_t sx = dtypes[x->dtype].size, sy = dtypes[y->dtype].size;
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int write_data(FILE *fp, const wentry *e)
{
	if (!e->from_f32)
		return e->nbytes && fwrite(e->data, 1, e->nbytes, fp) != e->nbytes ? -1 : 0;
	enum { CHUNK = 16384 };
	uint16_t buf[CHUNK];
	const float *src = e->data;
	for (size_t i = 0; i < e->numel; i += CHUNK) {
		size_t m = e->numel - i < CHUNK ? e->numel - i : CHUNK;
		for (size_t j = 0; j < m; j++)
			buf[j] = e->dtype == ST_BF16 ? safetensors_f32_to_bf16(src[i + j]) : safetensors_f32_to_f16(src[i + j]);
		if (fwrite(buf, 2, m, fp) != m)
			return -1;
	}
	return 0;
}

int safetensors_writer_write(safetensors_writer *w, const char *path)
{
	int rc;
	json_t *hdr = NULL;
	char *text = NULL;
	FILE *fp = NULL;
	char tmp[4096];
	qsort(w->e, w->n, sizeof *w->e, cmp_wentry);
	hdr = json_object();
	if (!hdr) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	if (json_object_size(w->meta))
		json_object_set(hdr, "__metadata__", w->meta);
	size_t off = 0;
	for (int i = 0; i < w->n; i++) {
		wentry *e = &w->e[i];
		json_t *shape = json_array(), *offs = json_array();
		for (int d = 0; d < e->ndim; d++)
			json_array_append_new(shape, json_integer(e->shape[d]));
		json_array_append_new(offs, json_integer((json_int_t)off));
		json_array_append_new(offs, json_integer((json_int_t)(off + e->nbytes)));
		json_t *ent = json_pack("{s:s, s:o, s:o}", "dtype", dtypes[e->dtype].name, "shape", shape,
		                        "data_offsets", offs);
		if (!ent || json_object_set_new(hdr, e->name, ent)) {
			rc = err_set(ACC_EINVAL, "safetensors writer: cannot encode tensor '%s' (name not UTF-8?)", e->name);
			goto out;
		}
		off += e->nbytes;
	}
	text = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	size_t n = strlen(text), padded = (n + 7) / 8 * 8;
	uint64_t n64 = padded;
	if ((rc = fs_open_tmp(path, tmp, &fp)))
		goto out;
	int bad = fwrite(&n64, 8, 1, fp) != 1 || fwrite(text, 1, n, fp) != n;
	for (size_t i = n; !bad && i < padded; i++)
		bad = fputc(' ', fp) == EOF;
	for (int i = 0; !bad && i < w->n; i++)
		bad = write_data(fp, &w->e[i]) != 0;
	if (bad) {
		rc = err_set(ACC_EIO, "cannot write '%s': %s", tmp, strerror(errno));
		fs_abort_tmp(fp, tmp);
		goto out;
	}
	rc = fs_commit_tmp(fp, tmp, path);
out:
	free(text);
	json_decref(hdr);
	return rc;
}
