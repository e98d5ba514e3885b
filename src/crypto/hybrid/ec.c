/*
 * The classical halves of the hybrid groups, on OpenSSL libcrypto (EVP):
 * X25519 (RFC 7748) and ECDH on P-256 / P-384 with uncompressed points
 * (RFC 8446 §4.2.8.2). Peer values are validated here so that every caller
 * gets the same errors: PQT_ERR_EC_POINT, PQT_ERR_EC_ZERO.
 *
 * Every libcrypto call names the library context of its pqt_ec_ctx, never
 * the default one implicitly: inside the provider that is a child of the
 * context that loaded pqtls (src/provider/provider.c), so the classical
 * halves use that application's providers and properties.
 */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <stdatomic.h>
#include <string.h>

#include "ct.h"
#include "hybrid/ec.h"
#include "pqtls/common.h"

static int curve_nid(pqt_ec_curve c)
{
    return c == PQT_EC_P256 ? NID_X9_62_prime256v1 : c == PQT_EC_P384 ? NID_secp384r1 : NID_undef;
}

static const char *curve_name(pqt_ec_curve c)
{
    return c == PQT_EC_P256 ? "P-256" : c == PQT_EC_P384 ? "P-384" : NULL;
}

size_t pqt_ec_share_bytes(pqt_ec_curve c)
{
    switch (c) {
    case PQT_EC_X25519:
        return 32;
    case PQT_EC_P256:
        return 65;
    case PQT_EC_P384:
        return 97;
    default:
        return 0;
    }
}

size_t pqt_ec_secret_bytes(pqt_ec_curve c)
{
    return c == PQT_EC_P384 ? 48 : c == PQT_EC_NONE ? 0 : 32;
}

size_t pqt_ec_priv_bytes(pqt_ec_curve c)
{
    return c == PQT_EC_P384 ? 48 : c == PQT_EC_NONE ? 0 : 32;
}

/*
 * Key templates. EVP_PKEY_CTX_new_from_name fetches the key manager by name
 * on every call: in libcrypto 3.0 a method-store lookup under locks that
 * took 11k ticks (4 µs) in a TLS handshake, twice per handshake for the
 * hybrid's classical keys. EVP_PKEY_CTX_new_from_pkey takes the key manager
 * of an existing key instead (3k ticks). So one key per curve, made by name
 * once, serves as the template for a context through which every new key
 * of that curve is imported or generated. Templates are only read, from
 * any thread (an EVP_PKEY is safe to share read-only; the context takes its
 * reference atomically); the first thread to need one installs it with a
 * compare-and-swap. Templates belong to a pqt_ec_ctx and are made in its
 * library context (a key manager of one context is no use in another);
 * pqt_ec_free_templates() releases them (the provider's teardown, before it
 * frees its library context); they are made again if needed later.
 */
static EVP_PKEY *make_template(OSSL_LIB_CTX *libctx, pqt_ec_curve c)
{
    if (c == PQT_EC_X25519) {
        static const uint8_t base_u[32] = {9}; /* RFC 7748 §4.1 base point */
        return EVP_PKEY_new_raw_public_key_ex(libctx, "X25519", NULL, base_u, sizeof(base_u));
    }
    /* Domain parameters only: keygen takes the curve from the template. */
    EVP_PKEY *t = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_paramgen_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_group_name(ctx, c == PQT_EC_P256 ? "P-256" : "P-384") <= 0 ||
        EVP_PKEY_paramgen(ctx, &t) <= 0) {
        t = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return t;
}

/* A fresh context for a curve's key manager, or NULL. */
static EVP_PKEY_CTX *curve_ctx(pqt_ec_ctx *x, pqt_ec_curve c)
{
    if (c != PQT_EC_X25519 && c != PQT_EC_P256 && c != PQT_EC_P384) {
        return NULL;
    }
    EVP_PKEY *t = atomic_load_explicit(&x->templates[c], memory_order_acquire);
    if (t == NULL) {
        EVP_PKEY *fresh = make_template(x->libctx, c);
        if (fresh == NULL) {
            return NULL;
        }
        if (atomic_compare_exchange_strong_explicit(&x->templates[c], &t, fresh,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            t = fresh;
        } else {
            EVP_PKEY_free(fresh); /* another thread's template won; t is it */
        }
    }
    return EVP_PKEY_CTX_new_from_pkey(x->libctx, t, NULL);
}

void pqt_ec_free_templates(pqt_ec_ctx *x)
{
    for (size_t i = 0; i < sizeof(x->templates) / sizeof(x->templates[0]); i++) {
        EVP_PKEY_free(atomic_exchange(&x->templates[i], NULL));
    }
}

/* An EVP_PKEY for a NIST curve from public octets and, optionally, a private
 * scalar. */
static EVP_PKEY *nist_key_fromdata(pqt_ec_ctx *x, pqt_ec_curve c, const uint8_t *pub, size_t publen,
                                   const BIGNUM *priv)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;

    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve_name(c), 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen) ||
        (priv != NULL && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv))) {
        goto cleanup;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = curve_ctx(x, c);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        key = NULL;
    }
cleanup:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return key;
}

/* Uncompressed encoding of priv * G. */
static int nist_public_from_private(const pqt_ec_ctx *x, pqt_ec_curve c, const BIGNUM *priv,
                                    uint8_t *pub)
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name_ex(x->libctx, NULL, curve_nid(c));
    EC_POINT *point = group ? EC_POINT_new(group) : NULL;
    int ret = PQT_ERR_CRYPTO_LIB;
    if (point != NULL && EC_POINT_mul(group, point, priv, NULL, NULL, NULL) == 1 &&
        EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, pqt_ec_share_bytes(c),
                           NULL) == pqt_ec_share_bytes(c)) {
        ret = 0;
    }
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return ret;
}

int pqt_ec_keygen(pqt_ec_ctx *x, pqt_ec_curve c, const uint8_t *priv, size_t priv_len,
                  EVP_PKEY **out, uint8_t *pub)
{
    EVP_PKEY *key = NULL;
    int ret = PQT_ERR_CRYPTO_LIB;
    *out = NULL;

    if (priv != NULL && priv_len != pqt_ec_priv_bytes(c)) {
        return PQT_ERR_ARG;
    }
    if (c == PQT_EC_X25519) {
        /*
         * RFC 7748 §6.1: the private key is 32 random bytes; X25519 clamps
         * them itself (§5). Importing them, through a context made from the
         * curve's template, costs less than EVP_PKEY_keygen (no fetch by
         * name, no DRBG call), and the hybrid passes bytes it drew together
         * with the ML-KEM seed.
         */
        uint8_t rnd[32];
        size_t len = 32;
        if (priv == NULL) {
            if (pqt_random_bytes(rnd, sizeof(rnd)) != 0) {
                pqt_ct_wipe(rnd, sizeof(rnd));
                return PQT_ERR_RANDOM;
            }
            priv = rnd;
        }
        /* libcrypto computes the public key when it imports the private one. */
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, (void *)priv, 32),
            OSSL_PARAM_construct_end(),
        };
        EVP_PKEY_CTX *ctx = curve_ctx(x, c);
        if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
            EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) <= 0) {
            key = NULL;
        }
        EVP_PKEY_CTX_free(ctx);
        pqt_ct_wipe(rnd, sizeof(rnd));
        if (key == NULL || EVP_PKEY_get_raw_public_key(key, pub, &len) <= 0 || len != 32) {
            goto cleanup;
        }
    } else if (c == PQT_EC_P256 || c == PQT_EC_P384) {
        if (priv != NULL) {
            BIGNUM *d = BN_bin2bn(priv, (int)priv_len, NULL);
            if (d == NULL) {
                goto cleanup;
            }
            ret = nist_public_from_private(x, c, d, pub);
            if (ret == 0) {
                key = nist_key_fromdata(x, c, pub, pqt_ec_share_bytes(c), d);
                ret = PQT_ERR_CRYPTO_LIB;
            }
            BN_clear_free(d);
            if (key == NULL) {
                goto cleanup;
            }
        } else {
            size_t len = 0;
            EVP_PKEY_CTX *ctx = curve_ctx(x, c);
            if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &key) <= 0) {
                key = NULL;
            }
            EVP_PKEY_CTX_free(ctx);
            if (key == NULL ||
                EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                                pqt_ec_share_bytes(c), &len) <= 0 ||
                len != pqt_ec_share_bytes(c) || pub[0] != 0x04) {
                goto cleanup;
            }
        }
    } else {
        return PQT_ERR_UNSUPPORTED;
    }
    *out = key;
    key = NULL;
    ret = 0;
cleanup:
    EVP_PKEY_free(key);
    return ret;
}

/* RFC 8446 §4.2.8.2: only the uncompressed form, and the point must be on
 * the curve (and not the point at infinity). */
static int nist_peer_valid(const pqt_ec_ctx *x, pqt_ec_curve c, const uint8_t *pub, size_t len)
{
    if (len != pqt_ec_share_bytes(c) || pub[0] != 0x04) {
        return 0;
    }
    EC_GROUP *group = EC_GROUP_new_by_curve_name_ex(x->libctx, NULL, curve_nid(c));
    EC_POINT *point = group ? EC_POINT_new(group) : NULL;
    int ok = point != NULL && EC_POINT_oct2point(group, point, pub, len, NULL) == 1 &&
             EC_POINT_is_on_curve(group, point, NULL) == 1 &&
             EC_POINT_is_at_infinity(group, point) == 0;
    EC_POINT_free(point);
    EC_GROUP_free(group);
    return ok;
}

/*
 * The X25519 u-coordinates of small order (0, 1, the two points of order 8,
 * p - 1, and p, p + 1 which reduce to 0 and 1), little-endian. RFC 7748 §6.1:
 * with any of them "the resulting shared secret is all zero", which RFC 8446
 * §7.4.2 makes fatal; checking the encoding finds them before any
 * arithmetic. The top bit is masked first (RFC 7748 §5), so the 7 entries
 * cover 14 encodings. These are public values: memcmp is fine.
 */
static const uint8_t x25519_small_order[7][32] = {
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

int pqt_ec_check_peer(const pqt_ec_ctx *x, pqt_ec_curve c, const uint8_t *peer, size_t peer_len)
{
    if (pqt_ec_share_bytes(c) == 0) {
        return PQT_ERR_UNSUPPORTED;
    }
    if (peer == NULL || peer_len != pqt_ec_share_bytes(c)) {
        return PQT_ERR_SHARE_LENGTH;
    }
    if (c == PQT_EC_X25519) {
        uint8_t u[32];
        memcpy(u, peer, 32);
        u[31] &= 0x7f;
        for (size_t i = 0; i < sizeof(x25519_small_order) / sizeof(x25519_small_order[0]); i++) {
            if (memcmp(u, x25519_small_order[i], 32) == 0) {
                return PQT_ERR_EC_ZERO;
            }
        }
        return 0;
    }
    return nist_peer_valid(x, c, peer, peer_len) ? 0 : PQT_ERR_EC_POINT;
}

/*
 * One EVP_PKEY_CTX, made from our own key, serves both steps: importing the
 * peer's public value (fromdata) and the derivation, so no second context is
 * fetched by name for the peer key. libcrypto's own peer check is skipped
 * (validate_peer = 0): NIST points are checked above (uncompressed, on the
 * curve, not infinity), X25519 has no invalid encodings, and an all-zero
 * X25519 result is refused below.
 */
int pqt_ec_derive(const pqt_ec_ctx *x, pqt_ec_curve c, EVP_PKEY *priv, const uint8_t *peer,
                  size_t peer_len, uint8_t *secret)
{
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t outlen = pqt_ec_secret_bytes(c);
    int ret = PQT_ERR_CRYPTO_LIB;
    OSSL_PARAM params[3], *p = params;

    if (peer_len != pqt_ec_share_bytes(c)) {
        return PQT_ERR_SHARE_LENGTH;
    }
    if (c != PQT_EC_X25519) {
        if (!nist_peer_valid(x, c, peer, peer_len)) {
            return PQT_ERR_EC_POINT;
        }
        *p++ =
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve_name(c), 0);
    }
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)peer, peer_len);
    *p = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_pkey(x->libctx, priv, NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
        EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) <= 0) {
        ret = c == PQT_EC_X25519 ? PQT_ERR_CRYPTO_LIB : PQT_ERR_EC_POINT;
        goto cleanup;
    }
    if (EVP_PKEY_derive(ctx, secret, &outlen) <= 0 || outlen != pqt_ec_secret_bytes(c)) {
        /* OpenSSL refuses an all-zero X25519 result itself (RFC 7748 §6.1). */
        ret = c == PQT_EC_X25519 ? PQT_ERR_EC_ZERO : PQT_ERR_CRYPTO_LIB;
        goto cleanup;
    }
    /* RFC 8446 §7.4.2: abort if the X25519 output is all zero. */
    static const uint8_t zero[48];
    if (pqt_ct_eq(secret, zero, outlen)) {
        ret = PQT_ERR_EC_ZERO;
        goto cleanup;
    }
    ret = 0;
cleanup:
    if (ret != 0) {
        pqt_ct_wipe(secret, pqt_ec_secret_bytes(c));
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ret;
}
