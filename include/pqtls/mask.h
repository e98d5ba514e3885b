/*
 * Keyed pseudonyms for names and addresses, shared by `pqtls observe`
 * (--pseudonymise) and the trace-masking tool.
 *
 * Every pseudonym is derived with HMAC-SHA256 under one secret key, so the
 * same input always maps to the same output within a key (joins across
 * records and files still work) and nothing can be reversed without it.
 *
 *  - Names (SNI): "h-" + 20 hex digits of HMAC(key, "name" || 0 || lower(name)).
 *  - Addresses: prefix-preserving (the Crypto-PAn construction with
 *    HMAC-SHA256 as the PRF): output bit i is input bit i XOR the low bit of
 *    HMAC(key, "ip4"/"ip6" || 0 || i || the first i input bits). Two
 *    addresses sharing an n-bit prefix share an n-bit pseudonym prefix, so
 *    per-prefix statistics survive.
 */
#ifndef PQTLS_PSEUDONYM_H
#define PQTLS_PSEUDONYM_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQT_PSEUDONYM_MIN_KEY 16
#define PQT_PSEUDONYM_MAX_KEY 64
#define PQT_PSEUDONYM_NAME_SIZE 23 /* "h-" + 20 hex + NUL */

typedef struct {
    uint8_t key[PQT_PSEUDONYM_MAX_KEY];
    size_t key_len;
} pqt_pseudonym;

/* Set up with a caller key of 16..64 bytes (PQT_ERR_LENGTH otherwise). */
PQT_API PQT_MUST_CHECK int pqt_pseudonym_init(pqt_pseudonym *ps, const uint8_t *key, size_t len);
/* Set up with a fresh random 32-byte key (pseudonyms unlinkable across runs). */
PQT_API PQT_MUST_CHECK int pqt_pseudonym_init_random(pqt_pseudonym *ps);
/* Wipe the key. */
PQT_API void pqt_pseudonym_clear(pqt_pseudonym *ps);

/* Pseudonym of a host name (compared case-insensitively). */
PQT_API PQT_MUST_CHECK int pqt_pseudonym_name(const pqt_pseudonym *ps, const uint8_t *name,
                                              size_t len, char out[PQT_PSEUDONYM_NAME_SIZE]);
/* Prefix-preserving pseudonym of an IPv4 (4 bytes) or IPv6 (16 bytes) address. */
PQT_API PQT_MUST_CHECK int pqt_pseudonym_ipv4(const pqt_pseudonym *ps, const uint8_t in[4],
                                              uint8_t out[4]);
PQT_API PQT_MUST_CHECK int pqt_pseudonym_ipv6(const pqt_pseudonym *ps, const uint8_t in[16],
                                              uint8_t out[16]);

#ifdef __cplusplus
}
#endif
#endif
