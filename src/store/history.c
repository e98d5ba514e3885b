/*
 * pqtls history: the store read back as a trend. One pass over the
 * results in target order (the index results_by_target), folding each
 * target's rows into per-scan counts, its comparisons between consecutive
 * complete scans, and its time at each stage; what grows with the targets
 * (their records, the regression, new and vanished lists) goes to
 * temporary files and is copied out at the end. docs/store.md.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pqtls/html.h"
#include "pqtls/json.h"
#include "store_internal.h"

#define NSTAGES (PQT_STAGE_REQUIRED + 1)
/* HTML: per-target timelines for at most this many targets that changed. */
#define HTML_TIMELINES_MAX 1000
/* Table: list at most this many regressions, new and vanished targets. */
#define TABLE_LIST_MAX 50

typedef struct {
    char id[128];
    int64_t started, finished; /* finished 0: never */
    unsigned shards, shards_done;
    int complete;
    int prev; /* index of the previous complete scan, -1 */
    unsigned long stages[NSTAGES];
    unsigned long flags[PQT_FLAG_COUNT];
    unsigned long total, regressions, added, vanished;
} hscan;

typedef struct {
    int present;
    int stage;
    unsigned flags;
} obs;

typedef struct {
    const char *id;
    int ord;
} idmap;

typedef struct {
    pqt_store *s;
    const pqt_history_options *o;
    hscan *scans;
    int nscans, ncap;
    idmap *ids;
    int latest, latest_prev; /* latest complete scan and the one before, -1 */
    int64_t until;           /* time at the current stage runs to this */
    obs *cur;                /* per scan, for the target being read */
    int *touched;
    int ntouched;
    char target[2 * PQT_SCAN_HOST_MAX + 16];
    int have_target;
    unsigned long targets, timelines;
    FILE *t_regr, *t_new, *t_gone, *t_targets;
    unsigned long n_regr, n_new, n_gone;
    int err;
} hist;

static int row_scan(void *ctx, int n, const char *const *v)
{
    hist *h = ctx;
    if (n < 5) {
        return -1;
    }
    if (h->nscans == h->ncap) {
        int cap = h->ncap ? 2 * h->ncap : 64;
        hscan *p = realloc(h->scans, (size_t)cap * sizeof(*p));
        if (p == NULL) {
            return -1;
        }
        h->scans = p;
        h->ncap = cap;
    }
    hscan *sc = &h->scans[h->nscans++];
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->id, sizeof(sc->id), "%s", v[0] ? v[0] : "");
    sc->started = v[1] ? strtoll(v[1], NULL, 10) : 0;
    sc->finished = v[2] ? strtoll(v[2], NULL, 10) : 0;
    sc->shards = v[3] ? (unsigned)strtoul(v[3], NULL, 10) : 1;
    sc->shards_done = v[4] ? (unsigned)strtoul(v[4], NULL, 10) : 0;
    sc->complete = sc->shards_done >= sc->shards;
    return 0;
}

static int cmp_idmap(const void *a, const void *b)
{
    return strcmp(((const idmap *)a)->id, ((const idmap *)b)->id);
}

static int find_scan(const hist *h, const char *id)
{
    idmap key = {id, 0};
    const idmap *m = bsearch(&key, h->ids, (size_t)h->nscans, sizeof(*h->ids), cmp_idmap);
    return m != NULL ? m->ord : -1;
}

static void json_flags(pqt_json *j, unsigned flags)
{
    pqt_json_array_begin(j);
    for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
        if (flags & (1u << b)) {
            pqt_json_string(j, pqt_scan_flag_name(b));
        }
    }
    pqt_json_array_end(j);
}

static void flags_text(unsigned flags, char *buf, size_t cap)
{
    buf[0] = 0;
    for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
        if (flags & (1u << b)) {
            size_t n = strlen(buf);
            snprintf(buf + n, cap - n, "%s%s", n ? " " : "", pqt_scan_flag_name(b));
        }
    }
}

static const char *const stage_colors[NSTAGES] = {"#b0b7c3", "#5b9bd5", "#2e8b57", "#6a3d9a"};

/* A list entry (regression, new, vanished) of the latest scan: JSON Lines
 * in the temporary file, whatever the output format. */
static void list_entry(hist *h, FILE *f, const char *type, const obs *from, const obs *to)
{
    pqt_json j;
    pqt_json_init(&j, f);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "type", type);
    pqt_json_kv_string(&j, "scan", h->scans[h->latest].id);
    pqt_json_kv_string(&j, "previous", h->scans[h->latest_prev].id);
    pqt_json_kv_string(&j, "target", h->target);
    if (from != NULL) {
        pqt_json_kv_string(&j, "from", pqt_scan_stage_name(from->stage));
    }
    if (to != NULL) {
        pqt_json_kv_string(&j, "to", pqt_scan_stage_name(to->stage));
    }
    if (from != NULL && to != NULL) {
        pqt_json_key(&j, "flags_gained");
        json_flags(&j, to->flags & ~from->flags);
    }
    pqt_json_object_end(&j);
    if (pqt_json_end_line(&j) != 0) {
        h->err = 1;
    }
}

/* The HTML timeline of one target: a strip of cells, one per scan. */
static void html_timeline(hist *h, int first_obs)
{
    FILE *f = h->t_targets;
    const int cell = 12;
    fputs("<tr class=\"timeline\" data-target=\"", f);
    pqt_html_escape(f, h->target);
    fputs("\"><td>", f);
    pqt_html_escape(f, h->target);
    fprintf(f, "</td><td><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"14\">",
            cell * h->nscans + 2);
    for (int i = first_obs; i < h->nscans; i++) {
        const obs *ob = &h->cur[i];
        if (!ob->present) {
            continue;
        }
        fprintf(f,
                "<rect class=\"obs\" data-scan=\"%s\" data-stage=\"%s\" x=\"%d\" y=\"1\" "
                "width=\"%d\" height=\"12\" fill=\"%s\"%s><title>%s: %s</title></rect>",
                h->scans[i].id, pqt_scan_stage_name(ob->stage), 1 + cell * i, cell - 1,
                stage_colors[ob->stage], ob->flags ? " stroke=\"#a40000\"" : "", h->scans[i].id,
                pqt_scan_stage_name(ob->stage));
    }
    fputs("</svg></td></tr>\n", f);
}

/* The target record of JSON Lines. */
static void json_target(hist *h, int first, int last, const uint64_t secs[NSTAGES])
{
    pqt_json j;
    pqt_json_init(&j, h->t_targets);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "type", "target");
    pqt_json_kv_string(&j, "target", h->target);
    pqt_json_kv_string(&j, "first_scan", h->scans[first].id);
    pqt_json_kv_string(&j, "last_scan", h->scans[last].id);
    pqt_json_kv_string(&j, "stage", pqt_scan_stage_name(h->cur[last].stage));
    pqt_json_key(&j, "flags");
    json_flags(&j, h->cur[last].flags);
    pqt_json_key(&j, "seconds_at");
    pqt_json_object_begin(&j);
    for (int st = 0; st < NSTAGES; st++) {
        pqt_json_kv_int(&j, pqt_scan_stage_name(st), (long long)secs[st]);
    }
    pqt_json_object_end(&j);
    /* The timeline: the scans where stage or flags changed (the first
     * observation included). */
    pqt_json_key(&j, "timeline");
    pqt_json_array_begin(&j);
    const obs *prev = NULL;
    for (int i = first; i <= last; i++) {
        const obs *ob = &h->cur[i];
        if (!ob->present) {
            continue;
        }
        if (prev == NULL || prev->stage != ob->stage || prev->flags != ob->flags) {
            char at[32];
            pqt_store_iso_time(h->scans[i].started, at);
            pqt_json_object_begin(&j);
            pqt_json_kv_string(&j, "scan", h->scans[i].id);
            pqt_json_kv_string(&j, "at", at);
            pqt_json_kv_string(&j, "stage", pqt_scan_stage_name(ob->stage));
            pqt_json_key(&j, "flags");
            json_flags(&j, ob->flags);
            pqt_json_object_end(&j);
        }
        prev = ob;
    }
    pqt_json_array_end(&j);
    pqt_json_object_end(&j);
    if (pqt_json_end_line(&j) != 0) {
        h->err = 1;
    }
}

/* Fold the rows of the target just read. */
static void finish_target(hist *h)
{
    int first = -1, last = -1, changed = 0, seen_complete = -1;
    uint64_t secs[NSTAGES] = {0};
    if (!h->have_target) {
        return;
    }
    h->targets++;
    for (int i = 0; i < h->nscans; i++) {
        hscan *sc = &h->scans[i];
        const obs *ob = &h->cur[i];
        if (ob->present) {
            sc->total++;
            sc->stages[ob->stage]++;
            for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
                if (ob->flags & (1u << b)) {
                    sc->flags[b]++;
                }
            }
            if (first < 0) {
                first = i;
            }
            if (last >= 0 && (h->cur[last].stage != ob->stage || h->cur[last].flags != ob->flags)) {
                changed = 1;
            }
            last = i;
        }
        if (!sc->complete) {
            continue;
        }
        /* Time at a stage: from a complete scan that saw the target to the
         * next complete scan that did (or to h->until). */
        if (ob->present) {
            if (seen_complete >= 0) {
                int64_t d = sc->started - h->scans[seen_complete].started;
                secs[h->cur[seen_complete].stage] += d > 0 ? (uint64_t)d : 0;
            }
            seen_complete = i;
        }
        if (sc->prev < 0) {
            continue;
        }
        const obs *pv = &h->cur[sc->prev];
        int regr = 0, added = 0, gone = 0;
        if (ob->present && pv->present) {
            regr = ob->stage < pv->stage || (ob->flags & ~pv->flags) != 0;
        } else if (ob->present) {
            added = 1;
        } else if (pv->present) {
            gone = 1;
        }
        sc->regressions += (unsigned long)regr;
        sc->added += (unsigned long)added;
        sc->vanished += (unsigned long)gone;
        if (i == h->latest) {
            if (regr) {
                list_entry(h, h->t_regr, "regression", pv, ob);
                h->n_regr++;
            } else if (added) {
                list_entry(h, h->t_new, "new", NULL, ob);
                h->n_new++;
            } else if (gone) {
                list_entry(h, h->t_gone, "vanished", pv, NULL);
                h->n_gone++;
            }
        }
    }
    if (seen_complete >= 0 && seen_complete == h->latest) {
        int64_t d = h->until - h->scans[seen_complete].started;
        secs[h->cur[seen_complete].stage] += d > 0 ? (uint64_t)d : 0;
    }
    if (first >= 0 && h->o->format == PQT_HISTORY_JSONL) {
        json_target(h, first, last, secs);
    } else if (first >= 0 && h->o->format == PQT_HISTORY_HTML && changed &&
               h->timelines < HTML_TIMELINES_MAX) {
        h->timelines++;
        html_timeline(h, first);
    }
    for (int t = 0; t < h->ntouched; t++) {
        h->cur[h->touched[t]].present = 0;
    }
    h->ntouched = 0;
    h->have_target = 0;
}

static int row_result(void *ctx, int n, const char *const *v)
{
    hist *h = ctx;
    if (n < 4 || v[0] == NULL || v[1] == NULL) {
        return 0;
    }
    int ord = find_scan(h, v[1]);
    if (ord < 0) {
        return 0; /* a scan before --since */
    }
    if (!h->have_target || strcmp(h->target, v[0]) != 0) {
        finish_target(h);
        snprintf(h->target, sizeof(h->target), "%s", v[0]);
        h->have_target = 1;
    }
    obs *ob = &h->cur[ord];
    if (!ob->present) {
        h->touched[h->ntouched++] = ord;
    }
    ob->present = 1;
    int st = v[2] ? atoi(v[2]) : 0;
    ob->stage = st < 0 || st >= NSTAGES ? 0 : st;
    ob->flags = v[3] ? (unsigned)strtoul(v[3], NULL, 10) : 0;
    return h->err ? -1 : 0;
}

static int copy_file(FILE *from, FILE *to)
{
    char buf[16384];
    size_t n;
    rewind(from);
    while ((n = fread(buf, 1, sizeof(buf), from)) > 0) {
        if (fwrite(buf, 1, n, to) != n) {
            return -1;
        }
    }
    return ferror(from) ? -1 : 0;
}

static double share(unsigned long part, unsigned long total)
{
    return total ? (double)part / (double)total : 0.0;
}

/* ---- outputs ------------------------------------------------------------------- */

static void write_jsonl(hist *h, FILE *out)
{
    pqt_json j;
    pqt_json_init(&j, out);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "type", "history");
    pqt_json_kv_string(&j, "schema", "pqtls-history/1");
    pqt_json_kv_int(&j, "scans", h->nscans);
    pqt_json_kv_int(&j, "targets", (long long)h->targets);
    pqt_json_key(&j, "latest");
    pqt_json_string(&j, h->latest >= 0 ? h->scans[h->latest].id : NULL);
    pqt_json_key(&j, "previous");
    pqt_json_string(&j, h->latest_prev >= 0 ? h->scans[h->latest_prev].id : NULL);
    pqt_json_kv_int(&j, "regressions", (long long)h->n_regr);
    pqt_json_object_end(&j);
    h->err |= pqt_json_end_line(&j) != 0;
    for (int i = 0; i < h->nscans; i++) {
        const hscan *sc = &h->scans[i];
        char at[32];
        pqt_json_init(&j, out);
        pqt_json_object_begin(&j);
        pqt_json_kv_string(&j, "type", "scan");
        pqt_json_kv_string(&j, "scan", sc->id);
        pqt_store_iso_time(sc->started, at);
        pqt_json_kv_string(&j, "started", at);
        pqt_json_key(&j, "finished");
        if (sc->finished) {
            pqt_store_iso_time(sc->finished, at);
            pqt_json_string(&j, at);
        } else {
            pqt_json_null(&j);
        }
        pqt_json_kv_bool(&j, "complete", sc->complete);
        pqt_json_kv_int(&j, "shards", sc->shards);
        pqt_json_kv_int(&j, "shards_done", sc->shards_done);
        pqt_json_kv_int(&j, "targets", (long long)sc->total);
        pqt_json_key(&j, "stages");
        pqt_json_object_begin(&j);
        for (int st = 0; st < NSTAGES; st++) {
            pqt_json_kv_int(&j, pqt_scan_stage_name(st), (long long)sc->stages[st]);
        }
        pqt_json_object_end(&j);
        pqt_json_key(&j, "flags");
        pqt_json_object_begin(&j);
        for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
            pqt_json_kv_int(&j, pqt_scan_flag_name(b), (long long)sc->flags[b]);
        }
        pqt_json_object_end(&j);
        pqt_json_key(&j, "required_share");
        pqt_json_double(&j, share(sc->stages[PQT_STAGE_REQUIRED], sc->total), 4);
        pqt_json_key(&j, "previous");
        pqt_json_string(&j, sc->prev >= 0 ? h->scans[sc->prev].id : NULL);
        if (sc->complete && sc->prev >= 0) {
            pqt_json_kv_int(&j, "regressions", (long long)sc->regressions);
            pqt_json_kv_int(&j, "new", (long long)sc->added);
            pqt_json_kv_int(&j, "vanished", (long long)sc->vanished);
        } else {
            pqt_json_key(&j, "regressions");
            pqt_json_null(&j);
            pqt_json_key(&j, "new");
            pqt_json_null(&j);
            pqt_json_key(&j, "vanished");
            pqt_json_null(&j);
        }
        pqt_json_object_end(&j);
        h->err |= pqt_json_end_line(&j) != 0;
    }
    h->err |= copy_file(h->t_regr, out) != 0;
    h->err |= copy_file(h->t_new, out) != 0;
    h->err |= copy_file(h->t_gone, out) != 0;
    h->err |= copy_file(h->t_targets, out) != 0;
}

/* A field of a list entry line (our own JSON: "key":"value"). */
static void entry_field(const char *line, const char *key, char *out, size_t cap)
{
    char pat[40];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *p = strstr(line, pat);
    out[0] = 0;
    if (p == NULL) {
        return;
    }
    p += strlen(pat);
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < cap) {
        if (*p == '\\' && p[1]) {
            p++;
        }
        out[n++] = *p++;
    }
    out[n] = 0;
}

static void entry_flags(const char *line, char *out, size_t cap)
{
    const char *p = strstr(line, "\"flags_gained\":[");
    out[0] = 0;
    if (p == NULL) {
        return;
    }
    p += strlen("\"flags_gained\":[");
    size_t n = 0;
    for (; *p && *p != ']' && n + 1 < cap; p++) {
        if (*p == '"') {
            continue;
        }
        out[n++] = *p == ',' ? ' ' : *p;
    }
    out[n] = 0;
}

/* Each line of a list file, up to max (0: all), through fn. */
static unsigned long each_entry(FILE *f, unsigned long max, void (*fn)(FILE *, const char *),
                                FILE *out)
{
    char line[4096];
    unsigned long n = 0;
    rewind(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (max && n == max) {
            break;
        }
        fn(out, line);
        n++;
    }
    return n;
}

static void table_entry(FILE *out, const char *line)
{
    char target[600], from[32], to[32], fl[200];
    entry_field(line, "target", target, sizeof(target));
    entry_field(line, "from", from, sizeof(from));
    entry_field(line, "to", to, sizeof(to));
    entry_flags(line, fl, sizeof(fl));
    if (from[0] && to[0]) {
        fprintf(out, "  %-50s %s -> %s%s%s\n", target, from, to, fl[0] ? ", gained " : "", fl);
    } else {
        fprintf(out, "  %s\n", target);
    }
}

static void table_list(hist *h, FILE *out, const char *title, FILE *f, unsigned long n)
{
    if (h->latest < 0 || h->latest_prev < 0) {
        return;
    }
    fprintf(out, "\n%s in %s since %s: %lu\n", title, h->scans[h->latest].id,
            h->scans[h->latest_prev].id, n);
    each_entry(f, TABLE_LIST_MAX, table_entry, out);
    if (n > TABLE_LIST_MAX) {
        fprintf(out, "  ... and %lu more (--format jsonl lists them all)\n", n - TABLE_LIST_MAX);
    }
}

static void write_table(hist *h, FILE *out)
{
    fprintf(out, "%-28s %-20s %-10s %7s %7s %9s %9s %8s %9s %5s %5s %8s\n", "scan", "started",
            "status", "targets", "none", "supported", "preferred", "required", "required%", "regr",
            "new", "vanished");
    for (int i = 0; i < h->nscans; i++) {
        const hscan *sc = &h->scans[i];
        char at[32], r[16] = "-", a[16] = "-", v[16] = "-";
        pqt_store_iso_time(sc->started, at);
        if (sc->complete && sc->prev >= 0) {
            snprintf(r, sizeof(r), "%lu", sc->regressions);
            snprintf(a, sizeof(a), "%lu", sc->added);
            snprintf(v, sizeof(v), "%lu", sc->vanished);
        }
        fprintf(out, "%-28s %-20s %-10s %7lu %7lu %9lu %9lu %8lu %8.1f%% %5s %5s %8s\n", sc->id, at,
                sc->complete ? "complete" : "incomplete", sc->total, sc->stages[0], sc->stages[1],
                sc->stages[2], sc->stages[3],
                100.0 * share(sc->stages[PQT_STAGE_REQUIRED], sc->total), r, a, v);
    }
    if (h->nscans == 0) {
        fputs("(no scans in the store)\n", out);
    }
    table_list(h, out, "Regressions", h->t_regr, h->n_regr);
    table_list(h, out, "New targets", h->t_new, h->n_new);
    table_list(h, out, "Vanished targets", h->t_gone, h->n_gone);
}

static void write_csv(hist *h, FILE *out)
{
    fputs("scan,started,finished,complete,shards,shards_done,targets,none,supported,preferred,"
          "required,required_share",
          out);
    for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
        fprintf(out, ",%s", pqt_scan_flag_name(b));
    }
    fputs(",previous,regressions,new,vanished\r\n", out);
    for (int i = 0; i < h->nscans; i++) {
        const hscan *sc = &h->scans[i];
        char at[32], fin[32] = "";
        pqt_store_iso_time(sc->started, at);
        if (sc->finished) {
            pqt_store_iso_time(sc->finished, fin);
        }
        /* scan ids are [A-Za-z0-9._:-] (cli/scan.c checks), no quoting needed */
        fprintf(out, "%s,%s,%s,%s,%u,%u,%lu,%lu,%lu,%lu,%lu,%.4f", sc->id, at, fin,
                sc->complete ? "true" : "false", sc->shards, sc->shards_done, sc->total,
                sc->stages[0], sc->stages[1], sc->stages[2], sc->stages[3],
                share(sc->stages[PQT_STAGE_REQUIRED], sc->total));
        for (unsigned b = 0; b < PQT_FLAG_COUNT; b++) {
            fprintf(out, ",%lu", sc->flags[b]);
        }
        if (sc->complete && sc->prev >= 0) {
            fprintf(out, ",%s,%lu,%lu,%lu\r\n", h->scans[sc->prev].id, sc->regressions, sc->added,
                    sc->vanished);
        } else {
            fprintf(out, ",%s,,,\r\n", sc->prev >= 0 ? h->scans[sc->prev].id : "");
        }
    }
}

static void html_entry(FILE *out, const char *line)
{
    char target[600], from[32], to[32], fl[200], type[16];
    entry_field(line, "type", type, sizeof(type));
    entry_field(line, "target", target, sizeof(target));
    entry_field(line, "from", from, sizeof(from));
    entry_field(line, "to", to, sizeof(to));
    entry_flags(line, fl, sizeof(fl));
    fprintf(out, "<tr class=\"%s\" data-target=\"", type);
    pqt_html_escape(out, target);
    fprintf(out, "\" data-from=\"%s\" data-to=\"%s\"><td>", from, to);
    pqt_html_escape(out, target);
    fprintf(out, "</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", from[0] ? from : "-",
            to[0] ? to : "-", fl);
}

static void html_list(hist *h, FILE *out, const char *id, const char *title, FILE *f,
                      unsigned long n)
{
    fprintf(out, "<h2>%s</h2>\n", title);
    if (h->latest < 0 || h->latest_prev < 0) {
        fputs("<p>No two complete scans to compare yet.</p>\n", out);
        return;
    }
    fprintf(out, "<p>%s against %s: <span id=\"%s-count\">%lu</span>.</p>\n",
            h->scans[h->latest].id, h->scans[h->latest_prev].id, id, n);
    fprintf(out,
            "<table id=\"%s\"><tr><th>target</th><th>was</th><th>now</th><th>flags gained</th>"
            "</tr>\n",
            id);
    each_entry(f, 0, html_entry, out);
    fputs("</table>\n", out);
}

static void write_html(hist *h, FILE *out)
{
    const int bw = 28, gap = 8, ch = 200, left = 50;
    unsigned long max = 1;
    int width = left + h->nscans * (bw + gap) + 20;
    for (int i = 0; i < h->nscans; i++) {
        max = h->scans[i].total > max ? h->scans[i].total : max;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>pqtls history</title>\n<style>\n"
          "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\n"
          "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
          "padding:3px 6px;text-align:left}th{background:#f0f0f0}\n"
          "td.n{text-align:right}.incomplete{color:#a40000}\n</style></head><body>\n"
          "<h1>Post-quantum TLS migration over time</h1>\n",
          out);
    fprintf(out,
            "<p>pqtls history (pqtls-history/1): <span id=\"scan-count\">%d</span> scans, "
            "<span id=\"target-count\">%lu</span> targets; latest complete scan "
            "<span id=\"latest\">%s</span>.</p>\n",
            h->nscans, h->targets, h->latest >= 0 ? h->scans[h->latest].id : "none");
    /* Stacked bars: one per scan, stages bottom (none) to top (required). */
    fprintf(out,
            "<h2>Stages over time</h2>\n<svg id=\"stage-history\" xmlns=\"http://www.w3.org/2000/"
            "svg\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"targets per stage per "
            "scan\">\n",
            width, ch + 40);
    fprintf(out, "<text x=\"0\" y=\"12\" font-size=\"11\">%lu</text>", max);
    for (int i = 0; i < h->nscans; i++) {
        const hscan *sc = &h->scans[i];
        int x = left + i * (bw + gap);
        double y = ch + 10;
        fprintf(out, "<g class=\"scan-bar\" data-scan=\"%s\" data-complete=\"%d\">", sc->id,
                sc->complete);
        for (int st = 0; st < NSTAGES; st++) {
            double hgt = (double)ch * (double)sc->stages[st] / (double)max;
            y -= hgt;
            fprintf(out,
                    "<rect class=\"seg\" data-scan=\"%s\" data-stage=\"%s\" data-count=\"%lu\" "
                    "x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"%s><title>%s "
                    "%s: %lu</title></rect>",
                    sc->id, pqt_scan_stage_name(st), sc->stages[st], x, y, bw, hgt,
                    stage_colors[st], sc->complete ? "" : " fill-opacity=\"0.4\"", sc->id,
                    pqt_scan_stage_name(st), sc->stages[st]);
        }
        fputs("</g>\n", out);
    }
    for (int st = 0; st < NSTAGES; st++) {
        fprintf(out,
                "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" "
                "y=\"%d\" font-size=\"11\">%s</text>",
                left + st * 90, ch + 22, stage_colors[st], left + st * 90 + 14, ch + 31,
                pqt_scan_stage_name(st));
    }
    fputs("</svg>\n<h2>Burndown: share of targets at required</h2>\n", out);
    fprintf(out,
            "<svg id=\"burndown\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"120\"><polyline fill=\"none\" stroke=\"#6a3d9a\" stroke-width=\"2\" "
            "points=\"",
            width);
    for (int i = 0; i < h->nscans; i++) {
        const hscan *sc = &h->scans[i];
        fprintf(out, "%s%d,%.1f", i ? " " : "", left + i * (bw + gap) + bw / 2,
                110.0 - 100.0 * share(sc->stages[PQT_STAGE_REQUIRED], sc->total));
    }
    fputs("\"/></svg>\n<h2>Scans</h2>\n<table id=\"scans\"><tr><th>scan</th><th>started</th>"
          "<th>status</th><th>targets</th><th>none</th><th>supported</th><th>preferred</th>"
          "<th>required</th><th>required share</th><th>regressions</th><th>new</th>"
          "<th>vanished</th></tr>\n",
          out);
    for (int i = 0; i < h->nscans; i++) {
        const hscan *sc = &h->scans[i];
        char at[32];
        pqt_store_iso_time(sc->started, at);
        fprintf(out, "<tr class=\"scan\" data-scan=\"%s\"><td>%s</td><td>%s</td><td%s>%s</td>",
                sc->id, sc->id, at, sc->complete ? "" : " class=\"incomplete\"",
                sc->complete ? "complete" : "incomplete");
        fprintf(out, "<td class=\"n\">%lu</td>", sc->total);
        for (int st = 0; st < NSTAGES; st++) {
            fprintf(out, "<td class=\"n\" data-stage=\"%s\">%lu</td>", pqt_scan_stage_name(st),
                    sc->stages[st]);
        }
        fprintf(out, "<td class=\"n\">%.1f%%</td>",
                100.0 * share(sc->stages[PQT_STAGE_REQUIRED], sc->total));
        if (sc->complete && sc->prev >= 0) {
            fprintf(out,
                    "<td class=\"n regr\">%lu</td><td class=\"n\">%lu</td><td "
                    "class=\"n\">%lu</td></tr>\n",
                    sc->regressions, sc->added, sc->vanished);
        } else {
            fputs("<td>-</td><td>-</td><td>-</td></tr>\n", out);
        }
    }
    fputs("</table>\n", out);
    html_list(h, out, "regressions", "Regressions", h->t_regr, h->n_regr);
    html_list(h, out, "new-targets", "New targets", h->t_new, h->n_new);
    html_list(h, out, "vanished-targets", "Vanished targets", h->t_gone, h->n_gone);
    fprintf(out,
            "<h2>Per-target timelines</h2>\n<p>Targets whose stage or flags changed: "
            "<span id=\"timeline-count\">%lu</span>%s; one cell per scan, coloured by stage, "
            "outlined red when a flag is set.</p>\n<table id=\"timelines\">\n",
            h->timelines,
            h->timelines >= HTML_TIMELINES_MAX ? " (the first 1000; --format jsonl has all)" : "");
    h->err |= copy_file(h->t_targets, out) != 0;
    fputs("</table>\n<p>Regression: the stage dropped or a flag appeared since the previous "
          "complete scan. Incomplete scans (a shard did not finish) are shown faded and never "
          "compared. See docs/store.md.</p>\n</body></html>\n",
          out);
}

int pqt_store_history(pqt_store *s, const pqt_history_options *o, FILE *out,
                      pqt_history_summary *sum)
{
    hist h;
    char since[24];
    int ret = PQT_ERR_IO;
    memset(&h, 0, sizeof(h));
    memset(sum, 0, sizeof(*sum));
    s->msg[0] = 0;
    if (o->format == PQT_HISTORY_CBOM) {
        return pqt_store_history_cbom(s, o->since, out, sum);
    }
    h.s = s;
    h.o = o;
    h.latest = h.latest_prev = -1;
    snprintf(since, sizeof(since), "%lld", (long long)o->since);
    const char *p_since[] = {since};
    if (pqt_store_db_query(
            s->d,
            "SELECT s.scan_id, s.started_at, s.finished_at, s.shards, (SELECT count(*) FROM "
            "scan_shards h WHERE h.scan_id = s.scan_id AND h.complete = 1) FROM scans s "
            "WHERE s.started_at >= $1 ORDER BY s.started_at, s.scan_id",
            1, p_since, row_scan, &h) != 0) {
        goto done;
    }
    ret = PQT_ERR_NOMEM;
    h.ids = calloc((size_t)h.nscans + 1, sizeof(*h.ids));
    h.cur = calloc((size_t)h.nscans + 1, sizeof(*h.cur));
    h.touched = calloc((size_t)h.nscans + 1, sizeof(*h.touched));
    h.t_regr = tmpfile();
    h.t_new = tmpfile();
    h.t_gone = tmpfile();
    h.t_targets = tmpfile();
    if (h.ids == NULL || h.cur == NULL || h.touched == NULL || !h.t_regr || !h.t_new || !h.t_gone ||
        !h.t_targets) {
        goto done;
    }
    int prev = -1;
    for (int i = 0; i < h.nscans; i++) {
        h.ids[i].id = h.scans[i].id;
        h.ids[i].ord = i;
        h.scans[i].prev = prev;
        if (h.scans[i].complete) {
            h.latest_prev = prev;
            h.latest = i;
            prev = i;
        }
    }
    if (h.latest < 0) {
        h.latest_prev = -1;
    }
    h.until = o->now          ? o->now
              : h.latest >= 0 ? (h.scans[h.latest].finished ? h.scans[h.latest].finished
                                                            : h.scans[h.latest].started)
                              : 0;
    qsort(h.ids, (size_t)h.nscans, sizeof(*h.ids), cmp_idmap);
    ret = PQT_ERR_IO;
    if (h.nscans > 0 &&
        pqt_store_db_query(
            s->d, "SELECT target, scan_id, stage, flags FROM results ORDER BY target, scan_id", 0,
            NULL, row_result, &h) != 0) {
        goto done;
    }
    finish_target(&h);
    switch (o->format) {
    case PQT_HISTORY_JSONL:
        write_jsonl(&h, out);
        break;
    case PQT_HISTORY_CSV:
        write_csv(&h, out);
        break;
    case PQT_HISTORY_HTML:
        write_html(&h, out);
        break;
    default:
        write_table(&h, out);
        break;
    }
    sum->scans = (unsigned long)h.nscans;
    for (int i = 0; i < h.nscans; i++) {
        sum->incomplete += !h.scans[i].complete;
    }
    sum->targets = h.targets;
    sum->regressions = h.n_regr;
    if (h.latest >= 0) {
        snprintf(sum->latest, sizeof(sum->latest), "%s", h.scans[h.latest].id);
    }
    ret = h.err || ferror(out) ? PQT_ERR_IO : 0;
done:
    free(h.scans);
    free(h.ids);
    free(h.cur);
    free(h.touched);
    FILE *tmps[] = {h.t_regr, h.t_new, h.t_gone, h.t_targets};
    for (size_t i = 0; i < 4; i++) {
        if (tmps[i] != NULL) {
            fclose(tmps[i]);
        }
    }
    return ret;
}

/* ---- "since last scan" in pqtls scan --format html ---------------------------- */

typedef struct {
    FILE *f;
    unsigned long regr, better, added, same, gone;
    FILE *rows; /* the table rows, written after the counts */
} since_ctx;

static int row_prev(void *ctx, int n, const char *const *v)
{
    char *id = ctx;
    if (n > 0 && v[0] != NULL && id[0] == 0) {
        snprintf(id, 128, "%s", v[0]);
    }
    return 0;
}

static void since_row(since_ctx *c, const char *kind, const char *target, int from, int to,
                      unsigned gained)
{
    char fl[200];
    flags_text(gained, fl, sizeof(fl));
    fprintf(c->rows, "<tr class=\"since-%s\" data-target=\"", kind);
    pqt_html_escape(c->rows, target);
    fprintf(c->rows, "\"><td>%s</td><td>", kind);
    pqt_html_escape(c->rows, target);
    fprintf(c->rows, "</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
            from >= 0 ? pqt_scan_stage_name(from) : "-", to >= 0 ? pqt_scan_stage_name(to) : "-",
            fl);
}

static int row_since(void *ctx, int n, const char *const *v)
{
    since_ctx *c = ctx;
    if (n < 5 || v[0] == NULL) {
        return 0;
    }
    int to = v[1] ? atoi(v[1]) : 0;
    unsigned tf = v[2] ? (unsigned)strtoul(v[2], NULL, 10) : 0;
    if (v[3] == NULL) {
        c->added++;
        since_row(c, "new", v[0], -1, to, 0);
        return 0;
    }
    int from = atoi(v[3]);
    unsigned ff = v[4] ? (unsigned)strtoul(v[4], NULL, 10) : 0;
    if (to < from || (tf & ~ff) != 0) {
        c->regr++;
        since_row(c, "regression", v[0], from, to, tf & ~ff);
    } else if (to > from) {
        c->better++;
        since_row(c, "improved", v[0], from, to, 0);
    } else {
        c->same++;
    }
    return 0;
}

static int row_gone(void *ctx, int n, const char *const *v)
{
    since_ctx *c = ctx;
    if (n < 2 || v[0] == NULL) {
        return 0;
    }
    c->gone++;
    since_row(c, "vanished", v[0], v[1] ? atoi(v[1]) : 0, -1, 0);
    return 0;
}

int pqt_store_since_last_html(pqt_store *s, const char *scan_id, unsigned k, unsigned n,
                              char **html)
{
    char prev[128] = "", ks[16];
    char *buf = NULL;
    size_t len = 0;
    since_ctx c;
    int ret = PQT_ERR_IO;
    *html = NULL;
    memset(&c, 0, sizeof(c));
    const char *p_id[] = {scan_id};
    /* The latest complete scan that started before this one. */
    if (pqt_store_db_query(
            s->d,
            "SELECT p.scan_id FROM scans p, scans t WHERE t.scan_id = $1 AND p.scan_id <> "
            "t.scan_id AND p.started_at <= t.started_at AND (SELECT count(*) FROM "
            "scan_shards h WHERE h.scan_id = p.scan_id AND h.complete = 1) >= p.shards "
            "ORDER BY p.started_at DESC, p.scan_id DESC LIMIT 1",
            1, p_id, row_prev, prev) != 0) {
        return PQT_ERR_IO;
    }
    if (prev[0] == 0) {
        *html = strdup("");
        return *html != NULL ? 0 : PQT_ERR_NOMEM;
    }
    c.rows = tmpfile();
    c.f = open_memstream(&buf, &len);
    if (c.rows == NULL || c.f == NULL) {
        ret = PQT_ERR_NOMEM;
        goto done;
    }
    snprintf(ks, sizeof(ks), "%u", k);
    const char *p_cmp[] = {scan_id, prev, ks};
    if (pqt_store_db_query(
            s->d,
            "SELECT r.target, r.stage, r.flags, p.stage, p.flags FROM results r LEFT JOIN "
            "results p ON p.scan_id = $2 AND p.target = r.target WHERE r.scan_id = $1 AND "
            "r.shard = $3 ORDER BY r.idx, r.target",
            3, p_cmp, row_since, &c) != 0) {
        goto done;
    }
    const char *p_gone[] = {prev, scan_id};
    if (n == 1 &&
        pqt_store_db_query(s->d,
                           "SELECT p.target, p.stage FROM results p WHERE p.scan_id = $1 AND NOT "
                           "EXISTS (SELECT 1 FROM results r WHERE r.scan_id = $2 AND r.target = "
                           "p.target) ORDER BY p.idx, p.target",
                           2, p_gone, row_gone, &c) != 0) {
        goto done;
    }
    fputs("<h2 id=\"since-last\">Since last scan</h2>\n<p>Compared with scan <b id=\"since-prev\">",
          c.f);
    pqt_html_escape(c.f, prev);
    fprintf(c.f,
            "</b>: <span id=\"since-regressions\">%lu</span> regressed, <span "
            "id=\"since-improved\">%lu</span> improved, <span id=\"since-new\">%lu</span> new, "
            "%lu unchanged",
            c.regr, c.better, c.added, c.same);
    if (n == 1) {
        fprintf(c.f, ", <span id=\"since-vanished\">%lu</span> vanished", c.gone);
    } else {
        fprintf(c.f,
                " (shard %u of %u: vanished targets are known once every shard is in; "
                "see pqtls history)",
                k, n);
    }
    fputs(".</p>\n<table id=\"since-table\"><tr><th>change</th><th>target</th><th>was</th>"
          "<th>now</th><th>flags gained</th></tr>\n",
          c.f);
    if (copy_file(c.rows, c.f) != 0) {
        goto done;
    }
    fputs("</table>\n", c.f);
    ret = 0;
done:
    if (c.rows != NULL) {
        fclose(c.rows);
    }
    if (c.f != NULL) {
        fclose(c.f);
    }
    if (ret == 0) {
        *html = buf;
    } else {
        free(buf);
    }
    return ret;
}
