/*
 * progress.h — progress of long work on stderr: on a terminal a bar with
 * rate and ETA redrawn in place; otherwise (nohup, pipes, CI logs) a plain
 * line at a bounded rate, so a long run under nohup still shows that it
 * moves without flooding the log.
 *
 * Environment: ACCENT_NO_PROGRESS (set: print nothing), ACCENT_PROGRESS_SECONDS
 * (seconds between plain lines, default 30; 0 = a line at every update).
 */
#pragma once
#include <stdint.h>

/* Default seconds between two plain (non-terminal) progress lines. */
#define PROGRESS_PLAIN_SECONDS 30.0

typedef struct progress {
	const char *label;     /* "ingest", "align", ... */
	const char *unit;      /* "files", "utt", "s audio" */
	int64_t total;         /* 0 = unknown */
	int64_t done;
	double  t_start, t_last_draw;
	int     enabled;       /* print anything at all: !getenv("ACCENT_NO_PROGRESS");
	                        * callers set 0 for --quiet */
	int     tty;           /* isatty(2): the redrawn bar; else plain lines */
	double  period;        /* seconds between plain lines */
} progress;

void progress_init(progress *p, const char *label, const char *unit, int64_t total);
/* Advance by n; redraw the bar at most 10 times a second, or print a plain
 * line at most once per period.  Thread-safe callers must serialize (only
 * the writer thread calls it). */
void progress_add(progress *p, int64_t n);
/* Set an extra status text shown after the bar (e.g. "loss 1.23"). */
void progress_status(progress *p, const char *text);
/* A milestone (an evaluation, the end of a phase): print a plain line now,
 * whatever the period (on a terminal: redraw the bar). */
void progress_mark(progress *p);
/* Erase the bar line (nothing to do for plain lines). */
void progress_done(progress *p);
/* Wall-clock seconds (monotonic). */
double progress_now(void);
