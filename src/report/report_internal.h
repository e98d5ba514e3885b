/* Internal to src/report: what the JSON and HTML writers share. */
#ifndef PQTLS_REPORT_INTERNAL_H
#define PQTLS_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (1..4, at most n), or 0 if the
 * bytes there are not one (overlong forms, surrogates and code points
 * above U+10FFFF are not). */
size_t pqt_utf8_len(const uint8_t *s, size_t n);

#endif
