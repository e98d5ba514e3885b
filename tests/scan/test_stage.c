/*
 * Unit tests for src/scan/stage.c: the stage and flags derived from a
 * target's probe results (verified exchanges only, segmentation verdicts
 * only against a baseline), plaintext-service and no-starttls with their
 * detail, failures inside a STARTTLS dialogue kept apart from TLS verdicts,
 * the next step from the advice table, the stage, flag and probe names, and
 * policies (rule matching, forbidden flags, errors with their line).
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
    CHECK(pqt_scan_flag_by_name("plaintext-service") == 4 &&
              pqt_scan_flag_by_name("no-starttls") == 5 && pqt_scan_flag_name(6) == NULL,
          "the new flags");
    CHECK(strcmp(pqt_probe_outcome_name(PQT_OUTCOME_STARTTLS_FAILED), "starttls_failed") == 0,
          "outcome name");
    CHECK(pqt_probe_by_name("split-mss") == PQT_PROBE_SPLIT_MSS && pqt_probe_by_name("x") == -1,
          "probe names");
}

/* A STARTTLS target (smtp://mail.example:25) whose every probe failed in
 * the dialogue with this outcome and error. */
static void dialogue_target(pqt_scan_result *r, int outcome, const char *error)
{
    int blank;
    const char *why;
    memset(r, 0, sizeof(*r));
    CHECK(pqt_scan_target_parse("smtp://mail.example", &r->target, &blank, &why) == 0, "parse");
    for (int p = 0; p < PQT_PROBE_COUNT; p++) {
        set(r, p, outcome, 0, 0);
        r->probes[p].in_dialogue = 1;
        r->probes[p].error = error;
        snprintf(r->probes[p].detail, sizeof(r->probes[p].detail),
                 "the EHLO reply lists no STARTTLS ('250-mail.example')");
    }
}

static void test_dialogues(void)
{
    pqt_scan_result r;
    const char *label = NULL;

    /* No STARTTLS on offer: cleartext only, said in a flag and a detail. */
    dialogue_target(&r, PQT_OUTCOME_STARTTLS_FAILED, "starttls_not_offered");
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_NONE && r.flags == PQT_FLAG_NO_STARTTLS,
          "not offered: none + no-starttls (%d %x)", r.stage, r.flags);
    CHECK(strstr(r.detail, "SMTP (STARTTLS): STARTTLS not offered") != NULL &&
              strstr(r.detail, "cleartext only") != NULL && strstr(r.detail, "EHLO") != NULL,
          "detail: %s", r.detail);
    CHECK(strstr(pqt_scan_next_step(&r, &label), "turn on STARTTLS") != NULL &&
              strcmp(label, "no STARTTLS") == 0,
          "next step for no-starttls: %s", label);
    dialogue_target(&r, PQT_OUTCOME_STARTTLS_FAILED, "starttls_refused");
    pqt_scan_classify(&r);
    CHECK(r.flags == PQT_FLAG_NO_STARTTLS && strstr(r.detail, "STARTTLS refused") != NULL,
          "refused: no-starttls (%x, %s)", r.flags, r.detail);

    /* A service that turned the scanner away, or spoke another protocol,
     * did not say it has no STARTTLS. */
    dialogue_target(&r, PQT_OUTCOME_STARTTLS_FAILED, "service_refused");
    pqt_scan_classify(&r);
    CHECK(r.flags == 0 && r.detail[0] == 0, "service refused: no flag (%x)", r.flags);
    CHECK(strstr(pqt_scan_next_step(&r, NULL), "no TLS handshake") != NULL,
          "next step without a handshake: %s", pqt_scan_next_step(&r, NULL));
    dialogue_target(&r, PQT_OUTCOME_STARTTLS_FAILED, "dialogue_syntax");
    pqt_scan_classify(&r);
    CHECK(r.flags == 0, "syntax: no flag (%x)", r.flags);

    /* One probe got through the dialogue: STARTTLS works, whatever the
     * others met. */
    dialogue_target(&r, PQT_OUTCOME_STARTTLS_FAILED, "starttls_refused");
    set(&r, PQT_PROBE_BROWSER, PQT_OUTCOME_SERVER_HELLO, PQT_GROUP_X25519MLKEM768, 1);
    r.probes[PQT_PROBE_BROWSER].in_dialogue = 0;
    r.probes[PQT_PROBE_BROWSER].error = NULL;
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_SUPPORTED && !(r.flags & PQT_FLAG_NO_STARTTLS),
          "one probe through: supported, no flag (%d %x)", r.stage, r.flags);

    /* Closes during the dialogue are not a middlebox dropping split
     * hellos, nor a refusal of classical clients. */
    base(&r, 1, 0, 1);
    r.target.starttls = PQT_STARTTLS_SMTP;
    r.target.proto = PQT_SCAN_PROTO_SMTP;
    set(&r, PQT_PROBE_SPLIT_SNI, PQT_OUTCOME_CLOSED, 0, 0);
    r.probes[PQT_PROBE_SPLIT_SNI].in_dialogue = 1;
    pqt_scan_classify(&r);
    CHECK(r.flags == 0 && r.stage == PQT_STAGE_SUPPORTED,
          "close in the dialogue of a split probe: no flag (%x)", r.flags);
    set(&r, PQT_PROBE_SPLIT_SNI, PQT_OUTCOME_CLOSED, 0, 0);
    r.probes[PQT_PROBE_SPLIT_SNI].in_dialogue = 0;
    pqt_scan_classify(&r);
    CHECK(r.flags == PQT_FLAG_SEGMENTATION_INTOLERANT,
          "close after the split ClientHello over STARTTLS: segmentation-intolerant (%x)", r.flags);
    base(&r, 1, 0, 0);
    set(&r, PQT_PROBE_CLASSICAL, PQT_OUTCOME_RESET, 0, 0);
    r.probes[PQT_PROBE_CLASSICAL].in_dialogue = 1;
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_SUPPORTED, "reset in the dialogue is not 'required' (%d)", r.stage);

    /* A direct ClientHello met an SMTP banner: plaintext-service, and what
     * to scan instead. */
    memset(&r, 0, sizeof(r));
    int blank;
    const char *why;
    CHECK(pqt_scan_target_parse("192.0.2.25:25,mail.example", &r.target, &blank, &why) == 0,
          "parse");
    for (int p = 0; p < PQT_PROBE_COUNT; p++) {
        set(&r, p, PQT_OUTCOME_MALFORMED, 0, 0);
        r.probes[p].error = "not_tls";
        r.probes[p].banner = PQT_BANNER_SMTP;
    }
    pqt_scan_classify(&r);
    CHECK(r.stage == PQT_STAGE_NONE && r.flags == PQT_FLAG_PLAINTEXT_SERVICE &&
              strcmp(r.detail, "SMTP banner: scan smtp://192.0.2.25:25,mail.example") == 0,
          "plaintext-service: %x '%s'", r.flags, r.detail);
    CHECK(strstr(pqt_scan_next_step(&r, &label), "its own protocol") != NULL &&
              strcmp(label, "plaintext service") == 0,
          "next step for a plaintext service: %s", label);
}

/* ---- advice ------------------------------------------------------------------- */

static void test_advice(void)
{
    pqt_scan_result r;
    const char *label = NULL;
    static const struct {
        int hybrid, hrr, classical;
        const char *label, *step_part;
    } rows[] = {
        {0, 0, 1, "none", "to support: offer X25519MLKEM768"},
        {1, 0, 1, "supported", "to prefer:"},
        {1, 1, 1, "preferred", "to require:"},
        {1, 1, 0, "required", "watch for clients"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        base(&r, rows[i].hybrid, rows[i].hrr, rows[i].classical);
        pqt_scan_classify(&r);
        const char *step = pqt_scan_next_step(&r, &label);
        CHECK(strcmp(label, rows[i].label) == 0 && strstr(step, rows[i].step_part) != NULL,
              "stage %d: '%s' -> '%s'", r.stage, label, step);
    }
    /* Flags come first: fix them before the stage can move. */
    base(&r, 1, 0, 1);
    set(&r, PQT_PROBE_SPLIT_MSS, PQT_OUTCOME_TIMEOUT, 0, 0);
    pqt_scan_classify(&r);
    CHECK(strstr(pqt_scan_next_step(&r, &label), "middlebox") != NULL &&
              strcmp(label, "segmentation-intolerant") == 0,
          "middlebox first: %s", label);
    memset(&r, 0, sizeof(r));
    snprintf(r.error, sizeof(r.error), "cannot resolve");
    pqt_scan_classify(&r);
    CHECK(strcmp((pqt_scan_next_step(&r, &label), label), "unreachable") == 0, "unreachable");
    /* A protocol-specific row: PostgreSQL up to 17 takes one curve. */
    base(&r, 0, 0, 1);
    r.target.proto = PQT_SCAN_PROTO_POSTGRES;
    pqt_scan_classify(&r);
    CHECK(strstr(pqt_scan_next_step(&r, NULL), "PostgreSQL 18") != NULL, "postgres advice");
    /* TLS 1.2 only: TLS 1.3 first. */
    base(&r, 0, 0, 1);
    for (int p = 0; p < PQT_PROBE_COUNT; p++) {
        r.probes[p].version = r.probes[p].outcome == PQT_OUTCOME_SERVER_HELLO ? 0x0303 : 0;
    }
    pqt_scan_classify(&r);
    CHECK(strstr(pqt_scan_next_step(&r, NULL), "TLS 1.3 first") != NULL, "TLS 1.2 advice");
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
    p = policy_from("smtp://* supported no-no-starttls no-plaintext-service\n", &rc, &line, why);
    CHECK(p != NULL, "policy with the new flags loads (%s)", why);
    snprintf(r.target.host, sizeof(r.target.host), "mail.example");
    snprintf(r.name, sizeof(r.name), "smtp://mail.example:25");
    r.stage = PQT_STAGE_SUPPORTED;
    r.flags = PQT_FLAG_NO_STARTTLS;
    CHECK(p && pqt_scan_policy_check(p, &r, reason, sizeof(reason)) == 0 &&
              strstr(reason, "flag no-starttls is forbidden") != NULL,
          "no-no-starttls: %s", reason);
    snprintf(r.name, sizeof(r.name), "mail.example:25");
    CHECK(p && pqt_scan_policy_check(p, &r, reason, sizeof(reason)) == -1,
          "smtp://* matches only SMTP targets");
    pqt_scan_policy_free(p);
    p = policy_from("* none no-such-flag\n", &rc, &line, why);
    CHECK(p == NULL && rc == PQT_ERR_SYNTAX && strstr(why, "no-such-flag"), "bad flag: %s", why);
}

int main(void)
{
    test_classify();
    test_dialogues();
    test_advice();
    test_policy();
    printf("test_scan_stage: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
