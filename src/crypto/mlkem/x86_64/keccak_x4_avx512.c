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
#include "mlkem/x86_64/keccak_x4_avx2.h"

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

#include "mlkem/x86_64/keccak_x4_round.h"

void pqt_keccakx4_f1600_avx512(__m256i s[25])
{
    KECCAKX4_PERMUTE(s);
}
