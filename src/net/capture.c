/*
 * Capture input. Classic pcap files are read by mapping them a window at a
 * time (the mmap reader below): libpcap's stdio reads cost a system call
 * per 4 KiB and a copy of every byte, which was a fifth of the observer's
 * time. Everything else goes through libpcap: pcapng, unusual pcap
 * variants, standard input, gzip-compressed files decompressed in-process
 * by zlib behind a stdio cookie stream (no child process), and live
 * interfaces with a BPF filter.
 */
#define _GNU_SOURCE /* fopencookie, MAP_POPULATE */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>
#include <zlib.h>

#include "pqtls/net.h"
#include "pqtls/wire.h"

/* The mmap reader: one window of the file mapped read-only at a time, so
 * that memory stays flat in the file size (mapped file pages count in the
 * resident set). */
typedef struct {
    int fd;
    uint64_t size; /* file size (re-read at the end: a growing file) */
    uint64_t pos;  /* offset of the next record header */
    const uint8_t *map;
    uint64_t map_off; /* file offset of map[0], a multiple of the page size */
    size_t map_len;   /* mapped bytes, never past the end of the file */
    size_t window, page;
    int swapped; /* the file's byte order is not ours */
    int nsec;    /* nanosecond timestamps (scaled down to microseconds) */
    int lengths; /* MM_LEN_*: caplen/len order of old versions */
    uint32_t snapshot;
    int linktype; /* DLT value, as pcap_datalink would say */
} mm_reader;

enum { MM_LEN_NORMAL = 0, MM_LEN_MAYBE_SWAPPED, MM_LEN_SWAPPED };

struct pqt_capture {
    pcap_t *pcap; /* NULL when the mmap reader is used */
    FILE *file;   /* the stream libpcap reads (closed by pcap_close) */
    int live;
    uint64_t dropped_base;
    mm_reader mm;
};

#define MM_WINDOW_DEFAULT ((size_t)4 << 20)
/* libpcap's max_snaplen_for_dlt for every link type the decoder supports
 * (MAXIMUM_SNAPLEN): larger records are corrupt. */
#define MM_MAX_SNAPLEN 262144u
#define MM_FILE_HDR 24
#define MM_REC_HDR 16

/* pcap-savefile(5) magic numbers, as read in the file's byte order. */
#define MM_MAGIC_US 0xa1b2c3d4u
#define MM_MAGIC_NS 0xa1b23c4du

static uint32_t mm_swap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

/* A 32-bit field in the file's byte order (little-endian load, then swap
 * when the magic said the writer had the other order). */
static uint32_t mm_u32(const mm_reader *m, const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return m->swapped ? mm_swap32(v) : v;
}

static uint16_t mm_u16(const mm_reader *m, const uint8_t *p)
{
    uint16_t v = (uint16_t)(p[0] | p[1] << 8);
    return m->swapped ? (uint16_t)(v >> 8 | v << 8) : v;
}

/*
 * Map [start, end) of the file (end <= m->size). The window starts at the
 * page holding start and covers at least m->window bytes when the file has
 * them. 0, or PQT_ERR_IO.
 */
static int mm_remap(mm_reader *m, uint64_t start, uint64_t end)
{
    if (m->map != NULL) {
        munmap((void *)(uintptr_t)m->map, m->map_len);
        m->map = NULL;
        m->map_len = 0;
    }
    uint64_t off = start - start % m->page;
    uint64_t len = end - off;
    if (len < m->window) {
        len = m->window;
    }
    if (len > m->size - off) {
        len = m->size - off;
    }
    if (len == 0) {
        m->map_off = off;
        return 0;
    }
    /* The pages are in the page cache after the first run: mapping them all
     * at once costs less than a fault per page. */
    void *p = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, m->fd, (off_t)off);
    if (p == MAP_FAILED) {
        return PQT_ERR_IO;
    }
    madvise(p, (size_t)len, MADV_SEQUENTIAL);
    m->map = p;
    m->map_off = off;
    m->map_len = (size_t)len;
    return 0;
}

static inline int mm_cover(mm_reader *m, uint64_t start, uint64_t end)
{
    if (m->map != NULL && start >= m->map_off && end <= m->map_off + m->map_len) {
        return 0;
    }
    return mm_remap(m, start, end);
}

/* A reader over the mapped bytes from file offset pos to the window's end
 * (the window never extends past the end of the file). */
static pqt_reader mm_reader_at(const mm_reader *m, uint64_t pos)
{
    return pqt_reader_make(m->map + (pos - m->map_off), (size_t)(m->map_off + m->map_len - pos));
}

/*
 * Decide from the file header whether the mmap reader can read this file
 * exactly as libpcap would. 1 with m set up, 0 for libpcap (pcapng, the
 * patched-header "Kuznetzov" magic, versions libpcap rejects, link types
 * the decoder does not know: libpcap then gives its usual answer), or
 * PQT_ERR_IO.
 */
static int mm_open(mm_reader *m, int fd, uint64_t size, size_t window)
{
    memset(m, 0, sizeof(*m));
    m->fd = fd;
    m->size = size;
    long page = sysconf(_SC_PAGESIZE);
    m->page = page > 0 ? (size_t)page : 4096;
    m->window = window != 0 ? window : MM_WINDOW_DEFAULT;
    if (m->window < m->page) {
        m->window = m->page;
    }
    if (size < MM_FILE_HDR) {
        return 0; /* libpcap reports the short header */
    }
    int ret = mm_cover(m, 0, MM_FILE_HDR);
    if (ret != 0) {
        return ret;
    }
    pqt_reader r = mm_reader_at(m, 0);
    const uint8_t *h;
    if (pqt_reader_bytes(&r, MM_FILE_HDR, &h) != 0) {
        return 0;
    }
    uint32_t magic = mm_u32(m, h);
    if (magic != MM_MAGIC_US && magic != MM_MAGIC_NS) {
        m->swapped = 1;
        magic = mm_u32(m, h);
        if (magic != MM_MAGIC_US && magic != MM_MAGIC_NS) {
            return 0;
        }
    }
    m->nsec = magic == MM_MAGIC_NS;
    /* pcap-savefile(5): version 2.4; libpcap also reads 2.0-2.3, where
     * caplen and len came in the other order (2.3: sometimes). */
    uint16_t major = mm_u16(m, h + 4), minor = mm_u16(m, h + 6);
    if (major != 2 || minor > 4) {
        return 0;
    }
    m->lengths = minor < 3 ? MM_LEN_SWAPPED : minor == 3 ? MM_LEN_MAYBE_SWAPPED : MM_LEN_NORMAL;
    uint32_t snaplen = mm_u32(m, h + 16);
    /* The low 26 bits are the link type (the rest: FCS length, ignored
     * here as by libpcap's pcap_datalink). */
    switch (mm_u32(m, h + 20) & 0x03FFFFFFu) {
    case PQT_LINK_NULL:
        m->linktype = PQT_LINK_NULL;
        break;
    case PQT_LINK_ETHERNET:
        m->linktype = PQT_LINK_ETHERNET;
        break;
    case PQT_LINK_RAW:
        m->linktype = DLT_RAW; /* libpcap maps LINKTYPE_RAW to the system's DLT_RAW */
        break;
    case PQT_LINK_LOOP:
        m->linktype = DLT_LOOP;
        break;
    case PQT_LINK_LINUX_SLL:
        m->linktype = PQT_LINK_LINUX_SLL;
        break;
    case PQT_LINK_IPV4:
        m->linktype = PQT_LINK_IPV4;
        break;
    case PQT_LINK_IPV6:
        m->linktype = PQT_LINK_IPV6;
        break;
    case PQT_LINK_LINUX_SLL2:
        m->linktype = PQT_LINK_LINUX_SLL2;
        break;
    default:
        return 0;
    }
    /* libpcap 1.10 (pcap_adjust_snapshot) replaces only a snaplen of 0 or
     * above INT_MAX; records above MM_MAX_SNAPLEN are refused anyway. */
    m->snapshot = snaplen == 0 || snaplen > 0x7FFFFFFFu ? MM_MAX_SNAPLEN : snaplen;
    m->pos = MM_FILE_HDR;
    return 1;
}

static void mm_close(mm_reader *m)
{
    if (m->map != NULL) {
        munmap((void *)(uintptr_t)m->map, m->map_len);
        m->map = NULL;
    }
    if (m->fd >= 0) {
        close(m->fd);
        m->fd = -1;
    }
}

/* pqt_capture_next for the mmap reader; the messages are libpcap's. */
static int mm_next(mm_reader *m, uint64_t *ts_us, const uint8_t **frame, size_t *caplen,
                   size_t *wirelen, char *errbuf, size_t errlen)
{
    if (m->size - m->pos < MM_REC_HDR) {
        struct stat st;
        if (fstat(m->fd, &st) == 0 && (uint64_t)st.st_size > m->size) {
            m->size = (uint64_t)st.st_size; /* written to while we read */
        }
    }
    uint64_t left = m->size - m->pos;
    if (left == 0) {
        return 0;
    }
    if (left < MM_REC_HDR) {
        snprintf(errbuf, errlen, "truncated dump file; tried to read %u header bytes, only got %u",
                 (unsigned)MM_REC_HDR, (unsigned)left);
        m->pos = m->size;
        return PQT_ERR_TRUNCATED;
    }
    if (mm_cover(m, m->pos, m->pos + MM_REC_HDR) != 0) {
        snprintf(errbuf, errlen, "error reading dump file: %s", strerror(errno));
        return PQT_ERR_IO;
    }
    pqt_reader r = mm_reader_at(m, m->pos);
    const uint8_t *h;
    if (pqt_reader_bytes(&r, MM_REC_HDR, &h) != 0) {
        return PQT_ERR_INTERNAL; /* mm_cover mapped them */
    }
    /* libpcap copies the fields of a file in our byte order as signed
     * 32-bit numbers, but byte-swaps the others into unsigned ones: the
     * same file in the two orders can give different times (seconds past
     * 2038 or negative). The result matches libpcap's either way. */
    int64_t sec, frac;
    if (m->swapped) {
        sec = mm_u32(m, h);
        frac = mm_u32(m, h + 4);
    } else {
        sec = (int32_t)mm_u32(m, h);
        frac = (int32_t)mm_u32(m, h + 4);
    }
    uint32_t cap = mm_u32(m, h + 8), len = mm_u32(m, h + 12);
    if (m->nsec) {
        frac /= 1000; /* as libpcap scales nanoseconds down (truncating) */
    }
    if (m->lengths == MM_LEN_SWAPPED || (m->lengths == MM_LEN_MAYBE_SWAPPED && cap > len)) {
        uint32_t t = cap;
        cap = len;
        len = t;
    }
    if (cap > MM_MAX_SNAPLEN) {
        if (cap > m->snapshot) {
            snprintf(errbuf, errlen, "invalid packet capture length %u, bigger than snaplen of %u",
                     (unsigned)cap, (unsigned)m->snapshot);
        } else {
            snprintf(errbuf, errlen, "invalid packet capture length %u, bigger than maximum of %u",
                     (unsigned)cap, MM_MAX_SNAPLEN);
        }
        return PQT_ERR_SYNTAX;
    }
    if (left - MM_REC_HDR < cap) {
        uint64_t got = left - MM_REC_HDR;
        unsigned want = cap;
        if (cap > m->snapshot && got < m->snapshot) {
            want = m->snapshot; /* libpcap reads the snapshot first */
        }
        snprintf(errbuf, errlen,
                 "truncated dump file; tried to read %u captured bytes, only got %u", want,
                 (unsigned)got);
        m->pos = m->size;
        return PQT_ERR_TRUNCATED;
    }
    if (mm_cover(m, m->pos, m->pos + MM_REC_HDR + cap) != 0) {
        snprintf(errbuf, errlen, "error reading dump file: %s", strerror(errno));
        return PQT_ERR_IO;
    }
    r = mm_reader_at(m, m->pos + MM_REC_HDR);
    const uint8_t *data;
    if (pqt_reader_bytes(&r, cap, &data) != 0) {
        return PQT_ERR_INTERNAL;
    }
    m->pos += MM_REC_HDR + (uint64_t)cap;
    /* A record above the snapshot length is cut to it, as libpcap does
     * (it reads the snapshot and discards the rest). */
    *caplen = cap > m->snapshot ? m->snapshot : cap;
    *wirelen = len;
    *frame = data;
    /* The same arithmetic as on libpcap's struct timeval (signed fields). */
    *ts_us = (uint64_t)(sec * 1000000) + (uint64_t)frac;
    return 1;
}

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
    if (size > (1u << 30)) {
        size = 1u << 30;
    }
    int n = gzread((gzFile)cookie, buf, (unsigned)size);
    return n < 0 ? -1 : n;
}

static int gz_close(void *cookie)
{
    return gzclose((gzFile)cookie) == Z_OK ? 0 : -1;
}

/* A stdio stream that yields the decompressed bytes of fd (zlib passes
 * data that is not gzip through unchanged). */
static FILE *gz_stream(int fd)
{
    gzFile gz = gzdopen(fd, "rb");
    if (gz == NULL) {
        return NULL;
    }
    gzbuffer(gz, 1u << 17);
    cookie_io_functions_t io = {.read = gz_read, .write = NULL, .seek = NULL, .close = gz_close};
    FILE *f = fopencookie(gz, "rb", io);
    if (f == NULL) {
        gzclose(gz);
    }
    return f;
}

int pqt_capture_open_file_opts(const char *path, const pqt_capture_opts *opts, pqt_capture **out,
                               char *errbuf, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    pqt_capture *c = NULL;
    FILE *f = NULL;
    int ret = PQT_ERR_IO;
    if (path == NULL || out == NULL || errbuf == NULL) {
        return PQT_ERR_ARG;
    }
    *out = NULL;
    errbuf[0] = 0;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return PQT_ERR_NOMEM;
    }
    c->mm.fd = -1;
    if (strcmp(path, "-") == 0) {
        int fd = dup(STDIN_FILENO);
        f = fd >= 0 ? gz_stream(fd) : NULL;
        if (f == NULL) {
            if (fd >= 0) {
                close(fd);
            }
            snprintf(errbuf, errlen, "cannot read standard input");
            goto cleanup;
        }
    } else {
        f = fopen(path, "rb");
        if (f == NULL) {
            snprintf(errbuf, errlen, "%s", strerror(errno));
            goto cleanup;
        }
        /* Before the first read, or glibc keeps its 4 KiB buffer (a read
         * system call per 4 KiB). */
        setvbuf(f, NULL, _IOFBF, 1u << 18);
        struct stat st;
        if ((opts == NULL || !(opts->flags & PQT_CAPTURE_LIBPCAP)) && fstat(fileno(f), &st) == 0 &&
            S_ISREG(st.st_mode)) {
            int fd = fcntl(fileno(f), F_DUPFD_CLOEXEC, 0);
            if (fd < 0) {
                snprintf(errbuf, errlen, "%s", strerror(errno));
                goto cleanup;
            }
            int m = mm_open(&c->mm, fd, (uint64_t)st.st_size, opts != NULL ? opts->map_window : 0);
            if (m == 1) {
                fclose(f);
                *out = c;
                return 0;
            }
            /* Not a pcap the mmap reader takes, or mmap failed (a file
             * system without it): libpcap reads the file. */
            mm_close(&c->mm);
        }
        unsigned char magic[2] = {0, 0};
        size_t got = fread(magic, 1, 2, f);
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
            int fd = dup(fileno(f));
            fclose(f);
            f = NULL;
            if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0 || (f = gz_stream(fd)) == NULL) {
                if (fd >= 0) {
                    close(fd);
                }
                snprintf(errbuf, errlen, "cannot open the gzip stream");
                goto cleanup;
            }
            setvbuf(f, NULL, _IOFBF, 1u << 18);
        } else {
            rewind(f);
        }
    }
    c->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, perr);
    if (c->pcap == NULL) {
        /* libpcap closes nothing on failure */
        snprintf(errbuf, errlen, "%s", perr[0] ? perr : "not a pcap or pcapng capture");
        ret = strstr(perr, "truncated") != NULL ? PQT_ERR_TRUNCATED : PQT_ERR_SYNTAX;
        goto cleanup;
    }
    c->file = f;
    f = NULL;
    *out = c;
    c = NULL;
    ret = 0;
cleanup:
    if (f != NULL) {
        fclose(f);
    }
    free(c);
    return ret;
}

int pqt_capture_open_file(const char *path, pqt_capture **out, char *errbuf, size_t errlen)
{
    return pqt_capture_open_file_opts(path, NULL, out, errbuf, errlen);
}

const char *pqt_capture_reader(const pqt_capture *c)
{
    return c->pcap == NULL ? "mmap" : "libpcap";
}

int pqt_capture_open_live(const char *iface, const char *bpf, int promisc, pqt_capture **out,
                          char *errbuf, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct bpf_program prog;
    int have_prog = 0, ret = PQT_ERR_IO;
    pqt_capture *c = NULL;
    if (iface == NULL || out == NULL || errbuf == NULL) {
        return PQT_ERR_ARG;
    }
    *out = NULL;
    errbuf[0] = 0;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return PQT_ERR_NOMEM;
    }
    c->live = 1;
    c->mm.fd = -1;
    c->pcap = pcap_create(iface, perr);
    if (c->pcap == NULL) {
        snprintf(errbuf, errlen, "%s", perr);
        goto cleanup;
    }
    /* Whole packets (a PQ ClientHello fills segments), no batching delay. */
    if (pcap_set_snaplen(c->pcap, 262144) != 0 || pcap_set_promisc(c->pcap, promisc) != 0 ||
        pcap_set_immediate_mode(c->pcap, 1) != 0 || pcap_set_buffer_size(c->pcap, 16 << 20) != 0 ||
        pcap_set_timeout(c->pcap, 200) != 0) {
        snprintf(errbuf, errlen, "cannot configure the capture");
        goto cleanup;
    }
    int act = pcap_activate(c->pcap);
    if (act < 0) {
        snprintf(errbuf, errlen, "%s", pcap_geterr(c->pcap));
        if (act == PCAP_ERROR_PERM_DENIED) {
            snprintf(errbuf, errlen, "%s (live capture needs root or CAP_NET_RAW)",
                     pcap_geterr(c->pcap));
        }
        goto cleanup;
    }
    if (bpf != NULL && bpf[0] != 0) {
        if (pcap_compile(c->pcap, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            snprintf(errbuf, errlen, "BPF filter '%s': %s", bpf, pcap_geterr(c->pcap));
            ret = PQT_ERR_SYNTAX;
            goto cleanup;
        }
        have_prog = 1;
        if (pcap_setfilter(c->pcap, &prog) != 0) {
            snprintf(errbuf, errlen, "BPF filter '%s': %s", bpf, pcap_geterr(c->pcap));
            goto cleanup;
        }
    }
    if (pcap_setnonblock(c->pcap, 1, perr) != 0) {
        snprintf(errbuf, errlen, "%s", perr);
        goto cleanup;
    }
    *out = c;
    c = NULL;
    ret = 0;
cleanup:
    if (have_prog) {
        pcap_freecode(&prog);
    }
    if (c != NULL) {
        if (c->pcap != NULL) {
            pcap_close(c->pcap);
        }
        free(c);
    }
    return ret;
}

int pqt_capture_next(pqt_capture *c, uint64_t *ts_us, const uint8_t **frame, size_t *caplen,
                     size_t *wirelen, char *errbuf, size_t errlen)
{
    if (c->pcap == NULL) {
        return mm_next(&c->mm, ts_us, frame, caplen, wirelen, errbuf, errlen);
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int r = pcap_next_ex(c->pcap, &h, &data);
    if (r == 1) {
        *ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        *frame = data;
        *caplen = h->caplen;
        *wirelen = h->len;
        return 1;
    }
    if (r == 0 || r == PCAP_ERROR_BREAK) {
        return 0; /* live: nothing yet; file: end */
    }
    const char *msg = pcap_geterr(c->pcap);
    snprintf(errbuf, errlen, "%s", msg);
    if (strstr(msg, "truncated") != NULL) {
        return PQT_ERR_TRUNCATED;
    }
    return PQT_ERR_SYNTAX;
}

int pqt_capture_linktype(const pqt_capture *c)
{
    return c->pcap == NULL ? c->mm.linktype : pcap_datalink(c->pcap);
}

int pqt_capture_is_live(const pqt_capture *c)
{
    return c->live;
}

int pqt_capture_fd(const pqt_capture *c)
{
    return c->live ? pcap_get_selectable_fd(c->pcap) : -1;
}

uint64_t pqt_capture_dropped(pqt_capture *c)
{
    struct pcap_stat st;
    if (!c->live || pcap_stats(c->pcap, &st) != 0) {
        return 0;
    }
    return (uint64_t)st.ps_drop + st.ps_ifdrop;
}

void pqt_capture_close(pqt_capture *c)
{
    if (c != NULL) {
        if (c->pcap != NULL) {
            pcap_close(c->pcap); /* also closes c->file */
        }
        mm_close(&c->mm);
        free(c);
    }
}
