/*
 * vocab.h — the CTC vocabulary of a wav2vec2/MMS model and its tokenizer,
 * with the semantics of Hugging Face's Wav2Vec2CTCTokenizer.
 *
 * vocab.json is either flat {token: id} or MMS-nested {lang: {token: id}};
 * a nested file is read for one language.  Encoding splits text into Unicode
 * code points (multi-character vocabulary tokens such as "<unk>" are kept
 * whole, as HF adds them as no-split tokens), a space becomes the word
 * delimiter "|", a character missing from the vocabulary becomes "<unk>" and
 * is reported so the aligner can apply its policy (never a silent drop).
 * Decoding is CTC style: optional grouping of repeats, blank (= pad) dropped,
 * "|" -> space, result stripped of outer spaces.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct vocab vocab;

/* Load vocab.json.  lang selects vocab[lang] of a nested file; with lang NULL
 * the file must be flat (a nested one is an ACC_EINVAL error listing the
 * languages it holds).  A flat file is accepted with any lang (it is the
 * vocabulary of one language).  Ids must be dense 0..n-1 and distinct.
 * Errors: ACC_EIO/ACC_ENOTFOUND (file), ACC_EFORMAT (JSON, ids),
 * ACC_ENOTFOUND (language missing: message lists the available ones). */
int vocab_load(vocab **v, const char *vocab_json_path, const char *lang);

/* Build a vocabulary from tokens in id order (tokens[i] gets id i). */
int vocab_from_tokens(vocab **v, const char *const *tokens, int n);

/* Build a new language's vocabulary from normalized transcripts the way the
 * MMS recipe does: <pad>=0, <s>, </s>, <unk>, "|", then every distinct code
 * point of texts (space excluded) in code point order. */
int vocab_build_from_texts(vocab **v, const char *const *texts, int ntexts);

void vocab_free(vocab *v);

/* Number of ids (the model's lm_head size). */
int vocab_size(const vocab *v);
/* Id of a token (UTF-8), -1 when absent. */
int vocab_id(const vocab *v, const char *token);
/* Token of an id, NULL when out of range. */
const char *vocab_token(const vocab *v, int id);
/* Special ids: blank/pad ("<pad>", else 0), "<unk>" (-1 when absent) and the
 * word delimiter "|" (-1 when absent). */
int vocab_pad_id(const vocab *v);
int vocab_unk_id(const vocab *v);
int vocab_delim_id(const vocab *v);

/* One character of a text that the vocabulary does not hold. */
typedef struct vocab_oov_char {
	char    ch[8];     /* UTF-8 code point, NUL-terminated */
	int64_t count;     /* occurrences */
} vocab_oov_char;

/* Characters missing from the vocabulary, in first-seen order. */
typedef struct vocab_oov {
	vocab_oov_char *chars;
	int             n;
	size_t          cap;
	int64_t         total;   /* total missing occurrences */
} vocab_oov;

/* Encode UTF-8 text to ids like Wav2Vec2CTCTokenizer(text).input_ids.  *ids is
 * malloc'ed (may be NULL when *n == 0).  Missing characters become <unk>
 * (or are still counted and encoded as -1 when the vocabulary has no <unk>;
 * callers decide) and are added to oov when given (accumulates across calls).
 * ACC_EFORMAT for invalid UTF-8. */
int vocab_encode(const vocab *v, const char *text, int **ids, int64_t *n, vocab_oov *oov);
/* The same, with missing characters encoded as oov_id (e.g. a marker the
 * caller replaces by policy) instead of <unk>. */
int vocab_encode_ex(const vocab *v, const char *text, int **ids, int64_t *n, vocab_oov *oov, int oov_id);

/* Decode ids like tokenizer.decode(ids, group_tokens=group): group repeats
 * (when group), drop blank, "|" -> " ", strip outer spaces.  Unknown ids
 * decode to "<unk>".  *out is malloc'ed. */
int vocab_decode(const vocab *v, const int *ids, int64_t n, int group, char **out);

void vocab_oov_free(vocab_oov *o);
/* Add src's characters and counts into dst. */
int vocab_oov_merge(vocab_oov *dst, const vocab_oov *src);
/* Order by count, most frequent first (ties: first seen first). */
void vocab_oov_sort(vocab_oov *o);
/* Short "x×3, ü×1" description of oov into buf (truncated with "..."). */
void vocab_oov_describe(const vocab_oov *o, char *buf, size_t cap);

/* Write v as language lang into the nested vocab.json at path, keeping every
 * other language as it is (created when the file does not exist).  A flat
 * existing file is an ACC_EUNSUPPORTED error.  Written atomically. */
int vocab_save_merged(const vocab *v, const char *vocab_json_path, const char *lang);

/* Write v as a flat (single-language) vocab.json {token: id} in id order,
 * non-ASCII escaped, replacing path atomically. */
int vocab_save_flat(const vocab *v, const char *vocab_json_path);

/* Language codes of a nested vocab.json (malloc'ed array of malloc'ed
 * strings); *n = 0 for a flat file. */
int vocab_languages(const char *vocab_json_path, char ***langs, int *n);
