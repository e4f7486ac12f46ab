/*
 * train_ckpt.c — what a training run writes to its output directory: the
 * Hugging Face checkpoint (adapter, config, merged vocabulary, the full
 * model when it trains base tensors) and the resume file train_state.bin
 * (a header with the run's progress and identity, then the weights and
 * Adam moments as raw floats), and the hand-over of a resumed state to
 * every rank under mpirun.
 */
#include "train/train_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dist.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/banned.h"

int train_ckpt_save(train_ctx *t, int full_model)
{
	if (dist_rank() > 0)
		return 0;   /* rank 0 writes (mpirun) */
	const trainer_opts *o = t->o;
	char path[4096], name[256];
	int rc;
	int has_adapters = t->m->cfg.do_stable_layer_norm && t->m->cfg.adapter_attn_dim > 0;
	/* without adapter layers (base layout) the trained head lives in model.safetensors */
	if (full_model || !has_adapters)
		TRY(w2v_save(t->m, o->out_dir, W2V_SAVE_F32));
	snprintf(name, sizeof name, "adapter.%s.safetensors", o->lang);
	fs_join(path, sizeof path, o->out_dir, name);
	if (has_adapters)
		TRY(w2v_save_adapter(t->m, path));
	TRY(w2v_config_write(&t->m->cfg, t->m->config_json, o->out_dir));
	fs_join(path, sizeof path, o->out_dir, "vocab.json");
	if (!fs_exists(path)) {
		/* start from the model's nested vocab.json so other languages stay */
		char src[4096], *data = NULL;
		size_t len = 0;
		char **langs = NULL;
		int nl = 0;
		fs_join(src, sizeof src, o->model_dir, "vocab.json");
		if (fs_exists(src) && vocab_languages(src, &langs, &nl) == 0 && nl > 0 &&
		    fs_read_all(src, &data, &len, (size_t)64 << 20) == 0) {
			rc = fs_write_atomic(path, data, len);
			free(data);
			if (rc)
				goto out;
		}
		for (int i = 0; i < nl; i++)
			free(langs[i]);
		free(langs);
	}
	TRY(vocab_save_merged(t->v, path, o->lang));
out:
	return rc;
}

/* ---- resume state ---- */
#define STATE_MAGIC "ACCTRST1"
typedef struct {
	char     magic[8];
	int64_t  step, best_step, adam_step_t, adam_step_b, skipped_total, train_run_id, steps;
	uint64_t rng, seed, train_numel, base_numel;
	double   best_cer, best_wer, best_loss, lr;
	int32_t  bad_evals, base_from, vocab, bottleneck;
} state_hdr;

/* The run's progress into a header (the fields a resume restores and the
 * identity a resume checks) ... */
static void state_to_hdr(const train_ctx *t, state_hdr *h)
{
	memset(h, 0, sizeof *h);
	memcpy(h->magic, STATE_MAGIC, 8);
	h->step = t->step;
	h->best_step = t->best_step;
	h->adam_step_t = t->st_t.step;
	h->adam_step_b = t->st_b.step;
	h->skipped_total = t->skipped_total;
	h->train_run_id = t->train_run_id;
	h->steps = t->o->steps;
	h->rng = t->rng;
	h->seed = t->o->seed;
	h->train_numel = t->m->train_numel;
	h->base_numel = t->base_trains ? t->m->base_numel : 0;
	h->best_cer = t->best_cer;
	h->best_wer = t->best_wer;
	h->best_loss = t->best_loss;
	h->lr = t->o->lr;
	h->bad_evals = t->bad_evals;
	h->base_from = t->o->base_from;
	h->vocab = t->m->cfg.vocab_size;
	h->bottleneck = t->m->cfg.adapter_attn_dim;
}

/* ... and back: the progress fields only (train_ckpt_load_state, train_ckpt_share_state). */
static void state_from_hdr(train_ctx *t, const state_hdr *h)
{
	t->step = h->step;
	t->best_step = h->best_step;
	t->st_t.step = h->adam_step_t;
	t->st_b.step = h->adam_step_b;
	t->skipped_total = h->skipped_total;
	t->train_run_id = h->train_run_id;
	t->rng = h->rng;
	t->best_cer = h->best_cer;
	t->best_wer = h->best_wer;
	t->best_loss = h->best_loss;
	t->bad_evals = h->bad_evals;
}

/* The float blocks of the state, in file order: weights, Adam m and v of
 * the trainable group (nt floats each), then of the trained base tensors
 * (nb each, when nb > 0).  Returns how many (3 or 6). */
static int state_blocks(train_ctx *t, size_t nt, size_t nb, float *blk[6], size_t n[6])
{
	float *all[6] = { t->m->train, t->st_t.m, t->st_t.v, t->m->base, t->st_b.m, t->st_b.v };
	int k = nb ? 6 : 3;
	for (int i = 0; i < k; i++) {
		blk[i] = all[i];
		n[i] = i < 3 ? nt : nb;
	}
	return k;
}

/* The blocks after the header written (write) or read; 0, or -1 when one
 * is short. */
static int state_floats(train_ctx *t, const state_hdr *h, FILE *fp, int write)
{
	float *blk[6];
	size_t n[6];
	int bad = 0, k = state_blocks(t, h->train_numel, h->base_numel, blk, n);
	for (int i = 0; i < k; i++)
		bad |= (write ? fwrite(blk[i], sizeof(float), n[i], fp) : fread(blk[i], sizeof(float), n[i], fp)) != n[i];
	return bad ? -1 : 0;
}

int train_ckpt_save_state(train_ctx *t)
{
	char path[4096], tmp[4096];
	FILE *fp = NULL;
	int rc;
	if (dist_rank() > 0)
		return 0;   /* rank 0 writes (mpirun) */
	fs_join(path, sizeof path, t->o->out_dir, "train_state.bin");
	if ((rc = fs_open_tmp(path, tmp, &fp)))
		return rc;
	state_hdr h;
	state_to_hdr(t, &h);
	int bad = fwrite(&h, sizeof h, 1, fp) != 1;
	bad |= state_floats(t, &h, fp, 1);
	if (bad) {
		fs_abort_tmp(fp, tmp);
		return err_set(ACC_EIO, "cannot write %s", tmp);
	}
	return fs_commit_tmp(fp, tmp, path);
}

int train_ckpt_load_state(train_ctx *t)
{
	char path[4096];
	int rc = 0;
	if (dist_rank() > 0)
		return 0;   /* rank 0 reads, train_ckpt_share_state() hands it on */
	fs_join(path, sizeof path, t->o->out_dir, "train_state.bin");
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return err_set(ACC_ENOTFOUND, "no resume state %s", path);
	state_hdr h;
	if (fread(&h, sizeof h, 1, fp) != 1 || memcmp(h.magic, STATE_MAGIC, 8)) {
		rc = err_set(ACC_EFORMAT, "%s is not a training state file", path);
		goto out;
	}
	if (h.train_numel != t->m->train_numel || h.base_numel != (t->base_trains ? t->m->base_numel : 0) ||
	    h.base_from != t->o->base_from || h.vocab != t->m->cfg.vocab_size ||
	    h.bottleneck != t->m->cfg.adapter_attn_dim || h.seed != t->o->seed || h.steps != t->o->steps ||
	    h.lr != t->o->lr) {
		rc = err_set(ACC_EINVAL, "%s was written by a run with other options (steps, lr, seed, strategy, "
		             "vocabulary or adapter size differ)", path);
		err_hint("resume with the options of the interrupted run, or use another --out directory");
		goto out;
	}
	int bad = state_floats(t, &h, fp, 0);
	if (bad) {
		rc = err_set(ACC_EFORMAT, "%s is truncated", path);
		goto out;
	}
	state_from_hdr(t, &h);
out:
	fclose(fp);
	return rc;
}

int train_ckpt_share_state(train_ctx *t)
{
	if (dist_size() <= 1)
		return 0;
	state_hdr h;
	state_to_hdr(t, &h);
	float *blk[6];
	size_t n[6];
	int k = state_blocks(t, t->m->train_numel, t->base_trains ? t->m->base_numel : 0, blk, n);
	int rc = dist_bcast(&h, sizeof h, 0);
	for (int i = 0; i < k && !rc; i++)
		rc = dist_bcast(blk[i], sizeof(float) * n[i], 0);
	if (rc)
		return rc;
	state_from_hdr(t, &h);
	return 0;
}
