/*
 * cpuprobe.c — measured FMA and bf16 dot-product throughput (cpuprobe.h).
 *
 * Each probe runs 16 independent accumulator chains, enough to hide the
 * instructions' latency on any current core, so the time measures the
 * ports' throughput.  The empty asm keeps every chain in a register and
 * stops the compiler from folding the loop.  The functions carry their own
 * target attributes and are only called after __builtin_cpu_supports says
 * the instructions exist, so the library still builds and runs for any
 * x86-64.
 */
#include "model/cpuprobe.h"

#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include "base/banned.h"
#define CPUPROBE_X86 1
#endif

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#ifdef CPUPROBE_X86
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define ZERO(i) __m512 c##i = _mm512_setzero_ps();
#define SUM(i) s = _mm512_add_ps(s, c##i);

__attribute__((target("avx512f"))) static float fma_chains(long n)
{
	__m512 a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(1e-9f);
	CHAINS(ZERO)
	for (long r = 0; r < n; r++) {
#define FMA(i) c##i = _mm512_fmadd_ps(a, b, c##i); __asm__ volatile("" : "+v"(c##i));
		CHAINS(FMA)
	}
	__m512 s = _mm512_setzero_ps();
	CHAINS(SUM)
	return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f,avx512bf16"))) static float dpbf16_chains(long n)
{
	/* 1.0 and 2^-31 in bf16: the sums stay finite and normal */
	__m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3000);
	CHAINS(ZERO)
	for (long r = 0; r < n; r++) {
#define DOT(i) c##i = _mm512_dpbf16_ps(c##i, a, b); __asm__ volatile("" : "+v"(c##i));
		CHAINS(DOT)
	}
	__m512 s = _mm512_setzero_ps();
	CHAINS(SUM)
	return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f,avx512vnni"))) static float dpbusd_chains(long n)
{
	/* u8 1 x s8 0: the accumulators stay 0, the instruction still retires */
	__m512i a = _mm512_set1_epi8(1), b = _mm512_setzero_si512();
#define IZERO(i) __m512i c##i = _mm512_setzero_si512();
	CHAINS(IZERO)
	for (long r = 0; r < n; r++) {
#define IDOT(i) c##i = _mm512_dpbusd_epi32(c##i, a, b); __asm__ volatile("" : "+v"(c##i));
		CHAINS(IDOT)
	}
	__m512i s = _mm512_setzero_si512();
#define ISUM(i) s = _mm512_add_epi32(s, c##i);
	CHAINS(ISUM)
	return (float)_mm512_reduce_add_epi32(s);
}
#endif

static float run_chains(int kind, long n)
{
#ifdef CPUPROBE_X86
	switch (kind) {
	case CPUPROBE_BF16_DOT: return dpbf16_chains(n);
	case CPUPROBE_INT8_DOT: return dpbusd_chains(n);
	default: return fma_chains(n);
	}
#else
	(void)kind;
	(void)n;
	return 0;
#endif
}

double cpuprobe_gflops(int kind, double seconds)
{
#ifdef CPUPROBE_X86
	if (!__builtin_cpu_supports("avx512f"))
		return 0;
	if (kind == CPUPROBE_BF16_DOT && !__builtin_cpu_supports("avx512bf16"))
		return 0;
	if (kind == CPUPROBE_INT8_DOT && !__builtin_cpu_supports("avx512vnni"))
		return 0;
	if (kind != CPUPROBE_FP32_FMA && kind != CPUPROBE_BF16_DOT && kind != CPUPROBE_INT8_DOT)
		return 0;
	if (!(seconds >= 1e-3))
		seconds = 1e-3;
	if (seconds > 1)
		seconds = 1;
	double flop_per_iter = 16.0 * (kind == CPUPROBE_INT8_DOT ? 128 : kind == CPUPROBE_BF16_DOT ? 64 : 32);
	volatile float sink = 0;
	/* calibrate on a short run (which also wakes the 512-bit units), then
	 * time a run sized to the request */
	long n = 10000;
	double t0 = now();
	sink += run_chains(kind, n);
	double dt = now() - t0;
	if (dt > 0)
		n = (long)(n * seconds / dt);
	if (n < 1000)
		n = 1000;
	t0 = now();
	sink += run_chains(kind, n);
	dt = now() - t0;
	(void)sink;
	return dt > 0 ? flop_per_iter * n / dt / 1e9 : 0;
#else
	(void)kind;
	(void)seconds;
	return 0;
#endif
}

double cpuprobe_bf16_speed(void)
{
	double f = cpuprobe_gflops(CPUPROBE_FP32_FMA, 0.02);
	if (f <= 0)
		return -1;
	return cpuprobe_gflops(CPUPROBE_BF16_DOT, 0.02) / f;
}

double cpuprobe_int8_speed(void)
{
	double f = cpuprobe_gflops(CPUPROBE_FP32_FMA, 0.02);
	if (f <= 0)
		return -1;
	return cpuprobe_gflops(CPUPROBE_INT8_DOT, 0.02) / f;
}
