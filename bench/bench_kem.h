/*
 * The ML-KEM benchmark, shared by the standalone `bench_kem` program and
 * `pqtls bench kem`: both hand their arguments to pqt_bench_kem_main.
 */
#ifndef PQTLS_BENCH_KEM_H
#define PQTLS_BENCH_KEM_H

#include <stdio.h>

/* Return values; the same numbers as the `pqtls` exit codes (docs/cli.md). */
enum {
    PQT_BENCH_EXIT_OK = 0,
    PQT_BENCH_EXIT_FAILED = 1,      /* an operation failed or gave a wrong result */
    PQT_BENCH_EXIT_USAGE = 2,       /* bad option or value */
    PQT_BENCH_EXIT_IO = 3,          /* output could not be written */
    PQT_BENCH_EXIT_UNSUPPORTED = 4, /* requested backend not available here */
    PQT_BENCH_EXIT_INTERNAL = 5,    /* allocation or RNG failure */
};

/* argv[0] is ignored; prog names the command in messages ("bench_kem",
 * "pqtls bench kem"). Prints results to stdout, errors to stderr. */
int pqt_bench_kem_main(int argc, char **argv, const char *prog);

/* The option summary, for --help and `pqtls help bench`. */
void pqt_bench_kem_help(FILE *out, const char *prog);

#endif
