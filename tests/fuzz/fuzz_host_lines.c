/*
 * Fuzz the line parsers of `pqtls doctor` (src/host/lines.c): a line of
 * /proc/PID/maps (a process names its mapped files anything), a line of
 * /proc/net/tcp(6), an environ block, and the library classifier that
 * reads a mapped file's name.
 *
 * Input: byte 0 picks the parser (0: maps, 1: tcp, 2: environ), the rest
 * is the line or block.
 *
 * Properties: nothing crashes or reads out of bounds; a parsed maps line
 * has start <= end and a path inside the line; an environ value lies
 * inside the block; every classified library has a name.
 */
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        pqt_host_map m;
        if (pqt_host_maps_line_parse(p, n, &m) == 0) {
            FUZZ_CHECK(m.start <= m.end);
            FUZZ_CHECK(m.perms[4] == '\0');
            if (m.path != NULL) {
                FUZZ_CHECK(m.path >= p && m.path + m.path_len <= p + n);
                int lib = pqt_host_lib_classify(m.path, m.path_len);
                FUZZ_CHECK(lib >= PQT_HOST_LIB_NONE && lib < PQT_HOST_LIB_COUNT);
                FUZZ_CHECK(pqt_host_lib_name(lib) != NULL);
            }
        }
        break;
    }
    case 1: {
        pqt_host_socket s;
        if (pqt_host_tcp_line_parse(p, n, &s) == 0) {
            FUZZ_CHECK(s.listening == 0 || s.listening == 1);
        }
        break;
    }
    default: {
        static const char *const names[] = {"OPENSSL_CONF", "PATH", "A", ""};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            const uint8_t *v;
            size_t vl;
            if (pqt_host_environ_get(p, n, names[i], &v, &vl)) {
                FUZZ_CHECK(v >= p && v + vl <= p + n);
            }
        }
        break;
    }
    }
    return 0;
}
