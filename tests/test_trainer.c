/*
 * test_trainer.c — the training loop end to end on a generated corpus.
 *
 * Corpus: "words" over the letters a..d, each letter a 80 ms tone of its own
 * frequency (300/600/1200/2400 Hz), a space 80 ms of silence, light noise;
 * written as 16 kHz WAV files and registered through the manifest API with
 * splits (every 5th utterance dev).  Model: the "tiny" preset (mms-tiny
 * shape: stable layer norm, adapters of 8) with random weights, saved as a
 * Hugging Face directory.  Checks:
 *   - adapter training lowers the training loss (mean of the last 5 steps
 *     < 0.8 x the first 5) and writes the metrics and the checkpoint
 *     (adapter file, vocab.json with the language, config.json sizes, base
 *     unchanged); the saved checkpoint reloads and gives the same dev CER/WER;
 *   - full fine-tuning of this easy task reaches dev CER < 0.5 (letters are
 *     separable tones; a model that learned nothing emits blanks: CER 1);
 *   - top:1 leaves every tensor below the top layer bit-identical;
 *   - interrupted (--stop-after) and resumed training reaches bit-identical
 *     weights and Adam moments to an uninterrupted run;
 *   - a micro-batch whose loss is infinite (untrainable utterance, model
 *     without ctc_zero_infinity) is skipped and reported (result, train_metrics,
 *     train_runs), never applied: the weights stay finite.
 */
#include <math.h>
#include <sndfile.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include "model/safetensors.h"
#include "train/trainer.h"
#include "model/vocab.h"
#include "model/w2v.h"
#include "model/w2v_backward.h"

static char g_root[1024], g_db[1100], g_model[1100];

static uint64_t rs = 12345;
static double urand(void)
{
	rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
	return (rs >> 11) * (1.0 / 9007199254740992.0);
}

static int write_wav(const char *path, const float *x, int64_t n, int as_float)
{
	SF_INFO si = { .samplerate = 16000, .channels = 1,
	               .format = SF_FORMAT_WAV | (as_float ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16) };
	SNDFILE *f = sf_open(path, SFM_WRITE, &si);
	if (!f)
		return -1;
	sf_command(f, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
	sf_writef_float(f, x, n);
	sf_close(f);
	return 0;
}

/* n_utt utterances; bad_utt >= 0: that utterance gets 0.16 s of audio for a
 * 30-letter text, which CTC cannot align (infinite loss without zero_infinity;
 * NaN samples cannot be used for this: audio decoding zeroes them) */
static void make_corpus(const char *root, const char *db, int n_utt, int bad_utt)
{
	manifest *m = NULL;
	int64_t cid = 0, sid[3];
	static const char *alpha = "abcd";
	static const double freq[4] = { 300, 600, 1200, 2400 };
	mkdir(root, 0755);
	CHECK_OK(manifest_open(&m, db, 1));
	if (!m)
		return;
	CHECK_OK(manifest_corpus_upsert(m, root, "folder", &cid));
	for (int s = 0; s < 3; s++) {
		char lab[16];
		snprintf(lab, sizeof lab, "spk%d", s);
		mf_speaker sp = { .corpus_id = cid, .label = lab };
		CHECK_OK(manifest_speaker_upsert(m, &sp, &sid[s]));
	}
	for (int i = 0; i < n_utt; i++) {
		char text[32], rel[64], path[1200];
		int nw = 1 + (int)(urand() * 2), k = 0;
		for (int w = 0; w < nw; w++) {
			int nl = 2 + (int)(urand() * 3);
			if (w)
				text[k++] = ' ';
			for (int l = 0; l < nl; l++)
				text[k++] = alpha[(int)(urand() * 4)];
		}
		if (i == bad_utt)
			for (k = 0; k < 30; k++)
				text[k] = alpha[k % 4];
		text[k] = 0;
		int seg = 1280;   /* 80 ms */
		int64_t n = i == bad_utt ? 2 * seg : (int64_t)(k + 2) * seg;
		float *x = calloc(n, sizeof(float));
		for (int c = 0; c < k && (c + 2) * seg <= n; c++) {
			if (text[c] == ' ')
				continue;
			double f = freq[text[c] - 'a'];
			for (int j = 0; j < seg; j++)
				x[(int64_t)(c + 1) * seg + j] = (float)(0.5 * sin(2 * M_PI * f * j / 16000.0));
		}
		for (int64_t j = 0; j < n; j++)
			x[j] += (float)(0.01 * (urand() - 0.5));
		snprintf(rel, sizeof rel, "u%03d.wav", i);
		snprintf(path, sizeof path, "%s/%s", root, rel);
		CHECK(write_wav(path, x, n, 0) == 0);
		free(x);
		char sha[65];
		snprintf(sha, sizeof sha, "%064d", i);
		mf_recording r = { .corpus_id = cid, .path = rel, .sha256 = sha, .size_bytes = 1,
		                   .container = "WAV", .codec = "PCM_16", .sample_rate = 16000, .channels = 1,
		                   .duration_s = n / 16000.0, .duration_declared = NAN, .peak = NAN, .rms = NAN,
		                   .clip_ratio = NAN, .silence_ratio = NAN, .mtime = 0 };
		int64_t rid = 0, uid = 0;
		CHECK_OK(manifest_recording_insert(m, &r, &rid));
		char key[32];
		snprintf(key, sizeof key, "u%03d", i);
		mf_utterance u = { .utt_key = key, .corpus_id = cid, .recording_id = rid, .speaker_id = sid[i % 3],
		                   .channel = -1, .start_s = 0, .end_s = n / 16000.0, .text_raw = text,
		                   .text_norm = text, .norm_profile = "default", .norm_version = 1, .lang = "tst",
		                   .status = "ok", .source = "test" };
		CHECK_OK(manifest_utterance_insert(m, &u, &uid));
	}
	/* the bad utterance always trains; otherwise every 5th is dev */
	char sql[256];
	snprintf(sql, sizeof sql,
	         "UPDATE utterances SET split = CASE WHEN id %% 5 = 0 AND utt_key <> 'u%03d' THEN 'dev' ELSE 'train' END, "
	         "weight = 1.0", bad_utt < 0 ? 999 : bad_utt);
	CHECK_OK(manifest_exec(m, sql));
	manifest_close(m);
}

static void make_model(const char *dir, int zero_infinity)
{
	w2v_config c;
	w2v_model *m = NULL;
	CHECK_OK(w2v_config_preset(&c, "tiny"));
	c.ctc_zero_infinity = zero_infinity;
	CHECK_OK(w2v_model_alloc(&m, &c));
	if (!m)
		return;
	CHECK_OK(w2v_init_random(m, 7));
	CHECK_OK(w2v_save(m, dir, W2V_SAVE_F32));
	w2v_free(m);
}

static void base_opts(trainer_opts *o, const char *out)
{
	trainer_opts_default(o);
	o->manifest = g_db;
	o->model_dir = g_model;
	o->lang = "tst";
	o->out_dir = out;
	o->steps = 30;
	o->lr = 3e-3;
	o->warmup = 3;
	o->batch_seconds = 4;
	o->eval_every = 10;
	o->seed = 3;
	o->quiet = 1;
}

/* base_opts writing to TEST_TMP/name (its path in out, 1200 bytes) */
static void named_opts(trainer_opts *o, char *out, const char *name)
{
	snprintf(out, 1200, "%s/%s", TEST_TMP, name);
	base_opts(o, out);
}

/* a training run: its output folder, options and result */
typedef struct job {
	char out[1200];
	trainer_opts o;
	trainer_result r;
} job;

/* named_opts for j: steps steps, an evaluation every eval_every */
static void job_init(job *j, const char *name, int steps, int eval_every)
{
	named_opts(&j->o, j->out, name);
	j->o.steps = steps;
	j->o.eval_every = eval_every;
}

/* the trained model in out and the model it started from */
static void load_trained(const char *out, w2v_model **m, w2v_model **orig)
{
	CHECK_OK(w2v_load(m, out, "tst"));
	CHECK_OK(w2v_load(orig, g_model, NULL));
}

/* o, writing to its out_dir, trains 9 steps in one run; then the same into b
 * interrupted after step 3 (state written then), resumed and interrupted again
 * at 7, and resumed to the end: every run reports the steps done so far */
static void run_and_resume(trainer_opts *o, trainer_result *r, const char *b)
{
	o->steps = 9;
	o->eval_every = 4;
	o->save_every = 2;
	o->accum = 2;
	CHECK_OK(trainer_run(o, r));
	CHECK_EQ_INT(r->steps_done, 9);
	o->out_dir = b;
	o->stop_after = 3;
	CHECK_OK(trainer_run(o, r));
	CHECK_EQ_INT(r->steps_done, 3);
	o->stop_after = 4;
	o->resume = 1;
	CHECK_OK(trainer_run(o, r));
	CHECK_EQ_INT(r->steps_done, 7);
	o->stop_after = 0;
	CHECK_OK(trainer_run(o, r));
	CHECK_EQ_INT(r->steps_done, 9);
}

static void setup(void)
{
	snprintf(g_root, sizeof g_root, "%s/corpus", TEST_TMP);
	snprintf(g_db, sizeof g_db, "%s/data.db", TEST_TMP);
	snprintf(g_model, sizeof g_model, "%s/model", TEST_TMP);
	make_corpus(g_root, g_db, 60, -1);
	make_model(g_model, 1);
}

static int train_losses(const char *db, int64_t run, double *first5, double *last5)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	double v[4096];
	int n = 0;
	if (sqlite3_open(db, &h) != SQLITE_OK)
		return -1;
	sqlite3_prepare_v2(h, "SELECT loss FROM train_metrics WHERE train_run_id = ? AND split = 'train' ORDER BY step", -1, &st, NULL);
	sqlite3_bind_int64(st, 1, run);
	while (sqlite3_step(st) == SQLITE_ROW && n < 4096)
		v[n++] = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	if (n < 10)
		return -1;
	*first5 = *last5 = 0;
	for (int i = 0; i < 5; i++) {
		*first5 += v[i] / 5;
		*last5 += v[n - 1 - i] / 5;
	}
	return n;
}

static void test_adapter_training(void)
{
	char out[1200], p[1300];
	trainer_opts o;
	trainer_result r;
	named_opts(&o, out, "out-adapter");
	CHECK_OK(trainer_run(&o, &r));
	CHECK_EQ_INT(r.steps_done, 30);
	CHECK_EQ_INT(r.skipped, 0);
	CHECK(r.n_train > 30 && r.n_dev > 5);
	double f5 = 0, l5 = 0;
	CHECK_EQ_INT(train_losses(g_db, r.train_run_id, &f5, &l5), 30);
	CHECKF(l5 < 0.8 * f5, "training loss did not fall: %.4f -> %.4f", f5, l5);
	printf("# adapter training: loss %.3f -> %.3f, best dev CER %.1f%% WER %.1f%% at step %lld\n", f5, l5,
	       100 * r.best_cer, 100 * r.best_wer, (long long)r.best_step);
	CHECK(r.best_step > 0 && isfinite(r.best_cer));
	/* checkpoint: a HF directory whose vocab and head agree */
	snprintf(p, sizeof p, "%s/adapter.tst.safetensors", out);
	CHECK(fs_exists(p));
	w2v_model *m = NULL;
	CHECK_OK(w2v_load(&m, out, "tst"));
	vocab *v = NULL;
	snprintf(p, sizeof p, "%s/vocab.json", out);
	CHECK_OK(vocab_load(&v, p, "tst"));
	if (m && v) {
		CHECK_EQ_INT(m->cfg.vocab_size, vocab_size(v));
		CHECK_EQ_INT(vocab_size(v), 5 + 4);   /* <pad> <s> </s> <unk> | a b c d */
		CHECK_EQ_INT(m->cfg.adapter_attn_dim, 8);
		/* the frozen base in the checkpoint equals the original model's */
		w2v_model *orig = NULL;
		CHECK_OK(w2v_load(&orig, g_model, NULL));
		if (orig) {
			CHECK(orig->base_numel == m->base_numel &&
			      !memcmp(orig->base, m->base, sizeof(float) * m->base_numel));
			w2v_free(orig);
		}
	}
	vocab_free(v);
	w2v_free(m);
	/* the saved checkpoint, evaluated afresh, gives the best dev CER again */
	trainer_opts e;
	trainer_result er;
	base_opts(&e, out);
	e.model_dir = out;
	e.eval_only = 1;
	CHECK_OK(trainer_run(&e, &er));
	CHECK_NEAR(er.best_cer, r.best_cer, 1e-12);
	CHECK_NEAR(er.best_wer, r.best_wer, 1e-12);
	CHECK_NEAR(er.best_loss, r.best_loss, 1e-6 * fabs(r.best_loss));
	/* metrics rows: one per step + the dev evaluations */
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	CHECK(sqlite3_open(g_db, &h) == SQLITE_OK);
	sqlite3_prepare_v2(h, "SELECT count(*), sum(split = 'dev'), (SELECT status FROM train_runs WHERE id = ?1) "
	                      "FROM train_metrics WHERE train_run_id = ?1", -1, &st, NULL);
	sqlite3_bind_int64(st, 1, r.train_run_id);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_EQ_INT(sqlite3_column_int(st, 0), 33);
	CHECK_EQ_INT(sqlite3_column_int(st, 1), 3);
	CHECK_STR((const char *)sqlite3_column_text(st, 2), "done");
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void test_full_training_learns(void)
{
	job j;
	job_init(&j, "out-full", 60, 20);
	j.o.base_from = 0;
	j.o.lr = 3e-3;
	CHECK_OK(trainer_run(&j.o, &j.r));
	printf("# full training: loss %.3f -> %.3f, best dev CER %.1f%% WER %.1f%% at step %lld (%.1f s)\n",
	       j.r.first_loss, j.r.last_loss, 100 * j.r.best_cer, 100 * j.r.best_wer, (long long)j.r.best_step,
	       j.r.wall_s);
	CHECKF(j.r.best_cer < 0.5, "dev CER %.3f", j.r.best_cer);
}

static void test_top_k_freezes_below(void)
{
	job j;
	job_init(&j, "out-top1", 6, 3);
	j.o.base_from = TRAINER_TOP(1);
	CHECK_OK(trainer_run(&j.o, &j.r));
	w2v_model *m = NULL, *orig = NULL;
	load_trained(j.out, &m, &orig);
	if (!m || !orig)
		goto out;
	int same = 0, changed = 0, wrong = 0;
	for (int i = 0; i < m->n_tensors; i++) {
		const w2v_tensor *t = &m->tensors[i];
		if (t->group != W2V_GROUP_BASE || !t->present)
			continue;
		const w2v_tensor *t0 = w2v_tensor_find(orig, t->name);
		int eq = t0 && !memcmp(*t->ptr, *t0->ptr, sizeof(float) * t->numel);
		int trains = w2v_tensor_trains(m, t, 1);   /* top:1 of 2 layers */
		if (trains) {
			changed += !eq;
		} else {
			same += eq;
			if (!eq) {
				wrong++;
				fprintf(stderr, "  frozen tensor changed: %s\n", t->name);
			}
		}
	}
	CHECK_EQ_INT(wrong, 0);
	CHECK(same > 20);
	CHECK(changed >= 10);   /* the top layer's 16 tensors (+ encoder.layer_norm) moved */
out:
	w2v_free(m);
	w2v_free(orig);
}

/* a new adapter of another size: config.json, the adapter file and the
 * reloaded model agree; the base is untouched */
static void test_bottleneck(void)
{
	job j;
	job_init(&j, "out-b16", 4, 2);
	j.o.bottleneck = 16;
	j.o.init_kaiming = 1;
	CHECK_OK(trainer_run(&j.o, &j.r));
	w2v_model *m = NULL, *orig = NULL;
	load_trained(j.out, &m, &orig);
	if (m && orig) {
		CHECK_EQ_INT(m->cfg.adapter_attn_dim, 16);
		const w2v_tensor *t = w2v_tensor_find(m, "wav2vec2.encoder.layers.1.adapter_layer.linear_1.weight");
		CHECK(t && t->shape[0] == 16);
		CHECK(orig->base_numel == m->base_numel && !memcmp(orig->base, m->base, sizeof(float) * m->base_numel));
	}
	w2v_free(m);
	w2v_free(orig);
	/* --init-from an adapter of another size is refused */
	named_opts(&j.o, j.out, "out-b16b");
	j.o.model_dir = g_model;
	j.o.bottleneck = 16;
	j.o.init_from = "zzz";
	CHECK(trainer_run(&j.o, &j.r) != 0);
}

/* the floats after the header of train_state.bin */
static int state_payload(const char *out, char **buf, size_t *len)
{
	char p[1300];
	snprintf(p, sizeof p, "%s/train_state.bin", out);
	return fs_read_all(p, buf, len, (size_t)1 << 30);
}

static void test_resume_equal(void)
{
	char a[1200], b[1200];
	trainer_opts o;
	trainer_result r;
	snprintf(a, sizeof a, "%s/out-a", TEST_TMP);
	snprintf(b, sizeof b, "%s/out-b", TEST_TMP);
	base_opts(&o, a);
	run_and_resume(&o, &r, b);
	char *pa = NULL, *pb = NULL;
	size_t la = 0, lb = 0;
	CHECK_OK(state_payload(a, &pa, &la));
	CHECK_OK(state_payload(b, &pb, &lb));
	/* header: train_run_id differs; everything after (weights, moments) must not */
	size_t hdr = 8 + 7 * 8 + 4 * 8 + 4 * 8 + 4 * 4;
	CHECK(la == lb && la > hdr);
	if (pa && pb && la == lb && la > hdr)
		CHECK(!memcmp(pa + hdr, pb + hdr, la - hdr));
	free(pa);
	free(pb);
	/* a resume with other options is refused */
	o.lr = 1e-2;
	CHECK(trainer_run(&o, &r) == ACC_EINVAL);
}

/* Regularization from config.json (dropout everywhere, LayerDrop, time and
 * feature masks): a stopped + resumed run equals the uninterrupted one bit
 * for bit; it changes training (vs --no-regularization); overriding every
 * probability with 0 equals --no-regularization. */
static void test_resume_equal_regularized(void)
{
	char model[1200], a[1200], b[1200], c[1200], d[1200];
	snprintf(model, sizeof model, "%s/model-reg", TEST_TMP);
	w2v_config cfg;
	w2v_model *m = NULL;
	CHECK_OK(w2v_config_preset(&cfg, "tiny"));
	cfg.ctc_zero_infinity = 1;
	cfg.hidden_dropout = cfg.attention_dropout = cfg.activation_dropout = 0.1;
	cfg.final_dropout = 0.1;
	cfg.feat_proj_dropout = 0.05;
	cfg.layerdrop = 0.2;
	cfg.mask_time_prob = 0.1;
	cfg.mask_time_length = 3;
	cfg.mask_feature_prob = 0.1;
	cfg.mask_feature_length = 4;
	CHECK_OK(w2v_model_alloc(&m, &cfg));
	if (!m)
		return;
	CHECK_OK(w2v_init_random(m, 7));
	CHECK_OK(w2v_save(m, model, W2V_SAVE_F32));
	w2v_free(m);
	snprintf(a, sizeof a, "%s/reg-a", TEST_TMP);
	snprintf(b, sizeof b, "%s/reg-b", TEST_TMP);
	snprintf(c, sizeof c, "%s/reg-c", TEST_TMP);
	snprintf(d, sizeof d, "%s/reg-d", TEST_TMP);
	trainer_opts o;
	trainer_result r;
	base_opts(&o, a);
	o.model_dir = model;
	run_and_resume(&o, &r, b);
	o.resume = 0;
	o.out_dir = c;
	o.no_regularization = 1;
	CHECK_OK(trainer_run(&o, &r));
	o.out_dir = d;
	o.no_regularization = 0;
	o.dropout = o.attention_dropout = o.activation_dropout = o.feat_proj_dropout = 0;
	o.final_dropout = o.layerdrop = o.mask_time_prob = o.mask_feature_prob = 0;
	CHECK_OK(trainer_run(&o, &r));
	char *pa = NULL, *pb = NULL, *pc = NULL, *pd = NULL;
	size_t la = 0, lb = 0, lc = 0, ld = 0;
	CHECK_OK(state_payload(a, &pa, &la));
	CHECK_OK(state_payload(b, &pb, &lb));
	CHECK_OK(state_payload(c, &pc, &lc));
	CHECK_OK(state_payload(d, &pd, &ld));
	size_t hdr = 8 + 7 * 8 + 4 * 8 + 4 * 8 + 4 * 4;
	CHECK(la == lb && la == lc && la == ld && la > hdr);
	if (pa && pb && pc && pd && la == lb && la == lc && la == ld && la > hdr) {
		CHECK(!memcmp(pa + hdr, pb + hdr, la - hdr));   /* resume exact */
		CHECK(memcmp(pa + hdr, pc + hdr, la - hdr) != 0); /* regularization changed training */
		CHECK(!memcmp(pc + hdr, pd + hdr, lc - hdr));   /* all-0 overrides = none */
	}
	free(pa);
	free(pb);
	free(pc);
	free(pd);
	/* time masking on a model without masked_spec_embed is refused */
	base_opts(&o, d);
	o.steps = 2;
	o.mask_time_prob = 0.1;
	CHECK(trainer_run(&o, &r) == ACC_EINVAL);
}

static void test_inf_batch_skipped(void)
{
	char root[1200], db[1200], out[1200], model[1200];
	snprintf(root, sizeof root, "%s/corpus-inf", TEST_TMP);
	snprintf(db, sizeof db, "%s/inf.db", TEST_TMP);
	snprintf(out, sizeof out, "%s/out-inf", TEST_TMP);
	snprintf(model, sizeof model, "%s/model-noinf", TEST_TMP);
	make_corpus(root, db, 12, 3);
	make_model(model, 0);    /* ctc_zero_infinity = false: the bad utterance's loss is +inf */
	trainer_opts o;
	trainer_result r;
	base_opts(&o, out);
	o.manifest = db;
	o.model_dir = model;
	o.steps = 30;
	o.batch_seconds = 0.5;   /* one utterance per micro-batch */
	o.eval_every = 0;
	CHECK_OK(trainer_run(&o, &r));
	CHECKF(r.skipped > 0 && r.skipped < 30, "skipped %lld of 30", (long long)r.skipped);
	CHECK_EQ_INT(r.steps_done, 30);
	CHECK(isfinite(r.last_loss));
	w2v_model *m = NULL;
	CHECK_OK(w2v_load(&m, out, "tst"));
	if (m) {
		int finite = 1;
		for (size_t i = 0; i < m->train_numel; i++)
			finite &= isfinite(m->train[i]);
		CHECK(finite);
	}
	w2v_free(m);
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	CHECK(sqlite3_open(db, &h) == SQLITE_OK);
	sqlite3_prepare_v2(h, "SELECT sum(skipped), (SELECT skipped FROM train_runs WHERE id = ?1) FROM train_metrics "
	                      "WHERE train_run_id = ?1", -1, &st, NULL);
	sqlite3_bind_int64(st, 1, r.train_run_id);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK_EQ_INT(sqlite3_column_int(st, 0), r.skipped);
	CHECK_EQ_INT(sqlite3_column_int(st, 1), r.skipped);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* The best-checkpoint rule: CER first, ties and the all-blank plateau
 * (every CER >= 1) by dev loss; on the plateau a falling loss is progress. */
static void test_eval_compare(void)
{
	double inf = INFINITY;
	CHECK_EQ_INT(trainer_eval_compare(inf, inf, 1.0, 3.0), TRAINER_EVAL_BEST);      /* first evaluation */
	CHECK_EQ_INT(trainer_eval_compare(0.5, 2.0, 0.4, 2.5), TRAINER_EVAL_BEST);      /* lower CER wins */
	CHECK_EQ_INT(trainer_eval_compare(0.5, 2.0, 0.5, 1.9), TRAINER_EVAL_BEST);      /* tie: lower loss */
	CHECK_EQ_INT(trainer_eval_compare(0.5, 2.0, 0.5, 2.1), TRAINER_EVAL_WORSE);
	CHECK_EQ_INT(trainer_eval_compare(0.5, 2.0, 0.6, 1.0), TRAINER_EVAL_WORSE);     /* real output: CER rules */
	/* all blank (CER 1) against random characters (CER 1.3): the plateau, loss decides */
	CHECK_EQ_INT(trainer_eval_compare(1.3, 3.0, 1.0, 2.0), TRAINER_EVAL_BEST);
	CHECK_EQ_INT(trainer_eval_compare(1.0, 2.0, 1.4, 1.5), TRAINER_EVAL_BEST);
	CHECK_EQ_INT(trainer_eval_compare(1.0, 2.0, 1.0, 2.5), TRAINER_EVAL_WORSE);
	/* a near-blank best (CER 0.99) then all blank with a falling loss: not a
	 * new best, but patience must not run out */
	CHECK_EQ_INT(trainer_eval_compare(0.99, 3.0, 1.0, 2.0), TRAINER_EVAL_PROGRESS);
	CHECK_EQ_INT(trainer_eval_compare(0.99, 3.0, 1.0, 3.5), TRAINER_EVAL_WORSE);
}

int main(void)
{
	setup();
	RUN(test_eval_compare);
	RUN(test_adapter_training);
	RUN(test_top_k_freezes_below);
	RUN(test_bottleneck);
	RUN(test_resume_equal);
	RUN(test_resume_equal_regularized);
	RUN(test_inf_batch_skipped);
	RUN(test_full_training_learns);
	return check_summary();
}
