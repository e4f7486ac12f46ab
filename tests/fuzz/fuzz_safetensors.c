/*
 * fuzz_safetensors.c — libFuzzer harness for the safetensors reader: any
 * byte string must either open (and then every tensor it describes must be
 * readable inside the buffer) or be rejected with an error, never crash.
 * Build and run with `make fuzz-safetensors` (mk/fuzz.mk: clang,
 * -fsanitize=fuzzer,address,undefined); seeds (tests/fuzz/seeds/safetensors)
 * are two fixture checkpoints.
 */
#include "base/err.h"
#include "model/safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	safetensors_file *f = NULL;
	if (safetensors_open_buffer(&f, data, size, "fuzz") != 0) {
		if (f || !err_msg()[0])
			abort(); /* a failure must leave no file and say why */
		return 0;
	}
	volatile unsigned acc = 0;
	for (int i = 0; i < safetensors_count(f); i++) {
		const safetensors_tensor *t = safetensors_at(f, i);
		if (safetensors_find(f, t->name) != t)
			abort();
		const unsigned char *p = t->data;
		for (size_t j = 0; j < t->nbytes; j++)
			acc += p[j];
		if (t->numel <= (1u << 16)) {
			float *x = malloc(t->numel * sizeof *x + 1);
			int64_t *y = malloc(t->numel * sizeof *y + 1);
			safetensors_to_f32(t, x);
			safetensors_to_i64(t, y);
			free(x);
			free(y);
		}
	}
	(void)safetensors_meta(f, "format");
	safetensors_close(f);
	return 0;
}
