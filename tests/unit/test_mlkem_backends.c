/*
 * The AVX2 backend against the portable one (STYLE.md "Fast paths"): for
 * each parameter set, random seeds, messages, valid and garbage ciphertexts,
 * encapsulation keys with a coefficient >= q and decapsulation keys with a
 * wrong H(ek) must give byte-identical outputs and return codes through the
 * public API, and the ephemeral key pairs the same ek and secrets as keygen
 * and decaps. Skipped (exit 0) only on a CPU without AVX2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqtls/mlkem.h"

#define MAX_EK 1568
#define MAX_DK 3168
#define MAX_CT 1568

#include "../check.h"

#define TEST_RNG_SEED 0x243F6A8885A308D3ULL, 0x13198A2E03707344ULL
#include "../rng.h"

static void use(pqt_backend b)
{
    if (pqt_mlkem_set_backend(b) != 0) {
        fprintf(stderr, "cannot select backend %s\n", pqt_backend_name(b));
        exit(1);
    }
}

/* Set 12-bit coefficient i of an encoded vector to v. */
static void set_coeff12(uint8_t *a, unsigned i, unsigned v)
{
    uint8_t *p = a + 3 * (i / 2);
    if (i % 2 == 0) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)((p[1] & 0xF0) | (v >> 8));
    } else {
        p[1] = (uint8_t)((p[1] & 0x0F) | ((v & 0xF) << 4));
        p[2] = (uint8_t)(v >> 4);
    }
}

static void test_alg(pqt_mlkem_alg alg, unsigned iters)
{
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    uint8_t seed[64], m[32];
    uint8_t ek[2][MAX_EK], dk[2][MAX_DK], ct[2][MAX_CT], ss[2][32], ss2[2][32];
    uint8_t bad_ct[MAX_CT], bad_ek[MAX_EK], bad_dk[MAX_DK];
    int r[2];
    const pqt_backend be[2] = {PQT_BACKEND_PORTABLE, PQT_BACKEND_AVX2};
    int start = failures;

    for (unsigned it = 0; it < iters; it++) {
        rng_bytes(seed, sizeof(seed));
        rng_bytes(m, sizeof(m));
        for (unsigned b = 0; b < 2; b++) {
            use(be[b]);
            r[b] = pqt_mlkem_keygen_derand(alg, ek[b], p->ek_bytes, dk[b], p->dk_bytes, seed);
        }
        CHECK(r[0] == 0 && r[1] == 0, "%s keygen returned %d/%d", p->name, r[0], r[1]);
        CHECK(memcmp(ek[0], ek[1], p->ek_bytes) == 0, "%s ek differs, iter %u", p->name, it);
        CHECK(memcmp(dk[0], dk[1], p->dk_bytes) == 0, "%s dk differs, iter %u", p->name, it);

        /* Encapsulate to the same (portable) key with both backends. */
        for (unsigned b = 0; b < 2; b++) {
            use(be[b]);
            r[b] = pqt_mlkem_encaps_derand(alg, ct[b], p->ct_bytes, ss[b], ek[0], p->ek_bytes, m);
        }
        CHECK(r[0] == 0 && r[1] == 0, "%s encaps returned %d/%d", p->name, r[0], r[1]);
        CHECK(memcmp(ct[0], ct[1], p->ct_bytes) == 0, "%s ct differs, iter %u", p->name, it);
        CHECK(memcmp(ss[0], ss[1], 32) == 0, "%s encaps ss differs, iter %u", p->name, it);

        for (unsigned b = 0; b < 2; b++) {
            use(be[b]);
            r[b] = pqt_mlkem_decaps(alg, ss2[b], ct[0], p->ct_bytes, dk[0], p->dk_bytes);
        }
        CHECK(r[0] == 0 && r[1] == 0, "%s decaps returned %d/%d", p->name, r[0], r[1]);
        CHECK(memcmp(ss2[1], ss[0], 32) == 0, "%s avx2 decaps ss wrong, iter %u", p->name, it);
        CHECK(memcmp(ss2[0], ss[0], 32) == 0, "%s portable decaps ss wrong, iter %u", p->name, it);

        /* Implicit rejection: a ciphertext with one flipped bit, and random bytes. */
        memcpy(bad_ct, ct[0], p->ct_bytes);
        bad_ct[rng_next() % p->ct_bytes] ^= (uint8_t)(1u << (rng_next() % 8));
        if (it % 2) {
            rng_bytes(bad_ct, p->ct_bytes);
        }
        for (unsigned b = 0; b < 2; b++) {
            use(be[b]);
            r[b] = pqt_mlkem_decaps(alg, ss2[b], bad_ct, p->ct_bytes, dk[0], p->dk_bytes);
        }
        CHECK(r[0] == 0 && r[1] == 0, "%s reject decaps returned %d/%d", p->name, r[0], r[1]);
        CHECK(memcmp(ss2[0], ss2[1], 32) == 0, "%s rejection ss differs, iter %u", p->name, it);
        CHECK(memcmp(ss2[1], ss[0], 32) != 0, "%s bad ct accepted, iter %u", p->name, it);

        /* Ephemeral key pairs made with each backend, decapsulated after the
         * backend choice moved to the other one: the same ek as keygen, the
         * same secrets as decaps for the good and the bad ciphertext. */
        for (unsigned b = 0; b < 2; b++) {
            pqt_mlkem_ephemeral *e = NULL;
            uint8_t eek[MAX_EK], ess[32];
            use(be[b]);
            int re = pqt_mlkem_ephemeral_new(alg, seed, &e, eek, p->ek_bytes);
            CHECK(re == 0 && memcmp(eek, ek[0], p->ek_bytes) == 0, "%s/%s ephemeral ek, iter %u",
                  p->name, pqt_backend_name(be[b]), it);
            use(be[1 - b]);
            re = pqt_mlkem_ephemeral_decaps(e, ess, ct[0], p->ct_bytes);
            CHECK(re == 0 && memcmp(ess, ss[0], 32) == 0, "%s/%s ephemeral decaps, iter %u",
                  p->name, pqt_backend_name(be[b]), it);
            re = pqt_mlkem_ephemeral_decaps(e, ess, bad_ct, p->ct_bytes);
            CHECK(re == 0 && memcmp(ess, ss2[0], 32) == 0,
                  "%s/%s ephemeral implicit rejection, iter %u", p->name, pqt_backend_name(be[b]),
                  it);
            re = pqt_mlkem_ephemeral_decaps(e, ess, ct[0], p->ct_bytes - 1);
            CHECK(re == PQT_ERR_CT_LENGTH, "%s ephemeral short ct = %d", p->name, re);
            pqt_mlkem_ephemeral_free(e);
        }

        /* Decapsulation with a random (unchecked-range) dk body but a valid hash
         * still has to agree: dk coefficients may be up to 4095. */
        if (it % 8 == 0) {
            memcpy(bad_dk, dk[0], p->dk_bytes);
            rng_bytes(bad_dk, 384 * p->k);
            for (unsigned b = 0; b < 2; b++) {
                use(be[b]);
                r[b] = pqt_mlkem_decaps(alg, ss2[b], ct[0], p->ct_bytes, bad_dk, p->dk_bytes);
            }
            CHECK(r[0] == 0 && r[1] == 0, "%s random-s decaps %d/%d", p->name, r[0], r[1]);
            CHECK(memcmp(ss2[0], ss2[1], 32) == 0, "%s random-s ss differs", p->name);
        }

        /* FIPS 203 §7.2: one coefficient >= q must be refused by both. */
        if (it % 4 == 0) {
            memcpy(bad_ek, ek[0], p->ek_bytes);
            unsigned pos = (unsigned)(rng_next() % (256 * p->k));
            set_coeff12(bad_ek, pos, 3329 + (unsigned)(rng_next() % (4096 - 3329)));
            for (unsigned b = 0; b < 2; b++) {
                use(be[b]);
                r[b] =
                    pqt_mlkem_encaps_derand(alg, ct[b], p->ct_bytes, ss[b], bad_ek, p->ek_bytes, m);
                CHECK(pqt_mlkem_check_ek(alg, bad_ek, p->ek_bytes) == PQT_ERR_EK_MODULUS,
                      "%s check_ek accepted coefficient >= q at %u (%s)", p->name, pos,
                      pqt_backend_name(be[b]));
            }
            CHECK(r[0] == PQT_ERR_EK_MODULUS && r[1] == PQT_ERR_EK_MODULUS,
                  "%s encaps with coefficient >= q at %u returned %d/%d", p->name, pos, r[0], r[1]);
            /* q - 1 everywhere is the largest valid key. */
            for (unsigned i = 0; i < 256 * p->k; i++) {
                set_coeff12(bad_ek, i, 3328);
            }
            for (unsigned b = 0; b < 2; b++) {
                use(be[b]);
                r[b] =
                    pqt_mlkem_encaps_derand(alg, ct[b], p->ct_bytes, ss[b], bad_ek, p->ek_bytes, m);
            }
            CHECK(r[0] == 0 && r[1] == 0, "%s encaps to all-(q-1) ek: %d/%d", p->name, r[0], r[1]);
            CHECK(memcmp(ct[0], ct[1], p->ct_bytes) == 0, "%s all-(q-1) ct differs", p->name);
        }

        /* FIPS 203 §7.3: a dk whose H(ek) does not match is refused by both. */
        if (it % 16 == 0) {
            memcpy(bad_dk, dk[0], p->dk_bytes);
            bad_dk[p->dk_bytes - 33] ^= 1;
            for (unsigned b = 0; b < 2; b++) {
                use(be[b]);
                r[b] = pqt_mlkem_decaps(alg, ss2[b], ct[0], p->ct_bytes, bad_dk, p->dk_bytes);
            }
            CHECK(r[0] == PQT_ERR_DK_HASH && r[1] == PQT_ERR_DK_HASH, "%s dk hash check %d/%d",
                  p->name, r[0], r[1]);
        }
    }
    printf("%s: %u iterations, %s\n", p->name, iters, failures == start ? "ok" : "FAILED");
}

/*
 * pqt_cpu_disable_features(PQT_CPU_AVX2): the automatic choice becomes the
 * portable backend (also after AVX2 was chosen), forcing AVX2 fails, and
 * clearing the mask brings AVX2 back.
 */
static void test_disable_avx2(void)
{
    pqt_cpu_disable_features(0);
    CHECK(pqt_mlkem_set_backend(PQT_BACKEND_AUTO) == 0, "auto backend");
    CHECK(pqt_mlkem_get_backend() == PQT_BACKEND_AVX2, "auto picks avx2 on an AVX2 CPU");
    pqt_cpu_disable_features(PQT_CPU_AVX2);
    CHECK(pqt_cpu_disabled_features() == PQT_CPU_AVX2, "mask reads back");
    CHECK(!pqt_backend_available(PQT_BACKEND_AVX2), "avx2 unavailable when disabled");
    CHECK(pqt_mlkem_get_backend() == PQT_BACKEND_PORTABLE,
          "disabling avx2 re-chooses the portable backend");
    CHECK(pqt_mlkem_set_backend(PQT_BACKEND_AVX2) == PQT_ERR_UNSUPPORTED,
          "forcing a disabled avx2 fails");
    CHECK(pqt_mlkem_set_backend(PQT_BACKEND_AUTO) == 0 &&
              pqt_mlkem_get_backend() == PQT_BACKEND_PORTABLE,
          "auto with avx2 disabled is portable");
    pqt_cpu_disable_features(0);
    CHECK(pqt_backend_available(PQT_BACKEND_AVX2), "avx2 back when the mask is cleared");
    CHECK(pqt_mlkem_set_backend(PQT_BACKEND_AUTO) == 0 &&
              pqt_mlkem_get_backend() == PQT_BACKEND_AVX2,
          "auto picks avx2 again");
    printf("ok   pqt_cpu_disable_features(PQT_CPU_AVX2) falls back to portable\n");
}

int main(int argc, char **argv)
{
    if (!pqt_backend_available(PQT_BACKEND_AVX2)) {
        printf("skipped: no AVX2\n");
        return 0;
    }
    unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 3000;
    test_alg(PQT_MLKEM512, iters);
    test_alg(PQT_MLKEM768, iters);
    test_alg(PQT_MLKEM1024, iters);
    test_disable_avx2();
    use(PQT_BACKEND_AUTO);
    if (failures != 0) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    return 0;
}
