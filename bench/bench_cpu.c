/* Tick counter, clock and CPU description for the benchmarks. */
#define _POSIX_C_SOURCE 200809L

#include "bench_cpu.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BENCH_HAVE_RDTSC 1
#include <cpuid.h>
#include <x86intrin.h>
#endif

uint64_t pqt_bench_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t pqt_bench_ticks(void)
{
#ifdef BENCH_HAVE_RDTSC
    /* lfence before: earlier instructions have retired; after: later ones
     * do not start before the counter is read (Intel SDM, RDTSC). */
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
#else
    return pqt_bench_ns();
#endif
}

static void read_model(char *out, size_t cap)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");

    snprintf(out, cap, "unknown");
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *v = strchr(line, ':');
            if (v != NULL) {
                v++;
                while (*v == ' ' || *v == '\t') {
                    v++;
                }
                snprintf(out, cap, "%s", v);
                out[strcspn(out, "\r\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

static void read_features(char *out, size_t cap)
{
    out[0] = '\0';
#ifdef BENCH_HAVE_RDTSC
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        /* CPUID.(EAX=7,ECX=0):EBX bit 5 AVX2, bit 8 BMI2, bit 16 AVX512F */
        static const struct {
            unsigned bit;
            const char *name;
        } bits[] = {{5, "avx2"}, {8, "bmi2"}, {16, "avx512f"}};
        for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
            if (b & (1u << bits[i].bit)) {
                size_t used = strlen(out);
                snprintf(out + used, cap - used, "%s%s", used ? " " : "", bits[i].name);
            }
        }
    }
#endif
    if (out[0] == '\0') {
        snprintf(out, cap, "none");
    }
}

void pqt_bench_cpu_describe(pqt_bench_cpu *cpu)
{
    memset(cpu, 0, sizeof(*cpu));
    read_model(cpu->model, sizeof(cpu->model));
    read_features(cpu->features, sizeof(cpu->features));
#ifdef BENCH_HAVE_RDTSC
    cpu->tick_source = "rdtsc";
    uint64_t n0 = pqt_bench_ns(), t0 = pqt_bench_ticks(), n1, t1;
    do {
        n1 = pqt_bench_ns();
    } while (n1 - n0 < 50000000u);
    t1 = pqt_bench_ticks();
    cpu->tick_mhz = (double)(t1 - t0) * 1000.0 / (double)(n1 - n0);
#else
    cpu->tick_source = "clock_gettime_ns";
    cpu->tick_mhz = 1000.0;
#endif
}
