/*
 * SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * INDOCRYPT 2012) with the number of compression and finalization rounds
 * as parameters: SipHash-2-4 is the paper's PRF and the one its test
 * vectors are for; the flow table (engine.c) and the aggregates' maps
 * (agg.c) use SipHash-1-3, the variant hash tables use (Python, Rust's
 * HashMap, the Linux kernel's hsiphash), since it only has to keep bucket
 * indices unpredictable to someone who does not know the per-run key.
 * Internal, header-only so the unit test calls the same code the tables do.
 */
#ifndef PQTLS_OBS_SIPHASH_H
#define PQTLS_OBS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define OBS_SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline uint64_t obs_sip_load64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* The paper's SipRound, rounds times over v[0..3]. */
static inline void obs_sip_rounds(uint64_t v[4], int rounds)
{
    for (int r = 0; r < rounds; r++) {
        v[0] += v[1];
        v[1] = OBS_SIP_ROTL(v[1], 13);
        v[1] ^= v[0];
        v[0] = OBS_SIP_ROTL(v[0], 32);
        v[2] += v[3];
        v[3] = OBS_SIP_ROTL(v[3], 16);
        v[3] ^= v[2];
        v[0] += v[3];
        v[3] = OBS_SIP_ROTL(v[3], 21);
        v[3] ^= v[0];
        v[2] += v[1];
        v[1] = OBS_SIP_ROTL(v[1], 17);
        v[1] ^= v[2];
        v[2] = OBS_SIP_ROTL(v[2], 32);
    }
}

/*
 * SipHash-c-d of n bytes at p under a 128-bit key (k0 = the first 8 key
 * bytes little-endian, k1 the last 8, as in the paper); the 64-bit result
 * is the paper's output read as a little-endian integer.
 */
static inline uint64_t obs_siphash(const uint8_t key[16], const uint8_t *p, size_t n, int c, int d)
{
    uint64_t k0 = obs_sip_load64(key), k1 = obs_sip_load64(key + 8);
    /* §2: "somepseudorandomlygeneratedbytes" */
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
                     k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
    size_t whole = n - n % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = obs_sip_load64(p + i);
        v[3] ^= m;
        obs_sip_rounds(v, c);
        v[0] ^= m;
    }
    /* §2: the last block holds the remaining bytes and, in its top byte,
     * the message length modulo 256. */
    uint64_t b = (uint64_t)(n & 0xff) << 56;
    for (size_t i = 0; i < n % 8; i++) {
        b |= (uint64_t)p[whole + i] << (8 * i);
    }
    v[3] ^= b;
    obs_sip_rounds(v, c);
    v[0] ^= b;
    v[2] ^= 0xff;
    obs_sip_rounds(v, d);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/*
 * SipHash-1-3 of n 64-bit words, the same value obs_siphash13 gives for
 * their 8n little-endian bytes, for callers that have words already (the
 * flow table: no byte loads, no tail). k holds the key as k0, k1.
 */
static inline uint64_t obs_siphash13_words(const uint64_t k[2], const uint64_t *m, size_t n)
{
    uint64_t v[4] = {k[0] ^ 0x736f6d6570736575ull, k[1] ^ 0x646f72616e646f6dull,
                     k[0] ^ 0x6c7967656e657261ull, k[1] ^ 0x7465646279746573ull};
    for (size_t i = 0; i < n; i++) {
        v[3] ^= m[i];
        obs_sip_rounds(v, 1);
        v[0] ^= m[i];
    }
    uint64_t b = (uint64_t)((8 * n) & 0xff) << 56;
    v[3] ^= b;
    obs_sip_rounds(v, 1);
    v[0] ^= b;
    v[2] ^= 0xff;
    obs_sip_rounds(v, 3);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static inline uint64_t obs_siphash13(const uint8_t key[16], const uint8_t *p, size_t n)
{
    return obs_siphash(key, p, n, 1, 3);
}

static inline uint64_t obs_siphash24(const uint8_t key[16], const uint8_t *p, size_t n)
{
    return obs_siphash(key, p, n, 2, 4);
}

#endif
