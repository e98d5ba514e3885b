/*
 * Key exchange for the post-quantum TLS groups in pqtls' group table:
 * X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024 (RFC 10024) and
 * MLKEM512/768/1024 (draft-ietf-tls-mlkem). ML-KEM is pqtls' own; the
 * classical halves use OpenSSL libcrypto.
 *
 * TLS 1.3 key exchange with a KEM group (RFC 10024 §3):
 *   client: pqt_hybrid_client_new -> key_share for the ClientHello
 *   server: pqt_hybrid_server_respond(client share) -> key_share for the
 *           ServerHello, and the shared secret
 *   client: pqt_hybrid_client_finish(server share) -> the same secret
 * Share layout: X25519MLKEM768 puts ML-KEM first (ek||x25519, ct||x25519,
 * secret K||ss_x25519); the SecP groups put the EC point first.
 *
 * Peer input is validated: exact lengths (PQT_ERR_SHARE_LENGTH), the FIPS 203
 * ek modulus check (PQT_ERR_EK_MODULUS), uncompressed on-curve EC points
 * (PQT_ERR_EC_POINT), non-zero X25519 results (PQT_ERR_EC_ZERO). Use
 * pqt_err_tls_alert() for the alert to send (illegal_parameter for all of
 * these). Outputs are zeroed on failure; secrets are wiped on free.
 *
 * The classical halves run in an OpenSSL library context: OpenSSL's default
 * one for the plain functions, the one of a pqt_hybrid_ctx for the _ex
 * forms (the provider passes a child of the context that loaded it). Client
 * states, hybrid contexts and the libcrypto keys inside them are allocated;
 * the ML-KEM part allocates nothing (pqtls/mlkem.h).
 */
#ifndef PQTLS_HYBRID_H
#define PQTLS_HYBRID_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"
#include "pqtls/groups.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest shares and secrets of any implemented group. */
#define PQT_HYBRID_MAX_CLIENT_SHARE (97 + 1568)
#define PQT_HYBRID_MAX_SERVER_SHARE (97 + 1568)
#define PQT_HYBRID_MAX_SECRET (48 + 32)

/* The client's private state between ClientHello and ServerHello. */
typedef struct pqt_hybrid_client pqt_hybrid_client;

/* OpenSSL's OSSL_LIB_CTX (openssl/types.h), without including OpenSSL. */
struct ossl_lib_ctx_st;

/* Where the classical halves run: a library context and the per-curve key
 * templates made in it. */
typedef struct pqt_hybrid_ctx pqt_hybrid_ctx;

/*
 * A hybrid context whose classical halves run in libctx (NULL: OpenSSL's
 * default library context). libctx must outlive it, and it must outlive
 * every client state made with it. Any number of threads may use it at
 * once. PQT_ERR_NOMEM.
 */
PQT_API PQT_MUST_CHECK int pqt_hybrid_ctx_new(struct ossl_lib_ctx_st *libctx, pqt_hybrid_ctx **out);

/* Release its key templates and free it; NULL is fine. Only when no other
 * thread is using it. */
PQT_API void pqt_hybrid_ctx_free(pqt_hybrid_ctx *hc);

/*
 * Client: generate a key pair for group `code` and write the key_share
 * value into share (capacity cap, length *share_len).
 * PQT_ERR_UNSUPPORTED for a group pqtls does not implement.
 */
PQT_API PQT_MUST_CHECK int pqt_hybrid_client_new(uint16_t code, pqt_hybrid_client **out,
                                                 uint8_t *share, size_t cap, size_t *share_len);

/* The same with the classical half in hc's library context (NULL: as
 * pqt_hybrid_client_new); the state keeps hc for pqt_hybrid_client_finish.
 * PQT_ERR_CRYPTO_LIB when that context cannot make the classical key (no
 * provider there implements it). */
PQT_API PQT_MUST_CHECK int pqt_hybrid_client_new_ex(pqt_hybrid_ctx *hc, uint16_t code,
                                                    pqt_hybrid_client **out, uint8_t *share,
                                                    size_t cap, size_t *share_len);

/*
 * The same from fixed randomness, for known-answer tests: mlkem_seed is the
 * ML-KEM d||z, ec_priv the classical private key (X25519: 32 bytes as in RFC
 * 7748; P-256/P-384: the big-endian scalar, 32/48 bytes). ec_priv is ignored
 * for pure ML-KEM groups.
 */
PQT_API PQT_MUST_CHECK int pqt_hybrid_client_new_derand(uint16_t code, const uint8_t mlkem_seed[64],
                                                        const uint8_t *ec_priv, size_t ec_priv_len,
                                                        pqt_hybrid_client **out, uint8_t *share,
                                                        size_t cap, size_t *share_len);

/*
 * Client: a classical ECDHE key share (x25519, secp256r1, secp384r1) in the
 * same state object, so that a probe that ends in a classical group can be
 * finished with pqt_hybrid_client_finish like the hybrid ones (the
 * scanner's classical probes). PQT_ERR_UNSUPPORTED for any other group.
 */
PQT_API PQT_MUST_CHECK int pqt_hybrid_client_new_classical(uint16_t code, pqt_hybrid_client **out,
                                                           uint8_t *share, size_t cap,
                                                           size_t *share_len);

/* Client: process the server's key_share and output the shared secret. */
PQT_API PQT_MUST_CHECK int pqt_hybrid_client_finish(pqt_hybrid_client *c,
                                                    const uint8_t *server_share, size_t len,
                                                    uint8_t *secret, size_t cap,
                                                    size_t *secret_len);

/* Wipe and free; NULL is fine. */
PQT_API void pqt_hybrid_client_free(pqt_hybrid_client *c);

/* The group a client state was made for. */
PQT_API uint16_t pqt_hybrid_client_group(const pqt_hybrid_client *c);

/*
 * Server: validate the client's key_share, encapsulate to it and write the
 * ServerHello key_share and the shared secret.
 */
PQT_API PQT_MUST_CHECK int pqt_hybrid_server_respond(uint16_t code, const uint8_t *client_share,
                                                     size_t len, uint8_t *server_share, size_t cap,
                                                     size_t *server_len, uint8_t *secret,
                                                     size_t secret_cap, size_t *secret_len);

/* The same with the classical half in hc's library context (NULL: as
 * pqt_hybrid_server_respond). */
PQT_API PQT_MUST_CHECK int pqt_hybrid_server_respond_ex(pqt_hybrid_ctx *hc, uint16_t code,
                                                        const uint8_t *client_share, size_t len,
                                                        uint8_t *server_share, size_t cap,
                                                        size_t *server_len, uint8_t *secret,
                                                        size_t secret_cap, size_t *secret_len);

/*
 * Server: the peer checks of pqt_hybrid_server_respond without the
 * encapsulation, for callers that must reject a bad key_share before they
 * answer it (the OpenSSL provider: libssl 3.0 sends illegal_parameter only
 * when storing the peer share fails). Exact length (PQT_ERR_SHARE_LENGTH),
 * FIPS 203 §7.2 ek modulus check (PQT_ERR_EK_MODULUS), uncompressed on-curve
 * NIST point (PQT_ERR_EC_POINT), X25519 u-coordinate not of small order
 * (PQT_ERR_EC_ZERO). PQT_ERR_UNSUPPORTED for a group pqtls does not
 * implement.
 */
PQT_API PQT_MUST_CHECK int pqt_hybrid_check_client_share(uint16_t code, const uint8_t *client_share,
                                                         size_t len);

/* The same with the EC point checks in hc's library context (NULL: as
 * pqt_hybrid_check_client_share). */
PQT_API PQT_MUST_CHECK int pqt_hybrid_check_client_share_ex(pqt_hybrid_ctx *hc, uint16_t code,
                                                            const uint8_t *client_share,
                                                            size_t len);

/* The same from fixed randomness: m for ML-KEM, ec_priv for the server's
 * ephemeral classical key (formats as for the client). */
PQT_API PQT_MUST_CHECK int
pqt_hybrid_server_respond_derand(uint16_t code, const uint8_t *client_share, size_t len,
                                 const uint8_t m[32], const uint8_t *ec_priv, size_t ec_priv_len,
                                 uint8_t *server_share, size_t cap, size_t *server_len,
                                 uint8_t *secret, size_t secret_cap, size_t *secret_len);

/*
 * Release what the classical halves of the plain functions keep between
 * calls (one libcrypto key template per curve, in the default library
 * context); later calls make them again. Only when no other thread is
 * inside a plain pqt_hybrid_* function. A pqt_hybrid_ctx releases its own
 * in pqt_hybrid_ctx_free.
 */
PQT_API void pqt_hybrid_release(void);

#ifdef __cplusplus
}
#endif
#endif
