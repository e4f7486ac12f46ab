/*
 * ingest.c — the `prep ingest` pipeline (see ingest.h).
 *
 * Threads:  reader (corpus_next + "already ingested?" check on its own
 * read connection) -> jobs queue -> workers (hash, decode, stats, VAD,
 * textnorm: everything slow and independent) -> results queue -> writer
 * (the caller's thread, the only one writing SQLite).  Both queues are
 * bounded, so memory does not depend on the corpus size.
 *
 * Idempotence and crash safety: a recording, its utterances, its long-text
 * lines and its rejects are written in one transaction; batches of results
 * share a transaction.  On a re-run the reader skips items whose recording
 * and utterances are all present, and the writer re-checks every key
 * (UNIQUE (corpus_id, utt_key)) and every content hash, so a run killed at
 * any point is completed by the next one without duplicates.  Reject rows
 * are written once per (corpus, source, reason).
 */
#include "prep/ingest.h"
#include "text/langcode.h"
#include "audio/audio.h"
#include "prep/corpus.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include "base/progress.h"
#include "text/textnorm.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/banned.h"

static volatile sig_atomic_t stop_requested;

/* Share of NaN/Inf samples above which a recording is rejected. */
#define INGEST_MAX_NONFINITE 0.001

void ingest_request_stop(void) { stop_requested = 1; }

void ingest_opts_default(ingest_opts *o)
{
	static const vad_opts vd = VAD_OPTS_DEFAULT;
	static const balance_opts bd = BALANCE_OPTS_DEFAULT;
	static const split_opts sd = SPLIT_OPTS_DEFAULT;
	memset(o, 0, sizeof *o);
	o->manifest_path = "data.db";
	o->min_dur = 0.5;
	o->max_dur = 30;
	o->vad = vd;
	o->silence_db = -45;
	o->max_clip = 0.01;
	o->bal = bd;
	o->split = sd;
	o->batch = 200;
	o->strip_diacritics = o->drop_digit_tokens = o->strip_harakat = -1;
}

/* ---- bounded queue ---- */

typedef struct queue {
	void **v;
	int cap, head, n, closed;
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
} queue;

static int q_init(queue *q, int cap)
{
	memset(q, 0, sizeof *q);
	q->v = calloc(cap, sizeof(void *));
	q->cap = cap;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	return q->v ? 0 : ACC_ENOMEM;
}

static void q_destroy(queue *q)
{
	free(q->v);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
}

static void q_push(queue *q, void *p)
{
	pthread_mutex_lock(&q->mu);
	while (q->n == q->cap)
		pthread_cond_wait(&q->not_full, &q->mu);
	q->v[(q->head + q->n++) % q->cap] = p;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

static void *q_pop(queue *q)
{
	void *p = NULL;
	pthread_mutex_lock(&q->mu);
	while (q->n == 0 && !q->closed)
		pthread_cond_wait(&q->not_empty, &q->mu);
	if (q->n) {
		p = q->v[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
		pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->mu);
	return p;
}

static void q_close(queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

/* ---- results ---- */

typedef struct urec {
	int    ok;              /* 1: insert; 0: reject */
	char  *key, *source;
	const char *reason;
	char  *msg;
	double start, end;
	char  *text_raw, *text_norm;
	char  *profile;         /* owned: textnorm's string dies with its worker */
	int    version, flags;
	const char *status;
	const corpus_utt *cu;   /* speaker attributes (in the item) */
	const char *lang;
} urec;

typedef struct lline {
	char *raw, *norm, *source, *profile;
	const char *lang;
	int version, flags;
} lline;

typedef struct result {
	int64_t seq;            /* position in corpus order */
	corpus_item it;
	int    have_rec;
	char   sha[65];
	int64_t size;
	double mtime;
	audio_info info;
	audio_stats st;
	urec  *u;
	int    nu, capu;
	lline *l;
	int    nl;
	const char *lang_long;  /* language of long-form pieces */
	int    oom;
} result;

static urec *add_urec(result *r)
{
	if (r->nu == r->capu) {
		int cap = r->capu ? r->capu * 2 : 4;
		urec *p = realloc(r->u, sizeof(urec) * cap);
		if (!p) {
			r->oom = 1;
			return NULL;
		}
		r->u = p;
		r->capu = cap;
	}
	urec *u = &r->u[r->nu++];
	memset(u, 0, sizeof *u);
	return u;
}

static void add_reject(result *r, const char *source, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add_reject(result *r, const char *source, const char *reason, const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	urec *u = add_urec(r);
	if (!u)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	u->source = strdup(source ? source : "");
	u->reason = reason;
	u->msg = strdup(buf);
}

static void result_free(result *r)
{
	for (int i = 0; i < r->nu; i++) {
		free(r->u[i].key);
		free(r->u[i].source);
		free(r->u[i].msg);
		free(r->u[i].text_raw);
		free(r->u[i].text_norm);
		free(r->u[i].profile);
	}
	free(r->u);
	for (int i = 0; i < r->nl; i++) {
		free(r->l[i].raw);
		free(r->l[i].norm);
		free(r->l[i].source);
		free(r->l[i].profile);
	}
	free(r->l);
	corpus_item_clear(&r->it);
	free(r);
}

/* ---- shared pipeline state ---- */

typedef struct pipe_t {
	const ingest_opts *o;
	char root[PATH_MAX];
	const char *layout;
	int64_t corpus_id;
	queue jobs, results;
	pthread_mutex_t mu;
	int workers_left;
	int64_t skipped, items, utts_present_skipped;
	int reader_rc;
	char reader_err[1024];
	volatile int abort;
	/* in-flight window: the reader waits while `window` items are between
	 * it and the writer, which writes them back in corpus order; bounds
	 * memory and makes "first one wins" (duplicates) follow corpus order */
	int window, inflight;
	int64_t next_seq;
	pthread_cond_t window_cv;
} pipe_t;

/* ---- worker ---- */

typedef struct tn_cache {
	char lang[32];
	textnorm *tn;
} tn_cache;

typedef struct worker {
	pipe_t *p;
	tn_cache tn[16];
	int ntn;
	pthread_t th;
} worker;

static textnorm *get_tn(worker *w, const char *lang)
{
	for (int i = 0; i < w->ntn; i++)
		if (!strcmp(w->tn[i].lang, lang))
			return w->tn[i].tn;
	textnorm_opts to;
	textnorm *tn = NULL;
	textnorm_opts_default(&to);
	to.lang = lang;
	to.profile = w->p->o->norm_profile;
	to.rules_path = w->p->o->rules_path;
	to.strip_diacritics = w->p->o->strip_diacritics;
	to.drop_digit_tokens = w->p->o->drop_digit_tokens;
	to.strip_harakat = w->p->o->strip_harakat;
	if (textnorm_open(&tn, &to) != 0) {
		/* an unknown language code: its text still gets the language-
		 * independent normalization */
		to.lang = "und";
		if (textnorm_open(&tn, &to) != 0)
			return NULL;
	}
	if (w->ntn == 16) {
		textnorm_close(w->tn[15].tn);
		w->ntn--;
	}
	snprintf(w->tn[w->ntn].lang, sizeof w->tn[w->ntn].lang, "%s", lang);
	w->tn[w->ntn++].tn = tn;
	return tn;
}

/* Per-10 ms frame measurements gathered while decoding. */
typedef struct frames_ctx {
	vad v;
	uint16_t *clip;
	int64_t nclip, cap;
} frames_ctx;

static int frames_cb(void *ctx, const float *x, int64_t n, int64_t offset)
{
	frames_ctx *f = ctx;
	int rc = vad_feed(&f->v, x, n);
	if (rc)
		return rc;
	int64_t need = (offset + n + VAD_FRAME - 1) / VAD_FRAME;
	if (need > f->cap) {
		int64_t cap = f->cap ? f->cap : 4096;
		while (cap < need)
			cap *= 2;
		uint16_t *p = realloc(f->clip, sizeof(uint16_t) * cap);
		if (!p)
			return err_set(ACC_ENOMEM, "out of memory");
		memset(p + f->cap, 0, sizeof(uint16_t) * (cap - f->cap));
		f->clip = p;
		f->cap = cap;
	}
	for (int64_t i = 0; i < n; i++)
		if (fabsf(x[i]) >= 0.999f)
			f->clip[(offset + i) / VAD_FRAME]++;
	if (need > f->nclip)
		f->nclip = need;
	return 0;
}

/* Normalize text for lang; returns 0 with *norm (malloc'ed, may be "") or a
 * reason code on failure. */
static const char *normalize(worker *w, const char *lang, const char *text, char **norm, int *flags,
			     char **profile, int *version)
{
	textnorm *tn = get_tn(w, lang);
	*norm = NULL;
	*flags = 0;
	if (!tn)
		return "norm_error";
	free(*profile);
	*profile = strdup(textnorm_profile_name(tn));
	*version = textnorm_profile_version(tn);
	int rc = textnorm_apply(tn, text, norm, flags);
	if (rc == ACC_EFORMAT || (*flags & TEXTNORM_BAD_UTF8))
		return "bad_utf8";
	if (rc)
		return "norm_error";
	if ((*flags & TEXTNORM_EMPTY) || !*norm || !**norm)
		return "empty_text";
	return NULL;
}

static const char *utt_lang(const ingest_opts *o, const char *layout_lang)
{
	/* Common Voice's "en"/"cy" as the ISO 639-3 codes models use */
	return langcode_label(o->lang ? o->lang : layout_lang ? layout_lang : "und", o->model_langs, o->n_model_langs);
}

/* Cut [0, dur) into VAD pieces with status needs_align. */
static void add_pieces(worker *w, result *r, frames_ctx *f, const char *key, const corpus_utt *cu,
		       const char *lang)
{
	const ingest_opts *o = w->p->o;
	vad_segment *seg = NULL;
	int ns = 0;
	if (vad_split(&f->v, &o->vad, &seg, &ns) != 0) {
		add_reject(r, r->it.source, "vad_error", "'%s': %s", r->it.audio, err_msg());
		return;
	}
	if (!ns)
		add_reject(r, r->it.source, "silent", "'%s' (%.1f s): no speech found by the voice activity detector",
			   r->it.audio, r->st.duration_s);
	for (int k = 0; k < ns; k++) {
		char src[4400], kk[4400];
		snprintf(src, sizeof src, "%s@%.2f-%.2f", r->it.audio, seg[k].start_s, seg[k].end_s);
		double d = seg[k].end_s - seg[k].start_s;
		if (d < o->vad.min_s - 1e-9) {
			add_reject(r, src, "too_short", "isolated sound of %.2f s in a long recording (pieces are %g-%g s)", d,
				   o->vad.min_s, o->vad.max_s);
			continue;
		}
		urec *u = add_urec(r);
		if (!u)
			break;
		snprintf(kk, sizeof kk, "%s#%04d", key, k + 1);
		u->ok = 1;
		u->key = strdup(kk);
		u->source = strdup(src);
		u->start = seg[k].start_s;
		u->end = seg[k].end_s;
		u->status = "needs_align";
		u->cu = cu;
		u->lang = lang;
	}
	free(seg);
}

static void add_line(worker *w, result *r, const char *raw, const char *src, const char *lang)
{
	lline *nl = realloc(r->l, sizeof(lline) * (r->nl + 1));
	if (!nl) {
		r->oom = 1;
		return;
	}
	r->l = nl;
	lline *l = &r->l[r->nl++];
	memset(l, 0, sizeof *l);
	l->raw = strdup(raw);
	l->source = strdup(src);
	l->lang = lang;
	const char *why = normalize(w, lang, raw, &l->norm, &l->flags, &l->profile, &l->version);
	if (why && l->norm) {
		free(l->norm);
		l->norm = NULL;
	}
}

static void process(worker *w, result *r)
{
	const ingest_opts *o = w->p->o;
	corpus_item *it = &r->it;
	char path[8192];
	struct stat st;
	frames_ctx f;
	int fault = 0, any_text = 0;

	if (it->reject_reason) {
		add_reject(r, it->source, it->reject_reason, "%s", it->reject_msg ? it->reject_msg : "");
		return;
	}
	if (fs_join(path, sizeof path, w->p->root, it->audio) != 0) {
		add_reject(r, it->source, "missing_file", "path too long: '%s'", it->audio);
		return;
	}
	if (stat(path, &st) != 0) {
		int e = errno;
		add_reject(r, it->source, e == ENOENT ? "missing_file" : "unreadable", "'%s': %s", it->audio,
			   e == ENOENT ? "file does not exist" : strerror(e));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		add_reject(r, it->source, "unreadable", "'%s' is not a regular file", it->audio);
		return;
	}
	for (int i = 0; i < it->nutt; i++)
		any_text |= it->utt[i].text != NULL;
	if (!it->long_form && !any_text) {
		for (int i = 0; i < it->nutt; i++)
			if (it->utt[i].reject_reason)
				add_reject(r, it->utt[i].source, it->utt[i].reject_reason, "%s",
					   it->utt[i].reject_msg ? it->utt[i].reject_msg : "");
			else
				add_reject(r, it->utt[i].source, "no_transcript", "'%s' has no transcript", it->audio);
		if (!it->nutt)
			add_reject(r, it->source, "no_transcript", "'%s' has no transcript", it->audio);
		return;
	}
	if (fs_sha256_file(path, r->sha) != 0) {
		add_reject(r, it->source, "unreadable", "%s", err_msg());
		return;
	}
	r->size = st.st_size;
	r->mtime = st.st_mtim.tv_sec + st.st_mtim.tv_nsec * 1e-9;
	memset(&f, 0, sizeof f);
	vad_init(&f.v);
	if (audio_decode_stream(path, frames_cb, &f, &r->info, &r->st, &fault) != 0) {
		const char *reason = fault == AUDIO_FAULT_NONE ? "corrupt_audio" : audio_fault_name(fault);
		add_reject(r, it->source, reason, "%s", err_msg());
		goto out;
	}
	if (r->st.nonfinite_ratio > INGEST_MAX_NONFINITE) {
		/* decoded as zeros: a few are a glitch, many are a broken file */
		add_reject(r, it->source, "bad_samples", "'%s': %.3f%% of the samples are NaN or infinite (maximum %g%%)",
			   it->audio, 100 * r->st.nonfinite_ratio, 100 * INGEST_MAX_NONFINITE);
		goto out;
	}
	r->have_rec = 1;
	double dur = r->st.duration_s;

	if (it->long_form) {
		const char *lang = utt_lang(o, NULL);
		char key[8192];
		snprintf(key, sizeof key, "%s", it->audio);
		char *dot = strrchr(key, '.');
		if (dot && !strchr(dot, '/'))
			*dot = 0;
		r->lang_long = lang;
		corpus_utt *cu = corpus_item_add_utt(it, key, NULL, it->source);  /* holds the speaker */
		if (!cu) {
			r->oom = 1;
			goto out;
		}
		cu->speaker = it->long_speaker ? strdup(it->long_speaker) : NULL;
		int usable = 0;
		for (int i = 0; i < it->nlines; i++) {
			char src[8300];
			snprintf(src, sizeof src, "%s:%d", it->source, i + 1);
			add_line(w, r, it->lines[i], src, lang);
			usable += r->nl > 0 && r->l[r->nl - 1].norm != NULL;
		}
		if (!usable) {
			add_reject(r, it->source, "empty_text", "transcript of long recording '%s' is empty after normalization",
				   it->audio);
			r->have_rec = 0;
			goto out;
		}
		add_pieces(w, r, &f, key, &it->utt[it->nutt - 1], lang);
		goto out;
	}

	int nutt = it->nutt;   /* add_pieces may not grow it; keep the count stable */
	for (int i = 0; i < nutt; i++) {
		corpus_utt *cu = &it->utt[i];
		const char *lang = utt_lang(o, cu->lang);
		char *norm = NULL, *profile = NULL;
		int flags = 0, version = 0;
		const char *why;
		double a = cu->start_s, b = cu->end_s < 0 ? dur : cu->end_s;
		int whole = cu->end_s < 0 && cu->start_s == 0;
		if (cu->reject_reason) {
			add_reject(r, cu->source, cu->reject_reason, "%s", cu->reject_msg ? cu->reject_msg : "");
			continue;
		}
		if (!cu->text) {
			add_reject(r, cu->source, "no_transcript", "utterance '%s' (%s) has no transcript", cu->key, it->audio);
			continue;
		}
		if ((why = normalize(w, lang, cu->text, &norm, &flags, &profile, &version)) != NULL) {
			add_reject(r, cu->source, why, "utterance '%s': %s", cu->key,
				   !strcmp(why, "bad_utf8") ? "transcript is not valid UTF-8" :
				   !strcmp(why, "empty_text") ? "transcript is empty after normalization" : err_msg());
			free(norm);
			free(profile);
			continue;
		}
		if (!(a >= 0) || !(b > a) || b > dur + 0.05) {
			add_reject(r, cu->source, "bad_span", "utterance '%s': span [%.3f, %.3f) s is not inside '%s' (%.3f s)",
				   cu->key, a, b, it->audio, dur);
			free(norm);
			free(profile);
			continue;
		}
		if (b > dur)
			b = dur;
		double d = b - a;
		if (d < o->min_dur) {
			add_reject(r, cu->source, "too_short", "utterance '%s' lasts %.3f s (minimum %g s)", cu->key, d, o->min_dur);
			free(norm);
			free(profile);
			continue;
		}
		if (d > o->max_dur) {
			if (whole && !o->no_vad) {
				/* a long recording with one transcript: pieces for the aligner */
				add_line(w, r, cu->text, cu->source, lang);
				add_pieces(w, r, &f, cu->key, cu, lang);
			} else {
				add_reject(r, cu->source, "too_long", "utterance '%s' lasts %.1f s (maximum %g s)", cu->key, d,
					   o->max_dur);
			}
			free(norm);
			free(profile);
			continue;
		}
		/* signal checks over the utterance's 10 ms frames */
		int64_t fa = (int64_t)(a * 100), fb = (int64_t)ceil(b * 100);
		if (fb > f.v.n + (f.v.acc_n ? 1 : 0))
			fb = f.v.n;
		double loud = -200;
		int64_t clipped = 0;
		for (int64_t k = fa; k < fb && k < f.v.n; k++)
			if (f.v.db[k] > loud)
				loud = f.v.db[k];
		for (int64_t k = fa; k < fb && k < f.nclip; k++)
			clipped += f.clip[k];
		if (f.v.acc_n && fb > f.v.n && f.v.acc_n > 0)
			loud = fmax(loud, 10 * log10(f.v.acc / f.v.acc_n + 1e-12));
		if (loud < o->silence_db) {
			add_reject(r, cu->source, "silent", "utterance '%s' is near-silent (loudest 10 ms at %.1f dBFS, threshold %g)",
				   cu->key, loud, o->silence_db);
			free(norm);
			free(profile);
			continue;
		}
		double cr = clipped / (d * AUDIO_RATE);
		if (cr > o->max_clip) {
			add_reject(r, cu->source, "clipped", "utterance '%s' is heavily clipped (%.2f%% of samples at full scale, maximum %g%%)",
				   cu->key, 100 * cr, 100 * o->max_clip);
			free(norm);
			free(profile);
			continue;
		}
		urec *u = add_urec(r);
		if (!u) {
			free(norm);
			free(profile);
			break;
		}
		u->ok = 1;
		u->key = strdup(cu->key);
		u->source = strdup(cu->source);
		u->start = a;
		u->end = b;
		u->text_raw = strdup(cu->text);
		u->text_norm = norm;
		u->profile = profile;
		u->version = version;
		u->flags = flags;
		u->status = "ok";
		u->cu = cu;
		u->lang = lang;
	}
out:
	vad_free(&f.v);
	free(f.clip);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	pipe_t *p = w->p;
	result *r;
	while ((r = q_pop(&p->jobs)) != NULL) {
		if (!p->abort)
			process(w, r);
		q_push(&p->results, r);
	}
	for (int i = 0; i < w->ntn; i++)
		textnorm_close(w->tn[i].tn);
	pthread_mutex_lock(&p->mu);
	if (--p->workers_left == 0)
		q_close(&p->results);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- reader ---- */

typedef struct reader_ctx {
	pipe_t *p;
	manifest *m;
	sqlite3_stmt *rec_by_path, *utt_exists, *long_exists;
	pthread_t th;
} reader_ctx;

static int64_t lookup_i64(sqlite3_stmt *st)
{
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return v;
}

/* 1 when everything the item would add is already in the manifest. */
static int already_done(reader_ctx *rc, corpus_item *it, int64_t *present)
{
	pipe_t *p = rc->p;
	if (it->reject_reason || !it->audio)
		return 0;
	sqlite3_bind_int64(rc->rec_by_path, 1, p->corpus_id);
	sqlite3_bind_text(rc->rec_by_path, 2, it->audio, -1, SQLITE_TRANSIENT);
	int64_t rec = lookup_i64(rc->rec_by_path);
	if (!rec)
		return 0;
	sqlite3_bind_int64(rc->long_exists, 1, rec);
	if (lookup_i64(rc->long_exists))
		return 1;   /* a long recording's pieces and lines went in together */
	if (it->long_form)
		return 0;
	for (int i = 0; i < it->nutt; i++) {
		sqlite3_bind_int64(rc->utt_exists, 1, p->corpus_id);
		sqlite3_bind_text(rc->utt_exists, 2, it->utt[i].key, -1, SQLITE_TRANSIENT);
		if (lookup_i64(rc->utt_exists) != rec)
			return 0;
	}
	*present += it->nutt;
	return it->nutt > 0;
}

static void *reader_main(void *arg)
{
	reader_ctx *rc = arg;
	pipe_t *p = rc->p;
	corpus *c = NULL;
	int r = corpus_open(&c, p->root, p->layout);
	if (r) {
		p->reader_rc = r;
		snprintf(p->reader_err, sizeof p->reader_err, "%s", err_msg());
		goto out;
	}
	corpus_allow_outside(c, p->o->allow_outside);
	for (;;) {
		if (stop_requested || p->abort)
			break;
		result *res = calloc(1, sizeof *res);
		if (!res) {
			p->reader_rc = err_set(ACC_ENOMEM, "out of memory");
			break;
		}
		r = corpus_next(c, &res->it);
		if (r <= 0) {
			free(res);
			if (r < 0) {
				p->reader_rc = r;
				snprintf(p->reader_err, sizeof p->reader_err, "%s", err_msg());
			}
			break;
		}
		int64_t present = 0;
		pthread_mutex_lock(&p->mu);
		p->items++;
		pthread_mutex_unlock(&p->mu);
		if (already_done(rc, &res->it, &present)) {
			pthread_mutex_lock(&p->mu);
			p->skipped++;
			p->utts_present_skipped += present;
			pthread_mutex_unlock(&p->mu);
			result_free(res);
			continue;
		}
		pthread_mutex_lock(&p->mu);
		while (p->inflight >= p->window && !p->abort)
			pthread_cond_wait(&p->window_cv, &p->mu);
		p->inflight++;
		res->seq = p->next_seq++;
		pthread_mutex_unlock(&p->mu);
		q_push(&p->jobs, res);
	}
out:
	corpus_close(c);
	q_close(&p->jobs);
	return NULL;
}

/* ---- writer ---- */

typedef struct writer {
	pipe_t *p;
	manifest *m;
	int64_t run_id;
	sqlite3_stmt *rej_exists, *utt_get, *line_ins, *rec_run, *utt_run;
	ingest_summary *s;
} writer;

static void count_reason(ingest_summary *s, const char *reason)
{
	s->rejects++;
	for (int i = 0; i < s->nreasons; i++)
		if (!strcmp(s->by_reason[i].reason, reason)) {
			s->by_reason[i].n++;
			return;
		}
	if (s->nreasons < INGEST_MAX_REASONS) {
		snprintf(s->by_reason[s->nreasons].reason, sizeof s->by_reason[0].reason, "%s", reason);
		s->by_reason[s->nreasons++].n = 1;
	}
}

static int write_reject(writer *w, const char *source, const char *reason, const char *msg)
{
	sqlite3_stmt *st = w->rej_exists;
	count_reason(w->s, reason);
	sqlite3_bind_int64(st, 1, w->p->corpus_id);
	sqlite3_bind_text(st, 2, source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_TRANSIENT);
	int have = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	if (have)
		return 0;
	w->s->rejects_new++;
	return manifest_reject(w->m, w->run_id, w->p->corpus_id, source, reason, msg);
}

/* Is the utterance key free?  0 = insert it; 1 = the same utterance is
 * already there from an earlier run (re-run); 2 = the key is used by
 * another recording or span (duplicate_id); 3 = the corpus lists the same
 * utterance twice (duplicate_id); 4 = same clip and span with another
 * transcript (conflicting_transcript).  Never "present" for a row this
 * run added: a second listing is a duplicate, not a re-run. */
static int key_state(writer *w, urec *u, int64_t rec, char *other, size_t cap)
{
	sqlite3_stmt *st = w->utt_get;
	int state = 0;
	sqlite3_bind_int64(st, 1, w->p->corpus_id);
	sqlite3_bind_text(st, 2, u->key, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		int64_t orec = sqlite3_column_int64(st, 0);
		double os = sqlite3_column_double(st, 1), oe = sqlite3_column_double(st, 2);
		const char *otext = (const char *)sqlite3_column_text(st, 4);
		int this_run = sqlite3_column_int64(st, 5) == w->run_id;
		snprintf(other, cap, "%s", sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "?");
		int same_clip = rec && orec == rec && fabs(os - u->start) < 1e-6 && fabs(oe - u->end) < 1e-6;
		int same_text = otext && u->text_raw ? !strcmp(otext, u->text_raw) : !otext && !u->text_raw;
		state = !same_clip ? 2 : !same_text ? 4 : this_run ? 3 : 1;
	}
	sqlite3_reset(st);
	return state;
}

static int set_run(writer *w, sqlite3_stmt *st, int64_t id)
{
	sqlite3_bind_int64(st, 1, w->run_id);
	sqlite3_bind_int64(st, 2, id);
	int r = sqlite3_step(st);
	sqlite3_reset(st);
	return r == SQLITE_DONE ? 0 : manifest_db_error(w->m, "recording the run that added a row");
}

static int write_result(writer *w, result *r)
{
	int rc = 0, nnew = 0;
	int64_t rec = 0;
	corpus_item *it = &r->it;
	char other[512];
	if (r->oom)
		return err_set(ACC_ENOMEM, "out of memory processing '%s'", it->audio ? it->audio : it->source);
	for (int i = 0; i < r->nu; i++)
		if (!r->u[i].ok && (rc = write_reject(w, r->u[i].source, r->u[i].reason, r->u[i].msg)) != 0)
			return rc;
	if (!r->have_rec)
		return 0;
	if ((rc = manifest_recording_by_path(w->m, w->p->corpus_id, it->audio, &rec)) != 0)
		return rc;
	/* settle every key first: a recording is only added with something in it */
	for (int i = 0; i < r->nu; i++) {
		urec *u = &r->u[i];
		if (!u->ok)
			continue;
		int ks = key_state(w, u, rec, other, sizeof other);
		if (ks == 1) {
			w->s->utts_present++;
			u->ok = 0;
		} else if (ks >= 2) {
			char msg[1200];
			if (ks == 2)
				snprintf(msg, sizeof msg, "utterance id '%s' (%s) is already used by %s", u->key, it->audio, other);
			else if (ks == 3)
				snprintf(msg, sizeof msg, "utterance '%s' (%s) is listed twice; the first listing (%s) is kept", u->key,
					 it->audio, other);
			else
				snprintf(msg, sizeof msg, "utterance '%s' (%s) has another transcript in %s; the one from %s is kept",
					 u->key, it->audio, u->source, other);
			if ((rc = write_reject(w, u->source, ks == 4 ? "conflicting_transcript" : "duplicate_id", msg)) != 0)
				return rc;
			u->ok = 0;
		} else {
			nnew++;
		}
	}
	if (!rec) {
		if (!nnew && !r->nl)
			return 0;
		int64_t dup = 0;
		if ((rc = manifest_recording_by_hash(w->m, r->sha, &dup)) != 0)
			return rc;
		if (dup) {
			char path[8192] = "";
			manifest_recording_abspath(w->m, dup, path, sizeof path);
			char msg[9000];
			snprintf(msg, sizeof msg, "'%s' has the same content (SHA-256 %.16s...) as recording %lld '%s'", it->audio,
				 r->sha, (long long)dup, path);
			return write_reject(w, it->source, "duplicate_audio", msg);
		}
		mf_recording mr = {
			.corpus_id = w->p->corpus_id, .path = it->audio, .sha256 = r->sha, .size_bytes = r->size,
			.mtime = r->mtime, .container = r->info.container, .codec = r->info.codec,
			.sample_rate = r->info.sample_rate, .channels = r->info.channels,
			.duration_declared = it->duration_declared >= 0 ? it->duration_declared : r->info.duration_declared,
			.duration_s = r->st.duration_s, .peak = r->st.peak, .rms = r->st.rms,
			.clip_ratio = r->st.clip_ratio, .silence_ratio = r->st.silence_ratio,
		};
		if ((rc = manifest_recording_insert(w->m, &mr, &rec)) != 0 || (rc = set_run(w, w->rec_run, rec)) != 0)
			return rc;
		w->s->files_new++;
		w->s->seconds_new += r->st.duration_s;
	}
	for (int i = 0; i < r->nl; i++) {
		lline *l = &r->l[i];
		sqlite3_stmt *st = w->line_ins;
		sqlite3_bind_int64(st, 1, rec);
		sqlite3_bind_int(st, 2, i + 1);
		sqlite3_bind_text(st, 3, l->raw, -1, SQLITE_TRANSIENT);
		if (l->norm)
			sqlite3_bind_text(st, 4, l->norm, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, 4);
		sqlite3_bind_text(st, 5, l->profile, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 6, l->version);
		sqlite3_bind_text(st, 7, l->lang, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 8, l->flags);
		sqlite3_bind_text(st, 9, l->source, -1, SQLITE_TRANSIENT);
		int sr = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (sr != SQLITE_DONE)
			return manifest_db_error(w->m, "inserting long_texts");
	}
	for (int i = 0; i < r->nu; i++) {
		urec *u = &r->u[i];
		if (!u->ok)
			continue;
		int64_t spk = 0, uid = 0;
		const corpus_utt *cu = u->cu;
		if (cu && cu->speaker) {
			mf_speaker ms = { .corpus_id = w->p->corpus_id, .label = cu->speaker, .gender = cu->gender,
					  .age = cu->age, .accent = cu->accent, .lang = u->lang };
			if ((rc = manifest_speaker_upsert(w->m, &ms, &spk)) != 0)
				return rc;
		}
		mf_utterance mu = {
			.utt_key = u->key, .corpus_id = w->p->corpus_id, .recording_id = rec, .speaker_id = spk,
			.channel = -1, .start_s = u->start, .end_s = u->end, .text_raw = u->text_raw,
			.text_norm = u->text_norm, .norm_profile = u->profile, .norm_version = u->version,
			.lang = u->lang, .flags = u->flags, .status = u->status, .source = u->source,
		};
		if ((rc = manifest_utterance_insert(w->m, &mu, &uid)) != 0 || (rc = set_run(w, w->utt_run, uid)) != 0)
			return rc;
		if (!strcmp(u->status, "ok"))
			w->s->utts_new++;
		else
			w->s->pieces_new++;
	}
	return 0;
}

static int prepare(manifest *m, const char *sql, sqlite3_stmt **st) { return manifest_prepare(m, sql, st); }

void ingest_summary_json(const ingest_summary *s, char *buf, size_t cap)
{
	size_t n = 0;
	n += snprintf(buf + n, cap - n,
		      "{\"layout\":\"%s\",\"items\":%lld,\"skipped\":%lld,\"recordings_added\":%lld,"
		      "\"utterances_added\":%lld,\"pieces_added\":%lld,\"utterances_present\":%lld,"
		      "\"hours_added\":%.4f,\"hours_decoded\":%.4f,\"rejects\":%lld,\"rejects_added\":%lld,"
		      "\"wall_s\":%.2f,\"interrupted\":%s,\"rejects_by_reason\":{",
		      s->layout, (long long)s->items, (long long)s->skipped, (long long)s->files_new,
		      (long long)s->utts_new, (long long)s->pieces_new, (long long)s->utts_present,
		      s->seconds_new / 3600, s->seconds_decoded / 3600, (long long)s->rejects,
		      (long long)s->rejects_new, s->wall_s, s->interrupted ? "true" : "false");
	for (int i = 0; i < s->nreasons && n < cap; i++)
		n += snprintf(buf + n, cap - n, "%s\"%s\":%lld", i ? "," : "", s->by_reason[i].reason,
			      (long long)s->by_reason[i].n);
	if (n < cap)
		snprintf(buf + n, cap - n, "}}");
}

static int count_items(const char *root, const char *layout, int64_t *n)
{
	corpus *c;
	corpus_item it;
	int r;
	*n = 0;
	if ((r = corpus_open(&c, root, layout)) != 0)
		return r;
	while ((r = corpus_next(c, &it)) == 1) {
		(*n)++;
		corpus_item_clear(&it);
		if (stop_requested)
			break;
	}
	corpus_close(c);
	return r < 0 ? r : 0;
}

int ingest_run(const ingest_opts *o, ingest_summary *s)
{
	pipe_t p;
	writer w;
	reader_ctx rd;
	worker *wk = NULL;
	manifest *m = NULL;
	progress pg;
	int rc = 0, nthreads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	int started_workers = 0, reader_started = 0, in_tx = 0, queues = 0;
	double t0 = progress_now(), t_commit;
	int64_t run_id = 0;
	char counts[4096];

	memset(s, 0, sizeof *s);
	memset(&p, 0, sizeof p);
	memset(&w, 0, sizeof w);
	memset(&rd, 0, sizeof rd);
	stop_requested = 0;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > 64)
		nthreads = 64;
	p.o = o;
	if (!realpath(o->root, p.root))
		return err_set(errno == ENOENT ? ACC_ENOTFOUND : ACC_EIO, "cannot open corpus '%s': %s", o->root,
			       strerror(errno));
	if (!(o->min_dur >= 0) || !(o->max_dur > o->min_dur))
		return err_set(ACC_EINVAL, "need 0 <= --min-dur (%g) < --max-dur (%g)", o->min_dur, o->max_dur);
	if (!(o->vad.max_s > o->vad.min_s) || o->vad.max_s > o->max_dur + 1e-9 || o->vad.min_s < 0) {
		err_set(ACC_EINVAL, "need 0 <= --vad-min (%g) < --vad-max (%g) <= --max-dur (%g)", o->vad.min_s, o->vad.max_s,
			o->max_dur);
		return ACC_EINVAL;
	}
	p.layout = o->layout;
	if (!p.layout && (rc = corpus_detect(p.root, &p.layout)) != 0)
		return rc;
	{
		/* validate the normalization options once, with a clear error */
		textnorm_opts to;
		textnorm *tn;
		textnorm_opts_default(&to);
		to.lang = o->lang ? o->lang : "und";
		to.profile = o->norm_profile;
		to.rules_path = o->rules_path;
		to.strip_diacritics = o->strip_diacritics;
		to.drop_digit_tokens = o->drop_digit_tokens;
		to.strip_harakat = o->strip_harakat;
		if ((rc = textnorm_open(&tn, &to)) != 0)
			return err_wrap(rc, "text normalization");
		textnorm_close(tn);
	}
	snprintf(s->layout, sizeof s->layout, "%s", p.layout);
	if ((rc = manifest_open(&m, o->manifest_path ? o->manifest_path : "data.db", 1)) != 0)
		return rc;
	if ((rc = manifest_run_begin(m, "prep ingest", o->argc, o->argv, &run_id)) != 0)
		goto out;
	s->run_id = run_id;
	if ((rc = manifest_corpus_upsert(m, p.root, p.layout, &p.corpus_id)) != 0)
		goto out;
	s->corpus_id = p.corpus_id;

	w.p = &p;
	w.m = m;
	w.run_id = run_id;
	w.s = s;
	if ((rc = prepare(m, "SELECT 1 FROM rejects WHERE corpus_id = ?1 AND source = ?2 AND reason = ?3 LIMIT 1",
			  &w.rej_exists)) ||
	    (rc = prepare(m, "SELECT recording_id, start_s, end_s, source, text_raw, added_run_id FROM utterances "
			  "WHERE corpus_id = ?1 AND utt_key = ?2",
			  &w.utt_get)) ||
	    (rc = prepare(m, "INSERT OR IGNORE INTO long_texts(recording_id, line_no, text_raw, text_norm, norm_profile, "
			  "norm_version, lang, flags, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", &w.line_ins)) ||
	    (rc = prepare(m, "UPDATE recordings SET added_run_id = ?1 WHERE id = ?2", &w.rec_run)) ||
	    (rc = prepare(m, "UPDATE utterances SET added_run_id = ?1 WHERE id = ?2", &w.utt_run)))
		goto out;

	/* the reader's own connection (WAL: reads while the writer writes) */
	if ((rc = manifest_open(&rd.m, o->manifest_path ? o->manifest_path : "data.db", 0)) != 0)
		goto out;
	rd.p = &p;
	if ((rc = prepare(rd.m, "SELECT id FROM recordings WHERE corpus_id = ?1 AND path = ?2", &rd.rec_by_path)) ||
	    (rc = prepare(rd.m, "SELECT recording_id FROM utterances WHERE corpus_id = ?1 AND utt_key = ?2", &rd.utt_exists)) ||
	    (rc = prepare(rd.m, "SELECT 1 FROM long_texts WHERE recording_id = ?1 LIMIT 1", &rd.long_exists)))
		goto out;

	int64_t total = 0;
	if (o->progress && (rc = count_items(p.root, p.layout, &total)) != 0)
		goto out;
	progress_init(&pg, "ingest", "files", total);
	if (!o->progress)
		pg.enabled = 0;

	if (q_init(&p.jobs, 2 * nthreads + 2) || q_init(&p.results, 2 * nthreads + 2)) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	queues = 1;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.window_cv, NULL);
	p.window = 4 * nthreads + 8;
	wk = calloc(nthreads, sizeof *wk);
	if (!wk) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	p.workers_left = nthreads;
	if (pthread_create(&rd.th, NULL, reader_main, &rd) != 0) {
		rc = err_set(ACC_EINTERNAL, "cannot start the reader thread");
		goto out;
	}
	reader_started = 1;
	for (int i = 0; i < nthreads; i++) {
		wk[i].p = &p;
		if (pthread_create(&wk[i].th, NULL, worker_main, &wk[i]) != 0) {
			/* the ones not started never decrement workers_left */
			pthread_mutex_lock(&p.mu);
			p.workers_left -= nthreads - i;
			if (p.workers_left == 0)
				q_close(&p.results);
			pthread_mutex_unlock(&p.mu);
			break;
		}
		started_workers++;
	}
	if (!started_workers) {
		p.abort = 1;
		rc = err_set(ACC_EINTERNAL, "cannot start worker threads");
	}

	t_commit = progress_now();
	int in_batch = 0;
	int64_t shown_skipped = 0;
	result **pending = calloc(p.window, sizeof(result *));
	int64_t want = 0;
	if (!pending) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		p.abort = 1;
	}
	for (;;) {
		result *r = NULL;
		if (pending && pending[want % p.window] && pending[want % p.window]->seq == want) {
			r = pending[want % p.window];
			pending[want % p.window] = NULL;
			want++;
		} else {
			r = q_pop(&p.results);
			if (!r) {
				/* only out-of-order leftovers after an abort */
				int left = 0;
				for (int i = 0; pending && i < p.window; i++)
					if (pending[i]) {
						result_free(pending[i]);
						pending[i] = NULL;
						left = 1;
					}
				(void)left;
				break;
			}
			if (pending && r->seq != want) {
				pending[r->seq % p.window] = r;
				continue;
			}
			want++;
		}
		pthread_mutex_lock(&p.mu);
		p.inflight--;
		pthread_cond_signal(&p.window_cv);
		pthread_mutex_unlock(&p.mu);
		if (rc == 0 && !p.abort) {
			if (!in_tx) {
				if ((rc = manifest_begin(m)) != 0)
					p.abort = 1;
				else
					in_tx = 1;
			}
			if (!rc) {
				if (r->have_rec)
					s->seconds_decoded += r->st.duration_s;
				if ((rc = write_result(&w, r)) != 0) {
					err_wrap(rc, "writing '%s'", r->it.audio ? r->it.audio : r->it.source);
					p.abort = 1;
				}
			}
			in_batch++;
			if (!rc && (in_batch >= (o->batch > 0 ? o->batch : 200) || progress_now() - t_commit > 2.0)) {
				if ((rc = manifest_commit(m)) != 0)
					p.abort = 1;
				in_tx = 0;
				in_batch = 0;
				t_commit = progress_now();
			}
		}
		result_free(r);
		pthread_mutex_lock(&p.mu);
		int64_t sk = p.skipped;
		pthread_mutex_unlock(&p.mu);
		char st[160];
		snprintf(st, sizeof st, "%.2f h new, %lld rejects", s->seconds_new / 3600, (long long)s->rejects);
		progress_status(&pg, st);
		progress_add(&pg, 1 + sk - shown_skipped);
		shown_skipped = sk;
	}
	free(pending);
	if (in_tx) {
		if (rc == 0)
			rc = manifest_commit(m);
		else
			manifest_rollback(m);
		in_tx = 0;
	}
	progress_done(&pg);
	pthread_join(rd.th, NULL);
	reader_started = 0;
	for (int i = 0; i < started_workers; i++)
		pthread_join(wk[i].th, NULL);
	started_workers = 0;
	s->items = p.items;
	s->skipped = p.skipped;
	s->utts_present += p.utts_present_skipped;
	s->interrupted = stop_requested != 0;
	if (!rc && p.reader_rc) {
		rc = p.reader_rc;
		err_set(rc, "%s", p.reader_err);
	}
	if (!rc && !o->no_balance && !s->interrupted) {
		if ((rc = balance_weights(m, &o->bal, &s->bal)) != 0)
			err_wrap(rc, "balance weights");
		else if ((rc = balance_split(m, &o->split, &s->split)) != 0)
			err_wrap(rc, "splits");
	} else if (!rc && o->no_balance) {
		rc = balance_speaker_totals(m);
	}
out:
	if (reader_started || started_workers) {
		/* error path before the writer loop ran: drain and join */
		p.abort = 1;
		stop_requested = 1;
		pthread_mutex_lock(&p.mu);
		pthread_cond_broadcast(&p.window_cv);
		pthread_mutex_unlock(&p.mu);
		result *r;
		while ((r = q_pop(&p.results)) != NULL)
			result_free(r);
		if (reader_started)
			pthread_join(rd.th, NULL);
		for (int i = 0; i < started_workers; i++)
			pthread_join(wk[i].th, NULL);
	}
	if (in_tx)
		manifest_rollback(m);
	s->wall_s = progress_now() - t0;
	if (m && run_id) {
		char *save = NULL;
		if (rc) {
			const char *em = err_msg();
			save = strdup(em ? em : "");
		}
		ingest_summary_json(s, counts, sizeof counts);
		manifest_run_end(m, run_id, rc ? err_exit_code(rc) : s->interrupted ? 130 : 0, counts);
		if (save) {
			err_set(rc, "%s", save);
			free(save);
		}
	}
	sqlite3_finalize(w.rej_exists);
	sqlite3_finalize(w.utt_get);
	sqlite3_finalize(w.line_ins);
	sqlite3_finalize(w.rec_run);
	sqlite3_finalize(w.utt_run);
	sqlite3_finalize(rd.rec_by_path);
	sqlite3_finalize(rd.utt_exists);
	sqlite3_finalize(rd.long_exists);
	if (rd.m)
		manifest_close(rd.m);
	if (m)
		manifest_close(m);
	if (queues) {
		q_destroy(&p.jobs);
		q_destroy(&p.results);
		pthread_mutex_destroy(&p.mu);
		pthread_cond_destroy(&p.window_cv);
	}
	free(wk);
	return rc;
}
