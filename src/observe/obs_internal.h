/*
 * Internals of the observer shared by reasm.c, tlsstream.c and engine.c.
 * Not installed; nothing here is exported.
 */
#ifndef PQTLS_OBS_INTERNAL_H
#define PQTLS_OBS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/observe.h"

/* Bytes buffered for all flows together (out-of-order segments, scan
 * windows, hello messages), against pqt_obs_config.max_buffer_bytes. */
typedef struct {
    size_t used, limit, peak;
} obs_budget;

/* 1 and the bytes reserved, or 0 when the budget would be exceeded. */
int obs_budget_take(obs_budget *b, size_t n);
void obs_budget_give(obs_budget *b, size_t n);

/* ---- TCP reassembly, one direction (reasm.c) ---- */

typedef struct obs_seg {
    struct obs_seg *next;
    uint32_t seq, len;
    uint8_t data[];
} obs_seg;

/* Where in-order bytes go: data() once per segment (or its new part). */
typedef struct {
    void (*data)(void *ctx, int side, const uint8_t *p, size_t n);
    void (*gap)(void *ctx, int side);
    void *ctx;
    int side;
} obs_sink;

typedef struct {
    uint32_t next_seq;
    uint32_t last_ack; /* the latest ACK this direction sent */
    uint8_t anchored, syn_seen, ack_valid, fin, rst, stopped;
    uint64_t delivered;
    obs_seg *ooo; /* sorted by seq */
    size_t ooo_bytes;
} obs_reasm;

/* Events reported by obs_reasm_segment (PQT_OBS_A_* bits plus these). */
#define OBS_EV_OUT_OF_WINDOW 0x10000

/* A SYN (or SYN-ACK) with sequence number isn. */
void obs_reasm_syn(obs_reasm *r, uint32_t isn);
/*
 * A data segment. peer is the other direction (its last ACK anchors this
 * one when no SYN was seen). Returns PQT_OBS_A_* / OBS_EV_* bits.
 */
unsigned obs_reasm_segment(obs_reasm *r, const obs_reasm *peer, obs_budget *b, uint32_t seq,
                           const uint8_t *data, size_t len, const obs_sink *sink);
/* End of the flow: deliver what is buffered across holes (reporting gaps). */
void obs_reasm_flush(obs_reasm *r, obs_budget *b, const obs_sink *sink);
/* Drop buffered segments without delivering them. */
void obs_reasm_free(obs_reasm *r, obs_budget *b);

/* ---- TLS records and handshake messages, one direction (tlsstream.c) ---- */

enum { OBS_TLS_SCAN = 0, OBS_TLS_RECORDS, OBS_TLS_LOST, OBS_TLS_OFF };

/* What a direction may start with when the scanner looks for TLS. */
enum { OBS_ROLE_UNKNOWN = 0, OBS_ROLE_CLIENT, OBS_ROLE_SERVER };

#define OBS_SCAN_MAX 8192          /* bytes searched for TLS before giving up */
#define OBS_HELLO_MAX 65536        /* largest hello body kept for parsing */
#define OBS_SKE_KEEP 16            /* ServerKeyExchange: only the curve matters */

typedef struct {
    uint8_t mode, role, ccs, gap;
    uint8_t *scan;
    size_t scan_len, scan_pos;
    uint8_t hdr[5];
    uint8_t hdr_have;
    uint8_t rec_type;
    uint32_t rec_left;
    uint16_t rec_len;
    uint8_t hs_hdr[4];
    uint8_t hs_hdr_have;
    uint8_t hs_type;
    uint32_t hs_len, hs_got;
    uint8_t *hs_buf; /* captured message body (hs_keep bytes) */
    uint32_t hs_keep;
    uint8_t alert[2];
    uint8_t alert_have;
    uint64_t seg_id, rec_id, hs_last_seg, hs_last_rec;
    unsigned hs_segs, hs_recs;
    size_t preamble; /* bytes before the first record */
} obs_tls_dir;

/* Callbacks into the engine (engine.c). */
typedef struct {
    /* Which role this direction plays now (the scanner asks). */
    int (*role)(void *ctx, int side);
    /* The direction's first record starts; role is what the scanner saw. */
    void (*start)(void *ctx, int side, int role, size_t preamble);
    /* A complete handshake message; body NULL when it was too large to keep
     * (or the budget ran out). Returns 1 when the engine keeps body (then it
     * owns the allocation of `kept` bytes and must free it and give the
     * bytes back to the budget). */
    int (*handshake)(void *ctx, int side, uint8_t type, uint8_t *body, uint32_t len,
                     uint32_t kept, unsigned segs, unsigned recs);
    void (*alert)(void *ctx, int side, uint8_t level, uint8_t desc);
    /* Every record header. For ChangeCipherSpec the answer says whether
     * this direction's later records are encrypted: in TLS <= 1.2 yes, in
     * TLS 1.3 it is the middlebox-compatibility dummy (RFC 8446 D.4) and a
     * second ClientHello or a ServerHello may follow in the clear. */
    int (*record)(void *ctx, int side, uint8_t type);
    void (*lost)(void *ctx, int side, int why);        /* OBS_LOST_* */
} obs_tls_events;

enum { OBS_LOST_NOT_TLS = 1, OBS_LOST_DESYNC, OBS_LOST_GAP, OBS_LOST_BUDGET };

void obs_tls_feed(obs_tls_dir *t, obs_budget *b, const obs_tls_events *ev, void *ctx, int side,
                  const uint8_t *p, size_t n);
void obs_tls_gap(obs_tls_dir *t, obs_budget *b, const obs_tls_events *ev, void *ctx, int side);
void obs_tls_free(obs_tls_dir *t, obs_budget *b);

/* ---- SHA-256 for JA4 (ja4.c) ---- */

/* SHA-256 of p[0..n) through libcrypto; 0, or PQT_ERR_CRYPTO_LIB with md
 * zeroed. */
int obs_sha256(const uint8_t *p, size_t n, uint8_t md[32]);

#endif
