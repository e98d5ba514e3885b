/* ML-KEM-1024, portable C backend. */
#define PQT_MLKEM_K 4
#include "mlkem/portable/backend.h"
/* The template after the backend it is instantiated over. */
#include "mlkem/kem_impl.h"
