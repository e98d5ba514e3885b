/* Streaming JSON writer (include/pqtls/json.h). */
#include <math.h>
#include <string.h>

#include "pqtls/json.h"
#include "report_internal.h"

void pqt_json_init(pqt_json *j, FILE *f)
{
    j->f = f;
    j->err = 0;
    j->depth = 0;
    j->after_key = 0;
    j->len = 0;
}

/* Write out what is buffered; the first failure is the sticky error. */
static void flush(pqt_json *j)
{
    if (j->len > 0 && fwrite(j->buf, 1, j->len, j->f) != j->len && j->err == 0) {
        j->err = PQT_ERR_IO;
    }
    j->len = 0;
}

/* Nothing more is added after an error; what came before still goes out,
 * as it would have unbuffered. */
static void put(pqt_json *j, const char *s, size_t n)
{
    if (j->err != 0) {
        return;
    }
    if (n > PQT_JSON_BUF - j->len) {
        flush(j);
        if (n > PQT_JSON_BUF) {
            if (j->err == 0 && fwrite(s, 1, n, j->f) != n) {
                j->err = PQT_ERR_IO;
            }
            return;
        }
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
}

static void putc_(pqt_json *j, char c)
{
    if (j->err != 0) {
        return;
    }
    if (j->len == PQT_JSON_BUF) {
        flush(j);
    }
    j->buf[j->len++] = c;
}

static void puts_(pqt_json *j, const char *s)
{
    put(j, s, strlen(s));
}

/* Before any value: a comma if needed; inside an object a key must come
 * first. */
static int before_value(pqt_json *j)
{
    if (j->err != 0) {
        return -1;
    }
    if (j->depth > 0 && j->is_obj[j->depth - 1]) {
        if (!j->after_key) {
            j->err = PQT_ERR_ARG;
            return -1;
        }
        j->after_key = 0;
    } else if (j->depth > 0) {
        if (j->count[j->depth - 1] > 0) {
            putc_(j, ',');
        }
        if (j->count[j->depth - 1] < 255) {
            j->count[j->depth - 1]++;
        }
    }
    return 0;
}

static void open_(pqt_json *j, int obj)
{
    if (before_value(j) != 0) {
        return;
    }
    if (j->depth == PQT_JSON_MAX_DEPTH) {
        j->err = PQT_ERR_ARG;
        return;
    }
    j->is_obj[j->depth] = (uint8_t)obj;
    j->count[j->depth] = 0;
    j->depth++;
    putc_(j, obj ? '{' : '[');
}

static void close_(pqt_json *j, int obj)
{
    if (j->err != 0) {
        return;
    }
    if (j->depth == 0 || j->is_obj[j->depth - 1] != obj || j->after_key) {
        j->err = PQT_ERR_ARG;
        return;
    }
    j->depth--;
    putc_(j, obj ? '}' : ']');
}

void pqt_json_object_begin(pqt_json *j)
{
    open_(j, 1);
}

void pqt_json_object_end(pqt_json *j)
{
    close_(j, 1);
}

void pqt_json_array_begin(pqt_json *j)
{
    open_(j, 0);
}

void pqt_json_array_end(pqt_json *j)
{
    close_(j, 0);
}

/*
 * Nonzero when one of the eight bytes in x is not printable ASCII or is '"'
 * or '\\' (the bytes JSON needs escaped or checked as UTF-8). The zero-byte
 * test (v - 0x01..) & ~v & 0x80.. is exact about whether a byte matched,
 * which is all the caller asks; bytes with the top bit set match directly.
 */
static uint64_t special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = x ^ (ones * 0x22), b = x ^ (ones * 0x5C), d = x ^ (ones * 0x7F);
    uint64_t below = (x - ones * 0x20) & ~x & high; /* a byte below 0x20 */
    return below | ((q - ones) & ~q & high) | ((b - ones) & ~b & high) | ((d - ones) & ~d & high) |
           (x & high);
}

static const char hex_digits[] = "0123456789abcdef";

/* 1 for the bytes a JSON string takes as they are: printable ASCII but '"'
 * and '\\'. */
static const uint8_t json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* How many bytes from s on need no escaping: eight at a time while no word
 * holds a special byte, then one at a time up to the first that does. */
static size_t plain_run(const uint8_t *s, size_t n)
{
    size_t run = 0;
    while (n - run >= 8) {
        uint64_t x;
        memcpy(&x, s + run, 8);
        if (special8(x)) {
            break;
        }
        run += 8;
    }
    while (run < n && json_plain[s[run]]) {
        run++;
    }
    return run;
}

/* A JSON string from any bytes: runs of printable ASCII other than '"' and
 * '\\' are copied at once (plain_run); valid UTF-8 goes as it is, every
 * other byte as \u00XX. */
static void write_escaped(pqt_json *j, const uint8_t *s, size_t n)
{
    size_t i = 0;
    putc_(j, '"');
    while (i < n && j->err == 0) {
        size_t run = plain_run(s + i, n - i);
        if (run > 0) {
            put(j, (const char *)s + i, run);
            i += run;
            continue;
        }
        uint8_t c = s[i];
        size_t l = c >= 0x80 ? pqt_utf8_len(s + i, n - i) : 0;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(j, e, 2);
            i++;
        } else if (l > 0) {
            put(j, (const char *)s + i, l);
            i += l;
        } else {
            char e[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
            put(j, e, 6);
            i++;
        }
    }
    putc_(j, '"');
}

/* Decimal digits of v, without snprintf. */
static void put_decimal(pqt_json *j, unsigned long long u, int negative)
{
    char b[24];
    size_t i = sizeof(b);
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (negative) {
        b[--i] = '-';
    }
    put(j, b + i, sizeof(b) - i);
}

void pqt_json_key(pqt_json *j, const char *key)
{
    if (j->err != 0) {
        return;
    }
    if (j->depth == 0 || !j->is_obj[j->depth - 1] || j->after_key) {
        j->err = PQT_ERR_ARG;
        return;
    }
    if (j->count[j->depth - 1] > 0) {
        putc_(j, ',');
    }
    if (j->count[j->depth - 1] < 255) {
        j->count[j->depth - 1]++;
    }
    write_escaped(j, (const uint8_t *)key, strlen(key));
    putc_(j, ':');
    j->after_key = 1;
}

void pqt_json_string_n(pqt_json *j, const uint8_t *s, size_t n)
{
    if (before_value(j) == 0) {
        write_escaped(j, s, n);
    }
}

void pqt_json_string(pqt_json *j, const char *s)
{
    if (s == NULL) {
        pqt_json_null(j);
    } else {
        pqt_json_string_n(j, (const uint8_t *)s, strlen(s));
    }
}

void pqt_json_int(pqt_json *j, long long v)
{
    if (before_value(j) == 0) {
        put_decimal(j, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v, v < 0);
    }
}

void pqt_json_uint(pqt_json *j, unsigned long long v)
{
    if (before_value(j) == 0) {
        put_decimal(j, v, 0);
    }
}

void pqt_json_double(pqt_json *j, double v, int decimals)
{
    char b[64];
    if (before_value(j) != 0) {
        return;
    }
    if (!isfinite(v)) {
        puts_(j, "null");
        return;
    }
    if (decimals < 0 || decimals > 17) {
        decimals = 6;
    }
    snprintf(b, sizeof(b), "%.*f", decimals, v);
    puts_(j, b);
}

void pqt_json_bool(pqt_json *j, int v)
{
    if (before_value(j) == 0) {
        puts_(j, v ? "true" : "false");
    }
}

void pqt_json_null(pqt_json *j)
{
    if (before_value(j) == 0) {
        puts_(j, "null");
    }
}

void pqt_json_hex(pqt_json *j, const uint8_t *p, size_t n)
{
    if (before_value(j) != 0) {
        return;
    }
    char b[128];
    size_t used = 0;
    putc_(j, '"');
    for (size_t i = 0; i < n; i++) {
        b[used++] = hex_digits[p[i] >> 4];
        b[used++] = hex_digits[p[i] & 15];
        if (used == sizeof(b)) {
            put(j, b, used);
            used = 0;
        }
    }
    put(j, b, used);
    putc_(j, '"');
}

void pqt_json_kv_string(pqt_json *j, const char *key, const char *s)
{
    pqt_json_key(j, key);
    pqt_json_string(j, s);
}

void pqt_json_kv_int(pqt_json *j, const char *key, long long v)
{
    pqt_json_key(j, key);
    pqt_json_int(j, v);
}

void pqt_json_kv_bool(pqt_json *j, const char *key, int v)
{
    pqt_json_key(j, key);
    pqt_json_bool(j, v);
}

int pqt_json_end_line(pqt_json *j)
{
    if (j->err == 0 && (j->depth != 0 || j->after_key)) {
        j->err = PQT_ERR_ARG;
    }
    putc_(j, '\n'); /* only when there was no error */
    flush(j);
    int err = j->err;
    pqt_json_init(j, j->f);
    return err;
}
