/*
 * test_emit.c — the parts of the one emitter that need no model: the
 * greedy best path (ties to the lowest id, rows wider than the vocabulary,
 * no frames) and the model identity of a model directory (what changes it,
 * what does not, a missing config).
 */
#include "base/err.h"
#include "base/fsutil.h"
#include "check.h"
#include "model/emit.h"

static void test_greedy(void)
{
	/* 4 frames, V = 3, rows 5 floats apart: the 2 padding floats are larger
	 * than any real entry and must never be chosen */
	const float lp[4 * 5] = {
		-1.0f, -0.5f, -2.0f, 9.0f, 9.0f,    /* 1 */
		-0.3f, -0.3f, -0.3f, 9.0f, 9.0f,    /* three-way tie: 0 */
		-4.0f, -1.0f, -1.0f, 9.0f, 9.0f,    /* tie of 1 and 2: 1 */
		-9.0f, -8.0f, -0.1f, 9.0f, 9.0f,    /* 2 */
	};
	int ids[4] = { -1, -1, -1, -1 }, want[4] = { 1, 0, 1, 2 };
	emit_greedy(lp, 4, 3, 5, ids);
	for (int t = 0; t < 4; t++)
		CHECK_EQ_INT(ids[t], want[t]);
	/* stride == V: the same rows packed */
	float packed[4 * 3];
	for (int t = 0; t < 4; t++)
		for (int v = 0; v < 3; v++)
			packed[t * 3 + v] = lp[t * 5 + v];
	int ids2[4] = { -1, -1, -1, -1 };
	emit_greedy(packed, 4, 3, 3, ids2);
	for (int t = 0; t < 4; t++)
		CHECK_EQ_INT(ids2[t], want[t]);
	/* T = 0 writes nothing */
	int none[1] = { 42 };
	emit_greedy(lp, 0, 3, 5, none);
	CHECK_EQ_INT(none[0], 42);
	/* -inf entries lose to any finite one; an all -inf row is id 0 */
	const float inf_row[2 * 3] = { -INFINITY, -INFINITY, -50.0f, -INFINITY, -INFINITY, -INFINITY };
	int ids3[2];
	emit_greedy(inf_row, 2, 3, 3, ids3);
	CHECK_EQ_INT(ids3[0], 2);
	CHECK_EQ_INT(ids3[1], 0);
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[1024];
	CHECK_OK(fs_join(p, sizeof p, dir, name));
	CHECK_OK(fs_write_atomic(p, text, strlen(text)));
}

static void test_model_id(void)
{
	char dir[600], a[65], b[65], c[65], d[65];
	snprintf(dir, sizeof dir, "%s/model", TEST_TMP);
	CHECK_OK(fs_mkdir_p(dir));
	/* no config.json: not a model directory */
	CHECK_EQ_INT(emit_model_id(dir, "amh", a), ACC_ENOTFOUND);
	put(dir, "config.json", "{\"vocab_size\": 12}");
	put(dir, "vocab.json", "{\"amh\": {\"<pad>\": 0}}");
	put(dir, "model.safetensors", "weights v1");
	CHECK_OK(emit_model_id(dir, "amh", a));
	CHECK_EQ_INT(strlen(a), 64);
	CHECK_OK(emit_model_id(dir, "amh", b));
	CHECK_STR(a, b);                       /* deterministic */
	CHECK_OK(emit_model_id(dir, "fra", c));
	CHECK(strcmp(a, c) != 0);              /* the language is part of it */
	put(dir, "adapter.amh.safetensors", "adapter");
	CHECK_OK(emit_model_id(dir, "amh", b));
	CHECK(strcmp(a, b) != 0);              /* so is its adapter */
	CHECK_OK(emit_model_id(dir, "fra", d));
	CHECK_STR(c, d);                       /* another language's adapter is not */
	put(dir, "model.safetensors", "weights v2");
	CHECK_OK(emit_model_id(dir, "amh", d));
	CHECK(strcmp(b, d) != 0);              /* nor are the weights */
	put(dir, "config.json", "{\"vocab_size\": 13}");
	CHECK_OK(emit_model_id(dir, "amh", a));
	CHECK(strcmp(a, d) != 0);              /* the config */
}

int main(void)
{
	RUN(test_greedy);
	RUN(test_model_id);
	return check_summary();
}
