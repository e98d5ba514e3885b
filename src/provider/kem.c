/*
 * KEM for the pqtls groups: the two halves of the TLS 1.3 key exchange.
 *
 * libssl 3.0 (ssl/s3_lib.c):
 *   server  ssl_encapsulate(peer key): EVP_PKEY_encapsulate_init, then
 *           EVP_PKEY_encapsulate(NULL) for the sizes, then again for the
 *           ServerHello key_share and the secret -> pqt_hybrid_server_respond_ex
 *   client  ssl_decapsulate(own key, server share): EVP_PKEY_decapsulate_init,
 *           EVP_PKEY_decapsulate(NULL) for the size, then the secret
 *                                                   -> pqt_hybrid_client_finish
 * A context points at its key and holds nothing else; the secret only
 * passes through the caller's buffer.
 */
#include <stdlib.h>

#include "prov.h"

enum { KEM_NONE = 0, KEM_ENCAPS = 1, KEM_DECAPS = 2 };

struct kem_ctx {
    const struct pqt_prov *prov;
    const struct pqt_prov_key *key; /* owned by the EVP_PKEY the caller holds */
    int op;
};

static OSSL_FUNC_kem_newctx_fn kem_newctx;
static void *kem_newctx(void *provctx)
{
    struct kem_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        PQT_PROV_RAISE(provctx, PQT_ERR_NOMEM, "KEM context");
        return NULL;
    }
    ctx->prov = provctx;
    return ctx;
}

static OSSL_FUNC_kem_freectx_fn kem_freectx;
static void kem_freectx(void *vctx)
{
    free(vctx);
}

static OSSL_FUNC_kem_dupctx_fn kem_dupctx;
static void *kem_dupctx(void *vctx)
{
    const struct kem_ctx *src = vctx;
    struct kem_ctx *dst = malloc(sizeof(*dst));
    if (dst != NULL) {
        *dst = *src;
    }
    return dst;
}

static int kem_init(struct kem_ctx *ctx, void *provkey, int op)
{
    const struct pqt_prov_key *key = provkey;

    if (ctx == NULL || key == NULL) {
        return 0;
    }
    /* Encapsulation needs the peer's share, decapsulation our key pair. */
    if ((op == KEM_ENCAPS && key->publen == 0) || (op == KEM_DECAPS && key->priv == NULL)) {
        PQT_PROV_RAISE(ctx->prov, PQT_ERR_ARG,
                       op == KEM_ENCAPS ? "encapsulation key has no public share"
                                        : "decapsulation key has no private key");
        return 0;
    }
    ctx->key = key;
    ctx->op = op;
    return 1;
}

static OSSL_FUNC_kem_encapsulate_init_fn kem_encapsulate_init;
static int kem_encapsulate_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    (void)params; /* no settable parameters */
    return kem_init(vctx, provkey, KEM_ENCAPS);
}

static OSSL_FUNC_kem_decapsulate_init_fn kem_decapsulate_init;
static int kem_decapsulate_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    (void)params;
    return kem_init(vctx, provkey, KEM_DECAPS);
}

static OSSL_FUNC_kem_encapsulate_fn kem_encapsulate;
static int kem_encapsulate(void *vctx, unsigned char *out, size_t *outlen, unsigned char *secret,
                           size_t *secretlen)
{
    struct kem_ctx *ctx = vctx;

    if (ctx == NULL || ctx->op != KEM_ENCAPS || outlen == NULL) {
        return 0;
    }
    const pqt_group *g = ctx->key->g;
    if (out == NULL) {
        *outlen = g->server_share_bytes;
        if (secretlen != NULL) {
            *secretlen = g->secret_bytes;
        }
        return 1;
    }
    if (secret == NULL || *outlen < g->server_share_bytes ||
        (secretlen != NULL && *secretlen < g->secret_bytes)) {
        PQT_PROV_RAISE(ctx->prov, PQT_ERR_ARG, "encapsulation output buffers too small");
        return 0;
    }
    size_t share_len = 0, secret_len = 0;
    int ret = pqt_hybrid_server_respond_ex(ctx->prov->hybrid, g->code, ctx->key->pub,
                                           ctx->key->publen, out, *outlen, &share_len, secret,
                                           g->secret_bytes, &secret_len);
    if (ret != 0) {
        PQT_PROV_RAISE(ctx->prov, ret, "encapsulation");
        return 0;
    }
    *outlen = share_len;
    if (secretlen != NULL) {
        *secretlen = secret_len;
    }
    return 1;
}

static OSSL_FUNC_kem_decapsulate_fn kem_decapsulate;
static int kem_decapsulate(void *vctx, unsigned char *out, size_t *outlen, const unsigned char *in,
                           size_t inlen)
{
    struct kem_ctx *ctx = vctx;

    if (ctx == NULL || ctx->op != KEM_DECAPS || outlen == NULL) {
        return 0;
    }
    const pqt_group *g = ctx->key->g;
    if (out == NULL) {
        *outlen = g->secret_bytes;
        return 1;
    }
    if (*outlen < g->secret_bytes || in == NULL) {
        PQT_PROV_RAISE(ctx->prov, PQT_ERR_ARG, "decapsulation output buffer too small");
        return 0;
    }
    size_t secret_len = 0;
    int ret = pqt_hybrid_client_finish(ctx->key->priv, in, inlen, out, *outlen, &secret_len);
    if (ret != 0) {
        PQT_PROV_RAISE(ctx->prov, ret, "server key_share rejected");
        return 0;
    }
    *outlen = secret_len;
    return 1;
}

const OSSL_DISPATCH pqt_prov_kem_dispatch[] = {
    {OSSL_FUNC_KEM_NEWCTX, (void (*)(void))kem_newctx},
    {OSSL_FUNC_KEM_FREECTX, (void (*)(void))kem_freectx},
    {OSSL_FUNC_KEM_DUPCTX, (void (*)(void))kem_dupctx},
    {OSSL_FUNC_KEM_ENCAPSULATE_INIT, (void (*)(void))kem_encapsulate_init},
    {OSSL_FUNC_KEM_ENCAPSULATE, (void (*)(void))kem_encapsulate},
    {OSSL_FUNC_KEM_DECAPSULATE_INIT, (void (*)(void))kem_decapsulate_init},
    {OSSL_FUNC_KEM_DECAPSULATE, (void (*)(void))kem_decapsulate},
    {0, NULL},
};
