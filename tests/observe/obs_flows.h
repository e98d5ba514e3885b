/*
 * One synthetic TLS 1.3 connection for the flow tests (test_reasm.c,
 * test_engine.c): the client's stream (an X25519MLKEM768 ClientHello split
 * over two records, CCS, application data) and the server's (a ServerHello
 * selecting X25519MLKEM768), TCP segments of it from either side, and a
 * sink that keeps the last handshake the observer reports. Include after
 * obs_check.h.
 */
#ifndef PQT_TESTS_OBS_FLOWS_H
#define PQT_TESTS_OBS_FLOWS_H

#include <stdio.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/hello.h"
#include "pqtls/observe.h"

typedef struct {
    pqt_obs_handshake last; /* its pointers die with the callback: */
    char ja4[PQT_JA4_SIZE];
    uint8_t sni[256]; /* the SNI copied */
    size_t sni_len;
    int n;
} sink;

static void on_hs(const pqt_obs_handshake *hs, void *arg)
{
    sink *s = arg;
    s->last = *hs;
    /* Not snprintf("%s", c ? ja4 : ""): clang turns that into a fixed-size
     * memcpy that reads past the empty literal (ASan). */
    s->ja4[0] = 0;
    s->sni_len = 0;
    if (hs->has_ch) {
        snprintf(s->ja4, sizeof(s->ja4), "%s", hs->ja4);
        if (hs->ch.sni != NULL && hs->ch.sni_len <= sizeof(s->sni)) {
            memcpy(s->sni, hs->ch.sni, hs->ch.sni_len);
            s->sni_len = hs->ch.sni_len;
        }
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

#endif
