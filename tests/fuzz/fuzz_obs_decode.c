/*
 * Fuzz the frame decoder (link layer, VLAN, IPv4/IPv6 with extension
 * headers, TCP) and JA4 over any ClientHello the bytes happen to hold.
 *
 * Input: byte 0 picks the link type, the rest is the frame in an
 * exact-size buffer. Properties: no over-read; a decoded payload lies
 * inside the frame; a ClientHello that parses gets a 36-character JA4.
 */
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/ja4.h"
#include "pqtls/observe.h"

static const int linktypes[] = {PQT_LINK_NULL, PQT_LINK_ETHERNET,  PQT_LINK_RAW,
                                PQT_LINK_LOOP, PQT_LINK_LINUX_SLL, PQT_LINK_IPV4,
                                PQT_LINK_IPV6, PQT_LINK_LINUX_SLL2};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t n = size - 1;
    uint8_t *in = malloc(n ? n : 1);
    FUZZ_CHECK(in != NULL);
    memcpy(in, data + 1, n);
    pqt_packet p;
    int lt = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
    if (pqt_packet_decode(lt, in, n, &p) == 0) {
        FUZZ_CHECK(p.payload >= in && p.payload + p.payload_len <= in + n);
        FUZZ_CHECK(p.ip_version == 4 || p.ip_version == 6);
    }
    /* The same bytes as a ClientHello body. */
    pqt_client_hello ch;
    if (pqt_hello_parse_client(in, n, &ch) == 0) {
        char ja4[PQT_JA4_SIZE], raw[1024];
        FUZZ_CHECK(pqt_ja4(&ch, PQT_JA4_TCP, ja4, raw, sizeof(raw)) == 0);
        FUZZ_CHECK(strlen(ja4) == PQT_JA4_LEN && ja4[10] == '_' && ja4[23] == '_');
    }
    free(in);
    return 0;
}
