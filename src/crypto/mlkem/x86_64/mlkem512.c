/* ML-KEM-512 from the KEM template over the AVX2 backend (backend_avx2.c). */
#define PQT_MLKEM_K 2
#include "mlkem/x86_64/backend_avx2.h"
/* The template after the backend it is instantiated over. */
#include "mlkem/kem_impl.h"
