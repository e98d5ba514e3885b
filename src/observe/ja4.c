/*
 * JA4 (../shared/pcaps/foxio-ja4/docs/JA4.md): a_b_c where
 *   a = transport, version, SNI d/i, cipher count, extension count, ALPN;
 *   b = sha256 of the sorted cipher list, first 12 hex digits;
 *   c = sha256 of the sorted extension list (no SNI, no ALPN) followed by
 *       '_' and the signature algorithms in wire order.
 * GREASE values (RFC 8701) are ignored everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "pqtls/ja4.h"

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

static void hash12(const char *s, size_t n, char out[13])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)s, n, md);
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
    qsort(ciphers, nc, sizeof(uint16_t), cmp_u16);
    qsort(exts, ne, sizeof(uint16_t), cmp_u16);
    alpn_chars(ch, alpn);
    snprintf(a, sizeof(a), "%c%s%c%02u%02u%s", transport,
             pqt_ja4_version(pqt_hello_client_max_version(ch)), has_sni ? 'd' : 'i',
             (unsigned)(nc > 99 ? 99 : nc), (unsigned)(ne_all > 99 ? 99 : ne_all), alpn);

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
    snprintf(out, PQT_JA4_SIZE, "%s_%s_%s", a, hb, hc);
    if (raw != NULL) {
        snprintf(raw, raw_cap, "%s_%s", a, text);
    }
    ret = 0;
cleanup:
    free(ciphers);
    free(text);
    return ret;
}
