/*
 * The key exchange of one TLS 1.3 handshake as libssl 3.0 drives it through
 * EVP (ssl/s3_lib.c, ssl/statem/extensions_{clnt,srvr}.c), without the rest
 * of TLS: per group and side, the CPU time of
 *   client  keygen (EVP_PKEY_CTX_new_from_name + keygen with the group
 *           name), get1_encoded_public_key ............................ C1
 *   server  paramgen, set1_encoded_public_key(client share), then for a
 *           KEM group encapsulate, for X25519 keygen + get1_encoded +
 *           derive ........................................................ S
 *   client  decapsulate, or (X25519) paramgen + set1_encoded + derive . C2
 * so that the hybrid's cost can be compared with its parts (X25519 as
 * libssl does it, and MLKEM768) in one process, interleaved in rounds,
 * medians over rounds. Both sides' secrets are compared on every exchange.
 *
 * --threads 2 runs the same loop in two threads at once, kept in step
 * by a barrier, as the handshake benchmark's client and server threads
 * run: shared libcrypto objects (method stores, reference counts, locks)
 * then move between the cores. The figures are the first thread's.
 *
 * Usage: kex_bench [--provider-path DIR] [--groups G1,G2,...]
 *                  [--iterations N] [--rounds R] [--threads 1|2]
 *                  [--default-context]
 */
#define _POSIX_C_SOURCE 200809L
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bench_util.h"

#define MAX_GROUPS 8
#define MAX_ROUNDS 64

/* A group as libssl 3.0 knows it: the TLS-GROUP algorithm and the internal
 * group name it passes as the "group" keygen parameter. */
typedef struct {
    const char *tls_name, *alg, *internal;
    int is_kem;
} group;

static const group known[] = {
    {"X25519", "X25519", "x25519", 0},
    {"X25519MLKEM768", "pqtls-X25519MLKEM768", "X25519MLKEM768", 1},
    {"SecP256r1MLKEM768", "pqtls-SecP256r1MLKEM768", "SecP256r1MLKEM768", 1},
    {"MLKEM768", "pqtls-MLKEM768", "MLKEM768", 1},
    {"MLKEM512", "pqtls-MLKEM512", "MLKEM512", 1},
};

static OSSL_LIB_CTX *lib;

/* ssl_generate_pkey_group / ssl_generate_param_group. */
static EVP_PKEY *gen(const group *g, int keypair)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(lib, g->alg, NULL);
    EVP_PKEY *k = NULL;
    if (pctx == NULL ||
        (keypair ? EVP_PKEY_keygen_init(pctx) : EVP_PKEY_paramgen_init(pctx)) <= 0 ||
        EVP_PKEY_CTX_set_group_name(pctx, g->internal) <= 0 ||
        (keypair ? EVP_PKEY_keygen(pctx, &k) : EVP_PKEY_paramgen(pctx, &k)) <= 0) {
        die("key generation");
    }
    EVP_PKEY_CTX_free(pctx);
    return k;
}

/* ssl_derive for a classical group. */
static size_t derive(EVP_PKEY *priv, EVP_PKEY *peer, unsigned char *ss)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(lib, priv, NULL);
    size_t len = 0;
    if (pctx == NULL || EVP_PKEY_derive_init(pctx) <= 0 ||
        EVP_PKEY_derive_set_peer(pctx, peer) <= 0 || EVP_PKEY_derive(pctx, NULL, &len) <= 0 ||
        len > 64 || EVP_PKEY_derive(pctx, ss, &len) <= 0) {
        die("derive");
    }
    EVP_PKEY_CTX_free(pctx);
    return len;
}

static _Thread_local double t_c1, t_s, t_c2;

static void exchange(const group *g)
{
    unsigned char *cshare = NULL, *sshare = NULL, ss_c[128], ss_s[128];
    size_t clen, slen = 0, lc = 0, ls = 0;
    double t0 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);

    /* client: ClientHello key_share */
    EVP_PKEY *ckey = gen(g, 1);
    clen = EVP_PKEY_get1_encoded_public_key(ckey, &cshare);
    if (clen == 0) {
        die("client share");
    }
    double t1 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);

    /* server: the peer key, then the answer */
    EVP_PKEY *peer = gen(g, 0), *skey = NULL;
    if (EVP_PKEY_set1_encoded_public_key(peer, cshare, clen) != 1) {
        die("server: client share rejected");
    }
    if (g->is_kem) {
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(lib, peer, NULL);
        if (pctx == NULL || EVP_PKEY_encapsulate_init(pctx, NULL) <= 0 ||
            EVP_PKEY_encapsulate(pctx, NULL, &slen, NULL, &ls) <= 0 ||
            (sshare = OPENSSL_malloc(slen)) == NULL ||
            EVP_PKEY_encapsulate(pctx, sshare, &slen, ss_s, &ls) <= 0) {
            die("encapsulate");
        }
        EVP_PKEY_CTX_free(pctx);
    } else {
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(lib, peer, NULL);
        if (pctx == NULL || EVP_PKEY_keygen_init(pctx) <= 0 || EVP_PKEY_keygen(pctx, &skey) <= 0) {
            die("server keygen");
        }
        EVP_PKEY_CTX_free(pctx);
        slen = EVP_PKEY_get1_encoded_public_key(skey, &sshare);
        ls = derive(skey, peer, ss_s);
    }
    double t2 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);

    /* client: ServerHello key_share */
    if (g->is_kem) {
        EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(lib, ckey, NULL);
        if (pctx == NULL || EVP_PKEY_decapsulate_init(pctx, NULL) <= 0 ||
            EVP_PKEY_decapsulate(pctx, NULL, &lc, sshare, slen) <= 0 ||
            EVP_PKEY_decapsulate(pctx, ss_c, &lc, sshare, slen) <= 0) {
            die("decapsulate");
        }
        EVP_PKEY_CTX_free(pctx);
    } else {
        EVP_PKEY *speer = gen(g, 0);
        if (EVP_PKEY_set1_encoded_public_key(speer, sshare, slen) != 1) {
            die("client: server share rejected");
        }
        lc = derive(ckey, speer, ss_c);
        EVP_PKEY_free(speer);
    }
    double t3 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
    if (lc != ls || memcmp(ss_c, ss_s, lc) != 0) {
        die("secrets differ");
    }
    EVP_PKEY_free(ckey);
    EVP_PKEY_free(peer);
    EVP_PKEY_free(skey);
    OPENSSL_free(cshare);
    OPENSSL_free(sshare);
    t_c1 += t1 - t0;
    t_s += t2 - t1;
    t_c2 += t3 - t2;
}

static int n_groups, n_rounds, per_round;
static const group **groups;
static pthread_barrier_t step;
static double c1[MAX_GROUPS][MAX_ROUNDS], s[MAX_GROUPS][MAX_ROUNDS], c2[MAX_GROUPS][MAX_ROUNDS];

static void *worker(void *arg)
{
    int first = arg == NULL;
    for (int g = 0; g < n_groups; g++) {
        for (int i = 0; i < 50; i++) {
            exchange(groups[g]); /* warm up: fetch caches, DRBGs */
        }
    }
    for (int r = 0; r < n_rounds; r++) {
        for (int g = 0; g < n_groups; g++) {
            pthread_barrier_wait(&step);
            t_c1 = t_s = t_c2 = 0;
            for (int i = 0; i < per_round; i++) {
                exchange(groups[g]);
            }
            if (first) {
                c1[g][r] = t_c1 * 1e6 / per_round;
                s[g][r] = t_s * 1e6 / per_round;
                c2[g][r] = t_c2 * 1e6 / per_round;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    bench_prog = "kex_bench";
    const char *provider_path = "build/lib", *groups_arg = "X25519,X25519MLKEM768,MLKEM768";
    int iters = 2000, rounds = 10, default_ctx = 0, nthreads = 1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--provider-path") == 0) {
            provider_path = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--groups") == 0) {
            groups_arg = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--iterations") == 0) {
            iters = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0) {
            rounds = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) {
            nthreads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--default-context") == 0) {
            default_ctx = 1;
        } else {
            fprintf(stderr, "usage: kex_bench [--provider-path DIR] [--groups G1,G2,...] "
                            "[--iterations N] [--rounds R] [--threads 1|2] [--default-context]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || iters < rounds) {
        fprintf(stderr, "kex_bench: need 1 <= rounds <= %d and iterations >= rounds\n", MAX_ROUNDS);
        return 2;
    }
    const group *gs[MAX_GROUPS];
    int ng = 0;
    char *copy = strdup(groups_arg), *save = NULL;
    for (char *n = strtok_r(copy, ",", &save); n && ng < MAX_GROUPS;
         n = strtok_r(NULL, ",", &save)) {
        const group *found = NULL;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
            if (strcasecmp(n, known[i].tls_name) == 0) {
                found = &known[i];
            }
        }
        if (found == NULL) {
            fprintf(stderr, "kex_bench: unknown group %s\n", n);
            return 2;
        }
        gs[ng++] = found;
    }
    lib = bench_load_providers(default_ctx, provider_path);
    n_groups = ng;
    n_rounds = rounds;
    per_round = iters / rounds;
    groups = gs;
    pthread_t th[2];
    if (nthreads < 1 || nthreads > 2 ||
        pthread_barrier_init(&step, NULL, (unsigned)nthreads) != 0) {
        die("--threads is 1 or 2");
    }
    for (long t = 0; t < nthreads; t++) {
        pthread_create(&th[t], NULL, worker, (void *)t);
    }
    for (int t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
    }
    printf("key exchange through EVP as libssl 3.0 does it (%s context, %d thread%s), %d per group "
           "in %d "
           "rounds,\nCPU us per exchange, medians over rounds\n\n",
           default_ctx ? "default" : "own", nthreads, nthreads > 1 ? "s" : "", per_round * rounds,
           rounds);
    printf("%-18s %9s %9s %9s %9s %9s %9s\n", "group", "client1", "server", "client2", "client",
           "total", "vs first");
    double base = 0;
    for (int g = 0; g < ng; g++) {
        double a = median(c1[g], rounds), b = median(s[g], rounds), c = median(c2[g], rounds);
        if (g == 0) {
            base = a + b + c;
        }
        printf("%-18s %9.1f %9.1f %9.1f %9.1f %9.1f %+9.1f\n", gs[g]->tls_name, a, b, c, a + c,
               a + b + c, a + b + c - base);
    }
    OSSL_LIB_CTX_free(lib);
    free(copy);
    return 0;
}
