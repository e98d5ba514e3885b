/* `pqtls scan`: post-quantum readiness inventory of TLS endpoints (src/scan/). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pqtls/scan.h"
#include "util.h"

#define CMD "scan"

void cli_help_scan(FILE *out)
{
    fputs(
        "Usage: pqtls scan [OPTIONS] TARGET...\n"
        "       pqtls scan [OPTIONS] --targets FILE\n"
        "\n"
        "Probe TLS endpoints for post-quantum readiness. Each target gets 11 probes, each on\n"
        "its own connection with a ClientHello built by pqtls: browser-like, one per hybrid or\n"
        "ML-KEM group, HRR preference, classical only, the retired X25519Kyber768Draft00, and\n"
        "a padded ClientHello split into two TCP segments at three points. When a hybrid group\n"
        "is selected, the key exchange is finished and EncryptedExtensions decrypted.\n"
        "\n"
        "Each target gets a stage:\n"
        "  none       no standardized PQ group is negotiated\n"
        "  supported  a hybrid or ML-KEM group completes when the client offers it\n"
        "  preferred  the server asks for X25519MLKEM768 by HelloRetryRequest rather than\n"
        "             take the X25519 share it was given\n"
        "  required   clients without PQ groups are refused\n"
        "and flags: legacy-kyber, segmentation-intolerant, broken-hybrid, unreachable.\n"
        "\n"
        "Targets: host[:port][,sni], e.g. example.com, example.com:8443, 192.0.2.7,sni.example,\n"
        "[2001:db8::1]:443. Port 443 and SNI = host by default (no SNI for IP addresses).\n"
        "In a file: one per line, '#' comments and blank lines allowed; a bad line is\n"
        "reported with its line number and skipped.\n"
        "\n"
        "Options:\n"
        "  -t, --targets FILE        read targets from FILE ('-': standard input)\n"
        "  -f, --format FMT          jsonl (default), table, csv or html\n"
        "  -o, --output FILE         write the report to FILE instead of standard output\n"
        "  -p, --policy FILE         minimum stage per target pattern; exit 1 if any target\n"
        "                            fails (lines 'PATTERN STAGE [no-FLAG...]', first match wins)\n"
        "      --shard K/N           scan only shard K of N (deterministic by target name);\n"
        "                            the outputs of shards 1..N concatenate to a full scan\n"
        "  -c, --concurrency N       simultaneous connections (default 64)\n"
        "      --rate N              at most N new connections per second (default: no limit)\n"
        "      --connect-timeout MS  TCP connect (default 3000)\n"
        "      --first-byte-timeout MS  from ClientHello sent to first answer (default 3000)\n"
        "      --handshake-timeout MS   connect start to verdict (default 8000)\n"
        "      --timeout MS          set all three\n"
        "      --retries N           extra attempts after a connect failure, timeout or reset\n"
        "                            with no answer (default 1)\n"
        "      --resolve-timeout MS  per-name lookup limit (default 5000); names are resolved\n"
        "                            ahead of use on --resolvers N threads (default 4)\n"
        "      --probes LIST         comma-separated subset, e.g. x25519mlkem768,classical\n"
        "      --split-gap MS        pause between the two segments (default 25)\n"
        "      --progress, --no-progress  progress on stderr (default: when it is a terminal)\n"
        "  -h, --help                this text\n"
        "\n"
        "Probes: browser x25519mlkem768 secp256r1mlkem768 secp384r1mlkem1024 mlkem1024\n"
        "        hrr-preference classical legacy-kyber split-sni split-key-share split-mss\n"
        "\n"
        "Examples:\n"
        "  pqtls scan --format table example.com cloudflare.com:443\n"
        "  pqtls scan --targets estate.txt --concurrency 200 --output scan.jsonl\n"
        "  pqtls scan --targets estate.txt --format html --output report.html\n"
        "  pqtls scan --targets estate.txt --shard 2/4 >> part2.jsonl    # machine 2 of 4\n"
        "  pqtls scan --targets estate.txt --policy pq-policy.txt        # CI gate\n"
        "\n"
        "A policy file:\n"
        "  # pattern (shell glob on host or host:port)   minimum stage   forbidden flags\n"
        "  *.bank.example   required   no-legacy-kyber\n"
        "  *                supported  no-broken-hybrid\n"
        "\n"
        "The JSON Lines schema (pqtls-scan/1) is documented in docs/scan.md.\n"
        "\n"
        "Exit status (scan):\n"
        "  0  scan finished and every target complies with the policy (if any)\n"
        "  1  some targets do not comply with the policy (listed on stderr)\n"
        "  2  usage error, or bad input (bad target lines are skipped, the rest is scanned)\n"
        "  3  the report could not be written\n"
        "  5  internal error\n",
        out);
}

typedef struct {
    /* targets from arguments */
    char **argv;
    int argc, argi;
    /* or from a file */
    FILE *file;
    const char *file_name;
    unsigned line;
    unsigned shard_k, shard_n;
    unsigned long bad_lines;
    unsigned long total; /* 0: unknown */
} source;

typedef struct {
    pqt_scan_writer *w;
    pqt_scan_policy *policy;
    unsigned long done, failed_policy, write_errors;
    int progress;
    unsigned long total;
    uint64_t t0, last_progress;
} sink;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Parse one text line; 1 if t is a target to scan. */
static int take_line(source *src, const char *text, unsigned line, pqt_scan_target *t)
{
    int blank = 0;
    const char *why = NULL;
    if (pqt_scan_target_parse(text, t, &blank, &why) != 0) {
        char shown[80];
        snprintf(shown, sizeof(shown), "%.*s", (int)strcspn(text, "\r\n"), text);
        if (src->file != NULL) {
            cli_error(CMD, "%s:%u: '%s': %s; line skipped", src->file_name, line, shown, why);
        } else {
            cli_error(CMD, "target '%s': %s; skipped", shown, why);
        }
        src->bad_lines++;
        return 0;
    }
    if (blank) {
        return 0;
    }
    t->line = line;
    return pqt_scan_shard_member(t, src->shard_k, src->shard_n);
}

/* Read one line of at most cap-1 characters; longer lines are consumed and
 * flagged so that one endless line cannot exhaust memory. */
static int read_line(FILE *f, char *buf, size_t cap, int *too_long)
{
    *too_long = 0;
    if (fgets(buf, (int)cap, f) == NULL) {
        return 0;
    }
    if (strchr(buf, '\n') == NULL && !feof(f)) {
        int c;
        while ((c = fgetc(f)) != EOF && c != '\n') {
        }
        *too_long = 1;
    }
    return 1;
}

static int next_target(void *ctx, pqt_scan_target *t)
{
    source *src = ctx;
    char buf[1100];
    int too_long;
    if (src->file == NULL) {
        while (src->argi < src->argc) {
            if (take_line(src, src->argv[src->argi++], 0, t)) {
                return 1;
            }
        }
        return 0;
    }
    while (read_line(src->file, buf, sizeof(buf), &too_long)) {
        src->line++;
        if (too_long) {
            cli_error(CMD, "%s:%u: line longer than %zu characters; line skipped", src->file_name,
                      src->line, sizeof(buf) - 2);
            src->bad_lines++;
            continue;
        }
        if (take_line(src, buf, src->line, t)) {
            return 1;
        }
    }
    return 0;
}

static void show_progress(sink *k, int final)
{
    uint64_t now = mono_ms();
    if (!k->progress || (!final && now - k->last_progress < 250)) {
        return;
    }
    k->last_progress = now;
    double secs = (double)(now - k->t0) / 1000.0;
    double rate = secs > 0 ? (double)k->done / secs : 0;
    if (k->total > 0) {
        double eta =
            rate > 0 ? (double)(k->total - (k->done < k->total ? k->done : k->total)) / rate : 0;
        fprintf(stderr, "\r\033[Kscan: %lu/%lu targets, %.1f targets/s, ETA %.0f s", k->done,
                k->total, rate, eta);
    } else {
        fprintf(stderr, "\r\033[Kscan: %lu targets, %.1f targets/s", k->done, rate);
    }
    if (final) {
        fputc('\n', stderr);
    }
}

static int on_done(void *ctx, pqt_scan_result *r)
{
    sink *k = ctx;
    k->done++;
    if (pqt_scan_writer_add(k->w, r) != 0) {
        k->write_errors++;
    }
    if (k->policy != NULL) {
        char reason[256];
        if (pqt_scan_policy_check(k->policy, r, reason, sizeof(reason)) == 0) {
            k->failed_policy++;
            if (k->progress) {
                fputs("\r\033[K", stderr);
            }
            cli_error(CMD, "policy: %s does not comply: %s", r->name, reason);
        }
    }
    show_progress(k, 0);
    return 0;
}

static int parse_uint(const char *opt, const char *v, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long x = v ? strtoul(v, &end, 10) : 0;
    if (v == NULL || *v == 0 || *end != 0 || errno != 0 || x < min || x > max || v[0] == '-') {
        cli_error(CMD, "%s needs a whole number from %u to %u, got '%s'", opt, min, max,
                  v ? v : "");
        return -1;
    }
    *out = (unsigned)x;
    return 0;
}

static int parse_probes(const char *v, unsigned *mask)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", v);
    *mask = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int id = pqt_probe_by_name(tok);
        if (id < 0) {
            cli_error(CMD, "--probes: unknown probe '%s'; see 'pqtls scan --help' for the list",
                      tok);
            return -1;
        }
        *mask |= 1u << id;
    }
    if (*mask == 0) {
        cli_error(CMD, "--probes: the list is empty");
        return -1;
    }
    return 0;
}

/* Count the targets in a seekable file for the progress display. */
static unsigned long count_targets(source *src)
{
    pqt_scan_target t;
    unsigned long n = 0;
    long pos = ftell(src->file);
    if (pos < 0) {
        return 0;
    }
    char buf[1100];
    int too_long, blank;
    const char *why;
    while (read_line(src->file, buf, sizeof(buf), &too_long)) {
        if (!too_long && pqt_scan_target_parse(buf, &t, &blank, &why) == 0 && !blank &&
            pqt_scan_shard_member(&t, src->shard_k, src->shard_n)) {
            n++;
        }
    }
    clearerr(src->file);
    if (fseek(src->file, pos, SEEK_SET) != 0) {
        return 0;
    }
    return n;
}

int cli_cmd_scan(int argc, char **argv)
{
    pqt_scan_config cfg;
    source src;
    sink k;
    const char *targets_file = NULL, *format = "jsonl", *output = NULL, *policy_file = NULL;
    int progress = -1, rc = CLI_EXIT_OK;
    FILE *out = stdout;
    char **positional = NULL;
    int npos = 0;

    pqt_scan_config_default(&cfg);
    memset(&src, 0, sizeof(src));
    memset(&k, 0, sizeof(k));
    src.shard_k = src.shard_n = 1;
    positional = calloc((size_t)argc + 1, sizeof(*positional));
    if (positional == NULL) {
        return CLI_EXIT_INTERNAL;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS_VALUE()                                                       \
    do {                                                                    \
        if (v == NULL) {                                                    \
            cli_error(CMD, "%s needs a value; see 'pqtls scan --help'", a); \
            rc = CLI_EXIT_USAGE;                                            \
            goto cleanup;                                                   \
        }                                                                   \
        i++;                                                                \
    } while (0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_help_scan(stdout);
            rc = cli_finish_output(CMD);
            goto cleanup;
        } else if (strcmp(a, "-t") == 0 || strcmp(a, "--targets") == 0) {
            NEEDS_VALUE();
            targets_file = v;
        } else if (strcmp(a, "-f") == 0 || strcmp(a, "--format") == 0) {
            NEEDS_VALUE();
            format = v;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            NEEDS_VALUE();
            output = v;
        } else if (strcmp(a, "-p") == 0 || strcmp(a, "--policy") == 0) {
            NEEDS_VALUE();
            policy_file = v;
        } else if (strcmp(a, "--shard") == 0) {
            NEEDS_VALUE();
            if (pqt_scan_shard_parse(v, &src.shard_k, &src.shard_n) != 0) {
                cli_error(CMD, "--shard '%s': expected K/N with 1 <= K <= N, e.g. --shard 2/4", v);
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--concurrency") == 0) {
            NEEDS_VALUE();
            if (parse_uint(a, v, 1, 10000, &cfg.concurrency) != 0) {
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
        } else if (strcmp(a, "--rate") == 0) {
            NEEDS_VALUE();
            if (parse_uint(a, v, 0, 1000000, &cfg.rate) != 0) {
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
        } else if (strcmp(a, "--connect-timeout") == 0 || strcmp(a, "--first-byte-timeout") == 0 ||
                   strcmp(a, "--handshake-timeout") == 0 || strcmp(a, "--timeout") == 0) {
            unsigned ms;
            NEEDS_VALUE();
            if (parse_uint(a, v, 1, 600000, &ms) != 0) {
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
            if (a[2] == 'c' || a[2] == 't') {
                cfg.connect_timeout_ms = ms;
            }
            if (a[2] == 'f' || a[2] == 't') {
                cfg.first_byte_timeout_ms = ms;
            }
            if (a[2] == 'h' || a[2] == 't') {
                cfg.handshake_timeout_ms = ms;
            }
        } else if (strcmp(a, "--resolve-timeout") == 0) {
            NEEDS_VALUE();
            if (parse_uint(a, v, 1, 600000, &cfg.resolve_timeout_ms) != 0) {
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
        } else if (strcmp(a, "--resolvers") == 0) {
            NEEDS_VALUE();
            if (parse_uint(a, v, 1, 16, &cfg.resolvers) != 0) {
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
        } else if (strcmp(a, "--retries") == 0) {
            NEEDS_VALUE();
            if (parse_uint(a, v, 0, 10, &cfg.retries) != 0) {
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
        } else if (strcmp(a, "--split-gap") == 0) {
            NEEDS_VALUE();
            if (parse_uint(a, v, 0, 10000, &cfg.split_gap_ms) != 0) {
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
        } else if (strcmp(a, "--probes") == 0) {
            NEEDS_VALUE();
            if (parse_probes(v, &cfg.probe_mask) != 0) {
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
        } else if (strcmp(a, "--progress") == 0) {
            progress = 1;
        } else if (strcmp(a, "--no-progress") == 0) {
            progress = 0;
        } else if (a[0] == '-' && a[1] != 0) {
            cli_error(CMD, "unknown option '%s'; see 'pqtls scan --help'", a);
            rc = CLI_EXIT_USAGE;
            goto cleanup;
        } else {
            positional[npos++] = argv[i];
        }
#undef NEEDS_VALUE
    }

    pqt_scan_format fmt;
    if (strcmp(format, "jsonl") == 0 || strcmp(format, "json") == 0) {
        fmt = PQT_SCAN_FMT_JSONL;
    } else if (strcmp(format, "table") == 0) {
        fmt = PQT_SCAN_FMT_TABLE;
    } else if (strcmp(format, "csv") == 0) {
        fmt = PQT_SCAN_FMT_CSV;
    } else if (strcmp(format, "html") == 0) {
        fmt = PQT_SCAN_FMT_HTML;
    } else {
        cli_error(CMD, "--format '%s': use jsonl, table, csv or html", format);
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    if (targets_file == NULL && npos == 0) {
        cli_error(CMD, "no targets; give TARGET arguments (host[:port][,sni]) or --targets FILE");
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    if (targets_file != NULL && npos > 0) {
        cli_error(CMD, "give targets either as arguments or with --targets, not both");
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    if (policy_file != NULL) {
        FILE *pf = fopen(policy_file, "r");
        unsigned line = 0;
        char why[256];
        if (pf == NULL) {
            cli_error(CMD, "cannot open policy file '%s': %s", policy_file, strerror(errno));
            rc = CLI_EXIT_USAGE;
            goto cleanup;
        }
        int ret = pqt_scan_policy_load(pf, &k.policy, &line, why, sizeof(why));
        fclose(pf);
        if (ret != 0) {
            cli_error(CMD, "%s:%u: %s", policy_file, line, why);
            rc = CLI_EXIT_USAGE;
            goto cleanup;
        }
    }
    if (targets_file != NULL) {
        src.file_name = targets_file;
        src.file = strcmp(targets_file, "-") == 0 ? stdin : fopen(targets_file, "r");
        if (src.file == NULL) {
            cli_error(CMD, "cannot open targets file '%s': %s", targets_file, strerror(errno));
            rc = CLI_EXIT_USAGE;
            goto cleanup;
        }
    } else {
        src.argv = positional;
        src.argc = npos;
    }
    if (output != NULL) {
        out = fopen(output, "w");
        if (out == NULL) {
            cli_error(CMD, "cannot write '%s': %s", output, strerror(errno));
            rc = CLI_EXIT_IO;
            goto cleanup;
        }
    }
    k.progress = progress >= 0 ? progress : isatty(STDERR_FILENO);
    if (k.progress) {
        k.total = src.file ? (src.file != stdin ? count_targets(&src) : 0) : (unsigned long)npos;
    }
    k.t0 = mono_ms();
    if (pqt_scan_writer_open(&k.w, out, fmt) != 0) {
        cli_error(CMD, "cannot start the report");
        rc = CLI_EXIT_IO;
        goto cleanup;
    }
    int ret = pqt_scan_run(&cfg, next_target, &src, on_done, &k);
    show_progress(&k, 1);
    int wret = pqt_scan_writer_close(k.w);
    k.w = NULL;
    if (ret != 0) {
        cli_error(CMD, "the scan stopped: %s", pqt_strerror(ret));
        rc = CLI_EXIT_INTERNAL;
    } else if (wret != 0 || k.write_errors > 0) {
        cli_error(CMD, "could not write the report to %s", output ? output : "standard output");
        rc = CLI_EXIT_IO;
    } else if (src.bad_lines > 0) {
        cli_error(CMD, "%lu bad target line%s skipped (see above)", src.bad_lines,
                  src.bad_lines == 1 ? "" : "s");
        rc = CLI_EXIT_USAGE;
    } else if (k.failed_policy > 0) {
        cli_error(CMD, "%lu of %lu targets do not comply with %s", k.failed_policy, k.done,
                  policy_file);
        rc = CLI_EXIT_FAILED;
    }
cleanup:
    if (k.w != NULL && pqt_scan_writer_close(k.w) != 0) {
        rc = CLI_EXIT_IO;
    }
    if (out != stdout && out != NULL && fclose(out) != 0 && rc == CLI_EXIT_OK) {
        cli_error(CMD, "could not write '%s'", output);
        rc = CLI_EXIT_IO;
    }
    if (src.file != NULL && src.file != stdin) {
        fclose(src.file);
    }
    pqt_scan_policy_free(k.policy);
    free(positional);
    return rc;
}
