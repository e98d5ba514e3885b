/*
 * The observer: a flow table with a hard limit (least recently active flow
 * evicted first, counted), two reassembled directions per flow, and the
 * handshake logic that turns TLS events into one pqt_obs_handshake per
 * connection: who is the client, the first ClientHello and its JA4, the
 * ServerHello / HelloRetryRequest, the TLS 1.2 ServerKeyExchange curve,
 * and how the handshake ended.
 */
#include <stdlib.h>
#include <string.h>

#include "obs_internal.h"
#include "pqtls/common.h"
#include "pqtls/groups.h"
#include "siphash.h"

#define DEFAULT_MAX_FLOWS 65536
#define DEFAULT_BUFFER (64u << 20)
#define DEFAULT_IDLE_US (30ull * 1000000)
#define EXPIRE_EVERY_US 1000000ull

enum { FLOW_ACTIVE = 0, FLOW_DONE, FLOW_IGNORED };

typedef struct obs_flow {
    struct obs_flow *hnext;
    struct obs_flow *prev, *next; /* activity order: head = most recent */
    uint32_t hash;
    uint8_t ipv;
    uint8_t addr[2][16];
    uint16_t port[2];
    uint8_t state;
    int8_t client; /* side index of the client, -1 unknown */
    uint8_t ttl[2];
    uint16_t vlan[PQT_NET_MAX_VLAN];
    uint8_t n_vlan;
    uint64_t first_us, last_us;
    pqt_reasm re[2];
    obs_tls_dir tls[2];
    pqt_obs_handshake *hs; /* from the first ClientHello record on */
    uint8_t *ch_buf;       /* the kept ClientHello body (hs->ch points into it) */
    uint32_t ch_kept;
    char *ja4_r;
    pqt_obs *obs;
    uint8_t ch_started, sh_seen, ccs_seen[2], app_after_sh[2], lost_gap, fin_client;
    unsigned anomalies;
} obs_flow;

struct pqt_obs {
    pqt_obs_config cfg;
    pqt_obs_stats st;
    pqt_budget budget;
    obs_flow **buckets;
    size_t nbuckets;
    uint8_t hash_key[16]; /* flow_hash's SipHash key, random per observer */
    obs_flow *head, *tail;
    uint64_t now_us, last_expire_us;
    obs_tls_events ev;
};

static const char *const outcome_names[PQT_OBS_N_OUTCOMES] = {
    "completed",
    "alert",
    "reset_after_client_hello",
    "closed_after_client_hello",
    "reset",
    "closed",
    "timeout",
    "truncated",
    "gap",
    "evicted",
};

const char *pqt_obs_outcome_name(pqt_obs_outcome o)
{
    return (unsigned)o < PQT_OBS_N_OUTCOMES ? outcome_names[o] : "unknown";
}

/* ---- flow table ---- */

/*
 * The flow's hash: SipHash-1-3 (siphash.h) under the observer's random
 * per-run key, of the two endpoints in a canonical order (the smaller
 * address-and-port first), so both directions give the same value, and
 * nobody who cannot read the key can pick addresses and ports that share a
 * bucket. The unkeyed FNV-1a this replaces let crafted traffic put every
 * flow in one chain (docs/performance.md, "Flow table under colliding
 * flows").
 */
static uint32_t flow_hash(const pqt_obs *o, uint8_t ipv, const uint8_t *a, uint16_t pa,
                          const uint8_t *b, uint16_t pb)
{
    size_t n = ipv == 4 ? 4 : 16;
    uint8_t ea[18], eb[18], in[1 + 2 * 18];
    memcpy(ea, a, n);
    ea[n] = (uint8_t)(pa >> 8);
    ea[n + 1] = (uint8_t)pa;
    memcpy(eb, b, n);
    eb[n] = (uint8_t)(pb >> 8);
    eb[n + 1] = (uint8_t)pb;
    int swap = memcmp(ea, eb, n + 2) > 0;
    in[0] = ipv;
    memcpy(in + 1, swap ? eb : ea, n + 2);
    memcpy(in + 1 + n + 2, swap ? ea : eb, n + 2);
    /* Buckets are at most 2^24 (pqt_obs_new): 32 bits of the 64 suffice. */
    return (uint32_t)obs_siphash13(o->hash_key, in, 1 + 2 * (n + 2));
}

static void lru_unlink(pqt_obs *o, obs_flow *f)
{
    if (f->prev != NULL) {
        f->prev->next = f->next;
    } else {
        o->head = f->next;
    }
    if (f->next != NULL) {
        f->next->prev = f->prev;
    } else {
        o->tail = f->prev;
    }
    f->prev = f->next = NULL;
}

static void lru_push_front(pqt_obs *o, obs_flow *f)
{
    f->prev = NULL;
    f->next = o->head;
    if (o->head != NULL) {
        o->head->prev = f;
    }
    o->head = f;
    if (o->tail == NULL) {
        o->tail = f;
    }
}

static void release_hs(pqt_obs *o, obs_flow *f)
{
    if (f->ch_buf != NULL) {
        free(f->ch_buf);
        pqt_budget_give(&o->budget, f->ch_kept);
        f->ch_buf = NULL;
        f->ch_kept = 0;
    }
    free(f->ja4_r);
    f->ja4_r = NULL;
    free(f->hs);
    f->hs = NULL;
}

static void stop_parsing(pqt_obs *o, obs_flow *f)
{
    for (int s = 0; s < 2; s++) {
        pqt_obs_tls_free(&f->tls[s], &o->budget);
        pqt_reasm_free(&f->re[s], &o->budget);
        f->re[s].stopped = 1;
    }
}

static void flow_remove(pqt_obs *o, obs_flow *f)
{
    obs_flow **pp = &o->buckets[f->hash & (o->nbuckets - 1)];
    while (*pp != f) {
        pp = &(*pp)->hnext;
    }
    *pp = f->hnext;
    lru_unlink(o, f);
    stop_parsing(o, f);
    release_hs(o, f);
    free(f);
    o->st.flows_active--;
}

/* Report the handshake with its outcome; the flow stays (DONE) so later
 * packets of the connection are not taken for a new one. */
static void emit(pqt_obs *o, obs_flow *f, pqt_obs_outcome outcome)
{
    pqt_obs_handshake *hs = f->hs;
    if (f->state != FLOW_ACTIVE) {
        return;
    }
    f->state = FLOW_DONE;
    if (hs != NULL) {
        int c = f->client < 0 ? 0 : f->client;
        hs->ip_version = f->ipv;
        memcpy(hs->client, f->addr[c], 16);
        memcpy(hs->server, f->addr[1 - c], 16);
        hs->client_port = f->port[c];
        hs->server_port = f->port[1 - c];
        hs->client_ttl = f->ttl[c];
        hs->server_ttl = f->ttl[1 - c];
        memcpy(hs->vlan, f->vlan, sizeof(hs->vlan));
        hs->n_vlan = f->n_vlan;
        hs->outcome = outcome;
        hs->anomalies |= f->anomalies;
        hs->ja4_r = f->ja4_r;
        if (hs->client_family == NULL) {
            hs->client_family = "unknown";
        }
        o->st.handshakes++;
        o->st.outcomes[outcome]++;
        if (o->cfg.on_handshake != NULL) {
            o->cfg.on_handshake(hs, o->cfg.arg);
        }
    }
    stop_parsing(o, f);
    release_hs(o, f);
}

/* The flow ends without a decisive event (end of input, idle, eviction). */
static void settle(pqt_obs *o, obs_flow *f, pqt_obs_outcome why)
{
    if (f->state != FLOW_ACTIVE) {
        return;
    }
    if (f->hs == NULL) {
        if (f->sh_seen) {
            o->st.server_only++;
        }
        f->state = FLOW_DONE;
        stop_parsing(o, f);
        return;
    }
    if (f->fin_client) {
        emit(o, f, f->sh_seen ? PQT_OBS_CLOSED : PQT_OBS_CLOSED_AFTER_CH);
        return;
    }
    if (f->lost_gap && why == PQT_OBS_TRUNCATED) {
        why = PQT_OBS_GAP;
    }
    emit(o, f, why);
}

static void evict_one(pqt_obs *o)
{
    obs_flow *f = o->tail;
    if (f == NULL) {
        return;
    }
    if (f->state == FLOW_ACTIVE) {
        o->st.flows_evicted++;
        settle(o, f, PQT_OBS_EVICTED);
    }
    flow_remove(o, f);
}

static obs_flow *flow_find(pqt_obs *o, const pqt_packet *p, int *side)
{
    size_t n = p->ip_version == 4 ? 4 : 16;
    uint32_t h = flow_hash(o, p->ip_version, p->src, p->sport, p->dst, p->dport);
    for (obs_flow *f = o->buckets[h & (o->nbuckets - 1)]; f != NULL; f = f->hnext) {
        if (f->hash != h || f->ipv != p->ip_version) {
            continue;
        }
        if (f->port[0] == p->sport && f->port[1] == p->dport &&
            memcmp(f->addr[0], p->src, n) == 0 && memcmp(f->addr[1], p->dst, n) == 0) {
            *side = 0;
            return f;
        }
        if (f->port[1] == p->sport && f->port[0] == p->dport &&
            memcmp(f->addr[1], p->src, n) == 0 && memcmp(f->addr[0], p->dst, n) == 0) {
            *side = 1;
            return f;
        }
    }
    return NULL;
}

static obs_flow *flow_new(pqt_obs *o, const pqt_packet *p)
{
    if (o->st.flows_active >= o->cfg.max_flows) {
        evict_one(o);
    }
    obs_flow *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    f->ipv = p->ip_version;
    memcpy(f->addr[0], p->src, 16);
    memcpy(f->addr[1], p->dst, 16);
    f->port[0] = p->sport;
    f->port[1] = p->dport;
    f->client = -1;
    f->obs = o;
    f->hash = flow_hash(o, p->ip_version, p->src, p->sport, p->dst, p->dport);
    memcpy(f->vlan, p->vlan, sizeof(f->vlan));
    f->n_vlan = p->n_vlan;
    obs_flow **b = &o->buckets[f->hash & (o->nbuckets - 1)];
    f->hnext = *b;
    *b = f;
    lru_push_front(o, f);
    o->st.flows++;
    o->st.flows_active++;
    if (o->st.flows_active > o->st.flows_peak) {
        o->st.flows_peak = o->st.flows_active;
    }
    return f;
}

/* ---- TLS events ---- */

static int ev_role(void *ctx, int side)
{
    obs_flow *f = ctx;
    if (f->client < 0) {
        return OBS_ROLE_UNKNOWN;
    }
    return f->client == side ? OBS_ROLE_CLIENT : OBS_ROLE_SERVER;
}

static void ev_start(void *ctx, int side, int role, size_t preamble)
{
    obs_flow *f = ctx;
    if (f->client < 0) {
        f->client = (int8_t)(role == OBS_ROLE_CLIENT ? side : 1 - side);
    }
    if (preamble > 0) {
        f->anomalies |= PQT_OBS_A_PREAMBLE;
    }
    if (role == OBS_ROLE_CLIENT && f->hs == NULL && f->client == side) {
        f->hs = calloc(1, sizeof(*f->hs));
        if (f->hs != NULL) {
            f->hs->ts_us = f->last_us;
        }
        f->ch_started = 1;
    }
}

static int is_ecdhe_suite(uint16_t c)
{
    /* RFC 8422 / 4492 and later registrations: suites whose
     * ServerKeyExchange carries ECParameters (ECDHE and ECDH_anon). */
    if ((c >= 0xC006 && c <= 0xC00A) || (c >= 0xC010 && c <= 0xC019) ||
        (c >= 0xC033 && c <= 0xC03B) || (c >= 0xC0AC && c <= 0xC0AF) ||
        (c >= 0xD001 && c <= 0xD005)) {
        return 1;
    }
    switch (c) {
    case 0xC023:
    case 0xC024:
    case 0xC027:
    case 0xC028:
    case 0xC02B:
    case 0xC02C:
    case 0xC02F:
    case 0xC030:
    case 0xC048:
    case 0xC049:
    case 0xC04C:
    case 0xC04D:
    case 0xC05C:
    case 0xC05D:
    case 0xC060:
    case 0xC061:
    case 0xC070:
    case 0xC071:
    case 0xC072:
    case 0xC073:
    case 0xC076:
    case 0xC077:
    case 0xC086:
    case 0xC087:
    case 0xC08A:
    case 0xC08B:
    case 0xC09A:
    case 0xC09B:
    case 0xCCA8:
    case 0xCCA9:
    case 0xCCAC:
        return 1;
    default:
        return 0;
    }
}

static int tls13_like(uint16_t v)
{
    return v > 0x0303 && v != 0xfeff && v != 0xfefd; /* 1.3, its drafts, 0xfb1a */
}

static int ev_handshake(void *ctx, int side, uint8_t type, uint8_t *body, uint32_t len,
                        uint32_t kept, unsigned segs, unsigned recs)
{
    obs_flow *f = ctx;
    pqt_obs *o = f->obs;
    pqt_obs_handshake *hs = f->hs;
    if (hs == NULL) {
        /* Before any ClientHello: only note a lone ServerHello. */
        if (type == PQT_TLS_HS_SERVER_HELLO) {
            f->sh_seen = 1;
        }
        return 0;
    }
    int from_client = side == f->client;
    if (from_client && type == PQT_TLS_HS_CLIENT_HELLO) {
        if (f->ch_buf == NULL && hs->ch_size == 0) {
            hs->ch_size = len;
            hs->ch_segments = segs;
            hs->ch_records = recs;
            if (body == NULL || kept < len) {
                hs->anomalies |= PQT_OBS_A_HELLO_TOO_BIG;
                o->st.hellos_too_big++;
                return 0;
            }
            int err = pqt_hello_parse_client(body, len, &hs->ch);
            if (err != 0) {
                hs->ch_err = err;
                return 0;
            }
            hs->has_ch = 1;
            f->ja4_r = malloc(1024);
            if (pqt_ja4(&hs->ch, PQT_JA4_TCP, hs->ja4, f->ja4_r, f->ja4_r ? 1024 : 0) != 0) {
                hs->ja4[0] = 0;
            }
            hs->client_family =
                o->cfg.families != NULL ? pqt_obs_family(o->cfg.families, hs->ja4) : "unknown";
            f->ch_buf = body;
            f->ch_kept = kept;
            return 1;
        }
        if (hs->hrr && hs->n_retry_key_share == 0 && body != NULL && kept == len) {
            pqt_client_hello ch2;
            if (pqt_hello_parse_client(body, len, &ch2) == 0) {
                for (size_t i = 0; i < ch2.n_key_shares; i++) {
                    hs->retry_key_share[hs->n_retry_key_share++] = ch2.key_shares[i].group;
                }
            }
        }
        return 0;
    }
    if (from_client) {
        return 0;
    }
    if (type == PQT_TLS_HS_SERVER_HELLO && body != NULL && kept == len && !hs->has_sh) {
        pqt_server_hello sh;
        if (pqt_hello_parse_server(body, len, &sh) != 0) {
            hs->anomalies |= PQT_OBS_A_SH_MALFORMED;
            f->sh_seen = 1;
            return 0;
        }
        if (sh.is_hrr) {
            hs->hrr = 1;
            hs->hrr_group = sh.has_key_share ? sh.key_share_group : 0;
            return 0;
        }
        f->sh_seen = 1;
        hs->has_sh = 1;
        hs->server_version = pqt_hello_server_version(&sh);
        hs->cipher = sh.cipher_suite;
        if (sh.has_key_share) {
            hs->group = sh.key_share_group;
            hs->group_source = PQT_OBS_GROUP_KEY_SHARE;
        }
    } else if (type == PQT_TLS_HS_SERVER_HELLO) {
        f->sh_seen = 1;
    } else if (type == PQT_TLS_HS_SERVER_KEY_EXCHANGE && hs->has_sh && body != NULL &&
               hs->group_source == PQT_OBS_GROUP_NONE && is_ecdhe_suite(hs->cipher)) {
        uint16_t g;
        /* RFC 8422 §5.4: ServerECDHParams starts with the named curve;
         * Zeek's `curve` column for TLS 1.2 is this value. */
        if (pqt_hello_parse_server_key_exchange_group(body, kept, &g) == 0) {
            hs->group = g;
            hs->group_source = PQT_OBS_GROUP_SKE;
        }
    }
    return 0;
}

static void ev_alert(void *ctx, int side, uint8_t level, uint8_t desc)
{
    obs_flow *f = ctx;
    pqt_obs_handshake *hs = f->hs;
    if (hs == NULL) {
        return;
    }
    /* RFC 8446 §6: a fatal alert ends the connection; so does close_notify
     * before the handshake completed. Warnings (tls-early-alert's 112) do not. */
    if (level == 2 || desc == 0) {
        hs->alert_from_server = side != f->client;
        hs->alert_level = level;
        hs->alert_desc = desc;
        emit(f->obs, f, PQT_OBS_ALERT);
    }
}

static int ev_record(void *ctx, int side, uint8_t type)
{
    obs_flow *f = ctx;
    pqt_obs_handshake *hs = f->hs;
    int encrypts = hs != NULL && hs->has_sh && !tls13_like(hs->server_version);
    if (hs == NULL || !f->sh_seen) {
        return encrypts; /* 0-RTT data before the ServerHello proves nothing */
    }
    if (type == PQT_TLS_CT_CHANGE_CIPHER_SPEC) {
        f->ccs_seen[side] = 1;
    } else if (type == PQT_TLS_CT_APPLICATION_DATA) {
        f->app_after_sh[side] = 1;
    } else {
        return encrypts;
    }
    int client = f->client;
    if (hs->has_sh && tls13_like(hs->server_version)) {
        /* TLS 1.3: the client's first protected record after the
         * ServerHello carries its Finished. */
        if (f->app_after_sh[client]) {
            emit(f->obs, f, PQT_OBS_COMPLETED);
        }
    } else if ((f->ccs_seen[0] && f->ccs_seen[1]) || f->app_after_sh[0] || f->app_after_sh[1]) {
        /* TLS 1.2 and earlier: both sides switched to the new keys. Draft
         * ServerHellos we cannot parse land here too. */
        emit(f->obs, f, PQT_OBS_COMPLETED);
    }
    return encrypts;
}

static void ev_lost(void *ctx, int side, int why)
{
    obs_flow *f = ctx;
    pqt_obs *o = f->obs;
    (void)side;
    if (why == OBS_LOST_GAP || why == OBS_LOST_BUDGET) {
        f->lost_gap = 1;
        f->anomalies |= PQT_OBS_A_GAP;
    } else if (why == OBS_LOST_DESYNC) {
        o->st.tls_desync++;
    } else if (why == OBS_LOST_NOT_TLS && f->hs == NULL && !f->sh_seen &&
               (f->client == side || (f->client < 0 && f->tls[1 - side].mode == OBS_TLS_LOST))) {
        /* Nothing like a ClientHello where the client's stream starts. */
        o->st.flows_not_tls++;
        f->state = FLOW_IGNORED;
        stop_parsing(o, f);
    }
}

/* ---- reassembly sink ---- */

static void sink_data(void *ctx, int side, const uint8_t *p, size_t n)
{
    obs_flow *f = ctx;
    if (f->state == FLOW_ACTIVE) {
        pqt_obs_tls_feed(&f->tls[side], &f->obs->budget, &f->obs->ev, f, side, p, n);
    }
}

static void sink_gap(void *ctx, int side)
{
    obs_flow *f = ctx;
    f->anomalies |= PQT_OBS_A_GAP;
    f->obs->st.reassembly_gaps++;
    if (f->state == FLOW_ACTIVE) {
        pqt_obs_tls_gap(&f->tls[side], &f->obs->budget, &f->obs->ev, f, side);
    }
}

/* ---- public API ---- */

int pqt_obs_new(const pqt_obs_config *cfg, pqt_obs **out)
{
    if (cfg == NULL || out == NULL) {
        return PQT_ERR_ARG;
    }
    *out = NULL;
    pqt_obs *o = calloc(1, sizeof(*o));
    if (o == NULL) {
        return PQT_ERR_NOMEM;
    }
    o->cfg = *cfg;
    if (o->cfg.max_flows == 0) {
        o->cfg.max_flows = DEFAULT_MAX_FLOWS;
    }
    if (o->cfg.max_buffer_bytes == 0) {
        o->cfg.max_buffer_bytes = DEFAULT_BUFFER;
    }
    if (o->cfg.idle_timeout_us == 0) {
        o->cfg.idle_timeout_us = DEFAULT_IDLE_US;
    }
    o->budget.limit = o->cfg.max_buffer_bytes;
    o->nbuckets = 16;
    while (o->nbuckets < o->cfg.max_flows && o->nbuckets < (1u << 24)) {
        o->nbuckets <<= 1;
    }
    o->buckets = calloc(o->nbuckets, sizeof(*o->buckets));
    if (o->buckets == NULL) {
        free(o);
        return PQT_ERR_NOMEM;
    }
    if (pqt_random_bytes(o->hash_key, sizeof(o->hash_key)) != 0) {
        free(o->buckets);
        free(o);
        return PQT_ERR_RANDOM;
    }
    o->ev.role = ev_role;
    o->ev.start = ev_start;
    o->ev.handshake = ev_handshake;
    o->ev.alert = ev_alert;
    o->ev.record = ev_record;
    o->ev.lost = ev_lost;
    *out = o;
    return 0;
}

void pqt_obs_expire(pqt_obs *o, uint64_t now_us)
{
    while (o->tail != NULL && o->tail->last_us + o->cfg.idle_timeout_us < now_us) {
        obs_flow *f = o->tail;
        if (f->state == FLOW_ACTIVE) {
            o->st.flows_expired++;
            settle(o, f, PQT_OBS_TIMEOUT);
        }
        flow_remove(o, f);
    }
}

void pqt_obs_segment(pqt_obs *o, uint64_t ts_us, const pqt_packet *p)
{
    int side = 0;
    if (o == NULL || p == NULL) {
        return;
    }
    if (ts_us > o->now_us) {
        o->now_us = ts_us;
    }
    if (o->now_us - o->last_expire_us >= EXPIRE_EVERY_US) {
        if (o->last_expire_us != 0) {
            pqt_obs_expire(o, o->now_us);
        }
        o->last_expire_us = o->now_us;
    }
    obs_flow *f = flow_find(o, p, &side);
    if (f != NULL && f->state != FLOW_ACTIVE &&
        (p->flags & (PQT_TCP_SYN | PQT_TCP_ACK)) == PQT_TCP_SYN) {
        flow_remove(o, f); /* a new connection on a reused 4-tuple */
        f = NULL;
    }
    if (f == NULL) {
        /* Pure ACKs and resets do not open a flow. */
        if ((p->flags & PQT_TCP_RST) || (!(p->flags & PQT_TCP_SYN) && p->payload_len == 0)) {
            return;
        }
        f = flow_new(o, p);
        if (f == NULL) {
            return;
        }
        f->first_us = ts_us;
    }
    f->last_us = ts_us;
    if (o->head != f) {
        lru_unlink(o, f);
        lru_push_front(o, f);
    }
    f->ttl[side] = p->ttl;
    if (f->state != FLOW_ACTIVE) {
        if (p->flags & (PQT_TCP_RST | PQT_TCP_FIN)) {
            flow_remove(o, f);
        }
        return;
    }
    if (p->payload_cut) {
        f->anomalies |= PQT_OBS_A_SNAPLEN;
        o->st.snaplen_cut++;
    }
    pqt_reasm *re = &f->re[side];
    if (p->flags & PQT_TCP_ACK) {
        re->last_ack = p->ack;
        re->ack_valid = 1;
    }
    if (p->flags & PQT_TCP_SYN) {
        if (f->client < 0) {
            f->client = (int8_t)((p->flags & PQT_TCP_ACK) ? 1 - side : side);
        }
        pqt_reasm_syn(re, p->seq);
    }
    if (p->payload_len > 0) {
        pqt_stream_sink sink = {sink_data, sink_gap, f, side};
        uint32_t seq = (p->flags & PQT_TCP_SYN) ? p->seq + 1 : p->seq; /* TCP Fast Open */
        unsigned ev = pqt_reasm_segment(re, &f->re[1 - side], &o->budget, seq, p->payload,
                                        p->payload_len, &sink);
        if (ev & PQT_OBS_A_RETRANSMIT) {
            o->st.segments_retransmitted++;
        }
        if (ev & PQT_OBS_A_OUT_OF_ORDER) {
            o->st.segments_out_of_order++;
        }
        if (ev & PQT_OBS_A_OVERLAP) {
            o->st.segments_overlap++;
        }
        if (ev & PQT_OBS_A_BUDGET) {
            o->st.reassembly_budget_giveups++;
        }
        if (ev & PQT_REASM_OUT_OF_WINDOW) {
            o->st.segments_out_of_window++;
        }
        f->anomalies |= ev & (PQT_OBS_A_MIDSTREAM | PQT_OBS_A_RETRANSMIT | PQT_OBS_A_OUT_OF_ORDER |
                              PQT_OBS_A_OVERLAP | PQT_OBS_A_GAP | PQT_OBS_A_BUDGET);
    }
    if (f->state == FLOW_ACTIVE && (p->flags & (PQT_TCP_RST | PQT_TCP_FIN))) {
        int from_server = f->client >= 0 && side != f->client;
        if (f->hs == NULL) {
            if (p->flags & PQT_TCP_RST) {
                settle(o, f, PQT_OBS_TRUNCATED);
            }
        } else if (p->flags & PQT_TCP_RST) {
            f->hs->closed_by_server = from_server;
            emit(o, f, f->sh_seen ? PQT_OBS_RESET : PQT_OBS_RESET_AFTER_CH);
        } else if (from_server) {
            f->hs->closed_by_server = 1;
            emit(o, f, f->sh_seen ? PQT_OBS_CLOSED : PQT_OBS_CLOSED_AFTER_CH);
        } else {
            f->fin_client = 1; /* the server may still answer a half-closed client */
        }
    }
}

void pqt_obs_frame(pqt_obs *o, int linktype, uint64_t ts_us, const uint8_t *frame, size_t caplen,
                   size_t wirelen)
{
    pqt_packet p;
    o->st.packets++;
    o->st.bytes += wirelen;
    int ret = pqt_packet_decode(linktype, frame, caplen, &p);
    if (ret == 0) {
        pqt_obs_segment(o, ts_us, &p);
    } else if (ret == PQT_ERR_UNSUPPORTED) {
        if (p.fragment) {
            o->st.ip_fragments++;
        } else if (!pqt_linktype_supported(linktype)) {
            o->st.unknown_linktype++;
        } else {
            o->st.not_tcp++;
        }
    } else {
        o->st.decode_errors++;
    }
}

void pqt_obs_finish(pqt_obs *o)
{
    if (o == NULL) {
        return;
    }
    /* Oldest first, so records come out roughly in capture order. */
    while (o->tail != NULL) {
        obs_flow *f = o->tail;
        if (f->state == FLOW_ACTIVE) {
            for (int s = 0; s < 2 && f->state == FLOW_ACTIVE; s++) {
                pqt_stream_sink sink = {sink_data, sink_gap, f, s};
                pqt_reasm_flush(&f->re[s], &o->budget, &sink);
            }
            int idle = f->last_us + o->cfg.idle_timeout_us < o->now_us;
            settle(o, f, idle ? PQT_OBS_TIMEOUT : PQT_OBS_TRUNCATED);
        }
        flow_remove(o, f);
    }
}

const pqt_obs_stats *pqt_obs_get_stats(const pqt_obs *o)
{
    pqt_obs_stats *st = (pqt_obs_stats *)&o->st;
    st->buffered_bytes = o->budget.used;
    st->buffered_peak = o->budget.peak;
    return &o->st;
}

void pqt_obs_free(pqt_obs *o)
{
    if (o == NULL) {
        return;
    }
    while (o->tail != NULL) {
        flow_remove(o, o->tail);
    }
    free(o->buckets);
    pqt_wipe(o->hash_key, sizeof(o->hash_key));
    free(o);
}
