/*
 * Target lines and sharding (include/pqtls/scan.h), and the table of
 * protocols (URL schemes) a target can name.
 *
 * A target line is text, not wire input, but it comes from files people
 * edit by hand: every character is checked and the error says which rule
 * was broken, so the CLI can print "targets.txt:12: port 70000 is out of
 * range (1..65535)".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pqtls/scan.h"

/* ---- protocols ------------------------------------------------------------ */

static const char *const alpn_http[] = {"h2", "http/1.1", NULL};
/* PostgreSQL 17 refuses a TLS connection whose ALPN lacks "postgresql"
 * (and requires it for direct TLS); older servers ignore ALPN. */
static const char *const alpn_postgres[] = {"postgresql", NULL};
/* Mail, directory, MySQL and XMPP clients send no ALPN after STARTTLS;
 * neither do the probes, so a server with a strict ALPN list cannot
 * refuse them for an HTTP name. */
static const char *const alpn_none[] = {NULL};

static const pqt_scan_proto_info protos[PQT_SCAN_PROTO_COUNT] = {
    [PQT_SCAN_PROTO_TLS] = {"tls", 443, PQT_STARTTLS_NONE, alpn_http, "TLS"},
    [PQT_SCAN_PROTO_HTTPS] = {"https", 443, PQT_STARTTLS_NONE, alpn_http, "HTTPS"},
    [PQT_SCAN_PROTO_SMTP] = {"smtp", 25, PQT_STARTTLS_SMTP, alpn_none, "SMTP (STARTTLS)"},
    [PQT_SCAN_PROTO_SUBMISSION] = {"submission", 587, PQT_STARTTLS_SMTP, alpn_none,
                                   "submission (STARTTLS)"},
    [PQT_SCAN_PROTO_SMTPS] = {"smtps", 465, PQT_STARTTLS_NONE, alpn_none, "SMTPS"},
    [PQT_SCAN_PROTO_IMAP] = {"imap", 143, PQT_STARTTLS_IMAP, alpn_none, "IMAP (STARTTLS)"},
    [PQT_SCAN_PROTO_IMAPS] = {"imaps", 993, PQT_STARTTLS_NONE, alpn_none, "IMAPS"},
    [PQT_SCAN_PROTO_POP3] = {"pop3", 110, PQT_STARTTLS_POP3, alpn_none, "POP3 (STLS)"},
    [PQT_SCAN_PROTO_POP3S] = {"pop3s", 995, PQT_STARTTLS_NONE, alpn_none, "POP3S"},
    [PQT_SCAN_PROTO_FTP] = {"ftp", 21, PQT_STARTTLS_FTP, alpn_none, "FTP (AUTH TLS)"},
    [PQT_SCAN_PROTO_LDAP] = {"ldap", 389, PQT_STARTTLS_LDAP, alpn_none, "LDAP (StartTLS)"},
    [PQT_SCAN_PROTO_LDAPS] = {"ldaps", 636, PQT_STARTTLS_NONE, alpn_none, "LDAPS"},
    [PQT_SCAN_PROTO_POSTGRES] = {"postgres", 5432, PQT_STARTTLS_POSTGRES, alpn_postgres,
                                 "PostgreSQL (SSLRequest)"},
    [PQT_SCAN_PROTO_MYSQL] = {"mysql", 3306, PQT_STARTTLS_MYSQL, alpn_none, "MySQL (SSL request)"},
    [PQT_SCAN_PROTO_XMPP] = {"xmpp", 5222, PQT_STARTTLS_XMPP, alpn_none, "XMPP (STARTTLS)"},
};

static const char *const starttls_names[PQT_STARTTLS_COUNT] = {
    NULL, "smtp", "imap", "pop3", "ftp", "ldap", "postgres", "mysql", "xmpp"};

const pqt_scan_proto_info *pqt_scan_proto_get(int proto)
{
    return proto >= 0 && proto < PQT_SCAN_PROTO_COUNT ? &protos[proto] : NULL;
}

int pqt_scan_proto_by_scheme(const char *scheme)
{
    if (strcasecmp(scheme, "postgresql") == 0) {
        return PQT_SCAN_PROTO_POSTGRES;
    }
    /* "tls" names the absence of a scheme; it is not one. */
    for (int i = PQT_SCAN_PROTO_HTTPS; i < PQT_SCAN_PROTO_COUNT; i++) {
        if (strcasecmp(scheme, protos[i].scheme) == 0) {
            return i;
        }
    }
    return -1;
}

const char *pqt_starttls_name(int dialogue)
{
    return dialogue > 0 && dialogue < PQT_STARTTLS_COUNT ? starttls_names[dialogue] : NULL;
}

/* ---- target lines ------------------------------------------------------- */

static int is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* RFC 1123 host names: letters, digits, '-', '.', and '_' (seen in the wild). */
static int valid_hostname(const char *s, size_t n)
{
    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '_')) {
            return 0;
        }
        if (c == '.' && i + 1 < n && s[i + 1] == '.') {
            return 0;
        }
    }
    return 1;
}

static int parse_port(const char *s, size_t n, uint16_t *port)
{
    unsigned long v = 0;
    if (n == 0 || n > 5) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535) {
        return -1;
    }
    *port = (uint16_t)v;
    return 0;
}

/*
 * "scheme://[user@]authority[/path][?query]": the protocol, the authority
 * copied to buf ("host[:port][,sni]"), and the query's sslnegotiation
 * for postgres. 0, 1 when the line has no scheme, or -1 with *why.
 */
static int split_url(char *buf, pqt_scan_target *t, const char **why)
{
    char *sep = strstr(buf, "://");
    if (sep == NULL) {
        return 1;
    }
    /* RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    for (char *p = buf; p < sep; p++) {
        if (!(isalpha((unsigned char)*p) ||
              (p > buf && (isdigit((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')))) {
            return 1; /* not a scheme: let the host rules explain */
        }
    }
    if (sep == buf) {
        *why = "'://' without a scheme in front; write e.g. smtp://host or host:port";
        return -1;
    }
    *sep = 0;
    int proto = pqt_scan_proto_by_scheme(buf);
    if (proto < 0) {
        *why = "unknown scheme; use https, smtp, submission, smtps, imap, imaps, pop3, pop3s, "
               "ftp, ldap, ldaps, postgres, mysql or xmpp (or host[:port] for TLS)";
        return -1;
    }
    t->proto = proto;
    t->starttls = protos[proto].starttls;
    t->port = protos[proto].port;
    char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?");
    char *rest = auth + alen;
    char *query = strchr(rest, '?');
    /* userinfo (a pasted connection string): dropped, never sent or shown */
    for (size_t i = alen; i > 0; i--) {
        if (auth[i - 1] == '@') {
            auth += i;
            alen -= i;
            break;
        }
    }
    /* libpq's sslnegotiation=direct (PostgreSQL 17): TLS from the first
     * byte, with ALPN "postgresql", instead of SSLRequest. */
    if (proto == PQT_SCAN_PROTO_POSTGRES && query != NULL) {
        for (char *kv = query + 1; *kv;) {
            size_t n = strcspn(kv, "&");
            if (n == strlen("sslnegotiation=direct") &&
                strncmp(kv, "sslnegotiation=direct", n) == 0) {
                t->starttls = PQT_STARTTLS_NONE;
            } else if (strncmp(kv, "sslnegotiation=", 15) == 0 &&
                       !(n == strlen("sslnegotiation=postgres") &&
                         strncmp(kv, "sslnegotiation=postgres", n) == 0)) {
                *why = "sslnegotiation must be postgres (SSLRequest, the default) or direct";
                return -1;
            }
            kv += n + (kv[n] == '&');
        }
    }
    memmove(buf, auth, alen);
    buf[alen] = 0;
    if (alen == 0) {
        *why = "the URL has no host";
        return -1;
    }
    return 0;
}

int pqt_scan_target_parse(const char *line, pqt_scan_target *t, int *blank, const char **why)
{
    return pqt_scan_target_parse_as(line, PQT_SCAN_PROTO_TLS, t, blank, why);
}

int pqt_scan_target_parse_as(const char *line, int default_proto, pqt_scan_target *t, int *blank,
                             const char **why)
{
    char buf[1024];
    size_t n;
    *blank = 0;
    *why = NULL;
    memset(t, 0, sizeof(*t));
    if (default_proto < 0 || default_proto >= PQT_SCAN_PROTO_COUNT) {
        default_proto = PQT_SCAN_PROTO_TLS;
    }
    t->proto = default_proto;
    t->starttls = protos[default_proto].starttls;
    t->port = protos[default_proto].port;

    /* Trim, and cut a "#" comment. */
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    n = strcspn(line, "#\r\n");
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) {
        n--;
    }
    if (n == 0) {
        *blank = 1;
        return 0;
    }
    if (n >= sizeof(buf)) {
        *why = "line is too long (at most 1023 characters)";
        return PQT_ERR_SYNTAX;
    }
    memcpy(buf, line, n);
    buf[n] = 0;
    if (strpbrk(buf, " \t") != NULL) {
        *why = "unexpected whitespace inside the target; one target per line: host[:port][,sni]";
        return PQT_ERR_SYNTAX;
    }
    if (split_url(buf, t, why) < 0) {
        return PQT_ERR_SYNTAX;
    }

    /* ",sni" */
    char *comma = strchr(buf, ',');
    const char *sni = NULL;
    if (comma != NULL) {
        *comma = 0;
        sni = comma + 1;
        if (strchr(sni, ',') != NULL) {
            *why = "more than one ',' (expected host[:port][,sni])";
            return PQT_ERR_SYNTAX;
        }
        if (!valid_hostname(sni, strlen(sni))) {
            *why = "the SNI after ',' is not a valid host name";
            return PQT_ERR_SYNTAX;
        }
    }

    char *host = buf, *port = NULL;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close == NULL) {
            *why = "'[' without a matching ']' (IPv6 as [addr]:port)";
            return PQT_ERR_SYNTAX;
        }
        *close = 0;
        host = buf + 1;
        if (close[1] == ':') {
            port = close + 2;
        } else if (close[1] != 0) {
            *why = "expected ':port' after ']'";
            return PQT_ERR_SYNTAX;
        }
        unsigned char tmp[16];
        if (inet_pton(AF_INET6, host, tmp) != 1) {
            *why = "the address inside [ ] is not an IPv6 address";
            return PQT_ERR_SYNTAX;
        }
    } else {
        char *colon = strchr(buf, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            *colon = 0;
            port = colon + 1;
        } else if (colon != NULL) {
            /* Several colons: a bare IPv6 literal without a port. */
            unsigned char tmp[16];
            if (inet_pton(AF_INET6, buf, tmp) != 1) {
                *why = "not a valid IPv6 address; write [addr]:port to give a port";
                return PQT_ERR_SYNTAX;
            }
        }
    }
    if (port != NULL && parse_port(port, strlen(port), &t->port) != 0) {
        *why = "the port must be a number from 1 to 65535";
        return PQT_ERR_SYNTAX;
    }
    size_t hl = strlen(host);
    if (hl == 0) {
        *why = "the host is empty";
        return PQT_ERR_SYNTAX;
    }
    t->host_is_ip = is_ip_literal(host);
    if (!t->host_is_ip && !valid_hostname(host, hl)) {
        *why = "the host is neither an IP address nor a valid host name "
               "(letters, digits, '-', '.')";
        return PQT_ERR_SYNTAX;
    }
    if (hl > PQT_SCAN_HOST_MAX) {
        *why = "the host is too long";
        return PQT_ERR_SYNTAX;
    }
    memcpy(t->host, host, hl + 1);
    if (sni != NULL) {
        snprintf(t->sni, sizeof(t->sni), "%s", sni);
    } else if (!t->host_is_ip) {
        memcpy(t->sni, host, hl + 1);
    }
    return 0;
}

void pqt_scan_target_name(const pqt_scan_target *t, char *buf, size_t cap)
{
    int v6 = strchr(t->host, ':') != NULL;
    int explicit_sni = t->sni[0] != 0 && strcmp(t->sni, t->host) != 0;
    const pqt_scan_proto_info *pi = pqt_scan_proto_get(t->proto);
    int scheme = pi != NULL && t->proto != PQT_SCAN_PROTO_TLS && t->proto != PQT_SCAN_PROTO_HTTPS;
    int direct_pg = t->proto == PQT_SCAN_PROTO_POSTGRES && t->starttls == PQT_STARTTLS_NONE;
    snprintf(buf, cap, "%s%s%s%s%s:%u%s%s%s", scheme ? pi->scheme : "", scheme ? "://" : "",
             v6 ? "[" : "", t->host, v6 ? "]" : "", t->port, explicit_sni ? "," : "",
             explicit_sni ? t->sni : "", direct_pg ? "?sslnegotiation=direct" : "");
}

int pqt_scan_shard_parse(const char *s, unsigned *k, unsigned *n)
{
    char *end;
    if (s == NULL || !isdigit((unsigned char)s[0])) {
        return PQT_ERR_SYNTAX;
    }
    unsigned long a = strtoul(s, &end, 10);
    if (*end != '/' || !isdigit((unsigned char)end[1])) {
        return PQT_ERR_SYNTAX;
    }
    unsigned long b = strtoul(end + 1, &end, 10);
    if (*end != 0 || b == 0 || b > 65536 || a == 0 || a > b) {
        return PQT_ERR_SYNTAX;
    }
    *k = (unsigned)a;
    *n = (unsigned)b;
    return 0;
}

int pqt_scan_shard_member(const pqt_scan_target *t, unsigned k, unsigned n)
{
    char name[2 * PQT_SCAN_HOST_MAX + 16];
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    if (n <= 1) {
        return 1;
    }
    pqt_scan_target_name(t, name, sizeof(name));
    for (const char *p = name; *p; p++) {
        h ^= (uint8_t)tolower((unsigned char)*p);
        h *= 0x100000001b3ull;
    }
    return (unsigned)(h % n) == k - 1;
}
