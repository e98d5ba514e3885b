#!/usr/bin/env bash
# The pqtls demo (`make demo`): an ML-KEM self-test through the pqtls
# command and a short KEM benchmark, then the main job: a small TLS estate
# on loopback (tests/scan/estate.sh: nginx + the pqtls provider with the
# hybrid group alone and beside X25519, Debian openssl s_server, Node.js 24,
# a server that selects the retired 0x6399, a relay that drops split
# ClientHellos, a closed port) scanned by `pqtls scan`, with the table on
# the terminal, a self-contained HTML report and a policy gate. Builds
# nothing; the Makefile builds first and passes the build directory.
# Everything it starts listens on 127.0.0.1 on random free ports and is
# stopped on exit (trap).
#
# usage: scripts/demo.sh BUILD_DIR [BENCH_ITERATIONS] [REPORT.html]
# Exit status: 0 when every check passed, 1 otherwise (2 for bad usage).
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [BENCH_ITERATIONS] [REPORT.html]" >&2
    exit 2
fi
PQTLS="$1/bin/pqtls"
ITERATIONS="${2:-200}"
REPORT="${3:-$1/scan-report.html}"
if [ ! -x "$PQTLS" ]; then
    echo "demo: $PQTLS not found; run 'make' first (or 'make demo')" >&2
    exit 2
fi

WORK="$(mktemp -d)"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../tests/scan/estate.sh
source "$ROOT/tests/scan/estate.sh"
ESTATE_LIFETIME=300
trap 'estate_stop; rm -rf "$WORK"' EXIT
trap 'exit 143' TERM INT HUP
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

echo "== PQ readiness inventory: a TLS estate on loopback"
estate_start "$1" "$WORK/estate" || fail "the estate did not start"
sed -n 's/^\([^#][^ ]*\) *# \(.*\)$/  \1  \2/p' "$WORK/estate/targets.txt"
# A 200 ms pause between the two segments of a split ClientHello, as the
# tests use: the relay counts segments, the pause keeps writes apart.
SCAN=("$PQTLS" scan --targets "$WORK/estate/targets.txt" --timeout 3000 --split-gap 200 --no-progress)
echo "== pqtls scan --targets targets.txt --format table"
"${SCAN[@]}" --format jsonl -o "$WORK/scan.jsonl" || fail "pqtls scan failed"
"${SCAN[@]}" --format table | sed 's/^./  &/'
"${SCAN[@]}" --format html -o "$REPORT" || fail "the HTML report could not be written"
echo "  HTML report: $REPORT (self-contained; open it in any browser)"

echo "== every target has the stage and flags it was built for"
status=0
expect() { # sni stage [flags...]
    python3 "$ROOT/tests/scan/expect_target.py" "$WORK/scan.jsonl" "$@" || status=1
}
if [ "$ESTATE_HAVE_NGINX" = 1 ]; then
    expect nginx-required.test required
    expect nginx-supported.test supported
fi
expect openssl-classic.test none
expect tls12.test none
expect tls12-v6.test none
expect node24.test preferred
expect legacy-kyber.test none legacy-kyber
expect middlebox.test preferred segmentation-intolerant
expect closed-port.test none unreachable
[ "$status" -eq 0 ] || fail "some targets were not classified as built"

echo "== policy gate (CI/CD): PQ at least supported, no broken middleboxes"
printf '%s\n' '*,node24.test     supported' '*,nginx-*.test    supported' \
    '*,middlebox.test  supported  no-segmentation-intolerant' >"$WORK/policy.txt"
sed 's/^/  policy: /' "$WORK/policy.txt"
set +e
"${SCAN[@]}" -o /dev/null --policy "$WORK/policy.txt" 2>&1 | sed 's/^/  /'
rc=${PIPESTATUS[0]}
set -e
echo "  exit status $rc (1: the target behind the middlebox fails the policy)"
[ "$rc" -eq 1 ] || fail "the policy gate exited $rc, expected 1"
estate_stop
echo "== estate stopped; demo passed"
