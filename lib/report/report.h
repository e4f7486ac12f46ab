/*
 * report.h — `db report`: one self-contained HTML page (charts, sortable
 * tables, the data inline, no network) about a manifest's corpus,
 * alignments, training runs and evaluations.
 *
 * The data comes from named queries (below), each one SQL aggregate over the
 * manifest that returns a small, bounded JSON array of row objects (column
 * name -> value, in column order), so the page stays small and fast on a
 * manifest of millions of utterances.  report_write() runs them all inside
 * one read snapshot and lays the page out (lib/report/report_html.c); the charts
 * are drawn in the browser by Chart.js, inlined from the installed Debian
 * package (libjs-chart.js) at run time.
 */
#pragma once
#include "manifest/manifest.h"
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* What the queries look at.  lang: only this language (NULL = all).
 * train_run: only this training run (train_runs.id) and the evaluations of
 * its output directory (0 = every run). */
typedef struct report_filter {
	const char *lang;
	int64_t     train_run;
} report_filter;

/* Row caps: the page lists at most this many rows of each kind. */
enum {
	REPORT_MAX_RUNS = 200,         /* runs (command lines) in the header */
	REPORT_MAX_SPEAKERS = 100,     /* speakers in the share table (chart: 30) */
	REPORT_MAX_ATTR = 300,         /* (language, gender/accent) rows: accents are free text */
	REPORT_MAX_WORST = 50,         /* worst alignments / rate outliers */
	REPORT_MAX_TRAIN_RUNS = 12,    /* training runs with learning curves */
	REPORT_CURVE_POINTS = 500,     /* points per learning curve (steps averaged in buckets) */
	REPORT_MAX_EVALS = 50,         /* evaluations listed */
	REPORT_MAX_SLICE = 300,        /* rows per evaluation slice (speakers) */
	REPORT_MAX_EVAL_WORST = 30,    /* worst utterances per focus evaluation */
	REPORT_REJECT_EXAMPLES = 3,    /* examples per reject reason */
	REPORT_CONF_BINS = 40,         /* confidence histogram: 0.25-wide bins over [-10, 0) */
};

/* ---- the data queries: each sets *rows to a new JSON array (caller
 * json_decref()s it); 0 or ACC_EDB / ACC_ENOMEM. ---- */

/* One row: utterances, hours, speakers, languages (status 'ok'); not_ok
 * (utterances of another status), corpora, rejects. */
int report_totals(manifest *m, const report_filter *f, json_t **rows);
/* name, version, applied_at per schema component. */
int report_schema_versions(manifest *m, json_t **rows);
/* id, stage, command_line, version, started_at, ended_at, exit_code, newest
 * first (at most REPORT_MAX_RUNS). */
int report_runs(manifest *m, json_t **rows);
/* lang, split ('unassigned' when none), utterances, hours (status 'ok'). */
int report_hours_lang_split(manifest *m, const report_filter *f, json_t **rows);
/* Speakers with most audio first: speaker, lang, gender, accent,
 * utterances, hours, natural_share (of the status-ok audio), balanced_share
 * (of the sampling mass: weight per second (speakers.weight) times usable
 * seconds, which is the sum of the speaker's utterance weights after a
 * plain db weights; NULL when no weights). */
int report_speaker_shares(manifest *m, const report_filter *f, int limit, json_t **rows);
/* bucket_s (0..19 = [b, b+1) s, 20 = 20 s and more), range_s, utterances, hours. */
int report_duration_hist(manifest *m, const report_filter *f, json_t **rows);
/* lang, <attr> ('unknown' when not given), speakers, utterances, hours,
 * attr = "gender" or "accent"; per language most audio first, at most
 * REPORT_MAX_ATTR rows. */
int report_hours_by_attr(manifest *m, const report_filter *f, const char *attr, json_t **rows);
/* reason, n, examples (up to REPORT_REJECT_EXAMPLES "source: message"
 * lines), most frequent first.  Rejects have no language: not filtered. */
int report_rejects(manifest *m, json_t **rows);

/* lang, bin, n: aligned utterances per language and min_window_logp bin
 * (bin b = [-10 + b/4, -10 + (b+1)/4), values below -10 in bin 0, 0 in the
 * last). */
int report_align_conf_hist(manifest *m, const report_filter *f, json_t **rows);
/* The align_flag_counts view (one row per language). */
int report_align_flags(manifest *m, const report_filter *f, json_t **rows);
/* Speaking-rate outliers as align run flags them (flag 4: characters per
 * second outside its --rate-min/--rate-max): the REPORT_MAX_WORST/2 fastest
 * and the REPORT_MAX_WORST/2 slowest, fastest first: utt_key, speaker, lang,
 * chars_per_s, duration_s, text_norm, total (all flagged, on every row). */
int report_align_rate_outliers(manifest *m, const report_filter *f, json_t **rows);
/* Lowest min_window_logp first: utt_key, speaker, lang, duration_s,
 * min_window_logp, mean_logp, flag_names, text_norm. */
int report_align_worst(manifest *m, const report_filter *f, json_t **rows);

/* Training runs, newest first (REPORT_MAX_TRAIN_RUNS): id, lang, strategy,
 * status, steps_done, steps, lr, sampling, n_train, n_dev, best_step,
 * best_dev_cer, best_dev_wer, started_at, command_line. */
int report_train_runs(manifest *m, const report_filter *f, json_t **rows);
/* The learning curve of a training run for split "train" or "dev": step,
 * loss, lr, cer, wer.  With more than max_points steps, consecutive steps
 * are averaged in equal buckets (step = the bucket's last step, lr its
 * value there). */
int report_train_curve(manifest *m, int64_t train_run, const char *split, int max_points, json_t **rows);

/* Evaluations, newest first (REPORT_MAX_EVALS): id, lang, split, subset,
 * condition, decoder, alpha, beta, beam, utterances, hours, cer, wer,
 * model_dir, created_at. */
int report_eval_runs(manifest *m, const report_filter *f, json_t **rows);
/* The evaluations the slices are shown for: the newest clean evaluation of
 * the whole split ('all'), and the newest of every other decoder on the
 * same model, language and split.  Rows: id, decoder, model_dir, lang, split. */
int report_eval_focus(manifest *m, const report_filter *f, json_t **rows);
/* CER/WER of one evaluation per slice, every kind in one pass: kind
 * ("duration", "gender", "accent", "speaker", in this order), slice,
 * utterances, cer, wer.  Durations in bucket order (0-2, 2-5, 5-10, 10-20,
 * 20+ s), genders and accents by name, speakers worst CER first (at most
 * REPORT_MAX_SLICE). */
int report_eval_slices(manifest *m, int64_t eval_id, json_t **rows);
/* Worst utterances of one evaluation (most word errors per reference
 * word, then character errors): utt_key, ref, hyp, word_errors, ref_words,
 * wer, cer. */
int report_eval_worst(manifest *m, int64_t eval_id, json_t **rows);

/* ---- the page ---- */

typedef struct report_opts {
	report_filter filter;
	const char   *chartjs_path;  /* Chart.js to inline; NULL = $ACCENT_CHARTJS, else REPORT_CHARTJS_DEFAULT */
	const char   *title;         /* page title / manifest name shown (NULL = the manifest path) */
} report_opts;
#define REPORT_CHARTJS_DEFAULT "/usr/share/javascript/chart.js/chart.min.js"

typedef struct report_stats {
	int64_t bytes;    /* size of the page written */
	int     charts;   /* charts on it */
	int     tables;   /* tables on it */
} report_stats;

/* Write the report of m to out_path (atomically: temp file + rename).
 * ACC_ENOTFOUND (with a hint naming the Debian package) when Chart.js is
 * missing; ACC_EFORMAT when that file could close the inline <script>;
 * ACC_EINVAL when filter.train_run names no training run; ACC_EDB, ACC_EIO. */
int report_write(manifest *m, const report_opts *o, const char *out_path, report_stats *st);

/* Write s with & < > " ' as HTML character references (NULL writes nothing). */
void report_html_text(FILE *out, const char *s);

/* Dump v as JSON that is safe inside an HTML <script> element: every
 * < > & (which JSON only has inside strings) written as \u003c \u003e
 * \u0026, so no "</script>" or "<!--" can appear.  ACC_ENOMEM. */
int report_json_script(FILE *out, const json_t *v);
