/*
 * The client-side rules on a server's hellos (pqt_hello_check_server,
 * pqt_hello_check_encrypted_extensions): a correct ServerHello,
 * HelloRetryRequest and EncryptedExtensions pass, and each broken rule of
 * RFC 8446 §4.1.3, §4.1.4 and §4.2 gives its own error, one at a time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/hello.h"

#include "../check.h"

static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

/* What a test ServerHello looks like; each field one rule away from right. */
typedef struct {
    int hrr;
    uint16_t legacy_version;
    const uint8_t *random; /* NULL: a plain one */
    int sid_flip;          /* change one byte of the session id echo */
    int sid_empty;         /* echo none */
    uint16_t suite;
    uint8_t compression;
    int versions; /* 0: no supported_versions; else its value */
    int versions_twice;
    int key_share; /* 0: none; else the group */
    int cookie;
    uint16_t extra; /* an extra extension type (0: none) */
} sh_spec;

static const uint8_t sid[32] = {7, 7, 7, 7, 9};

static size_t build_sh(const sh_spec *p, uint8_t *out, size_t cap)
{
    static const uint8_t rnd[32] = {1, 2, 3};
    pqt_writer w;
    size_t len = 0;
    uint8_t s[32];
    memcpy(s, sid, 32);
    s[3] ^= (uint8_t)p->sid_flip;
    pqt_writer_init(&w, out, cap);
    pqt_writer_u16(&w, p->legacy_version);
    pqt_writer_bytes(&w, p->hrr ? hrr_random : p->random ? p->random : rnd, 32);
    pqt_writer_open(&w, 1);
    if (!p->sid_empty) {
        pqt_writer_bytes(&w, s, 32);
    }
    pqt_writer_close(&w);
    pqt_writer_u16(&w, p->suite);
    pqt_writer_u8(&w, p->compression);
    pqt_writer_open(&w, 2);
    for (int i = 0; i < (p->versions_twice ? 2 : p->versions ? 1 : 0); i++) {
        pqt_writer_u16(&w, PQT_TLS_EXT_SUPPORTED_VERSIONS);
        pqt_writer_open(&w, 2);
        pqt_writer_u16(&w, (uint16_t)p->versions);
        pqt_writer_close(&w);
    }
    if (p->key_share) {
        pqt_writer_u16(&w, PQT_TLS_EXT_KEY_SHARE);
        pqt_writer_open(&w, 2);
        pqt_writer_u16(&w, (uint16_t)p->key_share);
        if (!p->hrr) {
            pqt_writer_open(&w, 2);
            pqt_writer_zeros(&w, 32);
            pqt_writer_close(&w);
        }
        pqt_writer_close(&w);
    }
    if (p->cookie) {
        pqt_writer_u16(&w, PQT_TLS_EXT_COOKIE);
        pqt_writer_open(&w, 2);
        pqt_writer_open(&w, 2);
        pqt_writer_bytes(&w, "c00k1e", 6);
        pqt_writer_close(&w);
        pqt_writer_close(&w);
    }
    if (p->extra) {
        pqt_writer_u16(&w, p->extra);
        pqt_writer_open(&w, 2);
        if (p->extra == PQT_TLS_EXT_ALPN) {
            pqt_writer_bytes(&w, "\x00\x03\x02h2", 5);
        }
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, &len) == 0 ? len : 0;
}

/* The client side: TLS 1.3 and 1.2 suites, groups with one X25519 share,
 * ALPN h2 and http/1.1, a 32-byte session id; tls12 offers TLS 1.2 too.
 * Each parsed hello points into its own buffer, kept to the end. */
static uint8_t ch_bufs[4][2048];
static int ch_used;

static int client_hello(int tls12, int with_alpn, pqt_client_hello *ch)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xC02F};
    static const uint16_t groups[] = {0x11EC, 0x001D, 0x0017};
    static const uint16_t sigs[] = {0x0403, 0x0804};
    static const char *const alpn[] = {"h2", "http/1.1", NULL};
    static const uint8_t random[32] = {5};
    uint8_t share[32] = {9};
    pqt_key_share ks = {.group = 0x001D, .share = share, .len = 32};
    pqt_client_hello_spec spec = {
        .sni = "server.example",
        .cipher_suites = suites,
        .n_cipher_suites = tls12 ? 4 : 3,
        .groups = groups,
        .n_groups = 3,
        .key_shares = &ks,
        .n_key_shares = 1,
        .sig_algs = sigs,
        .n_sig_algs = 2,
        .alpn = with_alpn ? alpn : NULL,
        .tls12_too = tls12,
        .random = random,
        .session_id = sid,
    };
    size_t len = 0;
    uint8_t *buf = ch_bufs[ch_used++ % 4];
    if (pqt_hello_build_client(&spec, buf, sizeof(ch_bufs[0]), &len) != 0) {
        return -1;
    }
    return pqt_hello_parse_client(buf + 4, len - 4, ch);
}

static const uint8_t downgrade12[32] = {[24] = 'D', 'O', 'W', 'N', 'G', 'R', 'D', 1};
static const uint8_t downgrade11[32] = {[24] = 'D', 'O', 'W', 'N', 'G', 'R', 'D', 0};

static void test_server_hello(void)
{
    pqt_client_hello ch13, ch12;
    CHECK(client_hello(0, 1, &ch13) == 0 && client_hello(1, 1, &ch12) == 0, "client hellos");
    const sh_spec good = {
        .legacy_version = 0x0303, .suite = 0x1301, .versions = 0x0304, .key_share = 0x001D};
    const sh_spec good_hrr = {.hrr = 1,
                              .legacy_version = 0x0303,
                              .suite = 0x1301,
                              .versions = 0x0304,
                              .key_share = 0x11EC};
    const sh_spec good12 = {.legacy_version = 0x0303, .suite = 0xC02F};
    static const struct {
        const char *what;
        int tls12; /* the ClientHello offers TLS 1.2 too */
        int base;  /* 0 SH, 1 HRR, 2 TLS 1.2 SH */
        int field;
        int want;
        uint16_t want_what;
    } cases[] = {
        {"TLS 1.3 ServerHello", 0, 0, 0, 0, 0},
        {"HelloRetryRequest for a new group", 0, 1, 0, 0, 0},
        {"HelloRetryRequest with a cookie only", 0, 1, 1, 0, 0},
        {"TLS 1.2 ServerHello to a client offering 1.2", 1, 2, 0, 0, 0},
        {"session id echo differs", 0, 0, 2, PQT_ERR_TLS_SESSION_ID, 0},
        {"session id echo missing", 0, 0, 3, PQT_ERR_TLS_SESSION_ID, 0},
        {"HRR session id echo differs", 0, 1, 2, PQT_ERR_TLS_SESSION_ID, 0},
        {"compression 1", 0, 0, 4, PQT_ERR_TLS_COMPRESSION, 1},
        {"TLS 1.2 compression 1", 1, 2, 4, PQT_ERR_TLS_COMPRESSION, 1},
        {"ALPN in a ServerHello", 0, 0, 5, PQT_ERR_TLS_EXT_NOT_ALLOWED, PQT_TLS_EXT_ALPN},
        {"unknown extension in a ServerHello", 0, 0, 6, PQT_ERR_TLS_EXT_UNSOLICITED, 0xFE77},
        {"cookie in a ServerHello", 0, 0, 1, PQT_ERR_TLS_EXT_NOT_ALLOWED, PQT_TLS_EXT_COOKIE},
        {"pre_shared_key never offered", 0, 0, 7, PQT_ERR_TLS_EXT_UNSOLICITED, 41},
        {"ALPN in a HelloRetryRequest", 0, 1, 5, PQT_ERR_TLS_EXT_NOT_ALLOWED, PQT_TLS_EXT_ALPN},
        {"unsolicited extension in TLS 1.2", 1, 2, 6, PQT_ERR_TLS_EXT_UNSOLICITED, 0xFE77},
        {"renegotiation_info unasked in TLS 1.2", 1, 2, 8, 0, 0},
        {"key_share in TLS 1.2", 1, 2, 9, PQT_ERR_TLS_EXT_NOT_ALLOWED, PQT_TLS_EXT_KEY_SHARE},
        {"supported_versions twice", 0, 0, 10, PQT_ERR_TLS_EXT_DUPLICATE, 0},
        {"HRR changing nothing", 0, 1, 11, PQT_ERR_TLS_HRR_NO_CHANGE, 0},
        {"HRR without supported_versions", 0, 1, 12, PQT_ERR_TLS_VERSION, 0x0303},
        {"supported_versions 0x0305", 0, 0, 13, PQT_ERR_TLS_VERSION, 0x0305},
        {"supported_versions 0x0303", 1, 0, 14, PQT_ERR_TLS_VERSION, 0x0303},
        {"legacy_version 0x0304", 0, 0, 15, PQT_ERR_TLS_LEGACY_VERSION, 0x0304},
        {"TLS 1.3 suite not offered", 0, 0, 16, PQT_ERR_TLS_CIPHER, 0x1304},
        {"TLS 1.2 suite in TLS 1.3", 1, 0, 17, PQT_ERR_TLS_CIPHER, 0xC02F},
        {"TLS 1.3 suite in TLS 1.2", 1, 2, 18, PQT_ERR_TLS_CIPHER, 0x1301},
        {"TLS 1.2 with the TLS 1.2 sentinel", 1, 2, 19, PQT_ERR_TLS_DOWNGRADE, 0x0303},
        {"TLS 1.1 with the TLS 1.1 sentinel", 0, 2, 20, PQT_ERR_TLS_DOWNGRADE, 0x0302},
        {"TLS 1.2 to a TLS 1.3-only client", 0, 2, 0, PQT_ERR_TLS_VERSION, 0x0303},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sh_spec p = cases[i].base == 0 ? good : cases[i].base == 1 ? good_hrr : good12;
        switch (cases[i].field) {
        case 1:
            p.cookie = 1;
            p.key_share = cases[i].base == 1 ? 0 : p.key_share;
            break;
        case 2:
            p.sid_flip = 1;
            break;
        case 3:
            p.sid_empty = 1;
            break;
        case 4:
            p.compression = 1;
            break;
        case 5:
            p.extra = PQT_TLS_EXT_ALPN;
            break;
        case 6:
            p.extra = 0xFE77;
            break;
        case 7:
            p.extra = 41;
            break;
        case 8:
            p.extra = PQT_TLS_EXT_RENEGOTIATION_INFO;
            break;
        case 9:
            p.key_share = 0x001D;
            break;
        case 10:
            p.versions_twice = 1;
            break;
        case 11:
            p.key_share = 0;
            break;
        case 12:
            p.versions = 0;
            break;
        case 13:
            p.versions = 0x0305;
            break;
        case 14:
            p.versions = 0x0303;
            break;
        case 15:
            p.legacy_version = 0x0304;
            break;
        case 16:
            p.suite = 0x1304;
            break;
        case 17:
            p.suite = 0xC02F;
            break;
        case 18:
            p.suite = 0x1301;
            break;
        case 19:
            p.random = downgrade12;
            break;
        case 20:
            p.random = downgrade11;
            p.legacy_version = 0x0302;
            break;
        }
        uint8_t buf[512];
        size_t n = build_sh(&p, buf, sizeof(buf));
        pqt_server_hello sh;
        int r = pqt_hello_parse_server(buf, n, &sh);
        uint16_t what = 0xFFFF;
        if (r == 0) {
            r = pqt_hello_check_server(cases[i].tls12 ? &ch12 : &ch13, &sh, &what);
        } else {
            what = 0; /* the parser refuses duplicates before any check */
        }
        CHECK(n > 0 && r == cases[i].want && (r == 0 || what == cases[i].want_what),
              "%s: %s (what 0x%04x), want %s (0x%04x)", cases[i].what, pqt_errname(r), what,
              pqt_errname(cases[i].want), cases[i].want_what);
        CHECK(r == 0 || pqt_err_tls_alert(r) == (r == PQT_ERR_TLS_EXT_UNSOLICITED ? 110 : 47),
              "%s: alert %d", cases[i].what, pqt_err_tls_alert(r));
    }
}

static size_t build_ee(const uint16_t *types, const char *const *bodies, const size_t *lens,
                       size_t n, uint8_t *out, size_t cap)
{
    pqt_writer w;
    size_t len = 0;
    pqt_writer_init(&w, out, cap);
    pqt_writer_open(&w, 2);
    for (size_t i = 0; i < n; i++) {
        pqt_writer_u16(&w, types[i]);
        pqt_writer_open(&w, 2);
        pqt_writer_bytes(&w, bodies[i], lens[i]);
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, &len) == 0 ? len : 0;
}

static void test_encrypted_extensions(void)
{
    pqt_client_hello ch, no_alpn;
    CHECK(client_hello(0, 1, &ch) == 0, "client hello");
    static const struct {
        const char *what;
        size_t n;
        uint16_t types[2];
        const char *bodies[2];
        size_t lens[2];
        int want;
        uint16_t want_what;
    } cases[] = {
        {"empty", 0, {0}, {NULL}, {0}, 0, 0},
        {"ALPN h2", 1, {16}, {"\x00\x03\x02h2"}, {5}, 0, 0},
        {"ALPN http/1.1 and groups",
         2,
         {16, 10},
         {"\x00\x09\x08http/1.1", "\x00\x02\x00\x1d"},
         {11, 4},
         0,
         0},
        {"empty server_name", 1, {0}, {""}, {0}, 0, 0},
        {"ALPN h9 never offered", 1, {16}, {"\x00\x03\x02h9"}, {5}, PQT_ERR_TLS_ALPN, 16},
        {"ALPN with two names", 1, {16}, {"\x00\x06\x02h2\x02h2"}, {8}, PQT_ERR_TLS_ALPN, 16},
        {"ALPN empty list", 1, {16}, {"\x00\x00"}, {2}, PQT_ERR_TRUNCATED, 16},
        {"key_share", 1, {51}, {"\x00\x1d\x00\x00"}, {4}, PQT_ERR_TLS_EXT_NOT_ALLOWED, 51},
        {"max_fragment_length unasked", 1, {1}, {"\x01"}, {1}, PQT_ERR_TLS_EXT_UNSOLICITED, 1},
        {"unknown type unasked", 1, {0xFE77}, {""}, {0}, PQT_ERR_TLS_EXT_UNSOLICITED, 0xFE77},
        {"supported_groups twice",
         2,
         {10, 10},
         {"\x00\x02\x00\x1d", "\x00\x02\x00\x1d"},
         {4, 4},
         PQT_ERR_TLS_EXT_DUPLICATE,
         10},
        {"non-empty server_name", 1, {0}, {"\x00"}, {1}, PQT_ERR_SYNTAX, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[256];
        size_t n =
            build_ee(cases[i].types, cases[i].bodies, cases[i].lens, cases[i].n, buf, sizeof(buf));
        uint16_t what = 0xFFFF;
        int r = pqt_hello_check_encrypted_extensions(&ch, buf, n, &what);
        CHECK(n > 0 && r == cases[i].want && (r == 0 || what == cases[i].want_what),
              "EncryptedExtensions %s: %s (0x%04x), want %s", cases[i].what, pqt_errname(r), what,
              pqt_errname(cases[i].want));
    }
    /* A client that sent no ALPN: the same answer is unsolicited. */
    {
        uint8_t buf[64];
        static const uint16_t t[1] = {16};
        static const char *const b[1] = {"\x00\x03\x02h2"};
        static const size_t l[1] = {5};
        size_t n = build_ee(t, b, l, 1, buf, sizeof(buf));
        uint16_t what = 0;
        CHECK(client_hello(0, 0, &no_alpn) == 0 &&
                  pqt_hello_check_encrypted_extensions(&no_alpn, buf, n, &what) ==
                      PQT_ERR_TLS_EXT_UNSOLICITED &&
                  what == 16,
              "ALPN answer to a client that sent none: unsolicited");
    }
    /* Bodies that do not parse: every cut of a good one. */
    uint8_t buf[64];
    static const uint16_t t[1] = {16};
    static const char *const b[1] = {"\x00\x03\x02h2"};
    static const size_t l[1] = {5};
    size_t n = build_ee(t, b, l, 1, buf, sizeof(buf));
    for (size_t cut = 0; cut < n; cut++) {
        CHECK(pqt_hello_check_encrypted_extensions(&ch, buf, cut, NULL) != 0, "cut at %zu", cut);
    }
    buf[n] = 0;
    CHECK(pqt_hello_check_encrypted_extensions(&ch, buf, n + 1, NULL) == PQT_ERR_TRAILING,
          "a byte after the block");
}

int main(void)
{
    test_server_hello();
    test_encrypted_extensions();
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
