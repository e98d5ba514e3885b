/*
 * Stored results read back as pqt_scan_result values, and what is made of
 * them: `pqtls history --format cbom`, the CycloneDX BOM of the latest
 * complete scan, written by the same writer as `pqtls scan --format cbom`
 * (src/scan/cbom.c). docs/store.md, "CBOM of a stored scan".
 *
 * The rows carry the whole pqtls-scan/1 record (docs/store.md), so the
 * result is rebuilt from it (record.c) rather than from more columns: the
 * record already holds every probe, the columns only what history sorts
 * and counts by, and a schema change would buy nothing the record lacks.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

typedef struct {
    pqt_store *s;
    const char *scan_id;
    pqt_store_result_fn fn;
    void *ctx;
    pqt_store_record *rec;
    int ret;
} reader;

static int row_record(void *ctx, int n, const char *const *v)
{
    reader *rd = ctx;
    const char *why = NULL;
    if (n < 2 || v[0] == NULL) {
        return rd->ret = PQT_ERR_INTERNAL;
    }
    if (v[1] == NULL) {
        snprintf(rd->s->msg, sizeof(rd->s->msg),
                 "scan '%s', target %s: no stored record (a scan kept by a version 1 store); "
                 "scan again to export it",
                 rd->scan_id, v[0]);
        return rd->ret = PQT_ERR_SYNTAX;
    }
    int ret = pqt_store_record_parse(v[1], strlen(v[1]), rd->rec, &why);
    if (ret != 0) {
        snprintf(rd->s->msg, sizeof(rd->s->msg),
                 "scan '%s', target %s: the stored record does not read as " PQT_SCAN_SCHEMA ": %s",
                 rd->scan_id, v[0], why);
        return rd->ret = ret;
    }
    if ((ret = rd->fn(rd->ctx, &rd->rec->result)) != 0) {
        return rd->ret = ret;
    }
    return 0;
}

int pqt_store_scan_results(pqt_store *s, const char *scan_id, pqt_store_result_fn fn, void *ctx)
{
    reader rd = {s, scan_id, fn, ctx, NULL, 0};
    const char *p[] = {scan_id};
    s->msg[0] = 0;
    rd.rec = malloc(sizeof(*rd.rec));
    if (rd.rec == NULL) {
        return PQT_ERR_NOMEM;
    }
    /* Input order across shards: idx counts every target of the input,
     * in a shard or not (cli/scan.c). */
    int q = pqt_store_db_query(
        s->d, "SELECT target, record FROM results WHERE scan_id = $1 ORDER BY idx, target", 1, p,
        row_record, &rd);
    free(rd.rec);
    if (rd.ret != 0) {
        return rd.ret;
    }
    return q != 0 ? PQT_ERR_IO : 0;
}

typedef struct {
    char *id;
    int64_t *started;
    int found;
} latest;

static int row_latest(void *ctx, int n, const char *const *v)
{
    latest *l = ctx;
    if (n < 2 || v[0] == NULL || v[1] == NULL) {
        return -1;
    }
    snprintf(l->id, 128, "%s", v[0]);
    *l->started = strtoll(v[1], NULL, 10);
    l->found = 1;
    return 0;
}

int pqt_store_latest_complete(pqt_store *s, int64_t since, char scan_id[128], int64_t *started)
{
    char ts[24];
    latest l = {scan_id, started, 0};
    snprintf(ts, sizeof(ts), "%" PRId64, since);
    const char *p[] = {ts};
    scan_id[0] = 0;
    *started = 0;
    /* The order pqtls history judges scans in: by start, then id. */
    if (pqt_store_db_query(
            s->d,
            "SELECT s.scan_id, s.started_at FROM scans s WHERE s.started_at >= $1 AND (SELECT "
            "count(*) FROM scan_shards h WHERE h.scan_id = s.scan_id AND h.complete = 1) >= "
            "s.shards ORDER BY s.started_at DESC, s.scan_id DESC LIMIT 1",
            1, p, row_latest, &l) != 0) {
        return PQT_ERR_IO;
    }
    return l.found;
}

typedef struct {
    pqt_scan_cbom *c;
    unsigned long n;
} to_cbom;

static int add_to_cbom(void *ctx, const pqt_scan_result *r)
{
    to_cbom *t = ctx;
    t->n++;
    return pqt_scan_cbom_add(t->c, r);
}

int pqt_store_history_cbom(pqt_store *s, int64_t since, FILE *out, pqt_history_summary *sum)
{
    char id[128];
    int64_t started = 0;
    to_cbom t = {NULL, 0};
    int ret = pqt_store_latest_complete(s, since, id, &started);
    if (ret < 0) {
        return ret;
    }
    if (ret == 0) {
        snprintf(s->msg, sizeof(s->msg), "the store has no complete scan%s to export",
                 since != 0 ? " started since that date" : "");
        return PQT_ERR_ARG;
    }
    /* The scan's start is the earliest start of its shards
     * (pqt_store_begin): the BOM's pqtls:scan.started. */
    if ((ret = pqt_scan_cbom_open(&t.c, out, started)) != 0) {
        return ret;
    }
    ret = pqt_store_scan_results(s, id, add_to_cbom, &t);
    if (ret == 0) {
        ret = pqt_scan_cbom_close(t.c);
    } else {
        /* The document is written whole at close: a scan that could not
         * be read leaves no half BOM behind. */
        pqt_scan_cbom_discard(t.c);
    }
    sum->scans = 1;
    sum->targets = t.n;
    snprintf(sum->latest, sizeof(sum->latest), "%s", id);
    return ret;
}
