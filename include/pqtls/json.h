/*
 * A streaming JSON writer for every machine-readable output of pqtls
 * (JSON Lines from scan and observe, bench --format jsonl, reports).
 *
 * Strings from the wire (SNI, ALPN) may hold any bytes: control characters,
 * quotes and backslashes are escaped, and bytes that are not valid UTF-8
 * are written as \u00XX (their Latin-1 reading), so the output is always
 * valid JSON. Commas are placed automatically. Errors (nesting too deep, a
 * value where a key is needed, write failures) are sticky and returned by
 * pqt_json_end_line(). Output is buffered per record: pqt_json_end_line()
 * writes it (one fwrite when the record fits in PQT_JSON_BUF bytes).
 */
#ifndef PQTLS_JSON_H
#define PQTLS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PQT_JSON_MAX_DEPTH 32
#define PQT_JSON_BUF 4096

typedef struct {
    FILE *f;
    int err;
    unsigned depth;
    uint8_t count[PQT_JSON_MAX_DEPTH];  /* values written at each level (saturating) */
    uint8_t is_obj[PQT_JSON_MAX_DEPTH]; /* 1: object, 0: array */
    int after_key;                      /* a key was written, its value is next */
    size_t len;                         /* bytes waiting in buf */
    char buf[PQT_JSON_BUF];             /* a record goes out in one write when it fits */
} pqt_json;

PQT_API void pqt_json_init(pqt_json *j, FILE *f);
PQT_API void pqt_json_object_begin(pqt_json *j);
PQT_API void pqt_json_object_end(pqt_json *j);
PQT_API void pqt_json_array_begin(pqt_json *j);
PQT_API void pqt_json_array_end(pqt_json *j);
PQT_API void pqt_json_key(pqt_json *j, const char *key);
PQT_API void pqt_json_string(pqt_json *j, const char *s); /* NULL writes null */
PQT_API void pqt_json_string_n(pqt_json *j, const uint8_t *s, size_t n);
PQT_API void pqt_json_int(pqt_json *j, long long v);
PQT_API void pqt_json_uint(pqt_json *j, unsigned long long v);
PQT_API void pqt_json_double(pqt_json *j, double v, int decimals); /* non-finite: null */
PQT_API void pqt_json_bool(pqt_json *j, int v);
PQT_API void pqt_json_null(pqt_json *j);
PQT_API void pqt_json_hex(pqt_json *j, const uint8_t *p, size_t n); /* as a string */
/* Key and value in one call. */
PQT_API void pqt_json_kv_string(pqt_json *j, const char *key, const char *s);
PQT_API void pqt_json_kv_int(pqt_json *j, const char *key, long long v);
PQT_API void pqt_json_kv_bool(pqt_json *j, const char *key, int v);
/* End a JSON Lines record: newline, 0 or the first error (the writer must
 * be back at depth 0). Resets the writer for the next record. */
PQT_API PQT_MUST_CHECK int pqt_json_end_line(pqt_json *j);

#ifdef __cplusplus
}
#endif
#endif
