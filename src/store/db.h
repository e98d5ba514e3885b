/*
 * One small database interface over SQLite (libsqlite3) and PostgreSQL
 * (libpq), so the store's SQL is written once. Statements use $1, $2, ...
 * for parameters (db.c hands them to SQLite as ?1, ?2, ...). Values travel as text both ways; NULL
 * is NULL.
 */
#ifndef PQT_STORE_DB_H
#define PQT_STORE_DB_H

#include <stddef.h>

typedef struct db db;

enum { DB_SQLITE = 1, DB_POSTGRES = 2 };

/* One result row: n columns, each a NUL-terminated string or NULL.
 * Return non-zero to stop (the query then returns that value). */
typedef int (*db_row_fn)(void *ctx, int n, const char *const *values);

/* Open by URL: "postgresql://..." or "postgres://..." is PostgreSQL,
 * "sqlite:PATH" or anything else a SQLite file (created if missing, WAL).
 * On failure why says what and where. */
int pqt_store_db_open(const char *url, db **out, char *why, size_t cap);
void pqt_store_db_close(db *d);
int pqt_store_db_kind(const db *d);
/* The last error message of the database ("" if none). */
const char *pqt_store_db_error(const db *d);

/* Run one statement with nparams text parameters, calling row for every
 * result row (row may be NULL). Rows stream: nothing is held for the whole
 * result. 0 on success, -1 on a database error (db_error). */
int pqt_store_db_query(db *d, const char *sql, int nparams, const char *const *params,
                       db_row_fn row, void *ctx);
/* SQLite only: one statement (no rows) run nrows times, row r with the
 * ncols parameters params[r * ncols ...]: prepared once, the fast way to
 * insert many rows into SQLite. */
int pqt_store_db_query_rows(db *d, const char *sql, int ncols, int nrows,
                            const char *const *params);
/* Several statements, no parameters, no rows. */
int pqt_store_db_exec(db *d, const char *sql);
/* A write transaction: SQLite BEGIN IMMEDIATE (takes the write lock now,
 * so two writers never deadlock upgrading), PostgreSQL BEGIN. */
int pqt_store_db_begin(db *d);
int pqt_store_db_commit(db *d);
void pqt_store_db_rollback(db *d);

#endif
