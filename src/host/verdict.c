/*
 * The verdict per service: what the processes holding a listening socket
 * show (libraries, pqtls.so, environment, configuration) together with
 * what the active check negotiated. The fixes are those docs/deploy.md
 * documents and its tests prove, one table per kind of fix.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_internal.h"
#include "pqtls/names.h"

const char *pqt_verdict_name(int v)
{
    static const char *const names[PQT_VERDICT_COUNT] = {
        "hybrid",
        "provider-loaded-group-not-configured",
        "provider-not-loaded",
        "library-cannot",
        "not-tls",
        "unknown",
    };
    return v >= 0 && v < PQT_VERDICT_COUNT ? names[v] : NULL;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL ? s + 1 : path;
}

const char *pqt_host_daemon(const pqt_host_proc *p)
{
    const char *b = base_name(p->exe[0] != '\0' ? p->exe : p->comm);
    if (strcmp(b, "nginx") == 0) {
        return "nginx";
    }
    if (strcmp(b, "dovecot") == 0 || strstr(p->exe, "/dovecot/") != NULL) {
        return "dovecot";
    }
    if (strstr(p->exe, "/postfix/") != NULL) {
        return "postfix";
    }
    if (strcmp(b, "postgres") == 0 || strstr(p->exe, "/postgresql/") != NULL) {
        return "postgres";
    }
    if (strcmp(b, "apache2") == 0 || strcmp(b, "httpd") == 0) {
        return "apache2";
    }
    if (strcmp(b, "haproxy") == 0) {
        return "haproxy";
    }
    if (strcmp(b, "mariadbd") == 0 || strcmp(b, "mysqld") == 0) {
        return "mariadb";
    }
    if (strcmp(b, "slapd") == 0) {
        return "slapd";
    }
    return NULL;
}

int pqt_host_serves_port(const pqt_host_proc *p, unsigned port)
{
    const char *d = pqt_host_daemon(p);
    if (d == NULL || strcmp(d, "postfix") != 0) {
        return -1;
    }
    /* master(8) starts a service as "smtpd -n NAME -t inet ...". */
    const char *n = strstr(p->cmdline, " -n ");
    if (n == NULL) {
        return -1;
    }
    n += 4;
    size_t len = strcspn(n, " ");
    char name[128];
    if (len == 0 || len >= sizeof(name)) {
        return -1;
    }
    memcpy(name, n, len);
    name[len] = '\0';
    const char *colon = strrchr(name, ':');
    const char *num = colon != NULL ? colon + 1 : name;
    char *end;
    unsigned long v = strtoul(num, &end, 10);
    if (*num != '\0' && *end == '\0') {
        return v == port;
    }
    /* The service names of Debian's master.cf. */
    static const struct {
        const char *name;
        unsigned port;
    } names[] = {{"smtp", 25}, {"submission", 587}, {"smtps", 465}, {"submissions", 465}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(num, names[i].name) == 0) {
            return names[i].port == port;
        }
    }
    return -1;
}

/* The setting that loads pqtls, per daemon (docs/deploy.md). */
static const struct {
    const char *daemon;
    const char *load;   /* provider not loaded */
    const char *groups; /* provider loaded, group not configured */
    const char *tls13;  /* TLS 1.3 not enabled */
} fixes[] = {
    {"nginx",
     "give nginx OPENSSL_CONF: systemctl edit nginx, [Service] "
     "Environment=OPENSSL_CONF=/etc/ssl/openssl-pqtls.cnf, then restart (not reload)",
     "ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1; in the server {} (or http {})",
     "ssl_protocols TLSv1.2 TLSv1.3; (nginx before 1.23.4 leaves TLS 1.3 out by default), and "
     "ssl_ecdh_curve X25519MLKEM768:X25519:prime256v1;"},
    {"dovecot",
     "Dovecot passes its children only the variables import_environment names: "
     "import_environment = <doveconf -d -h import_environment> "
     "OPENSSL_CONF=/etc/ssl/openssl-pqtls.cnf in dovecot.conf",
     "ssl_curve_list = X25519MLKEM768:X25519:prime256v1 (conf.d/10-ssl.conf)", NULL},
    {"postfix",
     "Postfix drops OPENSSL_CONF (only import_environment survives): "
     "tls_config_file = /etc/ssl/openssl-pqtls-groups.cnf and "
     "tls_eecdh_auto_curves = X25519MLKEM768 in main.cf",
     "Postfix 3.7 installs tls_eecdh_auto_curves' classical names instead of the configured "
     "list: tls_eecdh_auto_curves = X25519MLKEM768 and Groups = "
     "X25519MLKEM768:X25519:prime256v1 in the tls_config_file",
     "smtpd_tls_protocols = >=TLSv1.2 (TLS 1.3 allowed) in main.cf"},
    {"apache2",
     "export OPENSSL_CONF=/etc/ssl/openssl-pqtls.cnf in /etc/apache2/envvars, then restart",
     "SSLOpenSSLConfCmd Groups X25519MLKEM768:X25519:prime256v1 in the TLS virtual host",
     "SSLProtocol -all +TLSv1.2 +TLSv1.3"},
    {"haproxy",
     "ssl-provider default and ssl-provider pqtls in global (or OPENSSL_CONF in the unit)",
     "curves X25519MLKEM768:X25519:P-256 on the bind line (or ssl-default-bind-curves)",
     "ssl-max-ver TLSv1.3 on the bind line (or leave ssl-default-bind-options without it)"},
    {"mariadb",
     "systemctl edit mariadb: [Service] "
     "Environment=OPENSSL_CONF=/etc/ssl/openssl-pqtls-groups.cnf, then restart",
     "MariaDB has no group setting: Groups = X25519MLKEM768:X25519:prime256v1 in the "
     "[system_default] section of its OPENSSL_CONF file (/etc/ssl/openssl-pqtls-groups.cnf)",
     NULL},
};

static const char generic_load[] =
    "set OPENSSL_CONF=/etc/ssl/openssl-pqtls.cnf in the service's environment (systemctl edit: "
    "[Service] Environment=...), then restart";
static const char generic_groups[] =
    "name X25519MLKEM768 first in the service's group list, or Groups = "
    "X25519MLKEM768:X25519:prime256v1 in the [system_default] section of its OPENSSL_CONF file";

static const char generic_tls13[] =
    "enable TLS 1.3 (the hybrid groups exist only there): MaxProtocol = TLSv1.3 or the "
    "service's protocol setting";

/* kind: 0 load the provider, 1 configure the group, 2 enable TLS 1.3. */
static const char *fix_for(const char *daemon, int kind)
{
    for (size_t i = 0; daemon != NULL && i < sizeof(fixes) / sizeof(fixes[0]); i++) {
        if (strcmp(fixes[i].daemon, daemon) == 0) {
            const char *f = kind == 0   ? fixes[i].load
                            : kind == 1 ? fixes[i].groups
                                        : fixes[i].tls13;
            if (f != NULL) {
                return f;
            }
        }
    }
    return kind == 0 ? generic_load : kind == 1 ? generic_groups : generic_tls13;
}

static void add(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap) {
        return;
    }
    if (n > 0 && n + 3 < cap) {
        memcpy(buf + n, "; ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

static void set_fix(pqt_host_verdict *out, const char *fix)
{
    snprintf(out->fix, sizeof(out->fix), "%s", fix);
}

#define TLS_LIBS                                                                                \
    ((1u << PQT_HOST_LIB_LIBSSL3) | (1u << PQT_HOST_LIB_LIBSSL11) |                             \
     (1u << PQT_HOST_LIB_LIBSSL_OLD) | (1u << PQT_HOST_LIB_GNUTLS) | (1u << PQT_HOST_LIB_NSS) | \
     (1u << PQT_HOST_LIB_JAVA) | (1u << PQT_HOST_LIB_WOLFSSL) | (1u << PQT_HOST_LIB_MBEDTLS))

static int has_static(const pqt_host_proc *p)
{
    const pqt_host_versions *v = &p->exe_versions;
    return v->openssl[0] != '\0' || v->libressl[0] != '\0' || v->boringssl || v->go_seen;
}

/* "OpenSSL 3.5.1" -> 3, 5; 0 if not such a string. */
static int openssl_version(const char *s, int *major, int *minor)
{
    return sscanf(s, "OpenSSL %d.%d", major, minor) == 2;
}

/* "go1.24.2" -> 1, 24. */
static int go_version(const char *s, int *major, int *minor)
{
    return sscanf(s, "go%d.%d", major, minor) == 2;
}

/* /usr/lib/postgresql/15/bin/postgres -> 15; 0 if unknown. */
static int postgres_major(const char *exe)
{
    const char *s = strstr(exe, "/postgresql/");
    int v = 0;
    if (s != NULL && sscanf(s, "/postgresql/%d/", &v) == 1) {
        return v;
    }
    return 0;
}

static void describe_proc(char *buf, size_t cap, const char *what, const pqt_host_proc *p)
{
    add(buf, cap, "%s pid %d (%s)", what, p->pid, p->comm);
}

static void group_text(uint16_t group, char out[48])
{
    char g[32];
    pqt_tls_group_format(group, g);
    snprintf(out, 48, "%s", g);
}

void pqt_host_judge(const pqt_host_proc *const *procs, size_t n, const pqt_host_probe *probe,
                    pqt_host_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->verdict = PQT_VERDICT_UNKNOWN;
    if (n == 0) {
        /* Another user's process without root: the check alone still
         * tells hybrid and plaintext apart from the rest. */
        char g0[48] = "";
        if (probe->ran && probe->group != 0) {
            group_text(probe->group, g0);
        }
        if (probe->ran && probe->hybrid) {
            out->verdict = PQT_VERDICT_HYBRID;
            add(out->why, sizeof(out->why), "negotiated %s", g0[0] ? g0 : "a hybrid group");
        } else if (probe->ran && probe->plaintext && !probe->tls) {
            out->verdict = PQT_VERDICT_NOT_TLS;
            add(out->why, sizeof(out->why), "%s", probe->what != NULL ? probe->what : "no TLS");
        } else if (probe->ran && probe->tls) {
            add(out->why, sizeof(out->why), "negotiated %s, not hybrid", g0[0] ? g0 : "no group");
        }
        add(out->why, sizeof(out->why),
            "no process holding the socket could be read (another user's: run as root)");
        return;
    }
    const pqt_host_proc *owner = procs[0];
    /* The process that does TLS: pqtls.so and libssl mapped, else any TLS
     * library, else a static one, else the owner. */
    const pqt_host_proc *tp = NULL;
    for (size_t i = 0; i < n && tp == NULL; i++) {
        if ((procs[i]->libs & (1u << PQT_HOST_LIB_PQTLS)) && (procs[i]->libs & TLS_LIBS)) {
            tp = procs[i];
        }
    }
    for (size_t i = 0; i < n && tp == NULL; i++) {
        if (procs[i]->libs & TLS_LIBS) {
            tp = procs[i];
        }
    }
    for (size_t i = 0; i < n && tp == NULL; i++) {
        if (has_static(procs[i])) {
            tp = procs[i];
        }
    }
    out->tls_proc = tp;
    const pqt_host_proc *p = tp != NULL ? tp : owner;
    const char *daemon = pqt_host_daemon(p);
    if (daemon == NULL) {
        daemon = pqt_host_daemon(owner);
    }
    char g[48] = "";
    if (probe->ran && probe->group != 0) {
        group_text(probe->group, g);
    }

    if (probe->ran && probe->hybrid) {
        out->verdict = PQT_VERDICT_HYBRID;
        add(out->why, sizeof(out->why), "negotiated %s", g[0] ? g : "a hybrid group");
        if (p->libs & (1u << PQT_HOST_LIB_PQTLS)) {
            add(out->why, sizeof(out->why), "pqtls.so mapped in pid %d (%s)", p->pid, p->comm);
        } else if (p->tls_version[0] != '\0') {
            add(out->why, sizeof(out->why), "%s in pid %d (%s)", p->tls_version, p->pid, p->comm);
        }
        return;
    }
    if (probe->ran && probe->plaintext && !probe->tls) {
        out->verdict = PQT_VERDICT_NOT_TLS;
        add(out->why, sizeof(out->why), "%s", probe->what != NULL ? probe->what : "no TLS offered");
        return;
    }
    if (probe->ran && !probe->tls) {
        add(out->why, sizeof(out->why), "no TLS handshake: %s",
            probe->what != NULL ? probe->what : "no answer");
    } else if (probe->ran) {
        add(out->why, sizeof(out->why), "negotiated %s, not hybrid", g[0] ? g : "no group");
    }

    if (tp == NULL) {
        /* No process holding the socket maps a TLS library: a plain
         * service, or a master whose TLS children were not seen. */
        int env_dropped = 0;
        for (size_t i = 1; i < n; i++) {
            if (owner->has_conf && procs[i]->env_read && !procs[i]->has_conf) {
                env_dropped = 1;
                describe_proc(out->why, sizeof(out->why), "OPENSSL_CONF is missing in child",
                              procs[i]);
                break;
            }
        }
        if (env_dropped && probe->ran) {
            out->verdict = PQT_VERDICT_PROVIDER_NOT_LOADED;
            set_fix(out, fix_for(daemon, 0));
            return;
        }
        /* Dovecot and Postfix do TLS in processes that live only while
         * they serve: not having seen one says nothing. */
        int per_connection =
            daemon != NULL && (strcmp(daemon, "dovecot") == 0 || strcmp(daemon, "postfix") == 0);
        if (per_connection) {
            add(out->why, sizeof(out->why),
                "%s does TLS in per-connection processes, and none was seen", daemon);
            return;
        }
        if (probe->ran && !probe->tls && owner->maps_read) {
            out->verdict = PQT_VERDICT_NOT_TLS;
            add(out->why, sizeof(out->why),
                "no TLS library mapped in the %zu process(es) holding "
                "the socket",
                n);
            return;
        }
        add(out->why, sizeof(out->why),
            "no TLS library mapped in the %zu process(es) holding the socket%s", n,
            owner->maps_read ? "" : " (maps not readable: run as root)");
        return;
    }

    /* Libraries an OpenSSL provider cannot enter, or that lack the group. */
    unsigned libs = p->libs;
    if (!(libs & (1u << PQT_HOST_LIB_LIBSSL3))) {
        const char *lib = NULL;
        const char *fix = "terminate TLS in front with a server that can (haproxy + pqtls, "
                          "docs/deploy.md), or a build of the service on OpenSSL 3";
        if (libs & (1u << PQT_HOST_LIB_GNUTLS)) {
            lib = "GnuTLS: an OpenSSL provider never enters it, and GnuTLS before 3.8.9 has no "
                  "ML-KEM group";
        } else if (libs & ((1u << PQT_HOST_LIB_LIBSSL11) | (1u << PQT_HOST_LIB_LIBSSL_OLD))) {
            lib = "OpenSSL before 3.0 has no provider interface";
        } else if (libs & (1u << PQT_HOST_LIB_NSS)) {
            lib = "NSS: an OpenSSL provider never enters it";
        } else if (libs & (1u << PQT_HOST_LIB_JAVA)) {
            lib = "JSSE (Java): an OpenSSL provider never enters it; hybrid groups need a JDK that "
                  "has them";
        } else if (libs & ((1u << PQT_HOST_LIB_WOLFSSL) | (1u << PQT_HOST_LIB_MBEDTLS))) {
            lib = "not OpenSSL: an OpenSSL provider never enters it";
        }
        if (lib != NULL) {
            out->verdict = PQT_VERDICT_LIBRARY_CANNOT;
            add(out->why, sizeof(out->why), "pid %d (%s) maps %s (%s)", p->pid, p->comm, p->libssl,
                lib);
            set_fix(out, fix);
            return;
        }
        /* Static: OpenSSL, BoringSSL, Go. */
        const pqt_host_versions *v = &p->exe_versions;
        int maj = 0, min = 0;
        if (v->go_seen) {
            if (v->go[0] != '\0' && go_version(v->go, &maj, &min) &&
                (maj > 1 || (maj == 1 && min >= 24))) {
                out->verdict = PQT_VERDICT_GROUP_NOT_CONFIGURED;
                add(out->why, sizeof(out->why),
                    "Go program (%s): crypto/tls has X25519MLKEM768 since Go 1.24", v->go);
                set_fix(out, "leave tls.Config.CurvePreferences unset or list "
                             "tls.X25519MLKEM768 in it; GODEBUG=tlsmlkem=0 turns it off");
            } else {
                out->verdict = PQT_VERDICT_LIBRARY_CANNOT;
                add(out->why, sizeof(out->why),
                    "Go program (%s): crypto/tls before Go 1.24 has no hybrid group",
                    v->go[0] ? v->go : "version not recorded");
                set_fix(out, "rebuild with Go 1.24 or later");
            }
            return;
        }
        if (v->boringssl) {
            out->verdict = PQT_VERDICT_GROUP_NOT_CONFIGURED;
            add(out->why, sizeof(out->why), "statically linked BoringSSL in %s", p->exe);
            set_fix(out, "BoringSSL has X25519MLKEM768: name it in the program's group list");
            return;
        }
        if (v->openssl[0] != '\0' && openssl_version(v->openssl, &maj, &min)) {
            if (maj < 3) {
                out->verdict = PQT_VERDICT_LIBRARY_CANNOT;
                add(out->why, sizeof(out->why),
                    "statically linked %s in %s (no provider interface)", v->openssl, p->exe);
                set_fix(out, "rebuild against OpenSSL 3 (3.5+ has the group built in), or "
                             "terminate TLS in front");
                return;
            }
            if (maj > 3 || min >= 5) {
                out->verdict = PQT_VERDICT_GROUP_NOT_CONFIGURED;
                add(out->why, sizeof(out->why), "statically linked %s in %s has the group built in",
                    v->openssl, p->exe);
                set_fix(out, fix_for(daemon, 1));
                return;
            }
            out->verdict = PQT_VERDICT_PROVIDER_NOT_LOADED;
            add(out->why, sizeof(out->why),
                "statically linked %s in %s: pqtls only if that build loads providers", v->openssl,
                p->exe);
            set_fix(out, fix_for(daemon, 0));
            return;
        }
        if (v->libressl[0] != '\0') {
            out->verdict = PQT_VERDICT_LIBRARY_CANNOT;
            add(out->why, sizeof(out->why), "statically linked %s (no provider interface)",
                v->libressl);
            set_fix(out, "terminate TLS in front with a server that can");
            return;
        }
        return;
    }

    /* OpenSSL 3. */
    int maj = 0, min = 0;
    int native = openssl_version(p->tls_version, &maj, &min) && (maj > 3 || min >= 5);
    int mapped = (libs & (1u << PQT_HOST_LIB_PQTLS)) != 0;
    if (daemon != NULL && strcmp(daemon, "postgres") == 0) {
        int pg = postgres_major(p->exe);
        if (pg == 0 || pg < 18) {
            out->verdict = PQT_VERDICT_LIBRARY_CANNOT;
            add(out->why, sizeof(out->why),
                "PostgreSQL %d gives OpenSSL one classical curve (ssl_ecdh_curve)%s", pg,
                mapped ? ", pqtls.so mapped all the same" : "");
            set_fix(out, "upgrade to PostgreSQL 18 (ssl_groups = "
                         "'X25519MLKEM768:X25519:prime256v1'), docs/deploy.md");
            return;
        }
    }
    if (mapped || native) {
        if (!probe->ran) {
            add(out->why, sizeof(out->why),
                "%s; the group list is not visible from outside: "
                "run without --no-probe",
                mapped ? "pqtls.so mapped" : p->tls_version);
            return;
        }
        if (!probe->tls) {
            add(out->why, sizeof(out->why), "%s in pid %d (%s)",
                mapped ? "pqtls.so mapped" : p->tls_version, p->pid, p->comm);
            return;
        }
        out->verdict = PQT_VERDICT_GROUP_NOT_CONFIGURED;
        if (mapped) {
            add(out->why, sizeof(out->why), "pqtls.so mapped in pid %d (%s)", p->pid, p->comm);
        } else {
            add(out->why, sizeof(out->why), "%s has the hybrid groups built in", p->tls_version);
        }
        /* RFC 8446 groups with a KEM share exist in TLS 1.3 only. */
        if (probe->version != 0 && probe->version < 0x0304) {
            add(out->why, sizeof(out->why),
                "the service negotiated TLS 1.2: TLS 1.3 is not enabled");
            set_fix(out, fix_for(daemon, 2));
        } else {
            set_fix(out, fix_for(daemon, 1));
        }
        return;
    }

    out->verdict = PQT_VERDICT_PROVIDER_NOT_LOADED;
    add(out->why, sizeof(out->why), "pqtls.so not mapped in pid %d (%s, %s)", p->pid, p->comm,
        p->tls_version[0] ? p->tls_version : "libssl.so.3");
    /* Why: the environment, then the file. */
    const pqt_host_proc *with_conf = NULL;
    for (size_t i = 0; i < n; i++) {
        if (procs[i] != p && procs[i]->has_conf) {
            with_conf = procs[i];
            break;
        }
    }
    if (!p->env_read) {
        add(out->why, sizeof(out->why), "its environment is not readable (run as root)");
    } else if (!p->has_conf) {
        if (with_conf != NULL) {
            add(out->why, sizeof(out->why),
                "pid %d (%s) has OPENSSL_CONF=%s but pid %d (%s) does not: the daemon drops its "
                "environment",
                with_conf->pid, with_conf->comm, with_conf->conf, p->pid, p->comm);
        } else {
            add(out->why, sizeof(out->why), "OPENSSL_CONF not set: %s %s", p->conf,
                !p->cnf.read          ? "(the default) cannot be read"
                : p->cnf.pqtls_active ? "(the default) loads pqtls"
                                      : "(the default) does not load pqtls");
        }
    } else if (!p->cnf.read) {
        add(out->why, sizeof(out->why), "OPENSSL_CONF=%s cannot be read", p->conf);
    } else if (!p->cnf.init) {
        add(out->why, sizeof(out->why), "OPENSSL_CONF=%s has no openssl_conf init section",
            p->conf);
    } else if (!p->cnf.pqtls_listed) {
        add(out->why, sizeof(out->why), "OPENSSL_CONF=%s does not list pqtls", p->conf);
    } else if (!p->cnf.pqtls_active) {
        add(out->why, sizeof(out->why), "OPENSSL_CONF=%s lists pqtls without activate = 1",
            p->conf);
    } else {
        add(out->why, sizeof(out->why),
            "OPENSSL_CONF=%s loads pqtls, but it is not mapped: restart the service (a reload "
            "keeps the old libraries), or it reads another configuration",
            p->conf);
    }
    if (p->cnf.problem[0] != '\0') {
        add(out->why, sizeof(out->why), "%s", p->cnf.problem);
    }
    set_fix(out, fix_for(daemon, 0));
}
