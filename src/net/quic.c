/*
 * QUIC long headers, Initial packet protection, Initial frames and CRYPTO
 * stream reassembly for the passive observer (pqtls/quic.h).
 *
 * RFC 9001 §5.2: "Initial packets apply the packet protection process,
 * but use a secret derived from the Destination Connection ID field from
 * the client's first Initial packet." The salt and the labels are public,
 * so anyone on the path can read the ClientHello and the ServerHello; that
 * is all this file does. Initial keys are not secrets in any sense the
 * constant-time rules protect (STYLE.md): they are compared with memcmp to
 * skip re-keying the cipher contexts.
 */
/* SHA256_Init and friends are deprecated in OpenSSL 3 but not removed:
 * HKDF over a SHA-256 state copied by assignment costs a fraction of the
 * EVP digest calls (docs/performance.md, "QUIC Initial packets"). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/common.h"
#include "pqtls/quic.h"
#include "pqtls/wire.h"

/* RFC 9001 §5.2 initial_salt. */
static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
/* RFC 9369 §3.3.1 initial_salt. */
static const uint8_t salt_v2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};

int pqt_quic_version_known(uint32_t version)
{
    return version == PQT_QUIC_V1 || version == PQT_QUIC_V2;
}

int pqt_quic_varint(pqt_reader *r, uint64_t *v)
{
    uint8_t b0;
    const uint8_t *p;
    PQT_TRY(pqt_reader_u8(r, &b0));
    /* RFC 9000 §16: the two high bits of the first byte give the length. */
    size_t extra = ((size_t)1 << (b0 >> 6)) - 1;
    uint64_t x = b0 & 0x3f;
    PQT_TRY(pqt_reader_bytes(r, extra, &p));
    for (size_t i = 0; i < extra; i++) {
        x = x << 8 | p[i];
    }
    *v = x;
    return 0;
}

/* The version's long-header type bits (first byte, bits 4-5) as a kind.
 * RFC 9369 §3.2: v2 moves every type one up (Retry is 0). */
static pqt_quic_pkt_type long_type(uint32_t version, uint8_t first)
{
    unsigned t = (first >> 4) & 3;
    if (version == PQT_QUIC_V2) {
        t = (t + 3) & 3;
    }
    static const pqt_quic_pkt_type v1[4] = {PQT_QUIC_PKT_INITIAL, PQT_QUIC_PKT_0RTT,
                                            PQT_QUIC_PKT_HANDSHAKE, PQT_QUIC_PKT_RETRY};
    return v1[t];
}

static int read_cid(pqt_reader *r, uint8_t *len, uint8_t out[PQT_QUIC_MAX_CID], int known)
{
    const uint8_t *p;
    PQT_TRY(pqt_reader_u8(r, len));
    if (*len > PQT_QUIC_MAX_CID) {
        return known ? PQT_ERR_SYNTAX : PQT_ERR_UNSUPPORTED;
    }
    PQT_TRY(pqt_reader_bytes(r, *len, &p));
    if (*len > 0) {
        memcpy(out, p, *len);
    }
    return 0;
}

int pqt_quic_parse_header(const uint8_t *p, size_t n, pqt_quic_header *h)
{
    pqt_reader r = pqt_reader_make(p, n);
    uint64_t v;
    if (h == NULL) {
        return PQT_ERR_ARG;
    }
    memset(h, 0, sizeof(*h));
    if (n == 0) {
        return PQT_ERR_UNSUPPORTED;
    }
    PQT_TRY(pqt_reader_u8(&r, &h->first));
    if ((h->first & 0x80) == 0) {
        /* RFC 9000 §17.3: a short header has no length; it ends the datagram. */
        h->type = PQT_QUIC_PKT_SHORT;
        h->len = n;
        return 0;
    }
    PQT_TRY(pqt_reader_u32(&r, &h->version));
    int known = pqt_quic_version_known(h->version);
    PQT_TRY(read_cid(&r, &h->dcid_len, h->dcid, known));
    PQT_TRY(read_cid(&r, &h->scid_len, h->scid, known));
    if (h->version == 0) {
        /* RFC 9000 §17.2.1: the rest is a list of 4-byte versions. */
        size_t left = pqt_reader_left(&r);
        h->type = PQT_QUIC_PKT_VN;
        h->versions = r.p;
        h->n_versions = left / 4;
        h->len = n;
        return left % 4 == 0 ? 0 : PQT_ERR_SYNTAX;
    }
    if (!known) {
        h->type = PQT_QUIC_PKT_UNKNOWN;
        h->len = n;
        return 0;
    }
    h->type = long_type(h->version, h->first);
    if (h->type == PQT_QUIC_PKT_RETRY) {
        /* RFC 9000 §17.2.5: Retry Token, then a 16-byte integrity tag. */
        size_t left = pqt_reader_left(&r);
        if (left < PQT_QUIC_TAG) {
            return PQT_ERR_TRUNCATED;
        }
        h->token = r.p;
        h->token_len = left - PQT_QUIC_TAG;
        h->len = n;
        return 0;
    }
    if (h->type == PQT_QUIC_PKT_INITIAL) {
        PQT_TRY(pqt_quic_varint(&r, &v));
        if (v > pqt_reader_left(&r)) {
            return PQT_ERR_TRUNCATED;
        }
        h->token_len = (size_t)v;
        PQT_TRY(pqt_reader_bytes(&r, h->token_len, &h->token));
    }
    PQT_TRY(pqt_quic_varint(&r, &v)); /* Length: packet number and payload */
    if (v > pqt_reader_left(&r)) {
        return PQT_ERR_TRUNCATED;
    }
    h->pn_offset = (size_t)(r.p - p);
    h->len = h->pn_offset + (size_t)v;
    return 0;
}

/* ---- keys ---- */

/*
 * HMAC-SHA256 (RFC 2104) with the key's two padded blocks absorbed once:
 * each MAC under the key then costs a state copy and the message's own
 * blocks. Keys here are at most 32 bytes (a salt, a secret).
 */
typedef struct {
    SHA256_CTX in, out;
} hmac_key;

static void hmac_setup(hmac_key *k, const uint8_t *key, size_t n)
{
    uint8_t pad[SHA256_CBLOCK];
    memset(pad, 0x36, sizeof(pad));
    for (size_t i = 0; i < n; i++) {
        pad[i] ^= key[i];
    }
    SHA256_Init(&k->in);
    SHA256_Update(&k->in, pad, sizeof(pad));
    for (size_t i = 0; i < sizeof(pad); i++) {
        pad[i] ^= 0x36 ^ 0x5c;
    }
    SHA256_Init(&k->out);
    SHA256_Update(&k->out, pad, sizeof(pad));
    pqt_wipe(pad, sizeof(pad));
}

static void hmac_run(const hmac_key *k, const uint8_t *msg, size_t n, uint8_t out[32])
{
    SHA256_CTX c = k->in;
    uint8_t inner[32];
    SHA256_Update(&c, msg, n);
    SHA256_Final(inner, &c);
    c = k->out;
    SHA256_Update(&c, inner, sizeof(inner));
    SHA256_Final(out, &c);
    pqt_wipe(inner, sizeof(inner));
    pqt_wipe(&c, sizeof(c));
}

/* HKDF-Expand-Label(secret, label, "", n) for n <= 32 (RFC 8446 §7.1,
 * RFC 9001 §5.1): one block, T(1) = HMAC(secret, HkdfLabel | 0x01). */
static void expand_label(const hmac_key *k, const char *label, uint8_t *out, size_t n)
{
    uint8_t info[2 + 1 + 6 + 16 + 1 + 1], t[32];
    size_t ll = strlen(label), i = 0;
    info[i++] = 0;
    info[i++] = (uint8_t)n;
    info[i++] = (uint8_t)(6 + ll);
    memcpy(info + i, "tls13 ", 6);
    i += 6;
    memcpy(info + i, label, ll);
    i += ll;
    info[i++] = 0; /* no context */
    info[i++] = 1;
    hmac_run(k, info, i, t);
    memcpy(out, t, n);
    pqt_wipe(t, sizeof(t));
}

/* The salts as HMAC keys, set up once. */
static hmac_key salt_key[2];
static pthread_once_t salt_once = PTHREAD_ONCE_INIT;

static void salt_setup(void)
{
    hmac_setup(&salt_key[0], salt_v1, sizeof(salt_v1));
    hmac_setup(&salt_key[1], salt_v2, sizeof(salt_v2));
}

int pqt_quic_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len,
                          pqt_quic_keys *client, pqt_quic_keys *server)
{
    uint8_t initial[32], secret[32];
    const char *lk, *liv, *lhp;
    hmac_key ki, ks;
    int v2;
    if (version == PQT_QUIC_V1) {
        v2 = 0;
        lk = "quic key";
        liv = "quic iv";
        lhp = "quic hp";
    } else if (version == PQT_QUIC_V2) {
        /* RFC 9369 §3.3.2: the v2 labels. */
        v2 = 1;
        lk = "quicv2 key";
        liv = "quicv2 iv";
        lhp = "quicv2 hp";
    } else {
        return PQT_ERR_UNSUPPORTED;
    }
    if ((dcid == NULL && dcid_len > 0) || dcid_len > 255) {
        return PQT_ERR_ARG;
    }
    pthread_once(&salt_once, salt_setup);
    /* initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id) */
    hmac_run(&salt_key[v2], dcid_len > 0 ? dcid : salt_v1, dcid_len, initial);
    hmac_setup(&ki, initial, sizeof(initial));
    for (int side = 0; side < 2; side++) {
        pqt_quic_keys *k = side == 0 ? client : server;
        if (k == NULL) {
            continue;
        }
        expand_label(&ki, side == 0 ? "client in" : "server in", secret, sizeof(secret));
        hmac_setup(&ks, secret, sizeof(secret));
        expand_label(&ks, lk, k->key, 16);
        expand_label(&ks, liv, k->iv, 12);
        expand_label(&ks, lhp, k->hp, 16);
    }
    pqt_wipe(initial, sizeof(initial));
    pqt_wipe(secret, sizeof(secret));
    pqt_wipe(&ki, sizeof(ki));
    pqt_wipe(&ks, sizeof(ks));
    return 0;
}

/* ---- packet protection ---- */

static EVP_CIPHER *cipher_gcm, *cipher_ecb;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_ciphers(void)
{
    /* Fetched once: EVP_aes_128_gcm() would fetch again at every init. */
    cipher_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    cipher_ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
}

struct pqt_quic_opener {
    EVP_CIPHER_CTX *gcm, *ecb;
    uint8_t gcm_key[16], ecb_key[16];
    int gcm_keyed, ecb_keyed, gcm_enc;
    int gcm_ready, ecb_ready; /* the cipher is set: re-keying keeps its context */
};

int pqt_quic_opener_new(pqt_quic_opener **out)
{
    pqt_quic_opener *op;
    if (out == NULL) {
        return PQT_ERR_ARG;
    }
    *out = NULL;
    pthread_once(&fetch_once, fetch_ciphers);
    if (cipher_gcm == NULL || cipher_ecb == NULL) {
        return PQT_ERR_CRYPTO_LIB;
    }
    op = calloc(1, sizeof(*op));
    if (op == NULL) {
        return PQT_ERR_NOMEM;
    }
    op->gcm = EVP_CIPHER_CTX_new();
    op->ecb = EVP_CIPHER_CTX_new();
    if (op->gcm == NULL || op->ecb == NULL) {
        pqt_quic_opener_free(op);
        return PQT_ERR_NOMEM;
    }
    *out = op;
    return 0;
}

void pqt_quic_opener_free(pqt_quic_opener *op)
{
    if (op == NULL) {
        return;
    }
    EVP_CIPHER_CTX_free(op->gcm);
    EVP_CIPHER_CTX_free(op->ecb);
    pqt_wipe(op, sizeof(*op));
    free(op);
}

/* mask = AES-ECB(hp_key, sample) (RFC 9001 §5.4.3). */
static int hp_mask(pqt_quic_opener *op, const uint8_t hp[16], const uint8_t sample[16],
                   uint8_t mask[16])
{
    int l = 0;
    if (!op->ecb_keyed || memcmp(op->ecb_key, hp, 16) != 0) {
        /* With the cipher already set, only the key schedule is redone:
         * passing the cipher again would free and rebuild the provider's
         * context at every connection. */
        if (EVP_EncryptInit_ex(op->ecb, op->ecb_ready ? NULL : cipher_ecb, NULL, hp, NULL) != 1) {
            op->ecb_keyed = op->ecb_ready = 0;
            return PQT_ERR_CRYPTO_LIB;
        }
        op->ecb_ready = 1; /* one whole block per call: padding never applies */
        memcpy(op->ecb_key, hp, 16);
        op->ecb_keyed = 1;
    }
    if (EVP_EncryptUpdate(op->ecb, mask, &l, sample, 16) != 1 || l != 16) {
        return PQT_ERR_CRYPTO_LIB;
    }
    return 0;
}

/* Key the AEAD context (when the key or direction changed) and set the
 * nonce: iv XOR the packet number, left-padded (RFC 9001 §5.3). */
static int gcm_start(pqt_quic_opener *op, const pqt_quic_keys *k, uint64_t pn, int enc)
{
    uint8_t nonce[12];
    memcpy(nonce, k->iv, 12);
    for (int i = 0; i < 8; i++) {
        nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
    }
    if (!op->gcm_keyed || op->gcm_enc != enc || memcmp(op->gcm_key, k->key, 16) != 0) {
        if (EVP_CipherInit_ex(op->gcm, op->gcm_ready ? NULL : cipher_gcm, NULL, k->key, nonce,
                              enc) != 1) {
            op->gcm_keyed = op->gcm_ready = 0;
            return PQT_ERR_CRYPTO_LIB;
        }
        op->gcm_ready = 1;
        memcpy(op->gcm_key, k->key, 16);
        op->gcm_keyed = 1;
        op->gcm_enc = enc;
        return 0;
    }
    return EVP_CipherInit_ex(op->gcm, NULL, NULL, NULL, nonce, enc) == 1 ? 0 : PQT_ERR_CRYPTO_LIB;
}

/* RFC 9000 §A.3: the full packet number from its truncated form. */
static uint64_t decode_pn(int64_t largest, uint64_t truncated, unsigned pn_bits)
{
    uint64_t expected = (uint64_t)(largest + 1);
    uint64_t win = (uint64_t)1 << pn_bits, hwin = win / 2, mask = win - 1;
    uint64_t cand = (expected & ~mask) | truncated;
    if (cand + hwin <= expected && cand < ((uint64_t)1 << 62) - win) {
        return cand + win;
    }
    if (cand > expected + hwin && cand >= win) {
        return cand - win;
    }
    return cand;
}

int pqt_quic_open(pqt_quic_opener *op, const pqt_quic_keys *k, const uint8_t *pkt,
                  const pqt_quic_header *h, int64_t largest_pn, uint8_t *out, uint64_t *pn,
                  const uint8_t **payload, size_t *payload_len)
{
    uint8_t mask[16], tag[PQT_QUIC_TAG];
    const uint8_t *sample, *hdr, *ct;
    pqt_reader r;
    int l = 0;
    if (op == NULL || k == NULL || pkt == NULL || h == NULL || out == NULL || pn == NULL ||
        payload == NULL || payload_len == NULL) {
        return PQT_ERR_ARG;
    }
    if (h->type != PQT_QUIC_PKT_INITIAL && h->type != PQT_QUIC_PKT_HANDSHAKE &&
        h->type != PQT_QUIC_PKT_0RTT) {
        return PQT_ERR_ARG;
    }
    /* RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number
     * offset, as if the packet number were 4 bytes long. */
    r = pqt_reader_make(pkt, h->len);
    PQT_TRY(pqt_reader_skip(&r, h->pn_offset + 4));
    PQT_TRY(pqt_reader_bytes(&r, 16, &sample));
    PQT_TRY(hp_mask(op, k->hp, sample, mask));
    uint8_t first = (uint8_t)(h->first ^ (mask[0] & 0x0f)); /* long header: 4 bits */
    size_t pn_len = (size_t)(first & 3) + 1, hdr_len = h->pn_offset + pn_len;
    r = pqt_reader_make(pkt, h->len);
    PQT_TRY(pqt_reader_bytes(&r, hdr_len, &hdr));
    if (pqt_reader_left(&r) < PQT_QUIC_TAG) {
        return PQT_ERR_TRUNCATED;
    }
    size_t ct_len = pqt_reader_left(&r) - PQT_QUIC_TAG;
    PQT_TRY(pqt_reader_bytes(&r, ct_len, &ct));
    PQT_TRY(pqt_reader_copy(&r, tag, PQT_QUIC_TAG));
    memcpy(out, hdr, hdr_len);
    out[0] = first;
    uint64_t trunc = 0;
    for (size_t i = 0; i < pn_len; i++) {
        out[h->pn_offset + i] ^= mask[1 + i];
        trunc = trunc << 8 | out[h->pn_offset + i];
    }
    *pn = decode_pn(largest_pn, trunc, (unsigned)(8 * pn_len));
    PQT_TRY(gcm_start(op, k, *pn, 0));
    if (EVP_DecryptUpdate(op->gcm, NULL, &l, out, (int)hdr_len) != 1 ||
        (ct_len > 0 && EVP_DecryptUpdate(op->gcm, out + hdr_len, &l, ct, (int)ct_len) != 1) ||
        EVP_CIPHER_CTX_ctrl(op->gcm, EVP_CTRL_AEAD_SET_TAG, PQT_QUIC_TAG, tag) != 1 ||
        EVP_DecryptFinal_ex(op->gcm, out + hdr_len + ct_len, &l) != 1) {
        return PQT_ERR_CRYPTO_LIB;
    }
    *payload = out + hdr_len;
    *payload_len = ct_len;
    return 0;
}

int pqt_quic_seal(pqt_quic_opener *op, const pqt_quic_keys *k, const uint8_t *hdr, size_t pn_offset,
                  size_t pn_len, uint64_t pn, const uint8_t *payload, size_t payload_len,
                  uint8_t *out)
{
    uint8_t mask[16];
    int l = 0;
    size_t hdr_len = pn_offset + pn_len;
    if (op == NULL || k == NULL || hdr == NULL || out == NULL || pn_len < 1 || pn_len > 4 ||
        (payload == NULL && payload_len > 0) || payload_len > 0x7fffffff ||
        4 + 16 > pn_len + payload_len + PQT_QUIC_TAG) {
        return PQT_ERR_ARG; /* too short to sample */
    }
    memcpy(out, hdr, hdr_len);
    PQT_TRY(gcm_start(op, k, pn, 1));
    if (EVP_EncryptUpdate(op->gcm, NULL, &l, out, (int)hdr_len) != 1 ||
        (payload_len > 0 &&
         EVP_EncryptUpdate(op->gcm, out + hdr_len, &l, payload, (int)payload_len) != 1) ||
        EVP_EncryptFinal_ex(op->gcm, out + hdr_len + payload_len, &l) != 1 ||
        EVP_CIPHER_CTX_ctrl(op->gcm, EVP_CTRL_AEAD_GET_TAG, PQT_QUIC_TAG,
                            out + hdr_len + payload_len) != 1) {
        return PQT_ERR_CRYPTO_LIB;
    }
    PQT_TRY(hp_mask(op, k->hp, out + pn_offset + 4, mask));
    out[0] ^= (uint8_t)(mask[0] & ((out[0] & 0x80) ? 0x0f : 0x1f));
    for (size_t i = 0; i < pn_len; i++) {
        out[pn_offset + i] ^= mask[1 + i];
    }
    return 0;
}

/* ---- frames ---- */

int pqt_quic_frames(const uint8_t *p, size_t n, const pqt_quic_frame_sink *sink, unsigned *seen)
{
    pqt_reader r = pqt_reader_make(p, n);
    unsigned bits = 0;
    int ret = 0;
    while (ret == 0 && pqt_reader_left(&r) > 0) {
        uint64_t type, a, b, c;
        const uint8_t *data;
        if (r.p[0] == 0) {
            /* PADDING: a run of zero bytes, skipped at once. */
            while (pqt_reader_left(&r) >= 8) {
                uint64_t w;
                memcpy(&w, r.p, 8);
                if (w != 0) {
                    break;
                }
                r.p += 8;
            }
            while (pqt_reader_left(&r) > 0 && r.p[0] == 0) {
                r.p++;
            }
            bits |= PQT_QUIC_F_PADDING;
            continue;
        }
        ret = pqt_quic_varint(&r, &type);
        if (ret != 0) {
            break;
        }
        switch (type) {
        case 0x01: /* PING */
            bits |= PQT_QUIC_F_PING;
            break;
        case 0x02: /* ACK */
        case 0x03: /* ACK with ECN counts (RFC 9000 §19.3) */
            bits |= PQT_QUIC_F_ACK;
            if ((ret = pqt_quic_varint(&r, &a)) != 0 || (ret = pqt_quic_varint(&r, &a)) != 0 ||
                (ret = pqt_quic_varint(&r, &b)) != 0 || (ret = pqt_quic_varint(&r, &a)) != 0) {
                break; /* largest, delay, range count (b), first range */
            }
            /* Each range is at least two bytes: a count beyond what is
             * left fails in the loop without spinning on it. */
            for (uint64_t i = 0; i < b && ret == 0; i++) {
                ret = pqt_quic_varint(&r, &a);
                if (ret == 0) {
                    ret = pqt_quic_varint(&r, &a);
                }
            }
            for (int i = 0; i < 3 && ret == 0 && type == 0x03; i++) {
                ret = pqt_quic_varint(&r, &a);
            }
            break;
        case 0x06: /* CRYPTO: offset, length, data */
            bits |= PQT_QUIC_F_CRYPTO;
            if ((ret = pqt_quic_varint(&r, &a)) != 0 || (ret = pqt_quic_varint(&r, &b)) != 0) {
                break;
            }
            if (b > pqt_reader_left(&r)) {
                ret = PQT_ERR_TRUNCATED;
                break;
            }
            ret = pqt_reader_bytes(&r, (size_t)b, &data);
            /* RFC 9000 §19.6: offset + length is at most 2^62 - 1. */
            if (ret == 0 && a + b >= ((uint64_t)1 << 62)) {
                ret = PQT_ERR_SYNTAX;
            }
            if (ret == 0 && sink != NULL && sink->crypto != NULL) {
                sink->crypto(sink->ctx, a, data, (size_t)b);
            }
            break;
        case 0x1c: /* CONNECTION_CLOSE: code, frame type, reason */
        case 0x1d: /* the application variant: code, reason */
            bits |= PQT_QUIC_F_CLOSE;
            if ((ret = pqt_quic_varint(&r, &a)) != 0) {
                break;
            }
            if (type == 0x1c && (ret = pqt_quic_varint(&r, &c)) != 0) {
                break;
            }
            if ((ret = pqt_quic_varint(&r, &b)) != 0) {
                break;
            }
            if (b > pqt_reader_left(&r)) {
                ret = PQT_ERR_TRUNCATED;
                break;
            }
            ret = pqt_reader_skip(&r, (size_t)b);
            if (ret == 0 && sink != NULL && sink->close != NULL) {
                sink->close(sink->ctx, a, type == 0x1d);
            }
            break;
        default:
            /* RFC 9000 §12.4: no other frame may be in an Initial or
             * Handshake packet. */
            ret = PQT_ERR_SYNTAX;
            break;
        }
    }
    if (seen != NULL) {
        *seen = bits;
    }
    return ret;
}

/* ---- CRYPTO stream reassembly ---- */

unsigned pqt_quic_crypto_add(pqt_quic_crypto *c, pqt_budget *b, size_t limit, uint64_t offset,
                             const uint8_t *p, size_t n)
{
    unsigned bits = 0;
    if (n == 0) {
        return 0;
    }
    if (offset >= limit || limit > UINT32_MAX) {
        return PQT_QUIC_C_TOO_FAR;
    }
    size_t lo = (size_t)offset, hi = n > limit - lo ? limit : lo + n;
    if (hi < lo + n) {
        bits |= PQT_QUIC_C_TOO_FAR;
    }
    if (lo > c->contig) {
        bits |= PQT_QUIC_C_OUT_OF_ORDER;
    }
    /* The ranges after the merge: those that neither touch nor overlap
     * [lo, hi), and one for the union. */
    uint32_t keep = 0;
    for (uint32_t i = 0; i < c->n_ranges; i++) {
        if (c->r[i].hi < lo || c->r[i].lo > hi) {
            keep++;
        }
    }
    if (keep + 1 > PQT_QUIC_MAX_RANGES) {
        return bits | PQT_QUIC_C_RANGES;
    }
    if (hi > c->cap) {
        size_t cap = c->cap < 2048 ? 2048 : c->cap;
        while (cap < hi) {
            cap *= 2;
        }
        if (cap > limit) {
            cap = limit;
        }
        if (!pqt_budget_take(b, cap)) {
            return bits | PQT_QUIC_C_BUDGET;
        }
        uint8_t *nb = realloc(c->buf, cap);
        if (nb == NULL) {
            pqt_budget_give(b, cap);
            return bits | PQT_QUIC_C_BUDGET;
        }
        if (c->cap > 0) {
            pqt_budget_give(b, c->cap);
        }
        c->buf = nb;
        c->cap = cap;
    }
    /* Copy what no earlier frame brought (the first copy wins). */
    size_t pos = lo;
    for (uint32_t i = 0; i < c->n_ranges && pos < hi; i++) {
        if (c->r[i].hi <= pos || c->r[i].lo >= hi) {
            continue;
        }
        if (c->r[i].lo > pos) {
            memcpy(c->buf + pos, p + (pos - lo), c->r[i].lo - pos);
        }
        bits |= PQT_QUIC_C_OVERLAP;
        pos = c->r[i].hi;
    }
    if (pos < hi) {
        memcpy(c->buf + pos, p + (pos - lo), hi - pos);
    }
    /* Merge [lo, hi) into the sorted ranges: those below stay, those
     * touching it join the union, those above move after it. */
    uint32_t nlo = (uint32_t)lo, nhi = (uint32_t)hi, out = 0, nt = 0;
    uint32_t tlo[PQT_QUIC_MAX_RANGES], thi[PQT_QUIC_MAX_RANGES];
    for (uint32_t i = 0; i < c->n_ranges; i++) {
        if (c->r[i].hi < lo) {
            c->r[out++] = c->r[i];
        } else if (c->r[i].lo > hi) {
            tlo[nt] = c->r[i].lo;
            thi[nt++] = c->r[i].hi;
        } else {
            nlo = c->r[i].lo < nlo ? c->r[i].lo : nlo;
            nhi = c->r[i].hi > nhi ? c->r[i].hi : nhi;
        }
    }
    c->r[out].lo = nlo;
    c->r[out].hi = nhi;
    out++;
    for (uint32_t i = 0; i < nt; i++) {
        c->r[out].lo = tlo[i];
        c->r[out].hi = thi[i];
        out++;
    }
    c->n_ranges = out;
    c->contig = c->r[0].lo == 0 ? c->r[0].hi : 0;
    return bits;
}

void pqt_quic_crypto_free(pqt_quic_crypto *c, pqt_budget *b)
{
    if (c->buf != NULL) {
        free(c->buf);
        pqt_budget_give(b, c->cap);
    }
    memset(c, 0, sizeof(*c));
}
