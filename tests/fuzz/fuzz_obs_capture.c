/*
 * Fuzz the observer end to end from a capture file: libpcap's reader (pcap
 * and pcapng, through pqt_capture), the frame decoder, flow table,
 * reassembly, TLS stream, hello parsers, JA4 and the JSON output.
 *
 * Properties: no crash or out-of-bounds access; every record is valid
 * JSON-able (the writer reports no error); the buffer budget is fully
 * returned after pqt_obs_finish.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "pqtls/observe.h"

static FILE *devnull;

static void on_hs(const pqt_obs_handshake *hs, void *arg)
{
    (void)arg;
    FUZZ_CHECK(pqt_obs_write_json(devnull, hs, NULL) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    pqt_capture *cap = NULL;
    pqt_obs *obs = NULL;
    pqt_obs_config cfg = {.max_flows = 8, .max_buffer_bytes = 1 << 16, .on_handshake = on_hs};
    if (devnull == NULL) {
        devnull = fopen("/dev/null", "w");
        FUZZ_CHECK(devnull != NULL);
    }
    int fd = memfd_create("fuzz-capture", 0);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    FUZZ_CHECK(pqt_obs_new(&cfg, &obs) == 0);
    if (pqt_capture_open_file(path, &cap, err, sizeof(err)) == 0) {
        int lt = pqt_capture_linktype(cap);
        uint64_t ts;
        const uint8_t *frame;
        size_t caplen, wirelen;
        for (int i = 0; i < 10000; i++) {
            int r = pqt_capture_next(cap, &ts, &frame, &caplen, &wirelen, err, sizeof(err));
            if (r <= 0) {
                break;
            }
            pqt_obs_frame(obs, lt, ts, frame, caplen, wirelen);
        }
        pqt_capture_close(cap);
    }
    pqt_obs_finish(obs);
    FUZZ_CHECK(pqt_obs_get_stats(obs)->buffered_bytes == 0);
    pqt_obs_free(obs);
    close(fd);
    return 0;
}
