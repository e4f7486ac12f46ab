/*
 * w2v_init.c — deterministic random initialisation of a wav2vec2 model, the
 * way transformers' Wav2Vec2PreTrainedModel._init_weights does it, for
 * random-weight checkpoints (tools/mkmodel) used by tests and benchmarks:
 *   Linear (attention, feed-forward, adapters, lm_head): N(0,
 *     initializer_range) (config.json; HF's default 0.02), bias 0
 *   LayerNorm / GroupNorm: weight 1, bias 0
 *   feature-encoder convs: kaiming normal (std sqrt(2 / fan_in)), bias
 *     U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 *   feature projection: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
 *   positional conv: N(0, 2 * sqrt(1 / (K * H))) on the folded weight
 *     (HF initialises the weight-norm parametrisation; the folded weight has
 *     the same distribution up to the per-tap rescaling), bias 0
 *   masked_spec_embed: U(0, 1) (present only when masking is configured)
 * Every tensor draws from its own counter-based stream (seed, row, chunk),
 * so the result is identical for any number of threads.
 */
#include "model/w2v.h"
#include "base/err.h"
#include "base/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"


enum { DIST_ZERO, DIST_ONE, DIST_NORMAL, DIST_UNIFORM };

static void fill(float *x, size_t n, int dist, double a, double b, uint64_t seed, int row)
{
	if (dist == DIST_ZERO || dist == DIST_ONE) {
		for (size_t i = 0; i < n; i++)
			x[i] = dist == DIST_ONE ? 1.0f : 0.0f;
		return;
	}
	const size_t CH = 1 << 16;
	size_t nch = (n + CH - 1) / CH;
#pragma omp parallel for schedule(dynamic, 4)
	for (size_t c = 0; c < nch; c++) {
		uint64_t s = seed ^ ((uint64_t)row << 40) ^ (c * 0x2545f4914f6cdd1dull);
		rng_next(&s);
		size_t lo = c * CH, hi = lo + CH < n ? lo + CH : n;
		for (size_t i = lo; i < hi; i++) {
			if (dist == DIST_UNIFORM) {
				x[i] = (float)(a + (b - a) * rng_unit_open(&s));
				continue;
			}
			/* Marsaglia's polar method: two normals per accepted pair,
			 * no trigonometry */
			double u, v, r2;
			do {
				u = 2 * rng_unit_open(&s) - 1;
				v = 2 * rng_unit_open(&s) - 1;
				r2 = u * u + v * v;
			} while (r2 >= 1 || r2 == 0);
			double k = sqrt(-2.0 * log(r2) / r2);
			x[i] = (float)(a + b * u * k);
			if (i + 1 < hi)
				x[++i] = (float)(a + b * v * k);
		}
	}
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static void init_groups(w2v_model *m, uint64_t seed, int train_only)
{
	const w2v_config *c = &m->cfg;
	for (int i = 0; i < m->n_tensors; i++) {
		w2v_tensor *t = &m->tensors[i];
		if (!t->present || (train_only && t->group != W2V_GROUP_TRAIN))
			continue;
		float *x = (t->group == W2V_GROUP_BASE ? m->base : m->train) + t->offset;
		const char *n = t->name;
		int dist = DIST_NORMAL;
		double a = 0, b = c->initializer_range > 0 ? c->initializer_range : 0.02;
		if (strstr(n, "norm.") || strstr(n, "layer_norm.")) {
			dist = ends_with(n, ".weight") ? DIST_ONE : DIST_ZERO;
		} else if (strstr(n, "conv_layers.")) {
			/* fan_in of the layer's weight [C_i, C_{i-1}, K_i]; the bias is
			 * 1-D, so it cannot come from the bias tensor's own shape */
			int li = atoi(strstr(n, "conv_layers.") + strlen("conv_layers."));
			double fan_in = (double)(li == 0 ? 1 : c->conv_dim[li - 1]) * c->conv_kernel[li];
			if (ends_with(n, ".weight")) {
				b = sqrt(2.0 / fan_in);
			} else {
				dist = DIST_UNIFORM;
				a = -1 / sqrt(fan_in);
				b = 1 / sqrt(fan_in);
			}
		} else if (strstr(n, "feature_projection.projection.")) {
			double k = 1 / sqrt((double)c->conv_dim[c->num_feat_extract_layers - 1]);
			dist = DIST_UNIFORM;
			a = -k;
			b = k;
		} else if (t->flags & W2V_T_POSCONV) {
			b = 2 * sqrt(1.0 / ((double)c->num_conv_pos_embeddings * c->hidden_size));
		} else if (!strcmp(n, "wav2vec2.masked_spec_embed")) {
			dist = DIST_UNIFORM;
			a = 0;
			b = 1;
		} else if (ends_with(n, ".bias")) {
			dist = DIST_ZERO;
		}
		fill(x, t->numel, dist, a, b, seed, i);
	}
}

int w2v_init_random(w2v_model *m, uint64_t seed)
{
	init_groups(m, seed, 0);
	return 0;
}

int w2v_init_random_train(w2v_model *m, uint64_t seed)
{
	init_groups(m, seed, 1);
	return 0;
}
