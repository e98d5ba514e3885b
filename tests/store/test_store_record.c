/*
 * store.record (and, from test_store.sh, the same program against
 * PostgreSQL): stored pqtls-scan/1 records read back (src/store/record.c)
 * and the CBOM of a stored scan (src/store/export.c).
 *
 *   - synthetic results of every kind the CBOM distinguishes (hybrid after
 *     HRR, legacy Kyber, TLS 1.2 on P-384 with a suite pqtls has no name
 *     for, STARTTLS, an ML-DSA certificate by OID, errors with escapes,
 *     invalid UTF-8 and control bytes) written as JSON Lines and read back
 *     equal, field by field; every code point (group, version, suite,
 *     signature scheme, 0..0xffff) read back as the code that printed it
 *   - the BOM of the read-back results equals the BOM of the originals
 *     byte for byte but for serialNumber and timestamp
 *   - a scan written in two shards, out of order, read back in input order;
 *     pqt_store_history(PQT_HISTORY_CBOM) gives the BOM of the originals
 *     (a later incomplete scan is not the one exported); a store without a
 *     complete scan (or none since --since) is an error and writes nothing
 *   - the reader refuses what the writer never writes: every truncation,
 *     another schema, unknown names, fractions, \u0000, lone surrogates,
 *     raw control bytes, a string longer than its field, nesting past 16,
 *     a probe twice, bytes after the record; and 200,000 random mutations
 *     of a record neither crash it nor come back half-filled
 *
 * usage: test_store_record URL   (a SQLite path is deleted first; a
 *                                 PostgreSQL database must be empty)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqtls/groups.h"
#include "pqtls/names.h"
#include "pqtls/store.h"

static int failures;
#define CHECK(c)                                                         \
    do {                                                                 \
        if (!(c)) {                                                      \
            fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                  \
        }                                                                \
    } while (0)

static const int64_t T0 = 1735689600; /* 2025-01-01 */

/* ---- synthetic results ------------------------------------------------------------ */

static void target(pqt_scan_result *r, const char *line, uint64_t index)
{
    int blank = 0;
    const char *why = NULL;
    memset(r, 0, sizeof(*r));
    CHECK(pqt_scan_target_parse(line, &r->target, &blank, &why) == 0);
    r->target.index = index;
    r->target.line = (unsigned)index + 1;
    pqt_scan_target_name(&r->target, r->name, sizeof(r->name));
    snprintf(r->address, sizeof(r->address), "192.0.2.1:%u", r->target.port);
    r->ms = 40 + (uint32_t)index;
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
    p->attempts = 1 + (unsigned)i % 2;
    p->ms = 3 * (uint32_t)i;
    p->bytes_sent = 1200 + (uint64_t)i;
    p->bytes_received = 4000000000ull + (uint64_t)i;
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

#define NRES 6

static void results(pqt_scan_result *res)
{
    pqt_scan_result *r;
    /* A server that prefers the hybrid at the cost of an HRR: every hybrid
     * probe verified, classical refused with an alert. */
    r = &res[0];
    target(r, "preferred.test:443", 0);
    for (int i = PQT_PROBE_BROWSER; i <= PQT_PROBE_SECP384R1MLKEM1024; i++) {
        probe(r, i, PQT_OUTCOME_SERVER_HELLO, i == 2 ? PQT_GROUP_SECP256R1MLKEM768 : 0x11ec, 0x0304,
              0x1301, 1);
    }
    probe(r, PQT_PROBE_MLKEM1024, PQT_OUTCOME_ALERT, 0, 0, 0, 0);
    r->probes[PQT_PROBE_MLKEM1024].alert = 40;
    r->probes[PQT_PROBE_MLKEM1024].error = "alert";
    probe(r, PQT_PROBE_HRR_PREFERENCE, PQT_OUTCOME_HRR, 0x11ec, 0x0304, 0x1302, 1);
    r->probes[PQT_PROBE_HRR_PREFERENCE].retried = 1;
    probe(r, PQT_PROBE_CLASSICAL, PQT_OUTCOME_ALERT, 0, 0, 0, 0);
    r->probes[PQT_PROBE_CLASSICAL].alert = 71;
    cert(r, "ML-DSA-65", 0, "", "2.16.840.1.101.3.4.3.18", 0x0905);
    r->stage = PQT_STAGE_PREFERRED;
    /* Legacy Kyber, TLS 1.2 on P-384 with a suite that has no name. */
    r = &res[1];
    target(r, "kyber.test:8443,other.test", 1);
    probe(r, PQT_PROBE_BROWSER, PQT_OUTCOME_SERVER_HELLO, 0x0018, 0x0303, 0xc030, 0);
    probe(r, PQT_PROBE_LEGACY_KYBER, PQT_OUTCOME_SERVER_HELLO, 0x6399, 0x0304, 0x1303, 0);
    probe(r, PQT_PROBE_CLASSICAL, PQT_OUTCOME_SERVER_HELLO, 0x1234, 0x0303, 0x009d, 0);
    probe(r, PQT_PROBE_SPLIT_SNI, PQT_OUTCOME_TIMEOUT, 0, 0, 0, 0);
    r->probes[PQT_PROBE_SPLIT_SNI].error = "first_byte_timeout";
    snprintf(r->probes[PQT_PROBE_SPLIT_SNI].detail, PQT_PROBE_DETAIL_MAX,
             "no byte within 3000 ms \"after\" \\ the hello");
    cert(r, "RSA", 3072, "", "1.2.3.4.5", 0x0804);
    r->flags = PQT_FLAG_LEGACY_KYBER | PQT_FLAG_SEGMENTATION_INTOLERANT;
    /* STARTTLS with a dialogue failure, bytes that are not UTF-8 and
     * control bytes in what the server said (the probe's detail), valid
     * UTF-8 kept as it is. */
    r = &res[2];
    target(r, "smtp://mail.test", 2);
    probe(r, PQT_PROBE_BROWSER, PQT_OUTCOME_STARTTLS_FAILED, 0, 0, 0, 0);
    r->probes[PQT_PROBE_BROWSER].error = "starttls_not_offered";
    r->probes[PQT_PROBE_BROWSER].in_dialogue = 1;
    snprintf(r->probes[PQT_PROBE_BROWSER].detail, PQT_PROBE_DETAIL_MAX,
             "250 caf\xc3\xa9 \xff\xfe\x01\t\x7f \xf0\x9f\x94\x92 end");
    /* (Server text in the result's own fields is printable ASCII, as the
     * scanner makes it: they are also columns, and PostgreSQL takes only
     * UTF-8 text. The probe's detail lives in the record alone.) */
    snprintf(r->detail, sizeof(r->detail), "the server said \"\x1b[0m\" \\ {}");
    r->flags = PQT_FLAG_NO_STARTTLS;
    /* A postgres target over direct TLS (no dialogue, another name). */
    r = &res[3];
    target(r, "postgres://db.test:5433?sslnegotiation=direct", 3);
    probe(r, PQT_PROBE_X25519MLKEM768, PQT_OUTCOME_SERVER_HELLO, 0x11ec, 0x0304, 0x1301, 1);
    probe(r, PQT_PROBE_CLASSICAL, PQT_OUTCOME_MALFORMED, 0x001d, 0x0304, 0x1301, 0);
    r->probes[PQT_PROBE_CLASSICAL].error = "decrypt_failed";
    r->probes[PQT_PROBE_CLASSICAL].broken = 1;
    cert(r, "EC", 256, "prime256v1", "ecdsa-with-SHA256", 0x0403);
    r->stage = PQT_STAGE_SUPPORTED;
    r->flags = PQT_FLAG_BROKEN_HYBRID;
    /* Unreachable: no address, a target error. */
    r = &res[4];
    target(r, "[2001:db8::1]:443", 4);
    r->address[0] = 0;
    snprintf(r->error, sizeof(r->error), "connect: Connection refused");
    probe(r, PQT_PROBE_BROWSER, PQT_OUTCOME_CONNECT_FAILED, 0, 0, 0, 0);
    r->probes[PQT_PROBE_BROWSER].error = "connect_failed";
    r->flags = PQT_FLAG_UNREACHABLE;
    /* Required: classical refused, every field at its longest. */
    r = &res[5];
    target(r, "required.test", 5);
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        probe(r, i, PQT_OUTCOME_SERVER_HELLO, 0x11ec, 0x0304, 0x1301, 1);
    }
    probe(r, PQT_PROBE_CLASSICAL, PQT_OUTCOME_ALERT, 0, 0, 0, 0);
    r->probes[PQT_PROBE_CLASSICAL].alert = 200; /* no name */
    memset(r->detail, 'd', sizeof(r->detail) - 1);
    memset(r->error, 'e', sizeof(r->error) - 1);
    cert(r, "ED25519", 256, "", "ED25519", 0x0807);
    memset(r->cert.sig_alg, 's', sizeof(r->cert.sig_alg) - 1);
    r->stage = PQT_STAGE_REQUIRED;
}

/* ---- helpers ------------------------------------------------------------------------ */

static char *jsonl(const pqt_scan_result *r, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    CHECK(pqt_scan_write_jsonl(f, r) == 0);
    fclose(f);
    return buf;
}

/* Equal in everything the record carries (not broken, in_dialogue,
 * banner, host_is_ip). */
static int same_result(const pqt_scan_result *a, const pqt_scan_result *b)
{
    int ok = strcmp(a->name, b->name) == 0 && strcmp(a->target.host, b->target.host) == 0 &&
             strcmp(a->target.sni, b->target.sni) == 0 && a->target.port == b->target.port &&
             a->target.line == b->target.line && a->target.proto == b->target.proto &&
             a->target.starttls == b->target.starttls && a->target.index == b->target.index &&
             strcmp(a->address, b->address) == 0 && strcmp(a->error, b->error) == 0 &&
             strcmp(a->detail, b->detail) == 0 && a->stage == b->stage && a->flags == b->flags &&
             a->probes_run == b->probes_run && a->ms == b->ms && a->cert.seen == b->cert.seen &&
             strcmp(a->cert.key_alg, b->cert.key_alg) == 0 &&
             a->cert.key_bits == b->cert.key_bits &&
             strcmp(a->cert.key_curve, b->cert.key_curve) == 0 &&
             strcmp(a->cert.sig_alg, b->cert.sig_alg) == 0 &&
             a->cert.verify_scheme == b->cert.verify_scheme;
    for (int i = 0; ok && i < PQT_PROBE_COUNT; i++) {
        const pqt_probe_result *p = &a->probes[i], *q = &b->probes[i];
        if (!((a->probes_run >> i) & 1)) {
            continue;
        }
        ok = p->outcome == q->outcome && p->version == q->version && p->cipher == q->cipher &&
             p->group == q->group && p->alert == q->alert && p->verified == q->verified &&
             p->retried == q->retried && p->ms == q->ms && p->attempts == q->attempts &&
             p->bytes_sent == q->bytes_sent && p->bytes_received == q->bytes_received &&
             strcmp(p->detail, q->detail) == 0 &&
             (p->error == NULL ? q->error == NULL
                               : q->error != NULL && strcmp(p->error, q->error) == 0);
        if (!ok) {
            fprintf(stderr, "probe %s differs\n", pqt_probe_name(i));
        }
    }
    if (!ok) {
        fprintf(stderr, "result %s differs\n", a->name);
    }
    return ok;
}

/* A BOM with its serialNumber and timestamp blanked (both fixed-length). */
static void blank_volatile(char *bom)
{
    const char *keys[] = {"\"serialNumber\":\"urn:uuid:", "\"timestamp\":\""};
    for (int k = 0; k < 2; k++) {
        char *p = strstr(bom, keys[k]);
        CHECK(p != NULL);
        if (p != NULL) {
            for (p += strlen(keys[k]); *p && *p != '"'; p++) {
                *p = 'x';
            }
        }
    }
}

static char *bom_of(const pqt_scan_result *res, int n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pqt_scan_cbom *c = NULL;
    CHECK(pqt_scan_cbom_open(&c, f, T0) == 0);
    for (int i = 0; i < n; i++) {
        CHECK(pqt_scan_cbom_add(c, &res[i]) == 0);
    }
    CHECK(pqt_scan_cbom_close(c) == 0);
    fclose(f);
    blank_volatile(buf);
    return buf;
}

/* ---- round trips ------------------------------------------------------------------------ */

static void test_round_trip(const pqt_scan_result *res)
{
    pqt_store_record *rec = calloc(NRES, sizeof(*rec));
    pqt_scan_result back[NRES];
    const char *why = NULL;
    for (int i = 0; i < NRES; i++) {
        size_t len = 0;
        char *j = jsonl(&res[i], &len);
        CHECK(len > 0 && j[len - 1] == '\n');
        /* With and without the newline. */
        CHECK(pqt_store_record_parse(j, len, &rec[i], &why) == 0 && why == NULL);
        CHECK(pqt_store_record_parse(j, len - 1, &rec[i], &why) == 0);
        if (why != NULL) {
            fprintf(stderr, "%s: %s\n", res[i].name, why);
        }
        CHECK(same_result(&res[i], &rec[i].result));
        back[i] = rec[i].result;
        free(j);
    }
    char *a = bom_of(res, NRES), *b = bom_of(back, NRES);
    CHECK(strcmp(a, b) == 0);
    CHECK(strstr(a, "\"pqtls:scan.started\",\"value\":\"2025-01-01T00:00:00Z\"") != NULL);
    free(a);
    free(b);
    free(rec);
    printf("ok: %d synthetic results read back equal; their BOM equals the originals'\n", NRES);
}

/* Every code point in every field that prints one by name or as hex. */
static void test_code_points(const pqt_scan_result *res)
{
    pqt_scan_result r = res[0];
    pqt_store_record *rec = malloc(sizeof(*rec));
    unsigned bad = 0, named = 0;
    for (uint32_t c = 1; c <= 0xffff; c++) {
        pqt_probe_result *p = &r.probes[PQT_PROBE_BROWSER];
        p->group = (uint16_t)c;
        p->cipher = (uint16_t)c;
        r.cert.verify_scheme = (uint16_t)c;
        /* Versions print by name only; the others print as null. */
        p->version = pqt_tls_version_name((uint16_t)c) != NULL ? (uint16_t)c : 0;
        named += pqt_group_name((uint16_t)c) != NULL;
        size_t len = 0;
        char *j = jsonl(&r, &len);
        const char *why = NULL;
        if (pqt_store_record_parse(j, len, rec, &why) != 0 ||
            rec->result.probes[PQT_PROBE_BROWSER].group != c ||
            rec->result.probes[PQT_PROBE_BROWSER].cipher != c ||
            rec->result.probes[PQT_PROBE_BROWSER].version != p->version ||
            rec->result.cert.verify_scheme != c) {
            if (bad++ < 5) {
                fprintf(stderr, "code point 0x%04x: %s\n", c, why ? why : "read back wrong");
            }
        }
        free(j);
    }
    CHECK(bad == 0);
    CHECK(named > 10);
    free(rec);
    printf("ok: code points 0x0001-0xffff (%u named groups) read back as printed\n", named);
}

/* ---- what the reader refuses ------------------------------------------------------------ */

static void refuse(const char *json, const char *what)
{
    pqt_store_record *rec = malloc(sizeof(*rec));
    const char *why = NULL;
    int ret = pqt_store_record_parse(json, strlen(json), rec, &why);
    CHECK(ret == PQT_ERR_SYNTAX || ret == PQT_ERR_TRUNCATED);
    CHECK(why != NULL && rec->result.name[0] == 0);
    if (ret == 0) {
        fprintf(stderr, "accepted: %s\n", what);
    }
    free(rec);
}

/* The record of res with the first occurrence of from replaced by to. */
static char *edit(const pqt_scan_result *r, const char *from, const char *to)
{
    size_t len = 0;
    char *j = jsonl(r, &len);
    char *p = strstr(j, from);
    CHECK(p != NULL);
    char *out = malloc(len + strlen(to) + 1);
    if (p == NULL) {
        strcpy(out, j);
    } else {
        size_t at = (size_t)(p - j);
        memcpy(out, j, at);
        strcpy(out + at, to);
        strcat(out, p + strlen(from));
    }
    free(j);
    return out;
}

static void refuse_edit(const pqt_scan_result *r, const char *from, const char *to,
                        const char *what)
{
    char *j = edit(r, from, to);
    refuse(j, what);
    free(j);
}

static void test_refused(const pqt_scan_result *res)
{
    const pqt_scan_result *r = &res[0];
    size_t len = 0;
    char *j = jsonl(r, &len);
    pqt_store_record *rec = malloc(sizeof(*rec));
    unsigned accepted = 0;
    /* Every truncation. */
    for (size_t n = 0; n + 1 < len; n++) {
        const char *why = NULL;
        if (pqt_store_record_parse(j, n, rec, &why) == 0) {
            accepted++;
        }
    }
    CHECK(accepted == 0);
    refuse_edit(r, "pqtls-scan/1", "pqtls-scan/2", "another schema");
    refuse_edit(r, "\"stage\":\"preferred\"", "\"stage\":\"best\"", "unknown stage");
    refuse_edit(r, "\"outcome\":\"hrr\"", "\"outcome\":\"maybe\"", "unknown outcome");
    refuse_edit(r, "\"name\":\"browser\"", "\"name\":\"firefox\"", "unknown probe");
    refuse_edit(r, "\"group\":\"SecP256r1MLKEM768\"", "\"group\":\"P-1024\"", "unknown group");
    refuse_edit(r, "\"group\":\"SecP256r1MLKEM768\"", "\"group\":\"0x12g4\"", "bad hex");
    refuse_edit(r, "\"ms\":40", "\"ms\":40.5", "a fraction");
    refuse_edit(r, "\"ms\":40", "\"ms\":4e1", "an exponent");
    refuse_edit(r, "\"ms\":40", "\"ms\":-40", "a negative ms");
    refuse_edit(r, "\"ms\":40", "\"ms\":4294967296", "ms past 32 bits");
    refuse_edit(r, "\"index\":0", "\"index\":18446744073709551616", "index past 64 bits");
    refuse_edit(r, "\"port\":443", "\"port\":65536", "port past 16 bits");
    refuse_edit(r, "\"target\":\"preferred", "\"target\":\"pre\\u0000ferred", "\\u0000");
    refuse_edit(r, "\"target\":\"preferred", "\"target\":\"\\ud800preferred", "lone surrogate");
    refuse_edit(r, "\"target\":\"preferred", "\"target\":\"\\udc00preferred", "lone low half");
    refuse_edit(r, "\"target\":\"preferred", "\"target\":\"\\ud800\\u0041preferred",
                "surrogate pair with a non-surrogate");
    refuse_edit(r, "\"target\":\"preferred", "\"target\":\"pre\tferred", "raw tab");
    refuse_edit(r, "\"target\":\"preferred", "\"target\":\"pre\\xferred", "unknown escape");
    refuse_edit(r, "\"curve\":null", "\"curve\":\"0123456789012345678901234\"",
                "curve longer than its field");
    refuse_edit(r, "\"schema\"", "\"x\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]],\"schema\"",
                "nesting past 16");
    refuse_edit(r, "\"probes\":[{", "\"probes\":[{\"name\":\"browser\",\"outcome\":\"alert\"},{",
                "a probe twice");
    refuse_edit(r, "\"verified\":true", "\"verified\":truth", "bad literal");
    refuse_edit(r, "\"stage\":\"preferred\",", "", "no stage");
    refuse_edit(r, "\"flags\":[]", "\"flags\":[\"shiny\"]", "unknown flag");
    refuse_edit(r, "\"flags\":[]", "\"flags\":[],", "two commas");
    refuse_edit(r, "\"flags\":[]", "\"flags\":[,]", "empty item");
    refuse_edit(r, "\"protocol\":\"tls\"", "\"protocol\":\"gopher\"", "unknown protocol");
    refuse_edit(r, "}\n", "} x\n", "bytes after the record");
    refuse("", "empty");
    refuse("[]", "an array");
    /* Unknown keys of any shape (to 16 deep) are skipped. */
    char *ok =
        edit(r, "\"schema\"",
             "\"future\":{\"a\":[1,-2,true,false,null,\"s\\u00e9\",{}],\"b\":[]},\"schema\"");
    const char *why = NULL;
    CHECK(pqt_store_record_parse(ok, strlen(ok), rec, &why) == 0);
    CHECK(same_result(r, &rec->result));
    free(ok);
    /* Random mutations: no crash (ASan in the sanitize build); a record
     * that still parses has a name and a known stage. */
    srand(12345);
    unsigned parsed = 0;
    char *m = malloc(len);
    for (int round = 0; round < 200000; round++) {
        memcpy(m, j, len);
        int edits = 1 + rand() % 4;
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)rand() % len;
            static const char alphabet[] = "{}[]\",:\\u0123456789abcdefnulltrue -.eE\x01\xff";
            m[at] = rand() % 2 ? alphabet[rand() % (sizeof(alphabet) - 1)] : (char)(rand() % 256);
        }
        size_t n = (size_t)rand() % 8 == 0 ? (size_t)rand() % len : len;
        if (pqt_store_record_parse(m, n, rec, &why) == 0) {
            parsed++;
            CHECK(rec->result.name[0] != 0 && rec->result.stage >= 0 &&
                  rec->result.stage <= PQT_STAGE_REQUIRED);
        } else {
            CHECK(rec->result.name[0] == 0 && why != NULL);
        }
    }
    free(m);
    free(rec);
    free(j);
    printf("ok: truncations, 30 malformed records refused; 200000 mutations (%u still parse)\n",
           parsed);
}

/* ---- through the store ------------------------------------------------------------------ */

typedef struct {
    pqt_scan_result *got;
    int n;
} collect;

static int collect_one(void *ctx, const pqt_scan_result *r)
{
    collect *c = ctx;
    if (c->n < NRES) {
        c->got[c->n] = *r;
        /* The error strings point into the reader's record: keep them. */
        for (int i = 0; i < PQT_PROBE_COUNT; i++) {
            if (r->probes[i].error != NULL) {
                c->got[c->n].probes[i].error = strdup(r->probes[i].error);
            }
        }
    }
    c->n++;
    return 0;
}

static char *history_cbom(pqt_store *s, int *ret, pqt_history_summary *sum)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    pqt_history_options o = {.format = PQT_HISTORY_CBOM};
    *ret = pqt_store_history(s, &o, f, sum);
    fclose(f);
    return buf;
}

static void test_store(const char *url, const pqt_scan_result *res)
{
    pqt_store *s = NULL;
    char why[512];
    pqt_history_summary sum;
    int ret = 0;
    CHECK(pqt_store_open(url, &s, why, sizeof(why)) == 0);
    if (s == NULL) {
        fprintf(stderr, "%s\n", why);
        failures++;
        return;
    }
    /* Nothing complete yet: an error, and nothing written. */
    char *none = history_cbom(s, &ret, &sum);
    CHECK(ret == PQT_ERR_ARG && none[0] == 0);
    CHECK(strstr(pqt_store_error(s), "no complete scan") != NULL);
    free(none);
    /* Two shards, the second written first, each out of input order. */
    CHECK(pqt_store_begin(s, "bom-1", 2, 2, T0 + 5) == 0);
    CHECK(pqt_store_add(s, &res[5]) == 0);
    CHECK(pqt_store_add(s, &res[1]) == 0);
    CHECK(pqt_store_add(s, &res[3]) == 0);
    CHECK(pqt_store_finish(s, T0 + 60) == 0);
    CHECK(pqt_store_begin(s, "bom-1", 1, 2, T0) == 0);
    CHECK(pqt_store_add(s, &res[4]) == 0);
    CHECK(pqt_store_add(s, &res[0]) == 0);
    CHECK(pqt_store_add(s, &res[2]) == 0);
    /* Not complete until its last shard finishes. */
    none = history_cbom(s, &ret, &sum);
    CHECK(ret == PQT_ERR_ARG && none[0] == 0);
    free(none);
    if (pqt_store_finish(s, T0 + 70) != 0) {
        fprintf(stderr, "finish: %s\n", pqt_store_error(s));
        failures++;
    }
    /* A later scan that never finishes is not the one exported. */
    CHECK(pqt_store_begin(s, "bom-2", 1, 1, T0 + 3600) == 0);
    CHECK(pqt_store_add(s, &res[0]) == 0);
    pqt_store_close(s);
    CHECK(pqt_store_open(url, &s, why, sizeof(why)) == 0);
    if (s == NULL) {
        failures++;
        return;
    }

    pqt_scan_result got[NRES];
    collect c = {got, 0};
    CHECK(pqt_store_scan_results(s, "bom-1", collect_one, &c) == 0);
    CHECK(c.n == NRES);
    for (int i = 0; i < c.n && i < NRES; i++) {
        CHECK(same_result(&res[i], &got[i]));
        for (int k = 0; k < PQT_PROBE_COUNT; k++) {
            free((char *)got[i].probes[k].error);
        }
    }
    /* The BOM of the stored scan is the BOM of the results scanned, its
     * start the earliest shard's. */
    char *want = bom_of(res, NRES);
    char *bom = history_cbom(s, &ret, &sum);
    CHECK(ret == 0 && strcmp(sum.latest, "bom-1") == 0 && sum.targets == NRES);
    blank_volatile(bom);
    CHECK(strcmp(bom, want) == 0);
    free(bom);
    /* --since after it: none left to export. */
    pqt_history_options o = {.format = PQT_HISTORY_CBOM, .since = T0 + 1};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(pqt_store_history(s, &o, f, &sum) == PQT_ERR_ARG);
    fclose(f);
    CHECK(len == 0);
    free(buf);
    free(want);
    pqt_store_close(s);
    printf("ok: a scan stored in two shards read back in input order; its BOM (the latest\n"
           "    complete scan's) equals the scanned results'; none complete or none since: "
           "an error\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s URL\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    int pg = strncmp(url, "postgres", 8) == 0;
    pqt_scan_result *res = calloc(NRES, sizeof(*res));
    results(res);
    test_round_trip(res);
    test_code_points(res);
    test_refused(res);
    if (!pg) {
        unlink(url);
    }
    test_store(url, res);
    free(res);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("store.record: ok\n");
    return 0;
}
