/*
 * The ML-KEM backend contract: what a backend gives the KEM template
 * (kem_impl.h), and when a native backend runs instead of the portable C.
 *
 * A backend is a set of polynomial primitives. kem_impl.h is written once
 * against the names below and compiled once per parameter set and backend
 * (portable/mlkem768.c, x86_64/mlkem768.c, ...); dispatch.c chooses between
 * the resulting pqt_mlkem<level>_<backend>_* functions (impl.h).
 *
 *   portable  portable/backend.h: static functions in the header, the
 *             reference. Always built, always tested.
 *   native    defines PQT_BACKEND_SUFFIX (e.g. avx2) and includes this
 *             header, which declares every primitive below as an external
 *             function pqt_mlkem_<suffix>_<name> and maps the template's name
 *             to it. The definitions live in the backend's own .c file,
 *             compiled with the instruction set it needs (x86_64/
 *             backend_avx2.c, -mavx2 -mbmi2 -mpopcnt). A native backend
 *             header declares nothing beyond this contract.
 *
 * Fallback rule. dispatch.c uses a native backend only when the build has
 * it (PQT_CONFIG_X86_64), the CPU and OS run it (pqt_cpu_has_avx2(): AVX2,
 * BMI2, POPCNT, OSXSAVE and XCR0 saving YMM state), the caller has not
 * disabled it (pqt_cpu_disable_features(PQT_CPU_AVX2), mlkem.h) and has not
 * forced the portable one (pqt_mlkem_set_backend). Otherwise every call runs
 * the portable C. The choice is made once, from the CPU and these settings,
 * never from data. An ephemeral key pair remembers the backend that made it
 * (its kept matrix is in that backend's layout). Inside a backend, optional
 * faster paths (the AVX-512 four-way Keccak) fall back the same way.
 *
 * Equivalence. Every observable output (ek, dk, ct, ss, error codes) of a
 * native backend is byte-identical to the portable one for all inputs,
 * including invalid keys; tests/unit/test_mlkem_backends.c compares them on
 * random inputs. Internal representations may differ (see "NTT order").
 *
 * Constant time. No branch, no memory address and no variable-latency
 * instruction may depend on secret data: seeds, sigma, s, e, r, m, K, dk,
 * and every polynomial derived from them. Only gen_matrix (and the optional
 * gen_matrix_hash / gen_matrix_noise) may branch and index tables on the
 * SHAKE128 output of rho, which is public (it is in ek); ek_modulus_ok runs
 * on public ek. Stack buffers that held secrets are wiped (pqt_ct_wipe).
 *
 * Memory. pqt_poly (params.h) is 256 int16 coefficients, 32-byte aligned;
 * polynomial arguments may be loaded and stored with aligned vector
 * instructions. Byte-string arguments (uint8_t *) have no alignment and
 * must be read and written exactly within their stated lengths. Output and
 * input polynomials may alias only where a primitive says "in place".
 * Nothing allocates and nothing does I/O.
 *
 * NTT order. A polynomial in the NTT domain may be stored in any fixed
 * permutation of FIPS 203's order (the AVX2 backend stores it transposed,
 * see backend_avx2.c); poly_frombytes and poly_tobytes convert, so the byte
 * encodings are the standard ones. Natural-order polynomials (noise,
 * decompressed, messages) are always in FIPS 203 order.
 *
 * Coefficient bounds. "In" is what the template guarantees, "Out" what the
 * primitive must deliver; a backend may deliver tighter bounds. q = 3329.
 */
#ifndef PQT_CRYPTO_MLKEM_BACKEND_H
#define PQT_CRYPTO_MLKEM_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "mlkem/params.h"

#ifndef PQT_BACKEND_SUFFIX
#error "define PQT_BACKEND_SUFFIX before including mlkem/backend.h"
#endif

#define PQT_BACKEND_FN__(b, name) pqt_mlkem_##b##_##name
#define PQT_BACKEND_FN_(b, name) PQT_BACKEND_FN__(b, name)
#define PQT_BACKEND_FN(name) PQT_BACKEND_FN_(PQT_BACKEND_SUFFIX, name)

/* The template's names for the native functions. */
#define poly_ntt PQT_BACKEND_FN(poly_ntt)
#define poly_invntt_tomont PQT_BACKEND_FN(poly_invntt_tomont)
#define polyvec_basemul_acc PQT_BACKEND_FN(polyvec_basemul_acc)
#define poly_tomont PQT_BACKEND_FN(poly_tomont)
#define poly_reduce PQT_BACKEND_FN(poly_reduce)
#define poly_add PQT_BACKEND_FN(poly_add)
#define poly_sub PQT_BACKEND_FN(poly_sub)
#define poly_tobytes PQT_BACKEND_FN(poly_tobytes)
#define poly_frombytes PQT_BACKEND_FN(poly_frombytes)
#define ek_modulus_ok PQT_BACKEND_FN(ek_modulus_ok)
#define poly_compress10 PQT_BACKEND_FN(poly_compress10)
#define poly_decompress10 PQT_BACKEND_FN(poly_decompress10)
#define poly_compress4 PQT_BACKEND_FN(poly_compress4)
#define poly_decompress4 PQT_BACKEND_FN(poly_decompress4)
#define poly_frommsg PQT_BACKEND_FN(poly_frommsg)
#define poly_tomsg PQT_BACKEND_FN(poly_tomsg)
#define gen_matrix PQT_BACKEND_FN(gen_matrix)
#define sample_noise PQT_BACKEND_FN(sample_noise)

/* ---- Transforms and arithmetic ---- */

/*
 * Forward NTT (FIPS 203 Algorithm 9), in place. In: natural order,
 * |c| < q (noise |c| <= 3, decompressed values in [0, q)). Out: NTT domain,
 * |c| < 8q, accepted by polyvec_basemul_acc and by poly_add before
 * poly_reduce.
 */
void poly_ntt(pqt_poly *p);

/*
 * Inverse NTT (Algorithm 10) times the Montgomery factor 2^16, in place.
 * In: NTT domain, the output of polyvec_basemul_acc. Out: natural order,
 * |c| < q.
 */
void poly_invntt_tomont(pqt_poly *p);

/*
 * r = sum_{v < k} a[v] o b[v] * 2^-16 mod q (Algorithm 11, MultiplyNTTs,
 * accumulated), k in 2..4. In: a[v] in [0, 4096) (gen_matrix output or
 * poly_frombytes of possibly unchecked bytes), b[v] poly_ntt output. Out: NTT
 * domain, |c| < 2^14, accepted by poly_invntt_tomont and, after poly_tomont,
 * by poly_add. r does not alias a or b.
 */
void polyvec_basemul_acc(pqt_poly *r, const pqt_poly *a, const pqt_poly *b, unsigned k);

/* c <- c * 2^16 mod q, in place. In: |c| < 2^15. Out: |c| < q. */
void poly_tomont(pqt_poly *p);

/* c <- c mod q in [0, q), in place. In: any int16. */
void poly_reduce(pqt_poly *p);

/* r = a + b and r = a - b coefficient-wise, no reduction; r may be a or b.
 * The template keeps |a| + |b| < 2^15. */
void poly_add(pqt_poly *r, const pqt_poly *a, const pqt_poly *b);
void poly_sub(pqt_poly *r, const pqt_poly *a, const pqt_poly *b);

/* ---- Encodings (Algorithms 5 and 6, §4.2.1) ---- */

/* ByteEncode12 of an NTT-domain polynomial to the standard 384 bytes.
 * In: [0, q). */
void poly_tobytes(uint8_t r[MLKEM_POLYBYTES], const pqt_poly *a);

/* ByteDecode12 of 384 bytes into the backend's NTT order, without the
 * range check. Out: [0, 4096). */
void poly_frombytes(pqt_poly *r, const uint8_t a[MLKEM_POLYBYTES]);

/* FIPS 203 §7.2 modulus check of npolys * 384 bytes: 1 if every 12-bit
 * value is < q, else 0. Public input; time may depend on npolys only. */
int ek_modulus_ok(const uint8_t *a, unsigned npolys);

/*
 * Compress_d then ByteEncode_d (d = 10: 320 bytes, d = 4: 128 bytes), and
 * ByteDecode_d then Decompress_d. In (compress): natural order, [0, q).
 * Out (decompress): natural order, [0, q). d = 11 and d = 5 (ML-KEM-1024
 * only) are the scalar ones of portable/compress.h in every backend.
 */
void poly_compress10(uint8_t r[320], const pqt_poly *a);
void poly_decompress10(pqt_poly *r, const uint8_t a[320]);
void poly_compress4(uint8_t r[128], const pqt_poly *a);
void poly_decompress4(pqt_poly *r, const uint8_t a[128]);

/* Decompress_1 of a 32-byte message (bit 8i + j of m is coefficient
 * 8i + j): 0 or (q+1)/2, by mask, natural order. m is secret. */
void poly_frommsg(pqt_poly *r, const uint8_t m[32]);

/* Compress_1 into 32 bytes. In: natural order, [0, q). Out is secret. */
void poly_tomsg(uint8_t m[32], const pqt_poly *a);

/* ---- Sampling (Algorithms 7 and 8) ---- */

/*
 * a[i * k + j] = SampleNTT(rho || j || i) (transposed == 0) or
 * SampleNTT(rho || i || j) (transposed != 0), for i, j < k: the k * k
 * entries of A-hat or A-hat^T, row-major. Out: NTT domain (backend order),
 * [0, q). May branch on rho's SHAKE128 output (public).
 */
void gen_matrix(pqt_poly *a, const uint8_t rho[32], int transposed, unsigned k);

/*
 * out[i] = SamplePolyCBD_eta(PRF_eta(seed, nonce0 + i)) for i < n1 + n2,
 * eta = eta1 for the first n1 polynomials and eta2 for the next n2 (eta in
 * {2, 3}). Out: natural order, |c| <= eta. seed is secret.
 */
void sample_noise(pqt_poly *out, unsigned n1, unsigned eta1, unsigned n2, unsigned eta2,
                  const uint8_t seed[32], uint8_t nonce0);

/* ---- Optional combined forms ----
 * A backend that defines the macro provides the function; otherwise
 * kem_impl.h composes it from the primitives above. Results must equal the
 * composition exactly. */

#ifdef PQT_BACKEND_HAS_HASH_HJ
/* h = SHA3-256(ek), j = SHAKE256(zc, 32 bytes) (decapsulation). zc is
 * secret (it holds z). */
#define hash_h_j PQT_BACKEND_FN(hash_h_j)
void hash_h_j(uint8_t h[32], const uint8_t *ek, size_t eklen, uint8_t j[32], const uint8_t *zc,
              size_t zclen);
#endif

#ifdef PQT_BACKEND_HAS_GEN_MATRIX_HASH
/* gen_matrix(a, rho, 1, k) and h = SHA3-256(ek) (encapsulation). */
#define gen_matrix_hash PQT_BACKEND_FN(gen_matrix_hash)
void gen_matrix_hash(pqt_poly *a, const uint8_t rho[32], unsigned k, uint8_t h[32],
                     const uint8_t *ek, size_t eklen);
#endif

#ifdef PQT_BACKEND_HAS_GEN_MATRIX_NOISE
/* gen_matrix(a, rho, 0, k); sample_noise(noise, k, eta1, 0, eta1, sigma, 0);
 * sample_noise(noise + k, k, eta1, 0, eta1, sigma, k) (key generation: s
 * then e). sigma is secret; which work runs when may depend on rho only. */
#define gen_matrix_noise PQT_BACKEND_FN(gen_matrix_noise)
void gen_matrix_noise(pqt_poly *a, pqt_poly *noise, const uint8_t rho[32], const uint8_t sigma[32],
                      unsigned k, unsigned eta1);
#endif

/* A native backend has no mulcache (kem_impl.h's pass-through one is used):
 * polyvec_basemul_acc above is its only base multiplication. */
#ifdef PQT_BACKEND_HAS_MULCACHE
#error "the native backend contract has no mulcache; see portable/backend.h"
#endif

#endif
