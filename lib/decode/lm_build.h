/*
 * lm_build.h — estimating a word n-gram model with interpolated modified
 * Kneser-Ney smoothing (Chen & Goodman 1998, as KenLM's lmplz does it),
 * producing an in-memory ARPA model (arpa.h) that arpa_write() saves.
 *
 * Estimation, for each order n = 1..N over sentences padded as
 * "<s> w1 .. wk </s>":
 *   adjusted count a(g) = raw count when n = N or g starts with <s>, else the
 *     number of distinct words v with "v g" seen (continuation count);
 *   discounts from the count-of-counts t_k of adjusted counts (k = 1..4):
 *     Y = t1/(t1 + 2 t2), D1 = 1 - 2Y t2/t1, D2 = 2 - 3Y t3/t2, D3+ = 3 - 4Y t4/t3;
 *     when a t_k is 0 or a discount falls outside (0, k] (tiny corpora) the
 *     fallback 0.5, 1.0, 1.5 is used (lmplz --discount_fallback) and reported;
 *   for g = h w: u(g) = (a(g) - D(a(g))) / sum_x a(h x),
 *     gamma(h) = (D1 N1(h) + D2 N2(h) + D3+ N3+(h)) / sum_x a(h x),
 *     p(w | h) = u(g) + gamma(h) p(w | h minus its first word), with the
 *     unigrams interpolated with the uniform 1/|V| (|V| counts <unk> and
 *     </s>, not <s>);
 *   ARPA back-off of h = log10 gamma(h); <s> gets log10 p = -99.
 */
#pragma once
#include "decode/arpa.h"
#include "manifest/manifest.h"
#include <stdint.h>

typedef struct lm_build lm_build;

typedef struct lm_build_stats {
	int      order;
	uint64_t sentences, tokens;            /* tokens: words, not counting <s> </s> */
	uint64_t ngrams[ARPA_MAX_ORDER];       /* n-grams per order in the model */
	uint64_t coc[ARPA_MAX_ORDER][4];       /* t1..t4 of adjusted counts per order */
	double   discount[ARPA_MAX_ORDER][3];  /* D1, D2, D3+ per order */
	int      fallback[ARPA_MAX_ORDER];     /* 1 when the fallback discounts were used */
} lm_build_stats;

/* A builder for an order-N model (1..ARPA_MAX_ORDER). */
int lm_build_new(lm_build **b, int order);
void lm_build_free(lm_build *b);

/* Count one sentence of whitespace-separated words (already normalized).
 * Empty sentences are ignored; the words <s>, </s> inside a sentence are
 * rejected (ACC_EINVAL) because they would corrupt the padding. */
int lm_build_add(lm_build *b, const char *sentence);

/* Estimate the model.  *lm is a new model the caller frees with arpa_free;
 * st (optional) receives the counts and discounts.  ACC_EINVAL when no
 * sentence was added. */
int lm_build_estimate(lm_build *b, arpa **lm, lm_build_stats *st);

/* ---- with the manifest ---- */

/* Add the normalized transcripts (utterances.text_norm) of one language and
 * split, status 'ok', in id order.  Only the split named is read, so building
 * from 'train' never sees dev/test text.  *n (optional) gets the number of
 * sentences added. */
int lm_build_add_manifest(lm_build *b, manifest *m, const char *lang, const char *split, uint64_t *n);

/* Perplexity of the model on the transcripts of a language and split. */
int lm_ppl_manifest(const arpa *lm, manifest *m, const char *lang, const char *split, arpa_ppl *acc);

/* Record a built model in lm_models (schemas/eval.sql); acc may be NULL
 * when no perplexity was measured.  *id (optional) gets the row id. */
int lm_record(manifest *m, int64_t run_id, const char *path, const char *lang, const arpa *lm,
	      const lm_build_stats *st, const arpa_ppl *dev, int64_t *id);
