/*
 * The portable C backend of ML-KEM: every primitive that the KEM template
 * (kem_impl.h) needs, in plain C11. Always built, always tested; the native
 * backends must produce byte-identical keys, ciphertexts and secrets.
 *
 * Representation: coefficients in natural order, the NTT domain in the
 * bit-reversed order of FIPS 203 §4.3. Functions are static: the template
 * is compiled once per parameter set, with this file included.
 */
#ifndef PQT_CRYPTO_MLKEM_PORTABLE_BACKEND_H
#define PQT_CRYPTO_MLKEM_PORTABLE_BACKEND_H

#include <stdint.h>
#include <string.h>

#include "ct.h"
#include "keccak/fips202.h"
#include "mlkem/params.h"
#include "mlkem/portable/arith.h"
#include "mlkem/portable/compress.h"

#define PQT_BACKEND_SUFFIX portable

/* ---- NTT (FIPS 203 Algorithms 9 and 10, with lazy reduction) ---- */

/* One Cooley-Tukey layer; called with constant arguments so that each layer
 * is specialised (and its inner loop vectorised) by the compiler. */
static inline void ntt_layer(int16_t r[256], unsigned len, unsigned k)
{
    for (unsigned start = 0; start < 256; start += 2 * len) {
        int16_t zeta = pqt_mlkem_zetas[k++];
        for (unsigned j = start; j < start + len; j++) {
            int16_t t = pqt_fqmul(zeta, r[j + len]);
            r[j + len] = (int16_t)(r[j] - t);
            r[j] = (int16_t)(r[j] + t);
        }
    }
}

/*
 * Forward NTT. In: |c| < q. Out: NTT domain, |c| < 8q: each of the 7 layers adds at most
 * q (the Montgomery product is below q), and 8q < 2^15, so no reduction pass
 * is needed; consumers (base multiplication, addition before poly_reduce)
 * accept that bound.
 */
static void poly_ntt(pqt_poly *p)
{
    ntt_layer(p->c, 128, 1);
    ntt_layer(p->c, 64, 2);
    ntt_layer(p->c, 32, 4);
    ntt_layer(p->c, 16, 8);
    ntt_layer(p->c, 8, 16);
    ntt_layer(p->c, 4, 32);
    ntt_layer(p->c, 2, 64);
}

/* One Gentleman-Sande layer, zetas taken downwards from index k. */
static inline void invntt_layer(int16_t r[256], unsigned len, unsigned k)
{
    for (unsigned start = 0; start < 256; start += 2 * len) {
        int16_t zeta = pqt_mlkem_zetas[k--];
        for (unsigned j = start; j < start + len; j++) {
            int16_t t = r[j];
            r[j] = pqt_barrett_reduce((int16_t)(t + r[j + len]));
            r[j + len] = pqt_fqmul(zeta, (int16_t)(r[j + len] - t));
        }
    }
}

/*
 * In: NTT domain, |c| < 2^14 (base multiplication output). Out: natural
 * order times 2^16, |c| < q. The first multiplication by f = 2^32/128 mod q
 * (undoing the 1/128 of the inverse transform and adding the Montgomery
 * factor) happens up front, which also brings the input below q.
 */
static void poly_invntt_tomont(pqt_poly *p)
{
    const int16_t f = 1441;
    for (unsigned j = 0; j < 256; j++) {
        p->c[j] = pqt_fqmul(p->c[j], f);
    }
    invntt_layer(p->c, 2, 127);
    invntt_layer(p->c, 4, 63);
    invntt_layer(p->c, 8, 31);
    invntt_layer(p->c, 16, 15);
    invntt_layer(p->c, 32, 7);
    invntt_layer(p->c, 64, 3);
    invntt_layer(p->c, 128, 1);
}

/*
 * Base multiplication (FIPS 203 Algorithm 11) in two steps. The products
 * b_odd * zeta depend only on b, and b (s-hat, r-hat, u-hat) multiplies k
 * or k+1 matrix rows, so they are computed once into a "mulcache".
 */
#define PQT_BACKEND_HAS_MULCACHE 1
typedef struct {
    int16_t c[128];
} pqt_poly_mulcache;

static void poly_mulcache_compute(pqt_poly_mulcache *x, const pqt_poly *b)
{
    for (unsigned i = 0; i < 64; i++) {
        int16_t zeta = pqt_mlkem_zetas[64 + i];
        x->c[2 * i] = pqt_fqmul(b->c[4 * i + 1], zeta);
        x->c[2 * i + 1] = pqt_fqmul(b->c[4 * i + 3], (int16_t)-zeta);
    }
}

/*
 * r = sum_i a[i] o b[i] * 2^-16 over k polynomials. Sums are accumulated in
 * 32 bits and reduced once. Bounds: a < 4096 (decoded, possibly unchecked
 * dk bytes), b < 8q (NTT output), cache < q. The odd coefficient is the
 * larger sum, a0*b1 + a1*b0 < 2 * 4096 * 8q < 2^28, so k <= 4 of them stay
 * below 2^30 and Montgomery reduction returns |r| < 2^30/2^16 + q/2 < 2^14.
 */
static void polyvec_basemul_acc_cached(pqt_poly *r, const pqt_poly *a, const pqt_poly *b,
                                       const pqt_poly_mulcache *bc, unsigned k)
{
    int32_t acc[256] = {0};
    for (unsigned v = 0; v < k; v++) {
        const int16_t *x = a[v].c;
        const int16_t *y = b[v].c;
        const int16_t *z = bc[v].c;
        for (unsigned i = 0; i < 128; i++) {
            acc[2 * i] += (int32_t)x[2 * i] * y[2 * i] + (int32_t)x[2 * i + 1] * z[i];
            acc[2 * i + 1] += (int32_t)x[2 * i] * y[2 * i + 1] + (int32_t)x[2 * i + 1] * y[2 * i];
        }
    }
    for (unsigned j = 0; j < 256; j++) {
        r->c[j] = pqt_montgomery_reduce(acc[j]);
    }
}

/* ---- Coefficient-wise helpers ---- */

static void poly_tomont(pqt_poly *p)
{
    const int16_t f = 1353; /* 2^32 mod q */
    for (unsigned j = 0; j < 256; j++) {
        p->c[j] = pqt_fqmul(p->c[j], f);
    }
}

/* Out: canonical representatives in [0, q). In: any int16. */
static void poly_reduce(pqt_poly *p)
{
    for (unsigned j = 0; j < 256; j++) {
        p->c[j] = pqt_caddq(pqt_barrett_reduce(p->c[j]));
    }
}

static void poly_add(pqt_poly *r, const pqt_poly *a, const pqt_poly *b)
{
    for (unsigned j = 0; j < 256; j++) {
        r->c[j] = (int16_t)(a->c[j] + b->c[j]);
    }
}

static void poly_sub(pqt_poly *r, const pqt_poly *a, const pqt_poly *b)
{
    for (unsigned j = 0; j < 256; j++) {
        r->c[j] = (int16_t)(a->c[j] - b->c[j]);
    }
}

/* ---- Encodings (FIPS 203 Algorithms 5 and 6, §4.2.1 compression) ---- */

/* ByteEncode12. In: [0, q). */
static void poly_tobytes(uint8_t r[MLKEM_POLYBYTES], const pqt_poly *a)
{
    for (unsigned i = 0; i < 128; i++) {
        uint16_t t0 = (uint16_t)a->c[2 * i];
        uint16_t t1 = (uint16_t)a->c[2 * i + 1];
        r[3 * i + 0] = (uint8_t)t0;
        r[3 * i + 1] = (uint8_t)((t0 >> 8) | (t1 << 4));
        r[3 * i + 2] = (uint8_t)(t1 >> 4);
    }
}

/* ByteDecode12 without the range check (see ek_modulus_ok). */
static void poly_frombytes(pqt_poly *r, const uint8_t a[MLKEM_POLYBYTES])
{
    for (unsigned i = 0; i < 128; i++) {
        r->c[2 * i] = (int16_t)((a[3 * i] | ((uint16_t)a[3 * i + 1] << 8)) & 0xFFF);
        r->c[2 * i + 1] = (int16_t)((a[3 * i + 1] >> 4) | ((uint16_t)a[3 * i + 2] << 4));
    }
}

/* FIPS 203 §7.2 modulus check: 1 if every 12-bit value is < q. Public data. */
static int ek_modulus_ok(const uint8_t *a, unsigned npolys)
{
    uint32_t bad = 0;
    for (unsigned i = 0; i < 128 * npolys; i++) {
        uint32_t t0 = (a[3 * i] | ((uint32_t)a[3 * i + 1] << 8)) & 0xFFF;
        uint32_t t1 = (a[3 * i + 1] >> 4) | ((uint32_t)a[3 * i + 2] << 4);
        bad |= ((uint32_t)(MLKEM_Q - 1) - t0) | ((uint32_t)(MLKEM_Q - 1) - t1);
    }
    return (bad >> 31) == 0;
}

static inline void poly_compress10(uint8_t r[320], const pqt_poly *a)
{
    for (unsigned i = 0; i < 64; i++) {
        uint32_t t[4];
        for (unsigned j = 0; j < 4; j++) {
            t[j] = compress10(a->c[4 * i + j]);
        }
        r[5 * i + 0] = (uint8_t)t[0];
        r[5 * i + 1] = (uint8_t)((t[0] >> 8) | (t[1] << 2));
        r[5 * i + 2] = (uint8_t)((t[1] >> 6) | (t[2] << 4));
        r[5 * i + 3] = (uint8_t)((t[2] >> 4) | (t[3] << 6));
        r[5 * i + 4] = (uint8_t)(t[3] >> 2);
    }
}

static inline void poly_decompress10(pqt_poly *r, const uint8_t a[320])
{
    for (unsigned i = 0; i < 64; i++) {
        const uint8_t *b = a + 5 * i;
        uint32_t t0 = (b[0] | ((uint32_t)b[1] << 8)) & 0x3FF;
        uint32_t t1 = ((b[1] >> 2) | ((uint32_t)b[2] << 6)) & 0x3FF;
        uint32_t t2 = ((b[2] >> 4) | ((uint32_t)b[3] << 4)) & 0x3FF;
        uint32_t t3 = ((b[3] >> 6) | ((uint32_t)b[4] << 2)) & 0x3FF;
        r->c[4 * i + 0] = decompress(t0, 10);
        r->c[4 * i + 1] = decompress(t1, 10);
        r->c[4 * i + 2] = decompress(t2, 10);
        r->c[4 * i + 3] = decompress(t3, 10);
    }
}

static inline void poly_compress4(uint8_t r[128], const pqt_poly *a)
{
    for (unsigned i = 0; i < 128; i++) {
        r[i] = (uint8_t)(compress4(a->c[2 * i]) | (compress4(a->c[2 * i + 1]) << 4));
    }
}

static inline void poly_decompress4(pqt_poly *r, const uint8_t a[128])
{
    for (unsigned i = 0; i < 128; i++) {
        r->c[2 * i] = decompress(a[i] & 15u, 4);
        r->c[2 * i + 1] = decompress((uint32_t)a[i] >> 4, 4);
    }
}

/* Decompress_1 of a 32-byte message: bit b becomes b * (q+1)/2, by mask. */
static void poly_frommsg(pqt_poly *r, const uint8_t m[32])
{
    for (unsigned i = 0; i < 32; i++) {
        for (unsigned j = 0; j < 8; j++) {
            uint32_t mask = 0u - (uint32_t)((m[i] >> j) & 1);
            r->c[8 * i + j] = (int16_t)pqt_ct_select_u32(mask, (MLKEM_Q + 1) / 2, 0);
        }
    }
}

/* Compress_1 into 32 bytes. In: [0, q). */
static void poly_tomsg(uint8_t m[32], const pqt_poly *a)
{
    for (unsigned i = 0; i < 32; i++) {
        uint32_t byte = 0;
        for (unsigned j = 0; j < 8; j++) {
            uint32_t t = (uint32_t)(uint16_t)a->c[8 * i + j];
            t = (((t << 1) + 1665) * 80635) >> 28;
            byte |= (t & 1) << j;
        }
        m[i] = (uint8_t)byte;
    }
}

/* ---- Sampling (FIPS 203 Algorithms 7 and 8) ---- */

/* Rejection sampling of 12-bit values < q. Runs on public data (rho). */
static unsigned rej_uniform(int16_t *r, unsigned len, const uint8_t *buf, unsigned buflen)
{
    unsigned ctr = 0, pos = 0;
    while (ctr < len && pos + 3 <= buflen) {
        uint16_t v0 = (uint16_t)((buf[pos] | ((uint16_t)buf[pos + 1] << 8)) & 0xFFF);
        uint16_t v1 = (uint16_t)((buf[pos + 1] >> 4) | ((uint16_t)buf[pos + 2] << 4));
        pos += 3;
        if (v0 < MLKEM_Q) {
            r[ctr++] = (int16_t)v0;
        }
        if (ctr < len && v1 < MLKEM_Q) {
            r[ctr++] = (int16_t)v1;
        }
    }
    return ctr;
}

/* 3 blocks of SHAKE128 give 256 values except with probability ~2^-38. */
#define GEN_MATRIX_NBLOCKS 3

/* A-hat[i][j] = SampleNTT(rho || j || i); transposed swaps the two bytes.
 * Out: NTT domain, [0, q). a holds k*k polynomials, row-major. */
static void gen_matrix(pqt_poly *a, const uint8_t rho[32], int transposed, unsigned k)
{
    uint8_t seed[34];
    uint8_t buf[GEN_MATRIX_NBLOCKS * PQT_SHAKE128_RATE];
    uint64_t st[25];
    memcpy(seed, rho, 32);
    for (unsigned i = 0; i < k; i++) {
        for (unsigned j = 0; j < k; j++) {
            seed[32] = (uint8_t)(transposed ? i : j);
            seed[33] = (uint8_t)(transposed ? j : i);
            pqt_shake128_absorb_once(st, seed, sizeof(seed));
            pqt_shake128_squeezeblocks(buf, GEN_MATRIX_NBLOCKS, st);
            unsigned ctr = rej_uniform(a[i * k + j].c, 256, buf, sizeof(buf));
            while (ctr < 256) {
                pqt_shake128_squeezeblocks(buf, 1, st);
                ctr += rej_uniform(a[i * k + j].c + ctr, 256 - ctr, buf, PQT_SHAKE128_RATE);
            }
        }
    }
}

/* SamplePolyCBD_2: 128 bytes -> 256 coefficients in [-2, 2]. */
static void cbd2(pqt_poly *r, const uint8_t buf[128])
{
    for (unsigned i = 0; i < 32; i++) {
        uint32_t t = (uint32_t)buf[4 * i] | ((uint32_t)buf[4 * i + 1] << 8) |
                     ((uint32_t)buf[4 * i + 2] << 16) | ((uint32_t)buf[4 * i + 3] << 24);
        uint32_t d = (t & 0x55555555u) + ((t >> 1) & 0x55555555u);
        for (unsigned j = 0; j < 8; j++) {
            int16_t x = (int16_t)((d >> (4 * j)) & 3);
            int16_t y = (int16_t)((d >> (4 * j + 2)) & 3);
            r->c[8 * i + j] = (int16_t)(x - y);
        }
    }
}

/* SamplePolyCBD_3: 192 bytes -> 256 coefficients in [-3, 3]. */
static void cbd3(pqt_poly *r, const uint8_t buf[192])
{
    for (unsigned i = 0; i < 64; i++) {
        uint32_t t = (uint32_t)buf[3 * i] | ((uint32_t)buf[3 * i + 1] << 8) |
                     ((uint32_t)buf[3 * i + 2] << 16);
        uint32_t d = (t & 0x00249249u) + ((t >> 1) & 0x00249249u) + ((t >> 2) & 0x00249249u);
        for (unsigned j = 0; j < 4; j++) {
            int16_t x = (int16_t)((d >> (6 * j)) & 7);
            int16_t y = (int16_t)((d >> (6 * j + 3)) & 7);
            r->c[4 * i + j] = (int16_t)(x - y);
        }
    }
}

/*
 * n1 polynomials with eta1 then n2 with eta2, from PRF(seed, nonce0 + i)
 * = SHAKE256(seed || N). Out: |c| <= eta, natural order.
 */
static void sample_noise(pqt_poly *out, unsigned n1, unsigned eta1, unsigned n2, unsigned eta2,
                         const uint8_t seed[32], uint8_t nonce0)
{
    uint8_t ext[33];
    uint8_t buf[192];
    memcpy(ext, seed, 32);
    for (unsigned i = 0; i < n1 + n2; i++) {
        unsigned eta = i < n1 ? eta1 : eta2;
        ext[32] = (uint8_t)(nonce0 + i);
        pqt_shake256(buf, 64 * eta, ext, sizeof(ext));
        if (eta == 2) {
            cbd2(&out[i], buf);
        } else {
            cbd3(&out[i], buf);
        }
    }
    pqt_ct_wipe(ext, sizeof(ext));
    pqt_ct_wipe(buf, sizeof(buf));
}

#endif
