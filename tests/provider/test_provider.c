/*
 * The pqtls provider through libcrypto, as libssl drives it: loaded with
 * OSSL_PROVIDER_load into its own OSSL_LIB_CTX beside the default
 * provider, then for every group the provider offers (every group of the
 * table with pqtls_implements):
 *   client keygen -> EVP_PKEY_get1_encoded_public_key (the ClientHello share)
 *   server paramgen -> EVP_PKEY_set1_encoded_public_key(share)
 *   server encapsulate -> client decapsulate -> equal secrets
 * and the peer checks: set1_encoded_public_key must refuse shares that are
 * too short or too long, carry an ML-KEM ek coefficient >= q, an EC point
 * off the curve or compressed, or an X25519 value of small order. Also the
 * provider parameters and the TLS-GROUP capability records, and round
 * trips from several threads at once.
 *
 * Library contexts: the classical halves must run in a child of the
 * context that loaded pqtls, never in OpenSSL's default one. So the whole
 * test runs with only the "null" provider in the default context (any use
 * of it fails), pqtls loaded alone into a context must offer the pure
 * ML-KEM groups but no hybrid one until the default provider is loaded
 * there too, and two contexts with pqtls each serve threads at once.
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

static EVP_PKEY *generate_in(OSSL_LIB_CTX *lib, const pqt_group *g, int keypair)
{
    char alg[64];
    EVP_PKEY *pkey = NULL;
    alg_name(g, alg, sizeof(alg));
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(lib, alg, NULL);
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

static EVP_PKEY *generate(const pqt_group *g, int keypair)
{
    return generate_in(libctx, g, keypair);
}

/* One full exchange in lib; returns 1 when both sides agree. quiet: no
 * messages (thread workers count failures themselves). */
static int round_trip_in(OSSL_LIB_CTX *lib, const pqt_group *g, int quiet)
{
    EVP_PKEY *client = generate_in(lib, g, 1), *server = generate_in(lib, g, 0);
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
    ectx = EVP_PKEY_CTX_new_from_pkey(lib, server, NULL);
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
    dctx = EVP_PKEY_CTX_new_from_pkey(lib, client, NULL);
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

static int round_trip(const pqt_group *g, int quiet)
{
    return round_trip_in(libctx, g, quiet);
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

/*
 * 1 if a fresh server key refuses `share` with pqtls' error `want` on the
 * queue, readable as text: the provider registers its reason strings, so
 * logs say "pqtls::key share has the wrong length ..." instead of
 * "lib(129)::reason(16)".
 */
static int server_refuses_with(const pqt_group *g, const unsigned char *share, size_t len, int want)
{
    EVP_PKEY *server = generate(g, 0);
    if (server == NULL) {
        return 0;
    }
    ERR_clear_error();
    int refused = EVP_PKEY_set1_encoded_public_key(server, share, len) != 1;
    unsigned long e = ERR_peek_error();
    const char *lib = ERR_lib_error_string(e), *reason = ERR_reason_error_string(e);
    int ok = refused && ERR_GET_REASON(e) == -want && lib != NULL && strcmp(lib, "pqtls") == 0 &&
             reason != NULL && strcmp(reason, pqt_strerror(want)) == 0;
    if (!ok) {
        fprintf(stderr, "%s: refused %d, error %lx lib '%s' reason '%s'\n", g->name, refused, e,
                lib ? lib : "(none)", reason ? reason : "(none)");
    }
    ERR_clear_error();
    EVP_PKEY_free(server);
    return ok;
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
    CHECK(server_refuses_with(g, bad, len, PQT_ERR_EK_MODULUS),
          "%s: ek >= q refused with pqtls' named reason", g->name);
    CHECK(server_refuses_with(g, share, len - 1, PQT_ERR_SHARE_LENGTH),
          "%s: short share refused with pqtls' named reason", g->name);
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
    OSSL_LIB_CTX *lib;
    int failed;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    size_t count = 0;
    const pqt_group *all = pqt_groups_all(&count);
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < count; i++) {
            if (all[i].pqtls_implements && !round_trip_in(w->lib, &all[i], 1)) {
                w->failed++;
            }
        }
    }
    return NULL;
}

/* THREADS workers, worker t in libs[t % nlibs]. */
static void run_threads_in(OSSL_LIB_CTX *const *libs, int nlibs, int implemented, const char *when)
{
    struct worker workers[THREADS];
    memset(workers, 0, sizeof(workers));
    for (int t = 0; t < THREADS; t++) {
        workers[t].lib = libs[t % nlibs];
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

static void run_threads(int implemented, const char *when)
{
    run_threads_in(&libctx, 1, implemented, when);
}

/* --- library contexts ---------------------------------------------------- */

struct loaded {
    OSSL_PROVIDER *prov[4];
    int n;
};

static int collect(OSSL_PROVIDER *prov, void *arg)
{
    struct loaded *l = arg;
    if (l->n == (int)(sizeof(l->prov) / sizeof(l->prov[0]))) {
        return 0;
    }
    l->prov[l->n++] = prov;
    return 1;
}

/* Unload every provider of lib (this test loads each once) and free it:
 * a provider's teardown runs only when its last reference goes, and
 * OSSL_LIB_CTX_free does not drop the one OSSL_PROVIDER_load returned. */
static void context_free(OSSL_LIB_CTX *lib)
{
    struct loaded l = {{NULL}, 0};
    if (lib == NULL) {
        return;
    }
    CHECK(OSSL_PROVIDER_do_all(lib, collect, &l) == 1, "listing the providers of a context");
    for (int i = 0; i < l.n; i++) {
        OSSL_PROVIDER_unload(l.prov[i]);
    }
    OSSL_LIB_CTX_free(lib);
}

/* A new library context searching dir for modules, with the providers of
 * names (NULL-terminated) loaded in that order; NULL if any will not load.
 * Free it with context_free. */
static OSSL_LIB_CTX *context_with(const char *dir, const char *const *names)
{
    OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
    if (lib == NULL || !OSSL_PROVIDER_set_default_search_path(lib, dir)) {
        OSSL_LIB_CTX_free(lib);
        return NULL;
    }
    for (; *names != NULL; names++) {
        if (OSSL_PROVIDER_load(lib, *names) == NULL) {
            fprintf(stderr, "cannot load %s from %s\n", *names, dir);
            ERR_print_errors_fp(stderr);
            context_free(lib);
            return NULL;
        }
    }
    return lib;
}

/*
 * pqtls alone in a context: its classical halves see only that context's
 * providers (through the child context), and neither the default context
 * (null provider only) nor a fallback gives them X25519 or EC. So the pure
 * ML-KEM groups work and every hybrid keygen fails, with pqtls' error on
 * the queue. Loading the default provider into the same context afterwards
 * reaches the child too, and then every group works.
 */
static void test_context_without_default(const char *dir)
{
    static const char *const only_pqtls[] = {"pqtls", NULL};
    OSSL_LIB_CTX *lib = context_with(dir, only_pqtls);
    CHECK(lib != NULL, "loading pqtls alone into a library context");
    if (lib == NULL) {
        return;
    }
    size_t count = 0;
    const pqt_group *all = pqt_groups_all(&count);
    int hybrid_refused = 0, hybrid = 0;
    for (size_t i = 0; i < count; i++) {
        const pqt_group *g = &all[i];
        if (!g->pqtls_implements) {
            continue;
        }
        if (g->ec == PQT_EC_NONE) {
            CHECK(round_trip_in(lib, g, 0), "%s without the default provider", g->name);
            continue;
        }
        hybrid++;
        EVP_PKEY *key = generate_in(lib, g, 1);
        unsigned long e = ERR_peek_last_error();
        hybrid_refused += key == NULL;
        CHECK(key == NULL, "%s: hybrid keygen succeeded with no X25519/EC provider in its context",
              g->name);
        CHECK(key != NULL || (e != 0 && ERR_GET_REASON(e) == (unsigned long)-PQT_ERR_CRYPTO_LIB),
              "%s: keygen failed without pqtls' PQT_ERR_CRYPTO_LIB on the error queue", g->name);
        ERR_clear_error();
        EVP_PKEY_free(key);
    }
    printf("%s pqtls alone in a context: ML-KEM groups work, %d of %d hybrid keygens refused\n",
           hybrid_refused == hybrid ? "ok  " : "FAIL", hybrid_refused, hybrid);

    int before = failures;
    CHECK(OSSL_PROVIDER_load(lib, "default") != NULL, "loading default after pqtls");
    for (size_t i = 0; i < count; i++) {
        if (all[i].pqtls_implements) {
            CHECK(round_trip_in(lib, &all[i], 0), "%s after loading default into the context",
                  all[i].name);
        }
    }
    printf("%s every group once default is loaded into the same context afterwards\n",
           failures == before ? "ok  " : "FAIL");
    context_free(lib);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODULE_DIR\n", argv[0]);
        return 2;
    }
    /* The default context gets the null provider, which implements
     * nothing and stops the default one from loading as a fallback: pqtls
     * must not use this context. */
    OSSL_PROVIDER *null_prov = OSSL_PROVIDER_load(NULL, "null");
    EVP_PKEY *probe = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    if (null_prov == NULL || probe != NULL) {
        fprintf(stderr, "cannot empty the default library context\n");
        EVP_PKEY_free(probe);
        return 1;
    }
    ERR_clear_error();

    /* As libssl's users do: default and pqtls in one context. */
    static const char *const only_default[] = {"default", NULL};
    static const char *const default_and_pqtls[] = {"default", "pqtls", NULL};
    libctx = context_with(argv[1], only_default);
    OSSL_PROVIDER *prov = libctx != NULL ? OSSL_PROVIDER_load(libctx, "pqtls") : NULL;
    if (prov == NULL) {
        fprintf(stderr, "cannot load pqtls from %s\n", argv[1]);
        ERR_print_errors_fp(stderr);
        context_free(libctx);
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
    context_free(libctx); /* unloads pqtls: its teardown runs */

    /* Load it again and start with the threads: the teardown released the
     * classical key templates (crypto/hybrid/ec.c) with the instance's
     * child context, so the threads' first exchanges race to install new
     * ones in a new child. */
    libctx = context_with(argv[1], default_and_pqtls);
    CHECK(libctx != NULL, "loading pqtls a second time");
    if (libctx != NULL) {
        run_threads(implemented, " after reloading");
    }
    context_free(libctx);

    /* Two contexts at once, two threads each: two instances, each with its
     * own child context and templates, none installed yet. */
    static const char *const pqtls_then_default[] = {"pqtls", "default", NULL};
    OSSL_LIB_CTX *two[2] = {context_with(argv[1], default_and_pqtls),
                            context_with(argv[1], pqtls_then_default)};
    CHECK(two[0] != NULL && two[1] != NULL, "pqtls in two library contexts");
    if (two[0] != NULL && two[1] != NULL) {
        run_threads_in(two, 2, implemented, " in two library contexts");
    }
    context_free(two[0]);
    context_free(two[1]);

    test_context_without_default(argv[1]);
    OSSL_PROVIDER_unload(null_prov);
    if (failures != 0) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    return 0;
}
