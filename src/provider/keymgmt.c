/*
 * KEYMGMT for the pqtls groups: the key objects libssl creates for a
 * TLS 1.3 KEM group.
 *
 * libssl 3.0 (ssl/s3_lib.c, ssl/statem/extensions_{clnt,srvr}.c):
 *   client  ssl_generate_pkey_group: EVP_PKEY_CTX_new_from_name(tls-group-alg)
 *           -> EVP_PKEY_keygen_init -> EVP_PKEY_CTX_set_group_name(
 *           tls-group-name-internal) -> EVP_PKEY_keygen          [km_gen*]
 *           add_key_share: EVP_PKEY_get1_encoded_public_key     [km_get_params]
 *           = the key_share sent in the ClientHello.
 *   server  ssl_generate_param_group: the same with EVP_PKEY_paramgen,
 *           giving a key with a group and nothing else           [km_gen*]
 *           tls_parse_ctos_key_share: EVP_PKEY_set1_encoded_public_key(
 *           client share); when it fails libssl sends illegal_parameter
 *           (SSL_R_BAD_ECPOINT), so every check on the peer's share runs
 *           here                                                  [km_set_params]
 * The key_share values are the pqtls hybrid shares (include/pqtls/hybrid.h).
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#include "prov.h"

/* A keygen or paramgen in progress. */
struct gen_ctx {
    const struct pqt_prov *prov;
    const pqt_group *g;
    int selection;
};

static OSSL_FUNC_keymgmt_free_fn km_free;
static void km_free(void *keydata)
{
    struct pqt_prov_key *key = keydata;
    if (key == NULL) {
        return;
    }
    pqt_hybrid_client_free(key->priv);
    OPENSSL_cleanse(key, sizeof(*key));
    free(key);
}

static OSSL_FUNC_keymgmt_gen_set_params_fn km_gen_set_params;
static int km_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    struct gen_ctx *gc = genctx;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
    const char *name = NULL;

    if (gc == NULL) {
        return 0;
    }
    if (p == NULL) {
        return 1;
    }
    /* Each KEYMGMT serves one group; the name only has to agree with it. */
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || pqt_group_by_name(name) != gc->g) {
        PQT_PROV_RAISE(gc->prov, PQT_ERR_ARG, "group name does not match this key type");
        return 0;
    }
    return 1;
}

static const OSSL_PARAM gen_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_END,
};

static OSSL_FUNC_keymgmt_gen_settable_params_fn km_gen_settable_params;
static const OSSL_PARAM *km_gen_settable_params(void *genctx, void *provctx)
{
    (void)genctx;
    (void)provctx;
    return gen_settable;
}

static void *gen_init_slot(void *provctx, size_t slot, int selection, const OSSL_PARAM params[])
{
    const struct pqt_prov *prov = provctx;
    struct gen_ctx *gc;

    if (prov == NULL || slot >= prov->ngroups) {
        return NULL;
    }
    gc = calloc(1, sizeof(*gc));
    if (gc == NULL) {
        PQT_PROV_RAISE(prov, PQT_ERR_NOMEM, "key generation context");
        return NULL;
    }
    gc->prov = prov;
    gc->g = prov->groups[slot].g;
    gc->selection = selection;
    if (!km_gen_set_params(gc, params)) {
        free(gc);
        return NULL;
    }
    return gc;
}

static OSSL_FUNC_keymgmt_gen_fn km_gen;
static void *km_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    const struct gen_ctx *gc = genctx;
    struct pqt_prov_key *key;
    (void)cb;
    (void)cbarg;

    if (gc == NULL) {
        return NULL;
    }
    key = calloc(1, sizeof(*key));
    if (key == NULL) {
        PQT_PROV_RAISE(gc->prov, PQT_ERR_NOMEM, "key");
        return NULL;
    }
    key->prov = gc->prov;
    key->g = gc->g;
    /* Paramgen (the server's peer key) stops here: a group, no values. */
    if ((gc->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0) {
        int ret = pqt_hybrid_client_new_ex(gc->prov->hybrid, gc->g->code, &key->priv, key->pub,
                                           sizeof(key->pub), &key->publen);
        if (ret != 0) {
            PQT_PROV_RAISE(gc->prov, ret, "key share generation");
            km_free(key);
            return NULL;
        }
    }
    return key;
}

static OSSL_FUNC_keymgmt_gen_cleanup_fn km_gen_cleanup;
static void km_gen_cleanup(void *genctx)
{
    free(genctx);
}

static OSSL_FUNC_keymgmt_has_fn km_has;
static int km_has(const void *keydata, int selection)
{
    const struct pqt_prov_key *key = keydata;
    int ok = key != NULL;

    if (ok && (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) {
        ok = key->publen > 0;
    }
    if (ok && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        ok = key->priv != NULL;
    }
    /* Domain parameters: the group, always present. */
    return ok;
}

static OSSL_FUNC_keymgmt_match_fn km_match;
static int km_match(const void *keydata1, const void *keydata2, int selection)
{
    const struct pqt_prov_key *a = keydata1, *b = keydata2;

    if (a == NULL || b == NULL || a->g != b->g) {
        return 0;
    }
    /* The public share is derived from the private key, so comparing it
     * compares key pairs too. Public data: memcmp is fine. */
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0) {
        return a->publen > 0 && a->publen == b->publen && memcmp(a->pub, b->pub, a->publen) == 0;
    }
    return 1;
}

static OSSL_FUNC_keymgmt_get_params_fn km_get_params;
static int km_get_params(void *keydata, OSSL_PARAM params[])
{
    const struct pqt_prov_key *key = keydata;
    OSSL_PARAM *p;

    if (key == NULL) {
        return 0;
    }
    const pqt_group *g = key->g;
    /* Size of the public key_share, as OpenSSL reports for its KEM keys. */
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, (int)(8 * g->client_share_bytes))) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS);
    if (p != NULL && !OSSL_PARAM_set_int(p, (int)g->security_bits)) {
        return 0;
    }
    /* The largest output of the KEM: the ServerHello share. */
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE);
    if (p != NULL && !OSSL_PARAM_set_int(p, (int)g->server_share_bytes)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, g->name)) {
        return 0;
    }
    /* EVP_PKEY_get1_encoded_public_key asks with a NULL buffer first for
     * the size; OSSL_PARAM_set_octet_string answers that. */
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    if (p != NULL && (key->publen == 0 || !OSSL_PARAM_set_octet_string(p, key->pub, key->publen))) {
        return 0;
    }
    return 1;
}

static const OSSL_PARAM gettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
    OSSL_PARAM_END,
};

static OSSL_FUNC_keymgmt_gettable_params_fn km_gettable_params;
static const OSSL_PARAM *km_gettable_params(void *provctx)
{
    (void)provctx;
    return gettable;
}

/*
 * The server stores the client's key_share. RFC 10024 §3 / RFC 8446
 * §4.2.8: a share of the wrong length, an ML-KEM ek that fails the FIPS 203
 * §7.2 modulus check, an EC point not on the curve or an X25519 value of
 * small order is illegal_parameter, and libssl 3.0 sends that alert exactly
 * when this fails.
 */
static OSSL_FUNC_keymgmt_set_params_fn km_set_params;
static int km_set_params(void *keydata, const OSSL_PARAM params[])
{
    struct pqt_prov_key *key = keydata;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    const void *share = NULL;
    size_t len = 0;

    if (key == NULL) {
        return 0;
    }
    if (p == NULL) {
        return 1;
    }
    if (key->priv != NULL) {
        /* Replacing the public half of a key pair would break the pair. */
        PQT_PROV_RAISE(key->prov, PQT_ERR_ARG, "key already has a key pair");
        return 0;
    }
    if (!OSSL_PARAM_get_octet_string_ptr(p, &share, &len)) {
        PQT_PROV_RAISE(key->prov, PQT_ERR_ARG, "encoded public key is not an octet string");
        return 0;
    }
    int ret = pqt_hybrid_check_client_share_ex(key->prov->hybrid, key->g->code, share, len);
    if (ret == 0 && len > sizeof(key->pub)) {
        ret = PQT_ERR_SHARE_LENGTH;
    }
    if (ret != 0) {
        PQT_PROV_RAISE(key->prov, ret, "peer key_share rejected");
        return 0;
    }
    memcpy(key->pub, share, len);
    key->publen = len;
    return 1;
}

static const OSSL_PARAM settable[] = {
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
    OSSL_PARAM_END,
};

static OSSL_FUNC_keymgmt_settable_params_fn km_settable_params;
static const OSSL_PARAM *km_settable_params(void *provctx)
{
    (void)provctx;
    return settable;
}

/*
 * OpenSSL hands a KEYMGMT no per-algorithm argument, so each group gets its
 * own gen_init that knows its slot (the slot-th implemented group of the
 * table, see provider.c); everything else is shared. Slots are indices, not
 * groups: the group list stays the table.
 */
#define KEYMGMT_SHARED                                                                   \
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free},                                   \
        {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))km_gen_set_params},           \
        {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))km_gen_settable_params}, \
        {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))km_gen},                                 \
        {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))km_gen_cleanup},                 \
        {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has},                                 \
        {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))km_match},                             \
        {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params},                   \
        {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))km_gettable_params},         \
        {OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))km_set_params},                   \
        {OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))km_settable_params},         \
    {                                                                                    \
        0, NULL                                                                          \
    }

#define KEYMGMT_SLOT(i)                                                                   \
    static OSSL_FUNC_keymgmt_gen_init_fn km_gen_init_##i;                                 \
    static void *km_gen_init_##i(void *provctx, int selection, const OSSL_PARAM params[]) \
    {                                                                                     \
        return gen_init_slot(provctx, i, selection, params);                              \
    }                                                                                     \
    static const OSSL_DISPATCH keymgmt_dispatch_##i[] = {                                 \
        {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))km_gen_init_##i}, KEYMGMT_SHARED};

KEYMGMT_SLOT(0)
KEYMGMT_SLOT(1)
KEYMGMT_SLOT(2)
KEYMGMT_SLOT(3)
KEYMGMT_SLOT(4)
KEYMGMT_SLOT(5)
KEYMGMT_SLOT(6)
KEYMGMT_SLOT(7)

static const OSSL_DISPATCH *const keymgmt_slots[PQT_PROV_MAX_GROUPS] = {
    keymgmt_dispatch_0, keymgmt_dispatch_1, keymgmt_dispatch_2, keymgmt_dispatch_3,
    keymgmt_dispatch_4, keymgmt_dispatch_5, keymgmt_dispatch_6, keymgmt_dispatch_7,
};

const OSSL_DISPATCH *pqt_prov_keymgmt_dispatch(size_t slot)
{
    return slot < PQT_PROV_MAX_GROUPS ? keymgmt_slots[slot] : NULL;
}
