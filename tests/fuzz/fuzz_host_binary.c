/*
 * Fuzz the executable readers of `pqtls doctor` (src/host/versions.c):
 * the version-string scanner (OpenSSL, LibreSSL, BoringSSL, the Go build
 * information header) and the ELF section walk that finds
 * .go.buildinfo, over the input as the file.
 *
 * Properties: nothing crashes or reads out of bounds (the ELF reader
 * reads only through the callback, which checks every range); the
 * version strings are terminated and start with their library's name.
 */
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/host.h"

typedef struct {
    const uint8_t *p;
    size_t n;
} image;

static int rd(void *ctx, uint64_t off, uint8_t *buf, size_t n)
{
    const image *im = ctx;
    FUZZ_CHECK(off <= im->n && n <= im->n - off);
    memcpy(buf, im->p + off, n);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pqt_host_versions v;
    memset(&v, 0, sizeof(v));
    pqt_host_versions_scan(data, size, &v);
    FUZZ_CHECK(memchr(v.openssl, 0, sizeof(v.openssl)) != NULL);
    FUZZ_CHECK(memchr(v.go, 0, sizeof(v.go)) != NULL);
    FUZZ_CHECK(v.openssl[0] == '\0' || strncmp(v.openssl, "OpenSSL ", 8) == 0);
    FUZZ_CHECK(v.libressl[0] == '\0' || strncmp(v.libressl, "LibreSSL ", 9) == 0);
    FUZZ_CHECK(v.go[0] == '\0' || v.go_seen);
    pqt_host_versions e;
    memset(&e, 0, sizeof(e));
    image im = {data, size};
    int ret = pqt_host_elf_go_version(rd, &im, size, &e);
    FUZZ_CHECK(ret <= 0);
    FUZZ_CHECK(memchr(e.go, 0, sizeof(e.go)) != NULL);
    return 0;
}
