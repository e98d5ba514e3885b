/*
 * pqtls error codes.
 *
 * Every pqtls function that can fail returns an int: 0 on success or one of
 * the negative PQT_ERR_* values below. The values are stable (they appear in
 * JSON output and in exit-code documentation), so new codes are appended.
 */
#ifndef PQTLS_ERR_H
#define PQTLS_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PQT_MUST_CHECK __attribute__((warn_unused_result))
#define PQT_API __attribute__((visibility("default")))
#else
#define PQT_MUST_CHECK
#define PQT_API
#endif

enum {
    PQT_OK = 0,
    PQT_ERR_INTERNAL = -1,      /* a bug or an unexpected library failure */
    PQT_ERR_NOMEM = -2,         /* allocation failed */
    PQT_ERR_ARG = -3,           /* caller passed an invalid argument */
    PQT_ERR_TRUNCATED = -4,     /* input ended before the structure did */
    PQT_ERR_TRAILING = -5,      /* input had bytes after the structure */
    PQT_ERR_LENGTH = -6,        /* a length field or buffer size is wrong */
    PQT_ERR_EK_LENGTH = -7,     /* ML-KEM encapsulation key of the wrong size */
    PQT_ERR_EK_MODULUS = -8,    /* FIPS 203 §7.2: an ek coefficient is >= q */
    PQT_ERR_DK_LENGTH = -9,     /* ML-KEM decapsulation key of the wrong size */
    PQT_ERR_DK_HASH = -10,      /* FIPS 203 §7.3: H(ek) stored in dk mismatches */
    PQT_ERR_CT_LENGTH = -11,    /* ML-KEM ciphertext of the wrong size */
    PQT_ERR_UNSUPPORTED = -12,  /* algorithm, group or feature not supported */
    PQT_ERR_RANDOM = -13,       /* the system random generator failed */
    PQT_ERR_SYNTAX = -14,       /* malformed text input (hex, numbers, names) */
    PQT_ERR_IO = -15,           /* reading or writing a file or socket failed */
    PQT_ERR_SHARE_LENGTH = -16, /* a TLS key_share of the wrong size for its group */
    PQT_ERR_EC_POINT = -17,     /* peer EC point malformed, compressed or not on the curve */
    PQT_ERR_EC_ZERO = -18,      /* (EC)DH result is all zero (low-order peer point) */
    PQT_ERR_CRYPTO_LIB = -19,   /* OpenSSL libcrypto reported a failure */
    /* A peer's TLS handshake message breaks a rule that makes a client abort
     * (RFC 8446 §4.1.3, §4.1.4, §4.2); see pqt_hello_check_server. */
    PQT_ERR_TLS_VERSION = -20,         /* a version the client did not offer */
    PQT_ERR_TLS_LEGACY_VERSION = -21,  /* TLS 1.3 ServerHello legacy_version is not 0x0303 */
    PQT_ERR_TLS_DOWNGRADE = -22,       /* downgrade sentinel in a TLS 1.2 or older random */
    PQT_ERR_TLS_SESSION_ID = -23,      /* legacy_session_id_echo is not the client's */
    PQT_ERR_TLS_CIPHER = -24,          /* a cipher suite the client did not offer */
    PQT_ERR_TLS_COMPRESSION = -25,     /* compression method other than null */
    PQT_ERR_TLS_EXT_DUPLICATE = -26,   /* an extension type twice in one block */
    PQT_ERR_TLS_EXT_NOT_ALLOWED = -27, /* a known extension in a message it may not appear in */
    PQT_ERR_TLS_EXT_UNSOLICITED = -28, /* an extension the client did not offer */
    PQT_ERR_TLS_HRR_NO_CHANGE = -29,   /* HelloRetryRequest that would change nothing */
    PQT_ERR_TLS_ALPN = -30,            /* ALPN answer that is not one offered protocol */
};

/* Return from the calling function with expr's error code, if it has one:
 * for parsers that read a message's schema step by step. */
#define PQT_TRY(expr)              \
    do {                           \
        int pqt_try_ret_ = (expr); \
        if (pqt_try_ret_ != 0) {   \
            return pqt_try_ret_;   \
        }                          \
    } while (0)

/* TLS alert descriptions (RFC 8446 §6.2) that errors map to. */
#define PQT_ALERT_HANDSHAKE_FAILURE 40
#define PQT_ALERT_ILLEGAL_PARAMETER 47
#define PQT_ALERT_DECODE_ERROR 50
#define PQT_ALERT_PROTOCOL_VERSION 70
#define PQT_ALERT_INTERNAL_ERROR 80
#define PQT_ALERT_UNSUPPORTED_EXTENSION 110
#define PQT_ALERT_NO_APPLICATION_PROTOCOL 120

/*
 * The TLS alert a peer should receive when processing its message failed
 * with err: one table for the whole project (src/common/err.c).
 */
PQT_API int pqt_err_tls_alert(int err);

/* A short, stable, human-readable description of a PQT_ERR_* code. */
PQT_API const char *pqt_strerror(int err);

/* The symbolic name of a PQT_ERR_* code, e.g. "PQT_ERR_EK_MODULUS". */
PQT_API const char *pqt_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
