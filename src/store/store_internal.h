/* Inside src/store: the store object shared by store.c and history.c. */
#ifndef PQT_STORE_INTERNAL_H
#define PQT_STORE_INTERNAL_H

#include "db.h"
#include "pqtls/store.h"

/* Results queued before one transaction writes them. */
#define STORE_BATCH 200
#define STORE_RESULT_COLS 16
#define STORE_TARGET_COLS 6

struct pqt_store {
    db *d;
    int found_version;
    char msg[256]; /* the store's own last error, "" if none */
    /* the shard being written */
    char scan_id[128];
    char run[33];
    unsigned k, n;
    int begun;
    int64_t started;
    /* the batch: parameters as offsets into arena */
    char *arena;
    size_t arena_len, arena_cap;
    size_t (*offs)[STORE_RESULT_COLS + STORE_TARGET_COLS]; /* (size_t)-1: NULL */
    unsigned batch;
    char (*names)[2 * PQT_SCAN_HOST_MAX + 16];
    uint64_t last_flush_ms;
    unsigned long written;
};

/* pqt_store_history with PQT_HISTORY_CBOM (export.c). */
int pqt_store_history_cbom(pqt_store *s, int64_t since, FILE *out, pqt_history_summary *sum);

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void pqt_store_iso_time(int64_t t, char out[32]);

#endif
