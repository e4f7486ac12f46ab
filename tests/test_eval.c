/*
 * test_eval.c — evaluation reports (totals, groups, worst list, manifest
 * tables and views), evaluation sets and LM text from the manifest (train
 * split only), and the robustness conditions of augment.h.
 */
#include "decode/arpa.h"
#include "eval/augment.h"
#include "check.h"
#include "base/err.h"
#include "eval/eval.h"
#include "eval/eval_run.h"
#include "decode/lm_build.h"
#include "manifest_fixture.h"

/* Three pairs, edit counts by hand:
 *  1 "the cat sat" / "the cat sat": 0 of 3 words, 0 of 11 chars
 *  2 "a b c d" / "a x c": words b->x, d deleted = 2 of 4;
 *    chars "a b c d" (7) -> "a x c": b->x, " " and "d" deleted = 3 of 7
 *  3 "hello" / "": 1 of 1 words, 5 of 5 chars
 * Totals: WER 3/8, CER 8/23.  Gender: male = 1+2 -> WER 2/7, CER 3/18;
 * female = 3 -> WER 1, CER 1.  Worst first: 3, 2, 1. */
static void add_three(eval_report *r, const int64_t *ids)
{
	eval_item a = { .utt_id = ids ? ids[0] : 0, .utt_key = "u1", .ref = "the cat sat", .hyp = "the cat sat",
			.duration_s = 1.0, .speaker = "s1", .gender = "male" };
	eval_item b = { .utt_id = ids ? ids[1] : 0, .utt_key = "u2", .ref = "a b c d", .hyp = "a x c",
			.duration_s = 3.0, .speaker = "s1", .gender = "male", .accent = "north" };
	eval_item c = { .utt_id = ids ? ids[2] : 0, .utt_key = "u3", .ref = "hello", .hyp = "",
			.duration_s = 25.0, .speaker = "s2", .gender = "female" };
	CHECK_OK(eval_report_add(r, &a));
	CHECK_OK(eval_report_add(r, &b));
	CHECK_OK(eval_report_add(r, &c));
}

/* r's groups by dim into *g (free it): true when there are n of them */
static int groups_of(const eval_report *r, eval_dim dim, eval_group **g, int *n, int want)
{
	CHECK_OK(eval_report_groups(r, dim, g, n));
	CHECK_EQ_INT(*n, want);
	return *n == want;
}

static void test_report(void)
{
	eval_report *r = NULL;
	CHECK_OK(eval_report_new(&r));
	if (!r)
		return;
	add_three(r, NULL);
	const metrics_accum *t = eval_report_total(r);
	CHECK_EQ_INT(t->word.ref_len, 8);
	CHECK_NEAR(metrics_accum_wer(t), 3.0 / 8, 1e-12);
	CHECK_NEAR(metrics_accum_cer(t), 8.0 / 23, 1e-12);
	CHECK_NEAR(eval_report_audio_s(r), 29.0, 1e-12);

	eval_group *g = NULL;
	int n = 0;
	if (groups_of(r, EVAL_BY_GENDER, &g, &n, 2)) {
		CHECK_STR(g[0].name, "female");
		CHECK_NEAR(metrics_accum_wer(&g[0].acc), 1.0, 1e-12);
		CHECK_STR(g[1].name, "male");
		CHECK_NEAR(metrics_accum_wer(&g[1].acc), 2.0 / 7, 1e-12);
		CHECK_NEAR(metrics_accum_cer(&g[1].acc), 3.0 / 18, 1e-12);
	}
	free(g);
	if (groups_of(r, EVAL_BY_ACCENT, &g, &n, 2)) {
		CHECK_STR(g[0].name, "north");
		CHECK_STR(g[1].name, "unknown");
		CHECK_EQ_INT(g[1].acc.n, 2);
	}
	free(g);
	if (groups_of(r, EVAL_BY_DURATION, &g, &n, 3)) {
		CHECK_STR(g[0].name, "0-2");
		CHECK_STR(g[1].name, "2-5");
		CHECK_STR(g[2].name, "20+");
	}
	free(g);
	CHECK_STR(eval_duration_bucket(9.99), "5-10");
	CHECK_STR(eval_duration_bucket(10.0), "10-20");

	int *idx = NULL;
	CHECK_OK(eval_report_worst(r, &idx));
	if (idx) {
		CHECK_EQ_INT(idx[0], 2);
		CHECK_EQ_INT(idx[1], 1);
		CHECK_EQ_INT(idx[2], 0);
	}
	free(idx);

	/* The printed table carries the numbers. */
	char path[1024];
	snprintf(path, sizeof path, "%s/report.txt", TEST_TMP);
	FILE *fp = fopen(path, "w+");
	if (fp) {
		eval_report_print(r, fp, "test", 5);
		rewind(fp);
		char buf[8192];
		size_t len = fread(buf, 1, sizeof buf - 1, fp);
		buf[len] = 0;
		fclose(fp);
		CHECKF(strstr(buf, "37.50") != NULL, "no WER 37.50 in:\n%s", buf);   /* 3/8 */
		CHECKF(strstr(buf, "34.78") != NULL, "no CER 34.78 in:\n%s", buf);   /* 8/23 */
		CHECK(strstr(buf, "by gender") != NULL);
		CHECK(strstr(buf, "hyp: a x c") != NULL);
	}
	eval_report_free(r);
}

/* Splits for the fixture: utterance id % 5 -> 0,1,2 train, 3 dev, 4 test. */
static manifest *split_fixture(const char *name)
{
	fixture_opts fo = { .n_speakers = 9, .accents = 1 };
	manifest *m = fixture_open(name, &fo);
	if (!m)
		return NULL;
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET split = CASE id % 5 WHEN 3 THEN 'dev' WHEN 4 THEN 'test' ELSE 'train' END"));
	/* Words that exist only in one split, to detect leaks. */
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET text_norm = text_norm || ' devonlyword' WHERE split = 'dev'"));
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET text_norm = text_norm || ' testonlyword', flags = 1 WHERE split = 'test' AND id % 2 = 0"));
	return m;
}

static void test_lm_from_train_split_only(void)
{
	manifest *m = split_fixture("lmsplit");
	if (!m)
		return;
	lm_build *b = NULL;
	arpa *lm = NULL;
	uint64_t n = 0;
	CHECK_OK(lm_build_new(&b, 3));
	CHECK_OK(lm_build_add_manifest(b, m, "eng", "train", &n));
	long long want = fixture_int(m, "SELECT count(*) FROM utterances WHERE lang = 'eng' AND split = 'train' AND status = 'ok' AND text_norm IS NOT NULL");
	CHECK_EQ_INT((long long)n, want);
	CHECK(n > 5);
	lm_build_stats st;
	CHECK_OK(lm_build_estimate(b, &lm, &st));
	lm_build_free(b);
	if (!lm) {
		manifest_close(m);
		return;
	}
	CHECK_EQ_INT(arpa_word_id(lm, "devonlyword"), -1);
	CHECK_EQ_INT(arpa_word_id(lm, "testonlyword"), -1);
	/* Amharic text is another language: not in the English model. */
	CHECK_EQ_INT(arpa_word_id(lm, "ሰላም"), -1);
	arpa_ppl dev = { 0 };
	CHECK_OK(lm_ppl_manifest(lm, m, "eng", "dev", &dev));
	CHECK(dev.sentences > 0);
	CHECK(dev.oov >= dev.sentences);   /* at least "devonlyword" in each dev sentence */
	CHECK(isfinite(arpa_ppl_value(&dev)) && arpa_ppl_value(&dev) > 1);
	char path[1024];
	snprintf(path, sizeof path, "%s/eng.arpa", TEST_TMP);
	CHECK_OK(arpa_write(lm, path));
	CHECK_OK(lm_record(m, 0, path, "eng", lm, &st, &dev, NULL));
	CHECK_EQ_INT(fixture_int(m, "SELECT order_n FROM lm_models"), 3);
	CHECK_NEAR(fixture_real(m, "SELECT dev_ppl FROM lm_models"), arpa_ppl_value(&dev), 1e-9);
	arpa_free(lm);
	manifest_close(m);
}

static void test_set_and_store(void)
{
	manifest *m = split_fixture("evalstore");
	if (!m)
		return;
	utterance_list s = { 0 };
	CHECK_OK(eval_set_load(&s, m, "eng", "test", EVAL_SUBSET_ALL));
	long long want = fixture_int(m, "SELECT count(*) FROM utterances WHERE lang = 'eng' AND split = 'test' AND status = 'ok'");
	CHECK_EQ_INT(s.n, want);
	CHECK(s.n >= 3);
	for (size_t i = 0; i < s.n; i++)
		CHECK(s.u[i].audio_path[0] == '/' && s.u[i].end_s > s.u[i].start_s);
	utterance_list d = { 0 };
	CHECK_OK(eval_set_load(&d, m, "eng", "test", EVAL_SUBSET_DIGITS));
	long long wd = fixture_int(m, "SELECT count(*) FROM utterances WHERE lang = 'eng' AND split = 'test' AND status = 'ok' AND flags & 1");
	CHECK_EQ_INT(d.n, wd);
	CHECK(d.n < s.n);
	utterances_free(&d);

	if (s.n >= 3) {
		eval_report *r = NULL;
		CHECK_OK(eval_report_new(&r));
		int64_t ids[3] = { s.u[0].id, s.u[1].id, s.u[2].id };
		add_three(r, ids);
		eval_run_info info = { .model_dir = "/m", .lang = "eng", .split = "test", .decoder = "beam",
				       .lm_path = "/lm.arpa", .alpha = 0.5, .beta = 1, .beam = 16, .decode_s = 1.5 };
		int64_t eid = 0;
		CHECK_OK(eval_report_store(r, m, &info, &eid));
		CHECK(eid > 0);
		CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM eval_utterances"), 3);
		CHECK_EQ_INT(fixture_int(m, "SELECT word_errors FROM eval_runs"), 3);
		CHECK_NEAR(fixture_real(m, "SELECT wer FROM eval_runs"), 3.0 / 8, 1e-12);
		CHECK_NEAR(fixture_real(m, "SELECT sum(word_errors) * 1.0 / sum(ref_words) FROM eval_utterances"), 3.0 / 8, 1e-12);
		/* views */
		CHECK_EQ_INT(fixture_int(m, "SELECT count(*) FROM eval_by_duration"), 3);
		CHECK_EQ_INT(fixture_int(m, "SELECT word_errors FROM eval_worst LIMIT 1"), 1);
		CHECK_EQ_INT(fixture_int(m, "SELECT sum(utterances) FROM eval_by_speaker"), 3);
		CHECK_EQ_INT(fixture_int(m, "SELECT sum(utterances) FROM eval_by_gender"), 3);
		CHECK_EQ_INT(fixture_int(m, "SELECT sum(utterances) FROM eval_by_accent"), 3);
		eval_report_free(r);
	}
	utterances_free(&s);
	manifest_close(m);
}

/* ---- augment ---- */

static void tone(float *x, int64_t n, double f, double amp)
{
	for (int64_t i = 0; i < n; i++)
		x[i] = (float)(amp * sin(2 * M_PI * f * (double)i / 16000.0));
}

/* SNR measured here, independently of augment_snr_db. */
static double measure_snr(const float *clean, const float *noisy, int64_t n)
{
	double s = 0, e = 0;
	for (int64_t i = 0; i < n; i++) {
		s += (double)clean[i] * clean[i];
		e += ((double)noisy[i] - clean[i]) * ((double)noisy[i] - clean[i]);
	}
	return 10 * log10(s / e);
}

static void test_augment_noise(void)
{
	enum { N = 16000 };
	static float clean[N], x[N], o1[N / 2], o2[N / 3];
	tone(clean, N, 440, 0.3);
	double snrs[] = { 0, 5, 10, 20, 30 };
	for (int k = 0; k < 5; k++) {
		memcpy(x, clean, sizeof x);
		CHECK_OK(augment_white_noise(x, N, snrs[k], 42 + k));
		CHECK_NEAR(measure_snr(clean, x, N), snrs[k], 0.1);
		CHECK_NEAR(augment_snr_db(clean, x, N), snrs[k], 0.1);
	}
	/* Deterministic: same seed, same noise. */
	static float y[N];
	memcpy(x, clean, sizeof x);
	memcpy(y, clean, sizeof y);
	CHECK_OK(augment_white_noise(x, N, 10, 7));
	CHECK_OK(augment_white_noise(y, N, 10, 7));
	CHECK(!memcmp(x, y, sizeof x));
	/* White noise is flat: mean ~0, neighbouring samples uncorrelated. */
	double c = 0, v = 0;
	for (int i = 1; i < N; i++) {
		double a = x[i] - clean[i], b = x[i - 1] - clean[i - 1];
		c += a * b;
		v += a * a;
	}
	CHECK(fabs(c / v) < 0.05);

	/* Babble from two "other utterances" (tones here). */
	tone(o1, N / 2, 300, 0.5);
	tone(o2, N / 3, 1234, 0.05);
	const float *others[2] = { o1, o2 };
	int64_t on[2] = { N / 2, N / 3 };
	for (int k = 0; k < 3; k++) {
		memcpy(x, clean, sizeof x);
		CHECK_OK(augment_babble(x, N, others, on, 2, snrs[k + 1], 9));
		CHECK_NEAR(measure_snr(clean, x, N), snrs[k + 1], 0.1);
	}
	/* Silent signal: no SNR can be defined. */
	static float zero[100];
	CHECK_EQ_INT(augment_white_noise(zero, 100, 10, 1), ACC_EINVAL);
	const float *silent[1] = { zero };
	int64_t sn[1] = { 100 };
	memcpy(x, clean, sizeof x);
	CHECK_EQ_INT(augment_babble(x, N, silent, sn, 1, 10, 1), ACC_EINVAL);
}

/* Dominant frequency by a coarse DFT scan (1 Hz steps around the guess). */
static double peak_freq(const float *x, int64_t n, double lo, double hi)
{
	double best = 0, bf = lo;
	for (double f = lo; f <= hi; f += 1) {
		double re = 0, im = 0;
		for (int64_t i = 0; i < n; i++) {
			re += x[i] * cos(2 * M_PI * f * i / 16000.0);
			im += x[i] * sin(2 * M_PI * f * i / 16000.0);
		}
		if (re * re + im * im > best) {
			best = re * re + im * im;
			bf = f;
		}
	}
	return bf;
}

static void test_augment_speed_gain(void)
{
	enum { N = 32000 };
	static float x[N];
	tone(x, N, 500, 0.5);
	double factors[] = { 0.9, 1.1 };
	for (int k = 0; k < 2; k++) {
		float *y = NULL;
		int64_t ny = 0;
		CHECK_OK(augment_speed(x, N, factors[k], &y, &ny));
		CHECKF(llabs(ny - llround(N / factors[k])) <= 1, "factor %g: %lld samples, want %lld", factors[k],
		       (long long)ny, (long long)llround(N / factors[k]));
		/* Speed changes pitch by the factor too (500 Hz -> 450 / 550 Hz). */
		if (y && ny > 8000)
			CHECK_NEAR(peak_freq(y + 2000, 4000, 400, 600), 500 * factors[k], 2);
		free(y);
	}
	float *y = NULL;
	int64_t ny;
	CHECK_EQ_INT(augment_speed(x, N, 3.0, &y, &ny), ACC_EINVAL);

	static float g[N];
	memcpy(g, x, sizeof g);
	augment_gain(g, N, -6, 1);
	double r = 0, r0 = 0;
	for (int i = 0; i < N; i++) {
		r += (double)g[i] * g[i];
		r0 += (double)x[i] * x[i];
	}
	CHECK_NEAR(10 * log10(r / r0), -6, 1e-4);
	memcpy(g, x, sizeof g);
	augment_gain(g, N, 12, 1);   /* 0.5 * 3.98 clips at full scale */
	float mx = 0;
	for (int i = 0; i < N; i++)
		mx = fabsf(g[i]) > mx ? fabsf(g[i]) : mx;
	CHECK(mx == 1.0f);
}

/* The conditions `train eval` applies: names as stored in eval_runs, and
 * their effect on a signal. */
static void test_conditions(void)
{
	eval_condition c;
	eval_condition_set(&c, EVAL_COND_WHITE, 10);
	CHECK_STR(c.name, "white-snr10");
	eval_condition_set(&c, EVAL_COND_BABBLE, 20);
	CHECK_STR(c.name, "babble-snr20");
	eval_condition_set(&c, EVAL_COND_SPEED, 0.9);
	CHECK_STR(c.name, "speed0.9");
	eval_condition_set(&c, EVAL_COND_GAIN, -6);
	CHECK_STR(c.name, "gain-6");
	eval_condition_set(&c, EVAL_COND_GAIN, 6);
	CHECK_STR(c.name, "gain+6");

	int64_t n = 16000;
	float *x = malloc(sizeof(float) * n), *clean = malloc(sizeof(float) * n);
	tone(x, n, 300, 0.2);
	memcpy(clean, x, sizeof(float) * n);
	eval_condition_set(&c, EVAL_COND_SPEED, 1.1);
	CHECK_OK(eval_condition_apply(&c, &x, &n, NULL, NULL, 0, 1));
	CHECK(llabs(n - llround(16000 / 1.1)) <= 1);
	free(x);
	n = 16000;
	x = malloc(sizeof(float) * n);
	memcpy(x, clean, sizeof(float) * n);
	eval_condition_set(&c, EVAL_COND_WHITE, 20);
	CHECK_OK(eval_condition_apply(&c, &x, &n, NULL, NULL, 0, 3));
	CHECK_NEAR(measure_snr(clean, x, n), 20, 0.1);
	memcpy(x, clean, sizeof(float) * n);
	const float *others[1] = { clean };
	int64_t on[1] = { n };
	eval_condition_set(&c, EVAL_COND_BABBLE, 5);
	CHECK_OK(eval_condition_apply(&c, &x, &n, others, on, 1, 3));
	CHECK_NEAR(measure_snr(clean, x, n), 5, 0.1);
	eval_condition_set(&c, EVAL_COND_CLEAN, 0);
	memcpy(x, clean, sizeof(float) * n);
	CHECK_OK(eval_condition_apply(&c, &x, &n, NULL, NULL, 0, 3));
	CHECK(!memcmp(x, clean, sizeof(float) * n));
	free(x);
	free(clean);
}

int main(void)
{
	RUN(test_report);
	RUN(test_lm_from_train_split_only);
	RUN(test_set_and_store);
	RUN(test_augment_noise);
	RUN(test_augment_speed_gain);
	RUN(test_conditions);
	return check_summary();
}
