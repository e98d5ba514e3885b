/*
 * The crypto layer (src/crypto/), the bottom of pqtls: ML-KEM (FIPS 203)
 * with run-time chosen backends, the hybrid and pure ML-KEM TLS groups and
 * their table. No I/O; see pqtls/mlkem.h for what allocates.
 */
#ifndef PQTLS_CRYPTO_H
#define PQTLS_CRYPTO_H

#include "pqtls/common.h"
#include "pqtls/groups.h"
#include "pqtls/hybrid.h"
#include "pqtls/mlkem.h"

#endif
