/*
 * A stored pqtls-scan/1 record read back into a pqt_scan_result
 * (pqt_store_record_parse, include/pqtls/store.h), so whatever reads
 * results (the CBOM writer of `pqtls history --format cbom`) reads the
 * store through the same type as a live scan.
 *
 * The store keeps each result's JSON Lines record whole (docs/store.md),
 * written by pqt_scan_write_jsonl through src/report's writer. This is the
 * inverse of that writer, not a general JSON parser: a bounded reader over
 * pqt_reader (wire.h) that takes objects, arrays, strings, integers,
 * true/false/null, skips keys it does not know (pqtls-scan/1 only grows by
 * new keys) at most 16 levels deep, and refuses what the writer never
 * writes: numbers with a fraction or exponent, raw control bytes in a
 * string, \u0000, strings longer than the field they came from, names of
 * stages, outcomes, probes, protocols, groups or suites this pqtls does
 * not know. Escapes invert src/report/json.c: the writer keeps valid UTF-8
 * as it is and writes every other byte as \u00XX, so \u0080-\u00ff are
 * read back as that one byte; other \uXXXX (and surrogate pairs) become
 * UTF-8.
 *
 * Code points are printed by name (pqtls/names.h, pqtls/groups.h) or as
 * "0x1234"; the names are turned back into codes through tables built once
 * from the same name functions, so a name reads back as exactly the code
 * that printed it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/names.h"
#include "pqtls/wire.h"
#include "store_internal.h"

/* Nesting the reader follows (the record itself is 4 deep). */
#define REC_MAX_DEPTH 16

/* ---- code points by name ------------------------------------------------------- */

enum { K_VERSION, K_SUITE, K_SIGSCHEME, K_GROUP, K_COUNT };
/* Names per kind; more than any table of pqtls/names.h holds (a unit test
 * reads every named code point back). */
#define NAMED_MAX 256

typedef struct {
    const char *name;
    uint16_t code;
} named_code;

static named_code named[K_COUNT][NAMED_MAX];
static unsigned n_named[K_COUNT];
static pthread_once_t named_once = PTHREAD_ONCE_INIT;

static const char *name_of(int kind, uint16_t code)
{
    switch (kind) {
    case K_VERSION:
        return pqt_tls_version_name(code);
    case K_SUITE:
        return pqt_tls_suite_name(code);
    case K_SIGSCHEME:
        return pqt_tls_sigscheme_name(code);
    default:
        return pqt_group_name(code);
    }
}

static void named_init(void)
{
    for (int k = 0; k < K_COUNT; k++) {
        for (uint32_t c = 0; c <= 0xffff; c++) {
            const char *n = name_of(k, (uint16_t)c);
            if (n != NULL && n_named[k] < NAMED_MAX) {
                named[k][n_named[k]++] = (named_code){n, (uint16_t)c};
            }
        }
    }
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* "0x1234" (as src/scan/output.c prints a code point without a name) or a
 * name; 0 and *code, or PQT_ERR_SYNTAX. */
static int code_by_name(int kind, const char *s, uint16_t *code)
{
    if (s[0] == '0' && s[1] == 'x' && strlen(s) == 6) {
        unsigned v = 0;
        for (int i = 2; i < 6; i++) {
            int d = hex_digit(s[i]);
            if (d < 0) {
                return PQT_ERR_SYNTAX;
            }
            v = v << 4 | (unsigned)d;
        }
        *code = (uint16_t)v;
        return 0;
    }
    pthread_once(&named_once, named_init);
    for (unsigned i = 0; i < n_named[kind]; i++) {
        if (strcmp(named[kind][i].name, s) == 0) {
            *code = named[kind][i].code;
            return 0;
        }
    }
    return PQT_ERR_SYNTAX;
}

/* ---- the JSON reader -------------------------------------------------------------- */

typedef struct {
    pqt_reader r;
    const char *why; /* the first thing found wrong */
} jrd;

static int bad(jrd *j, const char *why)
{
    if (j->why == NULL) {
        j->why = why;
    }
    return PQT_ERR_SYNTAX;
}

static int truncated(jrd *j)
{
    if (j->why == NULL) {
        j->why = "the record ends early";
    }
    return PQT_ERR_TRUNCATED;
}

/* The next byte without taking it; -1 at the end. */
static int peek(const jrd *j)
{
    pqt_reader t = j->r;
    uint8_t c;
    return pqt_reader_u8(&t, &c) == 0 ? c : -1;
}

/* Take the byte peek saw. */
static void take(jrd *j)
{
    uint8_t c;
    if (pqt_reader_u8(&j->r, &c) != 0) {
        (void)truncated(j);
    }
}

static void ws(jrd *j)
{
    int c;
    while ((c = peek(j)) == ' ' || c == '\t' || c == '\n' || c == '\r') {
        take(j);
    }
}

static int eat(jrd *j, char want)
{
    uint8_t c;
    ws(j);
    if (pqt_reader_u8(&j->r, &c) != 0) {
        return truncated(j);
    }
    return c == (uint8_t)want ? 0 : bad(j, "unexpected character");
}

/* A literal word (true, false, null) at the cursor. */
static int word(jrd *j, const char *w)
{
    const uint8_t *p;
    size_t n = strlen(w);
    if (pqt_reader_bytes(&j->r, n, &p) != 0) {
        return truncated(j);
    }
    return memcmp(p, w, n) == 0 ? 0 : bad(j, "unknown literal");
}

/* 1 and the literal consumed if null comes next, else 0. */
static int null_next(jrd *j)
{
    ws(j);
    if (peek(j) != 'n') {
        return 0;
    }
    return word(j, "null") == 0 ? 1 : -1;
}

static int bool_value(jrd *j, int *v)
{
    ws(j);
    if (peek(j) == 't') {
        *v = 1;
        return word(j, "true");
    }
    *v = 0;
    return word(j, "false");
}

/* Append UTF-8 of code point cp to out[*n], within cap - 1. */
static int put_utf8(jrd *j, uint32_t cp, char *out, size_t cap, size_t *n)
{
    uint8_t b[4];
    size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (len == 1) {
        b[0] = (uint8_t)cp;
    } else if (len == 2) {
        b[0] = (uint8_t)(0xc0 | cp >> 6);
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
    } else if (len == 3) {
        b[0] = (uint8_t)(0xe0 | cp >> 12);
        b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
    } else {
        b[0] = (uint8_t)(0xf0 | cp >> 18);
        b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (uint8_t)(0x80 | (cp & 0x3f));
    }
    if (out == NULL) {
        return 0;
    }
    if (*n + len >= cap) {
        return bad(j, "a string is longer than its field");
    }
    memcpy(out + *n, b, len);
    *n += len;
    return 0;
}

static int hex4(jrd *j, uint32_t *v)
{
    const uint8_t *p;
    if (pqt_reader_bytes(&j->r, 4, &p) != 0) {
        return truncated(j);
    }
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit((char)p[i]);
        if (d < 0) {
            return bad(j, "bad \\u escape");
        }
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* A string into out (cap bytes with the NUL; NULL: only read past it). */
static int string(jrd *j, char *out, size_t cap)
{
    size_t n = 0;
    int ret = eat(j, '"');
    while (ret == 0) {
        uint8_t c;
        if (pqt_reader_u8(&j->r, &c) != 0) {
            return truncated(j);
        }
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return bad(j, "a control byte in a string");
        }
        if (c == '\\') {
            uint8_t e;
            uint32_t cp = 0;
            if (pqt_reader_u8(&j->r, &e) != 0) {
                return truncated(j);
            }
            switch (e) {
            case '"':
            case '\\':
            case '/':
                c = e;
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'u':
                if ((ret = hex4(j, &cp)) != 0) {
                    return ret;
                }
                if (cp == 0) {
                    return bad(j, "\\u0000 in a string");
                }
                if (cp < 0x100) {
                    /* src/report/json.c: a byte that is not valid UTF-8 (or a
                     * control byte) goes out as \u00XX; it comes back as that
                     * byte. */
                    c = (uint8_t)cp;
                    break;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    uint32_t lo = 0;
                    if ((ret = word(j, "\\u")) != 0 || (ret = hex4(j, &lo)) != 0) {
                        return ret == PQT_ERR_SYNTAX ? bad(j, "a lone surrogate") : ret;
                    }
                    if (lo < 0xdc00 || lo > 0xdfff) {
                        return bad(j, "a lone surrogate");
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return bad(j, "a lone surrogate");
                }
                if ((ret = put_utf8(j, cp, out, cap, &n)) != 0) {
                    return ret;
                }
                continue;
            default:
                return bad(j, "unknown escape");
            }
        }
        if (out != NULL) {
            if (n + 1 >= cap) {
                return bad(j, "a string is longer than its field");
            }
            out[n++] = (char)c;
        }
    }
    if (ret == 0 && out != NULL) {
        out[n] = 0;
    }
    return ret;
}

/* A string, or null as "". */
static int string_or_null(jrd *j, char *out, size_t cap)
{
    int n = null_next(j);
    if (n != 0) {
        if (n > 0) {
            out[0] = 0;
        }
        return n > 0 ? 0 : PQT_ERR_SYNTAX;
    }
    return string(j, out, cap);
}

/* An integer in [min, max]: optional '-', digits, nothing else. */
static int integer(jrd *j, int64_t min, uint64_t max, int64_t *sv, uint64_t *uv)
{
    int neg = 0, digits = 0;
    uint64_t v = 0;
    ws(j);
    if (peek(j) == '-') {
        neg = 1;
        take(j);
    }
    for (int c; (c = peek(j)) >= '0' && c <= '9'; digits++) {
        if (v > (UINT64_MAX - 9) / 10) {
            return bad(j, "a number out of range");
        }
        v = v * 10 + (uint64_t)(c - '0');
        take(j);
    }
    int c = peek(j);
    if (digits == 0 || c == '.' || c == 'e' || c == 'E') {
        return bad(j, "not an integer");
    }
    if (neg ? (v > (uint64_t)INT64_MAX || -(int64_t)v < min) : v > max) {
        return bad(j, "a number out of range");
    }
    if (sv != NULL) {
        *sv = neg ? -(int64_t)v : (int64_t)v;
    }
    if (uv != NULL) {
        *uv = v;
    }
    return 0;
}

static int uint_value(jrd *j, uint64_t max, uint64_t *v)
{
    return integer(j, 0, max, NULL, v);
}

/* Past any value, containers included, at most REC_MAX_DEPTH deep. */
static int skip_value(jrd *j, int depth)
{
    int c, ret, more;
    ws(j);
    c = peek(j);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        if (depth >= REC_MAX_DEPTH) {
            return bad(j, "nested too deep");
        }
        take(j);
        ws(j);
        if (peek(j) == close) {
            return eat(j, close);
        }
        do {
            if (c == '{' && ((ret = string(j, NULL, 0)) != 0 || (ret = eat(j, ':')) != 0)) {
                return ret;
            }
            if ((ret = skip_value(j, depth + 1)) != 0) {
                return ret;
            }
            ws(j);
            more = peek(j) == ',';
        } while (more && eat(j, ',') == 0);
        return eat(j, close);
    }
    if (c == '"') {
        return string(j, NULL, 0);
    }
    if (c == 't' || c == 'f') {
        int b;
        return bool_value(j, &b);
    }
    if (c == 'n') {
        return word(j, "null");
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int64_t v;
        return integer(j, INT64_MIN, (uint64_t)INT64_MAX, &v, NULL);
    }
    return c < 0 ? truncated(j) : bad(j, "not a JSON value");
}

/*
 * Objects and arrays as loops: begin with *state = 0, then each call reads
 * the next key (objects) or moves to the next item (arrays): 1 while there
 * is one, 0 once the closing bracket is taken, negative on an error.
 */
static int next_key(jrd *j, int *state, char *key, size_t cap)
{
    int ret;
    ws(j);
    if (*state == 0) {
        if ((ret = eat(j, '{')) != 0) {
            return ret;
        }
        *state = 1;
        ws(j);
        if (peek(j) == '}') {
            return eat(j, '}');
        }
    } else {
        ws(j);
        if (peek(j) == '}') {
            return eat(j, '}');
        }
        if ((ret = eat(j, ',')) != 0) {
            return ret;
        }
    }
    if ((ret = string(j, key, cap)) != 0) {
        return ret;
    }
    return (ret = eat(j, ':')) != 0 ? ret : 1;
}

static int next_item(jrd *j, int *state)
{
    int ret;
    ws(j);
    if (*state == 0) {
        if ((ret = eat(j, '[')) != 0) {
            return ret;
        }
        *state = 1;
        ws(j);
        return peek(j) == ']' ? eat(j, ']') : 1;
    }
    ws(j);
    if (peek(j) == ']') {
        return eat(j, ']');
    }
    return (ret = eat(j, ',')) != 0 ? ret : 1;
}

/* ---- the record ---------------------------------------------------------------------- */

#define KEY_MAX 64

static int is_key(const char *key, const char *want)
{
    return strcmp(key, want) == 0;
}

/* A code point printed by name or as "0x1234", or null (0). */
static int code_value(jrd *j, int kind, uint16_t *code)
{
    char buf[64];
    int ret = string_or_null(j, buf, sizeof(buf));
    *code = 0;
    if (ret != 0 || buf[0] == 0) {
        return ret;
    }
    return code_by_name(kind, buf, code) == 0
               ? 0
               : bad(j, "a code point name this pqtls does not know");
}

static int certificate(jrd *j, pqt_scan_cert *c)
{
    char key[KEY_MAX];
    int st = 0, more = 0, ret = 0;
    uint64_t v;
    int n = null_next(j);
    if (n != 0) {
        return n > 0 ? 0 : PQT_ERR_SYNTAX;
    }
    c->seen = 1;
    while (ret == 0 && (more = next_key(j, &st, key, sizeof(key))) == 1) {
        if (is_key(key, "key")) {
            ret = string_or_null(j, c->key_alg, sizeof(c->key_alg));
        } else if (is_key(key, "key_bits")) {
            ret = uint_value(j, INT32_MAX, &v);
            c->key_bits = (int)v;
        } else if (is_key(key, "curve")) {
            ret = string_or_null(j, c->key_curve, sizeof(c->key_curve));
        } else if (is_key(key, "signature")) {
            ret = string_or_null(j, c->sig_alg, sizeof(c->sig_alg));
        } else if (is_key(key, "verify_scheme")) {
            ret = code_value(j, K_SIGSCHEME, &c->verify_scheme);
        } else {
            ret = skip_value(j, 2);
        }
    }
    return ret != 0 ? ret : more;
}

static int outcome_by_name(const char *name)
{
    for (int o = PQT_OUTCOME_NONE; o <= PQT_OUTCOME_STARTTLS_FAILED; o++) {
        if (strcmp(pqt_probe_outcome_name(o), name) == 0) {
            return o;
        }
    }
    return -1;
}

/* One object of "probes" into r->probes[its name]. */
static int probe(jrd *j, pqt_store_record *rec)
{
    char key[KEY_MAX], buf[64], err[sizeof(rec->probe_error[0])];
    pqt_probe_result p;
    int st = 0, more = 0, ret = 0, id = -1, outcome = -1;
    uint64_t v;
    memset(&p, 0, sizeof(p));
    p.alert = -1;
    err[0] = 0;
    while (ret == 0 && (more = next_key(j, &st, key, sizeof(key))) == 1) {
        if (is_key(key, "name")) {
            if ((ret = string(j, buf, sizeof(buf))) == 0 && (id = pqt_probe_by_name(buf)) < 0) {
                ret = bad(j, "a probe this pqtls does not know");
            }
        } else if (is_key(key, "outcome")) {
            if ((ret = string(j, buf, sizeof(buf))) == 0 && (outcome = outcome_by_name(buf)) < 0) {
                ret = bad(j, "an outcome this pqtls does not know");
            }
        } else if (is_key(key, "group")) {
            ret = code_value(j, K_GROUP, &p.group);
        } else if (is_key(key, "version")) {
            ret = code_value(j, K_VERSION, &p.version);
        } else if (is_key(key, "cipher")) {
            ret = code_value(j, K_SUITE, &p.cipher);
        } else if (is_key(key, "alert")) {
            /* {"code": 40, "name": "handshake_failure"} or null */
            int ast = 0, amore = 0;
            char akey[KEY_MAX];
            if ((ret = null_next(j)) != 0) {
                ret = ret > 0 ? 0 : PQT_ERR_SYNTAX;
                continue;
            }
            while (ret == 0 && (amore = next_key(j, &ast, akey, sizeof(akey))) == 1) {
                if (is_key(akey, "code")) {
                    ret = uint_value(j, 255, &v);
                    p.alert = (int)v;
                } else {
                    ret = skip_value(j, 3);
                }
            }
            ret = ret != 0 ? ret : amore;
        } else if (is_key(key, "verified")) {
            ret = bool_value(j, &p.verified);
        } else if (is_key(key, "retried")) {
            ret = bool_value(j, &p.retried);
        } else if (is_key(key, "error")) {
            ret = string_or_null(j, err, sizeof(err));
        } else if (is_key(key, "detail")) {
            ret = string_or_null(j, p.detail, sizeof(p.detail));
        } else if (is_key(key, "bytes_sent")) {
            ret = uint_value(j, UINT64_MAX, &p.bytes_sent);
        } else if (is_key(key, "bytes_received")) {
            ret = uint_value(j, UINT64_MAX, &p.bytes_received);
        } else if (is_key(key, "ms")) {
            ret = uint_value(j, UINT32_MAX, &v);
            p.ms = (uint32_t)v;
        } else if (is_key(key, "attempts")) {
            ret = uint_value(j, UINT32_MAX, &v);
            p.attempts = (unsigned)v;
        } else {
            ret = skip_value(j, 2);
        }
    }
    if (ret != 0 || (ret = more) != 0) {
        return ret;
    }
    if (id < 0 || outcome < 0) {
        return bad(j, "a probe without a name or an outcome");
    }
    if ((rec->result.probes_run >> id) & 1) {
        return bad(j, "a probe listed twice");
    }
    p.outcome = outcome;
    rec->result.probes[id] = p;
    rec->result.probes_run |= 1u << id;
    memcpy(rec->probe_error[id], err, sizeof(err));
    rec->result.probes[id].error = err[0] ? rec->probe_error[id] : NULL;
    return 0;
}

static int proto_by_name(const char *name)
{
    for (int i = 0; i < PQT_SCAN_PROTO_COUNT; i++) {
        if (strcmp(pqt_scan_proto_get(i)->scheme, name) == 0) {
            return i;
        }
    }
    return -1;
}

static int starttls_by_name(const char *name)
{
    for (int i = 1; i < PQT_STARTTLS_COUNT; i++) {
        if (strcmp(pqt_starttls_name(i), name) == 0) {
            return i;
        }
    }
    return -1;
}

/* The top-level object. */
static int record(jrd *j, pqt_store_record *rec)
{
    pqt_scan_result *r = &rec->result;
    char key[KEY_MAX], buf[64];
    int st = 0, more = 0, ret = 0, have_schema = 0, have_stage = 0, have_proto = 0;
    uint64_t v;
    while (ret == 0 && (more = next_key(j, &st, key, sizeof(key))) == 1) {
        if (is_key(key, "schema")) {
            if ((ret = string(j, buf, sizeof(buf))) == 0 && strcmp(buf, PQT_SCAN_SCHEMA) != 0) {
                ret = bad(j, "not a " PQT_SCAN_SCHEMA " record");
            }
            have_schema = 1;
        } else if (is_key(key, "target")) {
            ret = string(j, r->name, sizeof(r->name));
        } else if (is_key(key, "index")) {
            ret = uint_value(j, UINT64_MAX, &r->target.index);
        } else if (is_key(key, "protocol")) {
            if ((ret = string(j, buf, sizeof(buf))) == 0 &&
                (r->target.proto = proto_by_name(buf)) < 0) {
                ret = bad(j, "a protocol this pqtls does not know");
            }
            have_proto = 1;
        } else if (is_key(key, "starttls")) {
            if ((ret = string_or_null(j, buf, sizeof(buf))) == 0 && buf[0] &&
                (r->target.starttls = starttls_by_name(buf)) < 0) {
                ret = bad(j, "a STARTTLS dialogue this pqtls does not know");
            }
        } else if (is_key(key, "host")) {
            ret = string(j, r->target.host, sizeof(r->target.host));
        } else if (is_key(key, "port")) {
            ret = uint_value(j, 65535, &v);
            r->target.port = (uint16_t)v;
        } else if (is_key(key, "address")) {
            ret = string_or_null(j, r->address, sizeof(r->address));
        } else if (is_key(key, "sni")) {
            ret = string_or_null(j, r->target.sni, sizeof(r->target.sni));
        } else if (is_key(key, "line")) {
            ret = uint_value(j, UINT32_MAX, &v);
            r->target.line = (unsigned)v;
        } else if (is_key(key, "stage")) {
            if ((ret = string(j, buf, sizeof(buf))) == 0 &&
                (r->stage = pqt_scan_stage_by_name(buf)) < 0) {
                ret = bad(j, "a stage this pqtls does not know");
            }
            have_stage = 1;
        } else if (is_key(key, "flags")) {
            int ast = 0, amore = 0, bit = 0;
            r->flags = 0;
            while (ret == 0 && (amore = next_item(j, &ast)) == 1) {
                if ((ret = string(j, buf, sizeof(buf))) == 0 &&
                    (bit = pqt_scan_flag_by_name(buf)) < 0) {
                    ret = bad(j, "a flag this pqtls does not know");
                } else if (ret == 0) {
                    r->flags |= 1u << bit;
                }
            }
            ret = ret != 0 ? ret : amore;
        } else if (is_key(key, "error")) {
            ret = string_or_null(j, r->error, sizeof(r->error));
        } else if (is_key(key, "detail")) {
            ret = string_or_null(j, r->detail, sizeof(r->detail));
        } else if (is_key(key, "ms")) {
            ret = uint_value(j, UINT32_MAX, &v);
            r->ms = (uint32_t)v;
        } else if (is_key(key, "certificate")) {
            memset(&r->cert, 0, sizeof(r->cert));
            ret = certificate(j, &r->cert);
        } else if (is_key(key, "probes")) {
            int ast = 0, amore = 0;
            while (ret == 0 && (amore = next_item(j, &ast)) == 1) {
                ret = probe(j, rec);
            }
            ret = ret != 0 ? ret : amore;
        } else {
            /* next_step is derived (pqt_scan_next_step); other keys are
             * newer than this pqtls. */
            ret = skip_value(j, 1);
        }
    }
    if (ret != 0 || (ret = more) != 0) {
        return ret;
    }
    if (!have_schema || !have_stage || !have_proto || r->name[0] == 0) {
        return bad(j, "schema, target, protocol or stage missing");
    }
    return 0;
}

int pqt_store_record_parse(const char *json, size_t len, pqt_store_record *out, const char **why)
{
    jrd j = {pqt_reader_make((const uint8_t *)json, len), NULL};
    memset(out, 0, sizeof(*out));
    int ret = record(&j, out);
    if (ret == 0) {
        ws(&j);
        if (pqt_reader_left(&j.r) != 0) {
            ret = bad(&j, "bytes after the record");
        }
    }
    if (ret != 0) {
        memset(out, 0, sizeof(*out));
        if (why != NULL) {
            *why = j.why != NULL ? j.why : "unreadable";
        }
        return ret;
    }
    if (why != NULL) {
        *why = NULL;
    }
    return 0;
}
