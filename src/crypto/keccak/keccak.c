/*
 * Keccak-f[1600] (FIPS 202 §3) and the sponge functions built on it.
 *
 * The permutation is written with constant array indices only, so the
 * compiler keeps all 25 lanes in registers; two rounds per loop iteration
 * ping-pong between two states instead of copying back.
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

/* theta, rho and pi from A into B (B[y, 2x+3y] = ROT(A[x,y] ^ D[x])). */
#define THETA_RHO_PI(A, B)                                                      \
    do {                                                                        \
        uint64_t C0 = A[0] ^ A[5] ^ A[10] ^ A[15] ^ A[20];                      \
        uint64_t C1 = A[1] ^ A[6] ^ A[11] ^ A[16] ^ A[21];                      \
        uint64_t C2 = A[2] ^ A[7] ^ A[12] ^ A[17] ^ A[22];                      \
        uint64_t C3 = A[3] ^ A[8] ^ A[13] ^ A[18] ^ A[23];                      \
        uint64_t C4 = A[4] ^ A[9] ^ A[14] ^ A[19] ^ A[24];                      \
        uint64_t D[5] = {C4 ^ ROL64(C1, 1), C0 ^ ROL64(C2, 1), C1 ^ ROL64(C3, 1), \
                         C2 ^ ROL64(C4, 1), C3 ^ ROL64(C0, 1)};                 \
        B[0] = A[0] ^ D[0];                                                     \
        B[10] = ROL64(A[1] ^ D[1], 1);                                          \
        B[20] = ROL64(A[2] ^ D[2], 62);                                         \
        B[5] = ROL64(A[3] ^ D[3], 28);                                          \
        B[15] = ROL64(A[4] ^ D[4], 27);                                         \
        B[16] = ROL64(A[5] ^ D[0], 36);                                         \
        B[1] = ROL64(A[6] ^ D[1], 44);                                          \
        B[11] = ROL64(A[7] ^ D[2], 6);                                          \
        B[21] = ROL64(A[8] ^ D[3], 55);                                         \
        B[6] = ROL64(A[9] ^ D[4], 20);                                          \
        B[7] = ROL64(A[10] ^ D[0], 3);                                          \
        B[17] = ROL64(A[11] ^ D[1], 10);                                        \
        B[2] = ROL64(A[12] ^ D[2], 43);                                         \
        B[12] = ROL64(A[13] ^ D[3], 25);                                        \
        B[22] = ROL64(A[14] ^ D[4], 39);                                        \
        B[23] = ROL64(A[15] ^ D[0], 41);                                        \
        B[8] = ROL64(A[16] ^ D[1], 45);                                         \
        B[18] = ROL64(A[17] ^ D[2], 15);                                        \
        B[3] = ROL64(A[18] ^ D[3], 21);                                         \
        B[13] = ROL64(A[19] ^ D[4], 8);                                         \
        B[14] = ROL64(A[20] ^ D[0], 18);                                        \
        B[24] = ROL64(A[21] ^ D[1], 2);                                         \
        B[9] = ROL64(A[22] ^ D[2], 61);                                         \
        B[19] = ROL64(A[23] ^ D[3], 56);                                        \
        B[4] = ROL64(A[24] ^ D[4], 14);                                         \
    } while (0)

/* chi on one row of five lanes starting at index i, from B into A. */
#define CHI_ROW(A, B, i)                                    \
    do {                                                    \
        A[(i) + 0] = B[(i) + 0] ^ (~B[(i) + 1] & B[(i) + 2]); \
        A[(i) + 1] = B[(i) + 1] ^ (~B[(i) + 2] & B[(i) + 3]); \
        A[(i) + 2] = B[(i) + 2] ^ (~B[(i) + 3] & B[(i) + 4]); \
        A[(i) + 3] = B[(i) + 3] ^ (~B[(i) + 4] & B[(i) + 0]); \
        A[(i) + 4] = B[(i) + 4] ^ (~B[(i) + 0] & B[(i) + 1]); \
    } while (0)

#define ROUND(A, B, E, rc)    \
    do {                      \
        THETA_RHO_PI(A, B);   \
        CHI_ROW(E, B, 0);     \
        CHI_ROW(E, B, 5);     \
        CHI_ROW(E, B, 10);    \
        CHI_ROW(E, B, 15);    \
        CHI_ROW(E, B, 20);    \
        E[0] ^= (rc);         \
    } while (0)

void pqt_keccakf1600(uint64_t s[25])
{
    uint64_t a[25], b[25], e[25];
    memcpy(a, s, sizeof(a));
    for (int r = 0; r < 24; r += 2) {
        ROUND(a, b, e, keccak_rc[r]);
        ROUND(e, b, a, keccak_rc[r + 1]);
    }
    memcpy(s, a, sizeof(a));
}

/* Lanes are little-endian (FIPS 202 §B.1); this builds on little-endian hosts
 * and falls back to byte assembly elsewhere. */
static inline uint64_t load64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static inline void xor_bytes(uint64_t s[25], unsigned off, const uint8_t *in, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned pos = off + (unsigned)i;
        s[pos >> 3] ^= (uint64_t)in[i] << (8 * (pos & 7));
    }
}

static inline void extract_bytes(const uint64_t s[25], unsigned off, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned pos = off + (unsigned)i;
        out[i] = (uint8_t)(s[pos >> 3] >> (8 * (pos & 7)));
    }
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
static void oneshot_absorb(uint64_t s[25], unsigned rate, const uint8_t *in, size_t len,
                           uint8_t ds)
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
