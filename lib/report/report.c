/*
 * report.c — the data queries of `db report` (see report.h).  Each is one
 * SQL aggregate whose result has a bounded number of rows.  On a manifest of
 * a million utterances the cost is the number of full passes and of sorts
 * over a million rows, so the queries are written for the plan: per-speaker
 * figures stream out of the covering index utterances_speaker in index
 * order (GROUP BY its own column order, status tested with a unary + so the
 * planner keeps that order and needs no sorter), and every per-speaker,
 * per-gender and per-accent figure is a small aggregate of that stream;
 * alignments are read in one sequential pass (NOT INDEXED: in index order
 * every row would be a random lookup) or through the covering
 * (lang, flags) index; the two histograms count one sequential pass into
 * their bins here, because SQLite groups only by sorting every row; lists
 * take their top rows before joining anything to them.  Filters and limits are bound parameters (:lang,
 * :run, :id, :text, :limit); the SQL is constant.
 */
#include "report/report.h"
#include "manifest/dbquery.h"
#include "base/err.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

/* The parameters a query may name; unnamed ones stay NULL. */
typedef struct qargs {
	const report_filter *f;
	int64_t     id;      /* :id (a training run, an evaluation) */
	const char *text;    /* :kind / :split */
	int         limit;   /* :limit */
} qargs;

static void bind_args(sqlite3_stmt *st, const qargs *a)
{
	int i;
	if (a->f && a->f->lang && (i = sqlite3_bind_parameter_index(st, ":lang")))
		sqlite3_bind_text(st, i, a->f->lang, -1, SQLITE_STATIC);
	if (a->f && a->f->train_run > 0 && (i = sqlite3_bind_parameter_index(st, ":run")))
		sqlite3_bind_int64(st, i, a->f->train_run);
	if ((i = sqlite3_bind_parameter_index(st, ":id")))
		sqlite3_bind_int64(st, i, a->id);
	if (a->text && (i = sqlite3_bind_parameter_index(st, ":text")))
		sqlite3_bind_text(st, i, a->text, -1, SQLITE_STATIC);
	if ((i = sqlite3_bind_parameter_index(st, ":limit")))
		sqlite3_bind_int(st, i, a->limit > 0 ? a->limit : -1);
}

/* Run sql with args and collect every row as an object column -> value. */
static int rows_sql(manifest *m, const char *what, const char *sql, const qargs *a, json_t **rows)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rc, s;
	*rows = NULL;
	if (!arr)
		return err_set(ACC_ENOMEM, "out of memory");
	if ((rc = manifest_prepare(m, sql, &st)))
		goto out;
	bind_args(st, a);
	int ncol = sqlite3_column_count(st);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		if (!o || json_array_append_new(arr, o)) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		for (int i = 0; i < ncol; i++) {
			json_t *v = dbquery_json_cell(st, i);
			/* JSON has no infinity (a diverged loss): shown as empty */
			if (!v && sqlite3_column_type(st, i) == SQLITE_FLOAT)
				v = json_null();
			if (!v || json_object_set_new(o, sqlite3_column_name(st, i), v)) {
				rc = err_set(ACC_ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	if (s != SQLITE_DONE)
		rc = manifest_db_error(m, what);
out:
	sqlite3_finalize(st);
	if (rc)
		json_decref(arr);
	else
		*rows = arr;
	return rc;
}

#define LANG_U "(:lang IS NULL OR u.lang = :lang)"

/* Utterances and seconds per (speaker, status, lang), streamed from the
 * covering index utterances_speaker in its own order: no sorter. */
#define PER_SPEAKER_STATUS \
	"(SELECT u.speaker_id, u.status, u.lang, count(*) AS n, sum(u.end_s - u.start_s) AS sec " \
	" FROM utterances AS u INDEXED BY utterances_speaker WHERE " LANG_U " " \
	" GROUP BY u.speaker_id, u.status, u.lang)"
/* The same for usable (status 'ok') utterances only; "+u.status" keeps the
 * planner from trading the index order for a sorter. */
#define PER_SPEAKER \
	"(SELECT u.speaker_id, u.lang, count(*) AS n, sum(u.end_s - u.start_s) AS sec " \
	" FROM utterances AS u INDEXED BY utterances_speaker WHERE +u.status = 'ok' AND " LANG_U " " \
	" GROUP BY u.speaker_id, u.status, u.lang)"

int report_totals(manifest *m, const report_filter *f, json_t **rows)
{
	static const char sql[] =
		"SELECT coalesce(sum(CASE WHEN t.status = 'ok' THEN t.n END), 0) AS utterances, "
		"       coalesce(round(sum(CASE WHEN t.status = 'ok' THEN t.sec END) / 3600.0, 3), 0) AS hours, "
		"       count(DISTINCT CASE WHEN t.status = 'ok' THEN t.speaker_id END) AS speakers, "
		"       count(DISTINCT CASE WHEN t.status = 'ok' THEN t.lang END) AS languages, "
		"       coalesce(sum(CASE WHEN t.status != 'ok' THEN t.n END), 0) AS not_ok, "
		"       (SELECT count(*) FROM corpora) AS corpora, (SELECT count(*) FROM rejects) AS rejects "
		"FROM " PER_SPEAKER_STATUS " AS t";
	qargs a = { .f = f };
	return rows_sql(m, "cannot count the utterances", sql, &a, rows);
}

int report_schema_versions(manifest *m, json_t **rows)
{
	qargs a = { 0 };
	return rows_sql(m, "cannot read the schema versions",
			"SELECT name, version, applied_at FROM schema_components ORDER BY rowid", &a, rows);
}

int report_runs(manifest *m, json_t **rows)
{
	qargs a = { .limit = REPORT_MAX_RUNS };
	return rows_sql(m, "cannot read the runs",
			"SELECT id, stage, command_line, version, started_at, ended_at, exit_code "
			"FROM runs ORDER BY id DESC LIMIT :limit", &a, rows);
}

int report_hours_lang_split(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f };
	return rows_sql(m, "cannot read hours by language and split",
			"SELECT coalesce(u.lang, '?') AS lang, coalesce(u.split, 'unassigned') AS split, "
			"       count(*) AS utterances, round(sum(u.end_s - u.start_s) / 3600.0, 4) AS hours "
			"FROM utterances AS u INDEXED BY utterances_lang_split WHERE +u.status = 'ok' AND " LANG_U " "
			"GROUP BY u.lang, u.split, u.status ORDER BY 1, CASE u.split WHEN 'train' THEN 0 WHEN 'dev' THEN 1 "
			"WHEN 'test' THEN 2 WHEN 'excluded' THEN 3 ELSE 4 END", &a, rows);
}

int report_speaker_shares(manifest *m, const report_filter *f, int limit, json_t **rows)
{
	/* The balanced mass of a speaker is its weight per second (speakers.weight,
	 * db weights) times its usable seconds: the sum of its utterances'
	 * weights without reading them (they have no index). */
	static const char sql[] =
		"WITH t AS (SELECT p.speaker_id, sum(p.n) AS n, sum(p.sec) AS sec FROM " PER_SPEAKER " AS p "
		"           WHERE p.speaker_id IS NOT NULL GROUP BY p.speaker_id), "
		"     tot AS (SELECT sum(t.sec) AS sec, sum(t.sec * s.weight) AS mass "
		"             FROM t JOIN speakers AS s ON s.id = t.speaker_id) "
		"SELECT s.label AS speaker, coalesce(s.lang, '') AS lang, coalesce(s.gender, '') AS gender, "
		"       coalesce(s.accent, '') AS accent, t.n AS utterances, round(t.sec / 3600.0, 4) AS hours, "
		"       round(t.sec / nullif(tot.sec, 0), 6) AS natural_share, "
		"       round(t.sec * s.weight / nullif(tot.mass, 0), 6) AS balanced_share "
		"FROM t JOIN speakers AS s ON s.id = t.speaker_id CROSS JOIN tot "
		"ORDER BY t.sec DESC, s.label LIMIT :limit";
	qargs a = { .f = f, .limit = limit };
	return rows_sql(m, "cannot read the speaker shares", sql, &a, rows);
}

/* Histograms over a million rows: SQLite groups only by sorting every row
 * (it has no hash aggregation), which costs several times the scan itself,
 * so these two step through one sequential scan and count into their few
 * bins here.  Returns the prepared statement bound with a's parameters. */
static int scan_begin(manifest *m, const char *sql, const qargs *a, sqlite3_stmt **st)
{
	int rc = manifest_prepare(m, sql, st);
	if (!rc)
		bind_args(*st, a);
	return rc;
}

/* After a scan's last step s: its rows array, empty for the caller to fill
 * from its bins; ACC_EDB (what failed) unless the scan ended normally. */
static int scan_rows(manifest *m, int s, const char *what, json_t **rows)
{
	if (s != SQLITE_DONE)
		return manifest_db_error(m, what);
	if (!(*rows = json_array()))
		return err_set(ACC_ENOMEM, "out of memory");
	return 0;
}

/* A scan's one cleanup path: the statement finalized and, on failure, no
 * rows.  Returns rc. */
static int scan_close(sqlite3_stmt *st, int rc, json_t **rows)
{
	sqlite3_finalize(st);
	if (rc) {
		json_decref(*rows);
		*rows = NULL;
	}
	return rc;
}

/* Append an object built from a json_pack format to rows. */
static int append_row(json_t *rows, json_t *row)
{
	if (!row || json_array_append_new(rows, row))
		return err_set(ACC_ENOMEM, "out of memory");
	return 0;
}

int report_duration_hist(manifest *m, const report_filter *f, json_t **rows)
{
	enum { NB = 21 };
	qargs a = { .f = f };
	sqlite3_stmt *st = NULL;
	int64_t n[NB] = { 0 };
	double sec[NB] = { 0 };
	int rc, s;
	*rows = NULL;
	if ((rc = scan_begin(m, "SELECT u.end_s - u.start_s FROM utterances AS u INDEXED BY utterances_speaker "
			     "WHERE +u.status = 'ok' AND " LANG_U, &a, &st)))
		return rc;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		double d = sqlite3_column_double(st, 0);
		int b = !(d > 0) ? 0 : d >= NB - 1 ? NB - 1 : (int)d;  /* [b, b+1) s; 20 = 20 s and more */
		n[b]++;
		sec[b] += d;
	}
	if ((rc = scan_rows(m, s, "cannot read the duration histogram", rows)))
		goto out;
	for (int b = 0; b < NB && !rc; b++) {
		char range[32];
		if (!n[b])
			continue;
		if (b == NB - 1)
			snprintf(range, sizeof range, "%d+", b);
		else
			snprintf(range, sizeof range, "%d-%d", b, b + 1);
		rc = append_row(*rows, json_pack("{s:i, s:s, s:I, s:f}", "bucket_s", b, "range_s", range, "utterances",
						 (json_int_t)n[b], "hours", round(sec[b] / 3600.0 * 1e4) / 1e4));
	}
out:
	return scan_close(st, rc, rows);
}

int report_hours_by_attr(manifest *m, const report_filter *f, const char *attr, json_t **rows)
{
	/* per speaker from the index stream, then one join per speaker */
	static const char sql_gender[] =
		"SELECT coalesce(t.lang, '?') AS lang, coalesce(s.gender, 'unknown') AS gender, "
		"       count(t.speaker_id) AS speakers, sum(t.n) AS utterances, round(sum(t.sec) / 3600.0, 4) AS hours "
		"FROM " PER_SPEAKER " AS t LEFT JOIN speakers AS s ON s.id = t.speaker_id GROUP BY 1, 2 "
		"ORDER BY 1, sum(t.sec) DESC, 2 LIMIT :limit";
	static const char sql_accent[] =
		"SELECT coalesce(t.lang, '?') AS lang, coalesce(s.accent, 'unknown') AS accent, "
		"       count(t.speaker_id) AS speakers, sum(t.n) AS utterances, round(sum(t.sec) / 3600.0, 4) AS hours "
		"FROM " PER_SPEAKER " AS t LEFT JOIN speakers AS s ON s.id = t.speaker_id GROUP BY 1, 2 "
		"ORDER BY 1, sum(t.sec) DESC, 2 LIMIT :limit";
	qargs a = { .f = f, .limit = REPORT_MAX_ATTR };
	if (strcmp(attr, "gender") && strcmp(attr, "accent"))
		return err_set(ACC_EINVAL, "no breakdown by '%s' (gender or accent)", attr);
	return rows_sql(m, "cannot read hours by speaker attribute", !strcmp(attr, "gender") ? sql_gender : sql_accent,
			&a, rows);
}

int report_rejects(manifest *m, json_t **rows)
{
	qargs a = { .limit = REPORT_REJECT_EXAMPLES };
	return rows_sql(m, "cannot read the rejects",
			"SELECT c.reason, c.n, "
			"       (SELECT group_concat(e.source || coalesce(': ' || e.message, ''), char(10)) "
			"        FROM (SELECT source, message FROM rejects AS r WHERE r.reason = c.reason "
			"              ORDER BY r.id LIMIT :limit) AS e) AS examples "
			"FROM (SELECT reason, count(*) AS n FROM rejects GROUP BY reason) AS c "
			"ORDER BY c.n DESC, c.reason", &a, rows);
}

typedef struct conf_lang {
	char   *lang;
	int64_t n[REPORT_CONF_BINS];
} conf_lang;

static int conf_lang_cmp(const void *x, const void *y)
{
	return strcmp(((const conf_lang *)x)->lang, ((const conf_lang *)y)->lang);
}

int report_align_conf_hist(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f };
	sqlite3_stmt *st = NULL;
	conf_lang *L = NULL;
	size_t nl = 0, last = 0, lcap = 0;
	int rc, s;
	*rows = NULL;
	if ((rc = scan_begin(m, "SELECT a.lang, a.min_window_logp FROM alignments AS a NOT INDEXED "
			     "WHERE a.status = 'ok' AND a.min_window_logp IS NOT NULL AND (:lang IS NULL OR a.lang = :lang)",
			     &a, &st)))
		return rc;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *lang = (const char *)sqlite3_column_text(st, 0);
		double x = sqlite3_column_double(st, 1);
		if (!lang)
			lang = "";
		/* languages are few and rows come in runs: remember the last one */
		if (!(last < nl && !strcmp(L[last].lang, lang))) {
			for (last = 0; last < nl && strcmp(L[last].lang, lang); last++)
				;
			if (last == nl) {
				if ((rc = ARRAY_GROW(L, lcap, nl + 1)))
					goto out;
				if (!(L[nl].lang = strdup(lang))) {
					rc = err_set(ACC_ENOMEM, "out of memory");
					goto out;
				}
				memset(L[nl].n, 0, sizeof L[nl].n);
				nl++;
			}
		}
		/* bin b = [-10 + b/4, -10 + (b+1)/4); below -10 in the first, 0 in the last */
		x = x < -10 ? -10 : x > 0 ? 0 : x;
		int b = (int)floor((x + 10) * 4);
		L[last].n[b < REPORT_CONF_BINS ? b : REPORT_CONF_BINS - 1]++;
	}
	if ((rc = scan_rows(m, s, "cannot read the alignment confidences", rows)))
		goto out;
	if (nl)
		qsort(L, nl, sizeof *L, conf_lang_cmp);
	for (size_t i = 0; i < nl && !rc; i++)
		for (int b = 0; b < REPORT_CONF_BINS && !rc; b++)
			if (L[i].n[b])
				rc = append_row(*rows, json_pack("{s:s, s:i, s:I}", "lang", L[i].lang, "bin", b, "n",
								 (json_int_t)L[i].n[b]));
out:
	for (size_t i = 0; i < nl; i++)
		free(L[i].lang);
	free(L);
	return scan_close(st, rc, rows);
}

int report_align_flags(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f };
	return rows_sql(m, "cannot read the alignment flags",
			"SELECT * FROM align_flag_counts WHERE (:lang IS NULL OR lang = :lang) ORDER BY lang", &a, rows);
}

int report_align_rate_outliers(manifest *m, const report_filter *f, json_t **rows)
{
	/* The flagged rows come from the covering (lang, flags) index; the
	 * fastest half and the slowest half of the shown rows. */
	qargs a = { .f = f, .limit = REPORT_MAX_WORST / 2 };
#define RATE_FLAGGED \
	"SELECT a.utterance_id, a.chars_per_s, count(*) OVER () AS total FROM alignments AS a " \
	"INDEXED BY alignments_lang_flags WHERE (a.flags & 4) != 0 AND (:lang IS NULL OR a.lang = :lang) "
	static const char sql[] =
		"SELECT u.utt_key, s.label AS speaker, u.lang, round(r.chars_per_s, 2) AS chars_per_s, "
		"       round(u.end_s - u.start_s, 2) AS duration_s, u.text_norm, r.total "
		"FROM (SELECT * FROM (" RATE_FLAGGED "ORDER BY a.chars_per_s DESC, a.utterance_id LIMIT :limit) "
		"      UNION SELECT * FROM (" RATE_FLAGGED "ORDER BY a.chars_per_s, a.utterance_id DESC LIMIT :limit)) AS r "
		"JOIN utterances AS u ON u.id = r.utterance_id LEFT JOIN speakers AS s ON s.id = u.speaker_id "
		"ORDER BY r.chars_per_s DESC, u.utt_key";
#undef RATE_FLAGGED
	return rows_sql(m, "cannot read the speaking-rate outliers", sql, &a, rows);
}

int report_align_worst(manifest *m, const report_filter *f, json_t **rows)
{
	/* the few worst in one sequential pass, then their details; a flag
	 * bit of schemas/align.sql's alignments.flags becomes its name */
	qargs a = { .f = f, .limit = REPORT_MAX_WORST };
#define FLAG(bit, name) "(CASE WHEN w.flags & " #bit " THEN '" name " ' ELSE '' END)"
	return rows_sql(m, "cannot read the worst alignments",
			"SELECT u.utt_key, s.label AS speaker, w.lang, round(u.end_s - u.start_s, 3) AS duration_s, "
			"       round(w.min_window_logp, 4) AS min_window_logp, round(w.mean_logp, 4) AS mean_logp, "
			"       trim(" FLAG(1, "impossible") " || " FLAG(2, "low-confidence") " || " FLAG(4, "rate") " || "
			FLAG(8, "edge") " || " FLAG(16, "oov") " || " FLAG(32, "empty-audio") " || " FLAG(64, "empty-text")
			" || " FLAG(128, "error") ") AS flag_names, u.text_norm "
			"FROM (SELECT a.utterance_id, a.lang, a.min_window_logp, a.mean_logp, a.flags FROM alignments AS a NOT INDEXED "
			"      WHERE a.min_window_logp IS NOT NULL AND (:lang IS NULL OR a.lang = :lang) "
			"      ORDER BY a.min_window_logp, a.utterance_id LIMIT :limit) AS w "
			"JOIN utterances AS u ON u.id = w.utterance_id LEFT JOIN speakers AS s ON s.id = u.speaker_id "
			"ORDER BY w.min_window_logp, w.utterance_id", &a, rows);
#undef FLAG
}

int report_train_runs(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f, .limit = REPORT_MAX_TRAIN_RUNS };
	return rows_sql(m, "cannot read the training runs",
			"SELECT t.id, t.lang, t.strategy, t.status, t.steps_done, t.steps, t.lr, t.sampling, "
			"       t.n_train, t.n_dev, t.best_step, round(t.best_dev_cer, 4) AS best_dev_cer, "
			"       round(t.best_dev_wer, 4) AS best_dev_wer, t.started_at, r.command_line "
			"FROM train_runs AS t LEFT JOIN runs AS r ON r.id = t.run_id "
			"WHERE (:run IS NULL OR t.id = :run) AND (:lang IS NULL OR t.lang = :lang) "
			"ORDER BY t.id DESC LIMIT :limit", &a, rows);
}

int report_train_curve(manifest *m, int64_t train_run, const char *split, int max_points, json_t **rows)
{
	/* Bucket k = ceil(steps / max_points) consecutive steps; the row of the
	 * bucket's last step gives step and lr (SQLite's bare-column rule with
	 * one max() aggregate), loss/cer/wer are the bucket's means. */
	qargs a = { .id = train_run, .text = split, .limit = max_points };
	return rows_sql(m, "cannot read the learning curve",
			"WITH k AS (SELECT max(1, (count(*) + :limit - 1) / :limit) AS k FROM train_metrics "
			"           WHERE train_run_id = :id AND split = :text), "
			"     r AS (SELECT row_number() OVER (ORDER BY step) - 1 AS i, step, loss, lr, cer, wer "
			"           FROM train_metrics WHERE train_run_id = :id AND split = :text) "
			"SELECT max(r.step) AS step, avg(r.loss) AS loss, r.lr, avg(r.cer) AS cer, avg(r.wer) AS wer "
			"FROM r CROSS JOIN k GROUP BY r.i / k.k ORDER BY 1", &a, rows);
}

/* evaluations of the --run's output directory only */
#define EVAL_FILTER "(:lang IS NULL OR e.lang = :lang) AND " \
	"(:run IS NULL OR e.model_dir = (SELECT out_dir FROM train_runs WHERE id = :run))"

int report_eval_runs(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f, .limit = REPORT_MAX_EVALS };
	return rows_sql(m, "cannot read the evaluations",
			"SELECT e.id, e.lang, e.split, e.subset, e.condition, e.decoder, e.alpha, e.beta, e.beam, "
			"       e.utterances, round(e.audio_s / 3600.0, 4) AS hours, round(e.cer, 4) AS cer, "
			"       round(e.wer, 4) AS wer, e.model_dir, e.created_at "
			"FROM eval_runs AS e WHERE " EVAL_FILTER " ORDER BY e.id DESC LIMIT :limit", &a, rows);
}

int report_eval_focus(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f };
	return rows_sql(m, "cannot read the evaluations",
			"WITH top AS (SELECT e.model_dir, e.lang, e.split FROM eval_runs AS e "
			"             WHERE e.condition = 'clean' AND e.subset = 'all' AND " EVAL_FILTER " "
			"             ORDER BY e.id DESC LIMIT 1) "
			"SELECT max(e.id) AS id, e.decoder, e.model_dir, e.lang, e.split "
			"FROM eval_runs AS e JOIN top ON top.model_dir = e.model_dir AND top.lang = e.lang "
			"     AND top.split = e.split "
			"WHERE e.condition = 'clean' AND e.subset = 'all' GROUP BY e.decoder ORDER BY 1", &a, rows);
}

int report_eval_slices(manifest *m, int64_t eval_id, json_t **rows)
{
	/* One pass over the evaluation's rows into errors per (speaker,
	 * duration bucket); every slice is a small aggregate of that. */
	static const char sql[] =
		"WITH b AS MATERIALIZED ("
		"  SELECT u.speaker_id AS spk, CASE WHEN e.duration_s < 2 THEN 0 WHEN e.duration_s < 5 THEN 1 "
		"         WHEN e.duration_s < 10 THEN 2 WHEN e.duration_s < 20 THEN 3 ELSE 4 END AS db, count(*) AS n, "
		"         sum(e.char_errors) AS ce, sum(e.ref_chars) AS rc, sum(e.word_errors) AS we, sum(e.ref_words) AS rw "
		"  FROM eval_utterances AS e JOIN utterances AS u ON u.id = e.utterance_id WHERE e.eval_id = :id "
		"  GROUP BY 1, 2), "
		"r AS ("
		"  SELECT 0 AS k, 'duration' AS kind, b.db AS o, "
		"         CASE b.db WHEN 0 THEN '0-2 s' WHEN 1 THEN '2-5 s' WHEN 2 THEN '5-10 s' WHEN 3 THEN '10-20 s' "
		"         ELSE '20+ s' END AS slice, sum(n) AS n, sum(ce) AS ce, sum(rc) AS rc, sum(we) AS we, sum(rw) AS rw "
		"  FROM b GROUP BY b.db "
		"  UNION ALL SELECT 1, 'gender', 0, coalesce(s.gender, 'unknown'), sum(n), sum(ce), sum(rc), sum(we), sum(rw) "
		"  FROM b LEFT JOIN speakers AS s ON s.id = b.spk GROUP BY 4 "
		"  UNION ALL SELECT 2, 'accent', 0, coalesce(s.accent, 'unknown'), sum(n), sum(ce), sum(rc), sum(we), sum(rw) "
		"  FROM b LEFT JOIN speakers AS s ON s.id = b.spk GROUP BY 4 "
		"  UNION ALL SELECT 3, 'speaker', 0, coalesce(s.label, '(unknown)'), sum(n), sum(ce), sum(rc), sum(we), sum(rw) "
		"  FROM b LEFT JOIN speakers AS s ON s.id = b.spk GROUP BY b.spk), "
		"q AS (SELECT k, kind, o, slice, n, round(1.0 * ce / nullif(rc, 0), 4) AS cer, "
		"             round(1.0 * we / nullif(rw, 0), 4) AS wer FROM r) "
		"SELECT kind, slice, n AS utterances, cer, wer FROM "
		" (SELECT *, row_number() OVER (PARTITION BY k ORDER BY CASE WHEN k = 3 THEN -cer END, o, slice) AS i FROM q) "
		"WHERE i <= :limit ORDER BY k, i";
	qargs a = { .id = eval_id, .limit = REPORT_MAX_SLICE };
	return rows_sql(m, "cannot read the evaluation slices", sql, &a, rows);
}

int report_eval_worst(manifest *m, int64_t eval_id, json_t **rows)
{
	/* the worst few of the evaluation's rows first, then their keys */
	qargs a = { .id = eval_id, .limit = REPORT_MAX_EVAL_WORST };
	return rows_sql(m, "cannot read the worst evaluated utterances",
			"SELECT u.utt_key, w.ref, w.hyp, w.word_errors, w.ref_words, "
			"       round(1.0 * w.word_errors / nullif(w.ref_words, 0), 4) AS wer, "
			"       round(1.0 * w.char_errors / nullif(w.ref_chars, 0), 4) AS cer "
			"FROM (SELECT e.utterance_id, e.ref, e.hyp, e.word_errors, e.ref_words, e.char_errors, e.ref_chars, "
			"             1.0 * e.word_errors / max(e.ref_words, 1) AS kw, 1.0 * e.char_errors / max(e.ref_chars, 1) AS kc "
			"      FROM eval_utterances AS e WHERE e.eval_id = :id "
			"      ORDER BY kw DESC, kc DESC, e.utterance_id LIMIT :limit) AS w "
			"JOIN utterances AS u ON u.id = w.utterance_id ORDER BY w.kw DESC, w.kc DESC, w.utterance_id", &a, rows);
}
