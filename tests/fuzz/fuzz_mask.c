/*
 * Fuzz `pqtls mask` (src/mask): arbitrary bytes masked in memory as a
 * capture (pcap, pcapng, gzip: the masker reads them by their magic) or,
 * selected by the first byte, as log lines in one of the four formats.
 *
 * Byte 0: bits 0-1 --payload (0 keep-length, 1 zero, 2 drop, 3 keep-length),
 * bit 2 logs instead of a capture, bits 3-4 the log format, bit 5 a small
 * hold bound (4 KiB, so fields spanning packets are given up), bit 6 two
 * flows at most (eviction). The rest is the input.
 *
 * Properties: no crash, no out-of-bounds access, no leak of memory; a
 * masked log line fits its buffer. Leak property on the input's own
 * secrets, judged with the observer's readers (src/net), not the masker's:
 *
 *  - addresses: when the masked capture has the same frames as the input
 *    (same count, timestamps and original lengths; the masker drops only
 *    damaged tails and never reorders), every TCP/IP frame's source and
 *    destination are the masker's pseudonyms of the original ones
 *    (pqt_mask_ipv4/ipv6 under the same key), so no original address is
 *    left in a header (a fixed point of Crypto-PAn is skipped);
 *  - names: every ClientHello that starts the first payload of one
 *    direction of a connection whose SYN was seen (so no earlier byte of
 *    that stream can make the masker read it as something else), is whole
 *    in that one segment and parses with pqt_hello_parse_client, names an
 *    SNI. When that SNI is at least 6 bytes long and its pseudonym differs
 *    from it (not kept by rule: localhost, --keep-names, a bare public
 *    suffix), the masked output holds it fewer times than the input: the
 *    SNI in that hello is gone. Counting (instead of "absent") keeps the
 *    property sound when the same bytes also stand elsewhere in the input
 *    where the masker keeps them by design (a key share, a TCP option);
 *    6 bytes keep chance coincidences with keyed output out of reach.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "pqtls/hello.h"
#include "pqtls/mask.h"
#include "pqtls/net.h"

#define MAX_FRAMES 4096
#define MAX_FLOWS 64
#define MAX_SNI 32

typedef struct {
    uint8_t ipver, src[16], dst[16];
    uint16_t sport, dport;
    uint32_t syn_seq;
    uint8_t syn, data; /* SYN seen (without payload); payload seen */
} dir_state;

typedef struct {
    uint64_t ts;
    size_t wirelen;
    uint8_t tcp, ipver, src[16], dst[16];
} frame_info;

static const uint8_t fuzz_key[PQT_MASK_KEY_SIZE] = {
    0x70, 0x71, 0x74, 0x6c, 0x73, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6d, 0x61, 0x73, 0x6b, 0x00,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

static size_t count(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
    size_t c = 0;
    for (size_t i = 0; k > 0 && i + k <= n; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0) {
            c++;
        }
    }
    return c;
}

static dir_state *find_dir(dir_state *d, size_t *n, const pqt_packet *p)
{
    size_t al = p->ip_version == 4 ? 4 : 16;
    for (size_t i = 0; i < *n; i++) {
        if (d[i].ipver == p->ip_version && d[i].sport == p->sport && d[i].dport == p->dport &&
            memcmp(d[i].src, p->src, al) == 0 && memcmp(d[i].dst, p->dst, al) == 0) {
            return &d[i];
        }
    }
    if (*n == MAX_FLOWS) {
        return NULL;
    }
    dir_state *s = &d[(*n)++];
    memset(s, 0, sizeof(*s));
    s->ipver = p->ip_version;
    memcpy(s->src, p->src, 16);
    memcpy(s->dst, p->dst, 16);
    s->sport = p->sport;
    s->dport = p->dport;
    return s;
}

/* A ClientHello record wholly at the start of payload: its SNI, or 0. */
static size_t hello_sni(const uint8_t *p, size_t n, const uint8_t **sni)
{
    pqt_client_hello ch;
    if (n < 9 || p[0] != 0x16 || p[1] != 0x03 || p[5] != 0x01) {
        return 0;
    }
    size_t rlen = (size_t)p[3] << 8 | p[4];
    size_t hlen = (size_t)p[6] << 16 | (size_t)p[7] << 8 | p[8];
    if (rlen > n - 5 || hlen > rlen - 4 || rlen < 4) {
        return 0;
    }
    if (pqt_hello_parse_client(p + 9, hlen, &ch) != 0 || ch.sni == NULL) {
        return 0;
    }
    *sni = ch.sni;
    return ch.sni_len;
}

static void fuzz_logs(pqt_mask *m, pqt_mask_log_format fmt, const uint8_t *data, size_t size)
{
    size_t i = 0;
    while (i < size) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t len = nl != NULL ? (size_t)(nl - (data + i)) : size - i;
        size_t cap = 4 * len + 64;
        char *line = malloc(cap);
        FUZZ_CHECK(line != NULL);
        memcpy(line, data + i, len);
        size_t out = len;
        if (pqt_mask_log_line(m, fmt, line, &out, cap) == 0) {
            FUZZ_CHECK(out <= cap);
        }
        free(line);
        i += len + 1;
    }
}

static uint8_t *read_all(int fd, size_t *n)
{
    off_t end = lseek(fd, 0, SEEK_END);
    FUZZ_CHECK(end >= 0);
    uint8_t *b = malloc((size_t)end + 1);
    FUZZ_CHECK(b != NULL);
    FUZZ_CHECK(pread(fd, b, (size_t)end, 0) == (ssize_t)end);
    *n = (size_t)end;
    return b;
}

/* The frames of a capture file (through /proc/self/fd), at most MAX_FRAMES;
 * -1 when the reader fails to open it. With dirs, also collect the SNIs of
 * stream-opening ClientHellos. */
static long read_frames(int fd, frame_info *fi, dir_state *dirs, size_t *ndirs,
                        const uint8_t **snis, size_t *sni_lens, size_t *nsni)
{
    char path[64], err[512];
    pqt_capture *cap = NULL;
    long n = 0;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (pqt_capture_open_file(path, &cap, err, sizeof(err)) != 0) {
        return -1;
    }
    int lt = pqt_capture_linktype(cap);
    for (;;) {
        uint64_t ts;
        const uint8_t *frame;
        size_t caplen, wirelen;
        pqt_packet pkt;
        if (n == MAX_FRAMES ||
            pqt_capture_next(cap, &ts, &frame, &caplen, &wirelen, err, sizeof(err)) <= 0) {
            break;
        }
        frame_info *f = &fi[n++];
        memset(f, 0, sizeof(*f));
        f->ts = ts;
        f->wirelen = wirelen;
        if (pqt_packet_decode(lt, frame, caplen, &pkt) != 0 || pkt.fragment) {
            continue;
        }
        f->tcp = 1;
        f->ipver = pkt.ip_version;
        memcpy(f->src, pkt.src, 16);
        memcpy(f->dst, pkt.dst, 16);
        if (dirs == NULL) {
            continue;
        }
        dir_state *d = find_dir(dirs, ndirs, &pkt);
        if (d == NULL) {
            continue;
        }
        if ((pkt.flags & PQT_TCP_SYN) != 0) {
            if (pkt.payload_len == 0 && !d->syn && !d->data) {
                d->syn = 1;
                d->syn_seq = pkt.seq;
            } else {
                d->data = 1;
            }
            continue;
        }
        if (pkt.payload_len == 0) {
            continue;
        }
        if (d->syn && !d->data && pkt.seq == d->syn_seq + 1 && !pkt.payload_cut &&
            *nsni < MAX_SNI) {
            const uint8_t *s;
            size_t sl = hello_sni(pkt.payload, pkt.payload_len, &s);
            if (sl > 0) {
                /* copies: the capture's frame memory goes at close */
                uint8_t *c = malloc(sl);
                FUZZ_CHECK(c != NULL);
                memcpy(c, s, sl);
                snis[*nsni] = c;
                sni_lens[(*nsni)++] = sl;
            }
        }
        d->data = 1;
    }
    pqt_capture_close(cap);
    return n;
}

static const uint8_t other_key[PQT_MASK_KEY_SIZE] = {
    0x6f, 0x74, 0x68, 0x65, 0x72, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x66, 0x6f, 0x72, 0x2d, 0x74, 0x68,
    0x65, 0x2d, 0x73, 0x61, 0x6d, 0x65, 0x2d, 0x69, 0x6e, 0x70, 0x75, 0x74, 0x2e, 0x2e, 0x2e, 0x00};

/* Occurrences of needle in the input masked under other_key. */
static size_t count_other_key(const pqt_mask_opts *opts, const uint8_t *data, size_t size,
                              const uint8_t *needle, size_t k)
{
    pqt_mask *m2 = NULL;
    char err[512];
    pqt_mask_stats st;
    FUZZ_CHECK(pqt_mask_new(other_key, opts, &m2) == 0);
    FUZZ_CHECK(pqt_mask_keep_name(m2, "example.org") == 0);
    int in = memfd_create("fuzz-mask-in2", 0), out = memfd_create("fuzz-mask-out2", 0);
    FUZZ_CHECK(in >= 0 && out >= 0);
    FUZZ_CHECK(write(in, data, size) == (ssize_t)size);
    FUZZ_CHECK(lseek(in, 0, SEEK_SET) == 0);
    memset(&st, 0, sizeof(st));
    int r = pqt_mask_capture(m2, in, out, &st, err, sizeof(err));
    FUZZ_CHECK(r <= 0);
    size_t olen;
    uint8_t *o = read_all(out, &olen);
    size_t c = count(o, olen, needle, k);
    free(o);
    close(in);
    close(out);
    pqt_mask_free(m2);
    return c;
}

static void fuzz_capture(pqt_mask *m, const pqt_mask_opts *opts, const uint8_t *data, size_t size)
{
    static frame_info fin[MAX_FRAMES], fout[MAX_FRAMES];
    static dir_state dirs[MAX_FLOWS];
    const uint8_t *snis[MAX_SNI];
    size_t sni_lens[MAX_SNI], nsni = 0, ndirs = 0;
    char err[512];
    pqt_mask_stats st;

    int in = memfd_create("fuzz-mask-in", 0), out = memfd_create("fuzz-mask-out", 0);
    FUZZ_CHECK(in >= 0 && out >= 0);
    FUZZ_CHECK(write(in, data, size) == (ssize_t)size);
    FUZZ_CHECK(lseek(in, 0, SEEK_SET) == 0);
    memset(&st, 0, sizeof(st));
    int r = pqt_mask_capture(m, in, out, &st, err, sizeof(err));
    FUZZ_CHECK(r <= 0);
    FUZZ_CHECK(r == 0 || err[0] != '\0');

    size_t olen;
    uint8_t *o = read_all(out, &olen);
    long nin = read_frames(in, fin, dirs, &ndirs, snis, sni_lens, &nsni);
    long nout = nin >= 0 ? read_frames(out, fout, NULL, NULL, NULL, NULL, NULL) : -1;

    /* Addresses, frame by frame, when both readers see the same frames. */
    int same = nin > 0 && nout == nin;
    for (long i = 0; same && i < nin; i++) {
        same = fin[i].ts == fout[i].ts && fin[i].wirelen == fout[i].wirelen &&
               fin[i].tcp == fout[i].tcp;
    }
    for (long i = 0; same && i < nin; i++) {
        if (!fin[i].tcp || fin[i].ipver != fout[i].ipver) {
            continue;
        }
        for (int k = 0; k < 2; k++) {
            const uint8_t *a = k ? fin[i].dst : fin[i].src, *b = k ? fout[i].dst : fout[i].src;
            uint8_t want[16];
            size_t al = fin[i].ipver == 4 ? 4 : 16;
            if (al == 4) {
                pqt_mask_ipv4(m, a, want);
            } else {
                pqt_mask_ipv6(m, a, want);
            }
            if (memcmp(want, a, al) != 0) {
                FUZZ_CHECK(memcmp(b, want, al) == 0);
            }
        }
    }

    /* Names of the stream-opening ClientHellos (counted in the input as
     * given: not for gzip, whose bytes are not the capture's). */
    int gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    for (size_t i = 0; i < nsni; i++) {
        uint8_t copy[256];
        size_t sl = sni_lens[i];
        if (!gz && sl >= 6 && sl <= sizeof(copy)) {
            memcpy(copy, snis[i], sl);
            pqt_mask_name(m, copy, sl);
            if (memcmp(copy, snis[i], sl) != 0) {
                if (getenv("FUZZ_MASK_DEBUG") != NULL) {
                    fprintf(stderr, "checked SNI %.*s\n", (int)sl, (const char *)snis[i]);
                }
                size_t cin = count(data, size, snis[i], sl);
                size_t cout = count(o, olen, snis[i], sl);
                if (cout >= cin) {
                    /* Keyed bytes (a keystream, a pseudonym) can equal the
                     * SNI when the input was built from them: libFuzzer
                     * learns the output's bytes from this very comparison
                     * and writes them into the next input. Such bytes
                     * change with the key, a kept SNI does not: count
                     * again in the output under another key. */
                    cout = count_other_key(opts, data, size, snis[i], sl);
                }
                if (cout >= cin) {
                    fprintf(stderr, "SNI %.*s left in the output (%zu times, %zu in the input)\n",
                            (int)sl, (const char *)snis[i], cout, cin);
                }
                FUZZ_CHECK(cout < cin);
            }
        }
        free((void *)(uintptr_t)snis[i]);
    }
    free(o);
    close(in);
    close(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pqt_mask *m = NULL;
    if (size < 1) {
        return 0;
    }
    uint8_t sel = data[0];
    pqt_mask_opts opts = {
        .payload = (sel & 3) == 3 ? PQT_MASK_PAYLOAD_KEEP_LENGTH : (pqt_mask_payload)(sel & 3),
        .max_hold_bytes = (sel & 0x20) ? 4096 : 0,
        .max_flows = (sel & 0x40) ? 2 : 0,
    };
    FUZZ_CHECK(pqt_mask_new(fuzz_key, &opts, &m) == 0);
    FUZZ_CHECK(pqt_mask_keep_name(m, "example.org") == 0);
    if (sel & 4) {
        fuzz_logs(m, (pqt_mask_log_format)((sel >> 3) & 3), data + 1, size - 1);
    } else {
        fuzz_capture(m, &opts, data + 1, size - 1);
    }
    pqt_mask_free(m);
    return 0;
}
