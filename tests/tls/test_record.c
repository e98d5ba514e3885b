/*
 * The record layer (include/pqtls/record.h): header parse/put, the
 * streaming framer, and handshake reassembly fed in every possible split,
 * including the negative cases (bad headers, a callback that stops).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/record.h"

#include "../check.h"

static void test_header(void)
{
    uint8_t h[5];
    CHECK(pqt_record_header_put(h, 22, 0x0301, 300) == 0, "put");
    CHECK(memcmp(h, "\x16\x03\x01\x01\x2c", 5) == 0, "put bytes");
    CHECK(pqt_record_header_put(h, 22, 0x0303, 70000) == PQT_ERR_LENGTH, "length over 16 bits");
    pqt_reader r = pqt_reader_make((const uint8_t *)"\x16\x03\x01\x01\x2c", 5);
    pqt_record_header rh;
    CHECK(pqt_record_header_parse(&r, &rh) == 0 && rh.type == 22 && rh.version == 0x0301 &&
              rh.length == 300 && pqt_reader_left(&r) == 0,
          "parse");
    r = pqt_reader_make((const uint8_t *)"\x19\x03\x03\x00\x01", 5);
    CHECK(pqt_record_header_parse(&r, &rh) == PQT_ERR_SYNTAX && pqt_reader_left(&r) == 5,
          "content type 25 refused, cursor unmoved");
    r = pqt_reader_make((const uint8_t *)"\x17\x03\x03\x48\x01", 5);
    CHECK(pqt_record_header_parse(&r, &rh) == PQT_ERR_SYNTAX, "length above 2^14 + 2048");
    r = pqt_reader_make((const uint8_t *)"\x17\x03\x03\x48", 4);
    CHECK(pqt_record_header_parse(&r, &rh) == PQT_ERR_TRUNCATED, "short header");
}

/* What the callbacks saw, as text, to compare splits with each other. */
typedef struct {
    char log[4096];
    size_t len;
    int stop_at_message; /* stop after this many messages (0: never) */
    int messages;
    uint8_t room[2048];
    uint32_t keep_limit;
    pqt_hs_reasm hs;
    uint64_t piece;
} sink;

__attribute__((format(printf, 2, 3))) static void logf_(sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->log + s->len, sizeof(s->log) - s->len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof(s->log) - s->len) {
        s->len += (size_t)n;
    }
}

static int on_begin(void *ctx, uint8_t type, uint32_t len, uint8_t **buf, uint32_t *keep)
{
    sink *s = ctx;
    logf_(s, "B%u/%u ", type, len);
    *buf = s->room;
    *keep = len < s->keep_limit ? len : s->keep_limit;
    return 0;
}

static int on_message(void *ctx, const uint8_t hdr[4], uint8_t *buf, uint32_t len, uint32_t kept,
                      unsigned pieces, unsigned records)
{
    sink *s = ctx;
    unsigned sum = 0;
    for (uint32_t i = 0; i < kept; i++) {
        sum += buf[i];
    }
    logf_(s, "M%u/%u:%u ", hdr[0], len, sum);
    logf_(s, "r%u ", records);
    (void)pieces;
    s->messages++;
    return s->stop_at_message != 0 && s->messages == s->stop_at_message ? PQT_RECORD_STOP : 0;
}

static const pqt_hs_events hs_events = {on_begin, on_message};

static int on_header(void *ctx, const pqt_record_header *h, int err)
{
    sink *s = ctx;
    logf_(s, "H%u/%u/%d ", h->type, h->length, err == 0);
    return 0;
}

static int on_body(void *ctx, const pqt_record_header *h, const uint8_t *p, size_t n, size_t left)
{
    sink *s = ctx;
    (void)left;
    if (h->type == PQT_TLS_CT_HANDSHAKE) {
        return pqt_hs_reasm_feed(&s->hs, p, n, s->piece, 1 + (uint64_t)h->length, &hs_events, s);
    }
    return 0;
}

static const pqt_record_events rec_events = {on_header, on_body};

/* Two records: the first holds message 1 and the start of message 2, the
 * second the rest of message 2 and an empty message 3. */
static size_t build_stream(uint8_t *out)
{
    uint8_t msgs[600];
    size_t m = 0;
    msgs[m++] = 2;
    msgs[m++] = 0;
    msgs[m++] = 0;
    msgs[m++] = 40;
    for (int i = 0; i < 40; i++) {
        msgs[m++] = (uint8_t)i;
    }
    msgs[m++] = 11;
    msgs[m++] = 0;
    msgs[m++] = 1;
    msgs[m++] = 0x2c; /* 300 bytes */
    for (int i = 0; i < 300; i++) {
        msgs[m++] = (uint8_t)(i * 7);
    }
    msgs[m++] = 14;
    msgs[m++] = 0;
    msgs[m++] = 0;
    msgs[m++] = 0;
    size_t first = 100, n = 0;
    if (pqt_record_header_put(out, 22, 0x0303, first) != 0 ||
        pqt_record_header_put(out + 5 + first, 22, 0x0303, m - first) != 0) {
        return 0;
    }
    memcpy(out + 5, msgs, first);
    memcpy(out + 10 + first, msgs + first, m - first);
    n = 10 + m;
    return n;
}

static void run(sink *s, const uint8_t *p, size_t n, size_t step, uint32_t keep_limit)
{
    memset(s, 0, sizeof(*s));
    s->keep_limit = keep_limit;
    pqt_hs_reasm_init(&s->hs);
    pqt_record_framer f;
    pqt_record_framer_init(&f);
    for (size_t off = 0; off < n; off += step) {
        size_t take = n - off < step ? n - off : step;
        s->piece++;
        CHECK(pqt_record_framer_feed(&f, p + off, take, &rec_events, s) == 0, "feed");
    }
}

static void test_splits(void)
{
    uint8_t stream[1024];
    size_t n = build_stream(stream);
    CHECK(n == 10 + 44 + 304 + 4, "stream built");
    sink whole, part;
    run(&whole, stream, n, n, 2048);
    CHECK(strstr(whole.log, "M2/40:") != NULL && strstr(whole.log, "M11/300:") != NULL &&
              strstr(whole.log, "M14/0:0") != NULL && whole.messages == 3,
          "three messages: %s", whole.log);
    /* Message 2 spans both records. */
    CHECK(strstr(whole.log, "M11/300:") != NULL &&
              strstr(strstr(whole.log, "M11/300:"), "r2") != NULL,
          "second message spans two records: %s", whole.log);
    for (size_t step = 1; step < n; step++) {
        run(&part, stream, n, step, 2048);
        CHECK(part.len == whole.len && memcmp(part.log, whole.log, whole.len) == 0, "step %zu: %s",
              step, part.log);
    }
    /* Keeping only 16 bytes of each body: sums over the kept prefix. */
    sink cut;
    run(&cut, stream, n, 7, 16);
    unsigned sum = 0;
    for (int i = 0; i < 16; i++) {
        sum += (uint8_t)(i * 7);
    }
    char want[32];
    snprintf(want, sizeof(want), "M11/300:%u ", sum);
    CHECK(strstr(cut.log, want) != NULL, "kept prefix only: %s", cut.log);
}

static void test_stop_and_detach(void)
{
    uint8_t stream[1024];
    size_t n = build_stream(stream);
    sink s;
    memset(&s, 0, sizeof(s));
    s.keep_limit = 2048;
    s.stop_at_message = 1;
    CHECK(n > 0, "stream built");
    pqt_hs_reasm_init(&s.hs);
    /* Handshake bytes of the first record only, straight into the reassembler. */
    CHECK(pqt_hs_reasm_feed(&s.hs, stream + 5, 100, 0, 0, &hs_events, &s) == PQT_RECORD_STOP,
          "callback stops after the first message");
    CHECK(s.messages == 1 && !pqt_hs_reasm_pending(&s.hs), "stopped between messages");
    s.stop_at_message = 0;
    CHECK(pqt_hs_reasm_feed(&s.hs, stream + 5 + 44, 30, 0, 0, &hs_events, &s) == 0 &&
              pqt_hs_reasm_pending(&s.hs),
          "a message partly read is pending");
    uint32_t keep = 0;
    uint8_t *buf = pqt_hs_reasm_detach(&s.hs, &keep);
    CHECK(buf == s.room && keep == 300 && !pqt_hs_reasm_pending(&s.hs),
          "detach gives the buffer back");
}

static void test_framer_bad_header(void)
{
    sink s;
    memset(&s, 0, sizeof(s));
    pqt_hs_reasm_init(&s.hs);
    pqt_record_framer f;
    pqt_record_framer_init(&f);
    const uint8_t bad[] = {0x47, 0x45, 0x54, 0x20, 0x2f, 0x20}; /* "GET / " */
    CHECK(pqt_record_framer_feed(&f, bad, sizeof(bad), &rec_events, &s) == PQT_ERR_SYNTAX,
          "not a record header");
    CHECK(strstr(s.log, "/0 ") != NULL, "header callback told of the error: %s", s.log);
    CHECK(pqt_record_framer_feed(&f, bad, 1, &rec_events, &s) == PQT_ERR_SYNTAX,
          "a failed framer stays failed");
}

int main(void)
{
    test_header();
    test_splits();
    test_stop_and_detach();
    test_framer_bad_header();
    printf("test_record: %s (%d failures of %d checks)\n", failures ? "FAILED" : "ok", failures,
           checks);
    return failures != 0;
}
