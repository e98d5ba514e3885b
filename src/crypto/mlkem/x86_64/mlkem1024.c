/* ML-KEM-1024, x86-64 AVX2 backend. */
#define PQT_MLKEM_K 4
#include "mlkem/x86_64/backend_avx2.h"
#include "mlkem/kem_impl.h"
