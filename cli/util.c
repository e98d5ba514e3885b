/* Parsing and reporting helpers for the `pqtls` subcommands. */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hex values come from the command line or small files: an ML-KEM-1024 dk
 * is 6336 hex digits, so 1 MiB leaves room for any wrapping or comments
 * while refusing to slurp a wrong file by accident. */
#define CLI_MAX_HEX_FILE (1u << 20)

const char cli_exit_codes_help[] =
    "Exit codes:\n"
    "  0  success\n"
    "  1  the operation failed on well-formed input (e.g. ek fails the FIPS 203\n"
    "     modulus check, dk fails the FIPS 203 hash check)\n"
    "  2  usage error: unknown command or option, missing required option,\n"
    "     malformed hex, wrong length, unknown algorithm or backend name\n"
    "  3  I/O error: an @file could not be read, or output could not be written\n"
    "  4  the requested backend is not available on this CPU or build\n"
    "  5  internal error (e.g. the system random generator failed)\n";

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "pqtls%s%s: ", cmd[0] ? " " : "", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int cli_hex_decode(const char *text, size_t n, int allow_inner_space, uint8_t *out, size_t cap,
                   size_t *out_len, cli_hex_error *err)
{
    size_t end = n, len = 0, digits = 0;
    unsigned line = 1, column = 1;
    int hi = -1;

    memset(err, 0, sizeof(*err));
    while (end > 0 && is_space((unsigned char)text[end - 1])) {
        end--;
    }
    for (size_t i = 0; i < end; i++) {
        unsigned char c = (unsigned char)text[i];
        if (is_space(c) && (digits == 0 || allow_inner_space)) {
            /* leading whitespace, or line breaks inside a wrapped file */
        } else {
            int v = hex_value(c);
            if (v < 0) {
                err->status = CLI_HEX_BAD_CHAR;
                err->position = i;
                err->line = line;
                err->column = column;
                err->bad = c;
                return -1;
            }
            digits++;
            if (hi < 0) {
                hi = v;
            } else {
                if (len >= cap) {
                    /* Callers size out as n/2; reaching here is a bug. */
                    err->status = CLI_HEX_ODD;
                    return -1;
                }
                out[len++] = (uint8_t)((hi << 4) | v);
                hi = -1;
            }
        }
        if (c == '\n') {
            line++;
            column = 1;
        } else {
            column++;
        }
    }
    if (digits == 0) {
        err->status = CLI_HEX_EMPTY;
        return -1;
    }
    if (hi >= 0) {
        err->status = CLI_HEX_ODD;
        err->digits = digits;
        return -1;
    }
    *out_len = len;
    return 0;
}

void cli_print_hex(const char *name, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[256];
    size_t used = 0;

    fputs(name, stdout);
    fputc('=', stdout);
    for (size_t i = 0; i < n; i++) {
        buf[used++] = digits[p[i] >> 4];
        buf[used++] = digits[p[i] & 15];
        if (used == sizeof(buf)) {
            fwrite(buf, 1, used, stdout);
            used = 0;
        }
    }
    fwrite(buf, 1, used, stdout);
    fputc('\n', stdout);
}

void cli_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    for (size_t i = 0; i < n; i++) {
        v[i] = 0;
    }
}

void cli_free_secret(uint8_t *p, size_t n)
{
    if (p != NULL) {
        cli_wipe(p, n);
        free(p);
    }
}

/* Read a whole (small) file; *text is NUL-terminated. Returns CLI_EXIT_*. */
static int read_file(const char *cmd, const char *opt, const char *path, char **text, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    int ret = CLI_EXIT_IO;

    if (f == NULL) {
        cli_error(cmd,
                  "%s: cannot open '%s': %s; give an existing file after '@' or the hex "
                  "value itself",
                  opt, path, strerror(errno));
        return CLI_EXIT_IO;
    }
    buf = malloc(CLI_MAX_HEX_FILE + 1);
    if (buf == NULL) {
        cli_error(cmd, "%s: out of memory reading '%s'", opt, path);
        ret = CLI_EXIT_INTERNAL;
        goto cleanup;
    }
    len = fread(buf, 1, CLI_MAX_HEX_FILE + 1, f);
    if (ferror(f)) {
        cli_error(cmd, "%s: cannot read '%s': %s", opt, path, strerror(errno));
        goto cleanup;
    }
    if (len > CLI_MAX_HEX_FILE) {
        cli_error(cmd, "%s: '%s' is larger than %u bytes; it does not look like a hex key file",
                  opt, path, CLI_MAX_HEX_FILE);
        ret = CLI_EXIT_USAGE;
        goto cleanup;
    }
    buf[len] = '\0';
    *text = buf;
    *n = len;
    buf = NULL;
    ret = CLI_EXIT_OK;
cleanup:
    if (buf != NULL) {
        cli_free_secret((uint8_t *)buf, CLI_MAX_HEX_FILE + 1);
    }
    fclose(f);
    return ret;
}

int cli_read_hex_option(const char *cmd, const char *opt, const char *value, const char *what,
                        size_t want, uint8_t **out)
{
    const char *text = value;
    char *file_text = NULL;
    const char *path = NULL;
    size_t n = strlen(value), got = 0;
    uint8_t *buf = NULL;
    cli_hex_error err;
    int ret;

    *out = NULL;
    if (value[0] == '@') {
        path = value + 1;
        ret = read_file(cmd, opt, path, &file_text, &n);
        if (ret != CLI_EXIT_OK) {
            return ret;
        }
        text = file_text;
    }
    buf = malloc(n / 2 + 1);
    if (buf == NULL) {
        cli_error(cmd, "%s: out of memory", opt);
        ret = CLI_EXIT_INTERNAL;
        goto cleanup;
    }
    ret = CLI_EXIT_USAGE;
    if (cli_hex_decode(text, n, path != NULL, buf, n / 2 + 1, &got, &err) != 0) {
        switch (err.status) {
        case CLI_HEX_EMPTY:
            cli_error(cmd, "%s: %s%s%s is empty; expected %zu bytes as %zu hex digits", opt,
                      path ? "file '" : "value", path ? path : "", path ? "'" : "", want, want * 2);
            break;
        case CLI_HEX_BAD_CHAR:
            if (path != NULL) {
                cli_error(cmd,
                          "%s: invalid hex character '%s%c' (0x%02x) in '%s' at line %u, column "
                          "%u; use only 0-9, a-f, A-F",
                          opt, "", (err.bad >= 0x20 && err.bad < 0x7f) ? err.bad : '?', err.bad,
                          path, err.line, err.column);
            } else {
                cli_error(cmd,
                          "%s: invalid hex character '%c' (0x%02x) at position %zu (counting "
                          "from 1); use only 0-9, a-f, A-F",
                          opt, (err.bad >= 0x20 && err.bad < 0x7f) ? err.bad : '?', err.bad,
                          err.position + 1);
            }
            break;
        case CLI_HEX_ODD:
        default:
            cli_error(cmd, "%s: odd number of hex digits (%zu)%s%s%s; every byte needs two digits",
                      opt, err.digits, path ? " in '" : "", path ? path : "", path ? "'" : "");
            break;
        }
        goto cleanup;
    }
    if (got != want) {
        cli_error(cmd,
                  "%s: %s must be %zu bytes (%zu hex digits), got %zu bytes; check the "
                  "value and that --alg matches it",
                  opt, what, want, want * 2, got);
        goto cleanup;
    }
    *out = buf;
    buf = NULL;
    ret = CLI_EXIT_OK;
cleanup:
    cli_free_secret(buf, n / 2 + 1);
    if (file_text != NULL) {
        cli_free_secret((uint8_t *)file_text, n);
    }
    return ret;
}

int cli_parse_alg(const char *cmd, const char *value, pqt_mlkem_alg *alg)
{
    if (pqt_mlkem_alg_from_name(value, alg) != 0) {
        cli_error(cmd,
                  "--alg: unknown algorithm '%s'; valid: ML-KEM-512, ML-KEM-768, "
                  "ML-KEM-1024 (also MLKEM768, mlkem768 or 768)",
                  value);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int cli_select_backend(const char *cmd, const char *value)
{
    static const pqt_backend all[] = {PQT_BACKEND_AUTO, PQT_BACKEND_PORTABLE, PQT_BACKEND_AVX2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(value, pqt_backend_name(all[i])) == 0) {
            int err = pqt_mlkem_set_backend(all[i]);
            if (err != 0) {
                cli_error(cmd,
                          "--backend: '%s' is not available on this CPU or build (%s); use "
                          "--backend portable or auto",
                          value, pqt_strerror(err));
                return CLI_EXIT_UNSUPPORTED;
            }
            return CLI_EXIT_OK;
        }
    }
    cli_error(cmd, "--backend: unknown backend '%s'; valid: portable, avx2, auto", value);
    return CLI_EXIT_USAGE;
}

int cli_report_pqt_error(const char *cmd, const char *what, int err)
{
    switch (err) {
    case PQT_ERR_EK_MODULUS:
        cli_error(cmd,
                  "%s: ek fails the FIPS 203 modulus check (a coefficient is >= q = 3329); "
                  "the key is invalid, obtain a correct encapsulation key",
                  what);
        return CLI_EXIT_FAILED;
    case PQT_ERR_DK_HASH:
        cli_error(cmd,
                  "%s: dk fails the FIPS 203 hash check (H(ek) stored inside dk does not "
                  "match); the key is corrupted, use an intact decapsulation key",
                  what);
        return CLI_EXIT_FAILED;
    case PQT_ERR_EK_LENGTH:
    case PQT_ERR_DK_LENGTH:
    case PQT_ERR_CT_LENGTH:
    case PQT_ERR_ARG:
        cli_error(cmd, "%s: %s (%s)", what, pqt_strerror(err), pqt_errname(err));
        return CLI_EXIT_USAGE;
    case PQT_ERR_UNSUPPORTED:
        cli_error(cmd, "%s: %s (%s)", what, pqt_strerror(err), pqt_errname(err));
        return CLI_EXIT_UNSUPPORTED;
    default:
        cli_error(cmd, "%s: %s (%s)", what, pqt_strerror(err), pqt_errname(err));
        return CLI_EXIT_INTERNAL;
    }
}

int cli_finish_output(const char *cmd)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error(cmd, "cannot write the output: %s", strerror(errno));
        return CLI_EXIT_IO;
    }
    return CLI_EXIT_OK;
}

/* observe has always said "wants", scan "needs"; scripts match these lines. */
int cli_parse_uint(const char *cmd, const char *opt, const char *value, unsigned long long min,
                   unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(value, &end, 10);
    if (value[0] == '\0' || value[0] == '-' || end == value || *end != '\0' || errno != 0 ||
        x < min || x > max) {
        cli_error(cmd, "%s %s a whole number from %llu to %llu, got '%s'", opt,
                  strcmp(cmd, "observe") == 0 ? "wants" : "needs", min, max, value);
        return CLI_EXIT_USAGE;
    }
    *out = x;
    return CLI_EXIT_OK;
}

/* 1 if arg is exactly "--NAME" of a long option or "-X" of a short one. */
static int exact_option(const cli_opts *o, const char *arg)
{
    if (arg[0] != '-' || arg[1] == '\0') {
        return 0;
    }
    if (arg[1] == '-') {
        for (const struct option *l = o->longopts; l->name != NULL; l++) {
            if (strcmp(arg + 2, l->name) == 0) {
                return 1;
            }
        }
        return 0;
    }
    /* optstring + 2 skips "-:"; ':' only marks options that take a value. */
    return arg[2] == '\0' && arg[1] != ':' && strchr(o->optstring + 2, arg[1]) != NULL;
}

int cli_getopt(cli_opts *o, int argc, char **argv)
{
    if (!o->started) {
        /* optind = 0 makes glibc start afresh, whatever parsed argv before. */
        optind = 0;
        opterr = 0;
        o->started = 1;
    }
    /* In-order mode never permutes, and an argument that is not exactly one
     * option is an error before getopt_long moves on inside it, so the
     * argument this call reads is always argv[optind]. */
    int at = optind == 0 ? 1 : optind;
    int c = getopt_long(argc, argv, o->optstring, o->longopts, NULL);
    o->arg = at < argc ? argv[at] : NULL;
    o->value = optarg;
    if (c == -1 && at >= argc) {
        return CLI_OPT_END;
    }
    if (c == CLI_OPT_OPERAND) {
        return CLI_OPT_OPERAND;
    }
    /* c == -1 here means getopt_long stopped at "--". */
    if (c == -1 || c == '?' || !exact_option(o, o->arg)) {
        cli_error(o->cmd, "unknown option '%s'; see 'pqtls %s --help'", o->arg, o->cmd);
        return CLI_OPT_ERROR;
    }
    if (c == ':') {
        cli_error(o->cmd, "%s needs a value; see 'pqtls %s --help'", o->arg, o->cmd);
        return CLI_OPT_ERROR;
    }
    return c;
}

int cli_getopt_all(cli_opts *o, int argc, char **argv, const char **operands, size_t *noperands,
                   int *help, int (*option)(void *args, const cli_opts *o, int code), void *args)
{
    int code;
    while ((code = cli_getopt(o, argc, argv)) != CLI_OPT_END) {
        if (code == CLI_OPT_ERROR) {
            return CLI_EXIT_USAGE;
        }
        if (code == 'h') {
            *help = 1;
            return CLI_EXIT_OK;
        }
        if (code == CLI_OPT_OPERAND) {
            operands[(*noperands)++] = o->arg;
            continue;
        }
        int ret = option(args, o, code);
        if (ret != CLI_EXIT_OK) {
            return ret;
        }
    }
    return CLI_EXIT_OK;
}
