/*
 * bench_align.c — the align stage's speed and memory (not a test).
 *
 *   bench_align [--model DIR --lang CODE] [--emit-seconds S] [--bf16]
 *
 * 1. Viterbi alone on synthetic emissions with a planted path: a 10-minute
 *    recording (30,000 frames) and a 60-minute one (180,000 frames), 15
 *    tokens per second of transcript, V = 64: time, the bytes the aligner
 *    held (its own accounting) and the process peak RSS.
 * 2. With --model: emissions of S seconds (default 120) of audio through the
 *    align emitter (windowed when longer than 40 s), giving the emission
 *    throughput; Viterbi time as a share of the emission time of the same
 *    10-minute recording (emission time extrapolated linearly from S
 *    seconds: windowed inference is linear in the length), and the peak RSS
 *    of a 60-minute alignment estimated from measured parts (model + one
 *    window, measured; 60 min of samples and emissions, exact sizes; the
 *    Viterbi's measured peak).
 * Prints a Markdown section for bench/RESULTS.md.
 */
#include "align/align.h"
#include "align/align_run.h"
#include "base/err.h"
#include "base/progress.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static uint64_t rs = 88172645463325252ull;
static double urand(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (double)(rs >> 11) / 9007199254740992.0;
}

static double maxrss_mb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024.0;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct vres {
	double secs, cpu, held_mb, rss_mb;
	int blocks;
	int64_t T, L;
} vres;

static int bench_viterbi(double minutes, int V, double tok_per_s, vres *r)
{
	int64_t T = (int64_t)(minutes * 60 * 50), L = (int64_t)(minutes * 60 * tok_per_s);
	float *e = malloc(sizeof(float) * T * V);
	int *tg = malloc(sizeof(int) * L), *lab = malloc(sizeof(int) * T);
	if (!e || !tg || !lab)
		return err_set(ACC_ENOMEM, "out of memory");
	for (int64_t i = 0; i < L; i++)
		tg[i] = 1 + (int)(urand() * (V - 1));
	/* planted path: tokens spread evenly, each 1-3 frames, blanks between */
	int64_t per = T / L, t = 0;
	for (int64_t i = 0; i < L; i++)
		for (int64_t k = 0; k < per; k++, t++)
			lab[t] = k < 1 + (int64_t)(urand() * 2) ? tg[i] : 0;
	for (; t < T; t++)
		lab[t] = 0;
	for (int64_t f = 0; f < T; f++)
		for (int v = 0; v < V; v++)
			e[f * V + v] = v == lab[f] ? -0.1f - (float)urand() : -3.0f - 5.0f * (float)urand();
	align_opts o = { .blank = 0, .star_id = -1 };
	align_path p;
	double t0 = progress_now(), c0 = cpu_now();
	int rc = align_viterbi(e, T, V, V, tg, L, &o, &p);
	r->secs = progress_now() - t0;
	r->cpu = cpu_now() - c0;
	if (!rc) {
		r->held_mb = p.peak_bytes / 1048576.0;
		r->blocks = p.blocks;
		align_path_free(&p);
	}
	r->rss_mb = maxrss_mb();
	r->T = T;
	r->L = L;
	free(e);
	free(tg);
	free(lab);
	return rc;
}

int main(int argc, char **argv)
{
	const char *model = NULL, *lang = NULL;
	double emit_s = 120;
	int bf16 = 0, quick = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--model") && i + 1 < argc)
			model = argv[++i];
		else if (!strcmp(argv[i], "--lang") && i + 1 < argc)
			lang = argv[++i];
		else if (!strcmp(argv[i], "--emit-seconds") && i + 1 < argc)
			emit_s = atof(argv[++i]);
		else if (!strcmp(argv[i], "--bf16"))
			bf16 = 1;
		else if (!strcmp(argv[i], "--quick"))
			quick = 1;   /* 10-minute Viterbi only (development) */
		else {
			fprintf(stderr, "usage: bench_align [--model DIR --lang CODE] [--emit-seconds S] [--bf16] [--quick]\n");
			return 2;
		}
	}
	const int V = 64;
	vres v10, v60;
	if (bench_viterbi(10, V, 15, &v10)) {
		err_print();
		return 1;
	}
	if (quick) {
		printf("10 min: %.2f s wall, %.2f s CPU, %.2e cells/CPU s, held %.1f MB\n", v10.secs, v10.cpu,
		       (double)v10.T * (2 * v10.L + 1) / v10.cpu, v10.held_mb);
		return 0;
	}
	if (bench_viterbi(60, V, 15, &v60)) {
		err_print();
		return 1;
	}
	time_t now = time(NULL);
	char date[32];
	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
	printf("\n## align (Viterbi forced alignment) — %s\n\n", date);
	printf("Machine: 2 cores AMD Zen 4 (AVX-512), 24 GiB, shared with other builds while measured; one thread for the Viterbi.\n\n");
	printf("| recording | frames | tokens | Viterbi s | frames·states/s | aligner held MB | blocks | process peak RSS MB |\n");
	printf("|---|---|---|---|---|---|---|---|\n");
	vres *vs[2] = { &v10, &v60 };
	const char *names[2] = { "10 min", "60 min" };
	for (int i = 0; i < 2; i++)
		printf("| %s | %lld | %lld | %.2f | %.2e | %.1f | %d | %.0f |\n", names[i], (long long)vs[i]->T, (long long)vs[i]->L,
		       vs[i]->secs, (double)vs[i]->T * (2 * vs[i]->L + 1) / vs[i]->secs, vs[i]->held_mb, vs[i]->blocks,
		       vs[i]->rss_mb);
	printf("\n(Synthetic emissions, V = %d, 15 tokens/s; the 60-minute trellis has %.2e cells, whose full 2-bit\n"
	       "backpointer table would take %.0f MB: checkpointed recomputation keeps it within the 256 MB budget.)\n",
	       V, (double)v60.T * (2 * v60.L + 1), (double)v60.T * (2 * v60.L + 1) / 4 / 1048576.0);
	if (!model) {
		printf("\nEmission timing not measured (no --model given).\n");
		return 0;
	}
	emitter em;
	double rss0 = maxrss_mb();
	if (emitter_open(&em, model, lang, bf16 ? W2V_PREC_BF16 : W2V_PREC_FP32)) {
		err_print();
		return 1;
	}
	int64_t n = (int64_t)(emit_s * AUDIO_RATE);
	float *x = malloc(sizeof(float) * n), *lp = NULL;
	for (int64_t i = 0; i < n; i++)
		x[i] = (float)(0.1 * sin(i * 0.05) * sin(i * 0.0003) + 0.02 * (urand() - 0.5));
	int64_t T = 0;
	double t0 = progress_now();
	if (em.emit(em.ctx, x, n, &lp, &T)) {
		err_print();
		return 1;
	}
	double es = progress_now() - t0, rss_model = maxrss_mb();
	double emit10 = es * 600.0 / emit_s;
	double share = v10.secs / emit10 * 100;
	/* 60 minutes: the window's working set is measured above; the
	 * samples and the emissions scale exactly with the length */
	double samples60 = 3600.0 * AUDIO_RATE * 4 / 1048576.0, emis60 = 180000.0 * em.V * 4 / 1048576.0;
	double est60 = (rss_model > v60.rss_mb ? rss_model : v60.rss_mb) + samples60 + emis60 + v60.held_mb;
	printf("\nEmissions (%s, %s, V = %d): %.0f s of audio in %.1f s = %.2f audio s/s (both cores).\n", model,
	       bf16 ? "bf16" : "fp32", em.V, emit_s, es, emit_s / es);
	printf("\n| measure | value | target |\n|---|---|---|\n");
	printf("| Viterbi share of emission time, 10-minute recording | %.3f %% (%.2f s vs %.0f s extrapolated from %.0f s) | < 2 %% |\n",
	       share, v10.secs, emit10, emit_s);
	printf("| alignment throughput (emissions + Viterbi), 10 min | %.2f audio s/s | — |\n", 600.0 / (emit10 + v10.secs));
	printf("| Viterbi alone, 60 min | %.0f audio s/s | — |\n", 3600.0 / v60.secs);
	printf("| peak RSS, 60-minute alignment (estimate from measured parts) | %.0f MB = model+window %.0f + samples %.0f + "
	       "emissions %.0f + Viterbi %.0f | < 4096 MB |\n",
	       est60, rss_model > v60.rss_mb ? rss_model : v60.rss_mb, samples60, emis60, v60.held_mb);
	printf("\n(RSS before loading the model: %.0f MB.)\n", rss0);
	free(x);
	free(lp);
	emitter_close(&em);
	return 0;
}
