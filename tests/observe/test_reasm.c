/*
 * Unit tests for src/net/reasm.c through the observer: one synthetic
 * X25519MLKEM768 handshake (obs_flows.h) fed in order, reversed, with
 * retransmissions and overlapping resends, mid-stream, with a hole, reset
 * and closed after the ClientHello, and under a buffer budget too small for
 * the reversed hello; the same JA4, outcome and anomaly flags must come out.
 */
#include <stdio.h>
#include <string.h>

#include "pqtls/groups.h"
#include "pqtls/observe.h"

#include "obs_check.h"
#include "obs_flows.h"

/* ---- flows ------------------------------------------------------------------- */

enum {
    ORDER_IN = 0,
    ORDER_REVERSE,
    ORDER_DUPLICATE_OVERLAP,
    ORDER_MIDSTREAM,
    ORDER_GAP,
    ORDER_RST,
    ORDER_SERVER_FIN
};

/* Feed one flow in the given way; returns what the observer reported. */
static sink run_flow(int order, pqt_obs_config cfg, pqt_obs_stats *st_out)
{
    sink s;
    pqt_obs *o = NULL;
    memset(&s, 0, sizeof(s));
    cfg.on_handshake = on_hs;
    cfg.arg = &s;
    CHECK(pqt_obs_new(&cfg, &o) == 0);
    if (o == NULL) {
        return s;
    }
    const uint32_t cisn = 0xFFFFFF00u, sisn = 1000; /* client wraps around 2^32 */
    uint64_t t = 1700000000000000ull;
    pqt_packet p;
    if (order != ORDER_MIDSTREAM) {
        p = seg(1, cisn, PQT_TCP_SYN, NULL, 0);
        pqt_obs_segment(o, t++, &p);
        p = seg(0, sisn, PQT_TCP_SYN | PQT_TCP_ACK, NULL, 0);
        pqt_obs_segment(o, t++, &p);
    }
    /* The hello in 300-byte segments. */
    size_t hello_end = client_len - 15, nseg = (hello_end + 299) / 300;
    for (size_t k = 0; k < nseg; k++) {
        size_t i = order == ORDER_REVERSE ? nseg - 1 - k : k;
        if (order == ORDER_GAP && i == 2) {
            continue;
        }
        size_t off = i * 300, n = off + 300 <= hello_end ? 300 : hello_end - off;
        p = seg(1, cisn + 1 + (uint32_t)off, PQT_TCP_ACK, client_stream + off, n);
        pqt_obs_segment(o, t++, &p);
        if (order == ORDER_DUPLICATE_OVERLAP) {
            pqt_obs_segment(o, t++, &p); /* exact retransmission */
            if (off >= 50) {             /* overlapping resend starting earlier */
                p = seg(1, cisn + 1 + (uint32_t)(off - 50), PQT_TCP_ACK, client_stream + off - 50,
                        n);
                pqt_obs_segment(o, t++, &p);
            }
        }
    }
    if (order == ORDER_RST || order == ORDER_SERVER_FIN) {
        p = seg(0, sisn + 1, order == ORDER_RST ? PQT_TCP_RST : (PQT_TCP_FIN | PQT_TCP_ACK), NULL,
                0);
        pqt_obs_segment(o, t++, &p);
    } else {
        p = seg(0, sisn + 1, PQT_TCP_ACK, server_stream, 900);
        pqt_obs_segment(o, t++, &p);
        p = seg(0, sisn + 901, PQT_TCP_ACK, server_stream + 900, server_len - 900);
        pqt_obs_segment(o, t++, &p);
        p = seg(1, cisn + 1 + (uint32_t)hello_end, PQT_TCP_ACK, client_stream + hello_end, 15);
        pqt_obs_segment(o, t++, &p);
    }
    pqt_obs_finish(o);
    *st_out = *pqt_obs_get_stats(o);
    pqt_obs_free(o);
    return s;
}

static void test_flows(void)
{
    pqt_obs_config cfg;
    pqt_obs_stats st;
    memset(&cfg, 0, sizeof(cfg));
    build_streams();
    char want[PQT_JA4_SIZE];
    sink s = run_flow(ORDER_IN, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED && s.last.has_ch);
    CHECK(s.last.group == PQT_GROUP_X25519MLKEM768 &&
          s.last.group_source == PQT_OBS_GROUP_KEY_SHARE);
    CHECK(s.last.server_version == 0x0304 && s.last.cipher == 0x1301 && s.last.ch_records == 2);
    CHECK(s.last.ch_segments == (unsigned)((client_len - 15 + 299) / 300));
    CHECK(s.last.client_port == 40000 && s.last.client_ttl == 64 && s.last.server_ttl == 50);
    memcpy(want, s.ja4, sizeof(want));
    CHECK(strncmp(want, "t13d0205h2_", 11) == 0);

    s = run_flow(ORDER_REVERSE, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED && strcmp(s.ja4, want) == 0);
    CHECK((s.last.anomalies & PQT_OBS_A_OUT_OF_ORDER) && st.segments_out_of_order > 0);
    s = run_flow(ORDER_DUPLICATE_OVERLAP, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED && strcmp(s.ja4, want) == 0);
    CHECK((s.last.anomalies & PQT_OBS_A_RETRANSMIT) && st.segments_retransmitted > 0);
    s = run_flow(ORDER_MIDSTREAM, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_COMPLETED && strcmp(s.ja4, want) == 0);
    CHECK(s.last.anomalies & PQT_OBS_A_MIDSTREAM);
    s = run_flow(ORDER_GAP, cfg, &st);
    CHECK(s.n == 1 && !s.last.has_ch && s.ja4[0] == 0 && (s.last.anomalies & PQT_OBS_A_GAP));
    CHECK(s.last.outcome == PQT_OBS_GAP && st.reassembly_gaps > 0);
    s = run_flow(ORDER_RST, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_RESET_AFTER_CH && s.last.closed_by_server);
    s = run_flow(ORDER_SERVER_FIN, cfg, &st);
    CHECK(s.n == 1 && s.last.outcome == PQT_OBS_CLOSED_AFTER_CH);
    CHECK(strcmp(pqt_obs_outcome_name(PQT_OBS_RESET_AFTER_CH), "reset_after_client_hello") == 0);

    /* Buffer budget too small for the reversed hello: the hole before the
     * buffered segments is given up (counted), the skipped start means no
     * hello is seen, nothing crashes and every buffered byte is returned. */
    cfg.max_buffer_bytes = 1000;
    s = run_flow(ORDER_REVERSE, cfg, &st);
    CHECK(st.reassembly_budget_giveups > 0 && st.reassembly_gaps > 0 && s.n == 0);
    CHECK(st.buffered_bytes == 0 && st.buffered_peak <= 1000);
}

int main(void)
{
    test_flows();
    printf("test_observe_reasm: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
