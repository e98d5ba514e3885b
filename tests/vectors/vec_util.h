/*
 * Shared helpers for the standard-vector harnesses in tests/vectors/: hex
 * decoding, JSON field access (jansson), file and line reading, the loop
 * over ML-KEM backends, and pass/fail/skip bookkeeping.
 *
 * The harnesses read vectors from ../shared/vectors (CMake cache variable
 * PQT_SHARED_DIR); nothing here is copied into the repository.
 */
#ifndef PQT_TESTS_VEC_UTIL_H
#define PQT_TESTS_VEC_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pqtls/mlkem.h"

/* An owned byte string; decode errors are reported, never silently empty. */
typedef struct {
    uint8_t *p;
    size_t len;
} vec_buf;

/* Counts for one vector file on one backend. */
typedef struct {
    unsigned pass, fail, skip;
    unsigned total; /* records seen in the file */
} vec_count;

/* Decode lower- or upper-case hex of even length into a fresh buffer. 0 or -1. */
int vec_hex_decode(vec_buf *out, const char *hex);
void vec_buf_free(vec_buf *b);

/*
 * Failure reporting with a context ("file tcId=.. ML-KEM-768 encaps") set
 * once per record: vec_fail prints "    FAIL <context>: <message>".
 */
__attribute__((format(printf, 1, 2))) void vec_set_ctx(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void vec_fail(const char *fmt, ...);
/* 1 if rc == want, else reports (with error names) and returns 0. */
int vec_expect_rc(const char *what, int rc, int want);
/* 1 if equal, else reports both values and returns 0. */
int vec_expect_bytes(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                     size_t want_len);

/* Print "label: got <hex> expected <hex>" (shortened for long values). */
void vec_print_mismatch(const char *label, const uint8_t *got, size_t got_len, const uint8_t *want,
                        size_t want_len);

/* 1 if the two byte strings are equal (public test data, so memcmp is fine). */
int vec_eq(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* 1 if all n bytes are zero. */
int vec_all_zero(const uint8_t *p, size_t n);

/* Path helpers: snprintf into buf, returning 0 or -1 on truncation. */
int vec_path(char *buf, size_t size, const char *dir, const char *name);

/* 1 if path is an existing directory / regular file. */
int vec_is_dir(const char *path);
/* 1 if path is a directory, else prints the FAIL line naming PQT_SHARED_DIR and returns 0. */
int vec_require_dir(const char *path);
int vec_is_file(const char *path);

/* Load a JSON file; prints the parse error and returns NULL on failure. */
json_t *vec_json_load(const char *path);

/* Hex field `key` of object obj into out. -1 (with a message) if absent or bad. */
int vec_json_hex(json_t *obj, const char *key, vec_buf *out);
/* String field or NULL. */
const char *vec_json_str(json_t *obj, const char *key);
/* Integer field, or -1 if absent. */
long long vec_json_int(json_t *obj, const char *key);

/*
 * The backends to run: every backend this build and CPU can run, portable
 * always first. Fills list (size >= 2) and returns the count. Prints a line
 * for each backend that is not available, so a skipped backend is visible.
 */
unsigned vec_backends(pqt_backend list[2]);
/* pqt_mlkem_set_backend + a check that it took effect. 0 or -1. */
int vec_use_backend(pqt_backend b);

/* "name [backend]: P passed, F failed, S skipped (T total)" */
void vec_summary(const char *name, pqt_backend b, const vec_count *c);

/* 1 if an encoded ek (k polynomials, ByteEncode12) has a coefficient >= q.
 * An independent re-statement of the FIPS 203 §7.2 check, used to classify
 * invalid vectors, not to test the library against itself. */
int vec_ek_has_overflow(const uint8_t *ek, size_t ek_len, unsigned k);

#endif
