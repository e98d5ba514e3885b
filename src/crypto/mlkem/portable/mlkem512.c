/* ML-KEM-512, portable C backend. */
#define PQT_MLKEM_K 2
#include "crypto/mlkem/portable/backend.h"
#include "crypto/mlkem/kem_impl.h"
