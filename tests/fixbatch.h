/*
 * fixbatch.h — the Hugging Face fixture's 2-utterance batch as a training
 * batch for the model tests (header-only, like testrand.h): the golden
 * input_values of tests/data/hf-wav2vec2/<model>/golden.safetensors, the
 * second utterance padded (11,000 of 16,000 samples, so the attention mask
 * is in use), and a short synthetic CTC target per utterance; and the
 * masked_spec_embed the fixtures lack, for the SpecAugment tests.
 */
#pragma once
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model/safetensors.h"
#include "model/w2v.h"

typedef struct fix_batch {
	float *x;          /* [B, n], malloc'ed */
	int B, n;
	int64_t len[2];    /* valid samples per utterance */
	int tgt[2 * 64];   /* targets, utterance b at b * S */
	int64_t tlen[2];
	int S;             /* target stride */
} fix_batch;

/* Load the batch of the fixture in dir: 0, or -1 when the file or tensor
 * is missing. */
static inline int fix_batch_load(const char *dir, fix_batch *bt)
{
	char p[256];
	safetensors_file *g = NULL;
	snprintf(p, sizeof p, "%s/golden.safetensors", dir);
	if (safetensors_open(&g, p))
		return -1;
	size_t ne = 0;
	int rc = safetensors_read_f32(g, "input_values", 2, (int64_t[]){ 2, 16000 }, &bt->x, &ne);
	safetensors_close(g);
	if (rc)
		return -1;
	bt->B = 2;
	bt->n = 16000;
	bt->len[0] = 16000;
	bt->len[1] = 11000;
	bt->S = 6;
	for (int b = 0; b < 2; b++) {
		bt->tlen[b] = 6 - b;
		for (int s = 0; s < 6; s++)
			bt->tgt[b * 6 + s] = 1 + (s * 3 + b) % 4;
	}
	return 0;
}

/* Make masked_spec_embed present (the fixtures have masking off): its
 * slice of the base block exists, the loader left it unbound; filled with
 * a smooth non-zero pattern. */
static inline void fix_give_spec_embed(w2v_model *m)
{
	for (int i = 0; i < m->n_tensors; i++)
		if (!strcmp(m->tensors[i].name, "wav2vec2.masked_spec_embed")) {
			m->tensors[i].present = 1;
			m->p.masked_spec_embed = m->base + m->tensors[i].offset;
		}
	for (int h = 0; h < m->cfg.hidden_size; h++)
		m->p.masked_spec_embed[h] = 0.5f * sinf(0.7f * h + 0.3f);
}
