/*
 * Probe sessions: the ClientHello of each probe and a bounded state machine
 * over the server's bytes (include/pqtls/scan.h). No I/O: the engine feeds
 * bytes in, and the fuzz target feeds hostile ones.
 *
 * Bounds: one record (2^14 + 2048 bytes, RFC 8446 §5.2) plus one handshake
 * message of at most PQT_PROBE_MAX_HS bytes are buffered; a server that
 * sends more than PQT_PROBE_MAX_RX bytes in total is cut off.
 */
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/common.h"
#include "pqtls/groups.h"
#include "pqtls/hello.h"
#include "pqtls/names.h"
#include "scan_internal.h"

#define PQT_PROBE_MAX_RECORD (16384 + 2048)
#define PQT_PROBE_MAX_HS (1u << 16)
#define PQT_PROBE_MAX_RX (1u << 20)
#define PQT_PROBE_CH_CAP 4096
/* Past one Ethernet MSS (1460) with room: RFC 7685 padding to this body size. */
#define PQT_PROBE_PAD_TO 1700
#define PQT_PROBE_SPLIT_AT_MSS 1448

#define HS_ENCRYPTED_EXTENSIONS 8
#define HS_CERTIFICATE 11
#define HS_CERTIFICATE_REQUEST 13
#define HS_SERVER_HELLO_DONE 14
#define HS_CERTIFICATE_VERIFY 15
#define HS_FINISHED 20
#define HS_MESSAGE_HASH 254
#define EXT_COOKIE 44
/* Certificates larger than this are parsed but not kept in the cache. */
#define PQT_CERT_CACHE_MAX_DER 16384
#define PQT_CERT_CACHE_SLOTS 8

/* PH_RETRY: a HelloRetryRequest was answered with a second ClientHello,
 * and its ServerHello is awaited. */
enum { PH_HELLO = 0, PH_TLS13 = 1, PH_TLS12 = 2, PH_RETRY = 3 };

typedef struct {
    const char *name;
    uint16_t groups[4];
    size_t n_groups;
    uint16_t shares[2];
    size_t n_shares;
    int tls12;
    int split; /* 0 none, 1 SNI, 2 key share, 3 MSS */
} probe_def;

static const probe_def probe_defs[PQT_PROBE_COUNT] = {
    {"browser",
     {PQT_GROUP_X25519MLKEM768, PQT_GROUP_X25519, PQT_GROUP_SECP256R1, PQT_GROUP_SECP384R1},
     4,
     {PQT_GROUP_X25519MLKEM768, PQT_GROUP_X25519},
     2,
     1,
     0},
    {"x25519mlkem768", {PQT_GROUP_X25519MLKEM768}, 1, {PQT_GROUP_X25519MLKEM768}, 1, 0, 0},
    {"secp256r1mlkem768", {PQT_GROUP_SECP256R1MLKEM768}, 1, {PQT_GROUP_SECP256R1MLKEM768}, 1, 0, 0},
    {"secp384r1mlkem1024",
     {PQT_GROUP_SECP384R1MLKEM1024},
     1,
     {PQT_GROUP_SECP384R1MLKEM1024},
     1,
     0,
     0},
    {"mlkem1024", {PQT_GROUP_MLKEM1024}, 1, {PQT_GROUP_MLKEM1024}, 1, 0, 0},
    {"hrr-preference",
     {PQT_GROUP_X25519MLKEM768, PQT_GROUP_X25519},
     2,
     {PQT_GROUP_X25519},
     1,
     0,
     0},
    {"classical",
     {PQT_GROUP_X25519, PQT_GROUP_SECP256R1, PQT_GROUP_SECP384R1},
     3,
     {PQT_GROUP_X25519},
     1,
     1,
     0},
    {"legacy-kyber",
     {PQT_GROUP_X25519KYBER768DRAFT00},
     1,
     {PQT_GROUP_X25519KYBER768DRAFT00},
     1,
     0,
     0},
    {"split-sni",
     {PQT_GROUP_X25519, PQT_GROUP_SECP256R1, PQT_GROUP_SECP384R1},
     3,
     {PQT_GROUP_X25519},
     1,
     1,
     1},
    {"split-key-share",
     {PQT_GROUP_X25519, PQT_GROUP_SECP256R1, PQT_GROUP_SECP384R1},
     3,
     {PQT_GROUP_X25519},
     1,
     1,
     2},
    {"split-mss",
     {PQT_GROUP_X25519, PQT_GROUP_SECP256R1, PQT_GROUP_SECP384R1},
     3,
     {PQT_GROUP_X25519},
     1,
     1,
     3},
};

static const uint16_t suites13[] = {0x1301, 0x1302, 0x1303};
static const uint16_t suites12[] = {0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C,
                                    0xC030, 0xCCA9, 0xCCA8, 0x009C, 0x009D};
/* RFC 8446 §4.2.3 schemes, with the ML-DSA code points (draft-ietf-tls-mldsa)
 * so that a server with a PQ certificate can pick it. */
static const uint16_t sig_algs[] = {0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805,
                                    0x0806, 0x0401, 0x0501, 0x0601, 0x0904, 0x0905, 0x0906};
static const char *const alpn[] = {"h2", "http/1.1", NULL};

/*
 * Certificate facts by DER. d2i_X509 was the largest single cost of a
 * probe (40% of the scanner's instructions under callgrind): it decodes
 * the public key through the provider decoders. A target's probes all see
 * the same certificate, and so do the names behind one load balancer, so
 * the engine keeps a few recent ones. Certificates are public: comparing
 * them with memcmp leaks nothing.
 */
typedef struct {
    uint64_t hash;
    size_t len;
    uint8_t *der;
    pqt_scan_cert facts;
    uint64_t used;
} cert_slot;

struct pqt_scan_cert_cache {
    cert_slot slot[PQT_CERT_CACHE_SLOTS];
    uint64_t clock;
    uint64_t hits, misses;
};

struct pqt_probe_session {
    int probe;
    const char *const *alpn; /* offered in both ClientHellos */
    pqt_probe_result res;
    pqt_scan_cert cert;
    pqt_scan_cert_cache *cert_cache; /* NULL: parse every certificate */
    int skip_cert;                   /* the caller has this target's certificate facts */
    int done;
    int phase;
    /* What the second ClientHello must repeat (RFC 8446 §4.1.2). */
    uint8_t random[32], session_id[32];
    char sni[PQT_SCAN_HOST_MAX + 1];
    /* HelloRetryRequest continuation: message_hash(ClientHello1) and the
     * HRR itself start the transcript (§4.4.1); retry holds the second
     * ClientHello as a handshake message followed by its record(s). */
    uint16_t hrr_suite;
    uint8_t synthetic[4 + PQT_KS_MAX_HASH];
    size_t synthetic_len;
    uint8_t *hrr_msg;
    size_t hrr_len;
    uint8_t *retry;
    size_t retry_msg_len, retry_rec_len;
    int retry_pending; /* the second ClientHello waits to be sent */
    uint16_t share_groups[2];
    pqt_hybrid_client *kex[2];
    size_t n_shares;
    uint8_t rec[PQT_PROBE_CH_CAP]; /* ClientHello record */
    size_t rec_len, split;
    uint8_t rx[PQT_TLS_RECORD_HEADER + PQT_PROBE_MAX_RECORD];
    size_t rx_len;
    uint8_t *hs; /* the current handshake message, grows to PQT_PROBE_MAX_HS + 4 */
    size_t hs_cap;
    pqt_hs_reasm hsr; /* messages across records (src/tls/record.c) */
    int seen_ee;
    unsigned ccs;
    uint64_t rx_total;
    pqt_record_keys rk;
    size_t pt_high; /* bytes of pt ever written, to wipe */
    uint8_t pt[PQT_PROBE_MAX_RECORD];
};

const char *pqt_probe_name(int id)
{
    return id >= 0 && id < PQT_PROBE_COUNT ? probe_defs[id].name : NULL;
}

int pqt_probe_by_name(const char *name)
{
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        if (strcmp(name, probe_defs[i].name) == 0) {
            return i;
        }
    }
    return -1;
}

const char *pqt_probe_outcome_name(int outcome)
{
    static const char *const names[] = {"not_run",        "server_hello",   "hrr",     "alert",
                                        "reset",          "closed",         "timeout", "malformed",
                                        "connect_failed", "starttls_failed"};
    return outcome >= 0 && outcome <= PQT_OUTCOME_STARTTLS_FAILED ? names[outcome] : "unknown";
}

static void finish(pqt_probe_session *s)
{
    s->done = 1;
    /* The private keys are no longer needed once there is a verdict. */
    for (size_t i = 0; i < s->n_shares; i++) {
        pqt_hybrid_client_free(s->kex[i]);
        s->kex[i] = NULL;
    }
    pqt_ks_wipe(&s->rk, sizeof(s->rk));
}

static void verdict(pqt_probe_session *s, int outcome, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void verdict(pqt_probe_session *s, int outcome, const char *error, const char *fmt, ...)
{
    if (outcome != 0) {
        s->res.outcome = outcome;
    }
    if (error != NULL && s->res.error == NULL) {
        s->res.error = error;
        if (fmt != NULL) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(s->res.detail, sizeof(s->res.detail), fmt, ap);
            va_end(ap);
        }
    }
    finish(s);
}

static void settle(pqt_probe_session *s, int outcome)
{
    if (outcome != 0) {
        s->res.outcome = outcome;
    }
    finish(s);
}

/*
 * A fresh key pair for one key share; nothing secret is reused across
 * probes. (Importing random bytes with EVP_PKEY_new_raw_private_key instead
 * of the library's X25519 generation was measured: under callgrind both
 * cost the same ~0.6 M instructions per key, almost all of it the X25519
 * scalar multiplication, so the plain entry points are kept.)
 */
static int new_share(uint16_t g, pqt_hybrid_client **kex, uint8_t *share, size_t cap, size_t *len)
{
    const pqt_group *gi = pqt_group_by_code(g);
    if (gi != NULL && gi->kind == PQT_GROUP_KIND_EC) {
        return pqt_hybrid_client_new_classical(g, kex, share, cap, len);
    }
    return pqt_hybrid_client_new(g, kex, share, cap, len);
}

/* X25519Kyber768Draft00 (draft-tls-westerbaan-xyber768d00): X25519 first,
 * then a Kyber768 public key, whose encoding an ML-KEM-768 ek shares. We
 * never finish this exchange: accepting the code point is the finding. */
static int legacy_share(uint8_t *share, size_t cap, size_t *len)
{
    uint8_t tmp[1184 + 32];
    size_t n = 0;
    pqt_hybrid_client *c = NULL;
    int ret = new_share(PQT_GROUP_X25519MLKEM768, &c, tmp, sizeof(tmp), &n);
    pqt_hybrid_client_free(c);
    if (ret != 0) {
        return ret;
    }
    if (cap < sizeof(tmp) || n != sizeof(tmp)) {
        return PQT_ERR_INTERNAL;
    }
    memcpy(share, tmp + 1184, 32);
    memcpy(share + 32, tmp, 1184);
    *len = sizeof(tmp);
    return 0;
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    if (m == 0 || m > n) {
        return NULL;
    }
    for (size_t i = 0; i + m <= n; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, m) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

int pqt_probe_session_new(int probe, const char *sni, pqt_probe_session **out)
{
    return pqt_probe_session_new_ex(probe, sni, alpn, out);
}

int pqt_probe_session_new_ex(int probe, const char *sni, const char *const *alpn_list,
                             pqt_probe_session **out)
{
    pqt_probe_session *s = NULL;
    uint8_t shares[2][PQT_HYBRID_MAX_CLIENT_SHARE];
    pqt_key_share ks[2];
    uint8_t random[32], session_id[32];
    int ret;

    *out = NULL;
    if (probe < 0 || probe >= PQT_PROBE_COUNT) {
        return PQT_ERR_ARG;
    }
    const probe_def *d = &probe_defs[probe];
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return PQT_ERR_NOMEM;
    }
    s->probe = probe;
    s->alpn = alpn_list != NULL ? alpn_list : alpn;
    s->res.alert = -1;
    ret = pqt_random_bytes(random, sizeof(random));
    if (ret == 0) {
        ret = pqt_random_bytes(session_id, sizeof(session_id));
    }
    for (size_t i = 0; ret == 0 && i < d->n_shares; i++) {
        uint16_t g = d->shares[i];
        size_t len = 0;
        if (g == PQT_GROUP_X25519KYBER768DRAFT00) {
            ret = legacy_share(shares[i], sizeof(shares[i]), &len);
        } else {
            ret = new_share(g, &s->kex[i], shares[i], sizeof(shares[i]), &len);
        }
        s->share_groups[i] = g;
        s->n_shares = i + 1;
        ks[i].group = g;
        ks[i].share = shares[i];
        ks[i].len = (uint16_t)len;
    }
    if (ret != 0) {
        goto cleanup;
    }
    memcpy(s->random, random, sizeof(random));
    memcpy(s->session_id, session_id, sizeof(session_id));
    if (sni != NULL && sni[0] && strlen(sni) < sizeof(s->sni)) {
        memcpy(s->sni, sni, strlen(sni) + 1);
    }
    pqt_client_hello_spec spec = {
        .sni = s->sni[0] ? s->sni : NULL,
        .cipher_suites = d->tls12 ? suites12 : suites13,
        .n_cipher_suites = d->tls12 ? sizeof(suites12) / 2 : sizeof(suites13) / 2,
        .groups = d->groups,
        .n_groups = d->n_groups,
        .key_shares = ks,
        .n_key_shares = d->n_shares,
        .sig_algs = sig_algs,
        .n_sig_algs = sizeof(sig_algs) / 2,
        .alpn = s->alpn,
        .tls12_too = d->tls12,
        .pad_to = d->split ? PQT_PROBE_PAD_TO : 0,
        .random = random,
        .session_id = session_id,
    };
    size_t hs_len = 0;
    ret = pqt_hello_build_client(&spec, s->rec + 5, sizeof(s->rec) - 5, &hs_len);
    if (ret != 0) {
        goto cleanup;
    }
    /* RFC 8446 §5.1: legacy_record_version 0x0301 for the first ClientHello. */
    ret = pqt_record_header_put(s->rec, PQT_TLS_CT_HANDSHAKE, 0x0301, hs_len);
    if (ret != 0) {
        goto cleanup;
    }
    s->rec_len = hs_len + 5;
    if (d->split == 1) {
        const uint8_t *p = NULL;
        if (spec.sni != NULL) {
            p = find_bytes(s->rec + 44, s->rec_len - 44, (const uint8_t *)spec.sni,
                           strlen(spec.sni));
        }
        /* Inside the host name; without SNI, inside the cipher suite list. */
        s->split = p ? (size_t)(p - s->rec) + strlen(spec.sni) / 2 + (strlen(spec.sni) == 1)
                     : 5 + 4 + 2 + 32 + 1 + 32 + 2 + 3;
    } else if (d->split == 2) {
        const uint8_t *p = find_bytes(s->rec, s->rec_len, shares[0], ks[0].len);
        s->split = p ? (size_t)(p - s->rec) + 16 : s->rec_len / 2;
    } else if (d->split == 3) {
        s->split = PQT_PROBE_SPLIT_AT_MSS;
    }
    if (s->split >= s->rec_len) {
        s->split = 0;
    }
    s->res.bytes_sent = 0;
cleanup:
    pqt_wipe(shares, sizeof(shares));
    if (ret != 0) {
        pqt_probe_session_free(s);
        return ret;
    }
    *out = s;
    return 0;
}

void pqt_probe_session_free(pqt_probe_session *s)
{
    if (s == NULL) {
        return;
    }
    finish(s);
    free(s->hs);
    free(s->hrr_msg);
    free(s->retry);
    /* The keys are gone (finish); the decrypted plaintext is wiped as far
     * as it was used, not the whole 40 KiB of buffers on every probe. */
    pqt_ks_wipe(s->pt, s->pt_high);
    pqt_ks_wipe(s, offsetof(pqt_probe_session, rx));
    free(s);
}

size_t pqt_probe_session_output(const pqt_probe_session *s, const uint8_t **out)
{
    if (!s->retry_pending || s->done) {
        *out = NULL;
        return 0;
    }
    *out = s->retry + s->retry_msg_len;
    return s->retry_rec_len;
}

void pqt_probe_session_output_taken(pqt_probe_session *s)
{
    s->retry_pending = 0;
}

void pqt_probe_session_set_cert_cache(pqt_probe_session *s, pqt_scan_cert_cache *cache, int skip)
{
    s->cert_cache = cache;
    s->skip_cert = skip;
}

void pqt_probe_session_hello(const pqt_probe_session *s, const uint8_t **rec, size_t *len,
                             size_t *split)
{
    *rec = s->rec;
    *len = s->rec_len;
    *split = s->split;
}

const pqt_probe_result *pqt_probe_session_result(const pqt_probe_session *s)
{
    return &s->res;
}

const pqt_scan_cert *pqt_probe_session_cert(const pqt_probe_session *s)
{
    return &s->cert;
}

int pqt_probe_session_done(const pqt_probe_session *s)
{
    return s->done;
}

uint64_t pqt_probe_session_rx(const pqt_probe_session *s)
{
    return s->rx_total;
}

void pqt_probe_session_fail(pqt_probe_session *s, int outcome, const char *error,
                            const char *detail)
{
    if (s->done) {
        return;
    }
    if (s->res.outcome == PQT_OUTCOME_SERVER_HELLO || s->res.outcome == PQT_OUTCOME_HRR) {
        outcome = 0; /* keep what the server did say */
    }
    verdict(s, outcome, error, "%s", detail ? detail : "");
}

/* ---- certificates --------------------------------------------------------- */

static void read_certificate(const uint8_t *der, size_t len, pqt_scan_cert *c)
{
    const unsigned char *p = der;
    memset(c, 0, sizeof(*c));
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        return;
    }
    c->seen = 1;
    int sig_nid = X509_get_signature_nid(x);
    snprintf(c->sig_alg, sizeof(c->sig_alg), "%s",
             sig_nid != NID_undef ? OBJ_nid2ln(sig_nid) : "unknown");
    if (sig_nid == NID_undef) {
        const X509_ALGOR *alg = NULL;
        X509_get0_signature(NULL, &alg, x);
        const ASN1_OBJECT *obj = NULL;
        if (alg != NULL) {
            X509_ALGOR_get0(&obj, NULL, NULL, alg);
            OBJ_obj2txt(c->sig_alg, sizeof(c->sig_alg), obj, 0);
        }
    }
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (pk != NULL) {
        const char *tn = EVP_PKEY_get0_type_name(pk);
        snprintf(c->key_alg, sizeof(c->key_alg), "%s", tn ? tn : "unknown");
        c->key_bits = EVP_PKEY_get_bits(pk);
        size_t gl = 0;
        if (EVP_PKEY_get_utf8_string_param(pk, "group", c->key_curve, sizeof(c->key_curve), &gl) !=
            1) {
            c->key_curve[0] = 0;
        }
    } else {
        /* A key type this libcrypto cannot load (an ML-DSA key on OpenSSL
         * 3.0): report its algorithm OID. */
        X509_PUBKEY *xp = X509_get_X509_PUBKEY(x);
        ASN1_OBJECT *obj = NULL;
        if (xp != NULL && X509_PUBKEY_get0_param(&obj, NULL, NULL, NULL, xp) == 1) {
            OBJ_obj2txt(c->key_alg, sizeof(c->key_alg), obj, 0);
        }
    }
    X509_free(x);
}

/*
 * The same facts without d2i_X509 for the usual key types (RSA, EC on the
 * NIST curves, EdDSA): a DER walk
 * (X.690) to the signature algorithm and the SubjectPublicKeyInfo
 * (RFC 5280 §4.1), with OIDs named by libcrypto's object table. 0 when it
 * filled *c; -1 for anything unusual (long tags, key types it does not
 * know), which the caller hands to d2i_X509. It reads through pqt_reader
 * and checks that every structure it opens is well formed.
 */
static int der_next(pqt_reader *r, uint8_t *tag, pqt_reader *content, const uint8_t **start)
{
    uint8_t t, l;
    size_t len = 0;
    const uint8_t *body;
    *start = r->p;
    if (pqt_reader_u8(r, &t) != 0 || (t & 0x1f) == 0x1f || pqt_reader_u8(r, &l) != 0) {
        return -1;
    }
    if (l < 0x80) {
        len = l;
    } else {
        unsigned n = l & 0x7f;
        if (n == 0 || n > 3) {
            return -1; /* indefinite or absurd lengths */
        }
        uint32_t v = 0;
        if (pqt_reader_uint(r, n, &v) != 0) {
            return -1;
        }
        len = v;
    }
    if (pqt_reader_bytes(r, len, &body) != 0) {
        return -1;
    }
    *tag = t;
    *content = pqt_reader_make(body, len);
    return 0;
}

static int der_expect(pqt_reader *r, uint8_t tag, pqt_reader *content)
{
    uint8_t t;
    const uint8_t *start;
    return der_next(r, &t, content, &start) == 0 && t == tag ? 0 : -1;
}

/* The NID of the OID whose TLV starts at p (n bytes in all). */
static int der_oid_nid(const uint8_t *p, size_t n, char *txt, size_t cap)
{
    const unsigned char *q = p;
    ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &q, (long)n);
    int nid = NID_undef;
    if (o != NULL) {
        nid = OBJ_obj2nid(o);
        if (txt != NULL) {
            OBJ_obj2txt(txt, (int)cap, o, 1);
        }
        ASN1_OBJECT_free(o);
    }
    return nid;
}

/* AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } */
static int der_alg(pqt_reader *r, int *nid, char *txt, size_t cap, pqt_reader *params)
{
    pqt_reader seq, oid;
    uint8_t t;
    const uint8_t *start;
    if (der_expect(r, 0x30, &seq) != 0 || der_next(&seq, &t, &oid, &start) != 0 || t != 0x06) {
        return -1;
    }
    *nid = der_oid_nid(start, (size_t)(oid.end - start), txt, cap);
    *params = seq;
    return 0;
}

/* Bits of a DER INTEGER's magnitude (RSA modulus). */
static int der_int_bits(pqt_reader *r)
{
    pqt_reader v;
    if (der_expect(r, 0x02, &v) != 0) {
        return -1;
    }
    while (pqt_reader_left(&v) > 0 && v.p[0] == 0) {
        v.p++;
    }
    size_t n = pqt_reader_left(&v);
    if (n == 0) {
        return 0;
    }
    int bits = (int)(8 * n);
    for (uint8_t top = v.p[0]; !(top & 0x80); top = (uint8_t)(top << 1)) {
        bits--;
    }
    return bits;
}

static int cert_facts_der(const uint8_t *der, size_t len, pqt_scan_cert *c)
{
    pqt_reader all = pqt_reader_make(der, len), cert, tbs, x, spki, params, key;
    uint8_t t;
    const uint8_t *start;
    int sig_nid, key_nid;
    char sig_txt[sizeof(c->sig_alg)];
    if (der_expect(&all, 0x30, &cert) != 0 || pqt_reader_left(&all) != 0 ||
        der_expect(&cert, 0x30, &tbs) != 0 ||
        der_alg(&cert, &sig_nid, sig_txt, sizeof(sig_txt), &params) != 0 ||
        der_expect(&cert, 0x03, &x) != 0 || pqt_reader_left(&cert) != 0) {
        return -1;
    }
    /* tbsCertificate: [0] version, serial, signature, issuer, validity,
     * subject, then subjectPublicKeyInfo. */
    if (der_next(&tbs, &t, &x, &start) != 0) {
        return -1;
    }
    if (t == 0xa0 && der_next(&tbs, &t, &x, &start) != 0) {
        return -1;
    }
    if (t != 0x02) { /* serialNumber */
        return -1;
    }
    for (int i = 0; i < 4; i++) { /* signature, issuer, validity, subject */
        if (der_expect(&tbs, 0x30, &x) != 0) {
            return -1;
        }
    }
    if (der_expect(&tbs, 0x30, &spki) != 0 || der_alg(&spki, &key_nid, NULL, 0, &params) != 0 ||
        der_expect(&spki, 0x03, &key) != 0 || pqt_reader_left(&spki) != 0) {
        return -1;
    }
    memset(c, 0, sizeof(*c));
    switch (key_nid) {
    case NID_rsaEncryption: {
        /* BIT STRING: unused-bits byte 0, then RSAPublicKey { n, e }. */
        pqt_reader rsa;
        uint8_t unused;
        if (pqt_reader_u8(&key, &unused) != 0 || unused != 0 || der_expect(&key, 0x30, &rsa) != 0) {
            return -1;
        }
        c->key_bits = der_int_bits(&rsa);
        if (c->key_bits <= 0) {
            return -1;
        }
        snprintf(c->key_alg, sizeof(c->key_alg), "RSA");
        break;
    }
    case NID_X9_62_id_ecPublicKey: {
        pqt_reader oid;
        if (der_next(&params, &t, &oid, &start) != 0 || t != 0x06) {
            return -1; /* explicit curve parameters: let libcrypto judge */
        }
        int curve = der_oid_nid(start, (size_t)(oid.end - start), NULL, 0);
        c->key_bits = curve == NID_X9_62_prime256v1 ? 256
                      : curve == NID_secp384r1      ? 384
                      : curve == NID_secp521r1      ? 521
                                                    : 0;
        if (c->key_bits == 0) {
            return -1;
        }
        snprintf(c->key_alg, sizeof(c->key_alg), "EC");
        snprintf(c->key_curve, sizeof(c->key_curve), "%s", OBJ_nid2sn(curve));
        break;
    }
    case NID_ED25519:
    case NID_ED448:
        /* What EVP_PKEY_get_bits reports for them (OpenSSL's ED25519_BITS
         * and ED448_BITS); the unit test compares with libcrypto. */
        snprintf(c->key_alg, sizeof(c->key_alg), "%s",
                 key_nid == NID_ED25519 ? "ED25519" : "ED448");
        c->key_bits = key_nid == NID_ED25519 ? 256 : 456;
        break;
    default:
        return -1;
    }
    if (sig_nid != NID_undef) {
        snprintf(c->sig_alg, sizeof(c->sig_alg), "%s", OBJ_nid2ln(sig_nid));
    } else {
        snprintf(c->sig_alg, sizeof(c->sig_alg), "%s", sig_txt);
    }
    c->seen = 1;
    return 0;
}

void pqt_scan_cert_facts(const uint8_t *der, size_t len, pqt_scan_cert *facts, int use_x509)
{
    if (use_x509 || cert_facts_der(der, len, facts) != 0) {
        read_certificate(der, len, facts);
    }
}

/* RFC 8446 §4.4.2 (TLS 1.3: with a context and per-entry extensions) or
 * RFC 5246 §7.4.2 (TLS 1.2); only the end-entity certificate is read. */
static void parse_certificate(pqt_probe_session *s, const uint8_t *body, size_t len, int tls13)
{
    pqt_reader r = pqt_reader_make(body, len), ctx, list, cert;
    if (tls13 && pqt_reader_vec(&r, 1, &ctx) != 0) {
        return;
    }
    if (pqt_reader_vec(&r, 3, &list) != 0 || pqt_reader_vec(&list, 3, &cert) != 0) {
        return;
    }
    if (s->skip_cert) {
        return;
    }
    uint16_t scheme = s->cert.verify_scheme;
    pqt_scan_cert_cache_lookup(s->cert_cache, cert.p, pqt_reader_left(&cert), &s->cert);
    s->cert.verify_scheme = scheme;
}

int pqt_scan_cert_cache_new(pqt_scan_cert_cache **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : PQT_ERR_NOMEM;
}

void pqt_scan_cert_cache_free(pqt_scan_cert_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < PQT_CERT_CACHE_SLOTS; i++) {
        free(c->slot[i].der);
    }
    free(c);
}

void pqt_scan_cert_cache_stats(const pqt_scan_cert_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}

void pqt_scan_cert_cache_lookup(pqt_scan_cert_cache *c, const uint8_t *der, size_t len,
                                pqt_scan_cert *facts)
{
    if (c == NULL) {
        pqt_scan_cert_facts(der, len, facts, 0);
        return;
    }
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ der[i]) * 0x100000001b3ull;
    }
    cert_slot *victim = &c->slot[0];
    c->clock++;
    for (size_t i = 0; i < PQT_CERT_CACHE_SLOTS; i++) {
        cert_slot *e = &c->slot[i];
        if (e->der != NULL && e->hash == h && e->len == len && memcmp(e->der, der, len) == 0) {
            e->used = c->clock;
            *facts = e->facts;
            c->hits++;
            return;
        }
        if (e->used < victim->used) {
            victim = e;
        }
    }
    c->misses++;
    pqt_scan_cert_facts(der, len, facts, 0);
    if (len == 0 || len > PQT_CERT_CACHE_MAX_DER) {
        return;
    }
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        return; /* the facts are right; they just are not cached */
    }
    memcpy(copy, der, len);
    free(victim->der);
    victim->der = copy;
    victim->len = len;
    victim->hash = h;
    victim->facts = *facts;
    victim->used = c->clock;
}

/* ---- the state machine ---------------------------------------------------- */

static int group_offered(const probe_def *d, uint16_t g)
{
    for (size_t i = 0; i < d->n_groups; i++) {
        if (d->groups[i] == g) {
            return 1;
        }
    }
    return 0;
}

static const char *error_code(int err)
{
    switch (err) {
    case PQT_ERR_SHARE_LENGTH:
        return "share_length";
    case PQT_ERR_EC_POINT:
        return "ec_point";
    case PQT_ERR_EC_ZERO:
        return "ec_zero";
    case PQT_ERR_CT_LENGTH:
        return "share_length";
    default:
        return "key_exchange_failed";
    }
}

/* The stable name in reports of a rule the server broke (pqt_hello_check_*). */
static const char *rule_error(int err)
{
    switch (err) {
    case PQT_ERR_TLS_VERSION:
        return "version_not_offered";
    case PQT_ERR_TLS_LEGACY_VERSION:
        return "legacy_version";
    case PQT_ERR_TLS_DOWNGRADE:
        return "downgrade";
    case PQT_ERR_TLS_SESSION_ID:
        return "session_id_mismatch";
    case PQT_ERR_TLS_CIPHER:
        return "cipher_not_offered";
    case PQT_ERR_TLS_COMPRESSION:
        return "compression";
    case PQT_ERR_TLS_EXT_DUPLICATE:
        return "duplicate_extension";
    case PQT_ERR_TLS_EXT_NOT_ALLOWED:
        return "extension_not_allowed";
    case PQT_ERR_TLS_EXT_UNSOLICITED:
        return "unsolicited_extension";
    case PQT_ERR_TLS_HRR_NO_CHANGE:
        return "hrr_no_change";
    case PQT_ERR_TLS_ALPN:
        return "alpn_not_offered";
    default:
        return NULL;
    }
}

/* The ClientHello the server is answering: the second one after an HRR. */
static int sent_client_hello(const pqt_probe_session *s, pqt_client_hello *ch)
{
    if (s->retry != NULL) {
        return pqt_hello_parse_client(s->retry + 4, s->retry_msg_len - 4, ch);
    }
    return pqt_hello_parse_client(s->rec + 9, s->rec_len - 9, ch);
}

/* A message that breaks a rule a client enforces: the probe is malformed
 * and nothing else is taken from it (no stage, no flag). */
static void rule_broken(pqt_probe_session *s, const char *msg, int err, uint16_t what)
{
    const char *ext = pqt_tls_extension_name(what);
    ext = ext != NULL ? ext : "unknown";
    switch (err) {
    case PQT_ERR_TLS_VERSION:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "%s selects version 0x%04x, which was not offered", msg, what);
        break;
    case PQT_ERR_TLS_LEGACY_VERSION:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "TLS 1.3 %s has legacy_version 0x%04x, not 0x0303", msg, what);
        break;
    case PQT_ERR_TLS_DOWNGRADE:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "%s negotiates 0x%04x with the downgrade sentinel in its random; TLS 1.3 "
                "was offered",
                msg, what);
        break;
    case PQT_ERR_TLS_SESSION_ID:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "%s legacy_session_id_echo differs from the session id sent", msg);
        break;
    case PQT_ERR_TLS_CIPHER:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "%s selects cipher suite 0x%04x, not offered for its version", msg, what);
        break;
    case PQT_ERR_TLS_COMPRESSION:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "%s selects compression method %u; only null was offered", msg, what);
        break;
    case PQT_ERR_TLS_EXT_DUPLICATE:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err), "%s repeats extension %s (%u)", msg, ext,
                what);
        break;
    case PQT_ERR_TLS_EXT_NOT_ALLOWED:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "%s carries extension %s (%u), which may not appear there", msg, ext, what);
        break;
    case PQT_ERR_TLS_EXT_UNSOLICITED:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "%s carries extension %s (%u), which was not offered", msg, ext, what);
        break;
    case PQT_ERR_TLS_HRR_NO_CHANGE:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "HelloRetryRequest has neither a key_share nor a cookie: it would not change "
                "the ClientHello");
        break;
    case PQT_ERR_TLS_ALPN:
        verdict(s, PQT_OUTCOME_MALFORMED, rule_error(err),
                "%s ALPN answer is not exactly one of the offered protocols", msg);
        break;
    default:
        verdict(s, PQT_OUTCOME_MALFORMED, "encrypted_extensions_syntax",
                "%s does not parse: %s (extension %s, %u)", msg, pqt_strerror(err), ext, what);
        break;
    }
}

/* TLS 1.3 ServerHello with a key share: finish the exchange and switch to
 * the server's handshake traffic keys. */
static void start_tls13(pqt_probe_session *s, const pqt_server_hello *sh, const uint8_t *sh_msg,
                        size_t sh_len)
{
    uint8_t secret[PQT_HYBRID_MAX_SECRET], th[PQT_KS_MAX_HASH];
    size_t secret_len = 0, key_len = 0;
    pqt_ks_hash h;
    pqt_ks_secrets ks;
    int slot = -1, ret;

    memset(&ks, 0, sizeof(ks));
    for (size_t i = 0; i < s->n_shares; i++) {
        if (s->share_groups[i] == sh->key_share_group) {
            slot = (int)i;
        }
    }
    if (slot < 0) {
        /* RFC 8446 §4.2.8: the selected share MUST match one the client sent. */
        const char *gn = pqt_group_name(sh->key_share_group);
        verdict(s, PQT_OUTCOME_MALFORMED, "group_not_offered",
                "ServerHello selects group 0x%04x (%s), for which no key share was sent",
                sh->key_share_group, gn ? gn : "unknown");
        if (pqt_group_is_pq(sh->key_share_group)) {
            s->res.broken = 1;
        }
        return;
    }
    if (pqt_ks_suite(sh->cipher_suite, &h, &key_len) != 0) {
        verdict(s, PQT_OUTCOME_MALFORMED, "cipher_not_offered",
                "ServerHello selects cipher suite 0x%04x, not a TLS 1.3 suite we offered",
                sh->cipher_suite);
        return;
    }
    if (s->kex[slot] == NULL) {
        /* X25519Kyber768Draft00: accepted, and that is all we need to know. */
        settle(s, 0);
        return;
    }
    ret = pqt_hybrid_client_finish(s->kex[slot], sh->key_share, sh->key_share_len, secret,
                                   sizeof(secret), &secret_len);
    if (ret != 0) {
        const pqt_group *g = pqt_group_by_code(sh->key_share_group);
        s->res.broken = 1;
        verdict(s, 0, error_code(ret), "server key share rejected (%zu bytes, %s expects %zu): %s",
                sh->key_share_len, g ? g->name : "group", g ? g->server_share_bytes : (size_t)0,
                pqt_strerror(ret));
        goto cleanup;
    }
    /* RFC 8446 §4.4.1: after a HelloRetryRequest the transcript is
     * message_hash(ClientHello1) || HelloRetryRequest || ClientHello2 || ServerHello. */
    const uint8_t *parts[4] = {s->rec + 5, sh_msg, NULL, NULL};
    size_t lens[4] = {s->rec_len - 5, sh_len, 0, 0};
    size_t n_parts = 2;
    if (s->retry != NULL) {
        parts[0] = s->synthetic;
        lens[0] = s->synthetic_len;
        parts[1] = s->hrr_msg;
        lens[1] = s->hrr_len;
        parts[2] = s->retry;
        lens[2] = s->retry_msg_len;
        parts[3] = sh_msg;
        lens[3] = sh_len;
        n_parts = 4;
    }
    ret = pqt_ks_transcript(h, parts, lens, n_parts, th);
    if (ret == 0) {
        ret = pqt_ks_early(&ks, h, NULL, 0, NULL);
    }
    if (ret == 0) {
        ret = pqt_ks_handshake(&ks, secret, secret_len, th);
    }
    if (ret == 0) {
        ret = pqt_record_keys_init(&s->rk, sh->cipher_suite, ks.server_hs_traffic);
    }
    if (ret != 0) {
        verdict(s, 0, "internal", "key schedule failed: %s", pqt_strerror(ret));
        goto cleanup;
    }
    s->phase = PH_TLS13;
cleanup:
    pqt_ks_wipe(secret, sizeof(secret));
    pqt_ks_wipe(&ks, sizeof(ks));
}

/* 1 if the probe answers a HelloRetryRequest for group g (0: a cookie
 * only, the same shares again) with a second ClientHello: every probe but
 * the segmentation ones (whose question the first answer settles) and the
 * legacy one, for groups pqtls can finish. */
static int can_retry(const pqt_probe_session *s, uint16_t g)
{
    const probe_def *d = &probe_defs[s->probe];
    const pqt_group *gi = pqt_group_by_code(g);
    if (d->split != 0 || s->probe == PQT_PROBE_LEGACY_KYBER) {
        return 0;
    }
    if (g == 0) {
        return 1;
    }
    if (gi == NULL) {
        return 0;
    }
    return gi->pqtls_implements || g == PQT_GROUP_X25519 || g == PQT_GROUP_SECP256R1 ||
           g == PQT_GROUP_SECP384R1;
}

/*
 * RFC 8446 §4.1.4: answer a HelloRetryRequest with the same ClientHello,
 * except that "key_share" holds a single share for the selected group and
 * the HRR's "cookie" is echoed (§4.1.2, §4.2.2); an HRR with a cookie only
 * gets the same shares again. The transcript then starts with
 * message_hash(ClientHello1) and the HRR (§4.4.1).
 */
static void start_retry(pqt_probe_session *s, const pqt_server_hello *sh, const uint8_t *msg,
                        size_t len)
{
    const probe_def *d = &probe_defs[s->probe];
    uint8_t share[PQT_HYBRID_MAX_CLIENT_SHARE];
    const uint8_t *cookie = NULL;
    size_t cookie_len = 0, share_len = 0, key_len = 0;
    pqt_ks_hash h;
    int ret;

    if (pqt_ks_suite(sh->cipher_suite, &h, &key_len) != 0) {
        verdict(s, PQT_OUTCOME_MALFORMED, "cipher_not_offered",
                "HelloRetryRequest selects cipher suite 0x%04x, not a TLS 1.3 suite we offered",
                sh->cipher_suite);
        return;
    }
    for (size_t i = 0; i < sh->n_ext; i++) {
        if (sh->ext[i].type == EXT_COOKIE) {
            /* struct { opaque cookie<1..2^16-1>; } Cookie; */
            pqt_reader r = pqt_reader_make(sh->ext[i].data, sh->ext[i].len), v;
            if (pqt_reader_vec(&r, 2, &v) != 0 || pqt_reader_close(&r) != 0 ||
                pqt_reader_left(&v) == 0) {
                verdict(s, PQT_OUTCOME_MALFORMED, "server_hello_syntax",
                        "HelloRetryRequest cookie extension does not parse");
                return;
            }
            cookie = v.p;
            cookie_len = pqt_reader_left(&v);
        }
    }
    s->hrr_suite = sh->cipher_suite;
    size_t hl = pqt_ks_hash_len(h);
    const uint8_t *ch1 = s->rec + 5;
    size_t ch1_len = s->rec_len - 5;
    s->synthetic[0] = HS_MESSAGE_HASH;
    s->synthetic[1] = 0;
    s->synthetic[2] = 0;
    s->synthetic[3] = (uint8_t)hl;
    s->synthetic_len = 4 + hl;
    ret = pqt_ks_transcript(h, &ch1, &ch1_len, 1, s->synthetic + 4);
    if (ret != 0) {
        verdict(s, 0, "internal", "transcript hash failed: %s", pqt_strerror(ret));
        return;
    }
    pqt_key_share ks = {0};
    const pqt_key_share *shares = &ks;
    size_t n_shares = 1;
    pqt_client_hello ch1_parsed;
    if (!sh->has_key_share) {
        /* A cookie only: the shares of the first ClientHello (and their
         * keys) again, read back from the bytes sent. */
        if (pqt_hello_parse_client(s->rec + 9, s->rec_len - 9, &ch1_parsed) != 0) {
            verdict(s, 0, "internal", "cannot read back the ClientHello sent");
            return;
        }
        shares = ch1_parsed.key_shares;
        n_shares = ch1_parsed.n_key_shares;
    } else {
        /* The old shares are useless now: a new key pair for the asked group. */
        for (size_t i = 0; i < s->n_shares; i++) {
            pqt_hybrid_client_free(s->kex[i]);
            s->kex[i] = NULL;
        }
        s->n_shares = 0;
        ret = new_share(sh->key_share_group, &s->kex[0], share, sizeof(share), &share_len);
        if (ret != 0) {
            verdict(s, 0, "internal", "key generation for the retry failed: %s", pqt_strerror(ret));
            goto cleanup;
        }
        s->share_groups[0] = sh->key_share_group;
        s->n_shares = 1;
        ks.group = sh->key_share_group;
        ks.share = share;
        ks.len = (uint16_t)share_len;
    }
    pqt_client_hello_spec spec = {
        .sni = s->sni[0] ? s->sni : NULL,
        .cipher_suites = d->tls12 ? suites12 : suites13,
        .n_cipher_suites = d->tls12 ? sizeof(suites12) / 2 : sizeof(suites13) / 2,
        .groups = d->groups,
        .n_groups = d->n_groups,
        .key_shares = shares,
        .n_key_shares = n_shares,
        .sig_algs = sig_algs,
        .n_sig_algs = sizeof(sig_algs) / 2,
        .alpn = s->alpn,
        .tls12_too = d->tls12,
        .random = s->random,
        .session_id = s->session_id,
        .cookie = cookie,
        .cookie_len = cookie_len,
    };
    /* The message, then the same bytes as records of at most 2^14 (a long
     * cookie can push it past one). */
    size_t cap = PQT_PROBE_CH_CAP + cookie_len;
    size_t max_recs = cap / PQT_TLS_MAX_RECORD + 1;
    s->hrr_msg = malloc(len);
    s->retry = malloc(2 * cap + max_recs * PQT_TLS_RECORD_HEADER);
    if (s->hrr_msg == NULL || s->retry == NULL) {
        verdict(s, 0, "internal", "out of memory");
        goto cleanup;
    }
    memcpy(s->hrr_msg, msg, len);
    s->hrr_len = len;
    ret = pqt_hello_build_client(&spec, s->retry, cap, &s->retry_msg_len);
    if (ret != 0 && cookie_len > 0) {
        /* The server's fault: an echoed cookie must fit in the ClientHello's
         * extensions, which are at most 2^16-1 bytes (RFC 8446 §4.1.2). */
        verdict(s, PQT_OUTCOME_MALFORMED, "hrr_cookie_too_large",
                "HelloRetryRequest cookie of %zu bytes does not fit in a ClientHello", cookie_len);
        goto cleanup;
    }
    if (ret != 0) {
        verdict(s, 0, "internal", "could not build the second ClientHello: %s", pqt_strerror(ret));
        goto cleanup;
    }
    uint8_t *out = s->retry + s->retry_msg_len;
    for (size_t off = 0; off < s->retry_msg_len;) {
        size_t n = s->retry_msg_len - off;
        n = n > PQT_TLS_MAX_RECORD ? PQT_TLS_MAX_RECORD : n;
        /* RFC 8446 §5.1: 0x0303 on every record but the first ClientHello. */
        out[0] = PQT_TLS_CT_HANDSHAKE;
        out[1] = 0x03;
        out[2] = 0x03;
        out[3] = (uint8_t)(n >> 8);
        out[4] = (uint8_t)n;
        memcpy(out + 5, s->retry + off, n);
        out += 5 + n;
        off += n;
    }
    s->retry_rec_len = (size_t)(out - (s->retry + s->retry_msg_len));
    s->retry_pending = 1;
    s->phase = PH_RETRY;
cleanup:
    pqt_wipe(share, sizeof(share));
}

static void on_hrr(pqt_probe_session *s, const pqt_server_hello *sh, const uint8_t *msg, size_t len)
{
    const probe_def *d = &probe_defs[s->probe];
    if (s->phase == PH_RETRY) {
        /* RFC 8446 §4.1.4: a second HRR "MUST abort ... unexpected_message". */
        verdict(s, 0, "second_hrr", "a second HelloRetryRequest answered the second ClientHello");
        return;
    }
    s->res.outcome = PQT_OUTCOME_HRR;
    /* RFC 8446 §4.1.4: the selected_group must be offered and must not
     * be one the client already sent a share for. */
    if (!sh->has_key_share) {
        /* A cookie only (pqt_hello_check_server refused an HRR with
         * neither): the same shares again. */
        if (can_retry(s, 0)) {
            start_retry(s, sh, msg, len);
        } else {
            settle(s, 0);
        }
        return;
    }
    if (!group_offered(d, sh->key_share_group)) {
        verdict(s, PQT_OUTCOME_MALFORMED, "group_not_offered",
                "HelloRetryRequest asks for group 0x%04x, which was not offered",
                sh->key_share_group);
        return;
    }
    for (size_t i = 0; i < s->n_shares; i++) {
        if (s->share_groups[i] == sh->key_share_group) {
            verdict(s, PQT_OUTCOME_MALFORMED, "hrr_for_sent_share",
                    "HelloRetryRequest asks for group 0x%04x, whose share was already sent",
                    sh->key_share_group);
            return;
        }
    }
    if (!can_retry(s, sh->key_share_group)) {
        settle(s, 0);
        return;
    }
    start_retry(s, sh, msg, len);
}

static void on_server_hello(pqt_probe_session *s, const uint8_t *msg, size_t len)
{
    const probe_def *d = &probe_defs[s->probe];
    pqt_server_hello sh;
    pqt_client_hello ch;
    uint16_t what = 0;
    int ret = pqt_hello_parse_server(msg + 4, len - 4, &sh);
    if (ret == PQT_ERR_TLS_EXT_DUPLICATE) {
        rule_broken(s, sh.is_hrr ? "HelloRetryRequest" : "ServerHello", ret, sh.duplicate);
        return;
    }
    if (ret != 0) {
        verdict(s, s->phase == PH_RETRY ? 0 : PQT_OUTCOME_MALFORMED, "server_hello_syntax",
                "ServerHello does not parse: %s", pqt_strerror(ret));
        return;
    }
    if (sent_client_hello(s, &ch) != 0) {
        verdict(s, 0, "internal", "cannot read back the ClientHello sent");
        return;
    }
    ret = pqt_hello_check_server(&ch, &sh, &what);
    /* An old version the client did not offer is an old server, judged
     * below; every other broken rule makes the message worthless. */
    if (ret != 0 && !(ret == PQT_ERR_TLS_VERSION && sh.selected_version == 0 && !sh.is_hrr)) {
        rule_broken(s, sh.is_hrr ? "HelloRetryRequest" : "ServerHello", ret, what);
        return;
    }
    if (s->phase == PH_RETRY && !sh.is_hrr) {
        /* The answer to the second ClientHello; the outcome stays "hrr"
         * (the answer to the probe) and version, cipher and verification
         * come from this ServerHello. RFC 8446 §4.1.4: the cipher suite
         * must be the HRR's; §4.2.8: so must the group. */
        s->res.retried = 1;
        s->res.version = pqt_hello_server_version(&sh);
        s->res.cipher = sh.cipher_suite;
        if (s->res.version != 0x0304) {
            verdict(s, 0, "version_not_offered",
                    "ServerHello after HelloRetryRequest negotiates version 0x%04x",
                    s->res.version);
        } else if (sh.cipher_suite != s->hrr_suite) {
            verdict(s, 0, "hrr_cipher_changed",
                    "ServerHello selects cipher suite 0x%04x, the HelloRetryRequest 0x%04x",
                    sh.cipher_suite, s->hrr_suite);
        } else if (!sh.has_key_share || (s->res.group != 0 && sh.key_share_group != s->res.group)) {
            verdict(s, 0, "hrr_group_changed",
                    "ServerHello selects group 0x%04x, the HelloRetryRequest asked for 0x%04x",
                    sh.has_key_share ? sh.key_share_group : 0, s->res.group);
            if (pqt_group_is_pq(s->res.group)) {
                s->res.broken = 1;
            }
        } else {
            /* After a cookie-only HRR the group is the one the server
             * picks among the shares sent again (start_tls13 checks). */
            s->res.group = sh.key_share_group;
            start_tls13(s, &sh, msg, len);
        }
        return;
    }
    s->res.version = pqt_hello_server_version(&sh);
    s->res.cipher = sh.cipher_suite;
    s->res.group = sh.has_key_share ? sh.key_share_group : 0;
    if (sh.is_hrr) {
        on_hrr(s, &sh, msg, len);
        return;
    }
    s->res.outcome = PQT_OUTCOME_SERVER_HELLO;
    if (s->res.version == 0x0304) {
        if (!sh.has_key_share) {
            verdict(s, PQT_OUTCOME_MALFORMED, "no_key_share",
                    "TLS 1.3 ServerHello without key_share (no PSK was offered)");
            return;
        }
        start_tls13(s, &sh, msg, len);
    } else if (s->res.version == 0x0303 && d->tls12) {
        s->phase = PH_TLS12;
    } else {
        verdict(s, 0, s->res.version == 0x0303 ? "version_not_offered" : "old_version",
                "server negotiated version 0x%04x", s->res.version);
    }
}

static void on_handshake_message(pqt_probe_session *s, const uint8_t *msg, size_t len)
{
    uint8_t type = msg[0];
    if (s->phase == PH_HELLO || s->phase == PH_RETRY) {
        if (type != PQT_TLS_HS_SERVER_HELLO) {
            verdict(s, PQT_OUTCOME_MALFORMED, "unexpected_message",
                    "expected ServerHello, got handshake message type %u", type);
            return;
        }
        on_server_hello(s, msg, len);
        return;
    }
    if (s->phase == PH_TLS12) {
        uint16_t g = 0;
        if (type == HS_CERTIFICATE) {
            parse_certificate(s, msg + 4, len - 4, 0);
        } else if (type == PQT_TLS_HS_SERVER_KEY_EXCHANGE) {
            if (pqt_hello_parse_server_key_exchange_group(msg + 4, len - 4, &g) == 0) {
                s->res.group = g;
            }
            settle(s, 0);
        } else if (type == HS_SERVER_HELLO_DONE) {
            settle(s, 0); /* RSA key exchange: no group */
        }
        return;
    }
    /* TLS 1.3, decrypted. RFC 8446 §4.3.1: EncryptedExtensions comes first. */
    if (!s->seen_ee) {
        if (type != HS_ENCRYPTED_EXTENSIONS) {
            s->res.broken = 1;
            verdict(s, 0, "no_encrypted_extensions",
                    "first encrypted handshake message has type %u, not EncryptedExtensions", type);
            return;
        }
        pqt_client_hello ch;
        uint16_t what = 0;
        if (sent_client_hello(s, &ch) != 0) {
            verdict(s, 0, "internal", "cannot read back the ClientHello sent");
            return;
        }
        int ret = pqt_hello_check_encrypted_extensions(&ch, msg + 4, len - 4, &what);
        if (ret != 0) {
            rule_broken(s, "EncryptedExtensions", ret, what);
            return;
        }
        s->seen_ee = 1;
        s->res.verified = 1;
        return;
    }
    if (type == HS_CERTIFICATE) {
        parse_certificate(s, msg + 4, len - 4, 1);
    } else if (type == HS_CERTIFICATE_VERIFY) {
        pqt_reader r = pqt_reader_make(msg + 4, len - 4);
        uint16_t scheme = 0;
        if (pqt_reader_u16(&r, &scheme) == 0) {
            s->cert.verify_scheme = scheme;
        }
        settle(s, 0);
    } else if (type == HS_FINISHED) {
        settle(s, 0);
    }
}

/*
 * Handshake messages out of the handshake bytes (pqt_hs_reasm): each body
 * goes into s->hs behind room for its 4-byte header, so on_handshake_message
 * sees the whole message, as the transcript hash needs it.
 */
static int hs_begin(void *ctx, uint8_t type, uint32_t len, uint8_t **buf, uint32_t *keep)
{
    pqt_probe_session *s = ctx;
    if (s->done) {
        return PQT_RECORD_STOP;
    }
    if (len > PQT_PROBE_MAX_HS) {
        if (s->seen_ee) {
            /* A huge certificate chain after a verified exchange. */
            settle(s, 0);
        } else {
            verdict(s, PQT_OUTCOME_MALFORMED, "handshake_too_large",
                    "handshake message type %u claims %zu bytes (limit %u)", type, (size_t)len,
                    PQT_PROBE_MAX_HS);
        }
        return PQT_RECORD_STOP;
    }
    size_t need = PQT_TLS_HANDSHAKE_HEADER + (size_t)len;
    if (need > s->hs_cap) {
        size_t cap = s->hs_cap ? s->hs_cap : 4096;
        while (cap < need) {
            cap *= 2;
        }
        uint8_t *nb = realloc(s->hs, cap);
        if (nb == NULL) {
            verdict(s, PQT_OUTCOME_MALFORMED, "internal", "out of memory");
            return PQT_RECORD_STOP;
        }
        s->hs = nb;
        s->hs_cap = cap;
    }
    *buf = s->hs + PQT_TLS_HANDSHAKE_HEADER;
    *keep = len;
    return 0;
}

static int hs_message(void *ctx, const uint8_t hdr[PQT_TLS_HANDSHAKE_HEADER], uint8_t *buf,
                      uint32_t len, uint32_t kept, unsigned pieces, unsigned records)
{
    pqt_probe_session *s = ctx;
    (void)buf;
    (void)kept;
    (void)pieces;
    (void)records;
    memcpy(s->hs, hdr, PQT_TLS_HANDSHAKE_HEADER);
    on_handshake_message(s, s->hs, PQT_TLS_HANDSHAKE_HEADER + (size_t)len);
    return s->done ? PQT_RECORD_STOP : 0;
}

static const pqt_hs_events hs_events = {hs_begin, hs_message};

static void on_handshake_bytes(pqt_probe_session *s, const uint8_t *p, size_t n)
{
    if (n == 0) {
        /* RFC 8446 §5.1: "MUST NOT send zero-length fragments of Handshake". */
        verdict(s, PQT_OUTCOME_MALFORMED, "empty_handshake_record",
                "zero-length handshake fragment");
        return;
    }
    (void)pqt_hs_reasm_feed(&s->hsr, p, n, 0, 0, &hs_events, s);
}

static void on_alert(pqt_probe_session *s, const uint8_t *p, size_t n)
{
    if (n != 2) {
        verdict(s, PQT_OUTCOME_MALFORMED, "alert_syntax", "alert record of %zu bytes", n);
        return;
    }
    s->res.alert = p[1];
    settle(s, s->phase == PH_HELLO && s->res.outcome != PQT_OUTCOME_HRR ? PQT_OUTCOME_ALERT : 0);
}

static void on_record(pqt_probe_session *s, const pqt_record_header *h, const uint8_t *hdr,
                      const uint8_t *body)
{
    size_t n = h->length;
    switch (h->type) {
    case PQT_TLS_CT_ALERT:
        on_alert(s, body, n);
        return;
    case PQT_TLS_CT_CHANGE_CIPHER_SPEC:
        /* RFC 8446 §5: one CCS {0x01} may appear after the ServerHello/HRR. */
        if ((s->phase == PH_HELLO && s->res.outcome != PQT_OUTCOME_HRR) || n != 1 || body[0] != 1 ||
            ++s->ccs > 1) {
            verdict(s, PQT_OUTCOME_MALFORMED, "unexpected_change_cipher_spec",
                    "change_cipher_spec record where none is allowed");
        }
        return;
    case PQT_TLS_CT_HANDSHAKE:
        if (s->phase == PH_TLS13) {
            s->res.broken = 1;
            verdict(s, 0, "plaintext_after_server_hello",
                    "unencrypted handshake record after a TLS 1.3 ServerHello");
            return;
        }
        if (n > 16384) {
            verdict(s, PQT_OUTCOME_MALFORMED, "record_overflow",
                    "plaintext record of %zu bytes (limit 16384)", n);
            return;
        }
        on_handshake_bytes(s, body, n);
        return;
    case PQT_TLS_CT_APPLICATION_DATA: {
        if (s->phase != PH_TLS13) {
            verdict(s, PQT_OUTCOME_MALFORMED, "unexpected_application_data",
                    "application_data record before the handshake keys exist");
            return;
        }
        size_t pt_len = 0;
        uint8_t ct = 0;
        if (n > s->pt_high) {
            s->pt_high = n < sizeof(s->pt) ? n : sizeof(s->pt);
        }
        int ret = pqt_record_decrypt(&s->rk, hdr, body, n, s->pt, &pt_len, &ct);
        if (ret != 0) {
            s->res.broken = 1;
            verdict(s, 0, "decrypt_failed",
                    "the server's first encrypted record does not decrypt with the derived "
                    "handshake keys (%s)",
                    pqt_strerror(ret));
            return;
        }
        if (ct == PQT_TLS_CT_HANDSHAKE) {
            on_handshake_bytes(s, s->pt, pt_len);
        } else if (ct == PQT_TLS_CT_ALERT) {
            on_alert(s, s->pt, pt_len);
        } else {
            verdict(s, 0, "unexpected_message", "encrypted record of inner type %u", ct);
        }
        return;
    }
    default:
        verdict(s, PQT_OUTCOME_MALFORMED, "record_type", "record of unknown type %u", h->type);
        return;
    }
}

static void process_records(pqt_probe_session *s)
{
    size_t off = 0;
    while (!s->done && s->rx_len - off >= PQT_TLS_RECORD_HEADER) {
        pqt_reader r = pqt_reader_make(s->rx + off, s->rx_len - off);
        pqt_record_header h;
        if (pqt_record_header_parse(&r, &h) != 0) {
            const uint8_t *b = s->rx + off;
            int tls_like = b[0] >= PQT_TLS_CT_CHANGE_CIPHER_SPEC &&
                           b[0] <= PQT_TLS_CT_APPLICATION_DATA && b[1] == 3;
            int first = !tls_like && s->rx_total <= s->rx_len;
            s->res.banner = first ? pqt_scan_banner_identify(b, s->rx_len - off) : 0;
            if (s->res.banner != 0) {
                /* A plaintext service: name it and quote its first line. */
                char text[64];
                size_t n = s->rx_len - off, j = 0;
                for (size_t i = 0; i < n && j + 1 < sizeof(text) && b[i] != '\r' && b[i] != '\n';
                     i++) {
                    text[j++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.';
                }
                text[j] = 0;
                verdict(s, PQT_OUTCOME_MALFORMED, "not_tls", "a plaintext %s banner, not TLS: '%s'",
                        pqt_scan_banner_name(s->res.banner), text);
                break;
            }
            verdict(s, PQT_OUTCOME_MALFORMED,
                    tls_like ? "record_too_large"
                    : first  ? "not_tls"
                             : "record_header",
                    "bytes %02x %02x %02x %02x %02x are not a valid TLS record header%s", b[0],
                    b[1], b[2], b[3], b[4], tls_like ? " (length above 2^14 + 2048)" : "");
            break;
        }
        if ((h.version >> 8) != 0x03) {
            verdict(s, PQT_OUTCOME_MALFORMED, "record_version", "record version 0x%04x is not 3.x",
                    h.version);
            break;
        }
        if (pqt_reader_left(&r) < h.length) {
            break;
        }
        on_record(s, &h, s->rx + off, r.p);
        off += PQT_TLS_RECORD_HEADER + h.length;
    }
    memmove(s->rx, s->rx + off, s->rx_len - off);
    s->rx_len -= off;
}

int pqt_probe_session_feed(pqt_probe_session *s, const uint8_t *data, size_t len)
{
    while (!s->done && len > 0) {
        size_t room = sizeof(s->rx) - s->rx_len;
        size_t take = len < room ? len : room;
        if (s->rx_total + take > PQT_PROBE_MAX_RX) {
            verdict(s, s->phase == PH_HELLO ? PQT_OUTCOME_MALFORMED : 0, "too_much_data",
                    "more than %u bytes without a verdict", PQT_PROBE_MAX_RX);
            break;
        }
        memcpy(s->rx + s->rx_len, data, take);
        s->rx_len += take;
        s->rx_total += take;
        s->res.bytes_received += take;
        data += take;
        len -= take;
        process_records(s);
        if (!s->done && s->rx_len == sizeof(s->rx)) {
            /* Cannot happen with the header limit; a guard all the same. */
            verdict(s, PQT_OUTCOME_MALFORMED, "record_overflow", "record larger than the buffer");
        }
    }
    return s->done ? 1 : 0;
}

void pqt_probe_session_eof(pqt_probe_session *s, int reset)
{
    if (s->done) {
        return;
    }
    if (s->phase == PH_RETRY) {
        verdict(s, 0, reset ? "reset_after_hrr" : "closed_after_hrr",
                "connection %s after the HelloRetryRequest, before a second ServerHello",
                reset ? "reset" : "closed");
    } else if (s->res.outcome == PQT_OUTCOME_SERVER_HELLO || s->res.outcome == PQT_OUTCOME_HRR) {
        verdict(s, 0, reset ? "reset_after_server_hello" : "closed_after_server_hello",
                "connection %s after the ServerHello (%llu bytes received)",
                reset ? "reset" : "closed", (unsigned long long)s->rx_total);
    } else if (s->rx_total == 0) {
        settle(s, reset ? PQT_OUTCOME_RESET : PQT_OUTCOME_CLOSED);
    } else {
        verdict(s, PQT_OUTCOME_MALFORMED, reset ? "reset_mid_message" : "closed_mid_message",
                "connection %s after %llu bytes, inside a record or message",
                reset ? "reset" : "closed", (unsigned long long)s->rx_total);
    }
}
