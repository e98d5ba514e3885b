/*
 * Client families by JA4: a built-in table seeded from captures of real
 * clients (each entry names its source), extended by --families FILE.
 * Entries are matched in order, user entries first; an entry ending in '*'
 * matches every JA4 with that prefix.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/observe.h"

#define FAMILY_MAX_NAME 48

typedef struct {
    char pattern[PQT_JA4_SIZE + 1];
    char family[FAMILY_MAX_NAME];
} family_entry;

struct pqt_obs_families {
    family_entry *e;
    size_t n, cap;
    size_t n_user; /* the first n_user entries came from files */
};

/* Seeds: JA4 values read from real clients' ClientHellos. */
static const struct {
    const char *pattern, *family;
} builtin[] = {
    /* Chromium 1xx (Chrome, Edge): foxio-ja4 tls-handshake, browsers-x509,
     * tls3, latest; suricata ja4-tls-quic */
    {"t13d1516h2_8daaf6152771_e5627efa2ab1", "Chrome"},
    {"t13d1516h1_8daaf6152771_e5627efa2ab1", "Chrome"},
    {"t13d1516h2_8daaf6152771_9b887d9acb53", "Chrome"},
    /* Chrome 131+ with X25519MLKEM768: arkime tls-split-client-hello, ndpi tls_ech */
    {"t13d1516h2_8daaf6152771_02713d6af862", "Chrome"},
    /* Chrome 124-130 with X25519Kyber768Draft00 and ECH GREASE: ndpi sites */
    {"t13d1517h2_8daaf6152771_b0da82dd1658", "Chrome"},
    /* Firefox: foxio-ja4 tls12.pcap */
    {"t13d1715h2_5b57614c22b0_3d5424432f57", "Firefox"},
    /* Apple platform TLS (Safari, macOS apps): foxio-ja4 macos_tcp_flags */
    {"t13d2613h2_2802a3db6c62_845d286b0d67", "Safari"},
    /* curl with OpenSSL, TLS 1.3 only: arkime curl-enabled-tls13 */
    {"t13d0413h2_16476d049b0b_ffceb19bae65", "curl/OpenSSL"},
    /* The suite's own loopback recordings (tests/observe/record.sh), JA4
     * computed by `pqtls observe` from the captured ClientHellos: */
    /* Chromium 156 (Debian 12 package), default settings, X25519MLKEM768 */
    {"t13d1517h2_8daaf6152771_cb7bf5808d99", "Chrome"},
    /* curl 7.88.1 with Debian 12's OpenSSL 3.0 (with or without pqtls
     * loaded: JA4 does not hash the groups) */
    {"t13d3112h2_e8f1e7e78f70_b26ce05bbdd6", "curl/OpenSSL"},
    /* Node.js 24 (OpenSSL 3.5) https.get with its defaults (no ALPN) */
    {"t13d521100_b262b3658495_8e6e362c5eac", "Node.js"},
    /* openssl s_client 1.0.x: arkime openssl-tls1_2 */
    {"t12i740500_c43983326036_3eafcbe19126", "OpenSSL"},
    /* Chromium family by cipher list when the extension hash is new */
    {"t13d1516h2_8daaf6152771_*", "Chrome"},
    {"t13d1517h2_8daaf6152771_*", "Chrome"},
};

static int add(pqt_obs_families *f, const char *pattern, const char *family, int user)
{
    if (strlen(pattern) > PQT_JA4_SIZE || strlen(family) >= FAMILY_MAX_NAME || family[0] == 0) {
        return PQT_ERR_SYNTAX;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        family_entry *e = realloc(f->e, cap * sizeof(*e));
        if (e == NULL) {
            return PQT_ERR_NOMEM;
        }
        f->e = e;
        f->cap = cap;
    }
    size_t at = f->n;
    if (user) {
        /* user entries go before the built-in ones, in file order */
        memmove(&f->e[f->n_user + 1], &f->e[f->n_user], (f->n - f->n_user) * sizeof(*f->e));
        at = f->n_user++;
    }
    snprintf(f->e[at].pattern, sizeof(f->e[at].pattern), "%s", pattern);
    snprintf(f->e[at].family, sizeof(f->e[at].family), "%s", family);
    f->n++;
    return 0;
}

int pqt_obs_families_new(pqt_obs_families **out)
{
    if (out == NULL) {
        return PQT_ERR_ARG;
    }
    *out = NULL;
    pqt_obs_families *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return PQT_ERR_NOMEM;
    }
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
        int ret = add(f, builtin[i].pattern, builtin[i].family, 0);
        if (ret != 0) {
            pqt_obs_families_free(f);
            return ret;
        }
    }
    *out = f;
    return 0;
}

/* A JA4 or a JA4 prefix with a final '*': [a-z0-9_] with at most one '*'
 * at the end; family names are printable without spaces at the ends. */
static int valid_pattern(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > PQT_JA4_LEN + 1) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '*' && i == n - 1) {
            continue;
        }
        if (!isalnum(c) && c != '_') {
            return 0;
        }
    }
    return p[n - 1] == '*' || n == PQT_JA4_LEN;
}

int pqt_obs_families_load(pqt_obs_families *f, const char *path, unsigned *bad_line)
{
    char line[512];
    unsigned no = 0;
    int ret = 0;
    if (f == NULL || path == NULL) {
        return PQT_ERR_ARG;
    }
    if (bad_line != NULL) {
        *bad_line = 0;
    }
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        return PQT_ERR_IO;
    }
    while (fgets(line, sizeof(line), in) != NULL) {
        no++;
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = 0;
        }
        char *p = line;
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == 0) {
            continue;
        }
        char *pat = p;
        while (*p != 0 && !isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == 0) {
            ret = PQT_ERR_SYNTAX; /* a JA4 without a family */
            break;
        }
        *p++ = 0;
        while (isspace((unsigned char)*p)) {
            p++;
        }
        char *fam = p, *end = p + strlen(p);
        while (end > fam && isspace((unsigned char)end[-1])) {
            *--end = 0;
        }
        if (!valid_pattern(pat) || *fam == 0) {
            ret = PQT_ERR_SYNTAX;
            break;
        }
        ret = add(f, pat, fam, 1);
        if (ret != 0) {
            break;
        }
    }
    if (ret == 0 && ferror(in)) {
        ret = PQT_ERR_IO;
    }
    if (ret == PQT_ERR_SYNTAX && bad_line != NULL) {
        *bad_line = no;
    }
    fclose(in);
    return ret;
}

const char *pqt_obs_family(const pqt_obs_families *f, const char *ja4)
{
    if (f == NULL || ja4 == NULL || ja4[0] == 0) {
        return "unknown";
    }
    for (size_t i = 0; i < f->n; i++) {
        const char *p = f->e[i].pattern;
        size_t n = strlen(p);
        if (p[n - 1] == '*' ? strncmp(p, ja4, n - 1) == 0 : strcmp(p, ja4) == 0) {
            return f->e[i].family;
        }
    }
    return "unknown";
}

void pqt_obs_families_free(pqt_obs_families *f)
{
    if (f != NULL) {
        free(f->e);
        free(f);
    }
}
