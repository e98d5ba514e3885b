/* The reports' HTML escaper (pqt_html_escape): markup characters as
 * entities, control bytes as references, UTF-8 kept, other bytes U+FFFD. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "pqtls/html.h"

static int failures;

static void expect(const char *in, const char *want)
{
    char out[512];
    memset(out, 0, sizeof(out));
    FILE *f = fmemopen(out, sizeof(out), "w");
    pqt_html_escape(f, in);
    fclose(f);
    if (strcmp(out, want) != 0) {
        failures++;
        printf("FAIL %s:\n  got  %s\n  want %s\n", in, out, want);
    }
}

int main(void)
{
    expect("plain.example:443", "plain.example:443");
    expect("<script>alert('x') & \"y\"</script>",
           "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
    expect("tab\there\x01\x7f", "tab&#9;here&#1;&#127;");
    /* A UTF-8 name stays as it is: "é" must not become "Ã©". */
    expect("caf\xc3\xa9.example \xf0\x9f\x94\x91", "caf\xc3\xa9.example \xf0\x9f\x94\x91");
    /* Bytes that are not UTF-8: a lone continuation, an overlong form, a
     * truncated sequence at the end, a surrogate. */
    expect("a\x80"
           "b\xc0\xaf"
           "c\xed\xa0\x80"
           "d\xe2\x82",
           "a&#xfffd;b&#xfffd;&#xfffd;c&#xfffd;&#xfffd;&#xfffd;d&#xfffd;&#xfffd;");
    printf("test_html: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures != 0;
}
