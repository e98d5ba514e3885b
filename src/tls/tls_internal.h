/*
 * Internals of the TLS layer shared between its files and its white-box
 * tests. Not installed; nothing here is exported.
 */
#ifndef PQTLS_TLS_INTERNAL_H
#define PQTLS_TLS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/hello.h"

/* SHA-256 of p[0..n) through libcrypto (JA4's hashes, ja4.c); 0, or
 * PQT_ERR_CRYPTO_LIB with md zeroed. */
int pqt_tls_sha256(const uint8_t *p, size_t n, uint8_t md[32]);

/* An extensions block (u16-prefixed) split into (type, data), up to
 * PQT_HELLO_MAX_EXTENSIONS (PQT_ERR_LENGTH past that); the reader must
 * end with it (PQT_ERR_TRAILING). An empty reader is an omitted block
 * (TLS 1.2 hellos): 0 extensions. */
int pqt_tls_parse_extensions(pqt_reader *r, pqt_tls_extension *ext, size_t *n_ext);

#endif
