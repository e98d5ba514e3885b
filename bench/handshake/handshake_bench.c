/*
 * TLS 1.3 handshake cost with the pqtls provider: handshakes per second and
 * CPU microseconds per handshake, client and server separately, for each
 * group named, in one process over loopback TCP.
 *
 * Debian's libssl (OpenSSL 3.0) does the TLS; the pqtls provider supplies the
 * hybrid groups. Every handshake is a full one (no tickets, no session
 * cache) with a P-256 ECDSA certificate made at start-up. The groups are
 * measured in interleaved rounds and the medians over rounds are reported,
 * so the ratio to the first group (the baseline, X25519 by default) holds
 * even when the machine's speed drifts. Each side's CPU time is its own
 * thread's (CLOCK_THREAD_CPUTIME_ID): crypto, TLS and socket system calls.
 * "paired" is the median over rounds of each round's difference to the
 * baseline measured in the same round: on a shared machine whose load
 * changes from second to second it moves far less than the difference of
 * medians. Rounds alternate the order of the groups (A B, B A, A B, ...),
 * so running first or second in a round favours no group; p25..p75 shows
 * how widely the per-round differences spread.
 *
 * Usage: handshake_bench [--provider-path DIR] [--groups G1,G2,...]
 *                        [--handshakes N] [--rounds R] [--default-context]
 *                        [--format table|jsonl]
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_GROUPS 8
#define MAX_ROUNDS 256

typedef struct {
    SSL_CTX *ctx;
    int listen_fd;
    int count;
    double cpu_s;
    int failed;
    char group_seen[64]; /* negotiated group name, as the server saw it */
} side;

/* A throwaway P-256 key and self-signed certificate. */
static void make_cert(OSSL_LIB_CTX *lib, EVP_PKEY **key, X509 **cert)
{
    *key = EVP_PKEY_Q_keygen(lib, NULL, "EC", "P-256");
    *cert = X509_new_ex(lib, NULL);
    if (*key == NULL || *cert == NULL) {
        die("cannot make a key");
    }
    X509_NAME *name = X509_get_subject_name(*cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(*cert, name);
    ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(*cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(*cert), 86400);
    if (X509_set_pubkey(*cert, *key) != 1 || X509_sign(*cert, *key, EVP_sha256()) <= 0) {
        die("cannot sign the certificate");
    }
}

static SSL_CTX *make_ctx(OSSL_LIB_CTX *lib, int server, const char *group, EVP_PKEY *key,
                         X509 *cert)
{
    SSL_CTX *c = SSL_CTX_new_ex(lib, NULL, server ? TLS_server_method() : TLS_client_method());
    if (c == NULL || SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set1_groups_list(c, group) != 1) {
        die(server ? "server context (is the group known? load the provider)" : "client context");
    }
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if (server && (SSL_CTX_use_certificate(c, cert) != 1 || SSL_CTX_use_PrivateKey(c, key) != 1)) {
        die("server certificate");
    }
    return c;
}

static void *server_main(void *arg)
{
    side *s = arg;
    double t0 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < s->count; i++) {
        int fd = accept(s->listen_fd, NULL, NULL);
        SSL *ssl = fd >= 0 ? SSL_new(s->ctx) : NULL;
        if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
            s->failed++;
        } else {
            const char *name = SSL_group_to_name(ssl, SSL_get_negotiated_group(ssl));
            snprintf(s->group_seen, sizeof(s->group_seen), "%s", name ? name : "?");
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        if (fd >= 0) {
            close(fd);
        }
    }
    s->cpu_s = bench_clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
    return NULL;
}

static void *client_main(void *arg)
{
    side *c = arg;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    getsockname(c->listen_fd, (struct sockaddr *)&a, &alen);
    double t0 = bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < c->count; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        SSL *ssl = NULL;
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
            (ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
            c->failed++;
        } else {
            /* Read the server's close_notify so it never sees a reset. */
            char b;
            (void)SSL_read(ssl, &b, 1);
        }
        SSL_free(ssl);
        if (fd >= 0) {
            close(fd);
        }
    }
    c->cpu_s = bench_clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
    return NULL;
}

int main(int argc, char **argv)
{
    bench_prog = "handshake_bench";
    const char *provider_path = "build/lib", *groups_arg = "X25519,X25519MLKEM768",
               *format = "table";
    int total = 2000, rounds = 10, default_ctx = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--provider-path") == 0) {
            provider_path = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--groups") == 0) {
            groups_arg = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--handshakes") == 0) {
            total = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--default-context") == 0) {
            default_ctx = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--format") == 0) {
            format = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: handshake_bench [--provider-path DIR] [--groups G1,G2,...] "
                    "[--handshakes N] [--rounds R] [--default-context] [--format table|jsonl]\n");
            return 2;
        }
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || total < rounds) {
        fprintf(stderr, "handshake_bench: need 1 <= rounds <= %d and handshakes >= rounds\n",
                MAX_ROUNDS);
        return 2;
    }
    char *groups[MAX_GROUPS], *save = NULL, *copy = strdup(groups_arg);
    int ng = 0;
    for (char *g = strtok_r(copy, ",", &save); g && ng < MAX_GROUPS;
         g = strtok_r(NULL, ",", &save)) {
        groups[ng++] = g;
    }

    /* A library context of its own by default; --default-context loads the
     * providers into OpenSSL's default one, as nginx and curl do. */
    OSSL_LIB_CTX *lib = bench_load_providers(default_ctx, provider_path);
    EVP_PKEY *key;
    X509 *cert;
    make_cert(lib, &key, &cert);

    int per_round = total / rounds;
    static double srv[MAX_GROUPS][MAX_ROUNDS], cli[MAX_GROUPS][MAX_ROUNDS],
        wall[MAX_GROUPS][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        /* ABBA: odd rounds run the groups in reverse order, so that what
         * running first or second in a round does to a group cancels out. */
        for (int gi = 0; gi < ng; gi++) {
            int g = r % 2 ? ng - 1 - gi : gi;
            int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
            struct sockaddr_in a = {.sin_family = AF_INET,
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
                listen(lfd, 64) != 0) {
                die("cannot listen on 127.0.0.1");
            }
            side s = {make_ctx(lib, 1, groups[g], key, cert), lfd, per_round, 0, 0, ""};
            side c = {make_ctx(lib, 0, groups[g], NULL, NULL), lfd, per_round, 0, 0, ""};
            pthread_t ts, tc;
            double w0 = bench_clock_s(CLOCK_MONOTONIC);
            pthread_create(&ts, NULL, server_main, &s);
            pthread_create(&tc, NULL, client_main, &c);
            pthread_join(tc, NULL);
            pthread_join(ts, NULL);
            double w1 = bench_clock_s(CLOCK_MONOTONIC);
            close(lfd);
            SSL_CTX_free(s.ctx);
            SSL_CTX_free(c.ctx);
            if (s.failed || c.failed) {
                fprintf(stderr, "handshake_bench: %s: %d server and %d client handshakes failed\n",
                        groups[g], s.failed, c.failed);
                ERR_print_errors_fp(stderr);
                return 1;
            }
            /* Assert what was negotiated, not just that it worked. */
            if (strcasecmp(s.group_seen, groups[g]) != 0) {
                fprintf(stderr, "handshake_bench: asked for %s but negotiated %s\n", groups[g],
                        s.group_seen);
                return 1;
            }
            srv[g][r] = s.cpu_s * 1e6 / per_round;
            cli[g][r] = c.cpu_s * 1e6 / per_round;
            wall[g][r] = per_round / (w1 - w0);
        }
    }
    double ms[MAX_GROUPS], mc[MAX_GROUPS], mw[MAX_GROUPS], pd[MAX_GROUPS], pr[MAX_GROUPS];
    double pd25[MAX_GROUPS], pd75[MAX_GROUPS];
    for (int g = 0; g < ng; g++) {
        double d[MAX_ROUNDS], q[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            double base = srv[0][r] + cli[0][r], t = srv[g][r] + cli[g][r];
            d[r] = t - base;
            q[r] = t / base;
        }
        pd[g] = median(d, rounds); /* sorts d */
        pr[g] = median(q, rounds);
        pd25[g] = d[rounds / 4];
        pd75[g] = d[(3 * rounds) / 4];
    }
    for (int g = 0; g < ng; g++) {
        ms[g] = median(srv[g], rounds);
        mc[g] = median(cli[g], rounds);
        mw[g] = median(wall[g], rounds);
    }
    if (strcmp(format, "jsonl") == 0) {
        for (int g = 0; g < ng; g++) {
            printf("{\"group\":\"%s\",\"handshakes\":%d,\"rounds\":%d,"
                   "\"server_cpu_us\":%.1f,\"client_cpu_us\":%.1f,\"total_cpu_us\":%.1f,"
                   "\"handshakes_per_s\":%.0f,\"ratio_to_%s\":%.3f,\"added_us\":%.1f,"
                   "\"paired_ratio\":%.3f,\"paired_added_us\":%.1f,"
                   "\"paired_added_us_p25\":%.1f,\"paired_added_us_p75\":%.1f}\n",
                   groups[g], per_round * rounds, rounds, ms[g], mc[g], ms[g] + mc[g], mw[g],
                   groups[0], (ms[g] + mc[g]) / (ms[0] + mc[0]), ms[g] + mc[g] - ms[0] - mc[0],
                   pr[g], pd[g], pd25[g], pd75[g]);
        }
    } else {
        printf("TLS 1.3 full handshakes over loopback, %s, P-256 ECDSA certificate;\n"
               "%d handshakes per group in %d interleaved rounds (ABBA order); medians over "
               "rounds.\n\n",
               OpenSSL_version(OPENSSL_VERSION), per_round * rounds, rounds);
        printf("%-20s %13s %13s %12s %12s %8s %9s %8s %9s %15s\n", "group (negotiated)",
               "server CPU us", "client CPU us", "total CPU us", "handshakes/s", "ratio",
               "added us", "paired", "paired us", "p25..p75 us");
        for (int g = 0; g < ng; g++) {
            char iqr[40];
            snprintf(iqr, sizeof(iqr), "%.1f..%.1f", pd25[g], pd75[g]);
            printf("%-20s %13.1f %13.1f %12.1f %12.0f %7.3fx %9.1f %7.3fx %9.1f %15s\n", groups[g],
                   ms[g], mc[g], ms[g] + mc[g], mw[g], (ms[g] + mc[g]) / (ms[0] + mc[0]),
                   ms[g] + mc[g] - ms[0] - mc[0], pr[g], pd[g], iqr);
        }
        printf("\nratio and added us: total CPU against %s, measured in the same process;\n"
               "paired: median over rounds of each round's ratio and difference to %s\n"
               "(p25..p75: the middle half of those differences).\n",
               groups[0], groups[0]);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    OSSL_LIB_CTX_free(lib);
    free(copy);
    return 0;
}
