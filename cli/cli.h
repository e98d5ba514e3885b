/* Subcommands of the `pqtls` command, one file each. */
#ifndef PQTLS_CLI_H
#define PQTLS_CLI_H

#include <stdio.h>

/* argv[0] is the subcommand name ("kem", "bench"); returns a CLI_EXIT_* code. */
int cli_cmd_kem(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);

/* Help texts, for `pqtls help <topic>` and `<topic> --help`. */
void cli_help_kem(FILE *out);
void cli_help_bench(FILE *out);

/* The tools over src/scan and src/observe. */
int cli_cmd_scan(int argc, char **argv);
/* `pqtls doctor`, over src/host and src/scan. */
int cli_cmd_doctor(int argc, char **argv);
void cli_help_doctor(FILE *out);
void cli_help_scan(FILE *out);
int cli_cmd_observe(int argc, char **argv);
void cli_help_observe(FILE *out);
int cli_cmd_advise(int argc, char **argv);
void cli_help_advise(FILE *out);
int cli_cmd_mask(int argc, char **argv);
void cli_help_mask(FILE *out);
/* Over src/store: the scans of a store as a trend. */
int cli_cmd_history(int argc, char **argv);
void cli_help_history(FILE *out);

#endif
