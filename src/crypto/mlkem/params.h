/*
 * ML-KEM constants (FIPS 203 §8, Table 2). The per-parameter-set values are
 * selected by PQT_MLKEM_K, which each compilation unit of the KEM template
 * defines before including this header.
 */
#ifndef PQT_CRYPTO_MLKEM_PARAMS_H
#define PQT_CRYPTO_MLKEM_PARAMS_H

#include <stdint.h>

#define MLKEM_N 256
#define MLKEM_Q 3329
#define MLKEM_SYMBYTES 32
#define MLKEM_POLYBYTES 384 /* ByteEncode12 of one polynomial */

/* A polynomial; 32-byte alignment lets the AVX2 backend use aligned loads. */
typedef struct {
    int16_t c[MLKEM_N];
} __attribute__((aligned(32))) pqt_poly;

#endif

#ifdef PQT_MLKEM_K
#ifndef PQT_CRYPTO_MLKEM_PARAMS_K_H
#define PQT_CRYPTO_MLKEM_PARAMS_K_H

#define MLKEM_K PQT_MLKEM_K
#if MLKEM_K == 2
#define MLKEM_ETA1 3
#define MLKEM_DU 10
#define MLKEM_DV 4
#define MLKEM_LEVEL 512
#elif MLKEM_K == 3
#define MLKEM_ETA1 2
#define MLKEM_DU 10
#define MLKEM_DV 4
#define MLKEM_LEVEL 768
#elif MLKEM_K == 4
#define MLKEM_ETA1 2
#define MLKEM_DU 11
#define MLKEM_DV 5
#define MLKEM_LEVEL 1024
#else
#error "PQT_MLKEM_K must be 2, 3 or 4"
#endif
#define MLKEM_ETA2 2

#define MLKEM_POLYVECBYTES (MLKEM_K * MLKEM_POLYBYTES)
#define MLKEM_POLYCOMP_DU (32 * MLKEM_DU)
#define MLKEM_POLYCOMP_DV (32 * MLKEM_DV)
#define MLKEM_EK_BYTES (MLKEM_POLYVECBYTES + MLKEM_SYMBYTES)
#define MLKEM_DK_BYTES (2 * MLKEM_POLYVECBYTES + 3 * MLKEM_SYMBYTES)
#define MLKEM_CT_BYTES (MLKEM_K * MLKEM_POLYCOMP_DU + MLKEM_POLYCOMP_DV)

#endif
#endif
