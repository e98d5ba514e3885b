#!/usr/bin/env bash
# The pqtls demo (`make demo`): a real ML-KEM self-test through the pqtls
# command, then the KEM benchmark. Builds nothing; the Makefile builds first
# and passes the build directory.
#
# usage: scripts/demo.sh BUILD_DIR [BENCH_ITERATIONS]
# Exit status: 0 when every check passed, 1 otherwise (2 for bad usage).
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [BENCH_ITERATIONS]" >&2
    exit 2
fi
PQTLS="$1/bin/pqtls"
ITERATIONS="${2:-500}"
if [ ! -x "$PQTLS" ]; then
    echo "demo: $PQTLS not found; run 'make' first (or 'make demo')" >&2
    exit 2
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() {
    echo "  FAIL: $*" >&2
    exit 1
}
value() { sed -n "s/^$1=//p" "$2"; }

echo "== pqtls"
"$PQTLS" --version | sed 's/^./  &/'

echo "== ML-KEM self-test (FIPS 203): keygen -> encaps -> decaps"
for alg in ML-KEM-512 ML-KEM-768 ML-KEM-1024; do
    "$PQTLS" kem keygen --alg "$alg" >"$WORK/kp" || fail "$alg keygen"
    value ek "$WORK/kp" >"$WORK/ek.hex"
    value dk "$WORK/kp" >"$WORK/dk.hex"
    "$PQTLS" kem encaps --alg "$alg" --ek @"$WORK/ek.hex" >"$WORK/enc" || fail "$alg encaps"
    value ct "$WORK/enc" >"$WORK/ct.hex"
    "$PQTLS" kem decaps --alg "$alg" --dk @"$WORK/dk.hex" --ct @"$WORK/ct.hex" >"$WORK/dec" ||
        fail "$alg decaps"
    ss_enc="$(value ss "$WORK/enc")"
    ss_dec="$(value ss "$WORK/dec")"
    [ -n "$ss_enc" ] && [ "$ss_enc" = "$ss_dec" ] || fail "$alg: the shared secrets differ"
    printf '  %-12s ek %4d B  ct %4d B  shared secret matches (%s...)\n' "$alg" \
        $(($(wc -c <"$WORK/ek.hex") / 2)) $(($(wc -c <"$WORK/ct.hex") / 2)) "${ss_enc:0:16}"
done

echo "== invalid key rejection (FIPS 203 §7.2 modulus check)"
# Set the first 12-bit coefficient of a valid ek to 0xFFF >= q = 3329.
"$PQTLS" kem keygen --alg ML-KEM-768 >"$WORK/kp" || fail "keygen"
printf 'ffff%s\n' "$(value ek "$WORK/kp" | cut -c5-)" >"$WORK/bad.hex"
set +e
"$PQTLS" kem encaps --alg ML-KEM-768 --ek @"$WORK/bad.hex" >/dev/null 2>"$WORK/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "a corrupted ek gave exit code $rc, expected 1"
grep -q "modulus check" "$WORK/err" || fail "the error does not mention the modulus check"
echo "  rejected with exit 1: $(cat "$WORK/err")"

echo "== ML-KEM benchmark ($ITERATIONS iterations per operation)"
"$PQTLS" bench kem --iterations "$ITERATIONS" | sed 's/^./  &/'
echo "== demo passed"
