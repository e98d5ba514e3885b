/*
 * Fuzz ML-KEM decapsulation.
 *
 * Byte 0: parameter set (low two bits % 3); bit 2 asks for the AVX2 backend; bit 3
 * picks the mode.
 *
 * Raw mode (bit 3 clear): bytes 1-2 give the dk length (little endian,
 * reduced modulo the bytes left + 1), then dk, then ct, both of any
 * length. check_dk and decaps must not crash and must agree: wrong lengths
 * are PQT_ERR_DK_LENGTH / PQT_ERR_CT_LENGTH, a dk failing the FIPS 203 §7.3
 * hash check is PQT_ERR_DK_HASH for both, anything else decapsulates
 * (implicit rejection never reports an error) the same on every backend.
 *
 * Seeded mode (bit 3 set): 64 bytes of seed d||z and 32 bytes of m follow
 * (zero-padded if short), then (position, xor) byte triples that modify
 * the ciphertext. keygen_derand + encaps_derand + decaps must round-trip;
 * a modified ciphertext must be rejected (a different shared secret), and
 * the ephemeral key pair from the same seed must decapsulate it the same.
 */
#include <string.h>

#include "fuzz_common.h"

static void fuzz_raw(pqt_mlkem_alg alg, const pqt_mlkem_params *p, pqt_backend b,
                     const uint8_t *data, size_t size)
{
    uint8_t ss[PQT_MLKEM_SS_BYTES], ss2[PQT_MLKEM_SS_BYTES];
    if (size < 2) {
        return;
    }
    size_t want = (size_t)data[0] | ((size_t)data[1] << 8);
    data += 2;
    size -= 2;
    size_t dk_len = want % (size + 1), ct_len = size - dk_len;

    /* Exact-size copies so AddressSanitizer sees any over-read. */
    uint8_t *dk = malloc(dk_len ? dk_len : 1), *ct = malloc(ct_len ? ct_len : 1);
    FUZZ_CHECK(dk != NULL && ct != NULL);
    memcpy(dk, data, dk_len);
    memcpy(ct, data + dk_len, ct_len);

    int chk = pqt_mlkem_check_dk(alg, dk, dk_len);
    memset(ss, 0xAA, sizeof(ss));
    int dec = pqt_mlkem_decaps(alg, ss, ct, ct_len, dk, dk_len);

    if (dk_len != p->dk_bytes) {
        FUZZ_CHECK(chk == PQT_ERR_DK_LENGTH);
    } else {
        FUZZ_CHECK(chk == 0 || chk == PQT_ERR_DK_HASH);
    }
    if (ct_len != p->ct_bytes) {
        FUZZ_CHECK(dec == PQT_ERR_CT_LENGTH || dec == PQT_ERR_DK_LENGTH);
    } else {
        FUZZ_CHECK(dec == chk);
    }
    if (dec != 0) {
        FUZZ_CHECK(fuzz_all_zero(ss, sizeof(ss)));
    }

    pqt_backend other = fuzz_other_backend(b);
    if (other != b) {
        FUZZ_CHECK(pqt_mlkem_set_backend(other) == 0);
        FUZZ_CHECK(pqt_mlkem_check_dk(alg, dk, dk_len) == chk);
        FUZZ_CHECK(pqt_mlkem_decaps(alg, ss2, ct, ct_len, dk, dk_len) == dec);
        if (dec == 0) {
            FUZZ_CHECK(memcmp(ss, ss2, sizeof(ss)) == 0);
        }
    }
    free(dk);
    free(ct);
}

static void fuzz_seeded(pqt_mlkem_alg alg, const pqt_mlkem_params *p, pqt_backend b,
                        const uint8_t *data, size_t size)
{
    uint8_t in[PQT_MLKEM_SEED_BYTES + PQT_MLKEM_M_BYTES] = {0};
    uint8_t ek[PQT_MLKEM1024_EK_BYTES], dk[PQT_MLKEM1024_DK_BYTES];
    uint8_t ct[PQT_MLKEM1024_CT_BYTES], ct2[PQT_MLKEM1024_CT_BYTES];
    uint8_t ss[PQT_MLKEM_SS_BYTES], ss2[PQT_MLKEM_SS_BYTES], ss3[PQT_MLKEM_SS_BYTES];
    size_t used = size < sizeof(in) ? size : sizeof(in);

    memcpy(in, data, used);
    data += used;
    size -= used;
    const uint8_t *seed = in, *m = in + PQT_MLKEM_SEED_BYTES;

    FUZZ_CHECK(pqt_mlkem_keygen_derand(alg, ek, p->ek_bytes, dk, p->dk_bytes, seed) == 0);
    FUZZ_CHECK(pqt_mlkem_check_ek(alg, ek, p->ek_bytes) == 0);
    FUZZ_CHECK(pqt_mlkem_check_dk(alg, dk, p->dk_bytes) == 0);
    FUZZ_CHECK(pqt_mlkem_encaps_derand(alg, ct, p->ct_bytes, ss, ek, p->ek_bytes, m) == 0);
    FUZZ_CHECK(pqt_mlkem_decaps(alg, ss2, ct, p->ct_bytes, dk, p->dk_bytes) == 0);
    FUZZ_CHECK(memcmp(ss, ss2, sizeof(ss)) == 0);

    /* Modify the ciphertext as the input says; FIPS 203 Algorithm 18
     * re-encrypts, so any change must give the rejection value instead. */
    memcpy(ct2, ct, p->ct_bytes);
    for (; size >= 3; data += 3, size -= 3) {
        size_t pos = ((size_t)data[0] | ((size_t)data[1] << 8)) % p->ct_bytes;
        ct2[pos] ^= data[2];
    }
    FUZZ_CHECK(pqt_mlkem_decaps(alg, ss3, ct2, p->ct_bytes, dk, p->dk_bytes) == 0);
    if (memcmp(ct, ct2, p->ct_bytes) != 0) {
        FUZZ_CHECK(memcmp(ss, ss3, sizeof(ss)) != 0);
    } else {
        FUZZ_CHECK(memcmp(ss, ss3, sizeof(ss)) == 0);
    }

    /* The ephemeral key pair from the same seed (what the TLS client uses):
     * the same ek, and the same secret as decaps for the modified (or not)
     * ciphertext from the server. */
    pqt_mlkem_ephemeral *e = NULL;
    uint8_t ek3[PQT_MLKEM1024_EK_BYTES], ss4[PQT_MLKEM_SS_BYTES];
    FUZZ_CHECK(pqt_mlkem_ephemeral_new(alg, seed, &e, ek3, p->ek_bytes) == 0);
    FUZZ_CHECK(memcmp(ek, ek3, p->ek_bytes) == 0);
    FUZZ_CHECK(pqt_mlkem_ephemeral_decaps(e, ss4, ct2, p->ct_bytes) == 0);
    FUZZ_CHECK(memcmp(ss3, ss4, sizeof(ss4)) == 0);
    pqt_mlkem_ephemeral_free(e);

    /* The other backend derives the same keys, ciphertext and secrets. */
    pqt_backend other = fuzz_other_backend(b);
    if (other != b) {
        uint8_t ek2[PQT_MLKEM1024_EK_BYTES], dk2[PQT_MLKEM1024_DK_BYTES];
        FUZZ_CHECK(pqt_mlkem_set_backend(other) == 0);
        FUZZ_CHECK(pqt_mlkem_keygen_derand(alg, ek2, p->ek_bytes, dk2, p->dk_bytes, seed) == 0);
        FUZZ_CHECK(memcmp(ek, ek2, p->ek_bytes) == 0 && memcmp(dk, dk2, p->dk_bytes) == 0);
        FUZZ_CHECK(pqt_mlkem_encaps_derand(alg, ct2, p->ct_bytes, ss2, ek, p->ek_bytes, m) == 0);
        FUZZ_CHECK(memcmp(ct, ct2, p->ct_bytes) == 0 && memcmp(ss, ss2, sizeof(ss)) == 0);
        FUZZ_CHECK(pqt_mlkem_decaps(alg, ss2, ct, p->ct_bytes, dk, p->dk_bytes) == 0);
        FUZZ_CHECK(memcmp(ss, ss2, sizeof(ss)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    pqt_mlkem_alg alg = (pqt_mlkem_alg)((data[0] & 3) % 3);
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    FUZZ_CHECK(p != NULL);
    pqt_backend b = fuzz_use_backend(data[0] & 4);
    if (data[0] & 8) {
        fuzz_seeded(alg, p, b, data + 1, size - 1);
    } else {
        fuzz_raw(alg, p, b, data + 1, size - 1);
    }
    return 0;
}
