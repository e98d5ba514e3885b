/*
 * pqtls store: scans kept over time, in a SQLite file (embedded, the
 * default) or a PostgreSQL database (many scanning machines, one store).
 * docs/store.md describes the schema, docs/scale.md the sharded use.
 *
 * A scan has an id shared by all its shards; each shard writes its targets'
 * results in batches, each batch one transaction, and marks itself complete
 * when it finishes. A shard that is killed leaves its committed batches and
 * stays incomplete; a shard that is rerun replaces its rows. pqtls history
 * reads the store back: stage counts over time, regressions, new and
 * vanished targets, time at each stage, the burndown to `required`.
 */
#ifndef PQTLS_STORE_H
#define PQTLS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pqtls/err.h"
#include "pqtls/scan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema this pqtls writes. Older stores are migrated in place when
 * opened; a newer one is refused (PQT_ERR_UNSUPPORTED). */
#define PQT_STORE_SCHEMA_VERSION 2

typedef struct pqt_store pqt_store;

/*
 * Open (and create, and migrate) a store: "postgresql://..." or
 * "postgres://..." is a PostgreSQL database (libpq connection URI), a
 * path or "sqlite:PATH" a SQLite file. On failure *out is NULL and why
 * says what went wrong (PQT_ERR_IO: cannot open or query;
 * PQT_ERR_UNSUPPORTED: the store's schema is newer than this pqtls).
 */
PQT_API PQT_MUST_CHECK int pqt_store_open(const char *url, pqt_store **out, char *why, size_t cap);
PQT_API void pqt_store_close(pqt_store *s);
/* "sqlite" or "postgresql". */
PQT_API const char *pqt_store_backend(const pqt_store *s);
/* The last database error ("" if none). */
PQT_API const char *pqt_store_error(const pqt_store *s);
/* The schema version found when the store was opened (0: a new store),
 * before any migration. */
PQT_API int pqt_store_found_version(const pqt_store *s);

/*
 * Start writing shard k of n of scan scan_id (n = 1: an unsharded scan),
 * started at the unix time `started` (0: now). Creates the scan if no
 * shard did yet; marks this shard running (incomplete) with a fresh run
 * id, so a rerun shard's rows replace the earlier run's.
 */
PQT_API PQT_MUST_CHECK int pqt_store_begin(pqt_store *s, const char *scan_id, unsigned k,
                                           unsigned n, int64_t started);
/* Queue one result; batches are written as one transaction each (every
 * 200 results, or when 2 s have passed since the last write). */
PQT_API PQT_MUST_CHECK int pqt_store_add(pqt_store *s, const pqt_scan_result *r);
/* Write what is queued, drop rows of earlier runs of this shard, mark the
 * shard complete (at `finished`, 0: now). */
PQT_API PQT_MUST_CHECK int pqt_store_finish(pqt_store *s, int64_t finished);

/* ---- shards from a job engine ------------------------------------------------ */

/* getenv's signature (tests pass their own environment). */
typedef char *(*pqt_getenv_fn)(const char *name);

typedef struct {
    unsigned k, n;      /* shard k of n, 1-based */
    const char *engine; /* "kubernetes", "slurm", "parallel" */
    char scan_id[128];  /* derived from the engine's job id, "" if it has none */
} pqt_store_shard;

/*
 * `--shard auto` or `--shard auto/N`: the shard from the job-array index
 * in the environment, first found of
 *   JOB_COMPLETION_INDEX  Kubernetes Indexed Job, 0-based; N from auto/N
 *   SLURM_ARRAY_TASK_ID   Slurm array: k = (ID - SLURM_ARRAY_TASK_MIN) /
 *                         SLURM_ARRAY_TASK_STEP + 1, N = SLURM_ARRAY_TASK_COUNT;
 *                         scan id "slurm-$SLURM_ARRAY_JOB_ID"
 *   PARALLEL_SEQ          GNU parallel, 1-based; N from auto/N;
 *                         scan id "parallel-$PARALLEL_PID"
 * PQT_ERR_SYNTAX with why on anything missing or inconsistent.
 */
PQT_API PQT_MUST_CHECK int pqt_store_shard_auto(const char *spec, pqt_getenv_fn get,
                                                pqt_store_shard *out, char *why, size_t cap);
/* 1 if id is a usable scan id: 1 to 100 of [A-Za-z0-9._:-]. */
PQT_API int pqt_store_scan_id_valid(const char *id);

/* ---- history -------------------------------------------------------------- */

typedef enum {
    PQT_HISTORY_TABLE = 0,
    PQT_HISTORY_JSONL = 1,
    PQT_HISTORY_CSV = 2,
    PQT_HISTORY_HTML = 3,
    /* The latest complete scan as a CycloneDX 1.7 BOM (pqt_scan_cbom):
     * the document `pqtls scan --format cbom` writes for the same results,
     * rebuilt from the stored records (pqt_store_record_parse). */
    PQT_HISTORY_CBOM = 4,
} pqt_history_format;

typedef struct {
    int64_t since; /* only scans started at or after this unix time (0: all) */
    int format;    /* pqt_history_format */
    int64_t now;   /* the report's time (0: now); time at a stage runs to it */
} pqt_history_options;

typedef struct {
    unsigned long scans;       /* scans in the report */
    unsigned long incomplete;  /* of them, not every shard finished */
    unsigned long targets;     /* distinct targets */
    unsigned long regressions; /* in the latest complete scan, against the one before */
    char latest[128];          /* id of the latest complete scan ("" if none) */
} pqt_history_summary;

/*
 * Write the history report. With PQT_HISTORY_CBOM it is the BOM of the
 * latest complete scan started at or after `since` (sum->latest its id,
 * sum->targets its results, no regressions judged); PQT_ERR_ARG with
 * pqt_store_error saying so when the store has no such scan. Memory is bounded by the number of
 * scans, not by targets x scans: results are read ordered by target and each target's rows are
 * folded in as they stream past (lists that may grow with the targets go through temporary files).
 * Regressions, new and vanished targets compare each complete scan with the complete scan before
 * it; incomplete scans are listed and counted, never compared.
 */
PQT_API PQT_MUST_CHECK int pqt_store_history(pqt_store *s, const pqt_history_options *o, FILE *out,
                                             pqt_history_summary *sum);

/*
 * The "since last scan" section of `pqtls scan --format html`: scan_id
 * compared with the latest complete scan before it, for the targets this
 * shard (k of n) scanned. *html is malloc'ed (the caller frees); it is ""
 * when the store has no earlier scan.
 */
PQT_API PQT_MUST_CHECK int pqt_store_since_last_html(pqt_store *s, const char *scan_id, unsigned k,
                                                     unsigned n, char **html);

/* ---- stored results read back -------------------------------------------------- */

/*
 * A pqtls-scan/1 JSON Lines record (what pqt_scan_write_jsonl writes and
 * the store keeps per result) read back into the result it was written
 * from: target, protocol and dialogue, address, SNI, line, index, stage,
 * flags, error, detail, ms, the certificate facts and every probe run
 * (outcome, group, version, cipher, alert, verified, retried, error,
 * detail, bytes, ms, attempts). Not in the record, so left 0: the probes'
 * broken, in_dialogue and banner (their verdicts are in error, stage and
 * flags), host_is_ip. The probes' error strings point into probe_error:
 * use the record where it was filled, do not copy it.
 */
typedef struct {
    pqt_scan_result result;
    char probe_error[PQT_PROBE_COUNT][64];
} pqt_store_record;

/*
 * Parse len bytes of one record (no newline needed) through a bounded
 * reader (src/store/record.c says what it accepts). PQT_ERR_SYNTAX or
 * PQT_ERR_TRUNCATED with *why (static text) on anything this pqtls would
 * not have written; *out is zeroed then.
 */
PQT_API PQT_MUST_CHECK int pqt_store_record_parse(const char *json, size_t len,
                                                  pqt_store_record *out, const char **why);

/* Called for each result read back; non-zero stops the reading and is
 * returned. */
typedef int (*pqt_store_result_fn)(void *ctx, const pqt_scan_result *r);

/*
 * The results of scan scan_id in input order (every shard's, by index),
 * each rebuilt from its stored record. A result without a record (a
 * version 1 store's) or one that does not parse fails the reading with
 * PQT_ERR_SYNTAX, pqt_store_error naming the target and why.
 */
PQT_API PQT_MUST_CHECK int pqt_store_scan_results(pqt_store *s, const char *scan_id,
                                                  pqt_store_result_fn fn, void *ctx);

/*
 * The latest complete scan (all shards finished) started at or after
 * since: 1 with its id and start time, 0 if there is none, negative on a
 * database error.
 */
PQT_API PQT_MUST_CHECK int pqt_store_latest_complete(pqt_store *s, int64_t since, char scan_id[128],
                                                     int64_t *started);

#ifdef __cplusplus
}
#endif
#endif
