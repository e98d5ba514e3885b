/*
 * pqtls scan --format cbom: a CycloneDX 1.7 cryptography bill of materials
 * (include/pqtls/scan.h, pqt_scan_cbom; the mapping is in docs/scan.md,
 * "CBOM").
 *
 * CycloneDX 1.7 models what a scan finds as components of type
 * `cryptographic-asset` with `cryptoProperties`: one `protocol` asset per
 * target (protocolProperties: type tls, version, cipherSuites each with
 * its tlsGroups and tlsSignatureSchemes), the certificate
 * (certificateProperties) and its public key (related-crypto-material),
 * and one `algorithm` asset per algorithm seen anywhere in the scan
 * (shared by every target that uses it: ML-KEM-768 is one algorithm, not
 * one per server). Relations go both ways the 1.7 schema offers: the
 * `relatedCryptographicAssets` of the protocol, certificate and key (1.7
 * deprecates protocolProperties.cryptoRefArray for it) and the top-level
 * `dependencies` graph (dependsOn), which also says what each hybrid
 * combines. Everything else pqtls knows (stage, flags, the group each
 * probe got, HRR) is a `pqtls:` property.
 *
 * The BOM is one JSON document, so nothing can be written before the last
 * target: each target's facts go to a temporary file as a compact record
 * (its strings NUL-terminated) and come back at close, the algorithms
 * are a set in memory (a fixed table plus at most CBOM_DYN_MAX names
 * learnt from certificates). Memory stays the same for any number of
 * targets but for an 8-byte hash per target name, which keeps bom-refs
 * unique when a name is listed twice.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pqtls/common.h"
#include "pqtls/groups.h"
#include "pqtls/json.h"
#include "pqtls/names.h"
#include "pqtls/scan.h"

#ifndef PQT_VERSION_STRING
#define PQT_VERSION_STRING "unknown"
#endif

/* ---- the algorithms ------------------------------------------------------ */

enum {
    A_MLKEM512,
    A_MLKEM768,
    A_MLKEM1024,
    A_KYBER768,
    A_X25519,
    A_X448,
    A_P256,
    A_P384,
    A_P521,
    A_FFDHE2048,
    A_FFDHE3072,
    A_FFDHE4096,
    A_FFDHE6144,
    A_FFDHE8192,
    A_X25519MLKEM768,
    A_P256MLKEM768,
    A_P384MLKEM1024,
    A_X25519KYBER768,
    A_P256KYBER768,
    A_AES128GCM,
    A_AES256GCM,
    A_CHACHA20POLY1305,
    A_SHA256,
    A_SHA384,
    A_ECDSA_SHA256,
    A_ECDSA_SHA384,
    A_ECDSA_SHA512,
    A_RSA_SHA1,
    A_RSA_SHA256,
    A_RSA_SHA384,
    A_RSA_SHA512,
    A_RSA_PSS,
    A_ED25519,
    A_ED448,
    A_MLDSA44,
    A_MLDSA65,
    A_MLDSA87,
    A_ECDSA_P256,
    A_ECDSA_P384,
    A_ECDSA_P521,
    A_COUNT
};

#define NO_LEVEL (-1)

typedef struct {
    const char *name;      /* the component's name, as cryptography-defs.json spells it */
    const char *primitive; /* algorithmProperties.primitive */
    const char *family;    /* algorithmFamily (cryptography-defs.schema.json), or NULL */
    const char *curve;     /* ellipticCurve, or NULL */
    const char *param;     /* parameterSetIdentifier, or NULL */
    const char *mode;      /* mode (block ciphers), or NULL */
    const char *oid;       /* where one exists */
    int classical;         /* classicalSecurityLevel in bits, NO_LEVEL to omit */
    int nist_pq;           /* nistQuantumSecurityLevel 0..5 */
    int part[2];           /* a combiner's algorithms (-1: none) */
    const char *match[2];  /* certificate spellings: OpenSSL long name, OID */
} cbom_alg;

/*
 * NIST PQC security categories: 1 = key search on AES-128, 2 = collision
 * on SHA-256, 3 = AES-192, 4 = SHA-384 collision, 5 = AES-256 (the call
 * for proposals §4.A.5); 0 = none (every classical public-key algorithm).
 * ML-KEM-512/768/1024 are 1/3/5 (FIPS 203 §8), ML-DSA-44/65/87 are 2/3/5
 * (FIPS 204 §4). A hybrid is as strong against a quantum computer as its
 * ML-KEM part. Classical levels of ECDH, ECDSA, RSA and finite-field DH
 * are SP 800-57 Part 1 Table 2's; ML-KEM and the hybrids are given none.
 */
/* One row per algorithm, not one line per field. */
/* clang-format off */
static const cbom_alg algs[A_COUNT] = {
    [A_MLKEM512] = {"ML-KEM-512", "kem", "ML-KEM", NULL, "512", NULL, "2.16.840.1.101.3.4.4.1",
        NO_LEVEL, 1, {-1, -1}, {NULL, NULL}},
    [A_MLKEM768] = {"ML-KEM-768", "kem", "ML-KEM", NULL, "768", NULL, "2.16.840.1.101.3.4.4.2",
        NO_LEVEL, 3, {-1, -1}, {NULL, NULL}},
    [A_MLKEM1024] = {"ML-KEM-1024", "kem", "ML-KEM", NULL, "1024", NULL, "2.16.840.1.101.3.4.4.3",
        NO_LEVEL, 5, {-1, -1}, {NULL, NULL}},
    /* The round-3 Kyber of draft-tls-westerbaan-xyber768d00 (0x6399): not
     * ML-KEM (FIPS 203 changed it), so no family. */
    [A_KYBER768] = {"Kyber768-round3", "kem", NULL, NULL, "768", NULL, NULL,
        NO_LEVEL, 3, {-1, -1}, {NULL, NULL}},
    [A_X25519] = {"x25519", "key-agree", "ECDH", "other/Curve25519", NULL, NULL, "1.3.101.110",
        128, 0, {-1, -1}, {NULL, NULL}},
    [A_X448] = {"x448", "key-agree", "ECDH", "other/Curve448", NULL, NULL, "1.3.101.111",
        224, 0, {-1, -1}, {NULL, NULL}},
    [A_P256] = {"ECDH-P-256", "key-agree", "ECDH", "nist/P-256", NULL, NULL, NULL,
        128, 0, {-1, -1}, {NULL, NULL}},
    [A_P384] = {"ECDH-P-384", "key-agree", "ECDH", "nist/P-384", NULL, NULL, NULL,
        192, 0, {-1, -1}, {NULL, NULL}},
    [A_P521] = {"ECDH-P-521", "key-agree", "ECDH", "nist/P-521", NULL, NULL, NULL,
        256, 0, {-1, -1}, {NULL, NULL}},
    [A_FFDHE2048] = {"FFDHE-ffdhe2048", "key-agree", "FFDH", NULL, "2048", NULL, NULL,
        112, 0, {-1, -1}, {NULL, NULL}},
    [A_FFDHE3072] = {"FFDHE-ffdhe3072", "key-agree", "FFDH", NULL, "3072", NULL, NULL,
        128, 0, {-1, -1}, {NULL, NULL}},
    [A_FFDHE4096] = {"FFDHE-ffdhe4096", "key-agree", "FFDH", NULL, "4096", NULL, NULL,
        128, 0, {-1, -1}, {NULL, NULL}},
    [A_FFDHE6144] = {"FFDHE-ffdhe6144", "key-agree", "FFDH", NULL, "6144", NULL, NULL,
        128, 0, {-1, -1}, {NULL, NULL}},
    [A_FFDHE8192] = {"FFDHE-ffdhe8192", "key-agree", "FFDH", NULL, "8192", NULL, NULL,
        192, 0, {-1, -1}, {NULL, NULL}},
    /* RFC 10024: the shared secret is the concatenation of both parts',
     * the TLS 1.3 key schedule is the combiner. */
    [A_X25519MLKEM768] = {"X25519MLKEM768", "combiner", NULL, NULL, NULL, NULL, NULL,
        NO_LEVEL, 3, {A_MLKEM768, A_X25519}, {NULL, NULL}},
    [A_P256MLKEM768] = {"SecP256r1MLKEM768", "combiner", NULL, NULL, NULL, NULL, NULL,
        NO_LEVEL, 3, {A_P256, A_MLKEM768}, {NULL, NULL}},
    [A_P384MLKEM1024] = {"SecP384r1MLKEM1024", "combiner", NULL, NULL, NULL, NULL, NULL,
        NO_LEVEL, 5, {A_P384, A_MLKEM1024}, {NULL, NULL}},
    [A_X25519KYBER768] = {"X25519Kyber768Draft00", "combiner", NULL, NULL, NULL, NULL, NULL,
        NO_LEVEL, 3, {A_X25519, A_KYBER768}, {NULL, NULL}},
    [A_P256KYBER768] = {"SecP256r1Kyber768Draft00", "combiner", NULL, NULL, NULL, NULL, NULL,
        NO_LEVEL, 3, {A_P256, A_KYBER768}, {NULL, NULL}},
    [A_AES128GCM] = {"AES-128-GCM", "ae", "AES", NULL, "128", "gcm", "2.16.840.1.101.3.4.1.6",
        128, 1, {-1, -1}, {NULL, NULL}},
    [A_AES256GCM] = {"AES-256-GCM", "ae", "AES", NULL, "256", "gcm", "2.16.840.1.101.3.4.1.46",
        256, 5, {-1, -1}, {NULL, NULL}},
    [A_CHACHA20POLY1305] = {"ChaCha20-Poly1305", "ae", "ChaCha20", NULL, "256", NULL,
        "1.2.840.113549.1.9.16.3.18", 256, 5, {-1, -1}, {NULL, NULL}},
    [A_SHA256] = {"SHA-256", "hash", "SHA-2", NULL, "256", NULL, "2.16.840.1.101.3.4.2.1",
        128, 2, {-1, -1}, {NULL, NULL}},
    [A_SHA384] = {"SHA-384", "hash", "SHA-2", NULL, "384", NULL, "2.16.840.1.101.3.4.2.2",
        192, 4, {-1, -1}, {NULL, NULL}},
    [A_ECDSA_SHA256] = {"ECDSA-SHA-256", "signature", "ECDSA", NULL, NULL, NULL,
        "1.2.840.10045.4.3.2", NO_LEVEL, 0, {-1, -1}, {"ecdsa-with-SHA256", "1.2.840.10045.4.3.2"}},
    [A_ECDSA_SHA384] = {"ECDSA-SHA-384", "signature", "ECDSA", NULL, NULL, NULL,
        "1.2.840.10045.4.3.3", NO_LEVEL, 0, {-1, -1}, {"ecdsa-with-SHA384", "1.2.840.10045.4.3.3"}},
    [A_ECDSA_SHA512] = {"ECDSA-SHA-512", "signature", "ECDSA", NULL, NULL, NULL,
        "1.2.840.10045.4.3.4", NO_LEVEL, 0, {-1, -1}, {"ecdsa-with-SHA512", "1.2.840.10045.4.3.4"}},
    [A_RSA_SHA1] = {"RSA-PKCS1-1.5-SHA-1", "signature", "RSASSA-PKCS1", NULL, NULL, NULL,
        "1.2.840.113549.1.1.5", NO_LEVEL, 0, {-1, -1},
        {"sha1WithRSAEncryption", "1.2.840.113549.1.1.5"}},
    [A_RSA_SHA256] = {"RSA-PKCS1-1.5-SHA-256", "signature", "RSASSA-PKCS1", NULL, NULL, NULL,
        "1.2.840.113549.1.1.11", NO_LEVEL, 0, {-1, -1},
        {"sha256WithRSAEncryption", "1.2.840.113549.1.1.11"}},
    [A_RSA_SHA384] = {"RSA-PKCS1-1.5-SHA-384", "signature", "RSASSA-PKCS1", NULL, NULL, NULL,
        "1.2.840.113549.1.1.12", NO_LEVEL, 0, {-1, -1},
        {"sha384WithRSAEncryption", "1.2.840.113549.1.1.12"}},
    [A_RSA_SHA512] = {"RSA-PKCS1-1.5-SHA-512", "signature", "RSASSA-PKCS1", NULL, NULL, NULL,
        "1.2.840.113549.1.1.13", NO_LEVEL, 0, {-1, -1},
        {"sha512WithRSAEncryption", "1.2.840.113549.1.1.13"}},
    [A_RSA_PSS] = {"RSA-PSS", "signature", "RSASSA-PSS", NULL, NULL, NULL, "1.2.840.113549.1.1.10",
        NO_LEVEL, 0, {-1, -1}, {"rsassaPss", "1.2.840.113549.1.1.10"}},
    [A_ED25519] = {"Ed25519", "signature", "EdDSA", "other/Ed25519", NULL, NULL, "1.3.101.112",
        128, 0, {-1, -1}, {"ED25519", "1.3.101.112"}},
    [A_ED448] = {"Ed448", "signature", "EdDSA", "other/Ed448", NULL, NULL, "1.3.101.113",
        224, 0, {-1, -1}, {"ED448", "1.3.101.113"}},
    [A_MLDSA44] = {"ML-DSA-44", "signature", "ML-DSA", NULL, "44", NULL, "2.16.840.1.101.3.4.3.17",
        NO_LEVEL, 2, {-1, -1}, {"ML-DSA-44", "2.16.840.1.101.3.4.3.17"}},
    [A_MLDSA65] = {"ML-DSA-65", "signature", "ML-DSA", NULL, "65", NULL, "2.16.840.1.101.3.4.3.18",
        NO_LEVEL, 3, {-1, -1}, {"ML-DSA-65", "2.16.840.1.101.3.4.3.18"}},
    [A_MLDSA87] = {"ML-DSA-87", "signature", "ML-DSA", NULL, "87", NULL, "2.16.840.1.101.3.4.3.19",
        NO_LEVEL, 5, {-1, -1}, {"ML-DSA-87", "2.16.840.1.101.3.4.3.19"}},
    /* Certificate keys on the NIST curves: ECDSA keys (id-ecPublicKey). */
    [A_ECDSA_P256] = {"ECDSA-P-256", "signature", "ECDSA", "nist/P-256", NULL, NULL,
        "1.2.840.10045.2.1", 128, 0, {-1, -1}, {"prime256v1", "P-256"}},
    [A_ECDSA_P384] = {"ECDSA-P-384", "signature", "ECDSA", "nist/P-384", NULL, NULL,
        "1.2.840.10045.2.1", 192, 0, {-1, -1}, {"secp384r1", "P-384"}},
    [A_ECDSA_P521] = {"ECDSA-P-521", "signature", "ECDSA", "nist/P-521", NULL, NULL,
        "1.2.840.10045.2.1", 256, 0, {-1, -1}, {"secp521r1", "P-521"}},
};
/* clang-format on */

/* The algorithm of a TLS group, -1 if pqtls does not know it. */
static int group_alg(uint16_t g)
{
    switch (g) {
    case PQT_GROUP_SECP256R1:
        return A_P256;
    case PQT_GROUP_SECP384R1:
        return A_P384;
    case PQT_GROUP_SECP521R1:
        return A_P521;
    case PQT_GROUP_X25519:
        return A_X25519;
    case PQT_GROUP_X448:
        return A_X448;
    case PQT_GROUP_FFDHE2048:
        return A_FFDHE2048;
    case PQT_GROUP_FFDHE3072:
        return A_FFDHE3072;
    case PQT_GROUP_FFDHE4096:
        return A_FFDHE4096;
    case PQT_GROUP_FFDHE6144:
        return A_FFDHE6144;
    case PQT_GROUP_FFDHE8192:
        return A_FFDHE8192;
    case PQT_GROUP_MLKEM512:
        return A_MLKEM512;
    case PQT_GROUP_MLKEM768:
        return A_MLKEM768;
    case PQT_GROUP_MLKEM1024:
        return A_MLKEM1024;
    case PQT_GROUP_SECP256R1MLKEM768:
        return A_P256MLKEM768;
    case PQT_GROUP_X25519MLKEM768:
        return A_X25519MLKEM768;
    case PQT_GROUP_SECP384R1MLKEM1024:
        return A_P384MLKEM1024;
    case PQT_GROUP_X25519KYBER768DRAFT00:
        return A_X25519KYBER768;
    case PQT_GROUP_SECP256R1KYBER768DRAFT00:
        return A_P256KYBER768;
    default:
        return -1;
    }
}

/* The cipher suites the probes offer (src/scan/probe.c: the three of TLS
 * 1.3, and for TLS 1.2 ECDHE and RSA key transport with AES-GCM and
 * ChaCha20-Poly1305), with their bulk cipher and hash; the key exchange of
 * a TLS 1.2 suite is the group, its authentication the certificate. */
static const struct {
    uint16_t code;
    const char *name; /* IANA */
    int bulk, hash;
} suites[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256", A_AES128GCM, A_SHA256},
    {0x1302, "TLS_AES_256_GCM_SHA384", A_AES256GCM, A_SHA384},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256", A_CHACHA20POLY1305, A_SHA256},
    {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", A_AES128GCM, A_SHA256},
    {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", A_AES128GCM, A_SHA256},
    {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", A_AES256GCM, A_SHA384},
    {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", A_AES256GCM, A_SHA384},
    {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", A_CHACHA20POLY1305, A_SHA256},
    {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", A_CHACHA20POLY1305, A_SHA256},
    {0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", A_AES128GCM, A_SHA256},
    {0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", A_AES256GCM, A_SHA384},
};

/* The suite's table row, or -1 (then it is named "0x...." with no
 * algorithms). */
static int suite_row(uint16_t code)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        if (suites[i].code == code) {
            return (int)i;
        }
    }
    return -1;
}

/* ---- algorithms learnt from certificates ----------------------------------- */

/* Names a certificate may bring that the table does not have (an RSA key
 * size, a signature algorithm by OID): kept by name, at most this many;
 * past it such an algorithm is only a property of its certificate. */
#define CBOM_DYN_MAX 64

typedef struct {
    char name[48];
    char param[12]; /* RSA key size */
    char oid[48];
    int classical;
} cbom_dyn;

/* SP 800-57 Part 1 Table 2 for RSA moduli. */
static int rsa_level(int bits)
{
    return bits >= 15360 ? 256 : bits >= 7680 ? 192 : bits >= 3072 ? 128 : bits >= 2048 ? 112 : 80;
}

static int is_oid(const char *s)
{
    if (*s == 0) {
        return 0;
    }
    for (; *s; s++) {
        if ((*s < '0' || *s > '9') && *s != '.') {
            return 0;
        }
    }
    return 1;
}

/* ---- per-target records ------------------------------------------------------ */

typedef struct {
    uint8_t outcome, verified, retried, broken;
    uint16_t group, version, cipher;
    int16_t alert;
} cbom_probe;

/* The numbers of a target; its strings follow in the file. */
typedef struct {
    uint64_t index;
    int32_t proto, starttls, stage, cert_key_bits, dup;
    uint32_t flags, probes_run, ms, line, cert_seen;
    uint16_t verify_scheme, port;
    cbom_probe probes[PQT_PROBE_COUNT];
} cbom_fixed;

typedef struct {
    cbom_fixed n;
    char name[2 * PQT_SCAN_HOST_MAX + 16];
    char address[64];
    char sni[PQT_SCAN_HOST_MAX + 1];
    char error[160];
    char detail[200];
    char next_step[256];
    char key_alg[24], key_curve[24], sig_alg[48];
    char probe_error[PQT_PROBE_COUNT][40];
} cbom_rec;

#define CBOM_SUITES_MAX 8
#define CBOM_GROUPS_MAX 8

/* What a target's probes established: each cipher suite negotiated with
 * the groups negotiated beside it, the highest version, the algorithms. */
typedef struct {
    unsigned n_suites;
    struct {
        uint16_t suite;
        unsigned n_groups;
        uint16_t groups[CBOM_GROUPS_MAX];
    } suites[CBOM_SUITES_MAX];
    uint16_t version;
    uint8_t uses[A_COUNT]; /* the protocol asset depends on these directly */
    int sig_alg, key_alg;  /* the certificate's: index into algs or A_COUNT + dyn, or -1 */
} cbom_facts;

struct pqt_scan_cbom {
    FILE *f;
    FILE *recs;
    int64_t started;
    unsigned long count;
    int err;
    uint8_t used[A_COUNT]; /* in the BOM, parts of combiners included */
    cbom_dyn dyn[CBOM_DYN_MAX];
    unsigned n_dyn;
    uint64_t *names; /* open-addressed set of FNV-1a hashes of target names (0: empty) */
    size_t names_cap, names_len;
};

/* A probe's exchange took place: a ServerHello with no error (TLS 1.3
 * verified or not: the TLS 1.2 and 0x6399 exchanges are never finished by
 * the scanner, yet the server selected them; TLS 1.2 RSA key transport
 * has a suite and no group), or an HRR continued to a verified exchange.
 * A malformed or broken answer negotiated nothing. */
static int negotiated(const cbom_rec *r, int i)
{
    const cbom_probe *p = &r->n.probes[i];
    if (!((r->n.probes_run >> i) & 1) || (p->group == 0 && p->cipher == 0) || p->broken ||
        r->probe_error[i][0]) {
        return 0;
    }
    return p->outcome == PQT_OUTCOME_SERVER_HELLO ||
           (p->outcome == PQT_OUTCOME_HRR && p->retried && p->verified);
}

static int dyn_find(const pqt_scan_cbom *c, const char *name)
{
    for (unsigned i = 0; i < c->n_dyn; i++) {
        if (strcmp(c->dyn[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* d's index (A_COUNT + its place among the learnt names); add = 1 learns
 * it while there is room. -1 when it is not known. */
static int dyn_index(pqt_scan_cbom *c, const cbom_dyn *d, int add)
{
    int i = dyn_find(c, d->name);
    if (i < 0 && add && c->n_dyn < CBOM_DYN_MAX) {
        c->dyn[c->n_dyn] = *d;
        i = (int)c->n_dyn++;
    }
    return i < 0 ? -1 : A_COUNT + i;
}

/* The first of algs[first..last] that s names (either spelling), or -1. */
static int alg_match(const char *s, int first, int last)
{
    for (int a = first; a <= last; a++) {
        if (strcmp(s, algs[a].match[0]) == 0 || strcmp(s, algs[a].match[1]) == 0) {
            return a;
        }
    }
    return -1;
}

/* An algorithm known only by the name the certificate gave (its OID when
 * the name is one), with no classical level. */
static void dyn_unknown(cbom_dyn *d, const char *name)
{
    snprintf(d->name, sizeof(d->name), "%s", name);
    if (is_oid(name)) {
        snprintf(d->oid, sizeof(d->oid), "%s", name);
    }
    d->classical = NO_LEVEL;
}

/* The certificate's key algorithm; add = 1 learns a new name. */
static int key_alg_of(pqt_scan_cbom *c, const cbom_rec *r, int add)
{
    cbom_dyn d;
    memset(&d, 0, sizeof(d));
    if (strcmp(r->key_alg, "EC") == 0) {
        int a = alg_match(r->key_curve, A_ECDSA_P256, A_ECDSA_P521);
        if (a >= 0) {
            return a;
        }
        snprintf(d.name, sizeof(d.name), "EC-%.40s", r->key_curve[0] ? r->key_curve : "unknown");
        snprintf(d.oid, sizeof(d.oid), "1.2.840.10045.2.1");
        d.classical = NO_LEVEL;
    } else if (strcmp(r->key_alg, "RSA") == 0) {
        snprintf(d.name, sizeof(d.name), "RSA-%d", (int)r->n.cert_key_bits);
        snprintf(d.param, sizeof(d.param), "%d", (int)r->n.cert_key_bits);
        snprintf(d.oid, sizeof(d.oid), "1.2.840.113549.1.1.1"); /* rsaEncryption */
        d.classical = rsa_level(r->n.cert_key_bits);
    } else {
        int a = alg_match(r->key_alg, A_ED25519, A_MLDSA87);
        if (a >= 0) {
            return a;
        }
        if (r->key_alg[0] == 0) {
            return -1;
        }
        dyn_unknown(&d, r->key_alg);
    }
    return dyn_index(c, &d, add);
}

/* The algorithm of the certificate's own signature. */
static int sig_alg_of(pqt_scan_cbom *c, const cbom_rec *r, int add)
{
    cbom_dyn d;
    int a = alg_match(r->sig_alg, A_ECDSA_SHA256, A_MLDSA87);
    if (a >= 0) {
        return a;
    }
    if (r->sig_alg[0] == 0) {
        return -1;
    }
    memset(&d, 0, sizeof(d));
    dyn_unknown(&d, r->sig_alg);
    return dyn_index(c, &d, add);
}

static void facts_of(pqt_scan_cbom *c, const cbom_rec *r, cbom_facts *x, int add)
{
    memset(x, 0, sizeof(*x));
    x->sig_alg = x->key_alg = -1;
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        if (!negotiated(r, i)) {
            continue;
        }
        const cbom_probe *p = &r->n.probes[i];
        int g = group_alg(p->group), row;
        if (p->version > x->version) {
            x->version = p->version;
        }
        if (g >= 0) {
            x->uses[g] = 1;
        }
        if (p->cipher == 0) {
            continue;
        }
        if ((row = suite_row(p->cipher)) >= 0) {
            x->uses[suites[row].bulk] = 1;
            x->uses[suites[row].hash] = 1;
        }
        unsigned s = 0;
        while (s < x->n_suites && x->suites[s].suite != p->cipher) {
            s++;
        }
        if (s == x->n_suites) {
            if (s == CBOM_SUITES_MAX) {
                continue;
            }
            x->suites[s].suite = p->cipher;
            x->n_suites++;
        }
        unsigned k = 0;
        while (k < x->suites[s].n_groups && x->suites[s].groups[k] != p->group) {
            k++;
        }
        if (p->group != 0 && k == x->suites[s].n_groups && k < CBOM_GROUPS_MAX) {
            x->suites[s].groups[k] = p->group;
            x->suites[s].n_groups++;
        }
    }
    if (r->n.cert_seen) {
        x->sig_alg = sig_alg_of(c, r, add);
        x->key_alg = key_alg_of(c, r, add);
    }
}

static void mark_used(pqt_scan_cbom *c, int a)
{
    if (a >= 0 && a < A_COUNT) {
        c->used[a] = 1;
        for (int k = 0; k < 2; k++) {
            if (algs[a].part[k] >= 0) {
                c->used[algs[a].part[k]] = 1;
            }
        }
    }
}

/* ---- the record file ------------------------------------------------------- */

static void put_str(FILE *f, const char *s)
{
    fputs(s, f);
    fputc(0, f);
}

/* Read a NUL-terminated string of at most cap - 1 bytes; -1 on a short or
 * over-long one (the file is ours, but a read is still bounded). */
static int get_str(FILE *f, char *buf, size_t cap)
{
    size_t n = 0;
    int ch;
    while ((ch = getc(f)) != EOF) {
        if (n + 1 >= cap && ch != 0) {
            return -1;
        }
        buf[n++] = (char)ch;
        if (ch == 0) {
            return 0;
        }
    }
    return -1;
}

static void rec_write(FILE *f, const cbom_rec *r)
{
    fwrite(&r->n, sizeof(r->n), 1, f);
    put_str(f, r->name);
    put_str(f, r->address);
    put_str(f, r->sni);
    put_str(f, r->error);
    put_str(f, r->detail);
    put_str(f, r->next_step);
    put_str(f, r->key_alg);
    put_str(f, r->key_curve);
    put_str(f, r->sig_alg);
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        put_str(f, r->probe_error[i]);
    }
}

/* 1 read, 0 at the end, -1 on a damaged file. */
static int rec_read(FILE *f, cbom_rec *r)
{
    size_t got = fread(&r->n, 1, sizeof(r->n), f);
    if (got == 0 && feof(f)) {
        return 0;
    }
    if (got != sizeof(r->n) || get_str(f, r->name, sizeof(r->name)) != 0 ||
        get_str(f, r->address, sizeof(r->address)) != 0 ||
        get_str(f, r->sni, sizeof(r->sni)) != 0 || get_str(f, r->error, sizeof(r->error)) != 0 ||
        get_str(f, r->detail, sizeof(r->detail)) != 0 ||
        get_str(f, r->next_step, sizeof(r->next_step)) != 0 ||
        get_str(f, r->key_alg, sizeof(r->key_alg)) != 0 ||
        get_str(f, r->key_curve, sizeof(r->key_curve)) != 0 ||
        get_str(f, r->sig_alg, sizeof(r->sig_alg)) != 0) {
        return -1;
    }
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        if (get_str(f, r->probe_error[i], sizeof(r->probe_error[i])) != 0) {
            return -1;
        }
    }
    return 1;
}

/* ---- target names ------------------------------------------------------------ */

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    }
    return h != 0 ? h : 1;
}

/* 1 if the name was seen before (its bom-refs then take "#index"), 0 if
 * new, -1 out of memory. A hash collision only adds a needless suffix. */
static int name_seen(pqt_scan_cbom *c, const char *name)
{
    uint64_t h = fnv1a64(name);
    if (2 * (c->names_len + 1) > c->names_cap) {
        size_t cap = c->names_cap ? 2 * c->names_cap : 1024;
        uint64_t *t = calloc(cap, sizeof(*t));
        if (t == NULL) {
            return -1;
        }
        for (size_t i = 0; i < c->names_cap; i++) {
            if (c->names[i] != 0) {
                size_t j = (size_t)(c->names[i] & (cap - 1));
                while (t[j] != 0) {
                    j = (j + 1) & (cap - 1);
                }
                t[j] = c->names[i];
            }
        }
        free(c->names);
        c->names = t;
        c->names_cap = cap;
    }
    size_t j = (size_t)(h & (c->names_cap - 1));
    while (c->names[j] != 0) {
        if (c->names[j] == h) {
            return 1;
        }
        j = (j + 1) & (c->names_cap - 1);
    }
    c->names[j] = h;
    c->names_len++;
    return 0;
}

/* ---- the writer --------------------------------------------------------------- */

void pqt_scan_cbom_set_started(pqt_scan_cbom *c, int64_t scan_started)
{
    if (c != NULL && scan_started != 0) {
        c->started = scan_started;
    }
}

int pqt_scan_cbom_open(pqt_scan_cbom **out, FILE *f, int64_t scan_started)
{
    pqt_scan_cbom *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (c == NULL) {
        return PQT_ERR_NOMEM;
    }
    c->recs = tmpfile();
    if (c->recs == NULL) {
        free(c);
        return PQT_ERR_IO;
    }
    c->f = f;
    c->started = scan_started != 0 ? scan_started : (int64_t)time(NULL);
    *out = c;
    return 0;
}

int pqt_scan_cbom_add(pqt_scan_cbom *c, const pqt_scan_result *r)
{
    cbom_rec *x = calloc(1, sizeof(*x));
    cbom_facts facts;
    if (x == NULL) {
        c->err = PQT_ERR_NOMEM;
        return c->err;
    }
    x->n.index = r->target.index;
    x->n.proto = r->target.proto;
    x->n.starttls = r->target.starttls;
    x->n.port = r->target.port;
    x->n.line = r->target.line;
    x->n.stage = r->stage;
    x->n.flags = r->flags;
    x->n.probes_run = r->probes_run;
    x->n.ms = r->ms;
    x->n.cert_seen = (uint32_t)r->cert.seen;
    x->n.cert_key_bits = r->cert.key_bits;
    x->n.verify_scheme = r->cert.verify_scheme;
    snprintf(x->name, sizeof(x->name), "%s", r->name);
    snprintf(x->address, sizeof(x->address), "%s", r->address);
    snprintf(x->sni, sizeof(x->sni), "%s", r->target.sni);
    snprintf(x->error, sizeof(x->error), "%s", r->error);
    snprintf(x->detail, sizeof(x->detail), "%s", r->detail);
    snprintf(x->next_step, sizeof(x->next_step), "%s", pqt_scan_next_step(r, NULL));
    if (r->cert.seen) {
        snprintf(x->key_alg, sizeof(x->key_alg), "%s", r->cert.key_alg);
        snprintf(x->key_curve, sizeof(x->key_curve), "%s", r->cert.key_curve);
        snprintf(x->sig_alg, sizeof(x->sig_alg), "%s", r->cert.sig_alg);
    }
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        const pqt_probe_result *p = &r->probes[i];
        x->n.probes[i] = (cbom_probe){(uint8_t)p->outcome,
                                      (uint8_t)(p->verified != 0),
                                      (uint8_t)(p->retried != 0),
                                      (uint8_t)(p->broken != 0),
                                      p->group,
                                      p->version,
                                      p->cipher,
                                      (int16_t)p->alert};
        snprintf(x->probe_error[i], sizeof(x->probe_error[i]), "%s",
                 p->error != NULL ? p->error : "");
    }
    int seen = name_seen(c, x->name);
    if (seen < 0) {
        c->err = PQT_ERR_NOMEM;
    }
    x->n.dup = seen > 0;
    facts_of(c, x, &facts, 1);
    for (int a = 0; a < A_COUNT; a++) {
        if (facts.uses[a]) {
            mark_used(c, a);
        }
    }
    mark_used(c, facts.sig_alg);
    mark_used(c, facts.key_alg);
    rec_write(c->recs, x);
    free(x);
    c->count++;
    if (ferror(c->recs) && c->err == 0) {
        c->err = PQT_ERR_IO;
    }
    return c->err;
}

/* bom-refs: "<kind>/<target name>" ("#<index>" after a name listed
 * before), "algorithm/<name>". */
static void ref_of(const cbom_rec *r, const char *kind, char *buf, size_t cap)
{
    if (r->n.dup) {
        snprintf(buf, cap, "%s/%s#%llu", kind, r->name, (unsigned long long)r->n.index);
    } else {
        snprintf(buf, cap, "%s/%s", kind, r->name);
    }
}

static const char *alg_name(const pqt_scan_cbom *c, int a)
{
    return a < A_COUNT ? algs[a].name : c->dyn[a - A_COUNT].name;
}

static void alg_ref(const pqt_scan_cbom *c, int a, char *buf, size_t cap)
{
    snprintf(buf, cap, "algorithm/%s", alg_name(c, a));
}

static void prop(pqt_json *j, const char *name, const char *value)
{
    pqt_json_object_begin(j);
    pqt_json_kv_string(j, "name", name);
    pqt_json_kv_string(j, "value", value);
    pqt_json_object_end(j);
}

static void prop_uint(pqt_json *j, const char *name, unsigned long long v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%llu", v);
    prop(j, name, buf);
}

static void iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *group_text(uint16_t g, char buf[8])
{
    const char *n = pqt_group_name(g);
    if (n != NULL) {
        return n;
    }
    snprintf(buf, 8, "0x%04x", g);
    return buf;
}

/* "outcome=hrr group=X25519MLKEM768 version=TLSv1.3 verified=true
 * retried=true", the probe's JSON Lines fields in one line. */
static void probe_summary(const cbom_rec *r, int i, char *buf, size_t cap)
{
    const cbom_probe *p = &r->n.probes[i];
    char g[8];
    size_t n = (size_t)snprintf(buf, cap, "outcome=%s", pqt_probe_outcome_name(p->outcome));
    if (p->group != 0 && n < cap) {
        n += (size_t)snprintf(buf + n, cap - n, " group=%s", group_text(p->group, g));
    }
    if (p->version != 0 && pqt_tls_version_name(p->version) != NULL && n < cap) {
        n += (size_t)snprintf(buf + n, cap - n, " version=%s", pqt_tls_version_name(p->version));
    }
    if (p->cipher != 0 && n < cap) {
        int row = suite_row(p->cipher);
        n += row >= 0 ? (size_t)snprintf(buf + n, cap - n, " cipher=%s", suites[row].name)
                      : (size_t)snprintf(buf + n, cap - n, " cipher=0x%04x", p->cipher);
    }
    if (p->alert >= 0 && p->outcome == PQT_OUTCOME_ALERT && n < cap) {
        const char *a = pqt_tls_alert_name(p->alert);
        n += a != NULL ? (size_t)snprintf(buf + n, cap - n, " alert=%s", a)
                       : (size_t)snprintf(buf + n, cap - n, " alert=%d", p->alert);
    }
    if (n < cap) {
        n += (size_t)snprintf(buf + n, cap - n, " verified=%s", p->verified ? "true" : "false");
    }
    if (p->outcome == PQT_OUTCOME_HRR && n < cap) {
        n += (size_t)snprintf(buf + n, cap - n, " retried=%s", p->retried ? "true" : "false");
    }
    if (r->probe_error[i][0] && n < cap) {
        snprintf(buf + n, cap - n, " error=%s", r->probe_error[i]);
    }
}

/* TLS 1.x as protocolProperties.version spells it ("1.3"). */
static const char *version_text(uint16_t v)
{
    switch (v) {
    case 0x0304:
        return "1.3";
    case 0x0303:
        return "1.2";
    case 0x0302:
        return "1.1";
    case 0x0301:
        return "1.0";
    default:
        return NULL;
    }
}

/* Opens a component {"type": "cryptographic-asset", "bom-ref": ref, "name":
 * name, "cryptoProperties": {"assetType": asset_type, props_key: {...;
 * the caller writes the properties and closes the two objects it left open
 * inside the component. */
static void asset_begin(pqt_json *j, const char *ref, const char *name, const char *asset_type,
                        const char *props_key)
{
    pqt_json_object_begin(j);
    pqt_json_kv_string(j, "type", "cryptographic-asset");
    pqt_json_kv_string(j, "bom-ref", ref);
    pqt_json_kv_string(j, "name", name);
    pqt_json_key(j, "cryptoProperties");
    pqt_json_object_begin(j);
    pqt_json_kv_string(j, "assetType", asset_type);
    pqt_json_key(j, props_key);
    pqt_json_object_begin(j);
}

/* One entry of relatedCryptographicAssets: {"type": type, "ref": ref}. */
static void related_asset(pqt_json *j, const char *type, const char *ref)
{
    pqt_json_object_begin(j);
    pqt_json_kv_string(j, "type", type);
    pqt_json_kv_string(j, "ref", ref);
    pqt_json_object_end(j);
}

static void write_protocol(pqt_scan_cbom *c, pqt_json *j, const cbom_rec *r, const cbom_facts *x)
{
    char ref[600], buf[600];
    ref_of(r, "tls", ref, sizeof(ref));
    asset_begin(j, ref, r->name, "protocol", "protocolProperties");
    pqt_json_kv_string(j, "type", "tls");
    if (version_text(x->version) != NULL) {
        pqt_json_kv_string(j, "version", version_text(x->version));
    }
    pqt_json_key(j, "cipherSuites");
    pqt_json_array_begin(j);
    for (unsigned s = 0; s < x->n_suites; s++) {
        uint16_t suite = x->suites[s].suite;
        int row = suite_row(suite);
        char id[8], g[8];
        pqt_json_object_begin(j);
        if (row >= 0) {
            pqt_json_kv_string(j, "name", suites[row].name);
        } else {
            snprintf(id, sizeof(id), "0x%04x", suite);
            pqt_json_kv_string(j, "name", id);
        }
        pqt_json_key(j, "algorithms");
        pqt_json_array_begin(j);
        if (row >= 0) {
            alg_ref(c, suites[row].bulk, buf, sizeof(buf));
            pqt_json_string(j, buf);
            alg_ref(c, suites[row].hash, buf, sizeof(buf));
            pqt_json_string(j, buf);
        }
        pqt_json_array_end(j);
        /* The two bytes of the code point, as the schema's example. */
        pqt_json_key(j, "identifiers");
        pqt_json_array_begin(j);
        snprintf(id, sizeof(id), "0x%02X", suite >> 8);
        pqt_json_string(j, id);
        snprintf(id, sizeof(id), "0x%02X", suite & 0xff);
        pqt_json_string(j, id);
        pqt_json_array_end(j);
        pqt_json_key(j, "tlsGroups");
        pqt_json_array_begin(j);
        for (unsigned k = 0; k < x->suites[s].n_groups; k++) {
            pqt_json_string(j, group_text(x->suites[s].groups[k], g));
        }
        pqt_json_array_end(j);
        if (r->n.verify_scheme != 0) {
            pqt_json_key(j, "tlsSignatureSchemes");
            pqt_json_array_begin(j);
            const char *vs = pqt_tls_sigscheme_name(r->n.verify_scheme);
            if (vs == NULL) {
                snprintf(id, sizeof(id), "0x%04x", r->n.verify_scheme);
                vs = id;
            }
            pqt_json_string(j, vs);
            pqt_json_array_end(j);
        }
        pqt_json_object_end(j);
    }
    pqt_json_array_end(j);
    pqt_json_key(j, "relatedCryptographicAssets");
    pqt_json_array_begin(j);
    for (int a = 0; a < A_COUNT; a++) {
        if (x->uses[a]) {
            alg_ref(c, a, buf, sizeof(buf));
            related_asset(j, "algorithm", buf);
        }
    }
    if (r->n.cert_seen) {
        ref_of(r, "certificate", buf, sizeof(buf));
        related_asset(j, "certificate", buf);
    }
    pqt_json_array_end(j);
    pqt_json_object_end(j); /* protocolProperties */
    pqt_json_object_end(j); /* cryptoProperties */

    pqt_json_key(j, "properties");
    pqt_json_array_begin(j);
    const pqt_scan_proto_info *pi = pqt_scan_proto_get(r->n.proto);
    prop(j, "pqtls:target", r->name);
    prop_uint(j, "pqtls:index", r->n.index);
    prop(j, "pqtls:protocol", pi != NULL ? pi->scheme : "tls");
    if (pqt_starttls_name(r->n.starttls) != NULL) {
        prop(j, "pqtls:starttls", pqt_starttls_name(r->n.starttls));
    }
    if (r->address[0]) {
        prop(j, "pqtls:address", r->address);
    }
    if (r->sni[0]) {
        prop(j, "pqtls:sni", r->sni);
    }
    if (r->n.line > 0) {
        prop_uint(j, "pqtls:line", r->n.line);
    }
    prop(j, "pqtls:stage", pqt_scan_stage_name(r->n.stage));
    for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
        if ((r->n.flags >> b) & 1) {
            prop(j, "pqtls:flag", pqt_scan_flag_name(b));
        }
    }
    prop(j, "pqtls:next-step", r->next_step);
    if (r->error[0]) {
        prop(j, "pqtls:error", r->error);
    }
    if (r->detail[0]) {
        prop(j, "pqtls:detail", r->detail);
    }
    prop_uint(j, "pqtls:ms", r->n.ms);
    /* The three questions of docs/scan.md: what a current browser gets,
     * what the server picks when the hybrid costs a round trip, and what
     * it asked for by HelloRetryRequest. */
    char g[8];
    if (negotiated(r, PQT_PROBE_BROWSER)) {
        prop(j, "pqtls:group.negotiated", group_text(r->n.probes[PQT_PROBE_BROWSER].group, g));
    }
    const cbom_probe *h = &r->n.probes[PQT_PROBE_HRR_PREFERENCE];
    if (negotiated(r, PQT_PROBE_HRR_PREFERENCE)) {
        prop(j, "pqtls:group.preferred", group_text(h->group, g));
    }
    if (((r->n.probes_run >> PQT_PROBE_HRR_PREFERENCE) & 1) && h->outcome == PQT_OUTCOME_HRR &&
        h->group != 0) {
        prop(j, "pqtls:hrr.group", group_text(h->group, g));
        prop(j, "pqtls:hrr.verified", h->verified ? "true" : "false");
    }
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        if ((r->n.probes_run >> i) & 1) {
            char name[48];
            snprintf(name, sizeof(name), "pqtls:probe.%s", pqt_probe_name(i));
            probe_summary(r, i, buf, sizeof(buf));
            prop(j, name, buf);
        }
    }
    pqt_json_array_end(j);
    pqt_json_object_end(j);
}

static void write_certificate(pqt_scan_cbom *c, pqt_json *j, const cbom_rec *r, const cbom_facts *x)
{
    char ref[600], buf[600];
    /* The certificate... */
    ref_of(r, "certificate", ref, sizeof(ref));
    snprintf(buf, sizeof(buf), "certificate of %s", r->name);
    asset_begin(j, ref, buf, "certificate", "certificateProperties");
    pqt_json_kv_string(j, "certificateFormat", "X.509");
    pqt_json_key(j, "relatedCryptographicAssets");
    pqt_json_array_begin(j);
    if (x->sig_alg >= 0) {
        alg_ref(c, x->sig_alg, buf, sizeof(buf));
        related_asset(j, "algorithm", buf);
    }
    ref_of(r, "public-key", buf, sizeof(buf));
    related_asset(j, "publicKey", buf);
    pqt_json_array_end(j);
    pqt_json_object_end(j);
    pqt_json_object_end(j);
    pqt_json_key(j, "properties");
    pqt_json_array_begin(j);
    prop(j, "pqtls:certificate.signature", r->sig_alg);
    pqt_json_array_end(j);
    pqt_json_object_end(j);

    /* ...and its public key. */
    ref_of(r, "public-key", ref, sizeof(ref));
    snprintf(buf, sizeof(buf), "public key of %s", r->name);
    asset_begin(j, ref, buf, "related-crypto-material", "relatedCryptoMaterialProperties");
    pqt_json_kv_string(j, "type", "public-key");
    if (r->n.cert_key_bits > 0) {
        pqt_json_kv_int(j, "size", r->n.cert_key_bits);
    }
    if (x->key_alg >= 0) {
        pqt_json_key(j, "relatedCryptographicAssets");
        pqt_json_array_begin(j);
        alg_ref(c, x->key_alg, buf, sizeof(buf));
        related_asset(j, "algorithm", buf);
        pqt_json_array_end(j);
    }
    pqt_json_object_end(j);
    pqt_json_object_end(j);
    pqt_json_key(j, "properties");
    pqt_json_array_begin(j);
    prop(j, "pqtls:certificate.key", r->key_alg);
    if (r->key_curve[0]) {
        prop(j, "pqtls:certificate.curve", r->key_curve);
    }
    pqt_json_array_end(j);
    pqt_json_object_end(j);
}

static const char *const functions_kem[] = {"keygen", "encapsulate", "decapsulate", NULL};
static const char *const functions_agree[] = {"keygen", "keyderive", NULL};
static const char *const functions_sig[] = {"sign", "verify", NULL};
static const char *const functions_ae[] = {"encrypt", "decrypt", NULL};
static const char *const functions_hash[] = {"digest", NULL};

static const char *const *functions_of(const char *primitive)
{
    /* A TLS hybrid group is a KEM (RFC 10024: the client generates, the
     * server encapsulates to its share). */
    if (strcmp(primitive, "kem") == 0 || strcmp(primitive, "combiner") == 0) {
        return functions_kem;
    }
    if (strcmp(primitive, "key-agree") == 0) {
        return functions_agree;
    }
    if (strcmp(primitive, "signature") == 0) {
        return functions_sig;
    }
    if (strcmp(primitive, "ae") == 0 || strcmp(primitive, "block-cipher") == 0) {
        return functions_ae;
    }
    if (strcmp(primitive, "hash") == 0) {
        return functions_hash;
    }
    return NULL;
}

static void write_algorithm(pqt_scan_cbom *c, pqt_json *j, int a)
{
    char ref[96];
    const cbom_alg *t = a < A_COUNT ? &algs[a] : NULL;
    const cbom_dyn *d = a < A_COUNT ? NULL : &c->dyn[a - A_COUNT];
    alg_ref(c, a, ref, sizeof(ref));
    asset_begin(j, ref, alg_name(c, a), "algorithm", "algorithmProperties");
    const char *primitive = t != NULL ? t->primitive : "signature";
    pqt_json_kv_string(j, "primitive", primitive);
    if (t != NULL && t->family != NULL) {
        pqt_json_kv_string(j, "algorithmFamily", t->family);
    }
    const char *param = t != NULL ? t->param : (d->param[0] ? d->param : NULL);
    if (param != NULL) {
        pqt_json_kv_string(j, "parameterSetIdentifier", param);
    }
    if (t != NULL && t->curve != NULL) {
        pqt_json_kv_string(j, "ellipticCurve", t->curve);
    }
    if (t != NULL && t->mode != NULL) {
        pqt_json_kv_string(j, "mode", t->mode);
    }
    const char *const *fn = functions_of(primitive);
    if (fn != NULL) {
        pqt_json_key(j, "cryptoFunctions");
        pqt_json_array_begin(j);
        for (; *fn != NULL; fn++) {
            pqt_json_string(j, *fn);
        }
        pqt_json_array_end(j);
    }
    int classical = t != NULL ? t->classical : d->classical;
    if (classical != NO_LEVEL) {
        pqt_json_kv_int(j, "classicalSecurityLevel", classical);
    }
    if (t != NULL) {
        pqt_json_kv_int(j, "nistQuantumSecurityLevel", t->nist_pq);
    }
    pqt_json_object_end(j);
    const char *oid = t != NULL ? t->oid : (d->oid[0] ? d->oid : NULL);
    if (oid != NULL) {
        pqt_json_kv_string(j, "oid", oid);
    }
    pqt_json_object_end(j);
    pqt_json_object_end(j);
}

/* {"ref": ref, "dependsOn": [...]}: the graph the protocol, certificate,
 * key and combiner assets hang in; algorithms without parts are listed
 * with no dependencies, as the schema asks of known leaves. */
static void dep_begin(pqt_json *j, const char *ref)
{
    pqt_json_object_begin(j);
    pqt_json_kv_string(j, "ref", ref);
    pqt_json_key(j, "dependsOn");
    pqt_json_array_begin(j);
}

static void dep_end(pqt_json *j)
{
    pqt_json_array_end(j);
    pqt_json_object_end(j);
}

static void write_dependencies(pqt_scan_cbom *c, pqt_json *j, const cbom_rec *r,
                               const cbom_facts *x)
{
    char ref[600], buf[600];
    ref_of(r, "tls", ref, sizeof(ref));
    dep_begin(j, ref);
    for (int a = 0; a < A_COUNT; a++) {
        if (x->uses[a]) {
            alg_ref(c, a, buf, sizeof(buf));
            pqt_json_string(j, buf);
        }
    }
    if (r->n.cert_seen) {
        ref_of(r, "certificate", buf, sizeof(buf));
        pqt_json_string(j, buf);
    }
    dep_end(j);
    if (!r->n.cert_seen) {
        return;
    }
    ref_of(r, "certificate", ref, sizeof(ref));
    dep_begin(j, ref);
    if (x->sig_alg >= 0) {
        alg_ref(c, x->sig_alg, buf, sizeof(buf));
        pqt_json_string(j, buf);
    }
    ref_of(r, "public-key", buf, sizeof(buf));
    pqt_json_string(j, buf);
    dep_end(j);
    ref_of(r, "public-key", ref, sizeof(ref));
    dep_begin(j, ref);
    if (x->key_alg >= 0) {
        alg_ref(c, x->key_alg, buf, sizeof(buf));
        pqt_json_string(j, buf);
    }
    dep_end(j);
}

/* RFC 4122 §4.4: a random (version 4) UUID. */
static int uuid_v4(char out[37])
{
    uint8_t b[16];
    if (pqt_random_bytes(b, sizeof(b)) != 0) {
        return PQT_ERR_IO;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

/* One pass over the records: components (pass 0) or dependencies (1). */
static int records_pass(pqt_scan_cbom *c, pqt_json *j, int pass)
{
    cbom_rec *r = malloc(sizeof(*r));
    cbom_facts x;
    int got = 0;
    if (r == NULL) {
        return PQT_ERR_NOMEM;
    }
    rewind(c->recs);
    while ((got = rec_read(c->recs, r)) == 1) {
        facts_of(c, r, &x, 0);
        if (pass == 0) {
            write_protocol(c, j, r, &x);
            if (r->n.cert_seen) {
                write_certificate(c, j, r, &x);
            }
        } else {
            write_dependencies(c, j, r, &x);
        }
    }
    free(r);
    return got < 0 ? PQT_ERR_IO : 0;
}

void pqt_scan_cbom_discard(pqt_scan_cbom *c)
{
    if (c == NULL) {
        return;
    }
    fclose(c->recs);
    free(c->names);
    free(c);
}

int pqt_scan_cbom_close(pqt_scan_cbom *c)
{
    pqt_json j;
    char serial[48], uuid[37], when[32];
    if (c == NULL) {
        return 0;
    }
    int ret = c->err;
    if (ret == 0 && fflush(c->recs) != 0) {
        ret = PQT_ERR_IO;
    }
    if (ret == 0) {
        ret = uuid_v4(uuid);
    }
    if (ret != 0) {
        goto cleanup;
    }
    snprintf(serial, sizeof(serial), "urn:uuid:%s", uuid);
    pqt_json_init(&j, c->f);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "$schema", "http://cyclonedx.org/schema/bom-1.7.schema.json");
    pqt_json_kv_string(&j, "bomFormat", "CycloneDX");
    pqt_json_kv_string(&j, "specVersion", "1.7");
    pqt_json_kv_string(&j, "serialNumber", serial);
    pqt_json_kv_int(&j, "version", 1);
    pqt_json_key(&j, "metadata");
    pqt_json_object_begin(&j);
    iso_time((int64_t)time(NULL), when);
    pqt_json_kv_string(&j, "timestamp", when);
    /* "discovery": observed through network discovery (CycloneDX's
     * lifecycle phases). */
    pqt_json_key(&j, "lifecycles");
    pqt_json_array_begin(&j);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "phase", "discovery");
    pqt_json_object_end(&j);
    pqt_json_array_end(&j);
    pqt_json_key(&j, "tools");
    pqt_json_object_begin(&j);
    pqt_json_key(&j, "components");
    pqt_json_array_begin(&j);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "type", "application");
    pqt_json_kv_string(&j, "bom-ref", "tool/pqtls");
    pqt_json_kv_string(&j, "name", "pqtls");
    pqt_json_kv_string(&j, "version", PQT_VERSION_STRING);
    pqt_json_kv_string(&j, "description", "pqtls scan: post-quantum readiness of TLS endpoints");
    pqt_json_object_end(&j);
    pqt_json_array_end(&j);
    pqt_json_object_end(&j);
    pqt_json_key(&j, "properties");
    pqt_json_array_begin(&j);
    iso_time(c->started, when);
    prop(&j, "pqtls:scan.started", when);
    prop_uint(&j, "pqtls:scan.targets", c->count);
    prop(&j, "pqtls:scan.schema", PQT_SCAN_SCHEMA);
    pqt_json_array_end(&j);
    pqt_json_object_end(&j);

    pqt_json_key(&j, "components");
    pqt_json_array_begin(&j);
    ret = records_pass(c, &j, 0);
    for (int a = 0; a < A_COUNT + (int)c->n_dyn; a++) {
        if (a >= A_COUNT || c->used[a]) {
            write_algorithm(c, &j, a);
        }
    }
    pqt_json_array_end(&j);

    pqt_json_key(&j, "dependencies");
    pqt_json_array_begin(&j);
    if (ret == 0) {
        ret = records_pass(c, &j, 1);
    }
    for (int a = 0; a < A_COUNT + (int)c->n_dyn; a++) {
        if (a >= A_COUNT || c->used[a]) {
            char ref[96];
            alg_ref(c, a, ref, sizeof(ref));
            dep_begin(&j, ref);
            for (int k = 0; a < A_COUNT && k < 2; k++) {
                if (algs[a].part[k] >= 0) {
                    alg_ref(c, algs[a].part[k], ref, sizeof(ref));
                    pqt_json_string(&j, ref);
                }
            }
            dep_end(&j);
        }
    }
    pqt_json_array_end(&j);
    pqt_json_object_end(&j);
    int jret = pqt_json_end_line(&j);
    if (ret == 0) {
        ret = jret != 0 ? PQT_ERR_IO : 0;
    }
    if (ret == 0 && (ferror(c->f) || fflush(c->f) != 0)) {
        ret = PQT_ERR_IO;
    }
cleanup:
    pqt_scan_cbom_discard(c);
    return ret;
}
