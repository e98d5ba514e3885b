/*
 * QUIC as a passive observer reads it (src/net/quic.c, part of the packet
 * layer): long headers of versions 1 (RFC 9000) and 2 (RFC 9369), Version
 * Negotiation and Retry packets, Initial packet protection (RFC 9001 §5:
 * keys derived from the client's first Destination Connection ID with
 * HKDF-SHA256, AES-128-GCM, AES-128-ECB header protection), the frames an
 * Initial packet may carry, and CRYPTO stream reassembly by offset under a
 * byte budget. Nothing here needs a secret: Initial keys are public by
 * design. What the CRYPTO bytes mean (TLS handshake messages) is for the
 * layers above.
 *
 * Every byte from the wire is read through pqt_reader (wire.h).
 */
#ifndef PQTLS_QUIC_H
#define PQTLS_QUIC_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"
#include "pqtls/net.h"
#include "pqtls/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQT_QUIC_V1 0x00000001u /* RFC 9000 */
#define PQT_QUIC_V2 0x6b3343cfu /* RFC 9369 */
#define PQT_QUIC_MAX_CID 20     /* RFC 9000 §17.2: v1 CIDs are at most 20 bytes */
#define PQT_QUIC_TAG 16

/* 1 for the versions whose Initial protection this code knows (v1, v2). */
PQT_API int pqt_quic_version_known(uint32_t version);

/* Packet kinds, independent of the version's type bits. */
typedef enum {
    PQT_QUIC_PKT_INITIAL = 0,
    PQT_QUIC_PKT_0RTT,
    PQT_QUIC_PKT_HANDSHAKE,
    PQT_QUIC_PKT_RETRY,
    PQT_QUIC_PKT_VN,      /* Version Negotiation (version 0) */
    PQT_QUIC_PKT_SHORT,   /* 1-RTT: the rest of the datagram */
    PQT_QUIC_PKT_UNKNOWN, /* a long header of a version we do not know */
} pqt_quic_pkt_type;

typedef struct {
    pqt_quic_pkt_type type;
    uint8_t first; /* first byte, still masked by header protection */
    uint32_t version;
    uint8_t dcid_len, scid_len;
    uint8_t dcid[PQT_QUIC_MAX_CID], scid[PQT_QUIC_MAX_CID];
    const uint8_t *token; /* Initial: the token; Retry: the Retry Token */
    size_t token_len;
    const uint8_t *versions; /* Version Negotiation: 4-byte versions */
    size_t n_versions;
    size_t pn_offset; /* Initial, 0-RTT, Handshake: packet number offset */
    size_t len;       /* bytes of the datagram this packet takes */
} pqt_quic_header;

/*
 * Parse the packet at the start of p (n bytes left in the datagram).
 * Coalesced packets (RFC 9000 §12.2): the next one starts at p + h->len.
 * A short header packet or a long header of an unknown version takes the
 * rest of the datagram. PQT_ERR_TRUNCATED when a length runs past the
 * datagram, PQT_ERR_SYNTAX for a connection ID above 20 bytes (RFC 9000
 * §17.2 allows no more in v1 and v2; a Version Negotiation packet or an
 * unknown version with longer ones is PQT_ERR_UNSUPPORTED: not a v1 or
 * v2 connection either), PQT_ERR_UNSUPPORTED for an empty datagram.
 */
PQT_API PQT_MUST_CHECK int pqt_quic_parse_header(const uint8_t *p, size_t n, pqt_quic_header *h);

/* A QUIC variable-length integer (RFC 9000 §16). */
PQT_API PQT_MUST_CHECK int pqt_quic_varint(pqt_reader *r, uint64_t *v);

/* ---- Initial packet protection (RFC 9001 §5.2, RFC 9369 §3.3) ---- */

/* The keys of one direction's Initial packets. */
typedef struct {
    uint8_t key[16], iv[12], hp[16];
} pqt_quic_keys;

/*
 * Initial keys for version from the Destination Connection ID of the
 * client's first Initial (after a Retry: the Retry's Source Connection
 * ID). client and server may be NULL. PQT_ERR_UNSUPPORTED for a version
 * other than 1 and 2.
 */
PQT_API PQT_MUST_CHECK int pqt_quic_initial_keys(uint32_t version, const uint8_t *dcid,
                                                 size_t dcid_len, pqt_quic_keys *client,
                                                 pqt_quic_keys *server);

/* Cipher contexts for opening packets (AES-128-GCM and AES-128-ECB), kept
 * and re-keyed only when the keys change: one per thread. */
typedef struct pqt_quic_opener pqt_quic_opener;
PQT_API PQT_MUST_CHECK int pqt_quic_opener_new(pqt_quic_opener **out);
PQT_API void pqt_quic_opener_free(pqt_quic_opener *op);

/*
 * Remove header protection from and decrypt a long-header packet (h from
 * pqt_quic_parse_header over pkt) into out (at least h->len bytes): the
 * unprotected header, then the plaintext. largest_pn is the largest packet
 * number opened so far in this packet number space, -1 for none (RFC 9000
 * §A.3 decodes the truncated number against it). *payload and
 * *payload_len give the plaintext within out, *pn the packet number.
 * PQT_ERR_TRUNCATED when the packet is too short to sample,
 * PQT_ERR_CRYPTO_LIB when the tag does not verify (wrong keys, damage),
 * PQT_ERR_ARG for a packet type without a packet number.
 */
PQT_API PQT_MUST_CHECK int pqt_quic_open(pqt_quic_opener *op, const pqt_quic_keys *k,
                                         const uint8_t *pkt, const pqt_quic_header *h,
                                         int64_t largest_pn, uint8_t *out, uint64_t *pn,
                                         const uint8_t **payload, size_t *payload_len);

/*
 * The inverse, for tests and for re-protecting masked packets: encrypt
 * the plaintext payload (payload_len bytes) of a packet whose unprotected
 * header (pn_offset + pn_len bytes, the Length field already counting
 * pn_len + payload_len + 16) is in hdr, and apply header protection. out
 * gets hdr_len + payload_len + 16 bytes.
 */
PQT_API PQT_MUST_CHECK int pqt_quic_seal(pqt_quic_opener *op, const pqt_quic_keys *k,
                                         const uint8_t *hdr, size_t pn_offset, size_t pn_len,
                                         uint64_t pn, const uint8_t *payload, size_t payload_len,
                                         uint8_t *out);

/* ---- Frames of Initial packets (RFC 9000 §19) ---- */

typedef struct {
    /* A CRYPTO frame's data at a stream offset. */
    void (*crypto)(void *ctx, uint64_t offset, const uint8_t *p, size_t n);
    /* CONNECTION_CLOSE: the error code (0x100 + alert for a TLS alert,
     * RFC 9001 §4.8) and whether it is the application variant. */
    void (*close)(void *ctx, uint64_t code, int app);
    void *ctx;
} pqt_quic_frame_sink;

/* What pqt_quic_frames met, as bits. */
#define PQT_QUIC_F_PADDING 0x01
#define PQT_QUIC_F_PING 0x02
#define PQT_QUIC_F_ACK 0x04
#define PQT_QUIC_F_CRYPTO 0x08
#define PQT_QUIC_F_CLOSE 0x10

/*
 * Walk the frames of a decrypted Initial or Handshake payload: PADDING,
 * PING, ACK (with ECN counts), CRYPTO, CONNECTION_CLOSE. *seen gets
 * PQT_QUIC_F_* bits (may be NULL). PQT_ERR_SYNTAX at a frame type an
 * Initial packet cannot carry (the frames before it were delivered),
 * PQT_ERR_TRUNCATED when a frame runs past the payload.
 */
PQT_API PQT_MUST_CHECK int pqt_quic_frames(const uint8_t *p, size_t n,
                                           const pqt_quic_frame_sink *sink, unsigned *seen);

/* ---- CRYPTO stream reassembly, one direction ---- */

#define PQT_QUIC_MAX_RANGES 16

typedef struct {
    uint8_t *buf; /* the stream from offset 0, cap bytes (charged to the budget) */
    size_t cap;
    size_t contig; /* bytes received from offset 0 without a hole */
    uint32_t n_ranges;
    struct {
        uint32_t lo, hi;
    } r[PQT_QUIC_MAX_RANGES]; /* received [lo, hi), sorted, disjoint */
} pqt_quic_crypto;

/* What pqt_quic_crypto_add saw, as bits. */
#define PQT_QUIC_C_OUT_OF_ORDER 0x01 /* data beyond the contiguous prefix */
#define PQT_QUIC_C_OVERLAP 0x02      /* bytes received before (the first copy wins) */
#define PQT_QUIC_C_TOO_FAR 0x04      /* beyond limit: dropped */
#define PQT_QUIC_C_BUDGET 0x08       /* the budget could not hold it: dropped */
#define PQT_QUIC_C_RANGES 0x10       /* too many holes: dropped */

/*
 * Add CRYPTO data at offset: bytes at or beyond limit (the largest stream
 * prefix the caller wants) are dropped, the buffer grows (charged to b)
 * as far as the data needs. Afterwards c->buf[0 .. c->contig) is the
 * stream so far. Returns PQT_QUIC_C_* bits.
 */
PQT_API unsigned pqt_quic_crypto_add(pqt_quic_crypto *c, pqt_budget *b, size_t limit,
                                     uint64_t offset, const uint8_t *p, size_t n);
/* Free the buffer and give its bytes back to b. */
PQT_API void pqt_quic_crypto_free(pqt_quic_crypto *c, pqt_budget *b);

#ifdef __cplusplus
}
#endif
#endif
