/*
 * w2v_infer.c — raw audio -> CTC emissions: normalization, padded batches,
 * windowed inference of long recordings.  See w2v_infer.h.
 */
#include "model/w2v_infer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "model/emit.h"
#include "model/vocab.h"
#include "base/banned.h"

void w2v_normalize(float *dst, const float *src, int64_t n)
{
	if (n <= 0)
		return;
	double s = 0, ss = 0;
	for (int64_t i = 0; i < n; i++)
		s += src[i];
	double mu = s / n;
	for (int64_t i = 0; i < n; i++)
		ss += (src[i] - mu) * (src[i] - mu);
	double inv = 1.0 / sqrt(ss / n + W2V_NORM_EPS);
	for (int64_t i = 0; i < n; i++)
		dst[i] = (float)((src[i] - mu) * inv);
}

int w2v_infer_create(w2v_infer **out, const w2v_model *m, int flags)
{
	int rc;
	w2v_infer *wi = calloc(1, sizeof *wi);
	*out = NULL;
	if (!wi)
		return err_set(ACC_ENOMEM, "out of memory");
	wi->m = m;
	if ((rc = w2v_fwd_create(&wi->fwd, m, flags & (W2V_FWD_BF16 | W2V_FWD_INT8 | W2V_FWD_CONV_BF16 | W2V_FWD_HIDDEN)))) {
		free(wi);
		return rc;
	}
	*out = wi;
	return 0;
}

void w2v_infer_free(w2v_infer *wi)
{
	if (!wi)
		return;
	w2v_fwd_free(wi->fwd);
	free(wi->batch);
	free(wi->len);
	free(wi);
}

static int ensure(w2v_infer *wi, size_t samples, int B)
{
	if (samples > wi->batch_cap) {
		float *p = realloc(wi->batch, samples * sizeof(float));
		if (!p)
			return err_set(ACC_ENOMEM, "out of memory: batch of %zu samples", samples);
		wi->batch = p;
		wi->batch_cap = samples;
	}
	if (B > wi->len_cap) {
		int64_t *l = realloc(wi->len, B * sizeof *l);
		if (!l)
			return err_set(ACC_ENOMEM, "out of memory");
		wi->len = l;
		wi->len_cap = B;
	}
	return 0;
}

int w2v_infer_batch(w2v_infer *wi, const float *const *wav, const int64_t *n, int B)
{
	int rc;
	const w2v_config *c = &wi->m->cfg;
	int64_t N = 0;
	if (B <= 0)
		return err_set(ACC_EINVAL, "empty batch");
	for (int b = 0; b < B; b++) {
		if (n[b] < 0)
			return err_set(ACC_EINVAL, "utterance %d: negative length", b);
		N = n[b] > N ? n[b] : N;
	}
	if (N > INT32_MAX / 2)
		return err_set(ACC_EINVAL, "utterance of %lld samples is too long for one pass; use windowed inference",
		               (long long)N);
	if (N == 0)
		N = 1;
	/* With an attention mask, padding does not change the valid frames, so
	 * round the width up: fewer distinct shapes, fewer oneDNN primitives to
	 * create when utterance lengths vary. */
	if (c->return_attention_mask)
		N = (N + W2V_INFER_BUCKET - 1) / W2V_INFER_BUCKET * W2V_INFER_BUCKET;
	if ((rc = ensure(wi, (size_t)B * N, B)))
		return rc;
	for (int b = 0; b < B; b++) {
		float *row = wi->batch + (size_t)b * N;
		if (c->do_normalize)
			w2v_normalize(row, wav[b], n[b]);
		else if (n[b])
			memcpy(row, wav[b], sizeof(float) * n[b]);
		memset(row + n[b], 0, sizeof(float) * (N - n[b]));
		wi->len[b] = n[b];
	}
	return w2v_forward(wi->fwd, wi->batch, B, (int)N, c->return_attention_mask ? wi->len : NULL);
}

const float *w2v_infer_emissions(const w2v_infer *wi, int b, int *T)
{
	const w2v_fwd *f = wi->fwd;
	if (b < 0 || b >= f->B || f->T == 0) {
		*T = 0;
		return NULL;
	}
	/* valid frames of the utterance, also when no mask was used */
	*T = (int)w2v_config_frames(&wi->m->cfg, wi->len[b]);
	return f->logprobs + (size_t)b * f->T * wi->m->cfg.vocab_size;
}

/* Samples that frame 0 depends on (400 for every released model). */
static int64_t receptive_field(const w2v_config *c)
{
	int64_t rf = 1, jump = 1;
	for (int i = 0; i < c->num_feat_extract_layers; i++) {
		rf += (int64_t)(c->conv_kernel[i] - 1) * jump;
		jump *= c->conv_stride[i];
	}
	return rf;
}

#define CHUNK (1 << 20)

int w2v_infer_long(w2v_infer *wi, w2v_reader rd, void *arg, int64_t n,
                   double win_s, double ctx_s, float **lp_out, int64_t *T_out)
{
	int rc = 0;
	const w2v_config *c = &wi->m->cfg;
	int V = c->vocab_size;
	int64_t S = w2v_config_total_stride(c), rf = receptive_field(c);
	int64_t T = w2v_config_frames(c, n);
	float *lp = NULL, *chunk = NULL;
	double mu = 0, inv = 1;
	*lp_out = NULL;
	*T_out = 0;
	if (win_s <= 0)
		win_s = 30.0;
	if (ctx_s < 0)
		ctx_s = 2.0;
	int64_t coreF = (int64_t)llround(win_s * c->sampling_rate / S);
	int64_t ctxF = (int64_t)llround(ctx_s * c->sampling_rate / S);
	if (coreF < 1)
		coreF = 1;
	if ((double)(coreF + 2 * ctxF) * S + rf > INT32_MAX / 4)
		return err_set(ACC_EINVAL, "window of %.0f s + 2 x %.0f s context is too large", win_s, ctx_s);
	if (T == 0)
		return 0;
	if (!(lp = malloc(sizeof(float) * T * V)) ||
	    !(chunk = malloc(sizeof(float) * ((coreF + 2 * ctxF) * S + rf > CHUNK ? (coreF + 2 * ctxF) * S + rf : CHUNK)))) {
		rc = err_set(ACC_ENOMEM, "out of memory: emissions of %lld frames", (long long)T);
		goto out;
	}
	if (c->do_normalize) {
		/* whole-recording statistics, two streaming passes */
		double s = 0, ss = 0;
		for (int64_t p = 0; p < n; p += CHUNK) {
			int64_t k = n - p < CHUNK ? n - p : CHUNK;
			if ((rc = rd(arg, p, k, chunk)))
				goto out;
			for (int64_t i = 0; i < k; i++)
				s += chunk[i];
		}
		mu = s / n;
		for (int64_t p = 0; p < n; p += CHUNK) {
			int64_t k = n - p < CHUNK ? n - p : CHUNK;
			if ((rc = rd(arg, p, k, chunk)))
				goto out;
			for (int64_t i = 0; i < k; i++)
				ss += (chunk[i] - mu) * (chunk[i] - mu);
		}
		inv = 1.0 / sqrt(ss / n + W2V_NORM_EPS);
	}
	for (int64_t c0 = 0; c0 < T; c0 += coreF) {
		int64_t c1 = c0 + coreF < T ? c0 + coreF : T;
		int64_t w0 = c0 - ctxF > 0 ? c0 - ctxF : 0;
		int64_t w1 = c1 + ctxF < T ? c1 + ctxF : T;
		int64_t s0 = w0 * S, s1 = (w1 - 1) * S + rf;
		if (s1 > n)
			s1 = n;
		int64_t len = s1 - s0;
		if ((rc = rd(arg, s0, len, chunk)))
			goto out;
		if (c->do_normalize)
			for (int64_t i = 0; i < len; i++)
				chunk[i] = (float)((chunk[i] - mu) * inv);
		if ((rc = w2v_forward(wi->fwd, chunk, 1, (int)len, NULL)))
			goto out;
		if (wi->fwd->T < c1 - w0) {
			rc = err_set(ACC_EINTERNAL, "window [%lld, %lld) gave %d frames, expected %lld",
			             (long long)s0, (long long)s1, wi->fwd->T, (long long)(w1 - w0));
			goto out;
		}
		memcpy(lp + c0 * V, wi->fwd->logprobs + (c0 - w0) * V, sizeof(float) * (c1 - c0) * V);
	}
	*lp_out = lp;
	*T_out = T;
	lp = NULL;
out:
	free(lp);
	free(chunk);
	return rc;
}

typedef struct {
	const float *wav;
	int64_t n;
} buf_src;

static int buf_read(void *arg, int64_t start, int64_t count, float *dst)
{
	buf_src *b = arg;
	if (start < 0 || count < 0 || start + count > b->n)
		return err_set(ACC_EINVAL, "read [%lld, +%lld) outside %lld samples", (long long)start,
		               (long long)count, (long long)b->n);
	memcpy(dst, b->wav + start, sizeof(float) * count);
	return 0;
}

int w2v_infer_long_buf(w2v_infer *wi, const float *wav, int64_t n,
                       double win_s, double ctx_s, float **lp, int64_t *T)
{
	buf_src b = { wav, n };
	return w2v_infer_long(wi, buf_read, &b, n, win_s, ctx_s, lp, T);
}

int w2v_transcribe(w2v_infer *wi, const vocab *v, const float *wav, int64_t n,
                   double win_s, double ctx_s, char **text, int64_t *frames)
{
	int rc;
	float *lp = NULL;
	int64_t T = 0;
	int *ids = NULL;
	*text = NULL;
	if (vocab_size(v) != wi->m->cfg.vocab_size)
		return err_set(ACC_EINVAL, "vocabulary has %d tokens but the model's lm_head has %d rows",
		               vocab_size(v), wi->m->cfg.vocab_size);
	if ((rc = w2v_infer_long_buf(wi, wav, n, win_s, ctx_s, &lp, &T)))
		return rc;
	if (!(ids = malloc(sizeof(int) * (T ? T : 1)))) {
		free(lp);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	emit_greedy(lp, T, wi->m->cfg.vocab_size, wi->m->cfg.vocab_size, ids);
	rc = vocab_decode(v, ids, T, 1, text);
	if (frames)
		*frames = T;
	free(ids);
	free(lp);
	return rc;
}

int w2v_infer_lean(w2v_infer *wi, w2v_model *m)
{
	return w2v_fwd_lean(wi->fwd, m);
}

typedef struct {
	w2v_infer *wi;
	int flags;
} lean_load;

/* w2v_load_hooked's hook: the inference exists from the first tensor on
 * (w2v_fwd_create reads no weight), and packs each linear as it arrives. */
static int lean_hook(void *arg, w2v_model *m, const float *p)
{
	lean_load *ll = arg;
	int rc;
	if (!ll->wi && (rc = w2v_infer_create(&ll->wi, m, ll->flags)))
		return rc;
	return w2v_fwd_lean_tensor(ll->wi->fwd, m, p);
}

int w2v_infer_load(w2v_infer **wi, w2v_model **m, const char *dir, const char *lang, int flags, int lean)
{
	int rc;
	lean_load ll = { NULL, flags };
	*wi = NULL;
	*m = NULL;
	if (lean && !(flags & (W2V_FWD_BF16 | W2V_FWD_INT8)))
		lean = 0;   /* fp32 reads its weights in place: nothing to release */
	if (!lean) {
		if ((rc = w2v_load_lang(m, dir, lang)))
			return rc;
		if ((rc = w2v_infer_create(wi, *m, flags))) {
			w2v_free(*m);
			*m = NULL;
		}
		return rc;
	}
	if ((rc = w2v_load_lang_hooked(m, dir, lang, lean_hook, &ll))) {
		w2v_infer_free(ll.wi);
		return rc;
	}
	if (!ll.wi && (rc = w2v_infer_create(&ll.wi, *m, flags))) {
		w2v_free(*m);
		*m = NULL;
		return rc;
	}
	*wi = ll.wi;
	return 0;
}
