/*
 * `pqtls bench tls`: what a hybrid group costs on one path, measured with
 * full TLS 1.3 handshakes against the X25519 ones of the same run.
 *
 * Why libssl and not the scanner's own client: src/scan stops after the
 * server's first flight (it never sends a Finished), so its handshakes are
 * not the ones a user's clients make. libssl with the pqtls provider does
 * exactly what curl, nginx or a Debian 12 application does.
 *
 * What is measured, per handshake (all on the client):
 *   - the ClientHello and ServerHello as libssl's message callback hands
 *     them over, handshake header included, parsed with src/tls's hello
 *     parsers (the key share sizes come from the wire, and an HRR is a
 *     ServerHello whose random is the RFC 8446 §4.1.3 constant);
 *   - bytes each way: TCP payload the client wrote and read from the start
 *     of SSL_connect until it returned (the client's Finished is sent);
 *     read-ahead is off, so libssl reads exactly the server's records and
 *     nothing after them; close_notify and tickets are not counted;
 *   - segments of the ClientHello: the kernel's count of data-carrying
 *     segments sent (TCP_INFO tcpi_data_segs_out, so the handshake's ACKs
 *     are not in it) after the one write that carries the ClientHello
 *     record, on a connection with TCP_NODELAY whose initial window (10
 *     segments) lets it all go out at once; if the kernel still holds some
 *     of it back when the write returns (tcpi_notsent_bytes), the count is
 *     taken again before the first read. The segment size is the path's
 *     (tcpi_snd_mss, reported as mss): on loopback tens of kilobytes, so
 *     --mss clamps it to see what an Ethernet path would do;
 *   - latency: CLOCK_MONOTONIC around SSL_connect (TCP's own handshake is
 *     not included: one round trip plus the server's and client's work);
 *   - client CPU: CLOCK_THREAD_CPUTIME_ID around SSL_connect (key shares,
 *     key schedule, the CertificateVerify signature check, the system
 *     calls). The certificate chain is not verified (SSL_VERIFY_NONE), the
 *     signature is.
 * The entries are interleaved handshake by handshake, the order reversed
 * every other round (A B, B A, ...), after one untimed handshake each, so
 * that drift of the machine or the path spreads over all of them.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include "bench_tls.h"

#include <errno.h>
#include <limits.h>
#include <linux/tcp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_kem.h"
#include "pqtls/groups.h"
#include "pqtls/hello.h"
#include "pqtls/json.h"
#include "pqtls/wire.h"

/* ---- a socket BIO that counts ------------------------------------------ */

/* One connection's counters; the BIO's data. */
typedef struct {
    int fd;
    int measure; /* the client: count segments of the first write */
    uint64_t sent, received;
    unsigned writes;
    uint32_t segs_before; /* tcpi_data_segs_out before the first write (0) */
    int segs_pending;     /* some of it was not sent when the write returned */
    uint32_t ch_segments; /* segments of the first write */
    uint32_t mss;         /* tcpi_snd_mss at the first write */
} bt_conn;

static int bt_tcp_info(int fd, struct tcp_info *ti)
{
    socklen_t len = sizeof(*ti);
    memset(ti, 0, sizeof(*ti));
    return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &len);
}

static int bt_bio_write(BIO *b, const char *buf, int len)
{
    bt_conn *c = BIO_get_data(b);
    struct tcp_info ti;
    int first = c->measure && c->writes == 0;
    if (first && bt_tcp_info(c->fd, &ti) == 0) {
        c->segs_before = ti.tcpi_data_segs_out;
    }
    ssize_t n;
    do {
        /* MSG_NOSIGNAL: a peer that has gone is an error, not SIGPIPE. */
        n = send(c->fd, buf, (size_t)len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    BIO_clear_retry_flags(b);
    if (n < 0) {
        return -1;
    }
    c->sent += (uint64_t)n;
    c->writes++;
    if (first && bt_tcp_info(c->fd, &ti) == 0) {
        c->ch_segments = ti.tcpi_data_segs_out - c->segs_before;
        c->mss = ti.tcpi_snd_mss;
        c->segs_pending = ti.tcpi_notsent_bytes > 0;
    }
    return (int)n;
}

static int bt_bio_read(BIO *b, char *buf, int len)
{
    bt_conn *c = BIO_get_data(b);
    struct tcp_info ti;
    if (c->segs_pending && bt_tcp_info(c->fd, &ti) == 0) {
        /* Nothing but the ClientHello has been written yet. */
        c->ch_segments = ti.tcpi_data_segs_out - c->segs_before;
        c->segs_pending = 0;
    }
    ssize_t n;
    do {
        n = recv(c->fd, buf, (size_t)len, 0);
    } while (n < 0 && errno == EINTR);
    BIO_clear_retry_flags(b);
    if (n < 0) {
        return -1;
    }
    c->received += (uint64_t)n;
    return (int)n;
}

static long bt_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bt_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *bt_bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pqtls bench socket");
    if (m == NULL || BIO_meth_set_write(m, bt_bio_write) != 1 ||
        BIO_meth_set_read(m, bt_bio_read) != 1 || BIO_meth_set_ctrl(m, bt_bio_ctrl) != 1 ||
        BIO_meth_set_create(m, bt_bio_create) != 1) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* ---- the hellos, from libssl's message callback ------------------------- */

typedef struct {
    uint32_t ch, ch2;      /* first and second (after HRR) ClientHello, with header */
    uint32_t sh, hrr;      /* ServerHello and HelloRetryRequest, with header */
    uint32_t client_share; /* key_share bytes of the first ClientHello's shares */
    uint32_t server_share; /* the ServerHello's share */
    uint16_t server_group; /* the ServerHello's key_share group */
    int bad;               /* a hello libssl accepted that our parser did not */
} bt_hellos;

static void bt_msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
                      SSL *ssl, void *arg)
{
    (void)version;
    (void)ssl;
    bt_hellos *h = arg;
    if (content_type != SSL3_RT_HANDSHAKE) {
        return;
    }
    pqt_reader r = pqt_reader_make(buf, len), body;
    uint8_t type = 0;
    if (pqt_reader_u8(&r, &type) != 0 || pqt_reader_vec(&r, 3, &body) != 0 ||
        pqt_reader_close(&r) != 0) {
        return;
    }
    size_t blen = pqt_reader_left(&body);
    if (write_p && type == PQT_TLS_HS_CLIENT_HELLO) {
        if (h->ch != 0) {
            h->ch2 = (uint32_t)len;
            return;
        }
        h->ch = (uint32_t)len;
        pqt_client_hello ch;
        if (pqt_hello_parse_client(body.p, blen, &ch) != 0) {
            h->bad = 1;
            return;
        }
        for (size_t i = 0; i < ch.n_key_shares; i++) {
            h->client_share += ch.key_shares[i].len;
        }
    } else if (!write_p && type == PQT_TLS_HS_SERVER_HELLO) {
        pqt_server_hello sh;
        if (pqt_hello_parse_server(body.p, blen, &sh) != 0) {
            h->bad = 1;
            return;
        }
        if (sh.is_hrr) {
            h->hrr = (uint32_t)len;
        } else {
            h->sh = (uint32_t)len;
            h->server_share = (uint32_t)sh.key_share_len;
            h->server_group = sh.key_share_group;
        }
    }
}

/* ---- one handshake ------------------------------------------------------ */

typedef struct {
    uint32_t ch, ch2, sh, hrr, client_share, server_share, segments, mss;
    uint64_t sent, received;
    double latency_ms, cpu_us;
    uint16_t group; /* from the ServerHello */
} bt_sample;

typedef struct {
    const pqt_bench_tls_config *cfg;
    BIO_METHOD *bio;
    struct sockaddr_storage addr;
    socklen_t addrlen;
} bt_run;

static double bt_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bt_set_timeouts(int fd, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* The first queued OpenSSL error, or what errno says, as text. */
static void bt_ssl_error(char *buf, size_t cap, const char *what, int ssl_err)
{
    unsigned long e = ERR_peek_last_error();
    if (e != 0) {
        char es[200];
        ERR_error_string_n(e, es, sizeof(es));
        snprintf(buf, cap, "%s: %s", what, es);
    } else if (ssl_err == SSL_ERROR_SYSCALL && errno != 0) {
        snprintf(buf, cap, "%s: %s", what, strerror(errno));
    } else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
        snprintf(buf, cap, "%s: the server closed the connection", what);
    } else {
        snprintf(buf, cap, "%s: SSL_get_error %d", what, ssl_err);
    }
    ERR_clear_error();
}

static int bt_handshake(const bt_run *run, SSL_CTX *ctx, bt_sample *s, char *err, size_t errcap)
{
    const pqt_bench_tls_config *cfg = run->cfg;
    int ret = -1, one = 1;
    SSL *ssl = NULL;
    bt_conn conn = {.fd = -1, .measure = 1};
    bt_hellos h = {0};
    memset(s, 0, sizeof(*s));
    conn.fd = socket(run->addr.ss_family, SOCK_STREAM, 0);
    if (conn.fd < 0) {
        snprintf(err, errcap, "socket: %s", strerror(errno));
        goto cleanup;
    }
    (void)setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (cfg->mss != 0) {
        int mss = (int)cfg->mss;
        if (setsockopt(conn.fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) != 0) {
            snprintf(err, errcap, "TCP_MAXSEG %u: %s", cfg->mss, strerror(errno));
            goto cleanup;
        }
    }
    /* Linux bounds connect() by SO_SNDTIMEO too. */
    bt_set_timeouts(conn.fd, cfg->timeout_ms);
    if (connect(conn.fd, (const struct sockaddr *)&run->addr, run->addrlen) != 0) {
        snprintf(err, errcap, "connect: %s", strerror(errno));
        goto cleanup;
    }
    BIO *b = BIO_new(run->bio);
    ssl = SSL_new(ctx);
    if (b == NULL || ssl == NULL) {
        BIO_free(b);
        snprintf(err, errcap, "out of memory");
        goto cleanup;
    }
    BIO_set_data(b, &conn);
    SSL_set_bio(ssl, b, b);
    if (cfg->sni != NULL && cfg->sni[0] != '\0' && SSL_set_tlsext_host_name(ssl, cfg->sni) != 1) {
        snprintf(err, errcap, "server_name '%s' refused by libssl", cfg->sni);
        goto cleanup;
    }
    SSL_set_msg_callback(ssl, bt_msg_cb);
    SSL_set_msg_callback_arg(ssl, &h);

    double c0 = bt_clock(CLOCK_THREAD_CPUTIME_ID), w0 = bt_clock(CLOCK_MONOTONIC);
    int rc = SSL_connect(ssl);
    double w1 = bt_clock(CLOCK_MONOTONIC), c1 = bt_clock(CLOCK_THREAD_CPUTIME_ID);
    if (rc != 1) {
        bt_ssl_error(err, errcap, "handshake failed", SSL_get_error(ssl, rc));
        goto cleanup;
    }
    if (h.bad || h.ch == 0 || h.sh == 0) {
        snprintf(err, errcap, "the hellos libssl exchanged could not be read back");
        goto cleanup;
    }
    s->ch = h.ch;
    s->ch2 = h.ch2;
    s->sh = h.sh;
    s->hrr = h.hrr;
    s->client_share = h.client_share;
    s->server_share = h.server_share;
    s->group = h.server_group;
    s->sent = conn.sent;
    s->received = conn.received;
    s->segments = conn.ch_segments;
    s->mss = conn.mss;
    s->latency_ms = (w1 - w0) * 1e3;
    s->cpu_us = (c1 - c0) * 1e6;
    (void)SSL_shutdown(ssl); /* close_notify; not counted */
    ret = 0;
cleanup:
    SSL_free(ssl);
    if (conn.fd >= 0) {
        close(conn.fd);
    }
    ERR_clear_error();
    return ret;
}

/* ---- the in-process server --------------------------------------------- */

typedef struct {
    SSL_CTX *ctx;
    BIO_METHOD *bio;
    int lfd;
    volatile int stop;
    unsigned failed;
} bt_server;

static void *bt_server_main(void *arg)
{
    bt_server *srv = arg;
    for (;;) {
        int fd = accept(srv->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR && !srv->stop) {
                continue;
            }
            break;
        }
        if (srv->stop) {
            close(fd);
            break;
        }
        bt_set_timeouts(fd, 10000);
        bt_conn conn = {.fd = fd};
        BIO *b = BIO_new(srv->bio);
        SSL *ssl = SSL_new(srv->ctx);
        if (b == NULL || ssl == NULL) {
            BIO_free(b);
            srv->failed++;
        } else {
            BIO_set_data(b, &conn);
            SSL_set_bio(ssl, b, b);
            if (SSL_accept(ssl) == 1) {
                /* Until the client's close_notify (or its FIN). */
                char buf[256];
                while (SSL_read(ssl, buf, sizeof(buf)) > 0) {
                }
                (void)SSL_shutdown(ssl);
            } else {
                srv->failed++;
            }
        }
        SSL_free(ssl);
        ERR_clear_error();
        close(fd);
    }
    return NULL;
}

/* An Ed25519 key and self-signed certificate: its signature has one size,
 * so the server's flight has the same length in every handshake. */
static int bt_make_cert(OSSL_LIB_CTX *lib, EVP_PKEY **key, X509 **cert)
{
    *key = EVP_PKEY_Q_keygen(lib, NULL, "ED25519");
    *cert = X509_new_ex(lib, NULL);
    if (*key == NULL || *cert == NULL) {
        return -1;
    }
    X509_NAME *name = X509_get_subject_name(*cert);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(*cert, name) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(*cert), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(*cert), 86400) == NULL ||
        X509_set_pubkey(*cert, *key) != 1 || X509_sign(*cert, *key, NULL) <= 0) {
        return -1;
    }
    return 0;
}

/* ---- contexts, providers ------------------------------------------------ */

static SSL_CTX *bt_ctx(OSSL_LIB_CTX *lib, int server, const char *groups)
{
    SSL_CTX *c = SSL_CTX_new_ex(lib, NULL, server ? TLS_server_method() : TLS_client_method());
    if (c == NULL) {
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set1_groups_list(c, groups) != 1) {
        SSL_CTX_free(c);
        return NULL;
    }
    /* Full handshakes only: no tickets, no session cache. */
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    return c;
}

/* Where pqtls.so is looked for when no --provider-path is given: the
 * build tree's lib/ beside bin/pqtls, if it holds pqtls.so. */
static int bt_default_provider_dir(char *dir, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        return -1;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL) {
        return -1;
    }
    *slash = '\0';
    char so[PATH_MAX + 32];
    struct stat st;
    snprintf(so, sizeof(so), "%s/../lib/pqtls.so", exe);
    if (stat(so, &st) != 0 || (size_t)snprintf(dir, cap, "%s/../lib", exe) >= cap) {
        return -1;
    }
    return 0;
}

/* A library context with the default provider and pqtls; prov[] holds
 * the references OSSL_PROVIDER_load gave, which bt_free_providers gives
 * back before freeing the context (or the providers leak). */
static void bt_free_providers(OSSL_LIB_CTX *lib, OSSL_PROVIDER *prov[2])
{
    for (int i = 1; i >= 0; i--) {
        if (prov[i] != NULL) {
            OSSL_PROVIDER_unload(prov[i]);
            prov[i] = NULL;
        }
    }
    OSSL_LIB_CTX_free(lib);
}

static OSSL_LIB_CTX *bt_load_providers(const pqt_bench_tls_config *cfg, OSSL_PROVIDER *prov[2],
                                       char *where, size_t cap, FILE *err)
{
    OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
    char dir[PATH_MAX];
    const char *path = cfg->provider_path;
    prov[0] = prov[1] = NULL;
    if (path == NULL && bt_default_provider_dir(dir, sizeof(dir)) == 0) {
        path = dir;
    }
    if (lib == NULL || (path != NULL && OSSL_PROVIDER_set_default_search_path(lib, path) != 1) ||
        (prov[0] = OSSL_PROVIDER_load(lib, "default")) == NULL) {
        fprintf(err, "pqtls bench tls: cannot load OpenSSL's default provider\n");
        ERR_print_errors_fp(err);
        bt_free_providers(lib, prov);
        return NULL;
    }
    if ((prov[1] = OSSL_PROVIDER_load(lib, "pqtls")) == NULL) {
        fprintf(err,
                "pqtls bench tls: cannot load the pqtls provider (pqtls.so) from %s; build it "
                "(make) or install it (make install), or name its directory with "
                "--provider-path DIR\n",
                path != NULL ? path : "OpenSSL's module directory");
        ERR_print_errors_fp(err);
        bt_free_providers(lib, prov);
        return NULL;
    }
    snprintf(where, cap, "%s", path != NULL ? path : "OpenSSL's module directory");
    return lib;
}

/* ---- statistics --------------------------------------------------------- */

static int bt_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank (sorts v): the smallest value with at least q of them at
 * or below it. */
static double bt_pct(double *v, unsigned n, double q)
{
    qsort(v, n, sizeof(double), bt_cmp_double);
    double rank = q * n;
    unsigned k = (unsigned)rank;
    if ((double)k < rank) {
        k++;
    }
    return v[k == 0 ? 0 : k - 1];
}

typedef struct {
    const char *name;
    SSL_CTX *ctx;
    bt_sample *s;
    unsigned n;      /* samples taken */
    char error[256]; /* "" while it works */
    /* results */
    double ch, ch2, sh, hrr_len, sent, received, segments, mss, client_share, server_share;
    double p50, p90, p99, cpu;
    unsigned hrr;   /* handshakes with an HRR */
    uint16_t group; /* negotiated, from the last ServerHello */
} bt_entry;

static void bt_summarise(bt_entry *e, double *tmp)
{
    unsigned n = e->n;
#define BT_MEDIAN(field, out)               \
    do {                                    \
        for (unsigned i = 0; i < n; i++) {  \
            tmp[i] = (double)e->s[i].field; \
        }                                   \
        e->out = bt_pct(tmp, n, 0.5);       \
    } while (0)
    BT_MEDIAN(ch, ch);
    BT_MEDIAN(ch2, ch2);
    BT_MEDIAN(sh, sh);
    BT_MEDIAN(hrr, hrr_len);
    BT_MEDIAN(sent, sent);
    BT_MEDIAN(received, received);
    BT_MEDIAN(segments, segments);
    BT_MEDIAN(mss, mss);
    BT_MEDIAN(client_share, client_share);
    BT_MEDIAN(server_share, server_share);
    BT_MEDIAN(cpu_us, cpu);
#undef BT_MEDIAN
    for (unsigned i = 0; i < n; i++) {
        tmp[i] = e->s[i].latency_ms;
    }
    e->p50 = bt_pct(tmp, n, 0.50);
    e->p90 = bt_pct(tmp, n, 0.90);
    e->p99 = bt_pct(tmp, n, 0.99);
    e->hrr = 0;
    for (unsigned i = 0; i < n; i++) {
        e->hrr += e->s[i].hrr != 0;
    }
    e->group = e->s[n - 1].group;
}

static const char *bt_group_name(uint16_t code, char *buf, size_t cap)
{
    const pqt_group *g = pqt_group_by_code(code);
    if (g != NULL) {
        return g->name;
    }
    snprintf(buf, cap, "0x%04x", code);
    return buf;
}

/* ---- output ------------------------------------------------------------- */

static int bt_print_jsonl(FILE *out, const bt_entry *e, const bt_entry *base, const char *target,
                          unsigned handshakes)
{
    pqt_json j;
    char gbuf[16];
    pqt_json_init(&j, out);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "group", e->name);
    pqt_json_kv_string(&j, "target", target);
    if (e->error[0] != '\0') {
        pqt_json_kv_string(&j, "error", e->error);
        pqt_json_object_end(&j);
        return pqt_json_end_line(&j);
    }
    pqt_json_kv_string(&j, "negotiated_group", bt_group_name(e->group, gbuf, sizeof(gbuf)));
    pqt_json_kv_int(&j, "handshakes", handshakes);
    static const char *const int_keys[] = {
        "client_hello_bytes",    "server_hello_bytes",    "bytes_sent",
        "bytes_received",        "client_hello_segments", "client_key_share_bytes",
        "server_key_share_bytes"};
    const double vals[] = {e->ch,       e->sh,           e->sent,        e->received,
                           e->segments, e->client_share, e->server_share};
    const double bvals[] = {base->ch,       base->sh,           base->sent,        base->received,
                            base->segments, base->client_share, base->server_share};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        pqt_json_key(&j, int_keys[i]);
        pqt_json_double(&j, vals[i], 0);
    }
    pqt_json_key(&j, "mss");
    pqt_json_double(&j, e->mss, 0);
    pqt_json_key(&j, "latency_ms_p50");
    pqt_json_double(&j, e->p50, 3);
    pqt_json_key(&j, "latency_ms_p90");
    pqt_json_double(&j, e->p90, 3);
    pqt_json_key(&j, "latency_ms_p99");
    pqt_json_double(&j, e->p99, 3);
    pqt_json_key(&j, "client_cpu_us");
    pqt_json_double(&j, e->cpu, 1);
    pqt_json_kv_bool(&j, "hrr", e->hrr > 0);
    pqt_json_kv_int(&j, "hrr_handshakes", e->hrr);
    pqt_json_key(&j, "hello_retry_request_bytes");
    pqt_json_double(&j, e->hrr_len, 0);
    pqt_json_key(&j, "retry_client_hello_bytes");
    pqt_json_double(&j, e->ch2, 0);
    pqt_json_kv_string(&j, "baseline", base->name);
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s_delta", int_keys[i]);
        pqt_json_key(&j, key);
        pqt_json_double(&j, vals[i] - bvals[i], 0);
    }
    pqt_json_key(&j, "latency_ms_p50_delta");
    pqt_json_double(&j, e->p50 - base->p50, 3);
    pqt_json_key(&j, "latency_ms_p90_delta");
    pqt_json_double(&j, e->p90 - base->p90, 3);
    pqt_json_key(&j, "latency_ms_p99_delta");
    pqt_json_double(&j, e->p99 - base->p99, 3);
    pqt_json_key(&j, "client_cpu_us_delta");
    pqt_json_double(&j, e->cpu - base->cpu, 1);
    pqt_json_object_end(&j);
    return pqt_json_end_line(&j);
}

static void bt_print_table(FILE *out, const bt_entry *es, unsigned n, const bt_entry *base,
                           const char *target, const char *provider_where,
                           const pqt_bench_tls_config *cfg)
{
    fprintf(out,
            "TLS 1.3 full handshakes against %s\n"
            "client: %s, pqtls provider from %s\n"
            "%u timed handshakes per entry, interleaved one by one (order reversed every other "
            "round);\nsizes are medians, hello sizes include the 4-byte handshake header; "
            "latency is SSL_connect's wall time, CPU the client thread's.\n\n",
            target, OpenSSL_version(OPENSSL_VERSION), provider_where, cfg->handshakes);
    fprintf(out, "%-28s %-16s %6s %6s %7s %7s %4s %8s %8s %8s %8s %s\n", "entry", "negotiated",
            "CH B", "SH B", "sent B", "recv B", "segs", "p50 ms", "p90 ms", "p99 ms", "CPU us",
            "HRR");
    char gbuf[16];
    for (unsigned i = 0; i < n; i++) {
        const bt_entry *e = &es[i];
        if (e->error[0] != '\0') {
            fprintf(out, "%-28s failed: %s\n", e->name, e->error);
            continue;
        }
        fprintf(out, "%-28s %-16s %6.0f %6.0f %7.0f %7.0f %4.0f %8.3f %8.3f %8.3f %8.1f %s\n",
                e->name, bt_group_name(e->group, gbuf, sizeof(gbuf)), e->ch, e->sh, e->sent,
                e->received, e->segments, e->p50, e->p90, e->p99, e->cpu,
                e->hrr == 0 ? "no" : (e->hrr == e->n ? "yes" : "some"));
    }
    fprintf(out, "\ndifference to %s (same run):\n", base->name);
    for (unsigned i = 0; i < n; i++) {
        const bt_entry *e = &es[i];
        if (e->error[0] != '\0' || e == base) {
            continue;
        }
        fprintf(out, "%-28s %-16s %+6.0f %+6.0f %+7.0f %+7.0f %+4.0f %+8.3f %+8.3f %+8.3f %+8.1f\n",
                e->name, "", e->ch - base->ch, e->sh - base->sh, e->sent - base->sent,
                e->received - base->received, e->segments - base->segments, e->p50 - base->p50,
                e->p90 - base->p90, e->p99 - base->p99, e->cpu - base->cpu);
    }
    fprintf(out, "\nsegs: TCP segments the kernel sent for the ClientHello (TCP_INFO), MSS %.0f.\n",
            base->mss);
}

/* ---- the run ------------------------------------------------------------ */

/* Every group of every entry, ':'-joined without repeats, the ones with
 * ML-KEM first (as a server that prefers hybrids is set up): the
 * in-process server's list when none is given. */
static void bt_union_groups(const pqt_bench_tls_config *cfg, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t used = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < cfg->ngroups; i++) {
            const char *p = cfg->groups[i];
            while (*p != '\0') {
                size_t len = strcspn(p, ":");
                char name[64];
                snprintf(name, sizeof(name), "%.*s", (int)len, p);
                const pqt_group *g = pqt_group_by_name(name);
                int pq = g != NULL && g->has_mlkem;
                int seen = 0;
                for (const char *q = buf; *q != '\0';) {
                    size_t ql = strcspn(q, ":");
                    if (ql == len && strncasecmp(q, p, len) == 0) {
                        seen = 1;
                    }
                    q += ql + (q[ql] == ':');
                }
                if (pq == (pass == 0) && !seen && len > 0 && used + len + 2 < cap) {
                    used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? ":" : "", name);
                }
                p += len + (p[len] == ':');
            }
        }
    }
}

static int bt_listen(bt_run *run, char *err, size_t errcap)
{
    struct sockaddr_in *a = (struct sockaddr_in *)&run->addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&run->addr, 0, sizeof(run->addr));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    run->addrlen = sizeof(*a);
    if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)a, &run->addrlen) != 0) {
        snprintf(err, errcap, "cannot listen on 127.0.0.1: %s", strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static int bt_resolve(bt_run *run, const pqt_bench_tls_config *cfg, FILE *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", cfg->port);
    int rc = getaddrinfo(cfg->host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        fprintf(err, "pqtls bench tls: cannot resolve %s: %s\n", cfg->host, gai_strerror(rc));
        return -1;
    }
    /* The first address that accepts a connection; every handshake then
     * goes to it, so that DNS and address choice stay out of the figures. */
    int ok = -1;
    for (struct addrinfo *ai = res; ai != NULL && ok != 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM, 0);
        if (fd < 0) {
            continue;
        }
        bt_set_timeouts(fd, cfg->timeout_ms);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            memcpy(&run->addr, ai->ai_addr, ai->ai_addrlen);
            run->addrlen = ai->ai_addrlen;
            ok = 0;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (ok != 0) {
        fprintf(err, "pqtls bench tls: cannot connect to %s port %u: %s\n", cfg->host, cfg->port,
                strerror(errno));
    }
    return ok;
}

int pqt_bench_tls_run(const pqt_bench_tls_config *cfg, FILE *out, FILE *err)
{
    int ret = PQT_BENCH_EXIT_INTERNAL;
    bt_run run = {.cfg = cfg};
    bt_entry es[PQT_BENCH_TLS_MAX_GROUPS];
    bt_server srv = {.lfd = -1};
    pthread_t thread;
    int thread_started = 0;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    double *tmp = NULL;
    char where[PATH_MAX + 8], target[300], msg[256];
    memset(es, 0, sizeof(es));

    if (cfg->ngroups == 0 || cfg->ngroups > PQT_BENCH_TLS_MAX_GROUPS || cfg->handshakes == 0 ||
        cfg->handshakes > PQT_BENCH_TLS_MAX_HANDSHAKES) {
        return PQT_BENCH_EXIT_USAGE;
    }
    OSSL_PROVIDER *prov[2];
    OSSL_LIB_CTX *lib = bt_load_providers(cfg, prov, where, sizeof(where), err);
    if (lib == NULL) {
        return PQT_BENCH_EXIT_UNSUPPORTED;
    }
    run.bio = bt_bio_method();
    tmp = calloc(cfg->handshakes, sizeof(double));
    if (run.bio == NULL || tmp == NULL) {
        fprintf(err, "pqtls bench tls: out of memory\n");
        goto cleanup;
    }
    for (unsigned i = 0; i < cfg->ngroups; i++) {
        es[i].name = cfg->groups[i];
        es[i].ctx = bt_ctx(lib, 0, cfg->groups[i]);
        es[i].s = calloc(cfg->handshakes, sizeof(bt_sample));
        if (es[i].ctx == NULL) {
            fprintf(err,
                    "pqtls bench tls: libssl (with the pqtls provider) does not know the group "
                    "list '%s'; names as in `openssl list -tls-groups`, e.g. X25519, "
                    "X25519MLKEM768, SecP256r1MLKEM768\n",
                    cfg->groups[i]);
            ret = PQT_BENCH_EXIT_USAGE;
            goto cleanup;
        }
        if (es[i].s == NULL) {
            fprintf(err, "pqtls bench tls: out of memory\n");
            goto cleanup;
        }
    }

    if (cfg->host == NULL) {
        char groups[1024];
        const char *sg = cfg->server_groups;
        if (sg == NULL) {
            bt_union_groups(cfg, groups, sizeof(groups));
            sg = groups;
        }
        srv.bio = run.bio;
        srv.ctx = bt_ctx(lib, 1, sg);
        if (srv.ctx == NULL) {
            fprintf(err, "pqtls bench tls: libssl does not know the server group list '%s'\n", sg);
            ret = PQT_BENCH_EXIT_USAGE;
            goto cleanup;
        }
        if (bt_make_cert(lib, &key, &cert) != 0 || SSL_CTX_use_certificate(srv.ctx, cert) != 1 ||
            SSL_CTX_use_PrivateKey(srv.ctx, key) != 1) {
            fprintf(err, "pqtls bench tls: cannot make the local server's certificate\n");
            ERR_print_errors_fp(err);
            goto cleanup;
        }
        srv.lfd = bt_listen(&run, msg, sizeof(msg));
        if (srv.lfd < 0) {
            fprintf(err, "pqtls bench tls: %s\n", msg);
            goto cleanup;
        }
        if (pthread_create(&thread, NULL, bt_server_main, &srv) != 0) {
            fprintf(err, "pqtls bench tls: cannot start the local server thread\n");
            goto cleanup;
        }
        thread_started = 1;
        snprintf(target, sizeof(target), "127.0.0.1:%u (in-process server, groups %s)",
                 ntohs(((struct sockaddr_in *)&run.addr)->sin_port), sg);
    } else {
        if (bt_resolve(&run, cfg, err) != 0) {
            ret = PQT_BENCH_EXIT_FAILED;
            goto cleanup;
        }
        char host[NI_MAXHOST] = "?";
        (void)getnameinfo((struct sockaddr *)&run.addr, run.addrlen, host, sizeof(host), NULL, 0,
                          NI_NUMERICHOST);
        snprintf(target, sizeof(target), "%s port %u (%s)", cfg->host, cfg->port, host);
    }

    /* One untimed handshake per entry; an entry that fails is reported and
     * left out of the rounds. */
    for (unsigned i = 0; i < cfg->ngroups; i++) {
        bt_sample s;
        if (bt_handshake(&run, es[i].ctx, &s, es[i].error, sizeof(es[i].error)) != 0) {
            fprintf(err, "pqtls bench tls: %s: %s\n", es[i].name, es[i].error);
        }
    }
    for (unsigned r = 0; r < cfg->handshakes; r++) {
        for (unsigned k = 0; k < cfg->ngroups; k++) {
            unsigned i = r % 2 ? cfg->ngroups - 1 - k : k;
            if (es[i].error[0] != '\0') {
                continue;
            }
            if (bt_handshake(&run, es[i].ctx, &es[i].s[es[i].n], es[i].error,
                             sizeof(es[i].error)) != 0) {
                fprintf(err, "pqtls bench tls: %s: handshake %u: %s\n", es[i].name, r + 1,
                        es[i].error);
                continue;
            }
            es[i].n++;
        }
    }

    /* The baseline: X25519 when measured, else the first entry. */
    bt_entry *base = &es[0];
    int failed = 0;
    for (unsigned i = 0; i < cfg->ngroups; i++) {
        if (es[i].error[0] != '\0') {
            failed = 1;
            continue;
        }
        bt_summarise(&es[i], tmp);
        if (strcasecmp(es[i].name, "X25519") == 0) {
            base = &es[i];
        }
    }
    if (base->error[0] != '\0') {
        for (unsigned i = 0; i < cfg->ngroups; i++) {
            if (es[i].error[0] == '\0') {
                base = &es[i];
                break;
            }
        }
    }
    ret = failed ? PQT_BENCH_EXIT_FAILED : PQT_BENCH_EXIT_OK;
    if (cfg->jsonl) {
        for (unsigned i = 0; i < cfg->ngroups; i++) {
            if (bt_print_jsonl(out, &es[i], base, target, cfg->handshakes) != 0) {
                ret = PQT_BENCH_EXIT_IO;
            }
        }
    } else if (base->error[0] == '\0') {
        bt_print_table(out, es, cfg->ngroups, base, target, where, cfg);
    } else {
        for (unsigned i = 0; i < cfg->ngroups; i++) {
            fprintf(out, "%-28s failed: %s\n", es[i].name, es[i].error);
        }
    }
    if (srv.failed != 0) {
        fprintf(err, "pqtls bench tls: the local server saw %u failed handshakes\n", srv.failed);
    }
cleanup:
    if (thread_started) {
        srv.stop = 1;
        /* Linux: shutdown() of a listening socket wakes a blocked accept(). */
        shutdown(srv.lfd, SHUT_RDWR);
        pthread_join(thread, NULL);
    }
    if (srv.lfd >= 0) {
        close(srv.lfd);
    }
    SSL_CTX_free(srv.ctx);
    for (unsigned i = 0; i < cfg->ngroups && i < PQT_BENCH_TLS_MAX_GROUPS; i++) {
        SSL_CTX_free(es[i].ctx);
        free(es[i].s);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_meth_free(run.bio);
    free(tmp);
    bt_free_providers(lib, prov);
    return ret;
}
