/*
 * The pqtls OpenSSL 3 provider: initialisation, provider parameters, the
 * algorithm query and the TLS-GROUP capability.
 *
 * How libssl (3.0 and later) uses what is registered here:
 *   SSL_CTX_new_ex -> ssl_load_groups: OSSL_PROVIDER_get_capabilities(
 *   "TLS-GROUP") on every active provider; each record is kept when
 *   EVP_KEYMGMT_fetch(tls-group-alg) succeeds. `-groups X25519MLKEM768`
 *   (SSL_CTX_set1_groups_list, nginx ssl_ecdh_curve, curl --curves) then
 *   matches tls-group-name. The key exchange itself is in keymgmt.c / kem.c.
 *
 * Algorithm names. Every KEYMGMT/KEM is registered as "pqtls-<IANA name>"
 * with the property "provider=pqtls", never under OpenSSL's own names.
 * OpenSSL 3.5 and later implement the same six groups in the default
 * provider as KEYMGMT/KEM "X25519MLKEM768", "SecP256r1MLKEM768",
 * "SecP384r1MLKEM1024" and "ML-KEM-512/768/1024" (alias "MLKEM768" ...).
 * Sharing those names would put our key manager in the running for every
 * fetch of them, including non-TLS users (genpkey, PEM/DER encoders) that
 * need import/export pqtls does not offer, and could pair a key from one
 * provider with a KEM from the other. With names of our own nothing outside
 * TLS can reach pqtls by accident.
 *
 * Two providers offering one TLS group (OpenSSL 3.5+): libssl appends every
 * provider's TLS-GROUP records to one list (ssl_load_groups, in the order
 * OSSL_PROVIDER_do_all visits providers) and both name lookup
 * (tls1_group_name2id) and code point lookup (tls1_group_id_lookup) return
 * the FIRST record with that name or code point. That record's
 * tls-group-alg decides the implementation for the whole SSL_CTX; since each
 * record names only its own provider's algorithms, a handshake never mixes
 * the two. OSSL_PROVIDER_do_all follows the provider store, which keeps
 * providers in load order except that every load (and every lookup by
 * name) first sorts the providers already there by name. So:
 *   - openssl.cnf activating "default" before "pqtls" (our example,
 *     docs/openssl.cnf.example): default is first both by load order and by
 *     name, and OpenSSL's built-in implementation is used on 3.5+; pqtls
 *     only serves groups the default provider lacks.
 *   - pqtls loaded first (`-provider pqtls -provider default`): pqtls is
 *     first until something sorts the store, after which default is.
 *   - OpenSSL 3.0-3.4: pqtls is the only implementation.
 * Both implement the same wire format (RFC 10024, draft-ietf-tls-mlkem) and
 * the same peer checks, so peers cannot tell and nothing breaks either way.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pqtls/hybrid.h"
#include "pqtls/mlkem.h"
#include "prov.h"

#ifndef PQT_PROVIDER_VERSION
#define PQT_PROVIDER_VERSION "0.0.0"
#endif

/* Gettable provider parameter naming the ML-KEM backend in use. */
#define PQT_PROV_PARAM_MLKEM_BACKEND "pqtls-mlkem-backend"

#define PQT_PROV_NAME "pqtls"
#define PQT_PROV_PROPERTIES "provider=pqtls"

/* Reason codes are the PQT_ERR_* values negated; -1 .. -PQT_PROV_MAX_REASONS. */
#define PQT_PROV_MAX_REASONS 63

/* Provider context plus the build information text and the reason strings
 * it hands out (each instance its own: nothing written is shared). */
struct pqt_prov_instance {
    struct pqt_prov prov;
    char buildinfo[160];
    OSSL_ITEM reasons[PQT_PROV_MAX_REASONS + 1];
};

static void set_error(const struct pqt_prov *prov, uint32_t reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    prov->vset_error(prov->handle, reason, fmt, ap);
    va_end(ap);
}

void pqt_prov_raise(const struct pqt_prov *prov, int err, const char *file, int line,
                    const char *func, const char *what)
{
    if (prov == NULL || prov->new_error == NULL || prov->vset_error == NULL) {
        return;
    }
    prov->new_error(prov->handle);
    if (prov->set_error_debug != NULL) {
        prov->set_error_debug(prov->handle, file, line, func);
    }
    /* Reason codes are the PQT_ERR_* values negated, so they stay stable. */
    uint32_t reason = err < 0 ? (uint32_t)-err : 1u;
    set_error(prov, reason, "%s: %s (%s)", what, pqt_strerror(err), pqt_errname(err));
}

static const char *active_backend(void)
{
    return pqt_backend_name(pqt_mlkem_get_backend());
}

/* --- provider parameters ------------------------------------------------ */

static const OSSL_PARAM provider_param_types[] = {
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
    OSSL_PARAM_DEFN(PQT_PROV_PARAM_MLKEM_BACKEND, OSSL_PARAM_UTF8_PTR, NULL, 0),
    OSSL_PARAM_END,
};

static OSSL_FUNC_provider_gettable_params_fn prov_gettable_params;
static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
    (void)provctx;
    return provider_param_types;
}

static OSSL_FUNC_provider_get_params_fn prov_get_params;
static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
    const struct pqt_prov_instance *inst = provctx;
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, PQT_PROV_NAME)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, PQT_PROVIDER_VERSION)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, inst->buildinfo)) {
        return 0;
    }
    /* Always running: pqtls has no error state that disables it. */
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1)) {
        return 0;
    }
    p = OSSL_PARAM_locate(params, PQT_PROV_PARAM_MLKEM_BACKEND);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, active_backend())) {
        return 0;
    }
    return 1;
}

/* --- algorithms and capabilities ---------------------------------------- */

static OSSL_FUNC_provider_query_operation_fn prov_query_operation;
static const OSSL_ALGORITHM *prov_query_operation(void *provctx, int operation_id, int *no_cache)
{
    const struct pqt_prov *prov = provctx;

    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return prov->keymgmt;
    case OSSL_OP_KEM:
        return prov->kem;
    default:
        return NULL;
    }
}

static OSSL_FUNC_provider_get_capabilities_fn prov_get_capabilities;
static int prov_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb,
                                 void *arg)
{
    const struct pqt_prov *prov = provctx;

    if (capability == NULL || strcasecmp(capability, "TLS-GROUP") != 0) {
        return 0;
    }
    for (size_t i = 0; i < prov->ngroups; i++) {
        if (!cb(prov->groups[i].cap, arg)) {
            return 0;
        }
    }
    return 1;
}

/* One instance per library context that loaded pqtls; each has its own
 * child library context and key templates, so nothing is shared between
 * instances and each releases only its own. The templates are keys of the
 * child context's key managers: they go before the context does. */
static void instance_free(struct pqt_prov_instance *inst)
{
    pqt_hybrid_ctx_free(inst->prov.hybrid);
    OSSL_LIB_CTX_free(inst->prov.libctx);
    free(inst);
}

/*
 * The texts of our reason codes, for the core to register under the
 * provider's name (provider-base(7), get_reason_strings): without them a
 * rejection reads "error:40800010:lib(129)::reason(16)" in nginx, haproxy
 * and s_server logs, and `openssl errstr` cannot decode it.
 */
static void fill_reasons(struct pqt_prov_instance *inst)
{
    size_t n = 0;
    for (int code = -1; code >= -PQT_PROV_MAX_REASONS; code--) {
        if (strcmp(pqt_errname(code), "PQT_ERR_UNKNOWN") != 0) {
            inst->reasons[n].id = (unsigned int)-code;
            inst->reasons[n].ptr = (void *)pqt_strerror(code);
            n++;
        }
    }
    inst->reasons[n].id = 0;
    inst->reasons[n].ptr = NULL;
}

static OSSL_FUNC_provider_get_reason_strings_fn prov_get_reason_strings;
static const OSSL_ITEM *prov_get_reason_strings(void *provctx)
{
    const struct pqt_prov_instance *inst = provctx;
    return inst->reasons;
}

static OSSL_FUNC_provider_teardown_fn prov_teardown;
static void prov_teardown(void *provctx)
{
    instance_free(provctx);
}

static const OSSL_DISPATCH provider_dispatch[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query_operation},
    {OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))prov_get_capabilities},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))prov_get_reason_strings},
    {0, NULL},
};

/*
 * The TLS-GROUP record of one group (provider-base(7), "CAPABILITIES"):
 * TLS 1.3 only (the hybrid and ML-KEM groups are defined for TLS 1.3 key
 * shares alone; max 0 = no upper bound), never DTLS (-1), and a KEM:
 * libssl then encapsulates on the server and decapsulates on the client
 * instead of deriving.
 */
static int add_group(struct pqt_prov *prov, const pqt_group *g)
{
    if (prov->ngroups == PQT_PROV_MAX_GROUPS || pqt_prov_keymgmt_dispatch(prov->ngroups) == NULL) {
        return 0;
    }
    struct pqt_prov_group *pg = &prov->groups[prov->ngroups];
    int n = snprintf(pg->alg_name, sizeof(pg->alg_name), "pqtls-%s", g->name);
    if (n < 0 || (size_t)n >= sizeof(pg->alg_name)) {
        return 0;
    }
    pg->g = g;
    pg->id = g->code;
    pg->secbits = g->security_bits;
    pg->is_kem = 1;
    pg->min_tls = 0x0304; /* TLS1_3_VERSION */
    pg->max_tls = 0;
    pg->min_dtls = -1;
    pg->max_dtls = -1;
    OSSL_PARAM *c = pg->cap;
    *c++ = OSSL_PARAM_construct_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, (char *)g->name, 0);
    /* The name libssl passes back to us as the "group" keygen parameter. */
    *c++ = OSSL_PARAM_construct_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL,
                                            (char *)g->name, 0);
    *c++ = OSSL_PARAM_construct_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &pg->id);
    *c++ = OSSL_PARAM_construct_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, pg->alg_name, 0);
    *c++ = OSSL_PARAM_construct_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &pg->secbits);
    *c++ = OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &pg->min_tls);
    *c++ = OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &pg->max_tls);
    *c++ = OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &pg->min_dtls);
    *c++ = OSSL_PARAM_construct_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &pg->max_dtls);
    *c++ = OSSL_PARAM_construct_uint(OSSL_CAPABILITY_TLS_GROUP_IS_KEM, &pg->is_kem);
    *c = OSSL_PARAM_construct_end();

    size_t i = prov->ngroups;
    prov->keymgmt[i] =
        (OSSL_ALGORITHM){pg->alg_name, PQT_PROV_PROPERTIES, pqt_prov_keymgmt_dispatch(i), g->name};
    prov->kem[i] =
        (OSSL_ALGORITHM){pg->alg_name, PQT_PROV_PROPERTIES, pqt_prov_kem_dispatch, g->name};
    prov->ngroups++;
    return 1;
}

__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
                                                              const OSSL_DISPATCH *in,
                                                              const OSSL_DISPATCH **out,
                                                              void **provctx)
{
    struct pqt_prov_instance *inst = calloc(1, sizeof(*inst));
    if (inst == NULL) {
        return 0;
    }
    struct pqt_prov *prov = &inst->prov;
    prov->handle = handle;
    for (const OSSL_DISPATCH *f = in; f != NULL && f->function_id != 0; f++) {
        switch (f->function_id) {
        case OSSL_FUNC_CORE_NEW_ERROR:
            prov->new_error = OSSL_FUNC_core_new_error(f);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            prov->set_error_debug = OSSL_FUNC_core_set_error_debug(f);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            prov->vset_error = OSSL_FUNC_core_vset_error(f);
            break;
        default:
            break;
        }
    }

    /*
     * The classical halves go through EVP, and a provider must not use the
     * application's default library context for that: pqtls may have been
     * loaded into another one (OSSL_PROVIDER_load(libctx, ...), libssl's
     * SSL_CTX_new_ex), whose providers and properties ("fips=yes") the
     * default context need not have. provider-base(7): a child library
     * context mirrors the providers of the context that loaded this one,
     * including those loaded later, and its default properties. OpenSSL
     * 3.0 offers every core function it needs; without one, refuse to load
     * rather than fall back to the default context.
     */
    prov->libctx = OSSL_LIB_CTX_new_child(handle, in);
    int ret =
        prov->libctx == NULL ? PQT_ERR_CRYPTO_LIB : pqt_hybrid_ctx_new(prov->libctx, &prov->hybrid);
    if (ret != 0) {
        PQT_PROV_RAISE(prov, ret, "child library context for the classical halves");
        instance_free(inst);
        return 0;
    }

    size_t count = 0;
    const pqt_group *all = pqt_groups_all(&count);
    for (size_t i = 0; i < count; i++) {
        if (all[i].pqtls_implements && !add_group(prov, &all[i])) {
            /* The table outgrew the provider: refuse to load, visibly. */
            PQT_PROV_RAISE(prov, PQT_ERR_INTERNAL, "too many groups for the provider");
            instance_free(inst);
            return 0;
        }
    }
    /* The arrays end with a zeroed entry (calloc). */

    fill_reasons(inst);
    snprintf(inst->buildinfo, sizeof(inst->buildinfo),
             "pqtls %s: ML-KEM backend %s (portable C always built), built with %s",
             PQT_PROVIDER_VERSION, active_backend(), OPENSSL_VERSION_TEXT);
    *out = provider_dispatch;
    *provctx = inst;
    return 1;
}
