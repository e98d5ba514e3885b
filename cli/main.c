/*
 * The `pqtls` command: dispatches to one file per subcommand (kem.c,
 * bench.c). Exit codes are listed in util.h, --help and docs/cli.md.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pqtls/mlkem.h"
#include "util.h"

#ifndef PQT_VERSION_STRING
#define PQT_VERSION_STRING "unknown"
#endif

static void help_main(FILE *out)
{
    fputs("pqtls - hybrid post-quantum TLS toolkit\n"
          "\n"
          "Usage: pqtls COMMAND [OPTIONS]\n"
          "\n"
          "Commands:\n"
          "  kem keygen|encaps|decaps   ML-KEM (FIPS 203) key generation,\n"
          "                             encapsulation and decapsulation\n"
          "  bench kem                  ML-KEM benchmark (ticks and microseconds)\n"
          "  help [kem|bench]           help for a command\n"
          "\n"
          "Options:\n"
          "  -h, --help                 this text\n"
          "  -V, --version              version and active ML-KEM backend\n"
          "\n"
          "Examples:\n"
          "  pqtls kem keygen --alg ML-KEM-768\n"
          "  pqtls kem encaps --alg ML-KEM-768 --ek @ek.hex\n"
          "  pqtls bench kem --iterations 500 --format jsonl\n"
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

static int help_topic(int argc, char **argv)
{
    if (argc < 2) {
        help_main(stdout);
    } else if (strcmp(argv[1], "kem") == 0) {
        cli_help_kem(stdout);
    } else if (strcmp(argv[1], "bench") == 0) {
        cli_help_bench(stdout);
    } else {
        cli_error("help", "no help for '%s'; topics: kem, bench", argv[1]);
        return CLI_EXIT_USAGE;
    }
    return cli_finish_output("help");
}

int main(int argc, char **argv)
{
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
    if (strcmp(cmd, "kem") == 0) {
        return cli_cmd_kem(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "bench") == 0) {
        return cli_cmd_bench(argc - 1, argv + 1);
    }
    cli_error("", "unknown command '%s'; commands: kem, bench, help (see 'pqtls --help')", cmd);
    return CLI_EXIT_USAGE;
}
