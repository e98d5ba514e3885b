/* `pqtls bench kem`: the KEM benchmark from bench/, the same code as bin/bench_kem. */
#include <string.h>

#include "bench_kem.h"
#include "cli.h"
#include "util.h"

void cli_help_bench(FILE *out)
{
    pqt_bench_kem_help(out, "pqtls bench kem");
    fputc('\n', out);
    fputs(cli_exit_codes_help, out);
}

int cli_cmd_bench(int argc, char **argv)
{
    if (argc < 2) {
        cli_error("bench", "missing benchmark name; use 'pqtls bench kem'");
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cli_help_bench(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "kem") != 0) {
        cli_error("bench", "unknown benchmark '%s'; available: kem", argv[1]);
        return CLI_EXIT_USAGE;
    }
    return pqt_bench_kem_main(argc - 1, argv + 1, "pqtls bench kem");
}
