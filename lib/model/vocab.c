/*
 * vocab.c — CTC vocabulary and HF Wav2Vec2CTCTokenizer-compatible
 * encode/decode (see vocab.h).
 *
 * Tokens live in id order; a small open-addressing hash maps token -> id, as
 * encoding looks up one token per character of every transcript.
 */
#include "model/vocab.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

struct vocab {
	char  **tok;        /* [n] token strings, id order */
	int     n;
	int    *slots;      /* [nslots] id or -1 */
	int     nslots;
	int     pad, unk, delim;
	int     max_multi;  /* longest multi-code-point token, bytes (0 = none) */
};

static uint32_t hash_str(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static int lookup_len(const vocab *v, const char *s, size_t len)
{
	uint32_t m = (uint32_t)v->nslots - 1;
	for (uint32_t i = hash_str(s, len) & m;; i = (i + 1) & m) {
		int id = v->slots[i];
		if (id < 0)
			return -1;
		if (strlen(v->tok[id]) == len && !memcmp(v->tok[id], s, len))
			return id;
	}
}

/* Length in bytes of the UTF-8 sequence at s, 0 when invalid. */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
	else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
	else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
	else return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

static int count_cps(const char *s)
{
	int k = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int l = utf8_len(p);
		if (!l)
			return -1;
		p += l;
		k++;
	}
	return k;
}

static int vocab_index(vocab *v)
{
	int ns = 16;
	while (ns < 2 * v->n + 2)
		ns *= 2;
	v->slots = malloc(sizeof(int) * ns);
	if (!v->slots)
		return err_set(ACC_ENOMEM, "vocab: out of memory");
	v->nslots = ns;
	for (int i = 0; i < ns; i++)
		v->slots[i] = -1;
	v->max_multi = 0;
	for (int id = 0; id < v->n; id++) {
		const char *t = v->tok[id];
		size_t len = strlen(t);
		if (lookup_len(v, t, len) >= 0)
			return err_set(ACC_EFORMAT, "vocab: token '%s' appears twice", t);
		uint32_t m = (uint32_t)ns - 1, i = hash_str(t, len) & m;
		while (v->slots[i] >= 0)
			i = (i + 1) & m;
		v->slots[i] = id;
		int cps = count_cps(t);
		if (cps < 0)
			return err_set(ACC_EFORMAT, "vocab: token %d is not valid UTF-8", id);
		if (cps > 1 && (int)len > v->max_multi)
			v->max_multi = (int)len;
	}
	v->pad = lookup_len(v, "<pad>", 5);
	if (v->pad < 0)
		v->pad = 0;
	v->unk = lookup_len(v, "<unk>", 5);
	v->delim = lookup_len(v, "|", 1);
	return 0;
}

int vocab_from_tokens(vocab **out, const char *const *tokens, int n)
{
	int rc = 0;
	vocab *v = calloc(1, sizeof *v);
	*out = NULL;
	if (!v || n <= 0 || !(v->tok = calloc(n, sizeof(char *)))) {
		rc = n <= 0 ? err_set(ACC_EINVAL, "vocab: empty token list") : err_set(ACC_ENOMEM, "vocab: out of memory");
		goto out;
	}
	v->n = n;
	for (int i = 0; i < n; i++) {
		if (!tokens[i] || !tokens[i][0]) {
			rc = err_set(ACC_EFORMAT, "vocab: id %d has no token", i);
			goto out;
		}
		if (!(v->tok[i] = strdup(tokens[i]))) {
			rc = err_set(ACC_ENOMEM, "vocab: out of memory");
			goto out;
		}
	}
	rc = vocab_index(v);
out:
	if (rc) {
		vocab_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

static int is_nested(json_t *root)
{
	const char *k;
	json_t *val;
	json_object_foreach(root, k, val)
		return json_is_object(val);
	return 0;
}

static void list_langs(json_t *root, char *buf, size_t cap)
{
	const char *k;
	json_t *val;
	size_t used = 0;
	buf[0] = 0;
	json_object_foreach(root, k, val) {
		int w = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", k);
		if (w < 0 || (size_t)w >= cap - used) {
			if (cap > 4)
				memcpy(buf + cap - 4, "...", 4);
			return;
		}
		used += w;
	}
}

static int from_json_object(vocab **out, json_t *obj, const char *what)
{
	int rc = 0;
	size_t n = json_object_size(obj);
	const char **toks = NULL;
	const char *k;
	json_t *val;
	if (n == 0 || n > 1000000)
		return err_set(ACC_EFORMAT, "%s: %zu tokens (expected 1..1000000)", what, n);
	toks = calloc(n, sizeof *toks);
	if (!toks)
		return err_set(ACC_ENOMEM, "vocab: out of memory");
	json_object_foreach(obj, k, val) {
		if (!json_is_integer(val)) {
			rc = err_set(ACC_EFORMAT, "%s: token '%s' has a non-integer id", what, k);
			goto out;
		}
		json_int_t id = json_integer_value(val);
		if (id < 0 || (size_t)id >= n) {
			rc = err_set(ACC_EFORMAT, "%s: token '%s' has id %lld outside 0..%zu (ids must be dense)", what, k, (long long)id, n - 1);
			goto out;
		}
		if (toks[id]) {
			rc = err_set(ACC_EFORMAT, "%s: id %lld given to both '%s' and '%s'", what, (long long)id, toks[id], k);
			goto out;
		}
		toks[id] = k;
	}
	rc = vocab_from_tokens(out, toks, (int)n);
	if (rc)
		err_wrap(rc, "%s", what);
out:
	free(toks);
	return rc;
}

static int load_json(const char *path, json_t **root)
{
	char *data = NULL;
	size_t len = 0;
	json_error_t je;
	int rc = fs_read_all(path, &data, &len, 64u << 20);
	if (rc)
		return rc;
	*root = json_loadb(data, len, 0, &je);
	free(data);
	if (!*root)
		return err_set(ACC_EFORMAT, "%s: line %d: %s", path, je.line, je.text);
	if (!json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return err_set(ACC_EFORMAT, "%s: not a JSON object", path);
	}
	return 0;
}

int vocab_load(vocab **v, const char *path, const char *lang)
{
	json_t *root = NULL;
	char what[4200], langs[1024];
	int rc;
	*v = NULL;
	if ((rc = load_json(path, &root)))
		return rc;
	if (is_nested(root)) {
		list_langs(root, langs, sizeof langs);
		if (!lang) {
			rc = err_set(ACC_EINVAL, "%s is a multi-language (MMS) vocabulary: choose a language (%s)", path, langs);
			err_hint("pass --lang with one of: %s", langs);
			goto out;
		}
		json_t *sub = json_object_get(root, lang);
		if (!sub || !json_is_object(sub)) {
			rc = err_set(ACC_ENOTFOUND, "%s has no vocabulary for language '%s' (it has: %s)", path, lang, langs);
			goto out;
		}
		snprintf(what, sizeof what, "%s[%s]", path, lang);
		rc = from_json_object(v, sub, what);
	} else {
		rc = from_json_object(v, root, path);
	}
out:
	json_decref(root);
	return rc;
}

int vocab_languages(const char *path, char ***langs, int *n)
{
	json_t *root = NULL;
	const char *k;
	json_t *val;
	int rc, i = 0;
	*langs = NULL;
	*n = 0;
	if ((rc = load_json(path, &root)))
		return rc;
	if (is_nested(root)) {
		size_t cnt = json_object_size(root);
		*langs = calloc(cnt ? cnt : 1, sizeof(char *));
		if (!*langs) {
			rc = err_set(ACC_ENOMEM, "vocab: out of memory");
			goto out;
		}
		json_object_foreach(root, k, val)
			(*langs)[i++] = strdup(k);
		*n = i;
	}
out:
	json_decref(root);
	return rc;
}

/* Code point of the valid UTF-8 sequence of length l at p. */
static uint32_t utf8_cp(const unsigned char *p, int l)
{
	static const unsigned char lead_mask[5] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
	uint32_t cp = p[0] & lead_mask[l];
	for (int i = 1; i < l; i++)
		cp = (cp << 6) | (p[i] & 0x3F);
	return cp;
}

static int utf8_put(uint32_t cp, char *o)
{
	if (cp < 0x80) { o[0] = (char)cp; o[1] = 0; return 1; }
	if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); o[2] = 0; return 2; }
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F)); o[3] = 0;
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F)); o[4] = 0;
	return 4;
}

int vocab_build_from_texts(vocab **v, const char *const *texts, int ntexts)
{
	/* A bitmap over all code points: linear in the text, and the set bits
	 * come out in code point order. */
	int rc = 0, n = 0;
	uint8_t *seen = calloc(0x110000 / 8, 1);
	char (*chars)[8] = NULL;
	const char **all = NULL;
	*v = NULL;
	if (!seen)
		return err_set(ACC_ENOMEM, "vocab: out of memory");
	for (int t = 0; t < ntexts; t++) {
		const unsigned char *p = (const unsigned char *)texts[t];
		while (p && *p) {
			int l = utf8_len(p);
			if (!l) {
				rc = err_set(ACC_EFORMAT, "vocab: text %d is not valid UTF-8", t);
				goto out;
			}
			uint32_t cp = utf8_cp(p, l);
			if (cp != ' ' && cp != '|' && !(seen[cp >> 3] & (1u << (cp & 7)))) {
				seen[cp >> 3] |= (uint8_t)(1u << (cp & 7));
				n++;
			}
			p += l;
		}
	}
	chars = malloc(sizeof *chars * (n ? n : 1));
	all = malloc(sizeof(char *) * (n + 5));
	if (!chars || !all) {
		rc = err_set(ACC_ENOMEM, "vocab: out of memory");
		goto out;
	}
	static const char *const specials[] = { "<pad>", "<s>", "</s>", "<unk>", "|" };
	int k = 0, c = 0;
	for (int i = 0; i < 5; i++)
		all[k++] = specials[i];
	for (uint32_t cp = 0; cp < 0x110000; cp++)
		if (seen[cp >> 3] & (1u << (cp & 7))) {
			utf8_put(cp, chars[c]);
			all[k++] = chars[c++];
		}
	rc = vocab_from_tokens(v, all, k);
out:
	free(seen);
	free(chars);
	free(all);
	return rc;
}

void vocab_free(vocab *v)
{
	if (!v)
		return;
	if (v->tok)
		for (int i = 0; i < v->n; i++)
			free(v->tok[i]);
	free(v->tok);
	free(v->slots);
	free(v);
}

int vocab_size(const vocab *v) { return v->n; }
int vocab_id(const vocab *v, const char *token) { return token ? lookup_len(v, token, strlen(token)) : -1; }
const char *vocab_token(const vocab *v, int id) { return id >= 0 && id < v->n ? v->tok[id] : NULL; }
int vocab_pad_id(const vocab *v) { return v->pad; }
int vocab_unk_id(const vocab *v) { return v->unk; }
int vocab_delim_id(const vocab *v) { return v->delim; }

static int oov_add(vocab_oov *o, const char *s, int len)
{
	o->total++;
	for (int i = 0; i < o->n; i++)
		if ((int)strlen(o->chars[i].ch) == len && !memcmp(o->chars[i].ch, s, len)) {
			o->chars[i].count++;
			return 0;
		}
	int rc = ARRAY_GROW(o->chars, o->cap, (size_t)o->n + 1);
	if (rc)
		return rc;
	memset(&o->chars[o->n], 0, sizeof o->chars[o->n]);
	memcpy(o->chars[o->n].ch, s, len);
	o->chars[o->n].count = 1;
	o->n++;
	return 0;
}

int vocab_oov_merge(vocab_oov *dst, const vocab_oov *src)
{
	for (int i = 0; i < src->n; i++) {
		int len = (int)strlen(src->chars[i].ch), rc = oov_add(dst, src->chars[i].ch, len);
		if (rc)
			return rc;
		/* oov_add counted one occurrence */
		for (int k = 0; k < dst->n; k++)
			if (!strcmp(dst->chars[k].ch, src->chars[i].ch)) {
				dst->chars[k].count += src->chars[i].count - 1;
				break;
			}
		dst->total += src->chars[i].count - 1;
	}
	return 0;
}

void vocab_oov_sort(vocab_oov *o)
{
	/* insertion sort: stable, and the lists are short */
	for (int i = 1; i < o->n; i++) {
		vocab_oov_char x = o->chars[i];
		int j = i;
		while (j > 0 && o->chars[j - 1].count < x.count) {
			o->chars[j] = o->chars[j - 1];
			j--;
		}
		o->chars[j] = x;
	}
}

void vocab_oov_free(vocab_oov *o)
{
	if (!o)
		return;
	free(o->chars);
	memset(o, 0, sizeof *o);
}

void vocab_oov_describe(const vocab_oov *o, char *buf, size_t cap)
{
	size_t used = 0;
	if (!cap)
		return;
	buf[0] = 0;
	for (int i = 0; i < o->n; i++) {
		const char *c = o->chars[i].ch;
		char esc[16];
		if ((unsigned char)c[0] < 0x20 || c[0] == 0x7f) {
			snprintf(esc, sizeof esc, "U+%04X", (unsigned char)c[0]);
			c = esc;
		}
		int w = snprintf(buf + used, cap - used, "%s'%s'x%lld", i ? ", " : "", c, (long long)o->chars[i].count);
		if (w < 0 || (size_t)w >= cap - used) {
			if (cap > 4)
				memcpy(buf + cap - 4, "...", 4);
			return;
		}
		used += w;
	}
}

int vocab_encode(const vocab *v, const char *text, int **ids, int64_t *n, vocab_oov *oov)
{
	return vocab_encode_ex(v, text, ids, n, oov, v->unk);
}

int vocab_encode_ex(const vocab *v, const char *text, int **ids, int64_t *n, vocab_oov *oov, int oov_id)
{
	size_t len = strlen(text);
	int *out = malloc(sizeof(int) * (len + 1));
	int64_t k = 0;
	int rc = 0;
	*ids = NULL;
	*n = 0;
	if (!out)
		return err_set(ACC_ENOMEM, "vocab: out of memory");
	const unsigned char *p = (const unsigned char *)text, *end = p + len;
	while (p < end) {
		/* Multi-character vocabulary tokens ("<unk>", "<s>") are no-split
		 * tokens in HF, with whitespace on both sides stripped. */
		if (v->max_multi) {
			int best = -1, bl = 0;
			for (int l = 2; l <= v->max_multi && p + l <= end; l++) {
				int id = lookup_len(v, (const char *)p, l);
				if (id >= 0 && count_cps(v->tok[id]) > 1) {
					best = id;
					bl = l;
				}
			}
			if (best >= 0) {
				while (k > 0 && v->delim >= 0 && out[k - 1] == v->delim)
					k--;
				out[k++] = best;
				p += bl;
				while (p < end && *p == ' ')
					p++;
				continue;
			}
		}
		int l = utf8_len(p);
		if (!l || p + l > end) {
			rc = err_set(ACC_EFORMAT, "text is not valid UTF-8 at byte %td", (const char *)p - text);
			goto out;
		}
		int id;
		if (l == 1 && *p == ' ')
			id = v->delim >= 0 ? v->delim : lookup_len(v, " ", 1);
		else
			id = lookup_len(v, (const char *)p, l);
		if (id < 0) {
			if (oov && (rc = oov_add(oov, (const char *)p, l)))
				goto out;
			id = oov_id;
		}
		out[k++] = id;
		p += l;
	}
out:
	if (rc) {
		free(out);
		return rc;
	}
	*ids = out;
	*n = k;
	return 0;
}

int vocab_decode(const vocab *v, const int *ids, int64_t n, int group, char **out)
{
	size_t cap = 16, len = 0;
	char *s = malloc(cap);
	*out = NULL;
	if (!s)
		return err_set(ACC_ENOMEM, "vocab: out of memory");
	for (int64_t i = 0; i < n; i++) {
		if (group && i > 0 && ids[i] == ids[i - 1])
			continue;
		if (ids[i] == v->pad)
			continue;
		const char *t = ids[i] == v->delim ? " " : vocab_token(v, ids[i]);
		if (!t)
			t = "<unk>";
		size_t tl = strlen(t);
		int rc = ARRAY_GROW(s, cap, len + tl + 1);
		if (rc) {
			free(s);
			return rc;
		}
		memcpy(s + len, t, tl);
		len += tl;
	}
	s[len] = 0;
	/* HF strips the joined string (outer whitespace). */
	size_t a = 0;
	while (a < len && s[a] == ' ')
		a++;
	while (len > a && s[len - 1] == ' ')
		len--;
	memmove(s, s + a, len - a);
	s[len - a] = 0;
	*out = s;
	return 0;
}

/* o[token] = id for every token of v. */
static int put_tokens(json_t *o, const vocab *v)
{
	for (int i = 0; i < v->n; i++)
		if (json_object_set_new(o, v->tok[i], json_integer(i)))
			return err_set(ACC_ENOMEM, "vocab: out of memory");
	return 0;
}

/* o serialized with json_dumps' flags, written atomically to path. */
static int write_json(const json_t *o, size_t flags, const char *path)
{
	char *text = json_dumps(o, flags);
	if (!text)
		return err_set(ACC_ENOMEM, "vocab: cannot serialize");
	int rc = fs_write_atomic(path, text, strlen(text));
	free(text);
	return rc;
}

int vocab_save_flat(const vocab *v, const char *path)
{
	json_t *o = json_object();
	int rc = 0;
	if (!o)
		return err_set(ACC_ENOMEM, "vocab: out of memory");
	if (!(rc = put_tokens(o, v)))
		rc = write_json(o, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII, path);
	json_decref(o);
	return rc;
}

int vocab_save_merged(const vocab *v, const char *path, const char *lang)
{
	json_t *root = NULL, *sub = NULL;
	int rc = 0;
	if (!lang || !*lang)
		return err_set(ACC_EINVAL, "vocab: a language code is needed to write a nested vocabulary");
	if (fs_exists(path)) {
		if ((rc = load_json(path, &root)))
			return rc;
		if (json_object_size(root) && !is_nested(root)) {
			rc = err_set(ACC_EUNSUPPORTED, "%s is a flat (single-language) vocabulary; cannot add language '%s' to it", path, lang);
			err_hint("write the new model to a fresh directory");
			goto out;
		}
	} else if (!(root = json_object())) {
		return err_set(ACC_ENOMEM, "vocab: out of memory");
	}
	if (!(sub = json_object())) {
		rc = err_set(ACC_ENOMEM, "vocab: out of memory");
		goto out;
	}
	if ((rc = put_tokens(sub, v)))
		goto out;
	if (json_object_set_new(root, lang, sub)) {
		sub = NULL;
		rc = err_set(ACC_ENOMEM, "vocab: out of memory");
		goto out;
	}
	sub = NULL;
	rc = write_json(root, JSON_INDENT(1), path);
out:
	json_decref(sub);
	json_decref(root);
	return rc;
}
