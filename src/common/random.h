/* Internal: the system RNG (getrandom), for key material and nonces. */
#ifndef PQT_COMMON_RANDOM_H
#define PQT_COMMON_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fill out with len bytes from the kernel CSPRNG; 0 or PQT_ERR_RANDOM
 * (out is then partly written and must not be used). */
int pqt_random_bytes(uint8_t *out, size_t len);

#endif
