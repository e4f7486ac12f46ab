/*
 * report.c — the data queries of `db report` (see report.h).  Each is one
 * SQL aggregate whose result has a bounded number of rows, read through the
 * covering indexes of schemas/manifest.sql where it can: the page costs
 * a few index scans, never a row per utterance.  Filters and limits are
 * bound parameters (:lang, :run, :id, :kind, :limit); the SQL is constant.
 */
#include "report.h"
#include "dbquery.h"
#include "err.h"
#include <string.h>

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

int report_totals(manifest *m, const report_filter *f, json_t **rows)
{
	/* utterances_speaker (speaker_id, status, lang, start_s, end_s) covers
	 * the first sub-select: one index scan, no table row read. */
	static const char sql[] =
		"SELECT t.utterances, t.hours, t.speakers, t.languages, "
		"  (SELECT count(*) FROM utterances AS u WHERE u.status != 'ok' AND " LANG_U ") AS not_ok, "
		"  (SELECT count(*) FROM recordings) AS recordings, (SELECT count(*) FROM rejects) AS rejects "
		"FROM (SELECT count(*) AS utterances, coalesce(round(sum(u.end_s - u.start_s) / 3600.0, 3), 0) AS hours, "
		"             count(DISTINCT u.speaker_id) AS speakers, count(DISTINCT u.lang) AS languages "
		"      FROM utterances AS u INDEXED BY utterances_speaker WHERE u.status = 'ok' AND " LANG_U ") AS t";
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
			"FROM utterances AS u WHERE u.status = 'ok' AND " LANG_U " "
			"GROUP BY u.lang, u.split ORDER BY 1, CASE u.split WHEN 'train' THEN 0 WHEN 'dev' THEN 1 "
			"WHEN 'test' THEN 2 WHEN 'excluded' THEN 3 ELSE 4 END", &a, rows);
}

int report_speaker_shares(manifest *m, const report_filter *f, int limit, json_t **rows)
{
	/* Natural share from the covering index; the balanced share needs the
	 * utterance weights (one pass over the table, weights have no index). */
	static const char sql[] =
		"WITH t AS (SELECT u.speaker_id, count(*) AS n, sum(u.end_s - u.start_s) AS sec "
		"           FROM utterances AS u WHERE u.status = 'ok' AND u.speaker_id IS NOT NULL AND " LANG_U " "
		"           GROUP BY u.speaker_id), "
		"     w AS (SELECT u.speaker_id, sum(u.weight) AS mass FROM utterances AS u "
		"           WHERE u.weight IS NOT NULL AND u.speaker_id IS NOT NULL AND " LANG_U " GROUP BY u.speaker_id), "
		"     tot AS (SELECT (SELECT sum(sec) FROM t) AS sec, (SELECT sum(mass) FROM w) AS mass) "
		"SELECT s.label AS speaker, coalesce(s.lang, '') AS lang, coalesce(s.gender, '') AS gender, "
		"       coalesce(s.accent, '') AS accent, t.n AS utterances, round(t.sec / 3600.0, 4) AS hours, "
		"       round(t.sec / nullif(tot.sec, 0), 6) AS natural_share, "
		"       round(w.mass / nullif(tot.mass, 0), 6) AS balanced_share "
		"FROM t JOIN speakers AS s ON s.id = t.speaker_id LEFT JOIN w ON w.speaker_id = t.speaker_id "
		"CROSS JOIN tot ORDER BY t.sec DESC, s.label LIMIT :limit";
	qargs a = { .f = f, .limit = limit };
	return rows_sql(m, "cannot read the speaker shares", sql, &a, rows);
}

int report_duration_hist(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f };
	return rows_sql(m, "cannot read the duration histogram",
			"SELECT b AS bucket_s, CASE WHEN b = 20 THEN '20+' ELSE b || '-' || (b + 1) END AS range_s, "
			"       count(*) AS utterances, round(sum(d) / 3600.0, 4) AS hours "
			"FROM (SELECT min(CAST(u.end_s - u.start_s AS INTEGER), 20) AS b, u.end_s - u.start_s AS d "
			"      FROM utterances AS u WHERE u.status = 'ok' AND " LANG_U ") "
			"GROUP BY b ORDER BY b", &a, rows);
}

int report_hours_by_attr(manifest *m, const report_filter *f, const char *attr, json_t **rows)
{
	/* per speaker from the covering index first, then one join per speaker */
	static const char sql_gender[] =
		"SELECT coalesce(t.lang, '?') AS lang, coalesce(s.gender, 'unknown') AS gender, "
		"       count(t.speaker_id) AS speakers, sum(t.n) AS utterances, round(sum(t.sec) / 3600.0, 4) AS hours "
		"FROM (SELECT u.speaker_id, u.lang, count(*) AS n, sum(u.end_s - u.start_s) AS sec FROM utterances AS u "
		"      WHERE u.status = 'ok' AND " LANG_U " GROUP BY u.speaker_id, u.lang) AS t "
		"LEFT JOIN speakers AS s ON s.id = t.speaker_id GROUP BY 1, 2 ORDER BY 1, 2";
	static const char sql_accent[] =
		"SELECT coalesce(t.lang, '?') AS lang, coalesce(s.accent, 'unknown') AS accent, "
		"       count(t.speaker_id) AS speakers, sum(t.n) AS utterances, round(sum(t.sec) / 3600.0, 4) AS hours "
		"FROM (SELECT u.speaker_id, u.lang, count(*) AS n, sum(u.end_s - u.start_s) AS sec FROM utterances AS u "
		"      WHERE u.status = 'ok' AND " LANG_U " GROUP BY u.speaker_id, u.lang) AS t "
		"LEFT JOIN speakers AS s ON s.id = t.speaker_id GROUP BY 1, 2 ORDER BY 1, 2";
	qargs a = { .f = f };
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

int report_align_conf_hist(manifest *m, const report_filter *f, json_t **rows)
{
	/* bin = floor((x + 10) * 4) clamped to 0..39, computed without floor()
	 * (not every SQLite build has the math functions): x is clamped to
	 * [-10, 0] first, so the cast truncates a non-negative number. */
	qargs a = { .f = f };
	return rows_sql(m, "cannot read the alignment confidences",
			"SELECT a.lang, min(CAST((max(min(a.min_window_logp, 0), -10) + 10) * 4 AS INTEGER), 39) AS bin, "
			"       count(*) AS n "
			"FROM alignments AS a WHERE a.status = 'ok' AND a.min_window_logp IS NOT NULL "
			"  AND (:lang IS NULL OR a.lang = :lang) GROUP BY 1, 2 ORDER BY 1, 2", &a, rows);
}

int report_align_flags(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f };
	return rows_sql(m, "cannot read the alignment flags",
			"SELECT * FROM align_flag_counts WHERE (:lang IS NULL OR lang = :lang) ORDER BY lang", &a, rows);
}

int report_align_rate_outliers(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f, .limit = REPORT_MAX_WORST };
	return rows_sql(m, "cannot read the speaking-rate outliers",
			"SELECT utt_key, speaker, lang, chars_per_s, speaker_mean_rate, ratio, text_norm, "
			"       count(*) OVER () AS total "
			"FROM align_rate_outliers WHERE (:lang IS NULL OR lang = :lang) "
			"ORDER BY max(ratio, 1.0 / ratio) DESC, utt_key LIMIT :limit", &a, rows);
}

int report_align_worst(manifest *m, const report_filter *f, json_t **rows)
{
	qargs a = { .f = f, .limit = REPORT_MAX_WORST };
	return rows_sql(m, "cannot read the worst alignments",
			"SELECT utt_key, speaker, lang, duration_s, min_window_logp, mean_logp, flag_names, text_norm "
			"FROM align_quality WHERE min_window_logp IS NOT NULL AND (:lang IS NULL OR lang = :lang) "
			"ORDER BY min_window_logp, utt_key LIMIT :limit", &a, rows);
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

int report_eval_slice(manifest *m, int64_t eval_id, const char *kind, json_t **rows)
{
#define SLICE_RATES "count(*) AS utterances, " \
	"round(1.0 * sum(e.char_errors) / nullif(sum(e.ref_chars), 0), 4) AS cer, " \
	"round(1.0 * sum(e.word_errors) / nullif(sum(e.ref_words), 0), 4) AS wer "
#define SLICE_FROM "FROM eval_utterances AS e JOIN utterances AS u ON u.id = e.utterance_id " \
	"LEFT JOIN speakers AS s ON s.id = u.speaker_id WHERE e.eval_id = :id "
	static const struct { const char *kind, *sql; } q[] = {
		{ "speaker", "SELECT coalesce(s.label, '(unknown)') AS slice, " SLICE_RATES SLICE_FROM
			     "GROUP BY u.speaker_id ORDER BY cer DESC, slice LIMIT :limit" },
		{ "gender", "SELECT coalesce(s.gender, 'unknown') AS slice, " SLICE_RATES SLICE_FROM "GROUP BY 1 ORDER BY 1" },
		{ "accent", "SELECT coalesce(s.accent, 'unknown') AS slice, " SLICE_RATES SLICE_FROM "GROUP BY 1 ORDER BY 1" },
		{ "duration", "SELECT CASE WHEN e.duration_s < 2 THEN '0-2 s' WHEN e.duration_s < 5 THEN '2-5 s' "
			      "WHEN e.duration_s < 10 THEN '5-10 s' WHEN e.duration_s < 20 THEN '10-20 s' ELSE '20+ s' END "
			      "AS slice, " SLICE_RATES "FROM eval_utterances AS e WHERE e.eval_id = :id "
			      "GROUP BY 1 ORDER BY min(coalesce(e.duration_s, 0))" },
	};
#undef SLICE_RATES
#undef SLICE_FROM
	qargs a = { .id = eval_id, .limit = REPORT_MAX_SLICE };
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
		if (!strcmp(kind, q[i].kind))
			return rows_sql(m, "cannot read the evaluation slices", q[i].sql, &a, rows);
	return err_set(ACC_EINVAL, "no evaluation slice '%s' (speaker, gender, accent or duration)", kind);
}

int report_eval_worst(manifest *m, int64_t eval_id, json_t **rows)
{
	qargs a = { .id = eval_id, .limit = REPORT_MAX_EVAL_WORST };
	return rows_sql(m, "cannot read the worst evaluated utterances",
			"SELECT u.utt_key, e.ref, e.hyp, e.word_errors, e.ref_words, "
			"       round(1.0 * e.word_errors / nullif(e.ref_words, 0), 4) AS wer, "
			"       round(1.0 * e.char_errors / nullif(e.ref_chars, 0), 4) AS cer "
			"FROM eval_utterances AS e JOIN utterances AS u ON u.id = e.utterance_id WHERE e.eval_id = :id "
			"ORDER BY 1.0 * e.word_errors / max(e.ref_words, 1) DESC, 1.0 * e.char_errors / max(e.ref_chars, 1) DESC, "
			"         e.utterance_id LIMIT :limit", &a, rows);
}
