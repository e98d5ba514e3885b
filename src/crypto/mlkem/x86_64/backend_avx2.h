/*
 * The x86-64 AVX2 backend of ML-KEM, as the KEM template sees it: exactly
 * the native backend contract of mlkem/backend.h (its primitives, plus the
 * three optional combined forms), nothing else. The definitions, the
 * representation (transposed NTT order) and the bounds each one delivers
 * are in backend_avx2.c, compiled with -mavx2 -mbmi2 -mpopcnt; callers run
 * them only when dispatch.c chose this backend (pqt_cpu_has_avx2()).
 *
 * ML-KEM-1024's du = 11 / dv = 5 compression is the portable scalar code of
 * portable/compress.h, as the contract allows.
 */
#ifndef PQT_CRYPTO_MLKEM_X86_64_BACKEND_AVX2_H
#define PQT_CRYPTO_MLKEM_X86_64_BACKEND_AVX2_H

#define PQT_BACKEND_SUFFIX avx2
/* Decapsulation's H(ek) and J(z || c) share 4-way permutations. */
#define PQT_BACKEND_HAS_HASH_HJ 1
/* Encapsulation's A-hat^T and H(ek) share 4-way permutations. */
#define PQT_BACKEND_HAS_GEN_MATRIX_HASH 1
/* Key generation's A-hat, s and e in one four-lane schedule. */
#define PQT_BACKEND_HAS_GEN_MATRIX_NOISE 1

#include "mlkem/backend.h"
#include "mlkem/portable/compress.h"

#endif
