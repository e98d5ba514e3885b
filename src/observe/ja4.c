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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OBS_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "obs_internal.h"
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
 * SHA-256 (FIPS 180-4 §6.2) of a short public string. JA4 hashes two lists
 * per ClientHello; through OpenSSL 3's one-shot SHA256() every call fetched
 * the algorithm again, which cost more than the rest of the fingerprint.
 * The hashed text is public (cipher and extension lists), so there is no
 * constant-time concern.
 */
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t b[64])
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 |
               b[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b1 = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha256_k[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b1) ^ (a & c) ^ (b1 & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b1;
        b1 = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b1;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

#ifdef OBS_SHA_NI
/*
 * The same compression with the x86 SHA extensions (Intel SHA-NI): the
 * state lives in two registers as ABEF and CDGH, SHA256RNDS2 does two
 * rounds, SHA256MSG1/MSG2 the message schedule four words at a time.
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha256_blocks_ni(uint32_t h[8],
                                                                        const uint8_t *p,
                                                                        size_t blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i abcd = _mm_loadu_si128((const __m128i *)(const void *)h);
    __m128i efgh = _mm_loadu_si128((const __m128i *)(const void *)(h + 4));
    __m128i cdab = _mm_shuffle_epi32(abcd, 0xB1);
    __m128i hgfe = _mm_shuffle_epi32(efgh, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, hgfe, 8);
    __m128i cdgh = _mm_blend_epi16(hgfe, cdab, 0xF0);
    for (size_t blk = 0; blk < blocks; blk++, p += 64) {
        __m128i abef0 = abef, cdgh0 = cdgh, w[4];
        for (int g = 0; g < 16; g++) {
            if (g < 4) {
                w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * g)),
                                        bswap);
            } else {
                /* w[g-16] + s0(w[g-15]) + w[g-7], then the s1 terms */
                __m128i t = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
                w[g & 3] = _mm_sha256msg2_epu32(t, w[(g + 3) & 3]);
            }
            __m128i m = _mm_add_epi32(
                w[g & 3], _mm_loadu_si128((const __m128i *)(const void *)(sha256_k + 4 * g)));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(m, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef0);
        cdgh = _mm_add_epi32(cdgh, cdgh0);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)(void *)h, _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)(void *)(h + 4), _mm_alignr_epi8(dchg, feba, 8));
}

/* CPUID: SHA (leaf 7 EBX bit 29), SSE4.1 and SSSE3 (leaf 1 ECX bits 19, 9). */
static int sha_ni_cpu(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9))) {
        return 0;
    }
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        return 0;
    }
    return (b >> 29) & 1;
}
#endif

int obs_sha256_native_available(void)
{
#ifdef OBS_SHA_NI
    static int avail = -1; /* a benign race: every thread computes the same */
    if (avail < 0) {
        avail = sha_ni_cpu();
    }
    return avail;
#else
    return 0;
#endif
}

static void sha256_blocks(uint32_t h[8], const uint8_t *p, size_t blocks, int native)
{
#ifdef OBS_SHA_NI
    if (native) {
        sha256_blocks_ni(h, p, blocks);
        return;
    }
#else
    (void)native;
#endif
    for (size_t i = 0; i < blocks; i++) {
        sha256_block(h, p + 64 * i);
    }
}

void obs_sha256(const uint8_t *p, size_t n, uint8_t md[32], int native)
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint8_t last[128];
    size_t full = n & ~(size_t)63, rest = n - full;
    native = native && obs_sha256_native_available();
    sha256_blocks(h, p, full / 64, native);
    /* §5.1.1 padding: 0x80, zeros, the bit length in 64 bits. */
    memset(last, 0, sizeof(last));
    if (rest > 0) {
        memcpy(last, p + full, rest);
    }
    last[rest] = 0x80;
    size_t blocks = rest + 9 <= 64 ? 1 : 2;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) {
        last[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    sha256_blocks(h, last, blocks, native);
    for (int i = 0; i < 8; i++) {
        md[4 * i] = (uint8_t)(h[i] >> 24);
        md[4 * i + 1] = (uint8_t)(h[i] >> 16);
        md[4 * i + 2] = (uint8_t)(h[i] >> 8);
        md[4 * i + 3] = (uint8_t)h[i];
    }
}

static void hash12(const char *s, size_t n, char out[13])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[32];
    obs_sha256((const uint8_t *)s, n, md, 1);
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
