/*
 * Unit tests for src/observe/agg.c, the summary table and the Prometheus
 * exposition: the map slots come from a hash under a random per-run key,
 * so the tests assert what a user sees does not depend on them. Two
 * aggregates (two keys) fed the same handshakes in opposite orders write
 * byte-identical tables and expositions; rows are ordered by count, then
 * by name; past the map's capacity (2048 keys) further servers are folded
 * into "(other)".
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/observe.h"

#include "obs_check.h"

#define N_HS (600 * 7)

static const char *const families[] = {"Chrome", "Firefox", "curl/OpenSSL"};

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
    hs->group_source = PQT_OBS_GROUP_KEY_SHARE;
    hs->group = i % 4 == 0 ? PQT_GROUP_X25519 : PQT_GROUP_X25519MLKEM768;
    hs->outcome = i % 5 == 0 ? PQT_OBS_ALERT : PQT_OBS_COMPLETED;
    hs->hrr = i % 11 == 0;
    hs->hrr_group = hs->hrr ? PQT_GROUP_X25519MLKEM768 : 0;
    return round <= server % 7;
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
    CHECK(p1 != NULL && p2 != NULL && strcmp(p1, p2) == 0);
    /* The server section: 20 rows by count, descending, ties by name;
     * servers 6, 13, 20, ... are the ones seen 7 times. */
    const char *sec = t1 ? strstr(t1, "Hybrid share by server") : NULL;
    CHECK(sec != NULL);
    if (sec != NULL) {
        const char *line = strchr(sec, '\n') + 1;
        line = strchr(line, '\n') + 1; /* the column titles */
        char prev_name[64] = "";
        unsigned long long prev_count = ~0ull;
        int rows = 0, ordered = 1;
        for (; strncmp(line, "  s", 3) == 0; line = strchr(line, '\n') + 1) {
            char name[64];
            unsigned long long count;
            if (sscanf(line, " %63s %llu", name, &count) != 2) {
                break;
            }
            if (count > prev_count || (count == prev_count && strcmp(name, prev_name) <= 0)) {
                ordered = 0;
            }
            if (rows == 0) {
                CHECK(strcmp(name, "s006.example") == 0 && count == 7);
            }
            snprintf(prev_name, sizeof(prev_name), "%s", name);
            prev_count = count;
            rows++;
        }
        CHECK(rows == 20 && ordered);
        CHECK(strncmp(line, "  (580 more not shown)\n", 23) == 0);
    }
    /* The exposition counts by group, family and outcome. */
    CHECK(p1 != NULL && strstr(p1, "pqtls_observe_handshakes_total{group=\"X25519MLKEM768\","
                                   "client_family=\"Chrome\",outcome=\"completed\"}") != NULL);
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
    CHECK(other != NULL && sscanf(other + 10, "%llu", &count) == 1 && count == 3000 - 2048);
    CHECK(table != NULL && strstr(table, "  (2029 more not shown)\n") != NULL);
    free(table);
    pqt_obs_agg_free(a);
}

int main(void)
{
    test_agg_deterministic();
    test_agg_fold();
    printf("test_observe_agg: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
