/*
 * The TLS named groups pqtls knows: one table that drives the hybrid key
 * exchange, the OpenSSL provider, the scanner and the observer.
 *
 * Code points are from the IANA "TLS Supported Groups" registry; the hybrid
 * ML-KEM groups follow RFC 10024 (formerly draft-ietf-tls-ecdhe-mlkem) and
 * the pure ones draft-ietf-tls-mlkem.
 */
#ifndef PQTLS_GROUPS_H
#define PQTLS_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"
#include "pqtls/mlkem.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQT_GROUP_SECP256R1 0x0017
#define PQT_GROUP_SECP384R1 0x0018
#define PQT_GROUP_SECP521R1 0x0019
#define PQT_GROUP_X25519 0x001D
#define PQT_GROUP_X448 0x001E
#define PQT_GROUP_FFDHE2048 0x0100
#define PQT_GROUP_FFDHE3072 0x0101
#define PQT_GROUP_FFDHE4096 0x0102
#define PQT_GROUP_FFDHE6144 0x0103
#define PQT_GROUP_FFDHE8192 0x0104
#define PQT_GROUP_MLKEM512 0x0200
#define PQT_GROUP_MLKEM768 0x0201
#define PQT_GROUP_MLKEM1024 0x0202
#define PQT_GROUP_SECP256R1MLKEM768 0x11EB
#define PQT_GROUP_X25519MLKEM768 0x11EC
#define PQT_GROUP_SECP384R1MLKEM1024 0x11ED
#define PQT_GROUP_X25519KYBER768DRAFT00 0x6399 /* retired pre-standard Kyber */
#define PQT_GROUP_SECP256R1KYBER768DRAFT00 0x639A

typedef enum {
    PQT_GROUP_KIND_EC = 1,        /* classical elliptic-curve Diffie-Hellman */
    PQT_GROUP_KIND_FFDHE = 2,     /* classical finite-field Diffie-Hellman */
    PQT_GROUP_KIND_HYBRID = 3,    /* ECDH combined with ML-KEM */
    PQT_GROUP_KIND_MLKEM = 4,     /* ML-KEM alone */
    PQT_GROUP_KIND_LEGACY_PQ = 5, /* pre-standard Kyber drafts, to be retired */
} pqt_group_kind;

/* The classical half of a group. */
typedef enum {
    PQT_EC_NONE = 0,
    PQT_EC_X25519 = 1,
    PQT_EC_P256 = 2,
    PQT_EC_P384 = 3,
    PQT_EC_P521 = 4,
    PQT_EC_X448 = 5,
} pqt_ec_curve;

typedef struct {
    uint16_t code;     /* IANA code point */
    const char *name;  /* IANA name, e.g. "X25519MLKEM768" */
    const char *alias; /* another common spelling, or NULL */
    pqt_group_kind kind;
    pqt_ec_curve ec;           /* classical component, PQT_EC_NONE if none */
    int has_mlkem;             /* 1 if an ML-KEM component is present */
    pqt_mlkem_alg mlkem;       /* valid when has_mlkem */
    int mlkem_first;           /* RFC 10024: 1 for X25519MLKEM768 only */
    size_t ec_share_bytes;     /* classical public value in key_share, 0 if none */
    size_t client_share_bytes; /* key_share in ClientHello (0: variable) */
    size_t server_share_bytes; /* key_share in ServerHello (0: variable) */
    size_t secret_bytes;       /* shared secret (0: variable, e.g. FFDHE) */
    unsigned security_bits;    /* classical-equivalent strength of the weakest part */
    int pqtls_implements;      /* 1 if pqtls' hybrid API performs this exchange */
} pqt_group;

/* Look a group up; NULL if pqtls does not know it. */
PQT_API const pqt_group *pqt_group_by_code(uint16_t code);
/* By IANA name or alias, case-insensitive ("X25519MLKEM768", "x25519"). */
PQT_API const pqt_group *pqt_group_by_name(const char *name);
/* The whole table, in code-point order; *count receives its length. */
PQT_API const pqt_group *pqt_groups_all(size_t *count);
/* The IANA name, or NULL for an unknown code point. */
PQT_API const char *pqt_group_name(uint16_t code);
/* 1 if the group has a post-quantum (ML-KEM or Kyber draft) component. */
PQT_API int pqt_group_is_pq(uint16_t code);

#ifdef __cplusplus
}
#endif
#endif
