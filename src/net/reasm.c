/*
 * Per-direction TCP reassembly for the handshake: in-order bytes go
 * straight to the sink; segments ahead of the expected sequence number
 * wait in a sorted list charged to the shared byte budget. Sequence
 * numbers compare modulo 2^32 (RFC 9293 §3.4).
 *
 * Policy: retransmitted bytes are dropped, overlaps keep the first copy
 * (counted), a SYN-less stream is anchored on its first data segment, and
 * when the budget runs out or the flow ends with a hole the hole is
 * reported as a gap and reassembly continues after it.
 */
#include <stdlib.h>
#include <string.h>

#include "pqtls/net.h"

#define OBS_WINDOW (1u << 24) /* segments further ahead are not this stream */

int pqt_budget_take(pqt_budget *b, size_t n)
{
    if (n > b->limit) {
        return 0; /* would not fit in an empty budget: reclaim nothing */
    }
    while (b->used > b->limit - n) {
        if (b->reclaim == NULL || !b->reclaim(b->reclaim_ctx, n)) {
            return 0;
        }
    }
    if (b->parent != NULL && !pqt_budget_take(b->parent, pqt_heap_cost(n))) {
        return 0;
    }
    b->used += n;
    if (b->used > b->peak) {
        b->peak = b->used;
    }
    return 1;
}

void pqt_budget_give(pqt_budget *b, size_t n)
{
    b->used = n > b->used ? 0 : b->used - n;
    if (b->parent != NULL) {
        pqt_budget_give(b->parent, pqt_heap_cost(n));
    }
}

static int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

void pqt_reasm_syn(pqt_reasm *r, uint32_t isn)
{
    /* A repeated SYN(-ACK) with another ISN re-anchors the stream as long
     * as nothing was delivered from it (tls_multiple_synack_different_seq). */
    if (r->delivered == 0 && r->ooo == NULL) {
        r->next_seq = isn + 1;
        r->anchored = 1;
    }
    r->syn_seen = 1;
}

static void deliver(pqt_reasm *r, const pqt_stream_sink *sink, const uint8_t *p, size_t n)
{
    r->next_seq += (uint32_t)n;
    r->delivered += n;
    if (!r->stopped && sink != NULL) {
        sink->data(sink->ctx, sink->side, p, n);
    }
}

/* Deliver buffered segments that have become in-order. */
static unsigned drain(pqt_reasm *r, pqt_budget *b, const pqt_stream_sink *sink)
{
    unsigned ev = 0;
    while (r->ooo != NULL && seq_diff(r->ooo->seq, r->next_seq) <= 0) {
        pqt_reasm_seg *s = r->ooo;
        r->ooo = s->next;
        int32_t skip = seq_diff(r->next_seq, s->seq);
        if ((uint32_t)skip < s->len) {
            if (skip > 0) {
                ev |= PQT_REASM_OVERLAP;
            }
            deliver(r, sink, s->data + skip, s->len - (uint32_t)skip);
        } else {
            ev |= PQT_REASM_RETRANSMIT;
        }
        r->ooo_bytes -= s->len;
        pqt_budget_give(b, sizeof(*s) + s->len);
        free(s);
    }
    return ev;
}

/* Skip the hole before the first buffered segment. */
static void skip_hole(pqt_reasm *r, const pqt_stream_sink *sink)
{
    r->next_seq = r->ooo->seq;
    if (!r->stopped && sink != NULL) {
        sink->gap(sink->ctx, sink->side);
    }
}

unsigned pqt_reasm_segment(pqt_reasm *r, const pqt_reasm *peer, pqt_budget *b, uint32_t seq,
                           const uint8_t *data, size_t len, const pqt_stream_sink *sink)
{
    unsigned ev = 0;
    if (len == 0) {
        return 0;
    }
    if (!r->anchored) {
        r->next_seq = seq; /* mid-stream start */
        r->anchored = 1;
        ev |= PQT_REASM_MIDSTREAM;
    } else if (r->delivered == 0 && r->ooo == NULL && seq != r->next_seq && peer->ack_valid &&
               peer->last_ack == seq) {
        r->next_seq = seq; /* the peer acknowledged this start: trust it over a stale ISN */
    }
    int32_t rel = seq_diff(seq, r->next_seq);
    if (rel <= 0) {
        if ((int64_t)rel + (int64_t)len <= 0) {
            return ev | PQT_REASM_RETRANSMIT;
        }
        if (rel < 0) {
            ev |= PQT_REASM_RETRANSMIT | PQT_REASM_OVERLAP;
        }
        deliver(r, sink, data + (uint32_t)-rel, len - (uint32_t)-rel);
        return ev | drain(r, b, sink);
    }
    if ((uint32_t)rel > OBS_WINDOW) {
        return ev | PQT_REASM_OUT_OF_WINDOW;
    }
    ev |= PQT_REASM_OUT_OF_ORDER;
    if (r->stopped) {
        return ev; /* nobody wants the bytes: nothing to buffer */
    }
    /* Buffer it, sorted; exact duplicates are retransmissions. */
    pqt_reasm_seg **pp = &r->ooo;
    while (*pp != NULL && seq_diff((*pp)->seq, seq) < 0) {
        pp = &(*pp)->next;
    }
    if (*pp != NULL && (*pp)->seq == seq && (*pp)->len >= len) {
        return ev | PQT_REASM_RETRANSMIT;
    }
    pqt_reasm_seg *s = NULL;
    if (len <= UINT32_MAX && pqt_budget_take(b, sizeof(*s) + len)) {
        s = malloc(sizeof(*s) + len);
        if (s == NULL) {
            pqt_budget_give(b, sizeof(*s) + len);
        }
    }
    if (s == NULL) {
        /* Out of budget: give the hole up, deliver what we have in order,
         * then this segment. */
        ev |= PQT_REASM_BUDGET | PQT_REASM_GAP;
        while (r->ooo != NULL) {
            skip_hole(r, sink);
            ev |= drain(r, b, sink);
        }
        if (seq_diff(seq, r->next_seq) > 0) {
            r->next_seq = seq;
            if (!r->stopped && sink != NULL) {
                sink->gap(sink->ctx, sink->side);
            }
        }
        int32_t d = seq_diff(r->next_seq, seq);
        if (d >= 0 && (size_t)d < len) {
            deliver(r, sink, data + d, len - (size_t)d);
        }
        return ev;
    }
    s->seq = seq;
    s->len = (uint32_t)len;
    memcpy(s->data, data, len);
    s->next = *pp;
    *pp = s;
    r->ooo_bytes += len;
    return ev;
}

void pqt_reasm_flush(pqt_reasm *r, pqt_budget *b, const pqt_stream_sink *sink)
{
    while (r->ooo != NULL) {
        skip_hole(r, sink);
        drain(r, b, sink);
    }
}

void pqt_reasm_free(pqt_reasm *r, pqt_budget *b)
{
    while (r->ooo != NULL) {
        pqt_reasm_seg *s = r->ooo;
        r->ooo = s->next;
        pqt_budget_give(b, sizeof(*s) + s->len);
        free(s);
    }
    r->ooo_bytes = 0;
}
