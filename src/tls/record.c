/*
 * TLS records and handshake message framing for every tool (see
 * pqtls/record.h): the scanner's probes and the observer's streams read
 * through the same header parser and the same handshake reassembler.
 */
#include "pqtls/record.h"

#include <string.h>

int pqt_record_header_parse(pqt_reader *r, pqt_record_header *h)
{
    pqt_reader save = *r;
    int ret = pqt_reader_u8(r, &h->type);
    if (ret == 0) {
        ret = pqt_reader_u16(r, &h->version);
    }
    if (ret == 0) {
        ret = pqt_reader_u16(r, &h->length);
    }
    /* Content types 20..24 (24: heartbeat, RFC 6520); RFC 8446 §5.2 allows
     * a ciphertext of 2^14 + 256 bytes, older versions 2^14 + 2048. */
    if (ret == 0 && (h->type < PQT_TLS_CT_CHANGE_CIPHER_SPEC || h->type > 24 ||
                     h->length > PQT_TLS_MAX_RECORD + 2048)) {
        ret = PQT_ERR_SYNTAX;
    }
    if (ret != 0) {
        *r = save; /* the cursor does not move on failure */
    }
    return ret;
}

int pqt_record_header_put(uint8_t out[PQT_TLS_RECORD_HEADER], uint8_t type, uint16_t version,
                          size_t length)
{
    if (length > 0xFFFF) {
        return PQT_ERR_LENGTH;
    }
    pqt_writer w;
    size_t n = 0;
    pqt_writer_init(&w, out, PQT_TLS_RECORD_HEADER);
    pqt_writer_u8(&w, type);
    pqt_writer_u16(&w, version);
    pqt_writer_u16(&w, (uint16_t)length);
    return pqt_writer_finish(&w, &n);
}

void pqt_record_framer_init(pqt_record_framer *f)
{
    memset(f, 0, sizeof(*f));
}

int pqt_record_framer_feed(pqt_record_framer *f, const uint8_t *p, size_t n,
                           const pqt_record_events *ev, void *ctx)
{
    if (f->failed) {
        return PQT_ERR_SYNTAX;
    }
    while (n > 0) {
        if (f->left == 0 && f->hdr_have < PQT_TLS_RECORD_HEADER) {
            size_t take = PQT_TLS_RECORD_HEADER - f->hdr_have;
            if (take > n) {
                take = n;
            }
            memcpy(f->hdr + f->hdr_have, p, take);
            f->hdr_have = (uint8_t)(f->hdr_have + take);
            p += take;
            n -= take;
            if (f->hdr_have < PQT_TLS_RECORD_HEADER) {
                return 0;
            }
            f->hdr_have = 0;
            pqt_reader r = pqt_reader_make(f->hdr, PQT_TLS_RECORD_HEADER);
            int err = pqt_record_header_parse(&r, &f->cur);
            f->records++;
            if (err != 0) {
                f->failed = 1;
                (void)ev->header(ctx, &f->cur, err);
                return err;
            }
            f->left = f->cur.length;
            if (ev->header(ctx, &f->cur, 0) != 0) {
                return PQT_RECORD_STOP;
            }
            continue;
        }
        size_t take = n < f->left ? n : f->left;
        f->left -= take;
        if (ev->body != NULL && ev->body(ctx, &f->cur, p, take, f->left) != 0) {
            return PQT_RECORD_STOP;
        }
        p += take;
        n -= take;
    }
    return 0;
}

void pqt_hs_reasm_init(pqt_hs_reasm *r)
{
    memset(r, 0, sizeof(*r));
}

int pqt_hs_reasm_pending(const pqt_hs_reasm *r)
{
    return r->hdr_have > 0;
}

uint8_t *pqt_hs_reasm_detach(pqt_hs_reasm *r, uint32_t *keep)
{
    uint8_t *buf = r->buf;
    *keep = buf != NULL ? r->keep : 0;
    r->buf = NULL;
    r->keep = 0;
    r->hdr_have = 0;
    r->begun = 0;
    return buf;
}

int pqt_hs_reasm_feed(pqt_hs_reasm *r, const uint8_t *p, size_t n, uint64_t piece, uint64_t record,
                      const pqt_hs_events *ev, void *ctx)
{
    while (n > 0) {
        if (r->hdr_have == 0) {
            r->pieces = r->records = 0;
            r->last_piece = r->last_record = 0;
        }
        /* The pieces and records this message's bytes came in, each once. */
        if (n > 0 && piece != 0 && r->last_piece != piece) {
            r->last_piece = piece;
            r->pieces++;
        }
        if (n > 0 && record != 0 && r->last_record != record) {
            r->last_record = record;
            r->records++;
        }
        if (r->hdr_have < PQT_TLS_HANDSHAKE_HEADER) {
            r->hdr[r->hdr_have++] = *p++;
            n--;
            if (r->hdr_have < PQT_TLS_HANDSHAKE_HEADER) {
                continue;
            }
        }
        if (!r->begun) {
            pqt_reader hr = pqt_reader_make(r->hdr + 1, 3);
            uint32_t len = 0;
            if (pqt_reader_u24(&hr, &len) != 0) {
                return PQT_RECORD_STOP; /* not reached: three bytes are there */
            }
            r->len = len;
            r->got = 0;
            r->buf = NULL;
            r->keep = 0;
            if (ev->begin(ctx, r->hdr[0], len, &r->buf, &r->keep) != 0) {
                r->buf = NULL;
                r->keep = 0;
                return PQT_RECORD_STOP;
            }
            if (r->buf == NULL || r->keep > len) {
                r->keep = r->buf != NULL ? len : 0;
            }
            r->begun = 1;
        }
        uint32_t want = r->len - r->got;
        uint32_t take = n < want ? (uint32_t)n : want;
        if (r->buf != NULL && r->got < r->keep) {
            uint32_t room = r->keep - r->got;
            memcpy(r->buf + r->got, p, take < room ? take : room);
        }
        r->got += take;
        p += take;
        n -= take;
        if (r->got == r->len) {
            uint8_t *buf = r->buf;
            uint32_t kept = r->keep;
            r->buf = NULL;
            r->keep = 0;
            r->hdr_have = 0;
            r->begun = 0;
            if (ev->message(ctx, r->hdr, buf, r->len, kept, r->pieces, r->records) != 0) {
                return PQT_RECORD_STOP;
            }
        }
    }
    return 0;
}
