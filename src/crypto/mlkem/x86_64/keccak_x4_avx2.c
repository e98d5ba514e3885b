/*
 * Keccak-f[1600] x4 in AVX2 (FIPS 202 §3). Same round structure as the
 * scalar crypto/keccak/keccak.c: each output plane is computed from its five
 * pi-preimage lanes, two rounds per loop iteration swap the A and E sets.
 * AVX2 has no 64-bit rotate: rotations are shift+shift+or, except by 8 and
 * 56 bits, which are byte shuffles. On CPUs with AVX-512VL the permutation
 * itself runs as keccak_x4_avx512.c instead (chosen in pqt_keccakx4_f1600).
 */
#include <string.h>

#include "ct.h"
#include "keccak/keccak_impl.h"
#include "mlkem/x86_64/keccak_x4_avx2.h"

#define XOR(a, b) _mm256_xor_si256((a), (b))
#define ROL(x, n) _mm256_or_si256(_mm256_slli_epi64((x), (n)), _mm256_srli_epi64((x), 64 - (n)))
#define ROL8(x) _mm256_shuffle_epi8((x), rot8)
#define ROL56(x) _mm256_shuffle_epi8((x), rot56)
/* chi: b ^ (~c & d) */
#define CHI(b, c, d) XOR((b), _mm256_andnot_si256((c), (d)))

/* theta parity: five lanes, two at a time. */
#define XOR5(a, b, c, d, e) XOR(XOR(XOR((a), (b)), XOR((c), (d))), (e))

#include "mlkem/x86_64/keccak_x4_round.h"

void pqt_keccakx4_f1600_avx2(__m256i s[25])
{
    /* Byte permutations that rotate each 64-bit lane left by 8 and by 56. */
    const __m256i rot8 = _mm256_setr_epi8(7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14, 7,
                                          0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14);
    const __m256i rot56 = _mm256_setr_epi8(1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8, 1,
                                           2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8);
    KECCAKX4_PERMUTE(s);
}

/* The choice depends only on the CPU (and the test cap), never on the data. */
void pqt_keccakx4_f1600(__m256i s[25])
{
    if (pqt_keccak_max_impl() >= PQT_KECCAK_AVX512 && pqt_cpu_has_avx512vl()) {
        pqt_keccakx4_f1600_avx512(s);
        return;
    }
    pqt_keccakx4_f1600_avx2(s);
}

static inline uint64_t load64_le(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* x86-64 is little-endian */
    return v;
}

void pqt_keccakx4_absorb_once(__m256i s[25], unsigned rate, const uint8_t *in0, const uint8_t *in1,
                              const uint8_t *in2, const uint8_t *in3, size_t len)
{
    /* One padded block per instance: in || 0x1F || 0.. || 0x80 (FIPS 202
     * §5.1, with the SHAKE suffix 1111 of §6.2); len < rate. Lanes 0..len/8
     * carry the input, the last of them partial with the domain byte. */
    const uint8_t *in[4] = {in0, in1, in2, in3};
    const unsigned full = (unsigned)(len / 8), rest = (unsigned)(len % 8);
    uint64_t w[4];
    uint8_t t[8];
    for (unsigned i = 0; i < 25; i++) {
        s[i] = _mm256_setzero_si256();
    }
    for (unsigned i = 0; i < full; i++) {
        for (unsigned j = 0; j < 4; j++) {
            w[j] = load64_le(in[j] + 8 * i);
        }
        s[i] = _mm256_loadu_si256((const __m256i *)w);
    }
    for (unsigned j = 0; j < 4; j++) {
        memset(t, 0, sizeof(t));
        memcpy(t, in[j] + 8 * full, rest);
        t[rest] = 0x1F;
        w[j] = load64_le(t);
    }
    s[full] = _mm256_loadu_si256((const __m256i *)w);
    s[rate / 8 - 1] =
        _mm256_xor_si256(s[rate / 8 - 1], _mm256_set1_epi64x((long long)(1ULL << 63)));
    pqt_ct_wipe(w, sizeof(w));
    pqt_ct_wipe(t, sizeof(t));
}

/* Output one block of rate bytes from each of the four instances. */
void pqt_keccakx4_extractblocks(uint8_t *out0, uint8_t *out1, uint8_t *out2, uint8_t *out3,
                                unsigned rate, const __m256i s[25])
{
    /* Transpose lanes four at a time: 4 x (4 x 64-bit) -> 4 x 32 bytes. */
    unsigned i = 0;
    for (; i + 4 <= rate / 8; i += 4) {
        __m256i t0 = _mm256_unpacklo_epi64(s[i], s[i + 1]);
        __m256i t1 = _mm256_unpackhi_epi64(s[i], s[i + 1]);
        __m256i t2 = _mm256_unpacklo_epi64(s[i + 2], s[i + 3]);
        __m256i t3 = _mm256_unpackhi_epi64(s[i + 2], s[i + 3]);
        _mm256_storeu_si256((__m256i *)(out0 + 8 * i), _mm256_permute2x128_si256(t0, t2, 0x20));
        _mm256_storeu_si256((__m256i *)(out1 + 8 * i), _mm256_permute2x128_si256(t1, t3, 0x20));
        _mm256_storeu_si256((__m256i *)(out2 + 8 * i), _mm256_permute2x128_si256(t0, t2, 0x31));
        _mm256_storeu_si256((__m256i *)(out3 + 8 * i), _mm256_permute2x128_si256(t1, t3, 0x31));
    }
    for (; i < rate / 8; i++) {
        uint64_t w[4];
        _mm256_storeu_si256((__m256i *)w, s[i]);
        memcpy(out0 + 8 * i, &w[0], 8);
        memcpy(out1 + 8 * i, &w[1], 8);
        memcpy(out2 + 8 * i, &w[2], 8);
        memcpy(out3 + 8 * i, &w[3], 8);
    }
}

void pqt_keccakx4_squeezeblocks(uint8_t *out0, uint8_t *out1, uint8_t *out2, uint8_t *out3,
                                size_t nblocks, unsigned rate, __m256i s[25])
{
    pqt_keccakx4_squeezeblocks_lane3(out0, out1, out2, out3, nblocks, rate, s, NULL);
}

/* Next padded 136-byte block of a rate-136 sponge input, or 0 when done.
 * pos is how many input bytes were consumed; the final block carries the
 * domain byte ds and the closing 0x80 (FIPS 202 §5.1 pad10*1). */
static int next_block136(uint8_t blk[136], const uint8_t *in, size_t len, size_t *pos, uint8_t ds,
                         int *done)
{
    if (*done) {
        return 0;
    }
    size_t take = len - *pos < 136 ? len - *pos : 136;
    memset(blk, 0, 136);
    memcpy(blk, in + *pos, take);
    *pos += take;
    if (take < 136) {
        blk[take] ^= ds;
        blk[135] ^= 0x80;
        *done = 1;
    }
    return 1;
}

int pqt_keccakx4_sha3_256_shake256(uint8_t h[32], const uint8_t *in0, size_t len0, uint8_t j[32],
                                   const uint8_t *in1, size_t len1)
{
    /* Both functions have rate 136; they can share one 4-way permutation per
     * block only when they need the same number of blocks. */
    if (len0 / 136 != len1 / 136) {
        return -1;
    }
    __m256i s[25];
    uint8_t b0[136], b1[136];
    size_t p0 = 0, p1 = 0;
    int d0 = 0, d1 = 0;
    for (unsigned i = 0; i < 25; i++) {
        s[i] = _mm256_setzero_si256();
    }
    while (next_block136(b0, in0, len0, &p0, 0x06, &d0) &&
           next_block136(b1, in1, len1, &p1, 0x1F, &d1)) {
        for (unsigned i = 0; i < 17; i++) {
            s[i] = _mm256_xor_si256(s[i], _mm256_set_epi64x(0, 0, (long long)load64_le(b1 + 8 * i),
                                                            (long long)load64_le(b0 + 8 * i)));
        }
        pqt_keccakx4_f1600(s);
    }
    uint64_t lanes[4][4];
    for (unsigned i = 0; i < 4; i++) {
        _mm256_storeu_si256((__m256i *)lanes[i], s[i]);
    }
    for (unsigned i = 0; i < 4; i++) {
        for (unsigned k = 0; k < 8; k++) {
            h[8 * i + k] = (uint8_t)(lanes[i][0] >> (8 * k));
            j[8 * i + k] = (uint8_t)(lanes[i][1] >> (8 * k));
        }
    }
    pqt_ct_wipe(s, sizeof(s));
    pqt_ct_wipe(b0, sizeof(b0));
    pqt_ct_wipe(b1, sizeof(b1));
    pqt_ct_wipe(lanes, sizeof(lanes));
    return 0;
}

void pqt_keccakx4_lane3_sha3_init(pqt_keccakx4_lane3_sha3 *h, const uint8_t *in, size_t len)
{
    h->in = in;
    h->len = len;
    h->pos = 0;
    h->last = 0;
    h->done = in == NULL; /* no hash: lane 3 is free from the start */
}

/* Before a permutation: lane 3 takes its next padded block. */
static void lane3_absorb(__m256i s[25], pqt_keccakx4_lane3_sha3 *h)
{
    uint8_t blk[136];
    (void)next_block136(blk, h->in, h->len, &h->pos, 0x06, &h->last);
    for (unsigned i = 0; i < 17; i++) {
        s[i] =
            _mm256_xor_si256(s[i], _mm256_set_epi64x((long long)load64_le(blk + 8 * i), 0, 0, 0));
    }
}

/* After it: once the final block went through, the digest is lane 3's
 * first 32 bytes (FIPS 202 SHA3-256: d = 256 < r). */
static void lane3_after(const __m256i s[25], pqt_keccakx4_lane3_sha3 *h)
{
    if (!h->last) {
        return;
    }
    for (unsigned i = 0; i < 4; i++) {
        uint64_t v = (uint64_t)_mm256_extract_epi64(s[i], 3);
        memcpy(h->out + 8 * i, &v, 8);
    }
    h->done = 1;
}

void pqt_keccakx4_absorb_once_lanes012(__m256i s[25], unsigned rate, const uint8_t *in0,
                                       const uint8_t *in1, const uint8_t *in2, size_t len)
{
    __m256i n[25];
    pqt_keccakx4_absorb_once(n, rate, in0, in1, in2, in2, len);
    for (unsigned i = 0; i < 25; i++) {
        s[i] = _mm256_blend_epi32(n[i], s[i], 0xC0); /* keep lane 3 */
    }
}

void pqt_keccakx4_squeezeblocks_lane3(uint8_t *out0, uint8_t *out1, uint8_t *out2, uint8_t *out3,
                                      size_t nblocks, unsigned rate, __m256i s[25],
                                      pqt_keccakx4_lane3_sha3 *h)
{
    while (nblocks-- > 0) {
        int hashing = h != NULL && !h->done;
        if (hashing) {
            lane3_absorb(s, h);
        }
        pqt_keccakx4_f1600(s);
        if (hashing) {
            lane3_after(s, h);
        }
        pqt_keccakx4_extractblocks(out0, out1, out2, out3, rate, s);
        out0 += rate, out1 += rate, out2 += rate, out3 += rate;
    }
}

void pqt_keccakx4_lane3_sha3_finish(__m256i s[25], pqt_keccakx4_lane3_sha3 *h)
{
    while (!h->done) {
        lane3_absorb(s, h);
        pqt_keccakx4_f1600(s);
        lane3_after(s, h);
    }
}
