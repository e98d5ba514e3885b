/*
 * Fuzz the plaintext parsers of `pqtls scan` (src/scan/starttls.c): the
 * STARTTLS dialogues (SMTP and FTP replies, IMAP and POP3 capability
 * lists, LDAP ExtendedResponses in BER, PostgreSQL's answer to SSLRequest
 * and its ErrorResponse, MySQL greetings, the XMPP stream and its
 * features) and the banner recogniser that names a plaintext service met
 * by a direct ClientHello.
 *
 * Input: byte 0 picks the parser (0: banners, 1..8: pqt_starttls_proto),
 * byte 1 the read size (1..255, 0: all at once), byte 2 how the stream
 * ends (bit 0: a reset, bit 1: no end); the rest is the server's bytes.
 * The client's output is taken after every read, as the engine sends it,
 * so a transcript fed a byte at a time walks the whole dialogue.
 *
 * Properties: nothing crashes or reads out of bounds; a dialogue that
 * failed stays failed with an error and a NUL-terminated detail, and
 * offers nothing more to send; READY only turns into FAILED (bytes after
 * the go-ahead); an ended stream leaves no dialogue running; every output
 * fits in one command; the banner advice is a bounded string.
 */
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/scan.h"

static void fuzz_banner(const uint8_t *data, size_t size)
{
    static const char *const targets[] = {"mail.example:25", "[2001:db8::1]:587",
                                          "192.0.2.1:21,ftp.example", "host.example"};
    int b = pqt_scan_banner_identify(data, size);
    FUZZ_CHECK(b >= PQT_BANNER_NONE && b < PQT_BANNER_COUNT);
    FUZZ_CHECK((b == PQT_BANNER_NONE) == (pqt_scan_banner_name(b) == NULL));
    pqt_scan_target t;
    int blank;
    const char *why;
    char advice[200];
    const char *line = targets[size % (sizeof(targets) / sizeof(targets[0]))];
    FUZZ_CHECK(pqt_scan_target_parse(line, &t, &blank, &why) == 0);
    memset(advice, 'x', sizeof(advice));
    pqt_scan_banner_advice(b, &t, advice, sizeof(advice));
    FUZZ_CHECK(memchr(advice, 0, sizeof(advice)) != NULL);
    FUZZ_CHECK((b == PQT_BANNER_NONE) == (advice[0] == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) {
        return 0;
    }
    int proto = data[0] % PQT_STARTTLS_COUNT;
    size_t chunk = data[1] ? data[1] : size;
    int reset = data[2] & 1, no_end = (data[2] >> 1) & 1;
    data += 3;
    size -= 3;
    if (proto == PQT_STARTTLS_NONE) {
        fuzz_banner(data, size);
        return 0;
    }
    pqt_starttls *d = NULL;
    FUZZ_CHECK(pqt_starttls_new(proto, "xmpp.example", &d) == 0);
    int last = PQT_STARTTLS_RUNNING;
    for (size_t fed = 0;;) {
        const uint8_t *out = NULL;
        size_t n = pqt_starttls_output(d, &out);
        FUZZ_CHECK(n <= 512 && (n == 0 || out != NULL));
        FUZZ_CHECK(n == 0 || pqt_starttls_status(d) != PQT_STARTTLS_FAILED);
        if (n > 0) {
            pqt_starttls_output_taken(d);
        }
        if (fed == size) {
            break;
        }
        size_t k = size - fed < chunk ? size - fed : chunk;
        int st = pqt_starttls_feed(d, data + fed, k);
        fed += k;
        FUZZ_CHECK(st == pqt_starttls_status(d));
        FUZZ_CHECK(st >= PQT_STARTTLS_RUNNING && st <= PQT_STARTTLS_FAILED);
        /* RUNNING -> READY -> FAILED, never back. */
        FUZZ_CHECK(st >= last);
        last = st;
    }
    if (!no_end) {
        int st = pqt_starttls_eof(d, reset);
        FUZZ_CHECK(st != PQT_STARTTLS_RUNNING && st >= last);
    }
    int st = pqt_starttls_status(d);
    const char *err = pqt_starttls_error(d);
    FUZZ_CHECK((st == PQT_STARTTLS_FAILED) == (err != NULL));
    FUZZ_CHECK(strlen(pqt_starttls_detail(d)) < PQT_PROBE_DETAIL_MAX);
    FUZZ_CHECK(pqt_starttls_step(d) != NULL);
    FUZZ_CHECK(pqt_starttls_received(d) == size);
    pqt_starttls_free(d);
    return 0;
}
