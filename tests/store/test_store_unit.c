/*
 * store.sqlite (and, from test_store.sh, the same program against
 * PostgreSQL): the store layer through its public API. A new store and a
 * reopened one, a shard rerun replacing its rows, regressions (a stage
 * dropped, a flag gained), new and vanished targets, an incomplete scan
 * never compared, a shard count that does not match, "since last scan",
 * --shard auto from each engine's environment, and errors.
 *
 * usage: test_store_unit URL   (a SQLite path is deleted first; a
 *                                PostgreSQL database must be empty)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqtls/store.h"

static int failures;
#define CHECK(c)                                                         \
    do {                                                                 \
        if (!(c)) {                                                      \
            fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                  \
        }                                                                \
    } while (0)

static const int64_t T0 = 1735689600; /* 2025-01-01 */

static void result(pqt_scan_result *r, const char *host, int stage, unsigned flags)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->target.host, sizeof(r->target.host), "%s", host);
    r->target.port = 443;
    pqt_scan_target_name(&r->target, r->name, sizeof(r->name));
    r->stage = stage;
    r->flags = flags;
}

static void add(pqt_store *s, const char *host, int stage, unsigned flags)
{
    pqt_scan_result r;
    result(&r, host, stage, flags);
    CHECK(pqt_store_add(s, &r) == 0);
}

/* The history report as JSON Lines in a string (the caller frees). */
static char *history(pqt_store *s, pqt_history_summary *sum)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pqt_history_options o = {.format = PQT_HISTORY_JSONL};
    CHECK(pqt_store_history(s, &o, f, sum) == 0);
    fclose(f);
    return buf;
}

static int has(const char *text, const char *needle)
{
    int ok = strstr(text, needle) != NULL;
    if (!ok) {
        fprintf(stderr, "missing: %s\n", needle);
    }
    return ok;
}

static const char *const *fake_env;
static char *fake_getenv(const char *name)
{
    for (const char *const *e = fake_env; *e; e += 2) {
        if (strcmp(e[0], name) == 0) {
            return (char *)e[1];
        }
    }
    return NULL;
}

static int shard(const char *spec, const char *const *env, pqt_store_shard *sh)
{
    char why[300];
    fake_env = env;
    int ret = pqt_store_shard_auto(spec, fake_getenv, sh, why, sizeof(why));
    if (ret != 0) {
        printf("  --shard %s: %s\n", spec, why);
    }
    return ret;
}

static void test_shard_auto(void)
{
    pqt_store_shard sh;
    const char *k8s[] = {"JOB_COMPLETION_INDEX", "3", NULL};
    CHECK(shard("auto", k8s, &sh) == PQT_ERR_SYNTAX); /* no count */
    CHECK(shard("auto/8", k8s, &sh) == 0 && sh.k == 4 && sh.n == 8 && sh.scan_id[0] == 0);
    CHECK(shard("auto/3", k8s, &sh) == PQT_ERR_SYNTAX); /* index 3 is shard 4 of 3 */
    const char *slurm[] = {"SLURM_ARRAY_TASK_ID",
                           "12",
                           "SLURM_ARRAY_TASK_MIN",
                           "10",
                           "SLURM_ARRAY_TASK_STEP",
                           "2",
                           "SLURM_ARRAY_TASK_COUNT",
                           "4",
                           "SLURM_ARRAY_JOB_ID",
                           "77",
                           NULL};
    CHECK(shard("auto", slurm, &sh) == 0 && sh.k == 2 && sh.n == 4 &&
          strcmp(sh.scan_id, "slurm-77") == 0);
    CHECK(shard("auto/5", slurm, &sh) == PQT_ERR_SYNTAX); /* count disagrees */
    const char *slurm_odd[] = {"SLURM_ARRAY_TASK_ID",
                               "13",
                               "SLURM_ARRAY_TASK_MIN",
                               "10",
                               "SLURM_ARRAY_TASK_STEP",
                               "2",
                               "SLURM_ARRAY_TASK_COUNT",
                               "4",
                               NULL};
    CHECK(shard("auto", slurm_odd, &sh) == PQT_ERR_SYNTAX);
    const char *par[] = {"PARALLEL_SEQ", "3", "PARALLEL_PID", "4242", NULL};
    CHECK(shard("auto", par, &sh) == PQT_ERR_SYNTAX);
    CHECK(shard("auto/4", par, &sh) == 0 && sh.k == 3 && sh.n == 4 &&
          strcmp(sh.scan_id, "parallel-4242") == 0);
    CHECK(shard("auto/2", par, &sh) == PQT_ERR_SYNTAX);
    const char *none[] = {NULL};
    CHECK(shard("auto/4", none, &sh) == PQT_ERR_SYNTAX);
    const char *garbage[] = {"JOB_COMPLETION_INDEX", "x1", NULL};
    CHECK(shard("auto/4", garbage, &sh) == PQT_ERR_SYNTAX);
    CHECK(shard("auto/0", k8s, &sh) == PQT_ERR_SYNTAX);
    CHECK(shard("autox", k8s, &sh) == PQT_ERR_SYNTAX);
    CHECK(pqt_store_scan_id_valid("weekly-2025-01.a:b_c"));
    CHECK(!pqt_store_scan_id_valid(""));
    CHECK(!pqt_store_scan_id_valid("a b"));
    CHECK(!pqt_store_scan_id_valid("x'; DROP TABLE scans; --"));
}

int main(int argc, char **argv)
{
    char why[512];
    pqt_store *s = NULL;
    pqt_history_summary sum;
    if (argc != 2) {
        fprintf(stderr, "usage: test_store_unit URL\n");
        return 2;
    }
    const char *url = argv[1];
    int is_pg = strncmp(url, "postgres", 8) == 0;
    if (!is_pg) {
        char side[1024];
        unlink(url);
        snprintf(side, sizeof(side), "%s-wal", url);
        unlink(side);
        snprintf(side, sizeof(side), "%s-shm", url);
        unlink(side);
    }
    test_shard_auto();

    /* Errors: a store that cannot be opened names why. */
    CHECK(pqt_store_open("/nonexistent-dir/x/y.db", &s, why, sizeof(why)) == PQT_ERR_IO);
    CHECK(s == NULL && strstr(why, "/nonexistent-dir/x/y.db") != NULL);

    /* A new store, then the same store reopened. */
    CHECK(pqt_store_open(url, &s, why, sizeof(why)) == 0);
    if (s == NULL) {
        fprintf(stderr, "open %s: %s\n", url, why);
        return 1;
    }
    CHECK(pqt_store_found_version(s) == 0);
    CHECK(strcmp(pqt_store_backend(s), is_pg ? "postgresql" : "sqlite") == 0);
    pqt_scan_result r;
    result(&r, "a.example", 1, 0);
    CHECK(pqt_store_add(s, &r) == PQT_ERR_ARG); /* before begin */
    pqt_store_close(s);
    CHECK(pqt_store_open(url, &s, why, sizeof(why)) == 0);
    CHECK(pqt_store_found_version(s) == PQT_STORE_SCHEMA_VERSION);

    /* Scan s1; then shard 1/1 of s1 rerun: its rows replace the first
     * run's (c vanishes from s1, a is updated, nothing doubles). */
    CHECK(pqt_store_begin(s, "s1", 1, 1, T0) == 0);
    add(s, "a.example", 1, 0);
    add(s, "b.example", 3, 0);
    add(s, "c.example", 0, 0);
    CHECK(pqt_store_finish(s, T0 + 60) == 0);
    CHECK(pqt_store_begin(s, "s1", 1, 1, T0) == 0);
    add(s, "a.example", 2, 0);
    add(s, "b.example", 3, 0);
    add(s, "b.example", 3, 0); /* twice in one batch: written once */
    CHECK(pqt_store_finish(s, T0 + 60) == 0);
    char *h = history(s, &sum);
    CHECK(sum.scans == 1 && sum.targets == 2 && sum.regressions == 0);
    CHECK(has(h, "\"scan\":\"s1\",\"started\":\"2025-01-01T00:00:00Z\",\"finished\":"
                 "\"2025-01-01T00:01:00Z\",\"complete\":true,\"shards\":1,\"shards_done\":1,"
                 "\"targets\":2,\"stages\":{\"none\":0,\"supported\":0,\"preferred\":1,"
                 "\"required\":1}"));
    free(h);

    /* s1 with another shard count is refused with a reason. */
    CHECK(pqt_store_begin(s, "s1", 1, 2, T0) == PQT_ERR_SYNTAX);
    CHECK(strstr(pqt_store_error(s), "shard") != NULL);

    /* s2 a week later: a drops to none, b gains legacy-kyber, d is new. */
    CHECK(pqt_store_begin(s, "s2", 1, 1, T0 + 7 * 86400) == 0);
    add(s, "a.example", 0, 0);
    add(s, "b.example", 3, PQT_FLAG_LEGACY_KYBER);
    add(s, "d.example", 1, 0);
    CHECK(pqt_store_finish(s, T0 + 7 * 86400 + 60) == 0);
    /* s3 is killed half-way: begun, one result, never finished. */
    CHECK(pqt_store_begin(s, "s3", 1, 1, T0 + 14 * 86400) == 0);
    add(s, "a.example", 0, 0);
    char *html = NULL;
    CHECK(pqt_store_since_last_html(s, "s2", 1, 1, &html) == 0);
    CHECK(html != NULL && has(html, "id=\"since-regressions\">2<") &&
          has(html, "id=\"since-new\">1<") && has(html, "id=\"since-prev\">s1<"));
    if (failures) {
        fprintf(stderr, "%s\n", html ? html : "(null)");
    }
    free(html);
    pqt_store_close(s); /* without finish: as if killed */

    CHECK(pqt_store_open(url, &s, why, sizeof(why)) == 0);
    h = history(s, &sum);
    CHECK(sum.scans == 3 && sum.incomplete == 1 && sum.regressions == 2);
    CHECK(strcmp(sum.latest, "s2") == 0);
    CHECK(has(h, "{\"type\":\"regression\",\"scan\":\"s2\",\"previous\":\"s1\",\"target\":"
                 "\"a.example:443\",\"from\":\"preferred\",\"to\":\"none\",\"flags_gained\":[]}"));
    CHECK(has(h, "\"target\":\"b.example:443\",\"from\":\"required\",\"to\":\"required\","
                 "\"flags_gained\":[\"legacy-kyber\"]}"));
    CHECK(has(h, "{\"type\":\"new\",\"scan\":\"s2\",\"previous\":\"s1\",\"target\":"
                 "\"d.example:443\""));
    CHECK(has(h, "\"scan\":\"s3\"") && has(h, "\"complete\":false"));
    /* a: preferred for the week from s1 to s2, then none up to the end of s2 */
    CHECK(has(h, "\"target\":\"a.example:443\",\"first_scan\":\"s1\",\"last_scan\":\"s2\","
                 "\"stage\":\"none\",\"flags\":[],\"seconds_at\":{\"none\":60,\"supported\":0,"
                 "\"preferred\":604800,\"required\":0}"));
    free(h);
    pqt_store_close(s);
    if (failures) {
        fprintf(stderr, "%d check(s) failed (%s)\n", failures, url);
        return 1;
    }
    printf("ok: store against %s\n", is_pg ? "PostgreSQL" : "SQLite");
    return 0;
}
