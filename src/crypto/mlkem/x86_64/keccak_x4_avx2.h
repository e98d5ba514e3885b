/*
 * Four independent Keccak-f[1600] states side by side in AVX2 registers:
 * lane i of instance j is 64-bit element j of s[i]. Used by the AVX2 ML-KEM
 * backend to squeeze four SHAKE128 streams for the matrix A-hat and four
 * SHAKE256 streams for the noise polynomials at once (FIPS 202 §6.2).
 * Compiled with -mavx2 only; callers check pqt_cpu_has_avx2() first.
 */
#ifndef PQT_CRYPTO_MLKEM_X86_64_KECCAK_X4_AVX2_H
#define PQT_CRYPTO_MLKEM_X86_64_KECCAK_X4_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* The permutation, 24 rounds, on all four states: pqt_keccakx4_f1600_avx512
 * (keccak_x4_avx512.c) when pqt_cpu_has_avx512vl() and the Keccak cap
 * (crypto/keccak/keccak_impl.h) allow it, else pqt_keccakx4_f1600_avx2. */
void pqt_keccakx4_f1600(__m256i s[25]);
void pqt_keccakx4_f1600_avx2(__m256i s[25]);
/* Compiled with -mavx512f -mavx512vl: call only if pqt_cpu_has_avx512vl(). */
void pqt_keccakx4_f1600_avx512(__m256i s[25]);

/*
 * Absorb four inputs of the same length len (< rate) in one block, with the
 * SHAKE domain byte 0x1F and pad10*1; rate is 168 (SHAKE128) or 136
 * (SHAKE256). The state is overwritten; like the scalar
 * pqt_shake128_absorb_once, the permutation runs at the first squeeze.
 */
void pqt_keccakx4_absorb_once(__m256i s[25], unsigned rate, const uint8_t *in0, const uint8_t *in1,
                              const uint8_t *in2, const uint8_t *in3, size_t len);

/* nblocks times: permute, then output one block of rate bytes to each of
 * the four outputs. */
void pqt_keccakx4_squeezeblocks(uint8_t *out0, uint8_t *out1, uint8_t *out2, uint8_t *out3,
                                size_t nblocks, unsigned rate, __m256i s[25]);

/* Without permuting: one block of rate bytes from each instance. */
void pqt_keccakx4_extractblocks(uint8_t *out0, uint8_t *out1, uint8_t *out2, uint8_t *out3,
                                unsigned rate, const __m256i s[25]);

/*
 * SHA3-256(in0) into h and SHAKE256(in1) (32 bytes) into j, in lanes 0 and 1
 * of one 4-way permutation per block: ML-KEM decapsulation's H(ek) check and
 * J(z || c) together. Returns -1 (computing nothing) if the two inputs need a
 * different number of 136-byte blocks; the caller then hashes one at a time.
 */
int pqt_keccakx4_sha3_256_shake256(uint8_t h[32], const uint8_t *in0, size_t len0, uint8_t j[32],
                                   const uint8_t *in1, size_t len1);

/*
 * SHA3-256 carried in lane 3 of a 4-way state, one block per permutation,
 * while lanes 0..2 squeeze SHAKE streams: ML-KEM encapsulation hashes
 * H(ek) this way beside the expansion of A-hat instead of in 9 scalar
 * permutations of its own. The caller starts from a zero state, loads
 * lanes 0..2 with pqt_keccakx4_absorb_once_lanes012 (lane 3 kept), squeezes
 * with pqt_keccakx4_squeezeblocks_lane3 (lane 3 absorbs a block before
 * each permutation until its input is done; what out3 gets is of no use
 * while it hashes), and ends with pqt_keccakx4_lane3_sha3_finish, after
 * which out holds SHA3-256(in). Initialised with in = NULL, or passed as
 * NULL, it hashes nothing and the squeeze is a plain four-way one.
 */
typedef struct {
    const uint8_t *in;
    size_t len, pos;
    int last; /* the final padded block has been taken */
    int done; /* ... and permuted: out is the digest */
    uint8_t out[32];
} pqt_keccakx4_lane3_sha3;

void pqt_keccakx4_lane3_sha3_init(pqt_keccakx4_lane3_sha3 *h, const uint8_t *in, size_t len);
void pqt_keccakx4_absorb_once_lanes012(__m256i s[25], unsigned rate, const uint8_t *in0,
                                       const uint8_t *in1, const uint8_t *in2, size_t len);
void pqt_keccakx4_squeezeblocks_lane3(uint8_t *out0, uint8_t *out1, uint8_t *out2, uint8_t *out3,
                                      size_t nblocks, unsigned rate, __m256i s[25],
                                      pqt_keccakx4_lane3_sha3 *h);
void pqt_keccakx4_lane3_sha3_finish(__m256i s[25], pqt_keccakx4_lane3_sha3 *h);

#endif
