/*
 * JA4 (../shared/pcaps/foxio-ja4/docs/JA4.md): a_b_c where
 *   a = transport, version, SNI d/i, cipher count, extension count, ALPN;
 *   b = sha256 of the sorted cipher list, first 12 hex digits;
 *   c = sha256 of the sorted extension list (no SNI, no ALPN) followed by
 *       '_' and the signature algorithms in wire order.
 * GREASE values (RFC 8701) are ignored everywhere.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/ja4.h"
#include "tls_internal.h"

const char *pqt_ja4_version(uint16_t v)
{
    switch (v) {
    case 0x0304:
        return "13";
    case 0x0303:
        return "12";
    case 0x0302:
        return "11";
    case 0x0301:
        return "10";
    case 0x0300:
        return "s3";
    case 0x0002:
        return "s2";
    case 0xfeff:
        return "d1";
    case 0xfefd:
        return "d2";
    case 0xfefc:
        return "d3";
    default:
        return "00"; /* "Unknown = 00": drafts, 0xfb1a, ... */
    }
}

static int is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* JA4 ALPN characters from the first ProtocolName of the raw list. */
static void alpn_chars(const pqt_client_hello *ch, char out[3])
{
    static const char hex[] = "0123456789abcdef";
    pqt_reader list = pqt_reader_make(ch->alpn, ch->alpn_len), name;
    out[0] = '0';
    out[1] = '0';
    out[2] = 0;
    if (ch->alpn == NULL || pqt_reader_vec(&list, 1, &name) != 0 || pqt_reader_left(&name) == 0) {
        return; /* "no ALPN extension, no ALPN values, or the first ALPN value is empty" */
    }
    uint8_t first = name.p[0], last = name.end[-1];
    if (is_alnum(first) && is_alnum(last)) {
        out[0] = (char)first;
        out[1] = (char)last; /* one character: "used as both first and last" */
    } else {
        /* "print the first and last characters of the hex representation" */
        out[0] = hex[first >> 4];
        out[1] = hex[last & 15];
    }
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* Ascending order in place. Real lists are short (a browser offers 16
 * cipher suites and 17 extensions) and glibc's qsort allocates and merges,
 * so they get an insertion sort; a crafted hello with thousands of values
 * still gets qsort (no quadratic time). */
static void sort_u16(uint16_t *v, size_t n)
{
    if (n > 64) {
        qsort(v, n, sizeof(uint16_t), cmp_u16);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint16_t x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Append "xxxx,xxxx,..." for v[0..n) to s at *pos. */
static void put_list(char *s, size_t *pos, const uint16_t *v, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            s[(*pos)++] = ',';
        }
        s[(*pos)++] = hex[v[i] >> 12];
        s[(*pos)++] = hex[(v[i] >> 8) & 15];
        s[(*pos)++] = hex[(v[i] >> 4) & 15];
        s[(*pos)++] = hex[v[i] & 15];
    }
}

/*
 * SHA-256 of a short public string, from libcrypto (its SHA-256 uses the
 * CPU's SHA extensions where there are any). JA4 hashes two lists per
 * ClientHello, so the algorithm is fetched once per process: OpenSSL 3's
 * one-shot SHA256() fetches it on every call, which cost more than the rest
 * of the fingerprint.
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int pqt_tls_sha256(const uint8_t *p, size_t n, uint8_t md[32])
{
    unsigned int len = 0;
    pthread_once(&sha256_once, sha256_fetch);
    EVP_MD_CTX *ctx = sha256_md ? EVP_MD_CTX_new() : NULL;
    int ok = ctx != NULL && EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1 &&
             EVP_DigestUpdate(ctx, p, n) == 1 && EVP_DigestFinal_ex(ctx, md, &len) == 1 &&
             len == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        memset(md, 0, 32);
        return PQT_ERR_CRYPTO_LIB;
    }
    return 0;
}

static void hash12(const char *s, size_t n, char out[13])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[32];
    if (pqt_tls_sha256((const uint8_t *)s, n, md) != 0) {
        memcpy(out, "000000000000", 13); /* libcrypto failed: no hash */
        return;
    }
    for (size_t i = 0; i < 6; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[12] = 0;
}

int pqt_ja4(const pqt_client_hello *ch, char transport, char out[PQT_JA4_SIZE], char *raw,
            size_t raw_cap)
{
    int ret = PQT_ERR_NOMEM;
    uint16_t *ciphers = NULL, *exts, *sigs;
    char *text = NULL;
    size_t nc = 0, ne = 0, ne_all = 0, ns = 0, pos = 0;
    int has_sni = 0;
    char alpn[3], a[11], hb[13], hc[13];

    if (ch == NULL || out == NULL || (raw != NULL && raw_cap == 0)) {
        return PQT_ERR_ARG;
    }
    out[0] = 0;
    size_t total = ch->n_cipher_suites + ch->n_ext + ch->n_sig_algs;
    ciphers = malloc(2 * total + 1);
    text = malloc(5 * total + 16);
    if (ciphers == NULL || text == NULL) {
        goto cleanup;
    }
    exts = ciphers + ch->n_cipher_suites;
    sigs = exts + ch->n_ext;
    for (size_t i = 0; i < ch->n_cipher_suites; i++) {
        uint16_t c = pqt_u16_at(ch->cipher_suites, i);
        if (!pqt_tls_is_grease(c)) {
            ciphers[nc++] = c;
        }
    }
    for (size_t i = 0; i < ch->n_ext; i++) {
        uint16_t e = ch->ext[i].type;
        if (pqt_tls_is_grease(e)) {
            continue;
        }
        ne_all++; /* "Include SNI and ALPN" in the count */
        if (e == PQT_TLS_EXT_SERVER_NAME) {
            has_sni = 1;
        } else if (e != PQT_TLS_EXT_ALPN) {
            exts[ne++] = e;
        }
    }
    for (size_t i = 0; i < ch->n_sig_algs; i++) {
        uint16_t s = pqt_u16_at(ch->sig_algs, i);
        if (!pqt_tls_is_grease(s)) {
            sigs[ns++] = s;
        }
    }
    sort_u16(ciphers, nc);
    sort_u16(exts, ne);
    alpn_chars(ch, alpn);
    /* a: "%c%s%c%02u%02u%s" (transport, version, d/i, counts capped at 99,
     * ALPN), by hand: snprintf was a visible share of the observer's time. */
    const char *ver = pqt_ja4_version(pqt_hello_client_max_version(ch));
    unsigned ncc = (unsigned)(nc > 99 ? 99 : nc), nec = (unsigned)(ne_all > 99 ? 99 : ne_all);
    a[0] = transport;
    a[1] = ver[0];
    a[2] = ver[1];
    a[3] = has_sni ? 'd' : 'i';
    a[4] = (char)('0' + ncc / 10);
    a[5] = (char)('0' + ncc % 10);
    a[6] = (char)('0' + nec / 10);
    a[7] = (char)('0' + nec % 10);
    a[8] = alpn[0];
    a[9] = alpn[1];
    a[10] = 0;

    /* b: "If there are no ciphers ... set to 000000000000" */
    put_list(text, &pos, ciphers, nc);
    size_t b_end = pos;
    if (nc == 0) {
        memcpy(hb, "000000000000", 13);
    } else {
        hash12(text, b_end, hb);
    }
    /* c: sorted extensions, then "_" and the signature algorithms only if
     * there are any ("the string ends without an underscore"). */
    text[pos++] = '_';
    size_t c_start = pos;
    put_list(text, &pos, exts, ne);
    if (ns > 0) {
        text[pos++] = '_';
        put_list(text, &pos, sigs, ns);
    }
    if (ne == 0) {
        memcpy(hc, "000000000000", 13);
    } else {
        hash12(text + c_start, pos - c_start, hc);
    }
    text[pos] = 0;
    /* a_b_c: 10 + 1 + 12 + 1 + 12 characters */
    memcpy(out, a, 10);
    out[10] = '_';
    memcpy(out + 11, hb, 12);
    out[23] = '_';
    memcpy(out + 24, hc, 13);
    if (raw != NULL) {
        /* a "_" text, cut to raw_cap - 1 characters as snprintf would */
        size_t n = 0;
        for (size_t i = 0; i < 10 && n + 1 < raw_cap; i++) {
            raw[n++] = a[i];
        }
        if (n + 1 < raw_cap) {
            raw[n++] = '_';
        }
        size_t t = pos < raw_cap - 1 - n ? pos : raw_cap - 1 - n;
        memcpy(raw + n, text, t);
        raw[n + t] = 0;
    }
    ret = 0;
cleanup:
    free(ciphers);
    free(text);
    return ret;
}
