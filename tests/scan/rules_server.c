/*
 * rules_server: a TLS 1.3 server that completes a real hybrid key exchange
 * (X25519MLKEM768 through pqt_hybrid_server_respond) and can break one of
 * RFC 8446's client-side rules at a time, so that the scanner's verdicts can
 * be held against what real clients (Debian's OpenSSL 3.0 + pqtls, Node.js
 * 24) do with the same server (issue 16: "verified must mean a real client
 * connects").
 *
 *   rules_server --mode MODE [--port-file FILE] [--lifetime SECONDS]
 *                [--cert CERT.pem --key KEY.pem]
 *
 * Listens on 127.0.0.1 on a port the kernel picks and writes the port to
 * FILE (atomically, through a rename) or to stdout. Each connection is
 * served by a child process with a hard deadline; the server exits after
 * the lifetime (default 120 s) or on SIGTERM/SIGINT, taking its children
 * with it. One line per connection goes to stderr: what the client offered,
 * what was sent, and how the client answered (its Finished, an alert, or
 * silence).
 *
 * Everything is built with the project's writer (wire.h) and key schedule
 * (keyschedule.h); libcrypto signs the CertificateVerify and makes a
 * throwaway P-256 certificate when none is given. The transcript, the
 * Finished MACs and the traffic keys are always right; only the rule the
 * mode names is broken.
 */
#define _GNU_SOURCE /* accept4, SOCK_CLOEXEC */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pqtls/common.h"
#include "pqtls/groups.h"
#include "pqtls/hello.h"
#include "pqtls/hybrid.h"
#include "pqtls/keyschedule.h"
#include "pqtls/names.h"
#include "pqtls/record.h"
#include "pqtls/wire.h"

/* ---- modes ------------------------------------------------------------------ */

typedef enum {
    MODE_OK,
    MODE_SESSION_ID,
    MODE_COMPRESSION,
    MODE_SH_ALPN,
    MODE_SH_UNKNOWN,
    MODE_SH_DUPLICATE,
    MODE_SH_LEGACY_VERSION,
    MODE_VERSION_NOT_OFFERED,
    MODE_CIPHER_NOT_OFFERED,
    MODE_HRR_OK,
    MODE_HRR_NOCHANGE,
    MODE_HRR_HUGE_COOKIE,
    MODE_DOWNGRADE12,
    MODE_EE_UNSOLICITED,
    MODE_EE_ILLEGAL,
    MODE_EE_DUPLICATE,
    MODE_EE_ALPN_NOT_OFFERED,
} rules_mode;

static const struct {
    const char *name;
    rules_mode mode;
    const char *rule;
} modes[] = {
    {"ok", MODE_OK, "none: a correct TLS 1.3 server"},
    {"session-id", MODE_SESSION_ID, "§4.1.3 legacy_session_id_echo differs from the client's"},
    {"compression", MODE_COMPRESSION, "§4.1.3 legacy_compression_method is 1"},
    {"sh-alpn", MODE_SH_ALPN, "§4.2 ALPN (16) in the ServerHello"},
    {"sh-unknown", MODE_SH_UNKNOWN, "§4.2 an unsolicited unassigned extension (0xfe77) in SH"},
    {"sh-duplicate", MODE_SH_DUPLICATE, "§4.2 supported_versions twice in the ServerHello"},
    {"sh-legacy-version", MODE_SH_LEGACY_VERSION, "§4.1.3 ServerHello legacy_version 0x0304"},
    {"version-not-offered", MODE_VERSION_NOT_OFFERED, "§4.2.1 supported_versions selects 0x0305"},
    {"cipher-not-offered", MODE_CIPHER_NOT_OFFERED, "§4.1.3 cipher_suite 0x1304, not offered"},
    {"hrr-ok", MODE_HRR_OK, "none: a correct HelloRetryRequest with a cookie (control)"},
    {"hrr-nochange", MODE_HRR_NOCHANGE, "§4.1.4 a HelloRetryRequest that changes nothing"},
    {"hrr-huge-cookie", MODE_HRR_HUGE_COOKIE,
     "§4.2.2 a 65,000-byte cookie no ClientHello can echo"},
    {"downgrade12", MODE_DOWNGRADE12, "§4.1.3 TLS 1.2 ServerHello with the DOWNGRD\\x01 random"},
    {"ee-unsolicited", MODE_EE_UNSOLICITED, "§4.2 max_fragment_length in EE, never offered"},
    {"ee-illegal", MODE_EE_ILLEGAL, "§4.2 key_share (51) in EncryptedExtensions"},
    {"ee-duplicate", MODE_EE_DUPLICATE, "§4.2 supported_groups twice in EncryptedExtensions"},
    {"ee-alpn-not-offered", MODE_EE_ALPN_NOT_OFFERED, "RFC 7301 §3.1 ALPN names h9, not offered"},
};

/* ---- constants of the protocol ---------------------------------------------- */

/* RFC 8446 §4.1.3: the HelloRetryRequest random, SHA-256("HelloRetryRequest"). */
static const uint8_t hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

/* RFC 8446 §4.1.3: "44 4F 57 4E 47 52 44 01" ends the random of a TLS 1.3
 * server that negotiates TLS 1.2. */
static const uint8_t downgrade_tls12[8] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x01};

#define TLS_HS_ENCRYPTED_EXTENSIONS 8
#define TLS_HS_CERTIFICATE 11
#define TLS_HS_CERTIFICATE_VERIFY 15
#define TLS_HS_SERVER_HELLO_DONE 14
#define TLS_HS_FINISHED 20
#define TLS_HS_MESSAGE_HASH 254

#define TLS_EXT_MAX_FRAGMENT_LENGTH 1
#define TLS_EXT_EC_POINT_FORMATS 11
#define TLS_EXT_EXTENDED_MASTER_SECRET 23
#define TLS_EXT_RENEGOTIATION_INFO 0xFF01
#define TLS_EXT_UNASSIGNED 0xFE77 /* not in the IANA registry, not GREASE */

#define TLS_ALERT_CLOSE_NOTIFY 0
#define TLS_ALERT_HANDSHAKE_FAILURE 40
#define TLS_ALERT_ILLEGAL_PARAMETER 47
#define TLS_ALERT_DECODE_ERROR 50
#define TLS_ALERT_PROTOCOL_VERSION 70

#define HUGE_COOKIE_LEN 65000
#define MAX_HANDSHAKE_MESSAGE (1u << 17) /* a ClientHello never comes close */
#define MAX_RECORD_BODY (PQT_TLS_MAX_RECORD + 2048)
#define CONN_DEADLINE_MS 8000 /* one connection, start to end */
#define CONN_HARD_LIMIT_S 15  /* SIGALRM kills a child that got stuck anyway */
#define DRAIN_MS 1000         /* after close_notify: wait for the client's close */
#define MAX_CHILDREN 64

/* The server's preference: the hybrid groups first, then ML-KEM alone, then
 * the classical ones (for clients without PQ). */
static const uint16_t group_pref[] = {
    PQT_GROUP_X25519MLKEM768, PQT_GROUP_SECP256R1MLKEM768, PQT_GROUP_SECP384R1MLKEM1024,
    PQT_GROUP_MLKEM768,       PQT_GROUP_MLKEM1024,         PQT_GROUP_MLKEM512,
    PQT_GROUP_X25519,         PQT_GROUP_SECP256R1,         PQT_GROUP_SECP384R1,
};

static const uint16_t suite_pref[] = {0x1301, 0x1302, 0x1303};

/* ---- the server's certificate --------------------------------------------- */

typedef struct {
    EVP_PKEY *key;
    uint8_t *der[8]; /* end-entity first, then any chain from --cert */
    int der_len[8];
    size_t n_der;
    uint16_t scheme; /* the SignatureScheme for CertificateVerify */
    const char *md;  /* its hash, NULL for EdDSA */
    int pss;
} server_cert;

static server_cert cert;

/* ---- small helpers --------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("rules_server: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* The alert's RFC 8446 §6 name, or "unknown". */
static const char *alert_name(unsigned d)
{
    const char *name = pqt_tls_alert_name((int)d);
    return name != NULL ? name : "unknown";
}

/* A growing byte buffer (the transcript, handshake message assembly). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} bytes;

static int bytes_add(bytes *b, const uint8_t *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) {
            cap *= 2;
        }
        uint8_t *q = realloc(b->p, cap);
        if (q == NULL) {
            return PQT_ERR_NOMEM;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    return 0;
}

static void bytes_free(bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- one connection ---------------------------------------------------------- */

typedef struct {
    int fd;
    rules_mode mode;
    int64_t deadline;
    char peer[64];
    char log[1536];
    size_t log_len;
    /* the reading side */
    uint8_t rec[MAX_RECORD_BODY];
    pqt_record_header hdr;
    bytes hs; /* handshake bytes not yet taken as messages */
    /* the handshake */
    bytes transcript;
    uint16_t suite;
    pqt_ks_hash hash;
    size_t hash_len;
    int sent_ccs;
    int send_errno; /* why the last send failed (0: a timeout) */
    pqt_ks_secrets ks;
    pqt_record_keys s_hs, c_hs, s_ap, c_ap;
} conn;

static void note(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(conn *c, const char *fmt, ...)
{
    if (c->log_len >= sizeof(c->log) - 1) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->log + c->log_len, sizeof(c->log) - c->log_len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        c->log_len += (size_t)n;
        if (c->log_len > sizeof(c->log) - 1) {
            c->log_len = sizeof(c->log) - 1;
        }
    }
}

static int wait_fd(conn *c, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            return 0;
        }
        struct pollfd p = {.fd = c->fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r > 0) {
            return 1;
        }
        if (r < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* Outcomes of reading from the client, for the log line. */
enum { RD_OK = 0, RD_EOF = 1, RD_TIMEOUT = 2, RD_ERROR = 3 };

static int read_exact(conn *c, uint8_t *p, size_t n, int64_t deadline)
{
    size_t got = 0;
    while (got < n) {
        int w = wait_fd(c, POLLIN, deadline);
        if (w == 0) {
            return RD_TIMEOUT;
        }
        if (w < 0) {
            return RD_ERROR;
        }
        ssize_t r = read(c->fd, p + got, n - got);
        if (r == 0) {
            return RD_EOF;
        }
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return errno == ECONNRESET ? RD_EOF : RD_ERROR;
        }
        got += (size_t)r;
    }
    return RD_OK;
}

static const char *rd_name(int rd)
{
    return rd == RD_EOF ? "closed" : rd == RD_TIMEOUT ? "silent" : "read-error";
}

static int write_all(conn *c, const uint8_t *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        if (wait_fd(c, POLLOUT, c->deadline) <= 0) {
            c->send_errno = 0;
            return PQT_ERR_IO;
        }
        ssize_t r = send(c->fd, p + done, n - done, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            c->send_errno = errno;
            return PQT_ERR_IO;
        }
        done += (size_t)r;
    }
    return 0;
}

/* One record of the client; the body lands in c->rec. */
static int read_record(conn *c)
{
    uint8_t h[PQT_TLS_RECORD_HEADER];
    int rd = read_exact(c, h, sizeof(h), c->deadline);
    if (rd != RD_OK) {
        return rd;
    }
    pqt_reader r = pqt_reader_make(h, sizeof(h));
    if (pqt_record_header_parse(&r, &c->hdr) != 0) {
        note(c, " bad-record-header(%02x%02x%02x)", h[0], h[1], h[2]);
        return RD_ERROR;
    }
    return read_exact(c, c->rec, c->hdr.length, c->deadline);
}

/* Plaintext records of one type, split at 2^14 bytes (RFC 8446 §5.1). */
static int send_plain(conn *c, uint8_t type, const uint8_t *p, size_t n)
{
    uint8_t h[PQT_TLS_RECORD_HEADER];
    size_t off = 0;
    do {
        size_t chunk = n - off > PQT_TLS_MAX_RECORD ? PQT_TLS_MAX_RECORD : n - off;
        PQT_TRY(pqt_record_header_put(h, type, 0x0303, chunk));
        PQT_TRY(write_all(c, h, sizeof(h)));
        PQT_TRY(write_all(c, p + off, chunk));
        off += chunk;
    } while (off < n);
    return 0;
}

static int send_protected(conn *c, pqt_record_keys *k, uint8_t type, const uint8_t *p, size_t n)
{
    static uint8_t out[PQT_TLS_RECORD_HEADER + PQT_TLS_MAX_RECORD + 1 + PQT_KS_TAG];
    size_t off = 0, out_len;
    do {
        size_t chunk = n - off > PQT_TLS_MAX_RECORD ? PQT_TLS_MAX_RECORD : n - off;
        PQT_TRY(pqt_record_encrypt(k, type, p + off, chunk, out, sizeof(out), &out_len));
        PQT_TRY(write_all(c, out, out_len));
        off += chunk;
    } while (off < n);
    return 0;
}

/* Sending failed: usually the client has closed already (it refused what
 * came before, e.g. a scanner that stops after EncryptedExtensions). */
static void note_send_failed(conn *c, const char *what)
{
    note(c, " could-not-send-%s(%s)", what,
         c->send_errno < 0                                       ? "could not build it"
         : c->send_errno == 0                                    ? "timeout"
         : c->send_errno == EPIPE || c->send_errno == ECONNRESET ? "client closed"
                                                                 : strerror(c->send_errno));
}

static void send_alert_plain(conn *c, uint8_t desc)
{
    const uint8_t a[2] = {2, desc};
    if (send_plain(c, PQT_TLS_CT_ALERT, a, sizeof(a)) == 0) {
        note(c, " sent-alert(%s)", alert_name(desc));
    }
}

/* RFC 8446 §D.4: a server in middlebox compatibility mode sends one
 * change_cipher_spec right after its first handshake message; like
 * OpenSSL, do it when the client sent a session id. */
static int send_ccs_once(conn *c, const pqt_client_hello *ch)
{
    static const uint8_t ccs = 1;
    if (c->sent_ccs || ch->session_id_len == 0) {
        return 0;
    }
    c->sent_ccs = 1;
    return send_plain(c, PQT_TLS_CT_CHANGE_CIPHER_SPEC, &ccs, 1);
}

/* Take one handshake message (header included) out of c->hs into msg. */
static int take_message(conn *c, bytes *msg)
{
    if (c->hs.len < PQT_TLS_HANDSHAKE_HEADER) {
        return 0;
    }
    pqt_reader r = pqt_reader_make(c->hs.p, c->hs.len);
    uint8_t type;
    uint32_t len;
    if (pqt_reader_u8(&r, &type) != 0 || pqt_reader_u24(&r, &len) != 0) {
        return 0;
    }
    if (len > MAX_HANDSHAKE_MESSAGE) {
        return PQT_ERR_LENGTH;
    }
    if (pqt_reader_left(&r) < len) {
        return 0;
    }
    size_t whole = PQT_TLS_HANDSHAKE_HEADER + (size_t)len;
    msg->len = 0;
    PQT_TRY(bytes_add(msg, c->hs.p, whole));
    memmove(c->hs.p, c->hs.p + whole, c->hs.len - whole);
    c->hs.len -= whole;
    return 1;
}

/* Note an alert record's description. */
static void note_alert(conn *c, const char *how, const uint8_t *p, size_t n)
{
    if (n == 2) {
        note(c, " client-alert(%s%s, %u)", how, alert_name(p[1]), p[1]);
    } else {
        note(c, " client-alert(%s, %zu bytes)", how, n);
    }
}

/*
 * The next plaintext handshake message (a ClientHello): change_cipher_spec
 * records are skipped (RFC 8446 §D.4 allows one before the second
 * ClientHello), an alert or anything else ends the connection.
 */
static int read_plain_message(conn *c, bytes *msg, const char *what)
{
    for (;;) {
        int t = take_message(c, msg);
        if (t != 0) {
            if (t < 0) {
                note(c, " %s-too-large", what);
            }
            return t > 0 ? 0 : -1;
        }
        int rd = read_record(c);
        if (rd != RD_OK) {
            note(c, " client-%s-before-%s", rd_name(rd), what);
            return -1;
        }
        switch (c->hdr.type) {
        case PQT_TLS_CT_HANDSHAKE:
            if (bytes_add(&c->hs, c->rec, c->hdr.length) != 0) {
                return -1;
            }
            break;
        case PQT_TLS_CT_CHANGE_CIPHER_SPEC:
            break;
        case PQT_TLS_CT_ALERT:
            note_alert(c, "plain ", c->rec, c->hdr.length);
            return -1;
        default:
            note(c, " unexpected-record(type %u)-before-%s", c->hdr.type, what);
            return -1;
        }
    }
}

/* ---- what the client offered ---------------------------------------------- */

static int list_has(const uint8_t *list, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++) {
        if (pqt_u16_at(list, i) == v) {
            return 1;
        }
    }
    return 0;
}

static int offered_ext(const pqt_client_hello *ch, uint16_t type)
{
    for (size_t i = 0; i < ch->n_ext; i++) {
        if (ch->ext[i].type == type) {
            return 1;
        }
    }
    return 0;
}

static const pqt_key_share *share_for(const pqt_client_hello *ch, uint16_t group)
{
    for (size_t i = 0; i < ch->n_key_shares; i++) {
        if (ch->key_shares[i].group == group) {
            return &ch->key_shares[i];
        }
    }
    return NULL;
}

static int is_pq(uint16_t group)
{
    const pqt_group *g = pqt_group_by_code(group);
    return g != NULL && (g->kind == PQT_GROUP_KIND_HYBRID || g->kind == PQT_GROUP_KIND_MLKEM);
}

/*
 * The group to answer with. A PQ share is taken at once; a PQ group the
 * client lists without a share is worth a HelloRetryRequest (as Node.js 24
 * does: it prefers PQ); a classical share is taken only when no PQ group is
 * offered at all. *share is NULL when the answer must be a HRR for *group.
 */
static int choose_group(const pqt_client_hello *ch, uint16_t *group, const pqt_key_share **share)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof(group_pref) / sizeof(group_pref[0]); i++) {
            uint16_t g = group_pref[i];
            if (is_pq(g) != (pass == 0) || !list_has(ch->groups, ch->n_groups, g)) {
                continue;
            }
            *group = g;
            *share = share_for(ch, g);
            if (*share != NULL) {
                return 0;
            }
            /* The best group of this pass has no share: any other share of
             * the same pass will do, else retry for the best one. */
            for (size_t j = i + 1; j < sizeof(group_pref) / sizeof(group_pref[0]); j++) {
                uint16_t h = group_pref[j];
                const pqt_key_share *s = share_for(ch, h);
                if (is_pq(h) == (pass == 0) && s != NULL && list_has(ch->groups, ch->n_groups, h)) {
                    *group = h;
                    *share = s;
                    return 0;
                }
            }
            return 0;
        }
    }
    return PQT_ERR_UNSUPPORTED;
}

static uint16_t choose_suite(const pqt_client_hello *ch)
{
    for (size_t i = 0; i < sizeof(suite_pref) / sizeof(suite_pref[0]); i++) {
        if (list_has(ch->cipher_suites, ch->n_cipher_suites, suite_pref[i])) {
            return suite_pref[i];
        }
    }
    return 0;
}

static void note_offer(conn *c, const pqt_client_hello *ch)
{
    char name[32];
    note(c, " offered(groups=");
    for (size_t i = 0; i < ch->n_groups && i < 12; i++) {
        pqt_tls_group_format(pqt_u16_at(ch->groups, i), name);
        note(c, "%s%s", i ? "," : "", name);
    }
    note(c, " shares=");
    for (size_t i = 0; i < ch->n_key_shares; i++) {
        pqt_tls_group_format(ch->key_shares[i].group, name);
        note(c, "%s%s", i ? "," : "", name);
    }
    note(c, " sid=%u alpn=%s)", ch->session_id_len, ch->alpn_len ? "yes" : "no");
}

/* ---- building the server's messages --------------------------------------- */

static void put_supported_versions(pqt_writer *w, uint16_t version)
{
    pqt_writer_u16(w, PQT_TLS_EXT_SUPPORTED_VERSIONS);
    pqt_writer_open(w, 2);
    pqt_writer_u16(w, version);
    pqt_writer_close(w);
}

/* The session id a ServerHello echoes: the client's, or (mode session-id)
 * the client's with its first byte flipped, or 32 bytes when it was empty. */
static void put_session_id(pqt_writer *w, const pqt_client_hello *ch, int wrong)
{
    uint8_t sid[32];
    memset(sid, 0, sizeof(sid));
    pqt_writer_open(w, 1);
    if (!wrong) {
        pqt_writer_bytes(w, ch->session_id, ch->session_id_len);
    } else if (ch->session_id_len == 0) {
        if (pqt_random_bytes(sid, sizeof(sid)) != 0) {
            sid[0] = 1;
        }
        pqt_writer_bytes(w, sid, sizeof(sid));
    } else {
        memcpy(sid, ch->session_id, ch->session_id_len);
        sid[0] ^= 0xFF;
        pqt_writer_bytes(w, sid, ch->session_id_len);
    }
    pqt_writer_close(w);
}

/* The first protocol name of the client's ALPN list, or "h2". */
static void first_alpn(const pqt_client_hello *ch, const uint8_t **name, size_t *len)
{
    pqt_reader r = pqt_reader_make(ch->alpn, ch->alpn_len);
    pqt_reader sub;
    *name = (const uint8_t *)"h2";
    *len = 2;
    if (ch->alpn != NULL && pqt_reader_vec(&r, 1, &sub) == 0 && pqt_reader_left(&sub) > 0) {
        *name = sub.p;
        *len = pqt_reader_left(&sub);
    }
}

static void put_alpn(pqt_writer *w, const uint8_t *name, size_t len)
{
    pqt_writer_u16(w, PQT_TLS_EXT_ALPN);
    pqt_writer_open(w, 2);
    pqt_writer_open(w, 2);
    pqt_writer_open(w, 1);
    pqt_writer_bytes(w, name, len);
    pqt_writer_close(w);
    pqt_writer_close(w);
    pqt_writer_close(w);
}

static int build_server_hello(conn *c, const pqt_client_hello *ch, uint16_t group,
                              const uint8_t *share, size_t share_len, uint8_t *out, size_t cap,
                              size_t *len)
{
    uint8_t random[32];
    pqt_writer w;
    PQT_TRY(pqt_random_bytes(random, sizeof(random)));
    pqt_writer_init(&w, out, cap);
    pqt_writer_u8(&w, PQT_TLS_HS_SERVER_HELLO);
    pqt_writer_open(&w, 3);
    /* §4.1.3: "legacy_version ... MUST be set to 0x0303". */
    pqt_writer_u16(&w, c->mode == MODE_SH_LEGACY_VERSION ? 0x0304 : 0x0303);
    pqt_writer_bytes(&w, random, sizeof(random));
    put_session_id(&w, ch, c->mode == MODE_SESSION_ID);
    pqt_writer_u16(&w, c->mode == MODE_CIPHER_NOT_OFFERED ? 0x1304 : c->suite);
    /* §4.1.3: "legacy_compression_method: A single byte which MUST have the
     * value 0". */
    pqt_writer_u8(&w, c->mode == MODE_COMPRESSION ? 1 : 0);
    pqt_writer_open(&w, 2);
    put_supported_versions(&w, c->mode == MODE_VERSION_NOT_OFFERED ? 0x0305 : 0x0304);
    pqt_writer_u16(&w, PQT_TLS_EXT_KEY_SHARE);
    pqt_writer_open(&w, 2);
    pqt_writer_u16(&w, group);
    pqt_writer_open(&w, 2);
    pqt_writer_bytes(&w, share, share_len);
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    if (c->mode == MODE_SH_DUPLICATE) {
        /* §4.2: "There MUST NOT be more than one extension of the same type
         * in a given extension block." */
        put_supported_versions(&w, 0x0304);
    }
    if (c->mode == MODE_SH_ALPN) {
        const uint8_t *name;
        size_t name_len;
        first_alpn(ch, &name, &name_len);
        put_alpn(&w, name, name_len);
    }
    if (c->mode == MODE_SH_UNKNOWN) {
        pqt_writer_u16(&w, TLS_EXT_UNASSIGNED);
        pqt_writer_open(&w, 2);
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, len);
}

/* A HelloRetryRequest (§4.1.4): a ServerHello with the special random.
 * group 0: no key_share; cookie_len 0: no cookie. */
static int build_hrr(conn *c, const pqt_client_hello *ch, uint16_t group, size_t cookie_len,
                     uint8_t *out, size_t cap, size_t *len)
{
    pqt_writer w;
    pqt_writer_init(&w, out, cap);
    pqt_writer_u8(&w, PQT_TLS_HS_SERVER_HELLO);
    pqt_writer_open(&w, 3);
    pqt_writer_u16(&w, 0x0303);
    pqt_writer_bytes(&w, hrr_random, sizeof(hrr_random));
    put_session_id(&w, ch, 0);
    pqt_writer_u16(&w, c->suite);
    pqt_writer_u8(&w, 0);
    pqt_writer_open(&w, 2);
    put_supported_versions(&w, 0x0304);
    if (group != 0) {
        pqt_writer_u16(&w, PQT_TLS_EXT_KEY_SHARE);
        pqt_writer_open(&w, 2);
        pqt_writer_u16(&w, group);
        pqt_writer_close(&w);
    }
    if (cookie_len > 0) {
        uint8_t chunk[256];
        memset(chunk, 0x5A, sizeof(chunk));
        pqt_writer_u16(&w, PQT_TLS_EXT_COOKIE);
        pqt_writer_open(&w, 2);
        pqt_writer_open(&w, 2);
        for (size_t done = 0; done < cookie_len;) {
            size_t n = cookie_len - done < sizeof(chunk) ? cookie_len - done : sizeof(chunk);
            pqt_writer_bytes(&w, chunk, n);
            done += n;
        }
        pqt_writer_close(&w);
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, len);
}

/* TLS 1.2 ServerHello (RFC 5246 §7.4.1.3) from a server that could do TLS
 * 1.3: its random ends in the downgrade sentinel. */
static void put_server_hello12(pqt_writer *w, const pqt_client_hello *ch, uint16_t suite,
                               const uint8_t random[32])
{
    pqt_writer_u8(w, PQT_TLS_HS_SERVER_HELLO);
    pqt_writer_open(w, 3);
    pqt_writer_u16(w, 0x0303);
    pqt_writer_bytes(w, random, 32);
    /* A fresh TLS 1.2 session id, as a server that does not resume would. */
    pqt_writer_open(w, 1);
    pqt_writer_close(w);
    pqt_writer_u16(w, suite);
    pqt_writer_u8(w, 0);
    pqt_writer_open(w, 2);
    /* Only what the client offered (RFC 5246 §7.4.1.4). */
    if (offered_ext(ch, TLS_EXT_RENEGOTIATION_INFO) ||
        list_has(ch->cipher_suites, ch->n_cipher_suites, 0x00FF)) {
        pqt_writer_u16(w, TLS_EXT_RENEGOTIATION_INFO);
        pqt_writer_open(w, 2);
        pqt_writer_open(w, 1);
        pqt_writer_close(w);
        pqt_writer_close(w);
    }
    if (offered_ext(ch, TLS_EXT_EXTENDED_MASTER_SECRET)) {
        pqt_writer_u16(w, TLS_EXT_EXTENDED_MASTER_SECRET);
        pqt_writer_open(w, 2);
        pqt_writer_close(w);
    }
    if (offered_ext(ch, TLS_EXT_EC_POINT_FORMATS)) {
        pqt_writer_u16(w, TLS_EXT_EC_POINT_FORMATS);
        pqt_writer_open(w, 2);
        pqt_writer_open(w, 1);
        pqt_writer_u8(w, 0); /* uncompressed */
        pqt_writer_close(w);
        pqt_writer_close(w);
    }
    pqt_writer_close(w);
    pqt_writer_close(w);
}

static int build_encrypted_extensions(conn *c, const pqt_client_hello *ch, uint8_t *out, size_t cap,
                                      size_t *len)
{
    pqt_writer w;
    pqt_writer_init(&w, out, cap);
    pqt_writer_u8(&w, TLS_HS_ENCRYPTED_EXTENSIONS);
    pqt_writer_open(&w, 3);
    pqt_writer_open(&w, 2);
    switch (c->mode) {
    case MODE_EE_UNSOLICITED:
        /* RFC 6066 §4: max_fragment_length, a one-byte body (2^9). §4.2:
         * "Implementations MUST NOT send extension responses if the remote
         * endpoint did not send the corresponding extension requests". */
        if (offered_ext(ch, TLS_EXT_MAX_FRAGMENT_LENGTH)) {
            note(c, " (client offered max_fragment_length: not unsolicited)");
        }
        pqt_writer_u16(&w, TLS_EXT_MAX_FRAGMENT_LENGTH);
        pqt_writer_open(&w, 2);
        pqt_writer_u8(&w, 1);
        pqt_writer_close(&w);
        break;
    case MODE_EE_ILLEGAL: {
        /* §4.2's table: key_share belongs to CH, SH and HRR only. */
        uint8_t x[32];
        PQT_TRY(pqt_random_bytes(x, sizeof(x)));
        pqt_writer_u16(&w, PQT_TLS_EXT_KEY_SHARE);
        pqt_writer_open(&w, 2);
        pqt_writer_u16(&w, PQT_GROUP_X25519);
        pqt_writer_open(&w, 2);
        pqt_writer_bytes(&w, x, sizeof(x));
        pqt_writer_close(&w);
        pqt_writer_close(&w);
        break;
    }
    case MODE_EE_DUPLICATE:
        /* supported_groups is allowed in EE (§4.2.7), but only once. */
        for (int i = 0; i < 2; i++) {
            pqt_writer_u16(&w, PQT_TLS_EXT_SUPPORTED_GROUPS);
            pqt_writer_open(&w, 2);
            pqt_writer_open(&w, 2);
            pqt_writer_u16(&w, PQT_GROUP_X25519MLKEM768);
            pqt_writer_u16(&w, PQT_GROUP_X25519);
            pqt_writer_close(&w);
            pqt_writer_close(&w);
        }
        break;
    case MODE_EE_ALPN_NOT_OFFERED:
        /* RFC 7301 §3.1: the selected protocol "MUST be one of the
         * protocols advertised by the client". */
        if (ch->alpn == NULL) {
            note(c, " (client offered no ALPN: the EE ALPN is unsolicited too)");
        }
        put_alpn(&w, (const uint8_t *)"h9", 2);
        break;
    default:
        break;
    }
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, len);
}

static int build_certificate(uint8_t *out, size_t cap, size_t *len)
{
    pqt_writer w;
    pqt_writer_init(&w, out, cap);
    pqt_writer_u8(&w, TLS_HS_CERTIFICATE);
    pqt_writer_open(&w, 3);
    pqt_writer_open(&w, 1); /* certificate_request_context: empty */
    pqt_writer_close(&w);
    pqt_writer_open(&w, 3);
    for (size_t i = 0; i < cert.n_der; i++) {
        pqt_writer_open(&w, 3);
        pqt_writer_bytes(&w, cert.der[i], (size_t)cert.der_len[i]);
        pqt_writer_close(&w);
        pqt_writer_open(&w, 2); /* no CertificateEntry extensions */
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, len);
}

static int transcript_hash(conn *c, uint8_t *out)
{
    const uint8_t *part = c->transcript.p;
    size_t n = c->transcript.len;
    return pqt_ks_transcript(c->hash, &part, &n, 1, out);
}

/* Sign data with the certificate's key and scheme (cert.scheme). */
static int sign(const uint8_t *data, size_t n, uint8_t *sig, size_t *sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = md != NULL &&
             EVP_DigestSignInit_ex(md, &pctx, cert.md, NULL, NULL, cert.key, NULL) == 1 &&
             (!cert.pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
             EVP_DigestSign(md, sig, sig_len, data, n) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : PQT_ERR_CRYPTO_LIB;
}

/* §4.4.3: the signature covers 64 spaces, the context string, a zero byte
 * and the transcript hash up to the Certificate. */
static int build_certificate_verify(conn *c, uint8_t *out, size_t cap, size_t *len)
{
    static const char context[] = "TLS 1.3, server CertificateVerify";
    uint8_t content[64 + sizeof(context) + PQT_KS_MAX_HASH];
    uint8_t th[PQT_KS_MAX_HASH];
    uint8_t sig[1024];
    size_t sig_len = sizeof(sig);

    PQT_TRY(transcript_hash(c, th));
    memset(content, 0x20, 64);
    memcpy(content + 64, context, sizeof(context)); /* with its NUL: the 0 byte */
    memcpy(content + 64 + sizeof(context), th, c->hash_len);
    PQT_TRY(sign(content, 64 + sizeof(context) + c->hash_len, sig, &sig_len));
    pqt_writer w;
    pqt_writer_init(&w, out, cap);
    pqt_writer_u8(&w, TLS_HS_CERTIFICATE_VERIFY);
    pqt_writer_open(&w, 3);
    pqt_writer_u16(&w, cert.scheme);
    pqt_writer_open(&w, 2);
    pqt_writer_bytes(&w, sig, sig_len);
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, len);
}

/* §4.4.4: verify_data = HMAC(finished_key, Transcript-Hash(...)) with
 * finished_key = HKDF-Expand-Label(base_key, "finished", "", Hash.length). */
static int finished_mac(conn *c, const uint8_t *base_key, uint8_t *mac)
{
    uint8_t key[PQT_KS_MAX_HASH], th[PQT_KS_MAX_HASH];
    size_t mac_len = 0;
    int ret = transcript_hash(c, th);
    if (ret == 0) {
        ret = pqt_ks_expand_label(c->hash, base_key, "finished", NULL, 0, key, c->hash_len);
    }
    if (ret == 0 &&
        EVP_Q_mac(NULL, "HMAC", NULL, c->hash == PQT_KS_SHA384 ? "SHA384" : "SHA256", NULL, key,
                  c->hash_len, th, c->hash_len, mac, PQT_KS_MAX_HASH, &mac_len) == NULL) {
        ret = PQT_ERR_CRYPTO_LIB;
    }
    pqt_ks_wipe(key, sizeof(key));
    return ret;
}

static int build_finished(conn *c, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t mac[PQT_KS_MAX_HASH];
    PQT_TRY(finished_mac(c, c->ks.server_hs_traffic, mac));
    pqt_writer w;
    pqt_writer_init(&w, out, cap);
    pqt_writer_u8(&w, TLS_HS_FINISHED);
    pqt_writer_open(&w, 3);
    pqt_writer_bytes(&w, mac, c->hash_len);
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, len);
}

/* ---- the handshake ------------------------------------------------------------ */

/* Server side of the key exchange: a hybrid or ML-KEM group through
 * pqt_hybrid_server_respond; a classical one as an ephemeral key of the
 * same group whose "finish" with the client's share is the ECDH secret. */
static int key_exchange(uint16_t group, const pqt_key_share *ks, uint8_t *share, size_t cap,
                        size_t *share_len, uint8_t *secret, size_t secret_cap, size_t *secret_len)
{
    if (is_pq(group)) {
        return pqt_hybrid_server_respond(group, ks->share, ks->len, share, cap, share_len, secret,
                                         secret_cap, secret_len);
    }
    pqt_hybrid_client *eph = NULL;
    int ret = pqt_hybrid_client_new_classical(group, &eph, share, cap, share_len);
    if (ret == 0) {
        ret = pqt_hybrid_client_finish(eph, ks->share, ks->len, secret, secret_cap, secret_len);
    }
    pqt_hybrid_client_free(eph);
    return ret;
}

/* §4.4.1: after a HelloRetryRequest the transcript starts with
 * message_hash = 254 || 00 00 Hash.length || Hash(ClientHello1). */
static int transcript_restart_after_hrr(conn *c, const uint8_t *hrr, size_t hrr_len)
{
    uint8_t h[PQT_KS_MAX_HASH];
    uint8_t synthetic[PQT_TLS_HANDSHAKE_HEADER + PQT_KS_MAX_HASH];
    size_t n;
    pqt_writer w;
    PQT_TRY(transcript_hash(c, h));
    pqt_writer_init(&w, synthetic, sizeof(synthetic));
    pqt_writer_u8(&w, TLS_HS_MESSAGE_HASH);
    pqt_writer_open(&w, 3);
    pqt_writer_bytes(&w, h, c->hash_len);
    pqt_writer_close(&w);
    PQT_TRY(pqt_writer_finish(&w, &n));
    c->transcript.len = 0;
    PQT_TRY(bytes_add(&c->transcript, synthetic, n));
    return bytes_add(&c->transcript, hrr, hrr_len);
}

static int send_handshake_protected(conn *c, const uint8_t *msg, size_t len)
{
    PQT_TRY(bytes_add(&c->transcript, msg, len));
    return send_protected(c, &c->s_hs, PQT_TLS_CT_HANDSHAKE, msg, len);
}

/*
 * After the server's Finished: the client's answer. Its Finished (checked
 * against the transcript) means it accepted everything; an alert (in the
 * clear or under the handshake keys) or a close means it refused.
 */
static int read_client_finished(conn *c)
{
    static uint8_t pt[MAX_RECORD_BODY];
    uint8_t expect[PQT_KS_MAX_HASH];
    PQT_TRY(finished_mac(c, c->ks.client_hs_traffic, expect));
    for (;;) {
        int rd = read_record(c);
        if (rd != RD_OK) {
            note(c, " client-%s-before-Finished", rd_name(rd));
            return -1;
        }
        if (c->hdr.type == PQT_TLS_CT_CHANGE_CIPHER_SPEC) {
            continue;
        }
        if (c->hdr.type == PQT_TLS_CT_ALERT) {
            note_alert(c, "plain ", c->rec, c->hdr.length);
            return -1;
        }
        if (c->hdr.type != PQT_TLS_CT_APPLICATION_DATA) {
            note(c, " unexpected-record(type %u)", c->hdr.type);
            return -1;
        }
        uint8_t h[PQT_TLS_RECORD_HEADER], type;
        size_t pt_len;
        if (pqt_record_header_put(h, c->hdr.type, c->hdr.version, c->hdr.length) != 0 ||
            pqt_record_decrypt(&c->c_hs, h, c->rec, c->hdr.length, pt, &pt_len, &type) != 0) {
            note(c, " client-record-does-not-decrypt");
            return -1;
        }
        if (type == PQT_TLS_CT_ALERT) {
            note_alert(c, "encrypted ", pt, pt_len);
            return -1;
        }
        if (type != PQT_TLS_CT_HANDSHAKE) {
            note(c, " unexpected-inner-type(%u)", type);
            return -1;
        }
        if (bytes_add(&c->hs, pt, pt_len) != 0) {
            return -1;
        }
        bytes msg = {0};
        int t = take_message(c, &msg);
        if (t == 0) {
            bytes_free(&msg);
            continue;
        }
        int ok = t > 0 && msg.len == PQT_TLS_HANDSHAKE_HEADER + c->hash_len &&
                 msg.p[0] == TLS_HS_FINISHED &&
                 CRYPTO_memcmp(msg.p + PQT_TLS_HANDSHAKE_HEADER, expect, c->hash_len) == 0;
        if (!ok) {
            note(c, " client-Finished-wrong(type %u, %zu bytes)", t > 0 ? msg.p[0] : 0, msg.len);
            bytes_free(&msg);
            return -1;
        }
        bytes_free(&msg);
        note(c, " client-Finished-ok");
        return 0;
    }
}

/* The end of a connection that worked: data, close_notify, and a short
 * wait for the client's own close so that our close sends no reset. */
static void finish_connection(conn *c)
{
    static const uint8_t hello[] = "ok\n";
    static const uint8_t close_notify[2] = {1, TLS_ALERT_CLOSE_NOTIFY};
    if (send_protected(c, &c->s_ap, PQT_TLS_CT_APPLICATION_DATA, hello, sizeof(hello) - 1) != 0 ||
        send_protected(c, &c->s_ap, PQT_TLS_CT_ALERT, close_notify, sizeof(close_notify)) != 0) {
        note_send_failed(c, "data");
        return;
    }
    note(c, " sent-data+close_notify");
    shutdown(c->fd, SHUT_WR);
    int64_t until = now_ms() + DRAIN_MS;
    uint8_t sink[4096];
    while (wait_fd(c, POLLIN, until) > 0) {
        ssize_t r = read(c->fd, sink, sizeof(sink));
        if (r <= 0) {
            break;
        }
    }
}

/*
 * The first flight of a TLS 1.2 ECDHE server (RFC 5246 §7.4, RFC 8422
 * §5.4): ServerHello, Certificate, ServerKeyExchange, ServerHelloDone, all
 * correct, but from a server that could do TLS 1.3: the ServerHello random
 * ends in the downgrade sentinel.
 */
static int build_flight12(const pqt_client_hello *ch, uint16_t suite, uint16_t curve, uint8_t *out,
                          size_t cap, size_t *len)
{
    uint8_t random[32], point[PQT_HYBRID_MAX_CLIENT_SHARE], params[256], sig[1024];
    uint8_t signed_params[64 + sizeof(params)];
    size_t point_len = 0, params_len = 0, sig_len = sizeof(sig);
    pqt_hybrid_client *eph = NULL;
    pqt_writer w;

    PQT_TRY(pqt_random_bytes(random, sizeof(random)));
    /* §4.1.3: "If negotiating TLS 1.2, TLS 1.3 servers MUST set the last
     * 8 bytes of their Random value to the bytes: 44 4F 57 4E 47 52 44 01".
     * A client that offered TLS 1.3 "MUST check that the last 8 bytes are
     * not equal to either of these values". */
    memcpy(random + 24, downgrade_tls12, sizeof(downgrade_tls12));
    /* The ephemeral key; the exchange is never finished (no client gets
     * that far, or the log says so). */
    PQT_TRY(pqt_hybrid_client_new_classical(curve, &eph, point, sizeof(point), &point_len));
    pqt_hybrid_client_free(eph);
    pqt_writer_init(&w, params, sizeof(params));
    pqt_writer_u8(&w, 3); /* ECCurveType named_curve */
    pqt_writer_u16(&w, curve);
    pqt_writer_open(&w, 1);
    pqt_writer_bytes(&w, point, point_len);
    pqt_writer_close(&w);
    PQT_TRY(pqt_writer_finish(&w, &params_len));
    /* RFC 8422 §5.4: the signature covers ClientHello.random,
     * ServerHello.random and the parameters. */
    memcpy(signed_params, ch->random, 32);
    memcpy(signed_params + 32, random, 32);
    memcpy(signed_params + 64, params, params_len);
    PQT_TRY(sign(signed_params, 64 + params_len, sig, &sig_len));

    pqt_writer_init(&w, out, cap);
    put_server_hello12(&w, ch, suite, random);
    pqt_writer_u8(&w, TLS_HS_CERTIFICATE);
    pqt_writer_open(&w, 3);
    pqt_writer_open(&w, 3);
    for (size_t i = 0; i < cert.n_der; i++) {
        pqt_writer_open(&w, 3);
        pqt_writer_bytes(&w, cert.der[i], (size_t)cert.der_len[i]);
        pqt_writer_close(&w);
    }
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    pqt_writer_u8(&w, PQT_TLS_HS_SERVER_KEY_EXCHANGE);
    pqt_writer_open(&w, 3);
    pqt_writer_bytes(&w, params, params_len);
    pqt_writer_u16(&w, cert.scheme);
    pqt_writer_open(&w, 2);
    pqt_writer_bytes(&w, sig, sig_len);
    pqt_writer_close(&w);
    pqt_writer_close(&w);
    pqt_writer_u8(&w, TLS_HS_SERVER_HELLO_DONE);
    pqt_writer_open(&w, 3);
    pqt_writer_close(&w);
    return pqt_writer_finish(&w, len);
}

static void serve_downgrade12(conn *c, const pqt_client_hello *ch)
{
    static uint8_t flight[16384];
    size_t flight_len;
    /* An ECDHE suite for the certificate's key (RFC 8422 §6: ECDSA suites
     * for ECDSA and EdDSA keys), on X25519 when offered. */
    uint16_t suite = EVP_PKEY_get_base_id(cert.key) == EVP_PKEY_RSA ? 0xC02F : 0xC02B;
    uint16_t curve = list_has(ch->groups, ch->n_groups, PQT_GROUP_X25519) ? PQT_GROUP_X25519
                                                                          : PQT_GROUP_SECP256R1;
    if (!list_has(ch->cipher_suites, ch->n_cipher_suites, suite)) {
        note(c, " (client did not offer suite 0x%04x)", suite);
    }
    if (!list_has(ch->groups, ch->n_groups, curve)) {
        note(c, " (client offered neither x25519 nor secp256r1)");
    }
    if (ch->versions != NULL && !list_has(ch->versions, ch->n_versions, 0x0303)) {
        note(c, " (client did not offer TLS 1.2 in supported_versions)");
    }
    if (build_flight12(ch, suite, curve, flight, sizeof(flight), &flight_len) != 0 ||
        send_plain(c, PQT_TLS_CT_HANDSHAKE, flight, flight_len) != 0) {
        note_send_failed(c, "TLS1.2-flight");
        return;
    }
    note(c, " sent=SH12(suite=0x%04x,random=...DOWNGRD01)+Certificate+SKE(%s)+SHD", suite,
         pqt_tls_group_name(curve));
    /* What the client does with it: an alert, a close, or (wrongly) its
     * ClientKeyExchange. */
    int rd = read_record(c);
    if (rd != RD_OK) {
        note(c, " client-%s", rd_name(rd));
    } else if (c->hdr.type == PQT_TLS_CT_ALERT) {
        note_alert(c, "plain ", c->rec, c->hdr.length);
    } else {
        note(c, " client-went-on(record type %u, %u bytes)", c->hdr.type, c->hdr.length);
    }
}

static void serve(conn *c)
{
    static uint8_t msg[HUGE_COOKIE_LEN + 1024], share[PQT_HYBRID_MAX_SERVER_SHARE];
    uint8_t secret[PQT_HYBRID_MAX_SECRET];
    size_t msg_len, share_len = 0, secret_len = 0;
    bytes ch1_buf = {0}, ch2_buf = {0};
    pqt_client_hello ch1, ch2;
    const pqt_client_hello *ch = &ch1;
    uint16_t group = 0;
    const pqt_key_share *ks = NULL;
    size_t key_len;

    if (read_plain_message(c, &ch1_buf, "ClientHello") != 0) {
        goto done;
    }
    if (ch1_buf.p[0] != PQT_TLS_HS_CLIENT_HELLO ||
        pqt_hello_parse_client(ch1_buf.p + 4, ch1_buf.len - 4, &ch1) != 0) {
        note(c, " not-a-ClientHello");
        send_alert_plain(c, TLS_ALERT_DECODE_ERROR);
        goto done;
    }
    note_offer(c, &ch1);
    if (c->mode == MODE_DOWNGRADE12) {
        serve_downgrade12(c, &ch1);
        goto done;
    }
    if (!list_has(ch1.versions, ch1.n_versions, 0x0304)) {
        note(c, " client-does-not-offer-TLS1.3");
        send_alert_plain(c, TLS_ALERT_PROTOCOL_VERSION);
        goto done;
    }
    c->suite = choose_suite(&ch1);
    if (c->suite == 0 || pqt_ks_suite(c->suite, &c->hash, &key_len) != 0 ||
        choose_group(&ch1, &group, &ks) != 0) {
        note(c, " no-common-suite-or-group");
        send_alert_plain(c, TLS_ALERT_HANDSHAKE_FAILURE);
        goto done;
    }
    c->hash_len = pqt_ks_hash_len(c->hash);
    if (bytes_add(&c->transcript, ch1_buf.p, ch1_buf.len) != 0) {
        goto done;
    }

    /* A HelloRetryRequest: when the best group came without a share, or
     * always in the HRR modes. */
    uint16_t hrr_group = ks == NULL ? group : 0;
    size_t cookie_len = 0;
    int hrr = ks == NULL;
    if (c->mode == MODE_HRR_NOCHANGE) {
        /* §4.1.4: "Clients MUST abort the handshake with an
         * "illegal_parameter" alert if the HelloRetryRequest would not
         * result in any change in the ClientHello." supported_versions
         * only: no key_share, no cookie. */
        hrr = 1;
        hrr_group = 0;
    } else if (c->mode == MODE_HRR_OK || c->mode == MODE_HRR_HUGE_COOKIE) {
        /* A cookie always; a key_share only for a group offered without a
         * share (§4.2.8: never one the client sent a share for). */
        hrr = 1;
        cookie_len = c->mode == MODE_HRR_OK ? 32 : HUGE_COOKIE_LEN;
    }
    if (hrr) {
        if (build_hrr(c, &ch1, hrr_group, cookie_len, msg, sizeof(msg), &msg_len) != 0 ||
            send_plain(c, PQT_TLS_CT_HANDSHAKE, msg, msg_len) != 0 || send_ccs_once(c, &ch1) != 0) {
            note_send_failed(c, "HRR");
            goto done;
        }
        note(c, " sent=HRR(suite=0x%04x,key_share=%s,cookie=%zu)", c->suite,
             hrr_group ? pqt_tls_group_name(hrr_group) : "none", cookie_len);
        if (transcript_restart_after_hrr(c, msg, msg_len) != 0) {
            goto done;
        }
        if (read_plain_message(c, &ch2_buf, "ClientHello2") != 0) {
            goto done;
        }
        if (ch2_buf.p[0] != PQT_TLS_HS_CLIENT_HELLO ||
            pqt_hello_parse_client(ch2_buf.p + 4, ch2_buf.len - 4, &ch2) != 0) {
            note(c, " ClientHello2-does-not-parse");
            send_alert_plain(c, TLS_ALERT_DECODE_ERROR);
            goto done;
        }
        ch = &ch2;
        note(c, " client-sent-ClientHello2");
        if (bytes_add(&c->transcript, ch2_buf.p, ch2_buf.len) != 0) {
            goto done;
        }
        if (hrr_group != 0) {
            group = hrr_group;
            ks = share_for(ch, group);
        } else if (choose_group(ch, &group, &ks) != 0) {
            ks = NULL;
        }
        if (ks == NULL) {
            note(c, " ClientHello2-has-no-usable-share");
            send_alert_plain(c, TLS_ALERT_ILLEGAL_PARAMETER);
            goto done;
        }
    }

    if (key_exchange(group, ks, share, sizeof(share), &share_len, secret, sizeof(secret),
                     &secret_len) != 0) {
        note(c, " bad-client-share(%s)", pqt_tls_group_name(group));
        send_alert_plain(c, TLS_ALERT_ILLEGAL_PARAMETER);
        goto done;
    }
    if (build_server_hello(c, ch, group, share, share_len, msg, sizeof(msg), &msg_len) != 0 ||
        send_plain(c, PQT_TLS_CT_HANDSHAKE, msg, msg_len) != 0 || send_ccs_once(c, ch) != 0) {
        note_send_failed(c, "SH");
        goto done;
    }
    note(c, " sent=SH(group=%s,suite=0x%04x)", pqt_tls_group_name(group),
         c->mode == MODE_CIPHER_NOT_OFFERED ? 0x1304 : c->suite);
    if (bytes_add(&c->transcript, msg, msg_len) != 0) {
        goto done;
    }
    if (c->mode == MODE_CIPHER_NOT_OFFERED) {
        /* TLS_AES_128_CCM_SHA256 is not in pqtls' key schedule: the
         * handshake cannot go on, and a client must not either. */
        int rd = read_record(c);
        if (rd != RD_OK) {
            note(c, " client-%s", rd_name(rd));
        } else if (c->hdr.type == PQT_TLS_CT_ALERT) {
            note_alert(c, "plain ", c->rec, c->hdr.length);
        } else {
            note(c, " client-went-on(record type %u)", c->hdr.type);
        }
        goto done;
    }

    /* §7.1: the handshake secrets from the shared secret and
     * H(ClientHello..ServerHello). */
    uint8_t th[PQT_KS_MAX_HASH];
    if (transcript_hash(c, th) != 0 || pqt_ks_early(&c->ks, c->hash, NULL, 0, NULL) != 0 ||
        pqt_ks_handshake(&c->ks, secret, secret_len, th) != 0 ||
        pqt_record_keys_init(&c->s_hs, c->suite, c->ks.server_hs_traffic) != 0 ||
        pqt_record_keys_init(&c->c_hs, c->suite, c->ks.client_hs_traffic) != 0) {
        note(c, " key-schedule-failed");
        goto done;
    }
    if (build_encrypted_extensions(c, ch, msg, sizeof(msg), &msg_len) != 0 ||
        send_handshake_protected(c, msg, msg_len) != 0 ||
        build_certificate(msg, sizeof(msg), &msg_len) != 0 ||
        send_handshake_protected(c, msg, msg_len) != 0 ||
        build_certificate_verify(c, msg, sizeof(msg), &msg_len) != 0 ||
        send_handshake_protected(c, msg, msg_len) != 0 ||
        build_finished(c, msg, sizeof(msg), &msg_len) != 0 ||
        send_handshake_protected(c, msg, msg_len) != 0) {
        note_send_failed(c, "flight");
        goto done;
    }
    note(c, " sent=EE+Certificate+CertificateVerify+Finished");
    if (transcript_hash(c, th) != 0 || pqt_ks_master(&c->ks, th) != 0 ||
        pqt_record_keys_init(&c->s_ap, c->suite, c->ks.server_ap_traffic) != 0 ||
        pqt_record_keys_init(&c->c_ap, c->suite, c->ks.client_ap_traffic) != 0) {
        note(c, " key-schedule-failed");
        goto done;
    }
    if (read_client_finished(c) == 0) {
        finish_connection(c);
    }
done:
    pqt_ks_wipe(secret, sizeof(secret));
    pqt_ks_wipe(&c->ks, sizeof(c->ks));
    bytes_free(&ch1_buf);
    bytes_free(&ch2_buf);
}

/* ---- the certificate ------------------------------------------------------ */

static void cert_scheme(void)
{
    int id = EVP_PKEY_get_base_id(cert.key);
    char curve[64] = "";
    size_t curve_len = 0;
    if (id == EVP_PKEY_EC) {
        if (EVP_PKEY_get_utf8_string_param(cert.key, OSSL_PKEY_PARAM_GROUP_NAME, curve,
                                           sizeof(curve), &curve_len) != 1) {
            die("cannot read the curve of the certificate key");
        }
        if (strcmp(curve, "prime256v1") == 0) {
            cert.scheme = 0x0403, cert.md = "SHA256";
        } else if (strcmp(curve, "secp384r1") == 0) {
            cert.scheme = 0x0503, cert.md = "SHA384";
        } else if (strcmp(curve, "secp521r1") == 0) {
            cert.scheme = 0x0603, cert.md = "SHA512";
        } else {
            die("certificate key on curve %s: use P-256, P-384, P-521, Ed25519 or RSA", curve);
        }
    } else if (id == EVP_PKEY_ED25519) {
        cert.scheme = 0x0807, cert.md = NULL;
    } else if (id == EVP_PKEY_RSA) {
        cert.scheme = 0x0804, cert.md = "SHA256", cert.pss = 1; /* rsa_pss_rsae_sha256 */
    } else {
        die("certificate key type %d: use P-256, P-384, P-521, Ed25519 or RSA", id);
    }
}

static void cert_add_der(X509 *x)
{
    if (cert.n_der == sizeof(cert.der) / sizeof(cert.der[0])) {
        return;
    }
    uint8_t *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0) {
        die("cannot encode the certificate");
    }
    cert.der[cert.n_der] = der;
    cert.der_len[cert.n_der] = n;
    cert.n_der++;
}

static void cert_load(const char *cert_file, const char *key_file)
{
    FILE *f = fopen(cert_file, "r");
    if (f == NULL) {
        die("--cert %s: %s", cert_file, strerror(errno));
    }
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        cert_add_der(x);
        X509_free(x);
    }
    fclose(f);
    if (cert.n_der == 0) {
        die("--cert %s: no PEM certificate in it", cert_file);
    }
    f = fopen(key_file, "r");
    if (f == NULL) {
        die("--key %s: %s", key_file, strerror(errno));
    }
    cert.key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (cert.key == NULL) {
        die("--key %s: no PEM private key in it (unencrypted PKCS#8 or traditional)", key_file);
    }
}

/* A throwaway self-signed P-256 certificate for localhost / 127.0.0.1. */
static void cert_generate(void)
{
    X509 *x = X509_new();
    X509V3_CTX v3;
    X509_EXTENSION *san = NULL;
    uint8_t serial[8];
    cert.key = EVP_EC_gen("P-256");
    if (cert.key == NULL || x == NULL || pqt_random_bytes(serial, sizeof(serial)) != 0) {
        die("cannot make a certificate key");
    }
    serial[0] &= 0x7F;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *name = X509_get_subject_name(x);
    int ok = bn != NULL && X509_set_version(x, 2) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400) != NULL &&
             X509_set_pubkey(x, cert.key) == 1 &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        (const unsigned char *)"localhost", -1, -1, 0) == 1 &&
             X509_set_issuer_name(x, name) == 1;
    if (ok) {
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
        ok = san != NULL && X509_add_ext(x, san, -1) == 1 &&
             X509_sign(x, cert.key, EVP_sha256()) > 0;
    }
    if (!ok) {
        die("cannot make a self-signed certificate");
    }
    cert_add_der(x);
    X509_EXTENSION_free(san);
    BN_free(bn);
    X509_free(x);
}

/* ---- the listener ---------------------------------------------------------------- */

static pid_t children[MAX_CHILDREN];
static size_t n_children;

static void reap_children(int block)
{
    for (size_t i = 0; i < n_children;) {
        int status;
        pid_t r = waitpid(children[i], &status, block ? 0 : WNOHANG);
        if (r == children[i] || (r < 0 && errno == ECHILD)) {
            children[i] = children[--n_children];
        } else {
            i++;
        }
    }
}

static void serve_child(int fd, rules_mode mode, const struct sockaddr_in *peer)
{
    static conn c;
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    alarm(CONN_HARD_LIMIT_S);
    memset(&c, 0, sizeof(c));
    c.fd = fd;
    c.mode = mode;
    c.send_errno = -1;
    c.deadline = now_ms() + CONN_DEADLINE_MS;
    snprintf(c.peer, sizeof(c.peer), "127.0.0.1:%u", ntohs(peer->sin_port));
    int64_t start = now_ms();
    serve(&c);
    char line[sizeof(c.log) + 128];
    int n = snprintf(line, sizeof(line), "rules_server: mode=%s peer=%s ms=%lld%s\n",
                     modes[mode].name, c.peer, (long long)(now_ms() - start), c.log);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
        (void)w;
    }
    bytes_free(&c.transcript);
    bytes_free(&c.hs);
    close(fd);
}

static void write_port(const char *port_file, unsigned port)
{
    if (port_file == NULL) {
        printf("%u\n", port);
        fflush(stdout);
        return;
    }
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, port_file) != 0) {
        die("--port-file %s: cannot write it (%s)", port_file, strerror(errno));
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: rules_server --mode MODE [--port-file FILE] [--lifetime SECONDS]\n"
                    "                    [--cert CERT.pem --key KEY.pem]\nmodes:\n");
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        fprintf(stderr, "  %-20s %s\n", modes[i].name, modes[i].rule);
    }
    exit(2);
}

int main(int argc, char **argv)
{
    const char *mode_name = NULL, *port_file = NULL, *cert_file = NULL, *key_file = NULL;
    long lifetime = 120;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || i + 1 >= argc) {
            usage();
        }
        const char *v = argv[++i];
        if (strcmp(a, "--mode") == 0) {
            mode_name = v;
        } else if (strcmp(a, "--port-file") == 0) {
            port_file = v;
        } else if (strcmp(a, "--lifetime") == 0) {
            char *end;
            lifetime = strtol(v, &end, 10);
            if (*end != '\0' || lifetime < 1 || lifetime > 86400) {
                die("--lifetime %s: give whole seconds, 1 to 86400", v);
            }
        } else if (strcmp(a, "--cert") == 0) {
            cert_file = v;
        } else if (strcmp(a, "--key") == 0) {
            key_file = v;
        } else {
            usage();
        }
    }
    if (mode_name == NULL) {
        usage();
    }
    int mode = -1;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(modes[i].name, mode_name) == 0) {
            mode = (int)modes[i].mode;
        }
    }
    if (mode < 0) {
        fprintf(stderr, "rules_server: --mode %s is not a mode\n", mode_name);
        usage();
    }
    if ((cert_file == NULL) != (key_file == NULL)) {
        die("--cert and --key go together");
    }
    if (cert_file != NULL) {
        cert_load(cert_file, key_file);
    } else {
        cert_generate();
    }
    cert_scheme();

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop; /* no SA_RESTART: poll returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(addr);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(lfd, 64) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        die("cannot listen on 127.0.0.1: %s", strerror(errno));
    }
    unsigned port = ntohs(addr.sin_port);
    fprintf(stderr, "rules_server: mode %s (%s) on 127.0.0.1:%u for %ld s\n", modes[mode].name,
            modes[mode].rule, port, lifetime);
    write_port(port_file, port);

    int64_t end = now_ms() + lifetime * 1000;
    while (!stop_requested) {
        int64_t left = end - now_ms();
        if (left <= 0) {
            break;
        }
        reap_children(0);
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int r = poll(&p, 1, left < 250 ? (int)left : 250);
        if (r <= 0) {
            continue;
        }
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        if (n_children == MAX_CHILDREN) {
            fprintf(stderr, "rules_server: %zu connections open; closing a new one\n", n_children);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            serve_child(fd, (rules_mode)mode, &peer);
            _exit(0);
        }
        if (pid > 0) {
            children[n_children++] = pid;
        }
        close(fd);
    }
    close(lfd);
    for (size_t i = 0; i < n_children; i++) {
        kill(children[i], SIGTERM);
    }
    reap_children(1);
    fprintf(stderr, "rules_server: mode %s: %s, exiting\n", modes[mode].name,
            stop_requested ? "stopped" : "lifetime over");
    return 0;
}
