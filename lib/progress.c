/*
 * progress.c — the terminal progress bar (see progress.h).  Drawn with a
 * carriage return on stderr; nothing is written unless stderr is a TTY.
 */
#include "progress.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	p->enabled = isatty(2) && !getenv("ACCENT_NO_PROGRESS");
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

static void draw(progress *p)
{
	double el = progress_now() - p->t_start;
	double rate = el > 0 ? p->done / el : 0;
	char eta[32], ela[32];
	fmt_time(ela, sizeof ela, el);
	if (p->total > 0) {
		int w = 30, fill = (int)(w * (double)p->done / p->total);
		char bar[64];
		if (fill > w)
			fill = w;
		for (int i = 0; i < w; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[w] = 0;
		fmt_time(eta, sizeof eta, rate > 0 ? (p->total - p->done) / rate : -1);
		fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %s  %.1f %s/s  %s ETA %s  %s", p->label, bar,
			(long long)p->done, (long long)p->total, p->unit, rate, p->unit, ela, eta, status_text);
	} else {
		fprintf(stderr, "\r\033[K%s %lld %s  %.1f %s/s  %s  %s", p->label, (long long)p->done, p->unit,
			rate, p->unit, ela, status_text);
	}
	fflush(stderr);
	p->t_last_draw = progress_now();
}

void progress_add(progress *p, int64_t n)
{
	p->done += n;
	if (p->enabled && progress_now() - p->t_last_draw >= 0.1)
		draw(p);
}

void progress_status(progress *p, const char *text)
{
	snprintf(status_text, sizeof status_text, "%s", text ? text : "");
	if (p->enabled && progress_now() - p->t_last_draw >= 0.1)
		draw(p);
}

void progress_done(progress *p)
{
	if (p->enabled) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
}
