/*
 * `pqtls advise`: what each service would see at each migration stage,
 * from the ClientHellos of captures or live traffic (src/advise/ over
 * src/observe/).
 */
#define _GNU_SOURCE /* strdup */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "obs_input.h"
#include "pqtls/advise.h"
#include "util.h"

enum { FMT_JSONL, FMT_TABLE, FMT_HTML };

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void cli_help_advise(FILE *out)
{
    fputs("Usage: pqtls advise [OPTIONS] FILE...\n"
          "       pqtls advise [OPTIONS] -i IFACE --duration SECONDS [BPF FILTER...]\n"
          "\n"
          "What would happen if a server moved to hybrid post-quantum key exchange?\n"
          "Reads the same inputs as 'pqtls observe' (pcap/pcapng files, gzip, '-' for\n"
          "standard input, or a live interface) and replays every ClientHello seen,\n"
          "per service (server address, port, TCP or QUIC, SNI), against the server\n"
          "at each stage:\n"
          "  supported  the server takes a hybrid share the client sent, else a\n"
          "             classical group as today\n"
          "  preferred  it also asks for the hybrid group with a HelloRetryRequest\n"
          "             (HRR) when the client lists it but sent no share for it\n"
          "  required   it offers only hybrid groups: clients without one are refused\n"
          "For each stage: handshakes that would be hybrid, would pay an HRR round\n"
          "trip, would be refused, and the client families in each; ClientHellos that\n"
          "already span TCP segments and how many of them got no answer, per client\n"
          "network path (the middlebox signature); and a verdict per service: ready\n"
          "for the next stage or not, and why, in numbers. docs/advise.md.\n"
          "\n"
          "The server:\n"
          "  --server MODEL              the server's group selection rules:\n"
          "    openssl30                 (default) OpenSSL 3.0-3.4: the client's first key\n"
          "                              share for a group the server has; else an HRR\n"
          "                              for the server's first group the client lists\n"
          "    openssl35                 OpenSSL 3.5+: groups in tuples; in the first\n"
          "                              tuple the client overlaps, a group it sent a\n"
          "                              share for, else an HRR; the client's order\n"
          "                              within the tuple (OpenSSL's default)\n"
          "    openssl35-serverpref      the same with the server's order within the\n"
          "                              tuple (nginx ssl_prefer_server_ciphers on,\n"
          "                              Node.js servers by default)\n"
          "    hrr                       strict server preference: its first group the\n"
          "                              client lists, with an HRR when the client sent\n"
          "                              no share for it\n"
          "  --groups LIST               the server's groups, colon-separated, at least one\n"
          "                              hybrid and one classical (default\n"
          "                              " PQT_ADV_DEFAULT_GROUPS ")\n"
          "  --max-refused PCT           required is ready when it refuses at most PCT%\n"
          "                              of a service's handshakes (0)\n"
          "  --max-hrr PCT               preferred and required are ready when at most\n"
          "                              PCT% of handshakes pay an HRR (10)\n"
          "\n"
          "Output:\n"
          "  --format jsonl|table|html   one JSON object per service (default), a\n"
          "                              table per service (the 50 busiest), or a\n"
          "                              self-contained HTML page with a chart per\n"
          "                              service (the 200 busiest; no script, nothing\n"
          "                              loaded from elsewhere)\n"
          "  -o, --output FILE           write there instead of standard output\n"
          "  --families FILE             extra 'JA4 FAMILY' lines, as for observe\n"
          "  --prefix-v4 N, --prefix-v6 N  network-path prefix lengths (24, 48)\n"
          "  -q, --quiet                 no summary on standard error\n"
          "\n"
          "The observer (as for observe):\n"
          "  --max-flows N, --max-memory MIB, --timeout SECONDS\n"
          "\n"
          "Live capture (needs root or CAP_NET_RAW):\n"
          "  -i, --interface IFACE       capture there; the remaining arguments are a\n"
          "                              BPF filter\n"
          "  --duration SECONDS          stop after this long (also: SIGINT, SIGTERM),\n"
          "                              then write the report\n"
          "  --count N                   stop after N handshakes\n"
          "  --promisc                   promiscuous mode\n"
          "\n"
          "Examples:\n"
          "  pqtls advise --format table day1.pcap.gz day2.pcap.gz\n"
          "  pqtls advise --server openssl35 capture.pcapng | jq -c '{sni, verdict}'\n"
          "  pqtls advise --format html -o advise.html capture.pcapng\n"
          "  pqtls advise --groups X25519MLKEM768:SecP256r1MLKEM768:x25519:secp256r1 x.pcap\n"
          "  tcpdump -i eth0 -w - 'tcp port 443' | pqtls advise --format table -\n"
          "  pqtls advise -i eth0 --duration 600 --format table 'tcp port 443'\n"
          "\n"
          "Exit codes:\n"
          "  0  success\n"
          "  1  an input was not a capture, or was truncated or corrupt (the report\n"
          "     covers the readable part; standard error names the file)\n"
          "  2  usage error: unknown option or group, bad number, missing input\n"
          "  3  I/O error: an input or --families file could not be opened, or the\n"
          "     output could not be written\n"
          "  4  a capture's link type is not supported, or live capture is not possible\n"
          "  5  internal error (out of memory, random generator failure)\n",
          out);
}

enum {
    OPT_FORMAT = 256,
    OPT_SERVER,
    OPT_GROUPS,
    OPT_MAX_REFUSED,
    OPT_MAX_HRR,
    OPT_FAMILIES,
    OPT_PREFIX_V4,
    OPT_PREFIX_V6,
    OPT_MAX_FLOWS,
    OPT_MAX_MEMORY,
    OPT_TIMEOUT,
    OPT_DURATION,
    OPT_COUNT,
    OPT_PROMISC,
};

static const char advise_optstring[] = "-:ho:i:q";

static const struct option advise_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, 'o'},
    {"interface", required_argument, NULL, 'i'},
    {"quiet", no_argument, NULL, 'q'},
    {"server", required_argument, NULL, OPT_SERVER},
    {"groups", required_argument, NULL, OPT_GROUPS},
    {"max-refused", required_argument, NULL, OPT_MAX_REFUSED},
    {"max-hrr", required_argument, NULL, OPT_MAX_HRR},
    {"families", required_argument, NULL, OPT_FAMILIES},
    {"prefix-v4", required_argument, NULL, OPT_PREFIX_V4},
    {"prefix-v6", required_argument, NULL, OPT_PREFIX_V6},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"count", required_argument, NULL, OPT_COUNT},
    {"promisc", no_argument, NULL, OPT_PROMISC},
    {NULL, 0, NULL, 0},
};

typedef struct {
    int format, help, quiet, promisc;
    const char *out_path, *iface, *families, *groups;
    int model;
    double max_refused, max_hrr;
    unsigned long long prefix_v4, prefix_v6, max_flows, max_memory, timeout, duration, count;
    const char **operands;
    size_t noperands;
} advise_args;

/* A percentage from 0 to 100 ("2.5"). */
static int pct_option(const cli_opts *o, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(o->value, &end);
    if (o->value[0] == 0 || *end != 0 || errno != 0 || !(v >= 0 && v <= 100)) {
        cli_error("advise", "%s wants a percentage from 0 to 100 (e.g. 2.5), got '%s'", o->arg,
                  o->value);
        return CLI_EXIT_USAGE;
    }
    *out = v;
    return CLI_EXIT_OK;
}

static int advise_number(advise_args *a, const cli_opts *o, int code)
{
    switch (code) {
    case OPT_PREFIX_V4:
        return cli_parse_uint("advise", o->arg, o->value, 1, 32, &a->prefix_v4);
    case OPT_PREFIX_V6:
        return cli_parse_uint("advise", o->arg, o->value, 1, 128, &a->prefix_v6);
    case OPT_MAX_FLOWS:
        return cli_parse_uint("advise", o->arg, o->value, 1, 1u << 24, &a->max_flows);
    case OPT_MAX_MEMORY:
        return cli_parse_uint("advise", o->arg, o->value, 1, 1u << 20, &a->max_memory);
    case OPT_TIMEOUT:
        return cli_parse_uint("advise", o->arg, o->value, 1, 86400, &a->timeout);
    case OPT_DURATION:
        return cli_parse_uint("advise", o->arg, o->value, 1, 31536000, &a->duration);
    case OPT_COUNT:
        return cli_parse_uint("advise", o->arg, o->value, 1, UINT64_MAX, &a->count);
    case OPT_MAX_REFUSED:
        return pct_option(o, &a->max_refused);
    case OPT_MAX_HRR:
        return pct_option(o, &a->max_hrr);
    default:
        return CLI_EXIT_INTERNAL;
    }
}

static int advise_option(advise_args *a, const cli_opts *o, int code)
{
    switch (code) {
    case OPT_FORMAT:
        if (strcmp(o->value, "jsonl") == 0) {
            a->format = FMT_JSONL;
        } else if (strcmp(o->value, "table") == 0) {
            a->format = FMT_TABLE;
        } else if (strcmp(o->value, "html") == 0) {
            a->format = FMT_HTML;
        } else {
            cli_error("advise", "--format wants jsonl, table or html, got '%s'", o->value);
            return CLI_EXIT_USAGE;
        }
        return CLI_EXIT_OK;
    case OPT_SERVER:
        a->model = pqt_adv_model_from_name(o->value);
        if (a->model < 0) {
            cli_error("advise",
                      "--server wants openssl30, openssl35, openssl35-serverpref or hrr, got '%s'",
                      o->value);
            return CLI_EXIT_USAGE;
        }
        return CLI_EXIT_OK;
    case OPT_GROUPS:
        a->groups = o->value;
        return CLI_EXIT_OK;
    case 'o':
        a->out_path = o->value;
        return CLI_EXIT_OK;
    case 'i':
        a->iface = o->value;
        return CLI_EXIT_OK;
    case 'q':
        a->quiet = 1;
        return CLI_EXIT_OK;
    case OPT_FAMILIES:
        a->families = o->value;
        return CLI_EXIT_OK;
    case OPT_PROMISC:
        a->promisc = 1;
        return CLI_EXIT_OK;
    default:
        return advise_number(a, o, code);
    }
}

static int advise_option_cb(void *a, const cli_opts *o, int code)
{
    return advise_option(a, o, code);
}

static int advise_parse(int argc, char **argv, advise_args *a)
{
    cli_opts o = {.cmd = "advise", .optstring = advise_optstring, .longopts = advise_options};
    memset(a, 0, sizeof(*a));
    a->max_hrr = 10;
    a->operands = calloc((size_t)argc + 1, sizeof(*a->operands));
    if (a->operands == NULL) {
        return CLI_EXIT_INTERNAL;
    }
    int rc =
        cli_getopt_all(&o, argc, argv, a->operands, &a->noperands, &a->help, advise_option_cb, a);
    if (rc != CLI_EXIT_OK || a->help) {
        return rc;
    }
    if (a->iface == NULL && a->noperands == 0) {
        cli_error("advise", "no capture given; name one or more pcap/pcapng files, '-' for "
                            "standard input, or -i IFACE --duration SECONDS for live traffic");
        return CLI_EXIT_USAGE;
    }
    if (a->iface != NULL && a->duration == 0 && a->count == 0) {
        cli_error("advise", "-i needs --duration SECONDS (or --count N): the report is written "
                            "when the capture ends");
        return CLI_EXIT_USAGE;
    }
    if (a->iface == NULL && (a->duration != 0 || a->count != 0 || a->promisc)) {
        cli_error("advise", "--duration, --count and --promisc work with a live capture (-i)");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static void on_handshake(const pqt_obs_handshake *hs, void *arg)
{
    pqt_adv_add(arg, hs);
}

/* The BPF filter: the operands after -i joined by spaces (malloc'd). */
static char *join_words(const char *const *words, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        len += strlen(words[i]) + 1;
    }
    char *s = calloc(1, len);
    for (size_t i = 0; s != NULL && i < n; i++) {
        strcat(s, words[i]);
        if (i + 1 < n) {
            strcat(s, " ");
        }
    }
    return s;
}

static int write_report(const advise_args *a, const pqt_adv *adv)
{
    FILE *out = stdout;
    if (a->out_path != NULL) {
        out = fopen(a->out_path, "w");
        if (out == NULL) {
            cli_error("advise", "cannot write '%s': %s", a->out_path, strerror(errno));
            return CLI_EXIT_IO;
        }
    }
    int ret = a->format == FMT_TABLE  ? pqt_adv_write_table(adv, out)
              : a->format == FMT_HTML ? pqt_adv_write_html(adv, out)
                                      : pqt_adv_write_jsonl(adv, out);
    int flushed = fflush(out) == 0 && !ferror(out);
    if (out != stdout && fclose(out) != 0) {
        flushed = 0;
    }
    if (ret == PQT_ERR_NOMEM) {
        cli_error("advise", "out of memory while writing the report");
        return CLI_EXIT_INTERNAL;
    }
    if (ret != 0 || !flushed) {
        cli_error("advise", "cannot write the report%s%s: %s", a->out_path ? " to " : "",
                  a->out_path ? a->out_path : "", strerror(errno));
        return CLI_EXIT_IO;
    }
    return CLI_EXIT_OK;
}

static int advise_run(const advise_args *a)
{
    char err[256];
    pqt_adv_config cfg;
    pqt_obs_families *fam = NULL;
    pqt_adv *adv = NULL;
    pqt_obs *obs = NULL;
    char *bpf = NULL;
    int status = CLI_EXIT_OK;
    uint64_t dropped = 0;

    memset(&cfg, 0, sizeof(cfg));
    if (pqt_adv_server_init(&cfg.server, (pqt_adv_model)a->model, a->groups, err, sizeof(err)) !=
        0) {
        cli_error("advise", "--groups %s", err);
        return CLI_EXIT_USAGE;
    }
    cfg.prefix_v4 = (unsigned)a->prefix_v4;
    cfg.prefix_v6 = (unsigned)a->prefix_v6;
    cfg.max_refused_pct = a->max_refused;
    cfg.max_hrr_pct = a->max_hrr;
    status = cli_obs_load_families("advise", a->families, &fam);
    if (status != CLI_EXIT_OK) {
        goto cleanup;
    }
    if (pqt_adv_new(&cfg, &adv) != 0) {
        status = CLI_EXIT_INTERNAL;
        goto cleanup;
    }
    pqt_obs_config ocfg = {
        .max_flows = (size_t)a->max_flows,
        .max_memory_bytes = (size_t)a->max_memory << 20,
        .idle_timeout_us = a->timeout * 1000000u,
        .families = fam,
        .on_handshake = on_handshake,
        .arg = adv,
    };
    if (pqt_obs_new(&ocfg, &obs) != 0) {
        status = CLI_EXIT_INTERNAL;
        goto cleanup;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int show_progress = !a->quiet && isatty(STDERR_FILENO);
    if (a->iface != NULL) {
        bpf = join_words(a->operands, a->noperands);
        if (bpf == NULL) {
            status = CLI_EXIT_INTERNAL;
            goto cleanup;
        }
        status = cli_obs_feed_live("advise", obs, a->iface, bpf, a->promisc, a->duration, a->count,
                                   &stop_requested, &dropped);
    } else {
        for (size_t i = 0; i < a->noperands && !stop_requested; i++) {
            int r =
                cli_obs_feed_file("advise", obs, a->operands[i], show_progress, &stop_requested);
            if (r > status) {
                status = r;
            }
        }
    }
    pqt_obs_finish(obs);
    const pqt_obs_stats *st = pqt_obs_get_stats(obs);
    if (show_progress) {
        cli_obs_progress("advise", st, 1);
    }
    if (pqt_adv_error(adv) != 0) {
        cli_error("advise", "out of memory while counting; the report is partial");
        status = CLI_EXIT_INTERNAL;
    }
    /* A live capture that could not start has nothing to report. */
    if (a->iface == NULL || status == CLI_EXIT_OK || status == CLI_EXIT_IO) {
        int w = write_report(a, adv);
        if (w > status) {
            status = w;
        }
    }
    if (!a->quiet) {
        fprintf(stderr,
                "pqtls: advise: %llu handshakes from %llu packets; flows %llu, evicted %llu, "
                "reassembly gaps %llu%s",
                (unsigned long long)st->handshakes, (unsigned long long)st->packets,
                (unsigned long long)st->flows, (unsigned long long)st->flows_evicted,
                (unsigned long long)st->reassembly_gaps, dropped ? "" : "\n");
        if (dropped) {
            fprintf(stderr, "; kernel drops %llu\n", (unsigned long long)dropped);
        }
    }
cleanup:
    free(bpf);
    pqt_obs_free(obs);
    pqt_adv_free(adv);
    pqt_obs_families_free(fam);
    return status;
}

int cli_cmd_advise(int argc, char **argv)
{
    advise_args a;
    int status = advise_parse(argc, argv, &a);
    if (status == CLI_EXIT_OK && a.help) {
        cli_help_advise(stdout);
        status = cli_finish_output("advise");
    } else if (status == CLI_EXIT_OK) {
        status = advise_run(&a);
    }
    free(a.operands);
    return status;
}
