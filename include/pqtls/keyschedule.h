/*
 * The TLS 1.3 key schedule (RFC 8446 §7.1) and record protection (§5.2)
 * on OpenSSL libcrypto: HKDF-Extract, HKDF-Expand-Label, Derive-Secret,
 * traffic keys, and AEAD record decryption/encryption for the three
 * standard cipher suites.
 *
 * The scanner uses it to prove that a server's hybrid key exchange works
 * (derive the handshake secrets from the decapsulated shared secret and
 * decrypt EncryptedExtensions); test servers and the observer can reuse it.
 *
 * Hash lengths are at most PQT_KS_MAX_HASH (48, SHA-384). Callers own all
 * memory; pqt_ks_wipe() clears secrets. Functions return 0 or a negative
 * PQT_ERR_* (PQT_ERR_CRYPTO_LIB when libcrypto fails, PQT_ERR_UNSUPPORTED for
 * an unknown cipher suite, PQT_ERR_LENGTH for a record of impossible size).
 */
#ifndef PQTLS_KEYSCHEDULE_H
#define PQTLS_KEYSCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQT_KS_MAX_HASH 48
#define PQT_KS_MAX_KEY 32
#define PQT_KS_IV 12
#define PQT_KS_TAG 16

typedef enum {
    PQT_KS_SHA256 = 1,
    PQT_KS_SHA384 = 2,
} pqt_ks_hash;

/* Output length of a hash (32 or 48); 0 for an unknown value. */
PQT_API size_t pqt_ks_hash_len(pqt_ks_hash h);

/* Cipher suite parameters: hash, key length; PQT_ERR_UNSUPPORTED for
 * anything but 0x1301, 0x1302 and 0x1303. */
PQT_API PQT_MUST_CHECK int pqt_ks_suite(uint16_t suite, pqt_ks_hash *h, size_t *key_len);

/* Hash of the concatenation of n parts (a transcript hash); out gets
 * pqt_ks_hash_len(h) bytes. */
PQT_API PQT_MUST_CHECK int pqt_ks_transcript(pqt_ks_hash h, const uint8_t *const *parts,
                                             const size_t *lens, size_t n, uint8_t *out);

/* HKDF-Extract (RFC 5869 §2.2); a NULL salt is HashLen zero bytes, and so is
 * a NULL ikm (RFC 8446 §7.1: "0" when a secret is not available). */
PQT_API PQT_MUST_CHECK int pqt_ks_extract(pqt_ks_hash h, const uint8_t *salt, size_t salt_len,
                                          const uint8_t *ikm, size_t ikm_len, uint8_t *prk);

/* HKDF-Expand-Label(secret, label, context, out_len) with the "tls13 "
 * prefix (RFC 8446 §7.1); label without the prefix, at most 249 bytes. */
PQT_API PQT_MUST_CHECK int pqt_ks_expand_label(pqt_ks_hash h, const uint8_t *secret,
                                               const char *label, const uint8_t *context,
                                               size_t context_len, uint8_t *out, size_t out_len);

/* Derive-Secret(secret, label, messages) given the transcript hash of the
 * messages (for "derived", the hash of the empty string). */
PQT_API PQT_MUST_CHECK int pqt_ks_derive_secret(pqt_ks_hash h, const uint8_t *secret,
                                                const char *label, const uint8_t *transcript_hash,
                                                uint8_t *out);

/* The secrets of one full handshake, filled in stage by stage. */
typedef struct {
    pqt_ks_hash hash;
    size_t hash_len;
    uint8_t early[PQT_KS_MAX_HASH];
    uint8_t handshake[PQT_KS_MAX_HASH];
    uint8_t master[PQT_KS_MAX_HASH];
    uint8_t client_early_traffic[PQT_KS_MAX_HASH];
    uint8_t early_exporter[PQT_KS_MAX_HASH];
    uint8_t client_hs_traffic[PQT_KS_MAX_HASH];
    uint8_t server_hs_traffic[PQT_KS_MAX_HASH];
    uint8_t client_ap_traffic[PQT_KS_MAX_HASH];
    uint8_t server_ap_traffic[PQT_KS_MAX_HASH];
    uint8_t exporter[PQT_KS_MAX_HASH];
    uint8_t resumption[PQT_KS_MAX_HASH];
} pqt_ks_secrets;

/* Early secret from the PSK (NULL: no PSK), plus the client early traffic
 * and early exporter secrets when th_client_hello is not NULL. */
PQT_API PQT_MUST_CHECK int pqt_ks_early(pqt_ks_secrets *s, pqt_ks_hash h, const uint8_t *psk,
                                        size_t psk_len, const uint8_t *th_client_hello);

/* Handshake secret from the (EC)DHE or KEM shared secret (NULL: PSK-only)
 * and both handshake traffic secrets from H(ClientHello..ServerHello). */
PQT_API PQT_MUST_CHECK int pqt_ks_handshake(pqt_ks_secrets *s, const uint8_t *shared,
                                            size_t shared_len, const uint8_t *th_server_hello);

/* Master secret, application traffic and exporter secrets from
 * H(ClientHello..server Finished). */
PQT_API PQT_MUST_CHECK int pqt_ks_master(pqt_ks_secrets *s, const uint8_t *th_server_finished);

/* Resumption master secret from H(ClientHello..client Finished). */
PQT_API PQT_MUST_CHECK int pqt_ks_resumption(pqt_ks_secrets *s, const uint8_t *th_client_finished);

PQT_API void pqt_ks_wipe(void *p, size_t n);

/* One direction of record protection. */
typedef struct {
    uint16_t suite;
    size_t key_len;
    uint8_t key[PQT_KS_MAX_KEY];
    uint8_t iv[PQT_KS_IV];
    uint64_t seq;
} pqt_record_keys;

/* Traffic key and IV (RFC 8446 §7.3) from a traffic secret; seq = 0. */
PQT_API PQT_MUST_CHECK int pqt_record_keys_init(pqt_record_keys *k, uint16_t suite,
                                                const uint8_t *traffic_secret);

/*
 * Decrypt one protected record (RFC 8446 §5.2): header is its 5-byte
 * header (the AAD), ct/ct_len the encrypted_record. On success pt holds the
 * inner content without padding, *content_type the real type, and seq
 * advances. pt needs ct_len bytes. PQT_ERR_CRYPTO_LIB when the tag does not
 * verify (bad_record_mac), PQT_ERR_SYNTAX for an all-zero plaintext (no
 * content type), PQT_ERR_LENGTH for a record shorter than the tag or longer
 * than 2^14 + 256.
 */
PQT_API PQT_MUST_CHECK int pqt_record_decrypt(pqt_record_keys *k, const uint8_t header[5],
                                              const uint8_t *ct, size_t ct_len, uint8_t *pt,
                                              size_t *pt_len, uint8_t *content_type);

/*
 * Protect one record: writes header (5 bytes, type application_data) and
 * the ciphertext of pt || content_type into out (capacity cap, needs
 * 5 + pt_len + 1 + 16). *out_len is the whole record.
 */
PQT_API PQT_MUST_CHECK int pqt_record_encrypt(pqt_record_keys *k, uint8_t content_type,
                                              const uint8_t *pt, size_t pt_len, uint8_t *out,
                                              size_t cap, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
