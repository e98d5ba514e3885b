/*
 * Unit tests for src/observe/engine.c's flow table: with a limit of 4
 * flows, 10 connections evict the 6 least recently active (reported as
 * evicted, counted), and the end of input settles the rest as truncated,
 * giving every buffered byte back.
 */
#include <stdio.h>
#include <string.h>

#include "pqtls/observe.h"

#include "obs_check.h"
#include "obs_flows.h"

/* ---- flow table -------------------------------------------------------------- */

static void test_flow_limit(void)
{
    sink s;
    pqt_obs *o = NULL;
    pqt_obs_config cfg;
    memset(&s, 0, sizeof(s));
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_flows = 4;
    cfg.on_handshake = on_hs;
    cfg.arg = &s;
    build_streams();
    CHECK(pqt_obs_new(&cfg, &o) == 0);
    for (uint16_t port = 1; o && port <= 10; port++) {
        pqt_packet p = seg(1, 5000, PQT_TCP_ACK, client_stream, 600);
        p.sport = port;
        pqt_obs_segment(o, 1000 + port, &p);
    }
    if (o != NULL) {
        const pqt_obs_stats *st = pqt_obs_get_stats(o);
        CHECK(st->flows == 10 && st->flows_evicted == 6 && st->flows_active == 4 &&
              st->flows_peak == 4);
        CHECK(s.n == 6 && s.last.outcome == PQT_OBS_EVICTED);
        pqt_obs_finish(o);
        CHECK(s.n == 10 && s.last.outcome == PQT_OBS_TRUNCATED);
        CHECK(pqt_obs_get_stats(o)->buffered_bytes == 0);
        pqt_obs_free(o);
    }
}

int main(void)
{
    test_flow_limit();
    printf("test_observe_engine: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
