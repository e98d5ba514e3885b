/*
 * Fuzz reassembly and the TLS stream/handshake logic directly, without a
 * capture format in the way: the input is a script of TCP segments.
 *
 * Each step: 1 byte flags (bit 0: from server, bits 1-3: SYN/FIN/RST,
 * bits 4-6: which of 8 client ports, i.e. which flow; bit 7: jump past the
 * idle timeout), 2 bytes sequence offset, 1 byte length n, then n payload
 * bytes. Sequence numbers start near 2^32 so wrap-around is always
 * exercised.
 *
 * The script runs twice: with room to spare (a 32 KiB buffer budget), and
 * under flow pressure (the smallest memory limit pqt_obs_new accepts, 16
 * KiB beside the fixed part, and a buffer budget as large: buffered hellos
 * of a few flows fill the memory, so the oldest flows are evicted, and a
 * flow that fills it alone meets the budget; hellos whole in one segment
 * are read in place).
 *
 * Properties: no crash or over-read; at most one record per flow; outputs
 * (JSON, table, Prometheus) accept every record; the buffer budget returns
 * to zero and the memory to the fixed part; the memory limit holds; every
 * eviction is counted and its record says evicted; every record names an
 * application protocol and how it was found (the tight run also maps the
 * server port with --app-port's table); every hello gets a client library
 * from the built-in family rules. The input's two halves are also
 * given to the preamble classifier directly, as a client's and a server's
 * cleartext.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/observe.h"

static FILE *devnull;
static unsigned records, evicted, evicted_memory;

static void on_hs(const pqt_obs_handshake *hs, void *arg)
{
    pqt_obs_agg *agg = arg;
    records++;
    evicted += hs->outcome == PQT_OBS_EVICTED;
    evicted_memory += (hs->anomalies & PQT_OBS_A_MEMORY) != 0;
    FUZZ_CHECK(pqt_obs_write_json(devnull, hs, NULL) == 0);
    FUZZ_CHECK(hs->ja4[0] == 0 || strlen(hs->ja4) == PQT_JA4_LEN);
    FUZZ_CHECK(!hs->has_ch || hs->ja4_r != NULL);
    FUZZ_CHECK((unsigned)hs->app_protocol < PQT_OBS_N_APPS);
    FUZZ_CHECK((hs->app_protocol == PQT_OBS_APP_UNKNOWN) ==
               (hs->app_source == PQT_OBS_APP_BY_NONE));
    /* every hello is classified by the built-in rules; no hello, no basis */
    FUZZ_CHECK((unsigned)hs->client_library < PQT_OBS_N_LIBRARIES && hs->client_family != NULL);
    FUZZ_CHECK(hs->has_ch || hs->family_basis == PQT_OBS_BASIS_NONE);
    pqt_obs_agg_add(agg, hs);
}

static void run(const uint8_t *data, size_t size, const pqt_obs_config *base)
{
    pqt_obs *obs = NULL;
    pqt_obs_agg *agg = NULL;
    FUZZ_CHECK(pqt_obs_agg_new(NULL, &agg) == 0);
    pqt_obs_config cfg = *base;
    cfg.on_handshake = on_hs;
    cfg.arg = agg;
    FUZZ_CHECK(pqt_obs_new(&cfg, &obs) == 0);
    size_t fixed = pqt_obs_get_stats(obs)->memory_bytes;
    records = evicted = evicted_memory = 0;
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
        uint16_t cport = (uint16_t)(5555 + ((fl >> 4) & 7));
        p.ip_version = 4;
        memcpy(p.src, server ? "\x02\x02\x02\x02" : "\x01\x01\x01\x01", 4);
        memcpy(p.dst, server ? "\x01\x01\x01\x01" : "\x02\x02\x02\x02", 4);
        p.sport = server ? 443 : cport;
        p.dport = server ? cport : 443;
        p.seq = (server ? 0x7FFFFF00u : 0xFFFFFF00u) + off;
        p.ack = 0;
        p.flags = (uint8_t)(PQT_TCP_ACK | ((fl & 2) ? PQT_TCP_SYN : 0) |
                            ((fl & 4) ? PQT_TCP_FIN : 0) | ((fl & 8) ? PQT_TCP_RST : 0));
        p.ttl = 64;
        p.payload = data + i;
        p.payload_len = n;
        pqt_obs_segment(obs, t, &p);
        const pqt_obs_stats *st = pqt_obs_get_stats(obs);
        FUZZ_CHECK(st->memory_bytes <= st->memory_limit && st->memory_peak <= st->memory_limit);
        t += (fl & 0x80) ? 40000000u : 1000u; /* sometimes jump past the idle timeout */
        i += n;
    }
    pqt_obs_finish(obs);
    const pqt_obs_stats *st = pqt_obs_get_stats(obs);
    FUZZ_CHECK(st->buffered_bytes == 0 && records == st->handshakes && records <= st->flows);
    FUZZ_CHECK(st->memory_bytes == fixed && st->memory_peak <= st->memory_limit);
    FUZZ_CHECK(evicted == st->outcomes[PQT_OBS_EVICTED] && evicted <= st->flows_evicted);
    FUZZ_CHECK(evicted_memory <= st->flows_evicted_memory &&
               st->flows_evicted_memory <= st->flows_evicted);
    FUZZ_CHECK(pqt_obs_agg_write_table(agg, st, devnull) == 0);
    FUZZ_CHECK(pqt_obs_agg_write_prom(agg, st, devnull) == 0);
    pqt_obs_free(obs);
    pqt_obs_agg_free(agg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static size_t tight_memory;
    static pqt_obs_families *families; /* the built-in client family rules */
    if (devnull == NULL) {
        devnull = fopen("/dev/null", "w");
        FUZZ_CHECK(devnull != NULL);
        FUZZ_CHECK(pqt_obs_families_new(&families) == 0);
    }
    uint16_t port = 1;
    pqt_obs_app_protocol app =
        pqt_obs_app_from_preamble(data, size / 2, data + size / 2, size - size / 2, &port);
    FUZZ_CHECK((unsigned)app < PQT_OBS_N_APPS && (app == PQT_OBS_APP_UNKNOWN || port == 0));

    pqt_obs_config roomy = {.max_buffer_bytes = 1 << 15, .families = families};
    run(data, size, &roomy);

    static const pqt_obs_app_port ports[] = {{443, PQT_OBS_APP_IMAP}};
    pqt_obs_config tight = {.max_flows = 8, .max_buffer_bytes = 16u << 10, .families = families};
    tight.app_ports = ports;
    tight.n_app_ports = 1;
    if (tight_memory == 0) {
        /* The smallest limit pqt_obs_new accepts for this table: the fixed
         * part (the same for every limit that holds 8 flows) + 16 KiB. */
        pqt_obs *probe = NULL;
        tight.max_memory_bytes = 1 << 20;
        FUZZ_CHECK(pqt_obs_new(&tight, &probe) == 0);
        tight_memory = pqt_obs_get_stats(probe)->memory_bytes + (16u << 10);
        pqt_obs_free(probe);
        tight.max_memory_bytes = tight_memory - 1;
        probe = NULL;
        FUZZ_CHECK(pqt_obs_new(&tight, &probe) == PQT_ERR_ARG && probe == NULL);
    }
    tight.max_memory_bytes = tight_memory;
    run(data, size, &tight);
    return 0;
}
