/*
 * Fuzz the scanner's probe state machine (src/scan/probe.c) with whatever a
 * hostile server may send back: record framing, ServerHello / HelloRetryRequest
 * parsing, alerts, change_cipher_spec, handshake reassembly, the key
 * exchange on the server's share and record decryption.
 *
 * Input: byte 0 picks the probe, byte 1 the read size (1..256, 0: all at
 * once), byte 2 whether the stream ends with EOF or a reset; the rest is
 * the server's byte stream.
 *
 * A HelloRetryRequest makes the probe prepare a second ClientHello; the
 * target takes it and the rest of the stream answers it.
 *
 * Properties: nothing crashes or reads out of bounds; a verdict, once
 * reached, stays; the outcome is a known one with a NUL-terminated detail;
 * bytes_received never exceeds what was fed; after EOF there is a verdict.
 */
#include <string.h>

#include "fuzz_common.h"
#include "pqtls/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pqt_probe_session *s = NULL;
    if (size < 3) {
        return 0;
    }
    int probe = data[0] % PQT_PROBE_COUNT;
    size_t chunk = data[1] ? data[1] : size;
    int reset = data[2] & 1;
    data += 3;
    size -= 3;
    if (pqt_probe_session_new(probe, (data[-3] & 0x80) ? "fuzz.example" : NULL, &s) != 0) {
        return 0;
    }
    int done = 0;
    size_t fed = 0;
    while (fed < size) {
        size_t n = size - fed < chunk ? size - fed : chunk;
        int r = pqt_probe_session_feed(s, data + fed, n);
        FUZZ_CHECK(r == 0 || r == 1);
        /* After a HelloRetryRequest the probe has a second ClientHello to
         * send; "send" it so the rest of the input answers it. */
        const uint8_t *out = NULL;
        size_t out_len = pqt_probe_session_output(s, &out);
        FUZZ_CHECK(out_len == 0 || (r == 0 && out != NULL && out[0] == 22));
        if (out_len > 0) {
            pqt_probe_session_output_taken(s);
        }
        FUZZ_CHECK(!(done && r == 0)); /* a verdict stays */
        fed += n;
        done = r;
    }
    const pqt_probe_result *p = pqt_probe_session_result(s);
    FUZZ_CHECK(p->bytes_received <= size);
    pqt_probe_session_eof(s, reset);
    FUZZ_CHECK(p->outcome >= PQT_OUTCOME_SERVER_HELLO && p->outcome <= PQT_OUTCOME_CONNECT_FAILED);
    FUZZ_CHECK(memchr(p->detail, 0, sizeof(p->detail)) != NULL);
    FUZZ_CHECK(p->alert >= -1 && p->alert <= 255);
    FUZZ_CHECK(!p->verified || p->outcome == PQT_OUTCOME_SERVER_HELLO ||
               (p->outcome == PQT_OUTCOME_HRR && p->retried));
    pqt_probe_session_free(s);
    return 0;
}
