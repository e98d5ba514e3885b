/*
 * The scalar Keccak-f[1600] for x86-64 CPUs with BMI1 and BMI2, compiled with
 * -mbmi -mbmi2: chi's ~b & c is one ANDN and the rotations are RORX, which
 * leaves its source intact and so saves register copies. The round code is
 * the plain-chi form of keccak_f1600_impl.h. keccak.c calls this only when
 * pqt_cpu_has_bmi().
 */
#include "keccak/keccak_f1600_impl.h"
#include "keccak/keccak_impl.h"

void pqt_keccakf1600_bmi(uint64_t s[25])
{
    keccakf1600_andn(s);
}
