/*
 * The line formats the kernel gives: /proc/net/tcp(6), /proc/PID/maps and
 * /proc/PID/environ, each read through pqt_reader (a process can name its
 * files and environment anything, and a maps line carries those names).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_internal.h"

void pqt_host_skip_blanks(pqt_reader *r)
{
    while (pqt_reader_left(r) > 0 && (*r->p == ' ' || *r->p == '\t')) {
        r->p++;
    }
}

void pqt_host_token(pqt_reader *r, const uint8_t **tok, size_t *len)
{
    pqt_host_skip_blanks(r);
    *tok = r->p;
    size_t n = 0;
    while (pqt_reader_left(r) > 0 && *r->p != ' ' && *r->p != '\t') {
        r->p++;
        n++;
    }
    *len = n;
}

int pqt_host_hex(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 16) {
        return PQT_ERR_SYNTAX;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i], d;
        if (c >= '0' && c <= '9') {
            d = (uint8_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (uint8_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (uint8_t)(c - 'A' + 10);
        } else {
            return PQT_ERR_SYNTAX;
        }
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

void pqt_host_copy(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    if (cap == 0) {
        return;
    }
    if (n > cap - 1) {
        n = cap - 1;
    }
    if (n > 0) {
        memcpy(dst, p, n);
    }
    dst[n] = '\0';
}

int pqt_host_read_file(const char *path, size_t max, uint8_t **data, size_t *len, int *cut)
{
    *data = NULL;
    *len = 0;
    if (cut != NULL) {
        *cut = 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return PQT_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode) || S_ISFIFO(st.st_mode) ||
        S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        close(fd);
        return PQT_ERR_IO;
    }
    /* /proc files say size 0: grow as they are read, up to max. */
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    int ret = 0;
    if (buf == NULL) {
        close(fd);
        return PQT_ERR_NOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                if (cut != NULL) {
                    *cut = 1;
                }
                break;
            }
            size_t ncap = cap * 2 > max ? max : cap * 2;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                ret = PQT_ERR_NOMEM;
                goto cleanup;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            ret = PQT_ERR_IO;
            goto cleanup;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
cleanup:
    free(buf);
    close(fd);
    return ret;
}

/* "0100007F:1F90": the kernel prints each 32-bit word of the address with
 * %08X, so a word's bytes are in host order. */
static int parse_endpoint(const uint8_t *p, size_t n, pqt_host_socket *s)
{
    size_t colon = 0;
    while (colon < n && p[colon] != ':') {
        colon++;
    }
    if (colon == n || (colon != 8 && colon != 32)) {
        return PQT_ERR_SYNTAX;
    }
    uint64_t port;
    if (n - colon - 1 != 4 || pqt_host_hex(p + colon + 1, 4, &port) != 0) {
        return PQT_ERR_SYNTAX;
    }
    memset(s->addr, 0, sizeof(s->addr));
    s->v6 = colon == 32;
    for (size_t w = 0; w < colon / 8; w++) {
        uint64_t word;
        if (pqt_host_hex(p + 8 * w, 8, &word) != 0) {
            return PQT_ERR_SYNTAX;
        }
        uint32_t host = (uint32_t)word;
        memcpy(s->addr + 4 * w, &host, 4);
    }
    s->port = (uint16_t)port;
    return 0;
}

int pqt_host_tcp_line_parse(const uint8_t *line, size_t len, pqt_host_socket *out)
{
    pqt_reader r = pqt_reader_make(line, len);
    const uint8_t *tok;
    size_t n;
    uint64_t v;
    memset(out, 0, sizeof(*out));
    /* "sl" ends with ':' ("  0:"); the header line has "sl" alone. */
    pqt_host_token(&r, &tok, &n);
    if (n < 2 || tok[n - 1] != ':') {
        return PQT_ERR_SYNTAX;
    }
    pqt_host_token(&r, &tok, &n); /* local_address */
    if (parse_endpoint(tok, n, out) != 0) {
        return PQT_ERR_SYNTAX;
    }
    pqt_host_token(&r, &tok, &n); /* rem_address */
    pqt_host_token(&r, &tok, &n); /* st */
    if (pqt_host_hex(tok, n, &v) != 0 || n != 2) {
        return PQT_ERR_SYNTAX;
    }
    out->listening = v == 0x0A;
    /* tx_queue:rx_queue, tr:tm->when, retrnsmt, uid, timeout, then inode */
    for (int i = 0; i < 5; i++) {
        pqt_host_token(&r, &tok, &n);
        if (n == 0) {
            return PQT_ERR_SYNTAX;
        }
    }
    pqt_host_token(&r, &tok, &n);
    if (n == 0 || n > 19) {
        return PQT_ERR_SYNTAX;
    }
    v = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9') {
            return PQT_ERR_SYNTAX;
        }
        v = v * 10 + (uint64_t)(tok[i] - '0');
    }
    out->inode = v;
    return 0;
}

int pqt_host_maps_line_parse(const uint8_t *line, size_t len, pqt_host_map *out)
{
    pqt_reader r = pqt_reader_make(line, len);
    const uint8_t *tok;
    size_t n;
    memset(out, 0, sizeof(*out));
    /* "start-end perms offset dev inode [path]" */
    pqt_host_token(&r, &tok, &n);
    size_t dash = 0;
    while (dash < n && tok[dash] != '-') {
        dash++;
    }
    if (dash == n || pqt_host_hex(tok, dash, &out->start) != 0 ||
        pqt_host_hex(tok + dash + 1, n - dash - 1, &out->end) != 0 || out->end < out->start) {
        return PQT_ERR_SYNTAX;
    }
    pqt_host_token(&r, &tok, &n);
    if (n != 4) {
        return PQT_ERR_SYNTAX;
    }
    memcpy(out->perms, tok, 4);
    out->perms[4] = '\0';
    pqt_host_token(&r, &tok, &n);
    if (pqt_host_hex(tok, n, &out->offset) != 0) {
        return PQT_ERR_SYNTAX;
    }
    pqt_host_token(&r, &tok, &n); /* dev "08:01" */
    if (n < 3) {
        return PQT_ERR_SYNTAX;
    }
    pqt_host_token(&r, &tok, &n);
    if (n == 0 || n > 19) {
        return PQT_ERR_SYNTAX;
    }
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9') {
            return PQT_ERR_SYNTAX;
        }
        out->inode = out->inode * 10 + (uint64_t)(tok[i] - '0');
    }
    /* The path is the rest of the line after the padding; it may hold
     * spaces. "[heap]", "[vdso]" and the like are not files. */
    pqt_host_skip_blanks(&r);
    size_t rest = pqt_reader_left(&r);
    if (rest == 0 || r.p[0] == '[') {
        return 0;
    }
    static const char deleted[] = " (deleted)";
    const size_t dn = sizeof(deleted) - 1;
    if (rest > dn && memcmp(r.p + rest - dn, deleted, dn) == 0) {
        out->deleted = 1;
        rest -= dn;
    }
    out->path = r.p;
    out->path_len = rest;
    return 0;
}

int pqt_host_environ_get(const uint8_t *env, size_t len, const char *name, const uint8_t **value,
                         size_t *value_len)
{
    pqt_reader r = pqt_reader_make(env, len);
    size_t nl = strlen(name);
    while (pqt_reader_left(&r) > 0) {
        const uint8_t *start = r.p;
        size_t n = 0;
        while (pqt_reader_left(&r) > 0 && *r.p != '\0') {
            r.p++;
            n++;
        }
        if (pqt_reader_left(&r) > 0) {
            r.p++; /* the NUL */
        }
        if (n > nl && start[nl] == '=' && memcmp(start, name, nl) == 0) {
            *value = start + nl + 1;
            *value_len = n - nl - 1;
            return 1;
        }
    }
    *value = NULL;
    *value_len = 0;
    return 0;
}

/* The libraries by file name. prefix: the name starts with it (sonames
 * carry versions after). */
static const struct {
    const char *name;
    int prefix;
    int lib;
} lib_names[] = {
    {"libssl.so.3", 0, PQT_HOST_LIB_LIBSSL3},
    {"libssl.so.1.1", 0, PQT_HOST_LIB_LIBSSL11},
    {"libssl.so.1.0", 1, PQT_HOST_LIB_LIBSSL_OLD},
    {"libssl.so.10", 0, PQT_HOST_LIB_LIBSSL_OLD},
    {"libcrypto.so.3", 0, PQT_HOST_LIB_LIBCRYPTO3},
    {"libcrypto.so.1.1", 0, PQT_HOST_LIB_LIBCRYPTO11},
    {"libgnutls.so.", 1, PQT_HOST_LIB_GNUTLS},
    {"libnss3.so", 0, PQT_HOST_LIB_NSS},
    {"libssl3.so", 0, PQT_HOST_LIB_NSS}, /* NSS's SSL library */
    {"libjava.so", 0, PQT_HOST_LIB_JAVA},
    {"libsunec.so", 0, PQT_HOST_LIB_SUNEC},
    {"libwolfssl.so", 1, PQT_HOST_LIB_WOLFSSL},
    {"libmbedtls.so", 1, PQT_HOST_LIB_MBEDTLS},
    {"pqtls.so", 0, PQT_HOST_LIB_PQTLS},
};

int pqt_host_lib_classify(const uint8_t *path, size_t len)
{
    size_t base = len;
    while (base > 0 && path[base - 1] != '/') {
        base--;
    }
    const uint8_t *b = path + base;
    size_t bn = len - base;
    for (size_t i = 0; i < sizeof(lib_names) / sizeof(lib_names[0]); i++) {
        size_t n = strlen(lib_names[i].name);
        if (lib_names[i].prefix ? (bn >= n && memcmp(b, lib_names[i].name, n) == 0)
                                : (bn == n && memcmp(b, lib_names[i].name, n) == 0)) {
            return lib_names[i].lib;
        }
    }
    return PQT_HOST_LIB_NONE;
}

const char *pqt_host_lib_name(int lib)
{
    static const char *const names[PQT_HOST_LIB_COUNT] = {
        "none",           "libssl.so.3",      "libssl.so.1.1", "libssl (OpenSSL 1.0)",
        "libcrypto.so.3", "libcrypto.so.1.1", "GnuTLS",        "NSS",
        "Java (JSSE)",    "Java SunEC",       "wolfSSL",       "Mbed TLS",
        "pqtls.so",
    };
    if (lib < 0 || lib >= PQT_HOST_LIB_COUNT) {
        return NULL;
    }
    return names[lib];
}
