/* ML-KEM-768, portable C backend. */
#define PQT_MLKEM_K 3
#include "crypto/mlkem/portable/backend.h"
#include "crypto/mlkem/kem_impl.h"
