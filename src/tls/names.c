/*
 * Names of TLS code points (pqtls/names.h), from the IANA TLS registries;
 * versions spelled as OpenSSL and nginx print them.
 */
#include "pqtls/names.h"

#include <stdio.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/hello.h"

typedef struct {
    uint16_t code;
    const char *name;
} code_name;

static const char *lookup(const code_name *t, size_t n, unsigned code)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].code == code) {
            return t[i].name;
        }
    }
    return NULL;
}

#define LOOKUP(table, code) lookup(table, sizeof(table) / sizeof(table[0]), code)

static const code_name versions[] = {
    {0x0304, "TLSv1.3"}, {0x0303, "TLSv1.2"}, {0x0302, "TLSv1.1"},
    {0x0301, "TLSv1.0"}, {0x0300, "SSLv3"},
};

const char *pqt_tls_version_name(uint16_t version)
{
    return LOOKUP(versions, version);
}

/* Copy a known name (shorter than cap, as every table entry is) without
 * snprintf: the observer formats a version or group for every record. */
static void copy_name(char *out, size_t cap, const char *name)
{
    size_t n = strlen(name);
    n = n < cap ? n : cap - 1;
    memcpy(out, name, n);
    out[n] = 0;
}

/* "0x" and four lower-case hex digits. */
static void hex16(char out[7], uint16_t v)
{
    static const char digits[] = "0123456789abcdef";
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 4; i++) {
        out[2 + i] = digits[(v >> (12 - 4 * i)) & 0xf];
    }
    out[6] = 0;
}

void pqt_tls_version_format(uint16_t version, char out[24])
{
    const char *name = pqt_tls_version_name(version);
    if (name != NULL) {
        copy_name(out, 24, name);
    } else if ((version >> 8) == 0x7f) {
        snprintf(out, 24, "TLSv1.3-draft-%u", version & 0xff);
    } else {
        hex16(out, version);
    }
}

static const code_name suites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256"},
    {0x1302, "TLS_AES_256_GCM_SHA384"},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
};

const char *pqt_tls_suite_name(uint16_t suite)
{
    return LOOKUP(suites, suite);
}

const char *pqt_tls_group_name(uint16_t group)
{
    return pqt_group_name(group);
}

void pqt_tls_group_format(uint16_t group, char out[32])
{
    const char *name = pqt_group_name(group);
    if (name != NULL) {
        copy_name(out, 32, name);
    } else if (pqt_tls_is_grease(group)) {
        copy_name(out, 32, "GREASE");
    } else {
        hex16(out, group);
    }
}

static const code_name alerts[] = {
    {0, "close_notify"},
    {10, "unexpected_message"},
    {20, "bad_record_mac"},
    {22, "record_overflow"},
    {40, "handshake_failure"},
    {42, "bad_certificate"},
    {43, "unsupported_certificate"},
    {44, "certificate_revoked"},
    {45, "certificate_expired"},
    {46, "certificate_unknown"},
    {47, "illegal_parameter"},
    {48, "unknown_ca"},
    {49, "access_denied"},
    {50, "decode_error"},
    {51, "decrypt_error"},
    {70, "protocol_version"},
    {71, "insufficient_security"},
    {80, "internal_error"},
    {86, "inappropriate_fallback"},
    {90, "user_canceled"},
    {109, "missing_extension"},
    {110, "unsupported_extension"},
    {112, "unrecognized_name"},
    {113, "bad_certificate_status_response"},
    {115, "unknown_psk_identity"},
    {116, "certificate_required"},
    {120, "no_application_protocol"},
};

const char *pqt_tls_alert_name(int description)
{
    if (description < 0 || description > 255) {
        return NULL;
    }
    return LOOKUP(alerts, (unsigned)description);
}

static const code_name extensions[] = {
    {0, "server_name"},
    {1, "max_fragment_length"},
    {5, "status_request"},
    {10, "supported_groups"},
    {11, "ec_point_formats"},
    {13, "signature_algorithms"},
    {14, "use_srtp"},
    {15, "heartbeat"},
    {16, "application_layer_protocol_negotiation"},
    {17, "status_request_v2"},
    {18, "signed_certificate_timestamp"},
    {19, "client_certificate_type"},
    {20, "server_certificate_type"},
    {21, "padding"},
    {22, "encrypt_then_mac"},
    {23, "extended_main_secret"},
    {27, "compress_certificate"},
    {28, "record_size_limit"},
    {34, "delegated_credential"},
    {35, "session_ticket"},
    {41, "pre_shared_key"},
    {42, "early_data"},
    {43, "supported_versions"},
    {44, "cookie"},
    {45, "psk_key_exchange_modes"},
    {47, "certificate_authorities"},
    {48, "oid_filters"},
    {49, "post_handshake_auth"},
    {50, "signature_algorithms_cert"},
    {51, "key_share"},
    {57, "quic_transport_parameters"},
    {0x4469, "application_settings"},
    {0xfe0d, "encrypted_client_hello"},
    {0xff01, "renegotiation_info"},
};

const char *pqt_tls_extension_name(uint16_t type)
{
    return LOOKUP(extensions, type);
}

static const code_name sigschemes[] = {
    {0x0401, "rsa_pkcs1_sha256"},
    {0x0501, "rsa_pkcs1_sha384"},
    {0x0601, "rsa_pkcs1_sha512"},
    {0x0403, "ecdsa_secp256r1_sha256"},
    {0x0503, "ecdsa_secp384r1_sha384"},
    {0x0603, "ecdsa_secp521r1_sha512"},
    {0x0804, "rsa_pss_rsae_sha256"},
    {0x0805, "rsa_pss_rsae_sha384"},
    {0x0806, "rsa_pss_rsae_sha512"},
    {0x0807, "ed25519"},
    {0x0808, "ed448"},
    {0x0904, "mldsa44"},
    {0x0905, "mldsa65"},
    {0x0906, "mldsa87"},
};

const char *pqt_tls_sigscheme_name(uint16_t scheme)
{
    return LOOKUP(sigschemes, scheme);
}
