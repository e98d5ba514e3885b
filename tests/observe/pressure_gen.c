/*
 * pressure_gen: captures that put the observer under flow pressure, for
 * tests/observe/test_pressure.py and the memory figures in
 * docs/performance.md.
 *
 *   pressure_gen OUT.pcap MODE N
 *
 * N TCP connections from 10.0.0.1, 10.0.0.2, ... to 192.0.2.1:443, opened
 * one after another (SYN, SYN-ACK, then the client's bytes), none answered
 * or closed: at the end of the capture all N are open. Ethernet/IPv4,
 * microsecond pcap, 10 us between packets. Each client sends a hybrid
 * ClientHello (pqt_hello_build_client: SNI h<8 digits>.example, ALPN h2 and
 * http/1.1, groups X25519MLKEM768/x25519/P-256, key shares X25519MLKEM768
 * (1216 bytes) and x25519), as MODE says:
 *   whole  the record in one TCP segment, as a 1500-byte path carries it;
 *   split  the record in two segments (700 bytes, then the rest), all first
 *          segments before all second ones, so N hellos are in flight at once
 *          and each must be buffered;
 *   huge   a record whose handshake header claims a ClientHello of
 *          16,777,215 bytes (the largest the 24-bit field holds), followed by
 *          16 KiB of it in 12 segments; the capture ends long before the
 *          hello would.
 * Prints "connections N packets P bytes B hello H" (H: handshake message
 * bytes of one hello) on standard output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/hello.h"
#include "pqtls/record.h"

#include "pcap_gen.h" /* bench/ */

#define MSS 1460 /* Ethernet, no TCP options */

static FILE *out;
static uint64_t ts_us = 1700000000ull * 1000000u, packets, bytes;

typedef struct {
    uint8_t ip[2][4];
    uint32_t seq[2];
} conn;

/* One Ethernet/IPv4/TCP frame from side (0 client, 1 server). */
static void frame(conn *c, int side, uint8_t flags, const uint8_t *data, size_t len)
{
    uint8_t f[14 + 20 + 20 + MSS];
    static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
    uint16_t port[2] = {40000, 443};
    memset(f, 0, 54);
    memcpy(f, mac[1 - side], 6);
    memcpy(f + 6, mac[side], 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *tcp = f + 34;
    ip[0] = 0x45;
    put16(ip + 2, (uint32_t)(40 + len));
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, c->ip[side], 4);
    memcpy(ip + 16, c->ip[1 - side], 4);
    put16(ip + 10, ip_checksum(ip, 20));
    put16(tcp, port[side]);
    put16(tcp + 2, port[1 - side]);
    put32(tcp + 4, c->seq[side]);
    put32(tcp + 8, (flags & 0x10) ? c->seq[1 - side] : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    if (len > 0) {
        memcpy(tcp + 20, data, len);
    }
    c->seq[side] += (uint32_t)len + ((flags & 0x02) ? 1 : 0);
    pcap_write_packet(out, ts_us, f, (uint32_t)(54 + len));
    ts_us += 10;
    packets++;
    bytes += 16 + 54 + len;
}

/* Connection i before its SYN: addresses and initial sequence numbers. */
static void conn_init(conn *c, uint32_t i)
{
    uint32_t host = i + 1;
    c->ip[0][0] = 10;
    c->ip[0][1] = (uint8_t)(host >> 16);
    c->ip[0][2] = (uint8_t)(host >> 8);
    c->ip[0][3] = (uint8_t)host;
    memcpy(c->ip[1], "\xc0\x00\x02\x01", 4);
    c->seq[0] = 0x10000000u + i * 7919u;
    c->seq[1] = 0x70000000u + i * 104729u;
}

static void open_conn(conn *c, uint32_t i)
{
    conn_init(c, i);
    frame(c, 0, 0x02, NULL, 0);
    frame(c, 1, 0x12, NULL, 0);
}

/* The ClientHello record of connection i into rec; its length. */
static size_t hello_record(uint8_t *rec, size_t cap, uint32_t i, size_t *hello_len)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C,
                                      0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014};
    static const uint16_t groups[] = {PQT_GROUP_X25519MLKEM768, PQT_GROUP_X25519, 0x0017};
    static const uint16_t sigs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806};
    static const char *const alpn[] = {"h2", "http/1.1", NULL};
    static uint8_t pq[1216], x[32];
    uint8_t random[32], sid[32];
    char sni[32];
    for (size_t k = 0; k < sizeof(pq); k++) {
        pq[k] = (uint8_t)(k * 31 + i);
    }
    memset(x, (int)(i & 0xFF), sizeof(x));
    memset(random, 0x5A, sizeof(random));
    put32(random, i);
    memset(sid, 0xA5, sizeof(sid));
    snprintf(sni, sizeof(sni), "h%08u.example", (unsigned)i); /* every hello one size */
    pqt_key_share shares[2] = {{PQT_GROUP_X25519MLKEM768, pq, sizeof(pq)},
                               {PQT_GROUP_X25519, x, sizeof(x)}};
    pqt_client_hello_spec spec = {
        .sni = sni,
        .cipher_suites = suites,
        .n_cipher_suites = sizeof(suites) / sizeof(suites[0]),
        .groups = groups,
        .n_groups = sizeof(groups) / sizeof(groups[0]),
        .key_shares = shares,
        .n_key_shares = 2,
        .sig_algs = sigs,
        .n_sig_algs = sizeof(sigs) / sizeof(sigs[0]),
        .alpn = alpn,
        .tls12_too = 1,
        .random = random,
        .session_id = sid,
    };
    size_t hl = 0;
    if (pqt_hello_build_client(&spec, rec + 5, cap - 5, &hl) != 0 ||
        pqt_record_header_put(rec, PQT_TLS_CT_HANDSHAKE, 0x0301, hl) != 0) {
        fprintf(stderr, "pressure_gen: cannot build the ClientHello\n");
        exit(5);
    }
    *hello_len = hl;
    return 5 + hl;
}

int main(int argc, char **argv)
{
    static uint8_t rec[16384 + 5];
    if (argc != 4) {
        fprintf(stderr, "usage: pressure_gen OUT.pcap whole|split|huge N\n");
        return 2;
    }
    const char *mode = argv[2];
    unsigned long n = strtoul(argv[3], NULL, 10);
    if ((strcmp(mode, "whole") != 0 && strcmp(mode, "split") != 0 && strcmp(mode, "huge") != 0) ||
        n == 0 || n > (1ul << 24) - 2) {
        fprintf(stderr, "pressure_gen: MODE is whole, split or huge; N is 1 to 16777214\n");
        return 2;
    }
    out = fopen(argv[1], "wb");
    if (out == NULL) {
        perror(argv[1]);
        return 3;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 20);
    pcap_write_file_header(out, 65535);
    bytes = 24;

    size_t hello_len = 0;
    conn c;
    if (strcmp(mode, "huge") == 0) {
        /* RFC 8446 §4: uint24 length. The record holds the first 16 KiB. */
        memset(rec, 0x42, sizeof(rec));
        if (pqt_record_header_put(rec, PQT_TLS_CT_HANDSHAKE, 0x0301, 16384) != 0) {
            return 5;
        }
        rec[5] = PQT_TLS_HS_CLIENT_HELLO;
        rec[6] = rec[7] = rec[8] = 0xFF;
        put16(rec + 9, 0x0303);
        hello_len = 4 + 0xFFFFFFu;
        for (uint32_t i = 0; i < n; i++) {
            open_conn(&c, i);
            for (size_t off = 0; off < sizeof(rec); off += MSS) {
                size_t len = sizeof(rec) - off < MSS ? sizeof(rec) - off : MSS;
                frame(&c, 0, 0x18, rec + off, len);
            }
        }
    } else if (strcmp(mode, "whole") == 0) {
        for (uint32_t i = 0; i < n; i++) {
            size_t rl = hello_record(rec, sizeof(rec), i, &hello_len);
            if (rl > MSS) {
                fprintf(stderr, "pressure_gen: the hello does not fit one segment\n");
                return 5;
            }
            open_conn(&c, i);
            frame(&c, 0, 0x18, rec, rl);
        }
    } else {
        for (uint32_t i = 0; i < n; i++) {
            (void)hello_record(rec, sizeof(rec), i, &hello_len);
            open_conn(&c, i);
            frame(&c, 0, 0x10, rec, 700);
        }
        for (uint32_t i = 0; i < n; i++) {
            size_t rl = hello_record(rec, sizeof(rec), i, &hello_len);
            conn_init(&c, i); /* past the SYNs and the first 700 bytes */
            c.seq[0] += 1 + 700;
            c.seq[1] += 1;
            frame(&c, 0, 0x18, rec + 700, rl - 700);
        }
    }
    if (fclose(out) != 0) {
        perror(argv[1]);
        return 3;
    }
    printf("connections %lu packets %llu bytes %llu hello %zu\n", n, (unsigned long long)packets,
           (unsigned long long)bytes, hello_len);
    return 0;
}
