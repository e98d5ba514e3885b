/*
 * Fuzz ML-KEM encapsulation with arbitrary encapsulation-key bytes.
 *
 * Input: byte 0 chooses the parameter set (low two bits % 3) and, with bit 2, the
 * AVX2 backend when available; the rest is ek, of any length.
 *
 * Properties: nothing crashes or reads outside ek; a wrong length is
 * PQT_ERR_EK_LENGTH; for the right length, encaps fails exactly when
 * check_ek does (FIPS 203 §7.2 modulus check), failures leave ct and ss
 * zeroed, and a key that passes encapsulates deterministically with the
 * same result on every backend.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t m[PQT_MLKEM_M_BYTES] = {0x6d, 0x6c, 0x6b, 0x65, 0x6d, 0x2d, 0x66, 0x75,
                                                 0x7a, 0x7a, 0x2d, 0x6d, 0x00, 0x01, 0x02, 0x03,
                                                 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                                                 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13};
    uint8_t ct[PQT_MLKEM1024_CT_BYTES], ct2[PQT_MLKEM1024_CT_BYTES];
    uint8_t ss[PQT_MLKEM_SS_BYTES], ss2[PQT_MLKEM_SS_BYTES];

    if (size < 1) {
        return 0;
    }
    pqt_mlkem_alg alg = (pqt_mlkem_alg)((data[0] & 3) % 3);
    const pqt_mlkem_params *p = pqt_mlkem_params_get(alg);
    FUZZ_CHECK(p != NULL);
    pqt_backend b = fuzz_use_backend(data[0] & 4);

    /* An exact-size copy so AddressSanitizer sees any read past ek. */
    size_t ek_len = size - 1;
    uint8_t *ek = malloc(ek_len ? ek_len : 1);
    FUZZ_CHECK(ek != NULL);
    memcpy(ek, data + 1, ek_len);

    int chk = pqt_mlkem_check_ek(alg, ek, ek_len);
    memset(ct, 0xAA, sizeof(ct));
    memset(ss, 0xAA, sizeof(ss));
    int enc = pqt_mlkem_encaps_derand(alg, ct, p->ct_bytes, ss, ek, ek_len, m);

    if (ek_len != p->ek_bytes) {
        FUZZ_CHECK(chk == PQT_ERR_EK_LENGTH);
        FUZZ_CHECK(enc == PQT_ERR_EK_LENGTH);
        goto done;
    }
    FUZZ_CHECK(chk == 0 || chk == PQT_ERR_EK_MODULUS);
    FUZZ_CHECK(enc == chk);
    if (chk != 0) {
        FUZZ_CHECK(fuzz_all_zero(ct, p->ct_bytes));
        FUZZ_CHECK(fuzz_all_zero(ss, sizeof(ss)));
    } else {
        /* Deterministic, and the randomized form accepts the key too. */
        FUZZ_CHECK(pqt_mlkem_encaps_derand(alg, ct2, p->ct_bytes, ss2, ek, ek_len, m) == 0);
        FUZZ_CHECK(memcmp(ct, ct2, p->ct_bytes) == 0 && memcmp(ss, ss2, sizeof(ss)) == 0);
        FUZZ_CHECK(pqt_mlkem_encaps(alg, ct2, p->ct_bytes, ss2, ek, ek_len) == 0);
    }

    /* Every backend agrees on the check and on the output. */
    pqt_backend other = fuzz_other_backend(b);
    if (other != b) {
        FUZZ_CHECK(pqt_mlkem_set_backend(other) == 0);
        FUZZ_CHECK(pqt_mlkem_check_ek(alg, ek, ek_len) == chk);
        int enc2 = pqt_mlkem_encaps_derand(alg, ct2, p->ct_bytes, ss2, ek, ek_len, m);
        FUZZ_CHECK(enc2 == enc);
        if (enc == 0) {
            FUZZ_CHECK(memcmp(ct, ct2, p->ct_bytes) == 0 && memcmp(ss, ss2, sizeof(ss)) == 0);
        }
    }
done:
    free(ek);
    return 0;
}
