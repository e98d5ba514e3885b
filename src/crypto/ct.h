/*
 * Constant-time helpers: the only place that compares or selects on secret
 * data. Everything goes through a value barrier so the compiler cannot turn
 * a mask back into a branch.
 *
 * PQT_CT_SECRET / PQT_CT_PUBLIC mark memory for the constant-time test build
 * (PQT_CONFIG_CT_TEST): there they become valgrind memcheck client requests
 * that make secret bytes "undefined", so any branch or memory index that
 * depends on them is reported. In normal builds they compile to nothing.
 */
#ifndef PQT_CRYPTO_CT_H
#define PQT_CRYPTO_CT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pqtls/common.h"

#ifdef PQT_CONFIG_CT_TEST
#include <valgrind/memcheck.h>
#define PQT_CT_SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PQT_CT_PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define PQT_CT_SECRET(p, n) ((void)(p), (void)(n))
#define PQT_CT_PUBLIC(p, n) ((void)(p), (void)(n))
#endif

/* Hide a value from the optimizer (BearSSL/mlkem-native style barrier). */
static inline uint32_t pqt_ct_barrier_u32(uint32_t x)
{
#if defined(__GNUC__)
    __asm__("" : "+r"(x) : :);
#endif
    return x;
}

static inline uint8_t pqt_ct_barrier_u8(uint8_t x)
{
    return (uint8_t)pqt_ct_barrier_u32(x);
}

/* 0xFF..FF if x != 0, else 0. */
static inline uint32_t pqt_ct_nonzero_mask(uint32_t x)
{
    x = pqt_ct_barrier_u32(x);
    return (uint32_t)(-(int32_t)((x | (0u - x)) >> 31));
}

/* 0 when the n bytes at a and b are equal, 0xFF otherwise. */
static inline uint8_t pqt_ct_neq(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint32_t)(a[i] ^ b[i]);
    }
    return (uint8_t)pqt_ct_nonzero_mask(acc);
}

/* 1 when equal, 0 otherwise; for public results of secret comparisons. */
static inline int pqt_ct_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    return (int)((pqt_ct_neq(a, b, n) ^ 0xFF) & 1);
}

/* r = mask ? x : r for each of n bytes; mask must be 0x00 or 0xFF. */
static inline void pqt_ct_cmov(uint8_t *r, const uint8_t *x, size_t n, uint8_t mask)
{
    mask = pqt_ct_barrier_u8(mask);
    for (size_t i = 0; i < n; i++) {
        r[i] ^= (uint8_t)(mask & (r[i] ^ x[i]));
    }
}

/* mask ? a : b for 32-bit words; mask is all-ones or zero. */
static inline uint32_t pqt_ct_select_u32(uint32_t mask, uint32_t a, uint32_t b)
{
    mask = pqt_ct_barrier_u32(mask);
    return b ^ (mask & (a ^ b));
}

/* Wipe memory that held secrets (pqt_wipe, pqtls/common.h: memset plus an
 * asm statement that claims to read it, so the stores are not dead). */
static inline void pqt_ct_wipe(void *p, size_t n)
{
    pqt_wipe(p, n);
}

#endif
