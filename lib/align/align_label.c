/*
 * align_label.c — normalized words back to the words as written (see
 * align_label.h for the rule).
 */
#include "align/align_label.h"
#include "base/err.h"
#include "text/textnorm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

struct align_labeler {
	char      name[256];   /* profile identity of tn ("" = none yet) */
	textnorm *tn;          /* NULL with a name: that profile cannot be rebuilt */
};

int align_labeler_open(align_labeler **l)
{
	*l = calloc(1, sizeof **l);
	return *l ? 0 : err_set(ACC_ENOMEM, "align: out of memory");
}

void align_labeler_close(align_labeler *l)
{
	if (!l)
		return;
	textnorm_close(l->tn);
	free(l);
}

void align_label_free(char **labels, int64_t n)
{
	for (int64_t i = 0; labels && i < n; i++)
		free(labels[i]);
	free(labels);
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int align_label_split(const char *s, char ***words, int64_t *n)
{
	int64_t k = 0;
	size_t cap = 0;
	char **w = NULL;
	*words = NULL;
	*n = 0;
	for (const char *p = s ? s : ""; *p;) {
		while (is_ws(*p))
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && !is_ws(*e))
			e++;
		if (ARRAY_GROW(w, cap, (size_t)k + 1))
			goto oom;
		if (!(w[k] = strndup(p, (size_t)(e - p))))
			goto oom;
		k++;
		p = e;
	}
	*words = w;
	*n = k;
	return 0;
oom:
	align_label_free(w, k);
	return err_set(ACC_ENOMEM, "align: out of memory");
}

/* A textnorm rebuilt from a profile identity "<profile>-<lang>[+opt...]";
 * NULL when it cannot be (the caller then falls back). */
static textnorm *labeler_norm(align_labeler *l, const char *profile)
{
	if (!profile || !*profile)
		return NULL;
	if (!strcmp(l->name, profile))
		return l->tn;
	textnorm_close(l->tn);
	l->tn = NULL;
	snprintf(l->name, sizeof l->name, "%s", profile);
	char prof[64], lang[64];
	const char *dash = strchr(profile, '-');
	if (!dash || (size_t)(dash - profile) >= sizeof prof)
		return NULL;
	memcpy(prof, profile, (size_t)(dash - profile));
	prof[dash - profile] = 0;
	const char *plus = strchr(dash + 1, '+');
	size_t ll = plus ? (size_t)(plus - dash - 1) : strlen(dash + 1);
	if (ll == 0 || ll >= sizeof lang)
		return NULL;
	memcpy(lang, dash + 1, ll);
	lang[ll] = 0;
	textnorm_opts o;
	textnorm_opts_default(&o);
	o.profile = prof;
	o.lang = lang;
	/* the options the identity names; a rule file cannot be recovered from
	 * its hash, so such texts are left to the word-by-word check */
	for (const char *p = plus; p; p = strchr(p + 1, '+')) {
		if (!strncmp(p, "+strip", 6) && (p[6] == '+' || !p[6]))
			o.strip_diacritics = 1;
		else if (!strncmp(p, "+nostrip", 8))
			o.strip_diacritics = 0;
		else if (!strncmp(p, "+harakat", 8))
			o.strip_harakat = 1;
		else if (!strncmp(p, "+dropdigits", 11))
			o.drop_digit_tokens = 1;
		else if (!strncmp(p, "+keepdigits", 11))
			o.drop_digit_tokens = 0;
	}
	if (textnorm_open(&l->tn, &o)) {
		err_clear();
		l->tn = NULL;
	}
	return l->tn;
}

/* Append " s" (or "s" when *dst is empty) to a malloc'ed string. */
static int cat_word(char **dst, const char *s, int front)
{
	size_t a = *dst ? strlen(*dst) : 0, b = strlen(s);
	char *j = malloc(a + b + 2);
	if (!j)
		return ACC_ENOMEM;
	if (!a)
		memcpy(j, s, b + 1);
	else if (front)
		snprintf(j, a + b + 2, "%s %s", s, *dst);
	else
		snprintf(j, a + b + 2, "%s %s", *dst, s);
	free(*dst);
	*dst = j;
	return 0;
}

/* The exact mapping, or 1 when the rule does not apply. */
static int map_exact(textnorm *tn, char **tok, int64_t ntok, char **nw, int64_t n, char **lab)
{
	int64_t w = 0, last = -1;   /* last: index of the last labelled word */
	char *pending = NULL;        /* punctuation before the first labelled token */
	int rc = 0;
	for (int64_t k = 0; k < ntok; k++) {
		char *out = NULL, **tw = NULL;
		int64_t c = 0;
		int flags = 0;
		if (textnorm_apply(tn, tok[k], &out, &flags)) {
			err_clear();
			rc = 1;
			goto out;
		}
		rc = align_label_split(out, &tw, &c);
		free(out);
		if (rc)
			goto out;
		if (c == 0) {
			rc = last >= 0 ? cat_word(&lab[last], tok[k], 0) : cat_word(&pending, tok[k], 0);
			align_label_free(tw, c);
			if (rc)
				goto out;
			continue;
		}
		for (int64_t i = 0; i < c && !rc; i++) {
			if (w + i >= n || strcmp(tw[i], nw[w + i]))
				rc = 1;
		}
		if (!rc) {
			for (int64_t i = 0; i < c && !rc; i++)
				if (!(lab[w + i] = strdup(i == 0 ? tok[k] : "")))
					rc = ACC_ENOMEM;
		}
		align_label_free(tw, c);
		if (rc)
			goto out;
		last = w;
		if (pending) {
			if ((rc = cat_word(&lab[w], pending, 1)))
				goto out;
			free(pending);
			pending = NULL;
		}
		w += c;
	}
	if (w != n)
		rc = 1;
out:
	free(pending);
	if (rc)
		for (int64_t i = 0; i < n; i++) {
			free(lab[i]);
			lab[i] = NULL;
		}
	return rc;
}

int align_label_map(align_labeler *l, const char *raw, const char *norm, const char *profile, char ***labels,
		    int64_t *n, int *mapped)
{
	char **nw = NULL, **tok = NULL, **lab = NULL;
	int64_t nn = 0, ntok = 0;
	int rc, ok = 0;
	*labels = NULL;
	*n = 0;
	if ((rc = align_label_split(norm, &nw, &nn)))
		return rc;
	if (!(lab = calloc(nn ? (size_t)nn : 1, sizeof *lab))) {
		rc = err_set(ACC_ENOMEM, "align: out of memory");
		goto out;
	}
	textnorm *tn = raw && nn ? labeler_norm(l, profile) : NULL;
	if (tn) {
		if ((rc = align_label_split(raw, &tok, &ntok)))
			goto out;
		rc = map_exact(tn, tok, ntok, nw, nn, lab);
		if (rc < 0) {
			rc = err_set(ACC_ENOMEM, "align: out of memory");
			goto out;
		}
		ok = rc == 0;
		rc = 0;
	}
	if (!ok)
		for (int64_t i = 0; i < nn; i++) {
			lab[i] = nw[i];   /* the normalized word itself */
			nw[i] = NULL;
		}
	*labels = lab;
	*n = nn;
	lab = NULL;
	if (mapped)
		*mapped = ok;
out:
	align_label_free(lab, nn);
	align_label_free(nw, nn);
	align_label_free(tok, ntok);
	return rc;
}
