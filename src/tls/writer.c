/* The length-prefixing writer (include/pqtls/wire.h). */
#include "pqtls/wire.h"

void pqt_writer_init(pqt_writer *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
}

void pqt_writer_bytes(pqt_writer *w, const void *data, size_t n)
{
    if (w->err != 0) {
        return;
    }
    if (w->cap - w->len < n) {
        w->err = PQT_ERR_LENGTH;
        return;
    }
    if (n > 0) {
        memcpy(w->buf + w->len, data, n);
    }
    w->len += n;
}

void pqt_writer_uint(pqt_writer *w, unsigned n, uint32_t v)
{
    uint8_t b[4];
    if (n < 1 || n > 4 || (n < 4 && v >> (8 * n) != 0)) {
        if (w->err == 0) {
            w->err = PQT_ERR_ARG;
        }
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
    pqt_writer_bytes(w, b, n);
}

void pqt_writer_u8(pqt_writer *w, uint8_t v)
{
    pqt_writer_uint(w, 1, v);
}

void pqt_writer_u16(pqt_writer *w, uint16_t v)
{
    pqt_writer_uint(w, 2, v);
}

void pqt_writer_zeros(pqt_writer *w, size_t n)
{
    if (w->err != 0) {
        return;
    }
    if (w->cap - w->len < n) {
        w->err = PQT_ERR_LENGTH;
        return;
    }
    memset(w->buf + w->len, 0, n);
    w->len += n;
}

void pqt_writer_open(pqt_writer *w, unsigned prefix_bytes)
{
    if (w->err != 0) {
        return;
    }
    if (w->depth == PQT_WRITER_MAX_DEPTH || prefix_bytes < 1 || prefix_bytes > 3) {
        w->err = PQT_ERR_ARG;
        return;
    }
    w->open_at[w->depth] = w->len;
    w->open_len[w->depth] = prefix_bytes;
    w->depth++;
    pqt_writer_zeros(w, prefix_bytes);
}

void pqt_writer_close(pqt_writer *w)
{
    if (w->err != 0) {
        return;
    }
    if (w->depth == 0) {
        w->err = PQT_ERR_ARG;
        return;
    }
    w->depth--;
    size_t at = w->open_at[w->depth];
    unsigned n = w->open_len[w->depth];
    size_t body = w->len - at - n;
    if (body >> (8 * n) != 0) {
        w->err = PQT_ERR_LENGTH; /* does not fit its prefix */
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        w->buf[at + i] = (uint8_t)(body >> (8 * (n - 1 - i)));
    }
}

int pqt_writer_finish(const pqt_writer *w, size_t *len)
{
    if (w->err == 0 && w->depth != 0) {
        return PQT_ERR_ARG;
    }
    if (w->err != 0) {
        return w->err;
    }
    *len = w->len;
    return 0;
}
