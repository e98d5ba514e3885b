/*
 * pqtls mask: captures. pcap and pcapng are read into one buffer (the
 * arena), masked in place and written from there (writev), so a byte is
 * copied once in and once out. gzip input goes through zlib (gzread).
 *
 * A frame whose TCP payload holds part of a handshake message or cleartext
 * line that is not complete yet is held: the message is read across
 * segments (and records) as one unit, masked when its last byte arrives,
 * and its bytes written back to the frames they came from; only then are
 * those frames (and everything after them, output keeps capture order)
 * written. The hold is bounded (max_hold_bytes): at the bound, and at the
 * end of the input, a unit still incomplete is masked whole with keyed
 * bytes (counted as "forced"). Segments ahead of a hole wait the same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <zlib.h>

#include "mask_internal.h"
#include "pqtls/net.h"
#include "pqtls/quic.h"
#include "pqtls/wire.h"

#define READ_CHUNK (4u << 20)
#define MAX_RECORD (64u << 20) /* a frame or block larger than this is corruption */
#define UNIT_MAX (128u << 10)  /* a handshake message or line held at most */
#define LINE_MAX_HOLD 8192
#define MAX_RUNS 1024
#define MAX_AHEAD 32

enum { K_RAW, K_PCAP, K_EPB, K_SPB };
enum { S_DETECT, S_TLS, S_TEXT, S_OPAQUE, S_PREAMBLE };
enum { U_NONE, U_HS, U_LINE };
enum { MY_UNKNOWN, MY_FRAMED, MY_NOT };

typedef struct {
    uint64_t start; /* absolute arena offset of the record or block */
    uint32_t len;   /* bytes written (set when finalised) */
    uint32_t pending;
    uint64_t data; /* absolute offset of the frame */
    uint32_t caplen, keep, flags_opt;
    uint16_t l3, l4; /* offsets in the frame, 0xffff: none */
    uint32_t l4len;
    uint8_t kind, proto, ipver, swap, has_flags, csum;
    mask_dir *holder;
} mask_frame;

typedef struct {
    uint32_t unit_off, len;
    uint64_t abs;
} mask_run;

typedef struct {
    uint64_t frame, abs;
    uint32_t seq, len;
} mask_ahead;

struct mask_dir {
    uint8_t state, anchored, encrypted, ccs, rec_n, rec_type, hs_n, unit_kind, line_start,
        in_headers, unit_forced, is_client, fin, ack_valid;
    uint8_t rec_hdr[5], hs_hdr[4];
    uint8_t my, my_n, my_hdr[4]; /* MySQL packet framing of a preamble (MY_*) */
    uint32_t my_left, my_keep;   /* payload bytes left of the MySQL packet, and to keep */
    uint32_t last_ack;           /* the last acknowledgment this side sent (ack_valid) */
    uint32_t next_seq, rec_left, hs_left;
    uint64_t off, ks_id;
    uint8_t *unit;
    uint32_t unit_len, unit_cap, n_runs, runs_cap;
    mask_run *runs;
    uint64_t *held; /* frames this unit holds (as many as runs) */
    uint32_t n_held;
    struct mask_quic *quic; /* a UDP flow's QUIC connection (both sides), or NULL */
    mask_ahead ahead[MAX_AHEAD];
    uint32_t n_ahead;
};

struct mask_flow {
    mask_flow *hnext, *lprev, *lnext;
    uint64_t hash;
    uint64_t last_s; /* capture time (s) of the flow's last packet */
    uint8_t key[37];
    mask_dir dir[2];
};

/* A flow with no packet for this long (capture time) is let go, as the
 * observer does, so memory stays flat however long the capture: what it
 * held is written out as a flow at the flow limit's eviction is. */
#define MASK_FLOW_IDLE_S 300

typedef struct mask_capture_state {
    pqt_mask *m;
    uint64_t now_s; /* the latest capture time seen (s), 0 before any */
    uint8_t *arena;
    size_t cap;
    uint64_t base, end; /* arena[0] is absolute offset base; data up to end */
    uint64_t parsed;    /* absolute offset of the next unparsed byte */
    int in_fd, out_fd, eof;
    gzFile gz;
    mask_frame *ring;
    uint64_t head, tail; /* frame numbers */
    size_t ring_cap;
    mask_flow **buckets;
    size_t nbuckets, nflows;
    mask_flow *lru_head, *lru_tail; /* head: most recent */
    /* pcapng */
    uint32_t linktypes[64];
    uint8_t tsres[64];
    uint32_t n_if;
    int swap, pcapng, linktype, nsec;
    int err;
    char *errbuf;
    size_t errlen;
    pqt_quic_opener *qop; /* made at the first QUIC Initial */
    pqt_budget qbudget;   /* CRYPTO stream buffers of all QUIC connections */
} mcap;

/* ---- errors, bytes ---- */

static int fail(mcap *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(mcap *c, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c->errbuf != NULL && c->errlen > 0) {
        vsnprintf(c->errbuf, c->errlen, fmt, ap);
    }
    va_end(ap);
    c->err = err;
    return err;
}

static uint32_t get32(const uint8_t *p, int swap)
{
    return swap ? ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0])
                : ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

static void put32(uint8_t *p, uint32_t v, int swap)
{
    for (int i = 0; i < 4; i++) {
        p[swap ? i : 3 - i] = (uint8_t)(v >> (8 * i));
    }
}

static uint16_t get16(const uint8_t *p, int swap)
{
    return swap ? (uint16_t)(p[1] << 8 | p[0]) : (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v, int swap)
{
    p[swap ? 0 : 1] = (uint8_t)v;
    p[swap ? 1 : 0] = (uint8_t)(v >> 8);
}

static uint8_t *at(mcap *c, uint64_t abs)
{
    return c->arena + (abs - c->base);
}

/* ---- input ---- */

static int read_more(mcap *c, size_t want)
{
    if (c->eof) {
        return 0;
    }
    if (c->end - c->base + want > c->cap) {
        size_t nc = c->cap ? c->cap : (8u << 20);
        while (nc < c->end - c->base + want) {
            nc *= 2;
        }
        uint8_t *n = realloc(c->arena, nc);
        if (n == NULL) {
            return fail(c, PQT_ERR_NOMEM, "out of memory (%zu bytes held)", nc);
        }
        c->arena = n;
        c->cap = nc;
    }
    uint8_t *dst = c->arena + (c->end - c->base);
    size_t room = c->cap - (size_t)(c->end - c->base);
    if (room > READ_CHUNK && want <= READ_CHUNK) {
        room = READ_CHUNK;
    }
    ssize_t n;
    if (c->gz != NULL) {
        n = gzread(c->gz, dst, (unsigned)(room > INT_MAX ? INT_MAX : room));
        if (n < 0) {
            int zerr = 0;
            const char *msg = gzerror(c->gz, &zerr);
            return fail(c, PQT_ERR_SYNTAX, "gzip data is corrupt (%s)", msg);
        }
    } else {
        do {
            n = read(c->in_fd, dst, room);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            return fail(c, PQT_ERR_IO, "read failed: %s", strerror(errno));
        }
    }
    if (n == 0) {
        c->eof = 1;
    }
    c->end += (uint64_t)n;
    return (int)(n > 0);
}

/* Make n bytes from c->parsed available; 1, 0 at a clean end, <0 error. */
static int need(mcap *c, size_t n)
{
    while (c->end - c->parsed < n) {
        int r = read_more(c, n > READ_CHUNK ? n : READ_CHUNK);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            return 0;
        }
    }
    return 1;
}

/* ---- output ---- */

static int write_iov(mcap *c, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(c->out_fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(c, PQT_ERR_IO, "write failed: %s", strerror(errno));
        }
        c->m->st.bytes_out += (uint64_t)w;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static mask_frame *frame_at(mcap *c, uint64_t no)
{
    return &c->ring[no & (c->ring_cap - 1)];
}

/* Write every finished frame at the head; then reclaim arena space. */
static int flush(mcap *c, int all)
{
    struct iovec iov[512];
    int n = 0;
    while (c->head < c->tail) {
        mask_frame *f = frame_at(c, c->head);
        if (f->pending != 0) {
            break;
        }
        if (f->len > 0) {
            uint8_t *p = at(c, f->start);
            if (n > 0 && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == p) {
                iov[n - 1].iov_len += f->len;
            } else {
                if (n == 512) {
                    if (write_iov(c, iov, n) != 0) {
                        return c->err;
                    }
                    n = 0;
                }
                iov[n].iov_base = p;
                iov[n].iov_len = f->len;
                n++;
            }
        }
        c->head++;
    }
    if (n > 0 && write_iov(c, iov, n) != 0) {
        return c->err;
    }
    (void)all;
    /* Reclaim: everything before the first unwritten frame (or the unparsed
     * bytes) goes. */
    uint64_t keep_from = c->parsed;
    if (c->head < c->tail) {
        keep_from = frame_at(c, c->head)->start;
    }
    size_t drop = (size_t)(keep_from - c->base);
    if (drop > 0 && (drop >= c->cap / 2 || keep_from == c->end)) {
        memmove(c->arena, c->arena + drop, (size_t)(c->end - keep_from));
        c->base = keep_from;
    }
    uint64_t held = c->end - c->base;
    if (held > c->m->st.held_max_bytes) {
        c->m->st.held_max_bytes = held;
    }
    return 0;
}

static mask_frame *new_frame(mcap *c, uint64_t *no)
{
    if (c->tail - c->head == c->ring_cap) {
        size_t nc = c->ring_cap ? c->ring_cap * 2 : 4096;
        mask_frame *r = malloc(nc * sizeof(*r));
        if (r == NULL) {
            fail(c, PQT_ERR_NOMEM, "out of memory (frame queue)");
            return NULL;
        }
        for (uint64_t i = c->head; i < c->tail; i++) {
            r[i & (nc - 1)] = *frame_at(c, i);
        }
        free(c->ring);
        c->ring = r;
        c->ring_cap = nc;
    }
    *no = c->tail++;
    mask_frame *f = frame_at(c, *no);
    memset(f, 0, sizeof(*f));
    f->l3 = f->l4 = 0xffff;
    return f;
}

/* ---- checksums (RFC 1071) ---- */

static uint64_t sum_bytes(const uint8_t *p, size_t n, uint64_t s)
{
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        s += v >> 32;
        s += v & 0xffffffffu;
        p += 8;
        n -= 8;
    }
    uint8_t tail[8] = {0};
    memcpy(tail, p, n);
    uint64_t v;
    memcpy(&v, tail, 8);
    s += v >> 32;
    s += v & 0xffffffffu;
    return s;
}

/* One's complement of the sum, in network order as stored in memory. */
static uint16_t fold(uint64_t s)
{
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return (uint16_t)~s;
}

static void store_sum(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2); /* the sum was taken in memory order */
}

static void finalize(mcap *c, mask_frame *f)
{
    uint8_t *fr = at(c, f->data);
    pqt_mask *m = c->m;
    if (f->csum && f->l3 != 0xffff && f->l4 != 0xffff) {
        uint8_t *l3 = fr + f->l3, *l4 = fr + f->l4;
        uint64_t s = 0;
        uint8_t ph[8] = {0, 0, 0, f->proto, 0, 0, 0, 0};
        size_t csoff = f->proto == 6 ? 16 : (f->proto == 17 ? 6 : 2);
        if (f->ipver == 4) {
            s = sum_bytes(l3 + 12, 8, 0);
        } else {
            s = sum_bytes(l3 + 8, 32, 0);
        }
        if (f->proto != 1) { /* ICMPv4 has no pseudo-header */
            ph[4] = (uint8_t)(f->l4len >> 24);
            ph[5] = (uint8_t)(f->l4len >> 16);
            ph[6] = (uint8_t)(f->l4len >> 8);
            ph[7] = (uint8_t)f->l4len;
            s = sum_bytes(ph, 8, s);
        } else {
            s = 0;
        }
        l4[csoff] = l4[csoff + 1] = 0;
        s = sum_bytes(l4, f->l4len, s);
        uint16_t v = fold(s);
        if (f->proto == 17 && v == 0) {
            v = 0xffff; /* RFC 768: a computed zero is sent as all ones */
        }
        store_sum(l4 + csoff, v);
    }
    /* the container record, with the kept length */
    uint32_t keep = f->keep < f->caplen ? f->keep : f->caplen;
    if (m->opts.payload != PQT_MASK_PAYLOAD_DROP) {
        keep = f->caplen;
    }
    uint8_t *rec = at(c, f->start);
    switch (f->kind) {
    case K_PCAP:
        put32(rec + 8, keep, f->swap);
        f->len = 16 + keep;
        break;
    case K_EPB: {
        uint32_t pad = (4 - keep % 4) % 4;
        uint8_t *o = rec + 28 + keep;
        memset(o, 0, pad);
        o += pad;
        if (f->has_flags) {
            put16(o, 2, f->swap);
            put16(o + 2, 4, f->swap);
            put32(o + 4, f->flags_opt, f->swap);
            put16(o + 8, 0, f->swap);
            put16(o + 10, 0, f->swap);
            o += 12;
        }
        uint32_t total = (uint32_t)(o - rec) + 4;
        put32(rec + 4, total, f->swap);
        put32(rec + 20, keep, f->swap);
        put32(o, total, f->swap);
        f->len = total;
        break;
    }
    case K_SPB:
        /* a Simple Packet Block has no captured length: keep it all */
        break;
    default:
        break;
    }
    m->st.bytes_in += 0;
}

static void release(mcap *c, uint64_t no)
{
    if (no < c->head || no >= c->tail) {
        return;
    }
    mask_frame *f = frame_at(c, no);
    if (f->pending > 0 && --f->pending == 0) {
        f->holder = NULL;
        finalize(c, f);
    }
}

/* ---- TCP streams ---- */

static void transform(mcap *c, mask_dir *d, uint8_t *p, size_t n, uint64_t off)
{
    if (c->m->opts.payload == PQT_MASK_PAYLOAD_KEEP_LENGTH) {
        pqt_m_keystream(c->m, d->ks_id, off, p, n);
    } else {
        memset(p, 0, n);
    }
}

static void hold(mcap *c, mask_dir *d, uint64_t no)
{
    if (d->n_held > 0 && d->held[d->n_held - 1] == no) {
        return;
    }
    mask_frame *f = frame_at(c, no);
    f->pending++;
    f->holder = d;
    d->held[d->n_held++] = no;
}

static void unit_release(mcap *c, mask_dir *d)
{
    for (uint32_t i = 0; i < d->n_held; i++) {
        release(c, d->held[i]);
    }
    d->n_held = 0;
    d->n_runs = 0;
    d->unit_len = 0;
    d->unit_kind = U_NONE;
    /* memory per flow stays small between messages */
    free(d->unit);
    free(d->runs);
    free(d->held);
    d->unit = NULL;
    d->runs = NULL;
    d->held = NULL;
    d->unit_cap = d->runs_cap = 0;
}

/* The unit is complete: mask the copy and write it back where it came from. */
static void unit_done(mcap *c, mask_dir *d)
{
    if (d->unit_kind == U_HS) {
        pqt_m_handshake(c->m, d->unit[0], d->unit + 4, d->unit_len - 4, d->is_client);
    } else if (d->unit_kind == U_LINE) {
        int h = d->in_headers;
        pqt_m_text_line(c->m, d->unit, d->unit_len, &h);
        d->in_headers = (uint8_t)h;
    }
    for (uint32_t i = 0; i < d->n_runs; i++) {
        memcpy(at(c, d->runs[i].abs), d->unit + d->runs[i].unit_off, d->runs[i].len);
    }
    unit_release(c, d);
}

/* Give up on the unit: what was held is replaced with keyed bytes. */
static void unit_force(mcap *c, mask_dir *d)
{
    /* a handshake message keeps its type and length (a ClientHello cut by
     * the end of the capture still reads as one) */
    uint32_t keep = d->unit_kind == U_HS ? 4 : 0;
    for (uint32_t i = 0; i < d->n_runs; i++) {
        mask_run *r = &d->runs[i];
        uint32_t skip = 0;
        if (r->unit_off < keep) {
            skip = keep - r->unit_off < r->len ? keep - r->unit_off : r->len;
        }
        pqt_mask_bytes(c->m, "forced", at(c, r->abs + skip), r->len - skip);
    }
    if (d->unit_kind != U_NONE) {
        c->m->st.forced++;
        d->unit_forced = 1;
    }
    unit_release(c, d);
}

/* Append n bytes at abs (in frame no) to the unit; 0, or -1 when it must be
 * given up (too long, too many pieces). */
static int unit_add(mcap *c, mask_dir *d, uint64_t no, uint64_t abs, size_t n)
{
    if (d->unit_len + n > UNIT_MAX || d->n_runs == MAX_RUNS || d->n_held == MAX_RUNS) {
        return -1;
    }
    if (d->n_runs == d->runs_cap) {
        uint32_t nc = d->runs_cap ? 2 * d->runs_cap : 8;
        mask_run *r = realloc(d->runs, nc * sizeof(*r));
        if (r != NULL) {
            d->runs = r;
        }
        uint64_t *h = realloc(d->held, nc * sizeof(*h));
        if (h != NULL) {
            d->held = h;
        }
        if (r == NULL || h == NULL) {
            return -1;
        }
        d->runs_cap = nc;
    }
    if (d->unit_len + n > d->unit_cap) {
        uint32_t nc = d->unit_cap ? d->unit_cap : 2048;
        while (nc < d->unit_len + n) {
            nc *= 2;
        }
        uint8_t *u = realloc(d->unit, nc);
        if (u == NULL) {
            return -1;
        }
        d->unit = u;
        d->unit_cap = nc;
    }
    memcpy(d->unit + d->unit_len, at(c, abs), n);
    d->runs[d->n_runs++] = (mask_run){d->unit_len, (uint32_t)n, abs};
    d->unit_len += (uint32_t)n;
    hold(c, d, no);
    return 0;
}

/* Mark bytes [abs, abs+n) of frame f as kept in --payload drop. */
static void keep_upto(mcap *c, mask_frame *f, uint64_t abs_end)
{
    uint32_t k = (uint32_t)(abs_end - f->data);
    if (k > f->keep) {
        f->keep = k;
    }
    (void)c;
}

/* Text, not binary: the first bytes are printable or line ends. */
static int looks_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && i < 16; i++) {
        if ((p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' && p[i] != '\t') || p[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* A MySQL packet starts the stream: 3-byte little-endian payload length,
 * sequence id, then a protocol v10 server greeting (sequence 0) or a
 * client's SSL request (sequence 1, CLIENT_SSL among its capabilities). */
static int mysql_start(const uint8_t *p, size_t n)
{
    if (n < 6) {
        return 0;
    }
    uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    if (p[3] == 0) {
        return p[4] == 0x0a && len >= 16 && len <= 4096;
    }
    return p[3] == 1 && len >= 4 && len <= 64 && (p[4] | p[5] << 8) & 0x0800;
}

/* A v10 greeting, in place: the version, salts and authentication plugin
 * become 'x' (their NULs, so the layout, stay), the thread id zeros;
 * capability flags, character set, status and lengths stay. */
static void mysql_greeting_mask(uint8_t *g, uint32_t len)
{
    uint32_t i = 1;
    for (; i < len && g[i] != 0; i++) {
        g[i] = 'x';
    }
    i++;
    for (uint32_t k = 0; k < 4 && i < len; k++) {
        g[i++] = 0;
    }
    for (uint32_t k = 0; k < 8 && i < len; k++, i++) {
        g[i] = g[i] != 0 ? 'x' : 0;
    }
    i += 1 + 2 + 1 + 2 + 2 + 1 + 10; /* filler, flags, charset, status, flags, length, reserved */
    for (; i < len; i++) {
        g[i] = g[i] != 0 ? 'x' : 0;
    }
}

/* In-order bytes of one direction. */
static void feed(mcap *c, mask_dir *d, uint64_t no, uint64_t abs, size_t n)
{
    mask_frame *f = frame_at(c, no);
    int drop = c->m->opts.payload == PQT_MASK_PAYLOAD_DROP;
    int keep_text = c->m->opts.payload == PQT_MASK_PAYLOAD_KEEP_LENGTH;
    int first = 1;
    while (n > 0) {
        uint8_t *p = at(c, abs);
        size_t take = 1;
        if (d->state == S_DETECT) {
            if (p[0] >= 20 && p[0] <= 23 && (n < 2 || p[1] == 3)) {
                d->state = S_TLS; /* a handshake, or an alert as the first answer */
            } else if (looks_text(p, n)) {
                d->state = S_TEXT;
                d->line_start = 1;
            } else {
                d->state = S_PREAMBLE;
            }
            continue;
        }
        if (d->state == S_PREAMBLE) {
            /* A binary preamble (SOCKS, a proxy protocol): zeroed, and TLS
             * found at its first record header within 8 KiB, as the
             * observer finds it. MySQL packets (a v10 greeting, an SSL
             * request) keep their 4-byte headers; only payloads are
             * zeroed, and TLS is looked for between packets. */
            if (d->my == MY_UNKNOWN) {
                d->my = d->off == 0 && mysql_start(p, n) ? MY_FRAMED : MY_NOT;
            }
            if (d->my == MY_FRAMED && d->my_n == 4 && d->my_left > 0) {
                take = n < d->my_left ? n : d->my_left;
                if (d->my_keep > 0) {
                    take = take < d->my_keep ? take : d->my_keep;
                    d->my_keep -= (uint32_t)take;
                } else {
                    memset(p, 0, take);
                }
                d->my_left -= (uint32_t)take;
                if (d->my_left == 0) {
                    d->my_n = 0;
                }
            } else if ((d->my != MY_FRAMED || d->my_n == 0) && p[0] == 0x16 &&
                       (n < 2 || p[1] == 3)) {
                d->state = S_TLS;
                continue;
            } else if (d->my == MY_FRAMED) {
                d->my_hdr[d->my_n & 3] = p[0]; /* the header stays */
                d->my_n++;
                if (d->my_n == 4) {
                    d->my_left = (uint32_t)d->my_hdr[0] | (uint32_t)d->my_hdr[1] << 8 |
                                 (uint32_t)d->my_hdr[2] << 16;
                    /* the first packet keeps what says what it is: a greeting's
                     * protocol version (its layout, when it is all in this
                     * segment), an SSL request's capability flags */
                    d->my_keep = d->off != 3 ? 0 : d->my_hdr[3] == 0 ? 1 : 4;
                    if (d->off == 3 && d->my_hdr[3] == 0 && n - 1 >= d->my_left) {
                        mysql_greeting_mask(p + 1, d->my_left);
                        d->my_keep = d->my_left;
                    }
                    if (d->my_keep > d->my_left) {
                        d->my_keep = d->my_left;
                    }
                    if (d->my_left == 0) {
                        d->my_n = 0;
                    }
                }
            } else {
                memset(p, 0, 1);
            }
            if (d->off + take > 8192) {
                d->state = S_OPAQUE;
            }
        } else if (d->state == S_OPAQUE) {
            take = n;
            transform(c, d, p, take, d->off);
        } else if (d->state == S_TEXT) {
            if (first && p[0] == 0x16 && (n < 2 || p[1] == 3)) {
                /* a segment that starts a record after a dialogue (STARTTLS,
                 * LDAP, a binary reply): the partial line is given up */
                unit_force(c, d);
                d->state = S_TLS;
                continue;
            }
            if (!looks_text(p, n > 64 ? 64 : n) && d->unit_kind == U_NONE) {
                d->state = S_PREAMBLE;
                continue;
            }
            if (d->line_start && p[0] == 0x16) {
                d->state = S_TLS; /* after STARTTLS, CONNECT, a proxy header */
                continue;
            }
            uint8_t *nl = memchr(p, '\n', n);
            take = nl != NULL ? (size_t)(nl - p) + 1 : n;
            d->line_start = nl != NULL;
            if (!keep_text || d->unit_forced) {
                transform(c, d, p, take, d->off);
            } else {
                if (d->unit_kind == U_NONE) {
                    d->unit_kind = U_LINE;
                }
                if (d->unit_len + take > LINE_MAX_HOLD || unit_add(c, d, no, abs, take) != 0) {
                    unit_force(c, d);
                    transform(c, d, p, take, d->off);
                } else if (nl != NULL) {
                    unit_done(c, d);
                }
            }
            if (nl != NULL) {
                d->unit_forced = 0;
            }
        } else if (d->rec_n < 5) {
            /* record header */
            d->rec_hdr[d->rec_n++] = p[0];
            keep_upto(c, f, abs + 1);
            if (d->rec_n == 5) {
                uint8_t t = d->rec_hdr[0];
                uint32_t len = (uint32_t)d->rec_hdr[3] << 8 | d->rec_hdr[4];
                if (t < 20 || t > 24 || d->rec_hdr[1] != 3 || len > 16384 + 2048) {
                    d->state = S_OPAQUE; /* not TLS (any more) */
                } else {
                    d->rec_type = t;
                    d->rec_left = len;
                    if (len == 0) {
                        d->rec_n = 0;
                    }
                }
            }
        } else {
            take = n < d->rec_left ? n : d->rec_left;
            int hs = d->rec_type == 22 && !d->encrypted;
            if (d->rec_type == 22 && d->encrypted && d->hs_n == 0 && (p[0] == 1 || p[0] == 2) &&
                d->rec_left == ((uint32_t)d->rec_hdr[3] << 8 | d->rec_hdr[4])) {
                /* RFC 8446 D.4: after a compatibility ChangeCipherSpec, the
                 * second ClientHello (and the ServerHello after an HRR)
                 * still come in the clear */
                d->encrypted = 0;
                hs = 1;
            }
            if (hs) {
                size_t t = 0;
                if (d->hs_n < 4) {
                    d->hs_hdr[d->hs_n++] = p[0];
                    t = 1;
                    if (d->hs_n == 4) {
                        d->hs_left = (uint32_t)d->hs_hdr[1] << 16 | (uint32_t)d->hs_hdr[2] << 8 |
                                     d->hs_hdr[3];
                    }
                } else {
                    t = take < d->hs_left ? take : d->hs_left;
                    d->hs_left -= (uint32_t)t;
                }
                take = t;
                if (d->unit_forced) {
                    pqt_mask_bytes(c->m, "forced", p, take);
                } else {
                    if (d->unit_kind == U_NONE) {
                        d->unit_kind = U_HS;
                    }
                    if (unit_add(c, d, no, abs, take) != 0) {
                        unit_force(c, d);
                        pqt_mask_bytes(c->m, "forced", p, take);
                    }
                }
                keep_upto(c, f, abs + take);
                if (d->hs_n == 4 && d->hs_left == 0) {
                    if (d->unit_forced) {
                        d->unit_forced = 0;
                    } else {
                        unit_done(c, d);
                    }
                    d->hs_n = 0;
                }
            } else if (d->rec_type == 20 || (d->rec_type == 21 && !d->encrypted)) {
                keep_upto(c, f, abs + take);
                if (d->rec_type == 20) {
                    d->ccs = 1;
                    d->encrypted = 1;
                }
            } else {
                int rec_start = d->rec_left == ((uint32_t)d->rec_hdr[3] << 8 | d->rec_hdr[4]);
                transform(c, d, p, take, d->off);
                if (d->rec_type == 22 && rec_start && (p[0] == 1 || p[0] == 2)) {
                    /* an encrypted handshake record (a TLS 1.2 Finished)
                     * whose keyed first byte reads as a ClientHello or
                     * ServerHello type would be taken for a cleartext
                     * hello by the observer (and by D.4 above when the
                     * masked copy is masked again): one time in 128 */
                    p[0] ^= 0x80;
                }
            }
            d->rec_left -= (uint32_t)take;
            if (d->rec_left == 0) {
                d->rec_n = 0;
            }
        }
        if (drop && d->state != S_TLS) {
            /* nothing of it kept */
        }
        first = 0;
        abs += take;
        n -= take;
        d->off += take;
        d->next_seq += (uint32_t)take;
    }
}

struct mask_quic;
static void quic_force(mcap *c, struct mask_quic *q);
static void quic_free(mcap *c, struct mask_quic *q);

static void force_dir(mcap *c, mask_dir *d)
{
    if (d->quic != NULL) {
        quic_force(c, d->quic);
    }
    unit_force(c, d);
    for (uint32_t i = 0; i < d->n_ahead; i++) {
        mask_ahead *a = &d->ahead[i];
        transform(c, d, at(c, a->abs), a->len, d->off + (uint32_t)(a->seq - d->next_seq));
        release(c, a->frame);
    }
    if (d->n_ahead > 0) {
        d->state = S_OPAQUE; /* the stream has a hole we never saw filled */
        c->m->st.forced++;
    }
    d->n_ahead = 0;
    d->unit_forced = 0;
}

static void dir_segment(mcap *c, mask_dir *d, uint64_t no, uint64_t abs, uint32_t seq, size_t n);

static void drain_ahead(mcap *c, mask_dir *d)
{
    int progress = 1;
    while (progress && d->n_ahead > 0) {
        progress = 0;
        for (uint32_t i = 0; i < d->n_ahead; i++) {
            mask_ahead a = d->ahead[i];
            if ((int32_t)(a.seq - d->next_seq) <= 0) {
                d->ahead[i] = d->ahead[--d->n_ahead];
                dir_segment(c, d, a.frame, a.abs, a.seq, a.len);
                release(c, a.frame);
                progress = 1;
                break;
            }
        }
    }
}

static void dir_segment(mcap *c, mask_dir *d, uint64_t no, uint64_t abs, uint32_t seq, size_t n)
{
    if (n == 0) {
        return;
    }
    if (!d->anchored) {
        d->anchored = 1;
        d->next_seq = seq;
    }
    int32_t delta = (int32_t)(seq - d->next_seq);
    if (delta > 0) {
        if (d->state != S_OPAQUE && d->n_ahead < MAX_AHEAD && delta < (1 << 24)) {
            mask_frame *f = frame_at(c, no);
            f->pending++;
            f->holder = d;
            d->ahead[d->n_ahead++] = (mask_ahead){no, abs, seq, (uint32_t)n};
            return;
        }
        transform(c, d, at(c, abs), n, d->off + (uint64_t)delta);
        return;
    }
    if (delta < 0) {
        size_t old = (size_t)(-(int64_t)delta) < n ? (size_t)(-(int64_t)delta) : n;
        /* Bytes already seen: the first copy is what analysis uses (the
         * observer drops retransmissions); these get the keystream of their
         * place, equal to the first copy wherever that was opaque. */
        transform(c, d, at(c, abs), old, d->off - (uint64_t)(-(int64_t)delta));
        c->m->st.retransmissions++;
        abs += old;
        n -= old;
        if (n == 0) {
            return;
        }
    }
    feed(c, d, no, abs, n);
    drain_ahead(c, d);
}

/* ---- flows ---- */

static void flow_unlink_lru(mcap *c, mask_flow *fl)
{
    if (fl->lprev != NULL) {
        fl->lprev->lnext = fl->lnext;
    } else {
        c->lru_head = fl->lnext;
    }
    if (fl->lnext != NULL) {
        fl->lnext->lprev = fl->lprev;
    } else {
        c->lru_tail = fl->lprev;
    }
    fl->lprev = fl->lnext = NULL;
}

/* Capture time moves forward only (captures may be slightly out of order). */
static void note_time(mcap *c, uint64_t seconds)
{
    if (seconds > c->now_s) {
        c->now_s = seconds;
    }
}

static void flow_free(mcap *c, mask_flow *fl)
{
    for (int i = 0; i < 2; i++) {
        force_dir(c, &fl->dir[i]);
    }
    if (fl->dir[0].quic != NULL) {
        quic_free(c, fl->dir[0].quic);
    }
    mask_flow **pp = &c->buckets[fl->hash & (c->nbuckets - 1)];
    while (*pp != NULL && *pp != fl) {
        pp = &(*pp)->hnext;
    }
    if (*pp == fl) {
        *pp = fl->hnext;
    }
    flow_unlink_lru(c, fl);
    c->nflows--;
    free(fl);
}

static mask_flow *flow_get(mcap *c, const uint8_t *key, size_t klen, int *created, int create)
{
    pqt_mask *m = c->m;
    uint64_t h = pqt_m_siphash64(m->sip_flow, key, klen);
    mask_flow **b = &c->buckets[h & (c->nbuckets - 1)];
    *created = 0;
    /* The least recently seen flows first: free those idle too long. */
    while (c->lru_tail != NULL && c->lru_tail->last_s + MASK_FLOW_IDLE_S < c->now_s) {
        m->st.flows_idle++;
        flow_free(c, c->lru_tail);
    }
    for (mask_flow *fl = *b; fl != NULL; fl = fl->hnext) {
        if (fl->hash == h && memcmp(fl->key, key, klen) == 0) {
            fl->last_s = c->now_s;
            if (c->lru_head != fl) {
                flow_unlink_lru(c, fl);
                fl->lnext = c->lru_head;
                if (c->lru_head != NULL) {
                    c->lru_head->lprev = fl;
                }
                c->lru_head = fl;
                if (c->lru_tail == NULL) {
                    c->lru_tail = fl;
                }
            }
            return fl;
        }
    }
    if (!create) {
        return NULL;
    }
    if (c->nflows >= m->opts.max_flows && c->lru_tail != NULL) {
        flow_free(c, c->lru_tail);
    }
    mask_flow *fl = calloc(1, sizeof(*fl));
    if (fl == NULL) {
        return NULL;
    }
    fl->hash = h;
    fl->last_s = c->now_s;
    memcpy(fl->key, key, klen);
    fl->hnext = *b;
    *b = fl;
    fl->lnext = c->lru_head;
    if (c->lru_head != NULL) {
        c->lru_head->lprev = fl;
    }
    c->lru_head = fl;
    if (c->lru_tail == NULL) {
        c->lru_tail = fl;
    }
    c->nflows++;
    for (int i = 0; i < 2; i++) {
        fl->dir[i].ks_id = (h + (uint64_t)i * 0x9e3779b97f4a7c15ull) & ~(1ull << 63);
    }
    *created = 1;
    return fl;
}

/* ---- QUIC ---- */

/*
 * A QUIC connection on a UDP flow (as the observer follows it: the side
 * that sent the first Initial is the client, the keys come from the
 * Destination Connection ID of its first Initial or a Retry's Source
 * Connection ID). Each Initial is opened, its CRYPTO frames go into the
 * side's stream, and the packet is held until every TLS message its
 * frames touch has been masked in the stream; then the masked bytes are
 * written back into its CRYPTO frames and the packet is sealed again with
 * the keys of the pseudonymised Destination Connection ID. Connection IDs
 * are keyed pseudonyms of the same length; everything else (Handshake,
 * 0-RTT and 1-RTT payloads, what does not open or parse) is zeroed.
 */
#define QM_CRYPTO_LIMIT (64u << 10) /* CRYPTO stream prefix followed per side */
#define QM_MAX_PKTS 64              /* Initial packets held per side */
#define QM_MAX_CF 16                /* CRYPTO frames per packet written back */

typedef struct {
    uint64_t frame, abs; /* the frame, and the packet's absolute arena offset */
    uint32_t len, pn_offset, hdr_len;
    uint64_t pn, need; /* need: end of its CRYPTO data in the stream */
    pqt_quic_keys mk;  /* the masked keys it is sealed with (a Retry changes them) */
    uint8_t *plain;    /* unprotected header (CIDs pseudonymised) and plaintext */
    uint32_t n_cf;
    struct {
        uint32_t at, n; /* in plain */
        uint64_t off;   /* in the stream */
    } cf[QM_MAX_CF];
} mq_pkt;

typedef struct mask_quic {
    uint32_t version;
    uint8_t client; /* side index of the client */
    uint8_t kcid_len, odcid_len, cid_len[2], has_cid[2], broken[2];
    uint8_t released; /* CRYPTO streams freed: the client moved past its Initials */
    uint8_t kcid[PQT_QUIC_MAX_CID], odcid[PQT_QUIC_MAX_CID], cid[2][PQT_QUIC_MAX_CID];
    pqt_quic_keys keys[2], mkeys[2]; /* original, and of the pseudonymised kcid */
    int64_t largest[2];
    pqt_quic_crypto cr[2];
    size_t masked[2]; /* stream prefix masked, message by message */
    mq_pkt *pk[2];    /* held packets (allocated while any is held) */
    uint32_t n_pk[2], cap_pk[2];
} mask_quic;

static void quic_cid(pqt_mask *m, uint8_t *p, size_t n)
{
    pqt_mask_bytes(m, "quic-cid", p, n);
}

/* Keys of both sides, original and masked, from the connection ID cid. */
static int quic_keys(mcap *c, mask_quic *q, const uint8_t *cid, size_t n)
{
    uint8_t ps[PQT_QUIC_MAX_CID];
    memcpy(ps, cid, n);
    quic_cid(c->m, ps, n);
    if (pqt_quic_initial_keys(q->version, cid, n, &q->keys[q->client], &q->keys[1 - q->client]) !=
            0 ||
        pqt_quic_initial_keys(q->version, ps, n, &q->mkeys[q->client], &q->mkeys[1 - q->client]) !=
            0) {
        return -1;
    }
    q->kcid_len = (uint8_t)n;
    memcpy(q->kcid, cid, n);
    return 0;
}

/* Pseudonymise the connection IDs of a long header in place. */
static void quic_long_cids(pqt_mask *m, uint8_t *p, const pqt_quic_header *h)
{
    quic_cid(m, p + 6, h->dcid_len);
    quic_cid(m, p + 7 + h->dcid_len, h->scid_len);
}

static void quic_drop_pkt(mcap *c, mq_pkt *k, int seal_failed)
{
    /* the packet cannot be sealed again: its protected part is zeroed */
    memset(at(c, k->abs + k->pn_offset), 0, k->len - k->pn_offset);
    c->m->st.quic_zeroed++;
    (void)seal_failed;
    free(k->plain);
    k->plain = NULL;
    release(c, k->frame);
}

/* Give up on everything held (the bound, the end, a new connection). */
static void quic_force(mcap *c, mask_quic *q)
{
    for (int s = 0; s < 2; s++) {
        for (uint32_t i = 0; i < q->n_pk[s]; i++) {
            quic_drop_pkt(c, &q->pk[s][i], 0);
        }
        q->n_pk[s] = q->cap_pk[s] = 0;
        free(q->pk[s]);
        q->pk[s] = NULL;
    }
}

static void quic_free(mcap *c, mask_quic *q)
{
    quic_force(c, q);
    for (int s = 0; s < 2; s++) {
        pqt_quic_crypto_free(&q->cr[s], &c->qbudget);
    }
    free(q);
}

/* The client sends Handshake or 1-RTT packets once it has dropped its
 * Initial keys (RFC 9001 §4.9.1): the CRYPTO streams are freed when no
 * packet waits on them, so a long capture's connections cost little. An
 * Initial with CRYPTO data after that is zeroed; one without (an ACK) is
 * still sealed again. */
static void quic_release(mcap *c, mask_quic *q)
{
    if (q->released || q->n_pk[0] + q->n_pk[1] > 0) {
        return;
    }
    for (int s = 0; s < 2; s++) {
        pqt_quic_crypto_free(&q->cr[s], &c->qbudget);
    }
    q->released = 1;
}

/* Mask the complete messages of side s's stream, then seal and release
 * the held packets whose CRYPTO data is all masked. */
static void quic_progress(mcap *c, mask_quic *q, int s)
{
    pqt_quic_crypto *cr = &q->cr[s];
    while (!q->broken[s] && q->masked[s] + 4 <= cr->contig) {
        uint8_t *h = cr->buf + q->masked[s];
        size_t len = (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
        if (q->masked[s] + 4 + len > QM_CRYPTO_LIMIT) {
            q->broken[s] = 1;
            break;
        }
        if (q->masked[s] + 4 + len > cr->contig) {
            break;
        }
        pqt_m_handshake(c->m, h[0], h + 4, len, s == q->client);
        q->masked[s] += 4 + len;
    }
    uint32_t w = 0;
    for (uint32_t i = 0; i < q->n_pk[s]; i++) {
        mq_pkt *k = &q->pk[s][i];
        if (q->broken[s] && k->need > q->masked[s]) {
            quic_drop_pkt(c, k, 0);
            continue;
        }
        if (k->need > q->masked[s]) {
            q->pk[s][w++] = *k;
            continue;
        }
        for (uint32_t j = 0; j < k->n_cf; j++) {
            memcpy(k->plain + k->cf[j].at, cr->buf + k->cf[j].off, k->cf[j].n);
        }
        size_t pn_len = (size_t)(k->plain[0] & 3) + 1;
        size_t plen = k->len - k->hdr_len - PQT_QUIC_TAG;
        if (pqt_quic_seal(c->qop, &k->mk, k->plain, k->pn_offset, pn_len, k->pn,
                          k->plain + k->hdr_len, plen, at(c, k->abs)) != 0) {
            quic_drop_pkt(c, k, 1);
            continue;
        }
        c->m->st.quic_initials++;
        free(k->plain);
        k->plain = NULL;
        release(c, k->frame);
    }
    q->n_pk[s] = w;
    if (w == 0) {
        free(q->pk[s]); /* memory per connection stays small once masked */
        q->pk[s] = NULL;
        q->cap_pk[s] = 0;
    }
}

typedef struct {
    mq_pkt *k;
    const uint8_t *base;
    int too_many;
} mq_frames;

static void quic_on_crypto(void *ctx, uint64_t off, const uint8_t *p, size_t n)
{
    mq_frames *f = ctx;
    if (f->k->n_cf == QM_MAX_CF) {
        f->too_many = 1;
        return;
    }
    f->k->cf[f->k->n_cf].at = (uint32_t)(p - f->base);
    f->k->cf[f->k->n_cf].n = (uint32_t)n;
    f->k->cf[f->k->n_cf].off = off;
    f->k->n_cf++;
    if (off + n > f->k->need) {
        f->k->need = off + n;
    }
}

/* One Initial packet at abs (header h) from side s: 0 when held or sealed. */
static int quic_initial(mcap *c, mask_dir *d, mask_quic *q, int s, uint64_t no, uint64_t abs,
                        const pqt_quic_header *h)
{
    if (q->n_pk[s] == QM_MAX_PKTS || h->version != q->version || h->len > (64u << 10) ||
        h->len < h->pn_offset + 4 + PQT_QUIC_TAG) {
        return -1;
    }
    if (q->n_pk[s] == q->cap_pk[s]) {
        uint32_t nc = q->cap_pk[s] ? 2 * q->cap_pk[s] : 4;
        mq_pkt *np = realloc(q->pk[s], nc * sizeof(*np));
        if (np == NULL) {
            return -1;
        }
        q->pk[s] = np;
        q->cap_pk[s] = nc;
    }
    uint8_t *plain = malloc(h->len);
    if (plain == NULL) {
        return -1;
    }
    uint64_t pn;
    const uint8_t *pl;
    size_t pll;
    if (pqt_quic_open(c->qop, &q->keys[s], at(c, abs), h, q->largest[s], plain, &pn, &pl, &pll) !=
        0) {
        free(plain);
        return -1;
    }
    if ((int64_t)pn > q->largest[s]) {
        q->largest[s] = (int64_t)pn;
    }
    mq_pkt *k = &q->pk[s][q->n_pk[s]];
    memset(k, 0, sizeof(*k));
    k->frame = no;
    k->abs = abs;
    k->len = (uint32_t)h->len;
    k->pn_offset = (uint32_t)h->pn_offset;
    k->hdr_len = (uint32_t)(pl - plain);
    k->pn = pn;
    k->plain = plain;
    k->mk = q->mkeys[s];
    mq_frames fc = {k, plain, 0};
    pqt_quic_frame_sink sink = {quic_on_crypto, NULL, &fc};
    if (pqt_quic_frames(pl, pll, &sink, NULL) != 0 || fc.too_many || (q->released && k->n_cf > 0)) {
        free(plain);
        return -1;
    }
    /* the header as it will be sent: connection IDs pseudonymised, the
     * token keyed */
    uint8_t *arena = at(c, abs);
    quic_long_cids(c->m, plain, h);
    quic_long_cids(c->m, arena, h); /* the arena copy too (the zeroed fallback) */
    if (h->token_len > 0) {
        size_t t = (size_t)(h->token - arena);
        pqt_mask_bytes(c->m, "quic-token", plain + t, h->token_len);
        memcpy(arena + t, plain + t, h->token_len);
    }
    for (uint32_t j = 0; j < k->n_cf; j++) {
        unsigned bits = pqt_quic_crypto_add(&q->cr[s], &c->qbudget, QM_CRYPTO_LIMIT, k->cf[j].off,
                                            plain + k->cf[j].at, k->cf[j].n);
        if (bits & (PQT_QUIC_C_BUDGET | PQT_QUIC_C_RANGES)) {
            q->broken[s] = 1;
        }
    }
    if (k->need > QM_CRYPTO_LIMIT) {
        q->broken[s] = 1;
    }
    mask_frame *f = frame_at(c, no);
    f->pending++;
    f->holder = d;
    q->n_pk[s]++;
    quic_progress(c, q, s);
    return 0;
}

/* The RFC 9001 §5.8 Retry integrity tag over the pseudonymised packet. */
static int quic_retry_tag(uint32_t version, const uint8_t *odcid, size_t odcid_len, uint8_t *pkt,
                          size_t len)
{
    static const uint8_t k1[16] = {0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
                                   0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e};
    static const uint8_t n1[12] = {0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63,
                                   0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb};
    static const uint8_t k2[16] = {0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
                                   0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92};
    static const uint8_t n2[12] = {0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c,
                                   0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a};
    if (len < PQT_QUIC_TAG || (version != PQT_QUIC_V1 && version != PQT_QUIC_V2)) {
        return -1;
    }
    int ok = 0, l = 0;
    uint8_t ol = (uint8_t)odcid_len;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    if (x != NULL &&
        EVP_EncryptInit_ex(x, EVP_aes_128_gcm(), NULL, version == PQT_QUIC_V1 ? k1 : k2,
                           version == PQT_QUIC_V1 ? n1 : n2) == 1 &&
        EVP_EncryptUpdate(x, NULL, &l, &ol, 1) == 1 &&
        (odcid_len == 0 || EVP_EncryptUpdate(x, NULL, &l, odcid, (int)odcid_len) == 1) &&
        EVP_EncryptUpdate(x, NULL, &l, pkt, (int)(len - PQT_QUIC_TAG)) == 1 &&
        EVP_EncryptFinal_ex(x, pkt + len, &l) == 1 &&
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, PQT_QUIC_TAG, pkt + len - PQT_QUIC_TAG) ==
            1) {
        ok = 1;
    }
    EVP_CIPHER_CTX_free(x);
    return ok ? 0 : -1;
}

/* A datagram's packets (coalesced), payload at abs, n bytes; fl may be a
 * new flow (then the first packet must be an Initial that opens). */
static void quic_datagram(mcap *c, mask_flow *fl, int fwd, uint64_t no, uint64_t abs, size_t n)
{
    pqt_mask *m = c->m;
    int s = fwd ? 0 : 1;
    mask_dir *d = &fl->dir[s];
    mask_quic *q = fl->dir[0].quic;
    uint64_t end = abs + n;
    int long_seen = 0;
    while (abs < end) {
        uint8_t *p = at(c, abs);
        size_t left = (size_t)(end - abs);
        pqt_quic_header h;
        if (pqt_quic_parse_header(p, left, &h) != 0) {
            break;
        }
        int done = 0;
        switch (h.type) {
        case PQT_QUIC_PKT_INITIAL: {
            int is_new = q == NULL;
            if (q != NULL && s == q->client &&
                !(h.dcid_len == q->odcid_len && memcmp(h.dcid, q->odcid, h.dcid_len) == 0) &&
                !(h.dcid_len == q->kcid_len && memcmp(h.dcid, q->kcid, h.dcid_len) == 0) &&
                !(q->has_cid[1 - s] && h.dcid_len == q->cid_len[1 - s] &&
                  memcmp(h.dcid, q->cid[1 - s], h.dcid_len) == 0)) {
                is_new = 1; /* a new connection on the same addresses and ports */
            }
            if (is_new) {
                if (!pqt_quic_version_known(h.version)) {
                    break;
                }
                if (q == NULL) {
                    q = calloc(1, sizeof(*q));
                    if (q == NULL) {
                        break;
                    }
                    fl->dir[0].quic = fl->dir[1].quic = q;
                } else {
                    quic_force(c, q);
                    for (int i = 0; i < 2; i++) {
                        pqt_quic_crypto_free(&q->cr[i], &c->qbudget);
                    }
                    memset(q, 0, sizeof(*q));
                }
                q->version = h.version;
                q->client = (uint8_t)s;
                q->largest[0] = q->largest[1] = -1;
                q->odcid_len = h.dcid_len;
                memcpy(q->odcid, h.dcid, h.dcid_len);
                if (quic_keys(c, q, h.dcid, h.dcid_len) != 0) {
                    quic_free(c, q);
                    q = fl->dir[0].quic = fl->dir[1].quic = NULL;
                    break;
                }
            }
            if (quic_initial(c, d, q, s, no, abs, &h) != 0) {
                m->st.quic_zeroed++; /* with the rest of its datagram */
                if (is_new && q->n_pk[0] + q->n_pk[1] == 0 && q->masked[0] + q->masked[1] == 0) {
                    /* not a QUIC connection we can follow: no state kept */
                    quic_free(c, q);
                    q = fl->dir[0].quic = fl->dir[1].quic = NULL;
                }
                break;
            }
            if (!q->has_cid[s] || s != q->client) {
                q->has_cid[s] = 1;
                q->cid_len[s] = h.scid_len;
                memcpy(q->cid[s], h.scid, h.scid_len);
            }
            done = 1;
            break;
        }
        case PQT_QUIC_PKT_0RTT:
        case PQT_QUIC_PKT_HANDSHAKE:
            if (q == NULL) {
                break;
            }
            if (h.type == PQT_QUIC_PKT_HANDSHAKE && s == q->client) {
                quic_release(c, q);
            }
            if (!q->has_cid[s]) {
                q->has_cid[s] = 1;
                q->cid_len[s] = h.scid_len;
                memcpy(q->cid[s], h.scid, h.scid_len);
            }
            quic_long_cids(m, p, &h);
            memset(p + h.pn_offset, 0, h.len - h.pn_offset);
            done = 1;
            break;
        case PQT_QUIC_PKT_RETRY:
            if (q == NULL || s == q->client || h.len < 7u + h.dcid_len + h.scid_len + 16u) {
                break;
            }
            quic_long_cids(m, p, &h);
            {
                size_t tok = 7u + h.dcid_len + h.scid_len;
                pqt_mask_bytes(m, "quic-token", p + tok, h.len - tok - PQT_QUIC_TAG);
                uint8_t ps[PQT_QUIC_MAX_CID];
                memcpy(ps, q->kcid, q->kcid_len);
                quic_cid(m, ps, q->kcid_len);
                if (quic_retry_tag(h.version, ps, q->kcid_len, p, h.len) != 0) {
                    memset(p + tok, 0, h.len - tok);
                }
            }
            if (h.version == q->version) {
                /* the client's next Initials are protected with keys from
                 * the Retry's Source Connection ID */
                (void)quic_keys(c, q, h.scid, h.scid_len);
            }
            done = 1;
            break;
        case PQT_QUIC_PKT_VN:
            if (q == NULL) {
                break;
            }
            quic_long_cids(m, p, &h);
            done = 1;
            break;
        case PQT_QUIC_PKT_SHORT:
            if (q != NULL && q->has_cid[1 - s] && left > 1u + q->cid_len[1 - s] &&
                memcmp(p + 1, q->cid[1 - s], q->cid_len[1 - s]) == 0) {
                if (s == q->client && q->cid_len[1 - s] > 0) {
                    /* a 1-RTT packet to the server's connection ID (not
                     * bytes after the last coalesced packet) */
                    quic_release(c, q);
                }
                quic_cid(m, p + 1, q->cid_len[1 - s]);
                memset(p + 1 + q->cid_len[1 - s], 0, left - 1 - q->cid_len[1 - s]);
            } else {
                memset(p + 1, 0, left - 1);
            }
            done = 1;
            break;
        default:
            break;
        }
        if (!done) {
            break;
        }
        long_seen |= h.type != PQT_QUIC_PKT_SHORT;
        abs += h.len;
    }
    if (long_seen) {
        /* --payload drop: a datagram with long-header packets is the
         * handshake (Initials sealed again, the rest zeroed or
         * pseudonyms): kept whole, like TLS records, since the observer
         * reads a client's first datagram only at its full 1200 bytes */
        keep_upto(c, frame_at(c, no), end);
    }
    if (abs < end) {
        memset(at(c, abs), 0, (size_t)(end - abs)); /* what did not parse */
    }
}

/* UDP datagram: QUIC when it belongs to a followed connection or starts
 * one with an Initial that opens; anything else zeroed. */
static void udp_datagram(mcap *c, uint64_t no, int ipver, const uint8_t *src, const uint8_t *dst,
                         const uint8_t *udp, uint64_t payload_abs, size_t plen)
{
    uint8_t *p = at(c, payload_abs);
    if (plen == 0) {
        return;
    }
    if (!(p[0] & 0xc0) || (c->qop == NULL && pqt_quic_opener_new(&c->qop) != 0)) {
        memset(p, 0, plen); /* not QUIC (a long header or the fixed bit): zeroed */
        return;
    }
    int create = 0;
    if (p[0] & 0x80) {
        pqt_quic_header h;
        create = pqt_quic_parse_header(p, plen, &h) == 0 && h.type == PQT_QUIC_PKT_INITIAL &&
                 pqt_quic_version_known(h.version);
    }
    uint8_t key[37];
    size_t alen = ipver == 4 ? 4 : 16;
    uint16_t sport = (uint16_t)(udp[0] << 8 | udp[1]), dport = (uint16_t)(udp[2] << 8 | udp[3]);
    int cmp = memcmp(src, dst, alen);
    int forward = cmp < 0 || (cmp == 0 && sport <= dport);
    key[0] = (uint8_t)(ipver | 0x10); /* UDP flows apart from TCP ones */
    memcpy(key + 1, forward ? src : dst, alen);
    memcpy(key + 1 + alen, forward ? dst : src, alen);
    uint16_t p1 = forward ? sport : dport, p2 = forward ? dport : sport;
    key[1 + 2 * alen] = (uint8_t)(p1 >> 8);
    key[2 + 2 * alen] = (uint8_t)p1;
    key[3 + 2 * alen] = (uint8_t)(p2 >> 8);
    key[4 + 2 * alen] = (uint8_t)p2;
    int created;
    mask_flow *fl = flow_get(c, key, 5 + 2 * alen, &created, create);
    if (fl == NULL || (fl->dir[0].quic == NULL && !create)) {
        memset(p, 0, plen);
        return;
    }
    quic_datagram(c, fl, forward, no, payload_abs, plen);
}

/* ---- frames ---- */

/* Payload of UDP, ICMP and other non-TCP traffic: zeroed in every mode
 * (DNS, QUIC and quoted packets are not parsed yet; zeros keep dissectors
 * from reading keyed bytes as malformed messages). */
static void mask_payload_opaque(mcap *c, mask_frame *f, uint8_t *p, size_t n, uint64_t id)
{
    (void)c;
    (void)f;
    (void)id;
    memset(p, 0, n);
}

/* TCP segment: flow lookup on the original addresses, then the stream. */
static void tcp_segment(mcap *c, uint64_t no, int ipver, const uint8_t *src, const uint8_t *dst,
                        const uint8_t *tcp, uint64_t payload_abs, size_t plen)
{
    uint8_t key[37];
    size_t alen = ipver == 4 ? 4 : 16;
    uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]), dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
    uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
    uint8_t flags = tcp[13];
    int cmp = memcmp(src, dst, alen);
    int forward = cmp < 0 || (cmp == 0 && sport <= dport);
    key[0] = (uint8_t)ipver;
    memcpy(key + 1, forward ? src : dst, alen);
    memcpy(key + 1 + alen, forward ? dst : src, alen);
    uint16_t p1 = forward ? sport : dport, p2 = forward ? dport : sport;
    key[1 + 2 * alen] = (uint8_t)(p1 >> 8);
    key[2 + 2 * alen] = (uint8_t)p1;
    key[3 + 2 * alen] = (uint8_t)(p2 >> 8);
    key[4 + 2 * alen] = (uint8_t)p2;
    int created;
    mask_flow *fl = flow_get(c, key, 5 + 2 * alen, &created, 1);
    if (fl == NULL) {
        mask_payload_opaque(c, frame_at(c, no), at(c, payload_abs), plen, no);
        return;
    }
    mask_dir *d = &fl->dir[forward ? 0 : 1], *peer = &fl->dir[forward ? 1 : 0];
    if (flags & PQT_TCP_SYN) {
        if (d->anchored && d->next_seq != seq + 1 && d->off > 0) {
            /* the 4-tuple is used again: a new connection */
            force_dir(c, d);
            uint64_t id = d->ks_id + 0x51;
            memset(d, 0, sizeof(*d));
            d->ks_id = id & ~(1ull << 63);
        }
        d->anchored = 1;
        d->next_seq = seq + 1;
        d->is_client = !(flags & PQT_TCP_ACK);
        seq++; /* TCP Fast Open data follows the SYN's sequence number */
    } else if (plen > 0 && d->anchored && d->off == 0 && d->n_ahead == 0 && seq != d->next_seq &&
               peer->ack_valid && peer->last_ack == seq) {
        /* Nothing came from this side yet and the peer acknowledged this
         * start: trust it over a stale ISN (as the observer's reassembly
         * does; a SYN-ACK from another path, tcp-fastopen-10-syn-data-ignore) */
        d->next_seq = seq;
    }
    if (flags & PQT_TCP_ACK) {
        d->ack_valid = 1;
        d->last_ack =
            (uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 | (uint32_t)tcp[10] << 8 | tcp[11];
    }
    dir_segment(c, d, no, payload_abs, seq, plen);
    /* A connection that ended frees its state: memory stays flat in the
     * capture's length. Bytes after that (late retransmissions) start a
     * new stream state, which masks what it cannot parse. */
    if (flags & PQT_TCP_FIN) {
        d->fin = 1;
    }
    if ((flags & PQT_TCP_RST) || (fl->dir[0].fin && fl->dir[1].fin)) {
        flow_free(c, fl);
    }
}

/* IP packet at fr+off (caplen bytes captured in the frame). */
static void mask_ip(mcap *c, uint64_t no, mask_frame *f, uint8_t *fr, size_t off, size_t caplen)
{
    pqt_mask *m = c->m;
    uint8_t src[16], dst[16];
    size_t from = caplen;
    if (caplen < off + 1) {
        return;
    }
    uint8_t *ip = fr + off;
    size_t left = caplen - off;
    unsigned v = ip[0] >> 4;
    size_t l4off, l4len, avail;
    uint8_t proto;
    int frag = 0;
    if (v == 4) {
        if (left < 20) {
            pqt_mask_bytes(m, "short-ip", ip, left);
            return;
        }
        size_t ihl = (size_t)(ip[0] & 15) * 4;
        size_t tot = (size_t)ip[2] << 8 | ip[3];
        if (tot == 0) {
            /* TCP segmentation offload: the length is left 0 in captures
             * taken on the sending host; the frame is the packet */
            tot = left;
        }
        memcpy(src, ip + 12, 4);
        memcpy(dst, ip + 16, 4);
        pqt_mask_ipv4(m, ip + 12, ip + 12);
        pqt_mask_ipv4(m, ip + 16, ip + 16);
        if (ihl < 20 || left < ihl) {
            from = off + 20; /* nothing after a broken header is read: zeroed */
            goto rest;
        }
        if (ihl > 20) {
            /* options: record route and source routes carry addresses */
            pqt_reader r = pqt_reader_make(ip + 20, ihl - 20);
            while (pqt_reader_left(&r) > 0) {
                uint8_t t, l;
                if (pqt_reader_u8(&r, &t) != 0 || t == 0) {
                    break;
                }
                if (t == 1) {
                    continue;
                }
                const uint8_t *body;
                if (pqt_reader_u8(&r, &l) != 0 || l < 2 ||
                    pqt_reader_bytes(&r, l - 2u, &body) != 0) {
                    break;
                }
                uint8_t *b = (uint8_t *)(uintptr_t)body;
                if ((t == 7 || t == 131 || t == 137) && l >= 3) {
                    for (size_t i = 1; i + 4 <= (size_t)l - 2; i += 4) {
                        pqt_mask_ipv4(m, b + i, b + i);
                    }
                } else if (t == 68 && l > 4) {
                    pqt_mask_bytes(m, "ip-ts", b + 2, l - 4u);
                }
            }
        }
        ip[10] = ip[11] = 0;
        store_sum(ip + 10, fold(sum_bytes(ip, ihl, 0)));
        proto = ip[9];
        frag = ((ip[6] & 0x3f) | ip[7]) != 0;
        l4off = off + ihl;
        l4len = tot >= ihl ? tot - ihl : 0;
        f->l3 = (uint16_t)off;
        f->ipver = 4;
        if ((ip[6] & 0x1f) != 0 || ip[7] != 0) {
            /* a later fragment: no L4 header here */
            avail = caplen > l4off ? caplen - l4off : 0;
            mask_payload_opaque(c, f, fr + l4off, avail, no);
            f->keep = (uint32_t)l4off;
            return;
        }
    } else if (v == 6) {
        if (left < 40) {
            pqt_mask_bytes(m, "short-ip", ip, left);
            return;
        }
        memcpy(src, ip + 8, 16);
        memcpy(dst, ip + 24, 16);
        pqt_mask_ipv6(m, ip + 8, ip + 8);
        pqt_mask_ipv6(m, ip + 24, ip + 24);
        size_t plen = (size_t)ip[4] << 8 | ip[5];
        if (plen == 0) {
            plen = left - 40; /* offload, or a jumbogram: the frame is the packet */
        }
        proto = ip[6];
        l4off = off + 40;
        l4len = plen;
        f->l3 = (uint16_t)off;
        f->ipver = 6;
        /* extension headers: hop-by-hop, routing, fragment, destination */
        for (int i = 0; i < 8; i++) {
            if (proto != 0 && proto != 43 && proto != 44 && proto != 60) {
                break;
            }
            if (caplen < l4off + 8) {
                from = l4off;
                goto rest;
            }
            uint8_t *e = fr + l4off;
            size_t elen = proto == 44 ? 8 : ((size_t)e[1] + 1) * 8;
            if (proto == 44 && (((e[2] << 8 | e[3]) & 0xfff8) != 0 || (e[3] & 1) != 0)) {
                frag = 1;
            }
            if (proto == 43 && caplen >= l4off + elen) {
                for (size_t a = 8; a + 16 <= elen; a += 16) {
                    pqt_mask_ipv6(m, e + a, e + a);
                }
            }
            proto = e[0];
            l4off += elen;
            if (l4len < elen) {
                from = l4off;
                goto rest;
            }
            l4len -= elen;
        }
    } else {
        pqt_mask_bytes(m, "not-ip", ip, left);
        return;
    }
    if (l4off > caplen) {
        return;
    }
    avail = caplen - l4off;
    f->proto = proto;
    f->keep = (uint32_t)l4off;
    f->l4len = (uint32_t)l4len;
    f->l4 = (uint16_t)l4off;
    f->csum = !frag && avail >= l4len && (proto == 6 || proto == 17 || proto == 1 || proto == 58);
    uint8_t *l4 = fr + l4off;
    size_t l4cap = avail < l4len ? avail : l4len;
    if (proto == 6 && l4cap >= 20) {
        size_t doff = (size_t)(l4[12] >> 4) * 4;
        if (doff < 20 || doff > l4cap) {
            f->csum = 0;
            from = l4off + 20;
            goto rest;
        }
        keep_upto(c, f, f->data + l4off + doff);
        m->st.tcp_frames++;
        if (frag) {
            mask_payload_opaque(c, f, l4 + doff, l4cap - doff, no);
            return;
        }
        tcp_segment(c, no, (int)v, src, dst, l4, f->data + l4off + doff, l4cap - doff);
    } else if (proto == 17 && l4cap >= 8) {
        keep_upto(c, f, f->data + l4off + 8);
        if (l4[6] == 0 && l4[7] == 0 && v == 4) {
            f->csum = 0; /* no checksum sent: none written */
        }
        if (frag) {
            mask_payload_opaque(c, f, l4 + 8, l4cap - 8, no);
        } else {
            udp_datagram(c, no, (int)v, src, dst, l4, f->data + l4off + 8, l4cap - 8);
        }
    } else if ((proto == 1 || proto == 58) && l4cap >= 8) {
        /* ICMP: type, code, checksum, 4 bytes; the rest (quoted packets,
         * neighbour discovery addresses) keyed */
        keep_upto(c, f, f->data + l4off + 8);
        mask_payload_opaque(c, f, l4 + 8, l4cap - 8, no);
    } else {
        f->csum = 0;
        mask_payload_opaque(c, f, l4, l4cap, no);
    }
    /* bytes after the IP packet (link padding, trailers): zeroed */
    from = l4off + l4cap;
rest:
    if (from < caplen) {
        memset(fr + from, 0, caplen - from);
    }
}

static void mask_frame_bytes(mcap *c, uint64_t no, mask_frame *f, int linktype)
{
    pqt_mask *m = c->m;
    uint8_t *fr = at(c, f->data);
    size_t caplen = f->caplen;
    size_t off = 0;
    uint16_t etype = 0;
    m->st.frames++;
    switch (linktype) {
    case PQT_LINK_ETHERNET:
        if (caplen < 14) {
            pqt_mask_bytes(m, "short-frame", fr, caplen);
            return;
        }
        pqt_mask_mac(m, fr, fr);
        pqt_mask_mac(m, fr + 6, fr + 6);
        etype = (uint16_t)(fr[12] << 8 | fr[13]);
        off = 14;
        for (int i = 0; i < 2 && (etype == 0x8100 || etype == 0x88a8) && caplen >= off + 4; i++) {
            etype = (uint16_t)(fr[off + 2] << 8 | fr[off + 3]);
            off += 4;
        }
        break;
    case PQT_LINK_LINUX_SLL:
        if (caplen < 16) {
            pqt_mask_bytes(m, "short-frame", fr, caplen);
            return;
        }
        if (fr[4] == 0 && fr[5] == 6) {
            pqt_mask_mac(m, fr + 6, fr + 6);
        } else {
            pqt_mask_bytes(m, "sll-addr", fr + 6, 8);
        }
        etype = (uint16_t)(fr[14] << 8 | fr[15]);
        off = 16;
        break;
    case PQT_LINK_LINUX_SLL2:
        if (caplen < 20) {
            pqt_mask_bytes(m, "short-frame", fr, caplen);
            return;
        }
        if (fr[11] == 6) {
            pqt_mask_mac(m, fr + 12, fr + 12);
        } else {
            pqt_mask_bytes(m, "sll-addr", fr + 12, 8);
        }
        etype = (uint16_t)(fr[0] << 8 | fr[1]);
        off = 20;
        break;
    case PQT_LINK_RAW:
    case 12:
    case 14:
    case PQT_LINK_IPV4:
    case PQT_LINK_IPV6:
        mask_ip(c, no, f, fr, 0, caplen);
        return;
    case PQT_LINK_NULL:
    case PQT_LINK_LOOP:
        if (caplen < 4) {
            return;
        }
        mask_ip(c, no, f, fr, 4, caplen);
        return;
    default:
        m->st.unsupported_frames++;
        pqt_mask_bytes(m, "link", fr, caplen);
        return;
    }
    if (etype == 0x0800 || etype == 0x86dd) {
        mask_ip(c, no, f, fr, off, caplen);
    } else if (etype == 0x0806 && caplen >= off + 28 && fr[off + 4] == 6 && fr[off + 5] == 4) {
        uint8_t *a = fr + off; /* ARP: sender MAC, IP, target MAC, IP */
        pqt_mask_mac(m, a + 8, a + 8);
        pqt_mask_ipv4(m, a + 14, a + 14);
        pqt_mask_mac(m, a + 18, a + 18);
        pqt_mask_ipv4(m, a + 24, a + 24);
    } else if (caplen > off) {
        mask_payload_opaque(c, f, fr + off, caplen - off, no);
        f->keep = (uint32_t)off;
    }
}

/* A frame is in place in the arena: mask it, finalise it unless held. */
static void do_frame(mcap *c, uint64_t no, int linktype)
{
    mask_frame *f = frame_at(c, no);
    f->pending = 1;      /* while it is being masked */
    f->keep = f->caplen; /* --payload drop: lowered to what is kept */
    mask_frame_bytes(c, no, f, linktype);
    release(c, no);
}

static uint64_t round_ts(uint64_t v, uint64_t unit)
{
    return unit > 1 ? v - v % unit : v;
}

/* ---- pcap ---- */

static int run_pcap(mcap *c)
{
    pqt_mask *m = c->m;
    uint8_t *h = at(c, c->parsed);
    uint32_t magic = get32(h, 0);
    c->swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
    c->nsec = magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;
    if (get16(h + 4, c->swap) != 2) {
        return fail(c, PQT_ERR_SYNTAX, "unsupported pcap version %u.%u", get16(h + 4, c->swap),
                    get16(h + 6, c->swap));
    }
    c->linktype = (int)(get32(h + 20, c->swap) & 0x0fffffff);
    uint32_t snaplen = get32(h + 16, c->swap);
    /* the file header: written as it is */
    uint64_t no;
    mask_frame *f = new_frame(c, &no);
    if (f == NULL) {
        return c->err;
    }
    f->start = c->parsed;
    f->len = 24;
    c->parsed += 24;
    uint64_t unit = m->opts.round_ts_us * (c->nsec ? 1000 : 1);
    for (;;) {
        int r = need(c, 16);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            if (c->end > c->parsed) {
                return fail(c, PQT_ERR_TRUNCATED,
                            "truncated pcap: the file ends inside a record header (%llu bytes "
                            "left); what came before is masked",
                            (unsigned long long)(c->end - c->parsed));
            }
            return 0;
        }
        h = at(c, c->parsed);
        uint32_t caplen = get32(h + 8, c->swap);
        if (caplen > MAX_RECORD || (snaplen > 0 && caplen > snaplen && caplen > 262144)) {
            return fail(c, PQT_ERR_SYNTAX,
                        "corrupt pcap: record at byte %llu claims %u captured bytes",
                        (unsigned long long)c->parsed, caplen);
        }
        r = need(c, 16 + (size_t)caplen);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            return fail(c, PQT_ERR_TRUNCATED,
                        "truncated pcap: the last record (%u bytes) is cut short; what came "
                        "before is masked",
                        caplen);
        }
        h = at(c, c->parsed);
        note_time(c, get32(h, c->swap));
        if (unit > 1) {
            uint64_t ts = (uint64_t)get32(h, c->swap) * (c->nsec ? 1000000000ull : 1000000ull) +
                          get32(h + 4, c->swap);
            ts = round_ts(ts, unit);
            uint64_t per = c->nsec ? 1000000000ull : 1000000ull;
            put32(h, (uint32_t)(ts / per), c->swap);
            put32(h + 4, (uint32_t)(ts % per), c->swap);
        }
        f = new_frame(c, &no);
        if (f == NULL) {
            return c->err;
        }
        f->kind = K_PCAP;
        f->start = c->parsed;
        f->data = c->parsed + 16;
        f->caplen = caplen;
        f->swap = (uint8_t)c->swap;
        f->len = 16 + caplen;
        c->parsed += 16 + (uint64_t)caplen;
        m->st.bytes_in += 16 + (uint64_t)caplen;
        do_frame(c, no, c->linktype);
        if (c->end - c->base > c->m->opts.max_hold_bytes + 2 * READ_CHUNK) {
            mask_frame *hf = frame_at(c, c->head);
            if (hf->pending > 0 && hf->holder != NULL) {
                force_dir(c, hf->holder);
            }
        }
        if ((c->tail & 255) == 0 && flush(c, 0) != 0) {
            return c->err;
        }
    }
}

/* ---- pcapng ---- */

/* Copy the options of a block (at opts, n bytes) keeping only those keep()
 * says, writing in place from dst; returns the bytes written. */
static size_t scrub_options(mcap *c, uint8_t *opts, size_t n, int (*keep)(uint16_t code))
{
    size_t in = 0, out = 0;
    int kept_any = 0;
    while (in + 4 <= n) {
        uint16_t code = get16(opts + in, c->swap), len = get16(opts + in + 2, c->swap);
        size_t total = 4 + (((size_t)len + 3) & ~(size_t)3);
        if (code == 0 || in + total > n) {
            break;
        }
        if (keep(code)) {
            memmove(opts + out, opts + in, total);
            out += total;
            kept_any = 1;
        } else {
            c->m->st.options_removed++;
        }
        in += total;
    }
    if (kept_any) {
        put16(opts + out, 0, c->swap);
        put16(opts + out + 2, 0, c->swap);
        out += 4;
    }
    return out;
}

/* SHB: every option (comment, hardware, OS, application) names something. */
static int keep_none(uint16_t code)
{
    (void)code;
    return 0;
}

/* IDB: if_tsresol (9), if_fcslen (13), if_tsoffset (14) say how to read the
 * packets; names, descriptions, addresses, filters, OS, hardware go. */
static int keep_idb(uint16_t code)
{
    return code == 9 || code == 13 || code == 14;
}

/* ISB: the counters (2..8); comments go. */
static int keep_isb(uint16_t code)
{
    return code >= 2 && code <= 8;
}

static int run_pcapng(mcap *c)
{
    pqt_mask *m = c->m;
    for (;;) {
        int r = need(c, 12);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            if (c->end > c->parsed) {
                return fail(c, PQT_ERR_TRUNCATED,
                            "truncated pcapng: the file ends inside a block header; what came "
                            "before is masked");
            }
            return 0;
        }
        uint8_t *b = at(c, c->parsed);
        uint32_t type = get32(b, 0);
        if (type == 0x0a0d0d0a) {
            uint32_t bom = get32(b + 8, 0);
            if (bom == 0x1a2b3c4d) {
                c->swap = 0;
            } else if (bom == 0x4d3c2b1a) {
                c->swap = 1;
            } else {
                return fail(c, PQT_ERR_SYNTAX, "corrupt pcapng: bad byte-order magic at byte %llu",
                            (unsigned long long)c->parsed);
            }
            c->n_if = 0;
        } else {
            type = get32(b, c->swap);
        }
        uint32_t blen = get32(b + 4, c->swap);
        if (blen < 12 || blen % 4 != 0 || blen > MAX_RECORD) {
            return fail(c, PQT_ERR_SYNTAX,
                        "corrupt pcapng: block of type 0x%x at byte %llu claims %u bytes (at "
                        "most %u, a multiple of 4); what came before is masked",
                        type, (unsigned long long)c->parsed, blen, MAX_RECORD);
        }
        r = need(c, blen);
        if (r < 0) {
            return r;
        }
        if (r == 0) {
            return fail(c, PQT_ERR_TRUNCATED,
                        "truncated pcapng: the last block (%u bytes) is cut short; what came "
                        "before is masked",
                        blen);
        }
        b = at(c, c->parsed);
        if (get32(b + blen - 4, c->swap) != blen) {
            return fail(c, PQT_ERR_SYNTAX,
                        "corrupt pcapng: block at byte %llu has different lengths at its start "
                        "and end",
                        (unsigned long long)c->parsed);
        }
        uint64_t no;
        mask_frame *f = NULL;
        uint64_t start = c->parsed;
        c->parsed += blen;
        m->st.bytes_in += blen;
        size_t fixed = 0;
        int (*keep)(uint16_t) = NULL;
        switch (type) {
        case 0x0a0d0d0a: /* SHB */
            fixed = 24;
            keep = keep_none;
            break;
        case 1: /* IDB */
            fixed = 16;
            keep = keep_idb;
            if (blen < 20) {
                return fail(c, PQT_ERR_SYNTAX, "corrupt pcapng: short interface block");
            }
            if (c->n_if < 64) {
                c->linktypes[c->n_if] = get16(b + 8, c->swap);
                c->tsres[c->n_if] = 6;
                /* if_tsresol, for rounding timestamps */
                size_t o = 16;
                while (o + 4 <= blen - 4) {
                    uint16_t code = get16(b + o, c->swap), len = get16(b + o + 2, c->swap);
                    if (code == 0 || o + 4 + len > blen - 4) {
                        break;
                    }
                    if (code == 9 && len >= 1) {
                        c->tsres[c->n_if] = b[o + 4];
                    }
                    o += 4 + (((size_t)len + 3) & ~(size_t)3);
                }
            }
            c->n_if++;
            break;
        case 5: /* ISB */
            fixed = 20;
            keep = keep_isb;
            break;
        case 6:   /* EPB */
        case 3:   /* SPB */
        case 2: { /* obsolete Packet Block: the EPB layout with 16-bit ids */
            int spb = type == 3;
            size_t hdr = spb ? 12 : 28;
            if (blen < hdr + 4) {
                return fail(c, PQT_ERR_SYNTAX, "corrupt pcapng: short packet block");
            }
            uint32_t iface = spb ? 0 : (type == 2 ? get16(b + 8, c->swap) : get32(b + 8, c->swap));
            uint32_t caplen = spb ? blen - 16 : get32(b + 20, c->swap);
            if (spb) {
                uint32_t orig = get32(b + 8, c->swap);
                if (orig < caplen) {
                    caplen = orig;
                }
            }
            if (caplen > blen - hdr - 4 || iface >= c->n_if) {
                return fail(c, PQT_ERR_SYNTAX,
                            "corrupt pcapng: packet block at byte %llu (%u captured bytes, "
                            "interface %u of %u)",
                            (unsigned long long)start, caplen, iface, c->n_if);
            }
            f = new_frame(c, &no);
            if (f == NULL) {
                return c->err;
            }
            f->start = start;
            f->data = start + hdr;
            f->caplen = caplen;
            f->swap = (uint8_t)c->swap;
            f->len = blen;
            if (spb) {
                f->kind = K_SPB;
            } else {
                f->kind = K_EPB;
                if (type == 2) {
                    /* rewrite as an EPB: same layout but 32-bit id and no drops */
                    put32(b, 6, c->swap);
                    put32(b + 8, iface, c->swap);
                }
                /* options after the padded data: keep only epb_flags */
                size_t o = hdr + (((size_t)caplen + 3) & ~(size_t)3);
                while (o + 4 <= blen - 4) {
                    uint16_t code = get16(b + o, c->swap), len = get16(b + o + 2, c->swap);
                    if (code == 0 || o + 4 + len > blen - 4) {
                        break;
                    }
                    if (code == 2 && len == 4) {
                        f->has_flags = 1;
                        f->flags_opt = get32(b + o + 4, c->swap);
                    } else {
                        m->st.options_removed++;
                    }
                    o += 4 + (((size_t)len + 3) & ~(size_t)3);
                }
                uint8_t res = iface < 64 ? c->tsres[iface] : 6;
                if (res == 6 || res == 9) {
                    uint64_t t = (uint64_t)get32(b + 12, c->swap) << 32 | get32(b + 16, c->swap);
                    note_time(c, t / (res == 9 ? 1000000000ull : 1000000ull));
                }
                if (m->opts.round_ts_us > 0 && (res == 6 || res == 9)) {
                    uint64_t ts = (uint64_t)get32(b + 12, c->swap) << 32 | get32(b + 16, c->swap);
                    ts = round_ts(ts, m->opts.round_ts_us * (res == 9 ? 1000 : 1));
                    put32(b + 12, (uint32_t)(ts >> 32), c->swap);
                    put32(b + 16, (uint32_t)ts, c->swap);
                }
            }
            do_frame(c, no, (int)(iface < 64 ? c->linktypes[iface] : 1));
            break;
        }
        default: /* NRB (4), DSB (10), custom, journal, unknown: removed */
            m->st.blocks_removed++;
            continue;
        }
        if (keep != NULL) {
            if (blen < fixed + 4) {
                return fail(c, PQT_ERR_SYNTAX, "corrupt pcapng: short block of type 0x%x", type);
            }
            size_t w = scrub_options(c, b + fixed, blen - fixed - 4, keep);
            uint32_t nlen = (uint32_t)(fixed + w + 4);
            put32(b + 4, nlen, c->swap);
            put32(b + nlen - 4, nlen, c->swap);
            if (type == 0x0a0d0d0a) {
                /* section length: unknown after scrubbing */
                memset(b + 16, 0xff, 8);
            }
            f = new_frame(c, &no);
            if (f == NULL) {
                return c->err;
            }
            f->start = start;
            f->len = nlen;
        }
        if (c->end - c->base > c->m->opts.max_hold_bytes + 2 * READ_CHUNK) {
            mask_frame *hf = frame_at(c, c->head);
            if (hf->pending > 0 && hf->holder != NULL) {
                force_dir(c, hf->holder);
            }
        }
        if ((c->tail & 255) == 0 && flush(c, 0) != 0) {
            return c->err;
        }
    }
}

static void free_flows(mcap *c)
{
    while (c->lru_tail != NULL) {
        flow_free(c, c->lru_tail);
    }
}

int pqt_mask_capture(pqt_mask *m, int in_fd, int out_fd, pqt_mask_stats *stats, char *errbuf,
                     size_t errlen)
{
    mcap cs, *c = &cs;
    if (m == NULL || in_fd < 0 || out_fd < 0) {
        return PQT_ERR_ARG;
    }
    memset(c, 0, sizeof(*c));
    c->m = m;
    c->qbudget.limit = m->opts.max_hold_bytes;
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->errbuf = errbuf;
    c->errlen = errlen;
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = 0;
    }
    c->nbuckets = 1;
    while (c->nbuckets < m->opts.max_flows) {
        c->nbuckets *= 2;
    }
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    int ret = 0;
    if (c->buckets == NULL) {
        ret = fail(c, PQT_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    /* gzip by its magic. A file is peeked at with pread; a pipe always goes
     * through zlib, which passes data that is not gzip through unchanged. */
    uint8_t magic2[2] = {0, 0};
    off_t pos = lseek(in_fd, 0, SEEK_CUR);
    int seekable = pos >= 0 && pread(in_fd, magic2, 2, pos) == 2;
    if (!seekable || (magic2[0] == 0x1f && magic2[1] == 0x8b)) {
        int fd2 = dup(in_fd);
        c->gz = fd2 >= 0 ? gzdopen(fd2, "rb") : NULL;
        if (c->gz == NULL) {
            if (fd2 >= 0) {
                close(fd2);
            }
            ret = fail(c, PQT_ERR_NOMEM, "gzip: cannot open the stream");
            goto cleanup;
        }
        gzbuffer(c->gz, 1u << 20);
    }
    int r;
    r = need(c, 4);
    if (r < 0) {
        ret = r;
        goto cleanup;
    }
    if (r == 0) {
        ret = fail(c, PQT_ERR_TRUNCATED, "empty or too short to be a capture (%llu bytes)",
                   (unsigned long long)(c->end - c->parsed));
        goto cleanup;
    }
    uint32_t magic = get32(at(c, c->parsed), 0);
    if (magic == 0x0a0d0d0a) {
        c->pcapng = 1;
        ret = run_pcapng(c);
    } else if (magic == 0xa1b2c3d4u || magic == 0xd4c3b2a1u || magic == 0xa1b23c4du ||
               magic == 0x4d3cb2a1u) {
        r = need(c, 24);
        if (r <= 0) {
            ret = r < 0 ? r : fail(c, PQT_ERR_TRUNCATED, "truncated pcap file header");
        } else {
            ret = run_pcap(c);
        }
    } else {
        ret = fail(c, PQT_ERR_SYNTAX,
                   "not a capture: unknown magic %08x (expected pcap, pcapng or gzip)", magic);
    }
cleanup:
    /* whatever is held: units given up, then everything written */
    free_flows(c);
    pqt_quic_opener_free(c->qop);
    c->qop = NULL;
    if (c->ring != NULL) {
        int saved = c->err;
        char keep[512];
        snprintf(keep, sizeof(keep), "%s", errbuf != NULL ? errbuf : "");
        if (flush(c, 1) != 0 && ret == 0) {
            ret = c->err;
        } else if (saved != 0 && errbuf != NULL) {
            snprintf(errbuf, errlen, "%s", keep);
        }
    }
    if (c->gz != NULL) {
        gzclose(c->gz);
    }
    free(c->buckets);
    free(c->ring);
    free(c->arena);
    if (stats != NULL) {
        *stats = m->st;
    }
    return ret;
}
