/* Internal to src/scan: what the engine needs from the probe sessions. */
#ifndef PQT_SCAN_INTERNAL_H
#define PQT_SCAN_INTERNAL_H

#include "pqtls/scan.h"

/* Settle a probe that did not get its verdict from the bytes: a timeout, a
 * connect failure. A probe that already has a ServerHello keeps that
 * outcome and records the error instead. */
void pqt_probe_session_fail(pqt_probe_session *s, int outcome, const char *error,
                            const char *detail);
/* 1 once the verdict is known. */
int pqt_probe_session_done(const pqt_probe_session *s);
/* Bytes received so far. */
uint64_t pqt_probe_session_rx(const pqt_probe_session *s);

/* Monotonic milliseconds. */
uint64_t pqt_scan_now_ms(void);

/* ---- resolver (resolve.c): getaddrinfo on worker threads ---------------- */

#include <sys/socket.h>

enum {
    PQT_RESOLVE_IDLE = 0,
    PQT_RESOLVE_QUEUED,
    PQT_RESOLVE_RUNNING,
    PQT_RESOLVE_DONE,
    PQT_RESOLVE_TIMEOUT, /* returned by poll only */
};

typedef struct pqt_scan_resolver pqt_scan_resolver;

/* A pool of `threads` workers over `slots` job slots (the engine's
 * read-ahead window); gai NULL means getaddrinfo. */
int pqt_scan_resolver_new(unsigned slots, unsigned threads, pqt_scan_getaddrinfo_fn gai,
                          pqt_scan_resolver **out);
/* Readable (eventfd) when an answer came in; drain it before polling. */
int pqt_scan_resolver_fd(const pqt_scan_resolver *r);
void pqt_scan_resolver_drain(pqt_scan_resolver *r);
void pqt_scan_resolver_submit(pqt_scan_resolver *r, unsigned slot, const char *host, uint16_t port,
                              int numeric);
/* The slot's state. DONE: *rc (getaddrinfo's) and, when 0, the address are
 * filled and the slot is free again. TIMEOUT: it ran longer than
 * timeout_ms and was abandoned (slot free). RUNNING: *deadline (if not
 * NULL) gets the time it will time out. */
int pqt_scan_resolver_poll(pqt_scan_resolver *r, unsigned slot, uint64_t now, unsigned timeout_ms,
                           struct sockaddr_storage *addr, socklen_t *addr_len, int *rc,
                           uint64_t *deadline);
/* Stop the workers; ones stuck in getaddrinfo finish on their own. */
void pqt_scan_resolver_free(pqt_scan_resolver *r);

#endif
