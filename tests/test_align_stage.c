/*
 * test_align_stage.c — the align stage without a neural model: the pure
 * core (token policies, one-utterance alignment with quality flags, the
 * lines of a long recording and its segmentation cuts),
 * and a whole run over a manifest with a "coded audio" emitter (each 20 ms
 * frame of the synthesized audio holds a constant level that names the
 * token it stands for, so the right alignment is known in advance): rows
 * stored, word times exact, staleness, resume after an interruption with
 * nothing aligned twice, exports parsed back, `show`.
 */
#include "align/align_export.h"
#include "align/align_run.h"
#include "align/align_segment.h"
#include "audio/audio.h"
#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include <jansson.h>

#define VOCAB TEST_DATA("data/hf-wav2vec2/tokenizer/vocab.json")
#define LEVEL 0.02   /* audio level of token id k: k * LEVEL */

static void test_tokens(void)
{
	vocab *v = NULL;
	CHECK_OK(vocab_load(&v, VOCAB, "eng"));
	if (!v)
		return;
	int V = vocab_size(v), *ids = NULL;
	int64_t n = 0;
	char *used = NULL;
	vocab_oov oov = { 0 };
	/* spaces collapsed and trimmed, unknown -> <unk> */
	CHECK_OK(align_tokens(v, "  ab   c! ", ALIGN_OOV_UNK, -1, &ids, &n, &oov, &used));
	int w1[] = { 5, 6, 4, 7, 3 };
	CHECK_EQ_INT(n, 5);
	for (int i = 0; i < n && i < 5; i++)
		CHECK_EQ_INT(ids[i], w1[i]);
	CHECK_STR(used, "ab c!");
	CHECK_EQ_INT(oov.total, 1);
	free(ids);
	free(used);
	vocab_oov_free(&oov);
	/* star policy */
	CHECK_OK(align_tokens(v, "a!b", ALIGN_OOV_STAR, V, &ids, &n, &oov, &used));
	CHECK_EQ_INT(n, 3);
	if (n == 3)
		CHECK_EQ_INT(ids[1], V);
	free(ids);
	free(used);
	vocab_oov_free(&oov);
	/* romanize: Cyrillic and accents become ASCII letters of the vocabulary */
	CHECK_OK(align_tokens(v, "Café мир", ALIGN_OOV_ROMANIZE, -1, &ids, &n, &oov, &used));
	CHECK_STR(used, "cafe mir");
	CHECK_EQ_INT(n, 8);
	for (int i = 0; i < n; i++)
		CHECK(ids[i] != 3);
	CHECKF(oov.n >= 4, "original missing characters reported: %d", oov.n);
	free(ids);
	free(used);
	vocab_oov_free(&oov);
	vocab_free(v);
	align_oov_policy p;
	CHECK_OK(align_oov_parse("romanize", &p));
	CHECK_EQ_INT(p, ALIGN_OOV_ROMANIZE);
	CHECK_EQ_INT(align_oov_parse("drop", &p), ACC_EINVAL);
}

/* Planted frame labels for ids: 5 blank frames, each token 3 frames with a
 * blank frame between equal neighbours, 5 blank frames after. */
static int plant(const int *ids, int n, int *lab, int cap)
{
	int t = 0;
	for (int k = 0; k < 5; k++)
		lab[t++] = 0;
	for (int i = 0; i < n && t + 10 < cap; i++) {
		if (i > 0 && ids[i] == ids[i - 1])
			lab[t++] = 0;
		for (int k = 0; k < 3; k++)
			lab[t++] = ids[i];
	}
	for (int k = 0; k < 5; k++)
		lab[t++] = 0;
	return t;
}

static float *emissions_for(const int *lab, int T, int V)
{
	float *e = malloc(sizeof(float) * T * V);
	for (int t = 0; t < T; t++)
		for (int v = 0; v < V; v++)
			e[t * V + v] = v == lab[t] ? -0.01f : -8.0f;
	return e;
}

static void test_one(void)
{
	vocab *v = NULL;
	CHECK_OK(vocab_load(&v, VOCAB, "eng"));
	if (!v)
		return;
	int V = vocab_size(v), *ids = NULL, lab[200];
	int64_t n;
	char *used;
	vocab_oov oov = { 0 };
	CHECK_OK(align_tokens(v, "hello world", ALIGN_OOV_UNK, -1, &ids, &n, &oov, &used));
	int T = plant(ids, (int)n, lab, 200);
	float *e = emissions_for(lab, T, V);
	align_params p;
	align_params_default(&p);
	align_result r;
	CHECK_OK(align_one(e, T, V, 0, v, ids, n, used, &p, &r));
	CHECK(r.status_ok);
	CHECK_EQ_INT(r.flags, 0);
	CHECK_EQ_INT(r.nwords, 2);
	if (r.nwords == 2) {
		CHECK_STR(r.word_text[0], "hello");
		CHECK_STR(r.word_text[1], "world");
		CHECK_EQ_INT(r.words[0].start, 5);
		/* h e l _ l o: 5 tokens + 1 blank -> 16 frames; the word ends at
		 * the end of the '|' after it, ALIGN_WORD_TAIL frames past 'o' */
		CHECK_EQ_INT(r.words[0].end, 5 + 16 + ALIGN_WORD_TAIL);
		/* the last word: ALIGN_WORD_TAIL frames into the trailing blanks */
		CHECK_EQ_INT(r.words[1].end, T - 5 + ALIGN_WORD_TAIL);
	}
	CHECK_NEAR(r.lead_s, 0.10, 1e-12);
	CHECK_NEAR(r.trail_s, 0.10, 1e-12);
	CHECK_NEAR(r.mean_logp, -0.01, 1e-6);
	CHECK_NEAR(r.chars_per_s, 10 / align_frame_time(T - 10), 1e-9);
	align_result_free(&r);
	/* low confidence: the same path, but all emissions poor */
	for (int i = 0; i < T * V; i++)
		e[i] -= 6.0f;
	CHECK_OK(align_one(e, T, V, 0, v, ids, n, used, &p, &r));
	CHECK(r.status_ok);
	CHECK(r.flags & ALIGN_FLAG_LOW_CONF);
	align_result_free(&r);
	/* impossible: 12 frames for 11 tokens + 1 repeat (ll) = 12 is fine, 11 is not */
	CHECK_OK(align_one(e, 11, V, 0, v, ids, n, used, &p, &r));
	CHECK(!r.status_ok);
	CHECK_EQ_INT(r.flags, ALIGN_FLAG_IMPOSSIBLE);
	CHECKF(strstr(r.message, "too long") != NULL, "%s", r.message);
	align_result_free(&r);
	CHECK_OK(align_one(e, 12, V, 0, v, ids, n, used, &p, &r));
	CHECK(r.status_ok);
	align_result_free(&r);
	/* empty audio, empty text */
	CHECK_OK(align_one(e, 0, V, 0, v, ids, n, used, &p, &r));
	CHECK_EQ_INT(r.flags, ALIGN_FLAG_EMPTY_AUDIO);
	align_result_free(&r);
	CHECK_OK(align_one(e, T, V, 0, v, ids, 0, "", &p, &r));
	CHECK_EQ_INT(r.flags, ALIGN_FLAG_EMPTY_TEXT);
	align_result_free(&r);
	/* edge stars absorb untranscribed speech: planted 'x' (id 28) frames at both ends */
	for (int t = 0; t < 5; t++)
		lab[t] = lab[T - 1 - t] = 28;
	free(e);
	e = emissions_for(lab, T, V);
	p.star_edges = 1;
	CHECK_OK(align_one(e, T, V, 0, v, ids, n, used, &p, &r));
	CHECK(r.status_ok);
	CHECK_NEAR(r.mean_logp, -0.01, 1e-6);  /* star frames excluded from quality */
	CHECK(r.lead_s >= 0.10 - 1e-12);
	align_result_free(&r);
	p.star_edges = 0;
	CHECK_OK(align_one(e, T, V, 0, v, ids, n, used, &p, &r));
	CHECK(r.mean_logp < -0.5);  /* without stars the 'x' frames are forced onto the text */
	align_result_free(&r);
	/* a star between two words (--star-between) separates words like '|' */
	int *ids2 = malloc(sizeof(int) * n);
	memcpy(ids2, ids, sizeof(int) * n);
	ids2[5] = V;   /* the '|' of "hello world" */
	CHECK_OK(align_one(e, T, V, 0, v, ids2, n, used, &p, &r));
	CHECK(r.status_ok);
	CHECK_EQ_INT(r.nwords, 2);
	if (r.nwords == 2)
		CHECK_STR(r.word_text[1], "world");
	align_result_free(&r);
	free(ids2);
	free(e);
	free(ids);
	free(used);
	vocab_oov_free(&oov);
	vocab_free(v);
}

static void test_segment(void)
{
	/* three lines: words (frames) [10,30) [40,60) | [100,120) | [300,320) [330,360) [2000,2040) */
	align_span w[6] = { 0 };
	int64_t se[6][2] = { { 10, 30 }, { 40, 60 }, { 100, 120 }, { 300, 320 }, { 330, 360 }, { 2000, 2040 } };
	int line_of[6] = { 0, 0, 1, 2, 2, 2 }, wil[6] = { 0, 1, 0, 0, 1, 2 };
	for (int i = 0; i < 6; i++) {
		w[i].start = se[i][0];
		w[i].end = se[i][1];
	}
	align_segment *s = NULL;
	int ns = 0;
	/* no bounds in play */
	CHECK_OK(align_segment_cut(w, line_of, wil, 6, 3, 3000, 0.0, 100.0, &s, &ns));
	CHECK_EQ_INT(ns, 3);
	if (ns == 3) {
		CHECK_EQ_INT(s[0].start, 0);          /* 10 - 25 clamped to 0 */
		CHECK_EQ_INT(s[0].end, (60 + 100) / 2);   /* middle of the pause */
		CHECK_EQ_INT(s[1].start, s[0].end);
		CHECK_EQ_INT(s[1].end, (120 + 300) / 2);
		CHECK_EQ_INT(s[2].end, 2040 + 25);
		CHECK_EQ_INT(s[2].line_first, 2);
		CHECK_EQ_INT(s[2].word_last, 2);
	}
	free(s);
	/* max 20 s: line 2 (frames 210..2065 = 37 s) splits at its longest pause (360..2000) */
	CHECK_OK(align_segment_cut(w, line_of, wil, 6, 3, 3000, 0.0, 20.0, &s, &ns));
	CHECK_EQ_INT(ns, 4);
	if (ns == 4) {
		CHECK_EQ_INT(s[2].end, (360 + 2000) / 2);
		CHECK_EQ_INT(s[2].word_last, 1);
		CHECK_EQ_INT(s[3].word_first, 2);
		CHECK_EQ_INT(s[3].line_first, 2);
		for (int k = 0; k < ns; k++)
			CHECK(align_frame_time(s[k].end - s[k].start) <= 20.0);
	}
	free(s);
	/* min 3 s: lines 0 and 1 (1.6 s and 2.6 s) merge */
	CHECK_OK(align_segment_cut(w, line_of, wil, 6, 3, 3000, 3.0, 20.0, &s, &ns));
	CHECKF(ns >= 1 && s[0].line_first == 0 && s[0].line_last == 1, "ns %d", ns);
	for (int k = 1; k < ns; k++)
		CHECK_EQ_INT(s[k].start, s[k - 1].end);
	free(s);
}

/* Each word's line from the targets' line starts: three lines of 2, 1 and
 * 3 words; targets shifted by a leading star (word.first - 1 is the target
 * position without it). */
static void test_segment_lines(void)
{
	/* targets (without the star): line 0 = "ab|c" (0..3), delim 4, line 1 = "d" (5),
	 * delim 6, line 2 = "e|f|g" (7..11) */
	int64_t line_t0[4] = { 0, 5, 7, 12 };
	int64_t firsts[6] = { 0, 3, 5, 7, 9, 11 };
	align_span w[6] = { 0 };
	for (int i = 0; i < 6; i++)
		w[i].first = firsts[i] + 1;
	int line_of[6], wil[6];
	int64_t line_w0[4];
	align_segment_lines(w, 6, line_t0, 3, line_of, wil, line_w0);
	int want_line[6] = { 0, 0, 1, 2, 2, 2 }, want_wil[6] = { 0, 1, 0, 0, 1, 2 };
	int64_t want_w0[4] = { 0, 2, 3, 6 };
	for (int i = 0; i < 6; i++) {
		CHECK_EQ_INT(line_of[i], want_line[i]);
		CHECK_EQ_INT(wil[i], want_wil[i]);
	}
	for (int l = 0; l < 4; l++)
		CHECK_EQ_INT(line_w0[l], want_w0[l]);
	/* a line with no aligned word: its first word is the next line's */
	int64_t t2[4] = { 0, 5, 5, 12 };
	align_segment_lines(w, 6, t2, 3, line_of, wil, line_w0);
	CHECK_EQ_INT(line_of[2], 2);
	CHECK_EQ_INT(line_w0[1], 2);
	CHECK_EQ_INT(line_w0[2], 2);
	CHECK_EQ_INT(line_w0[3], 6);
}

/* The OOV policy names read back, unknown ones refused. */
static void test_oov_names(void)
{
	align_oov_policy p = ALIGN_OOV_UNK;
	const char *names[] = { "unk", "star", "romanize", "error" };
	for (int i = 0; i < 4; i++) {
		CHECK_OK(align_oov_parse(names[i], &p));
		CHECK_EQ_INT(p, i);
		CHECK_STR(align_oov_name(p), names[i]);
	}
	CHECK_EQ_INT(align_oov_parse("drop", &p), ACC_EINVAL);
	CHECK_EQ_INT(p, ALIGN_OOV_ERROR);
	CHECK_STR(align_oov_name((align_oov_policy)7), "?");
	align_params ap;
	align_params_default(&ap);
	CHECK_EQ_INT(ap.window, 30);
	CHECK_EQ_INT(ap.break_words, 1);
	CHECK(ap.seg_min_s < ap.seg_max_s && ap.rate_min < ap.rate_max);
}

/* ---- a run over a manifest with the coded-audio emitter ---- */

typedef struct coded {
	int V, calls, stop_after;
} coded;

static int coded_emit(void *arg, const float *x, int64_t n, float **lp, int64_t *T)
{
	coded *c = arg;
	c->calls++;
	if (c->stop_after && c->calls >= c->stop_after)
		align_run_stop = 1;
	int64_t t = n / 320;
	float *e = malloc(sizeof(float) * (t ? t : 1) * c->V);
	for (int64_t f = 0; f < t; f++) {
		double s = 0;
		for (int k = 0; k < 320; k++)
			s += x[f * 320 + k];
		int id = (int)lround(s / 320 / LEVEL);
		for (int v = 0; v < c->V; v++)
			e[f * c->V + v] = v == id ? -0.01f : -8.0f;
	}
	*lp = e;
	*T = t;
	return 0;
}

/* Audio for a transcript: the planted labels as levels. */
static int synth(const vocab *v, const char *text, float *x, int cap_frames)
{
	int *ids = NULL, lab[400];
	int64_t n = 0;
	char *used = NULL;
	vocab_oov oov = { 0 };
	align_tokens(v, text, ALIGN_OOV_UNK, -1, &ids, &n, &oov, &used);
	int T = plant(ids, (int)n, lab, 400);
	for (int t = 0; t < T && t < cap_frames; t++)
		for (int k = 0; k < 320; k++)
			x[t * 320 + k] = (float)(lab[t] * LEVEL);
	free(ids);
	free(used);
	vocab_oov_free(&oov);
	return T;
}

static void make_model_dir(const char *dir)
{
	char p[8192];
	fs_mkdir_p(dir);
	snprintf(p, sizeof p, "%s/config.json", dir);
	fs_write_atomic(p, "{\"vocab_size\": 32}", 18);
	snprintf(p, sizeof p, "%s/model.safetensors", dir);
	fs_write_atomic(p, "weights", 7);
	char *vj = NULL;
	size_t len;
	fs_read_all(VOCAB, &vj, &len, 0);
	snprintf(p, sizeof p, "%s/vocab.json", dir);
	fs_write_atomic(p, vj, len);
	free(vj);
}

static int64_t count(manifest *m, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;
	if (manifest_prepare(m, sql, &st) == 0 && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static const char *texts[] = { "hello world", "ab c", "the cat sat", "it's a test", "x", "no speech here at all really" };
/* the database (db, 8192 bytes), the corpus folder (made) and a model
 * folder (made, with its model) under TEST_TMP, by name */
static void stage_paths(char *db, char *corpus, char *model, const char *db_name, const char *corpus_name,
			const char *model_name)
{
	snprintf(db, 8192, "%s/%s", TEST_TMP, db_name);
	snprintf(corpus, 4096, "%s/%s", TEST_TMP, corpus_name);
	snprintf(model, 4096, "%s/%s", TEST_TMP, model_name);
	fs_mkdir_p(corpus);
	make_model_dir(model);
}

/* as written: labels come from these (lib/align/align_label.h) */
static const char *raws[] = { "Hello, World!", "AB C", "The cat -- sat.", "It's a test", "x", "No speech here at all really" };

static void test_run(void)
{
	char db[8192], corpus[4096], wav[8192], model[4096], out[4096];
	stage_paths(db, corpus, model, "data.db", "corpus", "model");
	vocab *v = NULL;
	CHECK_OK(vocab_load(&v, VOCAB, "eng"));
	manifest *m = NULL;
	CHECK_OK(manifest_open(&m, db, 1));
	if (!v || !m)
		return;
	int64_t cid, rid, sid, uid;
	CHECK_OK(manifest_corpus_upsert(m, corpus, "folder", &cid));
	mf_speaker sp = { .corpus_id = cid, .label = "spk1" };
	CHECK_OK(manifest_speaker_upsert(m, &sp, &sid));
	/* one recording holding the first five utterances back to back (each
	 * starting on a whole frame), plus a 0.1 s tail for the impossible one */
	float *x = calloc(16000 * 30, sizeof(float));
	double starts[8], ends[8];
	int frames = 0;
	for (int i = 0; i < 5; i++) {
		starts[i] = frames * 0.02;
		frames += synth(v, texts[i], x + frames * 320, 16000 * 30 / 320 - frames);
		ends[i] = frames * 0.02;
	}
	starts[5] = frames * 0.02;   /* "no speech here..." over 5 frames: impossible */
	frames += 5;
	ends[5] = frames * 0.02;
	snprintf(wav, sizeof wav, "%s/rec1.wav", corpus);
	CHECK_OK(audio_write_wav(wav, x, (int64_t)frames * 320, 16000));
	mf_recording rec = { .corpus_id = cid, .path = "rec1.wav", .sha256 = "00", .size_bytes = 1, .sample_rate = 16000,
			     .channels = 1, .duration_s = frames * 0.02 };
	CHECK_OK(manifest_recording_insert(m, &rec, &rid));
	for (int i = 0; i < 6; i++) {
		char key[32];
		snprintf(key, sizeof key, "u%d", i);
		mf_utterance u = { .utt_key = key, .corpus_id = cid, .recording_id = rid, .speaker_id = sid, .channel = -1,
				   .start_s = starts[i], .end_s = ends[i], .text_raw = raws[i], .text_norm = texts[i],
				   .norm_profile = "default-eng", .norm_version = 1, .lang = "eng", .status = "ok" };
		CHECK_OK(manifest_utterance_insert(m, &u, &uid));
	}
	/* an utterance without a transcript, and one of another language */
	mf_utterance u6 = { .utt_key = "u6", .corpus_id = cid, .recording_id = rid, .start_s = 0, .end_s = 1, .lang = "eng" };
	CHECK_OK(manifest_utterance_insert(m, &u6, &uid));
	mf_utterance u7 = { .utt_key = "u7", .corpus_id = cid, .recording_id = rid, .start_s = 0, .end_s = 1,
			    .text_norm = "ሀለ", .lang = "amh" };
	CHECK_OK(manifest_utterance_insert(m, &u7, &uid));
	/* Amharic text filed as English: the vocabulary cannot express it */
	mf_utterance u8 = { .utt_key = "u8", .corpus_id = cid, .recording_id = rid, .start_s = 0, .end_s = 1,
			    .text_norm = "ሀለ ሐመ a", .lang = "eng" };
	CHECK_OK(manifest_utterance_insert(m, &u8, &uid));
	free(x);

	coded c = { .V = vocab_size(v), .stop_after = 3 };
	emitter em = { .V = c.V, .blank = 0, .emit = coded_emit, .ctx = &c };
	align_run_opts o = { .lang = "eng", .model_dir = model, .batch = 2 };
	align_params_default(&o.p);
	align_summary sum;
	/* interrupted after the third emission: the finished ones are kept */
	align_run_stop = 0;
	CHECK_EQ_INT(align_run(m, &o, &em, v, 0, &sum), ACC_EINTR);
	align_run_stop = 0;
	int64_t first = count(m, "SELECT count(*) FROM alignments");
	CHECKF(first >= 3 && first < 8, "%lld rows after the interruption", (long long)first);
	int calls_before = c.calls;
	c.stop_after = 0;
	CHECK_OK(align_run(m, &o, &em, v, 0, &sum));
	CHECK_EQ_INT(sum.candidates, 8);
	CHECK_EQ_INT(sum.current, first);
	/* nothing aligned twice: the second run only did what the first had not */
	CHECK_EQ_INT(sum.aligned + sum.failed, 8 - first);
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM alignments"), 8);
	CHECK(c.calls - calls_before <= 8 - first);
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM alignments WHERE status = 'ok'"), 5);
	CHECK_EQ_INT(count(m, "SELECT a.flags FROM alignments a JOIN utterances u ON u.id = a.utterance_id WHERE utt_key = 'u5'"),
		     ALIGN_FLAG_IMPOSSIBLE);
	CHECK_EQ_INT(count(m, "SELECT a.flags FROM alignments a JOIN utterances u ON u.id = a.utterance_id WHERE utt_key = 'u6'"),
		     ALIGN_FLAG_EMPTY_TEXT);
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM alignments a JOIN utterances u ON u.id = a.utterance_id WHERE u.lang = 'amh'"), 0);
	/* "it's a test": the apostrophe is in the vocabulary; word times exact:
	 * u0 "hello world" starts at 0: 'hello' = frames 5..21, + ALIGN_WORD_TAIL
	 * (it ends at the end of the '|' after it) */
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM align_words w JOIN utterances u ON u.id = w.utterance_id WHERE utt_key = 'u3'"), 3);
	CHECK_EQ_INT(count(m, "SELECT round(w.start_s * 1000) FROM align_words w JOIN utterances u ON u.id = w.utterance_id "
			      "WHERE utt_key = 'u0' AND idx = 0"), 100);
	CHECK_EQ_INT(count(m, "SELECT round(w.end_s * 1000) FROM align_words w JOIN utterances u ON u.id = w.utterance_id "
			      "WHERE utt_key = 'u0' AND idx = 0"), 420 + 20 * ALIGN_WORD_TAIL);
	/* u1 starts where u0 ends: times are within the recording */
	CHECK_EQ_INT(count(m, "SELECT round((w.start_s - u.start_s) * 1000) FROM align_words w JOIN utterances u ON u.id = w.utterance_id "
			      "WHERE utt_key = 'u1' AND idx = 0"), 100);
	CHECK(count(m, "SELECT round(w.start_s * 1000) FROM align_words w JOIN utterances u ON u.id = w.utterance_id "
		       "WHERE utt_key = 'u1' AND idx = 0") > 500);
	/* views answer */
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM align_quality WHERE speaker = 'spk1'"), 6);  /* u6, u8 have no speaker */
	CHECK_EQ_INT(count(m, "SELECT flagged FROM align_flag_counts WHERE lang = 'eng'"), 3);
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM align_flagged"), 3);
	/* spk1's five aligned clips have similar rates: no relative outlier */
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM align_rate_outliers"), 0);
	CHECK_EQ_INT(count(m, "SELECT a.flags FROM alignments a JOIN utterances u ON u.id = a.utterance_id WHERE utt_key = 'u8'"),
		     ALIGN_FLAG_OOV);
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM alignments a JOIN utterances u ON u.id = a.utterance_id "
			      "WHERE utt_key = 'u8' AND a.status = 'failed' AND a.message LIKE '%cannot express%' AND a.oov LIKE '%ሀ%'"), 1);

	/* nothing stale: a third run aligns nothing; a changed transcript is re-aligned */
	CHECK_OK(align_run(m, &o, &em, v, 0, &sum));
	CHECK_EQ_INT(sum.aligned + sum.failed, 0);
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET text_norm = 'ab cc' WHERE utt_key = 'u1'"));
	CHECK_OK(align_run(m, &o, &em, v, 0, &sum));
	CHECK_EQ_INT(sum.aligned + sum.failed, 1);
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET text_norm = 'ab c' WHERE utt_key = 'u1'"));
	CHECK_OK(align_run(m, &o, &em, v, 0, &sum));
	CHECK_EQ_INT(sum.aligned, 1);
	/* a changed model makes everything stale */
	char p[8192];
	snprintf(p, sizeof p, "%s/model.safetensors", model);
	fs_write_atomic(p, "weights2", 8);
	CHECK_OK(align_run(m, &o, &em, v, 0, &sum));
	CHECK_EQ_INT(sum.aligned + sum.failed, 8);
	CHECKF(strstr(sum.oov_desc, "'ሀ'x1") != NULL, "run summary of missing characters: %s", sum.oov_desc);

	/* exports parsed back */
	int64_t n = 0;
	snprintf(out, sizeof out, "%s/exp", TEST_TMP);
	CHECK_OK(align_run_export(m, "eng", "textgrid", out, &n));
	CHECK_EQ_INT(n, 5);
	snprintf(p, sizeof p, "%s/u0.TextGrid", out);
	char *txt = NULL;
	size_t len;
	CHECK_OK(fs_read_all(p, &txt, &len, 0));
	ax_textgrid tg;
	if (txt && align_export_parse_textgrid(txt, &tg) == 0) {
		CHECK_EQ_INT(tg.ntiers, 2);
		int found = 0;
		for (int64_t i = 0; i < tg.tiers[0].n; i++)
			if (!strcmp(tg.tiers[0].items[i].text, "World!")) {
				found = 1;
				/* the last word: its last character + ALIGN_WORD_TAIL frames */
				CHECK_NEAR(tg.tiers[0].items[i].end, ends[0] - 0.10 + 0.02 * ALIGN_WORD_TAIL, 1e-6);
			}
		CHECK(found);
		/* 10 letters in the chars tier */
		int letters = 0;
		for (int64_t i = 0; i < tg.tiers[1].n; i++)
			letters += tg.tiers[1].items[i].text[0] != 0;
		CHECK_EQ_INT(letters, 10);
		align_export_textgrid_free(&tg);
	} else {
		CHECKF(0, "TextGrid does not parse: %s", err_msg());
	}
	free(txt);
	CHECK_OK(align_run_export(m, NULL, "ctm", out, &n));
	snprintf(p, sizeof p, "%s/alignments.ctm", out);
	CHECK_OK(fs_read_all(p, &txt, &len, 0));
	ax_ctm_line *cl = NULL;
	int64_t ncl = 0;
	if (txt) {
		CHECK_OK(align_export_parse_ctm(txt, &cl, &ncl));
		CHECK_EQ_INT(ncl, count(m, "SELECT count(*) FROM align_words"));
		if (ncl > 6) {
			/* recording id and recording time (u1 follows u0 in rec1.wav) */
			CHECK_STR(cl[0].key, "rec1");
			CHECK_STR(cl[0].word, "Hello,");
			CHECK_STR(cl[1].word, "World!");
			CHECK_STR(cl[2].key, "rec1");
			CHECK_STR(cl[2].word, "AB");
			CHECK_NEAR(cl[2].start, starts[1] + 0.10, 1e-6);
			/* "--" normalizes to nothing: it joins "cat" (a space becomes '_' in CTM) */
			CHECK_STR(cl[5].word, "cat_--");
		}
		CHECK_EQ_INT(count(m, "SELECT count(*) FROM align_words WHERE label = 'sat.' AND word = 'sat'"), 1);
		align_export_ctm_free(cl, ncl);
	}
	free(txt);
	txt = NULL;
	align_export_opts eo = { .lang = NULL, .format = "ctm", .dir = out, .ctm_utterance = 1 };
	align_export_cue_opts_default(&eo.cue);
	CHECK_OK(align_run_export_ex(m, &eo, &n));
	CHECK_OK(fs_read_all(p, &txt, &len, 0));
	if (txt) {
		CHECK_OK(align_export_parse_ctm(txt, &cl, &ncl));
		if (ncl > 2) {
			CHECK_STR(cl[2].key, "u1");
			CHECK_NEAR(cl[2].start, 0.10, 1e-6);
		}
		align_export_ctm_free(cl, ncl);
	}
	free(txt);
	CHECK_OK(align_run_export(m, "eng", "json", out, &n));
	snprintf(p, sizeof p, "%s/alignments.json", out);
	json_t *j = json_load_file(p, 0, NULL);
	CHECK_EQ_INT(json_array_size(j), 5);
	json_t *w0 = json_array_get(json_object_get(json_array_get(j, 0), "words"), 0);
	CHECK_STR(json_string_value(json_object_get(w0, "text")), "Hello,");
	CHECK_STR(json_string_value(json_object_get(w0, "norm")), "hello");
	CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "text")), "Hello, World!");
	json_decref(j);
	CHECK_OK(align_run_export(m, "eng", "srt", out, &n));
	snprintf(p, sizeof p, "%s/rec1.wav.srt", out);
	CHECK(fs_exists(p));
	CHECK_OK(align_run_export(m, "eng", "vtt", out, &n));
	CHECK_EQ_INT(align_run_export(m, "eng", "doc", out, &n), ACC_EINVAL);
	/* show */
	char *buf = NULL;
	size_t bl = 0;
	FILE *f = open_memstream(&buf, &bl);
	CHECK_OK(align_run_show(m, "u0", f));
	fclose(f);
	CHECKF(buf && strstr(buf, "world") && strstr(buf, "0.100"), "show output: %s", buf);
	free(buf);
	f = open_memstream(&buf, &bl);
	CHECK_EQ_INT(align_run_show(m, "nope", f), ACC_ENOTFOUND);
	CHECK_EQ_INT(align_run_show(m, "u7", f), ACC_ENOTFOUND);
	fclose(f);
	free(buf);
	/* the relative rate view: speaker spk9 with rates 12, 12, 13, 11 and 30 chars/s (mean 15.6) */
	mf_speaker sp9 = { .corpus_id = cid, .label = "spk9" };
	int64_t sid9;
	CHECK_OK(manifest_speaker_upsert(m, &sp9, &sid9));
	double rates[5] = { 12, 12, 13, 11, 30 };
	for (int i = 0; i < 5; i++) {
		char key[32], sql[512];
		snprintf(key, sizeof key, "r%d", i);
		mf_utterance ur = { .utt_key = key, .corpus_id = cid, .recording_id = rid, .speaker_id = sid9, .start_s = 0,
				    .end_s = 1, .text_norm = "a", .lang = "xx" };
		CHECK_OK(manifest_utterance_insert(m, &ur, &uid));
		snprintf(sql, sizeof sql, "INSERT INTO alignments (utterance_id, lang, model_id, align_hash, status, chars_per_s) "
			 "VALUES (%lld, 'xx', 'm', 'h', 'ok', %g)", (long long)uid, rates[i]);
		CHECK_OK(manifest_exec(m, sql));
	}
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM align_rate_outliers WHERE speaker = 'spk9'"), 1);
	CHECK_EQ_INT(count(m, "SELECT chars_per_s FROM align_rate_outliers WHERE speaker = 'spk9'"), 30);
	/* a vocabulary that does not fit the model is a clear error */
	em.V = 12;
	CHECK_EQ_INT(align_run(m, &o, &em, v, 0, &sum), ACC_EINVAL);
	manifest_close(m);
	vocab_free(v);
}


/* A long recording in MMS style (lines of text, VAD pieces waiting for
 * alignment): the whole text is aligned, cut at the middle of the pauses
 * between lines, the new utterances are stored (linked to the recording and
 * their lines) and aligned, and the pieces retired. */
static void test_segmentation_run(void)
{
	char db[8192], corpus[4096], wav[8192], model[4096];
	stage_paths(db, corpus, model, "long.db", "longcorpus", "model2");
	vocab *v = NULL;
	manifest *m = NULL;
	CHECK_OK(vocab_load(&v, VOCAB, "eng"));
	CHECK_OK(manifest_open(&m, db, 1));
	if (!v || !m)
		return;
	const char *lines[3] = { "hello world", "the cat", "sat on a mat" };
	float *x = calloc(16000 * 20, sizeof(float));
	int frames = 0, ls[3], le[3];
	for (int i = 0; i < 3; i++) {
		/* 0.8 s of silence before each line, a word delimiter in the middle
		 * of the pauses between lines (where a model emits it) */
		if (i > 0)
			for (int k = 20 * 320; k < 22 * 320; k++)
				x[frames * 320 + k] = (float)(vocab_delim_id(v) * LEVEL);
		frames += 40;
		ls[i] = frames + 5;
		frames += synth(v, lines[i], x + frames * 320, 16000 * 20 / 320 - frames);
		le[i] = frames - 5;
	}
	frames += 40;
	snprintf(wav, sizeof wav, "%s/talk.wav", corpus);
	CHECK_OK(audio_write_wav(wav, x, (int64_t)frames * 320, 16000));
	free(x);
	int64_t cid, rid, sid, uid;
	CHECK_OK(manifest_corpus_upsert(m, corpus, "longform", &cid));
	mf_speaker sp = { .corpus_id = cid, .label = "narrator" };
	CHECK_OK(manifest_speaker_upsert(m, &sp, &sid));
	mf_recording rec = { .corpus_id = cid, .path = "talk.wav", .sha256 = "01", .size_bytes = 1, .duration_s = frames * 0.02 };
	CHECK_OK(manifest_recording_insert(m, &rec, &rid));
	/* two VAD pieces, no text */
	for (int k = 0; k < 2; k++) {
		char key[32];
		snprintf(key, sizeof key, "talk#%04d", k + 1);
		mf_utterance u = { .utt_key = key, .corpus_id = cid, .recording_id = rid, .speaker_id = sid, .channel = -1,
				   .start_s = k * frames * 0.01, .end_s = (k + 1) * frames * 0.01, .lang = "eng",
				   .status = "needs_align" };
		CHECK_OK(manifest_utterance_insert(m, &u, &uid));
	}
	/* prep gave the pieces a split and the speaker a per-second weight */
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET split = 'dev' WHERE utt_key LIKE 'talk#%'"));
	CHECK_OK(manifest_exec(m, "UPDATE speakers SET weight = 0.5 WHERE label = 'narrator'"));
	sqlite3_stmt *st = NULL;
	CHECK_OK(manifest_prepare(m, "INSERT INTO long_texts (recording_id, line_no, text_raw, text_norm, lang) VALUES (?1, ?2, ?3, ?4, 'eng')", &st));
	for (int i = 0; st && i < 3; i++) {
		char raw[64];
		snprintf(raw, sizeof raw, "%c%s.", lines[i][0] - 32, lines[i] + 1);
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, rid);
		sqlite3_bind_int(st, 2, i + 1);
		sqlite3_bind_text(st, 3, raw, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, lines[i], -1, SQLITE_STATIC);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
	}
	sqlite3_finalize(st);

	/* a second long recording whose text cannot fit its 0.4 s of audio */
	float z[20 * 320] = { 0 };
	snprintf(wav, sizeof wav, "%s/short.wav", corpus);
	CHECK_OK(audio_write_wav(wav, z, 20 * 320, 16000));
	int64_t rid2;
	mf_recording rec2 = { .corpus_id = cid, .path = "short.wav", .sha256 = "02", .size_bytes = 1, .duration_s = 0.4 };
	CHECK_OK(manifest_recording_insert(m, &rec2, &rid2));
	mf_utterance p2 = { .utt_key = "short#0001", .corpus_id = cid, .recording_id = rid2, .channel = -1, .start_s = 0,
			    .end_s = 0.4, .lang = "eng", .status = "needs_align" };
	CHECK_OK(manifest_utterance_insert(m, &p2, &uid));
	CHECK_OK(manifest_prepare(m, "INSERT INTO long_texts (recording_id, line_no, text_raw, text_norm, lang) "
				     "VALUES (?1, 1, 'x', 'a very long line of text for so little audio', 'eng')", &st));
	if (st) {
		sqlite3_bind_int64(st, 1, rid2);
		CHECK(sqlite3_step(st) == SQLITE_DONE);
	}
	sqlite3_finalize(st);

	coded c = { .V = vocab_size(v) };
	emitter em = { .V = c.V, .blank = 0, .emit = coded_emit, .ctx = &c };
	align_run_opts o = { .lang = "eng", .model_dir = model, .batch = 8 };
	align_params_default(&o.p);
	o.p.seg_min_s = 0.3;
	align_summary sum;
	align_run_stop = 0;
	CHECK_OK(align_run(m, &o, &em, v, 0, &sum));
	CHECK_EQ_INT(sum.recordings_segmented, 1);
	CHECK_EQ_INT(sum.segments_created, 3);
	CHECK_EQ_INT(sum.aligned, 3);
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM utterances WHERE status = 'segmented'"), 2);
	/* the impossible one: its piece stays waiting, flagged with the reason */
	CHECK_EQ_INT(count(m, "SELECT a.flags FROM alignments a JOIN utterances u ON u.id = a.utterance_id "
			      "WHERE u.utt_key = 'short#0001' AND u.status = 'needs_align' AND a.message LIKE '%too long%'"),
		     ALIGN_FLAG_IMPOSSIBLE);
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM align_segments s JOIN utterances u ON u.id = s.utterance_id "
			      "WHERE u.status = 'ok' AND u.speaker_id IS NOT NULL"), 3);
	/* cuts in the middle of the pauses; the edges 0.5 s around the speech
	 * (the edge <star>s, log-prob 0, take all but one frame of the first
	 * and last characters) */
	for (int i = 0; i < 3; i++) {
		char q[256];
		snprintf(q, sizeof q, "SELECT round(u.start_s * 1000) FROM align_segments s JOIN utterances u ON u.id = s.utterance_id "
			 "WHERE s.line_first = %d", i);
		int64_t want = i == 0 ? (ls[0] + 2 - 25) * 20 : ((le[i - 1] + ls[i]) / 2) * 20;
		CHECK_EQ_INT(count(m, q), want);
		snprintf(q, sizeof q, "SELECT round(u.end_s * 1000) FROM align_segments s JOIN utterances u ON u.id = s.utterance_id "
			 "WHERE s.line_first = %d", i);
		want = i == 2 ? (le[2] - 2 + 25) * 20 : ((le[i] + ls[i + 1]) / 2) * 20;
		CHECK_EQ_INT(count(m, q), want);
	}
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM utterances WHERE text_norm = 'sat on a mat' AND text_raw = 'Sat on a mat.'"), 1);
	/* the new utterances inherit the pieces' split, get weight = duration x
	 * the speaker's per-second factor, and count in the speaker's totals */
	CHECK_EQ_INT(count(m, "SELECT count(*) FROM utterances WHERE status = 'ok' AND split = 'dev' "
			      "AND abs(weight - (end_s - start_s) * 0.5) < 1e-9"), 3);
	CHECK_EQ_INT(count(m, "SELECT n_utterances FROM speakers WHERE label = 'narrator'"), 3);
	/* the new utterances' own alignments put 'cat' where it was synthesized */
	CHECK_EQ_INT(count(m, "SELECT round(w.start_s * 1000) FROM align_words w JOIN utterances u ON u.id = w.utterance_id "
			      "WHERE u.text_norm = 'the cat' AND w.idx = 1"), (ls[1] + 4 * 3) * 20);
	/* a second run finds nothing to do (the impossible recording is not retried) */
	int calls = c.calls;
	CHECK_OK(align_run(m, &o, &em, v, 0, &sum));
	CHECK_EQ_INT(sum.recordings_segmented + sum.aligned + sum.failed, 0);
	CHECK_EQ_INT(c.calls, calls);
	manifest_close(m);
	vocab_free(v);
}

int main(void)
{
	RUN(test_tokens);
	RUN(test_one);
	RUN(test_segment);
	RUN(test_segment_lines);
	RUN(test_oov_names);
	RUN(test_run);
	RUN(test_segmentation_run);
	return check_summary();
}
