/*
 * observe_gen: write a handshake-heavy pcap for bench/observe_bench.sh.
 *
 *   observe_gen OUT.pcap MIB [--concurrency N] [--seed S] [--collide] [--quic]
 *
 * Ethernet/IPv4/TCP, microsecond pcap. Each connection is a complete TCP
 * conversation: three-way handshake, a Chrome-like hybrid ClientHello
 * (built by pqt_hello_build_client: SNI, ALPN h2/http1.1, GREASE, groups
 * X25519MLKEM768/x25519/P-256/P-384, key shares X25519MLKEM768 (1216 bytes)
 * and x25519) split over two segments the way a 1500-byte path splits it,
 * and then one of:
 *   - (most) a TLS 1.3 ServerHello with an X25519MLKEM768 share (1120
 *     bytes), ChangeCipherSpec and 4 KB of encrypted flight, the client's
 *     CCS + Finished, 16 KB of application data each way, FIN/FIN;
 *   - every 8th: a HelloRetryRequest to X25519MLKEM768 after an
 *     x25519-only ClientHello, the second ClientHello, then as above;
 *   - every 10th: a fatal illegal_parameter alert from the server;
 *   - every 25th: a RST from the server right after the ClientHello.
 * N connections (default 64) are interleaved packet by packet, as on a busy
 * link. Key-share bytes are pseudo-random (the observer does not do
 * cryptography). Stops after MIB mebibytes (whole connections).
 * Prints "connections N packets P bytes B handshakes_pq Q alerts A resets R
 * hrr H" on standard output.
 *
 * --quic: QUIC (HTTP/3) handshakes over UDP instead, for the Initial
 * decryption path: per connection a Chrome-like hybrid ClientHello (ALPN
 * h3, TLS 1.3 only, the same groups and shares) in CRYPTO frames over two
 * Initial packets in two 1250-byte datagrams, the second half sent first;
 * the server's Initial with an ACK and the ServerHello (X25519MLKEM768,
 * 1120-byte share), a 1200-byte Handshake packet, the client's Handshake
 * packet, and two 1-RTT packets (1200 bytes from the server, 60 from the
 * client). Every 10th connection the server closes with CONNECTION_CLOSE
 * 0x128 (TLS alert 40) in its Initial instead, every 25th it never
 * answers. Initial packets are sealed for real (pqt_quic_seal with the
 * RFC 9001 keys of a random Destination Connection ID); Handshake and
 * 1-RTT packets are random bytes behind a header. The line printed adds
 * "quic_initial_bytes N": the UDP payload bytes of Initial packets.
 *
 * --collide: the same capture (same seed, same sizes, same bytes but for
 * addresses, ports and checksums) with every connection's 4-tuple in one
 * bucket of the observer's old flow table: server 192.0.2.1:443, clients
 * 10.0.0.1 and up, ports found by search such that the flow hash of
 * 12d8b6f (unkeyed FNV-1a, old_flow_hash below) agrees in its low 16 bits,
 * the bucket index with the default --max-flows 65536 (so also with any
 * smaller table). Prints a second line "collide bucket B of 65536 tried T".
 * The old table paid, per packet, for every flow in its bucket, and a flow
 * leaves the table at its connection's FIN or RST: what the collision costs
 * grows with the connections open at once, so use a large --concurrency
 * (bench/observe_bench.sh --collide uses 4096).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/hello.h"
#include "pqtls/quic.h"

#include "pcap_gen.h"

#define MSS 1448
#define MAX_PKTS 64
#define APP_BYTES 16384

typedef struct {
    uint32_t len;
    uint8_t data[MSS + 54];
} gen_pkt;

typedef struct {
    gen_pkt pkt[MAX_PKTS];
    unsigned n, next;
} gen_conn;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    /* xorshift64*: reproducible filler, not cryptography */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(rng() >> 56);
    }
}

typedef struct {
    uint8_t ip[2][4];
    uint16_t port[2];
    uint32_t seq[2];
} gen_tuple;

/* Ethernet and IPv4 headers of a frame from side (0 client, 1 server)
 * carrying l4len bytes of protocol proto; returns where those bytes go. */
static uint8_t *eth_ipv4(uint8_t *p, const gen_tuple *t, int side, uint8_t proto, size_t l4len)
{
    static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
    memcpy(p, mac[1 - side], 6);
    memcpy(p + 6, mac[side], 6);
    put16(p + 12, 0x0800);
    uint8_t *ip = p + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint32_t)(20 + l4len));
    ip[8] = side ? 57 : 121;
    ip[9] = proto;
    memcpy(ip + 12, t->ip[side], 4);
    memcpy(ip + 16, t->ip[1 - side], 4);
    put16(ip + 10, ip_checksum(ip, 20));
    return ip + 20;
}

/* One Ethernet/IPv4/TCP frame from side (0 client, 1 server). */
static void add_pkt(gen_conn *c, gen_tuple *t, int side, uint8_t flags, const uint8_t *data,
                    size_t len)
{
    if (c->n == MAX_PKTS) {
        fprintf(stderr, "observe_gen: too many packets in one connection\n");
        exit(5);
    }
    gen_pkt *k = &c->pkt[c->n++];
    uint8_t *tcp = eth_ipv4(k->data, t, side, 6, 20 + len);
    memset(tcp, 0, 20);
    put16(tcp, t->port[side]);
    put16(tcp + 2, t->port[1 - side]);
    put32(tcp + 4, t->seq[side]);
    put32(tcp + 8, (flags & 0x10) ? t->seq[1 - side] : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    if (len > 0) {
        memcpy(tcp + 20, data, len);
    }
    t->seq[side] += (uint32_t)len + ((flags & 0x03) ? 1 : 0); /* SYN, FIN count */
    k->len = (uint32_t)(54 + len);
}

/* Bytes from one side, cut into MSS segments (PSH on the last), then an ACK back. */
static void add_stream(gen_conn *c, gen_tuple *t, int side, const uint8_t *data, size_t len,
                       size_t first_cut)
{
    size_t off = 0;
    while (off < len) {
        size_t n = len - off;
        size_t cap = off == 0 && first_cut ? first_cut : MSS;
        if (n > cap) {
            n = cap;
        }
        add_pkt(c, t, side, (uint8_t)(0x10 | (off + n == len ? 0x08 : 0)), data + off, n);
        off += n;
    }
    add_pkt(c, t, 1 - side, 0x10, NULL, 0);
}

static size_t record(uint8_t *out, uint8_t type, const uint8_t *body, size_t len)
{
    out[0] = type;
    put16(out + 1, 0x0303);
    put16(out + 3, (uint32_t)len);
    if (body != NULL) {
        memmove(out + 5, body, len);
    } else {
        fill_random(out + 5, len);
    }
    return 5 + len;
}

static const uint8_t HRR_RANDOM[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

/* ServerHello (or HRR) handshake message: TLS 1.3, TLS_AES_128_GCM_SHA256. */
static size_t server_hello(uint8_t *out, int hrr, const uint8_t *sid)
{
    uint8_t *p = out + 4;
    put16(p, 0x0303);
    p += 2;
    if (hrr) {
        memcpy(p, HRR_RANDOM, 32);
    } else {
        fill_random(p, 32);
    }
    p += 32;
    *p++ = 32;
    memcpy(p, sid, 32);
    p += 32;
    put16(p, 0x1301);
    p += 2;
    *p++ = 0;
    uint16_t share_len = hrr ? 0 : 1120; /* RFC 10024: ciphertext 1088 + x25519 32 */
    size_t ext_len = 6 + (hrr ? 6 : 8 + share_len);
    put16(p, (uint32_t)ext_len);
    p += 2;
    put16(p, 43); /* supported_versions */
    put16(p + 2, 2);
    put16(p + 4, 0x0304);
    p += 6;
    put16(p, 51); /* key_share */
    if (hrr) {
        put16(p + 2, 2);
        put16(p + 4, 0x11EC);
        p += 6;
    } else {
        put16(p + 2, 4 + share_len);
        put16(p + 4, 0x11EC);
        put16(p + 6, share_len);
        fill_random(p + 8, share_len);
        p += 8 + share_len;
    }
    size_t body = (size_t)(p - out) - 4;
    out[0] = PQT_TLS_HS_SERVER_HELLO;
    out[1] = 0;
    put16(out + 2, (uint32_t)body);
    return 4 + body;
}

static size_t client_hello(uint8_t *out, size_t cap, const char *sni, int pq_share,
                           const uint8_t *sid)
{
    static const uint16_t suites[] = {0x4A4A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F,
                                      0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014,
                                      0x009C, 0x009D, 0x002F, 0x0035};
    static const uint16_t groups[] = {0x4A4A, 0x11EC, 0x001D, 0x0017, 0x0018};
    static const uint16_t sigs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    static const char *const alpn[] = {"h2", "http/1.1", NULL};
    static uint8_t pq[1216], x[32];
    uint8_t random[32];
    fill_random(pq, sizeof(pq));
    fill_random(x, sizeof(x));
    fill_random(random, sizeof(random));
    pqt_key_share shares[2] = {{0x11EC, pq, sizeof(pq)}, {0x001D, x, sizeof(x)}};
    pqt_client_hello_spec spec = {
        .sni = sni,
        .cipher_suites = suites,
        .n_cipher_suites = sizeof(suites) / sizeof(suites[0]),
        .groups = groups,
        .n_groups = sizeof(groups) / sizeof(groups[0]),
        .key_shares = pq_share ? shares : shares + 1,
        .n_key_shares = pq_share ? 2 : 1,
        .sig_algs = sigs,
        .n_sig_algs = sizeof(sigs) / sizeof(sigs[0]),
        .alpn = alpn,
        .tls12_too = 1,
        .random = random,
        .session_id = sid,
    };
    size_t len = 0;
    if (pqt_hello_build_client(&spec, out, cap, &len) != 0) {
        fprintf(stderr, "observe_gen: pqt_hello_build_client failed\n");
        exit(5);
    }
    return len;
}

/* ---- --collide ---------------------------------------------------------- */

#define COLLIDE_BUCKETS 65536u /* engine.c: DEFAULT_MAX_FLOWS buckets */

/* The observer's flow hash before it was keyed (src/observe/engine.c at
 * 12d8b6f, hash_bytes and flow_hash): FNV-1a of each endpoint's address
 * and big-endian port, the two combined so both directions agree; the
 * bucket was the low bits. */
static uint32_t old_fnv(uint32_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

static uint32_t old_endpoint(const uint8_t ip[4], uint16_t port)
{
    uint8_t pb[2] = {(uint8_t)(port >> 8), (uint8_t)port};
    return old_fnv(old_fnv(2166136261u, ip, 4), pb, 2);
}

static uint32_t old_combine(uint32_t ha, uint32_t hb)
{
    uint32_t h = (ha ^ hb) + (ha + hb) * 0x9E3779B1u;
    return h ^ (h >> 15);
}

static uint32_t old_flow_hash(const gen_tuple *t)
{
    return old_combine(old_endpoint(t->ip[0], t->port[0]), old_endpoint(t->ip[1], t->port[1]));
}

/* The search: client addresses 10.0.0.1, 10.0.0.2, ... and for each the
 * ports 1024..65535 in order; every 4-tuple whose old bucket is the one of
 * the first (10.0.0.1:1024 to 192.0.2.1:443) is taken, each once. About
 * one in 65536 is, so roughly one per address. */
typedef struct {
    uint32_t host, port; /* next candidate: 10.0.0.0 + host, port */
    uint32_t hb, bucket; /* the server endpoint's hash; the bucket */
    uint64_t tried;
} collide_search;

static const uint8_t COLLIDE_SERVER[4] = {192, 0, 2, 1};

static void collide_init(collide_search *s)
{
    s->host = 1;
    s->port = 1024;
    s->hb = old_endpoint(COLLIDE_SERVER, 443);
    s->bucket = old_combine(old_endpoint((const uint8_t[4]){10, 0, 0, 1}, 1024), s->hb) &
                (COLLIDE_BUCKETS - 1);
    s->tried = 0;
}

static void collide_next(collide_search *s, gen_tuple *t)
{
    for (; s->host < (1u << 24); s->host++, s->port = 1024) {
        uint8_t ip[4] = {10, (uint8_t)(s->host >> 16), (uint8_t)(s->host >> 8), (uint8_t)s->host};
        uint32_t st = old_fnv(2166136261u, ip, 4);
        for (; s->port <= 65535; s->port++) {
            uint8_t pb[2] = {(uint8_t)(s->port >> 8), (uint8_t)s->port};
            s->tried++;
            if ((old_combine(old_fnv(st, pb, 2), s->hb) & (COLLIDE_BUCKETS - 1)) == s->bucket) {
                memcpy(t->ip[0], ip, 4);
                memcpy(t->ip[1], COLLIDE_SERVER, 4);
                t->port[0] = (uint16_t)s->port++;
                t->port[1] = 443;
                return;
            }
        }
    }
    fprintf(stderr, "observe_gen: --collide ran out of 10.0.0.0/8 client addresses\n");
    exit(5);
}

static collide_search *collide; /* NULL unless --collide */

typedef struct {
    uint64_t conns, packets, bytes, pq, alerts, resets, hrr, initial_bytes;
} gen_stats;

/* ---- --quic ------------------------------------------------------------- */

static int quic_mode;
static pqt_quic_opener *quic_op;

/* One Ethernet/IPv4/UDP frame from side (0 client, 1 server). */
static void add_udp(gen_conn *c, const gen_tuple *t, int side, const uint8_t *data, size_t len)
{
    if (c->n == MAX_PKTS || len > MSS) {
        fprintf(stderr, "observe_gen: bad QUIC datagram\n");
        exit(5);
    }
    gen_pkt *k = &c->pkt[c->n++];
    uint8_t *udp = eth_ipv4(k->data, t, side, 17, 8 + len);
    put16(udp, t->port[side]);
    put16(udp + 2, t->port[1 - side]);
    put16(udp + 4, (uint32_t)(8 + len));
    put16(udp + 6, 0); /* no checksum (IPv4 allows it) */
    memcpy(udp + 8, data, len);
    k->len = (uint32_t)(42 + len);
}

static size_t quic_varint2(uint8_t *p, size_t v)
{
    put16(p, (uint32_t)(0x4000 | v));
    return 2;
}

/* A long-header packet: type bits tb, the CIDs, 2-byte packet number;
 * payload padded to pad bytes and sealed with k, or random bytes when k
 * is NULL (Handshake). Returns its length. */
static size_t quic_long(uint8_t *out, unsigned tb, const pqt_quic_keys *k, const uint8_t *dcid,
                        const uint8_t *scid, uint64_t pn, const uint8_t *payload, size_t n,
                        size_t pad)
{
    uint8_t hdr[64];
    static uint8_t plain[1500];
    size_t h = 0;
    if (pad < n) {
        pad = n;
    }
    hdr[h++] = (uint8_t)(0xc1 | tb << 4);
    put32(hdr + h, PQT_QUIC_V1);
    h += 4;
    hdr[h++] = 8;
    memcpy(hdr + h, dcid, 8);
    h += 8;
    hdr[h++] = 8;
    memcpy(hdr + h, scid, 8);
    h += 8;
    if (tb == 0) {
        hdr[h++] = 0; /* token */
    }
    h += quic_varint2(hdr + h, 2 + pad + 16);
    size_t pn_off = h;
    put16(hdr + h, (uint32_t)pn);
    h += 2;
    if (k == NULL) {
        memcpy(out, hdr, h);
        fill_random(out + h, pad + 16);
        return h + pad + 16;
    }
    memcpy(plain, payload, n);
    memset(plain + n, 0, pad - n);
    if (pqt_quic_seal(quic_op, k, hdr, pn_off, 2, pn, plain, pad, out) != 0) {
        fprintf(stderr, "observe_gen: pqt_quic_seal failed\n");
        exit(5);
    }
    return h + pad + 16;
}

static size_t crypto_frame(uint8_t *p, size_t off, const uint8_t *data, size_t n)
{
    size_t k = 0;
    p[k++] = 0x06;
    k += quic_varint2(p + k, off);
    k += quic_varint2(p + k, n);
    memcpy(p + k, data, n);
    return k + n;
}

static size_t quic_client_hello(uint8_t *out, size_t cap, const char *sni)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};
    static const uint16_t groups[] = {0x11EC, 0x001D, 0x0017, 0x0018};
    static const uint16_t sigs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    static const char *const alpn[] = {"h3", NULL};
    static uint8_t pq[1216], x[32];
    uint8_t random[32];
    fill_random(pq, sizeof(pq));
    fill_random(x, sizeof(x));
    fill_random(random, sizeof(random));
    pqt_key_share shares[2] = {{0x11EC, pq, sizeof(pq)}, {0x001D, x, sizeof(x)}};
    pqt_client_hello_spec spec = {
        .sni = sni,
        .cipher_suites = suites,
        .n_cipher_suites = 3,
        .groups = groups,
        .n_groups = 4,
        .key_shares = shares,
        .n_key_shares = 2,
        .sig_algs = sigs,
        .n_sig_algs = sizeof(sigs) / sizeof(sigs[0]),
        .alpn = alpn,
        .random = random,
    };
    size_t len = 0;
    if (pqt_hello_build_client(&spec, out, cap, &len) != 0) {
        fprintf(stderr, "observe_gen: pqt_hello_build_client failed\n");
        exit(5);
    }
    return len;
}

static void make_quic_conn(gen_conn *c, uint64_t id, gen_stats *st)
{
    static uint8_t ch[4096], sh[2048], frames[1500], pkt[1500];
    uint8_t dcid[8], ccid[8], scid[8], sid[32] = {0};
    gen_tuple t;
    char sni[64];
    pqt_quic_keys ck, sk;
    c->n = c->next = 0;
    t.ip[0][0] = 10;
    t.ip[0][1] = (uint8_t)(id >> 16);
    t.ip[0][2] = (uint8_t)(id >> 8);
    t.ip[0][3] = (uint8_t)id;
    t.ip[1][0] = 192;
    t.ip[1][1] = 0;
    t.ip[1][2] = 2;
    t.ip[1][3] = (uint8_t)(1 + id % 200);
    t.port[0] = (uint16_t)(1024 + id % 60000);
    t.port[1] = 443;
    fill_random(dcid, 8);
    fill_random(ccid, 8);
    fill_random(scid, 8);
    if (pqt_quic_initial_keys(PQT_QUIC_V1, dcid, 8, &ck, &sk) != 0) {
        exit(5);
    }
    snprintf(sni, sizeof(sni), "host%u.example.com", (unsigned)(id % 1000));
    int alert = id % 10 == 7, silent = id % 25 == 11;
    size_t chl = quic_client_hello(ch, sizeof(ch), sni), cut = 1100, n, len;
    /* The second half first, in a padded 1250-byte datagram, then the first. */
    n = crypto_frame(frames, cut, ch + cut, chl - cut);
    len = quic_long(pkt, 0, &ck, dcid, ccid, 1, frames, n, 1250 - 44);
    add_udp(c, &t, 0, pkt, len);
    st->initial_bytes += len;
    n = crypto_frame(frames, 0, ch, cut);
    len = quic_long(pkt, 0, &ck, dcid, ccid, 0, frames, n, 1250 - 44);
    add_udp(c, &t, 0, pkt, len);
    st->initial_bytes += len;
    if (silent) {
        st->resets++;
        return;
    }
    n = 0;
    frames[n++] = 0x02; /* ACK of 0 and 1 */
    frames[n++] = 1;
    frames[n++] = 0;
    frames[n++] = 0;
    frames[n++] = 1;
    if (alert) {
        frames[n++] = 0x1c; /* CONNECTION_CLOSE 0x128: handshake_failure */
        frames[n++] = 0x41;
        frames[n++] = 0x28;
        frames[n++] = 0x06;
        frames[n++] = 0;
        len = quic_long(pkt, 0, &sk, ccid, scid, 0, frames, n, 0);
        add_udp(c, &t, 1, pkt, len);
        st->initial_bytes += len;
        st->alerts++;
        return;
    }
    size_t shl = server_hello(sh, 0, sid);
    n += crypto_frame(frames + n, 0, sh, shl);
    len = quic_long(pkt, 0, &sk, ccid, scid, 0, frames, n, 0);
    add_udp(c, &t, 1, pkt, len);
    st->initial_bytes += len;
    len = quic_long(pkt, 2, NULL, ccid, scid, 0, NULL, 0, 1200);
    add_udp(c, &t, 1, pkt, len);
    len = quic_long(pkt, 2, NULL, scid, ccid, 0, NULL, 0, 60);
    add_udp(c, &t, 0, pkt, len);
    /* 1-RTT: a short header (fixed bit, the DCID) and random bytes. */
    pkt[0] = 0x41;
    memcpy(pkt + 1, ccid, 8);
    fill_random(pkt + 9, 1200);
    add_udp(c, &t, 1, pkt, 1209);
    memcpy(pkt + 1, scid, 8);
    fill_random(pkt + 9, 60);
    add_udp(c, &t, 0, pkt, 69);
    st->pq++;
}

static void make_conn(gen_conn *c, uint64_t id, gen_stats *st)
{
    if (quic_mode) {
        make_quic_conn(c, id, st);
        return;
    }
    static uint8_t buf[16 * 1024 + 4096], rec[16 * 1024 + 4096];
    gen_tuple t;
    char sni[64];
    uint8_t sid[32];
    c->n = c->next = 0;
    t.ip[0][0] = 10;
    t.ip[0][1] = (uint8_t)(id >> 16);
    t.ip[0][2] = (uint8_t)(id >> 8);
    t.ip[0][3] = (uint8_t)id;
    t.ip[1][0] = 192;
    t.ip[1][1] = 0;
    t.ip[1][2] = 2;
    t.ip[1][3] = (uint8_t)(1 + id % 200);
    t.port[0] = (uint16_t)(1024 + id % 60000);
    t.port[1] = 443;
    if (collide != NULL) {
        collide_next(collide, &t);
        if ((old_flow_hash(&t) & (COLLIDE_BUCKETS - 1)) != collide->bucket) {
            fprintf(stderr, "observe_gen: --collide search is wrong\n");
            exit(5);
        }
    }
    t.seq[0] = (uint32_t)rng();
    t.seq[1] = (uint32_t)rng();
    snprintf(sni, sizeof(sni), "host%u.example.com", (unsigned)(id % 1000));
    fill_random(sid, sizeof(sid));
    int hrr = id % 8 == 3, alert = id % 10 == 7, reset = id % 25 == 11;

    add_pkt(c, &t, 0, 0x02, NULL, 0);
    add_pkt(c, &t, 1, 0x12, NULL, 0);
    add_pkt(c, &t, 0, 0x10, NULL, 0);
    size_t hl = client_hello(buf, sizeof(buf), sni, !hrr, sid);
    size_t rl = record(rec, PQT_TLS_CT_HANDSHAKE, buf, hl);
    add_stream(c, &t, 0, rec, rl, rl > MSS ? MSS : rl / 2);
    if (reset) {
        add_pkt(c, &t, 1, 0x14, NULL, 0);
        st->resets++;
        return;
    }
    if (alert) {
        uint8_t a[2] = {2, 47};
        rl = record(rec, PQT_TLS_CT_ALERT, a, 2);
        add_stream(c, &t, 1, rec, rl, 0);
        add_pkt(c, &t, 1, 0x11, NULL, 0);
        add_pkt(c, &t, 0, 0x11, NULL, 0);
        st->alerts++;
        return;
    }
    if (hrr) {
        hl = server_hello(buf, 1, sid);
        rl = record(rec, PQT_TLS_CT_HANDSHAKE, buf, hl);
        add_stream(c, &t, 1, rec, rl, 0);
        hl = client_hello(buf, sizeof(buf), sni, 1, sid);
        rl = record(rec, PQT_TLS_CT_CHANGE_CIPHER_SPEC, (const uint8_t *)"\x01", 1);
        rl += record(rec + rl, PQT_TLS_CT_HANDSHAKE, buf, hl);
        add_stream(c, &t, 0, rec, rl, 0);
        st->hrr++;
    }
    hl = server_hello(buf, 0, sid);
    rl = record(rec, PQT_TLS_CT_HANDSHAKE, buf, hl);
    if (!hrr) {
        rl += record(rec + rl, PQT_TLS_CT_CHANGE_CIPHER_SPEC, (const uint8_t *)"\x01", 1);
    }
    rl += record(rec + rl, PQT_TLS_CT_APPLICATION_DATA, NULL, 4096);
    add_stream(c, &t, 1, rec, rl, 0);
    rl = hrr ? 0 : record(rec, PQT_TLS_CT_CHANGE_CIPHER_SPEC, (const uint8_t *)"\x01", 1);
    rl += record(rec + rl, PQT_TLS_CT_APPLICATION_DATA, NULL, 53);
    rl += record(rec + rl, PQT_TLS_CT_APPLICATION_DATA, NULL, 600); /* the request */
    add_stream(c, &t, 0, rec, rl, 0);
    rl = record(rec, PQT_TLS_CT_APPLICATION_DATA, NULL, APP_BYTES);
    add_stream(c, &t, 1, rec, rl, 0);
    add_stream(c, &t, 0, rec, rl, 0);
    add_pkt(c, &t, 0, 0x11, NULL, 0);
    add_pkt(c, &t, 1, 0x11, NULL, 0);
    add_pkt(c, &t, 0, 0x10, NULL, 0);
    st->pq++;
}

int main(int argc, char **argv)
{
    unsigned long conc = 64;
    collide_search search;
    if (argc < 3) {
        fprintf(stderr, "usage: observe_gen OUT.pcap MIB [--concurrency N] [--seed S] [--collide] "
                        "[--quic]\n");
        return 2;
    }
    for (int i = 3; i < argc; i += 2) {
        if (strcmp(argv[i], "--quic") == 0) {
            quic_mode = 1;
            i--; /* no value */
            if (pqt_quic_opener_new(&quic_op) != 0) {
                fprintf(stderr, "observe_gen: no QUIC cipher contexts\n");
                return 5;
            }
        } else if (strcmp(argv[i], "--collide") == 0) {
            collide_init(&search);
            collide = &search;
            i--; /* no value */
        } else if (strcmp(argv[i], "--concurrency") != 0 && strcmp(argv[i], "--seed") != 0) {
            fprintf(stderr, "observe_gen: unknown option %s\n", argv[i]);
            return 2;
        } else if (i + 1 >= argc) {
            fprintf(stderr, "observe_gen: %s needs a value\n", argv[i]);
            return 2;
        } else if (strcmp(argv[i], "--concurrency") == 0) {
            conc = strtoul(argv[i + 1], NULL, 10);
        } else {
            rng_state = strtoull(argv[i + 1], NULL, 10) | 1;
        }
    }
    unsigned long long mib = strtoull(argv[2], NULL, 10);
    if (mib == 0 || conc == 0 || conc > 4096) {
        fprintf(stderr, "observe_gen: MIB must be > 0 and --concurrency 1..4096\n");
        return 2;
    }
    uint64_t limit = (uint64_t)mib << 20;
    FILE *f = fopen(argv[1], "wb");
    if (f == NULL) {
        perror(argv[1]);
        return 3;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    pcap_write_file_header(f, 262144);

    gen_conn *cs = calloc(conc, sizeof(*cs));
    if (cs == NULL) {
        return 5;
    }
    gen_stats st = {0};
    uint64_t ts = 1700000000ull * 1000000u, id = 0;
    int filling = 1;
    for (unsigned long i = 0; i < conc; i++) {
        make_conn(&cs[i], id++, &st);
    }
    unsigned long live = conc;
    while (live > 0) {
        for (unsigned long i = 0; i < conc; i++) {
            gen_conn *c = &cs[i];
            if (c->next == c->n) {
                continue;
            }
            gen_pkt *k = &c->pkt[c->next++];
            pcap_write_packet(f, ts, k->data, k->len);
            st.packets++;
            st.bytes += 16 + k->len;
            ts += 3;
            if (c->next == c->n) {
                st.conns++;
                if (filling && st.bytes < limit) {
                    make_conn(c, id++, &st);
                } else {
                    filling = 0;
                    live--;
                }
            }
        }
    }
    free(cs);
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 3;
    }
    printf("connections %llu packets %llu bytes %llu handshakes_pq %llu alerts %llu resets %llu "
           "hrr %llu\n",
           (unsigned long long)st.conns, (unsigned long long)st.packets,
           (unsigned long long)(st.bytes + 24), (unsigned long long)st.pq,
           (unsigned long long)st.alerts, (unsigned long long)st.resets,
           (unsigned long long)st.hrr);
    if (quic_mode) {
        printf("quic_initial_bytes %llu\n", (unsigned long long)st.initial_bytes);
        pqt_quic_opener_free(quic_op);
    }
    if (collide != NULL) {
        printf("collide bucket %u of %u tried %llu\n", (unsigned)collide->bucket, COLLIDE_BUCKETS,
               (unsigned long long)collide->tried);
    }
    return 0;
}
