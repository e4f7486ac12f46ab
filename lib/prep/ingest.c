/*
 * ingest.c — the `prep ingest` pipeline (see ingest.h).
 *
 * Threads:  reader (corpus_next + "already ingested?" check on its own
 * read connection) -> jobs queue -> workers (hash, decode, stats, VAD,
 * textnorm: everything slow and independent) -> results queue -> writer
 * (the caller's thread, the only one writing SQLite).  Both queues are
 * bounded, so memory does not depend on the corpus size.
 *
 * Under `mpirun -np N` (run_ranks, at the end of this file) the same
 * workers run on every rank, and rank 0's main thread is both the reader
 * and the writer: it broadcasts batches of items, each rank decodes its
 * share, and rank 0 writes the gathered results in corpus order through
 * the same writer step (writer_take).
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
#include "prep/ingest_dist.h"
#include "base/dist.h"
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
	o->manifest_path = MANIFEST_DEFAULT;
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

/* ---- results (lib/prep/ingest_dist.h) ---- */

/* short names for the types of this file's pipeline */
typedef ingest_urec urec;
typedef ingest_line lline;
typedef ingest_result result;

static void add_reject(result *r, const char *source, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add_reject(result *r, const char *source, const char *reason, const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	urec *u = ingest_result_add_urec(r);
	if (!u)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	u->source = strdup(source ? source : "");
	u->reason = reason;
	u->msg = strdup(buf);
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
	int64_t nclip;
	size_t cap;
} frames_ctx;

static int frames_cb(void *ctx, const float *x, int64_t n, int64_t offset)
{
	frames_ctx *f = ctx;
	int rc = vad_feed(&f->v, x, n);
	if (rc)
		return rc;
	int64_t need = (offset + n + VAD_FRAME - 1) / VAD_FRAME;
	size_t had = f->cap;
	if ((rc = ARRAY_GROW(f->clip, f->cap, (size_t)need)))
		return rc;
	if (f->cap > had)   /* the counts of frames not reached yet */
		memset(f->clip + had, 0, sizeof(uint16_t) * (f->cap - had));
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
		urec *u = ingest_result_add_urec(r);
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
	lline *l = ingest_result_add_line(r);
	if (!l)
		return;
	l->raw = strdup(raw);
	l->source = strdup(src);
	l->lang = lang;
	const char *why = normalize(w, lang, raw, &l->norm, &l->flags, &l->profile, &l->version);
	if (why && l->norm) {
		free(l->norm);
		l->norm = NULL;
	}
}

/* A long recording with its transcript lines (longform layout): the
 * lines go to long_texts, the audio is cut into VAD pieces awaiting
 * alignment; a transcript with no usable line rejects the recording. */
static void process_long(worker *w, result *r, frames_ctx *f)
{
	const ingest_opts *o = w->p->o;
	corpus_item *it = &r->it;
	const char *lang = utt_lang(o, NULL);
	char key[8192];
	snprintf(key, sizeof key, "%s", it->audio);
	char *dot = strrchr(key, '.');
	if (dot && !strchr(dot, '/'))
		*dot = 0;
	corpus_utt *cu = corpus_item_add_utt(it, key, NULL, it->source);  /* holds the speaker */
	if (!cu) {
		r->oom = 1;
		return;
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
		return;
	}
	add_pieces(w, r, f, key, &it->utt[it->nutt - 1], lang);
}

/* The utterances of an ordinary item: transcript, span, duration and
 * signal checks, each failure a reject; a whole file longer than max_dur
 * is cut into VAD pieces (unless no_vad). */
static void process_utts(worker *w, result *r, frames_ctx *f)
{
	const ingest_opts *o = w->p->o;
	corpus_item *it = &r->it;
	double dur = r->st.duration_s;
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
				add_pieces(w, r, f, cu->key, cu, lang);
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
		if (fb > f->v.n + (f->v.acc_n ? 1 : 0))
			fb = f->v.n;
		double loud = -200;
		int64_t clipped = 0;
		for (int64_t k = fa; k < fb && k < f->v.n; k++)
			if (f->v.db[k] > loud)
				loud = f->v.db[k];
		for (int64_t k = fa; k < fb && k < f->nclip; k++)
			clipped += f->clip[k];
		if (f->v.acc_n && fb > f->v.n && f->v.acc_n > 0)
			loud = fmax(loud, 10 * log10(f->v.acc / f->v.acc_n + 1e-12));
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
		urec *u = ingest_result_add_urec(r);
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
}

/* Everything slow and independent for one item, on a worker thread:
 * hash, decode + resample, signal statistics, VAD, normalization.  Every
 * problem becomes a reject in r; r->have_rec says the recording is kept. */
static void process(worker *w, result *r)
{
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
	if (it->long_form)
		process_long(w, r, &f);
	else
		process_utts(w, r, &f);
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

/* Record a read failure for the end of the run: what was read before it
 * is still written, as when the corpus simply ends. */
static void reader_fail(pipe_t *p, int r)
{
	p->reader_rc = r;
	snprintf(p->reader_err, sizeof p->reader_err, "%s", err_msg());
}

/* The next item to decode: 1 with *out (its item read; seq not set yet),
 * 0 at the end of the corpus, on a stop or after a read failure (kept in
 * p->reader_rc).  Items already in the manifest are counted and skipped. */
static int reader_next(reader_ctx *rc, corpus *c, result **out)
{
	pipe_t *p = rc->p;
	*out = NULL;
	while (!stop_requested && !p->abort && !p->reader_rc) {
		result *res = calloc(1, sizeof *res);
		if (!res) {
			reader_fail(p, err_set(ACC_ENOMEM, "out of memory"));
			break;
		}
		int r = corpus_next(c, &res->it);
		if (r <= 0) {
			free(res);
			if (r < 0)
				reader_fail(p, r);
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
			ingest_result_free(res);
			continue;
		}
		*out = res;
		return 1;
	}
	return 0;
}

/* The corpus of the run, opened as the reader reads it. */
static int reader_corpus(pipe_t *p, corpus **c)
{
	int r = corpus_open(c, p->root, p->layout);
	if (r)
		return r;
	corpus_allow_outside(*c, p->o->allow_outside);
	return 0;
}

/* The reader thread of the one-process pipeline: items in corpus order,
 * at most p->window of them between it and the writer. */
static void *reader_main(void *arg)
{
	reader_ctx *rc = arg;
	pipe_t *p = rc->p;
	corpus *c = NULL;
	result *res;
	int r = reader_corpus(p, &c);
	if (r)
		reader_fail(p, r);
	while (!r && reader_next(rc, c, &res) == 1) {
		pthread_mutex_lock(&p->mu);
		while (p->inflight >= p->window && !p->abort)
			pthread_cond_wait(&p->window_cv, &p->mu);
		p->inflight++;
		res->seq = p->next_seq++;
		pthread_mutex_unlock(&p->mu);
		q_push(&p->jobs, res);
	}
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
	int in_tx, in_batch;       /* a transaction is open; results in it */
	double t_commit;           /* when the last one was committed */
	progress pg;
	int64_t shown_skipped;     /* skipped items already counted by pg */
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

void ingest_rejects_query(int64_t run_id, char *buf, size_t cap)
{
	snprintf(buf, cap, "SELECT reason, source, message FROM rejects WHERE run_id = %lld", (long long)run_id);
}

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

/* ---- the writer's step, shared by both run modes ---- */

/* Store one result (results arrive in corpus order): a transaction is
 * opened when none is and committed after o->batch results or 2 s,
 * whichever comes first, so a kill loses at most that much work. */
static int writer_take(writer *w, result *r)
{
	int rc = 0;
	const ingest_opts *o = w->p->o;
	if (!w->in_tx) {
		if ((rc = manifest_begin(w->m)) != 0)
			return rc;
		w->in_tx = 1;
	}
	if (r->have_rec)
		w->s->seconds_decoded += r->st.duration_s;
	if ((rc = write_result(w, r)) != 0)
		return err_wrap(rc, "writing '%s'", r->it.audio ? r->it.audio : r->it.source);
	w->in_batch++;
	if (w->in_batch >= (o->batch > 0 ? o->batch : 200) || progress_now() - w->t_commit > 2.0) {
		rc = manifest_commit(w->m);
		w->in_tx = 0;
		w->in_batch = 0;
		w->t_commit = progress_now();
	}
	return rc;
}

/* One result done (stored or not), plus the items skipped meanwhile. */
static void writer_progress(writer *w)
{
	pipe_t *p = w->p;
	pthread_mutex_lock(&p->mu);
	int64_t sk = p->skipped;
	pthread_mutex_unlock(&p->mu);
	char st[160];
	snprintf(st, sizeof st, "%.2f h new, %lld rejects", w->s->seconds_new / 3600, (long long)w->s->rejects);
	progress_status(&w->pg, st);
	progress_add(&w->pg, 1 + sk - w->shown_skipped);
	w->shown_skipped = sk;
}

/* ---- setup ---- */

/* Check the options and find the corpus: p->root (absolute), p->layout. */
static int run_check(const ingest_opts *o, pipe_t *p)
{
	int rc;
	if (!realpath(o->root, p->root))
		return err_set(errno == ENOENT ? ACC_ENOTFOUND : ACC_EIO, "cannot open corpus '%s': %s", o->root,
			       strerror(errno));
	if (!(o->min_dur >= 0) || !(o->max_dur > o->min_dur))
		return err_set(ACC_EINVAL, "need 0 <= --min-dur (%g) < --max-dur (%g)", o->min_dur, o->max_dur);
	if (!(o->vad.max_s > o->vad.min_s) || o->vad.max_s > o->max_dur + 1e-9 || o->vad.min_s < 0)
		return err_set(ACC_EINVAL, "need 0 <= --vad-min (%g) < --vad-max (%g) <= --max-dur (%g)", o->vad.min_s,
			       o->vad.max_s, o->max_dur);
	p->layout = o->layout;
	if (!p->layout && (rc = corpus_detect(p->root, &p->layout)) != 0)
		return rc;
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
	return 0;
}

/* The manifest side: the runs row, the corpus row, the writer's statements
 * and the reader's own connection (WAL: it reads while the writer writes). */
static int run_open(writer *w, reader_ctx *rd, manifest **m)
{
	pipe_t *p = w->p;
	const ingest_opts *o = p->o;
	const char *path = o->manifest_path ? o->manifest_path : MANIFEST_DEFAULT;
	int rc;
	TRY(manifest_open(m, path, 1));
	w->m = *m;
	TRY(manifest_run_begin(*m, "prep ingest", o->argc, o->argv, &w->run_id));
	w->s->run_id = w->run_id;
	TRY(manifest_corpus_upsert(*m, p->root, p->layout, &p->corpus_id));
	w->s->corpus_id = p->corpus_id;
	TRY(prepare(*m, "SELECT 1 FROM rejects WHERE corpus_id = ?1 AND source = ?2 AND reason = ?3 LIMIT 1",
		    &w->rej_exists));
	TRY(prepare(*m, "SELECT recording_id, start_s, end_s, source, text_raw, added_run_id FROM utterances "
		    "WHERE corpus_id = ?1 AND utt_key = ?2", &w->utt_get));
	TRY(prepare(*m, "INSERT OR IGNORE INTO long_texts(recording_id, line_no, text_raw, text_norm, norm_profile, "
		    "norm_version, lang, flags, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", &w->line_ins));
	TRY(prepare(*m, "UPDATE recordings SET added_run_id = ?1 WHERE id = ?2", &w->rec_run));
	TRY(prepare(*m, "UPDATE utterances SET added_run_id = ?1 WHERE id = ?2", &w->utt_run));
	TRY(manifest_open(&rd->m, path, 0));
	TRY(prepare(rd->m, "SELECT id FROM recordings WHERE corpus_id = ?1 AND path = ?2", &rd->rec_by_path));
	TRY(prepare(rd->m, "SELECT recording_id FROM utterances WHERE corpus_id = ?1 AND utt_key = ?2",
		    &rd->utt_exists));
	TRY(prepare(rd->m, "SELECT 1 FROM long_texts WHERE recording_id = ?1 LIMIT 1", &rd->long_exists));
out:
	return rc;
}

/* Weights and splits over the whole manifest once every row is in (not
 * after an interrupted run: the next one completes it and recomputes). */
static int run_balance(manifest *m, const ingest_opts *o, ingest_summary *s)
{
	int rc = 0;
	if (!o->no_balance && !s->interrupted) {
		if ((rc = balance_weights(m, &o->bal, &s->bal)) != 0)
			err_wrap(rc, "balance weights");
		else if ((rc = balance_split(m, &o->split, &s->split)) != 0)
			err_wrap(rc, "splits");
	} else if (o->no_balance) {
		rc = balance_speaker_totals(m);
	}
	return rc;
}

/* Start n worker threads on p's queues; returns how many started (the
 * ones that did not never decrement workers_left). */
static int workers_start(pipe_t *p, worker *wk, int n)
{
	int started = 0;
	p->workers_left = n;
	for (int i = 0; i < n; i++) {
		wk[i].p = p;
		if (pthread_create(&wk[i].th, NULL, worker_main, &wk[i]) != 0) {
			pthread_mutex_lock(&p->mu);
			p->workers_left -= n - i;
			if (p->workers_left == 0)
				q_close(&p->results);
			pthread_mutex_unlock(&p->mu);
			break;
		}
		started++;
	}
	return started;
}

/* ---- one process: reader thread -> workers -> this thread writes ---- */

/* The writer loop: results come back from the workers in any order and
 * are written in corpus order (pending holds the early ones, at most
 * p->window).  After an error the rest is drained without writing. */
static int pipeline_write(pipe_t *p, writer *w, result **pending)
{
	int rc = 0;
	int64_t want = 0;
	for (;;) {
		result *r = NULL;
		if (pending[want % p->window] && pending[want % p->window]->seq == want) {
			r = pending[want % p->window];
			pending[want % p->window] = NULL;
		} else if (!(r = q_pop(&p->results))) {
			break;   /* only out-of-order leftovers after an abort */
		} else if (r->seq != want) {
			pending[r->seq % p->window] = r;
			continue;
		}
		want++;
		pthread_mutex_lock(&p->mu);
		p->inflight--;
		pthread_cond_signal(&p->window_cv);
		pthread_mutex_unlock(&p->mu);
		if (rc == 0 && !p->abort && (rc = writer_take(w, r)) != 0)
			p->abort = 1;
		ingest_result_free(r);
		writer_progress(w);
	}
	for (int i = 0; i < p->window; i++) {
		ingest_result_free(pending[i]);
		pending[i] = NULL;
	}
	return rc;
}

static int run_pipeline(pipe_t *p, writer *w, reader_ctx *rd, int nthreads)
{
	int rc = 0, started = 0;
	worker *wk = calloc(nthreads, sizeof *wk);
	p->window = 4 * nthreads + 8;
	result **pending = calloc(p->window, sizeof *pending);
	int qa = q_init(&p->jobs, 2 * nthreads + 2), qb = q_init(&p->results, 2 * nthreads + 2);
	if (!wk || !pending || qa || qb) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	if (pthread_create(&rd->th, NULL, reader_main, rd) != 0) {
		rc = err_set(ACC_EINTERNAL, "cannot start the reader thread");
		goto out;
	}
	if (!(started = workers_start(p, wk, nthreads))) {
		p->abort = 1;
		rc = err_set(ACC_EINTERNAL, "cannot start worker threads");
	}
	int wrc = pipeline_write(p, w, pending);
	if (!rc)
		rc = wrc;
	pthread_join(rd->th, NULL);
	for (int i = 0; i < started; i++)
		pthread_join(wk[i].th, NULL);
out:
	q_destroy(&p->jobs);
	q_destroy(&p->results);
	free(pending);
	free(wk);
	return rc;
}

/* ---- mpirun -np N prep ingest (lib/base/dist.h) ----
 *
 * Rank 0, the only one with the manifest, reads the corpus (skipping what
 * is already in) and broadcasts batches of o->batch items; item k of a
 * batch is decoded, measured and normalized by rank k mod N (on that
 * rank's own worker threads); the results go back to rank 0, which writes
 * them in corpus order through the same writer step as one process
 * (writer_take: same checks, same transactions).  Rank 0 reads and writes
 * while the others wait: only decoding scales with the ranks. */

/* Rank 0: the next batch of at most n items, as work records in wb. */
static int ranks_read(reader_ctx *rd, corpus *c, int n, dist_buf *wb)
{
	int rc = 0;
	result *r;
	wb->len = wb->at = 0;
	for (int k = 0; k < n && reader_next(rd, c, &r) == 1; k++) {
		r->seq = rd->p->next_seq++;
		rc = ingest_dist_put(wb, r);
		ingest_result_free(r);
		if (rc)
			break;
	}
	return rc;
}

/* Every rank: decode its share of the batch in wb (items k with k mod N
 * = rank) on its workers and put the results in rb, in batch order.
 * *nb: the batch's size; mine: room for the share. */
static int ranks_decode(pipe_t *p, dist_buf *wb, dist_buf *rb, result **mine, int *nb)
{
	int rc = 0, me = dist_rank(), W = dist_size(), nmine = 0;
	int64_t seq0 = -1;
	result *r;
	*nb = 0;
	rb->len = rb->at = 0;
	while (wb->at < wb->len) {
		if ((rc = ingest_dist_get(wb, &r)) != 0)
			goto out;
		if (seq0 < 0)
			seq0 = r->seq;
		if ((*nb)++ % W == me) {
			q_push(&p->jobs, r);   /* the queue holds a whole batch: no wait */
			nmine++;
		} else {
			ingest_result_free(r);
		}
	}
	/* back in any order: item k goes to mine[k / N] */
	for (int i = 0; i < nmine; i++) {
		if (!(r = q_pop(&p->results))) {
			rc = err_set(ACC_EINTERNAL, "ingest workers ended early");
			goto out;
		}
		int64_t j = (r->seq - seq0) / W;
		if (j < 0 || j >= nmine || mine[j]) {
			rc = err_set(ACC_EINTERNAL, "ingest: item %lld out of its batch", (long long)r->seq);
			ingest_result_free(r);
			goto out;
		}
		mine[j] = r;
	}
	for (int i = 0; i < nmine && !rc; i++)
		rc = ingest_dist_put(rb, mine[i]);
out:
	for (int i = 0; i < nmine; i++) {
		ingest_result_free(mine[i]);
		mine[i] = NULL;
	}
	return rc;
}

/* Rank 0: the batch's results from every rank (rank r sent items r, r+N,
 * ...), written in batch order. */
static int ranks_write(writer *w, char *all, const size_t *lens, int nb)
{
	int rc = 0, W = dist_size();
	dist_buf part[W];
	size_t off = 0;
	result *r;
	for (int q = 0; q < W; q++) {
		part[q] = (dist_buf){ all, off + lens[q], 0, off };
		off += lens[q];
	}
	for (int k = 0; k < nb && !rc; k++) {
		if ((rc = ingest_dist_get(&part[k % W], &r)) != 0)
			break;
		rc = writer_take(w, r);
		ingest_result_free(r);
		writer_progress(w);
	}
	return rc;
}

static int run_ranks(pipe_t *p, writer *w, reader_ctx *rd, int nthreads)
{
	int rc = 0, started = 0, me = dist_rank(), nb = 0;
	int batch = p->o->batch > 0 ? p->o->batch : 200;
	corpus *c = NULL;
	dist_buf wb = { 0 }, rb = { 0 };
	char *all = NULL;
	size_t *lens = NULL;
	worker *wk = calloc(nthreads, sizeof *wk);
	result **mine = calloc(batch, sizeof *mine);
	int qa = q_init(&p->jobs, batch), qb = q_init(&p->results, batch);
	if (!wk || !mine || qa || qb) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	if (me == 0)
		TRY(reader_corpus(p, &c));
	if (!(started = workers_start(p, wk, nthreads))) {
		rc = err_set(ACC_EINTERNAL, "cannot start worker threads");
		goto out;
	}
	for (;;) {
		/* a signal to any rank stops every rank at the same batch */
		int64_t stop = stop_requested;
		TRY(dist_sum_i64(&stop, 1));
		if (stop) {
			stop_requested = 1;
			break;
		}
		if (me == 0)
			TRY(ranks_read(rd, c, batch, &wb));
		else
			dist_buf_free(&wb);   /* the broadcast allocates it anew */
		TRY(dist_bcast_blob(&wb.p, &wb.len, 0));
		if (wb.len == 0)
			break;   /* the corpus is read */
		wb.at = 0;
		TRY(ranks_decode(p, &wb, &rb, mine, &nb));
		TRY(dist_gather_bytes(rb.p, rb.len, &all, &lens));
		if (me == 0)
			TRY(ranks_write(w, all, lens, nb));
		free(all);
		free(lens);
		all = NULL;
		lens = NULL;
	}
out:
	if (started) {
		q_close(&p->jobs);
		for (int i = 0; i < started; i++)
			pthread_join(wk[i].th, NULL);
		result *r;
		while ((r = q_pop(&p->results)) != NULL)
			ingest_result_free(r);
	}
	corpus_close(c);
	free(all);
	free(lens);
	dist_buf_free(&wb);
	dist_buf_free(&rb);
	q_destroy(&p->jobs);
	q_destroy(&p->results);
	free(mine);
	free(wk);
	return rc;
}

/* ---- the run ---- */

/* Close the run: the runs row with the summary (the
 * error message survives it), the statements and connections. */
static int run_close(writer *w, reader_ctx *rd, manifest *m, int rc)
{
	if (m && w->run_id) {
		char counts[4096], *save = NULL;
		if (rc) {
			const char *em = err_msg();
			save = strdup(em ? em : "");
		}
		ingest_summary_json(w->s, counts, sizeof counts);
		manifest_run_end(m, w->run_id, rc ? err_exit_code(rc) : w->s->interrupted ? 130 : 0, counts);
		if (save) {
			err_set(rc, "%s", save);
			free(save);
		}
	}
	sqlite3_finalize(w->rej_exists);
	sqlite3_finalize(w->utt_get);
	sqlite3_finalize(w->line_ins);
	sqlite3_finalize(w->rec_run);
	sqlite3_finalize(w->utt_run);
	sqlite3_finalize(rd->rec_by_path);
	sqlite3_finalize(rd->utt_exists);
	sqlite3_finalize(rd->long_exists);
	if (rd->m)
		manifest_close(rd->m);
	if (m)
		manifest_close(m);
	return rc;
}

int ingest_run(const ingest_opts *o, ingest_summary *s)
{
	pipe_t p;
	writer w;
	reader_ctx rd;
	manifest *m = NULL;
	int rc = 0, nthreads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	double t0 = progress_now();
	int64_t total = 0;

	memset(s, 0, sizeof *s);
	memset(&p, 0, sizeof p);
	memset(&w, 0, sizeof w);
	memset(&rd, 0, sizeof rd);
	stop_requested = 0;
	nthreads = nthreads < 1 ? 1 : nthreads > 64 ? 64 : nthreads;
	p.o = o;
	w.p = rd.p = &p;
	w.s = s;
	progress_init(&w.pg, "ingest", "files", 0);
	w.pg.enabled = 0;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.window_cv, NULL);
	TRY(run_check(o, &p));
	snprintf(s->layout, sizeof s->layout, "%s", p.layout);
	/* only rank 0 touches the manifest (every rank under one process) */
	if (dist_rank() == 0) {
		TRY(run_open(&w, &rd, &m));
		if (o->progress)
			TRY(count_items(p.root, p.layout, &total));
		progress_init(&w.pg, "ingest", "files", total);
		if (!o->progress)
			w.pg.enabled = 0;
	}
	w.t_commit = progress_now();
	if (dist_size() > 1)
		rc = run_ranks(&p, &w, &rd, nthreads);
	else
		rc = run_pipeline(&p, &w, &rd, nthreads);
	progress_done(&w.pg);
	if (w.in_tx) {
		if (rc == 0)
			rc = manifest_commit(m);
		else
			manifest_rollback(m);
		w.in_tx = 0;
	}
	s->items = p.items;
	s->skipped = p.skipped;
	s->utts_present += p.utts_present_skipped;
	s->interrupted = stop_requested != 0;
	if (!rc && p.reader_rc)
		rc = err_set(p.reader_rc, "%s", p.reader_err);
	if (!rc && m)
		rc = run_balance(m, o, s);
out:
	s->wall_s = progress_now() - t0;
	rc = run_close(&w, &rd, m, rc);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.window_cv);
	return rc;
}
