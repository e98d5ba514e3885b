/*
 * Fuzz the client family rules (src/observe/family.c): the rules-file
 * reader and the feature matcher.
 *
 * Input: a rules text up to the first 0x00 byte (loaded like a --families
 * file, before the built-in entries), then a ClientHello body (after the
 * handshake header) in an exact-size buffer. Without a 0x00 byte the whole
 * input is the rules text and only the reader runs.
 *
 * Properties: nothing crashes or reads outside the input; a rules text
 * that is refused names a line within it (1 .. lines + 1) and leaves the
 * built-in entries working; the hello, when it parses, gets a library from
 * the table, a family name, and a basis consistent with them (none: the
 * library unknown and the family "unknown"), the same with and without the
 * user text when the user text adds nothing; the JA4-only lookup agrees
 * with a JA4 entry's match.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/hello.h"
#include "pqtls/ja4.h"
#include "pqtls/observe.h"

static void classify_checked(const pqt_obs_families *f, const pqt_client_hello *ch, const char *ja4,
                             pqt_obs_family_match *m)
{
    pqt_obs_family_classify(f, ch, ja4, m);
    FUZZ_CHECK((unsigned)m->library < PQT_OBS_N_LIBRARIES);
    FUZZ_CHECK(m->family != NULL && m->family[0] != 0 && strlen(m->family) < 64);
    FUZZ_CHECK(m->basis == PQT_OBS_BASIS_NONE || m->basis == PQT_OBS_BASIS_JA4 ||
               m->basis == PQT_OBS_BASIS_FEATURES);
    if (m->basis == PQT_OBS_BASIS_NONE) {
        FUZZ_CHECK(m->library == PQT_OBS_LIB_UNKNOWN && strcmp(m->family, "unknown") == 0);
    }
    if (m->basis == PQT_OBS_BASIS_JA4) {
        FUZZ_CHECK(ja4 != NULL && strcmp(pqt_obs_family(f, ja4), m->family) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *zero = memchr(data, 0, size);
    size_t text_len = zero != NULL ? (size_t)(zero - data) : size;
    unsigned lines = 1;
    for (size_t i = 0; i < text_len; i++) {
        lines += data[i] == '\n';
    }

    pqt_obs_families *builtin = NULL, *f = NULL;
    FUZZ_CHECK(pqt_obs_families_new(&builtin) == 0);
    FUZZ_CHECK(pqt_obs_families_new(&f) == 0);
    size_t nj0 = 0, nr0 = 0, nj = 0, nr = 0;
    pqt_obs_families_count(builtin, &nj0, &nr0);
    unsigned bad = 0;
    /* the text in a buffer of its own size, so an over-read is seen */
    char *text = malloc(text_len + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, text_len);
    int ret = pqt_obs_families_load_text(f, text, text_len, &bad);
    free(text);
    FUZZ_CHECK(ret == 0 || ret == PQT_ERR_SYNTAX);
    FUZZ_CHECK(ret == 0 ? bad == 0 : (bad >= 1 && bad <= lines));
    pqt_obs_families_count(f, &nj, &nr);
    FUZZ_CHECK(nj >= nj0 && nr >= nr0);

    if (zero != NULL) {
        size_t n = size - text_len - 1;
        uint8_t *body = malloc(n ? n : 1);
        FUZZ_CHECK(body != NULL);
        memcpy(body, zero + 1, n);
        pqt_client_hello ch;
        if (pqt_hello_parse_client(body, n, &ch) == 0) {
            char ja4[PQT_JA4_SIZE], ja4_r[1024];
            if (pqt_ja4(&ch, PQT_JA4_TCP, ja4, ja4_r, sizeof(ja4_r)) != 0) {
                ja4[0] = 0;
            }
            pqt_obs_family_match a, b;
            classify_checked(builtin, &ch, ja4, &a);
            classify_checked(f, &ch, ja4, &b);
            if (nj == nj0 && nr == nr0) {
                /* nothing was added: the same answer */
                FUZZ_CHECK(a.library == b.library && a.basis == b.basis &&
                           strcmp(a.family, b.family) == 0);
            }
            classify_checked(f, &ch, NULL, &b);
            FUZZ_CHECK(b.basis != PQT_OBS_BASIS_JA4);
        }
        free(body);
    }
    pqt_obs_families_free(builtin);
    pqt_obs_families_free(f);
    return 0;
}
