/*
 * Unit tests for src/net/decode.c: the frame decoder for every link type
 * (Ethernet with stacked VLAN tags and padding, Linux SLL and SLL2, BSD
 * loopback in either byte order, raw IP), IPv6 extension headers,
 * truncation at every length, fragments and unknown link types.
 */
#include <stdio.h>
#include <string.h>

#include "pqtls/net.h"

#include "obs_check.h"

/* ---- decoder ----------------------------------------------------------------- */

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

int main(void)
{
    test_decode();
    printf("test_observe_decode: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
