/*
 * Fuzz the observer end to end from a capture file: the capture readers
 * (pqt_capture: the mmap reader for classic pcap, libpcap for pcapng and
 * the rest), the frame decoder, flow table, reassembly, TLS stream, hello
 * parsers, JA4 and the JSON output.
 *
 * Properties: no crash or out-of-bounds access; the mmap reader, mapping
 * one page at a time so that records straddle windows, yields exactly what
 * libpcap yields (frames, timestamps, lengths, link type, the error and its
 * message); every record is valid JSON-able (the writer reports no error);
 * the buffer budget is fully returned after pqt_obs_finish, and so is all
 * the memory the flows held (back to the fixed part).
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
    size_t fixed = pqt_obs_get_stats(obs)->memory_bytes;
    pqt_capture *ref = NULL;
    char rerr[512];
    pqt_capture_opts mm = {.flags = 0, .map_window = 1}, lp = {.flags = PQT_CAPTURE_LIBPCAP};
    int r1 = pqt_capture_open_file_opts(path, &mm, &cap, err, sizeof(err));
    int r2 = pqt_capture_open_file_opts(path, &lp, &ref, rerr, sizeof(rerr));
    FUZZ_CHECK(r1 == r2);
    if (r1 == 0) {
        int lt = pqt_capture_linktype(cap);
        FUZZ_CHECK(lt == pqt_capture_linktype(ref));
        for (int i = 0; i < 10000; i++) {
            uint64_t ts, rts;
            const uint8_t *frame, *rframe;
            size_t caplen, wirelen, rcaplen, rwirelen;
            int r = pqt_capture_next(cap, &ts, &frame, &caplen, &wirelen, err, sizeof(err));
            int rr = pqt_capture_next(ref, &rts, &rframe, &rcaplen, &rwirelen, rerr, sizeof(rerr));
            FUZZ_CHECK(r == rr);
            if (r <= 0) {
                if (r < 0 && strcmp(err, rerr) != 0) {
                    fprintf(stderr, "mmap reader: %s\nlibpcap: %s\n", err, rerr);
                }
                FUZZ_CHECK(r == 0 || strcmp(err, rerr) == 0);
                break;
            }
            FUZZ_CHECK(ts == rts && caplen == rcaplen && wirelen == rwirelen);
            FUZZ_CHECK(memcmp(frame, rframe, caplen) == 0);
            pqt_obs_frame(obs, lt, ts, frame, caplen, wirelen);
        }
    }
    if (cap != NULL) {
        pqt_capture_close(cap);
    }
    if (ref != NULL) {
        pqt_capture_close(ref);
    }
    pqt_obs_finish(obs);
    FUZZ_CHECK(pqt_obs_get_stats(obs)->buffered_bytes == 0);
    FUZZ_CHECK(pqt_obs_get_stats(obs)->memory_bytes == fixed);
    pqt_obs_free(obs);
    close(fd);
    return 0;
}
