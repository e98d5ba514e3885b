/*
 * pqtls mask --log: the same pseudonyms as in captures, in log lines.
 * Addresses become the text of their Crypto-PAn pseudonym (so a line may
 * change length), names the same-length label-wise pseudonym, e-mail
 * addresses and the values of query strings and credentials keyed text.
 *
 * jsonl: pqtls's own JSON Lines; values of identity fields (client, server,
 * sni, host, target, ...) are masked whatever they look like, other string
 * values only where a token is an address, a name under a public suffix or
 * an e-mail address. nginx, haproxy, text: the line is split into tokens at
 * blanks and quotes, and the same rules apply to every token.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mask_internal.h"

typedef struct {
    char *p;
    size_t len, cap;
    int overflow;
} sbuf;

static void put(sbuf *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* An address literal: IPv4, IPv6, [IPv6]; with /bits or :port kept. */
static int try_addr(pqt_mask *m, const char *s, size_t n, sbuf *out)
{
    char buf[64], tail[16] = "";
    uint8_t a[16];
    const char *body = s;
    size_t bl = n;
    int bracket = 0;
    if (n == 0 || n >= sizeof(buf)) {
        return 0;
    }
    if (s[0] == '[') {
        const char *e = memchr(s, ']', n);
        if (e == NULL) {
            return 0;
        }
        bracket = 1;
        body = s + 1;
        bl = (size_t)(e - s) - 1;
        if ((size_t)(e - s) + 1 < n) {
            size_t tl = n - (size_t)(e - s) - 1;
            if (tl >= sizeof(tail)) {
                return 0;
            }
            memcpy(tail, e + 1, tl);
            tail[tl] = 0;
        }
    } else {
        const char *slash = memchr(s, '/', n);
        size_t colons = 0;
        for (size_t i = 0; i < n; i++) {
            colons += s[i] == ':';
        }
        const char *cut = slash;
        if (cut == NULL && colons == 1) {
            cut = memchr(s, ':', n); /* v4:port */
        }
        if (cut != NULL) {
            bl = (size_t)(cut - s);
            size_t tl = n - bl;
            if (tl >= sizeof(tail)) {
                return 0;
            }
            memcpy(tail, cut, tl);
            tail[tl] = 0;
        }
    }
    if (bl >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, body, bl);
    buf[bl] = 0;
    for (size_t i = 1; tail[i] != 0; i++) {
        if (!isdigit((unsigned char)tail[i])) {
            return 0;
        }
    }
    char txt[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, buf, a) == 1) {
        pqt_mask_ipv4(m, a, a);
        inet_ntop(AF_INET, a, txt, sizeof(txt));
    } else if (inet_pton(AF_INET6, buf, a) == 1) {
        pqt_mask_ipv6(m, a, a);
        inet_ntop(AF_INET6, a, txt, sizeof(txt));
    } else {
        return 0;
    }
    if (bracket) {
        puts_(out, "[");
    }
    puts_(out, txt);
    if (bracket) {
        puts_(out, "]");
    }
    puts_(out, tail);
    return 1;
}

static const char *const secret_keys[] = {
    "token",  "access_token", "id_token", "refresh_token", "key", "api_key", "apikey",
    "secret", "password",     "passwd",   "pass",          "pwd", "auth",    "session",
    "sid",    "code",         "sig",      "signature",     "jwt", "bearer",  "credential",
    "cookie", "user",         "username", "email",         NULL};

/* name=value&...: every value masked (keyed text, same length). */
static void mask_query(pqt_mask *m, char *q, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t s = i;
        while (i < n && q[i] != '&' && q[i] != ';') {
            i++;
        }
        char *eq = memchr(q + s, '=', i - s);
        if (eq != NULL) {
            pqt_mask_text(m, (uint8_t *)eq + 1, (size_t)(q + i - eq - 1));
        } else {
            pqt_mask_text(m, (uint8_t *)q + s, i - s);
        }
        i++;
    }
}

/* A name under a public suffix (so "TLSv1.3" and file names stay). */
static int name_candidate(const char *s, size_t n)
{
    if (!pqt_m_is_dnsish((const uint8_t *)s, n)) {
        return 0;
    }
    const char *dot = s + n;
    while (dot > s && dot[-1] != '.') {
        dot--;
    }
    size_t tl = (size_t)(s + n - dot);
    for (size_t i = 0; i < tl; i++) {
        if (!isalpha((unsigned char)dot[i])) {
            return 0;
        }
    }
    static const char *const common[] = {
        "com",      "net",  "org",     "edu",  "gov", "io",   "dev", "app",  "cloud", "local",
        "internal", "test", "example", "info", "biz", "arpa", "lan", "corp", "home",  NULL};
    if (tl == 2) {
        return 1;
    }
    for (size_t i = 0; common[i] != NULL; i++) {
        if (strlen(common[i]) == tl && strncasecmp(dot, common[i], tl) == 0) {
            return 1;
        }
    }
    return 0;
}

/* One token (no blanks, no quotes). strong: an identity field, masked
 * whatever it looks like. */
static void mask_token(pqt_mask *m, char *t, size_t n, int strong, sbuf *out)
{
    if (n == 0) {
        return;
    }
    if (n == 1 && t[0] == '-') {
        put(out, t, n);
        return;
    }
    if (try_addr(m, t, n, out)) {
        return;
    }
    /* URL: scheme://host[:port]/path?query */
    char *sep = n > 3 ? memmem(t, n, "://", 3) : NULL;
    if (sep != NULL && sep < t + n) {
        char *host = sep + 3;
        size_t rest = n - (size_t)(host - t);
        size_t hl = 0;
        while (hl < rest && host[hl] != '/' && host[hl] != '?' && host[hl] != '#') {
            hl++;
        }
        put(out, t, (size_t)(host - t));
        char *at = memchr(host, '@', hl);
        if (at != NULL) { /* user:password@ */
            pqt_mask_text(m, (uint8_t *)host, (size_t)(at - host));
            put(out, host, (size_t)(at - host) + 1);
            hl -= (size_t)(at - host) + 1;
            host = at + 1;
            rest = n - (size_t)(host - t);
        }
        mask_token(m, host, hl, 1, out);
        char *q = memchr(host + hl, '?', rest - hl);
        if (q != NULL) {
            mask_query(m, q + 1, (size_t)(t + n - q - 1));
        }
        put(out, host + hl, rest - hl);
        return;
    }
    if (t[0] == '/') { /* a request target */
        char *q = memchr(t, '?', n);
        if (q != NULL) {
            mask_query(m, q + 1, (size_t)(t + n - q - 1));
        }
        put(out, t, n);
        return;
    }
    char *eq = memchr(t, '=', n);
    if (eq != NULL && eq > t) {
        size_t kl = (size_t)(eq - t);
        for (size_t i = 0; secret_keys[i] != NULL; i++) {
            if (strlen(secret_keys[i]) == kl && strncasecmp(t, secret_keys[i], kl) == 0) {
                pqt_mask_text(m, (uint8_t *)eq + 1, (size_t)(t + n - eq - 1));
                put(out, t, n);
                return;
            }
        }
        put(out, t, kl + 1);
        mask_token(m, eq + 1, (size_t)(t + n - eq - 1), strong, out);
        return;
    }
    /* host:port */
    char *colon = memchr(t, ':', n);
    if (colon != NULL && colon > t && pqt_m_is_dnsish((uint8_t *)t, (size_t)(colon - t))) {
        int digits = colon + 1 < t + n;
        for (char *c = colon + 1; c < t + n; c++) {
            digits &= isdigit((unsigned char)*c) != 0;
        }
        if (digits) {
            pqt_mask_name(m, (uint8_t *)t, (size_t)(colon - t));
            put(out, t, n);
            return;
        }
    }
    if (memchr(t, '@', n) != NULL) {
        pqt_mask_text(m, (uint8_t *)t, n); /* e-mail: local part and domain */
    } else if (strong) {
        if (pqt_m_is_dnsish((uint8_t *)t, n)) {
            pqt_mask_name(m, (uint8_t *)t, n);
        } else {
            pqt_mask_text(m, (uint8_t *)t, n);
        }
    } else if (name_candidate(t, n)) {
        pqt_mask_name(m, (uint8_t *)t, n);
    }
    put(out, t, n);
}

/* Free text: tokens split at blanks, quotes, brackets and commas. */
static void mask_free(pqt_mask *m, char *s, size_t n, int strong, sbuf *out)
{
    static const char delims[] = " \t\"'{}|,;<>()";
    size_t i = 0;
    while (i < n) {
        if (strchr(delims, s[i]) != NULL) {
            put(out, s + i, 1);
            i++;
            continue;
        }
        size_t st = i;
        while (i < n && strchr(delims, s[i]) == NULL) {
            i++;
        }
        /* "Bearer TOKEN", "Basic TOKEN": the credential after the scheme */
        size_t tl = i - st;
        mask_token(m, s + st, tl, strong, out);
        if ((tl == 6 && strncasecmp(s + st, "Bearer", 6) == 0) ||
            (tl == 5 && strncasecmp(s + st, "Basic", 5) == 0)) {
            while (i < n && s[i] == ' ') {
                put(out, s + i, 1);
                i++;
            }
            st = i;
            while (i < n && strchr(delims, s[i]) == NULL) {
                i++;
            }
            pqt_mask_text(m, (uint8_t *)s + st, i - st);
            put(out, s + st, i - st);
        }
    }
}

static const char *const identity_keys[] = {
    "client",        "server",        "sni",    "host",        "hostname", "target",
    "address",       "addr",          "ip",     "peer",        "url",      "server_name",
    "client_prefix", "server_prefix", "remote", "remote_addr", "name",     "resolved",
    "subject",       "issuer",        "san",    "user",        NULL};

static int is_identity(const char *k, size_t n)
{
    for (size_t i = 0; identity_keys[i] != NULL; i++) {
        if (strlen(identity_keys[i]) == n && memcmp(k, identity_keys[i], n) == 0) {
            return 1;
        }
    }
    return 0;
}

static void mask_jsonl(pqt_mask *m, char *s, size_t n, sbuf *out)
{
    size_t i = 0;
    const char *key = NULL;
    size_t keylen = 0;
    while (i < n) {
        if (s[i] != '"') {
            if (s[i] == '{' || s[i] == ',') {
                key = NULL;
            }
            put(out, s + i, 1);
            i++;
            continue;
        }
        size_t st = ++i;
        int esc = 0;
        while (i < n && s[i] != '"') {
            if (s[i] == '\\') {
                esc = 1;
                i++;
            }
            i++;
        }
        if (i > n) {
            i = n;
        }
        size_t len = i - st;
        size_t j = i + 1;
        while (j < n && (s[j] == ' ' || s[j] == '\t')) {
            j++;
        }
        int is_key = j < n && s[j] == ':';
        put(out, "\"", 1);
        if (is_key) {
            key = s + st;
            keylen = len;
            put(out, s + st, len);
        } else if (esc) {
            /* escapes: masked as a whole, the escapes kept */
            for (size_t k = st; k < i; k++) {
                if (s[k] == '\\') {
                    put(out, s + k, 2);
                    k++;
                    if (s[k] == 'u') {
                        put(out, "0041", 4);
                        k += 4;
                    }
                    continue;
                }
                uint8_t c = (uint8_t)s[k];
                if (isalnum(c)) {
                    pqt_mask_text(m, &c, 1);
                }
                put(out, &c, 1);
            }
        } else {
            mask_free(m, s + st, len, key != NULL && is_identity(key, keylen), out);
        }
        if (i < n) {
            put(out, "\"", 1);
            i++;
        }
    }
}

int pqt_mask_log_line(pqt_mask *m, pqt_mask_log_format fmt, char *line, size_t *len, size_t cap)
{
    if (m == NULL || line == NULL || len == NULL || cap < 4 * *len + 64) {
        return PQT_ERR_ARG;
    }
    size_t n = *len;
    char *copy = malloc(n + 1);
    if (copy == NULL) {
        return PQT_ERR_NOMEM;
    }
    memcpy(copy, line, n);
    copy[n] = 0;
    sbuf out = {line, 0, cap, 0};
    if (fmt == PQT_MASK_LOG_JSONL) {
        mask_jsonl(m, copy, n, &out);
    } else {
        /* nginx (combined; deploy.md's pq), haproxy (syslog prefix, client
         * ip:port, the request in quotes), any text: the same token rules.
         * The remote user of nginx's combined format is a token of its own. */
        mask_free(m, copy, n, 0, &out);
        if (fmt == PQT_MASK_LOG_NGINX && !out.overflow) {
            /* $remote_addr - $remote_user [: the third field is a user name */
            char *sp1 = memchr(out.p, ' ', out.len);
            if (sp1 != NULL && sp1[1] == '-' && sp1[2] == ' ') {
                char *u = sp1 + 3, *e = memchr(u, ' ', out.len - (size_t)(u - out.p));
                if (e != NULL && !(e - u == 1 && u[0] == '-')) {
                    pqt_mask_text(m, (uint8_t *)u, (size_t)(e - u));
                }
            }
        }
    }
    free(copy);
    if (out.overflow) {
        return PQT_ERR_LENGTH;
    }
    *len = out.len;
    return 0;
}
