/*
 * The TLS record layer every tool reads and writes through (RFC 8446 §5.1
 * records, §4 handshake message framing), in src/tls/record.c.
 *
 * - pqt_record_header_parse/_put: the 5-byte record header, through the
 *   bounded reader and the writer.
 * - pqt_record_framer: records out of a byte stream that arrives in any
 *   pieces (the observer's TCP streams): headers and body pieces are handed
 *   to callbacks as they complete, nothing is buffered but a partial header.
 * - pqt_hs_reasm: handshake messages out of handshake-record bodies, which
 *   may split a message anywhere, across records (RFC 8446 §5.1: "a single
 *   message MAY be fragmented across several records"). The caller decides
 *   per message how much of its body to keep and where (a scanner keeps
 *   whole messages, an observer only hellos, under a budget), so this layer
 *   never allocates.
 */
#ifndef PQTLS_RECORD_H
#define PQTLS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"
#include "pqtls/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Record content types (RFC 8446 §5.1). */
#define PQT_TLS_CT_CHANGE_CIPHER_SPEC 20
#define PQT_TLS_CT_ALERT 21
#define PQT_TLS_CT_HANDSHAKE 22
#define PQT_TLS_CT_APPLICATION_DATA 23

#define PQT_TLS_RECORD_HEADER 5
#define PQT_TLS_HANDSHAKE_HEADER 4
#define PQT_TLS_MAX_RECORD 16384 /* plaintext, RFC 8446 §5.1 */

typedef struct {
    uint8_t type;
    uint16_t version;
    uint16_t length;
} pqt_record_header;

/* Parse a 5-byte record header; PQT_ERR_SYNTAX for an unknown content type
 * or a length above 2^14 + 2048 (RFC 8446 §5.2's ciphertext limit). */
PQT_API PQT_MUST_CHECK int pqt_record_header_parse(pqt_reader *r, pqt_record_header *h);

/* Write a record header for a body of length bytes into out[5];
 * PQT_ERR_LENGTH if length does not fit the 16-bit field. */
PQT_API PQT_MUST_CHECK int pqt_record_header_put(uint8_t out[PQT_TLS_RECORD_HEADER], uint8_t type,
                                                 uint16_t version, size_t length);

/* Callbacks return 0 to go on or PQT_RECORD_STOP to stop feeding. */
#define PQT_RECORD_STOP 1

typedef struct {
    /* A complete record header (parse result err: 0, or the parse error, in
     * which case the framer stops: a record stream cannot be resynchronised). */
    int (*header)(void *ctx, const pqt_record_header *h, int err);
    /* The next n bytes of the current record's body; left bytes of it are
     * still to come (0: the record is complete). */
    int (*body)(void *ctx, const pqt_record_header *h, const uint8_t *p, size_t n, size_t left);
} pqt_record_events;

typedef struct {
    uint8_t hdr[PQT_TLS_RECORD_HEADER];
    uint8_t hdr_have;
    int failed;            /* a bad header was seen: the stream is lost */
    pqt_record_header cur; /* the record being read */
    size_t left;           /* its body bytes still to come */
    uint64_t records;      /* headers read so far (a record's number) */
} pqt_record_framer;

PQT_API void pqt_record_framer_init(pqt_record_framer *f);
/*
 * Feed the next n bytes of the stream. Returns 0 when all were consumed,
 * PQT_RECORD_STOP when a callback stopped (the bytes after that point are
 * not consumed), or the header's parse error (the framer is then failed and
 * every later call returns PQT_ERR_SYNTAX).
 */
PQT_API int pqt_record_framer_feed(pqt_record_framer *f, const uint8_t *p, size_t n,
                                   const pqt_record_events *ev, void *ctx);

typedef struct {
    /*
     * A handshake message starts: type and body length are known. Point
     * *buf at room for the first *keep (<= len) body bytes, or leave NULL/0
     * to count past the body. Return 0 or PQT_RECORD_STOP (the reassembler
     * then stays before this message's body).
     */
    int (*begin)(void *ctx, uint8_t type, uint32_t len, uint8_t **buf, uint32_t *keep);
    /*
     * The message is complete: hdr its 4-byte header, buf/kept as begin set
     * them (buf is the callee's again), pieces and records the number of
     * distinct feed pieces and records its bytes came in.
     */
    int (*message)(void *ctx, const uint8_t hdr[PQT_TLS_HANDSHAKE_HEADER], uint8_t *buf,
                   uint32_t len, uint32_t kept, unsigned pieces, unsigned records);
} pqt_hs_events;

typedef struct {
    uint8_t hdr[PQT_TLS_HANDSHAKE_HEADER];
    uint8_t hdr_have;
    uint8_t begun; /* begin() accepted the current message */
    uint32_t len, got;
    uint8_t *buf;
    uint32_t keep;
    uint64_t last_piece, last_record;
    unsigned pieces, records;
} pqt_hs_reasm;

PQT_API void pqt_hs_reasm_init(pqt_hs_reasm *r);
/*
 * Feed n bytes of handshake-record body. piece and record identify where
 * they came from (a TCP segment, a record number), so each message can say
 * how many of each it spanned; pass increasing numbers, or 0 for "not
 * counted". Returns 0 when all bytes were consumed or PQT_RECORD_STOP when
 * a callback stopped.
 */
PQT_API int pqt_hs_reasm_feed(pqt_hs_reasm *r, const uint8_t *p, size_t n, uint64_t piece,
                              uint64_t record, const pqt_hs_events *ev, void *ctx);
/* 1 while a message is partly read (RFC 8446 §5.1: handshake messages must
 * not span a key change). */
PQT_API int pqt_hs_reasm_pending(const pqt_hs_reasm *r);
/* Forget the partly read message; its buffer (as begin set it, NULL if
 * none) is returned with *keep, for the caller to release. */
PQT_API uint8_t *pqt_hs_reasm_detach(pqt_hs_reasm *r, uint32_t *keep);

#ifdef __cplusplus
}
#endif
#endif
