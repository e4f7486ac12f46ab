/*
 * test_eval_grid.c — the alpha/beta grid of `train eval` (lib/eval/
 * eval_grid.h) on synthetic emissions, no model and no manifest: every
 * pair decoded, WERs against the references, the first lowest chosen; and
 * the parsing of the grid and of value lists.
 */
#include "check.h"
#include "base/err.h"
#include "eval/eval_grid.h"
#include <math.h>

/* Log-probs [T, 4] whose best path is ids (0 = blank). */
static void path(float *lp, const int *ids, int T)
{
	for (int t = 0; t < T; t++)
		for (int v = 0; v < 4; v++)
			lp[t * 4 + v] = v == ids[t] ? logf(0.97f) : logf(0.01f);
}

static void test_grid(void)
{
	static const char *const tokens[4] = { "<pad>", "|", "a", "b" };
	/* utterance 0 says "ab", utterance 1 says "a b" */
	const int p0[5] = { 2, 0, 3, 3, 0 }, p1[5] = { 2, 1, 3, 0, 0 };
	float l0[20], l1[20];
	path(l0, p0, 5);
	path(l1, p1, 5);
	const float *lp[2] = { l0, l1 };
	const int64_t T[2] = { 5, 5 };
	const char *ref[2] = { "ab", "a c" };   /* utterance 1: one word of two wrong */
	eval_grid_decoder d = { .tokens = tokens, .V = 4, .blank = 0, .delim = 1, .lm = NULL };
	ctc_beam_defaults(&d.bo);
	const double a[2] = { 0.5, 1.0 }, b[3] = { 0.0, 1.0, 2.0 };
	eval_grid_axes g = { .alpha = { 0.5, 1.0 }, .beta = { 0.0, 1.0, 2.0 }, .na = 2, .nb = 3 };
	eval_grid_cell cells[12];
	int best = -7;
	CHECK_EQ_INT(eval_grid_cells(&g), 6);
	CHECK_OK(eval_grid_search(&d, lp, T, ref, 2, &g, cells, &best));
	for (int i = 0; i < 6; i++) {
		CHECK_NEAR(cells[i].alpha, a[i / 3], 0);
		CHECK_NEAR(cells[i].beta, b[i % 3], 0);
		CHECK_NEAR(cells[i].unk, d.bo.unk_penalty, 0);   /* no unk axis: the decoder's */
		CHECK_NEAR(cells[i].wer, 1.0 / 3, 1e-12);   /* 1 error in 3 reference words */
	}
	CHECK_EQ_INT(best, 0);   /* all equal: the first */
	/* the references as spoken: every pair is exact */
	const char *exact[2] = { "ab", "a b" };
	CHECK_OK(eval_grid_search(&d, lp, T, exact, 2, &g, cells, &best));
	for (int i = 0; i < 6; i++)
		CHECK_NEAR(cells[i].wer, 0.0, 0);
	/* a third axis: cells ordered alpha, beta, unk (fastest) */
	g.nb = 1;
	g.unk[0] = -10;
	g.unk[1] = 0;
	g.nu = 2;
	CHECK_EQ_INT(eval_grid_cells(&g), 4);
	CHECK_OK(eval_grid_search(&d, lp, T, exact, 2, &g, cells, &best));
	CHECK_NEAR(cells[1].unk, 0, 0);
	CHECK_NEAR(cells[2].alpha, 1.0, 0);
	CHECK_NEAR(cells[3].unk, 0, 0);
}

static void test_parse(void)
{
	eval_grid_axes g;
	CHECK_OK(eval_grid_parse("0.3,0.5,0.8:0,1", &g));
	CHECK_EQ_INT(g.na, 3);
	CHECK_EQ_INT(g.nb, 2);
	CHECK_EQ_INT(g.nu, 0);
	CHECK_NEAR(g.alpha[2], 0.8, 0);
	CHECK_NEAR(g.beta[1], 1.0, 0);
	CHECK_OK(eval_grid_parse("0.5:1,2:-10,-3,0", &g));
	CHECK_EQ_INT(g.na, 1);
	CHECK_EQ_INT(g.nb, 2);
	CHECK_EQ_INT(g.nu, 3);
	CHECK_NEAR(g.unk[1], -3, 0);
	CHECK_EQ_INT(eval_grid_cells(&g), 6);
	CHECK(eval_grid_parse("0.3,0.5", &g) == ACC_EINVAL);
	CHECK(eval_grid_parse("0.3,x:1", &g) == ACC_EINVAL);
	CHECK(eval_grid_parse("0.3:", &g) == ACC_EINVAL);
	CHECK(eval_grid_parse("0.3:1:", &g) == ACC_EINVAL);
	CHECK(eval_grid_parse("0.3:1:2", &g) == ACC_EINVAL);        /* a positive penalty */
	CHECK(eval_grid_parse("0.3:1:-1:4", &g) == ACC_EINVAL);     /* a fourth axis */
	double v[3];
	CHECK_EQ_INT(eval_list_parse("10,20", v, 3, "--noise-snr"), 2);
	CHECK(eval_list_parse("1,2,3,4", v, 3, "--noise-snr") == ACC_EINVAL);
	CHECK(eval_list_parse("1,nan", v, 3, "--noise-snr") == ACC_EINVAL);
}

int main(void)
{
	RUN(test_grid);
	RUN(test_parse);
	return check_summary();
}
