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
#include "obs_input.h"
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
          "interface, reassembles TCP and decrypts QUIC Initial packets (v1, v2;\n"
          "their keys are public), and reports every TLS handshake: SNI, ALPN,\n"
          "versions, cipher suites, groups and key shares offered, JA4 ('q' prefix\n"
          "for QUIC), the negotiated version, cipher and group (TLS 1.3 key_share\n"
          "or TLS 1.2 ServerKeyExchange), HelloRetryRequests, the outcome\n"
          "(completed, alert, reset or close after the ClientHello, timeout,\n"
          "truncated, gap, evicted; for QUIC also no_answer, version_negotiation),\n"
          "the client family, the network path, and the application protocol that\n"
          "carried the handshake (STARTTLS and database dialogues, ALPN, port).\n"
          "Schema: docs/observe.md.\n"
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
          "  --families FILE             client family rules tried before the built-in\n"
          "                              ones: 'JA4 FAMILY' lines (JA4 may end in '*'),\n"
          "                              'ja4 JA4 LIBRARY FAMILY', and 'rule LIBRARY\n"
          "                              FAMILY' with condition lines after it such as\n"
          "                              'ciphers-start 1302 1301' (format: docs/observe.md)\n"
          "  --app-port PORT=PROTOCOL    direct TLS to server port PORT is PROTOCOL\n"
          "                              (https, smtp, imap, pop3, ftp, ldap, postgres,\n"
          "                              mysql, xmpp) when no STARTTLS dialogue or ALPN\n"
          "                              says; before the built-in ports (443 https, 465\n"
          "                              smtp, 993 imap, ...); repeatable\n"
          "  -q, --quiet                 no summary on standard error\n"
          "\n"
          "Limits (memory stays bounded; everything dropped is counted and reported):\n"
          "  --max-flows N               flow table size (65536); the least recently\n"
          "                              active flow is evicted when full\n"
          "  --max-buffer MIB            bytes held for reassembly, all flows (64); a\n"
          "                              hello spanning segments that does not fit is\n"
          "                              reported with anomaly buffer_budget\n"
          "  --max-memory MIB            everything the observer keeps: flow table,\n"
          "                              flows, hellos, buffers (256); the least\n"
          "                              recently active flows are evicted at the limit\n"
          "  --timeout SECONDS           idle time after which an unfinished handshake\n"
          "                              is reported as 'timeout' (30)\n"
          "\n"
          "Live capture (needs root or CAP_NET_RAW):\n"
          "  -i, --interface IFACE       capture there; the remaining arguments are a\n"
          "                              BPF filter\n"
          "  --promisc                   promiscuous mode\n"
          "  --metrics-listen ADDR:PORT  serve the Prometheus metrics at /metrics\n"
          "  --metrics-interval SECONDS  rewrite --format prom --output FILE this often (10)\n"
          "  --metrics-paths N           also count handshakes by client network path\n"
          "                              (prefix at --prefix-v4/-v6, pseudonymised with\n"
          "                              --pseudonymise) for the first N prefixes seen,\n"
          "                              later ones as 'other' (0-1000; default 0: no\n"
          "                              path metric, the label would be unbounded)\n"
          "  --count N                   stop after N handshakes\n"
          "  --duration SECONDS          stop after this long (also: SIGINT, SIGTERM)\n"
          "\n"
          "Examples:\n"
          "  pqtls observe capture.pcapng | jq -c '{sni, group, outcome}'\n"
          "  pqtls observe --format table day1.pcap.gz day2.pcap.gz\n"
          "  pqtls observe x.pcap | jq -c '{client_library, client_family, family_basis}'\n"
          "  pqtls observe --families ./our-clients.rules x.pcap\n"
          "  tcpdump -i eth0 -w - 'tcp port 443' | pqtls observe -\n"
          "  pqtls observe -i eth0 'tcp port 443 or udp port 443'   # TLS and QUIC\n"
          "  pqtls observe x.pcap | jq -c 'select(.transport == \"quic\") | {sni, ja4, quic}'\n"
          "  pqtls observe -i lo 'tcp port 443' --metrics-listen 127.0.0.1:9464\n"
          "  pqtls observe --format prom -o /var/lib/node_exporter/pqtls.prom x.pcap\n"
          "\n"
          "Exit codes:\n"
          "  0  success\n"
          "  1  an input was truncated or corrupt (records for the readable part are\n"
          "     written; standard error names the file and the problem)\n"
          "  2  usage error: unknown option, bad number, missing input, a --families\n"
          "     line that breaks the format\n"
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
    if (st->flows_evicted_memory) {
        fprintf(stderr, "; evicted at the memory limit %llu (peak %zu of %zu bytes)",
                (unsigned long long)st->flows_evicted_memory, st->memory_peak, st->memory_limit);
    }
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

/* Options: the same spellings as ever; cli_getopt keeps the old rules (util.h). */
enum {
    OPT_FORMAT = 256,
    OPT_FAMILIES,
    OPT_PSEUDONYMISE,
    OPT_PSEUDONYM_KEY,
    OPT_PROMISC,
    OPT_METRICS_LISTEN,
    OPT_MAX_FLOWS,
    OPT_MAX_BUFFER,
    OPT_MAX_MEMORY,
    OPT_TIMEOUT,
    OPT_PREFIX_V4,
    OPT_PREFIX_V6,
    OPT_COUNT,
    OPT_DURATION,
    OPT_METRICS_INTERVAL,
    OPT_METRICS_PATHS,
    OPT_APP_PORT,
};

#define MAX_APP_PORTS 64

static const char observe_optstring[] = "-:ho:i:q";

static const struct option observe_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, 'o'},
    {"interface", required_argument, NULL, 'i'},
    {"families", required_argument, NULL, OPT_FAMILIES},
    {"pseudonymise", no_argument, NULL, OPT_PSEUDONYMISE},
    {"pseudonymize", no_argument, NULL, OPT_PSEUDONYMISE},
    {"pseudonym-key", required_argument, NULL, OPT_PSEUDONYM_KEY},
    {"promisc", no_argument, NULL, OPT_PROMISC},
    {"quiet", no_argument, NULL, 'q'},
    {"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"max-buffer", required_argument, NULL, OPT_MAX_BUFFER},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"prefix-v4", required_argument, NULL, OPT_PREFIX_V4},
    {"prefix-v6", required_argument, NULL, OPT_PREFIX_V6},
    {"count", required_argument, NULL, OPT_COUNT},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"metrics-interval", required_argument, NULL, OPT_METRICS_INTERVAL},
    {"metrics-paths", required_argument, NULL, OPT_METRICS_PATHS},
    {"app-port", required_argument, NULL, OPT_APP_PORT},
    {NULL, 0, NULL, 0},
};

/* The command line, parsed: observe_parse fills it, the rest acts on it. */
typedef struct {
    int format; /* FMT_* */
    const char *out_path, *iface, *families, *key_file, *listen_addr;
    int pseudo, promisc, quiet, help;
    size_t max_flows, max_buffer_bytes, max_memory_bytes; /* 0: the observer's defaults */
    uint64_t idle_timeout_us;                             /* 0: the observer's default */
    unsigned prefix_v4, prefix_v6;                        /* 0: the defaults */
    unsigned metrics_paths;                               /* --metrics-paths, 0: none */
    unsigned long long count, duration, interval;
    const char **operands; /* capture files or, with -i, the words of the BPF filter */
    size_t noperands;
    pqt_obs_app_port app_ports[MAX_APP_PORTS]; /* --app-port, in command-line order */
    size_t n_app_ports;
} observe_args;

/* The value of option o as a number from 0 to max. Every observe number is
 * read from 0 ("wants a whole number from 0 to ..."); the options that
 * cannot be 0 say so in a message of their own (positive_option). */
static int number_option(const cli_opts *o, unsigned long long max, unsigned long long *out)
{
    return cli_parse_uint("observe", o->arg, o->value, 0, max, out);
}

static int positive_option(const cli_opts *o, unsigned long long max, unsigned long long *out)
{
    unsigned long long v;
    int ret = number_option(o, max, &v);
    if (ret != CLI_EXIT_OK) {
        return ret;
    }
    if (v == 0) {
        cli_error("observe", "%s must be at least 1", o->arg);
        return CLI_EXIT_USAGE;
    }
    *out = v;
    return CLI_EXIT_OK;
}

static int format_option(observe_args *a, const char *value)
{
    if (strcmp(value, "jsonl") == 0) {
        a->format = FMT_JSONL;
    } else if (strcmp(value, "table") == 0) {
        a->format = FMT_TABLE;
    } else if (strcmp(value, "prom") == 0) {
        a->format = FMT_PROM;
    } else {
        cli_error("observe", "unknown --format '%s'; use jsonl, table or prom", value);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* --app-port PORT=PROTOCOL: direct TLS on PORT is PROTOCOL. A later one
 * for the same port replaces the earlier. */
static int app_port_option(observe_args *a, const char *value)
{
    const char *eq = strchr(value, '=');
    unsigned long port = 0;
    char *end = NULL;
    int app = eq != NULL ? pqt_obs_app_protocol_from_name(eq + 1) : -1;
    if (eq != NULL && eq > value && value[0] >= '0' && value[0] <= '9') {
        errno = 0;
        port = strtoul(value, &end, 10);
    }
    if (end != eq || errno != 0 || port == 0 || port > 65535 || app <= PQT_OBS_APP_UNKNOWN) {
        cli_error("observe",
                  "--app-port wants PORT=PROTOCOL with a port from 1 to 65535 and one of https, "
                  "smtp, imap, pop3, ftp, ldap, postgres, mysql, xmpp (e.g. 10465=smtp), got '%s'",
                  value);
        return CLI_EXIT_USAGE;
    }
    size_t i = 0;
    while (i < a->n_app_ports && a->app_ports[i].port != port) {
        i++;
    }
    if (i == MAX_APP_PORTS) {
        cli_error("observe", "at most %d --app-port options", MAX_APP_PORTS);
        return CLI_EXIT_USAGE;
    }
    a->app_ports[i].port = (uint16_t)port;
    a->app_ports[i].app = (pqt_obs_app_protocol)app;
    if (i == a->n_app_ports) {
        a->n_app_ports++;
    }
    return CLI_EXIT_OK;
}

/* The options with a number; CLI_EXIT_OK or CLI_EXIT_USAGE. */
static int observe_number(observe_args *a, const cli_opts *o, int code)
{
    unsigned long long v;
    int ret;
    switch (code) {
    case OPT_MAX_FLOWS:
        ret = positive_option(o, 1u << 24, &v);
        if (ret == CLI_EXIT_OK) {
            a->max_flows = (size_t)v;
        }
        return ret;
    case OPT_MAX_BUFFER:
        ret = number_option(o, 1u << 20, &v);
        if (ret == CLI_EXIT_OK) {
            a->max_buffer_bytes = v == 0 ? 1 : (size_t)v << 20;
        }
        return ret;
    case OPT_MAX_MEMORY:
        ret = positive_option(o, 1u << 20, &v);
        if (ret == CLI_EXIT_OK) {
            a->max_memory_bytes = (size_t)v << 20;
        }
        return ret;
    case OPT_TIMEOUT:
        ret = number_option(o, 86400, &v);
        if (ret == CLI_EXIT_OK) {
            a->idle_timeout_us = v == 0 ? 1 : v * 1000000u;
        }
        return ret;
    case OPT_PREFIX_V4:
        ret = number_option(o, 32, &v);
        if (ret == CLI_EXIT_OK) {
            a->prefix_v4 = (unsigned)v;
        }
        return ret;
    case OPT_PREFIX_V6:
        ret = number_option(o, 128, &v);
        if (ret == CLI_EXIT_OK) {
            a->prefix_v6 = (unsigned)v;
        }
        return ret;
    case OPT_COUNT:
        return number_option(o, UINT64_MAX, &a->count);
    case OPT_DURATION:
        return number_option(o, 31536000, &a->duration);
    case OPT_METRICS_PATHS:
        ret = number_option(o, 1000, &v);
        if (ret == CLI_EXIT_OK) {
            a->metrics_paths = (unsigned)v;
        }
        return ret;
    case OPT_METRICS_INTERVAL:
        return positive_option(o, 86400, &a->interval);
    default:
        /* every code of observe_options is handled here or in observe_option */
        return CLI_EXIT_INTERNAL;
    }
}

/* Take one option into a; values are checked here, in command-line order,
 * so the first bad one is the one reported. CLI_EXIT_OK or CLI_EXIT_USAGE. */
static int observe_option(observe_args *a, const cli_opts *o, int code)
{
    switch (code) {
    case OPT_FORMAT:
        return format_option(a, o->value);
    case 'o':
        a->out_path = o->value;
        break;
    case 'i':
        a->iface = o->value;
        break;
    case OPT_FAMILIES:
        a->families = o->value;
        break;
    case OPT_PSEUDONYM_KEY:
        a->key_file = o->value;
        a->pseudo = 1;
        break;
    case OPT_PSEUDONYMISE:
        a->pseudo = 1;
        break;
    case OPT_PROMISC:
        a->promisc = 1;
        break;
    case 'q':
        a->quiet = 1;
        break;
    case OPT_METRICS_LISTEN:
        a->listen_addr = o->value;
        break;
    case OPT_APP_PORT:
        return app_port_option(a, o->value);
    default:
        return observe_number(a, o, code);
    }
    return CLI_EXIT_OK;
}

static int observe_option_cb(void *a, const cli_opts *o, int code)
{
    return observe_option(a, o, code);
}

/* Fill a from the command line (the caller frees a->operands). CLI_EXIT_OK
 * with a->help set means: print the help and stop. Errors are printed. */
static int observe_parse(int argc, char **argv, observe_args *a)
{
    cli_opts o = {.cmd = "observe", .optstring = observe_optstring, .longopts = observe_options};

    memset(a, 0, sizeof(*a));
    a->format = FMT_JSONL;
    a->interval = 10;
    a->operands = calloc((size_t)argc + 1, sizeof(*a->operands));
    if (a->operands == NULL) {
        return CLI_EXIT_INTERNAL;
    }
    int rc =
        cli_getopt_all(&o, argc, argv, a->operands, &a->noperands, &a->help, observe_option_cb, a);
    if (rc != CLI_EXIT_OK || a->help) {
        return rc;
    }
    if (a->iface == NULL && a->noperands == 0) {
        cli_error("observe", "no capture given; name one or more pcap/pcapng files, '-' for "
                             "standard input, or -i IFACE for a live capture");
        return CLI_EXIT_USAGE;
    }
    if (a->listen_addr != NULL && a->iface == NULL) {
        cli_error("observe", "--metrics-listen works with a live capture (-i IFACE); for files "
                             "use --format prom");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int run_live(pqt_obs *obs, run_ctx *rc, const observe_args *a, const char *bpf,
                    pqt_obs_http *http, uint64_t *dropped)
{
    const char *iface = a->iface;
    char err[512];
    pqt_capture *cap = NULL;
    int ret = pqt_capture_open_live(iface, bpf, a->promisc, &cap, err, sizeof(err));
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
            now - last_write >= a->interval * 1000000u) {
            last_write = now;
            (void)write_prom_file(rc->out_path, rc->agg, pqt_obs_get_stats(obs));
        }
        if ((a->count && pqt_obs_get_stats(obs)->handshakes >= a->count) ||
            (a->duration && now - start >= a->duration * 1000000u)) {
            break;
        }
    }
    *dropped = pqt_capture_dropped(cap);
    pqt_capture_close(cap);
    return status;
}

/* What a run holds; observe_open fills it, observe_close frees it. */
typedef struct {
    run_ctx rc;
    pqt_pseudonym ps;
    pqt_obs_families *fam;
    pqt_obs_http *http;
    pqt_obs *obs;
    char *bpf; /* with -i: the operands joined by spaces */
} observe_state;

/* The words of the BPF filter as one string (malloc'd), "" for none. */
static char *join_words(const char *const *words, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        len += strlen(words[i]) + 1;
    }
    char *s = calloc(1, len);
    if (s == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        strcat(s, words[i]);
        if (i + 1 < n) {
            strcat(s, " ");
        }
    }
    return s;
}

/* Everything the run needs, in the order the errors have always come. */
static int observe_open(const observe_args *a, observe_state *s)
{
    memset(s, 0, sizeof(*s));
    s->rc.format = a->format;
    s->rc.out = stdout;
    s->rc.out_path = a->out_path;
    s->rc.oopts.prefix_v4 = a->prefix_v4;
    s->rc.oopts.prefix_v6 = a->prefix_v6;
    s->rc.oopts.metrics_paths = a->metrics_paths;
    if (a->iface != NULL) {
        s->bpf = join_words(a->operands, a->noperands);
        if (s->bpf == NULL) {
            return CLI_EXIT_INTERNAL;
        }
    }
    if (a->pseudo) {
        int ret = a->key_file != NULL
                      ? read_key_file(a->key_file, &s->ps)
                      : (pqt_pseudonym_init_random(&s->ps) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL);
        if (ret != CLI_EXIT_OK) {
            return ret;
        }
        s->rc.oopts.pseudonym = &s->ps;
    }
    int ret = cli_obs_load_families("observe", a->families, &s->fam);
    if (ret != CLI_EXIT_OK) {
        return ret;
    }
    if ((s->rc.format != FMT_JSONL || a->listen_addr != NULL) &&
        pqt_obs_agg_new(&s->rc.oopts, &s->rc.agg) != 0) {
        return CLI_EXIT_INTERNAL;
    }
    if (s->rc.out_path != NULL && s->rc.format != FMT_PROM) {
        s->rc.out = fopen(s->rc.out_path, "w");
        if (s->rc.out == NULL) {
            cli_error("observe", "cannot write '%s': %s", s->rc.out_path, strerror(errno));
            s->rc.out = stdout;
            return CLI_EXIT_IO;
        }
    }
    if (a->listen_addr != NULL) {
        char err[256];
        if (pqt_obs_http_start(a->listen_addr, &s->http, err, sizeof(err)) != 0) {
            cli_error("observe", "--metrics-listen: %s", err);
            return CLI_EXIT_USAGE;
        }
    }
    pqt_obs_config cfg = {
        .max_flows = a->max_flows,
        .max_buffer_bytes = a->max_buffer_bytes,
        .max_memory_bytes = a->max_memory_bytes,
        .idle_timeout_us = a->idle_timeout_us,
        .families = s->fam,
        .on_handshake = on_handshake,
        .arg = &s->rc,
        .app_ports = a->app_ports,
        .n_app_ports = a->n_app_ports,
    };
    return pqt_obs_new(&cfg, &s->obs) == 0 ? CLI_EXIT_OK : CLI_EXIT_INTERNAL;
}

/* Read the captures or the interface, then write the table or metrics and
 * the summary. Returns the exit code. */
static int observe_run(const observe_args *a, observe_state *s)
{
    int worst = CLI_EXIT_OK, status;
    uint64_t dropped = 0;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int show_progress = !a->quiet && isatty(STDERR_FILENO);
    if (a->iface != NULL) {
        worst = run_live(s->obs, &s->rc, a, s->bpf, s->http, &dropped);
    } else {
        for (size_t i = 0; i < a->noperands && !stop_requested; i++) {
            int r = cli_obs_feed_file("observe", s->obs, a->operands[i], show_progress,
                                      &stop_requested);
            if (r > worst) {
                worst = r;
            }
        }
    }
    pqt_obs_finish(s->obs);
    const pqt_obs_stats *st = pqt_obs_get_stats(s->obs);
    if (show_progress) {
        cli_obs_progress("observe", st, 1);
    }
    status = worst;
    if (s->rc.format == FMT_TABLE) {
        if (pqt_obs_agg_write_table(s->rc.agg, st, s->rc.out) != 0) {
            s->rc.write_err = 1;
        }
    } else if (s->rc.format == FMT_PROM) {
        if (s->rc.out_path != NULL) {
            int r = write_prom_file(s->rc.out_path, s->rc.agg, st);
            if (r != CLI_EXIT_OK) {
                status = r;
            }
        } else if (pqt_obs_agg_write_prom(s->rc.agg, st, s->rc.out) != 0) {
            s->rc.write_err = 1;
        }
    }
    if (!a->quiet) {
        summary(st, a->iface != NULL ? 1 : (unsigned)a->noperands, dropped);
    }
    if (s->rc.write_err || fflush(s->rc.out) != 0 || ferror(s->rc.out)) {
        cli_error("observe", "cannot write the output%s%s: %s", s->rc.out_path ? " to " : "",
                  s->rc.out_path ? s->rc.out_path : "", strerror(errno));
        status = CLI_EXIT_IO;
    }
    return status;
}

/* Free what observe_open took; the exit code, CLI_EXIT_IO if the output
 * file could not be closed after an otherwise clean run. */
static int observe_close(observe_state *s, int status)
{
    if (s->rc.out != stdout && s->rc.out != NULL && fclose(s->rc.out) != 0 &&
        status == CLI_EXIT_OK) {
        status = CLI_EXIT_IO;
    }
    pqt_obs_http_stop(s->http);
    pqt_obs_free(s->obs);
    pqt_obs_agg_free(s->rc.agg);
    pqt_obs_families_free(s->fam);
    pqt_pseudonym_clear(&s->ps);
    free(s->bpf);
    return status;
}

int cli_cmd_observe(int argc, char **argv)
{
    observe_args a;
    observe_state s;
    int status = observe_parse(argc, argv, &a);
    if (status == CLI_EXIT_OK && a.help) {
        cli_help_observe(stdout);
        status = cli_finish_output("observe");
    } else if (status == CLI_EXIT_OK) {
        status = observe_open(&a, &s);
        if (status == CLI_EXIT_OK) {
            status = observe_run(&a, &s);
        }
        status = observe_close(&s, status);
    }
    free(a.operands);
    return status;
}
