/*
 * Unit tests for src/observe/family.c: the built-in rules load; JA4
 * entries (exact and prefix) win with basis ja4; feature rules name the
 * library from synthetic ClientHellos shaped like the recorded clients'
 * (GREASE ignored, held-back changes such as another group list still
 * recognised); user files in both formats go first; every syntax error
 * names its line; "unknown" stays unknown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqtls/hello.h"
#include "pqtls/observe.h"
#include "pqtls/wire.h"

#include "obs_check.h"

/* ---- a ClientHello from lists ------------------------------------------- */

typedef struct {
    const uint16_t *ciphers;
    size_t n_ciphers;
    const uint16_t *ext; /* types, in order; bodies below are filled in */
    size_t n_ext;
    const uint16_t *groups;
    size_t n_groups;
    const uint16_t *shares;
    size_t n_shares;
    const uint16_t *sigalgs;
    size_t n_sigalgs;
    uint16_t compress; /* compress_certificate algorithm, 0: empty list */
    uint16_t rsl;
} hello_spec;

static void u16s(pqt_writer *w, unsigned prefix, const uint16_t *v, size_t n)
{
    pqt_writer_open(w, prefix);
    for (size_t i = 0; i < n; i++) {
        pqt_writer_u16(w, v[i]);
    }
    pqt_writer_close(w);
}

static size_t build(const hello_spec *s, uint8_t *out, size_t cap)
{
    pqt_writer w;
    uint8_t zero[32] = {0};
    pqt_writer_init(&w, out, cap);
    pqt_writer_u16(&w, 0x0303);
    pqt_writer_bytes(&w, zero, 32);
    pqt_writer_u8(&w, 0);
    u16s(&w, 2, s->ciphers, s->n_ciphers);
    pqt_writer_u8(&w, 1);
    pqt_writer_u8(&w, 0);
    pqt_writer_open(&w, 2);
    for (size_t i = 0; i < s->n_ext; i++) {
        uint16_t t = s->ext[i];
        pqt_writer_u16(&w, t);
        pqt_writer_open(&w, 2);
        if (t == 10) {
            u16s(&w, 2, s->groups, s->n_groups);
        } else if (t == 13) {
            u16s(&w, 2, s->sigalgs, s->n_sigalgs);
        } else if (t == 43) {
            static const uint16_t v[] = {0x0304, 0x0303};
            pqt_writer_u8(&w, 4);
            pqt_writer_u16(&w, v[0]);
            pqt_writer_u16(&w, v[1]);
        } else if (t == 51) {
            pqt_writer_open(&w, 2);
            for (size_t k = 0; k < s->n_shares; k++) {
                pqt_writer_u16(&w, s->shares[k]);
                pqt_writer_open(&w, 2);
                pqt_writer_zeros(&w, 32);
                pqt_writer_close(&w);
            }
            pqt_writer_close(&w);
        } else if (t == 27) {
            pqt_writer_open(&w, 1);
            if (s->compress) {
                pqt_writer_u16(&w, s->compress);
            }
            pqt_writer_close(&w);
        } else if (t == 28) {
            pqt_writer_u16(&w, s->rsl);
        } else if (t == 45) {
            pqt_writer_u8(&w, 1);
            pqt_writer_u8(&w, 1);
        } else if (t == 0) {
            pqt_writer_open(&w, 2); /* server_name_list: host_name "a" */
            pqt_writer_u8(&w, 0);
            pqt_writer_u16(&w, 1);
            pqt_writer_u8(&w, 'a');
            pqt_writer_close(&w);
        } else if (t == 16) {
            pqt_writer_open(&w, 2); /* ALPN: "h2" */
            pqt_writer_u8(&w, 2);
            pqt_writer_bytes(&w, "h2", 2);
            pqt_writer_close(&w);
        } else if (t == 11) {
            pqt_writer_u8(&w, 1);
            pqt_writer_u8(&w, 0);
        }
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    size_t len = 0;
    return pqt_writer_finish(&w, &len) == 0 ? len : 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static pqt_obs_family_match classify(const pqt_obs_families *f, const hello_spec *s,
                                     const char *ja4)
{
    uint8_t buf[2048];
    pqt_client_hello ch;
    pqt_obs_family_match m = {PQT_OBS_LIB_UNKNOWN, "unset", PQT_OBS_BASIS_NONE};
    size_t n = build(s, buf, sizeof(buf));
    CHECK(n > 0);
    CHECK(pqt_hello_parse_client(buf, n, &ch) == 0);
    pqt_obs_family_classify(f, &ch, ja4, &m);
    return m;
}

/* Chromium 156 as recorded (tests/families), with GREASE values. */
static const uint16_t chromium_ciphers[] = {0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                            0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
                                            0x009c, 0x009d, 0x002f, 0x0035};
static const uint16_t chromium_ext[] = {0x4a4a, 0x000d, 0xfe0d, 0x0010, 0x000a, 0x0012,
                                        0x002b, 0x000b, 0x0023, 0x0005, 0x001b, 0xff01,
                                        0x002d, 0x0000, 0x44cd, 0x0017, 0x0033, 0xfafa};
static const uint16_t chromium_groups[] = {0x8a8a, 0x11ec, 0x001d, 0x0017, 0x0018};
static const uint16_t chromium_shares[] = {0x8a8a, 0x11ec, 0x001d};
static const uint16_t sigalgs[] = {0x0403, 0x0804, 0x0401};

/* curl 7.88 with OpenSSL 3.0 as recorded (cipher list cut). */
static const uint16_t openssl_ciphers[] = {0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0x00ff};
static const uint16_t openssl_ext[] = {0x0000, 0x000b, 0x000a, 0x0010, 0x0016, 0x0017,
                                       0x0031, 0x000d, 0x002b, 0x002d, 0x0033, 0x0015};
static const uint16_t openssl_groups[] = {0x001d, 0x0017, 0x001e, 0x0019, 0x0018, 0x0100, 0x0101};
static const uint16_t x25519[] = {0x001d};

static void test_builtin(void)
{
    pqt_obs_families *f = NULL;
    size_t nj = 0, nr = 0;
    CHECK(pqt_obs_families_new(&f) == 0);
    pqt_obs_families_count(f, &nj, &nr);
    CHECK(nj >= 9 && nr >= 15);

    /* JA4 entries, exact; prefix entries only from files */
    CHECK(strcmp(pqt_obs_family(f, "t13d1516h2_8daaf6152771_02713d6af862"),
                 "Chromium 131+ (BoringSSL)") == 0);
    CHECK(strcmp(pqt_obs_family(f, "t13d9999h2_aaaaaaaaaaaa_bbbbbbbbbbbb"), "unknown") == 0);
    CHECK(strcmp(pqt_obs_family(f, ""), "unknown") == 0);

    hello_spec chromium = {chromium_ciphers,
                           N(chromium_ciphers),
                           chromium_ext,
                           N(chromium_ext),
                           chromium_groups,
                           N(chromium_groups),
                           chromium_shares,
                           N(chromium_shares),
                           sigalgs,
                           N(sigalgs),
                           2,
                           0};
    pqt_obs_family_match m = classify(f, &chromium, "t13d1517h2_8daaf6152771_cb7bf5808d99");
    CHECK(m.library == PQT_OBS_LIB_BORINGSSL && m.basis == PQT_OBS_BASIS_FEATURES);
    CHECK(strcmp(m.family, "Chromium 131+ (BoringSSL)") == 0);
    /* the JA4 entry wins when the JA4 is in the table */
    m = classify(f, &chromium, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    CHECK(m.basis == PQT_OBS_BASIS_JA4 && strcmp(m.family, "Chromium (BoringSSL)") == 0);
    /* without X25519MLKEM768 the version range is not claimed */
    chromium.groups = x25519;
    chromium.n_groups = 1;
    chromium.shares = x25519;
    chromium.n_shares = 1;
    m = classify(f, &chromium, NULL);
    CHECK(m.library == PQT_OBS_LIB_BORINGSSL && strcmp(m.family, "Chromium (BoringSSL)") == 0);
    /* zlib certificate compression: not Chromium's brotli */
    chromium.compress = 1;
    m = classify(f, &chromium, NULL);
    CHECK(m.library == PQT_OBS_LIB_BORINGSSL && strcmp(m.family, "BoringSSL") == 0);

    hello_spec openssl = {openssl_ciphers, N(openssl_ciphers), openssl_ext, N(openssl_ext),
                          openssl_groups,  N(openssl_groups),  x25519,      1,
                          sigalgs,         N(sigalgs),         0,           0};
    m = classify(f, &openssl, "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6");
    CHECK(m.library == PQT_OBS_LIB_OPENSSL && strcmp(m.family, "OpenSSL 3.0-3.4") == 0);
    /* another curve list: still OpenSSL, the version range widens */
    openssl.groups = x25519;
    openssl.n_groups = 1;
    m = classify(f, &openssl, NULL);
    CHECK(m.library == PQT_OBS_LIB_OPENSSL && strcmp(m.family, "OpenSSL 1.1.1-3.4") == 0);
    /* ML-DSA signature algorithms: 3.5 */
    static const uint16_t mldsa[] = {0x0905, 0x0906, 0x0904, 0x0403};
    openssl.sigalgs = mldsa;
    openssl.n_sigalgs = N(mldsa);
    m = classify(f, &openssl, NULL);
    CHECK(m.library == PQT_OBS_LIB_OPENSSL && strcmp(m.family, "OpenSSL 3.5+") == 0);
    /* a GREASE value makes it something else: no OpenSSL sends one */
    static const uint16_t greased[] = {0x0a0a, 0x1302, 0x1303, 0x1301};
    openssl.ciphers = greased;
    openssl.n_ciphers = N(greased);
    m = classify(f, &openssl, NULL);
    CHECK(m.library != PQT_OBS_LIB_OPENSSL);

    /* nothing a rule knows */
    static const uint16_t odd_ciphers[] = {0x009c};
    static const uint16_t odd_ext[] = {0x000a};
    hello_spec odd = {odd_ciphers, 1, odd_ext, 1, x25519, 1, NULL, 0, NULL, 0, 0, 0};
    m = classify(f, &odd, "t12d010100_aaaaaaaaaaaa_bbbbbbbbbbbb");
    CHECK(m.library == PQT_OBS_LIB_UNKNOWN && m.basis == PQT_OBS_BASIS_NONE);
    CHECK(strcmp(m.family, "unknown") == 0);
    pqt_obs_family_classify(f, NULL, NULL, &m);
    CHECK(m.library == PQT_OBS_LIB_UNKNOWN && m.basis == PQT_OBS_BASIS_NONE);
    pqt_obs_families_free(f);
}

static const char *write_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "test_family_%d.rules", (int)getpid());
    FILE *out = fopen(path, "w");
    CHECK(out != NULL);
    if (out != NULL) {
        fputs(text, out);
        fclose(out);
    }
    return path;
}

static void test_user_files(void)
{
    pqt_obs_families *f = NULL;
    unsigned line = 99;
    CHECK(pqt_obs_families_new(&f) == 0);
    /* both formats; user entries go before the built-in ones; a name may
     * hold any bytes (the outputs escape them) */
    const char *path = write_file("# comment\n"
                                  "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6 curl on our hosts\n"
                                  "t13d1516h2_8daaf6152771_* Test Chromium  \n"
                                  "\n"
                                  "ja4 t13d9999h2_aaaaaaaaaaaa_bbbbbbbbbbbb go Our Go agent\n"
                                  "rule rustls Our <rustls> \"agent\" # a comment\n"
                                  "    ciphers-has 009c\n"
                                  "    ext-exact 000a\n"
                                  "    grease no\n"
                                  "    record-size-limit none\n");
    CHECK(pqt_obs_families_load(f, path, &line) == 0 && line == 0);
    CHECK(strcmp(pqt_obs_family(f, "t13d1516h2_8daaf6152771_ffffffffffff"), "Test Chromium") == 0);
    static const uint16_t odd_ciphers[] = {0x009c};
    static const uint16_t odd_ext[] = {0x000a};
    hello_spec odd = {odd_ciphers, 1, odd_ext, 1, x25519, 1, NULL, 0, NULL, 0, 0, 0};
    pqt_obs_family_match m = classify(f, &odd, NULL);
    CHECK(m.library == PQT_OBS_LIB_RUSTLS && m.basis == PQT_OBS_BASIS_FEATURES);
    CHECK(strcmp(m.family, "Our <rustls> \"agent\"") == 0);
    m = classify(f, &odd, "t13d9999h2_aaaaaaaaaaaa_bbbbbbbbbbbb");
    CHECK(m.library == PQT_OBS_LIB_GO && m.basis == PQT_OBS_BASIS_JA4);
    /* an old-format line names no library: the features give it */
    hello_spec openssl = {openssl_ciphers, N(openssl_ciphers), openssl_ext, N(openssl_ext),
                          openssl_groups,  N(openssl_groups),  x25519,      1,
                          sigalgs,         N(sigalgs),         0,           0};
    m = classify(f, &openssl, "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6");
    CHECK(m.library == PQT_OBS_LIB_OPENSSL && m.basis == PQT_OBS_BASIS_JA4);
    CHECK(strcmp(m.family, "curl on our hosts") == 0);
    m = classify(f, &odd, "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6");
    CHECK(m.library == PQT_OBS_LIB_RUSTLS && m.basis == PQT_OBS_BASIS_JA4);
    remove(path);
    pqt_obs_families_free(f);

    /* syntax errors name their line */
    static const struct {
        const char *text;
        unsigned line;
    } bad[] = {
        {"t13d1516h2_8daaf6152771_e5627efa2ab1\n", 1},    /* no family */
        {"\nnot-a-ja4 Family\n", 2},                      /* neither */
        {"rule openssl X\n    ciphers-has 13011\n", 2},   /* 5 hex digits */
        {"rule openssl X\n    ciphers-sorted 1301\n", 2}, /* no such op */
        {"rule openssl X\n    cookies-has 1301\n", 2},    /* no such field */
        {"rule openssl X\n    grease maybe\n", 2},
        {"rule openssl X\n    ciphers-has\n", 2}, /* no values */
        {"rule openssl X\n    record-size-limit 70000\n", 2},
        {"rule nosuchlib X\n    grease no\n", 1},
        {"rule openssl\n    grease no\n", 1},               /* no family */
        {"rule openssl X\nrule nss Y\n    grease no\n", 1}, /* X has no condition */
        {"rule openssl X\n", 1},
        {"rule openssl X\n\n# c\nrule nss Y\n    grease no\n", 1}, /* the rule's line */
        {"ja4 t13d1516h2_8daaf6152771_e5627efa2ab1 nss A\nrule nss Y\n# c\n", 2},
        {"    grease no\n", 1}, /* outside a rule */
        {"ja4 t13d1516h2_8daaf6152771_e5627efa2ab1 nss\n", 1},
        {"ja4 t13d1516h2 nss Short\n", 1},
    };
    for (size_t i = 0; i < N(bad); i++) {
        CHECK(pqt_obs_families_new(&f) == 0);
        path = write_file(bad[i].text);
        line = 0;
        int ret = pqt_obs_families_load(f, path, &line);
        if (ret != PQT_ERR_SYNTAX || line != bad[i].line) {
            fprintf(stderr, "bad[%zu]: ret %d line %u, expected line %u\n", i, ret, line,
                    bad[i].line);
        }
        CHECK(ret == PQT_ERR_SYNTAX && line == bad[i].line);
        remove(path);
        pqt_obs_families_free(f);
    }
    CHECK(pqt_obs_families_new(&f) == 0);
    CHECK(pqt_obs_families_load(f, "/nonexistent/families", &line) == PQT_ERR_IO);
    pqt_obs_families_free(f);
}

/* The libraries with no client in the test estate, from their documented
 * or source-visible defaults (families.rules names the sources). */
static void test_documented_defaults(void)
{
    pqt_obs_families *f = NULL;
    CHECK(pqt_obs_families_new(&f) == 0);
    static const uint16_t ext[] = {0x0000, 0x0005, 0x000a, 0x000b, 0x000d, 0xff01,
                                   0x0012, 0x002b, 0x0033, 0x002d, 0x0017};
    static const uint16_t groups_pq[] = {0x11ec, 0x001d, 0x0017, 0x0018};
    static const uint16_t shares_pq[] = {0x11ec, 0x001d};
    /* Go 1.24 with AES hardware: TLS 1.3 suites after the TLS 1.2 ones */
    static const uint16_t go_aes[] = {0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009,
                                      0xc013, 0xc00a, 0xc014, 0x1301, 0x1302, 0x1303};
    hello_spec go = {go_aes,    N(go_aes),    ext,     N(ext),     groups_pq, N(groups_pq),
                     shares_pq, N(shares_pq), sigalgs, N(sigalgs), 0,         0};
    pqt_obs_family_match m = classify(f, &go, NULL);
    CHECK(m.library == PQT_OBS_LIB_GO && strcmp(m.family, "Go 1.24+ (crypto/tls)") == 0);
    /* without AES hardware ChaCha20 comes first; older groups */
    static const uint16_t go_noaes[] = {0xcca9, 0xcca8, 0xc02b, 0xc02f, 0xc02c, 0xc030,
                                        0xc009, 0xc013, 0x1303, 0x1301, 0x1302};
    go.ciphers = go_noaes;
    go.n_ciphers = N(go_noaes);
    go.groups = x25519;
    go.n_groups = 1;
    go.shares = x25519;
    go.n_shares = 1;
    m = classify(f, &go, NULL);
    CHECK(m.library == PQT_OBS_LIB_GO && strcmp(m.family, "Go (crypto/tls)") == 0);

    /* rustls: its default list and the renegotiation SCSV */
    static const uint16_t rustls_c[] = {0x1302, 0x1301, 0x1303, 0xc02c, 0xc02b,
                                        0xcca9, 0xc030, 0xc02f, 0xcca8, 0x00ff};
    hello_spec rustls = {rustls_c,  N(rustls_c),  ext,     N(ext),     groups_pq, N(groups_pq),
                         shares_pq, N(shares_pq), sigalgs, N(sigalgs), 0,         0};
    m = classify(f, &rustls, NULL);
    CHECK(m.library == PQT_OBS_LIB_RUSTLS);
    static const uint16_t rustls13[] = {0x1302, 0x1301, 0x1303};
    rustls.ciphers = rustls13;
    rustls.n_ciphers = N(rustls13);
    m = classify(f, &rustls, NULL);
    CHECK(m.library == PQT_OBS_LIB_RUSTLS);
    /* the same list with JSSE's extensions is not rustls */
    static const uint16_t jsse_ext[] = {0x0005, 0x000a, 0x000b, 0x0011, 0x0017, 0x0023,
                                        0x000d, 0x002b, 0x002d, 0x0032, 0x0033};
    rustls.ciphers = rustls_c;
    rustls.n_ciphers = N(rustls_c);
    rustls.ext = jsse_ext;
    rustls.n_ext = N(jsse_ext);
    m = classify(f, &rustls, NULL);
    CHECK(m.library == PQT_OBS_LIB_JSSE && strcmp(m.family, "Java (JSSE)") == 0);

    /* Schannel: two AES-GCM TLS 1.3 suites, no ChaCha20 */
    static const uint16_t schannel_c[] = {0x1302, 0x1301, 0xc02c, 0xc02b, 0xc030, 0xc02f, 0xc024,
                                          0xc023, 0xc028, 0xc027, 0xc00a, 0xc009, 0xc014, 0xc013,
                                          0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x000a};
    hello_spec schannel = {schannel_c, N(schannel_c), ext,        N(ext), x25519, 1, x25519,
                           1,          sigalgs,       N(sigalgs), 0,      0};
    m = classify(f, &schannel, NULL);
    CHECK(m.library == PQT_OBS_LIB_SCHANNEL && strcmp(m.family, "Windows (Schannel)") == 0);

    /* Apple: GREASE, AES-256 before AES-128 after the TLS 1.3 suites */
    static const uint16_t apple_c[] = {0x5a5a, 0x1301, 0x1302, 0x1303, 0xc02c, 0xc02b, 0xcca9,
                                       0xc030, 0xc02f, 0xcca8, 0xc00a, 0xc009, 0xc014, 0xc013};
    static const uint16_t apple_ext[] = {0x2a2a, 0x0000, 0x0017, 0xff01, 0x000a, 0x000b,
                                         0x0010, 0x0005, 0x000d, 0x0012, 0x0033, 0x002d,
                                         0x002b, 0x001b, 0x0015, 0x1a1a};
    hello_spec apple = {apple_c, N(apple_c), apple_ext, N(apple_ext), x25519, 1,
                        x25519,  1,          sigalgs,   N(sigalgs),   1,      0};
    m = classify(f, &apple, NULL);
    CHECK(m.library == PQT_OBS_LIB_APPLE && strcmp(m.family, "Safari (Apple)") == 0);
    pqt_obs_families_free(f);
}

static void test_names(void)
{
    CHECK(strcmp(pqt_obs_library_name(PQT_OBS_LIB_JSSE), "jsse") == 0);
    CHECK(strcmp(pqt_obs_library_name((pqt_obs_library)99), "unknown") == 0);
    CHECK(pqt_obs_library_from_name("schannel") == PQT_OBS_LIB_SCHANNEL);
    CHECK(pqt_obs_library_from_name("BoringSSL") == -1);
    CHECK(strcmp(pqt_obs_basis_name(PQT_OBS_BASIS_FEATURES), "features") == 0);
    CHECK(strcmp(pqt_obs_basis_name(PQT_OBS_BASIS_NONE), "none") == 0);
}

int main(void)
{
    test_builtin();
    test_user_files();
    test_documented_defaults();
    test_names();
    printf("test_observe_family: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
