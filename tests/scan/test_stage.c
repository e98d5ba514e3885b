/*
 * Unit tests for src/scan/stage.c: the stage and flags derived from a
 * target's probe results (verified exchanges only, segmentation verdicts
 * only against a baseline), the stage, flag and probe names, and policies
 * (rule matching, forbidden flags, errors with their line).
 */
#define _GNU_SOURCE /* fmemopen */
#include <stdio.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/scan.h"

#include "../check.h"

/* ---- staging ------------------------------------------------------------------ */

static void set(pqt_scan_result *r, int probe, int outcome, uint16_t group, int verified)
{
    r->probes_run |= 1u << probe;
    r->probes[probe].outcome = outcome;
    r->probes[probe].group = group;
    r->probes[probe].verified = verified;
    r->probes[probe].alert = outcome == PQT_OUTCOME_ALERT ? 40 : -1;
    r->probes[probe].bytes_received = outcome == PQT_OUTCOME_CONNECT_FAILED ? 0 : 100;
}

/* A server with X25519MLKEM768 and classical groups, answering every probe. */
static void base(pqt_scan_result *r, int hybrid, int hrr_prefers, int classical_ok)
{
    memset(r, 0, sizeof(*r));
    uint16_t h = PQT_GROUP_X25519MLKEM768;
    set(r, PQT_PROBE_BROWSER, PQT_OUTCOME_SERVER_HELLO, hybrid ? h : PQT_GROUP_X25519, 1);
    set(r, PQT_PROBE_X25519MLKEM768, hybrid ? PQT_OUTCOME_SERVER_HELLO : PQT_OUTCOME_ALERT,
        hybrid ? h : 0, hybrid);
    for (int p = PQT_PROBE_SECP256R1MLKEM768; p <= PQT_PROBE_MLKEM1024; p++) {
        set(r, p, PQT_OUTCOME_ALERT, 0, 0);
    }
    set(r, PQT_PROBE_HRR_PREFERENCE, hrr_prefers ? PQT_OUTCOME_HRR : PQT_OUTCOME_SERVER_HELLO,
        hrr_prefers ? h : PQT_GROUP_X25519, 1);
    set(r, PQT_PROBE_CLASSICAL, classical_ok ? PQT_OUTCOME_SERVER_HELLO : PQT_OUTCOME_ALERT,
        classical_ok ? PQT_GROUP_X25519 : 0, classical_ok);
    set(r, PQT_PROBE_LEGACY_KYBER, PQT_OUTCOME_ALERT, 0, 0);
    for (int p = PQT_PROBE_SPLIT_SNI; p <= PQT_PROBE_SPLIT_MSS; p++) {
        set(r, p, PQT_OUTCOME_SERVER_HELLO, PQT_GROUP_X25519, 1);
    }
}

static void test_classify(void)
{
    pqt_scan_result r;
    base(&r, 0, 0, 1);
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_NONE && r.flags == 0, "classical server: none, no flags");

    base(&r, 1, 0, 1);
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_SUPPORTED && r.flags == 0, "hybrid beside X25519: supported");

    base(&r, 1, 1, 1);
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_PREFERRED, "HRR for the hybrid: preferred (%d)", r.stage);

    /* An HRR whose continuation was not verified proves nothing. */
    base(&r, 1, 1, 1);
    r.probes[PQT_PROBE_HRR_PREFERENCE].verified = 0;
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_SUPPORTED, "unverified HRR for the hybrid: only supported (%d)",
          r.stage);
    base(&r, 0, 0, 1);
    set(&r, PQT_PROBE_HRR_PREFERENCE, PQT_OUTCOME_HRR, PQT_GROUP_X25519MLKEM768, 0);
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_NONE, "unverified HRR alone: none (%d)", r.stage);

    base(&r, 1, 0, 0);
    set(&r, PQT_PROBE_HRR_PREFERENCE, PQT_OUTCOME_HRR, PQT_GROUP_X25519MLKEM768, 1);
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_REQUIRED, "classical refused: required (%d)", r.stage);

    /* A hybrid ServerHello whose exchange could not be verified does not
     * count as support, and a broken one is flagged. */
    base(&r, 1, 0, 1);
    r.probes[PQT_PROBE_BROWSER].verified = 0;
    r.probes[PQT_PROBE_X25519MLKEM768].verified = 0;
    r.probes[PQT_PROBE_X25519MLKEM768].broken = 1;
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_NONE && r.flags == PQT_FLAG_BROKEN_HYBRID,
          "unverified hybrid: none + broken-hybrid (stage %d flags %x)", r.stage, r.flags);

    base(&r, 0, 0, 1);
    set(&r, PQT_PROBE_LEGACY_KYBER, PQT_OUTCOME_SERVER_HELLO, PQT_GROUP_X25519KYBER768DRAFT00, 0);
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_NONE && r.flags == PQT_FLAG_LEGACY_KYBER, "0x6399: legacy-kyber");

    base(&r, 1, 0, 1);
    set(&r, PQT_PROBE_SPLIT_KEY_SHARE, PQT_OUTCOME_CLOSED, 0, 0);
    pqt_scan_classify(&r);
    CHECK(r.flags == PQT_FLAG_SEGMENTATION_INTOLERANT && r.stage == PQT_STAGE_SUPPORTED,
          "split hello dropped: segmentation-intolerant");

    /* An alert to the split hello is an answer, not intolerance. */
    base(&r, 0, 0, 1);
    set(&r, PQT_PROBE_SPLIT_SNI, PQT_OUTCOME_ALERT, 0, 0);
    pqt_scan_classify(&r);
    CHECK(r.flags == 0, "alert to a split hello is not segmentation intolerance");

    /* If even the small hello gets no answer, nothing is said about splits. */
    base(&r, 0, 0, 1);
    set(&r, PQT_PROBE_CLASSICAL, PQT_OUTCOME_TIMEOUT, 0, 0);
    set(&r, PQT_PROBE_SPLIT_SNI, PQT_OUTCOME_TIMEOUT, 0, 0);
    pqt_scan_classify(&r);
    CHECK(!(r.flags & PQT_FLAG_SEGMENTATION_INTOLERANT), "no baseline, no segmentation verdict");

    memset(&r, 0, sizeof(r));
    for (int p = 0; p < PQT_PROBE_COUNT; p++) {
        set(&r, p, PQT_OUTCOME_CONNECT_FAILED, 0, 0);
    }
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_NONE && r.flags == PQT_FLAG_UNREACHABLE, "all refused: unreachable");

    memset(&r, 0, sizeof(r));
    snprintf(r.error, sizeof(r.error), "cannot resolve");
    pqt_scan_classify(&r);
    CHECK(r.flags == PQT_FLAG_UNREACHABLE, "resolution failure: unreachable");

    CHECK(pqt_scan_stage_by_name("preferred") == PQT_STAGE_PREFERRED, "stage names");
    CHECK(pqt_scan_flag_by_name("broken-hybrid") == 2, "flag names");
    CHECK(pqt_probe_by_name("split-mss") == PQT_PROBE_SPLIT_MSS && pqt_probe_by_name("x") == -1,
          "probe names");
}

/* ---- policy -------------------------------------------------------------------- */

static pqt_scan_policy *policy_from(const char *text, int *rc, unsigned *line, char *why)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    pqt_scan_policy *p = NULL;
    *rc = pqt_scan_policy_load(f, &p, line, why, 256);
    fclose(f);
    return p;
}

static void test_policy(void)
{
    int rc;
    unsigned line;
    char why[256], reason[256];
    pqt_scan_policy *p = policy_from("# comment\n"
                                     "*.bank.example  required  no-legacy-kyber\n"
                                     "\n"
                                     "10.0.0.*:8443   preferred\n"
                                     "*               supported no-broken-hybrid\n",
                                     &rc, &line, why);
    CHECK(rc == 0 && p != NULL, "policy loads (%s)", why);
    pqt_scan_result r;
    memset(&r, 0, sizeof(r));
    snprintf(r.target.host, sizeof(r.target.host), "www.bank.example");
    snprintf(r.name, sizeof(r.name), "www.bank.example:443");
    r.stage = PQT_STAGE_PREFERRED;
    CHECK(pqt_scan_policy_check(p, &r, reason, sizeof(reason)) == 0 &&
              strstr(reason, "below required") != NULL,
          "bank below required fails: %s", reason);
    r.stage = PQT_STAGE_REQUIRED;
    CHECK(pqt_scan_policy_check(p, &r, reason, sizeof(reason)) == 1, "bank required passes");
    r.flags = PQT_FLAG_LEGACY_KYBER;
    CHECK(pqt_scan_policy_check(p, &r, reason, sizeof(reason)) == 0 &&
              strstr(reason, "legacy-kyber") != NULL,
          "forbidden flag fails: %s", reason);

    snprintf(r.target.host, sizeof(r.target.host), "10.0.0.5");
    snprintf(r.name, sizeof(r.name), "10.0.0.5:8443");
    r.flags = 0;
    r.stage = PQT_STAGE_SUPPORTED;
    CHECK(pqt_scan_policy_check(p, &r, reason, sizeof(reason)) == 0, "host:port pattern applies");
    snprintf(r.name, sizeof(r.name), "10.0.0.5:443");
    CHECK(pqt_scan_policy_check(p, &r, reason, sizeof(reason)) == 1,
          "other port falls through to '*'");
    r.flags = PQT_FLAG_BROKEN_HYBRID;
    CHECK(pqt_scan_policy_check(p, &r, reason, sizeof(reason)) == 0, "no-broken-hybrid");
    pqt_scan_policy_free(p);

    p = policy_from("*.example supported\n", &rc, &line, why);
    snprintf(r.target.host, sizeof(r.target.host), "other.test");
    snprintf(r.name, sizeof(r.name), "other.test:443");
    CHECK(p && pqt_scan_policy_check(p, &r, reason, sizeof(reason)) == -1, "no rule: not judged");
    pqt_scan_policy_free(p);

    p = policy_from("ok none\n*  mandatory\n", &rc, &line, why);
    CHECK(p == NULL && rc == PQT_ERR_SYNTAX && line == 2 && strstr(why, "mandatory"),
          "unknown stage reported on line 2: %u %s", line, why);
    p = policy_from("*\n", &rc, &line, why);
    CHECK(p == NULL && rc == PQT_ERR_SYNTAX && line == 1 && strstr(why, "no minimum stage"),
          "missing stage: %s", why);
    p = policy_from("* none no-such-flag\n", &rc, &line, why);
    CHECK(p == NULL && rc == PQT_ERR_SYNTAX && strstr(why, "no-such-flag"), "bad flag: %s", why);
}

int main(void)
{
    test_classify();
    test_policy();
    printf("test_scan_stage: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
