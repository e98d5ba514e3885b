/*
 * Target lines and sharding (include/pqtls/scan.h).
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

#include "pqtls/scan.h"

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

int pqt_scan_target_parse(const char *line, pqt_scan_target *t, int *blank, const char **why)
{
    char buf[1024];
    size_t n;
    *blank = 0;
    *why = NULL;
    memset(t, 0, sizeof(*t));
    t->port = 443;

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
    snprintf(buf, cap, "%s%s%s:%u%s%s", v6 ? "[" : "", t->host, v6 ? "]" : "", t->port,
             explicit_sni ? "," : "", explicit_sni ? t->sni : "");
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
