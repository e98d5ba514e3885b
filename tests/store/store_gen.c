/*
 * store_gen: write synthetic scans into a store through the public API
 * (tests/store and the pqtls history benchmark, docs/performance.md).
 *
 * usage: store_gen URL NSCANS NTARGETS [--regress R] [--add A] [--vanish V]
 *                  [--prefix P] [--start UNIX] [--shards N]
 *
 * Scan i (id P-NNN, started START + i weeks) has targets hT.example:443 for
 * T < NTARGETS. Target T's stage climbs with the scans: min(3, 4 i / NSCANS
 * + (T % 3 == 0)), so no target regresses on its own; every 50th target is
 * segmentation-intolerant throughout. In the last scan the first R targets
 * regress (one stage down, or legacy-kyber gained at stage none), the last V
 * are missing and A new ones (nT.example:443) appear. --shards N writes
 * each scan as N shards (by the scanner's own shard function).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/store.h"

static int stage_of(int i, int t, int nscans)
{
    int s = 4 * i / nscans + (t % 3 == 0);
    return s > 3 ? 3 : s;
}

int main(int argc, char **argv)
{
    char why[512];
    long regress = 0, add = 0, vanish = 0, shards = 1;
    long long start = 1735689600; /* 2025-01-01T00:00:00Z */
    const char *prefix = "gen";
    if (argc < 4) {
        fprintf(stderr, "usage: store_gen URL NSCANS NTARGETS [--regress R] [--add A] "
                        "[--vanish V] [--prefix P] [--start UNIX] [--shards N]\n");
        return 2;
    }
    int nscans = atoi(argv[2]), ntargets = atoi(argv[3]);
    for (int a = 4; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--regress") == 0) {
            regress = atol(argv[a + 1]);
        } else if (strcmp(argv[a], "--add") == 0) {
            add = atol(argv[a + 1]);
        } else if (strcmp(argv[a], "--vanish") == 0) {
            vanish = atol(argv[a + 1]);
        } else if (strcmp(argv[a], "--prefix") == 0) {
            prefix = argv[a + 1];
        } else if (strcmp(argv[a], "--start") == 0) {
            start = atoll(argv[a + 1]);
        } else if (strcmp(argv[a], "--shards") == 0) {
            shards = atol(argv[a + 1]);
        } else {
            fprintf(stderr, "store_gen: unknown option %s\n", argv[a]);
            return 2;
        }
    }
    pqt_store *s = NULL;
    if (pqt_store_open(argv[1], &s, why, sizeof(why)) != 0) {
        fprintf(stderr, "store_gen: %s\n", why);
        return 1;
    }
    pqt_scan_result *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return 1;
    }
    for (int i = 0; i < nscans; i++) {
        char id[64];
        int last = i == nscans - 1;
        long long t0 = start + (long long)i * 7 * 86400;
        snprintf(id, sizeof(id), "%s-%03d", prefix, i);
        for (unsigned k = 1; k <= (unsigned)shards; k++) {
            if (pqt_store_begin(s, id, k, (unsigned)shards, t0) != 0) {
                fprintf(stderr, "store_gen: begin %s: %s\n", id, pqt_store_error(s));
                return 1;
            }
            int total = ntargets + (last ? (int)add : 0);
            for (int t = 0; t < total; t++) {
                int fresh = t >= ntargets;
                if (last && !fresh && t >= ntargets - vanish) {
                    continue;
                }
                memset(r, 0, sizeof(*r));
                snprintf(r->target.host, sizeof(r->target.host), "%c%d.example", fresh ? 'n' : 'h',
                         fresh ? t - ntargets : t);
                r->target.port = 443;
                snprintf(r->target.sni, sizeof(r->target.sni), "%s", r->target.host);
                r->target.index = (uint64_t)t;
                if (!pqt_scan_shard_member(&r->target, k, (unsigned)shards)) {
                    continue;
                }
                pqt_scan_target_name(&r->target, r->name, sizeof(r->name));
                r->stage = stage_of(i, t, nscans);
                r->flags = t % 50 == 0 ? PQT_FLAG_SEGMENTATION_INTOLERANT : 0;
                if (last && !fresh && t < regress) {
                    int before = stage_of(i - 1, t, nscans);
                    if (before > 0) {
                        r->stage = before - 1;
                    } else {
                        r->stage = 0;
                        r->flags |= PQT_FLAG_LEGACY_KYBER;
                    }
                }
                if (pqt_store_add(s, r) != 0) {
                    fprintf(stderr, "store_gen: add: %s\n", pqt_store_error(s));
                    return 1;
                }
            }
            if (pqt_store_finish(s, t0 + 3600) != 0) {
                fprintf(stderr, "store_gen: finish: %s\n", pqt_store_error(s));
                return 1;
            }
        }
    }
    free(r);
    pqt_store_close(s);
    return 0;
}
