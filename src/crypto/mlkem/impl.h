/*
 * Internal: the per-backend ML-KEM entry points that kem_impl.h generates
 * and dispatch.c chooses between. Inputs are already length-checked.
 * keygen_eph / decaps_eph: the ephemeral key pairs of mlkem.h; at is the
 * kept matrix A-hat^T, k * k polynomials of 512 bytes, 32-byte aligned,
 * in the layout of the backend that made it.
 */
#ifndef PQT_CRYPTO_MLKEM_IMPL_H
#define PQT_CRYPTO_MLKEM_IMPL_H

#include <stdint.h>

#include "pqtls/err.h"

#define PQT_MLKEM_IMPL_DECLARE(N, B, EK, DK, CT)                                                 \
    int pqt_mlkem##N##_##B##_keygen_derand(uint8_t ek[EK], uint8_t dk[DK],                       \
                                           const uint8_t seed[64]);                              \
    int pqt_mlkem##N##_##B##_encaps_derand(uint8_t ct[CT], uint8_t ss[32], const uint8_t ek[EK], \
                                           const uint8_t m[32]);                                 \
    int pqt_mlkem##N##_##B##_decaps(uint8_t ss[32], const uint8_t ct[CT], const uint8_t dk[DK]); \
    int pqt_mlkem##N##_##B##_check_ek(const uint8_t ek[EK]);                                     \
    int pqt_mlkem##N##_##B##_check_dk(const uint8_t dk[DK]);                                     \
    int pqt_mlkem##N##_##B##_keygen_eph(uint8_t ek[EK], uint8_t dk[DK], void *at,                \
                                        const uint8_t seed[64]);                                 \
    int pqt_mlkem##N##_##B##_decaps_eph(uint8_t ss[32], const uint8_t ct[CT],                    \
                                        const uint8_t dk[DK], const void *at);

#define PQT_MLKEM_IMPL_DECLARE_ALL(B)                \
    PQT_MLKEM_IMPL_DECLARE(512, B, 800, 1632, 768)   \
    PQT_MLKEM_IMPL_DECLARE(768, B, 1184, 2400, 1088) \
    PQT_MLKEM_IMPL_DECLARE(1024, B, 1568, 3168, 1568)

PQT_MLKEM_IMPL_DECLARE_ALL(portable)
#ifdef PQT_CONFIG_X86_64
PQT_MLKEM_IMPL_DECLARE_ALL(avx2)
/* 1 when the CPU and OS support AVX2 (CPUID + XGETBV). */
int pqt_cpu_has_avx2(void);
#endif

#endif
