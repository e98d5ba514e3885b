/*
 * The round of the four-way Keccak-f[1600] (FIPS 202 §3.2), shared by the
 * AVX2 and AVX-512VL permutations: each output plane is computed from its
 * five pi-preimage lanes, from state A into state E. The including file
 * defines the lane operations for its instruction set: XOR(a, b),
 * XOR5(a..e), ROL(x, n), ROL8(x), ROL56(x) and CHI(b, c, d) = b ^ (~c & d),
 * and declares the temporaries c0..c4, d0..d4, b0..b4.
 */
#ifndef PQT_CRYPTO_MLKEM_X86_64_KECCAK_X4_ROUND_H
#define PQT_CRYPTO_MLKEM_X86_64_KECCAK_X4_ROUND_H

#include <stdint.h>

static const uint64_t keccakx4_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* One round from state A into state E (names A00..A24, E00..E24). */
#define ROUND(A, E, r)                                                               \
    do {                                                                             \
        c0 = XOR5(A##00, A##05, A##10, A##15, A##20);                                \
        c1 = XOR5(A##01, A##06, A##11, A##16, A##21);                                \
        c2 = XOR5(A##02, A##07, A##12, A##17, A##22);                                \
        c3 = XOR5(A##03, A##08, A##13, A##18, A##23);                                \
        c4 = XOR5(A##04, A##09, A##14, A##19, A##24);                                \
        d0 = XOR(c4, ROL(c1, 1));                                                    \
        d1 = XOR(c0, ROL(c2, 1));                                                    \
        d2 = XOR(c1, ROL(c3, 1));                                                    \
        d3 = XOR(c2, ROL(c4, 1));                                                    \
        d4 = XOR(c3, ROL(c0, 1));                                                    \
        b0 = XOR(A##00, d0);                                                         \
        b1 = ROL(XOR(A##06, d1), 44);                                                \
        b2 = ROL(XOR(A##12, d2), 43);                                                \
        b3 = ROL(XOR(A##18, d3), 21);                                                \
        b4 = ROL(XOR(A##24, d4), 14);                                                \
        E##00 = XOR(CHI(b0, b1, b2), _mm256_set1_epi64x((long long)keccakx4_rc[r])); \
        E##01 = CHI(b1, b2, b3);                                                     \
        E##02 = CHI(b2, b3, b4);                                                     \
        E##03 = CHI(b3, b4, b0);                                                     \
        E##04 = CHI(b4, b0, b1);                                                     \
        b0 = ROL(XOR(A##03, d3), 28);                                                \
        b1 = ROL(XOR(A##09, d4), 20);                                                \
        b2 = ROL(XOR(A##10, d0), 3);                                                 \
        b3 = ROL(XOR(A##16, d1), 45);                                                \
        b4 = ROL(XOR(A##22, d2), 61);                                                \
        E##05 = CHI(b0, b1, b2);                                                     \
        E##06 = CHI(b1, b2, b3);                                                     \
        E##07 = CHI(b2, b3, b4);                                                     \
        E##08 = CHI(b3, b4, b0);                                                     \
        E##09 = CHI(b4, b0, b1);                                                     \
        b0 = ROL(XOR(A##01, d1), 1);                                                 \
        b1 = ROL(XOR(A##07, d2), 6);                                                 \
        b2 = ROL(XOR(A##13, d3), 25);                                                \
        b3 = ROL8(XOR(A##19, d4));                                                   \
        b4 = ROL(XOR(A##20, d0), 18);                                                \
        E##10 = CHI(b0, b1, b2);                                                     \
        E##11 = CHI(b1, b2, b3);                                                     \
        E##12 = CHI(b2, b3, b4);                                                     \
        E##13 = CHI(b3, b4, b0);                                                     \
        E##14 = CHI(b4, b0, b1);                                                     \
        b0 = ROL(XOR(A##04, d4), 27);                                                \
        b1 = ROL(XOR(A##05, d0), 36);                                                \
        b2 = ROL(XOR(A##11, d1), 10);                                                \
        b3 = ROL(XOR(A##17, d2), 15);                                                \
        b4 = ROL56(XOR(A##23, d3));                                                  \
        E##15 = CHI(b0, b1, b2);                                                     \
        E##16 = CHI(b1, b2, b3);                                                     \
        E##17 = CHI(b2, b3, b4);                                                     \
        E##18 = CHI(b3, b4, b0);                                                     \
        E##19 = CHI(b4, b0, b1);                                                     \
        b0 = ROL(XOR(A##02, d2), 62);                                                \
        b1 = ROL(XOR(A##08, d3), 55);                                                \
        b2 = ROL(XOR(A##14, d4), 39);                                                \
        b3 = ROL(XOR(A##15, d0), 41);                                                \
        b4 = ROL(XOR(A##21, d1), 2);                                                 \
        E##20 = CHI(b0, b1, b2);                                                     \
        E##21 = CHI(b1, b2, b3);                                                     \
        E##22 = CHI(b2, b3, b4);                                                     \
        E##23 = CHI(b3, b4, b0);                                                     \
        E##24 = CHI(b4, b0, b1);                                                     \
    } while (0)

/* The whole permutation of the four states in s[25]: lanes into locals,
 * 24 rounds two at a time (A into E, E back into A), lanes back. */
#define KECCAKX4_PERMUTE(s)                                                      \
    do {                                                                         \
        __m256i a00 = s[0], a01 = s[1], a02 = s[2], a03 = s[3], a04 = s[4];      \
        __m256i a05 = s[5], a06 = s[6], a07 = s[7], a08 = s[8], a09 = s[9];      \
        __m256i a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14]; \
        __m256i a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19]; \
        __m256i a20 = s[20], a21 = s[21], a22 = s[22], a23 = s[23], a24 = s[24]; \
        __m256i e00, e01, e02, e03, e04, e05, e06, e07, e08, e09, e10, e11, e12; \
        __m256i e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23, e24;      \
        __m256i b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;      \
                                                                                 \
        for (int r = 0; r < 24; r += 2) {                                        \
            ROUND(a, e, r);                                                      \
            ROUND(e, a, r + 1);                                                  \
        }                                                                        \
        s[0] = a00, s[1] = a01, s[2] = a02, s[3] = a03, s[4] = a04;              \
        s[5] = a05, s[6] = a06, s[7] = a07, s[8] = a08, s[9] = a09;              \
        s[10] = a10, s[11] = a11, s[12] = a12, s[13] = a13, s[14] = a14;         \
        s[15] = a15, s[16] = a16, s[17] = a17, s[18] = a18, s[19] = a19;         \
        s[20] = a20, s[21] = a21, s[22] = a22, s[23] = a23, s[24] = a24;         \
    } while (0)

#endif
