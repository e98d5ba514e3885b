/*
 * Public ML-KEM API: argument checks, the system RNG for the randomized
 * forms, and the choice of backend (portable C, or AVX2 when the CPU has it).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ct.h"
#include "mlkem/impl.h"
#include "mlkem/params.h"
#include "pqtls/common.h"
#include "pqtls/mlkem.h"

typedef struct {
    int (*keygen_derand)(uint8_t *ek, uint8_t *dk, const uint8_t *seed);
    int (*encaps_derand)(uint8_t *ct, uint8_t *ss, const uint8_t *ek, const uint8_t *m);
    int (*decaps)(uint8_t *ss, const uint8_t *ct, const uint8_t *dk);
    int (*check_ek)(const uint8_t *ek);
    int (*check_dk)(const uint8_t *dk);
    int (*keygen_eph)(uint8_t *ek, uint8_t *dk, void *at, const uint8_t *seed);
    int (*decaps_eph)(uint8_t *ss, const uint8_t *ct, const uint8_t *dk, const void *at);
} mlkem_ops;

#define OPS(N, B)                                                               \
    {                                                                           \
        pqt_mlkem##N##_##B##_keygen_derand, pqt_mlkem##N##_##B##_encaps_derand, \
            pqt_mlkem##N##_##B##_decaps, pqt_mlkem##N##_##B##_check_ek,         \
            pqt_mlkem##N##_##B##_check_dk, pqt_mlkem##N##_##B##_keygen_eph,     \
            pqt_mlkem##N##_##B##_decaps_eph                                     \
    }

static const mlkem_ops ops_portable[3] = {OPS(512, portable), OPS(768, portable),
                                          OPS(1024, portable)};
#ifdef PQT_CONFIG_X86_64
static const mlkem_ops ops_avx2[3] = {OPS(512, avx2), OPS(768, avx2), OPS(1024, avx2)};
#endif

static const pqt_mlkem_params params[3] = {
    {"ML-KEM-512", 2, PQT_MLKEM512_EK_BYTES, PQT_MLKEM512_DK_BYTES, PQT_MLKEM512_CT_BYTES},
    {"ML-KEM-768", 3, PQT_MLKEM768_EK_BYTES, PQT_MLKEM768_DK_BYTES, PQT_MLKEM768_CT_BYTES},
    {"ML-KEM-1024", 4, PQT_MLKEM1024_EK_BYTES, PQT_MLKEM1024_DK_BYTES, PQT_MLKEM1024_CT_BYTES},
};

/* 0 = not chosen yet; otherwise a pqt_backend value. */
static _Atomic int active_backend;

/* pqt_cpu_disable_features (mlkem.h); cpu_x86_64.c applies it to CPUID. */
static _Atomic unsigned cpu_disabled;

void pqt_cpu_disable_features(unsigned mask)
{
    atomic_store(&cpu_disabled, mask & (PQT_CPU_AVX2 | PQT_CPU_BMI | PQT_CPU_AVX512));
    /* An automatic choice of AVX2 made before is made again. */
    if ((mask & PQT_CPU_AVX2) != 0) {
        int avx2 = (int)PQT_BACKEND_AVX2;
        atomic_compare_exchange_strong(&active_backend, &avx2, 0);
    }
}

unsigned pqt_cpu_disabled_features(void)
{
    return atomic_load_explicit(&cpu_disabled, memory_order_relaxed);
}

int pqt_backend_available(pqt_backend b)
{
    switch (b) {
    case PQT_BACKEND_AUTO:
    case PQT_BACKEND_PORTABLE:
        return 1;
    case PQT_BACKEND_AVX2:
#ifdef PQT_CONFIG_X86_64
        return pqt_cpu_has_avx2();
#else
        return 0;
#endif
    }
    return 0;
}

const char *pqt_backend_name(pqt_backend b)
{
    switch (b) {
    case PQT_BACKEND_AUTO:
        return "auto";
    case PQT_BACKEND_PORTABLE:
        return "portable";
    case PQT_BACKEND_AVX2:
        return "avx2";
    }
    return "unknown";
}

static pqt_backend best_backend(void)
{
    return pqt_backend_available(PQT_BACKEND_AVX2) ? PQT_BACKEND_AVX2 : PQT_BACKEND_PORTABLE;
}

int pqt_mlkem_set_backend(pqt_backend b)
{
    if (b == PQT_BACKEND_AUTO) {
        b = best_backend();
    }
    if (b != PQT_BACKEND_PORTABLE && b != PQT_BACKEND_AVX2) {
        return PQT_ERR_ARG;
    }
    if (!pqt_backend_available(b)) {
        return PQT_ERR_UNSUPPORTED;
    }
    atomic_store(&active_backend, (int)b);
    return 0;
}

pqt_backend pqt_mlkem_get_backend(void)
{
    int b = atomic_load_explicit(&active_backend, memory_order_relaxed);
    if (b == 0) {
        b = (int)best_backend();
        atomic_store(&active_backend, b);
    }
    return (pqt_backend)b;
}

static const mlkem_ops *ops_of(pqt_backend b, pqt_mlkem_alg alg)
{
#ifdef PQT_CONFIG_X86_64
    if (b == PQT_BACKEND_AVX2) {
        return &ops_avx2[alg];
    }
#else
    (void)b;
#endif
    return &ops_portable[alg];
}

static const mlkem_ops *ops_for(pqt_mlkem_alg alg)
{
    return ops_of(pqt_mlkem_get_backend(), alg);
}

const pqt_mlkem_params *pqt_mlkem_params_get(pqt_mlkem_alg alg)
{
    if ((unsigned)alg > PQT_MLKEM1024) {
        return NULL;
    }
    return &params[alg];
}

int pqt_mlkem_alg_from_name(const char *name, pqt_mlkem_alg *alg)
{
    static const struct {
        const char *name;
        pqt_mlkem_alg alg;
    } names[] = {
        {"ML-KEM-512", PQT_MLKEM512},   {"MLKEM512", PQT_MLKEM512},   {"512", PQT_MLKEM512},
        {"ML-KEM-768", PQT_MLKEM768},   {"MLKEM768", PQT_MLKEM768},   {"768", PQT_MLKEM768},
        {"ML-KEM-1024", PQT_MLKEM1024}, {"MLKEM1024", PQT_MLKEM1024}, {"1024", PQT_MLKEM1024},
    };
    if (name == NULL || alg == NULL) {
        return PQT_ERR_ARG;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *alg = names[i].alg;
            return 0;
        }
    }
    return PQT_ERR_UNSUPPORTED;
}

int pqt_mlkem_keygen_derand(pqt_mlkem_alg alg, uint8_t *ek, size_t ek_len, uint8_t *dk,
                            size_t dk_len, const uint8_t seed[64])
{
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    if (p == NULL || ek == NULL || dk == NULL || seed == NULL) {
        return PQT_ERR_ARG;
    }
    if (ek_len != p->ek_bytes || dk_len != p->dk_bytes) {
        /* Outputs are zeroed on every failure (mlkem.h). */
        memset(ek, 0, ek_len);
        memset(dk, 0, dk_len);
        return ek_len != p->ek_bytes ? PQT_ERR_EK_LENGTH : PQT_ERR_DK_LENGTH;
    }
    return ops_for(alg)->keygen_derand(ek, dk, seed);
}

int pqt_mlkem_encaps_derand(pqt_mlkem_alg alg, uint8_t *ct, size_t ct_len, uint8_t ss[32],
                            const uint8_t *ek, size_t ek_len, const uint8_t m[32])
{
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    if (p == NULL || ct == NULL || ss == NULL || ek == NULL || m == NULL) {
        return PQT_ERR_ARG;
    }
    if (ek_len != p->ek_bytes || ct_len != p->ct_bytes) {
        memset(ct, 0, ct_len);
        memset(ss, 0, 32);
        return ek_len != p->ek_bytes ? PQT_ERR_EK_LENGTH : PQT_ERR_CT_LENGTH;
    }
    return ops_for(alg)->encaps_derand(ct, ss, ek, m);
}

int pqt_mlkem_encaps(pqt_mlkem_alg alg, uint8_t *ct, size_t ct_len, uint8_t ss[32],
                     const uint8_t *ek, size_t ek_len)
{
    uint8_t m[32];
    int ret = pqt_random_bytes(m, sizeof(m));
    if (ret == 0) {
        ret = pqt_mlkem_encaps_derand(alg, ct, ct_len, ss, ek, ek_len, m);
    } else if (ct != NULL && ss != NULL) {
        memset(ct, 0, ct_len);
        memset(ss, 0, 32);
    }
    pqt_ct_wipe(m, sizeof(m));
    return ret;
}

int pqt_mlkem_decaps(pqt_mlkem_alg alg, uint8_t ss[32], const uint8_t *ct, size_t ct_len,
                     const uint8_t *dk, size_t dk_len)
{
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    if (p == NULL || ss == NULL || ct == NULL || dk == NULL) {
        return PQT_ERR_ARG;
    }
    if (ct_len != p->ct_bytes) {
        memset(ss, 0, 32);
        return PQT_ERR_CT_LENGTH;
    }
    if (dk_len != p->dk_bytes) {
        memset(ss, 0, 32);
        return PQT_ERR_DK_LENGTH;
    }
    return ops_for(alg)->decaps(ss, ct, dk);
}

int pqt_mlkem_check_ek(pqt_mlkem_alg alg, const uint8_t *ek, size_t ek_len)
{
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    if (p == NULL || ek == NULL) {
        return PQT_ERR_ARG;
    }
    if (ek_len != p->ek_bytes) {
        return PQT_ERR_EK_LENGTH;
    }
    return ops_for(alg)->check_ek(ek);
}

int pqt_mlkem_check_dk(pqt_mlkem_alg alg, const uint8_t *dk, size_t dk_len)
{
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    if (p == NULL || dk == NULL) {
        return PQT_ERR_ARG;
    }
    if (dk_len != p->dk_bytes) {
        return PQT_ERR_DK_LENGTH;
    }
    return ops_for(alg)->check_dk(dk);
}

/*
 * Ephemeral key pairs. The kept matrix is in the layout of the backend that
 * made it (the AVX2 one stores the NTT domain transposed), so the state
 * remembers its backend and decapsulates with it even if the choice changes
 * in between.
 */
struct pqt_mlkem_ephemeral {
    pqt_poly at[16]; /* A-hat^T, k * k entries */
    pqt_mlkem_alg alg;
    pqt_backend backend;
    uint8_t dk[PQT_MLKEM1024_DK_BYTES]; /* H(ek) field unset, see kem_impl.h */
};

int pqt_mlkem_ephemeral_new(pqt_mlkem_alg alg, const uint8_t seed_in[64], pqt_mlkem_ephemeral **out,
                            uint8_t *ek, size_t ek_len)
{
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    uint8_t seed[64];
    if (out == NULL) {
        return PQT_ERR_ARG;
    }
    *out = NULL;
    if (p == NULL || ek == NULL) {
        return PQT_ERR_ARG;
    }
    if (ek_len != p->ek_bytes) {
        memset(ek, 0, ek_len);
        return PQT_ERR_EK_LENGTH;
    }
    /* C11: the size is a multiple of the alignment (pqt_poly: 32 bytes). */
    pqt_mlkem_ephemeral *e = aligned_alloc(_Alignof(pqt_mlkem_ephemeral), sizeof(*e));
    if (e == NULL) {
        memset(ek, 0, ek_len);
        return PQT_ERR_NOMEM;
    }
    int ret = 0;
    if (seed_in != NULL) {
        memcpy(seed, seed_in, sizeof(seed));
    } else {
        ret = pqt_random_bytes(seed, sizeof(seed));
    }
    if (ret == 0) {
        e->alg = alg;
        e->backend = pqt_mlkem_get_backend();
        ret = ops_of(e->backend, alg)->keygen_eph(ek, e->dk, e->at, seed);
    }
    pqt_ct_wipe(seed, sizeof(seed));
    if (ret != 0) {
        memset(ek, 0, ek_len);
        pqt_mlkem_ephemeral_free(e);
        return ret;
    }
    *out = e;
    return 0;
}

int pqt_mlkem_ephemeral_decaps(const pqt_mlkem_ephemeral *e, uint8_t ss[32], const uint8_t *ct,
                               size_t ct_len)
{
    if (e == NULL || ss == NULL || ct == NULL) {
        return PQT_ERR_ARG;
    }
    if (ct_len != pqt_mlkem_params_get(e->alg)->ct_bytes) {
        memset(ss, 0, 32);
        return PQT_ERR_CT_LENGTH;
    }
    return ops_of(e->backend, e->alg)->decaps_eph(ss, ct, e->dk, e->at);
}

void pqt_mlkem_ephemeral_free(pqt_mlkem_ephemeral *e)
{
    if (e == NULL) {
        return;
    }
    /* Only dk holds secrets; the kept matrix comes from rho, which is in ek. */
    pqt_ct_wipe(e->dk, sizeof(e->dk));
    free(e);
}

/* Fixed-size API: thin wrappers that cannot get a length wrong. */
#define FIXED(N, ALG, EK, DK, CT)                                                            \
    int pqt_mlkem##N##_keygen_derand(uint8_t ek[EK], uint8_t dk[DK], const uint8_t seed[64]) \
    {                                                                                        \
        return ops_for(ALG)->keygen_derand(ek, dk, seed);                                    \
    }                                                                                        \
    int pqt_mlkem##N##_keygen(uint8_t ek[EK], uint8_t dk[DK])                                \
    {                                                                                        \
        uint8_t seed[64];                                                                    \
        int ret = pqt_random_bytes(seed, sizeof(seed));                                      \
        if (ret == 0) {                                                                      \
            ret = ops_for(ALG)->keygen_derand(ek, dk, seed);                                 \
        } else {                                                                             \
            memset(ek, 0, EK);                                                               \
            memset(dk, 0, DK);                                                               \
        }                                                                                    \
        pqt_ct_wipe(seed, sizeof(seed));                                                     \
        return ret;                                                                          \
    }                                                                                        \
    int pqt_mlkem##N##_encaps_derand(uint8_t ct[CT], uint8_t ss[32], const uint8_t ek[EK],   \
                                     const uint8_t m[32])                                    \
    {                                                                                        \
        return ops_for(ALG)->encaps_derand(ct, ss, ek, m);                                   \
    }                                                                                        \
    int pqt_mlkem##N##_encaps(uint8_t ct[CT], uint8_t ss[32], const uint8_t ek[EK])          \
    {                                                                                        \
        return pqt_mlkem_encaps(ALG, ct, CT, ss, ek, EK);                                    \
    }                                                                                        \
    int pqt_mlkem##N##_decaps(uint8_t ss[32], const uint8_t ct[CT], const uint8_t dk[DK])    \
    {                                                                                        \
        return ops_for(ALG)->decaps(ss, ct, dk);                                             \
    }                                                                                        \
    int pqt_mlkem##N##_check_ek(const uint8_t ek[EK])                                        \
    {                                                                                        \
        return ops_for(ALG)->check_ek(ek);                                                   \
    }                                                                                        \
    int pqt_mlkem##N##_check_dk(const uint8_t dk[DK])                                        \
    {                                                                                        \
        return ops_for(ALG)->check_dk(dk);                                                   \
    }

FIXED(512, PQT_MLKEM512, 800, 1632, 768)
FIXED(768, PQT_MLKEM768, 1184, 2400, 1088)
FIXED(1024, PQT_MLKEM1024, 1568, 3168, 1568)
