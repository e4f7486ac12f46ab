/*
 * align_one.c — one utterance's alignment, word texts, labels, quality and
 * flags (see align_one.h).
 */
#include "align/align_one.h"
#include "model/ctc.h"
#include "base/err.h"
#include "text/wordbreak.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

void align_params_default(align_params *p)
{
	*p = (align_params){ .oov = ALIGN_OOV_UNK, .window = 30, .low_conf = -4.0, .rate_min = 2.0, .rate_max = 30.0,
			     .edge_max_s = 2.0, .seg_min_s = 1.0, .seg_max_s = 30.0, .break_words = 1 };
}


void align_result_free(align_result *r)
{
	if (!r)
		return;
	free(r->tok);
	free(r->tok_ids);
	free(r->words);
	if (r->word_text)
		for (int64_t i = 0; i < r->nwords; i++)
			free(r->word_text[i]);
	free(r->word_text);
	align_label_free(r->word_label, r->word_label ? r->nwords : 0);
	align_label_free(r->word_rom, r->word_rom ? r->nwords : 0);
	memset(r, 0, sizeof *r);
}

/* Word texts: the text's whitespace-separated words when they match the
 * aligned words one to one, else the concatenated token strings. */
static int word_texts(align_result *r, const vocab *v, const char *text)
{
	char **tw = NULL;
	int64_t nw = 0;
	if (align_label_split(text, &tw, &nw))
		return ACC_ENOMEM;
	if (nw == r->nwords && nw > 0) {
		r->word_text = tw;
		return 0;
	}
	align_label_free(tw, nw);
	r->word_text = calloc(r->nwords ? r->nwords : 1, sizeof(char *));
	if (!r->word_text)
		return ACC_ENOMEM;
	for (int64_t i = 0; i < r->nwords; i++) {
		size_t len = 0;
		for (int64_t j = r->words[i].first; j <= r->words[i].last; j++) {
			const char *s = vocab_token(v, r->tok_ids[j]);
			len += s ? strlen(s) : 6;
		}
		char *w = malloc(len + 1);
		if (!w)
			return ACC_ENOMEM;
		size_t at = 0;
		w[0] = 0;
		for (int64_t j = r->words[i].first; j <= r->words[i].last; j++) {
			const char *s = vocab_token(v, r->tok_ids[j]);
			at += (size_t)snprintf(w + at, len + 1 - at, "%s", s ? s : "<star>");
		}
		r->word_text[i] = w;
	}
	return 0;
}

/* Byte offset of code point k in s. */
static size_t cp_offset(const char *s, int64_t k)
{
	size_t i = 0;
	for (; s[i] && k > 0; i++)
		if (((unsigned char)s[i + 1] & 0xC0) != 0x80)
			k--;
	return i;
}

static int64_t cp_count(const char *s)
{
	int64_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Words of scripts written without spaces cut into ICU word units
 * (wordbreak.h): a word whose text has one token per code point becomes
 * one word per unit, timed and scored from its tokens as align_word_spans
 * does (frame-weighted means). */
static int break_words(align_result *r)
{
	align_span *nw = NULL;
	char **nt = NULL;
	int64_t n = 0;
	size_t capw = 0, capt = 0;
	int rc = 0;
	if ((rc = ARRAY_GROW(nw, capw, (size_t)r->nwords + 16)) || (rc = ARRAY_GROW(nt, capt, (size_t)r->nwords + 16)))
		goto out;
	for (int64_t i = 0; i < r->nwords; i++) {
		const align_span *w = &r->words[i];
		const char *t = r->word_text[i];
		int64_t *cuts = NULL;
		int nc = 0;
		if (wordbreak_needed(t) && cp_count(t) == w->last - w->first + 1 && wordbreak_split(t, NULL, &cuts, &nc))
			err_clear();   /* not splittable: the word stays whole */
		if ((rc = ARRAY_GROW(nw, capw, (size_t)(n + nc + 1))) || (rc = ARRAY_GROW(nt, capt, (size_t)(n + nc + 1)))) {
			free(cuts);
			goto out;
		}
		int64_t a0 = 0;
		for (int k = 0; k <= nc; k++) {
			int64_t a1 = k < nc ? cuts[k] : w->last - w->first + 1;
			align_span *x = &nw[n];
			*x = *w;
			if (nc > 0) {
				double frames = 0, sl = 0, sp = 0;
				for (int64_t j = w->first + a0; j < w->first + a1; j++) {
					double f = (double)(r->tok[j].end - r->tok[j].start);
					frames += f;
					sl += r->tok[j].mean_logp * f;
					sp += r->tok[j].mean_p * f;
				}
				x->first = w->first + a0;
				x->last = w->first + a1 - 1;
				x->id = r->tok[x->first].id;
				x->start = r->tok[x->first].start;
				x->end = r->tok[x->last].end;
				x->mean_logp = frames > 0 ? sl / frames : r->tok[x->first].mean_logp;
				x->mean_p = frames > 0 ? sp / frames : r->tok[x->first].mean_p;
			}
			size_t b0 = cp_offset(t, a0), b1 = cp_offset(t, a1);
			if (!(nt[n] = strndup(t + b0, b1 - b0))) {
				free(cuts);
				rc = ACC_ENOMEM;
				goto out;
			}
			n++;
			a0 = a1;
		}
		free(cuts);
	}
	for (int64_t i = 0; i < r->nwords; i++)
		free(r->word_text[i]);
	free(r->word_text);
	free(r->words);
	r->words = nw;
	r->word_text = nt;
	r->nwords = n;
	return 0;
out:
	for (int64_t i = 0; i < n; i++)
		free(nt[i]);
	free(nt);
	free(nw);
	return rc;
}

int align_result_labels(align_result *r, align_labeler *l, const char *raw, const char *norm, const char *profile,
			const char *used)
{
	char **lab = NULL;
	int64_t n = 0;
	int rc;
	if (!r->status_ok || r->nwords == 0)
		return 0;
	if ((rc = align_label_map(l, raw, norm, profile, &lab, &n, NULL)))
		return rc;
	if (n == r->nwords)
		r->word_label = lab;
	else
		align_label_free(lab, n);
	if (used && norm && strcmp(used, norm)) {
		char **rw = NULL;
		int64_t nr = 0;
		if ((rc = align_label_split(used, &rw, &nr)))
			return rc;
		if (nr == r->nwords)
			r->word_rom = rw;
		else
			align_label_free(rw, nr);
	}
	return 0;
}

int align_one(const float *lp, int64_t T, int V, int blank, const vocab *v, const int *ids, int64_t n,
	      const char *text, const align_params *p, align_result *r)
{
	int rc = 0, star = V;
	int delim = vocab_delim_id(v);
	align_path path = { 0 };
	memset(r, 0, sizeof *r);
	r->frames = T;
	if (n == 0) {
		r->flags |= ALIGN_FLAG_EMPTY_TEXT;
		snprintf(r->message, sizeof r->message, "nothing to align: empty transcript");
		return 0;
	}
	if (T == 0) {
		r->flags |= ALIGN_FLAG_EMPTY_AUDIO;
		snprintf(r->message, sizeof r->message, "no frames: the audio is shorter than the model's receptive field");
		return 0;
	}
	for (int64_t i = 0; i < T * V; i++)
		if (!isfinite(lp[i]) && !(lp[i] < 0)) {
			/* -inf is a legitimate log-prob; NaN and +inf are a broken model */
			r->flags |= ALIGN_FLAG_ERROR;
			snprintf(r->message, sizeof r->message, "the model's log-probabilities are not finite (NaN/+inf at frame %lld)",
				 (long long)(i / V));
			return 0;
		}
	int64_t L = n + (p->star_edges ? 2 : 0), k = 0;
	int *tg = malloc(sizeof(int) * L);
	if (!tg)
		return err_set(ACC_ENOMEM, "align: out of memory");
	if (p->star_edges)
		tg[k++] = star;
	memcpy(tg + k, ids, sizeof(int) * n);
	k += n;
	if (p->star_edges)
		tg[k++] = star;
	int64_t need = ctc_min_frames(tg, L), reps = need - L;
	int uses_star = p->star_edges;
	for (int64_t i = 0; i < n; i++)
		uses_star |= ids[i] == star;
	r->tok_ids = tg;
	r->ntok = L;
	r->tokens = n;
	if (T < need) {
		r->flags |= ALIGN_FLAG_IMPOSSIBLE;
		snprintf(r->message, sizeof r->message,
			 "transcript too long for the audio: %lld frames (%.2f s) < %lld tokens + %lld repeats",
			 (long long)T, align_frame_time(T), (long long)L, (long long)reps);
		return 0;
	}
	align_opts o = { .blank = blank, .star_id = uses_star ? star : -1, .mem_budget = p->mem_budget };
	if ((rc = align_viterbi(lp, T, V, V, tg, L, &o, &path))) {
		/* impossible cases were caught above: this is an emission problem */
		r->flags |= ALIGN_FLAG_ERROR;
		snprintf(r->message, sizeof r->message, "%s", err_msg());
		return rc == ACC_ENOMEM ? rc : 0;
	}
	if ((rc = align_token_spans(&path, L, &r->tok)))
		goto out;
	if ((rc = align_word_spans(r->tok, L, path.T, tg, delim, star, &r->words, &r->nwords)))
		goto out;
	if ((rc = word_texts(r, v, text)) || (p->break_words && (rc = break_words(r)))) {
		rc = err_set(ACC_ENOMEM, "align: out of memory");
		goto out;
	}
	int64_t first = -1, last = -1, chars = 0;
	for (int64_t j = 0; j < L; j++)
		if (tg[j] != star) {
			if (first < 0)
				first = j;
			last = j;
			chars += tg[j] != delim;
		}
	if (first < 0) {
		r->flags |= ALIGN_FLAG_EMPTY_TEXT;
		snprintf(r->message, sizeof r->message, "only wildcard tokens to align");
		goto out;
	}
	int64_t f0 = r->tok[first].start, f1 = r->tok[last].end;
	align_quality(&path, f0, f1, star, p->window, &r->mean_logp, &r->min_window_logp);
	r->chars_per_s = chars / align_frame_time(f1 - f0);
	r->lead_s = align_frame_time(f0);
	r->trail_s = align_frame_time(T - f1);
	r->status_ok = 1;
	size_t ml = strlen(r->message);
	if (r->min_window_logp < p->low_conf) {
		r->flags |= ALIGN_FLAG_LOW_CONF;
		ml += snprintf(r->message + ml, sizeof r->message - ml, "%sconfidence %.2f below %.2f", ml ? "; " : "",
			       r->min_window_logp, p->low_conf);
	}
	if (ml < sizeof r->message && (r->chars_per_s < p->rate_min || r->chars_per_s > p->rate_max)) {
		r->flags |= ALIGN_FLAG_RATE;
		ml += snprintf(r->message + ml, sizeof r->message - ml, "%s%.1f chars/s outside [%.1f, %.1f]", ml ? "; " : "",
			       r->chars_per_s, p->rate_min, p->rate_max);
	}
	if (ml < sizeof r->message && (r->lead_s > p->edge_max_s || r->trail_s > p->edge_max_s)) {
		r->flags |= ALIGN_FLAG_EDGE;
		snprintf(r->message + ml, sizeof r->message - ml, "%sunaligned edges %.2f s / %.2f s (max %.2f)", ml ? "; " : "",
			 r->lead_s, r->trail_s, p->edge_max_s);
	}
out:
	align_path_free(&path);
	return rc;
}
