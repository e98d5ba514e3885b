/*
 * Fuzz the OpenSSL configuration reader of `pqtls doctor`
 * (src/host/cnf.c): sections, values, quotes, continuation lines and
 * .include of files and directories, with includes that nest and loop.
 *
 * Input: up to 8 files separated by the byte 0x00; the first is the
 * configuration, "f1".."f7" name the others, and "d" is a directory
 * holding "f1.cnf".."f7.conf" (the same files), so the input can include
 * files, a directory and itself.
 *
 * Properties: nothing crashes or reads out of bounds; the result's
 * strings are terminated; the files read stay within the bound; pqtls is
 * active only when it is listed, and never in a file OpenSSL would ignore.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/host.h"

typedef struct {
    const uint8_t *part[8];
    size_t len[8];
    size_t n;
} files;

static int load(void *ctx, const char *path, int *is_dir, uint8_t **data, size_t *len)
{
    const files *f = ctx;
    *is_dir = 0;
    if (strcmp(path, "d") == 0) {
        static const char dir[] = "f1.cnf\0f2.conf\0x.txt\0f3.cnf\0../f4.cnf\0";
        *data = malloc(sizeof(dir));
        if (*data == NULL) {
            return PQT_ERR_NOMEM;
        }
        memcpy(*data, dir, sizeof(dir));
        *len = sizeof(dir) - 1;
        *is_dir = 1;
        return 0;
    }
    size_t i;
    if (strcmp(path, "top") == 0) {
        i = 0;
    } else if (path[0] == 'f' && path[1] >= '1' && path[1] <= '7') {
        i = (size_t)(path[1] - '0');
    } else if (strncmp(path, "d/f", 3) == 0 && path[3] >= '1' && path[3] <= '7') {
        i = (size_t)(path[3] - '0');
    } else {
        return PQT_ERR_IO;
    }
    if (i >= f->n) {
        return PQT_ERR_IO;
    }
    *data = malloc(f->len[i] + 1);
    if (*data == NULL) {
        return PQT_ERR_NOMEM;
    }
    if (f->len[i] > 0) {
        memcpy(*data, f->part[i], f->len[i]);
    }
    *len = f->len[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    files f = {.n = 0};
    size_t start = 0;
    for (size_t i = 0; i <= size && f.n < 8; i++) {
        if (i == size || data[i] == 0) {
            f.part[f.n] = data + start;
            f.len[f.n] = i - start;
            f.n++;
            start = i + 1;
        }
    }
    pqt_host_cnf c;
    int ret = pqt_host_cnf_eval("top", load, &f, &c);
    FUZZ_CHECK(ret == 0 || ret == PQT_ERR_NOMEM);
    FUZZ_CHECK(memchr(c.problem, 0, sizeof(c.problem)) != NULL);
    FUZZ_CHECK(memchr(c.groups, 0, sizeof(c.groups)) != NULL);
    FUZZ_CHECK(memchr(c.pqtls_module, 0, sizeof(c.pqtls_module)) != NULL);
    FUZZ_CHECK(c.files <= PQT_HOST_CNF_MAX_FILES);
    FUZZ_CHECK(!c.pqtls_active || c.pqtls_listed);
    FUZZ_CHECK(!c.unusable || (!c.pqtls_active && !c.pqtls_active_any));
    FUZZ_CHECK(c.read == (f.n > 0));
    return 0;
}
