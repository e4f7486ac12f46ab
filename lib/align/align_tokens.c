/*
 * align_tokens.c — transcripts to alignment tokens with the OOV policy
 * (see align_tokens.h).
 */
#include "align/align_tokens.h"
#include "align/align_label.h"
#include "base/err.h"
#include "text/textnorm.h"
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

/* vocab_encode_ex's id for a character the vocabulary lacks */
#define OOV_MARK (-2)

static const char *const oov_names[] = { "unk", "star", "romanize", "error" };

int align_oov_parse(const char *s, align_oov_policy *p)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, oov_names[i])) {
			*p = (align_oov_policy)i;
			return 0;
		}
	err_set(ACC_EINVAL, "unknown OOV policy '%s'", s);
	err_hint("use one of: unk, star, romanize, error");
	return ACC_EINVAL;
}

const char *align_oov_name(align_oov_policy p)
{
	return (unsigned)p < 4 ? oov_names[p] : "?";
}


/* Collapse runs of spaces, trim the edges. */
static char *squeeze_spaces(const char *s)
{
	char *o = malloc(strlen(s) + 1), *q = o;
	if (!o)
		return NULL;
	int sp = 0;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			sp = q != o;
			continue;
		}
		if (sp)
			*q++ = ' ';
		sp = 0;
		*q++ = *s;
	}
	*q = 0;
	return o;
}

/* ASCII upper-case letters the vocabulary lacks become lower case when it
 * has those (romanized text against a lower-case romanized vocabulary). */
static void fold_case(const vocab *v, char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z') {
			char up[2] = { *s, 0 }, lo[2] = { (char)(*s - 'A' + 'a'), 0 };
			if (vocab_id(v, up) < 0 && vocab_id(v, lo) >= 0)
				*s = lo[0];
		}
}

/* Romanize the words of t (single spaces) that hold characters the
 * vocabulary lacks, one word at a time, so that word i of *out is word i of
 * t (labels and word rows stay those of the transcript): whitespace inside
 * a romanized word is removed, a word that romanizes to nothing is kept. */
static int romanize_words(const vocab *v, const char *t, char **out)
{
	char **w = NULL, *acc = NULL;
	int64_t nw = 0;
	size_t len = 0;
	int rc = align_label_split(t, &w, &nw);
	if (rc)
		return rc;
	size_t cap = strlen(t) * 4 + 16;
	if (!(acc = malloc(cap))) {
		rc = err_set(ACC_ENOMEM, "align: out of memory");
		goto out;
	}
	acc[0] = 0;
	for (int64_t i = 0; i < nw; i++) {
		int *ids = NULL;
		int64_t n = 0;
		vocab_oov o = { 0 };
		char *r = NULL;
		if ((rc = vocab_encode_ex(v, w[i], &ids, &n, &o, OOV_MARK)))
			goto out;
		free(ids);
		int missing = o.total > 0;
		vocab_oov_free(&o);
		if (missing && (rc = textnorm_romanize(w[i], &r)))
			goto out;
		if (r) {
			char *q = r;
			for (char *p = r; *p; p++)
				if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
					*q++ = *p;
			*q = 0;
			fold_case(v, r);
		}
		const char *use = r && *r ? r : w[i];
		size_t ul = strlen(use);
		if ((rc = ARRAY_GROW(acc, cap, len + ul + 2))) {
			free(r);
			goto out;
		}
		if (len)
			acc[len++] = ' ';
		memcpy(acc + len, use, ul + 1);
		len += ul;
		free(r);
	}
	*out = acc;
	acc = NULL;
out:
	free(acc);
	align_label_free(w, nw);
	return rc;
}

int align_tokens(const vocab *v, const char *text, align_oov_policy pol, int star_id, int **ids, int64_t *n,
		 vocab_oov *oov, char **text_used)
{
	char *t = NULL, *rom = NULL;
	int *raw = NULL;
	int64_t nr = 0, k = 0;
	int rc;
	*ids = NULL;
	*n = 0;
	*text_used = NULL;
	if (!(t = squeeze_spaces(text ? text : "")))
		return err_set(ACC_ENOMEM, "align: out of memory");
	if ((rc = vocab_encode_ex(v, t, &raw, &nr, oov, OOV_MARK)))
		goto out;
	if (pol == ALIGN_OOV_ROMANIZE && oov->total > 0) {
		if ((rc = romanize_words(v, t, &rom)))
			goto out;
		free(t);
		t = rom;
		rom = NULL;
		free(raw);
		raw = NULL;
		vocab_oov rest = { 0 };   /* the original characters stay reported */
		rc = vocab_encode_ex(v, t, &raw, &nr, &rest, OOV_MARK);
		vocab_oov_free(&rest);
		if (rc)
			goto out;
	}
	int unk = vocab_unk_id(v), delim = vocab_delim_id(v), blank = vocab_pad_id(v);
	int repl = (pol == ALIGN_OOV_STAR || unk < 0) ? star_id : unk;
	for (int64_t i = 0; i < nr; i++) {
		int id = raw[i];
		if (id == blank && id != OOV_MARK)
			id = OOV_MARK;   /* a literal "<pad>" in the text cannot be aligned */
		if (id == OOV_MARK) {
			if (repl < 0 && pol != ALIGN_OOV_ERROR) {
				rc = err_set(ACC_EINVAL, "the vocabulary has no <unk> and <star> is not enabled: cannot express '%s'", t);
				goto out;
			}
			id = repl;
		}
		if (id == delim && (k == 0 || raw[k - 1] == delim))
			continue;   /* no leading or doubled delimiters */
		raw[k++] = id;
	}
	while (k > 0 && raw[k - 1] == delim)
		k--;
	*ids = raw;
	*n = k;
	*text_used = t;
	raw = NULL;
	t = NULL;
out:
	free(raw);
	free(t);
	free(rom);
	return rc;
}
