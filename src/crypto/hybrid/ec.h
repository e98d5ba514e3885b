/* Internal: classical (EC)DH halves of the hybrid groups, on libcrypto. */
#ifndef PQT_CRYPTO_HYBRID_EC_H
#define PQT_CRYPTO_HYBRID_EC_H

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pqtls/groups.h"

/*
 * Where the classical halves run: the OpenSSL library context every EVP and
 * EC call is made in (NULL: the default one) and the per-curve key
 * templates made in it (ec.c). Zero-initialised is a valid context on the
 * default library context; the templates fill in on first use.
 */
typedef struct pqt_ec_ctx {
    OSSL_LIB_CTX *libctx;
    _Atomic(EVP_PKEY *) templates[PQT_EC_P384 + 1];
} pqt_ec_ctx;

size_t pqt_ec_share_bytes(pqt_ec_curve c);
size_t pqt_ec_secret_bytes(pqt_ec_curve c);
size_t pqt_ec_priv_bytes(pqt_ec_curve c);

/* New key pair (random, or from priv when not NULL); writes the public
 * value (X25519: 32 bytes; P-256/P-384: uncompressed point) to pub.
 * X25519: any 32 bytes are a private key (RFC 7748 §5 clamps them), so a
 * caller with random bytes at hand passes them as priv. */
int pqt_ec_keygen(pqt_ec_ctx *x, pqt_ec_curve c, const uint8_t *priv, size_t priv_len,
                  EVP_PKEY **out, uint8_t *pub);

/* Validate the peer's public value alone: 0, PQT_ERR_SHARE_LENGTH,
 * PQT_ERR_EC_POINT (NIST point malformed or off the curve) or
 * PQT_ERR_EC_ZERO (an X25519 u-coordinate of small order). */
int pqt_ec_check_peer(const pqt_ec_ctx *x, pqt_ec_curve c, const uint8_t *peer, size_t peer_len);

/* Validate the peer's public value and compute the shared secret with one
 * EVP_PKEY_CTX (peer import and derivation). priv was made by
 * pqt_ec_keygen with the same x. */
int pqt_ec_derive(const pqt_ec_ctx *x, pqt_ec_curve c, EVP_PKEY *priv, const uint8_t *peer,
                  size_t peer_len, uint8_t *secret);

/* Release x's key templates; later calls make them again. Call only when
 * no other thread is inside these functions with x. */
void pqt_ec_free_templates(pqt_ec_ctx *x);

#endif
