/*
 * A deterministic generator for test inputs (xoroshiro128+), so that a
 * failure reproduces. The including test defines TEST_RNG_SEED as two
 * 64-bit initialisers first. Never for keys anyone uses.
 */
#ifndef PQT_TESTS_RNG_H
#define PQT_TESTS_RNG_H

#include <stddef.h>
#include <stdint.h>

static uint64_t rng_state[2] = {TEST_RNG_SEED};

static uint64_t rng_next(void)
{
    uint64_t s0 = rng_state[0], s1 = rng_state[1], r = s0 + s1;
    s1 ^= s0;
    rng_state[0] = ((s0 << 55) | (s0 >> 9)) ^ s1 ^ (s1 << 14);
    rng_state[1] = (s1 << 36) | (s1 >> 28);
    return r;
}

static void rng_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(rng_next() >> 32);
    }
}

#endif
