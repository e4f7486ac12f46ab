/*
 * align_file.c — one recording against its transcript, no manifest (see
 * align_file.h).
 */
#include "align/align_file.h"
#include "audio/audio.h"
#include "base/err.h"
#include "text/textnorm.h"
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

void align_file_result_free(align_file_result *f)
{
	if (!f)
		return;
	align_export_items_free(f->words, f->nwords);
	align_export_items_free(f->chars, f->nchars);
	free(f->key);
	free(f->raw);
	align_result_free(&f->r);
	memset(f, 0, sizeof *f);
}

/* Items of an alignment: words labelled as written, characters as tokens. */
static int result_items(const align_result *r, const vocab *v, int V, ax_item **words, int64_t *nw, ax_item **chars,
			int64_t *nc)
{
	size_t cap = 0;
	int rc;
	for (int64_t i = 0; i < r->nwords; i++) {
		const align_span *w = &r->words[i];
		if ((rc = align_export_add_word(words, nw, &cap, r->word_label ? r->word_label[i] : r->word_text[i],
						r->word_text[i], r->word_rom ? r->word_rom[i] : NULL, align_frame_time(w->start),
						align_frame_time(w->end), w->mean_p)))
			return rc;
	}
	cap = 0;
	for (int64_t j = 0; j < r->ntok; j++) {
		int id = r->tok_ids[j];
		if (id == V || id == vocab_delim_id(v))
			continue;
		const align_span *s = &r->tok[j];
		const char *t = vocab_token(v, id);
		if ((rc = align_export_add_word(chars, nc, &cap, t ? t : "?", NULL, NULL, align_frame_time(s->start),
						align_frame_time(s->end), s->mean_p)))
			return rc;
	}
	return 0;
}

static int file_items(align_file_result *f, const vocab *v, int V)
{
	return result_items(&f->r, v, V, &f->words, &f->nwords, &f->chars, &f->nchars);
}

int align_text_items(const float *lp, int64_t T, int V, int blank, const vocab *v, const char *text, ax_item **words,
		     int64_t *nw, ax_item **chars, int64_t *nc)
{
	int *ids = NULL;
	int64_t n = 0;
	char *used = NULL;
	vocab_oov oov = { 0 };
	align_result r = { 0 };
	align_params p;
	align_params_default(&p);
	*words = *chars = NULL;
	*nw = *nc = 0;
	int rc = align_tokens(v, text, ALIGN_OOV_UNK, V, &ids, &n, &oov, &used);
	if (!rc && n > 0 && (rc = align_one(lp, T, V, blank, v, ids, n, text, &p, &r)) == 0 && r.status_ok)
		rc = result_items(&r, v, V, words, nw, chars, nc);
	if (!rc && n > 0 && !r.status_ok)
		rc = err_set(ACC_EINVAL, "cannot time the words of '%s': %s", text, r.message);
	if (rc) {
		align_export_items_free(*words, *nw);
		align_export_items_free(*chars, *nc);
		*words = *chars = NULL;
		*nw = *nc = 0;
	}
	align_result_free(&r);
	vocab_oov_free(&oov);
	free(ids);
	free(used);
	return rc;
}

int align_file_run(const char *audio_path, const char *text, const align_file_opts *o, emitter *em,
		   const vocab *v, align_file_result *res)
{
	textnorm *tn = NULL;
	align_labeler *lab = NULL;
	char *norm = NULL, *used = NULL;
	int *ids = NULL, flags = 0, rc;
	int64_t nid = 0, n = 0, T = 0;
	float *x = NULL, *lp = NULL;
	vocab_oov oov = { 0 };
	memset(res, 0, sizeof *res);
	if (vocab_size(v) != em->V)
		return err_set(ACC_EINVAL, "the vocabulary of '%s' has %d tokens but the model emits %d", o->lang, vocab_size(v),
			       em->V);
	const char *base = strrchr(audio_path, '/');
	if (!(res->key = strdup(base ? base + 1 : audio_path)) || !(res->raw = strdup(text))) {
		rc = err_set(ACC_ENOMEM, "align: out of memory");
		goto out;
	}
	textnorm_opts to;
	textnorm_opts_default(&to);
	to.lang = o->lang;
	to.profile = o->profile;
	if ((rc = textnorm_open(&tn, &to)))
		goto out;
	if ((rc = textnorm_apply(tn, text, &norm, &flags))) {
		err_wrap(rc, "transcript");
		goto out;
	}
	if ((rc = align_tokens(v, norm, o->p.oov, em->V, &ids, &nid, &oov, &used)))
		goto out;
	if (oov.n) {
		vocab_oov_describe(&oov, res->oov_desc, sizeof res->oov_desc);
		res->oov_total = oov.total;
		res->r.flags |= ALIGN_FLAG_OOV;
		if (o->p.oov == ALIGN_OOV_ERROR) {
			snprintf(res->r.message, sizeof res->r.message, "characters missing from the vocabulary: %s", res->oov_desc);
			goto done;
		}
	}
	if ((rc = audio_decode(audio_path, &x, &n, NULL, NULL)))
		goto out;
	if ((rc = em->emit(em->ctx, x, n, &lp, &T)))
		goto out;
	free(x);
	x = NULL;
	align_params p = o->p;
	if (o->long_s > 0 && (double)n / AUDIO_RATE > o->long_s)
		p.star_edges = 1;   /* as `align run` does for long recordings */
	int keep = res->r.flags;
	char msg[sizeof res->r.message];
	snprintf(msg, sizeof msg, "%s", res->r.message);
	if ((rc = align_one(lp, T, em->V, em->blank, v, ids, nid, norm, &p, &res->r)))
		goto out;
	res->r.flags |= keep;
	if (!res->r.message[0])
		snprintf(res->r.message, sizeof res->r.message, "%s", msg);
	if (res->r.status_ok && ((rc = align_labeler_open(&lab)) ||
	    (rc = align_result_labels(&res->r, lab, text, norm, textnorm_profile_name(tn), used)) ||
	    (rc = file_items(res, v, em->V))))
		goto out;
done:
	res->u.key = res->key;
	res->u.rec = res->key;
	res->u.text = res->raw;
	res->u.offset = 0;
	res->u.duration = (double)n / AUDIO_RATE;
	res->u.words = res->words;
	res->u.nwords = res->nwords;
	res->u.chars = res->chars;
	res->u.nchars = res->nchars;
out:
	if (rc)
		align_file_result_free(res);
	textnorm_close(tn);
	align_labeler_close(lab);
	vocab_oov_free(&oov);
	free(norm);
	free(used);
	free(ids);
	free(x);
	free(lp);
	return rc;
}
