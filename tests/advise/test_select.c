/*
 * The server models of pqtls advise (src/advise/select.c) on handcrafted
 * ClientHellos: each case is a client's supported_groups and key shares,
 * and what OpenSSL 3.0-3.4, OpenSSL 3.5 and a strict-preference server do
 * with it at each stage. The expected answers follow the servers' code
 * (ssl/statem/extensions_srvr.c), worked out by hand per case.
 */
#include <string.h>

#include "../check.h"
#include "pqtls/advise.h"
#include "pqtls/groups.h"

#define MLKEM 0x11EC     /* X25519MLKEM768 */
#define P256MLKEM 0x11EB /* SecP256r1MLKEM768 */
#define KYBER 0x6399     /* X25519Kyber768Draft00 */
#define X25519 0x001D
#define P256 0x0017
#define P384 0x0018
#define FFDHE2048 0x0100
#define GREASE 0x2A2A

static pqt_adv_hello hello(const uint16_t *groups, size_t ng, const uint16_t *shares, size_t ns,
                           int tls13)
{
    pqt_adv_hello h;
    memset(&h, 0, sizeof(h));
    if (ng > 0) {
        memcpy(h.groups, groups, ng * sizeof(*groups));
    }
    h.n_groups = ng;
    if (ns > 0) {
        memcpy(h.shares, shares, ns * sizeof(*shares));
    }
    h.n_shares = ns;
    h.tls13 = tls13;
    return h;
}

/* expected: group (0 for refused), hrr */
typedef struct {
    uint16_t group;
    int hrr;
} want;

static void expect(const char *name, const pqt_adv_server *s, const pqt_adv_hello *h,
                   const want w[PQT_ADV_N_STAGES])
{
    for (int st = 0; st < PQT_ADV_N_STAGES; st++) {
        pqt_adv_choice c;
        pqt_adv_select(s, (pqt_adv_stage)st, h, &c);
        int refused = w[st].group == 0;
        CHECK(c.refused == refused && c.group == w[st].group && c.hrr == w[st].hrr &&
                  c.hybrid == (w[st].group != 0 && pqt_group_is_pq(w[st].group)),
              "%s, %s at %s: got refused %d group 0x%04x hrr %d hybrid %d, want group 0x%04x "
              "hrr %d",
              name, pqt_adv_model_name(s->model), pqt_adv_stage_name((pqt_adv_stage)st), c.refused,
              c.group, c.hrr, c.hybrid, w[st].group, w[st].hrr);
    }
}

static pqt_adv_server server(pqt_adv_model m, const char *groups)
{
    pqt_adv_server s;
    char err[256];
    int ret = pqt_adv_server_init(&s, m, groups, err, sizeof(err));
    CHECK(ret == 0, "server_init(%s): %d %s", groups, ret, err);
    return s;
}

int main(void)
{
    const char *groups = "X25519MLKEM768:x25519:secp256r1:secp384r1";
    pqt_adv_server o30 = server(PQT_ADV_OPENSSL30, groups);
    pqt_adv_server o35 = server(PQT_ADV_OPENSSL35, groups);
    pqt_adv_server hrr = server(PQT_ADV_HRR, groups);
    pqt_adv_server o35s = server(PQT_ADV_OPENSSL35_SERVERPREF, groups);

    /* Chrome 131+: lists and shares X25519MLKEM768 and x25519. */
    {
        uint16_t g[] = {MLKEM, X25519, P256, P384}, k[] = {MLKEM, X25519};
        pqt_adv_hello h = hello(g, 4, k, 2, 1);
        /* 3.0 takes the client's first share it has: the hybrid one, at
         * every stage. */
        expect("chrome", &o30, &h, (want[]){{MLKEM, 0}, {MLKEM, 0}, {MLKEM, 0}});
        /* 3.5, supported = one tuple: the client's first share in it. */
        expect("chrome", &o35, &h, (want[]){{MLKEM, 0}, {MLKEM, 0}, {MLKEM, 0}});
        /* strict preference at supported puts x25519 first: classical. */
        expect("chrome", &hrr, &h, (want[]){{X25519, 0}, {MLKEM, 0}, {MLKEM, 0}});
        /* 3.5 with server preference: supported's tuple is hybrid first. */
        expect("chrome", &o35s, &h, (want[]){{MLKEM, 0}, {MLKEM, 0}, {MLKEM, 0}});
    }
    /* OpenSSL 3.0 client: lists x25519 first, shares only x25519, no PQ. */
    {
        uint16_t g[] = {X25519, P256, 0x001E, P384}, k[] = {X25519};
        pqt_adv_hello h = hello(g, 4, k, 1, 1);
        want w[] = {{X25519, 0}, {X25519, 0}, {0, 0}};
        expect("openssl30-client", &o30, &h, w);
        expect("openssl30-client", &o35, &h, w);
        expect("openssl30-client", &hrr, &h, w);
    }
    /* An OpenSSL 3.5 client configured to list X25519MLKEM768 but to share
     * only x25519 (the HRR case of observe_gen). */
    {
        uint16_t g[] = {MLKEM, X25519, P256}, k[] = {X25519};
        pqt_adv_hello h = hello(g, 3, k, 1, 1);
        /* 3.0 never asks for the hybrid group while it has a share it can
         * take: preferred changes nothing; required asks for it. */
        expect("x25519-share", &o30, &h, (want[]){{X25519, 0}, {X25519, 0}, {MLKEM, 1}});
        /* 3.5 preferred: the hybrid tuple comes first, no share in it, the
         * client lists it: HRR. */
        expect("x25519-share", &o35, &h, (want[]){{X25519, 0}, {MLKEM, 1}, {MLKEM, 1}});
        expect("x25519-share", &hrr, &h, (want[]){{X25519, 0}, {MLKEM, 1}, {MLKEM, 1}});
        /* a share in the tuple beats the order: x25519 at supported */
        expect("x25519-share", &o35s, &h, (want[]){{X25519, 0}, {MLKEM, 1}, {MLKEM, 1}});
    }
    /* A client whose only share is for a group the server lacks (P-521),
     * listing x25519 and the hybrid: every model asks with an HRR. */
    {
        uint16_t g[] = {0x0019, P256MLKEM, MLKEM, X25519}, k[] = {0x0019};
        pqt_adv_hello h = hello(g, 4, k, 1, 1);
        /* 3.0: server order over the client's list; supported puts the
         * classical groups first. */
        expect("p521-share", &o30, &h, (want[]){{X25519, 1}, {MLKEM, 1}, {MLKEM, 1}});
        /* 3.5 supported (one tuple): the client's first listed group in
         * the tuple, SecP256r1MLKEM768 is not the server's: X25519MLKEM768. */
        expect("p521-share", &o35, &h, (want[]){{MLKEM, 1}, {MLKEM, 1}, {MLKEM, 1}});
        expect("p521-share", &hrr, &h, (want[]){{X25519, 1}, {MLKEM, 1}, {MLKEM, 1}});
        expect("p521-share", &o35s, &h, (want[]){{MLKEM, 1}, {MLKEM, 1}, {MLKEM, 1}});
    }
    /* Chrome 124-130: the Kyber draft and x25519 shared; the server has no
     * Kyber: classical, refused at required. */
    {
        uint16_t g[] = {GREASE, KYBER, X25519, P256, P384}, k[] = {GREASE, KYBER, X25519};
        pqt_client_hello ch;
        uint8_t raw[10];
        memset(&ch, 0, sizeof(ch));
        for (int i = 0; i < 5; i++) {
            raw[2 * i] = (uint8_t)(g[i] >> 8);
            raw[2 * i + 1] = (uint8_t)g[i];
        }
        uint8_t ver[] = {0x03, 0x04, 0x03, 0x03};
        ch.groups = raw;
        ch.n_groups = 5;
        ch.versions = ver;
        ch.n_versions = 2;
        for (int i = 0; i < 3; i++) {
            ch.key_shares[i].group = k[i];
        }
        ch.n_key_shares = 3;
        pqt_adv_hello h;
        pqt_adv_hello_from_client(&ch, &h);
        CHECK(h.n_groups == 4 && h.groups[0] == KYBER && h.n_shares == 2 && h.shares[0] == KYBER &&
                  h.tls13 == 1,
              "hello_from_client drops GREASE: %zu groups, %zu shares, tls13 %d", h.n_groups,
              h.n_shares, h.tls13);
        want w[] = {{X25519, 0}, {X25519, 0}, {0, 0}};
        expect("kyber-draft", &o30, &h, w);
        expect("kyber-draft", &o35, &h, w);
        expect("kyber-draft", &hrr, &h, w);
    }
    /* TLS 1.2 only (Java 8 style): classical, refused at required, never
     * an HRR, even listing a hybrid group. */
    {
        uint16_t g[] = {P256, P384, MLKEM};
        pqt_adv_hello h = hello(g, 3, NULL, 0, 0);
        want w[] = {{P256, 0}, {P256, 0}, {0, 0}};
        expect("tls12", &o30, &h, w);
        expect("tls12", &o35, &h, w);
        expect("tls12", &hrr, &h, w);
    }
    /* No group in common (FFDHE only, TLS 1.3): refused at every stage. */
    {
        uint16_t g[] = {FFDHE2048}, k[] = {FFDHE2048};
        pqt_adv_hello h = hello(g, 1, k, 1, 1);
        want w[] = {{0, 0}, {0, 0}, {0, 0}};
        expect("ffdhe", &o30, &h, w);
        expect("ffdhe", &o35, &h, w);
        expect("ffdhe", &hrr, &h, w);
    }
    /* A key share for a group the client does not list: OpenSSL's
     * illegal_parameter, at every stage. */
    {
        uint16_t g[] = {X25519}, k[] = {MLKEM};
        pqt_adv_hello h = hello(g, 1, k, 1, 1);
        want w[] = {{0, 0}, {0, 0}, {0, 0}};
        expect("share-not-listed", &o30, &h, w);
        expect("share-not-listed", &o35, &h, w);
    }
    /* Client share order decides for 3.0 and 3.5 (client preference):
     * x25519 shared before the hybrid one. */
    {
        uint16_t g[] = {X25519, MLKEM}, k[] = {X25519, MLKEM};
        pqt_adv_hello h = hello(g, 2, k, 2, 1);
        expect("x25519-first", &o30, &h, (want[]){{X25519, 0}, {X25519, 0}, {MLKEM, 0}});
        /* 3.5 preferred: the hybrid tuple first, a share for it: hybrid. */
        expect("x25519-first", &o35, &h, (want[]){{X25519, 0}, {MLKEM, 0}, {MLKEM, 0}});
        expect("x25519-first", &hrr, &h, (want[]){{X25519, 0}, {MLKEM, 0}, {MLKEM, 0}});
        /* server preference within 3.5's one supported tuple: the server's
         * first group with a share, the hybrid one */
        expect("x25519-first", &o35s, &h, (want[]){{MLKEM, 0}, {MLKEM, 0}, {MLKEM, 0}});
    }

    /* The arrangement each stage describes. */
    char buf[256];
    pqt_adv_stage_groups(&o35, PQT_ADV_PREFERRED, buf, sizeof(buf));
    CHECK(strcmp(buf, "X25519MLKEM768 / x25519:secp256r1:secp384r1") == 0, "3.5 preferred: %s",
          buf);
    pqt_adv_stage_groups(&o35s, PQT_ADV_SUPPORTED, buf, sizeof(buf));
    CHECK(strcmp(buf, "X25519MLKEM768:x25519:secp256r1:secp384r1") == 0, "3.5 supported: %s", buf);
    pqt_adv_stage_groups(&o30, PQT_ADV_SUPPORTED, buf, sizeof(buf));
    CHECK(strcmp(buf, "x25519:secp256r1:secp384r1:X25519MLKEM768") == 0, "3.0 supported: %s", buf);
    pqt_adv_stage_groups(&o30, PQT_ADV_REQUIRED, buf, sizeof(buf));
    CHECK(strcmp(buf, "X25519MLKEM768") == 0, "required: %s", buf);

    /* --groups that cannot work are refused with a reason. */
    const char *bad[] = {"x25519:secp256r1",
                         "X25519MLKEM768",
                         "x25519::X25519MLKEM768",
                         "x25519:nosuch:X25519MLKEM768",
                         "x25519:x25519:X25519MLKEM768",
                         ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pqt_adv_server s;
        char err[256] = "";
        CHECK(pqt_adv_server_init(&s, PQT_ADV_OPENSSL30, bad[i], err, sizeof(err)) ==
                      PQT_ERR_SYNTAX &&
                  err[0] != 0,
              "--groups '%s' accepted", bad[i]);
    }
    CHECK(pqt_adv_model_from_name("openssl35") == PQT_ADV_OPENSSL35 &&
              pqt_adv_model_from_name("openssl35-serverpref") == PQT_ADV_OPENSSL35_SERVERPREF &&
              pqt_adv_model_from_name("openssl3") == -1,
          "model names");

    printf("advise.select: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
