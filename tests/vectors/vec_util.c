/* Shared helpers for the vector harnesses; see vec_util.h. */
#include "vec_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int vec_hex_decode(vec_buf *out, const char *hex)
{
    size_t n = strlen(hex);
    out->p = NULL;
    out->len = 0;
    if (n % 2 != 0) {
        return -1;
    }
    /* malloc(0) may return NULL; keep a valid pointer for empty strings. */
    out->p = malloc(n / 2 + 1);
    if (out->p == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_nibble(hex[2 * i]);
        int lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            vec_buf_free(out);
            return -1;
        }
        out->p[i] = (uint8_t)((hi << 4) | lo);
    }
    out->len = n / 2;
    return 0;
}

void vec_buf_free(vec_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

static void print_hex_short(const uint8_t *p, size_t n)
{
    size_t show = n <= 40 ? n : 16;
    for (size_t i = 0; i < show; i++) {
        printf("%02x", p[i]);
    }
    if (show < n) {
        printf("...(%zu bytes)", n);
    }
}

void vec_print_mismatch(const char *label, const uint8_t *got, size_t got_len, const uint8_t *want,
                        size_t want_len)
{
    printf("      %s: got ", label);
    print_hex_short(got, got_len);
    printf(" expected ");
    print_hex_short(want, want_len);
    if (got_len == want_len) {
        for (size_t i = 0; i < got_len; i++) {
            if (got[i] != want[i]) {
                printf(" (first difference at byte %zu)", i);
                break;
            }
        }
    }
    printf("\n");
}

int vec_eq(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

int vec_all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

int vec_path(char *buf, size_t size, const char *dir, const char *name)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

int vec_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int vec_require_dir(const char *path)
{
    if (vec_is_dir(path)) {
        return 1;
    }
    printf("FAIL: vector directory %s not found (configure with "
           "-DPQT_SHARED_DIR=<dir holding vectors/>)\n",
           path);
    return 0;
}

int vec_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

json_t *vec_json_load(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (root == NULL) {
        printf("FAIL %s: cannot load JSON: %s (line %d)\n", path, err.text, err.line);
    }
    return root;
}

int vec_json_hex(json_t *obj, const char *key, vec_buf *out)
{
    const char *s = vec_json_str(obj, key);
    if (s == NULL) {
        printf("      field \"%s\" missing or not a string\n", key);
        out->p = NULL;
        out->len = 0;
        return -1;
    }
    if (vec_hex_decode(out, s) != 0) {
        printf("      field \"%s\" is not valid hex\n", key);
        return -1;
    }
    return 0;
}

const char *vec_json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long vec_json_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

unsigned vec_backends(pqt_backend list[2])
{
    unsigned n = 0;
    list[n++] = PQT_BACKEND_PORTABLE;
    if (pqt_backend_available(PQT_BACKEND_AVX2)) {
        list[n++] = PQT_BACKEND_AVX2;
    } else {
        printf("note: backend %s not available in this build or on this CPU; "
               "all vectors run on %s only\n",
               pqt_backend_name(PQT_BACKEND_AVX2), pqt_backend_name(PQT_BACKEND_PORTABLE));
    }
    return n;
}

int vec_use_backend(pqt_backend b)
{
    int rc = pqt_mlkem_set_backend(b);
    if (rc != 0) {
        printf("FAIL: pqt_mlkem_set_backend(%s) = %s\n", pqt_backend_name(b), pqt_errname(rc));
        return -1;
    }
    if (pqt_mlkem_get_backend() != b) {
        printf("FAIL: backend %s selected but pqt_mlkem_get_backend() reports %s\n",
               pqt_backend_name(b), pqt_backend_name(pqt_mlkem_get_backend()));
        return -1;
    }
    return 0;
}

void vec_summary(const char *name, pqt_backend b, const vec_count *c)
{
    printf("%s %s [%s]: %u passed, %u failed, %u skipped (%u records)\n",
           c->fail == 0 ? "PASS" : "FAIL", name, pqt_backend_name(b), c->pass, c->fail, c->skip,
           c->total);
}

int vec_ek_has_overflow(const uint8_t *ek, size_t ek_len, unsigned k)
{
    size_t n = (size_t)k * 384;
    if (ek_len < n) {
        n = ek_len - ek_len % 3;
    }
    for (size_t i = 0; i + 3 <= n; i += 3) {
        unsigned a = ek[i] | ((unsigned)(ek[i + 1] & 0x0F) << 8);
        unsigned b = (ek[i + 1] >> 4) | ((unsigned)ek[i + 2] << 4);
        if (a >= 3329 || b >= 3329) {
            return 1;
        }
    }
    return 0;
}

static char g_ctx[256];

void vec_set_ctx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_ctx, sizeof(g_ctx), fmt, ap);
    va_end(ap);
}

void vec_fail(const char *fmt, ...)
{
    va_list ap;
    printf("    FAIL %s: ", g_ctx);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

int vec_expect_rc(const char *what, int rc, int want)
{
    if (rc == want) {
        return 1;
    }
    vec_fail("%s returned %s, expected %s", what, pqt_errname(rc), pqt_errname(want));
    return 0;
}

int vec_expect_bytes(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                     size_t want_len)
{
    if (vec_eq(got, got_len, want, want_len)) {
        return 1;
    }
    vec_fail("%s differs", what);
    vec_print_mismatch(what, got, got_len, want, want_len);
    return 0;
}
