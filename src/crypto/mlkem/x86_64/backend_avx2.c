/*
 * The x86-64 AVX2 backend of ML-KEM: the native backend contract of
 * mlkem/backend.h (the names of portable/backend.h, its bounds or tighter)
 * written with 16-lane int16 arithmetic. Compiled with -mavx2 -mbmi2
 * -mpopcnt; the functions are external (pqt_mlkem_avx2_*, named through the
 * contract's macros), every helper is static. Selected at run time by dispatch.c only
 * when pqt_cpu_has_avx2(); every observable output (ek, dk, ct, ss) is
 * byte-identical to the portable backend (tests/unit/test_mlkem_backends.c).
 *
 * NTT-domain order. A polynomial is 16 vectors of 16 coefficients. The
 * FIPS 203 NTT (Algorithm 9) pairs coefficients at distance 128..16 in its
 * first four layers, which are whole vectors here, and at distance 8, 4, 2
 * in its last three, which would be inside a vector. Between the two halves
 * we transpose the 16x16 matrix instead, so the last three layers (and the
 * base multiplication, Algorithm 11) also pair whole vectors, with twiddles
 * that differ per lane (consts_avx2.h). Hence, in the NTT domain,
 *     c[16 * j + b] = (FIPS 203 NTT coefficient 16 * b + j),
 * the transpose of the standard order. poly_tobytes / poly_frombytes undo /
 * apply the transpose, so ByteEncode12 output is the standard one, and
 * gen_matrix transposes the sampled entries of A-hat.
 *
 * Secrets: no branch and no table index depends on s, e, r, m or dk. Only
 * rejection sampling (public rho) branches and indexes a table.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "mlkem/x86_64/backend_avx2.h"

#include "ct.h"
#include "keccak/fips202.h"
#include "mlkem/params.h"
#include "mlkem/portable/arith.h"
#include "mlkem/x86_64/consts_avx2.h"
#include "mlkem/x86_64/keccak_x4_avx2.h"

/* Decapsulation's H(ek) and J(z || c) share 4-way permutations. */
void hash_h_j(uint8_t h[32], const uint8_t *ek, size_t eklen, uint8_t j[32], const uint8_t *zc,
              size_t zclen)
{
    if (pqt_keccakx4_sha3_256_shake256(h, ek, eklen, j, zc, zclen) != 0) {
        pqt_sha3_256(h, ek, eklen);
        pqt_shake256(j, 32, zc, zclen);
    }
}

/* ---- 16-lane arithmetic mod q ---- */

static inline __m256i v_q(void)
{
    return _mm256_set1_epi16(MLKEM_Q);
}

/*
 * Montgomery multiplication a * z * 2^-16 with zq = z * q^-1 mod 2^16
 * precomputed: hi(a z) - hi(lo(a zq) q) is exactly (a z - m q) / 2^16,
 * as a z and m q agree in their low 16 bits. |result| < q/2 + |a z| / 2^16.
 */
static inline __m256i fqmul_v(__m256i a, __m256i z, __m256i zq)
{
    __m256i hi = _mm256_mulhi_epi16(a, z);
    __m256i m = _mm256_mullo_epi16(a, zq);
    return _mm256_sub_epi16(hi, _mm256_mulhi_epi16(m, v_q()));
}

/* Montgomery multiplication of two variable vectors. */
static inline __m256i fqmul_vv(__m256i a, __m256i b)
{
    __m256i hi = _mm256_mulhi_epi16(a, b);
    __m256i m = _mm256_mullo_epi16(_mm256_mullo_epi16(a, b), _mm256_set1_epi16(MLKEM_QINV));
    return _mm256_sub_epi16(hi, _mm256_mulhi_epi16(m, v_q()));
}

/*
 * Barrett reduction of any int16 to its centred representative in
 * [-(q-1)/2, (q-1)/2]: t = round(floor(a v / 2^16) / 2^10) with
 * v = round(2^26 / q) = 20159 is the same quotient as portable/arith.h.
 */
static inline __m256i barrett_v(__m256i a)
{
    __m256i t = _mm256_mulhi_epi16(a, _mm256_set1_epi16(20159));
    t = _mm256_mulhrs_epi16(t, _mm256_set1_epi16(32)); /* (t + 512) >> 10 */
    return _mm256_sub_epi16(a, _mm256_mullo_epi16(t, v_q()));
}

/* (-q, q) -> [0, q) */
static inline __m256i caddq_v(__m256i a)
{
    return _mm256_add_epi16(a, _mm256_and_si256(_mm256_srai_epi16(a, 15), v_q()));
}

/*
 * Transpose a 16x16 matrix of int16 held as 16 rows: unpack 16-, 32- and
 * 64-bit elements within 128-bit lanes, then exchange the lanes.
 */
static inline void transpose16(__m256i r[16])
{
    __m256i a[16], b[16], c[16];
    /* a[p], a[8 + p]: rows 2p, 2p+1 interleaved; columns 0-3 | 8-11 and 4-7 | 12-15. */
    for (unsigned p = 0; p < 8; p++) {
        a[p] = _mm256_unpacklo_epi16(r[2 * p], r[2 * p + 1]);
        a[8 + p] = _mm256_unpackhi_epi16(r[2 * p], r[2 * p + 1]);
    }
    /* b[4s + x]: rows 4s..4s+3 at columns 2x, 2x+1 | 2x+8, 2x+9 (64-bit elements). */
    for (unsigned s = 0; s < 4; s++) {
        b[4 * s + 0] = _mm256_unpacklo_epi32(a[2 * s], a[2 * s + 1]);
        b[4 * s + 1] = _mm256_unpackhi_epi32(a[2 * s], a[2 * s + 1]);
        b[4 * s + 2] = _mm256_unpacklo_epi32(a[8 + 2 * s], a[8 + 2 * s + 1]);
        b[4 * s + 3] = _mm256_unpackhi_epi32(a[8 + 2 * s], a[8 + 2 * s + 1]);
    }
    /* c[8o + j]: rows 8o..8o+7 at column j | j + 8. */
    for (unsigned o = 0; o < 2; o++) {
        for (unsigned x = 0; x < 4; x++) {
            c[8 * o + 2 * x] = _mm256_unpacklo_epi64(b[8 * o + x], b[8 * o + 4 + x]);
            c[8 * o + 2 * x + 1] = _mm256_unpackhi_epi64(b[8 * o + x], b[8 * o + 4 + x]);
        }
    }
    for (unsigned j = 0; j < 8; j++) {
        r[j] = _mm256_permute2x128_si256(c[j], c[8 + j], 0x20);
        r[j + 8] = _mm256_permute2x128_si256(c[j], c[8 + j], 0x31);
    }
}

static inline void load16(__m256i r[16], const int16_t *c)
{
    for (unsigned i = 0; i < 16; i++) {
        r[i] = _mm256_load_si256((const __m256i *)(c + 16 * i));
    }
}

static inline void store16(int16_t *c, const __m256i r[16])
{
    for (unsigned i = 0; i < 16; i++) {
        _mm256_store_si256((__m256i *)(c + 16 * i), r[i]);
    }
}

/* ---- NTT (FIPS 203 Algorithms 9 and 10) ---- */

/* Cooley-Tukey butterfly: (a, b) <- (a + z b, a - z b). */
#define CT_BF(a, b, z, zq)                    \
    do {                                      \
        __m256i t_ = fqmul_v((b), (z), (zq)); \
        (b) = _mm256_sub_epi16((a), t_);      \
        (a) = _mm256_add_epi16((a), t_);      \
    } while (0)

/* Gentleman-Sande butterfly: (a, b) <- (a + b, z (b - a)). */
#define GS_BF(a, b, z, zq)                                   \
    do {                                                     \
        __m256i t_ = (a);                                    \
        (a) = _mm256_add_epi16(t_, (b));                     \
        (b) = fqmul_v(_mm256_sub_epi16((b), t_), (z), (zq)); \
    } while (0)

static inline __m256i zl_load(const int16_t (*t)[16], unsigned which)
{
    return _mm256_load_si256((const __m256i *)t[which]);
}

/*
 * In: natural order, |c| < q. Out: NTT domain (transposed order, see top),
 * centred, |c| <= (q-1)/2. Each layer grows the bound by less than q, so
 * seven layers stay below 8q < 2^15 without intermediate reduction.
 */
void poly_ntt(pqt_poly *p)
{
    __m256i r[16];
    load16(r, p->c);
    /* Layers len = 16 D for D = 8, 4, 2, 1: twiddle zetas[8 / D + i / (2 D)]. */
    for (unsigned d = 8; d >= 1; d >>= 1) {
        for (unsigned i = 0; i < 16; i++) {
            if ((i & d) == 0) {
                int16_t zeta = pqt_mlkem_zetas[8 / d + i / (2 * d)];
                __m256i z = _mm256_set1_epi16(zeta);
                __m256i zq = _mm256_set1_epi16((int16_t)(zeta * MLKEM_QINV));
                CT_BF(r[i], r[i + d], z, zq);
            }
        }
    }
    transpose16(r);
    /* len = 8: block b (lane b) uses zetas[16 + b]. */
    {
        __m256i z = zl_load(zl_fwd8[0], 0), zq = zl_load(zl_fwd8[0], 1);
        for (unsigned j = 0; j < 8; j++) {
            CT_BF(r[j], r[j + 8], z, zq);
        }
    }
    /* len = 4: zetas[32 + 2b + h] for the half h of the block. */
    for (unsigned h = 0; h < 2; h++) {
        __m256i z = zl_load(zl_fwd4[h], 0), zq = zl_load(zl_fwd4[h], 1);
        for (unsigned j = 8 * h; j < 8 * h + 4; j++) {
            CT_BF(r[j], r[j + 4], z, zq);
        }
    }
    /* len = 2: zetas[64 + 4b + g] for the quarter g of the block. */
    for (unsigned g = 0; g < 4; g++) {
        __m256i z = zl_load(zl_fwd2[g], 0), zq = zl_load(zl_fwd2[g], 1);
        for (unsigned j = 4 * g; j < 4 * g + 2; j++) {
            CT_BF(r[j], r[j + 2], z, zq);
        }
    }
    for (unsigned i = 0; i < 16; i++) {
        r[i] = barrett_v(r[i]);
    }
    store16(p->c, r);
}

/*
 * In: NTT domain, |c| < q. Out: natural order times 2^16, |c| < q.
 * Sums double per layer: three layers from q reach 8q, then one Barrett
 * pass brings them to q/2, and the last four layers again reach 8q < 2^15.
 */
void poly_invntt_tomont(pqt_poly *p)
{
    __m256i r[16];
    load16(r, p->c);
    for (unsigned g = 0; g < 4; g++) {
        __m256i z = zl_load(zl_inv2[g], 0), zq = zl_load(zl_inv2[g], 1);
        for (unsigned j = 4 * g; j < 4 * g + 2; j++) {
            GS_BF(r[j], r[j + 2], z, zq);
        }
    }
    for (unsigned h = 0; h < 2; h++) {
        __m256i z = zl_load(zl_inv4[h], 0), zq = zl_load(zl_inv4[h], 1);
        for (unsigned j = 8 * h; j < 8 * h + 4; j++) {
            GS_BF(r[j], r[j + 4], z, zq);
        }
    }
    {
        __m256i z = zl_load(zl_inv8[0], 0), zq = zl_load(zl_inv8[0], 1);
        for (unsigned j = 0; j < 8; j++) {
            GS_BF(r[j], r[j + 8], z, zq);
        }
    }
    for (unsigned i = 0; i < 16; i++) {
        r[i] = barrett_v(r[i]);
    }
    transpose16(r);
    /* Layers len = 16 D for D = 1, 2, 4, 8: zetas[16 / D - 1 - i / (2 D)]. */
    for (unsigned d = 1; d <= 8; d <<= 1) {
        for (unsigned i = 0; i < 16; i++) {
            if ((i & d) == 0) {
                int16_t zeta = pqt_mlkem_zetas[16 / d - 1 - i / (2 * d)];
                __m256i z = _mm256_set1_epi16(zeta);
                __m256i zq = _mm256_set1_epi16((int16_t)(zeta * MLKEM_QINV));
                GS_BF(r[i], r[i + d], z, zq);
            }
        }
    }
    /* 1441 = 2^32 / 128 mod q: undoes the 1/128 of Algorithm 10, adds 2^16. */
    const __m256i f = _mm256_set1_epi16(1441);
    const __m256i fq = _mm256_set1_epi16((int16_t)(1441 * MLKEM_QINV));
    for (unsigned i = 0; i < 16; i++) {
        r[i] = fqmul_v(r[i], f, fq);
    }
    store16(p->c, r);
}

/*
 * r = sum_v a[v] o b[v] * 2^-16 (Algorithm 11, MultiplyNTTs). In the
 * transposed order, pair (2i, 2i+1) of block b is vectors (4g + 2x,
 * 4g + 2x + 1) in lane b, with gamma = +-zetas[64 + 4b + g]: the same
 * per-lane twiddles as the last NTT layer. Each product is Montgomery
 * reduced in 16 bits; for |a| < 4096 and |b| < q each term is below
 * q/2 + 209, so the sum of 2k <= 8 terms fits int16. Out: |c| <= (q-1)/2.
 */
void polyvec_basemul_acc(pqt_poly *r, const pqt_poly *a, const pqt_poly *b, unsigned k)
{
    for (unsigned g = 0; g < 4; g++) {
        const __m256i z = zl_load(zl_fwd2[g], 0), zq = zl_load(zl_fwd2[g], 1);
        __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (unsigned v = 0; v < k; v++) {
            const __m256i *x = (const __m256i *)a[v].c + 4 * g;
            const __m256i *y = (const __m256i *)b[v].c + 4 * g;
            __m256i a0 = _mm256_load_si256(x), a1 = _mm256_load_si256(x + 1);
            __m256i a2 = _mm256_load_si256(x + 2), a3 = _mm256_load_si256(x + 3);
            __m256i b0 = _mm256_load_si256(y), b1 = _mm256_load_si256(y + 1);
            __m256i b2 = _mm256_load_si256(y + 2), b3 = _mm256_load_si256(y + 3);
            __m256i b1z = fqmul_v(b1, z, zq);
            __m256i b3z = _mm256_sub_epi16(_mm256_setzero_si256(), fqmul_v(b3, z, zq));
            acc0 = _mm256_add_epi16(acc0, _mm256_add_epi16(fqmul_vv(a0, b0), fqmul_vv(a1, b1z)));
            acc1 = _mm256_add_epi16(acc1, _mm256_add_epi16(fqmul_vv(a0, b1), fqmul_vv(a1, b0)));
            acc2 = _mm256_add_epi16(acc2, _mm256_add_epi16(fqmul_vv(a2, b2), fqmul_vv(a3, b3z)));
            acc3 = _mm256_add_epi16(acc3, _mm256_add_epi16(fqmul_vv(a2, b3), fqmul_vv(a3, b2)));
        }
        __m256i *o = (__m256i *)r->c + 4 * g;
        _mm256_store_si256(o, barrett_v(acc0));
        _mm256_store_si256(o + 1, barrett_v(acc1));
        _mm256_store_si256(o + 2, barrett_v(acc2));
        _mm256_store_si256(o + 3, barrett_v(acc3));
    }
}

/* ---- Coefficient-wise helpers ---- */

void poly_tomont(pqt_poly *p)
{
    const __m256i f = _mm256_set1_epi16(1353); /* 2^32 mod q */
    const __m256i fq = _mm256_set1_epi16((int16_t)(1353 * MLKEM_QINV));
    __m256i *c = (__m256i *)p->c;
    for (unsigned i = 0; i < 16; i++) {
        _mm256_store_si256(c + i, fqmul_v(_mm256_load_si256(c + i), f, fq));
    }
}

/* Out: canonical representatives in [0, q). In: any int16. */
void poly_reduce(pqt_poly *p)
{
    __m256i *c = (__m256i *)p->c;
    for (unsigned i = 0; i < 16; i++) {
        _mm256_store_si256(c + i, caddq_v(barrett_v(_mm256_load_si256(c + i))));
    }
}

void poly_add(pqt_poly *r, const pqt_poly *a, const pqt_poly *b)
{
    for (unsigned i = 0; i < 16; i++) {
        __m256i x = _mm256_load_si256((const __m256i *)a->c + i);
        __m256i y = _mm256_load_si256((const __m256i *)b->c + i);
        _mm256_store_si256((__m256i *)r->c + i, _mm256_add_epi16(x, y));
    }
}

void poly_sub(pqt_poly *r, const pqt_poly *a, const pqt_poly *b)
{
    for (unsigned i = 0; i < 16; i++) {
        __m256i x = _mm256_load_si256((const __m256i *)a->c + i);
        __m256i y = _mm256_load_si256((const __m256i *)b->c + i);
        _mm256_store_si256((__m256i *)r->c + i, _mm256_sub_epi16(x, y));
    }
}

/* ---- Byte encodings (FIPS 203 Algorithms 5 and 6) ---- */

/* Load n < 32 bytes into a zero-padded vector, for the last chunk of a
 * buffer where a full 32-byte load would read past its end. */
static inline __m256i load_partial(const uint8_t *p, size_t n)
{
    uint8_t t[32] __attribute__((aligned(32))) = {0};
    memcpy(t, p, n);
    return _mm256_load_si256((const __m256i *)t);
}

/*
 * Bytes 0..23 of raw -> sixteen 12-bit values, little-endian bit order:
 * value 2m is bits 0..11 of byte triple m, value 2m+1 bits 12..23.
 */
static inline __m256i unpack12(__m256i raw)
{
    const __m256i idx = _mm256_setr_epi8(0, 1, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 10, 11, 4, 5, 5,
                                         6, 7, 8, 8, 9, 10, 11, 11, 12, 13, 14, 14, 15);
    __m256i v = _mm256_permute4x64_epi64(raw, 0x94); /* lanes: bytes 0..15 | 8..23 */
    v = _mm256_shuffle_epi8(v, idx);
    __m256i even = _mm256_and_si256(v, _mm256_set1_epi16(0xFFF));
    __m256i odd = _mm256_srli_epi16(v, 4);
    return _mm256_blend_epi16(even, odd, 0xAA);
}

/* Sixteen values < 4096 -> 24 bytes in out[0..23]; out[24..31] garbage. */
static inline __m256i pack12(__m256i x)
{
    const __m256i idx = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, 0,
                                         1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    __m256i w = _mm256_madd_epi16(x, _mm256_set1_epi32(0x10000001)); /* x0 + 4096 x1 */
    w = _mm256_shuffle_epi8(w, idx);
    return _mm256_permutevar8x32_epi32(w, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7));
}

/* ByteEncode12 of an NTT-domain polynomial, in the standard order. In: [0, q). */
void poly_tobytes(uint8_t r[MLKEM_POLYBYTES], const pqt_poly *a)
{
    __m256i v[16];
    load16(v, a->c);
    transpose16(v);
    for (unsigned i = 0; i < 15; i++) {
        _mm256_storeu_si256((__m256i *)(r + 24 * i), pack12(v[i]));
    }
    uint8_t t[32] __attribute__((aligned(32)));
    _mm256_store_si256((__m256i *)t, pack12(v[15]));
    memcpy(r + 24 * 15, t, 24);
}

/* ByteDecode12 into the NTT-domain order, without the range check. */
void poly_frombytes(pqt_poly *r, const uint8_t a[MLKEM_POLYBYTES])
{
    __m256i v[16];
    for (unsigned i = 0; i < 15; i++) {
        v[i] = unpack12(_mm256_loadu_si256((const __m256i *)(a + 24 * i)));
    }
    v[15] = unpack12(load_partial(a + 24 * 15, 24));
    transpose16(v);
    store16(r->c, v);
}

/* FIPS 203 §7.2 modulus check: 1 if every 12-bit value is < q. Public data. */
int ek_modulus_ok(const uint8_t *a, unsigned npolys)
{
    const unsigned n = 16 * npolys; /* 24-byte chunks */
    const __m256i qm1 = _mm256_set1_epi16(MLKEM_Q - 1);
    __m256i bad = _mm256_setzero_si256();
    for (unsigned i = 0; i + 1 < n; i++) {
        __m256i v = unpack12(_mm256_loadu_si256((const __m256i *)(a + 24 * i)));
        bad = _mm256_or_si256(bad, _mm256_cmpgt_epi16(v, qm1));
    }
    __m256i v = unpack12(load_partial(a + 24 * (n - 1), 24));
    bad = _mm256_or_si256(bad, _mm256_cmpgt_epi16(v, qm1));
    return _mm256_testz_si256(bad, bad);
}

/* ---- Compression (FIPS 203 §4.2.1) ---- */

/*
 * Compress_10 of 16 values in [0, q). c = floor(16 x * 1260 / 2^16) is
 * round(2^10 x / q) or one off; the remainder (2^10 x + 1664) - c q, exact
 * mod 2^16 and within (-2^15, 2^15), tells which. Verified against the
 * FIPS 203 definition for every x in [0, q) when the constant was chosen.
 */
static inline __m256i compress10_v(__m256i x)
{
    const __m256i q = v_q();
    __m256i c = _mm256_mulhi_epu16(_mm256_slli_epi16(x, 4), _mm256_set1_epi16(1260));
    __m256i r = _mm256_add_epi16(_mm256_slli_epi16(x, 10), _mm256_set1_epi16(1664));
    r = _mm256_sub_epi16(r, _mm256_mullo_epi16(c, q));
    c = _mm256_sub_epi16(c, _mm256_cmpgt_epi16(r, _mm256_set1_epi16(MLKEM_Q - 1)));
    c = _mm256_add_epi16(c, _mm256_cmpgt_epi16(_mm256_setzero_si256(), r));
    return _mm256_and_si256(c, _mm256_set1_epi16(0x3FF));
}

/* Decompress_d: round(y q / 2^d) = mulhrs(y 2^(15-d), q), for y < 2^d. */
static inline __m256i decompress_v(__m256i y, int d)
{
    return _mm256_mulhrs_epi16(_mm256_sll_epi16(y, _mm_cvtsi32_si128(15 - d)), v_q());
}

/* ByteEncode_10 (Algorithm 5) of Compress_10: 16 values -> 20 bytes per step. */
void poly_compress10(uint8_t r[320], const pqt_poly *a)
{
    const __m256i idx = _mm256_setr_epi8(0, 1, 2, 3, 4, 8, 9, 10, 11, 12, -1, -1, -1, -1, -1, -1, 0,
                                         1, 2, 3, 4, 8, 9, 10, 11, 12, -1, -1, -1, -1, -1, -1);
    for (unsigned i = 0; i < 16; i++) {
        __m256i c = compress10_v(_mm256_load_si256((const __m256i *)a->c + i));
        __m256i w = _mm256_madd_epi16(c, _mm256_set1_epi32(0x04000001)); /* c0 + 2^10 c1 */
        /* 64-bit lanes: p0 + 2^32 p1 -> p0 + 2^20 p1 (40 bits) */
        w = _mm256_or_si256(
            _mm256_and_si256(w, _mm256_set1_epi64x(0xFFFFFFFF)),
            _mm256_andnot_si256(_mm256_set1_epi64x(0xFFFFF), _mm256_srli_epi64(w, 12)));
        w = _mm256_shuffle_epi8(w, idx); /* 10 bytes at the start of each 128-bit lane */
        __m128i lo = _mm256_castsi256_si128(w), hi = _mm256_extracti128_si256(w, 1);
        if (i < 15) {
            /* 16-byte stores; the garbage tails are overwritten by later stores. */
            _mm_storeu_si128((__m128i *)(r + 20 * i), lo);
            _mm_storeu_si128((__m128i *)(r + 20 * i + 10), hi);
        } else {
            uint8_t t[32] __attribute__((aligned(16)));
            _mm_store_si128((__m128i *)t, lo);
            _mm_store_si128((__m128i *)(t + 16), hi);
            memcpy(r + 20 * i, t, 10);
            memcpy(r + 20 * i + 10, t + 16, 10);
        }
    }
}

/* ByteDecode_10 then Decompress_10: per 128-bit lane, 10 bytes -> 8 values;
 * value i sits at bit 10 i: a byte pair shifted by 0, 2, 4 or 6. */
void poly_decompress10(pqt_poly *r, const uint8_t a[320])
{
    const __m256i idx = _mm256_setr_epi8(0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 0, 1, 1, 2,
                                         2, 3, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9);
    const __m256i sh = _mm256_setr_epi16(64, 16, 4, 1, 64, 16, 4, 1, 64, 16, 4, 1, 64, 16, 4, 1);
    for (unsigned i = 0; i < 16; i++) {
        __m256i v;
        if (i < 15) {
            v = _mm256_loadu2_m128i((const __m128i *)(a + 20 * i + 10),
                                    (const __m128i *)(a + 20 * i));
        } else {
            uint8_t t[32] __attribute__((aligned(16))) = {0};
            memcpy(t, a + 20 * i, 10);
            memcpy(t + 16, a + 20 * i + 10, 10);
            v = _mm256_load_si256((const __m256i *)t);
        }
        v = _mm256_shuffle_epi8(v, idx);
        v = _mm256_srli_epi16(_mm256_mullo_epi16(v, sh), 6);
        _mm256_store_si256((__m256i *)r->c + i, decompress_v(v, 10));
    }
}

/* Compress_4: round(2^4 x / q) = round(floor(x * 630 / 2^16) / 2), verified
 * against the definition for every x in [0, q). */
static inline __m256i compress4_v(__m256i x)
{
    __m256i y = _mm256_mulhi_epu16(x, _mm256_set1_epi16(630));
    y = _mm256_mulhrs_epi16(y, _mm256_set1_epi16(1 << 14));
    return _mm256_and_si256(y, _mm256_set1_epi16(15));
}

/* ByteEncode_4 of Compress_4: 64 values -> 32 bytes per step. Packing to
 * bytes works within 128-bit lanes; the final dword permutation restores
 * the order. */
void poly_compress4(uint8_t r[128], const pqt_poly *a)
{
    const __m256i nib = _mm256_set1_epi16(0x1001); /* bytes (1, 16): c0 + 16 c1 */
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i *c = (const __m256i *)a->c;
    for (unsigned i = 0; i < 4; i++) {
        __m256i c0 = compress4_v(_mm256_load_si256(c + 4 * i));
        __m256i c1 = compress4_v(_mm256_load_si256(c + 4 * i + 1));
        __m256i c2 = compress4_v(_mm256_load_si256(c + 4 * i + 2));
        __m256i c3 = compress4_v(_mm256_load_si256(c + 4 * i + 3));
        __m256i m01 = _mm256_maddubs_epi16(_mm256_packus_epi16(c0, c1), nib);
        __m256i m23 = _mm256_maddubs_epi16(_mm256_packus_epi16(c2, c3), nib);
        __m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(m01, m23), perm);
        _mm256_storeu_si256((__m256i *)(r + 32 * i), b);
    }
}

void poly_decompress4(pqt_poly *r, const uint8_t a[128])
{
    const __m128i m0f = _mm_set1_epi8(0x0F);
    for (unsigned i = 0; i < 16; i++) {
        __m128i t = _mm_loadl_epi64((const __m128i *)(a + 8 * i));
        __m128i lo = _mm_and_si128(t, m0f);
        __m128i hi = _mm_and_si128(_mm_srli_epi16(t, 4), m0f);
        __m256i y = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(lo, hi));
        _mm256_store_si256((__m256i *)r->c + i, decompress_v(y, 4));
    }
}

/* Decompress_1 of a 32-byte message: bit j of m[i] becomes (q+1)/2 or 0 at
 * coefficient 8i + j, by mask (no branch on m). */
void poly_frommsg(pqt_poly *r, const uint8_t m[32])
{
    const __m256i bits = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
                                           8192, 16384, (int16_t)-32768);
    const __m256i half = _mm256_set1_epi16((MLKEM_Q + 1) / 2);
    for (unsigned i = 0; i < 16; i++) {
        int16_t w = (int16_t)(m[2 * i] | (m[2 * i + 1] << 8));
        __m256i t = _mm256_and_si256(_mm256_set1_epi16(w), bits);
        t = _mm256_cmpeq_epi16(t, bits);
        _mm256_store_si256((__m256i *)r->c + i, _mm256_and_si256(t, half));
    }
}

/* Compress_1 into 32 bytes: bit = 1 iff x in [833, 2496], i.e. round(2x/q)
 * is odd. In: [0, q). */
void poly_tomsg(uint8_t m[32], const pqt_poly *a)
{
    const __m256i lo = _mm256_set1_epi16(832), hi = _mm256_set1_epi16(2497);
    for (unsigned i = 0; i < 8; i++) {
        __m256i x0 = _mm256_load_si256((const __m256i *)a->c + 2 * i);
        __m256i x1 = _mm256_load_si256((const __m256i *)a->c + 2 * i + 1);
        __m256i t0 = _mm256_and_si256(_mm256_cmpgt_epi16(x0, lo), _mm256_cmpgt_epi16(hi, x0));
        __m256i t1 = _mm256_and_si256(_mm256_cmpgt_epi16(x1, lo), _mm256_cmpgt_epi16(hi, x1));
        __m256i t = _mm256_permute4x64_epi64(_mm256_packs_epi16(t0, t1), 0xD8);
        uint32_t bitsv = (uint32_t)_mm256_movemask_epi8(t);
        memcpy(m + 4 * i, &bitsv, 4);
    }
}

/* ---- Sampling (FIPS 203 Algorithms 7 and 8) ---- */

/*
 * Rejection sampling of 12-bit values < q into r[ctr..255], from buf. Runs
 * on public data (rho): it branches and indexes rej_idx by the accept mask.
 * buf must have 8 readable bytes past buflen (32-byte loads of 24-byte
 * chunks). Returns the new count; the order of accepted values is that of
 * FIPS 203 Algorithm 7.
 */
static unsigned rej_uniform_avx2(int16_t *r, unsigned ctr, const uint8_t *buf, unsigned buflen)
{
    const __m256i q = v_q();
    unsigned pos = 0;
    while (ctr <= 256 - 16 && pos + 24 <= buflen) {
        __m256i v = unpack12(_mm256_loadu_si256((const __m256i *)(buf + pos)));
        pos += 24;
        uint32_t good = (uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi16(q, v));
        good = _pext_u32(good, 0x55555555u); /* one bit per 16-bit lane */
        __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
        lo = _mm_shuffle_epi8(lo, _mm_load_si128((const __m128i *)rej_idx[good & 0xFF]));
        hi = _mm_shuffle_epi8(hi, _mm_load_si128((const __m128i *)rej_idx[good >> 8]));
        _mm_storeu_si128((__m128i *)(r + ctr), lo);
        ctr += (unsigned)_mm_popcnt_u32(good & 0xFF);
        _mm_storeu_si128((__m128i *)(r + ctr), hi);
        ctr += (unsigned)_mm_popcnt_u32(good >> 8);
    }
    while (ctr < 256 && pos + 3 <= buflen) {
        uint16_t v0 = (uint16_t)((buf[pos] | ((uint16_t)buf[pos + 1] << 8)) & 0xFFF);
        uint16_t v1 = (uint16_t)((buf[pos + 1] >> 4) | ((uint16_t)buf[pos + 2] << 4));
        pos += 3;
        if (v0 < MLKEM_Q) {
            r[ctr++] = (int16_t)v0;
        }
        if (ctr < 256 && v1 < MLKEM_Q) {
            r[ctr++] = (int16_t)v1;
        }
    }
    return ctr;
}

/* 3 blocks of SHAKE128 (336 candidates) give the 256 values of an entry
 * with probability 0.9917; the other entries squeeze more blocks. */
#define GEN_MATRIX_NBLOCKS 3
#define GEN_MATRIX_BUFLEN (GEN_MATRIX_NBLOCKS * PQT_SHAKE128_RATE)

/* Store a standard-order polynomial (rejection sampling output) in the
 * transposed NTT-domain order. */
static inline void store_transposed(pqt_poly *p, const int16_t *std)
{
    __m256i v[16];
    for (unsigned i = 0; i < 16; i++) {
        v[i] = _mm256_loadu_si256((const __m256i *)(std + 16 * i));
    }
    transpose16(v);
    store16(p->c, v);
}

/*
 * A-hat[i][j] = SampleNTT(rho || j || i); transposed swaps the two bytes.
 * Out: NTT domain (transposed order), [0, q). Four entries at a time; with
 * h, also h = H(ek) (SHA3-256), for encapsulation: while that hash is
 * unfinished, lanes 0..2 sample three entries and lane 3 absorbs one block
 * of ek per permutation. For ML-KEM-768 that is 9 four-way permutations
 * for the 9 entries and the 9 blocks of H(ek), where separately they took
 * 6 four-way and 12 scalar ones.
 */
static void gen_matrix_x4(pqt_poly *a, const uint8_t rho[32], int transposed, unsigned k,
                          uint8_t *h, const uint8_t *ek, size_t eklen)
{
    uint8_t seed[4][34];
    uint8_t buf[4][GEN_MATRIX_BUFLEN + 8] __attribute__((aligned(32)));
    int16_t tmp[4][256] __attribute__((aligned(32)));
    unsigned ctr[4];
    __m256i st[25];
    pqt_keccakx4_lane3_sha3 hl;
    const unsigned n = k * k;

    pqt_keccakx4_lane3_sha3_init(&hl, h != NULL ? ek : NULL, eklen);
    for (unsigned i = 0; i < 25; i++) {
        st[i] = _mm256_setzero_si256();
    }
    for (unsigned e0 = 0, cnt; e0 < n; e0 += cnt) {
        const unsigned width = hl.done ? 4 : 3;
        cnt = n - e0 < width ? n - e0 : width;
        for (unsigned l = 0; l < 4; l++) {
            unsigned e = e0 + (l < cnt ? l : 0); /* unused lanes repeat entry e0 */
            unsigned i = e / k, j = e % k;
            memcpy(seed[l], rho, 32);
            seed[l][32] = (uint8_t)(transposed ? i : j);
            seed[l][33] = (uint8_t)(transposed ? j : i);
        }
        if (cnt == 1 && hl.done) {
            /* A single entry (k = 3): one scalar sponge is cheaper than four. */
            uint64_t s1[25];
            pqt_shake128_absorb_once(s1, seed[0], 34);
            pqt_shake128_squeezeblocks(buf[0], GEN_MATRIX_NBLOCKS, s1);
            ctr[0] = rej_uniform_avx2(tmp[0], 0, buf[0], GEN_MATRIX_BUFLEN);
            while (ctr[0] < 256) {
                pqt_shake128_squeezeblocks(buf[0], 1, s1);
                ctr[0] = rej_uniform_avx2(tmp[0], ctr[0], buf[0], PQT_SHAKE128_RATE);
            }
        } else {
            if (width == 4) {
                pqt_keccakx4_absorb_once(st, PQT_SHAKE128_RATE, seed[0], seed[1], seed[2], seed[3],
                                         34);
            } else {
                pqt_keccakx4_absorb_once_lanes012(st, PQT_SHAKE128_RATE, seed[0], seed[1], seed[2],
                                                  34);
            }
            pqt_keccakx4_squeezeblocks_lane3(buf[0], buf[1], buf[2], buf[3], GEN_MATRIX_NBLOCKS,
                                             PQT_SHAKE128_RATE, st, &hl);
            unsigned done = 1;
            for (unsigned l = 0; l < cnt; l++) {
                ctr[l] = rej_uniform_avx2(tmp[l], 0, buf[l], GEN_MATRIX_BUFLEN);
                done &= ctr[l] == 256;
            }
            while (!done) {
                pqt_keccakx4_squeezeblocks_lane3(buf[0], buf[1], buf[2], buf[3], 1,
                                                 PQT_SHAKE128_RATE, st, &hl);
                done = 1;
                for (unsigned l = 0; l < cnt; l++) {
                    ctr[l] = rej_uniform_avx2(tmp[l], ctr[l], buf[l], PQT_SHAKE128_RATE);
                    done &= ctr[l] == 256;
                }
            }
        }
        for (unsigned l = 0; l < cnt; l++) {
            store_transposed(&a[e0 + l], tmp[l]);
        }
    }
    if (h != NULL) {
        pqt_keccakx4_lane3_sha3_finish(st, &hl);
        memcpy(h, hl.out, 32);
    }
}

void gen_matrix(pqt_poly *a, const uint8_t rho[32], int transposed, unsigned k)
{
    gen_matrix_x4(a, rho, transposed, k, NULL, NULL, 0);
}

/* Encapsulation's A-hat^T and H(ek) in shared permutations. */
void gen_matrix_hash(pqt_poly *a, const uint8_t rho[32], unsigned k, uint8_t h[32],
                     const uint8_t *ek, size_t eklen)
{
    gen_matrix_x4(a, rho, 1, k, h, ek, eklen);
}

/*
 * SamplePolyCBD_2 (Algorithm 8, eta = 2): 128 bytes -> 256 coefficients.
 * Per byte, d = (b & 0x55) + ((b >> 1) & 0x55) holds four 2-bit sums;
 * coefficient 2i + h = sum(2h) - sum(2h + 1) of byte i, formed as
 * nibble (x + 3 - y) - 3 without borrows between nibbles.
 */
static inline void cbd2_avx2(pqt_poly *r, const uint8_t buf[128])
{
    const __m128i m55 = _mm_set1_epi8(0x55), m33 = _mm_set1_epi8(0x33);
    const __m128i m0f = _mm_set1_epi8(0x0F);
    const __m256i three = _mm256_set1_epi16(3);
    for (unsigned i = 0; i < 8; i++) {
        __m128i t = _mm_loadu_si128((const __m128i *)(buf + 16 * i));
        __m128i d = _mm_add_epi8(_mm_and_si128(t, m55), _mm_and_si128(_mm_srli_epi16(t, 1), m55));
        __m128i x = _mm_and_si128(d, m33);
        __m128i y = _mm_and_si128(_mm_srli_epi16(d, 2), m33);
        __m128i z = _mm_sub_epi8(_mm_add_epi8(x, m33), y);
        __m128i lo = _mm_and_si128(z, m0f);
        __m128i hi = _mm_and_si128(_mm_srli_epi16(z, 4), m0f);
        __m256i c0 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(lo, hi));
        __m256i c1 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(lo, hi));
        _mm256_store_si256((__m256i *)r->c + 2 * i, _mm256_sub_epi16(c0, three));
        _mm256_store_si256((__m256i *)r->c + 2 * i + 1, _mm256_sub_epi16(c1, three));
    }
}

/*
 * SamplePolyCBD_3 (eta = 3): 192 bytes -> 256 coefficients. Each 12-bit
 * half of a byte triple gives two coefficients: with d the four 3-bit sums,
 * c = sum0 - sum1 and sum2 - sum3. buf needs 8 readable bytes past 192.
 */
static inline void cbd3_avx2(pqt_poly *r, const uint8_t *buf)
{
    const __m256i m249 = _mm256_set1_epi16(0x249), m7 = _mm256_set1_epi16(7);
    for (unsigned i = 0; i < 8; i++) {
        __m256i v = unpack12(_mm256_loadu_si256((const __m256i *)(buf + 24 * i)));
        __m256i d = _mm256_add_epi16(_mm256_and_si256(v, m249),
                                     _mm256_and_si256(_mm256_srli_epi16(v, 1), m249));
        d = _mm256_add_epi16(d, _mm256_and_si256(_mm256_srli_epi16(v, 2), m249));
        __m256i ev = _mm256_sub_epi16(_mm256_and_si256(d, m7),
                                      _mm256_and_si256(_mm256_srli_epi16(d, 3), m7));
        __m256i od = _mm256_sub_epi16(_mm256_and_si256(_mm256_srli_epi16(d, 6), m7),
                                      _mm256_srli_epi16(d, 9));
        __m256i lo = _mm256_unpacklo_epi16(ev, od); /* coeffs 0..7 | 16..23 */
        __m256i hi = _mm256_unpackhi_epi16(ev, od); /* coeffs 8..15 | 24..31 */
        _mm256_store_si256((__m256i *)r->c + 2 * i, _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_store_si256((__m256i *)r->c + 2 * i + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}

/*
 * n1 polynomials with eta1 then n2 with eta2, from PRF(seed, nonce0 + i)
 * = SHAKE256(seed || N), four PRF calls at a time. Out: |c| <= eta, natural
 * order.
 */
void sample_noise(pqt_poly *out, unsigned n1, unsigned eta1, unsigned n2, unsigned eta2,
                  const uint8_t seed[32], uint8_t nonce0)
{
    uint8_t ext[4][33];
    uint8_t buf[4][2 * PQT_SHAKE256_RATE] __attribute__((aligned(32)));
    __m256i st[25];
    const unsigned n = n1 + n2;
    for (unsigned l = 0; l < 4; l++) {
        memcpy(ext[l], seed, 32);
    }
    for (unsigned i0 = 0; i0 < n; i0 += 4) {
        unsigned cnt = n - i0 < 4 ? n - i0 : 4;
        unsigned nblocks = 1;
        for (unsigned l = 0; l < 4; l++) {
            ext[l][32] = (uint8_t)(nonce0 + i0 + l);
            if (l < cnt && (i0 + l < n1 ? eta1 : eta2) == 3) {
                nblocks = 2; /* 192 bytes; eta = 2 needs 128 */
            }
        }
        pqt_keccakx4_absorb_once(st, PQT_SHAKE256_RATE, ext[0], ext[1], ext[2], ext[3], 33);
        pqt_keccakx4_squeezeblocks(buf[0], buf[1], buf[2], buf[3], nblocks, PQT_SHAKE256_RATE, st);
        for (unsigned l = 0; l < cnt; l++) {
            if ((i0 + l < n1 ? eta1 : eta2) == 2) {
                cbd2_avx2(&out[i0 + l], buf[l]);
            } else {
                cbd3_avx2(&out[i0 + l], buf[l]);
            }
        }
    }
    pqt_ct_wipe(ext, sizeof(ext));
    pqt_ct_wipe(buf, sizeof(buf));
    pqt_ct_wipe(st, sizeof(st));
}

/*
 * Key generation's Keccak work as one four-lane schedule: the k * k entries
 * of A-hat (SHAKE128, squeezed a block at a time until rejection sampling
 * has its 256 values) and the 2k noise polynomials s, e (SHAKE256 of sigma
 * and nonces 0..2k-1, one or two blocks). A lane takes the next job as
 * soon as its own is done, so ML-KEM-768's ninth entry shares permutations
 * with the noise instead of running three scalar ones, and an entry that
 * needs a fourth block holds up no other lane. Out: a as
 * gen_matrix(a, rho, 0, k); noise[0..k-1] = s, noise[k..2k-1] = e, as
 * sample_noise. Which lane a job lands on depends only on public rho.
 */
void gen_matrix_noise(pqt_poly *a, pqt_poly *noise, const uint8_t rho[32], const uint8_t sigma[32],
                      unsigned k, unsigned eta1)
{
    union {
        __m256i v[25];
        uint64_t w[25][4];
    } st;
    uint8_t blk[4][PQT_SHAKE128_RATE + 8] __attribute__((aligned(32)));
    uint8_t nbuf[4][2 * PQT_SHAKE256_RATE + 8] __attribute__((aligned(32)));
    int16_t tmp[4][256] __attribute__((aligned(32)));
    unsigned job[4] = {0}, got[4] = {0};
    int busy[4] = {0};
    const unsigned nmat = k * k, njobs = nmat + 2 * k, noise_blocks = eta1 == 3 ? 2 : 1;
    unsigned next = 0, finished = 0;

    if (k == 4) {
        /* 16 entries and 8 noise polynomials fill whole four-lane batches
         * anyway; the batched forms cost less than this schedule. */
        gen_matrix(a, rho, 0, k);
        sample_noise(noise, k, eta1, 0, eta1, sigma, 0);
        sample_noise(noise + k, k, eta1, 0, eta1, sigma, (uint8_t)k);
        return;
    }
    memset(&st, 0, sizeof(st));
    memset(nbuf, 0, sizeof(nbuf));
    while (finished < njobs) {
        for (unsigned l = 0; l < 4; l++) {
            if (busy[l] || next == njobs) {
                continue;
            }
            /* A new sponge in lane l: one padded block of seed || 0x1F ... 0x80. */
            uint8_t in[PQT_SHAKE128_RATE] = {0};
            unsigned rate;
            if (next < nmat) {
                memcpy(in, rho, 32);
                in[32] = (uint8_t)(next % k); /* A-hat[i][j] from rho || j || i */
                in[33] = (uint8_t)(next / k);
                in[34] = 0x1F;
                rate = PQT_SHAKE128_RATE;
            } else {
                memcpy(in, sigma, 32);
                in[32] = (uint8_t)(next - nmat);
                in[33] = 0x1F;
                rate = PQT_SHAKE256_RATE;
            }
            in[rate - 1] |= 0x80;
            for (unsigned i = 0; i < 25; i++) {
                uint64_t v = 0;
                if (i < rate / 8) {
                    memcpy(&v, in + 8 * i, 8);
                }
                st.w[i][l] = v;
            }
            pqt_ct_wipe(in, sizeof(in));
            job[l] = next++;
            got[l] = 0;
            busy[l] = 1;
        }
        pqt_keccakx4_f1600(st.v);
        pqt_keccakx4_extractblocks(blk[0], blk[1], blk[2], blk[3], PQT_SHAKE128_RATE, st.v);
        for (unsigned l = 0; l < 4; l++) {
            if (!busy[l]) {
                continue;
            }
            if (job[l] < nmat) {
                got[l] = rej_uniform_avx2(tmp[l], got[l], blk[l], PQT_SHAKE128_RATE);
                if (got[l] == 256) {
                    store_transposed(&a[job[l]], tmp[l]);
                    busy[l] = 0;
                    finished++;
                }
            } else {
                memcpy(nbuf[l] + PQT_SHAKE256_RATE * got[l], blk[l], PQT_SHAKE256_RATE);
                if (++got[l] == noise_blocks) {
                    if (eta1 == 2) {
                        cbd2_avx2(&noise[job[l] - nmat], nbuf[l]);
                    } else {
                        cbd3_avx2(&noise[job[l] - nmat], nbuf[l]);
                    }
                    busy[l] = 0;
                    finished++;
                }
            }
        }
    }
    pqt_ct_wipe(&st, sizeof(st));
    pqt_ct_wipe(blk, sizeof(blk));
    pqt_ct_wipe(nbuf, sizeof(nbuf));
}
