/*
 * TLS hello-message parsing and building (RFC 8446 §4.1; records are in
 * pqtls/record.h),
 * shared by the scanner (which builds ClientHellos and reads ServerHellos)
 * and the observer (which reads both off the wire).
 *
 * Parsed structures point into the caller's buffer (no copies, no
 * allocation): they are valid only while that buffer is. Parsers take the
 * handshake message body (after the 4-byte handshake header) and read it
 * through pqt_reader, so a message that ends early is PQT_ERR_TRUNCATED and
 * one with leftover bytes inside a vector is PQT_ERR_TRAILING.
 */
#ifndef PQTLS_HELLO_H
#define PQTLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"
#include "pqtls/record.h"
#include "pqtls/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Handshake types. */
#define PQT_TLS_HS_CLIENT_HELLO 1
#define PQT_TLS_HS_SERVER_HELLO 2
#define PQT_TLS_HS_SERVER_KEY_EXCHANGE 12

/* Extensions used by the parsers. */
#define PQT_TLS_EXT_SERVER_NAME 0
#define PQT_TLS_EXT_SUPPORTED_GROUPS 10
#define PQT_TLS_EXT_SIGNATURE_ALGORITHMS 13
#define PQT_TLS_EXT_ALPN 16
#define PQT_TLS_EXT_PADDING 21
#define PQT_TLS_EXT_SUPPORTED_VERSIONS 43
#define PQT_TLS_EXT_COOKIE 44
#define PQT_TLS_EXT_KEY_SHARE 51
#define PQT_TLS_EXT_RENEGOTIATION_INFO 0xff01

#define PQT_HELLO_MAX_EXTENSIONS 64
#define PQT_HELLO_MAX_KEY_SHARES 16

/* 1 for the RFC 8701 GREASE values 0x?A?A. */
static inline int pqt_tls_is_grease(uint16_t v)
{
    return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF);
}

typedef struct {
    uint16_t type;
    const uint8_t *data;
    uint16_t len;
} pqt_tls_extension;

typedef struct {
    uint16_t group;
    const uint8_t *share;
    uint16_t len;
} pqt_key_share;

typedef struct {
    uint16_t legacy_version;
    const uint8_t *random; /* 32 bytes */
    const uint8_t *session_id;
    uint8_t session_id_len;
    const uint8_t *cipher_suites; /* raw u16 list */
    size_t n_cipher_suites;
    const uint8_t *compression;
    uint8_t n_compression;
    pqt_tls_extension ext[PQT_HELLO_MAX_EXTENSIONS]; /* in wire order */
    size_t n_ext;
    /* Decoded from the extensions (pointers into them); absent = 0/NULL. */
    const uint8_t *sni; /* first host_name, not NUL-terminated */
    size_t sni_len;
    const uint8_t *alpn; /* raw ProtocolName list (u8-prefixed names) */
    size_t alpn_len;
    const uint8_t *versions; /* raw u16 list from supported_versions */
    size_t n_versions;
    const uint8_t *groups; /* raw u16 list from supported_groups */
    size_t n_groups;
    const uint8_t *sig_algs; /* raw u16 list */
    size_t n_sig_algs;
    pqt_key_share key_shares[PQT_HELLO_MAX_KEY_SHARES];
    size_t n_key_shares;
} pqt_client_hello;

/* Parse a ClientHello body. PQT_ERR_LENGTH for more extensions or key
 * shares than the fixed tables hold (no real client comes close). */
PQT_API PQT_MUST_CHECK int pqt_hello_parse_client(const uint8_t *body, size_t len,
                                                  pqt_client_hello *ch);

/* The i-th value of a raw big-endian u16 list. */
static inline uint16_t pqt_u16_at(const uint8_t *list, size_t i)
{
    return (uint16_t)((list[2 * i] << 8) | list[2 * i + 1]);
}

/* The highest version the client offers (supported_versions, GREASE
 * ignored), or legacy_version when the extension is absent. */
PQT_API uint16_t pqt_hello_client_max_version(const pqt_client_hello *ch);

typedef struct {
    uint16_t legacy_version;
    const uint8_t *random;
    int is_hrr; /* random is the HelloRetryRequest constant (RFC 8446 §4.1.3) */
    const uint8_t *session_id;
    uint8_t session_id_len;
    uint16_t cipher_suite;
    uint8_t compression;
    pqt_tls_extension ext[PQT_HELLO_MAX_EXTENSIONS];
    size_t n_ext;
    uint16_t selected_version; /* supported_versions, 0 if absent */
    int has_key_share;
    uint16_t key_share_group; /* SH: the share's group; HRR: selected_group */
    const uint8_t *key_share; /* SH only */
    size_t key_share_len;
    uint16_t duplicate; /* the repeated type when parsing fails with PQT_ERR_TLS_EXT_DUPLICATE */
} pqt_server_hello;

/* Parse a ServerHello (or HelloRetryRequest) body. */
PQT_API PQT_MUST_CHECK int pqt_hello_parse_server(const uint8_t *body, size_t len,
                                                  pqt_server_hello *sh);

/* The negotiated version: selected_version, else legacy_version. */
static inline uint16_t pqt_hello_server_version(const pqt_server_hello *sh)
{
    return sh->selected_version ? sh->selected_version : sh->legacy_version;
}

/*
 * What a client must refuse in a ServerHello or HelloRetryRequest (RFC 8446
 * §4.1.3, §4.1.4, §4.2), judged against the ClientHello ch it answers (after
 * an HRR: the second ClientHello). 0, or the first broken rule as a
 * PQT_ERR_TLS_* code (pqt_err_tls_alert gives the alert a client sends),
 * with *what (may be NULL) set to the offending value: the extension type,
 * version, cipher suite or compression method.
 * - PQT_ERR_TLS_VERSION: supported_versions selects a version not offered
 *   or older than TLS 1.3, an HRR without it, or (selected_version 0) an
 *   old version the client did not offer, which is what a server without
 *   TLS 1.3 answers rather than a broken message;
 * - PQT_ERR_TLS_DOWNGRADE, _LEGACY_VERSION, _SESSION_ID (TLS 1.3 only),
 *   _CIPHER, _COMPRESSION, _EXT_DUPLICATE, _EXT_NOT_ALLOWED,
 *   _EXT_UNSOLICITED, _HRR_NO_CHANGE.
 * Checks that need the key exchange (the selected group, §4.2.8) are the
 * caller's.
 */
PQT_API PQT_MUST_CHECK int pqt_hello_check_server(const pqt_client_hello *ch,
                                                  const pqt_server_hello *sh, uint16_t *what);

/*
 * The same for an EncryptedExtensions body (§4.3.1): only extensions the
 * client offered and that may appear there, none twice, an ALPN answer
 * naming exactly one offered protocol (RFC 7301 §3.1: PQT_ERR_TLS_ALPN), an
 * empty server_name. A body that does not parse gives the reader's error.
 */
PQT_API PQT_MUST_CHECK int pqt_hello_check_encrypted_extensions(const pqt_client_hello *ch,
                                                                const uint8_t *body, size_t len,
                                                                uint16_t *what);

/* TLS 1.2 ECDHE ServerKeyExchange (RFC 8422 §5.4): the named curve. */
PQT_API PQT_MUST_CHECK int pqt_hello_parse_server_key_exchange_group(const uint8_t *body,
                                                                     size_t len, uint16_t *group);

/* What to put in a ClientHello the scanner sends. */
typedef struct {
    const char *sni; /* NULL: no server_name extension */
    const uint16_t *cipher_suites;
    size_t n_cipher_suites;
    const uint16_t *groups; /* supported_groups, in preference order */
    size_t n_groups;
    const pqt_key_share *key_shares;
    size_t n_key_shares;
    const uint16_t *sig_algs;
    size_t n_sig_algs;
    const char *const *alpn;   /* NULL-terminated list or NULL */
    int tls12_too;             /* offer TLS 1.2 as well as 1.3 */
    size_t pad_to;             /* add a padding extension to reach this body size (0: none) */
    const uint8_t *random;     /* 32 bytes */
    const uint8_t *session_id; /* 32 bytes (middlebox compatibility) or NULL */
    const uint8_t *cookie;     /* HelloRetryRequest cookie to echo (RFC 8446 §4.2.2) or NULL */
    size_t cookie_len;         /* 1..65535 when cookie is set */
} pqt_client_hello_spec;

/* Build a whole handshake message (type, 24-bit length, body). */
PQT_API PQT_MUST_CHECK int pqt_hello_build_client(const pqt_client_hello_spec *spec, uint8_t *out,
                                                  size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
