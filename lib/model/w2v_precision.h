/*
 * w2v_precision.h — the arithmetic an inference runs in (`--precision` of
 * align, transcribe and `train eval`): fp32, bf16 (bf16 matmul inputs, fp32
 * accumulation), int8 (dynamic int8 linear layers, ops.h) or auto, which
 * picks the fastest of them this CPU runs well, measured by cpuprobe.h.
 *
 * Why measured: feature flags do not say speed.  AVX512_BF16 Xeons without
 * AMX run vdpbf16ps at half their FMA rate (bf16 slower than fp32), while
 * Zen 4 runs it at about twice; VNNI int8 dot products run at about four
 * times the FMA rate on every CPU that has them.
 */
#ifndef ACCENT_W2V_PRECISION_H
#define ACCENT_W2V_PRECISION_H

#include <stddef.h>

typedef enum {
	W2V_PREC_AUTO = 0,
	W2V_PREC_FP32,
	W2V_PREC_BF16,
	W2V_PREC_INT8,
} w2v_precision;

/* "auto", "fp32", "bf16" or "int8" (case-sensitive) into *p; ACC_EINVAL
 * with a hint listing the names otherwise. */
int w2v_precision_parse(const char *s, w2v_precision *p);

/* The name above ("auto" for W2V_PREC_AUTO). */
const char *w2v_precision_name(w2v_precision p);

/* Whether bf16 matmuls can be expected to run faster than fp32 ones here:
 * 1 when oneDNN's effective ISA has AMX (ops_has_amx), else 1 when the
 * measured bf16 dot-product rate is at least 0.9 of the fp32 FMA rate
 * (cpuprobe.h; about 40 ms, on the first call only: later calls return
 * the same verdict and ratio).  *ratio (may be NULL) gets that measured
 * ratio, or 0 without AVX512_BF16 and -1 without AVX-512 (bf16 is emulated
 * there). */
int w2v_precision_bf16_pays_off(double *ratio);

/* The precision to run: p itself unless p is auto, which becomes int8 where
 * VNNI int8 dot products run at least twice the fp32 FMA rate (oneDNN's int8
 * matmul then beats fp32), else bf16 where w2v_precision_bf16_pays_off(),
 * else fp32.
 * Measures the CPU on first use (about 80 ms) and remembers the verdict.
 * why (may be NULL) gets one line saying what was measured, e.g.
 * "int8 dot products at 4.0x the fp32 FMA rate (VNNI)". */
w2v_precision w2v_precision_resolve(w2v_precision p, char *why, size_t whylen);

/* The W2V_FWD_* flags of a resolved precision (0 for fp32): int8 adds
 * W2V_FWD_CONV_BF16 where w2v_precision_bf16_pays_off(). */
int w2v_precision_flags(w2v_precision p);

#endif
