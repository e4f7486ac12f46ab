/*
 * test_align_export.c — alignment exports written and parsed back: TextGrid
 * (word and char tiers, gaps, quotes), CTM, SRT/WebVTT timestamps, JSON.
 */
#include "align_export.h"
#include "check.h"
#include "err.h"
#include <jansson.h>

static ax_item W[3] = {
	{ "hello", 0.10, 0.52, 0.91 },
	{ "say \"hi\"", 0.60, 0.90, 0.5 },
	{ "wörld", 0.90, 1.40, 0.25 },
};
static ax_item C[4] = {
	{ "h", 0.10, 0.14, 0.9 }, { "e", 0.14, 0.20, 0.8 }, { "w", 0.90, 0.94, 0.7 }, { "ö", 1.00, 1.02, 0.6 },
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

static void test_ctm_roundtrip(void)
{
	ax_utt u = utt();
	u.words = W + 0;
	u.nwords = 1;
	/* a word with a quote is fine in CTM, but not one with a space */
	ax_item w2[2] = { W[0], W[2] };
	u.words = w2;
	u.nwords = 2;
	char *s = write_to_string(align_export_ctm, &u);
	ax_ctm_line *l = NULL;
	int64_t n = 0;
	CHECK_OK(align_export_parse_ctm(s, &l, &n));
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_STR(l[0].key, "spk1-utt7");
		CHECK_EQ_INT(l[0].channel, 1);
		CHECK_NEAR(l[0].start, 0.10, 1e-9);
		CHECK_NEAR(l[0].dur, 0.42, 1e-9);
		CHECK_STR(l[1].word, "wörld");
		CHECK_NEAR(l[1].conf, 0.25, 1e-9);
	}
	align_export_ctm_free(l, n);
	free(s);
	CHECK_OK(align_export_parse_ctm(";; comment\n\nu 1 0.5 0.2 a\n", &l, &n));
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK_NEAR(l[0].conf, -1, 0);
	align_export_ctm_free(l, n);
	CHECK_EQ_INT(align_export_parse_ctm("u 1 x 0.2 a\n", &l, &n), ACC_EFORMAT);
	CHECK_EQ_INT(align_export_parse_ctm("u 1 0.1\n", &l, &n), ACC_EFORMAT);
}

static int cue_srt(FILE *f, const ax_utt *u) { return align_export_cue(f, u, 4, 0); }
static int cue_vtt(FILE *f, const ax_utt *u) { return align_export_cue(f, u, 4, 1); }

static void test_subtitles(void)
{
	char b[32];
	align_export_timestamp(3661.5, 0, b);
	CHECK_STR(b, "01:01:01,500");
	align_export_timestamp(59.9996, 1, b);
	CHECK_STR(b, "00:01:00.000");
	ax_utt u = utt();
	char *s = write_to_string(cue_srt, &u);
	CHECK_STR(s, "4\n01:01:01,600 --> 01:01:02,900\nhello say \"hi\" wörld\n\n");
	free(s);
	s = write_to_string(cue_vtt, &u);
	CHECK_STR(s, "01:01:01.600 --> 01:01:02.900\nhello say \"hi\" wörld\n\n");
	free(s);
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

int main(void)
{
	RUN(test_textgrid_roundtrip);
	RUN(test_ctm_roundtrip);
	RUN(test_subtitles);
	RUN(test_json);
	RUN(test_truncated_inputs);
	return check_summary();
}
