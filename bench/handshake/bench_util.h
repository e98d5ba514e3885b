/*
 * What handshake_bench and kex_bench share: clocks, medians, the fatal
 * error exit and loading default + pqtls into a library context.
 */
#ifndef PQT_BENCH_HANDSHAKE_UTIL_H
#define PQT_BENCH_HANDSHAKE_UTIL_H

#include <openssl/err.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Set by each program to its own name, for messages. */
static const char *bench_prog;

static double bench_clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "%s: %s\n", bench_prog, what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * A library context of its own, or OpenSSL's default one (as nginx and curl
 * use) with default_ctx, holding the default provider and pqtls from
 * provider_path. Exits with a message when either will not load.
 */
static OSSL_LIB_CTX *bench_load_providers(int default_ctx, const char *provider_path)
{
    OSSL_LIB_CTX *lib = default_ctx ? NULL : OSSL_LIB_CTX_new();
    if ((!default_ctx && lib == NULL) ||
        OSSL_PROVIDER_set_default_search_path(lib, provider_path) != 1 ||
        OSSL_PROVIDER_load(lib, "default") == NULL) {
        die("cannot load the default provider");
    }
    if (OSSL_PROVIDER_load(lib, "pqtls") == NULL) {
        fprintf(stderr, "%s: cannot load the pqtls provider from %s (build it with make)\n",
                bench_prog, provider_path);
        ERR_print_errors_fp(stderr);
        exit(2);
    }
    return lib;
}

#endif
