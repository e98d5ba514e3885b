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
