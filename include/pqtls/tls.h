/*
 * The TLS layer (src/tls/): TLS as bytes on the wire, for every tool above
 * it. The bounded reader and the writer (wire.h), records and handshake
 * reassembly (record.h), hellos (hello.h), names of code points (names.h),
 * the TLS 1.3 key schedule and record protection (keyschedule.h), JA4
 * (ja4.h). Uses the crypto layer; knows nothing of sockets or packets.
 */
#ifndef PQTLS_TLS_H
#define PQTLS_TLS_H

#include "pqtls/crypto.h"
#include "pqtls/hello.h"
#include "pqtls/ja4.h"
#include "pqtls/keyschedule.h"
#include "pqtls/names.h"
#include "pqtls/record.h"
#include "pqtls/wire.h"

#endif
