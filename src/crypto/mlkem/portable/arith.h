/*
 * Portable modular arithmetic for q = 3329 (FIPS 203 §4.3): Montgomery and
 * Barrett reduction, the NTT twiddle table. Shared by the portable backend
 * and by the native backends' fallbacks and tests.
 */
#ifndef PQT_CRYPTO_MLKEM_PORTABLE_ARITH_H
#define PQT_CRYPTO_MLKEM_PORTABLE_ARITH_H

#include <stdint.h>

#include "mlkem/params.h"

#define MLKEM_QINV (-3327) /* q^-1 mod 2^16, as a signed 16-bit value */

/* Montgomery reduction: for |a| < 2^15 q returns a 2^-16 mod q in (-q, q). */
static inline int16_t pqt_montgomery_reduce(int32_t a)
{
    int16_t t = (int16_t)((int16_t)a * MLKEM_QINV);
    return (int16_t)((a - (int32_t)t * MLKEM_Q) >> 16);
}

static inline int16_t pqt_fqmul(int16_t a, int16_t b)
{
    return pqt_montgomery_reduce((int32_t)a * b);
}

/* Barrett reduction: the representative of a mod q in [-(q-1)/2, (q-1)/2]. */
static inline int16_t pqt_barrett_reduce(int16_t a)
{
    const int32_t v = ((1 << 26) + MLKEM_Q / 2) / MLKEM_Q;
    int16_t t = (int16_t)((v * a + (1 << 25)) >> 26);
    return (int16_t)(a - t * MLKEM_Q);
}

/* Map (-q, q) to [0, q) without a branch. */
static inline int16_t pqt_caddq(int16_t a)
{
    return (int16_t)(a + ((a >> 15) & MLKEM_Q));
}

/*
 * zeta^brv7(i) * 2^16 mod q for zeta = 17 (FIPS 203 §4.3, Appendix A),
 * centred. Index 0 is unused by the NTT loops.
 */
static const int16_t pqt_mlkem_zetas[128] = {
    -1044, -758,  -359,  -1517, 1493,  1422,  287,   202,   -171,  622,   1577,  182,   962,
    -1202, -1474, 1468,  573,   -1325, 264,   383,   -829,  1458,  -1602, -130,  -681,  1017,
    732,   608,   -1542, 411,   -205,  -1571, 1223,  652,   -552,  1015,  -1293, 1491,  -282,
    -1544, 516,   -8,    -320,  -666,  -1618, -1162, 126,   1469,  -853,  -90,   -271,  830,
    107,   -1421, -247,  -951,  -398,  961,   -1508, -725,  448,   -1065, 677,   -1275, -1103,
    430,   555,   843,   -1251, 871,   1550,  105,   422,   587,   177,   -235,  -291,  -460,
    1574,  1653,  -246,  778,   1159,  -147,  -777,  1483,  -602,  1119,  -1590, 644,   -872,
    349,   418,   329,   -156,  -75,   817,   1097,  603,   610,   1322,  -1285, -1465, 384,
    -1215, -136,  1218,  -1335, -874,  220,   -1187, -1659, -1185, -1530, -1278, 794,   -1510,
    -854,  -870,  478,   -108,  -308,  996,   991,   958,   -1460, 1522,  1628,
};

#endif
