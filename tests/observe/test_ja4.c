/*
 * Unit tests for src/tls/ja4.c as the observer uses it: JA4 against the
 * spec's worked example (GREASE ignored, no signature algorithms, no
 * ciphers, unknown versions, counts saturating at 99), every ALPN example
 * of JA4.md, and the SHA-256 behind JA4's hashes (pqt_tls_sha256) against
 * the FIPS 180-4 examples.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/ja4.h"
#include "tls_internal.h"

#include "obs_check.h"

/* ---- JA4 --------------------------------------------------------------------- */

/* A ClientHello assembled field by field (JA4 reads only these). */
typedef struct {
    uint8_t ciphers[64], sigs[32], versions[8], alpn[64];
    pqt_client_hello ch;
} fake_ch;

static void fake_init(fake_ch *f, const uint16_t *c, size_t nc, const uint16_t *e, size_t ne,
                      const uint16_t *s, size_t ns, const uint8_t *alpn1, size_t alpn1_len)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < nc; i++) {
        put16(f->ciphers + 2 * i, c[i]);
    }
    f->ch.cipher_suites = f->ciphers;
    f->ch.n_cipher_suites = nc;
    for (size_t i = 0; i < ne; i++) {
        f->ch.ext[i].type = e[i];
    }
    f->ch.n_ext = ne;
    for (size_t i = 0; i < ns; i++) {
        put16(f->sigs + 2 * i, s[i]);
    }
    f->ch.sig_algs = ns ? f->sigs : NULL;
    f->ch.n_sig_algs = ns;
    put16(f->versions, 0x0A0A); /* GREASE: ignored */
    put16(f->versions + 2, 0x0304);
    put16(f->versions + 4, 0x0303);
    f->ch.versions = f->versions;
    f->ch.n_versions = 3;
    f->ch.legacy_version = 0x0303;
    if (alpn1 != NULL) {
        f->alpn[0] = (uint8_t)alpn1_len;
        memcpy(f->alpn + 1, alpn1, alpn1_len);
        f->alpn[1 + alpn1_len] = 2;
        memcpy(f->alpn + 2 + alpn1_len, "h2", 2);
        f->ch.alpn = f->alpn;
        f->ch.alpn_len = 4 + alpn1_len;
    }
}

/* JA4.md "Example": the worked example's lists, plus GREASE that must not count. */
static const uint16_t spec_ciphers[] = {0x1A1A, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                        0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
                                        0x009c, 0x009d, 0x002f, 0x0035};
static const uint16_t spec_exts[] = {0x2A2A, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469,
                                     0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
                                     0x002b, 0xff01, 0x000b, 0x000a, 0x0015};
static const uint16_t spec_sigs[] = {0x0403, 0x0804, 0x0401, 0x0503,
                                     0x0805, 0x0501, 0x0806, 0x0601};

static void test_ja4_spec(void)
{
    fake_ch f;
    char ja4[PQT_JA4_SIZE], raw[1024];
    fake_init(&f, spec_ciphers, 16, spec_exts, 17, spec_sigs, 8, (const uint8_t *)"h2", 2);
    CHECK(pqt_ja4(&f.ch, 't', ja4, raw, sizeof(raw)) == 0);
    CHECK(strcmp(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1") == 0);
    CHECK(strcmp(raw, "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,"
                      "c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,"
                      "0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601") == 0);
    /* "If there are no signature algorithms ... ends without an underscore" */
    fake_init(&f, spec_ciphers, 16, spec_exts, 17, NULL, 0, (const uint8_t *)"h2", 2);
    CHECK(pqt_ja4(&f.ch, 't', ja4, NULL, 0) == 0);
    CHECK(strcmp(ja4 + 24, "6d807ffa2a79") == 0);
    /* No ciphers / only SNI and ALPN: zeros, not a hash of nothing. */
    static const uint16_t sni_alpn[] = {0x0000, 0x0010};
    fake_init(&f, NULL, 0, sni_alpn, 2, NULL, 0, NULL, 0);
    CHECK(pqt_ja4(&f.ch, 't', ja4, NULL, 0) == 0);
    CHECK(strcmp(ja4, "t13d000200_000000000000_000000000000") == 0);
    /* Versions: the highest offered, unknown codes are "00". */
    CHECK(strcmp(pqt_ja4_version(0x7f12), "00") == 0 && strcmp(pqt_ja4_version(0x0300), "s3") == 0);
    /* Counts saturate at 99. */
    uint16_t many[120];
    for (int i = 0; i < 120; i++) {
        many[i] = (uint16_t)(0x1000 + i);
    }
    fake_ch big;
    memset(&big, 0, sizeof(big));
    uint8_t *cs = malloc(240);
    CHECK(cs != NULL);
    for (int i = 0; cs && i < 120; i++) {
        put16(cs + 2 * i, many[i]);
    }
    big.ch.cipher_suites = cs;
    big.ch.n_cipher_suites = 120;
    big.ch.legacy_version = 0x0301;
    CHECK(pqt_ja4(&big.ch, 't', ja4, NULL, 0) == 0 && strncmp(ja4, "t10i990000_", 11) == 0);
    free(cs);
}

static void test_ja4_alpn(void)
{
    /* JA4.md "ALPN Extension Value": the spec's own examples. */
    static const struct {
        const char *bytes;
        size_t len;
        const char *want;
    } cases[] = {
        {"\xAB", 1, "ab"},
        {"\x20", 1, "20"},
        {"\xAB\xCD", 2, "ad"},
        {"\x20\x61", 2, "21"},
        {"\x30\xAB", 2, "3b"},
        {"\x61\x20", 2, "60"},
        {"\x30\x31\xAB\xCD", 4, "3d"},
        {"\x30\xAB\xCD\x31", 4, "01"},
        {"h2", 2, "h2"},
        {"http/1.1", 8, "h1"},
        {"c", 1, "cc"},
        {"H2", 2, "H2"},
        {"\xBA\xAD", 2, "bd"}, /* foxio-ja4 tls-non-ascii-alpn: decision, see ja4.h */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake_ch f;
        char ja4[PQT_JA4_SIZE];
        fake_init(&f, spec_ciphers, 16, spec_exts, 17, spec_sigs, 8,
                  (const uint8_t *)cases[i].bytes, cases[i].len);
        CHECK(pqt_ja4(&f.ch, 't', ja4, NULL, 0) == 0);
        if (strncmp(ja4 + 8, cases[i].want, 2) != 0) {
            fprintf(stderr, "ALPN case %zu: got %.2s want %s\n", i, ja4 + 8, cases[i].want);
            failures++;
        }
    }
    fake_ch f;
    char ja4[PQT_JA4_SIZE];
    fake_init(&f, spec_ciphers, 16, spec_exts, 17, spec_sigs, 8, NULL, 0);
    CHECK(pqt_ja4(&f.ch, 't', ja4, NULL, 0) == 0 && strncmp(ja4 + 8, "00", 2) == 0);
}

/* ---- SHA-256 ----------------------------------------------------------------- */

static void hexstr(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = 0;
}

static void test_sha256(void)
{
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the empty string. */
    static const struct {
        const char *msg, *md;
    } kat[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    uint8_t md[32];
    char hex[65];
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        CHECK(pqt_tls_sha256((const uint8_t *)kat[i].msg, strlen(kat[i].msg), md) == 0);
        hexstr(md, 32, hex);
        CHECK(strcmp(hex, kat[i].md) == 0);
    }
}

int main(void)
{
    test_ja4_spec();
    test_ja4_alpn();
    test_sha256();
    printf("test_observe_ja4: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
