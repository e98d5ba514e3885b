/*
 * pqtls advise's counting (src/advise/advise.c) at its bounds, on
 * synthetic handshake records: more services than it keeps (the rest are
 * one "(other)"), more client families and more client networks per
 * service than it keeps (the rest under "(other)"), and every handshake
 * still counted once. The JSON Lines output is read back as text.
 */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "pqtls/advise.h"

static const uint8_t groups[] = {0x11, 0xEC, 0x00, 0x1D}; /* X25519MLKEM768, x25519 */
static const uint8_t versions[] = {0x03, 0x04};

static void handshake(pqt_obs_handshake *hs, uint32_t server, uint32_t client, const char *sni,
                      const char *family)
{
    memset(hs, 0, sizeof(*hs));
    hs->ip_version = 4;
    for (int i = 0; i < 4; i++) {
        hs->server[i] = (uint8_t)(server >> (24 - 8 * i));
        hs->client[i] = (uint8_t)(client >> (24 - 8 * i));
    }
    hs->server_port = 443;
    hs->has_ch = 1;
    hs->ch.sni = (const uint8_t *)sni;
    hs->ch.sni_len = strlen(sni);
    hs->ch.groups = groups;
    hs->ch.n_groups = 2;
    hs->ch.versions = versions;
    hs->ch.n_versions = 1;
    hs->ch.key_shares[0].group = 0x001D; /* x25519 only: HRR at preferred on 3.5 */
    hs->ch.n_key_shares = 1;
    hs->ch_segments = 1;
    hs->client_family = family;
    hs->outcome = PQT_OBS_COMPLETED;
}

static char *jsonl(pqt_adv *a, size_t *lines)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    CHECK(m != NULL && pqt_adv_write_jsonl(a, m) == 0, "write_jsonl");
    fclose(m);
    *lines = 0;
    for (size_t i = 0; i < len; i++) {
        *lines += buf[i] == '\n';
    }
    return buf;
}

static pqt_adv *adv(void)
{
    pqt_adv_config cfg;
    char err[128];
    pqt_adv *a = NULL;
    memset(&cfg, 0, sizeof(cfg));
    CHECK(pqt_adv_server_init(&cfg.server, PQT_ADV_OPENSSL35, NULL, err, sizeof(err)) == 0,
          "server: %s", err);
    CHECK(pqt_adv_new(&cfg, &a) == 0, "pqt_adv_new");
    return a;
}

int main(void)
{
    pqt_obs_handshake hs;
    size_t lines;
    char *out, want[256];

    /* 70,000 services of one handshake each: 65,536 of their own, the
     * other 4,464 together, last. */
    pqt_adv *a = adv();
    for (uint32_t i = 0; i < 70000; i++) {
        handshake(&hs, 0xC0000000u + i, 0x0A000001u, "s.example", "Chrome");
        pqt_adv_add(a, &hs);
    }
    CHECK(pqt_adv_error(a) == 0, "error %d", pqt_adv_error(a));
    out = jsonl(a, &lines);
    CHECK(lines == 65537, "%zu services written, want 65537", lines);
    /* The last line (found from the end: strstr over 65,537 lines one
     * match at a time is quadratic under ASan, whose strstr measures the
     * haystack on every call). */
    size_t olen = strlen(out);
    const char *last = out;
    for (size_t i = olen > 1 ? olen - 1 : 0; i > 0; i--) {
        if (out[i - 1] == '\n') {
            last = out + i;
            break;
        }
    }
    CHECK(strncmp(last,
                  "{\"schema\":\"pqtls.advise/1\",\"server\":\"(other)\",\"server_port\":null",
                  62) == 0,
          "last service: %.80s", last);
    CHECK(strstr(last, "\"handshakes\":4464,") != NULL, "(other) counts 4464: %.300s", last);
    /* x25519 share only, listing the hybrid group: HRR at preferred. */
    CHECK(strstr(last,
                 "\"stage\":\"preferred\",\"server_groups\":\"X25519MLKEM768 / "
                 "x25519:secp256r1:x448:secp384r1:secp521r1\",\"hybrid\":4464,\"hrr\":4464,") !=
              NULL,
          "(other) preferred: %.600s", strstr(last, "\"preferred\""));
    free(out);
    pqt_adv_free(a);

    /* One service, 40 families and 40 client /24s, two handshakes each:
     * 31 of each kept, the other 9 under "(other)" (18 handshakes). */
    a = adv();
    char fam[40][16];
    for (uint32_t i = 0; i < 40; i++) {
        snprintf(fam[i], sizeof(fam[i]), "family%02u", i);
        for (int k = 0; k < 2; k++) {
            handshake(&hs, 0xC0000201u, 0x0A000001u + (i << 8), "one.example", fam[i]);
            pqt_adv_add(a, &hs);
        }
    }
    out = jsonl(a, &lines);
    CHECK(lines == 1, "%zu services, want 1", lines);
    CHECK(strstr(out, "\"handshakes\":80,\"replayed\":80,") != NULL, "80 handshakes: %.200s", out);
    const char *fams = strstr(out, "\"families\":[");
    CHECK(fams != NULL && strstr(fams, "{\"family\":\"(other)\",\"handshakes\":18,") != NULL,
          "families: %.300s", fams);
    size_t nf = 0;
    for (const char *p = fams;
         p != NULL && (p = strstr(p, "{\"family\":")) != NULL && p < strstr(fams, "\"paths\"");
         p++) {
        nf++;
    }
    CHECK(nf == 32, "%zu families listed, want 32", nf);
    snprintf(want, sizeof(want), "{\"client_prefix\":\"(other)\",\"handshakes\":18,");
    CHECK(strstr(out, want) != NULL, "paths: %.300s", strstr(out, "\"paths\""));
    CHECK(strstr(out, "{\"client_prefix\":\"10.0.0.0/24\",\"handshakes\":2,") != NULL,
          "first path: %.200s", strstr(out, "\"paths\""));
    free(out);
    pqt_adv_free(a);

    printf("advise.agg: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
