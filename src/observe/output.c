#define _POSIX_C_SOURCE 200809L
/*
 * JSON Lines records (schema PQT_OBS_SCHEMA, documented in docs/observe.md)
 * and the text forms every output shares: addresses, prefixes, group and
 * version names, hop estimates.
 *
 * Records are built in a stack buffer and handed to stdio in one fwrite
 * (or a few, for records above the buffer): on a handshake-heavy capture
 * the record writer was three quarters of the run time when every
 * character went through its own fwrite (bench/observe_bench.sh,
 * docs/performance.md). The output is byte for byte what the project's
 * streaming writer (pqtls/json.h) produces: same separators, same escapes
 * (quote and backslash escaped, control characters and bytes that are not
 * valid UTF-8 as \u00XX).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include "obs_output.h"
#include "pqtls/groups.h"
#include "pqtls/json.h"
#include "pqtls/names.h"
#include "pqtls/quic.h"

void pqt_obs_format_addr(uint8_t ip_version, const uint8_t addr[16], char *out, size_t cap)
{
    if (cap == 0) {
        return;
    }
    out[0] = 0;
    if (ip_version == 4 && cap >= 16) {
        /* Dotted decimal by hand: glibc's inet_ntop formats IPv4 with
         * sprintf, four times per record. Same text ("%u.%u.%u.%u"). */
        size_t n = 0;
        for (int i = 0; i < 4; i++) {
            unsigned v = addr[i];
            if (i > 0) {
                out[n++] = '.';
            }
            if (v >= 100) {
                out[n++] = (char)('0' + v / 100);
            }
            if (v >= 10) {
                out[n++] = (char)('0' + v / 10 % 10);
            }
            out[n++] = (char)('0' + v % 10);
        }
        out[n] = 0;
        return;
    }
    if (inet_ntop(ip_version == 4 ? AF_INET : AF_INET6, addr, out, (socklen_t)cap) == NULL) {
        snprintf(out, cap, "?");
    }
}

/* out = addr "/" plen; out has room (addresses are < 64 bytes, out 72). */
static void format_prefix(const char *addr, unsigned plen, char out[72])
{
    size_t n = strlen(addr);
    if (n > 64) {
        n = 64;
    }
    memcpy(out, addr, n);
    out[n++] = '/';
    if (plen >= 100) {
        out[n++] = (char)('0' + plen / 100 % 10);
    }
    if (plen >= 10) {
        out[n++] = (char)('0' + plen / 10 % 10);
    }
    out[n++] = (char)('0' + plen % 10);
    out[n] = 0;
}

int pqt_obs_hops(uint8_t ttl)
{
    /* Common initial TTLs: 64 (Linux, macOS), 128 (Windows), 255 (network
     * gear), 32 (old stacks). The smallest one not below ttl is assumed. */
    static const int initial[] = {32, 64, 128, 255};
    if (ttl == 0) {
        return -1;
    }
    for (size_t i = 0; i < 4; i++) {
        if (ttl <= initial[i]) {
            return initial[i] - ttl;
        }
    }
    return -1;
}

static const struct {
    unsigned bit;
    const char *name;
} anomaly_names[] = {
    {PQT_OBS_A_MIDSTREAM, "midstream"},
    {PQT_OBS_A_RETRANSMIT, "retransmission"},
    {PQT_OBS_A_OUT_OF_ORDER, "out_of_order"},
    {PQT_OBS_A_OVERLAP, "overlap"},
    {PQT_OBS_A_GAP, "gap"},
    {PQT_OBS_A_HELLO_TOO_BIG, "hello_too_big"},
    {PQT_OBS_A_PREAMBLE, "preamble"},
    {PQT_OBS_A_SH_MALFORMED, "server_hello_malformed"},
    {PQT_OBS_A_BUDGET, "buffer_budget"},
    {PQT_OBS_A_SNAPLEN, "snaplen"},
    {PQT_OBS_A_MEMORY, "memory_limit"},
    {PQT_OBS_A_SERVER_NOT_TLS, "server_not_tls"},
};

int pqt_obs_view_init(obs_view *v, const pqt_obs_handshake *hs, const pqt_obs_output_opts *opts)
{
    uint8_t c[16], s[16];
    memset(v, 0, sizeof(*v));
    memcpy(c, hs->client, 16);
    memcpy(s, hs->server, 16);
    if (opts != NULL && opts->pseudonym != NULL) {
        int r1, r2;
        if (hs->ip_version == 4) {
            r1 = pqt_pseudonym_ipv4(opts->pseudonym, hs->client, c);
            r2 = pqt_pseudonym_ipv4(opts->pseudonym, hs->server, s);
        } else {
            r1 = pqt_pseudonym_ipv6(opts->pseudonym, hs->client, c);
            r2 = pqt_pseudonym_ipv6(opts->pseudonym, hs->server, s);
        }
        if (r1 != 0 || r2 != 0) {
            return r1 != 0 ? r1 : r2;
        }
        if (hs->has_ch && hs->ch.sni != NULL) {
            int r = pqt_pseudonym_name(opts->pseudonym, hs->ch.sni, hs->ch.sni_len, v->sni_pseudo);
            if (r != 0) {
                return r;
            }
            v->sni = (const uint8_t *)v->sni_pseudo;
            v->sni_len = strlen(v->sni_pseudo);
        }
    } else if (hs->has_ch && hs->ch.sni != NULL) {
        v->sni = hs->ch.sni;
        v->sni_len = hs->ch.sni_len;
    }
    pqt_obs_format_addr(hs->ip_version, c, v->client, sizeof(v->client));
    pqt_obs_format_addr(hs->ip_version, s, v->server, sizeof(v->server));
    unsigned plen = hs->ip_version == 4 ? (opts && opts->prefix_v4 ? opts->prefix_v4 : 24)
                                        : (opts && opts->prefix_v6 ? opts->prefix_v6 : 48);
    unsigned bits = hs->ip_version == 4 ? 32 : 128;
    if (plen > bits) {
        plen = bits;
    }
    for (unsigned i = plen; i < bits; i++) {
        c[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
        s[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
    }
    char a[64];
    pqt_obs_format_addr(hs->ip_version, c, a, sizeof(a));
    format_prefix(a, plen, v->client_prefix);
    pqt_obs_format_addr(hs->ip_version, s, a, sizeof(a));
    format_prefix(a, plen, v->server_prefix);
    return 0;
}

/* A 16-bit code point as the string "0x1234". */
static void hex16(pqt_json *j, uint16_t v)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t b[6] = {'0',        'x', hex[v >> 12], hex[(v >> 8) & 15], hex[(v >> 4) & 15],
                          hex[v & 15]};
    pqt_json_string_n(j, b, sizeof(b));
}

static void group_value(pqt_json *j, uint16_t g)
{
    const char *name = pqt_group_name(g);
    if (name != NULL) {
        pqt_json_string(j, name);
    } else if (pqt_tls_is_grease(g)) {
        pqt_json_string(j, "GREASE");
    } else {
        hex16(j, g);
    }
}

static void u16_list(pqt_json *j, const char *key, const uint8_t *list, size_t n, int groups,
                     int skip_grease)
{
    pqt_json_key(j, key);
    pqt_json_array_begin(j);
    for (size_t i = 0; i < n; i++) {
        uint16_t v = pqt_u16_at(list, i);
        if (skip_grease && pqt_tls_is_grease(v)) {
            continue;
        }
        if (groups) {
            group_value(j, v);
        } else {
            hex16(j, v);
        }
    }
    pqt_json_array_end(j);
}

/*
 * RFC 3339 UTC time with microseconds. The seconds are formatted by
 * gmtime_r/strftime once per second of capture time (records come in
 * capture order, so most share the second before), the microseconds by
 * hand.
 */
static void ts_string(uint64_t us, char out[40])
{
    static _Thread_local uint64_t cached_secs = UINT64_MAX;
    static _Thread_local char cached[32];
    static _Thread_local size_t cached_len;
    uint64_t secs = us / 1000000u;
    if (secs != cached_secs) {
        time_t t = (time_t)secs;
        struct tm tm;
        size_t n = 0;
        if (gmtime_r(&t, &tm) == NULL ||
            (n = strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
            memcpy(out, "1970-01-01T00:00:00.000000Z", 28);
            return; /* not cached: rare, and keeps the cache valid */
        }
        cached_secs = secs;
        cached_len = n;
    }
    unsigned frac = (unsigned)(us % 1000000u);
    memcpy(out, cached, cached_len);
    char *p = out + cached_len;
    *p++ = '.';
    for (int i = 5; i >= 0; i--) {
        p[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    p[6] = 'Z';
    p[7] = 0;
}

static void client_hello_fields(pqt_json *j, const pqt_obs_handshake *hs)
{
    const pqt_client_hello *ch = &hs->ch;
    char b[24];
    pqt_json_key(j, "alpn");
    pqt_json_array_begin(j);
    pqt_reader list = pqt_reader_make(ch->alpn, ch->alpn_len), name;
    while (ch->alpn != NULL && pqt_reader_vec(&list, 1, &name) == 0) {
        pqt_json_string_n(j, name.p, pqt_reader_left(&name));
    }
    pqt_json_array_end(j);
    pqt_json_key(j, "offered_versions");
    pqt_json_array_begin(j);
    if (ch->n_versions == 0) {
        pqt_tls_version_format(ch->legacy_version, b);
        pqt_json_string(j, b);
    }
    for (size_t i = 0; i < ch->n_versions; i++) {
        uint16_t v = pqt_u16_at(ch->versions, i);
        if (!pqt_tls_is_grease(v)) {
            pqt_tls_version_format(v, b);
            pqt_json_string(j, b);
        }
    }
    pqt_json_array_end(j);
    u16_list(j, "cipher_suites", ch->cipher_suites, ch->n_cipher_suites, 0, 0);
    u16_list(j, "offered_groups", ch->groups, ch->n_groups, 1, 1);
    pqt_json_key(j, "key_share_groups");
    pqt_json_array_begin(j);
    for (size_t i = 0; i < ch->n_key_shares; i++) {
        if (!pqt_tls_is_grease(ch->key_shares[i].group)) {
            group_value(j, ch->key_shares[i].group);
        }
    }
    pqt_json_array_end(j);
    pqt_json_key(j, "key_shares");
    pqt_json_array_begin(j);
    for (size_t i = 0; i < ch->n_key_shares; i++) {
        if (pqt_tls_is_grease(ch->key_shares[i].group)) {
            continue;
        }
        pqt_json_object_begin(j);
        pqt_json_key(j, "group");
        group_value(j, ch->key_shares[i].group);
        pqt_json_kv_int(j, "size", ch->key_shares[i].len);
        pqt_json_object_end(j);
    }
    pqt_json_array_end(j);
    u16_list(j, "signature_algorithms", ch->sig_algs, ch->n_sig_algs, 0, 1);
    pqt_json_key(j, "extensions");
    pqt_json_array_begin(j);
    for (size_t i = 0; i < ch->n_ext; i++) {
        hex16(j, ch->ext[i].type);
    }
    pqt_json_array_end(j);
}

/* "version": "1", "2" or the hex of another. */
static void quic_version_value(pqt_json *j, uint32_t v)
{
    char b[16];
    if (v == PQT_QUIC_V1) {
        snprintf(b, sizeof(b), "1");
    } else if (v == PQT_QUIC_V2) {
        snprintf(b, sizeof(b), "2");
    } else {
        snprintf(b, sizeof(b), "0x%08x", v);
    }
    pqt_json_kv_string(j, "version", b);
}

int pqt_obs_write_json(FILE *f, const pqt_obs_handshake *hs, const pqt_obs_output_opts *opts)
{
    pqt_json j;
    obs_view v;
    char b[40];
    if (f == NULL || hs == NULL) {
        return PQT_ERR_ARG;
    }
    int ret = pqt_obs_view_init(&v, hs, opts);
    if (ret != 0) {
        return ret;
    }
    pqt_json_init(&j, f);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "schema", PQT_OBS_SCHEMA);
    ts_string(hs->ts_us, b);
    pqt_json_kv_string(&j, "ts", b);
    pqt_json_kv_string(&j, "client", v.client);
    pqt_json_kv_int(&j, "client_port", hs->client_port);
    pqt_json_kv_string(&j, "server", v.server);
    pqt_json_kv_int(&j, "server_port", hs->server_port);
    pqt_json_kv_string(&j, "transport", pqt_obs_transport_name(hs->transport));
    pqt_json_key(&j, "quic");
    if (hs->transport == PQT_OBS_QUIC) {
        pqt_json_object_begin(&j);
        quic_version_value(&j, hs->quic_version);
        pqt_json_kv_int(&j, "initial_packets", hs->quic_initials);
        pqt_json_kv_int(&j, "datagrams", hs->quic_datagrams);
        pqt_json_kv_bool(&j, "retry", hs->quic_retry);
        pqt_json_key(&j, "close");
        if (hs->has_quic_close) {
            pqt_json_object_begin(&j);
            pqt_json_kv_int(&j, "code", (long long)hs->quic_close_code);
            pqt_json_kv_string(&j, "from", hs->quic_close_from_server ? "server" : "client");
            pqt_json_object_end(&j);
        } else {
            pqt_json_null(&j);
        }
        pqt_json_object_end(&j);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_key(&j, "sni");
    if (v.sni != NULL) {
        pqt_json_string_n(&j, v.sni, v.sni_len);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_kv_string(&j, "app_protocol", pqt_obs_app_protocol_name(hs->app_protocol));
    pqt_json_kv_string(&j, "app_protocol_source", pqt_obs_app_source_name(hs->app_source));
    pqt_json_key(&j, "ja4");
    if (hs->has_ch && hs->ja4[0] != 0) {
        pqt_json_string(&j, hs->ja4);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_kv_string(&j, "ja4_r", hs->has_ch ? hs->ja4_r : NULL);
    pqt_json_kv_string(&j, "client_family", hs->client_family);
    pqt_json_kv_string(&j, "client_library", pqt_obs_library_name(hs->client_library));
    pqt_json_kv_string(&j, "family_basis", pqt_obs_basis_name(hs->family_basis));
    if (hs->has_ch) {
        client_hello_fields(&j, hs);
    } else {
        static const char *const lists[] = {"alpn",
                                            "offered_versions",
                                            "cipher_suites",
                                            "offered_groups",
                                            "key_share_groups",
                                            "key_shares",
                                            "signature_algorithms",
                                            "extensions"};
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
            pqt_json_key(&j, lists[i]);
            pqt_json_array_begin(&j);
            pqt_json_array_end(&j);
        }
    }
    pqt_json_key(&j, "client_hello");
    pqt_json_object_begin(&j);
    pqt_json_kv_bool(&j, "complete", hs->has_ch);
    pqt_json_kv_int(&j, "size", (long long)hs->ch_size);
    pqt_json_kv_int(&j, "segments", hs->ch_segments);
    pqt_json_kv_int(&j, "records", hs->ch_records);
    pqt_json_kv_string(&j, "error", hs->ch_err ? pqt_errname(hs->ch_err) : NULL);
    pqt_json_object_end(&j);

    pqt_json_key(&j, "version");
    if (hs->has_sh) {
        pqt_tls_version_format(hs->server_version, b);
        pqt_json_string(&j, b);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_key(&j, "cipher");
    if (hs->has_sh) {
        hex16(&j, hs->cipher);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_key(&j, "group");
    if (hs->group_source != PQT_OBS_GROUP_NONE) {
        group_value(&j, hs->group);
        pqt_json_kv_int(&j, "group_code", hs->group);
        pqt_json_kv_bool(&j, "group_pq", pqt_group_is_pq(hs->group));
        pqt_json_kv_string(&j, "group_source",
                           hs->group_source == PQT_OBS_GROUP_KEY_SHARE ? "key_share"
                                                                       : "server_key_exchange");
    } else {
        pqt_json_null(&j);
        pqt_json_key(&j, "group_code");
        pqt_json_null(&j);
        pqt_json_kv_bool(&j, "group_pq", 0);
        pqt_json_kv_string(&j, "group_source", NULL);
    }
    pqt_json_kv_bool(&j, "hrr", hs->hrr);
    pqt_json_key(&j, "hrr_group");
    if (hs->hrr && hs->hrr_group != 0) {
        group_value(&j, hs->hrr_group);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_key(&j, "retry_key_share_groups");
    pqt_json_array_begin(&j);
    for (size_t i = 0; i < hs->n_retry_key_share; i++) {
        if (!pqt_tls_is_grease(hs->retry_key_share[i])) {
            group_value(&j, hs->retry_key_share[i]);
        }
    }
    pqt_json_array_end(&j);

    pqt_json_kv_string(&j, "outcome", pqt_obs_outcome_name(hs->outcome));
    pqt_json_key(&j, "alert");
    if (hs->outcome == PQT_OBS_ALERT) {
        pqt_json_object_begin(&j);
        pqt_json_kv_string(&j, "level", hs->alert_level == 2 ? "fatal" : "warning");
        pqt_json_kv_int(&j, "code", hs->alert_desc);
        pqt_json_kv_string(&j, "name", pqt_tls_alert_name(hs->alert_desc));
        pqt_json_kv_string(&j, "from", hs->alert_from_server ? "server" : "client");
        pqt_json_object_end(&j);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_key(&j, "closed_by");
    if (hs->outcome >= PQT_OBS_RESET_AFTER_CH && hs->outcome <= PQT_OBS_CLOSED) {
        pqt_json_string(&j, hs->closed_by_server ? "server" : "client");
    } else {
        pqt_json_null(&j);
    }

    pqt_json_key(&j, "path");
    pqt_json_object_begin(&j);
    pqt_json_key(&j, "vlan");
    pqt_json_array_begin(&j);
    for (unsigned i = 0; i < hs->n_vlan; i++) {
        pqt_json_int(&j, hs->vlan[i]);
    }
    pqt_json_array_end(&j);
    pqt_json_kv_string(&j, "client_prefix", v.client_prefix);
    pqt_json_kv_string(&j, "server_prefix", v.server_prefix);
    static const char *const ttl_keys[2][2] = {{"client_ttl", "client_hops"},
                                               {"server_ttl", "server_hops"}};
    for (int side = 0; side < 2; side++) {
        uint8_t ttl = side == 0 ? hs->client_ttl : hs->server_ttl;
        pqt_json_key(&j, ttl_keys[side][0]);
        if (ttl != 0) {
            pqt_json_int(&j, ttl);
        } else {
            pqt_json_null(&j);
        }
        pqt_json_key(&j, ttl_keys[side][1]);
        if (pqt_obs_hops(ttl) >= 0) {
            pqt_json_int(&j, pqt_obs_hops(ttl));
        } else {
            pqt_json_null(&j);
        }
    }
    pqt_json_object_end(&j);
    pqt_json_key(&j, "anomalies");
    pqt_json_array_begin(&j);
    for (size_t i = 0; i < sizeof(anomaly_names) / sizeof(anomaly_names[0]); i++) {
        if (hs->anomalies & anomaly_names[i].bit) {
            pqt_json_string(&j, anomaly_names[i].name);
        }
    }
    pqt_json_array_end(&j);
    pqt_json_kv_bool(&j, "pseudonymised", opts != NULL && opts->pseudonym != NULL);
    pqt_json_object_end(&j);
    return pqt_json_end_line(&j);
}
