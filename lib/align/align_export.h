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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One aligned word or character. */
typedef struct ax_item {
	char   *text;     /* UTF-8 label: the word as written (see align_label.h) */
	double  start, end;
	double  score;    /* mean probability 0..1 (CTM confidence) */
	char   *norm;     /* normalized form (JSON "norm"); NULL = same as text */
	char   *romanized;/* the romanized form aligned (--oov romanize; JSON "romanized"); NULL = none */
} ax_item;

/* Append one aligned word to a growing item array (*items, *n, *cap; the
 * strings are copied).  A word whose label is "" continues the written
 * token of the previous word (normalization split it): it is merged into
 * the previous item (end extended, score averaged over the time covered,
 * norm and romanized forms joined with a space) instead of appended. */
int align_export_add_word(ax_item **items, int64_t *n, size_t *cap, const char *label, const char *norm,
			  const char *romanized, double start, double end, double score);
/* Free the strings of n items and the array. */
void align_export_items_free(ax_item *items, int64_t n);

/* One aligned utterance. */
typedef struct ax_utt {
	const char *key;        /* utterance id (TextGrid file name; CTM first field when rec is NULL) */
	const char *rec;        /* recording id (CTM first field, times from the recording's start);
	                         * NULL: CTM uses key and times relative to the utterance */
	const char *text;       /* transcript */
	double      offset;     /* start within the recording (s) */
	double      duration;   /* utterance length (s): TextGrid xmax */
	const ax_item *words;  int64_t nwords;
	const ax_item *chars;  int64_t nchars;
} ax_utt;

/* CTM lines "<id> 1 <start> <dur> <word> <conf>", 3 decimals (NIST/Kaldi
 * convention, channel 1).  With u->rec: id = the recording id and times
 * from the recording's start (offset + item time), as NIST sclite and Kaldi
 * expect for segmented corpora; without: the utterance key and times within
 * the utterance.  Ids pass through align_export_ctm_id; whitespace inside a
 * word becomes '_' (a CTM field cannot hold it). */
int align_export_ctm(FILE *f, const ax_utt *u);

/* A CTM source id NIST's ctmValidator accepts ([A-Za-z0-9_-]+) from a key
 * or a recording path: a trailing audio extension (".wav", ".flac", ...: a
 * dot followed by 1-5 ASCII letters/digits after the last '/') is dropped,
 * '/' and '.' become '_', any other byte outside the set becomes "_xHH"
 * (lowercase hex), so distinct ASCII keys stay distinct in practice;
 * "_" for an empty key.  buf gets at most cap-1 bytes (truncated ids are
 * still valid). */
void align_export_ctm_id(const char *key, char *buf, size_t cap);

/* The file name (without extension) that `align export` gives the
 * utterance or recording key: bytes in [A-Za-z0-9_-] and '.' (not first) as
 * they are, every other byte as %HH (so 'x/y' -> 'x%2Fy', '%' -> '%25', and
 * non-ASCII keys stay distinct): different keys never share a file.  A name
 * that would not fit cap (at least 32) is cut and ends in '~' and 16 hex
 * digits of a 64-bit hash of the whole key. */
void align_export_file_name(const char *key, char *buf, size_t cap);

/* A complete Praat TextGrid (long text format) for one utterance with two
 * interval tiers, "words" and "chars"; gaps are filled with empty
 * intervals as Praat requires. */
int align_export_textgrid(FILE *f, const ax_utt *u);

/* Subtitle cue layout: a cue holds at most max_lines lines of at most
 * max_chars characters (code points) and lasts at most max_duration
 * seconds; cues break only between words (a word longer than a line gets a
 * line of its own).  Defaults follow common subtitle guidelines: 42, 2, 7 s. */
typedef struct ax_cue_opts {
	int    max_chars;
	int    max_lines;
	double max_duration;
} ax_cue_opts;
void align_export_cue_opts_default(ax_cue_opts *o);

/* The cues of one utterance, numbered from *index + 1 (*index advanced):
 * recording time (offset + word times), text = the word labels.  An
 * utterance without words is one cue over the whole utterance with its
 * text.  vtt selects WebVTT (the caller writes the "WEBVTT" header once per
 * file with align_export_vtt_header), else SubRip.  Cue text is escaped:
 * WebVTT per its spec ('&' -> "&amp;", '<' -> "&lt;", '>' -> "&gt;", so
 * "-->" and tags cannot occur); SubRip has no escapes, so '<' and '>'
 * become U+2039 / U+203A (no player reads them as tags, no line as a
 * timing line); line breaks in a label become spaces. */
int align_export_cues(FILE *f, const ax_utt *u, int64_t *index, int vtt, const ax_cue_opts *o);
int align_export_vtt_header(FILE *f);

/* "HH:MM:SS,mmm" (srt) / "HH:MM:SS.mmm" (vtt) into buf (>= 32 bytes). */
void align_export_timestamp(double s, int vtt, char *buf);

/* One JSON object for the utterance (no trailing newline):
 * {"key":..., "text":..., "offset":..., "duration":...,
 *  "words":[{"text","start","end","score"[,"norm"][,"romanized"]}...], "chars":[...]}
 * ("norm" when it differs from "text"; times within the utterance). */
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
