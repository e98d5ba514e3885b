/*
 * Scan outputs (include/pqtls/scan.h): JSON Lines through the project's
 * JSON writer, a terminal table, CSV (RFC 4180) and a self-contained HTML
 * report (inline CSS and SVG, no scripts, no network). All stream: the
 * HTML rows wait in a temporary file until the summary is known.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pqtls/groups.h"
#include "pqtls/html.h"
#include "pqtls/json.h"
#include "pqtls/names.h"
#include "pqtls/scan.h"

/* Group name, or "0x1234" for a code point pqtls does not know. */
static const char *group_str(uint16_t g, char *buf, size_t cap)
{
    const char *n = pqt_group_name(g);
    if (g == 0) {
        return NULL;
    }
    if (n != NULL) {
        return n;
    }
    snprintf(buf, cap, "0x%04x", g);
    return buf;
}

static const char *or_else(const char *a, const char *b)
{
    return a != NULL ? a : b;
}

static const char *hex16(uint16_t v, char *buf, size_t cap)
{
    snprintf(buf, cap, "0x%04x", v);
    return buf;
}

static void flags_joined(unsigned flags, const char *sep, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
        if ((flags >> b) & 1 && used < cap) {
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? sep : "",
                                     pqt_scan_flag_name(b));
        }
    }
}

/* A short summary of one probe for the table, CSV and HTML. */
static void probe_cell(const pqt_scan_result *r, int i, char *buf, size_t cap)
{
    const pqt_probe_result *p = &r->probes[i];
    char tmp[16];
    if (!((r->probes_run >> i) & 1)) {
        snprintf(buf, cap, "-");
        return;
    }
    const char *g = group_str(p->group, tmp, sizeof(tmp));
    switch (p->outcome) {
    case PQT_OUTCOME_SERVER_HELLO:
        if (g == NULL) {
            g = or_else(pqt_tls_version_name(p->version), "?");
        }
        if (p->error != NULL) {
            snprintf(buf, cap, "%s (%s)", g, p->error);
        } else {
            snprintf(buf, cap, "%s", g);
        }
        break;
    case PQT_OUTCOME_HRR:
        /* Once the second ClientHello's exchange is verified, the group
         * was negotiated (after a retry); otherwise only asked for. */
        if (p->verified) {
            snprintf(buf, cap, "%s (HRR)", g ? g : "?");
        } else if (p->error != NULL) {
            snprintf(buf, cap, "HRR %s (%s)", g ? g : "?", p->error);
        } else {
            snprintf(buf, cap, "HRR %s", g ? g : "?");
        }
        break;
    case PQT_OUTCOME_ALERT: {
        const char *a = pqt_tls_alert_name(p->alert);
        if (a != NULL) {
            snprintf(buf, cap, "alert %s", a);
        } else {
            snprintf(buf, cap, "alert %d", p->alert);
        }
        break;
    }
    case PQT_OUTCOME_MALFORMED:
        snprintf(buf, cap, "malformed (%s)", p->error ? p->error : "?");
        break;
    case PQT_OUTCOME_STARTTLS_FAILED: {
        /* "starttls not_offered", "starttls service_refused" */
        const char *e = p->error ? p->error : "?";
        snprintf(buf, cap, "starttls %s", strncmp(e, "starttls_", 9) == 0 ? e + 9 : e);
        break;
    }
    default:
        snprintf(buf, cap, "%s", pqt_probe_outcome_name(p->outcome));
        break;
    }
}

/* The target's protocol: its scheme, "tls" without one. */
static const char *proto_name(const pqt_scan_target *t)
{
    const pqt_scan_proto_info *pi = pqt_scan_proto_get(t->proto);
    return pi != NULL ? pi->scheme : "tls";
}

static void cert_cell(const pqt_scan_result *r, char *buf, size_t cap)
{
    const pqt_scan_cert *c = &r->cert;
    if (!c->seen) {
        snprintf(buf, cap, "-");
    } else if (c->key_curve[0]) {
        snprintf(buf, cap, "%s %s / %s", c->key_alg, c->key_curve, c->sig_alg);
    } else {
        snprintf(buf, cap, "%s-%d / %s", c->key_alg, c->key_bits, c->sig_alg);
    }
}

int pqt_scan_write_jsonl(FILE *f, const pqt_scan_result *r)
{
    pqt_json j;
    char tmp[16];
    pqt_json_init(&j, f);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "schema", PQT_SCAN_SCHEMA);
    pqt_json_kv_string(&j, "target", r->name);
    pqt_json_key(&j, "index");
    pqt_json_uint(&j, r->target.index);
    pqt_json_kv_string(&j, "protocol", proto_name(&r->target));
    pqt_json_kv_string(&j, "starttls", pqt_starttls_name(r->target.starttls));
    pqt_json_kv_string(&j, "host", r->target.host);
    pqt_json_kv_int(&j, "port", r->target.port);
    pqt_json_kv_string(&j, "address", r->address[0] ? r->address : NULL);
    pqt_json_kv_string(&j, "sni", r->target.sni[0] ? r->target.sni : NULL);
    if (r->target.line > 0) {
        pqt_json_kv_int(&j, "line", r->target.line);
    }
    pqt_json_kv_string(&j, "stage", pqt_scan_stage_name(r->stage));
    pqt_json_key(&j, "flags");
    pqt_json_array_begin(&j);
    for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
        if ((r->flags >> b) & 1) {
            pqt_json_string(&j, pqt_scan_flag_name(b));
        }
    }
    pqt_json_array_end(&j);
    pqt_json_kv_string(&j, "error", r->error[0] ? r->error : NULL);
    pqt_json_kv_string(&j, "detail", r->detail[0] ? r->detail : NULL);
    pqt_json_kv_string(&j, "next_step", pqt_scan_next_step(r, NULL));
    pqt_json_kv_int(&j, "ms", r->ms);
    pqt_json_key(&j, "certificate");
    if (r->cert.seen) {
        pqt_json_object_begin(&j);
        pqt_json_kv_string(&j, "key", r->cert.key_alg);
        pqt_json_kv_int(&j, "key_bits", r->cert.key_bits);
        pqt_json_kv_string(&j, "curve", r->cert.key_curve[0] ? r->cert.key_curve : NULL);
        pqt_json_kv_string(&j, "signature", r->cert.sig_alg);
        pqt_json_kv_string(&j, "verify_scheme",
                           r->cert.verify_scheme
                               ? or_else(pqt_tls_sigscheme_name(r->cert.verify_scheme),
                                         hex16(r->cert.verify_scheme, tmp, sizeof(tmp)))
                               : NULL);
        pqt_json_object_end(&j);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_key(&j, "probes");
    pqt_json_array_begin(&j);
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        if (!((r->probes_run >> i) & 1)) {
            continue;
        }
        const pqt_probe_result *p = &r->probes[i];
        pqt_json_object_begin(&j);
        pqt_json_kv_string(&j, "name", pqt_probe_name(i));
        pqt_json_kv_string(&j, "outcome", pqt_probe_outcome_name(p->outcome));
        pqt_json_kv_string(&j, "group", group_str(p->group, tmp, sizeof(tmp)));
        pqt_json_kv_string(&j, "version", pqt_tls_version_name(p->version));
        pqt_json_kv_string(
            &j, "cipher",
            p->cipher ? or_else(pqt_tls_suite_name(p->cipher), hex16(p->cipher, tmp, sizeof(tmp)))
                      : NULL);
        pqt_json_key(&j, "alert");
        if (p->alert >= 0) {
            pqt_json_object_begin(&j);
            pqt_json_kv_int(&j, "code", p->alert);
            pqt_json_kv_string(&j, "name", pqt_tls_alert_name(p->alert));
            pqt_json_object_end(&j);
        } else {
            pqt_json_null(&j);
        }
        pqt_json_kv_bool(&j, "verified", p->verified);
        pqt_json_kv_string(&j, "error", p->error);
        pqt_json_kv_string(&j, "detail", p->detail[0] ? p->detail : NULL);
        pqt_json_key(&j, "bytes_sent");
        pqt_json_uint(&j, p->bytes_sent);
        pqt_json_key(&j, "bytes_received");
        pqt_json_uint(&j, p->bytes_received);
        pqt_json_kv_int(&j, "ms", p->ms);
        pqt_json_kv_int(&j, "attempts", p->attempts);
        pqt_json_kv_bool(&j, "retried", p->retried);
        pqt_json_object_end(&j);
    }
    pqt_json_array_end(&j);
    pqt_json_object_end(&j);
    return pqt_json_end_line(&j);
}

/* ---- the streaming writer -------------------------------------------------- */

struct pqt_scan_writer {
    FILE *f;
    FILE *rows;          /* HTML rows until close */
    pqt_scan_cbom *cbom; /* PQT_SCAN_FMT_CBOM: the whole document is written at close */
    pqt_scan_format fmt;
    unsigned long count;
    unsigned long stages[PQT_STAGE_REQUIRED + 1];
    unsigned long flags[PQT_FLAG_COUNT];
    int err;
    char *section; /* HTML: pqt_scan_writer_set_html_section, or NULL */
};

static void csv_field(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n") != NULL) {
        fputc('"', f);
        for (const char *p = s; *p; p++) {
            if (*p == '"') {
                fputc('"', f);
            }
            fputc(*p, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

#define TW_TARGET 38
#define TW_STAGE 10
#define TW_PROBE 21
#define TW_FLAGS 24

/* Fixed-width cell: longer text ends in "~" so columns stay aligned. */
static void table_cell(FILE *f, const char *s, int width)
{
    int n = (int)strlen(s);
    if (n > width) {
        fprintf(f, "%.*s~ ", width - 1, s);
    } else {
        fprintf(f, "%-*s ", width, s);
    }
}

int pqt_scan_writer_open(pqt_scan_writer **out, FILE *f, pqt_scan_format fmt)
{
    pqt_scan_writer *w = calloc(1, sizeof(*w));
    *out = NULL;
    if (w == NULL) {
        return PQT_ERR_NOMEM;
    }
    w->f = f;
    w->fmt = fmt;
    if (fmt == PQT_SCAN_FMT_HTML) {
        w->rows = tmpfile();
        if (w->rows == NULL) {
            free(w);
            return PQT_ERR_IO;
        }
    } else if (fmt == PQT_SCAN_FMT_CBOM) {
        int err = pqt_scan_cbom_open(&w->cbom, f, 0);
        if (err != 0) {
            free(w);
            return err;
        }
    } else if (fmt == PQT_SCAN_FMT_TABLE) {
        table_cell(f, "TARGET", TW_TARGET);
        table_cell(f, "STAGE", TW_STAGE);
        table_cell(f, "BROWSER-LIKE", TW_PROBE);
        table_cell(f, "HRR-PREFERENCE", TW_PROBE);
        table_cell(f, "CLASSICAL-ONLY", TW_PROBE);
        table_cell(f, "FLAGS", TW_FLAGS);
        fputs("CERTIFICATE\n", f);
    } else if (fmt == PQT_SCAN_FMT_CSV) {
        fputs("schema,target,address,sni,stage,flags,error,cert_key,cert_signature", f);
        for (int i = 0; i < PQT_PROBE_COUNT; i++) {
            fprintf(f, ",%s", pqt_probe_name(i));
        }
        fputs(",index,protocol,starttls,detail,next_step\r\n", f);
    }
    *out = w;
    return 0;
}

static void html_row(FILE *f, const pqt_scan_result *r)
{
    char flags[128], cell[160];
    flags_joined(r->flags, " ", flags, sizeof(flags));
    fputs("<tr class=\"target\" data-stage=\"", f);
    fputs(pqt_scan_stage_name(r->stage), f);
    fputs("\"><td class=\"name\">", f);
    pqt_html_escape(f, r->name);
    const pqt_scan_proto_info *pi = pqt_scan_proto_get(r->target.proto);
    fprintf(f, "</td><td class=\"protocol\" data-protocol=\"%s\">", proto_name(&r->target));
    pqt_html_escape(f, pi != NULL ? pi->display : "TLS");
    if (r->target.proto == PQT_SCAN_PROTO_POSTGRES && r->target.starttls == PQT_STARTTLS_NONE) {
        fputs(" direct", f);
    }
    fputs("</td><td class=\"address\">", f);
    pqt_html_escape(f, r->address[0] ? r->address : "-");
    fprintf(f,
            "</td><td class=\"stage\"><span class=\"badge %s\">%s</span></td><td class=\"flags\">",
            pqt_scan_stage_name(r->stage), pqt_scan_stage_name(r->stage));
    for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
        if ((r->flags >> b) & 1) {
            fprintf(f, "<span class=\"flag\">%s</span> ", pqt_scan_flag_name(b));
        }
    }
    fputs("</td>", f);
    static const int shown[] = {PQT_PROBE_BROWSER,        PQT_PROBE_X25519MLKEM768,
                                PQT_PROBE_HRR_PREFERENCE, PQT_PROBE_CLASSICAL,
                                PQT_PROBE_LEGACY_KYBER,   PQT_PROBE_SPLIT_KEY_SHARE};
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        probe_cell(r, shown[i], cell, sizeof(cell));
        fprintf(f, "<td class=\"probe\" data-probe=\"%s\">", pqt_probe_name(shown[i]));
        pqt_html_escape(f, cell);
        fputs("</td>", f);
    }
    cert_cell(r, cell, sizeof(cell));
    fputs("<td class=\"cert\">", f);
    pqt_html_escape(f, cell);
    const char *label = NULL;
    const char *step = pqt_scan_next_step(r, &label);
    fputs("</td><td class=\"next\"><b>", f);
    pqt_html_escape(f, label);
    fputs("</b> &rarr; ", f);
    pqt_html_escape(f, step);
    fputs("</td><td class=\"detail\">", f);
    pqt_html_escape(f, r->detail);
    fputs("</td><td class=\"error\">", f);
    pqt_html_escape(f, r->error);
    fputs("</td></tr>\n", f);
}

int pqt_scan_writer_add(pqt_scan_writer *w, const pqt_scan_result *r)
{
    char cell[160], flags[128];
    FILE *f = w->f;
    w->count++;
    if (r->stage >= 0 && r->stage <= PQT_STAGE_REQUIRED) {
        w->stages[r->stage]++;
    }
    for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
        w->flags[b] += (r->flags >> b) & 1;
    }
    switch (w->fmt) {
    case PQT_SCAN_FMT_JSONL:
        if (pqt_scan_write_jsonl(f, r) != 0) {
            w->err = 1;
        }
        break;
    case PQT_SCAN_FMT_TABLE:
        table_cell(f, r->name, TW_TARGET);
        table_cell(f, pqt_scan_stage_name(r->stage), TW_STAGE);
        if (r->error[0]) {
            fprintf(f, "%s\n", r->error);
            break;
        }
        probe_cell(r, PQT_PROBE_BROWSER, cell, sizeof(cell));
        table_cell(f, cell, TW_PROBE);
        probe_cell(r, PQT_PROBE_HRR_PREFERENCE, cell, sizeof(cell));
        table_cell(f, cell, TW_PROBE);
        probe_cell(r, PQT_PROBE_CLASSICAL, cell, sizeof(cell));
        table_cell(f, cell, TW_PROBE);
        flags_joined(r->flags, ",", flags, sizeof(flags));
        table_cell(f, flags[0] ? flags : "-", TW_FLAGS);
        cert_cell(r, cell, sizeof(cell));
        fprintf(f, "%s\n", cell);
        if (r->detail[0]) {
            fprintf(f, "  %s\n", r->detail);
        }
        break;
    case PQT_SCAN_FMT_CSV:
        csv_field(f, PQT_SCAN_SCHEMA, 0);
        csv_field(f, r->name, 0);
        csv_field(f, r->address, 0);
        csv_field(f, r->target.sni, 0);
        csv_field(f, pqt_scan_stage_name(r->stage), 0);
        flags_joined(r->flags, ";", flags, sizeof(flags));
        csv_field(f, flags, 0);
        csv_field(f, r->error, 0);
        csv_field(f, r->cert.seen ? r->cert.key_alg : "", 0);
        csv_field(f, r->cert.seen ? r->cert.sig_alg : "", 0);
        for (int i = 0; i < PQT_PROBE_COUNT; i++) {
            probe_cell(r, i, cell, sizeof(cell));
            csv_field(f, cell, 0);
        }
        snprintf(cell, sizeof(cell), "%llu", (unsigned long long)r->target.index);
        csv_field(f, cell, 0);
        csv_field(f, proto_name(&r->target), 0);
        csv_field(f, or_else(pqt_starttls_name(r->target.starttls), ""), 0);
        csv_field(f, r->detail, 0);
        csv_field(f, pqt_scan_next_step(r, NULL), 1);
        break;
    case PQT_SCAN_FMT_HTML:
        html_row(w->rows, r);
        break;
    case PQT_SCAN_FMT_CBOM:
        if (pqt_scan_cbom_add(w->cbom, r) != 0) {
            w->err = 1;
        }
        break;
    }
    if (ferror(f) || (w->rows != NULL && ferror(w->rows))) {
        w->err = 1;
    }
    return w->err ? PQT_ERR_IO : 0;
}

static const char *const stage_colors[] = {"#b0b7c3", "#5b9bd5", "#2e8b57", "#6a3d9a"};

static void html_write(pqt_scan_writer *w)
{
    FILE *f = w->f;
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>pqtls scan report</title>\n<style>\n"
          "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\n"
          "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
          "padding:3px 6px;text-align:left}th{background:#f0f0f0}\n"
          ".badge{padding:1px 6px;border-radius:8px;color:#fff}\n"
          ".none{background:#8a94a6}.supported{background:#5b9bd5}.preferred{background:#2e8b57}"
          ".required{background:#6a3d9a}\n"
          ".flag{background:#fde2e1;color:#a40000;padding:0 4px;border-radius:4px}\n"
          "#summary td.count{text-align:right}\n</style></head><body>\n",
          f);
    fprintf(f,
            "<h1>Post-quantum TLS readiness</h1>\n<p>pqtls scan, schema %s, %s, "
            "<span id=\"total\">%lu</span> targets.</p>\n",
            PQT_SCAN_SCHEMA, when, w->count);
    fputs(
        "<h2>Summary</h2>\n<table id=\"summary\"><tr><th>stage / flag</th><th>targets</th></tr>\n",
        f);
    for (int s = 0; s <= PQT_STAGE_REQUIRED; s++) {
        fprintf(f,
                "<tr class=\"stage-count\" data-stage=\"%s\"><td>%s</td><td "
                "class=\"count\">%lu</td></tr>\n",
                pqt_scan_stage_name(s), pqt_scan_stage_name(s), w->stages[s]);
    }
    for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
        fprintf(f,
                "<tr class=\"flag-count\" data-flag=\"%s\"><td>flag %s</td><td "
                "class=\"count\">%lu</td></tr>\n",
                pqt_scan_flag_name(b), pqt_scan_flag_name(b), w->flags[b]);
    }
    fputs("</table>\n<h2>Stages</h2>\n", f);
    /* Horizontal bar chart, inline SVG. */
    unsigned long max = 1;
    for (int s = 0; s <= PQT_STAGE_REQUIRED; s++) {
        max = w->stages[s] > max ? w->stages[s] : max;
    }
    fputs("<svg id=\"stage-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" "
          "height=\"150\" role=\"img\" aria-label=\"targets per stage\">\n",
          f);
    for (int s = 0; s <= PQT_STAGE_REQUIRED; s++) {
        unsigned width = (unsigned)(400.0 * (double)w->stages[s] / (double)max);
        int y = 10 + 34 * s;
        fprintf(f, "<text x=\"0\" y=\"%d\" font-size=\"13\">%s</text>", y + 17,
                pqt_scan_stage_name(s));
        fprintf(f,
                "<rect class=\"bar\" data-stage=\"%s\" data-count=\"%lu\" x=\"90\" y=\"%d\" "
                "width=\"%u\" height=\"24\" fill=\"%s\"/>",
                pqt_scan_stage_name(s), w->stages[s], y, width, stage_colors[s]);
        fprintf(f, "<text x=\"%u\" y=\"%d\" font-size=\"13\">%lu</text>\n", 96 + width, y + 17,
                w->stages[s]);
    }
    fputs("</svg>\n", f);
    if (w->section != NULL) {
        fputs(w->section, f);
    }
    fputs("<h2>Targets</h2>\n<p>In input order.</p>\n<table id=\"targets\"><tr>"
          "<th>target</th><th>protocol</th><th>address</th>"
          "<th>stage</th><th>flags</th><th>browser-like</th><th>X25519MLKEM768</th>"
          "<th>HRR preference</th><th>classical only</th><th>legacy Kyber</th>"
          "<th>split ClientHello</th><th>certificate</th><th>next step</th><th>detail</th>"
          "<th>error</th></tr>\n",
          f);
    rewind(w->rows);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), w->rows)) > 0) {
        fwrite(buf, 1, n, f);
    }
    fputs("</table>\n<p>Stages: <b>none</b> no standardized PQ group; <b>supported</b> a hybrid "
          "or ML-KEM group completes when offered; <b>preferred</b> the server asks for it by "
          "HelloRetryRequest rather than take X25519; <b>required</b> classical-only clients are "
          "refused. Flags <b>plaintext-service</b>: a plaintext banner answered the ClientHello "
          "(scan "
          "the service with its protocol); <b>no-starttls</b>: the service does not offer or "
          "refuses STARTTLS, cleartext only. See docs/scan.md.</p>\n</body></html>\n",
          f);
}

int pqt_scan_writer_close(pqt_scan_writer *w)
{
    int ret = 0;
    if (w == NULL) {
        return 0;
    }
    FILE *f = w->f;
    if (w->fmt == PQT_SCAN_FMT_HTML) {
        html_write(w);
    } else if (w->fmt == PQT_SCAN_FMT_CBOM && pqt_scan_cbom_close(w->cbom) != 0) {
        ret = PQT_ERR_IO;
    } else if (w->fmt == PQT_SCAN_FMT_TABLE) {
        fprintf(f, "\n%lu targets: none %lu, supported %lu, preferred %lu, required %lu", w->count,
                w->stages[0], w->stages[1], w->stages[2], w->stages[3]);
        for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
            if (w->flags[b]) {
                fprintf(f, "; %s %lu", pqt_scan_flag_name(b), w->flags[b]);
            }
        }
        fputc('\n', f);
    }
    if (w->err || ferror(f) || fflush(f) != 0) {
        ret = PQT_ERR_IO;
    }
    if (w->rows != NULL) {
        fclose(w->rows);
    }
    free(w->section);
    free(w);
    return ret;
}

void pqt_scan_writer_set_started(pqt_scan_writer *w, int64_t started)
{
    if (w != NULL && w->cbom != NULL) {
        pqt_scan_cbom_set_started(w->cbom, started);
    }
}

int pqt_scan_writer_set_html_section(pqt_scan_writer *w, const char *html)
{
    char *copy = strdup(html);
    if (copy == NULL) {
        return PQT_ERR_NOMEM;
    }
    free(w->section);
    w->section = copy;
    return 0;
}
