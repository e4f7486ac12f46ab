/*
 * export.c — NeMo, Kaldi, Lhotse and Hugging Face CSV exports of the
 * manifest (formats and file names in export.h).
 *
 * Each split group is read into memory once (Kaldi needs its files sorted by
 * id and Lhotse one line per distinct recording), written to temporary files,
 * and every file is renamed into place at the very end.
 *
 * Ids: speakers are their corpus label (prefixed "c<corpus>-" when the
 * manifest holds several corpora, or the recording id when unknown);
 * recordings "r<id>_<file stem>"; utterances their corpus key, prefixed by
 * the speaker id unless it already starts with it (the Kaldi convention that
 * keeps utt2spk and spk2utt sorted the same way).  Whitespace becomes '_'.
 */
#define _GNU_SOURCE
#include "manifest/export.h"
#include "manifest/dbquery.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "base/banned.h"

static const char *const format_names[] = { "nemo", "kaldi", "lhotse", "hf-csv" };

int export_parse_format(const char *name, export_format *f)
{
	for (int i = 0; i < 4; i++)
		if (name && !strcmp(name, format_names[i])) {
			*f = (export_format)i;
			return 0;
		}
	err_set(ACC_EINVAL, "unknown export format '%s'", name ? name : "");
	err_hint("use one of: nemo, kaldi, lhotse, hf-csv");
	return ACC_EINVAL;
}

const char *export_format_name(export_format f)
{
	return (unsigned)f < 4 ? format_names[f] : "?";
}

typedef struct xrow {
	char   *utt_id, *spk_id, *rec_id, *path, *text, *lang, *label, *gender, *accent, *utt_key, *split;
	double  start, end, weight, rec_dur;
	int     has_weight, channel, sample_rate, nch;
	int64_t rec;
} xrow;

typedef struct xfile {
	FILE *fp;
	char  tmp[4096], path[4096];
} xfile;

typedef struct xctx {
	const export_opts *o;
	xfile  *files;
	int     nfiles;
	size_t  capfiles;
	xrow   *rows;
	size_t  n, cap;
	int     multi_corpus;
} xctx;

static void row_free(xrow *r)
{
	free(r->utt_id); free(r->spk_id); free(r->rec_id); free(r->path); free(r->text);
	free(r->lang); free(r->label); free(r->gender); free(r->accent); free(r->utt_key); free(r->split);
}

static void rows_clear(xctx *x)
{
	for (size_t i = 0; i < x->n; i++)
		row_free(&x->rows[i]);
	x->n = 0;
}

/* Kaldi-safe id: control characters and spaces become '_'. */
static char *sanitize(const char *s)
{
	char *d = strdup(s && *s ? s : "_");
	if (d)
		for (char *p = d; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f)
				*p = '_';
	return d;
}

static char *dup_or_null(const unsigned char *s)
{
	return s ? strdup((const char *)s) : NULL;
}

/* %.6f without trailing zeros: "1.5", "0.01", "12". */
static const char *fmt_time(char buf[48], double v)
{
	snprintf(buf, 48, "%.6f", v);
	char *p = buf + strlen(buf) - 1;
	while (*p == '0')
		*p-- = 0;
	if (*p == '.')
		*p = 0;
	return buf;
}

static double round_us(double v)
{
	return round(v * 1e6) / 1e6;
}

static int xopen(xctx *x, const char *dir, const char *name, FILE **fp)
{
	int rc = ARRAY_GROW(x->files, x->capfiles, (size_t)x->nfiles + 1);
	if (rc)
		return rc;
	xfile *f = &x->files[x->nfiles];
	if ((rc = fs_join(f->path, sizeof f->path, dir, name)))
		return rc;
	if ((rc = fs_open_tmp(f->path, f->tmp, &f->fp)))
		return rc;
	x->nfiles++;
	*fp = f->fp;
	return 0;
}

/* Read one split group's rows. */
static int load_rows(manifest *m, xctx *x, const char *group)
{
	const export_opts *o = x->o;
	sqlite3_stmt *q = NULL;
	int rc, s;
	rc = manifest_prepare(m,
		"SELECT u.utt_key, u.start_s, u.end_s, u.channel, "
		"       CASE WHEN ?4 THEN coalesce(u.text_raw, '') ELSE coalesce(u.text_norm, '') END, "
		"       u.lang, u.weight, r.id, c.root, r.path, r.sample_rate, r.channels, r.duration_s, "
		"       u.corpus_id, s.label, s.gender, s.accent, u.speaker_id, u.split "
		"FROM utterances u JOIN recordings r ON r.id = u.recording_id "
		"JOIN corpora c ON c.id = r.corpus_id LEFT JOIN speakers s ON s.id = u.speaker_id "
		"WHERE u.status = ?1 AND coalesce(u.split, 'unassigned') = ?2 AND (?3 IS NULL OR u.lang = ?3) "
		"ORDER BY u.id", &q);
	if (rc)
		return rc;
	sqlite3_bind_text(q, 1, o->status ? o->status : "ok", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, group, -1, SQLITE_STATIC);
	if (o->lang)
		sqlite3_bind_text(q, 3, o->lang, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, o->raw_text != 0);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		char abspath[4096], stem[4096];
		if ((rc = ARRAY_GROW(x->rows, x->cap, x->n + 1)))
			goto out;
		xrow *r = &x->rows[x->n++];
		memset(r, 0, sizeof *r);
		const char *key = (const char *)sqlite3_column_text(q, 0);
		r->start = sqlite3_column_double(q, 1);
		r->end = sqlite3_column_double(q, 2);
		r->channel = sqlite3_column_int(q, 3);
		r->text = dup_or_null(sqlite3_column_text(q, 4));
		r->lang = dup_or_null(sqlite3_column_text(q, 5));
		r->has_weight = sqlite3_column_type(q, 6) != SQLITE_NULL;
		r->weight = sqlite3_column_double(q, 6);
		r->rec = sqlite3_column_int64(q, 7);
		const char *root = (const char *)sqlite3_column_text(q, 8);
		const char *rel = (const char *)sqlite3_column_text(q, 9);
		r->sample_rate = sqlite3_column_int(q, 10);
		r->nch = sqlite3_column_int(q, 11);
		if (r->nch < 1)
			r->nch = 1;
		r->rec_dur = sqlite3_column_double(q, 12);
		int64_t corpus = sqlite3_column_int64(q, 13);
		r->label = dup_or_null(sqlite3_column_text(q, 14));
		r->gender = dup_or_null(sqlite3_column_text(q, 15));
		r->accent = dup_or_null(sqlite3_column_text(q, 16));
		r->utt_key = strdup(key ? key : "");
		r->split = strdup(group);
		if ((rc = manifest_audio_path(abspath, sizeof abspath, root, rel)))
			goto out;
		r->path = strdup(abspath);

		/* recording id: r<id>_<stem of the file name> */
		const char *base = strrchr(rel ? rel : "", '/');
		snprintf(stem, sizeof stem, "%s", base ? base + 1 : (rel ? rel : ""));
		char *dot = strrchr(stem, '.');
		if (dot && dot != stem)
			*dot = 0;
		char *sst = sanitize(stem);
		if (!sst || asprintf(&r->rec_id, "r%lld_%s", (long long)r->rec, sst) < 0)
			r->rec_id = NULL;
		free(sst);

		/* speaker id: label (corpus-prefixed when several), else the recording */
		if (sqlite3_column_type(q, 17) != SQLITE_NULL && r->label) {
			char *sl = sanitize(r->label);
			if (!sl || (x->multi_corpus ? asprintf(&r->spk_id, "c%lld-%s", (long long)corpus, sl)
						    : asprintf(&r->spk_id, "%s", sl)) < 0)
				r->spk_id = NULL;
			free(sl);
		} else {
			r->spk_id = r->rec_id ? strdup(r->rec_id) : NULL;
		}
		char *sk = sanitize(key);
		if (sk && r->spk_id) {
			size_t pl = strlen(r->spk_id);
			if (!strncmp(sk, r->spk_id, pl) && sk[pl] == '-')
				r->utt_id = strdup(sk);
			else if (asprintf(&r->utt_id, "%s-%s", r->spk_id, sk) < 0)
				r->utt_id = NULL;
		}
		free(sk);
		if (!r->text || !r->path || !r->rec_id || !r->spk_id || !r->utt_id || !r->utt_key || !r->split) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot read utterances for export");
out:
	sqlite3_finalize(q);
	return rc;
}

static int cmp_utt(const void *a, const void *b)
{
	return strcmp(((const xrow *)a)->utt_id, ((const xrow *)b)->utt_id);
}

static int cmp_rec(const void *a, const void *b)
{
	return strcmp(((const xrow *)a)->rec_id, ((const xrow *)b)->rec_id);
}

static int cmp_spk_utt(const void *a, const void *b)
{
	const xrow *x = a, *y = b;
	int c = strcmp(x->spk_id, y->spk_id);
	return c ? c : strcmp(x->utt_id, y->utt_id);
}

/* Text fields of Kaldi files are one line each. */
static void put_line_text(FILE *fp, const char *s)
{
	for (; *s; s++)
		fputc(*s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s, fp);
}

/* 'm' or 'f' for the usual spellings of a corpus' gender field, else 0. */
static char kaldi_gender(const char *g)
{
	if (!g)
		return 0;
	if (!strcasecmp(g, "m") || !strcasecmp(g, "male") || !strcasecmp(g, "man"))
		return 'm';
	if (!strcasecmp(g, "f") || !strcasecmp(g, "female") || !strcasecmp(g, "woman"))
		return 'f';
	return 0;
}

/* 1 when Kaldi would read path as a plain RIFF WAV file name: a .wav
 * name that its rxfilename rules cannot mistake for something else (no
 * trailing '|' = pipe, no trailing ":<digits>" = offset, no leading or
 * trailing blank, which Kaldi trims or refuses). */
static int kaldi_plain_wav(const char *path)
{
	size_t n = strlen(path);
	if (n < 5 || strcasecmp(path + n - 4, ".wav") || path[0] != '/')
		return 0;
	return path[n - 1] != '|' && path[n - 1] != ' ' && path[n - 1] != '\t';
}

/* Write the rxfilename of one recording to wav.scp: the absolute path of a
 * WAV file, else the standard pipe form that decodes anything sox reads
 * (Kaldi reads only RIFF WAV; FLAC, MP3, Opus ... go through sox):
 *     sox 'PATH' -t wav -b 16 -e signed-integer - |
 * PATH is single-quoted for sh (a ' becomes '\''), so no file name can
 * add a command.  A name with a control character cannot be written to a
 * line-based file at all: ACC_EFORMAT (prep rejects such names). */
static int kaldi_rxfilename(FILE *fp, const char *rec_id, const char *path)
{
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			err_set(ACC_EFORMAT, "recording '%s': its path '%.200s' holds a control character, which wav.scp cannot hold",
				rec_id, path);
			err_hint("rename the file and ingest again ('prep ingest' now rejects such names as bad_path)");
			return ACC_EFORMAT;
		}
	if (kaldi_plain_wav(path)) {
		fprintf(fp, "%s %s\n", rec_id, path);
		return 0;
	}
	fprintf(fp, "%s sox '", rec_id);
	for (const char *p = path; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", fp);
		else
			fputc(*p, fp);
	}
	fputs("' -t wav -b 16 -e signed-integer - |\n", fp);
	return 0;
}

static int write_kaldi(xctx *x, const char *group)
{
	char dir[4096], t1[48], t2[48];
	FILE *wav, *seg, *text, *u2s, *s2u, *u2d, *r2d;
	int rc = fs_join(dir, sizeof dir, x->o->out_dir, group);
	if (rc)
		return rc;
	if (fs_mkdir_p(dir) != 0)
		return err_set(ACC_EIO, "cannot create directory '%s'", dir);
	if ((rc = xopen(x, dir, "wav.scp", &wav)) || (rc = xopen(x, dir, "segments", &seg)) ||
	    (rc = xopen(x, dir, "text", &text)) || (rc = xopen(x, dir, "utt2spk", &u2s)) ||
	    (rc = xopen(x, dir, "spk2utt", &s2u)) || (rc = xopen(x, dir, "utt2dur", &u2d)) ||
	    (rc = xopen(x, dir, "reco2dur", &r2d)))
		return rc;
	qsort(x->rows, x->n, sizeof *x->rows, cmp_utt);
	for (size_t i = 0; i < x->n; i++) {
		xrow *r = &x->rows[i];
		fprintf(seg, "%s %s %s %s\n", r->utt_id, r->rec_id, fmt_time(t1, r->start), fmt_time(t2, r->end));
		fprintf(text, "%s ", r->utt_id);
		put_line_text(text, r->text);
		fputc('\n', text);
		fprintf(u2s, "%s %s\n", r->utt_id, r->spk_id);
		fprintf(u2d, "%s %s\n", r->utt_id, fmt_time(t1, r->end - r->start));
	}
	qsort(x->rows, x->n, sizeof *x->rows, cmp_spk_utt);
	for (size_t i = 0; i < x->n; i++) {
		if (i == 0 || strcmp(x->rows[i].spk_id, x->rows[i - 1].spk_id))
			fprintf(s2u, "%s%s", i ? "\n" : "", x->rows[i].spk_id);
		fprintf(s2u, " %s", x->rows[i].utt_id);
	}
	if (x->n)
		fputc('\n', s2u);
	/* spk2gender only when every speaker's gender reads as m or f (Kaldi
	 * wants all of them or no file) */
	int all_known = x->n > 0;
	for (size_t i = 0; i < x->n && all_known; i++)
		all_known = kaldi_gender(x->rows[i].gender) != 0;
	if (all_known) {
		FILE *s2g;
		if ((rc = xopen(x, dir, "spk2gender", &s2g)))
			return rc;
		for (size_t i = 0; i < x->n; i++)
			if (i == 0 || strcmp(x->rows[i].spk_id, x->rows[i - 1].spk_id))
				fprintf(s2g, "%s %c\n", x->rows[i].spk_id, kaldi_gender(x->rows[i].gender));
	}
	qsort(x->rows, x->n, sizeof *x->rows, cmp_rec);
	for (size_t i = 0; i < x->n; i++) {
		if (i && !strcmp(x->rows[i].rec_id, x->rows[i - 1].rec_id))
			continue;
		if ((rc = kaldi_rxfilename(wav, x->rows[i].rec_id, x->rows[i].path)))
			return rc;
		fprintf(r2d, "%s %s\n", x->rows[i].rec_id, fmt_time(t1, x->rows[i].rec_dur));
	}
	return 0;
}

static int json_line(FILE *fp, json_t *obj)
{
	int rc = 0;
	if (!obj)
		return err_set(ACC_ENOMEM, "out of memory");
	if (json_dumpf(obj, fp, JSON_COMPACT | JSON_REAL_PRECISION(15)) != 0 || fputc('\n', fp) == EOF)
		rc = err_set(ACC_EIO, "cannot write the export");
	json_decref(obj);
	return rc;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int write_nemo(xctx *x, const char *group)
{
	char name[256];
	FILE *fp;
	int rc;
	snprintf(name, sizeof name, "%s_manifest.json", group);
	if ((rc = xopen(x, x->o->out_dir, name, &fp)))
		return rc;
	for (size_t i = 0; i < x->n && !rc; i++) {
		xrow *r = &x->rows[i];
		json_t *o = json_object();
		json_object_set_new(o, "audio_filepath", json_string(r->path));
		json_object_set_new(o, "offset", json_real(round_us(r->start)));
		json_object_set_new(o, "duration", json_real(round_us(r->end - r->start)));
		json_object_set_new(o, "text", json_string(r->text));
		json_object_set_new(o, "lang", str_or_null(r->lang));
		json_object_set_new(o, "speaker", json_string(r->spk_id));
		json_object_set_new(o, "utt_id", json_string(r->utt_id));
		if (r->has_weight)
			json_object_set_new(o, "weight", json_real(r->weight));
		rc = json_line(fp, o);
	}
	return rc;
}

static json_t *channel_list(int n)
{
	json_t *a = json_array();
	for (int c = 0; c < n; c++)
		json_array_append_new(a, json_integer(c));
	return a;
}

static int write_lhotse(xctx *x, const char *group)
{
	char name[256];
	FILE *rec, *sup;
	int rc;
	snprintf(name, sizeof name, "recordings_%s.jsonl", group);
	if ((rc = xopen(x, x->o->out_dir, name, &rec)))
		return rc;
	snprintf(name, sizeof name, "supervisions_%s.jsonl", group);
	if ((rc = xopen(x, x->o->out_dir, name, &sup)))
		return rc;
	for (size_t i = 0; i < x->n && !rc; i++) {
		xrow *r = &x->rows[i];
		json_t *o = json_object(), *custom = json_object();
		json_object_set_new(o, "id", json_string(r->utt_id));
		json_object_set_new(o, "recording_id", json_string(r->rec_id));
		json_object_set_new(o, "start", json_real(round_us(r->start)));
		json_object_set_new(o, "duration", json_real(round_us(r->end - r->start)));
		/* -1 = the down-mix of every channel */
		json_object_set_new(o, "channel", r->channel >= 0 ? json_integer(r->channel) :
				    r->nch == 1 ? json_integer(0) : channel_list(r->nch));
		json_object_set_new(o, "text", json_string(r->text));
		json_object_set_new(o, "language", str_or_null(r->lang));
		json_object_set_new(o, "speaker", json_string(r->spk_id));
		if (r->gender)
			json_object_set_new(o, "gender", json_string(r->gender));
		json_object_set_new(custom, "utt_key", json_string(r->utt_key));
		json_object_set_new(custom, "split", json_string(r->split));
		if (r->accent)
			json_object_set_new(custom, "accent", json_string(r->accent));
		if (r->has_weight)
			json_object_set_new(custom, "weight", json_real(r->weight));
		json_object_set_new(o, "custom", custom);
		rc = json_line(sup, o);
	}
	qsort(x->rows, x->n, sizeof *x->rows, cmp_rec);
	for (size_t i = 0; i < x->n && !rc; i++) {
		xrow *r = &x->rows[i];
		if (i && !strcmp(r->rec_id, x->rows[i - 1].rec_id))
			continue;
		json_t *o = json_object(), *src = json_object(), *srcs = json_array();
		json_object_set_new(src, "type", json_string("file"));
		json_object_set_new(src, "channels", channel_list(r->nch));
		json_object_set_new(src, "source", json_string(r->path));
		json_array_append_new(srcs, src);
		json_object_set_new(o, "id", json_string(r->rec_id));
		json_object_set_new(o, "sources", srcs);
		json_object_set_new(o, "sampling_rate", json_integer(r->sample_rate));
		json_object_set_new(o, "num_samples", json_integer((json_int_t)llround(r->rec_dur * r->sample_rate)));
		json_object_set_new(o, "duration", json_real(round_us(r->rec_dur)));
		json_object_set_new(o, "channel_ids", channel_list(r->nch));
		rc = json_line(rec, o);
	}
	return rc;
}

/* RFC 4180 field, then the separator (a line break after the last). */
static void csv_field(FILE *fp, const char *s, int last)
{
	dbquery_csv_field(fp, s);
	fputs(last ? "\n" : ",", fp);
}

static int write_hf_csv(xctx *x, const char *group)
{
	char name[256], t[48], wbuf[48];
	FILE *fp;
	int rc;
	snprintf(name, sizeof name, "%s.csv", group);
	if ((rc = xopen(x, x->o->out_dir, name, &fp)))
		return rc;
	fputs("audio,utt_id,start_s,end_s,duration_s,text,speaker,gender,accent,lang,split,weight\n", fp);
	for (size_t i = 0; i < x->n; i++) {
		xrow *r = &x->rows[i];
		csv_field(fp, r->path, 0);
		csv_field(fp, r->utt_id, 0);
		csv_field(fp, fmt_time(t, r->start), 0);
		csv_field(fp, fmt_time(t, r->end), 0);
		csv_field(fp, fmt_time(t, r->end - r->start), 0);
		csv_field(fp, r->text, 0);
		csv_field(fp, r->spk_id, 0);
		csv_field(fp, r->gender, 0);
		csv_field(fp, r->accent, 0);
		csv_field(fp, r->lang, 0);
		csv_field(fp, r->split, 0);
		if (r->has_weight)
			snprintf(wbuf, sizeof wbuf, "%.9g", r->weight);
		csv_field(fp, r->has_weight ? wbuf : NULL, 1);
	}
	return 0;
}

int export_write(manifest *m, const export_opts *o, export_stats *stout)
{
	xctx x = { .o = o };
	export_stats st = { 0 };
	sqlite3_stmt *q = NULL;
	char **groups = NULL;
	int ngroups = 0, rc, s;
	size_t gcap = 0;

	if (!o || !o->out_dir || !*o->out_dir)
		return err_set(ACC_EINVAL, "export needs an output directory");
	if (o->split && !strcmp(o->split, "excluded"))
		return err_set(ACC_EINVAL, "utterances of split 'excluded' are never exported");
	if ((rc = manifest_prepare(m, "SELECT count(*) > 1 FROM corpora", &q)))
		return rc;
	if (sqlite3_step(q) == SQLITE_ROW)
		x.multi_corpus = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	/* A consistent snapshot across the split groups. */
	if ((rc = manifest_exec(m, "BEGIN")))
		return rc;
	if ((rc = manifest_prepare(m,
		"SELECT DISTINCT coalesce(split, 'unassigned') AS g FROM utterances "
		"WHERE status = ?1 AND (?2 IS NULL OR coalesce(split, 'unassigned') = ?2) AND (?3 IS NULL OR lang = ?3) "
		"AND g <> 'excluded' ORDER BY g", &q)))
		goto out;
	sqlite3_bind_text(q, 1, o->status ? o->status : "ok", -1, SQLITE_STATIC);
	if (o->split)
		sqlite3_bind_text(q, 2, o->split, -1, SQLITE_STATIC);
	if (o->lang)
		sqlite3_bind_text(q, 3, o->lang, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		if ((rc = ARRAY_GROW(groups, gcap, (size_t)ngroups + 1)))
			goto out;
		if (!(groups[ngroups] = strdup((const char *)sqlite3_column_text(q, 0)))) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		ngroups++;
	}
	if (s != SQLITE_DONE) {
		rc = manifest_db_error(m, "cannot list the splits");
		goto out;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (!ngroups) {
		rc = err_set(ACC_ENOTFOUND, "no utterances to export (status '%s'%s%s%s%s)", o->status ? o->status : "ok",
			     o->split ? ", split " : "", o->split ? o->split : "", o->lang ? ", lang " : "", o->lang ? o->lang : "");
		if (o->lang)
			manifest_langs_hint(m, NULL);
		goto out;
	}
	if (fs_mkdir_p(o->out_dir) != 0) {
		rc = err_set(ACC_EIO, "cannot create directory '%s'", o->out_dir);
		goto out;
	}
	for (int g = 0; g < ngroups && !rc; g++) {
		if ((rc = load_rows(m, &x, groups[g])))
			break;
		st.utterances += (int64_t)x.n;
		switch (o->format) {
		case EXPORT_NEMO: rc = write_nemo(&x, groups[g]); break;
		case EXPORT_KALDI: rc = write_kaldi(&x, groups[g]); break;
		case EXPORT_LHOTSE: rc = write_lhotse(&x, groups[g]); break;
		case EXPORT_HF_CSV: rc = write_hf_csv(&x, groups[g]); break;
		default: rc = err_set(ACC_EINVAL, "unknown export format %d", (int)o->format);
		}
		qsort(x.rows, x.n, sizeof *x.rows, cmp_rec);
		for (size_t i = 0; i < x.n; i++)
			st.recordings += i == 0 || strcmp(x.rows[i].rec_id, x.rows[i - 1].rec_id);
		rows_clear(&x);
		st.splits++;
	}
	/* All or nothing: commit only when every file was written. */
	for (int i = 0; i < x.nfiles && !rc; i++)
		if (ferror(x.files[i].fp))
			rc = err_set(ACC_EIO, "cannot write '%s'", x.files[i].tmp);
	for (int i = 0; i < x.nfiles; i++) {
		if (!rc) {
			rc = fs_commit_tmp(x.files[i].fp, x.files[i].tmp, x.files[i].path);
			if (!rc)
				st.files++;
		} else {
			fs_abort_tmp(x.files[i].fp, x.files[i].tmp);
		}
	}
out:
	sqlite3_finalize(q);
	if (!sqlite3_get_autocommit(m->db))
		sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL);
	rows_clear(&x);
	free(x.rows);
	free(x.files);
	for (int g = 0; g < ngroups; g++)
		free(groups[g]);
	free(groups);
	if (!rc && stout)
		*stout = st;
	return rc;
}
