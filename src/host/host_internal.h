/* Helpers shared by the files of src/host (not part of the public API). */
#ifndef PQTLS_HOST_INTERNAL_H
#define PQTLS_HOST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/host.h"
#include "pqtls/wire.h"

/* Skip spaces and tabs. */
void pqt_host_skip_blanks(pqt_reader *r);
/* The next run of non-blank bytes (may be empty). */
void pqt_host_token(pqt_reader *r, const uint8_t **tok, size_t *len);
/* A hexadecimal number of 1..16 digits: 0 or PQT_ERR_SYNTAX. */
int pqt_host_hex(const uint8_t *p, size_t n, uint64_t *out);
/* Copy n bytes as a NUL-terminated string, cut to cap - 1 bytes. */
void pqt_host_copy(char *dst, size_t cap, const uint8_t *p, size_t n);
/* Read a whole file of at most max bytes (more: the first max bytes, *cut
 * = 1). 0 or PQT_ERR_IO / PQT_ERR_NOMEM; *data is malloc'd (NUL after). */
int pqt_host_read_file(const char *path, size_t max, uint8_t **data, size_t *len, int *cut);

#endif
