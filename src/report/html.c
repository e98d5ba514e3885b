/*
 * Text into HTML (include/pqtls/html.h): the one escaper of the
 * self-contained reports (pqtls scan --format html, pqtls history).
 */
#include <string.h>

#include "pqtls/html.h"
#include "report_internal.h"

void pqt_html_escape(FILE *f, const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        switch (c) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            if (c >= 0x80) {
                /* The page is UTF-8: a valid sequence goes as it is, any
                 * other byte as U+FFFD, never as a Latin-1 guess. */
                size_t l = pqt_utf8_len(p + i, n - i);
                if (l > 0) {
                    fwrite(p + i, 1, l, f);
                    i += l;
                    continue;
                }
                fputs("&#xfffd;", f);
            } else if (c < 0x20 || c == 0x7f) {
                fprintf(f, "&#%u;", c);
            } else {
                fputc(c, f);
            }
        }
        i++;
    }
}
