/* Names of TLS code points (include/pqtls/names.h): one spelling for every tool. */
#include <stdio.h>
#include <string.h>

#include "pqtls/names.h"

#include "../check.h"

static int is(const char *got, const char *want)
{
    return got != NULL && strcmp(got, want) == 0;
}

int main(void)
{
    char b[32];
    CHECK(is(pqt_tls_version_name(0x0304), "TLSv1.3"), "TLSv1.3 as OpenSSL spells it");
    CHECK(is(pqt_tls_version_name(0x0303), "TLSv1.2"), "TLSv1.2");
    CHECK(is(pqt_tls_version_name(0x0300), "SSLv3"), "SSLv3");
    CHECK(pqt_tls_version_name(0x0305) == NULL, "unknown version");
    pqt_tls_version_format(0x7f12, b);
    CHECK(strcmp(b, "TLSv1.3-draft-18") == 0, "draft: %s", b);
    pqt_tls_version_format(0xfb1a, b);
    CHECK(strcmp(b, "0xfb1a") == 0, "hex: %s", b);
    pqt_tls_version_format(0x0304, b);
    CHECK(strcmp(b, "TLSv1.3") == 0, "known version formatted: %s", b);
    pqt_tls_group_format(0x11ec, b);
    CHECK(strcmp(b, "X25519MLKEM768") == 0, "known group formatted: %s", b);
    CHECK(is(pqt_tls_suite_name(0x1302), "TLS_AES_256_GCM_SHA384"), "suite");
    CHECK(pqt_tls_suite_name(0xc02f) == NULL, "suite not in the table");
    CHECK(is(pqt_tls_group_name(0x11ec), "X25519MLKEM768"), "group");
    pqt_tls_group_format(0x4a4a, b);
    CHECK(strcmp(b, "GREASE") == 0, "GREASE: %s", b);
    pqt_tls_group_format(0x4138, b);
    CHECK(strcmp(b, "0x4138") == 0, "unknown group: %s", b);
    CHECK(is(pqt_tls_alert_name(40), "handshake_failure"), "alert");
    CHECK(pqt_tls_alert_name(-1) == NULL && pqt_tls_alert_name(255) == NULL &&
              pqt_tls_alert_name(1000) == NULL,
          "alert out of range");
    CHECK(is(pqt_tls_extension_name(51), "key_share"), "extension");
    CHECK(pqt_tls_extension_name(0x1234) == NULL, "unknown extension");
    CHECK(is(pqt_tls_sigscheme_name(0x0905), "mldsa65"), "signature scheme");
    printf("test_names: %s (%d failures of %d checks)\n", failures ? "FAILED" : "ok", failures,
           checks);
    return failures != 0;
}
