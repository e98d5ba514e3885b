/*
 * Unit test for the engine's report order (src/scan/engine.c): targets
 * finish in any order but are reported in input order. On loopback, no
 * servers: the first target is a listener that never answers (it finishes
 * last, at the first-byte deadline), the others closed ports (refused at
 * once). With the default window every later target still runs while the
 * first one waits; with a window of 1 they cannot start before it is
 * reported, which the elapsed time shows.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pqtls/scan.h"

#include "../check.h"

#define N_TARGETS 12

typedef struct {
    uint16_t ports[N_TARGETS];
    unsigned next;
    uint64_t order[N_TARGETS];
    unsigned done;
} ctx;

static int next_target(void *p, pqt_scan_target *t)
{
    ctx *c = p;
    char line[64];
    int blank;
    const char *why;
    if (c->next == N_TARGETS) {
        return 0;
    }
    snprintf(line, sizeof(line), "127.0.0.1:%u", c->ports[c->next]);
    if (pqt_scan_target_parse(line, t, &blank, &why) != 0) {
        return 0;
    }
    t->index = c->next++;
    return 1;
}

static int on_done(void *p, pqt_scan_result *r)
{
    ctx *c = p;
    if (c->done < N_TARGETS) {
        c->order[c->done] = r->target.index;
    }
    c->done++;
    return 0;
}

/* A port on 127.0.0.1: listening (never accepting) or closed. */
static int loopback_port(int listening, uint16_t *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0 || (listening && listen(fd, 16) != 0)) {
        return -1;
    }
    *port = ntohs(a.sin_port);
    if (!listening) {
        close(fd);
        return 0;
    }
    return fd;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void run(unsigned window, unsigned slow, uint64_t *elapsed)
{
    ctx c;
    int fds[N_TARGETS];
    memset(&c, 0, sizeof(c));
    for (unsigned i = 0; i < N_TARGETS; i++) {
        fds[i] = loopback_port(i < slow, &c.ports[i]);
        CHECK(fds[i] >= 0 || i >= slow, "listener %u", i);
    }
    pqt_scan_config cfg;
    pqt_scan_config_default(&cfg);
    cfg.concurrency = 8;
    cfg.retries = 0;
    cfg.first_byte_timeout_ms = 300;
    cfg.handshake_timeout_ms = 2000;
    cfg.probe_mask = 1u << PQT_PROBE_CLASSICAL;
    cfg.reorder_window = window;
    uint64_t t0 = now_ms();
    int ret = pqt_scan_run(&cfg, next_target, &c, on_done, &c);
    *elapsed = now_ms() - t0;
    CHECK(ret == 0, "scan: %d", ret);
    CHECK(c.done == N_TARGETS, "window %u: %u of %d targets reported", window, c.done, N_TARGETS);
    for (unsigned i = 0; i < N_TARGETS && i < c.done; i++) {
        CHECK(c.order[i] == i, "window %u: report %u is target %llu, expected %u (input order)",
              window, i, (unsigned long long)c.order[i], i);
    }
    for (unsigned i = 0; i < slow; i++) {
        close(fds[i]);
    }
}

int main(void)
{
    uint64_t ms = 0;
    /* One slow target first: the eleven fast ones finish long before it. */
    run(0, 1, &ms);
    printf("  default window: %llu ms\n", (unsigned long long)ms);
    CHECK(ms >= 300, "the slow target waited for its deadline (%llu ms)", (unsigned long long)ms);
    /* Two slow ones with a window of 1: the second cannot start before the
     * first is reported, so the deadlines add up. */
    run(1, 2, &ms);
    printf("  window 1, two slow targets: %llu ms\n", (unsigned long long)ms);
    CHECK(ms >= 600, "window 1 runs targets one at a time (%llu ms)", (unsigned long long)ms);
    printf("test_scan_order: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
