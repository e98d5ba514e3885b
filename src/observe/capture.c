/*
 * Capture input through libpcap: pcap and pcapng files (libpcap detects
 * which), standard input, gzip-compressed files decompressed in-process by
 * zlib behind a stdio cookie stream (no child process), and live
 * interfaces with a BPF filter.
 */
#define _GNU_SOURCE /* fopencookie */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>
#include <zlib.h>

#include "pqtls/observe.h"

struct pqt_capture {
    pcap_t *pcap;
    FILE *file; /* the stream libpcap reads (closed by pcap_close) */
    int live;
    uint64_t dropped_base;
};

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

int pqt_capture_open_file(const char *path, pqt_capture **out, char *errbuf, size_t errlen)
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
        } else {
            rewind(f);
        }
        setvbuf(f, NULL, _IOFBF, 1u << 18);
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
    return pcap_datalink(c->pcap);
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
        pcap_close(c->pcap); /* also closes c->file */
        free(c);
    }
}
