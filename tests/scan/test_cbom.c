/*
 * scan.cbom_unit: the CBOM writer (src/scan/cbom.c) over synthetic,
 * classified results, for the cases a loopback estate does not offer: a
 * server that prefers the hybrid through HelloRetryRequest, one that still
 * selects X25519Kyber768Draft00, TLS 1.2 with P-384, an ML-DSA-65
 * certificate known only by its OID (OpenSSL 3.0), an RSA-3072 key, a
 * group and a signature algorithm pqtls has no asset for. Writes the BOM
 * to argv[1] for check_cbom.py (schema and content); itself checks that a
 * BOM that cannot be written is an error (/dev/full) and that an empty
 * scan is one document.
 */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/scan.h"

static int failures;

#define CHECK(c)                                                                  \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                           \
        }                                                                         \
    } while (0)

static void target(pqt_scan_result *r, const char *line, uint64_t index)
{
    int blank = 0;
    const char *why = NULL;
    memset(r, 0, sizeof(*r));
    CHECK(pqt_scan_target_parse(line, &r->target, &blank, &why) == 0);
    r->target.index = index;
    pqt_scan_target_name(&r->target, r->name, sizeof(r->name));
    snprintf(r->address, sizeof(r->address), "192.0.2.1:%u", r->target.port);
    r->ms = 42;
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        r->probes[i].alert = -1;
    }
}

static void probe(pqt_scan_result *r, int i, int outcome, uint16_t group, uint16_t version,
                  uint16_t cipher, int verified)
{
    pqt_probe_result *p = &r->probes[i];
    r->probes_run |= 1u << i;
    p->outcome = outcome;
    p->group = group;
    p->version = version;
    p->cipher = cipher;
    p->verified = verified;
    p->attempts = 1;
}

static void refused(pqt_scan_result *r, int i)
{
    probe(r, i, PQT_OUTCOME_ALERT, 0, 0, 0, 0);
    r->probes[i].alert = 40;
}

static void cert(pqt_scan_result *r, const char *key, int bits, const char *curve, const char *sig,
                 uint16_t scheme)
{
    r->cert.seen = 1;
    snprintf(r->cert.key_alg, sizeof(r->cert.key_alg), "%s", key);
    r->cert.key_bits = bits;
    snprintf(r->cert.key_curve, sizeof(r->cert.key_curve), "%s", curve);
    snprintf(r->cert.sig_alg, sizeof(r->cert.sig_alg), "%s", sig);
    r->cert.verify_scheme = scheme;
}

int main(int argc, char **argv)
{
    pqt_scan_cbom *c = NULL;
    pqt_scan_result r;
    if (argc != 2) {
        fprintf(stderr, "usage: test_scan_cbom OUT.json\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "w");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    CHECK(pqt_scan_cbom_open(&c, f, 1767225600) == 0); /* 2026-01-01T00:00:00Z */

    /* preferred.test: X25519MLKEM768 for a browser, and asked for by HRR
     * when only an X25519 share is offered; ML-DSA-65 by OID. */
    target(&r, "preferred.test", 0);
    probe(&r, PQT_PROBE_BROWSER, PQT_OUTCOME_SERVER_HELLO, PQT_GROUP_X25519MLKEM768, 0x0304, 0x1302,
          1);
    probe(&r, PQT_PROBE_X25519MLKEM768, PQT_OUTCOME_SERVER_HELLO, PQT_GROUP_X25519MLKEM768, 0x0304,
          0x1302, 1);
    probe(&r, PQT_PROBE_HRR_PREFERENCE, PQT_OUTCOME_HRR, PQT_GROUP_X25519MLKEM768, 0x0304, 0x1302,
          1);
    r.probes[PQT_PROBE_HRR_PREFERENCE].retried = 1;
    probe(&r, PQT_PROBE_CLASSICAL, PQT_OUTCOME_SERVER_HELLO, PQT_GROUP_X25519, 0x0304, 0x1301, 1);
    cert(&r, "2.16.840.1.101.3.4.3.18", 0, "", "2.16.840.1.101.3.4.3.18", 0x0905);
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_PREFERRED);
    CHECK(pqt_scan_cbom_add(c, &r) == 0);

    /* kyber.test: still selects 0x6399; TLS 1.2 with P-384 for classical
     * clients; RSA-3072 signed with a scheme pqtls has no asset for. */
    target(&r, "kyber.test:8443", 1);
    probe(&r, PQT_PROBE_BROWSER, PQT_OUTCOME_SERVER_HELLO, PQT_GROUP_X25519, 0x0304, 0x1303, 1);
    refused(&r, PQT_PROBE_X25519MLKEM768);
    probe(&r, PQT_PROBE_LEGACY_KYBER, PQT_OUTCOME_SERVER_HELLO, PQT_GROUP_X25519KYBER768DRAFT00,
          0x0304, 0x1301, 0);
    probe(&r, PQT_PROBE_CLASSICAL, PQT_OUTCOME_SERVER_HELLO, PQT_GROUP_SECP384R1, 0x0303, 0xc030,
          0);
    cert(&r, "RSA", 3072, "", "1.3.6.1.4.1.99999.1", 0x0804);
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_NONE && (r.flags & PQT_FLAG_LEGACY_KYBER));
    CHECK(pqt_scan_cbom_add(c, &r) == 0);

    /* odd.test: a group pqtls does not know, no certificate, listed twice. */
    for (uint64_t k = 2; k < 4; k++) {
        target(&r, "smtp://odd.test", k);
        probe(&r, PQT_PROBE_BROWSER, PQT_OUTCOME_SERVER_HELLO, 0x1234, 0x0304, 0x1301, 1);
        pqt_scan_classify(&r);
        CHECK(pqt_scan_cbom_add(c, &r) == 0);
    }
    CHECK(pqt_scan_cbom_close(c) == 0);
    CHECK(fclose(f) == 0);

    /* A scan of nothing is still one document. */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    CHECK(m != NULL && pqt_scan_cbom_open(&c, m, 0) == 0 && pqt_scan_cbom_close(c) == 0);
    fclose(m);
    CHECK(buf != NULL && strstr(buf, "\"components\":[]") != NULL &&
          strstr(buf, "\"specVersion\":\"1.7\"") != NULL && buf[len - 1] == '\n');
    free(buf);

    /* A BOM that cannot be written fails at close. */
    FILE *full = fopen("/dev/full", "w");
    if (full != NULL) {
        target(&r, "full.test", 0);
        CHECK(pqt_scan_cbom_open(&c, full, 0) == 0 && pqt_scan_cbom_add(c, &r) == 0);
        CHECK(pqt_scan_cbom_close(c) == PQT_ERR_IO);
        fclose(full);
    }
    if (failures != 0) {
        fprintf(stderr, "test_scan_cbom: %d failures\n", failures);
        return 1;
    }
    printf("test_scan_cbom: ok\n");
    return 0;
}
