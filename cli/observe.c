/*
 * `pqtls observe`: TLS handshakes from capture files or a live interface,
 * as JSON Lines, a summary table or Prometheus metrics (src/observe/).
 */
#define _GNU_SOURCE /* open_memstream, strdup */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pqtls/observe.h"
#include "util.h"

enum { FMT_JSONL, FMT_TABLE, FMT_PROM };

typedef struct {
    int format;
    FILE *out;
    const char *out_path;
    pqt_obs_output_opts oopts;
    pqt_obs_agg *agg;
    int write_err;
} run_ctx;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void cli_help_observe(FILE *out)
{
    fputs("Usage: pqtls observe [OPTIONS] FILE...\n"
          "       pqtls observe [OPTIONS] -i IFACE [BPF FILTER...]\n"
          "\n"
          "Reads pcap or pcapng captures (several files are one continuous capture;\n"
          "'-' is standard input; gzip-compressed files are recognised) or a live\n"
          "interface, reassembles TCP, and reports every TLS handshake: SNI, ALPN,\n"
          "versions, cipher suites, groups and key shares offered, JA4, the\n"
          "negotiated version, cipher and group (TLS 1.3 key_share or TLS 1.2\n"
          "ServerKeyExchange), HelloRetryRequests, the outcome (completed, alert,\n"
          "reset or close after the ClientHello, timeout, truncated, gap, evicted),\n"
          "the client family and the network path. Schema: docs/observe.md.\n"
          "\n"
          "Output:\n"
          "  --format jsonl|table|prom   one JSON object per handshake (default), a\n"
          "                              summary table, or Prometheus text metrics\n"
          "  -o, --output FILE           write there instead of standard output;\n"
          "                              prom output is replaced atomically (for the\n"
          "                              node_exporter textfile collector)\n"
          "  --pseudonymise              replace SNI and addresses with keyed pseudonyms\n"
          "                              (random key per run; addresses keep prefixes)\n"
          "  --pseudonym-key FILE        the same with a fixed key (16-64 bytes of FILE),\n"
          "                              so pseudonyms match across runs\n"
          "  --prefix-v4 N, --prefix-v6 N  network-path prefix lengths (24, 48)\n"
          "  --families FILE             extra 'JA4 FAMILY' lines (JA4 may end in '*'),\n"
          "                              tried before the built-in table\n"
          "  -q, --quiet                 no summary on standard error\n"
          "\n"
          "Limits (memory stays bounded; everything dropped is counted and reported):\n"
          "  --max-flows N               flow table size (65536); the least recently\n"
          "                              active flow is evicted when full\n"
          "  --max-buffer MIB            bytes held for reassembly, all flows (64)\n"
          "  --timeout SECONDS           idle time after which an unfinished handshake\n"
          "                              is reported as 'timeout' (30)\n"
          "\n"
          "Live capture (needs root or CAP_NET_RAW):\n"
          "  -i, --interface IFACE       capture there; the remaining arguments are a\n"
          "                              BPF filter\n"
          "  --promisc                   promiscuous mode\n"
          "  --metrics-listen ADDR:PORT  serve the Prometheus metrics at /metrics\n"
          "  --metrics-interval SECONDS  rewrite --format prom --output FILE this often (10)\n"
          "  --count N                   stop after N handshakes\n"
          "  --duration SECONDS          stop after this long (also: SIGINT, SIGTERM)\n"
          "\n"
          "Examples:\n"
          "  pqtls observe capture.pcapng | jq -c '{sni, group, outcome}'\n"
          "  pqtls observe --format table day1.pcap.gz day2.pcap.gz\n"
          "  tcpdump -i eth0 -w - 'tcp port 443' | pqtls observe -\n"
          "  pqtls observe -i lo 'tcp port 443' --metrics-listen 127.0.0.1:9464\n"
          "  pqtls observe --format prom -o /var/lib/node_exporter/pqtls.prom x.pcap\n"
          "\n"
          "Exit codes:\n"
          "  0  success\n"
          "  1  an input was truncated or corrupt (records for the readable part are\n"
          "     written; standard error names the file and the problem)\n"
          "  2  usage error: unknown option, bad number, missing input\n"
          "  3  I/O error: an input, --families or key file could not be opened, or\n"
          "     the output could not be written\n"
          "  4  a capture's link type is not supported, or live capture is not possible\n"
          "  5  internal error (out of memory, random generator failure)\n",
          out);
}

static void on_handshake(const pqt_obs_handshake *hs, void *arg)
{
    run_ctx *r = arg;
    if (r->agg != NULL) {
        pqt_obs_agg_add(r->agg, hs);
    }
    if (r->format == FMT_JSONL && !r->write_err) {
        if (pqt_obs_write_json(r->out, hs, &r->oopts) != 0) {
            r->write_err = 1;
        }
    }
}

static int parse_uint(const char *opt, const char *v, unsigned long long max,
                      unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno != 0 || end == v || *end != 0 || v[0] == '-' || x > max) {
        cli_error("observe", "%s wants a whole number from 0 to %llu, got '%s'", opt, max, v);
        return CLI_EXIT_USAGE;
    }
    *out = x;
    return CLI_EXIT_OK;
}

/* Render the Prometheus exposition into a malloc'd buffer. */
static char *render_prom(const pqt_obs_agg *agg, const pqt_obs_stats *st, size_t *len)
{
    char *buf = NULL;
    FILE *m = open_memstream(&buf, len);
    if (m == NULL) {
        return NULL;
    }
    int ret = pqt_obs_agg_write_prom(agg, st, m);
    if (fclose(m) != 0 || ret != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Write prom text to path through a temporary file and rename(2). */
static int write_prom_file(const char *path, const pqt_obs_agg *agg, const pqt_obs_stats *st)
{
    size_t len = 0;
    char tmp[4096];
    char *buf = render_prom(agg, st, &len);
    if (buf == NULL) {
        return CLI_EXIT_INTERNAL;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int ok = f != NULL && fwrite(buf, 1, len, f) == len;
    if (f != NULL && fclose(f) != 0) {
        ok = 0;
    }
    free(buf);
    if (!ok || rename(tmp, path) != 0) {
        cli_error("observe", "cannot write metrics to '%s': %s", path, strerror(errno));
        unlink(tmp);
        return CLI_EXIT_IO;
    }
    return CLI_EXIT_OK;
}

static void progress(const pqt_obs_stats *st, int final)
{
    fprintf(stderr, "\rpqtls: observe: %llu packets, %llu handshakes%s",
            (unsigned long long)st->packets, (unsigned long long)st->handshakes,
            final ? "\n" : "   ");
}

static void summary(const pqt_obs_stats *st, unsigned files, uint64_t dropped)
{
    fprintf(stderr,
            "pqtls: observe: %llu handshakes from %llu packets (%u input%s); flows %llu, "
            "evicted %llu, idle-expired %llu, not TLS %llu; reassembly gaps %llu, "
            "budget give-ups %llu; hellos too big %llu; undecodable frames %llu",
            (unsigned long long)st->handshakes, (unsigned long long)st->packets, files,
            files == 1 ? "" : "s", (unsigned long long)st->flows,
            (unsigned long long)st->flows_evicted, (unsigned long long)st->flows_expired,
            (unsigned long long)st->flows_not_tls, (unsigned long long)st->reassembly_gaps,
            (unsigned long long)st->reassembly_budget_giveups,
            (unsigned long long)st->hellos_too_big, (unsigned long long)st->decode_errors);
    if (dropped) {
        fprintf(stderr, "; kernel drops %llu", (unsigned long long)dropped);
    }
    fputc('\n', stderr);
}

static int read_key_file(const char *path, pqt_pseudonym *ps)
{
    uint8_t key[PQT_PSEUDONYM_MAX_KEY + 1];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cli_error("observe", "cannot open the pseudonym key '%s': %s", path, strerror(errno));
        return CLI_EXIT_IO;
    }
    size_t n = fread(key, 1, sizeof(key), f);
    fclose(f);
    int ret = n <= PQT_PSEUDONYM_MAX_KEY ? pqt_pseudonym_init(ps, key, n) : PQT_ERR_LENGTH;
    cli_wipe(key, sizeof(key));
    if (ret != 0) {
        cli_error("observe",
                  "pseudonym key '%s' has %zu%s bytes; it must hold %d to %d bytes "
                  "(e.g. head -c 32 /dev/urandom > %s)",
                  path, n > PQT_PSEUDONYM_MAX_KEY ? (size_t)PQT_PSEUDONYM_MAX_KEY : n,
                  n > PQT_PSEUDONYM_MAX_KEY ? "+" : "", PQT_PSEUDONYM_MIN_KEY,
                  PQT_PSEUDONYM_MAX_KEY, path);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Read one capture file into the observer. Returns a CLI_EXIT_* code. */
static int run_file(pqt_obs *obs, const char *path, int show_progress)
{
    char err[512];
    pqt_capture *cap = NULL;
    int ret = pqt_capture_open_file(path, &cap, err, sizeof(err));
    if (ret != 0) {
        const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
        if (ret == PQT_ERR_IO) {
            cli_error("observe", "cannot open '%s': %s", name, err);
            return CLI_EXIT_IO;
        }
        cli_error("observe",
                  "'%s' is not a readable pcap/pcapng capture (%s); check the file, "
                  "or decompress it if it is not gzip",
                  name, err);
        return CLI_EXIT_FAILED;
    }
    int lt = pqt_capture_linktype(cap);
    if (!pqt_linktype_supported(lt)) {
        cli_error("observe",
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
            cli_error("observe",
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
            progress(pqt_obs_get_stats(obs), 0);
        }
        if (stop_requested) {
            break;
        }
    }
    pqt_capture_close(cap);
    return status;
}

static int run_live(pqt_obs *obs, run_ctx *rc, const char *iface, const char *bpf, int promisc,
                    pqt_obs_http *http, unsigned long long count, unsigned long long duration,
                    unsigned long long interval, uint64_t *dropped)
{
    char err[512];
    pqt_capture *cap = NULL;
    int ret = pqt_capture_open_live(iface, bpf, promisc, &cap, err, sizeof(err));
    if (ret != 0) {
        cli_error("observe", "cannot capture on '%s': %s", iface, err);
        return ret == PQT_ERR_SYNTAX ? CLI_EXIT_USAGE : CLI_EXIT_UNSUPPORTED;
    }
    int lt = pqt_capture_linktype(cap);
    if (!pqt_linktype_supported(lt)) {
        cli_error("observe", "interface '%s' has link type %d, which is not supported", iface, lt);
        pqt_capture_close(cap);
        return CLI_EXIT_UNSUPPORTED;
    }
    uint64_t start = now_us(), last_write = start, last_publish = 0;
    int status = CLI_EXIT_OK;
    while (!stop_requested) {
        /* --metrics-listen is served from its own thread (src/observe/http.c),
         * which never touches the observer: it gets a copy of the exposition
         * up to ten times a second, first before any packet. */
        if (http != NULL && now_us() - last_publish >= 100000u) {
            size_t len = 0;
            char *body = render_prom(rc->agg, pqt_obs_get_stats(obs), &len);
            last_publish = now_us();
            if (body != NULL && pqt_obs_http_publish(http, body, len) != 0) {
                /* out of memory: scrapers keep getting the previous one */
            }
            free(body);
        }
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
                    cli_error("observe", "capture on '%s' failed: %s", iface, err);
                    status = CLI_EXIT_IO;
                    stop_requested = 1;
                }
                break;
            }
            pqt_obs_frame(obs, lt, ts, frame, caplen, wirelen);
        }
        uint64_t now = now_us();
        pqt_obs_expire(obs, now);
        if (rc->format == FMT_JSONL) {
            fflush(rc->out);
        }
        if (rc->format == FMT_PROM && rc->out_path != NULL &&
            now - last_write >= interval * 1000000u) {
            last_write = now;
            (void)write_prom_file(rc->out_path, rc->agg, pqt_obs_get_stats(obs));
        }
        if ((count && pqt_obs_get_stats(obs)->handshakes >= count) ||
            (duration && now - start >= duration * 1000000u)) {
            break;
        }
    }
    *dropped = pqt_capture_dropped(cap);
    pqt_capture_close(cap);
    return status;
}

int cli_cmd_observe(int argc, char **argv)
{
    run_ctx rc = {.format = FMT_JSONL, .out = stdout};
    pqt_obs_config cfg = {0};
    pqt_obs_families *fam = NULL;
    pqt_pseudonym ps;
    pqt_obs *obs = NULL;
    const char *iface = NULL, *families = NULL, *key_file = NULL, *listen_addr = NULL;
    char *bpf = NULL;
    const char **files = NULL;
    size_t nfiles = 0;
    int pseudo = 0, promisc = 0, quiet = 0;
    pqt_obs_http *http = NULL;
    unsigned long long v, count = 0, duration = 0, interval = 10;
    int status = CLI_EXIT_USAGE, worst = CLI_EXIT_OK;
    uint64_t dropped = 0;

    memset(&ps, 0, sizeof(ps));
    files = calloc((size_t)argc + 1, sizeof(*files));
    if (files == NULL) {
        return CLI_EXIT_INTERNAL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                 \
    do {                                                                             \
        if (val == NULL) {                                                           \
            cli_error("observe", "%s needs a value; see 'pqtls observe --help'", a); \
            goto cleanup;                                                            \
        }                                                                            \
        i++;                                                                         \
    } while (0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_help_observe(stdout);
            status = cli_finish_output("observe");
            goto cleanup;
        } else if (strcmp(a, "--format") == 0) {
            NEED_VALUE();
            if (strcmp(val, "jsonl") == 0) {
                rc.format = FMT_JSONL;
            } else if (strcmp(val, "table") == 0) {
                rc.format = FMT_TABLE;
            } else if (strcmp(val, "prom") == 0) {
                rc.format = FMT_PROM;
            } else {
                cli_error("observe", "unknown --format '%s'; use jsonl, table or prom", val);
                goto cleanup;
            }
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            NEED_VALUE();
            rc.out_path = val;
        } else if (strcmp(a, "-i") == 0 || strcmp(a, "--interface") == 0) {
            NEED_VALUE();
            iface = val;
        } else if (strcmp(a, "--families") == 0) {
            NEED_VALUE();
            families = val;
        } else if (strcmp(a, "--pseudonymise") == 0 || strcmp(a, "--pseudonymize") == 0) {
            pseudo = 1;
        } else if (strcmp(a, "--pseudonym-key") == 0) {
            NEED_VALUE();
            key_file = val;
            pseudo = 1;
        } else if (strcmp(a, "--promisc") == 0) {
            promisc = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--metrics-listen") == 0) {
            NEED_VALUE();
            listen_addr = val;
        } else if (strcmp(a, "--max-flows") == 0) {
            NEED_VALUE();
            if (parse_uint(a, val, 1u << 24, &v) != 0 || v == 0) {
                if (v == 0) {
                    cli_error("observe", "--max-flows must be at least 1");
                }
                goto cleanup;
            }
            cfg.max_flows = (size_t)v;
        } else if (strcmp(a, "--max-buffer") == 0) {
            NEED_VALUE();
            if (parse_uint(a, val, 1u << 20, &v) != 0) {
                goto cleanup;
            }
            cfg.max_buffer_bytes = v == 0 ? 1 : (size_t)v << 20;
        } else if (strcmp(a, "--timeout") == 0) {
            NEED_VALUE();
            if (parse_uint(a, val, 86400, &v) != 0) {
                goto cleanup;
            }
            cfg.idle_timeout_us = v == 0 ? 1 : v * 1000000u;
        } else if (strcmp(a, "--prefix-v4") == 0 || strcmp(a, "--prefix-v6") == 0) {
            NEED_VALUE();
            int v4 = a[9] == '4';
            if (parse_uint(a, val, v4 ? 32 : 128, &v) != 0) {
                goto cleanup;
            }
            if (v4) {
                rc.oopts.prefix_v4 = (unsigned)v;
            } else {
                rc.oopts.prefix_v6 = (unsigned)v;
            }
        } else if (strcmp(a, "--count") == 0) {
            NEED_VALUE();
            if (parse_uint(a, val, UINT64_MAX, &count) != 0) {
                goto cleanup;
            }
        } else if (strcmp(a, "--duration") == 0) {
            NEED_VALUE();
            if (parse_uint(a, val, 31536000, &duration) != 0) {
                goto cleanup;
            }
        } else if (strcmp(a, "--metrics-interval") == 0) {
            NEED_VALUE();
            if (parse_uint(a, val, 86400, &interval) != 0 || interval == 0) {
                if (interval == 0) {
                    cli_error("observe", "--metrics-interval must be at least 1");
                }
                goto cleanup;
            }
        } else if (a[0] == '-' && a[1] != 0) {
            cli_error("observe", "unknown option '%s'; see 'pqtls observe --help'", a);
            goto cleanup;
        } else {
            files[nfiles++] = a;
        }
#undef NEED_VALUE
    }
    if (iface != NULL) {
        /* The positional arguments form the BPF filter. */
        size_t len = 1;
        for (size_t i = 0; i < nfiles; i++) {
            len += strlen(files[i]) + 1;
        }
        bpf = calloc(1, len);
        if (bpf == NULL) {
            status = CLI_EXIT_INTERNAL;
            goto cleanup;
        }
        for (size_t i = 0; i < nfiles; i++) {
            strcat(bpf, files[i]);
            if (i + 1 < nfiles) {
                strcat(bpf, " ");
            }
        }
    } else if (nfiles == 0) {
        cli_error("observe", "no capture given; name one or more pcap/pcapng files, '-' for "
                             "standard input, or -i IFACE for a live capture");
        goto cleanup;
    }
    if (listen_addr != NULL && iface == NULL) {
        cli_error("observe", "--metrics-listen works with a live capture (-i IFACE); for files "
                             "use --format prom");
        goto cleanup;
    }
    if (pseudo) {
        int ret = key_file != NULL
                      ? read_key_file(key_file, &ps)
                      : (pqt_pseudonym_init_random(&ps) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL);
        if (ret != CLI_EXIT_OK) {
            status = ret;
            goto cleanup;
        }
        rc.oopts.pseudonym = &ps;
    }
    if (pqt_obs_families_new(&fam) != 0) {
        status = CLI_EXIT_INTERNAL;
        goto cleanup;
    }
    if (families != NULL) {
        unsigned line = 0;
        int ret = pqt_obs_families_load(fam, families, &line);
        if (ret == PQT_ERR_IO) {
            cli_error("observe", "cannot read --families '%s': %s", families, strerror(errno));
            status = CLI_EXIT_IO;
            goto cleanup;
        }
        if (ret != 0) {
            cli_error("observe",
                      "--families '%s' line %u: expected 'JA4 FAMILY', where JA4 is "
                      "36 characters like t13d1516h2_8daaf6152771_e5627efa2ab1 or a prefix "
                      "ending in '*'",
                      families, line);
            status = ret == PQT_ERR_SYNTAX ? CLI_EXIT_USAGE : CLI_EXIT_INTERNAL;
            goto cleanup;
        }
    }
    if (rc.format != FMT_JSONL || listen_addr != NULL) {
        if (pqt_obs_agg_new(&rc.oopts, &rc.agg) != 0) {
            status = CLI_EXIT_INTERNAL;
            goto cleanup;
        }
    }
    if (rc.out_path != NULL && rc.format != FMT_PROM) {
        rc.out = fopen(rc.out_path, "w");
        if (rc.out == NULL) {
            cli_error("observe", "cannot write '%s': %s", rc.out_path, strerror(errno));
            rc.out = stdout;
            status = CLI_EXIT_IO;
            goto cleanup;
        }
    }
    if (listen_addr != NULL) {
        char err[256];
        if (pqt_obs_http_start(listen_addr, &http, err, sizeof(err)) != 0) {
            cli_error("observe", "--metrics-listen: %s", err);
            status = CLI_EXIT_USAGE;
            goto cleanup;
        }
    }
    cfg.families = fam;
    cfg.on_handshake = on_handshake;
    cfg.arg = &rc;
    if (pqt_obs_new(&cfg, &obs) != 0) {
        status = CLI_EXIT_INTERNAL;
        goto cleanup;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int show_progress = !quiet && isatty(STDERR_FILENO);
    if (iface != NULL) {
        worst = run_live(obs, &rc, iface, bpf, promisc, http, count, duration, interval, &dropped);
    } else {
        for (size_t i = 0; i < nfiles && !stop_requested; i++) {
            int r = run_file(obs, files[i], show_progress);
            if (r > worst) {
                worst = r;
            }
        }
    }
    pqt_obs_finish(obs);
    const pqt_obs_stats *st = pqt_obs_get_stats(obs);
    if (show_progress) {
        progress(st, 1);
    }
    status = worst;
    if (rc.format == FMT_TABLE) {
        if (pqt_obs_agg_write_table(rc.agg, st, rc.out) != 0) {
            rc.write_err = 1;
        }
    } else if (rc.format == FMT_PROM) {
        if (rc.out_path != NULL) {
            int r = write_prom_file(rc.out_path, rc.agg, st);
            if (r != CLI_EXIT_OK) {
                status = r;
            }
        } else if (pqt_obs_agg_write_prom(rc.agg, st, rc.out) != 0) {
            rc.write_err = 1;
        }
    }
    if (!quiet) {
        summary(st, iface != NULL ? 1 : (unsigned)nfiles, dropped);
    }
    if (rc.write_err || fflush(rc.out) != 0 || ferror(rc.out)) {
        cli_error("observe", "cannot write the output%s%s: %s", rc.out_path ? " to " : "",
                  rc.out_path ? rc.out_path : "", strerror(errno));
        status = CLI_EXIT_IO;
    }
cleanup:
    if (rc.out != stdout && rc.out != NULL && fclose(rc.out) != 0 && status == CLI_EXIT_OK) {
        status = CLI_EXIT_IO;
    }
    pqt_obs_http_stop(http);
    pqt_obs_free(obs);
    pqt_obs_agg_free(rc.agg);
    pqt_obs_families_free(fam);
    pqt_pseudonym_clear(&ps);
    free(bpf);
    free(files);
    return status;
}
