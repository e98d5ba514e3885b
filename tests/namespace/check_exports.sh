#!/bin/sh
# A shared object or module must export exactly the listed dynamic symbols
# and nothing else: the pqtls OpenSSL provider exports OSSL_provider_init
# only (its linker version script hides pqtls_core), so loading it into
# nginx or any OpenSSL application cannot shadow or collide with anything.
# Usage: check_exports.sh SHARED_OBJECT SYMBOL...
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 SHARED_OBJECT SYMBOL..." >&2
    exit 2
fi
so=$1
shift
if [ ! -f "$so" ]; then
    echo "check_exports: $so: no such file (build it first)" >&2
    exit 2
fi
# Defined dynamic symbols of any binding except local; versions stripped.
actual=$(nm -D --defined-only "$so" | awk 'NF == 3 { sub(/@.*/, "", $3); print $3 }' | sort -u)
expected=$(printf '%s\n' "$@" | sort -u)
if [ "$actual" != "$expected" ]; then
    echo "FAIL $so exports:"
    echo "$actual" | sed 's/^/    /'
    echo "expected exactly:"
    echo "$expected" | sed 's/^/    /'
    exit 1
fi
echo "ok   $so exports exactly: $(echo "$expected" | tr '\n' ' ')"
