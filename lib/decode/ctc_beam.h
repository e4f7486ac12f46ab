/*
 * ctc_beam.h — decoding CTC emissions to text: greedy (best path) and
 * prefix beam search with a word-level n-gram language model.
 *
 * Prefix beam search (Hannun et al. 2014; the scoring of pyctcdecode and
 * flashlight's lexicon-free decoder): every hypothesis is a token prefix with
 * two acoustic log-probabilities, ending in blank (pb) and ending in a token
 * (pnb), summed over all CTC paths that collapse to it.  Its total score is
 *     log(e^pb + e^pnb) + sum over completed words of
 *         (alpha * ln(10) * log10 P_lm(word | previous words) + beta)
 * where a word is completed by the word delimiter token ("|") or by the end
 * of the utterance (which also scores </s>).  Per frame only the most
 * probable tokens are tried (top_k, and the smallest set whose probability
 * reaches cutoff_prob); the best `beam` prefixes within beam_prune of the
 * best are kept.
 *
 * Words: a prefix trie built from the LM's vocabulary (spelled with the
 * model's tokens) tracks the partial word.  A partial word that leaves the
 * trie is charged unk_penalty (log10 units, scaled by alpha) at once, and
 * unk_char_penalty for each of its characters (a crude spelling model), so
 * the search cannot avoid word-end LM costs by gluing words together; with
 * lexicon = 1 and allow_unk = 0 it is dropped instead.  An unknown word also
 * scores the LM's <unk> when it has one.  With lookahead, a partial word in
 * the trie is scored (for pruning only) by the best unigram log-probability
 * of the words it can still become (flashlight's "smearing"); the real LM
 * score replaces it when the word ends.
 *
 * Deterministic: ties are broken by prefix creation order, which only
 * depends on the input.  Emissions are log-probabilities (log-softmax
 * output), T frames by V tokens, row stride `stride` floats.
 */
#pragma once
#include "decode/arpa.h"

typedef struct ctc_beam_opts {
	int   beam;          /* prefixes kept per frame (default 16) */
	float alpha;         /* LM weight (default 0.5) */
	float beta;          /* bonus per word, natural log (default 1.0) */
	int   top_k;         /* at most this many tokens tried per frame; 0 = all (default 40) */
	float cutoff_prob;   /* tokens tried until their probability sums to this (default 0.999; 1 = all) */
	int   lexicon;       /* 1 = words must be spelled as in the LM vocabulary (default 0) */
	int   allow_unk;     /* with lexicon: allow other words at unk_penalty (default 1) */
	float unk_penalty;   /* log10 penalty for a word the LM does not know (default -10) */
	float unk_char_penalty; /* log10 penalty per character of such a word (default -0.5) */
	float beam_prune;    /* drop prefixes scoring this far (natural log) below the best; 0 = off (default -10) */
	int   lookahead;     /* 1 = score a partial word by the best unigram it can still become (default 1) */
	int   max_nodes;     /* prefix-tree size that triggers dropping nodes no hypothesis uses (default 2^19, min 1024):
	                      * memory stays bounded on long recordings, results are unchanged */
} ctc_beam_opts;

void ctc_beam_defaults(ctc_beam_opts *o);

typedef struct ctc_decoder ctc_decoder;

/* A decoder for a token inventory (tokens[i] = UTF-8 string of id i; NULL
 * = never emitted), the CTC blank id and the word delimiter id (-1 when the
 * vocabulary has none: the whole output is one word).  lm may be NULL
 * (acoustic beam search; beta still applies per word).  The decoder keeps
 * pointers to tokens and lm: they must outlive it.  ACC_EINVAL for bad ids
 * or options (lexicon without an LM). */
int ctc_decoder_new(ctc_decoder **d, const char *const *tokens, int n_tokens, int blank, int delim,
		    const arpa *lm, const ctc_beam_opts *opts);
void ctc_decoder_free(ctc_decoder *d);

/* Number of LM words the lexicon trie holds (words not spellable with the
 * tokens are left out). */
int ctc_decoder_lexicon_words(const ctc_decoder *d);

/* How many times the last decode compacted its prefix tree (max_nodes). */
int ctc_decoder_compactions(const ctc_decoder *d);

/* Decode one utterance: logp is T x n_tokens log-probabilities with row
 * stride `stride` (>= n_tokens).  *text is malloc'ed (words separated by
 * single spaces, no outer spaces); score (optional) gets the final total
 * score.  T = 0 gives "". */
int ctc_decoder_decode(ctc_decoder *d, const float *logp, int T, int stride, char **text, double *score);

/* Greedy decoding: per-frame argmax (lowest id on ties), repeats merged,
 * blanks dropped, delimiter -> space, spaces collapsed and trimmed (as
 * Hugging Face's tokenizer does, modulo repeated spaces).  NULL tokens are
 * dropped.  *text is malloc'ed. */
int ctc_greedy(const float *logp, int T, int n_tokens, int stride, const char *const *tokens, int blank,
	       int delim, char **text);
