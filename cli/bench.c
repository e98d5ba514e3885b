/*
 * `pqtls bench kem`: the KEM benchmark from bench/, the same code as
 * bin/bench_kem. `pqtls bench tls`: full TLS 1.3 handshakes per group
 * (bench/bench_tls.c); the target is read here with the scanner's target
 * syntax.
 */
#include <string.h>

#include "bench_kem.h"
#include "bench_tls.h"
#include "cli.h"
#include "pqtls/scan.h"
#include "util.h"

static void bench_tls_help(FILE *out)
{
    fputs("Usage: pqtls bench tls [TARGET] [--groups LIST] [--handshakes N]\n"
          "                       [--format table|jsonl] [--server-groups L] [--mss BYTES]\n"
          "                       [--timeout MS] [--provider-path DIR]\n"
          "\n"
          "Full TLS 1.3 handshakes, one configuration against another, on one path:\n"
          "Debian's libssl (OpenSSL 3.0+) with the pqtls provider is the client, in a\n"
          "library context of its own. Without TARGET a libssl server in the same\n"
          "process answers on 127.0.0.1 (a port the kernel picks; Ed25519 certificate,\n"
          "no tickets). The entries are interleaved handshake by handshake, the order\n"
          "reversed every other round, after one untimed handshake each. For each entry:\n"
          "ClientHello and ServerHello bytes (handshake header included), TCP payload\n"
          "bytes each way until SSL_connect returned, the TCP segments the kernel sent\n"
          "for the ClientHello (TCP_INFO), latency p50/p90/p99 (SSL_connect's wall time,\n"
          "TCP connect excluded), the client thread's CPU time per handshake (median),\n"
          "whether the server asked for a HelloRetryRequest, and the difference to\n"
          "X25519 (or to the first entry when X25519 is not measured) in the same run.\n"
          "\n"
          "TARGET is host, host:port, [v6]:port, host:port,sni or an https:// URL, as\n"
          "in pqtls scan (port 443 by default); direct TLS only (no STARTTLS).\n"
          "\n"
          "Options of bench tls:\n"
          "  --groups LIST        comma-separated entries (default X25519,X25519MLKEM768);\n"
          "                       an entry is a group name known to libssl with pqtls\n"
          "                       (X25519, X25519MLKEM768, SecP256r1MLKEM768, ...) or a\n"
          "                       ':'-separated preference list such as\n"
          "                       X25519:X25519MLKEM768, of which libssl sends a key\n"
          "                       share for the first group only (a server that wants\n"
          "                       the second answers with a HelloRetryRequest)\n"
          "  --handshakes N       timed handshakes per entry (default 100, at most 100000)\n"
          "  --format F           table (default) or jsonl: one JSON object per entry\n"
          "                       with group, negotiated_group, target, handshakes,\n"
          "                       client_hello_bytes, server_hello_bytes, bytes_sent,\n"
          "                       bytes_received, client_hello_segments,\n"
          "                       client_key_share_bytes, server_key_share_bytes, mss,\n"
          "                       latency_ms_p50, latency_ms_p90, latency_ms_p99,\n"
          "                       client_cpu_us, hrr, hrr_handshakes,\n"
          "                       hello_retry_request_bytes, retry_client_hello_bytes,\n"
          "                       baseline and a NAME_delta for every size, latency and\n"
          "                       CPU figure; an entry whose handshake failed has group,\n"
          "                       target and error only\n"
          "  --server-groups L    the in-process server's groups, ':'-separated (default:\n"
          "                       every group of the entries, those with ML-KEM first);\n"
          "                       e.g. X25519MLKEM768 with the entry\n"
          "                       X25519:X25519MLKEM768 measures an HRR\n"
          "  --mss BYTES          clamp the client's TCP maximum segment size\n"
          "                       (TCP_MAXSEG, 88..65535), e.g. 1460 to see on loopback\n"
          "                       how an Ethernet path splits the ClientHello\n"
          "  --timeout MS         connect and each read or write (default 5000)\n"
          "  --provider-path DIR  the directory holding pqtls.so (default: ../lib beside\n"
          "                       the pqtls executable when it is there, else OpenSSL's\n"
          "                       module directory or OPENSSL_MODULES)\n"
          "  -h, --help           this text\n"
          "\n"
          "Sizes are medians over the handshakes; hello sizes are the handshake\n"
          "messages (add 5 bytes of record header on the wire). The server's chain is\n"
          "not verified (its CertificateVerify signature is). Session tickets sent after\n"
          "the handshake and close_notify are not counted.\n"
          "\n"
          "Examples:\n"
          "  pqtls bench tls\n"
          "  pqtls bench tls --mss 1460 --handshakes 500 --format jsonl\n"
          "  pqtls bench tls example.com --groups X25519,X25519MLKEM768,SecP256r1MLKEM768\n"
          "  pqtls bench tls --groups X25519MLKEM768,X25519:X25519MLKEM768 \\\n"
          "      --server-groups X25519MLKEM768\n"
          "\n"
          "Exit codes of bench tls:\n"
          "  0  every handshake completed\n"
          "  1  a handshake failed or the target could not be reached (a failed entry\n"
          "     is reported with its error, the others are measured)\n"
          "  2  usage error, or a group libssl does not know\n"
          "  3  output could not be written\n"
          "  4  the pqtls provider could not be loaded\n"
          "  5  internal error\n",
          out);
}

void cli_help_bench(FILE *out)
{
    fputs("Usage: pqtls bench kem [OPTIONS]   the ML-KEM benchmark\n"
          "       pqtls bench tls [TARGET] [OPTIONS]   handshake cost on a path\n\n",
          out);
    pqt_bench_kem_help(out, "pqtls bench kem");
    fputc('\n', out);
    bench_tls_help(out);
    fputc('\n', out);
    fputs(cli_exit_codes_help, out);
}

enum {
    OPT_GROUPS = 256,
    OPT_HANDSHAKES,
    OPT_FORMAT,
    OPT_SERVER_GROUPS,
    OPT_MSS,
    OPT_TIMEOUT,
    OPT_PROVIDER_PATH,
};

static const struct option bench_tls_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"groups", required_argument, NULL, OPT_GROUPS},
    {"handshakes", required_argument, NULL, OPT_HANDSHAKES},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"server-groups", required_argument, NULL, OPT_SERVER_GROUPS},
    {"mss", required_argument, NULL, OPT_MSS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"provider-path", required_argument, NULL, OPT_PROVIDER_PATH},
    {NULL, 0, NULL, 0},
};

/* Split --groups at commas into cfg->groups (pointing into buf). */
static int bench_tls_groups(const char *value, char *buf, size_t cap, pqt_bench_tls_config *cfg)
{
    if (strlen(value) >= cap) {
        cli_error("bench", "--groups is too long");
        return CLI_EXIT_USAGE;
    }
    strcpy(buf, value);
    cfg->ngroups = 0;
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        if (*p == '\0' || p[0] == ':' || p[strlen(p) - 1] == ':' || strstr(p, "::") != NULL) {
            cli_error("bench", "--groups has an empty entry or group name in '%s'", value);
            return CLI_EXIT_USAGE;
        }
        if (cfg->ngroups == PQT_BENCH_TLS_MAX_GROUPS) {
            cli_error("bench", "--groups names more than %d entries", PQT_BENCH_TLS_MAX_GROUPS);
            return CLI_EXIT_USAGE;
        }
        cfg->groups[cfg->ngroups++] = p;
        if (comma == NULL) {
            return CLI_EXIT_OK;
        }
        p = comma + 1;
    }
}

static int bench_tls(int argc, char **argv)
{
    static char groups_buf[1024];
    pqt_bench_tls_config cfg = {.handshakes = 100, .timeout_ms = 5000};
    pqt_scan_target t;
    const char *target = NULL;
    cli_opts o = {.cmd = "bench", .optstring = "-:h", .longopts = bench_tls_options};
    unsigned long long v;
    int code, ret;

    ret = bench_tls_groups("X25519,X25519MLKEM768", groups_buf, sizeof(groups_buf), &cfg);
    if (ret != CLI_EXIT_OK) {
        return ret;
    }
    while ((code = cli_getopt(&o, argc, argv)) != CLI_OPT_END) {
        ret = CLI_EXIT_OK;
        switch (code) {
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case 'h':
            bench_tls_help(stdout);
            return cli_finish_output("bench");
        case CLI_OPT_OPERAND:
            if (target != NULL) {
                cli_error("bench", "one TARGET at a time ('%s' and '%s')", target, o.arg);
                return CLI_EXIT_USAGE;
            }
            target = o.arg;
            break;
        case OPT_GROUPS:
            ret = bench_tls_groups(o.value, groups_buf, sizeof(groups_buf), &cfg);
            break;
        case OPT_HANDSHAKES:
            ret = cli_parse_uint("bench", o.arg, o.value, 1, PQT_BENCH_TLS_MAX_HANDSHAKES, &v);
            cfg.handshakes = (unsigned)v;
            break;
        case OPT_FORMAT:
            if (strcmp(o.value, "table") != 0 && strcmp(o.value, "jsonl") != 0) {
                cli_error("bench", "--format is table or jsonl, not '%s'", o.value);
                return CLI_EXIT_USAGE;
            }
            cfg.jsonl = strcmp(o.value, "jsonl") == 0;
            break;
        case OPT_SERVER_GROUPS:
            cfg.server_groups = o.value;
            break;
        case OPT_MSS:
            /* Linux refuses TCP_MAXSEG below 88 (TCP_MIN_MSS). */
            ret = cli_parse_uint("bench", o.arg, o.value, 88, 65535, &v);
            cfg.mss = (unsigned)v;
            break;
        case OPT_TIMEOUT:
            ret = cli_parse_uint("bench", o.arg, o.value, 1, 600000, &v);
            cfg.timeout_ms = (unsigned)v;
            break;
        case OPT_PROVIDER_PATH:
            cfg.provider_path = o.value;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
        if (ret != CLI_EXIT_OK) {
            return ret;
        }
    }
    if (target != NULL) {
        int blank = 0;
        const char *why = NULL;
        if (pqt_scan_target_parse(target, &t, &blank, &why) != 0 || blank) {
            cli_error("bench", "TARGET '%s': %s", target, why != NULL ? why : "empty");
            return CLI_EXIT_USAGE;
        }
        if (t.starttls != PQT_STARTTLS_NONE) {
            cli_error("bench",
                      "TARGET '%s' needs a STARTTLS dialogue; bench tls measures direct TLS "
                      "only (use a port that speaks TLS at once, e.g. 465 or 993)",
                      target);
            return CLI_EXIT_USAGE;
        }
        if (cfg.server_groups != NULL) {
            cli_error("bench", "--server-groups is for the in-process server, not a TARGET");
            return CLI_EXIT_USAGE;
        }
        cfg.host = t.host;
        cfg.port = t.port;
        cfg.sni = t.sni;
    }
    ret = pqt_bench_tls_run(&cfg, stdout, stderr);
    int out = cli_finish_output("bench");
    return ret != CLI_EXIT_OK ? ret : out;
}

int cli_cmd_bench(int argc, char **argv)
{
    if (argc < 2) {
        cli_error("bench", "missing benchmark name; use 'pqtls bench kem' or 'pqtls bench tls'");
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cli_help_bench(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "tls") == 0) {
        return bench_tls(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "kem") != 0) {
        cli_error("bench", "unknown benchmark '%s'; available: kem, tls", argv[1]);
        return CLI_EXIT_USAGE;
    }
    return pqt_bench_kem_main(argc - 1, argv + 1, "pqtls bench kem");
}
