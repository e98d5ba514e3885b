/*
 * TLS hello parsing and building against the RFC 8448 traces
 * (../shared/vectors/rfc8448/rfc8448.txt): every "ClientHello (N octets)"
 * and "ServerHello (N octets)" message in the document is parsed, the
 * fields a user sees (SNI, groups, key shares, cipher, version, HRR) are
 * checked for the traces of §3 (1-RTT, X25519) and §5 (HelloRetryRequest to
 * P-256), and every truncation of every message must fail cleanly.
 * Then ClientHellos built by pqt_hello_build_client parse back to their spec.
 *
 * Usage: test_tls_hello VECTORS_DIR
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/hello.h"

#define MAX_MSGS 64

#include "../check.h"

typedef struct {
    int is_client;
    size_t len;
    uint8_t data[2048];
    int line;
} msg;

static msg msgs[MAX_MSGS];
static size_t n_msgs;

/* Append the hex pairs of one text line; -1 if the line holds anything else. */
static int hex_line(const char *s, msg *m, size_t want)
{
    int any = 0;
    while (*s) {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
            (s[2] && !isspace((unsigned char)s[2]))) {
            return -1;
        }
        if (m->len == want || m->len == sizeof(m->data)) {
            return -1;
        }
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) {
            return -1;
        }
        m->data[m->len++] = (uint8_t)v;
        s += 2;
        any = 1;
    }
    return any;
}

/* Collect every labelled hello message; page breaks inside a block are
 * skipped by reading until the declared number of octets is reached. */
static int load(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int lineno = 0;
    msg *cur = NULL;
    size_t want = 0;
    if (f == NULL) {
        printf("FAIL cannot open %s\n", path);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (cur != NULL) {
            if (hex_line(line, cur, want) < 0 && cur->len == want) {
                cur = NULL;
            }
            if (cur != NULL && cur->len == want) {
                cur = NULL;
            }
            continue;
        }
        const char *c = strstr(line, "ClientHello (");
        const char *s = strstr(line, "ServerHello (");
        const char *lab = c ? c : s;
        if (lab == NULL || strstr(line, "prefix") != NULL) {
            continue;
        }
        char *colon = strstr(lab, "octets):");
        if (colon == NULL || n_msgs == MAX_MSGS) {
            continue;
        }
        want = strtoul(strchr(lab, '(') + 1, NULL, 10);
        cur = &msgs[n_msgs++];
        memset(cur, 0, sizeof(*cur));
        cur->is_client = c != NULL;
        cur->line = lineno;
        if (hex_line(colon + 8, cur, want) < 0) {
            printf("FAIL %s:%d: unreadable hex\n", path, lineno);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    for (size_t i = 0; i < n_msgs; i++) {
        if (msgs[i].len < 4) {
            printf("FAIL %s:%d: message too short\n", path, msgs[i].line);
            return -1;
        }
    }
    return 0;
}

static int has_group(const pqt_client_hello *ch, uint16_t g)
{
    for (size_t i = 0; i < ch->n_groups; i++) {
        if (pqt_u16_at(ch->groups, i) == g) {
            return 1;
        }
    }
    return 0;
}

/* Every message parses, every proper prefix fails, an extra byte fails. */
static void test_all_messages(void)
{
    size_t n_client = 0, n_server = 0, n_hrr = 0, n_partial = 0;
    for (size_t i = 0; i < n_msgs; i++) {
        msg *m = &msgs[i];
        uint32_t hlen = ((uint32_t)m->data[1] << 16) | ((uint32_t)m->data[2] << 8) | m->data[3];
        CHECK(m->data[0] == (m->is_client ? 1 : 2), "line %d: handshake type", m->line);
        const uint8_t *body = m->data + 4;
        size_t blen = m->len - 4;
        pqt_client_hello ch;
        pqt_server_hello sh;
        int r;
        if (hlen + 4 > m->len) {
            /* §4 prints the ClientHello up to the PSK binders (477 of 512
             * octets): a truncated message, and it must be reported so. */
            r = pqt_hello_parse_client(body, blen, &ch);
            CHECK(m->is_client && r == PQT_ERR_TRUNCATED, "line %d: partial hello gave %s", m->line,
                  pqt_errname(r));
            n_partial++;
            continue;
        }
        CHECK(hlen + 4 == m->len, "line %d: handshake length %u vs %zu octets", m->line, hlen,
              m->len);
        r = m->is_client ? pqt_hello_parse_client(body, blen, &ch)
                         : pqt_hello_parse_server(body, blen, &sh);
        CHECK(r == 0, "line %d: parse: %s", m->line, pqt_errname(r));
        n_client += m->is_client;
        n_server += !m->is_client;
        n_hrr += !m->is_client && r == 0 && sh.is_hrr;
        /* A hello may legally end right before its extensions block (the
         * TLS 1.2 form without extensions); every other prefix must fail. */
        size_t no_ext = 34 + 1 + (size_t)body[34];
        if (m->is_client) {
            no_ext += 2 + (((size_t)body[no_ext] << 8) | body[no_ext + 1]);
            no_ext += 1 + (size_t)body[no_ext];
        } else {
            no_ext += 2 + 1;
        }
        for (size_t cut = 0; cut < blen; cut++) {
            r = m->is_client ? pqt_hello_parse_client(body, cut, &ch)
                             : pqt_hello_parse_server(body, cut, &sh);
            CHECK((r == 0) == (cut == no_ext), "line %d: prefix of %zu bytes gave %s", m->line, cut,
                  pqt_errname(r));
        }
        uint8_t longer[2100];
        memcpy(longer, body, blen);
        longer[blen] = 0;
        r = m->is_client ? pqt_hello_parse_client(longer, blen + 1, &ch)
                         : pqt_hello_parse_server(longer, blen + 1, &sh);
        CHECK(r == PQT_ERR_TRAILING || r == PQT_ERR_TRUNCATED, "line %d: trailing byte: %s",
              m->line, pqt_errname(r));
    }
    printf("  rfc8448: %zu ClientHellos (+%zu partial), %zu ServerHellos (%zu HelloRetryRequest)\n",
           n_client, n_partial, n_server, n_hrr);
    CHECK(n_client >= 5 && n_server >= 6 && n_hrr == 1 && n_partial == 1, "message counts");
}

/* §3, the simple 1-RTT handshake: the first ClientHello and ServerHello. */
static void test_section3(void)
{
    pqt_client_hello ch;
    pqt_server_hello sh;
    if (n_msgs < 2 || !msgs[0].is_client || msgs[1].is_client) {
        CHECK(0, "first two messages are not ClientHello, ServerHello");
        return;
    }
    CHECK(pqt_hello_parse_client(msgs[0].data + 4, msgs[0].len - 4, &ch) == 0, "§3 CH");
    CHECK(ch.sni_len == 6 && memcmp(ch.sni, "server", 6) == 0, "§3 SNI 'server'");
    CHECK(ch.n_cipher_suites == 3 && pqt_u16_at(ch.cipher_suites, 0) == 0x1301, "§3 ciphers");
    CHECK(ch.n_groups == 9 && pqt_u16_at(ch.groups, 0) == PQT_GROUP_X25519 &&
              has_group(&ch, PQT_GROUP_SECP256R1) && has_group(&ch, PQT_GROUP_FFDHE8192),
          "§3 supported_groups");
    CHECK(ch.n_key_shares == 1 && ch.key_shares[0].group == PQT_GROUP_X25519 &&
              ch.key_shares[0].len == 32 && ch.key_shares[0].share[0] == 0x99,
          "§3 key_share x25519 (32 bytes, 99 38 1d ..)");
    CHECK(pqt_hello_client_max_version(&ch) == 0x0304, "§3 TLS 1.3 offered");
    CHECK(ch.n_sig_algs == 15 && pqt_u16_at(ch.sig_algs, 0) == 0x0403, "§3 signature_algorithms");
    CHECK(ch.n_ext == 9, "§3 nine extensions, got %zu", ch.n_ext);
    CHECK(pqt_hello_parse_server(msgs[1].data + 4, msgs[1].len - 4, &sh) == 0, "§3 SH");
    CHECK(!sh.is_hrr && sh.cipher_suite == 0x1301 && pqt_hello_server_version(&sh) == 0x0304,
          "§3 SH cipher/version");
    CHECK(sh.has_key_share && sh.key_share_group == PQT_GROUP_X25519 && sh.key_share_len == 32,
          "§3 SH key_share");
}

/* §5: HelloRetryRequest asking for secp256r1, and the second ClientHello. */
static void test_section5(void)
{
    for (size_t i = 0; i + 1 < n_msgs; i++) {
        pqt_server_hello sh;
        pqt_client_hello ch;
        if (msgs[i].is_client || pqt_hello_parse_server(msgs[i].data + 4, msgs[i].len - 4, &sh) ||
            !sh.is_hrr) {
            continue;
        }
        CHECK(sh.has_key_share && sh.key_share_group == PQT_GROUP_SECP256R1 && sh.key_share == NULL,
              "§5 HRR selects secp256r1");
        CHECK(sh.selected_version == 0x0304, "§5 HRR version");
        CHECK(msgs[i + 1].is_client &&
                  pqt_hello_parse_client(msgs[i + 1].data + 4, msgs[i + 1].len - 4, &ch) == 0 &&
                  ch.n_key_shares == 1 && ch.key_shares[0].group == PQT_GROUP_SECP256R1 &&
                  ch.key_shares[0].len == 65 && ch.key_shares[0].share[0] == 0x04,
              "§5 second ClientHello carries a 65-byte P-256 share");
        return;
    }
    CHECK(0, "no HelloRetryRequest found");
}

static void test_builder(void)
{
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};
    static const uint16_t groups[] = {PQT_GROUP_X25519MLKEM768, PQT_GROUP_X25519,
                                      PQT_GROUP_SECP256R1};
    static const uint16_t sigs[] = {0x0403, 0x0804, 0x0401};
    static const char *const alpn[] = {"h2", "http/1.1", NULL};
    uint8_t share1[1216], share2[32], random[32], sid[32], out[4096];
    memset(share1, 0x11, sizeof(share1));
    memset(share2, 0x22, sizeof(share2));
    memset(random, 0x33, sizeof(random));
    memset(sid, 0x44, sizeof(sid));
    pqt_key_share ks[2] = {{PQT_GROUP_X25519MLKEM768, share1, sizeof(share1)},
                           {PQT_GROUP_X25519, share2, sizeof(share2)}};
    size_t pads[] = {0, 1500, 2000};
    for (size_t p = 0; p < 3; p++) {
        pqt_client_hello_spec spec = {
            .sni = "example.test",
            .cipher_suites = suites,
            .n_cipher_suites = 3,
            .groups = groups,
            .n_groups = 3,
            .key_shares = ks,
            .n_key_shares = 2,
            .sig_algs = sigs,
            .n_sig_algs = 3,
            .alpn = alpn,
            .tls12_too = (int)p % 2,
            .pad_to = pads[p],
            .random = random,
            .session_id = sid,
        };
        size_t len = 0;
        int r = pqt_hello_build_client(&spec, out, sizeof(out), &len);
        CHECK(r == 0 && out[0] == 1, "build: %s", pqt_errname(r));
        pqt_client_hello ch;
        r = pqt_hello_parse_client(out + 4, len - 4, &ch);
        CHECK(r == 0, "built hello parses: %s", pqt_errname(r));
        CHECK(ch.sni_len == 12 && memcmp(ch.sni, "example.test", 12) == 0, "built SNI");
        CHECK(ch.n_key_shares == 2 && ch.key_shares[0].group == PQT_GROUP_X25519MLKEM768 &&
                  ch.key_shares[0].len == 1216 && ch.key_shares[1].len == 32,
              "built key shares");
        CHECK(ch.n_groups == 3 && pqt_u16_at(ch.groups, 0) == PQT_GROUP_X25519MLKEM768,
              "built groups");
        CHECK(ch.alpn_len == 12 && ch.alpn[0] == 2 && memcmp(ch.alpn + 1, "h2", 2) == 0,
              "built ALPN");
        CHECK(pqt_hello_client_max_version(&ch) == 0x0304 && ch.n_versions == (p % 2 ? 2u : 1u),
              "built versions");
        if (pads[p] > 0) {
            CHECK(len - 4 == pads[p], "padded body %zu, want %zu", len - 4, pads[p]);
        }
    }
    /* Too small an output buffer is an error, not an overrun. */
    pqt_client_hello_spec tiny = {.cipher_suites = suites,
                                  .n_cipher_suites = 1,
                                  .groups = groups,
                                  .n_groups = 1,
                                  .random = random};
    size_t len;
    CHECK(pqt_hello_build_client(&tiny, out, 40, &len) == PQT_ERR_LENGTH, "small buffer");
}

int main(int argc, char **argv)
{
    char path[1024];
    if (argc != 2 ||
        snprintf(path, sizeof(path), "%s/rfc8448/rfc8448.txt", argv[1]) >= (int)sizeof(path)) {
        printf("FAIL usage: test_tls_hello VECTORS_DIR\n");
        return 1;
    }
    if (load(path) != 0) {
        return 1;
    }
    test_all_messages();
    test_section3();
    test_section5();
    test_builder();
    printf("tls hello: %d checks, %d failed\n", checks, failures);
    return failures != 0;
}
