/* ML-KEM-1024, portable C backend. */
#define PQT_MLKEM_K 4
#include "crypto/mlkem/portable/backend.h"
#include "crypto/mlkem/kem_impl.h"
