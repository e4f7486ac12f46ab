/*
 * align_tokens.h — a transcript turned into the token ids forced alignment
 * needs: characters through the model's vocabulary, spaces as the word
 * delimiter, and characters the vocabulary lacks handled by an explicit
 * out-of-vocabulary policy (never dropped silently).  Pure: no database,
 * no model; unit-tested in tests/test_align_stage.c.
 */
#pragma once
#include <stdint.h>

#include "model/vocab.h"

/* What to do with characters the vocabulary lacks (never a silent drop). */
typedef enum align_oov_policy {
	ALIGN_OOV_UNK = 0,       /* map to <unk> (to <star> when the vocabulary has no <unk>) */
	ALIGN_OOV_STAR = 1,      /* map to the <star> wildcard */
	ALIGN_OOV_ROMANIZE = 2,  /* romanize the text (ICU Any-Latin; Latin-ASCII), then <unk> */
	ALIGN_OOV_ERROR = 3,     /* flag the utterance and do not align it */
} align_oov_policy;

/* Parse "unk", "star", "romanize", "error" (ACC_EINVAL with a hint). */
int align_oov_parse(const char *s, align_oov_policy *p);
/* The policy's name as align_oov_parse reads it ("?" when out of range). */
const char *align_oov_name(align_oov_policy p);

/* Transcript -> token ids for alignment: characters through the vocabulary
 * (space -> '|', runs of spaces collapsed, edges trimmed), missing
 * characters per policy and counted in oov (an ALIGN_OOV_ERROR policy still
 * returns 0 with oov filled; the caller flags).  star_id = V when <star> may
 * be used.  *text_used (malloc'ed) is the text actually tokenized (romanized
 * under that policy).  *ids malloc'ed. */
int align_tokens(const vocab *v, const char *text, align_oov_policy pol, int star_id, int **ids, int64_t *n,
		 vocab_oov *oov, char **text_used);
