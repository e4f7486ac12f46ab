/*
 * w2v_save.c — writing a wav2vec2 model directory or an MMS adapter file in
 * the exact Hugging Face layout, so that transformers'
 * Wav2Vec2ForCTC.from_pretrained() and load_adapter() read what we write.
 *
 * The positional conv is stored the way current transformers saves it
 * (parametrizations.weight.original0 = g [1,1,K], original1 = v): g is the
 * per-tap norm of the folded weight and v the folded weight itself, so
 * g * v / ||v|| reproduces it to rounding.
 */
#include "model/w2v.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "model/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

#define POSCONV "wav2vec2.encoder.pos_conv_embed.conv."

static const float *tensor_data(const w2v_model *m, const w2v_tensor *t)
{
	return (t->group == W2V_GROUP_BASE ? m->base : m->train) + t->offset;
}

static safetensors_dtype st_dtype(int dtype)
{
	return dtype == W2V_SAVE_BF16 ? ST_BF16 : dtype == W2V_SAVE_F16 ? ST_F16 : ST_F32;
}

int w2v_save(const w2v_model *m, const char *dir, int dtype)
{
	char path[4096];
	safetensors_writer *w = NULL;
	float *g = NULL;
	int rc;
	if (dtype != W2V_SAVE_F32 && dtype != W2V_SAVE_BF16 && dtype != W2V_SAVE_F16)
		return err_set(ACC_EINVAL, "w2v_save: bad dtype %d", dtype);
	if (m->base_released)   /* its fp32 weights live only as packed copies now */
		return err_set(ACC_EINVAL, "w2v_save: this model's base weights were released for bf16/int8 use "
		               "and cannot be saved");
	if (fs_mkdir_p(dir))
		return err_set(ACC_EIO, "cannot create model directory '%s'", dir);
	if ((rc = w2v_config_write(&m->cfg, m->config_json, dir)) ||
	    (rc = w2v_preproc_write(&m->cfg, m->preproc_json, dir)))
		return err_wrap(rc, "%s", dir);
	if ((rc = fs_join(path, sizeof path, dir, "model.safetensors")))
		return rc;
	if ((rc = safetensors_writer_new(&w)) || (rc = safetensors_writer_meta(w, "format", "pt")))
		goto out;
	safetensors_dtype sd = st_dtype(dtype);
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *t = &m->tensors[i];
		if (!t->present)
			continue;
		const float *d = tensor_data(m, t);
		if (t->flags & W2V_T_POSCONV) {
			int64_t O = t->shape[0], I = t->shape[1], K = t->shape[2];
			if (!(g = malloc(K * sizeof *g))) {
				rc = err_set(ACC_ENOMEM, "out of memory");
				goto out;
			}
			for (int64_t k = 0; k < K; k++) {
				double ss = 0;
				for (int64_t j = 0; j < O * I; j++)
					ss += (double)d[j * K + k] * d[j * K + k];
				g[k] = (float)sqrt(ss);
			}
			int64_t gs[3] = {1, 1, K};
			if ((rc = safetensors_writer_add_f32(w, POSCONV "parametrizations.weight.original0", sd, 3, gs, g)) ||
			    (rc = safetensors_writer_add_f32(w, POSCONV "parametrizations.weight.original1", sd, 3, t->shape, d)))
				goto out;
			continue;
		}
		if ((rc = safetensors_writer_add_f32(w, t->name, sd, t->ndim, t->shape, d)))
			goto out;
	}
	rc = safetensors_writer_write(w, path);
out:
	safetensors_writer_free(w);
	free(g);
	return rc;
}

int w2v_save_adapter(const w2v_model *m, const char *path)
{
	safetensors_writer *w = NULL;
	int rc;
	if (!m->cfg.adapter_attn_dim)
		return err_set(ACC_EINVAL, "cannot save an adapter: the model has no adapter layers");
	if ((rc = safetensors_writer_new(&w)) || (rc = safetensors_writer_meta(w, "format", "pt")))
		goto out;
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *t = &m->tensors[i];
		if (!(t->flags & W2V_T_ADAPTER))
			continue;
		if ((rc = safetensors_writer_add_f32(w, t->name, ST_F32, t->ndim, t->shape, tensor_data(m, t))))
			goto out;
	}
	rc = safetensors_writer_write(w, path);
out:
	safetensors_writer_free(w);
	return rc;
}
