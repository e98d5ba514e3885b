/* The database interface of db.h over libsqlite3 and libpq. */
#define _GNU_SOURCE
#include "db.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db {
    int kind;
    sqlite3 *lite;
    PGconn *pg;
    char err[512];
};

static void set_err(db *d, const char *what, const char *msg)
{
    size_t n;
    snprintf(d->err, sizeof(d->err), "%s: %s", what, msg != NULL ? msg : "unknown error");
    n = strlen(d->err);
    while (n > 0 && (d->err[n - 1] == '\n' || d->err[n - 1] == ' ')) {
        d->err[--n] = 0;
    }
}

static int is_pg_url(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

static int open_sqlite(db *d, const char *path, char *why, size_t cap)
{
    /* SQLite: WAL lets readers run beside the one writer and many shard
     * processes take turns at the write lock; busy_timeout makes a writer
     * wait for the lock instead of failing (8 writers, tests/store).
     * synchronous=NORMAL in WAL keeps every committed transaction across a
     * killed process (only a power cut may lose the last ones). */
    int rc = sqlite3_open_v2(path, &d->lite, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(why, cap, "cannot open SQLite store '%s': %s", path,
                 d->lite ? sqlite3_errmsg(d->lite) : sqlite3_errstr(rc));
        return -1;
    }
    sqlite3_busy_timeout(d->lite, 120000);
    if (pqt_store_db_exec(d, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                             "PRAGMA foreign_keys=ON;") != 0) {
        snprintf(why, cap, "SQLite store '%s': %s", path, d->err);
        return -1;
    }
    return 0;
}

static int open_pg(db *d, const char *url, char *why, size_t cap)
{
    d->pg = PQconnectdb(url);
    if (d->pg == NULL || PQstatus(d->pg) != CONNECTION_OK) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", d->pg ? PQerrorMessage(d->pg) : "out of memory");
        msg[strcspn(msg, "\n")] = 0;
        /* the URL may hold a password: name the store without it */
        snprintf(why, cap, "cannot connect to the PostgreSQL store: %s", msg);
        return -1;
    }
    /* Notices (e.g. "relation already exists, skipping") are not errors. */
    if (pqt_store_db_exec(d, "SET client_min_messages = warning") != 0) {
        snprintf(why, cap, "PostgreSQL store: %s", d->err);
        return -1;
    }
    return 0;
}

int pqt_store_db_open(const char *url, db **out, char *why, size_t cap)
{
    *out = NULL;
    db *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    int rc;
    if (is_pg_url(url)) {
        d->kind = DB_POSTGRES;
        rc = open_pg(d, url, why, cap);
    } else {
        d->kind = DB_SQLITE;
        rc = open_sqlite(d, strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url, why, cap);
    }
    if (rc != 0) {
        pqt_store_db_close(d);
        return -1;
    }
    *out = d;
    return 0;
}

void pqt_store_db_close(db *d)
{
    if (d == NULL) {
        return;
    }
    if (d->lite != NULL) {
        sqlite3_close(d->lite);
    }
    if (d->pg != NULL) {
        PQfinish(d->pg);
    }
    free(d);
}

int pqt_store_db_kind(const db *d)
{
    return d->kind;
}

const char *pqt_store_db_error(const db *d)
{
    return d->err;
}

/* Prepare for SQLite: "$N" becomes "?N" (the parameter numbered N; the
 * store's SQL has no '$' in its literals). */
static int prepare_sqlite(db *d, const char *sql, sqlite3_stmt **st)
{
    char *lite_sql = strdup(sql);
    if (lite_sql == NULL) {
        set_err(d, "SQLite", "out of memory");
        return -1;
    }
    for (char *p = lite_sql; (p = strchr(p, '$')) != NULL; p++) {
        *p = '?';
    }
    int rc = sqlite3_prepare_v2(d->lite, lite_sql, -1, st, NULL);
    free(lite_sql);
    if (rc != SQLITE_OK) {
        set_err(d, "SQLite", sqlite3_errmsg(d->lite));
        return -1;
    }
    return 0;
}

static int bind_sqlite(db *d, sqlite3_stmt *st, int nparams, const char *const *params)
{
    for (int i = 0; i < nparams; i++) {
        int rc = params[i] == NULL ? sqlite3_bind_null(st, i + 1)
                                   : sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
        if (rc != SQLITE_OK) {
            set_err(d, "SQLite", sqlite3_errmsg(d->lite));
            return -1;
        }
    }
    return 0;
}

int pqt_store_db_query_rows(db *d, const char *sql, int ncols, int nrows, const char *const *params)
{
    sqlite3_stmt *st = NULL;
    int ret = 0;
    d->err[0] = 0;
    if (d->kind != DB_SQLITE) {
        set_err(d, "PostgreSQL", "query_rows is for SQLite");
        return -1;
    }
    if (prepare_sqlite(d, sql, &st) != 0) {
        return -1;
    }
    for (int r = 0; r < nrows && ret == 0; r++) {
        if (bind_sqlite(d, st, ncols, params + (size_t)r * (size_t)ncols) != 0) {
            ret = -1;
        } else if (sqlite3_step(st) != SQLITE_DONE) {
            set_err(d, "SQLite", sqlite3_errmsg(d->lite));
            ret = -1;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return ret;
}

static int query_sqlite(db *d, const char *sql, int nparams, const char *const *params,
                        db_row_fn row, void *ctx)
{
    sqlite3_stmt *st = NULL;
    const char *vals[64];
    int ret = 0;
    if (prepare_sqlite(d, sql, &st) != 0) {
        return -1;
    }
    if (sqlite3_bind_parameter_count(st) != nparams) {
        set_err(d, "SQLite", "parameter count mismatch");
        sqlite3_finalize(st);
        return -1;
    }
    if (bind_sqlite(d, st, nparams, params) != 0) {
        sqlite3_finalize(st);
        return -1;
    }
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            break;
        }
        if (rc != SQLITE_ROW) {
            set_err(d, "SQLite", sqlite3_errmsg(d->lite));
            ret = -1;
            break;
        }
        int n = sqlite3_column_count(st);
        if (n > 64) {
            n = 64;
        }
        for (int i = 0; i < n; i++) {
            vals[i] = (const char *)sqlite3_column_text(st, i);
        }
        if (row != NULL && (ret = row(ctx, n, vals)) != 0) {
            break;
        }
    }
    sqlite3_finalize(st);
    return ret;
}

static int query_pg(db *d, const char *sql, int nparams, const char *const *params, db_row_fn row,
                    void *ctx)
{
    const char *vals[64];
    int ret = 0;
    PGresult *res;
    if (!PQsendQueryParams(d->pg, sql, nparams, NULL, params, NULL, NULL, 0)) {
        set_err(d, "PostgreSQL", PQerrorMessage(d->pg));
        return -1;
    }
    /* Single-row mode: rows arrive one by one, memory stays bounded for
     * pqtls history over a million rows. */
    PQsetSingleRowMode(d->pg);
    while ((res = PQgetResult(d->pg)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_SINGLE_TUPLE && ret == 0 && row != NULL) {
            int n = PQnfields(res);
            if (n > 64) {
                n = 64;
            }
            for (int i = 0; i < n; i++) {
                vals[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
            }
            ret = row(ctx, n, vals);
        } else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK &&
                   ret == 0) {
            set_err(d, "PostgreSQL", PQresultErrorMessage(res));
            ret = -1;
        }
        PQclear(res);
    }
    return ret;
}

int pqt_store_db_query(db *d, const char *sql, int nparams, const char *const *params,
                       db_row_fn row, void *ctx)
{
    d->err[0] = 0;
    if (d->kind == DB_SQLITE) {
        return query_sqlite(d, sql, nparams, params, row, ctx);
    }
    return query_pg(d, sql, nparams, params, row, ctx);
}

int pqt_store_db_exec(db *d, const char *sql)
{
    d->err[0] = 0;
    if (d->kind == DB_SQLITE) {
        char *msg = NULL;
        if (sqlite3_exec(d->lite, sql, NULL, NULL, &msg) != SQLITE_OK) {
            set_err(d, "SQLite", msg != NULL ? msg : sqlite3_errmsg(d->lite));
            sqlite3_free(msg);
            return -1;
        }
        return 0;
    }
    PGresult *res = PQexec(d->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int ret = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        set_err(d, "PostgreSQL", PQresultErrorMessage(res));
        ret = -1;
    }
    PQclear(res);
    return ret;
}

int pqt_store_db_begin(db *d)
{
    return pqt_store_db_exec(d, d->kind == DB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN");
}

int pqt_store_db_commit(db *d)
{
    return pqt_store_db_exec(d, "COMMIT");
}

void pqt_store_db_rollback(db *d)
{
    char keep[sizeof(d->err)];
    memcpy(keep, d->err, sizeof(keep));
    (void)pqt_store_db_exec(d, "ROLLBACK");
    memcpy(d->err, keep, sizeof(keep));
}
