/*
 * ctc_words.h — word and character timestamps with confidences from the
 * greedy CTC path, as Hugging Face's Wav2Vec2CTCTokenizer computes
 * output_char_offsets / output_word_offsets: the argmax ids per 20 ms frame
 * are grouped into runs of one id; a run of a non-blank id is a character
 * from its first frame to the end of its last frame; runs of the word
 * delimiter separate words (they are not characters); a word spans its
 * first character's start to its last character's end.  Sentence markers
 * (<s>, </s>) are dropped as the tokenizer drops special tokens; <unk>
 * stays a character.  Confidence: the mean probability of the path's id
 * over a character's frames (exp of the log-prob); a word's is the
 * frame-weighted mean over its characters.  Times are seconds from frame 0.
 */
#pragma once
#include <stdint.h>

#include "align/align_export.h"
#include "model/vocab.h"

/* Words and characters of the greedy path of lp [T, V] (row stride V).
 * Item arrays are malloc'ed (free with align_export_items_free); a word's
 * text is its characters' tokens concatenated. */
int ctc_words_greedy(const float *lp, int64_t T, int V, const vocab *v, ax_item **words, int64_t *nw, ax_item **chars,
		     int64_t *nc);
