/*
 * ML-KEM benchmark: for every parameter set and every backend this build
 * and CPU can run, time keygen, encaps and decaps call by call and report
 * the median (and 10th/90th percentile) in ticks and microseconds.
 *
 * What each op measures, through the length-checked public API:
 *   keygen  ML-KEM.KeyGen_internal from a 64-byte seed (a new seed per call)
 *   encaps  ML-KEM.Encaps_internal from ek *bytes*: the FIPS 203 §7.2
 *           modulus check, H(ek) and the expansion of A from rho are
 *           included, because that is what pqt_mlkem_encaps* does
 *   decaps  ML-KEM.Decaps of a valid ciphertext, including the §7.3 hash
 *           check of dk and the re-encryption
 *   keygen-eph / decaps-eph  the same through the ephemeral key pair API
 *           (pqt_mlkem_ephemeral_*, what the TLS client side uses): keygen
 *           keeps A-hat and skips H(ek); decaps computes H(ek) beside
 *           J(z || c) and re-encrypts with the kept A-hat
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_kem.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cpu.h"
#include "pqtls/json.h"
#include "pqtls/mlkem.h"

#define BENCH_DEFAULT_ITERATIONS 2000
#define BENCH_MAX_ITERATIONS 10000000L

typedef enum { OP_KEYGEN, OP_ENCAPS, OP_DECAPS, OP_KEYGEN_EPH, OP_DECAPS_EPH, OP_COUNT } bench_op;
static const char *const op_names[OP_COUNT] = {"keygen", "encaps", "decaps", "keygen-eph",
                                               "decaps-eph"};

typedef struct {
    long iterations;
    int jsonl;
    int alg_mask;     /* bit per pqt_mlkem_alg */
    int backend_mask; /* bit per pqt_backend */
} bench_config;

typedef struct {
    uint64_t p10, median, p90;
} bench_stats;

/* Per-call state; big enough for ML-KEM-1024. */
typedef struct {
    pqt_mlkem_alg alg;
    const pqt_mlkem_params *p;
    uint8_t seed[PQT_MLKEM_SEED_BYTES], m[PQT_MLKEM_M_BYTES];
    uint8_t ek[PQT_MLKEM1024_EK_BYTES], dk[PQT_MLKEM1024_DK_BYTES];
    uint8_t ct[PQT_MLKEM1024_CT_BYTES], ss[PQT_MLKEM_SS_BYTES], ss2[PQT_MLKEM_SS_BYTES];
    /* ephemeral: a key pair with a valid ciphertext, and the newest one made */
    pqt_mlkem_ephemeral *eph, *eph_new;
    uint8_t ek_eph[PQT_MLKEM1024_EK_BYTES], ct_eph[PQT_MLKEM1024_CT_BYTES];
    uint8_t ss_eph[PQT_MLKEM_SS_BYTES];
    uint64_t rng;
} bench_state;

void pqt_bench_kem_help(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s [--iterations N] [--format table|jsonl] [--alg ALG] [--backend B]\n"
            "\n"
            "Times ML-KEM keygen, encaps and decaps (and the ephemeral forms) for each\n"
            "parameter set and each backend available on this CPU, one call at a time,\n"
            "and prints the median (and p10/p90) in ticks (rdtsc on x86-64, else\n"
            "nanoseconds) and microseconds.\n"
            "\n"
            "  --iterations N   timed calls per operation (default %d), after N/10\n"
            "                   (at least 10) warm-up calls\n"
            "  --format F       table (default) or jsonl: one JSON object per\n"
            "                   (alg, backend, op) with alg, backend, op, iterations,\n"
            "                   median_ticks, p10_ticks, p90_ticks, median_us, p10_us,\n"
            "                   p90_us, tick_source, tick_mhz, cpu, features\n"
            "  --alg ALG        only this parameter set (ML-KEM-512/768/1024 or 512...)\n"
            "  --backend B      only this backend: portable, avx2 or auto (the default\n"
            "                   choice); default: every available backend\n"
            "  -h, --help       this text\n"
            "\n"
            "encaps is measured from ek bytes: the FIPS 203 modulus check, H(ek) and\n"
            "the expansion of the matrix A are part of every call, as in pqtls' API.\n"
            "decaps uses valid ciphertexts and includes the dk hash check.\n"
            "keygen-eph and decaps-eph are the ephemeral key pair API (what a TLS\n"
            "client uses): keygen keeps the matrix and skips H(ek), decaps computes\n"
            "H(ek) beside J(z || c) and reuses the matrix.\n",
            prog, BENCH_DEFAULT_ITERATIONS);
}

static uint64_t next_rand(bench_state *s)
{
    /* xorshift64*: benchmark inputs only, never keys anyone uses. */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 0x2545F4914F6CDD1DULL;
}

static void fill_rand(bench_state *s, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(next_rand(s) >> 56);
    }
}

static int run_op(bench_state *s, bench_op op)
{
    const pqt_mlkem_params *p = s->p;
    switch (op) {
    case OP_KEYGEN:
        return pqt_mlkem_keygen_derand(s->alg, s->ek, p->ek_bytes, s->dk, p->dk_bytes, s->seed);
    case OP_ENCAPS:
        return pqt_mlkem_encaps_derand(s->alg, s->ct, p->ct_bytes, s->ss, s->ek, p->ek_bytes, s->m);
    case OP_DECAPS:
        return pqt_mlkem_decaps(s->alg, s->ss2, s->ct, p->ct_bytes, s->dk, p->dk_bytes);
    case OP_KEYGEN_EPH:
        return pqt_mlkem_ephemeral_new(s->alg, s->seed, &s->eph_new, s->ek_eph, p->ek_bytes);
    case OP_DECAPS_EPH:
        return pqt_mlkem_ephemeral_decaps(s->eph, s->ss2, s->ct_eph, p->ct_bytes);
    case OP_COUNT:
        break;
    }
    return PQT_ERR_ARG;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bench_stats stats_of(uint64_t *v, size_t n)
{
    bench_stats st;
    qsort(v, n, sizeof(v[0]), cmp_u64);
    st.p10 = v[n * 10 / 100];
    st.median = v[n / 2];
    st.p90 = v[n * 90 / 100];
    return st;
}

/* Fresh inputs for one call, chosen outside the timed region. For decaps
 * the ciphertext stays the valid one made by set_up. */
static void vary_inputs(bench_state *s, bench_op op)
{
    if (op == OP_KEYGEN || op == OP_KEYGEN_EPH) {
        fill_rand(s, s->seed, sizeof(s->seed));
        pqt_mlkem_ephemeral_free(s->eph_new);
        s->eph_new = NULL;
    } else if (op == OP_ENCAPS) {
        fill_rand(s, s->m, sizeof(s->m));
    }
}

/* One key pair and one valid ciphertext for encaps/decaps. */
static int set_up(bench_state *s)
{
    fill_rand(s, s->seed, sizeof(s->seed));
    fill_rand(s, s->m, sizeof(s->m));
    int err = run_op(s, OP_KEYGEN);
    if (err == 0) {
        err = run_op(s, OP_ENCAPS);
    }
    if (err == 0) {
        err = run_op(s, OP_DECAPS);
    }
    if (err == 0 && memcmp(s->ss, s->ss2, sizeof(s->ss)) != 0) {
        err = PQT_ERR_INTERNAL;
    }
    /* The ephemeral key pair and a ciphertext to it. */
    if (err == 0) {
        err = pqt_mlkem_ephemeral_new(s->alg, s->seed, &s->eph, s->ek_eph, s->p->ek_bytes);
    }
    if (err == 0) {
        err = pqt_mlkem_encaps_derand(s->alg, s->ct_eph, s->p->ct_bytes, s->ss_eph, s->ek_eph,
                                      s->p->ek_bytes, s->m);
    }
    if (err == 0) {
        err = run_op(s, OP_DECAPS_EPH);
    }
    if (err == 0 && memcmp(s->ss_eph, s->ss2, sizeof(s->ss)) != 0) {
        err = PQT_ERR_INTERNAL;
    }
    return err;
}

static double to_us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void print_result(const bench_config *cfg, const pqt_bench_cpu *cpu, const char *alg,
                         const char *backend, bench_op op, bench_stats ticks, bench_stats ns)
{
    if (cfg->jsonl) {
        pqt_json j;
        pqt_json_init(&j, stdout);
        pqt_json_object_begin(&j);
        pqt_json_kv_string(&j, "alg", alg);
        pqt_json_kv_string(&j, "backend", backend);
        pqt_json_kv_string(&j, "op", op_names[op]);
        pqt_json_kv_int(&j, "iterations", cfg->iterations);
        pqt_json_key(&j, "median_ticks");
        pqt_json_uint(&j, ticks.median);
        pqt_json_key(&j, "p10_ticks");
        pqt_json_uint(&j, ticks.p10);
        pqt_json_key(&j, "p90_ticks");
        pqt_json_uint(&j, ticks.p90);
        pqt_json_key(&j, "median_us");
        pqt_json_double(&j, to_us(ns.median), 3);
        pqt_json_key(&j, "p10_us");
        pqt_json_double(&j, to_us(ns.p10), 3);
        pqt_json_key(&j, "p90_us");
        pqt_json_double(&j, to_us(ns.p90), 3);
        pqt_json_kv_string(&j, "tick_source", cpu->tick_source);
        pqt_json_key(&j, "tick_mhz");
        pqt_json_double(&j, cpu->tick_mhz, 1);
        pqt_json_kv_string(&j, "cpu", cpu->model);
        pqt_json_kv_string(&j, "features", cpu->features);
        pqt_json_object_end(&j);
        if (pqt_json_end_line(&j) != 0) {
            fprintf(stderr, "bench: cannot write a JSON record\n");
        }
    } else {
        printf("%-12s %-9s %-10s %12llu %12llu %12llu %10.2f\n", alg, backend, op_names[op],
               (unsigned long long)ticks.median, (unsigned long long)ticks.p10,
               (unsigned long long)ticks.p90, to_us(ns.median));
    }
    fflush(stdout);
}

static int bench_one(const bench_config *cfg, const pqt_bench_cpu *cpu, pqt_mlkem_alg alg,
                     pqt_backend backend, uint64_t *ticks, uint64_t *ns, const char *prog)
{
    bench_state *s = calloc(1, sizeof(*s));
    long warmup = cfg->iterations / 10 < 10 ? 10 : cfg->iterations / 10;
    int ret = PQT_BENCH_EXIT_OK;
    int err;

    if (s == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return PQT_BENCH_EXIT_INTERNAL;
    }
    s->alg = alg;
    s->p = pqt_mlkem_params_get(alg);
    s->rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)alg << 32) ^ (uint64_t)backend;
    err = pqt_mlkem_set_backend(backend);
    if (err == 0) {
        err = set_up(s);
    }
    if (err != 0) {
        fprintf(stderr, "%s: %s/%s: setting up failed: %s (%s)\n", prog, s->p->name,
                pqt_backend_name(backend), pqt_strerror(err), pqt_errname(err));
        ret = PQT_BENCH_EXIT_FAILED;
        goto cleanup;
    }
    for (int op = 0; op < OP_COUNT; op++) {
        for (long i = 0; i < warmup + cfg->iterations; i++) {
            vary_inputs(s, (bench_op)op);
            uint64_t n0 = pqt_bench_ns();
            uint64_t t0 = pqt_bench_ticks();
            err = run_op(s, (bench_op)op);
            uint64_t t1 = pqt_bench_ticks();
            uint64_t n1 = pqt_bench_ns();
            if (err != 0) {
                fprintf(stderr, "%s: %s/%s %s failed: %s (%s)\n", prog, s->p->name,
                        pqt_backend_name(backend), op_names[op], pqt_strerror(err),
                        pqt_errname(err));
                ret = PQT_BENCH_EXIT_FAILED;
                goto cleanup;
            }
            if (i >= warmup) {
                ticks[i - warmup] = t1 - t0;
                ns[i - warmup] = n1 - n0;
            }
        }
        if (op == OP_ENCAPS) {
            /* encaps overwrote ct with random-m ciphertexts; decaps must
             * still see a valid one, so check the last pair matches. */
            err = run_op(s, OP_DECAPS);
            if (err != 0 || memcmp(s->ss, s->ss2, sizeof(s->ss)) != 0) {
                fprintf(stderr, "%s: %s/%s: decaps(encaps) does not give the same secret\n", prog,
                        s->p->name, pqt_backend_name(backend));
                ret = PQT_BENCH_EXIT_FAILED;
                goto cleanup;
            }
        }
        bench_stats st_ticks = stats_of(ticks, (size_t)cfg->iterations);
        bench_stats st_ns = stats_of(ns, (size_t)cfg->iterations);
        print_result(cfg, cpu, s->p->name, pqt_backend_name(backend), (bench_op)op, st_ticks,
                     st_ns);
    }
cleanup:
    pqt_mlkem_ephemeral_free(s->eph);
    pqt_mlkem_ephemeral_free(s->eph_new);
    free(s);
    return ret;
}

enum { OPT_ITERATIONS = 256, OPT_FORMAT, OPT_ALG, OPT_BACKEND };

static int parse_args(int argc, char **argv, const char *prog, bench_config *cfg, int *help)
{
    static const struct option options[] = {
        {"iterations", required_argument, NULL, OPT_ITERATIONS},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"alg", required_argument, NULL, OPT_ALG},
        {"backend", required_argument, NULL, OPT_BACKEND},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    cfg->iterations = BENCH_DEFAULT_ITERATIONS;
    cfg->jsonl = 0;
    cfg->alg_mask = 7;
    cfg->backend_mask = 0;
    *help = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        const char *opt = argv[optind - 1];
        switch (c) {
        case 'h':
            *help = 1;
            break;
        case OPT_ITERATIONS: {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || n < 1 || n > BENCH_MAX_ITERATIONS) {
                fprintf(stderr, "%s: --iterations: '%s' is not a number from 1 to %ld\n", prog,
                        optarg, BENCH_MAX_ITERATIONS);
                return PQT_BENCH_EXIT_USAGE;
            }
            cfg->iterations = n;
            break;
        }
        case OPT_FORMAT:
            if (strcmp(optarg, "table") == 0) {
                cfg->jsonl = 0;
            } else if (strcmp(optarg, "jsonl") == 0) {
                cfg->jsonl = 1;
            } else {
                fprintf(stderr, "%s: --format: unknown format '%s'; use table or jsonl\n", prog,
                        optarg);
                return PQT_BENCH_EXIT_USAGE;
            }
            break;
        case OPT_ALG: {
            pqt_mlkem_alg alg;
            if (pqt_mlkem_alg_from_name(optarg, &alg) != 0) {
                fprintf(stderr,
                        "%s: --alg: unknown algorithm '%s'; valid: ML-KEM-512, ML-KEM-768, "
                        "ML-KEM-1024 (also MLKEM768, mlkem768 or 768)\n",
                        prog, optarg);
                return PQT_BENCH_EXIT_USAGE;
            }
            cfg->alg_mask = 1 << alg;
            break;
        }
        case OPT_BACKEND: {
            pqt_backend b;
            if (strcmp(optarg, "portable") == 0) {
                b = PQT_BACKEND_PORTABLE;
            } else if (strcmp(optarg, "avx2") == 0) {
                b = PQT_BACKEND_AVX2;
            } else if (strcmp(optarg, "auto") == 0) {
                b = pqt_backend_available(PQT_BACKEND_AVX2) ? PQT_BACKEND_AVX2
                                                            : PQT_BACKEND_PORTABLE;
            } else {
                fprintf(stderr,
                        "%s: --backend: unknown backend '%s'; valid: portable, avx2, "
                        "auto\n",
                        prog, optarg);
                return PQT_BENCH_EXIT_USAGE;
            }
            if (!pqt_backend_available(b)) {
                fprintf(stderr,
                        "%s: --backend: '%s' is not available on this CPU or build; "
                        "use --backend portable or leave it out\n",
                        prog, optarg);
                return PQT_BENCH_EXIT_UNSUPPORTED;
            }
            cfg->backend_mask = 1 << b;
            break;
        }
        case ':':
            fprintf(stderr, "%s: option %s needs a value; see --help\n", prog, opt);
            return PQT_BENCH_EXIT_USAGE;
        default:
            fprintf(stderr, "%s: unknown option '%s'; see --help\n", prog, opt);
            return PQT_BENCH_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'; see --help\n", prog, argv[optind]);
        return PQT_BENCH_EXIT_USAGE;
    }
    if (cfg->backend_mask == 0) {
        cfg->backend_mask = 1 << PQT_BACKEND_PORTABLE;
        if (pqt_backend_available(PQT_BACKEND_AVX2)) {
            cfg->backend_mask |= 1 << PQT_BACKEND_AVX2;
        }
    }
    return PQT_BENCH_EXIT_OK;
}

int pqt_bench_kem_main(int argc, char **argv, const char *prog)
{
    static const pqt_backend backends[] = {PQT_BACKEND_PORTABLE, PQT_BACKEND_AVX2};
    pqt_backend before = pqt_mlkem_get_backend();
    bench_config cfg;
    pqt_bench_cpu cpu;
    uint64_t *ticks = NULL, *ns = NULL;
    int help, ret;

    ret = parse_args(argc, argv, prog, &cfg, &help);
    if (ret != PQT_BENCH_EXIT_OK || help) {
        if (help) {
            pqt_bench_kem_help(stdout, prog);
        }
        return ret;
    }
    ticks = malloc((size_t)cfg.iterations * sizeof(*ticks));
    ns = malloc((size_t)cfg.iterations * sizeof(*ns));
    if (ticks == NULL || ns == NULL) {
        fprintf(stderr, "%s: out of memory for %ld iterations; use a smaller --iterations\n", prog,
                cfg.iterations);
        ret = PQT_BENCH_EXIT_INTERNAL;
        goto cleanup;
    }
    pqt_bench_cpu_describe(&cpu);
    if (!cfg.jsonl) {
        printf("CPU:        %s\n", cpu.model);
        printf("features:   %s (CPUID)\n", cpu.features);
        printf("ticks:      %s, estimated %.0f MHz\n", cpu.tick_source, cpu.tick_mhz);
        printf("backends:   portable%s (default: %s)\n",
               pqt_backend_available(PQT_BACKEND_AVX2) ? ", avx2" : "", pqt_backend_name(before));
        printf("iterations: %ld per op after %ld warm-up calls; per-call medians\n\n",
               cfg.iterations, cfg.iterations / 10 < 10 ? 10 : cfg.iterations / 10);
        printf("%-12s %-9s %-10s %12s %12s %12s %10s\n", "alg", "backend", "op", "median_ticks",
               "p10_ticks", "p90_ticks", "median_us");
    }
    for (int alg = PQT_MLKEM512; alg <= PQT_MLKEM1024 && ret == PQT_BENCH_EXIT_OK; alg++) {
        if (!(cfg.alg_mask & (1 << alg))) {
            continue;
        }
        for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
            if (!(cfg.backend_mask & (1 << backends[b]))) {
                continue;
            }
            ret = bench_one(&cfg, &cpu, (pqt_mlkem_alg)alg, backends[b], ticks, ns, prog);
            if (ret != PQT_BENCH_EXIT_OK) {
                break;
            }
        }
    }
    if (ret == PQT_BENCH_EXIT_OK && !cfg.jsonl) {
        printf("\nencaps is timed from ek bytes (modulus check, H(ek) and matrix expansion "
               "included);\ndecaps uses valid ciphertexts.\n");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write the results\n", prog);
        if (ret == PQT_BENCH_EXIT_OK) {
            ret = PQT_BENCH_EXIT_IO;
        }
    }
cleanup:
    if (pqt_mlkem_set_backend(before) != 0) {
        fprintf(stderr, "%s: could not restore the %s backend\n", prog, pqt_backend_name(before));
    }
    free(ticks);
    free(ns);
    return ret;
}
