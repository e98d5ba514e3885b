/*
 * Unit tests for src/scan/resolve.c through pqt_scan_run: names resolved on
 * worker threads, off the event loop, with an injected getaddrinfo (no
 * network; the targets are a closed loopback port). A name that does not
 * resolve and one whose lookup hangs are reported per target, and slow
 * lookups run in parallel.
 */
#define _GNU_SOURCE /* getaddrinfo, nanosleep, clock_gettime */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pqtls/scan.h"

#include "../check.h"

/* ---- name resolution in the engine (injected resolver, loopback only) ---- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* "fail*" does not exist, "hang*" answers after 2 s, "delay*" after 200 ms,
 * anything else is 127.0.0.1. No network is touched. */
static int fake_gai(const char *node, const char *service, const struct addrinfo *hints,
                    struct addrinfo **res)
{
    if (strncmp(node, "fail", 4) == 0) {
        return EAI_NONAME;
    }
    if (strncmp(node, "hang", 4) == 0) {
        sleep_ms(2000);
        return EAI_AGAIN;
    }
    if (strncmp(node, "delay", 5) == 0) {
        sleep_ms(200);
    }
    struct addrinfo h = *hints;
    h.ai_flags |= AI_NUMERICHOST;
    return getaddrinfo("127.0.0.1", service, &h, res);
}

typedef struct {
    const char *const *names;
    size_t n, next;
    uint16_t port;
    unsigned done;
    char errors[32][160];
    char address[32][64];
    char host[32][PQT_SCAN_HOST_MAX + 1];
} gai_run;

static int gai_next(void *ctx, pqt_scan_target *t)
{
    gai_run *g = ctx;
    if (g->next == g->n) {
        return 0;
    }
    char line[128];
    snprintf(line, sizeof(line), "%s:%u", g->names[g->next++], g->port);
    int blank = 0;
    const char *why = NULL;
    CHECK(pqt_scan_target_parse(line, t, &blank, &why) == 0, "target %s", line);
    return 1;
}

static int gai_done(void *ctx, pqt_scan_result *r)
{
    gai_run *g = ctx;
    if (g->done < 32) {
        snprintf(g->errors[g->done], sizeof(g->errors[0]), "%s", r->error);
        snprintf(g->address[g->done], sizeof(g->address[0]), "%s", r->address);
        snprintf(g->host[g->done], sizeof(g->host[0]), "%s", r->target.host);
    }
    g->done++;
    return 0;
}

static uint16_t closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return 9;
    }
    close(fd); /* nothing listens there now: connections are refused at once */
    return ntohs(a.sin_port);
}

static void test_resolution(void)
{
    static const char *const names[] = {"ok1.test",    "fail.test",   "hang.test",   "127.0.0.1",
                                        "ok2.test",    "delay1.test", "delay2.test", "delay3.test",
                                        "delay4.test", "delay5.test", "delay6.test", "delay7.test",
                                        "delay8.test"};
    const size_t n = sizeof(names) / sizeof(names[0]);
    gai_run g;
    pqt_scan_config cfg;
    memset(&g, 0, sizeof(g));
    g.names = names;
    g.n = n;
    g.port = closed_port();
    pqt_scan_config_default(&cfg);
    cfg.getaddrinfo = fake_gai;
    cfg.resolve_timeout_ms = 300;
    cfg.resolvers = 4;
    cfg.retries = 0;
    cfg.probe_mask = 1u << PQT_PROBE_CLASSICAL;
    cfg.concurrency = 4;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = pqt_scan_run(&cfg, gai_next, &g, gai_done, &g);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    CHECK(rc == 0 && g.done == n, "every target reported once (%u of %zu, rc %d)", g.done, n, rc);
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%u", g.port);
    for (unsigned i = 0; i < g.done && i < 32; i++) {
        const char *h = g.host[i];
        if (strncmp(h, "fail", 4) == 0) {
            CHECK(strstr(g.errors[i], "cannot resolve 'fail.test'") &&
                      strstr(g.errors[i], gai_strerror(EAI_NONAME)) && g.address[i][0] == 0,
                  "a name that does not resolve: '%s'", g.errors[i]);
        } else if (strncmp(h, "hang", 4) == 0) {
            CHECK(strstr(g.errors[i], "cannot resolve 'hang.test': no answer within 300 ms"),
                  "a lookup that hangs times out per name: '%s'", g.errors[i]);
        } else {
            CHECK(g.errors[i][0] == 0 && strcmp(g.address[i], want) == 0,
                  "%s resolved to %s (error '%s')", h, g.address[i], g.errors[i]);
        }
    }
    /* Eight 200 ms lookups on four threads, one 300 ms timeout: about a
     * second; one lookup at a time on the loop would take over 1.9 s and
     * the hung one 2 s more. */
    CHECK(secs < 1.8, "names resolved in parallel, off the loop: %.2f s", secs);
    printf("  resolution: %zu targets (1 unknown, 1 hung, 8 slow) in %.2f s\n", n, secs);
}

int main(void)
{
    test_resolution();
    printf("test_scan_resolve: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
