/*
 * Unit tests for the observer's QUIC flows (src/observe/engine.c over
 * src/net/quic.c), on Initial packets this test seals itself: a
 * ClientHello with an X25519MLKEM768 share split over two Initial packets
 * in two datagrams that arrive in the wrong order, the server's Initial
 * with the ServerHello coalesced with a Handshake packet, and the client's
 * Handshake packet (completed); a CONNECTION_CLOSE with a TLS alert; a
 * Version Negotiation answer; silence; a Retry after which the keys
 * change; a HelloRetryRequest and the second ClientHello; QUIC v2; a new
 * connection on the same addresses and ports; UDP
 * that is not QUIC (no flow, no record). Then hostile input: endless
 * Initials from ever new ports and endless CRYPTO data in one flow, under
 * a small memory limit, which holds by the observer's own accounting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/ja4.h"
#include "pqtls/observe.h"
#include "pqtls/quic.h"

#include "obs_check.h"
#include "obs_flows.h"

static pqt_quic_opener *op;

static const uint8_t DCID[8] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8};
static const uint8_t CCID[4] = {0xc1, 0xc2, 0xc3, 0xc4}; /* the client's SCID */
static const uint8_t SCID[8] = {0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58};

typedef struct {
    uint8_t b[1500];
    size_t n;
} dgram;

static size_t put_varint(uint8_t *p, uint64_t v)
{
    if (v < 64) {
        p[0] = (uint8_t)v;
        return 1;
    }
    if (v < 16384) {
        p[0] = (uint8_t)(0x40 | (v >> 8));
        p[1] = (uint8_t)v;
        return 2;
    }
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
    p[0] |= 0xc0;
    return 8;
}

static size_t crypto_frame(uint8_t *p, uint64_t off, const uint8_t *data, size_t n)
{
    size_t k = 0;
    p[k++] = 0x06;
    k += put_varint(p + k, off);
    k += put_varint(p + k, n);
    memcpy(p + k, data, n);
    return k + n;
}

/* Append a sealed long-header packet of version v and type bits tb to d:
 * 2-byte packet number pn, the payload padded to pad bytes. */
static void add_packet(dgram *d, uint32_t v, unsigned tb, const pqt_quic_keys *k,
                       const uint8_t *dcid, size_t dl, const uint8_t *scid, size_t sl, uint64_t pn,
                       const uint8_t *payload, size_t n, size_t pad)
{
    uint8_t hdr[64], plain[1500];
    size_t h = 0;
    if (pad < n) {
        pad = n;
    }
    if (n > 0) {
        memcpy(plain, payload, n);
    }
    memset(plain + n, 0, pad - n);
    hdr[h++] = (uint8_t)(0xc0 | tb << 4 | 1); /* 2-byte packet number */
    hdr[h++] = (uint8_t)(v >> 24);
    hdr[h++] = (uint8_t)(v >> 16);
    hdr[h++] = (uint8_t)(v >> 8);
    hdr[h++] = (uint8_t)v;
    hdr[h++] = (uint8_t)dl;
    memcpy(hdr + h, dcid, dl);
    h += dl;
    hdr[h++] = (uint8_t)sl;
    memcpy(hdr + h, scid, sl);
    h += sl;
    int initial = tb == (v == PQT_QUIC_V2 ? 1u : 0u);
    if (initial) {
        hdr[h++] = 0; /* token length */
    }
    size_t len = 2 + pad + 16;
    hdr[h++] = (uint8_t)(0x40 | (len >> 8));
    hdr[h++] = (uint8_t)len;
    size_t pn_off = h;
    hdr[h++] = (uint8_t)(pn >> 8);
    hdr[h++] = (uint8_t)pn;
    if (k != NULL) {
        CHECK(pqt_quic_seal(op, k, hdr, pn_off, 2, pn, plain, pad, d->b + d->n) == 0);
    } else {
        /* A Handshake packet: its keys are secret; any bytes do. */
        memcpy(d->b + d->n, hdr, h);
        memset(d->b + d->n + h, 0xab, pad + 16);
    }
    d->n += h + pad + 16;
}

static pqt_packet udp(int from_client, uint16_t cport, const dgram *d)
{
    pqt_packet p = seg(from_client, 0, 0, d->b, d->n);
    p.proto = PQT_IPPROTO_UDP;
    if (from_client) {
        p.sport = cport;
    } else {
        p.dport = cport;
    }
    return p;
}

static pqt_obs *observer(sink *s, size_t max_memory)
{
    pqt_obs *o = NULL;
    pqt_obs_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.on_handshake = on_hs;
    cfg.arg = s;
    cfg.max_memory_bytes = max_memory;
    memset(s, 0, sizeof(*s));
    CHECK(pqt_obs_new(&cfg, &o) == 0);
    return o;
}

/* The ClientHello and ServerHello messages of obs_flows.h without their
 * TLS record headers. */
static uint8_t ch[2048], sh[1300];
static size_t ch_len, sh_len;

static void messages(void)
{
    build_streams();
    size_t first = 700;
    memcpy(ch, client_stream + 5, first);
    size_t rest = ((size_t)client_stream[5 + first + 3] << 8) | client_stream[5 + first + 4];
    memcpy(ch + first, client_stream + 5 + first + 5, rest);
    ch_len = first + rest;
    sh_len = server_len - 5;
    memcpy(sh, server_stream + 5, sh_len);
}

/* The client's first flight: the ClientHello in two Initial packets, in
 * two datagrams, the second half first (pn 1), then the first (pn 0). */
static void client_flight(pqt_obs *o, uint32_t v, uint16_t port, uint64_t *t, const uint8_t *dcid,
                          const pqt_quic_keys *ck)
{
    uint8_t f[1500];
    dgram d1 = {{0}, 0}, d2 = {{0}, 0};
    unsigned tb = v == PQT_QUIC_V2 ? 1 : 0;
    size_t n = crypto_frame(f, 1000, ch + 1000, ch_len - 1000);
    add_packet(&d1, v, tb, ck, dcid, 8, CCID, 4, 1, f, n, 1180);
    n = crypto_frame(f, 0, ch, 1000);
    add_packet(&d2, v, tb, ck, dcid, 8, CCID, 4, 0, f, n, 1180);
    pqt_packet p = udp(1, port, &d1);
    pqt_obs_segment(o, (*t)++, &p);
    p = udp(1, port, &d2);
    pqt_obs_segment(o, (*t)++, &p);
}

static void server_initial(pqt_obs *o, uint32_t v, uint16_t port, uint64_t *t,
                           const pqt_quic_keys *sk, const uint8_t *payload, size_t n, int hs_too)
{
    dgram d = {{0}, 0};
    add_packet(&d, v, v == PQT_QUIC_V2 ? 1 : 0, sk, CCID, 4, SCID, 8, 0, payload, n, 0);
    if (hs_too) {
        add_packet(&d, v, v == PQT_QUIC_V2 ? 3 : 2, NULL, CCID, 4, SCID, 8, 0, NULL, 0, 40);
    }
    pqt_packet p = udp(0, port, &d);
    pqt_obs_segment(o, (*t)++, &p);
}

static void client_handshake(pqt_obs *o, uint32_t v, uint16_t port, uint64_t *t)
{
    dgram d = {{0}, 0};
    add_packet(&d, v, v == PQT_QUIC_V2 ? 3 : 2, NULL, SCID, 8, CCID, 4, 0, NULL, 0, 60);
    pqt_packet p = udp(1, port, &d);
    pqt_obs_segment(o, (*t)++, &p);
}

static void test_handshake(uint32_t v)
{
    sink s;
    pqt_obs *o = observer(&s, 0);
    pqt_quic_keys ck, sk;
    uint64_t t = 1000;
    uint8_t f[1500];
    CHECK(pqt_quic_initial_keys(v, DCID, 8, &ck, &sk) == 0);
    if (o == NULL) {
        return;
    }
    client_flight(o, v, 50000, &t, DCID, &ck);
    CHECK(s.n == 0);
    /* ACK of the client's packets 0 and 1, then the ServerHello. */
    size_t n = 0;
    f[n++] = 0x02;
    f[n++] = 1; /* largest */
    f[n++] = 0; /* delay */
    f[n++] = 0; /* no more ranges */
    f[n++] = 1; /* first range: 0 and 1 */
    n += crypto_frame(f + n, 0, sh, sh_len);
    server_initial(o, v, 50000, &t, &sk, f, n, 1);
    CHECK(s.n == 0); /* the server's Handshake packet proves nothing yet */
    client_handshake(o, v, 50000, &t);
    CHECK(s.n == 1);
    const pqt_obs_handshake *h = &s.last;
    CHECK(h->transport == PQT_OBS_QUIC && h->quic_version == v);
    CHECK(h->outcome == PQT_OBS_COMPLETED && h->has_ch && h->has_sh);
    CHECK(h->quic_initials == 2 && h->quic_datagrams == 2 && h->ch_size == ch_len - 4);
    CHECK(h->group == PQT_GROUP_X25519MLKEM768 && h->group_source == PQT_OBS_GROUP_KEY_SHARE);
    CHECK(s.ja4[0] == 'q' && strncmp(s.ja4 + 1, "13d", 3) == 0);
    CHECK(s.sni_len == 10 && memcmp(s.sni, "pq.example", 10) == 0);
    CHECK(h->ch.n_key_shares == 1 && h->ch.key_shares[0].len == 1216);
    CHECK(h->anomalies & PQT_OBS_A_OUT_OF_ORDER);
    CHECK(h->client_port == 50000 && h->server_port == 443 && !h->quic_retry);
    const pqt_obs_stats *st = pqt_obs_get_stats(o);
    CHECK(st->quic_initials == 3 && st->quic_undecryptable == 0 && st->flows == 1);
    /* Later packets of the connection (the client now writes to the
     * server's connection ID) open nothing new. */
    client_handshake(o, v, 50000, &t);
    CHECK(s.n == 1 && st->flows == 1);
    /* A new connection on the same addresses and ports: a new DCID. */
    uint8_t dcid2[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    CHECK(pqt_quic_initial_keys(v, dcid2, 8, &ck, &sk) == 0);
    client_flight(o, v, 50000, &t, dcid2, &ck);
    pqt_obs_finish(o);
    CHECK(s.n == 2 && s.last.outcome == PQT_OBS_NO_ANSWER && s.last.has_ch);
    CHECK(pqt_obs_get_stats(o)->buffered_bytes == 0);
    pqt_obs_free(o);
}

static void test_endings(void)
{
    sink s;
    pqt_quic_keys ck, sk;
    uint64_t t = 1;
    uint8_t f[64];
    CHECK(pqt_quic_initial_keys(PQT_QUIC_V1, DCID, 8, &ck, &sk) == 0);
    /* CONNECTION_CLOSE 0x128: TLS alert 40 from the server. */
    pqt_obs *o = observer(&s, 0);
    if (o != NULL) {
        client_flight(o, PQT_QUIC_V1, 1, &t, DCID, &ck);
        size_t n = 0;
        f[n++] = 0x1c;
        f[n++] = 0x41;
        f[n++] = 0x28;
        f[n++] = 0x06; /* frame type: CRYPTO */
        f[n++] = 0;    /* no reason */
        server_initial(o, PQT_QUIC_V1, 1, &t, &sk, f, n, 0);
        CHECK(s.n == 1 && s.last.outcome == PQT_OBS_ALERT && s.last.alert_desc == 40);
        CHECK(s.last.alert_from_server && s.last.has_quic_close &&
              s.last.quic_close_code == 0x128 && s.last.quic_close_from_server);
        pqt_obs_free(o);
    }
    /* Version Negotiation before anything else from the server. */
    o = observer(&s, 0);
    if (o != NULL) {
        client_flight(o, PQT_QUIC_V1, 2, &t, DCID, &ck);
        dgram d = {{0}, 0};
        static const uint8_t vn[] = {0x80, 0,    0,    0,    0,    4,    0xc1, 0xc2, 0xc3,
                                     0xc4, 8,    0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7,
                                     0xd8, 0x6b, 0x33, 0x43, 0xcf, 0xff, 0,    0,    0x1d};
        memcpy(d.b, vn, sizeof(vn));
        d.n = sizeof(vn);
        pqt_packet p = udp(0, 2, &d);
        pqt_obs_segment(o, t++, &p);
        CHECK(s.n == 1 && s.last.outcome == PQT_OBS_VERSION_NEGOTIATION);
        pqt_obs_free(o);
    }
    /* A version the observer has no keys for, negotiated away: a record
     * without a ClientHello, with that version. Without the server's
     * answer such a datagram leaves nothing. */
    for (int answered = 0; answered < 2; answered++) {
        o = observer(&s, 0);
        if (o == NULL) {
            break;
        }
        dgram d = {{0}, 0};
        uint8_t junk[8] = {0};
        add_packet(&d, PQT_QUIC_V1, 0, NULL, DCID, 8, CCID, 4, 0, junk, 0, 1180);
        d.b[1] = 0x1a; /* version 0x1a2a3a4a */
        d.b[2] = 0x2a;
        d.b[3] = 0x3a;
        d.b[4] = 0x4a;
        pqt_packet p = udp(1, 5, &d);
        pqt_obs_segment(o, t++, &p);
        if (answered) {
            static const uint8_t vn[] = {0x80, 0,    0,    0,    0,    4,    0xc1, 0xc2,
                                         0xc3, 0xc4, 8,    0xd1, 0xd2, 0xd3, 0xd4, 0xd5,
                                         0xd6, 0xd7, 0xd8, 0,    0,    0,    1};
            memcpy(d.b, vn, sizeof(vn));
            d.n = sizeof(vn);
            p = udp(0, 5, &d);
            pqt_obs_segment(o, t++, &p);
            CHECK(s.n == 1 && s.last.outcome == PQT_OBS_VERSION_NEGOTIATION);
            CHECK(s.last.quic_version == 0x1a2a3a4a && !s.last.has_ch);
        }
        pqt_obs_finish(o);
        CHECK(s.n == answered && pqt_obs_get_stats(o)->flows == (uint64_t)answered);
        pqt_obs_free(o);
    }
    /* Silence, then the end of the capture: no_answer. */
    o = observer(&s, 0);
    if (o != NULL) {
        client_flight(o, PQT_QUIC_V1, 3, &t, DCID, &ck);
        /* The client starts again from the same port with a new DCID:
         * the first attempt is reported (no_answer), the second read. */
        uint8_t dcid2[8] = {7, 7, 7, 7, 7, 7, 7, 7};
        pqt_quic_keys ck2, sk2;
        CHECK(pqt_quic_initial_keys(PQT_QUIC_V1, dcid2, 8, &ck2, &sk2) == 0);
        client_flight(o, PQT_QUIC_V1, 3, &t, dcid2, &ck2);
        CHECK(s.n == 1 && s.last.outcome == PQT_OBS_NO_ANSWER && s.last.quic_datagrams == 2);
        pqt_obs_finish(o);
        CHECK(s.n == 2 && s.last.outcome == PQT_OBS_NO_ANSWER && s.last.has_ch);
        CHECK(pqt_obs_get_stats(o)->quic_undecryptable == 0);
        pqt_obs_free(o);
    }
}

static void test_retry(void)
{
    sink s;
    pqt_quic_keys ck, sk, ck2, sk2;
    uint64_t t = 1;
    uint8_t f[1500];
    pqt_obs *o = observer(&s, 0);
    CHECK(pqt_quic_initial_keys(PQT_QUIC_V1, DCID, 8, &ck, &sk) == 0);
    CHECK(pqt_quic_initial_keys(PQT_QUIC_V1, SCID, 8, &ck2, &sk2) == 0);
    if (o == NULL) {
        return;
    }
    /* The client's first Initial carries only a PING (padded). */
    dgram d = {{0}, 0};
    f[0] = 0x01;
    add_packet(&d, PQT_QUIC_V1, 0, &ck, DCID, 8, CCID, 4, 0, f, 1, 1180);
    pqt_packet p = udp(1, 7, &d);
    pqt_obs_segment(o, t++, &p);
    /* Retry: new connection ID SCID, a token, a tag (not verified). */
    d.n = 0;
    d.b[d.n++] = 0xf0;
    d.b[d.n++] = 0;
    d.b[d.n++] = 0;
    d.b[d.n++] = 0;
    d.b[d.n++] = 1;
    d.b[d.n++] = 4;
    memcpy(d.b + d.n, CCID, 4);
    d.n += 4;
    d.b[d.n++] = 8;
    memcpy(d.b + d.n, SCID, 8);
    d.n += 8;
    memset(d.b + d.n, 0x77, 20 + 16);
    d.n += 36;
    p = udp(0, 7, &d);
    pqt_obs_segment(o, t++, &p);
    /* The ClientHello in Initials to SCID, under the keys SCID gives. */
    client_flight(o, PQT_QUIC_V1, 7, &t, SCID, &ck2);
    size_t n = crypto_frame(f, 0, sh, sh_len);
    server_initial(o, PQT_QUIC_V1, 7, &t, &sk2, f, n, 0);
    client_handshake(o, PQT_QUIC_V1, 7, &t);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED && s.last.quic_retry);
    CHECK(s.last.group == PQT_GROUP_X25519MLKEM768 && s.last.quic_initials == 3);
    CHECK(pqt_obs_get_stats(o)->quic_undecryptable == 0);
    pqt_obs_free(o);
}

/* A HelloRetryRequest in the server's Initial (RFC 8446 §4.1.4; the same
 * ServerHello layout with the fixed random), the client's second
 * ClientHello after the first in its CRYPTO stream, then the ServerHello
 * after the HRR in the server's. */
static void test_hrr(void)
{
    static const uint8_t hrr_random[32] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11,
                                           0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
                                           0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E,
                                           0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
    uint8_t hrr[128], f[1500];
    size_t n = 0;
    hrr[n++] = 2; /* ServerHello */
    hrr[n++] = 0;
    hrr[n++] = 0;
    hrr[n++] = 0; /* length, below */
    put16(hrr + n, 0x0303);
    n += 2;
    memcpy(hrr + n, hrr_random, 32);
    n += 32;
    hrr[n++] = 0; /* session id */
    put16(hrr + n, 0x1301);
    n += 2;
    hrr[n++] = 0;
    put16(hrr + n, 12);
    n += 2;
    put16(hrr + n, 43); /* supported_versions: TLS 1.3 */
    put16(hrr + n + 2, 2);
    put16(hrr + n + 4, 0x0304);
    n += 6;
    put16(hrr + n, 51); /* key_share: the group asked for */
    put16(hrr + n + 2, 2);
    put16(hrr + n + 4, PQT_GROUP_X25519MLKEM768);
    n += 6;
    hrr[3] = (uint8_t)(n - 4);
    sink s;
    pqt_quic_keys ck, sk;
    uint64_t t = 1;
    pqt_obs *o = observer(&s, 0);
    CHECK(pqt_quic_initial_keys(PQT_QUIC_V1, DCID, 8, &ck, &sk) == 0);
    if (o == NULL) {
        return;
    }
    client_flight(o, PQT_QUIC_V1, 11, &t, DCID, &ck);
    size_t k = crypto_frame(f, 0, hrr, n);
    server_initial(o, PQT_QUIC_V1, 11, &t, &sk, f, k, 0);
    /* The second ClientHello at the stream offset after the first. */
    dgram d = {{0}, 0};
    k = crypto_frame(f, ch_len, ch, 1100);
    add_packet(&d, PQT_QUIC_V1, 0, &ck, SCID, 8, CCID, 4, 2, f, k, 1180);
    pqt_packet p = udp(1, 11, &d);
    pqt_obs_segment(o, t++, &p);
    d.n = 0;
    k = crypto_frame(f, ch_len + 1100, ch + 1100, ch_len - 1100);
    add_packet(&d, PQT_QUIC_V1, 0, &ck, SCID, 8, CCID, 4, 3, f, k, 1180);
    p = udp(1, 11, &d);
    pqt_obs_segment(o, t++, &p);
    k = crypto_frame(f, n, sh, sh_len);
    server_initial(o, PQT_QUIC_V1, 11, &t, &sk, f, k, 0);
    client_handshake(o, PQT_QUIC_V1, 11, &t);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED);
    CHECK(s.last.hrr && s.last.hrr_group == PQT_GROUP_X25519MLKEM768);
    CHECK(s.last.n_retry_key_share == 1 && s.last.retry_key_share[0] == PQT_GROUP_X25519MLKEM768);
    CHECK(s.last.has_sh && s.last.group == PQT_GROUP_X25519MLKEM768);
    CHECK(s.last.quic_initials == 2); /* the first hello's packets */
    pqt_obs_free(o);
}

static void test_not_quic(void)
{
    sink s;
    pqt_obs *o = observer(&s, 0);
    uint64_t t = 1;
    if (o == NULL) {
        return;
    }
    dgram d = {{0}, 0};
    /* A DNS-sized datagram; then a 1200-byte one that looks like a v1
     * Initial but does not decrypt. */
    memset(d.b, 0x11, 60);
    d.n = 60;
    pqt_packet p = udp(1, 53, &d);
    pqt_obs_segment(o, t++, &p);
    uint8_t junk[8] = {0};
    add_packet(&d, PQT_QUIC_V1, 0, NULL, DCID, 8, CCID, 4, 0, junk, 0, 1180);
    memmove(d.b, d.b + 60, d.n - 60);
    d.n -= 60;
    d.b[0] = 0xc1;
    p = udp(1, 54, &d);
    pqt_obs_segment(o, t++, &p);
    pqt_obs_finish(o);
    const pqt_obs_stats *st = pqt_obs_get_stats(o);
    CHECK(s.n == 0 && st->flows == 0 && st->flows_active == 0 && st->not_tcp == 1);
    CHECK(st->quic_undecryptable == 1);
    pqt_obs_free(o);
}

/* Hostile input under a 1 MiB memory limit. */
static void test_endless(void)
{
    sink s;
    pqt_quic_keys ck, sk;
    uint64_t t = 1;
    uint8_t f[1500];
    size_t limit = (size_t)1 << 20;
    pqt_obs *o = observer(&s, limit);
    CHECK(pqt_quic_initial_keys(PQT_QUIC_V1, DCID, 8, &ck, &sk) == 0);
    if (o == NULL) {
        return;
    }
    /* 3000 clients, each an Initial with the second half of a hello that
     * never completes (its CRYPTO buffer held): flows are evicted at the
     * memory limit, which holds. */
    dgram d = {{0}, 0};
    size_t n = crypto_frame(f, 1000, ch + 1000, ch_len - 1000);
    add_packet(&d, PQT_QUIC_V1, 0, &ck, DCID, 8, CCID, 4, 1, f, n, 1180);
    for (unsigned i = 0; i < 3000; i++) {
        pqt_packet p = udp(1, (uint16_t)(1024 + i), &d);
        pqt_obs_segment(o, t++, &p);
    }
    const pqt_obs_stats *st = pqt_obs_get_stats(o);
    CHECK(st->flows == 3000 && st->flows_evicted_memory > 0);
    CHECK(st->memory_peak <= limit && st->memory_bytes <= limit);
    CHECK((uint64_t)s.n == st->flows_evicted && s.last.outcome == PQT_OBS_EVICTED);
    pqt_obs_finish(o);
    CHECK(pqt_obs_get_stats(o)->memory_peak <= limit);
    pqt_obs_free(o);

    /* One client, endless Initials: CRYPTO data at ever larger offsets
     * and ever more holes. Its buffer stops at the hello limit. */
    o = observer(&s, limit);
    if (o == NULL) {
        return;
    }
    st = pqt_obs_get_stats(o);
    for (uint64_t i = 0; i < 2000; i++) {
        d.n = 0;
        n = crypto_frame(f, 1 + i * 37, ch, 16);
        n += crypto_frame(f + n, (uint64_t)1 << 40, ch, 16); /* far beyond: dropped */
        add_packet(&d, PQT_QUIC_V1, 0, &ck, DCID, 8, CCID, 4, i, f, n, 1180);
        pqt_packet p = udp(1, 9, &d);
        pqt_obs_segment(o, t++, &p);
    }
    CHECK(st->flows == 1 && st->quic_initials == 2000 && s.n == 0);
    CHECK(st->buffered_peak <= 70000 && st->memory_peak <= limit);
    pqt_obs_finish(o);
    CHECK(s.n == 1 && !s.last.has_ch && s.last.outcome == PQT_OBS_NO_ANSWER);
    CHECK((s.last.anomalies & PQT_OBS_A_BUDGET) && !(s.last.anomalies & PQT_OBS_A_HELLO_TOO_BIG));
    CHECK(st->buffered_bytes == 0);
    pqt_obs_free(o);
}

int main(void)
{
    if (pqt_quic_opener_new(&op) != 0) {
        fprintf(stderr, "no QUIC opener\n");
        return 1;
    }
    messages();
    test_handshake(PQT_QUIC_V1);
    test_handshake(PQT_QUIC_V2);
    test_endings();
    test_retry();
    test_hrr();
    test_not_quic();
    test_endless();
    pqt_quic_opener_free(op);
    printf("test_observe_quicflow: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
