/*
 * align_label.h — the words as written.  Alignment runs on the normalized
 * transcript (text_norm: lower case, punctuation removed, ...), but word
 * labels in every export should read as the user wrote them ("Hello," not
 * "hello").  This maps each normalized word back to its span of the raw
 * transcript (text_raw).
 *
 * The mapping rule.  The raw text is cut at whitespace into written tokens;
 * each token is normalized on its own with the utterance's profile (name
 * and options from its stored profile identity, e.g. "default-eng").  When
 * the concatenated words of the tokens equal the normalized transcript word
 * for word, the mapping is exact and:
 *   - a token that normalizes to one word labels that word ("Hello," ->
 *     "hello" gets "Hello,");
 *   - a token that normalizes to nothing (punctuation alone: "-", "&") is
 *     attached, after a space, to the label of the previous labelled token
 *     (before the next one when it comes first): "well -" ;
 *   - a token that normalization split into several words ("rock-n-roll" ->
 *     "rock n roll" under a profile that turns hyphens into spaces) labels
 *     its first word; the following words of that token get the label ""
 *     (= "continues the previous word's token"): exports merge them into
 *     one item spanning all of them.
 * When the words differ (a rule file that joins or rewrites across tokens,
 * text normalized with a profile this build cannot reproduce), every label
 * is the normalized word itself (*mapped = 0): labels are never wrong, at
 * worst normalized.  The normalized words themselves stay in
 * align_words.word and JSON's "norm".
 */
#pragma once
#include <stdint.h>

typedef struct align_labeler align_labeler;  /* caches one compiled profile */

int align_labeler_open(align_labeler **l);
void align_labeler_close(align_labeler *l);

/* Labels for the whitespace-separated words of norm (*n of them; *labels
 * malloc'ed, each label malloc'ed; free with align_label_free).  profile is
 * the stored norm_profile identity (NULL or unknown: no mapping), raw the
 * transcript as written (NULL: no mapping).  *mapped (may be NULL) says
 * whether the rule applied.  <0 only for out of memory. */
int align_label_map(align_labeler *l, const char *raw, const char *norm, const char *profile, char ***labels,
		    int64_t *n, int *mapped);
void align_label_free(char **labels, int64_t n);

/* Split s at whitespace into *n malloc'ed words (*words malloc'ed). */
int align_label_split(const char *s, char ***words, int64_t *n);
