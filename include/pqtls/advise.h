/*
 * pqtls advise: what-if per service (src/advise/, docs/advise.md).
 *
 * Every ClientHello the passive observer saw (pqtls/observe.h) is replayed
 * against a server model at each migration stage:
 *
 *   supported  the server takes a hybrid share the client sent, else a
 *              classical group as before;
 *   preferred  it also asks, with a HelloRetryRequest, for the hybrid group
 *              from a client that lists it but sent no share for it;
 *   required   it offers only its hybrid groups: a client without one is
 *              refused.
 *
 * The selection rules are those of a real server: OpenSSL 3.0-3.4 (the
 * first client key share for a group the server has, else an HRR for the
 * server's first group the client lists), OpenSSL 3.5 (groups in tuples: in
 * the first tuple the client overlaps, a group it sent a share for, else an
 * HRR; within a tuple the client's order or, with server preference, the
 * server's) or a server that follows its own preference strictly and asks for
 * its group with an HRR whenever the client sent no share for it. Results
 * are counted per service (server address, port, SNI) and written as JSON
 * Lines, a table or an HTML page, each service with a verdict.
 */
#ifndef PQTLS_ADVISE_H
#define PQTLS_ADVISE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pqtls/err.h"
#include "pqtls/hello.h"
#include "pqtls/observe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* JSON Lines schema version: bumped on any incompatible change. */
#define PQT_ADV_SCHEMA "pqtls.advise/1"

typedef enum {
    PQT_ADV_SUPPORTED = 0,
    PQT_ADV_PREFERRED,
    PQT_ADV_REQUIRED,
    PQT_ADV_N_STAGES
} pqt_adv_stage;

typedef enum {
    PQT_ADV_OPENSSL30 = 0,        /* OpenSSL 3.0-3.4 */
    PQT_ADV_OPENSSL35,            /* OpenSSL 3.5 and later: group tuples */
    PQT_ADV_HRR,                  /* strict server preference, HRR when no share */
    PQT_ADV_OPENSSL35_SERVERPREF, /* OpenSSL 3.5 with SSL_OP_CIPHER_SERVER_PREFERENCE */
    PQT_ADV_N_MODELS
} pqt_adv_model;

/* "supported", "preferred", "required". */
PQT_API const char *pqt_adv_stage_name(pqt_adv_stage s);
/* "openssl30", "openssl35", "hrr", "openssl35-serverpref";
 * pqt_adv_model_from_name returns -1 for any other name. */
PQT_API const char *pqt_adv_model_name(pqt_adv_model m);
PQT_API int pqt_adv_model_from_name(const char *name);

#define PQT_ADV_MAX_GROUPS 32        /* server groups (--groups) */
#define PQT_ADV_MAX_CLIENT_GROUPS 64 /* client supported_groups kept */

/* The default server groups: the hybrid group first, then classical ones
 * (OpenSSL 3.5's default list without FFDHE). */
#define PQT_ADV_DEFAULT_GROUPS "X25519MLKEM768:x25519:secp256r1:x448:secp384r1:secp521r1"

/* A server: its selection rules and its groups in preference order; the
 * groups with a post-quantum component are its hybrid groups, the others
 * its classical ones. Each stage arranges them (pqt_adv_select). */
typedef struct {
    pqt_adv_model model;
    uint16_t groups[PQT_ADV_MAX_GROUPS];
    size_t n_groups;
} pqt_adv_server;

/*
 * The server for model m with groups from a colon-separated list of group
 * names ("X25519MLKEM768:x25519"; NULL for PQT_ADV_DEFAULT_GROUPS).
 * PQT_ERR_SYNTAX for an unknown name, an empty entry, a repeated group, more
 * than PQT_ADV_MAX_GROUPS, or a list without a hybrid or without a
 * classical group; err then says which.
 */
PQT_API PQT_MUST_CHECK int pqt_adv_server_init(pqt_adv_server *s, pqt_adv_model m,
                                               const char *groups, char *err, size_t errlen);

/* What a server is told by a ClientHello: its supported_groups and key
 * share groups in the client's order (GREASE removed), and whether it
 * offers TLS 1.3. */
typedef struct {
    uint16_t groups[PQT_ADV_MAX_CLIENT_GROUPS];
    size_t n_groups;
    uint16_t shares[PQT_HELLO_MAX_KEY_SHARES];
    size_t n_shares;
    int tls13;
} pqt_adv_hello;

/* From a parsed ClientHello (GREASE dropped, groups past the table cut). */
PQT_API void pqt_adv_hello_from_client(const pqt_client_hello *ch, pqt_adv_hello *out);

/* The server's answer to one hello at one stage. */
typedef struct {
    int refused;    /* no group in common: the handshake fails */
    int hrr;        /* a HelloRetryRequest asks for `group` first */
    uint16_t group; /* the group the handshake ends with; 0 when refused, and
                     * for TLS 1.2 without a common ECDHE group */
    int hybrid;     /* group has a post-quantum component */
} pqt_adv_choice;

/*
 * Replay: what server s does at stage st with hello h.
 *   supported: classical groups first, hybrid groups after them; for
 *              OpenSSL 3.5, all in one tuple, hybrid first;
 *   preferred: hybrid groups first; for OpenSSL 3.5 in a tuple of their
 *              own before the classical tuple;
 *   required:  the hybrid groups only.
 * TLS 1.2 clients (no TLS 1.3 offered) get a classical group, or are
 * refused at required.
 */
PQT_API void pqt_adv_select(const pqt_adv_server *s, pqt_adv_stage st, const pqt_adv_hello *h,
                            pqt_adv_choice *out);

/* The groups as stage st arranges them, in OpenSSL's list syntax
 * ("x25519:secp256r1:X25519MLKEM768", tuples split by " / "). */
PQT_API void pqt_adv_stage_groups(const pqt_adv_server *s, pqt_adv_stage st, char *out, size_t cap);

/* ---- Per-service what-if (advise.c, output.c) -------------------------- */

typedef struct {
    pqt_adv_server server;
    unsigned prefix_v4, prefix_v6; /* network-path prefix lengths (0: 24, 48) */
    double max_refused_pct;        /* required is ready at or below this (0) */
    double max_hrr_pct;            /* preferred is ready at or below this (0: 10) */
} pqt_adv_config;

typedef struct pqt_adv pqt_adv;

PQT_API PQT_MUST_CHECK int pqt_adv_new(const pqt_adv_config *cfg, pqt_adv **out);
/* Count one handshake record (an observer callback may call this). */
PQT_API void pqt_adv_add(pqt_adv *a, const pqt_obs_handshake *hs);
/* Set when memory ran out while counting (then outputs are partial). */
PQT_API int pqt_adv_error(const pqt_adv *a);
/* One JSON object per service (schema PQT_ADV_SCHEMA, docs/advise.md),
 * services by handshakes, most first. */
PQT_API PQT_MUST_CHECK int pqt_adv_write_jsonl(const pqt_adv *a, FILE *f);
/* A text table per service. */
PQT_API PQT_MUST_CHECK int pqt_adv_write_table(const pqt_adv *a, FILE *f);
/* A self-contained HTML page (no script, no external resource): a table
 * and an inline SVG chart per service (the 200 busiest), every text from
 * the traffic escaped. */
PQT_API PQT_MUST_CHECK int pqt_adv_write_html(const pqt_adv *a, FILE *f);
PQT_API void pqt_adv_free(pqt_adv *a);

#ifdef __cplusplus
}
#endif
#endif
