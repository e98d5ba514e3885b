/*
 * Unit tests for the observer's modules: JA4 against the spec's worked
 * examples and ALPN rules, keyed pseudonyms, the frame decoder for every
 * link type, and reassembly + handshake outcomes on synthetic flows
 * (out of order, retransmitted, overlapping, mid-stream, gaps, resets,
 * the flow limit and the buffer budget), SHA-256 (SHA-NI against C), and
 * the mmap pcap reader against libpcap.
 */
#define _GNU_SOURCE /* mkstemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "obs_internal.h"
#include "pqtls/groups.h"
#include "pqtls/ja4.h"
#include "pqtls/mask.h"
#include "pqtls/observe.h"
#include "siphash.h"
#include "tls_internal.h"

static int failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* ---------------------------------------------------------------- JA4 */

/* A ClientHello assembled field by field (JA4 reads only these). */
typedef struct {
    uint8_t ciphers[64], sigs[32], versions[8], alpn[64];
    pqt_client_hello ch;
} fake_ch;

static void fake_init(fake_ch *f, const uint16_t *c, size_t nc, const uint16_t *e, size_t ne,
                      const uint16_t *s, size_t ns, const uint8_t *alpn1, size_t alpn1_len)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < nc; i++) {
        put16(f->ciphers + 2 * i, c[i]);
    }
    f->ch.cipher_suites = f->ciphers;
    f->ch.n_cipher_suites = nc;
    for (size_t i = 0; i < ne; i++) {
        f->ch.ext[i].type = e[i];
    }
    f->ch.n_ext = ne;
    for (size_t i = 0; i < ns; i++) {
        put16(f->sigs + 2 * i, s[i]);
    }
    f->ch.sig_algs = ns ? f->sigs : NULL;
    f->ch.n_sig_algs = ns;
    put16(f->versions, 0x0A0A); /* GREASE: ignored */
    put16(f->versions + 2, 0x0304);
    put16(f->versions + 4, 0x0303);
    f->ch.versions = f->versions;
    f->ch.n_versions = 3;
    f->ch.legacy_version = 0x0303;
    if (alpn1 != NULL) {
        f->alpn[0] = (uint8_t)alpn1_len;
        memcpy(f->alpn + 1, alpn1, alpn1_len);
        f->alpn[1 + alpn1_len] = 2;
        memcpy(f->alpn + 2 + alpn1_len, "h2", 2);
        f->ch.alpn = f->alpn;
        f->ch.alpn_len = 4 + alpn1_len;
    }
}

/* JA4.md "Example": the worked example's lists, plus GREASE that must not count. */
static const uint16_t spec_ciphers[] = {0x1A1A, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                        0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
                                        0x009c, 0x009d, 0x002f, 0x0035};
static const uint16_t spec_exts[] = {0x2A2A, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469,
                                     0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
                                     0x002b, 0xff01, 0x000b, 0x000a, 0x0015};
static const uint16_t spec_sigs[] = {0x0403, 0x0804, 0x0401, 0x0503,
                                     0x0805, 0x0501, 0x0806, 0x0601};

static void test_ja4_spec(void)
{
    fake_ch f;
    char ja4[PQT_JA4_SIZE], raw[1024];
    fake_init(&f, spec_ciphers, 16, spec_exts, 17, spec_sigs, 8, (const uint8_t *)"h2", 2);
    CHECK(pqt_ja4(&f.ch, 't', ja4, raw, sizeof(raw)) == 0);
    CHECK(strcmp(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1") == 0);
    CHECK(strcmp(raw, "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,"
                      "c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,"
                      "0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601") == 0);
    /* "If there are no signature algorithms ... ends without an underscore" */
    fake_init(&f, spec_ciphers, 16, spec_exts, 17, NULL, 0, (const uint8_t *)"h2", 2);
    CHECK(pqt_ja4(&f.ch, 't', ja4, NULL, 0) == 0);
    CHECK(strcmp(ja4 + 24, "6d807ffa2a79") == 0);
    /* No ciphers / only SNI and ALPN: zeros, not a hash of nothing. */
    static const uint16_t sni_alpn[] = {0x0000, 0x0010};
    fake_init(&f, NULL, 0, sni_alpn, 2, NULL, 0, NULL, 0);
    CHECK(pqt_ja4(&f.ch, 't', ja4, NULL, 0) == 0);
    CHECK(strcmp(ja4, "t13d000200_000000000000_000000000000") == 0);
    /* Versions: the highest offered, unknown codes are "00". */
    CHECK(strcmp(pqt_ja4_version(0x7f12), "00") == 0 && strcmp(pqt_ja4_version(0x0300), "s3") == 0);
    /* Counts saturate at 99. */
    uint16_t many[120];
    for (int i = 0; i < 120; i++) {
        many[i] = (uint16_t)(0x1000 + i);
    }
    fake_ch big;
    memset(&big, 0, sizeof(big));
    uint8_t *cs = malloc(240);
    CHECK(cs != NULL);
    for (int i = 0; cs && i < 120; i++) {
        put16(cs + 2 * i, many[i]);
    }
    big.ch.cipher_suites = cs;
    big.ch.n_cipher_suites = 120;
    big.ch.legacy_version = 0x0301;
    CHECK(pqt_ja4(&big.ch, 't', ja4, NULL, 0) == 0 && strncmp(ja4, "t10i990000_", 11) == 0);
    free(cs);
}

static void test_ja4_alpn(void)
{
    /* JA4.md "ALPN Extension Value": the spec's own examples. */
    static const struct {
        const char *bytes;
        size_t len;
        const char *want;
    } cases[] = {
        {"\xAB", 1, "ab"},
        {"\x20", 1, "20"},
        {"\xAB\xCD", 2, "ad"},
        {"\x20\x61", 2, "21"},
        {"\x30\xAB", 2, "3b"},
        {"\x61\x20", 2, "60"},
        {"\x30\x31\xAB\xCD", 4, "3d"},
        {"\x30\xAB\xCD\x31", 4, "01"},
        {"h2", 2, "h2"},
        {"http/1.1", 8, "h1"},
        {"c", 1, "cc"},
        {"H2", 2, "H2"},
        {"\xBA\xAD", 2, "bd"}, /* foxio-ja4 tls-non-ascii-alpn: decision, see ja4.h */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake_ch f;
        char ja4[PQT_JA4_SIZE];
        fake_init(&f, spec_ciphers, 16, spec_exts, 17, spec_sigs, 8,
                  (const uint8_t *)cases[i].bytes, cases[i].len);
        CHECK(pqt_ja4(&f.ch, 't', ja4, NULL, 0) == 0);
        if (strncmp(ja4 + 8, cases[i].want, 2) != 0) {
            fprintf(stderr, "ALPN case %zu: got %.2s want %s\n", i, ja4 + 8, cases[i].want);
            failures++;
        }
    }
    fake_ch f;
    char ja4[PQT_JA4_SIZE];
    fake_init(&f, spec_ciphers, 16, spec_exts, 17, spec_sigs, 8, NULL, 0);
    CHECK(pqt_ja4(&f.ch, 't', ja4, NULL, 0) == 0 && strncmp(ja4 + 8, "00", 2) == 0);
}

/* ---------------------------------------------------------------- pseudonyms */

static void test_pseudonym(void)
{
    pqt_pseudonym ps, other;
    uint8_t key[32], a[4] = {10, 1, 2, 3}, b[4] = {10, 1, 2, 200}, c[4] = {10, 1, 3, 3};
    uint8_t pa[4], pb[4], pc[4], pa2[4];
    char n1[PQT_PSEUDONYM_NAME_SIZE], n2[PQT_PSEUDONYM_NAME_SIZE];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
    }
    CHECK(pqt_pseudonym_init(&ps, key, 15) == PQT_ERR_LENGTH);
    CHECK(pqt_pseudonym_init(&ps, key, 32) == 0);
    CHECK(pqt_pseudonym_ipv4(&ps, a, pa) == 0 && pqt_pseudonym_ipv4(&ps, b, pb) == 0 &&
          pqt_pseudonym_ipv4(&ps, c, pc) == 0 && pqt_pseudonym_ipv4(&ps, a, pa2) == 0);
    CHECK(memcmp(pa, pa2, 4) == 0 && memcmp(pa, a, 4) != 0);
    CHECK(memcmp(pa, pb, 3) == 0 && pa[3] != pb[3]); /* shared /24 kept */
    CHECK(memcmp(pa, pc, 2) == 0 && pa[2] != pc[2]); /* /16 shared, third octet differs */
    uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8}, v6b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1}, o6a[16],
            o6b[16];
    CHECK(pqt_pseudonym_ipv6(&ps, v6a, o6a) == 0 && pqt_pseudonym_ipv6(&ps, v6b, o6b) == 0);
    CHECK(memcmp(o6a, o6b, 4) == 0 && memcmp(o6a, v6a, 16) != 0);
    CHECK(pqt_pseudonym_name(&ps, (const uint8_t *)"Example.COM", 11, n1) == 0);
    CHECK(pqt_pseudonym_name(&ps, (const uint8_t *)"example.com", 11, n2) == 0);
    CHECK(strcmp(n1, n2) == 0 && strncmp(n1, "h-", 2) == 0 && strlen(n1) == 22);
    key[0] ^= 1;
    CHECK(pqt_pseudonym_init(&other, key, 32) == 0);
    CHECK(pqt_pseudonym_name(&other, (const uint8_t *)"example.com", 11, n2) == 0 &&
          strcmp(n1, n2) != 0);
    pqt_pseudonym_clear(&ps);
    CHECK(ps.key_len == 0);
    CHECK(pqt_pseudonym_name(&ps, (const uint8_t *)"x", 1, n1) != 0); /* cleared key refuses */
}

/* ---------------------------------------------------------------- decoder */

static size_t ipv4_tcp(uint8_t *p, const uint8_t *payload, size_t n)
{
    memset(p, 0, 40);
    p[0] = 0x45;
    put16(p + 2, (uint16_t)(40 + n));
    p[8] = 57; /* TTL */
    p[9] = 6;
    memcpy(p + 12, "\x0a\x00\x00\x01\xc0\x00\x02\x07", 8);
    put16(p + 20, 40000);
    put16(p + 22, 443);
    p[24 + 3] = 1; /* seq 1 */
    p[32] = 0x50;
    p[33] = 0x18;
    memcpy(p + 40, payload, n);
    return 40 + n;
}

static void test_decode(void)
{
    uint8_t f[256], ip[128];
    pqt_packet pkt;
    size_t iplen = ipv4_tcp(ip, (const uint8_t *)"hello", 5);
    /* Ethernet with two VLAN tags and trailing padding. */
    memset(f, 0, sizeof(f));
    put16(f + 12, 0x88A8);
    put16(f + 14, 100);
    put16(f + 16, 0x8100);
    put16(f + 18, 200);
    put16(f + 20, 0x0800);
    memcpy(f + 22, ip, iplen);
    CHECK(pqt_packet_decode(PQT_LINK_ETHERNET, f, 22 + iplen + 6, &pkt) == 0);
    CHECK(pkt.n_vlan == 2 && pkt.vlan[0] == 100 && pkt.vlan[1] == 200 && pkt.ttl == 57);
    CHECK(pkt.sport == 40000 && pkt.dport == 443 && pkt.payload_len == 5 &&
          memcmp(pkt.payload, "hello", 5) == 0); /* padding trimmed */
    for (size_t cut = 0; cut < 22 + 40; cut++) {
        CHECK(pqt_packet_decode(PQT_LINK_ETHERNET, f, cut, &pkt) == PQT_ERR_TRUNCATED);
    }
    /* Linux SLL, SLL2, BSD loopback (either byte order), raw. */
    memset(f, 0, sizeof(f));
    put16(f + 14, 0x0800);
    memcpy(f + 16, ip, iplen);
    CHECK(pqt_packet_decode(PQT_LINK_LINUX_SLL, f, 16 + iplen, &pkt) == 0 && pkt.payload_len == 5);
    memset(f, 0, sizeof(f));
    put16(f, 0x0800);
    memcpy(f + 20, ip, iplen);
    CHECK(pqt_packet_decode(PQT_LINK_LINUX_SLL2, f, 20 + iplen, &pkt) == 0 && pkt.payload_len == 5);
    memset(f, 0, 4);
    f[0] = 2;
    memcpy(f + 4, ip, iplen);
    CHECK(pqt_packet_decode(PQT_LINK_NULL, f, 4 + iplen, &pkt) == 0 && pkt.payload_len == 5);
    f[0] = 0;
    f[3] = 2;
    CHECK(pqt_packet_decode(PQT_LINK_LOOP, f, 4 + iplen, &pkt) == 0);
    CHECK(pqt_packet_decode(PQT_LINK_RAW, ip, iplen, &pkt) == 0 && pkt.ip_version == 4);
    /* IPv6 with a hop-by-hop header. */
    uint8_t v6[128];
    memset(v6, 0, sizeof(v6));
    v6[0] = 0x60;
    put16(v6 + 4, 8 + 20 + 3);
    v6[6] = 0; /* hop-by-hop */
    v6[7] = 64;
    v6[40] = 6; /* next: TCP */
    put16(v6 + 48, 1234);
    put16(v6 + 50, 443);
    v6[60] = 0x50;
    memcpy(v6 + 68, "abc", 3);
    CHECK(pqt_packet_decode(PQT_LINK_RAW, v6, 71, &pkt) == 0 && pkt.ip_version == 6 &&
          pkt.payload_len == 3);
    /* Fragments and non-TCP are "unsupported", not errors. */
    ip[6] = 0x20; /* MF */
    CHECK(pqt_packet_decode(PQT_LINK_RAW, ip, iplen, &pkt) == PQT_ERR_UNSUPPORTED && pkt.fragment);
    CHECK(pqt_packet_decode(9999, ip, iplen, &pkt) == PQT_ERR_UNSUPPORTED);
    CHECK(!pqt_linktype_supported(9999) && pqt_linktype_supported(276));
}

/* ---------------------------------------------------------------- flows */

typedef struct {
    pqt_obs_handshake last;
    char ja4[PQT_JA4_SIZE];
    int n;
} sink;

static void on_hs(const pqt_obs_handshake *hs, void *arg)
{
    sink *s = arg;
    s->last = *hs;
    /* Not snprintf("%s", c ? ja4 : ""): clang turns that into a fixed-size
     * memcpy that reads past the empty literal (ASan). */
    s->ja4[0] = 0;
    if (hs->has_ch) {
        snprintf(s->ja4, sizeof(s->ja4), "%s", hs->ja4);
    }
    s->n++;
}

static uint8_t client_stream[4096], server_stream[2048];
static size_t client_len, server_len;

/* Client: ClientHello with an X25519MLKEM768 share (1216 bytes), split
 * into two records, then a CCS and an application-data record. Server:
 * ServerHello selecting X25519MLKEM768. */
static void build_streams(void)
{
    static uint8_t share[1216], hello[2048];
    uint16_t suites[] = {0x1301, 0x1302}, groups[] = {PQT_GROUP_X25519MLKEM768, PQT_GROUP_X25519};
    uint8_t random[32] = {1};
    pqt_key_share ks = {PQT_GROUP_X25519MLKEM768, share, sizeof(share)};
    const char *alpn[] = {"h2", NULL};
    pqt_client_hello_spec spec = {.sni = "pq.example",
                                  .cipher_suites = suites,
                                  .n_cipher_suites = 2,
                                  .groups = groups,
                                  .n_groups = 2,
                                  .key_shares = &ks,
                                  .n_key_shares = 1,
                                  .alpn = alpn,
                                  .random = random};
    size_t hl = 0;
    CHECK(pqt_hello_build_client(&spec, hello, sizeof(hello), &hl) == 0);
    /* Two records: 700 bytes, then the rest (a hello may span records). */
    size_t first = 700, p = 0;
    uint8_t *c = client_stream;
    c[p++] = 22;
    c[p++] = 3;
    c[p++] = 1;
    put16(c + p, (uint16_t)first);
    p += 2;
    memcpy(c + p, hello, first);
    p += first;
    c[p++] = 22;
    c[p++] = 3;
    c[p++] = 3;
    put16(c + p, (uint16_t)(hl - first));
    p += 2;
    memcpy(c + p, hello + first, hl - first);
    p += hl - first;
    static const uint8_t ccs_app[] = {20, 3, 3, 0, 1, 1, 23, 3, 3, 0, 4, 9, 9, 9, 9};
    memcpy(c + p, ccs_app, sizeof(ccs_app));
    client_len = p + sizeof(ccs_app);

    uint8_t *s = server_stream;
    size_t body = 2 + 32 + 1 + 2 + 1 + 2 + (4 + 2) + (4 + 2 + 2 + 1120);
    p = 0;
    s[p++] = 22;
    s[p++] = 3;
    s[p++] = 3;
    put16(s + p, (uint16_t)(body + 4));
    p += 2;
    s[p++] = 2;
    s[p++] = 0;
    put16(s + p, (uint16_t)body);
    p += 2;
    put16(s + p, 0x0303);
    p += 2;
    memset(s + p, 7, 32);
    p += 32;
    s[p++] = 0;
    put16(s + p, 0x1301);
    p += 2;
    s[p++] = 0;
    put16(s + p, (uint16_t)(6 + 8 + 1120));
    p += 2;
    put16(s + p, 43);
    p += 2;
    put16(s + p, 2);
    p += 2;
    put16(s + p, 0x0304);
    p += 2;
    put16(s + p, 51);
    p += 2;
    put16(s + p, (uint16_t)(4 + 1120));
    p += 2;
    put16(s + p, PQT_GROUP_X25519MLKEM768);
    p += 2;
    put16(s + p, 1120);
    p += 2;
    memset(s + p, 5, 1120);
    p += 1120;
    server_len = p;
}

static pqt_packet seg(int from_client, uint32_t seq, uint8_t flags, const uint8_t *data, size_t n)
{
    pqt_packet p;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    memcpy(p.src, from_client ? "\x0a\x00\x00\x01" : "\xc0\x00\x02\x07", 4);
    memcpy(p.dst, from_client ? "\xc0\x00\x02\x07" : "\x0a\x00\x00\x01", 4);
    p.sport = from_client ? 40000 : 443;
    p.dport = from_client ? 443 : 40000;
    p.seq = seq;
    p.flags = flags;
    p.ttl = from_client ? 64 : 50;
    p.payload = data;
    p.payload_len = n;
    return p;
}

enum {
    ORDER_IN = 0,
    ORDER_REVERSE,
    ORDER_DUPLICATE_OVERLAP,
    ORDER_MIDSTREAM,
    ORDER_GAP,
    ORDER_RST,
    ORDER_SERVER_FIN
};

/* Feed one flow in the given way; returns what the observer reported. */
static sink run_flow(int order, pqt_obs_config cfg, pqt_obs_stats *st_out)
{
    sink s;
    pqt_obs *o = NULL;
    memset(&s, 0, sizeof(s));
    cfg.on_handshake = on_hs;
    cfg.arg = &s;
    CHECK(pqt_obs_new(&cfg, &o) == 0);
    if (o == NULL) {
        return s;
    }
    const uint32_t cisn = 0xFFFFFF00u, sisn = 1000; /* client wraps around 2^32 */
    uint64_t t = 1700000000000000ull;
    pqt_packet p;
    if (order != ORDER_MIDSTREAM) {
        p = seg(1, cisn, PQT_TCP_SYN, NULL, 0);
        pqt_obs_segment(o, t++, &p);
        p = seg(0, sisn, PQT_TCP_SYN | PQT_TCP_ACK, NULL, 0);
        pqt_obs_segment(o, t++, &p);
    }
    /* The hello in 300-byte segments. */
    size_t hello_end = client_len - 15, nseg = (hello_end + 299) / 300;
    for (size_t k = 0; k < nseg; k++) {
        size_t i = order == ORDER_REVERSE ? nseg - 1 - k : k;
        if (order == ORDER_GAP && i == 2) {
            continue;
        }
        size_t off = i * 300, n = off + 300 <= hello_end ? 300 : hello_end - off;
        p = seg(1, cisn + 1 + (uint32_t)off, PQT_TCP_ACK, client_stream + off, n);
        pqt_obs_segment(o, t++, &p);
        if (order == ORDER_DUPLICATE_OVERLAP) {
            pqt_obs_segment(o, t++, &p); /* exact retransmission */
            if (off >= 50) {             /* overlapping resend starting earlier */
                p = seg(1, cisn + 1 + (uint32_t)(off - 50), PQT_TCP_ACK, client_stream + off - 50,
                        n);
                pqt_obs_segment(o, t++, &p);
            }
        }
    }
    if (order == ORDER_RST || order == ORDER_SERVER_FIN) {
        p = seg(0, sisn + 1, order == ORDER_RST ? PQT_TCP_RST : (PQT_TCP_FIN | PQT_TCP_ACK), NULL,
                0);
        pqt_obs_segment(o, t++, &p);
    } else {
        p = seg(0, sisn + 1, PQT_TCP_ACK, server_stream, 900);
        pqt_obs_segment(o, t++, &p);
        p = seg(0, sisn + 901, PQT_TCP_ACK, server_stream + 900, server_len - 900);
        pqt_obs_segment(o, t++, &p);
        p = seg(1, cisn + 1 + (uint32_t)hello_end, PQT_TCP_ACK, client_stream + hello_end, 15);
        pqt_obs_segment(o, t++, &p);
    }
    pqt_obs_finish(o);
    *st_out = *pqt_obs_get_stats(o);
    pqt_obs_free(o);
    return s;
}

static void test_flows(void)
{
    pqt_obs_config cfg;
    pqt_obs_stats st;
    memset(&cfg, 0, sizeof(cfg));
    build_streams();
    char want[PQT_JA4_SIZE];
    sink s = run_flow(ORDER_IN, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED && s.last.has_ch);
    CHECK(s.last.group == PQT_GROUP_X25519MLKEM768 &&
          s.last.group_source == PQT_OBS_GROUP_KEY_SHARE);
    CHECK(s.last.server_version == 0x0304 && s.last.cipher == 0x1301 && s.last.ch_records == 2);
    CHECK(s.last.ch_segments == (unsigned)((client_len - 15 + 299) / 300));
    CHECK(s.last.client_port == 40000 && s.last.client_ttl == 64 && s.last.server_ttl == 50);
    memcpy(want, s.ja4, sizeof(want));
    CHECK(strncmp(want, "t13d0205h2_", 11) == 0);

    s = run_flow(ORDER_REVERSE, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED && strcmp(s.ja4, want) == 0);
    CHECK((s.last.anomalies & PQT_OBS_A_OUT_OF_ORDER) && st.segments_out_of_order > 0);
    s = run_flow(ORDER_DUPLICATE_OVERLAP, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED && strcmp(s.ja4, want) == 0);
    CHECK((s.last.anomalies & PQT_OBS_A_RETRANSMIT) && st.segments_retransmitted > 0);
    s = run_flow(ORDER_MIDSTREAM, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED && strcmp(s.ja4, want) == 0);
    CHECK(s.last.anomalies & PQT_OBS_A_MIDSTREAM);
    s = run_flow(ORDER_GAP, cfg, &st);
    CHECK(s.n == 1 && !s.last.has_ch && s.ja4[0] == 0 && (s.last.anomalies & PQT_OBS_A_GAP));
    CHECK(s.last.outcome == PQT_OBS_GAP && st.reassembly_gaps > 0);
    s = run_flow(ORDER_RST, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_RESET_AFTER_CH && s.last.closed_by_server);
    s = run_flow(ORDER_SERVER_FIN, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_CLOSED_AFTER_CH);
    CHECK(strcmp(pqt_obs_outcome_name(PQT_OBS_RESET_AFTER_CH), "reset_after_client_hello") == 0);

    /* Buffer budget too small for the reversed hello: the hole before the
     * buffered segments is given up (counted), the skipped start means no
     * hello is seen, nothing crashes and every buffered byte is returned. */
    cfg.max_buffer_bytes = 1000;
    s = run_flow(ORDER_REVERSE, cfg, &st);
    CHECK(st.reassembly_budget_giveups > 0 && st.reassembly_gaps > 0 && s.n == 0);
    CHECK(st.buffered_bytes == 0 && st.buffered_peak <= 1000);
}

static void test_flow_limit(void)
{
    sink s;
    pqt_obs *o = NULL;
    pqt_obs_config cfg;
    memset(&s, 0, sizeof(s));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_flows = 4;
    cfg.on_handshake = on_hs;
    cfg.arg = &s;
    build_streams();
    CHECK(pqt_obs_new(&cfg, &o) == 0);
    for (uint16_t port = 1; o && port <= 10; port++) {
        pqt_packet p = seg(1, 5000, PQT_TCP_ACK, client_stream, 600);
        p.sport = port;
        pqt_obs_segment(o, 1000 + port, &p);
    }
    if (o != NULL) {
        const pqt_obs_stats *st = pqt_obs_get_stats(o);
        CHECK(st->flows == 10 && st->flows_evicted == 6 && st->flows_active == 4 &&
              st->flows_peak == 4);
        CHECK(s.n == 6 && s.last.outcome == PQT_OBS_EVICTED);
        pqt_obs_finish(o);
        CHECK(s.n == 10 && s.last.outcome == PQT_OBS_TRUNCATED);
        CHECK(pqt_obs_get_stats(o)->buffered_bytes == 0);
        pqt_obs_free(o);
    }
}

static void test_families(void)
{
    pqt_obs_families *f = NULL;
    CHECK(pqt_obs_families_new(&f) == 0);
    CHECK(strcmp(pqt_obs_family(f, "t13d1516h2_8daaf6152771_02713d6af862"), "Chrome") == 0);
    CHECK(strcmp(pqt_obs_family(f, "t13d1516h2_8daaf6152771_ffffffffffff"), "Chrome") == 0);
    CHECK(strcmp(pqt_obs_family(f, "t13d9999h2_aaaaaaaaaaaa_bbbbbbbbbbbb"), "unknown") == 0);
    CHECK(strcmp(pqt_obs_family(f, ""), "unknown") == 0);
    pqt_obs_families_free(f);
}

/* ---------------------------------------------------------------- SipHash */

/*
 * The flow table's keyed hash (siphash.h). SipHash-2-4: the 64 vectors of
 * the reference implementation (github.com/veorq/SipHash, vectors.h; the
 * paper's Appendix A example is entry 15), key 00 01 .. 0f, message
 * 00 01 .. (len-1), the output read little-endian. SipHash-1-3, which the
 * flow table uses, is the same code with other round counts; it has no
 * vectors in the paper, so it is checked against outputs of the reference
 * implementation built with cROUNDS 1, dROUNDS 3 (OCaml's test suite
 * lists them; CPython 3.11's hash() of bytes gives the zero-key ones under
 * PYTHONHASHSEED=0), and a flip of any input or key bit must change the
 * output.
 */
static void test_siphash(void)
{
    static const uint64_t v24[64] = {
        0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
        0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
        0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
        0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
        0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
        0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
        0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
        0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
        0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
        0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
        0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
        0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
        0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
        0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
        0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
        0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
    };
    /* SipHash-1-3 (reference, cROUNDS 1, dROUNDS 3): {key byte 0, the
     * other key bytes 0, len, output}, message 00 01 .. (len-1). */
    static const struct {
        uint8_t k0;
        uint8_t len;
        uint64_t out;
    } v13[] = {
        {0, 0, 0xd1fba762150c532cull},  {0, 1, 0x68a914128e01e473ull},
        {0, 7, 0x2f098ab0c751325aull},  {0, 8, 0xead411e67ebe2eeaull},
        {0, 15, 0xf30eb725bb91c9eaull}, {0, 16, 0x8972188433a5c5b7ull},
        {0, 37, 0x422a9751192ff266ull}, {0, 63, 0x385d3e39e5f37359ull},
        {1, 0, 0xc44a0ebf4e962581ull},  {1, 9, 0xa9d59ba0fefc9497ull},
        {1, 63, 0xa35bf11b84b78be0ull},
    };
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++) {
        key[i] = (uint8_t)i;
    }
    for (int i = 0; i < 64; i++) {
        msg[i] = (uint8_t)i;
    }
    for (size_t len = 0; len < 64; len++) {
        CHECK(obs_siphash24(key, msg, len) == v24[len]);
        CHECK(obs_siphash(key, msg, len, 2, 4) == v24[len]);
    }
    for (size_t i = 0; i < sizeof(v13) / sizeof(v13[0]); i++) {
        uint8_t k[16] = {v13[i].k0};
        CHECK(obs_siphash13(k, msg, v13[i].len) == v13[i].out);
        CHECK(obs_siphash(k, msg, v13[i].len, 1, 3) == v13[i].out);
        CHECK(obs_siphash24(k, msg, v13[i].len) != v13[i].out);
    }
    /* Every bit of a flow-sized input (37 bytes: IPv6 tuple) and of the key
     * counts. */
    uint64_t h = obs_siphash13(key, msg, 37);
    for (int bit = 0; bit < 37 * 8; bit++) {
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK(obs_siphash13(key, msg, 37) != h);
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (int bit = 0; bit < 128; bit++) {
        key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK(obs_siphash13(key, msg, 37) != h);
        key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

/* ---------------------------------------------------------------- SHA-256 */

static void hexstr(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = 0;
}

static void test_sha256(void)
{
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the empty string. */
    static const struct {
        const char *msg, *md;
    } kat[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    uint8_t md[32];
    char hex[65];
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        CHECK(pqt_tls_sha256((const uint8_t *)kat[i].msg, strlen(kat[i].msg), md) == 0);
        hexstr(md, 32, hex);
        CHECK(strcmp(hex, kat[i].md) == 0);
    }
}

/* ---------------------------------------------------------------- pcap reader */

/* A classic pcap file: header fields in little- or big-endian order. */
typedef struct {
    uint8_t b[8192];
    size_t n;
    int be;
} pcap_buf;

static void pb_u32(pcap_buf *f, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        f->b[f->n++] = (uint8_t)(f->be ? v >> (24 - 8 * i) : v >> (8 * i));
    }
}

static void pb_u16(pcap_buf *f, uint16_t v)
{
    f->b[f->n++] = (uint8_t)(f->be ? v >> 8 : v);
    f->b[f->n++] = (uint8_t)(f->be ? v : v >> 8);
}

static void pb_header(pcap_buf *f, int be, uint32_t magic, uint16_t minor, uint32_t snap,
                      uint32_t linktype)
{
    f->n = 0;
    f->be = be;
    pb_u32(f, magic);
    pb_u16(f, 2);
    pb_u16(f, minor);
    pb_u32(f, 0);
    pb_u32(f, 0);
    pb_u32(f, snap);
    pb_u32(f, linktype);
}

static void pb_record(pcap_buf *f, uint32_t sec, uint32_t frac, uint32_t cap, uint32_t len)
{
    pb_u32(f, sec);
    pb_u32(f, frac);
    pb_u32(f, cap);
    pb_u32(f, len);
    for (uint32_t i = 0; i < cap && f->n < sizeof(f->b); i++) {
        f->b[f->n++] = (uint8_t)(i * 7 + cap);
    }
}

/* Read path with the mmap reader (one-page windows) and with libpcap;
 * every frame, timestamp, length, the link type and the final status must
 * agree. Returns the number of frames, or -1 when they differ. */
static int pcap_compare(const char *path, int want_mmap)
{
    pqt_capture *a = NULL, *b = NULL;
    char ea[512], eb[512];
    pqt_capture_opts om = {.flags = 0, .map_window = 1}, ol = {.flags = PQT_CAPTURE_LIBPCAP};
    int ra = pqt_capture_open_file_opts(path, &om, &a, ea, sizeof(ea));
    int rb = pqt_capture_open_file_opts(path, &ol, &b, eb, sizeof(eb));
    int frames = 0;
    CHECK(ra == rb);
    if (ra != 0 || rb != 0) {
        pqt_capture_close(a);
        pqt_capture_close(b);
        return ra == rb ? 0 : -1;
    }
    CHECK(strcmp(pqt_capture_reader(a), want_mmap ? "mmap" : "libpcap") == 0);
    CHECK(strcmp(pqt_capture_reader(b), "libpcap") == 0);
    CHECK(pqt_capture_linktype(a) == pqt_capture_linktype(b));
    for (;;) {
        uint64_t ta = 0, tb = 0;
        const uint8_t *fa = NULL, *fb = NULL;
        size_t ca = 0, cb = 0, wa = 0, wb = 0;
        ra = pqt_capture_next(a, &ta, &fa, &ca, &wa, ea, sizeof(ea));
        rb = pqt_capture_next(b, &tb, &fb, &cb, &wb, eb, sizeof(eb));
        if (ra != rb || (ra < 0 && strcmp(ea, eb) != 0)) {
            fprintf(stderr, "%s: frame %d: mmap %d (%s), libpcap %d (%s)\n", path, frames, ra,
                    ra < 0 ? ea : "", rb, rb < 0 ? eb : "");
            frames = -1;
            break;
        }
        if (ra != 1) {
            break;
        }
        if (ta != tb || ca != cb || wa != wb || memcmp(fa, fb, ca) != 0) {
            fprintf(stderr, "%s: frame %d differs\n", path, frames);
            frames = -1;
            break;
        }
        frames++;
    }
    pqt_capture_close(a);
    pqt_capture_close(b);
    return frames;
}

static void test_pcap_reader(void)
{
    char path[] = "/tmp/pqt-obs-pcap-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    close(fd);
    pcap_buf *f = calloc(1, sizeof(*f));
    CHECK(f != NULL);
    if (f == NULL) {
        unlink(path);
        return;
    }
    static const struct {
        int be;
        uint32_t magic;
        uint16_t minor;
        uint32_t snap, linktype;
        int mmap, frames;
        size_t cut; /* bytes cut off the end */
    } cases[] = {
        {0, 0xa1b2c3d4, 4, 65535, 1, 1, 5, 0},    /* usual little-endian, Ethernet */
        {1, 0xa1b2c3d4, 4, 65535, 1, 1, 5, 0},    /* big-endian writer */
        {0, 0xa1b23c4d, 4, 0, 101, 1, 5, 0},      /* nanoseconds, snaplen 0, raw IP */
        {1, 0xa1b23c4d, 4, 300000, 113, 1, 5, 0}, /* swapped ns, snaplen above the maximum */
        {0, 0xa1b2c3d4, 3, 65535, 1, 1, 3, 0},    /* 2.3: lengths maybe swapped (then corrupt) */
        {0, 0xa1b2c3d4, 2, 65535, 1, 1, 2, 0},    /* 2.2: lengths swapped (then corrupt) */
        {0, 0xa1b2c3d4, 4, 100, 0x10000001, 1, 5, 0}, /* FCS bits, records above snaplen */
        {0, 0xa1b2c3d4, 4, 65535, 1, 1, 4, 7},        /* cut inside the last record */
        {0, 0xa1b2c3d4, 4, 65535, 1, 1, 4, 1510},     /* cut inside the last header */
        {0, 0xa1b2c3d4, 4, 65535, 147, 0, 5, 0},      /* link type for libpcap */
        {0, 0xa1b2cd34, 4, 65535, 1, 0, 1, 0},        /* Kuznetzov magic: libpcap (then corrupt) */
        {0, 0xa1b2c3d4, 5, 65535, 1, 0, 0, 0},        /* version 2.5: rejected */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pb_header(f, cases[i].be, cases[i].magic, cases[i].minor, cases[i].snap, cases[i].linktype);
        pb_record(f, 1700000000, 999999, 60, 60);
        pb_record(f, 0x80000001u, 5, 1400, 1500);        /* negative seconds as libpcap has them */
        pb_record(f, 1700000001, 0xFFFFFFF0u, 200, 100); /* caplen > len (2.3 swaps) */
        pb_record(f, 1700000002, 1000, 0, 0);
        pb_record(f, 1700000003, 2000, 1500, 1500);
        f->n -= cases[i].cut;
        FILE *o = fopen(path, "wb");
        CHECK(o != NULL && fwrite(f->b, 1, f->n, o) == f->n);
        if (o != NULL) {
            fclose(o);
        }
        int got = pcap_compare(path, cases[i].mmap);
        if (got != cases[i].frames) {
            fprintf(stderr, "pcap case %zu: %d frames, want %d\n", i, got, cases[i].frames);
            failures++;
        }
    }
    /* A corrupt capture length: both say so, with the same message. */
    pb_header(f, 0, 0xa1b2c3d4, 4, 65535, 1);
    pb_record(f, 1, 1, 60, 60);
    pb_u32(f, 2);
    pb_u32(f, 2);
    pb_u32(f, 0x7fffffff);
    pb_u32(f, 60);
    FILE *o = fopen(path, "wb");
    CHECK(o != NULL && fwrite(f->b, 1, f->n, o) == f->n);
    if (o != NULL) {
        fclose(o);
    }
    CHECK(pcap_compare(path, 1) == 1); /* one frame, then the same error from both */
    pqt_capture *c = NULL;
    char err[512];
    CHECK(pqt_capture_open_file(path, &c, err, sizeof(err)) == 0);
    if (c != NULL) {
        uint64_t ts;
        const uint8_t *fr;
        size_t cl, wl;
        CHECK(pqt_capture_next(c, &ts, &fr, &cl, &wl, err, sizeof(err)) == 1 && cl == 60);
        CHECK(pqt_capture_next(c, &ts, &fr, &cl, &wl, err, sizeof(err)) == PQT_ERR_SYNTAX);
        CHECK(strstr(err, "invalid packet capture length") != NULL);
        pqt_capture_close(c);
    }
    free(f);
    unlink(path);
}

int main(void)
{
    test_ja4_spec();
    test_ja4_alpn();
    test_pseudonym();
    test_decode();
    test_flows();
    test_flow_limit();
    test_families();
    test_siphash();
    test_sha256();
    test_pcap_reader();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("observe unit tests: ok\n");
    return 0;
}
