/*
 * progress.h — a progress bar with rate and ETA for long work, drawn on
 * stderr only when it is a terminal (quiet in CI, pipes and logs).
 */
#pragma once
#include <stdint.h>

typedef struct progress {
	const char *label;     /* "ingest", "align", ... */
	const char *unit;      /* "files", "utt", "s audio" */
	int64_t total;         /* 0 = unknown */
	int64_t done;
	double  t_start, t_last_draw;
	int     enabled;       /* isatty(2) && !getenv("ACCENT_NO_PROGRESS") */
} progress;

void progress_init(progress *p, const char *label, const char *unit, int64_t total);
/* Advance by n and redraw at most 10 times a second.  Thread-safe callers
 * must serialize (only the writer thread calls it). */
void progress_add(progress *p, int64_t n);
/* Set an extra status text shown after the bar (e.g. "loss 1.23"). */
void progress_status(progress *p, const char *text);
/* Erase the bar line. */
void progress_done(progress *p);
/* Wall-clock seconds (monotonic). */
double progress_now(void);
