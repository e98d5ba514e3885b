/*
 * Fuzz the observer's QUIC path: UDP datagrams (header parsing, coalesced
 * packets, Version Negotiation, Retry), and, because random bytes never
 * pass the AEAD, plaintext frames this harness seals into Initial packets
 * with the real keys, so the frame walker (lengths, varints, ACK ranges,
 * CONNECTION_CLOSE), CRYPTO reassembly (offsets out of order, overlapping,
 * huge), the handshake walk and the hello logic all see hostile input;
 * endless Initials from both sides, under a small memory limit.
 *
 * Input: records of [ctrl][len u16][len bytes]. ctrl bit 0: from the
 * server; bit 1: seal the bytes as the plaintext of an Initial packet
 * (else they are the UDP payload as is); bit 2: QUIC v2; bit 3: pad the
 * datagram to 1200 bytes; bits 4-7: the packet number. The same bytes
 * also go straight to pqt_quic_parse_header (walking coalesced packets)
 * and pqt_quic_frames.
 *
 * Properties: no over-read, no leak; the memory limit holds by the
 * observer's accounting; every byte buffered is given back at the end;
 * every QUIC record with a ClientHello has a JA4 starting with 'q'.
 */
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/observe.h"
#include "pqtls/quic.h"

static const uint8_t DCID[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
static const uint8_t SCID[8] = {0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5};

static void on_hs(const pqt_obs_handshake *hs, void *arg)
{
    (void)arg;
    if (hs->transport == PQT_OBS_QUIC && hs->has_ch) {
        FUZZ_CHECK(hs->ja4[0] == 'q');
    }
}

static void on_crypto(void *ctx, uint64_t off, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)off;
    if (n > 0) {
        FUZZ_CHECK(p != NULL);
    }
}

/* An Initial packet around plaintext p (n bytes), sealed with the keys of
 * DCID: the client's from the client, the server's from the server. */
static size_t seal(pqt_quic_opener *op, uint8_t ctrl, const uint8_t *p, size_t n, uint8_t *out)
{
    uint32_t v = (ctrl & 4) ? PQT_QUIC_V2 : PQT_QUIC_V1;
    int server = ctrl & 1;
    pqt_quic_keys k[2];
    uint8_t hdr[64], plain[1400];
    size_t h = 0, pad = n < 20 ? 20 : n;
    if (n > 1300 || pqt_quic_initial_keys(v, DCID, 8, &k[0], &k[1]) != 0) {
        return 0;
    }
    memcpy(plain, p, n);
    memset(plain + n, 0, pad - n);
    hdr[h++] = (uint8_t)(0xc1 | (v == PQT_QUIC_V2 ? 0x10 : 0));
    hdr[h++] = (uint8_t)(v >> 24);
    hdr[h++] = (uint8_t)(v >> 16);
    hdr[h++] = (uint8_t)(v >> 8);
    hdr[h++] = (uint8_t)v;
    hdr[h++] = 8;
    memcpy(hdr + h, server ? SCID : DCID, 8);
    h += 8;
    hdr[h++] = 8;
    memcpy(hdr + h, server ? DCID : SCID, 8);
    h += 8;
    hdr[h++] = 0;
    size_t len = 2 + pad + 16;
    hdr[h++] = (uint8_t)(0x40 | (len >> 8));
    hdr[h++] = (uint8_t)len;
    size_t pn_off = h;
    hdr[h++] = 0;
    hdr[h++] = (uint8_t)(ctrl >> 4);
    if (pqt_quic_seal(op, &k[server], hdr, pn_off, 2, ctrl >> 4, plain, pad, out) != 0) {
        return 0;
    }
    return h + pad + 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pqt_quic_opener *op;
    if (op == NULL) {
        FUZZ_CHECK(pqt_quic_opener_new(&op) == 0);
    }
    pqt_obs *o = NULL;
    pqt_obs_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.on_handshake = on_hs;
    cfg.max_flows = 8;
    cfg.max_memory_bytes = 512u << 10;
    FUZZ_CHECK(pqt_obs_new(&cfg, &o) == 0);
    pqt_reader r = pqt_reader_make(data, size);
    uint64_t t = 1;
    uint8_t ctrl;
    uint16_t len;
    const uint8_t *p;
    while (pqt_reader_u8(&r, &ctrl) == 0 && pqt_reader_u16(&r, &len) == 0 &&
           pqt_reader_bytes(&r, len, &p) == 0) {
        /* The bytes through the parsers directly, in an exact-size copy. */
        uint8_t *in = malloc(len ? len : 1);
        FUZZ_CHECK(in != NULL);
        memcpy(in, p, len);
        size_t at = 0;
        pqt_quic_header h;
        while (at < len && pqt_quic_parse_header(in + at, len - at, &h) == 0) {
            FUZZ_CHECK(h.len > 0 && h.len <= len - at);
            at += h.len;
        }
        pqt_quic_frame_sink sink = {on_crypto, NULL, NULL};
        unsigned seen = 0;
        int fr = pqt_quic_frames(in, len, &sink, &seen);
        FUZZ_CHECK(fr == 0 || fr == PQT_ERR_SYNTAX || fr == PQT_ERR_TRUNCATED);
        free(in);

        uint8_t dgram[1500];
        size_t n;
        if (ctrl & 2) {
            n = seal(op, ctrl, p, len, dgram);
        } else {
            n = len < sizeof(dgram) ? len : sizeof(dgram);
            memcpy(dgram, p, n);
        }
        if ((ctrl & 8) && n < 1200) {
            memset(dgram + n, 0, 1200 - n);
            n = 1200;
        }
        pqt_packet pkt;
        memset(&pkt, 0, sizeof(pkt));
        pkt.ip_version = 4;
        pkt.proto = PQT_IPPROTO_UDP;
        int server = ctrl & 1;
        memcpy(pkt.src, server ? "\xc0\x00\x02\x07" : "\x0a\x00\x00\x01", 4);
        memcpy(pkt.dst, server ? "\x0a\x00\x00\x01" : "\xc0\x00\x02\x07", 4);
        pkt.sport = server ? 443 : 40000;
        pkt.dport = server ? 40000 : 443;
        pkt.payload = dgram;
        pkt.payload_len = n;
        pqt_obs_segment(o, t++, &pkt);
        const pqt_obs_stats *st = pqt_obs_get_stats(o);
        FUZZ_CHECK(st->memory_bytes <= st->memory_limit);
    }
    pqt_obs_finish(o);
    const pqt_obs_stats *st = pqt_obs_get_stats(o);
    FUZZ_CHECK(st->buffered_bytes == 0 && st->flows_active == 0);
    FUZZ_CHECK(st->memory_peak <= st->memory_limit);
    pqt_obs_free(o);
    return 0;
}
