/*
 * Fuzz reassembly and the TLS stream/handshake logic directly, without a
 * capture format in the way: the input is a script of TCP segments.
 *
 * Each step: 1 byte flags (bit 0: from server, bits 1-3: SYN/FIN/RST),
 * 2 bytes sequence offset, 1 byte length n, then n payload bytes. Sequence
 * numbers start near 2^32 so wrap-around is always exercised.
 *
 * Properties: no crash or over-read; at most one record per flow; outputs
 * (JSON, table, Prometheus) accept every record; the buffer budget returns
 * to zero.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/observe.h"

static FILE *devnull;
static unsigned records;

static void on_hs(const pqt_obs_handshake *hs, void *arg)
{
    pqt_obs_agg *agg = arg;
    records++;
    FUZZ_CHECK(pqt_obs_write_json(devnull, hs, NULL) == 0);
    FUZZ_CHECK(hs->ja4[0] == 0 || strlen(hs->ja4) == PQT_JA4_LEN);
    pqt_obs_agg_add(agg, hs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pqt_obs *obs = NULL;
    pqt_obs_agg *agg = NULL;
    if (devnull == NULL) {
        devnull = fopen("/dev/null", "w");
        FUZZ_CHECK(devnull != NULL);
    }
    FUZZ_CHECK(pqt_obs_agg_new(NULL, &agg) == 0);
    pqt_obs_config cfg = {.max_buffer_bytes = 1 << 15, .on_handshake = on_hs, .arg = agg};
    FUZZ_CHECK(pqt_obs_new(&cfg, &obs) == 0);
    records = 0;
    size_t i = 0;
    uint64_t t = 1;
    while (i + 4 <= size) {
        uint8_t fl = data[i];
        uint32_t off = (uint32_t)((data[i + 1] << 8) | data[i + 2]);
        size_t n = data[i + 3];
        i += 4;
        if (n > size - i) {
            n = size - i;
        }
        pqt_packet p;
        memset(&p, 0, sizeof(p));
        int server = fl & 1;
        p.ip_version = 4;
        memcpy(p.src, server ? "\x02\x02\x02\x02" : "\x01\x01\x01\x01", 4);
        memcpy(p.dst, server ? "\x01\x01\x01\x01" : "\x02\x02\x02\x02", 4);
        p.sport = server ? 443 : 5555;
        p.dport = server ? 5555 : 443;
        p.seq = (server ? 0x7FFFFF00u : 0xFFFFFF00u) + off;
        p.ack = 0;
        p.flags = (uint8_t)(PQT_TCP_ACK | ((fl & 2) ? PQT_TCP_SYN : 0) |
                            ((fl & 4) ? PQT_TCP_FIN : 0) | ((fl & 8) ? PQT_TCP_RST : 0));
        p.ttl = 64;
        p.payload = data + i;
        p.payload_len = n;
        pqt_obs_segment(obs, t, &p);
        t += (fl & 0x80) ? 40000000u : 1000u; /* sometimes jump past the idle timeout */
        i += n;
    }
    pqt_obs_finish(obs);
    const pqt_obs_stats *st = pqt_obs_get_stats(obs);
    FUZZ_CHECK(st->buffered_bytes == 0 && records == st->handshakes && records <= st->flows);
    FUZZ_CHECK(pqt_obs_agg_write_table(agg, st, devnull) == 0);
    FUZZ_CHECK(pqt_obs_agg_write_prom(agg, st, devnull) == 0);
    pqt_obs_free(obs);
    pqt_obs_agg_free(agg);
    return 0;
}
