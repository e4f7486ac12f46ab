/*
 * align_segment.h — a long recording cut into utterances after its whole
 * text was aligned at once (align_one with edge <star>s): which line each
 * aligned word belongs to, and where to cut (the middle of the pauses
 * between lines; long pieces split at their longest pauses between words,
 * short ones merged).  Pure: no database; the runner (align_run.c) reads
 * the lines and writes the new utterances.
 */
#pragma once
#include <stdint.h>

#include "align/align.h"

/* One cut: frames [start, end) of the recording, lines/words it holds. */
typedef struct align_segment {
	int64_t start, end;
	int     line_first, line_last;
	int     word_first, word_last;   /* word index within line_first / line_last */
} align_segment;

/* Each aligned word's line.  words: the nwords aligned word spans of the
 * text of nlines lines, whose targets were shifted by one leading <star>;
 * line_t0[l] is the first target position of line l (before the shift),
 * line_t0[nlines] the target count.  Fills line_of[w] (the word's line),
 * word_in_line[w] (its index in that line) and line_w0[l] (the first word
 * of line l; line_w0[nlines] = nwords): arrays the caller sized. */
void align_segment_lines(const align_span *words, int64_t nwords, const int64_t *line_t0, int nlines, int *line_of,
			 int *word_in_line, int64_t *line_w0);

/* Cut an aligned long recording into utterances.  words: aligned word spans
 * of the whole text in order (frames), with line_of[w] and word_in_line[w]
 * giving each word's line and index in it; nlines lines; T frames.
 * Boundaries fall in the middle of the pause between lines; a segment longer
 * than max_s is split at the middle of its longest pauses between words;
 * segments shorter than min_s are merged with a neighbour while the result
 * stays within max_s.  *segs malloc'ed. */
int align_segment_cut(const align_span *words, const int *line_of, const int *word_in_line, int64_t nwords,
		      int nlines, int64_t T, double min_s, double max_s, align_segment **segs, int *nsegs);
