/*
 * Run-time detection of the x86-64 features the AVX2 ML-KEM backend uses.
 * This file is compiled without -mavx2: it must run on every x86-64 CPU.
 *
 * AVX2 is usable only when the CPU has it (CPUID.(EAX=7,ECX=0):EBX bit 5)
 * and the OS saves the YMM registers on context switch: CPUID.1:ECX.OSXSAVE
 * set and XCR0 bits 1 (SSE) and 2 (AVX) both set (Intel SDM Vol. 1 §14.3).
 * The backend also uses BMI2 (pext) and POPCNT.
 *
 * Keccak (crypto/keccak/keccak_impl.h) adds two optional paths: the scalar
 * permutation with BMI1 ANDN and BMI2 RORX (CPUID.(EAX=7,ECX=0):EBX bits 3
 * and 8), and a four-way permutation with AVX-512F + AVX-512VL instructions
 * on ymm registers (EBX bits 16 and 31). EVEX code also needs the OS to save
 * the opmask and ZMM state: XCR0 bits 5, 6 and 7 besides 1 and 2 (SDM Vol. 1
 * §15.2).
 *
 * Detection runs once per feature; pqt_cpu_disable_features (mlkem.h) then
 * masks the result, so a caller can turn a feature off at any time without
 * a second CPUID. No environment is read here: the `pqtls` command maps
 * PQT_DISABLE_AVX512 onto PQT_CPU_AVX512.
 */
#include <cpuid.h>
#include <stdatomic.h>
#include <stdint.h>

#include "keccak/keccak_impl.h"
#include "mlkem/impl.h"
#include "pqtls/mlkem.h"

static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    /* XGETBV with ECX = 0 reads XCR0; inline asm so this file needs no -mxsave. */
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int detect_avx2(void)
{
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid_max(0, 0) < 7) {
        return 0;
    }
    __cpuid(1, eax, ebx, ecx, edx);
    const unsigned osxsave = 1u << 27, avx = 1u << 28, popcnt = 1u << 23;
    if ((ecx & (osxsave | avx | popcnt)) != (osxsave | avx | popcnt)) {
        return 0;
    }
    if ((read_xcr0() & 6) != 6) {
        return 0;
    }
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned avx2 = 1u << 5, bmi2 = 1u << 8;
    return (ebx & (avx2 | bmi2)) == (avx2 | bmi2);
}

/* 0 = not probed yet, 1 = no, 2 = yes. Every thread computes the same value,
 * so concurrent first calls are harmless; the atomic keeps it race-free. */
static _Atomic int avx2_state;

int pqt_cpu_has_avx2(void)
{
    int s = atomic_load_explicit(&avx2_state, memory_order_relaxed);
    if (s == 0) {
        s = detect_avx2() ? 2 : 1;
        atomic_store_explicit(&avx2_state, s, memory_order_relaxed);
    }
    return s == 2 && (pqt_cpu_disabled_features() & PQT_CPU_AVX2) == 0;
}

static int detect_bmi(void)
{
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid_max(0, 0) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned bmi1 = 1u << 3, bmi2 = 1u << 8;
    return (ebx & (bmi1 | bmi2)) == (bmi1 | bmi2);
}

static int detect_avx512vl(void)
{
    unsigned eax, ebx, ecx, edx;
    /* detect_avx2 checked OSXSAVE and CPUID leaf 7 exists. */
    if (!detect_avx2()) {
        return 0;
    }
    const uint64_t xmm_ymm_opmask_zmm = 0xE6;
    if ((read_xcr0() & xmm_ymm_opmask_zmm) != xmm_ymm_opmask_zmm) {
        return 0;
    }
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned avx512f = 1u << 16, avx512vl = 1u << 31;
    return (ebx & (avx512f | avx512vl)) == (avx512f | avx512vl);
}

static _Atomic int bmi_state, avx512vl_state;

int pqt_cpu_has_bmi(void)
{
    int s = atomic_load_explicit(&bmi_state, memory_order_relaxed);
    if (s == 0) {
        s = detect_bmi() ? 2 : 1;
        atomic_store_explicit(&bmi_state, s, memory_order_relaxed);
    }
    return s == 2 && (pqt_cpu_disabled_features() & PQT_CPU_BMI) == 0;
}

int pqt_cpu_has_avx512vl(void)
{
    int s = atomic_load_explicit(&avx512vl_state, memory_order_relaxed);
    if (s == 0) {
        s = detect_avx512vl() ? 2 : 1;
        atomic_store_explicit(&avx512vl_state, s, memory_order_relaxed);
    }
    return s == 2 && (pqt_cpu_disabled_features() & PQT_CPU_AVX512) == 0;
}
