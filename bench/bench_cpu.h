/*
 * Timing and CPU description for the benchmarks: a cycle-ish tick counter
 * (rdtsc fenced with lfence on x86-64, clock_gettime nanoseconds elsewhere),
 * a nanosecond clock, the TSC frequency estimate and the CPU features.
 */
#ifndef PQTLS_BENCH_CPU_H
#define PQTLS_BENCH_CPU_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char model[128];         /* "model name" from /proc/cpuinfo, or "unknown" */
    char features[64];       /* e.g. "avx2 bmi2 avx512f" from CPUID, or "none" */
    const char *tick_source; /* "rdtsc" or "clock_gettime_ns" */
    double tick_mhz;         /* estimated ticks per microsecond */
} pqt_bench_cpu;

/* The tick counter; serialized so the measured code cannot drift across it. */
uint64_t pqt_bench_ticks(void);

/* Monotonic nanoseconds. */
uint64_t pqt_bench_ns(void);

/* Fill *cpu; measures the tick rate over about 50 ms. */
void pqt_bench_cpu_describe(pqt_bench_cpu *cpu);

#endif
