#!/usr/bin/env bash
# scan.cbom: `pqtls scan --format cbom` on loopback, validated against the
# official CycloneDX 1.7 JSON schema (../shared/schemas/cyclonedx, refs
# resolved from that folder, no network) with Debian's python3-jsonschema,
# and checked for what it says (check_cbom.py): a real `openssl s_server`
# with the pqtls provider offering X25519MLKEM768 (an EC P-256
# certificate), a classical one without the provider (RSA-2048), a closed
# port, and the classical one listed twice (unique bom-refs). The same
# targets scanned as JSON Lines give the stages and flags the BOM must
# repeat; a BOM of the classical server alone has no ML-KEM at all. The
# checker first proves that the validator rejects broken BOMs.
#
# usage: test_cbom.sh BUILD_DIR
set -euo pipefail
BUILD="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PQTLS="$BUILD/bin/pqtls"
SO="$BUILD/lib/pqtls.so"
SCHEMAS="$ROOT/../shared/schemas/cyclonedx"
# Debian's python with python3-jsonschema (scripts/deps.sh), not whatever
# python3 comes first in PATH.
PY=/usr/bin/python3
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pqtls-cbom-test.XXXXXX")"
LIFETIME=120
# shellcheck source-path=SCRIPTDIR source=../proc.sh
. "$ROOT/tests/proc.sh"
PIDS=()
cleanup() {
    local rc=$?
    stop_pids 20 "${PIDS[@]}"
    if [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        echo "test_cbom: FAILED; files kept in $WORK" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ -f "$SO" ] || fail "$SO is not built"
[ -f "$SCHEMAS/bom-1.7.schema.json" ] || fail "no CycloneDX schemas in $SCHEMAS"
"$PY" -c 'import jsonschema' 2>/dev/null ||
    fail "$PY has no jsonschema: install python3-jsonschema (scripts/deps.sh)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -nodes \
    -keyout "$WORK/ec.key" -out "$WORK/ec.pem" -days 2 -subj /CN=hybrid.test \
    >"$WORK/req.log" 2>&1 || fail "openssl req (EC)"
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -keyout "$WORK/rsa.key" \
    -out "$WORK/rsa.pem" -days 2 -subj /CN=classical.test >>"$WORK/req.log" 2>&1 ||
    fail "openssl req (RSA)"
"$ROOT/scripts/openssl-cnf.sh" "$SO" >"$WORK/openssl.cnf"
OPENSSL_CONF="$WORK/openssl.cnf" openssl list -providers 2>/dev/null | grep -q pqtls ||
    fail "openssl cannot load $SO (a sanitizer build?)"

start_s_server hybrid "$WORK/openssl.cnf" "$WORK/ec.pem" "$WORK/ec.key" X25519MLKEM768:X25519
hybrid="127.0.0.1:$PORT,hybrid.test"
start_s_server classical /dev/null "$WORK/rsa.pem" "$WORK/rsa.key" X25519:P-256
classical="127.0.0.1:$PORT,classical.test"
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')

printf '%s\n' "$hybrid" "$classical" "127.0.0.1:$closed" "$classical" >"$WORK/targets.txt"
rc=0
"$PQTLS" scan --targets "$WORK/targets.txt" --no-progress --timeout 2000 --format cbom \
    -o "$WORK/bom.json" 2>"$WORK/scan.log" || rc=$?
[ "$rc" -eq 0 ] || fail "pqtls scan --format cbom exited $rc (see $WORK/scan.log)"
"$PQTLS" scan --targets "$WORK/targets.txt" --no-progress --timeout 2000 \
    -o "$WORK/scan.jsonl" 2>>"$WORK/scan.log" || true
[ -s "$WORK/bom.json" ] || fail "no BOM written (see $WORK/scan.log)"

"$PY" "$HERE/check_cbom.py" "$SCHEMAS" "$WORK/bom.json" "$WORK/scan.jsonl" \
    --expect "hybrid=$hybrid" --expect "ec-cert=$hybrid" \
    --expect "classical=$classical" --expect "rsa-cert=$classical" \
    --expect "unreachable=127.0.0.1:$closed"

# The classical server alone: no ML-KEM asset anywhere in its BOM.
"$PQTLS" scan "$classical" --no-progress --timeout 2000 --format cbom -o "$WORK/classical.json" \
    2>>"$WORK/scan.log" || true
"$PY" "$HERE/check_cbom.py" "$SCHEMAS" "$WORK/classical.json" --expect "no-mlkem=-" \
    --expect "classical=$classical"

# Two scans, two serial numbers (random v4 UUIDs); the same bom-refs.
"$PY" - "$WORK/bom.json" "$WORK/classical.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["serialNumber"] != b["serialNumber"], "the serial number repeats"
ra = {c["bom-ref"] for c in a["components"]}
rb = {c["bom-ref"] for c in b["components"]}
assert rb <= ra, f"bom-refs differ between scans: {sorted(rb - ra)}"
dups = [r for r in ra if "#" in r]
assert dups and all(r.endswith("#3") for r in dups), f"the repeated target's refs: {dups}"
print("test_cbom: serial numbers differ, bom-refs stable, a repeated target gets #index")
EOF
echo "test_cbom: ok"
