/* ML-KEM-768, portable C backend. */
#define PQT_MLKEM_K 3
#include "mlkem/portable/backend.h"
/* The template after the backend it is instantiated over. */
#include "mlkem/kem_impl.h"
