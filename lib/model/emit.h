/*
 * emit.h — the one emitter: a model directory turned into CTC
 * log-probabilities for 16 kHz audio (whole-utterance forward for ordinary
 * clips, exactly HF's single-utterance forward; windowed beyond 40 s so
 * recordings of any length work in bounded memory), its blank id, and the
 * one greedy (best-path) decoder over log-probabilities.  align run,
 * align file, transcribe, train eval and training's validation all read
 * emissions and best paths through here; and the model directory's identity
 * (the hash that says when stored alignments are stale).
 */
#pragma once
#include <stdint.h>
#include "model/w2v_precision.h"

/* An emitter.  The function pointers let tests substitute a synthetic
 * emission source; emitter_open fills them with the model's forward. */
typedef struct emitter {
	int   V, blank;
	/* lp [T, V] log-probs for x[0..n) (16 kHz mono); *lp malloc'ed, *T = 0
	 * when the audio is shorter than the model's receptive field. */
	int (*emit)(void *ctx, const float *x, int64_t n, float **lp, int64_t *T);
	void (*close)(void *ctx);
	void *ctx;
	w2v_precision precision;   /* resolved (never auto) */
	char precision_why[160];   /* why auto chose it, or "asked for" */
} emitter;

/* An emitter on a model directory (HF layout; lang selects the adapter and
 * vocabulary) computing in precision prec (w2v_precision.h; auto resolved
 * here, the choice in e->precision).  Clear errors for a missing adapter. */
int emitter_open(emitter *e, const char *model_dir, const char *lang, w2v_precision prec);
void emitter_close(emitter *e);

/* The best path: ids[t] = argmax over the first V entries of row t of lp
 * (rows stride floats apart, stride >= V), the lowest id on ties — the
 * rule of HF's argmax and of every greedy decode in the project. */
void emit_greedy(const float *lp, int64_t T, int V, int64_t stride, int *ids);

/* Model identity (what makes stored emissions-derived results stale):
 * SHA-256 hex over config.json, vocab.json, the adapter file of lang (when
 * present; lang may be NULL) and, for each weight file (model.safetensors
 * or the shards of its index), its name, size and first MiB.  ACC_ENOTFOUND
 * without config.json or weights, ACC_EIO when one cannot be read. */
int emit_model_id(const char *model_dir, const char *lang, char hex[65]);
