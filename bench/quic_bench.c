/*
 * quic_bench: QUIC Initial packet decryption alone, over a capture (from
 * observe_gen --quic, or any): the throughput behind `pqtls observe` on
 * QUIC traffic, without flows, reassembly, hellos or output.
 *
 *   quic_bench CAPTURE [--runs N]
 *
 * The capture's UDP datagrams are read into memory first. A run walks
 * them: every long-header packet is parsed (coalesced packets too); a
 * client Initial to a Destination Connection ID not seen before derives
 * the Initial keys of both directions (RFC 9001 §5.2), filed under that
 * DCID and the client's Source Connection ID (the DCID of the server's
 * Initials); every Initial packet with known keys is opened (header
 * protection removed, AES-128-GCM decrypted and its tag checked). Runs
 * alternate between "keys+open" (the keys derived in the run, as the
 * observer does once per connection) and "open" (keys from the first run:
 * decryption alone), then a third, "walk", that parses the datagrams and
 * looks the keys up but opens nothing: the harness's own cost, printed so
 * the decryption can also be read net of it. Each is CPU-timed
 * (CLOCK_PROCESS_CPUTIME_ID); medians are printed with the Initial
 * packets' bytes per CPU second.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pqtls/net.h"
#include "pqtls/quic.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} dgram;

typedef struct {
    uint64_t cid;
    uint32_t gen;  /* the pass that filled it: older ones are empty */
    uint32_t conn; /* 2 * the connection's number + side (0 client, 1 server) */
} slot;

/* 2^19 slots: two per connection, at most 2^17 connections (a 400 MiB
 * capture has 67,461): the table at most half full;
 * emptied by a pass number, not by clearing 8 MB between passes. The keys
 * are not in the slots but in an array in the order connections start:
 * a connection's packets come close together, so its keys stay in cache
 * while it lasts, as a live flow's do in the observer's flow table (one
 * 27 MB table of slots with the keys in them read as many cache misses
 * per packet as the decryption's own work). */
#define TABLE_BITS 19
static slot table[1u << TABLE_BITS];
static uint32_t generation;
static pqt_quic_keys (*conn_keys)[2];
static size_t conn_cap;

static uint64_t cid64(const uint8_t *c, size_t n)
{
    uint64_t v = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < n; i++) {
        v = (v ^ c[i]) * 0x100000001B3ull;
    }
    return v | 1;
}

static slot *lookup(uint64_t cid, int insert)
{
    size_t mask = (1u << TABLE_BITS) - 1;
    for (size_t i = (size_t)(cid >> 20) & mask;; i = (i + 1) & mask) {
        if (table[i].gen != generation) {
            if (!insert) {
                return NULL;
            }
            table[i].gen = generation;
            table[i].cid = cid;
            return &table[i];
        }
        if (table[i].cid == cid) {
            return &table[i];
        }
    }
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One pass; derive: derive keys for new connections (else use the table);
 * walk: parse and look up only, open nothing (the harness's own cost). */
static int pass(const dgram *d, size_t nd, pqt_quic_opener *op, int derive, int walk,
                uint64_t *bytes, uint64_t *pkts, uint64_t *conns)
{
    static uint8_t out[65536];
    *bytes = *pkts = *conns = 0;
    if (derive) {
        generation++;
    }
    for (size_t i = 0; i < nd; i++) {
        const uint8_t *p = d[i].p;
        size_t n = d[i].n;
        while (n > 0) {
            pqt_quic_header h;
            if (pqt_quic_parse_header(p, n, &h) != 0) {
                break;
            }
            if (h.type == PQT_QUIC_PKT_INITIAL && h.len <= sizeof(out)) {
                uint64_t id = cid64(h.dcid, h.dcid_len);
                slot *s = lookup(id, 0);
                if (s == NULL && derive && (h.first & 0x80) && h.dcid_len >= 8 &&
                    *conns < conn_cap) {
                    uint32_t c = (uint32_t)*conns;
                    s = lookup(id, 1);
                    s->conn = 2 * c;
                    if (pqt_quic_initial_keys(h.version, h.dcid, h.dcid_len, &conn_keys[c][0],
                                              &conn_keys[c][1]) != 0) {
                        return 1;
                    }
                    lookup(cid64(h.scid, h.scid_len), 1)->conn = 2 * c + 1;
                    ++*conns;
                }
                uint64_t pn;
                const uint8_t *pl;
                size_t pll;
                if (walk && s != NULL) {
                    *bytes += h.len;
                    ++*pkts;
                } else if (s != NULL && pqt_quic_open(op, &conn_keys[s->conn / 2][s->conn % 2], p,
                                                      &h, -1, out, &pn, &pl, &pll) == 0) {
                    *bytes += h.len;
                    ++*pkts;
                }
            }
            p += h.len;
            n -= h.len;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 5;
    char err[256];
    if (argc < 2 || (argc == 4 && strcmp(argv[2], "--runs") != 0) || argc == 3 || argc > 4) {
        fprintf(stderr, "usage: quic_bench CAPTURE [--runs N]\n");
        return 2;
    }
    if (argc == 4) {
        runs = atoi(argv[3]);
    }
    if (runs < 1 || runs > 99) {
        runs = 5;
    }
    pqt_capture *cap = NULL;
    if (pqt_capture_open_file(argv[1], &cap, err, sizeof(err)) != 0) {
        fprintf(stderr, "quic_bench: %s\n", err);
        return 3;
    }
    size_t nd = 0, capd = 1024, total = 0;
    dgram *d = malloc(capd * sizeof(*d));
    uint64_t ts;
    const uint8_t *frame;
    size_t caplen, wirelen;
    int lt = pqt_capture_linktype(cap), r;
    while (d != NULL &&
           (r = pqt_capture_next(cap, &ts, &frame, &caplen, &wirelen, err, sizeof(err))) == 1) {
        pqt_packet pk;
        if (pqt_packet_decode(lt, frame, caplen, &pk) != 0 || pk.proto != PQT_IPPROTO_UDP) {
            continue;
        }
        uint8_t *copy = malloc(pk.payload_len ? pk.payload_len : 1);
        if (copy == NULL) {
            return 5;
        }
        memcpy(copy, pk.payload, pk.payload_len);
        if (nd == capd) {
            capd *= 2;
            dgram *nd2 = realloc(d, capd * sizeof(*d));
            if (nd2 == NULL) {
                return 5;
            }
            d = nd2;
        }
        d[nd].p = copy;
        d[nd].n = pk.payload_len;
        total += pk.payload_len;
        nd++;
    }
    pqt_capture_close(cap);
    pqt_quic_opener *op = NULL;
    conn_cap = (size_t)1 << (TABLE_BITS - 2);
    conn_keys = calloc(conn_cap, sizeof(*conn_keys));
    if (d == NULL || conn_keys == NULL || pqt_quic_opener_new(&op) != 0) {
        return 5;
    }
    double both[99], open_only[99], walk[99];
    uint64_t bytes = 0, pkts = 0, conns = 0, b2, p2, c2;
    for (int i = 0; i < runs; i++) {
        double t0 = cpu_now();
        if (pass(d, nd, op, 1, 0, &bytes, &pkts, &conns) != 0) {
            return 4;
        }
        double t1 = cpu_now();
        if (pass(d, nd, op, 0, 0, &b2, &p2, &c2) != 0) {
            return 4;
        }
        double t2 = cpu_now();
        if (pass(d, nd, op, 0, 1, &b2, &p2, &c2) != 0) {
            return 4;
        }
        double t3 = cpu_now();
        both[i] = t1 - t0;
        open_only[i] = t2 - t1;
        walk[i] = t3 - t2;
    }
    qsort(both, (size_t)runs, sizeof(double), cmp_double);
    qsort(open_only, (size_t)runs, sizeof(double), cmp_double);
    qsort(walk, (size_t)runs, sizeof(double), cmp_double);
    double mb = both[runs / 2], mo = open_only[runs / 2], mw = walk[runs / 2];
    printf("datagrams %zu (%zu bytes), Initial packets opened %llu (%llu bytes), connections "
           "%llu\n",
           nd, total, (unsigned long long)pkts, (unsigned long long)bytes,
           (unsigned long long)conns);
    printf("keys+open: median %.3f CPU s of %d = %.2f GB/s of Initial packets per core, %.2f us "
           "per connection\n",
           mb, runs, (double)bytes / mb / 1e9, mb / (double)(conns ? conns : 1) * 1e6);
    printf("open only: median %.3f CPU s of %d = %.2f GB/s of Initial packets per core, %.2f us "
           "per packet\n",
           mo, runs, (double)bytes / mo / 1e9, mo / (double)(pkts ? pkts : 1) * 1e6);
    printf("walk only: median %.3f CPU s of %d (datagrams parsed, keys looked up, nothing "
           "opened); net of it: keys+open %.2f GB/s, open only %.2f GB/s\n",
           mw, runs, mb > mw ? (double)bytes / (mb - mw) / 1e9 : 0.0,
           mo > mw ? (double)bytes / (mo - mw) / 1e9 : 0.0);
    pqt_quic_opener_free(op);
    for (size_t i = 0; i < nd; i++) {
        free((void *)d[i].p);
    }
    free(d);
    free(conn_keys);
    return 0;
}
