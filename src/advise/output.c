#define _POSIX_C_SOURCE 200809L
/*
 * What advise writes: the verdict per service, JSON Lines (schema
 * PQT_ADV_SCHEMA, docs/advise.md) and the text table. The HTML page is in
 * html.c.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "adv_internal.h"
#include "pqtls/groups.h"
#include "pqtls/json.h"

double adv_pct(uint64_t part, uint64_t whole)
{
    return whole == 0 ? 0.0 : 100.0 * (double)part / (double)whole;
}

uint64_t adv_stage_value(const adv_stage_count *c, int which)
{
    return which == 0 ? c->hybrid : which == 1 ? c->hrr : c->refused;
}

void adv_server_text(const adv_service *s, char out[64])
{
    if (s->ip_version == 0) {
        snprintf(out, 64, "(other)");
        return;
    }
    pqt_obs_format_addr(s->ip_version, s->server, out, 64);
}

void adv_path_text(const adv_path_count *p, char out[80])
{
    char addr[64];
    if (p->ip_version == 0) {
        snprintf(out, 80, "(other)");
        return;
    }
    pqt_obs_format_addr(p->ip_version, p->prefix, addr, sizeof(addr));
    snprintf(out, 80, "%s/%u", addr, (unsigned)p->plen);
}

static uint64_t fam_value(const adv_family_count *f, int stage, int which)
{
    return which == 3 ? f->total : adv_stage_value(&f->st[stage], which);
}

size_t adv_families_by(const pqt_adv *a, const adv_service *s, int stage, int which,
                       const adv_family_count *out[ADV_SERVICE_FAMILIES])
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_fam && n < ADV_SERVICE_FAMILIES; i++) {
        const adv_family_count *f = &s->fam[i];
        uint64_t v = fam_value(f, stage, which);
        if (v == 0) {
            continue;
        }
        /* insertion: most first, then by name */
        size_t j = n++;
        while (j > 0) {
            const adv_family_count *g = out[j - 1];
            uint64_t w = fam_value(g, stage, which);
            if (w > v || (w == v && strcmp(a->family[g->id], a->family[f->id]) <= 0)) {
                break;
            }
            out[j] = g;
            j--;
        }
        out[j] = f;
    }
    return n;
}

static int key_cmp(const adv_service *x, const adv_service *y)
{
    if (x->ip_version != y->ip_version) {
        return x->ip_version == 0 ? 1 : y->ip_version == 0 ? -1 : x->ip_version - y->ip_version;
    }
    int c = memcmp(x->server, y->server, 16);
    if (c != 0) {
        return c;
    }
    if (x->port != y->port) {
        return x->port < y->port ? -1 : 1;
    }
    if (x->transport != y->transport) {
        return x->transport - y->transport;
    }
    if (x->has_sni != y->has_sni) {
        return x->has_sni - y->has_sni;
    }
    size_t n = x->sni_len < y->sni_len ? x->sni_len : y->sni_len;
    c = memcmp(x->sni, y->sni, n);
    return c != 0 ? c : (int)x->sni_len - (int)y->sni_len;
}

static int by_handshakes(const void *pa, const void *pb)
{
    const adv_service *x = *(const adv_service *const *)pa, *y = *(const adv_service *const *)pb;
    if (x->handshakes != y->handshakes) {
        return x->handshakes > y->handshakes ? -1 : 1;
    }
    return key_cmp(x, y);
}

adv_service **adv_sorted_services(const pqt_adv *a, size_t *n)
{
    adv_service **v = malloc((a->used + 2) * sizeof(*v));
    *n = 0;
    if (v == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < a->cap; i++) {
        if (a->slot[i] != NULL) {
            v[(*n)++] = a->slot[i];
        }
    }
    qsort(v, *n, sizeof(*v), by_handshakes);
    if (a->other != NULL) {
        v[(*n)++] = a->other;
    }
    return v;
}

/* "OpenSSL 3.0-3.4 9.1%, Java 17 3.2%" for the families in a stage column. */
static void families_text(const pqt_adv *a, const adv_service *s, int stage, int which, char *out,
                          size_t cap)
{
    const adv_family_count *f[ADV_SERVICE_FAMILIES];
    size_t n = adv_families_by(a, s, stage, which, f), len = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && i < 5; i++) {
        int w = snprintf(out + len, cap - len, "%s%s %.1f%%", i ? ", " : "", a->family[f[i]->id],
                         adv_pct(fam_value(f[i], stage, which), s->replayed));
        if (w < 0 || (size_t)w >= cap - len) {
            return;
        }
        len += (size_t)w;
    }
    if (n > 5) {
        snprintf(out + len, cap - len, " and %zu more", n - 5);
    }
}

static void add_reason(adv_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_reason(adv_verdict *v, const char *fmt, ...)
{
    if (v->n_reasons == ADV_MAX_REASONS) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason[v->n_reasons++], sizeof(v->reason[0]), fmt, ap);
    va_end(ap);
}

void adv_verdict_of(const pqt_adv *a, const adv_service *s, adv_verdict *v)
{
    char fams[400];
    memset(v, 0, sizeof(*v));
    /* The stage the service is at, as far as the wire shows it: an HRR
     * asking for a hybrid group means preferred, a hybrid handshake at
     * least supported (a refusal at required looks like any alert). */
    v->current = s->observed_hrr_hybrid > 0 ? PQT_ADV_PREFERRED
                 : s->observed_hybrid > 0   ? PQT_ADV_SUPPORTED
                                            : -1;
    v->next = v->current < PQT_ADV_REQUIRED ? v->current + 1 : PQT_ADV_REQUIRED;
    const char *next = pqt_adv_stage_name((pqt_adv_stage)v->next);
    const adv_stage_count *c = &s->st[v->next];
    v->ready = 1;
    if (s->replayed == 0) {
        v->ready = 0;
        add_reason(v, "no complete ClientHello to replay among %llu handshakes",
                   (unsigned long long)s->handshakes);
    } else {
        double refused = adv_pct(c->refused, s->replayed);
        double hrr = adv_pct(c->hrr, s->replayed);
        if (c->refused > 0 && refused > a->cfg.max_refused_pct) {
            v->ready = 0;
            families_text(a, s, v->next, 2, fams, sizeof(fams));
            add_reason(v, "%s would refuse %.1f%% of handshakes: %s", next, refused, fams);
        }
        if (v->next != PQT_ADV_SUPPORTED && hrr > a->cfg.max_hrr_pct) {
            v->ready = 0;
            families_text(a, s, v->next, 1, fams, sizeof(fams));
            add_reason(v,
                       "%s would make %.1f%% of handshakes pay a HelloRetryRequest round trip "
                       "(above %.1f%%): %s",
                       next, hrr, a->cfg.max_hrr_pct, fams);
        }
    }
    if (s->failed_large > 0) {
        /* A second ClientHello after an HRR carries the hybrid share: a
         * path that drops hellos over one segment would break there. */
        char paths[300] = "";
        size_t len = 0, np = 0;
        for (size_t i = 0; i < s->n_path; i++) {
            const adv_path_count *p = &s->path[i];
            char pt[80];
            if (p->failed_large == 0) {
                continue;
            }
            np++;
            adv_path_text(p, pt);
            int w = snprintf(paths + len, sizeof(paths) - len, "%s%s %llu of %llu", len ? ", " : "",
                             pt, (unsigned long long)p->failed_large, (unsigned long long)p->large);
            if (w > 0 && (size_t)w < sizeof(paths) - len) {
                len += (size_t)w;
            }
        }
        if (v->next != PQT_ADV_SUPPORTED) {
            v->ready = 0;
        }
        add_reason(v,
                   "%llu of %llu ClientHellos over one %s got no answer (%s), on %zu network "
                   "path%s: %s",
                   (unsigned long long)s->failed_large, (unsigned long long)s->large,
                   s->transport == PQT_OBS_QUIC ? "UDP datagram" : "TCP segment",
                   s->transport == PQT_OBS_QUIC ? "no packet" : "reset or closed", np,
                   np == 1 ? "" : "s", paths);
    }
    if (v->ready) {
        add_reason(v,
                   "%s would make %.1f%% of %llu handshake%s hybrid, %.1f%% pay a "
                   "HelloRetryRequest, %.1f%% refused",
                   next, adv_pct(c->hybrid, s->replayed), (unsigned long long)s->replayed,
                   s->replayed == 1 ? "" : "s", adv_pct(c->hrr, s->replayed),
                   adv_pct(c->refused, s->replayed));
    }
    if (s->replayed > 0 && s->st[PQT_ADV_REQUIRED].hybrid == 0) {
        /* Even required would negotiate no hybrid group: the clients are
         * what holds the service back, not the server. */
        add_reason(v,
                   "no handshake of the %llu lists a hybrid group the server has: no stage "
                   "makes any hybrid until the clients offer one",
                   (unsigned long long)s->replayed);
    }
    size_t len = (size_t)snprintf(v->text, sizeof(v->text), "%s for %s",
                                  v->ready ? "ready" : "not ready", next);
    for (size_t i = 0; i < v->n_reasons && len < sizeof(v->text); i++) {
        int w =
            snprintf(v->text + len, sizeof(v->text) - len, "%s%s", i ? "; " : ": ", v->reason[i]);
        if (w < 0) {
            break;
        }
        len += (size_t)w;
    }
}

static void json_families(pqt_json *j, const pqt_adv *a, const adv_service *s, int stage, int which)
{
    const adv_family_count *f[ADV_SERVICE_FAMILIES];
    size_t n = adv_families_by(a, s, stage, which, f);
    pqt_json_array_begin(j);
    for (size_t i = 0; i < n; i++) {
        uint64_t v = fam_value(f[i], stage, which);
        pqt_json_object_begin(j);
        pqt_json_kv_string(j, "family", a->family[f[i]->id]);
        pqt_json_key(j, "handshakes");
        pqt_json_uint(j, v);
        pqt_json_key(j, "pct");
        pqt_json_double(j, adv_pct(v, s->replayed), 1);
        pqt_json_object_end(j);
    }
    pqt_json_array_end(j);
}

static void json_uint(pqt_json *j, const char *key, uint64_t v)
{
    pqt_json_key(j, key);
    pqt_json_uint(j, v);
}

static int write_service_json(const pqt_adv *a, const adv_service *s, FILE *f)
{
    pqt_json j;
    char buf[512];
    adv_verdict v;
    pqt_json_init(&j, f);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "schema", PQT_ADV_SCHEMA);
    adv_server_text(s, buf);
    pqt_json_kv_string(&j, "server", buf);
    pqt_json_key(&j, "server_port");
    if (s->ip_version == 0) {
        pqt_json_null(&j);
    } else {
        pqt_json_uint(&j, s->port);
    }
    pqt_json_kv_string(
        &j, "transport",
        s->ip_version == 0 ? NULL : pqt_obs_transport_name((pqt_obs_transport)s->transport));
    pqt_json_key(&j, "sni");
    if (s->has_sni) {
        pqt_json_string_n(&j, s->sni, s->sni_len);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_key(&j, "app_protocols");
    pqt_json_array_begin(&j);
    for (int p = 0; p < PQT_OBS_N_APPS; p++) {
        if (s->apps & (1u << p)) {
            pqt_json_string(&j, pqt_obs_app_protocol_name((pqt_obs_app_protocol)p));
        }
    }
    pqt_json_array_end(&j);
    json_uint(&j, "handshakes", s->handshakes);
    json_uint(&j, "replayed", s->replayed);
    json_uint(&j, "tls12_only", s->tls12);
    pqt_json_kv_string(&j, "server_model", pqt_adv_model_name(a->cfg.server.model));
    pqt_json_key(&j, "observed");
    pqt_json_object_begin(&j);
    json_uint(&j, "hybrid", s->observed_hybrid);
    json_uint(&j, "hrr", s->observed_hrr);
    json_uint(&j, "hrr_hybrid", s->observed_hrr_hybrid);
    json_uint(&j, "completed", s->completed);
    json_uint(&j, "failed_after_client_hello", s->failed_after_ch);
    pqt_json_object_end(&j);
    json_uint(&j, "large_client_hellos", s->large);
    json_uint(&j, "failed_after_large_client_hello", s->failed_large);
    pqt_json_key(&j, "what_if");
    pqt_json_array_begin(&j);
    for (int st = 0; st < PQT_ADV_N_STAGES; st++) {
        const adv_stage_count *c = &s->st[st];
        pqt_json_object_begin(&j);
        pqt_json_kv_string(&j, "stage", pqt_adv_stage_name((pqt_adv_stage)st));
        pqt_adv_stage_groups(&a->cfg.server, (pqt_adv_stage)st, buf, sizeof(buf));
        pqt_json_kv_string(&j, "server_groups", buf);
        json_uint(&j, "hybrid", c->hybrid);
        json_uint(&j, "hrr", c->hrr);
        json_uint(&j, "refused", c->refused);
        json_uint(&j, "classical", s->replayed - c->hybrid - c->refused);
        pqt_json_key(&j, "hybrid_pct");
        pqt_json_double(&j, adv_pct(c->hybrid, s->replayed), 1);
        pqt_json_key(&j, "hrr_pct");
        pqt_json_double(&j, adv_pct(c->hrr, s->replayed), 1);
        pqt_json_key(&j, "refused_pct");
        pqt_json_double(&j, adv_pct(c->refused, s->replayed), 1);
        pqt_json_key(&j, "hybrid_families");
        json_families(&j, a, s, st, 0);
        pqt_json_key(&j, "hrr_families");
        json_families(&j, a, s, st, 1);
        pqt_json_key(&j, "refused_families");
        json_families(&j, a, s, st, 2);
        pqt_json_object_end(&j);
    }
    pqt_json_array_end(&j);
    pqt_json_key(&j, "families");
    json_families(&j, a, s, 0, 3);
    pqt_json_key(&j, "paths");
    pqt_json_array_begin(&j);
    for (size_t i = 0; i < s->n_path; i++) {
        const adv_path_count *p = &s->path[i];
        char pt[80];
        adv_path_text(p, pt);
        pqt_json_object_begin(&j);
        pqt_json_kv_string(&j, "client_prefix", pt);
        json_uint(&j, "handshakes", p->handshakes);
        json_uint(&j, "large_client_hellos", p->large);
        json_uint(&j, "failed_after_large_client_hello", p->failed_large);
        json_uint(&j, "failed_after_small_client_hello", p->failed_small);
        pqt_json_object_end(&j);
    }
    pqt_json_array_end(&j);
    adv_verdict_of(a, s, &v);
    pqt_json_key(&j, "verdict");
    pqt_json_object_begin(&j);
    pqt_json_key(&j, "current_stage");
    if (v.current < 0) {
        pqt_json_null(&j);
    } else {
        pqt_json_string(&j, pqt_adv_stage_name((pqt_adv_stage)v.current));
    }
    pqt_json_kv_string(&j, "next_stage", pqt_adv_stage_name((pqt_adv_stage)v.next));
    pqt_json_kv_bool(&j, "ready", v.ready);
    pqt_json_key(&j, "reasons");
    pqt_json_array_begin(&j);
    for (size_t i = 0; i < v.n_reasons; i++) {
        pqt_json_string(&j, v.reason[i]);
    }
    pqt_json_array_end(&j);
    pqt_json_kv_string(&j, "text", v.text);
    pqt_json_object_end(&j);
    pqt_json_object_end(&j);
    return pqt_json_end_line(&j);
}

int pqt_adv_write_jsonl(const pqt_adv *a, FILE *f)
{
    size_t n;
    adv_service **v = adv_sorted_services(a, &n);
    if (v == NULL) {
        return PQT_ERR_NOMEM;
    }
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        ret = write_service_json(a, v[i], f);
    }
    free(v);
    return ret != 0 ? ret : ferror(f) ? PQT_ERR_IO : 0;
}

/* The SNI as table text: control and non-ASCII bytes as '?'. */
static void sni_text(const adv_service *s, char out[256])
{
    size_t n = s->has_sni ? s->sni_len : 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s->sni[i];
        out[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    out[n] = 0;
}

#define TABLE_SERVICES 50

int pqt_adv_write_table(const pqt_adv *a, FILE *f)
{
    size_t n;
    uint64_t hs = 0, rp = 0;
    char buf[512], sni[256], addr[64];
    adv_service **v = adv_sorted_services(a, &n);
    if (v == NULL) {
        return PQT_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        hs += v[i]->handshakes;
        rp += v[i]->replayed;
    }
    fprintf(f, "pqtls advise: server model %s; %zu service%s, %llu handshakes, %llu replayed\n",
            pqt_adv_model_name(a->cfg.server.model), n, n == 1 ? "" : "s", (unsigned long long)hs,
            (unsigned long long)rp);
    for (int st = 0; st < PQT_ADV_N_STAGES; st++) {
        pqt_adv_stage_groups(&a->cfg.server, (pqt_adv_stage)st, buf, sizeof(buf));
        fprintf(f, "  %-9s server groups %s\n", pqt_adv_stage_name((pqt_adv_stage)st), buf);
    }
    for (size_t i = 0; i < n && i < TABLE_SERVICES; i++) {
        const adv_service *s = v[i];
        adv_verdict vd;
        adv_server_text(s, addr);
        sni_text(s, sni);
        int v6 = s->ip_version == 6;
        fprintf(f, "\n%s%s%s", v6 ? "[" : "", addr, v6 ? "]" : "");
        if (s->ip_version != 0) {
            fprintf(f, ":%u%s", (unsigned)s->port, s->transport == PQT_OBS_QUIC ? "/quic" : "");
        }
        fprintf(f,
                "%s%s: %llu handshakes, %llu replayed (%llu TLS 1.2 only); observed %llu "
                "hybrid, %llu HRR\n",
                sni[0] ? " " : "", sni, (unsigned long long)s->handshakes,
                (unsigned long long)s->replayed, (unsigned long long)s->tls12,
                (unsigned long long)s->observed_hybrid, (unsigned long long)s->observed_hrr);
        fprintf(f, "  %-10s %16s %16s %16s  %s\n", "stage", "hybrid", "HRR", "refused",
                "refused families");
        for (int st = 0; st < PQT_ADV_N_STAGES; st++) {
            const adv_stage_count *c = &s->st[st];
            char col[3][32];
            for (int w = 0; w < 3; w++) {
                uint64_t x = adv_stage_value(c, w);
                snprintf(col[w], sizeof(col[w]), "%llu %5.1f%%", (unsigned long long)x,
                         adv_pct(x, s->replayed));
            }
            families_text(a, s, st, 2, buf, sizeof(buf));
            fprintf(f, "  %-10s %16s %16s %16s  %s\n", pqt_adv_stage_name((pqt_adv_stage)st),
                    col[0], col[1], col[2], buf[0] ? buf : "-");
        }
        fprintf(f, "  ClientHellos over one %s: %llu, then no answer: %llu\n",
                s->transport == PQT_OBS_QUIC ? "datagram" : "TCP segment",
                (unsigned long long)s->large, (unsigned long long)s->failed_large);
        adv_verdict_of(a, s, &vd);
        fprintf(f, "  verdict: %s\n", vd.text);
    }
    if (n > TABLE_SERVICES) {
        fprintf(f, "\n... and %zu more services (--format jsonl lists them all)\n",
                n - TABLE_SERVICES);
    }
    free(v);
    return ferror(f) ? PQT_ERR_IO : 0;
}
