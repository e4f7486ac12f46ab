/*
 * safetensors.h — reader (memory-mapped, hostile-input safe) and writer of
 * the safetensors format used by Hugging Face checkpoints.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *  "__metadata__": {"key": "string", ..}}, then the data area; offsets are
 * relative to the data area.
 *
 * The reader validates everything before exposing a tensor: N within the
 * file and at most SAFETENSORS_MAX_HEADER, the header a JSON object, every
 * entry an object with exactly a known dtype, a shape of non-negative
 * integers and two data_offsets, shape product × dtype size == end - begin
 * (overflow-checked), begin <= end <= data size, no two spans overlapping,
 * no duplicate names (jansson rejects them), __metadata__ values strings.
 * Gaps between spans are tolerated (the reference writer never makes them;
 * they are harmless).  Every dtype of the format is recognised; only F32,
 * F16 and BF16 (and F64) convert to float, only I64/I32/I16/I8/U8/BOOL
 * convert to int64 — other conversions are ACC_EUNSUPPORTED naming the
 * tensor, so a file of I64 counters next to the weights still opens.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SAFETENSORS_MAX_HEADER (100u << 20)  /* same limit as the reference reader */
#define SAFETENSORS_MAX_DIMS   8

typedef enum {
	ST_BOOL, ST_U8, ST_I8, ST_I16, ST_U16, ST_F16, ST_BF16, ST_I32, ST_U32,
	ST_F32, ST_F64, ST_I64, ST_U64, ST_F8_E4M3, ST_F8_E5M2, ST_NDTYPES
} safetensors_dtype;

typedef struct {
	const char *name;
	safetensors_dtype dtype;
	int ndim;
	int64_t shape[SAFETENSORS_MAX_DIMS];
	size_t numel;
	size_t nbytes;
	const void *data;   /* inside the mapping; NOT necessarily aligned: read with memcpy */
} safetensors_tensor;

typedef struct safetensors_file safetensors_file;

/* Map and validate path.  ACC_EIO (open/mmap, errno cause), ACC_EFORMAT
 * (any header defect, the message names the tensor and the rule broken). */
int safetensors_open(safetensors_file **f, const char *path);

/* Validate and wrap an in-memory buffer (not copied; must outlive f). */
int safetensors_open_buffer(safetensors_file **f, const void *buf, size_t len, const char *label);

void safetensors_close(safetensors_file *f);

/* Tensors, sorted by name. */
int safetensors_count(const safetensors_file *f);
const safetensors_tensor *safetensors_at(const safetensors_file *f, int i);

/* Tensor by name or NULL. */
const safetensors_tensor *safetensors_find(const safetensors_file *f, const char *name);
/* A shape as text for messages: "[768, 1, 128]" (truncated to cap). */
void safetensors_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape);

/* __metadata__ value for key, or NULL. */
const char *safetensors_meta(const safetensors_file *f, const char *key);

/* Name of a dtype ("F32"). */
const char *safetensors_dtype_name(safetensors_dtype d);

/* Convert t to float32 into out (t->numel floats).  F32/F16/BF16/F64 only. */
int safetensors_to_f32(const safetensors_tensor *t, float *out);

/* Convert an integer/bool tensor to int64 into out (t->numel values). */
int safetensors_to_i64(const safetensors_tensor *t, int64_t *out);

/* Convenience for tests and tools: find name, check its shape when
 * shape != NULL (ndim dims; error naming both shapes on mismatch), and return
 * a malloc'ed float32 copy (*out) with its element count (*numel, may be NULL). */
int safetensors_read_f32(const safetensors_file *f, const char *name,
                         int ndim, const int64_t *shape, float **out, size_t *numel);
/* Same for integer tensors -> malloc'ed int64 copy. */
int safetensors_read_i64(const safetensors_file *f, const char *name,
                         int64_t **out, size_t *numel);

/* float <-> half / bfloat16 (round to nearest even). */
float safetensors_f16_to_f32(uint16_t h);
float safetensors_bf16_to_f32(uint16_t h);
uint16_t safetensors_f32_to_f16(float f);
uint16_t safetensors_f32_to_bf16(float f);

/* ---- writer ---- */

typedef struct safetensors_writer safetensors_writer;

int safetensors_writer_new(safetensors_writer **w);
void safetensors_writer_free(safetensors_writer *w);

/* Add a tensor whose bytes (already in dtype) are at data; the data is
 * referenced, not copied, and must stay valid until write. */
int safetensors_writer_add(safetensors_writer *w, const char *name, safetensors_dtype dtype,
                           int ndim, const int64_t *shape, const void *data);

/* Add a float32 tensor stored as out_dtype (ST_F32, ST_F16 or ST_BF16),
 * converted while writing.  data referenced, not copied. */
int safetensors_writer_add_f32(safetensors_writer *w, const char *name, safetensors_dtype out_dtype,
                               int ndim, const int64_t *shape, const float *data);

/* Add a __metadata__ string entry (copied). */
int safetensors_writer_meta(safetensors_writer *w, const char *key, const char *value);

/* Write the file atomically (temp + rename) in the reference layout:
 * tensors ordered by dtype size (largest first) then name, offsets packed,
 * compact JSON header with __metadata__ first, padded with spaces to a
 * multiple of 8 bytes. */
int safetensors_writer_write(safetensors_writer *w, const char *path);
