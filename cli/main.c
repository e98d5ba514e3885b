/*
 * The `pqtls` command: dispatches through one table to one file per
 * subcommand (scan.c, observe.c, advise.c, mask.c, doctor.c, kem.c, bench.c). Exit codes are listed
 * in util.h, --help and docs/cli.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pqtls/mlkem.h"
#include "util.h"

#ifndef PQT_VERSION_STRING
#define PQT_VERSION_STRING "unknown"
#endif

typedef struct {
    const char *name;
    const char *usage; /* shown in the command list */
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *out);
} command;

static const command commands[] = {
    {"scan", "scan TARGET...", "post-quantum readiness of TLS endpoints", cli_cmd_scan,
     cli_help_scan},
    {"history", "history --store URL", "the migration over time, from a scan store",
     cli_cmd_history, cli_help_history},
    {"observe", "observe FILE... | -i IFACE", "TLS handshakes from captures or live traffic",
     cli_cmd_observe, cli_help_observe},
    {"advise", "advise FILE... | -i IFACE", "what-if per service: supported, preferred, required",
     cli_cmd_advise, cli_help_advise},
    {"mask", "mask CAPTURE | --log FMT FILE", "scrub captures and logs before sharing them",
     cli_cmd_mask, cli_help_mask},
    {"kem", "kem keygen|encaps|decaps", "ML-KEM (FIPS 203) for interop debugging", cli_cmd_kem,
     cli_help_kem},
    {"doctor", "doctor [--port PORT]", "this host's TLS services: library, pqtls, verdict",
     cli_cmd_doctor, cli_help_doctor},
    {"bench", "bench kem|tls", "ML-KEM and TLS 1.3 handshake benchmarks", cli_cmd_bench,
     cli_help_bench},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const command *find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

static void help_main(FILE *out)
{
    fputs("pqtls - hybrid post-quantum TLS toolkit\n"
          "\n"
          "Usage: pqtls COMMAND [OPTIONS]\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(out, "  %-28s %s\n", commands[i].usage, commands[i].summary);
    }
    fputs("  help COMMAND                 help for a command (also COMMAND --help)\n"
          "\n"
          "Options:\n"
          "  -h, --help                   this text\n"
          "  -V, --version                version and active ML-KEM backend\n"
          "\n"
          "Examples:\n"
          "  pqtls scan --targets hosts.txt --format html -o report.html\n"
          "  pqtls observe --format table capture.pcapng\n"
          "  pqtls kem keygen --alg ML-KEM-768\n"
          "  pqtls kem encaps --alg ML-KEM-768 --ek @ek.hex\n"
          "  pqtls bench kem --iterations 500 --format jsonl\n"
          "  pqtls bench tls example.com --groups X25519,X25519MLKEM768\n"
          "  sudo pqtls doctor\n"
          "\n",
          out);
    fputs(cli_exit_codes_help, out);
}

static int version(void)
{
    printf("pqtls %s\n", PQT_VERSION_STRING);
    printf("ML-KEM backend: %s (available: portable%s)\n",
           pqt_backend_name(pqt_mlkem_get_backend()),
           pqt_backend_available(PQT_BACKEND_AVX2) ? ", avx2" : "");
    return cli_finish_output("--version");
}

static void list_names(char *buf, size_t cap)
{
    buf[0] = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", commands[i].name);
    }
}

static int help_topic(int argc, char **argv)
{
    char names[256];
    if (argc < 2) {
        help_main(stdout);
        return cli_finish_output("help");
    }
    const command *c = find(argv[1]);
    if (c == NULL) {
        list_names(names, sizeof(names));
        cli_error("help", "no help for '%s'; topics: %s", argv[1], names);
        return CLI_EXIT_USAGE;
    }
    c->help(stdout);
    return cli_finish_output("help");
}

/*
 * The crypto core reads no environment; the command keeps the documented
 * switch: PQT_DISABLE_AVX512 set to anything but "" or "0" turns off the
 * AVX-512 Keccak (docs/performance.md), for runs comparable with CPUs
 * without it.
 */
static void cpu_features_from_env(void)
{
    const char *off = getenv("PQT_DISABLE_AVX512");
    if (off != NULL && off[0] != '\0' && strcmp(off, "0") != 0) {
        pqt_cpu_disable_features(pqt_cpu_disabled_features() | PQT_CPU_AVX512);
    }
}

int main(int argc, char **argv)
{
    char names[256];
    cpu_features_from_env();
    if (argc < 2) {
        help_main(stderr);
        cli_error("", "missing command; see 'pqtls --help'");
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        help_main(stdout);
        return cli_finish_output("--help");
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        return version();
    }
    if (strcmp(cmd, "help") == 0) {
        return help_topic(argc - 1, argv + 1);
    }
    const command *c = find(cmd);
    if (c != NULL) {
        return c->run(argc - 1, argv + 1);
    }
    list_names(names, sizeof(names));
    cli_error("", "unknown command '%s'; commands: %s, help (see 'pqtls --help')", cmd, names);
    return CLI_EXIT_USAGE;
}
