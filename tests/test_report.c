/*
 * test_report.c — the data queries of `db report` (lib/report/report.c) on the
 * synthetic manifest of tests/manifest_fixture.h, plus alignment, training
 * and evaluation rows added here.  Every expected value is recomputed in C
 * from the raw rows (one row per utterance / alignment / step), never read
 * from the aggregate the query under test produces.  Also: HTML escaping,
 * the <script>-safe JSON, and report_write's errors.
 */
#include "manifest/balance.h"
#include "check.h"
#include "manifest_fixture.h"
#include "report/report.h"
#include <math.h>

static manifest *M;
static const report_filter ALL = { 0 };

static json_t *row(json_t *rows, size_t i) { return json_array_get(rows, i); }
static double num(json_t *r, const char *k)
{
	json_t *v = json_object_get(r, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}
static const char *str(json_t *r, const char *k) { return json_string_value(json_object_get(r, k)); }

/* Find the row whose key k1 (and k2, when given) equal v1 (v2). */
static json_t *find(json_t *rows, const char *k1, const char *v1, const char *k2, const char *v2)
{
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		const char *a = str(r, k1), *b = k2 ? str(r, k2) : NULL;
		if (a && !strcmp(a, v1) && (!k2 || (b && !strcmp(b, v2))))
			return r;
	}
	return NULL;
}

/* Raw usable utterances: lang, split, speaker, gender, accent, seconds, weight. */
typedef struct utt {
	char lang[8], split[16], spk[32], gender[16], accent[16];
	int64_t speaker_id;
	double sec, weight;
	int ok;
} utt;
static utt U[2000];
static int NU;

static void load_utts(void)
{
	sqlite3_stmt *st;
	NU = 0;
	sqlite3_prepare_v2(M->db,
		"SELECT u.lang, coalesce(u.split, 'unassigned'), coalesce(s.label, ''), coalesce(s.gender, 'unknown'), "
		"coalesce(s.accent, 'unknown'), coalesce(u.speaker_id, 0), u.end_s - u.start_s, coalesce(u.weight, -1), "
		"u.status = 'ok' FROM utterances u LEFT JOIN speakers s ON s.id = u.speaker_id", -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW && NU < 2000) {
		utt *u = &U[NU++];
		snprintf(u->lang, sizeof u->lang, "%s", sqlite3_column_text(st, 0));
		snprintf(u->split, sizeof u->split, "%s", sqlite3_column_text(st, 1));
		snprintf(u->spk, sizeof u->spk, "%s", sqlite3_column_text(st, 2));
		snprintf(u->gender, sizeof u->gender, "%s", sqlite3_column_text(st, 3));
		snprintf(u->accent, sizeof u->accent, "%s", sqlite3_column_text(st, 4));
		u->speaker_id = sqlite3_column_int64(st, 5);
		u->sec = sqlite3_column_double(st, 6);
		u->weight = sqlite3_column_double(st, 7);
		u->ok = sqlite3_column_int(st, 8);
	}
	sqlite3_finalize(st);
}

/* fn's rows under filter f: n of them, the first with key = want */
static void check_first_row(int (*fn)(manifest *, const report_filter *, json_t **), const report_filter *f, size_t n,
			    const char *key, long long want)
{
	json_t *rows = NULL;
	CHECK_OK(fn(M, f, &rows));
	CHECK_EQ_INT(json_array_size(rows), n);
	CHECK_EQ_INT(num(row(rows, 0), key), want);
	json_decref(rows);
}

static void test_setup(void)
{
	fixture_opts o = { .n_speakers = 40, .accents = 1, .long_recording = 1 };
	split_opts so = SPLIT_OPTS_DEFAULT;
	balance_opts bo = BALANCE_OPTS_DEFAULT;
	split_stats ss;
	balance_stats bs;
	M = fixture_open("report", &o);
	CHECK(M != NULL);
	if (!M)
		exit(1);
	CHECK_OK(balance_split(M, &so, &ss));
	CHECK_OK(balance_weights(M, &bo, &bs));
	load_utts();
	CHECK(NU > 100);
}

static void test_totals(void)
{
	json_t *rows = NULL;
	const report_filter amh = { .lang = "amh" };
	for (int pass = 0; pass < 2; pass++) {
		const report_filter *f = pass ? &amh : &ALL;
		long long n = 0, not_ok = 0, spk_seen[64] = { 0 }, nspk = 0;
		double sec = 0;
		for (int i = 0; i < NU; i++) {
			if (f->lang && strcmp(U[i].lang, f->lang))
				continue;
			if (!U[i].ok) {
				not_ok++;
				continue;
			}
			n++;
			sec += U[i].sec;
			if (U[i].speaker_id && !spk_seen[U[i].speaker_id % 64]++)
				nspk++;
		}
		CHECK_OK(report_totals(M, f, &rows));
		CHECK_EQ_INT(json_array_size(rows), 1);
		CHECK_EQ_INT(num(row(rows, 0), "utterances"), n);
		CHECK_EQ_INT(num(row(rows, 0), "not_ok"), not_ok);
		CHECK_NEAR(num(row(rows, 0), "hours"), sec / 3600, 0.0006);
		CHECK_EQ_INT(num(row(rows, 0), "speakers"), nspk);
		CHECK_EQ_INT(num(row(rows, 0), "languages"), pass ? 1 : 2);
		CHECK_EQ_INT(num(row(rows, 0), "rejects"), 3);
		json_decref(rows);
	}
}

static void test_hours_lang_split(void)
{
	json_t *rows = NULL;
	static const char *const langs[] = { "amh", "eng" }, *const splits[] = { "train", "dev", "test", "unassigned" };
	CHECK_OK(report_hours_lang_split(M, &ALL, &rows));
	int nonempty = 0;
	for (int l = 0; l < 2; l++)
		for (int s = 0; s < 4; s++) {
			long long n = 0;
			double sec = 0;
			for (int i = 0; i < NU; i++)
				if (U[i].ok && !strcmp(U[i].lang, langs[l]) && !strcmp(U[i].split, splits[s]))
					n++, sec += U[i].sec;
			json_t *r = find(rows, "lang", langs[l], "split", splits[s]);
			if (!n) {
				CHECKF(!r, "%s/%s has no utterances but a row", langs[l], splits[s]);
				continue;
			}
			nonempty++;
			CHECKF(r != NULL, "no row for %s/%s", langs[l], splits[s]);
			CHECK_EQ_INT(num(r, "utterances"), n);
			CHECK_NEAR(num(r, "hours"), sec / 3600, 0.00006);
		}
	CHECK_EQ_INT(json_array_size(rows), nonempty);
	/* train before dev before test within a language */
	CHECK_STR(str(row(rows, 0), "split"), "train");
	json_decref(rows);
}

static void test_speaker_shares(void)
{
	json_t *rows = NULL;
	double tot_sec = 0, tot_w = 0;
	for (int i = 0; i < NU; i++) {
		if (U[i].ok && U[i].speaker_id)
			tot_sec += U[i].sec;
		if (U[i].weight >= 0 && U[i].speaker_id)
			tot_w += U[i].weight;
	}
	CHECK(tot_w > 0);
	CHECK_OK(report_speaker_shares(M, &ALL, 10, &rows));
	CHECK_EQ_INT(json_array_size(rows), 10);
	double prev = INFINITY, sum_nat = 0;
	size_t k;
	json_t *r;
	json_array_foreach(rows, k, r) {
		double sec = 0, w = 0;
		long long n = 0;
		for (int i = 0; i < NU; i++) {
			if (strcmp(U[i].spk, str(r, "speaker")))
				continue;
			if (U[i].ok)
				sec += U[i].sec, n++;
			if (U[i].weight >= 0)
				w += U[i].weight;
		}
		CHECK_EQ_INT(num(r, "utterances"), n);
		CHECK_NEAR(num(r, "hours"), sec / 3600, 0.00006);
		CHECK_NEAR(num(r, "natural_share"), sec / tot_sec, 1e-6);
		CHECK_NEAR(num(r, "balanced_share"), w / tot_w, 1e-6);
		CHECKF(sec <= prev + 1e-9, "speakers not largest first at row %zu", k);
		prev = sec;
		sum_nat += sec / tot_sec;
	}
	/* balancing (alpha 0.5) takes mass from the largest speakers */
	double sum_bal = 0;
	json_array_foreach(rows, k, r)
		sum_bal += num(r, "balanced_share");
	CHECKF(sum_bal < sum_nat, "balanced %g >= natural %g for the largest speakers", sum_bal, sum_nat);
	json_decref(rows);

	const report_filter eng = { .lang = "eng" };
	CHECK_OK(report_speaker_shares(M, &eng, -1, &rows));
	double s = 0;
	json_array_foreach(rows, k, r) {
		CHECK_STR(str(r, "lang"), "eng");
		s += num(r, "natural_share");
	}
	CHECK_NEAR(s, 1.0, 1e-4);  /* shares within the language */
	json_decref(rows);
}

static void test_duration_hist(void)
{
	json_t *rows = NULL;
	long long want[21] = { 0 };
	for (int i = 0; i < NU; i++)
		if (U[i].ok)
			want[U[i].sec >= 20 ? 20 : (int)floor(U[i].sec)]++;
	CHECK_OK(report_duration_hist(M, &ALL, &rows));
	size_t k;
	json_t *r;
	long long total = 0;
	json_array_foreach(rows, k, r) {
		int b = (int)num(r, "bucket_s");
		CHECK(b >= 0 && b <= 20);
		CHECK_EQ_INT(num(r, "utterances"), want[b]);
		total += (long long)num(r, "utterances");
		char range[16];
		snprintf(range, sizeof range, "%d-%d", b, b + 1);
		if (b < 20)
			CHECK_STR(str(r, "range_s"), range);
	}
	long long n = 0;
	for (int b = 0; b <= 20; b++)
		n += want[b];
	CHECK_EQ_INT(total, n);
	json_decref(rows);
}

static void test_by_attr(void)
{
	static const char *const attrs[] = { "gender", "accent" };
	for (int a = 0; a < 2; a++) {
		json_t *rows = NULL, *r;
		size_t k;
		CHECK_OK(report_hours_by_attr(M, &ALL, attrs[a], &rows));
		CHECK(json_array_size(rows) >= 2);
		json_array_foreach(rows, k, r) {
			const char *v = str(r, attrs[a]), *lang = str(r, "lang");
			double sec = 0;
			long long n = 0;
			for (int i = 0; i < NU; i++)
				if (U[i].ok && !strcmp(U[i].lang, lang) && !strcmp(a ? U[i].accent : U[i].gender, v))
					sec += U[i].sec, n++;
			CHECKF(n > 0, "%s %s/%s has a row but no utterance", attrs[a], lang, v);
			CHECK_EQ_INT(num(r, "utterances"), n);
			CHECK_NEAR(num(r, "hours"), sec / 3600, 0.00006);
		}
		json_decref(rows);
	}
	json_t *rows = NULL;
	CHECK(report_hours_by_attr(M, &ALL, "age; DROP TABLE x", &rows) == ACC_EINVAL);
	CHECK(rows == NULL);
}

static void test_rejects(void)
{
	json_t *rows = NULL;
	CHECK_OK(report_rejects(M, &rows));
	CHECK_EQ_INT(json_array_size(rows), 2);
	CHECK_STR(str(row(rows, 0), "reason"), "decode_error");
	CHECK_EQ_INT(num(row(rows, 0), "n"), 2);
	CHECK_STR(str(row(rows, 0), "examples"), "bad/x.wav: cannot decode\nbad/y.wav: cannot decode");
	CHECK_STR(str(row(rows, 1), "reason"), "empty_text");
	CHECK_EQ_INT(num(row(rows, 1), "n"), 1);
	json_decref(rows);
}

/* Alignments: every usable utterance of a speaker, min_window_logp from a
 * formula spanning -12..0; chars_per_s 12, but 40 for every 9th. */
static double conf_of(int64_t id) { return -12.0 + (double)(id * 5 % 49) / 4.0 + 0.15;  /* off the bin edges */ }

static void test_alignments(void)
{
	sqlite3_stmt *st;
	CHECK_OK(manifest_exec(M, "DELETE FROM alignments"));
	sqlite3_prepare_v2(M->db, "INSERT INTO alignments(utterance_id, lang, model_id, align_hash, status, "
			   "mean_logp, min_window_logp, chars_per_s, flags) SELECT id, lang, 'm', 'h', 'ok', -0.5, ?2, "
			   "?3, ?4 FROM utterances WHERE id = ?1", -1, &st, NULL);
	sqlite3_stmt *ids;
	sqlite3_prepare_v2(M->db, "SELECT id, lang FROM utterances WHERE status = 'ok' AND speaker_id IS NOT NULL", -1,
			   &ids, NULL);
	long long bins[2][REPORT_CONF_BINS] = { { 0 } }, flagged2 = 0, n = 0;
	while (sqlite3_step(ids) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(ids, 0);
		int l = strcmp((const char *)sqlite3_column_text(ids, 1), "amh") ? 1 : 0;
		double c = conf_of(id);
		int b = (int)floor((fmax(fmin(c, 0), -10) + 10) * 4);
		if (b > REPORT_CONF_BINS - 1)
			b = REPORT_CONF_BINS - 1;
		bins[l][b]++;
		int fl = (c < -9 ? 2 : 0) | (id % 9 == 0 ? 4 : 0);
		flagged2 += (fl & 2) != 0;
		n++;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_double(st, 2, c);
		sqlite3_bind_double(st, 3, id % 9 == 0 ? 40.0 : 12.0);
		sqlite3_bind_int(st, 4, fl);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
	}
	sqlite3_finalize(ids);
	sqlite3_finalize(st);

	json_t *rows = NULL, *r;
	size_t k;
	CHECK_OK(report_align_conf_hist(M, &ALL, &rows));
	long long got = 0;
	json_array_foreach(rows, k, r) {
		int l = strcmp(str(r, "lang"), "amh") ? 1 : 0;
		int b = (int)num(r, "bin");
		CHECK(b >= 0 && b < REPORT_CONF_BINS);
		CHECKF(num(r, "n") == bins[l][b], "%s bin %d: %g, want %lld", str(r, "lang"), b, num(r, "n"), bins[l][b]);
		got += (long long)num(r, "n");
	}
	CHECK_EQ_INT(got, n);
	CHECK(bins[0][0] + bins[1][0] > 0 && bins[0][REPORT_CONF_BINS - 1] + bins[1][REPORT_CONF_BINS - 1] > 0);  /* both clamps used */
	json_decref(rows);

	CHECK_OK(report_align_flags(M, &ALL, &rows));
	long long lowconf = 0, aligned = 0;
	json_array_foreach(rows, k, r) {
		lowconf += (long long)num(r, "low_confidence");
		aligned += (long long)num(r, "aligned");
	}
	CHECK_EQ_INT(lowconf, flagged2);
	CHECK_EQ_INT(aligned, n);
	json_decref(rows);

	/* worst: ascending confidence, capped */
	CHECK_OK(report_align_worst(M, &ALL, &rows));
	CHECK_EQ_INT(json_array_size(rows), REPORT_MAX_WORST);
	double prev = -INFINITY;
	json_array_foreach(rows, k, r) {
		CHECK(num(r, "min_window_logp") >= prev);
		prev = num(r, "min_window_logp");
		/* flag names: the bits set above (2 below -9, 4 for the fast ones), in bit order */
		const char *names = str(r, "flag_names");
		CHECK(names != NULL);
		if (!names)
			continue;
		CHECKF(!strcmp(names, "") || !strcmp(names, "low-confidence") || !strcmp(names, "rate") ||
			       !strcmp(names, "low-confidence rate"), "flag_names '%s'", names);
		CHECK((strstr(names, "low-confidence") != NULL) == (num(r, "min_window_logp") < -9));
	}
	CHECK_STR(str(row(rows, 0), "flag_names"), "low-confidence");
	CHECK_NEAR(num(row(rows, 0), "min_window_logp"), -11.85, 1e-9);
	json_decref(rows);

	/* rate outliers: the flagged (40 chars/s) ones, capped */
	long long want = 0;
	want = fixture_int(M, "SELECT count(*) FROM alignments WHERE flags & 4");
	CHECK(want > 0);
	CHECK_OK(report_align_rate_outliers(M, &ALL, &rows));
	CHECK_EQ_INT(json_array_size(rows), want < REPORT_MAX_WORST ? want : REPORT_MAX_WORST);
	CHECK_EQ_INT(num(row(rows, 0), "total"), want);
	json_array_foreach(rows, k, r)
		CHECK_NEAR(num(r, "chars_per_s"), 40.0, 1e-9);
	json_decref(rows);
	const report_filter amh = { .lang = "amh" };
	CHECK_OK(report_align_rate_outliers(M, &amh, &rows));
	CHECK_EQ_INT(num(row(rows, 0), "total"), fixture_int(M, "SELECT count(*) FROM alignments WHERE flags & 4 AND lang = 'amh'"));
	json_array_foreach(rows, k, r)
		CHECK_STR(str(r, "lang"), "amh");
	json_decref(rows);

	const report_filter none = { .lang = "xx" };
	CHECK_OK(report_align_flags(M, &none, &rows));
	CHECK_EQ_INT(json_array_size(rows), 0);
	json_decref(rows);
}

/* Learning curve of 1234 train steps and 12 dev evaluations. */
static void test_train_curve(void)
{
	CHECK_OK(manifest_exec(M,
		"INSERT INTO train_runs(id, lang, model_dir, out_dir, strategy, lr, steps, warmup, batch_seconds, accum, seed, "
		"sampling, best_step, best_dev_cer) VALUES (7, 'amh', 'base', 'out/amh', 'adapters', 0.001, 1234, 10, 60, 1, 1, "
		"'balanced', 600, 0.25), (8, 'eng', 'base', 'out/eng', 'adapters', 0.001, 10, 1, 60, 1, 1, 'uniform', NULL, NULL);"
		"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1234) "
		"INSERT INTO train_metrics(train_run_id, step, split, loss, lr) SELECT 7, i, 'train', 1000.0 / i, i * 1e-6 FROM s;"
		"WITH RECURSIVE s(i) AS (SELECT 100 UNION ALL SELECT i + 100 FROM s WHERE i < 1200) "
		"INSERT INTO train_metrics(train_run_id, step, split, loss, cer, wer) SELECT 7, i, 'dev', 1.0, i / 10000.0, i / 5000.0 FROM s;"));
	json_t *rows = NULL, *r;
	size_t k;
	CHECK_OK(report_train_curve(M, 7, "train", 500, &rows));
	int kk = (1234 + 499) / 500;  /* 3 steps per point */
	CHECK_EQ_INT(json_array_size(rows), (1234 + kk - 1) / kk);
	json_array_foreach(rows, k, r) {
		int first = (int)k * kk + 1, last = first + kk - 1 > 1234 ? 1234 : first + kk - 1;
		double loss = 0;
		for (int s = first; s <= last; s++)
			loss += 1000.0 / s;
		loss /= last - first + 1;
		CHECK_EQ_INT(num(r, "step"), last);
		CHECK_NEAR(num(r, "loss"), loss, 1e-9 * loss);
		CHECK_NEAR(num(r, "lr"), last * 1e-6, 1e-15);
	}
	json_decref(rows);
	CHECK_OK(report_train_curve(M, 7, "dev", 500, &rows));
	CHECK_EQ_INT(json_array_size(rows), 12);
	json_array_foreach(rows, k, r) {
		CHECK_EQ_INT(num(r, "step"), 100 * (k + 1));
		CHECK_NEAR(num(r, "cer"), (k + 1) / 100.0, 1e-12);
	}
	json_decref(rows);
	CHECK_OK(report_train_curve(M, 8, "train", 500, &rows));
	CHECK_EQ_INT(json_array_size(rows), 0);
	json_decref(rows);
	/* a diverged step (infinite loss; JSON has no infinity) reads as null */
	CHECK_OK(manifest_exec(M, "INSERT INTO train_metrics(train_run_id, step, split, loss, lr) VALUES "
				  "(8, 1, 'train', 1.5, 0.1), (8, 2, 'train', 9e999, 0.1)"));
	CHECK_OK(report_train_curve(M, 8, "train", 500, &rows));
	CHECK_EQ_INT(json_array_size(rows), 2);
	CHECK_NEAR(num(row(rows, 0), "loss"), 1.5, 1e-12);
	CHECK(json_is_null(json_object_get(row(rows, 1), "loss")));
	json_decref(rows);

	check_first_row(report_train_runs, &ALL, 2, "id", 8);  /* newest first */
	const report_filter run7 = { .train_run = 7 }, amh = { .lang = "amh" };
	check_first_row(report_train_runs, &run7, 1, "best_step", 600);
	check_first_row(report_train_runs, &amh, 1, "id", 7);
}

/* Evaluations of the test split's usable utterances: errors from the id. */
static void test_eval(void)
{
	CHECK_OK(manifest_exec(M,
		"INSERT INTO eval_runs(id, model_dir, lang, split, condition, decoder, utterances, audio_s, ref_chars, "
		"char_errors, ref_words, word_errors, cer, wer) VALUES "
		"(1, 'out/eng', 'eng', 'test', 'clean', 'greedy', 0, 0, 1, 0, 1, 0, 0.5, 0.5),"
		"(2, 'out/eng', 'eng', 'test', 'clean', 'beam', 0, 0, 1, 0, 1, 0, 0.4, 0.4),"
		"(3, 'out/eng', 'eng', 'test', 'clean', 'greedy', 0, 0, 1, 0, 1, 0, 0.3, 0.3),"
		"(4, 'out/eng', 'eng', 'test', 'white-snr10', 'greedy', 0, 0, 1, 0, 1, 0, 0.9, 0.9),"
		"(5, 'out/amh', 'amh', 'dev', 'clean', 'digits', 0, 0, 1, 0, 1, 0, 0.9, 0.9);"
		"UPDATE eval_runs SET subset = 'digits' WHERE id = 5;"
		"INSERT INTO eval_utterances(eval_id, utterance_id, ref, hyp, ref_chars, char_errors, ref_words, word_errors, duration_s) "
		"SELECT e.id, u.id, u.text_norm, 'hyp <' || u.id || '>', 20, (u.id * e.id) % 7, 4, (u.id + e.id) % 5, u.end_s - u.start_s "
		"FROM eval_runs e CROSS JOIN utterances u WHERE u.status = 'ok' AND u.lang = 'eng' AND u.text_norm IS NOT NULL AND e.id <= 4;"));
	json_t *rows = NULL, *r;
	size_t k;
	/* focus: newest clean 'all' eval (3, greedy) and the newest of each
	 * other decoder on the same model/lang/split (2, beam) */
	CHECK_OK(report_eval_focus(M, &ALL, &rows));
	CHECK_EQ_INT(json_array_size(rows), 2);
	CHECK_EQ_INT(num(row(rows, 0), "id"), 2);
	CHECK_STR(str(row(rows, 0), "decoder"), "beam");
	CHECK_EQ_INT(num(row(rows, 1), "id"), 3);
	json_decref(rows);
	const report_filter run7 = { .train_run = 7 };  /* out/amh: only a digits eval, so no focus */
	CHECK_OK(report_eval_focus(M, &run7, &rows));
	CHECK_EQ_INT(json_array_size(rows), 0);
	json_decref(rows);
	check_first_row(report_eval_runs, &run7, 1, "id", 5);
	check_first_row(report_eval_runs, &ALL, 5, "id", 5);

	/* slices of eval 3, recomputed from the raw rows */
	static const char *const kinds[] = { "duration", "gender", "accent", "speaker" };
	CHECK_OK(report_eval_slices(M, 3, &rows));
	int kd_prev = 0, per_kind[4] = { 0 };
	double prev = INFINITY;
	json_array_foreach(rows, k, r) {
		int kd = -1;
		for (int q = 0; q < 4; q++)
			if (!strcmp(str(r, "kind"), kinds[q]))
				kd = q;
		CHECKF(kd >= kd_prev, "kinds out of order at row %zu", k);
		if (kd < 0)
			continue;
		kd_prev = kd;
		per_kind[kd]++;
		sqlite3_stmt *st;
		long long ce = 0, rc_ = 0, we = 0, rw = 0, n = 0;
		sqlite3_prepare_v2(M->db,
			"SELECT coalesce(s.gender, 'unknown'), coalesce(s.accent, 'unknown'), coalesce(s.label, '(unknown)'), "
			"e.duration_s, e.char_errors, e.ref_chars, e.word_errors, e.ref_words FROM eval_utterances e "
			"JOIN utterances u ON u.id = e.utterance_id LEFT JOIN speakers s ON s.id = u.speaker_id WHERE e.eval_id = 3",
			-1, &st, NULL);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char dur[16];
			double d = sqlite3_column_double(st, 3);
			snprintf(dur, sizeof dur, "%s", d < 2 ? "0-2 s" : d < 5 ? "2-5 s" : d < 10 ? "5-10 s" : d < 20 ? "10-20 s" : "20+ s");
			const char *v = kd == 0 ? dur : (const char *)sqlite3_column_text(st, kd - 1);
			if (strcmp(v, str(r, "slice")))
				continue;
			n++;
			ce += sqlite3_column_int(st, 4);
			rc_ += sqlite3_column_int(st, 5);
			we += sqlite3_column_int(st, 6);
			rw += sqlite3_column_int(st, 7);
		}
		sqlite3_finalize(st);
		CHECKF(n > 0, "%s slice '%s' matches no utterance", kinds[kd], str(r, "slice"));
		CHECK_EQ_INT(num(r, "utterances"), n);
		CHECK_NEAR(num(r, "cer"), (double)ce / rc_, 0.00005);
		CHECK_NEAR(num(r, "wer"), (double)we / rw, 0.00005);
		if (kd == 3) {
			CHECK(num(r, "cer") <= prev);  /* worst speaker first */
			prev = num(r, "cer");
		}
	}
	for (int q = 0; q < 4; q++)
		CHECKF(per_kind[q] >= (q == 2 ? 3 : 2), "%d %s slices", per_kind[q], kinds[q]);
	/* slice utterances add up to the evaluation's, in every kind */
	long long total = fixture_int(M, "SELECT count(*) FROM eval_utterances WHERE eval_id = 3");
	for (int q = 0; q < 4; q++) {
		long long sum = 0;
		json_array_foreach(rows, k, r)
			if (!strcmp(str(r, "kind"), kinds[q]))
				sum += (long long)num(r, "utterances");
		CHECK_EQ_INT(sum, total);
	}
	json_decref(rows);

	/* worst: word errors per word descending, then char errors */
	CHECK_OK(report_eval_worst(M, 3, &rows));
	CHECK(json_array_size(rows) > 0 && json_array_size(rows) <= REPORT_MAX_EVAL_WORST);
	double pw = INFINITY, pc = INFINITY;
	json_array_foreach(rows, k, r) {
		double w = num(r, "wer"), c = num(r, "cer");
		CHECK(w < pw || (w == pw && c <= pc));
		pw = w;
		pc = c;
		CHECK(!strncmp(str(r, "hyp"), "hyp <", 5));
	}
	CHECK_NEAR(num(row(rows, 0), "wer"), 1.0, 1e-9);  /* (id + 3) % 5 == 4 -> 4 errors of 4 words */
	json_decref(rows);
}

static void test_schema_and_runs(void)
{
	json_t *rows = NULL;
	int n = 0;
	manifest_schemas(&n);
	CHECK_OK(report_schema_versions(M, &rows));
	CHECK_EQ_INT(json_array_size(rows), n);
	CHECK_STR(str(row(rows, 0), "name"), "manifest");
	json_decref(rows);
	CHECK_OK(report_runs(M, &rows));
	CHECK(json_array_size(rows) >= 1);
	CHECK(find(rows, "stage", "test fixture", NULL, NULL) != NULL);
	json_decref(rows);
}

static void test_escaping(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	report_html_text(fp, "<a href=\"x\">&'</a>");
	report_html_text(fp, NULL);
	fclose(fp);
	CHECK_STR(buf, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	free(buf);

	const char *hostile = "</script><!--<script>alert('x')</script>&amp; \xe2\x80\xa8 end";
	json_t *v = json_pack("{s:s, s:[i]}", "t", hostile, "n", 3);
	fp = open_memstream(&buf, &len);
	CHECK_OK(report_json_script(fp, v));
	fclose(fp);
	CHECK(!strchr(buf, '<') && !strchr(buf, '>') && !strchr(buf, '&'));
	json_error_t je;
	json_t *back = json_loads(buf, 0, &je);
	CHECK(back != NULL);
	CHECK_STR(json_string_value(json_object_get(back, "t")), hostile);
	json_decref(back);
	json_decref(v);
	free(buf);
}

static void test_write(void)
{
	char out[1024], js[1024], *page = NULL;
	size_t len;
	report_opts o = { 0 };
	report_stats st = { 0 };
	snprintf(js, sizeof js, "%s/fake-chart.js", TEST_TMP);
	snprintf(out, sizeof out, "%s/report.html", TEST_TMP);
	/* missing library: ENOTFOUND with a hint, no page */
	o.chartjs_path = js;
	CHECK(report_write(M, &o, out, &st) == ACC_ENOTFOUND);
	CHECK(err_hint_msg() && strstr(err_hint_msg(), "libjs-chart.js"));
	CHECK(!fs_exists(out));
	/* a library that would close the <script> element: refused */
	CHECK_OK(fs_write_atomic(js, "x = '</SCRIPT>';", 15));
	CHECK(report_write(M, &o, out, &st) == ACC_EFORMAT);
	CHECK_OK(fs_write_atomic(js, "window.Chart = function () {};", 30));
	o.filter.train_run = 99;
	CHECK(report_write(M, &o, out, &st) == ACC_EINVAL);
	CHECK(!fs_exists(out));
	o.filter.train_run = 7;
	CHECK_OK(report_write(M, &o, out, &st));
	CHECK_OK(fs_read_all(out, &page, &len, 0));
	CHECK_EQ_INT(st.bytes, len);
	CHECK(st.charts >= 10 && st.tables >= 10);
	CHECK(strstr(page, "window.Chart = function () {};") != NULL);
	CHECK(strstr(page, "Training run 7") && !strstr(page, "Training run 8"));
	CHECK(strstr(page, "hyp &lt;") == NULL);  /* eval of out/eng is not run 7's */
	/* canvases and chart specs agree */
	int canv = 0;
	for (const char *s = page; (s = strstr(s, "<canvas id=\"chart-")); s++)
		canv++;
	CHECK_EQ_INT(canv, st.charts);
	free(page);
	o.filter.train_run = 0;
	CHECK_OK(report_write(M, &o, out, &st));
	CHECK_OK(fs_read_all(out, &page, &len, 0));
	CHECK(strstr(page, "hyp &lt;") != NULL);  /* escaped hypotheses of out/eng */
	CHECK(strstr(page, "Worst utterances of evaluation #3 (greedy)") != NULL);
	free(page);
}

int main(void)
{
	RUN(test_setup);
	RUN(test_totals);
	RUN(test_hours_lang_split);
	RUN(test_speaker_shares);
	RUN(test_duration_hist);
	RUN(test_by_attr);
	RUN(test_rejects);
	RUN(test_alignments);
	RUN(test_train_curve);
	RUN(test_eval);
	RUN(test_schema_and_runs);
	RUN(test_escaping);
	RUN(test_write);
	manifest_close(M);
	return check_summary();
}
