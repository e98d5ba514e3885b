/*
 * The scan engine: one epoll loop over non-blocking sockets
 * (include/pqtls/scan.h, pqt_scan_run).
 *
 * Targets are pulled from the caller one at a time when a connection slot
 * is free and no active target has a probe left to start, so memory is
 * bounded by the concurrency, never by the length of the target list.
 * Every connection has a connect deadline, a first-byte deadline after the
 * ClientHello is written, and an overall handshake deadline; timers are
 * checked on every wake-up (O(concurrency), which is small).
 *
 * A STARTTLS target runs its dialogue (pqt_starttls) on every probe's
 * connection before the ClientHello: each of its replies must start within
 * the first-byte deadline of the command it answers (or of the connect, for
 * a greeting), all within the handshake deadline. Then the probe goes on as
 * on a direct connection, split ClientHellos and HRR continuations
 * included.
 *
 * Targets finish in any order but are reported in input order: a finished
 * target waits (a copy of its result) until every earlier one has been
 * reported, and no target starts more than the reorder window ahead of the
 * oldest unreported one, which bounds the copies.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "scan_internal.h"

enum { C_FREE = 0, C_CONNECTING, C_DIALOGUE, C_SENDING, C_GAP, C_READING };

typedef struct target_slot {
    int used;
    pqt_scan_result res;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    unsigned todo;      /* probes waiting to be (re)started */
    unsigned in_flight; /* probes with a connection */
    unsigned attempts[PQT_PROBE_COUNT];
    uint64_t retry_at[PQT_PROBE_COUNT];
    uint64_t t_start;
    uint64_t seq; /* activation order: the order of the reports */
} target_slot;

typedef struct {
    int state;
    int fd;
    target_slot *t;
    int probe;
    pqt_probe_session *s;
    const uint8_t *out;
    size_t out_len, out_pos, out_stop;
    uint64_t t0, deadline_phase, deadline_total, gap_until;
    uint64_t sent;
    uint32_t events;   /* what epoll watches for */
    pqt_starttls *dlg; /* the dialogue before TLS, until TLS starts */
    size_t dlg_pos;    /* bytes of its current output sent */
    uint64_t dlg_rx;   /* bytes received in the dialogue */
} conn;

/* A target read ahead of use, its name being resolved meanwhile. */
typedef struct {
    pqt_scan_target target;
    int ready; /* the address (or the error) is known */
    int rc;    /* getaddrinfo's result; EAI_AGAIN + timed_out for a timeout */
    int timed_out;
    struct sockaddr_storage addr;
    socklen_t addr_len;
} ahead_slot;

typedef struct {
    const pqt_scan_config *cfg;
    int ep;
    ahead_slot *ahead; /* ring of n_ahead read-ahead targets */
    unsigned n_ahead, ahead_head, ahead_count;
    int input_eof;
    pqt_scan_resolver *resolver; /* created at the first name */
    uint64_t resolve_wake;       /* when the head lookup times out, 0 if none */
    int resolver_mark;           /* its address tags the eventfd in epoll */
    conn *conns;
    target_slot *targets;
    unsigned n_conns, n_targets;
    unsigned active_conns, active_targets;
    unsigned probe_mask;
    int eof, abort;
    uint64_t next_conn_us;
    pqt_scan_next_fn next;
    void *next_ctx;
    pqt_scan_done_fn done;
    void *done_ctx;
    pqt_scan_cert_cache *certs;
    /* Reports in input order: results finished ahead of their turn, by
     * seq modulo window; the next seq to start and the next to report. */
    pqt_scan_result **held;
    unsigned window;
    uint64_t next_seq, report_seq;
    int failed; /* a local failure (memory) to return */
} engine;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t pqt_scan_now_ms(void)
{
    return now_us() / 1000u;
}

void pqt_scan_config_default(pqt_scan_config *c)
{
    memset(c, 0, sizeof(*c));
    c->concurrency = 64;
    c->connect_timeout_ms = 3000;
    c->first_byte_timeout_ms = 3000;
    c->handshake_timeout_ms = 8000;
    c->retries = 1;
    c->rate = 0;
    c->resolvers = 4;
    c->resolve_timeout_ms = 5000;
    c->split_gap_ms = 25;
    c->probe_mask = 0;
}

/* "ip:port" / "[ip]:port" of the address a target will connect to. */
static void set_address(target_slot *t, const struct sockaddr_storage *addr, socklen_t len)
{
    char ip[INET6_ADDRSTRLEN] = "";
    memcpy(&t->addr, addr, len);
    t->addr_len = len;
    if (addr->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, ip, sizeof(ip));
        snprintf(t->res.address, sizeof(t->res.address), "[%s]:%u", ip, t->res.target.port);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, ip, sizeof(ip));
        snprintf(t->res.address, sizeof(t->res.address), "%s:%u", ip, t->res.target.port);
    }
}

/* An IP literal: getaddrinfo with AI_NUMERICHOST does not block. */
static void resolve_numeric(ahead_slot *a)
{
    struct addrinfo hints, *ai = NULL;
    char port[8];
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    snprintf(port, sizeof(port), "%u", a->target.port);
    a->rc = getaddrinfo(a->target.host, port, &hints, &ai);
    if (a->rc == 0 && (ai == NULL || ai->ai_addrlen > sizeof(a->addr))) {
        a->rc = EAI_FAMILY;
    }
    if (a->rc == 0) {
        memcpy(&a->addr, ai->ai_addr, ai->ai_addrlen);
        a->addr_len = ai->ai_addrlen;
    }
    if (ai != NULL) {
        freeaddrinfo(ai);
    }
    a->ready = 1;
}

/* Read targets ahead into the window; names go to the resolver threads. */
static void fill_ahead(engine *e)
{
    while (!e->input_eof && !e->abort && e->ahead_count < e->n_ahead) {
        unsigned i = (e->ahead_head + e->ahead_count) % e->n_ahead;
        ahead_slot *a = &e->ahead[i];
        memset(a, 0, sizeof(*a));
        if (!e->next(e->next_ctx, &a->target)) {
            e->input_eof = 1;
            break;
        }
        e->ahead_count++;
        if (a->target.host_is_ip) {
            resolve_numeric(a);
            continue;
        }
        if (e->resolver == NULL) {
            if (pqt_scan_resolver_new(e->n_ahead, e->cfg->resolvers, e->cfg->getaddrinfo,
                                      &e->resolver) != 0) {
                e->abort = 1;
                return;
            }
            struct epoll_event ev;
            memset(&ev, 0, sizeof(ev));
            ev.events = EPOLLIN;
            ev.data.ptr = &e->resolver_mark;
            if (epoll_ctl(e->ep, EPOLL_CTL_ADD, pqt_scan_resolver_fd(e->resolver), &ev) != 0) {
                e->abort = 1;
                return;
            }
        }
        pqt_scan_resolver_submit(e->resolver, i, a->target.host, a->target.port, 0);
    }
}

/* The head of the window, once its address is known; NULL while its name
 * is still being resolved (e->resolve_wake says until when at most). */
static ahead_slot *ahead_head_ready(engine *e, uint64_t now)
{
    e->resolve_wake = 0;
    if (e->ahead_count == 0) {
        return NULL;
    }
    ahead_slot *a = &e->ahead[e->ahead_head];
    if (a->ready) {
        return a;
    }
    int rc = 0;
    uint64_t deadline = 0;
    int st = pqt_scan_resolver_poll(e->resolver, e->ahead_head, now, e->cfg->resolve_timeout_ms,
                                    &a->addr, &a->addr_len, &rc, &deadline);
    if (st == PQT_RESOLVE_DONE) {
        a->rc = rc;
        a->ready = 1;
    } else if (st == PQT_RESOLVE_TIMEOUT) {
        a->rc = EAI_AGAIN;
        a->timed_out = 1;
        a->ready = 1;
    } else if (st == PQT_RESOLVE_RUNNING) {
        e->resolve_wake = deadline;
    }
    return a->ready ? a : NULL;
}

/* Hand one result to the caller; a non-zero answer aborts the scan. */
static void deliver(engine *e, pqt_scan_result *r)
{
    if (e->done(e->done_ctx, r) != 0) {
        e->abort = 1;
    }
}

/* A target finished: classify it, and report it and every held result
 * after it whose turn has come; or hold it until the earlier ones finish. */
static void report(engine *e, target_slot *t)
{
    pqt_scan_classify(&t->res);
    t->res.ms = (uint32_t)(pqt_scan_now_ms() - t->t_start);
    if (t->seq == e->report_seq) {
        deliver(e, &t->res);
        e->report_seq++;
        for (pqt_scan_result **h; *(h = &e->held[e->report_seq % e->window]) != NULL;) {
            deliver(e, *h);
            free(*h);
            *h = NULL;
            e->report_seq++;
        }
    } else {
        pqt_scan_result *copy = malloc(sizeof(*copy));
        if (copy == NULL) {
            e->abort = 1;
            e->failed = PQT_ERR_NOMEM;
        } else {
            *copy = t->res;
            e->held[t->seq % e->window] = copy;
        }
    }
    t->used = 0;
    e->active_targets--;
}

/* Start the next target in input order; 1 if a slot was filled or a
 * target reported, 0 if none is ready (end of input, no free slot, or its
 * name is still being resolved). */
static int activate_target(engine *e)
{
    target_slot *t = NULL;
    if (e->eof || e->abort) {
        return 0;
    }
    fill_ahead(e);
    if (e->ahead_count == 0 && e->input_eof) {
        e->eof = 1;
        return 0;
    }
    for (unsigned i = 0; i < e->n_targets; i++) {
        if (!e->targets[i].used) {
            t = &e->targets[i];
            break;
        }
    }
    if (t == NULL || e->next_seq - e->report_seq >= e->window) {
        return 0;
    }
    ahead_slot *a = ahead_head_ready(e, pqt_scan_now_ms());
    if (a == NULL) {
        return 0;
    }
    memset(t, 0, sizeof(*t));
    t->res.target = a->target;
    t->seq = e->next_seq++;
    t->used = 1;
    e->active_targets++;
    pqt_scan_target_name(&t->res.target, t->res.name, sizeof(t->res.name));
    t->t_start = pqt_scan_now_ms();
    e->ahead_head = (e->ahead_head + 1) % e->n_ahead;
    e->ahead_count--;
    if (a->rc != 0) {
        if (a->timed_out) {
            snprintf(t->res.error, sizeof(t->res.error),
                     "cannot resolve '%s': no answer within %u ms", t->res.target.host,
                     e->cfg->resolve_timeout_ms);
        } else {
            snprintf(t->res.error, sizeof(t->res.error), "cannot resolve '%s': %s",
                     t->res.target.host, gai_strerror(a->rc));
        }
        report(e, t);
        fill_ahead(e);
        return 1;
    }
    set_address(t, &a->addr, a->addr_len);
    fill_ahead(e);
    t->todo = e->probe_mask;
    return 1;
}

static void close_conn(engine *e, conn *c)
{
    if (c->fd >= 0) {
        /* Abortive close (RST): a scanner must not leave thousands of
         * TIME_WAIT sockets behind on its own side. */
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    pqt_probe_session_free(c->s);
    c->s = NULL;
    pqt_starttls_free(c->dlg);
    c->dlg = NULL;
    c->fd = -1;
    c->state = C_FREE;
    e->active_conns--;
}

/* The probe has a verdict: store it, maybe retry, maybe finish the target. */
static void conn_done(engine *e, conn *c)
{
    target_slot *t = c->t;
    const pqt_probe_result *pr = pqt_probe_session_result(c->s);
    pqt_probe_result *dst = &t->res.probes[c->probe];
    uint64_t now = pqt_scan_now_ms();

    *dst = *pr;
    dst->bytes_sent = c->sent;
    dst->bytes_received += c->dlg_rx;
    dst->in_dialogue = c->state == C_DIALOGUE;
    dst->ms = (uint32_t)(now - c->t0);
    dst->attempts = t->attempts[c->probe];
    const pqt_scan_cert *cert = pqt_probe_session_cert(c->s);
    if (cert->seen && !t->res.cert.seen) {
        t->res.cert = *cert;
    } else if (cert->verify_scheme && !t->res.cert.verify_scheme) {
        t->res.cert.verify_scheme = cert->verify_scheme;
    }
    int retry = (pr->outcome == PQT_OUTCOME_CONNECT_FAILED || pr->outcome == PQT_OUTCOME_TIMEOUT ||
                 pr->outcome == PQT_OUTCOME_RESET) &&
                dst->bytes_received == 0 && t->attempts[c->probe] <= e->cfg->retries;
    t->in_flight--;
    if (retry) {
        t->todo |= 1u << c->probe;
        t->retry_at[c->probe] = now + 50u * t->attempts[c->probe];
    } else {
        t->res.probes_run |= 1u << c->probe;
    }
    close_conn(e, c);
    if (t->todo == 0 && t->in_flight == 0) {
        report(e, t);
    }
}

static void fail(engine *e, conn *c, int outcome, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fail(engine *e, conn *c, int outcome, const char *error, const char *fmt, ...)
{
    char detail[PQT_PROBE_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    pqt_probe_session_fail(c->s, outcome, error, detail);
    conn_done(e, c);
}

static int watch(engine *e, conn *c, uint32_t events, int op)
{
    struct epoll_event ev;
    if (op == EPOLL_CTL_MOD && events == c->events) {
        return 0; /* a system call saved */
    }
    c->events = events;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = c;
    return epoll_ctl(e->ep, op, c->fd, &ev);
}

static void start_conn(engine *e, target_slot *t, int probe)
{
    conn *c = NULL;
    for (unsigned i = 0; i < e->n_conns; i++) {
        if (e->conns[i].state == C_FREE) {
            c = &e->conns[i];
            break;
        }
    }
    if (c == NULL) {
        return;
    }
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->t = t;
    c->probe = probe;
    c->state = C_CONNECTING;
    c->t0 = pqt_scan_now_ms();
    c->deadline_phase = c->t0 + e->cfg->connect_timeout_ms;
    c->deadline_total = c->t0 + e->cfg->handshake_timeout_ms;
    e->active_conns++;
    t->todo &= ~(1u << probe);
    t->in_flight++;
    t->attempts[probe]++;

    const pqt_scan_proto_info *pi = pqt_scan_proto_get(t->res.target.proto);
    int ret = pqt_probe_session_new_ex(probe, t->res.target.sni, pi ? pi->alpn : NULL, &c->s);
    if (ret != 0) {
        /* Only local failures (memory, randomness) get here. */
        if (pqt_probe_session_new(PQT_PROBE_CLASSICAL, NULL, &c->s) != 0) {
            e->abort = 1;
            c->state = C_FREE;
            e->active_conns--;
            t->in_flight--;
            return;
        }
        fail(e, c, PQT_OUTCOME_MALFORMED, "internal", "could not build the ClientHello: %s",
             pqt_strerror(ret));
        return;
    }
    pqt_probe_session_set_cert_cache(c->s, e->certs, t->res.cert.seen);
    if (t->res.target.starttls != PQT_STARTTLS_NONE) {
        const char *domain = t->res.target.sni[0] ? t->res.target.sni : t->res.target.host;
        ret = pqt_starttls_new(t->res.target.starttls, domain, &c->dlg);
        if (ret != 0) {
            fail(e, c, PQT_OUTCOME_MALFORMED, "internal", "could not start the %s dialogue: %s",
                 pqt_starttls_name(t->res.target.starttls), pqt_strerror(ret));
            return;
        }
    }
    size_t split = 0;
    pqt_probe_session_hello(c->s, &c->out, &c->out_len, &split);
    c->out_stop = split ? split : c->out_len;

    c->fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fail(e, c, PQT_OUTCOME_CONNECT_FAILED, "socket", "socket(): %s", strerror(errno));
        return;
    }
    /* The segmentation probes depend on each write leaving as its own segment. */
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&t->addr, t->addr_len) != 0 && errno != EINPROGRESS) {
        fail(e, c, PQT_OUTCOME_CONNECT_FAILED, "connect", "connect(): %s", strerror(errno));
        return;
    }
    if (watch(e, c, EPOLLOUT, EPOLL_CTL_ADD) != 0) {
        fail(e, c, PQT_OUTCOME_CONNECT_FAILED, "epoll", "epoll_ctl(): %s", strerror(errno));
    }
}

static void do_write(engine *e, conn *c)
{
    while (c->out_pos < c->out_stop) {
        ssize_t n = send(c->fd, c->out + c->out_pos, c->out_stop - c->out_pos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            pqt_probe_session_eof(c->s, 1);
            conn_done(e, c);
            return;
        }
        c->out_pos += (size_t)n;
        c->sent += (uint64_t)n;
    }
    uint64_t now = pqt_scan_now_ms();
    if (c->out_stop < c->out_len) {
        /* First segment out: wait so the second leaves as its own packet. */
        c->state = C_GAP;
        c->gap_until = now + e->cfg->split_gap_ms;
        watch(e, c, EPOLLIN, EPOLL_CTL_MOD);
        return;
    }
    c->state = C_READING;
    c->deadline_phase = now + e->cfg->first_byte_timeout_ms;
    watch(e, c, EPOLLIN, EPOLL_CTL_MOD);
}

/* ---- the dialogue before TLS ------------------------------------------------ */

/* The dialogue ended without a go-ahead: the probe's verdict. A closed or
 * reset connection keeps those outcomes (and their retry rule). */
static void dialogue_failed(engine *e, conn *c)
{
    const char *err = pqt_starttls_error(c->dlg);
    int outcome = PQT_OUTCOME_STARTTLS_FAILED;
    if (err != NULL && strcmp(err, "closed_in_dialogue") == 0) {
        outcome = PQT_OUTCOME_CLOSED;
    } else if (err != NULL && strcmp(err, "reset_in_dialogue") == 0) {
        outcome = PQT_OUTCOME_RESET;
    }
    pqt_probe_session_fail(c->s, outcome, err ? err : "internal", pqt_starttls_detail(c->dlg));
    conn_done(e, c);
}

/* The go-ahead: the ClientHello, exactly as on a direct connection. */
static void start_tls(engine *e, conn *c)
{
    pqt_starttls_free(c->dlg);
    c->dlg = NULL;
    c->state = C_SENDING;
    c->deadline_phase = UINT64_MAX;
    do_write(e, c);
    if (c->state == C_SENDING) {
        watch(e, c, EPOLLOUT, EPOLL_CTL_MOD);
    }
}

/* Send what the dialogue has to say; then TLS, the failure, or wait for
 * the server (its answer due within the first-byte deadline). */
static void dialogue_pump(engine *e, conn *c)
{
    const uint8_t *out = NULL;
    size_t n;
    while ((n = pqt_starttls_output(c->dlg, &out)) > 0) {
        ssize_t w = send(c->fd, out + c->dlg_pos, n - c->dlg_pos, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                watch(e, c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
                return;
            }
            (void)pqt_starttls_eof(c->dlg, 1);
            dialogue_failed(e, c);
            return;
        }
        c->dlg_pos += (size_t)w;
        c->sent += (uint64_t)w;
        if (c->dlg_pos == n) {
            pqt_starttls_output_taken(c->dlg);
            c->dlg_pos = 0;
            c->deadline_phase = pqt_scan_now_ms() + e->cfg->first_byte_timeout_ms;
        }
    }
    int st = pqt_starttls_status(c->dlg);
    if (st == PQT_STARTTLS_READY) {
        start_tls(e, c);
    } else if (st == PQT_STARTTLS_FAILED) {
        dialogue_failed(e, c);
    } else {
        watch(e, c, EPOLLIN, EPOLL_CTL_MOD);
    }
}

static void dialogue_read(engine *e, conn *c)
{
    uint8_t buf[4096];
    for (int rounds = 0; rounds < 8; rounds++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            const uint8_t *out;
            c->dlg_rx += (uint64_t)n;
            c->deadline_phase = UINT64_MAX;
            if (pqt_starttls_feed(c->dlg, buf, (size_t)n) != PQT_STARTTLS_RUNNING ||
                pqt_starttls_output(c->dlg, &out) > 0) {
                dialogue_pump(e, c);
                return;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        (void)pqt_starttls_eof(c->dlg, n < 0 && errno == ECONNRESET);
        dialogue_failed(e, c);
        return;
    }
}

static void do_read(engine *e, conn *c)
{
    uint8_t buf[16384];
    for (int rounds = 0; rounds < 8; rounds++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            c->deadline_phase = UINT64_MAX; /* first byte arrived */
            int r = pqt_probe_session_feed(c->s, buf, (size_t)n);
            if (r != 0) {
                conn_done(e, c);
                return;
            }
            const uint8_t *more = NULL;
            size_t more_len = pqt_probe_session_output(c->s, &more);
            if (more_len > 0) {
                /* A HelloRetryRequest: send the second ClientHello, then
                 * wait for its first byte as for the first one. */
                pqt_probe_session_output_taken(c->s);
                c->out = more;
                c->out_len = c->out_stop = more_len;
                c->out_pos = 0;
                c->state = C_SENDING;
                watch(e, c, EPOLLOUT, EPOLL_CTL_MOD);
                do_write(e, c);
                return;
            }
            continue;
        }
        if (n == 0) {
            pqt_probe_session_eof(c->s, 0);
            conn_done(e, c);
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        }
        if (errno == EINTR) {
            continue;
        }
        pqt_probe_session_eof(c->s, errno == ECONNRESET);
        conn_done(e, c);
        return;
    }
}

static void on_event(engine *e, conn *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
            err = errno;
        }
        if (err != 0) {
            fail(e, c, PQT_OUTCOME_CONNECT_FAILED, "connect", "connect: %s", strerror(err));
            return;
        }
        if (!(ev & EPOLLOUT)) {
            return;
        }
        if (c->dlg != NULL) {
            /* A greeting, or the answer to a client-first command, is due
             * within the first-byte deadline. */
            c->state = C_DIALOGUE;
            c->deadline_phase = pqt_scan_now_ms() + e->cfg->first_byte_timeout_ms;
            dialogue_pump(e, c);
            return;
        }
        c->state = C_SENDING;
        do_write(e, c);
        return;
    }
    if (c->state == C_DIALOGUE) {
        if (ev & EPOLLOUT) {
            dialogue_pump(e, c);
        }
        if (c->state == C_DIALOGUE && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
            dialogue_read(e, c);
        }
        return;
    }
    if (c->state == C_SENDING && (ev & EPOLLOUT)) {
        do_write(e, c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        do_read(e, c);
    }
}

/* Deadlines and the segmentation gap; returns the next wake-up (ms). */
static uint64_t check_timers(engine *e, uint64_t now)
{
    uint64_t next = now + 1000;
    for (unsigned i = 0; i < e->n_conns; i++) {
        conn *c = &e->conns[i];
        if (c->state == C_FREE) {
            continue;
        }
        if (c->state == C_GAP && now >= c->gap_until) {
            c->state = C_SENDING;
            c->out_stop = c->out_len;
            watch(e, c, EPOLLOUT | EPOLLIN, EPOLL_CTL_MOD);
            do_write(e, c);
            if (c->state == C_FREE) {
                continue;
            }
        }
        if (c->state == C_DIALOGUE && (now >= c->deadline_total || now >= c->deadline_phase)) {
            int total = now >= c->deadline_total;
            fail(e, c, PQT_OUTCOME_TIMEOUT, "dialogue_timeout",
                 "%s within %u ms: the %s dialogue was waiting for %s",
                 total ? "no verdict" : "no answer",
                 total ? e->cfg->handshake_timeout_ms : e->cfg->first_byte_timeout_ms,
                 pqt_starttls_name(c->t->res.target.starttls), pqt_starttls_step(c->dlg));
            continue;
        }
        if (now >= c->deadline_total) {
            fail(e, c, PQT_OUTCOME_TIMEOUT, "handshake_timeout",
                 "no verdict within %u ms (%llu bytes received)", e->cfg->handshake_timeout_ms,
                 (unsigned long long)pqt_probe_session_rx(c->s));
            continue;
        }
        if (now >= c->deadline_phase) {
            if (c->state == C_CONNECTING) {
                fail(e, c, PQT_OUTCOME_CONNECT_FAILED, "connect_timeout",
                     "TCP connect did not complete within %u ms", e->cfg->connect_timeout_ms);
            } else {
                fail(e, c, PQT_OUTCOME_TIMEOUT, "first_byte_timeout",
                     "no answer within %u ms of the ClientHello", e->cfg->first_byte_timeout_ms);
            }
            continue;
        }
        uint64_t d = c->deadline_phase < c->deadline_total ? c->deadline_phase : c->deadline_total;
        if (c->state == C_GAP && c->gap_until < d) {
            d = c->gap_until;
        }
        if (d < next) {
            next = d;
        }
    }
    return next;
}

/* A target with a probe ready to start, or NULL. *wake gets the earliest
 * retry time of the waiting ones. */
static target_slot *startable(engine *e, uint64_t now, int *probe, uint64_t *wake)
{
    for (unsigned i = 0; i < e->n_targets; i++) {
        target_slot *t = &e->targets[i];
        if (!t->used || t->todo == 0) {
            continue;
        }
        for (int p = 0; p < PQT_PROBE_COUNT; p++) {
            if (!((t->todo >> p) & 1)) {
                continue;
            }
            if (t->retry_at[p] <= now) {
                *probe = p;
                return t;
            }
            if (t->retry_at[p] < *wake) {
                *wake = t->retry_at[p];
            }
        }
    }
    return NULL;
}

int pqt_scan_run(const pqt_scan_config *cfg_in, pqt_scan_next_fn next, void *next_ctx,
                 pqt_scan_done_fn done, void *done_ctx)
{
    pqt_scan_config cfg = *cfg_in;
    engine e;
    int ret = 0;

    if (cfg.concurrency == 0) {
        cfg.concurrency = 1;
    }
    memset(&e, 0, sizeof(e));
    e.cfg = &cfg;
    e.next = next;
    e.next_ctx = next_ctx;
    e.done = done;
    e.done_ctx = done_ctx;
    e.n_conns = cfg.concurrency;
    e.n_targets = cfg.concurrency;
    e.probe_mask = cfg.probe_mask ? cfg.probe_mask & ((1u << PQT_PROBE_COUNT) - 1)
                                  : (1u << PQT_PROBE_COUNT) - 1;
    e.ep = epoll_create1(EPOLL_CLOEXEC);
    e.conns = calloc(e.n_conns, sizeof(*e.conns));
    e.targets = calloc(e.n_targets, sizeof(*e.targets));
    /* Read-ahead window: enough names in flight to keep the slots fed. */
    e.n_ahead = e.n_targets < 16 ? 16 : e.n_targets > 256 ? 256 : e.n_targets;
    e.ahead = calloc(e.n_ahead, sizeof(*e.ahead));
    e.window = cfg.reorder_window;
    if (e.window == 0) {
        uint64_t w = 16ull * cfg.concurrency;
        e.window = w < 1024 ? 1024 : w > 16384 ? 16384 : (unsigned)w;
    }
    e.held = calloc(e.window, sizeof(*e.held));
    if (cfg.resolve_timeout_ms == 0) {
        cfg.resolve_timeout_ms = 5000;
    }
    if (pqt_scan_cert_cache_new(&e.certs) != 0) {
        e.certs = NULL;
    }
    if (e.ep < 0 || e.conns == NULL || e.targets == NULL || e.certs == NULL || e.ahead == NULL ||
        e.held == NULL || e.probe_mask == 0) {
        ret = e.ep < 0 ? PQT_ERR_IO : e.probe_mask == 0 ? PQT_ERR_ARG : PQT_ERR_NOMEM;
        goto cleanup;
    }
    for (unsigned i = 0; i < e.n_conns; i++) {
        e.conns[i].fd = -1;
    }
    e.next_conn_us = now_us();

    for (;;) {
        uint64_t now = pqt_scan_now_ms();
        uint64_t wake = check_timers(&e, now);
        /* Start connections while slots, rate and work allow. */
        while (!e.abort && e.active_conns < e.n_conns) {
            if (cfg.rate > 0) {
                uint64_t us = now_us();
                if (us < e.next_conn_us) {
                    uint64_t at = (e.next_conn_us + 999) / 1000;
                    wake = at < wake ? at : wake;
                    break;
                }
                uint64_t step = 1000000u / cfg.rate;
                /* No bursts after an idle period: at most one interval of credit. */
                e.next_conn_us = (e.next_conn_us + step > us ? e.next_conn_us : us) + step;
            }
            int probe = -1, activated = 0;
            target_slot *t = startable(&e, now, &probe, &wake);
            if (t == NULL) {
                activated = activate_target(&e);
                if (activated) {
                    t = startable(&e, now, &probe, &wake);
                }
            }
            if (t == NULL) {
                if (cfg.rate > 0) {
                    e.next_conn_us -= 1000000u / cfg.rate; /* give the slot back */
                }
                if (activated && !e.abort) {
                    continue; /* a target that reported at once; pull another */
                }
                break;
            }
            start_conn(&e, t, probe);
        }
        if (e.resolve_wake != 0 && e.resolve_wake < wake) {
            wake = e.resolve_wake;
        }
        if (e.abort && e.active_conns == 0) {
            break;
        }
        if (e.active_conns == 0 && e.active_targets == 0 && (e.eof || e.abort)) {
            break;
        }
        now = pqt_scan_now_ms();
        int timeout = wake > now ? (int)(wake - now) : 0;
        if (timeout > 1000) {
            timeout = 1000;
        }
        struct epoll_event evs[64];
        int n = epoll_wait(e.ep, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            ret = PQT_ERR_IO;
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &e.resolver_mark) {
                pqt_scan_resolver_drain(e.resolver);
                continue;
            }
            conn *c = evs[i].data.ptr;
            if (c->state != C_FREE) {
                on_event(&e, c, evs[i].events);
            }
        }
    }
cleanup:
    if (e.conns != NULL) {
        for (unsigned i = 0; i < e.n_conns; i++) {
            if (e.conns[i].state != C_FREE) {
                close_conn(&e, &e.conns[i]);
            }
        }
    }
    pqt_scan_resolver_free(e.resolver);
    if (e.ep >= 0) {
        close(e.ep);
    }
    if (e.held != NULL) {
        for (unsigned i = 0; i < e.window; i++) {
            free(e.held[i]);
        }
    }
    free(e.held);
    free(e.ahead);
    free(e.conns);
    free(e.targets);
    pqt_scan_cert_cache_free(e.certs);
    return ret != 0 ? ret : e.failed;
}
