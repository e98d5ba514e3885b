/*
 * Fuzz the TLS hello parsers and the ClientHello builder.
 *
 * Input: byte 0 picks the parser (0: ClientHello, 1: ServerHello/HRR and
 * the client's checks on it, 2: TLS 1.2 ServerKeyExchange, 4: the client's
 * checks on EncryptedExtensions, others: record header), the rest is the
 * message body in an exact-size buffer, so AddressSanitizer sees any
 * over-read. The checks judge against a fixed ClientHello like the
 * scanner's (TLS 1.3 and 1.2, ALPN, one X25519MLKEM768 share).
 *
 * Properties: nothing crashes or reads outside the input; every pointer a
 * parser returns lies inside the input; a ClientHello that parses can be
 * rebuilt from its decoded fields by pqt_hello_build_client and the rebuilt
 * message parses back to the same SNI, groups and key shares.
 */
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/hello.h"

static int inside(const uint8_t *p, size_t n, const uint8_t *base, size_t size)
{
    return p == NULL ? n == 0 : (p >= base && n <= size && p - base <= (ptrdiff_t)(size - n));
}

static void check_client(const uint8_t *in, size_t size)
{
    pqt_client_hello ch;
    if (pqt_hello_parse_client(in, size, &ch) != 0) {
        return;
    }
    FUZZ_CHECK(inside(ch.random, 32, in, size));
    FUZZ_CHECK(inside(ch.cipher_suites, 2 * ch.n_cipher_suites, in, size));
    FUZZ_CHECK(inside(ch.sni, ch.sni_len, in, size));
    FUZZ_CHECK(inside(ch.alpn, ch.alpn_len, in, size));
    FUZZ_CHECK(inside(ch.groups, 2 * ch.n_groups, in, size));
    FUZZ_CHECK(ch.n_ext <= PQT_HELLO_MAX_EXTENSIONS && ch.n_key_shares <= PQT_HELLO_MAX_KEY_SHARES);
    for (size_t i = 0; i < ch.n_key_shares; i++) {
        FUZZ_CHECK(inside(ch.key_shares[i].share, ch.key_shares[i].len, in, size));
    }

    /* Rebuild from the decoded fields and parse again. */
    static uint16_t suites[32768], groups[32768];
    char sni[256];
    int use_sni =
        ch.sni != NULL && ch.sni_len < sizeof(sni) && memchr(ch.sni, 0, ch.sni_len) == NULL;
    if (use_sni) {
        memcpy(sni, ch.sni, ch.sni_len);
        sni[ch.sni_len] = 0;
    }
    for (size_t i = 0; i < ch.n_cipher_suites; i++) {
        suites[i] = pqt_u16_at(ch.cipher_suites, i);
    }
    for (size_t i = 0; i < ch.n_groups; i++) {
        groups[i] = pqt_u16_at(ch.groups, i);
    }
    pqt_client_hello_spec spec = {
        .sni = use_sni ? sni : NULL,
        .cipher_suites = suites,
        .n_cipher_suites = ch.n_cipher_suites,
        .groups = groups,
        .n_groups = ch.n_groups,
        .key_shares = ch.key_shares,
        .n_key_shares = ch.n_key_shares,
        .random = ch.random,
    };
    static uint8_t out[1 << 18];
    size_t len = 0;
    if (ch.n_groups == 0 || pqt_hello_build_client(&spec, out, sizeof(out), &len) != 0) {
        return; /* the builder needs supported_groups; overlong sets may not fit */
    }
    pqt_client_hello again;
    FUZZ_CHECK(len >= 4 && out[0] == PQT_TLS_HS_CLIENT_HELLO);
    FUZZ_CHECK(pqt_hello_parse_client(out + 4, len - 4, &again) == 0);
    FUZZ_CHECK(again.n_groups == ch.n_groups && again.n_key_shares == ch.n_key_shares);
    FUZZ_CHECK(!use_sni ||
               (again.sni_len == ch.sni_len && memcmp(again.sni, ch.sni, ch.sni_len) == 0));
    for (size_t i = 0; i < ch.n_key_shares; i++) {
        FUZZ_CHECK(
            again.key_shares[i].group == ch.key_shares[i].group &&
            again.key_shares[i].len == ch.key_shares[i].len &&
            memcmp(again.key_shares[i].share, ch.key_shares[i].share, ch.key_shares[i].len) == 0);
    }
}

/* The ClientHello the server's messages are judged against. */
static const pqt_client_hello *client(void)
{
    static uint8_t buf[4096];
    static pqt_client_hello ch;
    static int ready;
    if (!ready) {
        static const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F};
        static const uint16_t groups[] = {0x11EC, 0x001D, 0x0017};
        static const uint16_t sigs[] = {0x0403, 0x0804};
        static const char *const alpn[] = {"h2", "http/1.1", NULL};
        static uint8_t random[32], sid[32], share[1216];
        pqt_key_share ks = {.group = 0x11EC, .share = share, .len = sizeof(share)};
        pqt_client_hello_spec spec = {.sni = "server.example",
                                      .cipher_suites = suites,
                                      .n_cipher_suites = 5,
                                      .groups = groups,
                                      .n_groups = 3,
                                      .key_shares = &ks,
                                      .n_key_shares = 1,
                                      .sig_algs = sigs,
                                      .n_sig_algs = 2,
                                      .alpn = alpn,
                                      .tls12_too = 1,
                                      .random = random,
                                      .session_id = sid};
        size_t len = 0;
        FUZZ_CHECK(pqt_hello_build_client(&spec, buf, sizeof(buf), &len) == 0);
        FUZZ_CHECK(pqt_hello_parse_client(buf + 4, len - 4, &ch) == 0);
        ready = 1;
    }
    return &ch;
}

/* 0 or one of the named codes of pqt_hello_check_*: never an unknown one. */
static int known(int r)
{
    return r == 0 || strcmp(pqt_errname(r), "PQT_ERR_UNKNOWN") != 0;
}

static void check_server(const uint8_t *in, size_t size)
{
    pqt_server_hello sh;
    int r = pqt_hello_parse_server(in, size, &sh);
    if (r != 0) {
        return;
    }
    const pqt_client_hello *ch = client();
    uint16_t what = 0;
    r = pqt_hello_check_server(ch, &sh, &what);
    FUZZ_CHECK(known(r) && (r == 0 || r <= PQT_ERR_TLS_VERSION));
    if (r == 0 && sh.selected_version != 0) {
        /* What a TLS 1.3 answer that passed must be. */
        FUZZ_CHECK(sh.selected_version == 0x0304 && sh.legacy_version == 0x0303);
        FUZZ_CHECK(sh.compression == 0 && (sh.cipher_suite >> 8) == 0x13);
        FUZZ_CHECK(sh.session_id_len == 32 && memcmp(sh.session_id, ch->session_id, 32) == 0);
    }
    FUZZ_CHECK(inside(sh.random, 32, in, size));
    FUZZ_CHECK(inside(sh.session_id, sh.session_id_len, in, size));
    FUZZ_CHECK(inside(sh.key_share, sh.key_share_len, in, size));
    FUZZ_CHECK(!sh.is_hrr || sh.key_share == NULL);
    for (size_t i = 0; i < sh.n_ext; i++) {
        FUZZ_CHECK(inside(sh.ext[i].data, sh.ext[i].len, in, size));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t n = size - 1;
    uint8_t *in = malloc(n ? n : 1);
    FUZZ_CHECK(in != NULL);
    memcpy(in, data + 1, n);
    switch (data[0] & 7) {
    case 0:
        check_client(in, n);
        break;
    case 1:
        check_server(in, n);
        break;
    case 2: {
        uint16_t g = 0;
        if (pqt_hello_parse_server_key_exchange_group(in, n, &g) == 0) {
            FUZZ_CHECK(n >= 3 && in[0] == 3 && g == ((in[1] << 8) | in[2]));
        }
        break;
    }
    case 4: {
        uint16_t what = 0;
        int r = pqt_hello_check_encrypted_extensions(client(), in, n, &what);
        FUZZ_CHECK(known(r) && (r != 0 || what == 0));
        break;
    }
    default: {
        pqt_reader r = pqt_reader_make(in, n);
        pqt_record_header h;
        if (pqt_record_header_parse(&r, &h) == 0) {
            FUZZ_CHECK(pqt_reader_left(&r) == n - 5 && h.length <= PQT_TLS_MAX_RECORD + 2048);
        } else {
            FUZZ_CHECK(pqt_reader_left(&r) == n); /* cursor unmoved on failure */
        }
        break;
    }
    }
    free(in);
    return 0;
}
