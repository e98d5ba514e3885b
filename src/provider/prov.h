/*
 * Internal to the OpenSSL 3 provider (src/provider/): the provider context,
 * the key object and the dispatch tables the other files share.
 *
 * Everything the provider knows about groups comes from the one group table
 * (include/pqtls/groups.h): every group with pqtls_implements becomes a
 * KEYMGMT, a KEM and a TLS-GROUP capability. State lives in the provider
 * context (written once in OSSL_provider_init, read-only afterwards, but
 * for the key templates its hybrid context installs lock-free), in keys and
 * in KEM contexts; nothing is global and mutable, so any number of
 * handshakes, and of instances in different library contexts, can run at
 * once.
 */
#ifndef PQT_PROVIDER_PROV_H
#define PQT_PROVIDER_PROV_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

#include "pqtls/groups.h"
#include "pqtls/hybrid.h"

/* Groups one provider instance can offer; OSSL_provider_init fails loudly
 * when the table implements more (raise it together with the slot list in
 * keymgmt.c). */
#define PQT_PROV_MAX_GROUPS 8

/* Longest algorithm name: "pqtls-" + the longest IANA name + NUL. */
#define PQT_PROV_ALG_NAME_MAX 48

/* One offered group: its names and its TLS-GROUP capability record. */
struct pqt_prov_group {
    const pqt_group *g;
    char alg_name[PQT_PROV_ALG_NAME_MAX]; /* KEYMGMT and KEM name */
    unsigned int id, secbits, is_kem;
    int min_tls, max_tls, min_dtls, max_dtls;
    OSSL_PARAM cap[11];
};

struct pqt_prov {
    const OSSL_CORE_HANDLE *handle;
    OSSL_FUNC_core_new_error_fn *new_error;
    OSSL_FUNC_core_set_error_debug_fn *set_error_debug;
    OSSL_FUNC_core_vset_error_fn *vset_error;
    /* A child of the library context that loaded this instance: it sees
     * that context's providers and default properties, and every EVP call
     * of the classical halves (X25519, P-256, P-384) runs in it through
     * hybrid. Both freed at teardown, hybrid first. */
    OSSL_LIB_CTX *libctx;
    pqt_hybrid_ctx *hybrid;
    size_t ngroups;
    struct pqt_prov_group groups[PQT_PROV_MAX_GROUPS];
    OSSL_ALGORITHM keymgmt[PQT_PROV_MAX_GROUPS + 1];
    OSSL_ALGORITHM kem[PQT_PROV_MAX_GROUPS + 1];
};

/*
 * A key of one group. Client side (keygen): priv holds the ML-KEM dk and
 * the classical key, pub the ClientHello key_share. Server side (paramgen,
 * then EVP_PKEY_set1_encoded_public_key): no priv, pub is the peer's
 * validated key_share.
 */
struct pqt_prov_key {
    const struct pqt_prov *prov;
    const pqt_group *g;
    pqt_hybrid_client *priv;
    size_t publen; /* 0: no public value yet */
    uint8_t pub[PQT_HYBRID_MAX_CLIENT_SHARE];
};

/* The KEYMGMT dispatch table of slot i (group prov->groups[i]), or NULL. */
const OSSL_DISPATCH *pqt_prov_keymgmt_dispatch(size_t slot);
/* The KEM dispatch table, the same for every group (the key knows its group). */
extern const OSSL_DISPATCH pqt_prov_kem_dispatch[];

/*
 * Put a pqtls error on OpenSSL's error queue: reason = -err, text = what
 * failed and pqt_strerror(err), so `openssl s_server` and nginx logs say
 * why a handshake failed.
 */
void pqt_prov_raise(const struct pqt_prov *prov, int err, const char *file, int line,
                    const char *func, const char *what);
#define PQT_PROV_RAISE(prov, err, what) \
    pqt_prov_raise((prov), (err), __FILE__, __LINE__, __func__, (what))

#endif
