/*
 * One direction of a TCP stream read as TLS (RFC 8446 §5.1 records,
 * §4 handshake messages), incrementally: bytes arrive in whatever pieces
 * TCP delivered them, so record and handshake headers are collected
 * across calls, and only the messages the observer reads (ClientHello,
 * ServerHello/HelloRetryRequest, the start of ServerKeyExchange) are kept;
 * everything else is counted past. A hello spread over many records and
 * segments is put back together here.
 *
 * Before the first record the stream is scanned for a plausible record
 * header, so TLS behind a proxy request (HTTP CONNECT, SOCKS) or STARTTLS
 * is found.
 */
#include <stdlib.h>
#include <string.h>

#include "obs_internal.h"

/* Does p (>= 6 bytes) start a record a direction in this role may open with? */
static int plausible_start(const uint8_t *p, int role)
{
    if (p[1] != 3 || p[2] > 4) {
        return 0;
    }
    uint16_t len = (uint16_t)((p[3] << 8) | p[4]);
    if (len == 0 || len > PQT_TLS_MAX_RECORD + 2048) {
        return 0;
    }
    if (p[0] == PQT_TLS_CT_HANDSHAKE) {
        if (p[5] == PQT_TLS_HS_CLIENT_HELLO) {
            return role != OBS_ROLE_SERVER ? OBS_ROLE_CLIENT : 0;
        }
        if (p[5] == PQT_TLS_HS_SERVER_HELLO) {
            return role != OBS_ROLE_CLIENT ? OBS_ROLE_SERVER : 0;
        }
        return 0;
    }
    /* A server may answer the ClientHello with an alert at once
     * (tls-early-alert, tls-extra-alert). */
    if (p[0] == PQT_TLS_CT_ALERT && role == OBS_ROLE_SERVER && len == 2 && p[5] <= 2) {
        return OBS_ROLE_SERVER;
    }
    return 0;
}

static void set_lost(obs_tls_dir *t, const obs_tls_events *ev, void *ctx, int side, int why)
{
    t->mode = OBS_TLS_LOST;
    ev->lost(ctx, side, why);
}

static void drop_hs_buf(obs_tls_dir *t, obs_budget *b)
{
    if (t->hs_buf != NULL) {
        free(t->hs_buf);
        obs_budget_give(b, t->hs_keep);
        t->hs_buf = NULL;
    }
    t->hs_keep = 0;
}

/* Handshake-record payload: split into messages. */
static void handshake_bytes(obs_tls_dir *t, obs_budget *b, const obs_tls_events *ev, void *ctx,
                            int side, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (t->hs_hdr_have == 0) {
            t->hs_segs = 0;
            t->hs_recs = 0;
            t->hs_last_seg = 0;
            t->hs_last_rec = 0;
        }
        /* The TCP segments and TLS records this message's bytes came in,
         * each counted once. */
        if (t->hs_last_seg != t->seg_id) {
            t->hs_last_seg = t->seg_id;
            t->hs_segs++;
        }
        if (t->hs_last_rec != t->rec_id) {
            t->hs_last_rec = t->rec_id;
            t->hs_recs++;
        }
        if (t->hs_hdr_have < 4) {
            t->hs_hdr[t->hs_hdr_have++] = *p++;
            n--;
            if (t->hs_hdr_have < 4) {
                continue;
            }
            t->hs_type = t->hs_hdr[0];
            t->hs_len = ((uint32_t)t->hs_hdr[1] << 16) | ((uint32_t)t->hs_hdr[2] << 8) | t->hs_hdr[3];
            t->hs_got = 0;
            uint32_t keep = 0;
            if (t->hs_type == PQT_TLS_HS_CLIENT_HELLO || t->hs_type == PQT_TLS_HS_SERVER_HELLO) {
                keep = t->hs_len <= OBS_HELLO_MAX ? t->hs_len : 0;
            } else if (t->hs_type == PQT_TLS_HS_SERVER_KEY_EXCHANGE) {
                keep = t->hs_len < OBS_SKE_KEEP ? t->hs_len : OBS_SKE_KEEP;
            }
            if (keep > 0 && obs_budget_take(b, keep)) {
                t->hs_buf = malloc(keep);
                if (t->hs_buf == NULL) {
                    obs_budget_give(b, keep);
                }
            }
            t->hs_keep = t->hs_buf != NULL ? keep : 0;
        }
        uint32_t want = t->hs_len - t->hs_got;
        uint32_t take = n < want ? (uint32_t)n : want;
        if (t->hs_buf != NULL && t->hs_got < t->hs_keep) {
            uint32_t room = t->hs_keep - t->hs_got;
            memcpy(t->hs_buf + t->hs_got, p, take < room ? take : room);
        }
        t->hs_got += take;
        p += take;
        n -= take;
        if (t->hs_got == t->hs_len) {
            uint8_t *body = t->hs_buf;
            int kept = ev->handshake(ctx, side, t->hs_type, body, t->hs_len, t->hs_keep,
                                     t->hs_segs, t->hs_recs);
            if (kept) {
                t->hs_buf = NULL; /* the engine owns it now */
                t->hs_keep = 0;
            } else {
                drop_hs_buf(t, b);
            }
            t->hs_hdr_have = 0;
            if (t->mode != OBS_TLS_RECORDS) {
                return; /* the engine stopped this stream */
            }
        }
    }
}

/* Parse records from p. */
static void records(obs_tls_dir *t, obs_budget *b, const obs_tls_events *ev, void *ctx, int side,
                    const uint8_t *p, size_t n)
{
    while (n > 0 && t->mode == OBS_TLS_RECORDS) {
        if (t->rec_left == 0) {
            size_t take = 5 - t->hdr_have;
            if (take > n) {
                take = n;
            }
            memcpy(t->hdr + t->hdr_have, p, take);
            t->hdr_have = (uint8_t)(t->hdr_have + take);
            p += take;
            n -= take;
            if (t->hdr_have < 5) {
                return;
            }
            t->hdr_have = 0;
            pqt_reader r = pqt_reader_make(t->hdr, 5);
            pqt_record_header h;
            if (pqt_record_header_parse(&r, &h) != 0 || (h.version >> 8) != 3 || h.length == 0) {
                drop_hs_buf(t, b);
                set_lost(t, ev, ctx, side, OBS_LOST_DESYNC);
                return;
            }
            t->rec_type = h.type;
            t->rec_left = h.length;
            t->rec_len = h.length;
            t->rec_id++;
            t->alert_have = 0;
            if (ev->record(ctx, side, h.type) && h.type == PQT_TLS_CT_CHANGE_CIPHER_SPEC) {
                t->ccs = 1;
            }
            if (t->mode != OBS_TLS_RECORDS) {
                return;
            }
            continue;
        }
        size_t take = n < t->rec_left ? n : t->rec_left;
        /* After ChangeCipherSpec this direction's records are encrypted. */
        if (t->rec_type == PQT_TLS_CT_HANDSHAKE && !t->ccs) {
            handshake_bytes(t, b, ev, ctx, side, p, take);
        } else if (t->rec_type == PQT_TLS_CT_ALERT && !t->ccs && t->rec_len == 2) {
            for (size_t i = 0; i < take && t->alert_have < 2; i++) {
                t->alert[t->alert_have++] = p[i];
            }
            if (t->alert_have == 2) {
                t->alert_have = 3; /* reported */
                ev->alert(ctx, side, t->alert[0], t->alert[1]);
            }
        }
        t->rec_left -= (uint32_t)take;
        p += take;
        n -= take;
    }
}

static void start_records(obs_tls_dir *t, obs_budget *b, const obs_tls_events *ev, void *ctx,
                          int side, int role, size_t preamble, const uint8_t *p, size_t n)
{
    t->mode = OBS_TLS_RECORDS;
    t->preamble = preamble;
    ev->start(ctx, side, role, preamble);
    records(t, b, ev, ctx, side, p, n);
}

void obs_tls_feed(obs_tls_dir *t, obs_budget *b, const obs_tls_events *ev, void *ctx, int side,
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
        start_records(t, b, ev, ctx, side, found, 0, p, n);
        return;
    }
    /* Otherwise collect up to OBS_SCAN_MAX bytes and search them. */
    size_t room = OBS_SCAN_MAX - t->scan_len;
    size_t take = n < room ? n : room;
    if (t->scan == NULL) {
        if (!obs_budget_take(b, OBS_SCAN_MAX)) {
            set_lost(t, ev, ctx, side, OBS_LOST_BUDGET);
            return;
        }
        t->scan = malloc(OBS_SCAN_MAX);
        if (t->scan == NULL) {
            obs_budget_give(b, OBS_SCAN_MAX);
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
        start_records(t, b, ev, ctx, side, found, pos, buf + pos, len - pos);
        free(buf);
        obs_budget_give(b, OBS_SCAN_MAX);
        if (take < n) {
            records(t, b, ev, ctx, side, p + take, n - take);
        }
        return;
    }
    if (t->scan_len == OBS_SCAN_MAX) {
        free(t->scan);
        obs_budget_give(b, OBS_SCAN_MAX);
        t->scan = NULL;
        t->scan_len = t->scan_pos = 0;
        set_lost(t, ev, ctx, side, OBS_LOST_NOT_TLS);
    }
}

void obs_tls_gap(obs_tls_dir *t, obs_budget *b, const obs_tls_events *ev, void *ctx, int side)
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

void obs_tls_free(obs_tls_dir *t, obs_budget *b)
{
    drop_hs_buf(t, b);
    if (t->scan != NULL) {
        free(t->scan);
        obs_budget_give(b, OBS_SCAN_MAX);
        t->scan = NULL;
    }
    t->mode = OBS_TLS_OFF;
}
