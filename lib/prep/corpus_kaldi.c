/*
 * corpus_kaldi.c — Kaldi / ESPnet data directories: wav.scp ("REC PATH"),
 * text ("UTT TRANSCRIPT"), utt2spk, optional segments ("UTT REC START END"),
 * spk2gender, utt2lang.
 *
 * A wav.scp entry that is a command ("sox ... |") is returned as a
 * piped_command reject and NEVER executed; "file.ark:offset" entries as
 * unsupported_format.  Relative paths are tried against the data directory,
 * then its parent and grandparent (recipes write paths relative to the
 * recipe root, usually two levels up).  The keyed files are held in hash
 * maps (metadata only; audio is never loaded here).
 */
#include "prep/corpus.h"
#include "base/err.h"
#include "base/tsv.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/banned.h"

typedef struct kseg {
	char *utt, *rec;
	double start, end;
	long line;
} kseg;

/* A reject found while loading the keyed files, emitted before the items. */
typedef struct kreject {
	char *source, *msg;
	const char *reason;
} kreject;

typedef struct kaldi_state {
	strmap *text, *utt2spk, *spk2gender, *utt2lang, *seg_utt, *wav_rec;
	strmap *text_conflict;   /* utterance ids with two different transcripts */
	kreject *rej;
	int nrej, irej;
	size_t caprej;
	kseg *seg;
	int nseg;
	tsv wav;
	int wav_open;
	/* phase 2: segments whose recording is missing; phase 3: text lines with no audio */
	int phase, iseg;
	tsv txt;
	int txt_open;
} kaldi_state;

static int exists_in(const char *root, const char *name)
{
	char p[8192];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", root, name);
	return stat(p, &st) == 0;
}

static int kaldi_detect(const char *root)
{
	return exists_in(root, "wav.scp") && (exists_in(root, "text") || exists_in(root, "segments")) ? 95 :
	       exists_in(root, "wav.scp") ? 60 : 0;
}

static int add_kreject(kaldi_state *s, const char *source, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int add_kreject(kaldi_state *s, const char *source, const char *reason, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int rc = ARRAY_GROW(s->rej, s->caprej, (size_t)s->nrej + 1);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	kreject *k = &s->rej[s->nrej];
	k->source = strdup(source);
	k->msg = strdup(buf);
	k->reason = reason;
	if (!k->source || !k->msg) {
		free(k->source);
		free(k->msg);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	s->nrej++;
	return 0;
}

/* Load "KEY VALUE" lines of root/name into *m (missing file: empty map).
 * One bad line (a NUL byte, longer than 1 MiB) is one bad_row reject and
 * the rest is read; a key listed again keeps its first value and the later
 * line becomes a duplicate_id reject (text: two different transcripts mark
 * the utterance conflicting, see kaldi_next).  Only I/O errors stop. */
static int load_map(kaldi_state *s, const char *root, const char *name, strmap **m, int required)
{
	char p[8192], src[300];
	tsv t;
	int r;
	*m = strmap_new();
	if (!*m)
		return err_set(ACC_ENOMEM, "out of memory");
	snprintf(p, sizeof p, "%s/%s", root, name);
	if ((r = tsv_open(&t, p, '\n')) != 0)
		return required || r != ACC_ENOTFOUND ? err_wrap(r, "%s", name) : 0;
	while ((r = tsv_next_n(&t, 1)) != 0) {
		snprintf(src, sizeof src, "%s:%ld", name, t.lineno);
		if (r == ACC_EFORMAT) {
			if ((r = add_kreject(s, src, "bad_row", "%s: %s", name, err_msg())) != 0)
				break;
			continue;
		}
		if (r < 0)
			break;
		char *val, *key = tsv_split_key(t.field[0], &val);
		if (!*key)
			continue;
		const char *had = strmap_get(*m, key);
		if (had) {
			int same = !strcmp(had, val);
			if (!same && *m == s->text && strmap_put(s->text_conflict, key, "1")) {
				r = ACC_ENOMEM;
				break;
			}
			if ((r = add_kreject(s, src, same || *m != s->text ? "duplicate_id" : "conflicting_transcript",
					     "'%s' is listed again in %s%s", key, name,
					     same ? " (same value)" : *m == s->text ? " with another transcript: the utterance is rejected"
										  : " with another value; the first is kept")) != 0)
				break;
			continue;
		}
		if (strmap_put(*m, key, val)) {
			r = ACC_ENOMEM;
			break;
		}
	}
	tsv_close(&t);
	return r < 0 ? err_wrap(r, "%s", name) : 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const kseg *x = a, *y = b;
	int c = strcmp(x->rec, y->rec);
	return c ? c : (x->start < y->start ? -1 : x->start > y->start);
}

static int kaldi_open(corpus *c)
{
	kaldi_state *s = calloc(1, sizeof *s);
	char p[8192];
	int rc;
	if (!s)
		return err_set(ACC_ENOMEM, "out of memory");
	c->st = s;
	/* paths in wav.scp are relative to the recipe root (see resolve) */
	if (strlen(c->root) + 7 > sizeof c->base) {
		rc = err_set(ACC_EINVAL, "corpus path too long");
		goto fail;
	}
	memcpy(c->base + strlen(c->root), "/../..", 7);
	if (!(s->text_conflict = strmap_new())) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = load_map(s, c->root, "text", &s->text, 0)) || (rc = load_map(s, c->root, "utt2spk", &s->utt2spk, 0)) ||
	    (rc = load_map(s, c->root, "spk2gender", &s->spk2gender, 0)) ||
	    (rc = load_map(s, c->root, "utt2lang", &s->utt2lang, 0)))
		goto fail;
	{
		/* wav.scp is read again line by line below (its rejects come from
		 * there); this map only answers "is the recording listed?" */
		int n0 = s->nrej;
		if ((rc = load_map(s, c->root, "wav.scp", &s->wav_rec, 1)))
			goto fail;
		for (int i = n0; i < s->nrej; i++) {
			free(s->rej[i].source);
			free(s->rej[i].msg);
		}
		s->nrej = n0;
	}
	if (!(s->seg_utt = strmap_new())) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(p, sizeof p, "%s/segments", c->root);
	tsv t;
	if (tsv_open(&t, p, '\n') == 0) {
		size_t cap = 0;
		int r;
		while ((r = tsv_next_n(&t, 1)) != 0) {
			if (r == ACC_EFORMAT) {
				/* one bad line is one reject; the other segments are read */
				char src[64];
				snprintf(src, sizeof src, "segments:%ld", t.lineno);
				if ((rc = add_kreject(s, src, "bad_row", "segments: %s", err_msg())) != 0) {
					tsv_close(&t);
					goto fail;
				}
				continue;
			}
			if (r < 0) {
				tsv_close(&t);
				rc = err_wrap(r, "segments");
				goto fail;
			}
			char *rest, *utt = tsv_split_key(t.field[0], &rest), *rest2, *rest3, *rest4;
			char *rec = tsv_split_key(rest, &rest2), *a = tsv_split_key(rest2, &rest3), *b = tsv_split_key(rest3, &rest4);
			if (!*utt)
				continue;
			if ((rc = ARRAY_GROW(s->seg, cap, (size_t)s->nseg + 1))) {
				tsv_close(&t);
				goto fail;
			}
			kseg *k = &s->seg[s->nseg++];
			char *ea, *eb;
			k->utt = strdup(utt);
			k->rec = strdup(rec);
			k->start = strtod(a, &ea);
			k->end = strtod(b, &eb);
			k->line = t.lineno;
			if (!*a || !*b || *ea || *eb)
				k->start = k->end = -2;   /* malformed: rejected when emitted */
			strmap_put(s->seg_utt, utt, rec);
		}
		tsv_close(&t);
		if (s->nseg)
			qsort(s->seg, s->nseg, sizeof(kseg), cmp_seg);
	}
	snprintf(p, sizeof p, "%s/wav.scp", c->root);
	if ((rc = tsv_open(&s->wav, p, '\n')) != 0)
		goto fail;
	s->wav_open = 1;
	return 0;
fail:
	c->L->close(c);
	c->st = NULL;
	return rc;
}

static void set_attrs(kaldi_state *s, corpus_utt *u)
{
	if (strmap_get(s->text_conflict, u->key))
		corpus_utt_reject(u, "conflicting_transcript", "utterance '%s' has two different transcripts in text", u->key);
	else if (strmap_size(s->utt2spk) && !strmap_get(s->utt2spk, u->key))
		/* Kaldi wants every utterance in utt2spk; without it the speaker
		 * (balance, splits) is unknown: reported, not guessed */
		corpus_utt_reject(u, "no_speaker", "utterance '%s' is not in utt2spk", u->key);
	const char *spk = strmap_get(s->utt2spk, u->key);
	u->speaker = corpus_strdup_opt(spk);
	u->gender = spk ? corpus_strdup_opt(strmap_get(s->spk2gender, spk)) : NULL;
	u->lang = corpus_strdup_opt(strmap_get(s->utt2lang, u->key));
}

/* Resolve a relative wav.scp path: the data dir, then up to two parents. */
static void resolve(const char *root, const char *path, char *out, size_t cap)
{
	static const char *up[] = { "", "../", "../../", 0 };
	struct stat st;
	if (path[0] == '/') {
		snprintf(out, cap, "%s", path);
		return;
	}
	for (int i = 0; up[i]; i++) {
		char p[12300];
		snprintf(p, sizeof p, "%s/%s%s", root, up[i], path);
		if (stat(p, &st) == 0) {
			snprintf(out, cap, "%s%s", up[i], path);
			return;
		}
	}
	snprintf(out, cap, "%s", path);
}

static int first_seg(kaldi_state *s, const char *rec)
{
	int lo = 0, hi = s->nseg;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (strcmp(s->seg[mid].rec, rec) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int kaldi_next(corpus *c, corpus_item *it)
{
	kaldi_state *s = c->st;
	char src[256];
	if (s->irej < s->nrej) {
		kreject *k = &s->rej[s->irej++];
		corpus_item_init(it, NULL, k->source);
		return corpus_item_reject(it, k->source, k->reason, "%s", k->msg) ? ACC_ENOMEM : 1;
	}
	while (s->phase == 0) {
		int r = tsv_next_n(&s->wav, 1);
		if (r == 0) {
			s->phase = 1;
			break;
		}
		snprintf(src, sizeof src, "wav.scp:%ld", s->wav.lineno);
		if (r < 0 && r != ACC_EFORMAT)
			return err_wrap(r, "wav.scp");
		if (r < 0) {
			corpus_item_init(it, NULL, src);
			return corpus_item_reject(it, src, "bad_row", "%s", err_msg()) ? ACC_ENOMEM : 1;
		}
		char *val, *rec = tsv_split_key(s->wav.field[0], &val);
		if (!*rec)
			continue;
		size_t vl = strlen(val);
		while (vl && (val[vl - 1] == ' ' || val[vl - 1] == '\t'))
			val[--vl] = 0;
		if (!vl) {
			corpus_item_init(it, NULL, src);
			return corpus_item_reject(it, src, "bad_row", "recording '%s' has no path", rec) ? ACC_ENOMEM : 1;
		}
		if (val[vl - 1] == '|') {
			corpus_item_init(it, NULL, src);
			corpus_item_reject(it, src, "piped_command",
					   "recording '%s' is a shell command (\"%.200s\"); accent never executes wav.scp commands: write the audio to files first",
					   rec, val);
			return 1;
		}
		if (strstr(val, ".ark:") || (strchr(val, ':') && strstr(val, ".ark"))) {
			corpus_item_init(it, NULL, src);
			corpus_item_reject(it, src, "unsupported_format",
					   "recording '%s' is stored in a Kaldi archive (%.200s); extract it to audio files", rec, val);
			return 1;
		}
		char path[8192];
		resolve(c->root, val, path, sizeof path);
		if (corpus_item_init(it, path, src))
			return ACC_ENOMEM;
		if (s->nseg) {
			for (int i = first_seg(s, rec); i < s->nseg && !strcmp(s->seg[i].rec, rec); i++) {
				kseg *k = &s->seg[i];
				char ssrc[64];
				snprintf(ssrc, sizeof ssrc, "segments:%ld", k->line);
				corpus_utt *u = corpus_item_add_utt(it, k->utt, strmap_get(s->text, k->utt), ssrc);
				if (!u)
					return err_set(ACC_ENOMEM, "out of memory");
				u->start_s = k->start;
				u->end_s = k->end;
				set_attrs(s, u);
			}
			if (!it->nutt) {
				/* a recording no segment uses: nothing to ingest from it */
				corpus_item_reject(it, src, "no_transcript", "recording '%s' has no entry in segments", rec);
			}
		} else {
			corpus_utt *u = corpus_item_add_utt(it, rec, strmap_get(s->text, rec), src);
			if (!u)
				return err_set(ACC_ENOMEM, "out of memory");
			set_attrs(s, u);
		}
		return 1;
	}
	/* segments pointing at recordings wav.scp does not have */
	while (s->phase == 1 && s->iseg < s->nseg) {
		kseg *k = &s->seg[s->iseg++];
		if (strmap_get(s->wav_rec, k->rec))
			continue;
		snprintf(src, sizeof src, "segments:%ld", k->line);
		corpus_item_init(it, NULL, src);
		return corpus_item_reject(it, src, "missing_file", "utterance '%s': recording '%s' is not in wav.scp",
					  k->utt, k->rec) ? ACC_ENOMEM : 1;
	}
	if (s->phase == 1) {
		char p[8192];
		s->phase = 2;
		snprintf(p, sizeof p, "%s/text", c->root);
		s->txt_open = tsv_open(&s->txt, p, '\n') == 0;
	}
	/* transcripts with no audio */
	while (s->phase == 2 && s->txt_open) {
		int r = tsv_next_n(&s->txt, 1);
		if (r == ACC_EFORMAT)
			continue;   /* already a bad_row reject from load_map */
		if (r <= 0)
			break;
		char *rest, *utt = tsv_split_key(s->txt.field[0], &rest);
		if (!*utt)
			continue;
		if (s->nseg ? strmap_get(s->seg_utt, utt) != NULL : strmap_get(s->wav_rec, utt) != NULL)
			continue;
		snprintf(src, sizeof src, "text:%ld", s->txt.lineno);
		corpus_item_init(it, NULL, src);
		return corpus_item_reject(it, src, "missing_file", "utterance '%s' has a transcript but no audio in %s",
					  utt, s->nseg ? "segments" : "wav.scp") ? ACC_ENOMEM : 1;
	}
	return 0;
}

static void kaldi_close(corpus *c)
{
	kaldi_state *s = c->st;
	if (!s)
		return;
	strmap_free(s->text);
	strmap_free(s->utt2spk);
	strmap_free(s->spk2gender);
	strmap_free(s->utt2lang);
	strmap_free(s->seg_utt);
	strmap_free(s->wav_rec);
	strmap_free(s->text_conflict);
	for (int i = 0; i < s->nrej; i++) {
		free(s->rej[i].source);
		free(s->rej[i].msg);
	}
	free(s->rej);
	for (int i = 0; i < s->nseg; i++) {
		free(s->seg[i].utt);
		free(s->seg[i].rec);
	}
	free(s->seg);
	if (s->wav_open)
		tsv_close(&s->wav);
	if (s->txt_open)
		tsv_close(&s->txt);
	free(s);
}

const corpus_layout corpus_kaldi = { "kaldi", kaldi_detect, kaldi_open, kaldi_next, kaldi_close };
