/*
 * pcap_gen.h: the byte helpers and pcap framing shared by the capture
 * generators bench/observe_gen.c and tests/observe/pressure_gen.c
 * (header-only; both write little-endian, microsecond pcap of
 * Ethernet/IPv4/TCP frames).
 */
#ifndef PQTLS_BENCH_PCAP_GEN_H
#define PQTLS_BENCH_PCAP_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static inline void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void put32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* The IPv4 header checksum (RFC 791) of n bytes whose checksum field is 0. */
static inline uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return (uint16_t)~s;
}

/* pcap file header, little-endian: magic, 2.4, zone, sigfigs, snaplen,
 * LINKTYPE_ETHERNET. */
static inline void pcap_write_file_header(FILE *f, uint32_t snaplen)
{
    uint8_t gh[24] = {0};
    put32le(gh, 0xa1b2c3d4);
    gh[4] = 2;
    gh[6] = 4;
    put32le(gh + 16, snaplen);
    put32le(gh + 20, 1);
    fwrite(gh, 1, 24, f);
}

/* One packet record: its header (time ts_us in microseconds, the whole
 * frame captured), then the len bytes of the frame. */
static inline void pcap_write_packet(FILE *f, uint64_t ts_us, const uint8_t *frame, uint32_t len)
{
    uint8_t h[16];
    put32le(h, (uint32_t)(ts_us / 1000000u));
    put32le(h + 4, (uint32_t)(ts_us % 1000000u));
    put32le(h + 8, len);
    put32le(h + 12, len);
    fwrite(h, 1, 16, f);
    fwrite(frame, 1, len, f);
}

#endif
