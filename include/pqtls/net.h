/*
 * The packet layer (src/net/): captured frames to byte streams, no TLS.
 *
 * capture.c reads pcap files (mapped a window at a time; libpcap for pcapng,
 * gzip, standard input and live interfaces); decode.c takes a frame apart
 * (link layer, VLAN, IPv4/IPv6, TCP, UDP) through the bounded reader;
 * reasm.c puts one direction of a TCP connection back in order under a
 * byte budget shared by all flows; quic.c (pqtls/quic.h) reads QUIC
 * Initial packets out of UDP datagrams. What the bytes mean is for the layers above.
 */
#ifndef PQTLS_NET_H
#define PQTLS_NET_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Decoded packets (src/net/decode.c) ------------------------------------- */

/* libpcap link types the decoder understands (LINKTYPE_* values). */
#define PQT_LINK_NULL 0 /* BSD loopback, host-order family */
#define PQT_LINK_ETHERNET 1
#define PQT_LINK_RAW 101  /* raw IPv4/IPv6 (libpcap may say DLT_RAW 12/14) */
#define PQT_LINK_LOOP 108 /* OpenBSD loopback, network-order family */
#define PQT_LINK_LINUX_SLL 113
#define PQT_LINK_IPV4 228
#define PQT_LINK_IPV6 229
#define PQT_LINK_LINUX_SLL2 276

#define PQT_NET_MAX_VLAN 2

#define PQT_IPPROTO_TCP 6
#define PQT_IPPROTO_UDP 17

#define PQT_TCP_FIN 0x01
#define PQT_TCP_SYN 0x02
#define PQT_TCP_RST 0x04
#define PQT_TCP_ACK 0x10

typedef struct {
    uint8_t ip_version;       /* 4 or 6 */
    uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
    uint8_t ttl;              /* IPv4 TTL or IPv6 hop limit */
    uint16_t vlan[PQT_NET_MAX_VLAN];
    uint8_t n_vlan;
    uint8_t proto; /* PQT_IPPROTO_TCP or _UDP (0 in a hand-made segment: TCP) */
    uint16_t sport, dport;
    uint32_t seq, ack;      /* TCP only */
    uint8_t flags;          /* TCP only */
    const uint8_t *payload; /* TCP payload or UDP datagram (within the captured bytes) */
    size_t payload_len;
    int payload_cut; /* the capture cut the payload short (snaplen) */
    int fragment;    /* an IP fragment (not reassembled; counted) */
} pqt_packet;

/* 1 if pqt_packet_decode understands this link type. */
PQT_API int pqt_linktype_supported(int linktype);

/*
 * Decode one captured frame. 0 for a TCP segment or a UDP datagram (proto
 * says which); PQT_ERR_UNSUPPORTED for anything that is neither over IP
 * (or an unknown link type, or an IP fragment); PQT_ERR_TRUNCATED / PQT_ERR_SYNTAX for damaged
 * headers.
 */
PQT_API PQT_MUST_CHECK int pqt_packet_decode(int linktype, const uint8_t *frame, size_t caplen,
                                             pqt_packet *pkt);

/* ---- Captures (src/net/capture.c) --------------------------------------------- */

typedef struct pqt_capture pqt_capture;

/*
 * Open a pcap or pcapng file, "-" for standard input; gzip-compressed input
 * is recognised by its magic and decompressed on the fly (zlib, no child
 * process). errbuf (>= 256 bytes) says what went wrong.
 */
PQT_API PQT_MUST_CHECK int pqt_capture_open_file(const char *path, pqt_capture **out, char *errbuf,
                                                 size_t errlen);
/* Options of pqt_capture_open_file_opts; {0} is what pqt_capture_open_file uses. */
#define PQT_CAPTURE_LIBPCAP 0x1u /* never the mmap reader: always libpcap */
typedef struct {
    unsigned flags;    /* PQT_CAPTURE_* */
    size_t map_window; /* mmap reader: bytes mapped at a time, 0 for the
                        * default (16 MiB); tests use a page to make records
                        * straddle windows */
} pqt_capture_opts;

/*
 * pqt_capture_open_file with options. A classic pcap file (any byte order,
 * microsecond or nanosecond magic) on a regular file is read by mapping it a
 * window at a time instead of through libpcap's buffered reads and copy;
 * the frames, timestamps, lengths and errors are those libpcap gives.
 * pcapng, gzip, standard input and unusual pcap variants go to libpcap.
 */
PQT_API PQT_MUST_CHECK int pqt_capture_open_file_opts(const char *path,
                                                      const pqt_capture_opts *opts,
                                                      pqt_capture **out, char *errbuf,
                                                      size_t errlen);
/* Which reader an open capture uses: "mmap" or "libpcap". */
PQT_API const char *pqt_capture_reader(const pqt_capture *c);
/* Live capture on an interface with an optional BPF filter. */
PQT_API PQT_MUST_CHECK int pqt_capture_open_live(const char *iface, const char *bpf, int promisc,
                                                 pqt_capture **out, char *errbuf, size_t errlen);
/*
 * Next frame: 1 and the frame, 0 at the end of the input (or a live read
 * timeout, see pqt_capture_is_live), or a negative error: PQT_ERR_TRUNCATED
 * when the file ends inside a record, PQT_ERR_SYNTAX when it is corrupt.
 * The frame is valid until the next call. The mmap reader maps the file a
 * window at a time: a file cut shorter by another process while it is read
 * ends the process with SIGBUS (a file that grows is read to its new end).
 */
PQT_API PQT_MUST_CHECK int pqt_capture_next(pqt_capture *c, uint64_t *ts_us, const uint8_t **frame,
                                            size_t *caplen, size_t *wirelen, char *errbuf,
                                            size_t errlen);
PQT_API int pqt_capture_linktype(const pqt_capture *c);
PQT_API int pqt_capture_is_live(const pqt_capture *c);
/* File descriptor to poll() in live mode, -1 otherwise. */
PQT_API int pqt_capture_fd(const pqt_capture *c);
/* Frames the kernel dropped (live mode), 0 for files. */
PQT_API uint64_t pqt_capture_dropped(pqt_capture *c);
PQT_API void pqt_capture_close(pqt_capture *c);

/* ---- Byte budget and TCP reassembly (src/net/reasm.c) ----------------- */

/*
 * A byte budget. The observer has two: the buffer budget (bytes buffered
 * for all flows together: out-of-order segments, scan windows, hello
 * messages that span segments; pqt_obs_config.max_buffer_bytes), and the
 * memory budget it is part of (everything the observer keeps, flows
 * included; pqt_obs_config.max_memory_bytes). A reservation of n bytes
 * from a budget with a parent also reserves pqt_heap_cost(n) from the
 * parent. When a budget with a reclaim callback lacks room, the callback
 * is asked to free some (the observer evicts its least recently active
 * flow) until there is room or it frees nothing.
 */
typedef struct pqt_budget {
    size_t used, limit, peak;
    struct pqt_budget *parent; /* also charged, or NULL */
    /* Free room in this budget; nonzero if anything was freed. NULL: none. */
    int (*reclaim)(void *ctx, size_t need);
    void *reclaim_ctx;
} pqt_budget;

/* What malloc(n) takes from the heap with glibc on a 64-bit system: n and
 * an 8-byte header, in 16-byte granules, at least 32 bytes. */
static inline size_t pqt_heap_cost(size_t n)
{
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

/* 1 and the bytes reserved (in b and its parent), or 0 when they do not
 * fit even after reclaiming. */
int pqt_budget_take(pqt_budget *b, size_t n);
void pqt_budget_give(pqt_budget *b, size_t n);

/* ---- TCP reassembly, one direction (src/net/reasm.c) ---- */

typedef struct pqt_reasm_seg {
    struct pqt_reasm_seg *next;
    uint32_t seq, len;
    uint8_t data[];
} pqt_reasm_seg;

/* Where in-order bytes go: data() once per segment (or its new part). */
typedef struct {
    void (*data)(void *ctx, int side, const uint8_t *p, size_t n);
    void (*gap)(void *ctx, int side);
    void *ctx;
    int side;
} pqt_stream_sink;

typedef struct {
    uint32_t next_seq;
    uint32_t last_ack; /* the latest ACK this direction sent */
    uint8_t anchored, syn_seen, ack_valid, fin, rst, stopped;
    uint64_t delivered;
    pqt_reasm_seg *ooo; /* sorted by seq */
    size_t ooo_bytes;
} pqt_reasm;

/* What pqt_reasm_segment saw, as bits. The observer reports the first six
 * as its anomaly bits of the same values (PQT_OBS_A_*, pqtls/observe.h). */
#define PQT_REASM_MIDSTREAM 0x01        /* no SYN seen: anchored on the peer's ACK */
#define PQT_REASM_RETRANSMIT 0x02       /* bytes already delivered came again */
#define PQT_REASM_OUT_OF_ORDER 0x04     /* a segment ahead of the next expected byte */
#define PQT_REASM_OVERLAP 0x08          /* overlapping segments (the first copy wins) */
#define PQT_REASM_GAP 0x10              /* bytes missing (delivered across a hole) */
#define PQT_REASM_BUDGET 0x100          /* out of budget: gave up buffering */
#define PQT_REASM_OUT_OF_WINDOW 0x10000 /* too far from the expected sequence number */

/* A SYN (or SYN-ACK) with sequence number isn. */
void pqt_reasm_syn(pqt_reasm *r, uint32_t isn);
/*
 * A data segment. peer is the other direction (its last ACK anchors this
 * one when no SYN was seen). Returns PQT_REASM_* bits.
 */
unsigned pqt_reasm_segment(pqt_reasm *r, const pqt_reasm *peer, pqt_budget *b, uint32_t seq,
                           const uint8_t *data, size_t len, const pqt_stream_sink *sink);
/* End of the flow: deliver what is buffered across holes (reporting gaps). */
void pqt_reasm_flush(pqt_reasm *r, pqt_budget *b, const pqt_stream_sink *sink);
/* Drop buffered segments without delivering them. */
void pqt_reasm_free(pqt_reasm *r, pqt_budget *b);

#ifdef __cplusplus
}
#endif
#endif
