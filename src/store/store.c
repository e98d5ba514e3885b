/*
 * The store: schema and its migrations, and the write path of a scan's
 * shard (begin, batched results, finish). docs/store.md has the tables.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pqtls/common.h"
#include "store_internal.h"

/* ---- schema ----------------------------------------------------------------- */

/*
 * Version 1, the first layout: scans and one row of stage and flags per
 * target. Kept as the first migration, so a new store is built the way
 * every store was, and tests/store makes v1 fixtures with it.
 */
static const char schema_v1[] =
    "CREATE TABLE pqtls_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE scans (scan_id TEXT PRIMARY KEY, started_at BIGINT NOT NULL,\n"
    "  finished_at BIGINT, complete INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE results (scan_id TEXT NOT NULL REFERENCES scans(scan_id),\n"
    "  target TEXT NOT NULL, stage INTEGER NOT NULL, flags INTEGER NOT NULL,\n"
    "  error TEXT, ms INTEGER, PRIMARY KEY (scan_id, target));\n"
    "INSERT INTO pqtls_meta (key, value) VALUES ('schema_version', '1');\n";

/*
 * Version 2: shards (a scan is complete when all its shards are), a run id
 * per shard run (a rerun replaces its rows), targets with their protocol,
 * the certificate facts and the whole pqtls-scan/1 record (probes
 * included) per result, and the index pqtls history reads in target order.
 */
static const char schema_v2[] =
    "CREATE TABLE scan_shards (scan_id TEXT NOT NULL REFERENCES scans(scan_id),\n"
    "  shard INTEGER NOT NULL, shards INTEGER NOT NULL, run TEXT NOT NULL,\n"
    "  started_at BIGINT NOT NULL, finished_at BIGINT, complete INTEGER NOT NULL DEFAULT 0,\n"
    "  targets BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (scan_id, shard));\n"
    "ALTER TABLE scans ADD COLUMN shards INTEGER NOT NULL DEFAULT 1;\n"
    "ALTER TABLE scans ADD COLUMN pqtls_version TEXT;\n"
    "CREATE TABLE targets (target TEXT PRIMARY KEY, host TEXT, port INTEGER, sni TEXT,\n"
    "  protocol TEXT, first_seen BIGINT);\n"
    "ALTER TABLE results ADD COLUMN shard INTEGER NOT NULL DEFAULT 1;\n"
    "ALTER TABLE results ADD COLUMN run TEXT NOT NULL DEFAULT 'v1';\n"
    "ALTER TABLE results ADD COLUMN idx BIGINT;\n"
    "ALTER TABLE results ADD COLUMN address TEXT;\n"
    "ALTER TABLE results ADD COLUMN detail TEXT;\n"
    "ALTER TABLE results ADD COLUMN cert_key TEXT;\n"
    "ALTER TABLE results ADD COLUMN cert_bits INTEGER;\n"
    "ALTER TABLE results ADD COLUMN cert_curve TEXT;\n"
    "ALTER TABLE results ADD COLUMN cert_sig TEXT;\n"
    "ALTER TABLE results ADD COLUMN record TEXT;\n"
    "INSERT INTO scan_shards (scan_id, shard, shards, run, started_at, finished_at, complete,\n"
    "  targets) SELECT s.scan_id, 1, 1, 'v1', s.started_at, s.finished_at, s.complete,\n"
    "  (SELECT count(*) FROM results r WHERE r.scan_id = s.scan_id) FROM scans s;\n"
    "INSERT INTO targets (target, first_seen) SELECT r.target, min(s.started_at)\n"
    "  FROM results r JOIN scans s ON s.scan_id = r.scan_id GROUP BY r.target;\n"
    "CREATE INDEX results_by_target ON results (target, scan_id, stage, flags);\n"
    "CREATE INDEX results_by_shard ON results (scan_id, shard, run);\n"
    "UPDATE pqtls_meta SET value = '2' WHERE key = 'schema_version';\n";

static const char *const migrations[] = {schema_v1, schema_v2};
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static int row_int(void *ctx, int n, const char *const *v)
{
    if (n > 0 && v[0] != NULL) {
        *(long long *)ctx = strtoll(v[0], NULL, 10);
    }
    return 0;
}

static int row_flag(void *ctx, int n, const char *const *v)
{
    (void)n;
    (void)v;
    *(int *)ctx = 1;
    return 0;
}

/* The schema version of the store (0: empty), inside the migration's
 * transaction. -1 on a database error. */
static int schema_version(db *d, int *version)
{
    int exists = 0;
    long long v = 0;
    const char *probe = pqt_store_db_kind(d) == DB_SQLITE
                            ? "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                              "'pqtls_meta'"
                            : "SELECT 1 FROM information_schema.tables WHERE table_schema = "
                              "current_schema() AND table_name = 'pqtls_meta'";
    if (pqt_store_db_query(d, probe, 0, NULL, row_flag, &exists) != 0) {
        return -1;
    }
    if (exists && pqt_store_db_query(d, "SELECT value FROM pqtls_meta WHERE key = 'schema_version'",
                                     0, NULL, row_int, &v) != 0) {
        return -1;
    }
    *version = exists ? (int)v : 0;
    return 0;
}

/* Bring the store to PQT_STORE_SCHEMA_VERSION in one transaction, under
 * the write lock (SQLite) or an advisory lock (PostgreSQL), so shard
 * processes that open a new store at once create it exactly once. */
static int migrate(pqt_store *s, char *why, size_t cap)
{
    int v = 0;
    if (pqt_store_db_begin(s->d) != 0) {
        goto db_fail;
    }
    if (pqt_store_db_kind(s->d) == DB_POSTGRES &&
        pqt_store_db_exec(s->d, "SELECT pg_advisory_xact_lock(7405726)") != 0) {
        goto db_fail_rollback;
    }
    if (schema_version(s->d, &v) != 0) {
        goto db_fail_rollback;
    }
    s->found_version = v;
    if (v > PQT_STORE_SCHEMA_VERSION) {
        pqt_store_db_rollback(s->d);
        snprintf(why, cap,
                 "the store has schema version %d, newer than this pqtls understands (%d): it was "
                 "written by a newer pqtls; use that version (or newer) to read and write it",
                 v, PQT_STORE_SCHEMA_VERSION);
        return PQT_ERR_UNSUPPORTED;
    }
    for (int i = v; i < (int)NMIGRATIONS; i++) {
        if (pqt_store_db_exec(s->d, migrations[i]) != 0) {
            goto db_fail_rollback;
        }
    }
    if (pqt_store_db_commit(s->d) != 0) {
        goto db_fail_rollback;
    }
    return 0;
db_fail_rollback:
    pqt_store_db_rollback(s->d);
db_fail:
    snprintf(why, cap, "cannot prepare the store (schema version %d to %d): %s", v,
             PQT_STORE_SCHEMA_VERSION, pqt_store_db_error(s->d));
    return PQT_ERR_IO;
}

int pqt_store_open(const char *url, pqt_store **out, char *why, size_t cap)
{
    *out = NULL;
    pqt_store *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(why, cap, "out of memory");
        return PQT_ERR_NOMEM;
    }
    if (pqt_store_db_open(url, &s->d, why, cap) != 0) {
        free(s);
        return PQT_ERR_IO;
    }
    int ret = migrate(s, why, cap);
    if (ret != 0) {
        pqt_store_close(s);
        return ret;
    }
    *out = s;
    return 0;
}

void pqt_store_close(pqt_store *s)
{
    if (s == NULL) {
        return;
    }
    pqt_store_db_close(s->d);
    free(s->arena);
    free(s->offs);
    free(s->names);
    free(s);
}

const char *pqt_store_backend(const pqt_store *s)
{
    return pqt_store_db_kind(s->d) == DB_SQLITE ? "sqlite" : "postgresql";
}

const char *pqt_store_error(const pqt_store *s)
{
    return s->msg[0] ? s->msg : pqt_store_db_error(s->d);
}

int pqt_store_found_version(const pqt_store *s)
{
    return s->found_version;
}

void pqt_store_iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- writing a shard ---------------------------------------------------------- */

int pqt_store_begin(pqt_store *s, const char *scan_id, unsigned k, unsigned n, int64_t started)
{
    uint8_t rnd[16];
    char ks[16], ns[16], ts[24];
    long long shards = 0;
    if (scan_id == NULL || scan_id[0] == 0 || strlen(scan_id) >= sizeof(s->scan_id) || k < 1 ||
        k > n) {
        return PQT_ERR_ARG;
    }
    s->msg[0] = 0;
    if (pqt_random_bytes(rnd, sizeof(rnd)) != 0) {
        return PQT_ERR_RANDOM;
    }
    for (int i = 0; i < 16; i++) {
        snprintf(s->run + 2 * i, 3, "%02x", rnd[i]);
    }
    snprintf(s->scan_id, sizeof(s->scan_id), "%s", scan_id);
    s->k = k;
    s->n = n;
    s->started = started != 0 ? started : (int64_t)time(NULL);
    if (s->offs == NULL) {
        s->offs = calloc(STORE_BATCH, sizeof(*s->offs));
        s->names = calloc(STORE_BATCH, sizeof(*s->names));
        if (s->offs == NULL || s->names == NULL) {
            return PQT_ERR_NOMEM;
        }
    }
    snprintf(ks, sizeof(ks), "%u", k);
    snprintf(ns, sizeof(ns), "%u", n);
    snprintf(ts, sizeof(ts), "%" PRId64, s->started);
    const char *p_scan[] = {s->scan_id, ts, ns, PQT_STORE_TOOL_VERSION};
    const char *p_id[] = {s->scan_id};
    const char *p_shard[] = {s->scan_id, ks, ns, s->run, ts};
    if (pqt_store_db_begin(s->d) != 0) {
        return PQT_ERR_IO;
    }
    if (pqt_store_db_query(
            s->d,
            "INSERT INTO scans (scan_id, started_at, shards, pqtls_version) VALUES ($1, $2, "
            "$3, $4) ON CONFLICT (scan_id) DO NOTHING",
            4, p_scan, NULL, NULL) != 0 ||
        pqt_store_db_query(s->d, "SELECT shards FROM scans WHERE scan_id = $1", 1, p_id, row_int,
                           &shards) != 0) {
        goto fail;
    }
    if (shards != (long long)n) {
        pqt_store_db_rollback(s->d);
        snprintf(s->msg, sizeof(s->msg),
                 "scan '%s' was started with %lld shard%s; this process says %u (use one shard "
                 "count for every shard of a scan, or another --scan-id)",
                 s->scan_id, shards, shards == 1 ? "" : "s", n);
        return PQT_ERR_SYNTAX;
    }
    if (pqt_store_db_query(
            s->d,
            "INSERT INTO scan_shards (scan_id, shard, shards, run, started_at, complete) "
            "VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (scan_id, shard) DO UPDATE SET "
            "run = excluded.run, started_at = excluded.started_at, finished_at = NULL, "
            "complete = 0, targets = 0",
            5, p_shard, NULL, NULL) != 0) {
        goto fail;
    }
    /* An earlier scan started later than this shard: keep the earliest start. */
    const char *p_start[] = {ts, s->scan_id};
    if (pqt_store_db_query(
            s->d, "UPDATE scans SET started_at = $1 WHERE scan_id = $2 AND started_at > $1", 2,
            p_start, NULL, NULL) != 0 ||
        pqt_store_db_commit(s->d) != 0) {
        goto fail;
    }
    s->begun = 1;
    s->batch = 0;
    s->arena_len = 0;
    s->written = 0;
    s->last_flush_ms = mono_ms();
    return 0;
fail:
    pqt_store_db_rollback(s->d);
    return PQT_ERR_IO;
}

/* Append a parameter to the arena; *off gets its offset ((size_t)-1: NULL). */
static int put(pqt_store *s, size_t *off, const char *v)
{
    if (v == NULL) {
        *off = (size_t)-1;
        return 0;
    }
    size_t n = strlen(v) + 1;
    if (s->arena_len + n > s->arena_cap) {
        size_t cap = s->arena_cap ? s->arena_cap : 1 << 16;
        while (cap < s->arena_len + n) {
            cap *= 2;
        }
        char *a = realloc(s->arena, cap);
        if (a == NULL) {
            return PQT_ERR_NOMEM;
        }
        s->arena = a;
        s->arena_cap = cap;
    }
    memcpy(s->arena + s->arena_len, v, n);
    *off = s->arena_len;
    s->arena_len += n;
    return 0;
}

static int putf(pqt_store *s, size_t *off, long long v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", v);
    return put(s, off, buf);
}

/* Write "($a, $b, ...)" for row r of ncol columns starting at parameter base. */
static void values_row(FILE *f, unsigned r, unsigned ncol, unsigned *param)
{
    fputs(r ? ",(" : "(", f);
    for (unsigned c = 0; c < ncol; c++) {
        fprintf(f, c ? ",$%u" : "$%u", ++*param);
    }
    fputc(')', f);
}

static const char results_cols[] =
    "scan_id, target, shard, run, idx, stage, flags, error, ms, address, detail, cert_key, "
    "cert_bits, cert_curve, cert_sig, record";
static const char results_update[] =
    " ON CONFLICT (scan_id, target) DO UPDATE SET shard = excluded.shard, run = excluded.run, "
    "idx = excluded.idx, stage = excluded.stage, flags = excluded.flags, error = excluded.error, "
    "ms = excluded.ms, address = excluded.address, detail = excluded.detail, cert_key = "
    "excluded.cert_key, cert_bits = excluded.cert_bits, cert_curve = excluded.cert_curve, "
    "cert_sig = excluded.cert_sig, record = excluded.record";

/* One transaction: the queued results and their targets. */
static int flush(pqt_store *s)
{
    char *sql = NULL;
    size_t sql_len = 0;
    const char **params = NULL;
    int ret = PQT_ERR_IO;
    unsigned nb = s->batch, param = 0;
    int lite = pqt_store_db_kind(s->d) == DB_SQLITE;
    if (nb == 0) {
        return 0;
    }
    params = calloc((size_t)nb * (STORE_RESULT_COLS + STORE_TARGET_COLS), sizeof(*params));
    FILE *f = open_memstream(&sql, &sql_len);
    if (params == NULL || f == NULL) {
        free(params);
        if (f != NULL) {
            fclose(f);
            free(sql);
        }
        return PQT_ERR_NOMEM;
    }
    for (unsigned r = 0; r < nb; r++) {
        for (unsigned c = 0; c < STORE_RESULT_COLS + STORE_TARGET_COLS; c++) {
            size_t off = s->offs[r][c];
            params[r * (STORE_RESULT_COLS + STORE_TARGET_COLS) + c] =
                off == (size_t)-1 ? NULL : s->arena + off;
        }
    }
    /* The results statement takes the first 16 of each row's parameters,
     * the targets statement the other 6: two parameter arrays. */
    const char **pres = calloc((size_t)nb * STORE_RESULT_COLS, sizeof(*pres));
    const char **ptgt = calloc((size_t)nb * STORE_TARGET_COLS, sizeof(*ptgt));
    if (pres == NULL || ptgt == NULL) {
        ret = PQT_ERR_NOMEM;
        goto done;
    }
    for (unsigned r = 0; r < nb; r++) {
        const char **row = params + r * (STORE_RESULT_COLS + STORE_TARGET_COLS);
        memcpy(pres + r * STORE_RESULT_COLS, row, STORE_RESULT_COLS * sizeof(*row));
        memcpy(ptgt + r * STORE_TARGET_COLS, row + STORE_RESULT_COLS,
               STORE_TARGET_COLS * sizeof(*row));
    }
    /* PostgreSQL: one statement of nb rows (one round trip); SQLite: one
     * row's statement, prepared once and run nb times. */
    unsigned rows = lite ? 1 : nb;
    fprintf(f, "INSERT INTO results (%s) VALUES ", results_cols);
    for (unsigned r = 0; r < rows; r++) {
        values_row(f, r, STORE_RESULT_COLS, &param);
    }
    fputs(results_update, f);
    fputc(0, f);
    long tgt_at = ftell(f);
    param = 0;
    fputs("INSERT INTO targets (target, host, port, sni, protocol, first_seen) VALUES ", f);
    for (unsigned r = 0; r < rows; r++) {
        values_row(f, r, STORE_TARGET_COLS, &param);
    }
    fputs(" ON CONFLICT (target) DO NOTHING", f);
    fputc(0, f);
    if (fclose(f) != 0) {
        f = NULL;
        ret = PQT_ERR_NOMEM;
        goto done;
    }
    f = NULL;
    if (pqt_store_db_begin(s->d) != 0) {
        goto done;
    }
    if (lite) {
        ret = pqt_store_db_query_rows(s->d, sql, STORE_RESULT_COLS, (int)nb, pres) != 0 ||
              pqt_store_db_query_rows(s->d, sql + tgt_at, STORE_TARGET_COLS, (int)nb, ptgt) != 0;
    } else {
        ret = pqt_store_db_query(s->d, sql, (int)(nb * STORE_RESULT_COLS), pres, NULL, NULL) != 0 ||
              pqt_store_db_query(s->d, sql + tgt_at, (int)(nb * STORE_TARGET_COLS), ptgt, NULL,
                                 NULL) != 0;
    }
    if (ret != 0 || pqt_store_db_commit(s->d) != 0) {
        ret = PQT_ERR_IO;
        pqt_store_db_rollback(s->d);
        goto done;
    }
    s->written += nb;
    s->batch = 0;
    s->arena_len = 0;
    ret = 0;
done:
    if (f != NULL) {
        fclose(f);
    }
    s->last_flush_ms = mono_ms();
    free(sql);
    free(params);
    free(pres);
    free(ptgt);
    return ret;
}

int pqt_store_add(pqt_store *s, const pqt_scan_result *r)
{
    char *rec = NULL;
    size_t rec_len = 0;
    int ret;
    if (!s->begun) {
        return PQT_ERR_ARG;
    }
    s->msg[0] = 0;
    /* A target twice in one batch: write the first one first (one
     * statement may not update the same row twice). */
    for (unsigned i = 0; i < s->batch; i++) {
        if (strcmp(s->names[i], r->name) == 0) {
            if ((ret = flush(s)) != 0) {
                return ret;
            }
            break;
        }
    }
    FILE *f = open_memstream(&rec, &rec_len);
    if (f == NULL) {
        return PQT_ERR_NOMEM;
    }
    ret = pqt_scan_write_jsonl(f, r);
    if (fclose(f) != 0 || ret != 0) {
        free(rec);
        return ret != 0 ? ret : PQT_ERR_NOMEM;
    }
    if (rec_len > 0 && rec[rec_len - 1] == '\n') {
        rec[rec_len - 1] = 0;
    }
    size_t *o = s->offs[s->batch];
    const pqt_scan_proto_info *pi = pqt_scan_proto_get(r->target.proto);
    const pqt_scan_cert *c = &r->cert;
    ret = 0;
    ret |= put(s, &o[0], s->scan_id);
    ret |= put(s, &o[1], r->name);
    ret |= putf(s, &o[2], (long long)s->k);
    ret |= put(s, &o[3], s->run);
    ret |= putf(s, &o[4], (long long)r->target.index);
    ret |= putf(s, &o[5], (long long)r->stage);
    ret |= putf(s, &o[6], (long long)r->flags);
    ret |= put(s, &o[7], r->error[0] ? r->error : NULL);
    ret |= putf(s, &o[8], (long long)r->ms);
    ret |= put(s, &o[9], r->address[0] ? r->address : NULL);
    ret |= put(s, &o[10], r->detail[0] ? r->detail : NULL);
    ret |= put(s, &o[11], c->seen ? c->key_alg : NULL);
    if (c->seen) {
        ret |= putf(s, &o[12], (long long)c->key_bits);
    } else {
        o[12] = (size_t)-1;
    }
    ret |= put(s, &o[13], c->seen && c->key_curve[0] ? c->key_curve : NULL);
    ret |= put(s, &o[14], c->seen && c->sig_alg[0] ? c->sig_alg : NULL);
    ret |= put(s, &o[15], rec);
    ret |= put(s, &o[16], r->name);
    ret |= put(s, &o[17], r->target.host);
    ret |= putf(s, &o[18], (long long)r->target.port);
    ret |= put(s, &o[19], r->target.sni[0] ? r->target.sni : NULL);
    ret |= put(s, &o[20], pi != NULL ? pi->scheme : "tls");
    ret |= putf(s, &o[21], (long long)s->started);
    free(rec);
    if (ret != 0) {
        return PQT_ERR_NOMEM;
    }
    snprintf(s->names[s->batch], sizeof(s->names[0]), "%s", r->name);
    s->batch++;
    if (s->batch == STORE_BATCH || mono_ms() - s->last_flush_ms >= 2000) {
        return flush(s);
    }
    return 0;
}

int pqt_store_finish(pqt_store *s, int64_t finished)
{
    char ks[16], ts[24], cnt[24];
    int ret;
    if (!s->begun) {
        return PQT_ERR_ARG;
    }
    s->msg[0] = 0; /* an earlier call's message would hide this one's database error */
    if ((ret = flush(s)) != 0) {
        return ret;
    }
    snprintf(ks, sizeof(ks), "%u", s->k);
    snprintf(ts, sizeof(ts), "%" PRId64, finished != 0 ? finished : (int64_t)time(NULL));
    snprintf(cnt, sizeof(cnt), "%lu", s->written);
    const char *p_stale[] = {s->scan_id, ks, s->run};
    const char *p_done[] = {ts, cnt, s->scan_id, ks, s->run};
    const char *p_scan[] = {ts, s->scan_id};
    if (pqt_store_db_begin(s->d) != 0) {
        return PQT_ERR_IO;
    }
    /* Rows an earlier run of this shard wrote and this run did not. */
    if (pqt_store_db_query(s->d,
                           "DELETE FROM results WHERE scan_id = $1 AND shard = $2 AND run <> $3", 3,
                           p_stale, NULL, NULL) != 0 ||
        pqt_store_db_query(
            s->d,
            "UPDATE scan_shards SET finished_at = $1, targets = $2, complete = 1 WHERE "
            "scan_id = $3 AND shard = $4 AND run = $5",
            5, p_done, NULL, NULL) != 0 ||
        pqt_store_db_query(
            s->d,
            "UPDATE scans SET finished_at = $1 WHERE scan_id = $2 AND (finished_at IS NULL "
            "OR finished_at < $1)",
            2, p_scan, NULL, NULL) != 0 ||
        pqt_store_db_commit(s->d) != 0) {
        pqt_store_db_rollback(s->d);
        return PQT_ERR_IO;
    }
    s->begun = 0;
    return 0;
}
