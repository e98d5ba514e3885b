/*
 * Which Keccak-f[1600] implementation runs, internal to the crypto core.
 *
 * pqt_keccakf1600 (fips202.h) and the AVX2 backend's four-way permutation
 * pick the fastest form this CPU runs, once, from CPUID:
 *   portable  lane-complemented C, every CPU and every build;
 *   bmi       the same rounds with ANDN/RORX (x86-64 BMI1 + BMI2);
 *   avx512    four-way permutation in ymm registers with VPROLQ/VPTERNLOGQ
 *             (AVX-512F + AVX-512VL, and the OS saving opmask/ZMM state).
 * Valgrind's synthetic CPUID hides AVX-512 (and XCR0 reports no ZMM state),
 * so memcheck and callgrind runs take the AVX2 four-way path by themselves;
 * pqt_cpu_disable_features(PQT_CPU_AVX512) (mlkem.h) does the same on real
 * hardware; the `pqtls` command calls it for PQT_DISABLE_AVX512=1.
 */
#ifndef PQT_CRYPTO_KECCAK_IMPL_H
#define PQT_CRYPTO_KECCAK_IMPL_H

#include <stdint.h>

typedef enum {
    PQT_KECCAK_PORTABLE = 0,
    PQT_KECCAK_BMI = 1,
    PQT_KECCAK_AVX512 = 2,
} pqt_keccak_impl;

/*
 * Cap the implementations used (default PQT_KECCAK_AVX512: no cap), so tests
 * can compare every path on one machine. Process-wide; set it before
 * hashing, not while other threads hash.
 */
void pqt_keccak_set_max_impl(pqt_keccak_impl max);
pqt_keccak_impl pqt_keccak_max_impl(void);

/* The scalar permutation in its portable form, whatever the CPU. */
void pqt_keccakf1600_portable(uint64_t s[25]);

#ifdef PQT_CONFIG_X86_64
/* keccak_bmi.c, compiled with -mbmi -mbmi2: only if pqt_cpu_has_bmi(). */
void pqt_keccakf1600_bmi(uint64_t s[25]);
/* cpu_x86_64.c */
int pqt_cpu_has_bmi(void);
int pqt_cpu_has_avx512vl(void);
#endif

#endif
