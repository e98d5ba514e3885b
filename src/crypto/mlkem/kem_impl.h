/*
 * ML-KEM (FIPS 203 Algorithms 13-18) written once against the backend
 * primitive interface. Each compilation unit defines PQT_MLKEM_K, includes
 * one backend header, then this file; the result is a set of functions
 * named pqt_mlkem<level>_<backend>_*, which dispatch.c selects between.
 *
 * Secret data never decides a branch or an address here: the only
 * secret-dependent choice, implicit rejection, goes through pqt_ct_cmov.
 */
#include <stdint.h>
#include <string.h>

#include "ct.h"
#include "keccak/fips202.h"
#include "mlkem/params.h"

#ifndef PQT_BACKEND_SUFFIX
#error "include a backend header before kem_impl.h"
#endif

#define PQT_CAT3_(a, b, c, d) a##b##_##c##_##d
#define PQT_CAT3(a, b, c, d) PQT_CAT3_(a, b, c, d)
#define PQT_NS(name) PQT_CAT3(pqt_mlkem, MLKEM_LEVEL, PQT_BACKEND_SUFFIX, name)

#include "mlkem/impl.h"

#if MLKEM_DU == 10
#define poly_compress_du poly_compress10
#define poly_decompress_du poly_decompress10
#else
#define poly_compress_du poly_compress11
#define poly_decompress_du poly_decompress11
#endif
#if MLKEM_DV == 4
#define poly_compress_dv poly_compress4
#define poly_decompress_dv poly_decompress4
#else
#define poly_compress_dv poly_compress5
#define poly_decompress_dv poly_decompress5
#endif

/* Backends without a mulcache get a pass-through one. */
#ifndef PQT_BACKEND_HAS_MULCACHE
typedef struct {
    char unused;
} pqt_poly_mulcache;
static inline void poly_mulcache_compute(pqt_poly_mulcache *x, const pqt_poly *b)
{
    (void)x;
    (void)b;
}
static inline void polyvec_basemul_acc_cached(pqt_poly *r, const pqt_poly *a, const pqt_poly *b,
                                              const pqt_poly_mulcache *bc, unsigned k)
{
    (void)bc;
    polyvec_basemul_acc(r, a, b, k);
}
#endif

/* Backends without a combined hash compute H(ek) and J(z || c) in turn. */
#ifndef PQT_BACKEND_HAS_HASH_HJ
static inline void hash_h_j(uint8_t h[32], const uint8_t *ek, size_t eklen, uint8_t j[32],
                            const uint8_t *zc, size_t zclen)
{
    pqt_sha3_256(h, ek, eklen);
    pqt_shake256(j, 32, zc, zclen);
}
#endif

/* Backends without a combined one expand A-hat^T and hash ek in turn. */
#ifndef PQT_BACKEND_HAS_GEN_MATRIX_HASH
static inline void gen_matrix_hash(pqt_poly *at, const uint8_t rho[32], unsigned k, uint8_t h[32],
                                   const uint8_t *ek, size_t eklen)
{
    gen_matrix(at, rho, 1, k);
    pqt_sha3_256(h, ek, eklen);
}
#endif

/* Backends without a joint schedule sample A-hat, s and e in turn. */
#ifndef PQT_BACKEND_HAS_GEN_MATRIX_NOISE
static inline void gen_matrix_noise(pqt_poly *a, pqt_poly *noise, const uint8_t rho[32],
                                    const uint8_t sigma[32], unsigned k, unsigned eta1)
{
    gen_matrix(a, rho, 0, k);
    sample_noise(noise, k, eta1, 0, eta1, sigma, 0);
    sample_noise(noise + k, k, eta1, 0, eta1, sigma, (uint8_t)k);
}
#endif

static void polyvec_mulcache(pqt_poly_mulcache x[MLKEM_K], const pqt_poly b[MLKEM_K])
{
    for (unsigned i = 0; i < MLKEM_K; i++) {
        poly_mulcache_compute(&x[i], &b[i]);
    }
}

/* K-PKE.Encrypt (Algorithm 14) from a decoded ek: t-hat and the matrix
 * A-hat^T, both in the backend's NTT domain. */
static void pke_encrypt(uint8_t c[MLKEM_CT_BYTES], const pqt_poly that[MLKEM_K],
                        const pqt_poly at[MLKEM_K * MLKEM_K], const uint8_t m[32],
                        const uint8_t r[32])
{
    pqt_poly rhat[MLKEM_K], e1[MLKEM_K + 1], u[MLKEM_K], v, mu;
    pqt_poly_mulcache rcache[MLKEM_K];

    /* y = PRF_eta1(r, 0..k-1); e1 = PRF_eta2(r, k..2k-1); e2 = PRF_eta2(r, 2k) */
    sample_noise(rhat, MLKEM_K, MLKEM_ETA1, 0, MLKEM_ETA2, r, 0);
    sample_noise(e1, 0, MLKEM_ETA1, MLKEM_K + 1, MLKEM_ETA2, r, MLKEM_K);
    for (unsigned i = 0; i < MLKEM_K; i++) {
        poly_ntt(&rhat[i]);
    }
    polyvec_mulcache(rcache, rhat);
    for (unsigned i = 0; i < MLKEM_K; i++) {
        polyvec_basemul_acc_cached(&u[i], &at[i * MLKEM_K], rhat, rcache, MLKEM_K);
        poly_invntt_tomont(&u[i]);
        poly_add(&u[i], &u[i], &e1[i]);
        poly_reduce(&u[i]);
        poly_compress_du(c + i * MLKEM_POLYCOMP_DU, &u[i]);
    }
    polyvec_basemul_acc_cached(&v, that, rhat, rcache, MLKEM_K);
    poly_invntt_tomont(&v);
    poly_frommsg(&mu, m);
    poly_add(&v, &v, &e1[MLKEM_K]);
    poly_add(&v, &v, &mu);
    poly_reduce(&v);
    poly_compress_dv(c + MLKEM_K * MLKEM_POLYCOMP_DU, &v);

    pqt_ct_wipe(rhat, sizeof(rhat));
    pqt_ct_wipe(rcache, sizeof(rcache));
    pqt_ct_wipe(e1, sizeof(e1));
    pqt_ct_wipe(u, sizeof(u));
    pqt_ct_wipe(&v, sizeof(v));
    pqt_ct_wipe(&mu, sizeof(mu));
}

/* Decode t-hat from ek. */
static void ek_decode_that(pqt_poly that[MLKEM_K], const uint8_t ek[MLKEM_EK_BYTES])
{
    for (unsigned i = 0; i < MLKEM_K; i++) {
        poly_frombytes(&that[i], ek + i * MLKEM_POLYBYTES);
    }
}

/* Decode ek into t-hat and generate A-hat^T from rho; with h, also
 * H(ek) (encapsulation needs both, and some backends do them together). */
static void ek_expand(pqt_poly that[MLKEM_K], pqt_poly at[MLKEM_K * MLKEM_K],
                      const uint8_t ek[MLKEM_EK_BYTES], uint8_t *h)
{
    ek_decode_that(that, ek);
    if (h != NULL) {
        gen_matrix_hash(at, ek + MLKEM_POLYVECBYTES, MLKEM_K, h, ek, MLKEM_EK_BYTES);
    } else {
        gen_matrix(at, ek + MLKEM_POLYVECBYTES, 1, MLKEM_K);
    }
}

/*
 * Algorithms 13 and 16. An ephemeral key pair (at != NULL) also keeps
 * A-hat^T for decaps_core and leaves the H(ek) field of dk unset: the
 * decapsulation computes H(ek) next to J(z || c) anyway.
 */
static void keygen_core(uint8_t ek[MLKEM_EK_BYTES], uint8_t dk[MLKEM_DK_BYTES], pqt_poly *at,
                        const uint8_t seed[64])
{
    uint8_t buf[33], rhosigma[64];
    pqt_poly a[MLKEM_K * MLKEM_K], se[2 * MLKEM_K], t;
    pqt_poly *s = se, *e = se + MLKEM_K;
    pqt_poly_mulcache scache[MLKEM_K];

    /* Algorithm 13: (rho, sigma) = G(d || k), k as one byte (final FIPS 203). */
    memcpy(buf, seed, 32);
    buf[32] = MLKEM_K;
    pqt_sha3_512(rhosigma, buf, sizeof(buf));
    const uint8_t *rho = rhosigma, *sigma = rhosigma + 32;
    /* rho is derived from the secret d but published in ek (Algorithm 13),
     * so rejection sampling may branch on it. */
    PQT_CT_PUBLIC(rhosigma, 32);

    gen_matrix_noise(a, se, rho, sigma, MLKEM_K, MLKEM_ETA1);
    for (unsigned i = 0; i < MLKEM_K; i++) {
        poly_ntt(&s[i]);
        poly_ntt(&e[i]);
    }
    polyvec_mulcache(scache, s);
    for (unsigned i = 0; i < MLKEM_K; i++) {
        polyvec_basemul_acc_cached(&t, &a[i * MLKEM_K], s, scache, MLKEM_K);
        poly_tomont(&t);
        poly_add(&t, &t, &e[i]);
        poly_reduce(&t);
        poly_tobytes(ek + i * MLKEM_POLYBYTES, &t);
        poly_reduce(&s[i]);
        poly_tobytes(dk + i * MLKEM_POLYBYTES, &s[i]);
    }
    memcpy(ek + MLKEM_POLYVECBYTES, rho, 32);

    /* Algorithm 16: dk = dkPKE || ek || H(ek) || z */
    memcpy(dk + MLKEM_POLYVECBYTES, ek, MLKEM_EK_BYTES);
    if (at == NULL) {
        pqt_sha3_256(dk + MLKEM_POLYVECBYTES + MLKEM_EK_BYTES, ek, MLKEM_EK_BYTES);
    } else {
        memset(dk + MLKEM_POLYVECBYTES + MLKEM_EK_BYTES, 0, 32);
        for (unsigned i = 0; i < MLKEM_K; i++) {
            for (unsigned j = 0; j < MLKEM_K; j++) {
                at[i * MLKEM_K + j] = a[j * MLKEM_K + i];
            }
        }
    }
    memcpy(dk + MLKEM_POLYVECBYTES + MLKEM_EK_BYTES + 32, seed + 32, 32);

    pqt_ct_wipe(buf, sizeof(buf));
    pqt_ct_wipe(rhosigma, sizeof(rhosigma));
    pqt_ct_wipe(se, sizeof(se));
    pqt_ct_wipe(scache, sizeof(scache));
    pqt_ct_wipe(&t, sizeof(t));
}

int PQT_NS(keygen_derand)(uint8_t ek[MLKEM_EK_BYTES], uint8_t dk[MLKEM_DK_BYTES],
                          const uint8_t seed[64])
{
    keygen_core(ek, dk, NULL, seed);
    return 0;
}

int PQT_NS(keygen_eph)(uint8_t ek[MLKEM_EK_BYTES], uint8_t dk[MLKEM_DK_BYTES], void *at,
                       const uint8_t seed[64])
{
    keygen_core(ek, dk, at, seed);
    return 0;
}

int PQT_NS(check_ek)(const uint8_t ek[MLKEM_EK_BYTES])
{
    return ek_modulus_ok(ek, MLKEM_K) ? 0 : PQT_ERR_EK_MODULUS;
}

int PQT_NS(encaps_derand)(uint8_t ct[MLKEM_CT_BYTES], uint8_t ss[32],
                          const uint8_t ek[MLKEM_EK_BYTES], const uint8_t m[32])
{
    uint8_t buf[64], kr[64];
    pqt_poly that[MLKEM_K], at[MLKEM_K * MLKEM_K];

    if (!ek_modulus_ok(ek, MLKEM_K)) {
        memset(ct, 0, MLKEM_CT_BYTES);
        memset(ss, 0, 32);
        return PQT_ERR_EK_MODULUS;
    }
    /* Algorithm 17: (K, r) = G(m || H(ek)) */
    memcpy(buf, m, 32);
    ek_expand(that, at, ek, buf + 32);
    pqt_sha3_512(kr, buf, sizeof(buf));
    pke_encrypt(ct, that, at, m, kr + 32);
    memcpy(ss, kr, 32);

    pqt_ct_wipe(buf, sizeof(buf));
    pqt_ct_wipe(kr, sizeof(kr));
    return 0;
}

int PQT_NS(check_dk)(const uint8_t dk[MLKEM_DK_BYTES])
{
    uint8_t h[32];
    pqt_sha3_256(h, dk + MLKEM_POLYVECBYTES, MLKEM_EK_BYTES);
    /* The stored hash is not secret, but dk as a whole is marked secret in
     * the constant-time build, so compare without branching on bytes. */
    int ok = pqt_ct_eq(h, dk + MLKEM_POLYVECBYTES + MLKEM_EK_BYTES, 32);
    PQT_CT_PUBLIC(&ok, sizeof(ok));
    return ok ? 0 : PQT_ERR_DK_HASH;
}

/*
 * Algorithm 18. From an imported dk (at == NULL) the FIPS 203 §7.3 hash
 * check runs first; an ephemeral key pair from keygen_core never left
 * memory, so its H(ek), computed here, is used as is, and its A-hat^T is
 * not expanded again.
 */
static int decaps_core(uint8_t ss[32], const uint8_t ct[MLKEM_CT_BYTES],
                       const uint8_t dk[MLKEM_DK_BYTES], const pqt_poly *at_kept)
{
    const uint8_t *ek = dk + MLKEM_POLYVECBYTES;
    const uint8_t *z = ek + MLKEM_EK_BYTES + 32;
    uint8_t buf[64], kr[64], cmp[MLKEM_CT_BYTES], h[32];
    uint8_t zc[32 + MLKEM_CT_BYTES];
    pqt_poly shat[MLKEM_K], u[MLKEM_K], v, w, that[MLKEM_K], at[MLKEM_K * MLKEM_K];
    pqt_poly_mulcache ucache[MLKEM_K];

    /* H(ek) and the rejection key K-bar = J(z || c), computed together (the
     * AVX2 backend runs both in one 4-way Keccak). */
    memcpy(zc, z, 32);
    memcpy(zc + 32, ct, MLKEM_CT_BYTES);
    hash_h_j(h, ek, MLKEM_EK_BYTES, ss, zc, sizeof(zc));
    if (at_kept == NULL) {
        int ok = pqt_ct_eq(h, ek + MLKEM_EK_BYTES, 32);
        PQT_CT_PUBLIC(&ok, sizeof(ok));
        if (!ok) {
            memset(ss, 0, 32);
            pqt_ct_wipe(zc, sizeof(zc));
            return PQT_ERR_DK_HASH;
        }
    }

    /* Algorithm 15, K-PKE.Decrypt: w = v - NTT^-1(s-hat^T o NTT(u)) */
    for (unsigned i = 0; i < MLKEM_K; i++) {
        poly_decompress_du(&u[i], ct + i * MLKEM_POLYCOMP_DU);
        poly_ntt(&u[i]);
        poly_frombytes(&shat[i], dk + i * MLKEM_POLYBYTES);
    }
    poly_decompress_dv(&v, ct + MLKEM_K * MLKEM_POLYCOMP_DU);
    polyvec_mulcache(ucache, u);
    polyvec_basemul_acc_cached(&w, shat, u, ucache, MLKEM_K);
    poly_invntt_tomont(&w);
    poly_sub(&w, &v, &w);
    poly_reduce(&w);
    poly_tomsg(buf, &w);

    /* Algorithm 18: (K', r') = G(m' || h) */
    memcpy(buf + 32, h, 32);
    pqt_sha3_512(kr, buf, sizeof(buf));

    /* Re-encrypt and keep K' only if c' == c, without branching. */
    if (at_kept != NULL) {
        ek_decode_that(that, ek);
    } else {
        ek_expand(that, at, ek, NULL);
    }
    pke_encrypt(cmp, that, at_kept != NULL ? at_kept : at, buf, kr + 32);
    uint8_t differ = pqt_ct_neq(ct, cmp, MLKEM_CT_BYTES);
    pqt_ct_cmov(ss, kr, 32, (uint8_t)~differ);

    pqt_ct_wipe(buf, sizeof(buf));
    pqt_ct_wipe(kr, sizeof(kr));
    pqt_ct_wipe(cmp, sizeof(cmp));
    pqt_ct_wipe(zc, sizeof(zc));
    pqt_ct_wipe(shat, sizeof(shat));
    pqt_ct_wipe(&w, sizeof(w));
    return 0;
}

int PQT_NS(decaps)(uint8_t ss[32], const uint8_t ct[MLKEM_CT_BYTES],
                   const uint8_t dk[MLKEM_DK_BYTES])
{
    return decaps_core(ss, ct, dk, NULL);
}

int PQT_NS(decaps_eph)(uint8_t ss[32], const uint8_t ct[MLKEM_CT_BYTES],
                       const uint8_t dk[MLKEM_DK_BYTES], const void *at)
{
    return decaps_core(ss, ct, dk, at);
}
