/*
 * The one bounded reader and one writer for every wire and file format
 * pqtls parses or builds (TLS records and handshake messages, captures).
 *
 * Reader: a cursor over [p, end). Every getter checks the bytes are there
 * and fails with PQT_ERR_TRUNCATED instead of overrunning; on failure the
 * cursor does not move. A length-prefixed vector yields a sub-reader, and
 * pqt_reader_close() fails with PQT_ERR_TRAILING unless the sub-reader was
 * consumed exactly, so parsers read like the message's schema (the idea of
 * s2n-tls' stuffer and picotls' decode blocks).
 *
 * Writer: appends into a caller buffer; pqt_writer_open() reserves a length
 * prefix that pqt_writer_close() fills in. Errors (overflow, a vector longer
 * than its prefix allows, unbalanced open/close) are sticky and reported by
 * pqt_writer_finish(), so builders need not check every call.
 */
#ifndef PQTLS_WIRE_H
#define PQTLS_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const uint8_t *p, *end;
} pqt_reader;

static inline pqt_reader pqt_reader_make(const uint8_t *p, size_t len)
{
    /* NULL + 0 is undefined behaviour in C, so an empty reader over NULL
     * is built without the addition. */
    pqt_reader r = {p, p != NULL ? p + len : p};
    return r;
}

static inline size_t pqt_reader_left(const pqt_reader *r)
{
    return (size_t)(r->end - r->p);
}

PQT_MUST_CHECK static inline int pqt_reader_bytes(pqt_reader *r, size_t n, const uint8_t **out)
{
    if (pqt_reader_left(r) < n) {
        return PQT_ERR_TRUNCATED;
    }
    *out = r->p;
    r->p += n;
    return 0;
}

PQT_MUST_CHECK static inline int pqt_reader_skip(pqt_reader *r, size_t n)
{
    const uint8_t *unused;
    return pqt_reader_bytes(r, n, &unused);
}

PQT_MUST_CHECK static inline int pqt_reader_copy(pqt_reader *r, void *out, size_t n)
{
    const uint8_t *p;
    int ret = pqt_reader_bytes(r, n, &p);
    if (ret == 0) {
        memcpy(out, p, n);
    }
    return ret;
}

/* Big-endian unsigned integer of n (1..4) bytes. */
PQT_MUST_CHECK static inline int pqt_reader_uint(pqt_reader *r, unsigned n, uint32_t *v)
{
    const uint8_t *p;
    int ret = pqt_reader_bytes(r, n, &p);
    if (ret != 0) {
        return ret;
    }
    uint32_t x = 0;
    for (unsigned i = 0; i < n; i++) {
        x = (x << 8) | p[i];
    }
    *v = x;
    return 0;
}

PQT_MUST_CHECK static inline int pqt_reader_u8(pqt_reader *r, uint8_t *v)
{
    uint32_t x = 0;
    int ret = pqt_reader_uint(r, 1, &x);
    *v = (uint8_t)x;
    return ret;
}

PQT_MUST_CHECK static inline int pqt_reader_u16(pqt_reader *r, uint16_t *v)
{
    uint32_t x = 0;
    int ret = pqt_reader_uint(r, 2, &x);
    *v = (uint16_t)x;
    return ret;
}

PQT_MUST_CHECK static inline int pqt_reader_u24(pqt_reader *r, uint32_t *v)
{
    return pqt_reader_uint(r, 3, v);
}

PQT_MUST_CHECK static inline int pqt_reader_u32(pqt_reader *r, uint32_t *v)
{
    return pqt_reader_uint(r, 4, v);
}

/*
 * A vector with a prefix_bytes-byte (1..3) big-endian length: sub covers its
 * contents, r moves past it. The cursor does not move on failure.
 */
PQT_MUST_CHECK static inline int pqt_reader_vec(pqt_reader *r, unsigned prefix_bytes,
                                                pqt_reader *sub)
{
    pqt_reader save = *r;
    uint32_t len = 0;
    const uint8_t *p;
    int ret = pqt_reader_uint(r, prefix_bytes, &len);
    if (ret == 0) {
        ret = pqt_reader_bytes(r, len, &p);
    }
    if (ret != 0) {
        *r = save;
        return ret;
    }
    *sub = pqt_reader_make(p, len);
    return 0;
}

/* 0 if sub was consumed exactly, else PQT_ERR_TRAILING. */
PQT_MUST_CHECK static inline int pqt_reader_close(const pqt_reader *sub)
{
    return pqt_reader_left(sub) == 0 ? 0 : PQT_ERR_TRAILING;
}

#define PQT_WRITER_MAX_DEPTH 8

typedef struct {
    uint8_t *buf;
    size_t cap, len;
    int err;
    unsigned depth;
    size_t open_at[PQT_WRITER_MAX_DEPTH];    /* offset of each reserved prefix */
    unsigned open_len[PQT_WRITER_MAX_DEPTH]; /* its size in bytes */
} pqt_writer;

PQT_API void pqt_writer_init(pqt_writer *w, uint8_t *buf, size_t cap);
PQT_API void pqt_writer_bytes(pqt_writer *w, const void *data, size_t n);
/* n-byte (1..4) big-endian integer; PQT_ERR_ARG if v does not fit. */
PQT_API void pqt_writer_uint(pqt_writer *w, unsigned n, uint32_t v);
PQT_API void pqt_writer_u8(pqt_writer *w, uint8_t v);
PQT_API void pqt_writer_u16(pqt_writer *w, uint16_t v);
PQT_API void pqt_writer_zeros(pqt_writer *w, size_t n);
/* Reserve a prefix_bytes-byte length; the matching close fills it in. */
PQT_API void pqt_writer_open(pqt_writer *w, unsigned prefix_bytes);
PQT_API void pqt_writer_close(pqt_writer *w);
/* 0 and the total length, or the first error (PQT_ERR_LENGTH on overflow). */
PQT_API PQT_MUST_CHECK int pqt_writer_finish(const pqt_writer *w, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
