/*
 * The common layer (src/common/): what every other layer may use. Error
 * codes and the error-to-alert table (pqtls/err.h), the system random
 * generator, and wiping memory that held secrets.
 */
#ifndef PQTLS_COMMON_H
#define PQTLS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pqtls/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Fill out with len bytes from the kernel CSPRNG (getrandom, EINTR
 * retried); 0 or PQT_ERR_RANDOM (out is then partly written and must not be
 * used).
 */
PQT_API PQT_MUST_CHECK int pqt_random_bytes(uint8_t *out, size_t len);

/* Zero n bytes at p in a way the compiler may not drop (dead-store
 * elimination would otherwise remove a memset before free or return). */
static inline void pqt_wipe(void *p, size_t n)
{
    if (n == 0) {
        return;
    }
#if defined(__GNUC__)
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    volatile uint8_t *v = (volatile uint8_t *)p;
    for (size_t i = 0; i < n; i++) {
        v[i] = 0;
    }
#endif
}

#ifdef __cplusplus
}
#endif
#endif
