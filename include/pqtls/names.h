/*
 * The names pqtls prints for TLS code points, one table each for every tool
 * (src/tls/names.c): protocol versions as OpenSSL and nginx spell them
 * ("TLSv1.3"), cipher suites, named groups (from the group table of
 * pqtls/groups.h), alerts, extensions and signature schemes, with the IANA
 * registry's names. Each _name function returns NULL for a code point it
 * does not know; the _format functions always write something (the name,
 * "GREASE", or the value in hex).
 */
#ifndef PQTLS_NAMES_H
#define PQTLS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3". */
PQT_API const char *pqt_tls_version_name(uint16_t version);
/* The name, "TLSv1.3-draft-18" for 0x7f12, or "0xfb1a". */
PQT_API void pqt_tls_version_format(uint16_t version, char out[24]);
/* "TLS_AES_128_GCM_SHA256", ... (the TLS 1.3 suites). */
PQT_API const char *pqt_tls_suite_name(uint16_t suite);
/* "X25519MLKEM768", "secp256r1", ... (pqt_group_name). */
PQT_API const char *pqt_tls_group_name(uint16_t group);
/* The name, "GREASE" (RFC 8701), or "0x4138". */
PQT_API void pqt_tls_group_format(uint16_t group, char out[32]);
/* Alert descriptions (RFC 8446 §6): "handshake_failure", ... */
PQT_API const char *pqt_tls_alert_name(int description);
/* "server_name", "key_share", ... */
PQT_API const char *pqt_tls_extension_name(uint16_t type);
/* "ecdsa_secp256r1_sha256", "rsa_pss_rsae_sha256", "mldsa65", ... */
PQT_API const char *pqt_tls_sigscheme_name(uint16_t scheme);

#ifdef __cplusplus
}
#endif
#endif
