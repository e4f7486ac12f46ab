/*
 * emit.c — the one emitter (see emit.h): load a model directory (with the
 * language's adapter when the model has them) and turn 16 kHz audio into
 * log-probabilities; and the greedy best path.
 */
#include "model/emit.h"
#include "audio/audio.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "model/w2v.h"
#include "model/w2v_infer.h"
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

/* Clips up to this long run as one forward pass; longer audio is windowed. */
#define EMIT_WHOLE_MAX_S 40.0

typedef struct emit_ctx {
	w2v_model *m;
	w2v_infer *wi;
} emit_ctx;

static int emit_fn(void *arg, const float *x, int64_t n, float **lp, int64_t *T)
{
	emit_ctx *c = arg;
	int V = c->m->cfg.vocab_size, rc;
	*lp = NULL;
	*T = 0;
	if (w2v_config_frames(&c->m->cfg, n) <= 0)
		return 0;
	if ((double)n / AUDIO_RATE > EMIT_WHOLE_MAX_S)
		return w2v_infer_long_buf(c->wi, x, n, 0, -1, lp, T);
	const float *wav[1] = { x };
	int64_t len[1] = { n };
	if ((rc = w2v_infer_batch(c->wi, wav, len, 1)))
		return rc;
	int t = 0;
	const float *e = w2v_infer_emissions(c->wi, 0, &t);
	if (t <= 0)
		return 0;
	if (!(*lp = malloc(sizeof(float) * (size_t)t * V)))
		return err_set(ACC_ENOMEM, "align: out of memory for emissions");
	memcpy(*lp, e, sizeof(float) * (size_t)t * V);
	*T = t;
	return 0;
}

static void emit_close(void *arg)
{
	emit_ctx *c = arg;
	if (!c)
		return;
	w2v_infer_free(c->wi);
	w2v_free(c->m);
	free(c);
}

int emitter_open(emitter *e, const char *dir, const char *lang, w2v_precision prec)
{
	int rc;
	memset(e, 0, sizeof *e);
	emit_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return err_set(ACC_ENOMEM, "out of memory");
	e->precision = w2v_precision_resolve(prec, e->precision_why, sizeof e->precision_why);
	/* adapter or a clear "no adapter for the language" (shared with
	 * transcribe); bf16/int8 keep the weights once, packed (lean) */
	if ((rc = w2v_infer_load(&c->wi, &c->m, dir, lang, w2v_precision_flags(e->precision), 1)))
		goto fail;
	e->V = c->m->cfg.vocab_size;
	e->blank = c->m->cfg.pad_token_id;
	e->emit = emit_fn;
	e->close = emit_close;
	e->ctx = c;
	return 0;
fail:
	emit_close(c);
	return rc;
}

void emitter_close(emitter *e)
{
	if (e && e->close)
		e->close(e->ctx);
	if (e)
		memset(e, 0, sizeof *e);
}

void emit_greedy(const float *lp, int64_t T, int V, int64_t stride, int *ids)
{
	for (int64_t t = 0; t < T; t++) {
		const float *r = lp + t * stride;
		int best = 0;
		for (int v = 1; v < V; v++)
			if (r[v] > r[best])
				best = v;
		ids[t] = best;
	}
}
