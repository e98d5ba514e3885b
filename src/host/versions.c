/*
 * Which TLS implementation an executable or library carries, from what is
 * visible in its bytes: OpenSSL's and LibreSSL's version text
 * (OPENSSL_VERSION_TEXT, "OpenSSL 3.0.19 27 Jan 2026"), BoringSSL's name,
 * and the Go build information of a Go program (the section .go.buildinfo:
 * Go's crypto/tls is then the TLS library, and its version decides the
 * groups). Files are read with a bound on the bytes read.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_internal.h"

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* "X.Y.Z[letters]" then blanks then a digit (the date), as
 * OPENSSL_VERSION_TEXT has it; *vlen is the length of "X.Y.Z[letters]". */
static int version_at(const uint8_t *p, size_t n, size_t *vlen)
{
    pqt_reader r = pqt_reader_make(p, n);
    size_t len = 0;
    for (int part = 0; part < 3; part++) {
        size_t digits = 0;
        while (pqt_reader_left(&r) > 0 && is_digit(*r.p) && digits < 3) {
            r.p++;
            digits++;
            len++;
        }
        if (digits == 0) {
            return 0;
        }
        if (part < 2) {
            if (pqt_reader_left(&r) == 0 || *r.p != '.') {
                return 0;
            }
            r.p++;
            len++;
        }
    }
    while (pqt_reader_left(&r) > 0 && *r.p >= 'a' && *r.p <= 'z' && len < 20) {
        r.p++;
        len++;
    }
    size_t blanks = 0;
    while (pqt_reader_left(&r) > 0 && *r.p == ' ') {
        r.p++;
        blanks++;
    }
    if (blanks == 0 || pqt_reader_left(&r) == 0 || !is_digit(*r.p)) {
        return 0;
    }
    *vlen = len;
    return 1;
}

static void find_versioned(const uint8_t *p, size_t n, const char *word, char *dst, size_t cap)
{
    size_t wl = strlen(word);
    const uint8_t *at = p, *end = p + n;
    while (dst[0] == '\0' && (size_t)(end - at) > wl) {
        const uint8_t *hit = memmem(at, (size_t)(end - at), word, wl);
        if (hit == NULL) {
            return;
        }
        size_t vlen;
        const uint8_t *v = hit + wl;
        if (version_at(v, (size_t)(end - v), &vlen)) {
            pqt_host_copy(dst, cap, hit, wl + vlen);
        }
        at = hit + 1;
    }
}

static const uint8_t go_magic[14] = {0xff, ' ', 'G', 'o', ' ', 'b', 'u',
                                     'i',  'l', 'd', 'i', 'n', 'f', ':'};

/* The Go build information header at p (16 bytes, then for Go 1.18+ with
 * flag 2 the version as a uvarint-prefixed string at offset 32). */
static int go_buildinfo(const uint8_t *p, size_t n, pqt_host_versions *v)
{
    pqt_reader r = pqt_reader_make(p, n);
    const uint8_t *magic;
    uint8_t ptrsize, flags;
    if (pqt_reader_bytes(&r, sizeof(go_magic), &magic) != 0 ||
        memcmp(magic, go_magic, sizeof(go_magic)) != 0 || pqt_reader_u8(&r, &ptrsize) != 0 ||
        pqt_reader_u8(&r, &flags) != 0) {
        return PQT_ERR_SYNTAX;
    }
    v->go_seen = 1;
    if ((flags & 2) == 0) {
        return 0; /* before Go 1.18: pointers into the data, not followed here */
    }
    if (pqt_reader_skip(&r, 16) != 0) {
        return PQT_ERR_TRUNCATED;
    }
    uint64_t len = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b;
        if (shift > 63 || pqt_reader_u8(&r, &b) != 0) {
            return PQT_ERR_TRUNCATED;
        }
        len |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            break;
        }
    }
    const uint8_t *s;
    if (len == 0 || len > 64 || pqt_reader_bytes(&r, (size_t)len, &s) != 0) {
        return PQT_ERR_SYNTAX;
    }
    if (v->go[0] == '\0') {
        pqt_host_copy(v->go, sizeof(v->go), s, (size_t)len);
    }
    return 0;
}

void pqt_host_versions_scan(const uint8_t *p, size_t n, pqt_host_versions *v)
{
    if (p == NULL || n == 0) {
        return;
    }
    if (v->openssl[0] == '\0') {
        find_versioned(p, n, "OpenSSL ", v->openssl, sizeof(v->openssl));
    }
    if (v->libressl[0] == '\0') {
        find_versioned(p, n, "LibreSSL ", v->libressl, sizeof(v->libressl));
    }
    if (!v->boringssl && memmem(p, n, "BoringSSL", 9) != NULL) {
        v->boringssl = 1;
    }
    if (!v->go_seen) {
        /* The header starts its section, which Go aligns to 16 bytes; a
         * buffer need not start at a section, so look everywhere. */
        const uint8_t *at = p, *end = p + n;
        while ((size_t)(end - at) >= sizeof(go_magic)) {
            const uint8_t *hit = memmem(at, (size_t)(end - at), go_magic, sizeof(go_magic));
            if (hit == NULL) {
                break;
            }
            if (go_buildinfo(hit, (size_t)(end - hit), v) == 0) {
                break;
            }
            at = hit + 1;
        }
    }
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i > 0; i--) {
        v = (v << 8) | p[i - 1];
    }
    return v;
}

/* A little-endian field of n bytes from a reader. */
static int rd_le(pqt_reader *r, unsigned n, uint64_t *v)
{
    const uint8_t *p;
    int ret = pqt_reader_bytes(r, n, &p);
    if (ret == 0) {
        *v = le(p, n);
    }
    return ret;
}

#define ELF_MAX_SECTIONS 4096
#define ELF_MAX_NAMES (64u * 1024)

int pqt_host_elf_go_version(pqt_host_read_fn read, void *ctx, uint64_t size, pqt_host_versions *v)
{
    uint8_t eh[64];
    uint8_t *shdrs = NULL, *names = NULL;
    int ret;
    if (size < sizeof(eh)) {
        return PQT_ERR_UNSUPPORTED;
    }
    if ((ret = read(ctx, 0, eh, sizeof(eh))) != 0) {
        return ret;
    }
    /* ELF64 little-endian (x86_64, aarch64): e_ident, then the header. */
    if (memcmp(eh, "\177ELF", 4) != 0 || eh[4] != 2 || eh[5] != 1) {
        return PQT_ERR_UNSUPPORTED;
    }
    pqt_reader r = pqt_reader_make(eh, sizeof(eh));
    uint64_t shoff, shentsize, shnum, shstrndx;
    if (pqt_reader_skip(&r, 0x28) != 0 || rd_le(&r, 8, &shoff) != 0 ||
        pqt_reader_skip(&r, 0x3A - 0x30) != 0 || rd_le(&r, 2, &shentsize) != 0 ||
        rd_le(&r, 2, &shnum) != 0 || rd_le(&r, 2, &shstrndx) != 0) {
        return PQT_ERR_TRUNCATED;
    }
    if (shnum == 0 || shentsize < 64 || shnum > ELF_MAX_SECTIONS || shstrndx >= shnum) {
        return shnum == 0 ? PQT_ERR_UNSUPPORTED : PQT_ERR_SYNTAX;
    }
    uint64_t table = shnum * shentsize;
    if (shoff > size || table > size - shoff) {
        return PQT_ERR_TRUNCATED;
    }
    shdrs = malloc((size_t)table);
    if (shdrs == NULL) {
        return PQT_ERR_NOMEM;
    }
    if ((ret = read(ctx, shoff, shdrs, (size_t)table)) != 0) {
        goto cleanup;
    }
    /* The section names: sh_name indexes the section shstrndx. */
    uint64_t noff, nsize;
    {
        pqt_reader s = pqt_reader_make(shdrs + shstrndx * shentsize, (size_t)shentsize);
        if (pqt_reader_skip(&s, 24) != 0 || rd_le(&s, 8, &noff) != 0 || rd_le(&s, 8, &nsize) != 0) {
            ret = PQT_ERR_TRUNCATED;
            goto cleanup;
        }
    }
    if (nsize > ELF_MAX_NAMES) {
        nsize = ELF_MAX_NAMES;
    }
    if (noff > size || nsize > size - noff) {
        ret = PQT_ERR_TRUNCATED;
        goto cleanup;
    }
    names = malloc((size_t)nsize + 1);
    if (names == NULL) {
        ret = PQT_ERR_NOMEM;
        goto cleanup;
    }
    if ((ret = read(ctx, noff, names, (size_t)nsize)) != 0) {
        goto cleanup;
    }
    names[nsize] = '\0';
    ret = PQT_ERR_UNSUPPORTED;
    for (uint64_t i = 0; i < shnum; i++) {
        pqt_reader s = pqt_reader_make(shdrs + i * shentsize, (size_t)shentsize);
        uint64_t name, off, len;
        if (rd_le(&s, 4, &name) != 0 || pqt_reader_skip(&s, 20) != 0 || rd_le(&s, 8, &off) != 0 ||
            rd_le(&s, 8, &len) != 0) {
            ret = PQT_ERR_TRUNCATED;
            goto cleanup;
        }
        static const char want[] = ".go.buildinfo";
        if (name >= nsize || nsize - name < sizeof(want) ||
            memcmp(names + name, want, sizeof(want)) != 0) {
            continue;
        }
        /* Header (32) + a varint and a version string of at most 64 bytes. */
        uint8_t head[32 + 10 + 64];
        size_t want_n = len < sizeof(head) ? (size_t)len : sizeof(head);
        if (off > size || want_n > size - off) {
            ret = PQT_ERR_TRUNCATED;
            goto cleanup;
        }
        if ((ret = read(ctx, off, head, want_n)) != 0) {
            goto cleanup;
        }
        ret = go_buildinfo(head, want_n, v);
        break;
    }
cleanup:
    free(shdrs);
    free(names);
    return ret;
}

static int pread_all(void *ctx, uint64_t offset, uint8_t *buf, size_t n)
{
    int fd = *(int *)ctx;
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(fd, buf + done, n - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return PQT_ERR_IO;
        }
        done += (size_t)got;
    }
    return 0;
}

#define CHUNK (1u << 20)

int pqt_host_versions_file(const char *path, uint64_t max_bytes, pqt_host_versions *v)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return PQT_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return PQT_ERR_IO;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint8_t *buf = malloc(CHUNK + PQT_HOST_VERSION_OVERLAP);
    if (buf == NULL) {
        close(fd);
        return PQT_ERR_NOMEM;
    }
    /* Chunks that overlap by PQT_HOST_VERSION_OVERLAP bytes, so a string
     * across a chunk boundary is seen whole. */
    size_t keep = 0;
    uint64_t off = 0, limit = size < max_bytes ? size : max_bytes;
    int ret = 0;
    while (off < limit) {
        size_t n = limit - off < CHUNK ? (size_t)(limit - off) : CHUNK;
        if ((ret = pread_all(&fd, off, buf + keep, n)) != 0) {
            break;
        }
        pqt_host_versions_scan(buf, keep + n, v);
        off += n;
        size_t total = keep + n;
        keep = total < PQT_HOST_VERSION_OVERLAP ? total : PQT_HOST_VERSION_OVERLAP;
        memmove(buf, buf + total - keep, keep);
    }
    free(buf);
    if (ret == 0 && !v->go_seen) {
        /* Not an ELF file, or no Go: nothing more to learn. */
        int go = pqt_host_elf_go_version(pread_all, &fd, size, v);
        (void)go;
    }
    close(fd);
    return ret;
}
