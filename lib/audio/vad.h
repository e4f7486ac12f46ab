/*
 * vad.h — energy-based voice activity detection that cuts a long 16 kHz
 * recording into pieces of bounded length at pauses (prep ingest's long
 * recordings; pieces await alignment of their text).
 *
 * The signal is fed incrementally (vad_feed) and reduced to one log-energy
 * per 10 ms frame, so a recording of any length costs 4 bytes per 10 ms.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define VAD_FRAME 160   /* samples per analysis frame: 10 ms at 16 kHz */

typedef struct vad_opts {
	double min_s;        /* shortest piece (default 1 s) */
	double max_s;        /* longest piece (default 20 s) */
	double min_pause_s;  /* quieter stretches shorter than this do not separate speech (0.15 s) */
	double pad_s;        /* silence kept on each side of speech when available (0.1 s) */
	double rel_db;       /* speech threshold above the noise floor, as a share of the floor-to-loud range (0.35) */
} vad_opts;
#define VAD_OPTS_DEFAULT { .min_s = 1.0, .max_s = 20.0, .min_pause_s = 0.15, .pad_s = 0.1, .rel_db = 0.35 }

typedef struct vad_segment {
	double start_s, end_s;  /* within the recording */
	int    forced;          /* 1 when one end is a cut inside speech (no pause was long enough) */
} vad_segment;

typedef struct vad {
	float  *db;          /* per-frame energy, dBFS */
	int64_t n;           /* frames */
	size_t  cap;
	double  acc;         /* partial frame sum of squares */
	int     acc_n;
} vad;

void vad_init(vad *v);
/* Append 16 kHz samples.  ACC_ENOMEM on allocation failure. */
int vad_feed(vad *v, const float *x, int64_t n);
void vad_free(vad *v);

/* Cut the fed signal into pieces (after flushing the partial frame).  Pieces
 * are in time order and do not overlap; every piece is at most max_s long;
 * pieces shorter than min_s are returned too (merging was impossible) and the
 * caller decides what to do with them.  *segs is malloc'ed (NULL, 0 when no
 * speech).  ACC_EINVAL for inconsistent options. */
int vad_split(vad *v, const vad_opts *o, vad_segment **segs, int *nseg);

/* The threshold (dBFS) vad_split() uses for speech frames; for tests and
 * diagnostics. */
double vad_threshold(const vad *v, const vad_opts *o);
