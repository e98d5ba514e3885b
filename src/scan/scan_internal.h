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

#endif
