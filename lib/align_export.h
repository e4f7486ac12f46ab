/*
 * align_export.h — writing alignments in the formats other tools read
 * (CTM, Praat TextGrid, SubRip, WebVTT, JSON) and parsing TextGrid and CTM
 * back (for tests and for importing alignments made elsewhere).
 *
 * Times are seconds.  Within one utterance, item times are relative to the
 * utterance start (0 = first sample of the utterance's audio); `offset` is
 * where the utterance starts in its recording, used by the recording-level
 * formats (SRT/VTT cues).  Intervals are [start, end), end exclusive.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>

/* One aligned word or character. */
typedef struct ax_item {
	char   *text;     /* UTF-8 */
	double  start, end;
	double  score;    /* mean probability 0..1 (CTM confidence) */
} ax_item;

/* One aligned utterance. */
typedef struct ax_utt {
	const char *key;        /* utterance id (CTM first field, TextGrid file name) */
	const char *text;       /* transcript */
	double      offset;     /* start within the recording (s) */
	double      duration;   /* utterance length (s): TextGrid xmax */
	const ax_item *words;  int64_t nwords;
	const ax_item *chars;  int64_t nchars;
} ax_utt;

/* CTM lines "<key> 1 <start> <dur> <word> <conf>", times relative to the
 * utterance, 3 decimals (NIST/Kaldi convention, channel 1). */
int align_export_ctm(FILE *f, const ax_utt *u);

/* A complete Praat TextGrid (long text format) for one utterance with two
 * interval tiers, "words" and "chars"; gaps are filled with empty
 * intervals as Praat requires. */
int align_export_textgrid(FILE *f, const ax_utt *u);

/* One subtitle cue per utterance (recording time: offset + first word start
 * .. offset + last word end; the whole utterance when it has no words).
 * index is the 1-based cue number for SRT; vtt selects WebVTT (the caller
 * writes the "WEBVTT" header once per file with align_export_vtt_header). */
int align_export_cue(FILE *f, const ax_utt *u, int64_t index, int vtt);
int align_export_vtt_header(FILE *f);

/* "HH:MM:SS,mmm" (srt) / "HH:MM:SS.mmm" (vtt) into buf (>= 32 bytes). */
void align_export_timestamp(double s, int vtt, char *buf);

/* One JSON object for the utterance (no trailing newline):
 * {"key":..., "text":..., "offset":..., "duration":...,
 *  "words":[{"text","start","end","score"}...], "chars":[...]} */
int align_export_json(FILE *f, const ax_utt *u);

/* ---- parsing ---- */

typedef struct ax_tier {
	char    *name;
	ax_item *items;   /* intervals in file order (empty-text gaps included) */
	int64_t  n;
} ax_tier;

typedef struct ax_textgrid {
	double   xmin, xmax;
	ax_tier *tiers;
	int      ntiers;
} ax_textgrid;

/* Parse a TextGrid in the long text format (as Praat and
 * align_export_textgrid write it).  ACC_EFORMAT with the line number on
 * malformed input. */
int align_export_parse_textgrid(const char *text, ax_textgrid *tg);
void align_export_textgrid_free(ax_textgrid *tg);

/* One CTM line. */
typedef struct ax_ctm_line {
	char   *key;
	int     channel;
	double  start, dur;
	char   *word;
	double  conf;     /* -1 when the line has no confidence */
} ax_ctm_line;

/* Parse CTM text (blank lines and ';;' comments skipped).  *lines malloc'ed. */
int align_export_parse_ctm(const char *text, ax_ctm_line **lines, int64_t *n);
void align_export_ctm_free(ax_ctm_line *lines, int64_t n);
