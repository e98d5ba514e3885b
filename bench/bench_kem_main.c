/* Standalone ML-KEM benchmark (build/bin/bench_kem); same code as `pqtls bench kem`. */
#include "bench_kem.h"

int main(int argc, char **argv)
{
    return pqt_bench_kem_main(argc, argv, "bench_kem");
}
