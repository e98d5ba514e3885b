/*
 * JA4 TLS client fingerprint (FoxIO, BSD-3-Clause spec:
 * ../shared/pcaps/foxio-ja4/docs/JA4.md), computed from a parsed
 * ClientHello. JA4 only: the other JA4+ methods are under a different
 * licence, so pqtls leaves them out on purpose.
 *
 * Decisions where the oracles disagree (docs/observe.md, "JA4"):
 *  - no signature_algorithms: the extension list is hashed without a
 *    trailing '_' (spec and FoxIO tools; Suricata's bug-5713 value is not);
 *  - a first ALPN value whose first or last byte is not ASCII alphanumeric
 *    gives the first and last hex digit of the value (spec text, "bd" for
 *    BA AD; the FoxIO tools print "99");
 *  - a one-character ALPN value gives that character twice (spec);
 *  - ALPN case is preserved ("H2" stays "H2", as Arkime and FoxIO do).
 */
#ifndef PQTLS_JA4_H
#define PQTLS_JA4_H

#include <stddef.h>

#include "pqtls/err.h"
#include "pqtls/hello.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "t13d1516h2_8daaf6152771_e5627efa2ab1" plus NUL. */
#define PQT_JA4_LEN 36
#define PQT_JA4_SIZE (PQT_JA4_LEN + 1)

/* JA4 transport letter: 't' TLS over TCP, 'q' QUIC, 'd' DTLS. */
#define PQT_JA4_TCP 't'
#define PQT_JA4_QUIC 'q'

/*
 * Fingerprint ch into out (NUL-terminated). If raw is not NULL it receives
 * JA4_r (the unhashed, sorted form) truncated to raw_cap bytes (always
 * NUL-terminated); raw_cap of 1024 holds any real client's.
 */
PQT_API PQT_MUST_CHECK int pqt_ja4(const pqt_client_hello *ch, char transport,
                                   char out[PQT_JA4_SIZE], char *raw, size_t raw_cap);

/* The two JA4 version characters for a TLS version code ("13", "s3", "00"). */
PQT_API const char *pqt_ja4_version(uint16_t version);

#ifdef __cplusplus
}
#endif
#endif
