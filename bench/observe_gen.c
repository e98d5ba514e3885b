/*
 * observe_gen: write a handshake-heavy pcap for bench/observe_bench.sh.
 *
 *   observe_gen OUT.pcap MIB [--concurrency N] [--seed S] [--collide]
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

/* One Ethernet/IPv4/TCP frame from side (0 client, 1 server). */
static void add_pkt(gen_conn *c, gen_tuple *t, int side, uint8_t flags, const uint8_t *data,
                    size_t len)
{
    if (c->n == MAX_PKTS) {
        fprintf(stderr, "observe_gen: too many packets in one connection\n");
        exit(5);
    }
    gen_pkt *k = &c->pkt[c->n++];
    uint8_t *p = k->data;
    static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
    memcpy(p, mac[1 - side], 6);
    memcpy(p + 6, mac[side], 6);
    put16(p + 12, 0x0800);
    uint8_t *ip = p + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint32_t)(40 + len));
    ip[8] = side ? 57 : 121;
    ip[9] = 6;
    memcpy(ip + 12, t->ip[side], 4);
    memcpy(ip + 16, t->ip[1 - side], 4);
    put16(ip + 10, ip_checksum(ip, 20));
    uint8_t *tcp = ip + 20;
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
    uint64_t conns, packets, bytes, pq, alerts, resets, hrr;
} gen_stats;

static void make_conn(gen_conn *c, uint64_t id, gen_stats *st)
{
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
        fprintf(stderr,
                "usage: observe_gen OUT.pcap MIB [--concurrency N] [--seed S] [--collide]\n");
        return 2;
    }
    for (int i = 3; i < argc; i += 2) {
        if (strcmp(argv[i], "--collide") == 0) {
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
    if (collide != NULL) {
        printf("collide bucket %u of %u tried %llu\n", (unsigned)collide->bucket, COLLIDE_BUCKETS,
               (unsigned long long)collide->tried);
    }
    return 0;
}
