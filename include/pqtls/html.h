/*
 * HTML text for the self-contained reports (src/report/html.c).
 */
#ifndef PQTLS_HTML_H
#define PQTLS_HTML_H

#include <stdio.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write s as HTML text (element content or a double- or single-quoted
 * attribute value): < > & " ' as entities, control characters as numeric
 * references, valid UTF-8 as it is and any other byte as U+FFFD. */
PQT_API void pqt_html_escape(FILE *f, const char *s);

#ifdef __cplusplus
}
#endif
#endif
