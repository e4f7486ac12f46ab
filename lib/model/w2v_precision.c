/*
 * w2v_precision.c — parsing and the automatic choice of the inference
 * precision (w2v_precision.h): the one place that measures the CPU
 * (cpuprobe) to decide; the kernels only run what they are told.
 */
#include "model/w2v_precision.h"

#include <stdio.h>
#include <string.h>

#include "model/cpuprobe.h"
#include "base/err.h"
#include "model/ops.h"
#include "model/w2v_forward.h"
#include "base/banned.h"

static const char *const names[] = { "auto", "fp32", "bf16", "int8" };

int w2v_precision_parse(const char *s, w2v_precision *p)
{
	for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
		if (s && !strcmp(s, names[i])) {
			*p = (w2v_precision)i;
			return 0;
		}
	err_set(ACC_EINVAL, "unknown precision '%s'", s ? s : "");
	err_hint("use one of auto, fp32, bf16, int8");
	return ACC_EINVAL;
}

const char *w2v_precision_name(w2v_precision p)
{
	return (unsigned)p < sizeof names / sizeof *names ? names[p] : "?";
}

/* The bf16 probe's ratio, measured on first use (the answer cannot change
 * while the process runs, and every caller then sees the same verdict). */
static int bf16_measured;
static double bf16_ratio;

int w2v_precision_bf16_pays_off(double *ratio)
{
	if (!bf16_measured) {
		bf16_ratio = cpuprobe_bf16_speed();
		bf16_measured = 1;
	}
	if (ratio)
		*ratio = bf16_ratio;
	if (ops_has_amx())
		return 1;
	return bf16_ratio >= 0.9;
}

/* The measured verdict, computed once per process (the probes take ~80 ms
 * and the answer cannot change while it runs). */
static w2v_precision auto_choice;
static char auto_why[160];

w2v_precision w2v_precision_resolve(w2v_precision p, char *why, size_t whylen)
{
	if (p != W2V_PREC_AUTO) {
		if (why && whylen)
			snprintf(why, whylen, "asked for");
		return p;
	}
	if (auto_choice == W2V_PREC_AUTO) {
		double i8 = cpuprobe_int8_speed(), bf = 0;
		if (i8 >= 2.0) {
			auto_choice = W2V_PREC_INT8;
			snprintf(auto_why, sizeof auto_why, "int8 dot products at %.1fx the fp32 FMA rate (VNNI)", i8);
		} else if (w2v_precision_bf16_pays_off(&bf)) {
			auto_choice = W2V_PREC_BF16;
			snprintf(auto_why, sizeof auto_why, "bf16 dot products at %.2fx the fp32 FMA rate", bf);
		} else {
			auto_choice = W2V_PREC_FP32;
			if (i8 < 0)
				snprintf(auto_why, sizeof auto_why, "no AVX-512: int8 and bf16 would be emulated");
			else
				snprintf(auto_why, sizeof auto_why,
				         "int8 at %.1fx and bf16 at %.2fx the fp32 FMA rate: neither pays", i8, bf);
		}
	}
	if (why && whylen)
		snprintf(why, whylen, "%s", auto_why);
	return auto_choice;
}

/* int8's convolutions run in bf16 where bf16 pays off: they are not
 * quantized (as PyTorch's quantize_dynamic leaves convolutions), and in
 * fp32 they took over a third of an int8 forward (bench/RESULTS.md). */
int w2v_precision_flags(w2v_precision p)
{
	if (p == W2V_PREC_INT8)
		return W2V_FWD_INT8 | (w2v_precision_bf16_pays_off(NULL) ? W2V_FWD_CONV_BF16 : 0);
	return p == W2V_PREC_BF16 ? W2V_FWD_BF16 : 0;
}
