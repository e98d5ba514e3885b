/*
 * One direction of a TCP stream read as TLS (RFC 8446 §5.1 records,
 * §4 handshake messages), incrementally: bytes arrive in whatever pieces
 * TCP delivered them, so record and handshake headers are collected
 * across calls. A message whole in one piece is handed on in place, from
 * the segment; of the messages that span pieces only those the observer
 * reads (ClientHello, ServerHello/HelloRetryRequest, the start of
 * ServerKeyExchange) are buffered, under the buffer budget, and everything
 * else is counted past. A hello spread over many records and segments is
 * put back together here.
 *
 * Before the first record the stream is scanned for a plausible record
 * header, so TLS behind a proxy request (HTTP CONNECT, SOCKS) or STARTTLS
 * is found; the bytes before it go to the engine, which names the
 * application protocol from them (appproto.c).
 */
#include <stdlib.h>
#include <string.h>

#include "obs_internal.h"

/* Does p (>= 6 bytes) start a record a direction in this role may open with? */
static int plausible_start(const uint8_t *p, int role)
{
    pqt_reader r = pqt_reader_make(p, 6);
    pqt_record_header h;
    uint8_t first = 0;
    if (pqt_record_header_parse(&r, &h) != 0 || pqt_reader_u8(&r, &first) != 0 ||
        (h.version >> 8) != 3 || (h.version & 0xFF) > 4 || h.length == 0) {
        return 0;
    }
    if (h.type == PQT_TLS_CT_HANDSHAKE) {
        if (first == PQT_TLS_HS_CLIENT_HELLO) {
            return role != OBS_ROLE_SERVER ? OBS_ROLE_CLIENT : 0;
        }
        if (first == PQT_TLS_HS_SERVER_HELLO) {
            return role != OBS_ROLE_CLIENT ? OBS_ROLE_SERVER : 0;
        }
        return 0;
    }
    /* A server may answer the ClientHello with an alert at once
     * (tls-early-alert, tls-extra-alert). */
    if (h.type == PQT_TLS_CT_ALERT && role == OBS_ROLE_SERVER && h.length == 2 && first <= 2) {
        return OBS_ROLE_SERVER;
    }
    return 0;
}

static void set_lost(obs_tls_dir *t, const obs_tls_events *ev, void *ctx, int side, int why)
{
    t->mode = OBS_TLS_LOST;
    ev->lost(ctx, side, why);
}

/* The callbacks' view of one feed call. */
typedef struct {
    obs_tls_dir *t;
    pqt_budget *b;
    const obs_tls_events *ev;
    void *ctx;
    int side;
} feed_ctx;

static void drop_hs_buf(obs_tls_dir *t, pqt_budget *b)
{
    uint32_t keep = 0;
    uint8_t *buf = pqt_hs_reasm_detach(&t->hs, &keep);
    if (buf != NULL) {
        free(buf);
        pqt_budget_give(b, keep);
    }
}

static int stopped(const obs_tls_dir *t)
{
    return t->mode != OBS_TLS_RECORDS ? PQT_RECORD_STOP : 0;
}

/* How many body bytes of a message the observer reads: the hellos whole
 * (up to OBS_HELLO_MAX), the start of ServerKeyExchange; none of the rest,
 * which is counted past (a 340 KB Certificate is never buffered). */
static int is_hello(uint8_t type)
{
    return type == PQT_TLS_HS_CLIENT_HELLO || type == PQT_TLS_HS_SERVER_HELLO;
}

static uint32_t body_wanted(uint8_t type, uint32_t len)
{
    if (is_hello(type)) {
        return len <= OBS_HELLO_MAX ? len : 0;
    }
    if (type == PQT_TLS_HS_SERVER_KEY_EXCHANGE) {
        return len < OBS_SKE_KEEP ? len : OBS_SKE_KEEP;
    }
    return 0;
}

/* A message that spans pieces begins: buffer what the observer reads of
 * it, charged to the buffer budget, and tell the engine what became of it
 * (kept, too big, or refused by the budget). */
static int hs_begin(void *c, uint8_t type, uint32_t len, uint8_t **buf, uint32_t *keep)
{
    feed_ctx *f = c;
    uint32_t want = body_wanted(type, len);
    int what = OBS_HS_SKIP;
    if (is_hello(type) && len > OBS_HELLO_MAX) {
        what = OBS_HS_TOO_BIG;
    } else if (want > 0) {
        what = OBS_HS_BUDGET;
        if (pqt_budget_take(f->b, want)) {
            *buf = malloc(want);
            if (*buf == NULL) {
                pqt_budget_give(f->b, want);
            } else {
                *keep = want;
                what = OBS_HS_KEEP;
            }
        }
    } else if (is_hello(type)) {
        what = OBS_HS_KEEP; /* an empty body: nothing to buffer */
    }
    f->t->hs_what = (uint8_t)what;
    f->ev->hs_begin(f->ctx, f->side, type, len, what);
    return 0; /* a stop here would strand *buf: the next call sees stopped() */
}

static int hs_message(void *c, const uint8_t hdr[PQT_TLS_HANDSHAKE_HEADER], uint8_t *buf,
                      uint32_t len, uint32_t kept, unsigned pieces, unsigned records)
{
    static const uint8_t empty[1];
    feed_ctx *f = c;
    const uint8_t *body = buf;
    if (body == NULL && len == 0 && f->t->hs_what == OBS_HS_KEEP) {
        body = empty; /* a hello with an empty body was read whole: let it fail to parse */
    }
    f->ev->handshake(f->ctx, f->side, hdr[0], body, len, kept, pieces, records);
    if (buf != NULL) {
        free(buf);
        pqt_budget_give(f->b, kept);
    }
    return stopped(f->t); /* the engine may have stopped this stream */
}

static const pqt_hs_events hs_events = {hs_begin, hs_message};

/*
 * Handshake bytes: one piece of a record body. A message that starts in
 * this piece and is whole in it (the usual ClientHello: one record in one
 * TCP segment) goes to the engine read in place, from the segment: no
 * copy, nothing charged to the buffer budget. Only a message that really
 * spans pieces (segments or records) goes through the reassembler, which
 * buffers it; it is fed no further than that message's end, so the
 * messages after it in the piece are again read in place.
 */
static int handshake_bytes(feed_ctx *f, const uint8_t *p, size_t n)
{
    obs_tls_dir *t = f->t;
    const pqt_hs_reasm *hr = &t->hs;
    while (n > 0) {
        size_t take = n;
        if (!pqt_hs_reasm_pending(hr)) {
            pqt_reader r = pqt_reader_make(p, n);
            uint8_t type = 0;
            uint32_t len = 0;
            const uint8_t *body = NULL;
            if (pqt_reader_u8(&r, &type) == 0 && pqt_reader_u24(&r, &len) == 0 &&
                pqt_reader_bytes(&r, len, &body) == 0) {
                uint32_t want = body_wanted(type, len);
                f->ev->handshake(f->ctx, f->side, type, want > 0 || is_hello(type) ? body : NULL,
                                 len, want, 1, 1);
                p = r.p;
                n = pqt_reader_left(&r);
                if (stopped(t)) {
                    return PQT_RECORD_STOP;
                }
                continue;
            }
            /* It starts here and goes on past this piece: all of n is its. */
        } else if (hr->begun) {
            take = n < hr->len - hr->got ? n : hr->len - hr->got;
        } else {
            take = n < (size_t)(PQT_TLS_HANDSHAKE_HEADER - hr->hdr_have)
                       ? n
                       : (size_t)(PQT_TLS_HANDSHAKE_HEADER - hr->hdr_have);
        }
        if (pqt_hs_reasm_feed(&t->hs, p, take, t->seg_id, t->fr.records, &hs_events, f) != 0) {
            return PQT_RECORD_STOP;
        }
        p += take;
        n -= take;
        if (stopped(t)) {
            return PQT_RECORD_STOP;
        }
    }
    return 0;
}

static int rec_header(void *c, const pqt_record_header *h, int err)
{
    feed_ctx *f = c;
    obs_tls_dir *t = f->t;
    if (err != 0 || (h->version >> 8) != 3 || h->length == 0) {
        drop_hs_buf(t, f->b);
        set_lost(t, f->ev, f->ctx, f->side, OBS_LOST_DESYNC);
        return PQT_RECORD_STOP;
    }
    t->alert_have = 0;
    if (f->ev->record(f->ctx, f->side, h->type) && h->type == PQT_TLS_CT_CHANGE_CIPHER_SPEC) {
        t->ccs = 1;
    }
    return stopped(t);
}

static int rec_body(void *c, const pqt_record_header *h, const uint8_t *p, size_t n, size_t left)
{
    feed_ctx *f = c;
    obs_tls_dir *t = f->t;
    (void)left;
    /* After ChangeCipherSpec this direction's records are encrypted. */
    if (h->type == PQT_TLS_CT_HANDSHAKE && !t->ccs) {
        return handshake_bytes(f, p, n);
    } else if (h->type == PQT_TLS_CT_ALERT && !t->ccs && h->length == 2) {
        for (size_t i = 0; i < n && t->alert_have < 2; i++) {
            t->alert[t->alert_have++] = p[i];
        }
        if (t->alert_have == 2) {
            t->alert_have = 3; /* reported */
            f->ev->alert(f->ctx, f->side, t->alert[0], t->alert[1]);
        }
    }
    return stopped(t);
}

static const pqt_record_events rec_events = {rec_header, rec_body};

/* Parse records from p. */
static void records(obs_tls_dir *t, pqt_budget *b, const obs_tls_events *ev, void *ctx, int side,
                    const uint8_t *p, size_t n)
{
    if (t->mode != OBS_TLS_RECORDS) {
        return;
    }
    feed_ctx f = {t, b, ev, ctx, side};
    (void)pqt_record_framer_feed(&t->fr, p, n, &rec_events, &f);
}

static void start_records(obs_tls_dir *t, pqt_budget *b, const obs_tls_events *ev, void *ctx,
                          int side, int role, const uint8_t *pre, size_t preamble, const uint8_t *p,
                          size_t n)
{
    t->mode = OBS_TLS_RECORDS;
    t->preamble = preamble;
    ev->start(ctx, side, role, pre, preamble);
    records(t, b, ev, ctx, side, p, n);
}

void pqt_obs_tls_feed(obs_tls_dir *t, pqt_budget *b, const obs_tls_events *ev, void *ctx, int side,
                      const uint8_t *p, size_t n)
{
    t->seg_id++;
    if (t->mode == OBS_TLS_RECORDS) {
        records(t, b, ev, ctx, side, p, n);
        return;
    }
    if (t->mode != OBS_TLS_SCAN || n == 0) {
        return;
    }
    int role = ev->role(ctx, side);
    int found;
    /* Fast path: the stream starts with a record (no copy). */
    if (t->scan_len == 0 && n >= 6 && (found = plausible_start(p, role)) != 0) {
        start_records(t, b, ev, ctx, side, found, NULL, 0, p, n);
        return;
    }
    /* Otherwise collect up to OBS_SCAN_MAX bytes and search them. */
    size_t room = OBS_SCAN_MAX - t->scan_len;
    size_t take = n < room ? n : room;
    if (t->scan == NULL) {
        if (!pqt_budget_take(b, OBS_SCAN_MAX)) {
            set_lost(t, ev, ctx, side, OBS_LOST_BUDGET);
            return;
        }
        t->scan = malloc(OBS_SCAN_MAX);
        if (t->scan == NULL) {
            pqt_budget_give(b, OBS_SCAN_MAX);
            set_lost(t, ev, ctx, side, OBS_LOST_BUDGET);
            return;
        }
    }
    memcpy(t->scan + t->scan_len, p, take);
    t->scan_len += take;
    for (; t->scan_pos + 6 <= t->scan_len; t->scan_pos++) {
        found = plausible_start(t->scan + t->scan_pos, role);
        if (found == 0) {
            continue;
        }
        /* Found: replay the buffered bytes, then the rest of this piece. */
        uint8_t *buf = t->scan;
        size_t pos = t->scan_pos, len = t->scan_len;
        t->scan = NULL;
        t->scan_len = t->scan_pos = 0;
        start_records(t, b, ev, ctx, side, found, buf, pos, buf + pos, len - pos);
        free(buf);
        pqt_budget_give(b, OBS_SCAN_MAX);
        if (take < n) {
            records(t, b, ev, ctx, side, p + take, n - take);
        }
        return;
    }
    if (t->scan_len == OBS_SCAN_MAX) {
        free(t->scan);
        pqt_budget_give(b, OBS_SCAN_MAX);
        t->scan = NULL;
        t->scan_len = t->scan_pos = 0;
        set_lost(t, ev, ctx, side, OBS_LOST_NOT_TLS);
    }
}

void pqt_obs_tls_gap(obs_tls_dir *t, pqt_budget *b, const obs_tls_events *ev, void *ctx, int side)
{
    t->gap = 1;
    if (t->mode == OBS_TLS_RECORDS) {
        /* A record stream cannot be resynchronised safely: stop here. */
        drop_hs_buf(t, b);
        set_lost(t, ev, ctx, side, OBS_LOST_GAP);
    } else if (t->mode == OBS_TLS_SCAN) {
        t->scan_len = t->scan_pos = 0; /* keep scanning after the hole */
    }
}

void pqt_obs_tls_free(obs_tls_dir *t, pqt_budget *b)
{
    drop_hs_buf(t, b);
    if (t->scan != NULL) {
        free(t->scan);
        pqt_budget_give(b, OBS_SCAN_MAX);
        t->scan = NULL;
    }
    t->mode = OBS_TLS_OFF;
}
