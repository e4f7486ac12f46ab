/*
 * progress.c — progress on stderr (see progress.h): a bar drawn with a
 * carriage return when stderr is a terminal, else plain lines at a bounded
 * rate (a carriage-return bar in a log file is one endless line, and a
 * redraw every 0.1 s would flood it).
 */
#include "base/progress.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/banned.h"

static char status_text[128];

double progress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_init(progress *p, const char *label, const char *unit, int64_t total)
{
	memset(p, 0, sizeof *p);
	p->label = label;
	p->unit = unit;
	p->total = total;
	p->t_start = progress_now();
	p->enabled = !getenv("ACCENT_NO_PROGRESS");
	p->tty = isatty(2);
	p->period = PROGRESS_PLAIN_SECONDS;
	const char *e = getenv("ACCENT_PROGRESS_SECONDS");
	if (e && *e) {
		char *end;
		double v = strtod(e, &end);
		if (!*end && v >= 0 && v < 1e6)
			p->period = v;
	}
	/* the first plain line comes one period after the start */
	p->t_last_draw = p->t_start;
	status_text[0] = 0;
}

static void fmt_time(char *buf, size_t cap, double s)
{
	if (s < 0 || s > 360000)
		snprintf(buf, cap, "--:--");
	else if (s >= 3600)
		snprintf(buf, cap, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
	else
		snprintf(buf, cap, "%02d:%02d", (int)s / 60, (int)s % 60);
}

/* What both kinds of line show: the rate, elapsed time and (with a total)
 * the time left. */
typedef struct pace {
	double rate;
	char   ela[32], eta[32];
} pace;

static void pace_of(const progress *p, pace *t)
{
	double el = progress_now() - p->t_start;
	t->rate = el > 0 ? p->done / el : 0;
	fmt_time(t->ela, sizeof t->ela, el);
	fmt_time(t->eta, sizeof t->eta, p->total > 0 && t->rate > 0 ? (p->total - p->done) / t->rate : -1);
}

/* A line is out: flushed, and the time noted for the next one. */
static void drawn(progress *p)
{
	fflush(stderr);
	p->t_last_draw = progress_now();
}

static void draw(progress *p)
{
	pace t;
	pace_of(p, &t);
	if (p->total > 0) {
		int w = 30, fill = (int)(w * (double)p->done / p->total);
		char bar[64];
		if (fill > w)
			fill = w;
		for (int i = 0; i < w; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[w] = 0;
		fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %s  %.1f %s/s  %s ETA %s  %s", p->label, bar,
			(long long)p->done, (long long)p->total, p->unit, t.rate, p->unit, t.ela, t.eta, status_text);
	} else {
		fprintf(stderr, "\r\033[K%s %lld %s  %.1f %s/s  %s  %s", p->label, (long long)p->done, p->unit,
			t.rate, p->unit, t.ela, status_text);
	}
	drawn(p);
}

/* One self-contained line: "train: 120/1000 steps (12%), 2.1 steps/s,
 * 00:57 elapsed, ETA 07:00, <status>". */
static void draw_plain(progress *p)
{
	pace t;
	pace_of(p, &t);
	if (p->total > 0) {
		fprintf(stderr, "%s: %lld/%lld %s (%.0f%%), %.1f %s/s, %s elapsed, ETA %s%s%s\n", p->label,
			(long long)p->done, (long long)p->total, p->unit, 100.0 * p->done / p->total, t.rate, p->unit,
			t.ela, t.eta, status_text[0] ? ", " : "", status_text);
	} else {
		fprintf(stderr, "%s: %lld %s, %.1f %s/s, %s elapsed%s%s\n", p->label, (long long)p->done, p->unit,
			t.rate, p->unit, t.ela, status_text[0] ? ", " : "", status_text);
	}
	drawn(p);
}

/* Draw when due: the bar at most 10 times a second, plain lines once per
 * period. */
static void maybe_draw(progress *p)
{
	if (!p->enabled)
		return;
	double since = progress_now() - p->t_last_draw;
	if (p->tty) {
		if (since >= 0.1)
			draw(p);
	} else if (since >= p->period) {
		draw_plain(p);
	}
}

void progress_add(progress *p, int64_t n)
{
	p->done += n;
	maybe_draw(p);
}

void progress_status(progress *p, const char *text)
{
	snprintf(status_text, sizeof status_text, "%s", text ? text : "");
	/* plain lines show the text with the next progress_add or mark */
	if (p->tty)
		maybe_draw(p);
}

void progress_mark(progress *p)
{
	if (!p->enabled)
		return;
	if (p->tty)
		draw(p);
	else
		draw_plain(p);
}

void progress_done(progress *p)
{
	if (p->enabled && p->tty) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
}
