/*
 * Unit tests for src/observe/engine.c's flow table: with a limit of 4
 * flows, 10 connections evict the 6 least recently active (reported as
 * evicted, counted), and the end of input settles the rest as truncated,
 * giving every buffered byte back.
 *
 * Under flow pressure: a ClientHello whole in one segment is parsed in
 * place with a buffer budget of one byte, and its record carries every
 * field the outputs read (the compact copy against a direct parse); a hello
 * spanning segments that the budget cannot hold is named buffer_budget and
 * counted as a give-up, not hello_too_big; a header claiming 16 MB is
 * reported with that size as hello_too_big; and the memory limit holds by
 * the observer's own accounting, the oldest flows evicted and counted.
 *
 * How a connection that ends before completion is named: reset or closed
 * after the ClientHello only when the server sent nothing since it; after
 * an answer (a HelloRetryRequest, bytes that are not TLS, a plaintext
 * greeting a direct ClientHello ignored) reset or closed, non-TLS answers
 * marked server_not_tls; gap when the TCP numbers show server bytes the
 * capture lacks (a lost alert); and the application protocol from the
 * preamble, the ALPN or the port on each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/ja4.h"
#include "pqtls/observe.h"

#include "obs_check.h"
#include "obs_flows.h"

/* ---- flow table -------------------------------------------------------------- */

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

/* ---- flow pressure ------------------------------------------------------------ */

/* A hybrid ClientHello in one record: hello[] the message, rec[] the record. */
static uint8_t hello[2048], rec[2048];
static size_t hello_len, rec_len;

static void build_single_record_hello(void)
{
    static uint8_t share[1216], x[32];
    uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xC02B};
    uint16_t groups[] = {0x0A0A, PQT_GROUP_X25519MLKEM768, PQT_GROUP_X25519, 0x0017};
    uint16_t sigs[] = {0x0403, 0x0804, 0x0401};
    uint8_t random[32] = {9};
    pqt_key_share ks[2] = {{PQT_GROUP_X25519MLKEM768, share, sizeof(share)},
                           {PQT_GROUP_X25519, x, sizeof(x)}};
    const char *alpn[] = {"h2", "http/1.1", NULL};
    pqt_client_hello_spec spec = {.sni = "pressure.example",
                                  .cipher_suites = suites,
                                  .n_cipher_suites = 4,
                                  .groups = groups,
                                  .n_groups = 4,
                                  .key_shares = ks,
                                  .n_key_shares = 2,
                                  .sig_algs = sigs,
                                  .n_sig_algs = 3,
                                  .alpn = alpn,
                                  .tls12_too = 1,
                                  .random = random};
    CHECK(pqt_hello_build_client(&spec, hello, sizeof(hello), &hello_len) == 0);
    rec[0] = 22;
    rec[1] = 3;
    rec[2] = 1;
    put16(rec + 3, (uint16_t)hello_len);
    memcpy(rec + 5, hello, hello_len);
    rec_len = 5 + hello_len;
}

/* What the outputs read of ch equals the direct parse of hello[]. */
static int same_fields(const pqt_client_hello *ch)
{
    pqt_client_hello want;
    if (pqt_hello_parse_client(hello + 4, hello_len - 4, &want) != 0) {
        return 0;
    }
    int ok =
        ch->legacy_version == want.legacy_version && ch->n_cipher_suites == want.n_cipher_suites &&
        memcmp(ch->cipher_suites, want.cipher_suites, 2 * want.n_cipher_suites) == 0 &&
        ch->n_versions == want.n_versions &&
        memcmp(ch->versions, want.versions, 2 * want.n_versions) == 0 &&
        ch->n_groups == want.n_groups && memcmp(ch->groups, want.groups, 2 * want.n_groups) == 0 &&
        ch->n_sig_algs == want.n_sig_algs &&
        memcmp(ch->sig_algs, want.sig_algs, 2 * want.n_sig_algs) == 0 &&
        ch->sni_len == want.sni_len && memcmp(ch->sni, want.sni, want.sni_len) == 0 &&
        ch->alpn_len == want.alpn_len && memcmp(ch->alpn, want.alpn, want.alpn_len) == 0 &&
        ch->n_ext == want.n_ext && ch->n_key_shares == want.n_key_shares;
    for (size_t i = 0; ok && i < want.n_ext; i++) {
        ok = ch->ext[i].type == want.ext[i].type;
    }
    for (size_t i = 0; ok && i < want.n_key_shares; i++) {
        ok = ch->key_shares[i].group == want.key_shares[i].group &&
             ch->key_shares[i].len == want.key_shares[i].len;
    }
    char ja4[PQT_JA4_SIZE], raw[1024];
    return ok && pqt_ja4(&want, PQT_JA4_TCP, ja4, raw, sizeof(raw)) == 0;
}

typedef struct {
    unsigned n, parsed, same, too_big, budget, memory, evicted;
    size_t last_size;
    pqt_obs_outcome last_outcome;
} pressure_sink;

static void on_pressure(const pqt_obs_handshake *hs, void *arg)
{
    pressure_sink *s = arg;
    s->n++;
    s->parsed += hs->has_ch && hs->ja4[0] != 0 && hs->ch.sni != NULL && hs->ch.n_groups > 0;
    s->same += hs->has_ch && same_fields(&hs->ch) && hs->ja4_r != NULL;
    s->too_big += (hs->anomalies & PQT_OBS_A_HELLO_TOO_BIG) != 0;
    s->budget += (hs->anomalies & PQT_OBS_A_BUDGET) != 0;
    s->memory += (hs->anomalies & PQT_OBS_A_MEMORY) != 0;
    s->evicted += hs->outcome == PQT_OBS_EVICTED;
    s->last_size = hs->ch_size;
    s->last_outcome = hs->outcome;
}

/* Connection i: SYN, SYN-ACK, then the client's bytes in the given cuts. */
static void open_flow(pqt_obs *o, uint32_t i, uint64_t *t)
{
    pqt_packet p = seg(1, 1000, PQT_TCP_SYN, NULL, 0);
    memcpy(p.src, &i, 4);
    pqt_obs_segment(o, (*t)++, &p);
    p = seg(0, 5000, PQT_TCP_SYN | PQT_TCP_ACK, NULL, 0);
    memcpy(p.dst, &i, 4);
    pqt_obs_segment(o, (*t)++, &p);
}

static void client_bytes(pqt_obs *o, uint32_t i, uint32_t off, const uint8_t *d, size_t n,
                         uint64_t *t)
{
    pqt_packet p = seg(1, 1001 + off, PQT_TCP_ACK, d, n);
    memcpy(p.src, &i, 4);
    pqt_obs_segment(o, (*t)++, &p);
}

static pqt_obs *pressure_obs(size_t max_buffer, size_t max_memory, size_t max_flows,
                             pressure_sink *s)
{
    pqt_obs *o = NULL;
    pqt_obs_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    memset(s, 0, sizeof(*s));
    cfg.max_buffer_bytes = max_buffer;
    cfg.max_memory_bytes = max_memory;
    cfg.max_flows = max_flows;
    cfg.on_handshake = on_pressure;
    cfg.arg = s;
    CHECK(pqt_obs_new(&cfg, &o) == 0);
    return o;
}

/* 2000 flows, each hello whole in one segment, a buffer budget of 1 byte:
 * every hello parsed, nothing buffered, nothing given up. */
static void test_whole_hellos_unbuffered(void)
{
    pressure_sink s;
    uint64_t t = 1;
    pqt_obs *o = pressure_obs(1, 0, 0, &s);
    if (o == NULL) {
        return;
    }
    for (uint32_t i = 0; i < 2000; i++) {
        open_flow(o, i, &t);
        client_bytes(o, i, 0, rec, rec_len, &t);
    }
    pqt_obs_finish(o);
    const pqt_obs_stats *st = pqt_obs_get_stats(o);
    CHECK(s.n == 2000 && s.parsed == 2000 && s.same == 2000);
    CHECK(s.too_big == 0 && s.budget == 0 && st->hellos_too_big == 0);
    CHECK(st->reassembly_budget_giveups == 0 && st->buffered_peak == 0);
    pqt_obs_free(o);
}

/* Hellos split over two segments, all first halves first: the budget holds
 * some; the rest are named buffer_budget and counted as give-ups, with
 * their size, never hello_too_big. */
static void test_split_hellos_budget(void)
{
    pressure_sink s;
    uint64_t t = 1;
    size_t budget = 10 * hello_len; /* room for 10 hellos in flight */
    pqt_obs *o = pressure_obs(budget, 0, 0, &s);
    if (o == NULL) {
        return;
    }
    for (uint32_t i = 0; i < 50; i++) {
        open_flow(o, i, &t);
        client_bytes(o, i, 0, rec, 700, &t);
    }
    for (uint32_t i = 0; i < 50; i++) {
        client_bytes(o, i, 700, rec + 700, rec_len - 700, &t);
    }
    pqt_obs_finish(o);
    const pqt_obs_stats *st = pqt_obs_get_stats(o);
    CHECK(s.n == 50 && s.parsed == 10 && s.same == 10 && s.budget == 40 && s.too_big == 0);
    CHECK(st->reassembly_budget_giveups == 40 && st->hellos_too_big == 0);
    CHECK(s.last_size == hello_len - 4 && st->buffered_bytes == 0 && st->buffered_peak <= budget);
    pqt_obs_free(o);
}

/* A header claiming 16,777,215 body bytes, 8 KB of it, then the end of
 * the capture: truncated, with the claimed size, hello_too_big. */
static void test_claimed_size(void)
{
    pressure_sink s;
    uint64_t t = 1;
    static uint8_t big[8192];
    memset(big, 0x42, sizeof(big));
    big[0] = 22;
    big[1] = 3;
    big[2] = 1;
    put16(big + 3, 16384);
    big[5] = 1;
    big[6] = big[7] = big[8] = 0xFF;
    pqt_obs *o = pressure_obs(0, 0, 0, &s);
    if (o == NULL) {
        return;
    }
    open_flow(o, 7, &t);
    client_bytes(o, 7, 0, big, sizeof(big), &t);
    pqt_obs_finish(o);
    const pqt_obs_stats *st = pqt_obs_get_stats(o);
    CHECK(s.n == 1 && s.last_outcome == PQT_OBS_TRUNCATED && s.last_size == 0xFFFFFF);
    CHECK(s.too_big == 1 && s.budget == 0 && st->hellos_too_big == 1);
    CHECK(st->reassembly_budget_giveups == 0 && st->buffered_peak == 0);
    pqt_obs_free(o);
}

/* 5000 open flows holding hellos under a 1 MiB memory limit: the limit
 * holds by the observer's accounting, the least recently active flows are
 * evicted (outcome evicted, anomaly memory_limit, counted), and the hellos
 * of those that stay are parsed. With room for all, a flow holding a
 * parsed hybrid hello costs under 1 KiB. */
static void test_memory_limit(void)
{
    pressure_sink s;
    uint64_t t = 1;
    const size_t limit = 1u << 20;
    pqt_obs *o = pressure_obs(0, limit, 1u << 20, &s);
    if (o == NULL) {
        return;
    }
    size_t fixed = pqt_obs_get_stats(o)->memory_bytes;
    CHECK(fixed > 0 && fixed < limit / 4 && pqt_obs_get_stats(o)->memory_limit == limit);
    for (uint32_t i = 0; i < 5000; i++) {
        open_flow(o, i, &t);
        client_bytes(o, i, 0, rec, rec_len, &t);
    }
    const pqt_obs_stats *st = pqt_obs_get_stats(o);
    size_t evicted = (size_t)st->flows_evicted_memory;
    CHECK(st->memory_peak <= limit && st->memory_bytes <= limit);
    CHECK(evicted > 0 && evicted == st->flows_evicted && st->flows_active == 5000 - evicted);
    CHECK(s.n == evicted && s.evicted == evicted && s.memory == evicted && s.parsed == evicted);
    pqt_obs_finish(o);
    st = pqt_obs_get_stats(o); /* refreshes the memory and buffer figures */
    CHECK(s.n == 5000 && s.parsed == 5000 && s.same == 5000 && s.memory == evicted);
    CHECK(st->memory_bytes == fixed && st->buffered_bytes == 0 && st->memory_peak <= limit);
    pqt_obs_free(o);

    o = pressure_obs(0, 0, 0, &s);
    if (o == NULL) {
        return;
    }
    fixed = pqt_obs_get_stats(o)->memory_bytes;
    for (uint32_t i = 0; i < 5000; i++) {
        open_flow(o, i, &t);
        client_bytes(o, i, 0, rec, rec_len, &t);
    }
    st = pqt_obs_get_stats(o);
    CHECK(st->flows_active == 5000 && st->flows_evicted == 0);
    CHECK((st->memory_bytes - fixed) / 5000 < 1024);
    pqt_obs_finish(o);
    CHECK(s.n == 5000 && s.same == 5000 && s.memory == 0);
    pqt_obs_free(o);

    /* No room for flows beside the table: refused, not a silent observer. */
    pqt_obs_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_memory_bytes = 4096;
    o = NULL;
    CHECK(pqt_obs_new(&cfg, &o) == PQT_ERR_ARG && o == NULL);
}

/* A flow that is being fed is never evicted for memory, even when it holds
 * more than its share: out-of-order bytes under a small memory limit. */
static void test_memory_current_flow(void)
{
    pressure_sink s;
    uint64_t t = 1;
    const size_t limit = 256u << 10;
    pqt_obs *o = pressure_obs(0, limit, 0, &s);
    if (o == NULL) {
        return;
    }
    for (uint32_t i = 0; i < 3; i++) {
        open_flow(o, i, &t);
        client_bytes(o, i, 0, rec, rec_len, &t);
    }
    /* Flow 9: 400 segments of 1000 bytes ahead of a hole. */
    static uint8_t junk[1000];
    open_flow(o, 9, &t);
    for (uint32_t k = 1; k <= 400; k++) {
        client_bytes(o, 9, k * 1000, junk, sizeof(junk), &t);
    }
    const pqt_obs_stats *st = pqt_obs_get_stats(o);
    CHECK(st->memory_peak <= limit && st->flows_evicted_memory == 3 && s.n == 3);
    CHECK(st->reassembly_budget_giveups > 0 && st->flows_active == 1);
    pqt_obs_finish(o);
    CHECK(pqt_obs_get_stats(o)->buffered_bytes == 0);
    pqt_obs_free(o);
}

/* ---- how a handshake ends before completion ------------------------------ */

enum { END_RST_CLIENT = 0, END_RST_SERVER, END_FIN_SERVER };

typedef struct {
    const char *client_pre, *server_pre; /* cleartext before the ClientHello */
    const uint8_t *answer;               /* server bytes after it */
    size_t answer_len;
    uint32_t ack_extra; /* the client acknowledges this many server bytes never captured */
    uint32_t seq_extra; /* the server's own RST/FIN comes after this many such bytes */
    int end;            /* END_* */
    uint16_t port;
} ending;

/* One connection: SYN, SYN-ACK, the preambles, the whole hello (two
 * records, obs_flows.h), the answer, then the end; the record reported. */
static sink run_ending(const ending *e, const pqt_obs_app_port *ports, size_t n_ports)
{
    sink s;
    pqt_obs *o = NULL;
    pqt_obs_config cfg;
    memset(&s, 0, sizeof(s));
    memset(&cfg, 0, sizeof(cfg));
    cfg.on_handshake = on_hs;
    cfg.arg = &s;
    cfg.app_ports = ports;
    cfg.n_app_ports = n_ports;
    CHECK(pqt_obs_new(&cfg, &o) == 0);
    if (o == NULL) {
        return s;
    }
    uint32_t cseq = 5000, sseq = 9000;
    uint64_t t = 1700000000000000ull;
    pqt_packet p = seg(1, cseq++, PQT_TCP_SYN, NULL, 0);
    p.dport = e->port;
    pqt_obs_segment(o, t++, &p);
    p = seg(0, sseq++, PQT_TCP_SYN | PQT_TCP_ACK, NULL, 0);
    p.sport = e->port;
    pqt_obs_segment(o, t++, &p);
    const char *pre[2] = {e->server_pre, e->client_pre};
    for (int side = 0; side < 2; side++) {
        if (pre[side] != NULL) {
            size_t n = strlen(pre[side]);
            p = seg(side, side ? cseq : sseq, PQT_TCP_ACK, (const uint8_t *)pre[side], n);
            side ? (p.dport = e->port) : (p.sport = e->port);
            pqt_obs_segment(o, t++, &p);
            side ? (cseq += (uint32_t)n) : (sseq += (uint32_t)n);
        }
    }
    size_t hello_end = client_len - 15;
    p = seg(1, cseq, PQT_TCP_ACK, client_stream, hello_end);
    p.dport = e->port;
    pqt_obs_segment(o, t++, &p);
    cseq += (uint32_t)hello_end;
    if (e->answer_len > 0) {
        p = seg(0, sseq, PQT_TCP_ACK, e->answer, e->answer_len);
        p.sport = e->port;
        pqt_obs_segment(o, t++, &p);
        sseq += (uint32_t)e->answer_len;
    }
    if (e->end == END_RST_CLIENT) {
        p = seg(1, cseq, PQT_TCP_RST | PQT_TCP_ACK, NULL, 0);
        p.ack = sseq + e->ack_extra;
        p.dport = e->port;
    } else {
        p = seg(0, sseq + e->seq_extra,
                e->end == END_RST_SERVER ? PQT_TCP_RST : (PQT_TCP_FIN | PQT_TCP_ACK), NULL, 0);
        p.ack = cseq;
        p.sport = e->port;
    }
    pqt_obs_segment(o, t++, &p);
    pqt_obs_finish(o);
    CHECK(s.n == 1);
    pqt_obs_free(o);
    return s;
}

static void test_endings(void)
{
    static const uint8_t hrr[] = {22,   3,    3,    0,    56,   2,    0,    0,    52,   3,    3,
                                  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                  0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                  0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c, 0,
                                  0x13, 0x01, 0,    0,    12,   0,    43,   0,    2,    3,    4,
                                  0,    51,   0,    2,    0x11, 0xec};
    static const uint8_t garbage[] = "GARBAGE 3f9a0c";
    sink s;

    /* Nothing from the server since the ClientHello: the middlebox signature. */
    ending e = {.end = END_RST_SERVER, .port = 443};
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_RESET_AFTER_CH && s.last.closed_by_server);
    CHECK(s.last.app_protocol == PQT_OBS_APP_HTTPS && s.last.app_source == PQT_OBS_APP_BY_ALPN);
    e.end = END_FIN_SERVER;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_CLOSED_AFTER_CH && s.last.closed_by_server);
    /* Also after a whole SMTP dialogue: its bytes came before the hello. */
    e.client_pre = "EHLO client.example\r\nSTARTTLS\r\n";
    e.server_pre = "220 mx.example ESMTP\r\n250-mx.example\r\n250 STARTTLS\r\n220 2.0.0 Ready\r\n";
    e.port = 25;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_CLOSED_AFTER_CH && s.last.closed_by_server);
    CHECK(s.last.app_protocol == PQT_OBS_APP_SMTP && s.last.app_source == PQT_OBS_APP_BY_PREAMBLE);
    CHECK((s.last.anomalies & (PQT_OBS_A_PREAMBLE | PQT_OBS_A_SERVER_NOT_TLS)) ==
          PQT_OBS_A_PREAMBLE);

    /* A HelloRetryRequest, then the client resets: the server answered. */
    memset(&e, 0, sizeof(e));
    e.port = 443;
    e.answer = hrr;
    e.answer_len = sizeof(hrr);
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_RESET && !s.last.closed_by_server && s.last.hrr);
    CHECK(s.last.hrr_group == PQT_GROUP_X25519MLKEM768 && !s.last.has_sh);
    CHECK(!(s.last.anomalies & PQT_OBS_A_SERVER_NOT_TLS));

    /* Bytes that are not TLS, then a reset or a close. */
    e.answer = garbage;
    e.answer_len = sizeof(garbage) - 1;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_RESET && (s.last.anomalies & PQT_OBS_A_SERVER_NOT_TLS));
    e.end = END_FIN_SERVER;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_CLOSED && (s.last.anomalies & PQT_OBS_A_SERVER_NOT_TLS));
    /* Fewer than 6 bytes cannot be judged: answered, not marked. */
    e.answer_len = 5;
    e.end = END_RST_CLIENT;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_RESET && !(s.last.anomalies & PQT_OBS_A_SERVER_NOT_TLS));

    /* A direct ClientHello to a server that greeted in plaintext (a probe
     * of a STARTTLS port): the greeting was the answer; the protocol is
     * the greeting's. */
    memset(&e, 0, sizeof(e));
    e.server_pre = "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n";
    e.port = 143;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_RESET && (s.last.anomalies & PQT_OBS_A_SERVER_NOT_TLS));
    CHECK(s.last.app_protocol == PQT_OBS_APP_IMAP && s.last.app_source == PQT_OBS_APP_BY_PREAMBLE);
    /* The same greeting after the hello: named from the answer. */
    memset(&e, 0, sizeof(e));
    e.answer = (const uint8_t *)"* OK IMAP4rev1 ready\r\n";
    e.answer_len = 22;
    e.port = 143;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_RESET && (s.last.anomalies & PQT_OBS_A_SERVER_NOT_TLS));
    CHECK(s.last.app_protocol == PQT_OBS_APP_IMAP && s.last.app_source == PQT_OBS_APP_BY_ANSWER);

    /* The server's alert is missing from the capture: the client's reset
     * acknowledges its 7 bytes, or the server's own FIN comes after them.
     * Not the middlebox signature: a gap. */
    pqt_obs_stats st;
    memset(&e, 0, sizeof(e));
    e.port = 443;
    e.ack_extra = 7;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_GAP && (s.last.anomalies & PQT_OBS_A_GAP));
    e.ack_extra = 1; /* a FIN the capture lacks, no data: nothing missing */
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_RESET_AFTER_CH);
    e.ack_extra = 0;
    e.end = END_FIN_SERVER;
    e.seq_extra = 7;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_GAP && (s.last.anomalies & PQT_OBS_A_GAP));
    e.end = END_RST_SERVER;
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_GAP);
    e.seq_extra = 0x40000000u; /* a stale ISN, no evidence */
    s = run_ending(&e, NULL, 0);
    CHECK(s.last.outcome == PQT_OBS_RESET_AFTER_CH);
    (void)st;

    /* Direct TLS named by port: --app-port before the built-in table. */
    static const pqt_obs_app_port ports[] = {{10465, PQT_OBS_APP_SMTP}, {443, PQT_OBS_APP_IMAP}};
    memset(&e, 0, sizeof(e));
    e.port = 10465;
    s = run_ending(&e, ports, 2);
    /* The hello offers ALPN h2: that decides before any port. */
    CHECK(s.last.app_protocol == PQT_OBS_APP_HTTPS && s.last.app_source == PQT_OBS_APP_BY_ALPN);
}

int main(void)
{
    build_single_record_hello();
    build_streams();
    test_endings();
    test_whole_hellos_unbuffered();
    test_split_hellos_budget();
    test_claimed_size();
    test_memory_limit();
    test_memory_current_flow();
    test_flow_limit();
    printf("test_observe_engine: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
