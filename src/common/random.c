/* The system RNG for every pqtls component: getrandom(2), in a loop because
 * it may return fewer bytes than asked (or EINTR) for large requests. */
#include "pqtls/common.h"

#include <errno.h>
#include <sys/random.h>

#include "pqtls/err.h"

int pqt_random_bytes(uint8_t *out, size_t len)
{
    while (len > 0) {
        ssize_t n = getrandom(out, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return PQT_ERR_RANDOM;
        }
        out += n;
        len -= (size_t)n;
    }
    return 0;
}
