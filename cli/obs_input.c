#define _POSIX_C_SOURCE 200809L
/*
 * Captures into the observer (obs_input.h): the file loop `pqtls observe`
 * has always had, shared with `pqtls advise`, and a plain live loop.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "obs_input.h"
#include "util.h"

void cli_obs_progress(const char *cmd, const pqt_obs_stats *st, int final)
{
    fprintf(stderr, "\rpqtls: %s: %llu packets, %llu handshakes%s", cmd,
            (unsigned long long)st->packets, (unsigned long long)st->handshakes,
            final ? "\n" : "   ");
}

int cli_obs_feed_file(const char *cmd, pqt_obs *obs, const char *path, int show_progress,
                      volatile sig_atomic_t *stop)
{
    char err[512];
    pqt_capture *cap = NULL;
    int ret = pqt_capture_open_file(path, &cap, err, sizeof(err));
    if (ret != 0) {
        const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
        if (ret == PQT_ERR_IO) {
            cli_error(cmd, "cannot open '%s': %s", name, err);
            return CLI_EXIT_IO;
        }
        cli_error(cmd,
                  "'%s' is not a readable pcap/pcapng capture (%s); check the file, "
                  "or decompress it if it is not gzip",
                  name, err);
        return CLI_EXIT_FAILED;
    }
    int lt = pqt_capture_linktype(cap);
    if (!pqt_linktype_supported(lt)) {
        cli_error(cmd,
                  "'%s': link type %d is not supported (supported: Ethernet 1, "
                  "BSD loopback 0/108, raw IP 101, Linux SLL 113, SLL2 276, IPv4 228, IPv6 229)",
                  path, lt);
        pqt_capture_close(cap);
        return CLI_EXIT_UNSUPPORTED;
    }
    uint64_t ts;
    const uint8_t *frame;
    size_t caplen, wirelen;
    int status = CLI_EXIT_OK;
    time_t last = time(NULL);
    for (;;) {
        int r = pqt_capture_next(cap, &ts, &frame, &caplen, &wirelen, err, sizeof(err));
        if (r == 0) {
            break;
        }
        if (r < 0) {
            cli_error(cmd,
                      "'%s' is %s after %llu packets (%s); the handshakes read so far "
                      "are reported, unfinished ones as 'truncated'",
                      path, r == PQT_ERR_TRUNCATED ? "truncated" : "corrupt",
                      (unsigned long long)pqt_obs_get_stats(obs)->packets, err);
            status = CLI_EXIT_FAILED;
            break;
        }
        pqt_obs_frame(obs, lt, ts, frame, caplen, wirelen);
        if (show_progress && (pqt_obs_get_stats(obs)->packets & 0xFFFF) == 0 &&
            time(NULL) != last) {
            last = time(NULL);
            cli_obs_progress(cmd, pqt_obs_get_stats(obs), 0);
        }
        if (*stop) {
            break;
        }
    }
    pqt_capture_close(cap);
    return status;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int cli_obs_feed_live(const char *cmd, pqt_obs *obs, const char *iface, const char *bpf,
                      int promisc, uint64_t duration_s, uint64_t count, volatile sig_atomic_t *stop,
                      uint64_t *dropped)
{
    char err[512];
    pqt_capture *cap = NULL;
    *dropped = 0;
    int ret = pqt_capture_open_live(iface, bpf, promisc, &cap, err, sizeof(err));
    if (ret != 0) {
        cli_error(cmd, "cannot capture on '%s': %s", iface, err);
        return ret == PQT_ERR_SYNTAX ? CLI_EXIT_USAGE : CLI_EXIT_UNSUPPORTED;
    }
    int lt = pqt_capture_linktype(cap);
    if (!pqt_linktype_supported(lt)) {
        cli_error(cmd, "interface '%s' has link type %d, which is not supported", iface, lt);
        pqt_capture_close(cap);
        return CLI_EXIT_UNSUPPORTED;
    }
    uint64_t start = now_us();
    int status = CLI_EXIT_OK;
    while (!*stop) {
        struct pollfd p = {.fd = pqt_capture_fd(cap), .events = POLLIN};
        if (poll(&p, 1, 200) < 0 && errno != EINTR) {
            status = CLI_EXIT_IO;
            break;
        }
        for (int i = 0; i < 1000; i++) {
            uint64_t ts;
            const uint8_t *frame;
            size_t caplen, wirelen;
            int r = pqt_capture_next(cap, &ts, &frame, &caplen, &wirelen, err, sizeof(err));
            if (r <= 0) {
                if (r < 0) {
                    cli_error(cmd, "capture on '%s' failed: %s", iface, err);
                    status = CLI_EXIT_IO;
                    *stop = 1;
                }
                break;
            }
            pqt_obs_frame(obs, lt, ts, frame, caplen, wirelen);
        }
        uint64_t now = now_us();
        pqt_obs_expire(obs, now);
        if ((count && pqt_obs_get_stats(obs)->handshakes >= count) ||
            (duration_s && now - start >= duration_s * 1000000u)) {
            break;
        }
    }
    *dropped = pqt_capture_dropped(cap);
    pqt_capture_close(cap);
    return status;
}

int cli_obs_load_families(const char *cmd, const char *path, pqt_obs_families **fam)
{
    if (pqt_obs_families_new(fam) != 0) {
        return CLI_EXIT_INTERNAL;
    }
    if (path == NULL) {
        return CLI_EXIT_OK;
    }
    unsigned line = 0;
    int ret = pqt_obs_families_load(*fam, path, &line);
    if (ret == PQT_ERR_IO) {
        cli_error(cmd, "cannot read --families '%s': %s", path, strerror(errno));
        return CLI_EXIT_IO;
    }
    if (ret == PQT_ERR_LENGTH) {
        cli_error(cmd, "--families '%s' is larger than 16 MiB; it cannot be a rules file", path);
        return CLI_EXIT_USAGE;
    }
    if (ret != 0) {
        cli_error(cmd,
                  "--families '%s' line %u: expected 'JA4 FAMILY' (JA4 is 36 characters "
                  "like t13d1516h2_8daaf6152771_e5627efa2ab1 or a prefix ending in '*'), "
                  "'ja4 JA4 LIBRARY FAMILY', 'rule LIBRARY FAMILY' or a condition of a rule "
                  "such as 'ext-has 001c'; see docs/observe.md, \"Client families\"",
                  path, line);
        return ret == PQT_ERR_SYNTAX ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
    }
    return CLI_EXIT_OK;
}
