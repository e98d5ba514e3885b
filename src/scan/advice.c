/*
 * The next step for a scanned target (include/pqtls/scan.h,
 * pqt_scan_next_step): one table, read top to bottom, first match wins.
 * Flags come before stages because each names something to fix before the
 * stage can move; a protocol-specific row comes before the generic one.
 */
#include <stddef.h>

#include "pqtls/scan.h"

enum {
    NEED_ANY = 0,
    NEED_TLS12_ONLY,   /* some probe negotiated TLS 1.2, none TLS 1.3 */
    NEED_NO_HANDSHAKE, /* no probe got a ServerHello or an HRR */
};

static const struct {
    unsigned flag; /* the target has this flag (0: any) */
    int stage;     /* and this stage (-1: any) */
    int proto;     /* and this protocol (-1: any) */
    int need;      /* and this (NEED_*) */
    const char *label;
    const char *step;
} advice[] = {
    {PQT_FLAG_UNREACHABLE, -1, -1, NEED_ANY, "unreachable",
     "check the name, the port and the firewall, then scan again"},
    {PQT_FLAG_PLAINTEXT_SERVICE, -1, -1, NEED_ANY, "plaintext service",
     "scan it with its own protocol (see the detail): no TLS handshake was tried"},
    {PQT_FLAG_NO_STARTTLS, -1, -1, NEED_ANY, "no STARTTLS",
     "turn on STARTTLS with TLS 1.3 and X25519MLKEM768: today the traffic can be read on the "
     "path, not only recorded for later"},
    {PQT_FLAG_BROKEN_HYBRID, -1, -1, NEED_ANY, "broken hybrid",
     "fix the server's hybrid key exchange (upgrade its TLS library or provider): clients that "
     "offer the group fail or are misled"},
    {PQT_FLAG_SEGMENTATION_INTOLERANT, -1, -1, NEED_ANY, "segmentation-intolerant",
     "fix or replace the middlebox that drops ClientHellos split across TCP segments: a hybrid "
     "key share makes them larger than one packet"},
    {PQT_FLAG_LEGACY_KYBER, -1, -1, NEED_ANY, "legacy Kyber",
     "remove X25519Kyber768Draft00, the retired draft code point, and keep X25519MLKEM768"},
    {0, PQT_STAGE_NONE, -1, NEED_NO_HANDSHAKE, "none",
     "no TLS handshake completed: read the probes' errors"},
    {0, PQT_STAGE_NONE, PQT_SCAN_PROTO_POSTGRES, NEED_ANY, "none",
     "to support: PostgreSQL up to 17 takes one classical curve (ssl_ecdh_curve); upgrade to "
     "PostgreSQL 18 (ssl_groups = 'X25519MLKEM768:X25519') or terminate TLS in front of it"},
    {0, PQT_STAGE_NONE, -1, NEED_TLS12_ONLY, "none",
     "to support: enable TLS 1.3 first (hybrid groups need it), then X25519MLKEM768"},
    {0, PQT_STAGE_NONE, -1, NEED_ANY, "none",
     "to support: offer X25519MLKEM768 (OpenSSL 3.5 or later, or OpenSSL 3.0-3.4 with the pqtls "
     "provider: docs/deploy.md)"},
    {0, PQT_STAGE_SUPPORTED, -1, NEED_ANY, "supported",
     "to prefer: make the server pick X25519MLKEM768 even when the client's first key share is "
     "X25519, at the cost of a HelloRetryRequest (OpenSSL 3.5 group tuples, e.g. "
     "'X25519MLKEM768 / X25519'; OpenSSL 3.0-3.4 take the first acceptable share)"},
    {0, PQT_STAGE_PREFERRED, -1, NEED_ANY, "preferred",
     "to require: accept only hybrid groups, once every client offers one"},
    {0, PQT_STAGE_REQUIRED, -1, NEED_ANY, "required",
     "nothing to raise: watch for clients that can no longer connect"},
};

static int holds(const pqt_scan_result *r, int need)
{
    int tls12 = 0, tls13 = 0, hello = 0;
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        const pqt_probe_result *p = &r->probes[i];
        if (!((r->probes_run >> i) & 1)) {
            continue;
        }
        if (p->outcome == PQT_OUTCOME_SERVER_HELLO || p->outcome == PQT_OUTCOME_HRR) {
            hello = 1;
            tls12 |= p->version == 0x0303;
            tls13 |= p->version == 0x0304;
        }
    }
    switch (need) {
    case NEED_TLS12_ONLY:
        return tls12 && !tls13;
    case NEED_NO_HANDSHAKE:
        return !hello;
    default:
        return 1;
    }
}

const char *pqt_scan_next_step(const pqt_scan_result *r, const char **label)
{
    size_t n = sizeof(advice) / sizeof(advice[0]);
    for (size_t i = 0; i < n; i++) {
        if ((advice[i].flag != 0 && !(r->flags & advice[i].flag)) ||
            (advice[i].flag == 0 && advice[i].stage != r->stage) ||
            (advice[i].proto >= 0 && advice[i].proto != r->target.proto) ||
            !holds(r, advice[i].need)) {
            continue;
        }
        if (label != NULL) {
            *label = advice[i].label;
        }
        return advice[i].step;
    }
    if (label != NULL) {
        *label = "?";
    }
    return "read the probes' results";
}
