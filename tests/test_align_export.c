/*
 * test_align_export.c — alignment exports written and parsed back: TextGrid
 * (word and char tiers, gaps, quotes), CTM, SRT/WebVTT timestamps, JSON.
 */
#include "align/align_export.h"
#include <ctype.h>

#include "check.h"
#include "base/err.h"
#include <jansson.h>

static ax_item W[3] = {
	{ "hello", 0.10, 0.52, 0.91, NULL, NULL },
	{ "say \"hi\"", 0.60, 0.90, 0.5, NULL, NULL },
	{ "wörld", 0.90, 1.40, 0.25, NULL, NULL },
};
static ax_item C[4] = {
	{ "h", 0.10, 0.14, 0.9, NULL, NULL }, { "e", 0.14, 0.20, 0.8, NULL, NULL },
	{ "w", 0.90, 0.94, 0.7, NULL, NULL }, { "ö", 1.00, 1.02, 0.6, NULL, NULL },
};

static ax_utt utt(void)
{
	ax_utt u = { .key = "spk1-utt7", .text = "hello say \"hi\" wörld", .offset = 3661.5, .duration = 1.6,
		     .words = W, .nwords = 3, .chars = C, .nchars = 4 };
	return u;
}

static char *write_to_string(int (*fn)(FILE *, const ax_utt *), const ax_utt *u)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK_OK(fn(f, u));
	fclose(f);
	return buf;
}

static void test_textgrid_roundtrip(void)
{
	ax_utt u = utt();
	char *s = write_to_string(align_export_textgrid, &u);
	ax_textgrid tg;
	CHECK_OK(align_export_parse_textgrid(s, &tg));
	CHECK_EQ_INT(tg.ntiers, 2);
	CHECK_NEAR(tg.xmax, 1.6, 1e-12);
	if (tg.ntiers == 2) {
		CHECK_STR(tg.tiers[0].name, "words");
		CHECK_STR(tg.tiers[1].name, "chars");
		/* words: gap, hello, gap, say "hi", wörld, gap */
		ax_tier *w = &tg.tiers[0];
		CHECK_EQ_INT(w->n, 6);
		if (w->n == 6) {
			CHECK_STR(w->items[0].text, "");
			CHECK_STR(w->items[1].text, "hello");
			CHECK_NEAR(w->items[1].start, 0.10, 1e-12);
			CHECK_NEAR(w->items[1].end, 0.52, 1e-12);
			CHECK_STR(w->items[3].text, "say \"hi\"");
			CHECK_STR(w->items[4].text, "wörld");
			CHECK_NEAR(w->items[5].end, 1.6, 1e-12);
		}
		/* tiers tile [xmin, xmax] without holes or overlaps */
		for (int t = 0; t < 2; t++) {
			ax_tier *x = &tg.tiers[t];
			CHECK_NEAR(x->items[0].start, 0, 1e-12);
			for (int64_t i = 1; i < x->n; i++)
				CHECK_NEAR(x->items[i].start, x->items[i - 1].end, 1e-12);
			CHECK_NEAR(x->items[x->n - 1].end, tg.xmax, 1e-12);
		}
		int found = 0;
		for (int64_t i = 0; i < tg.tiers[1].n; i++)
			found += !strcmp(tg.tiers[1].items[i].text, "ö");
		CHECK_EQ_INT(found, 1);
	}
	align_export_textgrid_free(&tg);
	free(s);
	/* broken input is an error, not a crash */
	const char *bad[] = { "", "xmin = 0\n", "File type = \"ooTextFile\"\nitem [1]:\nintervals [1]:\nxmin = 0\nxmax = 1\ntext = \"unterminated\n",
			      "File type = \"ooTextFile\"\nintervals [1]:\n", "File type = \"ooTextFile\"\nitem [1]:\nintervals [1]:\nxmin = x\n" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = align_export_parse_textgrid(bad[i], &tg);
		CHECKF(rc == ACC_EFORMAT, "case %zu: rc %d", i, rc);
	}
}

/* u with the words a and b, written as CTM and parsed back into *l (2 lines) */
static void ctm_two_words(ax_utt *u, ax_item a, ax_item b, ax_ctm_line **l, int64_t *n)
{
	ax_item w2[2] = { a, b };
	u->words = w2;
	u->nwords = 2;
	char *s = write_to_string(align_export_ctm, u);
	u->words = NULL;
	u->nwords = 0;
	CHECK_OK(align_export_parse_ctm(s, l, n));
	CHECK_EQ_INT(*n, 2);
	free(s);
}

static void test_ctm_roundtrip(void)
{
	ax_utt u = utt();
	u.words = W + 0;
	u.nwords = 1;
	/* a word with a quote is fine in CTM, but not one with a space */
	ax_ctm_line *l = NULL;
	int64_t n = 0;
	ctm_two_words(&u, W[0], W[2], &l, &n);
	if (n == 2) {
		CHECK_STR(l[0].key, "spk1-utt7");
		CHECK_EQ_INT(l[0].channel, 1);
		CHECK_NEAR(l[0].start, 0.10, 1e-9);
		CHECK_NEAR(l[0].dur, 0.42, 1e-9);
		CHECK_STR(l[1].word, "wörld");
		CHECK_NEAR(l[1].conf, 0.25, 1e-9);
	}
	align_export_ctm_free(l, n);
	CHECK_OK(align_export_parse_ctm(";; comment\n\nu 1 0.5 0.2 a\n", &l, &n));
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK_NEAR(l[0].conf, -1, 0);
	align_export_ctm_free(l, n);
	CHECK_EQ_INT(align_export_parse_ctm("u 1 x 0.2 a\n", &l, &n), ACC_EFORMAT);
	CHECK_EQ_INT(align_export_parse_ctm("u 1 0.1\n", &l, &n), ACC_EFORMAT);
}

static int cue_srt(FILE *f, const ax_utt *u) { int64_t i = 3; return align_export_cues(f, u, &i, 0, NULL); }
static int cue_vtt(FILE *f, const ax_utt *u) { int64_t i = 3; return align_export_cues(f, u, &i, 1, NULL); }

/* CTM with recording ids and recording times; ids NIST's validator accepts */
static void test_ctm_recording(void)
{
	char id[64];
	align_export_ctm_id("spk1/chapter 2/utt.7.flac", id, sizeof id);
	CHECK_STR(id, "spk1_chapter_x202_utt_7");
	align_export_ctm_id("a/b.c/d", id, sizeof id);
	CHECK_STR(id, "a_b_c_d");
	align_export_ctm_id("été.wav", id, sizeof id);
	CHECK_STR(id, "_xc3_xa9t_xc3_xa9");
	align_export_ctm_id("", id, sizeof id);
	CHECK_STR(id, "_");
	align_export_ctm_id("abcdefghij", id, 5);
	CHECK_STR(id, "abcd");
	ax_utt u = utt();
	u.rec = "talks/day1.wav";
	ax_ctm_line *l = NULL;
	int64_t n = 0;
	ctm_two_words(&u, W[0], W[1], &l, &n);   /* "say \"hi\"" holds a space */
	if (n == 2) {
		CHECK_STR(l[0].key, "talks_day1");
		CHECK_NEAR(l[0].start, 3661.6, 1e-9);   /* offset + start */
		CHECK_NEAR(l[0].dur, 0.42, 1e-9);
		CHECK_STR(l[1].word, "say_\"hi\"");
	}
	align_export_ctm_free(l, n);
}

/* merging a continuation word into the previous item */
static void test_add_word(void)
{
	ax_item *it = NULL;
	int64_t n = 0;
	size_t cap = 0;
	CHECK_OK(align_export_add_word(&it, &n, &cap, "Rock-n-roll!", "rock", NULL, 1.0, 1.2, 0.5));
	CHECK_OK(align_export_add_word(&it, &n, &cap, "", "n", NULL, 1.2, 1.3, 1.0));
	CHECK_OK(align_export_add_word(&it, &n, &cap, "", "roll", NULL, 1.3, 1.6, 0.0));
	CHECK_OK(align_export_add_word(&it, &n, &cap, "now", "now", "nau", 2.0, 2.5, 0.25));
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_STR(it[0].text, "Rock-n-roll!");
		CHECK_STR(it[0].norm, "rock n roll");
		CHECK_NEAR(it[0].start, 1.0, 0);
		CHECK_NEAR(it[0].end, 1.6, 0);
		CHECK_NEAR(it[0].score, (0.5 * 0.2 + 1.0 * 0.1) / 0.6, 1e-12);
		CHECK(it[1].norm == NULL);
		CHECK_STR(it[1].romanized, "nau");
	}
	align_export_items_free(it, n);
}

/* u's cues as SRT and as WebVTT (numbered from 4) are want_srt and want_vtt */
static void check_cues(const ax_utt *u, const char *want_srt, const char *want_vtt)
{
	char *s = write_to_string(cue_srt, u);
	CHECK_STR(s, want_srt);
	free(s);
	s = write_to_string(cue_vtt, u);
	CHECK_STR(s, want_vtt);
	free(s);
}

/* v's cues (numbered from 1; vtt 0 or 1) as a string; *idx the last number */
static char *cues_of(const ax_utt *v, int vtt, const ax_cue_opts *o, int64_t *idx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	*idx = 0;
	CHECK_OK(align_export_cues(f, v, idx, vtt, o));
	fclose(f);
	return buf;
}

/* cue text escaping and cues split at words */
static void test_cue_layout(void)
{
	ax_item w[4] = { { "a-->b", 0.0, 0.5, 1, NULL, NULL }, { "&", 0.5, 0.7, 1, NULL, NULL },
			 { "<b>bold</b>", 0.8, 1.2, 1, NULL, NULL }, { "x>y", 1.3, 1.5, 1, NULL, NULL } };
	ax_utt u = { .key = "k", .offset = 10, .duration = 2, .words = w, .nwords = 4 };
	check_cues(&u, "4\n00:00:10,000 --> 00:00:11,500\na--\u203ab & \u2039b\u203abold\u2039/b\u203a x\u203ay\n\n",
		   "00:00:10.000 --> 00:00:11.500\na--&gt;b &amp; &lt;b&gt;bold&lt;/b&gt; x&gt;y\n\n");
	/* 8 words of 4 letters: 9 characters per line, 2 lines, 3 s per cue */
	ax_item m[8];
	char txt[8][16];
	for (int i = 0; i < 8; i++) {
		snprintf(txt[i], sizeof txt[i], "w%03d", i);
		m[i] = (ax_item){ txt[i], i * 1.0, i * 1.0 + 0.8, 1, NULL, NULL };
	}
	ax_utt v = { .key = "k", .offset = 0, .duration = 8, .words = m, .nwords = 8 };
	ax_cue_opts o = { .max_chars = 9, .max_lines = 2, .max_duration = 3.0 };
	int64_t idx;
	char *buf = cues_of(&v, 0, &o, &idx);
	/* a cue: w000 w001 / w002 (3 s limit: w003 would end at 3.8 s) */
	CHECK_EQ_INT(idx, 3);
	CHECK_STR(buf, "1\n00:00:00,000 --> 00:00:02,800\nw000 w001\nw002\n\n"
		       "2\n00:00:03,000 --> 00:00:05,800\nw003 w004\nw005\n\n"
		       "3\n00:00:06,000 --> 00:00:07,800\nw006 w007\n\n");
	free(buf);
	/* a word longer than a line is never cut */
	o.max_chars = 2;
	o.max_lines = 1;
	buf = cues_of(&v, 1, &o, &idx);
	CHECK_EQ_INT(idx, 8);
	CHECK(strstr(buf, "\nw007\n") != NULL);
	free(buf);
}

static void test_subtitles(void)
{
	char b[32];
	align_export_timestamp(3661.5, 0, b);
	CHECK_STR(b, "01:01:01,500");
	align_export_timestamp(59.9996, 1, b);
	CHECK_STR(b, "00:01:00.000");
	ax_utt u = utt();
	check_cues(&u, "4\n01:01:01,600 --> 01:01:02,900\nhello say \"hi\" wörld\n\n",
		   "01:01:01.600 --> 01:01:02.900\nhello say \"hi\" wörld\n\n");
}

static void test_json(void)
{
	ax_utt u = utt();
	char *s = write_to_string(align_export_json, &u);
	json_error_t je;
	json_t *o = json_loads(s, 0, &je);
	CHECKF(o != NULL, "JSON does not parse: %s", je.text);
	if (o) {
		CHECK_STR(json_string_value(json_object_get(o, "key")), "spk1-utt7");
		json_t *w = json_object_get(o, "words");
		CHECK_EQ_INT(json_array_size(w), 3);
		CHECK_STR(json_string_value(json_object_get(json_array_get(w, 1), "text")), "say \"hi\"");
		CHECK_NEAR(json_real_value(json_object_get(json_array_get(w, 2), "end")), 1.4, 1e-9);
		CHECK_EQ_INT(json_array_size(json_object_get(o, "chars")), 4);
		json_decref(o);
	}
	free(s);
}


/* Every prefix of a valid file parses or fails cleanly (run under ASan). */
static void test_truncated_inputs(void)
{
	ax_utt u = utt();
	char *tgs = write_to_string(align_export_textgrid, &u), *ctm = write_to_string(align_export_ctm, &u);
	size_t n = strlen(tgs), ok = 0, bad = 0;
	for (size_t k = 0; k <= n; k++) {
		char *pre = strndup(tgs, k);
		ax_textgrid tg;
		int rc = align_export_parse_textgrid(pre, &tg);
		if (rc == 0) {
			ok++;
			align_export_textgrid_free(&tg);
		} else {
			bad += rc == ACC_EFORMAT;
			CHECKF(rc == ACC_EFORMAT, "prefix %zu: rc %d", k, rc);
		}
		free(pre);
	}
	CHECK(ok > 0 && bad > 0);
	n = strlen(ctm);
	for (size_t k = 0; k <= n; k++) {
		char *pre = strndup(ctm, k);
		ax_ctm_line *l = NULL;
		int64_t nl = 0;
		int rc = align_export_parse_ctm(pre, &l, &nl);
		CHECKF(rc == 0 || rc == ACC_EFORMAT, "ctm prefix %zu: rc %d", k, rc);
		if (rc == 0)
			align_export_ctm_free(l, nl);
		free(pre);
	}
	free(tgs);
	free(ctm);
}

/* Export file names are injective (issue 19 #11: 'x/y' and 'x_y' shared one
 * file, every non-ASCII key became '_'). */
static void test_file_names(void)
{
	const char *keys[] = { "x/y", "x_y", "x%y", "x%2Fy", "ገበሬ", "ደብዳ", ".hidden", "a.b-c_D9", "a b", "a\nb", "" };
	enum { NK = sizeof keys / sizeof *keys };
	char names[NK][128];
	for (int i = 0; i < NK; i++) {
		align_export_file_name(keys[i], names[i], sizeof names[i]);
		CHECKF(!strchr(names[i], '/') && names[i][0] != '.', "'%s' -> '%s'", keys[i], names[i]);
		for (const char *c = names[i]; *c; c++)
			CHECKF(isalnum((unsigned char)*c) || strchr("%_.-~", *c), "'%s' -> '%s'", keys[i], names[i]);
	}
	for (int i = 0; i < NK; i++)
		for (int j = i + 1; j < NK; j++)
			CHECKF(strcmp(names[i], names[j]), "'%s' and '%s' both -> '%s'", keys[i], keys[j], names[i]);
	CHECK_STR(names[0], "x%2Fy");
	CHECK_STR(names[1], "x_y");
	CHECK_STR(names[7], "a.b-c_D9");   /* safe keys stay as they are */
	/* long keys that share a prefix are cut and told apart by a hash */
	char a[400], b[400], na[64], nb[64];
	memset(a, 'k', sizeof a - 1);
	a[sizeof a - 1] = 0;
	memcpy(b, a, sizeof a);
	b[sizeof b - 2] = 'z';
	align_export_file_name(a, na, sizeof na);
	align_export_file_name(b, nb, sizeof nb);
	CHECK(strlen(na) < sizeof na && strlen(nb) < sizeof nb);
	CHECK(strchr(na, '~') && strcmp(na, nb));
}

int main(void)
{
	RUN(test_textgrid_roundtrip);
	RUN(test_ctm_roundtrip);
	RUN(test_subtitles);
	RUN(test_ctm_recording);
	RUN(test_add_word);
	RUN(test_cue_layout);
	RUN(test_json);
	RUN(test_truncated_inputs);
	RUN(test_file_names);
	return check_summary();
}
