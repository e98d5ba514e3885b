/*
 * Unit tests for src/observe/agg.c, the summary table and the Prometheus
 * exposition: the map slots come from a hash under a random per-run key,
 * so the tests assert what a user sees does not depend on them. Two
 * aggregates (two keys) fed the same handshakes in opposite orders write
 * byte-identical tables and expositions (but for which services have
 * label values of their own: the first 100 seen); rows are ordered by
 * count, then by name; past the map's capacity (2048 keys) further services
 * are folded into "(other)". Services are server address, port and SNI: one
 * host with HTTPS on 443 and SMTP on 25 is two rows and two label sets,
 * each with its application protocol; the 101st service and later are
 * "other" in the metrics. offered_pq names the first post-quantum group a
 * ClientHello lists, also on a failure before any ServerHello; the path
 * metric exists only with metrics_paths, for that many client prefixes.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/observe.h"

#include "obs_check.h"

#define N_HS (600 * 7)

static const char *const families[] = {"Chromium 131+ (BoringSSL)", "Firefox 132+ (NSS)",
                                       "OpenSSL 3.0-3.4"};
static const pqt_obs_library libraries[] = {PQT_OBS_LIB_BORINGSSL, PQT_OBS_LIB_NSS,
                                            PQT_OBS_LIB_OPENSSL};

/* Handshake i of a small estate: 600 servers, server k seen (k % 7) + 1
 * times (many ties), three families, two groups, every 5th an alert,
 * clients in 97 /24s. Returns 0 for the i that are not part of it. */
static int make_hs(unsigned i, pqt_obs_handshake *hs, char sni[32])
{
    unsigned server = i % 600, round = i / 600;
    memset(hs, 0, sizeof(*hs));
    hs->ip_version = 4;
    memcpy(hs->client, "\x0a\x00\x00\x01", 4);
    hs->client[2] = (uint8_t)(i % 97);
    memcpy(hs->server, "\xc0\x00\x02\x07", 4);
    hs->client_port = (uint16_t)(40000 + i);
    hs->server_port = 443;
    hs->server_ttl = 57;
    snprintf(sni, 32, "s%03u.example", server);
    hs->has_ch = 1;
    hs->ch.sni = (const uint8_t *)sni;
    hs->ch.sni_len = strlen(sni);
    hs->client_family = families[i % 3];
    hs->client_library = libraries[i % 3];
    hs->family_basis = PQT_OBS_BASIS_FEATURES;
    hs->group_source = PQT_OBS_GROUP_KEY_SHARE;
    hs->group = i % 4 == 0 ? PQT_GROUP_X25519 : PQT_GROUP_X25519MLKEM768;
    hs->outcome = i % 5 == 0 ? PQT_OBS_ALERT : PQT_OBS_COMPLETED;
    hs->hrr = i % 11 == 0;
    hs->hrr_group = hs->hrr ? PQT_GROUP_X25519MLKEM768 : 0;
    return round <= server % 7;
}

/* The exposition without the per-service metric, whose label sets are the
 * first services seen (so they depend on the order). */
static void drop_service_metric(char *prom)
{
    char *p = prom;
    while (p != NULL && (p = strstr(p, "pqtls_observe_service_handshakes_total")) != NULL) {
        char *eol = strchr(p, '\n');
        char *start = p;
        while (start > prom && start[-1] != '\n') {
            start--;
        }
        if (eol == NULL) {
            *start = 0;
            break;
        }
        memmove(start, eol + 1, strlen(eol + 1) + 1);
        p = start;
    }
}

/* The table and the exposition of one aggregate fed handshakes 0..N_HS-1
 * in order or reversed; *table and *prom are malloc'd (NULL on failure). */
static void render(int reversed, char **table, char **prom)
{
    pqt_obs_agg *a = NULL;
    pqt_obs_stats st;
    size_t n;
    *table = *prom = NULL;
    memset(&st, 0, sizeof(st));
    CHECK(pqt_obs_agg_new(NULL, &a) == 0);
    if (a == NULL) {
        return;
    }
    for (unsigned k = 0; k < N_HS; k++) {
        pqt_obs_handshake hs;
        char sni[32];
        if (make_hs(reversed ? N_HS - 1 - k : k, &hs, sni)) {
            pqt_obs_agg_add(a, &hs);
        }
    }
    FILE *f = open_memstream(table, &n);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(pqt_obs_agg_write_table(a, &st, f) == 0);
        fclose(f);
    }
    f = open_memstream(prom, &n);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(pqt_obs_agg_write_prom(a, &st, f) == 0);
        fclose(f);
    }
    pqt_obs_agg_free(a);
}

static void test_agg_deterministic(void)
{
    char *t1, *p1, *t2, *p2;
    render(0, &t1, &p1);
    render(1, &t2, &p2);
    CHECK(t1 != NULL && t2 != NULL && strcmp(t1, t2) == 0);
    CHECK(p1 != NULL && p2 != NULL);
    if (p1 != NULL && p2 != NULL) {
        /* 600 services: 100 with labels of their own, the rest "other". */
        static const char metric[] = "\npqtls_observe_service_handshakes_total{",
                          own_labels[] = "server=\"192.0.2.7\",port=\"443\",sni=\"s",
                          other_labels[] = "server=\"other\",port=\"\",sni=\"\",app_protocol=";
        const char *q = p1;
        int own = 0, other = 0;
        while ((q = strstr(q, metric)) != NULL) {
            q += sizeof(metric) - 1;
            own += strncmp(q, own_labels, sizeof(own_labels) - 1) == 0;
            other += strncmp(q, other_labels, sizeof(other_labels) - 1) == 0;
        }
        /* other: x25519 and X25519MLKEM768, completed and alert */
        CHECK(other == 4 && own >= 100 && own <= 400);
        drop_service_metric(p1);
        drop_service_metric(p2);
        CHECK(strcmp(p1, p2) == 0);
    }
    /* The service section: 20 rows by count, descending, ties by name;
     * servers 6, 13, 20, ... are the ones seen 7 times. */
    const char *sec = t1 ? strstr(t1, "Hybrid share by service") : NULL;
    CHECK(sec != NULL);
    if (sec != NULL) {
        const char *line = strchr(sec, '\n') + 1;
        line = strchr(line, '\n') + 1; /* the column titles */
        char prev_name[128] = "";
        unsigned long long prev_count = ~0ull;
        int rows = 0, ordered = 1;
        for (; strncmp(line, "  192.0.2.7:443 s", 17) == 0; line = strchr(line, '\n') + 1) {
            char addr[64], sni[64], app[16], name[128];
            unsigned long long count;
            if (sscanf(line, " %63s %63s %15s %llu", addr, sni, app, &count) != 4) {
                break;
            }
            snprintf(name, sizeof(name), "%s %s", addr, sni);
            if (count > prev_count || (count == prev_count && strcmp(name, prev_name) <= 0)) {
                ordered = 0;
            }
            if (rows == 0) {
                CHECK(strcmp(name, "192.0.2.7:443 s006.example") == 0 && count == 7);
                CHECK(strcmp(app, "unknown") == 0);
            }
            snprintf(prev_name, sizeof(prev_name), "%s", name);
            prev_count = count;
            rows++;
        }
        CHECK(rows == 20 && ordered);
        CHECK(strncmp(line, "  (580 more not shown)\n", 23) == 0);
    }
    /* The exposition counts by group, family, library, outcome and offered_pq. */
    CHECK(p1 != NULL &&
          strstr(p1, "pqtls_observe_handshakes_total{group=\"X25519MLKEM768\","
                     "client_family=\"Chromium 131+ (BoringSSL)\",client_library=\"boringssl\","
                     "outcome=\"completed\",offered_pq=\"none\"}") != NULL);
    /* and the table has a row per library */
    CHECK(t1 != NULL && strstr(t1, "Hybrid share by client library") != NULL &&
          strstr(t1, "\n  nss ") != NULL);
    /* No path metric unless asked for. */
    CHECK(p1 != NULL && strstr(p1, "pqtls_observe_path_handshakes_total") == NULL);
    free(t1);
    free(p1);
    free(t2);
    free(p2);
}

/* More distinct servers than the map holds: the first 2048 keep their
 * names, the rest are counted under "(other)". */
static void test_agg_fold(void)
{
    pqt_obs_agg *a = NULL;
    pqt_obs_stats st;
    char *table = NULL;
    size_t n;
    memset(&st, 0, sizeof(st));
    CHECK(pqt_obs_agg_new(NULL, &a) == 0);
    if (a == NULL) {
        return;
    }
    for (unsigned i = 0; i < 3000; i++) {
        pqt_obs_handshake hs;
        char sni[32];
        (void)make_hs(i, &hs, sni);
        snprintf(sni, sizeof(sni), "fold%04u.example", i);
        hs.ch.sni_len = strlen(sni);
        pqt_obs_agg_add(a, &hs);
    }
    FILE *f = open_memstream(&table, &n);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(pqt_obs_agg_write_table(a, &st, f) == 0);
        fclose(f);
    }
    CHECK(table != NULL && strstr(table, "TLS handshakes: 3000,") == table);
    const char *other = table ? strstr(table, "\n  (other) ") : NULL;
    unsigned long long count = 0;
    char app[16] = "";
    CHECK(other != NULL && sscanf(other, " (other) %15s %llu", app, &count) == 2 &&
          count == 3000 - 2048 && strcmp(app, "unknown") == 0);
    CHECK(table != NULL && strstr(table, "  (2029 more not shown)\n") != NULL);
    free(table);
    pqt_obs_agg_free(a);
}

/* The table has this service row (columns as the table writes them). */
static int has_row(const char *table, const char *service, const char *apps, unsigned total,
                   unsigned hybrid, const char *share)
{
    char row[256];
    snprintf(row, sizeof(row), "\n  %-50s %-9s %10u %10u %6s%% %10u\n", service, apps, total,
             hybrid, share, 0u);
    return table != NULL && strstr(table, row) != NULL;
}

/* A handshake of service (port, SNI or NULL) of host 192.0.2.7. */
static void add_service(pqt_obs_agg *a, uint16_t port, const char *sni, pqt_obs_app_protocol app,
                        uint16_t group, int n)
{
    for (int i = 0; i < n; i++) {
        pqt_obs_handshake hs;
        char buf[32];
        (void)make_hs(0, &hs, buf);
        hs.server_port = port;
        hs.ch.sni = (const uint8_t *)sni;
        hs.ch.sni_len = sni != NULL ? strlen(sni) : 0;
        hs.app_protocol = app;
        hs.app_source = PQT_OBS_APP_BY_PREAMBLE;
        hs.group = group;
        hs.outcome = PQT_OBS_COMPLETED;
        pqt_obs_agg_add(a, &hs);
    }
}

/* One host, HTTPS on 443 (hybrid) and SMTP on 25 (classical, with and
 * without SNI): one row and one label set per service, never one per host. */
static void test_agg_services(void)
{
    pqt_obs_agg *a = NULL;
    pqt_obs_stats st;
    char *table = NULL, *prom = NULL;
    size_t n;
    memset(&st, 0, sizeof(st));
    CHECK(pqt_obs_agg_new(NULL, &a) == 0);
    if (a == NULL) {
        return;
    }
    add_service(a, 443, "www.example", PQT_OBS_APP_HTTPS, PQT_GROUP_X25519MLKEM768, 3);
    add_service(a, 25, NULL, PQT_OBS_APP_SMTP, PQT_GROUP_X25519, 2);
    add_service(a, 25, "mail.example", PQT_OBS_APP_SMTP, PQT_GROUP_X25519, 1);
    add_service(a, 25, "mail.example", PQT_OBS_APP_UNKNOWN, PQT_GROUP_X25519, 1);
    FILE *f = open_memstream(&table, &n);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(pqt_obs_agg_write_table(a, &st, f) == 0);
        fclose(f);
    }
    f = open_memstream(&prom, &n);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(pqt_obs_agg_write_prom(a, &st, f) == 0);
        fclose(f);
    }
    CHECK(has_row(table, "192.0.2.7:443 www.example", "https", 3, 3, "100.0"));
    CHECK(has_row(table, "192.0.2.7:25", "smtp", 2, 0, "0.0"));
    /* One service seen as smtp and as unknown says both. */
    CHECK(has_row(table, "192.0.2.7:25 mail.example", "smtp+unknown", 2, 0, "0.0"));
    const char *apps = table ? strstr(table, "Hybrid share by application protocol") : NULL;
    CHECK(apps != NULL && strstr(apps, "\n  smtp ") != NULL && strstr(apps, "\n  https ") != NULL);
    CHECK(prom != NULL &&
          strstr(prom, "pqtls_observe_service_handshakes_total{server=\"192.0.2.7\","
                       "port=\"443\",sni=\"www.example\",app_protocol=\"https\","
                       "group=\"X25519MLKEM768\",outcome=\"completed\"} 3\n"));
    CHECK(prom != NULL &&
          strstr(prom, "pqtls_observe_service_handshakes_total{server=\"192.0.2.7\","
                       "port=\"25\",sni=\"\",app_protocol=\"smtp\","
                       "group=\"x25519\",outcome=\"completed\"} 2\n"));
    CHECK(prom != NULL && strstr(prom, "port=\"25\",sni=\"mail.example\",app_protocol=\"unknown\","
                                       "group=\"x25519\",outcome=\"completed\"} 1\n"));
    free(table);
    free(prom);
    pqt_obs_agg_free(a);
}

/* 60 client families, each seen twice: the first 50 have label values of
 * their own, the other 10 are "other" on both of their handshakes. */
static void test_agg_family_labels(void)
{
    pqt_obs_agg *a = NULL;
    pqt_obs_stats st;
    char *prom = NULL, names[60][16];
    size_t n;
    memset(&st, 0, sizeof(st));
    CHECK(pqt_obs_agg_new(NULL, &a) == 0);
    if (a == NULL) {
        return;
    }
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 60; k++) {
            pqt_obs_handshake hs;
            char sni[32];
            (void)make_hs(0, &hs, sni);
            snprintf(names[k], sizeof(names[k]), "family%02d", k);
            hs.client_family = names[k];
            hs.group = PQT_GROUP_X25519MLKEM768;
            hs.outcome = PQT_OBS_COMPLETED;
            pqt_obs_agg_add(a, &hs);
        }
    }
    FILE *f = open_memstream(&prom, &n);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(pqt_obs_agg_write_prom(a, &st, f) == 0);
        fclose(f);
    }
    int own = 0;
    for (int k = 0; k < 60; k++) {
        char want[128];
        snprintf(want, sizeof(want),
                 "client_family=\"%.15s\",client_library=\"boringssl\",outcome=\"completed\","
                 "offered_pq=\"none\"} 2\n",
                 names[k]);
        own += prom != NULL && strstr(prom, want) != NULL;
    }
    CHECK(own == 50);
    CHECK(prom != NULL && strstr(prom, "client_family=\"other\",client_library=\"boringssl\","
                                       "outcome=\"completed\",offered_pq=\"none\"} 20\n"));
    free(prom);
    pqt_obs_agg_free(a);
}

static char *prom_of(pqt_obs_agg *a)
{
    pqt_obs_stats st;
    char *prom = NULL;
    size_t n;
    memset(&st, 0, sizeof(st));
    FILE *f = open_memstream(&prom, &n);
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(pqt_obs_agg_write_prom(a, &st, f) == 0);
        fclose(f);
    }
    return prom;
}

/* offered_pq: the first post-quantum group of supported_groups (GREASE and
 * classical ones before it skipped), also when no ServerHello came; "none"
 * for a classical list, "unknown" without a ClientHello. */
static void test_agg_offered_pq(void)
{
    static const uint8_t hybrid_list[] = {0x0a, 0x0a, 0x00, 0x1d, 0x11, 0xec, 0x11, 0xeb};
    static const uint8_t classical_list[] = {0x00, 0x1d, 0x00, 0x17};
    pqt_obs_agg *a = NULL;
    CHECK(pqt_obs_agg_new(NULL, &a) == 0);
    if (a == NULL) {
        return;
    }
    for (int k = 0; k < 6; k++) {
        pqt_obs_handshake hs;
        char sni[32];
        (void)make_hs(0, &hs, sni);
        hs.client_family = "Chrome";
        hs.ch.groups = k < 3 ? hybrid_list : classical_list;
        hs.ch.n_groups = k < 3 ? 4 : 2;
        hs.has_ch = k != 5;
        /* Two of each list die before any ServerHello, one completes; the
         * one without a ClientHello has no SNI, so another service. */
        hs.group_source = k == 0 || k == 3 ? PQT_OBS_GROUP_KEY_SHARE : PQT_OBS_GROUP_NONE;
        hs.group = k == 0 ? PQT_GROUP_X25519MLKEM768 : PQT_GROUP_X25519;
        hs.outcome = k == 0 || k == 3 ? PQT_OBS_COMPLETED : PQT_OBS_RESET_AFTER_CH;
        pqt_obs_agg_add(a, &hs);
    }
    char *prom = prom_of(a);
    CHECK(
        prom != NULL &&
        strstr(prom, "\",outcome=\"reset_after_client_hello\",offered_pq=\"X25519MLKEM768\"} 2\n"));
    CHECK(prom != NULL &&
          strstr(prom, "\",outcome=\"completed\",offered_pq=\"X25519MLKEM768\"} 1\n"));
    CHECK(prom != NULL &&
          strstr(prom, "\",outcome=\"reset_after_client_hello\",offered_pq=\"none\"} 1\n"));
    CHECK(prom != NULL &&
          strstr(prom, "\",outcome=\"reset_after_client_hello\",offered_pq=\"unknown\"} 1\n"));
    /* Only the completed handshake has a group; the others are "none". */
    CHECK(prom != NULL && strstr(prom, "pqtls_observe_handshakes_total{group=\"none\"") != NULL &&
          strstr(prom, "pqtls_observe_handshakes_total{group=\"x25519\"") != NULL);
    CHECK(prom != NULL &&
          strstr(prom, "pqtls_observe_service_handshakes_total{server=\"192.0.2.7\",port=\"443\","
                       "sni=\"s000.example\",app_protocol=\"unknown\",group=\"none\","
                       "outcome=\"reset_after_client_hello\"} 3\n"));
    free(prom);
    pqt_obs_agg_free(a);
}

/* --metrics-paths 3: clients in 5 /24s, seen in order 0..4; the first
 * three prefixes have labels of their own, the rest are "other". */
static void test_agg_paths(void)
{
    pqt_obs_output_opts opts;
    memset(&opts, 0, sizeof(opts));
    opts.metrics_paths = 3;
    pqt_obs_agg *a = NULL;
    CHECK(pqt_obs_agg_new(&opts, &a) == 0);
    if (a == NULL) {
        return;
    }
    for (int k = 0; k < 10; k++) {
        pqt_obs_handshake hs;
        char sni[32];
        (void)make_hs(0, &hs, sni);
        hs.client[2] = (uint8_t)(k % 5);
        hs.client[3] = (uint8_t)(10 + k); /* hosts differ, prefixes repeat */
        hs.outcome = PQT_OBS_COMPLETED;
        pqt_obs_agg_add(a, &hs);
    }
    char *prom = prom_of(a);
    int own = 0;
    for (int k = 0; k < 5; k++) {
        char want[160];
        snprintf(want, sizeof(want),
                 "pqtls_observe_path_handshakes_total{client_prefix=\"10.0.%d.0/24\","
                 "offered_pq=\"none\",outcome=\"completed\"} 2\n",
                 k);
        own += prom != NULL && strstr(prom, want) != NULL;
    }
    CHECK(own == 3);
    CHECK(prom != NULL &&
          strstr(prom, "pqtls_observe_path_handshakes_total{client_prefix=\"other\","
                       "offered_pq=\"none\",outcome=\"completed\"} 4\n"));
    free(prom);
    pqt_obs_agg_free(a);
}

int main(void)
{
    test_agg_offered_pq();
    test_agg_paths();
    test_agg_family_labels();
    test_agg_deterministic();
    test_agg_fold();
    test_agg_services();
    printf("test_observe_agg: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
