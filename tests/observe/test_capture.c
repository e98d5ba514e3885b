/*
 * Unit tests for src/net/capture.c: the mmap pcap reader against libpcap
 * on classic pcap files of both byte orders, micro- and nanosecond
 * timestamps, versions 2.2 to 2.5, odd snaplens, FCS bits, cuts inside a
 * record and a record header, link types only libpcap knows; every frame,
 * timestamp, length and final status must agree, and a corrupt capture
 * length gets the same message from both.
 */
#define _GNU_SOURCE /* mkstemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pqtls/net.h"

#include "obs_check.h"

/* ---- pcap reader ------------------------------------------------------------- */

/* A classic pcap file: header fields in little- or big-endian order. */
typedef struct {
    uint8_t b[8192];
    size_t n;
    int be;
} pcap_buf;

static void pb_u32(pcap_buf *f, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        f->b[f->n++] = (uint8_t)(f->be ? v >> (24 - 8 * i) : v >> (8 * i));
    }
}

static void pb_u16(pcap_buf *f, uint16_t v)
{
    f->b[f->n++] = (uint8_t)(f->be ? v >> 8 : v);
    f->b[f->n++] = (uint8_t)(f->be ? v : v >> 8);
}

static void pb_header(pcap_buf *f, int be, uint32_t magic, uint16_t minor, uint32_t snap,
                      uint32_t linktype)
{
    f->n = 0;
    f->be = be;
    pb_u32(f, magic);
    pb_u16(f, 2);
    pb_u16(f, minor);
    pb_u32(f, 0);
    pb_u32(f, 0);
    pb_u32(f, snap);
    pb_u32(f, linktype);
}

static void pb_record(pcap_buf *f, uint32_t sec, uint32_t frac, uint32_t cap, uint32_t len)
{
    pb_u32(f, sec);
    pb_u32(f, frac);
    pb_u32(f, cap);
    pb_u32(f, len);
    for (uint32_t i = 0; i < cap && f->n < sizeof(f->b); i++) {
        f->b[f->n++] = (uint8_t)(i * 7 + cap);
    }
}

/* Read path with the mmap reader (one-page windows) and with libpcap;
 * every frame, timestamp, length, the link type and the final status must
 * agree. Returns the number of frames, or -1 when they differ. */
static int pcap_compare(const char *path, int want_mmap)
{
    pqt_capture *a = NULL, *b = NULL;
    char ea[512], eb[512];
    pqt_capture_opts om = {.flags = 0, .map_window = 1}, ol = {.flags = PQT_CAPTURE_LIBPCAP};
    int ra = pqt_capture_open_file_opts(path, &om, &a, ea, sizeof(ea));
    int rb = pqt_capture_open_file_opts(path, &ol, &b, eb, sizeof(eb));
    int frames = 0;
    CHECK(ra == rb);
    if (ra != 0 || rb != 0) {
        pqt_capture_close(a);
        pqt_capture_close(b);
        return ra == rb ? 0 : -1;
    }
    CHECK(strcmp(pqt_capture_reader(a), want_mmap ? "mmap" : "libpcap") == 0);
    CHECK(strcmp(pqt_capture_reader(b), "libpcap") == 0);
    CHECK(pqt_capture_linktype(a) == pqt_capture_linktype(b));
    for (;;) {
        uint64_t ta = 0, tb = 0;
        const uint8_t *fa = NULL, *fb = NULL;
        size_t ca = 0, cb = 0, wa = 0, wb = 0;
        ra = pqt_capture_next(a, &ta, &fa, &ca, &wa, ea, sizeof(ea));
        rb = pqt_capture_next(b, &tb, &fb, &cb, &wb, eb, sizeof(eb));
        if (ra != rb || (ra < 0 && strcmp(ea, eb) != 0)) {
            fprintf(stderr, "%s: frame %d: mmap %d (%s), libpcap %d (%s)\n", path, frames, ra,
                    ra < 0 ? ea : "", rb, rb < 0 ? eb : "");
            frames = -1;
            break;
        }
        if (ra != 1) {
            break;
        }
        if (ta != tb || ca != cb || wa != wb || memcmp(fa, fb, ca) != 0) {
            fprintf(stderr, "%s: frame %d differs\n", path, frames);
            frames = -1;
            break;
        }
        frames++;
    }
    pqt_capture_close(a);
    pqt_capture_close(b);
    return frames;
}

static void test_pcap_reader(void)
{
    char path[] = "/tmp/pqt-obs-pcap-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    close(fd);
    pcap_buf *f = calloc(1, sizeof(*f));
    CHECK(f != NULL);
    if (f == NULL) {
        unlink(path);
        return;
    }
    static const struct {
        int be;
        uint32_t magic;
        uint16_t minor;
        uint32_t snap, linktype;
        int mmap, frames;
        size_t cut; /* bytes cut off the end */
    } cases[] = {
        {0, 0xa1b2c3d4, 4, 65535, 1, 1, 5, 0},    /* usual little-endian, Ethernet */
        {1, 0xa1b2c3d4, 4, 65535, 1, 1, 5, 0},    /* big-endian writer */
        {0, 0xa1b23c4d, 4, 0, 101, 1, 5, 0},      /* nanoseconds, snaplen 0, raw IP */
        {1, 0xa1b23c4d, 4, 300000, 113, 1, 5, 0}, /* swapped ns, snaplen above the maximum */
        {0, 0xa1b2c3d4, 3, 65535, 1, 1, 3, 0},    /* 2.3: lengths maybe swapped (then corrupt) */
        {0, 0xa1b2c3d4, 2, 65535, 1, 1, 2, 0},    /* 2.2: lengths swapped (then corrupt) */
        {0, 0xa1b2c3d4, 4, 100, 0x10000001, 1, 5, 0}, /* FCS bits, records above snaplen */
        {0, 0xa1b2c3d4, 4, 65535, 1, 1, 4, 7},        /* cut inside the last record */
        {0, 0xa1b2c3d4, 4, 65535, 1, 1, 4, 1510},     /* cut inside the last header */
        {0, 0xa1b2c3d4, 4, 65535, 147, 0, 5, 0},      /* link type for libpcap */
        {0, 0xa1b2cd34, 4, 65535, 1, 0, 1, 0},        /* Kuznetzov magic: libpcap (then corrupt) */
        {0, 0xa1b2c3d4, 5, 65535, 1, 0, 0, 0},        /* version 2.5: rejected */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pb_header(f, cases[i].be, cases[i].magic, cases[i].minor, cases[i].snap, cases[i].linktype);
        pb_record(f, 1700000000, 999999, 60, 60);
        pb_record(f, 0x80000001u, 5, 1400, 1500);        /* negative seconds as libpcap has them */
        pb_record(f, 1700000001, 0xFFFFFFF0u, 200, 100); /* caplen > len (2.3 swaps) */
        pb_record(f, 1700000002, 1000, 0, 0);
        pb_record(f, 1700000003, 2000, 1500, 1500);
        f->n -= cases[i].cut;
        FILE *o = fopen(path, "wb");
        CHECK(o != NULL && fwrite(f->b, 1, f->n, o) == f->n);
        if (o != NULL) {
            fclose(o);
        }
        int got = pcap_compare(path, cases[i].mmap);
        if (got != cases[i].frames) {
            fprintf(stderr, "pcap case %zu: %d frames, want %d\n", i, got, cases[i].frames);
            failures++;
        }
    }
    /* A corrupt capture length: both say so, with the same message. */
    pb_header(f, 0, 0xa1b2c3d4, 4, 65535, 1);
    pb_record(f, 1, 1, 60, 60);
    pb_u32(f, 2);
    pb_u32(f, 2);
    pb_u32(f, 0x7fffffff);
    pb_u32(f, 60);
    FILE *o = fopen(path, "wb");
    CHECK(o != NULL && fwrite(f->b, 1, f->n, o) == f->n);
    if (o != NULL) {
        fclose(o);
    }
    CHECK(pcap_compare(path, 1) == 1); /* one frame, then the same error from both */
    pqt_capture *c = NULL;
    char err[512];
    CHECK(pqt_capture_open_file(path, &c, err, sizeof(err)) == 0);
    if (c != NULL) {
        uint64_t ts;
        const uint8_t *fr;
        size_t cl, wl;
        CHECK(pqt_capture_next(c, &ts, &fr, &cl, &wl, err, sizeof(err)) == 1 && cl == 60);
        CHECK(pqt_capture_next(c, &ts, &fr, &cl, &wl, err, sizeof(err)) == PQT_ERR_SYNTAX);
        CHECK(strstr(err, "invalid packet capture length") != NULL);
        pqt_capture_close(c);
    }
    free(f);
    unlink(path);
}

int main(void)
{
    test_pcap_reader();
    printf("test_observe_capture: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
