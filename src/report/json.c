/* Streaming JSON writer (include/pqtls/json.h). */
#include <math.h>
#include <string.h>

#include "pqtls/json.h"

void pqt_json_init(pqt_json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
}

static void put(pqt_json *j, const char *s, size_t n)
{
    if (j->err == 0 && n > 0 && fwrite(s, 1, n, j->f) != n) {
        j->err = PQT_ERR_IO;
    }
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
            put(j, ",", 1);
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
    put(j, obj ? "{" : "[", 1);
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
    put(j, obj ? "}" : "]", 1);
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

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0; /* overlong, out of range or a surrogate */
    }
    return len;
}

/* Runs of bytes that need no escaping are written with one call, so long
 * strings cost one fwrite, not one per character. */
static void write_escaped(pqt_json *j, const uint8_t *s, size_t n)
{
    char esc[8];
    put(j, "\"", 1);
    size_t i = 0, run = 0; /* s[run..i) is pending, unescaped */
    while (i < n && j->err == 0) {
        uint8_t c = s[i];
        size_t l = 1;
        int plain;
        if (c == '"' || c == '\\' || c < 0x20 || c == 0x7F) {
            plain = 0;
        } else {
            l = utf8_len(s + i, n - i);
            plain = l != 0;
        }
        if (plain) {
            i += l;
            continue;
        }
        put(j, (const char *)s + run, i - run);
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            put(j, esc, 2);
        } else {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(j, esc, 6);
        }
        i++;
        run = i;
    }
    put(j, (const char *)s + run, i - run);
    put(j, "\"", 1);
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
        put(j, ",", 1);
    }
    if (j->count[j->depth - 1] < 255) {
        j->count[j->depth - 1]++;
    }
    write_escaped(j, (const uint8_t *)key, strlen(key));
    put(j, ":", 1);
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
    char b[32];
    if (before_value(j) == 0) {
        puts_(j, (snprintf(b, sizeof(b), "%lld", v), b));
    }
}

void pqt_json_uint(pqt_json *j, unsigned long long v)
{
    char b[32];
    if (before_value(j) == 0) {
        puts_(j, (snprintf(b, sizeof(b), "%llu", v), b));
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
    static const char digits[] = "0123456789abcdef";
    if (before_value(j) != 0) {
        return;
    }
    char b[128];
    size_t used = 0;
    put(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        b[used++] = digits[p[i] >> 4];
        b[used++] = digits[p[i] & 15];
        if (used == sizeof(b)) {
            put(j, b, used);
            used = 0;
        }
    }
    put(j, b, used);
    put(j, "\"", 1);
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
    if (j->err == 0) {
        put(j, "\n", 1);
    }
    int err = j->err;
    FILE *f = j->f;
    pqt_json_init(j, f);
    return err;
}
