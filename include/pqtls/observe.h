/*
 * Passive TLS handshake observation (`pqtls observe`): packets in,
 * one record per TLS handshake out, plus counters.
 *
 * Pipeline: src/net (pqtls/net.h: captures, link/IP/TCP/UDP decoding, TCP
 * reassembly under a byte budget) -> src/observe/tlsstream.c (TLS records
 * and handshake messages through src/tls/record.c, hellos parsed by
 * src/tls/hello.c) -> engine.c (flow table with a hard limit, outcome, JA4,
 * client family) -> output.c, agg.c (JSON Lines, table, Prometheus).
 *
 * Nothing is dropped silently: every packet, flow or byte the observer
 * cannot follow is counted in pqt_obs_stats and reported by every output.
 */
#ifndef PQTLS_OBSERVE_H
#define PQTLS_OBSERVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pqtls/err.h"
#include "pqtls/hello.h"
#include "pqtls/ja4.h"
#include "pqtls/mask.h"
#include "pqtls/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* JSON Lines schema version: bumped on any incompatible change. */
#define PQT_OBS_SCHEMA "pqtls.observe/1"

/* ---- Handshake records ---------------------------------------------- */

typedef enum {
    PQT_OBS_COMPLETED = 0,       /* both sides went on to encrypted traffic */
    PQT_OBS_ALERT,               /* a fatal (or close_notify) plaintext alert */
    PQT_OBS_RESET_AFTER_CH,      /* RST after the ClientHello, nothing from the server */
    PQT_OBS_CLOSED_AFTER_CH,     /* FIN after the ClientHello, nothing from the server */
    PQT_OBS_RESET,               /* RST after the server's answer, before completion */
    PQT_OBS_CLOSED,              /* FIN after the server's answer, before completion */
    PQT_OBS_TIMEOUT,             /* idle longer than the timeout, unfinished */
    PQT_OBS_TRUNCATED,           /* the capture ended before the handshake did */
    PQT_OBS_GAP,                 /* bytes missing from the capture inside the handshake */
    PQT_OBS_EVICTED,             /* pushed out of a full flow table */
    PQT_OBS_NO_ANSWER,           /* QUIC: the server sent nothing (timeout or end of capture) */
    PQT_OBS_VERSION_NEGOTIATION, /* QUIC: the server answered with Version Negotiation */
    PQT_OBS_N_OUTCOMES
} pqt_obs_outcome;

/* Stable outcome names used in every output ("completed", ...). */
PQT_API const char *pqt_obs_outcome_name(pqt_obs_outcome o);

/* What carried the handshake. */
typedef enum {
    PQT_OBS_TCP = 0,  /* TLS records over TCP */
    PQT_OBS_QUIC = 1, /* CRYPTO frames in QUIC Initial packets over UDP */
} pqt_obs_transport;

/* "tcp", "quic". */
PQT_API const char *pqt_obs_transport_name(pqt_obs_transport t);

/* Where the negotiated group came from. */
typedef enum {
    PQT_OBS_GROUP_NONE = 0,
    PQT_OBS_GROUP_KEY_SHARE = 1, /* TLS 1.3 ServerHello key_share */
    PQT_OBS_GROUP_SKE = 2,       /* TLS 1.2 ECDHE ServerKeyExchange */
} pqt_obs_group_source;

/* Anomaly bits in pqt_obs_handshake.anomalies. */
#define PQT_OBS_A_MIDSTREAM PQT_REASM_MIDSTREAM       /* no SYN seen: joined mid-stream */
#define PQT_OBS_A_RETRANSMIT PQT_REASM_RETRANSMIT     /* retransmitted segments */
#define PQT_OBS_A_OUT_OF_ORDER PQT_REASM_OUT_OF_ORDER /* segments arrived out of order */
#define PQT_OBS_A_OVERLAP PQT_REASM_OVERLAP /* overlapping segments (the first copy wins) */
#define PQT_OBS_A_GAP PQT_REASM_GAP         /* missing bytes (capture loss) */
#define PQT_OBS_A_HELLO_TOO_BIG 0x20        /* a hello above 64 KiB (claimed size), not parsed */
#define PQT_OBS_A_PREAMBLE 0x40             /* TLS started after other bytes (proxy, STARTTLS) */
#define PQT_OBS_A_SH_MALFORMED 0x80         /* ServerHello did not parse (e.g. draft formats) */
#define PQT_OBS_A_BUDGET PQT_REASM_BUDGET   /* buffer budget ran out: a hole or a hello given up */
#define PQT_OBS_A_SNAPLEN 0x200             /* packets cut by the capture snaplen */
#define PQT_OBS_A_MEMORY 0x400              /* evicted to stay under the memory limit */
#define PQT_OBS_A_SERVER_NOT_TLS 0x800      /* the server answered the ClientHello with non-TLS */

/*
 * The application protocol that carried the handshake (docs/observe.md,
 * "Application protocol"): from the cleartext before the ClientHello
 * (STARTTLS and its kin), else from the ALPN the client offered, else from
 * the server port. Stable names: pqt_obs_app_protocol_name.
 */
typedef enum {
    PQT_OBS_APP_UNKNOWN = 0,
    PQT_OBS_APP_HTTPS,
    PQT_OBS_APP_SMTP,
    PQT_OBS_APP_IMAP,
    PQT_OBS_APP_POP3,
    PQT_OBS_APP_FTP,
    PQT_OBS_APP_LDAP,
    PQT_OBS_APP_POSTGRES,
    PQT_OBS_APP_MYSQL,
    PQT_OBS_APP_XMPP,
    PQT_OBS_N_APPS
} pqt_obs_app_protocol;

/* How app_protocol was decided. */
typedef enum {
    PQT_OBS_APP_BY_NONE = 0, /* unknown */
    PQT_OBS_APP_BY_PREAMBLE, /* the cleartext dialogue before the ClientHello */
    PQT_OBS_APP_BY_ALPN,     /* a protocol name the ClientHello offered in ALPN */
    PQT_OBS_APP_BY_PORT,     /* the server port (or an HTTP CONNECT target's) */
    PQT_OBS_APP_BY_ANSWER,   /* the server's plaintext answer to the ClientHello */
} pqt_obs_app_source;

/* "https", "smtp", ... "unknown". */
PQT_API const char *pqt_obs_app_protocol_name(pqt_obs_app_protocol p);
/* The protocol of a name as pqt_obs_app_protocol_name spells it; -1 if none. */
PQT_API int pqt_obs_app_protocol_from_name(const char *name);
/* "preamble", "alpn", "port", "answer", or NULL for PQT_OBS_APP_BY_NONE. */
PQT_API const char *pqt_obs_app_source_name(pqt_obs_app_source s);

/*
 * The protocol a cleartext dialogue before TLS belongs to: client holds the
 * first client_len bytes the client sent before its ClientHello, server
 * the server's bytes before it (either may be empty). Only the first
 * PQT_OBS_APP_PEEK bytes of each are read. PQT_OBS_APP_UNKNOWN when no rule
 * matches; *connect_port (may be NULL) is set to the target port of an HTTP
 * CONNECT request found instead, else 0.
 */
#define PQT_OBS_APP_PEEK 512
PQT_API pqt_obs_app_protocol pqt_obs_app_from_preamble(const uint8_t *client, size_t client_len,
                                                       const uint8_t *server, size_t server_len,
                                                       uint16_t *connect_port);

/* A server port whose direct TLS is one protocol (--app-port PORT=PROTOCOL). */
typedef struct {
    uint16_t port;
    pqt_obs_app_protocol app;
} pqt_obs_app_port;

/* The TLS library that wrote a ClientHello (docs/observe.md). */
typedef enum {
    PQT_OBS_LIB_UNKNOWN = 0,
    PQT_OBS_LIB_BORINGSSL,
    PQT_OBS_LIB_NSS,
    PQT_OBS_LIB_OPENSSL,
    PQT_OBS_LIB_GNUTLS,
    PQT_OBS_LIB_JSSE,
    PQT_OBS_LIB_GO,
    PQT_OBS_LIB_RUSTLS,
    PQT_OBS_LIB_SCHANNEL,
    PQT_OBS_LIB_APPLE,
    PQT_OBS_N_LIBRARIES
} pqt_obs_library;

/* "boringssl", "nss", ... "unknown". */
PQT_API const char *pqt_obs_library_name(pqt_obs_library l);
/* The library of a name as pqt_obs_library_name spells it; -1 if none. */
PQT_API int pqt_obs_library_from_name(const char *name);

/* What decided a record's family: a JA4 entry, a feature rule, nothing. */
typedef enum { PQT_OBS_BASIS_NONE = 0, PQT_OBS_BASIS_JA4, PQT_OBS_BASIS_FEATURES } pqt_obs_basis;
/* "none", "ja4", "features". */
PQT_API const char *pqt_obs_basis_name(pqt_obs_basis b);

typedef struct {
    uint64_t ts_us; /* capture time of the first ClientHello byte */
    uint8_t ip_version;
    uint8_t client[16], server[16];
    uint16_t client_port, server_port;
    uint16_t vlan[PQT_NET_MAX_VLAN];
    uint8_t n_vlan;
    uint8_t client_ttl, server_ttl; /* 0: not seen */
    pqt_obs_transport transport;

    /* QUIC only (transport PQT_OBS_QUIC): the version of the client's
     * Initial packets, how many Initial packets and UDP datagrams of the
     * client's carried the first ClientHello up to its last byte (Chromium
     * splits a post-quantum one over two), whether the server sent a
     * Retry, and a CONNECTION_CLOSE in an Initial packet: its error code
     * (RFC 9001 §4.8: 0x100 + the TLS alert for a crypto error) and who
     * sent it. */
    uint32_t quic_version;
    unsigned quic_initials, quic_datagrams;
    int quic_retry;
    int has_quic_close, quic_close_from_server;
    uint64_t quic_close_code;

    /* First ClientHello (JA4 is taken from it, FoxIO note 4). ch points into
     * observer memory valid only during the callback, and holds what the
     * outputs read: legacy_version, cipher_suites, versions, groups,
     * sig_algs, sni, alpn, the extension types (ext[].data NULL) and the key
     * shares' groups and sizes (key_shares[].share NULL). The observer does
     * not keep a hello after parsing it, so random, session_id, compression
     * and the extension and share bytes are NULL/0. */
    int has_ch; /* a complete ClientHello that parsed */
    int ch_err; /* its parse error when it did not (0 otherwise) */
    pqt_client_hello ch;
    size_t ch_size; /* handshake length field (body bytes): the claimed size,
                     * also when the hello was too big or not buffered */
    unsigned ch_segments, ch_records;
    char ja4[PQT_JA4_SIZE];            /* "" without a ClientHello */
    const char *ja4_r;                 /* raw sorted JA4, NULL without one */
    const char *client_family;         /* display name, "unknown" */
    pqt_obs_library client_library;    /* the library the hello shows */
    pqt_obs_basis family_basis;        /* what decided the two */
    pqt_obs_app_protocol app_protocol; /* what carried the handshake */
    pqt_obs_app_source app_source;     /* how that was decided */

    /* Second ClientHello after a HelloRetryRequest: its key-share groups. */
    uint16_t retry_key_share[PQT_HELLO_MAX_KEY_SHARES];
    size_t n_retry_key_share;

    int has_sh;              /* a ServerHello (not HRR) that parsed */
    uint16_t server_version; /* negotiated (supported_versions or legacy) */
    uint16_t cipher;
    int group_source; /* pqt_obs_group_source */
    uint16_t group;
    int hrr;
    uint16_t hrr_group; /* group the HRR asked for, 0 if none */

    pqt_obs_outcome outcome;
    int alert_from_server; /* outcome ALERT: 1 server, 0 client */
    uint8_t alert_level, alert_desc;
    int closed_by_server; /* outcomes RESET* / CLOSED*: who */
    unsigned anomalies;   /* PQT_OBS_A_* */
} pqt_obs_handshake;

/* ---- Client families (family.c) -------------------------------------- */

typedef struct pqt_obs_families pqt_obs_families;

/* The built-in entries (src/observe/families.rules, compiled in). */
PQT_API PQT_MUST_CHECK int pqt_obs_families_new(pqt_obs_families **out);
/*
 * Add the entries of a rules file, which take precedence over the built-in
 * ones (docs/observe.md, "Client families"): "ja4 PATTERN LIBRARY FAMILY"
 * lines, "rule LIBRARY FAMILY" followed by condition lines, and the
 * original "JA4 FAMILY" lines, where JA4 is a full fingerprint or a prefix
 * ending in '*'; '#' starts a comment. On a syntax error *bad_line is the
 * 1-based line and PQT_ERR_SYNTAX is returned.
 */
PQT_API PQT_MUST_CHECK int pqt_obs_families_load(pqt_obs_families *f, const char *path,
                                                 unsigned *bad_line);
/* The same from memory: len bytes of text (no NUL byte in them), at most
 * PQT_OBS_FAMILIES_MAX (PQT_ERR_LENGTH beyond). */
#define PQT_OBS_FAMILIES_MAX ((size_t)16 << 20)
PQT_API PQT_MUST_CHECK int pqt_obs_families_load_text(pqt_obs_families *f, const char *text,
                                                      size_t len, unsigned *bad_line);
/* JA4 entries only: the family for a JA4, or "unknown". */
PQT_API const char *pqt_obs_family(const pqt_obs_families *f, const char *ja4);

typedef struct {
    pqt_obs_library library;
    const char *family; /* display name, owned by the table; "unknown" */
    pqt_obs_basis basis;
} pqt_obs_family_match;

/*
 * The first entry that matches a parsed ClientHello (extension bodies
 * included) and its JA4 (may be NULL or ""): user entries in file order,
 * then the built-in ones. A JA4 entry that names no library (the "JA4
 * FAMILY" form) takes its library from the first feature rule that
 * matches. Nothing matching: unknown, "unknown", none.
 */
PQT_API void pqt_obs_family_classify(const pqt_obs_families *f, const pqt_client_hello *ch,
                                     const char *ja4, pqt_obs_family_match *out);
/* How many JA4 entries and feature rules the table holds. */
PQT_API void pqt_obs_families_count(const pqt_obs_families *f, size_t *ja4_entries, size_t *rules);
PQT_API void pqt_obs_families_free(pqt_obs_families *f);

/* ---- The observer (engine.c) ------------------------------------------ */

typedef void (*pqt_obs_callback)(const pqt_obs_handshake *hs, void *arg);

/*
 * Limits. max_memory_bytes bounds everything the observer keeps: the flow
 * table, every flow and the handshake it is building (a compact copy of its
 * first ClientHello), and the buffered bytes, each counted at what malloc
 * takes for it (pqt_heap_cost). When it is reached, the least recently
 * active flows are evicted (outcome evicted, anomaly memory_limit,
 * flows_evicted and flows_evicted_memory) until the new state fits.
 * max_buffer_bytes bounds the buffered bytes within it (out-of-order
 * segments, scan windows, hellos that span segments); when it is reached,
 * buffering is given up (anomaly buffer_budget, reassembly_budget_giveups).
 * pqt_obs_new fails with PQT_ERR_ARG when max_memory_bytes leaves less than
 * 16 KiB beside the observer's fixed part (the flow table's bucket array,
 * sized for no more flows than the limit can hold, and the observer).
 */
typedef struct {
    size_t max_flows;                 /* flow table limit (0: 65536) */
    size_t max_buffer_bytes;          /* all buffered bytes, all flows (0: 64 MiB) */
    size_t max_memory_bytes;          /* everything the observer keeps (0: 256 MiB) */
    uint64_t idle_timeout_us;         /* capture-time idle limit (0: 30 s) */
    const pqt_obs_families *families; /* NULL: "unknown" for all */
    pqt_obs_callback on_handshake;
    void *arg;
    /* Direct TLS on these server ports is this protocol, before the
     * built-in ports (443 https, 465 smtp, ...); the array must outlive
     * the observer. */
    const pqt_obs_app_port *app_ports;
    size_t n_app_ports;
} pqt_obs_config;

typedef struct {
    uint64_t packets, bytes;
    uint64_t not_tcp, decode_errors, unknown_linktype, ip_fragments, snaplen_cut;
    uint64_t flows, flows_evicted, flows_expired, flows_not_tls;
    uint64_t segments_retransmitted, segments_out_of_order, segments_overlap;
    uint64_t segments_out_of_window;
    uint64_t reassembly_gaps, reassembly_budget_giveups;
    uint64_t hellos_too_big, tls_desync, server_only;
    uint64_t handshakes;
    uint64_t outcomes[PQT_OBS_N_OUTCOMES];
    size_t flows_active, flows_peak, buffered_bytes, buffered_peak;
    uint64_t flows_evicted_memory; /* of flows_evicted: at the memory limit */
    /* QUIC: UDP datagrams that held a QUIC long header of version 1 or 2
     * (or belonged to a QUIC flow), Initial packets decrypted, and Initial
     * packets that did not decrypt or parse (damage, or keys we cannot
     * know: a client Initial sent after the server's first packet, seen
     * without that packet). */
    uint64_t quic_datagrams, quic_initials, quic_undecryptable;
    size_t memory_bytes, memory_peak, memory_limit; /* accounted as max_memory_bytes counts */
} pqt_obs_stats;

typedef struct pqt_obs pqt_obs;

PQT_API PQT_MUST_CHECK int pqt_obs_new(const pqt_obs_config *cfg, pqt_obs **out);
/* Feed one captured frame. TCP segments and UDP datagrams (QUIC) are
 * followed; other frames are counted, not errors. */
PQT_API void pqt_obs_frame(pqt_obs *o, int linktype, uint64_t ts_us, const uint8_t *frame,
                           size_t caplen, size_t wirelen);
/* Feed an already decoded TCP segment or UDP datagram (pkt->proto; tests,
 * fuzzing). */
PQT_API void pqt_obs_segment(pqt_obs *o, uint64_t ts_us, const pqt_packet *pkt);
/* Close flows idle since before now_us - idle_timeout (live mode). */
PQT_API void pqt_obs_expire(pqt_obs *o, uint64_t now_us);
/*
 * End of input: every unfinished handshake is reported, as TIMEOUT if it
 * was idle longer than the timeout at the last packet, else TRUNCATED.
 */
PQT_API void pqt_obs_finish(pqt_obs *o);
PQT_API const pqt_obs_stats *pqt_obs_get_stats(const pqt_obs *o);
PQT_API void pqt_obs_free(pqt_obs *o);

/* ---- Outputs (output.c, agg.c) ------------------------------------------ */

typedef struct {
    const pqt_pseudonym *pseudonym; /* NULL: write names and addresses as seen */
    unsigned prefix_v4, prefix_v6;  /* network-path prefix lengths (24, 48) */
    /* Prometheus: label the first metrics_paths client prefixes (at most
     * 1000) in pqtls_observe_path_handshakes_total; 0: no such metric. */
    unsigned metrics_paths;
} pqt_obs_output_opts;

/* One JSON Lines record (schema PQT_OBS_SCHEMA, docs/observe.md). */
PQT_API PQT_MUST_CHECK int pqt_obs_write_json(FILE *f, const pqt_obs_handshake *hs,
                                              const pqt_obs_output_opts *opts);

/* Text forms used by every output. */
PQT_API void pqt_obs_format_addr(uint8_t ip_version, const uint8_t addr[16], char *out, size_t cap);
/* Initial TTL guess (32, 64, 128, 255) minus the observed one; -1 if unknown. */
PQT_API int pqt_obs_hops(uint8_t ttl);

/* Aggregates for the table and the Prometheus exposition. */
typedef struct pqt_obs_agg pqt_obs_agg;

PQT_API PQT_MUST_CHECK int pqt_obs_agg_new(const pqt_obs_output_opts *opts, pqt_obs_agg **out);
PQT_API void pqt_obs_agg_add(pqt_obs_agg *a, const pqt_obs_handshake *hs);
/* Summary table: hybrid share by client family and by server, failures by
 * outcome and network path, and the observer's counters. */
PQT_API PQT_MUST_CHECK int pqt_obs_agg_write_table(const pqt_obs_agg *a, const pqt_obs_stats *st,
                                                   FILE *f);
/* Prometheus text exposition format 0.0.4, bounded label sets. */
PQT_API PQT_MUST_CHECK int pqt_obs_agg_write_prom(const pqt_obs_agg *a, const pqt_obs_stats *st,
                                                  FILE *f);
PQT_API void pqt_obs_agg_free(pqt_obs_agg *a);

/* ---- Metrics endpoint (http.c) ------------------------------------------ */

typedef struct pqt_obs_http pqt_obs_http;

/*
 * Listen on "ADDR:PORT" ("127.0.0.1:9464", "[::1]:9464") and serve
 * GET /metrics (and GET /) from a thread of its own, with the body last
 * given to pqt_obs_http_publish (503 until the first one). No client can
 * stall the caller or raise SIGPIPE: at most 64 connections are served at
 * once (more wait in the listen queue), each is closed 5 s after it was
 * accepted whatever it does, HTTP/1.0 without keep-alive. PQT_ERR_SYNTAX
 * for a bad ADDR:PORT, PQT_ERR_IO when the socket or thread cannot be
 * made; errbuf says which.
 */
PQT_API PQT_MUST_CHECK int pqt_obs_http_start(const char *addr_port, pqt_obs_http **out,
                                              char *errbuf, size_t errlen);
/*
 * Answer every request from now on with a copy of body (a Prometheus
 * exposition); responses under way keep the body they started with. Waits
 * for no client, only for a pointer swap under a mutex. 0 or PQT_ERR_NOMEM.
 */
PQT_API PQT_MUST_CHECK int pqt_obs_http_publish(pqt_obs_http *h, const char *body, size_t len);
/* Close every connection and the socket and end the thread; NULL is a no-op. */
PQT_API void pqt_obs_http_stop(pqt_obs_http *h);

#ifdef __cplusplus
}
#endif
#endif
