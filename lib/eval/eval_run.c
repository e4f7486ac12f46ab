/*
 * eval_run.c — the runner of `train eval` (see eval_run.h): the manifest
 * side (the evaluation set, the stored reports, the runs row) and the
 * evaluation itself (emissions through the one emitter under audio
 * conditions, greedy and beam decoding, the dev grid).
 */
#include "eval/eval_run.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/audio.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/progress.h"
#include "base/banned.h"

/* ---- the manifest ---- */

int eval_set_load(utterance_list *s, manifest *m, const char *lang, const char *split, int subset)
{
	utterances_filter f = { .lang = lang, .split = split, .flags_any = subset };
	int rc = utterances_load(m, &f, s);
	if (rc) {
		utterances_free(s);
		return err_wrap(rc, "reading the evaluation set");
	}
	return 0;
}

int eval_report_store(const eval_report *r, manifest *m, const eval_run_info *info, int64_t *eval_id)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int64_t id = 0;
	const metrics_accum *t = &r->total;
	if ((rc = manifest_begin(m)))
		return rc;
	if ((rc = manifest_prepare(m,
		"INSERT INTO eval_runs (run_id, model_dir, lang, split, subset, condition, decoder, lm_path, alpha, beta,"
		" beam, tuned_on_dev, utterances, audio_s, decode_s, ref_chars, char_errors, ref_words, word_errors,"
		" word_sub, word_del, word_ins, cer, wer)"
		" VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24)", &st)))
		goto fail;
	if (info->run_id > 0)
		sqlite3_bind_int64(st, 1, info->run_id);
	sqlite3_bind_text(st, 2, info->model_dir ? info->model_dir : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, info->lang ? info->lang : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, info->split ? info->split : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, info->subset ? info->subset : "all", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, info->condition ? info->condition : "clean", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, info->decoder ? info->decoder : "greedy", -1, SQLITE_STATIC);
	if (info->lm_path)
		sqlite3_bind_text(st, 8, info->lm_path, -1, SQLITE_STATIC);
	if (info->beam > 0) {
		sqlite3_bind_double(st, 9, info->alpha);
		sqlite3_bind_double(st, 10, info->beta);
		sqlite3_bind_int(st, 11, info->beam);
	}
	sqlite3_bind_int(st, 12, info->tuned_on_dev);
	sqlite3_bind_int(st, 13, r->n);
	sqlite3_bind_double(st, 14, r->audio_s);
	if (info->decode_s >= 0)
		sqlite3_bind_double(st, 15, info->decode_s);
	sqlite3_bind_int64(st, 16, t->chr.ref_len);
	sqlite3_bind_int64(st, 17, metrics_counts_edits(&t->chr));
	sqlite3_bind_int64(st, 18, t->word.ref_len);
	sqlite3_bind_int64(st, 19, metrics_counts_edits(&t->word));
	sqlite3_bind_int64(st, 20, t->word.sub);
	sqlite3_bind_int64(st, 21, t->word.del);
	sqlite3_bind_int64(st, 22, t->word.ins);
	double cer = metrics_accum_cer(t), wer = metrics_accum_wer(t);
	if (isfinite(cer))
		sqlite3_bind_double(st, 23, cer);
	if (isfinite(wer))
		sqlite3_bind_double(st, 24, wer);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = manifest_db_error(m, "inserting the evaluation");
		goto fail;
	}
	id = sqlite3_last_insert_rowid(m->db);
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = manifest_prepare(m,
		"INSERT INTO eval_utterances (eval_id, utterance_id, ref, hyp, ref_chars, char_errors, ref_words,"
		" word_errors, duration_s) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)", &st)))
		goto fail;
	for (int i = 0; i < r->n; i++) {
		const eval_pair *x = &r->it[i];
		if (x->utt_id <= 0)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, x->utt_id);
		sqlite3_bind_text(st, 3, x->ref, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, x->hyp, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, x->acc.chr.ref_len);
		sqlite3_bind_int64(st, 6, metrics_counts_edits(&x->acc.chr));
		sqlite3_bind_int64(st, 7, x->acc.word.ref_len);
		sqlite3_bind_int64(st, 8, metrics_counts_edits(&x->acc.word));
		sqlite3_bind_double(st, 9, x->duration_s);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = manifest_db_error(m, "inserting an evaluated utterance");
			goto fail;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = manifest_commit(m)))
		goto fail;
	if (eval_id)
		*eval_id = id;
	return 0;
fail:
	sqlite3_finalize(st);
	manifest_rollback(m);
	return rc;
}

/* ---- the runner ---- */

/* Keep the first `limit` utterances (id order) of s. */
static void truncate_set(utterance_list *s, int limit)
{
	if (limit <= 0 || s->n <= (size_t)limit)
		return;
	for (size_t i = (size_t)limit; i < s->n; i++)
		utterance_clear(&s->u[i]);
	s->n = (size_t)limit;
}

int eval_runner_open(eval_runner *r, const eval_opts *o)
{
	char adapter[PATH_MAX], vpath[PATH_MAX];
	int rc;
	memset(r, 0, sizeof *r);
	r->o = *o;
	snprintf(adapter, sizeof adapter, "%s/adapter.%s.safetensors", o->model_dir, o->lang);
	/* bf16/int8: each weight packed as it is read, its fp32 copy released */
	TRY(emitter_open(&r->em, o->model_dir, fs_exists(adapter) ? o->lang : NULL, o->precision));
	snprintf(vpath, sizeof vpath, "%s/vocab.json", o->model_dir);
	TRY(vocab_load(&r->voc, vpath, o->lang));
	r->V = vocab_size(r->voc);
	if (r->V != r->em.V) {
		rc = err_set(ACC_EFORMAT, "vocab.json for '%s' has %d tokens but the model's lm_head has %d", o->lang,
		             r->V, r->em.V);
		goto out;
	}
	r->blank = vocab_pad_id(r->voc);
	r->delim = vocab_delim_id(r->voc);
	r->tokens = calloc(r->V, sizeof *r->tokens);
	r->beam_tokens = calloc(r->V, sizeof *r->beam_tokens);
	if (!r->tokens || !r->beam_tokens) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < r->V; i++) {
		const char *t = vocab_token(r->voc, i);
		r->tokens[i] = t;
		/* sentence markers are never part of a transcript */
		r->beam_tokens[i] = t && (!strcmp(t, "<s>") || !strcmp(t, "</s>")) ? NULL : t;
	}
	if (o->lm_path) {
		TRY(arpa_load(&r->lm, o->lm_path));
		if (!realpath(o->lm_path, r->lm_abs))
			snprintf(r->lm_abs, sizeof r->lm_abs, "%s", o->lm_path);
	}
	if (!realpath(o->model_dir, r->model_abs))
		snprintf(r->model_abs, sizeof r->model_abs, "%s", o->model_dir);
out:
	return rc;
}

/* The beam decoder with the runner's current options. */
static int new_decoder(eval_runner *r, ctc_decoder **d)
{
	return ctc_decoder_new(d, r->beam_tokens, r->V, r->blank, r->delim, r->lm, &r->o.bo);
}

static int decode_beam(eval_runner *r, ctc_decoder *d, const float *lp, int64_t T, char **hyp)
{
	double score;
	return ctc_decoder_decode(d, lp, (int)T, r->V, hyp, &score);
}

static int decode_greedy(eval_runner *r, const float *lp, int64_t T, char **hyp)
{
	return ctc_greedy(lp, (int)T, r->V, r->V, r->tokens, r->blank, r->delim, hyp);
}

int eval_runner_transcribe(eval_runner *r, const char *path, char **hyp)
{
	float *x = NULL, *lp = NULL;
	int64_t ns = 0, T = 0;
	int rc;
	*hyp = NULL;
	if (r->o.use_beam && !r->dec)
		TRY(new_decoder(r, &r->dec));
	TRY(audio_decode(path, &x, &ns, NULL, NULL));
	TRY(r->em.emit(r->em.ctx, x, ns, &lp, &T));
	rc = r->dec ? decode_beam(r, r->dec, lp, T, hyp) : decode_greedy(r, lp, T, hyp);
out:
	free(lp);
	free(x);
	return rc ? err_wrap(rc, "%s", path) : 0;
}

int eval_runner_begin(eval_runner *r)
{
	int rc;
	TRY(manifest_open(&r->m, r->o.manifest, 0));
	TRY(manifest_run_begin(r->m, "train eval", r->o.argc, r->o.argv, &r->run_id));
out:
	return rc;
}

/* Audio of utterance u at 16 kHz. */
static int read_utt(const utterance *u, float **x, int64_t *n)
{
	int rc = audio_read_span(u->audio_path, u->start_s, u->end_s, x, n);
	return rc ? err_wrap(rc, "utterance %s", u->utt_key) : 0;
}

/* Emissions of utterance i of s under a condition (babble: made of the
 * next 3 utterances); *lp malloc'ed [T, V], *dur the seconds decoded. */
static int emissions(eval_runner *r, const utterance_list *s, size_t i, const eval_condition *cond, uint64_t seed,
                     float **lp, int64_t *T, double *dur)
{
	float *x = NULL, *others[3] = { 0 };
	int64_t n = 0, on[3] = { 0 };
	int rc, no = 0;
	*lp = NULL;
	TRY(read_utt(&s->u[i], &x, &n));
	if (cond->kind == EVAL_COND_BABBLE && s->n < 2) {
		rc = err_set(ACC_EINVAL, "babble noise is made of the other utterances of the evaluation set: at least 2 are needed");
		goto out;
	}
	if (cond->kind == EVAL_COND_BABBLE)
		for (size_t k = 1; k <= 3 && k < s->n; k++) {
			TRY(read_utt(&s->u[(i + k) % s->n], &others[no], &on[no]));
			no++;
		}
	TRY(eval_condition_apply(cond, &x, &n, (const float *const *)others, on, no,
	                         seed * 1000003u + (uint64_t)s->u[i].id));
	*dur = (double)n / AUDIO_RATE;
	rc = r->em.emit(r->em.ctx, x, n, lp, T);
out:
	free(x);
	for (int k = 0; k < 3; k++)
		free(others[k]);
	return rc;
}

int eval_runner_tune(eval_runner *r, const eval_grid_axes *g, eval_grid_cell *cells, int *best, int *n_dev)
{
	utterance_list dev = { 0 };
	float **lps = NULL;
	int64_t *Ts = NULL;
	const char **refs = NULL;
	eval_condition clean;
	progress prog;
	int rc;
	eval_condition_set(&clean, EVAL_COND_CLEAN, 0);
	*best = -1;
	*n_dev = 0;
	TRY(eval_set_load(&dev, r->m, r->o.lang, "dev", 0));
	truncate_set(&dev, r->o.limit);
	if (!dev.n) {
		rc = err_set(ACC_ENOTFOUND, "--grid needs dev-split utterances of '%s'", r->o.lang);
		goto out;
	}
	lps = calloc(dev.n, sizeof *lps);
	Ts = calloc(dev.n, sizeof *Ts);
	refs = calloc(dev.n, sizeof *refs);
	if (!lps || !Ts || !refs) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	progress_init(&prog, "dev emissions", "utt", (int64_t)dev.n);
	for (size_t i = 0; i < dev.n; i++) {
		double dur;
		TRY(emissions(r, &dev, i, &clean, 1, &lps[i], &Ts[i], &dur));
		refs[i] = dev.u[i].text;
		progress_add(&prog, 1);
	}
	progress_done(&prog);
	*n_dev = (int)dev.n;
	eval_grid_decoder gd = { .tokens = r->beam_tokens, .V = r->V, .blank = r->blank, .delim = r->delim,
	                         .lm = r->lm, .bo = r->o.bo };
	TRY(eval_grid_search(&gd, (const float *const *)lps, Ts, refs, (int)dev.n, g, cells, best));
	if (*best >= 0) {
		r->o.bo.alpha = (float)cells[*best].alpha;
		r->o.bo.beta = (float)cells[*best].beta;
		r->o.bo.unk_penalty = (float)cells[*best].unk;
	}
	r->tuned = 1;
out:
	for (size_t i = 0; lps && i < dev.n; i++)
		free(lps[i]);
	free(lps);
	free(Ts);
	free(refs);
	utterances_free(&dev);
	return rc;
}

int eval_runner_load(eval_runner *r)
{
	int rc;
	TRY(eval_set_load(&r->set, r->m, r->o.lang, r->o.split, r->o.subset));
	truncate_set(&r->set, r->o.limit);
	if (!r->set.n) {
		rc = err_set(ACC_ENOTFOUND, "no '%s' utterances of language '%s'%s%s in %s", r->o.split, r->o.lang,
		             r->o.subset ? " in subset " : "", r->o.subset ? r->o.subset_name : "", r->o.manifest);
		manifest_langs_hint(r->m, "check the splits with 'db stats'");
	}
out:
	return rc;
}

static void item_of(const utterance *u, const char *hyp, double dur, eval_item *it)
{
	memset(it, 0, sizeof *it);
	it->utt_id = u->id;
	it->utt_key = u->utt_key;
	it->ref = u->text;
	it->hyp = hyp;
	it->duration_s = dur;
	it->speaker = u->speaker;
	it->gender = u->gender;
	it->accent = u->accent;
}

/* Utterance i under condition c, decoded into rg (and rb). */
static int condition_utt(eval_runner *r, const eval_condition *c, size_t i, ctc_decoder *dec, eval_report *rg,
                         eval_report *rb, double *t_greedy, double *t_beam)
{
	const utterance *u = &r->set.u[i];
	float *lp = NULL;
	int64_t T = 0;
	double dur = 0;
	char *hg = NULL, *hb = NULL;
	eval_item it;
	int rc;
	TRY(emissions(r, &r->set, i, c, r->o.seed, &lp, &T, &dur));
	double t0 = progress_now();
	rc = decode_greedy(r, lp, T, &hg);
	double t1 = progress_now();
	*t_greedy += t1 - t0;
	if (rc)
		goto out;
	item_of(u, hg, dur, &it);
	TRY(eval_report_add(rg, &it));
	if (rb) {
		rc = decode_beam(r, dec, lp, T, &hb);
		*t_beam += progress_now() - t1;
		if (rc)
			goto out;
		item_of(u, hb, dur, &it);
		TRY(eval_report_add(rb, &it));
	}
out:
	free(hg);
	free(hb);
	free(lp);
	return rc;
}

int eval_runner_condition(eval_runner *r, const eval_condition *c, eval_report **greedy, eval_report **beam,
                          double *t_greedy, double *t_beam)
{
	ctc_decoder *dec = NULL;
	progress prog;
	int rc;
	*greedy = *beam = NULL;
	*t_greedy = *t_beam = 0;
	TRY(eval_report_new(greedy));
	if (r->o.use_beam) {
		TRY(eval_report_new(beam));
		TRY(new_decoder(r, &dec));
	}
	progress_init(&prog, c->name, "utt", (int64_t)r->set.n);
	for (size_t i = 0; i < r->set.n; i++) {
		TRY(condition_utt(r, c, i, dec, *greedy, *beam, t_greedy, t_beam));
		progress_add(&prog, 1);
	}
	progress_done(&prog);
out:
	ctc_decoder_free(dec);
	if (rc) {
		eval_report_free(*greedy);
		eval_report_free(*beam);
		*greedy = *beam = NULL;
	}
	return rc;
}

int eval_runner_store(eval_runner *r, const eval_report *rep, const eval_condition *c, int beam, double decode_s)
{
	eval_run_info info = { .run_id = r->run_id, .model_dir = r->model_abs, .lang = r->o.lang,
	                       .split = r->o.split, .subset = r->o.subset_name, .condition = c->name,
	                       .decoder = beam ? "beam" : "greedy", .decode_s = decode_s };
	if (beam) {
		info.lm_path = r->o.lm_path ? r->lm_abs : NULL;
		info.alpha = r->o.bo.alpha;
		info.beta = r->o.bo.beta;
		info.beam = r->o.bo.beam;
		info.tuned_on_dev = r->tuned;
	}
	int rc = eval_report_store(rep, r->m, &info, NULL);
	if (!rc)
		r->n_evals++;
	return rc;
}

void eval_runner_close(eval_runner *r, int rc)
{
	if (r->m && r->run_id) {
		char counts[128];
		snprintf(counts, sizeof counts, "{\"utterances\":%d,\"evaluations\":%d}", (int)r->set.n, r->n_evals);
		manifest_run_end(r->m, r->run_id, err_exit_code(rc), counts);
	}
	utterances_free(&r->set);
	manifest_close(r->m);
	ctc_decoder_free(r->dec);
	arpa_free(r->lm);
	emitter_close(&r->em);
	vocab_free(r->voc);
	free(r->tokens);
	free(r->beam_tokens);
	memset(r, 0, sizeof *r);
}
