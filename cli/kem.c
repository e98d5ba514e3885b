/*
 * `pqtls kem keygen|encaps|decaps`: ML-KEM (FIPS 203) from the command line,
 * with keys, ciphertexts and secrets as hex lines "name=HEX".
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pqtls/mlkem.h"
#include "util.h"

void cli_help_kem(FILE *out)
{
    fputs("Usage:\n"
          "  pqtls kem keygen --alg ALG [--seed HEX] [--backend B]\n"
          "      prints ek=HEX and dk=HEX; --seed is d||z (64 bytes, FIPS 203\n"
          "      ML-KEM.KeyGen_internal), random if absent\n"
          "  pqtls kem encaps --alg ALG --ek HEX [--m HEX] [--backend B]\n"
          "      prints ct=HEX and ss=HEX; --m is the 32-byte message (random if absent)\n"
          "  pqtls kem decaps --alg ALG --dk HEX --ct HEX [--backend B]\n"
          "      prints ss=HEX (implicit rejection: a bad ct still gives a value)\n"
          "\n"
          "Options:\n"
          "  --alg ALG      ML-KEM-512, ML-KEM-768 or ML-KEM-1024 (also MLKEM768,\n"
          "                 mlkem768 or 768, any case)\n"
          "  --backend B    portable, avx2 or auto (default auto: the fastest this CPU runs)\n"
          "  -h, --help     this text\n"
          "\n"
          "HEX values may be given as @path to read them from a file; whitespace and\n"
          "line breaks in the file are ignored. dk is the expanded FIPS 203 form\n"
          "(dkPKE || ek || H(ek) || z). Secrets (dk, ss, seed) are printed to stdout:\n"
          "redirect them to files with care.\n"
          "\n"
          "Example:\n"
          "  pqtls kem keygen --alg ML-KEM-768 > kp.txt\n"
          "  sed -n 's/^ek=//p' kp.txt > ek.hex; sed -n 's/^dk=//p' kp.txt > dk.hex\n"
          "  pqtls kem encaps --alg ML-KEM-768 --ek @ek.hex\n"
          "\n",
          out);
    fputs(cli_exit_codes_help, out);
}

enum { OPT_ALG = 256, OPT_SEED, OPT_EK, OPT_DK, OPT_CT, OPT_M, OPT_BACKEND };

static const struct option kem_options[] = {
    {"alg", required_argument, NULL, OPT_ALG},
    {"seed", required_argument, NULL, OPT_SEED},
    {"ek", required_argument, NULL, OPT_EK},
    {"dk", required_argument, NULL, OPT_DK},
    {"ct", required_argument, NULL, OPT_CT},
    {"m", required_argument, NULL, OPT_M},
    {"backend", required_argument, NULL, OPT_BACKEND},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct {
    const char *alg, *seed, *ek, *dk, *ct, *m, *backend;
    int help;
} kem_args;

/* Options a subcommand accepts, by option value; others are usage errors. */
static int option_allowed(const char *sub, int opt)
{
    switch (opt) {
    case OPT_ALG:
    case OPT_BACKEND:
        return 1;
    case OPT_SEED:
        return strcmp(sub, "keygen") == 0;
    case OPT_EK:
    case OPT_M:
        return strcmp(sub, "encaps") == 0;
    case OPT_DK:
    case OPT_CT:
        return strcmp(sub, "decaps") == 0;
    default:
        return 0;
    }
}

static int parse_args(const char *cmd, const char *sub, int argc, char **argv, kem_args *a)
{
    int c, idx = 0;

    memset(a, 0, sizeof(*a));
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", kem_options, &idx)) != -1) {
        const char *opt = argv[optind - 1];
        if (c == 'h') {
            a->help = 1;
            continue;
        }
        if (c == ':') {
            cli_error(cmd, "option %s needs a value; see 'pqtls help kem'", opt);
            return CLI_EXIT_USAGE;
        }
        if (c == '?') {
            cli_error(cmd, "unknown option '%s'; see 'pqtls help kem'", opt);
            return CLI_EXIT_USAGE;
        }
        if (!option_allowed(sub, c)) {
            cli_error(cmd, "option --%s does not apply to 'kem %s'; see 'pqtls help kem'",
                      kem_options[idx].name, sub);
            return CLI_EXIT_USAGE;
        }
        switch (c) {
        case OPT_ALG:
            a->alg = optarg;
            break;
        case OPT_SEED:
            a->seed = optarg;
            break;
        case OPT_EK:
            a->ek = optarg;
            break;
        case OPT_DK:
            a->dk = optarg;
            break;
        case OPT_CT:
            a->ct = optarg;
            break;
        case OPT_M:
            a->m = optarg;
            break;
        case OPT_BACKEND:
            a->backend = optarg;
            break;
        default:
            break;
        }
    }
    if (optind < argc) {
        cli_error(cmd, "unexpected argument '%s'; values are given with options such as --ek",
                  argv[optind]);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int require(const char *cmd, const char *value, const char *opt, const char *hint)
{
    if (value == NULL) {
        cli_error(cmd, "missing required option %s; %s", opt, hint);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Fresh keys from the library's RNG; only the fixed-size API has keygen(). */
static int keygen_random(pqt_mlkem_alg alg, uint8_t *ek, uint8_t *dk)
{
    switch (alg) {
    case PQT_MLKEM512:
        return pqt_mlkem512_keygen(ek, dk);
    case PQT_MLKEM768:
        return pqt_mlkem768_keygen(ek, dk);
    case PQT_MLKEM1024:
        return pqt_mlkem1024_keygen(ek, dk);
    }
    return PQT_ERR_ARG;
}

static int do_keygen(const char *cmd, pqt_mlkem_alg alg, const pqt_mlkem_params *p,
                     const kem_args *a)
{
    uint8_t ek[PQT_MLKEM1024_EK_BYTES], dk[PQT_MLKEM1024_DK_BYTES];
    uint8_t *seed = NULL;
    int ret, err;

    if (a->seed != NULL) {
        ret = cli_read_hex_option(cmd, "--seed", a->seed, "the seed d||z", PQT_MLKEM_SEED_BYTES,
                                  &seed);
        if (ret != CLI_EXIT_OK) {
            return ret;
        }
        err = pqt_mlkem_keygen_derand(alg, ek, p->ek_bytes, dk, p->dk_bytes, seed);
    } else {
        err = keygen_random(alg, ek, dk);
    }
    if (err != 0) {
        ret = cli_report_pqt_error(cmd, "key generation", err);
        goto cleanup;
    }
    cli_print_hex("ek", ek, p->ek_bytes);
    cli_print_hex("dk", dk, p->dk_bytes);
    ret = cli_finish_output(cmd);
cleanup:
    cli_free_secret(seed, PQT_MLKEM_SEED_BYTES);
    cli_wipe(dk, sizeof(dk));
    return ret;
}

static int do_encaps(const char *cmd, pqt_mlkem_alg alg, const pqt_mlkem_params *p,
                     const kem_args *a)
{
    uint8_t ct[PQT_MLKEM1024_CT_BYTES], ss[PQT_MLKEM_SS_BYTES];
    uint8_t *ek = NULL, *m = NULL;
    char what[64];
    int ret, err;

    ret = require(cmd, a->ek, "--ek", "give the encapsulation key as --ek HEX or --ek @file");
    if (ret != CLI_EXIT_OK) {
        return ret;
    }
    snprintf(what, sizeof(what), "%s encapsulation key", p->name);
    ret = cli_read_hex_option(cmd, "--ek", a->ek, what, p->ek_bytes, &ek);
    if (ret != CLI_EXIT_OK) {
        goto cleanup;
    }
    if (a->m != NULL) {
        ret = cli_read_hex_option(cmd, "--m", a->m, "the message m", PQT_MLKEM_M_BYTES, &m);
        if (ret != CLI_EXIT_OK) {
            goto cleanup;
        }
        err = pqt_mlkem_encaps_derand(alg, ct, p->ct_bytes, ss, ek, p->ek_bytes, m);
    } else {
        err = pqt_mlkem_encaps(alg, ct, p->ct_bytes, ss, ek, p->ek_bytes);
    }
    if (err != 0) {
        ret = cli_report_pqt_error(cmd, "--ek", err);
        goto cleanup;
    }
    cli_print_hex("ct", ct, p->ct_bytes);
    cli_print_hex("ss", ss, sizeof(ss));
    ret = cli_finish_output(cmd);
cleanup:
    cli_free_secret(ek, p->ek_bytes);
    cli_free_secret(m, PQT_MLKEM_M_BYTES);
    cli_wipe(ss, sizeof(ss));
    return ret;
}

static int do_decaps(const char *cmd, pqt_mlkem_alg alg, const pqt_mlkem_params *p,
                     const kem_args *a)
{
    uint8_t ss[PQT_MLKEM_SS_BYTES];
    uint8_t *dk = NULL, *ct = NULL;
    char what[64];
    int ret, err;

    ret = require(cmd, a->dk, "--dk", "give the decapsulation key as --dk HEX or --dk @file");
    if (ret == CLI_EXIT_OK) {
        ret = require(cmd, a->ct, "--ct", "give the ciphertext as --ct HEX or --ct @file");
    }
    if (ret != CLI_EXIT_OK) {
        return ret;
    }
    snprintf(what, sizeof(what), "%s decapsulation key", p->name);
    ret = cli_read_hex_option(cmd, "--dk", a->dk, what, p->dk_bytes, &dk);
    if (ret != CLI_EXIT_OK) {
        goto cleanup;
    }
    snprintf(what, sizeof(what), "%s ciphertext", p->name);
    ret = cli_read_hex_option(cmd, "--ct", a->ct, what, p->ct_bytes, &ct);
    if (ret != CLI_EXIT_OK) {
        goto cleanup;
    }
    err = pqt_mlkem_decaps(alg, ss, ct, p->ct_bytes, dk, p->dk_bytes);
    if (err != 0) {
        ret = cli_report_pqt_error(cmd, "--dk", err);
        goto cleanup;
    }
    cli_print_hex("ss", ss, sizeof(ss));
    ret = cli_finish_output(cmd);
cleanup:
    cli_free_secret(dk, p->dk_bytes);
    cli_free_secret(ct, p->ct_bytes);
    cli_wipe(ss, sizeof(ss));
    return ret;
}

int cli_cmd_kem(int argc, char **argv)
{
    static const char *const subs[] = {"keygen", "encaps", "decaps"};
    const pqt_mlkem_params *p;
    pqt_mlkem_alg alg;
    kem_args a;
    char cmd[32];
    int ret;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cli_help_kem(argc < 2 ? stderr : stdout);
        if (argc < 2) {
            cli_error("kem", "missing subcommand; use keygen, encaps or decaps");
            return CLI_EXIT_USAGE;
        }
        return CLI_EXIT_OK;
    }
    const char *sub = argv[1];
    size_t i;
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(sub, subs[i]) == 0) {
            break;
        }
    }
    if (i == sizeof(subs) / sizeof(subs[0])) {
        cli_error("kem", "unknown subcommand '%s'; use keygen, encaps or decaps", sub);
        return CLI_EXIT_USAGE;
    }
    snprintf(cmd, sizeof(cmd), "kem %s", sub);

    ret = parse_args(cmd, sub, argc - 1, argv + 1, &a);
    if (ret != CLI_EXIT_OK) {
        return ret;
    }
    if (a.help) {
        cli_help_kem(stdout);
        return CLI_EXIT_OK;
    }
    ret = require(cmd, a.alg, "--alg", "add --alg ML-KEM-512, ML-KEM-768 or ML-KEM-1024");
    if (ret != CLI_EXIT_OK) {
        return ret;
    }
    ret = cli_parse_alg(cmd, a.alg, &alg);
    if (ret != CLI_EXIT_OK) {
        return ret;
    }
    p = pqt_mlkem_params_get(alg);
    if (p == NULL) {
        cli_error(cmd, "internal error: no parameters for '%s'", a.alg);
        return CLI_EXIT_INTERNAL;
    }
    if (a.backend != NULL) {
        ret = cli_select_backend(cmd, a.backend);
        if (ret != CLI_EXIT_OK) {
            return ret;
        }
    }
    if (strcmp(sub, "keygen") == 0) {
        return do_keygen(cmd, alg, p, &a);
    }
    if (strcmp(sub, "encaps") == 0) {
        return do_encaps(cmd, alg, p, &a);
    }
    return do_decaps(cmd, alg, p, &a);
}
