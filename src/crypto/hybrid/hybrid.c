/*
 * TLS 1.3 key exchange for the ML-KEM groups (include/pqtls/hybrid.h).
 *
 * RFC 10024 §3: "the client's share is the concatenation of the ML-KEM
 * encapsulation key and the ECDH public value" in the group's order, the
 * server's share the ciphertext and its ECDH value in the same order, and
 * the shared secret the concatenation of both secrets in that order. Only
 * X25519MLKEM768 puts ML-KEM first.
 */
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "hybrid/ec.h"
#include "pqtls/common.h"
#include "pqtls/hybrid.h"
#include "pqtls/mlkem.h"

struct pqt_hybrid_ctx {
    pqt_ec_ctx ec;
};

/* The plain functions' context: OpenSSL's default library context (libctx
 * NULL), templates made on first use, released by pqt_hybrid_release. */
static pqt_hybrid_ctx default_ctx;

struct pqt_hybrid_client {
    const pqt_group *g;
    pqt_hybrid_ctx *hc;       /* where c->ec was made and is used */
    pqt_mlkem_ephemeral *kem; /* NULL for a classical state */
    EVP_PKEY *ec;
};

int pqt_hybrid_ctx_new(struct ossl_lib_ctx_st *libctx, pqt_hybrid_ctx **out)
{
    if (out == NULL) {
        return PQT_ERR_ARG;
    }
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        return PQT_ERR_NOMEM;
    }
    (*out)->ec.libctx = libctx;
    return 0;
}

void pqt_hybrid_ctx_free(pqt_hybrid_ctx *hc)
{
    if (hc == NULL) {
        return;
    }
    pqt_ec_free_templates(&hc->ec);
    free(hc);
}

static const pqt_group *implemented(uint16_t code)
{
    const pqt_group *g = pqt_group_by_code(code);
    return (g != NULL && g->pqtls_implements) ? g : NULL;
}

/* Where the ML-KEM and EC parts sit inside a share of total length n. */
static void split(const pqt_group *g, size_t mlkem_len, size_t *mlkem_off, size_t *ec_off)
{
    if (g->mlkem_first) {
        *mlkem_off = 0;
        *ec_off = mlkem_len;
    } else {
        *ec_off = 0;
        *mlkem_off = g->ec_share_bytes;
    }
}

/*
 * The randomness of one side in one system call: the ML-KEM part (n bytes:
 * d || z, or m) followed, for an X25519 group, by the X25519 private key,
 * which *ec_priv then points at (RFC 7748: 32 random bytes). The NIST
 * curves keep libcrypto's key generation (*ec_priv = NULL): their scalar
 * must be below the group order.
 */
static int draw_randomness(const pqt_group *g, uint8_t *buf, size_t n, const uint8_t **ec_priv,
                           size_t *ec_priv_len)
{
    *ec_priv = NULL;
    *ec_priv_len = 0;
    if (g->ec != PQT_EC_X25519) {
        return pqt_random_bytes(buf, n);
    }
    *ec_priv = buf + n;
    *ec_priv_len = 32;
    return pqt_random_bytes(buf, n + 32);
}

static int client_new(pqt_hybrid_ctx *hc, uint16_t code, const uint8_t *seed_in,
                      const uint8_t *ec_priv, size_t ec_priv_len, pqt_hybrid_client **out,
                      uint8_t *share, size_t cap, size_t *share_len)
{
    const pqt_group *g = implemented(code);
    pqt_hybrid_client *c = NULL;
    uint8_t seed[64 + 32]; /* d || z, then an X25519 private key */
    int ret;

    *out = NULL;
    *share_len = 0;
    if (g == NULL) {
        return PQT_ERR_UNSUPPORTED;
    }
    if (cap < g->client_share_bytes) {
        return PQT_ERR_ARG;
    }
    const pqt_mlkem_params *mp = pqt_mlkem_params_get(g->mlkem);
    size_t mo, eo;
    split(g, mp->ek_bytes, &mo, &eo);

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return PQT_ERR_NOMEM;
    }
    c->g = g;
    c->hc = hc;
    if (seed_in != NULL) {
        memcpy(seed, seed_in, 64);
        ret = 0;
    } else {
        ret = draw_randomness(g, seed, 64, &ec_priv, &ec_priv_len);
    }
    if (ret == 0) {
        /* An ephemeral key pair: same ek, less work in keygen and decaps. */
        ret = pqt_mlkem_ephemeral_new(g->mlkem, seed, &c->kem, share + mo, mp->ek_bytes);
    }
    if (ret == 0 && g->ec != PQT_EC_NONE) {
        ret = pqt_ec_keygen(&hc->ec, g->ec, ec_priv, ec_priv_len, &c->ec, share + eo);
    }
    pqt_ct_wipe(seed, sizeof(seed));
    if (ret != 0) {
        memset(share, 0, g->client_share_bytes);
        pqt_hybrid_client_free(c);
        return ret;
    }
    *share_len = g->client_share_bytes;
    *out = c;
    return 0;
}

int pqt_hybrid_client_new_ex(pqt_hybrid_ctx *hc, uint16_t code, pqt_hybrid_client **out,
                             uint8_t *share, size_t cap, size_t *share_len)
{
    if (out == NULL || share == NULL || share_len == NULL) {
        return PQT_ERR_ARG;
    }
    return client_new(hc ? hc : &default_ctx, code, NULL, NULL, 0, out, share, cap, share_len);
}

int pqt_hybrid_client_new(uint16_t code, pqt_hybrid_client **out, uint8_t *share, size_t cap,
                          size_t *share_len)
{
    return pqt_hybrid_client_new_ex(NULL, code, out, share, cap, share_len);
}

int pqt_hybrid_client_new_derand(uint16_t code, const uint8_t mlkem_seed[64],
                                 const uint8_t *ec_priv, size_t ec_priv_len,
                                 pqt_hybrid_client **out, uint8_t *share, size_t cap,
                                 size_t *share_len)
{
    if (out == NULL || share == NULL || share_len == NULL || mlkem_seed == NULL) {
        return PQT_ERR_ARG;
    }
    const pqt_group *g = implemented(code);
    if (g != NULL && g->ec != PQT_EC_NONE && ec_priv == NULL) {
        return PQT_ERR_ARG;
    }
    return client_new(&default_ctx, code, mlkem_seed, ec_priv, ec_priv_len, out, share, cap,
                      share_len);
}

int pqt_hybrid_client_new_classical(uint16_t code, pqt_hybrid_client **out, uint8_t *share,
                                    size_t cap, size_t *share_len)
{
    const pqt_group *g = pqt_group_by_code(code);
    pqt_hybrid_client *c = NULL;
    int ret;

    if (out == NULL || share == NULL || share_len == NULL) {
        return PQT_ERR_ARG;
    }
    *out = NULL;
    *share_len = 0;
    if (g == NULL || g->kind != PQT_GROUP_KIND_EC ||
        (g->ec != PQT_EC_X25519 && g->ec != PQT_EC_P256 && g->ec != PQT_EC_P384)) {
        return PQT_ERR_UNSUPPORTED;
    }
    if (cap < g->client_share_bytes) {
        return PQT_ERR_ARG;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return PQT_ERR_NOMEM;
    }
    c->g = g;
    c->hc = &default_ctx;
    ret = pqt_ec_keygen(&default_ctx.ec, g->ec, NULL, 0, &c->ec, share);
    if (ret != 0) {
        memset(share, 0, g->client_share_bytes);
        pqt_hybrid_client_free(c);
        return ret;
    }
    *share_len = g->client_share_bytes;
    *out = c;
    return 0;
}

uint16_t pqt_hybrid_client_group(const pqt_hybrid_client *c)
{
    return c ? c->g->code : 0;
}

void pqt_hybrid_client_free(pqt_hybrid_client *c)
{
    if (c == NULL) {
        return;
    }
    EVP_PKEY_free(c->ec);
    pqt_mlkem_ephemeral_free(c->kem);
    pqt_ct_wipe(c, sizeof(*c));
    free(c);
}

/* secret = ML-KEM K and EC secret, concatenated in the group's order. */
static void combine(const pqt_group *g, uint8_t *secret, const uint8_t k[32], const uint8_t *ec_ss,
                    size_t ec_len)
{
    if (g->ec == PQT_EC_NONE) {
        memcpy(secret, k, 32);
    } else if (g->mlkem_first) {
        memcpy(secret, k, 32);
        memcpy(secret + 32, ec_ss, ec_len);
    } else {
        memcpy(secret, ec_ss, ec_len);
        memcpy(secret + ec_len, k, 32);
    }
}

int pqt_hybrid_client_finish(pqt_hybrid_client *c, const uint8_t *server_share, size_t len,
                             uint8_t *secret, size_t cap, size_t *secret_len)
{
    uint8_t k[32], ec_ss[48];
    int ret;

    if (c == NULL || server_share == NULL || secret == NULL || secret_len == NULL) {
        return PQT_ERR_ARG;
    }
    const pqt_group *g = c->g;
    *secret_len = 0;
    if (cap < g->secret_bytes) {
        return PQT_ERR_ARG;
    }
    /* RFC 10024 §3: a share of any other length is illegal_parameter. */
    if (len != g->server_share_bytes) {
        return PQT_ERR_SHARE_LENGTH;
    }
    if (!g->has_mlkem) {
        /* A classical state from pqt_hybrid_client_new_classical. */
        ret = pqt_ec_derive(&c->hc->ec, g->ec, c->ec, server_share, len, secret);
        if (ret == 0) {
            *secret_len = g->secret_bytes;
        } else {
            pqt_ct_wipe(secret, g->secret_bytes);
        }
        return ret;
    }
    const pqt_mlkem_params *mp = pqt_mlkem_params_get(g->mlkem);
    size_t mo, eo;
    split(g, mp->ct_bytes, &mo, &eo);

    ret = pqt_mlkem_ephemeral_decaps(c->kem, k, server_share + mo, mp->ct_bytes);
    if (ret == 0 && g->ec != PQT_EC_NONE) {
        ret = pqt_ec_derive(&c->hc->ec, g->ec, c->ec, server_share + eo, g->ec_share_bytes, ec_ss);
    }
    if (ret == 0) {
        combine(g, secret, k, ec_ss, pqt_ec_secret_bytes(g->ec));
        *secret_len = g->secret_bytes;
    } else {
        pqt_ct_wipe(secret, g->secret_bytes);
    }
    pqt_ct_wipe(k, sizeof(k));
    pqt_ct_wipe(ec_ss, sizeof(ec_ss));
    return ret;
}

int pqt_hybrid_check_client_share_ex(pqt_hybrid_ctx *hc, uint16_t code, const uint8_t *client_share,
                                     size_t len)
{
    const pqt_group *g = implemented(code);

    if (g == NULL) {
        return PQT_ERR_UNSUPPORTED;
    }
    if (client_share == NULL || len != g->client_share_bytes) {
        return PQT_ERR_SHARE_LENGTH;
    }
    const pqt_mlkem_params *mp = pqt_mlkem_params_get(g->mlkem);
    size_t mo, eo;
    split(g, mp->ek_bytes, &mo, &eo);
    int ret = pqt_mlkem_check_ek(g->mlkem, client_share + mo, mp->ek_bytes);
    if (ret == 0 && g->ec != PQT_EC_NONE) {
        ret = pqt_ec_check_peer(&(hc ? hc : &default_ctx)->ec, g->ec, client_share + eo,
                                g->ec_share_bytes);
    }
    return ret;
}

int pqt_hybrid_check_client_share(uint16_t code, const uint8_t *client_share, size_t len)
{
    return pqt_hybrid_check_client_share_ex(NULL, code, client_share, len);
}

static int server_respond(pqt_hybrid_ctx *hc, uint16_t code, const uint8_t *client_share,
                          size_t len, const uint8_t *m_in, const uint8_t *ec_priv,
                          size_t ec_priv_len, uint8_t *server_share, size_t cap, size_t *server_len,
                          uint8_t *secret, size_t secret_cap, size_t *secret_len)
{
    const pqt_group *g = implemented(code);
    uint8_t k[32], m[32 + 32], ec_ss[48]; /* m, then an X25519 private key */
    EVP_PKEY *eph = NULL;
    int ret;

    if (client_share == NULL || server_share == NULL || server_len == NULL || secret == NULL ||
        secret_len == NULL) {
        return PQT_ERR_ARG;
    }
    *server_len = 0;
    *secret_len = 0;
    if (g == NULL) {
        return PQT_ERR_UNSUPPORTED;
    }
    if (cap < g->server_share_bytes || secret_cap < g->secret_bytes) {
        return PQT_ERR_ARG;
    }
    if (len != g->client_share_bytes) {
        return PQT_ERR_SHARE_LENGTH;
    }
    const pqt_mlkem_params *mp = pqt_mlkem_params_get(g->mlkem);
    size_t cmo, ceo, smo, seo;
    split(g, mp->ek_bytes, &cmo, &ceo);
    split(g, mp->ct_bytes, &smo, &seo);

    if (m_in != NULL) {
        memcpy(m, m_in, 32);
        ret = 0;
    } else {
        ret = draw_randomness(g, m, 32, &ec_priv, &ec_priv_len);
    }
    /* FIPS 203 §7.2 modulus check happens inside encaps. */
    if (ret == 0) {
        ret = pqt_mlkem_encaps_derand(g->mlkem, server_share + smo, mp->ct_bytes, k,
                                      client_share + cmo, mp->ek_bytes, m);
    }
    if (ret == 0 && g->ec != PQT_EC_NONE) {
        ret = pqt_ec_keygen(&hc->ec, g->ec, ec_priv, ec_priv_len, &eph, server_share + seo);
        if (ret == 0) {
            ret = pqt_ec_derive(&hc->ec, g->ec, eph, client_share + ceo, g->ec_share_bytes, ec_ss);
        }
    }
    if (ret == 0) {
        combine(g, secret, k, ec_ss, pqt_ec_secret_bytes(g->ec));
        *server_len = g->server_share_bytes;
        *secret_len = g->secret_bytes;
    } else {
        memset(server_share, 0, g->server_share_bytes);
        pqt_ct_wipe(secret, g->secret_bytes);
    }
    EVP_PKEY_free(eph);
    pqt_ct_wipe(k, sizeof(k));
    pqt_ct_wipe(m, sizeof(m));
    pqt_ct_wipe(ec_ss, sizeof(ec_ss));
    return ret;
}

int pqt_hybrid_server_respond_ex(pqt_hybrid_ctx *hc, uint16_t code, const uint8_t *client_share,
                                 size_t len, uint8_t *server_share, size_t cap, size_t *server_len,
                                 uint8_t *secret, size_t secret_cap, size_t *secret_len)
{
    return server_respond(hc ? hc : &default_ctx, code, client_share, len, NULL, NULL, 0,
                          server_share, cap, server_len, secret, secret_cap, secret_len);
}

int pqt_hybrid_server_respond(uint16_t code, const uint8_t *client_share, size_t len,
                              uint8_t *server_share, size_t cap, size_t *server_len,
                              uint8_t *secret, size_t secret_cap, size_t *secret_len)
{
    return pqt_hybrid_server_respond_ex(NULL, code, client_share, len, server_share, cap,
                                        server_len, secret, secret_cap, secret_len);
}

int pqt_hybrid_server_respond_derand(uint16_t code, const uint8_t *client_share, size_t len,
                                     const uint8_t m[32], const uint8_t *ec_priv,
                                     size_t ec_priv_len, uint8_t *server_share, size_t cap,
                                     size_t *server_len, uint8_t *secret, size_t secret_cap,
                                     size_t *secret_len)
{
    if (m == NULL) {
        return PQT_ERR_ARG;
    }
    const pqt_group *g = implemented(code);
    if (g != NULL && g->ec != PQT_EC_NONE && ec_priv == NULL) {
        return PQT_ERR_ARG;
    }
    return server_respond(&default_ctx, code, client_share, len, m, ec_priv, ec_priv_len,
                          server_share, cap, server_len, secret, secret_cap, secret_len);
}

void pqt_hybrid_release(void)
{
    pqt_ec_free_templates(&default_ctx.ec);
}
