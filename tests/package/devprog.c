/*
 * A program built against the installed libpqtls-dev only (its headers,
 * static libraries and `pkg-config --cflags --libs pqtls`), by
 * tests/package/test_deb_chroot.sh: an ML-KEM-768 round trip through the
 * public API must give both sides the same shared secret, and a corrupted
 * ciphertext a different one (FIPS 203 implicit rejection); then a scan
 * store is created in the SQLite file argv[1] (pqt_store_open): the top
 * layer, so the link line must hold every layer below it in order, SQLite
 * and libpq.
 */
#include <pqtls/mlkem.h>
#include <pqtls/store.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int store_check(const char *path)
{
    char why[256] = "";
    pqt_store *st = NULL;
    int err = pqt_store_open(path, &st, why, sizeof why);

    if (err != 0) {
        fprintf(stderr, "devprog: pqt_store_open(%s): %s: %s\n", path, pqt_strerror(err), why);
        return 1;
    }
    if (strcmp(pqt_store_backend(st), "sqlite") != 0 || pqt_store_found_version(st) != 0) {
        fprintf(stderr, "devprog: new store %s: backend %s, found schema version %d\n", path,
                pqt_store_backend(st), pqt_store_found_version(st));
        pqt_store_close(st);
        return 1;
    }
    pqt_store_close(st);
    return 0;
}

int main(int argc, char **argv)
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
    if (argc != 2 || store_check(argv[1]) != 0) {
        return 1;
    }
    printf("devprog: ML-KEM-768 round trip ok, SQLite store %s created\n", argv[1]);
    return 0;
}
