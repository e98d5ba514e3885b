#define _POSIX_C_SOURCE 200809L
/*
 * Aggregates over handshake records for the summary table and the
 * Prometheus exposition. Every map has a fixed capacity; keys beyond it
 * are folded into "(other)" so memory and label cardinality stay bounded
 * whatever the traffic looks like.
 */
#include <stdlib.h>
#include <string.h>

#include "obs_output.h"
#include "pqtls/common.h"
#include "pqtls/groups.h"
#include "siphash.h"

#define MAP_CAP 4096 /* slots; at most MAP_CAP / 2 keys */
#define MAX_FAMILY_LABELS 50
#define MAX_SERVICE_LABELS 100
#define MAX_PATH_LABELS 1000 /* the most --metrics-paths may ask for */
#define TOP_N 20

typedef struct {
    char *key;
    uint64_t total, pq, failed;
    unsigned apps;    /* services: the application protocols seen, 1 << app */
    uint8_t labelled; /* families, services: has label values of its own */
} agg_entry;

typedef struct {
    agg_entry *slot;
    size_t used;
} agg_map;

struct pqt_obs_agg {
    pqt_obs_output_opts opts;
    uint64_t total, pq;
    agg_map by_family, by_library, by_server, by_app, failures, groups, prom, hrr, services,
        by_transport, prom_transport, by_path, paths;
    size_t family_labels, service_labels, path_labels;
    int err;
    uint8_t hash_key[16]; /* slot_of's SipHash key, random per aggregate */
};

/*
 * Where a key's probe starts: SipHash-1-3 (siphash.h) under the aggregate's
 * random per-run key, as the flow table does. Keys come from traffic (SNI,
 * addresses); with the unkeyed FNV-1a this replaces, crafted names could
 * all start at one slot and make every lookup walk one long cluster. What
 * is printed never depends on the slots: sorted() orders by count, then by
 * key.
 */
static size_t slot_of(const pqt_obs_agg *a, const char *key)
{
    return (size_t)obs_siphash13(a->hash_key, (const uint8_t *)key, strlen(key)) & (MAP_CAP - 1);
}

static agg_entry *map_get(pqt_obs_agg *a, agg_map *m, const char *key)
{
    if (m->slot == NULL) {
        m->slot = calloc(MAP_CAP, sizeof(*m->slot));
        if (m->slot == NULL) {
            a->err = PQT_ERR_NOMEM;
            return NULL;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        size_t i = slot_of(a, key);
        while (m->slot[i].key != NULL) {
            if (strcmp(m->slot[i].key, key) == 0) {
                return &m->slot[i];
            }
            i = (i + 1) & (MAP_CAP - 1);
        }
        if (m->used < MAP_CAP / 2 || strcmp(key, "(other)") == 0) {
            m->slot[i].key = strdup(key);
            if (m->slot[i].key == NULL) {
                a->err = PQT_ERR_NOMEM;
                return NULL;
            }
            m->used++;
            return &m->slot[i];
        }
        key = "(other)"; /* full: fold */
    }
    return NULL;
}

static void map_free(agg_map *m)
{
    if (m->slot != NULL) {
        for (size_t i = 0; i < MAP_CAP; i++) {
            free(m->slot[i].key);
        }
        free(m->slot);
    }
}

int pqt_obs_agg_new(const pqt_obs_output_opts *opts, pqt_obs_agg **out)
{
    if (out == NULL) {
        return PQT_ERR_ARG;
    }
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        return PQT_ERR_NOMEM;
    }
    if (opts != NULL) {
        (*out)->opts = *opts;
    }
    if (pqt_random_bytes((*out)->hash_key, sizeof((*out)->hash_key)) != 0) {
        free(*out);
        *out = NULL;
        return PQT_ERR_RANDOM;
    }
    return 0;
}

void pqt_obs_agg_free(pqt_obs_agg *a)
{
    if (a == NULL) {
        return;
    }
    map_free(&a->by_family);
    map_free(&a->by_library);
    map_free(&a->by_transport);
    map_free(&a->prom_transport);
    map_free(&a->by_server);
    map_free(&a->by_app);
    map_free(&a->services);
    map_free(&a->failures);
    map_free(&a->groups);
    map_free(&a->prom);
    map_free(&a->hrr);
    map_free(&a->by_path);
    map_free(&a->paths);
    pqt_wipe(a->hash_key, sizeof(a->hash_key));
    free(a);
}

static void count(agg_entry *e, int pq, int failed)
{
    if (e != NULL) {
        e->total++;
        e->pq += (unsigned)pq;
        e->failed += (unsigned)failed;
    }
}

/* Group label: the table's name, "other" for code points it lacks. */
static void group_label(const pqt_obs_handshake *hs, char out[32])
{
    if (hs->group_source == PQT_OBS_GROUP_NONE) {
        snprintf(out, 32, "none");
    } else if (pqt_group_name(hs->group) != NULL) {
        snprintf(out, 32, "%s", pqt_group_name(hs->group));
    } else {
        snprintf(out, 32, "other");
    }
}

/*
 * offered_pq label: the first group of the ClientHello's supported_groups,
 * in the client's order, that the group table marks post-quantum (hybrid,
 * ML-KEM or a Kyber draft); "none" when it lists none, "unknown" without a
 * ClientHello that parsed. Bounded by the table. It is what tells a failure
 * before any ServerHello (group "none") of a client that asked for a hybrid
 * from one of a client that did not.
 */
static const char *offered_pq_label(const pqt_obs_handshake *hs)
{
    if (!hs->has_ch) {
        return "unknown";
    }
    for (size_t i = 0; i < hs->ch.n_groups; i++) {
        uint16_t code = pqt_u16_at(hs->ch.groups, i);
        if (pqt_group_is_pq(code) && pqt_group_name(code) != NULL) {
            return pqt_group_name(code);
        }
    }
    return "none";
}

/* The SNI as plain text for the table and labels: at most 255 bytes,
 * control and non-ASCII bytes as '?'; "" without one. */
static void sni_text(const obs_view *v, char out[256])
{
    size_t n = v->sni != NULL ? (v->sni_len > 255 ? 255 : v->sni_len) : 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = v->sni[i];
        out[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    out[n] = 0;
}

/* A service: "192.0.2.7:443 www.example" ("[2001:db8::1]:25" without SNI). */
static void service_key(const obs_view *v, const pqt_obs_handshake *hs, const char *sni,
                        char out[512])
{
    int v6 = hs->ip_version == 6;
    snprintf(out, 512, "%s%s%s:%u%s%s", v6 ? "[" : "", v->server, v6 ? "]" : "",
             (unsigned)hs->server_port, sni[0] ? " " : "", sni);
}

/* A label set of its own for the first `max` keys seen, "other" after:
 * decided once per key, when it is first counted. */
static int labelled(agg_entry *e, size_t *used, size_t max)
{
    if (e == NULL) {
        return 0;
    }
    if (e->total == 1) {
        e->labelled = *used < max && strcmp(e->key, "(other)") != 0;
        *used += e->labelled;
    }
    return e->labelled;
}

void pqt_obs_agg_add(pqt_obs_agg *a, const pqt_obs_handshake *hs)
{
    obs_view v;
    char key[512], g[32], sni[256];
    if (a == NULL || hs == NULL || pqt_obs_view_init(&v, hs, &a->opts) != 0) {
        if (a != NULL) {
            a->err = PQT_ERR_INTERNAL;
        }
        return;
    }
    int pq = hs->group_source != PQT_OBS_GROUP_NONE && pqt_group_is_pq(hs->group);
    int failed = hs->outcome != PQT_OBS_COMPLETED;
    a->total++;
    a->pq += (unsigned)pq;
    const char *fam = hs->client_family ? hs->client_family : "unknown";
    count(map_get(a, &a->by_family, fam), pq, failed);
    const char *lib = pqt_obs_library_name(hs->client_library);
    count(map_get(a, &a->by_library, lib), pq, failed);
    /* Per service (server address, port and SNI), not per host: HTTPS on
     * 443 and SMTP on 25 of one host are two rows. */
    sni_text(&v, sni);
    service_key(&v, hs, sni, key);
    agg_entry *se = map_get(a, &a->by_server, key);
    count(se, pq, failed);
    if (se != NULL) {
        se->apps |= 1u << (unsigned)hs->app_protocol;
    }
    const char *app = pqt_obs_app_protocol_name(hs->app_protocol);
    count(map_get(a, &a->by_app, app), pq, failed);
    count(map_get(a, &a->by_transport, pqt_obs_transport_name(hs->transport)), pq, failed);
    group_label(hs, g);
    if (hs->group_source != PQT_OBS_GROUP_NONE && pqt_group_name(hs->group) == NULL) {
        snprintf(g, sizeof(g), "0x%04x", hs->group);
    }
    count(map_get(a, &a->groups, g), pq, failed);
    if (failed) {
        char vlan[16] = "-";
        if (hs->n_vlan > 0) {
            snprintf(vlan, sizeof(vlan), "%u", hs->vlan[0]);
        }
        int hops = pqt_obs_hops(hs->server_ttl);
        snprintf(key, sizeof(key), "%s\t%s\t%s\t%s\t%d", pqt_obs_outcome_name(hs->outcome), vlan,
                 v.client_prefix, v.server_prefix, hops);
        count(map_get(a, &a->failures, key), pq, failed);
    }
    /* Prometheus: bounded families (the first MAX_FAMILY_LABELS seen; a
     * later one is "other" on every handshake, not only on its first). */
    if (!labelled(map_get(a, &a->by_family, fam), &a->family_labels, MAX_FAMILY_LABELS)) {
        fam = "other";
    }
    group_label(hs, g);
    /* the library is bounded by its table (ten values) */
    const char *outcome = pqt_obs_outcome_name(hs->outcome), *offered = offered_pq_label(hs);
    snprintf(key, sizeof(key), "%s\t%s\t%s\t%s\t%s", g, fam, lib, outcome, offered);
    count(map_get(a, &a->prom, key), pq, failed);
    snprintf(key, sizeof(key), "%s\t%s\t%s", pqt_obs_transport_name(hs->transport), g, outcome);
    count(map_get(a, &a->prom_transport, key), pq, failed);
    /* Per service, bounded: the first MAX_SERVICE_LABELS services seen have
     * their server, port and SNI as labels, later ones are "other"; the
     * application protocol and the group are bounded by their tables. */
    if (labelled(se, &a->service_labels, MAX_SERVICE_LABELS)) {
        snprintf(key, sizeof(key), "%s\t%u\t%s\t%s\t%s\t%s", v.server, (unsigned)hs->server_port,
                 sni, app, g, outcome);
    } else {
        snprintf(key, sizeof(key), "other\t\t\t%s\t%s\t%s", app, g, outcome);
    }
    count(map_get(a, &a->services, key), pq, failed);
    /* Per network path, only when asked for (--metrics-paths N): the
     * client prefix (pseudonymised with the addresses) of the first N
     * prefixes seen, "other" after, by offered_pq and outcome. */
    if (a->opts.metrics_paths > 0) {
        size_t max =
            a->opts.metrics_paths < MAX_PATH_LABELS ? a->opts.metrics_paths : MAX_PATH_LABELS;
        agg_entry *pe = map_get(a, &a->by_path, v.client_prefix);
        count(pe, pq, failed);
        snprintf(key, sizeof(key), "%s\t%s\t%s",
                 labelled(pe, &a->path_labels, max) ? v.client_prefix : "other", offered, outcome);
        count(map_get(a, &a->paths, key), pq, failed);
    }
    if (hs->hrr) {
        pqt_obs_handshake tmp = *hs;
        tmp.group = hs->hrr_group;
        tmp.group_source = hs->hrr_group ? PQT_OBS_GROUP_KEY_SHARE : PQT_OBS_GROUP_NONE;
        group_label(&tmp, g);
        count(map_get(a, &a->hrr, g), pq, failed);
    }
}

static int cmp_total(const void *x, const void *y)
{
    const agg_entry *a = *(const agg_entry *const *)x, *b = *(const agg_entry *const *)y;
    if (a->total != b->total) {
        return a->total < b->total ? 1 : -1;
    }
    return strcmp(a->key, b->key);
}

/* Entries sorted by count, descending; caller frees. */
static const agg_entry **sorted(const agg_map *m, size_t *n)
{
    *n = 0;
    const agg_entry **v = malloc((m->used + 1) * sizeof(*v));
    if (v == NULL || m->slot == NULL) {
        return v;
    }
    for (size_t i = 0; i < MAP_CAP; i++) {
        if (m->slot[i].key != NULL) {
            v[(*n)++] = &m->slot[i];
        }
    }
    qsort(v, *n, sizeof(*v), cmp_total);
    return v;
}

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static int share_section(FILE *f, const char *title, const char *col, const agg_map *m, size_t top)
{
    size_t n;
    const agg_entry **v = sorted(m, &n);
    if (v == NULL) {
        return PQT_ERR_NOMEM;
    }
    fprintf(f, "\n%s\n  %-40s %10s %10s %7s %10s\n", title, col, "handshakes", "hybrid", "share",
            "failed");
    for (size_t i = 0; i < n && i < top; i++) {
        fprintf(f, "  %-40.40s %10llu %10llu %6.1f%% %10llu\n", v[i]->key,
                (unsigned long long)v[i]->total, (unsigned long long)v[i]->pq,
                pct(v[i]->pq, v[i]->total), (unsigned long long)v[i]->failed);
    }
    if (n > top) {
        fprintf(f, "  (%zu more not shown)\n", n - top);
    }
    free(v);
    return 0;
}

/* The services: "server:port SNI" and the application protocols seen on it. */
static int service_section(FILE *f, const agg_map *m, size_t top)
{
    size_t n;
    const agg_entry **v = sorted(m, &n);
    if (v == NULL) {
        return PQT_ERR_NOMEM;
    }
    fprintf(f, "\nHybrid share by service: server address, port and SNI (top %zu)\n", top);
    fprintf(f, "  %-50s %-9s %10s %10s %7s %10s\n", "service (server:port SNI)", "protocol",
            "handshakes", "hybrid", "share", "failed");
    for (size_t i = 0; i < n && i < top; i++) {
        char apps[128] = "";
        size_t len = 0;
        for (int k = 1; k <= PQT_OBS_N_APPS; k++) {
            int p = k % PQT_OBS_N_APPS; /* unknown last */
            if (v[i]->apps & (1u << p)) {
                len += (size_t)snprintf(apps + len, sizeof(apps) - len, "%s%s", len ? "+" : "",
                                        pqt_obs_app_protocol_name((pqt_obs_app_protocol)p));
            }
        }
        fprintf(f, "  %-50.50s %-9s %10llu %10llu %6.1f%% %10llu\n", v[i]->key,
                apps[0] ? apps : "-", (unsigned long long)v[i]->total, (unsigned long long)v[i]->pq,
                pct(v[i]->pq, v[i]->total), (unsigned long long)v[i]->failed);
    }
    if (n > top) {
        fprintf(f, "  (%zu more not shown)\n", n - top);
    }
    free(v);
    return 0;
}

int pqt_obs_agg_write_table(const pqt_obs_agg *a, const pqt_obs_stats *st, FILE *f)
{
    size_t n;
    int ret;
    if (a == NULL || st == NULL || f == NULL) {
        return PQT_ERR_ARG;
    }
    fprintf(f, "TLS handshakes: %llu, on a post-quantum group: %llu (%.1f%%)\n",
            (unsigned long long)a->total, (unsigned long long)a->pq, pct(a->pq, a->total));
    if ((ret = share_section(f, "Hybrid share by client family", "client family", &a->by_family,
                             TOP_N)) != 0 ||
        (ret = share_section(f, "Hybrid share by client library", "client library", &a->by_library,
                             TOP_N)) != 0 ||
        (ret = service_section(f, &a->by_server, TOP_N)) != 0 ||
        (ret = share_section(f, "Hybrid share by application protocol", "application protocol",
                             &a->by_app, TOP_N)) != 0 ||
        (ret = share_section(f,
                             "Hybrid share by transport (tcp: TLS over TCP, quic: QUIC "
                             "Initial packets)",
                             "transport", &a->by_transport, TOP_N)) != 0 ||
        (ret = share_section(f, "Negotiated groups", "group", &a->groups, TOP_N)) != 0) {
        return ret;
    }
    const agg_entry **v = sorted(&a->failures, &n);
    if (v == NULL) {
        return PQT_ERR_NOMEM;
    }
    fprintf(f, "\nFailures by outcome and network path (top 20)\n  %-26s %5s %-20s %-20s %4s %8s\n",
            "outcome", "vlan", "client prefix", "server prefix", "hops", "count");
    for (size_t i = 0; i < n && i < TOP_N; i++) {
        char buf[512], *parts[5] = {0};
        snprintf(buf, sizeof(buf), "%s", v[i]->key);
        char *p = buf;
        for (int k = 0; k < 5; k++) {
            parts[k] = p;
            p = p != NULL ? strchr(p, '\t') : NULL;
            if (p != NULL) {
                *p++ = 0;
            }
        }
        fprintf(f, "  %-26s %5s %-20s %-20s %4s %8llu\n", parts[0], parts[1] ? parts[1] : "",
                parts[2] ? parts[2] : "", parts[3] ? parts[3] : "",
                parts[4] && strcmp(parts[4], "-1") != 0 ? parts[4] : "?",
                (unsigned long long)v[i]->total);
    }
    if (n == 0) {
        fprintf(f, "  (none)\n");
    }
    free(v);
    fprintf(
        f,
        "\nObserver counters\n"
        "  packets %llu, bytes %llu, not TCP %llu, undecodable %llu, IP fragments %llu\n"
        "  flows %llu (peak %zu), evicted %llu (%llu at the memory limit), idle-expired %llu, "
        "not TLS %llu\n"
        "  segments: retransmitted %llu, out of order %llu, overlapping %llu, out of window %llu\n"
        "  reassembly gaps %llu, buffer-budget give-ups %llu (peak %zu bytes)\n"
        "  hellos too big %llu, TLS desynchronised %llu, ServerHello without ClientHello %llu, "
        "snaplen-cut %llu\n"
        "  memory %zu bytes (peak %zu) of the %zu-byte limit\n"
        "  QUIC: datagrams %llu, Initial packets decrypted %llu, not decrypted %llu\n",
        (unsigned long long)st->packets, (unsigned long long)st->bytes,
        (unsigned long long)st->not_tcp, (unsigned long long)st->decode_errors,
        (unsigned long long)st->ip_fragments, (unsigned long long)st->flows, st->flows_peak,
        (unsigned long long)st->flows_evicted, (unsigned long long)st->flows_evicted_memory,
        (unsigned long long)st->flows_expired, (unsigned long long)st->flows_not_tls,
        (unsigned long long)st->segments_retransmitted,
        (unsigned long long)st->segments_out_of_order, (unsigned long long)st->segments_overlap,
        (unsigned long long)st->segments_out_of_window, (unsigned long long)st->reassembly_gaps,
        (unsigned long long)st->reassembly_budget_giveups, st->buffered_peak,
        (unsigned long long)st->hellos_too_big, (unsigned long long)st->tls_desync,
        (unsigned long long)st->server_only, (unsigned long long)st->snaplen_cut, st->memory_bytes,
        st->memory_peak, st->memory_limit, (unsigned long long)st->quic_datagrams,
        (unsigned long long)st->quic_initials, (unsigned long long)st->quic_undecryptable);
    return a->err;
}

/* Label values come from fixed tables or the family table; escape anyway
 * (text format 0.0.4: backslash, quote, newline). */
static void label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            fputc('\\', f);
            fputc(*s, f);
        } else if (*s == '\n') {
            fputs("\\n", f);
        } else {
            fputc(*s, f);
        }
    }
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
            (unsigned long long)v);
}

/* One counter family from a map whose keys are tab-separated label
 * values, in the order of names. */
static int labelled_counters(FILE *f, const agg_map *m, const char *name, const char *help,
                             const char *const *names, int nnames)
{
    size_t n;
    const agg_entry **v = sorted(m, &n);
    if (v == NULL) {
        return PQT_ERR_NOMEM;
    }
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n; i++) {
        char buf[512], *part = buf;
        snprintf(buf, sizeof(buf), "%s", v[i]->key);
        fprintf(f, "%s{", name);
        for (int k = 0; k < nnames; k++) {
            char *tab = part != NULL ? strchr(part, '\t') : NULL;
            if (tab != NULL) {
                *tab = 0;
            }
            fprintf(f, "%s%s=\"", k ? "," : "", names[k]);
            label(f, part != NULL ? part : "");
            fputc('"', f);
            part = tab != NULL ? tab + 1 : NULL;
        }
        fprintf(f, "} %llu\n", (unsigned long long)v[i]->total);
    }
    free(v);
    return 0;
}

int pqt_obs_agg_write_prom(const pqt_obs_agg *a, const pqt_obs_stats *st, FILE *f)
{
    static const char *const hs_names[] = {"group", "client_family", "client_library", "outcome",
                                           "offered_pq"};
    static const char *const hrr_names[] = {"group"};
    static const char *const transport_names[] = {"transport", "group", "outcome"};
    static const char *const svc_names[] = {"server",       "port",  "sni",
                                            "app_protocol", "group", "outcome"};
    static const char *const path_names[] = {"client_prefix", "offered_pq", "outcome"};
    int ret;
    if (a == NULL || st == NULL || f == NULL) {
        return PQT_ERR_ARG;
    }
    if ((ret = labelled_counters(
             f, &a->prom, "pqtls_observe_handshakes_total",
             "TLS handshakes seen, by negotiated group (\"none\" before a ServerHello), client "
             "family, client library, outcome and the first post-quantum group the client "
             "offered (offered_pq, \"none\" if it offered none).",
             hs_names, 5)) != 0 ||
        (ret = labelled_counters(f, &a->prom_transport, "pqtls_observe_transport_handshakes_total",
                                 "TLS handshakes seen, by transport (tcp: TLS over TCP, quic: "
                                 "QUIC Initial packets), negotiated group and outcome.",
                                 transport_names, 3)) != 0 ||
        (ret = labelled_counters(f, &a->hrr, "pqtls_observe_hello_retry_requests_total",
                                 "HelloRetryRequests, by the group asked for.", hrr_names, 1)) !=
            0 ||
        (ret = labelled_counters(
             f, &a->services, "pqtls_observe_service_handshakes_total",
             "TLS handshakes seen, by service (server address, port and SNI; the first 100 "
             "services seen, later ones as server \"other\"), application protocol, negotiated "
             "group and outcome.",
             svc_names, 6)) != 0) {
        return ret;
    }
    if (a->opts.metrics_paths > 0 &&
        (ret = labelled_counters(
             f, &a->paths, "pqtls_observe_path_handshakes_total",
             "TLS handshakes seen, by client network path (the client address prefix; the first "
             "--metrics-paths prefixes seen, later ones as \"other\"), offered_pq and outcome.",
             path_names, 3)) != 0) {
        return ret;
    }
    counter(f, "pqtls_observe_packets_total", "Frames read.", st->packets);
    counter(f, "pqtls_observe_bytes_total", "Bytes on the wire of the frames read.", st->bytes);
    counter(f, "pqtls_observe_flows_total", "TCP and QUIC flows tracked.", st->flows);
    counter(f, "pqtls_observe_quic_datagrams_total",
            "UDP datagrams read as QUIC (a v1 or v2 long header, or a QUIC flow's).",
            st->quic_datagrams);
    counter(f, "pqtls_observe_quic_initials_total", "QUIC Initial packets decrypted.",
            st->quic_initials);
    counter(f, "pqtls_observe_quic_undecryptable_total",
            "QUIC Initial packets of a flow that did not decrypt.", st->quic_undecryptable);
    counter(f, "pqtls_observe_flows_evicted_total",
            "Flows pushed out by the flow-table or the memory limit.", st->flows_evicted);
    counter(f, "pqtls_observe_flows_evicted_memory_total",
            "Flows pushed out to stay under the memory limit (also in flows_evicted_total).",
            st->flows_evicted_memory);
    counter(f, "pqtls_observe_flows_expired_total", "Flows closed after the idle timeout.",
            st->flows_expired);
    counter(f, "pqtls_observe_flows_not_tls_total", "Flows whose client stream did not start TLS.",
            st->flows_not_tls);
    counter(f, "pqtls_observe_reassembly_gaps_total", "Holes in reassembled streams.",
            st->reassembly_gaps);
    counter(f, "pqtls_observe_reassembly_giveups_total",
            "Holes given up and messages not buffered because the buffer budget was exhausted.",
            st->reassembly_budget_giveups);
    counter(f, "pqtls_observe_segments_retransmitted_total", "Retransmitted TCP segments.",
            st->segments_retransmitted);
    counter(f, "pqtls_observe_decode_errors_total", "Frames with damaged headers.",
            st->decode_errors);
    counter(f, "pqtls_observe_hellos_too_big_total", "Hellos above the size limit.",
            st->hellos_too_big);
    fprintf(f,
            "# HELP pqtls_observe_flows_active Flows in the table.\n# TYPE "
            "pqtls_observe_flows_active gauge\npqtls_observe_flows_active %zu\n",
            st->flows_active);
    fprintf(f,
            "# HELP pqtls_observe_memory_bytes Memory the observer keeps, as its limit counts "
            "it.\n# TYPE pqtls_observe_memory_bytes gauge\npqtls_observe_memory_bytes %zu\n",
            st->memory_bytes);
    fprintf(f,
            "# HELP pqtls_observe_memory_peak_bytes The most memory_bytes has been.\n# TYPE "
            "pqtls_observe_memory_peak_bytes gauge\npqtls_observe_memory_peak_bytes %zu\n",
            st->memory_peak);
    fprintf(f,
            "# HELP pqtls_observe_memory_limit_bytes The memory limit (--max-memory).\n# TYPE "
            "pqtls_observe_memory_limit_bytes gauge\npqtls_observe_memory_limit_bytes %zu\n",
            st->memory_limit);
    return ferror(f) ? PQT_ERR_IO : a->err;
}
