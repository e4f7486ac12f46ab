/*
 * arpa.h — word n-gram language models in the ARPA back-off format (as
 * written by KenLM's lmplz, SRILM, IRSTLM): load any order, query log10
 * probabilities with back-off, build in memory and write.
 *
 * Model: for a context h = w1..wk and a word w,
 *     log10 p(w | h) = prob(h w)                    when the n-gram h w is listed,
 *                    = backoff(h) + log10 p(w | w2..wk)   otherwise,
 * with backoff(h) = 0 for a context that is not listed.  Words unknown to the
 * model score as <unk> when the model lists it, else ARPA_OOV_LOGP.
 *
 * Storage: one open-addressing hash table per order over word-id tuples;
 * memory is about (4n + 16) bytes per n-gram of order n.  Read-only after
 * loading, so one model may be queried from several threads.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARPA_MAX_ORDER 16
/* Score of a word the model does not know and has no <unk> for (as KenLM). */
#define ARPA_OOV_LOGP (-100.0f)

typedef struct arpa arpa;

/* A query context: the last len (< order) words, oldest first. */
typedef struct arpa_state {
	int     len;
	int32_t w[ARPA_MAX_ORDER - 1];
} arpa_state;

/* Load an ARPA file.  Malformed input gives ACC_EFORMAT with a message
 * "<path>:<line>: ..." naming the problem (bad counts, missing \end\, wrong
 * number of fields, non-numeric value, n-gram of the wrong order, unknown
 * word, duplicates, count mismatches).  ACC_EIO/ACC_ENOTFOUND when the file
 * cannot be read. */
int arpa_load(arpa **lm, const char *path);
/* The same from an open stream; name is used in messages. */
int arpa_read(arpa **lm, FILE *fp, const char *name);

/* Write the model as ARPA text (atomically: temporary name + rename).
 * Probabilities are written with 9 significant digits, so loading the file
 * again gives bit-identical float values. */
int arpa_write(const arpa *lm, const char *path);
int arpa_write_stream(const arpa *lm, FILE *fp);

void arpa_free(arpa *lm);

/* Build a model by hand (used by lm_build and tests): an empty model of the
 * given order; words and n-grams are added with the calls below. */
int arpa_new(arpa **lm, int order);
/* Add (or find) a word; *id receives its id.  Words must be non-empty and
 * free of whitespace.  "<s>", "</s>" and "<unk>" are recognized. */
int arpa_add_word(arpa *lm, const char *word, int32_t *id);
/* Add the n-gram ids[0..n-1] (oldest first) with its log10 probability and
 * back-off weight (0 for none).  ACC_EINVAL on a duplicate or bad id. */
int arpa_add_ngram(arpa *lm, int n, const int32_t *ids, float logp, float backoff);

int arpa_order(const arpa *lm);
/* Number of n-grams of order n (1..order). */
uint64_t arpa_count(const arpa *lm, int n);
/* Vocabulary: ids are 0..arpa_vocab_size()-1 in order of appearance. */
int32_t arpa_vocab_size(const arpa *lm);
const char *arpa_word(const arpa *lm, int32_t id);
/* Id of a word, -1 when the model does not know it. */
int32_t arpa_word_id(const arpa *lm, const char *word);
/* Ids of <s>, </s>, <unk>; -1 when absent. */
int32_t arpa_bos(const arpa *lm);
int32_t arpa_eos(const arpa *lm);
int32_t arpa_unk(const arpa *lm);

/* Look an n-gram up: 1 when listed (prob/backoff filled, may be NULL),
 * 0 when not. */
int arpa_find(const arpa *lm, int n, const int32_t *ids, float *logp, float *backoff);
/* The i-th n-gram of order n in insertion order (0 <= i < arpa_count()). */
void arpa_ngram_at(const arpa *lm, int n, uint64_t i, const int32_t **ids, float *logp, float *backoff);

/* The n-gram hash index, shared with lm_build's count tables: an
 * open-addressing index over tuples of n word ids stored back to back
 * (entry i at tuples + i * n); a slot holds entry + 1, 0 = empty; mask is
 * the number of slots - 1 (a power of two).
 * arpa_index_find: the entry of ids[0..n-1], -1 when absent (index may be
 * NULL: empty).  arpa_index_rebuild: replace *index by one of `slots` slots
 * over entries 0..count-1; ACC_ENOMEM without a message (the caller says
 * what it was indexing).  arpa_index_put: add entry e, whose tuple is ids,
 * to an index with a free slot. */
int64_t arpa_index_find(const uint32_t *index, uint64_t mask, const int32_t *tuples, int n, const int32_t *ids);
int arpa_index_rebuild(uint32_t **index, uint64_t *mask, uint64_t slots, const int32_t *tuples, uint64_t count, int n);
void arpa_index_put(uint32_t *index, uint64_t mask, const int32_t *ids, int n, uint64_t e);

/* log10 p(w | ctx[0..n_ctx-1]) with back-off; contexts longer than
 * order-1 use their last order-1 words.  w < 0 (unknown) scores as <unk>
 * or ARPA_OOV_LOGP. */
float arpa_logp(const arpa *lm, const int32_t *ctx, int n_ctx, int32_t w);

/* State interface for decoders: a sentence starts in the <s> context
 * (arpa_state_begin) or the empty one (arpa_state_null); arpa_score()
 * returns log10 p(w | in) and the context after w in out (out may be in).
 * After an unknown word the context restarts (as after a sentence start
 * without <s>). */
void arpa_state_begin(const arpa *lm, arpa_state *s);
void arpa_state_null(arpa_state *s);
float arpa_score(const arpa *lm, const arpa_state *in, int32_t w, arpa_state *out);

/* Perplexity accumulation over sentences of whitespace-separated words:
 * each sentence is scored from <s> through </s>. */
typedef struct arpa_ppl {
	double   logp;        /* sum of log10 p over in-vocabulary words and </s> */
	double   logp_oov;    /* sum of log10 p given to unknown words (<unk> or ARPA_OOV_LOGP) */
	uint64_t sentences;
	uint64_t words;       /* words, not counting </s> */
	uint64_t oov;         /* words unknown to the model */
} arpa_ppl;
/* Score one sentence into acc.  ACC_ENOMEM only. */
int arpa_ppl_add(const arpa *lm, const char *sentence, arpa_ppl *acc);
/* Sentence tokenization (also lm_build's): the next whitespace-separated
 * word at *p, NULL when none is left; *len gets its length and *p moves past
 * it. */
const char *arpa_next_word(const char **p, size_t *len);
/* Perplexity excluding unknown words (SRILM's "ppl"): 10^(-logp / (words -
 * oov + sentences)); including them (KenLM's "Perplexity including OOVs"):
 * 10^(-(logp+logp_oov) / (words + sentences)). */
double arpa_ppl_value(const arpa_ppl *acc);
double arpa_ppl_value_with_oov(const arpa_ppl *acc);
