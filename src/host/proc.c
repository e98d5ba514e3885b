/*
 * /proc: the listening sockets, the processes that hold them, and per
 * process its executable, mapped TLS libraries, environment and OpenSSL
 * configuration. Nothing here needs root for one's own processes; another
 * user's fd directory, environ and maps are readable only by root (or with
 * CAP_SYS_PTRACE), and what could not be read is said so in the result.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_internal.h"

#define MAPS_MAX (4u << 20)
#define ENVIRON_MAX (256u * 1024)
/* Bytes of an executable read for version strings (no TLS library mapped:
 * a static OpenSSL/BoringSSL or a Go program). */
#define EXE_SCAN_MAX (96ull << 20)
/* Bytes of a mapped libcrypto read for its version text. */
#define LIB_SCAN_MAX (16ull << 20)

int pqt_host_listeners(const char *net_dir, pqt_host_socket **out, size_t *n)
{
    static const char *const files[2] = {"tcp", "tcp6"};
    pqt_host_socket *arr = NULL;
    size_t cnt = 0, cap = 0;
    int any = 0;
    *out = NULL;
    *n = 0;
    for (int f = 0; f < 2; f++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", net_dir != NULL ? net_dir : "/proc/net", files[f]);
        uint8_t *data;
        size_t len;
        /* 64 MiB: a busy server's table of connections, listeners among them. */
        if (pqt_host_read_file(path, 64u << 20, &data, &len, NULL) != 0) {
            continue;
        }
        any = 1;
        pqt_reader r = pqt_reader_make(data, len);
        while (pqt_reader_left(&r) > 0) {
            const uint8_t *line = r.p;
            size_t ln = 0;
            while (pqt_reader_left(&r) > 0 && *r.p != '\n') {
                r.p++;
                ln++;
            }
            if (pqt_reader_left(&r) > 0) {
                r.p++;
            }
            pqt_host_socket s;
            if (pqt_host_tcp_line_parse(line, ln, &s) != 0 || !s.listening || s.inode == 0) {
                continue;
            }
            if (cnt == cap) {
                size_t ncap = cap ? cap * 2 : 32;
                pqt_host_socket *na = realloc(arr, ncap * sizeof(*na));
                if (na == NULL) {
                    free(arr);
                    free(data);
                    return PQT_ERR_NOMEM;
                }
                arr = na;
                cap = ncap;
            }
            arr[cnt++] = s;
        }
        free(data);
    }
    if (!any) {
        return PQT_ERR_IO;
    }
    *out = arr;
    *n = cnt;
    return 0;
}

static int all_digits(const char *s)
{
    if (*s == '\0') {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
    }
    return 1;
}

static int find_inode(const uint64_t *inodes, size_t n, uint64_t v, size_t *at)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (inodes[mid] == v) {
            *at = mid;
            return 1;
        }
        if (inodes[mid] < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

int pqt_host_socket_holders(const uint64_t *inodes, size_t n, pqt_host_holder_fn found, void *ctx,
                            unsigned *unreadable)
{
    DIR *proc = opendir("/proc");
    struct dirent *de;
    *unreadable = 0;
    if (proc == NULL) {
        return PQT_ERR_IO;
    }
    while ((de = readdir(proc)) != NULL) {
        if (!all_digits(de->d_name)) {
            continue;
        }
        int pid = atoi(de->d_name);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/fd", pid);
        DIR *fds = opendir(path);
        if (fds == NULL) {
            (*unreadable)++;
            continue;
        }
        struct dirent *fe;
        while ((fe = readdir(fds)) != NULL) {
            if (!all_digits(fe->d_name)) {
                continue;
            }
            char link[300], target[64];
            snprintf(link, sizeof(link), "/proc/%d/fd/%s", pid, fe->d_name);
            ssize_t tl = readlink(link, target, sizeof(target) - 1);
            if (tl <= 0) {
                continue;
            }
            target[tl] = '\0';
            /* "socket:[12345]" */
            if (strncmp(target, "socket:[", 8) != 0 || target[tl - 1] != ']') {
                continue;
            }
            target[tl - 1] = '\0';
            if (!all_digits(target + 8)) {
                continue;
            }
            size_t at;
            if (find_inode(inodes, n, strtoull(target + 8, NULL, 10), &at)) {
                found(ctx, pid, at);
            }
        }
        closedir(fds);
    }
    closedir(proc);
    return 0;
}

/* Files a process names are opened under its root, relative ones against
 * its working directory. */
typedef struct {
    char root[64]; /* "/proc/PID/root" */
    char cwd[64];  /* "/proc/PID/cwd" */
} proc_paths;

static void under_root(const proc_paths *pp, const char *path, char *out, size_t cap)
{
    if (path[0] == '/') {
        snprintf(out, cap, "%s%s", pp->root, path);
    } else {
        snprintf(out, cap, "%s/%s", pp->cwd, path);
    }
}

static int cnf_load(void *ctx, const char *path, int *is_dir, uint8_t **data, size_t *len)
{
    const proc_paths *pp = ctx;
    char full[PATH_MAX];
    struct stat st;
    under_root(pp, path, full, sizeof(full));
    *is_dir = 0;
    if (stat(full, &st) != 0) {
        return PQT_ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        return pqt_host_read_file(full, PQT_HOST_CNF_MAX_FILE_BYTES, data, len, NULL);
    }
    DIR *d = opendir(full);
    if (d == NULL) {
        return PQT_ERR_IO;
    }
    size_t cap = 1024, n = 0;
    uint8_t *buf = malloc(cap);
    struct dirent *de;
    if (buf == NULL) {
        closedir(d);
        return PQT_ERR_NOMEM;
    }
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n + l + 1 > cap) {
            if (cap > 64 * 1024) {
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                break;
            }
            buf = nb;
            cap *= 2;
            if (n + l + 1 > cap) {
                break;
            }
        }
        memcpy(buf + n, de->d_name, l + 1);
        n += l + 1;
    }
    closedir(d);
    *is_dir = 1;
    *data = buf;
    *len = n;
    return 0;
}

static void read_maps(const char *proc_root, int pid, pqt_host_proc *out, char *libcrypto,
                      size_t lc_cap)
{
    char path[PATH_MAX];
    uint8_t *data;
    size_t len;
    snprintf(path, sizeof(path), "%s/%d/maps", proc_root, pid);
    if (pqt_host_read_file(path, MAPS_MAX, &data, &len, NULL) != 0) {
        return;
    }
    out->maps_read = 1;
    pqt_reader r = pqt_reader_make(data, len);
    while (pqt_reader_left(&r) > 0) {
        const uint8_t *line = r.p;
        size_t ln = 0;
        while (pqt_reader_left(&r) > 0 && *r.p != '\n') {
            r.p++;
            ln++;
        }
        if (pqt_reader_left(&r) > 0) {
            r.p++;
        }
        pqt_host_map m;
        if (pqt_host_maps_line_parse(line, ln, &m) != 0 || m.path == NULL) {
            continue;
        }
        int lib = pqt_host_lib_classify(m.path, m.path_len);
        if (lib == PQT_HOST_LIB_NONE) {
            continue;
        }
        out->libs |= 1u << lib;
        switch (lib) {
        case PQT_HOST_LIB_PQTLS:
            pqt_host_copy(out->provider, sizeof(out->provider), m.path, m.path_len);
            break;
        case PQT_HOST_LIB_LIBCRYPTO3:
        case PQT_HOST_LIB_LIBCRYPTO11:
            pqt_host_copy(libcrypto, lc_cap, m.path, m.path_len);
            break;
        case PQT_HOST_LIB_JAVA:
        case PQT_HOST_LIB_SUNEC:
            break;
        default:
            if (out->libssl[0] == '\0') {
                pqt_host_copy(out->libssl, sizeof(out->libssl), m.path, m.path_len);
            }
            break;
        }
    }
    free(data);
}

/* The version text of a library file, remembered by device and inode:
 * every process of a host maps the same libcrypto, which is read once
 * instead of once per process (16 MiB at most each time). */
static struct {
    dev_t dev;
    ino_t ino;
    char version[48];
} version_cache[16];
static size_t version_cache_n;

static void lib_version(const char *full, const char *plain, char *out, size_t cap)
{
    struct stat st;
    const char *path = full;
    if (stat(path, &st) != 0) {
        path = plain; /* the process's root is not readable: the same path here */
        if (stat(path, &st) != 0) {
            return;
        }
    }
    for (size_t i = 0; i < version_cache_n; i++) {
        if (version_cache[i].dev == st.st_dev && version_cache[i].ino == st.st_ino) {
            pqt_host_copy(out, cap, (const uint8_t *)version_cache[i].version,
                          strlen(version_cache[i].version));
            return;
        }
    }
    pqt_host_versions v;
    memset(&v, 0, sizeof(v));
    if (pqt_host_versions_file(path, LIB_SCAN_MAX, &v) != 0) {
        return;
    }
    const char *text = v.openssl[0] != '\0' ? v.openssl : v.libressl;
    pqt_host_copy(out, cap, (const uint8_t *)text, strlen(text));
    size_t slot = version_cache_n < 16 ? version_cache_n++ : (size_t)(st.st_ino % 16);
    version_cache[slot].dev = st.st_dev;
    version_cache[slot].ino = st.st_ino;
    pqt_host_copy(version_cache[slot].version, sizeof(version_cache[slot].version),
                  (const uint8_t *)text, strlen(text));
}

int pqt_host_proc_read(const char *proc_root, int pid, const char *default_conf, pqt_host_proc *out)
{
    char path[PATH_MAX];
    char libcrypto[PQT_HOST_PATH_MAX] = "";
    uint8_t *data;
    size_t len;
    proc_paths pp;
    memset(out, 0, sizeof(*out));
    out->pid = pid;
    out->ppid = -1;

    /* stat: "pid (comm) state ppid ..."; comm may hold ')' and spaces, so
     * the last ')' ends it. */
    snprintf(path, sizeof(path), "%s/%d/stat", proc_root, pid);
    if (pqt_host_read_file(path, 4096, &data, &len, NULL) != 0) {
        return PQT_ERR_IO;
    }
    {
        const uint8_t *open = memchr(data, '(', len);
        const uint8_t *close = NULL;
        for (size_t i = len; i > 0; i--) {
            if (data[i - 1] == ')') {
                close = data + i - 1;
                break;
            }
        }
        if (open != NULL && close != NULL && close > open) {
            pqt_host_copy(out->comm, sizeof(out->comm), open + 1, (size_t)(close - open - 1));
            char state;
            int ppid;
            if (sscanf((const char *)close + 1, " %c %d", &state, &ppid) == 2) {
                out->ppid = ppid;
            }
        }
        free(data);
    }
    snprintf(path, sizeof(path), "%s/%d/exe", proc_root, pid);
    ssize_t el = readlink(path, out->exe, sizeof(out->exe) - 1);
    if (el > 0) {
        out->exe[el] = '\0';
        /* An executable replaced by an upgrade: "... (deleted)". */
        char *del = strstr(out->exe, " (deleted)");
        if (del != NULL && del[10] == '\0') {
            *del = '\0';
        }
    } else {
        out->exe[0] = '\0';
    }

    /* The arguments, NUL-separated; joined by spaces. */
    snprintf(path, sizeof(path), "%s/%d/cmdline", proc_root, pid);
    if (pqt_host_read_file(path, 4096, &data, &len, NULL) == 0) {
        for (size_t i = 0; i < len; i++) {
            if (data[i] == '\0') {
                data[i] = ' ';
            }
        }
        while (len > 0 && data[len - 1] == ' ') {
            len--;
        }
        pqt_host_copy(out->cmdline, sizeof(out->cmdline), data, len);
        free(data);
    }

    snprintf(pp.root, sizeof(pp.root), "%s/%d/root", proc_root, pid);
    snprintf(pp.cwd, sizeof(pp.cwd), "%s/%d/cwd", proc_root, pid);

    read_maps(proc_root, pid, out, libcrypto, sizeof(libcrypto));

    /* The libssl version: OPENSSL_VERSION_TEXT lives in libcrypto. Only
     * for OpenSSL's libssl: GnuTLS programs may map libcrypto for other
     * reasons (slapd does). */
    const unsigned openssl_libs = (1u << PQT_HOST_LIB_LIBSSL3) | (1u << PQT_HOST_LIB_LIBSSL11) |
                                  (1u << PQT_HOST_LIB_LIBSSL_OLD);
    if ((out->libs & openssl_libs) != 0) {
        char full[PATH_MAX];
        const char *lib = libcrypto[0] != '\0' ? libcrypto : out->libssl;
        snprintf(full, sizeof(full), "%s%s", pp.root, lib);
        lib_version(full, lib, out->tls_version, sizeof(out->tls_version));
    }
    /* No TLS library mapped: look inside the executable (static OpenSSL,
     * BoringSSL, Go). */
    unsigned tls_libs = out->libs & ~((1u << PQT_HOST_LIB_PQTLS) | (1u << PQT_HOST_LIB_NONE));
    if (tls_libs == 0 && out->maps_read) {
        snprintf(path, sizeof(path), "%s/%d/exe", proc_root, pid);
        int scanned = pqt_host_versions_file(path, EXE_SCAN_MAX, &out->exe_versions);
        (void)scanned; /* unreadable executable: nothing known */
    }

    snprintf(path, sizeof(path), "%s/%d/environ", proc_root, pid);
    if (pqt_host_read_file(path, ENVIRON_MAX, &data, &len, NULL) == 0) {
        const uint8_t *v;
        size_t vl;
        out->env_read = 1;
        if (pqt_host_environ_get(data, len, "OPENSSL_CONF", &v, &vl)) {
            out->has_conf = 1;
            pqt_host_copy(out->conf, sizeof(out->conf), v, vl);
        }
        free(data);
    }
    /* Without OPENSSL_CONF OpenSSL reads its default file; with an
     * unreadable environment nothing is known. */
    if (out->env_read && !out->has_conf && default_conf != NULL) {
        pqt_host_copy(out->conf, sizeof(out->conf), (const uint8_t *)default_conf,
                      strlen(default_conf));
    }
    if (out->conf[0] != '\0') {
        int ret = pqt_host_cnf_eval(out->conf, cnf_load, &pp, &out->cnf);
        if (ret != 0) {
            return ret;
        }
        /* OpenSSL 3.0 and 3.1 activate a provider whose section has an
         * activate line, whatever its value (tested on 3.0.19: activate = 0
         * loads pqtls); later versions read the value. */
        int maj, min;
        if (sscanf(out->tls_version, "OpenSSL %d.%d", &maj, &min) == 2 && maj == 3 && min < 2) {
            out->cnf.pqtls_active = out->cnf.pqtls_active_any;
        }
    }
    return 0;
}

int pqt_host_children(const char *proc_root, int pid, int *out, size_t cap, size_t *n)
{
    DIR *proc = opendir(proc_root);
    struct dirent *de;
    *n = 0;
    if (proc == NULL) {
        return PQT_ERR_IO;
    }
    while ((de = readdir(proc)) != NULL && *n < cap) {
        if (!all_digits(de->d_name)) {
            continue;
        }
        char path[PATH_MAX];
        uint8_t *data;
        size_t len;
        snprintf(path, sizeof(path), "%s/%s/stat", proc_root, de->d_name);
        if (pqt_host_read_file(path, 4096, &data, &len, NULL) != 0) {
            continue;
        }
        const uint8_t *close = NULL;
        for (size_t i = len; i > 0; i--) {
            if (data[i - 1] == ')') {
                close = data + i - 1;
                break;
            }
        }
        char state;
        int ppid;
        if (close != NULL && sscanf((const char *)close + 1, " %c %d", &state, &ppid) == 2 &&
            ppid == pid) {
            out[(*n)++] = atoi(de->d_name);
        }
        free(data);
    }
    closedir(proc);
    return 0;
}
