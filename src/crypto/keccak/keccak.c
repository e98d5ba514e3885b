/*
 * Keccak-f[1600] (FIPS 202 §3) and the sponge functions built on it.
 *
 * The permutation keeps the 25 lanes in named locals so the compiler can
 * hold most of them in registers, computing the state plane by plane.
 */
#include <string.h>

#include "crypto/ct.h"
#include "crypto/keccak/fips202.h"

#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

static const uint64_t keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/*
 * One round is theta, rho, pi, chi, iota (FIPS 202 §3.2). Each output plane
 * y is computed from its five pi-preimage lanes b0..b4, so only five
 * temporaries are live besides the state. Two rounds per iteration swap the
 * roles of the a.. and e.. variables instead of copying.
 */
void pqt_keccakf1600(uint64_t s[25])
{
    uint64_t a00 = s[0], a01 = s[1], a02 = s[2], a03 = s[3], a04 = s[4], a05 = s[5], a06 = s[6],
             a07 = s[7], a08 = s[8], a09 = s[9], a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13],
             a14 = s[14], a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19],
             a20 = s[20], a21 = s[21], a22 = s[22], a23 = s[23], a24 = s[24];
    uint64_t e00, e01, e02, e03, e04, e05, e06, e07, e08, e09, e10, e11, e12, e13, e14, e15, e16,
        e17, e18, e19, e20, e21, e22, e23, e24;
    uint64_t b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;

    for (int r = 0; r < 24; r += 2) {
        c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20;
        c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21;
        c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22;
        c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23;
        c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24;
        d0 = c4 ^ ROL64(c1, 1);
        d1 = c0 ^ ROL64(c2, 1);
        d2 = c1 ^ ROL64(c3, 1);
        d3 = c2 ^ ROL64(c4, 1);
        d4 = c3 ^ ROL64(c0, 1);
        b0 = a00 ^ d0;
        b1 = ROL64(a06 ^ d1, 44);
        b2 = ROL64(a12 ^ d2, 43);
        b3 = ROL64(a18 ^ d3, 21);
        b4 = ROL64(a24 ^ d4, 14);
        e00 = b0 ^ (~b1 & b2) ^ keccak_rc[r];
        e01 = b1 ^ (~b2 & b3);
        e02 = b2 ^ (~b3 & b4);
        e03 = b3 ^ (~b4 & b0);
        e04 = b4 ^ (~b0 & b1);
        b0 = ROL64(a03 ^ d3, 28);
        b1 = ROL64(a09 ^ d4, 20);
        b2 = ROL64(a10 ^ d0, 3);
        b3 = ROL64(a16 ^ d1, 45);
        b4 = ROL64(a22 ^ d2, 61);
        e05 = b0 ^ (~b1 & b2);
        e06 = b1 ^ (~b2 & b3);
        e07 = b2 ^ (~b3 & b4);
        e08 = b3 ^ (~b4 & b0);
        e09 = b4 ^ (~b0 & b1);
        b0 = ROL64(a01 ^ d1, 1);
        b1 = ROL64(a07 ^ d2, 6);
        b2 = ROL64(a13 ^ d3, 25);
        b3 = ROL64(a19 ^ d4, 8);
        b4 = ROL64(a20 ^ d0, 18);
        e10 = b0 ^ (~b1 & b2);
        e11 = b1 ^ (~b2 & b3);
        e12 = b2 ^ (~b3 & b4);
        e13 = b3 ^ (~b4 & b0);
        e14 = b4 ^ (~b0 & b1);
        b0 = ROL64(a04 ^ d4, 27);
        b1 = ROL64(a05 ^ d0, 36);
        b2 = ROL64(a11 ^ d1, 10);
        b3 = ROL64(a17 ^ d2, 15);
        b4 = ROL64(a23 ^ d3, 56);
        e15 = b0 ^ (~b1 & b2);
        e16 = b1 ^ (~b2 & b3);
        e17 = b2 ^ (~b3 & b4);
        e18 = b3 ^ (~b4 & b0);
        e19 = b4 ^ (~b0 & b1);
        b0 = ROL64(a02 ^ d2, 62);
        b1 = ROL64(a08 ^ d3, 55);
        b2 = ROL64(a14 ^ d4, 39);
        b3 = ROL64(a15 ^ d0, 41);
        b4 = ROL64(a21 ^ d1, 2);
        e20 = b0 ^ (~b1 & b2);
        e21 = b1 ^ (~b2 & b3);
        e22 = b2 ^ (~b3 & b4);
        e23 = b3 ^ (~b4 & b0);
        e24 = b4 ^ (~b0 & b1);
        c0 = e00 ^ e05 ^ e10 ^ e15 ^ e20;
        c1 = e01 ^ e06 ^ e11 ^ e16 ^ e21;
        c2 = e02 ^ e07 ^ e12 ^ e17 ^ e22;
        c3 = e03 ^ e08 ^ e13 ^ e18 ^ e23;
        c4 = e04 ^ e09 ^ e14 ^ e19 ^ e24;
        d0 = c4 ^ ROL64(c1, 1);
        d1 = c0 ^ ROL64(c2, 1);
        d2 = c1 ^ ROL64(c3, 1);
        d3 = c2 ^ ROL64(c4, 1);
        d4 = c3 ^ ROL64(c0, 1);
        b0 = e00 ^ d0;
        b1 = ROL64(e06 ^ d1, 44);
        b2 = ROL64(e12 ^ d2, 43);
        b3 = ROL64(e18 ^ d3, 21);
        b4 = ROL64(e24 ^ d4, 14);
        a00 = b0 ^ (~b1 & b2) ^ keccak_rc[r + 1];
        a01 = b1 ^ (~b2 & b3);
        a02 = b2 ^ (~b3 & b4);
        a03 = b3 ^ (~b4 & b0);
        a04 = b4 ^ (~b0 & b1);
        b0 = ROL64(e03 ^ d3, 28);
        b1 = ROL64(e09 ^ d4, 20);
        b2 = ROL64(e10 ^ d0, 3);
        b3 = ROL64(e16 ^ d1, 45);
        b4 = ROL64(e22 ^ d2, 61);
        a05 = b0 ^ (~b1 & b2);
        a06 = b1 ^ (~b2 & b3);
        a07 = b2 ^ (~b3 & b4);
        a08 = b3 ^ (~b4 & b0);
        a09 = b4 ^ (~b0 & b1);
        b0 = ROL64(e01 ^ d1, 1);
        b1 = ROL64(e07 ^ d2, 6);
        b2 = ROL64(e13 ^ d3, 25);
        b3 = ROL64(e19 ^ d4, 8);
        b4 = ROL64(e20 ^ d0, 18);
        a10 = b0 ^ (~b1 & b2);
        a11 = b1 ^ (~b2 & b3);
        a12 = b2 ^ (~b3 & b4);
        a13 = b3 ^ (~b4 & b0);
        a14 = b4 ^ (~b0 & b1);
        b0 = ROL64(e04 ^ d4, 27);
        b1 = ROL64(e05 ^ d0, 36);
        b2 = ROL64(e11 ^ d1, 10);
        b3 = ROL64(e17 ^ d2, 15);
        b4 = ROL64(e23 ^ d3, 56);
        a15 = b0 ^ (~b1 & b2);
        a16 = b1 ^ (~b2 & b3);
        a17 = b2 ^ (~b3 & b4);
        a18 = b3 ^ (~b4 & b0);
        a19 = b4 ^ (~b0 & b1);
        b0 = ROL64(e02 ^ d2, 62);
        b1 = ROL64(e08 ^ d3, 55);
        b2 = ROL64(e14 ^ d4, 39);
        b3 = ROL64(e15 ^ d0, 41);
        b4 = ROL64(e21 ^ d1, 2);
        a20 = b0 ^ (~b1 & b2);
        a21 = b1 ^ (~b2 & b3);
        a22 = b2 ^ (~b3 & b4);
        a23 = b3 ^ (~b4 & b0);
        a24 = b4 ^ (~b0 & b1);
    }
    s[0] = a00;
    s[1] = a01;
    s[2] = a02;
    s[3] = a03;
    s[4] = a04;
    s[5] = a05;
    s[6] = a06;
    s[7] = a07;
    s[8] = a08;
    s[9] = a09;
    s[10] = a10;
    s[11] = a11;
    s[12] = a12;
    s[13] = a13;
    s[14] = a14;
    s[15] = a15;
    s[16] = a16;
    s[17] = a17;
    s[18] = a18;
    s[19] = a19;
    s[20] = a20;
    s[21] = a21;
    s[22] = a22;
    s[23] = a23;
    s[24] = a24;
}

/* Lanes are little-endian (FIPS 202 §B.1); this builds on little-endian hosts
 * and falls back to byte assembly elsewhere. */
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

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PQT_KECCAK_LE 1
#endif

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
