/*
 * Keccak-f[1600] and the FIPS 202 functions ML-KEM needs: SHA3-256,
 * SHA3-512, SHAKE128, SHAKE256. Internal to the crypto core: no allocation,
 * no I/O. The four-way parallel forms used for matrix and noise sampling
 * live with each ML-KEM backend (portable: four scalar calls; x86-64: AVX2,
 * or AVX-512VL when the CPU has it). Which permutation code runs is chosen
 * at run time from CPUID: keccak_impl.h.
 */
#ifndef PQT_CRYPTO_FIPS202_H
#define PQT_CRYPTO_FIPS202_H

#include <stddef.h>
#include <stdint.h>

#define PQT_SHAKE128_RATE 168
#define PQT_SHAKE256_RATE 136
#define PQT_SHA3_256_RATE 136
#define PQT_SHA3_512_RATE 72

/* The permutation, 24 rounds, on 25 little-endian lanes (keccak_impl.h picks
 * the portable or the BMI1/BMI2 code). */
void pqt_keccakf1600(uint64_t s[25]);

/* Incremental sponge, for inputs that arrive in pieces. */
typedef struct {
    uint64_t s[25];
    unsigned pos;  /* bytes absorbed into / squeezed from the current block */
    unsigned rate; /* bytes */
} pqt_keccak_ctx;

void pqt_shake128_init(pqt_keccak_ctx *ctx);
void pqt_shake256_init(pqt_keccak_ctx *ctx);
void pqt_keccak_absorb(pqt_keccak_ctx *ctx, const uint8_t *in, size_t len);
/* Pads with the SHAKE domain byte (0x1F) and switches to squeezing. */
void pqt_shake_finalize(pqt_keccak_ctx *ctx);
void pqt_keccak_squeeze(pqt_keccak_ctx *ctx, uint8_t *out, size_t len);

/* One-shot functions. */
void pqt_sha3_256(uint8_t out[32], const uint8_t *in, size_t len);
void pqt_sha3_512(uint8_t out[64], const uint8_t *in, size_t len);
void pqt_shake256(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen);

/*
 * SHAKE128 for rejection sampling: absorb a short input (< 168 bytes) in one
 * go, then squeeze whole 168-byte blocks.
 */
void pqt_shake128_absorb_once(uint64_t s[25], const uint8_t *in, size_t len);
void pqt_shake128_squeezeblocks(uint8_t *out, size_t nblocks, uint64_t s[25]);

/* Wipe a sponge state. */
void pqt_keccak_wipe(uint64_t s[25]);

#endif
