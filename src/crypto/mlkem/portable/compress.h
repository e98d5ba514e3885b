/*
 * Scalar compression and decompression (FIPS 203 §4.2.1) shared by the
 * backends: the per-coefficient helpers, and the packed forms that only
 * ML-KEM-1024 uses (du = 11, dv = 5), which no backend vectorises.
 */
#ifndef PQT_CRYPTO_MLKEM_PORTABLE_COMPRESS_H
#define PQT_CRYPTO_MLKEM_PORTABLE_COMPRESS_H

#include <stdint.h>

#include "mlkem/params.h"

/*
 * Compress_d(x) = round(2^d x / q) mod 2^d for x in [0, q), by a multiply
 * and shift instead of a division (a variable-time instruction on some CPUs).
 * Constants checked for every x by tests/unit/test_mlkem_arith.
 */
static inline uint32_t compress10(int16_t x)
{
    return (uint32_t)(((((uint64_t)(uint16_t)x << 10) + 1665) * 1290167) >> 32) & 0x3FF;
}
static inline uint32_t compress11(int16_t x)
{
    return (uint32_t)(((((uint64_t)(uint16_t)x << 11) + 1664) * 645084) >> 31) & 0x7FF;
}
static inline uint32_t compress4(int16_t x)
{
    return (uint32_t)(((((uint32_t)(uint16_t)x << 4) + 1665) * 80635) >> 28) & 0xF;
}
static inline uint32_t compress5(int16_t x)
{
    return (uint32_t)(((((uint32_t)(uint16_t)x << 5) + 1664) * 40318) >> 27) & 0x1F;
}
static inline int16_t decompress(uint32_t y, unsigned d)
{
    return (int16_t)((y * MLKEM_Q + (1u << (d - 1))) >> d);
}

static inline void poly_compress11(uint8_t r[352], const pqt_poly *a)
{
    for (unsigned i = 0; i < 32; i++) {
        uint64_t acc = 0;
        uint8_t *o = r + 11 * i;
        /* 8 values of 11 bits = 88 bits: low 64 in acc, then 24 more. */
        uint32_t t[8];
        for (unsigned j = 0; j < 8; j++) {
            t[j] = compress11(a->c[8 * i + j]);
        }
        for (unsigned j = 0; j < 5; j++) {
            acc |= (uint64_t)t[j] << (11 * j); /* bits 0..54 */
        }
        acc |= (uint64_t)t[5] << 55; /* bits 55..63 (9 of 11) */
        for (unsigned j = 0; j < 8; j++) {
            o[j] = (uint8_t)(acc >> (8 * j));
        }
        uint32_t hi = (t[5] >> 9) | (t[6] << 2) | (t[7] << 13); /* bits 64..87 */
        o[8] = (uint8_t)hi;
        o[9] = (uint8_t)(hi >> 8);
        o[10] = (uint8_t)(hi >> 16);
    }
}

static inline void poly_decompress11(pqt_poly *r, const uint8_t a[352])
{
    for (unsigned i = 0; i < 32; i++) {
        const uint8_t *b = a + 11 * i;
        uint64_t lo = 0;
        for (unsigned j = 0; j < 8; j++) {
            lo |= (uint64_t)b[j] << (8 * j);
        }
        uint32_t hi = b[8] | ((uint32_t)b[9] << 8) | ((uint32_t)b[10] << 16);
        uint32_t t[8];
        for (unsigned j = 0; j < 5; j++) {
            t[j] = (uint32_t)(lo >> (11 * j)) & 0x7FF;
        }
        t[5] = ((uint32_t)(lo >> 55) | (hi << 9)) & 0x7FF;
        t[6] = (hi >> 2) & 0x7FF;
        t[7] = (hi >> 13) & 0x7FF;
        for (unsigned j = 0; j < 8; j++) {
            r->c[8 * i + j] = decompress(t[j], 11);
        }
    }
}

static inline void poly_compress5(uint8_t r[160], const pqt_poly *a)
{
    for (unsigned i = 0; i < 32; i++) {
        uint64_t acc = 0;
        for (unsigned j = 0; j < 8; j++) {
            acc |= (uint64_t)compress5(a->c[8 * i + j]) << (5 * j);
        }
        for (unsigned j = 0; j < 5; j++) {
            r[5 * i + j] = (uint8_t)(acc >> (8 * j));
        }
    }
}

static inline void poly_decompress5(pqt_poly *r, const uint8_t a[160])
{
    for (unsigned i = 0; i < 32; i++) {
        uint64_t acc = 0;
        for (unsigned j = 0; j < 5; j++) {
            acc |= (uint64_t)a[5 * i + j] << (8 * j);
        }
        for (unsigned j = 0; j < 8; j++) {
            r->c[8 * i + j] = decompress((uint32_t)(acc >> (5 * j)) & 31u, 5);
        }
    }
}

#endif
