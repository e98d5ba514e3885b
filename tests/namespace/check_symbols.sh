#!/bin/sh
# Every global symbol a pqtls library defines must carry the pqt_ prefix, so
# that linking pqtls into nginx, OpenSSL or a test harness cannot collide with
# anything else (mlkem-native checks its namespace the same way).
# Usage: check_symbols.sh LIBRARY...
set -eu
status=0
for lib in "$@"; do
    if [ ! -f "$lib" ]; then
        echo "check_symbols: $lib: no such file (build it first)" >&2
        exit 2
    fi
    # Defined global symbols: text, data, bss, read-only (T D B R and weak W/V).
    bad=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBRWV]$/ { print $3 }' |
          grep -v '^pqt_' || true)
    count=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBRWV]$/' | wc -l)
    if [ -n "$bad" ]; then
        echo "FAIL $lib exports symbols without the pqt_ prefix:"
        echo "$bad" | sed 's/^/    /'
        status=1
    elif [ "$count" -eq 0 ]; then
        echo "FAIL $lib defines no global symbols at all (wrong file?)"
        status=1
    else
        echo "ok   $lib: $count global symbols, all prefixed pqt_"
    fi
done
exit $status
