/*
 * report_html.c — lays out the `db report` page (see report.h) from the
 * data queries of report.c.
 *
 * The page is self-contained: CSS, the chart data (one JSON document in a
 * <script type="application/json">), Chart.js (read at run time from the
 * libjs-chart.js package and inlined) and the page script
 * (lib/report/report_page.js, compiled in) are all inline, and a
 * Content-Security-Policy of default-src 'none' keeps the browser from
 * fetching anything.  Manifest text (keys, transcripts, labels, paths,
 * command lines) is untrusted: tables are written here with every character
 * that matters to HTML escaped, and the JSON is dumped with < > & as \u
 * escapes so that nothing in it can end the <script> element.  Tables are
 * plain HTML (readable without scripts), sorted by the page script on a
 * header click; charts are drawn from the JSON by the page script.
 */
#include "report/report.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "report_assets.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "base/banned.h"

/* The first n bytes of s (or up to its NUL), escaped. */
static void html_textn(FILE *out, const char *s, size_t n)
{
	for (; n && *s; s++, n--) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

void report_html_text(FILE *out, const char *s)
{
	if (s)
		html_textn(out, s, (size_t)-1);
}

int report_json_script(FILE *out, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (!s)
		return err_set(ACC_ENOMEM, "out of memory");
	/* Outside strings JSON has no < > &, and inside them \u escapes mean
	 * the same characters to JSON.parse. */
	for (const char *p = s; *p; p++) {
		if (*p == '<')
			fputs("\\u003c", out);
		else if (*p == '>')
			fputs("\\u003e", out);
		else if (*p == '&')
			fputs("\\u0026", out);
		else
			fputc(*p, out);
	}
	free(s);
	return 0;
}

/* ------------------------------------------------------------ the page */

typedef struct page {
	manifest *m;
	const report_filter *f;
	FILE     *out;
	json_t   *charts;   /* chart specs for the page script */
	int       ncharts, ntables;
	int       rc;       /* first error; later writers do nothing */
} page;

/* One column of a table: key in the row objects and its header. */
typedef struct col {
	const char *key, *title;
} col;

static int oom(page *p)
{
	if (!p->rc)
		p->rc = err_set(ACC_ENOMEM, "out of memory");
	return p->rc;
}

/* Run a query into *rows unless an earlier step failed. */
#define QUERY(p, call) ((p)->rc ? (p)->rc : ((p)->rc = (call)))

static void cell_text(FILE *out, const json_t *v)
{
	if (json_is_integer(v)) {
		fprintf(out, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		fprintf(out, "%.6g", json_real_value(v));
	} else if (json_is_string(v)) {
		/* line breaks (reject examples) become <br> */
		const char *s = json_string_value(v), *nl;
		while ((nl = strchr(s, '\n'))) {
			html_textn(out, s, (size_t)(nl - s));
			fputs("<br>", out);
			s = nl + 1;
		}
		report_html_text(out, s);
	}
}

/* A column is numeric when its non-null values are all numbers. */
static int col_numeric(const json_t *rows, const char *key)
{
	size_t i;
	json_t *r;
	int any = 0;
	json_array_foreach(rows, i, r) {
		json_t *v = json_object_get(r, key);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_number(v))
			return 0;
		any = 1;
	}
	return any;
}

/* A sortable table of rows (cols NULL: every key of the first row). */
static void table(page *p, const json_t *rows, const col *cols, int ncols, const char *empty)
{
	FILE *out = p->out;
	col all[64];
	size_t i;
	json_t *r;
	if (p->rc)
		return;
	if (!json_array_size(rows)) {
		fputs("<p class=\"empty\">", out);
		report_html_text(out, empty ? empty : "none");
		fputs("</p>\n", out);
		return;
	}
	if (!cols) {
		const char *k;
		json_t *v;
		ncols = 0;
		json_object_foreach(json_array_get(rows, 0), k, v) {
			if (ncols < 64)
				all[ncols++] = (col){ k, k };
		}
		cols = all;
	}
	int num[64];
	fputs("<div class=\"tw\"><table class=\"sortable\">\n<thead><tr>", out);
	for (int c = 0; c < ncols && c < 64; c++) {
		num[c] = col_numeric(rows, cols[c].key);
		fprintf(out, "<th%s title=\"sort\">", num[c] ? " class=\"n\"" : "");
		report_html_text(out, cols[c].title);
		fputs("</th>", out);
	}
	fputs("</tr></thead>\n<tbody>\n", out);
	json_array_foreach(rows, i, r) {
		fputs("<tr>", out);
		for (int c = 0; c < ncols && c < 64; c++) {
			json_t *v = json_object_get(r, cols[c].key);
			if (num[c]) {
				fputs("<td class=\"n\" data-v=\"", out);
				if (json_is_integer(v))
					fprintf(out, "%lld", (long long)json_integer_value(v));
				else if (json_is_real(v))
					fprintf(out, "%.17g", json_real_value(v));
				fputs("\">", out);
			} else {
				fputs("<td>", out);
			}
			cell_text(out, v);
			fputs("</td>", out);
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></div>\n", out);
	p->ntables++;
}

static void heading(page *p, int level, const char *id, const char *text)
{
	if (p->rc)
		return;
	fprintf(p->out, "<h%d%s%s%s>", level, id ? " id=\"" : "", id ? id : "", id ? "\"" : "");
	report_html_text(p->out, text);
	fprintf(p->out, "</h%d>\n", level);
}

static void para(page *p, const char *text)
{
	if (p->rc)
		return;
	fputs("<p>", p->out);
	report_html_text(p->out, text);
	fputs("</p>\n", p->out);
}

/* ------------------------------------------------------------ charts */

enum { STACKED = 1, XLINEAR = 2 };  /* chart flags */

/* A chart spec: type "bar" or "line"; the page script builds the Chart.js
 * configuration from it.  Takes ownership of datasets (and labels). */
static void chart(page *p, const char *title, const char *type, json_t *labels, json_t *datasets,
		  const char *xtitle, const char *ytitle, int flags)
{
	char id[32];
	json_t *spec;
	if (p->rc || !datasets) {
		json_decref(labels);
		json_decref(datasets);
		if (!datasets)
			oom(p);
		return;
	}
	snprintf(id, sizeof id, "chart-%d", ++p->ncharts);
	spec = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:b, s:b}", "id", id, "type", type, "title", title,
			 "datasets", datasets, "xTitle", xtitle, "yTitle", ytitle, "stacked", flags & STACKED,
			 "xLinear", flags & XLINEAR);
	if (!spec || (labels && json_object_set_new(spec, "labels", labels)) || json_array_append_new(p->charts, spec)) {
		oom(p);
		return;
	}
	fprintf(p->out, "<figure class=\"chart\"><figcaption>");
	report_html_text(p->out, title);
	fprintf(p->out, "</figcaption><div class=\"cv\"><canvas id=\"%s\" role=\"img\" aria-label=\"", id);
	report_html_text(p->out, title);
	fputs("\"></canvas></div></figure>\n", p->out);
}

/* The value of key in row as a number (null -> JSON null). */
static json_t *num_of(const json_t *row, const char *key)
{
	json_t *v = json_object_get(row, key);
	return json_is_number(v) ? json_real(json_number_value(v)) : json_null();
}

/* The value of key in row as label text. */
static const char *str_of(const json_t *row, const char *key, char *buf, size_t cap)
{
	json_t *v = json_object_get(row, key);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, cap, "%g", json_real_value(v));
	else
		snprintf(buf, cap, "?");
	return buf;
}

static int label_index(json_t *labels, const char *s)
{
	size_t i;
	json_t *l;
	json_array_foreach(labels, i, l) {
		if (!strcmp(json_string_value(l), s))
			return (int)i;
	}
	return -1;
}

/* Category chart from rows: x labels from xkey (first max_labels distinct
 * values, in row order), one dataset per distinct gkey value (gkey NULL:
 * one dataset named vlabel) holding vkey (0 where a group has no row). */
static void chart_pivot(page *p, const char *title, const json_t *rows, const char *xkey, const char *gkey,
			const char *vkey, const char *vlabel, int max_labels, const char *xtitle, const char *ytitle,
			int flags)
{
	json_t *labels = json_array(), *groups = json_array(), *datasets = json_array(), *r;
	char b1[64], b2[64];
	size_t i;
	if (!labels || !groups || !datasets)
		goto fail;
	json_array_foreach(rows, i, r) {
		const char *x = str_of(r, xkey, b1, sizeof b1);
		if (label_index(labels, x) < 0 && (int)json_array_size(labels) < max_labels &&
		    json_array_append_new(labels, json_string(x)))
			goto fail;
		const char *g = gkey ? str_of(r, gkey, b2, sizeof b2) : vlabel;
		if (label_index(groups, g) < 0 && json_array_append_new(groups, json_string(g)))
			goto fail;
	}
	for (size_t gi = 0; gi < json_array_size(groups); gi++) {
		json_t *data = json_array();
		if (!data)
			goto fail;
		for (size_t k = 0; k < json_array_size(labels); k++)
			json_array_append_new(data, json_real(0));
		json_array_foreach(rows, i, r) {
			const char *g = gkey ? str_of(r, gkey, b2, sizeof b2) : vlabel;
			int x = label_index(labels, str_of(r, xkey, b1, sizeof b1));
			if (x >= 0 && !strcmp(g, json_string_value(json_array_get(groups, gi))))
				json_array_set_new(data, (size_t)x, num_of(r, vkey));
		}
		if (json_array_append_new(datasets, json_pack("{s:O, s:o}", "label", json_array_get(groups, gi), "data", data)))
			goto fail;
	}
	json_decref(groups);
	chart(p, title, "bar", labels, datasets, xtitle, ytitle, flags);
	return;
fail:
	json_decref(labels);
	json_decref(groups);
	json_decref(datasets);
	oom(p);
}

/* Category chart with one dataset per value key (e.g. CER and WER). */
static void chart_series(page *p, const char *title, const json_t *rows, const char *xkey, const char *const *vkeys,
			 const char *const *vlabels, int nv, int max_labels, const char *xtitle, const char *ytitle)
{
	json_t *labels = json_array(), *datasets = json_array(), *r;
	char b[64];
	size_t i;
	if (!labels || !datasets)
		goto fail;
	json_array_foreach(rows, i, r) {
		if ((int)i >= max_labels)
			break;
		json_array_append_new(labels, json_string(str_of(r, xkey, b, sizeof b)));
	}
	for (int k = 0; k < nv; k++) {
		json_t *data = json_array();
		json_array_foreach(rows, i, r) {
			if ((int)i >= max_labels)
				break;
			json_array_append_new(data, num_of(r, vkeys[k]));
		}
		if (json_array_append_new(datasets, json_pack("{s:s, s:o}", "label", vlabels[k], "data", data)))
			goto fail;
	}
	chart(p, title, "bar", labels, datasets, xtitle, ytitle, 0);
	return;
fail:
	json_decref(labels);
	json_decref(datasets);
	oom(p);
}

/* {x, y} points of two keys of rows (rows whose y is null are left out). */
static json_t *points(const json_t *rows, const char *xkey, const char *ykey)
{
	json_t *pts = json_array(), *r;
	size_t i;
	json_array_foreach(rows, i, r) {
		json_t *x = json_object_get(r, xkey), *y = json_object_get(r, ykey);
		if (json_is_number(x) && json_is_number(y))
			json_array_append_new(pts, json_pack("{s:f, s:f}", "x", json_number_value(x), "y", json_number_value(y)));
	}
	return pts;
}

/* ------------------------------------------------------------ sections */

static void section_header(page *p, const report_opts *o)
{
	static const col cards[] = {
		{ "hours", "hours (usable)" }, { "utterances", "utterances (usable)" }, { "speakers", "speakers" },
		{ "languages", "languages" }, { "corpora", "corpora" }, { "rejects", "rejects" },
		{ "not_ok", "utterances not usable" },
	};
	json_t *tot = NULL, *t;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	FILE *out = p->out;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	if (QUERY(p, report_totals(p->m, p->f, &tot)))
		return;
	t = json_array_get(tot, 0);
	fputs("<header>\n<h1>accent report: ", out);
	report_html_text(out, o->title ? o->title : p->m->path);
	fputs("</h1>\n<p class=\"meta\">manifest <code>", out);
	report_html_text(out, p->m->path);
	fprintf(out, "</code> · written %s by accent %s", when, ACCENT_VERSION);
	if (p->f->lang) {
		fputs(" · language <b>", out);
		report_html_text(out, p->f->lang);
		fputs("</b> only", out);
	}
	if (p->f->train_run > 0)
		fprintf(out, " · training run <b>%lld</b> only", (long long)p->f->train_run);
	fputs("</p>\n<div class=\"cards\">", out);
	for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++) {
		fputs("<div class=\"card\"><b>", out);
		cell_text(out, json_object_get(t, cards[i].key));
		fputs("</b><span>", out);
		report_html_text(out, cards[i].title);
		fputs("</span></div>", out);
	}
	fputs("</div>\n<nav><a href=\"#corpus\">Corpus</a> <a href=\"#alignment\">Alignment</a> "
	      "<a href=\"#training\">Training</a> <a href=\"#evaluation\">Evaluation</a> "
	      "<a href=\"#provenance\">Schema and commands</a></nav>\n</header>\n", out);
	json_decref(tot);
}

static void section_corpus(page *p)
{
	json_t *ls = NULL, *spk = NULL, *dur = NULL, *gender = NULL, *accent = NULL, *rej = NULL;
	QUERY(p, report_hours_lang_split(p->m, p->f, &ls));
	QUERY(p, report_speaker_shares(p->m, p->f, REPORT_MAX_SPEAKERS, &spk));
	QUERY(p, report_duration_hist(p->m, p->f, &dur));
	QUERY(p, report_hours_by_attr(p->m, p->f, "gender", &gender));
	QUERY(p, report_hours_by_attr(p->m, p->f, "accent", &accent));
	QUERY(p, report_rejects(p->m, &rej));
	if (p->rc)
		goto out;
	fputs("<section>\n", p->out);
	heading(p, 2, "corpus", "Corpus");
	heading(p, 3, NULL, "Hours per language and split");
	chart_pivot(p, "Usable hours per language and split", ls, "lang", "split", "hours", NULL, 1000,
		    "language", "hours", STACKED);
	table(p, ls, NULL, 0, "no usable utterances");

	heading(p, 3, NULL, "Speakers: natural and balanced share");
	para(p, "Natural share: the speaker's part of the usable audio.  Balanced share: its part of the sampling "
		"mass the speaker weights give it (db weights: weight per second times its usable seconds), i.e. how "
		"often training samples it with --sampling balanced.  Speakers with most audio first.");
	{
		static const char *const keys[] = { "natural_share", "balanced_share" };
		static const char *const names[] = { "natural share", "balanced share" };
		chart_series(p, "Share of the 30 largest speakers: natural vs balanced", spk, "speaker", keys, names, 2, 30,
			     "speaker", "share");
	}
	table(p, spk, NULL, 0, "no speakers with usable utterances");

	heading(p, 3, NULL, "Utterance durations");
	chart_pivot(p, "Usable utterances per duration (s)", dur, "range_s", NULL, "utterances", "utterances", 1000,
		    "duration (s)", "utterances", 0);
	table(p, dur, NULL, 0, "no usable utterances");

	heading(p, 3, NULL, "Gender and accent");
	chart_pivot(p, "Hours per gender and language", gender, "gender", "lang", "hours", NULL, 1000, "gender",
		    "hours", STACKED);
	table(p, gender, NULL, 0, "no usable utterances");
	chart_pivot(p, "Hours per accent and language", accent, "accent", "lang", "hours", NULL, 60, "accent", "hours",
		    STACKED);
	table(p, accent, NULL, 0, "no usable utterances");

	heading(p, 3, NULL, "Rejects by reason");
	para(p, "Everything prep ingest or align could not use, with the first examples of each reason "
		"(all languages: rejects have none).");
	table(p, rej, NULL, 0, "no rejects");
	if (!p->rc)
		fputs("</section>\n", p->out);
out:
	json_decref(ls);
	json_decref(spk);
	json_decref(dur);
	json_decref(gender);
	json_decref(accent);
	json_decref(rej);
}

static void section_alignment(page *p)
{
	json_t *hist = NULL, *flags = NULL, *rate = NULL, *worst = NULL;
	QUERY(p, report_align_flags(p->m, p->f, &flags));
	QUERY(p, report_align_conf_hist(p->m, p->f, &hist));
	QUERY(p, report_align_rate_outliers(p->m, p->f, &rate));
	QUERY(p, report_align_worst(p->m, p->f, &worst));
	if (p->rc)
		goto out;
	fputs("<section>\n", p->out);
	heading(p, 2, "alignment", "Alignment");
	if (!json_array_size(flags)) {
		para(p, "No alignments in this manifest yet (align run writes them).");
		goto end;
	}
	heading(p, 3, NULL, "Confidence");
	para(p, "Minimum over 0.6 s windows of the mean path log-probability (align run's confidence), "
		"per language, in bins of 0.25; values below -10 fall in the first bin.");
	{
		json_t *labels = json_array(), *datasets = json_array(), *langs = json_array(), *r;
		char b[32];
		size_t i;
		for (int k = 0; k < REPORT_CONF_BINS; k++) {
			snprintf(b, sizeof b, "%.2f", -10.0 + k * 0.25);
			json_array_append_new(labels, json_string(b));
		}
		json_array_foreach(hist, i, r) {
			const char *l = json_string_value(json_object_get(r, "lang"));
			if (l && label_index(langs, l) < 0)
				json_array_append_new(langs, json_string(l));
		}
		for (size_t li = 0; li < json_array_size(langs); li++) {
			json_t *data = json_array();
			for (int k = 0; k < REPORT_CONF_BINS; k++)
				json_array_append_new(data, json_integer(0));
			json_array_foreach(hist, i, r) {
				const char *l = json_string_value(json_object_get(r, "lang"));
				json_int_t bin = json_integer_value(json_object_get(r, "bin"));
				if (l && !strcmp(l, json_string_value(json_array_get(langs, li))) && bin >= 0 &&
				    bin < REPORT_CONF_BINS)
					json_array_set(data, (size_t)bin, json_object_get(r, "n"));
			}
			json_array_append_new(datasets, json_pack("{s:O, s:o}", "label", json_array_get(langs, li), "data", data));
		}
		json_decref(langs);
		chart(p, "Aligned utterances per confidence (min window log-prob)", "bar", labels, datasets,
		      "min window log-prob (bin start)", "utterances", 0);
	}
	heading(p, 3, NULL, "Flags");
	table(p, flags, NULL, 0, NULL);
	heading(p, 3, NULL, "Speaking-rate outliers");
	if (json_array_size(rate)) {
		char line[160];
		snprintf(line, sizeof line, "%lld utterances carry align run's speaking-rate flag (characters per "
			 "second outside --rate-min/--rate-max); the fastest and the slowest %zu:",
			 (long long)json_integer_value(json_object_get(json_array_get(rate, 0), "total")), json_array_size(rate));
		para(p, line);
	}
	{
		static const col c[] = { { "utt_key", "utterance" }, { "speaker", "speaker" }, { "lang", "lang" },
					 { "chars_per_s", "chars/s" }, { "duration_s", "duration (s)" },
					 { "text_norm", "text" } };
		table(p, rate, c, 6, "no speaking-rate outliers");
	}
	heading(p, 3, NULL, "Least confident alignments");
	table(p, worst, NULL, 0, NULL);
end:
	if (!p->rc)
		fputs("</section>\n", p->out);
out:
	json_decref(hist);
	json_decref(flags);
	json_decref(rate);
	json_decref(worst);
}

/* The three learning-curve charts of one training run. */
static void train_run_curves(page *p, const json_t *run)
{
	json_int_t id = json_integer_value(json_object_get(run, "id"));
	json_t *tr = NULL, *dev = NULL, *best_step = json_object_get(run, "best_step");
	char title[160];
	if (QUERY(p, report_train_curve(p->m, id, "train", REPORT_CURVE_POINTS, &tr)) ||
	    QUERY(p, report_train_curve(p->m, id, "dev", REPORT_CURVE_POINTS, &dev)))
		goto out;
	snprintf(title, sizeof title, "Training run %lld", (long long)id);
	heading(p, 3, NULL, title);
	if (!json_array_size(tr) && !json_array_size(dev)) {
		para(p, "No steps recorded yet.");
		goto out;
	}
	fputs("<div class=\"row\">", p->out);
	snprintf(title, sizeof title, "Run %lld: CTC loss per step", (long long)id);
	chart(p, title, "line", NULL,
	      json_pack("[{s:s, s:o}, {s:s, s:o}]", "label", "train loss", "data", points(tr, "step", "loss"),
			"label", "dev loss", "data", points(dev, "step", "loss")),
	      "step", "loss", XLINEAR);
	if (!json_array_size(dev)) {
		para(p, "No dev evaluations in this run (train --eval-every).");
	} else {
		json_t *ds = json_pack("[{s:s, s:o}, {s:s, s:o}]", "label", "dev CER", "data", points(dev, "step", "cer"),
				       "label", "dev WER", "data", points(dev, "step", "wer"));
		json_t *cer = json_object_get(run, "best_dev_cer");
		if (ds && json_is_integer(best_step) && json_is_number(cer)) {
			char lbl[64];
			snprintf(lbl, sizeof lbl, "best checkpoint (step %lld)", (long long)json_integer_value(best_step));
			json_array_append_new(ds, json_pack("{s:s, s:b, s:[{s:I, s:f}]}", "label", lbl, "best", 1, "data",
							    "x", json_integer_value(best_step), "y", json_number_value(cer)));
		}
		snprintf(title, sizeof title, "Run %lld: dev CER and WER (best checkpoint marked)", (long long)id);
		chart(p, title, "line", NULL, ds, "step", "error rate", XLINEAR);
	}
	snprintf(title, sizeof title, "Run %lld: learning rate", (long long)id);
	chart(p, title, "line", NULL, json_pack("[{s:s, s:o}]", "label", "lr", "data", points(tr, "step", "lr")),
	      "step", "learning rate", XLINEAR);
	if (!p->rc)
		fputs("</div>\n", p->out);
out:
	json_decref(tr);
	json_decref(dev);
}

static void section_training(page *p)
{
	static const col c[] = { { "id", "run" }, { "lang", "lang" }, { "strategy", "strategy" }, { "status", "status" },
				 { "steps_done", "steps done" }, { "steps", "steps planned" }, { "lr", "peak lr" },
				 { "sampling", "sampling" }, { "n_train", "train utts" }, { "n_dev", "dev utts" },
				 { "best_step", "best step" }, { "best_dev_cer", "best dev CER" },
				 { "best_dev_wer", "best dev WER" }, { "started_at", "started" },
				 { "command_line", "command" } };
	json_t *runs = NULL, *r;
	size_t i;
	if (QUERY(p, report_train_runs(p->m, p->f, &runs)))
		return;
	fputs("<section>\n", p->out);
	heading(p, 2, "training", "Training");
	table(p, runs, c, (int)(sizeof c / sizeof c[0]), "No training runs in this manifest yet (train writes them).");
	json_array_foreach(runs, i, r)
		train_run_curves(p, r);
	if (!p->rc)
		fputs("</section>\n", p->out);
	json_decref(runs);
}

static void section_eval(page *p)
{
	static const char *const kinds[] = { "duration", "gender", "accent", "speaker" };
	static const char *const kind_titles[] = { "utterance duration", "speaker gender", "speaker accent", "speaker (worst first)" };
	json_t *evals = NULL, *focus = NULL, *chrono = NULL, *all = NULL, *r;
	size_t i;
	QUERY(p, report_eval_runs(p->m, p->f, &evals));
	QUERY(p, report_eval_focus(p->m, p->f, &focus));
	if (p->rc)
		goto out;
	fputs("<section>\n", p->out);
	heading(p, 2, "evaluation", "Evaluation");
	if (!json_array_size(evals)) {
		para(p, "No evaluations in this manifest yet (train eval writes them).");
		goto end;
	}
	/* chart in chronological order, with one label per evaluation */
	if (!(chrono = json_array()))
		goto nomem;
	for (i = json_array_size(evals); i-- > 0;) {
		json_t *e = json_deep_copy(json_array_get(evals, i));
		char lbl[200];
		if (!e)
			goto nomem;
		snprintf(lbl, sizeof lbl, "#%lld %s %s %s %s", (long long)json_integer_value(json_object_get(e, "id")),
			 json_string_value(json_object_get(e, "decoder")), json_string_value(json_object_get(e, "condition")),
			 json_string_value(json_object_get(e, "subset")), json_string_value(json_object_get(e, "split")));
		if (json_object_set_new(e, "label", json_string(lbl)) || json_array_append_new(chrono, e))
			goto nomem;
	}
	{
		static const char *const keys[] = { "cer", "wer" };
		static const char *const names[] = { "CER", "WER" };
		chart_series(p, "CER and WER per evaluation (decoder, condition, subset, split)", chrono, "label", keys, names,
			     2, REPORT_MAX_EVALS, "evaluation", "error rate");
	}
	table(p, evals, NULL, 0, NULL);
	if (!json_array_size(focus)) {
		para(p, "No clean evaluation of a whole split: no slices to show.");
		goto end;
	}
	{
		char line[512];
		json_t *f0 = json_array_get(focus, 0);
		snprintf(line, sizeof line, "Slices and worst utterances of the newest clean evaluation of split '%s' "
			 "(language %s) per decoder: ", json_string_value(json_object_get(f0, "split")),
			 json_string_value(json_object_get(f0, "lang")));
		json_array_foreach(focus, i, r) {
			size_t n = strlen(line);
			snprintf(line + n, sizeof line - n, "%s#%lld (%s)", i ? ", " : "",
				 (long long)json_integer_value(json_object_get(r, "id")),
				 json_string_value(json_object_get(r, "decoder")));
		}
		para(p, line);
	}
	/* every slice of every focus evaluation, then one chart and table per kind */
	if (!(all = json_array()))
		goto nomem;
	json_array_foreach(focus, i, r) {
		json_t *rows = NULL, *row;
		size_t j;
		char ev[64];
		if (QUERY(p, report_eval_slices(p->m, json_integer_value(json_object_get(r, "id")), &rows)))
			goto out;
		snprintf(ev, sizeof ev, "#%lld %s", (long long)json_integer_value(json_object_get(r, "id")),
			 json_string_value(json_object_get(r, "decoder")));
		json_array_foreach(rows, j, row) {
			if (json_object_set_new(row, "evaluation", json_string(ev)) || json_array_append(all, row)) {
				json_decref(rows);
				goto nomem;
			}
		}
		json_decref(rows);
	}
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !p->rc; k++) {
		static const col c[] = { { "evaluation", "evaluation" }, { "slice", "slice" },
					 { "utterances", "utterances" }, { "cer", "CER" }, { "wer", "WER" } };
		json_t *sel = json_array();
		char title[160];
		if (!sel)
			goto nomem;
		json_array_foreach(all, i, r) {
			if (!strcmp(str_of(r, "kind", title, sizeof title), kinds[k]))
				json_array_append(sel, r);
		}
		snprintf(title, sizeof title, "By %s", kind_titles[k]);
		heading(p, 3, NULL, title);
		snprintf(title, sizeof title, "CER per %s", kind_titles[k]);
		chart_pivot(p, title, sel, "slice", "evaluation", "cer", NULL, 40, kinds[k], "CER", 0);
		table(p, sel, c, 5, NULL);
		json_decref(sel);
	}
	json_array_foreach(focus, i, r) {
		json_t *worst = NULL;
		char title[160];
		if (QUERY(p, report_eval_worst(p->m, json_integer_value(json_object_get(r, "id")), &worst)))
			break;
		snprintf(title, sizeof title, "Worst utterances of evaluation #%lld (%s)",
			 (long long)json_integer_value(json_object_get(r, "id")), json_string_value(json_object_get(r, "decoder")));
		heading(p, 3, NULL, title);
		{
			static const col c[] = { { "utt_key", "utterance" }, { "ref", "reference" }, { "hyp", "hypothesis" },
						 { "word_errors", "word errors" }, { "ref_words", "words" },
						 { "wer", "WER" }, { "cer", "CER" } };
			table(p, worst, c, 7, NULL);
		}
		json_decref(worst);
	}
end:
	if (!p->rc)
		fputs("</section>\n", p->out);
	goto out;
nomem:
	oom(p);
out:
	json_decref(evals);
	json_decref(focus);
	json_decref(chrono);
	json_decref(all);
}

static void section_provenance(page *p)
{
	json_t *schemas = NULL, *runs = NULL;
	QUERY(p, report_schema_versions(p->m, &schemas));
	QUERY(p, report_runs(p->m, &runs));
	if (p->rc)
		goto out;
	fputs("<section>\n", p->out);
	heading(p, 2, "provenance", "Schema versions and commands");
	table(p, schemas, NULL, 0, NULL);
	heading(p, 3, NULL, "Runs (the command lines that wrote this manifest, newest first)");
	table(p, runs, NULL, 0, NULL);
	if (!p->rc)
		fputs("</section>\n", p->out);
out:
	json_decref(schemas);
	json_decref(runs);
}

/* ------------------------------------------------------------ Chart.js */

/* Read the Chart.js file to inline; refuse one that could end the inline
 * <script> element early. */
static int load_chartjs(const char *path, char **js, size_t *len)
{
	int rc = fs_read_all(path, js, len, 16u << 20);
	if (rc == ACC_ENOTFOUND) {
		err_set(ACC_ENOTFOUND, "cannot inline the chart library: '%s' does not exist", path);
		err_hint("install it with 'apt-get install libjs-chart.js' (or 'make deps'), or point ACCENT_CHARTJS "
			 "at a Chart.js 3 chart.min.js");
		return ACC_ENOTFOUND;
	}
	if (rc)
		return err_wrap(rc, "cannot inline the chart library");
	for (const char *s = *js; (s = strchr(s, '<')); s++) {
		if (!strncasecmp(s, "</script", 8) || !strncmp(s, "<!--", 4)) {
			rc = err_set(ACC_EFORMAT, "'%s' contains '%.8s', which would end the report's inline <script>",
				     path, s);
			free(*js);
			*js = NULL;
			return rc;
		}
	}
	return 0;
}

int report_write(manifest *m, const report_opts *o, const char *out_path, report_stats *st)
{
	report_opts def = { 0 };
	page p = { .m = m };
	char tmp[4096], *js = NULL;
	size_t jslen = 0;
	const char *chartjs;
	json_t *doc = NULL;
	FILE *out = NULL;
	int rc, in_tx = 0;
	long size;

	if (!o)
		o = &def;
	p.f = &o->filter;
	chartjs = o->chartjs_path ? o->chartjs_path : getenv("ACCENT_CHARTJS");
	if (!chartjs || !*chartjs)
		chartjs = REPORT_CHARTJS_DEFAULT;
	if ((rc = load_chartjs(chartjs, &js, &jslen)))
		goto out;
	/* one read snapshot for every query */
	if ((rc = manifest_exec(m, "BEGIN")))
		goto out;
	in_tx = 1;
	if (o->filter.train_run > 0) {
		sqlite3_stmt *q = NULL;
		int found = 0;
		if ((rc = manifest_prepare(m, "SELECT 1 FROM train_runs WHERE id = ?1", &q)))
			goto out;
		sqlite3_bind_int64(q, 1, o->filter.train_run);
		found = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_finalize(q);
		if (!found) {
			rc = err_set(ACC_EINVAL, "there is no training run %lld in '%s'", (long long)o->filter.train_run, m->path);
			err_hint("the runs are listed by: db query \"SELECT id, lang, strategy, started_at FROM train_runs\"");
			goto out;
		}
	}
	if ((rc = fs_open_tmp(out_path, tmp, &out)))
		goto out;
	if (!(p.charts = json_array())) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	p.out = out;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; "
	      "style-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>accent report: ", out);
	report_html_text(out, o->title ? o->title : m->path);
	fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", report_page_css);
	section_header(&p, o);
	fputs("<main>\n", out);
	section_corpus(&p);
	section_alignment(&p);
	section_training(&p);
	section_eval(&p);
	section_provenance(&p);
	if ((rc = p.rc))
		goto out;
	fputs("</main>\n<footer>Charts drawn by Chart.js (MIT license), inlined from <code>", out);
	report_html_text(out, chartjs);
	fputs("</code>.  Click a table header to sort.</footer>\n"
	      "<pre id=\"report-status\" hidden>script did not run</pre>\n"
	      "<script type=\"application/json\" id=\"report-data\">", out);
	if (!(doc = json_pack("{s:O}", "charts", p.charts))) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = report_json_script(out, doc)))
		goto out;
	fputs("</script>\n<script>\n", out);
	fwrite(js, 1, jslen, out);
	fprintf(out, "\n</script>\n<script>\n%s</script>\n</body>\n</html>\n", report_page_js);
	if (ferror(out)) {
		rc = err_set(ACC_EIO, "cannot write '%s'", tmp);
		goto out;
	}
	size = ftell(out);
	rc = fs_commit_tmp(out, tmp, out_path);
	out = NULL;
	if (!rc && st) {
		st->bytes = size;
		st->charts = p.ncharts;
		st->tables = p.ntables;
	}
out:
	if (out)
		fs_abort_tmp(out, tmp);
	if (in_tx)
		sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL);
	json_decref(doc);
	json_decref(p.charts);
	free(js);
	return rc;
}
