/*
 * Shared by the ML-KEM fuzz targets: the libFuzzer entry point prototype,
 * a hard failure that libFuzzer (and the replay driver) report with the
 * input, and backend selection from an input bit.
 */
#ifndef PQTLS_FUZZ_COMMON_H
#define PQTLS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pqtls/mlkem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                             \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* Use AVX2 when asked and available, else portable; returns the one set. */
static inline pqt_backend fuzz_use_backend(int want_avx2)
{
    pqt_backend b = (want_avx2 && pqt_backend_available(PQT_BACKEND_AVX2)) ? PQT_BACKEND_AVX2
                                                                           : PQT_BACKEND_PORTABLE;
    FUZZ_CHECK(pqt_mlkem_set_backend(b) == 0);
    return b;
}

/* The other backend when this build and CPU have two, else b itself. */
static inline pqt_backend fuzz_other_backend(pqt_backend b)
{
    if (!pqt_backend_available(PQT_BACKEND_AVX2)) {
        return b;
    }
    return b == PQT_BACKEND_AVX2 ? PQT_BACKEND_PORTABLE : PQT_BACKEND_AVX2;
}

static inline int fuzz_all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

#endif
