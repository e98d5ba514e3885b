/*
 * Hybrid and pure ML-KEM TLS groups: the group table, round trips for every
 * implemented group, and every class of malformed peer share, each with the
 * error and TLS alert the RFCs name; hybrid contexts, whose classical halves
 * run in a library context of the caller's. Known answers from standard
 * vectors are in tests/vectors/test_hybrid_kat.c.
 */
#include <openssl/crypto.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <string.h>

#include "pqtls/hybrid.h"

#include "../check.h"

static const uint16_t kem_groups[] = {
    PQT_GROUP_X25519MLKEM768, PQT_GROUP_SECP256R1MLKEM768, PQT_GROUP_SECP384R1MLKEM1024,
    PQT_GROUP_MLKEM512,       PQT_GROUP_MLKEM768,          PQT_GROUP_MLKEM1024,
};
#define NKEM (sizeof(kem_groups) / sizeof(kem_groups[0]))

static void test_table(void)
{
    size_t n = 0;
    const pqt_group *all = pqt_groups_all(&n);
    CHECK(n >= 16, "table has %zu groups", n);
    for (size_t i = 0; i < n; i++) {
        CHECK(pqt_group_by_code(all[i].code) == &all[i], "lookup of 0x%04x", all[i].code);
        CHECK(pqt_group_by_name(all[i].name) == &all[i], "lookup of %s", all[i].name);
        if (i > 0) {
            CHECK(all[i - 1].code < all[i].code, "table not in code order at %s", all[i].name);
        }
        if (all[i].pqtls_implements) {
            const pqt_mlkem_params *p = pqt_mlkem_params_get(all[i].mlkem);
            CHECK(all[i].client_share_bytes == all[i].ec_share_bytes + p->ek_bytes,
                  "%s client share size", all[i].name);
            CHECK(all[i].server_share_bytes == all[i].ec_share_bytes + p->ct_bytes,
                  "%s server share size", all[i].name);
        }
    }
    const pqt_group *g = pqt_group_by_code(0x11EC);
    CHECK(g && strcmp(g->name, "X25519MLKEM768") == 0 && g->mlkem_first == 1 &&
              g->client_share_bytes == 1216 && g->server_share_bytes == 1120 &&
              g->secret_bytes == 64,
          "X25519MLKEM768 entry (RFC 10024: 1216/1120/64, ML-KEM first)");
    g = pqt_group_by_code(0x11EB);
    CHECK(g && g->mlkem_first == 0 && g->client_share_bytes == 1249 &&
              g->server_share_bytes == 1153,
          "SecP256r1MLKEM768 entry (1249/1153, EC first)");
    g = pqt_group_by_code(0x11ED);
    CHECK(g && g->mlkem_first == 0 && g->client_share_bytes == 1665 &&
              g->server_share_bytes == 1665 && g->secret_bytes == 80,
          "SecP384r1MLKEM1024 entry (1665/1665/80, EC first)");
    CHECK(pqt_group_by_name("x25519mlkem768") == pqt_group_by_code(0x11EC),
          "case-insensitive name");
    CHECK(pqt_group_by_name("ML-KEM-768") == pqt_group_by_code(0x0201), "alias ML-KEM-768");
    CHECK(pqt_group_by_code(0x1234) == NULL, "unknown code point");
    CHECK(pqt_group_is_pq(0x6399) && pqt_group_is_pq(0x11EC) && !pqt_group_is_pq(0x001D), "is_pq");
    CHECK(strcmp(pqt_group_name(0x6399), "X25519Kyber768Draft00") == 0, "legacy name");
}

static void test_round_trips(void)
{
    for (size_t i = 0; i < NKEM; i++) {
        const pqt_group *g = pqt_group_by_code(kem_groups[i]);
        for (int rep = 0; rep < 20; rep++) {
            uint8_t cs[PQT_HYBRID_MAX_CLIENT_SHARE], ss[PQT_HYBRID_MAX_SERVER_SHARE];
            uint8_t k1[PQT_HYBRID_MAX_SECRET], k2[PQT_HYBRID_MAX_SECRET];
            size_t cl, sl, kl1, kl2;
            pqt_hybrid_client *c = NULL;
            int r = pqt_hybrid_client_new(g->code, &c, cs, sizeof(cs), &cl);
            CHECK(r == 0 && cl == g->client_share_bytes, "%s client_new: %d", g->name, r);
            r = pqt_hybrid_server_respond(g->code, cs, cl, ss, sizeof(ss), &sl, k1, sizeof(k1),
                                          &kl1);
            CHECK(r == 0 && sl == g->server_share_bytes && kl1 == g->secret_bytes,
                  "%s server_respond: %d", g->name, r);
            r = pqt_hybrid_client_finish(c, ss, sl, k2, sizeof(k2), &kl2);
            CHECK(r == 0 && kl2 == kl1 && memcmp(k1, k2, kl1) == 0, "%s secrets agree: %d", g->name,
                  r);
            CHECK(pqt_hybrid_client_group(c) == g->code, "%s client group", g->name);
            pqt_hybrid_client_free(c);
        }
    }
}

/* Expect the server to refuse a client share with err, and the alert to be
 * illegal_parameter; outputs must be zero. */
static void expect_server_reject(const pqt_group *g, const uint8_t *share, size_t len, int err,
                                 const char *what)
{
    uint8_t ss[PQT_HYBRID_MAX_SERVER_SHARE + 8], k[PQT_HYBRID_MAX_SECRET];
    size_t sl = 99, kl = 99;
    memset(k, 0xAA, sizeof(k));
    int r = pqt_hybrid_server_respond(g->code, share, len, ss, sizeof(ss), &sl, k, sizeof(k), &kl);
    CHECK(r == err, "%s: %s gave %s, want %s", g->name, what, pqt_errname(r), pqt_errname(err));
    CHECK(pqt_err_tls_alert(r) == PQT_ALERT_ILLEGAL_PARAMETER, "%s: %s alert %d", g->name, what,
          pqt_err_tls_alert(r));
    CHECK(sl == 0 && kl == 0, "%s: %s output lengths not zeroed", g->name, what);
    if (err != PQT_ERR_SHARE_LENGTH) {
        uint8_t zero[PQT_HYBRID_MAX_SECRET] = {0};
        CHECK(memcmp(k, zero, g->secret_bytes) == 0, "%s: %s secret not wiped", g->name, what);
    }
}

static void test_malformed_client_shares(void)
{
    for (size_t i = 0; i < NKEM; i++) {
        const pqt_group *g = pqt_group_by_code(kem_groups[i]);
        const pqt_mlkem_params *p = pqt_mlkem_params_get(g->mlkem);
        uint8_t cs[PQT_HYBRID_MAX_CLIENT_SHARE + 1], bad[PQT_HYBRID_MAX_CLIENT_SHARE + 1];
        size_t cl;
        pqt_hybrid_client *c = NULL;
        if (pqt_hybrid_client_new(g->code, &c, cs, sizeof(cs), &cl) != 0) {
            CHECK(0, "%s client_new", g->name);
            continue;
        }
        pqt_hybrid_client_free(c);
        size_t ek_off = g->mlkem_first ? 0 : g->ec_share_bytes;
        size_t ec_off = g->mlkem_first ? p->ek_bytes : 0;

        expect_server_reject(g, cs, cl - 1, PQT_ERR_SHARE_LENGTH, "share one byte short");
        cs[cl] = 0;
        expect_server_reject(g, cs, cl + 1, PQT_ERR_SHARE_LENGTH, "share one byte long");
        expect_server_reject(g, cs, 0, PQT_ERR_SHARE_LENGTH, "empty share");

        /* First coefficient of the ek set to 4095 >= q. */
        memcpy(bad, cs, cl);
        bad[ek_off] = 0xFF;
        bad[ek_off + 1] |= 0x0F;
        expect_server_reject(g, bad, cl, PQT_ERR_EK_MODULUS, "ek coefficient >= q");

        if (g->ec == PQT_EC_P256 || g->ec == PQT_EC_P384) {
            memcpy(bad, cs, cl);
            bad[ec_off + g->ec_share_bytes - 1] ^= 0x01; /* y no longer matches x */
            expect_server_reject(g, bad, cl, PQT_ERR_EC_POINT, "EC point off the curve");
            memcpy(bad, cs, cl);
            bad[ec_off] = 0x02; /* compressed-form prefix: not allowed in TLS 1.3 */
            expect_server_reject(g, bad, cl, PQT_ERR_EC_POINT, "EC point with 0x02 prefix");
            memcpy(bad, cs, cl);
            memset(bad + ec_off, 0, g->ec_share_bytes);
            expect_server_reject(g, bad, cl, PQT_ERR_EC_POINT, "all-zero EC point");
        }
        if (g->ec == PQT_EC_X25519) {
            /* u = 0 and u = 1 are low-order points: the X25519 result is zero. */
            memcpy(bad, cs, cl);
            memset(bad + ec_off, 0, 32);
            expect_server_reject(g, bad, cl, PQT_ERR_EC_ZERO, "X25519 u=0 (low order)");
            bad[ec_off] = 1;
            expect_server_reject(g, bad, cl, PQT_ERR_EC_ZERO, "X25519 u=1 (low order)");
        }
    }
}

static void test_malformed_server_shares(void)
{
    for (size_t i = 0; i < NKEM; i++) {
        const pqt_group *g = pqt_group_by_code(kem_groups[i]);
        const pqt_mlkem_params *p = pqt_mlkem_params_get(g->mlkem);
        uint8_t cs[PQT_HYBRID_MAX_CLIENT_SHARE], ss[PQT_HYBRID_MAX_SERVER_SHARE + 1];
        uint8_t k[PQT_HYBRID_MAX_SECRET], k2[PQT_HYBRID_MAX_SECRET];
        size_t cl, sl, kl;
        pqt_hybrid_client *c = NULL;
        if (pqt_hybrid_client_new(g->code, &c, cs, sizeof(cs), &cl) != 0 ||
            pqt_hybrid_server_respond(g->code, cs, cl, ss, sizeof(ss), &sl, k, sizeof(k), &kl) !=
                0) {
            CHECK(0, "%s setup", g->name);
            pqt_hybrid_client_free(c);
            continue;
        }
        int r = pqt_hybrid_client_finish(c, ss, sl - 1, k2, sizeof(k2), &kl);
        CHECK(r == PQT_ERR_SHARE_LENGTH && kl == 0, "%s: short server share: %s", g->name,
              pqt_errname(r));
        r = pqt_hybrid_client_finish(c, ss, sl + 1, k2, sizeof(k2), &kl);
        CHECK(r == PQT_ERR_SHARE_LENGTH, "%s: long server share: %s", g->name, pqt_errname(r));
        size_t ec_off = g->mlkem_first ? p->ct_bytes : 0;
        if (g->ec == PQT_EC_X25519) {
            uint8_t bad[PQT_HYBRID_MAX_SERVER_SHARE];
            memcpy(bad, ss, sl);
            memset(bad + ec_off, 0, 32);
            r = pqt_hybrid_client_finish(c, bad, sl, k2, sizeof(k2), &kl);
            CHECK(r == PQT_ERR_EC_ZERO, "%s: server X25519 u=0: %s", g->name, pqt_errname(r));
        } else if (g->ec != PQT_EC_NONE) {
            uint8_t bad[PQT_HYBRID_MAX_SERVER_SHARE];
            memcpy(bad, ss, sl);
            bad[ec_off + g->ec_share_bytes - 1] ^= 0x01;
            r = pqt_hybrid_client_finish(c, bad, sl, k2, sizeof(k2), &kl);
            CHECK(r == PQT_ERR_EC_POINT, "%s: server point off curve: %s", g->name, pqt_errname(r));
        }
        /* A tampered ciphertext is not an error (implicit rejection), but the
         * secrets must then differ. */
        size_t ct_off = g->mlkem_first ? 0 : g->ec_share_bytes;
        ss[ct_off] ^= 1;
        r = pqt_hybrid_client_finish(c, ss, sl, k2, sizeof(k2), &kl);
        CHECK(r == 0 && memcmp(k, k2, g->secret_bytes) != 0,
              "%s: tampered ciphertext must give a different secret", g->name);
        ss[ct_off] ^= 1;
        r = pqt_hybrid_client_finish(c, ss, sl, k2, sizeof(k2), &kl);
        CHECK(r == 0 && memcmp(k, k2, g->secret_bytes) == 0, "%s: untampered again", g->name);
        pqt_hybrid_client_free(c);
    }
}

static void test_unsupported(void)
{
    uint8_t buf[2000], k[80];
    size_t l, kl;
    pqt_hybrid_client *c = NULL;
    CHECK(pqt_hybrid_client_new(PQT_GROUP_X25519, &c, buf, sizeof(buf), &l) == PQT_ERR_UNSUPPORTED,
          "classical group is not a KEM group here");
    CHECK(pqt_hybrid_client_new(0x6399, &c, buf, sizeof(buf), &l) == PQT_ERR_UNSUPPORTED,
          "pqtls offers no key exchange for the retired Kyber draft");
    CHECK(pqt_hybrid_server_respond(0x9999, buf, 10, buf, sizeof(buf), &l, k, sizeof(k), &kl) ==
              PQT_ERR_UNSUPPORTED,
          "unknown group");
    CHECK(pqt_hybrid_client_new(PQT_GROUP_X25519MLKEM768, &c, buf, 100, &l) == PQT_ERR_ARG,
          "small output buffer");
    pqt_hybrid_client_free(NULL);
}

/*
 * One exchange, the client in hc_client and the server in hc_server (NULL:
 * the plain functions' default context): 0 when both secrets agree, else
 * the first error (PQT_ERR_INTERNAL when the secrets differ). Outputs of a
 * failed call must be zero.
 */
static int exchange(pqt_hybrid_ctx *hc_client, pqt_hybrid_ctx *hc_server, const pqt_group *g)
{
    static const uint8_t zero[PQT_HYBRID_MAX_SERVER_SHARE];
    uint8_t cs[PQT_HYBRID_MAX_CLIENT_SHARE], ss[PQT_HYBRID_MAX_SERVER_SHARE];
    uint8_t k1[PQT_HYBRID_MAX_SECRET], k2[PQT_HYBRID_MAX_SECRET];
    size_t cl = 99, sl = 99, kl1 = 99, kl2 = 99;
    pqt_hybrid_client *c = NULL;

    memset(cs, 0xAA, sizeof(cs));
    int r = pqt_hybrid_client_new_ex(hc_client, g->code, &c, cs, sizeof(cs), &cl);
    if (r != 0) {
        CHECK(c == NULL && cl == 0 && memcmp(cs, zero, g->client_share_bytes) == 0,
              "%s: failed client_new_ex left a state or a share", g->name);
        return r;
    }
    memset(ss, 0xAA, sizeof(ss));
    r = pqt_hybrid_server_respond_ex(hc_server, g->code, cs, cl, ss, sizeof(ss), &sl, k1,
                                     sizeof(k1), &kl1);
    if (r != 0) {
        CHECK(sl == 0 && kl1 == 0 && memcmp(ss, zero, g->server_share_bytes) == 0,
              "%s: failed server_respond_ex left output", g->name);
    } else {
        r = pqt_hybrid_client_finish(c, ss, sl, k2, sizeof(k2), &kl2);
        if (r == 0 && (kl1 != kl2 || memcmp(k1, k2, kl1) != 0)) {
            r = PQT_ERR_INTERNAL;
        }
    }
    pqt_hybrid_client_free(c);
    return r;
}

/* A library context holding exactly the named provider (*prov); NULL on
 * failure. Free it with context_free. */
static OSSL_LIB_CTX *context_with(const char *provider, OSSL_PROVIDER **prov)
{
    OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
    *prov = lib != NULL ? OSSL_PROVIDER_load(lib, provider) : NULL;
    if (*prov == NULL) {
        OSSL_LIB_CTX_free(lib);
        lib = NULL;
    }
    return lib;
}

/* OSSL_LIB_CTX_free does not drop the reference OSSL_PROVIDER_load gave. */
static void context_free(OSSL_LIB_CTX *lib, OSSL_PROVIDER *prov)
{
    if (prov != NULL) {
        OSSL_PROVIDER_unload(prov);
    }
    OSSL_LIB_CTX_free(lib);
}

static void test_contexts(void)
{
    pqt_hybrid_ctx *on_default = NULL, *own = NULL, *empty = NULL;
    OSSL_PROVIDER *default_prov = NULL, *null_prov = NULL;
    OSSL_LIB_CTX *lib = context_with("default", &default_prov);
    OSSL_LIB_CTX *null_lib = context_with("null", &null_prov);

    CHECK(pqt_hybrid_ctx_new(NULL, NULL) == PQT_ERR_ARG, "ctx_new without an output");
    pqt_hybrid_ctx_free(NULL);
    CHECK(lib != NULL && null_lib != NULL, "library contexts with default / null");
    if (lib == NULL || null_lib == NULL || pqt_hybrid_ctx_new(NULL, &on_default) != 0 ||
        pqt_hybrid_ctx_new(lib, &own) != 0 || pqt_hybrid_ctx_new(null_lib, &empty) != 0) {
        CHECK(0, "hybrid contexts");
        goto cleanup;
    }
    for (size_t i = 0; i < NKEM; i++) {
        const pqt_group *g = pqt_group_by_code(kem_groups[i]);
        int r;
        /* A context of the default library context, and one of our own:
         * the same exchange, and each side can be in a different one. */
        CHECK((r = exchange(on_default, on_default, g)) == 0, "%s: default-context ctx: %s",
              g->name, pqt_errname(r));
        CHECK((r = exchange(own, own, g)) == 0, "%s: own library context: %s", g->name,
              pqt_errname(r));
        CHECK((r = exchange(own, NULL, g)) == 0, "%s: client in own context, server plain: %s",
              g->name, pqt_errname(r));
        CHECK((r = exchange(NULL, own, g)) == 0, "%s: client plain, server in own context: %s",
              g->name, pqt_errname(r));
        /* A library context with no X25519 or EC: the classical half fails
         * there, with no fallback to the default context; ML-KEM alone
         * needs no libcrypto. */
        int want = g->ec == PQT_EC_NONE ? 0 : PQT_ERR_CRYPTO_LIB;
        CHECK((r = exchange(empty, NULL, g)) == want, "%s: client in a null-provider context: %s",
              g->name, pqt_errname(r));
        CHECK((r = exchange(NULL, empty, g)) == want, "%s: server in a null-provider context: %s",
              g->name, pqt_errname(r));
    }
    /* Freed with its templates made, then made again on the same context. */
    pqt_hybrid_ctx_free(own);
    own = NULL;
    CHECK(pqt_hybrid_ctx_new(lib, &own) == 0 &&
              exchange(own, own, pqt_group_by_code(PQT_GROUP_SECP256R1MLKEM768)) == 0,
          "a second hybrid context on the same library context");
cleanup:
    pqt_hybrid_ctx_free(on_default);
    pqt_hybrid_ctx_free(own);
    pqt_hybrid_ctx_free(empty);
    context_free(lib, default_prov);
    context_free(null_lib, null_prov);
}

int main(void)
{
    test_table();
    test_round_trips();
    test_malformed_client_shares();
    test_malformed_server_shares();
    test_unsupported();
    test_contexts();
    pqt_hybrid_release();
    printf("test_hybrid: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures != 0;
}
