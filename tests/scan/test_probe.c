/*
 * Unit tests for src/scan/probe.c: the probe state machine fed by an
 * in-memory server that runs a real hybrid key exchange
 * (pqt_hybrid_server_respond + the key schedule), continues a
 * HelloRetryRequest, or misbehaves on purpose; hostile byte streams; the
 * hellos of the segmentation and legacy probes; the certificate facts (the
 * DER walk against d2i_X509); and the classical key exchange the probes use
 * (pqt_hybrid_client_new_classical).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pqtls/groups.h"
#include "pqtls/hello.h"
#include "pqtls/hybrid.h"
#include "pqtls/keyschedule.h"
#include "pqtls/scan.h"

#include "../check.h"

/* ---- probe sessions against an in-memory server ---------------------------- */

static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

typedef struct {
    uint8_t buf[16384];
    size_t len;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

/* ServerHello (or HRR) handshake message for the given ClientHello. */
/* One rule of RFC 8446 a server can break in its hello or its
 * EncryptedExtensions (BRK_NONE: none). */
enum {
    BRK_NONE,
    BRK_SESSION_ID,
    BRK_COMPRESSION,
    BRK_SH_ALPN,
    BRK_SH_UNKNOWN,
    BRK_VERSION_0305,
    BRK_LEGACY_VERSION,
    BRK_SUITE_1304,
    BRK_HRR_NO_CHANGE,
    BRK_EE_UNSOLICITED,
    BRK_EE_KEY_SHARE,
    BRK_EE_ALPN_H9,
    BRK_EE_TWICE,
};
static int brk; /* the rule the in-memory server breaks */

static size_t server_hello(const pqt_client_hello *ch, int hrr, uint16_t group,
                           const uint8_t *share, size_t share_len, uint8_t *out, size_t cap)
{
    pqt_writer w;
    static const uint8_t rnd[32] = {1, 2, 3};
    size_t len = 0;
    pqt_writer_init(&w, out, cap);
    pqt_writer_u8(&w, PQT_TLS_HS_SERVER_HELLO);
    pqt_writer_open(&w, 3);
    pqt_writer_u16(&w, brk == BRK_LEGACY_VERSION ? 0x0304 : 0x0303);
    pqt_writer_bytes(&w, hrr ? hrr_random : rnd, 32);
    pqt_writer_open(&w, 1);
    pqt_writer_bytes(&w, ch->session_id, ch->session_id_len - (brk == BRK_SESSION_ID));
    pqt_writer_close(&w);
    pqt_writer_u16(&w, brk == BRK_SUITE_1304 ? 0x1304 : 0x1301);
    pqt_writer_u8(&w, brk == BRK_COMPRESSION);
    pqt_writer_open(&w, 2);
    pqt_writer_u16(&w, PQT_TLS_EXT_SUPPORTED_VERSIONS);
    pqt_writer_open(&w, 2);
    pqt_writer_u16(&w, brk == BRK_VERSION_0305 ? 0x0305 : 0x0304);
    pqt_writer_close(&w);
    if (brk != BRK_HRR_NO_CHANGE) {
        pqt_writer_u16(&w, PQT_TLS_EXT_KEY_SHARE);
        pqt_writer_open(&w, 2);
        pqt_writer_u16(&w, group);
        if (!hrr) {
            pqt_writer_open(&w, 2);
            pqt_writer_bytes(&w, share, share_len);
            pqt_writer_close(&w);
        }
        pqt_writer_close(&w);
    }
    if (brk == BRK_SH_ALPN || brk == BRK_SH_UNKNOWN) {
        pqt_writer_u16(&w, brk == BRK_SH_ALPN ? PQT_TLS_EXT_ALPN : 0xFE77);
        pqt_writer_open(&w, 2);
        pqt_writer_bytes(&w, "\x00\x03\x02h2", brk == BRK_SH_ALPN ? 5 : 0);
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    if (pqt_writer_finish(&w, &len) != 0) {
        return 0;
    }
    return len;
}

static void record(bytes *b, uint8_t type, const uint8_t *p, size_t n)
{
    uint8_t h[5] = {type, 3, 3, (uint8_t)(n >> 8), (uint8_t)n};
    put(b, h, 5);
    put(b, p, n);
}

enum { SRV_GOOD, SRV_SHORT_SHARE, SRV_BAD_RECORD, SRV_WRONG_GROUP, SRV_HRR, SRV_NOT_EE };

/* Answer a probe's ClientHello like a hybrid TLS 1.3 server would (or
 * with one deliberate defect). */
static int serve(const uint8_t *rec, size_t rec_len, int mode, bytes *out)
{
    pqt_client_hello ch;
    uint8_t sh[4096], ss[2048], secret[128], th[48];
    size_t ss_len = 0, secret_len = 0;
    out->len = 0;
    if (pqt_hello_parse_client(rec + 9, rec_len - 9, &ch) != 0 || ch.n_key_shares == 0) {
        return -1;
    }
    const pqt_key_share *ks = &ch.key_shares[0];
    if (mode == SRV_HRR) {
        size_t n = server_hello(&ch, 1, PQT_GROUP_X25519MLKEM768, NULL, 0, sh, sizeof(sh));
        record(out, 22, sh, n);
        return 0;
    }
    if (pqt_hybrid_server_respond(ks->group, ks->share, ks->len, ss, sizeof(ss), &ss_len, secret,
                                  sizeof(secret), &secret_len) != 0) {
        return -1;
    }
    uint16_t group = mode == SRV_WRONG_GROUP ? PQT_GROUP_SECP521R1 : ks->group;
    size_t n = server_hello(&ch, 0, group, ss, mode == SRV_SHORT_SHARE ? ss_len - 1 : ss_len, sh,
                            sizeof(sh));
    record(out, 22, sh, n);
    static const uint8_t ccs = 1;
    record(out, 20, &ccs, 1);

    pqt_ks_secrets k;
    pqt_record_keys rk;
    const uint8_t *parts[2] = {rec + 5, sh};
    size_t lens[2] = {rec_len - 5, n};
    if (pqt_ks_transcript(PQT_KS_SHA256, parts, lens, 2, th) != 0 ||
        pqt_ks_early(&k, PQT_KS_SHA256, NULL, 0, NULL) != 0 ||
        pqt_ks_handshake(&k, secret, secret_len, th) != 0 ||
        pqt_record_keys_init(&rk, 0x1301, k.server_hs_traffic) != 0) {
        return -1;
    }
    /* EncryptedExtensions (empty, or with the extension brk asks for),
     * then a CertificateVerify stub. */
    static const struct {
        int brk;
        uint8_t len;
        uint8_t ext[16];
    } ee[] = {
        {BRK_EE_UNSOLICITED, 5, {0x00, 0x01, 0x00, 0x01, 0x01}},
        {BRK_EE_KEY_SHARE, 8, {0x00, 0x33, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x00}},
        {BRK_EE_ALPN_H9, 9, {0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, 'h', '9'}},
        {BRK_EE_TWICE, 16, {0, 10, 0, 4, 0, 2, 0, 0x1d, 0, 10, 0, 4, 0, 2, 0, 0x1d}},
    };
    uint8_t flight[64] = {mode == SRV_NOT_EE ? 11 : 8, 0, 0, 2, 0, 0};
    size_t flight_len = 6;
    for (size_t i = 0; i < sizeof(ee) / sizeof(ee[0]); i++) {
        if (ee[i].brk == brk) {
            memcpy(flight + 6, ee[i].ext, ee[i].len);
            flight[3] = (uint8_t)(2 + ee[i].len);
            flight[5] = ee[i].len;
            flight_len += ee[i].len;
        }
    }
    memcpy(flight + flight_len, "\x0f\x00\x00\x04\x08\x04\x00\x00", 8);
    flight_len += 8;
    uint8_t prot[256];
    size_t prot_len = 0;
    if (pqt_record_encrypt(&rk, 22, flight, flight_len, prot, sizeof(prot), &prot_len) != 0) {
        return -1;
    }
    if (mode == SRV_BAD_RECORD) {
        prot[10] ^= 0x80;
    }
    put(out, prot, prot_len);
    return 0;
}

/*
 * A server that prefers X25519MLKEM768 via HelloRetryRequest, checked from
 * its side: the second ClientHello must repeat the first (same random and
 * session id, RFC 8446 §4.1.2) with one share for the asked group and the
 * cookie echoed; the transcript starts with message_hash(ClientHello1)
 * (§4.4.1), computed here independently of the scanner.
 */
enum {
    HRR_GOOD,
    HRR_COOKIE,
    HRR_SH2_WRONG_GROUP,
    HRR_TWICE,
    HRR_CLOSE,
    HRR_SH2_WRONG_SUITE,
    HRR_COOKIE_ONLY, /* no key_share: the same shares again, cookie echoed */
};

static const uint8_t test_cookie[] = "opaque-cookie-0123456789";

static size_t hrr_message(const pqt_client_hello *ch, uint16_t group, int cookie, uint8_t *out,
                          size_t cap)
{
    pqt_writer w;
    size_t len = 0;
    pqt_writer_init(&w, out, cap);
    pqt_writer_u8(&w, PQT_TLS_HS_SERVER_HELLO);
    pqt_writer_open(&w, 3);
    pqt_writer_u16(&w, 0x0303);
    pqt_writer_bytes(&w, hrr_random, 32);
    pqt_writer_open(&w, 1);
    pqt_writer_bytes(&w, ch->session_id, ch->session_id_len);
    pqt_writer_close(&w);
    pqt_writer_u16(&w, 0x1302); /* SHA-384: the message_hash length is 48 */
    pqt_writer_u8(&w, 0);
    pqt_writer_open(&w, 2);
    pqt_writer_u16(&w, PQT_TLS_EXT_SUPPORTED_VERSIONS);
    pqt_writer_open(&w, 2);
    pqt_writer_u16(&w, 0x0304);
    pqt_writer_close(&w);
    if (group != 0) {
        pqt_writer_u16(&w, PQT_TLS_EXT_KEY_SHARE);
        pqt_writer_open(&w, 2);
        pqt_writer_u16(&w, group);
        pqt_writer_close(&w);
    }
    if (cookie) {
        pqt_writer_u16(&w, PQT_TLS_EXT_COOKIE);
        pqt_writer_open(&w, 2);
        pqt_writer_open(&w, 2);
        pqt_writer_bytes(&w, test_cookie, sizeof(test_cookie) - 1);
        pqt_writer_close(&w);
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, &len) == 0 ? len : 0;
}

/* The browser probe already sends an X25519MLKEM768 share: a server that
 * wants P-384 asks for it. hrr-preference is asked for the hybrid. */
static uint16_t hrr_group_for(int probe)
{
    return probe == PQT_PROBE_BROWSER ? PQT_GROUP_SECP384R1 : PQT_GROUP_X25519MLKEM768;
}

static const pqt_probe_result *run_hrr(pqt_probe_session **s, int probe, int mode, int bytewise)
{
    const int cookie_only = mode == HRR_COOKIE_ONLY;
    uint16_t want = hrr_group_for(probe);
    const uint8_t *rec, *rec2;
    size_t len, len2, split;
    pqt_client_hello ch1, ch2;
    uint8_t hrr[512], sh[4096], ss[2048], secret[128], th[48], ch1_hash[48];
    uint8_t synthetic[4 + 48];
    size_t ss_len = 0, secret_len = 0;
    bytes answer;
    int r;

    *s = NULL;
    if (pqt_probe_session_new(probe, "server.example", s) != 0) {
        CHECK(0, "session_new");
        return NULL;
    }
    pqt_probe_session_hello(*s, &rec, &len, &split);
    CHECK(pqt_hello_parse_client(rec + 9, len - 9, &ch1) == 0, "ClientHello 1 parses");
    answer.len = 0;
    if (cookie_only) {
        want = ch1.key_shares[0].group;
    }
    size_t hrr_len = hrr_message(&ch1, cookie_only ? 0 : want, mode == HRR_COOKIE || cookie_only,
                                 hrr, sizeof(hrr));
    record(&answer, 22, hrr, hrr_len);
    static const uint8_t ccs = 1;
    record(&answer, 20, &ccs, 1); /* middlebox compatibility (RFC 8446 D.4) */
    r = 0;
    for (size_t i = 0; i < answer.len && r == 0; i += bytewise ? 1 : answer.len) {
        r = pqt_probe_session_feed(*s, answer.buf + i, bytewise ? 1 : answer.len);
    }
    CHECK(r == 0, "%s: the HRR does not end the probe", pqt_probe_name(probe));
    len2 = pqt_probe_session_output(*s, &rec2);
    CHECK(len2 > 9 && rec2[0] == 22 && rec2[1] == 3 && rec2[2] == 3,
          "a second ClientHello record (0x0303) is ready (%zu bytes)", len2);
    if (len2 <= 9) {
        return pqt_probe_session_result(*s);
    }
    pqt_probe_session_output_taken(*s);
    const uint8_t *none = NULL;
    CHECK(pqt_probe_session_output(*s, &none) == 0, "the output is taken once");
    CHECK(pqt_hello_parse_client(rec2 + 9, len2 - 9, &ch2) == 0, "ClientHello 2 parses");
    CHECK(memcmp(ch1.random, ch2.random, 32) == 0 && ch2.session_id_len == 32 &&
              memcmp(ch1.session_id, ch2.session_id, 32) == 0,
          "ClientHello 2 repeats the random and session id");
    if (cookie_only) {
        int same = ch2.n_key_shares == ch1.n_key_shares;
        for (size_t i = 0; same && i < ch1.n_key_shares; i++) {
            same = ch2.key_shares[i].group == ch1.key_shares[i].group &&
                   ch2.key_shares[i].len == ch1.key_shares[i].len &&
                   memcmp(ch2.key_shares[i].share, ch1.key_shares[i].share,
                          ch1.key_shares[i].len) == 0;
        }
        CHECK(same, "after a cookie-only HRR, ClientHello 2 repeats every share (%zu)",
              ch2.n_key_shares);
    } else {
        CHECK(ch2.n_key_shares == 1 && ch2.key_shares[0].group == want &&
                  ch2.key_shares[0].len == pqt_group_by_code(want)->client_share_bytes,
              "ClientHello 2 has one %s share (%zu shares)", pqt_group_name(want),
              ch2.n_key_shares);
    }
    CHECK(ch2.n_groups == ch1.n_groups && ch2.n_cipher_suites == ch1.n_cipher_suites &&
              ch2.sni_len == ch1.sni_len,
          "ClientHello 2 keeps groups, suites and SNI");
    int has_cookie = 0;
    for (size_t i = 0; i < ch2.n_ext; i++) {
        if (ch2.ext[i].type == PQT_TLS_EXT_COOKIE) {
            has_cookie = ch2.ext[i].len == sizeof(test_cookie) + 1 &&
                         memcmp(ch2.ext[i].data + 2, test_cookie, sizeof(test_cookie) - 1) == 0;
        }
    }
    CHECK(has_cookie == (mode == HRR_COOKIE || cookie_only), "cookie echoed exactly when sent");

    answer.len = 0;
    if (mode == HRR_TWICE) {
        record(&answer, 22, hrr, hrr_len);
    } else if (mode != HRR_CLOSE) {
        const pqt_key_share *ks = &ch2.key_shares[0];
        int ok = 0;
        if (pqt_group_by_code(ks->group)->kind == PQT_GROUP_KIND_EC) {
            /* A classical server share: an ephemeral key of the same group. */
            pqt_hybrid_client *srv = NULL;
            ok = pqt_hybrid_client_new_classical(ks->group, &srv, ss, sizeof(ss), &ss_len) == 0 &&
                 pqt_hybrid_client_finish(srv, ks->share, ks->len, secret, sizeof(secret),
                                          &secret_len) == 0;
            pqt_hybrid_client_free(srv);
        } else {
            ok = pqt_hybrid_server_respond(ks->group, ks->share, ks->len, ss, sizeof(ss), &ss_len,
                                           secret, sizeof(secret), &secret_len) == 0;
        }
        if (!ok) {
            CHECK(0, "server respond");
            return NULL;
        }
        uint16_t group = mode == HRR_SH2_WRONG_GROUP ? PQT_GROUP_SECP256R1 : ks->group;
        size_t n = server_hello(&ch2, 0, group, ss, ss_len, sh, sizeof(sh));
        /* server_hello() writes 0x1301; the HRR chose 0x1302. */
        if (mode != HRR_SH2_WRONG_SUITE) {
            sh[4 + 2 + 32 + 1 + 32 + 1] = 0x02;
        }
        record(&answer, 22, sh, n);
        const uint8_t *c1 = rec + 5;
        size_t c1_len = len - 5;
        synthetic[0] = 254;
        synthetic[1] = synthetic[2] = 0;
        synthetic[3] = 48;
        pqt_ks_secrets k;
        pqt_record_keys rk;
        CHECK(pqt_ks_transcript(PQT_KS_SHA384, &c1, &c1_len, 1, ch1_hash) == 0, "hash CH1");
        memcpy(synthetic + 4, ch1_hash, 48);
        const uint8_t *parts[4] = {synthetic, hrr, rec2 + 5, sh};
        size_t lens[4] = {sizeof(synthetic), hrr_len, len2 - 5, n};
        if (pqt_ks_transcript(PQT_KS_SHA384, parts, lens, 4, th) != 0 ||
            pqt_ks_early(&k, PQT_KS_SHA384, NULL, 0, NULL) != 0 ||
            pqt_ks_handshake(&k, secret, secret_len, th) != 0 ||
            pqt_record_keys_init(&rk, 0x1302, k.server_hs_traffic) != 0) {
            CHECK(0, "server key schedule");
            return NULL;
        }
        uint8_t flight[] = {8, 0, 0, 2, 0, 0, 15, 0, 0, 4, 0x08, 0x04, 0, 0};
        uint8_t prot[256];
        size_t prot_len = 0;
        CHECK(pqt_record_encrypt(&rk, 22, flight, sizeof(flight), prot, sizeof(prot), &prot_len) ==
                  0,
              "encrypt");
        put(&answer, prot, prot_len);
    }
    r = 0;
    for (size_t i = 0; i < answer.len && r == 0; i += bytewise ? 1 : answer.len) {
        r = pqt_probe_session_feed(*s, answer.buf + i, bytewise ? 1 : answer.len);
    }
    if (r == 0) {
        pqt_probe_session_eof(*s, 0);
    }
    return pqt_probe_session_result(*s);
}

/* An HRR whose cookie (65,000 bytes, legal in itself) cannot be echoed in
 * a ClientHello: the server's fault, named, never "internal". */
static void test_hrr_huge_cookie(void)
{
    pqt_probe_session *s;
    const uint8_t *rec;
    size_t len, split, n = 0;
    pqt_client_hello ch;
    CHECK(pqt_probe_session_new(PQT_PROBE_HRR_PREFERENCE, "server.example", &s) == 0, "new");
    pqt_probe_session_hello(s, &rec, &len, &split);
    CHECK(pqt_hello_parse_client(rec + 9, len - 9, &ch) == 0, "parse own hello");
    uint8_t *msg = malloc(70000), *recs = malloc(70000 + 5 * 8);
    pqt_writer w;
    pqt_writer_init(&w, msg, 70000);
    pqt_writer_u8(&w, PQT_TLS_HS_SERVER_HELLO);
    pqt_writer_open(&w, 3);
    pqt_writer_u16(&w, 0x0303);
    pqt_writer_bytes(&w, hrr_random, 32);
    pqt_writer_open(&w, 1);
    pqt_writer_bytes(&w, ch.session_id, ch.session_id_len);
    pqt_writer_close(&w);
    pqt_writer_u16(&w, 0x1301);
    pqt_writer_u8(&w, 0);
    pqt_writer_open(&w, 2);
    pqt_writer_bytes(&w, "\x00\x2b\x00\x02\x03\x04\x00\x33\x00\x02\x11\xec", 12);
    pqt_writer_u16(&w, PQT_TLS_EXT_COOKIE);
    pqt_writer_open(&w, 2);
    pqt_writer_open(&w, 2);
    pqt_writer_zeros(&w, 65000);
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    CHECK(pqt_writer_finish(&w, &n) == 0, "HRR with a 65000-byte cookie built");
    size_t out = 0;
    for (size_t off = 0; off < n; off += 16384) {
        size_t k = n - off < 16384 ? n - off : 16384;
        uint8_t h[5] = {22, 3, 3, (uint8_t)(k >> 8), (uint8_t)k};
        memcpy(recs + out, h, 5);
        memcpy(recs + out + 5, msg + off, k);
        out += 5 + k;
    }
    int r = pqt_probe_session_feed(s, recs, out);
    const pqt_probe_result *p = pqt_probe_session_result(s);
    CHECK(r == 1 && p->outcome == PQT_OUTCOME_MALFORMED && p->error &&
              strcmp(p->error, "hrr_cookie_too_large") == 0,
          "huge cookie: malformed/hrr_cookie_too_large, got %s/%s (%s)",
          pqt_probe_outcome_name(p->outcome), p->error ? p->error : "-", p->detail);
    pqt_probe_session_free(s);
    free(msg);
    free(recs);
}

static void test_hrr_continuation(void)
{
    pqt_probe_session *s;
    const pqt_probe_result *p;
    static const int probes[] = {PQT_PROBE_HRR_PREFERENCE, PQT_PROBE_BROWSER};
    for (size_t i = 0; i < 2; i++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            for (int mode = HRR_GOOD; mode <= HRR_COOKIE; mode++) {
                p = run_hrr(&s, probes[i], mode, bytewise);
                CHECK(p && p->outcome == PQT_OUTCOME_HRR && p->group == hrr_group_for(probes[i]) &&
                          p->retried && p->verified && !p->broken && p->error == NULL &&
                          p->version == 0x0304 && p->cipher == 0x1302,
                      "%s%s%s: HRR continued and %s verified (%s: %s)", pqt_probe_name(probes[i]),
                      bytewise ? " bytewise" : "", pqt_group_name(hrr_group_for(probes[i])),
                      mode == HRR_COOKIE ? " with cookie" : "", p && p->error ? p->error : "-",
                      p ? p->detail : "");
                pqt_probe_session_free(s);
            }
        }
    }
    /* A cookie-only HRR (a server that wants a round trip, not another
     * group): the same shares again, and the exchange verified. */
    static const int sent_hybrid[] = {PQT_PROBE_X25519MLKEM768, PQT_PROBE_BROWSER};
    for (size_t i = 0; i < 2; i++) {
        p = run_hrr(&s, sent_hybrid[i], HRR_COOKIE_ONLY, 0);
        CHECK(p && p->outcome == PQT_OUTCOME_HRR && p->group == PQT_GROUP_X25519MLKEM768 &&
                  p->retried && p->verified && !p->broken && p->error == NULL,
              "%s: cookie-only HRR continued, X25519MLKEM768 verified (%s: %s)",
              pqt_probe_name(sent_hybrid[i]), p && p->error ? p->error : "-", p ? p->detail : "");
        pqt_probe_session_free(s);
    }
    p = run_hrr(&s, PQT_PROBE_HRR_PREFERENCE, HRR_SH2_WRONG_GROUP, 0);
    CHECK(p && p->outcome == PQT_OUTCOME_HRR && !p->verified && p->broken && p->error &&
              strcmp(p->error, "hrr_group_changed") == 0,
          "ServerHello 2 with another group: hrr_group_changed, broken (%s)",
          p && p->error ? p->error : "-");
    pqt_probe_session_free(s);
    p = run_hrr(&s, PQT_PROBE_HRR_PREFERENCE, HRR_SH2_WRONG_SUITE, 0);
    CHECK(p && !p->verified && p->error && strcmp(p->error, "hrr_cipher_changed") == 0,
          "ServerHello 2 with another cipher suite: hrr_cipher_changed");
    pqt_probe_session_free(s);
    p = run_hrr(&s, PQT_PROBE_HRR_PREFERENCE, HRR_TWICE, 0);
    CHECK(p && p->outcome == PQT_OUTCOME_HRR && !p->verified && p->error &&
              strcmp(p->error, "second_hrr") == 0,
          "a second HRR: second_hrr");
    pqt_probe_session_free(s);
    p = run_hrr(&s, PQT_PROBE_HRR_PREFERENCE, HRR_CLOSE, 0);
    CHECK(p && p->outcome == PQT_OUTCOME_HRR && !p->verified && p->error &&
              strcmp(p->error, "closed_after_hrr") == 0,
          "close after the HRR: closed_after_hrr (%s)", p && p->error ? p->error : "-");
    pqt_probe_session_free(s);
}

static const pqt_probe_result *run_probe(pqt_probe_session **s, int probe, int mode, int bytewise)
{
    const uint8_t *rec;
    size_t len, split;
    bytes answer;
    *s = NULL;
    if (pqt_probe_session_new(probe, "server.example", s) != 0) {
        CHECK(0, "session_new");
        return NULL;
    }
    pqt_probe_session_hello(*s, &rec, &len, &split);
    if (serve(rec, len, mode, &answer) != 0) {
        CHECK(0, "in-memory server could not answer");
        return NULL;
    }
    int r = 0;
    if (bytewise) {
        for (size_t i = 0; i < answer.len && r == 0; i++) {
            r = pqt_probe_session_feed(*s, answer.buf + i, 1);
        }
    } else {
        r = pqt_probe_session_feed(*s, answer.buf, answer.len);
    }
    if (r == 0) {
        pqt_probe_session_eof(*s, 0);
    }
    return pqt_probe_session_result(*s);
}

static void test_sessions(void)
{
    pqt_probe_session *s;
    const pqt_probe_result *p;

    for (int probe = PQT_PROBE_X25519MLKEM768; probe <= PQT_PROBE_MLKEM1024; probe++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            p = run_probe(&s, probe, SRV_GOOD, bytewise);
            CHECK(p && p->outcome == PQT_OUTCOME_SERVER_HELLO && p->verified && !p->broken &&
                      p->error == NULL && p->version == 0x0304 && p->cipher == 0x1301,
                  "%s%s: hybrid exchange verified by decrypting EncryptedExtensions (%s %s)",
                  pqt_probe_name(probe), bytewise ? " (one byte at a time)" : "",
                  p ? pqt_probe_outcome_name(p->outcome) : "-", p && p->error ? p->error : "");
            CHECK(!bytewise || pqt_probe_session_cert(s)->verify_scheme == 0x0804,
                  "CertificateVerify scheme read");
            pqt_probe_session_free(s);
        }
    }
    p = run_probe(&s, PQT_PROBE_X25519MLKEM768, SRV_SHORT_SHARE, 0);
    CHECK(p && p->broken && !p->verified && p->error && strcmp(p->error, "share_length") == 0,
          "short server share: broken, share_length (%s)", p && p->error ? p->error : "");
    pqt_probe_session_free(s);
    p = run_probe(&s, PQT_PROBE_SECP256R1MLKEM768, SRV_BAD_RECORD, 0);
    CHECK(p && p->broken && !p->verified && p->error && strcmp(p->error, "decrypt_failed") == 0,
          "undecryptable EncryptedExtensions: broken, decrypt_failed");
    pqt_probe_session_free(s);
    p = run_probe(&s, PQT_PROBE_X25519MLKEM768, SRV_WRONG_GROUP, 0);
    CHECK(p && p->outcome == PQT_OUTCOME_MALFORMED && p->error &&
              strcmp(p->error, "group_not_offered") == 0 && strstr(p->detail, "0x0019"),
          "ServerHello with a group never offered: malformed (%s)", p ? p->detail : "");
    pqt_probe_session_free(s);
    p = run_probe(&s, PQT_PROBE_X25519MLKEM768, SRV_NOT_EE, 0);
    CHECK(p && p->broken && p->error && strcmp(p->error, "no_encrypted_extensions") == 0,
          "first encrypted message not EncryptedExtensions: broken");
    pqt_probe_session_free(s);
    p = run_probe(&s, PQT_PROBE_HRR_PREFERENCE, SRV_HRR, 0);
    CHECK(p && p->outcome == PQT_OUTCOME_HRR && p->group == PQT_GROUP_X25519MLKEM768 &&
              !p->verified && p->error && strcmp(p->error, "closed_after_hrr") == 0,
          "HRR for X25519MLKEM768 recorded; a close before the second ServerHello is named");
    pqt_probe_session_free(s);
    p = run_probe(&s, PQT_PROBE_X25519MLKEM768, SRV_HRR, 0);
    CHECK(p && p->outcome == PQT_OUTCOME_MALFORMED && p->error &&
              strcmp(p->error, "hrr_for_sent_share") == 0,
          "HRR for a group whose share was sent: malformed");
    pqt_probe_session_free(s);

    /* A server that completes the hybrid exchange but breaks one rule a
     * client enforces: malformed, never verified, no broken-hybrid. */
    static const struct {
        int brk;
        int mode;
        const char *error;
    } rules[] = {
        {BRK_SESSION_ID, SRV_GOOD, "session_id_mismatch"},
        {BRK_COMPRESSION, SRV_GOOD, "compression"},
        {BRK_SH_ALPN, SRV_GOOD, "extension_not_allowed"},
        {BRK_SH_UNKNOWN, SRV_GOOD, "unsolicited_extension"},
        {BRK_VERSION_0305, SRV_GOOD, "version_not_offered"},
        {BRK_LEGACY_VERSION, SRV_GOOD, "legacy_version"},
        {BRK_SUITE_1304, SRV_GOOD, "cipher_not_offered"},
        {BRK_HRR_NO_CHANGE, SRV_HRR, "hrr_no_change"},
        {BRK_EE_UNSOLICITED, SRV_GOOD, "unsolicited_extension"},
        {BRK_EE_KEY_SHARE, SRV_GOOD, "extension_not_allowed"},
        {BRK_EE_ALPN_H9, SRV_GOOD, "alpn_not_offered"},
        {BRK_EE_TWICE, SRV_GOOD, "duplicate_extension"},
    };
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        brk = rules[i].brk;
        p = run_probe(&s, PQT_PROBE_X25519MLKEM768, rules[i].mode, 0);
        CHECK(p && p->outcome == PQT_OUTCOME_MALFORMED && !p->verified && !p->broken && p->error &&
                  strcmp(p->error, rules[i].error) == 0 && p->detail[0] != 0,
              "rule %d: malformed/%s, got %s/%s (%s)", rules[i].brk, rules[i].error,
              p ? pqt_probe_outcome_name(p->outcome) : "-", p && p->error ? p->error : "-",
              p ? p->detail : "");
        pqt_probe_session_free(s);
    }
    brk = BRK_NONE;

    /* Hostile byte streams. */
    static const struct {
        const char *what;
        const uint8_t *bytes;
        size_t len;
        int eof;
        int outcome;
        const char *error;
    } hostile[] = {
        {"HTTP instead of TLS", (const uint8_t *)"HTTP/1.1 400 Bad Request\r\n\r\n", 28, 0,
         PQT_OUTCOME_MALFORMED, "not_tls"},
        {"huge record length", (const uint8_t *)"\x16\x03\x03\xff\xff", 5, 0, PQT_OUTCOME_MALFORMED,
         "record_too_large"},
        {"huge handshake length", (const uint8_t *)"\x16\x03\x03\x00\x04\x02\xff\xff\xff", 9, 0,
         PQT_OUTCOME_MALFORMED, "handshake_too_large"},
        {"close mid-record", (const uint8_t *)"\x16\x03\x03\x00\x40\x02\x00", 7, 1,
         PQT_OUTCOME_MALFORMED, "closed_mid_message"},
        {"alert", (const uint8_t *)"\x15\x03\x03\x00\x02\x02\x28", 7, 0, PQT_OUTCOME_ALERT, NULL},
        {"CCS before ServerHello", (const uint8_t *)"\x14\x03\x03\x00\x01\x01", 6, 0,
         PQT_OUTCOME_MALFORMED, "unexpected_change_cipher_spec"},
        {"empty handshake record", (const uint8_t *)"\x16\x03\x03\x00\x00", 5, 0,
         PQT_OUTCOME_MALFORMED, "empty_handshake_record"},
        {"not a ServerHello", (const uint8_t *)"\x16\x03\x03\x00\x04\x0b\x00\x00\x00", 9, 0,
         PQT_OUTCOME_MALFORMED, "unexpected_message"},
        {"bad ServerHello", (const uint8_t *)"\x16\x03\x03\x00\x06\x02\x00\x00\x02\x03\x03", 11, 0,
         PQT_OUTCOME_MALFORMED, "server_hello_syntax"},
        {"application data first", (const uint8_t *)"\x17\x03\x03\x00\x01\x00", 6, 0,
         PQT_OUTCOME_MALFORMED, "unexpected_application_data"},
        {"silence then close", (const uint8_t *)"", 0, 1, PQT_OUTCOME_CLOSED, NULL},
        {"TLS 1.2 ServerHello with the downgrade sentinel",
         (const uint8_t *)"\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03"
                          "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                          "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                          "DOWNGRD\x01\x00\xc0\x2f\x00",
         47, 0, PQT_OUTCOME_MALFORMED, "downgrade"},
        {"TLS 1.2 ServerHello without the sentinel",
         (const uint8_t *)"\x16\x03\x03\x00\x2a\x02\x00\x00\x26\x03\x03"
                          "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                          "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                          "DOWNGRD\x02\x00\xc0\x2f\x00\x16\x03\x03\x00\x04\x0e\x00\x00\x00",
         56, 0, PQT_OUTCOME_SERVER_HELLO, NULL},
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        CHECK(pqt_probe_session_new(PQT_PROBE_BROWSER, NULL, &s) == 0, "new");
        int r = pqt_probe_session_feed(s, hostile[i].bytes, hostile[i].len);
        if (hostile[i].eof) {
            CHECK(r == 0, "%s: needs more bytes before EOF", hostile[i].what);
            pqt_probe_session_eof(s, 0);
        } else {
            CHECK(r == 1, "%s: verdict without waiting", hostile[i].what);
        }
        p = pqt_probe_session_result(s);
        CHECK(p->outcome == hostile[i].outcome &&
                  (hostile[i].error == NULL ? p->error == NULL
                                            : p->error && strcmp(p->error, hostile[i].error) == 0),
              "%s: %s/%s, got %s/%s (%s)", hostile[i].what,
              pqt_probe_outcome_name(hostile[i].outcome), hostile[i].error ? hostile[i].error : "-",
              pqt_probe_outcome_name(p->outcome), p->error ? p->error : "-", p->detail);
        pqt_probe_session_free(s);
    }
    /* Endless records: a stream of CCS-free handshake fragments that never
     * completes a message is cut off at the handshake message limit. */
    CHECK(pqt_probe_session_new(PQT_PROBE_BROWSER, NULL, &s) == 0, "new");
    uint8_t chunk[5 + 16384];
    memset(chunk, 0, sizeof(chunk));
    chunk[0] = 22;
    chunk[1] = chunk[2] = 3;
    chunk[3] = 0x40;
    chunk[4] = 0;
    chunk[5] = 2;
    chunk[6] = 0;
    chunk[7] = 0xff;
    chunk[8] = 0xf0; /* a 65520-byte ServerHello, in 16 KiB fragments */
    int r = 0, rounds = 0;
    for (; r == 0 && rounds < 100; rounds++) {
        r = pqt_probe_session_feed(s, chunk, sizeof(chunk));
        chunk[5] = chunk[6] = chunk[7] = chunk[8] = 0;
    }
    p = pqt_probe_session_result(s);
    CHECK(r == 1 && rounds < 100 && p->outcome == PQT_OUTCOME_MALFORMED,
          "endless handshake fragments end in a bounded verdict (%d rounds, %s)", rounds,
          p->error ? p->error : "-");
    pqt_probe_session_free(s);

    /* The segmentation probes: a padded hello past one MSS with a split
     * inside the SNI, inside the key share, and at 1448. */
    const uint8_t *rec;
    size_t len, split;
    static const int sp[] = {PQT_PROBE_SPLIT_SNI, PQT_PROBE_SPLIT_KEY_SHARE, PQT_PROBE_SPLIT_MSS};
    for (size_t i = 0; i < 3; i++) {
        CHECK(pqt_probe_session_new(sp[i], "server.example", &s) == 0, "new");
        pqt_probe_session_hello(s, &rec, &len, &split);
        CHECK(len > 1500 && split > 5 && split < len, "%s: %zu bytes split at %zu",
              pqt_probe_name(sp[i]), len, split);
        if (sp[i] == PQT_PROBE_SPLIT_SNI) {
            size_t at = 0;
            for (size_t j = 44; j + 14 <= len; j++) {
                if (memcmp(rec + j, "server.example", 14) == 0) {
                    at = j;
                }
            }
            CHECK(at > 0 && split > at && split < at + 14,
                  "split %zu falls inside the host name at %zu", split, at);
        }
        pqt_probe_session_free(s);
    }
    CHECK(pqt_probe_session_new(PQT_PROBE_CLASSICAL, "server.example", &s) == 0, "new");
    pqt_probe_session_hello(s, &rec, &len, &split);
    CHECK(len < 600 && split == 0, "the classical hello is small and sent whole (%zu)", len);
    pqt_probe_session_free(s);

    /* The legacy probe offers 0x6399 with x25519 || Kyber768-sized share. */
    CHECK(pqt_probe_session_new(PQT_PROBE_LEGACY_KYBER, NULL, &s) == 0, "new");
    pqt_probe_session_hello(s, &rec, &len, &split);
    pqt_client_hello ch;
    CHECK(pqt_hello_parse_client(rec + 9, len - 9, &ch) == 0 && ch.n_key_shares == 1 &&
              ch.key_shares[0].group == 0x6399 && ch.key_shares[0].len == 32 + 1184,
          "legacy-kyber hello offers 0x6399 with a 1216-byte share");
    pqt_probe_session_free(s);
}

/* pqt_hybrid_client_new_classical + pqt_hybrid_client_finish. */
static void test_classical_kex(void)
{
    static const uint16_t groups[] = {PQT_GROUP_X25519, PQT_GROUP_SECP256R1, PQT_GROUP_SECP384R1};
    for (size_t i = 0; i < 3; i++) {
        pqt_hybrid_client *a = NULL, *b = NULL;
        uint8_t sa[133], sb[133], ka[66], kb[66];
        size_t la = 0, lb = 0, na = 0, nb = 0;
        int ok = pqt_hybrid_client_new_classical(groups[i], &a, sa, sizeof(sa), &la) == 0 &&
                 pqt_hybrid_client_new_classical(groups[i], &b, sb, sizeof(sb), &lb) == 0 &&
                 pqt_hybrid_client_finish(a, sb, lb, ka, sizeof(ka), &na) == 0 &&
                 pqt_hybrid_client_finish(b, sa, la, kb, sizeof(kb), &nb) == 0;
        CHECK(ok && na == nb && na > 0 && memcmp(ka, kb, na) == 0, "classical %s: both sides agree",
              pqt_group_name(groups[i]));
        CHECK(pqt_hybrid_client_finish(a, sb, lb - 1, ka, sizeof(ka), &na) == PQT_ERR_SHARE_LENGTH,
              "classical: short peer share rejected");
        pqt_hybrid_client_free(a);
        pqt_hybrid_client_free(b);
    }
    pqt_hybrid_client *c = NULL;
    uint8_t buf[2048];
    size_t l;
    CHECK(pqt_hybrid_client_new_classical(PQT_GROUP_X25519MLKEM768, &c, buf, sizeof(buf), &l) ==
                  PQT_ERR_UNSUPPORTED &&
              c == NULL,
          "new_classical refuses hybrid groups");
    CHECK(pqt_hybrid_client_new_classical(PQT_GROUP_FFDHE2048, &c, buf, sizeof(buf), &l) ==
              PQT_ERR_UNSUPPORTED,
          "new_classical refuses FFDHE");
}

/* ---- certificate facts: the DER walk against d2i_X509 -------------------- */

static int self_signed(EVP_PKEY *k, const EVP_MD *md, uint8_t **der)
{
    X509 *x = X509_new();
    X509_NAME *n = NULL;
    int len = -1;
    if (x != NULL && X509_set_version(x, 2) == 1 &&
        ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567) == 1 &&
        X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
        X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL && X509_set_pubkey(x, k) == 1 &&
        (n = X509_get_subject_name(x)) != NULL &&
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"scan.test", -1,
                                   -1, 0) == 1 &&
        X509_set_issuer_name(x, n) == 1 && X509_sign(x, k, md) > 0) {
        *der = NULL;
        len = i2d_X509(x, der);
    }
    X509_free(x);
    return len;
}

static void test_cert_facts(void)
{
    static const struct {
        const char *type, *param;
        size_t bits;
        int md;
        const char *key, *curve;
    } keys[] = {
        {"RSA", NULL, 2048, 1, "RSA", ""},
        {"RSA", NULL, 1031, 1, "RSA", ""},
        {"EC", "P-256", 0, 1, "EC", "prime256v1"},
        {"EC", "P-384", 0, 1, "EC", "secp384r1"},
        {"EC", "P-521", 0, 1, "EC", "secp521r1"},
        {"ED25519", NULL, 0, 0, "ED25519", ""},
        {"ED448", NULL, 0, 0, "ED448", ""},
        {"EC", "secp256k1", 0, 1, "EC", "secp256k1"}, /* not walked: d2i_X509 */
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        EVP_PKEY *k = keys[i].param  ? EVP_PKEY_Q_keygen(NULL, NULL, keys[i].type, keys[i].param)
                      : keys[i].bits ? EVP_PKEY_Q_keygen(NULL, NULL, keys[i].type, keys[i].bits)
                                     : EVP_PKEY_Q_keygen(NULL, NULL, keys[i].type);
        uint8_t *der = NULL;
        int len = k ? self_signed(k, keys[i].md ? EVP_sha256() : NULL, &der) : -1;
        CHECK(len > 0, "%s certificate made", keys[i].type);
        if (len > 0) {
            pqt_scan_cert a, b;
            pqt_scan_cert_facts(der, (size_t)len, &a, 0);
            pqt_scan_cert_facts(der, (size_t)len, &b, 1);
            CHECK(a.seen && memcmp(&a, &b, sizeof(a)) == 0 && strcmp(a.key_alg, keys[i].key) == 0 &&
                      strcmp(a.key_curve, keys[i].curve) == 0,
                  "%s: walk %s-%d %s / %s, d2i_X509 %s-%d %s / %s", keys[i].type, a.key_alg,
                  a.key_bits, a.key_curve, a.sig_alg, b.key_alg, b.key_bits, b.key_curve,
                  b.sig_alg);
            /* Every truncation and a flipped byte at each position: never
             * a crash, and the walk says what libcrypto says. */
            int agree = 1;
            for (int cut = 0; cut < len; cut++) {
                pqt_scan_cert_facts(der, (size_t)cut, &a, 0);
                pqt_scan_cert_facts(der, (size_t)cut, &b, 1);
                agree &= !a.seen && !b.seen;
            }
            CHECK(agree, "%s: truncated certificates give no facts", keys[i].type);
            int same_seen = 1;
            for (int at = 0; at < len && at < 400; at++) {
                der[at] ^= 0x41;
                pqt_scan_cert_facts(der, (size_t)len, &a, 0);
                pqt_scan_cert_facts(der, (size_t)len, &b, 1);
                /* The walk reads less than d2i_X509 checks, so it may
                 * accept what libcrypto rejects; never the reverse. */
                same_seen &= !(b.seen && !a.seen);
                der[at] ^= 0x41;
            }
            CHECK(same_seen, "%s: corrupted certificates", keys[i].type);
        }
        OPENSSL_free(der);
        EVP_PKEY_free(k);
    }
}

int main(void)
{
    test_sessions();
    test_hrr_continuation();
    test_hrr_huge_cookie();
    test_cert_facts();
    test_classical_kex();
    printf("test_scan_probe: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
