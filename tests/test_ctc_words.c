/*
 * test_ctc_words.c — word/character timestamps of the greedy CTC path
 * (Hugging Face output_char_offsets / output_word_offsets rules) and of a
 * given text by forced alignment (align_text_items).
 */
#include "align/align_file.h"
#include "check.h"
#include "decode/ctc_beam.h"
#include "decode/ctc_words.h"
#include "base/err.h"

static const char *TOK[] = { "<pad>", "<s>", "</s>", "<unk>", "|", "a", "b", "c" };
#define V 8

/* Emissions whose argmax per frame is path[t] with probability p[t]. */
static float *emissions(const int *path, const double *p, int T)
{
	float *lp = malloc(sizeof(float) * T * V);
	for (int t = 0; t < T; t++)
		for (int k = 0; k < V; k++)
			lp[t * V + k] = (float)log(k == path[t] ? p[t] : (1 - p[t]) / (V - 1));
	return lp;
}

static void test_greedy(void)
{
	vocab *v = NULL;
	CHECK_OK(vocab_from_tokens(&v, TOK, V));
	/* frames: _ a a _ b | | c c c _ <s> a   (_ = blank) */
	int path[] = { 0, 5, 5, 0, 6, 4, 4, 7, 7, 7, 0, 1, 5 };
	double p[] = { .9, .8, .6, .9, .7, .9, .9, .5, .6, .7, .9, .9, .8 };
	int T = 13;
	float *lp = emissions(path, p, T);
	ax_item *w = NULL, *c = NULL;
	int64_t nw = 0, nc = 0;
	CHECK_OK(ctc_words_greedy(lp, T, V, v, &w, &nw, &c, &nc));
	CHECK_EQ_INT(nc, 4);
	CHECK_EQ_INT(nw, 2);
	if (nc == 4 && nw == 2) {
		CHECK_STR(c[0].text, "a");
		CHECK_NEAR(c[0].start, 0.02, 1e-12);
		CHECK_NEAR(c[0].end, 0.06, 1e-12);
		CHECK_NEAR(c[0].score, 0.7, 1e-6);
		CHECK_STR(c[2].text, "c");
		CHECK_NEAR(c[2].start, 0.14, 1e-12);
		CHECK_NEAR(c[2].end, 0.20, 1e-12);
		CHECK_STR(c[3].text, "a");    /* the sentence marker is dropped, not a separator */
		CHECK_NEAR(c[3].start, 0.24, 1e-12);
		CHECK_STR(w[0].text, "ab");
		CHECK_NEAR(w[0].start, 0.02, 1e-12);
		CHECK_NEAR(w[0].end, 0.10, 1e-12);
		CHECK_NEAR(w[0].score, (0.8 + 0.6 + 0.7) / 3, 1e-6);
		CHECK_STR(w[1].text, "ca");
		CHECK_NEAR(w[1].start, 0.14, 1e-12);
		CHECK_NEAR(w[1].end, 0.26, 1e-12);
		CHECK_NEAR(w[1].score, (0.5 + 0.6 + 0.7 + 0.8) / 4, 1e-6);
	}
	/* the words are the greedy text's words */
	char *text = NULL;
	CHECK_OK(ctc_greedy(lp, T, V, V, (const char *const[]){ "<pad>", NULL, NULL, "<unk>", "|", "a", "b", "c" }, 0, 4, &text));
	CHECK_STR(text, "ab ca");
	free(text);
	align_export_items_free(w, nw);
	align_export_items_free(c, nc);
	/* nothing but blanks and delimiters: no words */
	int p2[] = { 0, 4, 0 };
	float *lp2 = emissions(p2, p, 3);
	CHECK_OK(ctc_words_greedy(lp2, 3, V, v, &w, &nw, &c, &nc));
	CHECK_EQ_INT(nw + nc, 0);
	CHECK_OK(ctc_words_greedy(lp2, 0, V, v, &w, &nw, &c, &nc));
	CHECK_EQ_INT(nw + nc, 0);
	free(lp2);
	free(lp);
	vocab_free(v);
}

static void test_aligned(void)
{
	vocab *v = NULL;
	CHECK_OK(vocab_from_tokens(&v, TOK, V));
	int path[] = { 0, 5, 5, 0, 6, 4, 4, 7, 7, 7, 0, 0 };
	double p[] = { .9, .8, .6, .9, .7, .9, .9, .5, .6, .7, .9, .9 };
	float *lp = emissions(path, p, 12);
	ax_item *w = NULL, *c = NULL;
	int64_t nw = 0, nc = 0;
	CHECK_OK(align_text_items(lp, 12, V, 0, v, "ab c", &w, &nw, &c, &nc));
	CHECK_EQ_INT(nw, 2);
	CHECK_EQ_INT(nc, 3);
	if (nw == 2) {
		/* the forced path is the greedy one here */
		CHECK_STR(w[0].text, "ab");
		CHECK_NEAR(w[0].start, 0.02, 1e-12);
		CHECK_NEAR(w[0].end, 0.14, 1e-12);   /* the end of the '|' (frames 5-6) after b */
		CHECK_STR(w[1].text, "c");
		CHECK_NEAR(w[1].start, 0.14, 1e-12);
		CHECK_NEAR(w[1].end, 0.24, 1e-12);   /* c's end + ALIGN_WORD_TAIL frames, = the audio's end */
		CHECK_NEAR(w[1].score, (0.5 + 0.6 + 0.7) / 3, 1e-6);
	}
	align_export_items_free(w, nw);
	align_export_items_free(c, nc);
	CHECK_EQ_INT(align_text_items(lp, 12, V, 0, v, "abc abc abc abc", &w, &nw, &c, &nc), ACC_EINVAL);
	CHECK_OK(align_text_items(lp, 12, V, 0, v, "", &w, &nw, &c, &nc));
	CHECK_EQ_INT(nw, 0);
	free(lp);
	vocab_free(v);
}

int main(void)
{
	RUN(test_greedy);
	RUN(test_aligned);
	return check_summary();
}
