/*
 * doctor.host: the readers and the verdict of src/host on crafted input.
 * maps, /proc/net/tcp and environ lines; openssl.cnf files written to a
 * temporary directory (includes, a directory include, Debian's .include
 * pitfall, include cycles, activate = 0); version strings across the
 * reader's chunk boundary and the Go build information of an ELF file
 * (the fuzz corpus' go_elf); a real child process read through /proc
 * with OPENSSL_CONF in its environment; and one verdict per branch.
 *
 * Usage: test_host SOURCE_DIR
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check.h"
#include "pqtls/host.h"

static const char *src_dir;
static char tmp[256];

static int parse_maps(const char *line, pqt_host_map *m)
{
    return pqt_host_maps_line_parse((const uint8_t *)line, strlen(line), m);
}

static void test_maps(void)
{
    pqt_host_map m;
    CHECK(parse_maps("7f1c2a000000-7f1c2a05a000 r--p 00001000 08:01 1315    "
                     "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                     &m) == 0,
          "maps: libssl line");
    CHECK(m.start == 0x7f1c2a000000ull && m.end == 0x7f1c2a05a000ull && m.offset == 0x1000 &&
              m.inode == 1315 && strcmp(m.perms, "r--p") == 0,
          "maps: fields");
    CHECK(m.path != NULL && m.path_len == strlen("/usr/lib/x86_64-linux-gnu/libssl.so.3"),
          "maps: path");
    CHECK(pqt_host_lib_classify(m.path, m.path_len) == PQT_HOST_LIB_LIBSSL3, "maps: libssl.so.3");

    CHECK(parse_maps("7f00-7f10 r-xp 00000000 fd:00 99  /opt/my pq/pqtls.so (deleted)", &m) == 0,
          "maps: spaces and deleted");
    CHECK(m.deleted && m.path_len == strlen("/opt/my pq/pqtls.so") &&
              pqt_host_lib_classify(m.path, m.path_len) == PQT_HOST_LIB_PQTLS,
          "maps: a path with a space, deleted, is pqtls.so");
    CHECK(parse_maps("55d0-55d1 rw-p 00000000 00:00 0      [heap]", &m) == 0 && m.path == NULL,
          "maps: [heap] is no file");
    CHECK(parse_maps("7ffd0000-7ffd1000 r-xp 00000000 00:00 0", &m) == 0 && m.path == NULL,
          "maps: anonymous");
    CHECK(parse_maps("7f10-7f00 r--p 0 08:01 1 /x", &m) == PQT_ERR_SYNTAX, "maps: end < start");
    CHECK(parse_maps("zz-7f00 r--p 0 08:01 1 /x", &m) == PQT_ERR_SYNTAX, "maps: bad hex");
    CHECK(parse_maps("7f00-7f10 r--p 0 08:01", &m) == PQT_ERR_SYNTAX, "maps: no inode");
    CHECK(parse_maps("", &m) == PQT_ERR_SYNTAX, "maps: empty");

    static const struct {
        const char *path;
        int lib;
    } libs[] = {
        {"/usr/lib/x86_64-linux-gnu/libssl.so.1.1", PQT_HOST_LIB_LIBSSL11},
        {"/lib/libssl.so.1.0.2", PQT_HOST_LIB_LIBSSL_OLD},
        {"/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3", PQT_HOST_LIB_GNUTLS},
        {"/usr/lib/x86_64-linux-gnu/libnss3.so", PQT_HOST_LIB_NSS},
        {"/usr/lib/jvm/java-17/lib/libjava.so", PQT_HOST_LIB_JAVA},
        {"/usr/lib/x86_64-linux-gnu/libcrypto.so.3", PQT_HOST_LIB_LIBCRYPTO3},
        {"/usr/lib/libssl.so.3.bak", PQT_HOST_LIB_NONE},
        {"/usr/lib/notpqtls.so", PQT_HOST_LIB_NONE},
    };
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
        CHECK(pqt_host_lib_classify((const uint8_t *)libs[i].path, strlen(libs[i].path)) ==
                  libs[i].lib,
              "classify %s", libs[i].path);
    }
}

static int parse_tcp(const char *line, pqt_host_socket *s)
{
    return pqt_host_tcp_line_parse((const uint8_t *)line, strlen(line), s);
}

static void test_tcp(void)
{
    pqt_host_socket s;
    CHECK(parse_tcp("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
                    "00000000     0        0 41234 1 0000000000000000 100 0 0 10 0",
                    &s) == 0,
          "tcp: v4 listener");
    CHECK(s.listening && !s.v6 && s.port == 8080 && s.inode == 41234, "tcp: v4 fields");
    CHECK(s.addr[0] == 127 && s.addr[1] == 0 && s.addr[2] == 0 && s.addr[3] == 1,
          "tcp: 127.0.0.1 (a word in host order)");
    CHECK(parse_tcp("   1: 00000000000000000000000001000000:01BB "
                    "00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 "
                    "00000000   101        0 5555 1",
                    &s) == 0 &&
              s.v6 && s.port == 443 && s.inode == 5555 && s.addr[15] == 1,
          "tcp: v6 ::1 listener");
    CHECK(parse_tcp("   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 "
                    "00000000     0        0 0 1",
                    &s) == 0 &&
              !s.listening,
          "tcp: established is not listening");
    CHECK(parse_tcp("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
                    "retrnsmt   uid  timeout inode",
                    &s) == PQT_ERR_SYNTAX,
          "tcp: the header line");
    CHECK(parse_tcp("   0: 0100007F:1F9 00000000:0000 0A", &s) == PQT_ERR_SYNTAX, "tcp: truncated");
}

static void test_environ(void)
{
    static const uint8_t env[] = "OPENSSL_CONFX=no\0PATH=/bin\0OPENSSL_CONF=/etc/ssl/pq.cnf\0";
    const uint8_t *v;
    size_t vl;
    CHECK(pqt_host_environ_get(env, sizeof(env) - 1, "OPENSSL_CONF", &v, &vl) == 1 &&
              vl == strlen("/etc/ssl/pq.cnf") && memcmp(v, "/etc/ssl/pq.cnf", vl) == 0,
          "environ: OPENSSL_CONF, not OPENSSL_CONFX");
    CHECK(pqt_host_environ_get(env, sizeof(env) - 1, "HOME", &v, &vl) == 0 && v == NULL,
          "environ: absent");
    static const uint8_t cut[] = {'A', '=', '1', 0, 'B', '='};
    CHECK(pqt_host_environ_get(cut, sizeof(cut), "B", &v, &vl) == 1 && vl == 0,
          "environ: 'B=' at the end, empty");
    CHECK(pqt_host_environ_get(cut, 3, "A", &v, &vl) == 1 && vl == 1, "environ: no final NUL");
}

/* ---- openssl.cnf ---- */

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* Paths in the test files are relative to the temporary directory. */
static int load(void *ctx, const char *path, int *is_dir, uint8_t **data, size_t *len)
{
    (void)ctx;
    char full[512];
    struct stat st;
    snprintf(full, sizeof(full), "%s/%s", tmp, path);
    *is_dir = 0;
    if (stat(full, &st) != 0) {
        return PQT_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(full);
        struct dirent *de;
        size_t n = 0;
        uint8_t *buf = malloc(4096);
        if (d == NULL || buf == NULL) {
            return PQT_ERR_IO;
        }
        while ((de = readdir(d)) != NULL) {
            size_t l = strlen(de->d_name) + 1;
            if (de->d_name[0] != '.' && n + l < 4096) {
                memcpy(buf + n, de->d_name, l);
                n += l;
            }
        }
        closedir(d);
        *is_dir = 1;
        *data = buf;
        *len = n;
        return 0;
    }
    FILE *f = fopen(full, "rb");
    if (f == NULL) {
        return PQT_ERR_IO;
    }
    *data = malloc((size_t)st.st_size + 1);
    *len = fread(*data, 1, (size_t)st.st_size, f);
    fclose(f);
    return 0;
}

#define PROVIDERS                                                                                 \
    "[provider_sect]\ndefault = default_sect\npqtls = pqtls_sect\n[default_sect]\nactivate = 1\n" \
    "[pqtls_sect]\nmodule = /usr/lib/x86_64-linux-gnu/ossl-modules/pqtls.so\nactivate = 1\n"
#define INIT "openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"

static pqt_host_cnf eval(const char *name)
{
    pqt_host_cnf c;
    int ret = pqt_host_cnf_eval(name, load, NULL, &c);
    CHECK(ret == 0, "cnf %s: eval returned %d", name, ret);
    return c;
}

static void test_cnf(void)
{
    write_file("pq.cnf", INIT PROVIDERS);
    pqt_host_cnf c = eval("pq.cnf");
    CHECK(c.read && c.init && c.providers_listed && c.pqtls_listed && c.pqtls_active &&
              c.default_active && c.files == 1 && c.problem[0] == '\0',
          "cnf: docs/deploy.md's file loads pqtls and default");
    CHECK(strcmp(c.pqtls_module, "/usr/lib/x86_64-linux-gnu/ossl-modules/pqtls.so") == 0,
          "cnf: module path '%s'", c.pqtls_module);

    /* lib.sh's groups file: [openssl_init] repeated adds ssl_conf. */
    write_file("groups.cnf", INIT PROVIDERS "\n[openssl_init]\nssl_conf = ssl_sect\n"
                                            "[ssl_sect]\nsystem_default = g\n[g]\n"
                                            "Groups = X25519MLKEM768:X25519:prime256v1\n");
    c = eval("groups.cnf");
    CHECK(c.pqtls_active && strcmp(c.groups, "X25519MLKEM768:X25519:prime256v1") == 0,
          "cnf: Groups of system_default, got '%s'", c.groups);

    /* Debian's pitfall: .include at the top of a file whose own lines
     * follow; the included file's [pqtls_sect] swallows them. */
    write_file("debian.cnf", ".include pq.cnf\nHOME = .\nopenssl_conf = openssl_init\n"
                             "[openssl_init]\n# providers = provider_sect\n");
    c = eval("debian.cnf");
    CHECK(c.read && c.files == 2 && !c.pqtls_active && strstr(c.problem, "leads back") != NULL,
          "cnf: Debian .include pitfall loads nothing ('%s')", c.problem);
    /* ... and the edit that works: providers uncommented, sections after. */
    write_file("debian-ok.cnf",
               "HOME = .\nopenssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"
               "[x]\n.include inc.cnf\n");
    write_file("inc.cnf", PROVIDERS);
    c = eval("debian-ok.cnf");
    CHECK(c.pqtls_active && c.files == 2, "cnf: provider sections from an included file");

    /* Cycles: a -> b -> a, and a file including itself; both end. */
    write_file("a.cnf", INIT PROVIDERS ".include b.cnf\n");
    write_file("b.cnf", ".include = a.cnf\n[junk]\nx = y\n");
    c = eval("a.cnf");
    CHECK(strstr(c.problem, "include cycle") != NULL && strstr(c.problem, "a.cnf") != NULL,
          "cnf: cycle named, got '%s'", c.problem);
    CHECK(c.unusable && !c.pqtls_active && c.files == 2,
          "cnf: a cycle: each file read once, and OpenSSL ignores it all");
    write_file("self.cnf", INIT PROVIDERS ".include self.cnf\n");
    c = eval("self.cnf");
    CHECK(strstr(c.problem, "include cycle") != NULL && c.unusable && !c.pqtls_active,
          "cnf: self include");

    /* A directory: its .cnf and .conf files in name order, others not. */
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/conf.d", tmp);
    mkdir(dir, 0755);
    write_file("conf.d/10-init.cnf", INIT);
    write_file("conf.d/20-providers.conf", PROVIDERS);
    write_file("conf.d/30-off.txt", "[pqtls_sect]\nactivate = 0\n");
    write_file("dir.cnf", ".include conf.d\n");
    c = eval("dir.cnf");
    CHECK(c.pqtls_active && c.files == 3, "cnf: directory include (files %u)", c.files);
    /* activate = 0 after the include: the later value wins. */
    write_file("off.cnf", ".include conf.d\n[pqtls_sect]\nactivate = 0\n");
    c = eval("off.cnf");
    CHECK(c.pqtls_listed && !c.pqtls_active && c.pqtls_active_any,
          "cnf: activate = 0 (3.2+: off; 3.0: on)");
    /* Naming a provider turns off the implicit default. */
    write_file("nodefault.cnf", INIT "[provider_sect]\npqtls = p\n[p]\nactivate = 1\n");
    c = eval("nodefault.cnf");
    CHECK(c.pqtls_active && !c.default_active, "cnf: pqtls by name, default not listed");
    /* A missing include is a problem; a missing file is not read. */
    write_file("missing.cnf", ".include nowhere.cnf\n" INIT PROVIDERS);
    c = eval("missing.cnf");
    CHECK(c.pqtls_active && strstr(c.problem, "nowhere.cnf") != NULL, "cnf: missing include");
    c = eval("does-not-exist.cnf");
    CHECK(!c.read && !c.pqtls_active, "cnf: unreadable file");
    /* Quotes, comments, continuation lines. */
    write_file("quotes.cnf",
               "openssl_conf = \"in it\" # comment\n[ in it ]\nproviders = pro\\\n"
               "v_s\n[prov_s]\nmine = m\n[m]\nmodule = '/x/pqtls.so'\nactivate = yes\n");
    c = eval("quotes.cnf");
    CHECK(c.pqtls_active && strcmp(c.pqtls_module, "/x/pqtls.so") == 0,
          "cnf: quotes and continuation ('%s')", c.pqtls_module);
}

/* ---- executables ---- */

static void test_versions(void)
{
    pqt_host_versions v;
    memset(&v, 0, sizeof(v));
    static const char text[] = "x OpenSSL 1.0 OpenSSL 3.0.19 27 Jan 2026\0LibreSSL 3.8.2 \0";
    pqt_host_versions_scan((const uint8_t *)text, sizeof(text), &v);
    CHECK(strcmp(v.openssl, "OpenSSL 3.0.19") == 0, "versions: '%s'", v.openssl);
    CHECK(v.libressl[0] == '\0', "versions: LibreSSL without a date is no version");
    memset(&v, 0, sizeof(v));
    static const char old[] = "OpenSSL 1.1.1w  11 Sep 2023";
    pqt_host_versions_scan((const uint8_t *)old, sizeof(old) - 1, &v);
    CHECK(strcmp(v.openssl, "OpenSSL 1.1.1w") == 0, "versions: 1.1.1w ('%s')", v.openssl);

    /* A version string across the 1 MiB chunk boundary of the file reader. */
    char path[512];
    snprintf(path, sizeof(path), "%s/big.bin", tmp);
    FILE *f = fopen(path, "wb");
    const size_t at = (1u << 20) - 7;
    for (size_t i = 0; i < at; i++) {
        fputc('a', f);
    }
    fputs("OpenSSL 3.2.1 30 Jan 2024", f);
    fclose(f);
    memset(&v, 0, sizeof(v));
    CHECK(pqt_host_versions_file(path, 1u << 24, &v) == 0 &&
              strcmp(v.openssl, "OpenSSL 3.2.1") == 0,
          "versions: across the chunk boundary ('%s')", v.openssl);
    memset(&v, 0, sizeof(v));
    CHECK(pqt_host_versions_file(path, 4096, &v) == 0 && v.openssl[0] == '\0',
          "versions: the byte bound is kept");

    /* The Go build information, through the ELF section headers. */
    snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/fuzz_host_binary/go_elf", src_dir);
    memset(&v, 0, sizeof(v));
    CHECK(pqt_host_versions_file(path, 1u << 20, &v) == 0 && v.go_seen &&
              strcmp(v.go, "go1.22.5") == 0,
          "versions: Go build info ('%s')", v.go);
}

/* ---- a real process through /proc ---- */

static void test_proc(void)
{
    char conf[512], env[600];
    snprintf(conf, sizeof(conf), "%s/pq.cnf", tmp);
    snprintf(env, sizeof(env), "OPENSSL_CONF=%s", conf);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"sleep", "30", NULL};
        char *envp[] = {env, "PATH=/usr/bin:/bin", NULL};
        execve("/bin/sleep", argv, envp);
        _exit(127);
    }
    usleep(200 * 1000);
    pqt_host_proc p;
    int ret = pqt_host_proc_read("/proc", pid, "/nonexistent/openssl.cnf", &p);
    CHECK(ret == 0, "proc: read child %d: %d", (int)pid, ret);
    CHECK(p.ppid == getpid() && strcmp(p.comm, "sleep") == 0, "proc: comm '%s' ppid %d", p.comm,
          p.ppid);
    CHECK(strstr(p.exe, "sleep") != NULL, "proc: exe '%s'", p.exe);
    CHECK(strcmp(p.cmdline, "sleep 30") == 0, "proc: cmdline '%s'", p.cmdline);
    CHECK(p.maps_read && p.env_read && p.has_conf && strcmp(p.conf, conf) == 0,
          "proc: OPENSSL_CONF '%s'", p.conf);
    CHECK(p.cnf.read && p.cnf.pqtls_active, "proc: the child's config loads pqtls");
    CHECK((p.libs & (1u << PQT_HOST_LIB_LIBSSL3)) == 0 && p.provider[0] == '\0',
          "proc: sleep maps no libssl");
    int kids[8];
    size_t nk = 0;
    CHECK(pqt_host_children("/proc", getpid(), kids, 8, &nk) == 0 && nk >= 1 && kids[0] > 0,
          "proc: children of the test");
    int found = 0;
    for (size_t i = 0; i < nk; i++) {
        found |= kids[i] == pid;
    }
    CHECK(found, "proc: the child is listed");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK(pqt_host_proc_read("/proc", pid, NULL, &p) == PQT_ERR_IO, "proc: gone process");
}

/* ---- verdicts ---- */

static pqt_host_proc proc(int pid, const char *comm, const char *exe, unsigned libs)
{
    pqt_host_proc p;
    memset(&p, 0, sizeof(p));
    p.pid = pid;
    p.ppid = 1;
    snprintf(p.comm, sizeof(p.comm), "%s", comm);
    snprintf(p.exe, sizeof(p.exe), "%s", exe);
    p.maps_read = 1;
    p.env_read = 1;
    p.libs = libs;
    if (libs & (1u << PQT_HOST_LIB_LIBSSL3)) {
        snprintf(p.libssl, sizeof(p.libssl), "/usr/lib/x86_64-linux-gnu/libssl.so.3");
        snprintf(p.tls_version, sizeof(p.tls_version), "OpenSSL 3.0.19");
    }
    if (libs & (1u << PQT_HOST_LIB_GNUTLS)) {
        snprintf(p.libssl, sizeof(p.libssl), "/usr/lib/x86_64-linux-gnu/libgnutls.so.30");
    }
    if (libs & (1u << PQT_HOST_LIB_PQTLS)) {
        snprintf(p.provider, sizeof(p.provider), "/x/pqtls.so");
    }
    return p;
}

#define SSL3 (1u << PQT_HOST_LIB_LIBSSL3)
#define PQ (1u << PQT_HOST_LIB_PQTLS)

static int judge(const pqt_host_proc *a, const pqt_host_proc *b, const pqt_host_probe *pr,
                 pqt_host_verdict *v)
{
    const pqt_host_proc *procs[2] = {a, b};
    pqt_host_judge(procs, b != NULL ? 2 : 1, pr, v);
    return v->verdict;
}

static void test_verdict(void)
{
    pqt_host_verdict v;
    pqt_host_probe hybrid = {.ran = 1, .tls = 1, .hybrid = 1, .group = 0x11ec, .version = 0x0304};
    pqt_host_probe x25519 = {.ran = 1, .tls = 1, .group = 0x001d, .version = 0x0304};
    pqt_host_probe tls12 = {.ran = 1, .tls = 1, .group = 0x001d, .version = 0x0303};
    pqt_host_probe failed = {.ran = 1, .what = "IMAPS: closed"};
    pqt_host_probe plain = {.ran = 1, .plaintext = 1, .what = "SSH banner"};
    pqt_host_probe none = {.ran = 0};

    pqt_host_proc ng = proc(10, "nginx", "/usr/sbin/nginx", SSL3 | PQ);
    CHECK(judge(&ng, NULL, &hybrid, &v) == PQT_VERDICT_HYBRID && v.fix[0] == '\0',
          "verdict: hybrid (%s)", v.why);
    CHECK(judge(&ng, NULL, &x25519, &v) == PQT_VERDICT_GROUP_NOT_CONFIGURED &&
              strstr(v.fix, "ssl_ecdh_curve") != NULL,
          "verdict: nginx group (%s)", v.fix);
    CHECK(judge(&ng, NULL, &tls12, &v) == PQT_VERDICT_GROUP_NOT_CONFIGURED &&
              strstr(v.fix, "ssl_protocols") != NULL,
          "verdict: nginx TLS 1.2 (%s)", v.fix);
    CHECK(judge(&ng, NULL, &none, &v) == PQT_VERDICT_UNKNOWN, "verdict: pqtls, no probe");

    pqt_host_proc plain_ng = proc(11, "nginx", "/usr/sbin/nginx", SSL3);
    CHECK(judge(&plain_ng, NULL, &x25519, &v) == PQT_VERDICT_PROVIDER_NOT_LOADED &&
              strstr(v.fix, "Environment=OPENSSL_CONF") != NULL &&
              strstr(v.why, "OPENSSL_CONF not set") != NULL,
          "verdict: nginx without OPENSSL_CONF (%s)", v.why);
    CHECK(judge(&plain_ng, NULL, &none, &v) == PQT_VERDICT_PROVIDER_NOT_LOADED,
          "verdict: provider-not-loaded needs no probe");
    plain_ng.has_conf = 1;
    plain_ng.cnf.read = 1;
    plain_ng.cnf.init = 1;
    snprintf(plain_ng.conf, sizeof(plain_ng.conf), "/etc/ssl/other.cnf");
    CHECK(judge(&plain_ng, NULL, &x25519, &v) == PQT_VERDICT_PROVIDER_NOT_LOADED &&
              strstr(v.why, "does not list pqtls") != NULL,
          "verdict: a file without pqtls (%s)", v.why);
    plain_ng.cnf.pqtls_listed = plain_ng.cnf.pqtls_active = 1;
    CHECK(judge(&plain_ng, NULL, &x25519, &v) == PQT_VERDICT_PROVIDER_NOT_LOADED &&
              strstr(v.why, "restart") != NULL,
          "verdict: loads pqtls but not mapped (%s)", v.why);

    /* Dovecot: the master has OPENSSL_CONF, the login process not. */
    pqt_host_proc master = proc(20, "dovecot", "/usr/sbin/dovecot", 0);
    master.has_conf = 1;
    snprintf(master.conf, sizeof(master.conf), "/etc/ssl/openssl-pqtls.cnf");
    pqt_host_proc login = proc(21, "imap-login", "/usr/lib/dovecot/imap-login", SSL3);
    login.ppid = 20;
    CHECK(judge(&master, &login, &failed, &v) == PQT_VERDICT_PROVIDER_NOT_LOADED &&
              strstr(v.why, "drops its environment") != NULL &&
              strstr(v.fix, "import_environment") != NULL,
          "verdict: dovecot drops OPENSSL_CONF (%s / %s)", v.why, v.fix);
    /* No login process seen and nothing to compare: not "not-tls". */
    pqt_host_proc bare = proc(23, "dovecot", "/usr/sbin/dovecot", 0);
    CHECK(judge(&bare, NULL, &failed, &v) == PQT_VERDICT_UNKNOWN &&
              strstr(v.why, "per-connection") != NULL,
          "verdict: dovecot without its login process seen (%s)", v.why);
    /* The login process gone: the children's environment tells. */
    pqt_host_proc anvil = proc(22, "anvil", "/usr/lib/dovecot/anvil", 0);
    CHECK(judge(&master, &anvil, &failed, &v) == PQT_VERDICT_PROVIDER_NOT_LOADED &&
              strstr(v.fix, "import_environment") != NULL,
          "verdict: dovecot, only its children seen (%s)", v.why);

    /* Which Postfix child serves which listener: its "-n NAME". */
    pqt_host_proc pfa = proc(31, "smtpd", "/usr/lib/postfix/sbin/smtpd", SSL3);
    snprintf(pfa.cmdline, sizeof(pfa.cmdline), "smtpd -n 127.0.0.1:2525 -t inet -u -o a=b");
    CHECK(pqt_host_serves_port(&pfa, 2525) == 1 && pqt_host_serves_port(&pfa, 25) == 0,
          "serves: -n 127.0.0.1:2525");
    snprintf(pfa.cmdline, sizeof(pfa.cmdline), "smtpd -n submission -t inet");
    CHECK(pqt_host_serves_port(&pfa, 587) == 1 && pqt_host_serves_port(&pfa, 25) == 0,
          "serves: -n submission");
    snprintf(pfa.cmdline, sizeof(pfa.cmdline), "smtpd -n mysvc -t inet");
    CHECK(pqt_host_serves_port(&pfa, 25) == -1, "serves: an unknown name");
    CHECK(pqt_host_serves_port(&ng, 443) == -1, "serves: not Postfix");

    pqt_host_proc pf = proc(30, "smtpd", "/usr/lib/postfix/sbin/smtpd", SSL3);
    CHECK(judge(&pf, NULL, &x25519, &v) == PQT_VERDICT_PROVIDER_NOT_LOADED &&
              strstr(v.fix, "tls_config_file") != NULL,
          "verdict: postfix (%s)", v.fix);

    pqt_host_proc pg = proc(40, "postgres", "/usr/lib/postgresql/15/bin/postgres", SSL3 | PQ);
    pqt_host_probe p256 = {.ran = 1, .tls = 1, .group = 0x0017, .version = 0x0304};
    CHECK(judge(&pg, NULL, &p256, &v) == PQT_VERDICT_LIBRARY_CANNOT &&
              strstr(v.why, "ssl_ecdh_curve") != NULL && strstr(v.fix, "18") != NULL,
          "verdict: PostgreSQL 15 (%s)", v.why);
    pqt_host_proc pg18 = proc(41, "postgres", "/usr/lib/postgresql/18/bin/postgres", SSL3 | PQ);
    CHECK(judge(&pg18, NULL, &p256, &v) == PQT_VERDICT_GROUP_NOT_CONFIGURED,
          "verdict: PostgreSQL 18 can");

    pqt_host_proc ld = proc(50, "slapd", "/usr/sbin/slapd", 1u << PQT_HOST_LIB_GNUTLS);
    CHECK(judge(&ld, NULL, &x25519, &v) == PQT_VERDICT_LIBRARY_CANNOT &&
              strstr(v.why, "GnuTLS") != NULL,
          "verdict: GnuTLS (%s)", v.why);
    CHECK(judge(&ld, NULL, &hybrid, &v) == PQT_VERDICT_HYBRID,
          "verdict: what negotiates hybrid is hybrid, whatever the library");
    pqt_host_proc old = proc(51, "svc", "/usr/bin/svc", 1u << PQT_HOST_LIB_LIBSSL11);
    CHECK(judge(&old, NULL, &x25519, &v) == PQT_VERDICT_LIBRARY_CANNOT, "verdict: OpenSSL 1.1");

    pqt_host_proc go = proc(60, "goapp", "/usr/bin/goapp", 0);
    go.exe_versions.go_seen = 1;
    snprintf(go.exe_versions.go, sizeof(go.exe_versions.go), "go1.22.5");
    CHECK(judge(&go, NULL, &x25519, &v) == PQT_VERDICT_LIBRARY_CANNOT, "verdict: Go 1.22");
    snprintf(go.exe_versions.go, sizeof(go.exe_versions.go), "go1.24.1");
    CHECK(judge(&go, NULL, &x25519, &v) == PQT_VERDICT_GROUP_NOT_CONFIGURED, "verdict: Go 1.24");
    pqt_host_proc st = proc(61, "app", "/usr/bin/app", 0);
    snprintf(st.exe_versions.openssl, sizeof(st.exe_versions.openssl), "OpenSSL 1.1.1w");
    CHECK(judge(&st, NULL, &x25519, &v) == PQT_VERDICT_LIBRARY_CANNOT,
          "verdict: static OpenSSL 1.1.1");

    pqt_host_proc sshd = proc(70, "sshd", "/usr/sbin/sshd", 0);
    CHECK(judge(&sshd, NULL, &plain, &v) == PQT_VERDICT_NOT_TLS, "verdict: plaintext");
    CHECK(judge(&sshd, NULL, &failed, &v) == PQT_VERDICT_NOT_TLS, "verdict: no TLS, no library");
    CHECK(judge(&sshd, NULL, &none, &v) == PQT_VERDICT_UNKNOWN, "verdict: nothing known");
    sshd.maps_read = 0;
    CHECK(judge(&sshd, NULL, &failed, &v) == PQT_VERDICT_UNKNOWN && strstr(v.why, "root") != NULL,
          "verdict: maps unreadable is not not-tls (%s)", v.why);
    pqt_host_judge(NULL, 0, &x25519, &v);
    CHECK(v.verdict == PQT_VERDICT_UNKNOWN && strstr(v.why, "run as root") != NULL,
          "verdict: no process (%s)", v.why);
    pqt_host_judge(NULL, 0, &hybrid, &v);
    CHECK(v.verdict == PQT_VERDICT_HYBRID, "verdict: no process, but hybrid negotiated");
    pqt_host_judge(NULL, 0, &plain, &v);
    CHECK(v.verdict == PQT_VERDICT_NOT_TLS, "verdict: no process, plaintext");
    for (int i = 0; i < PQT_VERDICT_COUNT; i++) {
        CHECK(pqt_verdict_name(i) != NULL, "verdict name %d", i);
    }
    CHECK(pqt_verdict_name(PQT_VERDICT_COUNT) == NULL, "verdict name out of range");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_host SOURCE_DIR\n");
        return 2;
    }
    src_dir = argv[1];
    snprintf(tmp, sizeof(tmp), "%s/pqtls-doctor-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmp) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_maps();
    test_tcp();
    test_environ();
    test_cnf();
    test_versions();
    test_proc();
    test_verdict();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", tmp);
    }
    printf("doctor.host: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
