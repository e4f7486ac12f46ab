/*
 * corpus.c — layout detection, the item stream and helpers shared by the
 * layout readers (see corpus.h).
 */
#include "prep/corpus.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "base/banned.h"

static const corpus_layout *const layouts[] = {
	&corpus_commonvoice, &corpus_librispeech, &corpus_kaldi, &corpus_nemo,
	&corpus_ljspeech, &corpus_longform, &corpus_folder, NULL
};
const char *const corpus_layout_names[] = {
	"commonvoice", "librispeech", "kaldi", "nemo", "ljspeech", "longform", "folder", NULL
};

int corpus_detect(const char *root, const char **name)
{
	struct stat st;
	int best = 0;
	*name = NULL;
	if (stat(root, &st) != 0)
		return err_set(errno == ENOENT ? ACC_ENOTFOUND : ACC_EIO, "cannot open corpus '%s': %s", root,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(ACC_EIO, "corpus '%s' is not a directory", root);
	for (int i = 0; layouts[i]; i++) {
		int s = layouts[i]->detect(root);
		if (s > best) {
			best = s;
			*name = layouts[i]->name;
		}
	}
	if (!*name) {
		err_set(ACC_ENOTFOUND, "cannot tell the layout of '%s': no *.tsv with client_id/path/sentence, "
			"*.trans.txt, wav.scp+text, NeMo *.json(l), metadata.csv+wavs/, or audio files with .txt transcripts",
			root);
		err_hint("name it with --layout (commonvoice, librispeech, kaldi, nemo, ljspeech, folder, longform)");
		return ACC_ENOTFOUND;
	}
	return 0;
}

int corpus_open(corpus **out, const char *root, const char *layout)
{
	const corpus_layout *L = NULL;
	corpus *c;
	int rc;
	*out = NULL;
	if (!layout) {
		if ((rc = corpus_detect(root, &layout)) != 0)
			return rc;
	}
	for (int i = 0; layouts[i]; i++)
		if (!strcmp(layouts[i]->name, layout))
			L = layouts[i];
	if (!L) {
		err_set(ACC_EINVAL, "unknown layout '%s'", layout);
		err_hint("layouts: commonvoice, librispeech, kaldi, nemo, ljspeech, folder, longform");
		return ACC_EINVAL;
	}
	c = calloc(1, sizeof *c);
	if (!c)
		return err_set(ACC_ENOMEM, "out of memory");
	{
		/* strip trailing slashes so relative paths join cleanly */
		size_t n = strlen(root);
		while (n > 1 && root[n - 1] == '/')
			n--;
		if (n >= sizeof c->root) {
			free(c);
			return err_set(ACC_EINVAL, "corpus path too long");
		}
		memcpy(c->root, root, n);
		c->root[n] = 0;
		memcpy(c->base, c->root, n + 1);
	}
	c->L = L;
	if ((rc = L->open(c)) != 0) {
		free(c);
		return err_wrap(rc, "%s corpus '%s'", L->name, root);
	}
	*out = c;
	return 0;
}

void corpus_allow_outside(corpus *c, int allow) { c->allow_outside = allow != 0; }

/* A printable copy of s for messages: control characters as '?'. */
static void printable(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 1 < cap; s++)
		out[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	out[n] = 0;
}

/* The checks every layout's audio paths get (see corpus_next). */
static int check_audio_path(corpus *c, corpus_item *it)
{
	char shown[512], full[12300];
	if (it->reject_reason || !it->audio)
		return 1;
	for (const unsigned char *p = (const unsigned char *)it->audio; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			printable(it->audio, shown, sizeof shown);
			return corpus_item_reject(it, it->source, "bad_path",
						  "audio file name '%s' holds a control character (line break, tab ...): no "
						  "line-based manifest or export can name it safely; rename the file", shown) ?
				ACC_ENOMEM : 1;
		}
	if (c->allow_outside)
		return 1;
	if (it->audio[0] == '/')
		snprintf(full, sizeof full, "%s", it->audio);
	else
		snprintf(full, sizeof full, "%s/%s", c->root, it->audio);
	if (!fs_path_within(full, c->base)) {
		char base[4096];
		printable(it->audio, shown, sizeof shown);
		if (fs_path_normalize(c->base, base, sizeof base))
			snprintf(base, sizeof base, "%s", c->base);
		return corpus_item_reject(it, it->source, "outside_root",
					  "audio path '%s' is outside the corpus directory '%s'; pass --allow-outside to read it",
					  shown, base) ? ACC_ENOMEM : 1;
	}
	return 1;
}

int corpus_next(corpus *c, corpus_item *it)
{
	memset(it, 0, sizeof *it);
	int r = c->L->next(c, it);
	return r == 1 ? check_audio_path(c, it) : r;
}

void corpus_close(corpus *c)
{
	if (!c)
		return;
	c->L->close(c);
	free(c);
}

void corpus_item_clear(corpus_item *it)
{
	for (int i = 0; i < it->nutt; i++) {
		corpus_utt *u = &it->utt[i];
		free(u->key);
		free(u->text);
		free(u->speaker);
		free(u->gender);
		free(u->age);
		free(u->accent);
		free(u->lang);
		free(u->source);
		free(u->reject_msg);
	}
	free(it->utt);
	for (int i = 0; i < it->nlines; i++)
		free(it->lines[i]);
	free(it->lines);
	free(it->audio);
	free(it->source);
	free(it->reject_msg);
	free(it->long_speaker);
	memset(it, 0, sizeof *it);
}

int corpus_item_init(corpus_item *it, const char *audio, const char *source)
{
	memset(it, 0, sizeof *it);
	it->duration_declared = -1;
	it->audio = audio ? strdup(audio) : NULL;
	it->source = strdup(source ? source : "");
	if ((audio && !it->audio) || !it->source)
		return err_set(ACC_ENOMEM, "out of memory");
	return 0;
}

corpus_utt *corpus_item_add_utt(corpus_item *it, const char *key, const char *text, const char *source)
{
	if (ARRAY_GROW(it->utt, it->capu, (size_t)it->nutt + 1))
		return NULL;
	corpus_utt *u = &it->utt[it->nutt];
	memset(u, 0, sizeof *u);
	u->key = strdup(key);
	u->text = text ? strdup(text) : NULL;
	u->source = strdup(source ? source : "");
	u->start_s = 0;
	u->end_s = -1;
	if (!u->key || (text && !u->text) || !u->source) {
		free(u->key);
		free(u->text);
		free(u->source);
		return NULL;
	}
	it->nutt++;
	return u;
}

int corpus_item_add_line(corpus_item *it, const char *line)
{
	if (ARRAY_GROW(it->lines, it->capl, (size_t)it->nlines + 1))
		return ACC_ENOMEM;
	if (!(it->lines[it->nlines] = strdup(line)))
		return ACC_ENOMEM;
	it->nlines++;
	return 0;
}

int corpus_item_reject(corpus_item *it, const char *source, const char *reason, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char *src = strdup(source);   /* source may be it->source itself */
	free(it->source);
	free(it->reject_msg);
	it->source = src;
	it->reject_reason = reason;
	it->reject_msg = strdup(buf);
	return it->source && it->reject_msg ? 0 : ACC_ENOMEM;
}

int corpus_utt_reject(corpus_utt *u, const char *reason, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(u->reject_msg);
	u->reject_reason = reason;
	u->reject_msg = strdup(buf);
	return u->reject_msg ? 0 : ACC_ENOMEM;
}

char *corpus_strdup_opt(const char *s)
{
	if (!s)
		return NULL;
	while (*s == ' ')
		s++;
	return *s ? strdup(s) : NULL;
}

int corpus_is_audio_name(const char *name)
{
	static const char *ext[] = { "wav", "flac", "mp3", "ogg", "oga", "opus", "aiff", "aif", "au", "w64",
				     "rf64", "caf", "sph", "nist", "m4a", "aac", "mp4", "wma", "webm", "amr", 0 };
	const char *dot = strrchr(name, '.');
	if (!dot || strchr(dot, '/'))
		return 0;
	for (int i = 0; ext[i]; i++)
		if (!strcasecmp(dot + 1, ext[i]))
			return 1;
	return 0;
}

/* ---- directory walk ---- */

typedef struct walk_dir {
	char **names;   /* sorted entries */
	int n, i;
	size_t prefix;  /* length of rel path of this directory in w->rel */
	dev_t dev;
	ino_t ino;
} walk_dir;

typedef struct walk_seen {
	dev_t dev;
	ino_t ino;
	int used;
} walk_seen;

struct corpus_walk {
	char root[4096];
	char rel[8192];
	walk_dir *stack;
	int depth;
	size_t cap;
	/* (device, inode) of every directory entered: open addressing */
	walk_seen *seen;
	size_t nseen, capseen;
	const char *skip_reason;
	char skip_msg[1024];
};

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int corpus_list_dir(const char *dir, int (*keep)(const char *dir, const char *name, void *ctx), void *ctx,
		    char ***names)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	int n = 0;
	size_t cap = 0;
	*names = NULL;
	if (!d)
		return err_set(ACC_EIO, "cannot list '%s': %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;   /* ., .., hidden files */
		if (keep && !keep(dir, e->d_name, ctx))
			continue;
		if (ARRAY_GROW(v, cap, (size_t)n + 1))
			goto oom;
		if (!(v[n] = strdup(e->d_name)))
			goto oom;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(char *), cmp_str);
	*names = v;
	return n;
oom:
	closedir(d);
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return err_set(ACC_ENOMEM, "out of memory listing '%s'", dir);
}

static size_t seen_slot(const corpus_walk *w, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)ino * 0xC2B2AE3D27D4EB4Full);
	size_t j = (size_t)(h ^ (h >> 29)) & (w->capseen - 1);
	while (w->seen[j].used && !(w->seen[j].dev == dev && w->seen[j].ino == ino))
		j = (j + 1) & (w->capseen - 1);
	return j;
}

/* Record a directory; 1 when it was new, 0 when already entered. */
static int seen_add(corpus_walk *w, dev_t dev, ino_t ino)
{
	if ((w->nseen + 1) * 2 > w->capseen) {
		size_t cap = w->capseen ? w->capseen * 2 : 256;
		walk_seen *old = w->seen;
		size_t oldcap = w->capseen;
		w->seen = calloc(cap, sizeof *w->seen);
		if (!w->seen) {
			w->seen = old;
			return err_set(ACC_ENOMEM, "out of memory");
		}
		w->capseen = cap;
		for (size_t i = 0; i < oldcap; i++) {
			if (old[i].used)
				w->seen[seen_slot(w, old[i].dev, old[i].ino)] = old[i];
		}
		free(old);
	}
	size_t j = seen_slot(w, dev, ino);
	if (w->seen[j].used)
		return 0;
	w->seen[j].used = 1;
	w->seen[j].dev = dev;
	w->seen[j].ino = ino;
	w->nseen++;
	return 1;
}

/* Enter the directory w->rel (prefix bytes long; the root when 0): 0 when
 * pushed, 2 when skipped (w->skip_reason set), <0 out of memory. */
static int walk_push(corpus_walk *w, size_t prefix, const struct stat *st)
{
	char path[12300];
	walk_dir wd = { 0 };
	int fresh;
	if ((fresh = seen_add(w, st->st_dev, st->st_ino)) < 0)
		return fresh;
	if (!fresh) {
		const char *what = "another path to a directory already read";
		for (int i = 0; i < w->depth; i++)
			if (w->stack[i].dev == st->st_dev && w->stack[i].ino == st->st_ino)
				what = "a loop back to a directory it is inside";
		w->skip_reason = "symlink_loop";
		snprintf(w->skip_msg, sizeof w->skip_msg, "directory '%.900s' is %s (symbolic link); skipped", w->rel, what);
		return 2;
	}
	if (w->depth >= 64) {
		w->skip_reason = "unreadable";
		snprintf(w->skip_msg, sizeof w->skip_msg, "directory '%.900s' is nested more than 64 levels deep; skipped", w->rel);
		return 2;
	}
	snprintf(path, sizeof path, "%s%s%s", w->root, prefix ? "/" : "", w->rel);
	if ((wd.n = corpus_list_dir(path, NULL, NULL, &wd.names)) < 0) {
		if (wd.n == ACC_ENOMEM || !prefix)
			return wd.n;   /* the root itself: the caller's error */
		w->skip_reason = "unreadable";
		snprintf(w->skip_msg, sizeof w->skip_msg, "%.1000s", err_msg());
		return 2;
	}
	wd.prefix = prefix;
	wd.dev = st->st_dev;
	wd.ino = st->st_ino;
	if (ARRAY_GROW(w->stack, w->cap, (size_t)w->depth + 1))
		goto oom;
	w->stack[w->depth++] = wd;
	return 0;
oom:
	for (int i = 0; i < wd.n; i++)
		free(wd.names[i]);
	free(wd.names);
	return err_set(ACC_ENOMEM, "out of memory listing '%s'", path);
}

int corpus_walk_open(corpus_walk **out, const char *root)
{
	corpus_walk *w = calloc(1, sizeof *w);
	struct stat st;
	int rc;
	*out = NULL;
	if (!w)
		return err_set(ACC_ENOMEM, "out of memory");
	snprintf(w->root, sizeof w->root, "%s", root);
	if (stat(root, &st) != 0) {
		rc = err_set(ACC_EIO, "cannot list '%s': %s", root, strerror(errno));
		goto fail;
	}
	if ((rc = walk_push(w, 0, &st)) != 0) {
		if (rc > 0)
			rc = err_set(ACC_EIO, "cannot list '%s'", root);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	free(w->seen);
	free(w);
	return rc;
}

static void walk_pop(corpus_walk *w)
{
	walk_dir *d = &w->stack[--w->depth];
	for (int i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
}

int corpus_walk_next(corpus_walk *w, const char **rel)
{
	while (w->depth > 0) {
		walk_dir *d = &w->stack[w->depth - 1];
		if (d->i >= d->n) {
			walk_pop(w);
			continue;
		}
		const char *name = d->names[d->i++];
		size_t pre = d->prefix;
		int n = snprintf(w->rel + pre, sizeof w->rel - pre, "%s%s", pre ? "/" : "", name);
		if (n < 0 || (size_t)n >= sizeof w->rel - pre)
			continue;   /* path too long: skipped */
		char path[12300];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", w->root, w->rel);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int rc = walk_push(w, pre + n, &st);
			if (rc == 2) {
				*rel = w->rel;
				return 2;
			}
			if (rc)
				return rc;
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		*rel = w->rel;
		return 1;
	}
	return 0;
}

const char *corpus_walk_skip(const corpus_walk *w, const char **msg)
{
	if (msg)
		*msg = w->skip_msg;
	return w->skip_reason;
}

void corpus_walk_close(corpus_walk *w)
{
	if (!w)
		return;
	while (w->depth > 0)
		walk_pop(w);
	free(w->stack);
	free(w->seen);
	free(w);
}

/* ---- string map: open addressing, FNV-1a ---- */

struct strmap {
	char **k, **v;
	size_t cap, n;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

strmap *strmap_new(void)
{
	strmap *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->cap = 64;
	m->k = calloc(m->cap, sizeof(char *));
	m->v = calloc(m->cap, sizeof(char *));
	if (!m->k || !m->v) {
		free(m->k);
		free(m->v);
		free(m);
		return NULL;
	}
	return m;
}

static int strmap_grow(strmap *m)
{
	size_t cap = m->cap * 2;
	char **k = calloc(cap, sizeof(char *)), **v = calloc(cap, sizeof(char *));
	if (!k || !v) {
		free(k);
		free(v);
		return ACC_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->k[i]) {
			size_t j = fnv(m->k[i]) & (cap - 1);
			while (k[j])
				j = (j + 1) & (cap - 1);
			k[j] = m->k[i];
			v[j] = m->v[i];
		}
	free(m->k);
	free(m->v);
	m->k = k;
	m->v = v;
	m->cap = cap;
	return 0;
}

int strmap_put(strmap *m, const char *key, const char *val)
{
	if ((m->n + 1) * 2 > m->cap && strmap_grow(m))
		return err_set(ACC_ENOMEM, "out of memory");
	size_t j = fnv(key) & (m->cap - 1);
	while (m->k[j] && strcmp(m->k[j], key))
		j = (j + 1) & (m->cap - 1);
	char *nv = strdup(val ? val : "");
	if (!nv)
		return err_set(ACC_ENOMEM, "out of memory");
	if (m->k[j]) {
		free(m->v[j]);
		m->v[j] = nv;
		return 0;
	}
	if (!(m->k[j] = strdup(key))) {
		free(nv);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	m->v[j] = nv;
	m->n++;
	return 0;
}

const char *strmap_get(const strmap *m, const char *key)
{
	if (!m)
		return NULL;
	size_t j = fnv(key) & (m->cap - 1);
	while (m->k[j]) {
		if (!strcmp(m->k[j], key))
			return m->v[j];
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

size_t strmap_size(const strmap *m) { return m ? m->n : 0; }

void strmap_free(strmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++) {
		free(m->k[i]);
		free(m->v[i]);
	}
	free(m->k);
	free(m->v);
	free(m);
}

char *corpus_read_text(const char *path, int *nlines_nonempty, int *why)
{
	char *data;
	size_t len;
	if (nlines_nonempty)
		*nlines_nonempty = 0;
	if (why)
		*why = CORPUS_TEXT_OK;
	if (fs_read_all(path, &data, &len, 16 << 20) != 0) {
		if (why)
			*why = CORPUS_TEXT_UNREADABLE;
		return NULL;
	}
	if (memchr(data, 0, len)) {
		/* C strings would silently cut it at the NUL */
		free(data);
		if (why)
			*why = CORPUS_TEXT_NUL;
		return NULL;
	}
	if (nlines_nonempty) {
		int n = 0, nonblank = 0;
		for (size_t i = 0; i <= len; i++) {
			if (i == len || data[i] == '\n') {
				n += nonblank;
				nonblank = 0;
			} else if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r') {
				nonblank = 1;
			}
		}
		*nlines_nonempty = n;
	}
	/* trim */
	size_t a = 0, b = len;
	if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB && (unsigned char)data[2] == 0xBF)
		a = 3;
	while (a < b && (data[a] == ' ' || data[a] == '\n' || data[a] == '\r' || data[a] == '\t'))
		a++;
	while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\n' || data[b - 1] == '\r' || data[b - 1] == '\t'))
		b--;
	memmove(data, data + a, b - a);
	data[b - a] = 0;
	return data;
}
