/*
 * Helpers shared by the `pqtls` subcommands: exit codes, error messages,
 * hex text in and out (with the position of the first bad character), the
 * `@path` convention for reading long hex values from files, and option
 * and number parsing.
 *
 * Everything here lives in the executable, so names are cli_-prefixed and
 * nothing is exported from the library.
 */
#ifndef PQTLS_CLI_UTIL_H
#define PQTLS_CLI_UTIL_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "pqtls/mlkem.h"

/* Exit codes of every `pqtls` command; documented in --help and docs/cli.md. */
enum {
    CLI_EXIT_OK = 0,          /* success */
    CLI_EXIT_FAILED = 1,      /* well-formed input, but the operation rejected it */
    CLI_EXIT_USAGE = 2,       /* unknown command/option, missing option, bad hex or length */
    CLI_EXIT_IO = 3,          /* an @file could not be read, or output could not be written */
    CLI_EXIT_UNSUPPORTED = 4, /* the requested backend is not available on this CPU/build */
    CLI_EXIT_INTERNAL = 5,    /* system random generator failure or internal error */
};

/* The exit-code table as printed by --help (one line per code). */
extern const char cli_exit_codes_help[];

/* printf-style message to stderr, prefixed with "pqtls: <cmd>: ". */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Where a hex text is wrong. line/column are 1-based; position is the
 * 0-based character offset in the text as given. */
typedef enum {
    CLI_HEX_OK = 0,
    CLI_HEX_EMPTY,    /* no hex digits at all */
    CLI_HEX_BAD_CHAR, /* a character that is not 0-9a-fA-F */
    CLI_HEX_ODD,      /* an odd number of hex digits */
} cli_hex_status;

typedef struct {
    cli_hex_status status;
    size_t position;
    unsigned line, column;
    unsigned char bad; /* the offending character for CLI_HEX_BAD_CHAR */
    size_t digits;     /* number of hex digits seen (for CLI_HEX_ODD) */
} cli_hex_error;

/*
 * Decode hex text of length n into out (capacity cap; n/2 always suffices).
 * Leading and trailing whitespace is ignored; whitespace between digits is
 * accepted only when allow_inner_space is set (wrapped file contents).
 * Returns 0 with *out_len set, or -1 with *err describing the problem.
 */
int cli_hex_decode(const char *text, size_t n, int allow_inner_space, uint8_t *out, size_t cap,
                   size_t *out_len, cli_hex_error *err);

/* Write "name=HEX\n" to stdout (lower case). */
void cli_print_hex(const char *name, const uint8_t *p, size_t n);

/*
 * Read the value of option `opt` (e.g. "--ek") as hex: either the text
 * itself or, when it starts with '@', the contents of that file. Checks the
 * decoded length against `want` bytes and names `what` ("ML-KEM-768
 * encapsulation key") in the error. On success *out is a malloc'd buffer of
 * exactly `want` bytes (caller wipes and frees with cli_free_secret).
 * Returns a CLI_EXIT_* code and prints the error itself.
 */
int cli_read_hex_option(const char *cmd, const char *opt, const char *value, const char *what,
                        size_t want, uint8_t **out);

/* Wipe n bytes at p in a way the compiler keeps. */
void cli_wipe(void *p, size_t n);

/* Wipe n bytes at p and free it; p may be NULL. */
void cli_free_secret(uint8_t *p, size_t n);

/* Parse --alg; prints the valid names on failure. Returns a CLI_EXIT_* code. */
int cli_parse_alg(const char *cmd, const char *value, pqt_mlkem_alg *alg);

/* Parse --backend portable|avx2|auto and make it active. Returns CLI_EXIT_*. */
int cli_select_backend(const char *cmd, const char *value);

/* Map a library error to an exit code, printing what it means. */
int cli_report_pqt_error(const char *cmd, const char *what, int err);

/* Flush stdout; CLI_EXIT_IO if anything could not be written. */
int cli_finish_output(const char *cmd);

/*
 * Parse value, the argument of option opt (spelled as the user wrote it,
 * "-c" or "--concurrency"), as a whole decimal number from min to max.
 * Rejects an empty value, a sign '-', anything after the digits and
 * numbers that overflow. On failure prints "pqtls <cmd>: <opt> needs a
 * whole number from <min> to <max>, got '<value>'" (observe has always
 * said "wants") and returns CLI_EXIT_USAGE; *out is then unchanged.
 */
int cli_parse_uint(const char *cmd, const char *opt, const char *value, unsigned long long min,
                   unsigned long long max, unsigned long long *out);

/*
 * getopt_long for the tools (scan, observe), with the rules their
 * hand-written parsers had, so that no command line changes meaning:
 * - options and operands mix in any order, also under POSIXLY_CORRECT;
 *   operands come back one by one, in order; "-" and "" are operands;
 * - an option is its exact spelling only: no abbreviations, no
 *   --opt=value, no -oVALUE, no bundles such as -qh;
 * - a value is the next argument, whatever it looks like ("-o -");
 * - "--" is not special: it is an unknown option.
 * optstring must start with "-:" (getopt_long's in-order mode, and ':'
 * for a missing value instead of getopt_long's own message).
 */
typedef struct {
    const char *cmd;       /* "scan": messages say "pqtls scan: ... see 'pqtls scan --help'" */
    const char *optstring; /* "-:ht:f:..." */
    const struct option *longopts; /* ends with a zero entry */
    const char *arg;               /* after each call: the option as written, or the operand */
    const char *value;             /* the option's value, for options that take one */
    int started;                   /* 0 before the first call */
} cli_opts;

enum {
    CLI_OPT_END = -1,    /* no arguments left */
    CLI_OPT_OPERAND = 1, /* a positional argument, in arg */
    CLI_OPT_ERROR = '?', /* unknown option or missing value; the message has been printed */
};

/* The next option's code (its val in longopts / its letter), or a CLI_OPT_* value. */
int cli_getopt(cli_opts *o, int argc, char **argv);

/* The loop every command with operands runs over cli_getopt: operands are
 * appended to operands[*noperands] (room for argc), -h sets *help and stops,
 * every other option goes to option(args, o, code). CLI_EXIT_OK, or the
 * exit code of the first bad option (the message has been printed). */
int cli_getopt_all(cli_opts *o, int argc, char **argv, const char **operands, size_t *noperands,
                   int *help, int (*option)(void *args, const cli_opts *o, int code), void *args);

#endif
