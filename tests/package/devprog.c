/*
 * A program built against the installed libpqtls-dev only (its headers,
 * static libraries and `pkg-config --cflags --libs pqtls`), by
 * tests/package/test_deb_chroot.sh: an ML-KEM-768 round trip through the
 * public API must give both sides the same shared secret, and a corrupted
 * ciphertext a different one (FIPS 203 implicit rejection).
 */
#include <pqtls/mlkem.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    static uint8_t ek[PQT_MLKEM768_EK_BYTES], dk[PQT_MLKEM768_DK_BYTES];
    static uint8_t ct[PQT_MLKEM768_CT_BYTES];
    uint8_t ss_enc[32], ss_dec[32], ss_bad[32];
    int err;

    if ((err = pqt_mlkem768_keygen(ek, dk)) != 0 ||
        (err = pqt_mlkem768_encaps(ct, ss_enc, ek)) != 0 ||
        (err = pqt_mlkem768_decaps(ss_dec, ct, dk)) != 0) {
        fprintf(stderr, "devprog: ML-KEM-768 failed: %s\n", pqt_strerror(err));
        return 1;
    }
    /* Test program: the shared secrets are compared in the open on purpose. */
    if (memcmp(ss_enc, ss_dec, sizeof ss_enc) != 0) {
        fprintf(stderr, "devprog: shared secrets differ\n");
        return 1;
    }
    ct[0] ^= 1;
    if ((err = pqt_mlkem768_decaps(ss_bad, ct, dk)) != 0) {
        fprintf(stderr, "devprog: decaps of a corrupted ciphertext: %s\n", pqt_strerror(err));
        return 1;
    }
    if (memcmp(ss_bad, ss_enc, sizeof ss_enc) == 0) {
        fprintf(stderr, "devprog: a corrupted ciphertext gave the same secret\n");
        return 1;
    }
    printf("devprog: ML-KEM-768 round trip ok\n");
    return 0;
}
