#define _POSIX_C_SOURCE 200809L
/*
 * The self-contained HTML page of pqtls advise: inline CSS and SVG, no
 * script, no external resource. Every text that comes from the traffic
 * (SNI, family names from --families, addresses) goes through
 * pqt_html_escape; numbers carry data-* attributes so that a browser test
 * can read them back from the rendered DOM and compare them with the JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "adv_internal.h"
#include "pqtls/html.h"

#define HTML_SERVICES 200

static const char *const which_class[3] = {"hybrid", "hrr", "refused"};

/* The SNI as a C string: NUL bytes (which the page cannot carry) as '?'. */
static void sni_cstr(const adv_service *s, char out[256])
{
    size_t n = s->has_sni ? s->sni_len : 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = s->sni[i] == 0 ? '?' : (char)s->sni[i];
    }
    out[n] = 0;
}

static void service_name(FILE *f, const adv_service *s)
{
    char addr[64], sni[256];
    adv_server_text(s, addr);
    sni_cstr(s, sni);
    int v6 = s->ip_version == 6;
    fputs(v6 ? "[" : "", f);
    pqt_html_escape(f, addr);
    fputs(v6 ? "]" : "", f);
    if (s->ip_version != 0) {
        fprintf(f, ":%u%s", (unsigned)s->port, s->transport == PQT_OBS_QUIC ? "/quic" : "");
    }
    if (sni[0]) {
        fputc(' ', f);
        pqt_html_escape(f, sni);
    }
}

/* data-server, data-port, data-sni of a service's section. */
static void service_attrs(FILE *f, const adv_service *s)
{
    char addr[64], sni[256];
    adv_server_text(s, addr);
    sni_cstr(s, sni);
    fputs(" data-server=\"", f);
    pqt_html_escape(f, addr);
    fprintf(f, "\" data-port=\"%u\" data-transport=\"%s\"", (unsigned)s->port,
            pqt_obs_transport_name((pqt_obs_transport)s->transport));
    if (s->has_sni) {
        fputs(" data-sni=\"", f);
        pqt_html_escape(f, sni);
        fputc('"', f);
    }
}

static void families_cell(FILE *f, const pqt_adv *a, const adv_service *s, int stage, int which)
{
    const adv_family_count *fc[ADV_SERVICE_FAMILIES];
    size_t n = adv_families_by(a, s, stage, which, fc);
    fprintf(f, "<td class=\"%s-families\">", which_class[which]);
    if (n == 0) {
        fputs("-", f);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t v = adv_stage_value(&fc[i]->st[stage], which);
        fprintf(f, "%s<span class=\"family\" data-family=\"", i ? ", " : "");
        pqt_html_escape(f, a->family[fc[i]->id]);
        fprintf(f, "\" data-count=\"%llu\">", (unsigned long long)v);
        pqt_html_escape(f, a->family[fc[i]->id]);
        fprintf(f, " %.1f%%</span>", adv_pct(v, s->replayed));
    }
    fputs("</td>", f);
}

/* One bar per stage: hybrid, classical and refused stacked to 100% of
 * the replayed handshakes, with a thin HRR bar beneath. */
static void chart(FILE *f, const adv_service *s)
{
    const double width = 420.0;
    fprintf(f,
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" "
            "height=\"%d\" role=\"img\" aria-label=\"handshakes per stage: hybrid, classical, "
            "refused, HelloRetryRequest\">\n",
            3 * 40 + 30);
    for (int st = 0; st < PQT_ADV_N_STAGES; st++) {
        const adv_stage_count *c = &s->st[st];
        const char *name = pqt_adv_stage_name((pqt_adv_stage)st);
        uint64_t parts[3] = {c->hybrid, s->replayed - c->hybrid - c->refused, c->refused};
        static const char *const cls[3] = {"hybrid", "classical", "refused"};
        int y = 8 + 40 * st;
        double x = 90;
        fprintf(f, "<text x=\"0\" y=\"%d\" font-size=\"13\">%s</text>", y + 16, name);
        for (int k = 0; k < 3; k++) {
            double w = s->replayed ? width * (double)parts[k] / (double)s->replayed : 0;
            fprintf(f,
                    "<rect class=\"bar %s\" data-stage=\"%s\" data-count=\"%llu\" x=\"%.1f\" "
                    "y=\"%d\" width=\"%.1f\" height=\"22\"><title>%s %s: %llu</title></rect>",
                    cls[k], name, (unsigned long long)parts[k], x, y, w, name, cls[k],
                    (unsigned long long)parts[k]);
            x += w;
        }
        double hw = s->replayed ? width * (double)c->hrr / (double)s->replayed : 0;
        fprintf(f,
                "<rect class=\"bar hrr\" data-stage=\"%s\" data-count=\"%llu\" x=\"90\" y=\"%d\" "
                "width=\"%.1f\" height=\"6\"><title>%s HRR: %llu</title></rect>",
                name, (unsigned long long)c->hrr, y + 24, hw, name, (unsigned long long)c->hrr);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\">%.1f%% hybrid</text>\n", 520, y + 16,
                adv_pct(c->hybrid, s->replayed));
    }
    fprintf(f,
            "<g font-size=\"12\"><rect class=\"hybrid\" x=\"90\" y=\"%d\" width=\"12\" "
            "height=\"12\"/><text x=\"106\" y=\"%d\">hybrid</text>"
            "<rect class=\"classical\" x=\"170\" y=\"%d\" width=\"12\" height=\"12\"/>"
            "<text x=\"186\" y=\"%d\">classical</text>"
            "<rect class=\"refused\" x=\"260\" y=\"%d\" width=\"12\" height=\"12\"/>"
            "<text x=\"276\" y=\"%d\">refused</text>"
            "<rect class=\"hrr\" x=\"340\" y=\"%d\" width=\"12\" height=\"6\"/>"
            "<text x=\"356\" y=\"%d\">HelloRetryRequest</text></g>\n</svg>\n",
            3 * 40 + 10, 3 * 40 + 21, 3 * 40 + 10, 3 * 40 + 21, 3 * 40 + 10, 3 * 40 + 21,
            3 * 40 + 13, 3 * 40 + 21);
}

static void service_section(FILE *f, const pqt_adv *a, const adv_service *s, size_t idx)
{
    char buf[512];
    adv_verdict v;
    adv_verdict_of(a, s, &v);
    fprintf(f, "<section class=\"service\" id=\"service-%zu\"", idx);
    service_attrs(f, s);
    fprintf(f,
            " data-handshakes=\"%llu\" data-replayed=\"%llu\" data-tls12-only=\"%llu\" "
            "data-large=\"%llu\" data-failed-large=\"%llu\">\n<h2>",
            (unsigned long long)s->handshakes, (unsigned long long)s->replayed,
            (unsigned long long)s->tls12, (unsigned long long)s->large,
            (unsigned long long)s->failed_large);
    service_name(f, s);
    fprintf(f,
            "</h2>\n<p class=\"summary\">%llu handshakes, %llu replayed (%llu TLS 1.2 only); "
            "observed %llu hybrid, %llu HelloRetryRequests (%llu for a hybrid group); "
            "application protocols:",
            (unsigned long long)s->handshakes, (unsigned long long)s->replayed,
            (unsigned long long)s->tls12, (unsigned long long)s->observed_hybrid,
            (unsigned long long)s->observed_hrr, (unsigned long long)s->observed_hrr_hybrid);
    for (int p = 0; p < PQT_OBS_N_APPS; p++) {
        if (s->apps & (1u << p)) {
            fprintf(f, " %s", pqt_obs_app_protocol_name((pqt_obs_app_protocol)p));
        }
    }
    fprintf(f, "</p>\n<p class=\"verdict %s\" data-ready=\"%d\" data-next-stage=\"%s\">",
            v.ready ? "ready" : "not-ready", v.ready, pqt_adv_stage_name((pqt_adv_stage)v.next));
    pqt_html_escape(f, v.text);
    fputs("</p>\n", f);
    chart(f, s);
    fputs("<table class=\"whatif\"><tr><th>stage</th><th>server groups</th><th>hybrid</th>"
          "<th>HelloRetryRequest</th><th>refused</th><th>refused families</th>"
          "<th>HRR families</th></tr>\n",
          f);
    for (int st = 0; st < PQT_ADV_N_STAGES; st++) {
        const char *name = pqt_adv_stage_name((pqt_adv_stage)st);
        fprintf(f, "<tr data-stage=\"%s\"><td>%s</td><td class=\"groups\">", name, name);
        pqt_adv_stage_groups(&a->cfg.server, (pqt_adv_stage)st, buf, sizeof(buf));
        pqt_html_escape(f, buf);
        fputs("</td>", f);
        for (int w = 0; w < 3; w++) {
            uint64_t x = adv_stage_value(&s->st[st], w);
            fprintf(f, "<td class=\"%s count\" data-count=\"%llu\">%llu (%.1f%%)</td>",
                    which_class[w], (unsigned long long)x, (unsigned long long)x,
                    adv_pct(x, s->replayed));
        }
        families_cell(f, a, s, st, 2);
        families_cell(f, a, s, st, 1);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    if (s->n_path > 0) {
        fputs("<table class=\"paths\"><tr><th>client network</th><th>handshakes</th>"
              "<th>ClientHellos over one segment</th><th>no answer after a large one</th>"
              "<th>no answer after a small one</th></tr>\n",
              f);
        for (size_t i = 0; i < s->n_path; i++) {
            const adv_path_count *p = &s->path[i];
            char pt[80];
            adv_path_text(p, pt);
            fputs("<tr class=\"path\" data-prefix=\"", f);
            pqt_html_escape(f, pt);
            fprintf(f, "\"%s><td>", p->failed_large ? " data-signature=\"1\"" : "");
            pqt_html_escape(f, pt);
            fprintf(f,
                    "</td><td class=\"count\">%llu</td><td class=\"count\">%llu</td>"
                    "<td class=\"count\">%llu</td><td class=\"count\">%llu</td></tr>\n",
                    (unsigned long long)p->handshakes, (unsigned long long)p->large,
                    (unsigned long long)p->failed_large, (unsigned long long)p->failed_small);
        }
        fputs("</table>\n", f);
    }
    fputs("</section>\n", f);
}

int pqt_adv_write_html(const pqt_adv *a, FILE *f)
{
    size_t n;
    uint64_t hs = 0, rp = 0;
    char buf[512];
    adv_service **v = adv_sorted_services(a, &n);
    if (v == NULL) {
        return PQT_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        hs += v[i]->handshakes;
        rp += v[i]->replayed;
    }
    fputs(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>pqtls advise: what-if per service</title>\n<style>\n"
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:70em}\n"
        "table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid "
        "#ccc;padding:3px "
        "6px;text-align:left}th{background:#f0f0f0}td.count{text-align:right;white-space:nowrap}\n"
        "section.service{border-top:2px solid #ddd;margin-top:1.5em}\n"
        ".verdict{font-weight:600;padding:4px 8px;border-radius:4px}\n"
        ".verdict.ready{background:#e3f4e8;color:#1d6b38}"
        ".verdict.not-ready{background:#fde2e1;color:#a40000}\n"
        "svg .hybrid{fill:#2e8b57}svg .classical{fill:#b8bfcc}svg .refused{fill:#c0392b}"
        "svg .hrr{fill:#e69500}\n"
        "</style></head><body>\n<h1>What-if per service</h1>\n",
        f);
    fprintf(f,
            "<p id=\"meta\" data-model=\"%s\" data-services=\"%zu\" data-handshakes=\"%llu\" "
            "data-replayed=\"%llu\">pqtls advise, schema %s: the ClientHellos of the capture "
            "replayed against a <b>%s</b> server. %zu services, %llu handshakes, %llu "
            "replayed.</p>\n<table id=\"stages\"><tr><th>stage</th><th>the server's groups"
            "</th></tr>\n",
            pqt_adv_model_name(a->cfg.server.model), n, (unsigned long long)hs,
            (unsigned long long)rp, PQT_ADV_SCHEMA, pqt_adv_model_name(a->cfg.server.model), n,
            (unsigned long long)hs, (unsigned long long)rp);
    for (int st = 0; st < PQT_ADV_N_STAGES; st++) {
        pqt_adv_stage_groups(&a->cfg.server, (pqt_adv_stage)st, buf, sizeof(buf));
        fprintf(f, "<tr><td>%s</td><td>", pqt_adv_stage_name((pqt_adv_stage)st));
        pqt_html_escape(f, buf);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n<p><b>supported</b>: the server takes a hybrid share the client sent. "
          "<b>preferred</b>: it also asks for the hybrid group with a HelloRetryRequest when "
          "the client lists it without a share. <b>required</b>: clients without a hybrid "
          "group are refused. Percentages are of the replayed handshakes (docs/advise.md)."
          "</p>\n<h2>Services</h2>\n<table id=\"services\"><tr><th>service</th>"
          "<th>handshakes</th><th>verdict</th></tr>\n",
          f);
    for (size_t i = 0; i < n && i < HTML_SERVICES; i++) {
        adv_verdict vd;
        adv_verdict_of(a, v[i], &vd);
        fprintf(f, "<tr><td><a href=\"#service-%zu\">", i);
        service_name(f, v[i]);
        fprintf(f, "</a></td><td class=\"count\">%llu</td><td>%s for %s</td></tr>\n",
                (unsigned long long)v[i]->handshakes, vd.ready ? "ready" : "not ready",
                pqt_adv_stage_name((pqt_adv_stage)vd.next));
    }
    fputs("</table>\n", f);
    if (n > HTML_SERVICES) {
        fprintf(f,
                "<p id=\"more\">The %d busiest services are shown; %zu more are in the JSON "
                "Lines output.</p>\n",
                HTML_SERVICES, n - HTML_SERVICES);
    }
    for (size_t i = 0; i < n && i < HTML_SERVICES; i++) {
        service_section(f, a, v[i], i);
    }
    fputs("</body></html>\n", f);
    free(v);
    return ferror(f) ? PQT_ERR_IO : 0;
}
