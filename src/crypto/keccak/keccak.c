/*
 * Keccak-f[1600] (FIPS 202 §3) and the sponge functions built on it.
 *
 * The round code is generated (keccak_f1600_impl.h, gen_f1600.py). Here it
 * is compiled portably, in its lane-complemented form; on x86-64 CPUs with
 * BMI1/BMI2 the plain form compiled with -mbmi -mbmi2 (keccak_bmi.c) runs
 * instead, chosen at run time (keccak_impl.h).
 */
#include <stdatomic.h>
#include <string.h>

#include "ct.h"
#include "keccak/fips202.h"
#include "keccak/keccak_f1600_impl.h"
#include "keccak/keccak_impl.h"

/* Process-wide cap on the implementations used (keccak_impl.h). */
static _Atomic int keccak_max_impl = PQT_KECCAK_AVX512;

void pqt_keccak_set_max_impl(pqt_keccak_impl max)
{
    atomic_store(&keccak_max_impl, (int)max);
}

pqt_keccak_impl pqt_keccak_max_impl(void)
{
    return (pqt_keccak_impl)atomic_load_explicit(&keccak_max_impl, memory_order_relaxed);
}

void pqt_keccakf1600_portable(uint64_t s[25])
{
    keccakf1600_lanecomp(s);
}

/* The choice depends only on the CPU (and the cap), never on the data. */
void pqt_keccakf1600(uint64_t s[25])
{
#ifdef PQT_CONFIG_X86_64
    if (pqt_keccak_max_impl() >= PQT_KECCAK_BMI && pqt_cpu_has_bmi()) {
        pqt_keccakf1600_bmi(s);
        return;
    }
#endif
    pqt_keccakf1600_portable(s);
}

/* Lanes are little-endian (FIPS 202 §B.1); this builds on little-endian hosts
 * and falls back to byte assembly elsewhere. Defined before load64_le, its
 * first user. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PQT_KECCAK_LE 1
#endif

static inline uint64_t load64_le(const uint8_t *p)
{
#ifdef PQT_KECCAK_LE
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
#endif
}

static inline void xor_bytes(uint64_t s[25], unsigned off, const uint8_t *in, size_t len)
{
#ifdef PQT_KECCAK_LE
    uint8_t *sb = (uint8_t *)s + off;
    for (size_t i = 0; i < len; i++) {
        sb[i] ^= in[i];
    }
#else
    for (size_t i = 0; i < len; i++) {
        unsigned pos = off + (unsigned)i;
        s[pos >> 3] ^= (uint64_t)in[i] << (8 * (pos & 7));
    }
#endif
}

static inline void extract_bytes(const uint64_t s[25], unsigned off, uint8_t *out, size_t len)
{
#ifdef PQT_KECCAK_LE
    memcpy(out, (const uint8_t *)s + off, len);
#else
    for (size_t i = 0; i < len; i++) {
        unsigned pos = off + (unsigned)i;
        out[i] = (uint8_t)(s[pos >> 3] >> (8 * (pos & 7)));
    }
#endif
}

static void absorb_full_blocks(uint64_t s[25], unsigned rate, const uint8_t **in, size_t *len)
{
    while (*len >= rate) {
        for (unsigned i = 0; i < rate / 8; i++) {
            s[i] ^= load64_le(*in + 8 * i);
        }
        pqt_keccakf1600(s);
        *in += rate;
        *len -= rate;
    }
}

static void keccak_init(pqt_keccak_ctx *ctx, unsigned rate)
{
    memset(ctx->s, 0, sizeof(ctx->s));
    ctx->pos = 0;
    ctx->rate = rate;
}

void pqt_shake128_init(pqt_keccak_ctx *ctx)
{
    keccak_init(ctx, PQT_SHAKE128_RATE);
}

void pqt_shake256_init(pqt_keccak_ctx *ctx)
{
    keccak_init(ctx, PQT_SHAKE256_RATE);
}

void pqt_keccak_absorb(pqt_keccak_ctx *ctx, const uint8_t *in, size_t len)
{
    if (ctx->pos != 0) {
        size_t take = ctx->rate - ctx->pos;
        if (take > len) {
            take = len;
        }
        xor_bytes(ctx->s, ctx->pos, in, take);
        ctx->pos += (unsigned)take;
        in += take;
        len -= take;
        if (ctx->pos < ctx->rate) {
            return;
        }
        pqt_keccakf1600(ctx->s);
        ctx->pos = 0;
    }
    absorb_full_blocks(ctx->s, ctx->rate, &in, &len);
    xor_bytes(ctx->s, 0, in, len);
    ctx->pos = (unsigned)len;
}

static void keccak_pad(uint64_t s[25], unsigned rate, unsigned pos, uint8_t ds)
{
    s[pos >> 3] ^= (uint64_t)ds << (8 * (pos & 7));
    s[(rate - 1) >> 3] ^= 1ULL << 63;
}

void pqt_shake_finalize(pqt_keccak_ctx *ctx)
{
    keccak_pad(ctx->s, ctx->rate, ctx->pos, 0x1F);
    /* pos == rate means "no bytes left to squeeze in this block". */
    ctx->pos = ctx->rate;
}

void pqt_keccak_squeeze(pqt_keccak_ctx *ctx, uint8_t *out, size_t len)
{
    while (len > 0) {
        if (ctx->pos == ctx->rate) {
            pqt_keccakf1600(ctx->s);
            ctx->pos = 0;
        }
        size_t take = ctx->rate - ctx->pos;
        if (take > len) {
            take = len;
        }
        extract_bytes(ctx->s, ctx->pos, out, take);
        ctx->pos += (unsigned)take;
        out += take;
        len -= take;
    }
}

/* One-shot absorb + pad for the fixed-output functions. */
static void oneshot_absorb(uint64_t s[25], unsigned rate, const uint8_t *in, size_t len, uint8_t ds)
{
    memset(s, 0, 25 * sizeof(uint64_t));
    absorb_full_blocks(s, rate, &in, &len);
    xor_bytes(s, 0, in, len);
    keccak_pad(s, rate, (unsigned)len, ds);
    pqt_keccakf1600(s);
}

void pqt_sha3_256(uint8_t out[32], const uint8_t *in, size_t len)
{
    uint64_t s[25];
    oneshot_absorb(s, PQT_SHA3_256_RATE, in, len, 0x06);
    extract_bytes(s, 0, out, 32);
    pqt_keccak_wipe(s);
}

void pqt_sha3_512(uint8_t out[64], const uint8_t *in, size_t len)
{
    uint64_t s[25];
    oneshot_absorb(s, PQT_SHA3_512_RATE, in, len, 0x06);
    extract_bytes(s, 0, out, 64);
    pqt_keccak_wipe(s);
}

void pqt_shake256(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
    uint64_t s[25];
    oneshot_absorb(s, PQT_SHAKE256_RATE, in, inlen, 0x1F);
    for (;;) {
        size_t take = outlen < PQT_SHAKE256_RATE ? outlen : PQT_SHAKE256_RATE;
        extract_bytes(s, 0, out, take);
        out += take;
        outlen -= take;
        if (outlen == 0) {
            break;
        }
        pqt_keccakf1600(s);
    }
    pqt_keccak_wipe(s);
}

void pqt_shake128_absorb_once(uint64_t s[25], const uint8_t *in, size_t len)
{
    /* Callers absorb at most 34 bytes (rho || i || j); the general path
     * stays correct for any length. */
    memset(s, 0, 25 * sizeof(uint64_t));
    absorb_full_blocks(s, PQT_SHAKE128_RATE, &in, &len);
    xor_bytes(s, 0, in, len);
    keccak_pad(s, PQT_SHAKE128_RATE, (unsigned)len, 0x1F);
}

void pqt_shake128_squeezeblocks(uint8_t *out, size_t nblocks, uint64_t s[25])
{
    while (nblocks-- > 0) {
        pqt_keccakf1600(s);
        extract_bytes(s, 0, out, PQT_SHAKE128_RATE);
        out += PQT_SHAKE128_RATE;
    }
}

void pqt_keccak_wipe(uint64_t s[25])
{
    pqt_ct_wipe(s, 25 * sizeof(uint64_t));
}
