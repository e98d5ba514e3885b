/*
 * From probe results to a stage and flags, and policy files
 * (include/pqtls/scan.h). Pure functions; tests/scan/test_scan_stage.c
 * drives them with synthetic results.
 */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/scan.h"

static const char *const stage_names[] = {"none", "supported", "preferred", "required"};
static const char *const flag_names[PQT_FLAG_COUNT] = {
    "legacy-kyber", "segmentation-intolerant", "broken-hybrid",
    "unreachable",  "plaintext-service",       "no-starttls"};

const char *pqt_scan_stage_name(int stage)
{
    return stage >= 0 && stage <= PQT_STAGE_REQUIRED ? stage_names[stage] : "unknown";
}

int pqt_scan_stage_by_name(const char *name)
{
    for (int i = 0; i <= PQT_STAGE_REQUIRED; i++) {
        if (strcmp(name, stage_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *pqt_scan_flag_name(unsigned bit)
{
    return bit < PQT_FLAG_COUNT ? flag_names[bit] : NULL;
}

int pqt_scan_flag_by_name(const char *name)
{
    for (unsigned i = 0; i < PQT_FLAG_COUNT; i++) {
        if (strcmp(name, flag_names[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* A standardized PQ group: hybrid ML-KEM or pure ML-KEM (not the drafts). */
static int pq_standard(uint16_t code)
{
    const pqt_group *g = pqt_group_by_code(code);
    return g != NULL && (g->kind == PQT_GROUP_KIND_HYBRID || g->kind == PQT_GROUP_KIND_MLKEM);
}

static int ran(const pqt_scan_result *r, int i)
{
    return (r->probes_run >> i) & 1;
}

/* The server answered in TLS (ServerHello, HRR or an alert). */
static int answered(const pqt_probe_result *p)
{
    return p->outcome == PQT_OUTCOME_SERVER_HELLO || p->outcome == PQT_OUTCOME_HRR ||
           p->outcome == PQT_OUTCOME_ALERT;
}

/* Connected, then got nothing usable after the ClientHello: what a
 * middlebox that drops a ClientHello split over two segments looks like.
 * A failure during a STARTTLS dialogue happened before any ClientHello. */
static int silent_failure(const pqt_probe_result *p)
{
    return !p->in_dialogue &&
           (p->outcome == PQT_OUTCOME_RESET || p->outcome == PQT_OUTCOME_CLOSED ||
            p->outcome == PQT_OUTCOME_TIMEOUT);
}

/* What was learnt beyond the stage: a plaintext banner met by a direct
 * ClientHello (and what to scan instead), or a service without STARTTLS. */
static void learnt(pqt_scan_result *r, unsigned *flags)
{
    const pqt_probe_result *refusal = NULL, *banner = NULL;
    int dialogue_done = 0;
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        const pqt_probe_result *p = &r->probes[i];
        if (!ran(r, i)) {
            continue;
        }
        if (p->banner != 0 && banner == NULL) {
            banner = p;
        }
        if (p->in_dialogue && pqt_starttls_error_is_refusal(p->error) && refusal == NULL) {
            refusal = p;
        }
        if (!p->in_dialogue && p->outcome != PQT_OUTCOME_CONNECT_FAILED) {
            dialogue_done = 1;
        }
    }
    if (r->target.starttls == PQT_STARTTLS_NONE && banner != NULL) {
        *flags |= PQT_FLAG_PLAINTEXT_SERVICE;
        pqt_scan_banner_advice(banner->banner, &r->target, r->detail, sizeof(r->detail));
    }
    /* No probe got past the dialogue, and one was told "no": cleartext only. */
    if (r->target.starttls != PQT_STARTTLS_NONE && refusal != NULL && !dialogue_done) {
        const pqt_scan_proto_info *pi = pqt_scan_proto_get(r->target.proto);
        *flags |= PQT_FLAG_NO_STARTTLS;
        snprintf(r->detail, sizeof(r->detail), "%s: %s (%s); the service is cleartext only",
                 pi != NULL ? pi->display : "?",
                 strcmp(refusal->error, "starttls_refused") == 0 ? "STARTTLS refused"
                                                                 : "STARTTLS not offered",
                 refusal->detail);
    }
}

void pqt_scan_classify(pqt_scan_result *r)
{
    int supported = 0, preferred = 0, required = 0;
    unsigned flags = 0;

    r->stage = PQT_STAGE_NONE;
    r->flags = 0;
    r->detail[0] = 0;
    if (r->error[0] != 0) {
        r->flags = PQT_FLAG_UNREACHABLE;
        return;
    }
    int any = 0, all_unreachable = 1;
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        if (!ran(r, i)) {
            continue;
        }
        const pqt_probe_result *p = &r->probes[i];
        any = 1;
        if (!((p->outcome == PQT_OUTCOME_CONNECT_FAILED || p->outcome == PQT_OUTCOME_TIMEOUT) &&
              p->bytes_received == 0)) {
            all_unreachable = 0;
        }
        /* A hybrid that works: selected, exchanged, and EncryptedExtensions
         * decrypted with keys derived from its shared secret. */
        if (p->outcome == PQT_OUTCOME_SERVER_HELLO && pq_standard(p->group) && p->verified) {
            supported = 1;
        }
        /* An HRR asking for a PQ group counts once the second ClientHello's
         * exchange with that group is verified like a ServerHello's. */
        if (p->outcome == PQT_OUTCOME_HRR && pq_standard(p->group) && p->verified) {
            supported = 1;
        }
        if (p->broken && (pq_standard(p->group) || p->group == 0)) {
            flags |= PQT_FLAG_BROKEN_HYBRID;
        }
    }
    if (!any) {
        return;
    }
    if (all_unreachable) {
        r->flags = PQT_FLAG_UNREACHABLE;
        return;
    }
    learnt(r, &flags);
    /* Probe 3: offered [X25519MLKEM768, X25519] with an X25519 share only.
     * Asking for the hybrid group costs the server a round trip, so it
     * prefers PQ; taking X25519 means it merely supports it. */
    if (ran(r, PQT_PROBE_HRR_PREFERENCE)) {
        const pqt_probe_result *p = &r->probes[PQT_PROBE_HRR_PREFERENCE];
        if (p->outcome == PQT_OUTCOME_HRR && pq_standard(p->group) && p->verified) {
            preferred = 1;
        }
    }
    /* Probe 4: a client without PQ is refused (alert or hang-up) although
     * the server answers PQ clients: PQ is required. */
    if (supported && ran(r, PQT_PROBE_CLASSICAL)) {
        const pqt_probe_result *p = &r->probes[PQT_PROBE_CLASSICAL];
        if (!p->in_dialogue &&
            (p->outcome == PQT_OUTCOME_ALERT || p->outcome == PQT_OUTCOME_CLOSED ||
             p->outcome == PQT_OUTCOME_RESET)) {
            required = 1;
        }
    }
    if (ran(r, PQT_PROBE_LEGACY_KYBER)) {
        const pqt_probe_result *p = &r->probes[PQT_PROBE_LEGACY_KYBER];
        if ((p->outcome == PQT_OUTCOME_SERVER_HELLO || p->outcome == PQT_OUTCOME_HRR) &&
            p->group == PQT_GROUP_X25519KYBER768DRAFT00) {
            flags |= PQT_FLAG_LEGACY_KYBER;
        }
    }
    /* Probe 6: the small classical hello is answered, the same hello padded
     * past one MSS and cut in two is not. */
    if (ran(r, PQT_PROBE_CLASSICAL) && answered(&r->probes[PQT_PROBE_CLASSICAL])) {
        for (int i = PQT_PROBE_SPLIT_SNI; i <= PQT_PROBE_SPLIT_MSS; i++) {
            if (ran(r, i) && silent_failure(&r->probes[i])) {
                flags |= PQT_FLAG_SEGMENTATION_INTOLERANT;
            }
        }
    }
    r->stage = required    ? PQT_STAGE_REQUIRED
               : preferred ? PQT_STAGE_PREFERRED
               : supported ? PQT_STAGE_SUPPORTED
                           : PQT_STAGE_NONE;
    r->flags = flags;
}

/* ---- policy --------------------------------------------------------------- */

typedef struct {
    char *pattern;
    int min_stage;
    unsigned forbidden;
} policy_rule;

struct pqt_scan_policy {
    policy_rule *rules;
    size_t n, cap;
};

void pqt_scan_policy_free(pqt_scan_policy *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        free(p->rules[i].pattern);
    }
    free(p->rules);
    free(p);
}

int pqt_scan_policy_load(FILE *f, pqt_scan_policy **out, unsigned *err_line, char *why,
                         size_t why_cap)
{
    pqt_scan_policy *p = calloc(1, sizeof(*p));
    char line[1024];
    unsigned lineno = 0;
    int ret = 0;

    *out = NULL;
    *err_line = 0;
    if (why_cap > 0) {
        why[0] = 0;
    }
    if (p == NULL) {
        return PQT_ERR_NOMEM;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(why, why_cap, "line is longer than %zu characters", sizeof(line) - 2);
            ret = PQT_ERR_SYNTAX;
            goto cleanup;
        }
        line[strcspn(line, "#\r\n")] = 0;
        char *save = NULL;
        char *pat = strtok_r(line, " \t", &save);
        if (pat == NULL) {
            continue;
        }
        char *stage = strtok_r(NULL, " \t", &save);
        if (stage == NULL) {
            snprintf(why, why_cap,
                     "rule '%s' has no minimum stage; write 'PATTERN STAGE', "
                     "STAGE one of none, supported, preferred, required",
                     pat);
            ret = PQT_ERR_SYNTAX;
            goto cleanup;
        }
        policy_rule rule = {NULL, pqt_scan_stage_by_name(stage), 0};
        if (rule.min_stage < 0) {
            snprintf(why, why_cap, "unknown stage '%s'; use none, supported, preferred or required",
                     stage);
            ret = PQT_ERR_SYNTAX;
            goto cleanup;
        }
        for (char *tok; (tok = strtok_r(NULL, " \t", &save)) != NULL;) {
            int bit = strncmp(tok, "no-", 3) == 0 ? pqt_scan_flag_by_name(tok + 3) : -1;
            if (bit < 0) {
                snprintf(why, why_cap,
                         "unknown condition '%s'; use no-legacy-kyber, "
                         "no-segmentation-intolerant, no-broken-hybrid, no-unreachable, "
                         "no-plaintext-service or no-no-starttls",
                         tok);
                ret = PQT_ERR_SYNTAX;
                goto cleanup;
            }
            rule.forbidden |= 1u << bit;
        }
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 8;
            policy_rule *nr = realloc(p->rules, cap * sizeof(*nr));
            if (nr == NULL) {
                ret = PQT_ERR_NOMEM;
                goto cleanup;
            }
            p->rules = nr;
            p->cap = cap;
        }
        rule.pattern = strdup(pat);
        if (rule.pattern == NULL) {
            ret = PQT_ERR_NOMEM;
            goto cleanup;
        }
        p->rules[p->n++] = rule;
    }
    if (ferror(f)) {
        snprintf(why, why_cap, "read error");
        ret = PQT_ERR_IO;
    }
cleanup:
    if (ret != 0) {
        *err_line = lineno;
        pqt_scan_policy_free(p);
        return ret;
    }
    *out = p;
    return 0;
}

int pqt_scan_policy_check(const pqt_scan_policy *p, const pqt_scan_result *r, char *reason,
                          size_t cap)
{
    if (cap > 0) {
        reason[0] = 0;
    }
    for (size_t i = 0; i < p->n; i++) {
        const policy_rule *rule = &p->rules[i];
        if (fnmatch(rule->pattern, r->target.host, FNM_CASEFOLD) != 0 &&
            fnmatch(rule->pattern, r->name, FNM_CASEFOLD) != 0) {
            continue;
        }
        unsigned bad = r->flags & rule->forbidden;
        if (r->stage >= rule->min_stage && bad == 0) {
            return 1;
        }
        size_t used = 0;
        if (r->stage < rule->min_stage) {
            used += (size_t)snprintf(reason, cap, "stage %s is below %s (rule '%s')",
                                     pqt_scan_stage_name(r->stage),
                                     pqt_scan_stage_name(rule->min_stage), rule->pattern);
        }
        for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
            if ((bad >> b) & 1 && used < cap) {
                used += (size_t)snprintf(reason + used, cap - used,
                                         "%sflag %s is forbidden (rule '%s')", used ? "; " : "",
                                         flag_names[b], rule->pattern);
            }
        }
        return 0;
    }
    return -1;
}
