/*
 * cpuprobe.h — what this CPU's vector units deliver, measured rather than
 * inferred from feature flags: the throughput of 512-bit fp32 FMAs and of
 * bf16 dot products on the calling thread.  AVX512_BF16 alone says nothing
 * about speed: on Xeons without AMX vdpbf16ps retires at half the FMA rate,
 * so bf16 matmuls are slower than fp32 there; on others it is as fast or
 * faster.  The int8 probe (VNNI) serves `--precision auto`.  Used by `train` to warn before a slower bf16 run and by
 * bench_infer to print the ceilings next to the matmul figures.
 */
#ifndef ACCENT_CPUPROBE_H
#define ACCENT_CPUPROBE_H

enum { CPUPROBE_FP32_FMA = 0, CPUPROBE_BF16_DOT = 1, CPUPROBE_INT8_DOT = 2 };

/* GFLOP/s (GOP/s for int8) of the calling thread running independent chains
 * of kind's instruction (vfmadd231ps: 32 FLOP each; vdpbf16ps: 64;
 * vpdpbusd: 128 int8 OP) for about `seconds` (clamped to 1 ms .. 1 s).  0
 * when the CPU lacks the instruction (no AVX-512, AVX512_BF16 or
 * AVX512_VNNI). */
double cpuprobe_gflops(int kind, double seconds);

/* bf16 dot-product FLOP/s over fp32 FMA FLOP/s on the calling thread
 * (about 0.5 on AVX512_BF16 Xeons without AMX, 1 or more where bf16 pays
 * off), measured in about 40 ms.  0 when the CPU has no AVX512_BF16 (oneDNN
 * then emulates bf16 matmuls, slower still), -1 when it has no AVX-512. */
double cpuprobe_bf16_speed(void);

/* int8 dot-product OP/s (vpdpbusd, the VNNI instruction oneDNN's int8
 * matmuls run on) over fp32 FMA FLOP/s on the calling thread, in about
 * 40 ms: about 4 where VNNI retires at the FMA rate.  0 without
 * AVX512_VNNI (oneDNN then runs int8 on slower AVX-512BW sequences), -1
 * without AVX-512. */
double cpuprobe_int8_speed(void);

#endif
