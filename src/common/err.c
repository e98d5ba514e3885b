/* Names and descriptions of PQT_ERR_* codes: one table, used by every tool. */
#include <stddef.h>

#include "pqtls/err.h"

static const struct {
    int code;
    const char *name;
    const char *text;
    int alert; /* TLS alert when the error comes from peer input */
} err_table[] = {
    {PQT_OK, "PQT_OK", "success", 0},
    {PQT_ERR_INTERNAL, "PQT_ERR_INTERNAL", "internal error", PQT_ALERT_INTERNAL_ERROR},
    {PQT_ERR_NOMEM, "PQT_ERR_NOMEM", "out of memory", PQT_ALERT_INTERNAL_ERROR},
    {PQT_ERR_ARG, "PQT_ERR_ARG", "invalid argument", PQT_ALERT_INTERNAL_ERROR},
    {PQT_ERR_TRUNCATED, "PQT_ERR_TRUNCATED", "input is truncated", PQT_ALERT_DECODE_ERROR},
    {PQT_ERR_TRAILING, "PQT_ERR_TRAILING", "unexpected bytes after the end of the input",
     PQT_ALERT_DECODE_ERROR},
    {PQT_ERR_LENGTH, "PQT_ERR_LENGTH", "wrong length", PQT_ALERT_DECODE_ERROR},
    {PQT_ERR_EK_LENGTH, "PQT_ERR_EK_LENGTH", "encapsulation key has the wrong length",
     PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_EK_MODULUS, "PQT_ERR_EK_MODULUS",
     "encapsulation key fails the FIPS 203 modulus check (a coefficient is >= q)",
     PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_DK_LENGTH, "PQT_ERR_DK_LENGTH", "decapsulation key has the wrong length",
     PQT_ALERT_INTERNAL_ERROR},
    {PQT_ERR_DK_HASH, "PQT_ERR_DK_HASH",
     "decapsulation key fails the FIPS 203 hash check (H(ek) inside it does not match)",
     PQT_ALERT_INTERNAL_ERROR},
    {PQT_ERR_CT_LENGTH, "PQT_ERR_CT_LENGTH", "ciphertext has the wrong length",
     PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_UNSUPPORTED, "PQT_ERR_UNSUPPORTED", "not supported", PQT_ALERT_HANDSHAKE_FAILURE},
    {PQT_ERR_RANDOM, "PQT_ERR_RANDOM", "the system random generator failed",
     PQT_ALERT_INTERNAL_ERROR},
    {PQT_ERR_SYNTAX, "PQT_ERR_SYNTAX", "malformed input", PQT_ALERT_DECODE_ERROR},
    {PQT_ERR_IO, "PQT_ERR_IO", "input/output error", PQT_ALERT_INTERNAL_ERROR},
    {PQT_ERR_SHARE_LENGTH, "PQT_ERR_SHARE_LENGTH", "key share has the wrong length for its group",
     PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_EC_POINT, "PQT_ERR_EC_POINT",
     "peer EC point is malformed, compressed or not on the curve", PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_EC_ZERO, "PQT_ERR_EC_ZERO", "(EC)DH shared secret is all zero (low-order peer point)",
     PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_CRYPTO_LIB, "PQT_ERR_CRYPTO_LIB", "OpenSSL libcrypto reported a failure",
     PQT_ALERT_INTERNAL_ERROR},
    /* RFC 8446 §4.1.3: a version not offered, a cipher suite not offered and
     * a session id echo that differs are "illegal_parameter"; §4.2: so is a
     * known extension in the wrong message, while an unsolicited one is
     * "unsupported_extension"; §4.1.4: an HRR that changes nothing is
     * "illegal_parameter". */
    {PQT_ERR_TLS_VERSION, "PQT_ERR_TLS_VERSION", "selects a TLS version the client did not offer",
     PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_TLS_LEGACY_VERSION, "PQT_ERR_TLS_LEGACY_VERSION",
     "TLS 1.3 ServerHello with legacy_version other than 0x0303", PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_TLS_DOWNGRADE, "PQT_ERR_TLS_DOWNGRADE",
     "ServerHello random carries the TLS 1.3 downgrade sentinel", PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_TLS_SESSION_ID, "PQT_ERR_TLS_SESSION_ID",
     "legacy_session_id_echo differs from the ClientHello's session id",
     PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_TLS_CIPHER, "PQT_ERR_TLS_CIPHER",
     "selects a cipher suite the client did not offer for this version",
     PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_TLS_COMPRESSION, "PQT_ERR_TLS_COMPRESSION", "compression method is not null",
     PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_TLS_EXT_DUPLICATE, "PQT_ERR_TLS_EXT_DUPLICATE",
     "the same extension appears twice in one message", PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_TLS_EXT_NOT_ALLOWED, "PQT_ERR_TLS_EXT_NOT_ALLOWED",
     "extension is not allowed in this message", PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_TLS_EXT_UNSOLICITED, "PQT_ERR_TLS_EXT_UNSOLICITED",
     "extension the client did not offer", PQT_ALERT_UNSUPPORTED_EXTENSION},
    {PQT_ERR_TLS_HRR_NO_CHANGE, "PQT_ERR_TLS_HRR_NO_CHANGE",
     "HelloRetryRequest would not change the ClientHello", PQT_ALERT_ILLEGAL_PARAMETER},
    {PQT_ERR_TLS_ALPN, "PQT_ERR_TLS_ALPN",
     "ALPN answer is not exactly one of the offered protocols", PQT_ALERT_ILLEGAL_PARAMETER},
};

static size_t find(int err)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
        if (err_table[i].code == err) {
            return i;
        }
    }
    return (size_t)-1;
}

const char *pqt_strerror(int err)
{
    size_t i = find(err);
    return i == (size_t)-1 ? "unknown error" : err_table[i].text;
}

const char *pqt_errname(int err)
{
    size_t i = find(err);
    return i == (size_t)-1 ? "PQT_ERR_UNKNOWN" : err_table[i].name;
}

/*
 * RFC 8446 §4.2.8 and RFC 10024 §3: a key share of the wrong length, an
 * invalid ML-KEM encapsulation key or EC point, and an all-zero X25519
 * result are all "illegal_parameter"; undecodable messages "decode_error".
 */
int pqt_err_tls_alert(int err)
{
    size_t i = find(err);
    return i == (size_t)-1 ? PQT_ALERT_INTERNAL_ERROR : err_table[i].alert;
}
