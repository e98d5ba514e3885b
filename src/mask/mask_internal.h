/*
 * Inside src/mask: the masker's state, shared by keys.c (pseudonyms),
 * stream.c (TCP streams: TLS handshakes, cleartext lines), capture.c
 * (pcap/pcapng containers, frames, the hold queue) and log.c.
 */
#ifndef PQTLS_MASK_INTERNAL_H
#define PQTLS_MASK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "pqtls/mask.h"

#define MASK_ADDR_CACHE 4096 /* direct-mapped, per family */

typedef struct {
    uint8_t in[16], out[16];
    uint8_t used;
} mask_addr_entry;

typedef struct {
    uint8_t addr[16];
    uint8_t version; /* 4 or 6 */
    uint8_t bits;
} mask_keep_prefix;

typedef struct mask_flow mask_flow;
typedef struct mask_dir mask_dir;

struct pqt_mask {
    pqt_mask_opts opts;
    uint64_t sip_name[2], sip_bytes[2], sip_mac[2], sip_flow[2];
    EVP_CIPHER_CTX *pan;    /* AES-128-ECB, the Crypto-PAn key */
    EVP_CIPHER_CTX *stream; /* AES-128-ECB, keystream for opaque bytes */
    uint8_t pan_pad[16];
    mask_addr_entry *cache4, *cache6;
    mask_keep_prefix *keep_addr;
    size_t n_keep_addr;
    char **keep_names;
    size_t n_keep_names;
    pqt_mask_stats st;
    struct mask_capture_state *cap; /* capture.c */
};

/* keys.c */
void pqt_m_siphash128(const uint64_t k[2], const uint8_t *p, size_t n, uint8_t out[16]);
uint64_t pqt_m_siphash64(const uint64_t k[2], const uint8_t *p, size_t n);
/* Opaque keystream for (flow id, byte offset): the same bytes at the same
 * place every time, independent of the content. */
void pqt_m_keystream(pqt_mask *m, uint64_t id, uint64_t off, uint8_t *dst, size_t n);
/* Keep the name as it is (a --keep-names suffix or "localhost")? */
int pqt_m_name_kept(const pqt_mask *m, const uint8_t *name, size_t len);
/* 1 if p looks like a DNS name (letters, digits, '-', '_', '*', and a dot). */
int pqt_m_is_dnsish(const uint8_t *p, size_t n);
void pqt_m_map_line(pqt_mask *m, const char *kind, const uint8_t *orig, size_t olen,
                    const uint8_t *masked, size_t mlen, int binary);

/* DER: every string, long integer, key and signature masked in place
 * (same tags, same lengths). stream.c, used for certificates and DNs. */
void pqt_m_der(pqt_mask *m, uint8_t *p, size_t n, int depth);

/* TLS handshake message (type, body) masked in place; from_client as sent. */
void pqt_m_handshake(pqt_mask *m, uint8_t type, uint8_t *body, size_t len, int from_client);
/* One cleartext line (with its line end) masked in place. */
void pqt_m_text_line(pqt_mask *m, uint8_t *p, size_t n, int *in_http_headers);

#endif
