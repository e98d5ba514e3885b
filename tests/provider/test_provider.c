/*
 * The pqtls provider through libcrypto, as libssl drives it: loaded with
 * OSSL_PROVIDER_load into its own OSSL_LIB_CTX, then for every group the
 * provider offers (every group of the table with pqtls_implements):
 *   client keygen -> EVP_PKEY_get1_encoded_public_key (the ClientHello share)
 *   server paramgen -> EVP_PKEY_set1_encoded_public_key(share)
 *   server encapsulate -> client decapsulate -> equal secrets
 * and the peer checks: set1_encoded_public_key must refuse shares that are
 * too short or too long, carry an ML-KEM ek coefficient >= q, an EC point
 * off the curve or compressed, or an X25519 value of small order. Also the
 * provider parameters and the TLS-GROUP capability records, and round
 * trips from several threads at once.
 *
 * Usage: test_provider MODULE_DIR
 */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/hybrid.h"

static int failures;

#define CHECK(cond, ...)                                         \
    do {                                                         \
        if (!(cond)) {                                           \
            failures++;                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fputc('\n', stderr);                                 \
            ERR_print_errors_fp(stderr);                         \
        }                                                        \
    } while (0)

static OSSL_LIB_CTX *libctx;

static void alg_name(const pqt_group *g, char *buf, size_t cap)
{
    snprintf(buf, cap, "pqtls-%s", g->name);
}

static EVP_PKEY *generate(const pqt_group *g, int keypair)
{
    char alg[64];
    EVP_PKEY *pkey = NULL;
    alg_name(g, alg, sizeof(alg));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, alg, NULL);
    if (ctx == NULL) {
        return NULL;
    }
    int ok = keypair ? EVP_PKEY_keygen_init(ctx) > 0 : EVP_PKEY_paramgen_init(ctx) > 0;
    /* libssl passes tls-group-name-internal, which is the IANA name. */
    ok = ok && EVP_PKEY_CTX_set_group_name(ctx, g->name) > 0;
    ok = ok && (keypair ? EVP_PKEY_keygen(ctx, &pkey) : EVP_PKEY_paramgen(ctx, &pkey)) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

/* One full exchange; returns 1 when both sides agree. quiet: no messages
 * (thread workers count failures themselves). */
static int round_trip(const pqt_group *g, int quiet)
{
    EVP_PKEY *client = generate(g, 1), *server = generate(g, 0);
    EVP_PKEY_CTX *ectx = NULL, *dctx = NULL;
    unsigned char *share = NULL, *ct = NULL, *ss1 = NULL, *ss2 = NULL;
    size_t share_len = 0, ct_len = 0, ss1_len = 0, ss2_len = 0;
    int ok = 0;

    if (client == NULL || server == NULL) {
        goto cleanup;
    }
    share_len = EVP_PKEY_get1_encoded_public_key(client, &share);
    if (share_len != g->client_share_bytes ||
        EVP_PKEY_set1_encoded_public_key(server, share, share_len) != 1) {
        goto cleanup;
    }
    ectx = EVP_PKEY_CTX_new_from_pkey(libctx, server, NULL);
    if (ectx == NULL || EVP_PKEY_encapsulate_init(ectx, NULL) <= 0 ||
        EVP_PKEY_encapsulate(ectx, NULL, &ct_len, NULL, &ss1_len) <= 0 ||
        ct_len != g->server_share_bytes || ss1_len != g->secret_bytes) {
        goto cleanup;
    }
    ct = OPENSSL_malloc(ct_len);
    ss1 = OPENSSL_malloc(ss1_len);
    if (ct == NULL || ss1 == NULL || EVP_PKEY_encapsulate(ectx, ct, &ct_len, ss1, &ss1_len) <= 0) {
        goto cleanup;
    }
    dctx = EVP_PKEY_CTX_new_from_pkey(libctx, client, NULL);
    if (dctx == NULL || EVP_PKEY_decapsulate_init(dctx, NULL) <= 0 ||
        EVP_PKEY_decapsulate(dctx, NULL, &ss2_len, ct, ct_len) <= 0 || ss2_len != g->secret_bytes) {
        goto cleanup;
    }
    ss2 = OPENSSL_malloc(ss2_len);
    if (ss2 == NULL || EVP_PKEY_decapsulate(dctx, ss2, &ss2_len, ct, ct_len) <= 0) {
        goto cleanup;
    }
    ok = ss1_len == ss2_len && memcmp(ss1, ss2, ss1_len) == 0;
    if (!ok && !quiet) {
        fprintf(stderr, "%s: secrets differ\n", g->name);
    }
    /* A server share of the wrong length must not decapsulate. */
    if (ok && EVP_PKEY_decapsulate(dctx, ss2, &ss2_len, ct, ct_len - 1) > 0) {
        if (!quiet) {
            fprintf(stderr, "%s: short server share decapsulated\n", g->name);
        }
        ok = 0;
    }
cleanup:
    if (!ok && !quiet) {
        ERR_print_errors_fp(stderr);
    }
    ERR_clear_error();
    OPENSSL_free(share);
    OPENSSL_free(ct);
    OPENSSL_clear_free(ss1, ss1_len);
    OPENSSL_clear_free(ss2, ss2_len);
    EVP_PKEY_CTX_free(ectx);
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(client);
    EVP_PKEY_free(server);
    return ok;
}

/* 1 if a fresh server key accepts `share` as the peer's key_share. */
static int server_accepts(const pqt_group *g, const unsigned char *share, size_t len)
{
    EVP_PKEY *server = generate(g, 0);
    if (server == NULL) {
        fprintf(stderr, "%s: paramgen failed\n", g->name);
        return -1;
    }
    int r = EVP_PKEY_set1_encoded_public_key(server, share, len) == 1;
    ERR_clear_error();
    EVP_PKEY_free(server);
    return r;
}

static void test_malformed_shares(const pqt_group *g)
{
    EVP_PKEY *client = generate(g, 1);
    unsigned char *share = NULL, *bad = NULL;
    size_t len = client ? EVP_PKEY_get1_encoded_public_key(client, &share) : 0;

    CHECK(len == g->client_share_bytes, "%s: keygen share length %zu", g->name, len);
    if (len != g->client_share_bytes) {
        goto cleanup;
    }
    bad = OPENSSL_malloc(len + 1);
    if (bad == NULL) {
        goto cleanup;
    }
    const size_t ek_off = g->mlkem_first ? 0 : g->ec_share_bytes;
    const size_t ec_off = g->mlkem_first ? len - g->ec_share_bytes : 0;

    CHECK(server_accepts(g, share, len) == 1, "%s: valid share refused", g->name);
    CHECK(server_accepts(g, share, len - 1) == 0, "%s: share one byte short accepted", g->name);
    memcpy(bad, share, len);
    bad[len] = 0;
    CHECK(server_accepts(g, bad, len + 1) == 0, "%s: share one byte long accepted", g->name);
    CHECK(server_accepts(g, share, 0) == 0, "%s: empty share accepted", g->name);

    /* FIPS 203 §7.2: first coefficient of ek = 0xFFF = 4095 >= q = 3329. */
    memcpy(bad, share, len);
    bad[ek_off] = 0xff;
    bad[ek_off + 1] |= 0x0f;
    CHECK(server_accepts(g, bad, len) == 0, "%s: ek coefficient >= q accepted", g->name);
    /* The last coefficient (top 12 bits of the last 3-byte pair) = 3329. */
    memcpy(bad, share, len);
    size_t ek_bytes = g->client_share_bytes - g->ec_share_bytes;
    bad[ek_off + ek_bytes - 32 - 2] =
        (unsigned char)((bad[ek_off + ek_bytes - 32 - 2] & 0x0f) | ((3329 & 0x0f) << 4));
    bad[ek_off + ek_bytes - 32 - 1] = (unsigned char)(3329 >> 4);
    CHECK(server_accepts(g, bad, len) == 0, "%s: ek coefficient == q accepted", g->name);

    if (g->ec == PQT_EC_P256 || g->ec == PQT_EC_P384) {
        /* Change y: (x, y+1) is not on the curve. */
        memcpy(bad, share, len);
        bad[ec_off + g->ec_share_bytes - 1] ^= 0x01;
        CHECK(server_accepts(g, bad, len) == 0, "%s: EC point off the curve accepted", g->name);
        /* Only the uncompressed form is allowed (RFC 8446 §4.2.8.2). */
        memcpy(bad, share, len);
        bad[ec_off] = 0x02;
        CHECK(server_accepts(g, bad, len) == 0, "%s: compressed point prefix accepted", g->name);
        memcpy(bad, share, len);
        memset(bad + ec_off, 0, g->ec_share_bytes);
        CHECK(server_accepts(g, bad, len) == 0, "%s: all-zero EC share accepted", g->name);
    }
    if (g->ec == PQT_EC_X25519) {
        memcpy(bad, share, len);
        memset(bad + ec_off, 0, 32);
        CHECK(server_accepts(g, bad, len) == 0, "%s: X25519 all-zero share accepted", g->name);
        /* u = 1, and u = p - 1 with the ignored top bit set. */
        memcpy(bad, share, len);
        memset(bad + ec_off, 0, 32);
        bad[ec_off] = 1;
        CHECK(server_accepts(g, bad, len) == 0, "%s: X25519 u = 1 accepted", g->name);
        memset(bad + ec_off, 0xff, 32);
        bad[ec_off] = 0xec;
        CHECK(server_accepts(g, bad, len) == 0, "%s: X25519 u = p - 1 (top bit set) accepted",
              g->name);
    }

    /* A key pair's public half cannot be replaced. */
    CHECK(EVP_PKEY_set1_encoded_public_key(client, share, len) != 1,
          "%s: set1_encoded_public_key on a key pair accepted", g->name);
    ERR_clear_error();
cleanup:
    OPENSSL_free(share);
    OPENSSL_free(bad);
    EVP_PKEY_free(client);
}

static void test_wrong_group_name(const pqt_group *g, const pqt_group *other)
{
    char alg[64];
    EVP_PKEY *pkey = NULL;
    alg_name(g, alg, sizeof(alg));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, alg, NULL);
    int ok = ctx != NULL && EVP_PKEY_keygen_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_group_name(ctx, other->name) > 0 && EVP_PKEY_keygen(ctx, &pkey) > 0;
    CHECK(!ok, "%s: keygen accepted group name %s", alg, other->name);
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
}

/* --- TLS-GROUP capability ------------------------------------------------ */

struct cap_seen {
    int count;
    int bad;
};

static int on_group(const OSSL_PARAM params[], void *arg)
{
    struct cap_seen *seen = arg;
    const OSSL_PARAM *p;
    const char *name = NULL, *internal = NULL, *alg = NULL;
    unsigned int id = 0, secbits = 0, is_kem = 0;
    int min_tls = 0, max_tls = -2, min_dtls = 0, max_dtls = 0;

    seen->count++;
    p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_NAME);
    if (p == NULL || !OSSL_PARAM_get_utf8_string_ptr(p, &name)) {
        seen->bad++;
        return 1;
    }
    const pqt_group *g = pqt_group_by_name(name);
    char want_alg[64];
    if (g == NULL || !g->pqtls_implements) {
        fprintf(stderr, "capability for unexpected group %s\n", name);
        seen->bad++;
        return 1;
    }
    alg_name(g, want_alg, sizeof(want_alg));
    int ok = (p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL)) &&
             OSSL_PARAM_get_utf8_string_ptr(p, &internal) && strcmp(internal, g->name) == 0;
    ok = ok && (p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_ALG)) &&
         OSSL_PARAM_get_utf8_string_ptr(p, &alg) && strcmp(alg, want_alg) == 0;
    ok = ok && (p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_ID)) &&
         OSSL_PARAM_get_uint(p, &id) && id == g->code;
    ok = ok && (p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS)) &&
         OSSL_PARAM_get_uint(p, &secbits) && secbits == g->security_bits;
    ok = ok && (p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_IS_KEM)) &&
         OSSL_PARAM_get_uint(p, &is_kem) && is_kem == 1;
    ok = ok && (p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_MIN_TLS)) &&
         OSSL_PARAM_get_int(p, &min_tls) && min_tls == 0x0304;
    ok = ok && (p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_MAX_TLS)) &&
         OSSL_PARAM_get_int(p, &max_tls) && max_tls == 0;
    ok = ok && (p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS)) &&
         OSSL_PARAM_get_int(p, &min_dtls) && min_dtls == -1;
    ok = ok && (p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS)) &&
         OSSL_PARAM_get_int(p, &max_dtls) && max_dtls == -1;
    if (!ok) {
        fprintf(stderr, "TLS-GROUP record for %s is wrong\n", name);
        seen->bad++;
    }
    return 1;
}

/* --- threads ------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 8

struct worker {
    pthread_t tid;
    int failed;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    size_t count = 0;
    const pqt_group *all = pqt_groups_all(&count);
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < count; i++) {
            if (all[i].pqtls_implements && !round_trip(&all[i], 1)) {
                w->failed++;
            }
        }
    }
    return NULL;
}

static void run_threads(int implemented, const char *when)
{
    struct worker workers[THREADS];
    memset(workers, 0, sizeof(workers));
    for (int t = 0; t < THREADS; t++) {
        CHECK(pthread_create(&workers[t].tid, NULL, worker_main, &workers[t]) == 0, "thread");
    }
    int thread_failures = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(workers[t].tid, NULL);
        thread_failures += workers[t].failed;
    }
    CHECK(thread_failures == 0, "%d of %d concurrent round trips failed%s", thread_failures,
          THREADS * ROUNDS * implemented, when);
    printf("%s %d concurrent round trips in %d threads%s\n", thread_failures ? "FAIL" : "ok  ",
           THREADS * ROUNDS * implemented, THREADS, when);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODULE_DIR\n", argv[0]);
        return 2;
    }
    libctx = OSSL_LIB_CTX_new();
    if (libctx == NULL || !OSSL_PROVIDER_set_default_search_path(libctx, argv[1])) {
        fprintf(stderr, "cannot set up a library context\n");
        return 1;
    }
    OSSL_PROVIDER *prov = OSSL_PROVIDER_load(libctx, "pqtls");
    if (prov == NULL) {
        fprintf(stderr, "cannot load pqtls from %s\n", argv[1]);
        ERR_print_errors_fp(stderr);
        OSSL_LIB_CTX_free(libctx);
        return 1;
    }

    /* Provider parameters. */
    const char *name = NULL, *version = NULL, *buildinfo = NULL, *backend = NULL;
    int status = 0;
    OSSL_PARAM req[] = {
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, &name, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, &version, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, &buildinfo, 0),
        OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, &status),
        OSSL_PARAM_utf8_ptr("pqtls-mlkem-backend", &backend, 0),
        OSSL_PARAM_END,
    };
    CHECK(OSSL_PROVIDER_get_params(prov, req) == 1, "provider get_params");
    CHECK(name != NULL && strcmp(name, "pqtls") == 0, "provider name %s", name ? name : "(null)");
    CHECK(version != NULL && version[0] != '\0', "provider version");
    CHECK(status == 1, "provider status %d", status);
    const char *want_backend = pqt_backend_name(pqt_mlkem_get_backend());
    CHECK(backend != NULL && strcmp(backend, want_backend) == 0, "backend %s, expected %s",
          backend ? backend : "(null)", want_backend);
    CHECK(buildinfo != NULL && strstr(buildinfo, want_backend) != NULL,
          "buildinfo '%s' does not name the backend", buildinfo ? buildinfo : "(null)");
    printf("provider %s %s, ML-KEM backend %s\n", name ? name : "?", version ? version : "?",
           backend ? backend : "?");

    /* TLS-GROUP: exactly the implemented groups of the table. */
    size_t count = 0;
    const pqt_group *all = pqt_groups_all(&count);
    int implemented = 0;
    for (size_t i = 0; i < count; i++) {
        implemented += all[i].pqtls_implements != 0;
    }
    struct cap_seen seen = {0, 0};
    CHECK(OSSL_PROVIDER_get_capabilities(prov, "TLS-GROUP", on_group, &seen) == 1,
          "get_capabilities(TLS-GROUP)");
    CHECK(seen.count == implemented && seen.bad == 0, "TLS-GROUP: %d records (%d bad), want %d",
          seen.count, seen.bad, implemented);

    /* Per group: round trip and malformed shares. */
    const pqt_group *prev = NULL;
    for (size_t i = 0; i < count; i++) {
        const pqt_group *g = &all[i];
        if (!g->pqtls_implements) {
            continue;
        }
        int before = failures;
        CHECK(round_trip(g, 0), "%s: round trip", g->name);
        test_malformed_shares(g);
        if (prev != NULL) {
            test_wrong_group_name(g, prev);
        }
        prev = g;
        printf("%s %s\n", failures == before ? "ok  " : "FAIL", g->name);
    }

    /* Concurrent handshakes share nothing mutable. */
    run_threads(implemented, "");
    OSSL_PROVIDER_unload(prov);
    OSSL_LIB_CTX_free(libctx);

    /* Load it again and start with the threads: the teardown released the
     * classical key templates (crypto/hybrid/ec.c), so the threads' first
     * exchanges race to install new ones. */
    libctx = OSSL_LIB_CTX_new();
    prov = libctx != NULL && OSSL_PROVIDER_set_default_search_path(libctx, argv[1])
               ? OSSL_PROVIDER_load(libctx, "pqtls")
               : NULL;
    CHECK(prov != NULL, "loading pqtls a second time");
    if (prov != NULL) {
        run_threads(implemented, " after reloading");
        OSSL_PROVIDER_unload(prov);
    }
    OSSL_LIB_CTX_free(libctx);
    if (failures != 0) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    return 0;
}
