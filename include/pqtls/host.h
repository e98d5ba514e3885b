/*
 * pqtls doctor's view of the host (src/host/): what the kernel tells about
 * the processes that listen on TCP, read from /proc without root for one's
 * own processes (with root for all), and the verdict per service.
 *
 *   listeners  /proc/net/tcp and tcp6 LISTEN sockets, and which processes
 *              hold each socket (/proc/PID/fd)
 *   processes  executable, the TLS libraries mapped (/proc/PID/maps), the
 *              libssl version (from the mapped libcrypto's version string),
 *              whether pqtls.so is mapped, OPENSSL_CONF (/proc/PID/environ)
 *              and whether that file loads pqtls
 *   files      the OpenSSL configuration (.include followed, providers,
 *              activate), version strings and the Go build information of
 *              an ELF executable, all read with a bound on the bytes read
 *   verdict    per service, from the processes and the active check: hybrid,
 *              provider loaded but group not configured, provider not
 *              loaded (with the setting that fixes it), the library cannot,
 *              not TLS, unknown
 *
 * Every parser of bytes a process or file gives (maps lines, /proc/net/tcp
 * lines, environ, openssl.cnf, executables) reads through pqt_reader and
 * has a fuzz target (tests/fuzz/fuzz_host_*.c).
 */
#ifndef PQTLS_HOST_H
#define PQTLS_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- /proc/net/tcp ------------------------------------------------------- */

typedef struct {
    uint64_t inode;
    uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
    int v6;
    uint16_t port;
    int listening; /* state 0A (TCP_LISTEN) */
} pqt_host_socket;

/* One line of /proc/net/tcp or tcp6 (the header line gives PQT_ERR_SYNTAX):
 * "  0: 0100007F:1F90 00000000:0000 0A ... uid timeout inode ...". */
PQT_API PQT_MUST_CHECK int pqt_host_tcp_line_parse(const uint8_t *line, size_t len,
                                                   pqt_host_socket *out);

/* Every LISTEN socket of /proc/net/tcp and /proc/net/tcp6 (root: the file
 * names; NULL for "/proc/net"): a malloc'd array (free it). 0 or
 * PQT_ERR_IO / PQT_ERR_NOMEM. */
PQT_API PQT_MUST_CHECK int pqt_host_listeners(const char *net_dir, pqt_host_socket **out,
                                              size_t *n);

/* The processes holding any of the n socket inodes (sorted ascending):
 * calls found(ctx, pid, index) for each (pid, socket) pair. Processes whose
 * fd directory cannot be read (another user's, without root) are skipped
 * and counted in *unreadable. 0 or PQT_ERR_IO (no /proc). */
typedef void (*pqt_host_holder_fn)(void *ctx, int pid, size_t index);
PQT_API PQT_MUST_CHECK int pqt_host_socket_holders(const uint64_t *inodes, size_t n,
                                                   pqt_host_holder_fn found, void *ctx,
                                                   unsigned *unreadable);

/* ---- /proc/PID/maps and TLS libraries ------------------------------------ */

typedef struct {
    uint64_t start, end, offset, inode;
    char perms[5];
    const uint8_t *path; /* into the line; NULL for an anonymous mapping */
    size_t path_len;     /* without a trailing " (deleted)" */
    int deleted;
} pqt_host_map;

/* One line of /proc/PID/maps (no newline). 0 or PQT_ERR_SYNTAX. */
PQT_API PQT_MUST_CHECK int pqt_host_maps_line_parse(const uint8_t *line, size_t len,
                                                    pqt_host_map *out);

typedef enum {
    PQT_HOST_LIB_NONE = 0,
    PQT_HOST_LIB_LIBSSL3,     /* libssl.so.3: OpenSSL 3 */
    PQT_HOST_LIB_LIBSSL11,    /* libssl.so.1.1 */
    PQT_HOST_LIB_LIBSSL_OLD,  /* libssl.so.1.0.x, .10, ... */
    PQT_HOST_LIB_LIBCRYPTO3,  /* libcrypto.so.3 (holds the version string) */
    PQT_HOST_LIB_LIBCRYPTO11, /* libcrypto.so.1.1 */
    PQT_HOST_LIB_GNUTLS,      /* libgnutls.so.30 */
    PQT_HOST_LIB_NSS,         /* libnss3.so / libssl3.so (NSS) */
    PQT_HOST_LIB_JAVA,        /* libjava.so: a JVM, TLS by JSSE */
    PQT_HOST_LIB_SUNEC,       /* libsunec.so: JSSE's native EC (JDK 8-14) */
    PQT_HOST_LIB_WOLFSSL,     /* libwolfssl.so */
    PQT_HOST_LIB_MBEDTLS,     /* libmbedtls.so */
    PQT_HOST_LIB_PQTLS,       /* pqtls.so, the provider */
    PQT_HOST_LIB_COUNT
} pqt_host_lib;

/* The library a mapped file is, by its file name; PQT_HOST_LIB_NONE if none. */
PQT_API int pqt_host_lib_classify(const uint8_t *path, size_t len);
/* "libssl.so.3", "GnuTLS", ...; NULL out of range. */
PQT_API const char *pqt_host_lib_name(int lib);

/* ---- version strings and Go build information ---------------------------- */

typedef struct {
    char openssl[40];  /* "OpenSSL 3.0.19" (the first "OpenSSL X.Y.Z <date>" seen), "" */
    char libressl[40]; /* "LibreSSL 3.8.2", "" */
    int boringssl;     /* "BoringSSL" seen */
    char go[40];       /* "go1.22.5" from the Go build information, "" */
    int go_seen;       /* a Go build information header was found */
} pqt_host_versions;

/* Look for version strings in bytes (one buffer; files are read in chunks
 * that overlap by PQT_HOST_VERSION_OVERLAP bytes). Found facts are added to
 * v (first one wins). */
#define PQT_HOST_VERSION_OVERLAP 64
PQT_API void pqt_host_versions_scan(const uint8_t *p, size_t n, pqt_host_versions *v);

/* The Go build information of an ELF image: the section .go.buildinfo,
 * found through the section headers, with the inline version string of Go
 * 1.18 and later. read(ctx, offset, buf, n) fills buf with n bytes at
 * offset and returns 0 or a negative error (files: pread; fuzzing: memory).
 * 0 with v->go / v->go_seen set, PQT_ERR_UNSUPPORTED when the image is not
 * a 64-bit little-endian ELF or has no such section, PQT_ERR_TRUNCATED or
 * PQT_ERR_SYNTAX for a malformed one. At most 4096 section headers and 64
 * KiB of section names are read. */
typedef int (*pqt_host_read_fn)(void *ctx, uint64_t offset, uint8_t *buf, size_t n);
PQT_API PQT_MUST_CHECK int pqt_host_elf_go_version(pqt_host_read_fn read, void *ctx, uint64_t size,
                                                   pqt_host_versions *v);

/* A file scanned for version strings, reading at most max_bytes (chunks of
 * 1 MiB), then its Go build information if it is an ELF executable. 0 or
 * PQT_ERR_IO. */
PQT_API PQT_MUST_CHECK int pqt_host_versions_file(const char *path, uint64_t max_bytes,
                                                  pqt_host_versions *v);

/* ---- /proc/PID/environ ---------------------------------------------------- */

/* The value of NAME in an environ block ("K=V\0K=V\0..."): 1 and *value,
 * *value_len pointing into the block, or 0 if absent. */
PQT_API int pqt_host_environ_get(const uint8_t *env, size_t len, const char *name,
                                 const uint8_t **value, size_t *value_len);

/* ---- openssl.cnf ----------------------------------------------------------- */

/*
 * What an OpenSSL configuration does about providers, as OpenSSL 3 reads
 * it: the default section's openssl_conf names the init section, whose
 * "providers" names the provider list; each entry there names a section
 * with module and activate. .include (a file, or a directory: its files ending .cnf and
 * .conf) is followed and its lines are read as if they stood in the
 * including file, so an included file's last section stays open after it
 * (docs/deploy.md: the Debian pitfall). Repeated sections add to each other.
 */
#define PQT_HOST_CNF_MAX_FILES 32
#define PQT_HOST_CNF_MAX_DEPTH 32
#define PQT_HOST_CNF_MAX_FILE_BYTES (1u << 20)

typedef struct {
    int read;               /* the file itself could be read */
    int init;               /* openssl_conf names an init section that exists */
    int providers_listed;   /* the init section has "providers" */
    int pqtls_listed;       /* a provider entry is pqtls (its name or module pqtls.so) */
    int pqtls_active;       /* ... and activated: activate = a true value (OpenSSL 3.2+) */
    int pqtls_active_any;   /* ... any activate line at all (what OpenSSL 3.0 and 3.1 do) */
    int unusable;           /* OpenSSL would ignore the whole file (an include cycle) */
    int default_active;     /* "default" is listed and activated (or no providers section) */
    char pqtls_module[256]; /* module = of the pqtls entry, "" */
    char groups[256];       /* Groups of ssl_conf's system_default, "" */
    unsigned files;         /* files read, includes counted */
    char problem[200];      /* the first problem met, "" (include cycle, unreadable include) */
} pqt_host_cnf;

/*
 * Load one file or list one directory for the parser. path is as written
 * in the configuration (or the top file); the callback resolves it (the
 * doctor: against the process's root and working directory). For a file:
 * *is_dir = 0, *data and *len its bytes (malloc'd, at most
 * PQT_HOST_CNF_MAX_FILE_BYTES). For a directory: *is_dir = 1, *data a
 * malloc'd block of NUL-terminated entry names. Returns 0 or a negative
 * error (the file cannot be read).
 */
typedef int (*pqt_host_cnf_load_fn)(void *ctx, const char *path, int *is_dir, uint8_t **data,
                                    size_t *len);

/* Read the configuration starting at path; *out describes it. Returns 0
 * (also when files are missing: out->read, out->problem say so) or
 * PQT_ERR_NOMEM. */
PQT_API PQT_MUST_CHECK int pqt_host_cnf_eval(const char *path, pqt_host_cnf_load_fn load, void *ctx,
                                             pqt_host_cnf *out);

/* ---- processes ------------------------------------------------------------- */

#define PQT_HOST_PATH_MAX 256

typedef struct {
    int pid, ppid;
    char comm[32];                    /* /proc/PID/comm */
    char exe[PQT_HOST_PATH_MAX];      /* /proc/PID/exe, "" if unreadable */
    char cmdline[PQT_HOST_PATH_MAX];  /* /proc/PID/cmdline, the arguments joined by spaces */
    int maps_read;                    /* /proc/PID/maps could be read */
    unsigned libs;                    /* bit (1u << pqt_host_lib) per library mapped */
    char libssl[PQT_HOST_PATH_MAX];   /* path of the mapped libssl (or GnuTLS, NSS) */
    char tls_version[48];             /* "OpenSSL 3.0.19", "" if not known */
    char provider[PQT_HOST_PATH_MAX]; /* mapped pqtls.so, "" */
    pqt_host_versions exe_versions; /* version strings in the executable (no TLS library mapped) */
    int env_read;                   /* /proc/PID/environ could be read */
    int has_conf;                   /* OPENSSL_CONF is set */
    char conf[PQT_HOST_PATH_MAX];   /* its value, or the default path when unset */
    pqt_host_cnf cnf;               /* what that file does */
} pqt_host_proc;

/* Everything about one process. default_conf is the configuration OpenSSL
 * reads without OPENSSL_CONF ("/usr/lib/ssl/openssl.cnf" on Debian: the
 * OPENSSLDIR of the system libcrypto). proc_root: "/proc" or a test's copy.
 * Files named by the process are opened under its root (/proc/PID/root),
 * relative ones against its working directory. Returns 0, or PQT_ERR_IO
 * when the process is gone. Not thread-safe: the version of a library file
 * is remembered (by device and inode) for the next process that maps it. */
PQT_API PQT_MUST_CHECK int pqt_host_proc_read(const char *proc_root, int pid,
                                              const char *default_conf, pqt_host_proc *out);

/* The children of pid (processes whose parent it is), at most cap of them
 * in *n. 0 or PQT_ERR_IO. */
PQT_API PQT_MUST_CHECK int pqt_host_children(const char *proc_root, int pid, int *out, size_t cap,
                                             size_t *n);

/* ---- verdict ---------------------------------------------------------------- */

typedef enum {
    PQT_VERDICT_HYBRID = 0,
    PQT_VERDICT_GROUP_NOT_CONFIGURED,
    PQT_VERDICT_PROVIDER_NOT_LOADED,
    PQT_VERDICT_LIBRARY_CANNOT,
    PQT_VERDICT_NOT_TLS,
    PQT_VERDICT_UNKNOWN,
    PQT_VERDICT_COUNT
} pqt_verdict;

/* "hybrid", "provider-loaded-group-not-configured", "provider-not-loaded",
 * "library-cannot", "not-tls", "unknown". */
PQT_API const char *pqt_verdict_name(int v);

/* What the active check of a port found. */
typedef struct {
    int ran;          /* 0: no check (--no-probe) */
    int tls;          /* some probe got a ServerHello (or HRR) */
    int hybrid;       /* a hybrid group was negotiated when offered */
    uint16_t group;   /* the group negotiated by the browser-like probe, 0 if none */
    uint16_t version; /* the version it negotiated (0x0303 TLS 1.2), 0 if none */
    int plaintext;    /* a plaintext service: banner without STARTTLS, or STARTTLS refused */
    const char *what; /* short account ("STARTTLS imap: closed_in_dialogue"), or NULL */
} pqt_host_probe;

#define PQT_VERDICT_TEXT_MAX 400

typedef struct {
    int verdict;                    /* pqt_verdict */
    char why[PQT_VERDICT_TEXT_MAX]; /* the evidence */
    char fix[PQT_VERDICT_TEXT_MAX]; /* the setting that fixes it, "" */
    const pqt_host_proc *tls_proc;  /* the process that does TLS, as judged; NULL */
} pqt_host_verdict;

/* The verdict for one listening socket, from the processes holding it
 * (the first is the listener's owner, children after it) and the check. */
PQT_API void pqt_host_judge(const pqt_host_proc *const *procs, size_t n,
                            const pqt_host_probe *probe, pqt_host_verdict *out);

/* Whether a process serves the listening port: 1 yes, 0 it serves another
 * (a Postfix child holds every listener of its master, and its "-n NAME"
 * argument says which service it runs: "127.0.0.1:2525", "smtp"), -1 not
 * known (every other process). */
PQT_API int pqt_host_serves_port(const pqt_host_proc *p, unsigned port);

/* The daemon a process is, from its executable and name: "nginx",
 * "dovecot", "postfix", "postgres", "apache2", "haproxy", "mariadb",
 * "slapd", or NULL. */
PQT_API const char *pqt_host_daemon(const pqt_host_proc *p);

#ifdef __cplusplus
}
#endif
#endif
