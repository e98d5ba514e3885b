/*
 * Unit tests for src/scan/targets.c: target lines (host, port, SNI, IPv6
 * brackets, comments) and the reasons given for bad ones, and sharding
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
    test_shard();
    printf("test_scan_targets: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
