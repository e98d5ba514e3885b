/*
 * pqtls scan: active post-quantum readiness inventory of TLS endpoints.
 *
 * Layers, each usable and testable alone:
 *   targets   "host[:port][,sni]" lines and URLs ("smtp://host") ->
 *             pqt_scan_target (line-numbered errors), deterministic sharding
 *   starttls  the plaintext dialogues that come before TLS on SMTP, IMAP,
 *             POP3, FTP, LDAP, PostgreSQL, MySQL and XMPP, and the plaintext
 *             banners a direct ClientHello may meet (pqt_starttls, no I/O)
 *   probes    the fixed probe list; per connection, a ClientHello built by
 *             pqt_hello_build_client and a bounded state machine that eats
 *             the server's bytes (pqt_probe_session, no I/O, fuzzable)
 *   engine    epoll over non-blocking sockets: concurrency limit, per-phase
 *             timeouts, bounded retries, connection rate limit
 *   staging   probe results -> stage (none/supported/preferred/required),
 *             flags, a detail and the next step; policy files
 *   output    JSON Lines (schema PQT_SCAN_SCHEMA), table, CSV, HTML, and a
 *             CycloneDX 1.7 CBOM (one JSON document for the whole scan)
 */
#ifndef PQTLS_SCAN_H
#define PQTLS_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pqtls/err.h"
#include "pqtls/hybrid.h"
#include "pqtls/keyschedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The JSON Lines schema name and version; docs/scan.md documents it. */
#define PQT_SCAN_SCHEMA "pqtls-scan/1"

/* ---- protocols ---------------------------------------------------------- */

/*
 * The application protocol of a target: the scheme of its URL. Each has a
 * default port, the dialogue that comes before the ClientHello (none for
 * the direct-TLS ones) and the ALPN list the probes offer. docs/scan.md
 * has the table.
 */
typedef enum {
    PQT_SCAN_PROTO_TLS = 0, /* no scheme: TLS from the first byte, port 443 */
    PQT_SCAN_PROTO_HTTPS,
    PQT_SCAN_PROTO_SMTP,       /* STARTTLS, 25 (RFC 3207) */
    PQT_SCAN_PROTO_SUBMISSION, /* STARTTLS, 587 */
    PQT_SCAN_PROTO_SMTPS,      /* 465 (RFC 8314) */
    PQT_SCAN_PROTO_IMAP,       /* STARTTLS, 143 (RFC 3501 §6.2.1) */
    PQT_SCAN_PROTO_IMAPS,      /* 993 */
    PQT_SCAN_PROTO_POP3,       /* STLS, 110 (RFC 2595 §4) */
    PQT_SCAN_PROTO_POP3S,      /* 995 */
    PQT_SCAN_PROTO_FTP,        /* AUTH TLS, 21 (RFC 4217) */
    PQT_SCAN_PROTO_LDAP,       /* StartTLS extended operation, 389 (RFC 4511 §4.14) */
    PQT_SCAN_PROTO_LDAPS,      /* 636 */
    PQT_SCAN_PROTO_POSTGRES,   /* SSLRequest, 5432; ALPN "postgresql" */
    PQT_SCAN_PROTO_MYSQL,      /* SSL request packet, 3306 */
    PQT_SCAN_PROTO_XMPP,       /* client STARTTLS, 5222 (RFC 6120 §5) */
    PQT_SCAN_PROTO_COUNT
} pqt_scan_proto;

/* The dialogue before the ClientHello. */
typedef enum {
    PQT_STARTTLS_NONE = 0, /* direct TLS */
    PQT_STARTTLS_SMTP,
    PQT_STARTTLS_IMAP,
    PQT_STARTTLS_POP3,
    PQT_STARTTLS_FTP,
    PQT_STARTTLS_LDAP,
    PQT_STARTTLS_POSTGRES,
    PQT_STARTTLS_MYSQL,
    PQT_STARTTLS_XMPP,
    PQT_STARTTLS_COUNT
} pqt_starttls_proto;

typedef struct {
    const char *scheme;      /* "smtp"; "tls" for PQT_SCAN_PROTO_TLS */
    uint16_t port;           /* default port */
    int starttls;            /* pqt_starttls_proto */
    const char *const *alpn; /* NULL-terminated ALPN list the probes offer ({NULL}: none) */
    const char *display;     /* "SMTP (STARTTLS)", for reports */
} pqt_scan_proto_info;

/* The table entry of proto; NULL when out of range. */
PQT_API const pqt_scan_proto_info *pqt_scan_proto_get(int proto);
/* By scheme name (case-insensitive; "postgresql" is "postgres"); -1 if unknown. */
PQT_API int pqt_scan_proto_by_scheme(const char *scheme);
/* "smtp", "imap", ... for a dialogue; NULL for none or out of range. */
PQT_API const char *pqt_starttls_name(int dialogue);

/* ---- targets ------------------------------------------------------------ */

#define PQT_SCAN_HOST_MAX 254
typedef struct {
    char host[PQT_SCAN_HOST_MAX + 1]; /* name or IP literal, no brackets */
    uint16_t port;
    char sni[PQT_SCAN_HOST_MAX + 1]; /* "" means no server_name extension */
    int host_is_ip;
    unsigned line;  /* 1-based line in the targets file (0 for arguments) */
    int proto;      /* pqt_scan_proto */
    int starttls;   /* pqt_starttls_proto: the dialogue run before every ClientHello */
    uint64_t index; /* 0-based position among the input's targets (the caller sets it) */
} pqt_scan_target;

/*
 * Parse one target line: "host", "host:port", "[v6]:port", a bare IPv6
 * literal, each optionally followed by ",sni"; or a URL
 * "scheme://[user@]host[:port][,sni][/path][?query]" with a scheme of
 * pqt_scan_proto (the user, path and query are ignored, except
 * "sslnegotiation=direct" in a postgres URL: PostgreSQL 17's direct TLS
 * instead of SSLRequest). Whitespace around it and a trailing "# comment"
 * are ignored; a blank or comment-only line sets *blank = 1 and returns 0.
 * The port defaults to the protocol's (443 without a scheme); the SNI to
 * the host for names and to none for IP literals (RFC 6066 §3 forbids
 * literal addresses in server_name). On PQT_ERR_SYNTAX, *why says what is
 * wrong. pqt_scan_target_parse_as gives lines without a scheme the
 * protocol default_proto (`pqtls scan --starttls smtp`).
 */
PQT_API PQT_MUST_CHECK int pqt_scan_target_parse(const char *line, pqt_scan_target *t, int *blank,
                                                 const char **why);
PQT_API PQT_MUST_CHECK int pqt_scan_target_parse_as(const char *line, int default_proto,
                                                    pqt_scan_target *t, int *blank,
                                                    const char **why);

/* "host:port,sni" ("[v6]:port,sni"; ",sni" only when set), with
 * "scheme://" in front for every protocol but plain TLS and https, and
 * "?sslnegotiation=direct" after a direct-TLS postgres target: the stable
 * name of a target in outputs, policies and sharding. */
PQT_API void pqt_scan_target_name(const pqt_scan_target *t, char *buf, size_t cap);

/* "k/N" with 1 <= k <= N <= 65536; PQT_ERR_SYNTAX otherwise. */
PQT_API PQT_MUST_CHECK int pqt_scan_shard_parse(const char *s, unsigned *k, unsigned *n);

/* 1 if the target belongs to shard k of n: FNV-1a of its name modulo n, so
 * the split depends neither on the order of lines nor on the machine. */
PQT_API int pqt_scan_shard_member(const pqt_scan_target *t, unsigned k, unsigned n);

/* ---- probes -------------------------------------------------------------- */

typedef enum {
    PQT_PROBE_BROWSER = 0,        /* [X25519MLKEM768, X25519, P-256, P-384], 2 shares */
    PQT_PROBE_X25519MLKEM768 = 1, /* one hybrid / pure ML-KEM group each */
    PQT_PROBE_SECP256R1MLKEM768 = 2,
    PQT_PROBE_SECP384R1MLKEM1024 = 3,
    PQT_PROBE_MLKEM1024 = 4,
    PQT_PROBE_HRR_PREFERENCE = 5, /* [X25519MLKEM768, X25519], X25519 share only */
    PQT_PROBE_CLASSICAL = 6,      /* classical only; also the small segmentation baseline */
    PQT_PROBE_LEGACY_KYBER = 7,   /* X25519Kyber768Draft00 (0x6399) only */
    PQT_PROBE_SPLIT_SNI = 8,      /* classical, padded past one MSS, two segments */
    PQT_PROBE_SPLIT_KEY_SHARE = 9,
    PQT_PROBE_SPLIT_MSS = 10,
    PQT_PROBE_COUNT = 11
} pqt_probe_id;

/* "browser", "x25519mlkem768", ..., "split-mss"; NULL when out of range. */
PQT_API const char *pqt_probe_name(int id);
/* By name; -1 if unknown. */
PQT_API int pqt_probe_by_name(const char *name);

typedef enum {
    PQT_OUTCOME_NONE = 0,        /* not run (probe not selected) */
    PQT_OUTCOME_SERVER_HELLO,    /* a ServerHello arrived */
    PQT_OUTCOME_HRR,             /* a HelloRetryRequest arrived */
    PQT_OUTCOME_ALERT,           /* the server answered with an alert */
    PQT_OUTCOME_RESET,           /* connection reset */
    PQT_OUTCOME_CLOSED,          /* orderly close before any answer */
    PQT_OUTCOME_TIMEOUT,         /* a phase timed out */
    PQT_OUTCOME_MALFORMED,       /* the answer violates TLS; see error */
    PQT_OUTCOME_CONNECT_FAILED,  /* refused, unreachable or connect timeout */
    PQT_OUTCOME_STARTTLS_FAILED, /* the dialogue before TLS failed; see error */
} pqt_probe_outcome;

PQT_API const char *pqt_probe_outcome_name(int outcome);

/* Reasons for MALFORMED, TIMEOUT and failed verification; stable strings. */
#define PQT_PROBE_DETAIL_MAX 120

typedef struct {
    int outcome;       /* pqt_probe_outcome */
    uint16_t version;  /* negotiated (0x0304 TLS 1.3), 0 if none */
    uint16_t cipher;   /* cipher suite, 0 if none */
    uint16_t group;    /* selected, or asked for by HRR; 0 if none */
    int alert;         /* alert description, -1 if none */
    int verified;      /* 1: key exchange finished and EncryptedExtensions decrypted */
    int broken;        /* 1: the server's key exchange is broken (bad share, bad record) */
    const char *error; /* stable reason code (e.g. "share_length"), NULL if none */
    char detail[PQT_PROBE_DETAIL_MAX]; /* human-readable detail, "" if none */
    uint64_t bytes_sent, bytes_received;
    uint32_t ms; /* connect start to verdict, last attempt */
    unsigned attempts;
    /* Outcome HRR: a second ClientHello with a share for the requested
     * group was sent and answered by a ServerHello (version, cipher and
     * verified then describe that exchange). */
    int retried;
    /* 1: the verdict came during the dialogue before TLS (STARTTLS
     * targets): TLS was never started on this connection. */
    int in_dialogue;
    /* A plaintext banner met by a direct ClientHello (error "not_tls"):
     * pqt_scan_banner, 0 if none was recognised. */
    int banner;
} pqt_probe_result;

/* Certificate facts learnt from the first probe that saw the Certificate. */
typedef struct {
    int seen;
    char key_alg[24]; /* "RSA", "EC", "ED25519", "ML-DSA-65", ... */
    int key_bits;
    char key_curve[24];     /* EC curve name or "" */
    char sig_alg[48];       /* signature algorithm of the certificate itself */
    uint16_t verify_scheme; /* SignatureScheme in CertificateVerify, 0 if none */
} pqt_scan_cert;

/* Per-connection protocol state: feed it the server's bytes. */
typedef struct pqt_probe_session pqt_probe_session;

/*
 * Start a probe: key shares and the ClientHello record(s). pqt_probe_session_hello gives
 * the full record to send; *split is the offset at which the segmentation
 * probes cut it into two writes (0: one write).
 */
PQT_API PQT_MUST_CHECK int pqt_probe_session_new(int probe, const char *sni,
                                                 pqt_probe_session **out);
/* The same with the ALPN list to offer (NULL-terminated; {NULL} offers
 * none; it must outlive the session, as the second ClientHello after an
 * HRR repeats it). pqt_probe_session_new offers h2 and http/1.1. */
PQT_API PQT_MUST_CHECK int pqt_probe_session_new_ex(int probe, const char *sni,
                                                    const char *const *alpn,
                                                    pqt_probe_session **out);
PQT_API void pqt_probe_session_free(pqt_probe_session *s);
PQT_API void pqt_probe_session_hello(const pqt_probe_session *s, const uint8_t **rec, size_t *len,
                                     size_t *split);

/*
 * Bytes the probe must send now, or 0: after a HelloRetryRequest, the
 * second ClientHello (RFC 8446 §4.1.4), which pqt_probe_session_feed
 * prepares while it waits for the ServerHello. Call
 * pqt_probe_session_output_taken once the bytes are queued for sending.
 */
PQT_API size_t pqt_probe_session_output(const pqt_probe_session *s, const uint8_t **out);
PQT_API void pqt_probe_session_output_taken(pqt_probe_session *s);

/*
 * Certificate facts by DER: a small cache (8 recent certificates) that
 * saves re-parsing the same certificate on every probe of a target and
 * across names served by the same endpoint. Attach one to sessions with
 * pqt_probe_session_set_cert_cache; skip = 1 makes a session ignore the
 * Certificate (its facts are known already). A NULL cache parses every
 * certificate.
 */
typedef struct pqt_scan_cert_cache pqt_scan_cert_cache;
/* Facts of one DER certificate: a DER walk for RSA, EC on
 * P-256/384/521 and Ed25519/Ed448 keys, d2i_X509 for anything else or when
 * use_x509 is set (the tests compare both). facts->seen = 0 if it does not
 * parse. */
PQT_API void pqt_scan_cert_facts(const uint8_t *der, size_t len, pqt_scan_cert *facts,
                                 int use_x509);
PQT_API PQT_MUST_CHECK int pqt_scan_cert_cache_new(pqt_scan_cert_cache **out);
PQT_API void pqt_scan_cert_cache_free(pqt_scan_cert_cache *c);
PQT_API void pqt_scan_cert_cache_lookup(pqt_scan_cert_cache *c, const uint8_t *der, size_t len,
                                        pqt_scan_cert *facts);
PQT_API void pqt_scan_cert_cache_stats(const pqt_scan_cert_cache *c, uint64_t *hits,
                                       uint64_t *misses);
PQT_API void pqt_probe_session_set_cert_cache(pqt_probe_session *s, pqt_scan_cert_cache *cache,
                                              int skip);

/*
 * Feed received bytes. Returns 1 when the probe has its verdict (stop
 * reading), 0 when more bytes are wanted, or a negative PQT_ERR_* only for
 * local failures (memory). The verdict is in pqt_probe_session_result().
 */
PQT_API PQT_MUST_CHECK int pqt_probe_session_feed(pqt_probe_session *s, const uint8_t *data,
                                                  size_t len);
/* The end of the stream: EOF (reset = 0) or a reset (reset = 1); settles
 * the verdict if the bytes so far did not. */
PQT_API void pqt_probe_session_eof(pqt_probe_session *s, int reset);
PQT_API const pqt_probe_result *pqt_probe_session_result(const pqt_probe_session *s);
PQT_API const pqt_scan_cert *pqt_probe_session_cert(const pqt_probe_session *s);

/* ---- STARTTLS dialogues and plaintext banners ----------------------------- */

/*
 * The plaintext dialogue that comes before the ClientHello on a STARTTLS
 * service: a bounded state machine with no I/O, like the probe sessions.
 * Send what pqt_starttls_output gives, feed what the server answers, until
 * the status is READY (send any last output, then the ClientHello) or
 * FAILED (pqt_starttls_error names why). Every reply is read through
 * pqt_reader: lines of at most 4096 bytes, binary messages of at most 4096
 * bytes, 64 KiB in all; the caller owns the deadlines.
 */
typedef struct pqt_starttls pqt_starttls;

enum {
    PQT_STARTTLS_RUNNING = 0,
    PQT_STARTTLS_READY = 1,  /* TLS may start once the output is sent */
    PQT_STARTTLS_FAILED = 2, /* see pqt_starttls_error */
};

/* A dialogue; domain is the server's name where the protocol sends one
 * (the XMPP stream's "to"): letters, digits, '.', '-', '_', ':' only. */
PQT_API PQT_MUST_CHECK int pqt_starttls_new(int dialogue, const char *domain, pqt_starttls **out);
PQT_API void pqt_starttls_free(pqt_starttls *d);
/* Bytes to send now (0: none); pqt_starttls_output_taken once they are
 * queued for sending. */
PQT_API size_t pqt_starttls_output(const pqt_starttls *d, const uint8_t **out);
PQT_API void pqt_starttls_output_taken(pqt_starttls *d);
/* Feed the server's bytes; returns the status. Bytes after the go-ahead
 * (before the client's ClientHello) fail the dialogue:
 * "data_after_starttls". */
PQT_API int pqt_starttls_feed(pqt_starttls *d, const uint8_t *data, size_t len);
/* The connection ended (reset = 1: by a reset); returns the status. */
PQT_API int pqt_starttls_eof(pqt_starttls *d, int reset);
PQT_API int pqt_starttls_status(const pqt_starttls *d);
/* Stable reason code once FAILED (NULL before): "starttls_not_offered",
 * "starttls_refused", "service_refused", "dialogue_syntax",
 * "line_too_long", "message_too_large", "dialogue_too_long",
 * "data_after_starttls", "closed_in_dialogue", "reset_in_dialogue". */
PQT_API const char *pqt_starttls_error(const pqt_starttls *d);
/* Human-readable detail ("" if none), with the server's words. */
PQT_API const char *pqt_starttls_detail(const pqt_starttls *d);
/* What the dialogue is waiting for ("the EHLO reply"), for timeouts. */
PQT_API const char *pqt_starttls_step(const pqt_starttls *d);
/* Bytes received so far. */
PQT_API uint64_t pqt_starttls_received(const pqt_starttls *d);
/* 1 if the error means the service offers no TLS at all: STARTTLS not
 * offered or refused (the target's flag no-starttls). */
PQT_API int pqt_starttls_error_is_refusal(const char *error);

/* Plaintext a server may send where a ClientHello expected TLS. */
typedef enum {
    PQT_BANNER_NONE = 0,
    PQT_BANNER_SMTP,     /* "220 ... ESMTP", "220-", 421/554 greetings */
    PQT_BANNER_FTP,      /* "220 ... FTP" */
    PQT_BANNER_SMTP_FTP, /* "220 " without a word telling which */
    PQT_BANNER_IMAP,     /* "* OK", "* PREAUTH", "* BYE" */
    PQT_BANNER_POP3,     /* "+OK", "-ERR" */
    PQT_BANNER_MYSQL,    /* a protocol 10 greeting or an error packet */
    PQT_BANNER_XMPP,     /* "<?xml", "<stream:" */
    PQT_BANNER_SSH,      /* "SSH-" */
    PQT_BANNER_HTTP,     /* "HTTP/" */
    PQT_BANNER_COUNT
} pqt_scan_banner;

/* Recognise the first bytes a server sent; PQT_BANNER_NONE if unknown. */
PQT_API int pqt_scan_banner_identify(const uint8_t *p, size_t n);
/* "SMTP", "IMAP", ...; NULL for none or out of range. */
PQT_API const char *pqt_scan_banner_name(int banner);
/* What to scan instead, e.g. "SMTP banner: scan smtp://mail.example:25". */
PQT_API void pqt_scan_banner_advice(int banner, const pqt_scan_target *t, char *buf, size_t cap);

/* ---- staging and policy --------------------------------------------------- */

typedef enum {
    PQT_STAGE_NONE = 0,      /* no standardized PQ group negotiated */
    PQT_STAGE_SUPPORTED = 1, /* a hybrid/ML-KEM group works when offered */
    PQT_STAGE_PREFERRED = 2, /* chosen over X25519 at the cost of a HelloRetryRequest */
    PQT_STAGE_REQUIRED = 3,  /* classical-only clients are refused */
} pqt_scan_stage;

#define PQT_FLAG_LEGACY_KYBER (1u << 0)
#define PQT_FLAG_SEGMENTATION_INTOLERANT (1u << 1)
#define PQT_FLAG_BROKEN_HYBRID (1u << 2)
#define PQT_FLAG_UNREACHABLE (1u << 3)
#define PQT_FLAG_PLAINTEXT_SERVICE (1u << 4) /* a direct ClientHello met a plaintext banner */
#define PQT_FLAG_NO_STARTTLS (1u << 5)       /* the service does not offer or refuses STARTTLS */
#define PQT_FLAG_COUNT 6

PQT_API const char *pqt_scan_stage_name(int stage);
/* By name; -1 if unknown. */
PQT_API int pqt_scan_stage_by_name(const char *name);
/* Name of flag bit i (0..PQT_FLAG_COUNT-1). */
PQT_API const char *pqt_scan_flag_name(unsigned bit);
PQT_API int pqt_scan_flag_by_name(const char *name); /* the bit, or -1 */

/* Everything known about one target after its probes. */
typedef struct {
    pqt_scan_target target;
    char name[2 * PQT_SCAN_HOST_MAX + 16]; /* pqt_scan_target_name */
    char address[64];                      /* "ip:port" connected to, "" if none */
    char error[160];                       /* target-level error (resolution), "" */
    char detail[200]; /* what was learnt beyond the stage (plaintext banner, no STARTTLS), "" */
    int stage;
    unsigned flags;
    unsigned probes_run; /* bit i: probe i was run */
    pqt_probe_result probes[PQT_PROBE_COUNT];
    pqt_scan_cert cert;
    uint32_t ms; /* first connect to last verdict */
} pqt_scan_result;

/* Compute stage, flags and detail from the probe results (pure; unit-tested). */
PQT_API void pqt_scan_classify(pqt_scan_result *r);

/* The next step for a classified target ("to prefer: ..."), from one
 * table of advice (src/scan/advice.c); never NULL. *label (if not NULL)
 * gets what the step follows from: the stage, or the flag to fix first
 * ("supported", "no STARTTLS"). */
PQT_API const char *pqt_scan_next_step(const pqt_scan_result *r, const char **label);

typedef struct pqt_scan_policy pqt_scan_policy;

/*
 * Load a policy: one rule per line, "PATTERN MIN_STAGE [no-FLAG...]", e.g.
 *   *.bank.example  required  no-legacy-kyber
 *   *               supported
 * PATTERN is a shell glob matched against the host and against the target
 * name; the first matching rule applies, targets no rule matches are not
 * judged. On PQT_ERR_SYNTAX, *err_line and why describe the first bad line.
 */
PQT_API PQT_MUST_CHECK int pqt_scan_policy_load(FILE *f, pqt_scan_policy **out, unsigned *err_line,
                                                char *why, size_t why_cap);
PQT_API void pqt_scan_policy_free(pqt_scan_policy *p);
/* 1 complies, 0 does not (reason written), -1 no rule applies. */
PQT_API int pqt_scan_policy_check(const pqt_scan_policy *p, const pqt_scan_result *r, char *reason,
                                  size_t cap);

/* ---- engine --------------------------------------------------------------- */

struct addrinfo;
/* getaddrinfo's signature: the resolver the engine calls (tests inject one). */
typedef int (*pqt_scan_getaddrinfo_fn)(const char *node, const char *service,
                                       const struct addrinfo *hints, struct addrinfo **res);

typedef struct {
    unsigned concurrency;           /* simultaneous connections (default 64) */
    unsigned connect_timeout_ms;    /* default 3000 */
    unsigned first_byte_timeout_ms; /* after the ClientHello is sent; default 3000 */
    unsigned handshake_timeout_ms;  /* connect start to verdict; default 8000 */
    unsigned retries;      /* extra attempts after connect failure/timeout/reset; default 1 */
    unsigned rate;         /* new connections per second, 0 = unlimited */
    unsigned split_gap_ms; /* pause between the two segments; default 25 */
    unsigned probe_mask;   /* bit i runs probe i; 0 = all */
    /* Names are resolved ahead of use by `resolvers` threads (default 4)
     * within a window of read-ahead targets; a lookup running longer than
     * resolve_timeout_ms (default 5000) fails the target. */
    unsigned resolvers;
    unsigned resolve_timeout_ms;
    pqt_scan_getaddrinfo_fn getaddrinfo; /* NULL: the system's */
    /* Results are reported in input order: at most reorder_window targets
     * may be started ahead of the oldest unreported one (0: the default,
     * max(1024, 16 x concurrency) up to 16384). */
    unsigned reorder_window;
} pqt_scan_config;

PQT_API void pqt_scan_config_default(pqt_scan_config *c);

/* Next target to scan: 1 and *t filled, 0 when there are no more. */
typedef int (*pqt_scan_next_fn)(void *ctx, pqt_scan_target *t);
/* A finished target (classified); return non-zero to abort the scan.
 * Called in the order next gave the targets (input order). */
typedef int (*pqt_scan_done_fn)(void *ctx, pqt_scan_result *r);

/* Run a scan; memory is bounded by concurrency and the reorder window,
 * not by the number of targets. A target with a STARTTLS dialogue runs it
 * on every probe's connection before the ClientHello. Returns 0, or a
 * negative PQT_ERR_* for a local failure. */
PQT_API PQT_MUST_CHECK int pqt_scan_run(const pqt_scan_config *cfg, pqt_scan_next_fn next,
                                        void *next_ctx, pqt_scan_done_fn done, void *done_ctx);

/* ---- output --------------------------------------------------------------- */

typedef enum {
    PQT_SCAN_FMT_JSONL = 0,
    PQT_SCAN_FMT_TABLE = 1,
    PQT_SCAN_FMT_CSV = 2,
    PQT_SCAN_FMT_HTML = 3,
    PQT_SCAN_FMT_CBOM = 4, /* CycloneDX 1.7 JSON, one document (pqt_scan_cbom) */
} pqt_scan_format;

typedef struct pqt_scan_writer pqt_scan_writer;

/* A streaming writer: header on open, one record per target, summary and
 * footer on close (HTML keeps its rows in a temporary file, not memory). */
PQT_API PQT_MUST_CHECK int pqt_scan_writer_open(pqt_scan_writer **out, FILE *f,
                                                pqt_scan_format fmt);
PQT_API PQT_MUST_CHECK int pqt_scan_writer_add(pqt_scan_writer *w, const pqt_scan_result *r);
/* HTML only (other formats ignore it): a section of trusted HTML written
 * after the summary and before the targets table, e.g. the "since last
 * scan" comparison of pqt_store_since_last_html. Copied; call before
 * pqt_scan_writer_close. */
PQT_API PQT_MUST_CHECK int pqt_scan_writer_set_html_section(pqt_scan_writer *w, const char *html);
/* The scan's start (unix time) for formats that say it (CBOM:
 * pqtls:scan.started); without it, the time the writer was opened. */
PQT_API void pqt_scan_writer_set_started(pqt_scan_writer *w, int64_t started);
/* Finish and free; 0 or PQT_ERR_IO when anything could not be written. */
PQT_API PQT_MUST_CHECK int pqt_scan_writer_close(pqt_scan_writer *w);

/* Write one result as one JSON Lines record. */
PQT_API PQT_MUST_CHECK int pqt_scan_write_jsonl(FILE *f, const pqt_scan_result *r);

/*
 * A CycloneDX 1.7 cryptography bill of materials (CBOM) for a whole scan
 * (src/scan/cbom.c; docs/scan.md, "CBOM" has the mapping): per target a
 * `protocol` asset (TLS: version, cipher suites with their tlsGroups) and
 * the certificate, its public key and the algorithms they use (ML-KEM as
 * kem, ECDH as key-agree, each hybrid as a combiner), linked through
 * `dependencies`; what CycloneDX has no field for goes in `pqtls:`
 * properties. One JSON document, so results are kept until close: each
 * target as a compact record in a temporary file (memory does not grow
 * with the number of targets), the algorithms as a set. scan_started is
 * the scan's start (0: now); it and the close time go in the metadata.
 */
typedef struct pqt_scan_cbom pqt_scan_cbom;
PQT_API PQT_MUST_CHECK int pqt_scan_cbom_open(pqt_scan_cbom **out, FILE *f, int64_t scan_started);
PQT_API PQT_MUST_CHECK int pqt_scan_cbom_add(pqt_scan_cbom *c, const pqt_scan_result *r);
/* Change the start time given to pqt_scan_cbom_open (before close). */
PQT_API void pqt_scan_cbom_set_started(pqt_scan_cbom *c, int64_t scan_started);
/* Write the document and free; 0 or PQT_ERR_IO (or PQT_ERR_NOMEM). */
PQT_API PQT_MUST_CHECK int pqt_scan_cbom_close(pqt_scan_cbom *c);
/* Free without writing anything (the results could not all be had, e.g.
 * a stored scan that did not read back whole). */
PQT_API void pqt_scan_cbom_discard(pqt_scan_cbom *c);

#ifdef __cplusplus
}
#endif
#endif
