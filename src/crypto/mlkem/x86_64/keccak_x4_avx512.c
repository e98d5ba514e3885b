/*
 * Keccak-f[1600] x4 with AVX-512F + AVX-512VL on ymm registers (FIPS 202
 * §3): the same lane layout, round structure and interface as
 * keccak_x4_avx2.c, with two instructions AVX2 lacks. VPROLQ rotates each
 * 64-bit lane in one instruction (AVX2: two shifts and an OR), and VPTERNLOGQ
 * computes any function of three inputs: chi's b ^ (~c & d) in one
 * instruction (truth table 0xD2) and theta's five-lane parity in two (0x96,
 * three-way XOR). EVEX encoding also gives 32 vector registers, so more of
 * the state stays in registers. Compiled with -mavx2 -mavx512f -mavx512vl;
 * pqt_keccakx4_f1600 calls it only when pqt_cpu_has_avx512vl().
 */
#include "crypto/mlkem/x86_64/keccak_x4_avx2.h"


#define XOR(a, b) _mm256_xor_si256((a), (b))
#define ROL(x, n) _mm256_rol_epi64((x), (n))
/* a ^ b ^ c: truth table 0x96 (bit 4a + 2b + c of the immediate is the output). */
#define XOR3(a, b, c) _mm256_ternarylogic_epi64((a), (b), (c), 0x96)
#define XOR5(a, b, c, d, e) XOR3(XOR3((a), (b), (c)), (d), (e))
/* chi: b ^ (~c & d), truth table 0xD2. */
#define CHI(b, c, d) _mm256_ternarylogic_epi64((b), (c), (d), 0xD2)

/* Byte-multiple rotations need no shuffle table here. */
#define ROL8(x) ROL((x), 8)
#define ROL56(x) ROL((x), 56)

#include "crypto/mlkem/x86_64/keccak_x4_round.h"

void pqt_keccakx4_f1600_avx512(__m256i s[25])
{
    __m256i a00 = s[0], a01 = s[1], a02 = s[2], a03 = s[3], a04 = s[4];
    __m256i a05 = s[5], a06 = s[6], a07 = s[7], a08 = s[8], a09 = s[9];
    __m256i a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14];
    __m256i a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19];
    __m256i a20 = s[20], a21 = s[21], a22 = s[22], a23 = s[23], a24 = s[24];
    __m256i e00, e01, e02, e03, e04, e05, e06, e07, e08, e09, e10, e11, e12;
    __m256i e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23, e24;
    __m256i b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;

    for (int r = 0; r < 24; r += 2) {
        ROUND(a, e, r);
        ROUND(e, a, r + 1);
    }
    s[0] = a00, s[1] = a01, s[2] = a02, s[3] = a03, s[4] = a04;
    s[5] = a05, s[6] = a06, s[7] = a07, s[8] = a08, s[9] = a09;
    s[10] = a10, s[11] = a11, s[12] = a12, s[13] = a13, s[14] = a14;
    s[15] = a15, s[16] = a16, s[17] = a17, s[18] = a18, s[19] = a19;
    s[20] = a20, s[21] = a21, s[22] = a22, s[23] = a23, s[24] = a24;
}
