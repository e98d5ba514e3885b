/*
 * Constant-time test for ML-KEM, run under valgrind memcheck (ctgrind
 * method): the secret inputs are marked undefined with PQT_CT_SECRET, so
 * memcheck reports every conditional jump and every memory index that
 * depends on them. Outputs that are public by design (ek, ct, return codes,
 * the result of comparing two secrets) are declassified with PQT_CT_PUBLIC
 * before this program looks at them.
 *
 * Secrets: the seed d||z (keygen, and the ephemeral key pair), the message
 * m (encaps), dkPKE and z in dk (decaps). The copy of ek and H(ek) inside dk is public (FIPS 203
 * Algorithm 16 puts ek there; it is sent in the clear).
 *
 * `ct_mlkem --leak` branches on a secret byte on purpose; the test suite
 * runs it under valgrind expecting failure, proving the harness can fail.
 */
#include <stdio.h>
#include <string.h>

#include "crypto/ct.h"
#include "pqtls/mlkem.h"

#include "../check.h"

static volatile unsigned leak_sink;

/* Deliberately not constant time: a branch on a secret byte. */
__attribute__((noinline)) static void leak_secret(const uint8_t *secret)
{
    if (secret[0] & 1) {
        leak_sink++;
    } else {
        leak_sink += 3;
    }
}

static void run(pqt_mlkem_alg alg, pqt_backend backend, int leak)
{
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    uint8_t seed[PQT_MLKEM_SEED_BYTES], m[PQT_MLKEM_M_BYTES];
    uint8_t ek[PQT_MLKEM1024_EK_BYTES], dk[PQT_MLKEM1024_DK_BYTES];
    uint8_t ct[PQT_MLKEM1024_CT_BYTES];
    uint8_t ss[PQT_MLKEM_SS_BYTES], ss2[PQT_MLKEM_SS_BYTES], ss3[PQT_MLKEM_SS_BYTES];
    int ret, same;

    ret = pqt_mlkem_set_backend(backend);
    CHECK(ret == 0, "set_backend(%s) = %d", pqt_backend_name(backend), ret);
    if (ret != 0) {
        return;
    }
    for (size_t i = 0; i < sizeof(seed); i++) {
        seed[i] = (uint8_t)(i * 7 + 3 + (unsigned)alg);
    }
    for (size_t i = 0; i < sizeof(m); i++) {
        m[i] = (uint8_t)(i * 13 + 1);
    }

    /* keygen_derand: d||z secret; ek public by design. */
    PQT_CT_SECRET(seed, sizeof(seed));
    if (leak) {
        leak_secret(seed);
    }
    ret = pqt_mlkem_keygen_derand(alg, ek, p->ek_bytes, dk, p->dk_bytes, seed);
    PQT_CT_PUBLIC(&ret, sizeof(ret));
    CHECK(ret == 0, "%s keygen_derand = %d", p->name, ret);
    PQT_CT_PUBLIC(ek, p->ek_bytes);

    /* dk: dkPKE and z secret; its ek || H(ek) part is public. */
    const size_t dkpke = 384 * (size_t)p->k;
    PQT_CT_SECRET(dk, p->dk_bytes);
    PQT_CT_PUBLIC(dk + dkpke, p->ek_bytes + 32);

    /* encaps_derand: m secret; ct public, ss secret. */
    PQT_CT_SECRET(m, sizeof(m));
    ret = pqt_mlkem_encaps_derand(alg, ct, p->ct_bytes, ss, ek, p->ek_bytes, m);
    PQT_CT_PUBLIC(&ret, sizeof(ret));
    CHECK(ret == 0, "%s encaps_derand = %d", p->name, ret);
    PQT_CT_PUBLIC(ct, p->ct_bytes);

    /* decaps of the valid ciphertext: must give the same secret. */
    ret = pqt_mlkem_decaps(alg, ss2, ct, p->ct_bytes, dk, p->dk_bytes);
    PQT_CT_PUBLIC(&ret, sizeof(ret));
    CHECK(ret == 0, "%s decaps = %d", p->name, ret);
    same = pqt_ct_eq(ss, ss2, sizeof(ss));
    PQT_CT_PUBLIC(&same, sizeof(same));
    CHECK(same, "%s/%s: decaps(encaps) differs", p->name, pqt_backend_name(backend));

    /* decaps of a modified ciphertext: implicit rejection, another secret;
     * which of the two values came out must not show in control flow. */
    ct[p->ct_bytes / 2] ^= 0x10;
    ret = pqt_mlkem_decaps(alg, ss3, ct, p->ct_bytes, dk, p->dk_bytes);
    PQT_CT_PUBLIC(&ret, sizeof(ret));
    CHECK(ret == 0, "%s decaps(modified) = %d", p->name, ret);
    same = pqt_ct_eq(ss, ss3, sizeof(ss));
    PQT_CT_PUBLIC(&same, sizeof(same));
    CHECK(!same, "%s/%s: a modified ciphertext was not rejected", p->name,
          pqt_backend_name(backend));

    /* The ephemeral key pair (what the TLS client uses): same secret seed;
     * its decapsulation computes H(ek) and reuses the matrix kept from key
     * generation. The modified ciphertext first, then the valid one. */
    pqt_mlkem_ephemeral *e = NULL;
    uint8_t ek2[PQT_MLKEM1024_EK_BYTES];
    ret = pqt_mlkem_ephemeral_new(alg, seed, &e, ek2, p->ek_bytes);
    PQT_CT_PUBLIC(&ret, sizeof(ret));
    CHECK(ret == 0, "%s ephemeral_new = %d", p->name, ret);
    PQT_CT_PUBLIC(ek2, p->ek_bytes);
    CHECK(memcmp(ek, ek2, p->ek_bytes) == 0, "%s: ephemeral ek differs", p->name);
    ret = pqt_mlkem_ephemeral_decaps(e, ss2, ct, p->ct_bytes);
    PQT_CT_PUBLIC(&ret, sizeof(ret));
    CHECK(ret == 0, "%s ephemeral decaps(modified) = %d", p->name, ret);
    same = pqt_ct_eq(ss2, ss3, sizeof(ss));
    PQT_CT_PUBLIC(&same, sizeof(same));
    CHECK(same, "%s/%s: ephemeral implicit rejection differs", p->name, pqt_backend_name(backend));
    ct[p->ct_bytes / 2] ^= 0x10;
    ret = pqt_mlkem_ephemeral_decaps(e, ss2, ct, p->ct_bytes);
    PQT_CT_PUBLIC(&ret, sizeof(ret));
    CHECK(ret == 0, "%s ephemeral decaps = %d", p->name, ret);
    same = pqt_ct_eq(ss, ss2, sizeof(ss));
    PQT_CT_PUBLIC(&same, sizeof(same));
    CHECK(same, "%s/%s: ephemeral decaps(encaps) differs", p->name, pqt_backend_name(backend));
    pqt_mlkem_ephemeral_free(e);

    pqt_ct_wipe(seed, sizeof(seed));
    pqt_ct_wipe(m, sizeof(m));
    pqt_ct_wipe(dk, sizeof(dk));
    pqt_ct_wipe(ss, sizeof(ss));
    pqt_ct_wipe(ss2, sizeof(ss2));
    pqt_ct_wipe(ss3, sizeof(ss3));
    printf("ran %s on %s%s\n", p->name, pqt_backend_name(backend), leak ? " (with leak)" : "");
}

int main(int argc, char **argv)
{
    static const pqt_backend backends[] = {PQT_BACKEND_PORTABLE, PQT_BACKEND_AVX2};
    int leak = argc > 1 && strcmp(argv[1], "--leak") == 0;

    if (argc > 1 && !leak) {
        fprintf(stderr, "usage: %s [--leak]\n", argv[0]);
        return 2;
    }
    for (int alg = PQT_MLKEM512; alg <= PQT_MLKEM1024; alg++) {
        for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
            if (pqt_backend_available(backends[b])) {
                run((pqt_mlkem_alg)alg, backends[b], leak);
            }
        }
    }
    if (pqt_mlkem_set_backend(PQT_BACKEND_AUTO) != 0) {
        failures++;
    }
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    return 0;
}
