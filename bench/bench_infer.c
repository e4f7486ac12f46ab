/*
 * bench_infer.c — emission throughput of the accent model forward
 * (audio seconds per wall second) for a model shape built in memory with
 * random weights (w2v_config_preset + w2v_init_random), plus the 2048^3
 * oneDNN matmul ceiling in fp32 and bf16 and the CPU's FMA / bf16-dot
 * instruction ceilings.  Not a test: bench/bench_infer.sh
 * runs it next to the PyTorch reference and appends to bench/RESULTS.md.
 *
 * FLOPs are counted as ../shared/bench/torch_ref/flops.py does (matmuls and
 * convolutions only, 2 per multiply-add; the positional conv counted on T+1
 * frames as PyTorch computes them), so GFLOP/s compare like for like.
 *
 * Usage: bench_infer [--config mms-300m] [--batch 4] [--seconds 5]
 *                    [--precision fp32|bf16|int8] [--lean] [--reps 5] [--matmul] [--pack]
 *                    [--accuracy]
 * --lean releases the fp32 copies of the packed weights (w2v_infer_lean, as
 * align and transcribe do for bf16/int8); --accuracy compares bf16 and int8
 * with fp32 on the same input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>

#include "model/cpuprobe.h"
#include "base/err.h"
#include "model/ops.h"
#include "model/w2v.h"
#include "model/w2v_forward.h"
#include "model/w2v_infer.h"
#include "model/w2v_precision.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long vm_kib(const char *key)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	if (!fp)
		return -1;
	while (fgets(line, sizeof line, fp))
		if (!strncmp(line, key, kl))
			v = atol(line + kl + 1);
	fclose(fp);
	return v;
}

static double forward_flops(const w2v_config *c, int B, int n)
{
	double fl = 0;
	int t = n, cin = 1;
	for (int i = 0; i < c->num_feat_extract_layers; i++) {
		t = (t - c->conv_kernel[i]) / c->conv_stride[i] + 1;
		fl += 2.0 * B * t * c->conv_dim[i] * cin * c->conv_kernel[i];
		cin = c->conv_dim[i];
	}
	double T = t, H = c->hidden_size, F = c->intermediate_size, A = c->adapter_attn_dim;
	fl += 2.0 * B * T * cin * H;
	fl += 2.0 * B * (T + 1) * H * (H / c->num_conv_pos_embedding_groups) * c->num_conv_pos_embeddings;
	fl += c->num_hidden_layers * (8.0 * B * T * H * H + 4.0 * B * T * T * H + 4.0 * B * T * H * F + 4.0 * B * T * H * A);
	fl += 2.0 * B * T * H * c->vocab_size;
	return fl;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The instruction ceilings behind the matmul figures (cpuprobe.h), summed
 * over the OpenMP threads running at once.  Where vdpbf16ps runs at half the
 * FMA rate (no AMX), no bf16 matmul can beat fp32 on this CPU. */
static void isa_peak(void)
{
	static const char *name[2] = { "fp32 vfmadd231ps", "bf16 vdpbf16ps" };
	for (int k = CPUPROBE_FP32_FMA; k <= CPUPROBE_BF16_DOT; k++) {
		double sum = 0;
		int nt = 1;
#pragma omp parallel reduction(+ : sum)
		{
#pragma omp single
			nt = omp_get_num_threads();
			sum += cpuprobe_gflops(k, 0.2);
		}
		if (sum > 0)
			printf("isa peak %s: %.1f GFLOP/s on %d threads (%.1f per thread)\n", name[k], sum, nt, sum / nt);
		else
			printf("isa peak %s: not supported by this CPU\n", name[k]);
	}
}

static int matmul_peak(void)
{
	int N = 2048, rc = 0;
	ops_ctx *c = NULL;
	float *a = malloc(sizeof(float) * N * N), *w = malloc(sizeof(float) * N * N), *y = malloc(sizeof(float) * N * N);
	uint16_t *ab = malloc(2 * (size_t)N * N);
	if (!a || !w || !y || !ab || (rc = ops_ctx_create(&c)))
		goto out;
	for (size_t i = 0; i < (size_t)N * N; i++) {
		a[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
		w[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
	}
	ops_to_bf16(ab, a, (size_t)N * N);
	isa_peak();
	ops_ctx_set_pack_f32(c, 1);   /* the ceiling: both operands in their best layout */
	for (int bf = 0; bf < 2; bf++) {
		double best = 1e9, ts[10];
		for (int r = 0; r < 10; r++) {
			double t0 = now();
			if ((rc = linear_forward(c, y, OPS_F32, bf ? (void *)ab : (void *)a, bf ? OPS_BF16 : OPS_F32,
			                         w, NULL, N, N, N, 0)))
				goto out;
			ts[r] = now() - t0;
			if (r > 0 && ts[r] < best)
				best = ts[r];
		}
		qsort(ts + 1, 9, sizeof(double), cmp_d);
		double fl = 2.0 * N * N * N;
		printf("matmul 2048^3 %s: median %.1f GFLOP/s, best %.1f GFLOP/s\n", bf ? "bf16" : "fp32",
		       fl / ts[5] / 1e9, fl / best / 1e9);
	}
out:
	if (rc)
		fprintf(stderr, "error: %s\n", err_msg());
	ops_ctx_free(c);
	free(a); free(w); free(y); free(ab);
	return rc;
}

/* One straight measurement script (options, model, warm-up, timed reps,
 * memory, report) kept in one function on purpose: its steps share the
 * timing state, and read top to bottom they are the benchmark's method. */
int main(int argc, char **argv)
{
	const char *config = "mms-300m", *prec = "fp32", *model_dir = NULL;
	int B = 4, reps = 5, do_matmul = 0, pack = 0, accuracy = 0, lean = 0;
	double secs = 5.0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--precision") && i + 1 < argc) prec = argv[++i];
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--matmul")) do_matmul = 1;
		else if (!strcmp(argv[i], "--pack")) pack = 1;
		else if (!strcmp(argv[i], "--lean")) lean = 1;
		else if (!strcmp(argv[i], "--model") && i + 1 < argc) model_dir = argv[++i];
		else if (!strcmp(argv[i], "--accuracy")) accuracy = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "--version")) {
			printf("usage: bench_infer [--config NAME | --model DIR] [--batch B] [--seconds S]"
			       " [--precision fp32|bf16|int8] [--lean] [--reps N] [--matmul] [--pack] [--accuracy]\n");
			return 0;
		} else {
			fprintf(stderr, "error: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if (do_matmul)
		return matmul_peak() ? 1 : 0;
	w2v_precision pr;
	if (w2v_precision_parse(prec, &pr) || pr == W2V_PREC_AUTO) {
		fprintf(stderr, "error: --precision must be fp32, bf16 or int8\n");
		return 2;
	}
	int bf16 = pr == W2V_PREC_BF16, fflags = w2v_precision_flags(pr);
	w2v_config cfg;
	w2v_model *m = NULL;
	w2v_fwd *f = NULL;
	w2v_infer *wi = NULL;
	int rc;
	if (model_dir) {
		/* a saved checkpoint, loaded as align/transcribe do (lean: each
		 * linear packed as it is read, its fp32 copy released) */
		if ((rc = w2v_infer_load(&wi, &m, model_dir, NULL, fflags, lean))) {
			err_print();
			return 1;
		}
		cfg = m->cfg;
		config = model_dir;
	} else if ((rc = w2v_config_preset(&cfg, config)) || (rc = w2v_model_alloc(&m, &cfg)) ||
	           (rc = w2v_init_random(m, 1234))) {
		err_print();
		return 1;
	}
	/* guard against an initializer that leaves non-finite values (the conv
	 * biases of some w2v_init_random versions): they would turn every
	 * output to NaN and make the timing meaningless */
	size_t fixed = 0;
	for (size_t i = 0; i < m->base_numel && !wi; i++)
		if (!isfinite(m->base[i])) {
			m->base[i] = 0;
			fixed++;
		}
	if (fixed)
		fprintf(stderr, "warning: %zu non-finite initial weights set to 0\n", fixed);
	size_t wbytes = (m->base_numel + m->train_numel) * sizeof(float);
	long rss_model = vm_kib("VmRSS:");
	int n = (int)(secs * 16000);
	float *x = malloc(sizeof(float) * (size_t)B * n);
	uint64_t s = 42;
	for (size_t i = 0; i < (size_t)B * n; i++) {
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		x[i] = (float)((s >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
	}
	if (accuracy) {
		/* bf16 and int8 against fp32 on the same input: logits and greedy path */
		w2v_fwd *f32 = NULL;
		if (w2v_fwd_create(&f32, m, 0) || w2v_forward(f32, x, B, n, NULL)) {
			err_print();
			return 1;
		}
		for (int q = 0; q < 2; q++) {
		w2v_fwd *f16 = NULL;
		if (w2v_fwd_create(&f16, m, w2v_precision_flags(q ? W2V_PREC_INT8 : W2V_PREC_BF16)) ||
		    w2v_forward(f16, x, B, n, NULL)) {
			err_print();
			return 1;
		}
		size_t nl = (size_t)B * f32->T * cfg.vocab_size;
		double md = 0, ml = 0, mref = 0;
		long agree = 0, frames = (long)B * f32->T;
		for (size_t i = 0; i < nl; i++) {
			md = fmax(md, fabs(f32->logits[i] - f16->logits[i]));
			ml = fmax(ml, fabs(f32->logprobs[i] - f16->logprobs[i]));
			mref = fmax(mref, fabs(f32->logits[i]));
		}
		for (long t = 0; t < frames; t++) {
			const float *a = f32->logits + t * cfg.vocab_size, *b = f16->logits + t * cfg.vocab_size;
			int ia = 0, ib = 0;
			for (int v = 1; v < cfg.vocab_size; v++) {
				if (a[v] > a[ia]) ia = v;
				if (b[v] > b[ib]) ib = v;
			}
			agree += ia == ib;
		}
		printf("%s %s vs fp32, B=%d %.0fs random input: max |dlogit| %.4g (max |logit| %.3g), "
		       "max |dlogprob| %.4g, greedy argmax agrees on %.2f%% of %ld frames\n",
		       config, q ? "int8" : "bf16", B, secs, md, mref, ml, 100.0 * agree / frames, frames);
		w2v_fwd_free(f16);
		}
		w2v_fwd_free(f32);
		w2v_free(m);
		free(x);
		return 0;
	}
	if (wi)
		f = wi->fwd;
	else if ((rc = w2v_fwd_create(&f, m, fflags)) || (lean && (rc = w2v_fwd_lean(f, m)))) {
		err_print();
		return 1;
	}
	ops_ctx_set_pack_f32(w2v_fwd_ops(f), pack);
	double t0 = now();
	if ((rc = w2v_forward(f, x, B, n, NULL))) {
		err_print();
		return 1;
	}
	double warm = now() - t0;
	double *ts = malloc(sizeof(double) * reps);
	for (int r = 0; r < reps; r++) {
		t0 = now();
		if ((rc = w2v_forward(f, x, B, n, NULL))) {
			err_print();
			return 1;
		}
		ts[r] = now() - t0;
	}
	qsort(ts, reps, sizeof(double), cmp_d);
	double med = ts[reps / 2], fl = forward_flops(&cfg, B, n);
	double sum = 0;
	for (int t = 0; t < f->T * cfg.vocab_size; t++)
		sum += f->logits[t];
	printf("%s infer %s%s B=%d %.0fs: warm-up %.2f s, median %.3f s (min %.3f) over %d reps, "
	       "%.2f audio s/s, %.1f GFLOP/step, %.1f GFLOP/s; weights %.2f GiB, packed %.2f GiB, "
	       "RSS after model %.2f GiB, peak RSS %.2f GiB (checksum %.6g)\n",
	       config, prec, pack && !bf16 ? " (packed fp32 weights)" : lean ? " (lean)" : "", B, secs, warm, med,
	       ts[0], reps,
	       B * secs / med, fl / 1e9, fl / med / 1e9, wbytes / 1073741824.0,
	       ops_ctx_packed_bytes(w2v_fwd_ops(f)) / 1073741824.0, rss_model / 1048576.0,
	       vm_kib("VmHWM:") / 1048576.0, sum);
	free(ts);
	free(x);
	if (wi)
		w2v_infer_free(wi);
	else
		w2v_fwd_free(f);
	w2v_free(m);
	return 0;
}
