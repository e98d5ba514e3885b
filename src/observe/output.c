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

void pqt_obs_format_group(uint16_t group, char out[32])
{
    const char *name = pqt_group_name(group);
    if (name != NULL) {
        snprintf(out, 32, "%s", name);
    } else if (pqt_tls_is_grease(group)) {
        snprintf(out, 32, "GREASE");
    } else {
        snprintf(out, 32, "0x%04x", group);
    }
}

void pqt_obs_format_version(uint16_t v, char out[24])
{
    static const char *const names[] = {"SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
    if (v >= 0x0300 && v <= 0x0304) {
        size_t n = strlen(names[v - 0x0300]);
        memcpy(out, names[v - 0x0300], n + 1);
    } else if ((v >> 8) == 0x7f) {
        snprintf(out, 24, "TLSv1.3-draft-%u", v & 0xff);
    } else {
        snprintf(out, 24, "0x%04x", v);
    }
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

const char *obs_alert_name(uint8_t desc)
{
    switch (desc) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 22: return "record_overflow";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    default: return NULL;
    }
}

static const struct {
    unsigned bit;
    const char *name;
} anomaly_names[] = {
    {PQT_OBS_A_MIDSTREAM, "midstream"},       {PQT_OBS_A_RETRANSMIT, "retransmission"},
    {PQT_OBS_A_OUT_OF_ORDER, "out_of_order"}, {PQT_OBS_A_OVERLAP, "overlap"},
    {PQT_OBS_A_GAP, "gap"},                   {PQT_OBS_A_HELLO_TOO_BIG, "hello_too_big"},
    {PQT_OBS_A_PREAMBLE, "preamble"},         {PQT_OBS_A_SH_MALFORMED, "server_hello_malformed"},
    {PQT_OBS_A_BUDGET, "buffer_budget"},      {PQT_OBS_A_SNAPLEN, "snaplen"},
};

int obs_view_init(obs_view *v, const pqt_obs_handshake *hs, const pqt_obs_output_opts *opts)
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

/* ---- the record writer ---- */

#define JW_BUF 4096
#define JW_DEPTH 8

typedef struct {
    FILE *f;
    int err;
    unsigned depth;
    uint8_t count[JW_DEPTH]; /* values at each level (saturating at 2) */
    uint8_t after_key;
    size_t len;
    char buf[JW_BUF];
} obs_jw;

static void jw_flush(obs_jw *w)
{
    if (w->len > 0 && w->err == 0 && fwrite(w->buf, 1, w->len, w->f) != w->len) {
        w->err = PQT_ERR_IO;
    }
    w->len = 0;
}

static void jw_put(obs_jw *w, const char *p, size_t n)
{
    if (n > JW_BUF - w->len) {
        jw_flush(w);
        if (n > JW_BUF) {
            if (w->err == 0 && fwrite(p, 1, n, w->f) != n) {
                w->err = PQT_ERR_IO;
            }
            return;
        }
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

/* One character: most of what the writer puts (quotes, commas, brackets). */
static void jw_putc(obs_jw *w, char c)
{
    if (w->len == JW_BUF) {
        jw_flush(w);
    }
    w->buf[w->len++] = c;
}

static void jw_init(obs_jw *w, FILE *f)
{
    w->f = f;
    w->err = 0;
    w->depth = 0;
    w->after_key = 0;
    w->len = 0;
}

/* Comma before the next array element; a value right after its key has none. */
static void jw_before_value(obs_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0) {
        if (w->count[w->depth - 1] != 0) {
            jw_putc(w, ',');
        }
        w->count[w->depth - 1] = 1;
    }
}

static void jw_open(obs_jw *w, char c)
{
    jw_before_value(w);
    if (w->depth == JW_DEPTH) {
        w->err = PQT_ERR_ARG;
        return;
    }
    w->count[w->depth++] = 0;
    jw_putc(w, c);
}

static void jw_close(obs_jw *w, char c)
{
    if (w->depth == 0 || w->after_key) {
        w->err = PQT_ERR_ARG;
        return;
    }
    w->depth--;
    jw_putc(w, c);
}

static void jw_object_begin(obs_jw *w)
{
    jw_open(w, '{');
}

static void jw_object_end(obs_jw *w)
{
    jw_close(w, '}');
}

static void jw_array_begin(obs_jw *w)
{
    jw_open(w, '[');
}

static void jw_array_end(obs_jw *w)
{
    jw_close(w, ']');
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 when it is not one. */
static size_t jw_utf8(const uint8_t *s, size_t n)
{
    uint32_t cp, lo;
    size_t len;
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4, cp = s[0] & 0x07u, lo = 0x10000;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3, cp = s[0] & 0x0Fu, lo = 0x800;
    } else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2, cp = s[0] & 0x1Fu, lo = 0x80;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < lo || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

static const char jw_hex[] = "0123456789abcdef";

/* A JSON string from any bytes: runs of plain characters are copied at once. */
/*
 * Nonzero when one of the eight bytes in x is not printable ASCII or is '"'
 * or '\\' (the bytes JSON needs escaped or checked as UTF-8). The zero-byte
 * test (v - 0x01..) & ~v & 0x80.. is exact about whether a byte matched,
 * which is all the caller asks; bytes with the top bit set match directly.
 */
static uint64_t jw_special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = x ^ (ones * 0x22), b = x ^ (ones * 0x5C), d = x ^ (ones * 0x7F);
    uint64_t below = (x - ones * 0x20) & ~x & high; /* a byte below 0x20 */
    return below | ((q - ones) & ~q & high) | ((b - ones) & ~b & high) |
           ((d - ones) & ~d & high) | (x & high);
}

static void jw_escaped(obs_jw *w, const uint8_t *s, size_t n)
{
    size_t i = 0;
    jw_putc(w, '"');
    while (i < n) {
        size_t run = i;
        /* printable ASCII except '"' (0x22) and '\\' (0x5C) goes as it is;
         * eight bytes at a time while none of them needs a look */
        while (run < n) {
            if (n - run >= 8) {
                uint64_t x;
                memcpy(&x, s + run, 8);
                if (!jw_special8(x)) {
                    run += 8;
                    continue;
                }
            }
            if ((uint8_t)(s[run] - 0x20) >= 0x5F || s[run] == '"' || s[run] == '\\') {
                break;
            }
            run++;
        }
        if (run > i) {
            jw_put(w, (const char *)s + i, run - i);
            i = run;
            continue;
        }
        uint8_t c = s[i];
        size_t l = c >= 0x80 ? jw_utf8(s + i, n - i) : 0;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            jw_put(w, e, 2);
            i++;
        } else if (l > 0) {
            jw_put(w, (const char *)s + i, l);
            i += l;
        } else {
            char e[6] = {'\\', 'u', '0', '0', jw_hex[c >> 4], jw_hex[c & 15]};
            jw_put(w, e, 6);
            i++;
        }
    }
    jw_putc(w, '"');
}

static void jw_key(obs_jw *w, const char *key)
{
    if (w->depth == 0 || w->after_key) {
        w->err = PQT_ERR_ARG;
        return;
    }
    /* Keys are this file's own identifiers (plain ASCII): no escaping. */
    size_t n = strlen(key);
    jw_before_value(w);
    jw_putc(w, '"');
    jw_put(w, key, n);
    jw_put(w, "\":", 2);
    w->after_key = 1;
}

static void jw_string_n(obs_jw *w, const uint8_t *s, size_t n)
{
    jw_before_value(w);
    jw_escaped(w, s, n);
}

static void jw_null(obs_jw *w)
{
    jw_before_value(w);
    jw_put(w, "null", 4);
}

static void jw_string(obs_jw *w, const char *s)
{
    if (s == NULL) {
        jw_null(w);
    } else {
        jw_string_n(w, (const uint8_t *)s, strlen(s));
    }
}

static void jw_int(obs_jw *w, long long v)
{
    char b[24];
    size_t i = sizeof(b);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        b[--i] = '-';
    }
    jw_before_value(w);
    jw_put(w, b + i, sizeof(b) - i);
}

static void jw_bool(obs_jw *w, int v)
{
    jw_before_value(w);
    jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

static void jw_kv_string(obs_jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_string(w, s);
}

static void jw_kv_int(obs_jw *w, const char *key, long long v)
{
    jw_key(w, key);
    jw_int(w, v);
}

static void jw_kv_bool(obs_jw *w, const char *key, int v)
{
    jw_key(w, key);
    jw_bool(w, v);
}

/* End the record: newline and one write; 0 or the first error. */
static int jw_end_line(obs_jw *w)
{
    if (w->depth != 0 || w->after_key) {
        w->err = PQT_ERR_ARG;
    }
    jw_put(w, "\n", 1);
    jw_flush(w);
    return w->err;
}

static void hex16(obs_jw *j, uint16_t v)
{
    char b[8] = {'"', '0', 'x', jw_hex[v >> 12], jw_hex[(v >> 8) & 15], jw_hex[(v >> 4) & 15],
                 jw_hex[v & 15], '"'};
    jw_before_value(j);
    jw_put(j, b, 8);
}

static void group_value(obs_jw *j, uint16_t g)
{
    const char *name = pqt_group_name(g);
    if (name != NULL) {
        jw_string(j, name);
    } else if (pqt_tls_is_grease(g)) {
        jw_string(j, "GREASE");
    } else {
        hex16(j, g);
    }
}

static void u16_list(obs_jw *j, const char *key, const uint8_t *list, size_t n, int groups,
                     int skip_grease)
{
    jw_key(j, key);
    jw_array_begin(j);
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
    jw_array_end(j);
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

static void client_hello_fields(obs_jw *j, const pqt_obs_handshake *hs)
{
    const pqt_client_hello *ch = &hs->ch;
    char b[24];
    jw_key(j, "alpn");
    jw_array_begin(j);
    pqt_reader list = pqt_reader_make(ch->alpn, ch->alpn_len), name;
    while (ch->alpn != NULL && pqt_reader_vec(&list, 1, &name) == 0) {
        jw_string_n(j, name.p, pqt_reader_left(&name));
    }
    jw_array_end(j);
    jw_key(j, "offered_versions");
    jw_array_begin(j);
    if (ch->n_versions == 0) {
        pqt_obs_format_version(ch->legacy_version, b);
        jw_string(j, b);
    }
    for (size_t i = 0; i < ch->n_versions; i++) {
        uint16_t v = pqt_u16_at(ch->versions, i);
        if (!pqt_tls_is_grease(v)) {
            pqt_obs_format_version(v, b);
            jw_string(j, b);
        }
    }
    jw_array_end(j);
    u16_list(j, "cipher_suites", ch->cipher_suites, ch->n_cipher_suites, 0, 0);
    u16_list(j, "offered_groups", ch->groups, ch->n_groups, 1, 1);
    jw_key(j, "key_share_groups");
    jw_array_begin(j);
    for (size_t i = 0; i < ch->n_key_shares; i++) {
        if (!pqt_tls_is_grease(ch->key_shares[i].group)) {
            group_value(j, ch->key_shares[i].group);
        }
    }
    jw_array_end(j);
    jw_key(j, "key_shares");
    jw_array_begin(j);
    for (size_t i = 0; i < ch->n_key_shares; i++) {
        if (pqt_tls_is_grease(ch->key_shares[i].group)) {
            continue;
        }
        jw_object_begin(j);
        jw_key(j, "group");
        group_value(j, ch->key_shares[i].group);
        jw_kv_int(j, "size", ch->key_shares[i].len);
        jw_object_end(j);
    }
    jw_array_end(j);
    u16_list(j, "signature_algorithms", ch->sig_algs, ch->n_sig_algs, 0, 1);
    jw_key(j, "extensions");
    jw_array_begin(j);
    for (size_t i = 0; i < ch->n_ext; i++) {
        hex16(j, ch->ext[i].type);
    }
    jw_array_end(j);
}

int pqt_obs_write_json(FILE *f, const pqt_obs_handshake *hs, const pqt_obs_output_opts *opts)
{
    obs_jw j;
    obs_view v;
    char b[40];
    if (f == NULL || hs == NULL) {
        return PQT_ERR_ARG;
    }
    int ret = obs_view_init(&v, hs, opts);
    if (ret != 0) {
        return ret;
    }
    jw_init(&j, f);
    jw_object_begin(&j);
    jw_kv_string(&j, "schema", PQT_OBS_SCHEMA);
    ts_string(hs->ts_us, b);
    jw_kv_string(&j, "ts", b);
    jw_kv_string(&j, "client", v.client);
    jw_kv_int(&j, "client_port", hs->client_port);
    jw_kv_string(&j, "server", v.server);
    jw_kv_int(&j, "server_port", hs->server_port);
    jw_key(&j, "sni");
    if (v.sni != NULL) {
        jw_string_n(&j, v.sni, v.sni_len);
    } else {
        jw_null(&j);
    }
    jw_key(&j, "ja4");
    if (hs->has_ch && hs->ja4[0] != 0) {
        jw_string(&j, hs->ja4);
    } else {
        jw_null(&j);
    }
    jw_kv_string(&j, "ja4_r", hs->has_ch ? hs->ja4_r : NULL);
    jw_kv_string(&j, "client_family", hs->client_family);
    if (hs->has_ch) {
        client_hello_fields(&j, hs);
    } else {
        static const char *const lists[] = {"alpn", "offered_versions", "cipher_suites",
                                            "offered_groups", "key_share_groups", "key_shares",
                                            "signature_algorithms", "extensions"};
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
            jw_key(&j, lists[i]);
            jw_array_begin(&j);
            jw_array_end(&j);
        }
    }
    jw_key(&j, "client_hello");
    jw_object_begin(&j);
    jw_kv_bool(&j, "complete", hs->has_ch);
    jw_kv_int(&j, "size", (long long)hs->ch_size);
    jw_kv_int(&j, "segments", hs->ch_segments);
    jw_kv_int(&j, "records", hs->ch_records);
    jw_kv_string(&j, "error", hs->ch_err ? pqt_errname(hs->ch_err) : NULL);
    jw_object_end(&j);

    jw_key(&j, "version");
    if (hs->has_sh) {
        pqt_obs_format_version(hs->server_version, b);
        jw_string(&j, b);
    } else {
        jw_null(&j);
    }
    jw_key(&j, "cipher");
    if (hs->has_sh) {
        hex16(&j, hs->cipher);
    } else {
        jw_null(&j);
    }
    jw_key(&j, "group");
    if (hs->group_source != PQT_OBS_GROUP_NONE) {
        group_value(&j, hs->group);
        jw_kv_int(&j, "group_code", hs->group);
        jw_kv_bool(&j, "group_pq", pqt_group_is_pq(hs->group));
        jw_kv_string(&j, "group_source",
                           hs->group_source == PQT_OBS_GROUP_KEY_SHARE ? "key_share"
                                                                       : "server_key_exchange");
    } else {
        jw_null(&j);
        jw_key(&j, "group_code");
        jw_null(&j);
        jw_kv_bool(&j, "group_pq", 0);
        jw_kv_string(&j, "group_source", NULL);
    }
    jw_kv_bool(&j, "hrr", hs->hrr);
    jw_key(&j, "hrr_group");
    if (hs->hrr && hs->hrr_group != 0) {
        group_value(&j, hs->hrr_group);
    } else {
        jw_null(&j);
    }
    jw_key(&j, "retry_key_share_groups");
    jw_array_begin(&j);
    for (size_t i = 0; i < hs->n_retry_key_share; i++) {
        if (!pqt_tls_is_grease(hs->retry_key_share[i])) {
            group_value(&j, hs->retry_key_share[i]);
        }
    }
    jw_array_end(&j);

    jw_kv_string(&j, "outcome", pqt_obs_outcome_name(hs->outcome));
    jw_key(&j, "alert");
    if (hs->outcome == PQT_OBS_ALERT) {
        jw_object_begin(&j);
        jw_kv_string(&j, "level", hs->alert_level == 2 ? "fatal" : "warning");
        jw_kv_int(&j, "code", hs->alert_desc);
        jw_kv_string(&j, "name", obs_alert_name(hs->alert_desc));
        jw_kv_string(&j, "from", hs->alert_from_server ? "server" : "client");
        jw_object_end(&j);
    } else {
        jw_null(&j);
    }
    jw_key(&j, "closed_by");
    if (hs->outcome >= PQT_OBS_RESET_AFTER_CH && hs->outcome <= PQT_OBS_CLOSED) {
        jw_string(&j, hs->closed_by_server ? "server" : "client");
    } else {
        jw_null(&j);
    }

    jw_key(&j, "path");
    jw_object_begin(&j);
    jw_key(&j, "vlan");
    jw_array_begin(&j);
    for (unsigned i = 0; i < hs->n_vlan; i++) {
        jw_int(&j, hs->vlan[i]);
    }
    jw_array_end(&j);
    jw_kv_string(&j, "client_prefix", v.client_prefix);
    jw_kv_string(&j, "server_prefix", v.server_prefix);
    static const char *const ttl_keys[2][2] = {{"client_ttl", "client_hops"},
                                               {"server_ttl", "server_hops"}};
    for (int side = 0; side < 2; side++) {
        uint8_t ttl = side == 0 ? hs->client_ttl : hs->server_ttl;
        jw_key(&j, ttl_keys[side][0]);
        if (ttl != 0) {
            jw_int(&j, ttl);
        } else {
            jw_null(&j);
        }
        jw_key(&j, ttl_keys[side][1]);
        if (pqt_obs_hops(ttl) >= 0) {
            jw_int(&j, pqt_obs_hops(ttl));
        } else {
            jw_null(&j);
        }
    }
    jw_object_end(&j);
    jw_key(&j, "anomalies");
    jw_array_begin(&j);
    for (size_t i = 0; i < sizeof(anomaly_names) / sizeof(anomaly_names[0]); i++) {
        if (hs->anomalies & anomaly_names[i].bit) {
            jw_string(&j, anomaly_names[i].name);
        }
    }
    jw_array_end(&j);
    jw_kv_bool(&j, "pseudonymised", opts != NULL && opts->pseudonym != NULL);
    jw_object_end(&j);
    return jw_end_line(&j);
}
