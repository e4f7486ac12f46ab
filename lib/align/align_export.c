/*
 * align_export.c — alignment writers (CTM, TextGrid, SRT, WebVTT, JSON)
 * and the TextGrid / CTM parsers (see align_export.h).
 */
#include "align/align_export.h"
#include "base/err.h"
#include <ctype.h>
#include <stdint.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

static int io_check(FILE *f)
{
	return ferror(f) ? err_set(ACC_EIO, "write failed") : 0;
}

int align_export_add_word(ax_item **items, int64_t *n, size_t *cap, const char *label, const char *norm,
			  const char *romanized, double start, double end, double score)
{
	if (label && !*label && *n > 0) {
		/* a continuation: the previous item grows to cover this word */
		ax_item *p = &(*items)[*n - 1];
		double da = p->end - p->start, db = end - start;
		p->score = da + db > 0 ? (p->score * da + score * db) / (da + db) : (p->score + score) / 2;
		if (end > p->end)
			p->end = end;
		const char *add[2] = { norm, romanized };
		char **dst[2] = { &p->norm, &p->romanized };
		for (int k = 0; k < 2; k++) {
			if (!add[k])
				continue;
			const char *base = *dst[k] ? *dst[k] : (k == 0 ? p->text : "");
			size_t la = strlen(base), lb = strlen(add[k]);
			char *j = malloc(la + lb + 2);
			if (!j)
				return err_set(ACC_ENOMEM, "export: out of memory");
			memcpy(j, base, la);
			j[la] = ' ';
			memcpy(j + la + 1, add[k], lb + 1);
			free(*dst[k]);
			*dst[k] = j;
		}
		return 0;
	}
	if (ARRAY_GROW(*items, *cap, (size_t)*n + 1))
		return err_set(ACC_ENOMEM, "export: out of memory");
	ax_item *w = &(*items)[*n];
	memset(w, 0, sizeof *w);
	/* an empty label on the first word has nothing to continue: use the norm */
	w->text = strdup(label && *label ? label : norm ? norm : "");
	w->norm = norm && label && *label && strcmp(norm, label) ? strdup(norm) : NULL;
	w->romanized = romanized ? strdup(romanized) : NULL;
	w->start = start;
	w->end = end;
	w->score = score;
	(*n)++;
	if (!w->text || (norm && label && *label && strcmp(norm, label) && !w->norm) || (romanized && !w->romanized))
		return err_set(ACC_ENOMEM, "export: out of memory");
	return 0;
}

void align_export_items_free(ax_item *items, int64_t n)
{
	for (int64_t i = 0; items && i < n; i++) {
		free(items[i].text);
		free(items[i].norm);
		free(items[i].romanized);
	}
	free(items);
}

void align_export_file_name(const char *key, char *buf, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0, room = cap - 18;   /* keeps space for "~" + 16 hex + NUL */
	const unsigned char *p = (const unsigned char *)key;
	int cut = 0;
	for (; *p; p++) {
		int plain = isalnum(*p) || *p == '_' || *p == '-' || (*p == '.' && k > 0);
		if (k + (plain ? 1 : 3) >= room) {
			cut = 1;
			break;
		}
		if (plain) {
			buf[k++] = (char)*p;
		} else {
			buf[k++] = '%';
			buf[k++] = hex[*p >> 4];
			buf[k++] = hex[*p & 15];
		}
	}
	if (cut) {   /* FNV-1a of the whole key keeps cut names apart */
		uint64_t h = 1469598103934665603ull;
		for (p = (const unsigned char *)key; *p; p++)
			h = (h ^ *p) * 1099511628211ull;
		buf[k++] = '~';
		for (int i = 15; i >= 0; i--)
			buf[k++] = hex[(h >> (4 * i)) & 15];
	}
	buf[k] = 0;
}

void align_export_ctm_id(const char *key, char *buf, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(key), k = 0;
	/* drop an audio extension: ".ext" after the last '/' */
	const char *slash = strrchr(key, '/'), *dot = strrchr(key, '.');
	if (dot && (!slash || dot > slash) && dot > key && (!slash || dot > slash + 1)) {
		size_t el = len - (size_t)(dot + 1 - key), alnum = 1;
		for (const char *q = dot + 1; *q; q++)
			alnum &= isalnum((unsigned char)*q) != 0;
		if (el >= 1 && el <= 5 && alnum)
			len = (size_t)(dot - key);
	}
	if (cap == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];
		if (isalnum(c) || c == '_' || c == '-') {
			if (k + 1 >= cap)
				break;
			buf[k++] = (char)c;
		} else if (c == '/' || c == '.') {
			if (k + 1 >= cap)
				break;
			buf[k++] = '_';
		} else {
			if (k + 4 >= cap)
				break;
			buf[k++] = '_';
			buf[k++] = 'x';
			buf[k++] = hex[c >> 4];
			buf[k++] = hex[c & 15];
		}
	}
	if (k == 0 && cap > 1)
		buf[k++] = '_';
	buf[k] = 0;
}

int align_export_ctm(FILE *f, const ax_utt *u)
{
	char id[512];
	align_export_ctm_id(u->rec ? u->rec : u->key, id, sizeof id);
	double off = u->rec ? u->offset : 0;
	for (int64_t i = 0; i < u->nwords; i++) {
		const ax_item *w = &u->words[i];
		fprintf(f, "%s 1 %.3f %.3f ", id, off + w->start, w->end - w->start);
		const char *t = w->text && *w->text ? w->text : "_";
		for (; *t; t++)
			fputc(isspace((unsigned char)*t) ? '_' : *t, f);
		fprintf(f, " %.4f\n", w->score);
	}
	return io_check(f);
}

/* Praat string literal: double quotes doubled. */
static void tg_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void tg_interval(FILE *f, int64_t k, double a, double b, const char *text)
{
	fprintf(f, "        intervals [%lld]:\n            xmin = %.10g \n            xmax = %.10g \n            text = ",
		(long long)k, a, b);
	tg_string(f, text);
	fputs(" \n", f);
}

/* Intervals of one tier with gaps filled; returns the count (write == 0
 * only counts). */
static int64_t tg_tier(FILE *f, const ax_item *it, int64_t n, double xmax, int write)
{
	const double eps = 1e-9;
	double cur = 0;
	int64_t k = 0;
	for (int64_t i = 0; i < n; i++) {
		double a = it[i].start < cur ? cur : it[i].start, b = it[i].end > xmax ? xmax : it[i].end;
		if (b <= a + eps)
			continue;
		if (a > cur + eps) {
			k++;
			if (write)
				tg_interval(f, k, cur, a, "");
		}
		k++;
		if (write)
			tg_interval(f, k, a, b, it[i].text);
		cur = b;
	}
	if (xmax > cur + eps || k == 0) {
		k++;
		if (write)
			tg_interval(f, k, cur, xmax, "");
	}
	return k;
}

int align_export_textgrid(FILE *f, const ax_utt *u)
{
	double xmax = u->duration;
	for (int64_t i = 0; i < u->nwords; i++)
		if (u->words[i].end > xmax)
			xmax = u->words[i].end;
	fprintf(f, "File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\nxmin = 0 \nxmax = %.10g \ntiers? <exists> \nsize = 2 \nitem []: \n", xmax);
	const char *names[2] = { "words", "chars" };
	const ax_item *its[2] = { u->words, u->chars };
	int64_t ns[2] = { u->nwords, u->nchars };
	for (int t = 0; t < 2; t++) {
		fprintf(f, "    item [%d]:\n        class = \"IntervalTier\" \n        name = \"%s\" \n        xmin = 0 \n        xmax = %.10g \n"
			"        intervals: size = %lld \n", t + 1, names[t], xmax, (long long)tg_tier(f, its[t], ns[t], xmax, 0));
		tg_tier(f, its[t], ns[t], xmax, 1);
	}
	return io_check(f);
}

void align_export_timestamp(double s, int vtt, char *buf)
{
	if (s < 0)
		s = 0;
	int64_t ms = (int64_t)llround(s * 1000.0);
	snprintf(buf, 32, "%02lld:%02lld:%02lld%c%03lld", (long long)(ms / 3600000), (long long)(ms / 60000 % 60),
		 (long long)(ms / 1000 % 60), vtt ? '.' : ',', (long long)(ms % 1000));
}

int align_export_vtt_header(FILE *f)
{
	fputs("WEBVTT\n\n", f);
	return io_check(f);
}

void align_export_cue_opts_default(ax_cue_opts *o)
{
	o->max_chars = 42;
	o->max_lines = 2;
	o->max_duration = 7.0;
}

/* Code points of a UTF-8 string (continuation bytes not counted). */
static int u8_len(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Cue text with the format's escapes (see align_export_cues). */
static void cue_text(FILE *f, const char *s, int vtt)
{
	for (; *s; s++) {
		char c = *s;
		if (c == '\n' || c == '\r' || c == '\t')
			fputc(' ', f);
		else if (vtt && c == '&')
			fputs("&amp;", f);
		else if (vtt && c == '<')
			fputs("&lt;", f);
		else if (vtt && c == '>')
			fputs("&gt;", f);
		else if (c == '<')
			fputs("\u2039", f);
		else if (c == '>')
			fputs("\u203a", f);
		else
			fputc(c, f);
	}
}

static void cue_head(FILE *f, int64_t index, double a, double b, int vtt)
{
	char ta[32], tb[32];
	align_export_timestamp(a, vtt, ta);
	align_export_timestamp(b, vtt, tb);
	if (!vtt)
		fprintf(f, "%lld\n", (long long)index);
	fprintf(f, "%s --> %s\n", ta, tb);
}

/* Write words [w0, w1) as one cue; brk[i] says word i starts a new line. */
static void cue_words(FILE *f, const ax_utt *u, int64_t w0, int64_t w1, const char *brk, int64_t index, int vtt)
{
	cue_head(f, index, u->offset + u->words[w0].start, u->offset + u->words[w1 - 1].end, vtt);
	for (int64_t i = w0; i < w1; i++) {
		if (i > w0)
			fputc(brk[i] ? '\n' : ' ', f);
		cue_text(f, u->words[i].text ? u->words[i].text : "", vtt);
	}
	fputs("\n\n", f);
}

int align_export_cues(FILE *f, const ax_utt *u, int64_t *index, int vtt, const ax_cue_opts *o)
{
	ax_cue_opts d;
	if (!o) {
		align_export_cue_opts_default(&d);
		o = &d;
	}
	if (u->nwords == 0) {
		const char *t = u->text ? u->text : "";
		while (*t == ' ' || *t == '\n' || *t == '\r' || *t == '\t')
			t++;
		if (!*t)
			return io_check(f);   /* a cue needs text: nothing to show */
		cue_head(f, ++*index, u->offset, u->offset + u->duration, vtt);
		cue_text(f, t, vtt);
		fputs("\n\n", f);
		return io_check(f);
	}
	char *brk = calloc((size_t)u->nwords, 1);
	if (!brk)
		return err_set(ACC_ENOMEM, "export: out of memory");
	int64_t c0 = 0;    /* first word of the open cue */
	int line = 0, col = 0;
	for (int64_t i = 0; i < u->nwords; i++) {
		const ax_item *w = &u->words[i];
		int len = u8_len(w->text ? w->text : "");
		if (i > c0) {
			int fits_line = col + 1 + len <= o->max_chars;
			int fits_time = w->end - u->words[c0].start <= o->max_duration;
			if (fits_time && fits_line) {
				col += 1 + len;
				continue;
			}
			if (fits_time && line + 1 < o->max_lines) {
				brk[i] = 1;
				line++;
				col = len;
				continue;
			}
			cue_words(f, u, c0, i, brk, ++*index, vtt);
		}
		c0 = i;
		line = 0;
		col = len;
	}
	cue_words(f, u, c0, u->nwords, brk, ++*index, vtt);
	free(brk);
	return io_check(f);
}

static json_t *items_json(const ax_item *it, int64_t n)
{
	json_t *a = json_array();
	for (int64_t i = 0; a && i < n; i++)
	{
		json_t *o = json_pack("{s:s, s:f, s:f, s:f}", "text", it[i].text ? it[i].text : "", "start", it[i].start,
				      "end", it[i].end, "score", it[i].score);
		if (o && it[i].norm)
			json_object_set_new(o, "norm", json_string(it[i].norm));
		if (o && it[i].romanized)
			json_object_set_new(o, "romanized", json_string(it[i].romanized));
		json_array_append_new(a, o);
	}
	return a;
}

int align_export_json(FILE *f, const ax_utt *u)
{
	json_t *o = json_pack("{s:s, s:s, s:f, s:f, s:o, s:o}", "key", u->key, "text", u->text ? u->text : "",
			      "offset", u->offset, "duration", u->duration, "words", items_json(u->words, u->nwords),
			      "chars", items_json(u->chars, u->nchars));
	if (!o)
		return err_set(ACC_ENOMEM, "export: cannot build JSON for '%s'", u->key);
	int rc = json_dumpf(o, f, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(o);
	if (rc)
		return err_set(ACC_EIO, "export: cannot write JSON for '%s'", u->key);
	return io_check(f);
}

/* ---- TextGrid parser ---- */

static char *skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* Parse a Praat string literal at p ("..." with "" for a quote). */
static char *tg_parse_string(char *p, char **out)
{
	if (*p != '"')
		return NULL;
	p++;
	size_t cap = strlen(p) + 1, k = 0;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	for (;;) {
		if (!*p) {
			free(s);
			return NULL;
		}
		if (*p == '"') {
			if (p[1] == '"') {
				s[k++] = '"';
				p += 2;
				continue;
			}
			p++;
			break;
		}
		s[k++] = *p++;
	}
	s[k] = 0;
	*out = s;
	return p;
}

void align_export_textgrid_free(ax_textgrid *tg)
{
	for (int t = 0; t < tg->ntiers; t++) {
		for (int64_t i = 0; i < tg->tiers[t].n; i++)
			free(tg->tiers[t].items[i].text);
		free(tg->tiers[t].items);
		free(tg->tiers[t].name);
	}
	free(tg->tiers);
	memset(tg, 0, sizeof *tg);
}

int align_export_parse_textgrid(const char *text, ax_textgrid *tg)
{
	char *buf = strdup(text), *save = NULL;
	int rc = 0, lineno = 0, have_type = 0;
	ax_tier *tier = NULL;
	ax_item *cur = NULL;
	size_t cap = 0, tcap = 0;
	memset(tg, 0, sizeof *tg);
	if (!buf)
		return err_set(ACC_ENOMEM, "textgrid: out of memory");
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *p = skip_ws(line);
		if (!*p)
			continue;
		if (!strncmp(p, "File type", 9)) {
			have_type = strstr(p, "ooTextFile") != NULL;
			continue;
		}
		if (!strncmp(p, "item [", 6) && strstr(p, "]:") && p[6] != ']') {
			if (ARRAY_GROW(tg->tiers, tcap, (size_t)tg->ntiers + 1)) {
				rc = err_set(ACC_ENOMEM, "textgrid: out of memory");
				goto out;
			}
			tier = &tg->tiers[tg->ntiers++];
			memset(tier, 0, sizeof *tier);
			cur = NULL;
			cap = 0;
			continue;
		}
		if ((!strncmp(p, "intervals [", 11) || !strncmp(p, "points [", 8)) && strstr(p, "]:")) {
			if (!tier) {
				rc = err_set(ACC_EFORMAT, "textgrid: line %d: interval outside a tier", lineno);
				goto out;
			}
			if (ARRAY_GROW(tier->items, cap, (size_t)tier->n + 1)) {
				rc = err_set(ACC_ENOMEM, "textgrid: out of memory");
				goto out;
			}
			cur = &tier->items[tier->n++];
			memset(cur, 0, sizeof *cur);
			cur->start = cur->end = NAN;
			continue;
		}
		char *eq = strchr(p, '=');
		if (!eq)
			continue;  /* "item []:", "tiers? <exists>" and the like */
		char key[32];
		size_t kl = (size_t)(eq - p);
		while (kl > 0 && (p[kl - 1] == ' ' || p[kl - 1] == '\t'))
			kl--;
		if (kl >= sizeof key)
			continue;
		memcpy(key, p, kl);
		key[kl] = 0;
		char *v = skip_ws(eq + 1);
		if (!strcmp(key, "xmin") || !strcmp(key, "xmax") || !strcmp(key, "number")) {
			char *end;
			double x = strtod(v, &end);
			if (end == v) {
				rc = err_set(ACC_EFORMAT, "textgrid: line %d: %s is not a number", lineno, key);
				goto out;
			}
			if (cur) {
				if (!strcmp(key, "xmin"))
					cur->start = x;
				else if (!strcmp(key, "xmax"))
					cur->end = x;
				else
					cur->start = cur->end = x;
			} else if (!tier) {
				if (!strcmp(key, "xmin"))
					tg->xmin = x;
				else if (!strcmp(key, "xmax"))
					tg->xmax = x;
			}
		} else if (!strcmp(key, "text") || !strcmp(key, "mark") || !strcmp(key, "name")) {
			char *s = NULL;
			if (!tg_parse_string(v, &s)) {
				rc = err_set(ACC_EFORMAT, "textgrid: line %d: bad string literal", lineno);
				goto out;
			}
			if (!strcmp(key, "name") && tier && !cur) {
				free(tier->name);
				tier->name = s;
			} else if (cur && strcmp(key, "name")) {
				free(cur->text);
				cur->text = s;
			} else {
				free(s);
			}
		}
	}
	if (!have_type) {
		rc = err_set(ACC_EFORMAT, "textgrid: not a Praat text file (no 'File type = \"ooTextFile\"')");
		goto out;
	}
	for (int t = 0; t < tg->ntiers; t++)
		for (int64_t i = 0; i < tg->tiers[t].n; i++) {
			ax_item *it = &tg->tiers[t].items[i];
			if (isnan(it->start) || isnan(it->end) || !it->text || it->end < it->start) {
				rc = err_set(ACC_EFORMAT, "textgrid: tier %d interval %lld is incomplete or reversed", t + 1, (long long)i + 1);
				goto out;
			}
		}
out:
	free(buf);
	if (rc)
		align_export_textgrid_free(tg);
	return rc;
}

/* ---- CTM parser ---- */

void align_export_ctm_free(ax_ctm_line *lines, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		free(lines[i].key);
		free(lines[i].word);
	}
	free(lines);
}

int align_export_parse_ctm(const char *text, ax_ctm_line **lines, int64_t *n)
{
	char *buf = strdup(text), *save = NULL;
	ax_ctm_line *out = NULL;
	int64_t k = 0;
	size_t cap = 0;
	int rc = 0, lineno = 0;
	*lines = NULL;
	*n = 0;
	if (!buf)
		return err_set(ACC_ENOMEM, "ctm: out of memory");
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *p = skip_ws(line);
		if (!*p || !strncmp(p, ";;", 2))
			continue;
		char *f[7], *s2 = NULL;
		int nf = 0;
		for (char *tok = strtok_r(p, " \t\r", &s2); tok && nf < 7; tok = strtok_r(NULL, " \t\r", &s2))
			f[nf++] = tok;
		if (nf < 5 || nf > 6) {
			rc = err_set(ACC_EFORMAT, "ctm: line %d: expected 5 or 6 fields, got %d", lineno, nf);
			goto out;
		}
		char *e1, *e2, *e3, *e4 = NULL;
		long ch = strtol(f[1], &e1, 10);
		double a = strtod(f[2], &e2), d = strtod(f[3], &e3), c = nf == 6 ? strtod(f[5], &e4) : -1;
		if (*e1 || *e2 || *e3 || (e4 && *e4) || d < 0) {
			rc = err_set(ACC_EFORMAT, "ctm: line %d: bad channel, time, duration or confidence", lineno);
			goto out;
		}
		if (ARRAY_GROW(out, cap, (size_t)k + 1)) {
			rc = err_set(ACC_ENOMEM, "ctm: out of memory");
			goto out;
		}
		out[k].key = strdup(f[0]);
		out[k].word = strdup(f[4]);
		out[k].channel = (int)ch;
		out[k].start = a;
		out[k].dur = d;
		out[k].conf = c;
		k++;
		if (!out[k - 1].key || !out[k - 1].word) {
			rc = err_set(ACC_ENOMEM, "ctm: out of memory");
			goto out;
		}
	}
out:
	free(buf);
	if (rc) {
		align_export_ctm_free(out, k);
		return rc;
	}
	*lines = out;
	*n = k;
	return 0;
}
