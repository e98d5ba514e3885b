/*
 * The observer: a flow table with a hard limit (least recently active flow
 * evicted first, counted), two reassembled directions per flow, and the
 * handshake logic that turns TLS events into one pqt_obs_handshake per
 * connection: who is the client, the first ClientHello and its JA4, the
 * ServerHello / HelloRetryRequest, the TLS 1.2 ServerKeyExchange curve,
 * and how the handshake ended.
 *
 * Memory: everything the observer keeps (this struct and the bucket array,
 * each flow, each handshake being built, the compact copy of its
 * ClientHello, and through the buffer budget every buffered byte) is
 * charged to one memory budget (max_memory_bytes) at what malloc takes for
 * it. When a reservation does not fit, the least recently active flow other
 * than the one being worked on is evicted (its handshake reported as
 * evicted, counted in flows_evicted and flows_evicted_memory) until it
 * does. A hello is never kept whole after it was parsed: only the fields
 * the outputs read (ch_copy), so a flow that holds one costs well under a
 * kilobyte however large its key shares are.
 */
#include <stdlib.h>
#include <string.h>

#include "obs_internal.h"
#include "pqtls/common.h"
#include "pqtls/groups.h"
#include "pqtls/quic.h"
#include "siphash.h"

#define DEFAULT_MAX_FLOWS 65536
#define DEFAULT_BUFFER (64u << 20)
#define DEFAULT_MEMORY ((size_t)256 << 20)
#define MIN_FLOW_ROOM ((size_t)16 << 10) /* memory beyond the fixed part, at least */
#define DEFAULT_IDLE_US (30ull * 1000000)
#define EXPIRE_EVERY_US 1000000ull
#define JA4_R_MAX 1024 /* JA4_r is cut to 1023 characters, as before */

enum { FLOW_ACTIVE = 0, FLOW_DONE, FLOW_IGNORED };

/* QUIC: the CRYPTO stream prefix kept per direction: a hello of up to
 * OBS_HELLO_MAX bytes and its header, the same bound as over TCP. */
#define QUIC_CRYPTO_LIMIT (OBS_HELLO_MAX + 4)
#define QUIC_BUF 65536 /* a UDP payload is at most 65,527 bytes */

/* Where the first ClientHello of a flow stands. */
enum { CH_NONE = 0, CH_BEGUN, CH_DONE };

/*
 * A handshake as it is built up: pqt_obs_handshake without the parsed
 * ClientHello (2 KB of tables and pointers into the hello), which is kept
 * as `ch`, a compact copy of what the outputs read, and unpacked into the
 * observer's one pqt_obs_handshake when the record is reported.
 */
typedef struct {
    uint64_t ts_us;
    uint8_t *ch; /* ch_copy: the ClientHello's fields, then JA4_r; NULL without */
    size_t ch_len;
    size_t ch_size; /* handshake length field */
    int ch_err;
    unsigned ch_segments, ch_records;
    unsigned anomalies;
    const char *client_family;
    uint8_t client_library, family_basis; /* pqt_obs_library, pqt_obs_basis */
    uint8_t ch_state;                     /* CH_* */
    uint8_t ch_noted;                     /* why it was not kept is counted already (ev_hs_begin) */
    uint8_t has_ch, has_sh, hrr, group_source;
    uint8_t alert_from_server, alert_level, alert_desc, closed_by_server;
    uint8_t n_retry_key_share;
    uint16_t server_version, cipher, group, hrr_group;
    uint16_t retry_key_share[PQT_HELLO_MAX_KEY_SHARES];
    char ja4[PQT_JA4_SIZE];
    /* From the cleartext before the ClientHello (appproto.c), in what was
     * padding: PQT_OBS_APP_UNKNOWN when it named none; then the target
     * port of an HTTP CONNECT found there, 0 without one. */
    uint8_t app;
    uint16_t connect_port;
    /* QUIC */
    uint8_t quic_retry, has_quic_close, quic_close_from_server;
    uint64_t quic_close_code;
} obs_hs;

/*
 * A QUIC connection's Initial packets as the observer follows them. The
 * keys of both directions come from kcid: the Destination Connection ID
 * of the client's first Initial, or the Source Connection ID of the
 * server's Retry (RFC 9001 §5.2). odcid and the server's first Source
 * Connection ID tell later Initials of this connection from a new
 * connection on the same addresses and ports. Indexed by side.
 */
typedef struct {
    uint32_t version;
    uint8_t odcid_len, kcid_len, srv_cid_len, has_srv_cid;
    uint8_t odcid[PQT_QUIC_MAX_CID], kcid[PQT_QUIC_MAX_CID], srv_cid[PQT_QUIC_MAX_CID];
    pqt_quic_keys keys[2];
    int64_t largest[2]; /* largest Initial packet number opened, -1 none */
    pqt_quic_crypto cr[2];
    size_t walked[2]; /* CRYPTO stream bytes handed on as messages */
    unsigned initials[2], datagrams[2];
    uint8_t server_sent, handshake_seen[2], done_walking[2];
    uint8_t unknown; /* a version without known Initial keys: only a VN is news */
} obs_quic;

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
    obs_hs *hs; /* from the first ClientHello record on */
    pqt_obs *obs;
    uint8_t ch_started, sh_seen, ccs_seen[2], app_after_sh[2], lost_gap, fin_client;
    uint8_t srv_answer; /* server bytes since the ClientHello began, up to 255 */
    uint8_t proto;      /* PQT_IPPROTO_TCP or PQT_IPPROTO_UDP */
    unsigned anomalies;
    obs_quic *q; /* QUIC flows */
} obs_flow;

struct pqt_obs {
    pqt_obs_config cfg;
    pqt_obs_stats st;
    pqt_budget mem;    /* everything kept, against max_memory_bytes */
    pqt_budget budget; /* buffered bytes, against max_buffer_bytes; part of mem */
    obs_flow **buckets;
    size_t nbuckets;
    uint64_t hash_k[2]; /* flow_hash's SipHash key (k0, k1), random per observer */
    obs_flow *head, *tail;
    obs_flow *cur; /* the flow a packet is being fed to: never evicted for memory */
    uint64_t now_us, last_expire_us;
    obs_tls_events ev;
    pqt_obs_handshake out; /* the record handed to on_handshake */
    pqt_quic_opener *qop;  /* QUIC: cipher contexts, made at the first QUIC datagram */
    uint8_t *qbuf;         /* QUIC: a decrypted packet (QUIC_BUF bytes) */
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
    "no_answer",
    "version_negotiation",
};

const char *pqt_obs_transport_name(pqt_obs_transport t)
{
    return t == PQT_OBS_QUIC ? "quic" : "tcp";
}

const char *pqt_obs_outcome_name(pqt_obs_outcome o)
{
    return (unsigned)o < PQT_OBS_N_OUTCOMES ? outcome_names[o] : "unknown";
}

/* ---- memory ---- */

/* Reserve what malloc(n) will take from the memory budget (evicting flows
 * if need be); 1 when it fits. */
static int mem_take(pqt_obs *o, size_t n)
{
    return pqt_budget_take(&o->mem, pqt_heap_cost(n));
}

static void mem_give(pqt_obs *o, size_t n)
{
    pqt_budget_give(&o->mem, pqt_heap_cost(n));
}

/*
 * The compact copy of a first ClientHello: what pqt_obs_write_json and the
 * aggregates read from pqt_client_hello, in this order, then JA4_r and a
 * NUL:
 *   u16 legacy_version; <2-byte vectors> cipher_suites, versions, groups,
 *   sig_algs; u8 has_sni, <2> sni; u8 has_alpn, <2> alpn; u8 n_ext, u16
 *   type each; u8 n_key_shares, u16 group and u16 size each.
 * The random, session id, compression methods, extension bodies and
 * key-share bytes (1,216 of them for an X25519MLKEM768 share) are not kept.
 */
static size_t ch_copy_len(const pqt_client_hello *ch, size_t ja4_r_len)
{
    return 2 + (2 + 2 * ch->n_cipher_suites) + (2 + 2 * ch->n_versions) + (2 + 2 * ch->n_groups) +
           (2 + 2 * ch->n_sig_algs) + (1 + 2 + ch->sni_len) + (1 + 2 + ch->alpn_len) +
           (1 + 2 * ch->n_ext) + (1 + 4 * ch->n_key_shares) + ja4_r_len + 1;
}

static void put_vec16(pqt_writer *w, const uint8_t *p, size_t n)
{
    pqt_writer_open(w, 2);
    if (n > 0) {
        pqt_writer_bytes(w, p, n);
    }
    pqt_writer_close(w);
}

static int ch_copy(const pqt_client_hello *ch, const char *ja4_r, uint8_t *out, size_t cap)
{
    pqt_writer w;
    size_t n = 0;
    pqt_writer_init(&w, out, cap);
    pqt_writer_u16(&w, ch->legacy_version);
    put_vec16(&w, ch->cipher_suites, 2 * ch->n_cipher_suites);
    put_vec16(&w, ch->versions, 2 * ch->n_versions);
    put_vec16(&w, ch->groups, 2 * ch->n_groups);
    put_vec16(&w, ch->sig_algs, 2 * ch->n_sig_algs);
    pqt_writer_u8(&w, ch->sni != NULL);
    put_vec16(&w, ch->sni, ch->sni_len);
    pqt_writer_u8(&w, ch->alpn != NULL);
    put_vec16(&w, ch->alpn, ch->alpn_len);
    /* The tables as big-endian runs, each written at once. */
    uint8_t types[2 * PQT_HELLO_MAX_EXTENSIONS], shares[4 * PQT_HELLO_MAX_KEY_SHARES];
    for (size_t i = 0; i < ch->n_ext; i++) {
        types[2 * i] = (uint8_t)(ch->ext[i].type >> 8);
        types[2 * i + 1] = (uint8_t)ch->ext[i].type;
    }
    for (size_t i = 0; i < ch->n_key_shares; i++) {
        shares[4 * i] = (uint8_t)(ch->key_shares[i].group >> 8);
        shares[4 * i + 1] = (uint8_t)ch->key_shares[i].group;
        shares[4 * i + 2] = (uint8_t)(ch->key_shares[i].len >> 8);
        shares[4 * i + 3] = (uint8_t)ch->key_shares[i].len;
    }
    pqt_writer_u8(&w, (uint8_t)ch->n_ext);
    pqt_writer_bytes(&w, types, 2 * ch->n_ext);
    pqt_writer_u8(&w, (uint8_t)ch->n_key_shares);
    pqt_writer_bytes(&w, shares, 4 * ch->n_key_shares);
    pqt_writer_bytes(&w, ja4_r, strlen(ja4_r) + 1);
    int ret = pqt_writer_finish(&w, &n);
    return ret != 0 ? ret : n == cap ? 0 : PQT_ERR_LENGTH;
}

/* A raw u16 list in a 2-byte vector: the pointer and the count. */
static int get_list16(pqt_reader *r, const uint8_t **p, size_t *n)
{
    pqt_reader v;
    int ret = pqt_reader_vec(r, 2, &v);
    if (ret == 0 && pqt_reader_left(&v) % 2 != 0) {
        ret = PQT_ERR_SYNTAX;
    }
    if (ret == 0) {
        *n = pqt_reader_left(&v) / 2;
        *p = *n > 0 ? v.p : NULL;
    }
    return ret;
}

/* An optional byte string: a presence byte and a 2-byte vector. */
static int get_opt(pqt_reader *r, const uint8_t **p, size_t *n)
{
    uint8_t has = 0;
    pqt_reader v;
    int ret = pqt_reader_u8(r, &has);
    if (ret == 0) {
        ret = pqt_reader_vec(r, 2, &v);
    }
    if (ret == 0) {
        *p = has ? v.p : NULL;
        *n = has ? pqt_reader_left(&v) : 0;
    }
    return ret;
}

/* Unpack ch_copy into ch (pointers into copy) and JA4_r. */
static int ch_unpack(const uint8_t *copy, size_t len, pqt_client_hello *ch, const char **ja4_r)
{
    pqt_reader r = pqt_reader_make(copy, len);
    uint8_t n = 0;
    memset(ch, 0, sizeof(*ch));
    PQT_TRY(pqt_reader_u16(&r, &ch->legacy_version));
    PQT_TRY(get_list16(&r, &ch->cipher_suites, &ch->n_cipher_suites));
    PQT_TRY(get_list16(&r, &ch->versions, &ch->n_versions));
    PQT_TRY(get_list16(&r, &ch->groups, &ch->n_groups));
    PQT_TRY(get_list16(&r, &ch->sig_algs, &ch->n_sig_algs));
    PQT_TRY(get_opt(&r, &ch->sni, &ch->sni_len));
    PQT_TRY(get_opt(&r, &ch->alpn, &ch->alpn_len));
    PQT_TRY(pqt_reader_u8(&r, &n));
    if (n > PQT_HELLO_MAX_EXTENSIONS) {
        return PQT_ERR_LENGTH;
    }
    for (ch->n_ext = 0; ch->n_ext < n; ch->n_ext++) {
        PQT_TRY(pqt_reader_u16(&r, &ch->ext[ch->n_ext].type));
    }
    PQT_TRY(pqt_reader_u8(&r, &n));
    if (n > PQT_HELLO_MAX_KEY_SHARES) {
        return PQT_ERR_LENGTH;
    }
    for (ch->n_key_shares = 0; ch->n_key_shares < n; ch->n_key_shares++) {
        pqt_key_share *ks = &ch->key_shares[ch->n_key_shares];
        PQT_TRY(pqt_reader_u16(&r, &ks->group));
        PQT_TRY(pqt_reader_u16(&r, &ks->len));
    }
    /* JA4_r: the rest, NUL-terminated. */
    size_t left = pqt_reader_left(&r);
    if (left == 0 || r.p[left - 1] != 0) {
        return PQT_ERR_SYNTAX;
    }
    *ja4_r = (const char *)r.p;
    return 0;
}

/* ---- flow table ---- */

/*
 * The flow's hash: SipHash-1-3 (siphash.h) under the observer's random
 * per-run key, of the two endpoints in a canonical order (the smaller
 * endpoint word first), so both directions give the same value, and
 * nobody who cannot read the key can pick addresses and ports that share a
 * bucket. The unkeyed FNV-1a this replaces let crafted traffic put every
 * flow in one chain (docs/performance.md, "Flow table under colliding
 * flows"). The endpoints go in as 64-bit words (an IPv4 endpoint is one,
 * an IPv6 one two plus the ports), which keeps the hash near the cost of
 * the FNV-1a it replaced. Any fixed order of the endpoints would do: the
 * words are compared as the machine loads them.
 */
static uint32_t flow_hash(const pqt_obs *o, uint8_t ipv, const uint8_t *a, uint16_t pa,
                          const uint8_t *b, uint16_t pb)
{
    uint64_t w[5];
    size_t n;
    if (ipv == 4) {
        uint32_t xa, xb;
        memcpy(&xa, a, 4);
        memcpy(&xb, b, 4);
        uint64_t ea = (uint64_t)xa << 16 | pa, eb = (uint64_t)xb << 16 | pb;
        w[0] = ea < eb ? ea : eb;
        w[1] = (ea < eb ? eb : ea) | (uint64_t)4 << 56;
        n = 2;
    } else {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8);
        memcpy(&a1, a + 8, 8);
        memcpy(&b0, b, 8);
        memcpy(&b1, b + 8, 8);
        int swap = a0 != b0 ? a0 > b0 : a1 != b1 ? a1 > b1 : pa > pb;
        w[0] = swap ? b0 : a0;
        w[1] = swap ? b1 : a1;
        w[2] = swap ? a0 : b0;
        w[3] = swap ? a1 : b1;
        w[4] = (uint64_t)(swap ? pb : pa) << 16 | (swap ? pa : pb) | (uint64_t)6 << 56;
        n = 5;
    }
    /* Buckets are at most 2^24 (pqt_obs_new): 32 bits of the 64 suffice. */
    return (uint32_t)obs_siphash13_words(o->hash_k, w, n);
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
    obs_hs *hs = f->hs;
    if (hs == NULL) {
        return;
    }
    if (hs->ch != NULL) {
        free(hs->ch);
        mem_give(o, hs->ch_len);
    }
    free(hs);
    mem_give(o, sizeof(*hs));
    f->hs = NULL;
}

static void stop_parsing(pqt_obs *o, obs_flow *f)
{
    for (int s = 0; s < 2; s++) {
        pqt_obs_tls_free(&f->tls[s], &o->budget);
        pqt_reasm_free(&f->re[s], &o->budget);
        f->re[s].stopped = 1;
        if (f->q != NULL) {
            pqt_quic_crypto_free(&f->q->cr[s], &o->budget);
            f->q->done_walking[s] = 1;
        }
    }
}

static void release_quic(pqt_obs *o, obs_flow *f)
{
    if (f->q != NULL) {
        stop_parsing(o, f);
        pqt_wipe(f->q->keys, sizeof(f->q->keys));
        free(f->q);
        mem_give(o, sizeof(*f->q));
        f->q = NULL;
    }
}

static void flow_remove(pqt_obs *o, obs_flow *f)
{
    obs_flow **pp = &o->buckets[f->hash & (o->nbuckets - 1)];
    while (*pp != f) {
        pp = &(*pp)->hnext;
    }
    *pp = f->hnext;
    if (o->cur == f) {
        o->cur = NULL;
    }
    lru_unlink(o, f);
    stop_parsing(o, f);
    release_quic(o, f);
    release_hs(o, f);
    free(f);
    mem_give(o, sizeof(*f));
    o->st.flows_active--;
}

/* The record of a flow's handshake, in o->out (valid until the next). */
static const pqt_obs_handshake *build_record(pqt_obs *o, const obs_flow *f, pqt_obs_outcome outcome)
{
    const obs_hs *h = f->hs;
    pqt_obs_handshake *hs = &o->out;
    int c = f->client < 0 ? 0 : f->client;
    memset(hs, 0, sizeof(*hs));
    hs->ts_us = h->ts_us;
    hs->ip_version = f->ipv;
    memcpy(hs->client, f->addr[c], 16);
    memcpy(hs->server, f->addr[1 - c], 16);
    hs->client_port = f->port[c];
    hs->server_port = f->port[1 - c];
    hs->client_ttl = f->ttl[c];
    hs->server_ttl = f->ttl[1 - c];
    if (f->proto == PQT_IPPROTO_UDP) {
        hs->transport = PQT_OBS_QUIC;
        hs->quic_version = f->q != NULL ? f->q->version : 0;
        hs->quic_initials = h->ch_records;
        hs->quic_datagrams = h->ch_segments;
        hs->quic_retry = h->quic_retry;
        hs->has_quic_close = h->has_quic_close;
        hs->quic_close_from_server = h->quic_close_from_server;
        hs->quic_close_code = h->quic_close_code;
    }
    memcpy(hs->vlan, f->vlan, sizeof(hs->vlan));
    hs->n_vlan = f->n_vlan;
    hs->ch_err = h->ch_err;
    hs->ch_size = h->ch_size;
    hs->ch_segments = h->ch_segments;
    hs->ch_records = h->ch_records;
    if (h->has_ch && h->ch != NULL && ch_unpack(h->ch, h->ch_len, &hs->ch, &hs->ja4_r) == 0) {
        hs->has_ch = 1;
        memcpy(hs->ja4, h->ja4, sizeof(hs->ja4));
    }
    hs->client_family = h->client_family != NULL ? h->client_family : "unknown";
    hs->client_library = (pqt_obs_library)h->client_library;
    hs->family_basis = (pqt_obs_basis)h->family_basis;
    const obs_tls_dir *srv = &f->tls[1 - c];
    pqt_obs_app_protocol answer = PQT_OBS_APP_UNKNOWN;
    if (h->app == PQT_OBS_APP_UNKNOWN && !h->has_sh && srv->mode == OBS_TLS_SCAN &&
        srv->scan != NULL) {
        /* No TLS from the server: does its plaintext answer name a
         * protocol (a banner where TLS was expected)? */
        answer = pqt_obs_app_from_preamble(NULL, 0, srv->scan, srv->scan_len, NULL);
    }
    if (h->app != PQT_OBS_APP_UNKNOWN) {
        hs->app_protocol = (pqt_obs_app_protocol)h->app;
        hs->app_source = PQT_OBS_APP_BY_PREAMBLE;
    } else if (answer != PQT_OBS_APP_UNKNOWN) {
        hs->app_protocol = answer;
        hs->app_source = PQT_OBS_APP_BY_ANSWER;
    } else {
        hs->app_protocol = pqt_obs_app_direct(
            hs->has_ch ? &hs->ch : NULL, h->connect_port != 0 ? h->connect_port : hs->server_port,
            o->cfg.app_ports, o->cfg.n_app_ports, &hs->app_source);
    }
    memcpy(hs->retry_key_share, h->retry_key_share, sizeof(hs->retry_key_share));
    hs->n_retry_key_share = h->n_retry_key_share;
    hs->has_sh = h->has_sh;
    hs->server_version = h->server_version;
    hs->cipher = h->cipher;
    hs->group_source = h->group_source;
    hs->group = h->group;
    hs->hrr = h->hrr;
    hs->hrr_group = h->hrr_group;
    hs->outcome = outcome;
    hs->alert_from_server = h->alert_from_server;
    hs->alert_level = h->alert_level;
    hs->alert_desc = h->alert_desc;
    hs->closed_by_server = h->closed_by_server;
    hs->anomalies = h->anomalies | f->anomalies;
    return hs;
}

/* Report the handshake with its outcome; the flow stays (DONE) so later
 * packets of the connection are not taken for a new one. */
static void emit(pqt_obs *o, obs_flow *f, pqt_obs_outcome outcome)
{
    if (f->state != FLOW_ACTIVE) {
        return;
    }
    f->state = FLOW_DONE;
    if (f->hs != NULL) {
        const pqt_obs_handshake *hs = build_record(o, f, outcome);
        o->st.handshakes++;
        o->st.outcomes[outcome]++;
        if (o->cfg.on_handshake != NULL) {
            o->cfg.on_handshake(hs, o->cfg.arg);
        }
    }
    stop_parsing(o, f);
    release_hs(o, f);
}

/*
 * Did the server answer the ClientHello? Its ServerHello, a
 * HelloRetryRequest, an alert that did not end the handshake, or any
 * other bytes since the ClientHello began. An answer that does not start
 * with a TLS record (a plaintext banner or error, garbage) is marked
 * server_not_tls: its first 6 bytes were searched for a record header and
 * none starts there (tlsstream.c).
 */
static int server_answered(obs_flow *f)
{
    if (f->sh_seen) {
        return 1;
    }
    if (f->srv_answer >= 6 && f->client >= 0 && f->tls[1 - f->client].mode == OBS_TLS_SCAN) {
        f->anomalies |= PQT_OBS_A_SERVER_NOT_TLS;
    }
    return f->srv_answer > 0;
}

/*
 * Did the server send bytes the capture lacks? The TCP numbers say so when
 * the client acknowledged more of the server's stream than was seen, or
 * the server's own RST or FIN (p, when from_server) starts after the last
 * byte seen: a lost alert then looks like silence, and a reset after it
 * like the middlebox signature. One sequence number is allowed for a FIN;
 * a distance beyond the reassembly window is no evidence (a stale ISN).
 */
static int server_bytes_missing(const obs_flow *f, const pqt_packet *p, int from_server)
{
    if (f->client < 0) {
        return 0;
    }
    const pqt_reasm *srv = &f->re[1 - f->client], *cli = &f->re[f->client];
    uint32_t end;
    if (!srv->anchored) {
        return 0;
    }
    if (from_server && p != NULL) {
        end = p->seq + (uint32_t)p->payload_len;
    } else if (cli->ack_valid) {
        end = cli->last_ack;
    } else {
        return 0;
    }
    int32_t d = (int32_t)(end - srv->next_seq);
    return d > 1 && d <= (1 << 24);
}

/*
 * The outcome of a connection reset (rst) or closed before the handshake
 * completed. *_after_client_hello only when the server sent nothing at all
 * since the ClientHello: the broken-middlebox signature. After any answer
 * it is reset or closed; with the answer missing from the capture, gap.
 */
static pqt_obs_outcome ended_early(pqt_obs *o, obs_flow *f, int rst, const pqt_packet *p,
                                   int from_server)
{
    if (server_answered(f)) {
        return rst ? PQT_OBS_RESET : PQT_OBS_CLOSED;
    }
    if (server_bytes_missing(f, p, from_server)) {
        f->anomalies |= PQT_OBS_A_GAP;
        o->st.reassembly_gaps++;
        return PQT_OBS_GAP;
    }
    return rst ? PQT_OBS_RESET_AFTER_CH : PQT_OBS_CLOSED_AFTER_CH;
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
    if (f->q != NULL && f->q->unknown) {
        /* A version we cannot read that the server did not negotiate
         * away: nothing to report (it may not even have been QUIC). */
        o->st.flows--;
        f->state = FLOW_DONE;
        stop_parsing(o, f);
        return;
    }
    if (f->q != NULL) {
        /* QUIC has no RST or FIN: a server that sent nothing is named. */
        emit(o, f, !f->q->server_sent && why != PQT_OBS_EVICTED ? PQT_OBS_NO_ANSWER : why);
        return;
    }
    if (f->fin_client) {
        emit(o, f, ended_early(o, f, 0, NULL, 0));
        return;
    }
    (void)server_answered(f); /* server_not_tls for a timeout or a truncated capture too */
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

/*
 * The memory budget lacks room: evict the least recently active flow but
 * the one a packet is being fed to (o->cur); an unfinished handshake is
 * reported as evicted. 0 when there is none left to evict.
 */
static int reclaim_memory(void *ctx, size_t need)
{
    pqt_obs *o = ctx;
    obs_flow *f = o->tail;
    (void)need;
    while (f != NULL && f == o->cur) {
        f = f->prev;
    }
    if (f == NULL) {
        return 0;
    }
    if (f->state == FLOW_ACTIVE) {
        o->st.flows_evicted++;
        o->st.flows_evicted_memory++;
        f->anomalies |= PQT_OBS_A_MEMORY;
        settle(o, f, PQT_OBS_EVICTED);
    }
    flow_remove(o, f);
    return 1;
}

/* The flow of packet p, or NULL; *hash is the packet's flow hash either way
 * (flow_new takes it, so that a new flow is hashed once). */
static obs_flow *flow_find(pqt_obs *o, const pqt_packet *p, int *side, uint32_t *hash)
{
    size_t n = p->ip_version == 4 ? 4 : 16;
    uint8_t proto = p->proto == PQT_IPPROTO_UDP ? PQT_IPPROTO_UDP : PQT_IPPROTO_TCP;
    uint32_t h = flow_hash(o, p->ip_version, p->src, p->sport, p->dst, p->dport);
    *hash = h;
    for (obs_flow *f = o->buckets[h & (o->nbuckets - 1)]; f != NULL; f = f->hnext) {
        if (f->hash != h || f->ipv != p->ip_version || f->proto != proto) {
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

static obs_flow *flow_new(pqt_obs *o, const pqt_packet *p, uint32_t hash)
{
    if (o->st.flows_active >= o->cfg.max_flows) {
        evict_one(o);
    }
    obs_flow *f = NULL;
    if (!mem_take(o, sizeof(*f))) {
        return NULL; /* not reached: pqt_obs_new left room for a flow */
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        mem_give(o, sizeof(*f));
        return NULL;
    }
    f->ipv = p->ip_version;
    memcpy(f->addr[0], p->src, 16);
    memcpy(f->addr[1], p->dst, 16);
    f->port[0] = p->sport;
    f->port[1] = p->dport;
    f->client = -1;
    f->obs = o;
    f->hash = hash;
    f->proto = p->proto == PQT_IPPROTO_UDP ? PQT_IPPROTO_UDP : PQT_IPPROTO_TCP;
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

/*
 * The client's first record starts: name the application protocol from
 * the cleartext before it, the client's (pre) and the server's so far.
 * The server has not started TLS yet, so its bytes are all in its
 * direction's search window (tlsstream.c); nothing is copied or kept but
 * the answer.
 */
static void note_preamble(obs_flow *f, obs_hs *hs, int side, const uint8_t *pre, size_t n)
{
    const obs_tls_dir *srv = &f->tls[1 - side];
    const uint8_t *s = NULL;
    size_t sn = 0;
    if (srv->mode == OBS_TLS_SCAN && srv->scan != NULL) {
        s = srv->scan;
        sn = srv->scan_len;
    }
    if (n == 0 && sn == 0) {
        return;
    }
    hs->app = (uint8_t)pqt_obs_app_from_preamble(pre, n, s, sn, &hs->connect_port);
    if (n == 0 && sn > 0) {
        /* The server spoke first and the client sent its ClientHello
         * without a word of the dialogue (a direct probe of a STARTTLS
         * port): that greeting is the only answer it will get, and a reset
         * that follows is no middlebox's. */
        f->srv_answer = (uint8_t)(sn < 255 ? sn : 255);
    }
}

static void ev_start(void *ctx, int side, int role, const uint8_t *pre, size_t preamble)
{
    obs_flow *f = ctx;
    if (f->client < 0) {
        f->client = (int8_t)(role == OBS_ROLE_CLIENT ? side : 1 - side);
    }
    if (preamble > 0) {
        f->anomalies |= PQT_OBS_A_PREAMBLE;
    }
    if (role == OBS_ROLE_CLIENT && f->hs == NULL && f->client == side) {
        pqt_obs *o = f->obs;
        if (mem_take(o, sizeof(*f->hs))) {
            f->hs = calloc(1, sizeof(*f->hs));
            if (f->hs == NULL) {
                mem_give(o, sizeof(*f->hs));
            }
        }
        if (f->hs != NULL) {
            f->hs->ts_us = f->last_us;
            note_preamble(f, f->hs, side, pre, preamble);
        } else {
            /* Only when this one flow holds all the memory (its buffers). */
            o->st.reassembly_budget_giveups++;
            f->anomalies |= PQT_OBS_A_BUDGET;
        }
        f->ch_started = 1;
    }
}

/* The first ClientHello was not kept: too large, or not buffered. */
static void ch_not_kept(pqt_obs *o, obs_hs *hs, uint32_t len, int what)
{
    if (what == OBS_HS_TOO_BIG || len > OBS_HELLO_MAX) {
        hs->anomalies |= PQT_OBS_A_HELLO_TOO_BIG;
        o->st.hellos_too_big++;
    } else {
        hs->anomalies |= PQT_OBS_A_BUDGET;
        o->st.reassembly_budget_giveups++;
    }
}

/*
 * A handshake message is being reassembled. For the first ClientHello the
 * size its header claims is known now, and whether it will be read: a hello
 * that never completes (a 16 MB claim in a capture that ends) still says
 * how large it claimed to be and why it was not parsed.
 */
static void ev_hs_begin(void *ctx, int side, uint8_t type, uint32_t len, int what)
{
    obs_flow *f = ctx;
    pqt_obs *o = f->obs;
    obs_hs *hs = f->hs;
    if (hs != NULL && side == f->client && type == PQT_TLS_HS_CLIENT_HELLO &&
        hs->ch_state == CH_NONE) {
        hs->ch_state = CH_BEGUN;
        if (what == OBS_HS_TOO_BIG || what == OBS_HS_BUDGET) {
            hs->ch_size = len;
            hs->ch_noted = 1;
            ch_not_kept(o, hs, len, what);
        }
    } else if (what == OBS_HS_BUDGET) {
        /* A ServerHello, a ServerKeyExchange or a second ClientHello the
         * buffer budget could not hold. */
        o->st.reassembly_budget_giveups++;
        f->anomalies |= PQT_OBS_A_BUDGET;
    }
}

/* Parse the first ClientHello from body (in place: a segment, or the
 * reassembly buffer) and keep its compact copy. */
static void first_client_hello(pqt_obs *o, obs_hs *hs, const uint8_t *body, uint32_t len,
                               char transport)
{
    pqt_client_hello ch;
    char ja4_r[JA4_R_MAX];
    int err = pqt_hello_parse_client(body, len, &ch);
    if (err != 0) {
        hs->ch_err = err;
        return;
    }
    if (pqt_ja4(&ch, transport, hs->ja4, ja4_r, sizeof(ja4_r)) != 0) {
        hs->ja4[0] = 0;
        ja4_r[0] = 0;
    }
    size_t n = ch_copy_len(&ch, strlen(ja4_r));
    uint8_t *copy = NULL;
    if (mem_take(o, n)) {
        copy = malloc(n);
        if (copy == NULL) {
            mem_give(o, n);
        }
    }
    if (copy == NULL || ch_copy(&ch, ja4_r, copy, n) != 0) {
        /* Only when this one flow holds all the memory: said, not hidden. */
        if (copy != NULL) {
            free(copy);
            mem_give(o, n);
        }
        hs->ja4[0] = 0;
        hs->anomalies |= PQT_OBS_A_BUDGET;
        o->st.reassembly_budget_giveups++;
        return;
    }
    hs->ch = copy;
    hs->ch_len = n;
    hs->has_ch = 1;
    /* The family from the whole hello (extension bodies too), while it
     * is still here: the compact copy keeps only what the outputs read. */
    pqt_obs_family_match m;
    pqt_obs_family_classify(o->cfg.families, &ch, hs->ja4, &m);
    hs->client_family = m.family;
    hs->client_library = (uint8_t)m.library;
    hs->family_basis = (uint8_t)m.basis;
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

static void ev_handshake(void *ctx, int side, uint8_t type, const uint8_t *body, uint32_t len,
                         uint32_t kept, unsigned segs, unsigned recs)
{
    obs_flow *f = ctx;
    pqt_obs *o = f->obs;
    obs_hs *hs = f->hs;
    if (hs == NULL) {
        /* Before any ClientHello: only note a lone ServerHello. */
        if (type == PQT_TLS_HS_SERVER_HELLO) {
            f->sh_seen = 1;
        }
        return;
    }
    int from_client = side == f->client;
    if (from_client && type == PQT_TLS_HS_CLIENT_HELLO) {
        if (hs->ch_state != CH_DONE) {
            hs->ch_state = CH_DONE;
            hs->ch_size = len;
            hs->ch_segments = segs;
            hs->ch_records = recs;
            if (body == NULL || kept < len) {
                if (!hs->ch_noted) {
                    ch_not_kept(o, hs, len, OBS_HS_BUDGET);
                }
                return;
            }
            first_client_hello(o, hs, body, len,
                               f->proto == PQT_IPPROTO_UDP ? PQT_JA4_QUIC : PQT_JA4_TCP);
            return;
        }
        if (hs->hrr && hs->n_retry_key_share == 0 && body != NULL && kept == len) {
            pqt_client_hello ch2;
            if (pqt_hello_parse_client(body, len, &ch2) == 0) {
                for (size_t i = 0; i < ch2.n_key_shares; i++) {
                    hs->retry_key_share[hs->n_retry_key_share++] = ch2.key_shares[i].group;
                }
            }
        }
        return;
    }
    if (from_client) {
        return;
    }
    if (type == PQT_TLS_HS_SERVER_HELLO && body != NULL && kept == len && !hs->has_sh) {
        pqt_server_hello sh;
        if (pqt_hello_parse_server(body, len, &sh) != 0) {
            hs->anomalies |= PQT_OBS_A_SH_MALFORMED;
            f->sh_seen = 1;
            return;
        }
        if (sh.is_hrr) {
            hs->hrr = 1;
            hs->hrr_group = sh.has_key_share ? sh.key_share_group : 0;
            return;
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
}

static void ev_alert(void *ctx, int side, uint8_t level, uint8_t desc)
{
    obs_flow *f = ctx;
    obs_hs *hs = f->hs;
    if (hs == NULL) {
        return;
    }
    /* RFC 8446 §6: a fatal alert ends the connection; so does close_notify
     * before the handshake completed. Warnings (tls-early-alert's 112) do not. */
    if (level == 2 || desc == 0) {
        hs->alert_from_server = (uint8_t)(side != f->client);
        hs->alert_level = level;
        hs->alert_desc = desc;
        emit(f->obs, f, PQT_OBS_ALERT);
    }
}

static int ev_record(void *ctx, int side, uint8_t type)
{
    obs_flow *f = ctx;
    obs_hs *hs = f->hs;
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
    if (why == OBS_LOST_GAP) {
        f->lost_gap = 1;
        f->anomalies |= PQT_OBS_A_GAP;
    } else if (why == OBS_LOST_BUDGET) {
        /* No room to search the stream's first bytes for a record. */
        f->lost_gap = 1;
        f->anomalies |= PQT_OBS_A_BUDGET;
        o->st.reassembly_budget_giveups++;
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
    if (f->hs != NULL && side != f->client && f->srv_answer < 255) {
        f->srv_answer = (uint8_t)(n < 255u - f->srv_answer ? f->srv_answer + n : 255u);
    }
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

/* ---- QUIC (pqtls/quic.h) ---- */

/* What one Initial packet's frames did, for the packet's caller. */
typedef struct {
    obs_flow *f;
    int side;
    int closed;
    uint64_t code;
    int app;
} quic_frame_ctx;

static void quic_on_crypto(void *ctx, uint64_t off, const uint8_t *p, size_t n)
{
    quic_frame_ctx *c = ctx;
    obs_flow *f = c->f;
    pqt_obs *o = f->obs;
    if (f->q->done_walking[c->side]) {
        return; /* the stream is past what the observer reads */
    }
    unsigned bits =
        pqt_quic_crypto_add(&f->q->cr[c->side], &o->budget, QUIC_CRYPTO_LIMIT, off, p, n);
    /* The anomaly bits, not the segment counters: out-of-order and
     * repeated CRYPTO data is what Chromium sends on purpose. */
    if (bits & PQT_QUIC_C_OUT_OF_ORDER) {
        f->anomalies |= PQT_OBS_A_OUT_OF_ORDER;
    }
    if (bits & PQT_QUIC_C_OVERLAP) {
        f->anomalies |= PQT_OBS_A_OVERLAP;
    }
    if (bits & (PQT_QUIC_C_BUDGET | PQT_QUIC_C_RANGES)) {
        /* Not buffered: a hole the handshake may never get past. */
        f->anomalies |= PQT_OBS_A_BUDGET;
        o->st.reassembly_budget_giveups++;
    }
}

static void quic_on_close(void *ctx, uint64_t code, int app)
{
    quic_frame_ctx *c = ctx;
    if (!c->closed) {
        c->closed = 1;
        c->code = code;
        c->app = app;
    }
}

/*
 * Hand the complete handshake messages at the start of a direction's
 * CRYPTO stream to the same handshake logic as TLS over TCP: the first
 * ClientHello (then a second one after a HelloRetryRequest) from the
 * client, the ServerHello from the server. The "segments" and "records"
 * of a message are the datagrams and Initial packets of that side so far.
 */
static void quic_walk(obs_flow *f, int side)
{
    obs_quic *q = f->q;
    pqt_quic_crypto *c = &q->cr[side];
    while (f->state == FLOW_ACTIVE && !q->done_walking[side] && c->contig >= q->walked[side] + 4) {
        pqt_reader r = pqt_reader_make(c->buf + q->walked[side], c->contig - q->walked[side]);
        uint8_t type = 0;
        uint32_t len = 0;
        const uint8_t *body = NULL;
        if (pqt_reader_u8(&r, &type) != 0 || pqt_reader_u24(&r, &len) != 0) {
            return;
        }
        obs_hs *hs = f->hs;
        int first_ch = hs != NULL && side == f->client && type == PQT_TLS_HS_CLIENT_HELLO &&
                       hs->ch_state == CH_NONE;
        if ((size_t)len + 4 > QUIC_CRYPTO_LIMIT - q->walked[side]) {
            /* Beyond what is kept: it can never be read whole. */
            ev_hs_begin(f, side, type, len, OBS_HS_TOO_BIG);
            ev_handshake(f, side, type, NULL, len, 0, q->datagrams[side], q->initials[side]);
            q->done_walking[side] = 1;
            return;
        }
        if (pqt_reader_bytes(&r, len, &body) != 0) {
            if (first_ch) {
                hs->ch_size = len; /* claimed: said even if it never completes */
            }
            return;
        }
        q->walked[side] += 4 + (size_t)len;
        ev_handshake(f, side, type, body, len, len, q->datagrams[side], q->initials[side]);
    }
}

/* A new connection on the addresses and ports of a finished one: a client
 * Initial to a Destination Connection ID that neither the old client chose
 * nor the old server gave. */
static int quic_new_connection(const obs_flow *f, int side, const pqt_quic_header *h)
{
    const obs_quic *q = f->q;
    if (q == NULL || side != f->client || h->type != PQT_QUIC_PKT_INITIAL) {
        return q == NULL && h->type == PQT_QUIC_PKT_INITIAL;
    }
    int old = (h->dcid_len == q->odcid_len && memcmp(h->dcid, q->odcid, h->dcid_len) == 0) ||
              (h->dcid_len == q->kcid_len && memcmp(h->dcid, q->kcid, h->dcid_len) == 0) ||
              (q->has_srv_cid && h->dcid_len == q->srv_cid_len &&
               memcmp(h->dcid, q->srv_cid, h->dcid_len) == 0);
    return !old;
}

/* The outcome of a CONNECTION_CLOSE in an Initial packet. */
static void quic_closed(pqt_obs *o, obs_flow *f, int from_client, const quic_frame_ctx *c)
{
    obs_hs *hs = f->hs;
    if (hs == NULL) {
        return;
    }
    hs->has_quic_close = 1;
    hs->quic_close_code = c->code;
    hs->quic_close_from_server = (uint8_t)!from_client;
    if (!c->app && c->code >= 0x100 && c->code <= 0x1ff) {
        /* RFC 9001 §4.8: "0x100 + the TLS alert": the handshake's alert. */
        hs->alert_from_server = (uint8_t)!from_client;
        hs->alert_level = 2;
        hs->alert_desc = (uint8_t)(c->code - 0x100);
        emit(o, f, PQT_OBS_ALERT);
        return;
    }
    hs->closed_by_server = (uint8_t)!from_client;
    emit(o, f, f->q->server_sent ? PQT_OBS_CLOSED : PQT_OBS_CLOSED_AFTER_CH);
}

/* Open one Initial packet and follow its frames. 0 when it decrypted. */
static int quic_initial(pqt_obs *o, obs_flow *f, int side, const uint8_t *p,
                        const pqt_quic_header *h, int *counted)
{
    obs_quic *q = f->q;
    uint64_t pn = 0;
    const uint8_t *pl = NULL;
    size_t pll = 0;
    int from_client = side == f->client;
    if (h->version != q->version || h->len > QUIC_BUF) {
        o->st.quic_undecryptable++;
        return PQT_ERR_UNSUPPORTED;
    }
    int ret =
        pqt_quic_open(o->qop, &q->keys[side], p, h, q->largest[side], o->qbuf, &pn, &pl, &pll);
    if (ret != 0) {
        o->st.quic_undecryptable++;
        return ret;
    }
    o->st.quic_initials++;
    if ((int64_t)pn > q->largest[side]) {
        q->largest[side] = (int64_t)pn;
    }
    if (!*counted) {
        q->datagrams[side]++;
        *counted = 1;
    }
    q->initials[side]++;
    if (!from_client) {
        q->server_sent = 1;
        if (!q->has_srv_cid) {
            q->has_srv_cid = 1;
            q->srv_cid_len = h->scid_len;
            memcpy(q->srv_cid, h->scid, h->scid_len);
        }
    }
    quic_frame_ctx c = {f, side, 0, 0, 0};
    pqt_quic_frame_sink sink = {quic_on_crypto, quic_on_close, &c};
    if (pqt_quic_frames(pl, pll, &sink, NULL) != 0) {
        o->st.decode_errors++; /* the frames before the bad one were read */
    }
    quic_walk(f, side);
    if (c.closed && f->state == FLOW_ACTIVE) {
        quic_closed(o, f, from_client, &c);
    }
    return 0;
}

/* The packets of one datagram, coalesced (RFC 9000 §12.2). */
static void quic_datagram(pqt_obs *o, obs_flow *f, int side, const uint8_t *p, size_t n)
{
    obs_quic *q = f->q;
    int from_client = side == f->client, counted = 0;
    while (n > 0 && f->state == FLOW_ACTIVE) {
        pqt_quic_header h;
        if (pqt_quic_parse_header(p, n, &h) != 0) {
            o->st.decode_errors++;
            return;
        }
        switch (h.type) {
        case PQT_QUIC_PKT_VN:
            /* RFC 9000 §6.2: only before any other packet from the server;
             * §17.2.1: its Source Connection ID is the client's DCID. */
            if (!from_client && !q->server_sent && h.scid_len == q->odcid_len &&
                memcmp(h.scid, q->odcid, h.scid_len) == 0) {
                q->server_sent = 1;
                emit(o, f, PQT_OBS_VERSION_NEGOTIATION);
            }
            return;
        case PQT_QUIC_PKT_RETRY:
            /* RFC 9000 §17.2.5.2: one Retry at most, before any Initial
             * from the server; the client's next Initials go to the Retry's
             * Source Connection ID, and the keys of both sides follow it. */
            if (!from_client && !q->server_sent && f->hs != NULL && !f->hs->quic_retry &&
                h.version == q->version &&
                pqt_quic_initial_keys(q->version, h.scid, h.scid_len, &q->keys[f->client],
                                      &q->keys[1 - f->client]) == 0) {
                f->hs->quic_retry = 1;
                q->kcid_len = h.scid_len;
                memcpy(q->kcid, h.scid, h.scid_len);
            }
            break;
        case PQT_QUIC_PKT_INITIAL:
            (void)quic_initial(o, f, side, p, &h, &counted);
            break;
        case PQT_QUIC_PKT_HANDSHAKE:
        case PQT_QUIC_PKT_SHORT:
            if (!from_client) {
                q->server_sent = 1;
            }
            q->handshake_seen[side] = 1;
            /* The client protects packets with the handshake keys (its
             * Finished) or the 1-RTT keys only after it read the
             * ServerHello: the handshake went through. */
            if (f->hs != NULL && f->hs->has_sh && (from_client || h.type == PQT_QUIC_PKT_SHORT)) {
                emit(o, f, PQT_OBS_COMPLETED);
            }
            break;
        default:
            break;
        }
        p += h.len;
        n -= h.len;
    }
}

/* The observer's QUIC scratch state, made at the first QUIC datagram. */
static int quic_ready(pqt_obs *o)
{
    if (o->qop != NULL) {
        return 1;
    }
    if (!mem_take(o, QUIC_BUF)) {
        return 0;
    }
    o->qbuf = malloc(QUIC_BUF);
    if (o->qbuf == NULL || pqt_quic_opener_new(&o->qop) != 0) {
        free(o->qbuf);
        o->qbuf = NULL;
        mem_give(o, QUIC_BUF);
        return 0;
    }
    return 1;
}

/*
 * A UDP datagram. Only a client Initial of QUIC v1 or v2 opens a flow
 * (RFC 9000 §14.1: in a datagram of at least 1200 bytes; §7.2: with a
 * Destination Connection ID of at least 8 bytes), and the flow is dropped
 * again, unreported, when its first datagram held no Initial that
 * decrypted: other UDP traffic costs a header check and nothing else.
 */
static void obs_datagram(pqt_obs *o, uint64_t ts_us, const pqt_packet *p)
{
    int side = 0;
    uint32_t hash;
    pqt_quic_header h;
    if (p->payload_len == 0) {
        o->st.not_tcp++;
        return;
    }
    obs_flow *f = flow_find(o, p, &side, &hash);
    int parsed = pqt_quic_parse_header(p->payload, p->payload_len, &h) == 0;
    if (f != NULL && parsed && quic_new_connection(f, side, &h) && h.dcid_len >= 8 &&
        p->payload_len >= 1200) {
        /* A new connection on the addresses and ports of an earlier one:
         * the client gave up on that one (settled as if it had gone idle:
         * no_answer when the server never spoke) and started again. */
        if (f->state == FLOW_ACTIVE) {
            o->cur = f;
            settle(o, f, PQT_OBS_TIMEOUT);
        }
        flow_remove(o, f);
        f = NULL;
    }
    if (f == NULL) {
        /* A client's first Initial, or the same under a version we have
         * no keys for: kept to see whether the server negotiates it away. */
        int unknown = parsed && h.type == PQT_QUIC_PKT_UNKNOWN;
        if (!parsed || (h.type != PQT_QUIC_PKT_INITIAL && !unknown) || h.dcid_len < 8 ||
            p->payload_len < 1200) {
            o->st.not_tcp++;
            return;
        }
        if (!quic_ready(o)) {
            return;
        }
        f = flow_new(o, p, hash);
        if (f == NULL) {
            return;
        }
        f->first_us = ts_us;
        o->cur = f; /* the reservations below evict other flows only */
        side = 0;
        f->client = 0;
        if (mem_take(o, sizeof(*f->q))) {
            f->q = calloc(1, sizeof(*f->q));
            if (f->q == NULL) {
                mem_give(o, sizeof(*f->q));
            }
        }
        if (mem_take(o, sizeof(*f->hs))) {
            f->hs = calloc(1, sizeof(*f->hs));
            if (f->hs == NULL) {
                mem_give(o, sizeof(*f->hs));
            }
        }
        obs_quic *q = f->q;
        if (q == NULL || f->hs == NULL ||
            (!unknown &&
             pqt_quic_initial_keys(h.version, h.dcid, h.dcid_len, &q->keys[0], &q->keys[1]) != 0)) {
            flow_remove(o, f);
            o->st.reassembly_budget_giveups++;
            return;
        }
        f->hs->ts_us = ts_us;
        f->ch_started = 1;
        q->version = h.version;
        q->unknown = (uint8_t)unknown;
        q->odcid_len = q->kcid_len = h.dcid_len;
        memcpy(q->odcid, h.dcid, h.dcid_len);
        memcpy(q->kcid, h.dcid, h.dcid_len);
        q->largest[0] = q->largest[1] = -1;
    }
    o->st.quic_datagrams++;
    f->last_us = ts_us;
    o->cur = f;
    if (o->head != f) {
        lru_unlink(o, f);
        lru_push_front(o, f);
    }
    f->ttl[side] = p->ttl;
    if (p->payload_cut) {
        f->anomalies |= PQT_OBS_A_SNAPLEN;
        o->st.snaplen_cut++;
    }
    if (f->state != FLOW_ACTIVE || f->q == NULL) {
        return;
    }
    unsigned before = f->q->initials[side];
    quic_datagram(o, f, side, p->payload, p->payload_len);
    if (f->state == FLOW_ACTIVE && f->q->initials[0] + f->q->initials[1] == 0 && before == 0 &&
        !f->q->unknown) {
        /* Its first datagram did not decrypt: not a QUIC client Initial. */
        o->st.flows--;
        flow_remove(o, f);
    } else if (f->state != FLOW_ACTIVE) {
        /* Reported: nothing later in the connection changes the record
         * (Handshake and 1-RTT packets open no flow, and a late client
         * Initial to the server's connection ID does not decrypt), so the
         * flow goes now instead of holding memory until it is idle. */
        flow_remove(o, f);
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
    if (o->cfg.max_memory_bytes == 0) {
        o->cfg.max_memory_bytes = DEFAULT_MEMORY;
    }
    if (o->cfg.idle_timeout_us == 0) {
        o->cfg.idle_timeout_us = DEFAULT_IDLE_US;
    }
    o->mem.limit = o->cfg.max_memory_bytes;
    o->mem.reclaim = reclaim_memory;
    o->mem.reclaim_ctx = o;
    o->budget.limit = o->cfg.max_buffer_bytes;
    o->budget.parent = &o->mem;
    /* A bucket per flow that can be open: no more than the memory limit
     * holds flows (a flow costs at least its obs_flow). */
    size_t fit = o->cfg.max_memory_bytes / pqt_heap_cost(sizeof(obs_flow));
    size_t want = o->cfg.max_flows < fit ? o->cfg.max_flows : fit;
    o->nbuckets = 16;
    while (o->nbuckets < want && o->nbuckets < (1u << 24)) {
        o->nbuckets <<= 1;
    }
    /* The fixed part: this struct and the buckets. */
    size_t fixed = pqt_heap_cost(sizeof(*o)) + pqt_heap_cost(o->nbuckets * sizeof(*o->buckets));
    if (fixed > o->mem.limit || o->mem.limit - fixed < MIN_FLOW_ROOM) {
        free(o);
        return PQT_ERR_ARG; /* no room for flows beside the table */
    }
    o->mem.used = o->mem.peak = fixed;
    o->buckets = calloc(o->nbuckets, sizeof(*o->buckets));
    if (o->buckets == NULL) {
        free(o);
        return PQT_ERR_NOMEM;
    }
    if (pqt_random_bytes((uint8_t *)o->hash_k, sizeof(o->hash_k)) != 0) {
        free(o->buckets);
        free(o);
        return PQT_ERR_RANDOM;
    }
    o->ev.role = ev_role;
    o->ev.start = ev_start;
    o->ev.hs_begin = ev_hs_begin;
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
    o->cur = NULL;
    if (p->proto == PQT_IPPROTO_UDP) {
        obs_datagram(o, ts_us, p);
        return;
    }
    uint32_t hash;
    obs_flow *f = flow_find(o, p, &side, &hash);
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
        f = flow_new(o, p, hash);
        if (f == NULL) {
            return;
        }
        f->first_us = ts_us;
    }
    f->last_us = ts_us;
    o->cur = f; /* from here on the memory budget evicts other flows only */
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
            f->hs->closed_by_server = (uint8_t)from_server;
            emit(o, f, ended_early(o, f, 1, p, from_server));
        } else if (from_server) {
            f->hs->closed_by_server = 1;
            emit(o, f, ended_early(o, f, 0, p, 1));
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
        o->cur = f;
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
    o->cur = NULL;
}

const pqt_obs_stats *pqt_obs_get_stats(const pqt_obs *o)
{
    pqt_obs_stats *st = (pqt_obs_stats *)&o->st;
    st->buffered_bytes = o->budget.used;
    st->buffered_peak = o->budget.peak;
    st->memory_bytes = o->mem.used;
    st->memory_peak = o->mem.peak;
    st->memory_limit = o->mem.limit;
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
    free(o->qbuf);
    pqt_quic_opener_free(o->qop);
    pqt_wipe(o->hash_k, sizeof(o->hash_k));
    free(o);
}
