/*
 * `pqtls bench tls`: full TLS 1.3 handshakes, group against group, with
 * Debian's libssl (OpenSSL 3.0+) as the client and the pqtls provider
 * loaded into a library context of the benchmark's own. The target is a
 * server given by host and port, or (host NULL) a libssl server started in
 * the same process on 127.0.0.1, in the same library context.
 *
 * The command line (target syntax, options) is parsed in cli/bench.c; this
 * module runs the handshakes and writes the results.
 */
#ifndef PQTLS_BENCH_TLS_H
#define PQTLS_BENCH_TLS_H

#include <stdint.h>
#include <stdio.h>

#define PQT_BENCH_TLS_MAX_GROUPS 16
#define PQT_BENCH_TLS_MAX_HANDSHAKES 100000

typedef struct {
    /* The target; host NULL: the in-process server on 127.0.0.1. */
    const char *host;
    uint16_t port;
    const char *sni; /* server_name to send, "" or NULL for none */
    /* One entry per measured configuration: a group name known to libssl
     * (with pqtls loaded), or a ':'-separated preference list, of which
     * libssl sends a key share for the first group only. */
    const char *groups[PQT_BENCH_TLS_MAX_GROUPS];
    unsigned ngroups;
    /* The in-process server's group list (':'-separated); NULL: every
     * group named in groups. Ignored with a target. */
    const char *server_groups;
    unsigned handshakes;       /* timed handshakes per entry */
    unsigned mss;              /* 0, or TCP_MAXSEG for the client's sockets */
    unsigned timeout_ms;       /* connect and each read/write */
    const char *provider_path; /* directory of pqtls.so; NULL: see pqt_bench_tls_run */
    int jsonl;                 /* JSON Lines instead of the table */
} pqt_bench_tls_config;

/*
 * Run the benchmark and print the results to out, messages to err.
 * Without provider_path, pqtls.so is looked for in ../lib beside the
 * running executable (the build tree) and then where OpenSSL looks for
 * providers (OPENSSL_MODULES, else its MODULESDIR). Returns a
 * PQT_BENCH_EXIT_* code (bench_kem.h): FAILED when a handshake failed or
 * the target could not be reached, USAGE for a group libssl does not know,
 * UNSUPPORTED when the provider cannot be loaded, IO when out fails.
 */
int pqt_bench_tls_run(const pqt_bench_tls_config *cfg, FILE *out, FILE *err);

#endif
