/*
 * Keyed pseudonyms for names and addresses, shared by `pqtls observe`
 * (--pseudonymise) and the trace-masking tool.
 *
 * Every pseudonym is derived with HMAC-SHA256 under one secret key, so the
 * same input always maps to the same output within a key (joins across
 * records and files still work) and nothing can be reversed without it.
 *
 *  - Names (SNI): "h-" + 20 hex digits of HMAC(key, "name" || 0 || lower(name)).
 *  - Addresses: prefix-preserving (the Crypto-PAn construction with
 *    HMAC-SHA256 as the PRF): output bit i is input bit i XOR the low bit of
 *    HMAC(key, "ip4"/"ip6" || 0 || i || the first i input bits). Two
 *    addresses sharing an n-bit prefix share an n-bit pseudonym prefix, so
 *    per-prefix statistics survive.
 */
#ifndef PQTLS_PSEUDONYM_H
#define PQTLS_PSEUDONYM_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQT_PSEUDONYM_MIN_KEY 16
#define PQT_PSEUDONYM_MAX_KEY 64
#define PQT_PSEUDONYM_NAME_SIZE 23 /* "h-" + 20 hex + NUL */

typedef struct {
    uint8_t key[PQT_PSEUDONYM_MAX_KEY];
    size_t key_len;
} pqt_pseudonym;

/* Set up with a caller key of 16..64 bytes (PQT_ERR_LENGTH otherwise). */
PQT_API PQT_MUST_CHECK int pqt_pseudonym_init(pqt_pseudonym *ps, const uint8_t *key, size_t len);
/* Set up with a fresh random 32-byte key (pseudonyms unlinkable across runs). */
PQT_API PQT_MUST_CHECK int pqt_pseudonym_init_random(pqt_pseudonym *ps);
/* Wipe the key. */
PQT_API void pqt_pseudonym_clear(pqt_pseudonym *ps);

/* Pseudonym of a host name (compared case-insensitively). */
PQT_API PQT_MUST_CHECK int pqt_pseudonym_name(const pqt_pseudonym *ps, const uint8_t *name,
                                              size_t len, char out[PQT_PSEUDONYM_NAME_SIZE]);
/* Prefix-preserving pseudonym of an IPv4 (4 bytes) or IPv6 (16 bytes) address. */
PQT_API PQT_MUST_CHECK int pqt_pseudonym_ipv4(const pqt_pseudonym *ps, const uint8_t in[4],
                                              uint8_t out[4]);
PQT_API PQT_MUST_CHECK int pqt_pseudonym_ipv6(const pqt_pseudonym *ps, const uint8_t in[16],
                                              uint8_t out[16]);

/* ---- pqtls mask: captures and logs scrubbed before they are shared ---------
 *
 * One 32-byte key gives every pseudonym below; subkeys are
 * HMAC-SHA256(key, label). The same key gives the same pseudonyms in every
 * capture and log, so masked files still correlate. docs/mask.md says what
 * is replaced, what is kept and why.
 *
 *  - IPv4/IPv6: Crypto-PAn (Xu et al. 2002) with AES-128 from libcrypto:
 *    prefix-preserving, so subnets stay subnets.
 *  - MAC: keyed (SipHash-2-4), the multicast and locally-administered bits
 *    kept; multicast, broadcast and all-zero addresses kept as they are.
 *  - Names: label by label, the same length, the public suffix kept; each
 *    label's pseudonym depends on it and the original labels to its right,
 *    so a.example.com and b.example.com still share a parent.
 *  - Other identifying bytes (randoms, session ids, tickets, PSK
 *    identities, ECH payloads, certificate keys and signatures): keyed
 *    bytes of the same length, a function of the original bytes.
 */

#define PQT_MASK_KEY_SIZE 32

typedef enum {
    PQT_MASK_PAYLOAD_KEEP_LENGTH = 0, /* cleartext masked field by field, encrypted
                                       * data replaced with keyed bytes */
    PQT_MASK_PAYLOAD_ZERO = 1,        /* every payload byte outside the handshake zeroed */
    PQT_MASK_PAYLOAD_DROP = 2,        /* cut from the captured frame (caplen shrinks) */
} pqt_mask_payload;

typedef struct {
    pqt_mask_payload payload;
    uint64_t round_ts_us;  /* 0: timestamps unchanged; else rounded down to it */
    size_t max_hold_bytes; /* frames held while a field spans packets (0: 64 MiB) */
    size_t max_flows;      /* 0: 65536 */
    FILE *mapping;         /* original -> pseudonym lines, or NULL (never by default) */
} pqt_mask_opts;

typedef struct {
    uint64_t frames, bytes_in, bytes_out, tcp_frames, tls_handshakes, names, fields;
    uint64_t held_max_bytes, forced; /* fields spanning packets given up (masked whole) */
    uint64_t blocks_removed, options_removed, unsupported_frames, retransmissions;
    uint64_t unparsed;      /* handshake messages that did not parse: keyed bytes, whole */
    uint64_t flows_idle;    /* flows let go after 300 s of capture time without a packet */
    uint64_t quic_initials; /* QUIC Initial packets masked and sealed again */
    uint64_t quic_zeroed;   /* QUIC Initial packets that could not be (protected part zeroed) */
} pqt_mask_stats;

typedef struct pqt_mask pqt_mask;

/* A masker keyed with key; opts may be NULL (defaults). */
PQT_API PQT_MUST_CHECK int pqt_mask_new(const uint8_t key[PQT_MASK_KEY_SIZE],
                                        const pqt_mask_opts *opts, pqt_mask **out);
PQT_API void pqt_mask_free(pqt_mask *m);
/* Keep addresses in this prefix ("10.1.0.0/16", "2001:db8::/32", an address). */
PQT_API PQT_MUST_CHECK int pqt_mask_keep_address(pqt_mask *m, const char *prefix);
/* Keep names equal to or under this suffix ("vendor.example"). */
PQT_API PQT_MUST_CHECK int pqt_mask_keep_name(pqt_mask *m, const char *suffix);

PQT_API void pqt_mask_ipv4(pqt_mask *m, const uint8_t in[4], uint8_t out[4]);
PQT_API void pqt_mask_ipv6(pqt_mask *m, const uint8_t in[16], uint8_t out[16]);
PQT_API void pqt_mask_mac(pqt_mask *m, const uint8_t in[6], uint8_t out[6]);
/* A DNS-like name in place: same length, labels and public suffix kept. */
PQT_API void pqt_mask_name(pqt_mask *m, uint8_t *name, size_t len);
/* Free text in place: letters and digits keyed (same class), the rest kept;
 * e-mail addresses and DNS-like words go through pqt_mask_name. */
PQT_API void pqt_mask_text(pqt_mask *m, uint8_t *p, size_t len);
/* Keyed bytes of the same length, a function of (label, the original). */
PQT_API void pqt_mask_bytes(pqt_mask *m, const char *label, uint8_t *p, size_t len);

/*
 * Mask a capture: pcap or pcapng (gzip recognised by its magic) read from
 * fd in_fd, written to out_fd in the same format. Frames keep their order,
 * lengths, timestamps (unless rounded) and TCP segment boundaries.
 * 0, or a negative error with errbuf set; on a damaged input what was
 * masked before the damage has been written.
 */
PQT_API PQT_MUST_CHECK int pqt_mask_capture(pqt_mask *m, int in_fd, int out_fd,
                                            pqt_mask_stats *stats, char *errbuf, size_t errlen);

typedef enum {
    PQT_MASK_LOG_JSONL = 0, /* pqtls's own JSON Lines (observe, scan) */
    PQT_MASK_LOG_NGINX,     /* nginx access logs (combined, docs/deploy.md's pq) */
    PQT_MASK_LOG_HAPROXY,   /* haproxy httplog/tcplog lines (syslog prefix allowed) */
    PQT_MASK_LOG_TEXT,      /* any text: addresses, names, e-mails, tokens */
} pqt_mask_log_format;

/* Mask one log line in place (its length may change); *len is updated.
 * cap is the buffer's size (at least 4 * *len + 64). */
PQT_API PQT_MUST_CHECK int pqt_mask_log_line(pqt_mask *m, pqt_mask_log_format fmt, char *line,
                                             size_t *len, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
