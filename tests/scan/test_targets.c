/*
 * Unit tests for src/scan/targets.c: target lines (host, port, SNI, IPv6
 * brackets, comments) and the reasons given for bad ones, URLs with every
 * scheme (default ports, dialogues, ALPN, names) and --starttls, and sharding
 * (--shard k/n): every target in exactly one shard, the split pinned so that
 * machines running different releases agree.
 */
#include <stdio.h>
#include <string.h>

#include "pqtls/scan.h"

#include "../check.h"

/* ---- targets ---------------------------------------------------------------- */

static void expect_target(const char *line, const char *host, unsigned port, const char *sni,
                          const char *name)
{
    pqt_scan_target t;
    int blank = 0;
    const char *why = NULL;
    char buf[600];
    int r = pqt_scan_target_parse(line, &t, &blank, &why);
    CHECK(r == 0 && !blank, "'%s' parses (%s)", line, why ? why : "");
    if (r != 0) {
        return;
    }
    pqt_scan_target_name(&t, buf, sizeof(buf));
    CHECK(strcmp(t.host, host) == 0 && t.port == port && strcmp(t.sni, sni) == 0 &&
              strcmp(buf, name) == 0,
          "'%s' -> host '%s' port %u sni '%s' name '%s'", line, t.host, t.port, t.sni, buf);
}

static void expect_bad(const char *line, const char *why_part)
{
    pqt_scan_target t;
    int blank = 0;
    const char *why = NULL;
    int r = pqt_scan_target_parse(line, &t, &blank, &why);
    CHECK(r == PQT_ERR_SYNTAX && why != NULL && strstr(why, why_part) != NULL,
          "'%s' is rejected with a reason mentioning '%s' (got %d, '%s')", line, why_part, r,
          why ? why : "");
}

static void test_targets(void)
{
    expect_target("example.com", "example.com", 443, "example.com", "example.com:443");
    expect_target("  example.com:8443  # staging", "example.com", 8443, "example.com",
                  "example.com:8443");
    expect_target("192.0.2.7", "192.0.2.7", 443, "", "192.0.2.7:443");
    expect_target("192.0.2.7:444,api.example", "192.0.2.7", 444, "api.example",
                  "192.0.2.7:444,api.example");
    expect_target("[2001:db8::1]:8443", "2001:db8::1", 8443, "", "[2001:db8::1]:8443");
    expect_target("2001:db8::1", "2001:db8::1", 443, "", "[2001:db8::1]:443");
    expect_target("[::1]:443,localhost", "::1", 443, "localhost", "[::1]:443,localhost");
    expect_target("a.example,b.example", "a.example", 443, "b.example", "a.example:443,b.example");

    int blank = 0;
    const char *why;
    pqt_scan_target t;
    CHECK(pqt_scan_target_parse("   # a comment", &t, &blank, &why) == 0 && blank,
          "comment line is blank");
    CHECK(pqt_scan_target_parse("\r\n", &t, &blank, &why) == 0 && blank, "empty line is blank");

    expect_bad("example.com:0", "port");
    expect_bad("example.com:70000", "port");
    expect_bad("example.com:https", "port");
    expect_bad("exa mple.com", "whitespace");
    expect_bad("exa$mple.com", "host");
    expect_bad("[2001:db8::1", "]");
    expect_bad("[192.0.2.1]:443", "IPv6");
    expect_bad("2001:db8::zz", "IPv6");
    expect_bad("example.com,", "SNI");
    expect_bad("a,b,c", "','");
    expect_bad(":443", "empty");
}

/* A URL (or a line under --starttls default_proto): protocol, dialogue,
 * port, SNI and the target's name. */
static void expect_url(const char *line, int default_proto, int proto, int starttls,
                       const char *host, unsigned port, const char *sni, const char *name)
{
    pqt_scan_target t;
    int blank = 0;
    const char *why = NULL;
    char buf[600];
    int r = pqt_scan_target_parse_as(line, default_proto, &t, &blank, &why);
    CHECK(r == 0 && !blank, "'%s' parses (%s)", line, why ? why : "");
    if (r != 0) {
        return;
    }
    pqt_scan_target_name(&t, buf, sizeof(buf));
    CHECK(t.proto == proto && t.starttls == starttls && strcmp(t.host, host) == 0 &&
              t.port == port && strcmp(t.sni, sni) == 0 && strcmp(buf, name) == 0,
          "'%s' -> proto %d starttls %d host '%s' port %u sni '%s' name '%s'", line, t.proto,
          t.starttls, t.host, t.port, t.sni, buf);
}

static void test_urls(void)
{
    /* Every scheme, its default port and its dialogue (docs/scan.md). */
    static const struct {
        const char *scheme;
        int proto, starttls;
        unsigned port;
    } schemes[] = {
        {"https", PQT_SCAN_PROTO_HTTPS, PQT_STARTTLS_NONE, 443},
        {"smtp", PQT_SCAN_PROTO_SMTP, PQT_STARTTLS_SMTP, 25},
        {"submission", PQT_SCAN_PROTO_SUBMISSION, PQT_STARTTLS_SMTP, 587},
        {"smtps", PQT_SCAN_PROTO_SMTPS, PQT_STARTTLS_NONE, 465},
        {"imap", PQT_SCAN_PROTO_IMAP, PQT_STARTTLS_IMAP, 143},
        {"imaps", PQT_SCAN_PROTO_IMAPS, PQT_STARTTLS_NONE, 993},
        {"pop3", PQT_SCAN_PROTO_POP3, PQT_STARTTLS_POP3, 110},
        {"pop3s", PQT_SCAN_PROTO_POP3S, PQT_STARTTLS_NONE, 995},
        {"ftp", PQT_SCAN_PROTO_FTP, PQT_STARTTLS_FTP, 21},
        {"ldap", PQT_SCAN_PROTO_LDAP, PQT_STARTTLS_LDAP, 389},
        {"ldaps", PQT_SCAN_PROTO_LDAPS, PQT_STARTTLS_NONE, 636},
        {"postgres", PQT_SCAN_PROTO_POSTGRES, PQT_STARTTLS_POSTGRES, 5432},
        {"postgresql", PQT_SCAN_PROTO_POSTGRES, PQT_STARTTLS_POSTGRES, 5432},
        {"mysql", PQT_SCAN_PROTO_MYSQL, PQT_STARTTLS_MYSQL, 3306},
        {"xmpp", PQT_SCAN_PROTO_XMPP, PQT_STARTTLS_XMPP, 5222},
    };
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        char line[128], name[128];
        const pqt_scan_proto_info *pi = pqt_scan_proto_get(schemes[i].proto);
        CHECK(pi != NULL && pi->port == schemes[i].port && pi->starttls == schemes[i].starttls,
              "%s: the table says port %u, dialogue %d", schemes[i].scheme, pi ? pi->port : 0,
              pi ? pi->starttls : -1);
        snprintf(line, sizeof(line), "%s://mail.example", schemes[i].scheme);
        if (schemes[i].proto == PQT_SCAN_PROTO_HTTPS) {
            snprintf(name, sizeof(name), "mail.example:%u", schemes[i].port);
        } else {
            snprintf(name, sizeof(name), "%s://mail.example:%u", pi ? pi->scheme : "?",
                     schemes[i].port);
        }
        expect_url(line, PQT_SCAN_PROTO_TLS, schemes[i].proto, schemes[i].starttls, "mail.example",
                   schemes[i].port, "mail.example", name);
        /* Schemes are case-insensitive (RFC 3986 §3.1). */
        for (char *c = line; *c != ':'; c++) {
            *c = (char)(*c - 32 * (*c >= 'a' && *c <= 'z'));
        }
        expect_url(line, PQT_SCAN_PROTO_TLS, schemes[i].proto, schemes[i].starttls, "mail.example",
                   schemes[i].port, "mail.example", name);
        CHECK(pqt_scan_proto_by_scheme(schemes[i].scheme) == schemes[i].proto, "by scheme %s",
              schemes[i].scheme);
    }
    CHECK(pqt_scan_proto_by_scheme("tls") < 0 && pqt_scan_proto_by_scheme("gopher") < 0,
          "tls and gopher are not schemes");
    /* ALPN: HTTP names for TLS and https, "postgresql" for PostgreSQL 17
     * (which refuses a connection whose ALPN lacks it), none for the rest. */
    CHECK(strcmp(pqt_scan_proto_get(PQT_SCAN_PROTO_TLS)->alpn[0], "h2") == 0 &&
              strcmp(pqt_scan_proto_get(PQT_SCAN_PROTO_HTTPS)->alpn[1], "http/1.1") == 0,
          "ALPN h2, http/1.1");
    CHECK(strcmp(pqt_scan_proto_get(PQT_SCAN_PROTO_POSTGRES)->alpn[0], "postgresql") == 0 &&
              pqt_scan_proto_get(PQT_SCAN_PROTO_POSTGRES)->alpn[1] == NULL,
          "ALPN postgresql");
    CHECK(pqt_scan_proto_get(PQT_SCAN_PROTO_SMTP)->alpn[0] == NULL &&
              pqt_scan_proto_get(PQT_SCAN_PROTO_IMAPS)->alpn[0] == NULL,
          "no ALPN for mail");
    CHECK(pqt_scan_proto_get(PQT_SCAN_PROTO_COUNT) == NULL && pqt_scan_proto_get(-1) == NULL,
          "out of range");
    CHECK(strcmp(pqt_starttls_name(PQT_STARTTLS_LDAP), "ldap") == 0 &&
              pqt_starttls_name(PQT_STARTTLS_NONE) == NULL,
          "dialogue names");

    /* Ports, SNI, IPv6, user, path, query. */
    expect_url("smtp://192.0.2.7:2525,mail.example", 0, PQT_SCAN_PROTO_SMTP, PQT_STARTTLS_SMTP,
               "192.0.2.7", 2525, "mail.example", "smtp://192.0.2.7:2525,mail.example");
    expect_url("imap://[2001:db8::1]", 0, PQT_SCAN_PROTO_IMAP, PQT_STARTTLS_IMAP, "2001:db8::1",
               143, "", "imap://[2001:db8::1]:143");
    expect_url("https://www.example/login?next=/a,b#top", 0, PQT_SCAN_PROTO_HTTPS,
               PQT_STARTTLS_NONE, "www.example", 443, "www.example", "www.example:443");
    expect_url("https://www.example:8443/", 0, PQT_SCAN_PROTO_HTTPS, PQT_STARTTLS_NONE,
               "www.example", 8443, "www.example", "www.example:8443");
    expect_url("postgres://app:s3cret@db.example/appdb?sslmode=require", 0, PQT_SCAN_PROTO_POSTGRES,
               PQT_STARTTLS_POSTGRES, "db.example", 5432, "db.example",
               "postgres://db.example:5432");
    expect_url("postgresql://db.example:5433/x?sslnegotiation=direct&sslmode=require", 0,
               PQT_SCAN_PROTO_POSTGRES, PQT_STARTTLS_NONE, "db.example", 5433, "db.example",
               "postgres://db.example:5433?sslnegotiation=direct");
    expect_url("postgres://db.example?sslnegotiation=postgres", 0, PQT_SCAN_PROTO_POSTGRES,
               PQT_STARTTLS_POSTGRES, "db.example", 5432, "db.example",
               "postgres://db.example:5432");
    expect_url("ldap://dc1.example/dc=example,dc=com??sub", 0, PQT_SCAN_PROTO_LDAP,
               PQT_STARTTLS_LDAP, "dc1.example", 389, "dc1.example", "ldap://dc1.example:389");
    expect_url("xmpp://192.0.2.9,chat.example", 0, PQT_SCAN_PROTO_XMPP, PQT_STARTTLS_XMPP,
               "192.0.2.9", 5222, "chat.example", "xmpp://192.0.2.9:5222,chat.example");
    expect_url("  smtp://mx.example  # the MX", 0, PQT_SCAN_PROTO_SMTP, PQT_STARTTLS_SMTP,
               "mx.example", 25, "mx.example", "smtp://mx.example:25");

    /* --starttls: lines without a scheme take its protocol and port; a
     * URL keeps its own. */
    expect_url("mx.example", PQT_SCAN_PROTO_SMTP, PQT_SCAN_PROTO_SMTP, PQT_STARTTLS_SMTP,
               "mx.example", 25, "mx.example", "smtp://mx.example:25");
    expect_url("mx.example:2525", PQT_SCAN_PROTO_SMTP, PQT_SCAN_PROTO_SMTP, PQT_STARTTLS_SMTP,
               "mx.example", 2525, "mx.example", "smtp://mx.example:2525");
    expect_url("imaps://mx.example", PQT_SCAN_PROTO_SMTP, PQT_SCAN_PROTO_IMAPS, PQT_STARTTLS_NONE,
               "mx.example", 993, "mx.example", "imaps://mx.example:993");
    expect_url("db.example", PQT_SCAN_PROTO_POSTGRES, PQT_SCAN_PROTO_POSTGRES,
               PQT_STARTTLS_POSTGRES, "db.example", 5432, "db.example",
               "postgres://db.example:5432");
    /* The plain form is unchanged: no scheme in the name, same shard. */
    expect_url("example.com", PQT_SCAN_PROTO_TLS, PQT_SCAN_PROTO_TLS, PQT_STARTTLS_NONE,
               "example.com", 443, "example.com", "example.com:443");

    expect_bad("gopher://example.com", "unknown scheme");
    expect_bad("://example.com", "scheme");
    expect_bad("smtp://", "no host");
    expect_bad("smtp:///path", "no host");
    expect_bad("smtp://user@", "no host");
    expect_bad("smtp://mx.example:0", "port");
    expect_bad("smtp://mx.example:99999", "port");
    expect_bad("smtp://mx example", "whitespace");
    expect_bad("smtp://mx$.example", "host");
    expect_bad("postgres://db.example?sslnegotiation=maybe", "sslnegotiation");
    expect_bad("smtp://mx.example,", "SNI");
}

static void test_shard(void)
{
    unsigned k, n;
    CHECK(pqt_scan_shard_parse("2/4", &k, &n) == 0 && k == 2 && n == 4, "2/4");
    CHECK(pqt_scan_shard_parse("0/4", &k, &n) != 0, "0/4 rejected");
    CHECK(pqt_scan_shard_parse("5/4", &k, &n) != 0, "5/4 rejected");
    CHECK(pqt_scan_shard_parse("1/0", &k, &n) != 0, "1/0 rejected");
    CHECK(pqt_scan_shard_parse("1/4x", &k, &n) != 0, "1/4x rejected");
    CHECK(pqt_scan_shard_parse("-1/4", &k, &n) != 0, "-1/4 rejected");

    /* Every target lands in exactly one shard, the same one every time,
     * and the shards are not absurdly unbalanced. */
    unsigned counts[4] = {0};
    for (int i = 0; i < 4000; i++) {
        char line[64];
        int blank;
        const char *why;
        pqt_scan_target t;
        snprintf(line, sizeof(line), "host%d.example:%d", i, 443 + i % 7);
        if (pqt_scan_target_parse(line, &t, &blank, &why) != 0) {
            CHECK(0, "parse %s", line);
            continue;
        }
        int owners = 0;
        for (unsigned s = 1; s <= 4; s++) {
            if (pqt_scan_shard_member(&t, s, 4)) {
                owners++;
                counts[s - 1]++;
                CHECK(pqt_scan_shard_member(&t, s, 4), "deterministic");
            }
        }
        CHECK(owners == 1, "%s belongs to exactly one of 4 shards (%d)", line, owners);
        CHECK(pqt_scan_shard_member(&t, 1, 1), "shard 1/1 holds everything");
    }
    for (int s = 0; s < 4; s++) {
        CHECK(counts[s] > 800 && counts[s] < 1200, "shard %d holds %u of 4000", s + 1, counts[s]);
    }
    /* A pinned value, so the split never changes between releases (machines
     * running different versions must agree). */
    pqt_scan_target t;
    int blank;
    const char *why;
    CHECK(pqt_scan_target_parse("example.com", &t, &blank, &why) == 0, "parse");
    int member = -1;
    for (unsigned s = 1; s <= 7; s++) {
        if (pqt_scan_shard_member(&t, s, 7)) {
            member = (int)s;
        }
    }
    printf("  example.com:443 is in shard %d/7\n", member);
    CHECK(member == 6, "example.com:443 stays in shard 6/7 (got %d)", member);
}

int main(void)
{
    test_targets();
    test_urls();
    test_shard();
    printf("test_scan_targets: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
