/*
 * Internals of the observer shared by tlsstream.c and engine.c.
 * Not installed; nothing here is exported.
 */
#ifndef PQTLS_OBS_INTERNAL_H
#define PQTLS_OBS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/observe.h"
#include "pqtls/record.h"

/* ---- TLS records and handshake messages, one direction (tlsstream.c) ---- */

enum { OBS_TLS_SCAN = 0, OBS_TLS_RECORDS, OBS_TLS_LOST, OBS_TLS_OFF };

/* What a direction may start with when the scanner looks for TLS. */
enum { OBS_ROLE_UNKNOWN = 0, OBS_ROLE_CLIENT, OBS_ROLE_SERVER };

#define OBS_SCAN_MAX 8192   /* bytes searched for TLS before giving up */
#define OBS_HELLO_MAX 65536 /* largest hello body kept for parsing */
#define OBS_SKE_KEEP 16     /* ServerKeyExchange: only the curve matters */

typedef struct {
    uint8_t mode, role, ccs, gap;
    uint8_t hs_what; /* OBS_HS_* of the message being reassembled */
    uint8_t *scan;
    size_t scan_len, scan_pos;
    pqt_record_framer fr; /* records (src/tls/record.c) */
    pqt_hs_reasm hs;      /* handshake messages across records */
    uint8_t alert[2];
    uint8_t alert_have;
    uint64_t seg_id; /* feed calls: the TCP segments a message came in */
    size_t preamble; /* bytes before the first record */
} obs_tls_dir;

/* Callbacks into the engine (engine.c). */
typedef struct {
    /* Which role this direction plays now (the scanner asks). */
    int (*role)(void *ctx, int side);
    /* The direction's first record starts; role is what the scanner saw.
     * pre holds the bytes before it (preamble of them; NULL and 0 when the
     * stream starts with the record), valid only during the call. */
    void (*start)(void *ctx, int side, int role, const uint8_t *pre, size_t preamble);
    /* A handshake message that is not whole in the piece of record body
     * where it starts, so it is reassembled: type, the length its header
     * claims, and what happens to its body (OBS_HS_*). Messages whole in
     * one piece are not announced: they go straight to handshake(). */
    void (*hs_begin)(void *ctx, int side, uint8_t type, uint32_t len, int what);
    /* A complete handshake message: the first `kept` bytes of its body,
     * read in place from the segment when the message was whole in one
     * (no copy), else from the reassembly buffer; body NULL when it was not
     * kept (too large, or the budget ran out). Valid only during the call. */
    void (*handshake)(void *ctx, int side, uint8_t type, const uint8_t *body, uint32_t len,
                      uint32_t kept, unsigned segs, unsigned recs);
    void (*alert)(void *ctx, int side, uint8_t level, uint8_t desc);
    /* Every record header. For ChangeCipherSpec the answer says whether
     * this direction's later records are encrypted: in TLS <= 1.2 yes, in
     * TLS 1.3 it is the middlebox-compatibility dummy (RFC 8446 D.4) and a
     * second ClientHello or a ServerHello may follow in the clear. */
    int (*record)(void *ctx, int side, uint8_t type);
    void (*lost)(void *ctx, int side, int why); /* OBS_LOST_* */
} obs_tls_events;

enum { OBS_LOST_NOT_TLS = 1, OBS_LOST_DESYNC, OBS_LOST_GAP, OBS_LOST_BUDGET };

/* What becomes of a reassembled handshake message's body (hs_begin). */
enum {
    OBS_HS_SKIP = 0, /* not a message the observer reads: counted past */
    OBS_HS_KEEP,     /* buffered (charged to the buffer budget) */
    OBS_HS_TOO_BIG,  /* a hello above OBS_HELLO_MAX: counted past */
    OBS_HS_BUDGET    /* wanted, but the buffer budget (or memory) ran out */
};

void pqt_obs_tls_feed(obs_tls_dir *t, pqt_budget *b, const obs_tls_events *ev, void *ctx, int side,
                      const uint8_t *p, size_t n);
void pqt_obs_tls_gap(obs_tls_dir *t, pqt_budget *b, const obs_tls_events *ev, void *ctx, int side);
void pqt_obs_tls_free(obs_tls_dir *t, pqt_budget *b);

/* ---- application protocol (appproto.c) ---- */

/*
 * Direct TLS, or a preamble no rule names: the first ALPN protocol ID the
 * client offered that names one of ours, else the server port in ports,
 * else a built-in port (443 https, 465 smtp, ...). *by says which.
 */
pqt_obs_app_protocol pqt_obs_app_direct(const pqt_client_hello *ch, uint16_t port,
                                        const pqt_obs_app_port *ports, size_t n_ports,
                                        pqt_obs_app_source *by);

#endif
