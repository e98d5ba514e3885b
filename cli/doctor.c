/*
 * `pqtls doctor`: every process listening on TCP on this host, what TLS
 * library it has mapped, whether pqtls is loaded into it and through which
 * configuration, then per listening port an active check over loopback
 * with the scanner's probes, and a verdict per service with the setting
 * that fixes it. /proc is read by src/host; the probes are src/scan's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pqtls/host.h"
#include "pqtls/json.h"
#include "pqtls/names.h"
#include "pqtls/scan.h"
#include "util.h"

#define CMD "doctor"
#define MAX_FILTER 64
#define MAX_PIDS_PER_SOCKET 64

void cli_help_doctor(FILE *out)
{
    fputs("Usage: pqtls doctor [OPTIONS]\n"
          "\n"
          "Checks this host's TLS services for hybrid post-quantum key exchange: every\n"
          "process listening on TCP (from /proc), the TLS library it has mapped and its\n"
          "version, whether pqtls.so is mapped into it, the OPENSSL_CONF in its\n"
          "environment (or OpenSSL's default file) and whether that file loads pqtls;\n"
          "then per listening port an active check over loopback with pqtls scan's\n"
          "probes (the protocol from the port, the banner or the daemon: STARTTLS for\n"
          "SMTP, IMAP, POP3, LDAP, PostgreSQL's SSLRequest, ...), and a verdict:\n"
          "\n"
          "  hybrid                                 a client offering X25519MLKEM768 gets it\n"
          "  provider-loaded-group-not-configured   pqtls is loaded (or OpenSSL 3.5+), but\n"
          "                                         the service's group list lacks the group\n"
          "  provider-not-loaded                    OpenSSL 3 without pqtls: OPENSSL_CONF is\n"
          "                                         missing, dropped by the daemon, or its\n"
          "                                         file does not load pqtls\n"
          "  library-cannot                         GnuTLS, OpenSSL 1.1, PostgreSQL up to 17\n"
          "                                         (one classical curve), old Go, ...\n"
          "  not-tls                                no TLS on that port\n"
          "  unknown                                not enough could be seen (run as root)\n"
          "\n"
          "Each verdict comes with its evidence and, where one exists, the setting that\n"
          "fixes it (docs/deploy.md). Without root only your own processes can be read;\n"
          "as root, all of them.\n"
          "\n"
          "Options:\n"
          "  -f, --format FMT   table (default) or jsonl (one JSON object per socket)\n"
          "      --pid PID      only sockets held by this process (repeatable)\n"
          "      --port PORT    only this listening port (repeatable)\n"
          "      --no-probe     no active check: libraries, pqtls.so and configuration only\n"
          "      --timeout MS   per-connection timeout of the active check (default 3000)\n"
          "  -h, --help         this text\n"
          "\n"
          "Examples:\n"
          "  sudo pqtls doctor\n"
          "  sudo pqtls doctor --port 443 --port 25 --format jsonl\n"
          "  pqtls doctor --pid \"$(cat /run/nginx.pid)\" --no-probe\n"
          "\n"
          "Exit status:\n"
          "  0  every TLS service found negotiates a hybrid group (or none was found)\n"
          "  1  some TLS service does not (provider-loaded-group-not-configured,\n"
          "     provider-not-loaded or library-cannot)\n"
          "  2  usage error\n"
          "  3  /proc could not be read, or the output could not be written\n"
          "  5  internal error\n",
          out);
}

enum { OPT_PID = 256, OPT_PORT, OPT_NO_PROBE, OPT_TIMEOUT };

static const struct option doctor_options[] = {
    {"format", required_argument, NULL, 'f'},
    {"pid", required_argument, NULL, OPT_PID},
    {"port", required_argument, NULL, OPT_PORT},
    {"no-probe", no_argument, NULL, OPT_NO_PROBE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct {
    int jsonl;
    int pids[MAX_FILTER];
    size_t npids;
    unsigned ports[MAX_FILTER];
    size_t nports;
    int no_probe;
    unsigned timeout_ms;
} doctor_args;

/* One listening socket and what was learnt about it. */
typedef struct {
    pqt_host_socket sock;
    int pids[MAX_PIDS_PER_SOCKET]; /* holders, then children of the owner */
    size_t npids, nholders;
    int keep;
    int proto; /* pqt_scan_proto of the check */
    int tried_protos;
    pqt_scan_result scan;
    int scanned;
    char what[320];
    pqt_host_probe probe;
} listener;

typedef struct {
    listener *l;
    size_t n;
} state;

static void add_pid(listener *l, int pid)
{
    for (size_t i = 0; i < l->npids; i++) {
        if (l->pids[i] == pid) {
            return;
        }
    }
    if (l->npids < MAX_PIDS_PER_SOCKET) {
        l->pids[l->npids++] = pid;
    }
}

/* Sockets are found by inode; s->l is sorted by inode for that. */
static int by_inode(const void *a, const void *b)
{
    const listener *x = a, *y = b;
    return x->sock.inode < y->sock.inode ? -1 : x->sock.inode > y->sock.inode;
}

static void on_holder(void *ctx, int pid, size_t index)
{
    state *s = ctx;
    add_pid(&s->l[index], pid);
}

static int collect_holders(state *s, unsigned *unreadable)
{
    uint64_t *inodes = malloc((s->n ? s->n : 1) * sizeof(*inodes));
    if (inodes == NULL) {
        return PQT_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->n; i++) {
        inodes[i] = s->l[i].sock.inode;
    }
    int ret = pqt_host_socket_holders(inodes, s->n, on_holder, s, unreadable);
    free(inodes);
    for (size_t i = 0; i < s->n; i++) {
        if (s->l[i].nholders < s->l[i].npids) {
            s->l[i].nholders = s->l[i].npids;
        }
    }
    return ret;
}

/* ---- process cache ---- */

typedef struct {
    pqt_host_proc **p; /* each its own allocation: pointers stay valid */
    size_t n, cap;
    char default_conf[PQT_HOST_PATH_MAX];
} proc_cache;

static const pqt_host_proc *proc_get(proc_cache *c, int pid)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->p[i]->pid == pid) {
            return c->p[i];
        }
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        pqt_host_proc **np = realloc(c->p, ncap * sizeof(*np));
        if (np == NULL) {
            return NULL;
        }
        c->p = np;
        c->cap = ncap;
    }
    pqt_host_proc *p = malloc(sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    if (pqt_host_proc_read("/proc", pid, c->default_conf, p) != 0) {
        free(p);
        return NULL;
    }
    c->p[c->n++] = p;
    return p;
}

/* Read one known process again; the old reading stays if it is gone. */
static const pqt_host_proc *proc_update(proc_cache *c, int pid)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->p[i]->pid == pid) {
            pqt_host_proc *fresh = malloc(sizeof(*fresh));
            if (fresh != NULL && pqt_host_proc_read("/proc", pid, c->default_conf, fresh) == 0) {
                *c->p[i] = *fresh;
            }
            free(fresh);
            return c->p[i];
        }
    }
    return proc_get(c, pid);
}

/* Read every known process again (libraries are mapped when a process
 * first does TLS); one that has exited keeps what was seen of it. */
static void proc_refresh(proc_cache *c)
{
    pqt_host_proc *fresh = malloc(sizeof(*fresh));
    if (fresh == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (pqt_host_proc_read("/proc", c->p[i]->pid, c->default_conf, fresh) == 0) {
            *c->p[i] = *fresh;
        }
    }
    free(fresh);
}

static void proc_cache_free(proc_cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->p[i]);
    }
    free(c->p);
}

/* OpenSSL's default configuration file: OPENSSLDIR of the libcrypto this
 * command runs with (Debian: /usr/lib/ssl), as for the services that use
 * the same system library. */
static void default_conf_path(char *out, size_t cap)
{
    const char *d = OpenSSL_version(OPENSSL_DIR); /* OPENSSLDIR: "/usr/lib/ssl" */
    const char *q = strchr(d, '"');
    const char *e = q != NULL ? strchr(q + 1, '"') : NULL;
    if (q != NULL && e != NULL && e > q + 1) {
        snprintf(out, cap, "%.*s/openssl.cnf", (int)(e - q - 1), q + 1);
    } else {
        snprintf(out, cap, "/usr/lib/ssl/openssl.cnf");
    }
}

/* ---- the active check ---- */

static int proto_for_port(unsigned port)
{
    /* The well-known ports of the scanner's protocols (scan.h). 443 and
     * the plain-TLS entry are left to the direct ClientHello. */
    for (int p = PQT_SCAN_PROTO_HTTPS + 1; p < PQT_SCAN_PROTO_COUNT; p++) {
        const pqt_scan_proto_info *info = pqt_scan_proto_get(p);
        if (info != NULL && info->port == port) {
            return p;
        }
    }
    return PQT_SCAN_PROTO_TLS;
}

static int proto_for_daemon(const char *daemon)
{
    if (daemon == NULL) {
        return -1;
    }
    if (strcmp(daemon, "postgres") == 0) {
        return PQT_SCAN_PROTO_POSTGRES; /* up to 17 only SSLRequest */
    }
    if (strcmp(daemon, "mariadb") == 0) {
        return PQT_SCAN_PROTO_MYSQL;
    }
    return -1;
}

/* The protocol a plaintext banner says (a direct ClientHello met it). */
static int proto_for_banner(int banner)
{
    switch (banner) {
    case PQT_BANNER_SMTP:
    case PQT_BANNER_SMTP_FTP:
        return PQT_SCAN_PROTO_SMTP;
    case PQT_BANNER_FTP:
        return PQT_SCAN_PROTO_FTP;
    case PQT_BANNER_IMAP:
        return PQT_SCAN_PROTO_IMAP;
    case PQT_BANNER_POP3:
        return PQT_SCAN_PROTO_POP3;
    case PQT_BANNER_MYSQL:
        return PQT_SCAN_PROTO_MYSQL;
    case PQT_BANNER_XMPP:
        return PQT_SCAN_PROTO_XMPP;
    default:
        return -1;
    }
}

static void connect_host(const pqt_host_socket *s, char *out, size_t cap)
{
    static const uint8_t zero[16];
    if (!s->v6) {
        if (memcmp(s->addr, zero, 4) == 0) {
            snprintf(out, cap, "127.0.0.1");
        } else {
            inet_ntop(AF_INET, s->addr, out, (socklen_t)cap);
        }
        return;
    }
    /* "::" and the v4-mapped "::ffff:0.0.0.0" listen on every address. */
    static const uint8_t mapped_any[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
    if (memcmp(s->addr, zero, 16) == 0 || memcmp(s->addr, mapped_any, 16) == 0) {
        snprintf(out, cap, "::1");
    } else {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, s->addr, a, sizeof(a));
        snprintf(out, cap, "%s", a);
    }
}

static void addr_text(const pqt_host_socket *s, char *out, size_t cap)
{
    char a[INET6_ADDRSTRLEN];
    inet_ntop(s->v6 ? AF_INET6 : AF_INET, s->addr, a, sizeof(a));
    snprintf(out, cap, s->v6 ? "[%s]:%u" : "%s:%u", a, s->port);
}

typedef struct {
    state *s;
    size_t *todo; /* indexes into s->l */
    size_t ntodo, next, done;
} scan_ctx;

static int next_target(void *ctx, pqt_scan_target *t)
{
    scan_ctx *c = ctx;
    if (c->next == c->ntodo) {
        return 0;
    }
    listener *l = &c->s->l[c->todo[c->next]];
    char host[INET6_ADDRSTRLEN], line[128];
    const pqt_scan_proto_info *info = pqt_scan_proto_get(l->proto);
    connect_host(&l->sock, host, sizeof(host));
    int v6 = strchr(host, ':') != NULL;
    snprintf(line, sizeof(line), "%s%s%s%s%s:%u",
             l->proto == PQT_SCAN_PROTO_TLS ? "" : info->scheme,
             l->proto == PQT_SCAN_PROTO_TLS ? "" : "://", v6 ? "[" : "", host, v6 ? "]" : "",
             l->sock.port);
    int blank = 0;
    const char *why = NULL;
    if (pqt_scan_target_parse(line, t, &blank, &why) != 0 || blank) {
        return 0; /* cannot happen for the lines built above */
    }
    t->index = c->next;
    c->next++;
    return 1;
}

static int on_result(void *ctx, pqt_scan_result *r)
{
    scan_ctx *c = ctx;
    if (r->target.index < c->ntodo) {
        listener *l = &c->s->l[c->todo[r->target.index]];
        l->scan = *r;
        l->scanned = 1;
    }
    c->done++;
    return 0;
}

static int run_probes(state *s, size_t *todo, size_t ntodo, unsigned timeout_ms)
{
    if (ntodo == 0) {
        return 0;
    }
    pqt_scan_config cfg;
    pqt_scan_config_default(&cfg);
    cfg.concurrency = 16;
    cfg.connect_timeout_ms = timeout_ms;
    cfg.first_byte_timeout_ms = timeout_ms;
    cfg.handshake_timeout_ms = 2 * timeout_ms;
    cfg.retries = 0;
    /* browser: what a current client gets; x25519mlkem768: whether the
     * hybrid group works at all; classical: whether TLS works at all. */
    cfg.probe_mask =
        (1u << PQT_PROBE_BROWSER) | (1u << PQT_PROBE_X25519MLKEM768) | (1u << PQT_PROBE_CLASSICAL);
    scan_ctx c = {.s = s, .todo = todo, .ntodo = ntodo};
    return pqt_scan_run(&cfg, next_target, &c, on_result, &c);
}

static int got_tls(const pqt_scan_result *r)
{
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        int o = r->probes[i].outcome;
        if (o == PQT_OUTCOME_SERVER_HELLO || o == PQT_OUTCOME_HRR ||
            (o == PQT_OUTCOME_ALERT && !r->probes[i].in_dialogue)) {
            return 1;
        }
    }
    return 0;
}

static int banner_of(const pqt_scan_result *r)
{
    for (int i = 0; i < PQT_PROBE_COUNT; i++) {
        if (r->probes[i].banner != PQT_BANNER_NONE) {
            return r->probes[i].banner;
        }
    }
    return PQT_BANNER_NONE;
}

static void summarise(listener *l)
{
    const pqt_scan_result *r = &l->scan;
    const pqt_probe_result *b = &r->probes[PQT_PROBE_BROWSER];
    const pqt_scan_proto_info *info = pqt_scan_proto_get(l->proto);
    pqt_host_probe *p = &l->probe;
    memset(p, 0, sizeof(*p));
    p->ran = l->scanned;
    if (!l->scanned) {
        return;
    }
    p->tls = got_tls(r);
    p->hybrid = r->stage >= PQT_STAGE_SUPPORTED;
    if (b->outcome == PQT_OUTCOME_SERVER_HELLO || (b->outcome == PQT_OUTCOME_HRR && b->retried)) {
        /* After a HelloRetryRequest the second ClientHello was answered
         * with the group it asked for. */
        p->group = b->group;
        p->version = b->version;
    } else if (p->hybrid) {
        p->group = r->probes[PQT_PROBE_X25519MLKEM768].group;
    } else if (r->probes[PQT_PROBE_CLASSICAL].outcome == PQT_OUTCOME_SERVER_HELLO) {
        p->group = r->probes[PQT_PROBE_CLASSICAL].group;
        p->version = r->probes[PQT_PROBE_CLASSICAL].version;
    }
    p->plaintext = (r->flags & (PQT_FLAG_PLAINTEXT_SERVICE | PQT_FLAG_NO_STARTTLS)) != 0;
    snprintf(l->what, sizeof(l->what), "%s: %s%s%s%s%s", info->display,
             pqt_probe_outcome_name(b->outcome), b->error ? " " : "", b->error ? b->error : "",
             r->detail[0] ? ", " : "", r->detail);
    p->what = l->what;
}

/* ---- on-demand children ---- */

static int tls_mapped(const pqt_host_proc *p)
{
    return p != NULL && (p->libs & ~((1u << PQT_HOST_LIB_PQTLS) | 1u)) != 0;
}

/* Daemons such as Dovecot start the process that does TLS for a
 * connection only when one arrives, and it may exit with it: hold a plain
 * connection open for a moment to every socket where no holder maps a TLS
 * library, and look at the holders again meanwhile. */
static void wake_children(state *s, proc_cache *pc)
{
    int fds[256];
    size_t nf = 0;
    unsigned char *woken = calloc(s->n ? s->n : 1, 1);
    if (woken == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n && nf < 256; i++) {
        listener *l = &s->l[i];
        int seen = 0;
        if (!l->keep) {
            continue;
        }
        for (size_t k = 0; k < l->npids; k++) {
            seen |= tls_mapped(proc_get(pc, l->pids[k]));
        }
        if (seen) {
            continue;
        }
        char host[INET6_ADDRSTRLEN];
        connect_host(&l->sock, host, sizeof(host));
        int v6 = strchr(host, ':') != NULL;
        int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl;
        memset(&ss, 0, sizeof(ss));
        if (v6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(l->sock.port);
            inet_pton(AF_INET6, host, &a->sin6_addr);
            sl = sizeof(*a);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            a->sin_family = AF_INET;
            a->sin_port = htons(l->sock.port);
            inet_pton(AF_INET, host, &a->sin_addr);
            sl = sizeof(*a);
        }
        if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
            close(fd);
            continue;
        }
        fds[nf++] = fd;
        woken[i] = 1;
    }
    if (nf == 0) {
        free(woken);
        return;
    }
    /* Up to 2 s: until every woken socket has a holder that maps a TLS
     * library (a loaded machine may take a while to start it). */
    unsigned unreadable;
    for (int round = 0; round < 25; round++) {
        struct timespec ts = {0, 80 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (collect_holders(s, &unreadable) != 0) {
            break;
        }
        int missing = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (!s->l[i].keep || !woken[i]) {
                continue;
            }
            int seen = 0;
            /* Read the holders while the connection keeps them alive; a
             * child read between fork and exec is read again. */
            for (size_t k = 0; k < s->l[i].npids; k++) {
                const pqt_host_proc *p = proc_get(pc, s->l[i].pids[k]);
                if (p != NULL && !tls_mapped(p)) {
                    p = proc_update(pc, s->l[i].pids[k]);
                }
                seen |= tls_mapped(p);
            }
            missing |= !seen;
        }
        if (!missing) {
            break;
        }
    }
    proc_refresh(pc);
    for (size_t i = 0; i < nf; i++) {
        close(fds[i]);
    }
    free(woken);
}

/* ---- output ---- */

static const char *lib_text(const pqt_host_proc *p)
{
    if (p == NULL) {
        return "-";
    }
    if (p->tls_version[0] != '\0') {
        return p->tls_version;
    }
    for (int lib = PQT_HOST_LIB_LIBSSL3; lib < PQT_HOST_LIB_PQTLS; lib++) {
        if (lib != PQT_HOST_LIB_LIBCRYPTO3 && lib != PQT_HOST_LIB_LIBCRYPTO11 &&
            (p->libs & (1u << lib))) {
            return pqt_host_lib_name(lib);
        }
    }
    const pqt_host_versions *v = &p->exe_versions;
    if (v->go_seen) {
        return v->go[0] ? v->go : "Go";
    }
    if (v->boringssl) {
        return "BoringSSL (static)";
    }
    if (v->openssl[0]) {
        return v->openssl;
    }
    return "-";
}

static void group_text(uint16_t g, char out[32])
{
    if (g == 0) {
        snprintf(out, 32, "-");
    } else {
        pqt_tls_group_format(g, out);
    }
}

static int write_jsonl(FILE *f, const listener *l, const pqt_host_proc *const *procs, size_t np,
                       const pqt_host_verdict *v)
{
    pqt_json j;
    char a[80], g[32];
    const pqt_host_proc *owner = np > 0 ? procs[0] : NULL;
    const pqt_host_proc *tp = v->tls_proc != NULL ? v->tls_proc : owner;
    pqt_json_init(&j, f);
    pqt_json_object_begin(&j);
    pqt_json_kv_string(&j, "schema", "pqtls-doctor/1");
    addr_text(&l->sock, a, sizeof(a));
    pqt_json_kv_string(&j, "listen", a);
    pqt_json_kv_int(&j, "port", l->sock.port);
    pqt_json_key(&j, "pid");
    if (owner != NULL) {
        pqt_json_int(&j, owner->pid);
    } else {
        pqt_json_null(&j);
    }
    pqt_json_kv_string(&j, "process", owner != NULL ? owner->comm : NULL);
    pqt_json_kv_string(&j, "exe", owner != NULL && owner->exe[0] ? owner->exe : NULL);
    pqt_json_kv_string(&j, "daemon", owner != NULL ? pqt_host_daemon(owner) : NULL);
    pqt_json_key(&j, "processes");
    pqt_json_array_begin(&j);
    for (size_t i = 0; i < np; i++) {
        const pqt_host_proc *p = procs[i];
        pqt_json_object_begin(&j);
        pqt_json_kv_int(&j, "pid", p->pid);
        pqt_json_kv_int(&j, "ppid", p->ppid);
        pqt_json_kv_string(&j, "process", p->comm);
        pqt_json_kv_string(&j, "exe", p->exe[0] ? p->exe : NULL);
        pqt_json_kv_string(&j, "cmdline", p->cmdline[0] ? p->cmdline : NULL);
        int holds = 0;
        for (size_t k = 0; k < l->nholders; k++) {
            holds |= l->pids[k] == p->pid;
        }
        pqt_json_kv_bool(&j, "holds_socket", holds);
        pqt_json_kv_bool(&j, "maps_read", p->maps_read);
        pqt_json_key(&j, "libraries");
        pqt_json_array_begin(&j);
        for (int lib = 1; lib < PQT_HOST_LIB_COUNT; lib++) {
            if (p->libs & (1u << lib)) {
                pqt_json_string(&j, pqt_host_lib_name(lib));
            }
        }
        pqt_json_array_end(&j);
        pqt_json_kv_string(&j, "tls_library", p->libssl[0] ? p->libssl : NULL);
        pqt_json_kv_string(&j, "tls_version", p->tls_version[0] ? p->tls_version : NULL);
        const pqt_host_versions *ev = &p->exe_versions;
        pqt_json_kv_string(&j, "static_openssl", ev->openssl[0] ? ev->openssl : NULL);
        pqt_json_kv_bool(&j, "static_boringssl", ev->boringssl);
        pqt_json_kv_string(&j, "go", ev->go_seen ? (ev->go[0] ? ev->go : "unknown") : NULL);
        pqt_json_kv_string(&j, "pqtls_so", p->provider[0] ? p->provider : NULL);
        pqt_json_kv_bool(&j, "environ_read", p->env_read);
        pqt_json_kv_string(&j, "openssl_conf", p->has_conf ? p->conf : NULL);
        pqt_json_kv_string(&j, "config", p->conf[0] ? p->conf : NULL);
        pqt_json_kv_bool(&j, "config_read", p->cnf.read);
        pqt_json_kv_bool(&j, "config_loads_pqtls", p->cnf.pqtls_listed && p->cnf.pqtls_active);
        pqt_json_kv_bool(&j, "config_default_provider", p->cnf.default_active);
        pqt_json_kv_string(&j, "config_groups", p->cnf.groups[0] ? p->cnf.groups : NULL);
        pqt_json_kv_string(&j, "config_problem", p->cnf.problem[0] ? p->cnf.problem : NULL);
        pqt_json_object_end(&j);
    }
    pqt_json_array_end(&j);
    pqt_json_kv_string(&j, "tls_library", lib_text(tp));
    pqt_json_kv_bool(&j, "pqtls_mapped", tp != NULL && tp->provider[0] != '\0');
    pqt_json_key(&j, "probe");
    if (!l->probe.ran) {
        pqt_json_null(&j);
    } else {
        const pqt_scan_proto_info *info = pqt_scan_proto_get(l->proto);
        pqt_json_object_begin(&j);
        pqt_json_kv_string(&j, "protocol", info->scheme);
        pqt_json_kv_bool(&j, "tls", l->probe.tls);
        group_text(l->probe.group, g);
        pqt_json_kv_string(&j, "group", l->probe.group ? g : NULL);
        pqt_json_kv_int(&j, "group_id", l->probe.group);
        char ver[24];
        pqt_tls_version_format(l->probe.version, ver);
        pqt_json_kv_string(&j, "version", l->probe.version ? ver : NULL);
        pqt_json_kv_bool(&j, "hybrid", l->probe.hybrid);
        pqt_json_kv_string(&j, "stage", pqt_scan_stage_name(l->scan.stage));
        pqt_json_kv_string(&j, "detail", l->what);
        pqt_json_object_end(&j);
    }
    pqt_json_kv_string(&j, "verdict", pqt_verdict_name(v->verdict));
    pqt_json_kv_string(&j, "why", v->why);
    pqt_json_kv_string(&j, "fix", v->fix[0] ? v->fix : NULL);
    pqt_json_object_end(&j);
    return pqt_json_end_line(&j);
}

static void write_table_row(FILE *f, const listener *l, const pqt_host_proc *const *procs,
                            size_t np, const pqt_host_verdict *v)
{
    char a[80], g[32], who[48];
    const pqt_host_proc *owner = np > 0 ? procs[0] : NULL;
    const pqt_host_proc *tp = v->tls_proc != NULL ? v->tls_proc : owner;
    addr_text(&l->sock, a, sizeof(a));
    group_text(l->probe.group, g);
    if (owner != NULL) {
        snprintf(who, sizeof(who), "%d/%s", owner->pid, owner->comm);
    } else {
        snprintf(who, sizeof(who), "?");
    }
    const char *conf = "-";
    if (tp != NULL && tp->env_read) {
        conf = tp->has_conf ? tp->conf : "(unset)";
    }
    fprintf(f, "%-22s %-20s %-18s %-6s %-22s %s\n", a, who, lib_text(tp),
            tp != NULL && tp->provider[0] ? "yes" : "no", l->probe.ran ? g : "(no probe)",
            pqt_verdict_name(v->verdict));
    fprintf(f, "    conf: %s%s\n", conf,
            tp != NULL && tp->cnf.read
                ? (tp->cnf.pqtls_listed && tp->cnf.pqtls_active ? " (loads pqtls)"
                                                                : " (does not load pqtls)")
                : "");
    fprintf(f, "    why:  %s\n", v->why);
    if (v->fix[0] != '\0') {
        fprintf(f, "    fix:  %s\n", v->fix);
    }
}

/* ---- the command ---- */

static int parse_args(int argc, char **argv, doctor_args *a, int *help)
{
    static const char optstring[] = "-:hf:";
    cli_opts o = {.cmd = CMD, .optstring = optstring, .longopts = doctor_options};
    int code;
    memset(a, 0, sizeof(*a));
    a->timeout_ms = 3000;
    *help = 0;
    while ((code = cli_getopt(&o, argc, argv)) != CLI_OPT_END) {
        unsigned long long v;
        switch (code) {
        case CLI_OPT_ERROR:
            return CLI_EXIT_USAGE;
        case 'h':
            *help = 1;
            return CLI_EXIT_OK;
        case CLI_OPT_OPERAND:
            cli_error(CMD, "unexpected argument '%s'; see 'pqtls doctor --help'", o.arg);
            return CLI_EXIT_USAGE;
        case 'f':
            if (strcmp(o.value, "table") == 0) {
                a->jsonl = 0;
            } else if (strcmp(o.value, "jsonl") == 0) {
                a->jsonl = 1;
            } else {
                cli_error(CMD, "%s must be table or jsonl, got '%s'", o.arg, o.value);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_PID:
            if (cli_parse_uint(CMD, o.arg, o.value, 1, 4194304, &v) != CLI_EXIT_OK) {
                return CLI_EXIT_USAGE;
            }
            if (a->npids == MAX_FILTER) {
                cli_error(CMD, "at most %d --pid options", MAX_FILTER);
                return CLI_EXIT_USAGE;
            }
            a->pids[a->npids++] = (int)v;
            break;
        case OPT_PORT:
            if (cli_parse_uint(CMD, o.arg, o.value, 1, 65535, &v) != CLI_EXIT_OK) {
                return CLI_EXIT_USAGE;
            }
            if (a->nports == MAX_FILTER) {
                cli_error(CMD, "at most %d --port options", MAX_FILTER);
                return CLI_EXIT_USAGE;
            }
            a->ports[a->nports++] = (unsigned)v;
            break;
        case OPT_NO_PROBE:
            a->no_probe = 1;
            break;
        case OPT_TIMEOUT:
            if (cli_parse_uint(CMD, o.arg, o.value, 50, 600000, &v) != CLI_EXIT_OK) {
                return CLI_EXIT_USAGE;
            }
            a->timeout_ms = (unsigned)v;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    return CLI_EXIT_OK;
}

static int wanted(const doctor_args *a, const listener *l)
{
    if (a->nports > 0) {
        int ok = 0;
        for (size_t i = 0; i < a->nports; i++) {
            ok |= a->ports[i] == l->sock.port;
        }
        if (!ok) {
            return 0;
        }
    }
    if (a->npids > 0) {
        for (size_t i = 0; i < a->npids; i++) {
            for (size_t k = 0; k < l->npids; k++) {
                if (a->pids[i] == l->pids[k]) {
                    return 1;
                }
            }
        }
        return 0;
    }
    return 1;
}

/* The owner first: the holder whose parent holds nothing. */
static void order_owner(listener *l, proc_cache *pc)
{
    for (size_t i = 0; i < l->nholders; i++) {
        const pqt_host_proc *p = proc_get(pc, l->pids[i]);
        int parent_holds = 0;
        for (size_t k = 0; p != NULL && k < l->nholders; k++) {
            parent_holds |= l->pids[k] == p->ppid;
        }
        if (p != NULL && !parent_holds) {
            int t = l->pids[0];
            l->pids[0] = l->pids[i];
            l->pids[i] = t;
            return;
        }
    }
}

int cli_cmd_doctor(int argc, char **argv)
{
    doctor_args a;
    int help, rc;
    state s = {0};
    proc_cache pc = {0};
    pqt_host_socket *socks = NULL;
    size_t nsocks = 0, *todo = NULL;
    unsigned unreadable = 0;

    rc = parse_args(argc, argv, &a, &help);
    if (rc != CLI_EXIT_OK || help) {
        if (help) {
            cli_help_doctor(stdout);
        }
        return rc;
    }
    default_conf_path(pc.default_conf, sizeof(pc.default_conf));

    if (pqt_host_listeners(NULL, &socks, &nsocks) != 0) {
        cli_error(CMD, "cannot read /proc/net/tcp or /proc/net/tcp6: is /proc mounted?");
        return CLI_EXIT_IO;
    }
    s.l = calloc(nsocks ? nsocks : 1, sizeof(*s.l));
    todo = calloc(nsocks ? nsocks : 1, sizeof(*todo));
    if (s.l == NULL || todo == NULL) {
        rc = CLI_EXIT_INTERNAL;
        goto cleanup;
    }
    for (size_t i = 0; i < nsocks; i++) {
        s.l[i].sock = socks[i];
    }
    s.n = nsocks;
    qsort(s.l, s.n, sizeof(*s.l), by_inode);
    if (collect_holders(&s, &unreadable) != 0) {
        cli_error(CMD, "cannot read /proc");
        rc = CLI_EXIT_IO;
        goto cleanup;
    }
    size_t kept = 0;
    for (size_t i = 0; i < s.n; i++) {
        s.l[i].keep = wanted(&a, &s.l[i]);
        kept += (size_t)s.l[i].keep;
    }

    /* Round 1: the protocol from the port, else from the daemon, else a
     * direct ClientHello. Round 2: a STARTTLS dialogue where a banner
     * answered the ClientHello, LDAP StartTLS for slapd. */
    if (!a.no_probe) {
        size_t nt = 0;
        for (size_t i = 0; i < s.n; i++) {
            listener *l = &s.l[i];
            if (!l->keep) {
                continue;
            }
            l->proto = proto_for_port(l->sock.port);
            if (l->proto == PQT_SCAN_PROTO_TLS && l->npids > 0) {
                const pqt_host_proc *p = proc_get(&pc, l->pids[0]);
                int d = p != NULL ? proto_for_daemon(pqt_host_daemon(p)) : -1;
                if (d >= 0) {
                    l->proto = d;
                }
            }
            todo[nt++] = i;
        }
        if (run_probes(&s, todo, nt, a.timeout_ms) != 0) {
            cli_error(CMD, "the active check failed (out of memory or sockets)");
            rc = CLI_EXIT_INTERNAL;
            goto cleanup;
        }
        nt = 0;
        for (size_t i = 0; i < s.n; i++) {
            listener *l = &s.l[i];
            if (!l->keep || !l->scanned || got_tls(&l->scan) || l->proto != PQT_SCAN_PROTO_TLS) {
                continue;
            }
            int p = proto_for_banner(banner_of(&l->scan));
            if (p < 0 && l->npids > 0) {
                const pqt_host_proc *hp = proc_get(&pc, l->pids[0]);
                const char *d = hp != NULL ? pqt_host_daemon(hp) : NULL;
                if (d != NULL && strcmp(d, "slapd") == 0) {
                    p = PQT_SCAN_PROTO_LDAP;
                }
            }
            if (p >= 0) {
                l->proto = p;
                l->scanned = 0;
                todo[nt++] = i;
            }
        }
        if (run_probes(&s, todo, nt, a.timeout_ms) != 0) {
            cli_error(CMD, "the active check failed (out of memory or sockets)");
            rc = CLI_EXIT_INTERNAL;
            goto cleanup;
        }
        for (size_t i = 0; i < s.n; i++) {
            if (s.l[i].keep) {
                summarise(&s.l[i]);
            }
        }
        /* The checks may have started the processes that do TLS, or
         * made running ones load their TLS library. */
        proc_refresh(&pc);
        if (collect_holders(&s, &unreadable) != 0) {
            rc = CLI_EXIT_IO;
            goto cleanup;
        }
    }
    /* --no-probe promises no connection at all: no wake-up either. */
    if (!a.no_probe) {
        wake_children(&s, &pc);
    }

    int not_hybrid = 0;
    if (!a.jsonl) {
        printf("%-22s %-20s %-18s %-6s %-22s %s\n", "LISTEN", "PID/PROCESS", "TLS LIBRARY", "PQTLS",
               "GROUP", "VERDICT");
    }
    for (size_t i = 0; i < s.n; i++) {
        listener *l = &s.l[i];
        if (!l->keep) {
            continue;
        }
        order_owner(l, &pc);
        /* The owner's children that do not hold the socket (Dovecot's
         * anvil, log, config) show what environment the daemon passes on. */
        const pqt_host_proc *owner = l->npids ? proc_get(&pc, l->pids[0]) : NULL;
        if (owner != NULL) {
            int kids[32];
            size_t nk = 0;
            if (pqt_host_children("/proc", owner->pid, kids, 32, &nk) == 0) {
                for (size_t k = 0; k < nk; k++) {
                    add_pid(l, kids[k]);
                }
            }
        }
        const pqt_host_proc *procs[MAX_PIDS_PER_SOCKET];
        size_t np = 0;
        for (size_t k = 0; k < l->npids; k++) {
            const pqt_host_proc *p = proc_get(&pc, l->pids[k]);
            /* A child that says it serves another port holds this socket
             * only by inheritance (Postfix). */
            if (p != NULL && (k == 0 || pqt_host_serves_port(p, l->sock.port) != 0)) {
                procs[np++] = p;
            }
        }
        pqt_host_verdict v;
        pqt_host_judge(procs, np, &l->probe, &v);
        if (v.verdict == PQT_VERDICT_GROUP_NOT_CONFIGURED ||
            v.verdict == PQT_VERDICT_PROVIDER_NOT_LOADED ||
            v.verdict == PQT_VERDICT_LIBRARY_CANNOT) {
            not_hybrid++;
        }
        if (a.jsonl) {
            if (write_jsonl(stdout, l, procs, np, &v) != 0) {
                rc = CLI_EXIT_IO;
                goto cleanup;
            }
        } else {
            write_table_row(stdout, l, procs, np, &v);
        }
    }
    if (kept == 0) {
        fprintf(stderr, "pqtls doctor: no listening TCP socket%s\n",
                a.npids || a.nports ? " matches --pid/--port" : "");
    }
    if (unreadable > 0 && geteuid() != 0) {
        fprintf(stderr,
                "pqtls doctor: %u processes could not be read (not yours); run as root to see "
                "every listener\n",
                unreadable);
    }
    rc = cli_finish_output(CMD);
    if (rc == CLI_EXIT_OK && not_hybrid > 0) {
        rc = CLI_EXIT_FAILED;
    }
cleanup:
    free(socks);
    free(s.l);
    free(todo);
    proc_cache_free(&pc);
    return rc;
}
