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
#define PQT_ALERT_INTERNAL_ERROR 80

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
