/*
 * ML-KEM (FIPS 203) at the three parameter sets.
 *
 * All functions are constant time with respect to secret inputs (seeds, the
 * message m, decapsulation keys), do no I/O except reading the system
 * random generator in the randomized forms, and zero their outputs when
 * they fail. One allocates: pqt_mlkem_ephemeral_new (the ephemeral key
 * pair's state, about 11 KB, released by pqt_mlkem_ephemeral_free); every
 * other function works in the caller's buffers and on the stack. Keys and ciphertexts are the byte
 * strings of FIPS 203; the decapsulation key is the "expanded" 1632/2400/3168-byte form (dkPKE ||
 * ek || H(ek) || z). Sizes are fixed, so they appear in the signatures.
 *
 * Every function returns 0 or a negative PQT_ERR_* code (see err.h).
 */
#ifndef PQTLS_MLKEM_H
#define PQTLS_MLKEM_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQT_MLKEM_SEED_BYTES 64 /* d || z, FIPS 203 Algorithm 16 inputs */
#define PQT_MLKEM_M_BYTES 32    /* encapsulation randomness m */
#define PQT_MLKEM_SS_BYTES 32   /* shared secret K */

#define PQT_MLKEM512_EK_BYTES 800
#define PQT_MLKEM512_DK_BYTES 1632
#define PQT_MLKEM512_CT_BYTES 768
#define PQT_MLKEM768_EK_BYTES 1184
#define PQT_MLKEM768_DK_BYTES 2400
#define PQT_MLKEM768_CT_BYTES 1088
#define PQT_MLKEM1024_EK_BYTES 1568
#define PQT_MLKEM1024_DK_BYTES 3168
#define PQT_MLKEM1024_CT_BYTES 1568

/*
 * Fixed-size API, one family per parameter set (shown for 768; 512 and 1024
 * are identical with their sizes).
 *
 * keygen_derand: ML-KEM.KeyGen_internal(d, z) with seed = d || z.
 * keygen:        the same with a fresh seed from the system RNG.
 * encaps_derand: ML-KEM.Encaps_internal(ek, m). Runs the FIPS 203 §7.2
 *                encapsulation key check first: PQT_ERR_EK_MODULUS if a
 *                coefficient of ek is >= q.
 * encaps:        the same with fresh m from the system RNG.
 * decaps:        ML-KEM.Decaps with implicit rejection. Runs the §7.3 hash
 *                check on dk first: PQT_ERR_DK_HASH if H(ek) inside dk does
 *                not match. A ciphertext that fails re-encryption is not an
 *                error: ss is then the rejection value J(z || c).
 * check_ek/dk:   the §7.2 / §7.3 input checks alone.
 */
#define PQT_MLKEM_DECLARE(N, EK, DK, CT)                                                    \
    PQT_API PQT_MUST_CHECK int pqt_mlkem##N##_keygen_derand(uint8_t ek[EK], uint8_t dk[DK], \
                                                            const uint8_t seed[64]);        \
    PQT_API PQT_MUST_CHECK int pqt_mlkem##N##_keygen(uint8_t ek[EK], uint8_t dk[DK]);       \
    PQT_API PQT_MUST_CHECK int pqt_mlkem##N##_encaps_derand(                                \
        uint8_t ct[CT], uint8_t ss[32], const uint8_t ek[EK], const uint8_t m[32]);         \
    PQT_API PQT_MUST_CHECK int pqt_mlkem##N##_encaps(uint8_t ct[CT], uint8_t ss[32],        \
                                                     const uint8_t ek[EK]);                 \
    PQT_API PQT_MUST_CHECK int pqt_mlkem##N##_decaps(uint8_t ss[32], const uint8_t ct[CT],  \
                                                     const uint8_t dk[DK]);                 \
    PQT_API PQT_MUST_CHECK int pqt_mlkem##N##_check_ek(const uint8_t ek[EK]);               \
    PQT_API PQT_MUST_CHECK int pqt_mlkem##N##_check_dk(const uint8_t dk[DK]);

PQT_MLKEM_DECLARE(512, 800, 1632, 768)
PQT_MLKEM_DECLARE(768, 1184, 2400, 1088)
PQT_MLKEM_DECLARE(1024, 1568, 3168, 1568)

/*
 * Length-checked API by parameter set, for callers that hold keys in
 * variable-size buffers (the CLI, the TLS layer, test harnesses). Wrong
 * lengths give PQT_ERR_EK_LENGTH / PQT_ERR_DK_LENGTH / PQT_ERR_CT_LENGTH.
 */
typedef enum { PQT_MLKEM512 = 0, PQT_MLKEM768 = 1, PQT_MLKEM1024 = 2 } pqt_mlkem_alg;

typedef struct {
    const char *name; /* "ML-KEM-768" */
    unsigned k;       /* module rank: 2, 3 or 4 */
    size_t ek_bytes, dk_bytes, ct_bytes;
} pqt_mlkem_params;

/* Sizes and name of a parameter set, or NULL for an unknown value. */
PQT_API const pqt_mlkem_params *pqt_mlkem_params_get(pqt_mlkem_alg alg);

/* Parse "ML-KEM-768", "MLKEM768", "mlkem768" or "768" (any case). */
PQT_API PQT_MUST_CHECK int pqt_mlkem_alg_from_name(const char *name, pqt_mlkem_alg *alg);

PQT_API PQT_MUST_CHECK int pqt_mlkem_keygen_derand(pqt_mlkem_alg alg, uint8_t *ek, size_t ek_len,
                                                   uint8_t *dk, size_t dk_len,
                                                   const uint8_t seed[64]);
PQT_API PQT_MUST_CHECK int pqt_mlkem_encaps_derand(pqt_mlkem_alg alg, uint8_t *ct, size_t ct_len,
                                                   uint8_t ss[32], const uint8_t *ek, size_t ek_len,
                                                   const uint8_t m[32]);
PQT_API PQT_MUST_CHECK int pqt_mlkem_encaps(pqt_mlkem_alg alg, uint8_t *ct, size_t ct_len,
                                            uint8_t ss[32], const uint8_t *ek, size_t ek_len);
PQT_API PQT_MUST_CHECK int pqt_mlkem_decaps(pqt_mlkem_alg alg, uint8_t ss[32], const uint8_t *ct,
                                            size_t ct_len, const uint8_t *dk, size_t dk_len);
PQT_API PQT_MUST_CHECK int pqt_mlkem_check_ek(pqt_mlkem_alg alg, const uint8_t *ek, size_t ek_len);
PQT_API PQT_MUST_CHECK int pqt_mlkem_check_dk(pqt_mlkem_alg alg, const uint8_t *dk, size_t dk_len);

/*
 * Ephemeral key pairs: a decapsulation key that is made for one exchange,
 * used once or a few times and never exported (a TLS 1.3 client's key
 * share). Same ek and same shared secrets as keygen_derand + decaps with the
 * same seed, for less work: the state keeps the matrix A-hat expanded in key
 * generation for the re-encryption in decapsulation, and H(ek) is computed
 * in decapsulation beside J(z || c) rather than in key generation. The
 * FIPS 203 §7.3 dk check does not apply, as the key is never imported.
 * seed is d || z, or NULL to draw it from the system RNG. The state holds
 * about 11 KB; pqt_mlkem_ephemeral_free wipes its secret part (the matrix
 * is public: it is expanded from rho, which ek carries).
 */
typedef struct pqt_mlkem_ephemeral pqt_mlkem_ephemeral;

PQT_API PQT_MUST_CHECK int pqt_mlkem_ephemeral_new(pqt_mlkem_alg alg, const uint8_t seed[64],
                                                   pqt_mlkem_ephemeral **out, uint8_t *ek,
                                                   size_t ek_len);
PQT_API PQT_MUST_CHECK int pqt_mlkem_ephemeral_decaps(const pqt_mlkem_ephemeral *e, uint8_t ss[32],
                                                      const uint8_t *ct, size_t ct_len);
PQT_API void pqt_mlkem_ephemeral_free(pqt_mlkem_ephemeral *e);

/*
 * Backends. The portable C backend is always built. A native backend (AVX2
 * on x86-64) is selected at first use when the CPU supports it. Tests and
 * benchmarks may force one: pqt_mlkem_set_backend returns
 * PQT_ERR_UNSUPPORTED when the CPU or the build lacks it. Selection is a
 * single atomic store; call it before starting threads that use ML-KEM.
 */
typedef enum {
    PQT_BACKEND_AUTO = 0,
    PQT_BACKEND_PORTABLE = 1,
    PQT_BACKEND_AVX2 = 2,
} pqt_backend;

PQT_API PQT_MUST_CHECK int pqt_mlkem_set_backend(pqt_backend b);
PQT_API pqt_backend pqt_mlkem_get_backend(void);
/* "portable" or "avx2". */
PQT_API const char *pqt_backend_name(pqt_backend b);
/* 1 when this build and this CPU can run backend b. */
PQT_API int pqt_backend_available(pqt_backend b);

/*
 * CPU features the crypto core may use, each detected once from CPUID (and
 * XGETBV for the OS's register state); a caller can turn them off:
 *   PQT_CPU_AVX2    the AVX2 ML-KEM backend; with it off, the portable C
 *                   backend runs and pqt_backend_available(PQT_BACKEND_AVX2)
 *                   is 0.
 *   PQT_CPU_BMI     the scalar Keccak-f[1600] with BMI1 ANDN / BMI2 RORX.
 *   PQT_CPU_AVX512  the four-way Keccak-f[1600] in AVX-512F/VL (inside the
 *                   AVX2 backend), so that both sides of a comparison with a
 *                   CPU without it run the same code.
 * pqt_cpu_disable_features(mask) replaces the set of disabled features
 * (0 enables everything the CPU has; unknown bits are ignored); features the
 * CPU lacks stay unused whatever the mask. Outputs never depend on it, only
 * speed. It is process-wide and a single atomic store: call it at startup,
 * before threads use ML-KEM (the `pqtls` command calls it from the
 * environment variable PQT_DISABLE_AVX512; the library reads no environment).
 * pqt_cpu_disabled_features returns the current mask. No-ops off x86-64.
 */
#define PQT_CPU_AVX2 (1u << 0)
#define PQT_CPU_BMI (1u << 1)
#define PQT_CPU_AVX512 (1u << 2)

PQT_API void pqt_cpu_disable_features(unsigned mask);
PQT_API unsigned pqt_cpu_disabled_features(void);

#ifdef __cplusplus
}
#endif
#endif
