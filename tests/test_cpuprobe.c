/*
 * test_cpuprobe.c — the instruction-throughput probes (cpuprobe.h) and the
 * bf16 verdict built on them (w2v_precision_bf16_pays_off): results agree with what
 * the CPU reports it supports, are finite and in a physically possible
 * range, bad arguments are clamped rather than hang, and the verdict is
 * consistent with the measured ratio.  No speed is asserted.
 */
#include <math.h>
#include <oneapi/dnnl/dnnl.h>

#include "check.h"
#include "model/cpuprobe.h"
#include "base/err.h"
#include "model/ops.h"
#include "model/w2v_forward.h"
#include "model/w2v_precision.h"

/* Any AVX-512 core does at least a few GFLOP/s per thread even when shared
 * with another busy process, and nothing does 100 TFLOP/s on one thread. */
#define PLAUSIBLE(g) ((g) > 0.5 && (g) < 1e5 && isfinite(g))

static int has(const char *f)
{
#if defined(__x86_64__) && defined(__GNUC__)
	if (!__builtin_strcmp(f, "avx512f"))
		return __builtin_cpu_supports("avx512f") != 0;
	if (!__builtin_strcmp(f, "avx512bf16"))
		return __builtin_cpu_supports("avx512bf16") != 0;
	if (!__builtin_strcmp(f, "avx512vnni"))
		return __builtin_cpu_supports("avx512vnni") != 0;
#endif
	(void)f;
	return 0;
}

static void test_probe_matches_features(void)
{
	double f = cpuprobe_gflops(CPUPROBE_FP32_FMA, 0.01);
	double b = cpuprobe_gflops(CPUPROBE_BF16_DOT, 0.01);
	if (has("avx512f"))
		CHECKF(PLAUSIBLE(f), "fp32 FMA probe gave %g GFLOP/s", f);
	else
		CHECK(f == 0);
	if (has("avx512f") && has("avx512bf16"))
		CHECKF(PLAUSIBLE(b), "bf16 dot probe gave %g GFLOP/s", b);
	else
		CHECK(b == 0);
	double i8 = cpuprobe_gflops(CPUPROBE_INT8_DOT, 0.01);
	if (has("avx512f") && has("avx512vnni"))
		CHECKF(PLAUSIBLE(i8), "int8 dot probe gave %g GOP/s", i8);
	else
		CHECK(i8 == 0);
	CHECK(cpuprobe_gflops(7, 0.01) == 0);
	CHECK(cpuprobe_gflops(-1, 0.01) == 0);
}

static void test_bad_durations_are_clamped(void)
{
	/* NaN, negative and zero durations run the 1 ms minimum */
	double v[3] = { cpuprobe_gflops(CPUPROBE_FP32_FMA, NAN), cpuprobe_gflops(CPUPROBE_FP32_FMA, -5),
	                cpuprobe_gflops(CPUPROBE_FP32_FMA, 0) };
	for (int i = 0; i < 3; i++) {
		if (has("avx512f"))
			CHECKF(PLAUSIBLE(v[i]), "duration case %d gave %g GFLOP/s", i, v[i]);
		else
			CHECK(v[i] == 0);
	}
}

static void test_bf16_verdict(void)
{
	double r = cpuprobe_bf16_speed();
	if (!has("avx512f"))
		CHECK(r == -1);
	else if (!has("avx512bf16"))
		CHECK(r == 0);
	else
		/* a bf16 dot product does 2x the FLOP of an FMA per lane pair; its
		 * measured rate relative to fp32 is somewhere in 0.05 .. 20 */
		CHECKF(r > 0.05 && r < 20 && isfinite(r), "bf16/fp32 ratio %g", r);
	double q = -2;
	int pays = w2v_precision_bf16_pays_off(&q);
	CHECK(pays == 0 || pays == 1);
	CHECK(q >= -1 && isfinite(q));
	unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), amx = (unsigned)dnnl_cpu_isa_avx512_core_amx;
	if ((isa & amx) == amx) {
		CHECKF(pays == 1, "oneDNN runs AMX but bf16 judged not to pay off");
	} else {
		/* the threshold is 0.9; q is the ratio the (cached) verdict was
		 * made on, and only clear cases are asserted */
		if (q < 0.6)
			CHECKF(pays == 0, "bf16 measured %gx the fp32 rate, no AMX, yet judged to pay off", q);
		if (q >= 1.5)
			CHECKF(pays == 1, "bf16 measured %gx the fp32 rate but judged not to pay off", q);
	}
	CHECK(w2v_precision_bf16_pays_off(NULL) == 0 || w2v_precision_bf16_pays_off(NULL) == 1);
	CHECK(ops_has_amx() == ((isa & amx) == amx));
}

/* --precision: names round-trip, auto resolves to something consistent with
 * the measured ratios (clear cases only), explicit choices are kept. */
static void test_precision(void)
{
	w2v_precision p;
	const char *n[] = { "auto", "fp32", "bf16", "int8" };
	for (int i = 0; i < 4; i++) {
		CHECK_OK(w2v_precision_parse(n[i], &p));
		CHECK_STR(w2v_precision_name(p), n[i]);
	}
	CHECK(w2v_precision_parse("fp16", &p) == ACC_EINVAL);
	CHECK(w2v_precision_parse("INT8", &p) == ACC_EINVAL);
	CHECK(w2v_precision_parse(NULL, &p) == ACC_EINVAL);
	char why[160];
	CHECK(w2v_precision_resolve(W2V_PREC_BF16, why, sizeof why) == W2V_PREC_BF16);
	CHECK(w2v_precision_flags(W2V_PREC_BF16) == W2V_FWD_BF16);
	int f8 = w2v_precision_flags(W2V_PREC_INT8);
	CHECK((f8 & ~W2V_FWD_CONV_BF16) == W2V_FWD_INT8);
	if (f8 & W2V_FWD_CONV_BF16)   /* bf16 paid when first measured (>= 0.9x fp32; probes are noisy) */
		CHECK(ops_has_amx() || cpuprobe_bf16_speed() > 0.6);
	CHECK(w2v_precision_flags(W2V_PREC_FP32) == 0);
	w2v_precision a = w2v_precision_resolve(W2V_PREC_AUTO, why, sizeof why);
	CHECK(a == W2V_PREC_FP32 || a == W2V_PREC_BF16 || a == W2V_PREC_INT8);
	CHECK(strlen(why) > 10);
	printf("# --precision auto here: %s (%s)\n", w2v_precision_name(a), why);
	double r = cpuprobe_int8_speed();
	if (!has("avx512f")) {
		CHECK(r == -1);
		CHECK(a == W2V_PREC_FP32);
	} else if (!has("avx512vnni")) {
		CHECK(r == 0);
		CHECK(a != W2V_PREC_INT8);
	} else {
		CHECKF(r > 0.1 && r < 50, "int8/fp32 ratio %g", r);
		if (r >= 3)
			CHECKF(a == W2V_PREC_INT8, "int8 at %gx the fp32 rate, auto chose %s", r, w2v_precision_name(a));
		if (r < 1.5)
			CHECKF(a != W2V_PREC_INT8, "int8 at %gx the fp32 rate, yet auto chose it", r);
	}
	/* the verdict is remembered: a second call says the same */
	CHECK(w2v_precision_resolve(W2V_PREC_AUTO, NULL, 0) == a);
}

int main(void)
{
	RUN(test_probe_matches_features);
	RUN(test_bad_durations_are_clamped);
	RUN(test_bf16_verdict);
	RUN(test_precision);
	return check_summary();
}
