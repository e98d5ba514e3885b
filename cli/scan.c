/* `pqtls scan`: post-quantum readiness inventory of TLS endpoints (src/scan/). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pqtls/common.h"
#include "pqtls/scan.h"
#include "pqtls/store.h"
#include "util.h"

#define CMD "scan"

/* Exit status when no target could be scanned at all (docs/cli.md). */
#define SCAN_EXIT_NOTHING_SCANNED 4

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
        "and flags: legacy-kyber, segmentation-intolerant, broken-hybrid, unreachable,\n"
        "plaintext-service (a plaintext banner answered the ClientHello: scan the service\n"
        "with its protocol), no-starttls (the service does not offer or refuses STARTTLS).\n"
        "\n"
        "Targets: host[:port][,sni], e.g. example.com, example.com:8443, 192.0.2.7,sni.example,\n"
        "[2001:db8::1]:443. Port 443 and SNI = host by default (no SNI for IP addresses).\n"
        "Or a URL scheme://host[:port][,sni] whose scheme says how TLS starts (default port):\n"
        "  https:// (443), smtps:// (465), imaps:// (993), pop3s:// (995), ldaps:// (636):\n"
        "      TLS from the first byte\n"
        "  smtp:// (25), submission:// (587), imap:// (143): STARTTLS;  pop3:// (110): STLS\n"
        "  ftp:// (21): AUTH TLS;  ldap:// (389): the StartTLS extended operation\n"
        "  postgres://, postgresql:// (5432): SSLRequest; with ?sslnegotiation=direct,\n"
        "      PostgreSQL 17's direct TLS (ALPN postgresql)\n"
        "  mysql:// (3306): the SSL request packet;  xmpp:// (5222): STARTTLS, to = SNI\n"
        "A user, path or query in a URL is ignored. All 11 probes run over the dialogue.\n"
        "In a file: one per line, '#' comments and blank lines allowed; a bad line is\n"
        "reported with its line number and skipped. Reports list targets in input order.\n"
        "\n"
        "Options:\n"
        "  -t, --targets FILE        read targets from FILE ('-': standard input)\n"
        "  -f, --format FMT          jsonl (default), table, csv, html or cbom\n"
        "  -o, --output FILE         write the report to FILE instead of standard output\n"
        "  -p, --policy FILE         minimum stage per target pattern; exit 1 if any target\n"
        "                            fails (lines 'PATTERN STAGE [no-FLAG...]', first match wins)\n"
        "      --shard K/N           scan only shard K of N (deterministic by target name);\n"
        "                            the outputs of shards 1..N concatenate to a full scan\n"
        "      --shard auto[/N]      K (and N) from the job engine: JOB_COMPLETION_INDEX\n"
        "                            (Kubernetes Indexed Job, needs /N), SLURM_ARRAY_TASK_ID\n"
        "                            (Slurm array, N = SLURM_ARRAY_TASK_COUNT), PARALLEL_SEQ\n"
        "                            (GNU parallel, needs /N); docs/scale.md\n"
        "      --store URL           also write every result into a store: a SQLite file\n"
        "                            (path or sqlite:PATH, created if missing) or\n"
        "                            postgresql://...; read it back with pqtls history. With\n"
        "                            --format html the report gains \"since last scan\"\n"
        "      --scan-id ID          the scan all shards share ([A-Za-z0-9._:-], at most 100);\n"
        "                            default: $PQTLS_SCAN_ID, the engine's job id\n"
        "                            (slurm-$SLURM_ARRAY_JOB_ID, parallel-$PARALLEL_PID), or\n"
        "                            a new one (then --shard K/N with N > 1 needs --scan-id)\n"
        "  -c, --concurrency N       simultaneous connections (default 64)\n"
        "      --rate N              at most N new connections per second (default: no limit)\n"
        "      --connect-timeout MS  TCP connect (default 3000)\n"
        "      --first-byte-timeout MS  from ClientHello (or a STARTTLS dialogue's command or\n"
        "                            connect) to the first byte of the answer (default 3000)\n"
        "      --handshake-timeout MS   connect start to verdict (default 8000)\n"
        "      --timeout MS          set all three\n"
        "      --retries N           extra attempts after a connect failure, timeout or reset\n"
        "                            with no answer (default 1)\n"
        "      --resolve-timeout MS  per-name lookup limit (default 5000); names are resolved\n"
        "                            ahead of use on --resolvers N threads (default 4)\n"
        "      --probes LIST         comma-separated subset, e.g. x25519mlkem768,classical\n"
        "      --split-gap MS        pause between the two segments (default 25)\n"
        "      --starttls PROTO      targets without a scheme speak PROTO first (smtp,\n"
        "                            submission, imap, pop3, ftp, ldap, postgres, mysql, xmpp);\n"
        "                            their default port becomes PROTO's\n"
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
        "Exit status (scan), the first that applies:\n"
        "  5  internal error\n"
        "  3  the report (or the store) could not be written\n"
        "  4  no target could be scanned: every one was unreachable (or no valid target\n"
        "     line was left)\n"
        "  1  some targets do not comply with the policy (listed on stderr), even when\n"
        "     bad target lines were skipped too\n"
        "  2  usage error, or bad target lines (skipped, counted; the rest is scanned)\n"
        "  0  scan finished and every target complies with the policy (if any)\n",
        out);
}

typedef struct {
    /* targets from arguments */
    const char *const *argv;
    int argc, argi;
    /* or from a file */
    FILE *file;
    const char *file_name;
    unsigned line;
    unsigned shard_k, shard_n;
    int proto; /* --starttls: the protocol of lines without a scheme */
    unsigned long bad_lines;
    uint64_t index;      /* valid targets read so far, shards included */
    unsigned long total; /* 0: unknown */
} source;

typedef struct {
    pqt_scan_writer *w;
    pqt_store *store; /* --store, or NULL */
    unsigned long store_errors;
    pqt_scan_policy *policy;
    unsigned long done, failed_policy, write_errors, unreachable;
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
    if (pqt_scan_target_parse_as(text, src->proto, t, &blank, &why) != 0) {
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
    /* The index counts every valid target, in or out of the shard, so
     * the shards' outputs sort back into input order. */
    t->index = src->index++;
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
    if (r->flags & PQT_FLAG_UNREACHABLE) {
        k->unreachable++;
    }
    if (pqt_scan_writer_add(k->w, r) != 0) {
        k->write_errors++;
    }
    if (k->store != NULL && k->store_errors == 0 && pqt_store_add(k->store, r) != 0) {
        if (k->progress) {
            fputs("\r\033[K", stderr);
        }
        cli_error(CMD, "store: %s; the scan goes on, the store keeps it incomplete",
                  pqt_store_error(k->store));
        k->store_errors++;
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
        if (!too_long && pqt_scan_target_parse_as(buf, src->proto, &t, &blank, &why) == 0 &&
            !blank && pqt_scan_shard_member(&t, src->shard_k, src->shard_n)) {
            n++;
        }
    }
    clearerr(src->file);
    if (fseek(src->file, pos, SEEK_SET) != 0) {
        return 0;
    }
    return n;
}

/* Options: the same spellings as ever; cli_getopt keeps the old rules (util.h). */
enum {
    OPT_SHARD = 256,
    OPT_RATE,
    OPT_CONNECT_TIMEOUT,
    OPT_FIRST_BYTE_TIMEOUT,
    OPT_HANDSHAKE_TIMEOUT,
    OPT_TIMEOUT,
    OPT_RESOLVE_TIMEOUT,
    OPT_RESOLVERS,
    OPT_RETRIES,
    OPT_SPLIT_GAP,
    OPT_PROBES,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_STARTTLS,
    OPT_STORE,
    OPT_SCAN_ID,
};

static const char scan_optstring[] = "-:ht:f:o:p:c:";

static const struct option scan_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"targets", required_argument, NULL, 't'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"policy", required_argument, NULL, 'p'},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"concurrency", required_argument, NULL, 'c'},
    {"rate", required_argument, NULL, OPT_RATE},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"first-byte-timeout", required_argument, NULL, OPT_FIRST_BYTE_TIMEOUT},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"resolve-timeout", required_argument, NULL, OPT_RESOLVE_TIMEOUT},
    {"resolvers", required_argument, NULL, OPT_RESOLVERS},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"split-gap", required_argument, NULL, OPT_SPLIT_GAP},
    {"probes", required_argument, NULL, OPT_PROBES},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"starttls", required_argument, NULL, OPT_STARTTLS},
    {"store", required_argument, NULL, OPT_STORE},
    {"scan-id", required_argument, NULL, OPT_SCAN_ID},
    {NULL, 0, NULL, 0},
};

/* The command line, parsed: scan_parse fills it, scan_run acts on it. */
typedef struct {
    pqt_scan_config cfg;
    const char *targets_file, *format, *output, *policy_file;
    pqt_scan_format fmt;
    unsigned shard_k, shard_n;
    const char *shard_auto; /* "auto" or "auto/N", resolved by scan_run */
    const char *store_url, *scan_id;
    char scan_id_buf[128]; /* a derived or generated scan id */
    int proto;             /* --starttls, PQT_SCAN_PROTO_TLS without */
    int progress;          /* 1, 0, or -1: when stderr is a terminal */
    const char **targets;  /* the operands, in order */
    int ntargets;
    int help;
} scan_args;

/* The value of option o as a number from min to max into *out. */
static int number_option(const cli_opts *o, unsigned min, unsigned max, unsigned *out)
{
    unsigned long long v;
    int ret = cli_parse_uint(CMD, o->arg, o->value, min, max, &v);
    if (ret == CLI_EXIT_OK) {
        *out = (unsigned)v;
    }
    return ret;
}

/* --connect-timeout, --first-byte-timeout, --handshake-timeout, or all three (--timeout). */
static int timeout_option(const cli_opts *o, int code, pqt_scan_config *cfg)
{
    unsigned ms;
    int ret = number_option(o, 1, 600000, &ms);
    if (ret != CLI_EXIT_OK) {
        return ret;
    }
    if (code == OPT_CONNECT_TIMEOUT || code == OPT_TIMEOUT) {
        cfg->connect_timeout_ms = ms;
    }
    if (code == OPT_FIRST_BYTE_TIMEOUT || code == OPT_TIMEOUT) {
        cfg->first_byte_timeout_ms = ms;
    }
    if (code == OPT_HANDSHAKE_TIMEOUT || code == OPT_TIMEOUT) {
        cfg->handshake_timeout_ms = ms;
    }
    return CLI_EXIT_OK;
}

/* Take one option into a; values are checked here, in command-line order,
 * so the first bad one is the one reported. CLI_EXIT_OK or CLI_EXIT_USAGE. */
static int scan_option(scan_args *a, const cli_opts *o, int code)
{
    switch (code) {
    case 't':
        a->targets_file = o->value;
        return CLI_EXIT_OK;
    case 'f':
        a->format = o->value;
        return CLI_EXIT_OK;
    case 'o':
        a->output = o->value;
        return CLI_EXIT_OK;
    case 'p':
        a->policy_file = o->value;
        return CLI_EXIT_OK;
    case OPT_STORE:
        a->store_url = o->value;
        return CLI_EXIT_OK;
    case OPT_SCAN_ID:
        if (!pqt_store_scan_id_valid(o->value)) {
            cli_error(CMD, "--scan-id '%s': use 1 to 100 of A-Z a-z 0-9 . _ : -", o->value);
            return CLI_EXIT_USAGE;
        }
        a->scan_id = o->value;
        return CLI_EXIT_OK;
    case OPT_SHARD:
        if (strncmp(o->value, "auto", 4) == 0) {
            a->shard_auto = o->value;
            return CLI_EXIT_OK;
        }
        a->shard_auto = NULL;
        if (pqt_scan_shard_parse(o->value, &a->shard_k, &a->shard_n) != 0) {
            cli_error(CMD, "--shard '%s': expected K/N with 1 <= K <= N, e.g. --shard 2/4",
                      o->value);
            return CLI_EXIT_USAGE;
        }
        return CLI_EXIT_OK;
    case 'c':
        return number_option(o, 1, 10000, &a->cfg.concurrency);
    case OPT_RATE:
        return number_option(o, 0, 1000000, &a->cfg.rate);
    case OPT_CONNECT_TIMEOUT:
    case OPT_FIRST_BYTE_TIMEOUT:
    case OPT_HANDSHAKE_TIMEOUT:
    case OPT_TIMEOUT:
        return timeout_option(o, code, &a->cfg);
    case OPT_RESOLVE_TIMEOUT:
        return number_option(o, 1, 600000, &a->cfg.resolve_timeout_ms);
    case OPT_RESOLVERS:
        return number_option(o, 1, 16, &a->cfg.resolvers);
    case OPT_RETRIES:
        return number_option(o, 0, 10, &a->cfg.retries);
    case OPT_SPLIT_GAP:
        return number_option(o, 0, 10000, &a->cfg.split_gap_ms);
    case OPT_PROBES:
        return parse_probes(o->value, &a->cfg.probe_mask) == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    case OPT_PROGRESS:
        a->progress = 1;
        return CLI_EXIT_OK;
    case OPT_NO_PROGRESS:
        a->progress = 0;
        return CLI_EXIT_OK;
    case OPT_STARTTLS: {
        int proto = pqt_scan_proto_by_scheme(o->value);
        const pqt_scan_proto_info *pi = pqt_scan_proto_get(proto);
        if (pi == NULL || pi->starttls == PQT_STARTTLS_NONE) {
            cli_error(CMD,
                      "--starttls '%s': use smtp, submission, imap, pop3, ftp, ldap, postgres, "
                      "mysql or xmpp (direct-TLS services need no --starttls: write "
                      "smtps://host, or host:port)",
                      o->value);
            return CLI_EXIT_USAGE;
        }
        a->proto = proto;
        return CLI_EXIT_OK;
    }
    default:
        /* every code of scan_options is handled above */
        return CLI_EXIT_INTERNAL;
    }
}

/* What can only be judged once every option is read: the format, the targets. */
static int scan_check(scan_args *a)
{
    if (strcmp(a->format, "jsonl") == 0 || strcmp(a->format, "json") == 0) {
        a->fmt = PQT_SCAN_FMT_JSONL;
    } else if (strcmp(a->format, "table") == 0) {
        a->fmt = PQT_SCAN_FMT_TABLE;
    } else if (strcmp(a->format, "csv") == 0) {
        a->fmt = PQT_SCAN_FMT_CSV;
    } else if (strcmp(a->format, "html") == 0) {
        a->fmt = PQT_SCAN_FMT_HTML;
    } else if (strcmp(a->format, "cbom") == 0) {
        a->fmt = PQT_SCAN_FMT_CBOM;
    } else {
        cli_error(CMD, "--format '%s': use jsonl, table, csv, html or cbom", a->format);
        return CLI_EXIT_USAGE;
    }
    if (a->targets_file == NULL && a->ntargets == 0) {
        cli_error(CMD, "no targets; give TARGET arguments (host[:port][,sni]) or --targets FILE");
        return CLI_EXIT_USAGE;
    }
    if (a->targets_file != NULL && a->ntargets > 0) {
        cli_error(CMD, "give targets either as arguments or with --targets, not both");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* --shard auto from the job engine's environment, and the scan id a store
 * needs: --scan-id, $PQTLS_SCAN_ID, the engine's job id, or a new one
 * (docs/scale.md). CLI_EXIT_OK or CLI_EXIT_USAGE. */
static int shard_and_scan_id(scan_args *a)
{
    char why[300];
    int engine_id = 0;
    if (a->shard_auto != NULL) {
        pqt_store_shard sh;
        if (pqt_store_shard_auto(a->shard_auto, getenv, &sh, why, sizeof(why)) != 0) {
            cli_error(CMD, "--shard %s: %s", a->shard_auto, why);
            return CLI_EXIT_USAGE;
        }
        a->shard_k = sh.k;
        a->shard_n = sh.n;
        if (sh.scan_id[0] != 0) {
            snprintf(a->scan_id_buf, sizeof(a->scan_id_buf), "%s", sh.scan_id);
            engine_id = 1;
        }
    }
    if (a->store_url == NULL || a->scan_id != NULL) {
        return CLI_EXIT_OK;
    }
    const char *env = getenv("PQTLS_SCAN_ID");
    if (env != NULL && env[0] != 0) {
        if (!pqt_store_scan_id_valid(env)) {
            cli_error(CMD, "PQTLS_SCAN_ID '%s': use 1 to 100 of A-Z a-z 0-9 . _ : -", env);
            return CLI_EXIT_USAGE;
        }
        a->scan_id = env;
        return CLI_EXIT_OK;
    }
    if (!engine_id) {
        if (a->shard_n > 1) {
            cli_error(CMD,
                      "--store with shard %u of %u: give every shard the same --scan-id "
                      "(or PQTLS_SCAN_ID), so the store sees one scan",
                      a->shard_k, a->shard_n);
            return CLI_EXIT_USAGE;
        }
        /* A new scan: its UTC start and a random part. */
        uint8_t rnd[4];
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
        if (pqt_random_bytes(rnd, sizeof(rnd)) != 0) {
            return CLI_EXIT_INTERNAL;
        }
        snprintf(a->scan_id_buf, sizeof(a->scan_id_buf), "%s-%02x%02x%02x%02x", when, rnd[0],
                 rnd[1], rnd[2], rnd[3]);
    }
    a->scan_id = a->scan_id_buf;
    return CLI_EXIT_OK;
}

/* Open the store and start this shard of the scan. */
static int store_start(const scan_args *a, sink *k, int64_t started)
{
    char why[512];
    if (a->store_url == NULL) {
        return CLI_EXIT_OK;
    }
    int ret = pqt_store_open(a->store_url, &k->store, why, sizeof(why));
    if (ret != 0) {
        cli_error(CMD, "--store: %s", why);
        return ret == PQT_ERR_UNSUPPORTED ? CLI_EXIT_UNSUPPORTED : CLI_EXIT_IO;
    }
    ret = pqt_store_begin(k->store, a->scan_id, a->shard_k, a->shard_n, started);
    if (ret != 0) {
        cli_error(CMD, "--store: cannot start scan '%s': %s", a->scan_id,
                  pqt_store_error(k->store));
        return ret == PQT_ERR_SYNTAX ? CLI_EXIT_USAGE : CLI_EXIT_IO;
    }
    return CLI_EXIT_OK;
}

/* Finish this shard in the store; the "since last scan" section for HTML. */
static int store_end(const scan_args *a, sink *k, int scan_ret)
{
    char *html = NULL;
    if (k->store == NULL) {
        return CLI_EXIT_OK;
    }
    /* A scan that stopped on a local failure stays incomplete. */
    if (scan_ret != 0 || k->store_errors > 0) {
        return k->store_errors > 0 ? CLI_EXIT_IO : CLI_EXIT_OK;
    }
    if (pqt_store_finish(k->store, 0) != 0) {
        cli_error(CMD, "store: could not finish scan '%s': %s", a->scan_id,
                  pqt_store_error(k->store));
        return CLI_EXIT_IO;
    }
    if (a->fmt == PQT_SCAN_FMT_HTML && k->w != NULL) {
        if (pqt_store_since_last_html(k->store, a->scan_id, a->shard_k, a->shard_n, &html) != 0 ||
            pqt_scan_writer_set_html_section(k->w, html) != 0) {
            cli_error(CMD, "store: could not compare with the last scan: %s",
                      pqt_store_error(k->store));
            free(html);
            return CLI_EXIT_IO;
        }
        free(html);
    }
    return CLI_EXIT_OK;
}

/* Fill a from the command line (the caller frees a->targets). CLI_EXIT_OK
 * with a->help set means: print the help and stop. Errors are printed. */
static int scan_parse(int argc, char **argv, scan_args *a)
{
    cli_opts o = {.cmd = CMD, .optstring = scan_optstring, .longopts = scan_options};
    int code;

    memset(a, 0, sizeof(*a));
    pqt_scan_config_default(&a->cfg);
    a->format = "jsonl";
    a->shard_k = a->shard_n = 1;
    a->progress = -1;
    a->targets = calloc((size_t)argc + 1, sizeof(*a->targets));
    if (a->targets == NULL) {
        return CLI_EXIT_INTERNAL;
    }
    while ((code = cli_getopt(&o, argc, argv)) != CLI_OPT_END) {
        if (code == CLI_OPT_ERROR) {
            return CLI_EXIT_USAGE;
        }
        if (code == 'h') {
            a->help = 1;
            return CLI_EXIT_OK;
        }
        if (code == CLI_OPT_OPERAND) {
            a->targets[a->ntargets++] = o.arg;
            continue;
        }
        int ret = scan_option(a, &o, code);
        if (ret != CLI_EXIT_OK) {
            return ret;
        }
    }
    int rc = scan_check(a);
    return rc == CLI_EXIT_OK ? shard_and_scan_id(a) : rc;
}

/* Load --policy FILE into *policy. CLI_EXIT_OK or CLI_EXIT_USAGE. */
static int load_policy(const char *path, pqt_scan_policy **policy)
{
    unsigned line = 0;
    char why[256];
    FILE *pf = fopen(path, "r");
    if (pf == NULL) {
        cli_error(CMD, "cannot open policy file '%s': %s", path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    int ret = pqt_scan_policy_load(pf, policy, &line, why, sizeof(why));
    fclose(pf);
    if (ret != 0) {
        cli_error(CMD, "%s:%u: %s", path, line, why);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Where the targets come from: the operands, or --targets FILE ('-': stdin). */
static int open_targets(const scan_args *a, source *src)
{
    src->shard_k = a->shard_k;
    src->shard_n = a->shard_n;
    src->proto = a->proto;
    if (a->targets_file == NULL) {
        src->argv = a->targets;
        src->argc = a->ntargets;
        return CLI_EXIT_OK;
    }
    src->file_name = a->targets_file;
    src->file = strcmp(a->targets_file, "-") == 0 ? stdin : fopen(a->targets_file, "r");
    if (src->file == NULL) {
        cli_error(CMD, "cannot open targets file '%s': %s", a->targets_file, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/*
 * The exit code once the scan has run, with the reasons on stderr. Every
 * reason is printed; the code is the first that applies: a fault of the
 * scanner's (5), the report (3), nothing scanned at all (4), the policy
 * (1), bad target lines (2). Bad lines never hide the policy's verdict.
 */
static int scan_verdict(const scan_args *a, const source *src, const sink *k, int ret, int wret)
{
    int rc = CLI_EXIT_OK;
    if (ret != 0) {
        cli_error(CMD, "the scan stopped: %s", pqt_strerror(ret));
        return CLI_EXIT_INTERNAL;
    }
    if (wret != 0 || k->write_errors > 0) {
        cli_error(CMD, "could not write the report to %s",
                  a->output ? a->output : "standard output");
        return CLI_EXIT_IO;
    }
    if (src->bad_lines > 0) {
        cli_error(CMD, "%lu bad target line%s skipped (see above)", src->bad_lines,
                  src->bad_lines == 1 ? "" : "s");
        rc = CLI_EXIT_USAGE;
    }
    if (k->done > 0 && k->unreachable == k->done) {
        cli_error(CMD, "no target could be scanned: %s unreachable",
                  k->done == 1 ? "the target is" : "all targets are");
        return SCAN_EXIT_NOTHING_SCANNED;
    }
    if (k->done == 0 && src->bad_lines > 0) {
        cli_error(CMD, "no target could be scanned: no valid target line");
        return SCAN_EXIT_NOTHING_SCANNED;
    }
    if (k->failed_policy > 0) {
        cli_error(CMD, "%lu of %lu targets do not comply with %s", k->failed_policy, k->done,
                  a->policy_file);
        rc = CLI_EXIT_FAILED;
    }
    return rc;
}

/* Open the policy, the targets and the output, scan, write the report. */
static int scan_run(const scan_args *a)
{
    source src;
    sink k;
    FILE *out = stdout;
    int rc;

    /* One start time for the store and the report (the CBOM's
     * pqtls:scan.started), so that both say the same. */
    const int64_t started = (int64_t)time(NULL);
    memset(&src, 0, sizeof(src));
    memset(&k, 0, sizeof(k));
    rc = a->policy_file != NULL ? load_policy(a->policy_file, &k.policy) : CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK) {
        rc = open_targets(a, &src);
    }
    if (rc == CLI_EXIT_OK) {
        rc = store_start(a, &k, started);
    }
    if (rc != CLI_EXIT_OK) {
        goto cleanup;
    }
    if (a->output != NULL) {
        out = fopen(a->output, "w");
        if (out == NULL) {
            cli_error(CMD, "cannot write '%s': %s", a->output, strerror(errno));
            rc = CLI_EXIT_IO;
            goto cleanup;
        }
    }
    k.progress = a->progress >= 0 ? a->progress : isatty(STDERR_FILENO);
    if (k.progress) {
        k.total =
            src.file ? (src.file != stdin ? count_targets(&src) : 0) : (unsigned long)a->ntargets;
    }
    k.t0 = mono_ms();
    if (pqt_scan_writer_open(&k.w, out, a->fmt) != 0) {
        cli_error(CMD, "cannot start the report");
        rc = CLI_EXIT_IO;
        goto cleanup;
    }
    pqt_scan_writer_set_started(k.w, started);
    int ret = pqt_scan_run(&a->cfg, next_target, &src, on_done, &k);
    show_progress(&k, 1);
    int sret = store_end(a, &k, ret);
    int wret = pqt_scan_writer_close(k.w);
    k.w = NULL;
    rc = scan_verdict(a, &src, &k, ret, wret);
    if (sret != CLI_EXIT_OK && rc != CLI_EXIT_INTERNAL) {
        rc = CLI_EXIT_IO; /* the store could not be written: like the report (3) */
    }
cleanup:
    if (k.w != NULL && pqt_scan_writer_close(k.w) != 0) {
        rc = CLI_EXIT_IO;
    }
    if (out != stdout && out != NULL && fclose(out) != 0 && rc == CLI_EXIT_OK) {
        cli_error(CMD, "could not write '%s'", a->output);
        rc = CLI_EXIT_IO;
    }
    if (src.file != NULL && src.file != stdin) {
        fclose(src.file);
    }
    pqt_scan_policy_free(k.policy);
    pqt_store_close(k.store);
    return rc;
}

int cli_cmd_scan(int argc, char **argv)
{
    scan_args a;
    int rc = scan_parse(argc, argv, &a);
    if (rc == CLI_EXIT_OK && a.help) {
        cli_help_scan(stdout);
        rc = cli_finish_output(CMD);
    } else if (rc == CLI_EXIT_OK) {
        rc = scan_run(&a);
    }
    free(a.targets);
    return rc;
}
